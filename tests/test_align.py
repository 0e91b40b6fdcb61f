"""The heatmap lines up with the image by itself while the widget is open."""

import numpy as np
import pytest
from napari._app_model import get_app_model
from napari.utils.notifications import notification_manager

from napari_heatoverlay.plugin.geometry import aligned_transform, heatmap_window
from napari_heatoverlay.samples import STRIDE
from napari_heatoverlay.samples import sample as sample_arrays

PLUGIN = "napari-heatoverlay"
rng = np.random.default_rng(17)


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


@pytest.fixture
def heat_file(tmp_path):
    """A (20, 30) map saved as a file, read by the plugin's reader."""
    path = tmp_path / "gradcam.npy"
    np.save(path, sample_arrays()[1])
    return path


def _dock(viewer):
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Heat overlay")
    return widget


def _photo(viewer, **kwargs):
    return viewer.add_image(sample_arrays()[0], name="photo", rgb=True, **kwargs)


def _aligned_messages(start):
    return [
        n.message
        for n in notification_manager.records[start:]
        if "aligned" in n.message
    ]


def _covers_photo(image, heat):
    """The heatmap's pixel centres sit on the centres of the image blocks."""
    np.testing.assert_allclose(heat.scale, [STRIDE, STRIDE])
    np.testing.assert_allclose(heat.translate, [(STRIDE - 1) / 2] * 2)
    first_block_centre = image.data_to_world(((STRIDE - 1) / 2, (STRIDE - 1) / 2))
    np.testing.assert_allclose(heat.data_to_world((0, 0)), first_block_centre)
    np.testing.assert_allclose(
        heat._extent_world_augmented, image._extent_world_augmented
    )


def test_image_first_then_heatmap_file_is_aligned_and_one_undo_restores(
    viewer, heat_file
):
    widget = _dock(viewer)
    image = _photo(viewer)
    seen = len(notification_manager.records)
    [heat] = viewer.open(heat_file, plugin=PLUGIN)
    # the reader's layer says it is a heatmap: the widget picks it
    assert widget.image.value is image and widget.heatmap.value is heat
    _covers_photo(image, heat)
    [message] = _aligned_messages(seen)
    assert "aligned 'gradcam' to 'photo'" in message
    assert "Undo align" in message
    assert "aligned 'gradcam'" in viewer.status

    widget.undo_align.clicked()
    assert heat.scale.tolist() == [1, 1] and heat.translate.tolist() == [0, 0]
    assert widget.undo_align.enabled is False
    # an undone alignment is not redone by picking the pair again
    widget.heatmap.value = image
    widget.heatmap.value = heat
    assert heat.scale.tolist() == [1, 1]


def test_heatmap_file_first_then_image_is_aligned(viewer, heat_file):
    widget = _dock(viewer)
    [heat] = viewer.open(heat_file, plugin=PLUGIN)
    assert heat.scale.tolist() == [1, 1]  # nothing to align to yet
    image = _photo(viewer)
    assert widget.image.value is image and widget.heatmap.value is heat
    _covers_photo(image, heat)
    assert widget.undo_align.enabled


def test_docking_the_widget_aligns_the_pair_it_picks(viewer, heat_file):
    image = _photo(viewer)
    [heat] = viewer.open(heat_file, plugin=PLUGIN)
    assert heat.scale.tolist() == [1, 1]  # no widget, no alignment
    _dock(viewer)
    _covers_photo(image, heat)


def test_the_undo_button_of_the_notification_restores_the_transform(viewer, heat_file):
    widget = _dock(viewer)
    _photo(viewer)
    seen = len(notification_manager.records)
    [heat] = viewer.open(heat_file, plugin=PLUGIN)
    [notification] = [
        n for n in notification_manager.records[seen:] if "aligned" in n.message
    ]
    [(text, callback)] = notification.actions
    assert text == "Undo align"
    callback(None)  # napari passes the notification's dialog
    assert heat.scale.tolist() == [1, 1] and heat.translate.tolist() == [0, 0]
    assert widget.last_alignment is None


