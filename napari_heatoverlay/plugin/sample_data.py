"""Sample data: a photo and a feature-map-like heatmap over it.

:func:`sample_arrays` needs neither napari nor Qt (the command line and the
tests use it); :func:`make_sample_data` is the napari sample-data command.
"""

from __future__ import annotations

from typing import Any

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


def sample_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Return a photo and a low-resolution, signed heatmap that fits it.

    The image is scikit-image's ``coffee`` (a cup of espresso, no download).
    The heatmap looks like a CNN activation: ``STRIDE`` times coarser than
    the image on each side, smooth, unnormalised and signed, hottest on the
    crema, warm on the spoon and negative in the dark top-left corner. It
    covers the image's field of view (the Grad-CAM convention).

    Returns
    -------
    image : ndarray of uint8, shape (400, 600, 3)
        RGB photo.
    heatmap : ndarray of float32, shape (20, 30)
        Raw activations, roughly in [-4, 9].

    Examples
    --------
    >>> from napari_heatoverlay.plugin.sample_data import sample_arrays
    >>> image, heatmap = sample_arrays()
    >>> image.shape, image.dtype.name, heatmap.shape, heatmap.dtype.name
    ((400, 600, 3), 'uint8', (20, 30), 'float32')
    >>> bool(heatmap.min() < 0 < heatmap.max())
    True
    """
    from scipy import ndimage
    from skimage import data

    image = data.coffee()
    rows, cols = (size // STRIDE for size in image.shape[:2])
    # centres of the heat pixels, in image pixel coordinates
    y = (np.arange(rows)[:, None] + 0.5) * STRIDE - 0.5
    x = (np.arange(cols)[None, :] + 0.5) * STRIDE - 0.5
    heat = np.zeros((rows, cols))
    for centre_y, centre_x, radius, strength in _BLOBS:
        distance2 = (y - centre_y) ** 2 + (x - centre_x) ** 2
        heat += strength * np.exp(-distance2 / (2.0 * radius**2))
    texture = np.random.default_rng(2024).normal(scale=0.6, size=heat.shape)
    heat += ndimage.gaussian_filter(texture, 1.0) - 0.5
    return image, heat.astype(np.float32)


def make_sample_data() -> list[tuple[Any, dict, str]]:
    """Return the sample as napari layer data: the photo and its heatmap.

    The heatmap layer is styled like the reader's heatmap layers (its
    colormap, translucent, opacity 0.6) and scaled so that napari draws it on top of
    the photo, pixel-centre aligned.

    Returns
    -------
    list of LayerDataTuple
        ``[(image, kwargs, "image"), (heatmap, kwargs, "image")]``; each
        layer's ``metadata["heatoverlay"]["role"]`` says which is which.

    Examples
    --------
    >>> from napari_heatoverlay.plugin.sample_data import make_sample_data
    >>> [kwargs["name"] for _, kwargs, _ in make_sample_data()]
    ['coffee', 'coffee heatmap']
    """
    from napari_heatoverlay.plugin.reader import HEATMAP_COLORMAP

    image, heatmap = sample_arrays()
    image_kwargs = {
        "name": "coffee",
        "rgb": True,
        "metadata": {"heatoverlay": {"role": "image"}},
    }
    heatmap_kwargs = {
        "name": "coffee heatmap",
        "colormap": HEATMAP_COLORMAP,
        "blending": "translucent",
        "opacity": 0.6,
        "scale": (STRIDE, STRIDE),
        "translate": ((STRIDE - 1) / 2, (STRIDE - 1) / 2),
        "metadata": {
            "heatoverlay": {
                "role": "heatmap",
                "source": "skimage.data.coffee (synthetic heatmap)",
                "layout": "HW",
                "stride": STRIDE,
            }
        },
    }
    return [(image, image_kwargs, "image"), (heatmap, heatmap_kwargs, "image")]
