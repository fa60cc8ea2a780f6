"""Process pools for the build's CPU-bound batches (reading articles, drawing share cards, making QR codes, encoding
image renditions).

One place decides how many cores a build may use (``usable_cores``: the CPU affinity, which a container or
``taskset`` may narrow, not the machine's count) and how jobs are spread over them (``pool_map``, ``map_all``,
``Background``).

A cold build's batches share one pool, the build pool (``start_pool``, ``end_pool``): forked when the articles
start being read, while the parent is small, and kept for the cards, QR codes and renditions that follow, until the
pre-rendering child is forked (incremental) or the build ends. Forked workers each count the parent's pages again
in the process tree's resident memory: workers forked later, from a parent holding every article, counted three
times what these do, and two pools at once twice that.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool


# Helper processes of the build in progress that take a core and memory until they end (the pre-rendering child):
# a step that could start more work beside them may wait for them (``busy_helpers``).
_BUSY_HELPERS: set[int] = set()


def helper_started(pid: int) -> None:
    _BUSY_HELPERS.add(pid)


def helper_ended(pid: int) -> None:
    _BUSY_HELPERS.discard(pid)


def busy_helpers() -> list[int]:
    return sorted(_BUSY_HELPERS)


def process_ended(pid: int) -> bool:
    """Whether the process ``pid`` has ended (a zombie, not yet reaped by its parent, has)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            pass
        return False


def usable_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def can_fork() -> bool:
    """Whether workers can be forked (they then share the parent's memory: its modules, caches and data)."""
    return "fork" in multiprocessing.get_all_start_methods()


# The build pool and its number of workers, while there is one.
_POOL: tuple[ProcessPoolExecutor, int] | None = None


def start_pool(workers: int) -> None:
    """Start the build pool (ending one left by an earlier build): its workers are forked at its first batch, with
    the parent's memory as it is then."""
    global _POOL
    end_pool()
    _POOL = (_executor(max(1, workers)), max(1, workers))


def end_pool(wait: bool = True) -> None:
    """End the build pool, if there is one; the chunks not begun are dropped (those under way end by themselves:
    each writes whole files)."""
    global _POOL
    if _POOL is not None:
        pool, _POOL = _POOL[0], None
        pool.shutdown(wait=wait, cancel_futures=True)


def pool_map(function: Callable, jobs: list, workers: int, chunks_per_worker: int = 8) -> Iterator:
    """``function`` over ``jobs`` in worker processes (the build pool's, when there is one), results in the order of
    ``jobs`` as they come.

    Workers are forked where the system can (they start in milliseconds with the modules and caches already in
    memory; spawn costs about a second of imports each), and ``function`` must be a module-level function. About
    eight chunks per worker: few round trips, and the last chunk is short enough that no worker idles long at the
    end. Logging resets its locks after a fork, so threads in the parent (a test server) are no danger to workers
    that only compute and write files.
    """
    if _POOL is not None:
        pool, size = _POOL
        yield from pool.map(function, jobs, chunksize=_chunksize(len(jobs), size, chunks_per_worker))
        return
    workers = max(1, min(workers, len(jobs)))
    with _executor(workers) as pool:
        yield from pool.map(function, jobs, chunksize=_chunksize(len(jobs), workers, chunks_per_worker))


def _executor(workers: int) -> ProcessPoolExecutor:
    method = "fork" if can_fork() else "spawn"
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method))


def _chunksize(jobs: int, workers: int, chunks_per_worker: int = 8) -> int:
    return max(1, jobs // (workers * chunks_per_worker))


class Background:
    """``function`` over ``jobs`` on the build pool's workers (started now if there is none), started now while the
    build goes on with other work; ``wait`` returns the results (and raises the first failure). For jobs whose only
    effect is a file in a cache keyed by their inputs, so a build that starts them early can plan again at the point
    it needs the files and make whatever is still missing: starting early is a head start, never a different result.
    Batches run in the order they were started."""

    def __init__(self, function: Callable, jobs: list, workers: int) -> None:
        if _POOL is None:
            start_pool(workers)
        try:
            self._results = self._submit(function, jobs)
        except BrokenProcessPool:  # a worker of an earlier batch died: a new pool, rather than no cards
            start_pool(workers)
            self._results = self._submit(function, jobs)

    @staticmethod
    def _submit(function: Callable, jobs: list) -> Iterator:
        pool, size = _POOL
        # map submits every chunk now; its iterator only collects.
        return pool.map(function, jobs, chunksize=_chunksize(len(jobs), size))

    def wait(self) -> list:
        """The results, in the order of the jobs."""
        return list(self._results)


def map_all(function: Callable, jobs: Iterable, workers: int) -> list:
    """``function`` over ``jobs``, results in order: in a pool when there are more workers than one (the build
    pool's, queued behind what it is doing, when there is one)."""
    jobs = list(jobs)
    if workers > 1 and len(jobs) > 1 and _POOL is not None:
        return Background(function, jobs, workers).wait()
    if workers > 1 and len(jobs) > 1:
        return list(pool_map(function, jobs, workers))
    return [function(job) for job in jobs]


def run_all(function: Callable, jobs: Iterable, workers: int) -> None:
    """``function`` over ``jobs`` for their effects (``map_all``)."""
    map_all(function, jobs, workers)


def release_free_memory() -> None:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim``; elsewhere nothing).

    Taking in a pool's results frees many large temporary blocks (pickled chunks) between the ones kept, and the
    heap keeps those pages; a forked child would also count them again. Measured at 10,000 articles: about 30 MB
    after reading on every core, and 60 MB of the parent and pre-rendering child together."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass
