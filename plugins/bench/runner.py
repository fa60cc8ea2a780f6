"""`invoke bench`: time and memory of our build against stock Pelican on one synthetic corpus.

Every build runs as its own subprocess (``python3 build_ours.py spec.json`` through ``content_model.build.build``
for ours, ``python3 -m pelican -s stockconf.py`` for stock Pelican with its ``simple`` theme and no plugins). Wall
time runs from spawn to exit; peak memory is the largest sum of RSS over the child's whole process tree, sampled
from ``/proc`` every 50 ms (so worker pools count), and never less than the child's own ``ru_maxrss``. CPU time
(user + system) is the child's with every descendant it waited for (``wait4``'s resource usage): the work done,
apart from waiting and from how well the cores were used. Each of our builds also reports the way it took and how
long each stage took (``content_model.build.StageClock``).

Figures (medians of R runs): cold build, CI rebuild (fresh checkout: every content file's mtime reset; output and
caches restored; nothing changed), one-article body edit, one-article metadata edit, ``invoke check``, peak memory,
growth from N/10 to N articles, article page weight, and `invoke livereload`'s save -> edited page rewritten
(live_preview's quick path, in one long-lived process). After the rebuilds the output is compared, file by file
(sha256), with a cold build of the same corpus: a fast wrong answer is reported as a failure, not a figure.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gzip
import hashlib
import json
import os
import platform
import re
import runpy
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

from . import corpus as corpus_module

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_FILE = "publishconf.py"  # the public build CI runs (absolute URLs, every page kind)
# Not copied into the code snapshot: history, generated files, the sample content; node_modules is linked.
SNAPSHOT_SKIP = {".git", ".pytest_cache", "cache", "output", "content", "node_modules", "__pycache__"}
SITEURL = "https://lanhai.example.gov"
SAMPLE_SECONDS = 0.05
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# Targets from issue 9: ratios to stock Pelican's cold build in the same run (time), to stock's peak (memory).
TARGETS = {
    "cold_build": 1.5,
    "ci_rebuild": 0.1,
    "one_article_edit": 0.1,
    "metadata_edit": 0.15,
    "check": 0.05,
    "peak_memory": 1.5,
    "growth": 11.0,
    "article_page_weight": 30.0,  # KB, gzipped
    "livereload": 1.0,  # seconds (absolute): `invoke livereload`, save -> the edited article's page rewritten
}
# Settings stock Pelican copies from ours so it reads the same files and writes comparable URLs.
SHARED_SETTINGS = (
    "TIMEZONE", "DEFAULT_LANG", "DEFAULT_DATE_FORMAT", "ARTICLE_PATHS", "PAGE_PATHS", "STATIC_PATHS",
    "ARTICLE_EXCLUDES", "PAGE_EXCLUDES", "READERS", "IGNORE_FILES", "ARTICLE_URL", "ARTICLE_SAVE_AS",
    "ARTICLE_LANG_URL", "ARTICLE_LANG_SAVE_AS", "PAGE_URL", "PAGE_SAVE_AS", "PAGE_LANG_URL", "PAGE_LANG_SAVE_AS",
    "DRAFT_URL", "DRAFT_SAVE_AS", "DRAFT_LANG_URL", "DRAFT_LANG_SAVE_AS", "DEFAULT_CATEGORY",
    "USE_FOLDER_AS_CATEGORY", "SLUGIFY_SOURCE", "MARKDOWN", "FEED_MAX_ITEMS", "DEFAULT_PAGINATION",
    "PAGINATION_PATTERNS", "CACHE_CONTENT", "LOAD_CONTENT_CACHE", "CHECK_MODIFIED_METHOD", "GZIP_CACHE",
    "CONTENT_CACHING_LAYER",
)
# A setting naming a cache folder: CACHE_PATH, SHARE_CARD_CACHE, IMAGE_CACHE_DIR, ...
CACHE_SETTING = re.compile(r"^[A-Z0-9_]*CACHE(?:_[A-Z0-9_]*)?(?:PATH|DIR|FOLDER)$|^[A-Z0-9_]+_CACHE$")
ARTICLE_PAGE = re.compile(r"^(?:[a-z]{2}/)?\d{4}/\d{2}/[^/]+/index\.html$")

OUR_BUILD_SCRIPT = '''\
"""One build of the portal through its own entry point, as `invoke build` runs it, for `invoke bench`."""
import json, sys
spec = json.load(open(sys.argv[1], encoding="utf-8"))
sys.path.insert(0, spec["plugins"])
from content_model.build import command_line
command_line(spec)
'''


class BenchFailed(Exception):
    """A build or check the benchmark depends on failed; the message says which and shows its log."""


# --- measuring ---------------------------------------------------------------------------------------


def _process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, resident pages) for every process, from /proc/<pid>/stat."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                data = handle.read()
        except OSError:  # the process ended while we looked
            continue
        fields = data[data.rindex(b")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[21]))
    return table


def _pss(pid: int) -> int:
    """Proportional set size in bytes (shared pages split between the processes sharing them), 0 if gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_memory(root_pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes of ``root_pid`` and all its descendants right now.

    RSS is the figure issue 9 asks for; summed over forked workers it counts copy-on-write pages shared with the
    parent once per process, so PSS is recorded too (the memory the tree really costs the machine)."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _rss) in table.items():
        children.setdefault(ppid, []).append(pid)
    rss = pss = 0
    stack = [root_pid]
    while stack:
        pid = stack.pop()
        if pid in table:
            rss += table[pid][1] * PAGE_SIZE
            pss += _pss(pid)
        stack.extend(children.get(pid, ()))
    return rss, pss


def tree_rss(root_pid: int) -> int:
    return tree_memory(root_pid)[0]


@dataclasses.dataclass
class Run:
    seconds: float
    peak_rss: int  # bytes, summed over the process tree
    returncode: int
    peak_pss: int = 0  # bytes, summed over the process tree
    cpu_seconds: float = 0.0  # user + system, the process and the descendants it waited for
    stages: dict | None = None  # our builds: the way taken and each stage's seconds (content_model.build.StageClock)
    samples: list = dataclasses.field(default_factory=list, repr=False)  # (time.perf_counter(), tree RSS in bytes)


def measure(command: list[str], cwd: Path, env: dict, log: Path) -> Run:
    """Run ``command`` to completion; wall time, peak RSS of its process tree, CPU time, exit code."""
    peak = peak_pss = 0
    samples: list[tuple[float, int]] = []
    done = threading.Event()
    with open(log, "ab") as out:
        out.write(("\n$ " + " ".join(command) + "\n").encode())
        out.flush()
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)

        def sample() -> None:
            nonlocal peak, peak_pss
            while not done.is_set():
                rss, pss = tree_memory(process.pid)
                samples.append((time.perf_counter(), rss))
                peak, peak_pss = max(peak, rss), max(peak_pss, pss)
                done.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # wait4 rather than Popen.wait: it also returns the child's resource usage (its own ru_maxrss)
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
    # A child's usage as wait4 reports it includes the descendants it waited for (Linux: RUSAGE_BOTH).
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds, max(peak, usage.ru_maxrss * 1024), process.returncode, peak_pss, cpu, samples=samples)


