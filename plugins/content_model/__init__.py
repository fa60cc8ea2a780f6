"""content_model: the portal's metadata, registries and name resolution inside the Pelican build.

Adds:
- ``PortalMarkdownReader`` for ``.md`` (``readers_init``): header parsed with line numbers, one reused Markdown
  instance, HTML sanitised with nh3, a plain-text summary; the articles' reader cache stamps files with the
  digests the build already has (``article_generator_init``, ``reader.known_digests``);
- the registries of officials, topics and people, loaded once per build (``article_generator_init``);
- article files Pelican's reader cache lacks, or holds as read with other settings, plugins or libraries (a cold
  build; the first after a change of code), read ahead on every core into that cache (``article_generator_init``,
  ``reader.read_ahead``; the pools in ``workers``);
- validation and conversion of each article's metadata into ``Topic``/``Official``/``Person`` terms
  (``article_generator_context``, which still fires when Pelican's reader cache served the file);
- one ``ContentError`` listing every problem, raised before anything is written: before any article is read when
  a symbolic link leads out of content/ (``article_generator_init``), as soon as the static generator starts reading
  (``static_generator_preread``, so no linked file outside content/ is touched), or at the latest at
  ``all_generators_finalized``;
- URLs computed once: every article and page is made of a subclass of its class (``content_object_init``,
  ``frozen_class``) whose ``url`` and ``save_as`` are kept from the moment Pelican checks it (right after making it)
  and, for content made otherwise, from ``article_generator_finalized`` and ``all_generators_finalized``; Pelican
  recomputes them from settings and metadata on every read, about a hundred thousand times in a build of 2,000
  articles. A summary given in the metadata is read from there.
- work Pelican does in every build that this site never uses, skipped (``article_generator_init``, ``lean``): its
  own tag, category and author pages, its generator-level cache's file stamps, its quadratic search for
  translations, its formatting of a date again at every ask; its reader cache saved after the pages are written,
  not before (memory);
- article bodies held zlib-packed by the articles and Pelican's reader cache, unpacked when read (``bodies``,
  installed at ``article_generator_init``; memory);
- with ``PORTAL_CLEAN_OUTPUT``, an output folder emptied by moving the last build's files aside at
  ``all_generators_finalized`` and deleting what was not taken back at ``finalized`` (``output``).

The same model (``content_model.model``) backs ``invoke check``, ``invoke import`` and ``invoke new``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse
from xml.sax.saxutils import escape as xml_escape

from markupsafe import escape

# Pelican, Markdown and pypinyin are imported where they are used, not here: `invoke check` imports this package
# (for ``model``) and would otherwise spend a third of a second loading what it never calls.
from . import model
from .bodies import held_body, text_and_links
from .model import ContentError, Problem

__all__ = ["ContentError", "Official", "Person", "Problem", "Topic", "register"]


def __getattr__(name: str):
    if name in ("Official", "Person", "Topic", "TERM_CLASSES"):
        from . import terms

        return getattr(terms, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


logger = logging.getLogger(__name__)

DEFAULTS = {
    "TOPIC_URL": "topics/{slug}/",
    "TOPIC_SAVE_AS": "topics/{slug}/index.html",
    "OFFICIAL_URL": "officials/{slug}/",
    "OFFICIAL_SAVE_AS": "officials/{slug}/index.html",
    "PERSON_URL": "people/{slug}/",
    "PERSON_SAVE_AS": "people/{slug}/index.html",
    "PORTAL_LANGUAGES": {"en": {"locale": "en", "name": "English"}, "zh": {"locale": "zh-CN", "name": "中文"}},
    "PORTAL_CLEAN_OUTPUT": False,
}


class BuildState:
    """What one build run has learnt; reset when the articles generator is created (also on autoreload)."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.registries: model.Registries | None = None
        self.terms: dict[str, dict[str, object]] = {}
        self.urls: dict[tuple[str, str], str] = {}
        # Output file -> where it shows article bodies (``note_bodies_shown``).
        self.shown_bodies: dict[str, dict] = {}
        # Output file -> (form, the articles whose summaries it shows in that form) (``note_summaries_shown``).
        self.shown_summaries: dict[str, tuple[str, list[str]]] = {}
        # Output files that show summaries otherwise: an edited summary then needs a full build.
        self.summaries_unknown: set[str] = set()
        self.relative_sources: dict[str, str] = {}  # source_path -> content-relative path (``relative_source``)
        self.writing = False  # every generator has its context, every URL is final (``all_generators_finalized``)


