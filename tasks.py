"""Tasks for editors, developers and CI. `invoke --list` explains each one.

The pelican-quickstart set (clean, build, rebuild, regenerate, serve, reserve, preview, livereload) plus test.
Builds run through content_model.build, which prints every content problem as `path:line: message`.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from invoke import task
from invoke.exceptions import Exit

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "plugins"))

CONFIG = {
    "settings_base": ROOT / "pelicanconf.py",
    "settings_publish": ROOT / "publishconf.py",
    "deploy_path": ROOT / "output",
    "host": "127.0.0.1",
    "port": 8000,
}


def _build(settings_file: Path, fatal: str = "errors", output: Path | None = None, **overrides) -> None:
    from content_model.build import BuildFailed, build

    if output is not None:
        overrides["OUTPUT_PATH"] = str(output)
    try:
        build(settings_file, overrides, fatal=fatal, verbose=False)
    except BuildFailed:
        raise Exit(code=1) from None


@task
def clean(c):
    """Remove the generated site (output/)."""
    if CONFIG["deploy_path"].is_dir():
        shutil.rmtree(CONFIG["deploy_path"])
    CONFIG["deploy_path"].mkdir()


@task(help={"strict": "treat warnings as errors (as the test build does)"})
def build(c, strict=False):
    """Build the site for local use (pelicanconf.py, relative URLs) into output/."""
    _build(CONFIG["settings_base"], fatal="warnings" if strict else "errors")


@task
def rebuild(c):
    """Build from scratch: remove output/ first, ignore nothing."""
    _build(CONFIG["settings_base"], DELETE_OUTPUT_DIRECTORY=True)


@task
def regenerate(c):
    """Rebuild automatically whenever content, theme or settings change (Pelican's autoreload)."""
    from pelican import main

    main(["-r", "-s", str(CONFIG["settings_base"])])


@task(help={"port": "port to listen on (default 8000)"})
def serve(c, port=None):
    """Serve output/ at http://127.0.0.1:8000 (loopback only)."""
    from pelican.server import ComplexHTTPRequestHandler, RootedHTTPServer

    port = int(port or CONFIG["port"])

    class AddressReuseTCPServer(RootedHTTPServer):
        allow_reuse_address = True

    server = AddressReuseTCPServer(str(CONFIG["deploy_path"]), (CONFIG["host"], port), ComplexHTTPRequestHandler)
    print(f"Serving the site at http://{CONFIG['host']}:{port}/ (Ctrl+C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()


@task
def reserve(c):
    """Build, then serve."""
    build(c)
    serve(c)


@task
def preview(c):
    """Build the public site (publishconf.py: absolute URLs from the SITEURL environment variable)."""
    _build(CONFIG["settings_publish"])


@task
def livereload(c):
    """Build, serve and rebuild on every change, reloading the browser (livereload package)."""
    from livereload import Server

    def rebuild_quietly():
        try:
            _build(CONFIG["settings_base"])
        except Exit:
            print("The build stopped; fix the messages above and save again.")

    rebuild_quietly()
    server = Server()
    for pattern in ("pelicanconf.py", "content/**/*", "theme/**/*", "plugins/**/*.py", "plugins/**/*.html"):
        server.watch(str(ROOT / pattern), rebuild_quietly)
    server.serve(host=CONFIG["host"], port=CONFIG["port"], root=str(CONFIG["deploy_path"]))


@task(help={"args": "extra arguments for pytest, e.g. '-k share -x'"})
def test(c, args=""):
    """Run the whole test suite; installs the system parts it needs (Chromium, Java, jing, npm checkers) first."""
    os.chdir(ROOT)
    from tests.support.system_deps import SystemPartsError, ensure_test_system_parts

    try:
        ensure_test_system_parts()
    except SystemPartsError as exc:
        print(exc, file=sys.stderr)
        raise Exit(code=1) from None
    c.run(f"{sys.executable} -m pytest {args}", pty=False)
