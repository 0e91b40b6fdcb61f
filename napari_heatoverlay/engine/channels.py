"""Combine the channels of a feature map or attribution into one map."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from napari_heatoverlay.engine.options import OptionValueError, Reduction


def reduce_channels(
    features: ArrayLike, how: str = "mean", *, axis: int = 0
) -> np.ndarray:
    """Combine a channel axis into one map, in float64.

    Parameters
    ----------
    features : array_like
        Any real array, e.g. a (C, h, w) feature map or a (3, H, W)
        attribution over colour channels; torch tensors are read as they are.
    how : {"mean", "max", "l2", "sum"}
        Mean, maximum, L2 norm ``sqrt(sum(c ** 2))``, or sum (captum's
        default over colour channels).
    axis : int
        The channel axis.

    Returns
    -------
    ndarray of float64
        `features` without `axis`.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_heatoverlay import reduce_channels
    >>> attribution = np.ones((3, 2, 2))
    >>> reduce_channels(attribution, "sum")[0, 0], reduce_channels(attribution, "l2")[0, 0]
    (np.float64(3.0), np.float64(1.7320508075688772))
    """
    try:
        reduction = Reduction(how)
    except ValueError:
        names = ", ".join(repr(member.value) for member in Reduction)
        raise OptionValueError(
            "reduce", f"how must be one of {names}; got {how!r}"
        ) from None
    if hasattr(features, "detach"):
        features = features.detach().cpu().numpy()
    values = np.asarray(features, dtype=np.float64)
    if not -values.ndim <= axis < values.ndim:
        raise ValueError(
            f"axis={axis} is out of range for shape {values.shape}; use "
            f"{-values.ndim}..{values.ndim - 1}"
        )
    return _REDUCERS[reduction](values, axis)


def _l2(values: np.ndarray, axis: int) -> np.ndarray:
    return np.sqrt(np.square(values).sum(axis=axis))


_REDUCERS: dict[Reduction, Any] = {
    Reduction.MEAN: lambda values, axis: values.mean(axis=axis),
    Reduction.MAX: lambda values, axis: values.max(axis=axis),
    Reduction.L2: _l2,
    Reduction.SUM: lambda values, axis: values.sum(axis=axis),
}
