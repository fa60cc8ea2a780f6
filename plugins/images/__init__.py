"""images: responsive lead and in-body images, made with Pillow at build time and cached by content hash.

Adds, for every JPEG or PNG an article uses (its ``Image:`` lead image, and each ``<img src="{static}/…">`` in
its body):

- renditions at several widths (``IMAGES_WIDTHS``, never upscaled), each as WebP plus a JPEG (photos) or PNG
  (graphics) fallback, upright (EXIF orientation applied) and with EXIF/GPS/XMP/comments stripped;
- ``article.lead_picture`` (a :class:`Picture`) for ``partials/lead_image.html``; in-body ``<img>`` tags become
  ``<picture>`` with ``srcset``/``sizes``, ``width``/``height``, ``loading="lazy"`` and ``decoding="async"``;
- the published copy of a static image that carries metadata is replaced by a stripped copy, so the original URL
  keeps working without leaking where and when the photo was taken.

Signals:

- ``article_generator_init``: a fresh per-build state;
- ``content_object_init``: plan each article's and page's images from their bytes and headers (no decoding) and
  rewrite the body's ``<img>`` in memory (the reader's sanitised HTML of that one document; written pages are
  never re-read). Derivative URLs in the body are written as ``{derived}/path`` and resolved per rendering
  context (relative on pages, absolute in feeds) by the content's ``_update_content``, like Pelican's ``{static}``;
- ``all_generators_finalized`` (after content_model's check, so a build with content errors encodes nothing):
  render what the cache lacks, in a process pool when more than ``IMAGES_PARALLEL_THRESHOLD`` images need work,
  and point metadata-carrying static images at their stripped copies;
- ``finalized``: hard-link (or copy) the renditions from the cache into ``output/<IMAGES_OUTPUT_DIR>/`` and
  remove renditions no page uses any more.

A problem with an image (missing file, unreadable data) is reported as ``path:line: error:`` through the
content model, which stops the build before anything is written.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

from pelican import signals
from pelican.contents import Article, Page
from pelican.generators import StaticGenerator

from content_model.workers import can_fork, map_all, usable_cores

from . import process
from .process import ImagePlan, ImageProblem, RenderSettings

logger = logging.getLogger(__name__)

DEFAULTS = {
    # Rendition widths in CSS pixels; a source narrower than the widest gets its own width as the largest.
    "IMAGES_WIDTHS": (480, 800, 1200, 1600),
    # How wide the image is shown: the article column is 44rem; below that it spans the viewport minus padding.
    "IMAGES_SIZES": "(min-width: 46rem) 44rem, calc(100vw - 2rem)",
    "IMAGES_WEBP_QUALITY": 80,
    "IMAGES_JPEG_QUALITY": 82,
    # Quality of the stripped full-size copy that replaces a metadata-carrying JPEG at its original URL.
    "IMAGES_ORIGINAL_JPEG_QUALITY": 90,
    # Folder in the output for renditions (file names carry a content hash, so they can be cached forever).
    "IMAGES_OUTPUT_DIR": "images/derived",
    # Cache folder; empty means "images" next to CACHE_PATH (cache/pelican -> cache/images). A relative path is
    # taken from the project folder (the parent of PATH).
    "IMAGES_CACHE_PATH": "",
    # Use a process pool when more images than this need encoding (a pool costs ~0.1 s to start).
    "IMAGES_PARALLEL_THRESHOLD": 3,
    "IMAGES_WORKERS": 0,  # 0: one per CPU
}
# A fallback <img src> for browsers without srcset: the widest rendition up to this width.
FALLBACK_SRC_MAX_WIDTH = 1200
DERIVED = "{derived}/"
IMG_TAG_RE = re.compile(r"<img\b[^>]*>", re.I)
DERIVED_RE = re.compile(r"\{derived\}/([^\s\"',]+)")


def read_settings(settings: dict) -> dict:
    """The plugin's settings with defaults, checked; the cache path made absolute."""
    values = {key: settings.get(key, default) for key, default in DEFAULTS.items()}
    widths = tuple(sorted({int(w) for w in values["IMAGES_WIDTHS"]}))
    if not widths or widths[0] <= 0:
        raise ValueError("IMAGES_WIDTHS must list positive widths")
    values["IMAGES_WIDTHS"] = widths
    cache = values["IMAGES_CACHE_PATH"]
    if not cache:
        cache = os.path.join(os.path.dirname(os.path.abspath(settings["CACHE_PATH"])), "images")
    elif not os.path.isabs(cache):
        cache = os.path.join(os.path.dirname(os.path.abspath(settings["PATH"])), cache)
    values["IMAGES_CACHE_PATH"] = cache
    values["IMAGES_OUTPUT_DIR"] = values["IMAGES_OUTPUT_DIR"].strip("/")
    values["IMAGES_WORKERS"] = int(values["IMAGES_WORKERS"]) or usable_cores()
    values["render"] = RenderSettings(
        widths=widths,
        webp_quality=int(values["IMAGES_WEBP_QUALITY"]),
        jpeg_quality=int(values["IMAGES_JPEG_QUALITY"]),
        original_jpeg_quality=int(values["IMAGES_ORIGINAL_JPEG_QUALITY"]),
    )
    return values


