"""The content model through real Pelican builds: names resolve, bad metadata stops the build with path:line."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import os
import re
import shutil

import pytest
from bs4 import BeautifulSoup

from tests.support.sites import REPO_ROOT, SiteBuildError, article, make_site, write_content


def build_error(tmp_path, text: str, name: str = "articles/2026/bad-article.md") -> str:
    with pytest.raises(SiteBuildError) as caught:
        make_site(tmp_path, {name: text})
    return caught.value.log


def test_good_article_builds_and_resolves_aliases(tmp_path):
    site = make_site(
        tmp_path,
        {
            "articles/2026/renewal.md": article(
                title="Renewal plan", topics="城市更新; public-transport", officials="Tao Ming Hui, 梁书文",
                reporters="周怡然", slug="renewal",
            )
        },
    )
    html = site.read("2026/03/renewal/index.html")
    # aliases resolve to the canonical names, linked to the canonical pages
    assert 'href="../../../officials/tao-minghui/">Tao Minghui</a>' in html
    assert ">Liang Shuwen</a>" in html
    assert 'href="../../../topics/urban-renewal/">Urban renewal</a>' in html
    assert ">Zhou Yiran</a>" in html
    assert "Tao Ming Hui" not in html and "梁书文" not in html


@pytest.mark.parametrize(
    ("fields", "line", "expected"),
    [
        ({"officials": "Liang Shuwn"}, 5, r"unknown official `Liang Shuwn` in `Officials`: did you mean Liang Shuwen\?"),
        ({"topics": "Urban renewel"}, 3, r"unknown topic `Urban renewel` in `Topics`: did you mean Urban renewal\?"),
        ({"date": "2026-02-30 09:00"}, 2, r"`Date: 2026-02-30 09:00` is not a real date"),
        ({"date": "18 March 2026"}, 2, r"`Date: 18 March 2026` must be written YYYY-MM-DD HH:MM"),
        ({"title": ""}, 1, r"`Title` is required"),
        ({"topics": ""}, 1, r"`Topics` is required"),
        ({"lang": "fr"}, 5, r"`Lang: fr` is not supported"),
        ({"category": "Polcy"}, 5, r"unknown section `Polcy`: did you mean Policy\?"),
        ({"offcials": "Tao Minghui"}, 5, r"unknown metadata key `Offcials`; did you mean `Officials`\?"),
        ({"image": "images/missing.jpg", "image_alt": "A picture"}, 5, r"image `images/missing.jpg` does not exist"),
        ({"image": "../../etc/passwd", "image_alt": "x"}, 5, r"`\.\./\.\./etc/passwd` points outside content/"),
    ],
)
def test_bad_metadata_stops_the_build_with_path_line_and_value(tmp_path, fields, line, expected):
    values = {"title": "A headline", "date": "2026-03-18 09:30", "topics": "Public transport", "editors": "Wang Siqi"}
    values.update(fields)
    # drop empty required keys entirely, as an editor who forgot them would
    text = article(**{k: (v if v else None) for k, v in values.items()})
    log = build_error(tmp_path, text)
    assert re.search(rf"content/articles/2026/bad-article\.md:{line}: error: {expected}", log), log
    assert "Traceback" not in log
    assert "nothing was written" in log
    assert not (tmp_path / "output" / "index.html").exists()


def test_every_problem_is_reported_in_one_run(tmp_path):
    with pytest.raises(SiteBuildError) as caught:
        make_site(
            tmp_path,
            {
                "articles/2026/a.md": article(officials="Nobody Known"),
                "articles/2026/b.md": article(title="Other", topics="No Such Topic"),
            },
        )
    log = caught.value.log
    assert "a.md:5: error: unknown official `Nobody Known`" in log
    assert "b.md:3: error: unknown topic `No Such Topic`" in log


def test_duplicate_slug_is_an_error_naming_both_files(tmp_path):
    with pytest.raises(SiteBuildError) as caught:
        make_site(
            tmp_path,
            {
                "articles/2026/one.md": article(slug="same-slug"),
                "articles/2025/two.md": article(title="Two", slug="same-slug"),
            },
        )
    assert re.search(r"slug `same-slug` in language `en` is already used by content/articles/202[56]/(one|two)\.md",
                     caught.value.log)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "the file is empty"),
        (b"Title: x\n", "the file has a header but no body text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "NUL bytes"),
        ("Title: 标题\n\n正文".encode("gbk"), "not UTF-8"),
        (b"Title: ok\nDate: 2026-01-01 10:00\nTopics: Public transport\nEditors: Wang Siqi\n\nBell \x07 here\n",
         "control character U+0007"),
    ],
)
def test_unreadable_files_get_a_clear_error(tmp_path, data, expected):
    log = build_error(tmp_path, data)  # type: ignore[arg-type]
    assert "content/articles/2026/bad-article.md:" in log
    assert expected in log
    assert "Traceback" not in log


def test_translation_shares_slug_and_links_both_ways(tmp_path):
    site = make_site(
        tmp_path,
        {
            "articles/2026/metro.md": article(slug="metro", lang="en"),
            "articles/2026/metro.zh.md": article(title="地铁4号线开通", slug="metro", lang="zh",
                                                 topics="公共交通", editors="王思琪"),
        },
    )
    en = site.read("2026/03/metro/index.html")
    zh = site.read("zh/2026/03/metro/index.html")
    assert 'hreflang="zh-CN" href="../../../zh/2026/03/metro/"' in en
    assert 'hreflang="en" href="../../../../2026/03/metro/"' in zh
    assert '<html lang="zh-CN"' in zh and '<html lang="en"' in en
    assert "责任编辑：" in zh


def test_metadata_is_escaped_and_template_syntax_is_text(tmp_path):
    site = make_site(
        tmp_path,
        {
            "articles/2026/hostile.md": article(
                title='Mayor\'s "plan" & <b>bold</b> {{ SITENAME }} </script>',
                summary="<img src=x onerror=alert(1)> {% if true %}x{% endif %}",
                source="<script>alert(1)</script>",
                slug="hostile",
                body="Text <script>alert(1)</script> and <a href=\"javascript:alert(1)\">link</a>.",
            )
        },
    )
    html = site.read("2026/03/hostile/index.html")
    page = BeautifulSoup(html, "html.parser")
    assert page.h1.get_text() == 'Mayor\'s "plan" & <b>bold</b> {{ SITENAME }} </script>'  # text, shown literally
    assert "{{ SITENAME }}" in html  # shown, never evaluated
    for element in page.find_all(True):
        assert not any(name.startswith("on") for name in element.attrs), element
        for name in ("href", "src"):
            assert not str(element.get(name, "")).lower().startswith(("javascript:", "data:")), element
    for script in page.find_all("script"):
        assert script.get("src") or script.get("type") == "application/ld+json", script
    body = " ".join(page.select_one(".app-article__body").get_text(" ", strip=True).split())
    assert body == "Text and link ."  # the script's text is gone with it


def test_a_failed_build_keeps_the_last_good_site(tmp_path):
    site = make_site(tmp_path, {"articles/2026/good.md": article(slug="good")})
    (site.content / "articles/2026/good.md").write_text(article(slug="good", officials="Nobody"), encoding="utf-8")
    with pytest.raises(SiteBuildError):
        make_site(tmp_path, {"articles/2026/good.md": article(slug="good", officials="Nobody")})
    assert site.exists("2026/03/good/index.html") and site.exists("index.html")


def test_a_deleted_article_leaves_nothing_behind(tmp_path):
    site = make_site(tmp_path, {"articles/2026/a.md": article(slug="a"), "articles/2026/b.md": article(slug="b")})
    (site.content / "articles/2026/b.md").unlink()
    make_site(tmp_path, {})
    assert site.exists("2026/03/a/index.html") and not site.exists("2026/03/b/index.html")


def _many_articles() -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {}
    for n in range(12):
        files[f"articles/2026/story-{n}.md"] = article(
            title=f"Story {n}", slug=f"story-{n}", date=f"2026-0{1 + n % 3}-1{n % 10} 09:00",
            officials="Tao Minghui" if n % 2 else "梁书文", body=f"Paragraph of story {n}. " * 30,
        )
    files["articles/2026/story-1.zh.md"] = article(title="故事一", slug="story-1", lang="zh", topics="公共交通")
    return files


def _counted_read_ahead(monkeypatch) -> list[int]:
    import content_model.reader

    counts: list[int] = []
    real = content_model.reader.read_ahead
    monkeypatch.setattr(content_model.reader, "read_ahead", lambda generator: counts.append(real(generator)))
    return counts


def test_articles_read_ahead_on_every_core_give_the_output_of_one_core(tmp_path, monkeypatch):
    """A cold build reads article files in worker processes first; every file is then a reader-cache hit, and the
    site is byte for byte the one a build reading on one core writes."""
    serial = make_site(tmp_path / "serial", _many_articles(), publish=True, PORTAL_READ_WORKERS=1)
    counts = _counted_read_ahead(monkeypatch)
    pooled = make_site(tmp_path / "pooled", _many_articles(), publish=True, PORTAL_READ_WORKERS=2,
                       PORTAL_READ_PARALLEL_MIN=1)
    assert counts == [13]  # every article was read by the workers
    written = sorted(p.relative_to(serial.output) for p in serial.output.rglob("*") if p.is_file())
    assert written == sorted(p.relative_to(pooled.output) for p in pooled.output.rglob("*") if p.is_file())
    assert all((serial.output / p).read_bytes() == (pooled.output / p).read_bytes() for p in written)
    assert "Story 3" in serial.read("2026/01/story-3/index.html")


def test_reading_ahead_rereads_exactly_what_the_reader_cache_holds_as_read_otherwise(tmp_path, monkeypatch):
    """After a change of what reading depends on (here a setting the reader applies), every cached article is
    stale: the workers read them all again, not the build one by one. After an edit, only the edited file."""
    counts = _counted_read_ahead(monkeypatch)
    files = _many_articles()
    pooled = {"PORTAL_READ_WORKERS": 2, "PORTAL_READ_PARALLEL_MIN": 1}
    make_site(tmp_path, files, **pooled)
    make_site(tmp_path, files, DEFAULT_CATEGORY="Policy", **pooled)
    files["articles/2026/story-4.md"] = str(files["articles/2026/story-4.md"]).replace("Story 4", "Story four")
    site = make_site(tmp_path, files, DEFAULT_CATEGORY="Policy", **pooled)
    assert counts[:2] == [13, 13] and counts[-1] == 1  # (the body-edit path, which declines a title, reads none)
    assert "Story four" in site.read("2026/02/story-4/index.html")


def test_without_the_incremental_plugin_an_article_read_with_other_settings_is_read_again(tmp_path):
    """Pelican's reader cache stamps a file by its bytes alone; the build adds what reading depends on besides
    (``reader.reading_digest``) when the incremental plugin does not give it, so an article read with another
    ``DEFAULT_CATEGORY`` is not taken from the cache as read then."""
    files = {"articles/2026/a.md": article(title="A", slug="a")}
    make_site(tmp_path, files, INCREMENTAL_ENABLED=False)
    site = make_site(tmp_path, files, INCREMENTAL_ENABLED=False, DEFAULT_CATEGORY="Policy")
    soup = BeautifulSoup(site.read("2026/03/a/index.html"), "html.parser")
    assert soup.select(".app-breadcrumbs__item a")[-1]["href"].endswith("sections/policy/")


def test_a_reading_worker_that_dies_only_costs_time(tmp_path, monkeypatch):
    import os

    import content_model.reader

    serial = make_site(tmp_path / "serial", _many_articles(), PORTAL_READ_WORKERS=1)
    counts = _counted_read_ahead(monkeypatch)
    monkeypatch.setattr(content_model.reader, "_read_chunk", lambda paths: os._exit(1))
    pooled = make_site(tmp_path / "pooled", _many_articles(), PORTAL_READ_WORKERS=2, PORTAL_READ_PARALLEL_MIN=1)
    assert counts == [0]
    written = sorted(p.relative_to(serial.output) for p in serial.output.rglob("*") if p.is_file())
    assert all((serial.output / p).read_bytes() == (pooled.output / p).read_bytes() for p in written)


def test_articles_read_ahead_report_problems_as_one_core_does(tmp_path, monkeypatch):
    """Problems found while reading (a file that is not UTF-8, an unknown official) are reported in the same
    words, with the same lines, whether the file was read by a worker or by the build."""
    files = _many_articles()
    files["articles/2026/story-3.md"] = str(files["articles/2026/story-3.md"]).replace("Tao Minghui", "Tao Minhui")
    files["articles/2026/story-5.md"] = "Title: 标题\n\n正文".encode("gbk")
    logs = []
    counts = _counted_read_ahead(monkeypatch)
    for workers in (1, 2):
        with pytest.raises(SiteBuildError) as caught:
            make_site(tmp_path / str(workers), files, PORTAL_READ_WORKERS=workers, PORTAL_READ_PARALLEL_MIN=1)
        logs.append(caught.value.log.replace(str(tmp_path / str(workers)), "<site>"))
    assert counts == [0, 13] and logs[0] == logs[1]
    assert "content/articles/2026/story-3.md:" in logs[0] and "Tao Minhui" in logs[0] and "not UTF-8" in logs[0]


def test_a_build_pool_whose_worker_died_is_replaced_for_the_next_batch():
    """Reading ahead runs on the build pool (content_model.workers) and leaves it to the cards and QR codes that
    follow: a worker that died there (the reader gives up on reading ahead) must not cost the build its cards."""
    import os
    from concurrent.futures.process import BrokenProcessPool

    from content_model import workers

    workers.start_pool(2)
    try:
        with pytest.raises(BrokenProcessPool):
            list(workers.pool_map(os._exit, [3, 3], 2))
        assert workers.Background(abs, [-1, -2, -3], 2).wait() == [1, 2, 3]
        assert workers.map_all(abs, [-4, -5], 2) == [4, 5]
    finally:
        workers.end_pool()
    assert workers.map_all(abs, [-6, -7], 2) == [6, 7]  # no build pool: a pool of its own


def test_the_articles_are_out_of_the_collectors_reach_while_the_site_is_written_and_handed_back_after(tmp_path):
    """``content_model.heap``: frozen from the moment the articles are made; the collector on and nothing frozen once
    the build ends, whether it succeeded or stopped at a content error."""
    import gc

    from pelican import signals

    seen = []

    def note(generators):
        seen.append((gc.isenabled(), gc.get_freeze_count()))

    signals.all_generators_finalized.connect(note)
    try:
        make_site(tmp_path / "ok", {"articles/a.md": article()})
    finally:
        signals.all_generators_finalized.disconnect(note)
    assert len(seen) == 1 and seen[0][0] and seen[0][1] > 1000, seen
    assert gc.isenabled() and gc.get_freeze_count() == 0

    with pytest.raises(SiteBuildError):
        make_site(tmp_path / "bad", {"articles/a.md": article(date="not a date")})
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_pelicans_own_term_pages_are_made_only_when_one_has_a_file_to_go_to():
    """``skip_unwritten_term_pages``: with every ``*_SAVE_AS`` empty, Pelican's tag, category and author pages (whose
    writer would drop them) are not made at all; a term with a file to go to makes them all."""
    from types import SimpleNamespace

    from content_model.lean import skip_unwritten_term_pages

    class Term(SimpleNamespace):
        __hash__ = object.__hash__

    made = []
    generator = SimpleNamespace(
        tags={Term(save_as=""): []},
        categories=[(SimpleNamespace(save_as=""), []), (SimpleNamespace(save_as=""), [])],
        authors=[(SimpleNamespace(save_as=""), [])],
        generate_tags=lambda write: made.append("tags"),
        generate_categories=lambda write: made.append("categories"),
        generate_authors=lambda write: made.append("authors"),
    )
    skip_unwritten_term_pages(generator)
    for method in ("generate_tags", "generate_categories", "generate_authors"):
        getattr(generator, method)(print)
    assert made == []
    generator.categories[1][0].save_as = "category/news.html"
    generator.tags = {Term(save_as="tag/a.html"): []}
    for method in ("generate_tags", "generate_categories", "generate_authors"):
        getattr(generator, method)(print)
    assert made == ["tags", "categories"]


def test_each_article_file_is_stamped_once_a_build_by_the_reader_cache_alone(tmp_path, monkeypatch):
    """``lean.skip_unused_generator_cache``: with the reader-level cache, the articles generator's own cache (empty,
    never saved) does not read and hash every file twice more; the reader's cache still checks each file's stamp."""
    from collections import Counter

    from pelican.cache import FileStampDataCacher

    stamped = Counter()
    original = FileStampDataCacher._get_file_stamp

    def counting(self, filename):
        stamped[os.path.basename(filename)] += 1
        return original(self, filename)

    monkeypatch.setattr(FileStampDataCacher, "_get_file_stamp", counting)
    files = {f"articles/story-{n}.md": article(title=f"Story {n}", slug=f"story-{n}") for n in range(3)}
    names = ("story-0.md", "story-1.md", "story-2.md")
    first = make_site(tmp_path, files)
    # the reader's cache finds no entry, then stores the file read with its stamp
    assert {name: stamped[name] for name in names} == dict.fromkeys(names, 2)
    stamped.clear()
    files["articles/story-0.md"] = article(title="Story 0, retitled", slug="story-0")  # a full build
    second = make_site(tmp_path, files)
    # (the edited file is also read by the body-edit path, which then gives way to the full build)
    assert stamped["story-1.md"] == stamped["story-2.md"] == 1
    assert second.read("2026/03/story-1/index.html") == first.read("2026/03/story-1/index.html")
    assert "Story 0, retitled" in second.read("2026/03/story-0/index.html")


def test_the_reader_cache_is_saved_once_the_site_is_written_and_by_a_build_that_stopped(tmp_path, monkeypatch):
    """``lean.save_reader_cache_after_writing``: Pelican's pickler leaves a UTF-8 copy in every non-ASCII body it
    saves, so the articles' reader cache is saved after the last page and the search index, not before the pages
    (the writing process and its forked child would hold the copies). A build stopped by a content error still
    saves what it read: the next build reads only the file that was fixed."""
    from pelican.cache import FileDataCacher, FileStampDataCacher

    saves = []
    original = FileDataCacher.save_cache

    def noting(self):
        if self._cache_path.endswith("ArticlesGenerator-Readers"):
            output = tmp_path / "output"
            saves.append(((output / "zh/2026/03/story-2/index.html").is_file(), (output / "pagefind").is_dir()))
        return original(self)

    monkeypatch.setattr(FileDataCacher, "save_cache", noting)
    files = {f"articles/story-{n}.md": article(title=f"故事 {n}", slug=f"story-{n}", lang="zh") for n in range(3)}
    make_site(tmp_path, files)
    assert saves == [(True, True)]

    saves.clear()
    files["articles/story-0.md"] = article(title="故事 0", slug="story-0", lang="zh", date="not a date")
    with pytest.raises(SiteBuildError):
        make_site(tmp_path, files)
    assert len(saves) == 1

    read = []
    stamped = FileStampDataCacher.get_cached_data

    def reading(self, filename, default=None):
        found = stamped(self, filename, default)
        if found is default:
            read.append(os.path.basename(filename))
        return found

    monkeypatch.setattr(FileStampDataCacher, "get_cached_data", reading)
    files["articles/story-0.md"] = article(title="故事 0 (改)", slug="story-0", lang="zh")
    make_site(tmp_path, files)
    assert "story-1.md" not in read and "story-2.md" not in read and "story-0.md" in read


def test_a_date_is_formatted_once_per_format_as_pelican_formats_it(monkeypatch):
    """``lean.format_dates_once``: the same text as Pelican's ``strftime`` for every date, time zone and format
    (two instants equal in UTC but in other zones are not one key); Pelican's formatting runs once per date and
    format, and not at all for a format ``datetime.strftime`` gives the same text for whole."""
    from zoneinfo import ZoneInfo

    from pelican import utils

    from content_model.lean import format_dates_once, plain_date_format

    format_dates_once()
    calls = []
    pelicans = utils.strftime

    def counting(date, fmt):
        calls.append((date, fmt))
        return pelicans(date, fmt)

    monkeypatch.setattr(utils, "strftime", counting)
    shanghai = utils.SafeDatetime(2031, 5, 3, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    same_instant = utils.SafeDatetime(2031, 5, 3, 2, 30, tzinfo=ZoneInfo("UTC"))
    naive = utils.SafeDatetime(2031, 5, 3, 10, 30)
    assert shanghai == same_instant
    pelicans_only = ("%-d %B %Y, %H:%M %Z", "%a %-m/%-d", "%e %k", "%Y%", "%:z %Y", "%Y\n%-m", "%Y年%m月", "%s")
    whole = ("%Y-%m-%d %H:%M", "%Y", "%m", "%d %B %Y, %H:%M %Z", "%c %x %X %j %U %f %z %%", "100%% %p")
    assert not any(plain_date_format(fmt) for fmt in pelicans_only) and all(plain_date_format(fmt) for fmt in whole)
    for date in (shanghai, same_instant, naive):
        for fmt in pelicans_only[:2] + whole:
            expected = pelicans(date, fmt)
            assert date.strftime(fmt) == expected and f"{date:{fmt}}" == expected, fmt
    assert len(calls) == 6 and {fmt for _date, fmt in calls} == set(pelicans_only[:2])
    for fmt in pelicans_only[2:]:  # Pelican's text, however odd: a directive C89 lacks is kept as written
        if fmt == "%Y%":
            with pytest.raises(ValueError):  # as Pelican's own fails on a lone "%"
                shanghai.strftime(fmt)
        else:
            assert shanghai.strftime(fmt) == pelicans(shanghai, fmt)
    assert len(calls) == 6 + len(pelicans_only[2:])
    assert shanghai.strftime("%H:%M %Z") == "10:30 CST" and same_instant.strftime("%H:%M %Z") == "02:30 UTC"
    assert naive.strftime("%Y", safe=False) == "2031"  # not Pelican's formatting, not memoised
    assert len(calls) == 6 + len(pelicans_only[2:])


def test_a_generator_that_keeps_its_own_cache_is_left_alone():
    from types import SimpleNamespace

    from content_model.lean import skip_unused_generator_cache

    keeping = SimpleNamespace(_cache_data_policy=True, _cache={}, get_cached_data="pelican's")
    loaded = SimpleNamespace(_cache_data_policy=False, _cache={"a.md": (b"stamp", "article")}, get_cached_data="pelican's")
    unused = SimpleNamespace(_cache_data_policy=False, _cache={}, get_cached_data="pelican's")
    for generator in (keeping, loaded, unused):
        skip_unused_generator_cache(generator)
    assert keeping.get_cached_data == loaded.get_cached_data == "pelican's"
    assert unused.get_cached_data("a.md", "default") == "default" and unused.cache_data("a.md", "x") is None


def test_translations_are_found_as_pelican_finds_them(monkeypatch):
    """``lean.process_translations`` against Pelican's own on random groups: same originals and translations in the
    same order, the same ``translations`` of every item, the same warnings (several originals, all translations)."""
    import random

    import pelican.utils
    from pelican.utils import process_translations as pelicans

    from content_model.lean import process_translations

    class Item:
        def __init__(self, number, rng):
            self.source_path = f"content/item-{number}.md"
            self.slug = f"s{rng.randrange(12)}"
            self.group = rng.choice("xy")
            self.lang = rng.choice(["en", "en", "zh", "fr"])
            self.in_default_lang = self.lang == "en"
            self.metadata = {"translation": "true"} if rng.random() < 0.2 else {}

        def __repr__(self):
            return self.source_path

    # (Pelican's logger drops a message it has seen, and a test build's raises on warnings: ask its caller instead)
    logged = []
    monkeypatch.setattr(pelican.utils.logger, "warning", lambda message, *args: logged.append(message % args))
    seen_warnings = False
    for seed in range(30):
        answers, warnings = [], []
        for find in (pelicans, process_translations):
            rng = random.Random(seed)
            items = [Item(n, rng) for n in range(rng.randrange(1, 60))]
            translation_id = rng.choice(["slug", ("slug", "group"), None])
            logged.clear()
            index, translations = find(list(items), translation_id)
            answers.append((repr(index), repr(translations),
                            [repr(getattr(item, "translations", None)) for item in items]))
            warnings.append(list(logged))
        assert answers[0] == answers[1], seed
        assert warnings[0] == warnings[1], seed
        seen_warnings = seen_warnings or bool(warnings[0])
    assert seen_warnings


def test_a_frozen_article_shows_the_summary_pelican_shows():
    """``content_model.frozen_class``: the summary from the metadata when it is there, Pelican's own otherwise (the
    start of the body)."""
    from pelican.contents import Article
    from pelican.settings import DEFAULT_CONFIG

    from content_model import frozen_class

    settings = dict(DEFAULT_CONFIG, SUMMARY_MAX_LENGTH=3)
    # (a source path for the signal handlers earlier builds in this process connected)
    given = Article("<p>one two three four five</p>", {"title": "A", "summary": "Given summary."}, settings=settings,
                    source_path="a.md")
    made = Article("<p>one two three four five</p>", {"title": "B"}, settings=settings, source_path="b.md")
    expected = [given.summary, made.summary]
    for article in (given, made):
        article.__class__ = frozen_class(Article)
    assert [given.summary, made.summary] == expected == ["Given summary.", "<p>one two three …</p>"]


def test_a_frozen_article_gives_pelicans_relative_path_and_url_values_from_what_it_kept():
    """``frozen_class`` keeps an article's path relative to the content folder and, once its URLs are final, the
    values they are formatted from: kept, they are still what Pelican computes now (another path asked for, the
    source path or content folder changed since), and each caller gets its own copy of the values."""
    from pelican.contents import Article
    from pelican.settings import DEFAULT_CONFIG

    from content_model import frozen_class, on_content_object_init

    settings = dict(DEFAULT_CONFIG, PATH="/site/content")
    article = Article("<p>Body</p>", {"title": "A", "slug": "a", "date": dt.datetime(2026, 3, 18, 9, 30)},
                      settings=settings, source_path="/site/content/articles/a.md")
    pelican = Article.get_relative_source_path
    on_content_object_init(article)
    assert type(article) is frozen_class(Article)
    assert article.get_relative_source_path() == "articles/a.md" == pelican(article)
    assert article.get_relative_source_path("/site/content/images/x.jpg") == "images/x.jpg"
    article.source_path = "/site/content/articles/2026/a.md"
    assert article.get_relative_source_path() == "articles/2026/a.md"
    article.settings = dict(settings, PATH="/site")
    assert article.get_relative_source_path() == "content/articles/2026/a.md" == pelican(article)

    article.__dict__["_urls_final"] = True
    first = article.url_format
    first["slug"] = "changed by a caller"
    assert article.url_format["slug"] == "a"
    assert article.url_format == Article.url_format.fget(article)


def test_urls_are_computed_once_from_the_moment_pelican_checks_an_article(tmp_path, monkeypatch):
    """``frozen_class``: an article's ``url`` and ``save_as`` are made once a build, from the moment Pelican checks
    it (``is_valid``), and not before: read while it is being made (``content_object_init``), an article dated in
    the future is still about to become a draft, with a draft's URL."""
    from collections import Counter

    from pelican import signals
    from pelican.contents import Content

    from content_model import on_content_object_init

    made = Counter()
    original = Content.get_url_setting

    def counting(self, key):
        made[(os.path.basename(self.source_path), key)] += 1
        return original(self, key)

    monkeypatch.setattr(Content, "get_url_setting", counting)
    early = {}

    def read_early(content):  # a plugin's handler, after content_model's (called here: the order is blinker's)
        on_content_object_init(content)
        if getattr(content, "slug", "") == "later":
            early["url"] = content.url

    files = {f"articles/story-{n}.md": article(title=f"Story {n}", slug=f"story-{n}") for n in range(3)}
    files["articles/later.md"] = article(title="Later", slug="later", date="2999-01-01 09:00")
    def read_late(generators):
        early["final"] = [(draft.url, draft.save_as) for g in generators for draft in getattr(g, "drafts", [])]

    signals.content_object_init.connect(read_early)
    signals.all_generators_finalized.connect(read_late)
    try:
        site = make_site(tmp_path, files, WITH_FUTURE_DATES=False, DRAFT_URL="drafts/{slug}.html",
                         DRAFT_SAVE_AS="drafts/{slug}.html")
    finally:
        signals.content_object_init.disconnect(read_early)
        signals.all_generators_finalized.disconnect(read_late)
    for n in range(3):
        assert made[(f"story-{n}.md", "url")] == made[(f"story-{n}.md", "save_as")] == 1, made
    assert early["url"] == "2999/01/later/"
    assert early["final"] == [("drafts/later.html", "drafts/later.html")]
    assert (site.output / "drafts" / "later.html").is_file()


