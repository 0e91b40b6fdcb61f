"""overlay() and colorize() against the issue's formulas in plain NumPy."""

import warnings

import matplotlib
import numpy as np
import pytest
from _reference import on_bin_edge, reference_normalize, reference_overlay

from napari_heatoverlay import colorize, overlay

MODES = ["alpha", "gray", "multiply", "scaled", "additive"]
NORMS = ["minmax", "max", "percentile", "sigmoid", "symmetric", "none"]
INTERPOLATIONS = ["nearest", "linear", "cubic"]


@pytest.fixture
def image():
    return np.random.default_rng(0).integers(0, 256, (32, 96, 3), dtype=np.uint8)


@pytest.fixture
def feature():
    """One channel of a (1, 256, 8, 24) CNN feature tensor: signed, unnormalised."""
    return np.random.default_rng(1).normal(0.3, 2.0, (1, 256, 8, 24)).astype(np.float32)


def assert_close(got, ref, n=None, size=256):
    """Within one grey level, except pixels on a colormap bin edge."""
    diff = np.abs(got.astype(np.float64) - ref)
    if n is not None:
        diff = diff[~on_bin_edge(n, size)]
    assert diff.max() <= 1.0, f"max difference {diff.max()} grey levels"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_modes_and_interpolations_match_formulas(image, feature, mode, interpolation):
    heat = feature[0, 7]
    got = overlay(image, heat, mode=mode, alpha=0.6, interpolation=interpolation)
    ref, n = reference_overlay(
        image, heat, mode=mode, alpha=0.6, interpolation=interpolation
    )
    assert got.dtype == np.uint8 and got.shape == (32, 96, 3)
    assert_close(got, ref, n)


@pytest.mark.parametrize("norm", NORMS)
def test_norms_match_formulas(image, feature, norm):
    heat = feature[0, 3] * (0.1 if norm == "none" else 1.0)
    got = overlay(image, heat, norm=norm, colormap="viridis")
    ref, n = reference_overlay(image, heat, norm=norm, colormap="viridis")
    assert_close(got, ref, n)


def test_vmin_vmax_fix_the_window(image, feature):
    heat = feature[0, 0]
    got = overlay(image, heat, vmin=-1.0, vmax=2.5, mode="scaled")
    ref, n = reference_overlay(image, heat, vmin=-1.0, vmax=2.5, mode="scaled")
    assert_close(got, ref, n)


def test_larger_heatmap_is_reduced_without_aliasing(image):
    stripes = np.tile([0.0, 1.0], (128, 192))  # a 1-pixel pattern, 4x the image
    got = overlay(image, stripes, mode="gray", alpha=1.0)
    # anti-aliased: away from the edges the stripes average to mid grey
    assert np.abs(got[:, 1:-1].astype(float) - 127.5).max() <= 2
    ref, _ = reference_overlay(image, stripes, mode="gray", alpha=1.0)
    assert_close(got, ref)


def test_seed_variant_1_multiply_keeps_only_hot_regions():
    """The seed answer: img * (feature / max(feature))."""
    img = np.random.default_rng(2).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    rows, cols = np.mgrid[:64, :80]
    feature = rows.astype(np.float64) * cols
    feature = (255.5 * feature / feature.max()).astype(np.uint8)
    seed = (img * (feature[:, :, None].astype(np.float64) / feature.max())).astype(
        np.uint8
    )
    got = overlay(img, feature, mode="multiply", alpha=1.0, norm="max")
    assert np.abs(got.astype(int) - seed).max() <= 1


def test_seed_variant_2_grey_alpha_blend():
    """The seed answer: feature * alpha + img * (1 - alpha), feature in 0..255."""
    img = np.random.default_rng(3).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    rows, cols = np.mgrid[:64, :80]
    feature = rows.astype(np.float64) * cols
    feature = (255.5 * feature / feature.max()).astype(np.uint8)
    alpha = 0.5
    seed = (feature[:, :, None].astype(np.float64) * alpha + img * (1 - alpha)).astype(
        np.uint8
    )
    got = overlay(img, feature, mode="gray", alpha=alpha, vmin=0, vmax=255)
    assert np.abs(got.astype(int) - seed).max() <= 1