STATE = BuildState()

# Values other plugins derive from an article's body and store on it, by attribute name: each function gives the
# value for one article read anew (``fn(article, settings)``). The live preview recomputes them for an edited
# article, and the body-edit path (``incremental.quick``) takes its shortcut only when none changed.
BODY_DERIVED: dict[str, Callable[[object, dict], object]] = {}
# The partial template that shows such a value on the article page, if one does: rendered with the value under its
# name and ``page_lang``, and nothing else, it gives exactly what the page holds (the body-edit path swaps it).
BODY_DERIVED_PARTIALS: dict[str, str] = {}


# How an output shows an article's body: the text around it (empty: the body is found by its text, and must occur
# once), and the body (``get_content``) made into the output's text.
BODY_FORMS: dict[str, tuple[str, str, Callable[[str], str]]] = {
    "html": ("", "", str),  # a page: as rendered
    # An Atom entry's content, escaped: it cannot hold "</content>", so the next such element is the next entry's.
    "atom": ('<content type="html">', "</content>", xml_escape),
}


def relative_source(item) -> str:
    """``item.get_relative_source_path()``, made once per article and build (it joins and relativises paths, and
    the pages listing an article ask for it thousands of times). One string per article, however many outputs
    name it: the snapshot's pickle then holds each path once."""
    found = STATE.relative_sources.get(item.source_path)
    if found is None:
        found = STATE.relative_sources[item.source_path] = sys.intern(item.get_relative_source_path())
    return found


def html_text(value) -> str:
    """``value`` as an autoescaping template shows it (``{{ value }}``)."""
    return str(escape(value))


# How an output shows the summaries of the articles it lists: after ``anchor`` (RSS: the channel's own description
# comes before the items), each one between ``before`` and ``after``, made into the output's text.
SUMMARY_FORMS: dict[str, tuple[str, str, str, Callable[[str], str]]] = {
    "list": ("", '<p class="app-list__summary">', "</p>", html_text),  # theme: partials/article_list_item.html
    "atom": ("<entry>", '<summary type="html">', "</summary>", xml_escape),
    "rss": ("<item>", "<description>", "</description>", xml_escape),
}


def note_summaries_shown(save_as: str, text: str, items, form: str) -> None:
    """Record that the output file ``save_as`` (its whole ``text``) shows the summaries of ``items`` (in that order)
    in ``form`` (``SUMMARY_FORMS``), once each, and nothing but them in that form; a later build that edits one
    summary finds it there again. An output that shows no summary records nothing; one that shows summaries
    otherwise, or not in order, is recorded as unknown (an edited summary then takes a full build)."""
    anchor, before, after, make = SUMMARY_FORMS[form]
    at = text.find(anchor) if anchor else 0
    if at < 0 or text.find(before, at) < 0:
        return
    shown = [item for item in items if item.summary]
    if text.count(before, at) != len(shown):
        STATE.summaries_unknown.add(save_as)
        return
    for item in shown:
        summary = make(item.summary)
        start = text.find(before + summary + after, at)
        if start < 0:
            STATE.summaries_unknown.add(save_as)
            return
        at = start + len(before) + len(summary) + len(after)
    STATE.shown_summaries[save_as] = (form, [relative_source(item) for item in shown])


