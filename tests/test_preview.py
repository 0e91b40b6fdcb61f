"""The live preview: napari draws the blend on the heatmap layer, no pixels
computed, and it looks like the baked result on the screen."""

import imageio.v3 as iio
import numpy as np
import pytest
from napari.utils.colormaps import AVAILABLE_COLORMAPS

from napari_heatoverlay import overlay
from napari_heatoverlay.engine.colormap import colormap_lut
from napari_heatoverlay.engine.normalize import compute_window
from napari_heatoverlay.engine.options import OverlayOptions
from napari_heatoverlay.plugin import preview as preview_module
from napari_heatoverlay.plugin.style import LayerStyle
from napari_heatoverlay.samples import sample as sample_arrays

PLUGIN = "napari-heatoverlay"
#: The modes compared on the screen, as widget options.
SCREEN_CASES = {
    "alpha": {"mode": "alpha", "alpha": 0.6},
    "scaled": {"mode": "scaled", "alpha": 0.8},
    "threshold": {"mode": "alpha", "alpha": 0.6, "threshold": 0.4},
    "additive": {"mode": "additive", "alpha": 0.5},
    "tint": {"mode": "tint", "alpha": 0.7},
    "multiply": {"mode": "multiply", "alpha": 0.8, "threshold": 0.2},
    "gray": {"mode": "gray", "alpha": 0.5},
}
#: Cases also compared close up (4 screen pixels per image pixel, on the rim
#: of the cup, where the heat changes fastest): half a pixel off would show.
ZOOMED_CASES = ("alpha", "scaled")


def _results(viewer):
    return [
        layer
        for layer in viewer.layers
        if layer.metadata.get("heatoverlay", {}).get("role") == "overlay"
    ]


@pytest.fixture
def coffee(make_napari_viewer):
    """The sample photo and its raw heatmap, unaligned (as a file opens), with
    the widget docked: the widget aligns the heatmap itself."""
    viewer = make_napari_viewer(show=True)  # the canvas draws only when shown
    viewer.window.resize(1400, 900)
    image_data, heat_data = sample_arrays()
    image = viewer.add_image(image_data, name="coffee", rgb=True)
    heat = viewer.add_image(
        heat_data,
        name="heat",
        colormap="inferno",
        opacity=0.6,
        metadata={"heatoverlay": {"role": "heatmap"}},
    )
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Heat overlay")
    widget.reset_to_defaults()
    return viewer, widget, image, heat


def _screenshot(viewer, qtbot):
    qtbot.wait(50)
    return viewer.screenshot(canvas_only=True)[..., :3].astype(int)


def test_preview_and_bake_agree_on_the_screen(coffee, qtbot, tmp_path):
    viewer, widget, _, heat = coffee
    assert heat.scale.tolist() == [20, 20]  # aligned by the widget
    cases = [(name, name, False) for name in SCREEN_CASES]
    cases += [(f"{name}-zoomed", name, True) for name in ZOOMED_CASES]
    differences, shown = {}, {}
    for label, name, zoomed in cases:
        widget.reset_to_defaults()
        widget.apply_options(**SCREEN_CASES[name])
        assert widget.preview_status.value.startswith("napari draws"), name
        for result in _results(viewer):
            assert result.visible is False  # stale: hidden while previewing
        viewer.reset_view()
        if zoomed:
            viewer.scene.camera.center = (200, 230)
            viewer.scene.camera.zoom = 4
        heat.visible = False
        plain = _screenshot(viewer, qtbot)
        heat.visible = True
        preview = _screenshot(viewer, qtbot)
        widget()
        qtbot.waitUntil(lambda: widget.scheduler.idle)
        (result,) = _results(viewer)
        assert result.visible
        heat.visible = False
        baked = _screenshot(viewer, qtbot)
        for kind, shot in (("preview", preview), ("baked", baked)):
            iio.imwrite(tmp_path / f"{label}-{kind}.png", shot.astype(np.uint8))
        differences[label] = float(np.percentile(np.abs(preview - baked), 95))
        shown[label] = float(np.percentile(np.abs(baked - plain), 95))
    print("p95 |preview - bake| per case:", differences)
    assert all(value <= 6 for value in differences.values()), differences
    # and the heat shows: the comparison is not of two plain photos
    assert all(value >= 20 for value in shown.values()), shown


def test_preview_styles_the_heatmap_layer_and_gives_its_style_back(coffee, qtbot):
    viewer, widget, _, heat = coffee
    widget.preview.value = False
    own = LayerStyle.of(heat)
    assert (own.opacity, own.colormap.name) == (0.6, "inferno")
    widget.preview.value = True
    widget.apply_options(mode="scaled", alpha=0.7, gamma=2.0, interpolation="nearest")
    options = OverlayOptions(norm="minmax")
    window = compute_window(heat.data, options)
    assert heat.blending == "translucent"
    assert heat.opacity == pytest.approx(0.7)
    assert heat.gamma == pytest.approx(2.0)
    assert heat.interpolation2d == "nearest"
    np.testing.assert_allclose(heat.contrast_limits, (window.lo, window.hi))
    # the colours are the bake's lookup table (the layer's inferno), the
    # alpha a ramp: cold heat lets the image through
    lut = colormap_lut(own.colormap) / 255
    colours = heat.colormap.map(np.array([0.1, 0.5, 0.9]))
    np.testing.assert_allclose(colours[:, :3], lut[[25, 128, 230]], atol=1e-6)
    np.testing.assert_allclose(colours[:, 3], [0.1, 0.5, 0.9], atol=0.01)
    assert _results(viewer) == []  # nothing was baked

    widget.preview.value = False
    assert LayerStyle.of(heat) == own
    assert "style_before_preview" not in heat.metadata["heatoverlay"]
    assert widget.preview_status.value == "off"


