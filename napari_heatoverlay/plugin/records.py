"""A layer's ``metadata["heatoverlay"]`` record: read it, change it.

The record says what a layer is to this plugin (``role``: ``"image"``,
``"heatmap"`` or ``"overlay"``) and keeps what the plugin did to it, so that
it can be told apart from what the user did (``alignment``) or undone
(``style_before_preview``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
