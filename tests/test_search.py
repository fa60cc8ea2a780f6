"""Search (plugins/search, theme/templates/search.html, theme/static/js/search.js) on the built sample site.

Pagefind runs in real headless Chromium against the site served on loopback: through its own API
(``pagefind.js``) and through our search page, typing into the input like a reader. The index holds article
bodies only, one index per language, with topic/official/section/year/language filters. The page works
under a strict Content-Security-Policy (no inline script), says what to do without JavaScript, and passes the
Nu HTML Checker and axe in both languages.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.support import checkers
from tests.support.sites import article, make_site

SEARCH_PAGES = {"en": "search/", "zh": "zh/search/"}
PAGEFIND_QUERY = """
const [query, filters, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
(async () => {
  const pagefind = await import(new URL('/pagefind/pagefind.js', location.href).href);
  await pagefind.init();
  const search = await pagefind.search(query, {filters: filters || {}});
  const data = await Promise.all(search.results.map(r => r.data()));
  return {results: data.map(d => ({url: d.url, title: d.meta.title, date: d.meta.date, filters: d.filters})),
          available: await pagefind.filters()};
})().then(done).catch(e => done({error: String(e)}));
"""


def pagefind(browser, base: str, lang: str, query, filters=None) -> dict:
    """Run a query through pagefind.js on the search page of ``lang`` (the index follows <html lang>)."""
    browser.get(f"{base}/{SEARCH_PAGES[lang]}")
    result = browser.execute_async_script(PAGEFIND_QUERY, query, filters or {})
    assert "error" not in result, result
    return result


def article_pages(site: Path) -> dict[str, set[str]]:
    """Site-relative URLs of every article page in the output, by language."""
    pages: dict[str, set[str]] = {"en": set(), "zh": set()}
    for path in site.rglob("index.html"):
        relative = path.relative_to(site).parent.as_posix() + "/"
        if re.fullmatch(r"(zh/)?\d{4}/\d{2}/[^/]+/", relative):
            pages["zh" if relative.startswith("zh/") else "en"].add(relative)
    return pages


# --------------------------------------------------------------------------- the index


def test_index_has_one_language_each_with_every_article_and_nothing_else(sample_site):
    entry = json.loads((sample_site / "pagefind" / "pagefind-entry.json").read_text())
    pages = article_pages(sample_site)
    assert set(entry["languages"]) == {"en", "zh-cn"}
    assert entry["languages"]["en"]["page_count"] == len(pages["en"]) > 15
    assert entry["languages"]["zh-cn"]["page_count"] == len(pages["zh"]) > 5


@pytest.mark.parametrize(
    ("lang", "query", "expected", "unexpected"),
    [
        ("en", "metro", "/2025/06/metro-line-4-opens/", "/2024/12/school-places-expansion/"),
        ("en", "wetland", "/2024/04/wetland-park-restoration/", "/2025/06/metro-line-4-opens/"),
        ("zh", "地铁", "/zh/2025/06/metro-line-4-opens/", "/zh/2025/08/zhongxiaoxue-xuewei/"),
        ("zh", "助餐", "/zh/2025/12/elderly-care-meal-service/", "/zh/2025/06/metro-line-4-opens/"),
        ("zh", "养老", "/zh/2026/07/yiliao-lianheti/", "/zh/2025/12/elderly-care-meal-service/"),  # 养老 is only its topic
    ],
)
def test_pagefind_api_finds_the_right_article(sample_site, sample_server, browser, lang, query, expected, unexpected):
    assert (sample_site / expected.strip("/") / "index.html").is_file(), "the sample content changed"
    urls = [r["url"] for r in pagefind(browser, sample_server, lang, query)["results"]]
    assert expected in urls
    assert unexpected not in urls
    prefix_ok = all(u.startswith("/zh/") for u in urls) if lang == "zh" else not any(u.startswith("/zh/") for u in urls)
    assert prefix_ok, f"{lang} index returned pages of the other language: {urls}"


def test_only_article_bodies_are_indexed(sample_server, browser):
    # "Skip to main content", menus and footers are on every page; none of them may make a page match.
    for query in ("Contact", "Site identification code"):
        urls = [r["url"] for r in pagefind(browser, sample_server, "en", query)["results"]]
        assert all(re.fullmatch(r"/\d{4}/\d{2}/[^/]+/", u) for u in urls), urls
    assert pagefind(browser, sample_server, "en", "Site identification code")["results"] == []


def test_filters_topic_official_section_year_language(sample_server, browser):
    en = pagefind(browser, sample_server, "en", "metro")
    assert {"topic", "official", "section", "year", "language"} <= set(en["available"])
    assert "Public transport" in en["available"]["topic"]
    assert "Tao Minghui" in en["available"]["official"]
    assert "News" in en["available"]["section"]
    assert set(en["available"]["language"]) == {"English"}
    assert {"2021", "2024", "2025", "2026"} <= set(en["available"]["year"])
    metro = next(r for r in en["results"] if r["url"] == "/2025/06/metro-line-4-opens/")
    assert metro["filters"]["official"] == ["Fang Zhiyuan", "Tao Minghui"] or sorted(metro["filters"]["official"]) == [
        "Fang Zhiyuan", "Tao Minghui"]
    assert metro["date"] == "2025-06-30"

    filtered = pagefind(browser, sample_server, "en", "metro", {"year": "2026"})["results"]
    assert filtered and all(r["filters"]["year"] == ["2026"] for r in filtered)
    by_topic = pagefind(browser, sample_server, "en", None, {"topic": "Public transport"})["results"]
    assert {"/2025/06/metro-line-4-opens/", "/2026/04/bus-network-redesign/"} <= {r["url"] for r in by_topic}
    assert all("Public transport" in r["filters"]["topic"] for r in by_topic)

    zh = pagefind(browser, sample_server, "zh", "地铁")
    assert "公共交通" in zh["available"]["topic"]
    assert "陶明辉" in zh["available"]["official"]
    assert "新闻" in zh["available"]["section"]
    assert set(zh["available"]["language"]) == {"中文"}


# --------------------------------------------------------------------------- our search page


def wait_ready(browser, timeout: float = 20) -> None:
    WebDriverWait(browser, timeout).until(
        lambda d: d.find_element(By.ID, "app-search").get_attribute("data-state") in ("ready", "unavailable")
    )
    assert browser.find_element(By.ID, "app-search").get_attribute("data-state") == "ready"


def wait_results(browser, timeout: float = 20) -> list[str]:
    WebDriverWait(browser, timeout).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".app-search__result"))
    return [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, ".app-search__result-title a")]


@pytest.mark.parametrize(
    ("lang", "query", "expected", "status"),
    [
        ("en", "metro", "/2025/06/metro-line-4-opens/", re.compile(r"^\d+ results? for “metro”$")),
        ("zh", "地铁", "/zh/2025/06/metro-line-4-opens/", re.compile(r"^找到\d+条与“地铁”相关的结果$")),
        ("zh", "助餐", "/zh/2025/12/elderly-care-meal-service/", re.compile(r"^找到\d+条与“助餐”相关的结果$")),
    ],
)
def test_typing_in_the_search_page_lists_the_article(sample_server, browser, lang, query, expected, status):
    browser.get(f"{sample_server}/{SEARCH_PAGES[lang]}")
    wait_ready(browser)
    assert browser.find_element(By.ID, "app-search-nojs").is_displayed() is False
    field = browser.find_element(By.ID, "app-search-input")
    assert field.is_displayed()
    field.send_keys(query)
    links = wait_results(browser)
    assert f"{sample_server}{expected}" in links
    assert status.match(browser.find_element(By.ID, "app-search-status").text)
    # the live region is announced politely; excerpts highlight the match (Pagefind marks Chinese per character)
    assert browser.find_element(By.ID, "app-search-status").get_attribute("role") == "status"
    marked = "".join(m.text for m in browser.find_elements(By.CSS_SELECTOR, ".app-search__result-excerpt mark"))
    assert all(character in marked.casefold() for character in query.casefold()), marked
    assert "q=" in browser.current_url  # the query is kept in the address, so back and reload keep it


def test_filters_in_the_page_narrow_the_results(sample_server, browser):
    browser.get(f"{sample_server}/search/?q=Lanhai")
    wait_ready(browser)
    everything = wait_results(browser)
    label = browser.find_element(By.CSS_SELECTOR, "label[for='app-search-filter-year']")
    assert label.text == "Year"
    Select(browser.find_element(By.ID, "app-search-filter-year")).select_by_value("2024")
    WebDriverWait(browser, 20).until(
        lambda d: all(t.get_attribute("datetime").startswith("2024")
                      for t in d.find_elements(By.CSS_SELECTOR, ".app-search__result-meta time"))
        and d.find_elements(By.CSS_SELECTOR, ".app-search__result")
    )
    filtered = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, ".app-search__result-title a")]
    assert 0 < len(filtered) < len(everything) or len(everything) > 10
    assert all("/2024/" in url for url in filtered)
    # every filter the issue asks for is offered, labelled in the page language
    labels = {browser.find_element(By.CSS_SELECTOR, f"label[for='app-search-filter-{key}']").text
              for key in ("section", "topic", "official", "year", "language")}
    assert labels == {"Section", "Topic", "Official", "Year", "Language"}


def test_a_query_in_the_address_is_searched_on_arrival(sample_server, browser):
    browser.get(f"{sample_server}/zh/search/?q=%E5%9C%B0%E9%93%81")
    wait_ready(browser)
    assert f"{sample_server}/zh/2025/06/metro-line-4-opens/" in wait_results(browser)
    assert browser.find_element(By.ID, "app-search-input").get_attribute("value") == "地铁"


def test_no_result_says_so(sample_server, browser):
    browser.get(f"{sample_server}/search/")
    wait_ready(browser)
    browser.find_element(By.ID, "app-search-input").send_keys("xylophone\n")
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "app-search-status").text)
    assert browser.find_element(By.ID, "app-search-status").text.startswith("No results for “xylophone”")
    assert browser.find_elements(By.CSS_SELECTOR, ".app-search__result") == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_without_javascript_the_page_says_so_and_links_archives_and_topics(sample_site, lang):
    soup = BeautifulSoup((sample_site / SEARCH_PAGES[lang] / "index.html").read_text(encoding="utf-8"), "html.parser")
    nojs = soup.find(id="app-search-nojs")
    assert nojs is not None and not nojs.has_attr("hidden")
    text = nojs.get_text(" ", strip=True)
    assert ("JavaScript" in text)
    hrefs = [a["href"] for a in nojs.find_all("a")]
    prefix = "zh/" if lang == "zh" else ""
    assert any(h.endswith(f"/{prefix}archives/") for h in hrefs), hrefs
    assert any(h.endswith(f"/{prefix}topics/") for h in hrefs), hrefs
    # the form only appears when the script runs, so nobody gets a search box that cannot work
    assert soup.find(id="app-search-form").has_attr("hidden")
    label = soup.find("label", attrs={"for": "app-search-input"})
    assert label is not None and label.get_text(strip=True)
    assert soup.find("html")["lang"] == ("zh-CN" if lang == "zh" else "en")
    # no inline script anywhere: every <script> loads a file of our own site
    for script in soup.find_all("script"):
        assert script.get("src") and not script.get("src").startswith(("http:", "https:", "//")), script
        assert not script.string or not script.string.strip()


def test_every_page_links_search_from_the_menu(sample_site):
    for relative, target in (("index.html", "search/"), ("zh/index.html", "zh/search/"),
                             ("2025/06/metro-line-4-opens/index.html", "search/")):
        soup = BeautifulSoup((sample_site / relative).read_text(encoding="utf-8"), "html.parser")
        menu = soup.find("nav", class_="app-nav")
        assert any(a["href"].endswith(target) for a in menu.find_all("a")), relative


class _CspHandler(checkers._QuietHandler):
    """The sample site as a strict host would send it: scripts only from the site, no inline code."""

    CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; "
           "object-src 'none'; base-uri 'self'")

    def end_headers(self):
        self.send_header("Content-Security-Policy", self.CSP)
        super().end_headers()


def serve_with_csp(root: Path):
    return checkers.serve_directory(root, _CspHandler)


def test_search_works_under_a_strict_content_security_policy(sample_site, browser):
    with serve_with_csp(sample_site) as base:
        browser.get_log("browser")  # drop older messages
        browser.get(f"{base}/search/")
        wait_ready(browser)
        browser.find_element(By.ID, "app-search-input").send_keys("metro")
        assert f"{base}/2025/06/metro-line-4-opens/" in wait_results(browser)
        violations = [e for e in browser.get_log("browser") if "Content Security Policy" in e.get("message", "")]
        assert violations == []


# --------------------------------------------------------------------------- the index build


def small_site_files(body: str = "The tram depot reopens with solar panels on its roof.") -> dict:
    return {
        "articles/2026/depot.md": article(title="Tram depot reopens", slug="tram-depot", lang="en",
                                          category="News", body=body),
        "articles/2026/depot.zh.md": article(title="电车车场重新开放", slug="tram-depot", lang="zh",
                                             category="News", topics="公共交通", editors="王思琪",
                                             body="电车车场重新开放，屋顶装有太阳能板。"),
    }


def bundle_listing(output: Path) -> dict[str, bytes]:
    root = output / "pagefind"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def comparable(listing: dict[str, bytes]) -> dict[str, bytes]:
    """The bundle without the two parts Pagefind 1.5.2 writes in hash-map order (its filter table, hence the
    name of each language's ``.pf_meta`` file and ``pagefind-entry.json``), which vary between two indexing
    runs of the same pages; the count of meta files is kept, so a stale one still shows."""
    kept = {name: data for name, data in listing.items() if not name.endswith(".pf_meta")
            and name != "pagefind-entry.json"}
    kept["meta files"] = str(sum(name.endswith(".pf_meta") for name in listing)).encode()
    return kept


def test_unchanged_site_reuses_the_index_and_a_changed_one_equals_a_cold_build(tmp_path, monkeypatch):
    import search as search_plugin

    cache = tmp_path / "shared-cache"
    first = bundle_listing(make_site(tmp_path / "a", small_site_files(), CACHE_PATH=str(cache)).output)
    runs = []
    real_run = search_plugin.run_pagefind
    monkeypatch.setattr(search_plugin, "run_pagefind", lambda *a: (runs.append(a), real_run(*a)))

    again = make_site(tmp_path / "a", small_site_files(), CACHE_PATH=str(cache))
    assert runs == [], "an unchanged site was indexed again"
    assert bundle_listing(again.output) == first  # byte for byte: the cached bundle

    changed = make_site(tmp_path / "a", small_site_files("The depot now has a museum of old trams."),
                        CACHE_PATH=str(cache))
    assert len(runs) == 1
    cold = make_site(tmp_path / "cold", small_site_files("The depot now has a museum of old trams."))
    # no fragment of the first build survives: the bundle is a cold build's
    assert comparable(bundle_listing(changed.output)) == comparable(bundle_listing(cold.output))
    assert comparable(bundle_listing(changed.output)) != comparable(first)


def test_a_failing_pagefind_stops_the_build_with_its_message(tmp_path, monkeypatch):
    import search as search_plugin
    from tests.support.sites import SiteBuildError

    def broken(output, destination, options):
        raise search_plugin.SearchError("Pagefind failed (exit 1) indexing site:\nError: no pages found")

    make_site(tmp_path / "warm", small_site_files())  # loads the plugin module
    monkeypatch.setattr(search_plugin, "run_pagefind", broken)
    with pytest.raises(SiteBuildError) as failure:
        make_site(tmp_path / "b", small_site_files())
    assert "Pagefind failed" in failure.value.log


# --------------------------------------------------------------------------- checkers and screenshots


def test_nu_html_checker_finds_nothing_on_the_search_pages(sample_site):
    messages = checkers.run_vnu([sample_site / page / "index.html" for page in SEARCH_PAGES.values()])
    assert messages == [], checkers.format_vnu(messages)


@pytest.mark.parametrize(("lang", "query"), [("en", "metro"), ("zh", "地铁")])
def test_axe_finds_nothing_on_the_search_page_with_results(sample_server, browser, lang, query):
    assert checkers.run_axe(browser, f"{sample_server}/{SEARCH_PAGES[lang]}") == []
    wait_ready(browser)
    browser.find_element(By.ID, "app-search-input").send_keys(query)
    wait_results(browser)
    violations = checkers.run_axe_here(browser)
    assert violations == [], checkers.format_axe(violations)


@pytest.mark.parametrize("width", [320, 1280])
def test_screenshots_of_the_search_page(sample_server, tmp_path_factory, width):
    folder = tmp_path_factory.mktemp(f"search-shots-{width}")
    driver = checkers.chromium_driver(width=width, height=900)
    try:
        for lang, query in (("en", "metro"), ("zh", "地铁")):
            driver.get(f"{sample_server}/{SEARCH_PAGES[lang]}")
            wait_ready(driver)
            driver.find_element(By.ID, "app-search-input").send_keys(query)
            wait_results(driver)
            # nothing wider than the window: no sideways scrolling at 320 px
            assert driver.execute_script("return document.documentElement.scrollWidth") <= width
            driver.save_screenshot(str(folder / f"search-{lang}-{width}.png"))
            assert (folder / f"search-{lang}-{width}.png").stat().st_size > 10_000
    finally:
        driver.quit()


def test_bundle_is_canonical_across_pagefind_runs(sample_site, tmp_path):
    """Pagefind orders filter values and filters at random; after canonicalise_bundle two runs are byte-identical,
    and the rewritten files still decode to the same filters."""
    from search import run_pagefind
    from search.canonical import canonicalise_bundle, read_chunk

    manifests, filters = [], []
    for run in ("first", "second"):
        bundle = tmp_path / run
        run_pagefind(sample_site, bundle, [])
        raw = {read_chunk(p)[0]: read_chunk(p)[1] for p in (bundle / "filter").glob("en_*.pf_filter")}
        canonicalise_bundle(bundle)
        manifests.append({p.relative_to(bundle).as_posix(): p.read_bytes() for p in sorted(bundle.rglob("*"))
                          if p.is_file()})
        rewritten = {read_chunk(p)[0]: read_chunk(p)[1] for p in (bundle / "filter").glob("en_*.pf_filter")}
        assert {name: sorted(map(tuple, values)) for name, values in raw.items()} == {
            name: [tuple(v) for v in values] for name, values in rewritten.items()}
        filters.append(rewritten)
    assert {"topic", "official", "section", "year", "language"} <= set(filters[0])
    assert manifests[0] == manifests[1]
