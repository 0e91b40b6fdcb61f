"""The "Heat overlay" dock widget: pick two layers, tune, apply or go live.

The option controls come from the engine's option table (see
:mod:`~napari_heatoverlay.plugin.controls`): an option with a ``widget``
dict gets a control without a change here. The widget builds the controls,
turns their values into a plan and hands it to its
:class:`~napari_heatoverlay.plugin.scheduler.OverlayScheduler`, which runs
it off the UI thread.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import napari.viewer
import numpy as np
from magicgui.widgets import FileEdit, FunctionGui, PushButton
from napari.layers import Image, Layer
from napari.utils.notifications import show_info

import napari_heatoverlay.engine.inputs as _inputs
from napari_heatoverlay.plugin.controls import (
    CONTROL_BY_NAME,
    CONTROLS,
    control_values,
    overlay_kwargs,
)
from napari_heatoverlay.plugin.plan import OverlayPlan, order_pair, plan_overlay
from napari_heatoverlay.plugin.scheduler import OverlayScheduler

_FIGURE_MAX_SIDE = 4096


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

    Attributes
    ----------
    scheduler : OverlayScheduler
        Runs the requests of this widget in `viewer`.

    Examples
    --------
    >>> _, widget = viewer.window.add_plugin_dock_widget(  # doctest: +SKIP
    ...     "napari-heatoverlay", "Heat overlay"
    ... )
    >>> widget.reset_to_defaults()  # doctest: +SKIP
    >>> widget.apply_options(mode="scaled", alpha=0.9)  # doctest: +SKIP
    >>> widget()  # doctest: +SKIP
    """

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        self._viewer = viewer
        self.scheduler = OverlayScheduler(viewer)
        super().__init__(
            _controls_function(self._request),
            call_button="Apply",
            persist=True,
            param_options={
                # an explicit widget_type makes magicgui keep these choices
                # rather than napari's (which list every layer)
                "image": {
                    "widget_type": "ComboBox",
                    "choices": partial(_layer_choices, viewer, "image"),
                },
                "heatmap": {
                    "widget_type": "ComboBox",
                    "choices": partial(_layer_choices, viewer, "heatmap"),
                },
                **{control.name: control.magicgui_options for control in CONTROLS},
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
        for name in ("image", "heatmap", *CONTROL_BY_NAME, "live"):
            self[name].changed.connect(self._on_control_changed)
        self.native.destroyed.connect(self.scheduler.close)

    def apply_options(self, **options: Any) -> None:
        """Set the option controls to ``overlay()`` option values.

        Values are validated first; on an error no control changes. In live
        mode the result follows.

        Parameters
        ----------
        **options
            ``overlay()`` options that have a control (``mode``, ``alpha``,
            ``colormap`` by name or ``"layer"``, ``norm``, ``percentiles``,
            ``threshold``, ``interpolation``); ``threshold=None`` sets 0.
            Options without a control are accepted at their default, so
            ``**overlay_options.as_kwargs()`` works too.

        Raises
        ------
        OptionValueError, OptionTypeError
            For an invalid value, an unknown option, or an option the widget
            has no control for away from its default (the message says why,
            and where to set it).

        Examples
        --------
        >>> widget.apply_options(mode="scaled", alpha=0.9)  # doctest: +SKIP
        >>> widget.mode.value, widget.alpha.value  # doctest: +SKIP
        ('scaled', 0.9)
        """
        values = control_values(**options)
        for name, value in values.items():
            if name == "colormap" and value not in self.colormap.choices:
                self.colormap.set_choice(value, value)
            self[name].value = value

    def reset_to_defaults(self) -> None:
        """Set every option control to its default, and ``live`` off.

        Unlike a new widget, which restores the controls of the last session,
        this gives the documented defaults (the ``overlay()`` defaults, with
        the heatmap layer's colormap). The layer pickers keep their choice.

        Examples
        --------
        >>> widget.reset_to_defaults()  # doctest: +SKIP
        >>> widget.alpha.value, widget.colormap.value  # doctest: +SKIP
        (0.5, 'layer')
        """
        self.live.value = False
        for control in CONTROLS:
            self[control.name].value = control.default

    def _request(
        self, image: Image | None, heatmap: Image | None, **values: Any
    ) -> None:
        """Plan an overlay from the controls' values and submit it."""
        if self.scheduler.closed:
            return
        if not _distinct(image, heatmap):
            show_info(
                "Heat overlay: choose an image layer and a different heatmap layer"
            )
            return
        try:
            plan = plan_overlay(image, heatmap, **overlay_kwargs(values))
        except (TypeError, ValueError) as error:
            self.scheduler.report(error)
            return
        self.scheduler.submit(plan)

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
        values = {name: self[name].value for name in CONTROL_BY_NAME}
        try:
            plan = plan_overlay(image, heatmap, **overlay_kwargs(values))
            image, heatmap, index = _figure_inputs(plan, self._viewer.dims.point)
            label = plan.sources["heatmap"]["name"]
            options = plan.options.as_kwargs()
            figure(image, heatmap, index=index, label=label, **options).savefig(path)
        except (OSError, TypeError, ValueError) as error:
            self.scheduler.report(error)
            return
        show_info(f"Heat overlay: figure saved to {path}")

    def _on_control_changed(self) -> None:
        if self.live.value and _distinct(self.image.value, self.heatmap.value):
            self()


def _controls_function(request: Callable[..., None]) -> Callable[..., None]:
    """The function magicgui builds the controls from, calling `request`.

    Its signature is made here: the two layer pickers, then keyword-only
    one parameter per option control, and ``live``.
    """

    def apply(image: Image | None, heatmap: Image | None, **values: Any) -> None:
        # live is read by the widget's change handler, not by the request
        values.pop("live")
        request(image, heatmap, **values)

    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    keyword = inspect.Parameter.KEYWORD_ONLY
    apply.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("image", positional, annotation=Image),
            inspect.Parameter("heatmap", positional, annotation=Image),
            *(control.parameter for control in CONTROLS),
            inspect.Parameter("live", keyword, default=False, annotation=bool),
        ]
    )
    # magicgui names the settings file after it: keep the one users have
    apply.__qualname__ = "HeatOverlayWidget._apply"
    return apply


def _figure_inputs(
    plan: OverlayPlan, world_point: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...] | None]:
    """The 2-D image, the fitted heatmap and its index for the shown slice.

    Of a pyramid, the finest level at most 4096 pixels on a side is drawn.
    """
    spatial_ndim = 3 if plan.options.rgb else 2
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
    """How many other layers `layer` beats as the `role` of a pair."""
    wins = 0
    for other in layers:
        if other is layer:
            continue
        image, _ = order_pair(other, layer)
        wins += (image is layer) == (role == "image")
    return wins
