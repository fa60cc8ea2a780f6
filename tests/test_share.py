"""Share links, WeChat QR codes and social metadata (plugins/share), through real Pelican builds.

Every share link on the built pages is parsed and its query decoded: the article's URL and title must come
back exactly, also for a title full of quotes, ``&``, ``#``, ``%``, markup, ``</script>`` and Chinese. The
WeChat QR code is read back from the built output by two independent decoders. Open Graph and JSON-LD are
parsed and checked field by field; the pages pass the Nu HTML Checker and axe.
"""

from __future__ import annotations

import io
import json
import os
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from PIL import Image

from tests.support import checkers
from tests.support.sites import SiteBuildError, article, make_site

DEV_BASE = "http://127.0.0.1:8123/"
PUBLISH_BASE = "https://news.lanhai.example.org"
HOSTILE_EN = 'Mayor\'s "plan" & 100% <b>#1</b> </script> 澜海 + a=b?c'
HOSTILE_ZH = "市长的“计划”：100%＆<b>#1</b></script>澜海 &amp; 《规划》"
SUMMARY_EN = 'Fares fall by 20% & "night buses" return <i>soon</i>.'
NETWORK_KEYS = {"wechat", "weibo", "qq", "qzone", "x", "facebook", "linkedin", "telegram", "whatsapp", "email",
                "copy", "native"}
# Characters a percent-encoded query value may contain (quote(value, safe="")).
ENCODED_VALUE = re.compile(r"^[A-Za-z0-9_.~%-]*$")


def lead_png() -> bytes:
    image = Image.new("RGB", (800, 500), (40, 110, 160))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def hostile_files() -> dict:
    return {
        "images/lead.png": lead_png(),
        "articles/2026/mayor-plan.md": article(
            title=HOSTILE_EN,
            date="2026-03-18 09:30",
            slug="mayor-plan",
            lang="en",
            category="Policy",
            summary=SUMMARY_EN,
            topics="Public transport, Urban renewal",
            officials="Tao Minghui",
            reporters="Zhou Yiran",
            image="images/lead.png",
            image_alt="A blue square",
        ),
        "articles/2026/mayor-plan.zh.md": article(
            title=HOSTILE_ZH,
            date="2026-03-18 09:30",
            slug="mayor-plan",
            lang="zh",
            category="Policy",
            topics="城市更新",
            officials="陶明辉",
            reporters="周怡然",
            editors="王思琪",
            body="市交通局宣布公交票价下调。",
        ),
        "articles/2026/plain.md": article(title="Buses run later at weekends", slug="plain", category="News"),
    }


@pytest.fixture(scope="module")
def dev_site(tmp_path_factory):
    return make_site(tmp_path_factory.mktemp("share-dev"), hostile_files(), PORTAL_FEED_BASE=DEV_BASE)


