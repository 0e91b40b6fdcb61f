"""The contour lines of a pair as a napari Shapes layer, kept up to date.

:func:`show_contours` adds one Shapes layer of paths per image/heatmap pair,
``"<heatmap> contours"``, or updates it in place; each path takes its
level's colour from the overlay's colormap. :class:`ContourLines`, which the
widget owns, retraces it (:mod:`~napari_heatoverlay.plugin.contour_paths`)
as the controls or the slider change, in a worker when the tracing is large.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from napari_heatoverlay.engine.normalize import Window
from napari_heatoverlay.plugin.contour_paths import (
    default_width,
    layer_transform,
    level_colours,
    to_world,
    trace_slice,
    tracing_samples,
)
from napari_heatoverlay.plugin.plan import OverlayPlan
from napari_heatoverlay.plugin.records import find_made_from, made_from, source_ids

if TYPE_CHECKING:
    import napari.layers
    import napari.viewer

#: The metadata role of a contour layer (``layer.metadata["heatoverlay"]``).
ROLE = "contours"
#: Tracing grids up to this many samples (about 60 ms) are traced on the UI
#: thread; larger ones in a worker, so the slider never waits for them.
SYNC_SAMPLES = 2**20


def find_contour_layer(
    layers: Any, sources: dict[str, dict[str, str]]
) -> napari.layers.Shapes | None:
    """The contour layer of the same two source layers (matched by id), if any."""
    return find_made_from(layers, ROLE, sources)


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
                    "source_ids": source_ids(plan.sources),
                }
            },
        )
        layer.current_edge_width = default_width(plan)
    width = layer.current_edge_width
    layer.data = [(path, "path") for path in paths]
    if paths:
        layer.edge_width = [width] * len(paths)
        layer.edge_color = np.array([colours[level] for level in path_levels])
        layer.features = {"level": np.asarray(path_levels, dtype=np.float64)}
    layer.metadata["heatoverlay"]["levels"] = list(levels)
    return layer


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
        if not made_from(event.value, "overlay", self._plan.sources):
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
                trace_slice, plan, index, levels, window, _progress=False
            )
            self._worker.returned.connect(self._on_traced)
            self._worker.errored.connect(self._on_failed)
            self._worker.start()
            return
        try:
            self._on_traced(trace_slice(plan, index, levels, window))
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