def test_seed_variant_3_jet_alpha_blend_of_the_askers_tensor():
    """The seed's final formula on the asker's (32, 96, 3) image and (1, 256, 32, 96) map."""
    img = np.random.default_rng(4).integers(0, 256, (32, 96, 3), dtype=np.uint8)
    features = np.random.default_rng(5).normal(size=(1, 256, 32, 96))
    feature = features[0, 0]
    alpha = 0.5
    normalised = (feature - np.amin(feature)).astype(np.float32) / (
        np.amax(feature) - np.amin(feature)
    ).astype(np.float32)
    seed = (
        (matplotlib.colormaps["jet"](normalised)[:, :, :3] * 255) * alpha
        + img * (1 - alpha)
    ).astype(np.uint8)
    got = overlay(img, feature, mode="alpha", alpha=alpha, colormap="jet")
    assert_close(got, seed, normalised)


def test_nan_and_inf_pixels_show_the_image(image):
    heat = np.random.default_rng(6).random((32, 96))
    heat[5:9, 10:20] = np.nan
    heat[20, 50] = np.inf
    heat[21, 60] = -np.inf
    got = overlay(image, heat, alpha=0.9)
    assert np.array_equal(got[5:9, 10:20], image[5:9, 10:20])
    assert np.array_equal(got[20, 50], image[20, 50])
    assert np.array_equal(got[21, 60], image[21, 60])
    finite = np.isfinite(heat)
    ref, n = reference_overlay(image, np.where(finite, heat, np.nan), alpha=0.9)
    assert_close(got[finite], ref[finite], n[finite])


def test_nan_footprint_follows_resampling(image):
    heat = np.ones((8, 24))
    heat[2, 3] = np.nan  # covers rows 8..12, cols 12..16 of the 4x larger image
    got = overlay(image, heat, alpha=1.0)
    assert np.array_equal(got[8:12, 12:16], image[8:12, 12:16])
    assert not np.array_equal(got[12:16, 12:16], image[12:16, 12:16])


def test_all_nan_map_returns_the_image():
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    got = overlay(grey, np.full((3, 4), np.nan))
    assert np.array_equal(got, np.repeat(grey[..., None], 3, axis=-1))


def test_constant_map_gives_zero_heat_without_warning(image):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = overlay(image, np.full((8, 24), 3.0), mode="gray", alpha=1.0)
        symmetric = overlay(
            image, np.zeros((8, 24)), mode="gray", alpha=1.0, norm="symmetric"
        )
    assert np.all(got == 0)
    assert np.all(symmetric == 128)  # 0.5 * 255 rounded


def test_threshold_leaves_cold_pixels_exactly_as_the_image(image, feature):
    heat = feature[0, 9]
    got = overlay(image, heat, threshold=0.6, alpha=1.0)
    _, n = reference_overlay(image, heat)
    cold = n < 0.6 - 1e-5
    hot = n >= 0.6 + 1e-5
    assert np.array_equal(got[cold], image[cold])
    assert cold.any() and hot.any()
    assert not np.array_equal(got[hot], image[hot])


def test_colorize_equals_matplotlib_lookup():
    values = np.linspace(-3, 5, 24 * 8).reshape(8, 24)
    got = colorize(values, colormap="turbo")
    n = reference_normalize(values)
    expected = np.round(matplotlib.colormaps["turbo"](n)[..., :3] * 255)
    assert_close(got, expected, n)
    assert got.dtype == np.uint8 and got.shape == (8, 24, 3)


def test_lut_entry_rule_on_bin_centres():
    """cmap(n) is LUT entry min(floor(n * 256), 255)."""
    entries = np.arange(256)
    n = (entries + 0.5) / 256
    got = colorize(n[None, :], colormap="jet", norm="none")[0]
    lut = matplotlib.colormaps["jet"](entries)[:, :3] * 255
    assert np.abs(got - lut).max() <= 0.5 + 1e-9
    top = colorize(np.array([[0.0, 1.0]]), colormap="jet", norm="none")[0, 1]
    assert np.abs(top - lut[255]).max() <= 0.5 + 1e-9


