"""The whole-build shortcut: when no input changed since the last successful build, restore its output.

The build is deterministic, so equal inputs give equal output. The inputs are fingerprinted before Pelican
starts: every file under the content folder (names and bytes; a file whose stamp is unchanged keeps its digest),
the resolved settings (environment variables such as SITEURL included), the theme and plugin files, and library
versions. After a successful build, the output is kept in ``INCREMENTAL_CACHE_PATH/../last-build/`` as hard links
(no copy; updated in place), with a manifest: the files with their stamps, the inputs' digests, and what the
body-edit path (``quick``) records. A build with the same fingerprint finds the output in place, or hard-links it
back into an emptied output folder, instead of running Pelican. Sizes are checked on restore, so a snapshot that
was edited or truncated is never published: the build simply runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import stat
from dataclasses import dataclass
from pathlib import Path

from content_model.output import file_inodes, file_stamp, files_under, link_file, write_atomically

logger = logging.getLogger(__name__)

# Written by this plugin into the build's own cache folder, as Pelican pickles its reader cache there: a pickle
# loads several times faster than JSON, and the body-edit path reads and writes the manifest on every edit.
MANIFEST = "manifest.pickle"
FORMAT = 2  # of the manifest: a manifest of another format is never used
# The manifest of a save whose last folders the build's finisher saves (``save(..., later=...)``, ``complete``).
PENDING = "manifest.pending.pickle"
# ... and the last manifest's files, when the finisher saves every folder (``save(..., all_later=True)``).
LAST_FILES = "manifest.last-files.pickle"
# The finisher's saving of the folders not handed over, running beside its other steps (``start_completion``):
# (pool, future).
_COMPLETING: list = []


def snapshot_dir(settings: dict) -> Path:
    from . import read_settings

    return read_settings(settings)["cache"].parent / "last-build"


def enabled(settings: dict) -> bool:
    return "incremental" in settings.get("PLUGINS", ()) and bool(settings.get("INCREMENTAL_ENABLED", True)) and bool(
        settings.get("PORTAL_CLEAN_OUTPUT")
    )


@dataclass(frozen=True)
class Inputs:
    """What a build is made from: a digest of each file under the content folder (by content-relative path) and
    one of everything else (the resolved settings, theme and plugin files, library versions). ``stamps`` tell,
    for the next build, which files may be unchanged (``read_inputs``)."""

    content: dict[str, str]
    rest: str
    stamps: dict[str, tuple[int, ...]]
    # What reading a content file depends on besides its bytes: ``rest`` without the theme (the reader cache's
    # stamps hold it: ``content_model.reader.known_digests``).
    reading: str = ""

    @property
    def fingerprint(self) -> str:
        digest = hashlib.blake2b(digest_size=20)
        for path in sorted(self.content):
            digest.update(f"{path}\0{self.content[path]}\n".encode("utf-8", "surrogateescape"))
        digest.update(self.rest.encode())
        return digest.hexdigest()

    def changed_since(self, content: dict[str, str]) -> list[str]:
        """Content files added, removed or changed since the build whose ``content`` digests are given."""
        return sorted(path for path in self.content.keys() | content.keys()
                      if self.content.get(path) != content.get(path))


def read_inputs(settings: dict, last: dict | None = None) -> Inputs:
    """The inputs of a build now. A content file whose stamp (size, inode, device, modification and change times)
    is the one the ``last`` manifest recorded keeps its digest unread: any write changes the change time, which no
    tool can set back, so the same stamp is the same file (git's index relies on the same)."""
    from . import CODE_VERSION, PLUGINS_ROOT, Fingerprinter, files_digest, library_versions

    root = str(Path(settings["PATH"]))
    known = (last or {}).get("inputs") or {}
    known_digests, known_stamps = known.get("content") or {}, known.get("stamps") or {}
    content, stamps = {}, {}
    prefix = len(root) + 1
    folders = [root]
    while folders:  # strings and scandir: a Path per file cost a quarter of a second at 10,000 articles
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                relative = entry.path[prefix:]
                if entry.is_symlink():
                    content[relative] = "link:" + os.readlink(entry.path)
                elif entry.is_dir():
                    folders.append(entry.path)
                elif entry.is_file():
                    info = entry.stat()
                    stamp = (info.st_size, info.st_ino, info.st_dev, info.st_mtime_ns, info.st_ctime_ns)
                    stamps[relative] = stamp
                    if known_stamps.get(relative) == stamp and relative in known_digests:
                        content[relative] = known_digests[relative]
                    else:
                        with open(entry.path, "rb") as handle:
                            content[relative] = hashlib.blake2b(handle.read(), digest_size=16).hexdigest()
    volatile = {"OUTPUT_PATH", "CACHE_PATH"}
    chosen = {k: v for k, v in settings.items() if k.isupper() and k not in volatile}
    site = f"{Fingerprinter().value(chosen, 1)} {CODE_VERSION} {library_versions()} {files_digest(PLUGINS_ROOT)}"
    rest = hashlib.blake2b(f"{site} {files_digest(Path(settings['THEME']))}".encode(), digest_size=20)
    reading = hashlib.blake2b(site.encode(), digest_size=20)
    return Inputs(content, rest.hexdigest(), stamps, reading.hexdigest())


def load_manifest(settings: dict) -> dict | None:
    """The last saved build's manifest, or None when there is none (or a save stopped halfway)."""
    try:
        with open(snapshot_dir(settings) / MANIFEST, "rb") as handle:
            manifest = pickle.load(handle)
            if isinstance(manifest, dict) and manifest.pop("later", None):
                manifest["files"].update(pickle.load(handle))  # the folders the finisher saved (``complete``)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("format") == FORMAT else None


def restore(settings: dict, fingerprint: str, manifest: dict | None) -> bool:
    """Put the last build's output in place if it was made from the same inputs (``manifest``, from
    ``load_manifest``, says what it was made from); False when a build is needed."""
    if manifest is None or manifest.get("fingerprint") != fingerprint:
        return False
    if not put_in_place(settings, manifest):
        return False
    logger.info("incremental: nothing changed since the last build; its %d files are in place", len(manifest["files"]))
    return True


def put_in_place(settings: dict, manifest: dict) -> bool:
    """Make the output folder hold exactly the saved build's files; False (nothing touched) when a saved file was
    changed or truncated, so such a snapshot is never published.

    When the output folder still holds exactly the saved files (the same inodes, sizes and modification times: the
    last build's own output, as on a developer's machine or a CI runner that keeps output/ with the caches),
    nothing is touched."""
    output = str(Path(settings["OUTPUT_PATH"]))
    retained = set(settings.get("OUTPUT_RETENTION", []))
    files = manifest["files"]
    if _holds(output, files, retained):
        return True
    saved_root = str(snapshot_dir(settings) / "files")  # strings: a Path per file cost seconds at 50,000 files
    for relative, (size, *_stamp) in files.items():
        try:
            saved = os.stat(os.path.join(saved_root, relative))
        except OSError:
            saved = None
        if saved is None or not stat.S_ISREG(saved.st_mode) or saved.st_size != size:
            logger.info("incremental: the saved output was changed (%s); building", relative)
            return False
    if os.path.exists(output):
        from pelican.utils import clean_output_dir

        clean_output_dir(output, settings.get("OUTPUT_RETENTION", []))
    made: set[Path] = set()
    for relative in files:
        link_file(os.path.join(saved_root, relative), Path(output, relative), made)
    logger.info("incremental: the last build's %d files restored into %s", len(files), output)
    return True


def _holds(output: str, files: dict, retained: set[str]) -> bool:
    """Whether ``output`` holds exactly the saved files, each the very file the build saved (one walk)."""
    if not os.path.isdir(output):
        return False
    prefix, found = len(output) + 1, 0
    folders = [output]
    while folders:
        folder = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if folder == output and entry.name in retained:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
                    continue
                stamp = files.get(entry.path[prefix:])
                if stamp is None:
                    return False
                info = entry.stat(follow_symlinks=False)  # compared field by field: 50,000 files
                if (info.st_mtime_ns != stamp[3] or info.st_ino != stamp[1] or info.st_size != stamp[0]
                        or info.st_dev != stamp[2]):
                    return False
                found += 1
    return found == len(files)


def save(settings: dict, inputs: Inputs, quick: dict | None = None, previous: dict | None = None,
         changed: list[str] | None = None, later: tuple[str, ...] = (), all_later: bool = False) -> None:
    """Keep this build's output (hard links) for the next build with the same inputs, with the digests of those
    inputs and ``quick``, what the body-edit path (``incremental.quick``) needs to patch this output.

    Updated in place: a file whose snapshot link is already the output's inode (an unchanged page kept by
    ``content_model.output.place``) is left alone, so a one-article edit relinks a handful of files, not the site.
    ``previous`` is the manifest loaded before the build; with it, ``changed`` (output-relative files, and folders
    ending in "/") says which files alone may differ from it (the body-edit path's patches): nothing else is
    looked at. The manifest is removed first and written last: a save that stops halfway leaves no snapshot.

    ``later``: output folders (ending in "/") the build's finisher writes after this save (``content_model.finish``):
    the snapshot's files there stay as they are, and the manifest is written as pending, without them, for
    ``complete``. ``all_later`` (with ``later``): the finisher saves the other folders too, while it writes those
    (``start_completion``): this save writes the pending manifest with no files, and the last one's files beside
    it."""
    snapshot = snapshot_dir(settings)
    manifest_path = snapshot / MANIFEST
    if previous is None:
        previous = load_manifest(settings)
    old = previous.get("files") if previous and manifest_path.is_file() else None
    manifest_path.unlink(missing_ok=True)
    (snapshot / PENDING).unlink(missing_ok=True)
    (snapshot / LAST_FILES).unlink(missing_ok=True)
    if old is None:  # what the snapshot holds is unknown (a save stopped halfway): look
        old, changed = {}, None
    if later and all_later and changed is None:
        snapshot.mkdir(parents=True, exist_ok=True)
        write_atomically(snapshot / LAST_FILES, pickle.dumps(old, protocol=pickle.HIGHEST_PROTOCOL))
        files = {}
    else:
        files = _saved_files(settings, old, changed, later)
        if later:
            files = {relative: stamp for relative, stamp in files.items() if not relative.startswith(later)}
    manifest = {"format": FORMAT, "fingerprint": inputs.fingerprint, "files": files,
                "inputs": {"content": inputs.content, "rest": inputs.rest, "stamps": inputs.stamps}, "quick": quick}
    if later:
        manifest["later"] = list(later)
    write_atomically(snapshot / (PENDING if later else MANIFEST),
                     pickle.dumps(manifest, protocol=pickle.HIGHEST_PROTOCOL))


def completion_job(settings: dict, folders: tuple[str, ...], all_later: bool = False) -> dict:
    """What ``complete`` needs, for the build's finisher (plain values); ``all_later`` as given to ``save``."""
    return {"snapshot": str(snapshot_dir(settings).resolve()), "output": str(Path(settings["OUTPUT_PATH"]).resolve()),
            "folders": list(folders), "all": all_later}


def start_completion(job: dict) -> None:
    """The finisher, before its first step: when ``save`` left every folder to it (``all_later``), start saving
    those not handed over (``folders``) in a process of its own, beside the steps that write the handed ones (the
    search index: about a second each at 10,000 articles; in a thread, the two took as long as one after the other).
    """
    if not job.get("all") or _COMPLETING:
        return
    import concurrent.futures
    import multiprocessing

    context = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context)
    _COMPLETING.append((pool, pool.submit(_save_the_rest, job)))


