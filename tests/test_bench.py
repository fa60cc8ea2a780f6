"""The benchmark (`invoke bench`) is trustworthy: a deterministic corpus our content model accepts, memory measured
over the whole process tree, differences found file by file, and the whole run working end to end."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

from tests.support.sites import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "plugins"))

from bench import corpus, runner  # noqa: E402
from content_model import model  # noqa: E402
from content_model.build import build  # noqa: E402


def generate(tmp_path: Path, name: str, articles: int = 60, seed: int = 7) -> corpus.Corpus:
    return corpus.generate(tmp_path / name / "content", articles, seed)


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path):
    first, second, other = generate(tmp_path, "a"), generate(tmp_path, "b"), generate(tmp_path, "c", seed=8)
    hashes = [runner.hash_tree(c.root) for c in (first, second, other)]
    assert len(hashes[0]) > 300  # 60 articles + 340 registry entries + pages + images
    assert hashes[0] == hashes[1]
    assert hashes[0] != hashes[2]


def test_corpus_has_the_shape_issue_9_asks_for(tmp_path):
    made = generate(tmp_path, "shape", articles=300)
    registries = model.load_registries(made.root)
    assert (len(registries.topics), len(registries.officials), len(registries.people)) == (60, 200, 80)
    assert not registries.problems
    assert all(any(model.has_cjk(alias) for alias in entry.aliases) for entry in registries.officials)
    files = [made.root / a.path for a in made.articles]
    assert len(files) == 300
    chinese = [a for a in made.articles if a.lang == "zh"]
    assert 90 <= len(chinese) <= 110  # about a third
    assert sum(a.translated for a in made.articles) == 60  # a fifth of the files are in translation pairs
    for path in files:
        source = model.read_source(path)
        assert 1 <= len(model.split_list(source.get("topics"))) <= 4
        assert 0 <= len(model.split_list(source.get("officials"))) <= 5
        assert 1 <= len(model.split_list(source.get("reporters"))) <= 2
        assert 1 <= len(model.split_list(source.get("editors"))) <= 2
        assert 2016 <= int(source.get("date")[:4]) <= 2025
        lang = source.get("lang")
        size = len(source.body) if lang == "zh" else len(source.body.split())
        assert size >= (500 if lang == "zh" else 300), path
        assert path.name.endswith(".zh.md") == (lang == "zh")
        assert path.parent.name == source.get("date")[:4]
    bodies = "\n".join(p.read_text(encoding="utf-8") for p in files)
    assert "## " in bodies and "{filename}/articles/" in bodies and "| --- |" in bodies and "\n- " in bodies
    with_image = sum(a.has_image for a in made.articles)
    assert 5 <= with_image <= 30  # about 5%


def test_corpus_builds_with_our_plugins_without_content_errors_or_warnings(tmp_path):
    made = generate(tmp_path, "site")
    corpus.edit_body(made, 0)
    corpus.edit_metadata(made, 0)
    output = tmp_path / "output"
    with contextlib.redirect_stderr(io.StringIO()) as log, contextlib.redirect_stdout(io.StringIO()):
        build(
            REPO_ROOT / "publishconf.py",
            {"PATH": str(made.root), "OUTPUT_PATH": str(output), "CACHE_PATH": str(tmp_path / "cache" / "pelican")},
            fatal="warnings",
        )
    assert "error" not in log.getvalue()
    pages = [p for p in output.rglob("index.html") if runner.ARTICLE_PAGE.match(p.relative_to(output).as_posix())]
    assert len(pages) == 60


def test_metadata_edit_adds_a_topic_and_an_official_that_resolve(tmp_path):
    made = generate(tmp_path, "edit")
    target = corpus.metadata_edit_target(made, 0)
    before = model.read_source(made.root / target.path)
    corpus.edit_metadata(made, 0)
    after = model.read_source(made.root / target.path)
    assert len(model.split_list(after.get("topics"))) == len(model.split_list(before.get("topics"))) + 1
    assert len(model.split_list(after.get("officials"))) == len(model.split_list(before.get("officials"))) + 1
    assert after.body == before.body
    registries = model.load_registries(made.root)
    model.validate_article(after, registries, model.Settings())
    assert not after.problems


def test_body_edit_changes_only_the_body(tmp_path):
    made = generate(tmp_path, "body")
    target = corpus.body_edit_target(made, 0)
    before = model.read_source(made.root / target.path)
    corpus.edit_body(made, 0)
    after = model.read_source(made.root / target.path)
    assert after.fields == before.fields
    assert after.body != before.body and "benchmark edit 1" in after.body


def test_compare_trees_names_changed_missing_and_extra_files():
    verdict = runner.compare_trees({"a": "1", "b": "2", "c": "3"}, {"a": "1", "b": "X", "d": "4"})
    assert not verdict["identical"]
    assert (verdict["changed"], verdict["missing"], verdict["extra"]) == (["b"], ["c"], ["d"])
    assert runner.compare_trees({"a": "1"}, {"a": "1"})["identical"]


def measure_in_a_child(tmp_path, child_code: str) -> runner.Run:
    """``runner.measure`` of a Python process that only waits for a child running ``child_code``."""
    code = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {child_code!r}])\n"
    run = runner.measure([sys.executable, "-c", code], tmp_path, runner.child_env(), tmp_path / "log")
    assert run.returncode == 0
    return run


def test_peak_memory_counts_the_whole_process_tree(tmp_path):
    # The parent stays small; its child holds 200 MB. Only tree-wide sampling sees the child's memory
    # while the parent runs (the parent's own ru_maxrss would say ~10 MB).
    run = measure_in_a_child(
        tmp_path, 'import time; block = bytearray(200 * 2**20); block[::4096] = b"x" * len(block[::4096]); time.sleep(0.6)'
    )
    assert run.peak_rss >= 200 * 2**20
    assert run.peak_pss >= 190 * 2**20  # the child's pages are its own, so PSS sees them too
    assert run.seconds >= 0.6


def test_cpu_time_counts_the_descendants_the_build_waited_for(tmp_path):
    # The parent only waits; its child burns 0.6 s of CPU (a build's forked child and worker pools).
    run = measure_in_a_child(tmp_path, "import time\nwhile time.process_time() < 0.6: pass")
    assert run.cpu_seconds >= 0.6
    summary = runner.summarise([run])
    assert summary["cpu_seconds"] == round(run.cpu_seconds, 3) == summary["runs"][0]["cpu_seconds"]


def test_cache_settings_all_point_into_the_bench_cache_folder(tmp_path):
    namespace = {"CACHE_PATH": "cache/pelican", "SHARE_CARD_CACHE": "cache/cards", "IMAGE_CACHE_DIR": "c/i",
                 "CACHE_CONTENT": True, "GZIP_CACHE": False, "CONTENT_CACHING_LAYER": "reader"}
    overrides = runner.cache_overrides(tmp_path, namespace)
    assert set(overrides) == {"CACHE_PATH", "SHARE_CARD_CACHE", "IMAGE_CACHE_DIR"}
    assert all(Path(value).parent == tmp_path for value in overrides.values())


def test_invoke_bench_runs_end_to_end_and_writes_every_figure(tmp_path):
    report_file = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "bench", "--articles", "200", "--runs", "1", "--json", str(report_file)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert report_file.is_file(), done.stderr[-3000:]
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert "error" not in report, report.get("error")
    assert set(report["figures"]) == set(runner.TARGETS)
    for key, figure in report["figures"].items():
        assert figure["target"] == runner.TARGETS[key]
        if key != "check":  # n/a until `invoke check` exists
            assert isinstance(figure["ours"], (int, float)) and figure["ours"] > 0, key
            assert figure["pass"] in (True, False), key
    for key in ("cold_build", "ci_rebuild", "one_article_edit", "metadata_edit"):
        assert report["figures"][key]["stock"] > 0
        assert report["steps"][key]["ours"]["peak_rss_mb"] > 20
        assert all(report["figures"][key]["cpu_seconds"][side] > 0 for side in ("ours", "stock")), key
    # Each step's builds took the way meant for it, and a full build reports every stage.
    ways = {key: report["steps"][key]["ours"]["stages"]["path"]
            for key in ("cold_build", "ci_rebuild", "one_article_edit", "metadata_edit")}
    assert ways == {"cold_build": "full build", "ci_rebuild": "last output restored",
                    "one_article_edit": "body-edit path", "metadata_edit": "full build"}
    cold = report["steps"]["cold_build"]["ours"]
    assert list(cold["stages"]["stages"]) == ["startup", "reading articles", "contexts", "article pages",
                                              "other pages and feeds", "finishing"]
    assert 0 < sum(cold["stages"]["stages"].values()) <= cold["seconds"]
    # the memory peak of each stage: the build's own peak is one of them
    peaks = cold["stages"]["peaks_mb"]
    assert list(peaks) == list(cold["stages"]["stages"]) and all(peak > 20 for peak in peaks.values()), peaks
    assert max(peaks.values()) <= cold["peak_rss_mb"]
    assert "| contexts: peak MB" in done.stdout
    assert list(report["steps"]["one_article_edit"]["ours"]["stages"]["stages"]) == ["whole build"]
    assert "| way taken" in done.stdout
    assert report["figures"]["growth"]["from_articles"] == 20
    assert set(report["correctness"]) >= {"ci_rebuild", "one_article_edit", "metadata_edit"}
    # The table is printed, one progress line per step went to stderr, and a wrong rebuild means exit 1.
    assert "| cold build" in done.stdout and "CPU ours / stock" in done.stdout and "[bench" in done.stderr
    assert done.returncode == (0 if report["correct"] else 1), done.stderr[-3000:]


def test_stage_peaks_place_each_memory_sample_in_its_stage():
    report = {"started_at": 100.0, "stages": {"startup": 1.0, "reading articles": 2.0, "finishing": 0.5}}
    samples = [(99.9, 10 * 2**20), (100.2, 50 * 2**20), (101.5, 80 * 2**20), (102.9, 70 * 2**20),
               (103.2, 60 * 2**20), (104.0, 65 * 2**20)]  # the finisher's last samples count in the last stage
    assert runner.stage_peaks(samples, report) == {"startup": 50.0, "reading articles": 80.0, "finishing": 65.0}
    assert runner.stage_peaks(samples, {"stages": {"whole build": 3.0}}) == {}  # a report without its start
