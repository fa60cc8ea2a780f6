"""The built sample site as readers and checkers see it: valid HTML, zero axe violations, complete metadata."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from bs4 import BeautifulSoup

from tests.support import checkers
from tests.support.sites import REPO_ROOT

SEED = "2021/10/cai-qi-ip-demonstration-city/index.html"

# Each page kind, in both interface languages where the kind exists in both.
PAGE_KINDS = {
    "home": "",
    "home (zh)": "zh/",
    "index page 2": "page/2/",
    "English article (seed)": "2021/10/cai-qi-ip-demonstration-city/",
    "Chinese article": "zh/2025/06/metro-line-4-opens/",
    "page": "about/",
    "page (zh)": "zh/about/",
    "section": "sections/policy/",
    "topics": "topics/",
    "topic": "topics/public-transport/",
    "topic (zh)": "zh/topics/public-transport/",
    "officials": "officials/",
    "official": "officials/tao-minghui/",
    "official (zh)": "zh/officials/tao-minghui/",
    "person": "people/zhou-yiran/",
}


def soup(site: Path, relative: str) -> BeautifulSoup:
    return BeautifulSoup((site / relative).read_text(encoding="utf-8"), "html.parser")


def test_every_html_page_passes_the_nu_html_checker(sample_site):
    messages = checkers.run_vnu([sample_site])
    assert not messages, checkers.format_vnu(messages)


@pytest.mark.parametrize("path", PAGE_KINDS.values(), ids=PAGE_KINDS.keys())
def test_page_kind_has_no_axe_violations(browser, sample_server, path):
    violations = checkers.run_axe(browser, f"{sample_server}/{path}")
    assert not violations, checkers.format_axe(violations)


def test_seed_article_shows_all_its_metadata(sample_site):
    page = soup(sample_site, SEED)
    text = page.get_text(" ", strip=True)
    assert page.h1.get_text(strip=True) == "Cai Qi: Strive to build a demonstration city of intellectual property rights"
    assert "Original title: Strive to build a national democratic country demonstration city" in text
    time = page.select_one(".app-dateline time")
    assert time.get_text() == "2021-10-15 09:00" and time["datetime"] == "2021-10-15T09:00:00+08:00"
    assert "Beijing Daily" in text
    reporters = [a.get_text() for a in page.select(".app-dateline a[href*='people/']")]
    assert reporters == ["Ji Mengzhu", "Fan Junsheng"]
    officials = [a.get_text() for a in page.select(".app-article__terms a[href*='officials/']")]
    assert officials == ["Cai Qi", "Shen Changyu", "Chen Jining", "Zhang Yancun"]
    topics = [a.get_text() for a in page.select(".app-article__terms a[href*='topics/']")]
    assert topics == ["Intellectual property", "Innovation"]
    editors = page.select_one(".app-article__editors").get_text(" ", strip=True)
    assert editors.startswith("(Editor:") and "Bao Congying" in editors and "Gao Xing" in editors
    body = page.select_one(".app-article__body").get_text(" ", strip=True)
    assert body.startswith("Yesterday afternoon, the Municipal Committee")
    assert "Sharing let more people see" not in text
    assert "(Reporter" not in body and "(Editor" not in body and "Original title" not in body
    assert page.select_one("meta[name=PubDate]")["content"] == "2021-10-15 09:00"
    assert page.html["lang"] == "en"


def test_chinese_pages_use_chinese_interface_only(sample_site):
    page = soup(sample_site, "zh/2025/06/metro-line-4-opens/index.html")
    assert page.html["lang"] == "zh-CN"
    nav = [a.get_text() for a in page.select(".app-nav a")]
    assert nav[:3] == ["首页", "专题", "领导"]
    assert page.select_one(".app-dateline dt").get_text() == "发布时间"
    assert page.select_one(".app-article__editors").get_text(strip=True).startswith("（责任编辑：")
    skip = page.select_one(".app-skip-link").get_text()
    assert skip == "跳到正文"


def test_every_interface_string_has_a_chinese_translation():
    """A missing translation would leave English in a Chinese page's interface."""
    import sys

    sys.path.insert(0, str(REPO_ROOT / "plugins"))
    from portal_i18n import catalogue

    messages = catalogue(str(REPO_ROOT / "theme"), "zh")
    method_map = [("**.html", "jinja2")]
    options = {"**.html": {"extensions": "jinja2.ext.i18n", "encoding": "utf-8"}}
    missing = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(REPO_ROOT / "theme" / "templates"), method_map, options
    ):
        msgid = message if isinstance(message, str) else message[0]
        if msgid not in messages:
            missing.add(msgid)
    assert not missing, f"add these to a zh.po catalogue: {sorted(missing)}"


def test_relative_urls_in_dev_build_and_absolute_in_publish_build(sample_site, published_site):
    dev = (sample_site / SEED).read_text(encoding="utf-8")
    pub = (published_site / SEED).read_text(encoding="utf-8")
    assert 'href="../../../theme/' in dev or 'href="../../../theme' in dev
    assert not re.search(r'(href|src)="https://lanhai\.example\.gov/(theme|topics)', dev)
    assert re.search(r'href="https://lanhai\.example\.gov/topics/intellectual-property/"', pub)


def test_index_is_paginated_newest_first(sample_site):
    first = soup(sample_site, "index.html")
    second = soup(sample_site, "page/2/index.html")
    dates = [t["datetime"] for t in first.select(".app-list time")] + [
        t["datetime"] for t in second.select(".app-list time")
    ]
    assert dates == sorted(dates, reverse=True)
    assert len(first.select(".app-list__item")) == 12
    assert first.select_one("link[rel=next]")["href"].endswith("page/2/")
    assert second.select_one("link[rel=prev]")["href"].endswith("/")
