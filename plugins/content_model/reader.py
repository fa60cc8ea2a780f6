"""Pelican reader for the portal's Markdown: header with line numbers, one Markdown instance, sanitised HTML."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from html import unescape
from pathlib import Path

import markdown
import nh3
from pelican.readers import BaseReader

from . import model

logger = logging.getLogger(__name__)

TAG_RE = re.compile(r"<[^>]+>")
SPACE_RE = re.compile(r"\s+")
SUMMARY_CHARS = {"zh": 120, "en": 280}


IFRAME_RE = re.compile(r"<iframe\b[^>]*>.*?</iframe>|<iframe\b[^>]*/?>", re.S | re.I)
IFRAME_HOST_RE = re.compile(r"""src\s*=\s*["']https://([^/"'\s>]+)/""", re.I)


def sanitise(html: str, embed_hosts: tuple[str, ...] = ()) -> str:
    """Allow-list sanitising of rendered Markdown (raw HTML in articles passes Python-Markdown untouched).

    Video embeds (``<iframe>``) survive only from hosts listed in ``PORTAL_EMBED_HOSTS``, over https.
    """
    tags = set(model.ALLOWED_TAGS)
    if embed_hosts:
        tags.add("iframe")

        def keep_listed(match: re.Match) -> str:
            host = IFRAME_HOST_RE.search(match.group(0))
            return match.group(0) if host and host.group(1).lower() in embed_hosts else ""

        html = IFRAME_RE.sub(keep_listed, html)
    return nh3.clean(
        html,
        tags=tags,
        attributes={tag: set(attrs) for tag, attrs in model.ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(model.URL_SCHEMES),
        link_rel=None,
        strip_comments=True,
    )


def plain_text(html: str) -> str:
    return SPACE_RE.sub(" ", unescape(TAG_RE.sub(" ", html))).strip()


def derive_summary(html: str, lang: str) -> str:
    """A plain-text summary from the first paragraph, cut at a word (or character, for Chinese)."""
    match = re.search(r"<p>(.*?)</p>", html, re.S)
    text = plain_text(match.group(1) if match else html)
    limit = SUMMARY_CHARS.get(lang[:2], 280)
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if not lang.startswith("zh") and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip("，,;；、 ") + "…"


class PortalMarkdownReader(BaseReader):
    """Reads ``.md`` content with the content model's header parser and a reused Markdown instance."""

    enabled = True
    file_extensions = ["md"]

    def __init__(self, settings):
        super().__init__(settings)
        config = dict(settings.get("MARKDOWN", {}))
        config.pop("output_format", None)
        extension_configs = config.get("extension_configs", {})
        self._md = markdown.Markdown(
            extensions=list(extension_configs), extension_configs=extension_configs, output_format="html"
        )
        self._content_root = os.path.abspath(settings["PATH"])
        self._model_settings = model.Settings.from_pelican(settings)
        self._embed_hosts = tuple(h.lower() for h in settings.get("PORTAL_EMBED_HOSTS", ()))

    def _shown_path(self, source_path: str) -> str:
        return os.path.relpath(source_path, os.path.dirname(self._content_root))

    def read(self, source_path):
        shown = self._shown_path(source_path)
        with open(source_path, "rb") as handle:
            data = handle.read()
        text, problems = model.decode_source(shown, data)
        source = model.parse_source(shown, text) if text is not None else model.Source(shown, {}, "", 1, problems)
        if text is None:
            source.problems = problems
        rel = os.path.relpath(source_path, self._content_root).replace(os.sep, "/")
        kind = "article" if rel.startswith(tuple(p.rstrip("/") + "/" for p in self.settings["ARTICLE_PATHS"])) else "page"
        if kind == "page":
            model.validate_page(source, self._model_settings)

        self._md.reset()
        html = sanitise(self._md.convert(source.body), self._embed_hosts) if source.body.strip() else ""
        if text is not None:
            source.problems.extend(
                model.check_link_targets(
                    source, html, Path(self._content_root), Path(source_path).parent
                )
            )
        lang = source.get("lang") or self.settings["DEFAULT_LANG"]

        metadata = {
            "portal_kind": kind,
            "portal_source": shown,
            "portal_header": {key: (f.value, f.line) for key, f in source.fields.items()},
            "portal_body_line": source.body_line,
            "portal_problems": list(source.problems),
            "title": source.get("title") or os.path.basename(source_path),
            "lang": lang,
            "slug": source.get("slug") or model.slug_from_filename(source_path, self._model_settings.languages),
            "summary": source.get("summary") or derive_summary(html, lang),
        }
        for key in ("date", "modified"):
            value = source.get(key)
            parsed = model.parse_date(value) if value else None
            if parsed is not None:
                metadata[key] = self.process_metadata(key, value)
        if kind == "article" and "date" not in metadata:
            # The problem is reported by validation; a placeholder keeps Pelican from adding its own error.
            metadata["date"] = self.process_metadata("date", "1970-01-01 00:00")
        if kind == "article":
            metadata["category"] = self.process_metadata(
                "category", source.get("category") or self.settings["DEFAULT_CATEGORY"]
            )
        for key in ("status", "translation", "template", "save_as", "url"):
            if source.get(key):
                metadata[key] = self.process_metadata(key, source.get(key))
        for key in ("topics", "officials", "reporters", "editors", "source", "original_title", "image", "image_alt",
                    "image_caption"):
            if source.get(key):
                metadata[key] = source.get(key)
        return html, metadata


# --- reading on every core ------------------------------------------------------------------------------------

# The build's reader and settings, for forked readers (``_read_chunk`` runs in a worker).
_POOL_READER: list = []


def _read_chunk(paths: list[str]) -> bytes:
    """Read ``paths`` in a worker: ``(path, content, metadata)`` for each file read without an exception or a
    logged warning (the build reads the others itself, so what they say is said, and counted, as usual), pickled
    with the build's settings left out (every category refers to them)."""
    import io
    import pickle

    from pelican.readers import _filter_discardable_metadata

    from .bodies import packed_or_text
    from .build import WarningCounter

    reader, settings = _POOL_READER
    held = WarningCounter()
    root = logging.getLogger()
    root.handlers, root.level = [held], min(root.level, logging.WARNING)
    results = []
    for path in paths:
        before = held.count
        try:
            content, metadata = reader.read(path)
        except Exception:  # noqa: BLE001 - reported by the build's own read of this file
            continue
        if held.count == before:
            results.append((path, packed_or_text(content), _filter_discardable_metadata(metadata)))
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.persistent_id = lambda obj: "settings" if obj is settings else None
    pickler.dump(results)
    return buffer.getvalue()


def _cached_as_is(known: dict, path: str, by_digest: bool) -> bool:
    """Whether the reader cache (``known``) holds ``path`` as the build would read it now. When its stamps are the
    build's digests (``by_digest``: ``known_digests``) a stamp costs nothing, so an entry made with other settings
    or plugins is read ahead with the files the cache never saw: after a change of code, every file. Otherwise a
    stamp means reading and hashing the file, which the build does anyway, so a known file is left to it (nearly
    always unchanged)."""
    entry = known.get(path)
    if entry is None:
        return False
    expected = known_stamp(path) if by_digest else None
    return expected is None or entry[0] == expected


def read_ahead(generator) -> int:
    """Fill Pelican's reader cache with every article file it lacks, read on every core, before
    ``ArticlesGenerator.generate_context`` reads them one by one (then each is a cache hit). Returns how many files
    the workers read.

    Reading (Markdown, sanitising) is the one long phase of a cold build that ran on one core: about 20 s at
    10,000 articles. Only the reader's own work moves to the workers; the build still runs every signal,
    validation and check on each file in order, so results and messages are those of a serial build. A file a
    worker could not read without a warning or an exception is left to the build, which reads and reports it.

    The metadata the reader gave for each file read is left in ``generator.read_ahead_metadata`` (a list, empty when
    nothing was read ahead), for work that can start before the articles are made (``share_cards``).
    """
    import io
    import pickle

    from . import workers

    settings = generator.settings
    readers = generator.readers
    generator.read_ahead_metadata = []
    reader = readers.readers.get("md")
    count = int(settings.get("PORTAL_READ_WORKERS") or workers.usable_cores())
    if not isinstance(reader, PortalMarkdownReader) or count < 2 or not getattr(readers, "_cache_data_policy", False):
        return 0
    if not workers.can_fork():  # the workers use the build's reader as it is in memory
        return 0
    files = generator.get_files(settings["ARTICLE_PATHS"], exclude=settings["ARTICLE_EXCLUDES"])
    known = getattr(readers, "_cache", None) or {}  # Pelican 4.12's reader cache (absolute path -> (stamp, data))
    by_digest = getattr(getattr(readers, "_filestamp_func", None), "stamps_known_digests", False)
    paths = [path for path in (os.path.abspath(os.path.join(generator.path, name)) for name in sorted(files))
             if path.endswith(".md") and not _cached_as_is(known, path, by_digest)]
    if len(paths) < int(settings.get("PORTAL_READ_PARALLEL_MIN", 300)):
        return 0
    chunk = max(1, min(100, len(paths) // (count * 8)))
    _POOL_READER[:] = [reader, settings]
    workers.start_pool(count)  # forked with the reader in place; kept for the build's later batches
    read = 0
    try:
        for blob in workers.pool_map(_read_chunk, [paths[i:i + chunk] for i in range(0, len(paths), chunk)], count,
                                     chunks_per_worker=1):
            unpickler = pickle.Unpickler(io.BytesIO(blob))
            unpickler.persistent_load = lambda _id: settings
            for path, content, metadata in unpickler.load():
                readers.cache_data(path, (content, metadata))
                generator.read_ahead_metadata.append(metadata)
                read += 1
    except Exception as exc:  # noqa: BLE001 - a worker that died only costs time: the build reads the rest
        workers.end_pool(wait=False)  # later batches start a pool of their own
        logger.debug("content_model: reading ahead stopped (%s: %s)", type(exc).__name__, exc)
    finally:
        _POOL_READER.clear()
    workers.release_free_memory()
    logger.debug("content_model: %d of %d article files read ahead by %d workers", read, len(paths), count)
    return read


# The content files' digests as the build found them before Pelican ran (``incremental.snapshot.read_inputs``: a
# file whose stat is unchanged keeps its digest unread), by absolute path, and what reading depends on besides
# (settings, plugins, libraries), while ``known_digests`` holds them.
_KNOWN_DIGESTS: dict[str, str] = {}
_READING: list[str] = []


@contextlib.contextmanager
def known_digests(root: str, digests: dict[str, str], reading: str):
    """Let the articles' reader cache stamp content files with ``digests`` (content-relative path -> digest) and
    ``reading`` during the build. Pelican's own stamp is the file's bytes alone, so a file read with other settings
    or plugins (say another ``DEFAULT_CATEGORY``) came back from its cache as read then. A symbolic link's entry
    names its target, not the bytes read through it: such files keep Pelican's stamp, with ``reading``."""
    root = os.path.abspath(root)
    _KNOWN_DIGESTS.clear()
    _KNOWN_DIGESTS.update((os.path.join(root, relative), digest) for relative, digest in digests.items()
                          if not digest.startswith("link:"))
    _READING[:] = [reading]
    try:
        yield
    finally:
        _KNOWN_DIGESTS.clear()
        _READING.clear()


def stamp_with_known_digests(readers) -> None:
    """Pelican's reader cache stamps each file by reading and hashing it (``CHECK_MODIFIED_METHOD``) when asked for
    it, and again when storing a file it read: 10,000 reads in every build of 10,000 articles, for digests the build
    already has (``known_digests``). A build without them (the incremental plugin off) keeps Pelican's stamps, with
    what reading depends on besides the file (``reading_digest``)."""
    pelicans = getattr(readers, "_filestamp_func", None)
    if pelicans is None:
        return
    reading = _READING[0] if _READING else reading_digest(readers.settings)

    def stamp(filename):
        known = known_stamp(os.path.abspath(filename))
        return known if known is not None else ("pelican", reading, pelicans(filename))

    stamp.stamps_known_digests = bool(_READING)
    readers._filestamp_func = stamp


# Settings that name where a build writes, not how it reads.
WRITING_SETTINGS = frozenset({"OUTPUT_PATH", "CACHE_PATH"})
# What the reader reads with.
READING_LIBRARIES = ("pelican", "markdown", "nh3", "pypinyin")


def reading_digest(settings: dict) -> str:
    """What reading an article depends on besides the file's bytes, for a build without the snapshot's digests
    (``known_digests``): the settings (an object other than plain data by its type), this package's code and the
    libraries the reader reads with. Pelican's own stamp is the file's bytes alone, so such a build found an article
    read with another ``DEFAULT_CATEGORY`` in its cache as read then."""
    from importlib import metadata

    def plain(value):
        if isinstance(value, dict):
            return tuple(sorted((str(key), plain(item)) for key, item in value.items()))
        if isinstance(value, (list, tuple)):
            return tuple(plain(item) for item in value)
        if isinstance(value, (set, frozenset)):
            return tuple(sorted(repr(plain(item)) for item in value))
        if value is None or isinstance(value, (str, int, float, bool)):
            return value
        return f"<{type(value).__module__}.{type(value).__qualname__}>"

    digest = hashlib.blake2b(digest_size=20)
    digest.update(repr(plain({k: v for k, v in settings.items() if k.isupper() and k not in WRITING_SETTINGS}))
                  .encode("utf-8", "surrogatepass"))
    package = Path(__file__).resolve().parent
    for path in sorted(package.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for name in READING_LIBRARIES:
        try:
            digest.update(f"{name}={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=?".encode())
    return digest.hexdigest()


def known_stamp(path: str) -> tuple | None:
    """The reader-cache stamp of the file at the absolute ``path`` made of the build's digest of it
    (``known_digests``), or None when the build has none."""
    digest = _KNOWN_DIGESTS.get(path)
    return ("portal-digest", _READING[0], digest) if digest is not None and _READING else None
