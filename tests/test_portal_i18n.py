"""portal_i18n's gettext against Jinja's own new-style wrapper: the same text for every kind of call."""

from __future__ import annotations

import pytest
from jinja2 import DictLoader, Environment

from portal_i18n import make_gettext, on_generator_init
from tests.support.sites import REPO_ROOT

TEMPLATE = """\
{{ _("Home") }}|{{ gettext("Topics") }}|{{ _("Page %(n)s", n=n) }}|{{ _("Page %(n)s", n=hostile) }}
|{{ _("%(section)s (Atom feed)", section=hostile) }}|{{ _("No such message <&>") }}|{{ _("100%% sure") }}
|{% trans %}Topics{% endtrans %}|{% trans count=n %}{{ count }} article{% pluralize %}{{ count }} articles{% endtrans %}
|{% autoescape false %}{{ _("Page %(n)s", n=hostile) }}|{{ _("No such message <&>") }}{% endautoescape %}
|{{ ngettext("about %(num)d minute", "about %(num)d minutes", n) }}
"""
CONTEXT = {"n": 3, "hostile": '<script>alert("x")</script> & 50%'}


def environment(gettext, ngettext) -> Environment:
    env = Environment(loader=DictLoader({"t.html": TEMPLATE}), autoescape=True, extensions=["jinja2.ext.i18n"])
    env.install_gettext_callables(gettext, ngettext, newstyle=True)
    return env


def jinja_reference(lang: str) -> Environment:
    """Jinja's own wrapper around plain functions that translate with the same catalogue."""
    from portal_i18n import catalogue

    messages = catalogue(str(REPO_ROOT / "theme"), lang) if lang != "en" else {}

    def gettext(message):
        translated = messages.get(message)
        return translated if isinstance(translated, str) else message

    def ngettext(singular, plural, n):
        translated = messages.get(singular)
        if isinstance(translated, (list, tuple)):
            return translated[0]
        return translated or (singular if n == 1 else plural)

    return environment(gettext, ngettext)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_gettext_renders_what_jinjas_wrapper_renders(lang):
    class Generator:  # what on_generator_init reads of a Pelican generator
        theme = str(REPO_ROOT / "theme")
        settings = {"DEFAULT_LANG": "en", "PORTAL_LANGUAGES": {"en": {}, "zh": {}}}
        env = Environment(loader=DictLoader({"t.html": TEMPLATE}), autoescape=True)

    on_generator_init(Generator)
    ours = Generator.env.get_template("t.html").render(CONTEXT, page_lang=lang)
    expected = jinja_reference(lang).get_template("t.html").render(CONTEXT, page_lang=lang)
    assert ours == expected
    assert "&lt;script&gt;" in ours and "<script>alert" in ours  # escaped, except inside `autoescape false`
    if lang == "zh":
        assert "首页" in ours  # a translated message, not the English one


def test_gettext_follows_the_page_language_on_every_call():
    gettext, _ngettext = make_gettext(str(REPO_ROOT / "theme"), "en", {"en": {}, "zh": {}})
    env = Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    env.globals.update(_=gettext)
    template = env.from_string('{{ _("Home") }}')
    assert [template.render(page_lang=lang) for lang in ("zh", "en", "zh", "en")] == ["首页", "Home", "首页", "Home"]


def fragment_environment(templates: dict[str, str], site: dict):
    """An environment as ``on_generator_init`` sets one up for a generator whose build context is ``site``."""

    class Generator:
        theme = str(REPO_ROOT / "theme")
        settings = {"DEFAULT_LANG": "en", "PORTAL_LANGUAGES": {"en": {}, "zh": {}}}
        env = Environment(loader=DictLoader(templates), autoescape=True)
        context = site

    on_generator_init(Generator)
    return Generator.env


def test_a_shared_fragment_is_rendered_once_per_language_siteurl_and_values():
    renders = []
    site = {"SITENAME": "Lanhai <News>", "count": lambda: renders.append(1) or ""}
    env = fragment_environment({
        "page.html": '{{ shared_fragment("part.html", current=here) }}',
        "part.html": '{{ count() }}{{ SITENAME }}|{{ SITEURL }}|{{ lang_of() }}|{{ current }}|{{ _("Home") }}',
    }, site)
    page = env.get_template("page.html")
    first = page.render({**site, "SITEURL": "..", "page_lang": "en", "here": "topics/"})
    assert first == "Lanhai &lt;News&gt;|..|en|topics/|Home"
    assert page.render({**site, "SITEURL": "..", "page_lang": "en", "here": "topics/", "article": object()}) == first
    assert page.render({**site, "SITEURL": "../..", "page_lang": "zh", "here": None}) == "Lanhai &lt;News&gt;|../..|zh|None|首页"
    assert page.render({**site, "SITEURL": "..", "page_lang": "en", "here": None}).endswith("|None|Home")
    assert len(renders) == 3


def test_a_shared_fragment_never_sees_the_pages_own_arguments():
    """Rendered from the build's context alone: a partial reading a page's argument finds it undefined on every page
    (so it shows in any build), instead of showing the first page's value on all of them."""
    env = fragment_environment({
        "page.html": '{{ shared_fragment("part.html") }}',
        "part.html": '[{{ article.title if article is defined else "no article" }}]',
    }, {"SITENAME": "Lanhai"})

    class Article:
        title = "Story 1"

    assert env.get_template("page.html").render(SITEURL="", page_lang="en", article=Article()) == "[no article]"
