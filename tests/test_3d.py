"""A (Z, Y, X) volume with a coarser (z, h, w) heatmap: aligned, previewed in
napari's 3-D view, and baked slice by slice."""

import numpy as np
import pytest

from napari_heatoverlay import overlay
from napari_heatoverlay.plugin.plan import plan_overlay
from napari_heatoverlay.plugin.provenance import snippet
from napari_heatoverlay.plugin.volume import depth_index, is_volume_pair

DEPTH, SIDE = 40, 64
HEAT_DEPTH, HEAT_SIDE = 5, 8


def _volume():
    z, y, x = np.mgrid[:DEPTH, :SIDE, :SIDE]
    ball = np.exp(-((z - 20) ** 2 + (y - 32) ** 2 + (x - 32) ** 2) / (2 * 14**2))
    return (ball * (1 + 0.3 * np.sin(x / 3))).astype(np.float32)


def _heat():
    z, y, x = np.mgrid[:HEAT_DEPTH, :HEAT_SIDE, :HEAT_SIDE]
    return np.exp(-((z - 1) ** 2 + (y - 2) ** 2 + (x - 5) ** 2) / 4.0).astype(
        np.float32
    )


@pytest.fixture
def pair(make_napari_viewer):
    viewer = make_napari_viewer(show=True)  # the canvas draws only when shown
    image = viewer.add_image(_volume(), name="volume", colormap="gray")
    heat = viewer.add_image(
        _heat(), name="heat", metadata={"heatoverlay": {"role": "heatmap"}}
    )
    _, widget = viewer.window.add_plugin_dock_widget(
        "napari-heatoverlay", "Heat overlay"
    )
    widget.reset_to_defaults()
    widget.apply_options(mode="scaled", alpha=0.9, colormap="jet")
    return viewer, widget, image, heat


def test_the_heatmap_volume_is_aligned_in_all_three_axes(pair):
    _, widget, image, heat = pair
    assert is_volume_pair(image, heat)
    assert widget.image.value is image and widget.heatmap.value is heat
    np.testing.assert_allclose(heat.scale, [8, 8, 8])
    np.testing.assert_allclose(heat.translate, [3.5, 3.5, 3.5])
    # the centre of heat voxel (0, 0, 0) is the centre of the first 8^3 block
    np.testing.assert_allclose(heat.data_to_world((0, 0, 0)), [3.5, 3.5, 3.5])
    np.testing.assert_allclose(
        heat._extent_world_augmented, image._extent_world_augmented
    )


def test_the_3d_view_shows_the_heat(pair, qtbot, tmp_path):
    import imageio.v3 as iio

    viewer, widget, _, heat = pair
    assert widget.preview_status.value.startswith("napari draws the blend")
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    viewer.scene.camera.angles = (0, 30, 60)
    qtbot.wait(100)
    with_heat = viewer.screenshot(canvas_only=True)[..., :3]
    heat.visible = False
    qtbot.wait(100)
    without = viewer.screenshot(canvas_only=True)[..., :3]
    iio.imwrite(tmp_path / "volume-3d.png", np.concatenate([with_heat, without], 1))

    def red(shot):
        r, g, b = (shot[..., k].astype(int) for k in range(3))
        return int(np.sum((r > 180) & (g < 90) & (b < 90)))

    # jet's hot end shows where the heat is; a grey volume has no red at all
    assert red(with_heat) > 500
    assert red(without) == 0
    assert np.abs(with_heat.astype(int) - without).mean() > 5


def test_the_volume_is_baked_slice_by_slice(pair, qtbot):
    viewer, widget, image, heat = pair
    plan = plan_overlay(image, heat, mode="scaled", alpha=0.9, colormap="jet")
    expected_depth = np.arange(DEPTH) // (DEPTH // HEAT_DEPTH)
    assert plan.depth == tuple(expected_depth)
    np.testing.assert_array_equal(depth_index(image, heat), expected_depth)
    widget()
    qtbot.waitUntil(lambda: widget.scheduler.idle and len(viewer.layers) == 3)
    result = viewer.layers[-1]
    assert result.data.shape == (DEPTH, SIDE, SIDE, 3)
    expected = overlay(
        image.data,
        heat.data[expected_depth],
        mode="scaled",
        alpha=0.9,
        colormap="jet",
        image_range=tuple(image.contrast_limits),
    )
    np.testing.assert_array_equal(result.data, expected)
    # the provenance snippet picks the same slices
    namespace = {"image": image.data, "heatmap": heat.data}
    exec(snippet(plan), namespace)
    np.testing.assert_array_equal(namespace["result"], expected)


def test_a_heat_volume_placed_by_hand_leaves_uncovered_slices_clear(pair):
    _, _, image, heat = pair
    heat.scale, heat.translate = (4, 8, 8), (20, 3.5, 3.5)
    depth = depth_index(image, heat)
    # heat slice j covers image slices 18 + 4 j .. 21 + 4 j
    assert depth[:18].tolist() == [-1] * 18
    assert depth[18:22].tolist() == [0] * 4 and depth[38:].tolist() == [-1] * 2
    plan = plan_overlay(image, heat)
    result = plan.compute()
    plain = overlay(
        image.data[0], np.full((8, 8), np.nan), image_range=tuple(image.contrast_limits)
    )
    np.testing.assert_array_equal(result[0], plain)  # no heat: the image
    namespace = {"image": image.data, "heatmap": heat.data}
    exec(snippet(plan), namespace)
    np.testing.assert_array_equal(namespace["result"], result)
