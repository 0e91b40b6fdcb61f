"""The napari sample-data command: the sample photo and heatmap as layers.

The arrays come from :func:`napari_heatoverlay.sample`, which needs no napari.
"""

from __future__ import annotations

from typing import Any

from napari_heatoverlay.samples import STRIDE, sample


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

    image, heatmap = sample()
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
