"""Where a heatmap layer lies on an image layer: windows and transforms."""

import numpy as np
import pytest
from napari.layers import Image

from napari_heatoverlay.plugin.geometry import (
    aligned_transform,
    check_transform,
    fit_field_of_view,
    heatmap_window,
    nan_padding,
    result_transform,
    window_padding,
)


def test_fit_field_of_view_crops_and_pads_leading_axes_alike():
    heat = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    fitted = fit_field_of_view(heat, (1, 4), (-1, 2))
    assert fitted.shape == (2, 3, 3)
    np.testing.assert_array_equal(fitted[:, :2, 1:], heat[:, 1:, :2])
    assert np.isnan(fitted[:, :, 0]).all() and np.isnan(fitted[:, 2]).all()
    assert nan_padding((1, 4), (-1, 2), (3, 4)) == (0, 1, 1, 0)


def test_fit_field_of_view_inside_the_heatmap_is_a_plain_crop():
    heat = np.arange(3 * 4).reshape(3, 4)  # integers: no NaN needed, none added
    fitted = fit_field_of_view(heat, (1, 3), (0, 2))
    assert fitted.dtype == heat.dtype
    np.testing.assert_array_equal(fitted, heat[1:3, 0:2])


def test_identity_heatmap_is_stretched_over_the_image():
    image = Image(np.zeros((60, 90)), scale=(3, 3), translate=(5, 5))
    heat = Image(np.zeros((10, 12)))
    assert heatmap_window(image, heat, (60, 90), (10, 12)) == ((0, 10), (0, 12))


def test_world_placed_heatmap_window_rounds_to_heatmap_pixels():
    image = Image(np.zeros((60, 90)))
    heat = Image(np.zeros((4, 12)), scale=(10, 10), translate=(4.5, -5.5))
    # rows 0..3 cover image rows 0..39; the window runs two rows past the end
    assert heatmap_window(image, heat, (60, 90), (4, 12)) == ((0, 6), (1, 10))


def test_a_volume_window_follows_depth_as_in_plane():
    volume = Image(np.zeros((40, 64, 64)), scale=(2, 1, 1), translate=(6, 0, 0))
    # stretched along depth (identity there), placed in-plane
    heat = Image(np.zeros((5, 8, 8)), scale=(1, 8, 8), translate=(0, 3.5, 3.5))
    assert heatmap_window(volume, heat, (40, 64, 64), (5, 8, 8)) == (
        (0, 5),
        (0, 8),
        (0, 8),
    )
    # heat slice j covers image slices 12 + 4 j .. 15 + 4 j (world 30 + 8 j ...)
    heat.scale, heat.translate = (8, 8, 8), (33, 3.5, 3.5)
    window = heatmap_window(volume, heat, (40, 64, 64), (5, 8, 8))
    assert window == ((-3, 7), (0, 8), (0, 8))
    fitted = fit_field_of_view(np.ones((2, 5, 8, 8)), *window)
    assert fitted.shape == (2, 10, 8, 8)
    assert np.isnan(fitted[:, :3]).all() and np.isnan(fitted[:, 8:]).all()
    assert not np.isnan(fitted[:, 3:8]).any()
    assert window_padding(window, (5, 8, 8)) == [(3, 2), (0, 0), (0, 0)]
    heat.translate = (500, 3.5, 3.5)
    with pytest.raises(
        ValueError, match=r"does not overlap image layer .* along depth"
    ):
        heatmap_window(volume, heat, (40, 64, 64), (5, 8, 8))


def test_heatmap_elsewhere_in_the_world_is_an_error():
    image = Image(np.zeros((60, 90)), name="photo")
    heat = Image(np.zeros((10, 12)), name="heat", scale=(10, 10), translate=(1e3, 1e3))
    with pytest.raises(ValueError, match="'heat' does not overlap image layer"):
        heatmap_window(image, heat, (60, 90), (10, 12))


@pytest.mark.parametrize(
    "transform", [{"rotate": 30}, {"shear": [0.5]}, {"affine": np.diag([2, 1, 1])}]
)
def test_only_scale_and_translate_are_followed(transform):
    check_transform(Image(np.zeros((4, 4)), scale=(2, 3), translate=(1, 1)))
    with pytest.raises(ValueError, match="reset the others"):
        check_transform(Image(np.zeros((4, 4)), **transform))


def test_result_transform_takes_leading_axes_from_either_layer():
    image = Image(np.zeros((2, 30, 40)), scale=(7, 0.5, 0.5), translate=(1, 10, 20))
    heat = Image(np.zeros((5, 2, 3, 4)), scale=(3, 9, 1, 1), translate=(4, 9, 0, 0))
    scale, translate = result_transform(image, heat, 2)
    # axis 0 only the heatmap has; axis 1 both have, and the image's wins
    assert scale == (3.0, 7.0, 0.5, 0.5)
    assert translate == (4.0, 1.0, 10.0, 20.0)


def test_aligned_transform_keeps_leading_axes():
    image = Image(np.zeros((2, 400, 600)), scale=(3, 2, 2), translate=(7, 10, 20))
    heat = Image(np.zeros((2, 25, 40)), scale=(5, 1, 1))
    scale, translate = aligned_transform(image, heat)
    np.testing.assert_allclose(scale, [5, 32, 30])
    np.testing.assert_allclose(translate, [0, 25, 34])
    # then the heatmap covers the image exactly
    heat.scale, heat.translate = scale, translate
    assert heatmap_window(image, heat, (400, 600), (25, 40)) == ((0, 25), (0, 40))
