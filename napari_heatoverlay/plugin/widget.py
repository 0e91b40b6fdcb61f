"""The "Heat overlay" dock widget: pick two layers, tune, preview, apply.

The option controls come from the engine's option table (see
:mod:`~napari_heatoverlay.plugin.controls`): an option with a ``widget``
dict gets a control without a change here. While the widget is open:

- a heatmap that does not cover the chosen image is aligned to it, once,
  undoably (:mod:`~napari_heatoverlay.plugin.align`);
- with ``preview`` on, napari itself draws the blend by restyling the
  heatmap layer (:mod:`~napari_heatoverlay.plugin.preview`), or, where it
  cannot, the result is baked on every change;
- Apply bakes the exact result layer through the widget's
  :class:`~napari_heatoverlay.plugin.scheduler.OverlayScheduler`, off the UI
  thread when it is much work;
- the contour field's levels are drawn as a Shapes layer
  (:mod:`~napari_heatoverlay.plugin.contour_layer`), and the Export buttons
  save a figure or a channel montage
  (:mod:`~napari_heatoverlay.plugin.export_actions`).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import napari.viewer
from magicgui.widgets import FunctionGui, Label, LineEdit, PushButton
from napari.layers import Image
from napari.utils.notifications import show_info, show_warning

from napari_heatoverlay.engine.contours import levels_from_text
from napari_heatoverlay.plugin.align import AlignStep, announce, auto_align
from napari_heatoverlay.plugin.contour_layer import ContourLines
from napari_heatoverlay.plugin.controls import (
    CONTROL_BY_NAME,
    CONTROLS,
    control_values,
    overlay_kwargs,
)
from napari_heatoverlay.plugin.export_actions import ExportActions
from napari_heatoverlay.plugin.layers import hide_stale_result
from napari_heatoverlay.plugin.pickers import (
    distinct,
    layer_choices,
    pick_for_new_layer,
)
from napari_heatoverlay.plugin.plan import OverlayPlan, plan_overlay
from napari_heatoverlay.plugin.preview import MEASURING, HeatPreview, preview_message
from napari_heatoverlay.plugin.scheduler import OverlayScheduler
from napari_heatoverlay.plugin.settings import dump_settings, load_settings
from napari_heatoverlay.plugin.view import WholeView
from napari_heatoverlay.plugin.widget_signature import controls_function

_PICKERS = ("image", "heatmap")


class HeatOverlayWidget(FunctionGui):
    """Dock widget laying a heatmap layer over an image layer.

    Apply adds (or updates in place, and shows) a result layer, as
    :func:`~napari_heatoverlay.add_overlay`; with ``live`` on, every change
    of a control updates it. With ``preview`` on (the default) napari draws
    the blend on the heatmap layer as the controls change, without
    computing pixels, and hides a result layer the change made stale; what
    napari cannot draw is baked on every change instead, and the label
    under the controls says why. Controls persist between sessions.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer whose layers the widget offers and adds results to.

    Attributes
    ----------
    scheduler : OverlayScheduler
        Runs the bakes of this widget in `viewer`.
    heat_preview : HeatPreview
        Restyles the heatmap layer while ``preview`` is on.
    last_alignment : AlignStep or None
        The alignment Undo align would undo.
    contour_lines : ContourLines
        Keeps the contour layer of the pair in step with the contour field.
    exports : ExportActions
        What Export figure… and Export montage… do.

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
        self.heat_preview = HeatPreview(viewer, on_settled=self._on_preview_settled)
        self.last_alignment: AlignStep | None = None
        self.contour_lines = ContourLines(viewer, self.scheduler.report)
        # docking narrows the canvas: a whole-scene view stays whole
        self._whole_view = WholeView(viewer)
        super().__init__(
            controls_function(self._request, _PICKERS, CONTROLS),
            call_button="Apply",
            persist=True,
            param_options={
                # an explicit widget_type makes magicgui keep these choices
                # rather than napari's (which list every layer)
                **{
                    role: {
                        "widget_type": "ComboBox",
                        "choices": partial(layer_choices, viewer, role),
                    }
                    for role in _PICKERS
                },
                **{control.name: control.magicgui_options for control in CONTROLS},
                "preview": {
                    "tooltip": "Let napari draw the blend on the heatmap layer as "
                    "you change the controls (no pixels computed); Apply bakes"
                },
                "live": {"tooltip": "Bake the result on every change"},
            },
        )
        self.extend(
            [
                LineEdit(
                    name="contours",
                    value="",
                    label="contours",
                    tooltip="Levels of normalised heat n in [0, 1], apart by commas "
                    "(e.g. 0.5, 0.8): their iso-lines are drawn as a Shapes layer "
                    "over the image, coloured by level; empty: none",
                    gui_only=True,
                ),
                Label(name="preview_status", value="", gui_only=True),
                PushButton(name="undo_align", text="Undo align", gui_only=True),
                PushButton(name="export_figure", text="Export figure…", gui_only=True),
                PushButton(
                    name="export_montage",
                    text="Export montage…",
                    tooltip="Save every channel of a (C, h, w) heatmap over the "
                    "image as one grid picture",
                    gui_only=True,
                ),
            ]
        )
        # a long reason wraps instead of widening the dock (and narrowing the
        # canvas); QLabel.setWordWrap, as magicgui's Label has no option
        self.preview_status.native.setWordWrap(True)
        if self.persist:  # magicgui restored the controls before this one existed
            load_settings(self, Path(self._dump_path), ("contours",))
        self.undo_align.enabled = False
        self.undo_align.changed.connect(self.undo_last_alignment)
        self.exports = ExportActions(viewer, self.scheduler.report, self.native)
        self.export_figure.changed.connect(partial(self._export, "figure"))
        self.export_montage.changed.connect(partial(self._export, "montage"))
        self.contours.changed.connect(lambda *_: self._refresh_contours())
        for name in _PICKERS:
            self[name].changed.connect(self._on_pair_changed)
        for name in CONTROL_BY_NAME:
            self[name].changed.connect(partial(self._refresh, option_changed=True))
        self.preview.changed.connect(self._on_preview_toggled)
        self.live.changed.connect(self._refresh)
        viewer.layers.events.inserted.connect(self._on_layer_inserted)
        self.native.destroyed.connect(self._close)
        self.native_parent_changed.connect(self._on_parent_changed)
        self._undocked = False
        self._on_pair_changed(bake=False)

    def apply_options(self, **options: Any) -> None:
        """Set the option controls to ``overlay()`` option values.

        Values are validated first; on an error no control changes. The
        preview (or, in live mode, the result) follows.

        Parameters
        ----------
        **options
            ``overlay()`` options that have a control (``mode``, ``alpha``,
            ``colormap`` by name or ``"layer"``, ``norm``, ``sign``,
            ``outlier_perc``, ``gamma``, ``percentiles``, ``threshold``,
            ``interpolation``); ``threshold=None`` sets 0. Options without a
            control are accepted at their default, so
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
        """Set every option control to its default, ``preview`` on, ``live`` off,
        no contours.

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
        self.preview.value = True
        self.contours.value = ""
        for control in CONTROLS:
            self[control.name].value = control.default

    def undo_last_alignment(self) -> None:
        """Put the heatmap the widget aligned last back where it was.

        Scale and translate return together, in one step; the layer is not
        aligned by itself again.
        """
        step, self.last_alignment = self.last_alignment, None
        self.undo_align.enabled = False
        if step is None:
            return
        if step.undo():
            show_info(f"Heat overlay: {step.layer.name!r} is back where it was")
        else:
            show_warning(
                f"Heat overlay: {step.layer.name!r} was moved after it was aligned; "
                "nothing was undone"
            )
        self._refresh()

    def _dump(self, path: str | Path | None = None) -> None:
        """Save the option controls (magicgui calls it on every change)."""
        dump_settings(self, Path(path or self._dump_path), _persisted())

    def _load(self, path: str | Path | None = None, quiet: bool = False) -> None:
        """Restore the option controls of the last session (magicgui calls it)."""
        load_settings(self, Path(path or self._dump_path), _persisted())

    def _plan(self) -> OverlayPlan | None:
        """The plan of the pickers and controls; None (reported) if none."""
        image, heatmap = self.image.value, self.heatmap.value
        if not distinct(image, heatmap):
            return None
        values = {name: self[name].value for name in CONTROL_BY_NAME}
        try:
            return plan_overlay(image, heatmap, **overlay_kwargs(values))
        except (TypeError, ValueError) as error:
            self.scheduler.report(error)
            return None

    def _request(
        self, image: Image | None, heatmap: Image | None, **values: Any
    ) -> None:
        """Plan an overlay from the controls' values and submit it (Apply)."""
        if self.scheduler.closed:
            return
        if not distinct(image, heatmap):
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

    def _on_pair_changed(self, *, bake: bool = True) -> None:
        """Align a newly chosen pair if it needs it, then preview it."""
        image, heatmap = self.image.value, self.heatmap.value
        if distinct(image, heatmap) and not self._undocked:
            try:
                step = auto_align(image, heatmap)
            except (TypeError, ValueError) as error:
                self.scheduler.report(error)
                step = None
            if step is not None:
                self.last_alignment = step
                self.undo_align.enabled = True
                announce(self._viewer, step, self.undo_last_alignment)
        self._refresh(bake=bake)

    def _on_layer_inserted(self, event: Any) -> None:
        """Pick a newly added heatmap (or image) layer."""
        if self._undocked:
            return
        self.reset_choices()
        image, heatmap = pick_for_new_layer(
            self._viewer, event.value, self.image.value, self.heatmap.value
        )
        changed = False
        for name, layer in zip(_PICKERS, (image, heatmap), strict=True):
            if layer is not None and self[name].value is not layer:
                with self[name].changed.blocked():
                    self[name].value = layer
                changed = True
        if changed:  # not for a result layer, say
            self._on_pair_changed()

    def _on_preview_toggled(self) -> None:
        if not self.preview.value:
            self.heat_preview.restore()
        self._refresh()

    def _refresh(self, *, option_changed: bool = False, bake: bool = True) -> None:
        """Follow a change: preview it, and bake if live or napari cannot draw it.

        `option_changed` says an option control changed (which makes a shown
        result stale); `bake` False only previews (when the widget opens).
        """
        if self.scheduler.closed:
            return
        if self._undocked:
            self.heat_preview.restore()
            return
        if not self.preview.value:
            self.heat_preview.restore()
            self.preview_status.value = "off"
            if (
                bake
                and self.live.value
                and distinct(self.image.value, self.heatmap.value)
            ):
                self()
            self._refresh_contours()
            return
        plan = self._plan()
        if plan is None:
            self.heat_preview.restore()
            self.preview_status.value = "choose an image and another heatmap"
            self.contour_lines.update(None, ())
            return
        try:
            problem = self.heat_preview.show(plan, self.image.value, self.heatmap.value)
        except (TypeError, ValueError) as error:
            self.heat_preview.restore()
            self.scheduler.report(error)
            return
        self._say_preview(problem)
        self._refresh_contours(plan)
        if not problem and option_changed and not self.live.value:
            hide_stale_result(self._viewer, plan)
        if bake and (self.live.value or problem not in ("", MEASURING)):
            self()

    def _on_preview_settled(self, problem: str) -> None:
        """A large heatmap was measured: follow the preview's answer."""
        if not self.preview.value or self.scheduler.closed:
            return
        self._say_preview(problem)
        if problem and not self.live.value:
            self()

    def _say_preview(self, problem: str) -> None:
        text = preview_message(problem, self.heat_preview.layer)
        if self.preview_status.value != text:  # a label repaints when set
            self.preview_status.value = text
            self.preview_status.tooltip = text

    def contour_levels(self) -> tuple[float, ...] | None:
        """The levels typed in the contour field; None (reported) if invalid.

        Examples
        --------
        >>> widget.contours.value = "0.5, 0.8"  # doctest: +SKIP
        >>> widget.contour_levels()  # doctest: +SKIP
        (0.5, 0.8)
        """
        try:
            return levels_from_text(self.contours.value)
        except (TypeError, ValueError) as error:
            self.scheduler.report(error)
            return None

    def _refresh_contours(self, plan: OverlayPlan | None = None) -> None:
        """Trace the contour field's levels for the pair, or remove the lines."""
        if self.scheduler.closed or self._undocked:
            return
        levels = self.contour_levels()
        if levels is None:
            return
        if levels and plan is None:
            plan = self._plan()
        self.contour_lines.update(plan, levels)

    def _export(self, what: str) -> None:
        """Export figure… or Export montage… of the chosen pair."""
        if not distinct(self.image.value, self.heatmap.value):
            show_info(
                "Heat overlay: choose an image and a different heatmap layer, "
                f"then Export {what}…"
            )
            return
        plan = self._plan()  # an error is reported
        if plan is None:
            return
        if what == "montage":
            self.exports.montage(plan)
            return
        levels = self.contour_levels()  # an error is reported
        if levels is not None:
            self.exports.figure(plan, levels)

    def _on_parent_changed(self, parent: Any) -> None:
        """Closing the dock unparents the widget (napari keeps it): stop
        aligning and previewing then, and start again if it is docked again."""
        self._undocked = parent is None
        self._refresh(bake=False)

    def _close(self) -> None:
        self.contour_lines.close()
        self._whole_view.close()
        self.heat_preview.close()
        self.scheduler.close()
        self._viewer.layers.events.inserted.disconnect(self._on_layer_inserted)


def _persisted() -> tuple[str, ...]:
    """The controls kept between sessions: all but the layer pickers."""
    return (*CONTROL_BY_NAME, "preview", "live", "contours")
