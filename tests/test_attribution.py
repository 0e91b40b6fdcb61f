"""Attribution options against plain float64 formulas: sign, cumulative,
gamma, per-pixel alpha, tint and channel_axis."""

import warnings

import dask.array as da
import numpy as np
import pytest
from _reference import on_bin_edge, reference_overlay, reference_resize
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from napari_heatoverlay import colorize, figure, normalize, overlay
from napari_heatoverlay.engine.options import OptionTypeError, OptionValueError

SIGNS = ["all", "positive", "negative", "absolute_value"]
MODES = ["alpha", "gray", "multiply", "scaled", "additive", "tint"]
rng = np.random.default_rng(10)


def signed(h, sign):
    h = np.asarray(h, dtype=np.float64)
    return {
        "all": h,
        "positive": np.where(h > 0, h, 0.0),
        "negative": -np.minimum(h, 0.0),
        "absolute_value": np.abs(h),
    }[sign]


def cumulative_reference(h, sign="all", outlier_perc=2.0):
    """The issue's rule, written out in float64."""
    selected = signed(h, sign)
    magnitudes = np.sort(np.abs(selected).ravel())
    running = np.cumsum(magnitudes)
    reached = np.flatnonzero(running >= running[-1] * 0.01 * (100.0 - outlier_perc))
    # rounding can leave the total itself short of 100 %: then t is the largest
    t = magnitudes[reached[0] if reached.size else -1]
    if sign == "all":
        return 0.5 + np.clip(selected / t, -1, 1) / 2
    return np.clip(selected / t, 0, 1)


@pytest.mark.parametrize("sign", SIGNS)
@pytest.mark.parametrize("outlier_perc", [0.0, 2.0, 25.0])
def test_cumulative_norm_follows_the_rule(sign, outlier_perc):
    h = rng.standard_t(3, size=(12, 17))
    got = normalize(h, norm="cumulative", sign=sign, outlier_perc=outlier_perc)
    np.testing.assert_allclose(
        got, cumulative_reference(h, sign, outlier_perc), atol=1e-6
    )


@pytest.mark.parametrize("sign", SIGNS)
def test_sign_is_applied_before_any_norm(sign):
    h = rng.normal(size=(9, 11))
    selected = signed(h, sign)
    lo, hi = selected.min(), selected.max()
    np.testing.assert_allclose(
        normalize(h, sign=sign), (selected - lo) / (hi - lo), atol=1e-6
    )


@pytest.mark.parametrize("gamma", [0.5, 1.0, 2.0, 3.3])
def test_gamma_raises_n_after_the_norm(gamma):
    h = rng.normal(size=(7, 8))
    n = (h - h.min()) / (h.max() - h.min())
    np.testing.assert_allclose(normalize(h, gamma=gamma), n**gamma, atol=1e-6)


@given(
    arrays(np.float64, (6, 7), elements=st.floats(-1e6, 1e6)),
    st.sampled_from(SIGNS),
    st.floats(0, 99),
    st.floats(0.1, 5),
)
@settings(max_examples=150, deadline=None)
def test_attribution_options_hypothesis(h, sign, outlier_perc, gamma):
    selected = signed(h, sign)
    if not np.any(np.abs(selected) > 0):
        flat = 0.5 if sign == "all" else 0.0
        expected = np.full(h.shape, flat) ** gamma
    else:
        expected = cumulative_reference(h, sign, outlier_perc) ** gamma
    got = normalize(
        h, norm="cumulative", sign=sign, outlier_perc=outlier_perc, gamma=gamma
    )
    np.testing.assert_allclose(got, expected, atol=1e-5)


def tint_reference(image, heat, alpha, colormap="jet"):
    img = image.astype(np.float64)
    n = (heat - heat.min()) / (heat.max() - heat.min())
    n = reference_resize(n, img.shape[:2])[..., None]
    import matplotlib

    c = matplotlib.colormaps[colormap](n[..., 0])[..., :3] * 255.0
    return img * ((1 - alpha) + alpha * c / 255.0), n[..., 0]


def test_tint_is_a_multiply_by_the_colour():
    image = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    heat = rng.normal(size=(8, 12))
    got = overlay(image, heat, mode="tint", alpha=0.7)
    expected, n = tint_reference(image, heat, 0.7)
    diff = np.abs(got - expected)[~on_bin_edge(n)]
    assert diff.max() <= 1.0


