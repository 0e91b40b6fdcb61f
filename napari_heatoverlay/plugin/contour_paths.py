"""Contour lines of the slice on screen, traced from a plan, in layer coordinates.

:func:`slice_contours` traces the slice the viewer shows with the engine's
:func:`~napari_heatoverlay.engine.contours.trace`, from the same plan (the
fitted heatmap, the whole stack's window, the interpolation) as the bake, so
a line at level ``t`` runs where the baked overlay's colour crosses ``t``.
:func:`to_world` turns its (row, col) image pixels into the contour layer's
data: **world coordinates** in the plane (the image layer's scale and
translate applied; the layer's own transform is the identity there), and the
slice's index along the leading axes, which the layer's scale and translate
place (:func:`layer_transform`, the result's): a layer of scale 1 over a
volume of depth scale 3 would split every slider step in three, two of them
without lines. Nothing here needs a viewer.
"""

from __future__ import annotations

import numpy as np

import napari_heatoverlay.engine.inputs as _inputs
from napari_heatoverlay.engine.colormap import colormap_lut
from napari_heatoverlay.engine.contours import MAX_SAMPLES, REFINE, trace
from napari_heatoverlay.engine.normalize import Window, compute_window
from napari_heatoverlay.plugin.plan import OverlayPlan

#: Line width in screen pixels when the whole image fills a 1000-pixel view.
SCREEN_WIDTH = 4.0


def plan_window(plan: OverlayPlan) -> Window:
    """The window the bake normalises the plan's heat with (the whole stack's)."""
    heat = plan.fitted_heatmap()
    if _inputs.is_dask(heat):
        import dask

        from napari_heatoverlay.engine.lazy import lazy_window

        (window,) = dask.compute(lazy_window(heat, plan.options))
        return window
    return compute_window(np.asarray(heat), plan.options)


def slice_contours(
    plan: OverlayPlan,
    index: tuple[int, ...],
    levels: tuple[float, ...],
    window: Window | None = None,
) -> dict[float, list[np.ndarray]]:
    """The lines of the result slice at leading `index`, in image pixels.

    Parameters
    ----------
    plan : OverlayPlan
        The pair and its options, as for the bake.
    index : tuple of int
        The result's leading index (:meth:`OverlayPlan.index_at`).
    levels : tuple of float
        Levels of normalised heat ``n`` in [0, 1].
    window : Window, optional
        The plan's window (:func:`plan_window`), if known.

    Returns
    -------
    dict of float to list of ndarray
        Per level, (N, 2) (row, col) vertices in the image's pixel
        coordinates, as :func:`~napari_heatoverlay.contours` gives them.

    Examples
    --------
    >>> from napari.layers import Image
    >>> from napari_heatoverlay.plugin.plan import plan_overlay
    >>> y, x = np.mgrid[0:16, 0:16]
    >>> cone = Image(-np.hypot(y - 7.5, x - 7.5), name="cone")
    >>> plan = plan_overlay(Image(np.zeros((64, 64)), name="photo"), cone)
    >>> (ring,) = slice_contours(plan, (), (0.5,))[0.5]
    >>> radius = np.hypot(ring[:, 0] - 31.5, ring[:, 1] - 31.5)
    >>> # half-way between the samples at 0.5 and 10.6 map pixels from the peak
    >>> round(float(radius.mean()), 1)  # 4 image pixels per map pixel
    22.6
    """
    if window is None:
        window = plan_window(plan)
    heat = plan.fitted_heatmap()
    order = plan.options.interpolation.order
    size = plan.shape[-3:-1]
    if plan.options.spatial_dims == 3:
        from napari_heatoverlay.engine.volume import on_image_z

        outer, depth = index[:-1], index[-1]
        volume = heat[_inputs.source_index(outer, heat.shape[:-3])]
        n, window = on_image_z(np.asarray(volume), plan.lead[-1], window, order)
        one = n[depth]
    else:
        one = np.asarray(heat[_inputs.source_index(index, heat.shape[:-2])])
    return trace(one, window, levels, shape=size, order=order)


def to_world(line: np.ndarray, plan: OverlayPlan, index: tuple[int, ...]) -> np.ndarray:
    """(N, 2) image-pixel vertices as (N, ndim) contour-layer data.

    The last two coordinates are world coordinates: the result layer's (the
    image layer's) scale and translate applied. The leading ones are the
    shown slice's index, which the layer's own leading scale and translate
    (the result's, :func:`layer_transform`) place in the world.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> plan = SimpleNamespace(scale=(4.0, 0.5, 0.5), translate=(10.0, 0.0, 2.0))
    >>> to_world(np.array([[0.0, 0.0], [2.0, 4.0]]), plan, (3,))
    array([[3., 0., 2.],
           [3., 1., 4.]])
    """
    scale = np.asarray(plan.scale, dtype=np.float64)
    translate = np.asarray(plan.translate, dtype=np.float64)
    lead = len(index)
    where = np.asarray(index, dtype=np.float64)
    plane = translate[lead:] + scale[lead:] * np.asarray(line, dtype=np.float64)
    return np.hstack([np.broadcast_to(where, (len(line), lead)), plane])


def layer_transform(
    plan: OverlayPlan, lead: int
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The contour layer's scale and translate: the result's along the
    `lead` leading axes, the identity in the plane.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> plan = SimpleNamespace(scale=(4.0, 0.5, 0.5), translate=(10.0, 0.0, 2.0))
    >>> layer_transform(plan, 1)
    ((4.0, 1.0, 1.0), (10.0, 0.0, 0.0))
    """
    scale = (*(float(s) for s in plan.scale[:lead]), 1.0, 1.0)
    translate = (*(float(t) for t in plan.translate[:lead]), 0.0, 0.0)
    return scale, translate


def level_colours(plan: OverlayPlan, levels: tuple[float, ...]) -> np.ndarray:
    """RGBA in [0, 1] of each level through the overlay's colormap.

    The lookup is the blend's: entry ``min(floor(n * N), N - 1)``.
    """
    lut = colormap_lut(plan.options.colormap)
    entries = np.minimum((np.asarray(levels) * len(lut)).astype(int), len(lut) - 1)
    rgb = lut[entries] / 255.0
    return np.hstack([rgb, np.ones((len(levels), 1))])


def default_width(plan: OverlayPlan) -> float:
    """A width in world units that shows as :data:`SCREEN_WIDTH` screen
    pixels when the whole image spans about 1000 screen pixels."""
    rows, cols = plan.shape[-3:-1]
    extent = max(rows * abs(plan.scale[-2]), cols * abs(plan.scale[-1]))
    return SCREEN_WIDTH * extent / 1000.0


def tracing_samples(plan: OverlayPlan) -> int:
    """Samples of the grid :func:`slice_contours` traces on (the work).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> plan = SimpleNamespace(shape=(4096, 4096, 3), heatmap=np.zeros((14, 14)))
    >>> tracing_samples(plan)  # 16 samples per map pixel
    50176
    """
    rows, cols = plan.shape[-3:-1]
    h, w = plan.heatmap.shape[-2:]
    return min(min(rows, h * REFINE) * min(cols, w * REFINE), MAX_SAMPLES)


def trace_slice(
    plan: OverlayPlan,
    index: tuple[int, ...],
    levels: tuple[float, ...],
    window: Window | None,
) -> tuple:
    """Trace one slice (thread-safe: plain arrays in, plain arrays out)."""
    if window is None:
        window = plan_window(plan)
    return plan, index, levels, window, slice_contours(plan, index, levels, window)
