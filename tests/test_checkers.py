"""Self-tests of the external checkers in tests/support/checkers.py.

Every checker is shown to FAIL on a bad input and PASS on a good one: a checker that
cannot fail would make the site tests meaningless. Missing system parts are installed
(tests.support.system_deps), never skipped.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.support.system_deps import ensure_test_system_parts

ensure_test_system_parts()

from tests.support import checkers  # noqa: E402  (needs the system parts above)

QR_URL = "https://example.org/zh/2026/11/24/议会通过预算/?lang=zh-cn&ref=qr"

GOOD_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Good page</title>
</head>
<body>
<header><p>Site</p></header>
<main>
<h1>Budget passed</h1>
<p>The parliament passed the budget. <a href="other.html">Other article</a></p>
<img src="pixel.png" alt="A chart of the budget" width="1" height="1">
</main>
<footer><p>Footer</p></footer>
</body>
</html>
"""

OTHER_HTML = """<!DOCTYPE html>
<html lang="zh-cn">
<head><meta charset="utf-8"><title>另一篇文章</title></head>
<body><main><h1>另一篇文章</h1><p><a href="index.html">返回</a></p></main></body>
</html>
"""

BAD_HTML_VNU = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Bad</title></head>
<body>
<p><div>block in paragraph</div></p>
<img src="pixel.png">
<span id="x"></span><span id="x"></span>
</body>
</html>
"""

BAD_HTML_AXE = """<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Bad a11y</title></head>
<body>
<main>
<h1>Bad page</h1>
<img src="pixel.png">
</main>
</body>
</html>
"""

# 1x1 transparent PNG
PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)

GOOD_ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-cn">
  <title>新闻门户</title>
  <link href="https://example.org/" rel="alternate"/>
  <link href="https://example.org/feeds/all.atom.xml" rel="self"/>
  <id>https://example.org/</id>
  <updated>2026-11-24T10:00:00+08:00</updated>
  <entry>
    <title>议会通过预算</title>
    <link href="https://example.org/zh/2026/11/24/budget.html" rel="alternate"/>
    <id>tag:example.org,2026-11-24:/zh/2026/11/24/budget.html</id>
    <published>2026-11-24T10:00:00+08:00</published>
    <updated>2026-11-24T10:00:00+08:00</updated>
    <author><name>编辑部</name></author>
    <summary type="html">&lt;p&gt;议会通过了预算 &amp;amp; 更多&lt;/p&gt;</summary>
  </entry>
</feed>
"""
BAD_ATOM_NO_ID = GOOD_ATOM.replace("  <id>https://example.org/</id>\n", "")
BAD_ATOM_DATE = GOOD_ATOM.replace(
    "<updated>2026-11-24T10:00:00+08:00</updated>\n  <entry>", "<updated>24 Nov 2026</updated>\n  <entry>"
)




