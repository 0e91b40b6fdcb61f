"""Where a heatmap layer lies on an image layer, from their world transforms.

Only scale and translate are followed (:func:`check_transform`).
:func:`heatmap_window` finds the heatmap pixels (and, for a volume pair,
slices) that span the image's field of view and :func:`fit_field_of_view`
cuts them out; :func:`result_transform` places the result; :func:`aligned_transform` moves a heatmap onto the image
(along depth too for a volume pair, see :mod:`~napari_heatoverlay.plugin.volume`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from napari_heatoverlay.plugin.volume import is_volume_pair, spatial_shape

if TYPE_CHECKING:
    import napari.layers


def fit_field_of_view(heatmap: Any, *windows: tuple[int, int]) -> Any:
    """Crop ``heatmap``'s last axes to ``windows``, padding with NaN beyond its edges.

    One half-open ``(start, stop)`` window per trailing axis: ``rows, cols``,
    or ``depth, rows, cols`` for a volume. NaN carries no heat, so the image
    shows where the heatmap has no data.

    Examples
    --------
    >>> import numpy as np
    >>> fit_field_of_view(np.ones((2, 2)), (0, 2), (-1, 2))
    array([[nan,  1.,  1.],
           [nan,  1.,  1.]], dtype=float32)
    >>> fit_field_of_view(np.ones((2, 1, 1)), (1, 3), (0, 1), (0, 1))[:, 0, 0]
    array([ 1., nan], dtype=float32)
    """
    size = heatmap.shape[-len(windows) :]
    crop = (
        slice(max(start, 0), min(stop, extent))
        for (start, stop), extent in zip(windows, size, strict=True)
    )
    cropped = heatmap[(..., *crop)]
    pad = window_padding(windows, size)
    if not any(before or after for before, after in pad):
        return cropped
    widths = [(0, 0)] * (heatmap.ndim - len(windows)) + pad
    filled = cropped.astype(np.float32)
    return np.pad(filled, widths, constant_values=np.nan)


def window_padding(
    windows: tuple[tuple[int, int], ...], size: tuple[int, ...]
) -> list[tuple[int, int]]:
    """NaN entries before and after each axis of a window.

    Examples
    --------
    >>> window_padding(((-2, 3), (-1, 4), (0, 5)), (4, 3, 3))
    [(2, 0), (1, 1), (0, 2)]
    """
    return [
        (max(-start, 0), max(stop - extent, 0))
        for (start, stop), extent in zip(windows, size, strict=True)
    ]


def nan_padding(
    rows: tuple[int, int], cols: tuple[int, int], size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """NaN rows before and after, then columns before and after, of a window.

    Examples
    --------
    >>> nan_padding((-1, 4), (0, 5), (3, 3))
    (1, 1, 0, 2)
    """
    (top, bottom), (left, right) = window_padding((rows, cols), size)
    return top, bottom, left, right


def check_transform(layer: napari.layers.Layer) -> None:
    """Refuse a layer whose transform is more than scale and translate.

    Raises
    ------
    ValueError
        For a rotated, sheared or affine-transformed layer.

    Examples
    --------
    >>> import numpy as np
    >>> from napari.layers import Image
    >>> check_transform(Image(np.zeros((4, 4)), scale=(2, 2)))
    >>> check_transform(Image(np.zeros((4, 4)), name="tilted", rotate=30))
    Traceback (most recent call last):
    ...
    ValueError: layer 'tilted' is rotated, sheared or has an affine transform; heat overlays follow only scale and translate, so reset the others (layer.rotate, layer.shear, layer.affine) first
    """
    ndim = layer.ndim
    rotated = not np.allclose(layer.rotate, np.eye(ndim))
    sheared = not np.allclose(layer.shear, 0)
    affine = not np.allclose(layer.affine.affine_matrix, np.eye(ndim + 1))
    if rotated or sheared or affine:
        raise ValueError(
            f"layer {layer.name!r} is rotated, sheared or has an affine transform; "
            "heat overlays follow only scale and translate, so reset the others "
            "(layer.rotate, layer.shear, layer.affine) first"
        )


def heatmap_window(
    image_layer: napari.layers.Image,
    heatmap_layer: napari.layers.Image,
    image_size: tuple[int, ...],
    heatmap_size: tuple[int, ...],
) -> tuple[tuple[int, int], ...]:
    """Heatmap rows and columns (and slices) spanning the image's field of view.

    A heatmap with an identity transform covers the image (the Grad-CAM
    convention); otherwise the two layers' world transforms say where it
    lies, to the nearest heatmap pixel. Given three sizes (a volume pair
    baked in 3-D), depth is decided the same way on its own: a heatmap with
    an identity transform along depth is stretched over the image's slices.

    Parameters
    ----------
    image_layer, heatmap_layer : napari.layers.Image
        The two layers; only their last two (or three) axes' scale and
        translate count.
    image_size, heatmap_size : tuple of int
        The layers' (rows, columns), or (slices, rows, columns).

    Returns
    -------
    tuple of (int, int)
        ``rows, cols`` (or ``depth, rows, cols``), each half-open; beyond
        the heatmap's edges where it does not cover the whole image.

    Raises
    ------
    ValueError
        If the heatmap lies outside the image's field of view.

    Examples
    --------
    >>> import numpy as np
    >>> from napari.layers import Image
    >>> image = Image(np.zeros((60, 90)))
    >>> heat = Image(np.zeros((10, 12)), scale=(10, 10), translate=(-15.5, -5.5))
    >>> heatmap_window(image, heat, (60, 90), (10, 12))
    ((2, 8), (1, 10))
    >>> volume, coarse = Image(np.zeros((8, 4, 4))), Image(np.zeros((3, 2, 2)))
    >>> coarse.scale, coarse.translate = (2, 2, 2), (4.5, 0.5, 0.5)  # by hand
    >>> heatmap_window(volume, coarse, (8, 4, 4), (3, 2, 2))
    ((-2, 2), (0, 2), (0, 2))
    """
    groups = [(-2, -1)] if len(image_size) == 2 else [(-3,), (-2, -1)]
    windows: list[tuple[int, int]] = []
    for axes in groups:
        windows += _world_window(
            image_layer,
            heatmap_layer,
            axes,
            tuple(image_size[axis] for axis in axes),
            tuple(heatmap_size[axis] for axis in axes),
        )
    return tuple(windows)


def _world_window(
    image_layer: napari.layers.Image,
    heatmap_layer: napari.layers.Image,
    axes: tuple[int, ...],
    image_size: tuple[int, ...],
    heatmap_size: tuple[int, ...],
) -> list[tuple[int, int]]:
    """:func:`heatmap_window` for one group of (negative) axes: the last two
    (in-plane), or depth."""

    def along(values: Any) -> np.ndarray:
        return np.asarray([values[axis] for axis in axes], dtype=float)

    heat_scale = along(heatmap_layer.scale)
    heat_translate = along(heatmap_layer.translate)
    if np.allclose(heat_scale, 1) and np.allclose(heat_translate, 0):
        return [(0, int(size)) for size in heatmap_size]
    image_scale = along(image_layer.scale)
    image_translate = along(image_layer.translate)
    size = np.asarray(image_size, dtype=float)
    # pixel edges of the image's field of view, in heatmap pixel-edge units
    first = (image_translate - image_scale / 2 - heat_translate) / heat_scale + 0.5
    last = (
        image_translate + image_scale * (size - 0.5) - heat_translate
    ) / heat_scale + 0.5
    start = np.floor(first + 0.5).astype(int)
    stop = np.maximum(np.floor(last + 0.5).astype(int), start + 1)
    if np.any(stop <= 0) or np.any(start >= np.asarray(heatmap_size)):
        where = "along depth" if len(image_size) == 1 else "in world coordinates"
        raise ValueError(
            f"heatmap layer {heatmap_layer.name!r} does not overlap image layer "
            f"{image_layer.name!r} {where}; use Layers > Visualize > "
            "Align heatmap to image, or reset the heatmap's scale and translate "
            "to 1 and 0 so that it is stretched over the image"
        )
    return [(int(a), int(b)) for a, b in zip(start, stop, strict=True)]


def result_transform(
    image_layer: napari.layers.Image,
    heatmap_layer: napari.layers.Image,
    lead_ndim: int,
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The result's scale and translate: the image's, plus the leading axes'.

    Each of the `lead_ndim` leading axes takes the image's transform where
    the image has that axis, else the heatmap's, else scale 1, translate 0.

    Examples
    --------
    >>> import numpy as np
    >>> from napari.layers import Image
    >>> image = Image(np.zeros((30, 40)), scale=(0.5, 0.5), translate=(10, 20))
    >>> heat = Image(np.zeros((4, 3, 4)), scale=(2, 1, 1))
    >>> result_transform(image, heat, 1)
    ((2.0, 0.5, 0.5), (0.0, 10.0, 20.0))
    """
    scale, translate = [1.0] * (lead_ndim + 2), [0.0] * (lead_ndim + 2)
    # heatmap first, so that the image's own axes win where both have one
    for layer in (heatmap_layer, image_layer):
        layer_lead = layer.ndim - 2
        for axis in range(1, min(layer_lead, lead_ndim) + 1):
            scale[-2 - axis] = float(layer.scale[layer_lead - axis])
            translate[-2 - axis] = float(layer.translate[layer_lead - axis])
    scale[-2:] = (float(s) for s in image_layer.scale[-2:])
    translate[-2:] = (float(t) for t in image_layer.translate[-2:])
    return tuple(scale), tuple(translate)


