"""HTTP headers of the public site: one policy, rendered for every host the site can live on.

The same rules feed the generated `_headers` file (Netlify, Cloudflare Pages and compatible hosts), the nginx
snippet, the S3 object metadata set by the deployer, and the loopback server the tests load the site through, so
what the browser test proves is what the hosts send.

Caching: files with a content hash in their name (``portal.1a2b3c4d.css``, written by this plugin) never change
under their name, so they are cached for a year and marked immutable; everything else (HTML, feeds, images, the
search index) is cached briefly, so a publish shows within minutes.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

# Files the deployer writes next to the site, never part of what visitors request (see register() docs).
HEADERS_FILE = "_headers"
NGINX_FILE = "_nginx.conf"
HOSTING_FILES = (HEADERS_FILE, NGINX_FILE)

LONG_CACHE = "public, max-age=31536000, immutable"
SHORT_CACHE = "public, max-age=300"

DEFAULT_CSP = {
    "default-src": "'self'",
    # Pagefind search compiles its WebAssembly with the page's own file; nothing else needs more than 'self'.
    "script-src": "'self' 'wasm-unsafe-eval'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

# Content types with an explicit charset for text (S3 and nginx otherwise guess, or send none).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".xml": "application/xml",
    ".xsl": "application/xslt+xml",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".wasm": "application/wasm",
    ".pdf": "application/pdf",
}
ATOM_SUFFIX = ".atom.xml"
RSS_SUFFIX = ".rss.xml"

# name.<8 hex>.ext, the shape asset() gives hashed copies.
HASHED_NAME = re.compile(r"\.[0-9a-f]{8}\.[A-Za-z0-9]+$")


@dataclass(frozen=True)
class HostingPolicy:
    csp: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CSP))
    referrer_policy: str = "strict-origin-when-cross-origin"
    long_cache: str = LONG_CACHE
    short_cache: str = SHORT_CACHE

    @property
    def csp_header(self) -> str:
        return "; ".join(f"{name} {value}".strip() for name, value in self.csp.items())

    def security_headers(self) -> dict[str, str]:
        return {
            "Content-Security-Policy": self.csp_header,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": self.referrer_policy,
        }


def content_type(path: str) -> str:
    lower = path.lower()
    if lower.endswith(ATOM_SUFFIX):
        return "application/atom+xml; charset=utf-8"
    if lower.endswith(RSS_SUFFIX):
        return "application/rss+xml; charset=utf-8"
    return CONTENT_TYPES.get(posixpath.splitext(lower)[1], "application/octet-stream")


def is_hashed_asset(path: str, hashed_assets: frozenset[str] | set[str] | None = None) -> bool:
    """True for a content-hashed copy: one listed in `hashed_assets`, or (without a list) one named like it."""
    path = path.lstrip("/")
    if hashed_assets is not None:
        return path in hashed_assets
    return bool(HASHED_NAME.search(path))


def cache_control(path: str, policy: HostingPolicy, hashed_assets=None) -> str:
    return policy.long_cache if is_hashed_asset(path, hashed_assets) else policy.short_cache


def headers_for(path: str, policy: HostingPolicy, hashed_assets=None) -> dict[str, str]:
    """Every header the site sends for one file (path relative to the site root)."""
    return {
        "Content-Type": content_type(path),
        "Cache-Control": cache_control(path, policy, hashed_assets),
        **policy.security_headers(),
    }


# --------------------------------------------------------------------------- _headers


def render_headers_file(policy: HostingPolicy, hashed_assets: list[str]) -> str:
    """`_headers` (Netlify / Cloudflare Pages syntax).

    No two rules set the same header for one path: Cloudflare joins such values with commas and Netlify keeps the
    most specific one, so an overlap would mean different caching on different hosts. So `/*` carries only the
    security headers and each hashed asset gets its own Cache-Control rule; HTML and other files keep the host's
    default, which on both hosts is to revalidate (max-age=0, must-revalidate): short, as wanted.
    """
    lines = [
        "# Generated by the publishing plugin at build time; edit the PUBLISH_* settings, not this file.",
        "/*",
    ]
    lines += [f"  {name}: {value}" for name, value in policy.security_headers().items()]
    for path in sorted(hashed_assets):
        lines += [f"/{path}", f"  Cache-Control: {policy.long_cache}"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class HeaderRule:
    pattern: str
    headers: tuple[tuple[str, str], ...]

    def matches(self, url_path: str) -> bool:
        # `*` in a _headers path matches anything (including slashes), like the hosts' splat.
        return fnmatch.fnmatchcase(url_path, self.pattern.replace("[", "[[]"))


def parse_headers_file(text: str) -> list[HeaderRule]:
    """Parse `_headers`: a path line, then indented `Name: value` lines; `#` starts a comment line."""
    rules: list[HeaderRule] = []
    pattern, headers = None, []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if not raw[0].isspace():
            if pattern is not None:
                rules.append(HeaderRule(pattern, tuple(headers)))
            pattern, headers = raw.strip(), []
            continue
        name, sep, value = raw.strip().partition(":")
        if pattern is None or not sep or not name.strip():
            raise ValueError(f"{HEADERS_FILE}:{number}: expected an indented 'Name: value' line under a path")
        headers.append((name.strip(), value.strip()))
    if pattern is not None:
        rules.append(HeaderRule(pattern, tuple(headers)))
    return rules


def headers_from_rules(rules: list[HeaderRule], url_path: str) -> list[tuple[str, str]]:
    """All headers of every rule matching `url_path`, in file order (Cloudflare's semantics: rules add up)."""
    found: list[tuple[str, str]] = []
    for rule in rules:
        if rule.matches(url_path):
            found.extend(rule.headers)
    return found


# --------------------------------------------------------------------------- nginx


def _nginx_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_nginx_conf(policy: HostingPolicy, hashed_assets: list[str], not_found_pages: list[str] = ()) -> str:
    """An nginx snippet to `include` inside the site's `server { root .../current; }` block.

    nginx drops every inherited add_header in a location that has its own, so each hashed-asset location repeats
    the security headers. ``not_found_pages``: the site's not-found pages (``404.html``, ``zh/404.html``): a missing
    address is answered with the one of its language folder, else the root's (``$portal_not_found``, set by the
    address at the server level, so the snippet adds no location a server block could already have).
    """

    def header_lines(cache: str, indent: str) -> list[str]:
        items = {**policy.security_headers(), "Cache-Control": cache}
        return [f"{indent}add_header {name} {_nginx_quote(value)} always;" for name, value in items.items()]

    lines = [
        "# Generated by the publishing plugin at build time. Include it in the server block of the site:",
        "#   root /srv/<site>/current;  include /srv/<site>/current/_nginx.conf;",
        "# then `nginx -s reload` when it changes (the headers are the ones visitors already see; nothing secret).",
        "charset utf-8;",
        "charset_types text/css text/plain text/xml application/xml application/atom+xml application/json"
        " text/javascript application/javascript image/svg+xml;",
        "index index.html;",
        *header_lines(policy.short_cache, ""),
        "location ~ ^/_(headers|nginx\\.conf)$ { return 404; }",
    ]
    # Chosen by the address with a variable, not in a location of its own: a location would clash with one the
    # site's server block has (``location /zh/``: nginx -t fails), or take its requests away from it.
    pages = sorted(not_found_pages, key=lambda p: (p.count("/"), p))
    if pages:
        root_page = next((page for page in pages if "/" not in page), None)
        lines.append(f"set $portal_not_found /{root_page or pages[0]};")
        for page in pages:
            folder = page.rpartition("/")[0]
            if folder:
                lines.append(f"if ($uri ~ {_nginx_quote('^/' + re.escape(folder) + '/')}) "
                             f"{{ set $portal_not_found /{page}; }}")
        lines.append("error_page 404 $portal_not_found;")
    for path in sorted(hashed_assets):
        lines.append(f"location = /{path} {{")
        lines += header_lines(policy.long_cache, "    ")
        lines.append("}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- missing addresses


def not_found_page(root: Path, url_path: str) -> Path | None:
    """The page a host answers the missing address ``url_path`` with, as the nginx snippet and Cloudflare Pages
    do: the not-found page of its first folder (a language's, ``zh/404.html``), else the site's (``404.html``);
    None when the site has neither. Netlify and GitHub Pages serve ``404.html`` alone."""
    first = next((word for word in unquote(url_path.split("?", 1)[0]).split("/") if word), "")
    candidates = [root / first / "404.html"] if first not in ("", ".", "..") else []
    for page in [*candidates, root / "404.html"]:
        if page.is_file():
            return page
    return None
