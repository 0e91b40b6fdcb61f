"""Blend one 2-D slice (or a rectangle of it): resampling plan + fused kernel.

A heat slice is prepared once (:func:`prepare_heat`: normalise, fill the
heat-less pixels, run the prefilters); every rectangle of the image then only
resamples the few heat rows and the columns it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._kernels import blend
from ._normalize import Window
from ._resample import AxisPlan, apply_taps


@dataclass(frozen=True)
class BlendOptions:
    """Validated options shared by every slice of one ``overlay`` call."""

    mode: str
    alpha: float
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
    """Normalise a 2-D heat slice and prefilter it for ``full_shape``."""
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
        options.alpha,
        options.threshold,
        out,
    )
