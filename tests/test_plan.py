"""plan_overlay: two napari layers read into a plan, and its geometry."""

from dataclasses import replace

import numpy as np
import pytest
from napari.layers import Image
from napari.utils.colormaps import ensure_colormap

from napari_heatoverlay import overlay
from napari_heatoverlay.engine import options as options_module
from napari_heatoverlay.engine.options import Mode, OverlayOptions
from napari_heatoverlay.plugin.plan import order_pair, plan_overlay

rng = np.random.default_rng(5)


@pytest.fixture
def pair():
    """A small RGB image and an unaligned (identity transform) heatmap."""
    image = rng.integers(0, 256, size=(60, 90, 3), dtype=np.uint8)
    heat = rng.normal(size=(10, 12)).astype(np.float32)
    return (
        Image(image, name="photo", rgb=True),
        Image(heat, name="heat", colormap="inferno"),
    )


def _expected(image_layer, heatmap, **kwargs):
    kwargs.setdefault("colormap", ensure_colormap("inferno"))
    return overlay(image_layer.data, heatmap, rgb=True, **kwargs)


def test_plan_holds_validated_options_filled_in_from_the_layers(pair):
    image, heat = pair
    plan = plan_overlay(image, heat, mode="scaled", alpha=1, percentiles=[2, 98])
    assert isinstance(plan.options, OverlayOptions)
    assert plan.options.mode is Mode.SCALED
    assert plan.options.alpha == 1.0 and isinstance(plan.options.alpha, float)
    assert plan.options.percentiles == (2.0, 98.0)
    assert plan.options.rgb is True
    assert plan.options.colormap is heat.colormap
    assert plan.options.image_range is None  # RGB uint8 is shown as it is
    assert plan.name == "heat over photo"
    assert plan.sources["image"] == {"name": "photo", "id": str(image.unique_id)}
    assert (plan.shape, plan.lead, plan.lazy, plan.multiscale) == (
        (60, 90, 3),
        (),
        False,
        False,
    )


def test_options_are_validated_once(pair, monkeypatch):
    image, heat = pair
    checks = []
    validate = OverlayOptions.__post_init__

    def counted(self):
        checks.append(self)
        validate(self)

    monkeypatch.setattr(options_module.OverlayOptions, "__post_init__", counted)
    plan = plan_overlay(image, heat, alpha=0.3)
    result = plan.compute()
    assert len(checks) == 1
    monkeypatch.undo()
    np.testing.assert_array_equal(result, _expected(image, heat.data, alpha=0.3))


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"alfa": 0.3}, TypeError, r"unknown option\(s\) \['alfa'\]"),
        ({"alpha": 1.5}, ValueError, "alpha must be in"),
        ({"mode": "blend"}, ValueError, "mode must be one of"),
        ({"percentiles": (99, 1)}, ValueError, "percentiles must satisfy"),
    ],
)
def test_bad_options_are_refused_before_anything_is_read(pair, options, error, message):
    image, heat = pair
    with pytest.raises(error, match=message):
        plan_overlay(image, heat, **options)


def test_compute_equals_overlay(pair):
    image, heat = pair
    plan = plan_overlay(image, heat, mode="multiply", threshold=0.2)
    np.testing.assert_array_equal(
        plan.compute(), _expected(image, heat.data, mode="multiply", threshold=0.2)
    )


def test_world_aligned_heatmap_is_cropped_to_the_image(pair):
    image, heat = pair
    # heat pixels of 10 x 10 image pixels; the image sees rows 2..7, cols 1..9
    heat.scale = (10, 10)
    heat.translate = (-15.5, -5.5)
    plan = plan_overlay(image, heat)
    assert (plan.rows, plan.cols) == ((2, 8), (1, 10))
    np.testing.assert_array_equal(plan.fitted_heatmap(), heat.data[2:8, 1:10])
    np.testing.assert_array_equal(
        plan.compute(), _expected(image, heat.data[2:8, 1:10])
    )


def test_world_aligned_heatmap_is_padded_where_it_ends(pair):
    image, heat = pair
    heat.data = heat.data[:4]
    heat.scale = (10, 10)
    heat.translate = (4.5, -5.5)  # rows 0..3 cover image rows 0..39 only
    plan = plan_overlay(image, heat)
    padded = np.full((6, 9), np.nan, dtype=np.float32)
    padded[:4] = heat.data[:, 1:10]
    np.testing.assert_array_equal(plan.fitted_heatmap(), padded)
    result = plan.compute()
    np.testing.assert_array_equal(result, _expected(image, padded))
    # no heat: the image shows as it is
    np.testing.assert_array_equal(result[45:], image.data[45:])


