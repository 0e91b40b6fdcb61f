"""A layer's look (colormap, window, blending, ...), kept and given back.

The preview restyles the heatmap layer itself; :func:`keep_style` stores the
layer's own look in its record first and :func:`restore_style` puts it back.
While a layer is restyled, :func:`own_colormap` is still the user's
colormap, which the widget's "heatmap layer's" colormap means.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_heatoverlay.plugin.records import record, update_record

if TYPE_CHECKING:
    import napari.layers

_SAVED = "style_before_preview"


@dataclass(frozen=True)
class LayerStyle:
    """How napari draws an image layer, in the layer's own property names.

    Examples
    --------
    >>> import numpy as np
    >>> from napari.layers import Image
    >>> layer = Image(np.zeros((2, 2)), opacity=0.6, colormap="inferno")
    >>> style = LayerStyle.of(layer)
    >>> style.opacity, style.colormap.name, style.blending
    (0.6, 'inferno', 'translucent')
    """

    colormap: Any
    contrast_limits_range: tuple[float, float]
    contrast_limits: tuple[float, float]
    gamma: float
    opacity: float
    blending: str
    interpolation2d: str
    interpolation3d: str

    @classmethod
    def of(cls, layer: napari.layers.Image) -> LayerStyle:
        """The style `layer` has now."""
        return cls(
            colormap=layer.colormap,
            contrast_limits_range=tuple(float(v) for v in layer.contrast_limits_range),
            contrast_limits=tuple(float(v) for v in layer.contrast_limits),
            gamma=float(layer.gamma),
            opacity=float(layer.opacity),
            blending=str(layer.blending),
            interpolation2d=str(layer.interpolation2d),
            interpolation3d=str(layer.interpolation3d),
        )

    def apply_to(self, layer: napari.layers.Image) -> None:
        """Give `layer` this style; unchanged properties are left alone.

        Each property napari is told about redraws the layer, so only what
        differs is set. The range of the contrast limits is set before them.
        """
        now = LayerStyle.of(layer)
        for field in fields(self):
            value = getattr(self, field.name)
            if not _same(getattr(now, field.name), value):
                setattr(layer, field.name, value)


def keep_style(layer: napari.layers.Image) -> None:
    """Store `layer`'s own style in its record, unless it is stored already."""
    if record(layer).get(_SAVED) is None:
        update_record(layer, **{_SAVED: LayerStyle.of(layer)})


def restore_style(layer: napari.layers.Image) -> None:
    """Give `layer` back the style :func:`keep_style` stored, and forget it.

    Examples
    --------
    >>> import numpy as np
    >>> from napari.layers import Image
    >>> layer = Image(np.zeros((2, 2)), opacity=0.6)
    >>> keep_style(layer)
    >>> layer.opacity = 1.0
    >>> restore_style(layer)
    >>> layer.opacity, "style_before_preview" in layer.metadata["heatoverlay"]
    (0.6, False)
    """
    saved = record(layer).get(_SAVED)
    if saved is None:
        return
    update_record(layer, **{_SAVED: None})
    saved.apply_to(layer)


def own_colormap(layer: napari.layers.Image) -> Any:
    """The layer's colormap, or its own one while the preview restyles it."""
    saved = record(layer).get(_SAVED)
    return layer.colormap if saved is None else saved.colormap


def _same(first: Any, second: Any) -> bool:
    if isinstance(first, str) or isinstance(second, str):
        return str(first) == str(second)
    if isinstance(first, tuple | float):
        return first == second
    return _same_colormap(first, second)


def _same_colormap(first: Any, second: Any) -> bool:
    return first is second or (
        first.name == second.name
        and str(first.interpolation) == str(second.interpolation)
        and np.array_equal(first.controls, second.controls)
        and np.array_equal(first.colors, second.colors)
    )
