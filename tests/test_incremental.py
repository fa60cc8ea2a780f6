"""Selective rebuilds give exactly the output of a cold build, for every kind of edit (issue 9)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import shutil
from pathlib import Path

import pytest

from tests.support.sites import REPO_ROOT, article, build, make_site, write_content

# Pagefind writes its metadata files in random order (upstream pagefind#638): compared separately, by the search tests.
NOT_COMPARED = ()  # everything, the search index included


def digests(output: Path) -> dict[str, str]:
    return {
        str(p.relative_to(output)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(output.rglob("*"))
        if p.is_file() and not str(p.relative_to(output)).startswith(NOT_COMPARED)
    }


def files() -> dict[str, str]:
    result = {}
    for n in range(8):
        result[f"articles/2026/story-{n}.md"] = article(
            title=f"Story {n}",
            slug=f"story-{n}",
            date=f"2026-0{1 + n % 3}-1{n} 09:00",
            topics="Public transport" if n % 2 else "Urban renewal, Public transport",
            officials="Tao Minghui" if n % 3 else "Liang Shuwen",
            reporters="Zhou Yiran",
            body=f"Body of story {n}. " * 20 + ("\n\nSee [story 1]({filename}/articles/2026/story-1.md)." if n == 2 else ""),
        )
    result["articles/2026/story-1.zh.md"] = article(
        title="故事一", slug="story-1", lang="zh", date="2026-02-11 10:00", topics="公共交通", editors="王思琪",
    )
    return result


def run_build(root: Path, publish: bool = False, **overrides) -> None:
    settings = {"PATH": str(root / "content"), "OUTPUT_PATH": str(root / "output"), "CACHE_PATH": str(root / "cache"),
                **overrides}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        build(REPO_ROOT / ("publishconf.py" if publish else "pelicanconf.py"), settings, fatal="warnings")


def edit_body(content: Path) -> None:
    path = content / "articles/2026/story-1.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Body of story 1.", "Edited body of story 1.", 1),
                    encoding="utf-8")


def edit_metadata(content: Path) -> None:
    # story 5 gains a topic and an official
    path = content / "articles/2026/story-5.md"
    text = path.read_text(encoding="utf-8")
    text = text.replace("Topics: Public transport", "Topics: Public transport, Urban renewal")
    text = text.replace("Officials: Tao Minghui", "Officials: Tao Minghui, Liang Shuwen")
    path.write_text(text, encoding="utf-8")


def edit_title(content: Path) -> None:
    path = content / "articles/2026/story-1.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Title: Story 1", "Title: Story one, renamed"),
                    encoding="utf-8")


def edit_registry(content: Path) -> None:
    path = content / "officials/tao-minghui.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Role: Mayor of Lanhai", "Role: Mayor of Lanhai City"),
                    encoding="utf-8")


def edit_date(content: Path) -> None:
    # story 5, the latest of its topics, moves ten days later: same month, same URL; the topic index shows the date
    path = content / "articles/2026/story-5.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Date: 2026-03-15 09:00", "Date: 2026-03-25 09:00"),
                    encoding="utf-8")


def move_linked_article(content: Path) -> None:
    # story 2 links to story 1, whose URL changes
    path = content / "articles/2026/story-1.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Slug: story-1", "Slug: story-one"), encoding="utf-8")


def delete_article(content: Path) -> None:
    (content / "articles/2026/story-5.md").unlink()


def add_article(content: Path) -> None:
    (content / "articles/2026/story-new.md").write_text(
        article(title="A new story", slug="story-new", date="2026-03-30 09:00", officials="Tao Minghui"),
        encoding="utf-8",
    )


EDITS = {
    "body": edit_body,
    "metadata": edit_metadata,
    "title (shown on other pages)": edit_title,
    "registry entry": edit_registry,
    "date (same URL)": edit_date,
    "linked story's URL": move_linked_article,
    "deleted article": delete_article,
    "new article": add_article,
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_selective_rebuild_equals_cold_build(tmp_path, edit):
    warm = tmp_path / "warm"
    make_site(warm, files())
    edit(warm / "content")
    run_build(warm)
    cold = tmp_path / "cold"
    shutil.copytree(warm / "content", cold / "content")
    run_build(cold)
    assert digests(warm / "output") == digests(cold / "output")


@contextlib.contextmanager
def counted(cls):
    """Record the ``hits`` and ``misses`` of ``cls`` (a page or feed cache) when it prunes, at the end of a build."""
    counts = {}
    original = cls.prune

    def record(self):
        counts["hits"], counts["misses"] = self.hits, self.misses
        if hasattr(self, "kept"):
            counts["kept"] = self.kept
        original(self)

    cls.prune = record
    try:
        yield counts
    finally:
        cls.prune = original


def test_unchanged_rebuild_renders_nothing_and_changes_nothing(tmp_path):
    from incremental import IncrementalWriter

    site = make_site(tmp_path, files())
    before = digests(site.output)
    shutil.rmtree(site.output)  # publish builds start from an empty output folder
    shutil.rmtree(tmp_path / "cache" / "last-build")  # no whole-build shortcut: exercise the page cache
    with counted(IncrementalWriter) as counts:
        run_build(tmp_path)
    assert counts["misses"] == 0 and counts["hits"] > 20
    assert digests(site.output) == before


def test_the_page_cache_keeps_the_pages_of_the_last_build_only(tmp_path, monkeypatch):
    """``IncrementalWriter.prune``: once a build is written, the page cache holds no entry it did not use (a page
    that changed leaves its old text behind) and no temporary file (a child stopped mid-write); what it used stays."""
    from incremental import IncrementalWriter

    make_site(tmp_path, files())
    cache = tmp_path / "cache" / "pages"
    before = {entry.stem for entry in cache.rglob("*.html")}
    stray = sorted(folder for folder in cache.iterdir() if folder.is_dir())[0] / f".{'0' * 40}.html.123.tmp"
    stray.write_text("half a page", encoding="utf-8")
    used: list[set] = []
    prune = IncrementalWriter.prune
    monkeypatch.setattr(IncrementalWriter, "prune", lambda self: used.append(set(self.used)) or prune(self))
    edit_title(tmp_path / "content")
    run_build(tmp_path)
    after = {entry.stem for entry in cache.rglob("*.html")}
    assert after <= used[0] and before & used[0] <= after
    assert before - after  # the edited story's pages, and the listings showing its title
    assert not stray.exists() and not list(cache.rglob("*.tmp"))


def test_a_written_page_is_its_cache_file_linked_and_no_later_build_writes_through_it(tmp_path):
    """``content_model.output.place``: a page a build makes is its page cache file, linked into the output (making a
    file costs ten links here), not a second file of the same bytes. No later build writes through such a file:
    after a title edit (a full build) and a body edit (the body-edit path, which patches the output), every cache
    file still holds its bytes, and the output is a cold build's. (A page edited by hand in place, which edits its
    cache file too: ``test_a_page_file_changed_since_the_last_build_is_made_again``.)"""
    import incremental

    make_site(tmp_path, files())
    output, cache = tmp_path / "output", tmp_path / "cache" / "pages"
    cached = {entry.stat().st_ino: entry for entry in cache.rglob("*.html")}
    pages = sorted(output.rglob("*.html"))
    linked = [page for page in pages if page.stat().st_ino in cached]
    assert len(pages) > 40 and linked == pages, sorted(set(pages) - set(linked))[:5]
    assert all(page.read_bytes() == cached[page.stat().st_ino].read_bytes() for page in pages)
    held = {entry: entry.read_bytes() for entry in cached.values()}
    edit_title(tmp_path / "content")
    run_build(tmp_path)
    edit_body(tmp_path / "content")
    run_build(tmp_path)
    assert {entry: entry.read_bytes() for entry in held if entry.exists()} == {
        entry: data for entry, data in held.items() if entry.exists()}
    # the stamps the page cache trusts are its files' own (those of files the last build neither read nor wrote too)
    stamps = pickle.loads((cache / incremental.STAMPS_FILE).read_bytes())
    assert stamps == {entry.stem: (info.st_size, info.st_mtime_ns, info.st_ino)
                      for entry in cache.rglob("*.html") for info in [entry.stat()]}
    cold = tmp_path / "cold"
    write_content(cold / "content", {})
    shutil.copytree(tmp_path / "content", cold / "content", dirs_exist_ok=True)
    run_build(cold)
    assert digests(output) == digests(cold / "output")


def test_place_takes_the_last_file_back_first_links_the_cache_file_of_the_same_size_else_writes(tmp_path):
    from content_model.output import discard, finish_discarding, place, set_aside

    output, cache = tmp_path / "output", tmp_path / "cache"
    output.mkdir()
    cache.mkdir()
    (output / "kept.html").write_bytes(b"same")
    (cache / "page.html").write_bytes(b"new page")
    (cache / "damaged.html").write_bytes(b"new pa")
    last = (output / "kept.html").stat().st_ino
    set_aside(output)
    try:
        assert place(str(output / "kept.html"), b"same", cache / "page.html")  # the last build's file, taken back
        assert not place(str(output / "linked.html"), b"new page", cache / "page.html")
        assert not place(str(output / "written.html"), b"new page", cache / "damaged.html")
    finally:
        discard()
        finish_discarding()
    assert (output / "kept.html").stat().st_ino == last
    assert (output / "linked.html").stat().st_ino == (cache / "page.html").stat().st_ino
    assert (output / "written.html").read_bytes() == b"new page" and (cache / "damaged.html").read_bytes() == b"new pa"
    assert (output / "written.html").stat().st_nlink == 1


def test_template_and_setting_changes_invalidate_the_cache(tmp_path):
    site = make_site(tmp_path, files())
    theme = tmp_path / "theme"
    shutil.copytree(REPO_ROOT / "theme", theme)
    base = theme / "templates" / "base.html"
    base.write_text(base.read_text(encoding="utf-8").replace("<body", "<body data-edited"), encoding="utf-8")
    run_build(tmp_path, THEME=str(theme))
    assert "data-edited" in site.read("2026/02/story-1/index.html")
    run_build(tmp_path, THEME=str(theme), SITENAME="Renamed Portal")
    assert "Renamed Portal" in site.read("topics/public-transport/index.html")
    assert "Renamed Portal" in site.read("2026/02/story-1/index.html")


def test_cache_from_another_code_version_is_not_used(tmp_path, monkeypatch):
    import incremental

    site = make_site(tmp_path, files())
    page = tmp_path / "output" / "2026/02/story-1/index.html"
    # poison every cached page: if a key from the old version were reused, the poison would be published (the files
    # replaced, as a build replaces them, and their stamps recorded, so the cache takes them for its own)
    pages, stamps = tmp_path / "cache" / "pages", {}
    for cached in pages.rglob("*.html"):
        cached.unlink()
        cached.write_text("POISON", encoding="utf-8")
        info = cached.stat()
        stamps[cached.stem] = (info.st_size, info.st_mtime_ns, info.st_ino)
    (pages / incremental.STAMPS_FILE).write_bytes(pickle.dumps(stamps))
    monkeypatch.setattr(incremental, "CODE_VERSION", incremental.CODE_VERSION + "-next")
    run_build(tmp_path)
    assert "POISON" not in page.read_text(encoding="utf-8")
    assert site.exists("index.html")


def test_nothing_changed_restores_the_last_output_without_building(tmp_path, monkeypatch):
    site = make_site(tmp_path, files())
    before = digests(site.output)
    shutil.rmtree(site.output)
    import pelican

    def no_build(self):
        raise AssertionError("Pelican ran although no input changed")

    monkeypatch.setattr(pelican.Pelican, "run", no_build)
    run_build(tmp_path)
    assert digests(site.output) == before


def test_nothing_changed_with_the_output_in_place_touches_nothing(tmp_path, monkeypatch):
    """The output folder still holds the last build's files (same inodes): nothing is relinked. A stray file in it
    makes the build put the saved output back, so the result is still exactly the last build's."""
    import pelican

    site = make_site(tmp_path, files())
    before = digests(site.output)
    inodes = {p: p.stat().st_ino for p in site.output.rglob("*") if p.is_file()}

    def no_build(self):
        raise AssertionError("Pelican ran although no input changed")

    monkeypatch.setattr(pelican.Pelican, "run", no_build)
    run_build(tmp_path)
    assert {p: p.stat().st_ino for p in site.output.rglob("*") if p.is_file()} == inodes
    (site.output / "stray.html").write_text("left by hand", encoding="utf-8")
    (site.output / "index.html").unlink()
    run_build(tmp_path)
    assert digests(site.output) == before