def note_bodies_shown(save_as: str, text: str, items, siteurl: str, form: str) -> None:
    """Record where the output file ``save_as`` (its whole ``text``) shows the bodies of ``items``, in that order,
    each as ``item.get_content(siteurl)`` in ``form`` (``BODY_FORMS``), so that a later build may patch one body
    without building the site (``incremental.quick``). A body that is not found, or not found once, is recorded
    without a place (-1): such an edit takes a full build."""
    before, after, make = BODY_FORMS[form]
    spans = []
    at = 0 if not before or text.count(before) == len(items) else -1  # one element per item, or none is trusted
    for item in items:
        source = relative_source(item)
        if at < 0:  # the places of the bodies after one not found are unknown too
            spans.append([source, -1, -1])
            continue
        if before:
            start = text.find(before, at)
            end = text.find(after, start + len(before)) if start >= 0 else -1
            start = start + len(before) if end >= 0 else -1
        else:
            shown = make(item.get_content(siteurl))
            start = text.find(shown, at)
            end = start + len(shown) if start >= 0 and text.find(shown, start + 1) < 0 else -1
        if end < 0:
            spans.append([source, -1, -1])
            at = -1
            continue
        spans.append([source, start, end])
        at = end + len(after)
    STATE.shown_bodies[save_as] = {"length": len(text), "siteurl": siteurl, "form": form, "spans": spans}


def read_settings(settings: dict) -> dict:
    """Fill in the plugin's defaults and check the values the content model depends on."""
    for key, value in DEFAULTS.items():
        settings.setdefault(key, value)
    if settings["DEFAULT_LANG"] not in settings["PORTAL_LANGUAGES"]:
        raise ValueError(f"DEFAULT_LANG {settings['DEFAULT_LANG']!r} is not in PORTAL_LANGUAGES")
    return settings


def content_root(settings: dict) -> Path:
    return Path(settings["PATH"]).resolve()


def resolve_content_path(settings: dict, value: str) -> Path | None:
    """A path editors give (``images/x.jpg`` or ``{static}/images/x.jpg``), if it stays inside ``content/``."""
    value = value.strip()
    for prefix in ("{static}", "{attach}", "{filename}"):
        if value.startswith(prefix):
            # after a Pelican prefix, a leading slash means the content root
            value = value[len(prefix) :].lstrip("/")
    root = content_root(settings)
    if os.path.isabs(value) or value.startswith("~"):
        return None
    candidate = (root / value.lstrip("/")).resolve()
    try:
        candidate.relative_to(root)
    except ValueError:
        return None
    return candidate


def on_initialized(pelican) -> None:
    read_settings(pelican.settings)


def on_readers_init(readers) -> None:
    from .reader import PortalMarkdownReader

    readers.reader_classes["md"] = PortalMarkdownReader


def on_article_generator_init(generator) -> None:
    from .bodies import use_packed_bodies
    from .heap import pause_while_reading
    from .lean import (
        format_dates_once,
        save_reader_cache_after_writing,
        skip_unused_generator_cache,
        skip_unwritten_term_pages,
        use_linear_translations,
    )
    from .reader import stamp_with_known_digests
    from .terms import TERM_CLASSES

    pause_while_reading()
    use_packed_bodies(generator.readers)
    stamp_with_known_digests(generator.readers)
    save_reader_cache_after_writing(generator.readers)
    skip_unwritten_term_pages(generator)
    skip_unused_generator_cache(generator)
    use_linear_translations()
    format_dates_once()
    global STATE
    STATE = BuildState()
    registries = model.load_registries(content_root(generator.settings))
    STATE.registries = registries
    STATE.problems.extend(registries.problems)
    escaping = model.find_escaping_symlinks(content_root(generator.settings))
    if escaping:
        # Stop before Pelican reads a single article: one that links outside content/ (say to /etc/passwd) would
        # otherwise come back as "unknown header" errors quoting the private file's lines.
        raise ContentError(sorted(set(STATE.problems + escaping)))
    for official in registries.officials:
        photo = official.field("photo")
        if photo:
            target = resolve_content_path(generator.settings, photo)
            if target is None or not target.is_file():
                where = "points outside content/" if target is None else "does not exist under content/"
                STATE.problems.append(Problem(official.path, 1, "error", f"`Photo: {photo}` {where}"))
    for kind, cls in TERM_CLASSES.items():
        STATE.terms[kind] = {
            entry.slug: cls(entry.title, generator.settings, entry=entry, slug=entry.slug)
            for entry in registries[kind]
        }
    generator.context["registries"] = registries
    generator.context["portal_terms"] = STATE.terms
    from .reader import read_ahead

    read_ahead(generator)


