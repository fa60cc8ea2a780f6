"""Responsive images (plugins/images) through real builds: renditions, markup, metadata stripping, the cache."""

from __future__ import annotations

import io
import json
import posixpath
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from tests.support import checkers
from tests.support.sites import SiteBuildError, article, make_site

GPS_IFD = 0x8825
ORIENTATION = 0x0112
METRO = "2025/06/metro-line-4-opens/index.html"
METRO_ZH = "zh/2025/06/metro-line-4-opens/index.html"


def photo_bytes(size=(1300, 900), colour=(200, 60, 40), orientation=6, gps=True) -> bytes:
    """A JPEG as a phone writes it: stored sideways with an EXIF orientation, GPS position, camera and comment."""
    image = Image.new("RGB", size, colour)
    # a marker in the stored top-left corner shows where rotation moved it
    image.paste((0, 0, 255), (0, 0, 200, 100))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "PhoneModel X"
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (31.0, 14.0, 10.0), 3: "E", 4: (121.0, 28.0, 30.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif.tobytes(), comment=b"taken at home")
    return out.getvalue()


def diagram_bytes(size=(700, 350)) -> bytes:
    image = Image.new("RGBA", size, (255, 255, 255, 0))
    image.paste((0, 128, 128, 255), (50, 150, 650, 200))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def photo_article(**fields) -> str:
    return article(
        image="images/photo.jpg",
        image_alt="A red square with a blue corner",
        body="""
        The line opened today.

        Second paragraph.

        ![A teal line on a white ground]({static}/images/diagram.png)

        Last paragraph.
        """,
        **fields,
    )


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(html: str, name: str) -> list[dict]:
    parser = Tags()
    parser.feed(html)
    return [attrs for tag, attrs in parser.tags if tag == name]


def srcset_urls(value: str) -> list[tuple[str, int]]:
    pairs = []
    for item in value.split(","):
        url, descriptor = item.split()
        assert descriptor.endswith("w"), value
        pairs.append((url, int(descriptor[:-1])))
    return pairs


def output_file(site, page: str, url: str) -> Path:
    """The output file a (relative) URL on `page` points at."""
    return site.output / posixpath.normpath(posixpath.join(posixpath.dirname(page), url))


def stats(site) -> dict:
    return json.loads((site.root / "images" / "last-build.json").read_text())


def assert_clean(path: Path) -> None:
    with Image.open(path) as image:
        assert not len(image.getexif()), f"{path.name} still has EXIF: {dict(image.getexif())}"
        leftovers = set(image.info) & {"exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop"}
        assert not leftovers, f"{path.name} still has {leftovers}"


@pytest.fixture()
def photo_site(tmp_path):
    files = {
        "articles/2026/metro.md": photo_article(),
        "images/photo.jpg": photo_bytes(),
        "images/diagram.png": diagram_bytes(),
    }
    return make_site(tmp_path, files), files


def test_lead_image_renditions_are_upright_stripped_and_never_upscaled(photo_site):
    site, _files = photo_site
    page = "2026/03/metro/index.html"
    html = site.read(page)
    figure = html[html.index('class="app-article__lead-image"'):html.index("</figure>")]
    [source] = tags(figure, "source")
    [img] = tags(figure, "img")
    assert source["type"] == "image/webp"
    # stored 1300x900 with orientation 6 (a quarter turn): upright it is 900 wide, 1300 high
    webp = srcset_urls(source["srcset"])
    fallback = srcset_urls(img["srcset"])
    assert [w for _u, w in webp] == [480, 800, 900] == [w for _u, w in fallback]  # 1200 and 1600 would upscale
    assert (img["width"], img["height"]) == ("900", "1300")
    assert source["sizes"] == img["sizes"] and "44rem" in img["sizes"]
    assert img["alt"] == "A red square with a blue corner"
    assert "loading" not in img and img.get("fetchpriority") == "high"  # above the fold
    for (webp_url, width), (jpeg_url, _w) in zip(webp, fallback):
        assert re.search(rf"/images/derived/photo-{width}\.[0-9a-f]{{8}}\.webp$", webp_url), webp_url
        assert jpeg_url.endswith(".jpg")
        for url, fmt in ((webp_url, "WEBP"), (jpeg_url, "JPEG")):
            path = output_file(site, page, url)
            with Image.open(path) as image:
                assert image.format == fmt
                assert image.size == (width, round(1300 * width / 900))
                # the blue marker was stored top-left; turned upright (orientation 6) it is top-right
                rgb = image.convert("RGB")
                assert rgb.getpixel((image.width - 5, 5))[2] > 200 and rgb.getpixel((5, 5))[0] > 150
            assert_clean(path)
    assert output_file(site, page, img["src"]).is_file()


def test_published_original_is_stripped_too(photo_site):
    site, files = photo_site
    published = site.output / "images" / "photo.jpg"
    assert published.read_bytes() != files["images/photo.jpg"]
    assert_clean(published)
    with Image.open(published) as image:
        assert image.size == (900, 1300)
    # a clean source is published byte for byte
    assert (site.output / "images" / "diagram.png").read_bytes() == files["images/diagram.png"]


