"""External quality checkers for the generated site, as plain functions (no pytest dependency).

* :func:`run_vnu` / :func:`format_vnu` -- Nu HTML Checker (npm ``vnu-jar``), one JVM per call.
* :func:`chromium_driver`, :func:`run_axe` (:func:`run_axe_here` on the current page) / :func:`format_axe` -- axe-core in headless Debian
  Chromium through selenium and ``/usr/bin/chromedriver`` (selenium-manager is never used).
* :func:`serve_directory` -- a quiet threaded loopback HTTP server for a folder.
* :func:`validate_atom` (lxml + rnc2rng) and :func:`validate_atom_jing` (Debian ``jing``) against
  the RFC 4287 Appendix B schema shipped as ``tests/support/atom.rnc``.
* :func:`decode_qr`, :func:`decode_qr_from_bytes` (``zbarimg``) and :func:`decode_qr_zxing`
  (``zxingcpp``).
* :func:`run_linkchecker` -- ``linkchecker`` (internal links only).

The system parts these need are installed by :mod:`tests.support.system_deps`.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from tests.support.system_deps import AXE_JS, REPO_ROOT, VNU_JAR

__all__ = [
    "REPO_ROOT",
    "VNU_JAR",
    "AXE_JS",
    "ATOM_RNC",
    "AXE_TAGS",
    "run_vnu",
    "format_vnu",
    "chromium_driver",
    "run_axe",
    "run_axe_here",
    "format_axe",
    "serve_directory",
    "validate_atom",
    "validate_atom_jing",
    "decode_qr",
    "decode_qr_from_bytes",
    "decode_qr_zxing",
    "run_linkchecker",
]

ATOM_RNC = Path(__file__).resolve().parent / "atom.rnc"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)


# --------------------------------------------------------------------------- Nu HTML Checker


def run_vnu(paths: Iterable[os.PathLike | str], include_warnings: bool = False) -> list[dict]:
    """Check HTML files and/or folders with the Nu HTML Checker in ONE JVM run.

    Runs ``java -jar vnu.jar --format json --stdout --skip-non-html --exit-zero-always PATHS``
    and returns the messages of type ``error`` (and ``non-document-error``, e.g. an unreadable
    file); with ``include_warnings=True`` also ``info`` messages with subType ``warning``.
    Each dict has ``type``, ``url``, ``lastLine``, ``message`` and ``extract`` (when given).
    An empty list means the documents are valid.

    vnu silently ignores paths that don't exist (exit 0, no messages), so this raises
    ``FileNotFoundError`` for a missing path and ``ValueError`` when the paths hold no HTML
    file at all (e.g. an empty output folder): nothing checked must not look like a pass.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("run_vnu: no paths given")
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"run_vnu: no such file or folder: {', '.join(missing)}")
    if not any(_has_html(p) for p in paths):
        raise ValueError(f"run_vnu: no HTML files in {', '.join(map(str, paths))}")
    cmd = [
        "java",
        "-jar",
        str(VNU_JAR),
        "--format",
        "json",
        "--stdout",
        "--skip-non-html",
        "--exit-zero-always",
        *map(str, paths),
    ]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise RuntimeError(
            f"vnu did not print JSON (exit {proc.returncode}): {exc}\n"
            f"stdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-2000:]}"
        ) from None
    wanted = []
    for msg in report.get("messages", []):
        kind = msg.get("type")
        is_error = kind in ("error", "non-document-error")
        is_warning = kind == "info" and msg.get("subType") == "warning"
        if is_error or (include_warnings and is_warning):
            wanted.append(
                {
                    "type": "warning" if is_warning else kind,
                    "url": msg.get("url", ""),
                    "lastLine": msg.get("lastLine"),
                    "message": msg.get("message", ""),
                    "extract": msg.get("extract", ""),
                }
            )
    return wanted


_HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".xht")


def _has_html(path: Path) -> bool:
    if path.is_file():
        return path.suffix.lower() in _HTML_SUFFIXES
    return any(p.suffix.lower() in _HTML_SUFFIXES for p in path.rglob("*") if p.is_file())