def term_for(kind: str, value, settings: dict):
    """The shared term object of a resolved entry, or a new term for an unregistered byline."""
    if isinstance(value, model.Entry):
        return STATE.terms[kind][value.slug]
    person = STATE.terms[kind].get(value)
    if person is None:
        from .terms import TERM_CLASSES

        person = TERM_CLASSES[kind](value, settings)
        STATE.terms[kind][person.slug] = person
    return person


def on_article_generator_context(generator, metadata) -> None:
    path = metadata.get("portal_source", "?")
    source = model.Source(
        path,
        {key: model.Field(value, line) for key, (value, line) in metadata.get("portal_header", {}).items()},
        "",
        metadata.get("portal_body_line", 1),
        [],
    )
    resolved = model.validate_article(source, STATE.registries, model.Settings.from_pelican(generator.settings))
    STATE.problems.extend(metadata.get("portal_problems", []))
    STATE.problems.extend(source.problems)
    for key, kind in model.RESOLVED_KEYS.items():
        metadata[key] = [term_for(kind, value, generator.settings) for value in resolved[key]]
    for key in ("image",):
        if metadata.get(key):
            target = resolve_content_path(generator.settings, metadata[key])
            if target is None:
                source.problem(key, "error", f"`{metadata[key]}` points outside content/; use a path like images/x.jpg")
                STATE.problems.append(source.problems[-1])
            elif not target.is_file():
                source.problem(key, "error", f"image `{metadata[key]}` does not exist under content/")
                STATE.problems.append(source.problems[-1])
            else:
                metadata["image_path"] = target.relative_to(content_root(generator.settings)).as_posix()
    identity = (metadata.get("lang", generator.settings["DEFAULT_LANG"]), metadata.get("slug", ""))
    if identity in STATE.urls:
        STATE.problems.append(
            Problem(
                path,
                source.line("slug"),
                "error",
                f"slug `{identity[1]}` in language `{identity[0]}` is already used by {STATE.urls[identity]}; "
                "give one of them another `Slug:`",
            )
        )
        # The build fails on the error above; a provisional slug keeps Pelican from a vaguer warning first.
        metadata["slug"] = f"{identity[1]}--duplicate-{len(STATE.problems)}"
    else:
        STATE.urls[identity] = path


def on_page_generator_context(generator, metadata) -> None:
    STATE.problems.extend(metadata.get("portal_problems", []))


def on_static_generator_preread(generator) -> None:
    """Articles and pages are read by now: stop before Pelican touches static files that links point at
    (a `{static}/../x` target outside content/ must not even be read)."""
    errors = [p for p in STATE.problems if p.severity == "error"]
    if errors:
        raise ContentError(sorted(set(STATE.problems)))


def on_all_generators_finalized(generators) -> None:
    """Stop before anything is written when content has errors; warnings are logged (fatal in strict builds).

    Then, with ``PORTAL_CLEAN_OUTPUT``, empty the output folder: only now, so a failed build keeps the last site.
    Its files are moved aside, not deleted (``output.set_aside``): writers take back the ones that did not change.
    """
    problems = sorted(set(STATE.problems))
    if any(p.severity == "error" for p in problems):
        raise ContentError(problems)
    for problem in problems:
        logger.warning("%s", problem)
    settings = generators[0].settings if generators else {}
    if settings.get("PORTAL_CLEAN_OUTPUT") and os.path.isdir(settings["OUTPUT_PATH"]):
        output = Path(settings["OUTPUT_PATH"]).resolve()
        if output == content_root(settings) or content_root(settings).is_relative_to(output):
            raise ValueError(f"OUTPUT_PATH {output} contains the content folder; refusing to empty it")
        from .output import set_aside, use_known_folders

        set_aside(Path(settings["OUTPUT_PATH"]), settings.get("OUTPUT_RETENTION", []))
        use_known_folders()
    freeze_urls(generators)
    STATE.writing = True


