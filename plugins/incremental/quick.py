"""The body-edit path: when only the body (or the summary) of one article changed, patch the files that show that
body (its page, the Atom feeds listing it), that summary (listings, feeds, the page's head and share links) and the
search index instead of building the site, with the output a full build would give, byte for byte.

Most edits of a news portal correct one story's text. What other pages show of an article (its face: title,
summary, date, terms, URL...) comes from its metadata, so a body edit that leaves the metadata alone changes the
article's page (its body, and values derived from the body such as the reading time), the feeds that carry the
body, the search index and nothing else, unless the body holds images (renditions are files of their own). The
summary is the one part of the face whose places are recorded too: without a ``Summary:`` line it is the start of
the first paragraph, which editors correct as often as the rest. Every full build records what the next one needs
(``Recorder``, saved with the snapshot by ``snapshot.save``):

- each article's face: a digest of its metadata as read, summary and header line numbers aside, at
  ``content_object_init`` (after the reader and content_model's term resolution: the same point in a build and in
  :func:`apply_body_edit`; carried from the last build when only articles changed since, ``known_faces``), and
  its summary;
- where each output shows a body (``content_model.note_bodies_shown``: the writer notes article pages, which it
  has in hand with their articles; listing_pages notes its Atom feeds), and in which form (``BODY_FORMS``);
- where each output shows a summary: listings from the stories the page lists (``Recorder.note_listing``), feeds
  (``content_model.note_summaries_shown``, ``SUMMARY_FORMS``), the article page's meta tags, JSON-LD and share
  link URLs (found again in the saved page by ``_summary_places``, ``OWN_SUMMARY_PLACES``; what the share links
  are made from is recorded, ``Recorder.share_record``);
  an output showing summaries elsewhere is recorded as unknown (``content_model.STATE.summaries_unknown``);
- for each article, the values plugins derive from its body (``content_model.BODY_DERIVED``: the reading time),
  where its page shows them (the text of ``BODY_DERIVED_PARTIALS``' partial, found once in the page), and whether
  the body holds images;
- the URL of every file an intrasite link may name (``{filename}``, ``{static}``);
- the key each page's text was made from (``Recorder.pages``), for the next full build: a page with the same key,
  whose file is still the snapshot's, keeps that file and these records (``Recorder.carry_page``). A file this path
  patches loses its key there.

:func:`apply_body_edit` runs before Pelican would (``content_model.build``). It takes the shortcut only when the
settings, theme, plugins and libraries are unchanged and exactly one content file changed: an article whose body
every output showing it was recorded for, which, read again through Pelican's reader and our plugins' signals, has
no problem, logs no warning, keeps its face, and holds no image (nor did it); a changed body-derived value needs a
recorded place in the page; a changed summary needs every place of it recorded. Then it replaces, in the saved
build's copy of each file showing the body or a changed summary, the body, each changed value's partial (rendered
alone) and the summary in the form each place shows it; lets the search plugin re-index the shard holding that page in a
thread (from the saved pages and the patched one) while it puts the last build's output in place
(``snapshot.put_in_place``) and writes the patched files; and saves the snapshot with the updated record.
In every other case it returns False having written nothing to the output, and the full build runs.

Signals (connected by the plugin's ``register``): ``initialized`` (a new record per build), ``content_object_init``
(faces), ``all_generators_finalized`` (link targets); ``IncrementalWriter.render`` notes every page it writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import pickle
import shutil
import tempfile
import threading
from pathlib import Path
from types import SimpleNamespace

from content_model import BODY_FORMS, SUMMARY_FORMS, relative_source
from content_model.output import write_atomically

from . import snapshot

logger = logging.getLogger(__name__)

# Bump when what is recorded, or how, changes: a record of another format is never used.
FORMAT = 4
# What marks a story's summary in a listing.
LIST_SUMMARY = SUMMARY_FORMS["list"][1]


def face_digest(content) -> str:
    """What other pages show of it, as a digest of its metadata as read. Left out: the summary, whose places are
    recorded (``content_model.note_summaries_shown``) or found again (``_summary_places``), and the header's line
    numbers, which only messages show (a ``Summary:`` line added moves the body down)."""
    face = []
    for key, value in sorted(content.metadata.items()):
        if key == "portal_header":
            value = sorted((name, field[0]) for name, field in value.items() if name != "summary")
        if key not in ("summary", "portal_body_line"):
            face.append((key, value))
    return hashlib.blake2b(repr(face).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


# Where an article page shows its own summary outside the body, besides the share links' URLs: the text right
# before it (theme: article.html's meta block; share/social.py's Open Graph, Twitter and JSON-LD), and its form.
OWN_SUMMARY_PLACES = (
    ('<meta name="description" content="', "attr"),
    ('<meta name="Description" content="', "attr"),
    ('<meta property="og:description" content="', "attr"),
    ('<meta name="twitter:description" content="', "attr"),
    ('"description":"', "json"),
)


def json_text(value) -> str:
    """``value`` as a string inside the JSON-LD script (share/social.py's ``script_json``, without the quotes)."""
    from share.social import script_json

    return str(script_json(str(value)))[1:-1]


def summary_texts(summary) -> dict[str, str]:
    """The summary in each form an output shows it (``content_model.SUMMARY_FORMS``, ``OWN_SUMMARY_PLACES``)."""
    from content_model import SUMMARY_FORMS, html_text

    texts = {form: make(summary) for form, (_anchor, _before, _after, make) in SUMMARY_FORMS.items()}
    texts.update(attr=html_text(summary), json=json_text(summary))
    return texts


class Recorder:
    """What one full build tells the body-edit path of the next one (``state`` is saved with the snapshot), and
    what it tells the next full build: the key each page was made from (``pages``), so that a page whose key is
    unchanged keeps its file and its records unread (``carry_page``)."""

    def __init__(self, last: dict | None = None, inputs=None, article_paths=()) -> None:
        self.faces: dict[str, str] = {}  # content-relative source path -> face digest
        self.articles: dict[str, dict] = {}  # content-relative source path -> body-derived values, images
        self.links: dict[str, dict[str, str]] = {"generated": {}, "static": {}}
        self.pages: dict[str, str] = {}  # output file -> the incremental key of its text
        self._fragments: dict[tuple, str] = {}
        # The last saved build (``last_build``): its records, and its files' stamps.
        recorded = (last or {}).get("quick") or {}
        self._last = recorded if recorded.get("format") == FORMAT and recorded.get("pages") else {}
        self._last_files = ((last or {}).get("files") or {}) if self._last else {}
        self._last_unknown = set(self._last.get("summaries_unknown", ()))
        self._known_faces = self.known_faces(last, inputs, article_paths) if self._last else {}

    def known_faces(self, last: dict, inputs, article_paths) -> dict[str, str]:
        """The last build's faces that are this build's too: an article's face is its metadata as our plugins
        resolve it, so it depends on its file, the registries and the site (settings, code, libraries: ``rest``).
        When only articles changed since, the unchanged ones keep theirs."""
        known = last.get("inputs") or {}
        if inputs is None or known.get("rest") != inputs.rest or not isinstance(known.get("content"), dict):
            return {}
        changed = inputs.changed_since(known["content"])
        folders = tuple(folder.rstrip("/") + "/" for folder in article_paths if folder)
        if not folders or not all(path.startswith(folders) for path in changed):
            return {}
        changed = set(changed)
        return {path: face for path, face in (self._last.get("faces") or {}).items() if path not in changed}

    def note_face(self, content) -> None:
        from pelican.contents import Article

        if isinstance(content, Article):
            relative = relative_source(content)
            face = self._known_faces.get(relative)
            self.faces[relative] = face if face is not None else face_digest(content)

    def carry_page(self, key: str, path: str, localcontext: dict, global_context: dict | None = None) -> bool:
        """Whether the page about to be written to ``path`` may keep the last build's file, unread: its key is the
        one that file was made from, the file set aside (``content_model.output.set_aside_is``) is still the very
        file the snapshot holds, and the last build's records of it name the same stories (an article page's, its
        story; a listing's key holds the stories it lists). Then they are this build's records of the page too (what
        ``note_page`` would find in the same text)."""
        name = localcontext.get("output_file")
        article = localcontext.get("article")
        if article is not None and name == article.save_as:
            return self.carry(name, key, path, article=article)
        # A page key digests each story the page lists with its source path and summary (``Fingerprinter.shallow``):
        # the same key lists the stories the last build's records name (10,000 lists compared in a metadata edit).
        return self.carry(name, key, path)

    def carry_feed(self, name: str, key: str, path: str, items) -> bool:
        """``carry_page`` for a feed (``listing_pages.feeds.write_feed``): ``key`` is the feed cache's, ``items`` its
        stories."""
        return self.carry(name, key, path, listed=lambda: items)

    def carry(self, name: str | None, key: str, path: str, article=None, listed=None) -> bool:
        from content_model import STATE
        from content_model.output import set_aside_is

        last = self._last
        if not last or not name or last["pages"].get(name) != key:
            return False
        expected = self._last_files.get(name)
        if expected is None or not set_aside_is(path, expected):
            return False
        if article is not None:
            relative = relative_source(article)
            record, shown = last["articles"].get(relative), last["outputs"].get(name)
            if record is None or record["page"] != name or shown is None:
                return False
            if [span[0] for span in shown["spans"]] != [relative]:
                return False
            self.articles[relative] = record
        elif listed is not None and (name in last["summaries"] or name in last["outputs"]):
            items = listed()
            if items is None:
                return False
            if name in last["summaries"] and last["summaries"][name][1] != [relative_source(i) for i in items
                                                                              if i.summary]:
                return False
            if name in last["outputs"] and [span[0] for span in last["outputs"][name]["spans"]] != [
                    relative_source(i) for i in items]:
                return False
        for recorded, now in ((last["outputs"], STATE.shown_bodies), (last["summaries"], STATE.shown_summaries)):
            if name in recorded:
                now[name] = recorded[name]
        if name in self._last_unknown:
            STATE.summaries_unknown.add(name)
        self.pages[name] = key
        return True

    def note_page(self, template, localcontext: dict, text: str, global_context: dict | None = None,
                  key: str | None = None) -> None:
        """A page as written (from the text of ``key``). An article page: where its body is
        (``content_model.note_bodies_shown``) and its summary as it is now, the values other plugins derive from
        the body and where the page shows them (``BODY_DERIVED_PARTIALS``), and whether the body holds images. A
        listing: where it shows summaries."""
        from content_model import BODY_DERIVED, BODY_DERIVED_PARTIALS, STATE, note_bodies_shown

        name = localcontext.get("output_file")
        if key is not None and name:
            self.pages[name] = key
        article = localcontext.get("article")
        if article is None or localcontext.get("output_file") != article.save_as:
            self.note_listing(localcontext, text, global_context)
            return
        siteurl = article.get_siteurl()
        note_bodies_shown(article.save_as, text, [article], siteurl, "html")
        if LIST_SUMMARY in text:  # an article page listing other stories: not where this path looks
            STATE.summaries_unknown.add(article.save_as)
        values = vars(article)
        fragments = {}
        for name, partial in BODY_DERIVED_PARTIALS.items():
            if name in values:
                shown = self.fragment(template.environment, partial, name, values[name], article.lang)
                start = text.find(shown)
                if start >= 0 and text.find(shown, start + 1) < 0:
                    fragments[name] = [start, start + len(shown)]
        self.articles[relative_source(article)] = {
            "page": article.save_as,
            "images": "<img" in article.get_content(siteurl),  # memoised by Pelican: note_bodies_shown made it
            "derived": {name: repr(values[name]) if name in values else None for name in sorted(BODY_DERIVED)},
            "fragments": fragments,
            "summary": str(article.summary or ""),
            "share": self.share_record(article),
        }

    @staticmethod
    def share_record(article) -> bytes | None:
        """What the article's share links, which carry its summary, are made from (the share target without the
        summary, and the networks), pickled (``share_made_from``): read only by the body-edit path when a summary
        changes, and held by every full build for every article (7 MB less at 10,000 articles than as objects);
        None when it has links but not what they were made from."""
        share = getattr(article, "share", None)
        keys_of_kind = getattr(share, "keys_of_kind", None)
        # ``share.ShareLinks`` names them without making every link again (in a cold build, once per article page)
        keys = (list(keys_of_kind("link")) if keys_of_kind is not None
                else [link.key for link in share or () if link.kind == "link"])
        if not keys:
            return pickle.dumps({}, protocol=pickle.HIGHEST_PROTOCOL)
        target = getattr(article, "share_target", None)
        if target is None:
            return None
        # its fields are plain values (``share.networks.ShareTarget``): ``dataclasses.asdict``'s deep copy is not needed
        fields = {field.name: getattr(target, field.name) for field in dataclasses.fields(target)
                  if field.name != "summary"}
        return pickle.dumps({"target": fields, "keys": keys}, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def listed(localcontext: dict, global_context: dict | None):
        """The stories a page lists: its page of a paginated list, or its own list; None when it lists none."""
        page = localcontext.get("articles_page")
        items = getattr(page, "object_list", None) if page is not None else None
        if items is None:
            listed = localcontext.get("articles")
            if listed is not None and listed is not (global_context or {}).get("articles"):
                items = listed
        return items

    def note_listing(self, localcontext: dict, text: str, global_context: dict | None) -> None:
        """Where a page that lists stories shows their summaries."""
        from content_model import STATE, note_summaries_shown

        name = localcontext.get("output_file")
        items = self.listed(localcontext, global_context)
        if items is not None and name:
            note_summaries_shown(name, text, items, "list")
        elif LIST_SUMMARY in text and name:
            STATE.summaries_unknown.add(name)

    def fragment(self, environment, partial: str, name: str, value, lang: str) -> str:
        """What ``partial`` shows for ``value`` on a page in ``lang`` (the same few texts for every article)."""
        key = (partial, name, repr(value), lang)
        if key not in self._fragments:
            self._fragments[key] = environment.get_template(partial).render({name: value, "page_lang": lang})
        return self._fragments[key]

    def note_links(self, generators) -> None:
        context = generators[0].context if generators else {}
        for key, name in (("generated_content", "generated"), ("static_content", "static")):
            self.links[name] = {path: content.url for path, content in (context.get(key) or {}).items()}

    def state(self) -> dict:
        import content_model

        state = content_model.STATE
        return {"format": FORMAT, "faces": self.faces, "articles": self.articles, "links": self.links,
                "outputs": state.shown_bodies, "summaries": state.shown_summaries,
                "summaries_unknown": sorted(state.summaries_unknown), "pages": self.pages}


RECORDER = Recorder()
LAST_BUILD: list[tuple] = []  # the last saved build's manifest and this build's inputs, while a full build runs


@contextlib.contextmanager
def last_build(manifest: dict | None, inputs=None):
    """While a full build runs: the last saved build (``snapshot.load_manifest``), whose unchanged pages it may keep
    (``Recorder.carry_page``), and this build's ``inputs`` (``snapshot.read_inputs``), which tell the faces it
    keeps too (``Recorder.known_faces``)."""
    LAST_BUILD[:] = [(manifest, inputs)] if manifest or inputs else []
    try:
        yield
    finally:
        LAST_BUILD.clear()


def build_inputs():
    """This full build's inputs (``snapshot.read_inputs``), or None outside one."""
    return LAST_BUILD[0][1] if LAST_BUILD else None


def start_recording(pelican) -> None:
    global RECORDER
    last, inputs = LAST_BUILD[0] if LAST_BUILD else (None, None)
    RECORDER = Recorder(last, inputs, pelican.settings.get("ARTICLE_PATHS", ()))
    if last:
        # What only the recorder's start reads (the last build's inputs and faces) and what only the body-edit path
        # reads (its link targets) is let go before the pages are written: some 7 MB at 10,000 articles, held by
        # the writing process and by the child forked from it. The snapshot's save reads the last files only.
        last.pop("inputs", None)
        recorded = last.get("quick")
        if isinstance(recorded, dict):
            recorded.pop("faces", None)
            recorded.pop("links", None)


def let_go_of_last_build() -> None:
    """In the pre-rendering child, which keeps no page of the last build (the writing process decides that): the
    last build's manifest (some 60 MB at 10,000 articles) is let go. Loaded in one piece, it fills memory of its
    own, which goes back to the system, so the child is not counted as holding it a second time at the build's peak
    of memory. Emptied in place: the writing process's frames, copied into the child, still refer to it."""
    for manifest, _inputs in LAST_BUILD:
        for part in (manifest or {}).values():
            if isinstance(part, dict):
                part.clear()
        if manifest:
            manifest.clear()
    RECORDER._last, RECORDER._last_files, RECORDER._last_unknown = {}, {}, set()


def keep_output(name: str, key: str, path: str, items) -> bool:
    """``content_model.OUTPUT_KEEPERS``: whether the output file ``name`` (at ``path``), made from ``key``, keeps the
    last build's file unread (``Recorder.carry_feed``); then it is taken back."""
    from content_model.output import take_back

    return RECORDER.carry_feed(name, key, path, items) and take_back(path)


def made_output(name: str, key: str) -> None:
    """``content_model.OUTPUT_KEEPERS``: the output file ``name`` was made from ``key``."""
    RECORDER.pages[name] = key


def note_face(content) -> None:
    RECORDER.note_face(content)


def note_links(generators) -> None:
    RECORDER.note_links(generators)


class NotQuick(Exception):
    """The edit needs a full build (the message says why, for the debug log)."""


class LinkTarget:
    """A content or static file as an intrasite link in the body sees it: its URL only."""

    def __init__(self, url: str) -> None:
        self.url = url

    def attach_to(self, content) -> None:
        raise NotQuick("{attach} moves the attached file")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def _held_log():
    """Hold back what reading the file logs: on the shortcut nothing is worth saying, and otherwise the full build
    that follows says it (a warning here means that build is needed)."""
    root = logging.getLogger()
    handlers, collect = root.handlers[:], _Collect()
    root.handlers = [collect]
    try:
        yield collect.records
    finally:
        root.handlers = handlers


def apply_body_edit(settings: dict, inputs: snapshot.Inputs, manifest: dict | None) -> bool:
    """Patch the last build's output (``manifest``: ``snapshot.load_manifest``) for an edit of one article's body
    (and so maybe of its summary); False (nothing written) when a full build is needed."""
    try:
        relative, record, shown_in = _edited_article(manifest, inputs)
        with _held_log() as warnings:
            article, fragments = _read_again(settings, relative, record, manifest["quick"])
        if warnings:
            raise NotQuick(f"reading it logged: {warnings[0].getMessage()}")
        summary = _summary_change(manifest["quick"], relative, record, article)
        if summary is not None:  # the files that show its summary too
            shown_in = {**{name: manifest["quick"]["outputs"].get(name)
                           for name, (_form, sources) in manifest["quick"]["summaries"].items() if relative in sources},
                        **shown_in}
        saved = snapshot.snapshot_dir(settings) / "files"
        patched = {}
        for name, shown in shown_in.items():
            try:
                text = (saved / name).read_text(encoding="utf-8")
            except OSError as exc:
                raise NotQuick(f"the saved {name} cannot be read") from exc
            if shown is not None and len(text) != shown["length"]:  # put_in_place would refuse it too
                raise NotQuick(f"the saved {name} is not as recorded")
            more, moved = [], []
            if name == record["page"]:
                more = [(record["fragments"][key], new) for key, new in fragments.items()]
                moved = [place for key, place in record["fragments"].items() if key not in fragments]
            if summary is not None:
                more += _summary_places(manifest["quick"], name, text, shown, relative, record, summary)
            blank = {"length": len(text), "siteurl": "", "form": "html", "spans": []}
            patched[name] = _patch(text, shown or blank, relative, article, more, moved)
    except NotQuick as exc:
        logger.debug("incremental: a full build is needed: %s", exc)
        return False
    except Exception as exc:  # noqa: BLE001 - anything unexpected: the full build is always right
        logger.debug("incremental: a full build is needed: %s: %s", type(exc).__name__, exc)
        return False
    # Patched from the saved build's files (the bytes put_in_place puts in the output), so the search index can be
    # made while the output is put in place: Pagefind re-indexing the page's shard is most of this path's time.
    changed = sorted(patched)
    output = Path(settings["OUTPUT_PATH"])
    with _search_alongside(settings, manifest, patched, saved) as search:
        placed = snapshot.put_in_place(settings, manifest)
        if placed:
            for name, text in patched.items():
                write_atomically(output / name, text.encode("utf-8"))
        replaced = search.finish(placed)
    if not placed:
        return False
    changed += replaced
    record["summary"] = str(article.summary or "")
    for name in patched:  # their text is no longer the one their key made: the next full build makes them again
        manifest["quick"]["pages"].pop(name, None)
    snapshot.save(settings, inputs, manifest["quick"], previous=manifest, changed=changed)
    logger.info("incremental: only the body of %s changed%s: %d file(s) patched, the search index updated", relative,
                " (and the summary it gives)" if summary is not None else "", len(patched))
    return True


def _summary_change(quick: dict, relative: str, record: dict, article) -> tuple[dict, dict] | None:
    """None when the article's summary is as the last build showed it; else its old and new text for each kind of
    place (``summary_texts``, and ``share:<network>`` for each share link's URL)."""
    old, new = record["summary"], str(article.summary or "")
    if new == old:
        return None
    share = share_made_from(record)
    if share is None:
        raise NotQuick(f"what the share links of {relative} were made from is not recorded")
    if not old or not new:
        raise NotQuick(f"{relative} had or has no summary")
    if quick.get("summaries_unknown"):
        raise NotQuick(f"{quick['summaries_unknown'][0]} shows summaries otherwise than recorded")
    return _summary_forms(old, share), _summary_forms(article.summary, share)


def share_made_from(record: dict) -> dict | None:
    """An article record's ``share`` (``Recorder.share_record``) as it was made: the target without the summary
    and the networks (empty when the article had no share link); None when not recorded."""
    share = record.get("share")
    return pickle.loads(share) if isinstance(share, bytes) else None


def _summary_forms(summary, share: dict) -> dict[str, str]:
    from content_model import html_text

    texts = summary_texts(summary)
    if share.get("keys"):
        from share.networks import NETWORKS, ShareTarget

        target = ShareTarget(**share["target"], summary=str(summary))
        texts.update((f"share:{key}", html_text(NETWORKS[key].build(target))) for key in share["keys"])
    return texts


def _summary_places(quick: dict, name: str, text: str, shown: dict | None, relative: str, record: dict,
                    summary: tuple[dict, dict]) -> list[tuple[list[int], str]]:
    """Where ``text`` (the saved ``name``) shows the old summary, each with its new text: in a listing or feed, its
    one item there; on the article page, the meta tags, JSON-LD and share links. NotQuick when a place is not
    found once, or the summary's text is anywhere else on the article page outside its body."""
    old, new = summary
    if name != record["page"]:
        form = quick["summaries"][name][0]
        anchor, before, after, _make = SUMMARY_FORMS[form]
        at = text.find(anchor) if anchor else 0
        needle = before + old[form] + after
        start = text.find(needle, max(at, 0))
        if at < 0 or start < 0 or text.find(needle, start + 1) >= 0:
            raise NotQuick(f"the summary of {relative} is not found once in {name}")
        start += len(before)
        return [([start, start + len(old[form])], new[form])]
    places = []
    for before, form in OWN_SUMMARY_PLACES:
        needle = before + old[form] + '"'
        at = text.find(needle)
        while at >= 0:
            places.append(([at + len(before), at + len(before) + len(old[form])], new[form]))
            at = text.find(needle, at + len(needle))
    for key in (key for key in old if key.startswith("share:")):
        needle = f'href="{old[key]}"'
        at = text.find(needle)
        if at < 0 or text.find(needle, at + 1) >= 0:
            raise NotQuick(f"a share link of {relative} is not found once on its page")
        places.append(([at + 6, at + len(needle) - 1], new[key]))
    covered = [(span[-2], span[-1]) for span in (shown or {}).get("spans", ())] + [tuple(p) for p, _ in places]
    for shown_text in {old["attr"], old["json"]}:
        at = text.find(shown_text)
        while at >= 0:
            if not any(start <= at and at + len(shown_text) <= end for start, end in covered):
                raise NotQuick(f"the page of {relative} shows its summary where this path does not patch it")
            at = text.find(shown_text, at + 1)
    return places


class _Search:
    """The search index of a patched build, made in a thread while the output is put in place (``finish``)."""

    def __init__(self, settings: dict, manifest: dict, patched: dict[str, str], saved: Path, staging: Path) -> None:
        from search import on_finalized as index_site

        # Every page with its stamp: the saved ones as saved (read from ``saved``), the patched ones from staging.
        listing = {name: [dev, inode, size, mtime] for name, (size, inode, dev, mtime) in manifest["files"].items()
                   if name.endswith(".html")}
        overrides = {}
        for name, text in patched.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            info = os.stat(path)
            listing[name] = [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns]
            overrides[name] = str(path)
        self.settings = settings
        self.ready = threading.Event()
        self.placed = False
        self.outcome: dict = {}
        pelican = SimpleNamespace(settings=settings, output_path=settings["OUTPUT_PATH"])

        def index() -> None:
            try:
                self.outcome["replaced"] = index_site(pelican, listing=listing, changed=sorted(patched), source=saved,
                                                      overrides=overrides, output_ready=self.output_ready)
            except BaseException as exc:  # noqa: BLE001 - raised again in the build's thread (``finish``)
                self.outcome["error"] = exc

        self.thread = threading.Thread(target=index, name="search-index", daemon=True)
        self.thread.start()

    def output_ready(self) -> bool:
        self.ready.wait()
        return self.placed

    def finish(self, placed: bool) -> list[str]:
        """Let the index go into the output (``placed``) or not, wait for it: the output folders it replaced."""
        from search import search_settings

        self.placed = placed
        self.ready.set()
        self.thread.join()
        if "error" in self.outcome:
            raise self.outcome["error"]
        if not placed:
            return []
        replaced = self.outcome.get("replaced")
        return [search_settings(self.settings)["SEARCH_BUNDLE_DIR"].strip("/") + "/"] if replaced is None else replaced


class _NoSearch:
    def finish(self, placed: bool) -> list[str]:
        return []


@contextlib.contextmanager
def _search_alongside(settings: dict, manifest: dict, patched: dict[str, str], saved: Path):
    """``_Search`` when the search plugin is on (its staging folder removed afterwards), else nothing to do."""
    if "search" not in settings.get("PLUGINS", ()):
        yield _NoSearch()
        return
    cache = Path(settings["CACHE_PATH"])
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="patched-", dir=cache))
    search = None
    try:
        search = _Search(settings, manifest, patched, saved, staging)
        yield search
    finally:
        if search is not None and search.thread.is_alive():  # the body above raised: let the thread end untouched
            search.placed = False
            search.ready.set()
            search.thread.join()
        shutil.rmtree(staging, ignore_errors=True)


