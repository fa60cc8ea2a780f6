"""QR codes of article URLs for the WeChat entry, made with zxing-cpp and cached by a hash of their input."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
from pathlib import Path

from content_model.output import write_atomically, write_if_changed
from content_model.workers import Background, run_all, usable_cores

# Bump when the image changes for the same URL (scale, colours, encoder options): old cache entries are
# then simply not used again.
QR_VERSION = "2"


def qr_key(url: str, scale: int) -> str:
    return hashlib.sha256(f"qr|{QR_VERSION}|{scale}|{url}".encode()).hexdigest()


def render_qr_png(url: str, scale: int) -> bytes:
    """A 1-bit PNG of the QR code (error correction M, with the quiet zone) of ``url``."""
    import zxingcpp
    from PIL import Image

    barcode = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    # One pixel per module, scaled by Pillow: the same image as zxing's own scaling, in two thirds of the time.
    pixels = memoryview(barcode.to_image(scale=1, add_quiet_zones=True))
    height, width = pixels.shape
    image = Image.frombytes("L", (width, height), pixels.tobytes()).convert("1")
    if scale != 1:
        image = image.resize((width * scale, height * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    # zlib's default level: a fifth less time per code than Pillow's optimize (level 9) for about 20 bytes more
    # (4%), a second of CPU in a cold build of 10,000 articles.
    image.save(buffer, "PNG", compress_level=6)
    return buffer.getvalue()


def qr_png(url: str, scale: int, cache_dir: Path) -> tuple[bytes, bool]:
    """The PNG bytes of the QR code of ``url`` and whether it was made now (False: read from the cache)."""
    cached = cache_dir / f"{qr_key(url, scale)}.png"
    try:
        return cached.read_bytes(), False
    except FileNotFoundError:
        data = render_qr_png(url, scale)
        write_if_changed(cached, data)
        return data, True


# Fewer missing codes than this are made in-process: a fork pool costs more than it saves.
POOL_MIN = 64


def _make_one(job: tuple[str, int, str]) -> None:
    url, scale, cache_dir = job
    write_if_changed(Path(cache_dir) / f"{qr_key(url, scale)}.png", render_qr_png(url, scale))


def _missing_jobs(urls: list[str], scale: int, cache_dir: Path) -> list[tuple[str, int, str]]:
    try:
        present = set(os.listdir(cache_dir))  # one listing, not a stat per code
    except FileNotFoundError:
        present = set()
    missing = sorted({url for url in urls if f"{qr_key(url, scale)}.png" not in present})
    if missing:
        cache_dir.mkdir(parents=True, exist_ok=True)
    return [(url, scale, str(cache_dir)) for url in missing]


def make_missing(urls: list[str], scale: int, cache_dir: Path) -> int:
    """Make every QR code not yet in the cache, on every core when there are many (a cold build of a large site
    needs one per article: about a millisecond each). Returns how many were made."""
    jobs = _missing_jobs(urls, scale, cache_dir)
    run_all(_make_one, jobs, usable_cores() if len(jobs) >= POOL_MIN else 1)
    return len(jobs)


@dataclasses.dataclass
class StartedCodes:
    """What ``start_missing`` found missing for ``urls``, and its background making them (None: left to
    ``finish_missing``, too few for a pool or one core)."""

    urls: list[str]
    jobs: list[tuple[str, int, str]]
    background: Background | None


def start_missing(urls: list[str], scale: int, cache_dir: Path) -> StartedCodes:
    """Start making, in the background on every core, the codes not yet in the cache, when there are many."""
    jobs = _missing_jobs(urls, scale, cache_dir)
    if len(jobs) < POOL_MIN or usable_cores() < 2:
        return StartedCodes(urls, jobs, None)
    return StartedCodes(urls, jobs, Background(_make_one, jobs, usable_cores()))


def finish_missing(started: StartedCodes | None, urls: list[str], scale: int, cache_dir: Path) -> int:
    """``make_missing`` after ``start_missing``: for the same URLs, the codes it found missing are made (or waited
    for) without asking the cache about each code again (a file the cache lost since is made by ``qr_width``).
    Returns how many were made."""
    if started is None or started.urls != urls:
        if started is not None and started.background is not None:
            started.background.wait()
        return make_missing(urls, scale, cache_dir)
    if started.background is not None:
        started.background.wait()
    else:
        run_all(_make_one, started.jobs, usable_cores() if len(started.jobs) >= POOL_MIN else 1)
    return len(started.jobs)


def qr_width(url: str, scale: int, cache_dir: Path) -> tuple[int, bool]:
    """The width of the QR code of ``url`` (read from its PNG's header in the cache, made if missing), and whether it
    was made now."""
    try:
        with open(cache_dir / f"{qr_key(url, scale)}.png", "rb") as handle:
            header = handle.read(24)
        if len(header) == 24:
            return png_size(header)[0], False
    except FileNotFoundError:
        pass
    data, fresh = qr_png(url, scale, cache_dir)
    return png_size(data)[0], fresh


class QrWidths:
    """The width of each cached code (a function of its key: URL, scale, ``QR_VERSION``), kept beside the codes in
    ``widths.json``: one file read a build, where reading each code's PNG header opened ten thousand files at ten
    thousand articles. A code not listed is asked of ``qr_width`` (read, or made) and listed."""

    FILE = "widths.json"

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        try:
            known = json.loads((cache_dir / self.FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            known = {}
        self.known: dict[str, int] = {key: width for key, width in known.items() if isinstance(width, int)} \
            if isinstance(known, dict) else {}
        self.changed = False

    def width(self, url: str, scale: int, key: str) -> tuple[int, bool]:
        """The width of the code of ``url`` (``key``: its ``qr_key``), and whether the code was made now."""
        width = self.known.get(key)
        if width is not None:
            return width, False
        width, fresh = qr_width(url, scale, self.cache_dir)
        self.known[key] = width
        self.changed = True
        return width, fresh

    def save(self) -> None:
        if self.changed:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            write_atomically(self.cache_dir / self.FILE, json.dumps(self.known, sort_keys=True).encode())


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (no decoding)."""
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
