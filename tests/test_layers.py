"""add_overlay and show_overlay: results written to a real viewer."""

from dataclasses import replace

import dask.array as da
import numpy as np
import pytest
from napari.utils.colormaps import ensure_colormap

from napari_heatoverlay import add_overlay, overlay
from napari_heatoverlay.plugin.layers import find_overlay_layer, show_overlay
from napari_heatoverlay.plugin.plan import MEMORY_BUDGET, plan_overlay

rng = np.random.default_rng(7)


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


@pytest.fixture
def pair(viewer):
    """A small RGB image and an unaligned (identity transform) heatmap."""
    image = rng.integers(0, 256, size=(60, 90, 3), dtype=np.uint8)
    heat = rng.normal(size=(10, 12)).astype(np.float32)
    return (
        viewer.add_image(image, name="photo", rgb=True),
        viewer.add_image(heat, name="heat", colormap="inferno"),
    )


def _expected(image_layer, heatmap, **kwargs):
    kwargs.setdefault("colormap", ensure_colormap("inferno"))
    return overlay(image_layer.data, heatmap, rgb=True, **kwargs)


def test_result_pixels_equal_overlay(viewer, pair):
    image, heat = pair
    result = add_overlay(viewer, image, heat, alpha=0.3, mode="scaled")
    np.testing.assert_array_equal(
        result.data, _expected(image, heat.data, alpha=0.3, mode="scaled")
    )
    assert result.rgb and result.data.dtype == np.uint8
    record = result.metadata["heatoverlay"]
    assert record["role"] == "overlay"
    assert record["sources"] == {"image": "photo", "heatmap": "heat"}
    assert record["parameters"]["alpha"] == 0.3
    assert record["parameters"]["colormap"] == "inferno"


def test_second_call_updates_the_same_layer(viewer, pair):
    image, heat = pair
    first = add_overlay(viewer, image, heat, alpha=0.2)
    before = first.data.copy()
    image.name = "renamed photo"  # found by metadata, not by name
    second = add_overlay(viewer, image, heat, alpha=0.9)
    assert second is first
    assert len(viewer.layers) == 3
    assert not np.array_equal(before, second.data)
    assert second.metadata["heatoverlay"]["sources"]["image"] == "renamed photo"


def test_find_overlay_layer_matches_sources_by_id(viewer, pair):
    image, heat = pair
    plan = plan_overlay(image, heat)
    assert find_overlay_layer(viewer.layers, plan.sources) is None
    result = add_overlay(viewer, image, heat)
    assert find_overlay_layer(viewer.layers, plan.sources) is result
    swapped = {"image": plan.sources["heatmap"], "heatmap": plan.sources["image"]}
    assert find_overlay_layer(viewer.layers, swapped) is None


def test_show_overlay_replaces_a_result_that_changed_multiscale(viewer, pair):
    image, heat = pair
    flat = add_overlay(viewer, image, heat)
    pyramid = [image.data, image.data[::2, ::2]]
    plan = replace(plan_overlay(image, heat), image=pyramid, multiscale=True)
    result = show_overlay(viewer, plan, plan.compute())
    assert result is not flat and flat not in viewer.layers
    assert result.multiscale
    assert [layer.name for layer in viewer.layers] == ["photo", "heat", plan.name]


def test_invalid_option_adds_nothing(viewer, pair):
    image, heat = pair
    with pytest.raises(ValueError, match="alpha must be in"):
        add_overlay(viewer, image, heat, alpha=1.5)
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['alfa'\]"):
        add_overlay(viewer, image, heat, alfa=0.5)
    assert [layer.name for layer in viewer.layers] == ["photo", "heat"]


def test_colormap_and_contrast_limits_follow_the_layers(viewer):
    grey = rng.random((40, 50)).astype(np.float32)
    image = viewer.add_image(grey, name="grey", contrast_limits=(0.2, 0.8))
    heat = viewer.add_image(rng.normal(size=(4, 5)), name="heat", colormap="viridis")
    result = add_overlay(viewer, image, heat)
    expected = overlay(
        grey,
        heat.data,
        colormap=ensure_colormap("viridis"),
        image_range=(0.2, 0.8),
        rgb=False,
    )
    np.testing.assert_array_equal(result.data, expected)
    # an explicit option wins over the layer's
    result = add_overlay(viewer, image, heat, colormap="jet")
    np.testing.assert_array_equal(
        result.data,
        overlay(grey, heat.data, colormap="jet", image_range=(0.2, 0.8), rgb=False),
    )


def test_heatmap_stack_gives_a_slider(viewer, pair):
    image, _ = pair
    stack = viewer.add_image(
        rng.normal(size=(4, 10, 12)), name="channels", colormap="inferno"
    )
    result = add_overlay(viewer, image, stack)
    assert result.data.shape == (4, 60, 90, 3)
    assert viewer.dims.nsteps[0] == 4
    np.testing.assert_array_equal(result.data, _expected(image, stack.data))
    assert result.scale[1:].tolist() == image.scale.tolist()


def test_large_result_is_lazy_and_matches_eager(viewer):
    image = viewer.add_image(
        rng.integers(0, 256, (2000, 2000, 3), dtype=np.uint8), name="big", rgb=True
    )
    heat = viewer.add_image(rng.normal(size=(24, 20, 20)), name="heat")
    assert 24 * image.data.nbytes > MEMORY_BUDGET
    result = add_overlay(viewer, image, heat)
    assert isinstance(result.data, da.Array)
    assert result.data.shape == (24, 2000, 2000, 3)
    # the window of the whole stack, applied to one slice
    window = {"vmin": heat.data.min(), "vmax": heat.data.max()}
    eager = overlay(image.data, heat.data[5], colormap=heat.colormap, **window)
    np.testing.assert_array_equal(np.asarray(result.data[5]), eager)


def test_multiscale_image_gives_multiscale_result(viewer):
    base = rng.integers(0, 256, (256, 384, 3), dtype=np.uint8)
    pyramid = [base, base[::2, ::2], base[::4, ::4]]
    image = viewer.add_image(pyramid, name="pyramid", rgb=True, multiscale=True)
    heat = viewer.add_image(rng.normal(size=(8, 12)), name="heat")
    result = add_overlay(viewer, image, heat)
    assert result.multiscale
    assert [level.shape for level in result.data] == [
        (256, 384, 3),
        (128, 192, 3),
        (64, 96, 3),
    ]
    expected = overlay(pyramid, heat.data, colormap=heat.colormap)
    for level, want in zip(result.data, expected, strict=True):
        np.testing.assert_array_equal(np.asarray(level), want)


def test_scale_and_translate_follow_the_image(viewer):
    image = viewer.add_image(
        rng.random((30, 40)), name="tissue", scale=(0.5, 0.5), translate=(10, 20)
    )
    heat = viewer.add_image(rng.random((3, 4)), name="heat")
    result = add_overlay(viewer, image, heat)
    assert result.scale.tolist() == [0.5, 0.5]
    assert result.translate.tolist() == [10, 20]