def _patch(text: str, shown: dict, relative: str, article, more: list[tuple[list[int], str]],
           moved: list[list[int]] = ()) -> str:
    """``text`` with the body of ``relative`` replaced (where ``shown`` has it), and each ``[start, end]`` place in
    ``more`` by its text. Every place recorded in the file (``shown``'s spans, the places in ``more`` and
    ``moved``) is moved to match."""
    places = [span for span in shown["spans"] if span[1] >= 0]  # [source, start, end]: the last two are the place
    edits = list(more)
    own = [span for span in places if span[0] == relative]
    if own:
        _before, _after, make = BODY_FORMS[shown["form"]]
        body = make(article.get_content(shown["siteurl"]))
        edits += [(span, body) for span in own]
    edits.sort(key=lambda edit: edit[0][-2])
    pieces, at, shifts = [], 0, []
    for place, new in edits:
        start, end = place[-2], place[-1]
        pieces += [text[at:start], new]
        at = end
        shifts.append((end, len(new) - (end - start)))
    pieces.append(text[at:])
    new_texts = {id(place): new for place, new in edits}
    for place in places + [place for place, _new in more] + list(moved):
        start = place[-2] + sum(delta for end, delta in shifts if end <= place[-2])
        place[-1] = start + len(new_texts[id(place)]) if id(place) in new_texts else place[-1] + start - place[-2]
        place[-2] = start
    text = "".join(pieces)
    shown["length"] = len(text)
    return text


