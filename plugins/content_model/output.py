"""The output folder of a clean build (``PORTAL_CLEAN_OUTPUT``), emptied cheaply and refilled without rewriting.

A clean build used to delete every file of the last build and write every file again: at 10,000 articles that
is about 45,000 unlinks, 25,000 directory removals and 45,000 new files, for an edit that changes a dozen.
Instead, ``set_aside`` moves the output's top-level entries into a sibling folder (``.<name>.last-build``,
one rename each), so the output folder is empty exactly as before and every producer writes into it as if it
were. A writer that has the bytes of a file in hand calls ``place``: when the set-aside copy of that file holds
the same bytes, it is renamed back (no write, and the same inode, so the hard-link snapshot of the
``incremental`` plugin and the search plugin's per-file cache see an unchanged file); otherwise the file is
written. A writer that knows a file is the one the last build wrote (the ``incremental`` plugin: same key, same
stamp, ``set_aside_is``) takes it back unread (``take_back``). ``discard`` deletes what was not taken back: the files
of deleted or changed pages. The result is the folder a cold build writes, byte for byte.

A file is never written through (truncated in place): a recycled inode may also be linked from a cache.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import threading
import types
from pathlib import Path

logger = logging.getLogger(__name__)

# The build in progress: (output folder + os.sep, its set-aside folder), while a clean build writes.
_ASIDE: list[tuple[str, str]] = []
_DISCARDING: list[threading.Thread | subprocess.Popen] = []
# Files of the build in progress put back with their folder (``take_back_folder``), for ``take_back``.
_TAKEN_WITH_FOLDER: set[str] = set()
# Folders of the output known to exist in the build in progress (``take_back_folder`` puts 20,000 folders back into
# a few hundred: one ``makedirs`` each, not one per page).
_FOLDERS_MADE: set[str] = set()


def aside_folder(output: Path) -> Path:
    """Where ``set_aside`` moves ``output``'s entries: beside it (same file system, so moves are renames)."""
    return output.parent / f".{output.name}.last-build"


def set_aside(output: Path, retention: list[str] | tuple[str, ...] = ()) -> None:
    """Empty ``output`` (keeping the ``OUTPUT_RETENTION`` names, as Pelican's ``clean_output_dir`` does) by moving
    its entries aside; fall back to deleting them where a move is not possible."""
    finish_discarding()
    output = Path(os.path.abspath(output))
    aside = aside_folder(output)
    if os.path.lexists(aside):  # left by a build that stopped before `discard`
        _remove(aside)
    _ASIDE.clear()
    _TAKEN_WITH_FOLDER.clear()
    _FOLDERS_MADE.clear()
    try:
        aside.mkdir()
    except OSError as exc:
        logger.debug("content_model: cannot make %s (%s); emptying %s instead", aside, exc, output)
        from pelican.utils import clean_output_dir

        clean_output_dir(str(output), list(retention))
        return
    for entry in sorted(os.listdir(output)):
        if entry in retention:
            continue
        try:
            os.rename(output / entry, aside / entry)
        except OSError:
            _remove(output / entry)
    _ASIDE.append((str(output) + os.sep, str(aside) + os.sep))


def place(path: str, data: bytes, source: str | os.PathLike | None = None) -> bool:
    """Make the file ``path`` (inside the output being built) hold ``data``: take the set-aside file back when it
    holds the same bytes, else link ``source`` (a cache's file the caller read ``data`` from or wrote it to), else
    write a new file. True when the old file was taken back.

    A link, not a new file: making a file is the costliest step of writing one here (about 170 us on this ext4,
    a link 17 us: 20,000 pages of a cold build at 10,000 articles). The cache's file is never written through
    either (``write_atomically``), so the output and the cache sharing its inode is as safe as the snapshot's."""
    previous = _aside_path(path)
    try:
        same = previous is not None and os.stat(previous).st_size == len(data) and _read(previous) == data
    except OSError:
        same = False
    if os.path.lexists(path):
        os.unlink(path)  # replaced, never written through
    if same:
        os.rename(previous, path)
        return True
    if source is not None and _link_cached_file(source, path, data):
        return False
    with open(path, "wb") as handle:
        handle.write(data)
    return False


def _link_cached_file(source: str | os.PathLike, path: str, data: bytes) -> bool:
    """Link ``source`` at ``path`` if it is ``data``'s size; False when it is not, or cannot be linked there (another
    file system). Its bytes are not read again: a cache's file is named by the digest of what it was made from and
    never written through, so another build replacing it meanwhile puts the same bytes there (the size is checked
    against a file damaged by hand)."""
    try:
        if os.stat(source).st_size != len(data):
            return False
        os.link(source, path)
    except OSError:
        return False
    return True


def file_stamp(info: os.stat_result) -> list[int]:
    """What tells one file from another: a file is never written through (see the module docstring), so the same
    inode with the same size and modification time holds the same bytes."""
    return [info.st_size, info.st_ino, info.st_dev, info.st_mtime_ns]


