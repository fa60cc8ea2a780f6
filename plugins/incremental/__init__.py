"""incremental: skip rendering pages whose inputs did not change, with output identical to a cold build.

Adds ``IncrementalWriter`` (``get_writer``). Before a template renders a page, the writer computes the page's input
key: a site fingerprint (settings, theme and plugin files, library versions, the site-wide data base templates read:
``INCREMENTAL_GLOBAL_KEYS``) and a fingerprint of everything passed to that one page (the article with its related
articles, translations and share links; the term; the slice of articles on this page of a listing; the page's
relative ``SITEURL``). A page whose key is in the cache (``INCREMENTAL_CACHE_PATH``) is not rendered: the cached
text is written. Pelican still writes every file and sends ``content_written`` for it, so sitemaps and other
plugins see every page, and a build into an emptied output folder (publish builds) benefits as much as one into a
kept folder. Keys never use modification times, so a fresh checkout with a restored cache is a full hit.

Contract for templates: a paginated page reads its articles through ``articles_page`` (the full ``articles`` and
``dates`` lists of a paginated listing are not part of the key), and global context beyond settings is read only
from the keys in ``INCREMENTAL_GLOBAL_KEYS``. The benchmark and tests compare selective rebuilds with cold builds.

Both cores: once every generator has its context (``all_generators_finalized``, this plugin being last in
``PLUGINS``), a forked child renders the listing-type generators' pages (``INCREMENTAL_PRERENDER_GENERATORS``) into
the same cache while the parent writes the article pages; the two share the pages through a table in shared
memory (``SharedPages``): the child takes those generators in reverse order and then article pages from the last,
the parent goes forward, and whoever finds a page free takes it. The parent writes the child's pages from the cache
without computing their keys. The child writes no output file and sends no signal; if it fails, the parent renders
every page itself (keys make both renderings identical).

Files are written through ``content_model.output.place``: an unchanged page keeps the last build's file. A page whose
key is the one its file was made from in the last saved build (``quick.Recorder.pages``), that file being still the
one the snapshot holds, keeps it unread (``IncrementalWriter.keeps``): no cache read, no comparison, no write, and
its records for the body-edit path carried over.

A build in which only one article's body changed does not run Pelican at all: ``quick`` patches that page and
the search index (see its docstring); every full build records what it needs.

Templates are compiled once for all builds with the same settings, theme, plugins and libraries: Jinja's bytecode
cache, in ``CACHE_PATH/templates/`` (``use_compiled_templates``).

Signals: ``get_writer`` (the writer), ``generator_init`` (the bytecode cache), ``all_generators_finalized`` (start
the child), ``finalized`` (stop it; remove cache entries no page of this build used); for ``quick``:
``initialized``, ``content_object_init``, ``all_generators_finalized``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import hashlib
import io
import logging
import mmap
import multiprocessing
import os
import pickle
import shutil
import signal
import time
from importlib import metadata as importlib_metadata
from itertools import chain
from pathlib import Path

from jinja2 import FileSystemBytecodeCache
from markupsafe import Markup
from pelican import signals
from pelican.contents import Content
from pelican.paginator import Page, Paginator
from pelican.urlwrappers import URLWrapper
from pelican.writers import FileOverwriteFailedError, Writer

from content_model import OUTPUT_KEEPERS, forget_content, shown_body_digest, write_article_page
from content_model.output import make_no_folders, place, take_back, take_back_folder, write_atomically
from content_model.workers import end_pool, helper_ended, helper_started, release_free_memory, usable_cores

from . import quick

logger = logging.getLogger(__name__)

PLUGINS_ROOT = Path(__file__).resolve().parent.parent
CODE_VERSION = "1"
LIBRARIES = ("pelican", "jinja2", "markdown", "nh3", "babel", "pillow", "markupsafe")
# Attributes of content objects that are plumbing, not what a page shows (content_model's header with its line
# numbers, and where the body starts, are for messages).
SKIPPED_ATTRIBUTES = frozenset({"settings", "metadata", "_context", "_summary", "_content", "_cache", "portal_header",
                                "portal_body_line"})
# What a story links to (``reader_features``; its translations): shown on its own page only, as links
# (``Fingerprinter.link``), and left out of its shallow digest (a listing item or a related box showing it). A
# story gaining a topic changes the related stories of others.
NEIGHBOUR_ATTRIBUTES = frozenset({"related_articles", "previous_in_language", "next_in_language", "translations"})


def read_settings(settings: dict) -> dict:
    """All settings of this plugin, with their defaults."""
    cache = settings.get("INCREMENTAL_CACHE_PATH") or os.path.join(settings.get("CACHE_PATH", "cache"), "pages")
    return {
        "enabled": bool(settings.get("INCREMENTAL_ENABLED", True)),
        "cache": Path(cache),
        "global_keys": tuple(settings.get("INCREMENTAL_GLOBAL_KEYS", ("portal_sections",))),
        # Pre-render listing pages in a forked child while the parent writes articles (needs fork and 2+ cores).
        "prerender": bool(settings.get("INCREMENTAL_PRERENDER", True)),
        # ... only when the site has at least this many articles (a fork costs more than a small site's listings).
        "prerender_min": int(settings.get("INCREMENTAL_PRERENDER_MIN_ARTICLES", 200)),
        # ... and, once those are done, article pages from the last one (the parent writes from the first).
        "prerender_articles": bool(settings.get("INCREMENTAL_PRERENDER_ARTICLES", True)),
        "prerender_generators": tuple(settings.get(
            "INCREMENTAL_PRERENDER_GENERATORS", ("ListingGenerator", "ReaderFeaturesGenerator", "FeedsGenerator")
        )),
    }


def _hash(*parts: str) -> str:
    # One join and one update: the key of a 2,000-article build hashes about 600,000 small tuples.
    return hashlib.blake2b(("\x1f".join(parts) + "\x1f").encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


SCALARS = (type(None), bool, int, float, str, Markup, dt.date)
_ABSENT = object()
# The page cache's stamps of its files (``IncrementalWriter.cache_stamps``), beside the folders of its pages.
STAMPS_FILE = "stamps.pickle"
# What the parent's writer "renders" for a page the child is still rendering (never written: see PlacedFile).
DEFERRED = "\x00incremental-deferred-page:"
# ... and, followed by the page's key, for a page that keeps the last build's file (``Recorder.carry_page``).
KEPT = "\x00incremental-kept-page:"


# The names ``own_attributes`` digests, sorted, by the names an object holds in their order: the 10,000 articles of
# a build hold a handful of layouts, so each is sorted and filtered once, not once per page key.
_OWN_NAMES: dict[tuple[bool, tuple[str, ...]], tuple[str, ...]] = {}


def own_attributes(obj) -> list[tuple[str, object]]:
    """What an article or term carries, by name, for its digest: plumbing aside, and a term's ``name`` and
    ``slug`` too (digested first, from its properties). Pelican copies those two into a term's ``__dict__`` the
    first time its URL is asked for (``URLWrapper.as_dict``): left in, a page's key would depend on whether some page
    happened to ask before it (an unchanged rebuild, rendering nothing, asks less)."""
    attributes = vars(obj)
    layout = (isinstance(obj, URLWrapper), tuple(attributes))
    names = _OWN_NAMES.get(layout)
    if names is None:
        wrapper = layout[0]
        names = _OWN_NAMES[layout] = tuple(sorted(
            key for key in attributes
            if not (key in SKIPPED_ATTRIBUTES or key.startswith("_") or (wrapper and key in ("name", "slug")))
        ))
    return [(key, attributes[key]) for key in names]


class Fingerprinter:
    """Stable digests of template arguments: no ids, no addresses, no clock.

    A page's own arguments get a full digest; objects they refer to (related articles, translations, terms in a
    list) get a shallow one: what a link, a list item or a related box shows of them. Shallow digests stop at
    other articles (``link``: URL, headline, date, language), so cycles such as A related to B related to A end. A
    page's own article names its neighbours (related, previous and next stories, translations) by ``link`` too, and a
    shallow digest leaves them out: only the story's own page shows them.

    A term (topic, official, person) shows its listing's statistics (``listing_pages``: count, latest story, related
    terms) on its own page (the page's argument: full digest) and on index pages (an item of the page's argument:
    shallow digest). Reached deeper (an article's topics, a term's related terms) it is a link: name, URL, registry
    entry (``brief``). Without this, a story gaining a topic changed the key of every page naming that topic (about
    4,000 pages of the benchmark's metadata edit, of which 60 show a difference).

    A callable (``article.social``) is named, not digested: what it makes must come from what the key holds.

    A dataclass holding only plain values (strings, numbers, lists and tuples of them, ``Markup``; no content
    object, term or other object whose repr is not its state) may define ``__fingerprint__(self) -> str``,
    returning ``repr(self)``: it is then digested in one step (share links and social metadata, on every article).
    """

    def __init__(self) -> None:
        self._shallow: dict[int, tuple[object, str]] = {}
        self._terms: dict[int, tuple[object, str]] = {}
        self._values: dict[int, tuple[object, str]] = {}  # objects met at depth 1 (see ``value``)
        self._plain: dict[int, tuple[object, str]] = {}  # objects with __fingerprint__
        self._links: dict[int, tuple[object, str]] = {}

    @staticmethod
    def scalar(obj) -> str:
        # Called millions of times in a 10,000-article build: the commonest type is tested first, by identity.
        if type(obj) is str:
            return _hash(obj) if len(obj) > 64 else repr(obj)
        if isinstance(obj, str):
            return _hash(str(obj)) if len(obj) > 64 else repr(str(obj))
        if isinstance(obj, dt.date):
            return obj.isoformat()
        return repr(obj)

    def shallow(self, obj) -> str:
        cached = self._shallow.get(id(obj))
        if cached is not None and cached[0] is obj:
            return cached[1]
        parts = [type(obj).__name__]
        if isinstance(obj, URLWrapper):
            parts += [obj.slug, obj.name]
        for key, value in own_attributes(obj):
            if key not in NEIGHBOUR_ATTRIBUTES:
                parts.append(f"{key}={self.brief(value)}")
        if isinstance(obj, Content):
            # url and summary are properties, not attributes
            parts += [f"url={obj.url}", f"summary={self.scalar(obj.summary)}"]
        digest = _hash(*parts)
        self._shallow[id(obj)] = (obj, digest)
        return digest

    def brief(self, value) -> str:
        """A referred object's attribute: scalars in full, terms by name, other articles by URL only."""
        if isinstance(value, SCALARS):
            return self.scalar(value)
        if isinstance(value, Content):
            return self.link(value)
        if isinstance(value, URLWrapper):
            # Terms are named by thousands of articles: their digest (with the registry entry) is made once.
            cached = self._terms.get(id(value))
            if cached is not None and cached[0] is value:
                return cached[1]
            entry = getattr(value, "entry", None)
            digest = _hash(type(value).__name__, value.slug, value.name, str(getattr(value, "has_page", "")),
                           self.value(entry, 1) if entry is not None else "")
            self._terms[id(value)] = (value, digest)
            return digest
        if isinstance(value, (list, tuple)):
            return _hash("list", *(self.brief(item) for item in value))
        if isinstance(value, dict):
            return _hash("dict", *(f"{k}:{self.brief(v)}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))))
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            own = getattr(type(value), "__fingerprint__", None)
            if own is not None:
                # A share link is shown by every page that shows its article: digested once per build.
                cached = self._plain.get(id(value))
                if cached is None or cached[0] is not value:
                    cached = self._plain[id(value)] = (value, _hash(type(value).__name__, own(value)))
                return cached[1]
            return _hash(type(value).__name__, *(f"{f.name}={self.brief(getattr(value, f.name))}"
                                                 for f in dataclasses.fields(value)))
        return type(value).__qualname__

    def link(self, content) -> str:
        """What a link to a story shows: its URL, headline, date and language (a related story, a translation, the
        latest story of a topic)."""
        cached = self._links.get(id(content))
        if cached is not None and cached[0] is content:
            return cached[1]
        date = getattr(content, "date", None)
        digest = _hash("link", content.url, self.scalar(getattr(content, "title", "")),
                       str(getattr(content, "lang", "")), date.isoformat() if date is not None else "")
        self._links[id(content)] = (content, digest)
        return digest

    def full(self, obj) -> str:
        """The page's own article or term: everything it carries, referred objects shallowly."""
        parts = [type(obj).__name__]
        if isinstance(obj, Content):
            # its body as this page will show it (intrasite links resolved for this page's position)
            parts.append(shown_body_digest(obj, obj._context.get("localsiteurl", "") if obj._context else ""))
            parts += [f"url={obj.url}", f"summary={self.scalar(obj.summary)}"]
        else:
            parts += [obj.slug, obj.name]
        for key, value in own_attributes(obj):
            parts.append(f"{key}={self.brief(value) if key in NEIGHBOUR_ATTRIBUTES else self.own_value(value)}")
        return _hash(*parts)

    def own_value(self, value) -> str:
        """``value(value, 1)`` for an attribute of the page's own article or term: not memoised, being its alone
        and asked for once, by its page (its lists of terms, its share links: 160,000 entries, 20 MB, at 10,000
        articles)."""
        return self.scalar(value) if isinstance(value, SCALARS) else self._value(value, 1)

    def value(self, obj, depth: int) -> str:
        if isinstance(obj, SCALARS):
            return self.scalar(obj)
        if depth != 1 or isinstance(obj, (Content, URLWrapper)) or hasattr(type(obj), "__fingerprint__"):
            # Articles, terms and plain-value dataclasses are memoised by ``shallow``, ``brief`` and ``_plain``;
            # deeper objects are reached again only through the one above them, which is memoised (measured on
            # the benchmark corpus: not one of their entries was ever used, and they were a fifth of the memory
            # a build gained while writing).
            return self._value(obj, depth)
        # A page's direct arguments' parts are shared by many pages (every archive page passes the whole archive;
        # every article its terms): each is digested once per build. Data is final once writing starts.
        memo = self._values.get(id(obj))
        if memo is not None and memo[0] is obj:
            return memo[1]
        digest = self._value(obj, depth)
        self._values[id(obj)] = (obj, digest)
        return digest

    def _value(self, obj, depth: int) -> str:
        if isinstance(obj, (Content, URLWrapper)):
            if depth == 0:
                return self.full(obj)
            if depth >= 2 and isinstance(obj, URLWrapper):
                return self.brief(obj)  # a link (see the class docstring): its listing's statistics are not shown
            return self.shallow(obj)
        if isinstance(obj, Page):
            return _hash("page", str(obj.number), self.value(obj.paginator, depth + 1),
                         *(self.shallow(item) for item in obj.object_list))
        if isinstance(obj, Paginator):
            return _hash("paginator", obj.name, str(obj.url), str(obj.count), str(obj.per_page), str(obj.num_pages))
        if isinstance(obj, dict):
            return _hash("dict", *(f"{k}:{self.value(v, depth + 1)}"
                                   for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))))
        if isinstance(obj, (list, tuple)):
            return _hash("list", *(self.value(item, depth + 1) for item in obj))
        if isinstance(obj, (set, frozenset)):
            return _hash("set", *sorted(self.value(item, depth + 1) for item in obj))
        if isinstance(obj, Path):
            return str(obj)
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            if hasattr(type(obj), "__fingerprint__"):
                return self.brief(obj)  # the same digest, memoised there
            return _hash(type(obj).__name__, *(f"{f.name}={self.value(getattr(obj, f.name), depth + 1)}"
                                               for f in dataclasses.fields(obj)))
        if callable(obj):
            return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"
        if hasattr(obj, "__dict__") and depth < 4:
            return _hash(type(obj).__qualname__, *(f"{k}={self.value(v, depth + 1)}" for k, v in sorted(vars(obj).items())
                                                   if not k.startswith("_") and k not in SKIPPED_ATTRIBUTES))
        return type(obj).__qualname__


def files_digest(*roots: Path) -> str:
    digest = hashlib.blake2b(digest_size=20)
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def library_versions() -> str:
    versions = []
    for name in LIBRARIES:
        try:
            versions.append(f"{name}={importlib_metadata.version(name)}")
        except importlib_metadata.PackageNotFoundError:
            versions.append(f"{name}=?")
    return ",".join(versions)


class CachedTemplate:
    """Stands in for a Jinja template inside ``Writer.write_file``: renders only on a cache miss."""

    def __init__(self, template, writer: IncrementalWriter, global_context: dict):
        self._template = template
        self._writer = writer
        self._global = global_context
        self.name = template.name

    def render(self, localcontext: dict) -> str:
        return self._writer.render(self._template, localcontext, self._global)


class IncrementalWriter(Writer):
    def __init__(self, output_path, settings=None):
        super().__init__(output_path, settings=settings)
        self.config = read_settings(self.settings)
        self.fingerprints = Fingerprinter()
        self._site_key: str | None = None
        self.hits = 0
        self.misses = 0
        self.used: set[str] = set()
        self.from_child = 0  # pages whose key the pre-rendering child computed
        # marker -> (slot, template, localcontext, global context) of a page the child holds
        self.deferred: dict[str, tuple] = {}
        self.deferred_files: list[tuple[str, str]] = []  # (output file, marker), written by `write_deferred`
        self.deferred_written = 0
        self.kept = 0  # pages that kept the last build's file (``keeps``)
        # (text, cache file) of the page just rendered or read from the cache, for the file Pelican's writer opens
        # next (``_open_w``: the same page): ``place`` links the cache's file rather than make another
        self._rendered: tuple[str, Path] | None = None
        self._stamps: dict[str, tuple[int, int, int]] | None = None  # ``cache_stamps``
        self._stamped: dict[str, tuple[int, int, int]] = {}  # the same, of the files this build read or wrote
        self._kept_page: tuple | None = None  # (key, template, local context) of the page ``render`` kept last
        ACTIVE.append(self)

    def site_key(self, context: dict) -> str:
        if self._site_key is None:
            settings = {k: v for k, v in context.items() if k.isupper()}
            globals_ = {k: context.get(k) for k in self.config["global_keys"]}
            theme = Path(self.settings["THEME"])
            self._site_key = _hash(
                CODE_VERSION,
                library_versions(),
                files_digest(theme, PLUGINS_ROOT),
                self.fingerprints.value(settings, 1),
                self.fingerprints.value(globals_, 1),
            )
        return self._site_key

    def page_key(self, template, localcontext: dict, global_context: dict) -> str:
        parts = [self.site_key(global_context), template.name]
        # Pelican passes a copy of the whole global context (some 180 names) with the page's own arguments: the
        # unchanged global context is read only through INCREMENTAL_GLOBAL_KEYS, in the site key.
        own = {key: value for key, value in localcontext.items() if global_context.get(key, _ABSENT) is not value}
        paginated = any(key.endswith("_page") and isinstance(value, Page) for key, value in own.items())
        for key in sorted(own):
            if key.isupper() and key != "SITEURL":
                continue  # settings are in the site key
            value = own[key]
            if paginated and key in ("articles", "dates"):
                continue  # paginated listings read their items through the page object
            parts.append(f"{key}={self.fingerprints.value(value, 0)}")
        return _hash(*parts)

    def render(self, template, localcontext: dict, global_context: dict) -> str:
        key = pending = None
        if SHARED:
            key, pending = SHARED[0].parent_key(localcontext.get("output_file"))
        if pending is not None:
            marker = f"{DEFERRED}{pending}"
            self.deferred[marker] = (pending, template, localcontext, global_context)
            return marker
        if key is None:
            key = self.page_key(template, localcontext, global_context)
        else:
            self.from_child += 1
        if self.keeps(key, localcontext, global_context):
            self._kept_page = (key, template, localcontext)  # for ``keep``, should the file be gone by then
            return f"{KEPT}{key}"
        text = self.cached(key, template, localcontext)
        quick.RECORDER.note_page(template, localcontext, text, global_context, key)
        self.done_with(localcontext)
        return text

    def keeps(self, key: str, localcontext: dict, global_context: dict) -> bool:
        """Whether the page keeps the last build's file, neither read nor written (``Recorder.carry_page``): most
        pages of a rebuild after a metadata edit."""
        path = os.path.join(self.output_path, localcontext.get("output_file") or "")
        if not quick.RECORDER.carry_page(key, path, localcontext, global_context):
            return False
        take_back_folder(path)  # before Pelican's writer makes the folder (not yet, for a page left to the end)
        self.used.add(key)
        self.kept += 1
        self.done_with(localcontext)
        return True

    def keep(self, path: str, key: str, page: tuple | None = None) -> None:
        """``PlacedFile``: the page's file is the last build's (``keeps``): take it back; should it be gone since,
        write the page's text from the cache, and should that be gone or changed too (both deleted while the build
        ran), render the page again: ``page`` is its (template, local context), else the page ``render`` kept
        last, which is the page Pelican's writer is closing."""
        if take_back(path):
            return
        cached = self.cache_path(key)
        text = self.read_cached(key, cached)
        if text is None:
            if page is None and self._kept_page is not None and self._kept_page[0] == key:
                page = self._kept_page[1:]
            if page is None:
                raise FileNotFoundError(f"incremental: the cached page {cached} is gone or changed")
            template, localcontext = page
            text = template.render(localcontext)  # the key is the last build's, so is the text
            self.store(cached, text)
        place(path, text.encode("utf-8"), cached)

    @staticmethod
    def done_with(localcontext: dict) -> None:
        """An article's page is made: its memoised body is not needed again (``content_model.forget_content``)."""
        article = localcontext.get("article")
        if article is not None and localcontext.get("output_file") == getattr(article, "save_as", None):
            forget_content(article)

    def cache_path(self, key: str) -> Path:
        self.used.add(key)
        return self.config["cache"] / key[:2] / f"{key}.html"

    def cached(self, key: str, template, localcontext: dict) -> str:
        path = self.cache_path(key)
        text = self.read_cached(key, path)
        if text is None:
            text = template.render(localcontext)
            self.store(path, text)
        else:
            self.hits += 1
        self._rendered = (text, path)
        return text

    def read_cached(self, key: str, path: Path) -> str | None:
        """The cached text of ``key``; None when there is none, or when its file is not as the last build left it
        (``cache_stamps``): the output links the cache's files (``place``), so a page edited by hand in place, in
        the output, is its cache file edited too."""
        try:
            with open(path, "rb") as handle:
                info = os.fstat(handle.fileno())
                data = handle.read()
        except FileNotFoundError:
            return None
        stamp, found = self.cache_stamps().get(key), (info.st_size, info.st_mtime_ns, info.st_ino)
        if stamp is not None and stamp != found:
            return None
        self._stamped[key] = found
        return data.decode("utf-8")

    def cache_stamps(self) -> dict[str, tuple[int, int, int]]:
        """Each cached page's (size, modification time, inode) as the last build's ``prune`` found it: a file is
        never written through by a build (``write_atomically``), so another stamp means someone else wrote it."""
        if self._stamps is None:
            try:
                self._stamps = pickle.loads((self.config["cache"] / STAMPS_FILE).read_bytes())
            except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError):
                self._stamps = {}
            if not isinstance(self._stamps, dict):
                self._stamps = {}
        return self._stamps

    def defer(self, path: str, marker: str) -> None:
        """``PlacedFile``: the page ``marker`` stands for is the child's; write it in ``write_deferred``."""
        self.deferred_files.append((path, marker))

    def write_deferred(self) -> None:
        """Write the pages the child was rendering when the parent reached them (end of each shared generator)."""
        files, self.deferred_files = self.deferred_files, []
        for path, marker in files:
            offset, template, localcontext, global_context = self.deferred.pop(marker)
            key = SHARED[0].wait(offset) if SHARED else None
            if key is None:  # the child stopped: make the page here
                key = self.page_key(template, localcontext, global_context)
            else:
                self.from_child += 1
            self.deferred_written += 1
            if self.keeps(key, localcontext, global_context):
                self.keep(path, key, (template, localcontext))
                continue
            text = self.cached(key, template, localcontext)
            quick.RECORDER.note_page(template, localcontext, text, global_context, key)
            self.done_with(localcontext)
            place(path, text.encode("utf-8"), self.cache_path(key))
        self._rendered = None
        self.deferred.clear()

    def store(self, path: Path, text: str) -> None:
        self.misses += 1
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, text.encode("utf-8"))
        info = os.stat(path)
        self._stamped[path.stem] = (info.st_size, info.st_mtime_ns, info.st_ino)

    def write_file(self, name, template, context, *args, **kwargs):
        if self.config["enabled"] and not isinstance(template, CachedTemplate):
            template = CachedTemplate(template, self, context)
        return super().write_file(name, template, context, *args, **kwargs)

    def _open_w(self, filename, encoding, override=False):
        """Pelican's ``Writer._open_w`` (the same once-only rule, copied: it is not split from the ``open``), with a
        file that goes through ``content_model.output.place`` when closed: an unchanged page keeps its file."""
        if filename in self._overridden_files:
            if override:
                raise FileOverwriteFailedError(
                    f'Failed to overwrite "{filename}" a second time (was previously overwritten)'
                )
            logger.info('Skipping "%s", not overwriting', filename)
            return open(os.devnull, "w", encoding=encoding)
        if filename in self._written_files:
            if not override:
                raise FileOverwriteFailedError(
                    f'Failed to overwrite "{filename}" as Pelican has already written to it previously '
                    "(set `override=True` if intended)"
                )
            logger.info('Overwriting "%s"', filename)
        if override:
            self._overridden_files.add(filename)
        self._written_files.add(filename)
        rendered, self._rendered = self._rendered, None
        return PlacedFile(filename, encoding, self, rendered)

    def prune(self) -> None:
        """Keep the cache the size of one site: drop entries this build did not use. (Names as strings, not a
        ``Path`` each: the cache holds an entry per page, 21,000 at 10,000 articles.)"""
        try:
            folders = [entry.path for entry in os.scandir(self.config["cache"]) if entry.is_dir()]
        except FileNotFoundError:
            return
        # Stamps as this build found or made them; a file it neither read nor wrote (a kept page's) keeps the one
        # recorded before, so a change to it since is still told at its next read.
        stamps, stamped, last = {}, self._stamped, self.cache_stamps()
        for folder in folders:
            with os.scandir(folder) as entries:
                for entry in entries:
                    name = entry.name
                    if name.endswith(".html"):
                        key = name[:-5]
                        if key not in self.used:
                            os.unlink(entry.path)
                            continue
                        stamp = stamped.get(key) or last.get(key)
                        if stamp is None:
                            with contextlib.suppress(FileNotFoundError):
                                info = entry.stat()
                                stamp = (info.st_size, info.st_mtime_ns, info.st_ino)
                        if stamp is not None:
                            stamps[key] = stamp
                    elif name.endswith(".tmp"):  # the child is stopped once the parent is done, maybe mid-write
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(entry.path)
        write_atomically(self.config["cache"] / STAMPS_FILE, pickle.dumps(stamps, protocol=pickle.HIGHEST_PROTOCOL))


