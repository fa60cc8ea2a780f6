"""search: a Pagefind index of every article body, and the search pages that use it.

Adds ``search/`` in each interface language (``search/``, ``zh/search/``; template ``search.html``, script
``theme/js/search.js``), then, once the whole site is written, runs Pagefind (``pagefind[extended]``, which
segments Chinese) over the output folder into ``<output>/pagefind/``. Only elements marked
``data-pagefind-body`` (the ``<article>`` of article pages) are indexed; filters and metadata come from
``partials/search_filters.html``. Pagefind keeps one index per ``<html lang>`` (``en``, ``zh-cn``).

The bundle is cached under ``CACHE_PATH/search/``, keyed by the bytes of every HTML page and Pagefind's
version: an unchanged site gets the cached bundle copied back instead of a new indexing run. The bundle folder
is always replaced whole, so no stale fragment of an earlier build survives (the output equals a cold build's).
Pagefind's filter and metadata files are rewritten in a canonical order (``canonical.py``), so two runs over the
same pages give byte-identical bundles.

Signals: ``get_generators`` (returns ``SearchPageGenerator``), ``finalized`` (runs Pagefind).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

from pelican import signals
from pelican.generators import Generator

from .canonical import CANONICAL_FORMAT, BundleFormatError, canonicalise_bundle

logger = logging.getLogger(__name__)

DEFAULTS = {
    # Run Pagefind after every build (off: the search pages are still written, the index is not).
    "SEARCH_PAGEFIND": True,
    # Folder of the bundle inside the output, and so its URL path.
    "SEARCH_BUNDLE_DIR": "pagefind",
    # Extra command-line options for Pagefind, e.g. ["--exclude-selectors", ".app-credits"].
    "SEARCH_PAGEFIND_OPTIONS": [],
    # Results shown per "Show more" step on the search page.
    "SEARCH_PAGE_SIZE": 10,
}


def search_settings(settings: dict) -> dict:
    """Every setting this plugin reads, with its default."""
    return {key: settings.get(key, default) for key, default in DEFAULTS.items()}


class SearchError(RuntimeError):
    """Pagefind failed; the message carries its output."""


class SearchPageGenerator(Generator):
    """Writes ``search/`` in each interface language."""

    def generate_context(self):
        self.options = search_settings(self.settings)

    def generate_output(self, writer):
        default = self.settings["DEFAULT_LANG"]
        siteurl_path = urlsplit(self.settings.get("SITEURL") or "").path.rstrip("/")
        for lang in self.settings["PORTAL_LANGUAGES"]:
            prefix = "" if lang == default else f"{lang}/"
            page_url = prefix + "search/"
            writer.write_file(
                page_url + "index.html",
                self.get_template("search"),
                self.context,
                relative_urls=self.settings["RELATIVE_URLS"],
                template_name="search",
                url=page_url,
                page_lang=lang,
                lang_prefix=prefix,
                page_url=page_url,
                page_path="search/",
                search_bundle=self.options["SEARCH_BUNDLE_DIR"],
                # Pagefind's result URLs are root-relative; a site published under a sub-path says so here.
                search_base_path=siteurl_path + "/",
                search_page_size=self.options["SEARCH_PAGE_SIZE"],
            )


def pagefind_version() -> str:
    try:
        return metadata.version("pagefind")
    except metadata.PackageNotFoundError:
        return "unknown"


def site_key(output: Path, bundle_dir: str, options: list[str]) -> str:
    """A hash of everything the index depends on: every HTML page (path and bytes), Pagefind, its options."""
    digest = hashlib.sha256()
    digest.update(f"pagefind {pagefind_version()} canonical-{CANONICAL_FORMAT} {options!r}\n".encode())
    pages = sorted(
        p for p in output.rglob("*.html") if p.relative_to(output).parts[0] != bundle_dir
    )
    for page in pages:
        digest.update(page.relative_to(output).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(page.read_bytes()).digest())
    return digest.hexdigest()


def run_pagefind(output: Path, destination: Path, options: list[str]) -> None:
    command = [sys.executable, "-m", "pagefind", "--site", str(output), "--output-path", str(destination),
               "--silent", *options]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not (destination / "pagefind.js").is_file():
        raise SearchError(
            f"Pagefind failed (exit {result.returncode}) indexing {output}:\n{result.stdout}{result.stderr}".rstrip()
        )


def build_index(pelican) -> None:
    options = search_settings(pelican.settings)
    if not options["SEARCH_PAGEFIND"]:
        return
    output = Path(pelican.output_path).resolve()
    bundle = output / options["SEARCH_BUNDLE_DIR"]
    cache = Path(pelican.settings["CACHE_PATH"]).resolve() / "search"
    cached_bundle, key_file = cache / "bundle", cache / "bundle.key"
    key = site_key(output, options["SEARCH_BUNDLE_DIR"], list(options["SEARCH_PAGEFIND_OPTIONS"]))
    if not (key_file.is_file() and key_file.read_text() == key and (cached_bundle / "pagefind.js").is_file()):
        cache.mkdir(parents=True, exist_ok=True)
        fresh = Path(tempfile.mkdtemp(prefix="bundle-", dir=cache))
        try:
            run_pagefind(output, fresh / "pagefind", list(options["SEARCH_PAGEFIND_OPTIONS"]))
            try:
                canonicalise_bundle(fresh / "pagefind")
            except BundleFormatError as exc:
                raise SearchError(f"Pagefind {pagefind_version()} wrote a bundle this plugin cannot read: {exc}") from exc
            key_file.unlink(missing_ok=True)
            shutil.rmtree(cached_bundle, ignore_errors=True)
            os.replace(fresh / "pagefind", cached_bundle)
            key_file.write_text(key)
        finally:
            shutil.rmtree(fresh, ignore_errors=True)
        logger.info("search: indexed %s", output)
    shutil.rmtree(bundle, ignore_errors=True)
    shutil.copytree(cached_bundle, bundle)


def on_finalized(pelican) -> None:
    try:
        build_index(pelican)
    except SearchError as exc:
        logger.error("%s", exc)


def get_generators(pelican):
    return SearchPageGenerator


def register() -> None:
    """Hook ``get_generators`` (the search pages, written like every listing page) and ``finalized`` (Pagefind
    needs the whole site written; ``finalized`` is the first moment it is)."""
    signals.get_generators.connect(get_generators)
    signals.finalized.connect(on_finalized)