def format_vnu(messages: Sequence[dict]) -> str:
    """Readable multi-line text of :func:`run_vnu` messages, for assertion messages."""
    if not messages:
        return "Nu HTML Checker: no messages"
    lines = [f"Nu HTML Checker: {len(messages)} message(s)"]
    for m in messages:
        url = m.get("url", "")
        if url.startswith("file:"):
            url = url[len("file:"):]
        lines.append(f"{url}:{m.get('lastLine')}: {m.get('type')}: {m.get('message')}")
        extract = (m.get("extract") or "").strip().replace("\n", " ")
        if extract:
            lines.append(f"    {extract[:200]}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- Chromium + axe


def chromium_driver(width: int = 1280, height: int = 900):
    """Start headless Debian Chromium through ``/usr/bin/chromedriver`` and return the driver.

    Works as root (``--no-sandbox``), uses a fresh temporary profile that is deleted by
    ``driver.quit()``, and never invokes selenium-manager (explicit Service path and binary).
    The caller must call ``driver.quit()``.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-profile-")

    class _Chromium(webdriver.Chrome):
        def quit(self) -> None:  # noqa: D401 - also remove the temporary profile
            try:
                super().quit()
            finally:
                shutil.rmtree(profile, ignore_errors=True)

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        opts.add_argument(flag)
    try:
        driver = _Chromium(service=Service(CHROMEDRIVER), options=opts)
    except Exception:
        shutil.rmtree(profile, ignore_errors=True)
        raise
    driver.set_window_size(width, height)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    return driver


@functools.lru_cache(maxsize=1)
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


_AXE_RUN = """
const done = arguments[arguments.length - 1];
const tags = arguments[0];
axe.run(document, {runOnly: {type: 'tag', values: tags}})
  .then(r => done({violations: r.violations}))
  .catch(e => done({error: String(e)}));
"""


def run_axe(driver, url: str, tags: Sequence[str] = AXE_TAGS) -> list[dict]:
    """Load ``url`` in ``driver``, inject axe-core and return its violations.

    Rules run: the WCAG 2.0/2.1 A+AA, WCAG 2.2 AA and best-practice tags. Each violation is
    ``{"id", "impact", "help", "helpUrl", "nodes": [{"target", "html", "failureSummary"}]}``.
    An empty list means no violations.
    """
    driver.get(url)
    return run_axe_here(driver, tags)


def run_axe_here(driver, tags: Sequence[str] = AXE_TAGS) -> list[dict]:
    """Like :func:`run_axe`, on the page the driver shows now, as it is (no reload): for states a script
    or a click made, such as a text size or contrast mode."""
    url = driver.current_url
    driver.execute_script(_axe_source())
    result = driver.execute_async_script(_AXE_RUN, list(tags))
    if not isinstance(result, dict) or "error" in result:
        raise RuntimeError(f"axe.run failed on {url}: {result!r}")
    return [
        {
            "id": v["id"],
            "impact": v.get("impact"),
            "help": v.get("help", ""),
            "helpUrl": v.get("helpUrl", ""),
            "nodes": [
                {
                    "target": n.get("target", []),
                    "html": n.get("html", ""),
                    "failureSummary": n.get("failureSummary", ""),
                }
                for n in v.get("nodes", [])
            ],
        }
        for v in result["violations"]
    ]


def format_axe(violations: Sequence[dict]) -> str:
    """Readable multi-line text of :func:`run_axe` violations, for assertion messages."""
    if not violations:
        return "axe: no violations"
    lines = [f"axe: {len(violations)} violation(s)"]
    for v in violations:
        lines.append(f"[{v.get('impact')}] {v['id']}: {v.get('help')} ({len(v['nodes'])} node(s))")
        for n in v["nodes"][:5]:
            target = " ".join(str(t) for t in n.get("target", []))
            lines.append(f"    {target}: {n.get('html', '')[:160]}")
        if len(v["nodes"]) > 5:
            lines.append(f"    ... {len(v['nodes']) - 5} more")
    return "\n".join(lines)


# --------------------------------------------------------------------------- HTTP server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".html": "text/html; charset=utf-8",
        ".htm": "text/html; charset=utf-8",
        ".css": "text/css",
        ".xml": "application/xml",
        ".atom": "application/atom+xml",
        ".rss": "application/rss+xml",
        ".json": "application/json",
        ".webmanifest": "application/manifest+json",
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
        ".svg": "image/svg+xml",
        ".png": "image/png",
        ".webp": "image/webp",
        ".ico": "image/x-icon",
        ".txt": "text/plain; charset=utf-8",
        ".pf_meta": "application/octet-stream",
        ".pf_fragment": "application/octet-stream",
        ".pf_index": "application/octet-stream",
        ".pf_filter": "application/octet-stream",
        ".pagefind": "application/octet-stream",
    }

    def log_message(self, format, *args):  # noqa: A002 - keep the server quiet
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # client went away (browser cancelled a request): not interesting
        super().handle_error(request, client_address)


@contextlib.contextmanager
def serve_directory(path: os.PathLike | str, handler_class: type | None = None) -> Iterator[str]:
    """Serve ``path`` over HTTP on 127.0.0.1 (ephemeral port) for the duration of the block.

    ``handler_class`` (a subclass of the quiet handler, e.g. one that adds response headers) replaces the default.

    Yields the base URL without trailing slash, e.g. ``http://127.0.0.1:41234``; so
    ``f"{base}/index.html"`` and root-absolute site links work. Threaded, no request logs;
    ``.xml`` is served as application/xml, ``.js``/``.mjs`` as text/javascript, ``.wasm``
    as application/wasm and Pagefind's ``.pf_*`` files as application/octet-stream.
    """
    root = Path(path).resolve()
    if not root.is_dir():
        raise NotADirectoryError(root)
    handler = functools.partial(handler_class or _QuietHandler, directory=str(root))
    with serving(_QuietServer(("127.0.0.1", 0), handler), f"serve {root}") as base:
        yield base


@contextlib.contextmanager
def serving(server, name: str = "test server") -> Iterator[str]:
    """Run ``server`` (a ``socketserver`` server listening on loopback) in a thread for the duration of the block;
    yields its base URL without trailing slash."""
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --------------------------------------------------------------------------- Atom


@functools.lru_cache(maxsize=1)
def wait_until_listening(port: int, server: subprocess.Popen, name: str, log: Path | None = None,
                         timeout: float = 15) -> None:
    """Wait for a server started on 127.0.0.1:``port``; raise with its log if it exits or never listens."""
    import socket
    import time

    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        if server.poll() is not None or time.monotonic() > deadline:
            text = log.read_text(errors="replace") if log is not None and log.exists() else "(no log)"
            raise RuntimeError(f"{name} did not start: {text}")
        time.sleep(0.05)


def _atom_schema():
    import lxml.etree as ET
    import rnc2rng

    rng = rnc2rng.dumps(rnc2rng.loads(ATOM_RNC.read_text(encoding="utf-8")))
    # rnc2rng 2.7.0 emits xmlns:local="" (illegal: a prefix cannot be bound to the empty
    # namespace); libxml2 rejects it. The prefix is only used in a name class where the
    # empty namespace is written as ns="" anyway.
    rng = rng.replace('xmlns:local=""', "")
    return ET.RelaxNG(ET.fromstring(rng.encode("utf-8")))


def validate_atom(path: os.PathLike | str) -> list[str]:
    """Validate an Atom document against RFC 4287's RELAX NG schema with lxml.

    Returns error strings (``file:line: message``); an empty list means valid. A document
    that is not well-formed XML yields its parse error. The Schematron rules embedded in the
    schema (author presence, alternate link) are not checked.
    """
    import lxml.etree as ET

    schema = _atom_schema()
    try:
        doc = ET.parse(str(path))
    except (ET.XMLSyntaxError, OSError) as exc:
        return [f"{path}: not well-formed XML: {exc}"]
    if schema.validate(doc):
        return []
    errors = [f"{e.filename}:{e.line}: {e.message}" for e in schema.error_log]
    return errors or [f"{path}: invalid Atom (no details from libxml2)"]


def validate_atom_jing(path: os.PathLike | str) -> list[str]:
    """Validate an Atom document with Debian's ``jing -c atom.rnc FILE`` (clearer messages).

    Returns jing's error lines (``file:line:col: error: ...``); an empty list means valid.
    jing's harmless ``[warning] /usr/bin/jing: Unable to locate ...`` lines are dropped.
    """
    proc = subprocess.run(
        ["jing", "-c", str(ATOM_RNC), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = [
        line
        for line in (proc.stdout + "\n" + proc.stderr).splitlines()
        if line.strip() and not line.startswith("[warning] /usr/bin/jing:")
    ]
    if proc.returncode == 0:
        return []
    return lines or [f"jing exited with {proc.returncode} without messages"]


# --------------------------------------------------------------------------- QR codes


def decode_qr(image_path: os.PathLike | str) -> str:
    """Decode the QR code in a raster image (PNG, JPEG, ...) with ``zbarimg -q --raw``.

    Returns the text of the first symbol found (UTF-8). Raises ``ValueError`` if the file
    holds no readable QR code, or if it is an SVG (zbarimg cannot rasterise SVG here:
    render a PNG, e.g. ``segno.make(...).save("x.png", scale=6)``, or use
    :func:`decode_qr_from_bytes`).
    """
    path = Path(image_path)
    if path.suffix.lower() in (".svg", ".svgz"):
        raise ValueError(f"{path}: SVG is not supported by decode_qr; decode a PNG rendering instead")
    proc = subprocess.run(
        ["zbarimg", "-q", "--raw", "-Sdisable", "-Sqrcode.enable", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # zbarimg: 0 = found, 4 = no symbol found, other = error
    if proc.returncode != 0 or not proc.stdout.strip():
        raise ValueError(
            f"{path}: no QR code decoded (zbarimg exit {proc.returncode}) "
            f"{proc.stderr.decode('utf-8', 'replace').strip()}"
        )
    return proc.stdout.decode("utf-8").splitlines()[0]


def decode_qr_from_bytes(png_bytes: bytes) -> str:
    """Like :func:`decode_qr` for an in-memory PNG (or other raster image) byte string."""
    with tempfile.TemporaryDirectory(prefix="qr-") as tmp:
        path = Path(tmp) / "qr.png"
        path.write_bytes(png_bytes)
        return decode_qr(path)


def decode_qr_zxing(image_path: os.PathLike | str) -> str:
    """Decode the QR code in a raster image with zxing-cpp (``zxingcpp.read_barcodes``).

    A second, independent decoder. Raises ``ValueError`` if no valid QR code is found.
    """
    import zxingcpp
    from PIL import Image

    with Image.open(image_path) as img:
        results = zxingcpp.read_barcodes(img.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    valid = [r for r in results if r.valid]
    if not valid:
        raise ValueError(f"{image_path}: no QR code decoded by zxing-cpp")
    return valid[0].text


# --------------------------------------------------------------------------- linkchecker


def run_linkchecker(path_or_url: os.PathLike | str, serve: bool = True) -> tuple[bool, str]:
    """Check internal links with ``linkchecker --no-status --no-warnings -o csv``.

    ``path_or_url`` is an http(s) URL, or a local file/folder. A local path is by default
    served over loopback HTTP with :func:`serve_directory` (a folder from its
    ``index.html``), so root-absolute links resolve as on the deployed site and file
    permissions don't matter (as root, linkchecker drops to user ``nobody``, which cannot
    read e.g. pytest's 0700 tmp folders). ``serve=False`` checks the path as ``file://``
    instead; then the files must be world-readable. External links are not checked.
    Returns ``(ok, output)``: ok is True when linkchecker exits 0 (no broken links), output
    is its CSV report plus stderr.
    """
    target = str(path_or_url)
    if target.startswith(("http://", "https://")) or not serve:
        return _linkchecker(target)
    local = Path(target).resolve()
    if local.is_dir():
        folder, page = local, "index.html"
    else:
        folder, page = local.parent, local.name
    with serve_directory(folder) as base:
        return _linkchecker(f"{base}/{page}")


def _linkchecker(target: str) -> tuple[bool, str]:
    cmd = ["linkchecker", "--no-status", "--no-warnings", "-o", "csv", target]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
    output = proc.stdout + (("\n" + proc.stderr) if proc.stderr.strip() else "")
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"linkchecker failed to run (exit {proc.returncode}):\n{output}")
    return proc.returncode == 0, output
