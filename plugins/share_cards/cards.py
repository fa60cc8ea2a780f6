"""Drawing one share card (1200×630 JPEG) with Pillow: pure functions of a picklable :class:`CardSpec`.

Kept free of Pelican so the process pool's workers import little, and so the layout is testable alone.

Cost per card is what a cold build of thousands of articles pays, so: the identity band, the same on every card
of a site and language, is drawn once (:func:`identity_base`); fonts are loaded once per process (:func:`font`);
text that needs no shaping is measured and drawn glyph by glyph from what FreeType gave once per process
(:class:`Glyphs`); cards are baseline JPEG, which encodes about seven times faster than PNG (about 2 ms against
15 ms for a 1200×630 card) and is smaller for cards with a photo (but some 50% larger for text-only cards: flat
colour and sharp edges are what PNG is good at); and the rows of the card its text leaves alone are its base's,
encoded once (:class:`EncodedBase`): only the third of the card the text inks is drawn and encoded per card,
and its grey text on white paper is drawn on one channel, not three. A card without a lead image took 1.4 ms when
first measured (4.4 ms drawn and encoded whole by Pillow, 2.9 ms glyph by glyph); measured again on a slower day,
3.0 ms with its text drawn in RGB and 2.4 ms on one channel, of which encoding its strip is half.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
import weakref
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont, ImageOps

# Bump whenever the drawing changes: it is part of every card's cache key, so old cards are remade.
CARD_VERSION = "6"
WIDTH, HEIGHT = 1200, 630

# Baseline JPEG without chroma subsampling: 4:2:0 halves the colour resolution, which smears the white site name
# on the red band into pink fringes; 4:4:4 keeps those edges crisp for 15-20% more bytes and 0.8 ms more per card.
# Optimised Huffman tables would save about 12% of the bytes but double the encoding time; progressive, likewise.
SUFFIX = ".jpg"
MIME_TYPE = "image/jpeg"
JPEG_QUALITY = 86
JPEG_SUBSAMPLING = "4:4:4"

ACCENT = (155, 28, 28)  # --app-accent
ACCENT_DARK = (110, 18, 18)
TEXT = (27, 27, 27)
MUTED = (74, 74, 74)
PAPER = (255, 255, 255)

BAND = 104  # height of the identity band at the top
MARGIN = 64
IMAGE_WIDTH = 440  # lead image column on the right, when there is one
HEADLINE_TOP = BAND + 56
HEADLINE_BOTTOM = HEIGHT - 112
HEADLINE_SIZES = (64, 56, 50, 44)  # largest that fits without an ellipsis wins
META_SIZE = 30  # date and section

# A line may not start with these (Chinese 避头点 plus Latin closing marks) ...
NO_LINE_START = set("，。、；：？！）》」』】〕〗〙〛〉”’…‥—～·・ー" ",.;:?!)]}%％‰°℃")
# ... nor end with these (they stay with what follows).
NO_LINE_END = set("（《「『【〔〖〘〚〈“‘([{$￥£€#")
ELLIPSIS = "…"

BLOCK = 8  # JPEG's blocks are 8×8 pixels; with 4:4:4, so are its rows of blocks (MCU rows)
RESTART = re.compile(rb"\xff[\xd0-\xd7]")  # RST0..RST7 between the rows' entropy-coded data


@dataclass(frozen=True)
class CardSpec:
    """Everything a card shows and how: the cache key is a hash of exactly this (plus the fonts' bytes)."""

    title: str
    lang: str
    site_name: str
    domain: str
    meta: str  # "18 March 2026 · Policy"
    lead_image: str  # absolute path of the lead image, "" for none
    lead_image_hash: str
    font_regular: str
    font_bold: str
    font_index: int
    destination: str  # where the worker writes the JPEG (the cache file)


def is_cjk(char: str) -> bool:
    """Ideographs, kana, hangul and CJK/full-width punctuation: each may stand on a line of its own."""
    if not char:
        return False
    code = ord(char)
    return (
        0x2E80 <= code <= 0x9FFF
        or 0xAC00 <= code <= 0xD7AF
        or 0xF900 <= code <= 0xFAFF
        or 0xFE30 <= code <= 0xFE4F
        or 0xFF00 <= code <= 0xFFEF
        or 0x20000 <= code <= 0x3FFFF
        or unicodedata.east_asian_width(char) in ("W", "F")
    )


def break_units(text: str) -> list[str]:
    """The text as units a line may break between.

    Each CJK character is a unit, a run of other non-space characters (a word) is a unit, a space is a unit;
    closing punctuation is glued to the unit before it and opening punctuation to the unit after it, so no
    line starts with "，" or "）" and none ends with "《".
    """
    tokens: list[str] = []
    word = ""
    for char in " ".join(text.split()):
        if char == " " or is_cjk(char):
            if word:
                tokens.append(word)
                word = ""
            tokens.append(char)
        else:
            word += char
    if word:
        tokens.append(word)

    units: list[str] = []
    glue_next = False
    for token in tokens:
        if token == " ":
            units.append(token)
            glue_next = False
            continue
        if units and units[-1] != " " and (glue_next or token[0] in NO_LINE_START):
            units[-1] += token
        else:
            units.append(token)
        glue_next = token[-1] in NO_LINE_END
    return units


def plain(text: str) -> bool:
    """Whether ``text`` needs no shaping (no combining marks, joining or right-to-left scripts): Latin, general
    punctuation, currency and letter-like symbols, CJK. Such text is laid out glyph by glyph (:class:`Glyphs`)."""
    return all(
        ord(char) < 0x0300 or 0x2010 <= ord(char) <= 0x205E or 0x20A0 <= ord(char) <= 0x214F or is_cjk(char)
        for char in text
    )


class Glyphs:
    """One face's advances, pair adjustments and glyph masks, each asked of FreeType once per process.

    Pillow lays out and rasterises a whole line on every call; a card's headline is measured a dozen times while
    it is wrapped, and its glyphs recur from card to card. For text that needs no shaping (:func:`plain`), a
    line's width is the sum of its characters' advances and of each pair's adjustment (kerning, ligatures): the
    same as ``getlength`` gives, but for what spans three characters ("ffi"), off by a fraction of a pixel.
    Glyphs are drawn where Pillow's layout puts them (to 1/64 pixel, FreeType's unit): the pixels Pillow draws,
    but where the font swaps a glyph for another of the same width in context (a digit after a letter).
    """

    STEPS = 64  # sub-pixel positions a glyph may be rasterised at
    MASKS_KEPT = 8192  # per face (about 2 KB each): a few thousand Chinese characters at several positions

    def __init__(self, face) -> None:
        self.face = face
        self._advances: dict[str, float] = {}
        self._pairs: dict[tuple[str, str], float] = {}
        self._masks: dict[tuple[str, int], tuple] = {}

    def advance(self, char: str) -> float:
        advance = self._advances.get(char)
        if advance is None:
            advance = self._advances[char] = self.face.getlength(char)
        return advance

    def pair(self, first: str, second: str) -> float:
        adjustment = self._pairs.get((first, second))
        if adjustment is None:
            adjustment = self._pairs[(first, second)] = (
                self.face.getlength(first + second) - self.advance(first) - self.advance(second)
            )
        return adjustment

    def length(self, text: str) -> float:
        total, previous = 0.0, None
        for char in text:
            total += self.advance(char)
            if previous is not None:
                total += self.pair(previous, char)
            previous = char
        return total

    def place(self, xy: tuple[int, int], text: str) -> list[tuple[object, tuple[int, int]]]:
        """Each inked glyph's mask and where its top left corner goes, for ``text`` on its baseline at ``xy``
        (Pillow's ``anchor="ls"``)."""
        placed = []
        x, y = xy
        previous = None
        for char in text:
            if previous is not None:
                x += self.pair(previous, char)
            whole = math.floor(x)
            step = round((x - whole) * self.STEPS)
            if step == self.STEPS:
                whole, step = whole + 1, 0
            glyph = self._masks.get((char, step))
            if glyph is None:
                if len(self._masks) >= self.MASKS_KEPT:
                    self._masks.clear()
                glyph = self._masks[(char, step)] = self.face.getmask2(
                    char, "L", anchor="ls", start=(step / self.STEPS, 0)
                )
            mask, (left, top) = glyph
            if mask.size[0] and mask.size[1]:
                placed.append((mask, (whole + left, y + top)))
            x += self.advance(char)
            previous = char
        return placed


_GLYPHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def glyphs(face) -> Glyphs:
    found = _GLYPHS.get(face)
    if found is None:
        found = _GLYPHS[face] = Glyphs(face)
    return found


class TextLine:
    """One line of a card's text on its baseline at ``xy``: glyph by glyph when it needs no shaping
    (:class:`Glyphs`), else by Pillow; and the pixel rows its ink covers, known before it is drawn."""

    def __init__(self, xy: tuple[int, int], text: str, face, fill: tuple) -> None:
        self.xy, self.text, self.face, self.fill = xy, text, face, fill
        self.placed = glyphs(face).place(xy, text) if plain(text) else None

    def ink_rows(self) -> tuple[int, int]:
        """First and past-the-last pixel row with ink (equal when there is none)."""
        if self.placed is None:
            _left, top, _right, bottom = self.face.getbbox(self.text, anchor="ls")
            top, bottom = self.xy[1] + top, self.xy[1] + bottom
        elif self.placed:
            top = min(at[1] for _mask, at in self.placed)
            bottom = max(at[1] + mask.size[1] for mask, at in self.placed)
        else:
            return 0, 0
        return (top, bottom) if bottom > top else (0, 0)

    @property
    def grey(self) -> bool:
        """Whether its colour is a grey, which an "L" image holds exactly (see ``EncodedBase.card``)."""
        return self.fill[0] == self.fill[1] == self.fill[2]

    def draw(self, draw: ImageDraw.ImageDraw, dy: int = 0) -> None:
        """On ``draw``'s image, ``dy`` pixels lower (a strip of the card); on an "L" image, in its grey."""
        fill = self.fill[0] if draw.mode == "L" else self.fill
        if self.placed is None:
            draw.text((self.xy[0], self.xy[1] + dy), self.text, font=self.face, fill=fill, anchor="ls")
            return
        ink = draw.draw.draw_ink(fill)
        for mask, (x, y) in self.placed:
            draw.draw.draw_bitmap((x, y + dy), mask, ink)


def wrap(text: str, font, width: float, max_lines: int) -> tuple[list[str], bool]:
    """Lines of ``text`` no wider than ``width`` (greedy), at most ``max_lines``; True if text was cut.

    A unit wider than a whole line (a very long word) is split by characters. The last kept line of a cut
    text ends with an ellipsis that fits. Work stops after ``max_lines + 1`` lines, so a 2,000-character
    title costs no more than a short one.
    """
    measure = glyphs(font).length if plain(text + ELLIPSIS) else font.getlength
    lines: list[str] = []
    line = ""
    for unit in break_units(text):
        if unit == " ":
            if line:
                line += unit  # measured without its trailing space, the line is the one that already fit
            continue
        candidate = line + unit
        if measure(candidate.rstrip()) <= width:
            line = candidate
            continue
        if line.strip():
            lines.append(line.rstrip())
            line = ""
            if len(lines) > max_lines:
                break
        while measure(unit) > width:  # longer than a line: split it by characters
            cut = len(unit) - 1
            while cut > 1 and measure(unit[:cut]) > width:
                cut -= 1
            lines.append(unit[:cut])
            unit = unit[cut:]
            if len(lines) > max_lines:
                break
        if len(lines) > max_lines:
            break
        line = unit
    else:
        if line.strip():
            lines.append(line.rstrip())
    if len(lines) <= max_lines:
        return lines, False
    lines = lines[:max_lines]
    last = lines[-1]
    while last and measure(last + ELLIPSIS) > width:
        last = last[:-1]
    lines[-1] = last.rstrip(" ,.;:、，。；：") + ELLIPSIS
    return lines, True


@lru_cache(maxsize=32)
def font(path: str, index: int, size: int):
    return ImageFont.truetype(path, size, index=index)


def fit_headline(spec: CardSpec, width: float) -> tuple[object, list[str], int]:
    """The largest headline size whose wrapped lines fit the box; the smallest (with an ellipsis) otherwise."""
    height = HEADLINE_BOTTOM - HEADLINE_TOP
    for size in HEADLINE_SIZES:
        face = font(spec.font_bold, spec.font_index, size)
        leading = round(size * 1.32)
        max_lines = max(1, height // leading)
        lines, cut = wrap(spec.title, face, width, max_lines)
        if not cut:
            return face, lines, leading
    return face, lines, leading


def draw_logo(draw: ImageDraw.ImageDraw, x: int, y: int, size: int) -> None:
    """The portal's mark (theme/static/favicon.svg, a 64-unit grid) drawn at (x, y), ``size`` pixels wide."""
    s = size / 64

    def box(x0, y0, x1, y1):
        return (x + x0 * s, y + y0 * s, x + x1 * s - 1, y + y1 * s - 1)

    draw.rounded_rectangle(box(0, 0, 64, 64), radius=10 * s, fill=ACCENT, outline=PAPER, width=max(1, round(2 * s)))
    for rect in ((12, 44, 52, 50), (16, 22, 22, 42), (29, 22, 35, 42), (42, 22, 48, 42), (10, 16, 54, 20)):
        draw.rectangle(box(*rect), fill=PAPER)
    draw.polygon([(x + 10 * s, y + 16 * s), (x + 32 * s, y + 8 * s), (x + 54 * s, y + 16 * s)], fill=PAPER)


def render_logo(size: int = 512) -> bytes:
    """The publisher logo as a PNG (search engines want a raster logo, the theme's is SVG)."""
    image = Image.new("RGB", (size, size), PAPER)
    draw_logo(ImageDraw.Draw(image), 0, 0, size)
    return png_bytes(image)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def jpeg_bytes(image: Image.Image) -> bytes:
    """A baseline JFIF JPEG with no EXIF, ICC profile or comment (the image is ours; nothing to carry over), with a
    restart marker after each row of blocks (see :class:`EncodedBase`)."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, subsampling=JPEG_SUBSAMPLING, optimize=False,
               progressive=False, restart_marker_rows=1)
    return buffer.getvalue()


def split_scan(data: bytes) -> tuple[bytes, list[bytes]]:
    """A JPEG from :func:`jpeg_bytes` as its header (up to the scan's data) and each block row's entropy-coded
    bytes. Marker bytes cannot occur inside entropy-coded data (an 0xFF there is followed by 0x00)."""
    at = 2
    while data[at + 1] != 0xDA:  # segments up to the start of scan
        at += 2 + int.from_bytes(data[at + 2:at + 4], "big")
    at += 2 + int.from_bytes(data[at + 2:at + 4], "big")
    if not data.endswith(b"\xff\xd9"):
        raise ValueError("not a whole JPEG")
    return data[:at], RESTART.split(data[at:-2])


class EncodedBase:
    """A card's unchanging part (the identity band, the rule, white paper), encoded once per process.

    With a restart marker after every row of 8×8 blocks, a row's entropy-coded bytes depend on that row's pixels
    alone (the DC predictors restart; Huffman tables are the standard ones). A card without a lead image differs
    from its base only in the rows its text inks: those are drawn on a strip of base rows, the strip is encoded,
    and its rows replace the base's. The bytes are exactly :func:`jpeg_bytes` of the whole card (tested), for a
    third of the pixels encoded and no copy of the whole image.
    """

    def __init__(self, image: Image.Image) -> None:
        self.image = image
        self.header, self.rows = split_scan(jpeg_bytes(image))
        # Grey text on grey rows (the headline and the date on white paper) is drawn on a one-channel copy: a third
        # of the pixels to blend (a glyph is 3.6 us there, 16 us in RGB), and exactly the same bytes, as Pillow
        # blends each channel alike and "L" holds a grey exactly (R = G = B = L both ways).
        self.grey_image = image.convert("L")
        width, height = image.size
        as_rgb = self.grey_image.convert("RGB")
        self.grey_rows = frozenset(
            row for row in range(math.ceil(height / BLOCK))
            if image.crop(box := (0, row * BLOCK, width, min(height, row * BLOCK + BLOCK))).tobytes()
            == as_rgb.crop(box).tobytes()
        )

    def card(self, lines: list[TextLine]) -> bytes:
        width, height = self.image.size
        line_rows = [block_rows(*line.ink_rows(), height) for line in lines]
        inked = sorted({row for rows in line_rows for row in rows})
        if not inked:
            return self.join(self.rows)
        grey = self.grey_rows.issuperset(inked) and all(line.grey for line in lines)
        source = self.grey_image if grey else self.image
        strip = Image.new(source.mode, (width, BLOCK * len(inked)))
        bands: list[list[int]] = []  # [first block row, past-the-last, top of the band in the strip]
        for position, row in enumerate(inked):
            if bands and bands[-1][1] == row:
                bands[-1][1] += 1
            else:
                bands.append([row, row + 1, position * BLOCK])
        for first, last, top in bands:
            strip.paste(source.crop((0, first * BLOCK, width, min(last * BLOCK, height))), (0, top))
        draw = ImageDraw.Draw(strip)
        for line, rows in zip(lines, line_rows):
            # a line's rows are contiguous, so all in one band
            for first, last, top in bands:
                if rows and first <= rows[0] < last:
                    line.draw(draw, top - first * BLOCK)
        if inked[-1] * BLOCK + BLOCK > height:  # the partial last row: padded as libjpeg pads, with its last line
            last_line = strip.crop((0, strip.height - BLOCK + height % BLOCK - 1, width, strip.height - BLOCK
                                    + height % BLOCK))
            for y in range(height % BLOCK, BLOCK):
                strip.paste(last_line, (0, strip.height - BLOCK + y))
        if grey:
            strip = strip.convert("RGB")
        rows = list(self.rows)
        for row, data in zip(inked, split_scan(jpeg_bytes(strip))[1]):
            rows[row] = data
        return self.join(rows)

    def join(self, rows: list[bytes]) -> bytes:
        out = [self.header]
        for number, data in enumerate(rows):
            if number:
                out.append(bytes((0xFF, 0xD0 + (number - 1) % 8)))  # RST0..RST7, in turn
            out.append(data)
        out.append(b"\xff\xd9")
        return b"".join(out)


def block_rows(top: int, bottom: int, height: int) -> range:
    """The rows of 8×8 blocks that pixel rows ``top`` to ``bottom`` (exclusive) fall in, within the image."""
    top, bottom = max(0, top), min(bottom, height)
    if bottom <= top:
        return range(0)
    return range(top // BLOCK, (bottom - 1) // BLOCK + 1)


@lru_cache(maxsize=8)  # a site has one per language; each is 2.3 MB of pixels
def identity_base(site_name: str, domain: str, font_regular: str, font_bold: str, font_index: int) -> Image.Image:
    """A blank card with the identity band (mark, site name, domain) drawn; every card starts from a copy.

    Keyed by exactly what the band shows, so it is one image per site name (that is, per language). Never
    modified: callers copy it.
    """
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH - 1, BAND - 9), fill=ACCENT)  # Pillow's boxes include both corners
    draw.rectangle((0, BAND - 8, WIDTH - 1, BAND - 1), fill=ACCENT_DARK)
    draw_logo(draw, MARGIN, (BAND - 8 - 60) // 2, 60)
    name_font = font(font_bold, font_index, 38)
    draw.text((MARGIN + 84, (BAND - 8) // 2), site_name, font=name_font, fill=PAPER, anchor="lm")
    domain_font = font(font_regular, font_index, 26)
    if name_font.getlength(site_name) + 84 + MARGIN * 2 + domain_font.getlength(domain) < WIDTH:
        draw.text((WIDTH - MARGIN, (BAND - 8) // 2), domain, font=domain_font, fill=PAPER, anchor="rm")
    return image


def base_for(spec: CardSpec) -> Image.Image:
    return identity_base(spec.site_name, spec.domain, spec.font_regular, spec.font_bold, spec.font_index)


def warm(specs) -> None:
    """Draw the identity bases and load the fonts these cards need, in this process.

    Called in the parent before the pool forks, so every worker inherits them instead of making its own.
    (FreeType maps font files read-only and keeps no file descriptor, so the faces are safe to share.)
    """
    for spec in {base_for_key(spec): spec for spec in specs}.values():
        encoded_base(*base_for_key(spec))
        for size in HEADLINE_SIZES:
            font(spec.font_bold, spec.font_index, size)
        font(spec.font_regular, spec.font_index, META_SIZE)


def base_for_key(spec: CardSpec) -> tuple:
    return (spec.site_name, spec.domain, spec.font_regular, spec.font_bold, spec.font_index)


def fit_lead(path: str) -> Image.Image:
    """The lead image cropped and scaled to fill the right-hand column."""
    with Image.open(path) as lead:
        # JPEG can decode at 1/2, 1/4, 1/8 scale directly: much faster for big photos, never below the box.
        lead.draft("RGB", (IMAGE_WIDTH, HEIGHT - BAND))
        ImageOps.exif_transpose(lead, in_place=True)  # ours to change: saves copying the whole photo
        if lead.mode != "RGB":
            lead = lead.convert("RGB")
        return ImageOps.fit(lead, (IMAGE_WIDTH, HEIGHT - BAND), method=Image.Resampling.LANCZOS)


@lru_cache(maxsize=4)
def _fitted_lead(path: str, digest: str) -> Image.Image:
    return fit_lead(path)


def lead_column(spec: CardSpec) -> Image.Image:
    """The fitted lead image; the translations of a story share one, so the last few are kept (by content hash)."""
    if not spec.lead_image_hash:  # no hash to tell a changed file by: do not keep it
        return fit_lead(spec.lead_image)
    return _fitted_lead(spec.lead_image, spec.lead_image_hash)


def draw_rule(draw: ImageDraw.ImageDraw) -> None:
    """The accent rule over the date and section: the same on every card."""
    draw.rectangle((MARGIN, HEIGHT - 84, MARGIN + 96, HEIGHT - 78), fill=ACCENT)


def card_lines(spec: CardSpec, text_right: int) -> list[TextLine]:
    """The headline's lines and, at the foot, the date and section."""
    face, lines, leading = fit_headline(spec, text_right - MARGIN)
    ascent, descent = face.getmetrics()
    # A short headline sits in the middle of its box rather than under the band with white space below.
    block = (len(lines) - 1) * leading + ascent + descent
    y = HEADLINE_TOP + max(0, (HEADLINE_BOTTOM - HEADLINE_TOP - block) // 2) + ascent
    placed = []
    for line in lines:
        placed.append(TextLine((MARGIN, y), line, face, TEXT))
        y += leading
    meta_font = font(spec.font_regular, spec.font_index, META_SIZE)
    meta_lines, _cut = wrap(spec.meta, meta_font, text_right - MARGIN, 1)
    placed.append(TextLine((MARGIN, HEIGHT - 40), meta_lines[0] if meta_lines else "", meta_font, MUTED))
    return placed


def draw_card(spec: CardSpec) -> Image.Image:
    """The card as an image (before encoding)."""
    image = base_for(spec).copy()
    draw = ImageDraw.Draw(image)

    text_right = WIDTH - MARGIN
    if spec.lead_image:
        image.paste(lead_column(spec), (WIDTH - IMAGE_WIDTH, BAND))
        text_right = WIDTH - IMAGE_WIDTH - 48
    draw_rule(draw)
    for line in card_lines(spec, text_right):
        line.draw(draw)
    return image


@lru_cache(maxsize=8)
def encoded_base(site_name: str, domain: str, font_regular: str, font_bold: str, font_index: int) -> EncodedBase:
    """The identity base with the rule, encoded (:class:`EncodedBase`): one per site name, like the base."""
    image = identity_base(site_name, domain, font_regular, font_bold, font_index).copy()
    draw_rule(ImageDraw.Draw(image))
    return EncodedBase(image)


def render_card(spec: CardSpec) -> bytes:
    """The card as JPEG bytes: :func:`jpeg_bytes` of :func:`draw_card`, made from the base's encoded rows where
    there is no lead image (every row of the right-hand column differs)."""
    if spec.lead_image:
        return jpeg_bytes(draw_card(spec))
    return encoded_base(*base_for_key(spec)).card(card_lines(spec, WIDTH - MARGIN))


def render_to_cache(spec: CardSpec) -> str:
    """Process-pool entry point: draw the card and store it at ``spec.destination``; returns that path."""
    from pathlib import Path

    from content_model.output import write_atomically

    data = render_card(spec)
    path = Path(spec.destination)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data)
    return spec.destination