@pytest.fixture(scope="module")
def publish_site(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SITEURL", PUBLISH_BASE)
        return make_site(tmp_path_factory.mktemp("share-publish"), hostile_files(), publish=True)


def page(site, relative: str) -> BeautifulSoup:
    return BeautifulSoup(site.read(relative), "html.parser")


EN_PAGE = "2026/03/mayor-plan/index.html"
ZH_PAGE = "zh/2026/03/mayor-plan/index.html"
PAGES = {"en": (EN_PAGE, HOSTILE_EN, "2026/03/mayor-plan/"), "zh": (ZH_PAGE, HOSTILE_ZH, "zh/2026/03/mayor-plan/")}


def share_entries(soup: BeautifulSoup) -> list:
    block = soup.select_one("section.app-share")
    assert block is not None, "no share block on the page"
    return block.select("[data-share]")


def query(href: str) -> dict[str, str]:
    """The decoded query of a share link, after checking every raw value is fully percent-encoded."""
    raw = urlsplit(href).query
    for pair in raw.split("&"):
        key, _, value = pair.partition("=")
        assert ENCODED_VALUE.match(value), f"{key} is not fully percent-encoded in {href!r}"
    parsed = parse_qs(raw, keep_blank_values=True, strict_parsing=True)
    assert all(len(v) == 1 for v in parsed.values()), f"a parameter is repeated in {href!r}"
    return {key: values[0] for key, values in parsed.items()}


# --- share links ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("site_name, base", [("dev_site", DEV_BASE), ("publish_site", PUBLISH_BASE + "/")])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_share_link_carries_the_exact_url_and_title(request, site_name, base, lang):
    site = request.getfixturevalue(site_name)
    relative, title, url_path = PAGES[lang]
    url = base + url_path
    entries = share_entries(page(site, relative))
    assert {e["data-share"] for e in entries} == NETWORK_KEYS

    checked = set()
    for entry in entries:
        key = entry["data-share"]
        if entry.name != "a":
            continue
        href = entry["href"]
        assert entry.get("rel") == ["noopener", "noreferrer"], key
        assert entry.select_one(".app-visually-hidden"), f"{key}: no 'Share on' text for screen readers"
        if key == "email":
            assert href.startswith("mailto:?"), href
            params = query(href[len("mailto:"):])
            assert params["subject"] == title
            assert params["body"].endswith("\n\n" + url)
            assert "%20" in href or " " not in title
        else:
            assert href.startswith("https://"), href
            params = query(href)
            expected = {
                "weibo": {"url": url, "title": title},
                "qq": {"url": url, "title": title},
                "qzone": {"url": url, "title": title},
                "x": {"url": url, "text": title},
                "facebook": {"u": url},
                "linkedin": {"url": url},
                "telegram": {"url": url, "text": title},
                "whatsapp": {"text": f"{title} {url}"},
            }[key]
            for name, value in expected.items():
                assert params[name] == value, f"{key}: {name}={params[name]!r}"
            for name in ("pic", "pics"):
                if name in params:
                    assert params[name] == f"{base}share/cards/{lang}/mayor-plan.jpg"
        checked.add(key)
    assert checked == {"weibo", "qq", "qzone", "x", "facebook", "linkedin", "telegram", "whatsapp", "email"}


def test_copy_and_native_show_the_plain_url_without_javascript(dev_site):
    soup = page(dev_site, EN_PAGE)
    copy = soup.select_one('[data-share="copy"]')
    field = copy.select_one("input")
    assert field["value"] == DEV_BASE + "2026/03/mayor-plan/"
    assert field.has_attr("readonly")
    label = copy.select_one(f'label[for="{field["id"]}"]')
    assert label and label.get_text(strip=True) == "Link to this article"
    assert copy.select_one("button[data-share-copy]").has_attr("hidden"), "copy button must wait for share.js"
    native = soup.select_one('[data-share="native"]')
    assert native.has_attr("hidden"), "the Web Share button must stay hidden until share.js finds navigator.share"
    assert native.select_one("button")["data-share-title"] == HOSTILE_EN


def test_order_follows_the_language_and_the_setting(dev_site, tmp_path):
    zh = [e["data-share"] for e in share_entries(page(dev_site, ZH_PAGE))]
    assert zh[:3] == ["wechat", "weibo", "qq"]
    en = [e["data-share"] for e in share_entries(page(dev_site, EN_PAGE))]
    assert en[0] == "x" and en.index("weibo") > en.index("linkedin")
    assert page(dev_site, ZH_PAGE).select_one(".app-share__heading").get_text(strip=True) == "分享让更多人看到"

    site = make_site(
        tmp_path,
        {"articles/a.md": article(slug="a")},
        PORTAL_FEED_BASE=DEV_BASE,
        SHARE_NETWORKS={"en": ["email", "wechat", "x"]},
    )
    assert [e["data-share"] for e in share_entries(page(site, "2026/03/a/index.html"))] == ["email", "wechat", "x"]


def test_an_unknown_network_stops_the_build_with_its_name(tmp_path):
    with pytest.raises(SiteBuildError) as failure:
        make_site(tmp_path, {"articles/a.md": article(slug="a")}, SHARE_NETWORKS=["x", "myspace"])
    assert "'myspace'" in failure.value.log and "SHARE_NETWORKS" in failure.value.log


def test_links_stay_absolute_when_there_is_no_absolute_base(tmp_path):
    with pytest.raises(SiteBuildError) as failure:
        make_site(tmp_path, {"articles/a.md": article(slug="a")}, PORTAL_FEED_BASE="/")
    assert "must be absolute" in failure.value.log


# --- WeChat QR code ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_wechat_qr_code_decodes_to_the_article_url(publish_site, lang):
    relative, _title, url_path = PAGES[lang]
    soup = page(publish_site, relative)
    item = soup.select_one('[data-share="wechat"]')
    image = item.select_one("img")
    url = f"{PUBLISH_BASE}/{url_path}"
    assert image["src"].startswith(PUBLISH_BASE + "/share/qr/")
    path = publish_site.output / image["src"][len(PUBLISH_BASE) + 1:]
    assert checkers.decode_qr(path) == url
    assert checkers.decode_qr_zxing(path) == url
    assert url in image["alt"], "the text alternative must give the address"
    caption = item.select_one("figcaption").get_text(strip=True)
    assert caption == {"en": "Scan with WeChat to share", "zh": "微信扫一扫分享"}[lang]
    with Image.open(path) as decoded:
        assert decoded.size == (int(image["width"]), int(image["height"]))


def test_qr_codes_are_cached_and_not_rewritten(tmp_path):
    files = {"articles/a.md": article(slug="a")}
    first = make_site(tmp_path, files, PORTAL_FEED_BASE=DEV_BASE)
    output = first.output / "share/qr/en/a.png"
    cached = list((tmp_path / "share" / "qr").glob("*.png"))
    assert len(cached) == 1
    before = (output.stat().st_mtime_ns, output.stat().st_ino, cached[0].stat().st_mtime_ns)
    second = make_site(tmp_path, files, PORTAL_FEED_BASE=DEV_BASE)
    assert (output.stat().st_mtime_ns, output.stat().st_ino, cached[0].stat().st_mtime_ns) == before
    assert second.read("2026/03/a/index.html") == first.read("2026/03/a/index.html")
    # Another address is another code: the page links the new one, which decodes to the new address.
    make_site(tmp_path, files, PORTAL_FEED_BASE="http://127.0.0.1:9999/")
    assert len(list((tmp_path / "share" / "qr").glob("*.png"))) == 2
    assert checkers.decode_qr(output) == "http://127.0.0.1:9999/2026/03/a/"


def test_qr_code_widths_are_listed_once_and_a_code_the_cache_lost_is_made_again(tmp_path, monkeypatch):
    """``QrWidths``: a build lists each code's width beside the codes; the next one reads no code's PNG header. A
    listed code the cache lost (here after the head start looked) is made again and linked."""
    import share
    from share import qr

    files = {"articles/a.md": article(slug="a")}
    make_site(tmp_path, files, PORTAL_FEED_BASE=DEV_BASE)
    cache = tmp_path / "share" / "qr"
    (code,) = cache.glob("*.png")
    assert json.loads((cache / "widths.json").read_text(encoding="utf-8")) == {
        code.stem: qr.png_size(code.read_bytes())[0]}
    code.unlink()
    monkeypatch.setattr(qr, "qr_width", lambda *args: pytest.fail("a listed width was read again"))
    monkeypatch.setattr(share, "finish_missing", lambda *args: 0)
    second = make_site(tmp_path, files, PORTAL_FEED_BASE=DEV_BASE, SITESUBTITLE="Policy news")  # a build, not a restore
    assert 'src="../../../share/qr/en/a.png"' in second.read("2026/03/a/index.html")
    assert code.is_file() and checkers.decode_qr(second.output / "share/qr/en/a.png") == f"{DEV_BASE}2026/03/a/"


# --- social metadata -----------------------------------------------------------------------------------


def meta_values(soup: BeautifulSoup) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for tag in soup.head.find_all("meta"):
        name = tag.get("property") or tag.get("name")
        if name:
            values.setdefault(name, []).append(tag.get("content"))
    return values


def json_ld(site, relative: str) -> dict:
    html = site.read(relative)
    scripts = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert len(scripts) == 1
    assert "<" not in scripts[0] and ">" not in scripts[0], "JSON-LD must not hold raw < or >"
    graph = json.loads(scripts[0])
    assert graph["@context"] == "https://schema.org"
    return {node["@type"]: node for node in graph["@graph"]}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_open_graph_and_twitter_card(publish_site, lang):
    relative, title, url_path = PAGES[lang]
    soup = page(publish_site, relative)
    url = f"{PUBLISH_BASE}/{url_path}"
    meta = meta_values(soup)
    assert soup.head.find("link", rel="canonical")["href"] == url
    one = {key: values[0] for key, values in meta.items()}
    assert one["og:type"] == "article"
    assert one["og:title"] == title
    assert one["og:url"] == url
    assert one["og:locale"] == {"en": "en_GB", "zh": "zh_CN"}[lang]
    assert one["og:locale:alternate"] == {"en": "zh_CN", "zh": "en_GB"}[lang]
    assert one["og:site_name"] == {"en": "Lanhai Policy News", "zh": "澜海政策新闻"}[lang]
    card = f"{PUBLISH_BASE}/share/cards/{lang}/mayor-plan.jpg"
    assert one["og:image"] == card and one["twitter:image"] == card
    assert (publish_site.output / f"share/cards/{lang}/mayor-plan.jpg").is_file()
    assert (one["og:image:width"], one["og:image:height"]) == ("1200", "630")
    assert one["og:image:type"] == "image/jpeg"
    assert title in one["og:image:alt"]
    assert one["twitter:card"] == "summary_large_image"
    assert one["twitter:title"] == title
    published = datetime.fromisoformat(one["article:published_time"])
    assert published.isoformat() == "2026-03-18T09:30:00+08:00"
    assert datetime.fromisoformat(one["article:modified_time"]) >= published
    assert one["article:section"] == {"en": "Policy", "zh": "政策"}[lang]
    assert meta["article:tag"] == {"en": ["Public transport", "Urban renewal"], "zh": ["城市更新"]}[lang]
    if lang == "en":
        assert one["og:description"] == SUMMARY_EN and one["twitter:description"] == SUMMARY_EN


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_json_ld_news_article_and_breadcrumbs(publish_site, lang):
    relative, title, url_path = PAGES[lang]
    url = f"{PUBLISH_BASE}/{url_path}"
    prefix = "" if lang == "en" else "zh/"
    nodes = json_ld(publish_site, relative)
    news = nodes["NewsArticle"]
    assert news["headline"] == title
    assert news["url"] == news["mainEntityOfPage"] == url
    assert news["datePublished"] == "2026-03-18T09:30:00+08:00"
    assert datetime.fromisoformat(news["dateModified"]).tzinfo is not None
    assert news["inLanguage"] == {"en": "en", "zh": "zh-CN"}[lang]
    assert news["author"] == [
        {"@type": "Person", "name": {"en": "Zhou Yiran", "zh": "周怡然"}[lang],
         "url": f"{PUBLISH_BASE}/{prefix}people/zhou-yiran/"}
    ]
    if lang == "zh":
        assert news["editor"] == [
            {"@type": "Person", "name": "王思琪", "url": f"{PUBLISH_BASE}/zh/people/wang-siqi/"}
        ]
    assert news["mentions"] == [
        {"@type": "Person", "name": {"en": "Tao Minghui", "zh": "陶明辉"}[lang],
         "jobTitle": {"en": "Mayor of Lanhai", "zh": "澜海市市长"}[lang],
         "url": f"{PUBLISH_BASE}/{prefix}officials/tao-minghui/"}
    ]
    topics = {"en": ["Public transport", "Urban renewal"], "zh": ["城市更新"]}[lang]
    assert [t["name"] for t in news["about"]] == topics
    assert all(t["url"].startswith(f"{PUBLISH_BASE}/{prefix}topics/") for t in news["about"])
    publisher = news["publisher"]
    assert publisher["@type"] == "Organization" and publisher["name"]
    logo = publisher["logo"]["url"]
    assert logo.startswith(PUBLISH_BASE + "/")
    with Image.open(publish_site.output / logo[len(PUBLISH_BASE) + 1:]) as image:
        assert image.format == "PNG" and image.width >= 112
    card = news["image"][0]
    assert card == {"@type": "ImageObject", "url": f"{PUBLISH_BASE}/share/cards/{lang}/mayor-plan.jpg",
                    "width": 1200, "height": 630}
    if lang == "en":
        assert news["image"][1]["url"] == f"{PUBLISH_BASE}/images/lead.png"
        assert news["description"] == SUMMARY_EN

    crumbs = nodes["BreadcrumbList"]["itemListElement"]
    assert [c["position"] for c in crumbs] == [1, 2, 3]
    assert crumbs[0]["item"] == f"{PUBLISH_BASE}/{prefix}"
    assert crumbs[1] == {"@type": "ListItem", "position": 2, "name": {"en": "Policy", "zh": "政策"}[lang],
                         "item": f"{PUBLISH_BASE}/{prefix}sections/policy/"}
    assert crumbs[2]["item"] == url and crumbs[2]["name"] == title


def test_dev_build_metadata_is_absolute_from_the_feed_base(dev_site):
    soup = page(dev_site, EN_PAGE)
    assert soup.head.find("link", rel="canonical")["href"] == DEV_BASE + "2026/03/mayor-plan/"
    one = {k: v[0] for k, v in meta_values(soup).items()}
    assert one["og:image"] == DEV_BASE + "share/cards/en/mayor-plan.jpg"
    assert json_ld(dev_site, EN_PAGE)["NewsArticle"]["url"] == DEV_BASE + "2026/03/mayor-plan/"


def test_social_metadata_is_made_for_its_page_and_not_kept(tmp_path):
    """What the head shows is made as the page renders (``article.social()``): once the articles are written, no
    article holds its metadata (ten thousand articles' would be some 65 MB, counted by both writing processes)."""
    from pelican import signals

    held = []

    def look(generator, writer):
        for item in generator.articles + generator.translations:
            held.extend(type(value).__name__ for value in vars(item).values())
            held.append(type(item.social()).__name__)

    signals.article_writer_finalized.connect(look)
    try:
        site = make_site(tmp_path, hostile_files(), PORTAL_FEED_BASE=DEV_BASE)
    finally:
        signals.article_writer_finalized.disconnect(look)
    assert held.count("ArticleSocial") == 3 and held.count("SocialMeta") == 3  # made on asking, never kept
    assert page(site, EN_PAGE).head.find("link", rel="canonical")["href"] == DEV_BASE + "2026/03/mayor-plan/"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_government_meta_tags(publish_site, lang):
    relative, title, _url = PAGES[lang]
    one = {k: v[0] for k, v in meta_values(page(publish_site, relative)).items()}
    assert one["SiteName"] == {"en": "Lanhai Policy News", "zh": "澜海政策新闻"}[lang]
    assert one["SiteDomain"] == "lanhai.example.gov"
    assert one["ColumnName"] == {"en": "Policy", "zh": "政策"}[lang]
    assert one["ArticleTitle"] == title
    assert one["PubDate"] == "2026-03-18 09:30"
    assert one["ContentSource"]
    assert one["Keywords"] == {"en": "Public transport,Urban renewal", "zh": "城市更新"}[lang]
    assert one["Description"] == one["description"]
    if lang == "en":
        assert one["Description"] == SUMMARY_EN


def test_sample_site_articles_all_have_share_and_metadata(published_site):
    article_path = re.compile(r"^(zh/)?\d{4}/\d\d/[^/]+/index\.html$")
    pages = sorted(
        p for p in published_site.rglob("index.html") if article_path.match(p.relative_to(published_site).as_posix())
    )
    assert len(pages) >= 20
    for path in pages:
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        canonical = soup.head.find("link", rel="canonical")["href"]
        relative = path.relative_to(published_site).parent.as_posix() + "/"
        assert canonical == f"https://lanhai.example.gov/{relative}", path
        assert {e["data-share"] for e in share_entries(soup)} == NETWORK_KEYS, path
        json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', str(soup), re.S).group(1))


# --- validity, accessibility, behaviour, looks ------------------------------------------------------------


def sample_article_pages(site: Path) -> dict[str, Path]:
    return {
        "en": site / "2025/06/metro-line-4-opens/index.html",
        "zh": site / "zh/2025/06/metro-line-4-opens/index.html",
    }


def test_nu_html_checker_finds_nothing(sample_site, dev_site, publish_site):
    paths = [*sample_article_pages(sample_site).values(), dev_site.output / EN_PAGE, dev_site.output / ZH_PAGE,
             publish_site.output / EN_PAGE]
    messages = checkers.run_vnu(paths)
    assert not messages, checkers.format_vnu(messages)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_axe_finds_nothing(sample_site, sample_server, browser, lang):
    relative = sample_article_pages(sample_site)[lang].relative_to(sample_site).parent.as_posix()
    violations = checkers.run_axe(browser, f"{sample_server}/{relative}/")
    assert not violations, checkers.format_axe(violations)


def test_share_js_enhances_copy_and_native(sample_server, browser):
    browser.get(f"{sample_server}/2025/06/metro-line-4-opens/")
    state = browser.execute_script(
        "const b = document.querySelector('[data-share-copy]');"
        "const n = document.querySelector('[data-share=\"native\"]');"
        "return {copyHidden: b.hidden, nativeHidden: n.hidden, hasShare: typeof navigator.share === 'function'};"
    )
    assert state["copyHidden"] is False, "share.js did not reveal the copy button"
    assert state["nativeHidden"] is (not state["hasShare"])
    button = browser.find_element("css selector", "[data-share-copy]")
    browser.execute_script("arguments[0].scrollIntoView()", button)
    button.click()
    status = browser.execute_script(
        "return new Promise(done => setTimeout(() => done(document.querySelector('.app-share__status')"
        ".textContent), 500));"
    )
    assert status in (button.get_attribute("data-share-done"), button.get_attribute("data-share-failed"))
    assert status


@pytest.mark.parametrize("width", [320, 1280])
def test_screenshots_of_the_share_block(sample_server, tmp_path_factory, width):
    """Screenshots for a person to look at (kept in pytest's temp folder); the block must fit the page."""
    driver = checkers.chromium_driver(width=width, height=900)
    try:
        folder = tmp_path_factory.mktemp("share-screenshots")
        for lang, relative in (("en", "2025/06/metro-line-4-opens/"), ("zh", "zh/2025/06/metro-line-4-opens/")):
            driver.get(f"{sample_server}/{relative}")
            block = driver.find_element("css selector", ".app-share")
            driver.execute_script("arguments[0].scrollIntoView()", block)
            driver.save_screenshot(str(folder / f"share-{lang}-{width}.png"))
            overflow = driver.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth;"
            )
            assert overflow <= 0, f"{relative} scrolls sideways at {width}px"
    finally:
        driver.quit()


