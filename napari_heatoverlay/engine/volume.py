"""A coarse 3-D heatmap over a volume: resample its z axis onto the image's.

With ``spatial_dims=3`` the heatmap's last three axes (z, h, w) cover the
image's (Z, Y, X) field of view. The map is normalised first (the window of
the whole map), then resampled along z only, with the same separable plan
as the other axes (anti-aliased when z is reduced, spline-prefiltered for
cubic), giving a (Z, h, w) map of ``n``: still coarse in y and x, so no
full-resolution float volume is built. The 2-D pipeline then treats each of
the Z slices as the heat of its image slice.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_heatoverlay.engine.normalize import Window
from napari_heatoverlay.engine.resample import AxisPlan, apply_taps


def on_image_z(
    heat: Any, depth: int, window: Window, order: int
) -> tuple[Any, Window | Any]:
    """``n`` of `heat` (..., z, h, w) resampled to (..., depth, h, w), float32,
    and the window the 2-D stage then uses.

    That window passes ``n`` through (no second norm, sign or gamma, no
    clipping between the axes) and clips after the in-plane resampling to
    the whole volume's range, as a 3-D resize does. Non-finite heat pixels stay NaN over their nearest-neighbour
    footprint along z, as along y and x. A dask `heat` (or a lazy `window`)
    gives a dask result and a lazy window.

    Examples
    --------
    >>> heat = np.arange(2 * 2 * 2, dtype=float).reshape(2, 2, 2)
    >>> volume, plane_window = on_image_z(heat, 4, Window(0.0, 7.0), order=1)
    >>> np.round(volume[:, 0, 0] * 7, 3), plane_window.clip
    (array([0., 1., 3., 4.], dtype=float32), (0.0, 1.0))
    """
    from napari_heatoverlay.engine.inputs import is_dask

    if heat.ndim < 3:
        raise ValueError(
            f"spatial_dims=3 needs a heatmap with at least 3 axes (z, h, w), got "
            f"shape {heat.shape}; pass spatial_dims=2 for a 2-D map"
        )
    if is_dask(heat) or not isinstance(window, Window):
        import dask
        import dask.array as da
        from dask.base import tokenize

        from napari_heatoverlay.engine.lazy import cached_call

        shape = (*heat.shape[:-3], depth, *heat.shape[-2:])
        # one resampling for every slice napari asks for, not one per slice
        key = f"heatoverlay-z-{tokenize(heat, depth, window, order)}"
        both = dask.delayed(cached_call, pure=True, nout=2)(
            key, _resample_z, heat, depth, window, order
        )
        return da.from_delayed(both[0], shape=shape, dtype=np.float32), both[1]
    return _resample_z(np.asarray(heat), depth, window, order)


def _resample_z(
    heat: np.ndarray, depth: int, window: Window, order: int
) -> tuple[np.ndarray, Window]:
    n = window.apply(np.asarray(heat))
    finite = np.isfinite(n)
    plan = AxisPlan(n.shape[-3], depth, order)
    axis = n.ndim - 3
    low, high = (
        (float(n[finite].min()), float(n[finite].max())) if finite.any() else (0.0, 1.0)
    )
    # no clipping between the axes: a 3-D resize clips once, at the end
    plane_window = Window(0.0, 1.0, clip=(low, high), passthrough=True)
    if finite.all():
        return _along(plan, n, axis).astype(np.float32), plane_window
    filled = np.where(finite, n, 0.0).astype(np.float32)
    resampled = _along(plan, filled, axis).astype(np.float32)
    nearest = plan.nearest()
    resampled[~np.take(finite, nearest, axis=axis)] = np.nan
    return resampled, plane_window


def _along(plan: AxisPlan, values: np.ndarray, axis: int) -> np.ndarray:
    if plan.direct:
        return plan.reduce(values, axis)
    return apply_taps(plan.prefilter(values, axis), plan.taps(), axis)
