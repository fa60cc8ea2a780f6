"""Hostile or malformed input never reaches a reader as code, nor leaks the build machine (issue 10)."""

from __future__ import annotations

import os
import time

import pytest
from bs4 import BeautifulSoup

from tests.support import checkers
from tests.support.sites import SiteBuildError, article, make_site

XSS_IMG = "<img src=x onerror=alert(1)>"
BREAKOUT = "\" onmouseover=\"alert(2)\" x=\"'><script>alert(3)</script>"
TITLE = "Mayor's \"plan\" & 100% <b>#1</b> </script><script>alert(4)</script> {{ SITENAME }} {% if 1 %}x{% endif %} 澜海"
BIDI = "Budget \u202eevil\u202c report\u2028next line"

HOSTILE_REGISTRY = {
    "officials/hostile-official.md": (
        f"Title: Hostile Official {XSS_IMG}\nAliases: 恶意官员, {BREAKOUT}\nRole: Director </script><script>alert(5)</script>\n"
        "Role_Zh: 局长 {{ SITENAME }}\nDescription_Zh: 简介 <script>alert(9)</script> {{ 7*7 }}\n\n"
        "Biography with <script>alert(6)</script> and {{ 7*7 }}.\n"
    ),
    "topics/hostile-topic.md": f"Title: Hostile topic {BREAKOUT}\nAliases: 恶意专题\nSummary: {XSS_IMG}\n"
                               f"Summary_Zh: {XSS_IMG}\nDescription_Zh: {BREAKOUT}\n\nDescription.\n",
    "people/wang-siqi.md": "Title: Wang Siqi\nAliases: 王思琪\n\nEditor.\n",
}


def hostile_files() -> dict[str, str]:
    return {
        "articles/2026/hostile.md": article(
            title=TITLE,
            slug="hostile",
            topics="恶意专题",
            officials="恶意官员",
            editors="Wang Siqi",
            summary=f"{XSS_IMG} {BREAKOUT}",
            source=BREAKOUT,
            original_title="</title><script>alert(8)</script>",
            body=f"""
            A paragraph <script>alert(9)</script> with <a href="javascript:alert(10)" onclick="alert(11)">a link</a>.

            <img src="data:text/html,<script>alert(12)</script>" alt="x"> <iframe src="https://evil.example/"></iframe>

            Template {{{{ SITENAME }}}} and {{% raw %}} stay text. <svg onload=alert(13)></svg>

            {BIDI}
            """,
        ),
        "articles/2026/hostile.zh.md": article(
            title=TITLE + " 中文", slug="hostile", lang="zh", topics="恶意专题", officials="恶意官员",
            editors="王思琪", body="正文 <script>alert(14)</script>。",
        ),
    }


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    # bidi and line-separator warnings are expected here, so warnings do not stop this build
    return make_site(tmp_path_factory.mktemp("hostile"), hostile_files(), registry=HOSTILE_REGISTRY, fatal="errors")


TRAP = """
window.__trapped = [];
for (const name of ['alert', 'confirm', 'prompt', 'print']) {
  window[name] = (...args) => { window.__trapped.push([name, String(args[0])]); };
}
"""


def hostile_pages(site) -> list[str]:
    return sorted(
        str(p.relative_to(site.output)).replace("index.html", "")
        for p in site.output.rglob("index.html")
    )


def test_nothing_executes_in_any_page_and_literal_text_is_shown(hostile_site, browser):
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": TRAP})
    try:
        with checkers.serve_directory(hostile_site.output) as base:
            pages = hostile_pages(hostile_site)
            assert "2026/03/hostile/" in pages and "zh/officials/hostile-official/" in pages
            for path in pages:
                browser.get(f"{base}/{path}")
                time.sleep(0.05)
                trapped = browser.execute_script("return window.__trapped")
                assert trapped == [], (path, trapped)
            browser.get(f"{base}/2026/03/hostile/")
            h1 = browser.execute_script("return document.querySelector('h1').textContent")
            assert h1 == TITLE
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": "1"})


def test_every_metadata_value_is_text_in_every_html_context(hostile_site):
    for path in hostile_site.output.rglob("*.html"):
        page = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        for element in page.find_all(True):
            events = [name for name in element.attrs if name.lower().startswith("on")]
            assert not events, (path, element)
            for name in ("href", "src", "action"):
                value = str(element.get(name, "")).strip().lower()
                assert not value.startswith(("javascript:", "data:", "vbscript:")), (path, element)
        for script in page.find_all("script"):
            assert script.get("src") or script.get("type") == "application/ld+json", (path, script)
        assert not page.find("iframe") and not page.find("svg", onload=True)