def stage_peaks(samples: list[tuple[float, int]], stages: dict) -> dict[str, float]:
    """The largest tree RSS (MB) sampled in each stage of a build's report (``content_model.build``), in its
    order; the last stage runs to the last sample (the finisher's process is the build's)."""
    start = stages.get("started_at")
    if start is None or not samples:
        return {}
    peaks, begin = {}, start
    names = list(stages["stages"])
    for index, name in enumerate(names):
        end = begin + stages["stages"][name] if index < len(names) - 1 else float("inf")
        inside = [rss for moment, rss in samples if begin <= moment < end]
        if inside:
            peaks[name] = _mb(max(inside))
        begin = end
    return peaks


def hash_tree(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by path relative to it."""
    hashes = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            hashes[path.relative_to(folder).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def compare_trees(expected: dict[str, str], actual: dict[str, str], limit: int = 20) -> dict:
    """Which paths differ between a cold build (expected) and a rebuild (actual)."""
    changed = sorted(p for p in expected.keys() & actual.keys() if expected[p] != actual[p])
    missing = sorted(expected.keys() - actual.keys())
    extra = sorted(actual.keys() - expected.keys())
    return {
        "identical": not (changed or missing or extra),
        "files": len(expected),
        "changed": changed[:limit],
        "changed_count": len(changed),
        "missing": missing[:limit],
        "missing_count": len(missing),
        "extra": extra[:limit],
        "extra_count": len(extra),
    }


# --- page weight ---------------------------------------------------------------------------------------


class _AssetLinks(HTMLParser):
    """Stylesheets and scripts a page makes the browser fetch."""

    def __init__(self) -> None:
        super().__init__()
        self.assets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        values = dict(attrs)
        rel = (values.get("rel") or "").lower().split()
        if tag == "link" and ("stylesheet" in rel or "modulepreload" in rel) and values.get("href"):
            self.assets.append(values["href"])
        elif tag == "script" and values.get("src"):
            self.assets.append(values["src"])


def _local_file(output: Path, page: Path, url: str, siteurl: str) -> Path | None:
    url = url.split("#", 1)[0].split("?", 1)[0]
    if siteurl and url.startswith(siteurl):
        url = url[len(siteurl) :]
    if re.match(r"^[a-z][a-z0-9+.-]*:|^//", url, re.I):
        return None  # another origin (there should be none)
    target = (output / url.lstrip("/")) if url.startswith("/") else (page.parent / url)
    target = target.resolve()
    return target if target.is_file() and output.resolve() in target.parents else None


def gzipped_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6, mtime=0))


def page_weights(output: Path, siteurl: str, sample: int = 200) -> dict:
    """Gzipped bytes of article pages (HTML + the CSS and JS they link; images aside) over a sample."""
    pages = sorted(p for p in output.rglob("index.html") if ARTICLE_PAGE.match(p.relative_to(output).as_posix()))
    if not pages:
        return {"pages": 0}
    step = max(1, len(pages) // sample)
    weights = []
    for page in pages[::step][:sample]:
        html = page.read_bytes()
        parser = _AssetLinks()
        parser.feed(html.decode("utf-8", "replace"))
        assets = sorted({f for f in (_local_file(output, page, u, siteurl) for u in parser.assets) if f})
        total = gzipped_size(html) + sum(gzipped_size(a.read_bytes()) for a in assets)
        weights.append((total, page.relative_to(output).as_posix(), len(assets)))
    weights.sort()
    median = weights[len(weights) // 2]
    return {
        "pages": len(weights),
        "median_kb": round(median[0] / 1024, 1),
        "median_page": median[1],
        "assets_per_page": median[2],
        "max_kb": round(weights[-1][0] / 1024, 1),
        "max_page": weights[-1][1],
    }


# --- the two builds ------------------------------------------------------------------------------------------


def child_env() -> dict:
    env = dict(os.environ)
    env["SITEURL"] = SITEURL
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def snapshot_code(work: Path) -> Path:
    """Copy the settings, theme, plugins and tasks as they are now, so every build in one run measures one
    version of the code (others may be editing the tree while the benchmark runs)."""
    code = work / "code"
    def ignore(folder: str, names: list[str]) -> list[str]:
        top = Path(folder) == ROOT
        return [n for n in names if n == "__pycache__" or (top and n in SNAPSHOT_SKIP)]

    shutil.copytree(ROOT, code, ignore=ignore)
    if (ROOT / "node_modules").is_dir():
        (code / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    return code


def our_settings_namespace(code: Path) -> dict:
    return runpy.run_path(str(code / SETTINGS_FILE))


def cache_overrides(cache_dir: Path, namespace: dict) -> dict:
    """Point every cache folder our settings name into ``cache_dir`` (so "cold" is really cold)."""
    overrides = {}
    for key, value in sorted(namespace.items()):
        if CACHE_SETTING.match(key) and isinstance(value, (str, os.PathLike)):
            overrides[key] = str(cache_dir / ("pelican" if key == "CACHE_PATH" else key.lower()))
    overrides.setdefault("CACHE_PATH", str(cache_dir / "pelican"))
    return overrides


class Site:
    """One output folder and one cache folder built from one content folder."""

    def __init__(self, work: Path, name: str, content: Path, log: Path):
        self.name = name
        self.base = work / name
        self.content = content
        self.output = self.base / "output"
        self.cache = self.base / "cache"
        self.log = log
        self.base.mkdir(parents=True, exist_ok=True)

    def wipe(self) -> None:
        for folder in (self.output, self.cache):
            if folder.exists():
                shutil.rmtree(folder)

    def command(self) -> list[str]:
        raise NotImplementedError

    def cwd(self) -> Path:
        return self.base

    def build(self) -> Run:
        run = measure(self.command(), self.cwd(), child_env(), self.log)
        if run.returncode != 0:
            tail = self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
            raise BenchFailed(f"the {self.name} build failed (exit {run.returncode}); log {self.log}:\n" + "\n".join(tail))
        return run


class OurSite(Site):
    def __init__(self, work: Path, name: str, content: Path, log: Path, namespace: dict, code: Path):
        super().__init__(work, name, content, log)
        self.code = code
        self.script = work / "build_ours.py"
        self.script.write_text(OUR_BUILD_SCRIPT, encoding="utf-8")
        self.overrides = {
            "PATH": str(content),
            "OUTPUT_PATH": str(self.output),
            # Rebuilds are measured against the previous output, as CI restores it with the caches.
            "DELETE_OUTPUT_DIRECTORY": False,
            **cache_overrides(self.cache, namespace),
        }
        self.spec = self.base / "build.json"
        self.timeline = self.base / "timeline.json"
        self.spec.write_text(
            json.dumps(
                {"plugins": str(code / "plugins"), "settings": str(code / SETTINGS_FILE), "overrides": self.overrides,
                 "fatal": "errors", "timeline": str(self.timeline)},
                indent=1,
            ),
            encoding="utf-8",
        )

    def cwd(self) -> Path:
        return self.code

    def command(self) -> list[str]:
        return [sys.executable, str(self.script), str(self.spec)]

    def build(self) -> Run:
        self.timeline.unlink(missing_ok=True)
        run = super().build()
        with contextlib.suppress(OSError, ValueError):
            run.stages = json.loads(self.timeline.read_text(encoding="utf-8"))
            run.stages["peaks_mb"] = stage_peaks(run.samples, run.stages)
        return run


class StockSite(Site):
    def __init__(self, work: Path, name: str, content: Path, log: Path, namespace: dict):
        super().__init__(work, name, content, log)
        self.settings = self.base / "stockconf.py"
        lines = [
            '"""Stock Pelican: its simple theme, no plugins, reading the same files as the portal (invoke bench)."""',
            f"SITENAME = {namespace.get('SITENAME', 'Lanhai')!r}",
            f"SITEURL = {SITEURL!r}",
            "RELATIVE_URLS = False",
            f"PATH = {str(content)!r}",
            f"OUTPUT_PATH = {str(self.output)!r}",
            f"CACHE_PATH = {str(self.cache / 'pelican')!r}",
            'THEME = "simple"',
            "PLUGINS = []",
            "DELETE_OUTPUT_DIRECTORY = False",
        ]
        for key in SHARED_SETTINGS:
            if key in namespace:
                lines.append(f"{key} = {namespace[key]!r}")
        self.settings.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def command(self) -> list[str]:
        return [sys.executable, "-m", "pelican", "-s", str(self.settings)]


# --- invoke check --------------------------------------------------------------------------------------------


def check_command(content: Path, code: Path) -> tuple[list[str] | None, str]:
    """The command that runs `invoke check` over ``content``, or None and why not (the one place that knows)."""
    tasks = (code / "tasks.py").read_text(encoding="utf-8")
    if not re.search(r"^def check\(", tasks, re.M):
        return None, "tasks.py has no `check` task yet"
    shown = subprocess.run(
        [sys.executable, "-m", "invoke", "--help", "check"], cwd=code, capture_output=True, text=True, check=False
    )
    options = re.findall(r"--([a-z][a-z0-9-]*)", shown.stdout)
    for option in options:
        if any(word in option for word in ("content", "path", "root", "dir", "folder")):
            return [sys.executable, "-m", "invoke", "check", f"--{option}", str(content)], ""
    return None, "`invoke check` has no option naming a content folder (looked for content/path/root/dir/folder)"


# --- the run ---------------------------------------------------------------------------------------------------


# --- invoke livereload's quick path -----------------------------------------------------------------------------

LIVE_SCRIPT = '''\
"""`invoke livereload`'s quick path on the bench's site (live_preview): body edits, save -> page rewritten."""
import json, sys, time
from pathlib import Path
spec = json.load(open(sys.argv[1], encoding="utf-8"))
sys.path.insert(0, spec["plugins"])
import live_preview
preview = live_preview.LivePreview(spec["settings"], spec["overrides"])
if not preview.build_and_keep():
    sys.exit(1)
articles = sorted((a for a in preview.kept.generator.articles if a.lang == "en" and not a.translations),
                  key=lambda a: a.source_path)
seconds = []
for run in range(spec["runs"]):
    target = articles[(len(articles) // 2 + run) % len(articles)]
    path = Path(target.source_path)
    header, body = path.read_text(encoding="utf-8").split("\\n\\n", 1)
    started = time.perf_counter()
    path.write_text(header + "\\n\\n" + body + f"\\n*Corrected in livereload edit {run + 1}.*\\n", encoding="utf-8")
    outcome = preview.quick_update(path)
    seconds.append(time.perf_counter() - started)
    page = Path(spec["overrides"]["OUTPUT_PATH"]) / target.save_as
    if outcome != live_preview.WRITTEN or f"livereload edit {run + 1}" not in page.read_text(encoding="utf-8"):
        sys.exit(f"the quick path did not rewrite {target.save_as} ({outcome})")
json.dump({"seconds": seconds}, open(spec["result"], "w", encoding="utf-8"))
'''


def live_step(work: Path, site: OurSite, code: Path, runs: int, progress) -> dict | None:
    """Save -> page rewritten by `invoke livereload`'s quick path, in one long-lived process that first builds
    (or, when the last output is current, runs Pelican once) ``site``; None when the code has no live_preview."""
    if not (code / "plugins" / "live_preview").is_dir():
        return None
    script, spec, result = work / "live_ours.py", work / "live.json", work / "live-result.json"
    script.write_text(LIVE_SCRIPT, encoding="utf-8")
    spec.write_text(json.dumps({"plugins": str(code / "plugins"), "settings": str(code / SETTINGS_FILE),
                                "overrides": site.overrides, "runs": runs, "result": str(result)}), encoding="utf-8")
    log_path = work / "logs" / "live.log"
    with open(log_path, "w", encoding="utf-8") as log:
        done = subprocess.run([sys.executable, str(script), str(spec)], cwd=code, env=child_env(), stdout=log,
                              stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise BenchFailed(f"the livereload quick path failed (exit {done.returncode}); log {log_path}")
    seconds = json.loads(result.read_text(encoding="utf-8"))["seconds"]
    progress(f"livereload: edited page rewritten in {', '.join(f'{s:.3f}' for s in seconds)} s")
    return {"seconds": round(statistics.median(seconds), 3), "runs": [round(s, 3) for s in seconds]}


class Progress:
    """One line per step on stderr, with the time since the start."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        elapsed = int(time.perf_counter() - self.start)
        print(f"[bench {elapsed // 60:3d}:{elapsed % 60:02d}] {message}", file=sys.stderr, flush=True)


def _mb(value: int) -> float:
    return round(value / 2**20, 1)


def summarise_stages(runs: list[Run]) -> dict | None:
    """The way our builds took and the median seconds of each stage, when every run took the same way."""
    reports = [run.stages for run in runs]
    if not reports or any(report is None for report in reports) or len({r["path"] for r in reports}) != 1:
        return None if not any(reports) else {"path": "mixed", "runs": reports}
    names = list(dict.fromkeys(name for report in reports for name in report["stages"]))
    summary = {
        "path": reports[0]["path"],
        "stages": {name: round(statistics.median(r["stages"].get(name, 0.0) for r in reports), 3) for name in names},
    }
    peaks = [r.get("peaks_mb") or {} for r in reports]
    if all(peaks):
        # the peak of the process tree's memory in each stage: which stage sets the build's peak
        summary["peaks_mb"] = {name: round(statistics.median(p.get(name, 0.0) for p in peaks), 1) for name in names}
    return summary


def summarise(runs: list[Run]) -> dict:
    summary = {
        "seconds": round(statistics.median(r.seconds for r in runs), 3),
        "peak_rss_mb": _mb(statistics.median(r.peak_rss for r in runs)),
        "peak_pss_mb": _mb(statistics.median(r.peak_pss for r in runs)),
        "cpu_seconds": round(statistics.median(r.cpu_seconds for r in runs), 3),
        "runs": [
            {"seconds": round(r.seconds, 3), "peak_rss_mb": _mb(r.peak_rss), "peak_pss_mb": _mb(r.peak_pss),
             "cpu_seconds": round(r.cpu_seconds, 3)}
            for r in runs
        ],
    }
    stages = summarise_stages(runs)
    if stages:
        summary["stages"] = stages
    return summary


def touch_all(folder: Path) -> None:
    """What a fresh git checkout does to a cache keyed on modification times."""
    now = time.time()
    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, (now, now))


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def run_bench(articles: int = 10_000, runs: int = 3, seed: int = 2026, keep: bool = False,
              progress: Progress | None = None) -> dict:
    """Generate the corpus, run every step, and return the results (see ``build_report``)."""
    progress = progress or Progress()
    work = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    results: dict = {"work_dir": str(work) if keep else None, "steps": {}, "correctness": {}, "notes": []}
    try:
        _run_steps(work, articles, runs, seed, progress, results)
    finally:
        if keep:
            progress(f"kept the corpus, outputs and logs in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return results


def _run_steps(work: Path, articles: int, runs: int, seed: int, progress: Progress, results: dict) -> None:
    steps = results["steps"]
    small_articles = max(1, articles // 10)
    progress(f"generating {articles} articles (seed {seed}) and {small_articles} for the growth check")
    corpus = corpus_module.generate(work / "corpus" / "content", articles, seed)
    small = corpus_module.generate(work / "corpus-small" / "content", small_articles, seed)
    code = snapshot_code(work)
    namespace = our_settings_namespace(code)
    logs = work / "logs"
    logs.mkdir()
    ours = OurSite(work, "ours", corpus.root, logs / "ours.log", namespace, code)
    stock = StockSite(work, "stock", corpus.root, logs / "stock.log", namespace)
    reference = OurSite(work, "reference", corpus.root, logs / "reference.log", namespace, code)
    results["cache_settings"] = {k: v for k, v in ours.overrides.items() if k not in ("PATH", "OUTPUT_PATH")}

    cold_outputs: list[dict[str, str]] = []

    def timed(label: str, site: Site, count: int, wipe: bool = False, keep_hashes: bool = False) -> list[Run]:
        done = []
        for index in range(count):
            if wipe:
                site.wipe()
            run = site.build()
            if keep_hashes and count > 1 and index < 2:
                cold_outputs.append(hash_tree(site.output))
            done.append(run)
            progress(f"{label} ({site.name}, run {index + 1}/{count}): {run.seconds:.2f} s, {_mb(run.peak_rss)} MB, "
                     f"CPU {run.cpu_seconds:.1f} s")
        return done

    steps["cold_build"] = {"stock": summarise(timed("cold build", stock, runs, wipe=True))}
    steps["cold_build"]["ours"] = summarise(timed("cold build", ours, runs, wipe=True, keep_hashes=True))
    if len(cold_outputs) == 2:
        # Two cold builds of the same input must match, or no rebuild can be compared with "a cold build".
        results["correctness"]["reproducible"] = compare_trees(cold_outputs[0], cold_outputs[1])
    # Our builds run in the code snapshot (as `invoke build` runs in the repository), so a cache path the
    # overrides missed lands in code/cache or code/output.
    stray = sorted(str(p.relative_to(code)) for name in ("cache", "output") for p in (code / name).rglob("*") if p.is_file())
    if stray:
        # a cache the overrides missed would make later "cold" builds warm
        results["notes"].append(f"our build wrote caches outside the bench's cache folder: {stray[:10]}")
    cold_hashes = hash_tree(ours.output)
    results["output_files"] = {"ours": len(cold_hashes), "stock": sum(1 for p in stock.output.rglob("*") if p.is_file())}
    results["page_weight"] = {"ours": page_weights(ours.output, SITEURL), "stock": page_weights(stock.output, SITEURL)}
    progress(f"article page weight: {results['page_weight']['ours'].get('median_kb')} KB gzipped (median)")

    touch_all(corpus.root)
    steps["ci_rebuild"] = {
        "ours": summarise(timed("CI rebuild, nothing changed", ours, runs)),
        "stock": summarise(timed("CI rebuild, nothing changed", stock, runs)),
    }
    results["correctness"]["ci_rebuild"] = compare_trees(cold_hashes, hash_tree(ours.output))

    def edit_step(key: str, label: str, edit) -> None:
        ours_runs, stock_runs, edited = [], [], []
        for index in range(runs):
            edited.append(edit(corpus, index).path)
            ours_runs += timed(label, ours, 1)
            stock_runs += timed(label, stock, 1)
        steps[key] = {"ours": summarise(ours_runs), "stock": summarise(stock_runs), "edited": edited}
        reference.wipe()
        steps[key]["reference_cold_build"] = summarise(timed(f"{label}: cold build to compare", reference, 1))
        verdict = compare_trees(hash_tree(reference.output), hash_tree(ours.output))
        results["correctness"][key] = verdict
        progress(f"{label}: output {'identical to' if verdict['identical'] else 'DIFFERS from'} a cold build")

    edit_step("one_article_edit", "one-article edit", corpus_module.edit_body)
    edit_step("metadata_edit", "metadata edit", corpus_module.edit_metadata)
    steps["livereload"] = live_step(work, ours, code, runs, progress)

    command, why_not = check_command(corpus.root, code)
    if command is None:
        steps["check"] = {"ours": None, "note": why_not}
        progress(f"invoke check: n/a ({why_not})")
    else:
        check_runs = []
        for index in range(runs):
            run = measure(command, code, child_env(), logs / "check.log")
            if run.returncode != 0:
                tail = (logs / "check.log").read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
                raise BenchFailed(f"`invoke check` failed on the corpus (exit {run.returncode}):\n" + "\n".join(tail))
            check_runs.append(run)
            progress(f"invoke check (run {index + 1}/{runs}): {run.seconds:.2f} s, {_mb(run.peak_rss)} MB, "
                     f"CPU {run.cpu_seconds:.1f} s")
        steps["check"] = {"ours": summarise(check_runs), "command": command[2:]}

    small_ours = OurSite(work, "ours-small", small.root, logs / "ours-small.log", namespace, code)
    small_stock = StockSite(work, "stock-small", small.root, logs / "stock-small.log", namespace)
    steps["cold_build_small"] = {
        "articles": small_articles,
        "ours": summarise(timed(f"cold build at {small_articles} articles", small_ours, runs, wipe=True)),
        "stock": summarise(timed(f"cold build at {small_articles} articles", small_stock, runs, wipe=True)),
    }


# --- the report ------------------------------------------------------------------------------------------------


def _figure(ours, stock, unit: str, ratio, target_key: str, compare_to: str) -> dict:
    target = TARGETS[target_key]
    judged = ratio if compare_to != "value" else ours
    return {
        "ours": ours,
        "stock": stock,
        "unit": unit,
        "ratio": None if ratio is None else round(ratio, 3),
        "target": target,
        "target_of": compare_to,
        "pass": None if judged is None else judged <= target,
    }


def build_report(results: dict, articles: int, runs: int, seed: int) -> dict:
    steps = results["steps"]
    stock_cold = steps["cold_build"]["stock"]["seconds"]
    figures = {}
    for key in ("cold_build", "ci_rebuild", "one_article_edit", "metadata_edit"):
        ours = steps[key]["ours"]["seconds"]
        figures[key] = _figure(ours, steps[key]["stock"]["seconds"], "s", ours / stock_cold, key, "stock cold build")
        figures[key]["cpu_seconds"] = {side: steps[key][side].get("cpu_seconds") for side in ("ours", "stock")}
    check = steps["check"]["ours"]
    figures["check"] = _figure(
        check and check["seconds"], None, "s", check and check["seconds"] / stock_cold, "check", "stock cold build"
    )
    figures["check"]["cpu_seconds"] = {"ours": check and check.get("cpu_seconds"), "stock": None}
    build_steps = ("cold_build", "ci_rebuild", "one_article_edit", "metadata_edit")
    ours_peak = max(steps[k]["ours"]["peak_rss_mb"] for k in build_steps)
    stock_peak = max(steps[k]["stock"]["peak_rss_mb"] for k in build_steps)
    figures["peak_memory"] = _figure(ours_peak, stock_peak, "MB", ours_peak / stock_peak, "peak_memory", "stock peak")
    figures["peak_memory"]["pss_mb"] = {
        "ours": max(steps[k]["ours"]["peak_pss_mb"] for k in build_steps),
        "stock": max(steps[k]["stock"]["peak_pss_mb"] for k in build_steps),
    }
    small = steps["cold_build_small"]
    ours_growth = steps["cold_build"]["ours"]["seconds"] / small["ours"]["seconds"]
    stock_growth = stock_cold / small["stock"]["seconds"]
    figures["growth"] = _figure(
        round(ours_growth, 2), round(stock_growth, 2), "x", None, "growth", "value"
    )
    figures["growth"]["from_articles"] = small["articles"]
    weight = results["page_weight"]
    figures["article_page_weight"] = _figure(
        weight["ours"].get("median_kb"), weight["stock"].get("median_kb"), "KB", None, "article_page_weight", "value"
    )
    figures["article_page_weight"]["max_kb"] = weight["ours"].get("max_kb")
    if steps.get("livereload"):
        figures["livereload"] = _figure(steps["livereload"]["seconds"], None, "s", None, "livereload", "value")
    correctness_ok = all(v["identical"] for v in results["correctness"].values())
    return {
        "format": 1,
        "articles": articles,
        "runs": runs,
        "seed": seed,
        "settings": SETTINGS_FILE,
        "date": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "pelican": _version("pelican"),
            "platform": platform.platform(),
        },
        "commit": _git_commit(),
        "figures": figures,
        "correctness": results["correctness"],
        "correct": correctness_ok,
        "steps": steps,
        "page_weight": results["page_weight"],
        "output_files": results["output_files"],
        "cache_settings": results["cache_settings"],
        "notes": results["notes"],
    }


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return ""


LABELS = {
    "reproducible": "two cold builds",
    "cold_build": "cold build",
    "ci_rebuild": "CI rebuild, nothing changed",
    "one_article_edit": "one-article edit",
    "metadata_edit": "metadata edit",
    "check": "invoke check",
    "peak_memory": "peak memory",
    "growth": "growth N/10 -> N",
    "article_page_weight": "article page weight (gzip)",
    "livereload": "livereload: edited page rewritten",
}


def _fmt(value, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:.1f} {unit}"


def _cpu(figure: dict) -> str:
    """The CPU column: ours / stock, for the timed figures."""
    cpu = figure.get("cpu_seconds")
    if not cpu or cpu.get("ours") is None:
        return ""
    stock = cpu.get("stock")
    return f"{cpu['ours']:.1f} s" + ("" if stock is None else f" / {stock:.1f} s")


def table_rows(report: dict) -> list[list[str]]:
    rows = [["figure", "ours", "stock", "ratio", "target", "result", "CPU ours / stock"]]
    for key, label in LABELS.items():
        if key not in report["figures"]:
            continue
        fig = report["figures"][key]
        if fig["target_of"] == "value":
            target = f"<= {fig['target']:g}{'x' if fig['unit'] == 'x' else ' ' + fig['unit']}"
        else:
            target = f"<= {fig['target']:g}x {'stock cold' if 'cold' in fig['target_of'] else 'stock'}"
        result = "n/a" if fig["pass"] is None else ("pass" if fig["pass"] else "FAIL")
        ratio = "" if fig["ratio"] is None else f"{fig['ratio']:.3f}x"
        rows.append([label, _fmt(fig["ours"], fig["unit"]), _fmt(fig["stock"], fig["unit"]), ratio, target, result,
                     _cpu(fig)])
    for key, verdict in report["correctness"].items():
        label = f"{LABELS[key]}: output = cold build" if key != "reproducible" else "two cold builds: same output"
        count = verdict["changed_count"] + verdict["missing_count"] + verdict["extra_count"]
        rows.append([label, "identical" if verdict["identical"] else f"{count} files differ", "", "", "identical",
                     "pass" if verdict["identical"] else "FAIL", ""])
    return rows


def _table(rows: list[list[str]], markdown: bool = True) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths)) + " |")
        if index == 0 and markdown:
            lines.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(lines)


