"""The cyclic garbage collector during a build.

A build's model (every article, its metadata, terms and links) lives until the build ends, and Python's collector
walks every live object again at each full collection: a 10,000-article rebuild made thirteen of them, about two
seconds, most while the articles were being made (the heap grows by a quarter between collections). So the
collector is off while the articles generator makes the articles (``pause_while_reading``: that makes few reference
cycles), and what it made is then moved out of the collector's reach (``freeze_what_was_read``, ``gc.freeze``):
later collections walk only what the later steps make. The pre-rendering child (incremental) freezes again before
its fork, for the same reason.

Frozen objects are still freed when no longer referenced; only reference cycles among them wait. ``release`` (the
end of ``content_model.build``, and the start of the next build in a long-lived process) hands them back. A process
that ends with its build (the command line, ``build(..., process_ends=True)``) does not: ``leave_for_exit`` freezes
what is left, so the interpreter's last collection at exit does not walk the model once more only to free it (over a
second at 10,000 articles); the operating system takes the memory back.
"""

from __future__ import annotations

import gc

# Whether this module turned the collector off (and so must turn it on again).
_PAUSED = [False]


def pause_while_reading() -> None:
    release()  # a long-lived process's last build, if it was not released
    if gc.isenabled():
        gc.disable()
        _PAUSED[0] = True


def freeze_what_was_read() -> None:
    gc.freeze()
    _resume()


def release() -> None:
    _resume()
    gc.unfreeze()


def _resume() -> None:
    if _PAUSED[0]:
        gc.enable()
        _PAUSED[0] = False


def leave_for_exit() -> None:
    _resume()
    gc.freeze()