def _edited_article(manifest: dict | None, inputs: snapshot.Inputs) -> tuple[str, dict, dict]:
    """The one changed file, its record and the records of the outputs that show its body, if the shortcut may
    apply to it."""
    quick = (manifest or {}).get("quick")
    last = (manifest or {}).get("inputs")
    if not quick or quick.get("format") != FORMAT or not last:
        raise NotQuick("the last build recorded nothing for this path")
    if last.get("rest") != inputs.rest:
        raise NotQuick("settings, theme, plugins or libraries changed")
    changed = inputs.changed_since(last.get("content") or {})
    if len(changed) != 1:
        raise NotQuick(f"{len(changed)} content files changed")
    relative = changed[0]
    record = quick["articles"].get(relative)
    if record is None or relative not in inputs.content or relative not in quick["faces"]:
        raise NotQuick(f"{relative} is not an article with a recorded page")
    if record["images"]:
        raise NotQuick(f"the body of {relative} held images")
    shown_in = {name: shown for name, shown in quick["outputs"].items()
                if any(span[0] == relative for span in shown["spans"])}
    if record["page"] not in shown_in:
        raise NotQuick(f"the page of {relative} was not recorded")
    for name, shown in shown_in.items():
        if any(span[0] == relative and span[1] < 0 for span in shown["spans"]):
            raise NotQuick(f"where {name} shows the body of {relative} is unknown")
    return relative, record, shown_in


