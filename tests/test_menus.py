"""The Layers > Visualize menu commands, triggered on a real viewer."""

import numpy as np
import pytest
from napari._app_model import get_app_model
from napari.utils.notifications import notification_manager

from napari_heatoverlay import add_overlay, overlay
from napari_heatoverlay.plugin.menus import selected_pair
from napari_heatoverlay.samples import sample as sample_arrays

rng = np.random.default_rng(11)


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


@pytest.fixture
def pair(viewer):
    image = rng.integers(0, 256, size=(60, 90, 3), dtype=np.uint8)
    heat = rng.normal(size=(10, 12)).astype(np.float32)
    return (
        viewer.add_image(image, name="photo", rgb=True),
        viewer.add_image(heat, name="heat", colormap="inferno"),
    )


def _run_menu_item(viewer, title):
    """Trigger a Layers > Visualize item as a user would."""
    visualize = next(
        action.menu()
        for action in viewer.window.layers_menu.actions()
        if action.text() == "Visualize"
    )
    action = next(a for a in visualize.actions() if a.text().startswith(title))
    action.trigger()


def test_overlay_selected_through_the_layers_menu(viewer):
    image_data, heat_data = sample_arrays()
    image = viewer.add_image(image_data, name="coffee", rgb=True)
    heat = viewer.add_image(heat_data, name="activation", colormap="inferno")
    viewer.layers.selection = {heat, image}
    _run_menu_item(viewer, "Overlay heatmap on image")
    assert len(viewer.layers) == 3
    result = viewer.layers[-1]
    np.testing.assert_array_equal(
        result.data, overlay(image_data, heat_data, colormap=heat.colormap)
    )


def test_overlay_selected_through_the_command_registry(viewer, pair):
    image, heat = pair
    viewer.layers.selection = {image, heat}
    app = get_app_model()
    app.commands.execute_command("napari-heatoverlay.overlay_selected")
    app.commands.execute_command("napari-heatoverlay.overlay_selected")
    assert len(viewer.layers) == 3
    assert viewer.layers[-1].metadata["heatoverlay"]["sources"] == {
        "image": "photo",
        "heatmap": "heat",
    }


def test_selected_pair_tells_image_from_heatmap(viewer, pair):
    image, heat = pair
    viewer.layers.selection = {heat, image}
    assert selected_pair(viewer) == (image, heat)


@pytest.mark.parametrize(
    "command",
    ["napari-heatoverlay.overlay_selected", "napari-heatoverlay.align_selected"],
)
def test_wrong_selection_changes_nothing_and_says_what_to_select(viewer, pair, command):
    image, heat = pair
    viewer.add_points([[1, 1]], name="points")
    app = get_app_model()
    for selection in ({image}, set(), {image, viewer.layers["points"]}):
        viewer.layers.selection = selection
        seen = len(notification_manager.records)
        app.commands.execute_command(command)
        message = notification_manager.records[-1].message
        assert len(notification_manager.records) == seen + 1
        assert "select exactly two image layers" in message
    assert len(viewer.layers) == 3
    assert heat.scale.tolist() == [1, 1]


def test_overlay_error_becomes_a_notification(viewer):
    image = viewer.add_image(rng.random((3, 20, 20)), name="stack")
    heat = viewer.add_image(rng.random((4, 5, 5)), name="heat")
    viewer.layers.selection = {image, heat}
    seen = len(notification_manager.records)
    get_app_model().commands.execute_command("napari-heatoverlay.overlay_selected")
    assert len(notification_manager.records) == seen + 1
    assert "do not broadcast" in notification_manager.records[-1].message
    assert len(viewer.layers) == 2


def test_align_selected_lines_heat_pixels_up_with_image_blocks(viewer):
    image = viewer.add_image(
        rng.random((2, 400, 600)), name="image", scale=(3, 2, 2), translate=(7, 10, 20)
    )
    heat = viewer.add_image(rng.random((2, 25, 40)), name="heat", scale=(5, 1, 1))
    viewer.layers.selection = {heat, image}
    _run_menu_item(viewer, "Align heatmap to image")
    # 16 x 15 image pixels of size 2 per heat pixel
    np.testing.assert_allclose(heat.scale, [5, 32, 30])
    np.testing.assert_allclose(heat.translate, [0, 10 + 15, 20 + 14])
    # heat pixel centres sit on the centres of the image blocks they cover
    np.testing.assert_allclose(heat.data_to_world((0, 0, 0))[1:], [25, 34])
    np.testing.assert_allclose(
        image.data_to_world((0, 7.5, 7))[1:], heat.data_to_world((0, 0, 0))[1:]
    )
    # and add_overlay then reads it as covering the image
    result = add_overlay(viewer, image, heat)
    assert result.metadata["heatoverlay"]["heatmap_window"] == {
        "rows": [0, 25],
        "cols": [0, 40],
    }
