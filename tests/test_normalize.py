"""normalize(): each norm against its formula."""

import warnings

import numpy as np
import pytest
from _reference import reference_normalize

from napari_heatoverlay import normalize

NORMS = ["minmax", "max", "percentile", "sigmoid", "symmetric", "none"]


@pytest.mark.parametrize("norm", NORMS)
def test_each_norm_matches_its_formula(norm):
    heat = np.random.default_rng(0).normal(0.2, 1.5, (3, 16, 16))
    heat[0, 0, 0] = 40.0  # an outlier, for the percentile norm
    got = normalize(heat, norm=norm)
    assert got.dtype == np.float32 and got.shape == heat.shape
    assert np.nanmin(got) >= 0 and np.nanmax(got) <= 1
    np.testing.assert_allclose(got, reference_normalize(heat, norm=norm), atol=1e-6)


def test_percentile_norm_is_robust_to_outliers():
    heat = np.linspace(0, 1, 1000)
    heat[-1] = 1e6
    assert normalize(heat[None], norm="percentile")[0, 500] == pytest.approx(
        0.5, abs=0.02
    )
    assert normalize(heat[None], norm="minmax")[0, 500] < 1e-5


def test_max_norm_clips_negatives():
    got = normalize(np.array([[-2.0, 0.0, 1.0, 4.0]]), norm="max")
    np.testing.assert_allclose(got, [[0, 0, 0.25, 1]])


def test_window_fixed_by_vmin_vmax_and_nan_kept():
    heat = np.array([[-5.0, 0.0, np.nan], [5.0, 10.0, np.inf]])
    got = normalize(heat, vmin=0, vmax=10)
    np.testing.assert_allclose(got, [[0, 0, np.nan], [0.5, 1, np.nan]])
    only_low = normalize(heat, vmin=-10)
    np.testing.assert_allclose(only_low[1, 1], 1.0)
    np.testing.assert_allclose(only_low[0, 1], 0.5)


@pytest.mark.parametrize("norm", NORMS)
def test_constant_map_gives_zero_and_no_warning(norm):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = normalize(np.full((4, 4), 7.0 if norm != "symmetric" else 0.0), norm=norm)
    expected = {"symmetric": 0.5, "sigmoid": 1 / (1 + np.exp(-7.0)), "none": 1.0}
    np.testing.assert_allclose(got, expected.get(norm, 0.0), rtol=1e-6)


def test_statistics_span_all_slices():
    stack = np.stack([np.full((2, 2), 1.0), np.full((2, 2), 3.0)])
    got = normalize(stack)
    assert np.all(got[0] == 0) and np.all(got[1] == 1)


def test_integer_and_bool_heatmaps():
    np.testing.assert_allclose(
        normalize(np.array([[0, 128, 255]], np.uint8)), [[0, 128 / 255, 1]]
    )
    np.testing.assert_allclose(normalize(np.array([[False, True]])), [[0, 1]])


def test_bad_norm_and_dtype():
    with pytest.raises(ValueError, match="norm must be one of"):
        normalize(np.ones((2, 2)), norm="z")
    with pytest.raises(TypeError, match="real numbers"):
        normalize(np.ones((2, 2), complex))