def test_drafts_get_no_share_block(tmp_path):
    site = make_site(tmp_path, {"articles/a.md": article(slug="a", status="draft")}, PORTAL_FEED_BASE=DEV_BASE)
    html = site.read("drafts/a/index.html")
    assert "app-share" not in html and 'rel="canonical"' not in html


def test_missing_qr_codes_are_made_on_every_core_and_equal_in_process_ones(tmp_path):
    """A cold build of a large site makes one QR code per article in a process pool; each is the same PNG the
    in-process path makes, and a second pass makes none."""
    from share.qr import POOL_MIN, make_missing, qr_key, render_qr_png

    urls = [f"https://lanhai.example.gov/2026/03/story-{n}/" for n in range(POOL_MIN + 6)]
    assert make_missing(urls, 6, tmp_path / "qr") == len(urls)
    for url in (urls[0], urls[-1]):
        made = (tmp_path / "qr" / f"{qr_key(url, 6)}.png").read_bytes()
        assert made == render_qr_png(url, 6)
    assert checkers.decode_qr(tmp_path / "qr" / f"{qr_key(urls[7], 6)}.png") == urls[7]
    assert make_missing(urls, 6, tmp_path / "qr") == 0


@pytest.mark.parametrize("scale", [1, 4, 7])
def test_a_qr_code_png_is_zxings_own_image_at_its_scale(scale):
    """render_qr_png scales a one-pixel-per-module image: exactly the pixels zxing draws at that scale."""
    import io

    import zxingcpp
    from PIL import Image

    from share.qr import render_qr_png

    url = "https://lanhai.example.gov/zh/2026/03/城市更新/?a=1&b=2"
    barcode = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    pixels = memoryview(barcode.to_image(scale=scale, add_quiet_zones=True))
    with Image.open(io.BytesIO(render_qr_png(url, scale))) as made:
        assert made.mode == "1" and made.size == (pixels.shape[1], pixels.shape[0])
        assert made.convert("L").tobytes() == pixels.tobytes()


