"""Read one 2-D heatmap from a feature file or a picture, as the command line does.

Feature files go through :mod:`napari_heatoverlay.io.features` (the napari
reader's code, so they are never unpickled); a picture is reduced to its
luminance. ``--key``, ``--channel`` and ``--reduce`` choose the map.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from napari_heatoverlay.engine.channels import reduce_channels
from napari_heatoverlay.engine.options import Reduction
from napari_heatoverlay.io.features import (
    FEATURE_SUFFIXES,
    FeatureArray,
    read_feature_arrays,
)
from napari_heatoverlay.io.images import IMAGE_SUFFIXES, InputError, _decode

HEATMAP_SUFFIXES: tuple[str, ...] = FEATURE_SUFFIXES + IMAGE_SUFFIXES
#: ITU-R BT.709 luma weights, as ``skimage.color.rgb2gray``.
LUMA_WEIGHTS = np.array([0.2125, 0.7154, 0.0721])


class OptionError(ValueError):
    """A command-line choice (``--key``, ``--channel`` ...) does not fit a file."""


def read_heatmap(
    path: str | os.PathLike,
    *,
    key: str | None = None,
    channel: int | None = None,
    reduce: str | None = None,
    spatial_dims: int = 2,
) -> np.ndarray:
    """Read one 2-D heatmap (or 3-D, a volume's) from a feature file or an image file.

    Parameters
    ----------
    path : str or os.PathLike
        A feature file (``.npy``, ``.npz``, ``.pt``, ``.pth``,
        ``.safetensors``; never unpickled) or an image file, whose luminance
        ``0.2125 R + 0.7154 G + 0.0721 B`` (in the file's own units) is the heat.
    key : str, optional
        Which array of a file holding several (an ``.npz`` entry, a
        state-dict key); needed unless the file holds exactly one.
    channel : int, optional
        Pick this channel of a (C, h, w) or (N, C, h, w) feature map; negative
        counts from the end. A map without a channel axis has one channel.
    reduce : {"mean", "max", "l2", "sum"}, optional
        Combine all channels instead: their mean, maximum, L2 norm
        ``sqrt(sum(c ** 2))`` or sum (captum's default over colour channels).
    spatial_dims : {2, 3}
        3 reads a (z, h, w) map for a volume: a 3-D array has no channel
        axis, and the axis before the last three is the channel axis.

    Returns
    -------
    ndarray of float64, shape (h, w), or (z, h, w) with ``spatial_dims=3``

    Raises
    ------
    OptionError
        If `key`, `channel` or `reduce` does not fit the file, or the map has
        several channels and neither `channel` nor `reduce` is given.
    InputError, FeatureFileError
        If the file cannot be read or holds no single 2-D map.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "features.npy"
    >>> np.save(path, np.ones((1, 4, 8, 8), dtype=np.float32))
    >>> read_heatmap(path, reduce="l2")[0, 0]
    np.float64(2.0)
    """
    source = Path(path)
    if source.suffix.lower() in FEATURE_SUFFIXES:
        heat, channel_axis, layout = _feature_heat(source, key)
    else:
        if key is not None:
            raise OptionError(
                f"{source} is an image file, which holds no named arrays: drop --key"
            )
        heat, channel_axis, layout = _image_heat(source)
    if spatial_dims == 3:
        channel_axis = heat.ndim - 4 if heat.ndim >= 4 else None
        layout = "?" * (heat.ndim - 3) + "ZHW"
    heat = _select_channel(source, heat, channel_axis, channel, reduce)
    if heat.ndim != spatial_dims:
        wanted = "(h, w)" if spatial_dims == 2 else "(z, h, w)"
        raise InputError(
            f"Cannot use {source} as one heatmap: after choosing the channel it "
            f"still has shape {heat.shape} (layout {layout}), and one overlay "
            f"needs one {wanted} map. Save one sample per file"
            + (
                ", or pass --spatial-dims 3 for a volume's map."
                if heat.ndim == 3
                else "."
            )
        )
    return np.asarray(heat, dtype=np.float64)


def _feature_heat(source: Path, key: str | None) -> tuple[Any, int | None, str]:
    feature = _choose_entry(source, read_feature_arrays(source), key)
    axes = feature.layout[len(feature.layout) - feature.data.ndim :]
    channel_axis = axes.index("C") if "C" in axes else None
    return feature.data, channel_axis, axes


def _choose_entry(
    source: Path, features: list[FeatureArray], key: str | None
) -> FeatureArray:
    keys = ", ".join(str(feature.key) for feature in features)
    if key is None:
        if len(features) == 1:
            return features[0]
        raise OptionError(
            f"{source} holds {len(features)} arrays; choose one with --key NAME "
            f"(one of: {keys})"
        )
    for feature in features:
        if feature.key == key:
            return feature
    if features[0].key is None:
        raise OptionError(f"{source} holds one unnamed array: drop --key {key}")
    raise OptionError(f"{source} has no array {key!r}; choose --key from: {keys}")


def _image_heat(source: Path) -> tuple[np.ndarray, int | None, str]:
    pixels = _decode(source).astype(np.float64, copy=False)
    if pixels.ndim == 3 and pixels.shape[-1] in (3, 4):
        return pixels[..., :3] @ LUMA_WEIGHTS, None, "HW"
    if pixels.ndim == 3 and pixels.shape[-1] == 2:
        return pixels[..., 0], None, "HW"
    if pixels.ndim == 3:
        return pixels, 0, "CHW"
    return pixels, None, "HW" if pixels.ndim == 2 else "?" * pixels.ndim


def _select_channel(
    source: Path,
    heat: Any,
    channel_axis: int | None,
    channel: int | None,
    reduce: str | None,
) -> Any:
    count = 1 if channel_axis is None else heat.shape[channel_axis]
    if channel is not None:
        if not -count <= channel < count:
            raise OptionError(
                f"--channel {channel} is out of range: {source} has {count} "
                f"channel(s), so use 0..{count - 1}"
            )
        return heat if channel_axis is None else np.take(heat, channel, channel_axis)
    if reduce is not None:
        if reduce not in tuple(Reduction):
            names = ", ".join(reduction.value for reduction in Reduction)
            raise OptionError(f"--reduce must be one of {names}, got {reduce!r}")
        return (
            heat
            if channel_axis is None
            else reduce_channels(heat, reduce, axis=channel_axis)
        )
    if count > 1:
        raise OptionError(
            f"{source} has {count} channels (shape {heat.shape}); pick one with "
            f"--channel K (0..{count - 1}) or combine them with "
            "--reduce mean|max|l2|sum"
        )
    return heat if channel_axis is None else np.take(heat, 0, channel_axis)
