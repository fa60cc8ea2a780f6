"""The end of a command-line build, in a small process: the build's process becomes it (``os.execv``).

Once Pelican's run is over, what is left of a full build waits on other programs or on the disk: Pagefind's runs for
the search index (two at once, up to 250 MB each at 10,000 articles) and the snapshot's files. The build's
process held about 300 MB of its model (articles, contexts, records) the whole time they ran, and Python gives
little of it back when freed (freeing it all gave back 3.5 MB, measured). A process that nothing else runs in after
the build (``build(..., then_exit=True)``: ``invoke build``, ``rebuild``, ``preview``, the benchmark; not tests,
``publish`` or the live preview) instead hands that work over: a plugin's ``finalized`` receiver calls
``hand_over(step, job, folders)`` rather than doing it, the build writes the snapshot's manifest as pending and
leaves its files to the finisher too (``incremental.snapshot.save(..., later=..., all_later=True)``), and
``become_finisher`` replaces the process with this module run as a script. The process keeps its id, so whoever
waits for the build waits for the finisher, and the build's helpers (the search plugin's early run) stay its
children.

The finisher starts what a step may begin beside the steps before it (``STARTS``: the snapshot of the folders not
handed over, in a process of its own, while the search index is written), runs the steps in ``STEPS`` order (each
``module:function``, given its job), logs as the build did, and exits 0, or 1 after a message when a step logged an
error (or a warning, in a strict build). Only a finisher whose steps logged nothing completes the snapshot (the
build's rule: only a build without a single warning may stand in for a later one); otherwise it removes the pending
one. It writes the build's stage report (``build(timeline=...)``) with its time in the last stage.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from pathlib import Path

# What a finisher can be handed, in the order it runs them: step name -> "module:function", called with its job.
STEPS = {
    "search": "search:finish_index",
    "snapshot": "incremental.snapshot:complete",
}
# What a step may start before the steps before it run (each "module:function", given the step's job), beside
# them: only what they do not write (the snapshot of the folders not handed over, while the search index is written).
STARTS = {
    "snapshot": "incremental.snapshot:start_completion",
}
# What the finisher's closing line calls each step.
DONE_NAMES = {"search": "search index", "snapshot": "build snapshot"}
# The job file, in the build's cache folder (with the process id: builds may share a cache).
JOB_FILE = "finisher-job-{pid}.json"


class _Handoff:
    """The work handed over by the build in progress (``arm`` at its start; nothing is taken when not armed)."""

    def __init__(self) -> None:
        self.armed = False
        self.steps: dict[str, dict] = {}
        self.folders: list[str] = []


HANDOFF = _Handoff()


def arm() -> None:
    HANDOFF.armed, HANDOFF.steps, HANDOFF.folders = True, {}, []


def disarm() -> None:
    HANDOFF.armed, HANDOFF.steps, HANDOFF.folders = False, {}, []


def hand_over(step: str, job: dict, folders: list[str] = ()) -> bool:
    """Leave ``step`` (one of ``STEPS``) to the finisher when the build is armed: True, and ``job`` (plain JSON
    values) is what it will be given; ``folders`` are the output folders (relative, ending in "/") it will write,
    which the build's snapshot leaves for it. False: the caller does the work now."""
    if not HANDOFF.armed or step not in STEPS:
        return False
    HANDOFF.steps[step] = job
    HANDOFF.folders += [folder for folder in folders if folder not in HANDOFF.folders]
    return True


def handed_folders() -> tuple[str, ...]:
    return tuple(HANDOFF.folders) if HANDOFF.steps else ()


def pending() -> bool:
    return bool(HANDOFF.steps)


def become_finisher(cache_path: str | Path, fatal: str, verbose: bool, timeline: dict | None,
                    started: float) -> None:
    """Replace this process with the finisher of the steps handed over (never returns). ``timeline``: the stage
    report to write at the end (``StageClock.state``); ``started``: when the build started (``time.perf_counter``,
    which counts from boot here, so the finisher can tell the whole build's time)."""
    plugins = str(Path(__file__).resolve().parent.parent)
    job = {"steps": HANDOFF.steps, "fatal": fatal, "verbose": verbose, "timeline": timeline, "plugins": plugins,
           "build_peak_kb": _peak_kb(), "started": started, "handed_at": time.perf_counter()}
    path = Path(cache_path).resolve() / JOB_FILE.format(pid=os.getpid())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(job), encoding="utf-8")
    disarm()
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execv(sys.executable, [sys.executable, str(Path(__file__).resolve()), str(path)])
    except OSError:  # no interpreter to run (a frozen or vanished one): the same steps here, with the model beside
        sys.exit(main(["finisher", str(path)]))


def _peak_kb() -> int:
    """This process's peak resident memory so far (VmHWM, kB): an exec starts the count again."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _run_step(spec: str, job: dict) -> None:
    import importlib

    module, function = spec.split(":")
    getattr(importlib.import_module(module), function)(job)


def main(argv: list[str]) -> int:
    path = Path(argv[1])
    job = json.loads(path.read_text(encoding="utf-8"))
    path.unlink(missing_ok=True)
    if job["plugins"] not in sys.path:
        sys.path.insert(0, job["plugins"])
    from .build import STOPPED_AT_MESSAGE, BuildFailed, WarningCounter, _internal_error, _PlainFormatter, \
        write_stage_report

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_PlainFormatter())
    counter = WarningCounter()
    root = logging.getLogger()
    root.addHandler(handler)
    root.addHandler(counter)
    root.setLevel(logging.INFO if job["verbose"] else logging.WARNING)
    steps = job["steps"]
    failed = False
    for name, spec in STARTS.items():
        if name in steps:
            with contextlib.suppress(Exception):  # the step does it then, and reports what fails
                _run_step(spec, steps[name])
    for name, spec in STEPS.items():
        if name not in steps:
            continue
        if name == "snapshot" and counter.count:
            # only a build without a single warning may stand in for a later, possibly stricter, one
            _run_step("incremental.snapshot:abandon", steps[name])
            continue
        try:
            _run_step(spec, steps[name])
        except Exception as exc:  # noqa: BLE001 - reported as one line, as the build reports its own
            with contextlib.suppress(BuildFailed):
                _internal_error(exc, job["verbose"])
            failed = True
            if "snapshot" in steps and name != "snapshot":
                _run_step("incremental.snapshot:abandon", steps["snapshot"])
            break
    fatal = job["fatal"]
    stopping = (counter.errors and fatal) or (counter.count and fatal.startswith("warning"))
    if stopping and not failed:
        print(STOPPED_AT_MESSAGE, file=sys.stderr)
        failed = True
    end = time.perf_counter()
    if job["timeline"]:
        timeline = dict(job["timeline"], finisher_peak_kb=_peak_kb(), build_peak_kb=job["build_peak_kb"])
        with contextlib.suppress(OSError):  # a report of its stages never fails a build
            write_stage_report(timeline, end=end)
    if not failed:
        # Pelican's "Done" line, printed before these steps, gives the time of its own run alone.
        done = " and ".join(DONE_NAMES[name] for name in STEPS if name in steps)
        print(f"Done: {done} in {end - job['handed_at']:.2f} seconds; the whole build took "
              f"{end - job['started']:.2f} seconds.", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    # Run as a script: this module is ``__main__`` and its folder is first on the path. It is imported again as the
    # package's own (relative imports), and the package's modules are not importable as top-level ones.
    HERE = Path(__file__).resolve().parent
    if sys.path and Path(sys.path[0] or ".").resolve() == HERE:
        sys.path[0] = str(HERE.parent)
    from content_model import finish

    sys.exit(finish.main(sys.argv))
