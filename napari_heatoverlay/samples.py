"""Sample data: a photo and a feature-map-like heatmap over it (no napari).

The photo is scikit-image's ``coffee`` (a cup of espresso, shipped with
scikit-image, no download). The heatmap looks like a CNN activation:
``STRIDE`` times coarser than the photo on each side, smooth, unnormalised
and signed, hottest on the crema, warm on the spoon and negative in the dark
top-left corner. It covers the photo's field of view (the Grad-CAM
convention).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: The heatmap's stride: one heat pixel per STRIDE x STRIDE image pixels,
#: like the output of a convolutional network's deep layer.
STRIDE = 20

# Blobs in image pixels (centre y, centre x, radius, strength): the crema
# carries the network's evidence, the spoon a little, the dark corner none.
_BLOBS = (
    (140.0, 290.0, 70.0, 9.0),
    (285.0, 360.0, 35.0, 3.5),
    (40.0, 40.0, 80.0, -4.0),
)


class Sample(NamedTuple):
    """An image and a heatmap that covers it; unpacks as ``image, heatmap``."""

    image: np.ndarray
    heatmap: np.ndarray


def sample(*, channels: int | None = None, frames: int | None = None) -> Sample:
    """Return the sample photo and a heatmap over it, to try things on.

    Parameters
    ----------
    channels : int, optional
        Return a (1, channels, 20, 30) feature tensor instead of one map, the
        shape a CNN layer has: channel 0 is the map, the others are shifted,
        rescaled and noisier versions of it.
    frames : int, optional
        Return a movie instead: (frames, 400, 600, 3) images panning over the
        photo and (frames, 20, 30) maps that follow them.

    Returns
    -------
    Sample
        ``(image, heatmap)``: by default a (400, 600, 3) uint8 photo and a
        (20, 30) float32 map of raw activations, roughly in [-4, 9].

    Examples
    --------
    >>> from napari_heatoverlay import sample
    >>> image, heatmap = sample()
    >>> image.shape, image.dtype.name, heatmap.shape, heatmap.dtype.name
    ((400, 600, 3), 'uint8', (20, 30), 'float32')
    >>> sample(channels=16).heatmap.shape
    (1, 16, 20, 30)
    >>> [array.shape for array in sample(frames=4)]
    [(4, 400, 600, 3), (4, 20, 30)]
    """
    if channels is not None and frames is not None:
        raise ValueError("pass channels or frames, not both")
    from skimage import data

    photo = data.coffee()
    if frames is not None:
        if frames < 1:
            raise ValueError(f"frames must be at least 1, got {frames}")
        step = STRIDE // 2
        images = np.stack([np.roll(photo, -t * step, axis=1) for t in range(frames)])
        maps = np.stack([_heat(photo.shape[:2], shift=t * step) for t in range(frames)])
        return Sample(images, maps)
    heat = _heat(photo.shape[:2])
    if channels is None:
        return Sample(photo, heat)
    if channels < 1:
        raise ValueError(f"channels must be at least 1, got {channels}")
    rng = np.random.default_rng(7)
    stack = [heat]
    for _ in range(channels - 1):
        shifted = np.roll(heat, tuple(rng.integers(-3, 4, 2)), axis=(0, 1))
        noise = rng.normal(scale=1.0, size=heat.shape).astype(np.float32)
        stack.append(rng.uniform(0.3, 2.0) * shifted + noise)
    return Sample(photo, np.stack(stack)[None].astype(np.float32))


def _heat(shape: tuple[int, int], shift: float = 0.0) -> np.ndarray:
    from scipy import ndimage

    rows, cols = (size // STRIDE for size in shape)
    # centres of the heat pixels, in image pixel coordinates
    y = (np.arange(rows)[:, None] + 0.5) * STRIDE - 0.5
    x = (np.arange(cols)[None, :] + 0.5) * STRIDE - 0.5 + shift
    x = np.mod(x, shape[1])
    heat = np.zeros((rows, cols))
    for centre_y, centre_x, radius, strength in _BLOBS:
        distance2 = (y - centre_y) ** 2 + (x - centre_x) ** 2
        heat += strength * np.exp(-distance2 / (2.0 * radius**2))
    texture = np.random.default_rng(2024).normal(scale=0.6, size=heat.shape)
    heat += ndimage.gaussian_filter(texture, 1.0) - 0.5
    return heat.astype(np.float32)
