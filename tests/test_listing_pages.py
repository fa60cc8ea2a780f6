"""Topic, official and people pages through a real build of fixture content (issue 4)."""

from __future__ import annotations

import feedparser
import pytest
from bs4 import BeautifulSoup

from tests.support import checkers
from tests.support.sites import DEFAULT_REGISTRY, article, make_site

REGISTRY = {
    **DEFAULT_REGISTRY,
    "officials/he-jianguo.md": "Title: He Jianguo\nAliases: 何建国\nRole: Party Secretary\nRole_Zh: 市委书记\n"
                               "Description_Zh: 市委书记简介。\n\nSecretary.\n",
    "topics/housing.md": "Title: Housing\nAliases: 住房保障\nSummary: Homes for all.\nSummary_Zh: 住有所居。\n"
                         "Description_Zh: 住房报道。\n\nHomes.\n",
    "topics/food-safety.md": "Title: Food safety\nAliases: 食品安全\n\nNever used.\n",
    "officials/han-yiming.md": "Title: Han Yiming\nAliases: 韩一鸣\nRole: Director\n\nNever named.\n",
}


def transport_article(n: int) -> str:
    # 25 transport articles; every one names the mayor (spelt three ways), every third the vice mayor.
    spelling = ["Tao Minghui", "陶明辉", "Tao Ming-hui"][n % 3]
    officials = spelling + (", Liang Shuwen" if n % 3 == 0 else "")
    topics = "Public transport" + (", Urban renewal" if n % 2 == 0 else "")
    return article(
        title=f"Transport update {n:02d}",
        date=f"2025-{1 + n // 28:02d}-{1 + n % 28:02d} 09:{n:02d}",
        topics=topics,
        officials=officials,
        reporters="Zhou Yiran",
        slug=f"transport-update-{n:02d}",
    )


