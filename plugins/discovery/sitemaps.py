"""sitemap.xml, news-sitemap.xml and robots.txt from the pages the writer wrote (collected in memory)."""

from __future__ import annotations

import fnmatch
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XHTML_NS = "http://www.w3.org/1999/xhtml"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
# The sitemap protocol's limit per file; beyond it sitemap.xml becomes an index of sitemap-N.xml files.
MAX_URLS_PER_SITEMAP = 50_000

ET.register_namespace("", SITEMAP_NS)
ET.register_namespace("xhtml", XHTML_NS)
ET.register_namespace("news", NEWS_NS)


@dataclass
class PageEntry:
    """One written page: where it is, its language, when its content last changed, what it translates."""

    url: str
    lang: str
    lastmod: object = None
    translations: dict[str, str] = field(default_factory=dict)  # lang -> url, for articles and pages
    listing: bool = False  # a per-language listing page: its counterparts share the path after the prefix
    article: object = None


def newest(items) -> object:
    dates = [getattr(i, "modified", None) or getattr(i, "date", None) for i in items or []]
    dates = [d for d in dates if d is not None]
    return max(dates) if dates else None


class Collector:
    """What ``content_written`` reported for one build, keyed by site-relative URL."""

    def __init__(self, root: Path, settings: dict, options: dict, written_under: str | None = None):
        self.root = root  # resolved
        # How written paths start: the output path as given (perhaps through a symbolic link) and resolved.
        folders = (written_under or str(root), str(root))
        self.root_prefixes = tuple(dict.fromkeys(os.path.join(folder, "") for folder in folders))
        # fnmatch's rule, compiled once: every written page is tested
        self.excluded = re.compile("|".join(fnmatch.translate(os.path.normcase(pattern))
                                            for pattern in options["DISCOVERY_SITEMAP_EXCLUDE"]) or "(?!)")
        self.settings = settings
        self.options = options
        self.default_lang = settings["DEFAULT_LANG"]
        self.languages = list(settings["PORTAL_LANGUAGES"])
        self.pages: dict[str, PageEntry] = {}

    def prefix(self, lang: str) -> str:
        return "" if lang == self.default_lang else f"{lang}/"

    def relative(self, absolute: str) -> str | None:
        """The site-relative path of a written file (``absolute``: an absolute path), None when outside the root."""
        for prefix in self.root_prefixes:
            if absolute.startswith(prefix):
                return absolute[len(prefix):].replace(os.sep, "/")
        return None

    def add(self, relative: str, context: dict) -> None:
        """Record the page written to ``relative`` (site-relative, ``/``-separated) with its template context."""
        if not relative.endswith(".html"):
            return
        if self.excluded.match(os.path.normcase(relative)):
            return
        url = relative[: -len("index.html")] if relative.endswith("index.html") else relative
        output_file = context.get("output_file")
        item = None
        for name in ("article", "page"):
            candidate = context.get(name)
            if candidate is not None and getattr(candidate, "save_as", None) == output_file:
                item = candidate
                break
        if item is not None:
            # Pages without a date get the newest article's date when the sitemap is written.
            entry = PageEntry(url, item.lang, getattr(item, "modified", None) or getattr(item, "date", None))
            entry.translations = {t.lang: t.url for t in getattr(item, "translations", [])}
            entry.translations[item.lang] = item.url
            entry.article = item if context.get("article") is item else None
        else:
            lang = context.get("page_lang") or self.default_lang
            page = context.get("articles_page")
            items = page.object_list if page is not None else context.get("articles")
            entry = PageEntry(url, lang, newest(items), listing=bool(context.get("page_lang")))
        self.pages[url] = entry

    def alternates(self, entry: PageEntry) -> dict[str, str]:
        """Language -> URL of the same page in each language that has it (empty when only one does)."""
        found: dict[str, str] = {}
        if entry.listing:
            own = self.prefix(entry.lang)
            rest = entry.url[len(own):] if entry.url.startswith(own) else entry.url
            for lang in self.languages:
                other = self.pages.get(self.prefix(lang) + rest)
                if other is not None and other.listing and other.lang == lang:
                    found[lang] = other.url
        else:
            for lang, url in entry.translations.items():
                other = self.pages.get(url)
                if other is not None and other.lang == lang:
                    found[lang] = url
        return found if len(found) > 1 else {}


def absolute(base: str, url: str) -> str:
    return base + quote(url)


def w3c_datetime(value) -> str:
    return value.isoformat(timespec="seconds")


def write_xml(root: ET.Element, path: Path) -> None:
    ET.indent(root)
    tree = ET.ElementTree(root)
    with open(path, "wb") as handle:
        tree.write(handle, encoding="utf-8", xml_declaration=True)
        handle.write(b"\n")


