"""Date archives, related articles, previous/next and reading time (plugins/reader_features).

Real Pelican builds: the sample site, and small fixture sites whose dates, terms and lengths are chosen so
every expected list can be written down by hand. Pages pass the Nu HTML Checker and axe in both languages.
"""

from __future__ import annotations

import re
from pathlib import Path

import hypothesis
import hypothesis.strategies
import pytest
from bs4 import BeautifulSoup

from tests.support import checkers
from tests.support.sites import article, make_site

REGISTRY_EXTRA = {
    "officials/fang-zhiyuan.md": "Title: Fang Zhiyuan\nAliases: 方志远\nRole: Director of Transport\n\nDirector.\n",
    "topics/elderly-care.md": "Title: Elderly care\nAliases: 养老服务\n\nCare.\n",
}


def soup_of(site: Path, relative: str) -> BeautifulSoup:
    return BeautifulSoup((site / relative / "index.html").read_text(encoding="utf-8"), "html.parser")


def article_urls(site: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"en": set(), "zh": set()}
    for path in site.rglob("index.html"):
        relative = path.relative_to(site).parent.as_posix() + "/"
        if re.fullmatch(r"(zh/)?\d{4}/\d{2}/[^/]+/", relative):
            found["zh" if relative.startswith("zh/") else "en"].add(relative)
    return found


def linked_articles(soup: BeautifulSoup, selector: str) -> list[str]:
    """Site-relative article URLs linked inside ``selector``, in page order (relative links resolved)."""
    urls = []
    for a in soup.select(f"{selector} a[href]"):
        match = re.search(r"((?:zh/)?\d{4}/\d{2}/[^/]+/)$", a["href"])
        if match:
            urls.append(match.group(1))
    return urls


# --------------------------------------------------------------------------- a site written for these tests


def browsing_files() -> dict:
    """Six stories. Terms and dates make related, archives and prev/next predictable:

    anchor (2026-03-10, en+zh): Public transport + Tao Minghui + Fang Zhiyuan
    twin   (2026-03-05, en):    Public transport + Fang Zhiyuan      -> 3 + 2 = 5
    older  (2025-11-20, en+zh): Public transport + Tao Minghui       -> 3 + 2 = 5 (older than twin)
    topic  (2026-02-01, en):    Public transport                     -> 3
    mayor  (2026-03-01, en):    Tao Minghui                          -> 2
    care   (2025-06-15, zh):    Elderly care + Liang Shuwen          -> 0 (nothing shared)
    """
    def en(title, date, slug, topics, officials, body="Words here.", **extra):
        return article(title=title, date=date, slug=slug, lang="en", category="News", topics=topics,
                       officials=officials, body=body, **extra)

    def zh(title, date, slug, topics, officials, body="这里是正文。"):
        return article(title=title, date=date, slug=slug, lang="zh", category="News", topics=topics,
                       officials=officials, editors="王思琪", body=body)

    return {
        "articles/2026/anchor.md": en("Anchor story", "2026-03-10 09:00", "anchor", "Public transport",
                                      "Tao Minghui, Fang Zhiyuan", body=" ".join(["word"] * 660)),
        "articles/2026/anchor.zh.md": zh("锚点新闻", "2026-03-10 09:00", "anchor", "公共交通", "陶明辉、方志远",
                                         body="澜" * 1050),
        "articles/2026/twin.md": en("Twin story", "2026-03-05 09:00", "twin", "Public transport", "Fang Zhiyuan"),
        "articles/2025/older.md": en("Older story", "2025-11-20 09:00", "older", "Public transport", "Tao Minghui"),
        "articles/2025/older.zh.md": zh("较早的新闻", "2025-11-20 09:00", "older", "公共交通", "陶明辉"),
        "articles/2026/topic.md": en("Topic story", "2026-02-01 09:00", "topic", "Public transport", None),
        "articles/2026/mayor.md": en("Mayor story", "2026-03-01 09:00", "mayor", "Urban renewal", "Tao Minghui"),
        "articles/2025/care.zh.md": zh("养老新闻", "2025-06-15 09:00", "care", "养老服务", "梁书文"),
    }


