"""search: a Pagefind index of every article body, and the search pages that use it.

Adds ``search/`` in each interface language (``search/``, ``zh/search/``; template ``search.html``, script
``theme/js/search.js``), then, once the whole site is written, indexes with Pagefind (``pagefind[extended]``,
which segments Chinese) every page that carries ``data-pagefind-body`` (the ``<article>`` of article pages);
filters and metadata come from ``partials/search_filters.html``.

The index is sharded so that a rebuild re-indexes only what changed. Pages are grouped by Pagefind language
(the lowercased ``<html lang>``: ``en``, ``zh-cn``) and by the year of their ``YYYY/MM/slug/`` URL (a
language prefix such as ``zh/`` is allowed); a year holding more than ``SEARCH_SHARD_MAX_PAGES`` pages of one
language is split by month, and pages outside dated folders form an ``<lang>-other`` shard. Output layout:

- ``pagefind/``: the primary bundle, Pagefind's runtime (``pagefind.js``, worker, WebAssembly) and the newest
  shard of every language, so a search page needs one import for the common case of recent news;
- ``pagefind/shards/<lang>-<year>/``: every other shard, index data only (the primary's runtime searches it);
- ``pagefind/shards.json``: which shards each language's search page merges (``pagefind.mergeIndex``), newest
  first. Shards hold one language each, because Pagefind falls back to *another* language's records when a
  merged bundle lacks the page's language.

Pagefind is given each page's search copy (``search_copy``: the ``<html>`` tag and the marked element). Each unit
(the primary, each other shard) is cached under ``CACHE_PATH/search/shards/<key>/``, ``key`` being a hash of its
pages (paths and search copies), Pagefind's version, options and the canonical format; only units whose key changed
run Pagefind (several at once, each on a staging folder of exactly its pages' copies, in memory where the system
has it: ``SEARCH_STAGING_PATH``), and cache entries this build did not use are deleted. A page changed outside its
article (navigation, related stories) re-indexes nothing. Pagefind's filter and metadata files are rewritten in a
canonical order (``canonical.py``), so the output is byte-identical to a cold build's.

Pagefind starts early, once the articles generator has written every article page (``article_writer_finalized``),
in a process of its own (``early.py``), one unit at a time, while the other generators write the rest of the site
on one core: that run only fills the cache of unit bundles. It waits, a bare interpreter, for the incremental
plugin's pre-rendering child to end before it reads a page. The run at ``finalized`` plans again from the finished
output and runs Pagefind for any unit not cached by then or whose pages changed since, so the index is the same
whatever was written by then.

Signals: ``get_generators`` (returns ``pages.SearchPageGenerator``), ``article_writer_finalized`` (starts indexing),
``finalized`` (indexes).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from itertools import chain
from pathlib import Path

from content_model.output import files_under, link_file, link_tree, write_atomically
from content_model.workers import busy_helpers, process_ended, usable_cores

from .canonical import CANONICAL_FORMAT, ENTRY_FILE, BundleFormatError, canonicalise_bundle

logger = logging.getLogger(__name__)

DEFAULTS = {
    # Run Pagefind after every build (off: the search pages are still written, the index is not).
    "SEARCH_PAGEFIND": True,
    # Folder of the bundle inside the output, and so its URL path.
    "SEARCH_BUNDLE_DIR": "pagefind",
    # Extra command-line options for Pagefind, e.g. ["--exclude-selectors", ".app-credits"].
    "SEARCH_PAGEFIND_OPTIONS": [],
    # Results shown per "Show more" step on the search page.
    "SEARCH_PAGE_SIZE": 10,
    # A year with more pages than this in one language is sharded by month instead.
    "SEARCH_SHARD_MAX_PAGES": 1000,
    # Pagefind runs at once when several shards changed (0: one per core).
    "SEARCH_WORKERS": 0,
    # Start indexing the article pages, one shard at a time, as soon as they are written (see start_early_index)...
    "SEARCH_EARLY": True,
    # ... when there are at least this many (a Python process costs more than indexing a small site).
    "SEARCH_EARLY_MIN_PAGES": 200,
    # ... and leaves a unit of more pages than this to the final run (0: no limit). Pagefind holds about 0.2 MB a
    # page (Chinese, 60 MB more): the early run's beside the build's model, the final run's, in a command-line
    # build, without it (content_model.finish). At 10,000 articles the primary (1,027 pages, 250 MB of Pagefind)
    # beside the model made a metadata edit's peak.
    "SEARCH_EARLY_MAX_PAGES": 800,
    # Where the copies of the pages Pagefind reads are staged, for the seconds it reads them. Empty: memory
    # (``/dev/shm``) where the system has it, since making and removing 10,000 folders and files there costs a sixth
    # of what it costs on disk; else the search cache. A unit that would not leave half of it free, or does not
    # fit, is staged in the cache.
    "SEARCH_STAGING_PATH": "",
}


def search_settings(settings: dict) -> dict:
    """Every setting this plugin reads, with its default."""
    return {key: settings.get(key, default) for key, default in DEFAULTS.items()}


class SearchError(RuntimeError):
    """Pagefind failed; the message carries its output."""


# Bump when the sharding, the staging or the output layout changes, so cached units of an older rule are unused.
SHARD_FORMAT = 1
MANIFEST_FILE = "shards.json"
SHARDS_DIR = "shards"
# What a merged shard needs: the rest of a Pagefind bundle (pagefind.js, its worker, WebAssembly, the prebuilt
# UIs) is only ever loaded from the primary bundle.
SHARD_DATA_DIRS = ("index", "fragment", "filter")

# An element (not text: text cannot hold a raw "<") carrying the attribute Pagefind restricts indexing to.
BODY_MARKER = re.compile(rb"<[A-Za-z][^<>]*\sdata-pagefind-body[\s=/>]")
BODY_ATTRIBUTE = b"data-pagefind-body"
HTML_TAG = re.compile(rb"<html\b[^<>]*>", re.IGNORECASE)
TAG_NAME = re.compile(rb"[A-Za-z][A-Za-z0-9-]*")
# Bump when ``search_copy`` changes what Pagefind is given: cached bundles made from other copies are not used.
SEARCH_COPY_FORMAT = 1
HTML_LANG = re.compile(rb"<html\b[^>]*?\slang\s*=\s*[\"']?([^\"'\s>]+)", re.IGNORECASE)
# ARTICLE_URL / ARTICLE_LANG_URL: YYYY/MM/slug/, optionally under one language folder (zh/YYYY/MM/slug/).
DATED_PATH = re.compile(r"^(?:[^/]+/)?(\d{4})/(\d{2})/")


@functools.lru_cache(maxsize=1)
def pagefind_version() -> str:
    try:
        return metadata.version("pagefind")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class IndexedPage:
    """One page Pagefind indexes: its path in the output, Pagefind language key, URL date, its search copy's hash."""

    path: str
    lang: str
    year: str  # "" outside dated folders
    month: str
    digest: str