class PlacedFile(io.StringIO):
    """A text file written on ``close`` through ``output.place`` (kept when unchanged, never written through)."""

    def __init__(self, path: str, encoding: str, writer: IncrementalWriter,
                 rendered: tuple[str, Path] | None = None) -> None:
        super().__init__()
        self.name = path
        self._encoding = encoding
        self._writer = writer
        self._rendered = rendered  # (text, cache file) of the page, if the writer rendered or read it

    def close(self) -> None:
        if not self.closed:
            text = self.getvalue()
            super().close()
            if text.startswith(DEFERRED) and text in self._writer.deferred:
                self._writer.defer(self.name, text)
            elif text.startswith(KEPT):
                self._writer.keep(self.name, text[len(KEPT):])
            else:
                rendered = self._rendered
                source = rendered[1] if rendered is not None and rendered[0] == text else None
                place(self.name, text.encode(self._encoding), source)


class PrerenderWriter(IncrementalWriter):
    """The child's writer: renders into the page cache, writes no output file (signals are off in the child).
    With a page table, it renders only the pages it takes (``SharedPages.child_takes``) and records their keys."""

    def __init__(self, output_path, settings=None, shared: SharedPages | None = None):
        super().__init__(output_path, settings=settings)
        self.shared = shared

    def render(self, template, localcontext: dict, global_context: dict) -> str:
        offset = self.shared.child_takes(localcontext.get("output_file")) if self.shared else None
        if offset == -1:
            return ""  # the parent's page
        key = self.page_key(template, localcontext, global_context)
        path = self.cache_path(key)
        if not path.is_file():
            self.store(path, template.render(localcontext))
        self.done_with(localcontext)
        if offset is not None:
            self.shared.done(offset, key)
        return ""

    @contextlib.contextmanager
    def _open_w(self, filename, encoding, override=False):
        yield io.StringIO()


