"""The whole-build shortcut: when no input changed since the last successful build, restore its output.

The build is deterministic, so equal inputs give equal output. The inputs are fingerprinted before Pelican
starts: every file under the content folder (names and bytes), the resolved settings (environment variables such as
SITEURL included), the theme and plugin files, and library versions. After a successful build, the output is kept
in ``INCREMENTAL_CACHE_PATH/../last-build/`` as hard links (no copy; updated in place); a build with the same
fingerprint hard-links it back into an emptied output folder instead of running Pelican. Sizes are checked on
restore, so a snapshot that was edited or truncated is never published: the build simply runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
from pathlib import Path

from content_model.output import files_under, link_file, write_atomically

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"


def snapshot_dir(settings: dict) -> Path:
    from . import read_settings

    return read_settings(settings)["cache"].parent / "last-build"


def enabled(settings: dict) -> bool:
    return "incremental" in settings.get("PLUGINS", ()) and bool(settings.get("INCREMENTAL_ENABLED", True)) and bool(
        settings.get("PORTAL_CLEAN_OUTPUT")
    )


def input_fingerprint(settings: dict) -> str:
    from . import CODE_VERSION, PLUGINS_ROOT, Fingerprinter, files_digest, library_versions

    digest = hashlib.blake2b(digest_size=20)
    content = Path(settings["PATH"])
    for path in sorted(content.rglob("*")):
        if path.is_file() or path.is_symlink():
            digest.update(str(path.relative_to(content)).encode("utf-8", "surrogateescape") + b"\0")
            if path.is_symlink():
                digest.update(b"link:" + os.readlink(path).encode("utf-8", "surrogateescape"))
            else:
                digest.update(path.read_bytes())
    volatile = {"OUTPUT_PATH", "CACHE_PATH"}
    chosen = {k: v for k, v in settings.items() if k.isupper() and k not in volatile}
    digest.update(Fingerprinter().value(chosen, 1).encode())
    digest.update(f"{CODE_VERSION} {library_versions()} {files_digest(Path(settings['THEME']), PLUGINS_ROOT)}".encode())
    return digest.hexdigest()


def restore(settings: dict, fingerprint: str) -> bool:
    """Put the last build's output in place if it was made from the same inputs; False when a build is needed.

    When the output folder still holds exactly the saved files (the same inodes: the last build's own output, as
    on a developer's machine or a CI runner that keeps output/ with the caches), nothing is touched."""
    snapshot = snapshot_dir(settings)
    try:
        manifest = json.loads((snapshot / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return False
    if manifest.get("fingerprint") != fingerprint:
        return False
    files = snapshot / "files"
    output = Path(settings["OUTPUT_PATH"])
    in_place = output.is_dir()
    for relative, size in manifest["files"].items():
        try:
            saved = os.stat(files / relative)
        except OSError:
            saved = None
        if saved is None or not stat.S_ISREG(saved.st_mode) or saved.st_size != size:
            logger.info("incremental: the saved output was changed (%s); building", relative)
            return False
        if in_place:
            try:
                live = os.stat(output / relative)
            except OSError:
                in_place = False
            else:
                in_place = (live.st_ino, live.st_dev) == (saved.st_ino, saved.st_dev)
    retained = set(settings.get("OUTPUT_RETENTION", []))
    if in_place and files_under(output, retained) == set(manifest["files"]):
        logger.info("incremental: nothing changed since the last build; its %d files are in place",
                    len(manifest["files"]))
        return True
    if output.exists():
        from pelican.utils import clean_output_dir

        clean_output_dir(str(output), settings.get("OUTPUT_RETENTION", []))
    made: set[Path] = set()
    for relative in manifest["files"]:
        link_file(files / relative, output / relative, made)
    logger.info("incremental: nothing changed since the last build; its %d files restored", len(manifest["files"]))
    return True


def save(settings: dict, fingerprint: str) -> None:
    """Keep this build's output (hard links) for the next build with the same inputs.

    Updated in place: a file whose snapshot link is already the output's inode (an unchanged page kept by
    ``content_model.output.place``) is left alone, so a one-article edit relinks a handful of files, not the site.
    The manifest is removed first and written last: a save that stops halfway leaves no snapshot to restore."""
    snapshot = snapshot_dir(settings)
    files_dir = snapshot / "files"
    manifest_path = snapshot / MANIFEST
    try:  # what the snapshot holds: its manifest says, unless a save stopped halfway (then look)
        saved = set(json.loads(manifest_path.read_text(encoding="utf-8"))["files"])
        manifest_path.unlink()
    except (OSError, ValueError, KeyError, TypeError):
        saved = files_under(files_dir) if files_dir.is_dir() else set()
    output = Path(settings["OUTPUT_PATH"])
    current = files_under(output)
    for relative in saved - current:
        _unlink_and_prune(files_dir, relative)
    files = {}
    made: set[Path] = set()
    output_root, files_root = str(output), str(files_dir)  # strings: a Path per file cost seconds at 50,000 files
    for relative in sorted(current):
        live = os.stat(os.path.join(output_root, relative))
        try:
            kept = os.stat(os.path.join(files_root, relative))
        except OSError:
            kept = None
        if kept is None or (kept.st_ino, kept.st_dev) != (live.st_ino, live.st_dev):
            target = files_dir / relative
            temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            link_file(output / relative, temporary, made)
            os.replace(temporary, target)  # a new link, never a write through the old one
        files[relative] = live.st_size
    write_atomically(manifest_path, json.dumps({"fingerprint": fingerprint, "files": files}).encode("utf-8"))


def _unlink_and_prune(root: Path, relative: str) -> None:
    """Remove ``root/relative`` and the folders it leaves empty (not ``root`` itself)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(root / relative)
    folder = (root / relative).parent
    while folder != root:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
