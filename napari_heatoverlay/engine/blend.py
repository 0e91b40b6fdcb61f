"""Blend one 2-D slice (or a rectangle of it): resampling plan + blend pass.

A heat slice is prepared once (:func:`prepare_heat`: normalise, fill the
heat-less pixels, run the prefilters); every rectangle of the image then only
resamples the few heat rows and the columns it needs, and :func:`blend` runs
the pass over the rows: in NumPy for small work (no compilation to wait
for), with the numba kernel split into row bands on a few threads otherwise.
Both give the same pixels.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_heatoverlay.engine import formulas
from napari_heatoverlay.engine.normalize import Window
from napari_heatoverlay.engine.options import Mode
from napari_heatoverlay.engine.resample import AxisPlan, apply_taps

#: Outputs with fewer pixels than this blend in NumPy unless the kernel is
#: already compiled: about 40 ms of NumPy, against about a second to import
#: numba and load (or compile) the kernel.
JIT_PIXELS = 2**21
_MODE_CODE = {mode: code for code, mode in enumerate(Mode)}
#: Modes the numba kernel computes (all); a per-pixel alpha map uses NumPy.
_KERNEL_MODES = tuple(Mode)
_THREADS = max(1, min(os.cpu_count() or 1, 8))
#: Rows per band at least; else about 8 bands per thread, taken first come
#: first served, so a thread the machine slows down holds up little.
_ROWS_PER_TASK = 64
_BANDS_PER_THREAD = 8
_POOL: ThreadPoolExecutor | None = None


@dataclass(frozen=True)
class BlendOptions:
    """Validated options shared by every slice of one ``overlay`` call."""

    mode: Mode
    alpha: float | PreparedHeat
    lut: np.ndarray
    threshold: float | None
    order: int


@dataclass(frozen=True)
class PreparedHeat:
    """A heat slice ready to be resampled onto a grid of ``full_shape``."""

    coefficients: np.ndarray  # normalised, NaN filled, prefiltered
    invalid: np.ndarray | None  # True where the heat slice had no finite value
    clip: tuple[float, float]  # range of the finite normalised values
    rows: AxisPlan
    cols: AxisPlan


def prepare_heat(
    heat: np.ndarray, window: Window, full_shape: tuple[int, int], order: int
) -> PreparedHeat:
    """Normalise a 2-D heat slice and prefilter it for ``full_shape``.

    An axis reduced by a large factor is resampled here, at once, by a matrix
    (see :meth:`AxisPlan.matrix`); its plan then becomes the identity.
    """
    n = window.apply(heat)
    finite = np.isfinite(n)
    rows = AxisPlan(n.shape[0], full_shape[0], order)
    cols = AxisPlan(n.shape[1], full_shape[1], order)
    if finite.all():
        invalid, filled = None, n
        clip = (float(n.min()), float(n.max()))
    else:
        invalid, filled = ~finite, np.where(finite, n, 0.0)
        clip = (
            (float(n[finite].min()), float(n[finite].max())) if finite.any() else (0, 1)
        )
    if window.clip is not None:
        clip = window.clip
    if rows.direct:
        filled = rows.reduce(filled, 0)
        invalid = None if invalid is None else invalid[rows.nearest()]
        rows = AxisPlan(rows.size_out, rows.size_out, order)
    if cols.direct:
        filled = cols.reduce(filled, 1)
        invalid = None if invalid is None else invalid[:, cols.nearest()]
        cols = AxisPlan(cols.size_out, cols.size_out, order)
    coefficients = cols.prefilter(rows.prefilter(filled, 0), 1)
    return PreparedHeat(coefficients, invalid, clip, rows, cols)


def blend_region(
    image: np.ndarray,
    heat: PreparedHeat,
    options: BlendOptions,
    image_range: tuple[float, float],
    region: tuple[int, int, int, int] | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Blend prepared heat onto ``image`` for one rectangle of the full grid.

    Parameters
    ----------
    image : ndarray, shape (y1 - y0, x1 - x0, C)
        The image pixels of the rectangle, C in {1, 3}.
    region : (y0, y1, x0, x1), optional
        The rectangle of the full grid that ``image`` holds; all of it if None.
    """
    y0, y1, x0, x1 = region or (0, heat.rows.size_out, 0, heat.cols.size_out)
    if out is None:
        out = np.empty((y1 - y0, x1 - x0, 3), dtype=np.uint8)
    row_taps = heat.rows.taps(y0, y1)
    first, stop = row_taps.source_rows
    rows_x = apply_taps(heat.coefficients[first:stop], heat.cols.taps(x0, x1), 1)
    invalid = None
    if heat.invalid is not None:
        nearest_y = heat.rows.nearest(y0, y1)
        top = int(nearest_y.min())
        bottom = int(nearest_y.max()) + 1
        columns = heat.cols.nearest(x0, x1)
        invalid_x = np.ascontiguousarray(heat.invalid[top:bottom][:, columns])
        invalid = (invalid_x, nearest_y - top)
    shifted = row_taps.shifted(first)
    alpha = options.alpha
    if isinstance(alpha, PreparedHeat):
        alpha = resampled_region(alpha, (y0, y1, x0, x1))
    return blend(
        image,
        image_range,
        np.ascontiguousarray(rows_x),
        shifted.index,
        shifted.weight,
        heat.clip,
        invalid,
        options.lut,
        options.mode,
        alpha,
        options.threshold,
        out,
    )