def test_the_reader_cache_stamps_files_with_the_digests_the_build_already_has(tmp_path, monkeypatch):
    """``reader.known_digests``: Pelican's reader cache does not read and hash every article again for its stamps;
    an article that is a symbolic link (its digest names the target, not the bytes) keeps Pelican's stamp, so an
    edit of the target is read."""
    from pelican.cache import FileStampDataCacher

    stamps = {}
    original = FileStampDataCacher._get_file_stamp

    def recording(self, filename):
        stamps[os.path.basename(filename)] = stamp = original(self, filename)
        return stamp

    monkeypatch.setattr(FileStampDataCacher, "_get_file_stamp", recording)
    files = {"articles/plain.md": article(title="Plain story", slug="plain"),
             "library/linked.txt": article(title="Linked story, version one", slug="linked")}
    write_content(tmp_path / "content", files)
    (tmp_path / "content" / "articles" / "linked.md").symlink_to("../library/linked.txt")
    first = make_site(tmp_path, files)
    assert stamps["plain.md"][0] == "portal-digest" and stamps["linked.md"][0] == "pelican"
    assert "version one" in first.read("2026/03/linked/index.html")
    files["library/linked.txt"] = article(title="Linked story, version two", slug="linked")
    second = make_site(tmp_path, files)
    assert "version two" in second.read("2026/03/linked/index.html")