def test_link_or_copy_links_into_missing_folders_replaces_other_files_and_leaves_the_same_file(tmp_path):
    from content_model.output import link_or_copy

    source = tmp_path / "cache" / "a.png"
    source.parent.mkdir()
    source.write_bytes(b"card")
    target = tmp_path / "output" / "share" / "qr" / "en" / "a.png"
    link_or_copy(str(source), str(target))  # no folder yet
    assert os.path.samefile(source, target)
    link_or_copy(source, target)  # already the same file: left alone
    assert os.path.samefile(source, target)
    target.unlink()
    target.write_bytes(b"older card")  # another file: replaced by the link, never written through
    older = target.stat().st_ino
    link_or_copy(source, target)
    assert os.path.samefile(source, target) and target.stat().st_ino != older
    assert source.read_bytes() == b"card"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.png"]


def test_qr_codes_found_missing_by_the_head_start_are_made_without_a_second_look(tmp_path, monkeypatch):
    """``finish_missing`` after ``start_missing`` (a warm build has every code: asking the cache twice about each of
    10,000 cost a tenth of a second): the same URLs make what the head start found missing, other URLs are looked
    at again."""
    from share import qr

    urls = [f"https://lanhai.example.gov/2026/03/story-{n}/" for n in range(3)]
    assert qr.make_missing(urls[:1], 6, tmp_path / "qr") == 1
    started = qr.start_missing(urls, 6, tmp_path / "qr")
    assert started.background is None and [job[0] for job in started.jobs] == urls[1:]
    with monkeypatch.context() as patched:
        patched.setattr(qr, "_missing_jobs", lambda *args: pytest.fail("the cache was asked again"))
        assert qr.finish_missing(started, urls, 6, tmp_path / "qr") == 2
    assert all((tmp_path / "qr" / f"{qr.qr_key(url, 6)}.png").is_file() for url in urls)
    more = [*urls, "https://lanhai.example.gov/2026/03/story-9/"]
    assert qr.finish_missing(started, more, 6, tmp_path / "qr") == 1
    assert qr.finish_missing(None, more, 6, tmp_path / "qr") == 0
