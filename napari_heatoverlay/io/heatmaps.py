"""Read one 2-D heatmap from a feature file or a picture, as the command line does.

Feature files go through :mod:`napari_heatoverlay.io.features` (the napari
reader's code, so they are never unpickled); a picture is reduced to its
luminance. ``--key``, ``--channel`` and ``--reduce`` choose the map.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

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
    ndarray, shape (h, w), or (z, h, w) with ``spatial_dims=3``
        In the file's own dtype (the engine normalises every dtype exactly);
        a large ``.npy`` map stays memory-mapped instead of being copied. An
        image's luminance and a reduction of channels are float64.

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
    stored = read_heatmap_stack(path, key=key)
    source, heat, layout = stored.source, stored.data, stored.layout
    if spatial_dims == 3:
        layout = "?" * (heat.ndim - 3) + "ZHW"
        stored = stored._replace(
            channel_axis=heat.ndim - 4 if heat.ndim >= 4 else None, layout=layout
        )
    heat = choose_channels(stored, channel=channel, reduce=reduce, single=True).data
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
    return np.asarray(heat)


class HeatmapStack(NamedTuple):
    """The array of a heatmap file, and where its channels are.

    Attributes
    ----------
    data : ndarray
        The values as stored (a read-only memory map for ``.npy`` files,
        until a channel is chosen), or a picture's luminance.
    channel_axis : int or None
        The axis of `data` that holds the channels; None when there is none
        (the map is one channel) or once one was picked or they were reduced.
    channels : tuple of int or None
        The file's numbers of the channels in `data`, along `channel_axis`
        (``(k,)`` after picking channel ``k``); None after reducing them.
    layout : str
        The letters of the file's axes, e.g. ``"NCHW"``, ``"CHW"``, ``"HW"``.
    source : pathlib.Path
        The file, for messages.
    """

    data: Any
    channel_axis: int | None
    channels: tuple[int, ...] | None
    layout: str
    source: Path


#: ``channel_axis`` of :func:`read_heatmap_stack`: where the file's layout says.
FILE_LAYOUT = "layout"


def read_heatmap_stack(
    path: str | os.PathLike,
    *,
    key: str | None = None,
    channel: int | slice | None = None,
    reduce: str | None = None,
    channel_axis: int | str | None = FILE_LAYOUT,
    max_bytes: int | None = None,
) -> HeatmapStack:
    """Read the array of a heatmap file with its channels, choosing some or none.

    What :func:`read_heatmap` builds on, for callers that keep several maps:
    a montage of channels, a movie's (T, C, h, w) maps.

    Parameters
    ----------
    path : str or os.PathLike
        A feature file (``.npy``, ``.npz``, ``.pt``, ``.pth``,
        ``.safetensors``; never unpickled) or an image file (its luminance;
        a multi-page picture that is not colour keeps its pages as channels).
    key : str, optional
        Which array of a file holding several; needed unless it holds one.
    channel : int or slice, optional
        As NumPy indexes the channel axis: an int picks one channel and drops
        the axis (negative counts from the end), a slice keeps the axis with
        the channels it picks. A map without a channel axis is one channel.
        None keeps every channel.
    reduce : {"mean", "max", "l2", "sum"}, optional
        Combine the channels instead (:func:`~napari_heatoverlay.reduce_channels`).
    channel_axis : int, None or "layout"
        Which axis holds the channels: the file's own (``"layout"``: C of
        ``"CHW"`` and ``"NCHW"``, none for ``"HW"``), this one, or none.
    max_bytes : int, optional
        The byte limit of reading a feature file (see
        :func:`~napari_heatoverlay.io.features.read_feature_arrays`).

    Returns
    -------
    HeatmapStack

    Raises
    ------
    OptionError
        If `key`, `channel` or `reduce` does not fit the file (the message
        names the channels there are).
    InputError, FeatureFileError
        If the file cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "features.npy"
    >>> np.save(path, np.zeros((1, 16, 8, 8), dtype=np.float32))
    >>> stack = read_heatmap_stack(path, channel=slice(0, 16, 4))
    >>> stack.data.shape, stack.channel_axis, stack.channels, stack.layout
    ((4, 8, 8), 0, (0, 4, 8, 12), 'CHW')
    >>> read_heatmap_stack(path, channel=-1).channels
    (15,)
    >>> read_heatmap_stack(path, reduce="max").data.shape
    (8, 8)
    """
    source = Path(path)
    if source.suffix.lower() in FEATURE_SUFFIXES:
        heat, file_axis, layout = _feature_heat(source, key, max_bytes)
    else:
        if key is not None:
            raise OptionError(
                f"{source} is an image file, which holds no named arrays: drop --key"
            )
        heat, file_axis, layout = _image_heat(source)
    axis = file_axis if channel_axis == FILE_LAYOUT else channel_axis
    if axis is not None and not isinstance(axis, int):
        raise ValueError(
            f'channel_axis must be an axis, None or "layout", got {channel_axis!r}'
        )
    count = 1 if axis is None else heat.shape[axis]
    stored = HeatmapStack(heat, axis, tuple(range(count)), layout, source)
    return choose_channels(stored, channel=channel, reduce=reduce)


def choose_channels(
    stack: HeatmapStack,
    *,
    channel: int | slice | None = None,
    reduce: str | None = None,
    single: bool = False,
) -> HeatmapStack:
    """Pick or combine the channels of `stack`, as :func:`read_heatmap_stack` does.

    With `single`, the result must be one map: with neither `channel` nor
    `reduce`, a lone channel is taken and several are refused, naming
    ``--channel`` and ``--reduce``.

    Examples
    --------
    >>> stack = HeatmapStack(np.ones((3, 2, 2)), 0, (0, 1, 2), "CHW", Path("f.npy"))
    >>> choose_channels(stack, reduce="sum").data[0, 0]
    np.float64(3.0)
    >>> try:
    ...     choose_channels(stack, single=True)
    ... except OptionError as error:
    ...     print(error)
    f.npy has 3 channels (shape (3, 2, 2)); pick one with --channel K (0..2) or combine them with --reduce mean|max|l2|sum
    """
    heat, axis, source = stack.data, stack.channel_axis, stack.source
    count = 1 if axis is None else heat.shape[axis]
    if isinstance(channel, slice):
        numbers = range(count)[channel]
        if not numbers:
            raise OptionError(
                f"--channel {_slice_text(channel)} picks no channel: {source} has "
                f"{count} channel(s), 0..{count - 1}"
            )
        if axis is None:
            heat, axis = np.asarray(heat)[None], 0
        heat = np.take(np.asarray(heat), list(numbers), axis=axis)
        return stack._replace(data=heat, channel_axis=axis, channels=tuple(numbers))
    if channel is not None:
        if not -count <= channel < count:
            raise OptionError(
                f"--channel {channel} is out of range: {source} has {count} "
                f"channel(s), so use 0..{count - 1}"
            )
        if axis is not None:
            heat = np.take(heat, channel, axis)
        return stack._replace(data=heat, channel_axis=None, channels=(channel % count,))
    if reduce is not None:
        if reduce not in tuple(Reduction):
            names = ", ".join(reduction.value for reduction in Reduction)
            raise OptionError(f"--reduce must be one of {names}, got {reduce!r}")
        if axis is not None:
            heat = reduce_channels(heat, reduce, axis=axis)
        return stack._replace(data=heat, channel_axis=None, channels=None)
    if not single:
        return stack._replace(channels=tuple(range(count)))
    if count > 1:
        raise OptionError(
            f"{source} has {count} channels (shape {heat.shape}); pick one with "
            f"--channel K (0..{count - 1}) or combine them with "
            "--reduce mean|max|l2|sum"
        )
    if axis is not None:
        heat = np.take(heat, 0, axis)
    return stack._replace(data=heat, channel_axis=None, channels=(0,))


def _slice_text(channels: slice) -> str:
    parts = [channels.start, channels.stop] + (
        [] if channels.step is None else [channels.step]
    )
    return ":".join("" if part is None else str(part) for part in parts)


def _feature_heat(
    source: Path, key: str | None, max_bytes: int | None = None
) -> tuple[Any, int | None, str]:
    features = read_feature_arrays(source, max_bytes=max_bytes)
    feature = _choose_entry(source, features, key)
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
