"""A (Z, Y, X) volume with a coarser (z, h, w) heatmap: aligned, previewed in
napari's 3-D view, and baked in 3-D (the engine's ``spatial_dims=3``)."""

import dask.array as da
import matplotlib
import numpy as np
import pytest
from napari._app_model import get_app_model
from skimage.transform import resize

from napari_heatoverlay import add_overlay, overlay
from napari_heatoverlay.plugin.export import figure_inputs, save_figure
from napari_heatoverlay.plugin.geometry import aligned_transform
from napari_heatoverlay.plugin.plan import plan_overlay
from napari_heatoverlay.plugin.provenance import snippet
from napari_heatoverlay.plugin.volume import is_volume_pair

DEPTH, SIDE = 40, 64
HEAT_DEPTH, HEAT_SIDE = 5, 8
OPTIONS = {"mode": "scaled", "alpha": 0.9, "colormap": "jet"}


def _volume():
    z, y, x = np.mgrid[:DEPTH, :SIDE, :SIDE]
    ball = np.exp(-((z - 20) ** 2 + (y - 32) ** 2 + (x - 32) ** 2) / (2 * 14**2))
    return (ball * (1 + 0.3 * np.sin(x / 3))).astype(np.float32)


def _heat():
    z, y, x = np.mgrid[:HEAT_DEPTH, :HEAT_SIDE, :HEAT_SIDE]
    return np.exp(-((z - 1) ** 2 + (y - 2) ** 2 + (x - 5) ** 2) / 4.0).astype(
        np.float32
    )


def _results(viewer):
    return [
        layer
        for layer in viewer.layers
        if layer.metadata.get("heatoverlay", {}).get("role") == "overlay"
    ]


def _expected(image, heat, **kwargs):
    """overlay() in 3-D with what the plan reads from the layers."""
    return overlay(
        image.data,
        heat.data,
        spatial_dims=3,
        image_range=tuple(image.contrast_limits),
        **{**OPTIONS, **kwargs},
    )


def _run_snippet(plan, image, heat):
    namespace = {"image": image.data, "heatmap": heat.data}
    exec(snippet(plan), namespace)
    return namespace["result"]


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
    widget.apply_options(**OPTIONS)
    return viewer, widget, image, heat


@pytest.fixture
def plain(make_napari_viewer):
    """The same pair without the widget: nothing aligns it."""
    viewer = make_napari_viewer()
    image = viewer.add_image(_volume(), name="volume", colormap="gray")
    heat = viewer.add_image(_heat(), name="heat", colormap="jet")
    return viewer, image, heat


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
    widget.apply_options(interpolation="nearest")  # what napari can draw
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
        return int(np.sum(r - np.maximum(g, b) > 60))

    # jet's hot (dark red) end shows where the heat is; a grey volume has no
    # red at all
    assert red(with_heat) > 500
    assert red(without) == 0
    assert np.abs(with_heat.astype(int) - without).mean() > 5


def test_an_interpolated_volume_is_baked_not_previewed(pair, qtbot):
    """napari slices a heat volume to its nearest slice along depth; the 3-D
    bake interpolates between slices, up to 97 grey levels apart here."""
    viewer, widget, image, heat = pair
    assert widget.interpolation.value == "linear"
    assert "bake interpolates between them" in widget.preview_status.value
    qtbot.waitUntil(lambda: widget.scheduler.idle and len(_results(viewer)) == 1)
    (result,) = _results(viewer)
    np.testing.assert_array_equal(result.data, _expected(image, heat))


def test_a_nearest_preview_equals_the_bake_on_every_slice_shown(pair, qtbot):
    viewer, widget, _, heat = pair
    widget.apply_options(interpolation="nearest")
    assert widget.preview_status.value.startswith("napari draws the blend")
    viewer.reset_view()
    worst = {}
    for z in (3, 4, 8, 12, 19, 20, 36):
        viewer.dims.set_point(0, z)
        for result in _results(viewer):
            result.visible = False
        heat.visible = True
        qtbot.wait(50)
        preview = viewer.screenshot(canvas_only=True)[..., :3].astype(int)
        widget()
        qtbot.waitUntil(lambda: widget.scheduler.idle and len(_results(viewer)) == 1)
        (result,) = _results(viewer)
        result.visible, heat.visible = True, False
        qtbot.wait(50)
        baked = viewer.screenshot(canvas_only=True)[..., :3].astype(int)
        difference = np.abs(preview - baked)
        worst[z] = (float(np.percentile(difference, 99)), int(difference.max()))
        widget.apply_options(alpha=0.9)  # previews again
    print("p99, max |preview - bake| per slice:", worst)
    assert all(p99 <= 2 and top <= 4 for p99, top in worst.values()), worst


