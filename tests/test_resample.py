"""The separable taps reproduce skimage.transform.resize(mode="edge")."""

import numpy as np
import pytest
from _reference import reference_resize

from napari_heatoverlay.engine.resample import AxisPlan, apply_taps

SHAPES = [
    ((8, 24), (32, 96)),
    ((7, 5), (30, 11)),
    ((3, 4), (5, 5)),
    ((50, 40), (13, 17)),
    ((128, 128), (100, 300)),
    ((16, 16), (16, 16)),
]


def resize(n, shape, order):
    """Resample both axes the way the blend kernel does, at full size."""
    rows = AxisPlan(n.shape[0], shape[0], order)
    cols = AxisPlan(n.shape[1], shape[1], order)
    coefficients = cols.prefilter(rows.prefilter(n, 0), 1)
    out = apply_taps(apply_taps(coefficients, cols.taps(), 1), rows.taps(), 0)
    return np.clip(out, n.min(), n.max())  # as skimage (and the kernel) clip


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


def test_taps_for_a_range_equal_the_full_taps():
    plan = AxisPlan(37, 1000, 3)
    full, part = plan.taps(), plan.taps(400, 650)
    assert np.array_equal(full.index[400:650], part.index)
    assert np.array_equal(full.weight[400:650], part.weight)


def test_cubic_overshoot_is_clipped_to_the_input_range():
    from napari_heatoverlay import overlay

    step = np.zeros((4, 4), np.float32)
    step[:, 2:] = 1
    out = overlay(
        np.zeros((4, 40), np.uint8),
        step,
        mode="gray",
        alpha=1.0,
        interpolation="cubic",
        norm="none",
    )
    assert out.min() == 0 and out.max() == 255


REDUCTIONS = [
    ((400, 300), (40, 60)),
    ((1000, 64), (50, 64)),
    ((2048, 2048), (16, 32)),
    ((97, 500), (19, 23)),
]


def textured(shape):
    rng = np.random.default_rng(1)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    wave = np.sin(rows / 37.0) * np.cos(cols / 23.0)
    return (0.5 + 0.3 * wave + 0.2 * rng.random(shape)).astype(np.float32)


@pytest.mark.parametrize(("shape_in", "shape_out"), REDUCTIONS)
@pytest.mark.parametrize("interpolation", ["nearest", "linear", "cubic"])
def test_large_reductions_by_matrix_equal_skimage(shape_in, shape_out, interpolation):
    order = {"nearest": 0, "linear": 1, "cubic": 3}[interpolation]
    n = textured(shape_in)
    rows = AxisPlan(shape_in[0], shape_out[0], order)
    cols = AxisPlan(shape_in[1], shape_out[1], order)
    assert rows.direct or cols.direct
    reduced = n
    if rows.direct:
        reduced = rows.reduce(reduced, 0)
        rows = AxisPlan(shape_out[0], shape_out[0], order)
    if cols.direct:
        reduced = cols.reduce(reduced, 1)
        cols = AxisPlan(shape_out[1], shape_out[1], order)
    got = resize(reduced, shape_out, order) if reduced.shape != shape_out else reduced
    expected = reference_resize(n.astype(np.float64), shape_out, interpolation)
    # nearest and linear compose exactly; cubic samples the smoothed map
    tolerance = 1e-5 if order < 3 else 0.5 / 255
    np.testing.assert_allclose(got, expected, atol=tolerance)


def test_a_huge_map_over_a_small_image_matches_skimage_within_a_grey_level():
    from _reference import on_bin_edge, reference_overlay

    from napari_heatoverlay import overlay

    heat = textured((4096, 4096)) * 7.0 - 2.0
    heat[100:300, 2000:2100] = np.nan
    image = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    got = overlay(image, heat)
    finite = np.where(np.isfinite(heat), heat, np.nanmin(heat))
    expected, n = reference_overlay(image, finite)
    # pixels whose nearest heat pixel is NaN show the image
    nearest_rows = AxisPlan(4096, 64, 0).taps().index[:, 0]
    nearest_cols = AxisPlan(4096, 64, 0).taps().index[:, 0]
    hole = np.isnan(heat[np.ix_(nearest_rows, nearest_cols)])
    assert np.array_equal(got[hole], image[hole])
    diff = np.abs(got.astype(float) - expected)[~hole]
    assert diff[~on_bin_edge(n)[~hole]].max() <= 1.0