@dataclass(frozen=True)
class Picture:
    """What a template needs to write a ``<picture>`` for one planned image."""

    plan: ImagePlan
    output_dir: str
    sizes: str

    def path(self, width: int, ext: str) -> str:
        return f"{self.output_dir}/{self.plan.output_name(width, ext)}"

    def srcset(self, kind: str, base: str) -> str:
        """``kind`` is "webp" or "fallback"; ``base`` is SITEURL (or the ``{derived}`` marker)."""
        ext = "webp" if kind == "webp" else self.plan.fallback_ext
        return ", ".join(f"{base}/{self.path(r.width, ext)} {r.width}w" for r in self.plan.renditions)

    @property
    def fallback_rendition(self) -> process.Rendition:
        fitting = [r for r in self.plan.renditions if r.width <= FALLBACK_SRC_MAX_WIDTH]
        return fitting[-1] if fitting else self.plan.renditions[0]

    def src(self, base: str) -> str:
        return f"{base}/{self.path(self.fallback_rendition.width, self.plan.fallback_ext)}"

    @property
    def fallback_type(self) -> str:
        return self.plan.fallback_type

    @property
    def width(self) -> int:
        return self.plan.renditions[-1].width

    @property
    def height(self) -> int:
        return self.plan.renditions[-1].height


class BuildState:
    def __init__(self) -> None:
        self.plans: dict[str, ImagePlan | None] = {}  # absolute source path -> plan (None: left alone)
        self.used: set[str] = set()  # digests whose renditions the pages use
        self.stats = {"images": 0, "rendered": 0, "reused": 0, "encodes": 0, "workers": 0}
        self.config: tuple[dict, dict] | None = None  # (settings, read_settings of them): read once per build

    def config_of(self, settings: dict) -> dict:
        if self.config is None or self.config[0] is not settings:
            self.config = (settings, read_settings(settings))
        return self.config[1]


STATE = BuildState()
LAST_BUILD: dict = {}


def plan_for(path: Path, config: dict) -> ImagePlan | None:
    key = str(path)
    if key not in STATE.plans:
        STATE.plans[key] = process.probe(path, config["render"])
    return STATE.plans[key]


def report(content, line: int, message: str) -> None:
    """Record an error the content model raises with every other problem before anything is written."""
    import content_model
    from content_model.model import Problem

    path = content.metadata.get("portal_source") or content.source_path
    content_model.STATE.problems.append(Problem(path, line, "error", message))


def header_line(content, key: str) -> int:
    return content.metadata.get("portal_header", {}).get(key, (None, 1))[1]


def body_line(content, needle: str) -> int:
    """The source line that mentions ``needle`` (the reader does not keep body line numbers)."""
    try:
        with open(content.source_path, encoding="utf-8") as handle:
            for number, text in enumerate(handle, 1):
                if needle in text:
                    return number
    except OSError:
        pass
    return content.metadata.get("portal_body_line", 1)


class _TagAttributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attrs: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        self.attrs = {name: value or "" for name, value in attrs}

    handle_startendtag = handle_starttag


def tag_attributes(tag: str) -> dict[str, str]:
    parser = _TagAttributes()
    parser.feed(tag)
    parser.close()
    return parser.attrs


