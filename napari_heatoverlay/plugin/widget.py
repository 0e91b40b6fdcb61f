"""The "Heat overlay" dock widget: pick two layers, tune, apply or go live.

magicgui builds the controls from :meth:`HeatOverlayWidget._apply`'s
annotations; the blending runs in a worker thread through the same steps as
:func:`~napari_heatoverlay.add_overlay` (plan, compute, show). A generation
number orders the requests: a result is shown only if no newer one has been
shown, and at most one worker runs while the latest request waits.
"""

import dataclasses
from collections.abc import Generator
from functools import partial
from pathlib import Path
from typing import Any

import napari.viewer
import numpy as np
from magicgui.widgets import FileEdit, FunctionGui, PushButton
from napari.layers import Image, Layer
from napari.qt.threading import GeneratorWorker, create_worker
from napari.utils.notifications import show_error, show_info

import napari_heatoverlay.engine.inputs as _inputs
from napari_heatoverlay.engine.kernels import MODES
from napari_heatoverlay.engine.normalize import NORMS
from napari_heatoverlay.engine.resample import INTERPOLATIONS
from napari_heatoverlay.plugin.layers import (
    OverlayPlan,
    find_overlay_layer,
    order_pair,
    plan_overlay,
    show_overlay,
)

#: ``colormap`` value meaning "use the heatmap layer's colormap".
LAYER_COLORMAP = "layer"
COLORMAPS = (
    ("heatmap layer's", LAYER_COLORMAP),
    *(
        (name, name)
        for name in ("inferno", "jet", "turbo", "viridis", "magma", "hot", "RdBu_r")
    ),
)
_FIGURE_MAX_SIDE = 4096
#: Results up to this many bytes are blended on the UI thread (a 2048 x 2048
#: RGB overlay takes about 10 ms, less than starting a worker and its progress
#: bar); larger ones in a worker, so the viewer never freezes.
QUICK_BYTES = 16 * 2**20
_OPTIONS = ("mode", "alpha", "colormap", "norm", "threshold", "interpolation")


@dataclasses.dataclass
class _Focus:
    """The leading index the viewer shows; the worker computes it first."""

    index: tuple[int, ...] = ()


