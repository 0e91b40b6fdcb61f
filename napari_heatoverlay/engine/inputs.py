"""Check and coerce what users pass to :func:`overlay`.

Every error names the argument, what it got and what it accepts.
"""

from __future__ import annotations

import math
import sys
import warnings
from typing import Any

import numpy as np


def is_dask(array: Any) -> bool:
    """True for a dask array (without importing dask when it is not in use)."""
    if "dask.array" not in sys.modules:
        return False
    import dask.array as da

    return isinstance(array, da.Array)


def as_array(value: Any, name: str) -> Any:
    """Return a NumPy or dask array for ``value``.

    Torch tensors are detached and moved to the CPU; zarr arrays become lazy
    dask arrays (they may be larger than memory); anything else goes through
    ``np.asarray``.
    """
    if isinstance(value, np.ndarray) or is_dask(value):
        array = value
    elif hasattr(value, "detach") and hasattr(value, "cpu"):
        array = value.detach().cpu().numpy()
    elif type(value).__module__.startswith("zarr"):
        import dask.array as da

        array = da.from_array(value, chunks=value.chunks)
    else:
        try:
            array = np.asarray(value)
        except Exception as error:
            raise TypeError(
                f"{name} must be an array (NumPy, dask, zarr or torch), "
                f"got {type(value).__name__}: {error}"
            ) from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers (bool, integer or float), got dtype "
            f"{array.dtype}; convert it first, e.g. np.abs(x) for complex data"
        )
    if array.size == 0:
        raise ValueError(
            f"{name} is empty (shape {array.shape}); pass a non-empty array"
        )
    return _native(array)


def _native(array: Any) -> Any:
    """The array in a dtype the blend reads: native byte order, at most float64."""
    dtype = array.dtype
    if dtype.kind == "f" and dtype.itemsize > 8:
        return array.astype(np.float64)
    if not dtype.isnative:
        return array.astype(dtype.newbyteorder("="))
    return array


def split_image(
    image: Any, rgb: bool | None, channel_axis: int | None = None
) -> tuple[Any, bool]:
    """Return ``image`` as (..., Y, X, C) with C in {1, 3} and whether it is RGB.

    `channel_axis` moves a colour axis elsewhere than last to the end. A last
    axis of size 1 is grey (a (28, 28, 1) image is one 28 x 28 picture)
    unless ``rgb=False`` says the last axis is X, as napari says for every
    grey layer (a (T, Y, 1) line scan stays T pictures of width 1).
    """
    if channel_axis is not None:
        image = _colour_last(image, channel_axis)
        rgb = True
    elif rgb is None and image.ndim >= 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if rgb is None:
        rgb = image.ndim >= 3 and image.shape[-1] in (3, 4)
        if not rgb:
            _warn_if_channels_first(image.shape)
    if rgb:
        if image.ndim < 3 or image.shape[-1] not in (3, 4):
            raise ValueError(
                "image with rgb=True must have shape (..., Y, X, 3) or "
                f"(..., Y, X, 4), got {image.shape}; for colour on another "
                "axis pass channel_axis"
            )
        image = image[..., :3]
    else:
        if image.ndim < 2:
            raise ValueError(
                f"image must be at least 2-D (Y, X) or (Y, X, 3), got shape {image.shape}"
            )
        image = image[..., None]
    if image.dtype == np.bool_:
        image = image.astype(np.uint8) * np.uint8(255)
    elif image.dtype == np.float16:
        image = image.astype(np.float32)
    return image, bool(rgb)