@pytest.mark.parametrize(
    "colormap",
    [
        matplotlib.colormaps["magma"],
        "magma",
        matplotlib.colormaps["magma"](np.arange(256)),
        matplotlib.colormaps["magma"](np.arange(256))[:, :3],
        np.round(matplotlib.colormaps["magma"](np.arange(256))[:, :3] * 255).astype(
            np.uint8
        ),
    ],
    ids=["object", "name", "rgba-array", "rgb-array", "uint8-array"],
)
def test_colormap_forms_agree(image, feature, colormap):
    heat = feature[0, 1]
    got = overlay(image, heat, colormap=colormap)
    ref, n = reference_overlay(image, heat, colormap="magma")
    assert_close(got, ref, n)


def test_napari_colormap_object(image, feature):
    from napari.utils.colormaps import ensure_colormap

    heat = feature[0, 2]
    got = overlay(image, heat, colormap=ensure_colormap("viridis"))
    ref, n = reference_overlay(image, heat, colormap="viridis")
    # napari samples its own control points, a hair away from matplotlib's
    assert np.abs(got.astype(float) - ref)[~on_bin_edge(n)].max() <= 2


def test_grey_float_and_uint16_images_scale_to_0_255(feature):
    heat = feature[0, 4]
    grey = np.random.default_rng(7).random((32, 96))
    rgb = np.repeat(np.round(grey * 255)[..., None], 3, axis=-1)
    as_float = overlay(grey, heat)
    as_uint8 = overlay(rgb.astype(np.uint8), heat)
    assert np.abs(as_float.astype(int) - as_uint8).max() <= 1
    wide = (grey * 1000 + 500).astype(np.uint16)  # range found from the data
    ref, n = reference_overlay(
        np.repeat(((wide - wide.min()) / np.ptp(wide) * 255)[..., None], 3, -1), heat
    )
    assert_close(overlay(wide, heat), ref, n)
    fixed = overlay(wide, heat, image_range=(0, 2000))
    ref, n = reference_overlay(
        np.repeat((wide / 2000 * 255)[..., None], 3, axis=-1), heat
    )
    assert_close(fixed, ref, n)


def test_rgba_alpha_is_dropped_and_rgb_flag_is_respected(image, feature):
    heat = feature[0, 5]
    rgba = np.concatenate([image, np.zeros((32, 96, 1), np.uint8)], axis=-1)
    assert np.array_equal(overlay(rgba, heat), overlay(image, heat))
    # rgb=False: a (32, 96, 3) array is a stack of 32 grey (96, 3) images
    as_grey_stack = overlay(image, heat, rgb=False)
    assert as_grey_stack.shape == (32, 96, 3, 3)
    grey_slice = np.repeat(image[7][..., None], 3, axis=-1)
    assert np.array_equal(
        as_grey_stack[7], overlay(grey_slice, heat, vmin=heat.min(), vmax=heat.max())
    )


def test_bool_image_and_bool_heatmap(feature):
    mask = np.zeros((32, 96), bool)
    mask[:, 48:] = True
    out = overlay(mask, mask, mode="gray", alpha=0.0)
    assert np.all(out[:, :48] == 0) and np.all(out[:, 48:] == 255)


def test_channel_tensor_on_one_image_broadcasts(image, feature):
    heat = feature[0, :6]
    got = overlay(image, heat)
    assert got.shape == (6, 32, 96, 3)
    # one window over all channels: each slice equals a fixed-window overlay
    lo, hi = float(heat.min()), float(heat.max())
    for channel in (0, 5):
        ref, n = reference_overlay(image, heat[channel], vmin=lo, vmax=hi)
        assert_close(got[channel], ref, n)


def test_movie_pairs_frame_by_frame():
    rng = np.random.default_rng(9)
    movie = rng.integers(0, 256, (4, 16, 20, 3), dtype=np.uint8)
    maps = rng.random((4, 4, 5))
    got = overlay(movie, maps)
    assert got.shape == (4, 16, 20, 3)
    for frame in range(4):
        ref, n = reference_overlay(
            movie[frame], maps[frame], vmin=maps.min(), vmax=maps.max()
        )
        assert_close(got[frame], ref, n)


def test_inputs_are_not_modified_and_read_only_inputs_work(image, feature, tmp_path):
    heat = feature[0, 6].copy()
    heat[0, 0] = np.nan
    image_before, heat_before = image.copy(), heat.copy()
    image.setflags(write=False)
    heat.setflags(write=False)
    overlay(image, heat, mode="scaled", threshold=0.1)
    assert np.array_equal(image, image_before)
    assert np.array_equal(heat, heat_before, equal_nan=True)
    np.save(tmp_path / "image.npy", image_before)
    mapped = np.load(tmp_path / "image.npy", mmap_mode="r")
    assert np.array_equal(overlay(mapped, heat), overlay(image_before, heat))


