"""The generated nginx snippet (`_nginx.conf`, plugins/publishing/hosting.py) under Debian's real nginx.

Each test server is `/usr/sbin/nginx` on 127.0.0.1 with a throwaway nginx.conf whose `server` block is the one the
snippet documents (`root <site>; include <site>/_nginx.conf;`): `nginx -t` must accept it, then the real response
headers are checked over HTTP (security headers on every response, including content-hashed assets, where nginx
drops inherited `add_header` lines; one-year caching only for hashed assets; charsets; 404s), and real Chromium
loads pages and runs a Pagefind search from nginx without a single Content-Security-Policy violation.

Deliberately broken snippets, served the same way, prove that the checks fail when the snippet is wrong.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from tests.support import checkers
from tests.support.sites import REPO_ROOT
from tests.test_publishing import csp_messages, free_port

sys.path.insert(0, str(REPO_ROOT / "plugins"))
from publishing import deploy, hosting  # noqa: E402

NGINX = "/usr/sbin/nginx"
POLICY = hosting.HostingPolicy()
SECURITY_HEADERS = POLICY.security_headers()
PAGES = ("", "zh/", "search/", "topics/")  # plus one article page in each language, found in the output


def nginx_conf(workdir: Path, root: Path, snippet: Path, port: int, server_lines: str = "") -> Path:
    """A complete nginx.conf: everything nginx writes (pid, logs, temp files) stays in `workdir`, no daemon.

    The http block is Debian's usual one (`include /etc/nginx/mime.types`), the server block the one the
    snippet's header comment and the README describe, plus `server_lines` (a site's own directives).
    """
    conf = workdir / "nginx.conf"
    temp_paths = "".join(
        f"    {name}_temp_path {workdir / name};\n" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root, nginx's workers would run as `nobody`, who cannot read pytest's private temporary folders.
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf.write_text(
        f"{user}pid {workdir / 'nginx.pid'};\n"
        f"error_log {workdir / 'error.log'} warn;\n"
        "worker_processes 1;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        "    include /etc/nginx/mime.types;\n"
        "    default_type application/octet-stream;\n"
        f"    access_log {workdir / 'access.log'};\n"
        f"{temp_paths}"
        "    server {\n"
        f"        listen 127.0.0.1:{port};\n"
        f"        root {root};\n"
        f"        include {snippet};\n"
        f"{server_lines}"
        "    }\n"
        "}\n",
        encoding="utf-8",
    )
    return conf


def nginx_command(conf: Path, *args: str) -> list[str]:
    # -p and -e: nothing is read from or written to /etc/nginx or /var/log/nginx (works without root).
    return [NGINX, "-p", f"{conf.parent}/", "-e", str(conf.parent / "error.log"), "-c", str(conf), *args]


def check_config(conf: Path) -> str:
    """`nginx -t`: the whole configuration, snippet included, must parse; returns nginx's message."""
    proc = subprocess.run(nginx_command(conf, "-t"), capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, f"nginx -t rejected the configuration:\n{proc.stderr}\n{conf.read_text()}"
    return proc.stderr


@contextlib.contextmanager
def running_nginx(workdir: Path, root: Path, snippet: Path | None = None, port: int | None = None,
                  server_lines: str = "") -> Iterator[str]:
    """nginx serving `root` with `snippet` (default: the site's own `_nginx.conf`); yields the base URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    conf = nginx_conf(workdir, root, snippet or root / hosting.NGINX_FILE, port, server_lines)
    check_config(conf)
    server = subprocess.Popen(
        nginx_command(conf, "-g", "daemon off;"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        checkers.wait_until_listening(port, server, "nginx", workdir / "error.log")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.send_signal(signal.SIGTERM)  # fast shutdown: the master stops its worker, then exits
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def fetch(url: str) -> tuple[int, object, bytes]:
    """(status, headers, body) of a GET, 4xx/5xx included."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def header_problems(
    base: str, path: str, cache: str | None, content_type: str | None = None, status: int = 200
) -> list[str]:
    """Everything wrong with nginx's response for `path`: one line each, empty when all is right.

    The response has `status` and carries each security header exactly once; `cache` is the Cache-Control
    expected (None: any); `content_type` the expected Content-Type (None: not checked).
    """
    answered, headers, _ = fetch(f"{base}/{path}")
    problems = [] if answered == status else [f"/{path}: status {answered}, expected {status}"]
    status = answered
    for name, value in SECURITY_HEADERS.items():
        sent = headers.get_all(name) or []
        if sent != [value]:
            problems.append(f"/{path} ({status}): {name} is {sent!r}, expected [{value!r}]")
    caches, sent_type = headers.get_all("Cache-Control"), headers.get("Content-Type")
    if cache is not None and caches != [cache]:
        problems.append(f"/{path} ({status}): Cache-Control is {caches!r}, expected {cache!r}")
    if content_type is not None and sent_type != content_type:
        problems.append(f"/{path} ({status}): Content-Type is {sent_type!r}, expected {content_type!r}")
    return problems