class HeatOverlayWidget(FunctionGui):
    """Dock widget laying a heatmap layer over an image layer.

    Apply adds (or updates in place) a result layer, as
    :func:`~napari_heatoverlay.add_overlay`; with ``live`` on, every change
    of a control updates it. The blending runs off the UI thread, the slice
    the viewer shows first. Controls persist between sessions.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer whose layers the widget offers and adds results to.

    Examples
    --------
    >>> viewer.window.add_plugin_dock_widget(  # doctest: +SKIP
    ...     "napari-heatoverlay", "Heat overlay"
    ... )
    """

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        self._viewer = viewer
        self._requested = 0  # generation of the latest request
        self._shown = 0  # generation on screen
        self._cancelled = 0  # results up to this generation are dropped
        self._worker: GeneratorWorker | None = None
        self._running: tuple[OverlayPlan, int] | None = None
        self._pending: tuple[OverlayPlan, int] | None = None
        self._focus = _Focus()
        self._buffer: np.ndarray | None = None
        self._last_error = ""
        self._closed = False
        super().__init__(
            self._apply,
            call_button="Apply",
            persist=True,
            param_options={
                # an explicit widget_type makes magicgui keep these choices
                # rather than napari's (which list every layer)
                "image": {
                    "widget_type": "ComboBox",
                    "choices": partial(_layer_choices, self._viewer, "image"),
                },
                "heatmap": {
                    "widget_type": "ComboBox",
                    "choices": partial(_layer_choices, self._viewer, "heatmap"),
                },
                "mode": {"choices": MODES},
                "alpha": {
                    "widget_type": "FloatSlider",
                    "min": 0,
                    "max": 1,
                    "step": 0.01,
                },
                "colormap": {"choices": COLORMAPS},
                "norm": {"choices": NORMS},
                "threshold": {
                    "widget_type": "FloatSlider",
                    "min": 0,
                    "max": 1,
                    "step": 0.01,
                    "tooltip": "Heat below this (normalised) level leaves the image as is",
                },
                "interpolation": {"choices": tuple(INTERPOLATIONS)},
                "live": {"tooltip": "Update the result on every change"},
            },
        )
        self.extend(
            [
                FileEdit(
                    name="export_path",
                    label="figure file",
                    mode="w",
                    filter="*.png *.pdf *.svg",
                    tooltip="Where Export figure saves image | heatmap | overlay",
                    gui_only=True,
                ),
                PushButton(name="export_figure", text="Export figure…", gui_only=True),
            ]
        )
        self.export_figure.changed.connect(self._export_figure)
        for name in ("image", "heatmap", *_OPTIONS, "live"):
            self[name].changed.connect(self._on_control_changed)
        viewer.dims.events.current_step.connect(self._on_step)
        viewer.layers.events.removed.connect(self._on_layer_removed)
        self.native.destroyed.connect(self._on_destroyed)

    def _apply(
        self,
        image: Image,
        heatmap: Image,
        mode: str = "alpha",
        alpha: float = 0.5,
        colormap: str = LAYER_COLORMAP,
        norm: str = "minmax",
        threshold: float = 0.0,
        interpolation: str = "linear",
        live: bool = False,
    ) -> None:
        """Overlay ``heatmap`` on ``image`` in a worker thread.

        magicgui builds one control per parameter; ``live`` is read by
        :meth:`_on_control_changed`, which calls this on every change.
        """
        if self._closed:
            return
        if not _distinct(image, heatmap):
            show_info(
                "Heat overlay: choose an image layer and a different heatmap layer"
            )
            return
        options = _overlay_options(
            mode=mode,
            alpha=alpha,
            colormap=colormap,
            norm=norm,
            threshold=threshold,
            interpolation=interpolation,
        )
        try:
            plan = plan_overlay(image, heatmap, **options)
        except (TypeError, ValueError) as error:
            self._report(error)
            return
        self._requested += 1
        if self._worker is None and _is_quick(plan):
            self._compute_here(plan, self._requested)
            return
        self._pending = (plan, self._requested)
        if self._worker is None:
            self._start_pending()
        else:
            self._worker.quit()

    def _compute_here(self, plan: OverlayPlan, generation: int) -> None:
        """Blend a small result on the UI thread: quicker than a worker's setup."""
        try:
            data = plan.compute()
        except (TypeError, ValueError) as error:
            self._report(error)
            return
        self._display(self._viewer, plan, data, generation)

    def _export_figure(self) -> None:
        """Save the current pair as a publication figure (``figure()``)."""
        from napari_heatoverlay.figures import figure

        path = self.export_path.value
        image, heatmap = self.image.value, self.heatmap.value
        if path is None or Path(path).is_dir() or not _distinct(image, heatmap):
            show_info(
                "Heat overlay: choose an image, a different heatmap and a figure "
                "file (.png, .pdf or .svg) first"
            )
            return
        options = _overlay_options(**{name: self[name].value for name in _OPTIONS})
        try:
            plan = plan_overlay(image, heatmap, **options)
            image, heatmap, index = _figure_inputs(plan, self._viewer.dims.point)
            options = {**plan.options, "label": plan.sources["heatmap"]["name"]}
            figure(image, heatmap, index=index, **options).savefig(path)
        except (OSError, TypeError, ValueError) as error:
            self._report(error)
            return
        show_info(f"Heat overlay: figure saved to {path}")

    def _on_control_changed(self) -> None:
        if self.live.value and _distinct(self.image.value, self.heatmap.value):
            self()

    def _start_pending(self) -> None:
        plan, generation = self._running = self._pending
        self._pending = None
        self._focus.index = plan.index_at(self._viewer.dims.point)
        slices = int(np.prod(plan.lead)) if plan.lead and not plan.lazy else 0
        self._worker = create_worker(
            _compute,
            plan,
            self._focus,
            _progress={"total": slices, "desc": "Heat overlay"},
            _ignore_errors=True,
            _connect={
                "yielded": partial(self._on_slice, plan, generation),
                "returned": partial(self._on_result, plan, generation),
                "errored": partial(self._on_error, generation),
                "finished": self._on_finished,
            },
        )

    def _on_finished(self) -> None:
        self._worker = self._running = None
        if self._pending is not None:
            self._start_pending()

    def _fresh(self, generation: int) -> bool:
        return generation >= self._shown and generation > self._cancelled

    def _on_slice(
        self, plan: OverlayPlan, generation: int, item: tuple[tuple[int, ...], Any]
    ) -> None:
        viewer = self._viewer
        if not self._fresh(generation) or not _present(viewer, plan):
            return
        index, pixels = item
        layer = find_overlay_layer(viewer.layers, plan.sources)
        buffer = self._buffer
        if layer is None or layer.data is not buffer or buffer.shape != plan.shape:
            # reuse what is on screen for the slices not computed yet
            previous = layer.data if layer is not None else None
            same = isinstance(previous, np.ndarray) and previous.shape == plan.shape
            buffer = previous.copy() if same else np.zeros(plan.shape, np.uint8)
            self._buffer = buffer
        buffer[index] = pixels
        if generation > self._shown or layer is None or layer.data is not buffer:
            self._display(viewer, plan, buffer, generation)
        else:
            layer.refresh()

    def _on_result(self, plan: OverlayPlan, generation: int, data: Any) -> None:
        if (
            data is not None
            and self._fresh(generation)
            and _present(self._viewer, plan)
        ):
            self._display(self._viewer, plan, data, generation)

    def _display(
        self,
        viewer: napari.viewer.Viewer,
        plan: OverlayPlan,
        data: Any,
        generation: int,
    ) -> None:
        show_overlay(viewer, plan, data)
        self._shown = generation
        self._last_error = ""

    def _on_error(self, generation: int, error: Exception) -> None:
        if generation > self._cancelled:
            self._report(error)

    def _report(self, error: Exception) -> None:
        """Notify once per distinct message (live mode repeats requests)."""
        message = f"Heat overlay: {error}"
        if message != self._last_error:
            self._last_error = message
            show_error(message)

    def _on_step(self) -> None:
        """Compute the slice the viewer moved to next."""
        if self._running is not None:
            self._focus.index = self._running[0].index_at(self._viewer.dims.point)

    def _on_layer_removed(self, event: Any) -> None:
        """Drop work in flight on a layer that went away."""
        if self._pending is not None and _concerns(self._pending[0], event.value):
            self._pending = None
        if self._running is not None and _concerns(self._running[0], event.value):
            self._cancelled = max(self._cancelled, self._running[1])
            self._worker.quit()

    def _on_destroyed(self) -> None:
        """The viewer (or this dock widget) closed: drop all work in flight."""
        self._closed = True
        self._cancelled = self._requested
        self._pending = None
        if self._worker is not None:
            self._worker.quit()


