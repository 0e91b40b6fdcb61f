"""add_overlay and the Layers > Visualize menu commands, on a real viewer."""

import dask.array as da
import numpy as np
import pytest
from napari._app_model import get_app_model
from napari.utils.colormaps import ensure_colormap
from napari.utils.notifications import notification_manager

from napari_heatoverlay import add_overlay, overlay
from napari_heatoverlay.plugin.layers import MEMORY_BUDGET
from napari_heatoverlay.samples import sample as sample_arrays

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


def test_world_aligned_heatmap_is_cropped_to_the_image(viewer, pair):
    image, heat = pair
    unaligned = add_overlay(viewer, image, heat).data.copy()
    np.testing.assert_array_equal(unaligned, _expected(image, heat.data))
    # heat pixels of 10 x 10 image pixels; the image sees rows 2..7, cols 1..9
    heat.scale = (10, 10)
    heat.translate = (-15.5, -5.5)
    aligned = add_overlay(viewer, image, heat)
    np.testing.assert_array_equal(aligned.data, _expected(image, heat.data[2:8, 1:10]))
    assert aligned.metadata["heatoverlay"]["heatmap_window"] == {
        "rows": [2, 8],
        "cols": [1, 10],
    }


def test_world_aligned_heatmap_is_padded_where_it_ends(viewer, pair):
    image, heat = pair
    heat.data = heat.data[:4]
    heat.scale = (10, 10)
    heat.translate = (4.5, -5.5)  # rows 0..3 cover image rows 0..39 only
    result = add_overlay(viewer, image, heat)
    padded = np.full((6, 9), np.nan, dtype=np.float32)
    padded[:4] = heat.data[:, 1:10]
    np.testing.assert_array_equal(result.data, _expected(image, padded))
    # no heat: the image shows as it is
    np.testing.assert_array_equal(result.data[45:], image.data[45:])


def test_heatmap_elsewhere_in_the_world_is_an_error(viewer, pair):
    image, heat = pair
    heat.scale = (10, 10)
    heat.translate = (1000, 1000)
    with pytest.raises(ValueError, match="does not overlap"):
        add_overlay(viewer, image, heat)
    assert len(viewer.layers) == 2


def test_shapes_that_cannot_pair_raise_and_add_nothing(viewer):
    image = viewer.add_image(rng.random((3, 20, 20)), name="stack")
    heat = viewer.add_image(rng.random((4, 5, 5)), name="heat")
    with pytest.raises(ValueError, match="do not broadcast"):
        add_overlay(viewer, image, heat)
    with pytest.raises(ValueError, match="same layer"):
        add_overlay(viewer, image, image)
    assert [layer.name for layer in viewer.layers] == ["stack", "heat"]


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


def test_provenance_snippet_reproduces_the_pixels(viewer, pair):
    image, heat = pair
    heat.data = heat.data[:4]
    heat.scale = (10, 10)
    heat.translate = (4.5, -5.5)  # needs a crop and a NaN pad
    result = add_overlay(viewer, image, heat, mode="multiply", threshold=0.3)
    snippet = result.metadata["heatoverlay"]["snippet"]
    assert "np.pad" in snippet
    namespace = {"image": image.data, "heatmap": heat.data}
    exec(snippet, namespace)
    np.testing.assert_array_equal(namespace["result"], result.data)


def test_provenance_snippet_records_a_custom_colormap(viewer, pair):
    image, heat = pair
    heat.colormap = {"colors": [[0, 0, 1, 1], [1, 1, 0, 1]], "name": "blue to yellow"}
    result = add_overlay(viewer, image, heat)
    namespace = {"image": image.data, "heatmap": heat.data}
    exec(result.metadata["heatoverlay"]["snippet"], namespace)
    np.testing.assert_array_equal(namespace["result"], result.data)


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
