"""Export figure…: ask where, then save image | heatmap | overlay as a figure.

:func:`ask_figure_path` shows the save dialog; tests replace that one
function. :func:`save_figure` draws the slice the
viewer shows with :func:`~napari_heatoverlay.figure`, from the same plan
(hence the same options and pixels) as the bake.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import napari_heatoverlay.engine.inputs as _inputs
from napari_heatoverlay.plugin.dialogs import ask_save_path
from napari_heatoverlay.plugin.plan import OverlayPlan
from napari_heatoverlay.plugin.volume import heat_on_image_depth

#: Of a pyramid, the finest level at most this many pixels on a side is drawn.
FIGURE_MAX_SIDE = 4096
#: The file types offered, as a dialog filter.
FIGURE_FILTER = "Figures (*.png *.pdf *.svg)"
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def ask_figure_path(parent: Any = None, start: Path | None = None) -> Path | None:
    """Ask for the figure's file with a save dialog; None if cancelled.

    A name without a figure suffix gets ``.png``.

    Parameters
    ----------
    parent : QWidget, optional
        The widget the dialog belongs to.
    start : Path, optional
        Where the dialog starts.
    """
    return ask_save_path(
        "Export figure", FIGURE_FILTER, FIGURE_SUFFIXES, parent=parent, start=start
    )


def save_figure(
    plan: OverlayPlan,
    world_point: tuple[float, ...],
    path: Path,
    contours: tuple[float, ...] = (),
) -> None:
    """Save image | heatmap | overlay with a colour bar for the shown slice.

    Parameters
    ----------
    plan : OverlayPlan
        The pair and the options, as for the bake.
    world_point : tuple of float
        The viewer's dims point (which slice of a stack).
    path : Path
        A ``.png``, ``.pdf`` or ``.svg`` file.
    contours : tuple of float
        Levels whose lines the figure draws and marks on its colour bar (the
        widget's contour field).

    Raises
    ------
    OSError
        If the file cannot be written.
    """
    from napari_heatoverlay.figures import figure

    image, heatmap, index = figure_inputs(plan, world_point)
    label = plan.sources["heatmap"]["name"]
    # a volume's heat comes resampled onto the image's slices: one 2-D pair
    options = {**plan.options.as_kwargs(), "spatial_dims": 2}
    drawing = figure(
        image,
        heatmap,
        index=index,
        label=label,
        contours=list(contours) or None,
        **options,
    )
    drawing.savefig(path)


def figure_inputs(
    plan: OverlayPlan, world_point: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...] | None]:
    """The 2-D image, the fitted heatmap and its index for the shown slice.

    Of a pyramid, the finest level at most :data:`FIGURE_MAX_SIDE` pixels on
    a side is drawn. For a 3-D bake the heatmap is resampled along depth
    onto the image's slices (:func:`~napari_heatoverlay.plugin.volume.heat_on_image_depth`),
    so the figure's window is that of the heat on the image's slices.
    """
    spatial_ndim = 3 if plan.options.rgb else 2
    levels = plan.image if plan.multiscale else [plan.image]
    fitting = [
        level
        for level in levels
        if max(level.shape[-spatial_ndim:][:2]) <= FIGURE_MAX_SIDE
    ]
    image = (fitting or levels[-1:])[0]
    index = plan.index_at(world_point)
    image_lead = image.shape[: image.ndim - spatial_ndim]
    image = np.asarray(image[_inputs.source_index(index, image_lead)])
    heatmap = np.asarray(plan.fitted_heatmap())
    if plan.options.spatial_dims == 3:
        order = plan.options.interpolation.order
        heatmap = heat_on_image_depth(heatmap, plan.lead[-1], order)
    return image, heatmap, _inputs.source_index(index, heatmap.shape[:-2]) or None