def test_a_build_whose_process_ends_leaves_its_model_to_the_exit(tmp_path):
    """``build(..., process_ends=True)`` (the command line and the benchmark): the collector is on, and what the build
    made stays frozen, so the interpreter's exit does not walk it. A build in a long-lived process releases it."""
    import gc

    from content_model.build import build

    content = write_content(tmp_path / "content", {"articles/a.md": article()})
    settings = {"PATH": str(content), "OUTPUT_PATH": str(tmp_path / "output"), "CACHE_PATH": str(tmp_path / "cache")}
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            build(REPO_ROOT / "pelicanconf.py", settings, fatal="warnings", process_ends=True)
        assert gc.isenabled() and gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()


def test_a_bodys_digest_changes_with_the_body_shown_and_leaves_making_it_to_pelican_when_it_must(tmp_path, monkeypatch):
    """``shown_body_digest``: the page keys' and feed items' digest of a body as shown. Its ``{filename}`` and
    ``{static}`` links count by their targets' URLs, without Pelican making the body; an ``{attach}`` link (which
    moves its file), a target Pelican does not find (it warns, every build) and any other indicator take Pelican's
    way."""
    import hashlib

    from pelican import signals
    from pelican.contents import Content
    from pelican.log import FatalLogger
    from PIL import Image

    from content_model import forget_content, shown_body_digest

    map_png = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(map_png, "PNG")
    held = {}

    def hold(generators):
        held.update({a.slug: a for g in generators for a in getattr(g, "articles", [])})
        held.update({os.path.basename(s.source_path): s for g in generators for s in getattr(g, "staticfiles", [])})

    files = {
        "articles/2026/plan.md": article(title="The plan", slug="plan"),
        "articles/2026/note.md": article(title="A note", slug="note", date="2026-03-19 09:30",
                                         body="See [the plan]({filename}plan.md), [again]({filename}/articles/2026/"
                                              "plan.md#costs) and [the map]({static}/images/map.png)."),
        "images/map.png": map_png.getvalue(),
    }
    signals.all_generators_finalized.connect(hold)
    try:
        make_site(tmp_path, files)
    finally:
        signals.all_generators_finalized.disconnect(hold)
    note, plan, image = held["note"], held["plan"], held["map.png"]

    def digest(siteurl="", kept=False):
        forget_content(note, siteurl)
        if not kept:  # as in a new build: the digest of the body with its targets, kept while the site is written
            note.__dict__.pop("_shown_body_links", None)
        value = shown_body_digest(note, siteurl)
        return value, (note, siteurl) in Content.get_content.cache

    first, made = digest()
    assert first.startswith("links:") and not made
    assert digest() == (first, False)
    elsewhere = digest("..")[0]
    assert elsewhere != first  # another page's position
    walks = []
    monkeypatch.setattr(type(note), "_get_intrasite_link_regex", lambda self: walks.append(self) or re.compile("x^"))
    assert digest("..", kept=True)[0] == elsewhere and digest(kept=True)[0] == first and not walks
    monkeypatch.undo()
    for target, moved in ((plan, "2026/03/the-plan/"), (image, "images/moved-map.png")):
        shown = note.get_content("")
        target.__dict__.pop("_frozen_url", None)  # content_model's URL computed once (frozen_class)
        target.override_url = moved
        forget_content(note, "")
        assert note.get_content("") != shown
        assert digest()[0] != first
        del target.override_url
        target.__dict__.pop("_frozen_url", None)
        assert digest()[0] == first
    monkeypatch.setattr(FatalLogger, "fatal_lvl", logging.CRITICAL + 1)  # the build's, still in place: warn here
    warned = io.StringIO()
    handler = logging.StreamHandler(warned)
    original = note._content
    logging.getLogger("pelican.contents").addHandler(handler)
    try:
        for body in ('<p><a href="{attach}/images/map.png">map</a></p>', '<p><a href="{filename}nowhere.md">x</a></p>',
                     '<p><a href="{category}news">news</a></p>', '<p><a href="{filename}plan.md">x</a></p>'
                     '<p><a href="{filename}../2026/nowhere.md">y</a></p>'):
            note._content = body
            warned.truncate(0)
            value, made = digest()
            assert value == "shown:" + hashlib.blake2b(note.get_content("").encode(), digest_size=20).hexdigest()
            assert made
            assert ("Unable to find" in warned.getvalue()) == ("nowhere" in body)
    finally:
        logging.getLogger("pelican.contents").removeHandler(handler)
        note._content = original
    assert digest()[0] == first


