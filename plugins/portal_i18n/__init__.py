"""portal_i18n: interface strings and dates in the language of each page.

Adds Jinja's i18n extension to every generator's environment (``generator_init``), with gettext functions that
read the language of the page being rendered (``page_lang``, or the article's or page's ``lang``), so one
template serves English and Chinese and no page mixes the two. Catalogues are Babel ``.po`` files:
``theme/translations/<lang>/LC_MESSAGES/messages.po`` plus ``plugins/*/translations/<lang>.po`` for strings a
plugin's own partials use. Also adds date filters (``dateline``, ``long_date``, ``iso``) and the ``lang_of``,
``lang_prefix_of``, ``html_lang`` and ``shared_fragment`` globals (a partial every page of a language shows alike,
rendered once per build).
"""

from __future__ import annotations

import contextlib
import logging
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po
from jinja2 import pass_context
from markupsafe import Markup
from pelican import signals

logger = logging.getLogger(__name__)

PLUGINS_ROOT = Path(__file__).resolve().parent.parent
MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


@lru_cache(maxsize=8)
def _load_catalogue(paths: tuple[tuple[str, int, int], ...]) -> dict:
    messages: dict = {}
    for path, _mtime, _size in paths:
        with open(path, "rb") as handle:
            catalogue = read_po(handle)
        for message in catalogue:
            if message.id and message.string and not message.fuzzy:
                key = message.id if isinstance(message.id, str) else message.id[0]
                messages[key] = message.string
    return messages


def catalogue_paths(theme: str, lang: str) -> list[Path]:
    paths = [Path(theme) / "translations" / lang / "LC_MESSAGES" / "messages.po"]
    paths += sorted(PLUGINS_ROOT.glob(f"*/translations/{lang}.po"))
    return [p for p in paths if p.is_file()]


def catalogue(theme: str, lang: str) -> dict:
    # keyed on path, mtime and size so livereload picks up edits to a catalogue
    key = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in catalogue_paths(theme, lang))
    return _load_catalogue(key)


def lang_of(context) -> str:
    """The language of the page being rendered. Kept on the template context: every ``_()`` asks (hundreds of
    times per page), and what it is made from does not change while a template renders."""
    lang = getattr(context, "portal_lang", None)
    if lang is None:
        lang = _page_lang(context)
        with contextlib.suppress(AttributeError):  # a plain mapping (the context of a direct call)
            context.portal_lang = lang
    return lang


def _page_lang(context) -> str:
    if context.get("page_lang"):
        return context["page_lang"]
    for name in ("article", "page"):
        item = context.get(name)
        if item is not None and getattr(item, "lang", None):
            return item.lang
    return context.get("DEFAULT_LANG", "en")


def make_gettext(theme: str, default_lang: str, languages):
    """``gettext`` and ``ngettext`` in Jinja's new style (``%(name)s`` placeholders filled from keyword arguments),
    in the language of the page being rendered.

    Every page calls ``_()`` dozens of times, so ``gettext`` keeps each translated message ready per language, as
    ``Markup`` when the environment autoescapes, and formats it only when it has a placeholder: Jinja's own wrapper
    (``install_gettext_callables(newstyle=True)``) wraps and %-formats every message on every call, about a tenth
    of the time spent rendering a large site. Output is the same: a message without ``%`` is its own format result.
    """
    # Catalogues are resolved once per generator (once per build): a lookup per string would stat every
    # catalogue file hundreds of thousands of times on a large site.
    catalogues = {lang: catalogue(theme, lang) for lang in languages if lang != default_lang}
    ready: dict[tuple[str, str, bool], tuple[str, bool]] = {}

    def translate(lang: str, message: str, autoescape: bool) -> tuple[str, bool]:
        translated = message if lang == default_lang else catalogues.get(lang, {}).get(message)
        text = translated if isinstance(translated, str) else message
        return (Markup(text) if autoescape else text), "%" in text

    @pass_context
    def gettext(context, message: str, **variables) -> str:
        key = (lang_of(context), message, context.eval_ctx.autoescape)
        found = ready.get(key)
        if found is None:
            found = ready[key] = translate(*key)
        text, placeholders = found
        return text % variables if placeholders else text

    @pass_context
    def ngettext(context, singular: str, plural: str, n: int) -> str:
        lang = lang_of(context)
        if lang == default_lang:
            return singular if n == 1 else plural
        translated = catalogues.get(lang, {}).get(singular)
        if isinstance(translated, (list, tuple)):
            return translated[0]
        return translated or (singular if n == 1 else plural)

    return gettext, ngettext