@pytest.fixture(scope="module")
def browsing_site(tmp_path_factory):
    from tests.support.sites import DEFAULT_REGISTRY

    return make_site(tmp_path_factory.mktemp("browsing"), browsing_files(), {**DEFAULT_REGISTRY, **REGISTRY_EXTRA})


def test_related_articles_are_weighted_by_shared_officials_and_topics_then_recency(browsing_site):
    related = linked_articles(soup_of(browsing_site.output, "2026/03/anchor"), ".app-related-articles")
    assert related == ["2026/03/twin/", "2025/11/older/", "2026/02/topic/", "2026/03/mayor/"]
    # the Chinese version lists the same stories, each in Chinese where it exists
    related_zh = linked_articles(soup_of(browsing_site.output, "zh/2026/03/anchor"), ".app-related-articles")
    assert related_zh == ["zh/2025/11/older/", "2026/03/twin/", "2026/02/topic/", "2026/03/mayor/"]
    # a story sharing nothing gets no related block at all (no empty heading)
    assert soup_of(browsing_site.output, "zh/2025/06/care").select(".app-related-articles") == []


def test_related_prefers_the_readers_language_only_among_equal_scores(browsing_site):
    # twin and older both score 5; on the Chinese page older (which has a Chinese version) moves ahead,
    # but never ahead of a better score: topic (3) and mayor (2) stay behind both.
    related_zh = linked_articles(soup_of(browsing_site.output, "zh/2026/03/anchor"), ".app-related-articles")
    assert related_zh.index("zh/2025/11/older/") < related_zh.index("2026/03/twin/") < related_zh.index(
        "2026/02/topic/")
    item = soup_of(browsing_site.output, "zh/2026/03/anchor").select(".app-related-articles__item")[1]
    assert item["lang"] == "en" and item.a["hreflang"] == "en"


def test_related_is_deterministic_across_builds(tmp_path, browsing_site):
    from tests.support.sites import DEFAULT_REGISTRY

    again = make_site(tmp_path, browsing_files(), {**DEFAULT_REGISTRY, **REGISTRY_EXTRA})
    for page in ("2026/03/anchor", "zh/2026/03/anchor", "2026/03/twin", "2025/11/older"):
        first = soup_of(browsing_site.output, page).select(".app-related-articles")
        second = soup_of(again.output, page).select(".app-related-articles")
        assert str(first) == str(second)


def test_related_on_the_sample_site_is_sensible(sample_site):
    related = linked_articles(soup_of(sample_site, "2025/06/metro-line-4-opens"), ".app-related-articles")
    # shares Public transport and Fang Zhiyuan; the next two share Public transport and the mayor
    assert related[:3] == ["2026/04/bus-network-redesign/", "2025/01/government-work-report-2025/",
                           "2024/01/mayor-new-year-address-2024/"]
    assert "2025/06/metro-line-4-opens/" not in related


def test_previous_and_next_stay_in_the_language_and_follow_the_dates(browsing_site):
    out = browsing_site.output

    def neighbours(page):
        soup = soup_of(out, page)
        prev = soup.select_one(".app-prev-next a[rel=prev]")
        nxt = soup.select_one(".app-prev-next a[rel=next]")
        return (linked_articles(prev.parent, "") [0] if prev else None,
                linked_articles(nxt.parent, "")[0] if nxt else None)

    # English, oldest to newest: older, topic, mayor, twin, anchor
    assert neighbours("2025/11/older") == (None, "2026/02/topic/")
    assert neighbours("2026/03/mayor") == ("2026/02/topic/", "2026/03/twin/")
    assert neighbours("2026/03/anchor") == ("2026/03/twin/", None)
    # Chinese: care, older, anchor (the English-only stories are skipped)
    assert neighbours("zh/2025/06/care") == (None, "zh/2025/11/older/")
    assert neighbours("zh/2025/11/older") == ("zh/2025/06/care/", "zh/2026/03/anchor/")
    labels = [s.get_text() for s in soup_of(out, "zh/2025/11/older").select(".app-prev-next__label")]
    assert labels == ["上一篇", "下一篇"]


