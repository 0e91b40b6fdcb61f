"""Plain NumPy / scikit-image / matplotlib versions of the issue's formulas.

Written straight from the specification, in float64, with no code shared with
the engine: the tests compare the engine against these.
"""

import matplotlib
import numpy as np
from skimage.transform import resize

ORDERS = {"nearest": 0, "linear": 1, "cubic": 3}


def reference_normalize(heat, norm="minmax", vmin=None, vmax=None, percentiles=(1, 99)):
    h = np.asarray(heat, dtype=np.float64)
    finite = h[np.isfinite(h)]
    if vmin is not None or vmax is not None:
        lo = vmin if vmin is not None else finite.min()
        hi = vmax if vmax is not None else finite.max()
        n = (h - lo) / (hi - lo) if hi > lo else np.zeros_like(h)
    elif norm == "minmax":
        lo, hi = finite.min(), finite.max()
        n = (h - lo) / (hi - lo) if hi > lo else np.zeros_like(h)
    elif norm == "max":
        top = finite.max()
        constant = top == finite.min()
        n = np.maximum(h, 0) / top if top > 0 and not constant else np.zeros_like(h)
    elif norm == "percentile":
        lo, hi = np.percentile(finite, percentiles)
        n = (np.clip(h, lo, hi) - lo) / (hi - lo) if hi > lo else np.zeros_like(h)
    elif norm == "sigmoid":
        with np.errstate(over="ignore"):
            n = 1.0 / (1.0 + np.exp(-h))
    elif norm == "symmetric":
        bound = np.abs(finite).max()
        n = 0.5 + h / (2 * bound) if bound > 0 else np.full_like(h, 0.5)
    elif norm == "none":
        n = h
    n = np.clip(n, 0.0, 1.0)
    n[~np.isfinite(h)] = np.nan
    return n


def reference_resize(n, shape, interpolation="linear"):
    """skimage.transform.resize per the issue (anti-aliased when reducing)."""
    if n.shape[-2:] == tuple(shape):
        return n
    reducing = shape[0] < n.shape[-2] or shape[1] < n.shape[-1]
    return resize(
        n,
        (*n.shape[:-2], *shape),
        order=ORDERS[interpolation],
        mode="edge",
        anti_aliasing=reducing,
    )


def reference_overlay(
    image,
    heat,
    mode="alpha",
    alpha=0.5,
    colormap="jet",
    interpolation="linear",
    threshold=None,
    **norm_kwargs,
):
    """The issue's five formulas; image is uint8 (Y, X, 3), heat is 2-D."""
    img = np.asarray(image, dtype=np.float64)
    n = reference_normalize(heat, **norm_kwargs)
    n = reference_resize(n, img.shape[:2], interpolation)[..., None]
    c = matplotlib.colormaps[colormap](n[..., 0])[..., :3] * 255.0
    a = alpha
    if mode == "alpha":
        out = (1 - a) * img + a * c
    elif mode == "gray":
        out = (1 - a) * img + a * 255.0 * n
    elif mode == "multiply":
        out = img * (1 - a + a * n)
    elif mode == "scaled":
        out = (1 - a * n) * img + a * n * c
    elif mode == "additive":
        out = np.minimum(255.0, img + a * c)
    if threshold is not None:
        out = np.where(n < threshold, img, out)
    return out, n[..., 0]


def on_bin_edge(n, size=256, tolerance=1e-4):
    """Pixels whose value sits (numerically) on a colormap bin edge."""
    scaled = np.asarray(n) * size
    return np.abs(scaled - np.round(scaled)) < tolerance
