"""live_preview: the quick one-page rewrite `invoke livereload` does before the full build.

Every test runs real in-process Pelican builds of a small fixture site with the project's settings and plugins.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests.support.sites import REPO_ROOT, article, write_content

import live_preview  # noqa: E402  (tests.support.sites puts plugins/ on sys.path)
from content_model.build import build  # noqa: E402

SETTINGS = REPO_ROOT / "pelicanconf.py"
METRO = "articles/2026/metro.md"
METRO_PAGE = "2026/03/metro/index.html"
FILES = {
    METRO: article(slug="metro"),
    "articles/2026/metro-zh.md": article(title="澜海地铁4号线开通", slug="metro", lang="zh",
                                         body="新线路连接河区与机场。"),
    "articles/2026/parks.md": article(title="Riverside parks reopen", slug="parks", topics="Urban renewal",
                                      date="2026-03-19 10:00", body="Three parks reopen after renewal."),
}
NEW_BODY = "The line now also stops at the exhibition centre."


def overrides(root: Path) -> dict:
    return {"PATH": str(root / "content"), "OUTPUT_PATH": str(root / "output"), "CACHE_PATH": str(root / "cache")}


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def site(tmp_path):
    """A built fixture site and the LivePreview that built it (its quick path ready)."""
    root = tmp_path / "site"
    write_content(root / "content", FILES)
    reloads: list[tuple[str, dict[str, bytes]]] = []
    messages = io.StringIO()
    preview = live_preview.LivePreview(
        SETTINGS, overrides(root), reload=lambda path: reloads.append((path, tree(root / "output"))), out=messages
    )
    assert preview.build_and_keep(), messages.getvalue()
    assert preview.kept is not None
    reloads.clear()
    yield root, preview, reloads, messages
    preview.close()


def fetch(port: int, relative: str) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/{relative}", timeout=30) as response:
            return response.read().decode("utf-8")
    except (urllib.error.URLError, ConnectionError):
        return None


def edit(root: Path, relative: str, **fields) -> Path:
    path = root / "content" / relative
    path.write_text(article(**fields), encoding="utf-8")
    return path


def test_body_edit_rewrites_only_its_page_first_then_the_full_build_matches_a_cold_build(site, tmp_path):
    root, preview, reloads, messages = site
    before = tree(root / "output")
    assert NEW_BODY.encode() not in before[METRO_PAGE]

    preview.handle([str(edit(root, METRO, slug="metro", body=NEW_BODY))])

    assert [path for path, _output in reloads] == [METRO_PAGE, "*"], messages.getvalue()
    quick = reloads[0][1]  # the output when the browser was first told to reload
    assert f"<p>{NEW_BODY}</p>".encode() in quick[METRO_PAGE]
    assert {k: v for k, v in quick.items() if k != METRO_PAGE} == {k: v for k, v in before.items() if k != METRO_PAGE}
    assert quick.keys() == before.keys()
    assert "rewritten in" in messages.getvalue()

    after = tree(root / "output")
    # For a body edit the quick page is exactly what the full build writes (summary, share links, reading time)
    assert quick[METRO_PAGE] == after[METRO_PAGE]
    cold = tmp_path / "cold"
    build(SETTINGS, {**overrides(cold), "PATH": str(root / "content")}, fatal="errors")
    assert after == tree(cold / "output")


def test_a_build_that_only_patches_the_output_keeps_the_quick_path_ready(site, tmp_path, monkeypatch):
    """A correction added below the body: the quick update rewrites the page, the full build that follows takes the
    body-edit path (Pelican does not run) and the kept site, which has the update, stays; so the next save is quick
    again and no extra warm-up run is needed."""
    import pelican

    root, preview, reloads, messages = site
    runs = []
    original = pelican.Pelican.run
    monkeypatch.setattr(pelican.Pelican, "run", lambda self: runs.append(self) or original(self))
    path = root / "content" / METRO
    for number in (1, 2):
        path.write_text(path.read_text(encoding="utf-8") + f"\nCorrection {number}: the line opens at 6:00.\n",
                        encoding="utf-8")
        preview.handle([str(path)])
        assert [p for p, _output in reloads] == [METRO_PAGE, "*"], messages.getvalue()
        assert f"Correction {number}".encode() in reloads[0][1][METRO_PAGE]
        assert runs == [] and preview.kept is not None
        reloads.clear()
    cold = tmp_path / "cold"
    build(SETTINGS, {**overrides(cold), "PATH": str(root / "content")}, fatal="errors")
    assert tree(root / "output") == tree(cold / "output")


def test_unknown_official_prints_path_line_and_keeps_the_old_page(site):
    root, preview, reloads, messages = site
    page = root / "output" / METRO_PAGE
    old = page.read_bytes()
    path = edit(root, METRO, slug="metro", officials="Nobody Known", body=NEW_BODY)

    assert preview.quick_update(path) == live_preview.STOPPED
    lines = messages.getvalue().splitlines()
    assert re.fullmatch(r"content/articles/2026/metro\.md:6: error: unknown official `Nobody Known`.*", lines[0]), lines
    assert "the page was not rewritten" in lines[-1]
    assert page.read_bytes() == old
    assert reloads == []

    # handle() stops there too: no full build (it would stop on the same line), nothing written
    preview.handle([str(path)])
    assert page.read_bytes() == old and reloads == []

    # The kept build is intact: the fixed file takes the quick path (its own slug is not a "duplicate")
    fixed = edit(root, METRO, slug="metro", body=NEW_BODY)
    assert preview.quick_update(fixed) == live_preview.WRITTEN
    assert f"<p>{NEW_BODY}</p>" in page.read_text(encoding="utf-8")


def test_slug_change_or_new_file_takes_the_full_build(site):
    root, preview, reloads, messages = site
    page = root / "output" / METRO_PAGE
    old = page.read_bytes()

    moved = edit(root, METRO, slug="metro-line-4", body=NEW_BODY)
    assert preview.quick_update(moved) == live_preview.FULL
    assert page.read_bytes() == old and reloads == []
    added = edit(root, "articles/2026/bridge.md", title="Bridge opens", slug="bridge", body="A new bridge.")
    assert preview.quick_update(added) == live_preview.FULL

    preview.handle([str(moved)])
    assert [path for path, _output in reloads] == ["*"]
    assert not page.exists()
    assert NEW_BODY in (root / "output/2026/03/metro-line-4/index.html").read_text(encoding="utf-8")
    assert (root / "output/2026/03/bridge/index.html").is_file()
    assert preview.kept is not None  # the full build is kept for the next quick update


def test_build_restored_from_the_last_output_is_followed_by_a_real_run(site):
    """The build's whole-site shortcut (nothing changed: last output restored) runs no Pelican, so there is
    nothing to keep; build_and_keep then runs Pelican once so the next save is quick. That run stamps the reader
    cache as builds do (``content_model.build.read_as_builds_do``): the next build is not a cold read."""
    import pickle

    root, first, _reloads, _messages = site
    first.close()
    second = live_preview.LivePreview(SETTINGS, overrides(root), out=io.StringIO())
    try:
        assert second.full_build() and second.kept is None
        assert second.build_and_keep() and second.kept is not None
        with open(root / "cache" / "ArticlesGenerator-Readers", "rb") as handle:  # GZIP_CACHE is off
            stamps = [stamp for stamp, _data in pickle.load(handle).values()]
        assert stamps and all(stamp[0] == "portal-digest" for stamp in stamps), stamps
        path = edit(root, METRO, slug="metro", body=NEW_BODY)
        assert second.quick_update(path) == live_preview.WRITTEN
    finally:
        second.close()


def test_failed_full_build_drops_the_kept_build(site, capsys):
    root, preview, _reloads, messages = site
    edit(root, "articles/2026/parks.md", title="Parks", slug="parks", officials="Nobody Known")
    assert not preview.full_build()
    assert "content/articles/2026/parks.md:6: error: unknown official" in capsys.readouterr().err
    assert "The build stopped" in messages.getvalue()
    assert preview.kept is None
    assert preview.quick_update(root / "content" / METRO) == live_preview.FULL


def test_quiet_watcher_runs_tasks_but_leaves_reloads_to_the_worker(tmp_path):
    watched = tmp_path / "a.md"
    watched.write_text("one", encoding="utf-8")
    seen = []
    watcher = live_preview._watcher_class()()
    watcher.watch(str(tmp_path / "*.md"), lambda changed=None: seen.append(changed))
    assert watcher.examine() == (None, None)  # first look: records modification times
    watched.write_text("two", encoding="utf-8")
    os.utime(watched, (watcher._start + 10, watcher._start + 10))
    assert watcher.examine() == (None, None)
    assert seen == [[str(watched)]]


def test_livereload_server_reloads_after_the_quick_page_and_after_the_full_build(tmp_path):
    """`invoke livereload`'s server (live_preview.serve) in its own process on 127.0.0.1, a livereload client on
    its websocket: a saved article reloads the browser twice, the first time with its page already rewritten
    and the server answering while the full build runs."""
    import json
    import socket
    import subprocess
    import sys

    from tornado.ioloop import IOLoop
    from tornado.websocket import websocket_connect

    root = tmp_path / "site"
    write_content(root / "content", FILES)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[1] + '/plugins']\n"
        "import json; from live_preview import serve\n"
        "serve(sys.argv[2], sys.argv[3], '127.0.0.1', int(sys.argv[4]), [sys.argv[5]], json.loads(sys.argv[6]))\n"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", script, str(REPO_ROOT), str(SETTINGS), str(root / "output"), str(port),
         str(root / "content" / "**" / "*"), json.dumps(overrides(root))],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )

    async def session() -> list[tuple[str, str]]:
        url = f"ws://127.0.0.1:{port}/livereload"
        for _attempt in range(200):  # the server process is starting
            try:
                client = await websocket_connect(url)
                break
            except OSError:
                await asyncio.sleep(0.1)
        else:
            raise AssertionError("the livereload server did not start")
        await client.write_message(json.dumps({"command": "hello"}))
        assert json.loads(await client.read_message())["command"] == "hello"
        await client.write_message(json.dumps({"command": "info", "url": f"http://127.0.0.1:{port}/"}))
        # wait until the first build is in place (the server serves output/ while building)
        for _attempt in range(600):
            if fetch(port, METRO_PAGE) is not None:
                break
            await asyncio.sleep(0.1)
        # ... and finished and kept: its reload, unless it came before this client connected (then a while)
        with contextlib.suppress(asyncio.TimeoutError):
            while True:
                message = await asyncio.wait_for(client.read_message(), timeout=5)
                if message is None or json.loads(message).get("path") == "*":
                    break
        edit(root, METRO, slug="metro", body=NEW_BODY)
        seen = []
        while [path for path, _body in seen][-1:] != ["*"]:  # until the reload after the full build
            message = await client.read_message()
            assert message is not None, "the server closed the connection"
            data = json.loads(message)
            if data["command"] != "reload":
                continue
            body = fetch(port, METRO_PAGE)
            # Ours name the page or "*". Not livereload's own "server started" reload: sent restart_delay (2 s) after
            # its first poll, it names whatever file its watcher saw last (the edited article, under load).
            if data["path"] == METRO_PAGE or (seen and data["path"] == "*"):
                seen.append((data["path"], body))
        client.close()
        for address in ("2026/03/no-such-story/", "zh/no/such/page"):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/{address}", timeout=30)
            except urllib.error.HTTPError as error:
                page = BeautifulSoup(error.read().decode("utf-8"), "html.parser")
                missing.append((error.code, (page.h1 or page).get_text(strip=True)))
        return seen

    missing: list[tuple[int, str]] = []

    try:
        seen = IOLoop.current().run_sync(session, timeout=300)
    finally:
        server.terminate()
        log = server.communicate(timeout=30)[1]
    assert [path for path, _body in seen] == [METRO_PAGE, "*"], log
    assert all(f"<p>{NEW_BODY}</p>" in body for _path, body in seen), log
    assert "rewritten in" in log
    # a missing address got the site's not-found page of its language, as the public hosts answer it
    assert missing == [(404, "Page not found"), (404, "页面未找到")], log
