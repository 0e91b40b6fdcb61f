"""The fused blend pass, compiled with numba (the only module that imports it).

One pass per output row: combine the row's heat from the column-resampled
map (the row taps), look the colour up, blend it with the image row and write
uint8. Nothing of full size is allocated but the output. The kernel releases
the GIL, so :mod:`~napari_heatoverlay.engine.blend` can split the rows over
a few threads. :mod:`~napari_heatoverlay.engine.formulas` is the same pass in
NumPy, for work too small to be worth compiling.

Per row, in mode "alpha" (the common case): the heat and the colour index
are one branch-free loop that LLVM vectorises; the colour's three
``a * lut + 0.5`` terms are then copied into a small buffer two pixels (six
floats, three 64-bit words) at a time, the only gather left; and the blend,
``uint8((1 - a) * img + term)`` over the row's bytes, is again a vectorised
loop. Every float operation is the one
:mod:`~napari_heatoverlay.engine.formulas` does, in the same precision and
order (no fastmath, no fused multiply-add), so both give the same pixels.

Compiled code is cached beside this file, or, when the package folder is not
writable (a read-only install), in a user cache folder; with neither, the
kernel compiles in memory on every start.
"""

from __future__ import annotations

import sys

import numpy as np

from napari_heatoverlay.engine.jit import njit

#: Pixels whose colour terms are gathered before each vectorised blend loop:
#: 12 KiB of float32 terms, still in the L1 cache when the blend reads them.
_CHUNK = 1024
_U1 = np.uint64(1)
_U2 = np.uint64(2)
_U3 = np.uint64(3)
#: Two neighbouring int32 colour rows read as one 64-bit word: where each sits.
_LOW = np.uint64(0xFFFFFFFF)
_LEFT = np.uint64(0 if sys.byteorder == "little" else 32)
_RIGHT = np.uint64(32 if sys.byteorder == "little" else 0)
#: The colour term of a pixel with no heat (threshold, NaN heat): the image shows.
_SHOWS = np.float32(-np.inf)


@njit(nogil=True, cache=True, inline="always")
def _pixel(image, y, x, c, table, image_lo, image_scale):
    """Image value at (y, x, c) as 0..255: a table for uint8, else a scale."""
    if table is not None:
        return table[image[y, x, c]]
    value = (image[y, x, c] - image_lo) * image_scale
    return np.float32(min(max(value, 0.0), 255.0))


@njit(nogil=True, cache=True, inline="always")
def _clip_index(h, clip_lo, clip_hi, lut_size, power_of_two, threshold):
    """Clipped heat and its colour row; ``lut_size`` where the image shows.

    ``int(float64(n) * lut_size)`` as formulas computes it; for a power-of-two
    table float32 gives the same product exactly (and 8 lanes instead of 4).
    """
    n = clip_lo if h < clip_lo else h
    n = clip_hi if n > clip_hi else n
    if power_of_two:
        index = np.int32(n * np.float32(lut_size))
    else:
        index = np.int32(np.float64(n) * lut_size)
    top = np.int32(lut_size - 1)
    index = top if index > top else index
    show = np.int32(lut_size)
    index = show if n < threshold else index
    return n, (show if index < 0 else index)