def format_table(report: dict, markdown: bool = True) -> str:
    head = (
        f"{report['articles']} articles, median of {report['runs']} run(s), {report['machine']['cpus']} CPUs, "
        f"Pelican {report['machine']['pelican']}, output files: ours {report['output_files']['ours']}, "
        f"stock {report['output_files']['stock']}"
    )
    return head + "\n\n" + _table(table_rows(report), markdown)


STAGE_STEPS = {"cold_build": "cold build", "ci_rebuild": "CI rebuild", "one_article_edit": "one-article edit",
               "metadata_edit": "metadata edit"}


def format_stages(report: dict, markdown: bool = True) -> str:
    """Where our builds' time goes: the way each step's builds took and the median seconds of each stage
    (``content_model.build.STAGES``); empty when no build reported its stages."""
    columns = [(key, report["steps"].get(key, {}).get("ours", {}).get("stages")) for key in STAGE_STEPS]
    columns = [(key, stages) for key, stages in columns if stages and "stages" in stages]
    if not columns:
        return ""
    names = list(dict.fromkeys(name for _key, stages in columns for name in stages["stages"]))
    rows = [["our build's stages (median s)", *(STAGE_STEPS[key] for key, _stages in columns)],
            ["way taken", *(stages["path"] for _key, stages in columns)]]
    for name in names:
        rows.append([name, *(f"{stages['stages'][name]:.2f}" if name in stages["stages"] else ""
                             for _key, stages in columns)])
    for name in names:
        if any(name in stages.get("peaks_mb", {}) for _key, stages in columns):
            rows.append([f"{name}: peak MB", *(f"{stages['peaks_mb'][name]:.1f}" if name in stages.get("peaks_mb", {})
                                               else "" for _key, stages in columns)])
    return _table(rows, markdown)