def test_any_changed_input_builds_again(tmp_path, monkeypatch):
    site = make_site(tmp_path, files())
    edit_title(site.content)
    run_build(tmp_path)
    assert "Story one, renamed" in site.read("2026/02/story-1/index.html")
    monkeypatch.setenv("PORTAL_DEV_URL", "http://127.0.0.1:9999/")  # read by the settings file
    run_build(tmp_path, PORTAL_FEED_BASE="http://127.0.0.1:9999/")
    assert "http://127.0.0.1:9999/2026/02/story-1/" in site.read("2026/02/story-1/index.html")


def test_a_tampered_saved_output_is_never_restored(tmp_path):
    site = make_site(tmp_path, files())
    before = digests(site.output)
    saved = tmp_path / "cache" / "last-build" / "files" / "index.html"
    saved.unlink()
    saved.write_text("TAMPERED", encoding="utf-8")
    shutil.rmtree(site.output)
    run_build(tmp_path)
    assert digests(site.output) == before


def test_the_snapshot_links_the_output_and_a_file_found_where_it_held_none_is_replaced(tmp_path):
    """A cold build's snapshot is the output's files themselves (hard links). A file the snapshot did not hold is
    linked at once; one found at its place anyway (put there by hand) is replaced by the link, never linked over or
    kept, and the output restored from the snapshot is the build's."""
    site = make_site(tmp_path, files())
    snapshot_files = tmp_path / "cache" / "last-build" / "files"
    outputs = [p for p in site.output.rglob("*") if p.is_file()]
    assert outputs and all(
        (snapshot_files / p.relative_to(site.output)).stat().st_ino == p.stat().st_ino for p in outputs)
    (site.content / "articles/2026/story-9.md").write_text(article(title="Story 9", slug="story-9",
                                                                   date="2026-03-19 09:00"), encoding="utf-8")
    stray = snapshot_files / "2026/03/story-9/index.html"
    stray.parent.mkdir(parents=True)
    stray.write_text("PUT HERE BY HAND", encoding="utf-8")
    run_build(tmp_path)
    page = site.output / "2026/03/story-9/index.html"
    assert stray.stat().st_ino == page.stat().st_ino and b"Story 9" in page.read_bytes()
    before = digests(site.output)
    shutil.rmtree(site.output)
    run_build(tmp_path)
    assert digests(site.output) == before


def test_a_rebuilds_snapshot_is_its_output_with_each_files_own_stamp(tmp_path):
    """After a rebuild, the snapshot holds the output's very files and the manifest each one's stamp: the files the
    build kept (most of them) as saved, unlooked at; the others looked at and linked. A kept file whose snapshot
    link was replaced (another inode, the same bytes) is linked again."""
    from content_model.output import file_stamp

    site = make_site(tmp_path, files())
    snapshot = tmp_path / "cache" / "last-build"
    before = {str(p.relative_to(site.output)): p.stat().st_ino for p in site.output.rglob("*") if p.is_file()}
    replaced_links = set(sorted(before)[::2])  # every other link replaced by a copy
    for relative in replaced_links:
        replaced = snapshot / "files" / relative
        copy = replaced.read_bytes()
        replaced.unlink()
        replaced.write_bytes(copy)
    edit_metadata(site.content)
    run_build(tmp_path)
    manifest = pickle.loads((snapshot / "manifest.pickle").read_bytes())
    outputs = {str(p.relative_to(site.output)): p for p in site.output.rglob("*") if p.is_file()}
    assert sorted(manifest["files"]) == sorted(outputs)
    for relative, path in outputs.items():
        assert manifest["files"][relative] == file_stamp(path.stat()), relative
        assert (snapshot / "files" / relative).stat().st_ino == path.stat().st_ino, relative
    kept = {relative for relative, path in outputs.items() if before.get(relative) == path.stat().st_ino}
    assert kept & replaced_links and kept - replaced_links  # kept files of both kinds were there to look at


