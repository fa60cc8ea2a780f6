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
the same cache while the parent writes the article pages. When the parent reaches the first of those generators
it waits for the child (which had a head start on the same pages), then finds their pages in the cache. The child
writes no output file and sends no signal; if it fails, the parent renders every page itself (keys make both
renderings identical).

Signals: ``get_writer`` (the writer), ``all_generators_finalized`` (start the child), ``finalized`` (stop it;
remove cache entries no page of this build used).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import io
import logging
import multiprocessing
import os
import signal
from importlib import metadata as importlib_metadata
from pathlib import Path

from markupsafe import Markup
from pelican import signals
from pelican.contents import Content
from pelican.paginator import Page, Paginator
from pelican.urlwrappers import URLWrapper
from pelican.writers import Writer

logger = logging.getLogger(__name__)

PLUGINS_ROOT = Path(__file__).resolve().parent.parent
CODE_VERSION = "1"
LIBRARIES = ("pelican", "jinja2", "markdown", "nh3", "babel", "pillow", "markupsafe")
# Attributes of content objects that are plumbing, not what a page shows.
SKIPPED_ATTRIBUTES = frozenset({"settings", "metadata", "_context", "_summary", "_content", "_cache"})


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
        "prerender_generators": tuple(settings.get(
            "INCREMENTAL_PRERENDER_GENERATORS", ("ListingGenerator", "ReaderFeaturesGenerator", "FeedsGenerator")
        )),
    }