def fixture_files() -> dict[str, str]:
    files = {f"articles/2025/transport-update-{n:02d}.md": transport_article(n) for n in range(25)}
    files["articles/2025/transport-update-00.zh.md"] = article(
        title="交通动态 00", date="2025-01-01 10:00", topics="公共交通", officials="陶明辉",
        editors="王思琪", lang="zh", slug="transport-update-00",
    )
    files["articles/2025/housing-zh-only.zh.md"] = article(
        title="住房保障新政", date="2025-03-01 10:00", topics="住房保障", officials="何建国", editors="王思琪",
        lang="zh", slug="housing-zh-only",
    )
    return files


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The publish build: absolute URLs, as readers and feed readers get them."""
    return make_site(tmp_path_factory.mktemp("listing"), fixture_files(), registry=REGISTRY, publish=True,
                     SITEURL="https://lanhai.example.gov")


@pytest.fixture(scope="module")
def dev_site(tmp_path_factory):
    """The development build of the same content: relative URLs, so it can be served on loopback with its CSS."""
    return make_site(tmp_path_factory.mktemp("listing-dev"), fixture_files(), registry=REGISTRY)


def page(site, relative: str) -> BeautifulSoup:
    return BeautifulSoup(site.read(relative), "html.parser")


def test_topics_index_lists_topics_with_articles_counts_and_latest_date(site):
    index = page(site, "topics/index.html")
    cards = {c.select_one("h2 a").get_text(): c for c in index.select(".app-card")}
    assert set(cards) == {"Public transport", "Urban renewal", "Housing"}
    assert "25 articles" in cards["Public transport"].get_text()
    assert "13 articles" in cards["Urban renewal"].get_text()
    assert "1 article" in cards["Housing"].get_text()
    latest = cards["Public transport"].select_one("time")
    assert latest.get_text() == "25 January 2025" and latest["datetime"] == "2025-01-25T09:24:00+08:00"
    zh_latest = page(site, "zh/topics/index.html").select_one(".app-card time")
    assert zh_latest.get_text() == "2025年1月25日"  # Chinese date format on Chinese pages


def test_topic_is_paginated_twenty_a_page_with_prev_next(site):
    first = page(site, "topics/public-transport/index.html")
    second = page(site, "topics/public-transport/page/2/index.html")
    assert len(first.select(".app-list__item")) == 20
    assert len(second.select(".app-list__item")) == 5
    assert first.select_one("link[rel=next]")["href"] == "https://lanhai.example.gov/topics/public-transport/page/2/"
    assert second.select_one("link[rel=prev]")["href"] == "https://lanhai.example.gov/topics/public-transport/"
    assert first.select_one(".app-pagination a[rel=next]") is not None
    assert not site.exists("topics/public-transport/page/3/index.html")
    titles = [a.get_text() for a in first.select(".app-list__title a")] + [
        a.get_text() for a in second.select(".app-list__title a")
    ]
    assert titles == [f"Transport update {n:02d}" for n in range(24, -1, -1)]


def test_topic_page_shows_registry_description_officials_and_related_topics(site):
    topic = page(site, "topics/public-transport/index.html")
    assert "Buses and metro." in topic.get_text()
    officials = [li.get_text(" ", strip=True) for li in topic.select("#officials-heading + ul li")]
    assert officials == ["Tao Minghui (25)", "Liang Shuwen (9)"]
    related = [li.get_text(" ", strip=True) for li in topic.select("#related-heading + ul li")]
    assert related == ["Urban renewal (13)"]
    feed_link = topic.select_one('link[rel=alternate][type="application/atom+xml"][href*="topics/public-transport"]')
    assert feed_link["href"] == "https://lanhai.example.gov/topics/public-transport/feed.atom.xml"
    assert topic.select_one("a.app-feed-link")["href"] == feed_link["href"]


def test_aliases_resolve_to_one_canonical_official_page(site):
    mayor = page(site, "officials/tao-minghui/index.html")
    assert mayor.h1.get_text(strip=True) == "Tao Minghui"
    assert "Mayor of Lanhai" in mayor.get_text()
    assert "25 articles" in mayor.get_text()  # the translated story counts once
    topics = [li.get_text(" ", strip=True) for li in mayor.select("#topics-heading + ul li")]
    assert topics[0] == "Public transport (25)"


def test_chinese_pages_use_chinese_names_and_mark_each_item_language(site):
    zh_topic = page(site, "zh/topics/public-transport/index.html")
    assert zh_topic.html["lang"] == "zh-CN"
    assert zh_topic.h1.get_text(strip=True) == "公共交通"
    items = zh_topic.select(".app-list__item")
    # the translated story appears in Chinese; the others stay English and say so
    chinese = [i for i in items if not i.get("lang")]
    english = [i for i in items if i.get("lang") == "en"]
    assert [i.select_one("a").get_text() for i in chinese] == []  # page 1 holds the 20 newest, all English
    assert len(english) == 20
    zh_mayor = page(site, "zh/officials/tao-minghui/index.html")
    assert zh_mayor.h1.get_text(strip=True) == "陶明辉"
    assert "澜海市市长" in zh_mayor.get_text()
    last = page(site, "zh/officials/tao-minghui/page/2/index.html")
    assert "交通动态 00" in [a.get_text() for a in last.select(".app-list__title a")]


def test_registry_entries_without_articles_get_no_page_and_no_link(site):
    assert not site.exists("topics/food-safety/index.html")
    assert not site.exists("officials/han-yiming/index.html")
    for relative in ("topics/index.html", "officials/index.html", "zh/topics/index.html"):
        html = site.read(relative)
        assert "food-safety" not in html and "han-yiming" not in html


def test_people_pages_list_reported_and_edited_articles(site):
    reporter = page(site, "people/zhou-yiran/index.html")
    assert reporter.h1.get_text(strip=True) == "Zhou Yiran"
    assert len(reporter.select(".app-list__item")) == 20
    assert site.exists("people/zhou-yiran/page/2/index.html")
    editor = page(site, "zh/people/wang-siqi/index.html")
    assert editor.h1.get_text(strip=True) == "王思琪"


def test_article_pages_link_every_official_topic_reporter_and_editor(site):
    art = page(site, "2025/01/transport-update-00/index.html")
    hrefs = {a["href"] for a in art.select("a[href]")}
    for url in ("officials/tao-minghui/", "officials/liang-shuwen/", "topics/public-transport/",
                "topics/urban-renewal/", "people/zhou-yiran/", "people/wang-siqi/"):
        assert f"https://lanhai.example.gov/{url}" in hrefs
    zh = page(site, "zh/2025/01/transport-update-00/index.html")
    assert "https://lanhai.example.gov/zh/officials/tao-minghui/" in {a["href"] for a in zh.select("a[href]")}


@pytest.mark.parametrize(
    "feed",
    ["feeds/all.atom.xml", "feeds/en.atom.xml", "feeds/zh.atom.xml", "topics/public-transport/feed.atom.xml",
     "zh/officials/tao-minghui/feed.atom.xml"],
)
def test_feeds_are_valid_atom(site, feed):
    path = site.output / feed
    assert checkers.validate_atom(path) == []
    assert checkers.validate_atom_jing(path) == []
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo and parsed.version == "atom10"
    assert parsed.entries
    for entry in parsed.entries:
        assert entry.link.startswith("https://lanhai.example.gov/")
        assert entry.id.startswith("tag:lanhai.example.gov,")


def test_topic_feed_has_the_topics_articles(site):
    parsed = feedparser.parse((site.output / "topics/urban-renewal/feed.atom.xml").read_bytes())
    assert len(parsed.entries) == 13
    assert parsed.entries[0].title == "Transport update 24"


def test_listing_order_is_deterministic_for_equal_dates(tmp_path):
    files = {
        f"articles/2026/same-{name}.md": article(title=f"Same {name}", slug=f"same-{name}", date="2026-01-01 09:00")
        for name in ("c", "a", "b")
    }
    site = make_site(tmp_path, files)
    titles = [a.get_text() for a in page(site, "topics/public-transport/index.html").select(".app-list__title a")]
    assert titles == ["Same a", "Same b", "Same c"]


def test_feeds_carry_bodies_without_keeping_them(tmp_path):
    """Each Atom entry carries its article's body with absolute links; Pelican's memo of those bodies (one per
    article in any feed, held by both writing processes) is dropped once a feed has used one."""
    from pelican.contents import Content

    files = {f"articles/2026/story-{n}.md": article(title=f"Story {n}", slug=f"story-{n}", date=f"2026-01-1{n} 09:00",
                                                    body=f"Body of story {n}, see [the plan]({{filename}}story-0.md).")
             for n in range(4)}
    Content.get_content.cache.clear()
    site = make_site(tmp_path, files, PORTAL_FEED_BASE="https://news.example.org/")
    kept = [siteurl for _article, siteurl in Content.get_content.cache if siteurl.startswith("https://")]
    assert kept == []
    entry = feedparser.parse((site.output / "feeds/en.atom.xml").read_bytes()).entries[-1]
    assert 'href="https://news.example.org/2026/01/story-0/"' in entry.content[0].value


def assert_nu_and_axe_pass(site, kinds: list[str], browser) -> None:
    messages = checkers.run_vnu([site.output / k for k in kinds])
    assert not messages, checkers.format_vnu(messages)
    with checkers.serve_directory(site.output) as base:
        for kind in kinds:
            violations = checkers.run_axe(browser, f"{base}/{kind}")
            assert not violations, (kind, checkers.format_axe(violations))


def test_new_page_kinds_pass_nu_and_axe(dev_site, browser):
    kinds = ["topics/index.html", "topics/public-transport/index.html", "topics/public-transport/page/2/index.html",
             "officials/index.html", "officials/tao-minghui/index.html", "people/zhou-yiran/index.html",
             "zh/topics/public-transport/index.html", "zh/officials/tao-minghui/index.html"]
    assert_nu_and_axe_pass(dev_site, kinds, browser)


def test_list_items_are_right_for_each_pages_depth_and_language(dev_site):
    """List items are rendered once per variant and reused: every reuse must still fit its page. In the
    development build links are relative, so an item on a deeper page needs a longer path to the same article."""
    import posixpath

    pages = ["index.html", "page/2/index.html", "topics/public-transport/index.html",
             "topics/public-transport/page/2/index.html", "officials/tao-minghui/index.html", "zh/index.html",
             "zh/topics/public-transport/index.html", "people/zhou-yiran/index.html"]
    seen = {}
    for relative in pages:
        soup = page(dev_site, relative)
        items = soup.select("li.app-list__item")
        assert items, relative
        for item in items:
            href = item.select_one(".app-list__title a")["href"]
            target = posixpath.normpath(posixpath.join(posixpath.dirname(relative), href))
            assert (dev_site.output / target / "index.html").is_file(), f"{relative}: {href} -> {target}"
            for tag in item.select("a.app-tag"):
                tag_target = posixpath.normpath(posixpath.join(posixpath.dirname(relative), tag["href"]))
                assert (dev_site.output / tag_target / "index.html").is_file(), f"{relative}: {tag['href']}"
            seen.setdefault(target, set()).add(relative)
        # An item in another language than the page's carries its own lang (that of the article it links).
        page_lang = page(dev_site, relative).html["lang"]
        for item in items:
            href = item.select_one(".app-list__title a")["href"]
            target = posixpath.normpath(posixpath.join(posixpath.dirname(relative), href))
            item_lang = page(dev_site, f"{target}/index.html").html["lang"]
            assert item.get("lang") == (None if item_lang == page_lang else item_lang), (relative, href)
    assert len(seen) > 20 and any(len(on) > 3 for on in seen.values())


@pytest.mark.parametrize(("current", "expected"), [
    (1, [1, 2, 3, None, 13]),
    (4, [1, 2, 3, 4, 5, 6, None, 13]),
    (7, [1, None, 5, 6, 7, 8, 9, None, 13]),
    (10, [1, None, 8, 9, 10, 11, 12, 13]),
    (13, [1, None, 11, 12, 13]),
])
def test_page_window_links_the_ends_and_the_pages_around_the_current_one(current, expected):
    from listing_pages import page_window

    assert page_window(current, 13) == expected
    assert page_window(1, 1) == [1] and page_window(2, 3) == [1, 2, 3]


def test_a_long_listing_links_a_window_of_pages_not_every_page(tmp_path, browser):
    """Thirteen pages of one topic: each page links the first, the last, its neighbours and Previous/Next, with an
    ellipsis for the pages left out, and passes the Nu checker and axe."""
    site = make_site(tmp_path, fixture_files(), registry=REGISTRY,
                     PAGINATED_TEMPLATES={"index": None, "section": None, "topic": 2, "official": 20, "person": 20})
    seventh = page(site, "topics/public-transport/page/7/index.html")
    nav = seventh.select_one("nav.app-pagination")
    assert [li.get_text(strip=True) for li in nav.select("li")] == [
        "Previous page", "Page 1", "…", "Page 5", "Page 6", "Page 7", "Page 8", "Page 9", "…", "Page 13", "Next page"]
    assert nav.select_one("[aria-current=page]").get_text() == "Page 7"
    assert [a["href"] for a in nav.select("a")][1:3] == ["../../../../topics/public-transport/",
                                                      "../../../../topics/public-transport/page/5/"]
    last = page(site, "topics/public-transport/page/13/index.html")
    assert [li.get_text(strip=True) for li in last.select("nav.app-pagination li")] == [
        "Previous page", "Page 1", "…", "Page 11", "Page 12", "Page 13"]
    kinds = ["topics/public-transport/page/7/index.html", "zh/topics/public-transport/page/7/index.html"]
    assert_nu_and_axe_pass(site, kinds, browser)


def test_the_menu_marks_the_page_it_links_and_no_other(site):
    """The menu is rendered once per language, SITEURL and current item (``shared_fragment``): each page still marks
    its own item, and only it."""
    for relative, current in (("index.html", "Home"), ("page/2/index.html", "Home"), ("topics/index.html", "Topics"),
                              ("officials/index.html", "Officials"), ("zh/topics/index.html", "专题"),
                              ("topics/public-transport/index.html", None), ("search/index.html", "Search")):
        marked = [a.get_text(strip=True) for a in page(site, relative).select(".app-nav [aria-current=page]")]
        assert marked == ([current] if current else []), relative
    sections = page(site, "index.html").select(".app-nav a[href*='sections/']")
    assert sections
    href = sections[0]["href"]
    section_page = href.split("://", 1)[-1].split("/", 1)[-1] if "://" in href else href.lstrip("./")
    marked = page(site, section_page + "index.html").select(".app-nav [aria-current=page]")
    assert [a["href"] for a in marked] == [href]


def test_registry_texts_follow_the_page_language_and_fall_back_to_english_marked_as_such(site):
    """A registry entry's ``Summary_Zh``, ``Description_Zh`` and ``Role_Zh`` are what Chinese pages show; an entry
    without them shows its English text there, marked ``lang="en"`` (screen readers switch voice)."""

    def page(relative: str) -> BeautifulSoup:
        return BeautifulSoup((site.output / relative / "index.html").read_text(encoding="utf-8"), "html.parser")

    def description(relative: str) -> tuple[str, str | None]:
        shown = page(relative).select_one(".app-term-header__description")
        return shown.get_text(), shown.get("lang")

    assert description("zh/topics/housing") == ("住房报道。", None)
    assert description("topics/housing") == ("Homes.", None)
    assert description("zh/topics/public-transport") == ("Buses and metro.", "en")
    assert description("zh/officials/he-jianguo") == ("市委书记简介。", None)
    assert description("officials/he-jianguo") == ("Secretary.", None)
    assert description("zh/officials/tao-minghui") == ("Mayor.", "en")

    def meta_description(relative: str) -> str:
        return page(relative).find("meta", attrs={"name": "description"})["content"]

    assert meta_description("zh/topics/housing") == "住有所居。"
    assert meta_description("topics/housing") == "Homes for all."
    assert meta_description("zh/topics/urban-renewal") == "城市更新"  # no Chinese summary: the Chinese name

    def index_summary(relative: str, topic: str) -> tuple[str, str | None]:
        link = page(relative).find("a", href=lambda href: href and href.endswith(f"topics/{topic}/"))
        shown = link.find_parent("li").find("p")
        return shown.get_text(), shown.get("lang")

    assert index_summary("zh/topics", "housing") == ("住有所居。", None)
    assert index_summary("zh/topics", "urban-renewal") == ("Old neighbourhoods.", "en")
    assert index_summary("topics", "urban-renewal") == ("Old neighbourhoods.", None)

    # ... and so do roles (Liang Shuwen has no Role_Zh)
    def role(relative: str, selector: str) -> list[tuple[str, str | None]]:
        return [(shown.get_text(), shown.get("lang")) for shown in page(relative).select(selector)]

    assert role("zh/officials/liang-shuwen", ".app-term-header__role") == [("Vice Mayor", "en")]
    assert role("zh/officials/tao-minghui", ".app-term-header__role") == [("澜海市市长", None)]
    assert ("Vice Mayor", "en") in role("zh/officials", ".app-card__role")
    assert ("Vice Mayor", None) in role("officials", ".app-card__role")