def set_aside_is(path: str, expected: list[int]) -> bool:
    """Whether the set-aside copy of ``path`` (inside the output being built) is the very file ``expected``
    (``file_stamp``) describes."""
    previous = _aside_path(path)
    if previous is None:
        return False
    try:
        return file_stamp(os.stat(previous)) == list(expected)
    except OSError:
        return False


def take_back(path: str) -> bool:
    """Put the set-aside copy of ``path`` back unread (once ``set_aside_is`` said it holds the bytes wanted); False
    when it is gone."""
    path = os.path.abspath(path)
    if path in _TAKEN_WITH_FOLDER:
        _TAKEN_WITH_FOLDER.discard(path)
        return True
    previous = _aside_path(path)
    if previous is None or not os.path.isfile(previous):
        return False
    if os.path.lexists(path):
        os.unlink(path)
    os.rename(previous, path)
    return True


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``path`` through a temporary file and a rename: a reader (or a parallel build) never sees half a file,
    and a file another name links (a cache entry) is replaced, not written through."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def link_file(source, target, made: set[Path] | None = None) -> None:
    """Make ``target`` a hard link to ``source`` (a copy on another file system), making its folder first; ``made``
    remembers the folders already made by a caller linking many files."""
    target = Path(target)
    if made is None or target.parent not in made:
        target.parent.mkdir(parents=True, exist_ok=True)
        if made is not None:
            made.add(target.parent)
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed: a copy reads the same
        shutil.copy2(source, target)


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` unless the file already holds exactly it (so an unchanged file keeps its mtime).

    Returns True when the file was written. The write goes through a temporary file and a rename, so a
    reader (or a parallel build) never sees half a file.
    """
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data)
    return True


def link_or_copy(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """Make ``target`` the cached file: a hard link (no copy, same inode), left alone when it already is.

    Tried first as one ``link`` of the paths as given (strings are cheaper than ``Path`` objects here): a build into
    an emptied output (most builds) makes ten thousand cards' and QR codes' links, and each stat, folder check and
    rename more is a tenth of a second there."""
    try:
        os.link(source, target)
        return
    except FileNotFoundError:
        folder = os.path.dirname(target)
        if not os.path.isdir(folder):
            os.makedirs(folder, exist_ok=True)
            with contextlib.suppress(OSError):
                os.link(source, target)
                return
    except OSError:
        pass  # there already (FileExistsError), or links not possible there: as below
    source, target = Path(source), Path(target)
    try:
        if os.path.samefile(source, target):
            return
    except FileNotFoundError:
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        os.link(source, tmp)
    except OSError:  # another filesystem: copy, unless the bytes are already there
        write_if_changed(target, source.read_bytes())
        return
    os.replace(tmp, target)


def link_tree(source, target, dirs_exist_ok: bool = False) -> None:
    """``shutil.copytree`` with each file made by ``link_or_copy``: a hard link (a file already in the target
    replaced, never written through; a copy on another file system). Copytree makes the folders, so none is made
    again for each file (the search bundle: 10,000 files a build at 10,000 articles)."""
    shutil.copytree(source, target, copy_function=link_or_copy, dirs_exist_ok=dirs_exist_ok)


def take_back_folder(path: str) -> bool:
    """Put back the set-aside folder of ``path`` whole, before anything is written in it, when it holds that file
    alone (an article page, a listing's numbered page): one rename instead of making the folder again and renaming
    the file into it, a quarter of the time on ext4, for each of the 20,000 pages a rebuild after a metadata edit
    keeps at 10,000 articles. Call it once ``set_aside_is`` said the file holds the bytes wanted; ``take_back``
    then finds it in place. False when the folder was not moved (it exists already, holds more, or is a link)."""
    path = os.path.abspath(path)
    previous = _aside_path(path)
    if previous is None:
        return False
    folder, aside = os.path.dirname(path), os.path.dirname(previous)
    try:
        if os.path.islink(aside) or os.listdir(aside) != [os.path.basename(path)]:
            return False
        parent = os.path.dirname(folder)
        if parent not in _FOLDERS_MADE:
            os.makedirs(parent, exist_ok=True)
            _FOLDERS_MADE.add(parent)
        # Not looked for first: a folder there already is replaced only if empty (else ENOTEMPTY), and a file or a
        # link there is not replaced (ENOTDIR). One stat less for each of 20,000 pages.
        os.rename(aside, folder)
    except OSError:
        return False
    _TAKEN_WITH_FOLDER.add(path)
    _FOLDERS_MADE.add(folder)
    return True


def make_folders(name: str, mode: int = 0o777, exist_ok: bool = False) -> None:
    """``os.makedirs`` as Pelican's writer calls it before each file it writes (``exist_ok``), while a clean build
    writes: a folder of the output this build made or put back (``take_back_folder``) is not made again. That is a
    ``mkdir`` that fails and two stats for each of the 20,000 pages a metadata edit keeps at 10,000 articles (1.3 s
    of the main process in a sampled metadata edit)."""
    known = exist_ok and bool(_ASIDE)
    if known and name in _FOLDERS_MADE:
        return
    os.makedirs(name, mode, exist_ok)
    if known:
        _FOLDERS_MADE.add(name)


class _WritersOs(types.ModuleType):
    """``os`` as ``pelican.writers`` sees it (``use_known_folders``): ``make_folders`` is its ``makedirs``."""

    makedirs = staticmethod(make_folders)

    def __getattr__(self, name: str):
        return getattr(os, name)


def use_known_folders() -> None:
    """Let Pelican's writer make its folders through ``make_folders`` (it calls ``os.makedirs`` by the name of the
    module it imported)."""
    import pelican.writers

    if not isinstance(pelican.writers.os, _WritersOs):
        pelican.writers.os = _WritersOs("os")


class _NoFoldersOs(_WritersOs):
    """``os`` as ``pelican.writers`` sees it in a process that renders pages but writes none (``make_no_folders``)."""

    @staticmethod
    def makedirs(name: str, mode: int = 0o777, exist_ok: bool = False) -> None:
        pass


def make_no_folders() -> None:
    """Pelican's writer makes no folder in this process: the incremental plugin's pre-rendering child, whose writer
    opens no file. A folder it made would be one the writing process cannot put back whole from the last build
    (``take_back_folder``), and its ``mkdir`` and stats cost the child about 2 s in a metadata edit at 10,000
    articles."""
    import pelican.writers

    pelican.writers.os = _NoFoldersOs("os")


def take_back_links(folder: str, sources: dict[str, str]) -> bool:
    """Put the set-aside ``folder`` back whole when it holds exactly one file per name of ``sources`` (name -> the
    file it is to be a hard link to, in a cache), each that very file: one rename for the thousands of links a
    folder of share cards or QR codes takes after a metadata edit. False, nothing done, otherwise (``folder``
    exists already, holds something else, a file was replaced since...)."""
    previous = _aside_path(folder)
    if previous is None or not sources or os.path.lexists(folder) or os.path.islink(previous):
        return False
    try:
        held = {}
        with os.scandir(previous) as entries:
            for entry in entries:
                if not entry.is_file(follow_symlinks=False):
                    return False
                held[entry.name] = entry.inode()
        if held.keys() != sources.keys():
            return False
        device = os.stat(previous).st_dev
        cached: dict[str, dict[str, int]] = {}  # folder of sources -> name -> inode
        for name, source in sources.items():
            parent, base = os.path.split(source)
            if parent not in cached:
                if os.stat(parent).st_dev != device:
                    return False
                with os.scandir(parent) as entries:
                    cached[parent] = {entry.name: entry.inode() for entry in entries}
            if cached[parent].get(base) != held[name]:
                return False
        os.makedirs(os.path.dirname(folder), exist_ok=True)
        os.rename(previous, folder)
    except OSError:
        return False
    return True


def files_under(root: Path, skip_top: set[str] | frozenset[str] = frozenset()) -> set[str]:
    """Relative paths of every file under ``root``, except the top-level entries named in ``skip_top`` (one scandir
    walk, no Path per file: output folders hold tens of thousands of files)."""
    prefix = len(str(root)) + 1
    return {entry.path[prefix:] for entry in _file_entries(str(root), skip_top)}


def file_inodes(root: Path) -> dict[str, int]:
    """Every file under ``root`` by relative path, with its inode number as the folder lists it (no ``stat``)."""
    prefix = len(str(root)) + 1
    return {entry.path[prefix:]: entry.inode() for entry in _file_entries(str(root))}


def _file_entries(root: str, skip_top: set[str] | frozenset[str] = frozenset()):
    folders = [root]
    while folders:
        folder = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if folder == root and entry.name in skip_top:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
                else:
                    yield entry


def discard() -> None:
    """Delete, in the background, what the build did not take back: the build's last steps (search index, snapshot)
    do not read the set-aside folder, and ``finish_discarding`` waits for it. ``rm`` does it where there is one: a
    thread deleting 25,000 folders would take turns with those steps at the interpreter's lock."""
    if not _ASIDE:
        return
    _output, aside = _ASIDE.pop()
    _FOLDERS_MADE.clear()
    remover = shutil.which("rm")
    if remover:
        _DISCARDING.append(subprocess.Popen([remover, "-rf", "--", aside], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return
    thread = threading.Thread(target=_remove, args=(Path(aside),), name="discard-last-build", daemon=False)
    thread.start()
    _DISCARDING.append(thread)


def finish_discarding() -> None:
    while _DISCARDING:
        remover = _DISCARDING.pop()
        if isinstance(remover, threading.Thread):
            remover.join()
        else:
            remover.wait()


def _aside_path(path: str) -> str | None:
    if not _ASIDE:
        return None
    output, aside = _ASIDE[-1]
    path = os.path.abspath(path)
    return aside + path[len(output):] if path.startswith(output) else None


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except OSError:
            pass
