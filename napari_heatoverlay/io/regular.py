"""Refuse any path that is not a regular file, without ever blocking on it.

A FIFO named ``x.npy`` blocks the first ``open`` until a writer appears, and
``/dev/zero`` or ``/dev/urandom`` behind a symlink never ends; readers would
hang on either. :func:`check_regular_file` looks with ``os.stat`` first, and
then confirms on a descriptor opened with ``O_NONBLOCK``, so that a path
swapped in between cannot block us either.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from napari_heatoverlay.io.refusal import Refusal

__all__ = ["check_regular_file"]

_CHECK_PATH = "Check the path and pass a single file"
_USE_A_FILE = "Pass a regular file: save or copy the data to a file first"
# O_NONBLOCK: opening a FIFO returns at once; O_NOCTTY: a terminal path cannot
# become our controlling terminal. Neither exists on Windows.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def check_regular_file(path: str | os.PathLike) -> os.stat_result:
    """Make sure `path` is a regular file (or a symlink to one) we may read.

    Nothing is read, and a FIFO or device is never opened in blocking mode:
    the path is checked with :func:`os.stat`, then opened with ``O_NONBLOCK``
    and checked again with :func:`os.fstat`.

    Parameters
    ----------
    path : str or os.PathLike
        The path to check.

    Returns
    -------
    os.stat_result
        The status of the file (symlinks followed).

    Raises
    ------
    Refusal
        If the path is missing, a broken symlink, a folder, a FIFO, a device,
        a socket, or cannot be opened; the message says which and what to do.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> check_regular_file(folder)
    Traceback (most recent call last):
    ...
    napari_heatoverlay.io.refusal.Refusal: it is a folder. Check the path and pass a single file.
    >>> path = os.path.join(folder, "heat.npy")
    >>> open(path, "wb").close()
    >>> check_regular_file(path).st_size
    0
    """
    source = Path(path)
    try:
        status = os.stat(source)
    except FileNotFoundError:
        raise Refusal(_missing(source), _CHECK_PATH) from None
    except OSError as error:
        raise _unopenable(error) from error
    _refuse_irregular(source, status.st_mode)
    try:
        descriptor = os.open(source, _OPEN_FLAGS)
    except FileNotFoundError:
        raise Refusal(_missing(source), _CHECK_PATH) from None
    except OSError as error:
        raise _unopenable(error) from error
    try:
        status = os.fstat(descriptor)
    finally:
        os.close(descriptor)
    _refuse_irregular(source, status.st_mode)
    return status


def _missing(source: Path) -> str:
    if source.is_symlink():
        return f"it is a broken symbolic link to {os.readlink(source)}"
    return "no such file"


def _unopenable(error: OSError) -> Refusal:
    return Refusal(
        f"it cannot be opened ({error.strerror or error})",
        "Check that you are allowed to read it",
    )


def _refuse_irregular(source: Path, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    remedy = _CHECK_PATH if stat.S_ISDIR(mode) else _USE_A_FILE
    if source.is_symlink():
        raise Refusal(
            f"it is a symbolic link to {os.readlink(source)}, which is {kind}", remedy
        )
    raise Refusal(f"it is {kind}", remedy)