@dataclass(frozen=True)
class Shard:
    """Pages of one language and one period; ``order`` sorts newest first (dated before undated)."""

    lang: str
    label: str
    pages: tuple[IndexedPage, ...]

    @property
    def name(self) -> str:
        return f"{self.lang}-{self.label}"

    @property
    def order(self) -> tuple[bool, str]:
        return (self.label != "other", self.label)


@dataclass(frozen=True)
class Unit:
    """One Pagefind run and one cached bundle: the primary (several shards) or one other shard."""

    name: str
    pages: tuple[IndexedPage, ...]
    key: str


def body_marker(page: bytes) -> re.Match | None:
    """``BODY_MARKER.search(page)``, found from the attribute's name back to its tag's "<": the regular expression
    alone tries every "<" of a page (2.5 s over the 20,000 pages of a 10,000-article site, most of them unmarked)."""
    at = page.find(BODY_ATTRIBUTE)
    while at >= 0:
        start = page.rfind(b"<", 0, at)
        match = BODY_MARKER.match(page, start) if start >= 0 else None
        if match is not None:
            return match
        at = page.find(BODY_ATTRIBUTE, at + 1)
    return None


def language_key(head: bytes) -> str:
    """Pagefind's name for a page's index: its ``<html lang>`` lowercased (``zh-CN`` -> ``zh-cn``)."""
    match = HTML_LANG.search(head)
    lang = match.group(1).decode("ascii", "replace").lower() if match else "unknown"
    return lang if re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", lang) else "unknown"


