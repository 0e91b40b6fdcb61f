"""Iso-lines of a heatmap in image pixel coordinates, and drawing them.

:func:`contours` traces the levels of the *resampled* map: the field of
normalised heat ``n`` that :func:`~napari_heatoverlay.overlay` colours, so a
line at level ``t`` runs where the overlay's colour crosses ``t``. Marching
squares on the map's own coarse grid would be cheaper, but it joins its edge
crossings by straight chords: on a 20-times upsampled map a blob becomes a
visible polygon, and the lines stop half a map pixel short of the image's
edges. Tracing on a grid up to :data:`REFINE` times finer than the map
follows the interpolated field to a small fraction of an image pixel at a
cost that does not grow with the image.

:func:`draw_contours` rasterises the lines with analytic anti-aliasing: a
pixel is covered by ``clip(width / 2 + 0.5 - d, 0, 1)``, with ``d`` its
distance to the polyline, so the stroke is centred on the line to sub-pixel
accuracy and pixels away from it are left exactly as they were.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

import napari_heatoverlay.engine.inputs as _inputs
from napari_heatoverlay.engine.blend import prepare_heat, resampled_region
from napari_heatoverlay.engine.normalize import Window, compute_window
from napari_heatoverlay.engine.options import (
    OptionTypeError,
    OverlayOptions,
    option_names,
    with_options,
)
from napari_heatoverlay.engine.resample import AxisPlan

#: Samples per map pixel (per axis) at most when tracing: marching squares
#: then cuts a chord of a circle of radius r map pixels by at most
#: 1 / (8 r REFINE**2) map pixels.
REFINE = 16
#: Samples of the tracing grid at most (float32: 16 MiB), for large maps.
MAX_SAMPLES = 2**22
#: Path length (image pixels) of the polyline stroked at once: bounds the
#: (pixels x segments) distance table of one step.
_STROKE_LENGTH = 48.0
_HEAT_OPTIONS = option_names(groups=("heat",))


@with_options(groups=("heat",))
def contours(
    heatmap: ArrayLike,
    levels: float | Sequence[float],
    *,
    shape: tuple[int, int] | None = None,
    interpolation: str = "linear",
    **options: Any,
) -> dict[float, list[np.ndarray]]:
    """Trace the iso-lines of a heatmap at levels of normalised heat.

    The map is normalised as :func:`~napari_heatoverlay.overlay` normalises
    it (same options, same window), resampled pixel-centre aligned onto the
    image's field of view as the overlay resamples it, and traced with
    marching squares (``skimage.measure.find_contours``).

    Parameters
    ----------
    heatmap : array_like
        One (h, w) map of real values. Non-finite pixels carry no heat: no
        line enters them (holes are filled with their nearest finite value
        before resampling, so the filling adds no lines of its own; lines
        stop at a hole's edge).
    levels : float or sequence of float
        Levels of ``n`` in [0, 1], the normalised heat the colormap sees
        (``0.5``: half-way up the window). Levels the map never crosses
        give no lines.
    shape : (int, int), optional
        The image's (Y, X): the map covers the image's field of view, and
        the lines come in its pixel coordinates. Default: the map's own
        grid (h, w).
    interpolation : {"nearest", "linear", "cubic"}
        How the map is resampled, as for the overlay.
    **options
        The options that make ``n`` (``norm``, ``sign``, ``outlier_perc``,
        ``gamma``, ``vmin``, ``vmax``, ``percentiles``), as for
        :func:`~napari_heatoverlay.normalize`.

    Returns
    -------
    dict of float to list of ndarray
        For each level (as a float, in the order given), its lines: (N, 2)
        float arrays of (row, col) vertices in image pixel coordinates,
        pixel centres at integers (the image spans -0.5 .. Y - 0.5).
        A closed line repeats its first vertex at the end; an open one ends
        at the image's edge or at a hole.

    Raises
    ------
    ValueError
        A level outside [0, 1] or not finite, repeated levels, no levels, a
        map that is not 2-D, or a bad `shape`.
    TypeError
        A level that is not a number, or an option that does not make ``n``.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_heatoverlay import contours
    >>> y, x = np.mgrid[0:32, 0:32]
    >>> cone = -np.hypot(y - 15.5, x - 15.5)  # peak at the map's centre
    >>> lines = contours(
    ...     cone, [0.5], shape=(256, 256), vmin=-16, vmax=0, interpolation="cubic"
    ... )
    >>> ring = lines[0.5][0]
    >>> radius = np.hypot(ring[:, 0] - 127.5, ring[:, 1] - 127.5)
    >>> round(float(radius.mean()), 2)  # 8 map pixels = 64 image pixels
    64.0
    >>> contours(cone, 0.99, vmin=-100, vmax=-50)
    {0.99: []}
    """
    misplaced = sorted(set(options) - set(_HEAT_OPTIONS))
    if misplaced:
        raise OptionTypeError(
            misplaced[0],
            f"contours() takes the options that make n ({', '.join(_HEAT_OPTIONS)}) "
            f"and interpolation, not {misplaced}",
        )
    settings = OverlayOptions.from_kwargs(interpolation=interpolation, **options)
    heat = _inputs.check_heatmap(_inputs.as_array(heatmap, "heatmap"))
    if heat.ndim != 2:
        raise ValueError(
            f"contours() traces one 2-D map, but this one has shape {heat.shape}; "
            "pick one, e.g. heatmap[k] (pass vmin and vmax to keep a stack's "
            "window for each of its maps)"
        )
    heat = np.asarray(heat)
    return trace(
        heat,
        compute_window(heat, settings),
        levels,
        shape=heat.shape if shape is None else shape,
        order=settings.interpolation.order,
    )


def trace(
    heat: np.ndarray,
    window: Window,
    levels: float | Sequence[float],
    *,
    shape: tuple[int, int],
    order: int,
) -> dict[float, list[np.ndarray]]:
    """:func:`contours` with the window given (a stack's, or a movie's).

    `order` is the spline order of the resampling (0, 1 or 3).
    """
    from skimage.measure import find_contours

    wanted = check_levels(levels)
    size = _check_shape(shape)
    field = _field(heat, window, size, order)
    if field is None:
        return {level: [] for level in wanted}
    valid = np.isfinite(field)
    return {
        level: [
            _to_image(line, field.shape, size)
            for line in find_contours(field, level, mask=valid)
        ]
        for level in wanted
    }


def check_levels(levels: float | Sequence[float]) -> tuple[float, ...]:
    """The levels as floats in [0, 1]; raise naming the bad one otherwise.

    Examples
    --------
    >>> check_levels(0.5), check_levels([0.2, 0.8])
    ((0.5,), (0.2, 0.8))
    >>> check_levels([1.5])
    Traceback (most recent call last):
    ...
    ValueError: contour level 1.5 is outside [0, 1]: levels are normalised heat n, as the colormap sees it (0 its start, 1 its end); to trace a heat value v, fix the window (vmin, vmax) and pass (v - vmin) / (vmax - vmin)
    """
    items = (
        list(levels)
        if isinstance(levels, Iterable) and not isinstance(levels, str)
        else [levels]
    )
    if not items:
        raise ValueError("no contour levels given; pass levels in [0, 1], e.g. [0.5]")
    checked = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, Real):
            raise TypeError(
                f"contour levels must be numbers in [0, 1], got {item!r} in {levels!r}"
            )
        level = float(item)
        if not 0.0 <= level <= 1.0:
            raise ValueError(
                f"contour level {item!r} is outside [0, 1]: levels are normalised "
                "heat n, as the colormap sees it (0 its start, 1 its end); to trace "
                "a heat value v, fix the window (vmin, vmax) and pass "
                "(v - vmin) / (vmax - vmin)"
            )
        if level in checked:
            raise ValueError(f"contour level {item!r} is given twice; give it once")
        checked.append(level)
    return tuple(checked)


def levels_from_text(text: str) -> tuple[float, ...]:
    """Contour levels typed as text (``"0.5, 0.8"``): commas or spaces apart.

    An empty text gives no levels. The napari widget's contour field and
    the command line's ``--contours`` read levels this way.

    Raises
    ------
    ValueError
        Naming the part that is not a number, or a level :func:`check_levels`
        refuses.

    Examples
    --------
    >>> levels_from_text("0.5, 0.8"), levels_from_text("  ")
    ((0.5, 0.8), ())
    >>> levels_from_text("0.5 high")
    Traceback (most recent call last):
    ...
    ValueError: contour levels: 'high' is not a number; type levels of normalised heat in [0, 1] apart by commas, e.g. 0.5, 0.8
    """
    parts = text.replace(",", " ").split()
    values = []
    for part in parts:
        try:
            values.append(float(part))
        except ValueError:
            raise ValueError(
                f"contour levels: {part!r} is not a number; type levels of "
                "normalised heat in [0, 1] apart by commas, e.g. 0.5, 0.8"
            ) from None
    return check_levels(values) if values else ()


def _check_shape(shape: Any) -> tuple[int, int]:
    try:
        rows, cols = (int(size) for size in shape)
        exact = all(int(size) == size for size in shape)
    except (TypeError, ValueError):
        exact = False
    if not exact or rows < 1 or cols < 1:
        raise ValueError(
            f"shape must be the image's (Y, X), two whole numbers >= 1, got {shape!r}"
        )
    return rows, cols


def _field(
    heat: np.ndarray, window: Window, shape: tuple[int, int], order: int
) -> np.ndarray | None:
    """``n`` resampled onto the tracing grid, NaN where the map has no heat.

    The grid is the image's, or :data:`REFINE` samples per map pixel when
    that is coarser, within :data:`MAX_SAMPLES`; every grid samples the same
    interpolated surface, since the resampling is pixel-centre aligned. None
    when no pixel has heat.
    """
    n = window.apply(heat)
    valid = np.isfinite(n)
    if not valid.any():
        return None
    if not valid.all():
        from scipy import ndimage

        nearest = ndimage.distance_transform_edt(
            ~valid, return_distances=False, return_indices=True
        )
        n = n[tuple(nearest)]
    grid = _grid(shape, n.shape)
    # n as the blend resamples it: a 3-D map's slice keeps its overshoot from
    # the z pass and is clipped to the whole volume's range, not its own
    again = Window(0.0, 1.0, clip=window.clip, passthrough=window.passthrough)
    prepared = prepare_heat(n, again, grid, order)
    field = resampled_region(prepared, (0, grid[0], 0, grid[1]))
    if not valid.all():
        rows = AxisPlan(n.shape[0], grid[0], 0).nearest()
        cols = AxisPlan(n.shape[1], grid[1], 0).nearest()
        field[~valid[np.ix_(rows, cols)]] = np.nan
    return field


def _grid(shape: tuple[int, int], map_shape: tuple[int, ...]) -> tuple[int, int]:
    """The tracing grid for a map of `map_shape` over an image of `shape`."""
    grid = [
        min(size, count * REFINE) for size, count in zip(shape, map_shape, strict=True)
    ]
    thinning = min(1.0, math.sqrt(MAX_SAMPLES / (grid[0] * grid[1])))
    rows, cols = (
        max(min(size, count), math.floor(size * thinning))
        for size, count in zip(grid, map_shape, strict=True)
    )
    return rows, cols


def _to_image(
    line: np.ndarray, grid: tuple[int, int], shape: tuple[int, int]
) -> np.ndarray:
    """Grid (row, col) vertices in image pixel coordinates.

    A line that leaves through the grid's outer samples is carried on to the
    image's edge: beyond the outer samples the resampled map is constant
    across the edge, so the level set runs straight out.
    """
    scale = np.array(shape, dtype=np.float64) / np.array(grid)
    points = (line + 0.5) * scale - 0.5
    if len(line) > 1 and not np.array_equal(line[0], line[-1]):
        for end in (0, -1):
            for axis in (0, 1):
                if line[end, axis] == 0:
                    points[end, axis] = -0.5
                elif line[end, axis] == grid[axis] - 1:
                    points[end, axis] = shape[axis] - 0.5
    return points


def draw_contours(
    rgb: np.ndarray,
    lines: Iterable[np.ndarray] | dict[float, list[np.ndarray]],
    *,
    colour: Any = "white",
    width: float = 2.0,
) -> np.ndarray:
    """Draw polylines into an RGB image, anti-aliased, in place.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (Y, X, 3)
        The picture to draw into (an overlay); changed in place.
    lines : iterable of (N, 2) arrays, or the dict :func:`contours` returns
        (row, col) vertices in pixel coordinates, pixel centres at integers.
    colour : colour
        Any matplotlib colour: a name (``"white"``), ``"#ff8800"``, or an
        RGB tuple of floats in [0, 1].
    width : float
        Line width in pixels (> 0).

    Returns
    -------
    ndarray
        `rgb`: each pixel becomes ``(1 - c) * pixel + c * colour`` with ``c``
        the share of it the stroke covers; pixels farther than
        ``width / 2 + 0.5`` from every line are not touched.

    Examples
    --------
    >>> import numpy as np
    >>> picture = np.zeros((5, 9, 3), dtype=np.uint8)
    >>> _ = draw_contours(picture, [np.array([[2.0, 1.0], [2.0, 7.0]])], width=1)
    >>> picture[:, 4, 0]
    array([  0,   0, 255,   0,   0], dtype=uint8)
    """
    from matplotlib.colors import to_rgb

    if not (isinstance(width, Real) and math.isfinite(width) and width > 0):
        raise ValueError(f"width must be a number of pixels > 0, got {width!r}")
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(
            f"rgb must be a (Y, X, 3) uint8 picture, got {rgb.dtype} {rgb.shape}"
        )
    paint = np.array(to_rgb(colour), dtype=np.float32) * 255.0
    if isinstance(lines, dict):
        lines = [line for group in lines.values() for line in group]
    coverage = np.zeros(rgb.shape[:2], dtype=np.float32)
    for line in lines:
        _stroke(coverage, np.asarray(line, dtype=np.float64), width / 2.0)
    covered = coverage > 0
    share = coverage[covered][:, None]
    mixed = rgb[covered] * (1.0 - share) + paint * share
    rgb[covered] = np.rint(mixed).astype(np.uint8)
    return rgb


def _stroke(coverage: np.ndarray, line: np.ndarray, radius: float) -> None:
    """Raise `coverage` to the stroke's share of each pixel near `line`."""
    reach = radius + 0.5
    if len(line) == 1:
        line = np.repeat(line, 2, axis=0)
    steps = np.hypot(*np.diff(line, axis=0).T)
    travelled = np.cumsum(steps) - steps  # path length where each segment starts
    pieces = np.flatnonzero(np.diff(travelled // _STROKE_LENGTH)) + 1
    for chunk in np.split(np.arange(len(steps)), pieces):
        _stroke_segments(coverage, line[chunk], line[chunk + 1], reach)


def _stroke_segments(
    coverage: np.ndarray, starts: np.ndarray, ends: np.ndarray, reach: float
) -> None:
    """Cover the pixels within `reach` of the segments starts[k] -> ends[k]."""
    ends_all = np.concatenate([starts, ends])
    low = np.maximum(np.floor(ends_all.min(axis=0) - reach), 0).astype(int)
    high = np.minimum(np.ceil(ends_all.max(axis=0) + reach) + 1, coverage.shape).astype(
        int
    )
    if np.any(high <= low):
        return
    rows = np.arange(low[0], high[0], dtype=np.float64)
    cols = np.arange(low[1], high[1], dtype=np.float64)
    pixels = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).reshape(-1, 1, 2)
    along = ends - starts
    length2 = np.einsum("ij,ij->i", along, along)
    offset = pixels - starts
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(length2 > 0, np.einsum("pij,ij->pi", offset, along) / length2, 0.0)
    nearest = starts + np.clip(t, 0.0, 1.0)[..., None] * along
    distance = np.sqrt(((pixels - nearest) ** 2).sum(axis=-1)).min(axis=1)
    share = np.clip(reach - distance, 0.0, 1.0).reshape(len(rows), len(cols))
    window = coverage[low[0] : high[0], low[1] : high[1]]
    np.maximum(window, share.astype(np.float32), out=window)
