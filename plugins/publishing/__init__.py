"""publishing: content-hashed theme assets, hosting configuration, and the deploy code behind `invoke publish`.

Adds to the site build:

* the Jinja global ``asset(path)`` (``generator_init``): ``asset('css/portal.css')`` is
  ``theme/css/portal.<first 8 hex of sha256>.css``, so templates link a name that changes whenever the file does
  and hosts may cache it for a year. The hash is of the theme's source file;
* at ``finalized`` (after Pelican copied the theme's static files): a hashed copy of every theme static file next
  to the unhashed one (which stays, for anything that links it by name), then the hosting files, generated from
  one policy (``hosting.py``):

  - ``output/_headers``: Netlify / Cloudflare Pages header rules. Those hosts read it and never serve it.
  - ``output/_nginx.conf``: an nginx snippet for SSH deploys. It lives in the output so it travels with each
    release (``include .../current/_nginx.conf``); it holds only the headers every visitor receives anyway, and
    the snippet itself answers 404 for both files. The S3 deployer skips both (there headers are object metadata).
    The snippet also answers a missing address with the site's not-found page of its language folder
    (``reader_features``' ``404.html``, ``zh/404.html``: ``error_page``).

`deploy.py` holds the publish pipeline (staging build, checks, the ssh/git/s3 targets, rollback) used by
tasks.py; `linkcheck.py` the internal link check. Settings (read with defaults in `publishing_settings`):
``PUBLISH_CSP`` (dict of directives, merged over hosting.DEFAULT_CSP), ``PUBLISH_REFERRER_POLICY``,
``PUBLISH_CACHE_LONG`` / ``PUBLISH_CACHE_SHORT`` (Cache-Control values), ``PUBLISH_HOSTING_FILES`` (False: write
neither hosting file).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path
from stat import S_ISREG

from pelican import signals

from .hosting import (
    DEFAULT_CSP,
    HEADERS_FILE,
    LONG_CACHE,
    NGINX_FILE,
    SHORT_CACHE,
    HostingPolicy,
    render_headers_file,
    render_nginx_conf,
)

logger = logging.getLogger(__name__)

HASH_LENGTH = 8


def publishing_settings(settings: dict) -> dict:
    """Every setting this plugin reads, with its default."""
    return {
        "policy": HostingPolicy(
            csp={**DEFAULT_CSP, **settings.get("PUBLISH_CSP", {})},
            referrer_policy=settings.get("PUBLISH_REFERRER_POLICY", "strict-origin-when-cross-origin"),
            long_cache=settings.get("PUBLISH_CACHE_LONG", LONG_CACHE),
            short_cache=settings.get("PUBLISH_CACHE_SHORT", SHORT_CACHE),
        ),
        "hosting_files": settings.get("PUBLISH_HOSTING_FILES", True),
        "static_dir": settings.get("THEME_STATIC_DIR", "theme"),
        "static_sources": [Path(settings["THEME"]) / name for name in settings.get("THEME_STATIC_PATHS", ["static"])],
    }


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:HASH_LENGTH]


def hashed_name(relative: str, digest: str) -> str:
    """`css/portal.css` -> `css/portal.<digest>.css` (a name without a suffix gets `.<digest>` appended)."""
    path = Path(relative)
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}")) if path.suffix else f"{relative}.{digest}"


def theme_static_files(options: dict) -> dict[str, Path]:
    """Theme static files by path relative to the static folder (a later static path wins, as in Pelican)."""
    found: dict[str, Path] = {}
    for source in options["static_sources"]:
        if source.is_dir():
            for path in sorted(source.rglob("*")):
                if path.is_file():
                    found[path.relative_to(source).as_posix()] = path
    return dict(sorted(found.items()))


class AssetResolver:
    """The `asset()` global: memoised per file stamp, so a livereload rebuild sees edited files, and per name for
    the resolver's life (one generator of one build), since it is called several times on every page."""

    def __init__(self, options: dict):
        self.options = options
        self._memo: dict[tuple[str, int, int], str] = {}
        self._resolved: dict[str, str] = {}

    def __call__(self, relative: str) -> str:
        resolved = self._resolved.get(relative)
        if resolved is None:
            resolved = self._resolved[relative] = self._resolve(relative)
        return resolved

    def _resolve(self, relative: str) -> str:
        relative = relative.lstrip("/")
        for source in reversed(self.options["static_sources"]):
            path = os.path.join(source, relative)
            try:
                stat = os.stat(path)
            except OSError:
                continue
            if not S_ISREG(stat.st_mode):
                continue
            key = (path, stat.st_mtime_ns, stat.st_size)
            if key not in self._memo:
                self._memo[key] = hashed_name(relative, file_hash(Path(path)))
            return f"{self.options['static_dir']}/{self._memo[key]}"
        logger.error(
            "asset(%r): no such file in the theme's static folders (%s)",
            relative,
            ", ".join(str(s) for s in self.options["static_sources"]),
        )
        return f"{self.options['static_dir']}/{relative}"


def on_generator_init(generator) -> None:
    generator.env.globals["asset"] = AssetResolver(publishing_settings(generator.settings))


def write_hashed_assets(output: Path, options: dict) -> list[str]:
    """Copy every theme static file to its hashed name; returns the hashed paths relative to the output."""
    written = []
    for relative, source in theme_static_files(options).items():
        target = f"{options['static_dir']}/{hashed_name(relative, file_hash(source))}"
        destination = output / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        written.append(target)
    return written


def not_found_pages(settings: dict) -> list[str]:
    """Where a not-found page of each interface language would be (``reader_features``: ``404.html``,
    ``<lang>/404.html``)."""
    default = settings["DEFAULT_LANG"]
    languages = settings.get("PORTAL_LANGUAGES", [default])
    return [("" if lang == default else f"{lang}/") + "404.html" for lang in languages]


def on_finalized(pelican) -> None:
    options = publishing_settings(pelican.settings)
    output = Path(pelican.settings["OUTPUT_PATH"])
    hashed = write_hashed_assets(output, options)
    if options["hosting_files"]:
        (output / HEADERS_FILE).write_text(render_headers_file(options["policy"], hashed), encoding="utf-8")
        not_found = [page for page in not_found_pages(pelican.settings) if (output / page).is_file()]
        (output / NGINX_FILE).write_text(render_nginx_conf(options["policy"], hashed, not_found), encoding="utf-8")


def register() -> None:
    """Hook ``generator_init`` (the asset() global in each generator's Jinja environment) and ``finalized``
    (hashed copies and hosting files, once every page and static file is written)."""
    signals.generator_init.connect(on_generator_init)
    signals.finalized.connect(on_finalized)
