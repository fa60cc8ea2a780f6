"""The results cache of `invoke check`: what each content file said last time, keyed on its bytes.

One JSON file per content folder, ``<CHECK_CACHE_PATH>/<hash of the folder>.json`` (``cache/check`` by default,
next to ``CACHE_PATH``; ``$PORTAL_CHECK_CACHE`` overrides it). It holds:

- ``version``: a digest of everything a file's result depends on besides its own bytes: the code of the checker
  and the content model, the site settings, the content folder's path, and every registry file's name and bytes.
  A cache with another version is ignored whole (so renaming an official re-checks every article that may name it);
- per content file: the sha256 of its bytes, its problems, the facts the cross-file checks need (slug, language,
  status, output file, registry entries named...), and the answers it got from the file system (does the linked
  file exist, which file is nearby). A file is re-validated unless its bytes hash the same and every one of those
  answers is still the same.

Content files' modification times are never used (a fresh clone gives every file a new one). The file is written
atomically (temporary file, then rename); a cache that cannot be read, or is not what this code writes, is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

CACHE_ENV = "PORTAL_CHECK_CACHE"
FORMAT = 1
# One file per content folder; tests and benchmarks check throwaway folders, so keep only the newest few.
KEEP_FILES = 8


def cache_folder(default: Path) -> Path:
    chosen = os.environ.get(CACHE_ENV)
    return Path(chosen).expanduser().resolve() if chosen else default


def digest(parts: list[bytes]) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(len(part).to_bytes(8, "little"))
        hasher.update(part)
    return hasher.hexdigest()


def code_version(files: list[str]) -> bytes:
    """The source of the modules whose behaviour the cached results depend on, and the Python running them."""
    parts = [sys.version.encode()]
    for name in sorted(files):
        with open(name, "rb") as handle:
            parts.append(handle.read())
    return digest(parts).encode()


def registry_files(root: Path, kinds: tuple[str, ...]) -> list[bytes]:
    """Name and bytes of every registry file, the same files ``model.load_registries`` reads."""
    parts = []
    for kind in kinds:
        folder = root / kind
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.md")):
            parts.append(f"{kind}/{path.name}".encode())
            parts.append(path.read_bytes())
    return parts


class ResultsCache:
    """The cache file of one content folder."""

    def __init__(self, folder: Path, root: Path, version: str):
        self.folder = folder
        self.root = str(root)
        self.version = version
        self.path = folder / (hashlib.sha256(self.root.encode()).hexdigest()[:24] + ".json")

    def load(self) -> dict | None:
        """The stored results, or None when absent, unreadable, or written for other code, settings or registries."""
        try:
            with open(self.path, "rb") as handle:
                data = json.loads(handle.read())
        except (OSError, ValueError, RecursionError):
            return None
        if (
            not isinstance(data, dict)
            or data.get("format") != FORMAT
            or data.get("version") != self.version
            or data.get("root") != self.root
            or not isinstance(data.get("files"), dict)
            or not isinstance(data.get("registries"), dict)
        ):
            return None
        try:
            os.utime(self.path)  # only for `prune`: this folder was checked just now
        except OSError:
            pass
        return data

    def save(self, registries: dict, files: dict) -> None:
        """Write atomically; a cache that cannot be written only costs time next run, so failures are silent."""
        data = {"format": FORMAT, "version": self.version, "root": self.root, "registries": registries,
                "files": files}
        from content_model.output import write_atomically  # content_model is importable once .common has run

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # dumps, not dump: json.dump streams through the pure-Python encoder (4x slower here)
            write_atomically(self.path, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
            self.prune()
        except OSError:
            pass

    def prune(self) -> None:
        """Delete the cache files of all but the KEEP_FILES most recently checked content folders."""
        others = []
        for entry in os.scandir(self.folder):
            if entry.name.endswith(".json") and entry.is_file():
                others.append((entry.stat().st_mtime, entry.path))
        for _mtime, path in sorted(others, reverse=True)[KEEP_FILES:]:
            try:
                os.unlink(path)
            except OSError:
                pass
