"""Run a Pelican build the way editors and CI need it: every content problem as ``path:line:``, no traceback."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from .model import ContentError

logger = logging.getLogger(__name__)


class BuildFailed(Exception):
    """The build stopped; the reason has been printed."""


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
    log.FatalLogger.fatal_lvl = (
        logging.WARNING if fatal.startswith("warning") else logging.ERROR if fatal else logging.CRITICAL + 1
    )


def build(settings_file: str | Path, overrides: dict | None = None, fatal: str = "errors", verbose: bool = False):
    """Build the site; raise BuildFailed after printing why. Returns the Pelican settings used."""
    from pelican import Pelican
    from pelican.settings import read_settings

    configure_logging(fatal, verbose)
    try:
        settings = read_settings(str(settings_file), override=dict(overrides or {}))
        Pelican(settings).run()
    except ContentError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        errors = sum(p.severity == "error" for p in exc.problems)
        print(f"Build stopped: {errors} content error(s); nothing was written. Fix the lines above.", file=sys.stderr)
        raise BuildFailed(str(exc)) from None
    except RuntimeError as exc:
        if str(exc) == "Warning or error encountered":
            print("Build stopped at the message above (this build treats it as an error).", file=sys.stderr)
            raise BuildFailed(str(exc)) from None
        _internal_error(exc, verbose)
    except Exception as exc:  # noqa: BLE001 - anything else is reported as one line, not a traceback
        _internal_error(exc, verbose)
    return settings


def _internal_error(exc: Exception, verbose: bool) -> None:
    if verbose:
        logger.exception("build failed")
    print(f"error: the build failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    print("Build stopped; nothing was published. Run with --verbose for the developer's traceback.", file=sys.stderr)
    raise BuildFailed(str(exc)) from None