def indexed_pages(output: Path, bundle_dir: str, known: dict | None = None,
                  listing: dict[str, list[int]] | None = None,
                  overrides: dict[str, str] | None = None, only: list[str] | None = None) -> list[IndexedPage]:
    """Every page of the output that Pagefind would index (those marked ``data-pagefind-body``), sorted.

    ``known`` (updated in place) maps each HTML file to what reading it gave last time, with its inode, size and
    modification time: a file with the same three is not read again. Pages kept from the last build by
    ``content_model.output.place`` keep their inode, so an edit build reads only the pages it rewrote.
    ``listing``, when the caller knows it, gives the output's HTML files with those stamps (``[device, inode, size,
    modification time]``): the output is then neither walked nor stat-ed. ``overrides`` names the file to read for
    some pages instead of theirs under ``output``. ``only`` (the early run, ``start_early_index``) names the files
    to look at, while the output is being written: one that vanishes meanwhile is left out, and ``known`` keeps the
    entries of files not named."""
    known = {} if known is None else known
    overrides = overrides or {}
    pages, seen = [], set()
    if only is not None:
        files = only
    elif listing is None:
        files = _html_files(output, bundle_dir)
    else:
        files = sorted((relative for relative in listing if relative.endswith(".html")
                        and not relative.startswith(bundle_dir + "/")), key=lambda relative: relative.split("/"))
    for relative in files:
        seen.add(relative)
        path = overrides.get(relative) or os.path.join(output, relative)
        try:
            if listing is None:
                info = os.stat(path)
                stamp = [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns]
            else:
                stamp = listing[relative]
            entry = known.get(relative)
            if not (isinstance(entry, list) and len(entry) == 6 and entry[:4] == stamp):
                with open(path, "rb") as handle:
                    data = handle.read()
                entry = None
        except FileNotFoundError:
            if only is None:
                raise
            continue
        if entry is None:
            marked = body_marker(data) is not None
            # A unit's key has the bytes Pagefind is given (``search_copy``), not the page's: a change elsewhere on
            # the page (navigation, related stories, share block) re-indexes nothing. Unmarked pages are in none.
            entry = [*stamp, "", ""]
            if marked:
                entry[4:] = [language_key(data[:4096]), hashlib.sha256(search_copy(data)).hexdigest()]
            known[relative] = entry
        lang, digest = entry[4], entry[5]
        if not lang:
            continue
        dated = DATED_PATH.match(relative)
        pages.append(IndexedPage(relative, lang, dated.group(1) if dated else "", dated.group(2) if dated else "",
                                 digest))
    if only is None:
        for gone in set(known) - seen:
            del known[gone]
    return pages


def _html_files(output: Path, bundle_dir: str) -> list[str]:
    """Relative paths of the output's ``.html`` files outside the bundle folder, in the order Path sorts them."""
    found = [relative for relative in files_under(output, {bundle_dir}) if relative.endswith(".html")]
    return sorted(found, key=lambda relative: relative.split("/"))


@functools.cache
def known_pages_version() -> str:
    """What a file's cached answers depend on besides its bytes: this module (the marker and language rules)."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def load_known_pages(path: Path) -> dict:
    """``indexed_pages``'s answers from the last build; nothing when written by other code or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    pages = data.get("pages") if isinstance(data, dict) and data.get("code") == known_pages_version() else None
    return pages if isinstance(pages, dict) else {}


def save_known_pages(path: Path, known: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps({"code": known_pages_version(), "pages": known},
                                      separators=(",", ":")).encode("utf-8"))


def plan_shards(pages: list[IndexedPage], max_pages: int) -> dict[str, list[Shard]]:
    """Shards by language, newest first: one per year, or per month for a year over ``max_pages`` pages."""
    by_year: dict[tuple[str, str], list[IndexedPage]] = defaultdict(list)
    for page in pages:
        by_year[(page.lang, page.year)].append(page)
    shards: dict[str, list[Shard]] = defaultdict(list)
    for (lang, year), members in sorted(by_year.items()):
        if year and len(members) > max_pages:
            by_month: dict[str, list[IndexedPage]] = defaultdict(list)
            for page in members:
                by_month[page.month].append(page)
            shards[lang].extend(Shard(lang, f"{year}-{month}", tuple(by_month[month])) for month in sorted(by_month))
        else:
            shards[lang].append(Shard(lang, year or "other", tuple(members)))
    return {lang: sorted(items, key=lambda s: s.order, reverse=True) for lang, items in sorted(shards.items())}


def unit_key(pages: tuple[IndexedPage, ...], options: list[str]) -> str:
    """A hash of everything one bundle depends on: its pages (path and search copy), Pagefind, its options."""
    digest = hashlib.sha256()
    digest.update(f"pagefind {pagefind_version()} canonical-{CANONICAL_FORMAT} shards-{SHARD_FORMAT} "
                  f"search-copy-{SEARCH_COPY_FORMAT} {options!r}\n".encode())
    for page in sorted(pages, key=lambda p: p.path):
        digest.update(f"{page.path}\0{page.digest}\n".encode())
    return digest.hexdigest()