def article_paths(site: Path) -> list[str]:
    """One article page in each language, as site-relative directory URLs."""
    found = [next(site.glob("20*/*/*/index.html")), next(site.glob("zh/20*/*/*/index.html"))]
    return [p.relative_to(site).parent.as_posix() + "/" for p in found]


# nginx's own types (Debian's mime.types) plus the snippet's `charset utf-8` for text.
NGINX_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "application/javascript; charset=utf-8",
    ".svg": "image/svg+xml; charset=utf-8",
}


def hashed_asset_problems(base: str, site: Path) -> list[str]:
    problems = []
    for relative in sorted(deploy.hashed_assets(site)):
        expected_type = NGINX_TYPES.get(Path(relative).suffix)
        problems += header_problems(base, relative, hosting.LONG_CACHE, expected_type)
    return problems


# --------------------------------------------------------------------------- the published sample site


@pytest.fixture(scope="module")
def nginx_published(published_site, tmp_path_factory) -> Iterator[str]:
    with running_nginx(tmp_path_factory.mktemp("nginx-published"), published_site) as base:
        yield base


def test_nginx_accepts_the_snippet_as_documented(published_site, tmp_path):
    snippet = (published_site / hosting.NGINX_FILE).read_text(encoding="utf-8")
    # The include the snippet's own header comment documents is the one these tests use.
    assert "include /srv/<site>/current/_nginx.conf;" in snippet
    message = check_config(nginx_conf(tmp_path, published_site, published_site / hosting.NGINX_FILE, free_port()))
    assert "syntax is ok" in message and "test is successful" in message, message
    # Not one warning (e.g. a duplicate MIME type or an ignored directive) either.
    assert "[warn]" not in message and "[emerg]" not in message, message


def test_nginx_pages_have_security_headers_short_cache_and_utf8(published_site, nginx_published):
    # One policy for every host: what nginx is expected to send is what `_headers` gives Netlify and Cloudflare.
    rules = hosting.parse_headers_file((published_site / hosting.HEADERS_FILE).read_text(encoding="utf-8"))
    assert dict(hosting.headers_from_rules(rules, "/index.html")) == SECURITY_HEADERS
    pages = [*PAGES, *article_paths(published_site)]
    problems = []
    for path in pages:
        assert (published_site / path / "index.html").is_file(), path
        problems += header_problems(nginx_published, path, hosting.SHORT_CACHE, "text/html; charset=utf-8")
    assert problems == [], "\n".join(problems)
    status, headers, body = fetch(f"{nginx_published}/{article_paths(published_site)[0]}")
    assert status == 200 and body == (published_site / article_paths(published_site)[0] / "index.html").read_bytes()
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "immutable" not in headers["Cache-Control"]


def test_nginx_hashed_assets_are_immutable_and_keep_the_security_headers(published_site, nginx_published):
    hashed = sorted(deploy.hashed_assets(published_site))
    hashed_css = [p for p in hashed if re.fullmatch(r"theme/css/[\w-]+\.[0-9a-f]{8}\.css", p)]
    assert hashed_css and any(p.endswith(".js") for p in hashed), hashed
    problems = hashed_asset_problems(nginx_published, published_site)
    assert problems == [], "\n".join(problems)
    status, _, body = fetch(f"{nginx_published}/{hashed_css[0]}")
    assert status == 200 and body == (published_site / hashed_css[0]).read_bytes()
    # The unhashed copy (same bytes, a name that never changes) is cached briefly.
    unhashed = re.sub(r"\.[0-9a-f]{8}(\.css)$", r"\1", hashed_css[0])
    assert header_problems(nginx_published, unhashed, hosting.SHORT_CACHE, "text/css; charset=utf-8") == []


def test_nginx_other_files_types_and_charsets(published_site, nginx_published):
    expected = {
        "pagefind/pagefind.js": ("application/javascript; charset=utf-8", hosting.SHORT_CACHE),
        "feeds/en.atom.xml": ("text/xml; charset=utf-8", hosting.SHORT_CACHE),
        "sitemap.xml": ("text/xml; charset=utf-8", hosting.SHORT_CACHE),
        "robots.txt": ("text/plain; charset=utf-8", hosting.SHORT_CACHE),
    }
    problems = []
    for path, (content_type, cache) in expected.items():
        assert (published_site / path).is_file(), path
        problems += header_problems(nginx_published, path, cache, content_type)
    assert problems == [], "\n".join(problems)