def per_pixel_reference(image, heat, alpha_map, mode):
    """Each formula with a = that pixel's opacity (float64)."""
    img = image.astype(np.float64)
    a = alpha_map[..., None]
    import matplotlib

    n = (heat - heat.min()) / (heat.max() - heat.min())
    n = reference_resize(n, img.shape[:2])[..., None]
    c = matplotlib.colormaps["jet"](n[..., 0])[..., :3] * 255.0
    return {
        "alpha": (1 - a) * img + a * c,
        "gray": (1 - a) * img + a * 255 * n,
        "multiply": img * (1 - a + a * n),
        "scaled": (1 - a * n) * img + a * n * c,
        "additive": np.minimum(255, img + a * c),
        "tint": img * ((1 - a) + a * c / 255),
    }[mode], n[..., 0]


@pytest.mark.parametrize("mode", MODES)
def test_a_per_pixel_alpha_on_the_image_grid(mode):
    image = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    heat = rng.normal(size=(10, 15))
    alpha_map = rng.random((40, 60))
    got = overlay(image, heat, mode=mode, alpha=alpha_map)
    expected, n = per_pixel_reference(image, heat, alpha_map.astype(np.float32), mode)
    diff = np.abs(got - expected)[~on_bin_edge(n)]
    assert diff.max() <= 1.0


def test_a_per_pixel_alpha_on_the_heatmap_grid_is_resampled_like_the_heat():
    image = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    heat = rng.normal(size=(10, 15))
    alpha_small = rng.random((10, 15))
    got = overlay(image, heat, alpha=alpha_small, interpolation="linear")
    alpha_full = np.clip(
        reference_resize(alpha_small, (40, 60)), alpha_small.min(), alpha_small.max()
    )
    expected, n = per_pixel_reference(image, heat, alpha_full, "alpha")
    diff = np.abs(got - expected)[~on_bin_edge(n)]
    assert diff.max() <= 1.0


@pytest.mark.parametrize("mode", MODES)
def test_a_constant_alpha_map_equals_the_scalar(mode):
    image = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    heat = rng.normal(size=(6, 8))
    scalar = overlay(image, heat, mode=mode, alpha=0.625)
    mapped = overlay(image, heat, mode=mode, alpha=np.full((30, 40), 0.625))
    assert np.array_equal(scalar, mapped)


def test_alpha_maps_stay_lazy_and_agree_on_pyramids_and_stacks():
    image = rng.integers(0, 256, (2, 64, 96, 3), dtype=np.uint8)
    heat = rng.normal(size=(2, 8, 12))
    alpha_map = rng.random((64, 96))
    eager = overlay(image, heat, alpha=alpha_map, mode="scaled")
    lazy = overlay(
        da.from_array(image, chunks=(1, 32, 48, 3)),
        heat,
        alpha=alpha_map,
        mode="scaled",
    )
    assert isinstance(lazy, da.Array)
    assert np.array_equal(lazy.compute(), eager)
    levels = [image[0], image[0, ::2, ::2]]
    pyramid = overlay(levels, heat[0], alpha=alpha_map)
    assert np.array_equal(pyramid[0], overlay(image[0], heat[0], alpha=alpha_map))
    assert pyramid[1].shape == (32, 48, 3)


@pytest.mark.parametrize(
    ("option", "value", "error", "words"),
    [
        ("sign", "pos", OptionValueError, "sign must be one of"),
        ("outlier_perc", 100, OptionValueError, "outlier_perc must be in [0, 100)"),
        ("outlier_perc", -1, OptionValueError, "outlier_perc must be in [0, 100)"),
        ("gamma", 0, OptionValueError, "gamma must be a finite number > 0"),
        ("gamma", float("nan"), OptionValueError, "gamma must be a finite number > 0"),
        ("alpha", np.full((4, 4), 1.5), OptionValueError, "values in [0, 1]"),
        ("alpha", np.ones(4), OptionValueError, "must be 2-D"),
        (
            "alpha",
            np.ones((5, 5)),
            OptionValueError,
            "image grid (30, 40) or on the heatmap grid (6, 8)",
        ),
        ("channel_axis", 1.5, OptionTypeError, "integer axis"),
        ("channel_axis", 5, ValueError, "out of range"),
        ("channel_axis", 1, ValueError, "points at an axis of size 40"),
    ],
)
def test_bad_attribution_options_are_named(option, value, error, words):
    import re

    image = np.zeros((30, 40, 3), np.uint8)
    with pytest.raises(error, match=re.escape(words)):
        overlay(image, np.ones((6, 8)), **{option: value})


def test_channels_first_images():
    image = rng.integers(0, 256, (3, 32, 48), dtype=np.uint8)
    heat = rng.normal(size=(8, 12))
    channels_last = np.moveaxis(image, 0, -1)
    assert np.array_equal(
        overlay(image, heat, channel_axis=0), overlay(channels_last, heat)
    )
    batch = rng.integers(0, 256, (4, 3, 32, 48), dtype=np.uint8)
    maps = rng.normal(size=(4, 8, 12))
    got = overlay(batch, maps, channel_axis=1)
    assert got.shape == (4, 32, 48, 3)
    assert np.array_equal(got[2], overlay(np.moveaxis(batch[2], 0, -1), maps[2]))
    lazy = overlay(da.from_array(batch, chunks=(1, 3, 16, 48)), maps, channel_axis=1)
    assert np.array_equal(lazy.compute(), got)