def plan_units(shards: dict[str, list[Shard]], options: list[str]) -> tuple[Unit, list[tuple[Shard, Unit]]]:
    """The primary unit (the newest shard of every language) and one unit per other shard."""
    primary_pages = tuple(page for items in shards.values() for page in items[0].pages)
    primary = Unit("primary", primary_pages, unit_key(primary_pages, options))
    others = [(shard, Unit(shard.name, shard.pages, unit_key(shard.pages, options)))
              for items in shards.values() for shard in items[1:]]
    return primary, others


@functools.lru_cache(maxsize=1)
def pagefind_command() -> tuple[str, ...]:
    """Pagefind's binary (the extended one when installed, as ``python -m pagefind`` chooses), run directly: the
    launcher costs a Python start, a seventh of a second, on every run."""
    try:
        from pagefind.service import get_executable

        executable = get_executable()
    except ImportError:
        executable = None
    return (str(executable),) if executable else (sys.executable, "-m", "pagefind")


def search_copy(page: bytes) -> bytes:
    """What Pagefind reads of a page: its ``<html>`` tag (the language) and the element marked
    ``data-pagefind-body`` (text, title, filters, metadata, sort keys: the theme keeps them all inside it), in a
    minimal document. The page itself when either cannot be found.

    Pagefind then parses about a quarter of the bytes (a quarter less of its time); and a result's image is an
    image of the article, where the whole page gave the first image anywhere on it (the share block's QR code)."""
    html = HTML_TAG.search(page)
    body = body_marker(page)
    if html is None or body is None:
        return page
    tag = re.escape(TAG_NAME.match(page, body.start() + 1).group(0))
    opening = re.compile(rb"<" + tag + rb"[\s/>]", re.IGNORECASE)
    closing = re.compile(rb"</" + tag + rb"\s*>", re.IGNORECASE)
    depth, at = 1, body.end()
    while depth:  # the marked element's end: the closing tag that balances it
        end = closing.search(page, at)
        if end is None:
            return page
        inner = opening.search(page, at, end.start())
        depth, at = (depth + 1, inner.end()) if inner else (depth - 1, end.end())
    return (b"<!DOCTYPE html>\n" + html.group(0) + b'<head><meta charset="utf-8"></head><body>\n'
            + page[body.start():at] + b"\n</body></html>\n")


def run_pagefind(output: Path, destination: Path, options: list[str]) -> None:
    command = [*pagefind_command(), "--site", str(output), "--output-path", str(destination), "--silent", *options]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not (destination / "pagefind.js").is_file():
        raise SearchError(
            f"Pagefind failed (exit {result.returncode}) indexing {output}:\n{result.stdout}{result.stderr}".rstrip()
        )


# A staging folder's name: this prefix, the staging process's id, the unit's name.
STAGING_PREFIX = "portal-search-pages-"
# ... and a Pagefind run's work folder in the cache (its bundle before it is stored), likewise.
RUN_PREFIX = "run-"


# The system's shared memory, where pages are staged unless the settings name a folder.
MEMORY = Path("/dev/shm")


def staging_root(options: dict, cache: Path) -> Path:
    """Where units' pages are staged for Pagefind (``SEARCH_STAGING_PATH``), with the staging folders of processes
    that ended without removing theirs (killed) removed: in memory, nothing else gives that memory back."""
    if options.get("SEARCH_STAGING_PATH"):
        root = Path(options["SEARCH_STAGING_PATH"])
        root.mkdir(parents=True, exist_ok=True)
    else:
        if not (MEMORY.is_dir() and os.access(MEMORY, os.W_OK | os.X_OK)):
            return cache
        root = MEMORY
    remove_ended_runs(root, STAGING_PREFIX)
    return root


def remove_ended_runs(root: Path, prefix: str) -> None:
    """Remove the folders under ``root`` named ``<prefix><pid>-...`` whose process ended without removing them (a
    killed build): staged pages (``STAGING_PREFIX``) and Pagefind's work folders in the cache (``RUN_PREFIX``)."""
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return
    for entry in entries:
        owner = entry.name[len(prefix):].split("-", 1)[0]
        if entry.name.startswith(prefix) and owner.isdigit() and process_ended(int(owner)):
            shutil.rmtree(entry.path, ignore_errors=True)


def staging_has_room(staging: Path, output: Path, unit: Unit, overrides: dict[str, str] | None) -> bool:
    """Whether ``unit``'s pages leave half of the shared memory free when staged there (``MEMORY``; a folder the
    settings name is used as it is): a container's ``/dev/shm`` is often 64 MB, which other programs need too (a
    browser's renderer), and filling it only to find that the unit does not fit meant copying it twice. The pages'
    own sizes bound their search copies."""
    if staging != MEMORY:
        return True
    try:
        stats = os.statvfs(staging)
        need = sum(os.stat((overrides or {}).get(page.path) or output / page.path).st_size for page in unit.pages)
    except OSError:
        return True  # left to the copy, which falls back to disk when memory is full
    return stats.f_bavail * stats.f_frsize - need >= stats.f_blocks * stats.f_frsize // 2


