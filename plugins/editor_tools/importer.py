"""`invoke import`: raw wire copy (English or Chinese) in, an article file under content/articles/ out.

What it recognises is listed in ``WireParser``; everything it writes goes through the content model's registries
(``content_model.model``) and is checked by ``invoke check`` before the command returns.
"""

from __future__ import annotations

import argparse
import codecs
import dataclasses
import datetime as dt
import re
import sys
from pathlib import Path

from .common import (
    ToolError,
    article_file,
    content_root,
    key_label,
    model,
    parse_cli_date,
    shown_path,
    site_settings,
    slugify,
)
from .names import split_credit

MONTHS = {name: index for index, names in enumerate(
    [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
     ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
     ("december", "dec")], start=1) for name in names}
MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
TIME_AFTER = r"(?:\s*(?:T|,)?\s*(?P<hour>\d{1,2})\s*(?:[:：]|时)\s*(?P<minute>\d{2})(?:\s*分|[:：]\d{2})?)?"
DATE_PATTERNS = (
    re.compile(r"(?<!\d)(?P<year>\d{4})[-/.](?P<month>\d{1,2})[-/.](?P<day>\d{1,2})(?!\d)" + TIME_AFTER),
    re.compile(r"(?<!\d)(?P<year>\d{4})\s*年\s*(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*日" + TIME_AFTER),
    re.compile(rf"(?<!\d)(?P<day>\d{{1,2}})\s+(?P<monthname>{MONTH_NAMES})\.?,?\s+(?P<year>\d{{4}})(?!\d)" + TIME_AFTER,
               re.I),
    re.compile(rf"\b(?P<monthname>{MONTH_NAMES})\.?\s+(?P<day>\d{{1,2}}),?\s+(?P<year>\d{{4}})(?!\d)" + TIME_AFTER,
               re.I),
)
BOILERPLATE = re.compile(r"Sharing let more people see\.?|分享让更多人看到[。！!]?", re.I)
ORIGINAL_TITLE = re.compile(r"^[【\[（(]?\s*(?:original\s+title|原标题|原題)\s*[:：]\s*", re.I)
REPORTER_PAREN = re.compile(
    r"[(（]\s*(?:reporters?(?:\s*[:：]\s*|\s+)|(?:本报)?记者\s*[:：]?\s*)(?P<names>[^()（）\n]{1,80}?)\s*[)）]", re.I
)
EDITOR_PAREN = re.compile(
    r"[(（【\[]\s*(?:(?:responsible\s+editors?|editors?|edited\s+by)(?:\s*[:：]\s*|\s+)|(?:责任编辑|责编|编辑)\s*[:：]?\s*)"
    r"(?P<names>[^()（）【】\[\]\n]{1,80}?)\s*[)）】\]]",
    re.I,
)
REPORTER_LINE = re.compile(r"^(?:reporters?|by)\s*[:：]\s*(?P<names>.+)$|^(?:记者)\s*[:：]\s*(?P<zh>.+)$", re.I)
EDITOR_LINE = re.compile(r"^(?:responsible\s+editors?|editors?|责任编辑|责编|编辑)\s*[:：]\s*(?P<names>.+)$", re.I)
OUR_REPORTER = re.compile(r"^本报记者[\s\u3000:：]*")
SOURCE_LABEL = re.compile(r"(?:^|(?<=\s)|(?<=[|｜]))(?:source|来源|稿源|新闻来源)\s*[:：]\s*", re.I)
SOURCE_END = re.compile(r"\s{2,}|\u3000|\s*[|｜]|\s+(?:作者|编辑|责任编辑|记者|字号|浏览|editor|reporter|author)\b", re.I)
DATELINE_LABELS = re.compile(
    r"(?:发布时间|发布日期|更新时间|时间|日期|published|updated|posted|date)\s*[:：]?|"
    r"\b(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\b|星期[一二三四五六日天]|周[一二三四五六日]",
    re.I,
)
# A credit's names: letters, CJK, spaces and the separators names are listed with; nothing like a sentence.
NAME_LIST = re.compile(r"^[^\W\d_][\w\s·.'’\-,，、;；&＆]*$")
CREDIT_PARTS = re.compile(r"\s*(?:[,，、;；&＆]|\band\b)\s*", re.I)
SENTENCE_END = tuple(".!?。！？…\"”’」』)）:：;；")
LATIN = re.compile(r"[A-Za-z]+")
CJK_PUNCTUATION = re.compile(r"[\u3000-\u303f\uff00-\uffef]")
LEADING_NAME = re.compile(r"([\u3400-\u9fff·]{2,4}|[A-Z][a-z]+(?: [A-Z][a-z]+){1,2})(?=[\s\u3000、，,]|$)[\s\u3000、，,]*")