@njit(nogil=True, cache=True)
def _colour_row(
    rows_x, y_index, y_weight, y, clip_lo, clip_hi, lut_size, threshold, heat, colour
):
    """Fill ``heat`` (clipped) and ``colour`` for row ``y``; True if the image shows.

    The heat is ``sum_k weight_k * row_k`` in float32, tap after tap. No
    branch per pixel: the loops vectorise.
    """
    width = heat.shape[0]
    power_of_two = (lut_size & (lut_size - 1)) == 0
    most = np.int32(0)
    taps = y_index.shape[1]
    row, weight = y_index[y, 0], y_weight[y, 0]
    if taps == 2 and power_of_two:  # linear interpolation: one fused loop
        row1, weight1 = y_index[y, 1], y_weight[y, 1]
        for x in range(width):
            h = weight * rows_x[row, x]
            h += weight1 * rows_x[row1, x]
            n, index = _clip_index(h, clip_lo, clip_hi, lut_size, True, threshold)
            heat[x] = n
            colour[x] = index
            most = index if index > most else most
        return most == lut_size
    for x in range(width):
        heat[x] = weight * rows_x[row, x]
    for k in range(1, taps):
        row, weight = y_index[y, k], y_weight[y, k]
        for x in range(width):
            heat[x] += weight * rows_x[row, x]
    if power_of_two:
        for x in range(width):
            n, index = _clip_index(heat[x], clip_lo, clip_hi, lut_size, True, threshold)
            heat[x] = n
            colour[x] = index
            most = index if index > most else most
    else:
        for x in range(width):
            n, index = _clip_index(
                heat[x], clip_lo, clip_hi, lut_size, False, threshold
            )
            heat[x] = n
            colour[x] = index
            most = index if index > most else most
    return most == lut_size