def test_nginx_missing_page_and_hosting_files_are_404_with_headers(published_site, nginx_published):
    # A missing address gets status 404 and the site's not-found page of its language folder (reader_features),
    # with the policy's headers (`always`: error responses carry them too); so do the two hosting files.
    english = (published_site / "404.html").read_bytes()
    chinese = (published_site / "zh" / "404.html").read_bytes()
    answers = {"no-such-page/": english, "2026/01/no-such-article/": english, "zh/2026/01/no-such-article/": chinese,
               "zh/no-such-page": chinese, hosting.HEADERS_FILE: english, hosting.NGINX_FILE: english}
    for path, page in answers.items():
        status, _, body = fetch(f"{nginx_published}/{path}")
        assert status == 404, (path, status)
        assert body == page, f"/{path}: not the not-found page of its language"
        assert b"add_header" not in body and b"Content-Security-Policy" not in body, "a hosting file was served"
        assert header_problems(nginx_published, path, None, "text/html; charset=utf-8", status=404) == []
    assert (published_site / hosting.NGINX_FILE).is_file() and (published_site / hosting.HEADERS_FILE).is_file()
    # The not-found page itself, asked for by name, is a page like any other.
    status, _, body = fetch(f"{nginx_published}/404.html")
    assert status == 200 and body == english


def test_the_not_found_pages_work_beside_a_server_blocks_own_locations(published_site, tmp_path):
    """The snippet adds no location for the not-found pages: a site's server block that has its own `location /zh/`
    (and `location /`) still passes `nginx -t`, and its missing addresses still get their language's page."""
    own = ("        location / { try_files $uri $uri/ =404; }\n"
           "        location /zh/ { try_files $uri $uri/ =404; }\n")
    english = (published_site / "404.html").read_bytes()
    chinese = (published_site / "zh" / "404.html").read_bytes()
    with running_nginx(tmp_path / "nginx", published_site, server_lines=own) as base:
        for path, page in (("no-such-page/", english), ("zh/2026/01/no-such-article/", chinese)):
            status, _, body = fetch(f"{base}/{path}")
            assert (status, body == page) == (404, True), path
            assert header_problems(base, path, None, "text/html; charset=utf-8", status=404) == []
        assert fetch(f"{base}/zh/")[0] == 200


# --------------------------------------------------------------------------- the checks fail on a broken snippet


def without_security_headers_in_locations(snippet: str) -> str:
    """The classic mistake: hashed-asset locations set only Cache-Control, so nginx drops the inherited headers."""
    return re.sub(r"^    add_header (?!Cache-Control).*\n", "", snippet, flags=re.M)


BROKEN_SNIPPETS = {
    "location drops the security headers": (
        without_security_headers_in_locations,
        "hashed",
        "Content-Security-Policy is []",
    ),
    "no long cache for hashed assets": (
        lambda s: s.replace(hosting.LONG_CACHE, hosting.SHORT_CACHE),
        "hashed",
        f"Cache-Control is ['{hosting.SHORT_CACHE}']",
    ),
    "no charset": (lambda s: s.replace("charset utf-8;\n", ""), "pages", "Content-Type is 'text/html'"),
    "no X-Content-Type-Options": (
        lambda s: re.sub(r"^add_header X-Content-Type-Options.*\n", "", s, flags=re.M),
        "pages",
        "X-Content-Type-Options is []",
    ),
}


@pytest.mark.parametrize("breakage", sorted(BROKEN_SNIPPETS))
def test_nginx_checks_catch_a_broken_snippet(published_site, tmp_path, breakage):
    change, checked, expected_problem = BROKEN_SNIPPETS[breakage]
    snippet = (published_site / hosting.NGINX_FILE).read_text(encoding="utf-8")
    broken = change(snippet)
    assert broken != snippet, "the breakage no longer applies to the generated snippet"
    (tmp_path / "broken.conf").write_text(broken, encoding="utf-8")
    with running_nginx(tmp_path / "nginx", published_site, tmp_path / "broken.conf") as base:
        if checked == "hashed":
            problems = hashed_asset_problems(base, published_site)
        else:
            problems = header_problems(base, "", hosting.SHORT_CACHE, "text/html; charset=utf-8")
    assert any(expected_problem in p for p in problems), problems


# --------------------------------------------------------------------------- real Chromium, from nginx

