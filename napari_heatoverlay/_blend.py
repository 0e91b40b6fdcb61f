"""Blend one 2-D slice (or a rectangle of it): resampling plan + fused kernel."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._kernels import blend
from ._resample import AxisPlan, Taps, apply_taps


@dataclass(frozen=True)
class BlendOptions:
    """Validated options shared by every slice of one ``overlay`` call."""

    mode: str
    alpha: float
    lut: np.ndarray
    threshold: float | None
    order: int


def blend_region(
    image: np.ndarray,
    n: np.ndarray,
    full_shape: tuple[int, int],
    options: BlendOptions,
    image_range: tuple[float, float],
    region: tuple[int, int, int, int] | None = None,
    out: np.ndarray | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """Blend the normalised map ``n`` onto ``image`` for one rectangle.

    Parameters
    ----------
    image : ndarray, shape (y1 - y0, x1 - x0, C)
        The image pixels of the rectangle, C in {1, 3, 4}.
    n : ndarray, shape (h, w)
        The whole normalised heat slice (float, NaN where there is no heat).
    full_shape : (int, int)
        The image's full (Y, X): the grid ``n`` is resampled onto.
    region : (y0, y1, x0, x1), optional
        The rectangle of the full grid that ``image`` holds; all of it if None.
    """
    height, width = full_shape
    y0, y1, x0, x1 = region if region is not None else (0, height, 0, width)
    if out is None:
        out = np.empty((y1 - y0, x1 - x0, 3), dtype=np.uint8)
    rows = AxisPlan(n.shape[0], height, options.order)
    cols = AxisPlan(n.shape[1], width, options.order)
    finite = np.isfinite(n)
    has_heat = bool(finite.any())
    filled = np.where(finite, n, 0.0) if not finite.all() else n
    row_taps = rows.taps()[y0:y1]
    col_taps = cols.taps()[x0:x1]
    coefficients = rows.prefilter(filled, 0)
    first, stop = row_taps.source_rows
    coefficients = cols.prefilter(coefficients[first:stop], 1)
    rows_x = np.ascontiguousarray(apply_taps(coefficients, col_taps, 1))
    row_taps = row_taps.shifted(first)
    clip = (float(n[finite].min()), float(n[finite].max())) if has_heat else (0, 1)
    invalid = None
    if not finite.all():
        invalid = _invalid_rows(~finite, rows, cols, (y0, y1, x0, x1))
    blend(
        image,
        image_range,
        rows_x,
        row_taps.index,
        row_taps.weight,
        clip,
        invalid,
        options.lut,
        options.mode,
        options.alpha,
        options.threshold,
        out,
        threads,
    )
    return out


def _invalid_rows(
    invalid: np.ndarray,
    rows: AxisPlan,
    cols: AxisPlan,
    region: tuple[int, int, int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest-neighbour footprint of the heat-less pixels in the region."""
    y0, y1, x0, x1 = region
    nearest_y = _nearest(rows)[y0:y1]
    nearest_x = _nearest(cols)[x0:x1]
    first = int(nearest_y.min())
    stop = int(nearest_y.max()) + 1
    invalid_x = np.ascontiguousarray(invalid[first:stop][:, nearest_x])
    return invalid_x, nearest_y - first


def _nearest(plan: AxisPlan) -> np.ndarray:
    taps: Taps = AxisPlan(plan.size_in, plan.size_out, 0).taps()
    return taps.index[:, 0]
