"""Sitemaps, the news sitemap, robots.txt and feeds (plugins/discovery), on real builds.

The sitemap is compared with the output folder itself: every HTML page written (except the excluded kinds)
must be listed, and nothing else. XML is parsed with lxml; RSS with feedparser; Atom against RFC 4287's schema.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import feedparser
import lxml.etree as ET
import pytest
from bs4 import BeautifulSoup

from tests.support import checkers
from tests.support.sites import article, make_site

NS = {
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "xhtml": "http://www.w3.org/1999/xhtml",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
}
DEV_BASE = "http://127.0.0.1:8000/"  # pelicanconf's PORTAL_FEED_BASE (PORTAL_DEV_URL unset in tests)
PUBLISH_BASE = "https://lanhai.example.gov/"
W3C_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


def parse_sitemap(path: Path) -> dict[str, dict]:
    tree = ET.parse(str(path))
    assert tree.getroot().tag == f"{{{NS['sm']}}}urlset"
    entries = {}
    for url in tree.getroot().findall("sm:url", NS):
        loc = url.findtext("sm:loc", namespaces=NS)
        assert loc not in entries, f"listed twice: {loc}"
        entries[loc] = {
            "lastmod": url.findtext("sm:lastmod", namespaces=NS),
            "alternates": {link.get("hreflang"): link.get("href") for link in url.findall("xhtml:link", NS)},
        }
    return entries


def html_pages(site: Path) -> set[str]:
    pages = set()
    for path in site.rglob("*.html"):
        relative = path.relative_to(site).as_posix()
        if relative.startswith(("pagefind/", "drafts/")) or relative.rpartition("/")[2] == "404.html":
            continue  # (the not-found pages: DISCOVERY_SITEMAP_EXCLUDE)
        pages.add(relative[: -len("index.html")] if relative.endswith("index.html") else relative)
    return pages


def base_of(site: Path) -> str:
    return PUBLISH_BASE if "publish" in str(site) else DEV_BASE


# --------------------------------------------------------------------------- sitemap.xml


@pytest.mark.parametrize("which", ["sample_site", "published_site"])
def test_sitemap_lists_every_page_and_nothing_else(request, which):
    site = request.getfixturevalue(which)
    base = base_of(site)
    entries = parse_sitemap(site / "sitemap.xml")
    assert set(entries) == {base + page for page in html_pages(site)}
    # articles in both languages, paginated listing pages, archives and search pages among them
    for page in ("2025/06/metro-line-4-opens/", "zh/2025/06/metro-line-4-opens/", "page/2/", "zh/page/2/",
                 "archives/", "zh/2025/06/", "search/", "zh/search/", "about/", "topics/public-transport/"):
        assert base + page in entries, page
    assert list(entries) == sorted(entries), "sorted by URL, so the file only changes when the site does"


@pytest.mark.parametrize("which", ["sample_site", "published_site"])
def test_sitemap_is_laid_out_and_escaped_as_elementtree_writes_it(request, which, tmp_path):
    """sitemap.xml is written as text (``write_urlset``): it must be the bytes ElementTree writes for the tree it
    holds, and the escaping of both, for a value needing it (a ``SITEURL`` with "&")."""
    import xml.etree.ElementTree as ElementTree

    import discovery.sitemaps as sitemaps

    def elementtree_bytes(path: Path) -> bytes:
        root = ElementTree.parse(path).getroot()
        written = tmp_path / "elementtree.xml"
        sitemaps.write_xml(root, written)
        return written.read_bytes()

    site = request.getfixturevalue(which)
    assert (site / "sitemap.xml").read_bytes() == elementtree_bytes(site / "sitemap.xml")
    collector = sitemaps.Collector(tmp_path, {"DEFAULT_LANG": "en", "PORTAL_LANGUAGES": {
        "en": {"locale": "en"}, "zh": {"locale": 'zh-"CN"&<>'}}}, {"DISCOVERY_SITEMAP_EXCLUDE": []})
    collector.pages = {"a/": sitemaps.PageEntry("a/", "en", translations={"en": "a/", "zh": "zh/a/"}),
                       "zh/a/": sitemaps.PageEntry("zh/a/", "zh", translations={"en": "a/", "zh": "zh/a/"})}
    sitemaps.write_sitemap(collector, "https://example.org/?x=1&y=<2>/", tmp_path)
    written = (tmp_path / "sitemap.xml").read_bytes()
    assert b"&amp;y=&lt;2&gt;" in written and b'hreflang="zh-&quot;CN&quot;&amp;&lt;&gt;"' in written
    assert written == elementtree_bytes(tmp_path / "sitemap.xml")
    collector.pages = {}
    sitemaps.write_sitemap(collector, "https://example.org/", tmp_path)
    assert (tmp_path / "sitemap.xml").read_bytes() == elementtree_bytes(tmp_path / "sitemap.xml")


def test_every_sitemap_entry_has_a_lastmod_and_articles_use_their_dates(published_site):
    entries = parse_sitemap(published_site / "sitemap.xml")
    assert all(W3C_DATETIME.match(e["lastmod"] or "") for e in entries.values())
    # metro-line-4-opens: Modified 2025-07-02 10:00 (en) and 10:30 (zh)
    assert entries[PUBLISH_BASE + "2025/06/metro-line-4-opens/"]["lastmod"] == "2025-07-02T10:00:00+08:00"
    assert entries[PUBLISH_BASE + "zh/2025/06/metro-line-4-opens/"]["lastmod"] == "2025-07-02T10:30:00+08:00"
    # a month page changes when its newest article does
    assert entries[PUBLISH_BASE + "2025/06/"]["lastmod"] == "2025-07-02T10:00:00+08:00"


def test_translation_pairs_and_listing_pages_carry_hreflang_alternates(published_site):
    entries = parse_sitemap(published_site / "sitemap.xml")
    pair = {"en": PUBLISH_BASE + "2025/06/metro-line-4-opens/", "zh-CN": PUBLISH_BASE + "zh/2025/06/metro-line-4-opens/"}
    for url in pair.values():
        assert entries[url]["alternates"] == pair
    assert entries[PUBLISH_BASE]["alternates"] == {"en": PUBLISH_BASE, "zh-CN": PUBLISH_BASE + "zh/"}
    assert entries[PUBLISH_BASE + "page/2/"]["alternates"] == {
        "en": PUBLISH_BASE + "page/2/", "zh-CN": PUBLISH_BASE + "zh/page/2/"}
    assert entries[PUBLISH_BASE + "zh/search/"]["alternates"]["en"] == PUBLISH_BASE + "search/"
    # an article without a translation has no alternates (a lone self-reference says nothing)
    assert entries[PUBLISH_BASE + "2026/04/bus-network-redesign/"]["alternates"] == {}
    # every alternate is itself a listed page
    for entry in entries.values():
        assert set(entry["alternates"].values()) <= set(entries)


# --------------------------------------------------------------------------- news sitemap and robots.txt


def news_files() -> dict:
    def en(slug, date, title):
        return article(title=title, date=date, slug=slug, lang="en", category="News")

    return {
        "articles/a.md": en("newest", "2026-03-20 09:00", "Newest & <best> news"),
        "articles/b.md": en("yesterday", "2026-03-19 09:00", "Yesterday's news"),
        "articles/c.md": en("edge", "2026-03-18 09:00", "Exactly two days before"),
        "articles/d.md": en("old", "2026-03-18 08:59", "A minute too old"),
        "articles/e.zh.md": article(title="澜海新闻", date="2026-03-19 12:00", slug="zh-only", lang="zh",
                                    category="News", topics="公共交通", editors="王思琪"),
    }


def read_news(path: Path) -> list[dict]:
    root = ET.parse(str(path)).getroot()
    return [
        {
            "loc": url.findtext("sm:loc", namespaces=NS),
            "name": url.findtext("news:news/news:publication/news:name", namespaces=NS),
            "language": url.findtext("news:news/news:publication/news:language", namespaces=NS),
            "date": url.findtext("news:news/news:publication_date", namespaces=NS),
            "title": url.findtext("news:news/news:title", namespaces=NS),
        }
        for url in root.findall("sm:url", NS)
    ]


def test_news_sitemap_holds_the_two_days_before_the_newest_article(tmp_path):
    site = make_site(tmp_path, news_files(), publish=True, SITEURL="https://news.example.org")
    news = read_news(site.output / "news-sitemap.xml")
    assert [n["loc"] for n in news] == [
        "https://news.example.org/2026/03/newest/",
        "https://news.example.org/zh/2026/03/zh-only/",
        "https://news.example.org/2026/03/yesterday/",
        "https://news.example.org/2026/03/edge/",
    ]
    assert news[0] == {"loc": "https://news.example.org/2026/03/newest/", "name": "Lanhai Policy News",
                       "language": "en", "date": "2026-03-20T09:00:00+08:00", "title": "Newest & <best> news"}
    assert news[1]["language"] == "zh-cn" and news[1]["name"] == "澜海政策新闻"
    # the escaping is the XML library's: the raw file holds entities, not markup
    assert "Newest &amp; &lt;best&gt; news" in (site.output / "news-sitemap.xml").read_text(encoding="utf-8")


def test_news_sitemap_is_capped_and_the_same_on_every_build(tmp_path):
    capped = make_site(tmp_path / "a", news_files(), DISCOVERY_NEWS_MAX=2)
    assert [n["loc"].rsplit("/", 2)[-2] for n in read_news(capped.output / "news-sitemap.xml")] == ["newest", "zh-only"]
    again = make_site(tmp_path / "b", news_files(), DISCOVERY_NEWS_MAX=2)
    for name in ("news-sitemap.xml", "sitemap.xml", "robots.txt"):
        assert (capped.output / name).read_bytes() == (again.output / name).read_bytes(), name


def test_sample_news_sitemap_is_valid_and_recent(published_site):
    news = read_news(published_site / "news-sitemap.xml")
    assert 1 <= len(news) <= 1000
    assert news[0]["loc"] == PUBLISH_BASE + "2026/11/home-care-beds-plan/"
    dates = [datetime.fromisoformat(n["date"]) for n in news]
    assert max(dates) - min(dates) <= __import__("datetime").timedelta(days=2)
    assert all(n["language"] in ("en", "zh-cn") and n["title"] and n["name"] for n in news)


@pytest.mark.parametrize("which", ["sample_site", "published_site"])
def test_robots_txt_names_both_sitemaps_with_absolute_urls(request, which):
    site = request.getfixturevalue(which)
    lines = (site / "robots.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "User-agent: *"
    base = base_of(site)
    assert f"Sitemap: {base}sitemap.xml" in lines
    assert f"Sitemap: {base}news-sitemap.xml" in lines


def test_a_large_site_gets_a_sitemap_index(tmp_path, monkeypatch):
    import discovery.sitemaps as sitemaps

    monkeypatch.setattr(sitemaps, "MAX_URLS_PER_SITEMAP", 10)
    site = make_site(tmp_path, news_files())
    root = ET.parse(str(site.output / "sitemap.xml")).getroot()
    assert root.tag == f"{{{NS['sm']}}}sitemapindex"
    parts = [loc.text for loc in root.findall("sm:sitemap/sm:loc", NS)]
    assert parts and all(re.fullmatch(re.escape(DEV_BASE) + r"sitemap-\d+\.xml", p) for p in parts)
    listed = set()
    for part in parts:
        listed |= set(parse_sitemap(site.output / part.rsplit("/", 1)[1]))
    assert listed == {DEV_BASE + page for page in html_pages(site.output)}


# --------------------------------------------------------------------------- feeds


def rss_feeds(site: Path) -> list[Path]:
    return sorted(site.glob("feeds/*.rss.xml")) + sorted(site.glob("**/sections/*/feed.rss.xml"))


def test_rss_feeds_parse_without_errors(published_site):
    feeds = rss_feeds(published_site)
    names = {p.relative_to(published_site).as_posix() for p in feeds}
    assert {"feeds/all.rss.xml", "feeds/en.rss.xml", "feeds/zh.rss.xml", "sections/news/feed.rss.xml",
            "zh/sections/news/feed.rss.xml"} <= names
    for path in feeds:
        parsed = feedparser.parse(str(path))
        assert not parsed.bozo, f"{path}: {parsed.get('bozo_exception')}"
        assert parsed.version == "rss20"
        assert parsed.entries, path
        for entry in parsed.entries:
            assert entry.link.startswith(PUBLISH_BASE), entry.link


def test_atom_feeds_validate(published_site):
    feeds = sorted(published_site.glob("feeds/*.atom.xml")) + sorted(published_site.glob("**/sections/*/feed.atom.xml"))
    assert len(feeds) >= 5
    for path in feeds:
        errors = checkers.validate_atom(path)
        assert errors == [], f"{path}: {errors}"


def test_section_feeds_hold_the_sections_articles_in_that_language(published_site):
    news_en = feedparser.parse(str(published_site / "sections/news/feed.rss.xml"))
    news_zh = feedparser.parse(str(published_site / "zh/sections/news/feed.atom.xml"))
    links_en = {e.link for e in news_en.entries}
    links_zh = {e.link for e in news_zh.entries}
    assert PUBLISH_BASE + "2025/06/metro-line-4-opens/" in links_en
    assert PUBLISH_BASE + "zh/2025/06/metro-line-4-opens/" in links_zh
    assert all("/zh/" not in link for link in links_en)
    assert all("/zh/" in link for link in links_zh)
    # an Interpretation article is not in the News feed
    assert PUBLISH_BASE + "2026/04/bus-network-redesign/" not in links_en
    assert news_zh.feed.title == "澜海政策新闻：新闻"


def test_pages_link_their_feeds(published_site):
    home = BeautifulSoup((published_site / "zh/index.html").read_text(encoding="utf-8"), "html.parser")
    rss = home.find("link", attrs={"type": "application/rss+xml"})
    assert rss["href"] == PUBLISH_BASE + "feeds/zh.rss.xml"
    section = BeautifulSoup((published_site / "sections/news/index.html").read_text(encoding="utf-8"), "html.parser")
    hrefs = {link["href"] for link in section.find_all("link", rel="alternate")}
    assert {PUBLISH_BASE + "sections/news/feed.atom.xml", PUBLISH_BASE + "sections/news/feed.rss.xml"} <= hrefs
    for href in hrefs:
        assert (published_site / href[len(PUBLISH_BASE):]).is_file(), href
