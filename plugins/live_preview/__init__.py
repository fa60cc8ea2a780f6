"""live_preview: `invoke livereload` rewrites an edited article's page within a second, then builds the whole site.

Not a Pelican plugin (it is not in ``PLUGINS``): it lives in the long-running ``invoke livereload`` process and
keeps what the last successful full build had in memory. It listens to Pelican's signals only while one of its own
builds runs, and keeps:

- the articles generator (``article_generator_finalized``): its Jinja environment, the shared context, the
  articles and translations with everything the other plugins added to them (related articles, previous/next,
  share links, cards, frozen URLs);
- which attributes each article had straight after reading (``article_generator_pretaxonomy``: after reading and
  grouping translations, before any plugin annotates), so the quick path knows what to carry over;
- the writer class and settings (``article_writer_finalized``).

When one existing article file (under ``ARTICLE_PATHS``) changes, :meth:`LivePreview.quick_update`:

1. re-reads that one file through the kept generator's ``Readers.read_file`` with Pelican's own signals, so
   content_model validates it and resolves its terms exactly as in a build (its problems are printed as the
   build prints them, ``path:line: severity: message``; an error stops here and the old page stays);
2. gives up (returns ``"full"``) when the URL, save_as, language, status or translation role changed: the
   page's place in the site changed, so only a full build is right;
3. carries over from the old object what whole-site steps added after reading (related articles, previous/next,
   translations), recomputes what depends on the article's own text with the plugins' own per-article steps
   (``content_model.BODY_DERIVED``, such as the reading time; share card, share links and metadata, through a
   one-article view of the generator), and swaps the new object in for the old one in the kept context;
4. renders only that page through the build's writer class, the way ``ArticlesGenerator.generate_articles``
   does, into a scratch folder, and moves the file into place (``os.replace``: a new file, so the hard links of
   the incremental plugin's ``last-build`` snapshot are never written through).

For a body edit the page is byte for byte what the full build writes. What the quick path leaves for later
(other pages listing the article, its related articles and previous/next after a title or term change, a new
in-body image's renditions) is fixed by the full build that always follows. When that build only patches the
output (the incremental plugin's body-edit path, for a body edit), the kept build, which has the update, stays kept;
when it restored the output unchanged, Pelican runs once more to keep a build. :func:`serve` wires this into
livereload: builds run on one worker thread, so the server keeps answering while the site builds, and the browser
is reloaded after the quick page and again after the full build. A missing address gets the site's not-found page
(status 404), as the public hosts answer it.
"""

from __future__ import annotations

import os
import queue
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

# Outcomes of LivePreview.quick_update
WRITTEN = "written"  # the page was rewritten; a full build should follow
STOPPED = "stopped"  # content errors were printed; the old page stays, a full build would fail the same way
FULL = "full"  # the quick path does not apply (new/deleted file, URL or language changed, no kept build)


@dataclass
class KeptBuild:
    """What one successful full build had in memory, enough to render one article page again."""

    generator: object  # pelican.generators.ArticlesGenerator
    writer_class: type
    settings: dict
    content_state: object  # content_model.STATE of that build (registries, terms, URLs in use)
    read_keys: dict[str, frozenset] = field(default_factory=dict)  # source_path -> attributes right after reading

    def article_at(self, source_path: str):
        from content_model import CONTENT_LISTS

        for name in CONTENT_LISTS:
            for article in getattr(self.generator, name, None) or ():
                if article.source_path == source_path:
                    return article, name
        return None, None


class OneArticleView:
    """An ArticlesGenerator as a whole-site step sees it, holding one article: the step annotates only that one."""

    def __init__(self, generator, article):
        self._generator = generator
        self.articles = [article]
        self.translations: list = []
        self.hidden_articles: list = []
        self.hidden_translations: list = []

    def __getattr__(self, name: str):
        return getattr(self._generator, name)