def picture_markup(picture: Picture, attrs: dict[str, str]) -> str:
    """An in-body ``<picture>``: below the fold, so lazy; keeps the editor's alt, title, id and language."""
    sizes = html.escape(picture.sizes)
    kept = "".join(
        f' {name}="{html.escape(attrs[name])}"' for name in ("alt", "title", "id", "lang", "dir") if name in attrs
    )
    if "alt" not in attrs:
        kept = ' alt=""' + kept
    return (
        '<picture class="app-picture">'
        f'<source type="image/webp" srcset="{picture.srcset("webp", DERIVED.rstrip("/"))}" sizes="{sizes}">'
        f'<img src="{picture.src(DERIVED.rstrip("/"))}" srcset="{picture.srcset("fallback", DERIVED.rstrip("/"))}"'
        f' sizes="{sizes}" width="{picture.width}" height="{picture.height}"{kept} loading="lazy" decoding="async">'
        "</picture>"
    )


def static_target(src: str) -> str | None:
    """The content-relative path of a ``{static}`` image source, or None for anything else."""
    for prefix in ("{static}", "%7Bstatic%7D"):
        if src.startswith(prefix):
            return src[len(prefix):].split("#", 1)[0].split("?", 1)[0].lstrip("/")
    return None


def rewrite_body(content, config: dict) -> bool:
    """Replace each ``{static}`` JPEG/PNG ``<img>`` in this document's own HTML with a ``<picture>``."""
    from content_model import resolve_content_path
    from content_model.bodies import IMAGES, may_hold

    changed = False
    if not may_hold(content, IMAGES):
        return changed

    def replace(match: re.Match) -> str:
        nonlocal changed
        attrs = tag_attributes(match.group(0))
        relative = static_target(attrs.get("src", ""))
        if relative is None:
            return match.group(0)
        target = resolve_content_path(content.settings, relative)
        if target is None or not target.is_file():
            report(content, body_line(content, relative),
                   f"image `{relative}` does not exist under content/ (write paths like {{static}}/images/x.jpg)")
            return match.group(0)
        try:
            plan = plan_for(target, config)
        except ImageProblem as exc:
            report(content, body_line(content, relative), str(exc))
            return match.group(0)
        if plan is None:
            return match.group(0)
        STATE.used.add(plan.digest)
        changed = True
        return picture_markup(Picture(plan, config["IMAGES_OUTPUT_DIR"], config["IMAGES_SIZES"]), attrs)

    body = IMG_TAG_RE.sub(replace, content._content or "")
    if changed:
        content._content = body
    return changed


def resolve_derived(text: str, siteurl: str, relative_urls: bool) -> str:
    """Turn ``{derived}/path`` into a link the way Pelican resolves ``{static}`` for the same rendering."""
    if relative_urls:
        return DERIVED_RE.sub(lambda m: os.path.join(siteurl, m.group(1)).replace("\\", "/"), text)
    base = siteurl if siteurl.endswith("/") else siteurl + "/"
    return DERIVED_RE.sub(lambda m: urljoin(base, m.group(1)), text)


class _DerivedLinks:
    """Wraps a content object's ``_update_content`` so ``{derived}`` links (also inside ``srcset``, which
    Pelican's own link regex skips) resolve per rendering context before Pelican resolves ``{static}``."""

    def __init__(self, content) -> None:
        self.original = content._update_content
        self.relative_urls = content.settings["RELATIVE_URLS"]

    def __call__(self, text: str, siteurl: str) -> str:
        if text and DERIVED in text:
            text = resolve_derived(text, siteurl, self.relative_urls)
        return self.original(text, siteurl)


def on_article_generator_init(generator) -> None:
    global STATE
    STATE = BuildState()


def on_content_object_init(content) -> None:
    if not isinstance(content, (Article, Page)):
        return
    config = STATE.config_of(content.settings)
    image_path = getattr(content, "image_path", None)
    if image_path:
        try:
            plan = plan_for(Path(content.settings["PATH"]).resolve() / image_path, config)
        except ImageProblem as exc:
            report(content, header_line(content, "image"), str(exc))
            plan = None
        if plan is not None:
            STATE.used.add(plan.digest)
            content.lead_picture = Picture(plan, config["IMAGES_OUTPUT_DIR"], config["IMAGES_SIZES"])
    if rewrite_body(content, config):
        content._update_content = _DerivedLinks(content)