def test_previous_and_next_chain_through_every_sample_article_of_a_language(sample_site):
    for lang, urls in article_urls(sample_site).items():
        for url in urls:
            soup = soup_of(sample_site, url)
            for rel, back in (("prev", "next"), ("next", "prev")):
                link = soup.select_one(f".app-prev-next a[rel={rel}]")
                if link is None:
                    continue
                target = re.search(r"((?:zh/)?\d{4}/\d{2}/[^/]+/)$", link["href"]).group(1)
                assert target.startswith("zh/") == (lang == "zh"), (url, target)
                # the neighbour points back
                back_link = soup_of(sample_site, target).select_one(f".app-prev-next a[rel={back}]")
                assert back_link["href"].endswith(url), (url, target)
        ends = [u for u in urls if len(soup_of(sample_site, u).select(".app-prev-next a")) == 1]
        assert len(ends) == 2, f"{lang}: one oldest and one newest, found {ends}"


def test_reading_time_counts_english_words_and_chinese_characters(browsing_site):
    def reading(page):
        soup = soup_of(browsing_site.output, page)
        row = [r for r in soup.select(".app-dateline__row") if r.dt.get_text() in ("Reading time", "阅读时间")]
        return row[0].dd.get_text()

    # 660 words + the heading-free body at 220 words a minute: 3 minutes; 1050 characters at 350 a minute: 3
    assert reading("2026/03/anchor") == "about 3 minutes"
    assert reading("zh/2026/03/anchor") == "约3分钟"
    assert reading("2026/03/twin") == "about 1 minute"


def test_reading_time_counts_mixed_text_by_both_measures():
    from reader_features.reading_time import count_text, reading_minutes

    assert count_text("澜海地铁4号线 opened on Monday, don't miss it") == (6, 7)
    assert reading_minutes("<p>" + "字" * 700 + "</p>", 350, 220) == 2
    assert reading_minutes("<p>" + "word " * 221 + "</p>", 350, 220) == 2
    assert reading_minutes("<p>" + "字" * 175 + " word" * 110 + "</p>", 350, 220) == 1
    assert reading_minutes("", 350, 220) == 1


# Pieces HTML bodies are made of, and the edge cases of MarkupSafe's ``striptags``: unclosed "<", a stray ">",
# entities that join or split words, comments (with tags inside, or "<!-->").
HTML_PIECES = ["<p>", "</p>", "<a href=\"/x?a=1&amp;b=2\">", "</a>", "<br>", "<img alt=\"a > b\">", "word",
               "don", "&#8217;", "&rsquo;", "t", "&amp;", "&nbsp;", "&#45;", "&lt;", "&gt;", "地铁", "澜海", "31",
               "-", "'", " ", "\n", "<", ">", "<!--", "-->", "<!-- <p>x</p> -->", "<!-->", "&", "&#x4e2d;"]


@hypothesis.settings(max_examples=400, deadline=None)
@hypothesis.given(hypothesis.strategies.lists(hypothesis.strategies.sampled_from(HTML_PIECES), max_size=40))
def test_reading_time_counts_the_text_striptags_leaves(pieces):
    from markupsafe import Markup
    from reader_features.reading_time import count_text, html_counts

    body = "".join(pieces)
    assert html_counts(body) == count_text(Markup(body).striptags())


def test_reading_time_on_the_sample_site(sample_site):
    en = soup_of(sample_site, "2025/06/metro-line-4-opens").select_one(".app-dateline").get_text(" ")
    zh = soup_of(sample_site, "zh/2025/06/metro-line-4-opens").select_one(".app-dateline").get_text(" ")
    assert re.search(r"Reading time\s+about \d+ minutes?", en)
    assert re.search(r"阅读时间\s+约\d+分钟", zh)


# --------------------------------------------------------------------------- archives


def period_url(href: str) -> str:
    """The site-relative URL of a year's or a month's page (relative links resolved)."""
    return re.search(r"((?:zh/)?\d{4}/(?:\d{2}/)?)$", href).group(1)


