"""Run a Pelican build the way editors and CI need it: every content problem as ``path:line:``, no traceback."""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import sys
import time
from pathlib import Path

from .model import ContentError

logger = logging.getLogger(__name__)


class BuildFailed(Exception):
    """The build stopped; the reason has been printed."""


# The stages of a full build, each ending when Pelican sends its signal (``build(timeline=...)``, for
# ``invoke bench``): (signal, stage).
STAGES = (
    ("initialized", "startup"),  # settings, the last output checked, plugins loaded
    ("article_generator_finalized", "reading articles"),  # from Pelican's cache when unchanged
    ("all_generators_finalized", "contexts"),  # listings, terms, related stories, share data
    ("article_writer_finalized", "article pages"),
    ("finalized", "other pages and feeds"),
)
FINISHING = "finishing"  # search index, sitemaps, reader cache, the snapshot, the last output's removal
# What a build stopped by a message it treats as an error says last (here and in ``content_model.finish``).
STOPPED_AT_MESSAGE = "Build stopped at the message above (this build treats it as an error)."
# The ways a build can take (``StageClock.write``).
FULL_BUILD, RESTORED, BODY_EDIT, FAILED = "full build", "last output restored", "body-edit path", "failed"


class StageClock:
    """When a build reaches each of ``STAGES``, measured in this process (not the pre-rendering child, which sends
    signals of its own). Its receivers, connected before Pelican loads the plugins, run before theirs in a fresh
    process (the benchmark's builds): the plugins' work at a signal counts in the stage after it."""

    def __init__(self) -> None:
        from pelican import signals

        self.start = time.perf_counter()
        self.marks: dict[str, float] = {}
        self.pid = os.getpid()
        self.receivers = []
        for name, stage in STAGES:
            receiver = self._marker(stage)
            getattr(signals, name).connect(receiver, weak=False)
            self.receivers.append((getattr(signals, name), receiver))

    def _marker(self, stage: str):
        def mark(*_args, **_kwargs) -> None:
            if os.getpid() == self.pid and stage not in self.marks:
                self.marks[stage] = time.perf_counter()

        return mark

    def state(self, path: str | Path, taken: str) -> dict:
        """What ``write_stage_report`` needs (plain values: ``content_model.finish`` writes it in its process)."""
        for signal, receiver in self.receivers:
            signal.disconnect(receiver)
        self.receivers = []
        return {"path": str(path), "taken": taken, "start": self.start, "marks": self.marks}

    def write(self, path: str | Path, taken: str) -> None:
        write_stage_report(self.state(path, taken), end=time.perf_counter())


def write_stage_report(state: dict, end: float) -> None:
    """Write ``{"path": taken, "seconds": ..., "stages": {stage: seconds}}`` to ``state["path"]``: the stages a full
    build reached, or the whole build as one (the body-edit path sends Pelican's ``initialized`` for its reading, no
    more). Other values of ``state`` (the finisher's memory) are written as they are. ``end``: a
    ``time.perf_counter()``, which counts from boot here, in this process or in the one it became."""
    taken, marks = state["taken"], state["marks"]
    stages, previous = {}, state["start"]
    if taken == FULL_BUILD:
        for _name, stage in STAGES:
            if stage in marks:
                stages[stage] = round(marks[stage] - previous, 3)
                previous = marks[stage]
    stages[FINISHING if stages else "whole build"] = round(end - previous, 3)
    # ``started_at``: ``time.perf_counter()`` at the start, CLOCK_MONOTONIC here, so that the benchmark's memory
    # samples, taken in its own process, can be placed in the stages.
    report = {"path": taken, "seconds": round(end - state["start"], 3), "stages": stages, "started_at": state["start"]}
    report.update((key, value) for key, value in state.items() if key not in ("path", "taken", "start", "marks"))
    Path(state["path"]).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