def test_a_layer_the_user_placed_is_left_alone(viewer):
    widget = _dock(viewer)
    image = _photo(viewer)
    placed = viewer.add_image(
        sample_arrays()[1],
        name="placed",
        scale=(10, 10),
        translate=(50, 100),
        metadata={"heatoverlay": {"role": "heatmap"}},
    )
    seen = len(notification_manager.records)
    widget.heatmap.value = placed
    assert placed.scale.tolist() == [10, 10]
    assert placed.translate.tolist() == [50, 100]
    assert _aligned_messages(seen) == []
    assert widget.image.value is image and widget.undo_align.enabled is False


def test_a_layer_that_covers_the_image_already_is_left_alone(viewer):
    viewer.open_sample(PLUGIN, "coffee_heatmap")
    heat = viewer.layers["coffee heatmap"]
    before = heat.scale.tolist(), heat.translate.tolist()
    seen = len(notification_manager.records)
    widget = _dock(viewer)
    assert (heat.scale.tolist(), heat.translate.tolist()) == before
    assert _aligned_messages(seen) == [] and widget.last_alignment is None


def test_a_heatmap_the_plugin_aligned_follows_a_new_image(viewer, heat_file):
    widget = _dock(viewer)
    _photo(viewer)
    [heat] = viewer.open(heat_file, plugin=PLUGIN)
    small = viewer.add_image(
        rng.random((100, 150)),
        name="small",
        metadata={"heatoverlay": {"role": "image"}},
    )
    assert widget.image.value is small
    np.testing.assert_allclose(heat.scale, [5, 5])
    np.testing.assert_allclose(heat.translate, [2, 2])
    # one undo step: back to where it was for the photo
    widget.undo_align.clicked()
    np.testing.assert_allclose(heat.scale, [STRIDE, STRIDE])


def test_undo_after_the_user_moved_the_layer_changes_nothing(viewer, heat_file):
    widget = _dock(viewer)
    _photo(viewer)
    [heat] = viewer.open(heat_file, plugin=PLUGIN)
    heat.translate = (3, 3)
    widget.undo_align.clicked()
    assert heat.translate.tolist() == [3, 3]
    assert "was moved after it was aligned" in notification_manager.records[-1].message


def test_overlay_heatmap_on_image_aligns_too(viewer, heat_file):
    image = _photo(viewer)
    [heat] = viewer.open(heat_file, plugin=PLUGIN)
    viewer.layers.selection = {image, heat}
    seen = len(notification_manager.records)
    get_app_model().commands.execute_command("napari-heatoverlay.overlay_selected")
    _covers_photo(image, heat)
    result = viewer.layers[-1]
    # the result is the same as for the stretched (unaligned) heatmap
    assert result.metadata["heatoverlay"]["heatmap_window"] == {
        "rows": [0, 20],
        "cols": [0, 30],
    }
    [message] = _aligned_messages(seen)
    assert "aligned 'gradcam' to 'photo'" in message


def test_align_command_marks_the_transform_as_the_plugins(viewer, heat_file):
    """A layer the Align command moved may be aligned again to another image."""
    image = _photo(viewer, scale=(2, 2))
    [heat] = viewer.open(heat_file, plugin=PLUGIN)
    viewer.layers.selection = {image, heat}
    get_app_model().commands.execute_command("napari-heatoverlay.align_selected")
    np.testing.assert_allclose(heat.scale, [2 * STRIDE, 2 * STRIDE])
    widget = _dock(viewer)
    other = viewer.add_image(
        rng.random((40, 60)), name="other", metadata={"heatoverlay": {"role": "image"}}
    )
    assert widget.image.value is other
    np.testing.assert_allclose(heat.scale, [2, 2])
    assert heatmap_window(other, heat, (40, 60), (20, 30)) == ((0, 20), (0, 30))


def test_auto_alignment_equals_the_align_command(viewer, heat_file):
    image = _photo(viewer, scale=(0.5, 0.5), translate=(10, -4))
    [heat] = viewer.open(heat_file, plugin=PLUGIN)
    expected = aligned_transform(image, heat)
    _dock(viewer)
    np.testing.assert_allclose(heat.scale, expected[0])
    np.testing.assert_allclose(heat.translate, expected[1])