def test_the_volume_is_baked_in_3d_before_and_after_align(plain):
    viewer, image, heat = plain
    plan = plan_overlay(image, heat, **OPTIONS)
    assert plan.options.spatial_dims == 3
    assert plan.depth == (0, HEAT_DEPTH) and plan.lead == (DEPTH,)
    result = add_overlay(viewer, image, heat, **OPTIONS)
    assert result.data.shape == (DEPTH, SIDE, SIDE, 3)
    expected = _expected(image, heat)
    np.testing.assert_array_equal(result.data, expected)
    # not the old nearest-slice bake: slice 7 lies between heat slices 0 and 1
    nearest = overlay(
        image.data[7],
        heat.data[0],
        image_range=tuple(image.contrast_limits),
        **OPTIONS,
    )
    assert not np.array_equal(result.data[7], nearest)
    np.testing.assert_array_equal(_run_snippet(plan, image, heat), expected)

    viewer.layers.selection = {image, heat}
    get_app_model().commands.execute_command("napari-heatoverlay.align_selected")
    np.testing.assert_allclose(heat.scale, [8, 8, 8])
    aligned = plan_overlay(image, heat, **OPTIONS)
    assert (aligned.depth, aligned.rows, aligned.cols) == (
        (0, HEAT_DEPTH),
        (0, HEAT_SIDE),
        (0, HEAT_SIDE),
    )
    assert add_overlay(viewer, image, heat, **OPTIONS) is result  # in place
    np.testing.assert_array_equal(result.data, expected)
    np.testing.assert_array_equal(_run_snippet(aligned, image, heat), expected)


def test_the_widget_bakes_the_aligned_volume_in_3d(pair, qtbot):
    viewer, widget, image, heat = pair
    widget()
    qtbot.waitUntil(lambda: widget.scheduler.idle and len(_results(viewer)) == 1)
    (result,) = _results(viewer)
    np.testing.assert_array_equal(result.data, _expected(image, heat))
    record = result.metadata["heatoverlay"]
    assert record["parameters"]["spatial_dims"] == 3
    assert record["heatmap_window"]["depth"] == [0, HEAT_DEPTH]


def _reference(image, heat, window_depth, covered):
    """Float64 NumPy/scikit-image reference of the 3-D scaled/jet bake of a
    heatmap NaN-padded along depth to `window_depth` = (before, after)."""
    lo, hi = float(heat.data.min()), float(heat.data.max())
    n = (heat.data.astype(np.float64) - lo) / (hi - lo)
    n = np.pad(n, [window_depth, (0, 0), (0, 0)], constant_values=np.nan)
    finite = np.isfinite(n)
    shape = (DEPTH, SIDE, SIDE)
    heat_on_image = resize(
        np.where(finite, n, 0.0), shape, order=1, mode="edge", anti_aliasing=False
    )
    has_heat = resize(finite.astype(float), shape, order=0, mode="edge") > 0.5
    assert np.array_equal(has_heat.any(axis=(1, 2)), covered)
    low, high = image.contrast_limits
    grey = np.clip((image.data.astype(np.float64) - low) / (high - low), 0, 1) * 255
    grey = grey[..., None]
    lut = matplotlib.colormaps["jet"](np.arange(256))[:, :3] * 255
    clipped = np.clip(heat_on_image, np.nanmin(n), np.nanmax(n))
    colour = lut[np.minimum(np.floor(clipped * 256), 255).astype(int)]
    a = 0.9 * clipped[..., None]
    blended = (1 - a) * grey + a * colour
    return np.where(has_heat[..., None], blended, grey)