class _PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def configure_logging(fatal: str, verbose: bool = False) -> None:
    from pelican import log

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_PlainFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    log.init(level=logging.INFO if verbose else logging.WARNING, fatal=fatal, handler=handler)
    reset_log_limits()
    log.FatalLogger.fatal_lvl = (
        logging.WARNING if fatal.startswith("warning") else logging.ERROR if fatal else logging.CRITICAL + 1
    )
    _make_plugin_loggers_fatal(log)


def reset_log_limits() -> None:
    """Pelican drops a message it already logged in this process; each build must report its own problems."""
    from pelican import log

    log.LimitFilter._ignore.clear()
    log.LimitFilter._raised_messages.clear()
    log.LimitFilter._group_count.clear()


def _make_plugin_loggers_fatal(log) -> None:
    """Our plugins' loggers made before Pelican installed its logger class (content_model is imported without
    Pelican, which ``invoke check`` never loads) become Pelican's FatalLogger too: a strict build must stop at
    their warnings like at Pelican's own."""
    packages = {path.name for path in Path(__file__).resolve().parent.parent.iterdir() if path.is_dir()}
    for name, existing in list(logging.Logger.manager.loggerDict.items()):
        if type(existing) is logging.Logger and name.split(".")[0] in packages:
            existing.__class__ = log.FatalLogger
            existing.enable_filter()


def read_build_settings(settings_file: str | Path, overrides: dict | None = None) -> dict:
    """Pelican's settings for one build, with lists and dicts of their own.

    ``publishconf.py`` star-imports ``pelicanconf``, a module Python imports once per process (Pelican executes a
    settings file afresh for each read, but not what it imports), so without copies every build from
    ``publishconf.py`` in a process (the tests) shares its ``MARKDOWN`` dict, to which Pelican's Markdown reader adds
    its ``extensions`` in place: the second build then had other settings than the first, and the body-edit path
    (``incremental.quick``), seeing the settings changed, ran a full build."""
    from pelican.settings import read_settings

    settings = read_settings(str(settings_file), override=dict(overrides or {}))
    for key, value in settings.items():
        if isinstance(value, (dict, list)):
            with contextlib.suppress(Exception):  # a value deepcopy cannot copy stays shared, as before
                settings[key] = copy.deepcopy(value)
    return settings


def build(settings_file: str | Path, overrides: dict | None = None, fatal: str = "errors", verbose: bool = False,
          process_ends: bool = False, timeline: str | Path | None = None, then_exit: bool = False):
    """Build the site; raise BuildFailed after printing why. Returns the Pelican settings used. ``process_ends``:
    the process ends soon after (the command line), so what the build made is left for the exit (``heap``).
    ``timeline``: a file to write the way the build took and the time of each stage to (``StageClock``).
    ``then_exit``: nothing else runs in this process after the build: a full build's last steps run in a small
    process this one becomes (``content_model.finish``), and the call does not return; the process exits with 0,
    or 1 once it printed why."""
    from pelican import Pelican

    from . import finish

    started = time.perf_counter()
    clock = StageClock() if timeline else None
    taken = FAILED
    if then_exit:
        finish.arm()
    configure_logging(fatal, verbose)
    warnings = WarningCounter()
    logging.getLogger().addHandler(warnings)
    try:
        settings = read_build_settings(settings_file, overrides)
        snapshot, quick = _incremental_modules(settings)
        if snapshot:
            last = snapshot.load_manifest(settings)
            inputs = snapshot.read_inputs(settings, last)
            if snapshot.restore(settings, inputs.fingerprint, last):
                taken = RESTORED
                return settings
            if quick.apply_body_edit(settings, inputs, last):
                taken = BODY_EDIT
                return settings
            reset_log_limits()  # the body-edit path may have read (and held back) what this build will report
            from .reader import known_digests

            with quick.last_build(last, inputs), known_digests(settings["PATH"], inputs.content, inputs.reading):
                Pelican(settings).run()  # (its unchanged pages kept as they are; files stamped by their digests)
        else:
            Pelican(settings).run()
        if snapshot and not warnings.count:
            # only a build without a single warning may stand in for a later, possibly stricter, one; when steps
            # are left to the finisher, it saves every folder: the others while it writes those it was handed
            # (``snapshot.start_completion``), then those (``snapshot.complete``)
            later = finish.handed_folders()
            snapshot.save(settings, inputs, quick.RECORDER.state(), previous=last, later=later, all_later=True)
            if later:
                finish.hand_over("snapshot", snapshot.completion_job(settings, later, all_later=True))
        taken = FULL_BUILD
    except ContentError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        errors = sum(p.severity == "error" for p in exc.problems)
        print(f"Build stopped: {errors} content error(s); nothing was written. Fix the lines above.", file=sys.stderr)
        raise BuildFailed(str(exc)) from None
    except RuntimeError as exc:
        if str(exc) == "Warning or error encountered":
            print(STOPPED_AT_MESSAGE, file=sys.stderr)
            raise BuildFailed(str(exc)) from None
        _internal_error(exc, verbose)
    except Exception as exc:  # noqa: BLE001 - anything else is reported as one line, not a traceback
        _internal_error(exc, verbose)
    finally:
        logging.getLogger().removeHandler(warnings)
        from .heap import leave_for_exit, release
        from .lean import save_reader_caches
        from .output import finish_discarding
        from .workers import end_pool

        save_reader_caches()  # what a stopped build read is not read again
        handing_over = taken == FULL_BUILD and finish.pending()
        end_pool(wait=handing_over)  # a build stopped at an error may have started a batch it never took in
        finish_discarding()
        if clock and not handing_over:
            with contextlib.suppress(OSError):  # a report of its stages never fails a build
                clock.write(timeline, taken)
        if not handing_over:
            finish.disarm()
        if process_ends:
            leave_for_exit()
        else:
            release()
    if handing_over:
        finish.become_finisher(settings["CACHE_PATH"], fatal, verbose, clock.state(timeline, taken) if clock else None,
                               started)
    return settings


