"""listing_pages: every page that lists articles, in each interface language, and their feeds.

Adds, for each language in ``PORTAL_LANGUAGES`` (the default at ``/``, the others under ``/<lang>/``):
the home page and its pages (``/page/N/``), section pages (``/sections/<slug>/``), ``/topics/`` and each topic,
``/officials/`` and each official, ``/people/<slug>/`` for reporters and editors; Atom feeds for the site
(``/feeds/all.atom.xml``), each language, each topic and each official.

A story is a translation group; a listing shows each story once, in the page's language where a version
exists. Everything is computed in one pass over the stories at generator time (no rescan per term), and a
registry entry with no article gets no page and no link.

Feeds are cached by their inputs (``feeds.py``): an unchanged feed is copied from ``CACHE_PATH/feeds/``.
The Jinja global ``list_item(item, heading_level)`` renders ``partials/article_list_item.html`` once per build for
each way a page shows an article (page language, heading level), because each article appears in a dozen listings
(home, section, topics, officials, people, archives); the page's ``SITEURL`` (relative: one per folder depth) is put
into that text afterwards, where the template writes ``{{ SITEURL }}`` (``SITEURL_MARK``).

Signals: ``get_generators`` (returns ``ListingGenerator``, which runs after the articles generator),
``initialized`` and ``finalized`` (start and prune the feed cache of one build), ``generator_init`` (the
``list_item`` global, with a fragment cache that lives as long as the generator's Jinja environment, and the
``page_window`` global: the pages a pagination bar links).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from jinja2 import pass_context
from markupsafe import Markup, escape
from pelican import signals
from pelican.generators import Generator
from pelican.utils import slugify
from portal_i18n import lang_of

from .feeds import FEED_CACHES, write_feed

logger = logging.getLogger(__name__)

TERM_KINDS = ("topics", "officials", "people")


def story_key(article) -> tuple:
    """Newest first; ties broken by slug so the order never depends on reading order."""
    return (-article.date.timestamp(), article.slug, article.lang)


@dataclass
class Story:
    """One piece of news: its original and translations."""

    original: object
    versions: dict[str, object]

    def version(self, lang: str):
        return self.versions.get(lang, self.original)

    @property
    def date(self):
        return self.original.date


@dataclass
class TermIndex:
    """What one topic, official or person is linked to."""

    term: object
    stories: list[Story] = field(default_factory=list)
    officials: Counter = field(default_factory=Counter)
    topics: Counter = field(default_factory=Counter)

    @property
    def count(self) -> int:
        return len(self.stories)

    @property
    def latest(self):
        return self.stories[0].date if self.stories else None


@dataclass
class Section:
    slug: str
    names: dict[str, str]

    def name_in(self, lang: str) -> str:
        return self.names.get(lang) or self.names["en"]

    @property
    def url(self) -> str:
        return f"sections/{self.slug}/"


def make_section(settings: dict, category: str) -> Section:
    """The section of articles in ``category``, named as ``PORTAL_SECTIONS`` says (the category's name otherwise)."""
    names = dict(settings.get("PORTAL_SECTIONS", {}).get(category) or {})
    names.setdefault("en", category)
    return Section(slugify(category), names)


def lang_prefix(settings: dict, lang: str) -> str:
    return "" if lang == settings["DEFAULT_LANG"] else f"{lang}/"


def published(article) -> bool:
    return getattr(article, "status", "published") == "published"


def collect_stories(articles) -> list[Story]:
    stories = []
    for original in articles:
        versions = {original.lang: original}
        for translation in getattr(original, "translations", []):
            if published(translation):
                versions.setdefault(translation.lang, translation)
        stories.append(Story(original, versions))
    stories.sort(key=lambda s: story_key(s.original))
    return stories


def index_terms(stories: list[Story]) -> dict[str, dict[str, TermIndex]]:
    """One pass: each story's terms, with co-occurrence counts for 'officials in this topic' and 'related'."""
    index: dict[str, dict[str, TermIndex]] = {kind: {} for kind in TERM_KINDS}
    for story in stories:
        terms = {kind: [] for kind in TERM_KINDS}
        for version in story.versions.values():
            for kind, attr in (("topics", "topics"), ("officials", "officials"), ("people", "reporters"),
                               ("people", "editors")):
                for term in getattr(version, attr, []):
                    if term not in terms[kind]:
                        terms[kind].append(term)
        for kind, found in terms.items():
            for term in found:
                entry = index[kind].get(term.slug)
                if entry is None:
                    entry = index[kind][term.slug] = TermIndex(term)
                entry.stories.append(story)
                entry.officials.update(o.slug for o in terms["officials"] if o is not term)
                entry.topics.update(t.slug for t in terms["topics"] if t is not term)
    return index


def ranked(counter: Counter, index: dict[str, TermIndex], limit: int) -> list[tuple[object, int]]:
    """Most shared first, then by name: deterministic."""
    items = sorted(counter.items(), key=lambda kv: (-kv[1], index[kv[0]].term.name.casefold(), kv[0]))
    return [(index[slug].term, count) for slug, count in items[:limit]]


class ListingGenerator(Generator):
    """Writes the listing pages and feeds for each interface language."""

    def generate_context(self):
        settings = self.settings
        self.stories = collect_stories([a for a in self.context.get("articles", []) if published(a)])
        self.terms = index_terms(self.stories)
        self.sections = self._sections()
        for kind, entries in self.terms.items():
            for slug, entry in entries.items():
                entry.term.count = entry.count
                entry.term.latest = entry.latest
                entry.term.has_page = True
                entry.term.related_officials = ranked(entry.officials, self.terms["officials"], 8)
                entry.term.related_topics = ranked(entry.topics, self.terms["topics"], 8)
        for kind, terms in self.context.get("portal_terms", {}).items():
            for slug, term in terms.items():
                if slug not in self.terms[kind]:
                    term.has_page = False
                    term.count = 0
        self.context["portal_stories"] = self.stories
        self.context["portal_sections"] = self.sections
        self.context["portal_topics"] = self._sorted_terms("topics")
        self.context["portal_officials"] = self._sorted_terms("officials")
        self.languages = list(settings["PORTAL_LANGUAGES"])

    def _sections(self) -> dict[str, Section]:
        sections = {}
        for story in self.stories:
            name = story.original.category.name
            if name not in sections:
                sections[name] = make_section(self.settings, name)
            story.section = sections[name]
        order = list(self.settings.get("PORTAL_SECTIONS", {}))
        return dict(sorted(sections.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else 99, kv[0])))

    def _sorted_terms(self, kind: str) -> list:
        entries = sorted(self.terms[kind].values(), key=lambda e: (-e.count, e.term.name.casefold()))
        return [e.term for e in entries]

    # --- writing -------------------------------------------------------------------------------------

    def _write(self, writer, lang: str, url: str, template: str, items=None, **kwargs):
        prefix = lang_prefix(self.settings, lang)
        page_url = prefix + url
        save_as = page_url + "index.html" if page_url.endswith("/") or not page_url else page_url
        extra = {"page_lang": lang, "lang_prefix": prefix, "page_url": page_url, "page_path": url}
        if items is not None:
            extra["articles"] = items
            kwargs["paginated"] = {"articles": items}
        writer.write_file(
            save_as,
            self.get_template(template),
            self.context,
            relative_urls=self.settings["RELATIVE_URLS"],
            template_name=template,
            url=page_url,
            **extra,
            **kwargs,
        )

    def _versions(self, stories: list[Story], lang: str) -> list:
        return [story.version(lang) for story in stories]

    def _feed(self, save_as: str, stories: list[Story], lang: str, title: str) -> None:
        stories = stories[: self.settings.get("FEED_MAX_ITEMS") or None]  # what write_feed would keep
        write_feed(self.output_path, save_as, self._versions(stories, lang), self.settings, title, lang)

    def generate_output(self, writer):
        for lang in self.languages:
            prefix = lang_prefix(self.settings, lang)
            home = self._versions(self.stories, lang)
            self._write(writer, lang, "", "index", home)
            for section in self.sections.values():
                stories = [s for s in self.stories if s.section is section]
                self._write(writer, lang, section.url, "section", self._versions(stories, lang), section=section)
            self._write(writer, lang, "topics/", "topics", None, terms=self.context["portal_topics"])
            self._write(writer, lang, "officials/", "officials", None, terms=self.context["portal_officials"])
            for kind, template in (("topics", "topic"), ("officials", "official"), ("people", "person")):
                for entry in self.terms[kind].values():
                    term = entry.term
                    feed = None
                    if kind != "people":
                        feed = f"{prefix}{term.url}feed.atom.xml"
                        self._feed(feed, entry.stories, lang, term.name_in(lang))
                    self._write(
                        writer, lang, term.url, template, self._versions(entry.stories, lang),
                        term=term, term_feed=feed,
                    )
            self._feed(f"feeds/{lang}.atom.xml", [s for s in self.stories if lang in s.versions], lang,
                       self.settings["PORTAL_LANGUAGES"][lang]["name"])
        everything = sorted(
            (v for s in self.stories for v in s.versions.values()), key=story_key
        )
        write_feed(self.output_path, "feeds/all.atom.xml", everything, self.settings, "", self.settings["DEFAULT_LANG"])
        forget_list_items(self.env)


