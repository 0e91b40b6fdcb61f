"""The fused blend pass, compiled with numba (the only module that imports it).

One pass per output row: combine the row's heat from the column-resampled
map (the row taps), look the colour up, blend it with the image row and write
uint8. Nothing of full size is allocated but the output. The kernel releases
the GIL, so :mod:`~napari_heatoverlay.engine.blend` can split the rows over
a few threads. :mod:`~napari_heatoverlay.engine.formulas` is the same pass in
NumPy, for work too small to be worth compiling.

Compiled code is cached beside this file, or, when the package folder is not
writable (a read-only install), in a user cache folder; with neither, the
kernel compiles in memory on every start.
"""

from __future__ import annotations

import numpy as np

from napari_heatoverlay.engine.jit import njit


@njit(nogil=True, cache=True, inline="always")
def _pixel(image, y, x, c, table, image_lo, image_scale):
    """Image value at (y, x, c) as 0..255: a table for uint8, else a scale."""
    if table is not None:
        return table[image[y, x, c]]
    value = (image[y, x, c] - image_lo) * image_scale
    return np.float32(min(max(value, 0.0), 255.0))


@njit(nogil=True, cache=True)
def blend_rows(  # a flat signature keeps numba's typing simple
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
