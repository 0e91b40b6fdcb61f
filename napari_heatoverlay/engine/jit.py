"""numba's ``njit``, with a compiled-code cache that survives a read-only install.

numba caches compiled code beside the source file, or else in the user's
cache folder. When neither is writable (a read-only site-packages and a
read-only or missing home, as in many containers), ``cache=True`` fails at
import with "cannot cache function ...: no locator available". This module
then points numba at a private folder in the temporary directory, and, if
even that is not writable, compiles without a cache.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

import numba

#: Where compiled kernels go when neither the package nor the user cache is writable.
FALLBACK_CACHE = os.path.join(
    tempfile.gettempdir(),
    f"napari-heatoverlay-numba-{os.getuid() if hasattr(os, 'getuid') else 'user'}",
)


def njit(**options: Any) -> Callable[[Callable], Callable]:
    """``numba.njit(**options)``, falling back as the module docstring says."""

    def decorate(function: Callable) -> Callable:
        try:
            return numba.njit(**options)(function)
        except RuntimeError as error:
            if not options.get("cache") or "cannot cache" not in str(error):
                raise
        if not numba.config.CACHE_DIR and _writable(FALLBACK_CACHE):
            numba.config.CACHE_DIR = FALLBACK_CACHE
            try:
                return numba.njit(**options)(function)
            except RuntimeError:
                pass
        return numba.njit(**{**options, "cache": False})(function)

    return decorate


def _writable(folder: str) -> bool:
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False