# Runs in every document before its own scripts (CDP injects it outside the page's CSP) and records each
# violation the browser reports to the page.
VIOLATION_RECORDER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI || '(inline)'}`
    + ` in ${event.sourceFile || event.documentURI}:${event.lineNumber}`);
});
"""


@pytest.fixture(scope="module")
def nginx_loopback_site(tmp_path_factory) -> Iterator[tuple[str, Path, Path]]:
    """The sample content built for nginx's own origin (SITEURL=http://127.0.0.1:<port>), so every page links
    its scripts, styles and search index on that server; yields (base URL, output folder, nginx workdir)."""
    root = tmp_path_factory.mktemp("nginx-origin")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SITEURL", base)
        deploy.build_site(REPO_ROOT / "publishconf.py", root / "site", cache=root / "cache")
    # A page with an inline script: it must be blocked, and the block reported, or the recorder proves nothing.
    (root / "site" / "csp-canary.html").write_text(
        '<!doctype html><html lang="en"><title>canary</title><script>document.title="ran"</script></html>',
        encoding="utf-8",
    )
    yield base, root / "site", root


@pytest.fixture
def violation_recorder(browser):
    added = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": VIOLATION_RECORDER})
    # Earlier tests may have left responses in the cache with other headers; everything here comes from nginx.
    browser.execute_cdp_cmd("Network.clearBrowserCache", {})
    browser.get_log("browser")  # drop what earlier tests left
    try:
        yield browser
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": added["identifier"]})


def violations(browser) -> list[str]:
    recorded = browser.execute_script("return window.__cspViolations || null")
    assert recorded is not None, "the violation recorder did not run in this page"
    return recorded + csp_messages(browser)


def wait_for_search_results(browser, base: str, query: str = "metro") -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{base}/search/?q={query}")
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".app-search__result"))


def test_nginx_site_runs_in_chromium_without_csp_violations(nginx_loopback_site, violation_recorder):
    base, site, workdir = nginx_loopback_site
    browser = violation_recorder
    port = int(base.rsplit(":", 1)[1])  # the site was built for this origin
    with running_nginx(workdir / "nginx", site, port=port):
        browser.get(f"{base}/csp-canary.html")
        assert browser.title == "canary", "the inline script ran: nginx sent no Content-Security-Policy"
        assert any("script-src" in v for v in violations(browser)), "a blocked inline script must be reported"

        # ... and a missing address, at depth: the not-found page nginx answers with loads the same scripts and
        # styles (its links cannot be relative to the address it answers).
        for path in ["", *article_paths(site), "2026/01/no-such-article/", "zh/2026/no-such-page"]:
            browser.get(f"{base}/{path}")
            browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
            time.sleep(0.2)  # deferred scripts, lazy images
            assert violations(browser) == [], path
            assert browser.execute_script("return document.documentElement.classList.contains('js')"), (
                f"/{path}: portal.js did not run under the policy"
            )
            loaded = browser.execute_script(
                "return [...document.styleSheets].map(s => s.href).concat("
                "performance.getEntriesByType('resource').map(e => e.name))"
            )
            assert any(u and re.search(r"/theme/css/portal\.[0-9a-f]{8}\.css$", u) for u in loaded), loaded
            assert all(u is None or u.startswith(base + "/") for u in loaded), f"/{path} loaded from elsewhere"

        # Search runs search.js, pagefind.js and Pagefind's WebAssembly: the part the policy could break.
        wait_for_search_results(browser, base)
        assert violations(browser) == [], "/search/?q=metro"
        # Pagefind works in a Web Worker (whose violations reach the console log, not the page's recorder):
        # nginx's own access log shows it fetched its WebAssembly and index from this server.
        requested = (workdir / "nginx" / "access.log").read_text(encoding="utf-8")
        for wanted in ("/pagefind/pagefind-worker.js", "/pagefind/wasm.en.pagefind", ".pf_index", ".pf_fragment"):
            assert re.search(rf'"GET \S*{re.escape(wanted)}\S* HTTP/1\.1" 200 ', requested), wanted

    # The same nginx without 'wasm-unsafe-eval': Pagefind cannot compile its WebAssembly, and the recorder says so.
    tighter = (site / hosting.NGINX_FILE).read_text(encoding="utf-8").replace(" 'wasm-unsafe-eval'", "")
    (workdir / "tighter.conf").write_text(tighter, encoding="utf-8")
    browser.execute_cdp_cmd("Network.clearBrowserCache", {})
    with running_nginx(workdir / "nginx-tighter", site, workdir / "tighter.conf", port=port):
        browser.get(f"{base}/search/?q=metro")
        time.sleep(3)
        found = violations(browser)
        assert any("wasm" in v.lower() or "WebAssembly" in v for v in found), found