def test_channels_first_torch_batch_normalised_like_imagenet():
    torch = pytest.importorskip("torch")
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    pictures = torch.rand(2, 3, 32, 48)
    normalised = (pictures - mean) / std
    cams = torch.rand(2, 7, 7)
    # the extremes of an ImageNet-normalised batch
    low, high = float(((0 - mean) / std).min()), float(((1 - mean) / std).max())
    got = overlay(normalised, cams, channel_axis=1, image_range=(low, high))
    assert got.shape == (2, 32, 48, 3)
    expected = overlay(
        np.moveaxis(normalised.numpy(), 1, -1), cams.numpy(), image_range=(low, high)
    )
    assert np.array_equal(got, expected)


def test_a_channels_first_guess_warns_with_the_remedy():
    with pytest.warns(UserWarning, match="channel_axis=0"):
        overlay(np.zeros((3, 32, 48), np.uint8), np.ones((4, 4)))
    with pytest.warns(UserWarning, match="channel_axis=1"):
        overlay(np.zeros((2, 3, 32, 48), np.uint8), np.ones((4, 4)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        overlay(np.zeros((3, 32, 48), np.uint8), np.ones((4, 4)), rgb=False)
        overlay(np.zeros((32, 48, 3), np.uint8), np.ones((4, 4)))


def test_a_last_axis_of_one_is_grey():
    image = rng.integers(0, 256, (28, 28, 1), dtype=np.uint8)
    heat = rng.normal(size=(7, 7))
    assert np.array_equal(overlay(image, heat), overlay(image[..., 0], heat))
    # rgb=False says the last axis is X: 28 pictures of 28 x 1
    assert overlay(image, heat[:1], rgb=False).shape == (28, 28, 1, 3)


def test_colorize_and_figure_take_the_heat_options():
    h = rng.normal(size=(6, 9))
    n = normalize(h, norm="cumulative", sign="positive", gamma=2.0)
    colours = colorize(
        h, norm="cumulative", sign="positive", gamma=2.0, colormap="gray"
    )
    np.testing.assert_allclose(colours[..., 0] / 255.0, n, atol=1 / 255 + 1e-6)
    image = rng.integers(0, 256, (24, 36, 3), dtype=np.uint8)
    fig = figure(
        image,
        h,
        norm="cumulative",
        sign="negative",
        mode="tint",
        alpha=np.full((24, 36), 0.5),
    )
    np.testing.assert_array_equal(
        fig.axes[2].images[0].get_array(),
        overlay(
            image,
            h,
            norm="cumulative",
            sign="negative",
            mode="tint",
            alpha=np.full((24, 36), 0.5),
        ),
    )


def test_reference_overlay_still_matches_for_existing_modes():
    image = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    heat = rng.normal(size=(5, 6))
    got = overlay(image, heat, mode="scaled")
    expected, n = reference_overlay(image, heat, mode="scaled")
    assert np.abs(got - expected)[~on_bin_edge(n)].max() <= 1.0


def test_heat_options_agree_on_dask_and_pyramids():
    image = rng.integers(0, 256, (2, 48, 64, 3), dtype=np.uint8)
    heat = rng.normal(size=(2, 6, 8))
    options = {
        "norm": "cumulative",
        "sign": "negative",
        "outlier_perc": 5,
        "gamma": 1.7,
    }
    eager = overlay(image, heat, mode="tint", **options)
    lazy = overlay(
        da.from_array(image, chunks=(1, 24, 32, 3)),
        da.from_array(heat),
        mode="tint",
        **options,
    )
    assert np.array_equal(lazy.compute(), eager)
    pyramid = overlay([image[0], image[0, ::2, ::2]], heat[0], **options)
    assert np.array_equal(pyramid[0], overlay(image[0], heat[0], **options))


def test_reduce_channels_is_public_and_named():
    from napari_heatoverlay import reduce_channels

    attribution = rng.normal(size=(3, 5, 6))
    np.testing.assert_allclose(reduce_channels(attribution, "sum"), attribution.sum(0))
    np.testing.assert_allclose(
        reduce_channels(attribution, "l2", axis=0), np.sqrt((attribution**2).sum(0))
    )
    with pytest.raises(OptionValueError, match="how must be one of"):
        reduce_channels(attribution, "median")