def _colour_last(image: Any, channel_axis: int) -> Any:
    if not -image.ndim <= channel_axis < image.ndim:
        raise ValueError(
            f"channel_axis={channel_axis} is out of range for an image of shape "
            f"{image.shape}; use an axis in {-image.ndim}..{image.ndim - 1}"
        )
    size = image.shape[channel_axis]
    if size not in (3, 4):
        raise ValueError(
            f"channel_axis={channel_axis} points at an axis of size {size} in an "
            f"image of shape {image.shape}; the colour axis must have 3 (RGB) or "
            "4 (RGBA) entries"
        )
    if image.ndim < 3:
        raise ValueError(
            f"an image with a colour axis needs two more axes (Y, X), got shape "
            f"{image.shape}"
        )
    return np.moveaxis(image, channel_axis, -1)


def _warn_if_channels_first(shape: tuple[int, ...]) -> None:
    if len(shape) >= 3 and shape[0] == 3:
        axis = 0
    elif len(shape) == 4 and shape[1] == 3:
        axis = 1
    else:
        return
    warnings.warn(
        f"image has shape {shape}: its axis {axis} of size 3 looks like "
        "channels-first colour (a torch image), but it is read as 3 grey "
        f"images; pass channel_axis={axis} to read it as colour, or rgb=False "
        "to keep grey slices and silence this warning",
        UserWarning,
        stacklevel=4,
    )


def is_array_list(value: Any) -> bool:
    """True for a non-empty list or tuple of arrays (a pyramid), not of numbers."""
    return (
        isinstance(value, list | tuple)
        and len(value) > 0
        and all(hasattr(item, "shape") and hasattr(item, "dtype") for item in value)
    )


def check_heatmap(heatmap: Any) -> Any:
    """Check the heatmap is at least 2-D; return it as float-capable array."""
    if heatmap.ndim < 2:
        raise ValueError(
            f"heatmap must be at least 2-D (h, w), got shape {heatmap.shape}; "
            f"{_reshape_hint(heatmap.size)}"
        )
    if heatmap.dtype == np.bool_:
        return heatmap.astype(np.uint8)
    return heatmap


def _reshape_hint(size: int) -> str:
    """How to turn a flat vector of `size` values into a map."""
    side = math.isqrt(size)
    if side * side == size and size > 1:
        return f"reshape it to its grid first, e.g. heatmap.reshape({side}, {side})"
    side = math.isqrt(size - 1)
    if size > 2 and side * side == size - 1:
        return (
            f"{size} = 1 + {side}x{side} looks like a vision transformer's tokens: "
            f"drop the class token and reshape, heatmap[1:].reshape({side}, {side})"
        )
    return "reshape it to its (h, w) grid first, e.g. heatmap.reshape(h, w)"


def leading_shape(image_lead: tuple, heat_lead: tuple) -> tuple[int, ...]:
    """Broadcast the non-spatial axes of image and heatmap."""
    try:
        return tuple(np.broadcast_shapes(image_lead, heat_lead))
    except ValueError:
        raise ValueError(
            f"the leading (non-spatial) axes of image {image_lead} and heatmap "
            f"{heat_lead} do not broadcast; they must match or be 1, as in NumPy "
            "(e.g. a (C, h, w) map on one (Y, X, 3) image, or (T, h, w) on (T, Y, X, 3))"
        ) from None


def source_index(index: tuple[int, ...], lead: tuple[int, ...]) -> tuple[int, ...]:
    """Map an output leading index to the index into an array with ``lead``."""
    offset = len(index) - len(lead)
    return tuple(
        0 if size == 1 else index[offset + axis] for axis, size in enumerate(lead)
    )


def image_range_for(
    image: Any, image_range: tuple[float, float] | None
) -> tuple[float, float]:
    """Resolve a validated ``image_range``: the raw values that map to 0 and 255."""
    if image_range is not None:
        return image_range
    if image.dtype == np.uint8:
        return 0.0, 255.0
    if is_dask(image):
        if image.dtype.kind in "iu":
            info = np.iinfo(image.dtype)
            return float(info.min), float(info.max)
        return 0.0, 1.0
    values = np.asarray(image)
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if values.dtype.kind == "f" and lo >= 0.0 and hi <= 1.0:
        return 0.0, 1.0
    return lo, hi