def test_link_tree_links_every_file_of_a_tree(tmp_path):
    """``output.link_tree``: the folders made, each file the very file of the source (a hard link), as the search
    bundle needs from its cache."""
    from content_model.output import link_tree

    source = tmp_path / "source"
    for relative in ("entry.json", "fragment/a.pf_fragment", "index/b.pf_index", "index/deep/c.pf_index"):
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).write_text(relative, encoding="utf-8")
    link_tree(source, tmp_path / "target")
    made = {p.relative_to(tmp_path / "target"): p.stat().st_ino for p in (tmp_path / "target").rglob("*") if p.is_file()}
    assert made == {p.relative_to(source): p.stat().st_ino for p in source.rglob("*") if p.is_file()}
    assert len(made) == 4
    # into a folder that has some of the files already: each replaced, never written through (another name may
    # link the old file, as the snapshot links the output's)
    (tmp_path / "kept").mkdir()
    old = tmp_path / "kept" / "entry.json"
    old.write_text("the last build's", encoding="utf-8")
    other_name = tmp_path / "snapshot-link"
    os.link(old, other_name)
    link_tree(source, tmp_path / "kept", dirs_exist_ok=True)
    assert (tmp_path / "kept" / "entry.json").stat().st_ino == (source / "entry.json").stat().st_ino
    assert other_name.read_text(encoding="utf-8") == "the last build's"


