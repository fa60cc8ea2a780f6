"""A fast internal link check over a built site: every link, script, stylesheet and image that points into the
site must name a file in the output, and a `#fragment` must name an id on the target page.

Runs on the files (no server): a link to `SITEURL/...`, a root-relative `/...` or a relative URL is internal; a
folder URL is served by its `index.html`. External links are not followed (publishing must not depend on other
sites being up). Problems come back as `path:line: message` lines, sorted.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

# Attributes holding one URL, per element; srcset holds several.
URL_ATTRIBUTES = {
    "a": ("href",),
    "area": ("href",),
    "link": ("href",),
    "script": ("src",),
    "img": ("src",),
    "source": ("src",),
    "audio": ("src",),
    "video": ("src", "poster"),
    "track": ("src",),
    "iframe": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "form": ("action",),
}
SRCSET_ELEMENTS = ("img", "source")
# Links that are not fetched from the site at all.
IGNORED_SCHEMES = ("mailto:", "tel:", "data:", "sms:", "javascript:")
# Stand-in origin for relative-URL (development) builds.
LOCAL_ORIGIN = "http://site.invalid"


class _PageParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[int, str]] = []
        self.ids: set[str] = set()
        self.base: str | None = None

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        line = self.getpos()[0]
        if values.get("id"):
            self.ids.add(values["id"])
        if tag == "a" and values.get("name"):
            self.ids.add(values["name"])
        if tag == "base" and values.get("href"):
            self.base = values["href"]
        for name in URL_ATTRIBUTES.get(tag, ()):
            if values.get(name):
                self.links.append((line, values[name].strip()))
        if tag in SRCSET_ELEMENTS and values.get("srcset"):
            for candidate in values["srcset"].split(","):
                url = candidate.strip().split(" ")[0]
                if url:
                    self.links.append((line, url))

    handle_startendtag = handle_starttag


def _parse(path: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return parser


def _page_url(origin: str, base_path: str, relative: str) -> str:
    url_path = relative[: -len("index.html")] if relative.endswith("index.html") else relative
    return f"{origin}{base_path}{url_path}"


def check_internal_links(output: Path, siteurl: str = "") -> list[str]:
    """Broken internal links in the HTML files of `output`, as `path:line: message` lines (empty: all good)."""
    output = Path(output)
    site = urlsplit(siteurl.rstrip("/") + "/") if siteurl else urlsplit(LOCAL_ORIGIN + "/")
    origin = f"{site.scheme}://{site.netloc}"
    base_path = site.path  # the site may live under a sub-path, e.g. https://host/portal/
    pages = {p.relative_to(output).as_posix(): p for p in sorted(output.rglob("*.html")) if p.is_file()}
    parsed: dict[str, _PageParser] = {}

    def page(relative: str) -> _PageParser:
        if relative not in parsed:
            parsed[relative] = _parse(pages[relative])
        return parsed[relative]

    problems: list[str] = []
    for relative in pages:
        parser = page(relative)
        page_url = _page_url(origin, base_path, relative)
        base_url = urljoin(page_url, parser.base) if parser.base else page_url
        for line, link in parser.links:
            if not link or link.lower().startswith(IGNORED_SCHEMES):
                continue
            target = urlsplit(urljoin(base_url, link))
            if f"{target.scheme}://{target.netloc}" != origin or not target.path.startswith(base_path):
                continue  # external
            if target.scheme not in ("http", "https"):
                continue
            inside = unquote(target.path[len(base_path):])
            candidates = [inside + "index.html"] if inside.endswith("/") or not inside else [inside, inside + "/index.html"]
            found = next((c for c in candidates if (output / c).is_file()), None)
            where = f"{relative}:{line}"
            if ".." in Path(inside).parts:
                problems.append(f"{where}: link {link!r} climbs out of the site")
            elif found is None:
                problems.append(f"{where}: broken link {link!r}: no file {candidates[0]!r} in the output")
            elif target.fragment and found in pages and unquote(target.fragment) not in page(found).ids:
                problems.append(f"{where}: link {link!r}: {found} has no element with id {unquote(target.fragment)!r}")
    return sorted(problems)