def test_a_heat_volume_placed_by_hand_leaves_uncovered_slices_clear(plain):
    viewer, image, heat = plain
    # heat slice j covers image slices 12 + 4 j .. 15 + 4 j, in-plane aligned
    heat.scale, heat.translate = (4, 8, 8), (13.5, 3.5, 3.5)
    plan = plan_overlay(image, heat, **OPTIONS)
    assert plan.depth == (-3, 7)  # 3 heat slices before, 2 after: NaN
    result = add_overlay(viewer, image, heat, **OPTIONS)
    covered = np.zeros(DEPTH, bool)
    covered[12:32] = True
    for k in np.flatnonzero(~covered):  # no heat: the image alone
        plain_slice = overlay(
            image.data[k],
            np.full((HEAT_SIDE, HEAT_SIDE), np.nan),
            image_range=tuple(image.contrast_limits),
        )
        np.testing.assert_array_equal(result.data[k], plain_slice)
    reference = _reference(image, heat, (3, 2), covered)
    difference = np.abs(result.data.astype(float) - reference)
    assert difference[covered].max() <= 1
    no_heat = overlay(
        image.data[20],
        np.full((HEAT_SIDE, HEAT_SIDE), np.nan),
        image_range=tuple(image.contrast_limits),
    )
    assert np.abs(result.data[20].astype(int) - no_heat).max() > 100  # heat shows
    np.testing.assert_array_equal(_run_snippet(plan, image, heat), result.data)


def test_a_scaled_and_translated_volume_lines_up_on_the_z_slider(plain, qtbot):
    viewer, image, heat = plain
    image.scale, image.translate = (4, 1, 1), (10, 5, -3)
    scale, translate = aligned_transform(image, heat)
    heat.scale, heat.translate = scale, translate
    np.testing.assert_allclose(heat.scale, [32, 8, 8])
    result = add_overlay(viewer, image, heat, **OPTIONS)
    np.testing.assert_allclose(result.scale, image.scale)
    np.testing.assert_allclose(result.translate, image.translate)
    np.testing.assert_allclose(result.extent.world, image.extent.world)
    np.testing.assert_array_equal(result.data, _expected(image, heat))
    assert viewer.dims.nsteps[0] == DEPTH
    for k in (0, 7, 23, DEPTH - 1):
        viewer.dims.set_point(0, 10 + 4 * k)
        qtbot.waitUntil(
            lambda k=k: np.array_equal(result._slice.image.raw, result.data[k])
        )
        np.testing.assert_array_equal(image._slice.image.raw, image.data[k])


def test_a_dask_volume_stays_lazy(make_napari_viewer):
    viewer = make_napari_viewer()
    reads = []

    def block(x, block_info=None):
        reads.append(block_info[None]["chunk-location"])
        return x

    volume = da.from_array(_volume(), chunks=(1, SIDE, SIDE))
    volume = volume.map_blocks(block, dtype=np.float32)
    image = viewer.add_image(volume, name="volume", contrast_limits=(0, 1.3))
    heat = viewer.add_image(_heat(), name="heat", colormap="jet")
    reads.clear()
    plan = plan_overlay(image, heat, **OPTIONS)
    lazy = plan.compute()
    assert plan.lazy and isinstance(lazy, da.Array) and reads == []
    result = add_overlay(viewer, image, heat, **OPTIONS)
    assert isinstance(result.data, da.Array)
    assert len(reads) <= 2  # at most the slice napari shows
    expected = overlay(
        _volume(), heat.data, spatial_dims=3, image_range=(0, 1.3), **OPTIONS
    )
    reads.clear()
    np.testing.assert_array_equal(lazy[17].compute(), expected[17])
    assert reads == [(17, 0, 0)]
    np.testing.assert_array_equal(np.asarray(lazy), expected)


def test_the_figure_of_a_volume_slice_draws_its_interpolated_heat(plain, tmp_path):
    viewer, image, heat = plain
    plan = plan_overlay(image, heat, **OPTIONS)
    point = list(viewer.dims.point)
    point[0] = 7
    picture, heat_map, index = figure_inputs(plan, tuple(point))
    assert picture.shape == (SIDE, SIDE) and index == (7,)
    assert heat_map.shape == (DEPTH, HEAT_SIDE, HEAT_SIDE)
    # image slice 7 lies at (7 + 0.5) * 5 / 40 - 0.5 = 0.4375 heat slices
    np.testing.assert_allclose(
        heat_map[7], 0.5625 * heat.data[0] + 0.4375 * heat.data[1], rtol=1e-5
    )
    save_figure(plan, tuple(point), tmp_path / "volume.png")
    assert (tmp_path / "volume.png").stat().st_size > 1000


def test_a_volume_pair_refuses_a_2d_bake_with_a_reason(plain):
    _, image, heat = plain
    with pytest.raises(ValueError, match="overlaid in 3-D"):
        plan_overlay(image, heat, spatial_dims=2)