def dateline(value) -> str:
    """The visible publication time Chinese government sites require: ``YYYY-MM-DD HH:MM``."""
    if not value:
        return ""
    # Not ``strftime``: Pelican's SafeDatetime runs it through a regular expression, on every date of every page.
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:{value.minute:02d}"


def long_date(value, lang: str) -> str:
    if not value:
        return ""
    if lang.startswith("zh"):
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{value.day} {MONTHS_EN[value.month - 1]} {value.year}"


def iso(value) -> str:
    return value.isoformat() if value else ""


@pass_context
def lang_prefix_of(context) -> str:
    lang = lang_of(context)
    return "" if lang == context.get("DEFAULT_LANG", "en") else f"{lang}/"


@pass_context
def html_lang(context) -> str:
    lang = lang_of(context)
    return context["PORTAL_LANGUAGES"].get(lang, {}).get("locale", lang)


@pass_context
def current_lang(context) -> str:
    return lang_of(context)


@pass_context
def shared_fragment(context, template: str, **values) -> Markup:
    """``template`` (the head's links, the menu, the footer...) as every page of one language and ``SITEURL`` shows
    it: rendered once per build and generator for each language, ``SITEURL`` and ``values`` (about a third of a
    millisecond of each of the 30,000 pages of a 10,000-article build). It is rendered from the build's context
    (settings, globals, every generator's data) with those alone, never from the page's own arguments: a partial
    that reads one finds it undefined in every build, not only in some pages."""
    env = context.environment
    site = getattr(env, "portal_context", None)
    lang, siteurl = lang_of(context), context.get("SITEURL")
    if site is None:  # an environment no generator made: nothing to share with
        return Markup(env.get_template(template).render({**context.get_all(), **values}))
    key = (template, lang, siteurl, *sorted(values.items()))
    text = env.portal_fragments.get(key)
    if text is None:
        text = env.portal_fragments[key] = Markup(env.get_template(template).render(
            {**site, "page_lang": lang, "SITEURL": siteurl, **values}))
    return text


def on_generator_init(generator) -> None:
    env = generator.env
    env.add_extension("jinja2.ext.i18n")
    settings = generator.settings
    gettext, ngettext = make_gettext(
        generator.theme, settings["DEFAULT_LANG"], settings.get("PORTAL_LANGUAGES", {settings["DEFAULT_LANG"]: {}})
    )
    # Jinja wraps ngettext for the new style (placeholders, count as ``num``); gettext is ours already, also as ``_``.
    env.install_gettext_callables(lambda message: message, ngettext, newstyle=True)
    env.globals.update(gettext=gettext, _=gettext)
    env.filters.update({"dateline": dateline, "long_date": long_date, "iso": iso})
    env.globals.update({"lang_of": current_lang, "lang_prefix_of": lang_prefix_of, "html_lang": html_lang,
                        "shared_fragment": shared_fragment})
    # the build's context, filled by the generators as they run: what ``shared_fragment`` renders from
    env.portal_context = getattr(generator, "context", None)
    env.portal_fragments = {}


def register() -> None:
    """Hook ``generator_init``: each Pelican generator has its own Jinja environment, so each gets the
    extension and the language-aware gettext when it is created."""
    signals.generator_init.connect(on_generator_init)
