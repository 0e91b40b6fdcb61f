"""A layer's ``metadata["heatoverlay"]`` record: read it, change it.

The record says what a layer is to this plugin (``role``: ``"image"``,
``"heatmap"``, ``"overlay"`` or ``"contours"``, the last two with the
``source_ids`` they were made from) and keeps what the plugin did to it, so that
it can be told apart from what the user did (``alignment``) or undone
(``style_before_preview``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    import napari.layers

#: The metadata key of the record.
KEY = "heatoverlay"


def record(layer: napari.layers.Layer) -> dict[str, Any]:
    """The layer's record (empty if it has none); do not change it in place.

    Examples
    --------
    >>> import numpy as np
    >>> from napari.layers import Image
    >>> record(Image(np.zeros((2, 2)), metadata={"heatoverlay": {"role": "heatmap"}}))
    {'role': 'heatmap'}
    """
    return layer.metadata.get(KEY, {})


def update_record(layer: napari.layers.Layer, **values: Any) -> None:
    """Set entries of the layer's record; None removes one.

    Examples
    --------
    >>> import numpy as np
    >>> from napari.layers import Image
    >>> layer = Image(np.zeros((2, 2)))
    >>> update_record(layer, role="heatmap", note="x")
    >>> update_record(layer, note=None)
    >>> layer.metadata
    {'heatoverlay': {'role': 'heatmap'}}
    """
    entries = dict(record(layer))
    for name, value in values.items():
        if value is None:
            entries.pop(name, None)
        else:
            entries[name] = value
    layer.metadata = {**layer.metadata, KEY: entries}


def source_ids(sources: dict[str, dict[str, str]]) -> dict[str, str]:
    """The layer ids of a plan's ``sources``, by role (what a record keeps).

    Examples
    --------
    >>> source_ids({"image": {"name": "photo", "id": "7"}})
    {'image': '7'}
    """
    return {role: source["id"] for role, source in sources.items()}


def made_from(
    layer: napari.layers.Layer, role: str, sources: dict[str, dict[str, str]]
) -> bool:
    """Whether `layer` is the plugin's `role` layer (``"overlay"``,
    ``"contours"``) made from these source layers (matched by id, so
    renaming them does not matter)."""
    entries = record(layer)
    return entries.get("role") == role and entries.get("source_ids") == source_ids(
        sources
    )


def find_made_from(
    layers: Iterable[napari.layers.Layer],
    role: str,
    sources: dict[str, dict[str, str]],
) -> napari.layers.Layer | None:
    """The first of `layers` that is :func:`made_from` `sources` as `role`.

    Examples
    --------
    >>> find_made_from([], "overlay", {"image": {"name": "a", "id": "1"}}) is None
    True
    """
    return next((layer for layer in layers if made_from(layer, role, sources)), None)
