"""The editors' tools: `invoke new`, `invoke import`, `invoke check` (plugins/editor_tools).

Every test works on a temporary content folder (never the real content/), except the read-only checks of the
sample content and the seed article.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import checkers
from tests.support.sites import DEFAULT_REGISTRY, REPO_ROOT, article, make_site, write_content

sys.path.insert(0, str(REPO_ROOT / "plugins"))

from content_model import model  # noqa: E402
from editor_tools import check as check_tool  # noqa: E402
from editor_tools import check_cache, importer, new  # noqa: E402
from editor_tools.common import NEW_PLACEHOLDER, ToolError, slugify  # noqa: E402
from editor_tools.names import split_credit, split_romanised  # noqa: E402

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "import"
SEED_TEXT = REPO_ROOT.parent / "shared" / "raw-articles" / "cai-qi-ip-demonstration-city.txt"
SEED_ARTICLE = REPO_ROOT / "content" / "articles" / "2021" / "cai-qi-ip-demonstration-city.md"

# The import tests' registry: the fixture sites' one plus the journalists and a topic with an acronym alias.
IMPORT_REGISTRY = {
    **DEFAULT_REGISTRY,
    "officials/liang-shuwen.md": "Title: Liang Shuwen\nAliases: 梁书文\nRole: Vice Mayor\n\nVice mayor.\n",
    "people/chen-haoyu.md": "Title: Chen Haoyu\nAliases: 陈浩宇, Chen Hao Yu\n\nReporter.\n",
    "people/li-ran.md": "Title: Li Ran\nAliases: 李然\n\nReporter.\n",
    "people/sun-lijuan.md": "Title: Sun Lijuan\nAliases: 孙丽娟\n\nEditor.\n",
    "topics/intellectual-property.md": "Title: Intellectual property\nAliases: 知识产权, IP\n\nPatents.\n",
    "topics/metro.md": "Title: Metro\nAliases: 地铁\n\nTrains.\n",
}
# An article that names every entry of DEFAULT_REGISTRY: with it alone, `invoke check` has nothing to say.
GOOD = article(
    title="Lanhai opens metro line 4",
    topics="Public transport, Urban renewal",
    officials="Tao Minghui, Liang Shuwen",
    reporters="Zhou Yiran",
    editors="Wang Siqi",
)
GOOD_PATH = "content/articles/2026/good.md"


@pytest.fixture(autouse=True)
def check_cache_folder(tmp_path_factory, monkeypatch) -> Path:
    """`invoke check`'s results cache, away from the repository's cache/ (in-process runs and invoked tasks)."""
    folder = tmp_path_factory.mktemp("check-cache")
    monkeypatch.setenv(check_cache.CACHE_ENV, str(folder))
    return folder


def run_check(root: Path, *paths) -> list[model.Problem]:
    return check_tool.Checker(root).run(paths)


def findings(tmp_path: Path, files: dict[str, str | bytes]) -> list[model.Problem]:
    """Problems in a content folder holding GOOD plus ``files``; GOOD (the control) must stay silent."""
    root = write_content(tmp_path / "content", {"articles/2026/good.md": GOOD, **files})
    problems = run_check(root)
    assert not [p for p in problems if p.path == GOOD_PATH], problems
    return problems


def messages(problems, severity: str | None = None) -> list[str]:
    return [f"{p.path}:{p.line}: {p.message}" for p in problems if severity in (None, p.severity)]


def header(path: Path) -> model.Source:
    return model.parse_source(str(path), path.read_text(encoding="utf-8"))


def paragraphs(source: model.Source) -> list[str]:
    return [block.strip() for block in source.body.split("\n\n") if block.strip()]


def do_import(root: Path, *files, **options) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = importer.run([str(f) for f in files], str(root), out=out, err=err, **options)
    return code, out.getvalue(), err.getvalue()


def parse_wire(text: str, registry: dict[str, str] | None = None, tmp_root: Path | None = None, lang=None):
    registries = model.Registries(
        *(model.Registry(kind) for kind in ("officials", "topics", "people"))
    ) if registry is None else model.load_registries(write_content(tmp_root, {}, registry))
    return importer.WireParser(registries.people, lang).parse(text)


# --- `invoke import`: each recognised form, in English and Chinese -----------------------------------------


@pytest.fixture
def import_root(tmp_path) -> Path:
    return write_content(tmp_path / "content", {}, IMPORT_REGISTRY)


@pytest.mark.parametrize(
    "line, reporters",
    [
        ("(Reporter Zhou Yiran Chen Hao Yu) The line opened.", ["Zhou Yiran", "Chen Haoyu"]),
        ("(Reporters: Zhou Yiran and Li Ran) The line opened.", ["Zhou Yiran", "Li Ran"]),
        ("(Reporter: Zhou Yiran, Chen Haoyu) The line opened.", ["Zhou Yiran", "Chen Haoyu"]),
        ("(Reporter Ji Mengzhu Fan Jun Sheng) The line opened.", ["Ji Mengzhu", "Fan Junsheng"]),
        ("Reporter: Li Ran\nThe line opened.", ["Li Ran"]),
        ("（记者 周怡然 李然）地铁开通。", ["周怡然", "李然"]),
        ("本报记者 周怡然\n地铁开通。", ["周怡然"]),
        ("本报记者 周怡然 李然 报道\n地铁开通。", ["周怡然", "李然"]),
        ("本报讯（记者 陈浩宇）地铁开通。", ["陈浩宇"]),
        ("记者：李然\n地铁开通。", ["李然"]),
    ],
)
def test_import_reads_each_reporter_credit(line, reporters, tmp_path):
    wire = parse_wire(f"Headline\n{line}\n", IMPORT_REGISTRY, tmp_path / "c")
    assert wire.reporters == reporters
    assert not any("记者" in p or "Reporter" in p for p in wire.paragraphs), wire.paragraphs
    assert wire.paragraphs and wire.paragraphs[-1] in ("The line opened.", "地铁开通。", "本报讯地铁开通。")


@pytest.mark.parametrize(
    "line, editors",
    [
        ("The line opened. (Editor: Wang Siqi, Sun Lijuan)", ["Wang Siqi", "Sun Lijuan"]),
        ("The line opened. (Editors: Wang Siqi and Sun Lijuan)", ["Wang Siqi", "Sun Lijuan"]),
        ("The line opened. (Responsible editor: Wang Siqi)", ["Wang Siqi"]),
        ("The line opened.\nEditor: Wang Siqi", ["Wang Siqi"]),
        ("地铁开通。（责任编辑：王思琪、孙丽娟）", ["王思琪", "孙丽娟"]),
        ("地铁开通。（编辑：王思琪）", ["王思琪"]),
        ("地铁开通。【责任编辑：孙丽娟】", ["孙丽娟"]),
        ("地铁开通。\n责任编辑：王思琪", ["王思琪"]),
    ],
)
def test_import_reads_each_editor_credit(line, editors, tmp_path):
    wire = parse_wire(f"Headline\n{line}\n", IMPORT_REGISTRY, tmp_path / "c")
    assert wire.editors == editors
    assert wire.paragraphs == [line.split("\n")[0].split("（")[0].split("【")[0].split(" (")[0]]


@pytest.mark.parametrize(
    "line",
    [
        "The plan (by the city government) passed.",
        "这是（编辑部）的通知。",
        "（记者从市交通运输局获悉）地铁开通。",
        "The editor's note (Editor's note: this is a correction) stays.",
        "Figures rose. Source: Lanhai statistics bureau",
    ],
)
def test_text_that_only_looks_like_a_credit_stays_in_the_body(line):
    wire = parse_wire(f"Headline\n2022-09-18\nFirst.\n{line}\n")
    assert (wire.reporters, wire.editors, wire.source) == ([], [], "")
    assert wire.paragraphs == ["First.", line]


def test_a_name_outside_the_registry_is_kept_as_written(tmp_path):
    wire = parse_wire("Headline\n(Editor: Mary Jones and Ma Xiao Hong)\nText.\n", IMPORT_REGISTRY, tmp_path / "c")
    assert wire.editors == ["Mary Jones", "Ma Xiaohong"]


@pytest.mark.parametrize(
    "credit, people",
    [
        ("Ji Mengzhu Fan Jun Sheng", ["Ji Mengzhu", "Fan Junsheng"]),
        ("Zhang San Li Si Wang Wu", ["Zhang San", "Li Si", "Wang Wu"]),
        ("Li Ran Zhou Yi Ran", ["Li Ran", "Zhou Yiran"]),
        ("Ouyang Xiu", ["Ouyang Xiu"]),
    ],
)
def test_romanised_names_without_separators_split_into_people(credit, people):
    assert split_romanised(credit) == people


def test_people_in_the_registry_resolve_to_their_canonical_name(tmp_path):
    registries = model.load_registries(write_content(tmp_path / "c", {}, IMPORT_REGISTRY))
    assert split_credit("Chen Hao Yu and zhou yiran", registries.people) == ["Chen Haoyu", "Zhou Yiran"]
    assert split_credit("Chen Haoyu", registries.people, "zh") == ["陈浩宇"]
    assert split_credit("周怡然、李然", registries.people, "en") == ["Zhou Yiran", "Li Ran"]


@pytest.mark.parametrize(
    "text, title, first_paragraph",
    [
        ("H\nOriginal title: Build a city (Reporter Li Ran) Yesterday it began.\n", "Build a city",
         "Yesterday it began."),
        ("H\nOriginal title: Build a city\nYesterday it began.\n", "Build a city", "Yesterday it began."),
        ("H\n原标题：建设示范城市\n昨天下午开始。\n", "建设示范城市", "昨天下午开始。"),
        ("H\n【原标题：建设示范城市】\n昨天下午开始。\n", "建设示范城市", "昨天下午开始。"),
        ("H\n原标题：建设示范城市（记者 李然）昨天下午开始。\n", "建设示范城市", "昨天下午开始。"),
    ],
)
def test_import_reads_the_original_title(text, title, first_paragraph, tmp_path):
    wire = parse_wire(text, IMPORT_REGISTRY, tmp_path / "c")
    assert wire.original_title == title
    assert wire.paragraphs[0] == first_paragraph


@pytest.mark.parametrize(
    "top, date, source",
    [
        ("2022-09-18", "2022-09-18 00:00", ""),
        ("2022-09-18 08:30", "2022-09-18 08:30", ""),
        ("Published: 18 September 2022", "2022-09-18 00:00", ""),
        ("September 18, 2022 08:30 | Source: Lanhai Daily", "2022-09-18 08:30", "Lanhai Daily"),
        ("2022-09-18 08:30  Source: Lanhai Daily", "2022-09-18 08:30", "Lanhai Daily"),
        ("2022年9月18日", "2022-09-18 00:00", ""),
        ("2022年09月18日 08:30　来源：澜海日报", "2022-09-18 08:30", "澜海日报"),
        ("来源：澜海日报　2022年9月18日", "2022-09-18 00:00", "澜海日报"),
        ("Source: Lanhai Daily", "", "Lanhai Daily"),
    ],
)
def test_import_reads_dates_and_sources_on_a_dateline(top, date, source):
    wire = parse_wire(f"Headline\n{top}\nThe first paragraph.\n")
    assert (wire.date, wire.source) == (date, source)
    assert wire.paragraphs == ["The first paragraph."]


def test_a_date_in_the_body_is_not_the_article_date():
    wire = parse_wire("Headline\nThe plan runs to 2035.\nIt began on 2022-09-18.\n")
    assert wire.date == ""


def test_a_date_that_does_not_exist_is_refused(import_root, tmp_path):
    wire_file = tmp_path / "wire.txt"
    wire_file.write_text("Headline\n2022-02-30\nText about Public transport.\n", encoding="utf-8")
    code, out, err = do_import(import_root, wire_file)
    assert code == 1 and out == ""
    assert "the date `2022-02-30` does not exist" in err and "--date" in err
    assert not list((import_root / "articles").rglob("*.md"))


@pytest.mark.parametrize("text", ["H\nFirst.\n\nSharing let more people see.\n", "H\nFirst.\n分享让更多人看到\n",
                                  "H\nFirst. Sharing let more people see.\n"])
def test_import_drops_sharing_boilerplate(text):
    assert parse_wire(text).paragraphs == ["First."]


def test_import_detects_the_language_unless_told(import_root, tmp_path):
    assert importer.detect_language("澜海地铁5号线开通运营 Metro") == "zh"
    assert importer.detect_language("Lanhai opens metro line 5, 地铁") == "en"
    wire_file = tmp_path / "wire.txt"
    wire_file.write_text("澜海地铁5号线开通\n2022-09-18\n公共交通。（编辑：王思琪）\n", encoding="utf-8")
    code, out, _ = do_import(import_root, wire_file, lang="en")
    written = header(Path(out.strip()))
    assert code == 0 and written.get("lang") == "en"
    assert written.get("editors") == "Wang Siqi" and written.get("topics") == "Metro, Public transport"


def test_officials_and_topics_are_found_by_name_and_alias_as_whole_words(tmp_path):
    registries = model.load_registries(write_content(tmp_path / "c", {}, IMPORT_REGISTRY))
    topics = importer.NameFinder(registries.topics)
    officials = importer.NameFinder(registries.officials)
    text = "The metropolitan area. Mayor Tao Ming Hui spoke; Liang Shu-wen, Liang Shuwen's deputy, too."
    assert [e.title for e in topics.find(text)] == []  # "metropolitan" is not the topic "Metro"
    assert [e.title for e in officials.find(text)] == ["Tao Minghui", "Liang Shuwen"]
    assert [e.title for e in topics.find("Metro fares and IP rights; zip codes, tip.")] == ["Metro",
                                                                                             "Intellectual property"]
    assert [e.title for e in topics.find("澜海地铁推进知识产权保护")] == ["Metro", "Intellectual property"]
    assert [e.title for e in officials.find("副市长梁书文和市长陶明辉")] == ["Liang Shuwen", "Tao Minghui"]


def test_import_english_fixture(import_root):
    code, out, err = do_import(import_root, FIXTURES / "en-wire.txt")
    assert code == 0, err
    path = Path(out.strip())
    assert path == import_root / "articles" / "2022" / "lanhai-opens-metro-line-5-airport.md"
    source = header(path)
    assert {key: source.get(key) for key in source.fields} == {
        "title": "Lanhai opens metro line 5 to the airport",
        "date": "2022-09-18 08:30",
        "slug": "lanhai-opens-metro-line-5-airport",
        "lang": "en",
        "category": "News",
        "topics": "Metro, Public transport",
        "officials": "Tao Minghui, Liang Shuwen",
        "reporters": "Zhou Yiran, Chen Haoyu",
        "editors": "Wang Siqi",
        "source": "Lanhai Daily",
    }
    assert paragraphs(source) == [
        "Metro line 5 opened on Sunday morning, linking the river district with the airport in 25 minutes.",
        "Mayor Tao Minghui rode the first train with commuters. Vice mayor Liang Shu-wen said the line was part of "
        "the public transport plan for the eastern districts.",
        "The metropolitan area now has six lines.",
    ]
    assert [p for p in run_check(import_root, path)] == []


def test_import_chinese_fixture(import_root):
    code, out, err = do_import(import_root, FIXTURES / "zh-wire.txt")
    assert code == 0, err
    path = Path(out.strip())
    assert path.name == "lanhai-ditie-5-haoxian-kaitong-yunying.zh.md"
    source = header(path)
    assert {key: source.get(key) for key in source.fields} == {
        "title": "澜海地铁5号线开通运营",
        "date": "2022-09-18 08:30",
        "slug": "lanhai-ditie-5-haoxian-kaitong-yunying",
        "lang": "zh",
        "category": "News",
        "topics": "地铁, 城市更新, 公共交通",
        "officials": "陶明辉, 梁书文",
        "reporters": "周怡然, 李然",
        "editors": "王思琪, 孙丽娟",
        "source": "澜海日报",
        "original_title": "地铁5号线今起载客运营",
    }
    assert paragraphs(source) == [
        "9月18日上午，澜海地铁5号线开通运营，从江畔区到机场只需25分钟。",
        "市长陶明辉与通勤市民一同乘坐首班列车。副市长梁书文表示，这是城市更新和公共交通规划的重要一步。",
        "全市地铁运营线路增至6条。",
    ]
    assert run_check(import_root, path) == []


def test_gbk_and_gb18030_text_is_decoded(import_root, tmp_path):
    expected = (FIXTURES / "zh-wire.txt").read_text(encoding="utf-8")
    for encoding in ("gbk", "gb18030"):
        wire_file = tmp_path / f"wire-{encoding}.txt"
        wire_file.write_bytes(expected.encode(encoding))
        assert importer.decode_wire(str(wire_file), wire_file.read_bytes()) == expected
    code, out, err = do_import(import_root, tmp_path / "wire-gbk.txt")
    assert code == 0, err
    assert header(Path(out.strip())).get("editors") == "王思琪, 孙丽娟"


def test_text_in_another_encoding_is_refused_with_the_reason(import_root, tmp_path):
    wire_file = tmp_path / "latin1.txt"
    wire_file.write_bytes("Caf\u00e9 opens\n2022-09-18\nThe caf\u00e9 opened.\n".encode("latin-1"))
    code, out, err = do_import(import_root, wire_file)
    assert code == 1 and out == ""
    assert f"{wire_file}:1: error: the file is neither UTF-8 nor GBK/GB18030" in err and "save it as UTF-8" in err


def test_utf8_with_bom_and_crlf_line_ends(import_root, tmp_path):
    text = (FIXTURES / "en-wire.txt").read_text(encoding="utf-8")
    wire_file = tmp_path / "crlf.txt"
    wire_file.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    code, out, err = do_import(import_root, wire_file)
    assert code == 0, err
    written = Path(out.strip()).read_text(encoding="utf-8")
    assert "\r" not in written and "\ufeff" not in written
    assert written.startswith("Title: Lanhai opens metro line 5 to the airport\n")


def test_import_refuses_without_a_date_and_writes_nothing(import_root):
    code, out, err = do_import(import_root, SEED_TEXT)
    assert code == 1 and out == ""
    assert "no date" in err and "--date" in err and "nothing was written" in err
    assert not list((import_root / "articles").rglob("*"))


def test_import_never_overwrites_without_force(import_root):
    code, out, _ = do_import(import_root, FIXTURES / "en-wire.txt")
    path = Path(out.strip())
    path.write_text(path.read_text(encoding="utf-8") + "\nAn edit by the editor.\n", encoding="utf-8")
    code, out, err = do_import(import_root, FIXTURES / "en-wire.txt")
    assert code == 1 and out == ""
    assert "lanhai-opens-metro-line-5-airport.md already exists" in err and "--force" in err
    assert "An edit by the editor." in path.read_text(encoding="utf-8")
    code, out, err = do_import(import_root, FIXTURES / "en-wire.txt", force=True)
    assert code == 0, err
    assert Path(out.strip()) == path and "An edit by the editor." not in path.read_text(encoding="utf-8")


def test_import_of_several_files_reports_each(import_root, tmp_path):
    undated = tmp_path / "undated.txt"
    undated.write_text("Headline\nText.\n", encoding="utf-8")
    code, out, err = do_import(import_root, FIXTURES / "en-wire.txt", undated, FIXTURES / "zh-wire.txt")
    assert code == 1
    assert len(out.split()) == 2 and f"{undated}:1: error: the text has no date" in err


def seed_registry(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    for kind in ("officials", "topics", "people"):
        shutil.copytree(REPO_ROOT / "content" / kind, root / kind)
    (root / "articles").mkdir()
    return root


def test_importing_the_seed_gives_the_seed_article(tmp_path):
    root = seed_registry(tmp_path)
    code, out, err = do_import(root, SEED_TEXT, date="2021-10-15 09:00")
    assert code == 0, err
    imported, seed = header(Path(out.strip())), header(SEED_ARTICLE)
    for key in ("title", "date", "original_title", "topics", "officials", "lang"):
        assert imported.get(key) == seed.get(key), key
    for key in ("reporters", "editors"):
        assert model.split_list(imported.get(key)) == model.split_list(seed.get(key)), key
    assert paragraphs(imported) == paragraphs(seed)
    assert run_check(root, Path(out.strip())) == []


def test_importing_the_seed_again_refuses_to_duplicate_it(tmp_path):
    root = tmp_path / "content"
    shutil.copytree(REPO_ROOT / "content", root)
    code, out, err = do_import(root, SEED_TEXT, date="2021-10-15 09:00")
    assert code == 1 and out == ""
    assert "content/articles/2021/cai-qi-ip-demonstration-city.md already exists (the same headline)" in err


# --- `invoke new` --------------------------------------------------------------------------------------------


def do_new(root: Path, headline: str, **options) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = new.run(headline, str(root), out=out, err=err, **options)
    return code, out.getvalue(), err.getvalue()


def test_new_writes_every_key_and_check_names_what_is_missing(tmp_path):
    root = write_content(tmp_path / "content", {"articles/2026/good.md": GOOD})
    code, out, err = do_new(root, "Lanhai opens metro line 5", date="2026-03-18 09:30", topics="public transport")
    assert code == 0, err
    path = Path(out.strip())
    assert path == root / "articles" / "2026" / "lanhai-opens-metro-line-5.md"
    source = header(path)
    assert list(source.fields) == list(model.ARTICLE_KEYS)
    assert (source.get("title"), source.get("date"), source.get("slug"), source.get("lang"), source.get("topics")) == (
        "Lanhai opens metro line 5", "2026-03-18 09:30", "lanhai-opens-metro-line-5", "en", "Public transport")
    assert source.get("editors") == "" and "Reporters, Editors (Editors required)" in source.body
    shown = "content/articles/2026/lanhai-opens-metro-line-5.md"
    assert messages(run_check(root, path)) == [
        f"{shown}:{source.line('editors')}: `Editors` is required; add a line like `Editors: Zhou Yiran`",
        f"{shown}:18: the hints block from `invoke new` is still here; delete it (from `<!--` to `-->`) when done",
        f"{shown}:{source.body.count(chr(10)) + source.body_line - 1}: the body is still the placeholder from "
        "`invoke new`; write the article in its place",
    ]


def test_a_new_article_filled_in_builds_with_pelican(tmp_path):
    root = tmp_path / "draft" / "content"
    write_content(root, {})
    code, out, _ = do_new(root, "Lanhai opens metro line 5", date="2026-03-18 09:30",
                          topics="Public transport, Urban renewal", officials="Tao Minghui, Liang Shuwen")
    text = Path(out.strip()).read_text(encoding="utf-8")
    text = text.replace("Editors:\n", "Editors: Wang Siqi\n").replace("Reporters:\n", "Reporters: Zhou Yiran\n")
    text = text.replace(NEW_PLACEHOLDER, "The new line links the river district with the airport.")
    Path(out.strip()).write_text(text, encoding="utf-8")
    assert [p.severity for p in run_check(root)] == ["warning"]  # the hints block, still there
    site = make_site(tmp_path / "site", {"articles/2026/lanhai-opens-metro-line-5.md": text})
    page = site.read("2026/03/lanhai-opens-metro-line-5/index.html")
    assert "The new line links the river district" in page and "invoke new" not in page


def test_new_chinese_headline_gets_a_pinyin_slug(tmp_path):
    root = write_content(tmp_path / "content", {})
    code, out, err = do_new(root, "老旧小区改造三年计划", date="2026-03-18", officials="陶明辉")
    assert code == 0, err
    path = Path(out.strip())
    assert path.relative_to(root).as_posix() == "articles/2026/laojiu-xiaoqu-gaizao-sannian-jihua.zh.md"
    source = header(path)
    assert (source.get("lang"), source.get("officials"), source.get("date")) == ("zh", "陶明辉", "2026-03-18 00:00")


def test_new_refuses_to_overwrite(tmp_path):
    root = write_content(tmp_path / "content", {})
    assert do_new(root, "Metro line 5", date="2026-03-18 09:30")[0] == 0
    code, out, err = do_new(root, "Metro line 5", date="2026-03-18 09:30")
    assert code == 1 and out == ""
    assert "content/articles/2026/metro-line-5.md already exists; nothing was written" in err
    code, out, err = do_new(root, "Metro line 5", date="2025-01-01 09:00")
    assert code == 1 and "another en article already has the slug `metro-line-5`" in err


def test_new_checks_its_options_and_suggests_names(tmp_path):
    root = write_content(tmp_path / "content", {})
    code, out, err = do_new(root, "Metro", topics="Public transprt", officials="Liang Shuwn", slug="Metro 5",
                            lang="fr")
    assert code == 1 and out == ""
    assert "error: --topics: `Public transprt` is not in the topics registry; did you mean Public transport?" in err
    assert "error: --officials: `Liang Shuwn` is not in the officials registry; did you mean Liang Shuwen?" in err
    assert "error: --slug Metro 5 must be lowercase letters" in err and "--lang fr is not supported" in err
    assert not list((root / "articles").rglob("*.md"))
    assert do_new(root, "Metro", date="2026-02-30")[2].startswith("error: --date '2026-02-30' is not a real date")


def test_slugs():
    assert slugify("Cai Qi: Strive to build a demonstration city of intellectual property rights") == \
        "cai-qi-strive-build-demonstration-city"
    assert slugify("重庆老旧小区改造") == "chongqing-laojiu-xiaoqu-gaizao"
    assert slugify("Café au lait") == "cafe-au-lait"


# --- `invoke check`: each check, with a bad file of its own; GOOD is the silent control -------------------


def test_a_clean_content_folder_has_nothing_to_report(tmp_path):
    assert findings(tmp_path, {}) == []


def test_the_sample_content_has_no_errors_and_only_the_deliberate_warnings():
    problems = run_check(REPO_ROOT / "content")
    assert [(p.path, p.severity) for p in problems] == [
        ("content/officials/han-yiming.md", "warning"),
        ("content/topics/food-safety.md", "warning"),
    ], messages(problems)


@pytest.mark.parametrize("missing", ["title", "date", "topics", "editors"])
def test_check_required_keys(missing, tmp_path):
    text = article(**{"title": "Metro", missing: None})
    problems = findings(tmp_path, {"articles/2026/bad.md": text})
    example = {"title": "Title: Lanhai opens metro line 4", "date": "Date: 2026-03-18 09:30",
               "topics": "Topics: Public transport", "editors": "Editors: Zhou Yiran"}[missing]
    assert messages(problems) == [
        f"content/articles/2026/bad.md:1: `{missing.title()}` is required; add a line like `{example}`"]


@pytest.mark.parametrize(
    "date, message",
    [
        ("2026-02-30 09:00", "`Date: 2026-02-30 09:00` is not a real date or time; check the day and month"),
        ("2026-03-18 25:00", "`Date: 2026-03-18 25:00` is not a real date or time; check the day and month"),
        ("18 March 2026", "`Date: 18 March 2026` must be written YYYY-MM-DD HH:MM, e.g. 2026-03-18 09:30"),
    ],
)
def test_check_dates_exist(date, message, tmp_path):
    problems = findings(tmp_path, {"articles/2026/bad.md": article(title="Metro", date=date)})
    assert messages(problems) == [f"content/articles/2026/bad.md:2: {message}"]


def test_check_supported_languages(tmp_path):
    problems = findings(tmp_path, {"articles/2026/bad.fr.md": article(title="Métro", lang="fr", slug="metro")})
    assert messages(problems) == ["content/articles/2026/bad.fr.md:5: `Lang: fr` is not supported; use one of en, zh"]


def test_check_unknown_keys_with_a_suggestion(tmp_path):
    problems = findings(tmp_path, {"articles/2026/bad.md": article(title="Metro", offcials="Tao Minghui")})
    assert messages(problems) == ["content/articles/2026/bad.md:5: unknown metadata key `Offcials`; did you mean "
                                  "`Officials`?"]


def test_check_registry_entries_take_chinese_texts_and_name_a_misspelt_key(tmp_path):
    problems = findings(tmp_path, {
        "topics/parks.md": "Title: Parks\nAliases: 公园\nSummary: Parks.\nSummary_Zh: 公园。\nDescription_Zh: 公园报道。\n\nParks.\n",
        "people/li-ran.md": "Title: Li Ran\nAliases: 李然\nDescripton_Zh: 记者。\n\nReporter.\n",
        "officials/lu-an.md": "Title: Lu An\nAliases: 陆安\nBirthday: 1970\n\nOfficial.\n",
    })
    assert messages(problems, "error") == [
        "content/officials/lu-an.md:3: unknown key `Birthday` in this entry of the officials registry; known keys: "
        + ", ".join(key.title() for key in model.REGISTRY_KEYS["officials"]),
        ("content/people/li-ran.md:3: unknown key `Descripton_Zh` in this entry of the people registry; did you mean "
         "`Description_Zh`?")]


def test_check_officials_and_topics_that_do_not_resolve(tmp_path):
    problems = findings(tmp_path, {"articles/2026/bad.md": article(title="Metro", topics="Public transprt",
                                                                   officials="Liang Shuwn, Nobody At All")})
    assert messages(problems) == [
        "content/articles/2026/bad.md:3: unknown topic `Public transprt` in `Topics`: did you mean Public transport?",
        "content/articles/2026/bad.md:5: unknown official `Liang Shuwn` in `Officials`: did you mean Liang Shuwen?",
        "content/articles/2026/bad.md:5: unknown official `Nobody At All` in `Officials`: add "
        "content/officials/<slug>.md for it, or check the spelling",
    ]


def test_check_duplicate_slugs(tmp_path):
    problems = findings(tmp_path, {
        "articles/2026/one.md": article(title="One", slug="metro"),
        "articles/2025/two.md": article(title="Two", slug="metro", date="2025-01-01 09:00"),
        # the control: the same slug in another language is a translation, not a duplicate
        "articles/2026/one.zh.md": article(title="一", slug="metro", lang="zh"),
    })
    assert messages(problems) == [
        "content/articles/2025/two.md:5: slug `metro` in language `en` is also used by content/articles/2026/one.md; "
        "give one of them another `Slug:`",
        "content/articles/2026/one.md:5: slug `metro` in language `en` is also used by content/articles/2025/two.md; "
        "give one of them another `Slug:`",
    ]


def test_check_articles_written_to_the_same_page(tmp_path):
    problems = findings(tmp_path, {
        "articles/2026/one.md": article(title="One", save_as="special/index.html"),
        "articles/2026/two.md": article(title="Two", save_as="special/index.html"),
    })
    assert messages(problems) == [
        "content/articles/2026/one.md:5: would be written to the same page `special/index.html` as "
        "content/articles/2026/two.md; give one of them another `Slug:`",
        "content/articles/2026/two.md:5: would be written to the same page `special/index.html` as "
        "content/articles/2026/one.md; give one of them another `Slug:`",
    ]


def test_check_translations_without_their_original(tmp_path):
    problems = findings(tmp_path, {
        "articles/2026/orphan.zh.md": article(title="孤儿", lang="zh", translation="true"),
        # controls: a Chinese-only article, and a marked translation whose original exists
        "articles/2026/alone.zh.md": article(title="单独", lang="zh"),
        "articles/2026/pair.md": article(title="Pair"),
        "articles/2026/pair.zh.md": article(title="一对", lang="zh", translation="true"),
    })
    assert messages(problems) == [
        "content/articles/2026/orphan.zh.md:6: this is marked `Translation: true` but no article with slug `orphan` is "
        "its original; add the original (same `Slug:`, `Lang: en`), or delete the `Translation` line if it stands "
        "alone",
    ]


def test_check_lead_images(tmp_path):
    png = b"\x89PNG\r\n\x1a\n"
    problems = findings(tmp_path, {
        "images/metro.png": png,
        "articles/2026/photo.png": png,
        "articles/2026/missing.md": article(title="A", image="images/metr.png", image_alt="A train"),
        "articles/2026/no-alt.md": article(title="B", image="images/metro.png"),
        "articles/2026/not-static.md": article(title="C", image="articles/2026/photo.png", image_alt="A train"),
        "articles/2026/fine.md": article(title="D", image="{static}/images/metro.png", image_alt="A train"),
    })
    assert messages(problems) == [
        "content/articles/2026/missing.md:5: image `images/metr.png` does not exist (no file content/images/metr.png); "
        "check the name; did you mean content/images/metro.png?",
        "content/articles/2026/no-alt.md:5: `Image` needs `Image_Alt`: describe the picture for readers who cannot "
        "see it",
        "content/articles/2026/not-static.md:5: image `articles/2026/photo.png` is not in a static folder (images), "
        "so it is not copied to the site; move it there",
    ]


def test_check_images_in_the_body(tmp_path):
    body = """
        First paragraph.

        ![]({static}/images/metro.png)

        ![A map]({static}/images/map.png)

        <img src="{static}/images/metro.png">

        ![A train](images/metro.png)

        ![A train]({static}/images/metro.png "The new train") and `![](not an image)`

        <img alt="A train" src="{static}/images/metro.png">
    """
    problems = findings(tmp_path, {"images/metro.png": b"\x89PNG", "articles/2026/bad.md": article(body=body)})
    assert messages(problems) == [
        "content/articles/2026/bad.md:8: image `{static}/images/metro.png` has no alt text; describe the picture "
        "between the square brackets, e.g. `![Map of metro line 4 and its stations](...)`",
        "content/articles/2026/bad.md:10: `{static}/images/map.png` points nowhere: there is no file "
        "content/images/map.png; did you mean content/images/metro.png?",
        "content/articles/2026/bad.md:12: image `{static}/images/metro.png` has no alt text; add alt=\"...\" "
        "describing the picture",
        "content/articles/2026/bad.md:14: image `images/metro.png` will not be found from the article's page; write "
        "`{static}/images/metro.png` (the path inside content/)",
    ]


def test_check_internal_links(tmp_path):
    body = """
        See [the plan]({filename}/articles/2026/plan.md), [the old one]({filename}/articles/2026/plam.md),
        [relative]({filename}plan.md), [a registry file]({filename}/topics/urban-renewal.md),
        [the source]({filename}../2026/plan.md#section), [raw](plan.md), [site](https://example.org/x.md)
        and [a map]({static}/images/map.png).

        [ref]: {filename}/articles/2025/gone.md
    """
    problems = findings(tmp_path, {"articles/2026/plan.md": article(title="Plan"),
                                   "articles/2026/bad.md": article(body=body)})
    assert messages(problems) == [
        "content/articles/2026/bad.md:6: `{filename}/articles/2026/plam.md` points nowhere: there is no file "
        "content/articles/2026/plam.md; did you mean content/articles/2026/plan.md?",
        "content/articles/2026/bad.md:7: `{filename}/topics/urban-renewal.md` is not an article or a page, so it has "
        "no page to link to",
        "content/articles/2026/bad.md:8: link `plan.md` points at a source file; write `{filename}/plan.md` (the "
        "path inside content/) so the site links to its page",
        "content/articles/2026/bad.md:9: `{static}/images/map.png` points nowhere: there is no file "
        "content/images/map.png",
        "content/articles/2026/bad.md:11: `{filename}/articles/2025/gone.md` points nowhere: there is no file "
        "content/articles/2025/gone.md",
    ]


def test_check_reports_what_the_build_reports_about_unsafe_content(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("not for publishing", encoding="utf-8")
    (tmp_path / "content" / "images").mkdir(parents=True)
    (tmp_path / "content" / "images" / "secret.txt").symlink_to(outside)
    body = "First.\n\n<script>alert(1)</script>\n\nLast\u2028line."
    problems = findings(tmp_path, {
        "articles/2026/bad.md": article(body=body),
        "officials/tao-minghui.md": DEFAULT_REGISTRY["officials/tao-minghui.md"].replace(
            "Role:", "Photo: images/tao.png\nRole:"),
    })
    assert messages(problems) == [
        "content/articles/2026/bad.md:8: <script> is removed from the published page (not allowed in articles)",
        "content/articles/2026/bad.md:10: invisible line separator U+2028/U+2029; replaced by a space",
        "content/images/secret.txt:1: this symbolic link leads outside content/; replace it with the file itself",
        "content/officials/tao-minghui.md:1: `Photo: images/tao.png` does not exist under content/",
    ]


def test_check_files_that_are_not_utf8(tmp_path):
    gbk = article(title="地铁", lang="zh", body="地铁5号线开通。").encode("gbk")
    problems = findings(tmp_path, {"articles/2026/gbk.zh.md": gbk, "articles/2026/notes.txt": "Notes"})
    assert messages(problems) == [
        "content/articles/2026/gbk.zh.md:1: the file is not UTF-8 (perhaps GBK); save it as UTF-8 (`invoke import` "
        "converts GBK text)",
        "content/articles/2026/notes.txt:1: the site does not read `.txt` files, only `.md`; rename it to .md or move "
        "it out of the content folder",
    ]


def test_check_registry_entries_no_article_names(tmp_path):
    problems = findings(tmp_path, {"topics/food-safety.md": "Title: Food safety\n\nFood.\n",
                                   "people/li-ran.md": "Title: Li Ran\n\nReporter.\n"})
    assert messages(problems, "warning") == [
        "content/people/li-ran.md:1: no article names the person `Li Ran`, so it has no page yet; name it in an "
        "article's `Reporters` or `Editors`, or delete this file if it is not needed",
        "content/topics/food-safety.md:1: no article names the topic `Food safety`, so it has no page yet; name it in "
        "an article's `Topics`, or delete this file if it is not needed",
    ]
    assert messages(problems, "error") == []


def test_check_reports_every_problem_sorted_and_paths_restrict_the_report(tmp_path):
    root = write_content(tmp_path / "content", {
        "articles/2026/good.md": GOOD,
        "articles/2026/b.md": article(title="B", topics="Nothing"),
        "articles/2025/a.md": article(title="A", date="2025-13-01 09:00", editors=""),
    })
    problems = run_check(root)
    assert [(p.path, p.line) for p in problems] == [
        ("content/articles/2025/a.md", 2), ("content/articles/2025/a.md", 4), ("content/articles/2026/b.md", 3)]
    assert [p.path for p in run_check(root, root / "articles" / "2026")] == ["content/articles/2026/b.md"]
    assert run_check(root, root / "articles" / "2026" / "good.md") == []
    with pytest.raises(ToolError, match="does not exist"):
        run_check(root, root / "articles" / "nowhere.md")


def test_check_json_format(tmp_path):
    root = write_content(tmp_path / "content", {"articles/2026/good.md": GOOD,
                                                "articles/2026/bad.md": article(title="B", topics="Nothing")})
    out, err = io.StringIO(), io.StringIO()
    assert check_tool.run(content=str(root), fmt="json", out=out, err=err) == 1
    assert json.loads(out.getvalue()) == [{
        "path": "content/articles/2026/bad.md", "line": 3, "severity": "error",
        "message": "unknown topic `Nothing` in `Topics`: add content/topics/<slug>.md for it, or check the spelling",
    }]


# --- `invoke check`'s results cache: the same report, faster; never a stale one ----------------------------


def cached_check(root: Path, cache: Path, *paths: Path) -> tuple[int, str, str, int]:
    """`invoke check` as the task runs it, with a cache: exit code, stdout, stderr, files validated afresh."""
    out, err = io.StringIO(), io.StringIO()
    validated = []
    original = check_tool.Checker.run

    def counting_run(self, selected=()):
        try:
            return original(self, selected)
        finally:
            validated.append(self.validated)

    check_tool.Checker.run = counting_run
    try:
        code = check_tool.run([str(p) for p in paths], content=str(root), out=out, err=err, cache=cache)
    finally:
        check_tool.Checker.run = original
    assert "Traceback" not in err.getvalue()
    return code, out.getvalue(), err.getvalue(), validated[0]


CACHED_FILES = {
    "articles/2026/good.md": GOOD,
    "articles/2026/photo.md": article(title="Photo", officials="Tao Minghui",
                                      body="A map:\n\n![Map of line 4]({static}/images/map.png)\n"),
    "articles/2026/bad.md": article(title="Bad", topics="Public transprt"),
    "articles/2026/orphan.zh.md": article(title="孤", lang="zh", translation="true"),
    "images/map.png": b"\x89PNG\r\n",
}


def test_a_second_check_reads_the_cache_and_reports_exactly_the_same(tmp_path):
    root = write_content(tmp_path / "content", CACHED_FILES)
    cache = tmp_path / "cache"
    first = cached_check(root, cache)
    assert first[0] == 1 and first[3] == 4 and "unknown topic `Public transprt`" in first[1] and "Translation: true" in first[1]
    second = cached_check(root, cache)
    assert second[:3] == first[:3] and second[3] == 0  # nothing parsed again
    uncached = check_tool.Checker(root).run()
    assert first[1] == "".join(f"{p}\n" for p in uncached)
    out_first, out_second = io.StringIO(), io.StringIO()
    check_tool.run(content=str(root), fmt="json", out=out_first, err=io.StringIO(), cache=tmp_path / "json-cache")
    check_tool.run(content=str(root), fmt="json", out=out_second, err=io.StringIO(), cache=tmp_path / "json-cache")
    assert out_first.getvalue() == out_second.getvalue() and "Public transprt" in out_first.getvalue()
    # The PATHs given restrict the report, from the cache as without it.
    only_bad = cached_check(root, cache, root / "articles/2026/bad.md")
    assert only_bad[1] == "content/articles/2026/bad.md:3: error: unknown topic `Public transprt` in `Topics`: did you " \
        "mean Public transport?\n" and only_bad[3] == 0


def test_an_edited_file_is_checked_again_and_its_fix_clears_the_report(tmp_path):
    root = write_content(tmp_path / "content", CACHED_FILES)
    cache = tmp_path / "cache"
    clean = cached_check(root, cache)
    good = root / "articles/2026/good.md"
    good.write_text(GOOD.replace("Officials: Tao Minghui, Liang Shuwen",
                                 "Officials: Tao Minghui, Liang Shuwen, Nobody Known"), encoding="utf-8")
    code, out, err, validated = cached_check(root, cache)
    assert validated == 1
    assert "content/articles/2026/good.md:5: error: unknown official `Nobody Known` in `Officials`" in out
    assert out == "".join(f"{p}\n" for p in check_tool.Checker(root).run())
    good.write_text(GOOD, encoding="utf-8")
    assert cached_check(root, cache)[:3] == clean[:3]
    # A file whose modification time changes but whose bytes do not (a fresh clone) is not parsed again.
    os.utime(good, (1, 1))
    assert cached_check(root, cache)[3] == 0


def test_a_renamed_official_invalidates_the_articles_that_named_the_old_name(tmp_path):
    root = write_content(tmp_path / "content", CACHED_FILES)
    cache = tmp_path / "cache"
    cached_check(root, cache)
    registry_file = root / "officials/tao-minghui.md"
    registry_file.write_text(DEFAULT_REGISTRY["officials/tao-minghui.md"].replace("Tao Minghui", "Tao Mingyu")
                             .replace("陶明辉, Tao Ming Hui", "陶明宇"), encoding="utf-8")
    code, out, err, validated = cached_check(root, cache)
    assert "content/articles/2026/photo.md:5: error: unknown official `Tao Minghui` in `Officials`" in out
    assert "content/articles/2026/good.md:5: error: unknown official `Tao Minghui` in `Officials`" in out
    assert out == "".join(f"{p}\n" for p in check_tool.Checker(root).run())


def test_a_deleted_link_target_is_reported_although_the_article_did_not_change(tmp_path):
    root = write_content(tmp_path / "content", CACHED_FILES)
    cache = tmp_path / "cache"
    assert "map.png" not in cached_check(root, cache)[1]
    (root / "images/map.png").rename(root / "images/map-4.png")
    code, out, err, validated = cached_check(root, cache)
    assert validated == 1
    assert ("content/articles/2026/photo.md:9: error: `{static}/images/map.png` points nowhere: there is no file "
            "content/images/map.png; did you mean content/images/map-4.png?") in out
    (root / "images/map-4.png").rename(root / "images/map.png")
    assert "map.png" not in cached_check(root, cache)[1]


def _poison(cache: Path, version: str | None = None) -> None:
    """Put a problem only the cache knows into good.md's cached result (and give the cache another version)."""
    (cache_file,) = cache.glob("*.json")
    data = json.loads(cache_file.read_text(encoding="utf-8"))
    data["files"]["article"]["articles/2026/good.md"][1] = [["content/articles/2026/good.md", 1, "error", "POISON"]]
    if version is not None:
        data["version"] = version
    cache_file.write_text(json.dumps(data), encoding="utf-8")


def test_a_cache_from_another_code_version_is_ignored(tmp_path):
    root = write_content(tmp_path / "content", CACHED_FILES)
    cache = tmp_path / "cache"
    expected = cached_check(root, cache)
    _poison(cache)
    assert "POISON" in cached_check(root, cache)[1]  # the cache is used: the poison shows
    _poison(cache, version="0" * 64)
    assert cached_check(root, cache)[:3] == expected[:3]
    # and the code version is part of the key: the same cache, read by changed code, is not used
    _poison(cache)
    original = check_cache.code_version
    check_cache.code_version = lambda files: original(files) + b"changed"
    try:
        assert cached_check(root, cache)[:3] == expected[:3]
    finally:
        check_cache.code_version = original


@pytest.mark.parametrize("damage", [b"", b"{not json", b"\xff\xfe\x00garbage", b"[1, 2, 3]", "truncate",
                                    "entry", "item", "registries", "no registry problems"])
def test_a_damaged_cache_is_ignored_without_a_traceback(damage, tmp_path):
    root = write_content(tmp_path / "content", CACHED_FILES)
    cache = tmp_path / "cache"
    expected = cached_check(root, cache)
    (cache_file,) = cache.glob("*.json")
    data = cache_file.read_bytes()
    if damage == "truncate":
        cache_file.write_bytes(data[: len(data) // 2])
    elif damage in ("entry", "item", "registries", "no registry problems"):
        parsed = json.loads(data)
        entry = parsed["files"]["article"]["articles/2026/bad.md"]
        if damage == "no registry problems":
            del parsed["registries"]["problems"]
        elif damage == "registries":
            parsed["registries"]["entries"]["officials"] = [["tao-minghui"]]
        elif damage == "entry":
            parsed["files"]["article"]["articles/2026/bad.md"] = {"not": "a list"}
        else:
            entry[2] = ["en", ["not", "a", "slug"]]
        cache_file.write_text(json.dumps(parsed), encoding="utf-8")
    else:
        cache_file.write_bytes(damage)
    assert cached_check(root, cache)[:3] == expected[:3]
    assert cached_check(root, cache)[:3] == expected[:3]  # and it was rewritten whole


def test_each_content_folder_has_its_own_cache(tmp_path):
    cache = tmp_path / "cache"
    first = write_content(tmp_path / "one" / "content", {"articles/2026/good.md": GOOD})
    registry = {k: v for k, v in DEFAULT_REGISTRY.items() if k != "officials/liang-shuwen.md"}
    second = write_content(tmp_path / "two" / "content", {"articles/2026/good.md": GOOD}, registry)
    for _round in range(2):
        assert cached_check(first, cache)[:2] == (0, "")
        assert cached_check(second, cache)[1].startswith(
            "content/articles/2026/good.md:5: error: unknown official `Liang Shuwen`")
    assert len(list(cache.glob("*.json"))) == 2


# --- property-based: no metadata value crashes the parser or the checks ------------------------------------

HEADER_VALUES = st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=60)
FUZZED_KEYS = st.one_of(
    st.sampled_from(model.ARTICLE_KEYS + model.PELICAN_KEYS),
    st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,15}", fullmatch=True),
)


def fuzzed_article(key: str, value: str) -> tuple[str, int]:
    """An article whose last header line is ``key: value``; returns the text and that line's number."""
    base = {"title": "Metro", "date": "2026-03-18 09:30", "topics": "Public transport", "editors": "Wang Siqi"}
    base.pop(key.lower().replace("-", "_"), None)
    lines = [f"{k.title()}: {v}" for k, v in base.items()] + [f"{key}: {value}"]
    return "\n".join(lines) + "\n\nThe body.\n", len(lines)


def assert_problems_point_at(problems, line: int) -> None:
    for problem in problems:
        assert isinstance(problem, model.Problem)
        assert problem.severity in ("error", "warning") and problem.message.strip()
        assert problem.line == line, problem


@pytest.fixture(scope="module")
def fixture_registries(tmp_path_factory) -> model.Registries:
    return model.load_registries(write_content(tmp_path_factory.mktemp("registry") / "content", {}))


@settings(max_examples=300, deadline=None)
@given(key=FUZZED_KEYS, value=HEADER_VALUES)
def test_no_metadata_value_crashes_the_content_model(fixture_registries, key, value):
    text, line = fuzzed_article(key, value)
    source = model.parse_source("content/articles/x.md", text)
    model.validate_article(source, fixture_registries, model.Settings())
    assert_problems_point_at(source.problems, line)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=FUZZED_KEYS, value=HEADER_VALUES)
