"""The search plugin's early run (``search.start_early_index``), in a process of its own.

Reads the job (the JSON file named by its argument: the plugin's settings, the search cache and output folders,
the article pages written so far), runs Pagefind, one unit at a time, for every unit of those pages whose bundle is
not cached, and prints the names of the units it ran (JSON). SIGUSR1 stops it from starting another: the build's
own run takes over. It saves ``indexed_pages``'s answers for that run.

It first waits for the build's busy helpers (the job's ``wait_for``: the pre-rendering child) to end: the child,
the writing process and Pagefind at once would hold the memory of three builds. It waits before it imports the
search plugin or reads a page (about 28 MB, and 20 MB more once the pages are planned), as a bare interpreter
beside the child: it is run as a script (``search.EARLY_COMMAND``), since ``python -m search.early`` would import
the plugin's package first.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import threading
from pathlib import Path

# How often the run looks again whether it was stopped while it waits (seconds).
POLL = 0.05


def wait_for(helpers: list[int], stop: threading.Event) -> bool:
    """Wait until every process in ``helpers`` has ended (a zombie not yet reaped has), or ``stop`` is set: False
    then. A pidfd is readable once its process has ended; where there is none, ``/proc`` is asked."""
    handles = []
    try:
        for pid in helpers:
            try:
                handles.append(os.pidfd_open(pid))
            except ProcessLookupError:
                continue  # ended and reaped
        poller = select.poll()
        for handle in handles:
            poller.register(handle, select.POLLIN)
        left = len(handles)
        while left and not stop.is_set():
            for handle, _event in poller.poll(int(POLL * 1000)):
                poller.unregister(handle)
                left -= 1
    except (AttributeError, OSError):  # no pidfd here (another system, an old kernel)
        from content_model.workers import process_ended

        while helpers and not stop.is_set():
            helpers = [pid for pid in helpers if not process_ended(pid)]
            if helpers:
                stop.wait(POLL)
    finally:
        for handle in handles:
            os.close(handle)
    return not stop.is_set()


def main() -> int:
    if sys.path and os.path.realpath(sys.path[0]) == os.path.dirname(os.path.realpath(__file__)):
        del sys.path[0]  # run as a script: the plugin's modules are imported from its package, not as top-level ones
    stop = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: stop.set())
    job = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    if not wait_for([int(pid) for pid in job.get("wait_for", [])], stop):
        json.dump([], sys.stdout)
        return 0
    from search import make_units

    planned = make_units(job["options"], Path(job["cache"]), Path(job["output"]), only=job["pages"], stop=stop)
    json.dump([unit.name for unit in planned[3]] if planned else [], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