@njit(nogil=True, cache=True)
def blend_rows(  # a flat signature keeps numba's typing simple; out: C-contiguous
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
    colour = np.empty(width + width % 2, dtype=np.int32)  # whole 64-bit pairs
    terms = _term_tables(heat_lut)
    identity = _is_identity(image_table)
    buffer = np.empty(3 * _CHUNK + 2, dtype=np.float32)
    item = image.itemsize
    contiguous = (  # then image[y].ravel() is a view; else rows go via scratch
        image.strides[2] == item
        and image.strides[1] == 3 * item
        and image.strides[0] == 3 * width * item
    )
    scratch = np.empty(0 if contiguous else 3 * width, dtype=image.dtype)
    for y in range(y_start, y_stop):
        # 1. this row's heat and colour index (lut_size: the image shows)
        shows = _colour_row(
            rows_x,
            y_index,
            y_weight,
            y,
            clip_lo,
            clip_hi,
            lut_size,
            threshold,
            heat,
            colour,
        )
        if has_invalid:
            invalid = invalid_x[y_nearest[y]]
            for x in range(width):
                if invalid[x]:
                    colour[x] = lut_size
                    shows = True
        # 2. blend: "alpha" over the row's bytes, the other modes pixel by pixel
        if mode == 0:
            orow = out[y].reshape(3 * width)
            if contiguous:
                _alpha_flat(
                    image[y].ravel(),
                    orow,
                    colour,
                    shows,
                    buffer,
                    terms,
                    keep,
                    image_table,
                    identity,
                    image_lo,
                    image_scale,
                )
            else:
                for x in range(width):
                    for c in range(3):
                        scratch[3 * x + c] = image[y, x, c]
                _alpha_flat(
                    scratch,
                    orow,
                    colour,
                    shows,
                    buffer,
                    terms,
                    keep,
                    image_table,
                    identity,
                    image_lo,
                    image_scale,
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
def _is_identity(table):
    """Whether the uint8 table maps every value to itself (image_range 0..255)."""
    if table is None:
        return False
    for v in range(256):  # noqa: SIM110 (a plain loop compiles in numba)
        if table[v] != np.float32(v):
            return False
    return True


@njit(nogil=True, cache=True)
def _term_tables(heat_lut):
    """``heat_lut`` rows as 64-bit words, for copying two pixels' terms at once.

    Two pixels' terms (A0 A1 A2 B0 B1 B2) are the words (A0 A1), (A2 B0) and
    (B1 B2): ``first[A]``, ``last[A] | next_first[B]`` and ``second[B]``.
    Built through float32 views, so the words hold the floats in memory order
    on any byte order; 0.0 is all zero bits, so ``|`` joins two halves. Row
    ``lut_size`` (the image shows) holds -inf, which no real term is.
    """
    rows = heat_lut.shape[0] + 1
    terms = np.full((rows, 3), _SHOWS)
    terms[: rows - 1] = heat_lut
    first = np.zeros(2 * rows, dtype=np.float32)
    second = np.zeros(2 * rows, dtype=np.float32)
    last = np.zeros(2 * rows, dtype=np.float32)
    next_first = np.zeros(2 * rows, dtype=np.float32)
    for i in range(rows):
        first[2 * i] = terms[i, 0]
        first[2 * i + 1] = terms[i, 1]
        second[2 * i] = terms[i, 1]
        second[2 * i + 1] = terms[i, 2]
        last[2 * i] = terms[i, 2]
        next_first[2 * i + 1] = terms[i, 0]
    return (
        first.view(np.uint64),
        last.view(np.uint64),
        next_first.view(np.uint64),
        second.view(np.uint64),
        terms,
    )


@njit(nogil=True, cache=True)
def _alpha_flat(
    irow, orow, colour, shows, buffer, terms, keep, table, identity, lo, scale
):
    """Mode "alpha" on one row of contiguous bytes: ``uint8(keep * img + term)``.

    The terms ``a * lut[colour] + 0.5`` are gathered into ``buffer`` a chunk
    at a time; the blend over the chunk's bytes then has no gather left (for
    uint8 images with the identity table) and vectorises.
    """
    first, last, next_first, second, single = terms
    words = buffer.view(np.uint64)
    pairs = colour.view(np.uint64)
    width = orow.shape[0] // 3
    for x0 in range(0, width, _CHUNK):
        count = min(_CHUNK, width - x0)
        start = np.uint64(x0 // 2)
        for p in range(np.uint64(count // 2)):
            pair = pairs[start + p]
            i = (pair >> _LEFT) & _LOW
            j = (pair >> _RIGHT) & _LOW
            k = _U3 * p
            words[k] = first[i]
            words[k + _U1] = last[i] | next_first[j]
            words[k + _U2] = second[j]
        if count % 2:
            i = colour[x0 + count - 1]
            for c in range(3):
                buffer[3 * (count - 1) + c] = single[i, c]
        base = np.uint64(3 * x0)
        size = np.uint64(3 * count)
        if shows:
            _blend_span(
                irow, orow, base, size, buffer, keep, table, identity, lo, scale, True
            )
        else:
            _blend_span(
                irow, orow, base, size, buffer, keep, table, identity, lo, scale, False
            )


@njit(nogil=True, cache=True, inline="always")
def _blend_span(
    irow, orow, base, size, terms, keep, table, identity, lo, scale, select
):
    """``orow[base + j] = uint8(keep * img + terms[j])`` for j < size."""
    if table is not None:
        if identity:
            for j in range(size):
                img = np.float32(irow[base + j])
                orow[base + j] = _mix(img, terms[j], keep, select)
        else:
            for j in range(size):
                img = table[irow[base + j]]
                orow[base + j] = _mix(img, terms[j], keep, select)
    else:
        for j in range(size):
            value = (irow[base + j] - lo) * scale
            img = np.float32(min(max(value, 0.0), 255.0))
            orow[base + j] = _mix(img, terms[j], keep, select)


@njit(nogil=True, cache=True, inline="always")
def _mix(img, term, keep, select):
    """``uint8(keep * img + term)``; with ``select``, ``img + 0.5`` if term shows.

    A select, not a branch: the loops around it stay vectorised.
    """
    value = keep * img + term
    if select and term == _SHOWS:
        value = img + np.float32(0.5)
    return np.uint8(value)


@njit(nogil=True, cache=True)
def _formula_row(
    image, y, table, image_lo, image_scale, colour, heat, mode, a, lut, out
):
    """Modes "gray", "multiply", "scaled", "additive" and "tint" for one row."""
    lut_size = lut.shape[0]
    for x in range(out.shape[1]):
        index = colour[x]
        n = heat[x]
        if index == lut_size:
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
            elif mode == 4:
                value = min(img + a * lut[index, c], 255.0)
            else:
                value = img * ((1.0 - a) + a * lut[index, c] / 255.0)
            out[y, x, c] = np.uint8(value + 0.5)
