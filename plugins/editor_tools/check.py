"""`invoke check`: every problem in the content, one line each, without building the site.

Each content file is read once; headers are parsed and validated by ``content_model.model`` (the same code the
build runs); bodies are scanned with regular expressions for images and ``{filename}``/``{static}`` links (no
Markdown rendering); the registries are loaded once. Cross-file checks (duplicate slugs and output files,
translations without an original, registry entries no article names) need every header, so they are always read
whole; the PATHs given only restrict which files' problems are reported.

Rules that are ours rather than Pelican's, stated once here:
- A translation is an article marked ``Translation: true``. It needs an original: another article with the same
  slug that is not marked. An article in another language with no counterpart and no ``Translation`` line is a
  stand-alone article (the Chinese-only articles in content/ are), not an error.
- Two articles collide when they share language and slug, or when they would be written to the same file.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import fnmatch
import json
import os
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote

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
MD_LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(\s*(?P<target><[^>\n]*>|[^)\s]*)(?:\s+[\"'(][^)\n]*)?\)")
MD_REF_DEFINITION = re.compile(r"^[ ]{0,3}\[(?P<ref>[^\]\n]+)\]:[ \t]*(?P<target><[^>\n]*>|\S+)", re.M)
HTML_TAG = re.compile(r"<(?P<tag>img|a)\b(?P<attrs>[^>]*)>", re.I)
HTML_ATTR = re.compile(r"""(?P<name>[A-Za-z_:][-\w:.]*)(?:\s*=\s*(?P<value>"[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")
LINK_PREFIX = re.compile(r"^(?:\{(?P<what>filename|static|attach)\}|\|(?P<old>filename|static|attach)\|)")
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|#)", re.I)


@dataclasses.dataclass
class Item:
    """One article or page, as far as the cross-file checks need it."""

    kind: str  # "article" or "page"
    path: str
    source: model.Source
    lang: str
    slug: str
    status: str
    translation: bool
    date: dt.datetime | None
    resolved: dict[str, object]

    @property
    def shown(self) -> str:
        return self.source.path


class _FormatValues(dict):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


class Checker:
    """Checks one content folder; ``run()`` returns every problem found, sorted."""

    def __init__(self, root: Path, settings: SiteSettings | None = None):
        self.root = Path(root).resolve()
        self.settings = settings or site_settings()
        self.problems: list[Problem] = []
        self.items: list[Item] = []
        self._exists: dict[str, bool] = {}
        self.root_str = str(self.root)
        self.root_prefix = self.root_str + os.sep
        self.parent_prefix = str(self.root.parent).rstrip(os.sep) + os.sep
        self.static_prefixes = tuple(self._prefix(p) for p in self.settings.static_paths)
        content_paths = (*self.settings.article_paths, *self.settings.page_paths)
        self.content_prefixes = tuple(self._prefix(p) for p in content_paths)
        self.registries = model.load_registries(self.root)

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
                    if name.startswith(".") or any(fnmatch.fnmatch(name, pattern) for pattern in settings.ignore_files):
                        continue
                    yield os.path.join(folder, name)

    def shown(self, path: str) -> str:
        """As the build names files: relative to the folder holding content/."""
        if path.startswith(self.parent_prefix):
            return path[len(self.parent_prefix):].replace(os.sep, "/")
        return shown_path(Path(path), self.root)

    def _prefix(self, relative: str) -> str:
        return os.path.normpath(os.path.join(self.root_str, relative)) + os.sep

    # --- one file -------------------------------------------------------------------------------------

    def read(self, path: str, kind: str, scan_body: bool) -> None:
        shown = self.shown(path)
        suffix = os.path.splitext(path)[1].lower()
        if suffix != ".md":
            if suffix in NOT_READ_EXTENSIONS:
                self.problems.append(
                    Problem(shown, 1, "warning", f"the site does not read `{suffix}` files, only `.md`; "
                            "rename it to .md or move it out of the content folder")
                )
            return
        with open(path, "rb") as handle:
            data = handle.read()
        text, problems = model.decode_source(shown, data)
        if text is None:
            self.problems.extend(problems)
            return
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
        if scan_body and source.body:
            self.check_body(source, path)
        source.body = ""  # not needed any more; 10,000 bodies would otherwise stay in memory
        self.problems.extend(source.problems)
        lang = str(resolved.get("lang") or self.settings.model.default_lang)
        slug = source.get("slug") or model.slug_from_filename(path, self.settings.model.languages)
        self.items.append(Item(kind, path, source, lang, slug, status, translation, resolved.get("date"), resolved))

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
            for match in MD_LINK.finditer(body):
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
            found = self._exists[path] = os.path.isfile(path)
        return found

    def is_static(self, path: str) -> bool:
        return path.startswith(self.static_prefixes)

    def is_content(self, path: str) -> bool:
        return path.startswith(self.content_prefixes)

    def nearby(self, path: str) -> str:
        """``; did you mean ...?`` naming the closest existing file in the same folder."""
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
        for (kind, lang, slug), items in sorted(by_identity.items()):
            if len(items) < 2:
                continue
            reported.add(frozenset(item.shown for item in items))
            for item in items:
                others = ", ".join(other.shown for other in items if other is not item)
                self.problems.append(Problem(item.shown, item.source.line("slug"), "error",
                                             f"slug `{slug}` in language `{lang}` is also used by {others}; "
                                             "give one of them another `Slug:`"))
        by_output: dict[str, list[Item]] = defaultdict(list)
        for item in self.items:
            output = self.output_file(item)
            if output:
                by_output[output].append(item)
        for output, items in sorted(by_output.items()):
            if len(items) < 2 or frozenset(item.shown for item in items) in reported:
                continue
            for item in items:
                others = ", ".join(other.shown for other in items if other is not item)
                key = "save_as" if item.source.get("save_as") else "slug"
                self.problems.append(Problem(item.shown, item.source.line(key), "error",
                                             f"would be written to the same page `{output}` as {others}; "
                                             "give one of them another `Slug:`"))

    def output_file(self, item: Item) -> str | None:
        """The file Pelican writes an item to (``Save_As`` or the URL pattern), None when unknown or not written."""
        if item.status == "skip":
            return None
        if item.source.get("save_as"):
            return item.source.get("save_as").lstrip("/")
        kind = "DRAFT" if item.kind == "article" and item.status == "draft" else item.kind.upper()
        lang_part = "" if item.lang == self.settings.model.default_lang else "_LANG"
        pattern = self.settings.urls.get(f"{kind}{lang_part}_SAVE_AS")
        if not pattern or ("{date" in pattern and item.date is None):
            return None
        values = _FormatValues(slug=item.slug, lang=item.lang, date=item.date,
                               category=str(item.resolved.get("category", "")).lower())
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
                    item.shown, item.source.line("translation"), "error",
                    f"this is marked `Translation: true` but no article with slug `{slug}` is its original; add the "
                    f"original (same `Slug:`, `Lang: {default}`), or delete the `Translation` line if it stands alone",
                ))

    def check_official_photos(self) -> None:
        """As the build does: an official's `Photo` must be a file inside content/."""
        for official in self.registries.officials:
            photo = official.field("photo")
            if not photo:
                continue
            prefix = LINK_PREFIX.match(photo)
            target = self.local_target(photo[prefix.end():] if prefix else photo, None)
            if target is None or not self.exists(target):
                where = "points outside content/" if target is None else "does not exist under content/"
                self.problems.append(Problem(official.path, 1, "error", f"`Photo: {photo}` {where}"))

    def check_registry_use(self) -> None:
        used: dict[str, set[str]] = defaultdict(set)
        for item in self.items:
            if item.kind != "article":
                continue
            for key, kind in model.RESOLVED_KEYS.items():
                for value in item.resolved.get(key, ()):
                    if isinstance(value, model.Entry):
                        used[kind].add(value.slug)
        nouns = {"officials": "official", "topics": "topic", "people": "person"}
        fields = {"officials": "Officials", "topics": "Topics", "people": "Reporters` or `Editors"}
        for kind in ("officials", "topics", "people"):
            for entry in self.registries[kind]:
                if entry.slug not in used[kind]:
                    self.problems.append(Problem(
                        entry.path, 1, "warning",
                        f"no article names the {nouns[kind]} `{entry.title}`, so it has no page yet; name it in an "
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

        self.problems.extend(self.registries.problems)
        self.problems.extend(model.find_escaping_symlinks(self.root))
        self.check_official_photos()
        for kind in ("article", "page"):
            for path in self.content_files(kind):
                self.read(path, kind, scan_body=wanted(path))
        self.check_duplicates()
        self.check_translations()
        self.check_registry_use()
        problems = sorted(set(self.problems))
        if selected:
            problems = [p for p in problems if wanted(os.path.normpath(os.path.join(self.parent_prefix, p.path)))]
        return problems

    @property
    def article_count(self) -> int:
        return sum(item.kind == "article" for item in self.items)


def _blank(match: re.Match) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def check_content(root: str | os.PathLike, paths: Iterable[str | os.PathLike] = ()) -> list[Problem]:
    """Every problem in the content folder ``root`` (only those in ``paths``, when given), sorted."""
    return Checker(Path(root)).run(paths)


def format_problems(problems: list[Problem], fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps([p.as_dict() for p in problems], ensure_ascii=False, indent=2)
    return "".join(f"{problem}\n" for problem in problems)


def run(paths: Iterable[str] = (), content: str | None = None, fmt: str = "text", out=None, err=None) -> int:
    """The `invoke check` command: prints the problems; returns 1 when any is an error, else 0 (2: bad usage)."""
    out = out or sys.stdout
    err = err or sys.stderr
    if fmt not in ("text", "json"):
        print(f"error: --format {fmt!r} is not known; use text or json", file=err)
        return 2
    try:
        checker = Checker(content_root(content))
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
