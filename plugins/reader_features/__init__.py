"""reader_features: archives by date, related articles, previous/next article and reading time.

Adds, for each interface language (the default at ``/``, the others under ``/<lang>/``):

* ``archives/``: the years and months, with their counts; ``YYYY/`` (each month's newest stories and a link to
  the rest) and ``YYYY/MM/`` (all the month's, with summaries). Article URLs are ``YYYY/MM/<slug>/``, so
  ``YYYY/MM/index.html`` is free.
* ``404.html`` (and ``<lang>/404.html``): the page a server answers a missing address with (template ``404.html``,
  ``partials/not_found.html``): what happened, a search box and where to go, in the page's language and then in
  the others (a host may serve the default language's page for every missing address).
* on every article (templates ``partials/related.html``, ``partials/prev_next.html``, ``partials/dateline.html``):
  ``article.related_articles`` (stories sharing officials and topics, best first, then newest),
  ``article.previous_in_language`` / ``article.next_in_language`` (the older and newer article in the same
  language) and ``article.reading_minutes`` (Chinese counted by characters, other text by words).

Everything is computed once per build from listing_pages' stories (``portal_stories``), so that plugin must
come before this one in ``PLUGINS``.

Signals: ``get_generators`` (returns ``ReaderFeaturesGenerator``; its ``generate_context`` runs after every
article is read and before anything is written).
"""

from __future__ import annotations

from content_model import BODY_DERIVED, BODY_DERIVED_PARTIALS
from content_model.bodies import held_body
from listing_pages import forget_list_items, lang_prefix
from pelican import signals
from pelican.generators import Generator

from .archives import ArchiveYear, archive_index, build_archive, year_preview
from .related import RelatedCache, related_stories
from .reading_time import CountCache, reading_minutes

DEFAULTS = {
    # Reading speed: Chinese characters per minute and words per minute for everything else.
    "READER_CHARS_PER_MINUTE": 350,
    "READER_WORDS_PER_MINUTE": 220,
    # Related articles: how many, points per shared term of each kind, candidates kept per term (most recent).
    "READER_RELATED_COUNT": 4,
    "READER_RELATED_WEIGHTS": {"topics": 3, "officials": 2},
    "READER_RELATED_CANDIDATES_PER_TERM": 200,
    # Write archives/, YYYY/ and YYYY/MM/ in each language.
    "READER_ARCHIVES": True,
    # How many of each month's newest stories a year's page lists (the month's own page lists them all); 0: none.
    "READER_YEAR_STORIES_PER_MONTH": 5,
    # Write the page a server answers a missing address with: 404.html, and <lang>/404.html in each other language.
    "READER_NOT_FOUND_PAGE": True,
}


def reader_settings(settings: dict) -> dict:
    """Every setting this plugin reads, with its default; a bad value stops the build with what is wrong."""
    options = {key: settings.get(key, default) for key, default in DEFAULTS.items()}
    per_month = options["READER_YEAR_STORIES_PER_MONTH"]
    if isinstance(per_month, bool) or not isinstance(per_month, int) or per_month < 0:
        raise ValueError(f"READER_YEAR_STORIES_PER_MONTH must be a whole number, 0 or more (got {per_month!r})")
    return options


