"""Map raw heatmap values to [0, 1].

Every norm but ``"sigmoid"`` is a linear window ``(lo, hi)`` on the raw values,
so the window is computed once from the whole heatmap (all slices, before any
resampling) and reused for every slice, pyramid level and colour bar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction
from numbers import Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from napari_heatoverlay.engine.options import Norm, OverlayOptions, Sign, with_options

#: Values normalised at once: float64 temporaries of 2 MiB stay in cache.
_CHUNK = 2**18
# below this a window's span is computed in scaled form (denormal windows)
_TINY = 1e-290


@dataclass(frozen=True)
class Window:
    """How raw heatmap values become ``n`` in [0, 1].

    Attributes
    ----------
    lo, hi : int, float or Fraction
        Raw values that map to 0 and 1 (linear norms); clipped outside. Kept
        exact (Python ints for integer maps), so that 64-bit integers far
        from zero still resolve a narrow window.
    sigmoid : bool
        If True, ``n = 1 / (1 + exp(-h))`` and ``lo``/``hi`` only label the
        colour bar.
    flat : float
        ``n`` for every pixel when the window is empty (``hi <= lo``):
        a constant map, 0.5 for ``"symmetric"`` and 0 otherwise.
    sign : Sign
        Applied to the raw values first; ``lo`` and ``hi`` are in its units.
    gamma : float
        ``n`` becomes ``n ** gamma`` last.
    clip : (float, float), optional
        The range resampled ``n`` is clipped to; default, each slice's own
        range (a 3-D map uses the whole volume's, as a 3-D resize does).
    passthrough : bool
        The values are ``n`` already, possibly overshooting [0, 1] from an
        earlier resampling step: keep them as they are (float32).
    """

    lo: Real
    hi: Real
    sigmoid: bool = False
    flat: float = 0.0
    sign: Sign = Sign.ALL
    gamma: float = 1.0
    clip: tuple[float, float] | None = None
    passthrough: bool = False

    def apply(self, heat: np.ndarray) -> np.ndarray:
        """Return ``heat`` mapped to float32 in [0, 1], non-finite as NaN.

        The arithmetic cannot overflow or lose an integer map's precision:
        floats are scaled before subtracting, and integers are shifted by an
        integer offset exactly before they become float64. Large maps are
        done in chunks, so the float64 steps stay small.
        """
        values = np.asarray(heat)
        if self.passthrough:
            return values.astype(np.float32)
        if values.dtype.kind == "b":
            values = values.view(np.uint8)
        n = np.empty(values.shape, dtype=np.float32)
        flat_values, flat_n = values.reshape(-1), n.reshape(-1)
        for start in range(0, flat_values.size, _CHUNK):
            chunk = slice(start, start + _CHUNK)
            flat_n[chunk] = self._apply_chunk(flat_values[chunk])
        return n

    def _apply_chunk(self, values: np.ndarray) -> np.ndarray:
        finite = np.isfinite(values) if values.dtype.kind == "f" else None
        values = signed(values, self.sign)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if self.sigmoid:
                n = 1.0 / (1.0 + np.exp(-values.astype(np.float64)))
            elif self.hi > self.lo:
                n = _linear(values, self.lo, self.hi)
                np.clip(n, 0.0, 1.0, out=n)
            else:
                n = np.full(values.shape, self.flat)
            if self.gamma != 1.0:
                n **= self.gamma
        if finite is not None and not finite.all():
            n[~finite] = np.nan
        return n


def signed(values: np.ndarray, sign: Sign) -> np.ndarray:
    """The part of `values` that `sign` shows: h > 0, -min(h, 0), |h| or h.

    Integers stay exact (unsigned results for negative and absolute values).

    Examples
    --------
    >>> signed(np.array([-2, 0, 3]), Sign.NEGATIVE)
    array([2, 0, 0], dtype=uint64)
    """
    if sign == Sign.ALL:
        return values
    if sign == Sign.POSITIVE:
        return np.maximum(values, values.dtype.type(0))
    if values.dtype.kind == "u":
        return np.zeros_like(values) if sign == Sign.NEGATIVE else values
    if values.dtype.kind == "i":
        wide = values.astype(np.int64)
        # 0 - v in uint64 is exact even for the most negative int64
        magnitude = np.uint64(0) - wide.astype(np.uint64)
        negative = np.where(wide < 0, magnitude, np.uint64(0))
        if sign == Sign.NEGATIVE:
            return negative
        return np.where(wide < 0, magnitude, wide.astype(np.uint64))
    with np.errstate(invalid="ignore"):
        if sign == Sign.NEGATIVE:
            return -np.minimum(values, 0.0)
        return np.abs(values)


def _linear(values: np.ndarray, lo: Real, hi: Real) -> np.ndarray:
    """``(h - lo) / (hi - lo)`` in float64, without overflow or integer rounding."""
    if values.dtype.kind in "iu":
        info = np.iinfo(values.dtype)
        offset = min(max(math.floor(lo), info.min), info.max)
        shifted = _shifted(values, offset)
        low, high = float(Fraction(lo) - offset), float(Fraction(hi) - offset)
        return (shifted - low) / (high - low)
    low, high = float(lo), float(hi)
    span = high - low
    if math.isfinite(span) and span > _TINY:
        if values.dtype == np.float32 and max(abs(low), abs(high)) <= 16 * span:
            # float32 is exact enough here (error < 1e-6 of the window) and
            # three times faster on big maps
            n = values - np.float32(low)
            n *= np.float32(1.0 / span)
            return n
        n = values.astype(np.float64)
        n -= low
        n /= span
        return n
    # scaled first, so that hi - lo cannot overflow (e.g. -1e308 .. 1e308)
    # and a denormal window keeps its precision
    scale = max(abs(low), abs(high))
    low, high = low / scale, high / scale
    n = values.astype(np.float64)
    n /= scale
    n -= low
    n /= high - low
    return n


def _shifted(values: np.ndarray, offset: int) -> np.ndarray:
    """``max(values, offset) - offset`` as float64, exact before the rounding."""
    if values.dtype.itemsize < 8:
        return np.maximum(values.astype(np.float64) - offset, 0.0)
    clipped = np.maximum(values, values.dtype.type(offset))
    # two's complement: the uint64 difference is exact for any 64-bit pair
    difference = clipped.astype(np.uint64) - np.uint64(offset % 2**64)
    return difference.astype(np.float64)


def finite_values(heat: ArrayLike) -> np.ndarray:
    """Return the finite values of ``heat``, flat: float64, or integers as they are."""
    values = np.asarray(heat)
    if values.dtype.kind not in "biuf":
        raise TypeError(
            f"heatmap must hold real numbers, got dtype {values.dtype}; "
            "take .real or .abs() of a complex map first"
        )
    if values.dtype.kind == "b":
        return values.view(np.uint8).ravel()
    if values.dtype.kind in "iu":
        return values.ravel()
    values = values.astype(np.float64, copy=False).ravel()
    return values[np.isfinite(values)]


def _finite_range(heat: ArrayLike) -> tuple[Real, Real] | tuple[None, None]:
    """The smallest and largest finite values, exact; (None, None) if none.

    Reduces the array as it is (no float64 copy) unless it holds NaN or inf.
    """
    values = np.asarray(heat)
    if values.dtype.kind not in "biuf":
        finite_values(values)  # raises the helpful TypeError
    if values.dtype.kind == "b":
        values = values.view(np.uint8)
    if values.size == 0:
        return None, None
    lo, hi = values.min(), values.max()
    if values.dtype.kind == "f" and not (np.isfinite(lo) and np.isfinite(hi)):
        values = finite_values(values)
        if values.size == 0:
            return None, None
        lo, hi = values.min(), values.max()
    return _number(lo), _number(hi)


def _number(value: Any) -> Real:
    """A NumPy scalar as an exact Python number (int for integers)."""
    return int(value) if isinstance(value, np.integer) else float(value)


def compute_window(heat: ArrayLike, options: OverlayOptions) -> Window:
    """Compute the :class:`Window` that ``options.norm`` gives for the whole ``heat``.

    ``options.vmin``/``options.vmax``, when given, fix the window (a linear
    one, whatever the norm); a missing bound comes from the data's min or max.
    A constant map gives the flat window of its norm. ``options.sign`` is
    applied to the values first, ``options.gamma`` to ``n`` last.
    """
    shape = {"sign": options.sign, "gamma": options.gamma}
    norm, vmin, vmax = options.norm, options.vmin, options.vmax
    if vmin is not None and vmax is not None:
        return Window(vmin, vmax, **shape)
    if norm == Norm.NONE and vmin is None and vmax is None:
        return Window(0.0, 1.0, **shape)
    values = np.asarray(heat)
    if options.sign != Sign.ALL:
        values = signed(values, options.sign)
    lo, hi = _finite_range(values)
    if lo is None:
        return Window(0.0, 1.0, flat=0.0, **shape)
    if vmin is not None or vmax is not None:
        return Window(
            vmin if vmin is not None else lo, vmax if vmax is not None else hi, **shape
        )
    if norm == Norm.SIGMOID:
        return Window(lo, hi, sigmoid=True, **shape)
    if norm == Norm.CUMULATIVE:
        # captum's rule holds for a constant map too; only t = 0 is undefined
        centred = options.sign == Sign.ALL
        bound = cumulative_threshold(finite_values(values), options.outlier_perc)
        low = -bound if centred else 0
        return Window(low, bound, flat=0.5 if centred else 0.0, **shape)
    if lo == hi:
        return Window(lo, hi, flat=0.5 if norm == Norm.SYMMETRIC else 0.0, **shape)
    if norm == Norm.MINMAX:
        return Window(lo, hi, **shape)
    if norm == Norm.MAX:
        return Window(0, max(hi, 0), **shape)
    if norm == Norm.PERCENTILE:
        window = _percentile_window(finite_values(values), lo, hi, options.percentiles)
        return replace(window, **shape)
    bound = max(-lo, hi)
    return Window(-bound, bound, flat=0.5, **shape)


def cumulative_threshold(values: np.ndarray, outlier_perc: float) -> Real:
    """captum's threshold: the smallest sorted ``|value|`` at which the running
    sum reaches ``100 - outlier_perc`` percent of the total.

    Examples
    --------
    >>> cumulative_threshold(np.array([1.0, -1.0, 2.0, 96.0]), 2.0)
    96.0
    >>> cumulative_threshold(np.array([1.0, -1.0, 2.0, 96.0]), 50.0)
    96.0
    >>> cumulative_threshold(np.array([25.0, 25.0, 25.0, 25.0]), 30.0)
    25.0
    """
    exact = np.sort(signed(values, Sign.ABSOLUTE_VALUE))
    if exact.size == 0:
        return 0.0
    running = np.cumsum(exact.astype(np.float64))
    index = int(np.searchsorted(running, running[-1] * 0.01 * (100.0 - outlier_perc)))
    return _number(exact[min(index, exact.size - 1)])


def _percentile_window(
    values: np.ndarray, lo: Real, hi: Real, percentiles: tuple[float, float]
) -> Window:
    """Percentiles of the values, measured from their minimum (no overflow)."""
    if values.dtype.kind in "iu":
        shifted = _shifted(values, int(lo))
        low, high = np.percentile(shifted, percentiles)
        return Window(lo + Fraction(float(low)), lo + Fraction(float(high)))
    scale = max(abs(lo), abs(hi))
    low, high = np.percentile(values / scale, percentiles)
    return Window(float(low) * scale, float(high) * scale)


@with_options(groups=("heat",))
def normalize(heatmap: ArrayLike, **options: Any) -> np.ndarray:
    """Scale a heatmap to [0, 1].

    The statistics come from all finite values of the heatmap at once, so the
    slices of a stack stay comparable.

    Parameters
    ----------
    heatmap : array_like
        Real-valued heatmap of any shape.
    norm : {"minmax", "max", "percentile", "sigmoid", "symmetric", "none", "cumulative"}
        ``"minmax"``: (h - min) / (max - min), as matplotlib's ``imshow``.
        ``"max"``: negatives clipped to 0, then divided by the max (Grad-CAM).
        ``"percentile"``: clipped to ``percentiles``, then min-max.
        ``"sigmoid"``: 1 / (1 + exp(-h)).
        ``"symmetric"``: 0.5 + h / (2 max|h|), for signed attributions.
        ``"none"``: values taken as they are, clipped to [0, 1].
        ``"cumulative"``: captum's outlier clipping by attribution mass: with
        ``t`` the smallest sorted ``|h|`` at which the running sum reaches
        ``100 - outlier_perc`` percent of the total, ``0.5 + clip(h / t, -1,
        1) / 2`` for ``sign="all"`` and ``clip(h / t, 0, 1)`` otherwise.
    sign : {"all", "positive", "negative", "absolute_value"}
        Applied to the raw values before the norm: ``max(h, 0)``,
        ``-min(h, 0)``, ``|h|`` or ``h``.
    outlier_perc : float
        For ``norm="cumulative"``, in [0, 100).
    gamma : float
        ``n ** gamma`` after the norm (> 0).
    vmin, vmax : float, optional
        Fix the window instead of computing it (like napari contrast limits).
    percentiles : (float, float)
        Lower and upper percentile for ``norm="percentile"``.

    Returns
    -------
    ndarray of float32
        Same shape as ``heatmap``, in [0, 1]; NaN where ``heatmap`` is not
        finite. A constant map carries no information: the data-driven norms
        give 0 for it (0.5 with ``"symmetric"``), never NaN; ``"cumulative"``
        follows captum's rule, which is defined for any map but an all-zero
        one (0.5 for ``sign="all"``, else 0).

    Examples
    --------
    >>> import numpy as np
    >>> from napari_heatoverlay import normalize
    >>> normalize(np.array([[-2.0, 0.0], [1.0, 2.0]]), norm="symmetric")
    array([[0.  , 0.5 ],
           [0.75, 1.  ]], dtype=float32)
    >>> normalize(np.array([-2.0, 0.0, 1.0, 2.0]), sign="positive", gamma=2.0)
    array([0.  , 0.  , 0.25, 1.  ], dtype=float32)
    """
    settings = OverlayOptions.from_kwargs(**options)
    return compute_window(heatmap, settings).apply(np.asarray(heatmap))