def _save_the_rest(job: dict) -> dict:
    """``start_completion``'s work: the stamps of the snapshot's files outside the folders handed over, each made
    the output's."""
    snapshot, later = Path(job["snapshot"]), tuple(job["folders"])
    old = pickle.loads((snapshot / LAST_FILES).read_bytes())
    files = _saved_files({"OUTPUT_PATH": job["output"]}, old, None, later, snapshot)
    return {relative: stamp for relative, stamp in files.items() if not relative.startswith(later)}


def _completed_rest() -> dict:
    """The stamps ``start_completion``'s process saved (waiting for it), or {} when it was not started."""
    if not _COMPLETING:
        return {}
    pool, future = _COMPLETING.pop()
    try:
        return future.result()
    finally:
        pool.shutdown()


def complete(job: dict) -> None:
    """The finisher's step: save the folders ``save`` left for it (``later``) as they are now, take the stamps of
    the others from ``start_completion`` when ``save`` left every folder to it, and make the pending manifest the
    snapshot's: the files' stamps are a second pickle after it (``load_manifest`` reads both), so the manifest
    (20 MB at 10,000 articles) is neither loaded nor written again."""
    snapshot, folders = Path(job["snapshot"]), list(job["folders"])
    if job.get("all"):
        start_completion(job)  # (when the finisher did not)
    rest = _completed_rest()
    held = [folder + relative for folder in folders if (snapshot / "files" / folder).is_dir()
            for relative in files_under(snapshot / "files" / folder)]
    files = _saved_files({"OUTPUT_PATH": job["output"]}, dict.fromkeys(held), folders, (), snapshot)
    with open(snapshot / PENDING, "ab") as handle:
        handle.write(pickle.dumps({**rest, **files}, protocol=pickle.HIGHEST_PROTOCOL))
    os.replace(snapshot / PENDING, snapshot / MANIFEST)
    (snapshot / LAST_FILES).unlink(missing_ok=True)


