"""The widget's two layer pickers: what they offer, and what they pick.

The image picker offers the likeliest image first, the heatmap picker the
likeliest heatmap (:func:`~napari_heatoverlay.plugin.plan.order_pair`:
metadata role, then RGB, then size); neither offers a result layer. When a
layer is added, :func:`pick_for_new_layer` says which picker takes it: a
layer whose record says it is a heatmap (the reader's, the sample's) or an
image goes to its picker; any other one only when the pickers do not hold
two different layers yet (then both are picked afresh).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from napari.layers import Image, Layer

from napari_heatoverlay.plugin.plan import order_pair
from napari_heatoverlay.plugin.records import record

if TYPE_CHECKING:
    import napari.viewer


def distinct(image: Layer | None, heatmap: Layer | None) -> bool:
    """Whether two layers are chosen and differ (pickers hold proxies: no ``is``).

    Examples
    --------
    >>> distinct(None, None)
    False
    """
    return (
        image is not None
        and heatmap is not None
        and image.unique_id != heatmap.unique_id
    )


def candidates(viewer: napari.viewer.Viewer) -> list[Image]:
    """The image layers a picker may offer: all but result layers."""
    return [
        layer
        for layer in viewer.layers
        if isinstance(layer, Image) and record(layer).get("role") != "overlay"
    ]


def layer_choices(
    viewer: napari.viewer.Viewer, role: str, _widget: Any = None
) -> list[tuple[str, Layer]]:
    """Image layers for the `role` picker, likeliest first.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer whose layers are offered.
    role : {"image", "heatmap"}
        The picker.
    _widget : object
        The combo box (magicgui passes it; unused).
    """
    layers = candidates(viewer)
    ranked = sorted(layers, key=lambda layer: _wins(layer, layers, role), reverse=True)
    return [(layer.name, layer) for layer in ranked]


def pick_for_new_layer(
    viewer: napari.viewer.Viewer,
    layer: Layer,
    image: Layer | None,
    heatmap: Layer | None,
) -> tuple[Layer | None, Layer | None]:
    """The (image, heatmap) pickers' values after `layer` was added.

    Examples
    --------
    >>> import numpy as np
    >>> from napari.layers import Image
    >>> photo, heat = Image(np.zeros((40, 60))), Image(np.zeros((4, 6)))
    >>> heat.metadata = {"heatoverlay": {"role": "heatmap"}}
    >>> pick_for_new_layer(viewer, heat, photo, photo) == (photo, heat)  # doctest: +SKIP
    True
    """
    if not isinstance(layer, Image):
        return image, heatmap
    role = record(layer).get("role")
    if role == "heatmap":
        return image, layer
    if role == "image":
        return layer, heatmap
    if role is None and not distinct(image, heatmap):
        return best_pair(viewer)
    return image, heatmap


def best_pair(viewer: napari.viewer.Viewer) -> tuple[Layer | None, Layer | None]:
    """The likeliest image and the likeliest other layer as heatmap."""
    images = [layer for _, layer in layer_choices(viewer, "image")]
    if not images:
        return None, None
    image = images[0]
    heatmaps = [layer for _, layer in layer_choices(viewer, "heatmap")]
    others = [layer for layer in heatmaps if layer is not image]
    return image, (others[0] if others else image)


def _wins(layer: Layer, layers: list[Layer], role: str) -> int:
    """How many other layers `layer` beats as the `role` of a pair."""
    wins = 0
    for other in layers:
        if other is layer:
            continue
        image, _ = order_pair(other, layer)
        wins += (image is layer) == (role == "image")
    return wins