def get_generators(pelican):
    return ListingGenerator


LIST_ITEM_TEMPLATE = "partials/article_list_item.html"
# Stands for the page's SITEURL in a list item rendered once for every page (``list_item``): a private-use
# character, which escaping leaves as it is and no text of the site holds.
SITEURL_MARK = "\ue000siteurl\ue000"


@pass_context
def list_item(context, item, heading_level: int = 3) -> Markup:
    """One article as a listing shows it; see the module docstring for why it is cached."""
    env = context.environment
    lang = lang_of(context)
    if env.portal_list_items_lang != lang:
        # Pages are written one language after another: the other language's fragments are not needed again.
        forget_list_items(env)
        env.portal_list_items_lang = lang
    key = (id(item), lang, heading_level)
    cached = env.portal_list_items.get(key)
    if cached is None or cached[0] is not item:
        # One rendering for every SITEURL (relative, one per folder depth): the page's is put in below.
        text = env.get_template(LIST_ITEM_TEMPLATE).render(
            {**context.get_all(), "SITEURL": SITEURL_MARK, "item": item, "list_heading_level": heading_level}
        )
        cached = env.portal_list_items[key] = (item, text)
    return Markup(cached[1].replace(SITEURL_MARK, str(escape(context.get("SITEURL")))))