def on_article_generator_finalized(generator) -> None:
    """The articles are made, their URLs final (Pelican has found their translations and ordered them; nothing
    after changes a slug, language, date or section): frozen before the plugins that follow ask for every one
    (QR codes, cards), and, with what was read, out of the collector's reach from now on (``heap``)."""
    from .heap import freeze_what_was_read

    freeze_urls([generator])
    freeze_what_was_read()


def on_finalized(pelican) -> None:
    """Delete what this build did not take back from the last build's output (``output.discard``); end the build
    pool (``workers.end_pool``) if nothing did."""
    from .output import discard
    from .workers import end_pool

    end_pool()
    discard()


def forget_content(article, siteurl: str | None = None) -> None:
    """Drop Pelican's memoised body of ``article`` as its page shows it, or as ``siteurl`` makes it
    (``Content.get_content`` keeps every body it made for the whole run). Called once the page is rendered, and by
    the feeds for the bodies they carry (with their absolute base): a body is made again when asked for again. At
    10,000 articles, some 50 MB a writing process no longer holds for the pages, and as much for the feeds."""
    from pelican.contents import Content

    if siteurl is None:
        siteurl = article._context.get("localsiteurl", "") if article._context else ""
    Content.get_content.cache.pop((article, siteurl), None)


# Who may keep an output file of the last build unread when this build makes it from the same key, for writers
# other than Pelican's (the feeds): ``(keep, made)`` pairs, the incremental plugin's ``quick.keep_output`` and
# ``quick.made_output``. ``keep(name, key, path, items)`` is true when the file is the last build's again;
# ``made(name, key)`` tells the key a file was written from.
OUTPUT_KEEPERS: list[tuple[Callable, Callable]] = []


def keeps_output(name: str, key: str, path: str, items) -> bool:
    return any(keep(name, key, path, items) for keep, _made in OUTPUT_KEEPERS)


def made_output(name: str, key: str) -> None:
    for _keep, made in OUTPUT_KEEPERS:
        made(name, key)


# Intrasite link indicators whose target is found as Pelican's ``Content._link_replacer`` looks for it first, with
# nothing else to do: the target's URL is all the link's replacement depends on, beyond the body and the settings.
RESOLVED_LINKS = {"filename": "generated_content", "static": "static_content"}


def shown_body_digest(content, siteurl: str) -> str:
    """A digest of ``content.get_content(siteurl)`` (the body as a page or feed shows it) that Pelican need not
    make: the body as read, ``siteurl``, ``RELATIVE_URLS`` and the URL of each ``{filename}`` or ``{static}`` link's
    target, found where Pelican finds it first. A page kept from the last build is then never made, nor its links
    resolved (most pages of a metadata edit; every feed item). Anything else takes Pelican's way, and the digest is
    that of the body it makes: an ``{attach}`` link (which moves the file it names), a target Pelican would look for
    again or warn about (so the warning is logged by every build, as before), another indicator, content without a
    context.

    Once the site is being written (every URL final), the digest of the body with its links' targets is kept with
    the article for the next ask: its page and each feed carrying it ask with their own ``siteurl``."""
    getter = getattr(content, "_get_content", None)
    held = getter() if getter is not None else held_body(content)  # the same object while the body is the same
    known = content.__dict__.get("_shown_body_links")
    if known is None or known[0] is not held:
        known = (held, _body_links_digest(content, held))
        if STATE.writing:
            content.__dict__["_shown_body_links"] = known
    if known[1] is not None:
        return "links:" + _digest("\x1f".join((siteurl, str(content.settings["RELATIVE_URLS"]), known[1])))
    shown = content.get_content(siteurl) or ""
    return "shown:" + _digest(shown)


