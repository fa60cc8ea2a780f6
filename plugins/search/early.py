"""The search plugin's early run (``search.start_early_index``), in a process of its own.

Reads the job (the JSON file named by its argument: the plugin's settings, the search cache and output folders,
the article pages written so far), runs Pagefind, one unit at a time, for every unit of those pages whose bundle is
not cached, and prints the names of the units it ran (JSON). SIGUSR1 stops it from starting another: the build's
own run takes over. It saves ``indexed_pages``'s answers for that run. Pagefind waits for the build's busy helpers
(the job's ``wait_for``: the pre-rendering child) to end: both at once would hold the memory of three builds.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

from content_model.workers import process_ended
from search import make_units

# How often the run looks again whether the helpers it waits for have ended (seconds).
POLL = 0.05


def main() -> int:
    stop = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: stop.set())
    job = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    helpers = [int(pid) for pid in job.get("wait_for", [])]

    def ready() -> bool:
        while helpers and not stop.is_set():
            helpers[:] = [pid for pid in helpers if not process_ended(pid)]
            if helpers:
                stop.wait(POLL)
        return not stop.is_set()

    planned = make_units(job["options"], Path(job["cache"]), Path(job["output"]), only=job["pages"], stop=stop,
                         ready=ready)
    json.dump([unit.name for unit in planned[3]] if planned else [], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
