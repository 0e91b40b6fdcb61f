"""``--contours`` in every output of the command line: one overlay, stacks,
volumes, folders and zarr stores.

The lines of a 2-D slice are traced once, on its whole resampled map (the
tracing grid is bounded, :data:`~napari_heatoverlay.engine.contours.MAX_SAMPLES`),
in the slice's pixel coordinates. A picture in memory gets them drawn at
once; a lazy (zarr) result gets them drawn chunk by chunk, each chunk
receiving only the pieces of line within the stroke's reach of it, shifted
to its corner. A pixel's stroke coverage depends only on its distance to the
nearest segment, so the chunks meet without seams: the store equals the
overlay drawn whole, and nothing larger than a chunk is ever built.
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

import numpy as np

from napari_heatoverlay.engine.normalize import Window, compute_window
from napari_heatoverlay.engine.options import OverlayOptions


class Lines(NamedTuple):
    """What ``--contours``, ``--contour-colour`` and ``--contour-width`` ask for.

    A NamedTuple of plain numbers, so it pickles into the worker processes
    of a folder run.
    """

    levels: tuple[float, ...]
    colour: tuple[float, float, float]
    width: float


def outline(
    rgb: np.ndarray,
    heat: np.ndarray,
    window: Window,
    lines: Lines,
    options: OverlayOptions,
) -> np.ndarray:
    """Draw the contours of `heat` (normalised by `window`) into the overlay `rgb`."""
    from napari_heatoverlay.engine.contours import draw_contours, trace

    traced = trace(
        heat,
        window,
        lines.levels,
        shape=rgb.shape[:2],
        order=options.interpolation.order,
    )
    return draw_contours(rgb, traced, colour=lines.colour, width=lines.width)


class SliceLines:
    """The traced lines of every 2-D slice of one overlay, each traced on demand.

    Parameters
    ----------
    heat : ndarray
        The heatmap as ``render`` got it: (..., h, w), or (..., z, h, w) with
        ``spatial_dims=3`` (then resampled along z onto the image's Z first,
        as the overlay does, so slice z traces the heat the overlay shows
        there).
    image_shape : tuple of int
        The overlay's shape without its colour axis, (..., Y, X).
    lines, options
        The flags.
    window : Window, optional
        The normalisation window; default, the whole heatmap's (as ``render``).
    """

    def __init__(
        self,
        heat: np.ndarray,
        image_shape: tuple[int, ...],
        lines: Lines,
        options: OverlayOptions,
        window: Window | None = None,
    ) -> None:
        window = compute_window(heat, options) if window is None else window
        if options.spatial_dims == 3:
            from napari_heatoverlay.engine.volume import on_image_z

            heat, window = on_image_z(
                heat, image_shape[-3], window, options.interpolation.order
            )
        self.heat = np.asarray(heat)
        self.window = window
        self.shape = tuple(image_shape[-2:])
        self.lines = lines
        self.order = options.interpolation.order
        self._traced: dict[tuple[int, ...], list[np.ndarray]] = {}
        self._locks: dict[tuple[int, ...], threading.Lock] = {}
        self._lock = threading.Lock()

    def __call__(self, index: tuple[int, ...]) -> list[np.ndarray]:
        """The polylines of the slice at leading `index` of the overlay."""
        from napari_heatoverlay.engine.contours import trace
        from napari_heatoverlay.engine.inputs import source_index

        key = source_index(index, self.heat.shape[:-2])
        with self._lock:
            if key in self._traced:
                return self._traced[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # chunks of one slice wait for one tracing, not one each
            with self._lock:
                if key in self._traced:
                    return self._traced[key]
            traced = trace(
                self.heat[key],
                self.window,
                self.lines.levels,
                shape=self.shape,
                order=self.order,
            )
            polylines = [line for group in traced.values() for line in group]
            with self._lock:
                self._traced[key] = polylines
        return polylines

    def draw(
        self, rgb: np.ndarray, index: tuple[int, ...], corner: tuple[int, int] = (0, 0)
    ) -> np.ndarray:
        """Draw slice `index`'s lines into `rgb` (Y', X', 3), in place, where
        `rgb` is the part of the slice whose first pixel is at `corner`."""
        from napari_heatoverlay.engine.contours import draw_contours

        reach = self.lines.width / 2.0 + 0.5
        pieces = near(self(index), corner, rgb.shape[:2], reach)
        if pieces:
            draw_contours(rgb, pieces, colour=self.lines.colour, width=self.lines.width)
        return rgb


def near(
    polylines: list[np.ndarray],
    corner: tuple[int, int],
    size: tuple[int, int],
    reach: float,
) -> list[np.ndarray]:
    """The runs of segments of `polylines` within `reach` of the pixels of the
    rectangle at `corner` of `size`, shifted so that `corner` is (0, 0).

    Examples
    --------
    >>> line = np.array([[0.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    >>> near([line], (5, 5), (3, 5), 1.5)  # only the second segment reaches it
    [array([[-5.,  5.],
           [ 5.,  5.]])]
    """
    top, left = corner
    bottom, right = top + size[0] - 1, left + size[1] - 1
    found = []
    for line in polylines:
        if len(line) == 1:
            line = np.repeat(line, 2, axis=0)
        starts, ends = line[:-1], line[1:]
        low = np.minimum(starts, ends) - reach
        high = np.maximum(starts, ends) + reach
        close = (
            (high[:, 0] >= top)
            & (low[:, 0] <= bottom)
            & (high[:, 1] >= left)
            & (low[:, 1] <= right)
        )
        if not close.any():
            continue
        edges = np.flatnonzero(np.diff(np.concatenate(([0], close.view(np.int8), [0]))))
        for first, last in zip(edges[::2], edges[1::2], strict=True):
            found.append(line[first : last + 1] - (top, left))
    return found


def draw_lines(
    rgb: np.ndarray, heat: np.ndarray, lines: Lines, options: OverlayOptions
) -> np.ndarray:
    """Draw ``--contours`` into an overlay in memory, in place: what one pair's
    ``-o`` and every pair of a folder run get.

    A (Y, X, 3) overlay gets :func:`outline`; a stack or volume (..., Y, X, 3)
    gets each slice's own lines (:func:`outline_all`). One window, the whole
    heatmap's, as ``render`` uses.
    """
    if rgb.ndim == 3 and options.spatial_dims == 2:
        return outline(rgb, heat, compute_window(heat, options), lines, options)
    return outline_all(rgb, heat, lines, options)


def outline_all(
    rgb: np.ndarray,
    heat: np.ndarray,
    lines: Lines,
    options: OverlayOptions,
    window: Window | None = None,
) -> np.ndarray:
    """Draw the lines into every 2-D slice of an overlay in memory, in place.

    `rgb` is (..., Y, X, 3), `heat` the map ``render`` got; each slice gets
    the contours of its own resampled heat, all on one window.
    """
    slices = SliceLines(heat, rgb.shape[:-1], lines, options, window)
    for index in np.ndindex(*rgb.shape[:-3]):
        slices.draw(rgb[index], index)
    return rgb


def outline_lazy(
    result: Any, heat: np.ndarray, lines: Lines, options: OverlayOptions
) -> Any:
    """The lines drawn into a lazy (dask) overlay, chunk by chunk, lazily.

    Each chunk is drawn when it is computed: a copy of the overlay's chunk
    with the pieces of line that reach it. The slices are traced on first
    use (once each, on their whole bounded tracing grid); only the polylines
    are kept.
    """
    from dask.base import tokenize

    slices = SliceLines(heat, result.shape[:-1], lines, options)
    lead = result.ndim - 3

    def draw_block(block: np.ndarray, block_info: dict | None = None) -> np.ndarray:
        assert block_info is not None
        location = block_info[0]["array-location"]
        starts = tuple(start for start, _ in location)
        out = np.array(block, dtype=np.uint8, copy=True)
        for inner in np.ndindex(*out.shape[:lead]):
            index = tuple(s + i for s, i in zip(starts[:lead], inner, strict=True))
            slices.draw(out[inner], index, (starts[lead], starts[lead + 1]))
        return out

    name = f"heatoverlay-lines-{tokenize(result.name, heat, lines, options)}"
    meta = np.empty((0,) * result.ndim, dtype=np.uint8)
    return result.map_blocks(draw_block, dtype=np.uint8, meta=meta, name=name)
