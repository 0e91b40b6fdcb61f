"""npe2 reader: open feature arrays as heatmap layers (thin glue over ``io``).

All or nothing: every path handed over is read before any layer data is
returned, so a broken file makes the reader raise
:class:`~napari_heatoverlay.io.features.FeatureFileError` and napari adds no
layer from that call; napari shows the message (wrapped in a
``ReaderPluginError`` when it picked the reader itself). napari hands a list
of paths to one call only when it opens them as a stack (``stack=True``,
*File > Open Files as Stack...*); otherwise it calls the reader once per
file, adding each file's layers before it reads the next.

A file with more than :data:`MAX_LAYERS` arrays does not flood the layer
list: arrays of one shape open as one stacked layer (their keys in its
metadata), and arrays of several shapes are refused with a message naming
the keys and how to pick one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from napari.types import LayerDataTuple

from napari_heatoverlay.io.features import (
    FeatureArray,
    FeatureFileError,
    is_feature_file,
    read_feature_arrays,
)

__all__ = ["HEATMAP_COLORMAP", "MAX_LAYERS", "get_reader", "read_heatmap_layers"]

#: A file with more arrays than this opens as one stacked layer, or not at
#: all: dozens of layers are as many as a layer list stays usable with.
MAX_LAYERS = 32
#: Keys named in the message refusing a file with too many arrays.
_KEYS_SHOWN = 5

# Perceptually uniform with luminance rising monotonically, so brighter always
# means a stronger activation, also for colour-blind viewers and in greyscale.
HEATMAP_COLORMAP = "inferno"

PathOrPaths = str | Sequence[str]


def get_reader(
    path: PathOrPaths,
) -> Callable[[PathOrPaths], list[LayerDataTuple]] | None:
    """Return the heatmap reader if every path is a feature file, else None.

    Parameters
    ----------
    path : str or sequence of str
        One path, or several paths to open together.

    Returns
    -------
    callable or None
        :func:`read_heatmap_layers`, or None for a folder, an unsupported
        suffix, or a list holding any such path.

    Examples
    --------
    >>> get_reader("layer4.npy") is read_heatmap_layers
    True
    >>> get_reader(["layer4.npy", "notes.txt"]) is None
    True
    """
    paths = [path] if isinstance(path, str | os.PathLike) else list(path)
    readable = all(is_feature_file(p) and not os.path.isdir(p) for p in paths)
    return read_heatmap_layers if paths and readable else None


def read_heatmap_layers(path: PathOrPaths) -> list[LayerDataTuple]:
    """Read feature files into heatmap image layers.

    Every file is read before anything is returned, so a broken file means
    no layer at all rather than some of them.

    Parameters
    ----------
    path : str or sequence of str
        One feature file, or several.

    Returns
    -------
    list of LayerDataTuple
        One ``(data, kwargs, "image")`` tuple per array: ``inferno``
        colormap, translucent blending, opacity 0.6, and
        ``metadata["heatoverlay"]`` recording ``role="heatmap"``, ``source``,
        ``key``, ``layout`` and ``original_shape``. A file with more than
        :data:`MAX_LAYERS` arrays of one shape gives one layer instead, the
        arrays stacked along a new first axis, with their ``keys`` (in that
        order) in the record.

    Raises
    ------
    FeatureFileError
        If a file cannot be read, or holds more than :data:`MAX_LAYERS`
        arrays of different shapes; the message says why and what to do.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "layer4.npy"
    >>> np.save(path, np.zeros((1, 256, 32, 96), dtype=np.float32))
    >>> [(data, kwargs, layer_type)] = read_heatmap_layers(str(path))
    >>> data.shape, kwargs["name"], kwargs["metadata"]["heatoverlay"]["layout"]
    ((256, 32, 96), 'layer4', 'NCHW')
    """
    paths = [path] if isinstance(path, str | os.PathLike) else list(path)
    # every file is read (or refused) before a layer is returned
    per_file = [read_feature_arrays(p) for p in paths]
    return [layer for features in per_file for layer in _file_layers(features)]


def _file_layers(features: list[FeatureArray]) -> list[LayerDataTuple]:
    """One layer per array, or for a file of many arrays one stack of them."""
    if len(features) <= MAX_LAYERS:
        return [_heatmap_layer(feature) for feature in features]
    shapes = {feature.data.shape for feature in features}
    if len(shapes) > 1:
        raise _too_many(features, len(shapes))
    first = features[0]
    stacked = FeatureArray(
        name=f"{first.source.stem} ({len(features)} arrays)",
        data=np.stack([feature.data for feature in features]),
        source=first.source,
        key=None,
        layout="K" + first.layout[-first.data.ndim :],
        original_shape=first.original_shape,
    )
    data, kwargs, layer_type = _heatmap_layer(stacked)
    kwargs["metadata"]["heatoverlay"]["keys"] = [f.key for f in features]
    return [(data, kwargs, layer_type)]


def _too_many(features: list[FeatureArray], shapes: int) -> FeatureFileError:
    """The refusal of a file with too many arrays of different shapes."""
    source = features[0].source
    keys = [str(feature.key) for feature in features]
    shown = ", ".join(repr(key) for key in keys[:_KEYS_SHOWN])
    more = len(keys) - _KEYS_SHOWN
    listed = shown + (f" and {more} more" if more > 0 else "")
    return FeatureFileError(
        f"Cannot read {source}: it holds {len(features)} arrays of {shapes} "
        f"different shapes, more than the {MAX_LAYERS} layers one file may add "
        f"(keys: {listed}). Pick one: in Python, "
        f"viewer.add_image(next(a.data for a in read_feature_arrays({str(source)!r}) "
        f"if a.key == {keys[0]!r})) with read_feature_arrays from "
        "napari_heatoverlay.io.features; on the command line, heatoverlay IMAGE "
        f"{Path(source).name} --key {keys[0]}."
    )


def _heatmap_layer(feature: FeatureArray) -> LayerDataTuple:
    kwargs = {
        "name": feature.name,
        "colormap": HEATMAP_COLORMAP,
        "blending": "translucent",
        "opacity": 0.6,
        # a last axis of length 3 or 4 is width here, not colour channels
        "rgb": False,
        "metadata": {
            "heatoverlay": {
                "role": "heatmap",
                "source": str(feature.source),
                "key": feature.key,
                "layout": feature.layout,
                "original_shape": feature.original_shape,
            }
        },
    }
    return (feature.data, kwargs, "image")
