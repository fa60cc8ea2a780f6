"""Make sure the system parts the test suite needs are present, installing them when missing.

The tests never skip because a tool is absent: they call :func:`ensure_test_system_parts`,
which checks each part by a file or command it provides and installs only what is missing:

* Debian packages (``apt-get update`` once, then
  ``DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ...``;
  through ``sudo`` only when not root and sudo exists);
* the npm dev dependencies (``vnu-jar``, ``axe-core``) via ``npm ci`` in the repository root.

When everything is present the check only stats a few files (well under 0.5 s) and prints
nothing. Run it by hand with ``python3 -m tests.support.system_deps [-v]``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

REPO_ROOT = Path(__file__).resolve().parents[2]
VNU_JAR = REPO_ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE_JS = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"

APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}
# apt waits this long for the dpkg frontend lock held by another apt/dpkg run.
APT_LOCK_TIMEOUT_S = 600


class SystemPartsError(RuntimeError):
    """A required system part is missing and cannot be installed automatically."""


def _cmd(name: str) -> Callable[[], bool]:
    return lambda: shutil.which(name) is not None


def _file(path: str) -> Callable[[], bool]:
    return lambda: os.path.exists(path)


class AptPart(NamedTuple):
    name: str  # label printed in the status lines
    package: str  # Debian package to install
    present: Callable[[], bool]


APT_PARTS: tuple[AptPart, ...] = (
    AptPart("chromium", "chromium", _file("/usr/bin/chromium")),
    AptPart("chromium-driver", "chromium-driver", _file("/usr/bin/chromedriver")),
    AptPart(
        "fonts-noto-cjk",
        "fonts-noto-cjk",
        _file("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    ),
    AptPart("java", "default-jre-headless", _cmd("java")),
    AptPart("openssh-server", "openssh-server", _file("/usr/sbin/sshd")),
    AptPart("rsync", "rsync", _cmd("rsync")),
    AptPart("jing", "jing", _file("/usr/bin/jing")),
    AptPart("zbar-tools", "zbar-tools", _cmd("zbarimg")),
    AptPart("git", "git", _cmd("git")),
    AptPart("poppler-utils", "poppler-utils", _cmd("pdftotext")),  # print tests read Chromium's PDF
    AptPart("nginx", "nginx", _file("/usr/sbin/nginx")),  # the generated _nginx.conf is served by real nginx
)
NPM_APT_PACKAGES = ("nodejs", "npm")


def _npm_parts_present() -> bool:
    return VNU_JAR.is_file() and AXE_JS.is_file()


def _missing_apt_parts() -> list[AptPart]:
    return [part for part in APT_PARTS if not part.present()]


def _privilege_prefix(shown_cmd: str) -> list[str]:
    """``[]`` as root, ``["sudo"]`` if available, otherwise raise with the command to run."""
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo"):
        return ["sudo", "env", *(f"{k}={v}" for k, v in APT_ENV.items())]
    raise SystemPartsError(
        "Missing system packages for the tests, and not root and no sudo to install them.\n"
        f"Run as root:\n    {shown_cmd}"
    )


def _apt_command_text(packages: list[str]) -> str:
    return (
        "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
        "--no-install-recommends " + " ".join(packages)
    )


def _run_apt(args: list[str], prefix: list[str]) -> None:
    """Run one apt-get command, waiting for locks held by another apt/dpkg run."""
    cmd = [*prefix, "apt-get", "-o", f"DPkg::Lock::Timeout={APT_LOCK_TIMEOUT_S}", *args]
    env = {**os.environ, **APT_ENV}
    deadline = time.monotonic() + APT_LOCK_TIMEOUT_S
    while True:
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode == 0:
            return
        locked = "Could not get lock" in proc.stdout or "Unable to lock" in proc.stdout
        if locked and time.monotonic() < deadline:
            print("waiting for apt lock ...", flush=True)
            time.sleep(5)
            continue
        raise SystemPartsError(
            f"{' '.join(cmd)} failed with exit code {proc.returncode}:\n{proc.stdout[-4000:]}"
        )


def _install_apt(packages: list[str]) -> None:
    shown = _apt_command_text(packages)
    if not shutil.which("apt-get"):
        raise SystemPartsError(
            "The tests need these Debian/Ubuntu packages but apt-get is not available here.\n"
            "Install the equivalent packages with your system's package manager; on Debian/Ubuntu:\n"
            f"    {shown}"
        )
    prefix = _privilege_prefix(shown)
    _run_apt(["update", "-q"], prefix)
    _run_apt(["install", "-y", "-q", "--no-install-recommends", *packages], prefix)


def _install_npm_parts() -> None:
    if not (REPO_ROOT / "package-lock.json").is_file():
        raise SystemPartsError(f"{REPO_ROOT / 'package-lock.json'} is missing: cannot run npm ci")
    # --ignore-scripts: vnu-jar's postinstall (vnu-java-downloader.js) tries to download a
    # Temurin JDK from GitHub; the Debian Java runtime is used instead.
    cmd = ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0 or not _npm_parts_present():
        raise SystemPartsError(
            f"`{' '.join(cmd)}` in {REPO_ROOT} failed (exit {proc.returncode}):\n{proc.stdout[-4000:]}"
        )


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """Serialise installs between concurrent test processes (e.g. pytest-xdist workers)."""
    import fcntl

    lock_path = Path(tempfile.gettempdir()) / f"news-portal-system-deps-{os.geteuid()}.lock"
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _status_lines(missing: list[AptPart], npm_missing: bool, npm_cmd_missing: bool) -> list[str]:
    lines = []
    for part in APT_PARTS:
        if part in missing:
            lines.append(f"installing {part.name} (apt: {part.package})")
        else:
            lines.append(f"ok {part.name}")
    if npm_missing:
        if npm_cmd_missing:
            lines.append("installing npm (apt: " + " ".join(NPM_APT_PACKAGES) + ")")
        lines.append("installing node_modules (npm ci: vnu-jar, axe-core)")
    else:
        lines.append("ok node_modules (vnu-jar, axe-core)")
    return lines


def ensure_test_system_parts(verbose: bool = False) -> None:
    """Check every system part the tests need and install the missing ones.

    Prints nothing when everything is present (unless ``verbose``), otherwise one line per
    part ("ok chromium", "installing jing (apt: jing)", ...). Raises
    :class:`SystemPartsError` if something cannot be installed (no apt-get, no root/sudo,
    failing apt or npm); it never silently skips.
    """
    missing = _missing_apt_parts()
    npm_missing = not _npm_parts_present()
    if not missing and not npm_missing:
        if verbose:
            for line in _status_lines([], False, False):
                print(line)
        return

    with _install_lock():
        # Another process may have installed things while we waited for the lock.
        missing = _missing_apt_parts()
        npm_missing = not _npm_parts_present()
        npm_cmd_missing = npm_missing and shutil.which("npm") is None
        if not missing and not npm_missing:
            return
        for line in _status_lines(missing, npm_missing, npm_cmd_missing):
            print(line, flush=True)

        packages = [part.package for part in missing]
        if npm_cmd_missing:
            packages += [p for p in NPM_APT_PACKAGES if p not in packages]
        if packages:
            _install_apt(packages)
            still_missing = [part.name for part in _missing_apt_parts()]
            if npm_cmd_missing and shutil.which("npm") is None:
                still_missing.append("npm")
            if still_missing:
                raise SystemPartsError(
                    "Still missing after apt-get install: " + ", ".join(still_missing)
                )
        if npm_missing:
            _install_npm_parts()
        print("system parts ready", flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    verbose = "-v" in argv or "--verbose" in argv
    try:
        ensure_test_system_parts(verbose=verbose)
    except SystemPartsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