def test_a_set_aside_folder_is_put_back_whole_only_where_nothing_is_in_its_way(tmp_path):
    """``take_back_folder``: a page's set-aside folder is renamed back where nothing is, or where an empty folder
    is (made this build, nothing in it yet); a folder something was written into this build, or a file, stays as it
    is and the page is left to be taken back on its own."""
    from content_model import output

    root = tmp_path / "output"
    names = ("free", "empty", "written", "file")
    for name in names:
        (root / name).mkdir(parents=True)
        (root / name / "index.html").write_text(f"the last build's {name}", encoding="utf-8")
    output.set_aside(root)
    try:
        (root / "empty").mkdir()
        (root / "written").mkdir()
        (root / "written" / "other.html").write_text("written this build", encoding="utf-8")
        (root / "file").write_text("not a folder", encoding="utf-8")
        taken = {name: output.take_back_folder(str(root / name / "index.html")) for name in names}
        assert taken == {"free": True, "empty": True, "written": False, "file": False}
        assert [(root / name / "index.html").read_text(encoding="utf-8") for name in ("free", "empty")] == [
            "the last build's free", "the last build's empty"]
        assert sorted(os.listdir(root / "written")) == ["other.html"]
        assert (root / "file").read_text(encoding="utf-8") == "not a folder"
    finally:
        output.discard()
        output.finish_discarding()