def xml_text(value: str) -> str:
    """``value`` escaped for XML text as ElementTree escapes it."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_attribute(value: str) -> str:
    """``value`` escaped for a double-quoted XML attribute as ElementTree escapes it."""
    return (xml_text(value).replace('"', "&quot;").replace("\r", "&#13;").replace("\n", "&#10;")
            .replace("\t", "&#09;"))


def url_lines(collector: Collector, entry: PageEntry, base: str, site_newest) -> list[str]:
    """One ``<url>`` of sitemap.xml, as ``write_xml`` would lay it out (two-space indent, one element a line)."""
    lines = ["  <url>", f"    <loc>{xml_text(absolute(base, entry.url))}</loc>"]
    lastmod = entry.lastmod or site_newest
    if lastmod is not None:
        lines.append(f"    <lastmod>{xml_text(w3c_datetime(lastmod))}</lastmod>")
    locales = collector.settings["PORTAL_LANGUAGES"]
    for lang, url in sorted(collector.alternates(entry).items()):
        lines.append(f'    <xhtml:link rel="alternate" hreflang="{xml_attribute(locales[lang]["locale"])}" '
                     f'href="{xml_attribute(absolute(base, url))}" />')
    lines.append("  </url>")
    return lines


def write_urlset(collector: Collector, entries: list[PageEntry], base: str, site_newest, path: Path) -> None:
    """A sitemap's ``<urlset>``, the bytes ``write_xml`` gives for it, written as text: ElementTree took a third of
    a second for the 20,000 pages of a 10,000-article site, in the build's last step, on one core."""
    urls = [line for entry in entries for line in url_lines(collector, entry, base, site_newest)]
    namespaces = f'xmlns="{SITEMAP_NS}"' + (f' xmlns:xhtml="{XHTML_NS}"' if any("<xhtml:" in line for line in urls)
                                            else "")
    text = "\n".join(["<?xml version='1.0' encoding='utf-8'?>", f"<urlset {namespaces}>", *urls, "</urlset>"]) \
        if urls else f"<?xml version='1.0' encoding='utf-8'?>\n<urlset {namespaces} />"
    path.write_text(text + "\n", encoding="utf-8")


def write_sitemap(collector: Collector, base: str, output: Path) -> None:
    """Write sitemap.xml, or, past the protocol's limit, sitemap.xml as an index of sitemap-N.xml parts."""
    entries = [collector.pages[url] for url in sorted(collector.pages)]
    site_newest = newest([e.article for e in entries if e.article is not None])
    chunks = [entries[i: i + MAX_URLS_PER_SITEMAP] for i in range(0, len(entries), MAX_URLS_PER_SITEMAP)] or [[]]
    names = ["sitemap.xml"] if len(chunks) == 1 else [f"sitemap-{n}.xml" for n in range(1, len(chunks) + 1)]
    for name, chunk in zip(names, chunks):
        write_urlset(collector, chunk, base, site_newest, output / name)
    if len(chunks) > 1:
        index = ET.Element(f"{{{SITEMAP_NS}}}sitemapindex")
        for name in names:
            sitemap = ET.SubElement(index, f"{{{SITEMAP_NS}}}sitemap")
            ET.SubElement(sitemap, f"{{{SITEMAP_NS}}}loc").text = absolute(base, name)
            if site_newest is not None:
                ET.SubElement(sitemap, f"{{{SITEMAP_NS}}}lastmod").text = w3c_datetime(site_newest)
        write_xml(index, output / "sitemap.xml")


def news_articles(collector: Collector) -> list:
    """Articles published within DISCOVERY_NEWS_DAYS of the newest one (never the wall clock), newest first."""
    articles = [e.article for e in collector.pages.values() if e.article is not None]
    if not articles:
        return []
    cutoff = max(a.date for a in articles) - timedelta(days=collector.options["DISCOVERY_NEWS_DAYS"])
    recent = sorted((a for a in articles if a.date >= cutoff), key=lambda a: (-a.date.timestamp(), a.url))
    return recent[: collector.options["DISCOVERY_NEWS_MAX"]]


def write_news_sitemap(collector: Collector, base: str, output: Path) -> None:
    settings = collector.settings
    urlset = ET.Element(f"{{{SITEMAP_NS}}}urlset")
    for article in news_articles(collector):
        url = ET.SubElement(urlset, f"{{{SITEMAP_NS}}}url")
        ET.SubElement(url, f"{{{SITEMAP_NS}}}loc").text = absolute(base, article.url)
        news = ET.SubElement(url, f"{{{NEWS_NS}}}news")
        publication = ET.SubElement(news, f"{{{NEWS_NS}}}publication")
        name = settings.get(f"SITENAME_{article.lang.upper()}") or settings["SITENAME"]
        ET.SubElement(publication, f"{{{NEWS_NS}}}name").text = name
        language = settings["PORTAL_LANGUAGES"][article.lang]["locale"].lower()
        ET.SubElement(publication, f"{{{NEWS_NS}}}language").text = language
        ET.SubElement(news, f"{{{NEWS_NS}}}publication_date").text = w3c_datetime(article.date)
        ET.SubElement(news, f"{{{NEWS_NS}}}title").text = article.title
    write_xml(urlset, output / "news-sitemap.xml")


def write_robots(collector: Collector, base: str, output: Path, sitemaps: list[str]) -> None:
    root_path = urlsplit(base).path or "/"
    lines = ["User-agent: *"]
    lines += [f"Disallow: {root_path}{path}" for path in collector.options["DISCOVERY_ROBOTS_DISALLOW"]]
    lines.append("")
    lines += [f"Sitemap: {absolute(base, name)}" for name in sitemaps]
    (output / "robots.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_discovery_files(collector: Collector, base: str) -> None:
    output = collector.root
    write_sitemap(collector, base, output)
    write_news_sitemap(collector, base, output)
    write_robots(collector, base, output, ["sitemap.xml", "news-sitemap.xml"])
