"""The portal's content model: metadata headers, registries, name resolution, validation.

Everything that reads article metadata goes through this module (the Pelican build, ``invoke check``,
``invoke import`` and ``invoke new``), so there is exactly one way to parse a header and one answer to
"does this official exist". It has no Pelican import, so the editors' tools load it in milliseconds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import functools
import hashlib
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

# Keys an article may carry, in the order `invoke new` writes them.
ARTICLE_KEYS = (
    "title",
    "date",
    "modified",
    "slug",
    "lang",
    "category",
    "summary",
    "topics",
    "officials",
    "reporters",
    "editors",
    "source",
    "original_title",
    "image",
    "image_alt",
    "image_caption",
)
# Pelican's own keys that editors may legitimately use.
PELICAN_KEYS = ("status", "translation", "template", "save_as", "url")
PAGE_KEYS = ("title", "slug", "lang", "summary", "modified", "date", "status", "translation")
# ``*_zh``: the Chinese text of a field (``description_zh``: of the body) that Chinese pages show instead.
REGISTRY_KEYS = {
    "officials": ("title", "slug", "aliases", "role", "role_zh", "photo", "photo_alt", "description_zh"),
    "topics": ("title", "slug", "aliases", "summary", "summary_zh", "description_zh"),
    "people": ("title", "slug", "aliases", "role", "role_zh", "description_zh"),
}
REQUIRED_ARTICLE_KEYS = ("title", "date", "topics", "editors")
LIST_KEYS = ("topics", "officials", "reporters", "editors", "aliases")
# Keys whose values must name a registry entry, and the registry each one names.
RESOLVED_KEYS = {"topics": "topics", "officials": "officials", "reporters": "people", "editors": "people"}

LIST_SEPARATORS = re.compile(r"\s*[,，、;；]\s*")
# ``YYYY-MM-DD HH:MM`` (seconds optional, ``T`` allowed): the shape Pelican reads, and the only one we accept.
DATE_SHAPE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?\Z")
# Python-Markdown's meta-data syntax: the header is the leading block of "Key: value" lines.
META_LINE = re.compile(r"^[ ]{0,3}(?P<key>[A-Za-z0-9_-]+):\s*(?P<value>.*)$")
META_CONTINUATION = re.compile(r"^[ ]{4,}(?P<value>.*)$")
YAML_FENCE = re.compile(r"^-{3}\s*$")
# C0 controls other than tab/LF/CR, DEL, and C1 controls never belong in text.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
BIDI_CONTROLS = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
# Unicode line and paragraph separators: invisible line breaks that editors cannot see; replaced by spaces.
LINE_SEPARATORS = re.compile(r"[\u2028\u2029]")
# Any of the three above: one scan of a clean text instead of three.
UNUSUAL_CHARS = re.compile("[" + "".join(p.pattern[1:-1] for p in (CONTROL_CHARS, BIDI_CONTROLS, LINE_SEPARATORS)) + "]")
NAME_NOISE = re.compile(r"[\s\-_.·‧'’]+")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

# What article bodies may contain as HTML (tables, figures, abbreviations, footnotes, definition lists, details);
# everything else, event handlers and script URLs included, is removed by the reader's sanitiser.
ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "details", "dfn", "div", "dl",
    "dt", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
    "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "time", "tr", "u", "ul", "var", "wbr",
})
ALLOWED_ATTRIBUTES = {
    "*": frozenset({"id", "lang", "dir", "title"}),
    "a": frozenset({"href", "hreflang", "class"}),
    "img": frozenset({"src", "alt", "width", "height"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan", "scope"}),
    "ol": frozenset({"start", "reversed"}),
    "li": frozenset({"value", "class"}),
    "div": frozenset({"class"}),
    "sup": frozenset({"class"}),
    "time": frozenset({"datetime"}),
    "abbr": frozenset({"title"}),
    "iframe": frozenset({"src", "title", "width", "height", "allowfullscreen"}),
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
RAW_TAG = re.compile(r"<(?P<close>/?)(?P<tag>[A-Za-z][A-Za-z0-9-]*)(?P<attrs>(?:\s[^<>]*)?)/?>")
RAW_ATTR = re.compile(r"""(?P<name>[^\s=/>"']+)(?:\s*=\s*(?P<value>"[^"]*"|'[^']*'|[^\s>]+))?""")
INTRASITE_LINK = re.compile(r"""(?:href|src)\s*=\s*(["'])\{(?P<what>static|attach|filename)\}(?P<path>[^"'#?]*)""")
MARKDOWN_LINK_TARGET = re.compile(r"\]\(\s*<?\{(?P<what>static|attach|filename)\}(?P<path>[^)\s>#?]*)")


class ContentError(Exception):
    """Raised when content has errors; carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(f"{len(errors)} content error(s)")


@dataclasses.dataclass(frozen=True, order=True)
class Problem:
    """One finding about one line of one file, printed as ``path:line: severity: message``."""

    path: str
    line: int
    severity: str  # "error" or "warning"
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Field:
    value: str
    line: int


@dataclasses.dataclass
class Source:
    """A content file split into its metadata header and its Markdown body."""

    path: str
    fields: dict[str, Field]
    body: str
    body_line: int
    problems: list[Problem]

    def get(self, key: str, default: str = "") -> str:
        field = self.fields.get(key)
        return field.value if field else default

    def line(self, key: str) -> int:
        field = self.fields.get(key)
        return field.line if field else 1

    def problem(self, key: str | None, severity: str, message: str) -> Problem:
        problem = Problem(self.path, self.line(key) if key else 1, severity, message)
        self.problems.append(problem)
        return problem


def split_list(value: str) -> list[str]:
    """Split a list value on any separator editors use: ``,`` ``，`` ``、`` ``;``."""
    return [item for item in LIST_SEPARATORS.split(value.strip()) if item]


@functools.lru_cache(maxsize=16384)  # a corpus names the same few hundred people thousands of times
def name_key(name: str) -> str:
    """The form names are compared in: case, width, spacing and hyphens do not matter."""
    return NAME_NOISE.sub("", unicodedata.normalize("NFKC", name).casefold())


def has_cjk(text: str) -> bool:
    return bool(CJK.search(text))


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_source(path: str, data: bytes) -> tuple[str | None, list[Problem]]:
    """Decode a content file as UTF-8 (BOM allowed), or explain why it cannot be read."""
    if not data.strip():
        return None, [Problem(path, 1, "error", "the file is empty; write a metadata header and a body")]
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        return None, [Problem(path, line, "error", "the file contains NUL bytes: it is binary, not a text article")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [
            Problem(
                path,
                line,
                "error",
                "the file is not UTF-8 (perhaps GBK); save it as UTF-8 (`invoke import` converts GBK text)",
            )
        ]
    return text.replace("\r\n", "\n").replace("\r", "\n"), []


def text_problems(path: str, text: str, first_line: int = 1) -> list[Problem]:
    """Control characters are errors and bidirectional overrides warnings, each with its line."""
    if not UNUSUAL_CHARS.search(text):
        return []  # the usual case: one scan of the whole text instead of scans of each line (`invoke check` speed)
    problems = []
    for offset, line in enumerate(text.split("\n")):
        if CONTROL_CHARS.search(line):
            char = CONTROL_CHARS.search(line).group()
            problems.append(
                Problem(path, first_line + offset, "error", f"control character U+{ord(char):04X}; delete it")
            )
        if LINE_SEPARATORS.search(line):
            problems.append(
                Problem(path, first_line + offset, "warning", "invisible line separator U+2028/U+2029; replaced by a space")
            )
        if BIDI_CONTROLS.search(line):
            char = BIDI_CONTROLS.search(line).group()
            problems.append(
                Problem(
                    path,
                    first_line + offset,
                    "warning",
                    f"bidirectional override U+{ord(char):04X} can disguise text; delete it unless intended",
                )
            )
    return problems


def parse_source(path: str, text: str) -> Source:
    """Split text into header fields (with their line numbers) and body, as Python-Markdown's meta does."""
    problems: list[Problem] = text_problems(path, text)
    if problems:
        # Warned about above; removed so that none reaches HTML, feeds or sitemaps.
        text = LINE_SEPARATORS.sub(" ", BIDI_CONTROLS.sub("", text))
    # Only the header is split into lines; the body is the rest of the text, as it is.
    fields: dict[str, Field] = {}
    index = 0  # the line being read
    start = 0  # where it starts in text
    end = len(text)

    def line_at(offset: int) -> tuple[str, int]:
        stop = text.find("\n", offset)
        return (text[offset:], end + 1) if stop < 0 else (text[offset:stop], stop + 1)

    line, after = line_at(0)
    if YAML_FENCE.match(line):
        index, start = 1, after
    last_key = None
    while start <= end:
        line, after = line_at(start)
        if not line.strip():
            index, start = index + 1, after
            break
        if YAML_FENCE.match(line) and fields:
            index, start = index + 1, after
            break
        match = META_LINE.match(line)
        if match:
            key = match.group("key").lower().replace("-", "_")
            if key in fields:
                problems.append(
                    Problem(path, index + 1, "error", f"`{match.group('key')}` is given twice; keep one")
                )
            else:
                fields[key] = Field(match.group("value").strip(), index + 1)
            last_key = key
        elif last_key and META_CONTINUATION.match(line):
            previous = fields[last_key]
            more = META_CONTINUATION.match(line).group("value").strip()
            fields[last_key] = Field(f"{previous.value} {more}".strip(), previous.line)
        else:
            break
        index, start = index + 1, after
    body = text[start:]
    source = Source(path, fields, body, index + 1, problems)
    if not fields:
        source.problem(None, "error", "no metadata header; start the file with lines like `Title: ...`")
    elif not body.strip():
        source.problem(None, "error", "the file has a header but no body text")
    return source


def read_source(path: Path, relative_to: Path | None = None) -> Source:
    shown = str(path.relative_to(relative_to)) if relative_to else str(path)
    text, problems = decode_source(shown, path.read_bytes())
    if text is None:
        return Source(shown, {}, "", 1, problems)
    return parse_source(shown, text)


def body_line_of(source: Source, needle: str) -> int:
    """The line of the body where ``needle`` first appears (for messages about rendered HTML)."""
    for offset, line in enumerate(source.body.split("\n")):
        if needle in line:
            return source.body_line + offset
    return source.body_line


def find_dropped_html(source: Source, embed_hosts: Iterable[str] = ()) -> list[Problem]:
    """Raw HTML in the body that the sanitiser will remove, one warning per line, so editors learn why it vanished."""
    problems = []
    embed_hosts = tuple(embed_hosts)
    in_fence = False
    for offset, line in enumerate(source.body.split("\n")):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        if in_fence or line.startswith("    "):
            continue
        for match in RAW_TAG.finditer(re.sub(r"`[^`]*`", "", line)):
            tag = match.group("tag").lower()
            number = source.body_line + offset
            if tag == "iframe" and embed_hosts:
                src = re.search(r"""src\s*=\s*["']?https://([^/"'\s>]+)""", match.group("attrs") or "")
                if not src or src.group(1).lower() not in embed_hosts:
                    problems.append(Problem(source.path, number, "warning",
                                            "this <iframe> is removed: embeds are allowed only from " + ", ".join(embed_hosts)))
                continue
            if tag not in ALLOWED_TAGS:
                if not match.group("close"):
                    problems.append(Problem(source.path, number, "warning",
                                            f"<{tag}> is removed from the published page (not allowed in articles)"))
                continue
            allowed = ALLOWED_ATTRIBUTES["*"] | ALLOWED_ATTRIBUTES.get(tag, frozenset())
            for attr in RAW_ATTR.finditer(match.group("attrs") or ""):
                name = attr.group("name").lower()
                value = (attr.group("value") or "").strip("\"'").strip().lower()
                if name not in allowed:
                    problems.append(Problem(source.path, number, "warning",
                                            f"attribute `{name}` on <{tag}> is removed (not allowed in articles)"))
                elif name in ("href", "src") and ":" in value.split("/")[0] and value.split(":")[0] not in URL_SCHEMES:
                    problems.append(Problem(source.path, number, "warning",
                                            f"the `{value.split(':')[0]}:` link on <{tag}> is removed (only http, https, mailto, tel)"))
    return problems


def check_link_targets(source: Source, html: str, content_root: Path, source_dir: Path) -> list[Problem]:
    """``{static}``/``{attach}``/``{filename}`` targets must exist inside content/ (no ``..`` escapes, no symlinks out)."""
    problems = []
    root = content_root.resolve()
    seen = set()
    for match in list(INTRASITE_LINK.finditer(html)) + list(MARKDOWN_LINK_TARGET.finditer(source.body)):
        what, target = match.group("what"), match.group("path")
        if (what, target) in seen:
            continue
        seen.add((what, target))
        shown = "{" + what + "}" + target
        line = body_line_of(source, shown)
        relative = target.replace("%20", " ")
        base = root if relative.startswith("/") else source_dir
        candidate = (base / relative.lstrip("/")).resolve()
        try:
            candidate.relative_to(root)
        except ValueError:
            problems.append(Problem(source.path, line, "error", f"`{shown}` points outside content/; link to a file under content/"))
            continue
        if not candidate.is_file():
            problems.append(Problem(source.path, line, "error", f"`{shown}` points to a file that does not exist"))
    return problems


def find_escaping_symlinks(content_root: Path) -> list[Problem]:
    """Symlinks under content/ that lead outside it: Pelican would follow them and publish what they point at.
    One ``scandir`` walk (links not followed): entry types come with the listing, so only links cost a call."""
    root = str(content_root.resolve())
    prefix, name = root + os.sep, os.path.basename(root)
    problems, folders = [], [root]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if target != root and not target.startswith(prefix):
                        problems.append(Problem(f"{name}/{entry.path[len(prefix):]}", 1, "error", "this symbolic link "
                                                "leads outside content/; replace it with the file itself"))
                elif entry.is_dir():
                    folders.append(entry.path)
    return sorted(problems)


def parse_date(value: str) -> dt.datetime | None:
    """Parse ``YYYY-MM-DD HH:MM``; None when the shape is wrong or the day does not exist."""
    match = DATE_SHAPE.match(value)
    if match is None:
        return None
    try:  # what strptime gives for the same shape, without its per-call locale and format work
        return dt.datetime(*(int(part) for part in match.groups() if part is not None))
    except ValueError:
        return None


def closest(word: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    return difflib.get_close_matches(word, list(candidates), n=n, cutoff=0.6)


# --- registries -------------------------------------------------------------------------------


@dataclasses.dataclass
class Entry:
    """One official, topic or person from a registry file."""

    kind: str
    slug: str
    title: str
    aliases: tuple[str, ...]
    fields: dict[str, str]
    body: str
    path: str

    @property
    def chinese_name(self) -> str:
        """The first alias in Chinese characters, if any."""
        return next((alias for alias in self.aliases if has_cjk(alias)), "")

    def name_in(self, lang: str) -> str:
        if lang.startswith("zh") and self.chinese_name:
            return self.chinese_name
        return self.title

    def role_in(self, lang: str) -> str:
        return self.text_in("role", lang)

    def text_in(self, key: str, lang: str) -> str:
        """The entry's ``role``, ``summary`` or ``description`` (its body) as a page in ``lang`` shows it: the
        Chinese text (``Role_Zh``, ``Summary_Zh``, ``Description_Zh``) on a Chinese page, when the entry has it,
        else the English (``has_text_in`` tells which)."""
        if self.has_text_in(key, lang) and lang.startswith("zh"):
            return self.fields[f"{key}_zh"]
        return self.body if key == "description" else self.fields.get(key, "")

    def has_text_in(self, key: str, lang: str) -> bool:
        """Whether ``text_in(key, lang)`` is in ``lang``: always in English, the registry's language; in Chinese
        when the entry has the field's Chinese text."""
        return not lang.startswith("zh") or bool(self.fields.get(f"{key}_zh"))

    def field(self, key: str) -> str:
        return self.fields.get(key, "")


class Registry:
    """Names of one kind (officials, topics or people) and every spelling that resolves to them."""

    def __init__(self, kind: str, entries: Iterable[Entry] = ()):
        self.kind = kind
        self.entries: dict[str, Entry] = {}
        self._by_key: dict[str, Entry] = {}
        self.problems: list[Problem] = []
        for entry in entries:
            self.add(entry)

    def add(self, entry: Entry, line_of: dict[str, int] | None = None) -> None:
        if entry.slug in self.entries:
            self.problems.append(
                Problem(entry.path, 1, "error", f"slug `{entry.slug}` is already used by {self.entries[entry.slug].path}")
            )
            return
        self.entries[entry.slug] = entry
        for name in (entry.title, *entry.aliases):
            key = name_key(name)
            other = self._by_key.get(key)
            if other is not None and other is not entry:
                line = (line_of or {}).get("aliases", 1)
                self.problems.append(
                    Problem(entry.path, line, "error", f"`{name}` also names {other.title} ({other.path}); names must be unique")
                )
                continue
            self._by_key[key] = entry

    def resolve(self, name: str) -> Entry | None:
        return self._by_key.get(name_key(name))

    def suggest(self, name: str) -> list[str]:
        """Display names of the entries whose spellings are closest to ``name``."""
        found = []
        for key in closest(name_key(name), self._by_key):
            title = self._by_key[key].title
            if title not in found:
                found.append(title)
        return found

    def __iter__(self) -> Iterator[Entry]:
        return iter(sorted(self.entries.values(), key=lambda e: e.slug))

    def __len__(self) -> int:
        return len(self.entries)


@dataclasses.dataclass
class Registries:
    officials: Registry
    topics: Registry
    people: Registry
    fingerprint: str = ""

    def __getitem__(self, kind: str) -> Registry:
        return getattr(self, kind)

    @property
    def problems(self) -> list[Problem]:
        return self.officials.problems + self.topics.problems + self.people.problems


def load_registry(kind: str, folder: Path, content_root: Path) -> tuple[Registry, list[bytes]]:
    registry = Registry(kind)
    raw = []
    if not folder.is_dir():
        return registry, raw
    allowed = REGISTRY_KEYS[kind]
    for path in sorted(folder.glob("*.md")):
        data = path.read_bytes()
        raw.append(path.name.encode() + b"\0" + data)
        shown = str(path.relative_to(content_root.parent)) if content_root else str(path)
        text, problems = decode_source(shown, data)
        registry.problems.extend(problems)
        if text is None:
            continue
        source = parse_source(shown, text)
        registry.problems.extend(p for p in source.problems if not p.message.startswith("the file has a header"))
        for key in source.fields:
            if key not in allowed:
                message = f"unknown key `{key.title()}` in this entry of the {kind} registry{key_advice(key, allowed)}"
                registry.problems.append(Problem(shown, source.line(key), "error", message))
        title = source.get("title")
        if not title:
            registry.problems.append(Problem(shown, 1, "error", "a registry entry needs `Title:` (the display name)"))
            continue
        slug = source.get("slug") or path.stem
        entry = Entry(
            kind=kind,
            slug=slug,
            title=title,
            aliases=tuple(split_list(source.get("aliases"))),
            fields={key: field.value for key, field in source.fields.items()},
            body=source.body.strip(),
            path=shown,
        )
        registry.add(entry, {key: f.line for key, f in source.fields.items()})
    return registry, raw


def load_registries(content_root: Path) -> Registries:
    """Read ``content/officials``, ``content/topics`` and ``content/people``."""
    content_root = Path(content_root)
    loaded = {}
    digest = hashlib.sha256()
    for kind in ("officials", "topics", "people"):
        registry, raw = load_registry(kind, content_root / kind, content_root)
        loaded[kind] = registry
        for item in raw:
            digest.update(kind.encode() + b"\0" + item)
    return Registries(**loaded, fingerprint=digest.hexdigest())


# --- validation ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Settings:
    """The part of the site settings that validation needs."""

    languages: tuple[str, ...] = ("en", "zh")
    default_lang: str = "en"
    sections: tuple[str, ...] = ("News", "Policy", "Meetings", "Speeches", "Interpretation")
    default_section: str = "News"

    @classmethod
    def from_pelican(cls, settings: dict) -> Settings:
        return cls(
            languages=tuple(settings.get("PORTAL_LANGUAGES", {"en": None, "zh": None})),
            default_lang=settings.get("DEFAULT_LANG", "en"),
            sections=tuple(settings.get("PORTAL_SECTIONS", {s: None for s in cls.sections})),
            default_section=settings.get("DEFAULT_CATEGORY", "News"),
        )


def resolve_names(source: Source, key: str, registry: Registry, severity: str = "error") -> list[Entry]:
    """Resolve each name of a list field, recording a problem with suggestions for each that fails."""
    entries = []
    for name in split_list(source.get(key)):
        entry = registry.resolve(name)
        if entry is None:
            suggestions = registry.suggest(name)
            if suggestions:
                advice = "did you mean " + " or ".join(suggestions) + "?"
            else:
                advice = f"add content/{registry.kind}/<slug>.md for it, or check the spelling"
            noun = {"officials": "official", "topics": "topic", "people": "person"}[registry.kind]
            source.problem(key, severity, f"unknown {noun} `{name}` in `{key.title()}`: {advice}")
        elif entry not in entries:
            entries.append(entry)
    return entries


def check_keys(source: Source, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    for key in source.fields:
        if key in allowed:
            continue
        source.problem(key, "error", f"unknown metadata key `{key.title()}`{key_advice(key, allowed)}")


def key_advice(key: str, allowed: Iterable[str]) -> str:
    """``; did you mean `Key`?`` for a misspelt metadata key, or the keys there are (as editors write them)."""
    allowed = tuple(allowed)
    hint = closest(key, allowed, 1)
    return f"; did you mean `{hint[0].title()}`?" if hint else f"; known keys: {', '.join(k.title() for k in allowed)}"


def check_date(source: Source, key: str) -> dt.datetime | None:
    value = source.get(key)
    if not value:
        return None
    parsed = parse_date(value)
    if parsed is None:
        if DATE_SHAPE.match(value):
            source.problem(key, "error", f"`{key.title()}: {value}` is not a real date or time; check the day and month")
        else:
            source.problem(key, "error", f"`{key.title()}: {value}` must be written YYYY-MM-DD HH:MM, e.g. 2026-03-18 09:30")
    return parsed


def validate_article(source: Source, registries: Registries, settings: Settings) -> dict[str, object]:
    """Check an article's header against the content model; returns the resolved values.

    Problems are appended to ``source.problems``; the caller decides whether they stop a build.
    """
    check_keys(source, ARTICLE_KEYS + PELICAN_KEYS)
    for key in REQUIRED_ARTICLE_KEYS:
        if not source.get(key):
            example = {
                "title": "Title: Lanhai opens metro line 4",
                "date": "Date: 2026-03-18 09:30",
                "topics": "Topics: Public transport",
                "editors": "Editors: Zhou Yiran",
            }[key]
            source.problem(key if key in source.fields else None, "error", f"`{key.title()}` is required; add a line like `{example}`")
    date = check_date(source, "date")
    modified = check_date(source, "modified")
    if date and modified and modified < date:
        source.problem("modified", "error", "`Modified` is earlier than `Date`; it must be the same or later")
    lang = source.get("lang", settings.default_lang)
    if lang not in settings.languages:
        source.problem("lang", "error", f"`Lang: {lang}` is not supported; use one of {', '.join(settings.languages)}")
    category = source.get("category", settings.default_section)
    if category not in settings.sections:
        hint = closest(category, settings.sections, 1)
        advice = f"did you mean {hint[0]}?" if hint else f"use one of {', '.join(settings.sections)}"
        source.problem("category", "error", f"unknown section `{category}`: {advice}")
    if source.get("image") and not source.get("image_alt"):
        source.problem("image", "error", "`Image` needs `Image_Alt`: describe the picture for readers who cannot see it")
    if source.get("image_alt") and not source.get("image"):
        source.problem("image_alt", "warning", "`Image_Alt` is given without `Image`")
    slug = source.get("slug")
    if slug and not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug):
        source.problem("slug", "error", f"`Slug: {slug}` must be lowercase letters, digits and hyphens, e.g. lanhai-metro-line-4")
    resolved: dict[str, object] = {"date": date, "modified": modified, "lang": lang, "category": category}
    for key, kind in RESOLVED_KEYS.items():
        registry = registries[kind]
        if kind == "people":
            # Bylines: a name outside the people registry is a warning, and stays as the plain name written,
            # so nothing an editor wrote disappears.
            names = split_list(source.get(key))
            if len(registry):
                resolve_names(source, key, registry, "warning")
            resolved[key] = [registry.resolve(name) or name for name in names]
        else:
            resolved[key] = resolve_names(source, key, registry, "error")
    return resolved


def validate_page(source: Source, settings: Settings) -> None:
    check_keys(source, PAGE_KEYS + PELICAN_KEYS)
    if not source.get("title"):
        source.problem(None, "error", "`Title` is required; add a line like `Title: About this portal`")
    check_date(source, "date")
    lang = source.get("lang", settings.default_lang)
    if lang not in settings.languages:
        source.problem("lang", "error", f"`Lang: {lang}` is not supported; use one of {', '.join(settings.languages)}")


def slug_from_filename(path: str, languages: Iterable[str]) -> str:
    """``metro-line-4.zh.md`` gives ``metro-line-4``: translations share the slug of the original."""
    stem = Path(path).stem
    for lang in languages:
        if stem.endswith("." + lang):
            return stem[: -len(lang) - 1]
    return stem