def test_bodies_are_held_packed_and_the_site_is_the_one_built_from_bodies_as_read(tmp_path, monkeypatch):
    """``content_model.bodies``: a body (English with links and an image, Chinese) is held compressed by its article
    and by Pelican's reader cache, and read back as the same text; a short body is held as it is. The site is, byte
    for byte, the one built with nothing packed, and so is a second build served by the reader cache. Pelican's list
    of ``{static}`` links and its search for images without alt text still see what packed bodies hold; a page's key
    takes a packed body's digest and links from its header, unpacking nothing."""
    import hashlib
    import pickle

    from pelican import signals
    from PIL import Image

    from content_model import bodies, shown_body_digest

    map_png = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(map_png, "PNG")
    english = "\n\n".join(f"Paragraph {n} of the plan: see [the note]({{filename}}/articles/2026/note.md)." for n in
                          range(30)) + "\n\nThe [district map]({static}/images/map.png).\n\n<img src=\"x.png\" alt=\"\">"
    chinese = "\n\n".join(f"第{n}段：市政府常务会议研究部署了相关工作，市民可在本月底前反映意见建议。" for n in range(40))
    files = {
        "articles/2026/plan.md": article(title="The plan", slug="plan", body=english),
        "articles/2026/plan.zh.md": article(title="规划", slug="plan", lang="zh", body=chinese),
        "articles/2026/note.md": article(title="A note", slug="note", date="2026-03-19 09:30"),
        "images/map.png": map_png.getvalue(),
    }
    held = {}

    def hold(generators):
        held.update({(a.slug, a.lang): a for g in generators for a in getattr(g, "articles", [])
                     + getattr(g, "translations", [])})

    def digests(output):
        return {p.relative_to(output).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(output.rglob("*")) if p.is_file()}

    warned = []
    monkeypatch.setattr("pelican.readers.logger.warning", lambda message, *args, **kwargs: warned.append(
        message % args))
    signals.all_generators_finalized.connect(hold)
    try:
        packed = make_site(tmp_path / "packed", files, fatal="errors")
        texts = {key: a._content for key, a in held.items()}
        assert {key: type(a.__dict__["_content"]) for key, a in held.items()} == {
            ("plan", "en"): bytes, ("plan", "zh"): bytes, ("note", "en"): str}
        pelicans_static_links = bodies._PELICANS[1]
        assert {key: a.get_static_links() for key, a in held.items()} == {
            key: pelicans_static_links(a) for key, a in held.items()}
        assert held["plan", "en"].get_static_links() == {"images/map.png"}
        assert "第39段" in texts["plan", "zh"] and 'alt=""' in texts["plan", "en"]
        # A page's key digests a packed body by the digest and links its header holds, the same as its text's
        plan = held["plan", "en"]
        from_header = bodies.text_and_links(plan, plan.__dict__["_content"])
        assert from_header == bodies.text_and_links(plan, texts["plan", "en"])
        assert [what for what, _value in from_header[1]] == ["filename"] * 30 + ["static"]
        assert from_header[0] == hashlib.blake2b(texts["plan", "en"].encode(), digest_size=20).hexdigest()
        shown = shown_body_digest(plan, "")
        plan.__dict__.pop("_shown_body_links", None)
        with monkeypatch.context() as patched:
            def fail(*args):
                raise AssertionError("a packed body was unpacked or searched for its links")

            patched.setattr(bodies, "unpack", fail)
            patched.setattr(type(plan), "_get_intrasite_link_regex", fail)
            assert shown_body_digest(plan, "") == shown
        with open(packed.root / "cache" / "ArticlesGenerator-Readers", "rb") as handle:
            cached = {os.path.basename(path): entry[1][0] for path, entry in pickle.load(handle).items()}
        assert type(cached["plan.zh.md"]) is bytes and bodies.unpack(cached["plan.zh.md"]) == texts["plan", "zh"]
        assert type(cached["note.md"]) is str
        assert sum("Empty alt attribute" in message for message in warned) == 1
        files["articles/2026/note.md"] = article(title="A note, renamed", slug="note", date="2026-03-19 09:30")
        searched = []
        monkeypatch.setattr("pelican.readers.find_empty_alt", lambda content, path: searched.append(
            (os.path.basename(path), type(content))) or bodies.find_empty_alt(content, path))
        make_site(tmp_path / "packed", files, fatal="errors")  # the plan from the reader cache
        assert ("plan.md", bytes) in searched and ("plan.zh.md", bytes) in searched
        assert sum("Empty alt attribute" in message for message in warned) == 2
        assert held["plan", "zh"]._content == texts["plan", "zh"]
        assert held["plan", "en"].get_static_links() == {"images/map.png"}
        monkeypatch.setattr(bodies, "PACK_MIN", 10**9)
        plain = make_site(tmp_path / "plain", files, fatal="errors")
        assert type(held["plan", "zh"].__dict__["_content"]) is str
    finally:
        signals.all_generators_finalized.disconnect(hold)
    assert digests(packed.output) == digests(plain.output)


