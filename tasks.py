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


# A build in a process of its own, which ends with it (``content_model.build.command_line``): its last steps run in
# a small process it becomes (``content_model/finish.py``), which would end invoke's own process, and with it any
# task named after this one on the command line.
BUILD_SCRIPT = "import json, sys; spec = json.loads(sys.argv[1]); sys.path.insert(0, spec['plugins']); " \
               "from content_model.build import command_line; command_line(spec)"


def _build(settings_file: Path, fatal: str = "errors", output: Path | None = None, process_ends: bool = True,
           **overrides) -> None:
    import json
    import subprocess

    if output is not None:
        overrides["OUTPUT_PATH"] = str(output)
    if process_ends:
        spec = {"plugins": str(ROOT / "plugins"), "settings": str(settings_file), "overrides": overrides,
                "fatal": fatal}
        if subprocess.call([sys.executable, "-c", BUILD_SCRIPT, json.dumps(spec)], cwd=ROOT) != 0:
            raise Exit(code=1)
        return
    from content_model.build import BuildFailed, build

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
    """Build from scratch: ignore every cache (content, pages, cards, images, search)."""
    shutil.rmtree(ROOT / "cache", ignore_errors=True)
    _build(CONFIG["settings_base"])


@task
def regenerate(c):
    """Rebuild automatically whenever content, theme or settings change (Pelican's autoreload)."""
    from pelican import main

    main(["-r", "-s", str(CONFIG["settings_base"])])


def site_request_handler():
    """Pelican's development server's handler, answering a missing address as the public hosts do: status 404
    and the site's not-found page (``publishing.hosting.not_found_page``). Pelican's own sends no answer at all."""
    from http.server import SimpleHTTPRequestHandler

    from pelican.server import ComplexHTTPRequestHandler
    from publishing.hosting import not_found_page

    class SiteRequestHandler(ComplexHTTPRequestHandler):
        def do_GET(self):
            found = self.existing_path(self.path.split("?", 1)[0])
            if found is None:
                self.send_not_found()
                return
            self.path = found
            SimpleHTTPRequestHandler.do_GET(self)

        def existing_path(self, original: str) -> str | None:
            """``get_path_that_exists`` without its warning: a missing address is answered, not an error."""
            stem, slash = original.rstrip("/"), original.endswith("/")
            return next((stem + suffix for suffix in self.SUFFIXES
                         if (slash or suffix != "/") and os.path.exists(self.translate_path(stem + suffix))), None)

        def send_not_found(self):
            page = not_found_page(Path(self.base_path), self.path)
            if page is None:
                self.send_error(404)
                return
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return SiteRequestHandler


def site_server(root: Path, host: str, port: int):
    """The development server of ``root`` on ``host:port`` (0: any free port), one thread per connection: a
    browser keeps connections open it has not used yet, which would stall a server answering one at a time."""
    from socketserver import ThreadingMixIn

    from pelican.server import RootedHTTPServer

    class ThreadingSiteServer(ThreadingMixIn, RootedHTTPServer):
        allow_reuse_address = True
        daemon_threads = True

    return ThreadingSiteServer(str(root), (host, port), site_request_handler())