def test_the_archive_is_an_index_of_years_and_months_with_their_counts(browsing_site):
    out = browsing_site.output
    for page, years, months, counts in (
        ("archives", [("2026", "2026/"), ("2025", "2025/")],
         [("March", "2026/03/", "(3)"), ("February", "2026/02/", "(1)"), ("November", "2025/11/", "(1)"),
          ("June", "2025/06/", "(1)")], ["4 articles", "2 articles"]),
        ("zh/archives", [("2026年", "zh/2026/"), ("2025年", "zh/2025/")],
         [("3月", "zh/2026/03/", "(3)"), ("2月", "zh/2026/02/", "(1)"), ("11月", "zh/2025/11/", "(1)"),
          ("6月", "zh/2025/06/", "(1)")], ["4篇文章", "2篇文章"]),
    ):
        soup = soup_of(out, page)
        assert [(a.get_text(strip=True), period_url(a["href"])) for a in soup.select("main h2 a")] == years
        assert [(li.a.get_text(strip=True), period_url(li.a["href"]), li.select_one(".app-count").get_text(strip=True))
                for li in soup.select("main .app-archive-year li")] == months
        assert [p.get_text(strip=True) for p in soup.select("main .app-archive-year > .app-count")] == counts
        # the stories are on the periods' own pages
        assert linked_articles(soup, "main") == []


def test_year_pages_list_every_story_once_in_each_language(browsing_site):
    out = browsing_site.output
    en = [url for year in ("2026", "2025") for url in linked_articles(soup_of(out, year), "main .app-archive-list")]
    zh = [url for year in ("zh/2026", "zh/2025")
          for url in linked_articles(soup_of(out, year), "main .app-archive-list")]
    assert en == ["2026/03/anchor/", "2026/03/twin/", "2026/03/mayor/", "2026/02/topic/", "2025/11/older/",
                  "zh/2025/06/care/"]
    assert zh == ["zh/2026/03/anchor/", "2026/03/twin/", "2026/03/mayor/", "2026/02/topic/", "zh/2025/11/older/",
                  "zh/2025/06/care/"]
    headings = [h.get_text(strip=True) for h in soup_of(out, "2026").select("main h2")]
    assert headings == ["March 2026", "February 2026"]


def test_every_sample_article_is_on_a_month_page_its_year_page_links(sample_site):
    listed = set()
    for prefix in ("", "zh/"):
        years = [period_url(a["href"]) for a in soup_of(sample_site, f"{prefix}archives").select("main h2 a")]
        assert years
        for year in years:
            months = [period_url(a["href"]) for a in soup_of(sample_site, year).select("main .app-archive-years a")]
            assert months and all(month.startswith(year) for month in months), (year, months)
            for month in months:
                listed |= set(linked_articles(soup_of(sample_site, month), "main .app-list"))
    everything = article_urls(sample_site)
    assert listed == everything["en"] | everything["zh"]


def test_a_year_page_lists_each_months_newest_stories_and_links_the_rest(tmp_path):
    from tests.support.sites import DEFAULT_REGISTRY

    site = make_site(tmp_path, browsing_files(), {**DEFAULT_REGISTRY, **REGISTRY_EXTRA},
                     READER_YEAR_STORIES_PER_MONTH=2)
    for year, stories, more, counts in (
        ("2026", ["2026/03/anchor/", "2026/03/twin/", "2026/02/topic/"],
         [("All 3 articles from March 2026", "2026/03/")], ["(3)", "(1)"]),
        ("zh/2026", ["zh/2026/03/anchor/", "2026/03/twin/", "2026/02/topic/"],
         [("2026年3月全部3篇文章", "zh/2026/03/")], ["(3)", "(1)"]),
    ):
        soup = soup_of(site.output, year)
        assert linked_articles(soup, "main .app-archive-list") == stories
        links = soup.select("main .app-archive-more a")
        assert [(a.get_text(strip=True), period_url(a["href"])) for a in links] == more
        # the months' counts are of all their stories, and the year's too
        assert [c.get_text(strip=True) for c in soup.select("main .app-archive-years .app-count")] == counts
        assert soup.select_one("main p.app-count").get_text(strip=True) in ("4 articles", "4篇文章")
    # a month that fits shows no link to the rest; the month's own page lists every story
    assert soup_of(site.output, "2025").select("main .app-archive-more") == []
    assert linked_articles(soup_of(site.output, "2026/03"), "main .app-list") == [
        "2026/03/anchor/", "2026/03/twin/", "2026/03/mayor/"]
    assert checkers.run_vnu([site.output / "2026/index.html", site.output / "zh/2026/index.html"]) == []