def test_templates_are_compiled_once_for_the_builds_of_one_site(tmp_path, monkeypatch):
    """Jinja's bytecode cache (``use_compiled_templates``): a rebuild after an edit compiles no template; a changed
    setting compiles them again, in a folder of its own, the other one removed."""
    import jinja2

    site = make_site(tmp_path, files())
    folders = list((tmp_path / "cache" / "templates").iterdir())
    assert len(folders) == 1 and list(folders[0].iterdir())
    compiled = []
    original = jinja2.Environment.compile

    def compile_counted(self, source, name=None, *args, **kwargs):
        compiled.append(name)
        return original(self, source, name, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", compile_counted)
    edit_metadata(site.content)
    run_build(tmp_path)
    assert compiled == []
    run_build(tmp_path, SITESUBTITLE="The city's policy news")
    assert "article.html" in compiled
    assert [f.name for f in (tmp_path / "cache" / "templates").iterdir()] != [f.name for f in folders]
    assert len(list((tmp_path / "cache" / "templates").iterdir())) == 1


def test_a_build_with_warnings_is_not_saved_for_stricter_builds(tmp_path):
    from tests.support.sites import SiteBuildError

    # an unregistered reporter is a warning: tolerated by a lenient build, fatal in a strict one
    text = {"articles/2026/w.md": article(slug="w", reporters="Unknown Reporter")}
    make_site(tmp_path, text, fatal="errors")
    assert not (tmp_path / "cache" / "last-build").exists()
    with pytest.raises(SiteBuildError):
        make_site(tmp_path, text, fatal="warnings")


def test_feeds_are_rebuilt_only_when_an_item_changed(tmp_path):
    """A body edit rebuilds the feeds that carry that article and copies every other feed from the cache."""
    from listing_pages import feeds as feed_module

    site = make_site(tmp_path, files())
    shutil.rmtree(tmp_path / "cache" / "last-build")
    with counted(feed_module.FeedCache) as counts:
        run_build(tmp_path)
        assert counts == {"hits": counts["hits"], "misses": 0, "kept": 0} and counts["hits"] > 10
        unchanged = counts["hits"]
        edit_body(tmp_path / "content")
        shutil.rmtree(tmp_path / "cache" / "last-build")  # a full build, not the body-edit path
        run_build(tmp_path)
    carrying = sorted(
        str(p.relative_to(site.output)) for p in site.output.rglob("*.xml")
        if "Edited body of story 1." in p.read_text(encoding="utf-8")
    )
    # Atom feeds carry the body: the site, English, its section and topics and official feeds; the edit is in the
    # first sentence, so the summary RSS feeds carry changed too.
    assert len(carrying) >= 4
    assert counts["misses"] == len(carrying) and counts["hits"] == unchanged - len(carrying)


def test_a_feed_made_from_the_key_of_its_last_file_keeps_that_file_unread(tmp_path):
    """A feed whose key (its items, title, settings) is the one its file was made from in the last saved build keeps
    that file, neither read from the feed cache nor compared nor written (``quick.carry_feed``), with the last
    build's records of where it shows bodies and summaries: a body edit after it patches the feeds as after a full
    build."""
    from listing_pages import feeds as feed_module

    site = make_site(tmp_path, files())
    before = {p: p.stat().st_ino for p in site.output.rglob("*.xml") if "feed" in p.name or "feeds" in p.parts}
    edit_title(site.content)
    with counted(feed_module.FeedCache) as counts:
        run_build(tmp_path)
    changed = {p for p in before if "Story one, renamed" in p.read_text(encoding="utf-8")}
    kept = {p for p in before if p.stat().st_ino == before[p]}
    assert changed and kept and kept == set(before) - changed
    assert counts["kept"] == len(kept) and counts["misses"] == len(changed)
    assert_equals_cold_build(tmp_path)
    story = site.content / "articles/2026/story-6.md"  # in kept feeds only (Urban renewal, Liang Shuwen)
    story.write_text(story.read_text(encoding="utf-8").replace("Body of story 6.", "Edited body of story 6.", 1),
                     encoding="utf-8")
    with pelican_runs() as runs:
        run_build(tmp_path)
    assert runs == []  # the body-edit path, from the kept feeds' carried records
    assert "Edited body of story 6." in (site.output / "topics/urban-renewal/feed.atom.xml").read_text(
        encoding="utf-8")
    assert_equals_cold_build(tmp_path)


def _counting_build(root: Path, **overrides) -> dict:
    from incremental import IncrementalWriter

    with counted(IncrementalWriter) as counts:
        run_build(root, **overrides)
    return counts


def _child_exited(shared, limit: float = 60.0) -> None:
    """In the parent: wait until the pre-rendering child has exited (and reap it), so what it rendered does not
    depend on how fast either process runs."""
    import time

    deadline = time.monotonic() + limit
    while shared._child_running():
        assert time.monotonic() < deadline, "the pre-rendering child did not finish"
        time.sleep(0.005)


def _parent_waits_for_the_child_before_listings(monkeypatch) -> None:
    """The parent writes its articles, then waits for the child to finish every listing page before taking one:
    the pages the child made do not depend on the machine's speed."""
    import os

    import incremental

    parent = os.getpid()
    original = incremental.SharedPages.during

    def during(self, generator, generate_output, last=False):
        numbered = original(self, generator, generate_output, last)
        if os.getpid() != parent:
            return numbered

        def after_the_child(writer):
            _child_exited(self)
            return numbered(writer)

        return after_the_child

    monkeypatch.setattr(incremental.SharedPages, "during", during)


@pytest.mark.parametrize("child_fails", [False, True], ids=["child renders listings", "child fails"])
def test_listing_pages_prerendered_by_a_forked_child_equal_a_plain_build(tmp_path, monkeypatch, child_fails):
    """On a cold build the child renders listing pages while the parent writes articles: the parent finds them in
    the cache (hits on a cold build), and the output is byte-identical to a build without the child. A failing
    child only costs time."""
    import incremental

    plain, forked = tmp_path / "plain", tmp_path / "forked"
    write_content(plain / "content", files())
    write_content(forked / "content", files())
    run_build(plain, INCREMENTAL_PRERENDER=False)
    if child_fails:
        def broken(self, *args, **kwargs):
            raise RuntimeError("the child fails")

        monkeypatch.setattr(incremental.PrerenderWriter, "write_file", broken)
    _parent_waits_for_the_child_before_listings(monkeypatch)
    counts = _counting_build(forked, INCREMENTAL_PRERENDER=True, INCREMENTAL_PRERENDER_MIN_ARTICLES=0)
    if child_fails:
        assert counts["hits"] == 0
    else:
        # every listing, archive and term page came from the child; articles and other pages were rendered here
        assert counts["hits"] > 20 and counts["misses"] > 8
    assert digests(forked / "output") == digests(plain / "output")
    assert not incremental.CHILDREN


def _slow_child(monkeypatch, seconds: float) -> None:
    """Slow every page the pre-rendering child renders (after it took the page), so the parent meets it inside the
    listing generators, on a page the child holds."""
    import time

    import incremental

    original = incremental.PrerenderWriter.page_key

    def slow(self, *args, **kwargs):
        time.sleep(seconds)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(incremental.PrerenderWriter, "page_key", slow)


def _child_holds_its_first_page_until_the_parent_passes(monkeypatch) -> None:
    """The child takes its first page (the first of the last listing generator) and keeps it until the parent has
    taken the page after it: the parent meets a page the child holds however fast either process runs."""
    import time

    import incremental

    original = incremental.SharedPages.child_takes
    held = []

    def child_takes(self, name):
        offset = original(self, name)
        if offset not in (None, -1) and not held:
            held.append(offset)
            deadline = time.monotonic() + 60
            while self.table[offset + self.SLOT] == self.FREE and time.monotonic() < deadline:
                time.sleep(0.001)
        return offset

    monkeypatch.setattr(incremental.SharedPages, "child_takes", child_takes)


def _counting_shared_build(root: Path, **overrides) -> dict:
    import incremental

    counts = {}
    original = incremental.IncrementalWriter.prune

    def record(self):
        counts.update(hits=self.hits, misses=self.misses, from_child=self.from_child, deferred=len(self.deferred),
                      deferred_written=self.deferred_written)
        original(self)

    incremental.IncrementalWriter.prune = record
    try:
        run_build(root, INCREMENTAL_PRERENDER=True, INCREMENTAL_PRERENDER_MIN_ARTICLES=0, **overrides)
    finally:
        incremental.IncrementalWriter.prune = original
    return counts


def test_parent_and_child_take_turns_on_listing_pages(tmp_path, monkeypatch):
    """When the parent reaches a listing generator the child is still rendering, both take pages from it: the
    parent defers the pages the child holds and writes them at the end of that generator. Output is that of a
    build without the child."""
    import incremental

    plain, shared = tmp_path / "plain", tmp_path / "shared"
    write_content(plain / "content", files())
    write_content(shared / "content", files())
    run_build(plain, INCREMENTAL_PRERENDER=False)
    _child_holds_its_first_page_until_the_parent_passes(monkeypatch)
    counts = _counting_shared_build(shared)
    pages = counts["hits"] + counts["misses"]
    assert counts["from_child"] >= 1, counts  # the parent used pages the child made...
    assert counts["misses"] > 12, counts  # ...and rendered listing pages itself (more than the 12 other pages)
    assert counts["from_child"] + counts["misses"] == pages and counts["deferred"] == 0
    assert counts["deferred_written"] >= 1, counts  # the parent met a page the child was still rendering
    assert digests(shared / "output") == digests(plain / "output")
    assert not incremental.CHILDREN and not incremental.SHARED


def _parent_holds_its_first_article_until_the_child_is_done(monkeypatch) -> None:
    """The parent holds its first article page until the child has exited: the child renders its listings, then
    every other article page, from the back."""
    import incremental

    parent = os.getpid()
    original = incremental.IncrementalWriter.page_key

    def child_first_in_the_parent(self, template, localcontext, global_context):
        if os.getpid() == parent and "article" in localcontext and incremental.SHARED:
            _child_exited(incremental.SHARED[0])
        return original(self, template, localcontext, global_context)

    monkeypatch.setattr(incremental.IncrementalWriter, "page_key", child_first_in_the_parent)


def test_article_pages_the_child_takes_from_the_back_equal_the_parents(tmp_path, monkeypatch):
    """A slow parent leaves article pages to the child, which renders them as the parent would: with relative URLs
    in a development build (pelicanconf), so their asset and link paths are this page's, not SITEURL's."""
    plain, shared = tmp_path / "plain", tmp_path / "shared"
    write_content(plain / "content", files())
    write_content(shared / "content", files())
    run_build(plain, INCREMENTAL_PRERENDER=False)
    _parent_holds_its_first_article_until_the_child_is_done(monkeypatch)
    counts = _counting_shared_build(shared)
    assert counts["from_child"] > 12, counts  # more than the listing pages: article pages came from the child too
    assert digests(shared / "output") == digests(plain / "output")
    for page in (shared / "output/2026").glob("*/story-*/index.html"):
        assert 'href="../../../theme/' in page.read_text(encoding="utf-8"), page


def test_a_child_that_dies_holding_a_page_leaves_it_to_the_parent(tmp_path, monkeypatch):
    import os

    import incremental

    plain, shared = tmp_path / "plain", tmp_path / "shared"
    write_content(plain / "content", files())
    write_content(shared / "content", files())
    run_build(plain, INCREMENTAL_PRERENDER=False)
    _slow_child(monkeypatch, 0.02)
    finished = []
    original = incremental.SharedPages.done

    def die_on_the_third(self, offset, key):
        finished.append(key)
        if len(finished) == 3:
            os._exit(1)  # the third page stays claimed by the child, never done
        original(self, offset, key)

    monkeypatch.setattr(incremental.SharedPages, "done", die_on_the_third)
    _counting_shared_build(shared)
    assert digests(shared / "output") == digests(plain / "output")
    assert not incremental.CHILDREN


def test_an_edit_build_keeps_the_files_of_unchanged_pages(tmp_path):
    """The last build's files are set aside, not deleted: a file whose bytes did not change is taken back (same
    inode, so the snapshot and the search plugin see it unchanged); a changed page is a new file, written beside the
    old one rather than through it (another link to the old file keeps the old bytes); a deleted article's page and
    a file no build made are gone."""
    import os

    site = make_site(tmp_path, files())
    output = site.output

    def inodes() -> dict[str, tuple[int, str]]:
        return {relative: (os.stat(output / relative).st_ino, digest) for relative, digest in digests(output).items()}

    before = inodes()
    edited, deleted = output / "2026/02/story-1/index.html", output / "2026/03/story-5/index.html"
    old_bytes = edited.read_bytes()
    old_link = tmp_path / "old-story-1.html"
    os.link(edited, old_link)  # another name for the old file, as the snapshot has

    edit_body(tmp_path / "content")
    delete_article(tmp_path / "content")
    (output / "stray.txt").write_text("not made by any build", encoding="utf-8")
    run_build(tmp_path)

    after = inodes()
    # pages and feeds: what the writer and the feed cache make (other producers link from their caches)
    pages = [r for r in after if r in before and r.endswith((".html", ".xml")) and not r.startswith("pagefind/")
             and not r.startswith("sitemap")]
    kept = [r for r in pages if after[r][1] == before[r][1]]
    changed = [r for r in pages if after[r][1] != before[r][1]]
    assert len(kept) >= 10 and "2026/02/story-1/index.html" in changed
    assert [r for r in kept if after[r][0] != before[r][0]] == []  # every unchanged file is the same file
    assert [r for r in changed if after[r][0] == before[r][0]] == []  # every changed one is a new file
    assert old_link.read_bytes() == old_bytes  # never written through
    assert b"Edited body of story 1." in edited.read_bytes()
    assert not deleted.exists() and not (output / "stray.txt").exists()
    assert not (tmp_path / ".output.last-build").exists()
    snapshot_copy = tmp_path / "cache" / "last-build" / "files" / "2026/02/story-1/index.html"
    assert os.stat(snapshot_copy).st_ino == os.stat(edited).st_ino  # the snapshot now holds the new page
    cold = tmp_path / "cold"
    shutil.copytree(tmp_path / "content", cold / "content")
    run_build(cold)
    assert digests(output) == digests(cold / "output")


def test_a_rebuild_keeps_the_files_of_pages_whose_key_is_unchanged_unread(tmp_path, monkeypatch):
    """After an edit other pages show (a title), a page made from the same key as in the last build keeps that
    build's file: it is neither read from the page cache nor compared nor written, its records for the body-edit
    path are carried over, and the output equals a cold build's. A body edit that follows is still patched."""
    from incremental import IncrementalWriter

    make_site(tmp_path, files())
    read = []
    original = IncrementalWriter.cached
    monkeypatch.setattr(IncrementalWriter, "cached", lambda self, key, *rest: read.append(key) or original(
        self, key, *rest))
    edit_title(tmp_path / "content")
    with counted(IncrementalWriter) as counts:
        run_build(tmp_path)
    assert counts["kept"] > 15 and counts["hits"] == 0, counts  # every page whose key is unchanged is kept
    assert len(read) == counts["misses"]  # and none of them was read
    assert_equals_cold_build(tmp_path)
    for relative in ("articles/2026/story-0.md", "articles/2026/story-1.zh.md"):
        append_to_body(tmp_path / "content", relative, "A correction.")
        with pelican_runs() as runs:
            run_build(tmp_path)
        assert runs == []  # the carried records say where the body is
        assert_equals_cold_build(tmp_path)


def test_a_kept_page_whose_file_and_cache_entry_are_deleted_during_the_build_is_rendered_again(tmp_path, monkeypatch):
    """A page keeps the last build's file (its key is unchanged), and before Pelican's writer closes it, both that
    file (set aside) and its page cache entry are deleted: the page is rendered again, not lost, and the output
    equals a cold build's."""
    import os

    import incremental
    from content_model import output as output_module

    make_site(tmp_path, files())
    take_back, deleted = incremental.take_back, []

    def deleted_first(path):
        aside = output_module._aside_path(path)
        if not deleted and aside and os.path.isfile(aside) and path.endswith("index.html"):
            inode = os.stat(aside).st_ino
            entries = [p for p in (tmp_path / "cache" / "pages").rglob("*.html") if p.stat().st_ino == inode]
            for doomed in [aside, *entries]:
                os.unlink(doomed)
            deleted.append((path, len(entries)))
        return take_back(path)

    monkeypatch.setattr(incremental, "take_back", deleted_first)
    edit_title(tmp_path / "content")
    with counted(incremental.IncrementalWriter) as counts:
        run_build(tmp_path)
    assert len(deleted) == 1 and deleted[0][1] == 1, deleted  # the file and its one cache entry
    assert counts["kept"] > 15
    assert Path(deleted[0][0]).is_file()
    assert_equals_cold_build(tmp_path)


def test_a_kept_page_alone_in_its_folder_comes_back_with_the_folder_and_nothing_else_does(tmp_path):
    """A kept page whose folder holds nothing else (an article's page) is put back with its folder, one rename
    (``content_model.output.take_back_folder``): the folder is the last build's. A folder holding anything more (a
    file left there by hand) is made again and gets only what the build writes."""
    make_site(tmp_path, files())
    alone, crowded = tmp_path / "output/2026/01/story-0", tmp_path / "output/2026/01/story-3"
    folder, page, stray = os.stat(alone).st_ino, os.stat(crowded / "index.html").st_ino, crowded / "notes.txt"
    stray.write_text("left here by hand", encoding="utf-8")
    edit_title(tmp_path / "content")
    run_build(tmp_path)
    assert os.stat(alone).st_ino == folder
    assert not stray.exists() and os.stat(crowded / "index.html").st_ino == page  # (the page itself was kept)
    assert_equals_cold_build(tmp_path)


def test_pelicans_writer_makes_no_folder_the_build_already_made_or_put_back(tmp_path, monkeypatch):
    """``content_model.output.make_folders``: Pelican's writer asks for each file's folder; one the build made or
    put back whole (a kept page's) is not made again, so no ``mkdir`` of the writer fails on a folder it knows is
    there. Outside a build every folder is made as asked."""
    import sys

    make_site(tmp_path, files())
    failed = []
    mkdir = os.mkdir

    def noting(path, mode=0o777, **kwargs):
        try:
            return mkdir(path, mode, **kwargs)
        except FileExistsError:
            frame = sys._getframe(1)  # the caller of os.makedirs, through make_folders
            while frame.f_code.co_name in ("makedirs", "make_folders"):
                frame = frame.f_back
            if frame.f_code.co_filename.endswith(os.path.join("pelican", "writers.py")):
                failed.append(path)
            raise

    monkeypatch.setattr(os, "mkdir", noting)
    edit_title(tmp_path / "content")
    with counted(__import__("incremental").IncrementalWriter) as counts:
        run_build(tmp_path)
    # (a folder another writer made first, a feed's say, is found there at the writer's first ask only)
    assert counts["kept"] > 15 and len(failed) == len(set(failed)), (counts, failed)
    kept_whole = [str(tmp_path / "output" / f"2026/0{1 + n % 3}/story-{n}") for n in (0, 3, 4, 6, 7)]
    assert failed and not set(kept_whole) & set(failed), failed
    assert_equals_cold_build(tmp_path)

    from content_model.output import make_folders

    outside = tmp_path / "output/2026/01/story-0"
    shutil.rmtree(outside)
    make_folders(str(outside), exist_ok=True)
    assert outside.is_dir()


def test_the_pre_rendering_child_makes_no_folder_in_the_output(tmp_path, monkeypatch):
    """The child renders pages but writes none (``content_model.output.make_no_folders``): a folder it made in the
    output would be one the parent cannot put back whole from the last build. With the parent held until the child
    is done, the child takes every article page but the first; each of those pages the edit left unchanged is
    still in the last build's folder."""
    import incremental

    make_site(tmp_path, files(), INCREMENTAL_PRERENDER=True, INCREMENTAL_PRERENDER_MIN_ARTICLES=0)
    output = tmp_path / "output"

    def folders() -> dict[Path, tuple[int, str]]:
        return {page.parent: (os.stat(page.parent).st_ino, page.read_text(encoding="utf-8"))
                for page in output.glob("2026/*/story-*/index.html")}

    before = folders()
    edit_title(tmp_path / "content")
    _parent_holds_its_first_article_until_the_child_is_done(monkeypatch)
    counts = _counting_shared_build(tmp_path)
    assert counts["from_child"] > 12, counts  # article pages came from the child
    after = folders()
    unchanged = [folder for folder in before if after[folder][1] == before[folder][1]]
    assert len(unchanged) >= 3, unchanged
    assert [folder for folder in unchanged if after[folder][0] != before[folder][0]] == []
    assert_equals_cold_build(tmp_path)


def test_the_pre_rendering_child_lets_go_of_the_last_builds_manifest(tmp_path, monkeypatch):
    """The child keeps no page of the last build (the writing process decides that), so it lets go of the last
    build's manifest (``incremental.quick.let_go_of_last_build``), emptied in place: the writing process's frames
    refer to it. The writing process still keeps the unchanged pages by it."""
    import json

    import incremental
    from incremental import quick

    prerender = {"INCREMENTAL_PRERENDER": True, "INCREMENTAL_PRERENDER_MIN_ARTICLES": 0}
    make_site(tmp_path, files(), **prerender)
    seen = tmp_path / "the-child-saw.json"
    original = incremental.PrerenderWriter.render

    def noting(self, *args):
        if not seen.exists():
            manifest = quick.LAST_BUILD[0][0] if quick.LAST_BUILD else None
            seen.write_text(json.dumps({
                "manifest": -1 if manifest is None else len(manifest),
                "records": len(quick.RECORDER._last), "files": len(quick.RECORDER._last_files),
            }), encoding="utf-8")
        return original(self, *args)

    monkeypatch.setattr(incremental.PrerenderWriter, "render", noting)
    edit_title(tmp_path / "content")
    with counted(incremental.IncrementalWriter) as counts:
        run_build(tmp_path, **prerender)
    assert json.loads(seen.read_text(encoding="utf-8")) == {"manifest": 0, "records": 0, "files": 0}
    assert counts["kept"] > 10, counts
    assert_equals_cold_build(tmp_path)


def test_folders_of_cards_and_qr_codes_come_back_whole_unless_a_file_differs(tmp_path):
    """A language's folder of share cards or QR codes whose every file is the cached one the build links is put back
    whole, one rename (``content_model.output.take_back_links``), not relinked file by file. A folder where one file
    changes (a title edit changes that story's card) or that holds a stray file has its files linked anew."""
    make_site(tmp_path, files())
    share = tmp_path / "output" / "share"
    folders = {name: share / name for name in ("cards/en", "cards/zh", "qr/en", "qr/zh")}
    before = {name: os.stat(folder).st_ino for name, folder in folders.items()}
    stray = folders["qr/zh"] / "notes.txt"
    stray.write_text("left here by hand", encoding="utf-8")
    edit_title(tmp_path / "content")
    run_build(tmp_path)
    after = {name: os.stat(folder).st_ino for name, folder in folders.items()}
    assert [name for name in folders if after[name] == before[name]] == ["cards/zh", "qr/en"]
    assert not stray.exists()
    assert_equals_cold_build(tmp_path)


def test_a_story_gaining_a_topic_makes_again_only_pages_that_change(tmp_path, monkeypatch):
    """A page's key holds only what it can show of the stories and terms it names: a term's count, latest story and
    related terms on the term's own page and on the index of terms (not where the term is a link), what a story
    links to (related stories, previous and next) on its own page only (not in a listing), the other years as
    years (not as every story of the archive), the archive's index its periods' counts. So when a story gains a
    topic and an official, no page is made again whose file comes out the same (but its year's page listing it by
    date and headline, whose key holds what a listing shows of each story), and the output equals a cold build's."""
    from incremental import IncrementalWriter

    last_year = {"articles/2025/story-2025.md": article(
        title="Story of 2025", slug="story-2025", date="2025-11-20 09:00", topics="Public transport",
        reporters="Zhou Yiran")}
    make_site(tmp_path, files() | last_year)
    before = digests(tmp_path / "output")
    made = []
    original = IncrementalWriter.cached
    monkeypatch.setattr(IncrementalWriter, "cached", lambda self, key, template, localcontext: made.append(
        localcontext["output_file"]) or original(self, key, template, localcontext))
    edit_metadata(tmp_path / "content")
    with counted(IncrementalWriter) as counts:
        run_build(tmp_path)
    after = digests(tmp_path / "output")
    changed = {relative for relative, digest in after.items() if before.get(relative) != digest}
    assert "2026/03/story-5/index.html" in made and "topics/urban-renewal/index.html" in made
    assert "2025/index.html" not in made and "2025/11/index.html" not in made
    # the year's page lists the story (a conservative key: a headline it shows may have changed); the archive's
    # index shows counts only
    year_pages = {f"{prefix}2026/index.html" for prefix in ("", "zh/")}
    assert sorted(set(made) - changed - year_pages) == []
    assert "archives/index.html" not in made and "zh/archives/index.html" not in made
    assert counts["kept"] > 0 and counts["misses"] == len(made), counts
    assert_equals_cold_build(tmp_path)


def test_a_page_the_body_edit_path_patched_is_never_kept_by_a_later_build(tmp_path):
    """A patched page's text is not the one its recorded key made: when its article comes back to what that key
    was made from (the correction reverted, with another edit so that a full build runs), the page is made again."""
    site = tmp_path / "site"
    make_site(site, files())
    relative = "articles/2026/story-3.md"
    original = (site / "content" / relative).read_text(encoding="utf-8")
    append_to_body(site / "content", relative, "A correction to story 3.")
    with pelican_runs() as runs:
        run_build(site)
    assert runs == []
    (site / "content" / relative).write_text(original, encoding="utf-8")
    edit_title(site / "content")
    with pelican_runs() as runs:
        run_build(site)
    assert len(runs) == 1
    assert b"A correction to story 3." not in (site / "output" / page_of(site, relative)).read_bytes()
    assert_equals_cold_build(site)


def test_a_page_file_changed_since_the_last_build_is_made_again(tmp_path):
    """A kept file must be the very file the snapshot holds: pages changed by hand since (in place, or replaced)
    are written again from their keys."""
    site = make_site(tmp_path, files())
    pages = sorted(site.output.glob("**/*.html"))
    for number, page in enumerate(pages):
        if number % 2:
            with open(page, "r+b") as handle:  # in place: the same inode, other bytes
                handle.write(b"<!-- changed by hand -->")
        else:
            page.unlink()
            page.write_text("replaced by hand", encoding="utf-8")
    edit_title(tmp_path / "content")
    run_build(tmp_path)
    assert_equals_cold_build(tmp_path)


def test_a_terms_digest_does_not_depend_on_its_url_having_been_asked_for():
    """Pelican copies a term's name and slug into its attributes when its URL is first made (``as_dict``): whether
    some page asked first must not change another page's key (an unchanged rebuild renders nothing, so asks less)."""
    from content_model.terms import Topic
    from incremental import Fingerprinter

    term = Topic("Public transport", {"TOPIC_URL": "topics/{slug}/"}, slug="public-transport")
    term.count = 3

    def digests() -> list[str]:
        return [Fingerprinter().value(term, depth) for depth in (0, 1, 2)] + [Fingerprinter().value([term], 0)]

    before = digests()
    assert term.url == "topics/public-transport/" and "slug" in vars(term)
    assert digests() == before


def test_a_digest_reads_every_own_attribute_whatever_order_they_were_set_in():
    """The names a digest reads are sorted once per layout of attributes (``own_attributes``): objects with the same
    attributes set in another order digest alike, and one attribute more, fewer or changed tells them apart."""
    from content_model.terms import Topic
    from incremental import Fingerprinter

    def digest(**attributes) -> str:
        term = Topic("Public transport", {"TOPIC_URL": "topics/{slug}/"}, slug="public-transport")
        for name, value in attributes.items():
            setattr(term, name, value)
        return Fingerprinter().value(term, 0)

    first = digest(count=3, note="a")
    assert digest(note="a", count=3) == first
    assert digest(count=3, note="b") != first
    assert digest(count=3) != first
    assert digest(count=3, note="a", extra=1) != first
    assert digest(count=3, note="a", _plumbing=1) == first


def test_a_pages_own_article_values_digest_as_memoised_values_do():
    """``Fingerprinter.own_value`` (the page's own article's attributes, not memoised) gives what ``value`` gives at
    the same depth for every kind of attribute: scalars by their value, lists and dicts of terms, dataclasses."""
    import dataclasses
    import datetime as dt

    from markupsafe import Markup

    from content_model.terms import Topic
    from incremental import Fingerprinter

    @dataclasses.dataclass
    class Box:
        label: str
        terms: list

    topic = Topic("Public transport", {"TOPIC_URL": "topics/{slug}/"}, slug="public-transport")
    values = ["Lanhai opens metro line 4", "x" * 100, Markup("<b>4</b>"), 3, 2.5, None, True,
              dt.datetime(2026, 3, 18, 9, 30), [topic], {"topics": [topic], "count": 2}, Box("b", [topic, "t"])]
    own = [Fingerprinter().own_value(value) for value in values]
    assert own == [Fingerprinter().value(value, 1) for value in values]
    assert len(set(own)) == len(values)


def test_objects_digested_by_their_repr_hold_only_plain_values(tmp_path):
    """``__fingerprint__`` (repr as the whole state) is safe only while every field is a plain value: a term or an
    article inside would be keyed by a repr that does not change when what it shows does (a stale page)."""
    import dataclasses

    from markupsafe import Markup
    from pelican import signals

    from incremental import Fingerprinter

    seen = []

    def collect(generator, writer):
        for item in generator.articles + generator.translations:
            seen.extend([*item.share, item.share, item.social(), item.share_target])

    def plain(value) -> bool:
        if isinstance(value, (list, tuple)):
            return all(plain(item) for item in value)
        if type(value).__name__ == "ShareTarget":  # itself checked below
            return True
        return type(value) in (str, Markup, int, float, bool, type(None))

    signals.article_writer_finalized.connect(collect)
    try:
        write_content(tmp_path / "content", files())
        run_build(tmp_path)
    finally:
        signals.article_writer_finalized.disconnect(collect)
    kinds = {type(value).__name__ for value in seen}
    assert kinds == {"ShareLink", "ShareLinks", "SocialMeta", "ShareTarget"} and len(seen) > 9 * 10
    for value in seen:
        assert hasattr(type(value), "__fingerprint__")
        for field in dataclasses.fields(value):
            assert plain(getattr(value, field.name)), (type(value).__name__, field.name)
    # Any field's change changes the digest.
    link = next(value for value in seen if type(value).__name__ == "ShareLink")
    social = next(value for value in seen if type(value).__name__ == "SocialMeta")
    target = next(value for value in seen if type(value).__name__ == "ShareTarget")
    links = next(value for value in seen if type(value).__name__ == "ShareLinks" and value.qr)
    digest = Fingerprinter().value
    for value in (link, social, target, links):
        for field in dataclasses.fields(value):
            before = getattr(value, field.name)
            if field.name == "target" and type(before).__name__ == "ShareTarget":
                after = dataclasses.replace(before, title=before.title + "x")
            else:
                after = before + ([("property", "og:x", "y")] if isinstance(before, list) else
                                  ("x",) if isinstance(before, tuple) else
                                  1 if isinstance(before, int) else type(before)("x"))
            assert digest([dataclasses.replace(value, **{field.name: after})], 1) != digest([value], 1), field.name


# --- the body-edit path (incremental.quick) --------------------------------------------------------------------


@contextlib.contextmanager
def pelican_runs():
    """Count full builds (``Pelican.run``): the body-edit path never calls it."""
    import pelican

    runs = []
    original = pelican.Pelican.run

    def run(self):
        runs.append(self)
        return original(self)

    pelican.Pelican.run = run
    try:
        yield runs
    finally:
        pelican.Pelican.run = original


def append_to_body(content: Path, relative: str, text: str) -> None:
    path = content / relative
    path.write_text(path.read_text(encoding="utf-8") + "\n" + text + "\n", encoding="utf-8")


def assert_equals_cold_build(root: Path, publish: bool = False, **overrides) -> None:
    cold = root.parent / f"{root.name}-cold"
    shutil.rmtree(cold, ignore_errors=True)
    shutil.copytree(root / "content", cold / "content")
    run_build(cold, publish, **overrides)
    warm, expected = digests(root / "output"), digests(cold / "output")
    assert [name for name in expected.keys() | warm.keys() if warm.get(name) != expected.get(name)] == []


def assert_a_full_build_after_patches_equals_cold_build(site: Path, publish: bool, conf: dict) -> None:
    edit_title(site / "content")  # other pages show the title: a full build
    with pelican_runs() as runs:
        run_build(site, publish, **conf)
    assert len(runs) == 1
    assert_equals_cold_build(site, publish, **conf)


QUICK_EDITS = {
    # an English article the feeds carry, edited twice (the second patch uses what the first one recorded), the
    # second time with a new intrasite link to another article
    "English, twice, new link": [
        ("articles/2026/story-3.md", "A correction to story 3."),
        ("articles/2026/story-3.md", "See [story 1]({filename}/articles/2026/story-1.md) for the figures."),
    ],
    "Chinese": [("articles/2026/story-1.zh.md", "更正：本文此前给出的数字有误。")],
    # the two newest stories share the site feed: the second patch finds its entry moved by the first
    "two stories of one feed": [("articles/2026/story-5.md", "A longer correction to story 5. " * 3),
                                ("articles/2026/story-2.md", "A correction to story 2.")],
    "in no feed": [("articles/2026/story-0.md", "A correction to an older story.")],
    # the dateline's reading time changes with the body (1 -> 2 minutes), in both languages
    "reading time": [("articles/2026/story-4.md", "More words about the plan. " * 60),
                     ("articles/2026/story-1.zh.md", "市民可在本月底前反映意见建议。" * 40)],
}


def test_builds_in_one_process_read_the_same_settings(tmp_path, monkeypatch):
    """``publishconf.py`` star-imports ``pelicanconf``, which Python imports once per process, and Pelican's Markdown
    reader adds its ``extensions`` to the ``MARKDOWN`` setting in place. Sharing that dict, the second publish build
    in a process (the tests) had other settings than the first, so its body edit ran a full build."""
    import sys

    monkeypatch.delitem(sys.modules, "pelicanconf", raising=False)  # imported afresh by this test's first build
    site = tmp_path / "site"
    make_site(site, files(), publish=True)
    assert "extensions" not in sys.modules["pelicanconf"].MARKDOWN
    append_to_body(site / "content", "articles/2026/story-3.md", "A correction to story 3.")
    with pelican_runs() as runs:
        run_build(site, publish=True)
    assert runs == [], "the body edit ran a full build"


@pytest.mark.parametrize("publish", [False, True], ids=["development build", "publish build"])
@pytest.mark.parametrize("edits", QUICK_EDITS.values(), ids=QUICK_EDITS.keys())
def test_a_body_edit_patches_the_files_showing_that_body_without_a_full_build(tmp_path, request, publish, edits):
    """Pages, Atom feeds (each holds two stories here) and the search index equal a cold build's after each
    patch, and after a full build that follows them."""
    conf = {"FEED_MAX_ITEMS": 2}
    if publish:
        conf["SITEURL"] = "https://news.example.org"
    site = tmp_path / "site"
    make_site(site, files(), publish=publish, **conf)
    for number, (relative, addition) in enumerate(edits):
        page = site / "output" / page_of(site, relative)
        before = page.read_bytes()
        append_to_body(site / "content", relative, addition)
        with pelican_runs() as runs:
            run_build(site, publish, **conf)
        assert runs == [], f"edit {number + 1} ran a full build"
        assert page.read_bytes() != before
        if "reading time" in request.node.name:
            assert b"about 2 minutes" in page.read_bytes() or "约2分钟".encode() in page.read_bytes()
        assert_equals_cold_build(site, publish, **conf)
    assert_a_full_build_after_patches_equals_cold_build(site, publish, conf)


def page_of(site: Path, relative: str) -> str:
    from incremental import snapshot

    manifest = pickle.loads((site / "cache" / "last-build" / snapshot.MANIFEST).read_bytes())
    return manifest["quick"]["articles"][relative]["page"]


def replace_in(content: Path, relative: str, old: str, new: str) -> None:
    path = content / relative
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def add_summary_line(content: Path, relative: str, summary: str) -> None:
    replace_in(content, relative, "\n\n", f"\nSummary: {summary}\n\n")


SUMMARY_EDITS = {
    # story 5 (no Summary: header) is the newest: its first paragraph is its summary in every listing, the site's
    # and its section's, topics' and people's feeds (RSS and Atom), its meta tags, JSON-LD and share links
    "derived summary, twice": [
        lambda c: replace_in(c, "articles/2026/story-5.md", "Body of story 5.", "Changed: the plan & its <costs>."),
        lambda c: replace_in(c, "articles/2026/story-5.md", "Changed: the plan", "Changed again: the \"plan\""),
    ],
    "a Summary: line, quotes and ampersands": [
        lambda c: add_summary_line(c, "articles/2026/story-3.md", "First summary"),
        lambda c: replace_in(c, "articles/2026/story-3.md", "Summary: First summary",
                             "Summary: The council's \"plan\" & <budget>, explained"),
    ],
    "Chinese": [lambda c: replace_in(c, "articles/2026/story-1.zh.md", "The new line", "新线路连接江滨区与机场。")],
    # the head's places move the dateline's reading time, which the next edit changes (1 -> 2 minutes)
    "summary, then the reading time": [
        lambda c: replace_in(c, "articles/2026/story-4.md", "Body of story 4.", "A much longer first sentence."),
        lambda c: append_to_body(c, "articles/2026/story-4.md", "More words about the plan. " * 60),
    ],
    "summary and body of an older story": [
        lambda c: replace_in(c, "articles/2026/story-0.md", "Body of story 0.", "An older story, summarised anew."),
        lambda c: append_to_body(c, "articles/2026/story-0.md", "A correction to the older story."),
    ],
}


@pytest.mark.parametrize("publish", [False, True], ids=["development build", "publish build"])
@pytest.mark.parametrize("edits", SUMMARY_EDITS.values(), ids=SUMMARY_EDITS.keys())
def test_a_summary_edit_patches_every_file_showing_that_summary_without_a_full_build(tmp_path, publish, edits):
    """An edit of an article's summary (its first paragraph when it has no ``Summary:``, or that line) patches its
    page (meta tags, JSON-LD, share links), the listings and the feeds showing it: output equal to a cold build."""
    conf = {"FEED_MAX_ITEMS": 3}
    if publish:
        conf["SITEURL"] = "https://news.example.org"
    site = tmp_path / "site"
    make_site(site, files(), publish=publish, **conf)
    for number, edit in enumerate(edits):
        edit(site / "content")
        with pelican_runs() as runs:
            run_build(site, publish, **conf)
        assert runs == [], f"edit {number + 1} ran a full build"
        assert_equals_cold_build(site, publish, **conf)
    assert_a_full_build_after_patches_equals_cold_build(site, publish, conf)


def test_listings_a_full_build_keeps_carry_their_records_to_the_next_summary_edit(tmp_path, monkeypatch):
    """A listing kept by a full build (its key unchanged, so the same stories: ``Recorder.carry_page``) carries the
    last build's records of where it shows their summaries unread; a summary edit after that build patches such a
    listing to what a cold build makes."""
    from incremental import IncrementalWriter

    kept: list[str] = []
    keeps = IncrementalWriter.keeps

    def spy(self, key, localcontext, global_context):
        made = keeps(self, key, localcontext, global_context)
        if made and localcontext.get("article") is None:
            kept.append(localcontext["output_file"])
        return made

    monkeypatch.setattr(IncrementalWriter, "keeps", spy)
    site = tmp_path / "site"
    make_site(site, files())
    replace_in(site / "content", "articles/2026/story-6.md", "Title: Story 6", "Title: Story six")  # a full build
    with pelican_runs() as runs:
        run_build(site)
    assert runs
    # listings without story 6 that list story 5 (its official's page among them)
    showing = [name for name in kept if "story-5/" in (site / "output" / name).read_text(encoding="utf-8")]
    assert showing, kept
    replace_in(site / "content", "articles/2026/story-5.md", "Body of story 5.", "Changed: the plan & its <costs>.")
    before = {name: (site / "output" / name).read_bytes() for name in showing}
    with pelican_runs() as runs:
        run_build(site)
    assert runs == []  # the body-edit path, from the records carried
    assert all((site / "output" / name).read_bytes() != before[name] for name in showing)
    assert_equals_cold_build(site)


UNRECORDED_SUMMARY_PLACES = {
    # the article page shows it once more, in an ``abstract`` meta tag
    "article page": ("article.html", "{% block meta %}\n",
                     '{% block meta %}\n<meta name="abstract" content="{{ article.summary }}">\n'),
    # listings show it twice per story
    "listing": ("partials/article_list_item.html", "</li>",
                '<p class="app-list__summary">{{ item.summary }}</p></li>'),
}


@pytest.mark.parametrize("template, old, new", UNRECORDED_SUMMARY_PLACES.values(), ids=UNRECORDED_SUMMARY_PLACES.keys())
def test_a_summary_shown_where_it_is_not_recorded_takes_a_full_build(tmp_path, template, old, new):
    """A theme that shows the summary somewhere the body-edit path does not know: an edit of the summary takes a
    full build, whose output is right; an edit of the body alone is still patched."""
    overrides = tmp_path / "templates"
    (overrides / template).parent.mkdir(parents=True, exist_ok=True)
    text = (REPO_ROOT / "theme/templates" / template).read_text(encoding="utf-8")
    assert old in text
    (overrides / template).write_text(text.replace(old, new, 1), encoding="utf-8")
    conf = {"THEME_TEMPLATES_OVERRIDES": [str(overrides)]}
    site = tmp_path / "site"
    make_site(site, files(), **conf)
    replace_in(site / "content", "articles/2026/story-5.md", "Body of story 5.", "A new first sentence.")
    with pelican_runs() as runs:
        run_build(site, **conf)
    assert len(runs) == 1
    assert_equals_cold_build(site, **conf)
    append_to_body(site / "content", "articles/2026/story-5.md", "A correction.")
    with pelican_runs() as runs:
        run_build(site, **conf)
    assert runs == []
    assert_equals_cold_build(site, **conf)


FULL_BUILD_EDITS = {
    "body gains an image": lambda c: append_to_body(c, "articles/2026/story-4.md",
                                                    "![A tram]({static}/images/tram.png)"),
    "metadata": edit_metadata,
    "two articles": lambda c: [append_to_body(c, f"articles/2026/story-{n}.md", "A correction.") for n in (4, 6)],
    "a registry entry": edit_registry,
}


@pytest.mark.parametrize("edit", FULL_BUILD_EDITS.values(), ids=FULL_BUILD_EDITS.keys())
def test_edits_beyond_one_body_take_a_full_build(tmp_path, edit):
    from PIL import Image

    site = tmp_path / "site"
    make_site(site, files())
    (site / "content" / "images").mkdir()
    Image.new("RGB", (40, 30), (200, 40, 40)).save(site / "content" / "images" / "tram.png")
    run_build(site)  # the image is a new input of its own
    edit(site / "content")
    with pelican_runs() as runs:
        run_build(site)
    assert len(runs) == 1
    assert_equals_cold_build(site)


def test_a_body_edit_with_an_error_stops_like_a_full_build(tmp_path):
    """A broken link in the new body: the full build reports it as ``path:line:`` and the last output stays."""
    from tests.support.sites import SiteBuildError

    site = make_site(tmp_path, files())
    before = digests(site.output)
    append_to_body(site.content, "articles/2026/story-4.md", "See [the plan]({filename}/articles/2026/no-such.md).")
    with pytest.raises(SiteBuildError) as failure:
        make_site(tmp_path, {})
    assert "content/articles/2026/story-4.md:" in failure.value.log and "no-such.md" in failure.value.log
    assert digests(site.output) == before


def rename_official(content: Path) -> None:
    # every article naming Tao Minghui (by a name that is now an alias) shows the new name: a new face
    path = content / "officials/tao-minghui.md"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "Title: Tao Minghui\nAliases: 陶明辉, Tao Ming Hui", "Title: Tao Ming-hui\nAliases: 陶明辉, Tao Ming Hui, Tao Minghui"),
        encoding="utf-8")


