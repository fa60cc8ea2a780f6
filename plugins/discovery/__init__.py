"""discovery: sitemaps, a Google News sitemap, robots.txt, and the RSS and per-section feeds.

Adds to the output:

* ``sitemap.xml``: every HTML page the writer wrote (articles, pages, listing pages with their numbered pages,
  in every language) with ``lastmod`` and ``xhtml:link rel="alternate" hreflang`` for translations (articles,
  pages) and for the same listing page in the other languages.
* ``news-sitemap.xml``: the articles of the last ``DISCOVERY_NEWS_DAYS`` days (at most 1,000, newest first).
  "Now" is the newest article's publication time, not the clock: the same content always gives the same file.
* ``robots.txt`` naming both sitemaps.
* RSS next to listing_pages' Atom feeds: ``feeds/all.rss.xml``, ``feeds/<lang>.rss.xml``; and for each section
  in each language ``[<lang>/]sections/<slug>/feed.atom.xml`` and ``feed.rss.xml`` (stories with a version in
  that language, like ``feeds/<lang>.*``).

URLs are absolute: ``SITEURL`` in a publish build, ``PORTAL_FEED_BASE`` in a development build (relative
URLs). Pages are collected in memory as the writer writes them (``content_written`` carries each page's
context: its article, page or listing language), never by reading HTML back. Files are built with
``xml.etree`` (escaping done by the library; sitemap.xml's ``<url>`` lines as text, the bytes ElementTree
writes for them, in a third of the time, escaped as it escapes: ``sitemaps.write_urlset``), sorted by URL,
without timestamps of the build.

Signals: ``initialized`` (start a collection for this build), ``content_written`` (note each page),
``get_generators`` (returns ``FeedsGenerator``, after listing_pages), ``finalized`` (write the three files).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pelican import signals

from .feeds import FeedsGenerator
from .sitemaps import Collector, write_discovery_files

logger = logging.getLogger(__name__)

DEFAULTS = {
    # Write sitemap.xml, news-sitemap.xml and robots.txt.
    "DISCOVERY_SITEMAPS": True,
    # Pages left out of the sitemap (fnmatch patterns on the output path, e.g. "drafts/*").
    "DISCOVERY_SITEMAP_EXCLUDE": ["drafts/*", "404.html", "*/404.html"],
    # News sitemap: articles published this many days before the newest article, at most this many.
    "DISCOVERY_NEWS_DAYS": 2,
    "DISCOVERY_NEWS_MAX": 1000,
    # robots.txt: paths (relative to the site root) crawlers need not fetch; the search index is for browsers.
    "DISCOVERY_ROBOTS_DISALLOW": ["pagefind/", "drafts/"],
    # Write the RSS feeds and the per-section Atom and RSS feeds.
    "DISCOVERY_FEEDS": True,
}


def discovery_settings(settings: dict) -> dict:
    """Every setting this plugin reads, with its default."""
    return {key: settings.get(key, default) for key, default in DEFAULTS.items()}


def absolute_base(settings: dict) -> str:
    """The public base URL: SITEURL when the build uses absolute URLs, else the development base."""
    if settings.get("SITEURL") and not settings.get("RELATIVE_URLS"):
        return settings["SITEURL"].rstrip("/") + "/"
    return settings["PORTAL_FEED_BASE"].rstrip("/") + "/"


# One collection per output folder: tests and livereload run several builds in one process.
_collectors: dict[Path, Collector] = {}


def on_initialized(pelican) -> None:
    root = Path(pelican.output_path).resolve()
    _collectors[root] = Collector(root, pelican.settings, discovery_settings(pelican.settings),
                                  written_under=os.path.abspath(pelican.output_path))


def on_content_written(path, context) -> None:
    absolute = os.path.abspath(path)  # no system call: resolving each of 50,000 paths cost seconds
    for collector in _collectors.values():
        relative = collector.relative(absolute)
        if relative is not None:
            collector.add(relative, context)
            return


def on_finalized(pelican) -> None:
    root = Path(pelican.output_path).resolve()
    collector = _collectors.pop(root, None)
    options = discovery_settings(pelican.settings)
    if collector is None or not options["DISCOVERY_SITEMAPS"]:
        return
    write_discovery_files(collector, absolute_base(pelican.settings))


def get_generators(pelican):
    return FeedsGenerator


def register() -> None:
    """Hook ``initialized``/``content_written``/``finalized`` for the sitemaps (every written page, known only
    once the writer is done) and ``get_generators`` for the feeds (listing_pages' stories and sections)."""
    signals.initialized.connect(on_initialized)
    signals.content_written.connect(on_content_written)
    signals.get_generators.connect(get_generators)
    signals.finalized.connect(on_finalized)
