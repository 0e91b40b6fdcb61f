"""Compile the numba kernel in the background once, blending in NumPy meanwhile.

After a fresh install numba has no compiled kernel on disk, and compiling it
takes 13-15 s on a 2-core machine: the first large overlay used to wait for
that. :func:`kernel_ready` says whether the kernel can run now (compiled in
this process, or in numba's cache on disk, which loads in a fraction of a
second). If not, it starts compiling the kernel for the call's exact argument
types in a background thread (an empty band: nothing is written) and the
call blends with the NumPy formulas, whose pixels are identical. Later calls
use the kernel once it is ready.

The compilation is finished, not abandoned, before the process forks (a
child would otherwise inherit numba's compiler lock held by a thread it does
not have) and before it exits (so that the next process finds the kernel in
the cache); only the first process after an install waits for it there.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from typing import Any

_thread: threading.Thread | None = None
_lock = threading.Lock()


def kernel_ready(kernel: Any, args: tuple) -> bool:
    """Whether `kernel` can run `args` without compiling first.

    If it cannot, its compilation for `args`' types starts in the background
    (once per process) and False is returned.

    Parameters
    ----------
    kernel : numba dispatcher
        The ``cache=True`` kernel, called as ``kernel(*args, start, stop)``.
    args : tuple
        The call's arguments (their types decide the compiled signature).
    """
    global _thread
    if kernel.signatures or _cached_on_disk(kernel):
        return True
    with _lock:
        if _thread is None:
            _thread = threading.Thread(
                target=_compile,
                args=(kernel, args),
                name="heatoverlay-kernel-compile",
                daemon=True,
            )
            _thread.start()
            atexit.register(finish)
    return False


def finish() -> None:
    """Wait for a background compilation to end (at exit, and before a fork)."""
    thread = _thread
    if thread is not None and thread.is_alive():
        with contextlib.suppress(KeyboardInterrupt):
            thread.join()


def _compile(kernel: Any, args: tuple) -> None:
    with contextlib.suppress(Exception):  # the caller falls back to NumPy anyway
        kernel(*args, 0, 0)


def _cached_on_disk(kernel: Any) -> bool:
    """Whether numba's cache index for `kernel` exists (it loads fast then).

    Unknown (numba's cache internals changed) counts as cached: the call then
    compiles in the foreground, as numba itself would.
    """
    try:
        return os.path.exists(kernel._cache._cache_file._index_path)
    except AttributeError:
        return True


os.register_at_fork(before=finish)