def test_body_image_becomes_lazy_picture_with_png_fallback(photo_site):
    site, _files = photo_site
    page = "2026/03/metro/index.html"
    html = site.read(page)
    body = html[html.index('class="app-article__body"'):]
    [picture] = re.findall(r"<picture class=\"app-picture\">.*?</picture>", body, re.S)
    [source] = tags(picture, "source")
    [img] = tags(picture, "img")
    assert "{static}" not in body and "{derived}" not in html
    assert img["loading"] == "lazy" and img["decoding"] == "async"
    assert img["alt"] == "A teal line on a white ground"
    assert (img["width"], img["height"]) == ("700", "350")
    assert [w for _u, w in srcset_urls(source["srcset"])] == [480, 700]
    for url, _w in srcset_urls(img["srcset"]):
        path = output_file(site, page, url)
        assert path.suffix == ".png"
        with Image.open(path) as image:
            assert image.mode == "RGBA"  # transparency kept
    for url, _w in srcset_urls(source["srcset"]):
        assert output_file(site, page, url).is_file()


def test_feed_links_to_renditions_absolutely(photo_site):
    site, _files = photo_site
    feed = site.read("feeds/en.atom.xml")
    assert "{derived}" not in feed
    assert re.search(r"srcset=&quot;http://127\.0\.0\.1:8000/images/derived/diagram-480\.[0-9a-f]{8}\.webp 480w",
                     feed) or re.search(r'srcset="http://127\.0\.0\.1:8000/images/derived/diagram-480', feed)


def test_second_build_encodes_nothing_and_changed_bytes_reencode(tmp_path, photo_site):
    site, files = photo_site
    first = stats(site)
    assert first["rendered"] == 2 and first["encodes"] == 3 * 2 + 2 * 2 + 1  # + the stripped original
    cache_files = {p: p.stat().st_mtime_ns for p in (site.root / "images").rglob("*") if p.suffix != ".json"}
    derived = sorted(p.name for p in (site.output / "images" / "derived").iterdir())

    # no whole-build shortcut (an unchanged site is restored without building): exercise the image cache
    shutil.rmtree(site.root / "cache" / "last-build")
    again = make_site(tmp_path, files)
    assert stats(again) == {"images": 2, "rendered": 0, "reused": 2, "encodes": 0, "workers": 0}
    assert {p: p.stat().st_mtime_ns for p in cache_files} == cache_files
    assert sorted(p.name for p in (again.output / "images" / "derived").iterdir()) == derived

    changed = dict(files, **{"images/photo.jpg": photo_bytes(colour=(10, 160, 60))})
    third = make_site(tmp_path, changed)
    assert stats(third)["rendered"] == 1 and stats(third)["reused"] == 1
    now = sorted(p.name for p in (third.output / "images" / "derived").iterdir())
    assert [n for n in now if n.startswith("diagram")] == [n for n in derived if n.startswith("diagram")]
    old_photo = {n for n in derived if n.startswith("photo")}
    new_photo = {n for n in now if n.startswith("photo")}
    assert len(new_photo) == len(old_photo) == 6 and not (old_photo & new_photo)  # stale renditions removed
    assert all(n.split(".")[1] in third.read("2026/03/metro/index.html") for n in new_photo)


def test_cold_build_with_many_images_uses_a_process_pool(tmp_path):
    files = {}
    for number in range(6):
        files[f"images/p{number}.jpg"] = photo_bytes(size=(900, 600), colour=(40 * number, 90, 120), orientation=1)
        files[f"articles/2026/a{number}.md"] = article(
            title=f"Article {number}", slug=f"a{number}", image=f"images/p{number}.jpg", image_alt=f"Photo {number}"
        )
    site = make_site(tmp_path, files, IMAGES_WORKERS=2)
    result = stats(site)
    assert result["rendered"] == 6 and result["workers"] == 2
    assert result["encodes"] == 6 * 3 * 2 + 6  # 480, 800, 900 in two formats; stripped originals (GPS)
    for number in range(6):
        assert len(list((site.output / "images" / "derived").glob(f"p{number}-*"))) == 6


def test_missing_body_image_is_reported_with_its_line(tmp_path):
    body = "First paragraph.\n\n![Map]({static}/images/nowhere.png)\n"
    with pytest.raises(SiteBuildError) as failure:
        make_site(tmp_path, {"articles/2026/x.md": article(body=body)})
    assert re.search(r"articles/2026/x\.md:8: error: image `images/nowhere\.png` does not exist", failure.value.log), \
        failure.value.log


def test_unreadable_lead_image_is_reported_with_its_line(tmp_path):
    files = {"articles/2026/x.md": article(image="images/broken.jpg", image_alt="Broken"),
             "images/broken.jpg": b"\xff\xd8\xff\xe0 not really a jpeg"}
    with pytest.raises(SiteBuildError) as failure:
        make_site(tmp_path, files)
    assert re.search(r"articles/2026/x\.md:5: error: cannot read image `broken\.jpg`", failure.value.log), \
        failure.value.log


def test_sample_lead_image_pages_are_valid_html(sample_site):
    for page in (METRO, METRO_ZH):
        html = (sample_site / page).read_text(encoding="utf-8")
        assert html.count("<picture") == 2, page  # lead image and the in-body map
    messages = checkers.run_vnu([sample_site / METRO, sample_site / METRO_ZH])
    assert not messages, checkers.format_vnu(messages)


def test_sample_lead_image_pages_pass_axe_and_load_their_images(browser, sample_server):
    for page in (METRO, METRO_ZH):
        violations = checkers.run_axe(browser, f"{sample_server}/{page.removesuffix('index.html')}")
        assert not violations, checkers.format_axe(violations)
        browser.execute_script("document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')")
        loaded = browser.execute_async_script(
            "const done = arguments[0];"
            "Promise.all([...document.querySelectorAll('picture img')].map(i => i.decode().then(() => i.currentSrc)))"
            ".then(done, e => done('failed: ' + e));"
        )
        assert isinstance(loaded, list) and len(loaded) == 2, loaded
        assert all(src.endswith(".webp") for src in loaded), loaded  # Chromium picks the WebP source