def test_bidi_overrides_and_line_separators_never_reach_output(hostile_site):
    for path in hostile_site.output.rglob("*"):
        if path.suffix in {".html", ".xml", ".json", ".txt"}:
            text = path.read_text(encoding="utf-8")
            assert "\u202e" not in text and "\u2028" not in text, path


def test_feeds_stay_valid_with_hostile_titles(hostile_site):
    for feed in hostile_site.output.rglob("*.atom.xml"):
        assert checkers.validate_atom(feed) == [], feed


def _build_failure(tmp_path, files, registry=None) -> str:
    with pytest.raises(SiteBuildError) as caught:
        make_site(tmp_path, files, registry=registry)
    assert "Traceback" not in caught.value.log
    return caught.value.log


def test_traversal_paths_are_errors_and_nothing_outside_content_is_copied(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("BUILD-MACHINE-SECRET", encoding="utf-8")
    log = _build_failure(
        tmp_path,
        {
            "articles/2026/escape.md": article(
                image="../secret.txt", image_alt="x",
                body="![map]({static}/../secret.txt) and [doc]({filename}/../../etc/passwd)",
            ),
        },
    )
    assert "escape.md:5: error: `../secret.txt` points outside content/" in log
    assert "escape.md:8: error: `{static}/../secret.txt` points outside content/" in log
    assert "escape.md:8: error: `{filename}/../../etc/passwd` points outside content/" in log
    output = tmp_path / "output"
    leaked = [p for p in output.rglob("*") if p.is_file() and b"BUILD-MACHINE-SECRET" in p.read_bytes()]
    assert leaked == []


def test_symlink_leading_outside_content_is_an_error(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text("BUILD-MACHINE-SECRET", encoding="utf-8")
    content = tmp_path / "content" / "images"
    content.mkdir(parents=True)
    os.symlink(outside, content / "linked")
    log = _build_failure(tmp_path, {"articles/2026/ok.md": article()})
    assert "content/images/linked:1: error: this symbolic link leads outside content/" in log
    assert not any((tmp_path / "output").rglob("passwd"))


def test_an_article_linking_outside_content_is_never_read(tmp_path):
    """The build stops at the link before reading articles: its target's lines would otherwise be quoted back as
    "unknown header" errors in the log."""
    outside = tmp_path / "passwd"
    outside.write_text("root:x:0:0:BUILD-MACHINE-SECRET\n", encoding="utf-8")
    (tmp_path / "content" / "articles" / "2026").mkdir(parents=True)
    os.symlink(outside, tmp_path / "content" / "articles" / "2026" / "leak.md")
    log = _build_failure(tmp_path, {"articles/2026/ok.md": article()})
    assert "content/articles/2026/leak.md:1: error: this symbolic link leads outside content/" in log
    assert "BUILD-MACHINE-SECRET" not in log and "root:x" not in log.lower()


def test_missing_link_target_and_registry_photo_outside_are_errors(tmp_path):
    from tests.support.sites import DEFAULT_REGISTRY

    registry = dict(DEFAULT_REGISTRY)
    registry["officials/tao-minghui.md"] = "Title: Tao Minghui\nPhoto: /etc/passwd\nPhoto_Alt: x\n\nMayor.\n"
    log = _build_failure(
        tmp_path,
        {"articles/2026/links.md": article(body="See [the plan]({filename}/articles/2026/missing.md).")},
        registry=registry,
    )
    assert "links.md:6: error: `{filename}/articles/2026/missing.md` points to a file that does not exist" in log
    assert "officials/tao-minghui.md:1: error: `Photo: /etc/passwd` points outside content/" in log


def test_a_five_megabyte_article_builds_in_seconds(tmp_path):
    paragraph = "The council reviewed the budget line by line, and the mayor answered questions. " * 12
    body = "\n\n".join(f"## Part {n}\n\n{paragraph}" for n in range(5200))
    assert len(body.encode()) > 5_000_000
    started = time.monotonic()
    site = make_site(tmp_path, {"articles/2026/huge.md": article(slug="huge", body=body)})
    elapsed = time.monotonic() - started
    assert site.exists("2026/03/huge/index.html")
    assert elapsed < 60, f"a 5 MB article took {elapsed:.1f} s"


def test_a_2000_character_title_wraps_at_320px(tmp_path, browser):
    title = ("Lanhai" + "x" * 40 + " ") * 43
    site = make_site(tmp_path, {"articles/2026/long.md": article(title=title.strip(), slug="long")})
    browser.set_window_size(320, 800)
    try:
        with checkers.serve_directory(site.output) as base:
            for path in ("2026/03/long/", ""):
                browser.get(f"{base}/{path}")
                overflow = browser.execute_script(
                    "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, (path, overflow)
                shown = browser.execute_script("return document.querySelector('h1, .app-list__title').textContent")
                assert len(shown.strip()) >= 2000 or path == ""
    finally:
        browser.set_window_size(1280, 900)