def test_no_metadata_value_crashes_invoke_check(tmp_path, key, value):
    text, line = fuzzed_article(key, value)
    root = write_content(tmp_path / "content", {"articles/2026/good.md": GOOD})
    path = root / "articles" / "2026" / "fuzzed.md"
    path.write_text(text, encoding="utf-8")
    problems = run_check(root)
    assert not [p for p in problems if p.path not in ("content/articles/2026/fuzzed.md", GOOD_PATH)
                and p.severity == "error"]
    ours = [p for p in problems if p.path == "content/articles/2026/fuzzed.md"]
    if key.lower() in ("slug", "save_as"):
        # a slug or output file may collide with the control article's: reported on both, at the key's line
        ours = [p for p in ours if "also used by" not in p.message and "same page" not in p.message]
    assert_problems_point_at(ours, line)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8")))
def test_no_wire_text_crashes_the_importer(data):
    try:
        text = importer.decode_wire("wire.txt", data)
    except importer.ImportRefused as exc:
        assert str(exc).startswith("wire.txt:")
        return
    wire = importer.WireParser(None).parse(text)
    assert all(paragraph.strip() for paragraph in wire.paragraphs)


# --- the real tasks, through invoke ---------------------------------------------------------------------------


def invoke(*args: str, env_content: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("PORTAL_CONTENT", None)
    if env_content is not None:
        env["PORTAL_CONTENT"] = str(env_content)
    return subprocess.run([sys.executable, "-m", "invoke", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          env=env, timeout=120)


def test_invoke_tasks_exit_codes(tmp_path):
    root = write_content(tmp_path / "content", {"articles/2026/good.md": GOOD})
    result = invoke("check", "--content", str(root))
    assert (result.returncode, result.stdout) == (0, ""), result.stderr
    assert "No problems in 1 article(s)." in result.stderr

    (root / "articles/2026/bad.md").write_text(article(title="Bad", topics="Public transprt"), encoding="utf-8")
    result = invoke("check", "--content", str(root), "--format", "json")
    assert result.returncode == 1
    assert [p["message"] for p in json.loads(result.stdout)] == [
        "unknown topic `Public transprt` in `Topics`: did you mean Public transport?"]
    result = invoke("check", "--path", str(root / "articles/2026/good.md"), "--content", str(root))
    assert result.returncode == 0, result.stdout
    result = invoke("check", "--", str(root / "articles/2026/bad.md"), str(root / "articles/2026/good.md"),
                    env_content=root)
    assert result.returncode == 1
    assert result.stdout.startswith("content/articles/2026/bad.md:3: error: unknown topic `Public transprt`")

    result = invoke("new", "Lanhai opens metro line 6", "--date", "2026-04-01 10:00", "--topics", "Urban renewal",
                    env_content=root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(root / "articles/2026/lanhai-opens-metro-line-6.md")
    assert invoke("new", "Lanhai opens metro line 6", "--date", "2026-04-01 10:00", env_content=root).returncode == 1

    result = invoke("import", str(FIXTURES / "zh-wire.txt"), "--content", str(root))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("articles/2022/lanhai-ditie-5-haoxian-kaitong-yunying.zh.md")
    result = invoke("import", str(SEED_TEXT), "--content", str(root))
    assert result.returncode == 1 and "--date" in result.stderr


# --- the built sample site -----------------------------------------------------------------------------------


def test_the_built_sample_site_has_no_broken_links(sample_site):
    ok, report = checkers.run_linkchecker(sample_site)
    assert ok, report


def test_check_never_reads_an_article_that_links_outside_content(tmp_path):
    """A `.md` symbolic link to a file outside content/ is reported, and its target is not read: its lines would
    otherwise come back as "unknown header" errors, printing a private file into the CI log."""
    outside = tmp_path / "passwd"
    outside.write_text("root:x:0:0:root:/root:/bin/bash\nsecret-user:x:1000:1000::/home/s:/bin/sh\n", encoding="utf-8")
    (tmp_path / "content" / "articles" / "2026").mkdir(parents=True)
    (tmp_path / "content" / "articles" / "2026" / "leak.md").symlink_to(outside)
    problems = findings(tmp_path, {"articles/2026/fine.md": article()})
    assert messages(problems) == [
        "content/articles/2026/leak.md:1: this symbolic link leads outside content/; replace it with the file itself",
    ]
    assert "root" not in " ".join(messages(problems)) and "secret-user" not in " ".join(messages(problems))


def test_files_validated_in_worker_processes_give_the_same_report_and_cache(tmp_path):
    files = dict(CACHED_FILES)
    files.update({
        "articles/2026/notes.txt": "Title: not read\n",
        "articles/2026/twin.md": article(title="Twin", slug="good"),
        "articles/2026/links.md": article(title="Links", body="See [the plan]({filename}/articles/2026/gone.md) and "
                                          "![a map]({static}/images/map.png), not ![](x.png).\n"),
        "articles/2025/date.md": article(title="Date", date="2025-02-30 09:00"),
    })
    root = write_content(tmp_path / "content", files)
    serial = check_tool.Checker(root, cache=tmp_path / "serial", workers=1)
    expected = serial.run()
    assert serial.worker_processes == 0 and len(expected) >= 6
    parallel = check_tool.Checker(root, cache=tmp_path / "parallel", workers=2, parallel_min=1)
    assert parallel.run() == expected
    assert parallel.worker_processes == 2 and parallel.validated == serial.validated == 7
    assert [item.shown for item in parallel.items] == [item.shown for item in serial.items]
    (saved_serial,), (saved_parallel,) = (tmp_path / "serial").glob("*.json"), (tmp_path / "parallel").glob("*.json")
    assert saved_parallel.read_bytes() == saved_serial.read_bytes()
    # A second run takes every unchanged file from the cache in this process and validates only the edited one.
    (root / "articles/2025/date.md").write_text(article(title="Date", date="2025-02-28 09:00"), encoding="utf-8")
    again = check_tool.Checker(root, cache=tmp_path / "parallel", workers=2, parallel_min=1)
    assert again.run() == [p for p in expected if "2025-02-30" not in p.message]
    assert again.validated == 1 and again.worker_processes == 2
