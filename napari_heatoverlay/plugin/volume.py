"""A volume image with a coarser volume heatmap: which heat slice goes where.

A grey (Z, Y, X) image with a (z, h, w) heatmap, ``1 < z < Z``, is a volume
pair (:func:`is_volume_pair`): alignment lines it up along depth too, and
the bake, which resamples only the last two axes, takes for each image slice
the heat slice covering it, nearest along depth (:func:`depth_index`,
:func:`pick_depth`).
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


def depth_index(
    image_layer: napari.layers.Image, heatmap_layer: napari.layers.Image
) -> np.ndarray:
    """For each image slice of a volume pair, the heat slice covering it.

    With an identity transform along depth the heatmap is stretched over the
    image's depth (as in-plane); otherwise the two layers' world transforms
    say where its slices lie. Each image slice takes the heat slice whose
    centre is nearest; ``-1`` marks a slice no heat slice covers.

    Raises
    ------
    ValueError
        If no image slice is covered.

    Examples
    --------
    >>> import numpy as np
    >>> from napari.layers import Image
    >>> volume, coarse = Image(np.zeros((8, 4, 4))), Image(np.zeros((3, 2, 2)))
    >>> depth_index(volume, coarse)
    array([0, 0, 0, 1, 1, 2, 2, 2])
    >>> coarse.scale, coarse.translate = (2, 1, 1), (4, 0, 0)  # placed by hand
    >>> depth_index(volume, coarse)
    array([-1, -1, -1,  0,  0,  1,  1,  2])
    """
    image_depth = spatial_shape(image_layer)[-3]
    heat_depth = spatial_shape(heatmap_layer)[-3]
    slices = np.arange(image_depth, dtype=float)
    heat_scale = float(heatmap_layer.scale[-3])
    heat_translate = float(heatmap_layer.translate[-3])
    if np.isclose(heat_scale, 1) and np.isclose(heat_translate, 0):
        position = (slices + 0.5) * heat_depth / image_depth - 0.5
    else:
        world = float(image_layer.translate[-3]) + float(image_layer.scale[-3]) * slices
        position = (world - heat_translate) / heat_scale
    index = np.floor(position + 0.5).astype(int)
    index[(index < 0) | (index >= heat_depth)] = -1
    if np.all(index < 0):
        raise ValueError(
            f"heatmap layer {heatmap_layer.name!r} does not overlap image layer "
            f"{image_layer.name!r} along depth; use Layers > Visualize > Align "
            "heatmap to image, or reset the heatmap's scale and translate"
        )
    return index


def pick_depth(heatmap: Any, index: np.ndarray) -> Any:
    """The slices of `heatmap` along its third-last axis that `index` names.

    ``-1`` gives a NaN slice (no heat). Works on NumPy and dask arrays.

    Examples
    --------
    >>> import numpy as np
    >>> pick_depth(np.arange(8.0).reshape(2, 2, 2), np.array([1, -1]))[:, 0]
    array([[ 4.,  5.],
           [nan, nan]], dtype=float32)
    """
    if np.all(index >= 0):
        return heatmap[..., index, :, :]
    blank_shape = (*heatmap.shape[:-3], 1, *heatmap.shape[-2:])
    if hasattr(heatmap, "dask"):
        import dask.array as da

        blank = da.full(blank_shape, np.nan, dtype=np.float32)
        padded = da.concatenate([heatmap.astype(np.float32), blank], axis=-3)
    else:
        blank = np.full(blank_shape, np.nan, dtype=np.float32)
        padded = np.concatenate([np.asarray(heatmap, np.float32), blank], axis=-3)
    return padded[..., index, :, :]
