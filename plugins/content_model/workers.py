"""Process pools for the build's CPU-bound batches (reading articles, drawing share cards, making QR codes).

One place decides how many cores a build may use (``usable_cores``: the CPU affinity, which a container or
``taskset`` may narrow, not the machine's count) and how jobs are spread over them (``pool_map``).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor


def usable_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def can_fork() -> bool:
    """Whether workers can be forked (they then share the parent's memory: its modules, caches and data)."""
    return "fork" in multiprocessing.get_all_start_methods()


def pool_map(function: Callable, jobs: list, workers: int, chunks_per_worker: int = 8) -> Iterator:
    """``function`` over ``jobs`` in worker processes, results in the order of ``jobs`` as they come.

    Workers are forked where the system can (they start in milliseconds with the modules and caches already in
    memory; spawn costs about a second of imports each), and ``function`` must be a module-level function. About
    eight chunks per worker: few round trips, and the last chunk is short enough that no worker idles long at the
    end. Logging resets its locks after a fork, so threads in the parent (a test server) are no danger to workers
    that only compute and write files.
    """
    workers = max(1, min(workers, len(jobs)))
    with _executor(workers) as pool:
        yield from pool.map(function, jobs, chunksize=_chunksize(len(jobs), workers, chunks_per_worker))


def _executor(workers: int) -> ProcessPoolExecutor:
    method = "fork" if can_fork() else "spawn"
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method))


def _chunksize(jobs: int, workers: int, chunks_per_worker: int = 8) -> int:
    return max(1, jobs // (workers * chunks_per_worker))


class Background:
    """``function`` over ``jobs`` in worker processes (as ``pool_map``), started now while the build goes on with
    other work; ``wait`` returns the results (and raises the first failure). For jobs whose only effect is a file
    in a cache keyed by their inputs, so a build that starts them early can plan again at the point it needs the
    files and make whatever is still missing: starting early is a head start, never a different result.

    Every batch started in a build goes to one pool (the first batch's ``workers``), in the order started: forked
    workers each count the parent's pages again in the process tree's resident memory, so two batches with a pool
    each would double that for no more cores. The pool ends when the last batch is taken in."""

    def __init__(self, function: Callable, jobs: list, workers: int) -> None:
        global _POOL
        if _POOL is None:
            _POOL = (_executor(max(1, workers)), max(1, workers))
        pool, size = _POOL
        # map submits every chunk now; its iterator only collects.
        self._results = pool.map(function, jobs, chunksize=_chunksize(len(jobs), size))
        _STARTED.add(self)

    def wait(self) -> list:
        """The results, in the order of the jobs."""
        try:
            return list(self._results)
        finally:
            _STARTED.discard(self)
            if not _STARTED:
                _end_pool(wait=True)


_POOL: tuple[ProcessPoolExecutor, int] | None = None
_STARTED: set[Background] = set()


def _end_pool(wait: bool) -> None:
    global _POOL
    if _POOL is not None:
        pool, _POOL = _POOL[0], None
        pool.shutdown(wait=wait, cancel_futures=True)


def stop_background() -> None:
    """Stop whatever a build started and never waited for (it stopped at an error in between): the chunks not begun
    are dropped; the ones under way end by themselves (each writes whole files)."""
    _STARTED.clear()
    _end_pool(wait=False)


def map_all(function: Callable, jobs: Iterable, workers: int) -> list:
    """``function`` over ``jobs``, results in order: in a pool when there are more workers than one. While a batch
    started in the background runs, on its workers (queued behind it) rather than on more forked ones."""
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