def command_line_build(root, files: dict, **overrides):
    """A build as ``invoke build`` runs it (``content_model.build.command_line``, a process of its own that becomes
    its finisher): (exit code, what it printed, stage report)."""
    import json
    import subprocess
    import sys

    content = write_content(root / "content", files)
    report = root / "timeline.json"
    report.unlink(missing_ok=True)
    spec = {"plugins": str(REPO_ROOT / "plugins"), "settings": str(REPO_ROOT / "pelicanconf.py"), "fatal": "warnings",
            "timeline": str(report), "overrides": {"PATH": str(content), "OUTPUT_PATH": str(root / "output"),
                                                   "CACHE_PATH": str(root / "cache"), **overrides}}
    script = ("import json, sys; spec = json.loads(sys.argv[1]); sys.path.insert(0, spec['plugins']); "
              "from content_model.build import command_line; command_line(spec)")
    done = subprocess.run([sys.executable, "-c", script, json.dumps(spec)], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=600)
    return (done.returncode, done.stdout + done.stderr,
            json.loads(report.read_text(encoding="utf-8")) if report.exists() else None)


def test_a_command_line_build_indexes_and_saves_its_snapshot_in_a_small_process_it_becomes(tmp_path):
    """``build(..., then_exit=True)``: the search index and the snapshot's search folder are left to a finisher the
    build's process becomes (``content_model.finish``), which holds less memory than the build did and waits for the
    build's early search run (its child still; its job and answer files are gone after). The site is the one an in-process build makes, the snapshot stands in for
    it (restored whole, and after an edit rebuilt to what a cold build of the edit gives)."""
    from tests.test_search import output_files, two_year_site_files

    from content_model.finish import JOB_FILE
    from incremental.snapshot import LAST_FILES, MANIFEST, PENDING

    files = two_year_site_files()
    code, messages, report = command_line_build(tmp_path / "cli", files, SEARCH_EARLY_MIN_PAGES=1)
    assert code == 0, messages
    # Pelican's "Done" line is printed before the finisher's steps; the finisher's own closing line tells them too.
    assert re.search(r"^Done: search index and build snapshot in [\d.]+ seconds; the whole build took [\d.]+ "
                     r"seconds\.$", messages, re.M), messages
    assert report["path"] == "full build" and report["stages"]["finishing"] > 0
    assert 0 < report["finisher_peak_kb"] < report["build_peak_kb"]
    cache = tmp_path / "cli" / "cache"
    assert (cache / "last-build" / MANIFEST).is_file() and not (cache / "last-build" / PENDING).exists()
    assert not (cache / "last-build" / LAST_FILES).exists()
    assert not list(cache.glob(JOB_FILE.format(pid="*")))
    assert sorted(p.name for p in (cache / "search").iterdir()) == ["pages.json", "shards"]  # early run's files gone
    in_process = make_site(tmp_path / "in-process", files, SEARCH_EARLY_MIN_PAGES=1)
    assert output_files(tmp_path / "cli" / "output") == output_files(in_process.output)

    code, messages, report = command_line_build(tmp_path / "cli", files, SEARCH_EARLY_MIN_PAGES=1)
    assert (code, report["path"]) == (0, "last output restored"), messages

    files["articles/2024/ferry.md"] = files["articles/2024/ferry.md"].replace("Ferry pier rebuilt", "Ferry pier reopens")
    code, messages, report = command_line_build(tmp_path / "cli", files, SEARCH_EARLY_MIN_PAGES=1)
    assert (code, report["path"]) == (0, "full build"), messages
    shutil.rmtree(tmp_path / "cli" / "output")
    code, messages, report = command_line_build(tmp_path / "cli", files, SEARCH_EARLY_MIN_PAGES=1)
    assert (code, report["path"]) == (0, "last output restored"), messages  # from the snapshot's files alone
    cold = make_site(tmp_path / "cold", files)
    assert output_files(tmp_path / "cli" / "output") == output_files(cold.output)