def describe_differences(report: dict) -> str:
    lines = []
    for key, verdict in report["correctness"].items():
        if verdict["identical"]:
            continue
        lines.append(f"{LABELS[key]}: the output differs from a cold build of the same corpus:")
        folders: dict[str, int] = {}
        for kind in ("changed", "missing", "extra"):
            for path in verdict[kind]:
                folders[path.split("/", 1)[0]] = folders.get(path.split("/", 1)[0], 0) + 1
        lines.append("  by top-level folder (of the paths listed): " + ", ".join(f"{k} {v}" for k, v in sorted(folders.items())))
        for kind in ("changed", "missing", "extra"):
            for path in verdict[kind]:
                lines.append(f"  {kind}: {path}")
            hidden = verdict[f"{kind}_count"] - len(verdict[kind])
            if hidden > 0:
                lines.append(f"  ... and {hidden} more {kind}")
    return "\n".join(lines)


def main(articles: int = 10_000, runs: int = 3, json_path: str | None = None, seed: int = 2026, keep: bool = False,
         strict: bool = False) -> int:
    """Run the benchmark, print the table, write JSON; the exit status for the task."""
    if articles < 10:
        print("--articles must be at least 10 (the growth check builds N/10 articles)", file=sys.stderr)
        return 2
    if runs < 1:
        print("--runs must be at least 1", file=sys.stderr)
        return 2
    try:
        results = run_bench(articles, runs, seed, keep)
    except BenchFailed as exc:
        print(f"bench: {exc}", file=sys.stderr)
        if json_path:
            Path(json_path).write_text(json.dumps({"format": 1, "error": str(exc)}, indent=1) + "\n", encoding="utf-8")
        return 1
    report = build_report(results, articles, runs, seed)
    print(format_table(report))
    stages = format_stages(report)
    if stages:
        print("\n" + stages)
    for note in report["notes"]:
        print(f"note: {note}")
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if not report["correct"]:
        print(describe_differences(report), file=sys.stderr)
        print("bench: a selective rebuild gave different output from a cold build (a wrong answer)", file=sys.stderr)
        return 1
    if strict and any(f["pass"] is False for f in report["figures"].values()):
        print("bench: some figures miss their targets (--strict)", file=sys.stderr)
        return 1
    return 0
