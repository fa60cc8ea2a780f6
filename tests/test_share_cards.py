"""Share cards (plugins/share_cards): size, wrapping, fonts, caching and the process pool, through real builds."""

from __future__ import annotations

import io
import sys

import pytest
from PIL import Image, ImageFont

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


def spec(title: str, lead: str = "", lang: str = "en") -> cards.CardSpec:
    return cards.CardSpec(
        title=title, lang=lang, site_name="Lanhai Policy News", domain="lanhai.example.gov",
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


def background_only(image: Image.Image, box) -> bool:
    region = image.crop(box).convert("RGB")
    return region.getextrema() == ((255, 255), (255, 255), (255, 255))


@pytest.mark.parametrize(
    "title", ["議" * 2000, "Budget " * 400, "W" * 2000], ids=["chinese", "words", "one-word"]
)
def test_a_2000_character_title_stays_inside_its_box(title):
    image = Image.open(io.BytesIO(cards.render_card(spec(title))))
    assert image.size == (1200, 630)
    # Nothing drawn in the right margin, nor between the headline box and the date rule.
    assert background_only(image, (1200 - cards.MARGIN + 4, cards.BAND, 1200, 630))
    assert background_only(image, (0, cards.HEADLINE_BOTTOM + 4, 1200, 630 - 86))


def test_the_card_font_has_every_character_of_chinese_titles():
    font = ImageFont.truetype(BOLD, 48, index=2)
    tofu = bytes(font.getmask("\uffff"))
    for char in "首批老旧小区改造项目过半开工加装电梯成居民最关心事项澜海“”（）《》，。":
        assert bytes(font.getmask(char)) != tofu, char


# --- builds ---------------------------------------------------------------------------------------------------


def files(title: str = "Lanhai opens metro line 4", lead: bytes | None = None) -> dict:
    content = {
        "articles/a.md": article(title=title, slug="a", category="Policy", **(
            {"image": "images/lead.png", "image_alt": "A colour"} if lead else {})),
        "articles/b.zh.md": article(
            title="首批老旧小区改造项目过半开工 加装电梯成居民最关心事项", slug="b", lang="zh", topics="城市更新"
        ),
    }
    if lead:
        content["images/lead.png"] = lead
    return content


def card_state(site, relative: str):
    stat = (site.output / relative).stat()
    return stat.st_ino, stat.st_mtime_ns


def test_cards_are_1200_by_630_and_linked_from_the_page(tmp_path):
    site = make_site(tmp_path, files(lead=png((20, 120, 60))), PORTAL_FEED_BASE=DEV_BASE)
    for relative in ("share/cards/en/a.png", "share/cards/zh/b.png"):
        with Image.open(site.output / relative) as image:
            assert image.format == "PNG" and image.size == (1200, 630)
    assert f'<meta property="og:image" content="{DEV_BASE}share/cards/en/a.png">' in site.read("2026/03/a/index.html")
    with Image.open(site.output / "share/cards/en/a.png") as image:
        # the lead image fills the right-hand column
        assert image.convert("RGB").getpixel((1100, 400)) == (20, 120, 60)


def test_an_unchanged_card_is_not_redrawn_or_rewritten_and_a_change_remakes_it(tmp_path):
    first = make_site(tmp_path, files(lead=png((200, 10, 10))), PORTAL_FEED_BASE=DEV_BASE)
    cache = tmp_path / "share-cards"
    cached_before = sorted(p.name for p in cache.rglob("*.png"))
    assert len(cached_before) == 2
    en_before, zh_before = card_state(first, "share/cards/en/a.png"), card_state(first, "share/cards/zh/b.png")
    en_bytes = (first.output / "share/cards/en/a.png").read_bytes()

    second = make_site(tmp_path, files(lead=png((200, 10, 10))), PORTAL_FEED_BASE=DEV_BASE)
    assert card_state(second, "share/cards/en/a.png") == en_before
    assert card_state(second, "share/cards/zh/b.png") == zh_before
    assert sorted(p.name for p in cache.rglob("*.png")) == cached_before

    # A new title remakes the English card only.
    renamed = files("Lanhai opens metro line 5", lead=png((200, 10, 10)))
    third = make_site(tmp_path, renamed, PORTAL_FEED_BASE=DEV_BASE)
    assert card_state(third, "share/cards/en/a.png") != en_before
    assert (third.output / "share/cards/en/a.png").read_bytes() != en_bytes
    assert card_state(third, "share/cards/zh/b.png") == zh_before
    # So does a new lead image with the same file name.
    new_image = files("Lanhai opens metro line 5", lead=png((10, 10, 200)))
    fourth = make_site(tmp_path, new_image, PORTAL_FEED_BASE=DEV_BASE)
    with Image.open(fourth.output / "share/cards/en/a.png") as image:
        assert image.convert("RGB").getpixel((1100, 400)) == (10, 10, 200)
    assert len(list(cache.rglob("*.png"))) == 4


def test_the_process_pool_draws_the_same_cards_as_one_process(tmp_path):
    many = {f"articles/n{i}.md": article(title=f"Notice {i}: bus route {i} changes", slug=f"n{i}") for i in range(6)}
    pooled = make_site(tmp_path / "pool", many, PORTAL_FEED_BASE=DEV_BASE, SHARE_CARD_POOL_MIN=2, SHARE_CARD_WORKERS=2)
    single = make_site(tmp_path / "one", many, PORTAL_FEED_BASE=DEV_BASE, SHARE_CARD_WORKERS=1)
    for i in range(6):
        relative = f"share/cards/en/n{i}.png"
        assert (pooled.output / relative).read_bytes() == (single.output / relative).read_bytes()


def test_a_missing_font_stops_the_build_and_says_what_to_install(tmp_path):
    with pytest.raises(SiteBuildError) as failure:
        make_site(
            tmp_path, files(), PORTAL_FEED_BASE=DEV_BASE, SHARE_CARD_FONT_BOLD="/nonexistent/NotoSansCJK-Bold.ttc"
        )
    assert "/nonexistent/NotoSansCJK-Bold.ttc" in failure.value.log
    assert "fonts-noto-cjk" in failure.value.log