def forget_list_items(env) -> None:
    """Drop the cached fragments (once a generator has written its listings: about 10 MB per 1,000 articles)."""
    env.portal_list_items = {}
    env.portal_list_items_lang = None


def page_window(current: int, last: int, around: int = 2) -> list[int | None]:
    """The page numbers a pagination bar links: the first and last page and ``around`` pages either side of the
    current one, None where numbers are left out (shown as an ellipsis; a gap of one page shows that page).

    A listing of 10,000 articles has hundreds of pages: a link to each from each page would be hundreds of links
    to tab through on every page (and hundreds of thousands of links to render); archives serve browsing by date.
    """
    shown = sorted({1, last, *range(max(1, current - around), min(last, current + around) + 1)})
    window: list[int | None] = []
    previous = 0
    for number in shown:
        if number - previous == 2:
            window.append(number - 1)
        elif number - previous > 2:
            window.append(None)
        window.append(number)
        previous = number
    return window


def add_globals(generator) -> None:
    forget_list_items(generator.env)
    generator.env.globals.update(list_item=list_item, page_window=page_window)


def start_feed_cache(pelican) -> None:
    FEED_CACHES.clear()


def prune_feed_cache(pelican) -> None:
    for cache in FEED_CACHES.values():
        cache.prune()
        logger.info("listing_pages: %d feed(s) built, %d from the cache, %d kept as the last build wrote them",
                    cache.misses, cache.hits, cache.kept)
    FEED_CACHES.clear()


def register() -> None:
    """Hook ``get_generators``: listing pages need the final article list, which exists only after the
    articles generator ran, and a generator of our own can write paginated pages through Pelican's writer.
    ``initialized`` and ``finalized`` bracket one build, so the feed cache knows which entries it used."""
    signals.get_generators.connect(get_generators)
    signals.initialized.connect(start_feed_cache)
    signals.generator_init.connect(add_globals)
    signals.finalized.connect(prune_feed_cache)