def _body_links_digest(content, held) -> str | None:
    """The body as read (``held``, packed or not: by its text's digest) and its resolved links' target URLs,
    digested; None when Pelican must make the body."""
    context = content._context
    if not held or context is None:
        return None
    text_digest, links = text_and_links(content, held)
    targets = []
    for what, value in links:
        key = RESOLVED_LINKS.get(what)
        path = urlparse(value).path if key else ""
        if path.startswith("/"):
            path = path[1:]
        elif key:
            path = content.get_relative_source_path(os.path.join(content.relative_dir, path))
        target = context[key].get(path) if key else None
        if target is None:
            return None
        targets.append(target.url)
    return _digest("\x1f".join((*targets, text_digest)))


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


def write_article_page(generator, writer, article) -> None:
    """Write one article's page as ``ArticlesGenerator.generate_articles`` does (Pelican 4.12), through ``writer``:
    for the pre-rendering child and the live preview, which write single article pages outside that loop."""
    from pelican import signals

    signals.article_generator_write_article.send(generator, content=article)
    writer.write_file(article.save_as, generator.get_template(article.template), generator.context,
                      relative_urls=generator.settings["RELATIVE_URLS"], article=article,
                      category=getattr(article, "category", None),
                      override_output=hasattr(article, "override_save_as"), url=article.url, blog=True)


def read_article(generator, source_path: str):
    """One article file through the build's own reading path (``ArticlesGenerator.generate_context``, Pelican
    4.12): reader, signals, validation. None when Pelican finds the result invalid."""
    from pelican import signals
    from pelican.contents import Article

    article = generator.readers.read_file(
        base_path=generator.path,
        path=source_path,
        content_class=Article,
        context=generator.context,
        preread_signal=signals.article_generator_preread,
        preread_sender=generator,
        context_signal=signals.article_generator_context,
        context_sender=generator,
    )
    return article if article.is_valid() else None


# Generator attributes that hold articles and pages (Pelican 4.12's ArticlesGenerator and PagesGenerator).
CONTENT_LISTS = ("articles", "translations", "drafts", "drafts_translations", "hidden_articles",
                 "hidden_translations", "pages", "hidden_pages", "draft_pages", "draft_translations")
FROZEN_CLASSES: dict[type, type] = {}


def _kept(name: str, pelicans: property) -> property:
    def get(self):
        known = self.__dict__
        value = known.get(name)
        if value is None:
            value = pelicans.fget(self)
            if "_urls_final" in known:
                known[name] = value
        return value

    return property(get, doc=f"{pelicans.__doc__ or name}, computed once Pelican has checked the content")


def _checked_of(cls: type):
    pelicans = cls.is_valid

    def is_valid(self):
        # Pelican checks an article or page right after making it (its save_as among the rest): the first moment
        # its URL is final, Article.__init__ having run to its end (future dates make drafts there, after
        # content_object_init).
        self.__dict__["_urls_final"] = True
        return pelicans(self)

    return is_valid


def _summary_of(cls: type) -> property:
    pelicans = cls.summary

    def summary(self):
        # What Pelican's ``get_summary`` answers for a summary given in the metadata (the portal's reader always
        # gives one), without its memo's lookup, asked for about 300,000 times in a build of 10,000 articles.
        metadata = self.metadata
        return metadata["summary"] if "summary" in metadata else pelicans.fget(self)

    return property(summary, pelicans.fset, doc=pelicans.__doc__)


def _url_format_of(cls: type) -> property:
    pelicans = cls.url_format

    def url_format(self):
        # ``url`` and ``save_as`` format the same values: made once for both, once they are final (a copy each
        # time, as Pelican's is, so no caller changes the other's).
        known = self.__dict__
        if "_urls_final" not in known:
            return pelicans.fget(self)
        made = known.get("_frozen_url_format")
        if made is None:
            made = known["_frozen_url_format"] = pelicans.fget(self)
        return dict(made)

    return property(url_format, doc=pelicans.__doc__)


