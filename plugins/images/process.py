"""Pillow work for the images plugin: probe a source cheaply, plan its renditions, render them into the cache.

Everything here is plain functions on plain data, so a process pool can run :func:`render` (the pool pickles the
:class:`ImagePlan` and the function by its module path) and the build can plan markup before anything is encoded.

Cache layout (content-addressed; never keyed on mtimes)::

    <IMAGES_CACHE_PATH>/<digest[:2]>/<digest>/<width>.webp
                                              <width>.jpg | <width>.png     fallback in the source's family
                                              original.jpg | original.png  only when the source carries metadata
                                              done.json                    written last: the entry is complete

``digest`` hashes the source bytes, every setting that changes the pixels and :data:`CODE_VERSION` (plus Pillow's
version, whose encoders change between releases), so an unchanged image is never encoded twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import PIL
from PIL import Image, ImageOps

# Bump when the rendering below changes in a way that changes output bytes.
CODE_VERSION = "1"

# What the source formats map to: the fallback format beside WebP keeps the source's family (photo or graphic).
FALLBACKS = {"JPEG": ("JPEG", "jpg", "image/jpeg"), "PNG": ("PNG", "png", "image/png")}
# Image.info keys that describe pixels, not the picture's history, place or author: kept out of "has metadata".
PIXEL_INFO_KEYS = {
    "jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi", "icc_profile", "gamma", "srgb", "chromaticity",
    "transparency", "progressive", "progression", "adobe", "adobe_transform", "interlace", "aspect",
}
EXIF_ORIENTATION = 0x0112
SAFE_STEM_RE = re.compile(r"[^A-Za-z0-9_-]+")


class ImageProblem(Exception):
    """A source that cannot be used (unreadable, unsupported format); the message is for the editor."""


@dataclass(frozen=True)
class RenderSettings:
    widths: tuple[int, ...]
    webp_quality: int
    jpeg_quality: int
    original_jpeg_quality: int

    def key(self) -> bytes:
        return json.dumps(self.__dict__, sort_keys=True).encode()


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int


@dataclass(frozen=True)
class ImagePlan:
    """One source image: what it looks like upright, which renditions it gets, where they live."""

    source: str  # absolute path
    digest: str
    width: int  # upright (EXIF orientation applied)
    height: int
    source_format: str  # "JPEG" or "PNG"
    renditions: tuple[Rendition, ...]
    strip_original: bool  # the source carries metadata (EXIF, GPS, XMP, comments) or a rotation
    stem: str
    settings: RenderSettings = field(compare=False)

    @property
    def fallback_ext(self) -> str:
        return FALLBACKS[self.source_format][1]

    @property
    def fallback_type(self) -> str:
        return FALLBACKS[self.source_format][2]

    @property
    def short(self) -> str:
        return self.digest[:8]

    def cache_dir(self, cache_root: str | Path) -> Path:
        return Path(cache_root) / self.digest[:2] / self.digest

    def is_cached(self, cache_root: str | Path) -> bool:
        return (self.cache_dir(cache_root) / "done.json").is_file()

    def files(self) -> list[tuple[str, str]]:
        """(name in the cache entry, name in the output folder) of every rendition file, sorted."""
        pairs = []
        for r in self.renditions:
            for ext in ("webp", self.fallback_ext):
                pairs.append((f"{r.width}.{ext}", self.output_name(r.width, ext)))
        return pairs

    def output_name(self, width: int, ext: str) -> str:
        return f"{self.stem}-{width}.{self.short}.{ext}"

    @property
    def original_cache_name(self) -> str:
        return f"original.{self.fallback_ext}"


def rendition_widths(width: int, wanted: tuple[int, ...]) -> tuple[int, ...]:
    """The wanted widths narrower than the source, plus the source's own width when it is below the widest
    wanted one: never upscale, and the sharpest version is as sharp as the source allows."""
    widths = {w for w in wanted if w < width}
    widths.add(min(width, max(wanted)))
    return tuple(sorted(widths))


def scaled_height(width: int, height: int, to_width: int) -> int:
    return max(1, round(height * to_width / width))


def has_metadata(image: Image.Image) -> bool:
    if len(image.getexif()):
        return True
    return bool(set(image.info) - PIXEL_INFO_KEYS)


def probe(path: str | Path, settings: RenderSettings) -> ImagePlan | None:
    """Plan one source from its bytes and header (no decoding). ``None`` for formats we leave alone (GIF, SVG…);
    :class:`ImageProblem` for a file Pillow cannot read."""
    path = Path(path)
    data = path.read_bytes()
    try:
        with Image.open(path) as image:
            source_format = image.format
            if source_format not in FALLBACKS:
                return None
            width, height = image.size
            orientation = image.getexif().get(EXIF_ORIENTATION, 1)
            metadata = has_metadata(image)
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageProblem(f"cannot read image `{path.name}`: {exc}") from None
    if orientation in (5, 6, 7, 8):  # a quarter turn: upright width and height swap
        width, height = height, width
    digest = hashlib.sha256(
        b"portal-images\0" + CODE_VERSION.encode() + b"\0" + PIL.__version__.encode() + b"\0" + settings.key()
        + b"\0" + data
    ).hexdigest()
    renditions = tuple(
        Rendition(w, scaled_height(width, height, w)) for w in rendition_widths(width, settings.widths)
    )
    stem = SAFE_STEM_RE.sub("-", path.stem).strip("-") or "image"
    return ImagePlan(
        source=str(path),
        digest=digest,
        width=width,
        height=height,
        source_format=source_format,
        renditions=renditions,
        strip_original=metadata or orientation != 1,
        stem=stem,
        settings=settings,
    )


def _upright_pixels(image: Image.Image, source_format: str) -> Image.Image:
    """Rotate by EXIF orientation, then drop every piece of metadata except the colour profile."""
    upright = ImageOps.exif_transpose(image)
    icc = image.info.get("icc_profile")
    if source_format == "JPEG":
        upright = upright.convert("RGB")
    elif upright.mode not in ("RGB", "RGBA"):
        has_alpha = upright.mode in ("LA", "PA") or "transparency" in upright.info
        upright = upright.convert("RGBA" if has_alpha else "RGB")
    upright.info = {"icc_profile": icc} if icc else {}
    return upright


def _save(image: Image.Image, target: Path, fmt: str, plan: ImagePlan, quality: int | None = None) -> None:
    """Write through a temporary name so an interrupted build never leaves half a file under the final name."""
    options: dict = {"exif": b""}
    if image.info.get("icc_profile"):
        options["icc_profile"] = image.info["icc_profile"]
    if fmt == "WEBP":
        options.update(quality=plan.settings.webp_quality, method=4)
    elif fmt == "JPEG":
        options.update(quality=quality or plan.settings.jpeg_quality, optimize=True, progressive=True)
    elif fmt == "PNG":
        options.update(optimize=True)
    temporary = target.with_name(target.name + ".tmp")
    image.save(temporary, fmt, **options)
    os.replace(temporary, target)


def render(plan: ImagePlan, cache_root: str) -> int:
    """Encode every rendition (and the stripped original, when needed) into the cache; return the number of
    encodes. Runs in a worker process for cold builds with many images."""
    folder = plan.cache_dir(cache_root)
    folder.mkdir(parents=True, exist_ok=True)
    fallback_format = FALLBACKS[plan.source_format][0]
    encodes = 0
    with Image.open(plan.source) as image:
        upright = _upright_pixels(image, plan.source_format)
    for rendition in plan.renditions:
        size = (rendition.width, rendition.height)
        scaled = upright if size == upright.size else upright.resize(size, Image.Resampling.LANCZOS)
        scaled.info = upright.info
        _save(scaled, folder / f"{rendition.width}.webp", "WEBP", plan)
        _save(scaled, folder / f"{rendition.width}.{plan.fallback_ext}", fallback_format, plan)
        encodes += 2
    if plan.strip_original:
        _save(upright, folder / plan.original_cache_name, fallback_format, plan, plan.settings.original_jpeg_quality)
        encodes += 1
    manifest = {"source": Path(plan.source).name, "width": plan.width, "height": plan.height,
                "renditions": [[r.width, r.height] for r in plan.renditions], "encodes": encodes}
    (folder / "done.json").write_text(json.dumps(manifest, sort_keys=True), encoding="utf-8")
    return encodes
