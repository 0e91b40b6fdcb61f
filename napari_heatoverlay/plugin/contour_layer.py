"""Iso-lines of the shown heat slice as a napari Shapes layer of paths.

:func:`slice_contours` traces the slice the viewer shows with the engine's
:func:`~napari_heatoverlay.engine.contours.trace`, from the same plan (same
fitted heatmap, window and interpolation) as the bake, so a line at level
``t`` runs where the baked overlay's colour crosses ``t``. The vertices
are turned into **world coordinates** in the plane (the image layer's scale
and translate applied), and the Shapes layer has an identity transform there:
what it holds is where it is drawn. Along the leading (slider) axes it holds
the slice's index and takes the result layer's scale and translate, so that
it adds no slider steps of its own (a layer of scale 1 over a volume of
depth scale 3 would split every step in three, two of them without lines).
Widths are in world units. drawn. :class:`ContourLines` keeps one such layer per image/heatmap pair,
updated in place as the controls or the slider change, each path coloured
by its level through the overlay's colormap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

import napari_heatoverlay.engine.inputs as _inputs
from napari_heatoverlay.engine.colormap import colormap_lut
from napari_heatoverlay.engine.contours import MAX_SAMPLES, REFINE, trace
from napari_heatoverlay.engine.normalize import Window, compute_window
from napari_heatoverlay.plugin.plan import OverlayPlan

if TYPE_CHECKING:
    import napari.layers
    import napari.viewer

#: The metadata role of a contour layer (``layer.metadata["heatoverlay"]``).
ROLE = "contours"
#: Line width in screen pixels when the whole image fills a 1000-pixel view.
SCREEN_WIDTH = 4.0
#: Tracing grids up to this many samples (about 60 ms) are traced on the UI
#: thread; larger ones in a worker, so the slider never waits for them.
SYNC_SAMPLES = 2**20


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


def find_contour_layer(
    layers: Any, sources: dict[str, dict[str, str]]
) -> napari.layers.Shapes | None:
    """The contour layer of the same two source layers (matched by id), if any."""
    ids = {role: source["id"] for role, source in sources.items()}
    for layer in layers:
        record = layer.metadata.get("heatoverlay", {})
        if record.get("role") == ROLE and record.get("source_ids") == ids:
            return layer
    return None


def show_contours(
    viewer: napari.viewer.Viewer,
    plan: OverlayPlan,
    index: tuple[int, ...],
    lines: dict[float, list[np.ndarray]],
) -> napari.layers.Shapes:
    """Add the Shapes layer of `lines` (world paths), or update it in place.

    The layer is named ``"<heatmap> contours"``; each path's colour is its
    level's (:func:`level_colours`), its width the layer's current edge
    width (which its layer controls set). The layer's ``features`` hold each
    path's ``level``.
    """
    levels = tuple(lines)
    colours = dict(zip(levels, level_colours(plan, levels), strict=True))
    paths, path_levels = [], []
    for level, level_lines in lines.items():
        for line in level_lines:
            if len(line) > 1:
                paths.append(to_world(line, plan, index))
                path_levels.append(level)
    layer = find_contour_layer(viewer.layers, plan.sources)
    ndim = len(index) + 2
    scale, translate = layer_transform(plan, len(index))
    if layer is not None and layer.ndim != ndim:
        viewer.layers.remove(layer)
        layer = None
    if layer is not None:
        layer.scale, layer.translate = scale, translate  # the image may have moved
    else:
        layer = viewer.add_shapes(
            ndim=ndim,
            scale=scale,
            translate=translate,
            name=f"{plan.sources['heatmap']['name']} contours",
            metadata={
                "heatoverlay": {
                    "role": ROLE,
                    "source_ids": {
                        role: source["id"] for role, source in plan.sources.items()
                    },
                }
            },
        )
        layer.current_edge_width = _default_width(plan)
    width = layer.current_edge_width
    layer.data = [(path, "path") for path in paths]
    if paths:
        layer.edge_width = [width] * len(paths)
        layer.edge_color = np.array([colours[level] for level in path_levels])
        layer.features = {"level": np.asarray(path_levels, dtype=np.float64)}
    layer.metadata["heatoverlay"]["levels"] = list(levels)
    return layer


def _default_width(plan: OverlayPlan) -> float:
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


class ContourLines:
    """Keeps a pair's contour layer in step with the widget and the slider.

    Small work is traced at once; a grid over :data:`SYNC_SAMPLES` is traced
    in a worker (one at a time; the newest request wins) and shown when done.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        Where the contour layer lives.
    report : callable
        Called with an error the tracing raised (the widget notifies).
    """

    def __init__(self, viewer: napari.viewer.Viewer, report: Any) -> None:
        self._viewer = viewer
        self._report = report
        self._plan: OverlayPlan | None = None
        self._levels: tuple[float, ...] = ()
        self._window: Window | None = None
        self._shown: tuple[int, ...] | None = None
        self._worker: Any = None
        self._closed = False
        viewer.dims.events.current_step.connect(self._on_step)
        viewer.layers.events.inserted.connect(self._on_inserted)

    @property
    def busy(self) -> bool:
        """Whether a worker is tracing."""
        return self._worker is not None

    def update(self, plan: OverlayPlan | None, levels: tuple[float, ...]) -> None:
        """Trace `levels` of `plan` for the shown slice (no levels: remove
        the layer of the last pair)."""
        if not levels or plan is None:
            self.clear()
            return
        if self._plan is not None and self._plan.sources != plan.sources:
            self.clear()
        same_heat = (
            self._plan is not None
            and self._plan.heatmap is plan.heatmap
            and self._plan.rows == plan.rows
            and self._plan.cols == plan.cols
            and self._plan.depth == plan.depth
            and self._plan.options == plan.options
        )
        if not same_heat:
            self._window = None
        self._plan, self._levels, self._shown = plan, levels, None
        self._draw()

    def clear(self) -> None:
        """Remove the contour layer of the last pair, if there is one."""
        if self._plan is not None:
            layer = find_contour_layer(self._viewer.layers, self._plan.sources)
            if layer is not None:
                self._viewer.layers.remove(layer)
        self._plan, self._levels, self._window, self._shown = None, (), None, None

    def close(self) -> None:
        """Stop following the slider and drop a tracing in flight (the layer
        stays)."""
        self._closed = True
        self._viewer.dims.events.current_step.disconnect(self._on_step)
        self._viewer.layers.events.inserted.disconnect(self._on_inserted)

    def _on_inserted(self, event: Any) -> None:
        """Keep the lines above the pair's result layer when Apply adds it
        (an opaque RGB layer would hide them)."""
        if self._plan is None:
            return
        layers = self._viewer.layers
        record = event.value.metadata.get("heatoverlay", {})
        ids = {role: source["id"] for role, source in self._plan.sources.items()}
        if record.get("role") != "overlay" or record.get("source_ids") != ids:
            return
        layer = find_contour_layer(layers, self._plan.sources)
        if layer is not None and layers.index(layer) < layers.index(event.value):
            layers.move(layers.index(layer), len(layers))

    def _on_step(self, event: Any = None) -> None:
        if self._plan is not None and self._levels:
            self._draw()

    def _draw(self) -> None:
        plan = self._plan
        if plan is None or self._closed:
            return
        index = plan.index_at(self._viewer.dims.point)
        if index == self._shown or self._worker is not None:
            return  # a worker in flight draws the newest request when done
        levels, window = self._levels, self._window
        if tracing_samples(plan) > SYNC_SAMPLES:
            from napari.qt.threading import create_worker

            self._worker = create_worker(
                _trace, plan, index, levels, window, _progress=False
            )
            self._worker.returned.connect(self._on_traced)
            self._worker.errored.connect(self._on_failed)
            self._worker.start()
            return
        try:
            self._on_traced(_trace(plan, index, levels, window))
        except (TypeError, ValueError, MemoryError) as error:
            self._report(error)

    def _on_traced(self, traced: tuple) -> None:
        """Show a tracing if it is still wanted, then trace the newest request."""
        plan, index, levels, window, lines = traced
        self._worker = None
        if self._closed or plan is not self._plan or levels != self._levels:
            self._draw()  # the widget asked for something else meanwhile
            return
        self._window = window
        try:
            show_contours(self._viewer, plan, index, lines)
        except (TypeError, ValueError) as error:
            self._report(error)
            return
        self._shown = index
        self._draw()  # the slider may have moved on

    def _on_failed(self, error: Exception) -> None:
        self._worker = None
        if not self._closed:
            self._report(error)


def _trace(
    plan: OverlayPlan,
    index: tuple[int, ...],
    levels: tuple[float, ...],
    window: Window | None,
) -> tuple:
    """Trace one slice (thread-safe: plain arrays in, plain arrays out)."""
    if window is None:
        window = plan_window(plan)
    return plan, index, levels, window, slice_contours(plan, index, levels, window)