def _relative_source_path_of(cls: type):
    pelicans = cls.get_relative_source_path

    def get_relative_source_path(self, source_path: str | None = None):
        # Asked for five times per article and build (URLs, links, the build's records), each a join, two abspaths
        # and a relpath: kept with the source path and content folder it was made from.
        if source_path and source_path != self.source_path:
            return pelicans(self, source_path)
        made = self.__dict__.get("_frozen_relative_source")
        asked = (self.source_path, self.settings.get("PATH"))
        if made is None or made[0] != asked:
            made = self.__dict__["_frozen_relative_source"] = (asked, pelicans(self))
        return made[1]

    return get_relative_source_path


def frozen_class(cls: type) -> type:
    """A subclass of ``cls`` whose ``url`` and ``save_as`` are computed once, from the moment Pelican has checked
    the content (``is_valid``) or ``freeze_urls`` says they are final, and whose ``summary`` is read from the
    metadata when it is there; same name, so fingerprints, templates and Pelican's per-class URL settings see the
    original class. Its path relative to the content folder is computed once for each source path. Not picklable
    (pickle finds ``cls`` under that name); nothing pickles content (Pelican's reader cache holds what the reader
    gave, not content objects)."""
    if cls not in FROZEN_CLASSES:
        FROZEN_CLASSES[cls] = type(cls.__name__, (cls,), {
            "url": _kept("_frozen_url", cls.url), "save_as": _kept("_frozen_save_as", cls.save_as),
            "url_format": _url_format_of(cls), "get_relative_source_path": _relative_source_path_of(cls),
            "is_valid": _checked_of(cls), "summary": _summary_of(cls),
            "__module__": cls.__module__, "__qualname__": cls.__qualname__,
        })
    return FROZEN_CLASSES[cls]


def on_content_object_init(content) -> None:
    """An article or page as it is made: of its ``frozen_class`` from now on."""
    from pelican.contents import Article, Page

    if type(content) in (Article, Page):
        content.__class__ = frozen_class(type(content))
        # Pelican has just made it from this very source path and settings (``Content.__init__``)
        made = content.__dict__.get("relative_source_path")
        if made is not None:
            content.__dict__["_frozen_relative_source"] = ((content.source_path, content.settings.get("PATH")), made)


def freeze_urls(generators) -> None:
    """Every article and page of ``generators`` with its ``url`` and ``save_as`` kept from now on (most were since
    Pelican checked them; content made without the signal becomes of its ``frozen_class`` here)."""
    from pelican.contents import Article, Page

    for generator in generators:
        for name in CONTENT_LISTS:
            for content in getattr(generator, name, None) or ():
                if type(content) in (Article, Page):
                    content.__class__ = frozen_class(type(content))
                elif type(content) not in FROZEN_CLASSES.values():
                    continue
                content.__dict__["_urls_final"] = True
                content.url, content.save_as  # noqa: B018 (kept by reading them)


def register() -> None:
    """Hook reading (readers_init), per-article metadata (article_generator_context) and the point just
    before writing (all_generators_finalized): the earliest places where each check has what it needs; the end of
    the build (finalized), the first moment nothing more will be taken back from the set-aside output; the start
    and end of making the articles (article_generator_init, article_generator_finalized), for the collector
    (``heap``); and each article or page as it is made (content_object_init), for URLs computed once."""
    from pelican import signals

    signals.initialized.connect(on_initialized)
    signals.readers_init.connect(on_readers_init)
    signals.article_generator_init.connect(on_article_generator_init)
    signals.article_generator_context.connect(on_article_generator_context)
    signals.content_object_init.connect(on_content_object_init)
    signals.page_generator_context.connect(on_page_generator_context)
    signals.static_generator_preread.connect(on_static_generator_preread)
    signals.article_generator_finalized.connect(on_article_generator_finalized)
    signals.all_generators_finalized.connect(on_all_generators_finalized)
    signals.finalized.connect(on_finalized)