def _read_again(settings: dict, relative: str, record: dict, quick: dict) -> tuple[object, dict[str, str]]:
    """Read the article again as a build does: the new article, if nothing but its body changed, and the new text
    of each body-derived value its page shows that changed (``record`` is updated with the new values)."""
    from pelican import Pelican
    from pelican.generators import ArticlesGenerator

    import content_model

    # Pelican's reader cache holds every article; this reads one.
    settings = dict(settings, CACHE_CONTENT=False, LOAD_CONTENT_CACHE=False)
    pelican = Pelican(settings)  # loads the plugins and sends `initialized`, as a build does
    context = settings.copy()
    context.update(
        generated_content={path: LinkTarget(url) for path, url in quick["links"]["generated"].items()},
        static_content={path: LinkTarget(url) for path, url in quick["links"]["static"].items()},
        static_links=set(), localsiteurl=settings["SITEURL"],
    )
    generator = ArticlesGenerator(context=context, settings=pelican.settings, path=pelican.path,
                                  theme=pelican.theme, output_path=pelican.output_path)
    article = content_model.read_article(generator, os.path.join(pelican.path, relative))
    if article is None:
        raise NotQuick(f"{relative} is not a valid article now")
    if content_model.STATE.problems:
        raise NotQuick(f"{relative} has problems to report")
    if RECORDER.faces.get(relative) != quick["faces"][relative] or article.save_as != record["page"]:
        raise NotQuick(f"the metadata of {relative} changed")
    fragments = {}  # what the page shows of a changed body-derived value: its new text
    for name, value in record["derived"].items():
        derive = content_model.BODY_DERIVED.get(name)
        if value is None:
            continue  # the build gave this article no such value (a draft has no reading time)
        if derive is None:
            raise NotQuick(f"nothing derives {name} now")
        new = derive(article, settings)
        if repr(new) == value:
            continue
        partial = content_model.BODY_DERIVED_PARTIALS.get(name)
        if partial is None or name not in record["fragments"]:
            raise NotQuick(f"{name} of {relative} changed, and where its page shows it is unknown")
        fragments[name] = generator.env.get_template(partial).render({name: new, "page_lang": article.lang})
        record["derived"][name] = repr(new)
    if "<img" in article.get_content(settings["SITEURL"]):
        raise NotQuick(f"the body of {relative} holds images")
    return article, fragments
