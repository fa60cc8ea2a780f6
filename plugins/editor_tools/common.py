"""What `invoke new`, `invoke import` and `invoke check` share: site settings, the content folder, slugs, dates."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import runpy
import sys
import unicodedata
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "plugins") not in sys.path:
    sys.path.insert(0, str(ROOT / "plugins"))

from content_model import model  # noqa: E402

CONTENT_ENV = "PORTAL_CONTENT"
SLUG_WORDS = 6
SLUG_CHARS = 60
# Words that make English slugs longer without making them clearer.
SLUG_STOPWORDS = frozenset("a an and as at by for from in into of on or the to with".split())
STATUSES = ("published", "hidden", "draft", "skip")


class ToolError(Exception):
    """A problem that stops a tool; its message is printed as it is, for an editor to read."""


@dataclasses.dataclass(frozen=True)
class SiteSettings:
    """The settings the editors' tools need, read from pelicanconf.py once."""

    model: model.Settings
    article_paths: tuple[str, ...]
    page_paths: tuple[str, ...]
    static_paths: tuple[str, ...]
    article_excludes: tuple[str, ...]
    page_excludes: tuple[str, ...]
    ignore_files: tuple[str, ...]
    urls: dict[str, str]
    timezone: str
    default_path: Path
    embed_hosts: tuple[str, ...] = ()
    check_cache: Path = ROOT / "cache" / "check"


@lru_cache(maxsize=1)
def site_settings() -> SiteSettings:
    """pelicanconf.py run as a plain Python file: milliseconds, where Pelican's read_settings takes much longer."""
    conf = {key: value for key, value in runpy.run_path(str(ROOT / "pelicanconf.py")).items() if key.isupper()}
    url_keys = ("ARTICLE_URL", "ARTICLE_SAVE_AS", "ARTICLE_LANG_URL", "ARTICLE_LANG_SAVE_AS", "DRAFT_URL",
                "DRAFT_SAVE_AS", "DRAFT_LANG_URL", "DRAFT_LANG_SAVE_AS", "PAGE_URL", "PAGE_SAVE_AS", "PAGE_LANG_URL",
                "PAGE_LANG_SAVE_AS")
    return SiteSettings(
        model=model.Settings.from_pelican(conf),
        article_paths=tuple(conf.get("ARTICLE_PATHS", [""])),
        page_paths=tuple(conf.get("PAGE_PATHS", ["pages"])),
        static_paths=tuple(conf.get("STATIC_PATHS", ["images"])),
        article_excludes=tuple(conf.get("ARTICLE_EXCLUDES", [])),
        page_excludes=tuple(conf.get("PAGE_EXCLUDES", [])),
        ignore_files=tuple(conf.get("IGNORE_FILES", [".#*"])),
        urls={key: conf[key] for key in url_keys if key in conf},
        timezone=conf.get("TIMEZONE", "UTC"),
        default_path=(ROOT / conf.get("PATH", "content")).resolve(),
        embed_hosts=tuple(host.lower() for host in conf.get("PORTAL_EMBED_HOSTS", ())),
        # `invoke check`'s results cache: CHECK_CACHE_PATH, else "check" next to CACHE_PATH (as the build's caches)
        check_cache=(ROOT / (conf.get("CHECK_CACHE_PATH") or Path(conf.get("CACHE_PATH", "cache")).parent / "check"))
        .resolve(),
    )


def content_root(option: str | os.PathLike | None = None) -> Path:
    """The content folder: ``--content``, else $PORTAL_CONTENT, else PATH from pelicanconf.py."""
    chosen = option or os.environ.get(CONTENT_ENV)
    root = Path(chosen).expanduser().resolve() if chosen else site_settings().default_path
    if not root.is_dir():
        raise ToolError(f"error: the content folder {root} does not exist; check --content or ${CONTENT_ENV}")
    return root


def shown_path(path: Path, root: Path) -> str:
    """How messages name a file: relative to the folder holding content/, as the build prints it."""
    try:
        return path.relative_to(root.parent).as_posix()
    except ValueError:
        return str(path)


def key_label(key: str) -> str:
    """``original_title`` is written ``Original_Title`` in a header, as in the sample content."""
    return "_".join(part.title() for part in key.split("_"))


def slugify(headline: str, lang: str = "en") -> str:
    """A short ASCII slug: English words without filler, Chinese through pinyin (words kept together)."""
    words: list[str] = []
    for chunk in _pinyin_words(headline) if model.has_cjk(headline) else [headline]:
        ascii_text = unicodedata.normalize("NFKD", chunk).encode("ascii", "ignore").decode().lower()
        words.extend(word for word in re.findall(r"[a-z0-9]+", ascii_text))
    significant = [w for w in words if w not in SLUG_STOPWORDS] or words
    slug = ""
    for word in significant[:SLUG_WORDS]:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > SLUG_CHARS and slug:
            break
        slug = candidate
    return slug[:SLUG_CHARS].strip("-")


def _pinyin_words(text: str) -> list[str]:
    """Pinyin, two characters to a slug word: 老旧小区改造 gives laojiu, xiaoqu, gaizao.

    Most Chinese words have two characters, so pairs read better than one word per syllable; each run of Chinese
    characters goes to pypinyin whole, so its phrase dictionary picks the reading (重庆 gives chongqing)."""
    from pypinyin import Style, lazy_pinyin

    words: list[str] = []
    for run in re.split(r"([\u3400-\u9fff\uf900-\ufaff]+)", text):
        if not model.has_cjk(run):
            words.append(run)
            continue
        syllables = lazy_pinyin(run, style=Style.NORMAL, errors="ignore")
        words.extend("".join(syllables[start : start + 2]) for start in range(0, len(syllables), 2))
    return words


def parse_cli_date(value: str) -> str:
    """``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM`` from the command line, returned as the header writes it."""
    text = value.strip().replace("T", " ")
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
        text += " 00:00"
    match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{2})", text)
    if not match:
        raise ToolError(
            f"error: --date {value!r} must be written YYYY-MM-DD or 'YYYY-MM-DD HH:MM', e.g. 2026-03-18 09:30"
        )
    year, month, day, hour, minute = (int(part) for part in match.groups())
    try:
        return dt.datetime(year, month, day, hour, minute).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        raise ToolError(f"error: --date {value!r} is not a real date or time; check the day and month") from None


def now_in_site_timezone() -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(site_settings().timezone)).replace(second=0, microsecond=0, tzinfo=None)


def article_file(root: Path, date: str, slug: str, lang: str) -> Path:
    """``articles/YYYY/<slug>.md``; other languages than the default are ``<slug>.<lang>.md`` (as content/ does)."""
    settings = site_settings()
    folder = root / (settings.article_paths[0] if settings.article_paths else "") / date[:4]
    suffix = "" if lang == settings.model.default_lang else f".{lang}"
    return folder / f"{slug}{suffix}.md"

# What `invoke new` writes into a body, so `invoke check` can tell an unfinished article from a written one.
NEW_HINTS_MARKER = "<!-- invoke new:"
NEW_PLACEHOLDER = "WRITE THE ARTICLE HERE, one paragraph per block, with a blank line between paragraphs."
