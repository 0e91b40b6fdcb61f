"""npe2 reader: open feature arrays as heatmap layers (thin glue over ``_io``).

A file that turns out to be broken makes the reader function raise
:class:`~napari_heatoverlay.io.features.FeatureFileError`; napari passes the message to
the user (wrapped in a ``ReaderPluginError`` when it picked the reader itself)
and, because every path is read before any layer data is returned, adds no
layer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from napari.types import LayerDataTuple

from napari_heatoverlay.io.features import (
    FeatureArray,
    is_feature_file,
    read_feature_arrays,
)

__all__ = ["HEATMAP_COLORMAP", "get_reader", "read_heatmap_layers"]

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
        ``key``, ``layout`` and ``original_shape``.

    Raises
    ------
    FeatureFileError
        If a file cannot be read; the message says why and what to do.

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
    features = [feature for p in paths for feature in read_feature_arrays(p)]
    return [_heatmap_layer(feature) for feature in features]


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
