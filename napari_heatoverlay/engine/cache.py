"""A per-user cache folder for things that are slow to make and cheap to load.

``HEATOVERLAY_CACHE_DIR`` chooses the folder; otherwise it is
``$XDG_CACHE_HOME/napari-heatoverlay`` (``~/.cache/napari-heatoverlay``), or
``%LOCALAPPDATA%\\napari-heatoverlay`` on Windows. Nothing breaks when it is
not writable: callers then simply recompute.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def cache_folder(*parts: str) -> Path | None:
    """The cache folder `parts` below the root, created; None if not writable.

    Examples
    --------
    >>> folder = cache_folder("doctest")
    >>> folder is None or folder.is_dir()
    True
    """
    folder = _root().joinpath(*parts)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return None
    return folder


def _root() -> Path:
    chosen = os.environ.get("HEATOVERLAY_CACHE_DIR")
    if chosen:
        return Path(chosen)
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "napari-heatoverlay"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache"
    )
    return Path(base) / "napari-heatoverlay"