def stage_pages(output: Path, unit: Unit, site: Path, overrides: dict[str, str] | None, early: bool) -> bool:
    """Write the search copies (``search_copy``) of ``unit``'s pages under ``site`` at their output paths, so that
    Pagefind sees only them and gives them their site URLs. False when ``early`` and a page is gone or no longer
    holds what the unit was planned from."""
    made: set[Path] = set()
    for page in unit.pages:
        staged = site / page.path
        if staged.parent not in made:
            staged.parent.mkdir(parents=True, exist_ok=True)
            made.add(staged.parent)
        try:
            copy = search_copy(Path((overrides or {}).get(page.path) or output / page.path).read_bytes())
        except FileNotFoundError:
            if early:
                return False
            raise
        if early and hashlib.sha256(copy).hexdigest() != page.digest:
            return False
        staged.write_bytes(copy)
    return True


def index_unit(output: Path, unit: Unit, cache: Path, options: list[str],
               overrides: dict[str, str] | None = None, early: bool = False, staging: Path | None = None) -> None:
    """Run Pagefind over exactly ``unit``'s pages, staged under ``staging`` (``staging_root``; default the cache),
    and store the canonical bundle at ``cache/shards/<key>``. ``early`` (``start_early_index``: the output is being
    written): a page that no longer holds what the unit was planned from leaves the unit uncached."""
    work = Path(tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{os.getpid()}-{unit.name}-", dir=cache))
    site = work / "site"
    try:
        if staging is not None and staging != cache and staging_has_room(staging, output, unit, overrides):
            site = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-{unit.name}-", dir=staging))
        try:
            staged = stage_pages(output, unit, site, overrides, early)
        except OSError as exc:
            if exc.errno != errno.ENOSPC or site.parent == work:
                raise
            shutil.rmtree(site, ignore_errors=True)  # memory is full: stage on disk
            site = work / "site"
            staged = stage_pages(output, unit, site, overrides, early)
        if not staged:
            return
        run_pagefind(site, work / "pagefind", options)
        try:
            canonicalise_bundle(work / "pagefind")
        except BundleFormatError as exc:
            raise SearchError(f"Pagefind {pagefind_version()} wrote a bundle this plugin cannot read: {exc}") from exc
        target = cache / "shards" / unit.key
        shutil.rmtree(target, ignore_errors=True)
        os.replace(work / "pagefind", target)
    finally:
        shutil.rmtree(site, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


def copy_shard_data(source: Path, target: Path) -> None:
    """A merged shard's data: entry, metadata and the chunk folders, not Pagefind's runtime."""
    target.mkdir(parents=True)
    for item in sorted(source.iterdir()):
        if item.name == ENTRY_FILE or item.name.endswith(".pf_meta"):
            link_file(item, target / item.name)
        elif item.is_dir() and item.name in SHARD_DATA_DIRS:
            link_tree(item, target / item.name)


def manifest_text(shards: dict[str, list[Shard]]) -> str:
    """``shards.json``: per Pagefind language, the bundles a search page merges into the primary one (folders
    relative to the bundle folder), newest first; ``primary`` names the shards the primary bundle holds (for
    people reading the output; the search page does not need it)."""
    manifest = {
        "format": SHARD_FORMAT,
        "primary": [items[0].name for items in shards.values()],
        "languages": {lang: [f"{SHARDS_DIR}/{shard.name}/" for shard in items[1:]] for lang, items in shards.items()},
    }
    return json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def make_units(options: dict, cache: Path, read_from: Path, listing: dict[str, list[int]] | None = None,
               overrides: dict[str, str] | None = None, only: list[str] | None = None,
               stop: threading.Event | None = None):
    """Plan the shards of the pages under ``read_from`` and run Pagefind for every unit whose bundle is not cached
    (``cache/shards/<key>``). Returns (shards, primary unit, [(shard, unit)], units Pagefind ran for), or None when
    no page is marked. ``indexed_pages``'s answers are the last run's, from the cache, and saved there again.

    The early run (``start_early_index``) passes ``only``, its pages (see ``indexed_pages``), and ``stop``: it
    runs one Pagefind at a time (the other core writes the site), and starts none once ``stop`` is set (the final
    run, with every core, takes over)."""
    plan = plan_index(options, cache, read_from, listing, overrides, only)
    return None if plan is None else run_units(plan, options, cache, read_from, overrides, stop)


def plan_index(options: dict, cache: Path, read_from: Path, listing: dict[str, list[int]] | None = None,
               overrides: dict[str, str] | None = None, only: list[str] | None = None):
    """``make_units``'s first half: the pages, read, and their shards and units, without a Pagefind run. (shards,
    primary unit, [(shard, unit)]), or None when no page is marked."""
    known = load_known_pages(cache / "pages.json")
    pages = indexed_pages(read_from, options["SEARCH_BUNDLE_DIR"], known, listing, overrides, only)
    save_known_pages(cache / "pages.json", known)
    if not pages:
        return None
    shards = plan_shards(pages, max(1, int(options["SEARCH_SHARD_MAX_PAGES"])))
    primary, others = plan_units(shards, list(options["SEARCH_PAGEFIND_OPTIONS"]))
    return shards, primary, others


def run_units(plan, options: dict, cache: Path, read_from: Path, overrides: dict[str, str] | None = None,
              stop: threading.Event | None = None):
    """``make_units``'s second half: Pagefind for each unit of ``plan`` whose bundle is not cached, as it is now."""
    shards, primary, others = plan
    pagefind_options = list(options["SEARCH_PAGEFIND_OPTIONS"])
    units = [primary] + [unit for _, unit in others]
    (cache / "shards").mkdir(parents=True, exist_ok=True)
    remove_ended_runs(cache, RUN_PREFIX)
    stale = [unit for unit in units if not (cache / "shards" / unit.key / ENTRY_FILE).is_file()]
    staging = staging_root(options, cache)
    if stop is not None:
        # Smallest first, up to SEARCH_EARLY_MAX_PAGES: the largest (the primary, with the newest shard of every
        # language: 250 MB of Pagefind at 10,000 articles) is left to the final run.
        ran = []
        most = int(options["SEARCH_EARLY_MAX_PAGES"]) or float("inf")
        for unit in sorted(stale, key=lambda unit: len(unit.pages)):
            if stop.is_set() or len(unit.pages) > most:
                break
            index_unit(read_from, unit, cache, pagefind_options, overrides, early=True, staging=staging)
            ran.append(unit)
        return shards, primary, others, ran
    if stale:
        workers = min(len(stale), int(options["SEARCH_WORKERS"]) or usable_cores())
        with ThreadPoolExecutor(max_workers=workers) as pool:
            # list(): raise the first failure (after the other runs ended) rather than drop it
            list(pool.map(lambda unit: index_unit(read_from, unit, cache, pagefind_options, overrides,
                                                  staging=staging), stale))
    return shards, primary, others, stale


@dataclass
class EarlyIndex:
    """``start_early_index``'s run: a Python process (``early.py``), its own interpreter, so that reading and
    staging ten thousand pages does not take turns with the writing process at one lock. Once the build's process
    became its finisher (``finish_index``), the run is known by its process id alone (still a child of the same
    process)."""

    process: subprocess.Popen | int
    job: Path  # the file telling it its job, removed once it ends; its answer and messages go beside it

    def end(self) -> tuple[int, bytes, bytes]:
        """Stop it from starting another Pagefind run, wait for it: (exit code, answer, messages)."""
        process = self.process
        if isinstance(process, int):
            # a child not yet waited for: its process id cannot be another process's
            with contextlib.suppress(ProcessLookupError):
                os.kill(process, signal.SIGUSR1)
            try:
                code = os.waitstatus_to_exitcode(os.waitpid(process, 0)[1])
            except ChildProcessError:  # not ours, or already waited for: its answer file tells
                code = 0
            out = err = None
        else:
            process.send_signal(signal.SIGUSR1)  # (nothing once it was waited for)
            out, err = process.communicate()
            code = process.returncode
        answer, messages = self.job.with_suffix(".out"), self.job.with_suffix(".err")
        if out is None:
            out = answer.read_bytes() if answer.is_file() else b""
        if err is None:
            err = messages.read_bytes() if messages.is_file() else b""
        for path in (self.job, answer, messages):
            path.unlink(missing_ok=True)
        return code, out, err


# The early run of the build in progress, if any, and the file (in the search cache) that tells it its job.
EARLY: list[EarlyIndex] = []
EARLY_JOB = "early-job.json"
# Run as a script, not ``-m search.early``: it waits before it imports this package (see early.py).
EARLY_COMMAND = (sys.executable, str(Path(__file__).resolve().with_name("early.py")))


def start_early_index(generator, writer=None) -> None:
    """Index the article pages while the rest of the site is written: Pelican writes every article page in the
    articles generator's ``generate_output``, and the listing pages, feeds and sitemaps after it use one core.

    The run only fills the cache of unit bundles (``make_units``), one Pagefind at a time; ``build_index`` at
    ``finalized`` stops it from starting another, plans again from the finished output and runs Pagefind (on every
    core) for each unit not cached by then, or whose pages changed since (a marked page written later): the result
    never depends on what was written by then. A failure of the early run is left to that run to report."""
    finish_early_index()
    options = search_settings(generator.settings)
    if not (options["SEARCH_PAGEFIND"] and options["SEARCH_EARLY"] and hasattr(signal, "SIGUSR1")):
        return
    written = chain(generator.articles, generator.translations, generator.hidden_articles,
                    generator.hidden_translations, generator.drafts, generator.drafts_translations)
    pages = sorted({article.save_as for article in written if (article.save_as or "").endswith(".html")},
                   key=lambda relative: relative.split("/"))
    if not pages or len(pages) < int(options["SEARCH_EARLY_MIN_PAGES"]):
        return
    cache = Path(generator.settings["CACHE_PATH"]).resolve() / "search"
    job = cache / EARLY_JOB
    plugins = str(Path(__file__).resolve().parent.parent)
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [plugins, os.environ.get("PYTHONPATH")])))
    try:
        cache.mkdir(parents=True, exist_ok=True)
        # A pre-rendering child still at work holds a core and much memory: the early run waits for it to end
        # before it reads a page (early.py).
        write_atomically(job, json.dumps({"options": options, "cache": str(cache), "pages": pages,
                                          "output": str(Path(generator.output_path).resolve()),
                                          "wait_for": busy_helpers()}).encode("utf-8"))
        # Files, not pipes: the build's process may become its finisher (``finish_index``) before this run ends.
        with open(job.with_suffix(".out"), "wb") as out, open(job.with_suffix(".err"), "wb") as err:
            process = subprocess.Popen([*EARLY_COMMAND, str(job)], env=environment, stdin=subprocess.DEVNULL,
                                       stdout=out, stderr=err)
    except OSError as exc:
        logger.debug("search: no early index (%s); the final run makes it all", exc)
        return
    EARLY.append(EarlyIndex(process, job))