def abandon(job: dict) -> None:
    """The finisher's step when the build's last steps did not end well: no snapshot (``complete`` not run)."""
    with contextlib.suppress(Exception):
        _completed_rest()  # its links are left as a save stopped halfway leaves them: no manifest names them
    (Path(job["snapshot"]) / PENDING).unlink(missing_ok=True)
    (Path(job["snapshot"]) / LAST_FILES).unlink(missing_ok=True)


def _saved_files(settings: dict, old: dict, changed: list[str] | None, later: tuple[str, ...],
                 snapshot: Path | None = None) -> dict:
    """``save``'s links: make the snapshot's files those of the output (``changed``, ``later``: see ``save``), and
    return their stamps."""
    files_dir = (snapshot or snapshot_dir(settings)) / "files"
    output = Path(settings["OUTPUT_PATH"])
    output_root, files_root = str(output), str(files_dir)  # strings: a Path per file cost seconds at 50,000 files
    # After a full build, both folders' inode numbers as they list them: a file of the output that is the very file
    # both the snapshot and the manifest hold (a page the build kept, a file it took back) keeps its stamp unlooked
    # at (two stats a file, 50,000 files, after a metadata edit).
    linked = file_inodes(files_dir) if changed is None and files_dir.is_dir() else {}
    saved = set(linked) if not old else set(old)
    device = os.stat(output_root).st_dev if linked else None
    same_device = bool(linked) and device == os.stat(files_root).st_dev
    if changed is None:
        inodes = file_inodes(output)
        current, looked_at = set(inodes), None
        if later:  # left as the snapshot holds them: the files there are saved once written (``complete``)
            current = {r for r in current if not r.startswith(later)} | {r for r in old if r.startswith(later)}
            looked_at = {r for r in current if not r.startswith(later)}
    else:
        folders = tuple(name for name in changed if name.endswith("/"))
        looked_at = {name for name in changed if not name.endswith("/") and os.path.isfile(output / name)}
        for folder in folders:
            if (output / folder).is_dir():
                looked_at |= {folder + relative for relative in files_under(output / folder)}
        current = {r for r in old if r not in changed and not r.startswith(folders)} | looked_at
    for relative in saved - current:
        _unlink_and_prune(files_dir, relative)
    files = {}
    made: set[Path] = set()
    made_folders: set[str] = set()  # the same, as strings (``_link_new``)
    for relative in sorted(current):
        if looked_at is not None and relative not in looked_at:
            files[relative] = old[relative]
            continue
        stamp = old.get(relative)
        if (same_device and stamp is not None and stamp[1] == inodes[relative] == linked.get(relative)
                and stamp[2] == device):
            files[relative] = stamp
            continue
        live = os.stat(os.path.join(output_root, relative))
        if relative not in saved and _link_new(output_root, files_root, relative, made_folders):
            # A file the snapshot does not hold (all of them after a cold build): linked at its name at once, with
            # neither a look for an old link nor a rename (a third of the time of a cold build's save).
            files[relative] = file_stamp(live)
            continue
        try:
            kept = os.stat(os.path.join(files_root, relative))
        except OSError:
            kept = None
        if kept is None or (kept.st_ino, kept.st_dev) != (live.st_ino, live.st_dev):
            target = files_dir / relative
            temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            link_file(output / relative, temporary, made)
            os.replace(temporary, target)  # a new link, never a write through the old one
        files[relative] = file_stamp(live)
    return files


def _link_new(output_root: str, files_root: str, relative: str, made: set[str]) -> bool:
    """Link the output's ``relative`` into the snapshot where nothing is: False when something is there after all
    (a snapshot changed by hand) or links are not possible there (``save`` then goes the long way)."""
    target = os.path.join(files_root, relative)
    folder = os.path.dirname(target)
    if folder not in made:
        os.makedirs(folder, exist_ok=True)
        made.add(folder)
    try:
        os.link(os.path.join(output_root, relative), target)
    except OSError:
        return False
    return True


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