def _hash(*parts: str) -> str:
    # One join and one update: the key of a 2,000-article build hashes about 600,000 small tuples.
    return hashlib.blake2b(("\x1f".join(parts) + "\x1f").encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


SCALARS = (type(None), bool, int, float, str, Markup, dt.date)


class Fingerprinter:
    """Stable digests of template arguments: no ids, no addresses, no clock.

    A page's own arguments get a full digest; objects they refer to (related articles, translations, terms in a
    list) get a shallow one: what a link, a list item or a related box shows of them. Shallow digests stop at
    other articles (their URL only), so cycles such as A related to B related to A end.
    """

    def __init__(self) -> None:
        self._shallow: dict[int, tuple[object, str]] = {}
        self._terms: dict[int, tuple[object, str]] = {}
        self._values: dict[tuple[int, int], tuple[object, str]] = {}

    def scalar(self, obj) -> str:
        if isinstance(obj, dt.date):
            return obj.isoformat()
        if isinstance(obj, str):
            return _hash(str(obj)) if len(obj) > 64 else repr(str(obj))
        return repr(obj)

    def shallow(self, obj) -> str:
        cached = self._shallow.get(id(obj))
        if cached is not None and cached[0] is obj:
            return cached[1]
        parts = [type(obj).__name__]
        if isinstance(obj, URLWrapper):
            parts += [obj.slug, obj.name]
        for key, value in sorted(vars(obj).items()):
            if key in SKIPPED_ATTRIBUTES or key.startswith("_"):
                continue
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
            return f"<{value.url}>"
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
            return _hash(type(value).__name__, *(f"{f.name}={self.brief(getattr(value, f.name))}"
                                                 for f in dataclasses.fields(value)))
        return type(value).__qualname__

    def full(self, obj) -> str:
        """The page's own article or term: everything it carries, referred objects shallowly."""
        parts = [type(obj).__name__]
        if isinstance(obj, Content):
            # its body as this page will show it (intrasite links resolved for this page's position)
            parts.append(_hash(obj.get_content(obj._context.get("localsiteurl", "") if obj._context else "")))
            parts += [f"url={obj.url}", f"summary={self.scalar(obj.summary)}"]
        else:
            parts += [obj.slug, obj.name]
        for key, value in sorted(vars(obj).items()):
            if key in SKIPPED_ATTRIBUTES or key.startswith("_"):
                continue
            parts.append(f"{key}={self.value(value, 1)}")
        return _hash(*parts)

    def value(self, obj, depth: int) -> str:
        if isinstance(obj, SCALARS):
            return self.scalar(obj)
        if depth == 0:
            return self._value(obj, depth)
        # Objects below a page's own arguments are shared by many pages (every archive page passes the whole
        # archive; every article its terms): each is digested once per build. Data is final once writing starts.
        memo = self._values.get((id(obj), depth))
        if memo is not None and memo[0] is obj:
            return memo[1]
        digest = self._value(obj, depth)
        self._values[(id(obj), depth)] = (obj, digest)
        return digest

    def _value(self, obj, depth: int) -> str:
        if isinstance(obj, (Content, URLWrapper)):
            return self.full(obj) if depth == 0 else self.shallow(obj)
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
        paginated = any(key.endswith("_page") and isinstance(value, Page) for key, value in localcontext.items())
        for key in sorted(localcontext):
            if key.isupper() and key != "SITEURL":
                continue  # settings are in the site key
            value = localcontext[key]
            if key in global_context and global_context[key] is value:
                continue  # unchanged global context (read only through INCREMENTAL_GLOBAL_KEYS)
            if paginated and key in ("articles", "dates"):
                continue  # paginated listings read their items through the page object
            parts.append(f"{key}={self.fingerprints.value(value, 0)}")
        return _hash(*parts)

    def render(self, template, localcontext: dict, global_context: dict) -> str:
        key = self.page_key(template, localcontext, global_context)
        path = self.config["cache"] / key[:2] / f"{key}.html"
        self.used.add(key)
        try:
            text = path.read_text(encoding="utf-8")
            self.hits += 1
            return text
        except FileNotFoundError:
            pass
        text = template.render(localcontext)
        self.misses += 1
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
        return text

    def write_file(self, name, template, context, *args, **kwargs):
        if self.config["enabled"] and not isinstance(template, CachedTemplate):
            template = CachedTemplate(template, self, context)
        return super().write_file(name, template, context, *args, **kwargs)

    def prune(self) -> None:
        """Keep the cache the size of one site: drop entries this build did not use."""
        root = self.config["cache"]
        if not root.is_dir():
            return
        for folder in root.iterdir():
            if not folder.is_dir():
                continue
            for entry in folder.iterdir():
                if entry.suffix == ".html" and entry.stem not in self.used:
                    entry.unlink()


class PrerenderWriter(IncrementalWriter):
    """The child's writer: renders into the page cache, writes no output file (signals are off in the child)."""

    @contextlib.contextmanager
    def _open_w(self, filename, encoding, override=False):
        yield io.StringIO()


ACTIVE: list[IncrementalWriter] = []
# The pre-rendering child of the build in progress, if any.
CHILDREN: list[int] = []


def can_prerender(generators, config: dict) -> bool:
    if not (config["enabled"] and config["prerender"] and (os.cpu_count() or 1) > 1):
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
    pid = os.fork()
    if pid:
        CHILDREN.append(pid)
        for generator in chosen:
            generator.generate_output = _after_prerender(generator.generate_output)
        return
    # The child: nothing it does may reach the output folder, the log or another plugin's signal handlers.
    status = 1
    try:
        logging.disable(logging.CRITICAL)
        for name in ("content_written", "feed_written", "feed_generated"):
            getattr(signals, name).receivers.clear()
        from listing_pages import feeds

        feeds.WRITE_OUTPUT = False
        writer = PrerenderWriter(generators[0].output_path, settings=settings)
        for generator in chosen:
            generator.generate_output(writer)
        status = 0
    finally:
        os._exit(status)


def _after_prerender(generate_output):
    def waiting(writer):
        wait_for_prerender()
        return generate_output(writer)

    return waiting


def wait_for_prerender() -> None:
    while CHILDREN:
        pid = CHILDREN.pop()
        with contextlib.suppress(ChildProcessError):
            _pid, status = os.waitpid(pid, 0)
            if status:
                logger.debug("incremental: the pre-rendering child failed (status %s); rendering here", status)


def stop_prerender() -> None:
    while CHILDREN:
        pid = CHILDREN.pop()
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def get_writer(pelican):
    ACTIVE.clear()
    return IncrementalWriter


def on_finalized(pelican) -> None:
    stop_prerender()
    for writer in ACTIVE:
        if writer.config["enabled"]:
            writer.prune()
            logger.info("incremental: %d pages rendered, %d taken from the cache", writer.misses, writer.hits)
    ACTIVE.clear()


def register() -> None:
    """Hook ``get_writer`` (the only place to change how every generator's pages are rendered),
    ``all_generators_finalized`` (the first moment every page's data is final: the child can start rendering) and
    ``finalized`` (stop the child; prune the cache once all pages of the build are known)."""
    signals.get_writer.connect(get_writer)
    signals.all_generators_finalized.connect(start_prerender)
    signals.finalized.connect(on_finalized)