def test_torch_tensor_inputs(image):
    torch = pytest.importorskip("torch")
    activation = torch.randn(1, 4, 8, 24, requires_grad=True)
    got = overlay(torch.from_numpy(image.copy()), activation[0])
    assert np.array_equal(got, overlay(image, activation[0].detach().numpy()))


BAD_OPTIONS = [
    ({"mode": "screen"}, ValueError, "mode must be one of"),
    ({"norm": "zscore"}, ValueError, "norm must be one of"),
    ({"interpolation": "lanczos"}, ValueError, "interpolation must be one of"),
    ({"colormap": "no-such-map"}, ValueError, "unknown colormap 'no-such-map'"),
    ({"colormap": np.zeros((4, 2))}, ValueError, "shape (N, 3) or (N, 4)"),
    ({"colormap": 3}, TypeError, "colormap must be"),
    ({"alpha": 1.5}, ValueError, "alpha must be in [0, 1]"),
    ({"alpha": -0.1}, ValueError, "alpha must be in [0, 1]"),
    ({"alpha": "half"}, TypeError, "alpha must be a number"),
    ({"threshold": 2}, ValueError, "threshold must be in [0, 1]"),
    ({"vmin": 3, "vmax": 1}, ValueError, "vmin (3) must not be greater than vmax"),
    ({"vmin": np.nan}, ValueError, "vmin must be a finite number"),
    ({"percentiles": (99, 1)}, ValueError, "percentiles must satisfy"),
    ({"percentiles": 5}, ValueError, "percentiles must be two numbers"),
    ({"image_range": (5, 5)}, ValueError, "image_range must be finite with low < high"),
    (
        {"image_range": "auto"},
        ValueError,
        "image_range must be two numbers (low, high)",
    ),
]


@pytest.mark.parametrize(("options", "error", "message"), BAD_OPTIONS)
def test_bad_options_name_the_argument(image, feature, options, error, message):
    with pytest.raises(error, match=re_escape(message)):
        overlay(image, feature[0, 0], **options)


def test_unknown_colormap_lists_valid_names(image, feature):
    with pytest.raises(ValueError, match="viridis"):
        overlay(image, feature[0, 0], colormap="jett")


@pytest.mark.parametrize(
    ("image_data", "heat", "message"),
    [
        (np.zeros((0, 5, 3), np.uint8), np.ones((2, 2)), "image is empty"),
        (np.zeros((4, 5, 3), np.uint8), np.ones((0, 2)), "heatmap is empty"),
        (np.zeros(5, np.uint8), np.ones((2, 2)), "image must be at least 2-D"),
        (np.zeros((4, 5, 3), np.uint8), np.ones(4), "heatmap must be at least 2-D"),
        (np.zeros((4, 5), complex), np.ones((2, 2)), "image must hold real numbers"),
        (np.zeros((4, 5, 3), np.uint8), np.ones((2, 2), complex), "heatmap must hold"),
        (np.zeros((4, 5, 3), np.uint8), np.array([[None, 1]]), "heatmap must hold"),
        (np.zeros((2, 4, 5, 3), np.uint8), np.ones((3, 2, 2)), "do not broadcast"),
    ],
)
def test_bad_arrays_get_clear_errors(image_data, heat, message):
    with pytest.raises((ValueError, TypeError), match=re_escape(message)):
        overlay(image_data, heat)


def test_rgb_true_needs_a_colour_axis():
    with pytest.raises(ValueError, match="rgb=True"):
        overlay(np.zeros((4, 5), np.uint8), np.ones((2, 2)), rgb=True)


def re_escape(text):
    import re

    return re.escape(text)


def test_overlay_works_in_a_forked_child_after_the_parent_used_it(image, feature):
    import multiprocessing

    expected = overlay(np.repeat(np.repeat(image, 8, 0), 8, 1), feature[0, 0])
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        got = pool.apply_async(
            overlay, (np.repeat(np.repeat(image, 8, 0), 8, 1), feature[0, 0])
        ).get(timeout=60)
    assert np.array_equal(got, expected)