def command_line(spec: dict) -> None:
    """One build as the command line runs it (``invoke build``, ``rebuild``, ``preview``, and the benchmark, each in
    a process of its own): ``spec`` holds ``settings`` (the file), ``overrides``, ``fatal`` and, optionally,
    ``timeline``. Exits: 0 when the site is built, 1 once it printed why not."""
    try:
        build(spec["settings"], spec["overrides"], fatal=spec["fatal"], process_ends=True,
              timeline=spec.get("timeline"), then_exit=True)
    except BuildFailed:
        sys.exit(1)


class WarningCounter(logging.Handler):
    """Counts the warnings and errors logged while it is installed (``count``), and the errors among them."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.count = self.errors = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        self.errors += record.levelno >= logging.ERROR


@contextlib.contextmanager
def read_as_builds_do(settings: dict):
    """For a Pelican run outside ``build`` (the live preview's warm-up): the reader cache's stamps as ``build``
    makes them (``reader.known_digests``), so that neither run finds the other's cache stale."""
    snapshot, _quick = _incremental_modules(settings)
    if not snapshot:
        yield
        return
    from .reader import known_digests

    inputs = snapshot.read_inputs(settings, snapshot.load_manifest(settings))
    with known_digests(settings["PATH"], inputs.content, inputs.reading):
        yield


def _incremental_modules(settings: dict):
    """The incremental plugin's whole-build shortcut and body-edit path (``snapshot``, ``quick``), when that plugin
    is enabled for this build; else (None, None)."""
    if "incremental" not in settings.get("PLUGINS", ()):
        return None, None
    for folder in settings.get("PLUGIN_PATHS", ()):
        if folder not in sys.path:
            sys.path.append(folder)
    from incremental import quick, snapshot

    return (snapshot, quick) if snapshot.enabled(settings) else (None, None)


def _internal_error(exc: Exception, verbose: bool) -> None:
    if verbose:
        logger.exception("build failed")
    print(f"error: the build failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    print("Build stopped; nothing was published. Run with --verbose for the developer's traceback.", file=sys.stderr)
    raise BuildFailed(str(exc)) from None
