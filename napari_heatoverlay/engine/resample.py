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
#: An axis reduced with at least this anti-aliasing sigma (a factor of 5) is
#: resampled by one (out x in) matrix: filter and interpolation composed, so
#: the cost grows with the map's size, not with its size times the kernel's.
DIRECT_SIGMA = 2.0
_DIRECT_ENTRIES = 2**24
# scipy.ndimage.gaussian_filter1d's default truncation, in sigmas
_TRUNCATE = 4.0


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

    @property
    def direct(self) -> bool:
        """Whether to reduce this axis with :meth:`matrix` (a large reduction)."""
        return (
            self.antialias_sigma >= DIRECT_SIGMA
            and self.size_in * self.size_out <= _DIRECT_ENTRIES
        )

    def matrix(self) -> np.ndarray:
        """The whole resampling of this axis as a (size_out, size_in) float32 matrix.

        For nearest and linear it is exactly scipy's Gaussian anti-aliasing
        (``mode="nearest"``, truncated at 4 sigma) followed by the taps. For
        cubic it samples the Gaussian-smoothed map at each output position
        directly: with sigma >= 2 the map is smooth enough that this equals
        the cubic spline of the smoothed samples to well under a grey level.
        """
        sigma = self.antialias_sigma
        radius = int(_TRUNCATE * sigma + 0.5)
        offsets = np.arange(-radius, radius + 1)
        rows = np.arange(self.size_out)
        weights = np.zeros((self.size_out, self.size_in), dtype=np.float64)
        last = self.size_in - 1
        if self.order <= 1:
            kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
            kernel /= kernel.sum()
            taps = self.taps()
            for k in range(taps.index.shape[1]):
                columns = np.clip(taps.index[:, k, None] + offsets, 0, last)
                tap = taps.weight[:, k, None].astype(np.float64) * kernel
                np.add.at(weights, (rows[:, None], columns), tap)
        else:
            centre = (rows + 0.5) * (self.size_in / self.size_out) - 0.5
            sources = np.floor(centre)[:, None] + np.arange(-radius, radius + 2)
            kernel = np.exp(-0.5 * ((centre[:, None] - sources) / sigma) ** 2)
            kernel /= kernel.sum(axis=1, keepdims=True)
            columns = np.clip(sources, 0, last).astype(np.intp)
            np.add.at(weights, (rows[:, None], columns), kernel)
        return weights.astype(np.float32)

    def reduce(self, values: np.ndarray, axis: int) -> np.ndarray:
        """Resample `values` along `axis` with :meth:`matrix`.

        Each output sample reads only its matrix row's band of inputs (about
        8 sigma wide), so this costs the band, not the whole matrix.
        """
        matrix = self.matrix()
        moved = np.moveaxis(values, axis, 0)
        out = np.empty((self.size_out, *moved.shape[1:]), dtype=np.float32)
        for row, weights in enumerate(matrix):
            (used,) = np.nonzero(weights)
            start, stop = used[0], used[-1] + 1
            out[row] = np.tensordot(weights[start:stop], moved[start:stop], axes=1)
        return np.moveaxis(out, 0, axis)

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