def _overlay_options(
    *,
    mode: str,
    alpha: float,
    colormap: str,
    norm: str,
    threshold: float,
    interpolation: str,
) -> dict[str, Any]:
    """The widget's values as ``overlay()`` keywords (threshold 0 means none)."""
    options = {
        "mode": mode,
        "alpha": alpha,
        "norm": norm,
        "threshold": threshold or None,
        "interpolation": interpolation,
    }
    if colormap != LAYER_COLORMAP:
        options["colormap"] = colormap
    return options


def _figure_inputs(
    plan: OverlayPlan, world_point: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...] | None]:
    """The 2-D image, the fitted heatmap and its index for the shown slice.

    Of a pyramid, the finest level at most 4096 pixels on a side is drawn.
    """
    spatial_ndim = 3 if plan.options["rgb"] else 2
    levels = plan.image if plan.multiscale else [plan.image]
    fitting = [
        level
        for level in levels
        if max(level.shape[-spatial_ndim:][:2]) <= _FIGURE_MAX_SIDE
    ]
    image = (fitting or levels[-1:])[0]
    index = plan.index_at(world_point)
    image_lead = image.shape[: image.ndim - spatial_ndim]
    image = np.asarray(image[_inputs.source_index(index, image_lead)])
    heatmap = np.asarray(plan.fitted_heatmap())
    return image, heatmap, _inputs.source_index(index, heatmap.shape[:-2]) or None


def _compute(
    plan: OverlayPlan, focus: _Focus
) -> Generator[tuple[tuple[int, ...], np.ndarray], None, Any]:
    """Worker: the whole result, or a stack slice by slice (shown one first)."""
    if plan.lazy or plan.multiscale or not plan.lead:
        return plan.compute()
    lazy = dataclasses.replace(plan, lazy=True).compute()
    remaining = set(np.ndindex(*plan.lead))
    while remaining:
        index = focus.index if focus.index in remaining else min(remaining)
        remaining.discard(index)
        yield index, lazy[index].compute()
    return None


def _is_quick(plan: OverlayPlan) -> bool:
    """Whether ``plan`` is small enough to blend on the UI thread."""
    return not (plan.lazy or plan.multiscale) and np.prod(plan.shape) <= QUICK_BYTES


def _concerns(plan: OverlayPlan, layer: Layer) -> bool:
    """Whether ``layer`` is a source or the result of ``plan``."""
    ids = {role: source["id"] for role, source in plan.sources.items()}
    record = layer.metadata.get("heatoverlay", {})
    return str(layer.unique_id) in ids.values() or record.get("source_ids") == ids


def _present(viewer: napari.viewer.Viewer, plan: OverlayPlan) -> bool:
    """Whether both source layers are still in the viewer."""
    ids = {str(layer.unique_id) for layer in viewer.layers}
    return all(source["id"] in ids for source in plan.sources.values())


def _distinct(image: Layer | None, heatmap: Layer | None) -> bool:
    """Whether two layers are chosen and differ (pickers hold proxies: no ``is``)."""
    return (
        image is not None
        and heatmap is not None
        and image.unique_id != heatmap.unique_id
    )


def _layer_choices(
    viewer: napari.viewer.Viewer, role: str, _widget: Any
) -> list[tuple[str, Layer]]:
    """Image layers for a picker, likeliest first; never a result layer."""
    layers = [
        layer
        for layer in viewer.layers
        if isinstance(layer, Image)
        and layer.metadata.get("heatoverlay", {}).get("role") != "overlay"
    ]
    ranked = sorted(
        layers,
        key=lambda layer: _likelihood(layer, layers, role),
        reverse=True,
    )
    return [(layer.name, layer) for layer in ranked]


def _likelihood(layer: Layer, layers: list[Layer], role: str) -> int:
    """How many other layers ``layer`` beats as the ``role`` of a pair."""
    wins = 0
    for other in layers:
        if other is layer:
            continue
        image, _ = order_pair(other, layer)
        wins += (image is layer) == (role == "image")
    return wins