def saved_faces(root: Path) -> dict[str, str]:
    from incremental import snapshot

    return snapshot.load_manifest({"CACHE_PATH": str(root / "cache")})["quick"]["faces"]


@pytest.mark.parametrize(("edit", "settings", "faces_changed"), [
    (edit_metadata, {}, {"articles/2026/story-5.md"}),
    (rename_official, {}, {f"articles/2026/story-{n}.md" for n in (1, 2, 4, 5, 7)}),
    (None, {"DEFAULT_CATEGORY": "Policy"}, {f"articles/2026/{name}.md" for name in (*(f"story-{n}" for n in range(8)),
                                                                                 "story-1.zh")}),
], ids=["an article", "a registry entry", "a setting"])
def test_faces_kept_from_the_last_build_are_those_a_cold_build_records(tmp_path, edit, settings, faces_changed):
    """``quick.Recorder.known_faces``: after an edit of articles alone, the others keep the faces the last build
    recorded; after any other edit every face is made again. Either way they are a cold build's, and so is the
    output: a setting the reader applies (the default section) is not served from the reader cache as it was."""
    warm = tmp_path / "warm"
    make_site(warm, files())
    before = saved_faces(warm)
    if edit is not None:
        edit(warm / "content")
    run_build(warm, **settings)
    cold = tmp_path / "cold"
    shutil.copytree(warm / "content", cold / "content")
    run_build(cold, **settings)
    assert digests(warm / "output") == digests(cold / "output")
    after = saved_faces(warm)
    assert after == saved_faces(cold)
    assert {path for path in after if after[path] != before.get(path)} == faces_changed


def test_the_share_record_names_the_link_networks_without_making_the_links(monkeypatch):
    """``quick.Recorder.share_record``: what the body-edit path remakes an article's share links from, asked of
    ``share.ShareLinks`` without making each link again (once per article page of a cold build)."""
    from types import SimpleNamespace

    import share
    from incremental.quick import Recorder
    from share.networks import ShareTarget

    target = ShareTarget(url="https://lanhai.example/2026/01/a/", title="A & B", summary="Summary", site_name="Lanhai",
                         image="", lang="en")
    links = share.ShareLinks(target, ("wechat", "weibo", "copy", "x", "email", "native"), ("qr/a.png", 120))
    expected = [link.key for link in links if link.kind == "link"]

    def no_links(*args):
        raise AssertionError("share links made again")

    monkeypatch.setattr(share, "share_links", no_links)
    record = pickle.loads(Recorder.share_record(SimpleNamespace(share=links, share_target=target)))
    assert record == {"target": {"url": target.url, "title": "A & B", "site_name": "Lanhai", "image": "",
                                 "lang": "en"}, "keys": expected}
    assert "weibo" in expected and "wechat" not in expected and "copy" not in expected