def aligned_transform(
    image_layer: napari.layers.Image, heatmap_layer: napari.layers.Image
) -> tuple[np.ndarray, np.ndarray]:
    """The heatmap scale and translate that line it up with the image.

    For a factor ``s = image size / heatmap size`` per axis, the heatmap gets
    ``scale = image_scale * s`` and ``translate = image_translate +
    image_scale * (s - 1) / 2``, which puts the centres of its pixels on the
    centres of the image blocks they summarise. The last two axes are
    aligned, and depth too for a volume pair (:func:`is_volume_pair`); other
    leading axes are untouched.

    Examples
    --------
    >>> import numpy as np
    >>> from napari.layers import Image
    >>> image = Image(np.zeros((40, 60)), scale=(2, 2))
    >>> heat = Image(np.zeros((4, 6)))
    >>> aligned_transform(image, heat)
    (array([20., 20.]), array([9., 9.]))
    >>> volume, coarse = Image(np.zeros((32, 40, 60))), Image(np.zeros((4, 4, 6)))
    >>> aligned_transform(volume, coarse)[0]
    array([ 8., 10., 10.])
    """
    axes = 3 if is_volume_pair(image_layer, heatmap_layer) else 2
    image_size = np.asarray(spatial_shape(image_layer)[-axes:], float)
    factor = image_size / np.asarray(spatial_shape(heatmap_layer)[-axes:], float)
    image_scale = np.asarray(image_layer.scale[-axes:], float)
    image_translate = np.asarray(image_layer.translate[-axes:], float)
    scale = np.array(heatmap_layer.scale, float)
    translate = np.array(heatmap_layer.translate, float)
    scale[-axes:] = image_scale * factor
    translate[-axes:] = image_translate + image_scale * (factor - 1) / 2
    return scale, translate
