"""The blend formulas in NumPy, step for step as the numba kernel computes them.

Small work runs here, so that a script or a command that blends one picture
never pays numba's import and compilation (about a second). Every operation
mirrors :mod:`~napari_heatoverlay.engine.kernels` in the same precision and
order, so the two paths give identical pixels (the tests compare them).
"""

from __future__ import annotations

import numpy as np

from napari_heatoverlay.engine.options import Mode

#: Rows blended at once: bounds the float temporaries to a few MB.
_BAND_ROWS = 128


def image_table(image_range: tuple[float, float]) -> tuple[np.ndarray, float, float]:
    """The uint8 lookup table, offset and scale that map image values to 0..255."""
    lo, hi = image_range
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    levels = (np.arange(256, dtype=np.float64) - lo) * scale
    return np.clip(levels, 0.0, 255.0).astype(np.float32), float(lo), float(scale)


def image_values(image: np.ndarray, image_range: tuple[float, float]) -> np.ndarray:
    """The image as float32 0..255, (Y, X, 3), as the kernel reads each pixel.

    Examples
    --------
    >>> image_values(np.array([[0, 255]], np.uint8)[..., None], (0, 255))[0, 1]
    array([255., 255., 255.], dtype=float32)
    """
    table, lo, scale = image_table(image_range)
    if image.dtype == np.uint8:
        values = table[image]
    else:
        values = (image.astype(np.float64) - lo) * scale
        np.clip(values, 0.0, 255.0, out=values)
        values = values.astype(np.float32)
    if values.shape[-1] == 1:
        values = np.broadcast_to(values, (*values.shape[:-1], 3))
    return values


def image_rgb8(image: np.ndarray, image_range: tuple[float, float]) -> np.ndarray:
    """The image as uint8 RGB exactly as the blend sees it (where no heat is)."""
    return (image_values(image, image_range) + np.float32(0.5)).astype(np.uint8)


def blend(
    image: np.ndarray,
    image_range: tuple[float, float],
    rows_x: np.ndarray,
    y_index: np.ndarray,
    y_weight: np.ndarray,
    clip: tuple[float, float],
    invalid: tuple[np.ndarray, np.ndarray] | None,
    lut: np.ndarray,
    mode: str,
    alpha: float | np.ndarray,
    threshold: float | None,
    out: np.ndarray,
) -> np.ndarray:
    """:func:`~napari_heatoverlay.engine.blend.blend` without numba.

    Same arguments, same pixels; see there. `alpha` may also be a (Y, X)
    map of per-pixel opacities, which only this path takes.
    """
    height = out.shape[0]
    for start in range(0, height, _BAND_ROWS):
        stop = min(start + _BAND_ROWS, height)
        rows = slice(start, stop)
        colour, n = _colour_index(
            rows_x, y_index[rows], y_weight[rows], clip, lut.shape[0], threshold
        )
        if invalid is not None:
            invalid_x, y_nearest = invalid
            colour[invalid_x[y_nearest[rows]]] = -1
        img = image_values(image[rows], image_range)
        band_alpha = alpha[rows] if isinstance(alpha, np.ndarray) else alpha
        out[rows] = _formula(img, colour, n, lut, Mode(mode), band_alpha)
    return out


def _colour_index(
    rows_x: np.ndarray,
    y_index: np.ndarray,
    y_weight: np.ndarray,
    clip: tuple[float, float],
    lut_size: int,
    threshold: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Heat of each pixel (float32, clipped) and its colour row (-1: no heat)."""
    heat = y_weight[:, 0, None] * rows_x[y_index[:, 0]]
    for k in range(1, y_index.shape[1]):
        heat += y_weight[:, k, None] * rows_x[y_index[:, k]]
    np.clip(heat, np.float32(clip[0]), np.float32(clip[1]), out=heat)
    colour = np.minimum(
        (heat.astype(np.float64) * lut_size).astype(np.int32), lut_size - 1
    )
    cut = np.float32(-1.0 if threshold is None else threshold)
    colour[heat < cut] = -1
    return colour, heat


def _formula(
    img: np.ndarray,
    colour: np.ndarray,
    n: np.ndarray,
    lut: np.ndarray,
    mode: Mode,
    alpha: float | np.ndarray,
) -> np.ndarray:
    """One band of output pixels, uint8 (Y, X, 3); `alpha` scalar or per pixel."""
    per_pixel = isinstance(alpha, np.ndarray)
    a32 = alpha.astype(np.float32)[..., None] if per_pixel else np.float32(alpha)
    shows = (colour < 0)[..., None]
    c = lut[np.maximum(colour, 0)]
    if mode == Mode.ALPHA:
        keep = (1.0 - a32.astype(np.float64)) if per_pixel else 1.0 - alpha
        heat = c * a32 + np.float32(0.5)
        blended = np.asarray(keep, dtype=np.float32) * img + heat
        plain = img + np.float32(0.5)
        return np.where(shows, plain, blended).astype(np.uint8)
    # numba keeps float32 * float32 in float32 and widens float32 with a
    # float64 to float64: the same steps, in the same precision, here
    a = np.asarray(a32, dtype=np.float64)
    image64 = img.astype(np.float64)
    n32 = n[..., None]
    if mode == Mode.GRAY:
        value = (1.0 - a) * image64 + a * 255.0 * n32.astype(np.float64)
    elif mode == Mode.MULTIPLY:
        value = image64 * ((1.0 - a) + (a32 * n32).astype(np.float64))
    elif mode == Mode.SCALED:
        an = a32 * n32
        value = (1.0 - an.astype(np.float64)) * image64 + (an * c).astype(np.float64)
    elif mode == Mode.TINT:
        value = image64 * ((1.0 - a) + (a32 * c).astype(np.float64) / 255.0)
    else:
        value = np.minimum((img + a32 * c).astype(np.float64), 255.0)
    value = np.where(shows, image64, value)
    return (value + 0.5).astype(np.uint8)
