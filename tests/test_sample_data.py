"""The sample: pure arrays, and the napari sample-data contribution."""

import subprocess
import sys

import numpy as np

from napari_heatoverlay.plugin.reader import HEATMAP_COLORMAP
from napari_heatoverlay.plugin.sample_data import make_sample_data
from napari_heatoverlay.samples import STRIDE
from napari_heatoverlay.samples import sample as sample_arrays


def test_sample_arrays_need_no_napari():
    code = (
        "import sys\n"
        "from napari_heatoverlay import sample\n"
        "sample()\n"
        "assert 'napari' not in sys.modules and 'qtpy' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_sample_arrays_look_like_a_feature_map():
    image, heatmap = sample_arrays()
    assert image.dtype == np.uint8 and image.shape == (400, 600, 3)
    assert heatmap.dtype == np.float32
    assert heatmap.shape == (400 // STRIDE, 600 // STRIDE)
    assert heatmap.min() < 0 < heatmap.max()
    # the hottest heat pixel lies on the crema of the cup
    y, x = np.unravel_index(heatmap.argmax(), heatmap.shape)
    assert 100 <= (y + 0.5) * STRIDE <= 180
    assert 240 <= (x + 0.5) * STRIDE <= 340
    # deterministic
    np.testing.assert_array_equal(heatmap, sample_arrays()[1])


def test_make_sample_data_layers_carry_their_roles():
    (image, image_kwargs, image_type), (heat, heat_kwargs, heat_type) = (
        make_sample_data()
    )
    assert image.shape[:2] == tuple(STRIDE * size for size in heat.shape)
    assert image_type == heat_type == "image"
    assert image_kwargs["rgb"] is True
    assert image_kwargs["metadata"]["heatoverlay"] == {"role": "image"}
    assert heat_kwargs["metadata"]["heatoverlay"]["role"] == "heatmap"
    assert heat_kwargs["opacity"] == 0.6
    assert heat_kwargs["blending"] == "translucent"
    # heat pixel 0 is centred on the first STRIDE x STRIDE block of the photo
    assert heat_kwargs["scale"] == (STRIDE, STRIDE)
    assert heat_kwargs["translate"] == ((STRIDE - 1) / 2, (STRIDE - 1) / 2)


def test_sample_opens_through_the_plugin(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.open_sample("napari-heatoverlay", "coffee_heatmap")
    assert [layer.name for layer in viewer.layers] == ["coffee", "coffee heatmap"]
    image, heat = viewer.layers
    assert image.rgb
    assert heat.colormap.name == HEATMAP_COLORMAP
    assert heat.metadata["heatoverlay"]["role"] == "heatmap"
    # napari draws the heatmap's pixels over exactly the photo's pixels
    np.testing.assert_allclose(
        heat._extent_world_augmented, image._extent_world_augmented
    )