def test_with_no_stories_per_month_a_year_page_links_its_months(tmp_path):
    from tests.support.sites import DEFAULT_REGISTRY

    site = make_site(tmp_path, browsing_files(), {**DEFAULT_REGISTRY, **REGISTRY_EXTRA},
                     READER_YEAR_STORIES_PER_MONTH=0)
    soup = soup_of(site.output, "2026")
    assert soup.select("main .app-archive-list") == []
    assert [(a.get_text(strip=True), period_url(a["href"])) for a in soup.select("main .app-archive-more a")] == [
        ("All 3 articles from March 2026", "2026/03/"), ("1 article from February 2026", "2026/02/")]


@pytest.mark.parametrize("value", [-1, "5", True])
def test_a_bad_stories_per_month_setting_stops_the_build_and_says_why(tmp_path, value):
    from tests.support.sites import DEFAULT_REGISTRY, SiteBuildError

    with pytest.raises(SiteBuildError, match=r"READER_YEAR_STORIES_PER_MONTH must be a whole number, 0 or more"):
        make_site(tmp_path, browsing_files(), DEFAULT_REGISTRY, READER_YEAR_STORIES_PER_MONTH=value)


def test_year_and_month_pages_list_the_right_articles(browsing_site):
    out = browsing_site.output
    assert linked_articles(soup_of(out, "2026"), "main .app-archive-list") == [
        "2026/03/anchor/", "2026/03/twin/", "2026/03/mayor/", "2026/02/topic/"]
    assert linked_articles(soup_of(out, "2025"), "main .app-archive-list") == ["2025/11/older/", "zh/2025/06/care/"]
    assert linked_articles(soup_of(out, "zh/2025"), "main .app-archive-list") == [
        "zh/2025/11/older/", "zh/2025/06/care/"]
    assert linked_articles(soup_of(out, "2026/03"), "main .app-list") == [
        "2026/03/anchor/", "2026/03/twin/", "2026/03/mayor/"]
    assert linked_articles(soup_of(out, "zh/2026/03"), "main .app-list") == [
        "zh/2026/03/anchor/", "2026/03/twin/", "2026/03/mayor/"]
    assert linked_articles(soup_of(out, "2025/06"), "main .app-list") == ["zh/2025/06/care/"]
    # only months with articles get a page; nothing overwrote an article
    assert not (out / "2026/01/index.html").exists()
    assert (out / "2026/03/anchor/index.html").exists()
    assert soup_of(out, "2026/03").h1.get_text() == "Archives: March 2026"
    assert soup_of(out, "zh/2026/03").h1.get_text() == "往期归档：2026年3月"


def test_period_pages_link_up_and_switch_language(browsing_site):
    soup = soup_of(browsing_site.output, "zh/2026/03")
    crumbs = [a["href"] for a in soup.select(".app-breadcrumbs a")]
    assert [c.split("/zh/", 1)[-1] for c in crumbs[1:]] == ["archives/", "2026/"]
    switch = soup.select_one(".app-lang-switch a")["href"]
    assert switch.endswith("/2026/03/") and "/zh/" not in switch


def test_the_footer_links_the_archives(sample_site):
    for page, target in (("", "archives/"), ("zh", "zh/archives/")):
        soup = soup_of(sample_site, page) if page else BeautifulSoup(
            (sample_site / "index.html").read_text(encoding="utf-8"), "html.parser")
        assert any(a["href"].endswith(target) for a in soup.select("footer a"))


# --------------------------------------------------------------------------- checkers and screenshots

PAGES = ["archives", "zh/archives", "2025", "zh/2025", "2025/06", "zh/2025/06", "2025/06/metro-line-4-opens",
         "zh/2025/06/metro-line-4-opens"]


def test_nu_html_checker_finds_nothing(sample_site):
    messages = checkers.run_vnu([sample_site / page / "index.html" for page in PAGES])
    assert messages == [], checkers.format_vnu(messages)


@pytest.mark.parametrize("page", PAGES)
def test_axe_finds_nothing(sample_server, browser, page):
    violations = checkers.run_axe(browser, f"{sample_server}/{page}/")
    assert violations == [], checkers.format_axe(violations)