def resampled_region(
    heat: PreparedHeat, region: tuple[int, int, int, int]
) -> np.ndarray:
    """The prepared map resampled onto one rectangle of the grid, float32 in
    its clip range (a per-pixel alpha map: values stay in [0, 1])."""
    y0, y1, x0, x1 = region
    row_taps = heat.rows.taps(y0, y1)
    first, _ = row_taps.source_rows
    rows_x = apply_taps(heat.coefficients[first:], heat.cols.taps(x0, x1), 1)
    values = apply_taps(rows_x, row_taps.shifted(first), 0)
    return np.clip(values, *heat.clip).astype(np.float32)


def use_kernel(pixels: int) -> bool:
    """Whether to blend `pixels` output pixels with the numba kernel.

    ``HEATOVERLAY_JIT=0`` or ``1`` forces the choice (for tests and benchmarks).
    """
    forced = os.environ.get("HEATOVERLAY_JIT")
    if forced in ("0", "1"):
        return forced == "1"
    return pixels >= JIT_PIXELS or "napari_heatoverlay.engine.kernels" in sys.modules


def blend(
    image: np.ndarray,
    image_range: tuple[float, float],
    rows_x: np.ndarray,
    y_index: np.ndarray,
    y_weight: np.ndarray,
    clip: tuple[float, float],
    invalid: tuple[np.ndarray, np.ndarray] | None,
    lut: np.ndarray,
    mode: str,
    alpha: float,
    threshold: float | None,
    out: np.ndarray,
) -> np.ndarray:
    """Blend one 2-D slice into ``out`` (shape (Y, X, 3), uint8).

    ``image`` is (Y, X, C) with C in {1, 3}; ``image_range`` maps its values
    to 0..255. ``rows_x`` is the heat already resampled along X; ``y_index``
    and ``y_weight`` combine its rows into each output row. ``invalid`` is a
    pair (``invalid_x`` rows, nearest row per output row) marking pixels with
    no heat, or None.
    """
    arguments = (image, image_range, rows_x, y_index, y_weight, clip, invalid, lut)
    numpy_only = isinstance(alpha, np.ndarray) or Mode(mode) not in _KERNEL_MODES
    if numpy_only or not use_kernel(out.shape[0] * out.shape[1]):
        return formulas.blend(*arguments, mode, alpha, threshold, out)
    from napari_heatoverlay.engine import kernels, warmup

    table, lo, scale = formulas.image_table(image_range)
    if image.dtype != np.uint8:
        table = None
    if image.shape[2] == 1:
        image = np.broadcast_to(image, (*image.shape[:2], 3))
    if invalid is None:
        invalid_x = np.zeros((1, 1), dtype=np.bool_)
        y_nearest = np.zeros(1, dtype=np.intp)
    else:
        invalid_x, y_nearest = invalid
    cut = -1.0 if threshold is None else float(threshold)
    # the kernel writes rows of contiguous bytes: a strided out gets a copy
    target = out if out.flags.c_contiguous else np.empty(out.shape, np.uint8)
    args = (
        image,
        table,
        lo,
        scale,
        rows_x,
        y_index,
        y_weight,
        np.float32(clip[0]),
        np.float32(clip[1]),
        invalid_x,
        y_nearest,
        invalid is not None,
        lut,
        _MODE_CODE[Mode(mode)],
        float(alpha),
        np.float32(cut),
        target,
    )
    forced = os.environ.get("HEATOVERLAY_JIT") == "1"
    if not forced and not warmup.kernel_ready(kernels.blend_rows, args):
        # a fresh install: the kernel compiles in the background meanwhile
        return formulas.blend(*arguments, mode, alpha, threshold, out)
    height = out.shape[0]
    step = max(_ROWS_PER_TASK, -(-height // (_BANDS_PER_THREAD * _THREADS)))
    bands = [(start, min(start + step, height)) for start in range(0, height, step)]
    _run_bands(kernels.blend_rows, args, bands)
    if target is not out:
        np.copyto(out, target)
    return out


def _run_bands(kernel: Any, args: tuple, bands: list[tuple[int, int]]) -> None:
    """``kernel(*args, start, stop)`` for every band, on this thread and the pool.

    The calling thread works through the bands too (no hand-off to wait for),
    and pool threads take bands from the same iterator as they get to run. A
    helper still queued when the bands are gone (behind another call's work)
    is cancelled, not waited for.
    """
    remaining = iter(bands)  # next() holds the GIL: each band goes to one thread

    def work() -> None:
        for start, stop in remaining:
            kernel(*args, start, stop)

    helpers = [_pool().submit(work) for _ in range(min(_THREADS, len(bands)) - 1)]
    try:
        work()
    finally:
        for helper in helpers:
            if not helper.cancel():
                helper.result()


def _pool() -> ThreadPoolExecutor:
    """The helper threads; the thread that calls :func:`blend` is the last one."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(_THREADS - 1, thread_name_prefix="heatoverlay")
    return _POOL


def _forget_pool() -> None:
    """A forked child has none of the parent's threads: start a pool afresh."""
    global _POOL
    _POOL = None


os.register_at_fork(after_in_child=_forget_pool)