class ImportRefused(ToolError):
    """This file cannot be imported as it is; the message says why and what to do."""


@dataclasses.dataclass
class Wire:
    """What the parser found in one wire text."""

    headline: str = ""
    original_title: str = ""
    reporters: list[str] = dataclasses.field(default_factory=list)
    editors: list[str] = dataclasses.field(default_factory=list)
    source: str = ""
    date: str = ""
    date_problem: str = ""
    paragraphs: list[str] = dataclasses.field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join([self.headline, self.original_title, *self.paragraphs])


def decode_wire(shown: str, data: bytes) -> str:
    """UTF-8 (BOM or not), UTF-16 with a BOM, or GBK/GB18030 Chinese; anything else is refused with the reason."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return _newlines(data.decode("utf-16"))
        except UnicodeDecodeError:
            pass
    elif b"\x00" in data:
        raise ImportRefused(f"{shown}:1: error: this is a binary file, not text; export the wire copy as plain text")
    try:
        return _newlines(data.decode("utf-8-sig"))
    except UnicodeDecodeError as utf8_error:
        first_bad_line = data[: utf8_error.start].count(b"\n") + 1
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        non_ascii = [ch for ch in text if ord(ch) > 127]
        chinese = sum(1 for ch in non_ascii if model.has_cjk(ch) or CJK_PUNCTUATION.match(ch))
        # GB18030 decodes many byte strings; only text that comes out as Chinese was really GBK/GB18030.
        if non_ascii and chinese >= 0.9 * len(non_ascii):
            return _newlines(text)
    raise ImportRefused(
        f"{shown}:{first_bad_line}: error: the file is neither UTF-8 nor GBK/GB18030 Chinese text; open it in a "
        "text editor and save it as UTF-8, then import it again"
    )


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def find_date(line: str) -> tuple[re.Match | None, str, str]:
    """The earliest date on a line: (match, ``YYYY-MM-DD HH:MM``, problem); a day that does not exist is a problem."""
    found = None
    for pattern in DATE_PATTERNS:
        match = pattern.search(line)
        if match and (found is None or match.start() < found.start()):
            found = match
    if found is None:
        return None, "", ""
    parts = found.groupdict()
    month = MONTHS[parts["monthname"].lower()] if parts.get("monthname") else int(parts["month"])
    try:
        value = dt.datetime(int(parts["year"]), month, int(parts["day"]),
                            int(parts["hour"] or 0), int(parts["minute"] or 0))
    except ValueError:
        return found, "", f"the date `{found.group(0).strip()}` does not exist"
    return found, value.strftime("%Y-%m-%d %H:%M"), ""


def name_like(names: str) -> bool:
    """Whether a credit's text is a list of names (Chinese names of 2-4 characters, romanised ones of 1-4
    words) rather than words that happen to follow "记者" or "Editor" in a sentence."""
    names = names.strip()
    if not names or not NAME_LIST.match(names):
        return False
    for part in CREDIT_PARTS.split(names):
        if model.has_cjk(part):
            if any(not 2 <= len(name) <= 4 for name in part.split()):
                return False
        elif len(part.split()) > 6:
            return False
    return True


class WireParser:
    """Reads wire copy. Recognised, in English and Chinese:

    - the headline: the first non-empty line;
    - ``Original title: ...`` / ``原标题：...`` (ending where a credit starts on the same line);
    - reporters: ``(Reporter A B)``, ``(Reporters: A and B)``, ``(Reporter: A, B)``, ``（记者 张三 李四）``,
      ``本报记者 张三``, ``Reporter: A`` / ``记者：张三`` on a line of their own;
    - editors: ``(Editor: A, B)``, ``(Editors: A and B)``, ``(Responsible editor: A)``, ``（责任编辑：A、B）``,
      ``（编辑：A）``, ``【责任编辑：A】``, ``Editor: A`` / ``责任编辑：A`` on a line of their own;
    - the source: ``Source: X`` / ``来源：X`` on its own line or on a dateline;
    - the date, on a dateline before the first paragraph (or at the start of it): ``2022-09-18``,
      ``2022-09-18 08:30``, ``18 September 2022``, ``September 18, 2022``, ``2022年9月18日``;
    - boilerplate, dropped: ``Sharing let more people see.``, ``分享让更多人看到``.
    """

    def __init__(self, people: model.Registry | None, lang: str | None = None):
        self.people = people
        self.lang = lang

    def parse(self, text: str) -> Wire:
        wire = Wire()
        raw_names: dict[str, list[str]] = {"reporters": [], "editors": []}
        body_lines: list[tuple[str, bool]] = []  # (text, blank line before it)
        blank_before = False
        dateline_searched = False
        for raw in text.split("\n"):
            line = BOILERPLATE.sub("", raw).strip()
            if not line:
                blank_before = True
                continue
            if not wire.headline:
                wire.headline = line
                blank_before = False
                continue
            match = ORIGINAL_TITLE.match(line)
            if match and not wire.original_title:
                rest = line[match.end():]
                credit = self._first_credit(rest)
                title, line = (rest[: credit.start()], rest[credit.start():]) if credit else (rest, "")
                wire.original_title = title.strip().rstrip("】]）)").strip()
            line = self._take_credits(line, raw_names)
            line = self._take_source(line, wire, anywhere=not body_lines)
            if not body_lines and not dateline_searched and line:
                line = self._take_dateline(line, wire)
                if line:
                    dateline_searched = True
            line = line.strip()
            if line:
                body_lines.append((line, blank_before))
            blank_before = False
        wire.paragraphs = self._paragraphs(body_lines)
        lang = self.lang or detect_language(wire.text)
        for key in ("reporters", "editors"):
            names: list[str] = []
            for credit in raw_names[key]:
                for name in split_credit(credit, self.people, lang):
                    if name not in names:
                        names.append(name)
            setattr(wire, key, names)
        return wire

    @staticmethod
    def _first_credit(text: str) -> re.Match | None:
        matches = (REPORTER_PAREN.search(text), EDITOR_PAREN.search(text))
        found = [m for m in matches if m and name_like(m.group("names"))]
        return min(found, key=lambda m: m.start()) if found else None

    def _take_credits(self, line: str, raw_names: dict[str, list[str]]) -> str:
        for key, pattern in (("reporters", REPORTER_PAREN), ("editors", EDITOR_PAREN)):
            if pattern.search(line):
                def take(match: re.Match, key: str = key) -> str:
                    if not name_like(match.group("names")):
                        return match.group(0)
                    raw_names[key].append(match.group("names"))
                    return ""
                line = pattern.sub(take, line)
        line = re.sub(r"[ \t]{2,}", " ", line).strip()
        match = OUR_REPORTER.match(line)
        if match:
            names, rest = self._leading_chinese_names(line[match.end():])
            if names:
                raw_names["reporters"].append("、".join(names))
                line = rest
        for key, pattern in (("reporters", REPORTER_LINE), ("editors", EDITOR_LINE)):
            match = pattern.match(line)
            if match:
                names = match.group("names") or match.groupdict().get("zh") or ""
                if name_like(names):
                    raw_names[key].append(names)
                    return ""
        return line

    def _leading_chinese_names(self, text: str) -> tuple[list[str], str]:
        """``张三 李四 报道 正文…`` gives (["张三", "李四"], "正文…"): names are short tokens before the text."""
        names: list[str] = []
        rest = text
        while rest:
            match = LEADING_NAME.match(rest)
            if not match:
                break
            token = match.group(1)
            rest = rest[match.end():]
            if token in ("报道", "摄影", "采写"):
                break
            names.extend(self._split_joined_chinese(token))
        return names, rest.strip()

    def _split_joined_chinese(self, token: str) -> list[str]:
        """``周怡然李然`` is two people when the registry knows both; otherwise one name."""
        if self.people is None or len(token) < 4 or self.people.resolve(token):
            return [token]
        for cut in range(2, len(token) - 1):
            if self.people.resolve(token[:cut]) and self.people.resolve(token[cut:]):
                return [token[:cut], token[cut:]]
        return [token]

    @staticmethod
    def _take_source(line: str, wire: Wire, anywhere: bool) -> str:
        """``Source: X`` on a line of its own, or anywhere on a line before the first paragraph (a dateline);
        later in the text "Source:" inside a paragraph credits a figure or a table, not the article."""
        match = SOURCE_LABEL.search(line)
        if not match or (match.start() > 0 and not anywhere):
            return line
        value = line[match.end():]
        end = SOURCE_END.search(value)
        date, _, _ = find_date(value)
        cut = min([m.start() for m in (end, date) if m] or [len(value)])
        source = value[:cut].strip(" ,，;；。")
        if not source:
            return line
        if not wire.source:
            wire.source = source
        return (line[: match.start()] + " " + value[cut:]).strip()

    @staticmethod
    def _take_dateline(line: str, wire: Wire) -> str:
        """Take the date from a dateline near the top; drop the line when it is nothing but a dateline."""
        match, value, problem = find_date(line)
        if match is None or match.start() > 40:
            return line
        wire.date, wire.date_problem = value, problem
        rest = line[: match.start()] + " " + line[match.end():]
        rest = DATELINE_LABELS.sub(" ", rest)
        words = re.sub(r"[\W_]+", " ", rest).split()
        cjk = sum(model.has_cjk(ch) for ch in rest)
        return "" if len(words) <= 2 and cjk <= 8 else line

    @staticmethod
    def _paragraphs(lines: list[tuple[str, bool]]) -> list[str]:
        """One paragraph per line; an English line that was hard-wrapped mid-sentence is joined to the next."""
        paragraphs: list[str] = []
        for text, blank_before in lines:
            previous = paragraphs[-1] if paragraphs else ""
            if (previous and not blank_before and len(previous) > 50 and not previous.endswith(SENTENCE_END)
                    and not model.has_cjk(previous[-1:]) and not model.has_cjk(text[:1])):
                paragraphs[-1] = f"{previous} {text}"
            else:
                paragraphs.append(text)
        return paragraphs


def detect_language(text: str) -> str:
    """``zh`` when Chinese characters outnumber Latin words, else ``en``."""
    chinese = sum(1 for ch in text if model.has_cjk(ch))
    return "zh" if chinese and chinese >= len(LATIN.findall(text)) else "en"


class NameFinder:
    """Every official or topic named in a text, by registry title or alias (whole words for Latin script)."""

    def __init__(self, registry: model.Registry):
        self.patterns: list[tuple[re.Pattern, model.Entry]] = []
        for entry in registry:
            for name in (entry.title, *entry.aliases):
                self.patterns.append((self._pattern(name), entry))

    @staticmethod
    def _pattern(name: str) -> re.Pattern:
        if model.has_cjk(name):
            return re.compile(re.escape(name.strip()))
        if name.isupper() and len(name) <= 5:
            # Acronyms (IP, IPR) match in capitals only: "ip" in ordinary text is not the topic.
            return re.compile(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])")
        # Names compare as model.name_key does: spaces and hyphens anywhere do not matter (Liang Shu-wen).
        letters = [re.escape(ch) for ch in model.NAME_NOISE.sub("", name)]
        body = r"[\s\-_.·'’]?".join(letters)
        return re.compile(rf"(?<![A-Za-z0-9]){body}(?![A-Za-z0-9])", re.I)

    def find(self, text: str) -> list[model.Entry]:
        first: dict[str, tuple[int, model.Entry]] = {}
        for pattern, entry in self.patterns:
            match = pattern.search(text)
            if match and (entry.slug not in first or match.start() < first[entry.slug][0]):
                first[entry.slug] = (match.start(), entry)
        return [entry for _, entry in sorted(first.values(), key=lambda item: (item[0], item[1].slug))]


@dataclasses.dataclass
class Existing:
    """Headers of the articles already in content/: where each (language, title) and (language, slug) lives."""

    by_title: dict[tuple[str, str], Path]
    slugs: set[tuple[str, str]]

    @classmethod
    def scan(cls, root: Path) -> Existing:
        settings = site_settings()
        by_title: dict[tuple[str, str], Path] = {}
        slugs: set[tuple[str, str]] = set()
        for top in settings.article_paths:
            for path in sorted((root / top).rglob("*.md")) if (root / top).is_dir() else []:
                text, _ = model.decode_source(path.name, path.read_bytes())
                if text is None:
                    continue
                header = text.split("\n\n", 1)[0]
                source = model.parse_source(path.name, header + "\n\n.")
                lang = source.get("lang") or settings.model.default_lang
                slug = source.get("slug") or model.slug_from_filename(path.name, settings.model.languages)
                by_title.setdefault((lang, model.name_key(source.get("title"))), path)
                slugs.add((lang, slug))
        return cls(by_title, slugs)


def render_article(fields: dict[str, str], paragraphs: list[str]) -> str:
    lines = []
    for key, value in fields.items():
        value = " ".join(str(value).split())
        lines.append(f"{key_label(key)}: {value}".rstrip())
    return "\n".join(lines) + "\n\n" + "\n\n".join(paragraphs) + "\n"


@dataclasses.dataclass
class Imported:
    path: Path
    text: str
    wire: Wire


def build_article(source_path: Path, root: Path, date: str | None = None, lang: str | None = None,
                  registries: model.Registries | None = None, existing: Existing | None = None,
                  force: bool = False) -> Imported:
    """Parse one wire file and decide the article's text and path; raises ImportRefused with the reason."""
    settings = site_settings()
    shown = str(source_path)
    registries = registries or model.load_registries(root)
    if lang and lang not in settings.model.languages:
        raise ImportRefused(f"error: --lang {lang} is not supported; use one of {', '.join(settings.model.languages)}")
    try:
        data = source_path.read_bytes()
    except OSError as exc:
        raise ImportRefused(f"{shown}:1: error: cannot read the file ({exc.strerror})") from None
    text = decode_wire(shown, data)
    if not text.strip():
        raise ImportRefused(f"{shown}:1: error: the file is empty")
    wire = WireParser(registries.people, lang).parse(text)
    lang = lang or detect_language(wire.text)
    if date:
        date = parse_cli_date(date)
    elif wire.date_problem:
        raise ImportRefused(f"{shown}:1: error: {wire.date_problem}; nothing was written. Give the date with "
                            "--date 'YYYY-MM-DD HH:MM'")
    elif wire.date:
        date = wire.date
    else:
        raise ImportRefused(f"{shown}:1: error: the text has no date near the top; nothing was written. Give it with "
                            "--date 'YYYY-MM-DD HH:MM' (e.g. --date '2022-09-18 08:30')")
    if not wire.paragraphs:
        raise ImportRefused(f"{shown}:1: error: no article text was found after the headline; nothing was written")
    officials = NameFinder(registries.officials).find(wire.text)
    topics = NameFinder(registries.topics).find(wire.text)
    fields = {
        "title": wire.headline,
        "date": date,
        "slug": "",
        "lang": lang,
        "category": settings.model.default_section,
        "topics": ", ".join(entry.name_in(lang) for entry in topics),
        "officials": ", ".join(entry.name_in(lang) for entry in officials),
        "reporters": ", ".join(wire.reporters),
        "editors": ", ".join(wire.editors),
        "source": wire.source,
        "original_title": wire.original_title,
    }
    existing = existing or Existing.scan(root)
    same_title = existing.by_title.get((lang, model.name_key(wire.headline)))
    if same_title is not None:
        # Importing the same story again replaces it (with --force) instead of adding a duplicate.
        path = same_title
        fields["slug"] = model.slug_from_filename(path.name, settings.model.languages)
    else:
        base = slugify(wire.headline, lang) or f"article-{date[:10]}"
        slug, number = base, 2
        while (lang, slug) in existing.slugs or article_file(root, date, slug, lang).exists():
            slug, number = f"{base}-{number}", number + 1
        fields["slug"] = slug
        path = article_file(root, date, slug, lang)
    if path.exists() and not force:
        raise ImportRefused(f"{shown}:1: error: {shown_path(path, root)} already exists (the same headline); nothing "
                            "was written. Add --force to replace it")
    kept = {key: value for key, value in fields.items() if value or key in model.REQUIRED_ARTICLE_KEYS}
    return Imported(path, render_article(kept, wire.paragraphs), wire)


