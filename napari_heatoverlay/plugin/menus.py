"""The Layers > Visualize menu commands, on the two selected layers.

Every error ends in a napari notification that says what to change; nothing
is added or moved then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from napari_heatoverlay.plugin.align import announce, auto_align, mark_aligned
from napari_heatoverlay.plugin.geometry import aligned_transform
from napari_heatoverlay.plugin.layers import add_overlay
from napari_heatoverlay.plugin.plan import order_pair

if TYPE_CHECKING:
    import napari.layers
    import napari.viewer


def overlay_selected(viewer: napari.viewer.Viewer) -> None:
    """Menu command: overlay the selected heatmap layer on the selected image.

    A heatmap that does not cover the image, and that the user did not place,
    is aligned too (:func:`~napari_heatoverlay.plugin.align.auto_align`);
    the notification saying so offers to undo it. Errors become
    notifications; nothing is added then.

    Examples
    --------
    >>> viewer.layers.selection = {image, heatmap}  # doctest: +SKIP
    >>> overlay_selected(viewer)  # doctest: +SKIP
    """
    from napari.utils.notifications import show_error

    pair = selected_pair(viewer)
    if pair is None:
        return
    try:
        add_overlay(viewer, *pair)
        # after the result, so that a failure moves nothing; aligning does not
        # change the result (an identity heatmap is stretched over the image)
        step = auto_align(*pair)
    except (TypeError, ValueError) as error:
        show_error(f"Heat overlay: {error}")
        return
    if step is not None:
        announce(viewer, step, step.undo)


def align_selected(viewer: napari.viewer.Viewer) -> None:
    """Menu command: scale the selected heatmap so napari draws it on the image.

    See :func:`~napari_heatoverlay.plugin.geometry.aligned_transform`. The
    transform is recorded as the plugin's, so that the widget may align the
    layer again to another image.

    Examples
    --------
    >>> viewer.layers.selection = {image, heatmap}  # doctest: +SKIP
    >>> align_selected(viewer)  # doctest: +SKIP
    """
    from napari.utils.notifications import show_error

    pair = selected_pair(viewer)
    if pair is None:
        return
    image_layer, heatmap_layer = pair
    try:
        scale, translate = aligned_transform(image_layer, heatmap_layer)
        heatmap_layer.scale = scale
        heatmap_layer.translate = translate
    except (TypeError, ValueError) as error:
        show_error(f"Heat overlay: {error}")
        return
    mark_aligned(heatmap_layer)


def selected_pair(
    viewer: napari.viewer.Viewer,
) -> tuple[napari.layers.Image, napari.layers.Image] | None:
    """(image, heatmap) from exactly two selected image layers, else warn.

    Returns None, after a notification saying what to select, unless exactly
    two image layers are selected.

    Examples
    --------
    >>> viewer.layers.selection = {heatmap, image}  # doctest: +SKIP
    >>> selected_pair(viewer) == (image, heatmap)  # doctest: +SKIP
    True
    """
    from napari.layers import Image
    from napari.utils.notifications import show_warning

    selected = [layer for layer in viewer.layers if layer in viewer.layers.selection]
    if len(selected) != 2 or not all(isinstance(layer, Image) for layer in selected):
        show_warning(
            "Heat overlay: select exactly two image layers in the layer list, the "
            "image and the heatmap (Ctrl/Cmd-click to select the second), then "
            f"try again. Now selected: {len(selected)} layer(s)."
        )
        return None
    return order_pair(*selected)
