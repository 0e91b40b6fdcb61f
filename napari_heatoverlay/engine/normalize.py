"""Map raw heatmap values to [0, 1].

Every norm but ``"sigmoid"`` is a linear window ``(lo, hi)`` on the raw values,
so the window is computed once from the whole heatmap (all slices, before any
resampling) and reused for every slice, pyramid level and colour bar.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from napari_heatoverlay.engine.options import Norm, OverlayOptions


@dataclass(frozen=True)
class Window:
    """How raw heatmap values become ``n`` in [0, 1].

    Attributes
    ----------
    lo, hi : float
        Raw values that map to 0 and 1 (linear norms); clipped outside.
    sigmoid : bool
        If True, ``n = 1 / (1 + exp(-h))`` and ``lo``/``hi`` are unused.
    flat : float
        ``n`` for every pixel when the window is empty (``hi <= lo``):
        a constant map, 0.5 for ``"symmetric"`` and 0 otherwise.
    """

    lo: float
    hi: float
    sigmoid: bool = False
    flat: float = 0.0

    def apply(self, heat: np.ndarray) -> np.ndarray:
        """Return ``heat`` mapped to float32 in [0, 1], non-finite as NaN."""
        values = np.asarray(heat)
        if values.dtype not in (np.float32, np.float64):
            values = values.astype(np.float32)
        if self.sigmoid:
            with np.errstate(over="ignore", invalid="ignore"):
                n = 1.0 / (1.0 + np.exp(-values.astype(np.float64)))
        elif self.hi > self.lo:
            n = (values.astype(np.float64) - self.lo) * (1.0 / (self.hi - self.lo))
            np.clip(n, 0.0, 1.0, out=n)
        else:
            n = np.full(values.shape, self.flat)
        n = n.astype(np.float32)
        finite = np.isfinite(values)
        if not finite.all():
            n[~finite] = np.nan
        return n


def finite_values(heat: ArrayLike) -> np.ndarray:
    """Return the finite values of ``heat`` as a flat float64 array."""
    values = np.asarray(heat)
    if values.dtype.kind not in "biuf":
        raise TypeError(
            f"heatmap must hold real numbers, got dtype {values.dtype}; "
            "take .real or .abs() of a complex map first"
        )
    values = values.astype(np.float64, copy=False).ravel()
    return values[np.isfinite(values)]


def compute_window(heat: ArrayLike, options: OverlayOptions) -> Window:
    """Compute the :class:`Window` that ``options.norm`` gives for the whole ``heat``.

    ``options.vmin``/``options.vmax``, when given, fix the window (a linear
    one, whatever the norm); a missing bound comes from the data's min or max.
    """
    norm, vmin, vmax = options.norm, options.vmin, options.vmax
    if vmin is not None and vmax is not None:
        return Window(vmin, vmax)
    if norm == Norm.NONE and vmin is None and vmax is None:
        return Window(0.0, 1.0)
    values = finite_values(heat)
    if values.size == 0:
        return Window(0.0, 1.0, flat=0.0)
    if vmin is not None or vmax is not None or norm in (Norm.MINMAX, Norm.SIGMOID):
        lo, hi = float(values.min()), float(values.max())
        if vmin is not None or vmax is not None:
            return Window(
                vmin if vmin is not None else lo, vmax if vmax is not None else hi
            )
        if norm == Norm.SIGMOID:
            return Window(lo, hi, sigmoid=True)
        return Window(lo, hi)
    if norm == Norm.MAX:
        top = float(values.max())
        constant = top == float(values.min())
        return Window(0.0, 0.0 if constant else max(top, 0.0))
    if norm == Norm.PERCENTILE:
        lo, hi = np.percentile(values, options.percentiles)
        return Window(float(lo), float(hi))
    bound = float(np.abs(values).max())
    return Window(-bound, bound, flat=0.5)


def normalize(
    heatmap: ArrayLike,
    *,
    norm: str = "minmax",
    vmin: float | None = None,
    vmax: float | None = None,
    percentiles: tuple[float, float] = (1, 99),
) -> np.ndarray:
    """Scale a heatmap to [0, 1].

    The statistics come from all finite values of the heatmap at once, so the
    slices of a stack stay comparable.

    Parameters
    ----------
    heatmap : array_like
        Real-valued heatmap of any shape.
    norm : {"minmax", "max", "percentile", "sigmoid", "symmetric", "none"}
        ``"minmax"``: (h - min) / (max - min), as matplotlib's ``imshow``.
        ``"max"``: negatives clipped to 0, then divided by the max (Grad-CAM).
        ``"percentile"``: clipped to ``percentiles``, then min-max.
        ``"sigmoid"``: 1 / (1 + exp(-h)).
        ``"symmetric"``: 0.5 + h / (2 max|h|), for signed attributions.
        ``"none"``: values taken as they are, clipped to [0, 1].
    vmin, vmax : float, optional
        Fix the window instead of computing it (like napari contrast limits).
    percentiles : (float, float)
        Lower and upper percentile for ``norm="percentile"``.

    Returns
    -------
    ndarray of float32
        Same shape as ``heatmap``, in [0, 1]; NaN where ``heatmap`` is not
        finite. A constant map carries no information: the data-driven norms
        give 0 for it (0.5 with ``"symmetric"``), never NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_heatoverlay import normalize
    >>> normalize(np.array([[-2.0, 0.0], [1.0, 2.0]]), norm="symmetric")
    array([[0.  , 0.5 ],
           [0.75, 1.  ]], dtype=float32)
    """
    options = OverlayOptions(norm=norm, vmin=vmin, vmax=vmax, percentiles=percentiles)
    return compute_window(heatmap, options).apply(np.asarray(heatmap))