def run(files: list[str], content: str | None = None, date: str | None = None, lang: str | None = None,
        force: bool = False, out=None, err=None) -> int:
    """The `invoke import` command. Returns 0 when every file was imported and passes `invoke check`, else 1."""
    from .check import Checker

    out = out or sys.stdout
    err = err or sys.stderr
    if not files:
        print("error: give the wire text file(s) to import, e.g. invoke import wire/story.txt", file=err)
        return 2
    try:
        root = content_root(content)
        if date:
            parse_cli_date(date)
    except ToolError as exc:
        print(exc, file=err)
        return 2
    registries = model.load_registries(root)
    existing = Existing.scan(root)
    written: list[Path] = []
    failed = 0
    for name in files:
        try:
            imported = build_article(Path(name), root, date, lang, registries, existing, force)
        except ToolError as exc:
            print(exc, file=err)
            failed += 1
            continue
        imported.path.parent.mkdir(parents=True, exist_ok=True)
        imported.path.write_text(imported.text, encoding="utf-8")
        settings = site_settings()
        lang_written = re.search(r"^Lang: (\S+)", imported.text, re.M).group(1)
        existing.by_title[(lang_written, model.name_key(imported.wire.headline))] = imported.path
        existing.slugs.add((lang_written, model.slug_from_filename(imported.path.name, settings.model.languages)))
        written.append(imported.path)
        print(_display(imported.path), file=out)
    if written:
        problems = Checker(root).run(written)
        for problem in problems:
            print(problem, file=err)
        if any(p.severity == "error" for p in problems):
            print("The file(s) above were written but need the fixes listed before they can be published; "
                  "then run `invoke check`.", file=err)
            failed += 1
    return 1 if failed else 0


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="import", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--content")
    parser.add_argument("--date")
    parser.add_argument("--lang")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    return run(args.files, args.content, args.date, args.lang, args.force)


if __name__ == "__main__":
    sys.exit(main())