def _static_plans(generators, config: dict) -> list[tuple[object, ImagePlan]]:
    """Static images whose published copy must be stripped of metadata."""
    found = []
    for generator in generators:
        if not isinstance(generator, StaticGenerator):
            continue
        for static in generator.staticfiles:
            if not static.source_path.lower().endswith((".jpg", ".jpeg", ".png")):
                continue
            try:
                plan = plan_for(Path(static.source_path).resolve(), config)
            except ImageProblem:
                continue  # nothing uses it as a picture; it is published as it is
            if plan is not None and plan.strip_original:
                found.append((static, plan))
    return found


def render_missing(plans: list[ImagePlan], config: dict) -> tuple[int, int]:
    """Encode the plans the cache lacks; in a process pool when there are enough to pay for one.
    Returns (encodes, worker processes used; 0 when encoded in this process)."""
    cache_root = config["IMAGES_CACHE_PATH"]
    workers = min(config["IMAGES_WORKERS"], len(plans))
    if len(plans) > config["IMAGES_PARALLEL_THRESHOLD"] and workers > 1 and can_fork():
        # fork: the children inherit the plugin module Pelican loaded from PLUGIN_PATHS (spawn could not import it)
        return sum(map_all(_render, [(plan, cache_root) for plan in plans], workers)), workers
    return sum(process.render(plan, cache_root) for plan in plans), 0


def _render(job: tuple[ImagePlan, Path]) -> int:
    return process.render(*job)


def on_all_generators_finalized(generators) -> None:
    settings = generators[0].settings
    config = read_settings(settings)
    statics = _static_plans(generators, config)
    wanted = {p.digest: p for p in STATE.plans.values() if p is not None and p.digest in STATE.used}
    wanted.update({plan.digest: plan for _static, plan in statics})
    cache_root = config["IMAGES_CACHE_PATH"]
    missing = [wanted[d] for d in sorted(wanted) if not wanted[d].is_cached(cache_root)]
    encodes, workers = render_missing(missing, config)
    for static, plan in statics:
        # The original URL keeps working; it now serves the upright, metadata-free copy. Output location is
        # pinned first: Pelican derives a static file's save_as from its source path.
        static.override_save_as, static.override_url = static.save_as, static.url
        static.source_path = str(plan.cache_dir(cache_root) / plan.original_cache_name)
    STATE.stats = {"images": len(wanted), "rendered": len(missing), "reused": len(wanted) - len(missing),
                   "encodes": encodes, "workers": workers}
    LAST_BUILD.clear()
    LAST_BUILD.update(STATE.stats)
    os.makedirs(cache_root, exist_ok=True)
    with open(os.path.join(cache_root, "last-build.json"), "w", encoding="utf-8") as handle:
        json.dump(STATE.stats, handle, sort_keys=True)
    if missing:
        logger.info("images: %d image(s) rendered (%d encodes), %d from the cache",
                    len(missing), encodes, len(wanted) - len(missing))


def _place(source: Path, target: Path) -> None:
    if target.exists():
        if os.path.samefile(source, target):
            return
        target.unlink()
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed: copy instead
        shutil.copyfile(source, target)


def on_finalized(pelican) -> None:
    config = read_settings(pelican.settings)
    cache_root = config["IMAGES_CACHE_PATH"]
    folder = Path(pelican.settings["OUTPUT_PATH"]) / config["IMAGES_OUTPUT_DIR"]
    placed: set[str] = set()
    for plan in sorted((p for p in STATE.plans.values() if p is not None and p.digest in STATE.used),
                       key=lambda p: p.digest):
        folder.mkdir(parents=True, exist_ok=True)
        for cached, published in plan.files():
            _place(plan.cache_dir(cache_root) / cached, folder / published)
            placed.add(published)
    if folder.is_dir():
        # output equals a cold build: renditions of images no page uses any more go
        for stale in sorted(p for p in folder.iterdir() if p.is_file() and p.name not in placed):
            stale.unlink()


def register() -> None:
    """Plan at ``content_object_init``, render at ``all_generators_finalized``, publish at ``finalized``."""
    signals.article_generator_init.connect(on_article_generator_init)
    signals.content_object_init.connect(on_content_object_init)
    signals.all_generators_finalized.connect(on_all_generators_finalized)
    signals.finalized.connect(on_finalized)
