"""Contour lines in napari (a Shapes layer of paths) and Export montage…,
driven through the real dock widget in a real viewer."""

import numpy as np
import pytest
from napari.utils.notifications import notification_manager
from PIL import Image as PILImage

from napari_heatoverlay import contours, montage
from napari_heatoverlay.engine.colormap import colormap_lut
from napari_heatoverlay.plugin import export_actions
from napari_heatoverlay.plugin import widget as widget_module
from napari_heatoverlay.plugin.contour_layer import ROLE

Y, X = 96, 128


@pytest.fixture(autouse=True)
def settings_dir(tmp_path, monkeypatch):
    """Keep magicgui's persisted settings out of the user's real cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _cone(h=12, w=16, centre=(5.0, 9.0)):
    y, x = np.mgrid[0:h, 0:w]
    return -np.hypot(y - centre[0], x - centre[1])


def _dock(viewer):
    _, widget = viewer.window.add_plugin_dock_widget(
        "napari-heatoverlay", "Heat overlay"
    )
    widget.reset_to_defaults()
    return widget


def _contour_layers(viewer):
    return [
        layer
        for layer in viewer.layers
        if layer.metadata.get("heatoverlay", {}).get("role") == ROLE
    ]


def _pair(viewer, heat, *, scale=(1.0, 1.0), translate=(0.0, 0.0), image=None):
    if image is None:
        image = np.random.default_rng(0).integers(0, 255, (Y, X)).astype(np.uint8)
    viewer.add_image(image, name="photo", scale=scale, translate=translate)
    viewer.add_image(heat, name="heat", colormap="inferno")
    return _dock(viewer)


def test_contour_field_adds_world_paths_equal_to_the_engines(make_napari_viewer):
    viewer = make_napari_viewer()
    heat = _cone()
    scale, translate = (0.5, 2.0), (10.0, -4.0)
    widget = _pair(viewer, heat, scale=scale, translate=translate)
    widget.contours.value = "0.5"
    (layer,) = _contour_layers(viewer)
    assert layer.name == "heat contours"
    # the layer draws what it holds: its own transform is the identity
    assert np.allclose(layer.scale, 1) and np.allclose(layer.translate, 0)
    for path in layer.data:
        np.testing.assert_array_equal(layer.data_to_world(path[0]), path[0])
    expected = contours(heat, [0.5], shape=(Y, X), interpolation="linear")[0.5]
    assert len(expected) >= 1
    assert len(layer.data) == len(expected)
    for got, want in zip(layer.data, expected, strict=True):
        world = np.asarray(translate) + np.asarray(scale) * want
        np.testing.assert_allclose(got, world, atol=1e-9)
    assert set(layer.shape_type) == {"path"}
    # coloured by level through the overlay's colormap (the layer's inferno)
    lut = colormap_lut("inferno")
    np.testing.assert_allclose(layer.edge_color[0, :3], lut[128] / 255, atol=1e-6)
    assert list(layer.features["level"]) == [0.5] * len(expected)


def test_contour_layer_updates_in_place_and_goes_when_emptied(make_napari_viewer):
    viewer = make_napari_viewer()
    heat = _cone()
    widget = _pair(viewer, heat)
    widget.contours.value = "0.5"
    (layer,) = _contour_layers(viewer)
    widget.contours.value = "0.3, 0.8"
    assert _contour_layers(viewer) == [layer]  # the same layer object
    levels = sorted(set(layer.features["level"]))
    assert levels == [0.3, 0.8]
    lut = colormap_lut("inferno")
    for colour, level in zip(layer.edge_color, layer.features["level"], strict=True):
        entry = min(int(level * len(lut)), len(lut) - 1)
        np.testing.assert_allclose(colour[:3], lut[entry] / 255, atol=1e-6)
    # a control change (the norm) retraces the same layer
    widget.norm.value = "max"
    assert _contour_layers(viewer) == [layer]
    expected = contours(heat, [0.3, 0.8], shape=(Y, X), norm="max")
    assert len(layer.data) == sum(len(lines) for lines in expected.values())
    width = 7.0
    layer.current_edge_width = width  # the layer's own control sets the width
    widget.contours.value = "0.6"
    assert np.allclose(layer.edge_width, width)
    widget.contours.value = ""
    assert _contour_layers(viewer) == []


def test_bad_levels_are_reported_and_change_nothing(make_napari_viewer):
    viewer = make_napari_viewer()
    widget = _pair(viewer, _cone())
    widget.contours.value = "0.5"
    (layer,) = _contour_layers(viewer)
    before = [path.copy() for path in layer.data]
    seen = len(notification_manager.records)
    widget.contours.value = "0.5, 1.5"
    messages = [n.message for n in notification_manager.records[seen:]]
    assert any("contour level 1.5 is outside [0, 1]" in m for m in messages), messages
    widget.contours.value = "half"
    messages = [n.message for n in notification_manager.records[seen:]]
    assert any("'half' is not a number" in m for m in messages), messages
    assert _contour_layers(viewer) == [layer]
    for got, want in zip(layer.data, before, strict=True):
        np.testing.assert_array_equal(got, want)


def test_contours_follow_the_slider_with_the_stacks_window(make_napari_viewer):
    viewer = make_napari_viewer()
    stack = np.stack([_cone(centre=(4.0, 4.0)), 2 * _cone(centre=(7.0, 11.0))])
    widget = _pair(viewer, stack)
    widget.contours.value = "0.7"
    (layer,) = _contour_layers(viewer)
    assert layer.ndim == 3
    # no slider steps of its own: the leading axis has the result's transform
    assert tuple(layer.scale) == (1.0, 1.0, 1.0)
    low, high = float(stack.min()), float(stack.max())
    for k in (0, 1):
        viewer.dims.set_current_step(0, k)
        expected = contours(stack[k], [0.7], shape=(Y, X), vmin=low, vmax=high)[0.7]
        assert len(layer.data) == len(expected) >= 1
        for got, want in zip(layer.data, expected, strict=True):
            np.testing.assert_allclose(got[:, 0], k)
            np.testing.assert_allclose(got[:, 1:], want, atol=1e-9)
    assert _contour_layers(viewer) == [layer]


def test_contour_levels_persist_with_the_other_controls(make_napari_viewer):
    viewer = make_napari_viewer()
    widget = _pair(viewer, _cone())
    widget.contours.value = "0.25, 0.75"
    again = widget_module.HeatOverlayWidget(make_napari_viewer())
    assert again.contours.value == "0.25, 0.75"


def test_contours_line_up_with_the_image_on_screen(make_napari_viewer, tmp_path):
    """A disk map over an image of the same disk, both placed in world
    coordinates: on the screenshot, the drawn ring runs along the image's disk
    edge (same centre, same radius)."""
    viewer = make_napari_viewer(show=True)
    size, factor = 32, 8  # map pixels; image pixels per map pixel
    centre_map, radius_map = (13.5, 17.5), 9.0
    y, x = np.mgrid[0:size, 0:size]
    disk = (np.hypot(y - centre_map[0], x - centre_map[1]) < radius_map).astype(float)
    # the same disk in image pixels: map pixel edges fall on image pixel edges
    centre_image = (np.asarray(centre_map) + 0.5) * factor - 0.5
    yy, xx = np.mgrid[0 : size * factor, 0 : size * factor]
    inside = np.hypot(yy - centre_image[0], xx - centre_image[1]) < radius_map * factor
    picture = np.where(inside, 255, 0).astype(np.uint8)
    scale, translate = (2.0, 2.0), (30.0, -20.0)
    widget = _pair(viewer, disk, scale=scale, translate=translate, image=picture)
    widget.preview.value = False
    viewer.layers["heat"].visible = False
    widget.apply_options(colormap="gray")  # level 0.5: mid grey lines
    widget.contours.value = "0.5"
    (layer,) = _contour_layers(viewer)
    layer.current_edge_width = 2.0  # world units: one image pixel
    widget.contours.value = "0.5 "  # retrace with that width
    viewer.reset_view()
    shot = viewer.screenshot(canvas_only=True, flash=False)
    PILImage.fromarray(shot).save(tmp_path / "contours.png")
    grey = shot[..., :3].astype(int)
    on_line = (np.abs(grey - 128).max(axis=-1) < 40) & (grey.min(axis=-1) > 60)
    white = grey.min(axis=-1) > 220
    assert on_line.sum() > 100 and white.sum() > 1000

    def world(mask):
        # screen -> world: napari puts the camera centre at the canvas centre
        rows, cols = np.nonzero(mask)
        height, width = mask.shape
        centre = np.asarray(viewer.camera.center[-2:])
        zoom = viewer.camera.zoom
        return (
            centre[0] + (rows + 0.5 - height / 2) / zoom,
            centre[1] + (cols + 0.5 - width / 2) / zoom,
        )

    line_y, line_x = world(on_line)
    disk_y, disk_x = world(white)
    pixel = scale[0]  # one image pixel in world units
    expected_centre = np.asarray(translate) + np.asarray(scale) * centre_image
    assert abs(disk_y.mean() - expected_centre[0]) < pixel  # the image is placed
    assert abs(disk_x.mean() - expected_centre[1]) < pixel
    assert abs(line_y.mean() - disk_y.mean()) < pixel  # the ring on it
    assert abs(line_x.mean() - disk_x.mean()) < pixel
    disk_radius = np.sqrt(white.sum() / np.pi) / viewer.camera.zoom
    ring_radius = np.median(np.hypot(line_y - disk_y.mean(), line_x - disk_x.mean()))
    # linear interpolation of a 0/1 disk crosses 0.5 within half a map pixel
    # of its edge (the flats and steps of the picture)
    assert abs(ring_radius - disk_radius) < factor * pixel / 2


def test_export_montage_writes_the_channels_of_the_shown_pair(
    make_napari_viewer, tmp_path, monkeypatch, qtbot
):
    viewer = make_napari_viewer()
    stack = np.random.default_rng(1).normal(size=(5, 6, 8))
    photo = np.random.default_rng(2).integers(0, 255, (Y, X, 3)).astype(np.uint8)
    viewer.add_image(photo, name="photo", rgb=True)
    viewer.add_image(stack, name="features", colormap="viridis")
    widget = _dock(viewer)
    widget.alpha.value = 0.7
    path = tmp_path / "grid.png"
    monkeypatch.setattr(export_actions, "ask_montage_path", lambda parent, start: path)
    widget.export_montage.clicked.emit()
    qtbot.waitUntil(path.exists, timeout=20000)
    qtbot.waitUntil(
        lambda: widget.exports.montage_worker.is_running is False, timeout=20000
    )
    written = np.asarray(PILImage.open(path))
    expected = montage(
        photo, stack, colormap="viridis", alpha=0.7, labels=[str(k) for k in range(5)]
    )
    np.testing.assert_array_equal(written, expected)


def test_export_montage_of_one_map_says_why_and_asks_nothing(
    make_napari_viewer, monkeypatch
):
    viewer = make_napari_viewer()
    widget = _pair(viewer, _cone())
    asked = []
    monkeypatch.setattr(
        export_actions, "ask_montage_path", lambda parent, start: asked.append(1)
    )
    seen = len(notification_manager.records)
    widget.export_montage.clicked.emit()
    messages = [n.message for n in notification_manager.records[seen:]]
    assert asked == []
    assert any("Export montage needs channels" in m for m in messages), messages


def test_large_grids_are_traced_in_a_worker_and_the_newest_slice_wins(
    make_napari_viewer, qtbot
):
    from scipy import ndimage

    from napari_heatoverlay.plugin.contour_layer import SYNC_SAMPLES
    from napari_heatoverlay.plugin.contour_paths import tracing_samples

    viewer = make_napari_viewer()
    rng = np.random.default_rng(5)
    stack = ndimage.gaussian_filter(rng.normal(size=(3, 1100, 1100)), (0, 60, 60))
    image = np.zeros((1100, 1100), dtype=np.uint8)
    viewer.add_image(image, name="photo")
    viewer.add_image(stack, name="heat")
    widget = _dock(viewer)
    widget.image.value, widget.heatmap.value = (
        viewer.layers["photo"],
        viewer.layers["heat"],
    )
    plan = widget._plan()
    assert tracing_samples(plan) > SYNC_SAMPLES
    widget.contours.value = "0.5"
    assert widget.contour_lines.busy  # the UI thread did not wait
    for k in (1, 2, 0, 2):  # the user scrubs while it traces
        viewer.dims.set_current_step(0, k)
    qtbot.waitUntil(lambda: not widget.contour_lines.busy, timeout=30000)
    (layer,) = _contour_layers(viewer)
    low, high = float(stack.min()), float(stack.max())
    expected = contours(stack[2], [0.5], shape=image.shape, vmin=low, vmax=high)[0.5]
    assert len(layer.data) == len(expected) >= 1
    for got, want in zip(layer.data, expected, strict=True):
        np.testing.assert_allclose(got[:, 0], 2)
        np.testing.assert_allclose(got[:, 1:], want, atol=1e-9)


def test_apply_keeps_the_lines_above_the_opaque_result(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    widget = _pair(viewer, _cone())
    widget.contours.value = "0.5"
    (layer,) = _contour_layers(viewer)
    widget()  # Apply adds the RGB result layer on top
    qtbot.waitUntil(lambda: len(viewer.layers) == 4, timeout=10000)
    assert viewer.layers[-1] is layer
    assert viewer.layers[-2].metadata["heatoverlay"]["role"] == "overlay"


def test_volume_pair_lines_follow_the_3d_bake(make_napari_viewer):
    """A (z, h, w) ball over a (Z, Y, X) volume: each slice's ring lies on the
    0.5 crossing of the baked slice (grey colormap, alpha 1: pixel = 255 n)."""
    from skimage.measure import find_contours

    from napari_heatoverlay import overlay

    viewer = make_napari_viewer()
    z, y, x = np.mgrid[0:6, 0:10, 0:10]
    ball = -np.sqrt(((z - 2.5) * 1.6) ** 2 + (y - 4.5) ** 2 + (x - 4.5) ** 2)
    volume = np.zeros((24, 80, 80), dtype=np.uint8)
    viewer.add_image(volume, name="photo", scale=(3.0, 1.0, 1.0))
    viewer.add_image(ball, name="heat")
    widget = _dock(viewer)
    widget.apply_options(colormap="gray", alpha=1.0)
    widget.preview.value = False
    widget.contours.value = "0.5"
    (layer,) = _contour_layers(viewer)
    assert layer.ndim == 3
    assert tuple(layer.scale) == (3.0, 1.0, 1.0)  # the slider keeps its 24 steps
    assert viewer.dims.nsteps[0] == 24
    baked = overlay(volume, ball, spatial_dims=3, colormap="gray", alpha=1.0)
    for k in (6, 12, 17):
        viewer.dims.set_current_step(0, k)
        assert len(layer.data) >= 1
        ours = np.vstack(layer.data)
        np.testing.assert_allclose(ours[:, 0], k)  # the slice
        world = layer.data_to_world(ours[0])
        np.testing.assert_allclose(world[0], 3.0 * k)  # at its world depth
        (reference,) = find_contours(baked[k, :, :, 0] / 255.0, 0.5)
        ours_radius = np.hypot(ours[:, 1] - 39.5, ours[:, 2] - 39.5)
        ref_radius = np.hypot(reference[:, 0] - 39.5, reference[:, 1] - 39.5)
        assert abs(ours_radius.mean() - ref_radius.mean()) < 0.6


def test_export_figure_draws_the_contour_fields_levels(
    make_napari_viewer, tmp_path, monkeypatch
):
    from napari_heatoverlay.plugin.export import save_figure

    viewer = make_napari_viewer()
    widget = _pair(viewer, _cone())
    widget.contours.value = "0.5, 0.8"
    path = tmp_path / "figure.png"
    monkeypatch.setattr(export_actions, "ask_figure_path", lambda parent, start: path)
    widget.export_figure.clicked.emit()
    saved = np.asarray(PILImage.open(path))
    plan = widget._plan()
    point = tuple(viewer.dims.point)
    save_figure(plan, point, tmp_path / "with.png", (0.5, 0.8))
    save_figure(plan, point, tmp_path / "without.png")
    np.testing.assert_array_equal(
        saved, np.asarray(PILImage.open(tmp_path / "with.png"))
    )
    assert not np.array_equal(
        saved, np.asarray(PILImage.open(tmp_path / "without.png"))
    )