@task(help={"port": "port to listen on (default 8000)"})
def serve(c, port=None):
    """Serve output/ at http://127.0.0.1:8000 (loopback only); a missing address gets the site's not-found page."""
    port = int(port or CONFIG["port"])
    server = site_server(CONFIG["deploy_path"], CONFIG["host"], port)
    print(f"Serving the site at http://{CONFIG['host']}:{port}/ (Ctrl+C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()


@task
def reserve(c):
    """Build, then serve."""
    _build(CONFIG["settings_base"], process_ends=False)  # the server goes on
    serve(c)


@task
def preview(c):
    """Build the public site (publishconf.py: absolute URLs from the SITEURL environment variable)."""
    _build(CONFIG["settings_publish"])


@task
def livereload(c):
    """Serve at http://127.0.0.1:8000 and rebuild on every save, reloading the browser: a saved article's page is
    rewritten first (about a second at most), then the whole site is built and the browser reloads again."""
    from live_preview import serve

    patterns = ("pelicanconf.py", "content/**/*", "theme/**/*", "plugins/**/*.py", "plugins/**/*.html")
    serve(CONFIG["settings_base"], CONFIG["deploy_path"], CONFIG["host"], CONFIG["port"],
          [str(ROOT / pattern) for pattern in patterns])


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


@task(
    help={
        "articles": "articles in the synthetic corpus (default 10000; the growth check also builds a tenth of it)",
        "runs": "runs per figure; the median is reported (default 3)",
        "json": "also write every figure as JSON to this file (for CI to keep)",
        "seed": "seed of the corpus generator (default 2026)",
        "keep": "keep the temporary corpus, outputs and logs, and print where they are",
        "strict": "exit 1 when a figure misses its target (a wrong rebuild always exits 1)",
    }
)
def bench(c, articles=10_000, runs=3, json=None, seed=2026, keep=False, strict=False):
    """Benchmark our build against stock Pelican on a synthetic corpus (in a temporary folder); print a table."""
    from bench.runner import main

    status = main(int(articles), int(runs), json, int(seed), keep, strict)
    if status:
        raise Exit(code=status)


@task(
    help={
        "to": "where to deploy: ssh://user@host[:port]/path, git+ssh://…#branch, git+file://…#branch, "
        "s3://bucket/prefix (default: $PUBLISH_TARGET, then PUBLISH_TARGET in publishconf.py)",
        "dry_run": "build and check, then list what would be added, changed and removed; deploy nothing",
        "content": "publish this content folder instead of content/ (tests, previews of a branch's content)",
        "settings": "settings file (default publishconf.py)",
    }
)
def publish(c, to=None, dry_run=False, content=None, settings=None):
    """Build the public site into a staging folder, check it (content, links), then deploy it atomically."""
    from publishing.deploy import PublishError
    from publishing.deploy import publish as publish_site

    try:
        publish_site(
            to,
            settings_file=Path(settings).resolve() if settings else CONFIG["settings_publish"],
            content=Path(content).resolve() if content else None,
            dry_run=dry_run,
        )
    except PublishError as exc:
        print(exc, file=sys.stderr)
        raise Exit(code=1) from None


@task(help={"to": "the target to roll back (default: $PUBLISH_TARGET, then publishconf.py)"})
def rollback(c, to=None):
    """Make the previous publish live again (ssh: switch `current` back; git: a commit restoring it)."""
    from publishing.deploy import PublishError
    from publishing.deploy import rollback as rollback_site

    try:
        rollback_site(to, settings_file=CONFIG["settings_publish"])
    except PublishError as exc:
        print(exc, file=sys.stderr)
        raise Exit(code=1) from None


# --- Editors' tools (issue 6): plugins/editor_tools -------------------------------------------------------------


def _editor_paths(c, first: str | None) -> list[str]:
    """invoke gives a task one value per argument, so one value may name several files: "a.txt b.txt" (quote
    names with spaces inside it), patterns like "wire/*.txt" (expanded here, so they work in every shell), and
    more files after a standalone `--`."""
    import glob
    import shlex

    given = []
    if first:
        given = [first] if os.path.exists(first) else shlex.split(first)
    given += shlex.split(getattr(c, "remainder", "") or "")
    paths: list[str] = []
    for item in given:
        matches = sorted(glob.glob(item)) if glob.has_magic(item) else []
        paths.extend(matches or [item])
    return paths


EDITOR_CONTENT_HELP = "content folder to use instead of content/ (also $PORTAL_CONTENT)"


@task(
    positional=["headline"],
    help={
        "headline": "the headline, in quotes",
        "lang": "en or zh (default: zh for a Chinese headline, else en)",
        "date": "publication time, 'YYYY-MM-DD HH:MM' (default: now)",
        "topics": "topics from content/topics/, separated by commas",
        "officials": "officials from content/officials/, separated by commas",
        "slug": "the web address, e.g. metro-line-4 (default: made from the headline)",
        "category": "the section (default News)",
        "content": EDITOR_CONTENT_HELP,
    },
)
def new(c, headline, lang=None, date=None, topics=None, officials=None, slug=None, category=None, content=None):
    """Start a new article: content/articles/YYYY/<slug>.md with every metadata line; prints its path."""
    from editor_tools.new import run as run_new

    code = run_new(headline, content, lang, date, topics or "", officials or "", slug, category)
    if code:
        raise Exit(code=code)


@task(
    name="import",
    positional=["files"],
    help={
        "files": "the wire text file(s): one, several in quotes, a pattern like 'wire/*.txt', or more after --",
        "date": "publication time 'YYYY-MM-DD[ HH:MM]' when the text has no date (or to replace it)",
        "lang": "en or zh (default: from the text)",
        "force": "replace an article imported before from the same headline",
        "content": EDITOR_CONTENT_HELP,
    },
)
def import_(c, files, date=None, lang=None, force=False, content=None):
    """Turn raw wire copy into article files under content/articles/; prints each path written."""
    from editor_tools.importer import run as run_import

    code = run_import(_editor_paths(c, files), content, date, lang, force)
    if code:
        raise Exit(code=code)


@task(
    help={
        "path": "only report problems in these files or folders (several in quotes, or after --); all content is "
        "still read",
        "format": "text (default: path:line: severity: message) or json",
        "content": EDITOR_CONTENT_HELP,
    },
)
def check(c, path=None, format="text", content=None):
    """Check every article without building the site: one line per problem, exit 1 on any error."""
    from editor_tools.check import run as run_check

    code = run_check(_editor_paths(c, path), content, format)
    if code:
        raise Exit(code=code)
