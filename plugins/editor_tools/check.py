"""`invoke check`: every problem in the content, one line each, without building the site.

Each content file is parsed at most once; headers are parsed and validated by ``content_model.model`` (the same code the
build runs); bodies are scanned with regular expressions for images and ``{filename}``/``{static}`` links (no
Markdown rendering); the registries are loaded once. Cross-file checks (duplicate slugs and output files,
translations without an original, registry entries no article names) need every header, so they are always read
whole; the PATHs given only restrict which files' problems are reported.

Rules that are ours rather than Pelican's, stated once here:
- A translation is an article marked ``Translation: true``. It needs an original: another article with the same
  slug that is not marked. An article in another language with no counterpart and no ``Translation`` line is a
  stand-alone article (the Chinese-only articles in content/ are), not an error.
- Two articles collide when they share language and slug, or when they would be written to the same file.

`invoke check` (``run``) keeps each file's result in a cache (``check_cache``): a file whose bytes, and whose
links' targets, are as they were is not parsed again, and the cross-file checks run over the cached facts. The
output is the same with or without it; ``Checker(root)`` alone does not cache. When at least ``PARALLEL_MIN_FILES``
files need validating, forked workers (one per core) validate them, in order, and the parent merges their results:
the report and the cache are the same as from one process.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import fnmatch
import gc
import json
import multiprocessing
import os
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import unquote

from . import check_cache
from .common import (
    NEW_HINTS_MARKER,
    NEW_PLACEHOLDER,
    STATUSES,
    SiteSettings,
    ToolError,
    content_root,
    model,
    shown_path,
    site_settings,
)

Problem = model.Problem

# Files that look like articles but are not read by the site (only .md is).
NOT_READ_EXTENSIONS = {".txt", ".markdown", ".mdown", ".mkd", ".rst", ".html", ".htm", ".doc", ".docx", ".rtf"}
CODE_FENCE = re.compile(r"^[ ]{0,3}(```|~~~)[^\n]*\n.*?(?:^[ ]{0,3}\1[ \t]*$|\Z)", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
MD_IMAGE = re.compile(r"!\[(?P<alt>[^\]\n]*)\]\(\s*(?P<target><[^>\n]*>|[^)\s]*)(?:\s+[\"'(][^)\n]*)?\)")
MD_REF_IMAGE = re.compile(r"!\[(?P<alt>[^\]\n]*)\]\[(?P<ref>[^\]\n]*)\]")
# A link or, when "!" comes before it, an image (see `md_links`: a look-behind here makes every search ten times slower).
MD_LINK_OR_IMAGE = re.compile(r"\[[^\]\n]*\]\(\s*(?P<target><[^>\n]*>|[^)\s]*)(?:\s+[\"'(][^)\n]*)?\)")
MD_REF_DEFINITION = re.compile(r"^[ ]{0,3}\[(?P<ref>[^\]\n]+)\]:[ \t]*(?P<target><[^>\n]*>|\S+)", re.M)
HTML_TAG = re.compile(r"<(?P<tag>img|a)\b(?P<attrs>[^>]*)>", re.I)
# Files are read and validated in forked worker processes, one per core, when there are at least this many (a fork
# and the results' trip back cost about what validating a few hundred files does).
PARALLEL_MIN_FILES = 600
HTML_ATTR = re.compile(r"""(?P<name>[A-Za-z_:][-\w:.]*)(?:\s*=\s*(?P<value>"[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")
LINK_PREFIX = re.compile(r"^(?:\{(?P<what>filename|static|attach)\}|\|(?P<old>filename|static|attach)\|)")
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|#)", re.I)


@dataclasses.dataclass
class Item:
    """One article or page, as far as the cross-file checks need it (plain values, so the cache can keep them)."""

    kind: str  # "article" or "page"
    shown: str
    lang: str
    slug: str
    status: str
    translation: bool
    slug_line: int
    translation_line: int
    output: str | None  # the file Pelican writes it to, None when unknown or not written
    output_line: int  # the line of `Save_As`, else of `Slug`
    used: dict[str, list[str]]  # registry kind -> slugs of the entries it names

    def pack(self) -> list:
        return [self.lang, self.slug, self.status, self.translation, self.slug_line, self.translation_line,
                self.output, self.output_line, self.used]


@dataclasses.dataclass
class FileResult:
    """What one content file said: its problems, its item (None when it could not be read), and the answers the
    file system gave while checking it (``("f", path, exists)``, ``("n", path, hint)``), so a cached result is
    used only while they still hold."""

    sha: str
    problems: list[Problem]
    item: Item | None
    facts: list[tuple[str, str, object]]
    cached: list | None = None  # the cache's entry, when the result came from it


PENDING = FileResult("", [], None, [])  # `Checker.read`'s answer for a file it was told not to validate yet


class _FormatValues(dict):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


class Checker:
    """Checks one content folder; ``run()`` returns every problem found, sorted."""

    def __init__(self, root: Path, settings: SiteSettings | None = None, cache: Path | None = None,
                 workers: int | None = None, parallel_min: int = PARALLEL_MIN_FILES):
        self.root = Path(root).resolve()
        if workers is None:
            from content_model.workers import usable_cores

            workers = usable_cores()
        self.workers = workers
        self.parallel_min = parallel_min
        self.settings = settings or site_settings()
        self.cache_folder = cache
        self.problems: list[Problem] = []
        self.items: list[Item] = []
        self._exists: dict[str, bool] = {}
        self._files: set[str] = set()  # every file under the root, from `scan`
        self._escaping: list[str] = []  # symbolic links leading outside the root, from `scan`: never read
        self._nearby: dict[str, str] = {}
        self._facts: dict[tuple[str, str], object] | None = None  # recorded while one file is validated
        self._registries: model.Registries | None = None
        self.validated = 0  # files parsed and validated in this run (the others came from the cache)
        self.worker_processes = 0  # processes that validated files in this run (0: all in this one)
        self.root_str = str(self.root)
        self.root_prefix = self.root_str + os.sep
        self.parent_prefix = str(self.root.parent).rstrip(os.sep) + os.sep
        self.static_prefixes = tuple(self._prefix(p) for p in self.settings.static_paths)
        content_paths = (*self.settings.article_paths, *self.settings.page_paths)
        self.content_prefixes = tuple(self._prefix(p) for p in content_paths)
        self.ignored = re.compile("|".join(fnmatch.translate(p) for p in self.settings.ignore_files) or "(?!)")

    @property
    def registries(self) -> model.Registries:
        """Loaded when first needed: a run served wholly from the cache never parses them."""
        if self._registries is None:
            self._registries = model.load_registries(self.root)
        return self._registries

    # --- walking --------------------------------------------------------------------------------------

    def content_files(self, kind: str) -> Iterable[str]:
        """Files under ARTICLE_PATHS (or PAGE_PATHS), sorted, skipping the excluded folders and ignored files."""
        settings = self.settings
        tops = settings.article_paths if kind == "article" else settings.page_paths
        excluded = settings.article_excludes if kind == "article" else settings.page_excludes
        excludes = {os.path.normpath(e) for e in excluded}
        for top in tops:
            start = self.root / top
            if not start.is_dir():
                continue
            for folder, dirs, files in os.walk(start):
                relative_folder = os.path.relpath(folder, self.root)
                dirs[:] = sorted(
                    d for d in dirs
                    if not d.startswith(".") and os.path.normpath(os.path.join(relative_folder, d)) not in excludes
                )
                for name in sorted(files):
                    if name.startswith(".") or self.ignored.match(name):
                        continue
                    yield os.path.join(folder, name)

    def scan(self) -> list[Problem]:
        """One walk of the whole content folder: every file in it (so `exists` needs no system call), and
        ``model.find_escaping_symlinks``'s problems by the same rule, found in the same walk."""
        problems = []
        root, prefix, name = self.root_str, self.root_prefix, self.root.name
        folders = [root]
        while folders:
            try:
                entries = list(os.scandir(folders.pop()))
            except OSError:
                continue
            for entry in entries:
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if target != root and not target.startswith(prefix):
                        self._escaping.append(entry.path)
                        problems.append(Problem(f"{name}/{entry.path[len(prefix):]}", 1, "error", "this symbolic link "
                                                "leads outside content/; replace it with the file itself"))
                    if entry.is_file():
                        self._files.add(entry.path)
                elif entry.is_dir():
                    folders.append(entry.path)
                elif entry.is_file():
                    self._files.add(entry.path)
        return problems

    def shown(self, path: str) -> str:
        """As the build names files: relative to the folder holding content/."""
        if path.startswith(self.parent_prefix):
            return path[len(self.parent_prefix):].replace(os.sep, "/")
        return shown_path(Path(path), self.root)

    def _prefix(self, relative: str) -> str:
        return os.path.normpath(os.path.join(self.root_str, relative)) + os.sep

    # --- one file -------------------------------------------------------------------------------------

    def read_all(self, jobs: list[tuple[str, str, list | None]]) -> list[tuple[list[Problem], FileResult | None]]:
        """``read`` for every (path, kind, cached entry), in order. Files that need validating are validated in
        forked workers, one per core, when there are at least ``parallel_min`` of them."""
        if self.workers < 2 or len(jobs) < self.parallel_min or "fork" not in multiprocessing.get_all_start_methods():
            return [self.read(*job) for job in jobs]
        results = [self.read(*job, validate=False) for job in jobs]
        pending = [index for index, (_problems, result) in enumerate(results) if result is PENDING]
        if len(pending) < self.parallel_min:
            for index in pending:
                results[index] = self.read(*jobs[index])
            return results
        global _FORKED_CHECKER
        _FORKED_CHECKER = self
        _ = self.registries  # loaded here, once, for the workers to inherit
        collecting = gc.isenabled()
        try:
            # Chunks in order, several per worker, so that one full of long files does not hold up the end. The
            # stale cache entries stay here: the workers would only read, hash and compare them again.
            size = -(-len(pending) // (self.workers * 4))
            chunks = [[(*jobs[index][:2], None) for index in pending[start:start + size]]
                      for start in range(0, len(pending), size)]
            # Unpickling the results makes tens of thousands of objects that live until the end: the collector,
            # which would walk them again and again, stays off meanwhile (a third of the parent's time at 10,000).
            # The workers inherit it off: they are short-lived and make few reference cycles.
            gc.disable()
            with multiprocessing.get_context("fork").Pool(self.workers) as pool:
                done = pool.map(_read_in_worker, chunks, chunksize=1)
        finally:
            _FORKED_CHECKER = None
            if collecting:
                gc.enable()
        self.validated += sum(validated for validated, _results in done)
        self.worker_processes = self.workers
        for index, result in zip(pending, (result for _validated, chunk in done for result in chunk)):
            results[index] = result
        return results

    def read(self, path: str, kind: str, cached: list | None = None,
             validate: bool = True) -> tuple[list[Problem], FileResult | None]:
        """Check one file, or take its cached result (``pack``'s list) when its bytes and the file-system answers
        it depends on are unchanged (then the result's ``cached`` is that entry). Returns the problems found
        (the result's, or why the file is not read) and the result (None for a file the site does not read;
        ``PENDING`` when ``validate`` is false and the file needs validating)."""
        suffix = os.path.splitext(path)[1].lower()
        if suffix != ".md":
            if suffix in NOT_READ_EXTENSIONS:
                return [Problem(self.shown(path), 1, "warning", f"the site does not read `{suffix}` files, only `.md`; "
                                "rename it to .md or move it out of the content folder")], None
            return [], None
        if any(path == link or path.startswith(link + os.sep) for link in self._escaping):
            # Reported by `scan`; reading it would print a file from outside content/ (say /etc/passwd) line by line.
            return [], None
        if cached is None and not validate:
            return [], PENDING
        with open(path, "rb") as handle:
            data = handle.read()
        sha = model.content_hash(data) if self.cache_folder is not None else ""
        result = None
        if cached is not None and cached[0] == sha:
            result = self.unpack(kind, path, cached)
        if result is None:
            if not validate:
                return [], PENDING
            result = self.validate(path, kind, data, sha)
        return result.problems, result

    def validate(self, path: str, kind: str, data: bytes, sha: str) -> FileResult:
        shown = self.shown(path)
        text, problems = model.decode_source(shown, data)
        if text is None:
            return FileResult(sha, problems, None, [])
        self.validated += 1
        self._facts = {}
        try:
            source = model.parse_source(shown, text)
            if kind == "article":
                resolved = model.validate_article(source, self.registries, self.settings.model)
            else:
                model.validate_page(source, self.settings.model)
                resolved = {"lang": source.get("lang") or self.settings.model.default_lang,
                            "date": model.parse_date(source.get("date")) if source.get("date") else None}
            status = self.check_status(source)
            translation = self.check_translation(source)
            if kind == "article":
                self.check_lead_image(source)
            if source.body:
                # Always, even for files outside the PATHs given: their problems are filtered out of the report,
                # and the cached result is then complete for the next run.
                self.check_body(source, path)
            facts = [(what, where, answer) for (what, where), answer in self._facts.items()]
        finally:
            self._facts = None
        lang = str(resolved.get("lang") or self.settings.model.default_lang)
        slug = source.get("slug") or model.slug_from_filename(path, self.settings.model.languages)
        used: dict[str, list[str]] = {}
        if kind == "article":
            for key, registry_kind in model.RESOLVED_KEYS.items():
                for value in resolved.get(key, ()):
                    if isinstance(value, model.Entry):
                        used.setdefault(registry_kind, []).append(value.slug)
        output = self.output_file(kind, status, source.get("save_as"), lang, slug, resolved.get("date"),
                                  str(resolved.get("category", "")).lower())
        item = Item(kind, shown, lang, slug, status, translation, source.line("slug"), source.line("translation"),
                    output, source.line("save_as" if source.get("save_as") else "slug"), used)
        return FileResult(sha, source.problems, item, facts)

    def check_status(self, source: model.Source) -> str:
        value = source.get("status", "published").lower() or "published"
        if value not in STATUSES:
            hint = model.closest(value, STATUSES, 1)
            advice = f"did you mean {hint[0]}?" if hint else f"use one of {', '.join(STATUSES)}"
            source.problem("status", "error", f"`Status: {source.get('status')}` is not a status: {advice}")
        return value

    def check_translation(self, source: model.Source) -> bool:
        value = source.get("translation")
        if not value:
            return False
        if value.lower() not in ("true", "false"):
            source.problem("translation", "error", f"`Translation: {value}` must be `true` or `false`")
        # Pelican treats every value other than "false" as true; so do we, to agree with the build.
        return value.lower() != "false"

    def check_lead_image(self, source: model.Source) -> None:
        value = source.get("image")
        if not value:
            return
        prefix = LINK_PREFIX.match(value)
        target = self.local_target(value[prefix.end():] if prefix else value, None)
        if target is None:
            source.problem("image", "error", f"`Image: {value}` points outside content/; use a path like images/x.jpg")
        elif not self.exists(target):
            source.problem("image", "error", f"image `{value}` does not exist (no file {self.shown(target)}); "
                           f"check the name{self.nearby(target)}")
        elif not self.is_static(target):
            source.problem("image", "error", f"image `{value}` is not in a static folder "
                           f"({', '.join(self.settings.static_paths)}), so it is not copied to the site; move it there")

    # --- bodies ---------------------------------------------------------------------------------------

    def check_body(self, source: model.Source, path: str) -> None:
        body = source.body
        if "`" in body or "~~~" in body:
            # Examples inside code are not links or images; blank them, keeping line numbers.
            body = CODE_FENCE.sub(_blank, body)
            body = CODE_SPAN.sub(_blank, body)

        def line_of(offset: int) -> int:
            return source.body_line + body.count("\n", 0, offset)

        def report(offset: int, severity: str, message: str) -> None:
            source.problems.append(Problem(source.path, line_of(offset), severity, message))

        if NEW_HINTS_MARKER in body:
            report(body.index(NEW_HINTS_MARKER), "warning",
                   "the hints block from `invoke new` is still here; delete it (from `<!--` to `-->`) when done")
        if NEW_PLACEHOLDER in body:
            report(body.index(NEW_PLACEHOLDER), "error",
                   "the body is still the placeholder from `invoke new`; write the article in its place")
        if "![" in body:
            for match in MD_IMAGE.finditer(body):
                target = match.group("target").strip("<>")
                if not match.group("alt").strip():
                    report(match.start(), "error", f"image `{target}` has no alt text; describe the picture between "
                           "the square brackets, e.g. `![Map of metro line 4 and its stations](...)`")
                self.check_target(target, path, match.start(), report, image=True)
            for match in MD_REF_IMAGE.finditer(body):
                if not match.group("alt").strip():
                    report(match.start(), "error", f"image `[{match.group('ref')}]` has no alt text; describe the "
                           "picture between the first pair of square brackets")
        if "](" in body:
            for match in md_links(body):
                self.check_target(match.group("target").strip("<>"), path, match.start(), report)
        if "]:" in body:
            for match in MD_REF_DEFINITION.finditer(body):
                self.check_target(match.group("target").strip("<>"), path, match.start(), report)
        if "<" in body:
            # the same warnings the build gives for HTML its sanitiser removes
            source.problems.extend(model.find_dropped_html(source, self.settings.embed_hosts))
            for match in HTML_TAG.finditer(body):
                attrs = {m.group("name").lower(): (m.group("value") or "").strip("\"'")
                         for m in HTML_ATTR.finditer(match.group("attrs"))}
                if match.group("tag").lower() == "img":
                    src = attrs.get("src", "")
                    if not attrs.get("alt", "").strip():
                        report(match.start(), "error", f"image `{src}` has no alt text; add alt=\"...\" describing "
                               "the picture")
                    if src:
                        self.check_target(src, path, match.start(), report, image=True)
                elif attrs.get("href"):
                    self.check_target(attrs["href"], path, match.start(), report)

    def check_target(self, target: str, path: str, offset: int, report, image: bool = False) -> None:
        """Report a link or image target inside content/ that will not resolve in the built site."""
        if not target:
            if image:
                report(offset, "error", "an image has no file name between the round brackets")
            return
        prefix = LINK_PREFIX.match(target)
        if prefix is None:
            if EXTERNAL.match(target):
                return
            bare = target.split("#", 1)[0].split("?", 1)[0]
            if image:
                report(offset, "error", f"image `{target}` will not be found from the article's page; write "
                       f"`{{static}}/{bare.lstrip('/')}` (the path inside content/)")
            elif bare.endswith(".md"):
                report(offset, "error", f"link `{target}` points at a source file; write `{{filename}}/"
                       f"{bare.lstrip('/')}` (the path inside content/) so the site links to its page")
            return
        what = prefix.group("what") or prefix.group("old")
        value = target[prefix.end():]
        local = self.local_target(value, os.path.dirname(path))
        if local is None:
            report(offset, "error", f"`{target}` points outside the content folder")
            return
        if not self.exists(local):
            report(offset, "error", f"`{target}` points nowhere: there is no file {self.shown(local)}"
                   f"{self.nearby(local)}")
            return
        if what == "filename":
            if local.lower().endswith(".md"):
                if not self.is_content(local):
                    report(offset, "error", f"`{target}` is not an article or a page, so it has no page to link to")
            elif self.is_static(local):
                report(offset, "error", f"`{target}` is a file, not an article: write `{{static}}{value}`")
            else:
                report(offset, "error", f"`{target}` is not an article, a page or a file the site copies")
        elif not self.is_static(local):
            report(offset, "error", f"`{target}` is not in a static folder ({', '.join(self.settings.static_paths)}), "
                   "so the site does not copy it; move it there")

    def local_target(self, value: str, base: str | None) -> str | None:
        """A link's file inside content/ (``/x`` from the root, ``x`` from the linking file's folder), or None.

        Plain strings and os.path, not pathlib: this runs for every link of 10,000 articles."""
        value = unquote(value.split("#", 1)[0].split("?", 1)[0]).strip()
        if value.startswith("/") or base is None:
            candidate = os.path.normpath(os.path.join(self.root_str, value.lstrip("/")))
        else:
            candidate = os.path.normpath(os.path.join(base, value))
        if not candidate.startswith(self.root_prefix):
            return None
        return candidate

    def exists(self, path: str) -> bool:
        found = self._exists.get(path)
        if found is None:
            found = self._exists[path] = path in self._files or os.path.isfile(path)
        if self._facts is not None:
            self._facts["f", path] = found
        return found

    def is_static(self, path: str) -> bool:
        return path.startswith(self.static_prefixes)

    def is_content(self, path: str) -> bool:
        return path.startswith(self.content_prefixes)

    def nearby(self, path: str) -> str:
        """``; did you mean ...?`` naming the closest existing file in the same folder."""
        found = self._nearby.get(path)
        if found is None:
            found = self._nearby[path] = self._closest_file(path)
        if self._facts is not None:
            self._facts["n", path] = found
        return found

    def _closest_file(self, path: str) -> str:
        folder, name = os.path.split(path)
        if not os.path.isdir(folder):
            return ""
        names = [entry.name for entry in os.scandir(folder) if entry.is_file()]
        hint = model.closest(name, names, 1)
        return f"; did you mean {self.shown(os.path.join(folder, hint[0]))}?" if hint else ""

    # --- across files ---------------------------------------------------------------------------------

    def check_duplicates(self) -> None:
        by_identity: dict[tuple[str, str, str], list[Item]] = defaultdict(list)
        for item in self.items:
            if item.status != "skip":
                by_identity[(item.kind, item.lang, item.slug)].append(item)
        reported: set[frozenset[str]] = set()
        for (kind, lang, slug), items in sorted(group for group in by_identity.items() if len(group[1]) > 1):
            reported.add(frozenset(item.shown for item in items))
            for item in items:
                others = ", ".join(other.shown for other in items if other is not item)
                self.problems.append(Problem(item.shown, item.slug_line, "error",
                                             f"slug `{slug}` in language `{lang}` is also used by {others}; "
                                             "give one of them another `Slug:`"))
        by_output: dict[str, list[Item]] = defaultdict(list)
        for item in self.items:
            if item.output:
                by_output[item.output].append(item)
        for output, items in sorted(group for group in by_output.items() if len(group[1]) > 1):
            if frozenset(item.shown for item in items) in reported:
                continue
            for item in items:
                others = ", ".join(other.shown for other in items if other is not item)
                self.problems.append(Problem(item.shown, item.output_line, "error",
                                             f"would be written to the same page `{output}` as {others}; "
                                             "give one of them another `Slug:`"))

    def output_file(self, kind: str, status: str, save_as: str, lang: str, slug: str, date: dt.datetime | None,
                    category: str) -> str | None:
        """The file Pelican writes an item to (``Save_As`` or the URL pattern), None when unknown or not written."""
        if status == "skip":
            return None
        if save_as:
            return save_as.lstrip("/")
        kind = "DRAFT" if kind == "article" and status == "draft" else kind.upper()
        lang_part = "" if lang == self.settings.model.default_lang else "_LANG"
        pattern = self.settings.urls.get(f"{kind}{lang_part}_SAVE_AS")
        if not pattern or ("{date" in pattern and date is None):
            return None
        values = _FormatValues(slug=slug, lang=lang, date=date, category=category)
        try:
            return pattern.format_map(values).lstrip("/")
        except (KeyError, ValueError, AttributeError, IndexError):
            return None

    def check_translations(self) -> None:
        groups: dict[str, list[Item]] = defaultdict(list)
        for item in self.items:
            if item.kind == "article" and item.status != "skip":
                groups[item.slug].append(item)
        default = self.settings.model.default_lang
        for slug, items in sorted(groups.items()):
            if any(not item.translation for item in items):
                continue
            for item in items:
                self.problems.append(Problem(
                    item.shown, item.translation_line, "error",
                    f"this is marked `Translation: true` but no article with slug `{slug}` is its original; add the "
                    f"original (same `Slug:`, `Lang: {default}`), or delete the `Translation` line if it stands alone",
                ))

    def registry_facts(self) -> dict:
        """What the registries contribute to the report, as plain values the cache can keep: their own problems,
        every entry (kind -> [slug, title, path], sorted by slug) and the officials' photos."""
        registries = self.registries
        return {
            "problems": [[p.path, p.line, p.severity, p.message] for p in registries.problems],
            "entries": {kind: [[e.slug, e.title, e.path] for e in registries[kind]]
                        for kind in ("officials", "topics", "people")},
            "photos": [[o.path, o.field("photo")] for o in registries.officials if o.field("photo")],
        }

    def check_official_photos(self, photos: list[list[str]]) -> None:
        """As the build does: an official's `Photo` must be a file inside content/."""
        for path, photo in photos:
            prefix = LINK_PREFIX.match(photo)
            target = self.local_target(photo[prefix.end():] if prefix else photo, None)
            if target is None or not self.exists(target):
                where = "points outside content/" if target is None else "does not exist under content/"
                self.problems.append(Problem(path, 1, "error", f"`Photo: {photo}` {where}"))

    def check_registry_use(self, entries: dict[str, list[list[str]]]) -> None:
        used: dict[str, set[str]] = defaultdict(set)
        for item in self.items:
            if item.kind != "article":
                continue
            for kind, slugs in item.used.items():
                used[kind].update(slugs)
        nouns = {"officials": "official", "topics": "topic", "people": "person"}
        fields = {"officials": "Officials", "topics": "Topics", "people": "Reporters` or `Editors"}
        for kind in ("officials", "topics", "people"):
            for slug, title, path in entries[kind]:
                if slug not in used[kind]:
                    self.problems.append(Problem(
                        path, 1, "warning",
                        f"no article names the {nouns[kind]} `{title}`, so it has no page yet; name it in an "
                        f"article's `{fields[kind]}`, or delete this file if it is not needed",
                    ))

    # --- all ------------------------------------------------------------------------------------------

    def run(self, paths: Iterable[str | os.PathLike] = ()) -> list[Problem]:
        selected = [str(Path(p).resolve()) for p in paths]
        for path in selected:
            if not os.path.exists(path):
                raise ToolError(f"error: {path} does not exist; give files or folders inside the content folder")

        def wanted(path: str) -> bool:
            return not selected or any(path == s or path.startswith(s.rstrip(os.sep) + os.sep) for s in selected)

        store, stored = self.open_cache()
        registries = stored["registries"] if stored else self.registry_facts()
        self.problems.extend(Problem(*problem) for problem in registries["problems"])
        self.problems.extend(self.scan())
        self.check_official_photos(registries["photos"])
        before = stored["files"] if stored else {}
        files: dict[str, dict[str, list]] = {"article": {}, "page": {}}
        held: dict[str, dict] = {}
        jobs = []
        for kind in files:
            cached = before.get(kind)
            held[kind] = cached if isinstance(cached, dict) else {}
            for path in self.content_files(kind):
                raw = held[kind].get(self.relative(path)) if store else None
                jobs.append((path, kind, raw if isinstance(raw, list) and len(raw) == 4 else None))
        changed = stored is None
        for (path, kind, _raw), (problems, result) in zip(jobs, self.read_all(jobs)):
            self.problems.extend(problems)
            if result is None:
                continue
            if result.item is not None:
                self.items.append(result.item)
            if store is not None:
                files[kind][self.relative(path)] = result.cached if result.cached is not None else self.pack(result)
                changed = changed or result.cached is None
        changed = changed or any(len(files[kind]) != len(held[kind]) for kind in files)
        self.check_duplicates()
        self.check_translations()
        self.check_registry_use(registries["entries"])
        if store is not None and changed:
            store.save(registries, files)
        problems = sorted(set(self.problems))
        if selected:
            problems = [p for p in problems if wanted(os.path.normpath(os.path.join(self.parent_prefix, p.path)))]
        return problems

    # --- the cache ------------------------------------------------------------------------------------

    def open_cache(self) -> tuple[check_cache.ResultsCache | None, dict | None]:
        """The cache of this content folder and what it holds for this code, settings and registries."""
        if self.cache_folder is None:
            return None, None
        code = check_cache.code_version([model.__file__, __file__, check_cache.__file__,
                                         os.path.join(os.path.dirname(__file__), "common.py")])
        version = check_cache.digest([
            code, repr(self.settings).encode(), self.root_str.encode(),
            *check_cache.registry_files(self.root, ("officials", "topics", "people")),
        ])
        store = check_cache.ResultsCache(self.cache_folder, self.root, version)
        stored = store.load()
        try:  # what `registry_facts` returns, or the cache is not trusted
            registries = stored["registries"] if stored else {"problems": (), "photos": ()}
            for path, line, severity, message in registries["problems"]:
                if not (isinstance(line, int) and all(isinstance(v, str) for v in (path, severity, message))):
                    raise ValueError(path)
            for kind in ("officials", "topics", "people") if stored else ():
                for slug, title, path in registries["entries"][kind]:
                    if not all(isinstance(v, str) for v in (slug, title, path)):
                        raise ValueError(slug)
            for path, photo in registries["photos"]:
                if not (isinstance(path, str) and isinstance(photo, str)):
                    raise ValueError(path)
        except (KeyError, TypeError, ValueError):
            stored = None
        return store, stored

    def relative(self, path: str) -> str:
        return path[len(self.root_prefix):] if path.startswith(self.root_prefix) else path

    def pack(self, result: FileResult) -> list:
        return [
            result.sha,
            [[p.path, p.line, p.severity, p.message] for p in result.problems],
            result.item.pack() if result.item else None,
            [[what, self.relative(path), answer] for what, path, answer in result.facts],
        ]

    def unpack(self, kind: str, path: str, raw) -> FileResult | None:
        """A cached result whose file-system answers still hold, or None: when they do not, or when the entry is not
        what ``pack`` writes (a damaged cache is not trusted)."""
        prefix = self.root_prefix
        try:
            sha, problems, item, facts = raw
            for what, where, answer in facts:
                where = where if where.startswith(os.sep) else prefix + where
                if (self.exists(where) if what == "f" else self.nearby(where)) != answer:
                    return None
            result = FileResult(
                sha,
                [Problem(str(p), int(line), str(severity), str(message)) for p, line, severity, message in problems],
                None,
                [],
                raw,
            )
            if item is not None:
                result.item = Item(kind, self.shown(path), *item)
                if not (isinstance(result.item.used, dict) and isinstance(result.item.slug, str)
                        and isinstance(result.item.lang, str) and isinstance(result.item.status, str)):
                    return None
        except (TypeError, ValueError, AttributeError):
            return None
        return result

    @property
    def article_count(self) -> int:
        return sum(item.kind == "article" for item in self.items)


def md_links(body: str) -> Iterator[re.Match]:
    """Markdown links ``[text](target)``, images excepted: what ``(?<!!)`` before MD_LINK_OR_IMAGE would find."""
    position = 0
    while (match := MD_LINK_OR_IMAGE.search(body, position)) is not None:
        start = match.start()
        if start and body[start - 1] == "!":
            position = start + 1  # an image; a link may still start inside its alt text
            continue
        yield match
        position = match.end()


_FORKED_CHECKER: Checker | None = None  # the checker a forked worker of ``Checker.read_all`` inherits


def _read_in_worker(jobs: list) -> tuple[int, list]:
    checker = _FORKED_CHECKER
    before = checker.validated
    results = [checker.read(*job) for job in jobs]
    return checker.validated - before, results


def _blank(match: re.Match) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def check_content(root: str | os.PathLike, paths: Iterable[str | os.PathLike] = ()) -> list[Problem]:
    """Every problem in the content folder ``root`` (only those in ``paths``, when given), sorted."""
    return Checker(Path(root)).run(paths)


def format_problems(problems: list[Problem], fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps([p.as_dict() for p in problems], ensure_ascii=False, indent=2)
    return "".join(f"{problem}\n" for problem in problems)


def run(paths: Iterable[str] = (), content: str | None = None, fmt: str = "text", out=None, err=None,
        cache: Path | None = None) -> int:
    """The `invoke check` command: prints the problems; returns 1 when any is an error, else 0 (2: bad usage).

    Results are cached in ``cache`` (default: $PORTAL_CHECK_CACHE, else CHECK_CACHE_PATH, else cache/check)."""
    out = out or sys.stdout
    err = err or sys.stderr
    if fmt not in ("text", "json"):
        print(f"error: --format {fmt!r} is not known; use text or json", file=err)
        return 2
    try:
        settings = site_settings()
        checker = Checker(content_root(content), settings, cache or check_cache.cache_folder(settings.check_cache))
        problems = checker.run(paths)
    except ToolError as exc:
        print(exc, file=err)
        return 2
    text = format_problems(problems, fmt)
    if fmt == "json":
        print(text, file=out)
    else:
        out.write(text)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if fmt == "text":
        files = checker.article_count
        if problems:
            print(f"{errors} error(s), {warnings} warning(s) in {files} article(s). "
                  + ("Fix the errors before publishing." if errors else "No errors."), file=err)
        else:
            print(f"No problems in {files} article(s).", file=err)
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="check", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--content")
    parser.add_argument("--format", default="text")
    args = parser.parse_args(argv)
    return run(args.paths, args.content, args.format)


if __name__ == "__main__":
    sys.exit(main())
