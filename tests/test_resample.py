"""The separable taps reproduce skimage.transform.resize(mode="edge")."""

import numpy as np
import pytest
from _reference import reference_resize

from napari_heatoverlay._resample import AxisPlan, resize

SHAPES = [
    ((8, 24), (32, 96)),
    ((7, 5), (30, 11)),
    ((3, 4), (5, 5)),
    ((50, 40), (13, 17)),
    ((128, 128), (100, 300)),
    ((16, 16), (16, 16)),
]


@pytest.mark.parametrize(("shape_in", "shape_out"), SHAPES)
@pytest.mark.parametrize("interpolation", ["nearest", "linear", "cubic"])
def test_resize_equals_skimage(shape_in, shape_out, interpolation):
    n = np.random.default_rng(0).random(shape_in).astype(np.float32)
    order = {"nearest": 0, "linear": 1, "cubic": 3}[interpolation]
    expected = reference_resize(n.astype(np.float64), shape_out, interpolation)
    np.testing.assert_allclose(resize(n, shape_out, order), expected, atol=1e-6)


def test_pixel_centres_are_aligned():
    """Upsampling by 4: output pixel i samples input coordinate (i + 0.5) / 4 - 0.5."""
    taps = AxisPlan(4, 16, 1).taps()
    centre = (taps.index * taps.weight).sum(axis=1)
    expected = np.clip((np.arange(16) + 0.5) / 4 - 0.5, 0, 3)
    np.testing.assert_allclose(centre, expected, atol=1e-6)


def test_cubic_stays_in_input_range():
    step = np.zeros((4, 4), np.float32)
    step[:, 2:] = 1
    out = resize(step, (4, 40), 3)
    assert out.min() >= 0 and out.max() <= 1