@pytest.mark.parametrize("width", [320, 1280])
def test_screenshots_of_the_archives(sample_server, tmp_path_factory, width):
    folder = tmp_path_factory.mktemp(f"archive-shots-{width}")
    driver = checkers.chromium_driver(width=width, height=900)
    try:
        for page in ("archives", "zh/archives", "2025", "zh/2025/06/metro-line-4-opens"):
            driver.get(f"{sample_server}/{page}/")
            assert driver.execute_script("return document.documentElement.scrollWidth") <= width, page
            shot = folder / (page.replace("/", "-") + f"-{width}.png")
            driver.save_screenshot(str(shot))
            assert shot.stat().st_size > 10_000
    finally:
        driver.quit()


def test_reading_time_counts_are_cached_by_body_and_code(tmp_path):
    """The counts cache gives what counting gives; a damaged cache file, or one from other code, is not used."""
    from reader_features.reading_time import CountCache, html_counts

    body = "<p>" + "字" * 30 + " and some English words</p>"
    cache = CountCache(tmp_path)
    assert cache.counts(body) == html_counts(body) == (30, 4)
    cache.save()
    again = CountCache(tmp_path)
    key = next(iter(again.known))
    again.known[key] = [1, 1]  # a cached answer is what is used...
    assert again.counts(body) == (1, 1)
    for damaged in ("not json", '{"code": "other code", "counts": {"%s": [1, 1]}}' % key, '{"code": 1}'):
        cache.path.write_text(damaged, encoding="utf-8")
        assert CountCache(tmp_path).counts(body) == (30, 4)


def test_reading_time_counts_of_a_packed_body_are_its_texts_and_known_without_unpacking_it(tmp_path, monkeypatch):
    """A body an article holds packed (``content_model.bodies``) is counted as its text, under a key of its own; a
    known one is not unpacked."""
    from content_model import bodies
    from reader_features.reading_time import CountCache

    body = "<p>" + "字" * 600 + " and some English words</p>"
    packed = bodies.pack(body)
    cache = CountCache(tmp_path)
    assert cache.counts(packed) == cache.counts(body) == (600, 4)
    assert len(cache.used) == 2
    cache.save()
    monkeypatch.setattr(bodies, "unpack", lambda packed: pytest.fail("a known body was unpacked"))
    assert CountCache(tmp_path).counts(packed) == (600, 4)


def _stories(rng, count: int):
    """Stories as reader_features sees them (``listing_pages.Story``): terms drawn from a few topics and officials, so
    that many share them and the per-term cut (``per_term``) matters."""
    import datetime as dt
    from types import SimpleNamespace

    from listing_pages import Story

    stories = []
    for number in range(count):
        langs = rng.choice([["en"], ["zh"], ["en", "zh"]])
        date = dt.datetime(2020, 1, 1) + dt.timedelta(hours=rng.randrange(24 * 400))
        versions = {}
        for lang in langs:
            versions[lang] = SimpleNamespace(
                slug=f"story-{number}", lang=lang, date=date,
                topics=[SimpleNamespace(slug=f"t{n}") for n in sorted(rng.sample(range(8), rng.randint(1, 3)))],
                officials=[SimpleNamespace(slug=f"o{n}") for n in sorted(rng.sample(range(12), rng.randint(0, 3)))])
        stories.append(Story(original=versions[langs[0]], versions=versions))
    return stories


def _named(related, stories):
    return {f"{s.original.lang}/{s.original.slug}": {lang: [f"{o.original.lang}/{o.original.slug}" for o in items]
                                                     for lang, items in related[id(s)].items()} for s in stories}


