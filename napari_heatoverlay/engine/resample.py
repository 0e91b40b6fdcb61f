"""Separable, pixel-centre-aligned resampling of a small map onto a large grid.

The result equals ``skimage.transform.resize(n, shape, order, mode="edge",
anti_aliasing=False)`` (anti-aliasing is added only when a map is *reduced*,
as scikit-image does by default). Rather than allocating the resampled map,
each axis is described by *taps*: output position ``i`` reads
``sum_k weight[i, k] * coefficient[index[i, k]]``. The columns are resampled
on the small map; the rows are combined on the fly by the blend kernel, one
output row at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# scipy pads this much before a spline prefilter for mode "nearest"
_SPLINE_PAD = 12


@dataclass(frozen=True)
class Taps:
    """Linear resampling operator along one axis."""

    index: np.ndarray  # (n_out, K) intp, rows of the coefficient array
    weight: np.ndarray  # (n_out, K) float32

    def __getitem__(self, span: slice) -> Taps:
        return Taps(self.index[span], self.weight[span])

    @property
    def source_rows(self) -> tuple[int, int]:
        """The half-open range of coefficient rows these taps read."""
        return int(self.index.min()), int(self.index.max()) + 1

    def shifted(self, offset: int) -> Taps:
        """The same taps reading from coefficient row ``offset`` on."""
        return Taps(self.index - offset, self.weight)


@dataclass(frozen=True)
class AxisPlan:
    """How to resample one axis: prefilter the map, then apply taps."""

    size_in: int
    size_out: int
    order: int

    @property
    def identity(self) -> bool:
        return self.size_in == self.size_out

    @property
    def antialias_sigma(self) -> float:
        return max(0.0, (self.size_in / self.size_out - 1.0) / 2.0)

    def prefilter(self, coefficients: np.ndarray, axis: int) -> np.ndarray:
        """Gaussian anti-aliasing and the cubic spline prefilter along ``axis``."""
        if self.identity or (self.antialias_sigma == 0 and self.order <= 1):
            return coefficients
        from scipy import ndimage  # 0.25 s to import: only when a filter runs

        if self.antialias_sigma > 0:
            coefficients = ndimage.gaussian_filter1d(
                coefficients, self.antialias_sigma, axis=axis, mode="nearest"
            )
        if self.order > 1:
            pad = [(0, 0)] * coefficients.ndim
            pad[axis] = (_SPLINE_PAD, _SPLINE_PAD)
            padded = np.pad(coefficients, pad, mode="edge")
            coefficients = ndimage.spline_filter1d(
                padded, self.order, axis=axis, output=np.float64, mode="nearest"
            )
        return coefficients

    def taps(self, start: int = 0, stop: int | None = None) -> Taps:
        """Tap indices (into the prefiltered coefficients) and weights.

        Only output positions ``start:stop`` are computed, so a tile of a huge
        image costs what the tile costs.
        """
        stop = self.size_out if stop is None else stop
        positions = np.arange(start, stop, dtype=np.float64)
        count = positions.size
        if self.identity:
            index = positions.astype(np.intp)[:, None]
            return Taps(index, np.ones((count, 1), dtype=np.float32))
        zoom = self.size_in / self.size_out
        centre = (positions + 0.5) * zoom - 0.5
        last = self.size_in - 1
        if self.order == 0:
            index = np.clip(np.floor(centre + 0.5), 0, last).astype(np.intp)
            return Taps(index[:, None], np.ones((count, 1), np.float32))
        first = np.floor(centre)
        t = centre - first
        if self.order == 1:
            index = np.stack([first, first + 1], axis=1)
            weight = np.stack([1.0 - t, t], axis=1)
            return Taps(
                np.clip(index, 0, last).astype(np.intp), weight.astype(np.float32)
            )
        index = first[:, None] + np.arange(-1, 3) + _SPLINE_PAD
        weight = np.stack(
            [
                (1.0 - t) ** 3 / 6.0,
                (4.0 - 6.0 * t**2 + 3.0 * t**3) / 6.0,
                (1.0 + 3.0 * t + 3.0 * t**2 - 3.0 * t**3) / 6.0,
                t**3 / 6.0,
            ],
            axis=1,
        )
        return Taps(index.astype(np.intp), weight.astype(np.float32))

    def nearest(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Index of the nearest input pixel for output positions ``start:stop``."""
        plan = AxisPlan(self.size_in, self.size_out, 0)
        return plan.taps(start, stop).index[:, 0]


def apply_taps(coefficients: np.ndarray, taps: Taps, axis: int) -> np.ndarray:
    """Resample ``coefficients`` along ``axis`` with ``taps`` (float32 out)."""
    shape = [1] * coefficients.ndim
    shape[axis] = -1
    out = None
    for k in range(taps.index.shape[1]):
        term = np.take(coefficients, taps.index[:, k], axis=axis).astype(
            np.float32, copy=False
        )
        term *= taps.weight[:, k].reshape(shape)
        out = term if out is None else np.add(out, term, out=out)
    return out
