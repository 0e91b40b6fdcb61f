"""Turn any colormap a user may hold into a lookup table.

The table reproduces matplotlib exactly: for an N-entry map, ``n`` in [0, 1]
takes entry ``min(floor(n * N), N - 1)``. Importing matplotlib takes longer
than a whole small overlay, so the tables of matplotlib's built-in colormaps
are kept in the user cache folder (per matplotlib version) once made, and
later processes load them without importing matplotlib.
"""

from __future__ import annotations

import importlib.metadata
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from napari_heatoverlay.engine.cache import cache_folder


def colormap_lut(colormap: Any) -> np.ndarray:
    """Return an ``(N, 3)`` float32 table of RGB in 0..255 for ``colormap``.

    Parameters
    ----------
    colormap : str, matplotlib Colormap, napari Colormap or array_like
        A matplotlib colormap name (``"jet"``, ``"viridis_r"`` ...), a
        matplotlib ``Colormap``, a napari ``Colormap`` (anything with a
        ``map(values)`` method returning RGBA), or an ``(N, 3|4)`` array of
        colours in [0, 1] (floats) or 0..255 (integers).
    """
    if isinstance(colormap, str):
        return _named_lut(colormap)
    if _is_matplotlib_colormap(colormap):
        return _matplotlib_lut(colormap)
    if callable(getattr(colormap, "map", None)) and hasattr(colormap, "colors"):
        rgba = np.asarray(colormap.map(np.linspace(0.0, 1.0, 256)), dtype=np.float64)
        return _checked_table(rgba * 255.0, "napari Colormap")
    if isinstance(colormap, np.ndarray | list | tuple):
        return _array_lut(colormap)
    raise TypeError(
        "colormap must be a matplotlib colormap name, a matplotlib or napari "
        f"Colormap, or an (N, 3|4) array of colours; got {type(colormap).__name__}"
    )


@lru_cache(maxsize=64)
def _named_lut(name: str) -> np.ndarray:
    cached = _cached_table(name)
    if cached is not None:
        return cached
    import matplotlib

    try:
        cmap = matplotlib.colormaps[name]
    except KeyError:
        names = sorted(n for n in matplotlib.colormaps if not n.endswith("_r"))
        raise ValueError(
            f"unknown colormap {name!r}; use a matplotlib colormap name "
            f"(any of these, or with '_r' to reverse): {', '.join(names)}"
        ) from None
    table = _matplotlib_lut(cmap)
    if name in getattr(matplotlib.colormaps, "_builtin_cmaps", ()):
        _store_table(name, table)
    table.setflags(write=False)
    return table


def _table_path(name: str) -> Path | None:
    """Where the table of built-in colormap `name` is cached, if anywhere."""
    if not name.replace("_", "").isalnum():
        return None
    try:
        version = importlib.metadata.version("matplotlib")
    except importlib.metadata.PackageNotFoundError:
        return None
    folder = cache_folder("colormaps", f"matplotlib-{version}")
    return None if folder is None else folder / f"{name}.npy"


def _cached_table(name: str) -> np.ndarray | None:
    path = _table_path(name)
    if path is None or not path.is_file():
        return None
    try:
        table = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if table.dtype != np.float32 or table.ndim != 2 or table.shape[1] != 3:
        return None
    table.setflags(write=False)
    return table


def _store_table(name: str, table: np.ndarray) -> None:
    path = _table_path(name)
    if path is None:
        return
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.part.npy")
    try:
        np.save(temporary, table)
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)


def _is_matplotlib_colormap(obj: Any) -> bool:
    module = type(obj).__module__ or ""
    return module.startswith("matplotlib") and hasattr(obj, "N")


def _matplotlib_lut(cmap: Any) -> np.ndarray:
    rgba = np.asarray(cmap(np.arange(cmap.N)), dtype=np.float64)
    return _checked_table(rgba * 255.0, f"matplotlib colormap {cmap.name!r}")


def _array_lut(colors: Any) -> np.ndarray:
    table = np.asarray(colors)
    if table.ndim != 2 or table.shape[1] not in (3, 4) or table.shape[0] < 1:
        raise ValueError(
            "a colormap array must have shape (N, 3) or (N, 4) with N >= 1, "
            f"got shape {table.shape}"
        )
    if table.dtype.kind in "iu":
        scaled = table.astype(np.float64)
        if scaled.min() < 0 or scaled.max() > 255:
            raise ValueError("an integer colormap array must hold values in 0..255")
    elif table.dtype.kind == "f":
        if not np.all(np.isfinite(table)) or table.min() < 0 or table.max() > 1:
            raise ValueError("a float colormap array must hold values in [0, 1]")
        scaled = table.astype(np.float64) * 255.0
    else:
        raise TypeError(f"a colormap array must be numeric, got dtype {table.dtype}")
    return _checked_table(scaled, "colormap array")


def _checked_table(rgba255: np.ndarray, what: str) -> np.ndarray:
    if rgba255.ndim != 2 or rgba255.shape[1] < 3:
        raise ValueError(f"{what} did not give an (N, 3|4) colour table")
    return np.ascontiguousarray(rgba255[:, :3], dtype=np.float32)


def lookup(n: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Return ``table`` rows for normalised values ``n`` (NaN takes row 0)."""
    size = table.shape[0]
    index = np.nan_to_num(np.asarray(n, dtype=np.float64) * size, nan=0.0)
    index = np.clip(index, 0, size - 1).astype(np.intp)
    return table[index]