def finish_early_index() -> list[str]:
    """Stop the early run from starting another Pagefind, wait for it: the names of the units it ran Pagefind
    for."""
    ran: list[str] = []
    while EARLY:
        code, out, err = EARLY.pop().end()
        if code == 0:
            with contextlib.suppress(ValueError):
                ran += json.loads(out or b"[]")
        else:
            logger.debug("search: the early index stopped (exit %s: %s); the final run makes what it lacks",
                         code, err.decode("utf-8", "replace").strip()[-2000:])
    return ran


def build_index(pelican, listing: dict[str, list[int]] | None = None,
                changed: list[str] | None = None, source: Path | None = None,
                overrides: dict[str, str] | None = None,
                output_ready: Callable[[], bool] | None = None) -> list[str] | None:
    """Index the written site. A caller that patched a few pages of the last build's output in place (the
    incremental plugin's body-edit path) passes ``listing`` (see ``indexed_pages``) and ``changed``, those pages:
    then only the bundle folders of units holding a changed page are replaced, and their output-relative paths
    (ending in "/") returned. None when the bundle was made anew.

    Such a caller may also index before the output is in place: pages are then read from ``source`` (a folder
    holding the same files), or from the file ``overrides`` names for a page, and the output is touched only once
    ``output_ready()`` returned True (nothing is placed, and None returned, when it returns False)."""
    options = search_settings(pelican.settings)
    if not options["SEARCH_PAGEFIND"]:
        finish_early_index()
        return []
    output = Path(pelican.output_path).resolve()
    bundle = output / options["SEARCH_BUNDLE_DIR"]
    cache = Path(pelican.settings["CACHE_PATH"]).resolve() / "search"
    read_from = Path(source).resolve() if source is not None else output
    # The site is written: its pages are read and planned while the early run may still be in a Pagefind run (it
    # indexes one unit at a time from when the pre-rendering child ends: in a cold build, still at it now); which
    # units are cached is asked only once it has ended.
    try:
        plan = plan_index(options, cache, read_from, listing, overrides)
    finally:
        ran_early = finish_early_index()
    planned = None if plan is None else run_units(plan, options, cache, read_from, overrides)
    if planned is None:
        if output_ready is not None and not output_ready():
            return None
        shutil.rmtree(bundle, ignore_errors=True)
        # A site without articles: no bundle (the search page says search is unavailable), just the manifest.
        bundle.mkdir(parents=True)
        (bundle / MANIFEST_FILE).write_text(manifest_text({}), encoding="utf-8")
        logger.info("search: no page carries data-pagefind-body; nothing to index")
        return None
    shards, primary, others, stale = planned
    units = [primary] + [unit for _, unit in others]
    ran = sorted(set(ran_early) & {unit.name for unit in units} | {unit.name for unit in stale})
    logger.info("search: Pagefind ran for %d of %d shard bundle(s)%s", len(ran), len(units),
                f" ({', '.join(ran)})" if ran else "")

    used = {unit.key for unit in units}
    for entry in sorted((cache / "shards").iterdir()):
        if entry.name not in used:
            shutil.rmtree(entry, ignore_errors=True)
    for legacy in (cache / "bundle", cache / "bundle.key"):  # the single bundle of the unsharded index
        if legacy.is_dir():
            shutil.rmtree(legacy, ignore_errors=True)
        else:
            legacy.unlink(missing_ok=True)

    manifest = manifest_text(shards)
    if output_ready is not None and not output_ready():
        return None
    if changed is not None and _read_text(bundle / MANIFEST_FILE) == manifest:
        # The same shards over the same pages: only the units holding a changed page differ from the bundle.
        touched, replaced = set(changed), []
        folder = options["SEARCH_BUNDLE_DIR"].strip("/")
        if any(page.path in touched for page in primary.pages):
            for entry in sorted(bundle.iterdir()):
                if entry.is_dir() and entry.name != SHARDS_DIR:
                    shutil.rmtree(entry)
                elif not entry.is_dir() and entry.name != MANIFEST_FILE:
                    entry.unlink()
            link_tree(cache / "shards" / primary.key, bundle, dirs_exist_ok=True)
            replaced.append(f"{folder}/")
        for shard, unit in others:
            if any(page.path in touched for page in unit.pages):
                shutil.rmtree(bundle / SHARDS_DIR / shard.name, ignore_errors=True)
                copy_shard_data(cache / "shards" / unit.key, bundle / SHARDS_DIR / shard.name)
                replaced.append(f"{folder}/{SHARDS_DIR}/{shard.name}/")
        return replaced
    # Otherwise the bundle folder is replaced whole, so nothing of an earlier build survives.
    shutil.rmtree(bundle, ignore_errors=True)
    link_tree(cache / "shards" / primary.key, bundle)
    for shard, unit in others:
        copy_shard_data(cache / "shards" / unit.key, bundle / SHARDS_DIR / shard.name)
    (bundle / MANIFEST_FILE).write_text(manifest, encoding="utf-8")
    return None


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None