def test_heatmap_elsewhere_in_the_world_is_an_error(pair):
    image, heat = pair
    heat.scale = (10, 10)
    heat.translate = (1000, 1000)
    with pytest.raises(ValueError, match="does not overlap"):
        plan_overlay(image, heat)


def test_layers_that_cannot_pair_are_refused():
    stack = Image(rng.random((3, 20, 20)), name="stack")
    heat = Image(rng.random((4, 5, 5)), name="heat")
    with pytest.raises(ValueError, match="do not broadcast"):
        plan_overlay(stack, heat)
    with pytest.raises(ValueError, match="same layer"):
        plan_overlay(stack, stack)
    photo = Image(rng.random((20, 20, 3)), name="photo", rgb=True)
    with pytest.raises(ValueError, match="is RGB; choose a single-channel"):
        plan_overlay(stack, photo)
    rotated = Image(rng.random((5, 5)), name="rotated", rotate=30)
    with pytest.raises(ValueError, match="rotated, sheared or has an affine"):
        plan_overlay(stack, rotated)


def test_stack_plan_transform_and_index_at():
    image = Image(rng.random((30, 40)), scale=(0.5, 0.5), translate=(10, 20))
    heat = Image(rng.random((4, 3, 4)), scale=(2, 1, 1), translate=(1, 0, 0))
    plan = plan_overlay(image, heat)
    assert plan.lead == (4,)
    assert plan.scale == (2.0, 0.5, 0.5)
    assert plan.translate == (1.0, 10.0, 20.0)
    # world point (z, y, x): z = 1 + 2 * index
    assert plan.index_at((5.0, 0.0, 0.0)) == (2,)
    assert plan.index_at((100.0, 0.0, 0.0)) == (3,)  # clamped
    assert plan.index_at((0.0, 0.0)) == (0,)  # a 2-D viewer point


def test_large_stack_plan_is_lazy():
    image = Image(np.zeros((2000, 2000, 3), dtype=np.uint8), rgb=True)
    heat = Image(np.zeros((24, 20, 20), dtype=np.float32))
    assert plan_overlay(image, heat).lazy


def test_order_pair_prefers_roles_then_rgb_then_size():
    big = Image(np.zeros((40, 60)), name="big")
    small = Image(np.zeros((4, 6)), name="small")
    photo = Image(np.zeros((10, 10, 3)), name="photo", rgb=True)
    tagged = Image(
        np.zeros((4, 6)), name="tagged", metadata={"heatoverlay": {"role": "image"}}
    )
    assert order_pair(small, big) == (big, small)
    assert order_pair(big, photo) == (photo, big)
    assert order_pair(photo, tagged) == (tagged, photo)
    twin = Image(np.zeros((40, 60)), name="twin")
    assert order_pair(big, twin) == (big, twin)  # a tie keeps the order


def test_a_volume_pair_is_planned_in_3d_and_a_lazy_plan_keeps_maps_whole():
    volume = Image(rng.random((16, 24, 24)).astype(np.float32), name="volume")
    heat = Image(rng.random((4, 3, 3)).astype(np.float32), name="heat")
    plan = plan_overlay(volume, heat)
    assert plan.options.spatial_dims == 3
    assert (plan.depth, plan.windows) == ((0, 4), ((0, 4), (0, 3), (0, 3)))
    assert (plan.shape, plan.lead) == ((16, 24, 24, 3), (16,))
    eager = plan.compute()
    expected = overlay(
        volume.data,
        heat.data,
        spatial_dims=3,
        colormap=heat.colormap,
        image_range=tuple(volume.contrast_limits),
    )
    np.testing.assert_array_equal(eager, expected)
    lazy = replace(plan, lazy=True).compute()
    np.testing.assert_array_equal(lazy.compute(), eager)
    # a stack of equal depths stays a stack of 2-D pairs
    stack = plan_overlay(volume, Image(rng.random((16, 3, 3))))
    assert stack.options.spatial_dims == 2 and stack.depth is None


def test_spatial_dims_3_needs_two_volumes():
    photo = Image(np.zeros((20, 30)), name="photo")
    with pytest.raises(ValueError, match="spatial_dims=3 needs a"):
        plan_overlay(photo, Image(np.ones((2, 4, 4))), spatial_dims=3)