def test_a_finisher_whose_index_fails_exits_with_an_error_and_leaves_no_snapshot(tmp_path):
    from incremental.snapshot import LAST_FILES, MANIFEST, PENDING

    files = {"articles/a.md": article()}
    code, messages, report = command_line_build(tmp_path, files, SEARCH_PAGEFIND_OPTIONS=["--no-such-option"])
    assert code == 1
    assert "error: Pagefind failed (exit 2)" in messages and "Build stopped at the message above" in messages
    assert "the whole build took" not in messages
    assert report["path"] == "full build"
    snapshot = tmp_path / "cache" / "last-build"
    assert not (snapshot / MANIFEST).exists() and not (snapshot / PENDING).exists()
    assert not (snapshot / LAST_FILES).exists()
    code, messages, report = command_line_build(tmp_path, files)
    assert (code, report["path"]) == (0, "full build"), messages  # built, not restored
    assert (snapshot / MANIFEST).is_file()


def test_invoke_build_runs_the_build_in_a_process_of_its_own_and_fails_with_its_messages(tmp_path, capfd):
    """``tasks._build`` (``invoke build``, ``rebuild``, ``preview``): the build's process becomes its finisher, so it
    is not invoke's own (a task named after it on the command line still runs); its messages and exit code reach
    the editor."""
    from invoke.exceptions import Exit

    import tasks

    content = write_content(tmp_path / "content", {"articles/a.md": article()})
    tasks._build(REPO_ROOT / "pelicanconf.py", fatal="warnings", output=tmp_path / "output", PATH=str(content),
                 CACHE_PATH=str(tmp_path / "cache"))
    assert (tmp_path / "output" / "pagefind" / "pagefind-entry.json").is_file()
    assert (tmp_path / "cache" / "last-build" / "manifest.pickle").is_file()
    capfd.readouterr()
    (content / "articles" / "a.md").write_text(article(officials="Nobody Known"), encoding="utf-8")
    with pytest.raises(Exit) as stopped:
        tasks._build(REPO_ROOT / "pelicanconf.py", fatal="warnings", output=tmp_path / "output", PATH=str(content),
                     CACHE_PATH=str(tmp_path / "cache"))
    assert stopped.value.code == 1
    assert "articles/a.md:" in capfd.readouterr().err