def test_related_stories_from_the_cache_are_the_ones_ranked_afresh_after_every_kind_of_edit(tmp_path):
    """``RelatedCache``: a rebuild ranks again only the stories an edit reaches, and what it takes from the cache is
    what ranking every story again gives: after a story gains a term, moves in time, gains a language, is deleted, is
    added, and after the ranking's settings change."""
    import copy
    import random
    from types import SimpleNamespace

    from reader_features.related import RelatedCache, related_stories

    rng = random.Random(7)
    stories = _stories(rng, 300)
    ranking = ({"topics": 3, "officials": 2}, 4, 25)

    def rank(stories, ranking=ranking):
        cache = RelatedCache(tmp_path, *ranking)
        cached = related_stories(stories, *ranking, cache=cache)
        cache.save()
        fresh = related_stories(stories, *ranking)
        assert _named(cached, stories) == _named(fresh, stories)
        return sum(key in cache.known for key in cache.used)  # stories taken from the cache

    assert rank(stories) == 0
    assert rank(stories) == 300

    edits = []
    gains = copy.copy(stories[40].original)
    gains.topics = [*gains.topics, SimpleNamespace(slug="t7")]
    stories[40].versions[gains.lang] = stories[40].original = gains
    edits.append(rank(stories))
    import datetime as dt

    for version in stories[7].versions.values():
        version.date = dt.datetime(2021, 6, 1)
    edits.append(rank(stories))
    story = next(s for s in stories if list(s.versions) == ["en"])
    story.versions["zh"] = SimpleNamespace(slug=story.original.slug, lang="zh", date=story.original.date,
                                           topics=story.original.topics, officials=[])
    edits.append(rank(stories))
    del stories[100]
    edits.append(rank(stories))
    stories.extend(_stories(random.Random(8), 1))
    stories[-1].original.slug = "story-new"
    edits.append(rank(stories))
    assert all(0 < taken < len(stories) for taken in edits), edits
    assert rank(stories, ({"topics": 1, "officials": 2}, 4, 25)) == 0  # other settings: another file


def test_related_cache_keys_hold_the_candidates_dates_and_languages(tmp_path):
    """Two edits that leave every term's candidates in the same order yet change a ranking: a candidate moving in time
    past a candidate of another term (equal scores rank newest first), and a candidate gaining the reader's
    language (equal scores prefer it)."""
    import datetime as dt
    from types import SimpleNamespace

    from listing_pages import Story
    from reader_features.related import RelatedCache, related_stories

    def story(slug, day, topics, langs=("en",)):
        versions = {lang: SimpleNamespace(slug=slug, lang=lang, date=dt.datetime(2020, 1, day), officials=[],
                                          topics=[SimpleNamespace(slug=t) for t in topics]) for lang in langs}
        return Story(original=versions[langs[0]], versions=versions)

    def best(stories, reader, lang):
        cache = RelatedCache(tmp_path, {"topics": 3}, 2, 25)
        related = related_stories(stories, {"topics": 3}, 2, 25, cache=cache)
        cache.save()
        return [other.original.slug for other in related[id(reader)][lang]]

    reader = story("reader", 20, ["t1", "t2"])
    moving = story("moving", 5, ["t1"])
    stories = [reader, story("newest", 10, ["t1"]), moving, story("oldest", 1, ["t1"]), story("other", 3, ["t2"])]
    assert best(stories, reader, "en") == ["newest", "moving"]
    for version in moving.versions.values():
        version.date = dt.datetime(2020, 1, 2)  # still between "newest" and "oldest" in t1, now older than "other"
    assert best(stories, reader, "en") == ["newest", "other"]

    zh_reader = story("zh-reader", 20, ["t3"], langs=("zh",))
    english = story("english", 10, ["t3"])
    stories = [zh_reader, english, story("chinese", 5, ["t3"], langs=("zh",)), story("old", 1, ["t3"])]
    assert best(stories, zh_reader, "zh")[0] == "chinese"
    english.versions["zh"] = SimpleNamespace(slug="english", lang="zh", date=english.original.date, officials=[],
                                             topics=english.original.topics)
    assert best(stories, zh_reader, "zh")[0] == "english"


# --------------------------------------------------------------------------- the not-found page


NOT_FOUND_PAGES = {"404.html": "en", "zh/404.html": "zh"}


@pytest.fixture(scope="module")
def dev_server_of_sample(sample_site):
    """The development build served by `invoke serve`'s server (tasks.site_server) on loopback."""
    import tasks

    with checkers.serving(tasks.site_server(sample_site, "127.0.0.1", 0)) as base:
        yield base


def page_links(page: Path) -> list[str]:
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    return [tag.get(name) for tag in soup.find_all(True) for name in ("href", "src", "action") if tag.get(name)]