def _site(root: Path, pages: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in pages.items():
        (root / name).write_text(content, encoding="utf-8")
    (root / "pixel.png").write_bytes(PIXEL_PNG)
    return root


# ----------------------------------------------------------------------- vnu


def test_vnu_reports_errors_on_bad_html_and_none_on_good(tmp_path):
    good = _site(tmp_path / "good", {"index.html": GOOD_HTML, "other.html": OTHER_HTML})
    bad = _site(tmp_path / "bad", {"bad.html": BAD_HTML_VNU})
    (good / "style.css").write_text("body{}", encoding="utf-8")  # skipped: --skip-non-html

    messages = checkers.run_vnu([good, bad / "bad.html"])  # one JVM for both

    good_msgs = [m for m in messages if "/good/" in m["url"]]
    bad_msgs = [m for m in messages if m["url"].endswith("bad.html")]
    assert good_msgs == [], checkers.format_vnu(good_msgs)
    assert bad_msgs, "vnu found no error in invalid HTML"
    text = checkers.format_vnu(bad_msgs)
    assert "alt" in text and "Duplicate ID" in text, text
    assert all(m["type"] == "error" and m["lastLine"] for m in bad_msgs)


def test_vnu_warnings_are_optional(tmp_path):
    page = tmp_path / "warn.html"
    # A valid document with a warning: redundant type attribute on <script>.
    page.write_text(
        GOOD_HTML.replace("</head>", '<script type="text/javascript">var a = 1;</script>\n</head>'),
        encoding="utf-8",
    )
    assert checkers.run_vnu([page]) == []
    warnings = checkers.run_vnu([page], include_warnings=True)
    assert warnings and all(m["type"] == "warning" for m in warnings), warnings


def test_vnu_refuses_to_pass_when_nothing_is_checked(tmp_path):
    # vnu itself exits 0 with no messages for a missing path or an empty folder.
    with pytest.raises(FileNotFoundError):
        checkers.run_vnu([tmp_path / "does-not-exist.html"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError):
        checkers.run_vnu([tmp_path / "empty"])
    with pytest.raises(ValueError):
        checkers.run_vnu([])


# ----------------------------------------------------------------------- axe


def test_axe_finds_violations_on_bad_page_and_none_on_good(tmp_path, browser):
    site = _site(tmp_path / "site", {"index.html": GOOD_HTML, "other.html": OTHER_HTML, "bad.html": BAD_HTML_AXE})
    with checkers.serve_directory(site) as base:
        bad = checkers.run_axe(browser, f"{base}/bad.html")
        good = checkers.run_axe(browser, f"{base}/index.html")
        zh = checkers.run_axe(browser, f"{base}/other.html")
    ids = {v["id"] for v in bad}
    assert {"html-has-lang", "image-alt"} <= ids, checkers.format_axe(bad)
    image_alt = next(v for v in bad if v["id"] == "image-alt")
    assert image_alt["impact"] == "critical"
    assert image_alt["nodes"][0]["target"] == ["img"]
    assert "<img" in image_alt["nodes"][0]["html"]
    assert good == [], checkers.format_axe(good)
    assert zh == [], checkers.format_axe(zh)


# ----------------------------------------------------------------------- HTTP server


def test_serve_directory_content_types_and_shutdown(tmp_path):
    import urllib.error
    import urllib.request

    files = {
        "feed.xml": "application/xml",
        "app.js": "text/javascript",
        "mod.mjs": "text/javascript",
        "x.wasm": "application/wasm",
        "pagefind-entry.pf_meta": "application/octet-stream",
        "a.pf_fragment": "application/octet-stream",
        "b.pf_index": "application/octet-stream",
        "index.html": "text/html",
    }
    for name in files:
        (tmp_path / name).write_bytes(b"x")
    with checkers.serve_directory(tmp_path) as base:
        assert base.startswith("http://127.0.0.1:")
        for name, ctype in files.items():
            with urllib.request.urlopen(f"{base}/{name}") as resp:
                assert resp.headers.get_content_type() == ctype, name
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{base}/missing.html")
        assert err.value.code == 404
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{base}/index.html", timeout=2)


# ----------------------------------------------------------------------- Atom


@pytest.mark.parametrize("validator", [checkers.validate_atom, checkers.validate_atom_jing], ids=["lxml", "jing"])
def test_atom_validator_rejects_bad_and_accepts_good(tmp_path, validator):
    good = tmp_path / "good.atom.xml"
    good.write_text(GOOD_ATOM, encoding="utf-8")
    no_id = tmp_path / "no-id.atom.xml"
    no_id.write_text(BAD_ATOM_NO_ID, encoding="utf-8")
    bad_date = tmp_path / "bad-date.atom.xml"
    bad_date.write_text(BAD_ATOM_DATE, encoding="utf-8")
    broken = tmp_path / "broken.atom.xml"
    broken.write_text(GOOD_ATOM.replace("</feed>", ""), encoding="utf-8")

    assert validator(good) == []
    for bad in (no_id, bad_date, broken):
        errors = validator(bad)
        assert errors, f"{validator.__name__} accepted {bad.name}"
        assert all(isinstance(e, str) for e in errors)


def test_jing_names_the_missing_id(tmp_path):
    no_id = tmp_path / "no-id.atom.xml"
    no_id.write_text(BAD_ATOM_NO_ID, encoding="utf-8")
    errors = checkers.validate_atom_jing(no_id)
    assert any('missing required element "id"' in e for e in errors), errors


# ----------------------------------------------------------------------- QR codes


def _segno_png(tmp_path: Path) -> Path:
    import segno

    path = tmp_path / "qr.png"
    segno.make(QR_URL, error="m").save(str(path), scale=6)
    return path


def test_decode_qr_roundtrip_segno(tmp_path):
    png = _segno_png(tmp_path)
    assert checkers.decode_qr(png) == QR_URL
    assert checkers.decode_qr_from_bytes(png.read_bytes()) == QR_URL
    assert checkers.decode_qr_zxing(png) == QR_URL


def test_decode_qr_roundtrip_zxing_writer(tmp_path):
    import zxingcpp
    from PIL import Image

    # zxing-cpp 3.x: create_barcode(...) -> Barcode; Barcode.to_image(scale=) -> zxingcpp.Image
    # (8-bit grey, buffer protocol); PIL reads it through a memoryview.
    barcode = zxingcpp.create_barcode(QR_URL, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    zimg = barcode.to_image(scale=6)
    height, width = zimg.shape[:2]
    pil = Image.frombuffer("L", (width, height), bytes(memoryview(zimg)), "raw", "L", 0, 1)
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    png = tmp_path / "zx.png"
    png.write_bytes(buf.getvalue())
    assert checkers.decode_qr(png) == QR_URL
    assert checkers.decode_qr_from_bytes(buf.getvalue()) == QR_URL
    assert checkers.decode_qr_zxing(png) == QR_URL


def test_decode_qr_fails_without_a_code(tmp_path):
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(blank)
    for decode in (checkers.decode_qr, checkers.decode_qr_zxing):
        with pytest.raises(ValueError):
            decode(blank)
    # A different URL must not compare equal: the decoder returns the real content.
    import segno

    other = tmp_path / "other.png"
    segno.make("https://example.org/en/", error="m").save(str(other), scale=6)
    assert checkers.decode_qr(other) != QR_URL
    svg = tmp_path / "qr.svg"
    segno.make(QR_URL).save(str(svg))
    with pytest.raises(ValueError, match="SVG"):
        checkers.decode_qr(svg)


# ----------------------------------------------------------------------- linkchecker


def test_linkchecker_fails_on_broken_link_and_passes_on_good(tmp_path):
    good = _site(tmp_path / "good", {"index.html": GOOD_HTML, "other.html": OTHER_HTML})
    bad = _site(
        tmp_path / "bad",
        {"index.html": GOOD_HTML.replace('href="other.html"', 'href="does-not-exist.html"')},
    )

    ok, output = checkers.run_linkchecker(good)
    assert ok, output
    ok, output = checkers.run_linkchecker(bad)
    assert not ok, output
    assert "does-not-exist.html" in output

    # Also straight against a URL.
    with checkers.serve_directory(bad) as base:
        ok, output = checkers.run_linkchecker(f"{base}/index.html")
    assert not ok and "does-not-exist.html" in output, output


def test_linkchecker_file_mode_with_world_readable_files(tmp_path_factory):
    import os
    import tempfile

    # pytest's tmp folders are 0700; as root linkchecker runs as nobody, so use a
    # world-readable folder for file:// checks.
    root = Path(tempfile.mkdtemp(prefix="linkcheck-"))
    try:
        os.chmod(root, 0o755)
        _site(root, {"index.html": GOOD_HTML.replace('href="other.html"', 'href="gone.html"')})
        for f in root.iterdir():
            os.chmod(f, 0o644)
        ok, output = checkers.run_linkchecker(root / "index.html", serve=False)
        assert not ok and "gone.html" in output, output
        (root / "gone.html").write_text(OTHER_HTML, encoding="utf-8")
        os.chmod(root / "gone.html", 0o644)
        ok, output = checkers.run_linkchecker(root / "index.html", serve=False)
        assert ok, output
    finally:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
