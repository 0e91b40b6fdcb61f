"""Lay a heatmap over an image with transparency.

The blend engine (:func:`overlay`, :func:`normalize`, :func:`colorize`,
:func:`contours`) works on NumPy and dask arrays and imports neither napari nor
Qt. :func:`add_overlay` (napari glue), :func:`figure` and :func:`montage`
(pictures), :func:`write_zarr` and :func:`write_video` (outputs) are loaded on
first use, so ``import napari_heatoverlay`` stays light enough
for scripts, the command line and dask workers. The vocabularies of the
options (:class:`Mode`, :class:`Norm`, :class:`Interpolation`) are string
enums: plain strings work wherever they do. ``__init__.pyi`` spells the same
names out for IDEs and type checkers.

Examples
--------
>>> import numpy as np
>>> from napari_heatoverlay import overlay
>>> image = np.zeros((32, 96, 3), dtype=np.uint8)
>>> heat = np.random.default_rng(0).normal(size=(1, 256, 8, 24))
>>> overlay(image, heat[0, 0]).shape
(32, 96, 3)
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

__all__ = [
    "Interpolation",
    "Mode",
    "Norm",
    "OverlayOptions",
    "add_overlay",
    "colorize",
    "contours",
    "draw_contours",
    "figure",
    "montage",
    "normalize",
    "overlay",
    "reduce_channels",
    "sample",
    "write_video",
    "write_zarr",
]

_LOCATIONS = {
    "Interpolation": "napari_heatoverlay.engine.options",
    "Mode": "napari_heatoverlay.engine.options",
    "Norm": "napari_heatoverlay.engine.options",
    "OverlayOptions": "napari_heatoverlay.engine.options",
    "overlay": "napari_heatoverlay.engine.overlay",
    "colorize": "napari_heatoverlay.engine.overlay",
    "normalize": "napari_heatoverlay.engine.normalize",
    "contours": "napari_heatoverlay.engine.contours",
    "draw_contours": "napari_heatoverlay.engine.contours",
    "add_overlay": "napari_heatoverlay.plugin.layers",
    "figure": "napari_heatoverlay.figures",
    "montage": "napari_heatoverlay.montages",
    "reduce_channels": "napari_heatoverlay.engine.channels",
    "sample": "napari_heatoverlay.samples",
    "write_zarr": "napari_heatoverlay.io.outputs",
    "write_video": "napari_heatoverlay.io.video",
}


def __getattr__(name: str) -> Any:
    if name in _LOCATIONS:
        return getattr(import_module(_LOCATIONS[name]), name)
    raise AttributeError(f"module 'napari_heatoverlay' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