@pytest.mark.parametrize(
    ("mode", "blending", "opacity"),
    [("additive", "additive", 0.4), ("tint", "multiplicative", 1.0)],
)
def test_blendings_follow_the_mode(coffee, mode, blending, opacity):
    _, widget, _, heat = coffee
    widget.apply_options(mode=mode, alpha=0.4)
    assert heat.blending == blending
    assert heat.opacity == pytest.approx(opacity)


def test_heatmap_layers_colormap_means_its_own_while_restyled(coffee, qtbot):
    viewer, widget, image, heat = coffee
    inferno = heat.metadata["heatoverlay"]["style_before_preview"].colormap
    widget.apply_options(mode="tint", alpha=0.9)  # colours far from inferno's
    assert heat.colormap.name != "inferno"
    widget()
    (result,) = _results(viewer)
    expected = overlay(image.data, heat.data, mode="tint", alpha=0.9, colormap=inferno)
    np.testing.assert_array_equal(result.data, expected)
    assert result.metadata["heatoverlay"]["parameters"]["colormap"] == "inferno"


def test_what_napari_cannot_draw_is_baked_live_and_the_widget_says_why(coffee, qtbot):
    viewer, widget, image, heat = coffee
    widget.preview.value = False
    own = LayerStyle.of(heat)
    widget.preview.value = True
    widget.apply_options(mode="scaled")
    assert LayerStyle.of(heat) != own
    widget.norm.value = "sigmoid"
    assert "baked, because norm 'sigmoid' is not a linear window" in (
        widget.preview_status.value
    )
    assert LayerStyle.of(heat) == own  # its own look back, under the result
    qtbot.waitUntil(lambda: len(_results(viewer)) == 1)
    (result,) = _results(viewer)
    expected = overlay(
        image.data, heat.data, mode="scaled", norm="sigmoid", colormap=own.colormap
    )
    np.testing.assert_array_equal(result.data, expected)
    widget.alpha.value = 0.9  # each change bakes again
    expected = overlay(
        image.data,
        heat.data,
        mode="scaled",
        norm="sigmoid",
        alpha=0.9,
        colormap=own.colormap,
    )
    qtbot.waitUntil(lambda: np.array_equal(result.data, expected))

    widget.sign.value = "negative"
    widget.norm.value = "minmax"
    assert "sign 'negative' changes the heat values" in widget.preview_status.value
    widget.sign.value = "all"
    assert widget.preview_status.value.startswith("napari draws")


def test_an_unaligned_heatmap_is_baked_not_previewed(coffee, qtbot):
    viewer, widget, _, heat = coffee
    widget.undo_align.clicked()
    assert heat.scale.tolist() == [1, 1]
    assert "not aligned to the image" in widget.preview_status.value
    qtbot.waitUntil(lambda: len(_results(viewer)) == 1)


def test_the_preview_registers_one_colormap_however_often_it_changes(coffee):
    _, widget, _, _ = coffee
    before = set(AVAILABLE_COLORMAPS)
    for step in range(20):
        widget.threshold.value = step / 40
        widget.alpha.value = 0.3 + step / 40
    added = set(AVAILABLE_COLORMAPS) - before
    assert len(added) <= 1, added


def test_a_large_heatmap_is_measured_in_a_worker(coffee, qtbot, monkeypatch):
    viewer, widget, _, heat = coffee
    monkeypatch.setattr(preview_module, "SYNC_VALUES", 100)
    widget.norm.value = "percentile"  # a window not measured yet
    assert widget.preview_status.value == "measuring the heatmap…"
    qtbot.waitUntil(lambda: widget.preview_status.value.startswith("napari draws"))
    window = compute_window(heat.data, OverlayOptions(norm="percentile"))
    np.testing.assert_allclose(heat.contrast_limits, (window.lo, window.hi))
    assert _results(viewer) == []


def test_closing_the_widget_gives_the_heatmap_its_style_back(coffee, qtbot):
    viewer, widget, _, heat = coffee
    widget.preview.value = False
    own = LayerStyle.of(heat)
    widget.preview.value = True
    widget.apply_options(mode="additive", alpha=0.3)
    assert heat.blending == "additive"
    viewer.window.remove_dock_widget("all")  # as the dock's close button does
    assert LayerStyle.of(heat) == own
    # and a closed widget aligns nothing any more
    other = viewer.add_image(
        np.zeros((100, 100)), name="other", metadata={"heatoverlay": {"role": "image"}}
    )
    widget.reset_choices()
    widget.image.value = other
    assert heat.scale.tolist() == [20, 20]
    assert LayerStyle.of(heat) == own