def test_the_not_found_pages_say_what_happened_in_each_language_and_link_from_the_root(sample_site):
    for relative, lang in NOT_FOUND_PAGES.items():
        soup = BeautifulSoup((sample_site / relative).read_text(encoding="utf-8"), "html.parser")
        assert soup.html["lang"] == ("zh-CN" if lang == "zh" else "en")
        assert soup.find("meta", attrs={"name": "robots"})["content"] == "noindex"
        assert soup.h1.get_text() == ("页面未找到" if lang == "zh" else "Page not found")
        # ... then the other language's part, marked as such
        other = soup.select(".app-not-found--other")
        assert [part["lang"] for part in other] == (["en"] if lang == "zh" else ["zh-CN"])
        assert other[0].h2.get_text() == ("Page not found" if lang == "zh" else "页面未找到")
        forms = soup.select("form[role=search]")
        assert [form["action"] for form in forms] == (["/zh/search/", "/search/"] if lang == "zh"
                                                      else ["/search/", "/zh/search/"])
        assert all(form.find("input", attrs={"name": "q"}) for form in forms)
        assert soup.find(attrs={"data-pagefind-body": True}) is None, "the search index would hold it"
        # Served for a missing address at any depth: every link is root-relative, none relative to its folder.
        links = page_links(sample_site / relative)
        relative_links = [link for link in links if not re.match(r"(/(?!/)|#|[a-z]+:)", link)]
        assert links and relative_links == [], relative_links
        for link in links:
            target = link.split("#", 1)[0] if link.startswith("/") else ""
            if target:
                path = sample_site / target.lstrip("/")
                assert path.is_file() or (path / "index.html").is_file(), f"{relative} links {link}: missing"
    assert "404" not in (sample_site / "sitemap.xml").read_text(encoding="utf-8")


def test_the_public_not_found_pages_link_the_site_absolutely(published_site):
    from tests.conftest import SAMPLE_SITEURL

    for relative in NOT_FOUND_PAGES:
        links = [link for link in page_links(published_site / relative) if not link.startswith(("#", "mailto:"))]
        assert links and all(link.startswith(SAMPLE_SITEURL + "/") for link in links), links


def test_the_not_found_pages_pass_the_nu_html_checker(sample_site, published_site):
    messages = checkers.run_vnu([site / page for site in (sample_site, published_site) for page in NOT_FOUND_PAGES])
    assert messages == [], checkers.format_vnu(messages)


def test_invoke_serve_answers_a_missing_address_with_the_not_found_page_of_its_language(sample_site,
                                                                                         dev_server_of_sample):
    import urllib.error
    import urllib.request

    for path, page in (("2026/01/no-such-story/", "404.html"), ("zh/2026/01/no-such-story/", "zh/404.html"),
                       ("no-such-page.html", "404.html"), ("%2e%2e/zh/x", "404.html")):
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(f"{dev_server_of_sample}/{path}", timeout=10)
        assert answer.value.code == 404, path
        assert answer.value.headers["Content-Type"] == "text/html; charset=utf-8"
        assert answer.value.read() == (sample_site / page).read_bytes(), path
    with urllib.request.urlopen(f"{dev_server_of_sample}/topics/", timeout=10) as found:
        assert found.status == 200


@pytest.mark.parametrize("path", ["2026/01/no-such-story/", "zh/2026/no-such-page"])
def test_the_not_found_page_at_depth_is_styled_and_passes_axe(dev_server_of_sample, browser, path):
    violations = checkers.run_axe(browser, f"{dev_server_of_sample}/{path}")
    assert violations == [], checkers.format_axe(violations)
    loaded = browser.execute_script("return [...document.styleSheets].filter(s => s.cssRules.length).map(s => s.href)")
    assert any(re.search(r"/theme/css/portal\.[0-9a-f]{8}\.css$", href or "") for href in loaded), loaded
    assert browser.execute_script("return document.documentElement.classList.contains('js')"), "portal.js did not run"


@pytest.mark.parametrize("width", [320, 1280])
def test_screenshots_of_the_not_found_pages(dev_server_of_sample, tmp_path_factory, width):
    folder = tmp_path_factory.mktemp(f"not-found-shots-{width}")
    driver = checkers.chromium_driver(width=width, height=900)
    try:
        for path in ("2026/01/no-such-story/", "zh/2026/no-such-page"):
            driver.get(f"{dev_server_of_sample}/{path}")
            assert driver.execute_script("return document.documentElement.scrollWidth") <= width, path
            shot = folder / (path.strip("/").replace("/", "-") + f"-{width}.png")
            driver.save_screenshot(str(shot))
            assert shot.stat().st_size > 10_000
    finally:
        driver.quit()
