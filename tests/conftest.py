"""Shared fixtures: the sample site built once per session (both builds), and one headless Chromium."""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import pytest

from tests.support.system_deps import ensure_test_system_parts

ensure_test_system_parts()

from tests.support import checkers  # noqa: E402
from tests.support.sites import REPO_ROOT  # noqa: E402

sys.path.insert(0, str(REPO_ROOT / "plugins"))
from content_model.build import build  # noqa: E402

SAMPLE_SITEURL = "https://lanhai.example.gov"


def _build_sample(tmp_root: Path, conf: str) -> Path:
    output = tmp_root / "output"
    with contextlib.redirect_stdout(io.StringIO()):
        build(
            REPO_ROOT / conf,
            {"OUTPUT_PATH": str(output), "CACHE_PATH": str(tmp_root / "cache")},
            fatal="warnings",  # the test build treats every Pelican warning as an error
        )
    return output


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory) -> Path:
    """The sample content built with pelicanconf.py (relative URLs), strictly."""
    return _build_sample(tmp_path_factory.mktemp("sample-dev"), "pelicanconf.py")


@pytest.fixture(scope="session")
def published_site(tmp_path_factory, monkeypatch_session) -> Path:
    """The sample content built with publishconf.py (absolute URLs from SITEURL), strictly."""
    monkeypatch_session.setenv("SITEURL", SAMPLE_SITEURL)
    return _build_sample(tmp_path_factory.mktemp("sample-publish"), "publishconf.py")


@pytest.fixture(scope="session")
def monkeypatch_session():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="session")
def sample_server(sample_site):
    """The development build served on loopback; yields the base URL (no trailing slash)."""
    with checkers.serve_directory(sample_site) as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole session."""
    driver = checkers.chromium_driver()
    yield driver
    driver.quit()
