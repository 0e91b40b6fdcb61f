"""A volume image with a coarser volume heatmap.

A grey (Z, Y, X) image with a (z, h, w) heatmap, ``1 < z < Z``, is a volume
pair (:func:`is_volume_pair`): alignment lines it up along depth too, and
the bake resamples the heatmap in 3-D (the engine's ``spatial_dims=3``),
following the layers' world transforms along depth as in-plane
(:func:`~napari_heatoverlay.plugin.geometry.heatmap_window`).
:func:`heat_on_image_depth` gives the raw heat of each image slice, for a
figure of one slice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import napari.layers


def spatial_shape(layer: napari.layers.Image) -> tuple[int, ...]:
    """The shape of a layer's (finest) data without its colour axis.

    Examples
    --------
    >>> import numpy as np
    >>> from napari.layers import Image
    >>> spatial_shape(Image(np.zeros((4, 5, 3)), rgb=True))
    (4, 5)
    """
    data = layer.data[0] if layer.multiscale else layer.data
    return tuple(data.shape[:-1] if layer.rgb else data.shape)


def is_volume_pair(
    image_layer: napari.layers.Image, heatmap_layer: napari.layers.Image
) -> bool:
    """Whether the heatmap is a coarser volume over a volume image.

    That is, both have a third-last axis and the heatmap has fewer (but more
    than one) slices along it than the image: a (Z, Y, X) image with a
    (z, h, w) map, ``1 < z < Z``. Equal depths are a stack of 2-D pairs, as
    before; a map of one slice covers every image slice.

    Examples
    --------
    >>> import numpy as np
    >>> from napari.layers import Image
    >>> is_volume_pair(Image(np.zeros((64, 80, 80))), Image(np.zeros((8, 10, 10))))
    True
    >>> is_volume_pair(Image(np.zeros((3, 80, 80))), Image(np.zeros((3, 10, 10))))
    False
    """
    image_shape, heat_shape = spatial_shape(image_layer), spatial_shape(heatmap_layer)
    if len(image_shape) < 3 or len(heat_shape) < 3:
        return False
    return 1 < heat_shape[-3] < image_shape[-3]


def heat_on_image_depth(heat: Any, depth: int, order: int) -> np.ndarray:
    """`heat` (..., z, h, w) resampled along z to (..., depth, h, w), float32.

    The raw values, with the spline of `order` the 3-D bake uses along
    depth (pixel-centre aligned, edge mode; anti-aliased when reduced);
    NaN stays NaN over its nearest-neighbour footprint. A figure of one
    image slice draws its row of this.

    Examples
    --------
    >>> import numpy as np
    >>> heat = np.array([0.0, 4.0, 8.0]).reshape(3, 1, 1)
    >>> heat_on_image_depth(heat, 6, order=1)[:, 0, 0]
    array([0., 1., 3., 5., 7., 8.], dtype=float32)
    """
    from napari_heatoverlay.engine.resample import AxisPlan, apply_taps

    values = np.asarray(heat, dtype=np.float64)
    axis = values.ndim - 3
    plan = AxisPlan(values.shape[axis], depth, order)
    finite = np.isfinite(values)
    filled = np.where(finite, values, 0.0)
    if plan.direct:
        out = plan.reduce(filled, axis)
    else:
        out = apply_taps(plan.prefilter(filled, axis), plan.taps(), axis)
    out = np.asarray(out, dtype=np.float32)
    if not finite.all():
        out[~np.take(finite, plan.nearest(), axis=axis)] = np.nan
    return out
