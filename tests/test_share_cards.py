"""Share cards (plugins/share_cards): size, JPEG format, wrapping, fonts, caching and the pool, through real builds."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import re
import sys

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageStat, JpegImagePlugin

from tests.support.sites import REPO_ROOT, SiteBuildError, article, make_site

sys.path.insert(0, str(REPO_ROOT / "plugins"))
from share_cards import cards  # noqa: E402

BOLD = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
REGULAR = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
DEV_BASE = "http://127.0.0.1:8123/"


def png(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (900, 600), colour).save(buffer, "PNG")
    return buffer.getvalue()


def camera_jpeg(colour) -> bytes:
    """A lead photo as cameras write them: EXIF with the camera, a GPS position and a comment."""
    exif = Image.Exif()
    exif[0x010F] = "Example Camera Co."  # Make
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0)}  # GPS IFD: latitude
    buffer = io.BytesIO()
    Image.new("RGB", (1600, 900), colour).save(buffer, "JPEG", exif=exif, comment=b"taken at home")
    return buffer.getvalue()


def jpeg_markers(data: bytes) -> list[int]:
    """The JPEG segment markers up to the start of scan (SOI 0xD8, APPn 0xE0-0xEF, COM 0xFE, SOF0 0xC0, ...)."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    markers, at = [0xD8], 2
    while True:
        assert data[at] == 0xFF, f"bad segment at byte {at}"
        marker = data[at + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            return markers
        at += 2 + int.from_bytes(data[at + 2:at + 4], "big")


def assert_plain_baseline_jpeg(data: bytes) -> None:
    """A 1200×630 baseline JPEG with full-resolution colour and nothing but JFIF in its header."""
    markers = jpeg_markers(data)
    assert 0xC0 in markers and 0xC2 not in markers, "baseline, not progressive"
    assert [m for m in markers if 0xE1 <= m <= 0xEF or m == 0xFE] == [], f"metadata segments: {markers}"
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.size == (1200, 630) and image.mode == "RGB"
        assert JpegImagePlugin.get_sampling(image) == 0, "4:4:4: no chroma subsampling"
        assert not {"exif", "icc_profile", "comment", "xmp", "photoshop"} & set(image.info), image.info


def spec(title: str, lead: str = "", lang: str = "en", site: str = "Lanhai Policy News") -> cards.CardSpec:
    return cards.CardSpec(
        title=title, lang=lang, site_name=site, domain="lanhai.example.gov",
        meta="18 March 2026 · Policy", lead_image=lead, lead_image_hash="", font_regular=REGULAR,
        font_bold=BOLD, font_index=2, destination="",
    )


# --- wrapping -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def face():
    return ImageFont.truetype(BOLD, 56, index=2)


def test_chinese_wraps_by_characters_and_no_line_starts_with_closing_punctuation(face):
    title = (
        "澜海市发布“十四五”城市更新规划（2026—2030年），老旧小区改造、加装电梯、"
        "社区食堂成为重点。市长说：要让居民满意！"
    )
    for width in range(300, 1100, 37):  # many widths, so punctuation lands at every line position
        lines, cut = cards.wrap(title, face, width, 20)
        assert not cut
        assert "".join(lines) == title, "Chinese wraps between characters without adding or losing any"
        for line in lines[1:]:
            assert line[0] not in cards.NO_LINE_START, f"line starts with {line[0]!r} at width {width}: {lines}"
        for line in lines[:-1]:
            assert line[-1] not in cards.NO_LINE_END, f"line ends with {line[-1]!r} at width {width}: {lines}"
        assert all(face.getlength(line) <= width for line in lines)


def test_english_wraps_by_words(face):
    title = "City council approves the 2026 budget with more money for buses, schools and flood defences"
    words = title.split()
    for width in range(400, 1100, 53):
        lines, cut = cards.wrap(title, face, width, 20)
        assert not cut
        assert " ".join(lines).split() == words, "words are never split or lost"
        assert all(face.getlength(line) <= width for line in lines)


def test_a_very_long_title_is_cut_with_an_ellipsis(face):
    for title in ("议会" * 1000, "budget " * 300, "x" * 2000):
        lines, cut = cards.wrap(title, face, 1000, 4)
        assert cut and len(lines) == 4
        assert lines[-1].endswith(cards.ELLIPSIS)
        assert all(face.getlength(line) <= 1000 for line in lines)


def drawn_both_ways(face, text: str) -> tuple[Image.Image, Image.Image]:
    by_pillow, by_glyphs = (Image.new("RGB", (2600, 120), "white") for _ in range(2))
    ImageDraw.Draw(by_pillow).text((10, 90), text, font=face, fill=cards.TEXT, anchor="ls")
    cards.TextLine((10, 90), text, face, cards.TEXT).draw(ImageDraw.Draw(by_glyphs))
    return by_pillow, by_glyphs


@pytest.mark.parametrize("text", [
    "Baisha opens service counters as part of the plan",
    "AVATAR Today: To Vote, Try Wave",  # kerning pairs
    "澜海市发布“十四五”城市更新规划（2026—2030年），市长说：要让居民满意！",
], ids=["english", "kerning", "chinese"])
def test_text_drawn_glyph_by_glyph_is_what_pillow_draws(face, text):
    assert cards.plain(text)
    assert cards.glyphs(face).length(text) == face.getlength(text)
    by_pillow, by_glyphs = drawn_both_ways(face, text)
    assert by_glyphs.tobytes() == by_pillow.tobytes()


def test_text_drawn_glyph_by_glyph_where_the_font_looks_further_than_a_pair_is_off_by_under_a_pixel(face):
    # Ligatures over three characters ("ffi" in "office") are outside the pair adjustments, and a digit after a
    # letter is another glyph of the same width: a fraction of a pixel, which the card's margins absorb.
    text = "Try “Wave” offices — the 2026 plan (¥1,200; 35%)"
    assert cards.glyphs(face).length(text) == pytest.approx(face.getlength(text), abs=1)
    by_pillow, by_glyphs = drawn_both_ways(face, text)
    ink, ours = (ImageChops.invert(image.convert("L")).getbbox() for image in (by_pillow, by_glyphs))
    assert ink is not None and ours is not None
    assert all(abs(a - b) <= 1 for a, b in zip(ink, ours)), (ink, ours)


def test_text_that_needs_shaping_is_drawn_by_pillow(face):
    for text in ("Cafe\u0301 society", "مدينة لانهاي", "हिन्दी"):
        assert not cards.plain(text)
        by_pillow, by_us = (Image.new("RGB", (900, 120), "white") for _ in range(2))
        ImageDraw.Draw(by_pillow).text((10, 90), text, font=face, fill=cards.TEXT, anchor="ls")
        cards.TextLine((10, 90), text, face, cards.TEXT).draw(ImageDraw.Draw(by_us))
        assert by_us.tobytes() == by_pillow.tobytes()
        assert cards.wrap(text, face, 10_000, 1) == ([text], False)


def test_glyph_masks_kept_per_face_are_bounded(monkeypatch):
    laid_out = cards.Glyphs(ImageFont.truetype(BOLD, 20, index=2))
    monkeypatch.setattr(cards.Glyphs, "MASKS_KEPT", 50)
    placed = laid_out.place((0, 30), "".join(chr(0x4E00 + i) for i in range(180)))
    assert len(placed) == 180 and 0 < len(laid_out._masks) <= 50


def background_only(image: Image.Image, box) -> bool:
    region = image.crop(box).convert("RGB")
    return region.getextrema() == ((255, 255), (255, 255), (255, 255))


@pytest.mark.parametrize(
    "title", ["議" * 2000, "Budget " * 400, "W" * 2000], ids=["chinese", "words", "one-word"]
)
def test_a_2000_character_title_stays_inside_its_box(title):
    image = cards.draw_card(spec(title))  # before encoding, so "background" means exactly white
    assert image.size == (1200, 630)
    # Nothing drawn in the right margin, nor between the headline box and the date rule.
    assert background_only(image, (1200 - cards.MARGIN + 4, cards.BAND, 1200, 630))
    assert background_only(image, (0, cards.HEADLINE_BOTTOM + 4, 1200, 630 - 86))


def test_every_card_starts_from_one_identity_band_per_site_name_and_none_changes_it():
    cards.identity_base.cache_clear()
    english = [cards.draw_card(spec(f"Notice {i}: bus route {i} changes")) for i in range(3)]
    chinese = cards.draw_card(spec("公交线路调整", lang="zh", site="澜海政策新闻"))
    info = cards.identity_base.cache_info()
    assert (info.misses, info.hits) == (2, 2), "the band is drawn once per site name, then copied"
    base = cards.base_for(spec("any"))
    band = (0, 0, 1200, cards.BAND)
    assert all(card.crop(band).tobytes() == base.crop(band).tobytes() for card in english)
    assert chinese.crop(band).tobytes() != base.crop(band).tobytes()
    # Headlines were drawn on copies: the shared base is still blank under its band.
    assert background_only(base, (0, cards.BAND, 1200, 630))
    below = (0, cards.BAND, 1200, 630)
    assert english[0].crop(below).tobytes() != english[1].crop(below).tobytes()


def test_a_card_is_a_plain_baseline_jpeg_close_to_what_was_drawn():
    card = spec("澜海市发布城市更新规划 老旧小区改造成为重点", lang="zh", site="澜海政策新闻")
    data = cards.render_card(card)
    assert_plain_baseline_jpeg(data)
    drawn = cards.draw_card(card)
    with Image.open(io.BytesIO(data)) as decoded:
        # Mean squared error per channel: 4:2:0 subsampling or a low quality would smear the white site name on
        # the red band (about 35 dB there instead of 39).
        for box in ((0, 0, 1200, cards.BAND), (0, cards.BAND, 1200, 630)):
            assert psnr(drawn.crop(box), decoded.convert("RGB").crop(box)) > 37, box


@pytest.mark.parametrize("card", [
    spec("Baisha opens service counters as part of the plan"),
    spec("澜海市发布“十四五”城市更新规划（2026—2030年），市长说：要让居民满意！", lang="zh", site="澜海政策新闻"),
    spec("Café\u0301 society: مدينة لانهاي, हिन्दी"),  # drawn by Pillow (shaping)
    spec("Ǘ̃ gjpqy ÅÉÎ {[(|)]}"),  # marks above and below the line
    spec("议" * 2000),
    spec(""),
    dataclasses.replace(spec("A card without a date"), meta=""),
    dataclasses.replace(spec("Descenders at the foot"), meta="gjpqy " * 40),
], ids=["english", "chinese", "shaped", "marks", "cut", "no-title", "no-meta", "long-meta"])
def test_a_card_made_from_its_bases_encoded_rows_is_exactly_the_whole_card_encoded(card):
    """Only the rows of 8×8 blocks the text inks are encoded per card; the bytes are those of the whole card."""
    data = cards.render_card(card)
    assert data == cards.jpeg_bytes(cards.draw_card(card))
    header, rows = cards.split_scan(data)
    assert len(rows) == math.ceil(630 / 8) and b"\xff\xdd\x00\x04\x00\x96" in header  # a restart every 150 blocks
    assert_plain_baseline_jpeg(data)


def test_text_on_the_edges_and_on_neighbouring_rows_is_spliced_exactly(face):
    """Lines cut by the top edge and by the bottom one (whose last row of blocks is 6 pixels: libjpeg pads it with
    copies of its last line), and lines sharing a row of blocks."""
    image = cards.identity_base("Lanhai Policy News", "lanhai.example.gov", REGULAR, BOLD, 2).copy()
    base = cards.EncodedBase(image)
    lines = [cards.TextLine((300, 20), "Top edge", face, cards.TEXT), cards.TextLine((64, 640), "gjpqy at the foot",
             face, cards.TEXT), cards.TextLine((64, 300), "One line", face, cards.MUTED),
             cards.TextLine((600, 330), "and a neighbour", face, cards.ACCENT)]
    whole = image.copy()
    draw = ImageDraw.Draw(whole)
    for line in lines:
        line.draw(draw)
    assert base.card(lines) == cards.jpeg_bytes(whole)
    assert base.card([]) == cards.jpeg_bytes(image)


def test_grey_text_on_white_rows_is_drawn_on_one_channel_with_the_same_bytes(face, monkeypatch):
    """Headline and date (grey on white paper) are drawn on an "L" strip; a coloured line, or a grey one on the red
    band, on an RGB one. Either way the card is the whole card encoded."""
    image = cards.identity_base("Lanhai Policy News", "lanhai.example.gov", REGULAR, BOLD, 2).copy()
    base = cards.EncodedBase(image)
    assert set(range(cards.BAND // 8)).isdisjoint(base.grey_rows)
    assert set(range(cards.BAND // 8 + 1, 630 // 8)) <= base.grey_rows
    modes = []
    draw_line = cards.TextLine.draw
    monkeypatch.setattr(cards.TextLine, "draw", lambda line, draw, dy=0: (modes.append(draw.mode),
                                                                           draw_line(line, draw, dy)))
    grey = [cards.TextLine((64, 300), "Grey headline gjpqy", face, cards.TEXT),
            cards.TextLine((64, 590), "18 March 2026 · Policy", face, cards.MUTED)]
    for lines, mode in ((grey, "L"), ([*grey, cards.TextLine((600, 400), "Red", face, cards.ACCENT)], "RGB"),
                        ([*grey, cards.TextLine((300, 60), "On the band", face, cards.TEXT)], "RGB")):
        modes.clear()
        data = base.card(lines)
        assert set(modes) == {mode}
        whole = image.copy()
        for line in lines:
            draw_line(line, ImageDraw.Draw(whole))
        assert data == cards.jpeg_bytes(whole)


def test_the_rows_a_card_shares_with_its_base_are_the_bases():
    card = spec("Lanhai opens metro line 4")
    base = cards.encoded_base(*cards.base_for_key(card))
    _header, rows = cards.split_scan(cards.render_card(card))
    same = [number for number, (ours, theirs) in enumerate(zip(rows, base.rows)) if ours == theirs]
    assert set(range(cards.BAND // 8)) <= set(same) and 40 < len(same) < len(rows)


def psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio in dB (higher is closer; 99 for identical images)."""
    squares = ImageStat.Stat(ImageChops.difference(a, b)).sum2
    mse = sum(squares) / (a.width * a.height * 3)
    return 99.0 if mse == 0 else 10 * math.log10(255**2 / mse)


def test_the_card_font_has_every_character_of_chinese_titles():
    font = ImageFont.truetype(BOLD, 48, index=2)
    tofu = bytes(font.getmask("\uffff"))
    for char in "首批老旧小区改造项目过半开工加装电梯成居民最关心事项澜海“”（）《》，。":
        assert bytes(font.getmask(char)) != tofu, char


# --- builds ---------------------------------------------------------------------------------------------------


def files(
    title: str = "Lanhai opens metro line 4", lead: bytes | None = None, lead_name: str = "images/lead.png"
) -> dict:
    content = {
        "articles/a.md": article(title=title, slug="a", category="Policy", **(
            {"image": lead_name, "image_alt": "A colour"} if lead else {})),
        "articles/b.zh.md": article(
            title="首批老旧小区改造项目过半开工 加装电梯成居民最关心事项", slug="b", lang="zh", topics="城市更新"
        ),
    }
    if lead:
        content[lead_name] = lead
    return content


def card_state(site, relative: str):
    stat = (site.output / relative).stat()
    return stat.st_ino, stat.st_mtime_ns


def near(pixel, colour, tolerance: int = 4) -> bool:
    """JPEG keeps a flat colour within a few levels, not exactly."""
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


def test_cards_are_1200_by_630_jpegs_without_the_photos_metadata_and_linked_from_the_page(tmp_path):
    site = make_site(tmp_path, files(lead=camera_jpeg((20, 120, 60)), lead_name="images/lead.jpg"),
                     PORTAL_FEED_BASE=DEV_BASE)
    for relative in ("share/cards/en/a.jpg", "share/cards/zh/b.jpg"):
        assert_plain_baseline_jpeg((site.output / relative).read_bytes())
    assert sorted(p.name for p in (site.output / "share/cards").rglob("*")) == ["a.jpg", "b.jpg", "en", "zh"]
    page = site.read("2026/03/a/index.html")
    assert f'<meta property="og:image" content="{DEV_BASE}share/cards/en/a.jpg">' in page
    assert '<meta property="og:image:type" content="image/jpeg">' in page
    assert re.findall(r'og:image:type" content="([^"]+)"', site.read("zh/2026/03/b/index.html")) == ["image/jpeg"]
    with Image.open(site.output / "share/cards/en/a.jpg") as image:
        # the lead image fills the right-hand column
        assert near(image.convert("RGB").getpixel((1100, 400)), (20, 120, 60))
    # The publisher logo stays a PNG.
    with Image.open(site.output / "share/logo.png") as logo:
        assert logo.format == "PNG"


def test_an_unchanged_card_is_not_redrawn_or_rewritten_and_a_change_remakes_it(tmp_path):
    first = make_site(tmp_path, files(lead=png((200, 10, 10))), PORTAL_FEED_BASE=DEV_BASE)
    cache = tmp_path / "share-cards"
    cached_before = sorted(p.name for p in cache.rglob("*.jpg"))
    assert len(cached_before) == 2 and not list(cache.rglob("*.png"))
    # The output card is a hard link to the cached file, not a copy.
    for relative in ("share/cards/en/a.jpg", "share/cards/zh/b.jpg"):
        card = first.output / relative
        assert card.stat().st_nlink >= 2
        assert any(card.samefile(cached) for cached in cache.rglob("*.jpg"))
    en_before, zh_before = card_state(first, "share/cards/en/a.jpg"), card_state(first, "share/cards/zh/b.jpg")
    en_bytes = (first.output / "share/cards/en/a.jpg").read_bytes()

    second = make_site(tmp_path, files(lead=png((200, 10, 10))), PORTAL_FEED_BASE=DEV_BASE)
    assert card_state(second, "share/cards/en/a.jpg") == en_before
    assert card_state(second, "share/cards/zh/b.jpg") == zh_before
    assert sorted(p.name for p in cache.rglob("*.jpg")) == cached_before

    # A new title remakes the English card only.
    renamed = files("Lanhai opens metro line 5", lead=png((200, 10, 10)))
    third = make_site(tmp_path, renamed, PORTAL_FEED_BASE=DEV_BASE)
    assert card_state(third, "share/cards/en/a.jpg") != en_before
    assert (third.output / "share/cards/en/a.jpg").read_bytes() != en_bytes
    assert card_state(third, "share/cards/zh/b.jpg") == zh_before
    # So does a new lead image with the same file name.
    new_image = files("Lanhai opens metro line 5", lead=png((10, 10, 200)))
    fourth = make_site(tmp_path, new_image, PORTAL_FEED_BASE=DEV_BASE)
    with Image.open(fourth.output / "share/cards/en/a.jpg") as image:
        assert near(image.convert("RGB").getpixel((1100, 400)), (10, 10, 200))
    assert len(list(cache.rglob("*.jpg"))) == 4


def test_the_process_pool_draws_the_same_cards_as_one_process(tmp_path):
    many = {f"articles/n{i}.md": article(title=f"Notice {i}: bus route {i} changes", slug=f"n{i}") for i in range(6)}
    pooled = make_site(tmp_path / "pool", many, PORTAL_FEED_BASE=DEV_BASE, SHARE_CARD_POOL_MIN=2, SHARE_CARD_WORKERS=2)
    single = make_site(tmp_path / "one", many, PORTAL_FEED_BASE=DEV_BASE, SHARE_CARD_WORKERS=1)
    for i in range(6):
        relative = f"share/cards/en/n{i}.jpg"
        assert (pooled.output / relative).read_bytes() == (single.output / relative).read_bytes()


def test_a_missing_font_stops_the_build_and_says_what_to_install(tmp_path):
    with pytest.raises(SiteBuildError) as failure:
        make_site(
            tmp_path, files(), PORTAL_FEED_BASE=DEV_BASE, SHARE_CARD_FONT_BOLD="/nonexistent/NotoSansCJK-Bold.ttc"
        )
    assert "/nonexistent/NotoSansCJK-Bold.ttc" in failure.value.log
    assert "fonts-noto-cjk" in failure.value.log


@contextlib.contextmanager
def receivers(*connections):
    """Pelican signals connected to test receivers for the ``with`` block: ``(signal, receiver)`` pairs."""
    for signal, receiver in connections:
        signal.connect(receiver)
    try:
        yield
    finally:
        for signal, receiver in connections:
            signal.disconnect(receiver)


def test_a_cold_build_starts_cards_and_qr_codes_once_the_articles_are_read_and_ends_as_without(tmp_path, monkeypatch):
    """The pools start at ``article_generator_finalized``, while the other generators make their contexts. At
    ``all_generators_finalized`` cards and codes are planned again and what the head start did not make is made
    then: here a hidden Chinese story's, whose section only hidden stories have, so the early plan named it as
    ``PORTAL_SECTIONS`` does (解读) and the final card names the category. The output equals a build without the head
    start (one worker)."""
    from pelican import signals

    import share.qr
    from content_model.workers import usable_cores

    monkeypatch.setattr(share.qr, "POOL_MIN", 2)
    many = {f"articles/n{i}.md": article(title=f"Notice {i}: bus route {i} changes", slug=f"n{i}") for i in range(6)}
    many["articles/h.zh.md"] = article(title="节日期间轮渡时刻表", slug="h", lang="zh", category="Interpretation",
                                       topics="城市更新", status="hidden")
    options = dict(PORTAL_FEED_BASE=DEV_BASE, SHARE_CARD_POOL_MIN=2)
    generators, started = [], []

    def remember(generator):
        generators.append(generator)

    def look(_pages_generator):  # after the articles are read, before all_generators_finalized
        started.append((hasattr(generators[-1], "share_cards_started"),
                        getattr(generators[-1], "share_qr_started").background is not None))

    with receivers((signals.article_generator_init, remember), (signals.page_generator_finalized, look)):
        early = make_site(tmp_path / "early", many, SHARE_CARD_WORKERS=2, **options)
    assert started == [(True, usable_cores() > 1)]
    single = make_site(tmp_path / "one", many, SHARE_CARD_WORKERS=1, **options)

    shared = sorted(p.relative_to(single.output) for p in (single.output / "share").rglob("*") if p.is_file())
    assert len(shared) == 1 + 7 + 7  # logo, cards, QR codes
    assert shared == sorted(p.relative_to(early.output) for p in (early.output / "share").rglob("*") if p.is_file())
    for relative in shared:
        assert (early.output / relative).read_bytes() == (single.output / relative).read_bytes(), relative
    # The head start drew the hidden story's card as the early plan saw it; the build drew the right one after.
    assert len(list((tmp_path / "early" / "share-cards").rglob("*.jpg"))) == 8
    assert len(list((tmp_path / "one" / "share-cards").rglob("*.jpg"))) == 7


def test_cards_start_from_what_the_reader_gave_while_the_articles_are_made_and_end_as_without(tmp_path):
    """When the articles are read ahead (a cold build), the cards of stories without a lead image start from the
    reader's metadata before Pelican makes the articles (``start_cards_from_reading``); those of stories with one
    at ``start_cards``. A card the early plan got wrong (a hidden story whose section only hidden stories have: the
    early plans name it as ``PORTAL_SECTIONS`` does) is drawn again right, and the output equals a build on one
    core."""
    from pelican import signals

    many = {f"articles/n{i}.md": article(title=f"Notice {i}: bus route {i} changes", slug=f"n{i}") for i in range(6)}
    many["articles/h.zh.md"] = article(title="节日期间轮渡时刻表", slug="h", lang="zh", category="Interpretation",
                                       topics="城市更新", status="hidden")
    many["articles/lead.md"] = article(title="Ferry pier reopens", slug="lead", image="images/lead.png",
                                       image_alt="The pier")
    many["images/lead.png"] = png((20, 120, 60))
    options = dict(PORTAL_FEED_BASE=DEV_BASE, SHARE_CARD_POOL_MIN=0, PORTAL_READ_PARALLEL_MIN=1,
                   PORTAL_READ_WORKERS=2)
    generators, started = [], []

    def remember(generator):
        generators.append(generator)

    def look(generator):  # the articles are read ahead, and not made yet (sent before reading each file)
        if not started:
            started.append([len(destinations) for _background, destinations in
                            getattr(generator, "share_cards_started", [])])

    def look_again(_pages_generator):  # the articles are made: start_cards has run
        started.append([len(destinations) for _background, destinations in generators[-1].share_cards_started])

    with receivers((signals.article_generator_init, remember), (signals.article_generator_preread, look),
                   (signals.page_generator_finalized, look_again)):
        early = make_site(tmp_path / "early", many, SHARE_CARD_WORKERS=2, **options)
    # from the reader: the six notices and the hidden story; then the lead story's card
    assert started == [[7], [7, 1]]
    single = make_site(tmp_path / "one", many, SHARE_CARD_WORKERS=1, **options)
    cards = sorted(p.relative_to(single.output) for p in (single.output / "share/cards").rglob("*.jpg"))
    assert len(cards) == 8
    assert cards == sorted(p.relative_to(early.output) for p in (early.output / "share/cards").rglob("*.jpg"))
    for relative in cards:
        assert (early.output / relative).read_bytes() == (single.output / relative).read_bytes(), relative
    assert len(list((tmp_path / "early" / "share-cards").rglob("*.jpg"))) == 9  # the hidden story's, twice


def test_a_rebuild_finding_its_sample_of_cards_in_the_cache_starts_no_head_start(tmp_path, monkeypatch):
    """``start_cards`` in a build that read nothing ahead plans a sample first: every sampled card in the cache, no
    drawing starts (the rebuild after a metadata edit); one missing (the card cache emptied), the head start
    starts as in a cold build. Either way the output is the cold build's."""
    import shutil

    from pelican import signals

    import share_cards

    monkeypatch.setattr(share_cards, "HEAD_START_SAMPLE", 3)
    many = {f"articles/n{i}.md": article(title=f"Notice {i}: bus route {i} changes", slug=f"n{i}") for i in range(6)}
    options = dict(PORTAL_FEED_BASE=DEV_BASE, SHARE_CARD_POOL_MIN=2, SHARE_CARD_WORKERS=2)
    generators, started = [], []

    def remember(generator):
        generators.append(generator)

    def look(_pages_generator):
        started.append(len(getattr(generators[-1], "share_cards_started", [])))

    def cards_of(site):
        folder = site.output / "share/cards"
        return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*.jpg"))}

    plan_cards, planned = share_cards.plan_cards, []

    def counted(generator, config, sections, articles=None, keys=None):
        made = plan_cards(generator, config, sections, articles, keys)
        planned.append(len(made))
        return made

    monkeypatch.setattr(share_cards, "plan_cards", counted)

    edited = {**many, "articles/n1.md": article(title="Notice 1: bus route 1 changes", slug="n1", topics="城市更新")}
    with receivers((signals.article_generator_init, remember), (signals.page_generator_finalized, look)):
        cold = cards_of(make_site(tmp_path, many, **options))
        again = cards_of(make_site(tmp_path, edited, **options))  # a metadata edit: a full build, no card changes
        shutil.rmtree(tmp_path / "share-cards")
        emptied = cards_of(make_site(tmp_path, many, **options))
    assert started == [1, 0, 1]
    # Each build plans the sample (nothing is read ahead below PORTAL_READ_PARALLEL_MIN files), then all six at
    # all_generators_finalized; the cold build and the one with the cards gone, the sample having missed, all six
    # for the head start in between.
    assert planned == [3, 6, 6, 3, 6, 3, 6, 6]
    assert len(cold) == 6 and again == cold and emptied == cold


def test_a_build_stopped_by_a_content_error_stops_the_cards_it_started(tmp_path):
    """Content errors stop the build at ``all_generators_finalized``, after the cards' head start: the build fails
    with the editor's message, and the workers it started end (the chunks not begun are dropped)."""
    import multiprocessing
    import time

    many = {f"articles/n{i}.md": article(title=f"Notice {i}: bus route {i} changes", slug=f"n{i}") for i in range(40)}
    many["articles/bad.md"] = article(slug="bad", officials="Nobody Known")
    with pytest.raises(SiteBuildError) as failure:
        make_site(tmp_path, many, PORTAL_FEED_BASE=DEV_BASE, SHARE_CARD_POOL_MIN=2, SHARE_CARD_WORKERS=2)
    assert "Nobody Known" in failure.value.log
    deadline = time.monotonic() + 60
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert multiprocessing.active_children() == []  # without the stop they would wait for more work forever


def test_cards_found_in_the_cache_earlier_in_the_build_are_not_looked_for_again(tmp_path):
    """``missing_cards(planned, present)``: a card the head start found is not asked about again; the others are."""
    from share_cards import CardSpec, missing_cards

    (tmp_path / "there.jpg").write_bytes(b"card")

    def spec(name):
        fields = {f.name: "" for f in dataclasses.fields(CardSpec)}
        return CardSpec(**{**fields, "destination": str(tmp_path / name)})

    planned = [(None, spec("there.jpg")), (None, spec("gone.jpg")), (None, spec("found-early.jpg"))]
    assert [s.destination for s in missing_cards(planned)] == [str(tmp_path / n) for n in ("found-early.jpg", "gone.jpg")]
    assert [s.destination for s in missing_cards(planned, {str(tmp_path / "found-early.jpg")})] == [
        str(tmp_path / "gone.jpg")]