class SharedPages:
    """The pages of one build shared out between the parent and the pre-rendering child, through a table in
    shared memory: one slot per page (state, a digest of its file name, the key its text is cached under).

    - Article pages: the parent writes them in Pelican's order (``ArticlesGenerator.generate_articles``) from the
      front; the child, once its other pages are done, renders them from the back.
    - The pages of the pre-rendered generators (``INCREMENTAL_PRERENDER_GENERATORS``): the child renders those
      generators in reverse order, the parent (after the articles) in forward order; a page is the n-th one a
      generator renders, which is the same in both processes (and the file name is checked).

    Whoever finds a page free takes it. The child skips the pages the parent took. The parent neither computes the
    key of a page the child took nor renders it: it writes the cached text, at once when the child is done with it,
    else at the end of that generator (``parent_key``). A child that dies leaves its unfinished pages to the
    parent."""

    FREE, PARENT, CHILD, DONE = 0, 1, 2, 3
    NAME = 8  # bytes of the file name's digest
    SLOT = 1 + NAME + 40  # state, name digest, 40 hex digits of key
    REGION = 1 << 20  # slots per generator; untouched slots of the anonymous map cost no memory

    def __init__(self, articles_generator, generators: list) -> None:
        self.generator = articles_generator
        self.articles = list(chain(articles_generator.translations, articles_generator.articles,
                                   getattr(articles_generator, "hidden_translations", ()),
                                   getattr(articles_generator, "hidden_articles", ()))) if articles_generator else []
        self.index = {article.save_as: position for position, article in enumerate(self.articles)}
        if len(self.index) != len(self.articles):  # two articles, one file: positions could not be told apart
            self.articles, self.index = [], {}
        self.regions = {id(generator): number + 1 for number, generator in enumerate(generators)}
        self.table = mmap.mmap(-1, (len(generators) + 1) * self.REGION * self.SLOT)  # anonymous: shared by fork
        self.lock = multiprocessing.get_context("fork").Lock()
        self.child = 0
        self.current: list[int] = []  # [region, pages so far] of the generator rendering in this process

    def during(self, generator, generate_output, last: bool = False):
        """``generate_output`` of a shared generator, numbering its pages in this process. After the parent's
        ``last`` one, every shared page is written: the child, left skipping pages, is stopped."""

        def numbered(writer):
            self.current[:] = [self.regions[id(generator)], 0]
            try:
                return generate_output(writer)
            finally:
                self.current.clear()
                if hasattr(writer, "write_deferred"):
                    writer.write_deferred()
                if last:
                    stop_prerender()

        return numbered

    def slot(self, name: str | None) -> int | None:
        """Offset of the slot of the page written to ``name`` now, or None when it is not shared."""
        if not name:
            return None
        if self.current:
            region, number = self.current
            self.current[1] = number + 1
            return (region * self.REGION + number) * self.SLOT if number < self.REGION else None
        position = self.index.get(name)
        return None if position is None else position * self.SLOT

    @staticmethod
    def name_digest(name: str) -> bytes:
        return hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=SharedPages.NAME).digest()

    def claim(self, offset: int, name: str, state: int) -> int:
        """Take the slot for ``state`` if free; the slot's state before, or -1 when it names another file."""
        digest = self.name_digest(name)
        with self.lock:
            before = self.table[offset]
            if before == self.FREE:
                self.table[offset] = state
                self.table[offset + 1:offset + 1 + self.NAME] = digest
                return before
            same = self.table[offset + 1:offset + 1 + self.NAME] == digest
        return before if same else -1

    def done(self, offset: int, key: str) -> None:
        self.table[offset + 1 + self.NAME:offset + self.SLOT] = key.encode("ascii")
        with self.lock:
            self.table[offset] = self.DONE

    def parent_key(self, name: str | None) -> tuple[str | None, int | None]:
        """For the page written to ``name``: (the child's key, None); (None, None) when the parent makes the page
        itself; or (None, slot) when the child is rendering a generator page: the parent writes it later
        (``wait``) and goes on meanwhile, so the two processes take turns instead of one trailing the other.
        At the one place the parent meets the child in the articles, it waits there."""
        offset = self.slot(name)
        if offset is None or self.claim(offset, name, self.PARENT) in (self.FREE, -1):
            return None, None
        key = self.finished(offset)
        if key is not None or not self.current:
            return (key or self.wait(offset)), None
        return None, offset

    def finished(self, offset: int) -> str | None:
        with self.lock:
            if self.table[offset] == self.DONE:
                return self.table[offset + 1 + self.NAME:offset + self.SLOT].decode("ascii")
        return None

    def wait(self, offset: int) -> str | None:
        """The key of a page the child took, once it is done; None if the child stopped first."""
        while True:
            key = self.finished(offset)
            if key is not None:
                return key
            if not self._child_running():
                return None
            time.sleep(0.0005)

    def child_takes(self, name: str | None) -> int | None:
        """In the child: the slot of this page if the child renders it, None if the parent took it."""
        offset = self.slot(name)
        if offset is None:
            return None  # not shared: rendered, as before sharing existed (the parent will find it cached)
        return offset if self.claim(offset, name, self.CHILD) == self.FREE else -1

    def _child_running(self) -> bool:
        try:
            pid, _status = os.waitpid(self.child, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid:
            with contextlib.suppress(ValueError):
                CHILDREN.remove(pid)
            helper_ended(pid)
            return False
        return True

    def render_articles_from_back(self, writer: IncrementalWriter) -> None:
        """In the child: render article pages from the last one until reaching one the parent took."""
        generator = self.generator
        for position in range(len(self.articles) - 1, -1, -1):
            with self.lock:
                if self.table[position * self.SLOT] != self.FREE:
                    return
            write_article_page(generator, writer, self.articles[position])


ACTIVE: list[IncrementalWriter] = []
# The page table of the build in progress, if any.
SHARED: list[SharedPages] = []
# The pre-rendering child of the build in progress, if any.
CHILDREN: list[int] = []


def can_prerender(generators, config: dict) -> bool:
    if not (config["enabled"] and config["prerender"] and usable_cores() > 1):
        return False
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    articles = sum(len(getattr(g, "articles", ())) + len(getattr(g, "translations", ())) for g in generators)
    return articles >= config["prerender_min"]


def start_prerender(generators) -> None:
    stop_prerender()  # a child left by a build that stopped with an error
    if not generators:
        return
    settings = generators[0].settings
    config = read_settings(settings)
    if not can_prerender(generators, config):
        return
    chosen = [g for g in generators if type(g).__name__ in config["prerender_generators"]]
    if not chosen:
        return
    articles = [g for g in generators if type(g).__name__ == "ArticlesGenerator"]
    shared = SharedPages(articles[0] if len(articles) == 1 and config["prerender_articles"] else None, chosen)
    end_pool()  # its idle workers would be counted again next to the child
    release_free_memory()  # pages the heap no longer uses would be counted again in the child
    # Out of the collector's reach: its passes write to every object they visit, and in the child each such
    # write copies a page it shares with the parent (the parent's collections are shorter too). The build hands
    # them back at its end (content_model.heap).
    gc.freeze()
    pid = os.fork()
    if pid:
        CHILDREN.append(pid)
        helper_started(pid)
        shared.child = pid
        SHARED.append(shared)
        for generator in chosen:
            generator.generate_output = shared.during(generator, generator.generate_output, generator is chosen[-1])
        return
    # The child: nothing it does may reach the output folder, the log or another plugin's signal handlers.
    status = 1
    try:
        logging.disable(logging.CRITICAL)
        for name in ("content_written", "feed_written", "feed_generated"):
            getattr(signals, name).receivers.clear()
        from listing_pages import feeds

        feeds.WRITE_OUTPUT = False
        make_no_folders()
        quick.let_go_of_last_build()
        release_free_memory()
        writer = PrerenderWriter(generators[0].output_path, settings=settings, shared=shared)
        for generator in reversed(chosen):  # the parent goes forward: they meet
            shared.during(generator, generator.generate_output)(writer)
        shared.render_articles_from_back(writer)
        status = 0
    finally:
        os._exit(status)


def stop_prerender() -> None:
    SHARED.clear()
    while CHILDREN:
        pid = CHILDREN.pop()
        helper_ended(pid)
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def use_compiled_templates(generator) -> None:
    """Each generator's Jinja environment compiles every template it loads, in every build (and the pre-rendering
    child those it loads first). Jinja's bytecode cache keeps the compiled code between builds, in a folder named by
    what that code depends on besides each template's source, which Jinja checks: the environment's options, its
    filters and extensions, the theme, the libraries (this build's ``rest`` input, ``snapshot.read_inputs``).
    Folders of other inputs are removed."""
    inputs = quick.build_inputs()
    config = read_settings(generator.settings)
    if inputs is None or not config["enabled"]:
        return
    root = config["cache"].parent / "templates"
    folder = root / inputs.rest
    if not folder.is_dir():
        if root.is_dir():
            for other in root.iterdir():
                shutil.rmtree(other, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
    generator.env.bytecode_cache = FileSystemBytecodeCache(str(folder))


def get_writer(pelican):
    ACTIVE.clear()
    return IncrementalWriter


def on_finalized(pelican) -> None:
    stop_prerender()
    for writer in ACTIVE:
        if writer.config["enabled"]:
            writer.prune()
            logger.info("incremental: %d pages rendered, %d taken from the cache, %d kept as the last build wrote "
                        "them (%d of them all made by the pre-rendering child)", writer.misses, writer.hits,
                        writer.kept, writer.from_child)
    ACTIVE.clear()


def register() -> None:
    """Hook ``get_writer`` (the only place to change how every generator's pages are rendered), ``generator_init``
    (each generator's Jinja environment, before it loads a template: the bytecode cache),
    ``all_generators_finalized`` (the first moment every page's data is final: the child can start rendering, and
    every link target's URL is known) and ``finalized`` (stop the child; prune the cache once all pages of the
    build are known); ``initialized`` and ``content_object_init`` record articles for the body-edit path."""
    signals.get_writer.connect(get_writer)
    signals.generator_init.connect(use_compiled_templates)
    if (quick.keep_output, quick.made_output) not in OUTPUT_KEEPERS:  # feeds kept like pages (quick.carry_feed)
        OUTPUT_KEEPERS.append((quick.keep_output, quick.made_output))
    signals.all_generators_finalized.connect(quick.note_links)
    signals.all_generators_finalized.connect(start_prerender)
    signals.finalized.connect(on_finalized)
    # what the body-edit path of the next build needs (quick.py)
    signals.initialized.connect(quick.start_recording)
    signals.content_object_init.connect(quick.note_face)
