"""Lazy overlays: a dask graph with one task per image chunk.

Each output chunk holds one slice of the leading axes (so a napari slice
computes one slice) and the image's own spatial chunking (so a viewer panning
a huge slide computes only the tiles it shows). A task reads its image chunk
and the small heat slice, and blends just its rectangle with the same kernel
as the eager path: the pixels are identical. Everything a task needs is a
plain function or a frozen dataclass, so the graph pickles for a cluster.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from typing import Any

import dask
import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from napari_heatoverlay.engine.blend import (
    BlendOptions,
    PreparedHeat,
    blend_region,
    prepare_heat,
)
from napari_heatoverlay.engine.inputs import is_dask, source_index
from napari_heatoverlay.engine.normalize import Window, compute_window
from napari_heatoverlay.engine.options import OverlayOptions

# spatial chunk for NumPy images turned lazy: big enough for a fast kernel,
# small enough that a viewer computes little it does not show
_NUMPY_CHUNK = 4096

# prepared heat slices kept between computes, so panning a slide or scrubbing
# a stack does not normalise and prefilter the same heat slice again
_PREPARED_BYTES = 256 * 2**20
_prepared: OrderedDict[str, PreparedHeat] = OrderedDict()
_prepared_lock = threading.Lock()
# whole-map results (a lazy map's window, a 3-D map resampled along z) kept
# between computes: napari computes one slice at a time, and each would
# otherwise reduce or resample the whole map again
_RESULT_BYTES = 256 * 2**20
_results: OrderedDict[str, Any] = OrderedDict()


def cached_call(cache_key: str, function: Any, *args: Any) -> Any:
    """``function(*args)``, reused while `cache_key` is among the recent ones.

    `cache_key` must name the inputs (a dask token of them), so that equal
    keys mean equal results. Results are kept up to :data:`_RESULT_BYTES`
    (counting the arrays among them), the least recently used dropped first.

    Examples
    --------
    >>> calls = []
    >>> twice = lambda x: calls.append(x) or 2 * x
    >>> cached_call("doc-key", twice, 21), cached_call("doc-key", twice, 21), calls
    (42, 42, [21])
    """
    with _prepared_lock:
        if cache_key in _results:
            _results.move_to_end(cache_key)
            return _results[cache_key]
    value = function(*args)
    with _prepared_lock:
        _results[cache_key] = value
        while (
            sum(map(_nbytes, _results.values())) > _RESULT_BYTES and len(_results) > 1
        ):
            _results.popitem(last=False)
    return value


def _nbytes(value: Any) -> int:
    parts = value if isinstance(value, tuple) else (value,)
    return sum(getattr(part, "nbytes", 0) for part in parts)


def lazy_window(heat: da.Array, options: OverlayOptions) -> Window | Any:
    """The normalisation window of a dask heatmap, as a dask Delayed.

    Nothing is computed here; the whole heatmap is reduced in one task when
    the first chunk of the result is asked for.
    """
    if options.vmin is not None and options.vmax is not None:
        return compute_window(np.zeros(1), options)
    key = f"heatoverlay-window-{tokenize(heat, options)}"
    return dask.delayed(cached_call, pure=True)(key, compute_window, heat, options)


def overlay_lazy(
    image: Any,
    heat: Any,
    options: BlendOptions,
    window: Window | Any,
    bounds: tuple[float, float],
    lead: tuple[int, ...],
) -> da.Array:
    """Build the lazy overlay of (..., Y, X, C) ``image`` and (..., h, w) ``heat``."""
    image = _image_chunks(image)
    image_lead = image.shape[:-3]
    heat_lead = heat.shape[:-2]
    height, width = image.shape[-3:-1]
    y_chunks, x_chunks = image.chunks[-3], image.chunks[-2]
    y_starts = np.cumsum((0, *y_chunks))
    x_starts = np.cumsum((0, *x_chunks))

    token = tokenize(image, heat, options, window, bounds, lead)
    name = f"heatoverlay-{token}"
    heat_name = f"heatoverlay-heat-{token}"
    prepared_name = f"heatoverlay-prepared-{token}"
    layer: dict[tuple, Any] = {}
    dependencies = [image]
    if is_dask(heat):
        heat = heat.rechunk((1,) * len(heat_lead) + heat.shape[-2:])
        dependencies.append(heat)
        heat_name, heat_key_tail = heat.name, (0, 0)
    else:
        heat_key_tail = ()
        for index in np.ndindex(*heat_lead):
            layer[(heat_name, *index)] = np.asarray(heat[index])
    if isinstance(window, Window):
        window_ref = window
    else:
        dependencies.append(window)
        window_ref = window.key
    # one task per heat slice normalises and prefilters it for all its tiles
    for index in np.ndindex(*heat_lead):
        layer[(prepared_name, *index)] = (
            _prepare_block,
            (heat_name, *index, *heat_key_tail),
            window_ref,
            (height, width),
            options.order,
            f"{prepared_name}{index}",  # a string: a key tuple would be a dependency
        )

    for index in np.ndindex(*lead):
        image_index = source_index(index, image_lead)
        heat_index = source_index(index, heat_lead)
        for iy, ix in itertools.product(range(len(y_chunks)), range(len(x_chunks))):
            region = (
                int(y_starts[iy]),
                int(y_starts[iy + 1]),
                int(x_starts[ix]),
                int(x_starts[ix + 1]),
            )
            layer[(name, *index, iy, ix, 0)] = (
                _blend_block,
                (image.name, *image_index, iy, ix, 0),
                (prepared_name, *heat_index),
                options,
                bounds,
                region,
                len(lead),
            )
    graph = HighLevelGraph.from_collections(name, layer, dependencies=dependencies)
    chunks = (*((1,) * size for size in lead), y_chunks, x_chunks, (3,))
    meta = np.empty((0,) * (len(lead) + 3), dtype=np.uint8)
    return da.Array(graph, name, chunks, meta=meta)


def _image_chunks(image: Any) -> da.Array:
    """One chunk per leading index, all channels in one chunk."""
    lead = image.ndim - 3
    if not is_dask(image):
        chunk = min(_NUMPY_CHUNK, max(image.shape[-3:-1]))
        return da.from_array(image, chunks=(1,) * lead + (chunk, chunk, -1))
    return image.rechunk((1,) * lead + (image.chunks[-3], image.chunks[-2], -1))


def _prepare_block(
    heat_block: np.ndarray,
    window: Window,
    full_shape: tuple[int, int],
    order: int,
    cache_key: str,
) -> PreparedHeat:
    """Prepare one heat slice (leading axes of size 1 dropped), or reuse it.

    ``cache_key`` names the task's own key: dask derives it from the inputs'
    tokens, so equal keys mean equal inputs.
    """
    with _prepared_lock:
        if cache_key in _prepared:
            _prepared.move_to_end(cache_key)
            return _prepared[cache_key]
    heat = np.asarray(heat_block)
    prepared = prepare_heat(heat.reshape(heat.shape[-2:]), window, full_shape, order)
    with _prepared_lock:
        _prepared[cache_key] = prepared
        while (
            sum(p.coefficients.nbytes for p in _prepared.values()) > _PREPARED_BYTES
            and len(_prepared) > 1
        ):
            _prepared.popitem(last=False)
    return prepared


def _blend_block(
    image_block: np.ndarray,
    heat: PreparedHeat,
    options: BlendOptions,
    bounds: tuple[float, float],
    region: tuple[int, int, int, int],
    lead_ndim: int,
) -> np.ndarray:
    """Compute one output chunk (leading axes of size 1 kept)."""
    image = np.asarray(image_block).reshape(image_block.shape[-3:])
    out = blend_region(image, heat, options, bounds, region)
    return out.reshape((1,) * lead_ndim + out.shape)