class LivePreview:
    """Full builds through ``content_model.build.build`` plus the one-page quick path in between.

    ``reload(path)`` is called after each write (the quick page, then the full build)."""

    def __init__(self, settings_file: str | Path, overrides: dict | None = None, fatal: str = "errors",
                 reload=None, out=None):
        self.settings_file = Path(settings_file)
        self.overrides = dict(overrides or {})
        self.fatal = fatal
        self.reload = reload or (lambda path: None)
        self.out = out  # where messages go (default: sys.stderr at the time of printing)
        self.kept: KeptBuild | None = None
        self._standing_in: KeptBuild | None = None
        self._pending: dict = {}
        self._capturing = False
        self._connect()

    # --- capturing a full build -------------------------------------------------------------------------

    def _connect(self) -> None:
        from pelican import signals

        self._receivers = [
            (signals.article_generator_pretaxonomy, self._on_pretaxonomy),
            (signals.article_generator_finalized, self._on_article_generator_finalized),
            (signals.article_writer_finalized, self._on_article_writer_finalized),
            (signals.finalized, self._on_finalized),
            (signals.page_generator_init, self._on_page_generator_init),
        ]
        for signal, receiver in self._receivers:
            signal.connect(receiver, weak=False)

    def close(self) -> None:
        for signal, receiver in self._receivers:
            signal.disconnect(receiver)
        self.kept = None

    def _on_pretaxonomy(self, generator) -> None:
        if not self._capturing:
            return
        from content_model import CONTENT_LISTS

        interned: dict[frozenset, frozenset] = {}
        keys = {}
        for name in CONTENT_LISTS:
            for article in getattr(generator, name, None) or ():
                # `translations` was just set by process_translations: a whole-site step like the later ones
                found = frozenset(vars(article)) - {"translations"}
                keys[article.source_path] = interned.setdefault(found, found)
        self._pending["read_keys"] = keys

    def _on_page_generator_init(self, generator) -> None:
        # Pelican runs for real (the body-edit path makes no pages generator): the kept site can go now
        self._standing_in = None

    def _on_article_generator_finalized(self, generator) -> None:
        if self._capturing:
            self._pending["generator"] = generator

    def _on_article_writer_finalized(self, generator, writer) -> None:
        if self._capturing:
            self._pending["writer_class"] = type(writer)

    def _on_finalized(self, pelican) -> None:
        if self._capturing:
            import content_model

            self._pending["settings"] = pelican.settings
            self._pending["content_state"] = content_model.STATE

    def _capture(self, run, standing_in: KeptBuild | None = None) -> bool:
        """Run ``run()`` (a build) and keep its state if it succeeds and Pelican really ran. ``standing_in`` is kept
        instead when Pelican did not run (the build patched the output, as the quick update already did in memory);
        it is dropped as soon as Pelican starts (peak memory: the old site goes before the new one is read)."""
        self.kept = None
        self._standing_in = standing_in
        self._pending = {}
        self._capturing = True
        try:
            ok = run()
        finally:
            self._capturing = False
        pending, self._pending = self._pending, {}
        standing_in, self._standing_in = self._standing_in, None
        if ok and {"generator", "writer_class", "settings", "content_state", "read_keys"} <= pending.keys():
            self.kept = KeptBuild(**pending)
        elif ok and not pending:
            self.kept = standing_in
        return ok

    def full_build(self, after_quick_update: bool = False) -> bool:
        """The build `invoke build` runs (content_model.build: messages as `path:line:`); True on success.
        After a quick update, a build that only patches the output (``incremental.quick``) leaves the kept site,
        which has that update, in place. When the build restored its last output unchanged (Pelican did not run),
        :meth:`warm_up` can follow."""
        from content_model.build import BuildFailed, build

        def run() -> bool:
            try:
                build(self.settings_file, self.overrides, fatal=self.fatal)
                return True
            except BuildFailed:
                self._print("The build stopped; fix the messages above and save again.")
                return False

        return self._capture(run, self.kept if after_quick_update else None)

    def warm_up(self) -> bool:
        """Run Pelican for real (no snapshot restore) to obtain the state the quick path needs.
        Same settings as the full build, so the page cache answers and the output is the same."""
        from pelican import Pelican

        from content_model.build import configure_logging, read_as_builds_do, read_build_settings
        from content_model.workers import end_pool

        def run() -> bool:
            try:
                configure_logging(self.fatal)
                settings = read_build_settings(self.settings_file, self.overrides)
                with read_as_builds_do(settings):
                    Pelican(settings).run()
                return True
            except Exception as exc:  # noqa: BLE001 - the site was built already; only the quick path is lost
                end_pool(wait=False)
                self._print(f"live preview: could not prepare quick updates ({type(exc).__name__}: {exc}); "
                            "every save runs a full build")
                return False

        return self._capture(run)

    # --- the quick path -----------------------------------------------------------------------------------

    def _print(self, message: str) -> None:
        print(message, file=self.out or sys.stderr, flush=True)

    def quick_update(self, path: str | Path) -> str:
        """Re-read one article file and rewrite only its page. Returns WRITTEN, STOPPED or FULL."""
        kept = self.kept
        if kept is None:
            return FULL
        source_path = os.path.abspath(path)
        old, list_name = kept.article_at(source_path)
        if old is None or not os.path.isfile(source_path):
            return FULL  # a new, deleted or non-article file: its place in the site is the full build's job

        import content_model

        generator = kept.generator
        build_state = content_model.STATE
        content_model.STATE = kept.content_state  # validate against the kept build's registries and URLs
        state = kept.content_state
        problems_before = len(state.problems)
        urls_before = dict(state.urls)
        own = old.metadata.get("portal_source")
        for identity in [k for k, v in state.urls.items() if v == own]:
            del state.urls[identity]  # this file's own slug is not a duplicate of itself
        try:
            new = content_model.read_article(generator, source_path)
            problems = sorted(set(state.problems[problems_before:]))
        finally:
            del state.problems[problems_before:]
            state.urls.clear()
            state.urls.update(urls_before)
            content_model.STATE = build_state
        for problem in problems:
            self._print(str(problem))
        errors = sum(p.severity == "error" for p in problems)
        if errors or new is None:
            self._print(f"Live preview stopped: {errors or 'a'} content error(s) in {own}; the page was not "
                        "rewritten. Fix the lines above and save again.")
            return STOPPED
        if self._identity(new) != self._identity(old):
            return FULL

        self._carry_over(kept, old, new)
        self._swap(kept, old, new, list_name)
        self._write(kept, new)
        self.reload(new.save_as)
        return WRITTEN

    @staticmethod
    def _identity(article) -> tuple:
        """What decides where the page is and which lists it is in."""
        return (article.url, article.save_as, article.lang, article.status, article.in_default_lang,
                str(article.metadata.get("translation", "")))

    @staticmethod
    def _carry_over(kept: KeptBuild, old, new) -> None:
        """Give the new object what whole-site steps added to the old one after reading (translations, related
        articles, previous/next, share links, cards, frozen URLs); recompute what depends on the body."""
        from content_model import BODY_DERIVED

        read_keys = kept.read_keys.get(old.source_path, frozenset())
        for key, value in vars(old).items():
            if key not in read_keys and key not in BODY_DERIVED:
                new.__dict__[key] = value
        if type(old) is not type(new) and isinstance(old, type(new)):
            new.__class__ = type(old)  # content_model's frozen-URL class (url/save_as checked equal above)
        plugins = kept.settings.get("PLUGINS", ())
        for key, derive in BODY_DERIVED.items():
            if key in vars(old):  # only what the build gave this article (drafts get no reading time)
                setattr(new, key, derive(new, kept.settings))
        # Share card (title, section, lead image) and share links and metadata (title, summary): the plugins'
        # own per-article steps, run on a view of the generator that holds only this article.
        view = OneArticleView(kept.generator, new)
        if "share_cards" in plugins:
            from share_cards import add_cards_to

            add_cards_to(view)
        if "share" in plugins:
            from share import add_share_to

            add_share_to(view)
        new.refresh_metadata_intersite_links()  # as Pelican.run does after all_generators_finalized

    @staticmethod
    def _swap(kept: KeptBuild, old, new, list_name: str) -> None:
        """Put the new object where the old one was: generator and context lists, the source map, its
        translations' lists and listing_pages' stories."""
        generator, context = kept.generator, kept.generator.context

        def replace(items) -> None:
            for index, item in enumerate(items):
                if item is old:
                    items[index] = new

        seen: set[int] = set()
        lists = [getattr(generator, list_name)] + [context.get(k) for k in ("articles", "dates", "hidden_articles",
                                                                           "drafts")]
        lists += [items for _key, items in (context.get("categories") or ())]
        for items in lists:
            if isinstance(items, list) and id(items) not in seen:
                seen.add(id(items))
                replace(items)
        for key, value in list(context.get("generated_content", {}).items()):
            if value is old:
                context["generated_content"][key] = new
        for sibling in getattr(new, "translations", ()):
            replace(getattr(sibling, "translations", []))
        for story in context.get("portal_stories") or ():
            if getattr(story, "original", None) is old:
                story.original = new
            for lang, version in getattr(story, "versions", {}).items():
                if version is old:
                    story.versions[lang] = new

    @staticmethod
    def _write(kept: KeptBuild, article) -> None:
        """Render the page as ArticlesGenerator.generate_articles does (Pelican 4.12), then move it into place."""
        from content_model import write_article_page

        generator, settings = kept.generator, kept.settings
        output = Path(settings["OUTPUT_PATH"])
        scratch = Path(tempfile.mkdtemp(prefix=".live-preview-", dir=output.parent))
        try:
            write_article_page(generator, kept.writer_class(str(scratch), settings=settings), article)
            target = output / article.save_as
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(scratch / article.save_as, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    # --- one change, start to finish ----------------------------------------------------------------------

    def handle(self, changed: list[str] | None) -> None:
        """What livereload runs for saved files: the quick path for one edited article, then the full build.
        ``changed`` None means "something changed or was removed" (full build only)."""
        if changed and len(changed) == 1 and str(changed[0]).endswith(".md"):
            started = time.perf_counter()
            try:
                outcome = self.quick_update(changed[0])
            except Exception as exc:  # noqa: BLE001 - the full build below reports problems properly
                self._print(f"live preview: no quick update ({type(exc).__name__}: {exc}); building the whole site")
                outcome = FULL
            if outcome == STOPPED:
                return  # the full build would stop on the same lines; the kept build stays usable
            if outcome == WRITTEN:
                self._print(f"live preview: {os.path.relpath(changed[0])} rewritten in "
                            f"{time.perf_counter() - started:.2f} s; now building the whole site")
                self.build_and_keep(after_quick_update=True)
                return
        self.build_and_keep()

    def build_and_keep(self, after_quick_update: bool = False) -> bool:
        """Full build, reload; when the build only restored its last output (Pelican did not run, so nothing
        was kept), run Pelican once more so the next save can take the quick path."""
        ok = self.full_build(after_quick_update)
        if ok:
            self.reload("*")
            if self.kept is None:
                self.warm_up()
        return ok


# --- the livereload server --------------------------------------------------------------------------------------

POLL_SECONDS = 0.5  # how often the watcher looks for saved files: a scan of 10,000 articles takes ~0.06 s
_FULL = object()  # a change without a file list (a removed file): full build


def _watcher_class():
    from livereload.watcher import Watcher
    from tornado import ioloop

    class QuietWatcher(Watcher):
        """livereload's polling watcher, polling more often, and never reloading by itself: the tasks return
        before the pages are written (the worker thread writes them and reloads)."""

        def start(self, callback):
            ioloop.PeriodicCallback(callback, POLL_SECONDS * 1000).start()
            return True

        def examine(self):
            if self._changes:  # livereload's own "server restarted" reload
                return super().examine()
            super().examine()
            return None, None

    return QuietWatcher


def _site_file_handler():
    """livereload's file handler, answering a missing address as the public hosts do: status 404 and the site's
    not-found page (``publishing.hosting.not_found_page``), not tornado's own plain page."""
    from livereload.handlers import StaticFileHandler
    from publishing.hosting import not_found_page

    class SiteFileHandler(StaticFileHandler):
        def write_error(self, status_code: int, **kwargs) -> None:
            page = not_found_page(Path(self.root), self.request.path) if status_code == 404 else None
            if page is None:
                super().write_error(status_code, **kwargs)
                return
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(page.read_bytes())

    return SiteFileHandler


def serve(settings_file: str | Path, root: str | Path, host: str, port: int, watch: list[str],
          overrides: dict | None = None) -> None:
    """Build, serve ``root`` on ``host:port`` with livereload, and on every save: quick page, reload, full build,
    reload. Builds run on one worker thread, so the server keeps answering while the site builds."""
    from livereload import Server
    from livereload.handlers import LiveReloadHandler
    from tornado.ioloop import IOLoop

    loop = IOLoop.current()  # the loop Server.serve runs (IOLoop.instance() is current())

    def reload(path: str) -> None:
        loop.add_callback(LiveReloadHandler.reload_waiters, path)

    preview = LivePreview(settings_file, overrides, reload=reload)
    jobs: queue.SimpleQueue = queue.SimpleQueue()

    def worker() -> None:
        preview.build_and_keep()  # the server answers from the last output meanwhile
        while True:
            batch = [jobs.get()]
            time.sleep(0.05)  # one save can touch several watched patterns: take them as one change
            while not jobs.empty():
                batch.append(jobs.get())
            paths = sorted({p for item in batch if item is not _FULL for p in item})
            try:
                preview.handle(None if _FULL in batch else paths)
            except Exception as exc:  # noqa: BLE001 - keep serving and watching; the next save tries again
                print(f"live preview: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)

    def on_change(changed=None) -> None:
        jobs.put([os.path.abspath(p) for p in changed] if isinstance(changed, list) else _FULL)

    server = Server(watcher=_watcher_class()())
    server.SFH = _site_file_handler()
    for pattern in watch:
        server.watch(str(pattern), on_change)
    threading.Thread(target=worker, name="live-preview-builds", daemon=True).start()
    server.serve(host=host, port=port, root=str(root))
