"""Export montage…: ask where, then save one tile per heatmap channel.

A heatmap layer with a channel axis, (C, h, w) over a (Y, X) image, say a
CNN feature map, is shown by napari one channel at a time. The montage lays
every channel of the shown slice over the image in one grid picture with
:func:`~napari_heatoverlay.montage`, from the same plan (the same fitted
heatmap and options) as the bake; the channels share one colour scale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import napari_heatoverlay.engine.inputs as _inputs
from napari_heatoverlay.plugin.dialogs import ask_save_path
from napari_heatoverlay.plugin.export import figure_inputs
from napari_heatoverlay.plugin.plan import OverlayPlan

#: The file types offered, as a dialog filter.
MONTAGE_FILTER = "Pictures (*.png *.jpg *.jpeg *.tif *.tiff)"
MONTAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def ask_montage_path(parent: Any = None, start: Path | None = None) -> Path | None:
    """Ask for the montage's file with a save dialog; None if cancelled.

    A name without a picture suffix gets ``.png``.
    """
    return ask_save_path(
        "Export montage", MONTAGE_FILTER, MONTAGE_SUFFIXES, parent=parent, start=start
    )


def montage_inputs(
    plan: OverlayPlan, world_point: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The shown 2-D image, the channel stack over it and the channels' labels.

    The channels are the heatmap's last leading axis (the one before h, w);
    its other leading axes are taken at the shown slice.

    Raises
    ------
    ValueError
        If the heatmap has no channel axis, or the pair is a volume.
    """
    check_channels(plan)
    heat = plan.fitted_heatmap()
    image, _, _ = figure_inputs(plan, world_point)
    index = plan.index_at(world_point)
    outer = _inputs.source_index(index, heat.shape[:-3]) if heat.ndim > 3 else ()
    stack = np.asarray(heat[outer])
    labels = [f"{k}" for k in range(stack.shape[0])]
    return image, stack, labels


def check_channels(plan: OverlayPlan) -> None:
    """Refuse a plan whose heatmap has no channel axis to lay out.

    Raises
    ------
    ValueError
        If the heatmap is one 2-D map, or a volume over a volume.
    """
    name = plan.sources["heatmap"]["name"]
    if plan.options.spatial_dims == 3 or plan.depth is not None:
        raise ValueError(
            f"heatmap layer {name!r} is a volume over a volume: its third-last axis "
            "is depth, not channels; Export montage lays the channels of a "
            "(C, h, w) feature map over one image"
        )
    if plan.heatmap.ndim < 3:
        raise ValueError(
            f"heatmap layer {name!r} is one 2-D map: Export montage needs channels, "
            "(C, h, w); use Export figure… for one map"
        )


def save_montage(
    plan: OverlayPlan, world_point: tuple[float, ...], path: Path
) -> np.ndarray:
    """Save the montage of the shown slice's channels to `path` (replacing it).

    Returns
    -------
    ndarray of uint8
        The montage written.

    Raises
    ------
    ValueError
        If the heatmap has no channel axis (see :func:`montage_inputs`).
    OSError
        If the file cannot be written.
    """
    from napari_heatoverlay.io.outputs import write_output
    from napari_heatoverlay.montages import montage

    image, stack, labels = montage_inputs(plan, world_point)
    options = plan.options.as_kwargs()
    grid = montage(image, stack, labels=labels, **options)
    write_output(path, grid, force=True)
    return grid