def on_finalized(pelican, **patched) -> list[str] | None:
    """``finalized``; also called by the incremental plugin's body-edit path with ``build_index``'s options. A
    command-line build hands the index over to its finisher (``content_model.finish``), which runs Pagefind
    without the build's model in memory."""
    from content_model import finish

    options = search_settings(pelican.settings)
    if not patched and options["SEARCH_PAGEFIND"] and finish.hand_over("search", {
            "settings": {**options, "CACHE_PATH": str(Path(pelican.settings["CACHE_PATH"]).resolve())},
            "output": str(Path(pelican.output_path).resolve()),
            "early": [[early.process if isinstance(early.process, int) else early.process.pid, str(early.job)]
                      for early in EARLY]}, folders=[options["SEARCH_BUNDLE_DIR"].strip("/") + "/"]):
        return None  # (the early runs stay listed: should the build fail before its process becomes the finisher,
        # the next build in this process waits for them, start_early_index)
    try:
        return build_index(pelican, **patched)
    except SearchError as exc:
        logger.error("%s", exc)
        return None


def finish_index(job: dict) -> None:
    """The finisher's step (``content_model.finish``): ``on_finalized``'s index, from the job it handed over."""
    from types import SimpleNamespace

    EARLY.extend(EarlyIndex(pid, Path(path)) for pid, path in job["early"])
    on_finalized(SimpleNamespace(settings=job["settings"], output_path=job["output"]))


def get_generators(pelican):
    from .pages import SearchPageGenerator

    return SearchPageGenerator


def register() -> None:
    """Hook ``get_generators`` (the search pages, written like every listing page), ``finalized`` (the index is
    of the whole site written; ``finalized`` is the first moment it is) and ``article_writer_finalized`` (every
    article page is written: Pagefind can start on them while the rest of the site is written). Pelican is
    imported here and by the search pages' generator (``pages``), not by this module: the early run's process
    (``early.py``), which runs beside the build's two, holds 20 MB less without it."""
    from pelican import signals

    signals.get_generators.connect(get_generators)
    signals.article_writer_finalized.connect(start_early_index)
    signals.finalized.connect(on_finalized)
