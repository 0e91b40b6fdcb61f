"""The fused blend pass, compiled with numba.

One pass per output row: combine the row's heat from the column-resampled
map (the row taps), look the colour up, blend it with the image row and write
uint8. Nothing of full size is allocated but the output. The kernel releases
the GIL; :func:`blend` splits the rows over a few threads.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

MODES = ("alpha", "gray", "multiply", "scaled", "additive")
_MODE_CODE = {name: code for code, name in enumerate(MODES)}

_THREADS = max(1, min(os.cpu_count() or 1, 8))
_POOL: ThreadPoolExecutor | None = None
_ROWS_PER_TASK = 64


@njit(nogil=True, cache=True, inline="always")
def _pixel(image, y, x, c, table, image_lo, image_scale):
    """Image value at (y, x, c) as 0..255: a table for uint8, else a scale."""
    if table is not None:
        return table[image[y, x, c]]
    value = (image[y, x, c] - image_lo) * image_scale
    return np.float32(min(max(value, 0.0), 255.0))


@njit(nogil=True, cache=True)
def _blend_rows(  # a flat signature keeps numba's typing simple
    image,
    image_table,
    image_lo,
    image_scale,
    rows_x,
    y_index,
    y_weight,
    clip_lo,
    clip_hi,
    invalid_x,
    y_nearest,
    has_invalid,
    lut,
    mode,
    alpha,
    threshold,
    out,
    y_start,
    y_stop,
):
    width = out.shape[1]
    lut_size = lut.shape[0]
    keep = np.float32(1.0 - alpha)
    a = np.float32(alpha)
    heat_lut = lut * a + np.float32(0.5)
    heat = np.empty(width, dtype=np.float32)
    colour = np.empty(width, dtype=np.int32)
    for y in range(y_start, y_stop):
        # 1. this row's heat: combine rows of the column-resampled map
        row, weight = y_index[y, 0], y_weight[y, 0]
        for x in range(width):
            heat[x] = weight * rows_x[row, x]
        for k in range(1, y_index.shape[1]):
            row, weight = y_index[y, k], y_weight[y, k]
            for x in range(width):
                heat[x] += weight * rows_x[row, x]
        # 2. colour index, or -1 where the image shows through
        for x in range(width):
            n = min(max(heat[x], clip_lo), clip_hi)
            heat[x] = n
            colour[x] = min(np.int32(n * lut_size), lut_size - 1)
            if n < threshold:
                colour[x] = -1
        if has_invalid:
            for x in range(width):
                if invalid_x[y_nearest[y], x]:
                    colour[x] = -1
        # 3. blend, one loop per mode so the branch stays out of the pixels
        if mode == 0:
            _alpha_row(
                image,
                y,
                image_table,
                image_lo,
                image_scale,
                colour,
                keep,
                heat_lut,
                out,
            )
        else:
            _formula_row(
                image,
                y,
                image_table,
                image_lo,
                image_scale,
                colour,
                heat,
                mode,
                a,
                lut,
                out,
            )


@njit(nogil=True, cache=True)
def _alpha_row(image, y, table, image_lo, image_scale, colour, keep, heat_lut, out):
    """Mode "alpha": (1 - a) * img + a * c, the common case, kept tight."""
    for x in range(out.shape[1]):
        index = colour[x]
        if index < 0:
            for c in range(3):
                img = _pixel(image, y, x, c, table, image_lo, image_scale)
                out[y, x, c] = np.uint8(img + np.float32(0.5))
        else:
            for c in range(3):
                img = _pixel(image, y, x, c, table, image_lo, image_scale)
                out[y, x, c] = np.uint8(keep * img + heat_lut[index, c])


@njit(nogil=True, cache=True)
def _formula_row(
    image, y, table, image_lo, image_scale, colour, heat, mode, a, lut, out
):
    """Modes "gray", "multiply", "scaled" and "additive" for one row."""
    for x in range(out.shape[1]):
        index = colour[x]
        n = heat[x]
        if index < 0:
            for c in range(3):
                img = _pixel(image, y, x, c, table, image_lo, image_scale)
                out[y, x, c] = np.uint8(img + 0.5)
            continue
        for c in range(3):
            img = _pixel(image, y, x, c, table, image_lo, image_scale)
            if mode == 1:
                value = (1.0 - a) * img + a * 255.0 * n
            elif mode == 2:
                value = img * (1.0 - a + a * n)
            elif mode == 3:
                value = (1.0 - a * n) * img + a * n * lut[index, c]
            else:
                value = min(img + a * lut[index, c], 255.0)
            out[y, x, c] = np.uint8(value + 0.5)


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(_THREADS, thread_name_prefix="heatoverlay")
    return _POOL


def _forget_pool() -> None:
    """A forked child has none of the parent's threads: start a pool afresh."""
    global _POOL
    _POOL = None


os.register_at_fork(after_in_child=_forget_pool)


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
    lo, hi = image_range
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    image_table = None
    if image.dtype == np.uint8:
        levels = (np.arange(256, dtype=np.float64) - lo) * scale
        image_table = np.clip(levels, 0.0, 255.0).astype(np.float32)
    if image.shape[2] == 1:
        image = np.broadcast_to(image, (*image.shape[:2], 3))
    if invalid is None:
        invalid_x = np.zeros((1, 1), dtype=np.bool_)
        y_nearest = np.zeros(1, dtype=np.intp)
    else:
        invalid_x, y_nearest = invalid
    cut = -1.0 if threshold is None else float(threshold)
    args = (
        image,
        image_table,
        float(lo),
        float(scale),
        rows_x,
        y_index,
        y_weight,
        np.float32(clip[0]),
        np.float32(clip[1]),
        invalid_x,
        y_nearest,
        invalid is not None,
        lut,
        _MODE_CODE[mode],
        float(alpha),
        np.float32(cut),
        out,
    )
    height = out.shape[0]
    if _THREADS == 1 or height < 2 * _ROWS_PER_TASK:
        _blend_rows(*args, 0, height)
        return out
    step = max(_ROWS_PER_TASK, -(-height // (4 * _THREADS)))
    bands = [(start, min(start + step, height)) for start in range(0, height, step)]
    for future in [_pool().submit(_blend_rows, *args, *band) for band in bands]:
        future.result()
    return out