class ReaderFeaturesGenerator(Generator):
    """Annotates articles (related, previous/next, reading time) and writes the date archives."""

    def generate_context(self):
        if "portal_stories" not in self.context:
            raise RuntimeError("reader_features needs listing_pages: put 'listing_pages' before it in PLUGINS")
        self.options = reader_settings(self.settings)
        self.languages = list(self.settings["PORTAL_LANGUAGES"])
        stories = self.context["portal_stories"]
        versions = [v for story in stories for v in story.versions.values()]

        counts = CountCache(self.settings.get("CACHE_PATH", "cache"))
        for version in versions:
            version.reading_minutes = reading_minutes(
                "",  # counted already: by the body as the article holds it, packed or not
                self.options["READER_CHARS_PER_MINUTE"],
                self.options["READER_WORDS_PER_MINUTE"],
                counts.counts(held_body(version) or ""),
            )
        counts.save()

        # Previous/next: oldest to newest within one language; ties by slug, so reading order never matters.
        by_lang: dict[str, list] = {}
        for version in versions:
            by_lang.setdefault(version.lang, []).append(version)
        for items in by_lang.values():
            items.sort(key=lambda a: (a.date, a.slug))
            for position, item in enumerate(items):
                item.previous_in_language = items[position - 1] if position else None
                item.next_in_language = items[position + 1] if position + 1 < len(items) else None

        ranking = (self.options["READER_RELATED_WEIGHTS"], self.options["READER_RELATED_COUNT"],
                   self.options["READER_RELATED_CANDIDATES_PER_TERM"])
        known_related = RelatedCache(self.settings.get("CACHE_PATH", "cache"), *ranking)
        related = related_stories(stories, *ranking, cache=known_related)
        known_related.save()
        for story in stories:
            for lang, version in story.versions.items():
                version.related_articles = [other.version(lang) for other in related[id(story)][lang]]

        self.archives = {lang: build_archive(stories, lang) for lang in self.languages}

    def _write(self, writer, lang: str, url: str, template: str, **kwargs):
        prefix = lang_prefix(self.settings, lang)
        page_url = prefix + url
        writer.write_file(
            page_url + "index.html",
            self.get_template(template),
            self.context,
            relative_urls=self.settings["RELATIVE_URLS"],
            template_name=template,
            url=page_url,
            page_lang=lang,
            lang_prefix=prefix,
            page_url=page_url,
            page_path=url,
            **kwargs,
        )

    def generate_output(self, writer):
        if self.options["READER_ARCHIVES"]:
            self._write_archives(writer)
        if self.options["READER_NOT_FOUND_PAGE"]:
            self._write_not_found(writer)

    def _write_not_found(self, writer):
        """The not-found page of each language. A server answers any missing address with it, at any depth, so
        its links cannot be relative to its own folder: they are root-relative in a development build (SITEURL
        empty: the site is served from the root of its host) and absolute in a public one."""
        for lang in self.languages:
            prefix = lang_prefix(self.settings, lang)
            writer.write_file(
                prefix + "404.html",
                self.get_template("404"),
                self.context,
                relative_urls=False,
                template_name="404",
                page_lang=lang,
                lang_prefix=prefix,
            )

    def _write_archives(self, writer):
        for lang in self.languages:
            years = self.archives[lang]
            self._write(writer, lang, "archives/", "archives", archive_years=archive_index(years))
            # A period page links to the years (and a month page to its year): by the years alone, so that what the
            # page is made from (its ``incremental`` key) is not every story of the archive or of the year.
            year_links = [ArchiveYear(year.year) for year in years]
            for year, year_link in zip(years, year_links):
                shown = year_preview(year, self.options["READER_YEAR_STORIES_PER_MONTH"])
                # ``articles``: what the page lists (the sitemap takes its lastmod from them)
                self._write(writer, lang, year.url, "period_archives", archive_years=year_links, archive_year=shown,
                            articles=[item for month in shown.months for item in month.items])
                for month in year.months:
                    self._write(
                        writer, lang, month.url, "period_archives",
                        archive_years=year_links, archive_year=year_link, archive_month=month, articles=month.items,
                    )
        forget_list_items(self.env)


def article_reading_minutes(article, settings: dict) -> int:
    """An article's reading time as the generator gives it (``content_model.BODY_DERIVED``)."""
    options = reader_settings(settings)
    return reading_minutes(article._content or "", options["READER_CHARS_PER_MINUTE"],
                           options["READER_WORDS_PER_MINUTE"])


def get_generators(pelican):
    return ReaderFeaturesGenerator


def register() -> None:
    """Hook ``get_generators``: a generator of our own sees the final stories (listing_pages' context) in
    ``generate_context`` and writes per-language pages through Pelican's writer. The reading time is registered
    as derived from the body (``content_model.BODY_DERIVED``), for the live preview and the body-edit path."""
    signals.get_generators.connect(get_generators)
    BODY_DERIVED["reading_minutes"] = article_reading_minutes
    BODY_DERIVED_PARTIALS["reading_minutes"] = "partials/reading_time.html"
