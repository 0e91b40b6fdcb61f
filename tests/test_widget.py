"""The "Heat overlay" dock widget, driven as a user would."""

import inspect
import pickle
import time

import numpy as np
import pytest
from napari.utils.notifications import notification_manager

from napari_heatoverlay import add_overlay, overlay
from napari_heatoverlay.engine.options import (
    OPTIONS,
    Interpolation,
    Mode,
    Norm,
    Option,
    OptionValueError,
)
from napari_heatoverlay.plugin import controls, export_actions
from napari_heatoverlay.plugin import widget as widget_module
from napari_heatoverlay.plugin.widget import HeatOverlayWidget

rng = np.random.default_rng(3)


@pytest.fixture(autouse=True)
def settings_dir(tmp_path, monkeypatch):
    """Keep magicgui's persisted settings out of the user's real cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


@pytest.fixture
def viewer(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.open_sample("napari-heatoverlay", "coffee_heatmap")
    return viewer


def _dock(viewer) -> HeatOverlayWidget:
    _, widget = viewer.window.add_plugin_dock_widget(
        "napari-heatoverlay", "Heat overlay"
    )
    return widget


@pytest.fixture
def widget(viewer):
    return _dock(viewer)


def _results(viewer):
    return [
        layer
        for layer in viewer.layers
        if layer.metadata.get("heatoverlay", {}).get("role") == "overlay"
    ]


def _wait_idle(qtbot, widget):
    qtbot.waitUntil(lambda: widget.scheduler.idle)


def _expected(viewer, **kwargs):
    image, heat = viewer.layers["coffee"], viewer.layers["coffee heatmap"]
    kwargs.setdefault("colormap", heat.colormap)
    return overlay(image.data, heat.data, **kwargs)


def test_controls_come_from_the_engine(widget):
    names = [control.name for control in widget]
    assert names == [
        "image",
        "heatmap",
        "mode",
        "alpha",
        "colormap",
        "norm",
        "sign",
        "outlier_perc",
        "gamma",
        "percentiles",
        "threshold",
        "interpolation",
        "preview",
        "live",
        "call_button",
        "contours",
        "preview_status",
        "undo_align",
        "export_figure",
        "export_montage",
    ]
    assert widget.preview.value is True
    assert widget.call_button.text == "Apply"
    assert type(widget.alpha).__name__ == "FloatSlider"
    # the sample's metadata roles pick the pair
    assert widget.image.value.name == "coffee"
    assert widget.heatmap.value.name == "coffee heatmap"


def test_every_overlay_option_is_a_control_or_deliberately_absent(widget):
    overlay_keywords = [
        name
        for name, parameter in inspect.signature(overlay).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    assert [option.name for option in OPTIONS] == overlay_keywords
    names = {control.name for control in widget}
    for option in OPTIONS:
        if option.widget is None:
            assert option.widget_absent.strip(), option.name
            assert option.name not in names
            continue
        control = widget[option.name]
        tooltip = option.widget.get("tooltip", option.help)
        assert control.tooltip.lower() == tooltip.lower()
        if option.choices is not None:
            assert tuple(control.choices) == tuple(option.choices)
    assert tuple(widget.mode.choices) == tuple(Mode)
    assert tuple(widget.norm.choices) == tuple(Norm)
    assert tuple(widget.interpolation.choices) == tuple(Interpolation)


def test_a_new_option_with_a_widget_dict_gets_a_control(viewer, monkeypatch):
    glow = Option("glow", 1.0, "number", "glow of the heat", widget={"max": 5})
    extended = (*controls.CONTROLS, controls.Control(glow))
    monkeypatch.setattr(widget_module, "CONTROLS", extended)
    monkeypatch.setattr(widget_module, "CONTROL_BY_NAME", {c.name: c for c in extended})
    widget = HeatOverlayWidget(viewer)
    names = [control.name for control in widget]
    assert names.index("glow") == names.index("preview") - 1
    assert type(widget.glow).__name__ == "FloatSpinBox"
    assert widget.glow.value == 1.0
    assert widget.glow.max == 5
    assert widget.glow.tooltip == "Glow of the heat"


def test_percentiles_is_a_pair_control_that_drives_the_overlay(qtbot, viewer, widget):
    assert type(widget.percentiles).__name__ == "TupleEdit"
    assert widget.percentiles.value == (1.0, 99.0)
    low, high = widget.percentiles
    assert (low.min, low.max, low.step) == (0.0, 100.0, 0.5)
    assert (high.min, high.max, high.step) == (0.0, 100.0, 0.5)
    widget.norm.value = "percentile"
    widget.live.value = True
    _wait_idle(qtbot, widget)
    (result,) = _results(viewer)
    high.value = 60.0  # as a user would, one spin box at a time
    expected = _expected(viewer, norm="percentile", percentiles=(1, 60))
    qtbot.waitUntil(lambda: np.array_equal(result.data, expected))
    assert result.metadata["heatoverlay"]["parameters"]["percentiles"] == (1, 60)


def test_a_reversed_percentile_pair_is_notified_and_adds_nothing(viewer, widget):
    seen = len(notification_manager.records)
    widget.norm.value = "percentile"
    widget.percentiles.value = (60, 50)
    widget.call_button.clicked()
    assert _results(viewer) == []
    (notification,) = notification_manager.records[seen:]
    assert "percentiles must satisfy 0 <= low < high <= 100" in notification.message


def test_apply_options_sets_controls_from_overlay_values(qtbot, viewer, widget):
    widget.apply_options(
        mode=Mode.SCALED,
        alpha=0.9,
        colormap="coolwarm",
        norm="percentile",
        percentiles=[5, 95],
        threshold=None,
    )
    assert widget.mode.value == "scaled"
    assert widget.alpha.value == pytest.approx(0.9)
    assert widget.colormap.value == "coolwarm"
    assert widget.percentiles.value == (5.0, 95.0)
    assert widget.threshold.value == 0.0
    # napari resets the choices on every layer change: the name stays
    viewer.add_image(rng.random((10, 10)), name="another")
    assert widget.colormap.value == "coolwarm"
    widget.call_button.clicked()
    (result,) = _results(viewer)
    expected = _expected(
        viewer,
        mode="scaled",
        alpha=0.9,
        colormap="coolwarm",
        norm="percentile",
        percentiles=(5, 95),
    )
    np.testing.assert_array_equal(result.data, expected)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"vmin": 0.2}, "no vmin control: a fixed window is a scripted choice"),
        ({"rgb": True}, "no rgb control: taken from the image layer"),
        ({"alfa": 0.2}, r"unknown option\(s\) \['alfa'\]"),
        ({"mode": "gray", "alpha": 2}, "alpha must be in"),
        ({"mode": "blend"}, "mode must be one of"),
        ({"colormap": "no such map"}, "no such map"),
    ],
)
def test_apply_options_refuses_what_the_widget_cannot_show(widget, options, message):
    before = {control.name: control.value for control in widget if control.name}
    with pytest.raises((OptionValueError, TypeError, ValueError), match=message):
        widget.apply_options(**options)
    assert {control.name: control.value for control in widget if control.name} == (
        before
    )


def test_reset_to_defaults_ignores_saved_settings(
    qtbot, make_napari_viewer, settings_dir
):
    first = _dock(make_napari_viewer())
    first.apply_options(alpha=0.7, mode="gray", percentiles=(5, 95), threshold=0.3)
    first.colormap.value = "turbo"
    first.live.value = True
    qtbot.waitUntil(lambda: _saved_settings(settings_dir).get("live") is True)

    again = HeatOverlayWidget(make_napari_viewer())
    assert again.alpha.value == pytest.approx(0.7)
    again.reset_to_defaults()
    defaults = {
        option.name: option.default for option in OPTIONS if option.widget is not None
    }
    # the two documented widget defaults: the heatmap layer's colormap, and
    # threshold 0 (no threshold)
    expected = {**defaults, "colormap": "layer", "threshold": 0.0}
    assert {name: again[name].value for name in expected} == expected
    assert again.live.value is False


def test_apply_adds_the_overlay_then_updates_it(qtbot, viewer, widget):
    widget.alpha.value = 0.4
    widget.call_button.clicked()
    qtbot.waitUntil(lambda: len(_results(viewer)) == 1)
    result = _results(viewer)[0]
    np.testing.assert_array_equal(result.data, _expected(viewer, alpha=0.4))

    widget.mode.value = "scaled"
    widget.colormap.value = "jet"
    widget.threshold.value = 0.25
    widget.call_button.native.click()
    qtbot.waitUntil(
        lambda: result.metadata["heatoverlay"]["parameters"]["mode"] == "scaled"
    )
    _wait_idle(qtbot, widget)
    assert _results(viewer) == [result]
    expected = _expected(
        viewer, alpha=0.4, mode="scaled", colormap="jet", threshold=0.25
    )
    np.testing.assert_array_equal(result.data, expected)


def test_apply_updates_what_add_overlay_made(qtbot, viewer, widget):
    result = add_overlay(viewer, viewer.layers[0], viewer.layers[1], alpha=0.1)
    widget.call_button.clicked()
    qtbot.waitUntil(
        lambda: result.metadata["heatoverlay"]["parameters"]["alpha"] == 0.5
    )
    assert _results(viewer) == [result]


def test_pickers_follow_the_layer_list_but_never_offer_results(qtbot, viewer, widget):
    widget.call_button.clicked()
    qtbot.waitUntil(lambda: len(_results(viewer)) == 1)
    result = _results(viewer)[0]
    offered = {layer.name for layer in widget.image.choices}
    assert offered == {"coffee", "coffee heatmap"}
    assert result not in widget.heatmap.choices

    saliency = viewer.add_image(rng.random((20, 30)), name="saliency")
    assert saliency in widget.heatmap.choices
    saliency.name = "saliency map"
    assert "saliency map" in [
        widget.heatmap.native.itemText(i) for i in range(widget.heatmap.native.count())
    ]
    viewer.layers.remove(saliency)
    assert saliency not in widget.heatmap.choices


def test_live_mode_updates_in_place(qtbot, viewer, widget):
    widget.call_button.clicked()
    qtbot.waitUntil(lambda: len(_results(viewer)) == 1)
    result = _results(viewer)[0]
    widget.live.value = True
    for alpha in (0.9, 0.2, 0.65):
        start = time.perf_counter()
        widget.alpha.value = alpha
        expected = _expected(viewer, alpha=alpha)
        qtbot.waitUntil(lambda exp=expected: np.array_equal(result.data, exp))
        assert time.perf_counter() - start < 2
    assert _results(viewer) == [result]

    widget.live.value = False
    widget.alpha.value = 0.1
    qtbot.wait(100)
    np.testing.assert_array_equal(result.data, _expected(viewer, alpha=0.65))


def test_live_stack_follows_the_dims_slider(qtbot, viewer, widget):
    _, heat = sample_like = viewer.layers
    stack = np.stack([heat.data * k for k in (1.0, -1.0, 0.5, 2.0)])
    channels = viewer.add_image(stack, name="channels", colormap="inferno")
    widget.heatmap.value = channels
    widget.live.value = True
    _wait_idle(qtbot, widget)
    result = _results(viewer)[0]
    assert result.data.shape == (4, 400, 600, 3)
    assert viewer.dims.nsteps[0] == 4

    viewer.dims.set_current_step(0, 3)
    widget.alpha.value = 0.8
    expected = overlay(
        sample_like[0].data, stack, alpha=0.8, colormap=channels.colormap
    )
    qtbot.waitUntil(lambda: np.array_equal(result.data[3], expected[3]))
    _wait_idle(qtbot, widget)
    np.testing.assert_array_equal(result.data, expected)
    assert _results(viewer) == [result]


def test_errors_are_notified_once_and_add_nothing(qtbot, viewer, widget):
    widget.preview.value = False  # else picking bakes the pair in between
    stack = viewer.add_image(rng.random((3, 40, 40)), name="3 frames")
    heat = viewer.add_image(rng.random((4, 5, 5)), name="4 channels")
    widget.image.value, widget.heatmap.value = stack, heat
    seen = len(notification_manager.records)
    widget.call_button.clicked()
    widget.live.value = True
    widget.alpha.value = 0.3
    widget.alpha.value = 0.35
    _wait_idle(qtbot, widget)
    assert _results(viewer) == []
    messages = [n.message for n in notification_manager.records[seen:]]
    # said once, not on every change, and it says what to do
    assert len(messages) == 1
    assert "do not broadcast" in messages[0]
    assert "they must match or be 1" in messages[0]


def _big_stack(viewer):
    image = viewer.add_image(
        rng.integers(0, 256, (1500, 1500, 3), dtype=np.uint8), name="big", rgb=True
    )
    heat = viewer.add_image(rng.normal(size=(30, 30, 30)), name="big heat")
    return image, heat


def test_removing_a_layer_mid_computation(qtbot, viewer, widget):
    widget.preview.value = False  # else picking bakes the pair in between
    image, heat = _big_stack(viewer)
    widget.image.value, widget.heatmap.value = image, heat
    widget.call_button.clicked()
    assert widget.scheduler.worker is not None
    viewer.layers.remove(heat)
    _wait_idle(qtbot, widget)
    qtbot.wait(50)
    # no result for a pair that is gone, and no half-made layer
    assert not any(
        layer.metadata.get("heatoverlay", {}).get("sources", {}).get("heatmap")
        == "big heat"
        for layer in viewer.layers
    )
    assert [layer.name for layer in viewer.layers] == [
        "coffee",
        "coffee heatmap",
        "big",
    ]


def test_closing_the_viewer_mid_computation(qtbot, viewer, widget):
    image, heat = _big_stack(viewer)
    widget.image.value, widget.heatmap.value = image, heat
    widget.call_button.clicked()
    worker = widget.scheduler.worker
    assert worker is not None
    viewer.close()
    qtbot.waitUntil(lambda: not worker.is_running, timeout=20000)
    qtbot.wait(50)
    assert len(viewer.layers) == 0  # nothing was added after closing


def _saved_settings(settings_dir) -> dict:
    """What magicgui persisted for the widget (it writes debounced, 0.2 s late)."""
    saved = list(settings_dir.rglob("*HeatOverlayWidget*"))
    if not saved:
        return {}
    try:
        values = pickle.loads(saved[0].read_bytes())
    except (EOFError, pickle.UnpicklingError):
        return {}  # caught mid-write: wait for the next look
    return {name: pickle.loads(value) for name, value in values.items()}


def test_settings_persist_between_sessions(qtbot, make_napari_viewer, settings_dir):
    viewer = make_napari_viewer()
    widget = _dock(viewer)
    widget.mode.value = "multiply"
    widget.alpha.value = 0.7
    widget.norm.value = "symmetric"
    widget.percentiles.value = (5, 95)
    widget.colormap.value = "turbo"
    qtbot.waitUntil(lambda: _saved_settings(settings_dir).get("colormap") == "turbo")
    # the layer pickers are never saved: pickling a layer copies its data
    assert {"image", "heatmap"}.isdisjoint(_saved_settings(settings_dir))
    assert _saved_settings(settings_dir)["preview"] is True
    viewer.close()

    again = HeatOverlayWidget(make_napari_viewer())
    assert again.mode.value == "multiply"
    assert again.alpha.value == pytest.approx(0.7)
    assert again.norm.value == "symmetric"
    assert again.percentiles.value == (5.0, 95.0)
    assert again.colormap.value == "turbo"


def test_export_figure_asks_for_a_file_and_writes_it(
    viewer, widget, tmp_path, monkeypatch
):
    asked = []

    def ask(parent, start):
        asked.append(parent)
        return tmp_path / "figure.png"

    monkeypatch.setattr(export_actions, "ask_figure_path", ask)
    widget.export_figure.clicked()
    assert asked == [widget.native]  # the dialog belongs to the widget
    path = tmp_path / "figure.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000
    assert notification_manager.records[-1].message.endswith(str(path))


def test_export_figure_cancelled_writes_nothing(viewer, widget, tmp_path, monkeypatch):
    monkeypatch.setattr(export_actions, "ask_figure_path", lambda parent, start: None)
    seen = len(notification_manager.records)
    widget.export_figure.clicked()
    assert len(notification_manager.records) == seen
    assert list(tmp_path.glob("*.png")) == []


def test_export_figure_without_a_pair_says_so(viewer, widget, monkeypatch):
    monkeypatch.setattr(
        export_actions, "ask_figure_path", lambda parent, start: pytest.fail("asked")
    )
    widget.heatmap.value = widget.image.value
    widget.export_figure.clicked()
    assert "different heatmap" in notification_manager.records[-1].message


def _brightness_at(viewer, screenshot, world_yx):
    """Mean brightness of a 9 x 9 patch of the screenshot around a world point."""
    height, width = screenshot.shape[:2]
    centre = np.asarray(viewer.scene.camera.center[-2:])
    row, col = (np.asarray(world_yx) - centre) * viewer.scene.camera.zoom + (
        height / 2,
        width / 2,
    )
    patch = screenshot[int(row) - 4 : int(row) + 5, int(col) - 4 : int(col) + 5, :3]
    return float(patch.mean())


def test_overlay_shows_in_a_screenshot(qtbot, make_napari_viewer):
    viewer = make_napari_viewer(show=True)  # the canvas draws only when shown
    viewer.open_sample("napari-heatoverlay", "coffee_heatmap")
    widget = _dock(viewer)
    viewer.layers["coffee heatmap"].visible = False
    widget.call_button.clicked()
    qtbot.waitUntil(lambda: len(_results(viewer)) == 1)
    result = _results(viewer)[0]
    viewer.reset_view()
    with_overlay = viewer.screenshot(canvas_only=True)
    result.visible = False
    plain = viewer.screenshot(canvas_only=True)
    hot, cold = (140, 290), (40, 40)  # the crema; the dark corner
    # inferno: hot heat brightens the crema, cold heat darkens the corner
    assert _brightness_at(viewer, with_overlay, hot) > (
        _brightness_at(viewer, plain, hot) + 20
    )
    assert _brightness_at(viewer, with_overlay, cold) < _brightness_at(
        viewer, plain, cold
    )


def test_small_results_blend_at_once_large_ones_in_a_worker(viewer, widget):
    """A small blend (about 10 ms at 2048 x 2048) is quicker than a worker's setup."""
    widget.call_button.clicked()
    assert widget.scheduler.worker is None  # the coffee overlay was made on the spot
    (result,) = _results(viewer)
    assert np.array_equal(result.data, _expected(viewer))
    image, heat = _big_stack(viewer)
    widget.image.value, widget.heatmap.value = image, heat
    widget.call_button.clicked()
    assert widget.scheduler.worker is not None


def test_a_huge_heatmap_over_a_small_image_never_blocks_the_ui(qtbot, viewer, widget):
    """The work is the heatmap's size, not the result's: 8192^2 heat pixels
    over 64^2 image pixels go to a worker, and the call returns at once."""
    big = np.random.default_rng(4).random((8192, 8192), dtype=np.float32)
    image = viewer.add_image(
        rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), name="tiny", rgb=True
    )
    heat = viewer.add_image(big, name="huge heat")
    widget.preview.value = False
    start = time.perf_counter()
    widget.image.value, widget.heatmap.value = image, heat  # aligns it
    picked = time.perf_counter() - start
    start = time.perf_counter()
    widget()
    applied = time.perf_counter() - start
    assert widget.scheduler.worker is not None
    assert _results(viewer) == []  # not yet: it comes later
    print(f"UI thread: picking {picked * 1e3:.1f} ms, Apply {applied * 1e3:.1f} ms")
    assert picked < 0.1 and applied < 0.1
    qtbot.waitUntil(lambda: len(_results(viewer)) == 1, timeout=60_000)
    (result,) = _results(viewer)
    expected = overlay(image.data, big, colormap=heat.colormap)
    np.testing.assert_array_equal(result.data, expected)


def test_with_preview_on_picking_a_huge_heatmap_does_not_block(qtbot, viewer, widget):
    """The preview measures a large heatmap in a worker too."""
    photo = viewer.layers["coffee"]
    big = viewer.add_image(
        np.random.default_rng(5).random((4000, 6000), dtype=np.float32),
        name="fine heat",
        scale=(0.1, 0.1),
        translate=(-0.45, -0.45),
    )
    start = time.perf_counter()
    widget.image.value, widget.heatmap.value = photo, big
    elapsed = time.perf_counter() - start
    assert "finer than the image" in widget.preview_status.value
    assert elapsed < 0.1, elapsed
    _wait_idle(qtbot, widget)


EXIT_SCRIPT = """
import numpy as np
import napari
from napari_heatoverlay.plugin.widget import HeatOverlayWidget

viewer = napari.Viewer(show=False)
rng = np.random.default_rng(0)
image = viewer.add_image(
    rng.integers(0, 256, (3000, 3000, 3), dtype=np.uint8), rgb=True, name="big"
)
heat = viewer.add_image(rng.normal(size=(30, 40, 40)), name="heat")
widget = HeatOverlayWidget(viewer)
viewer.window.add_dock_widget(widget)
widget.preview.value = False
widget.image.value, widget.heatmap.value = image, heat
widget()
assert widget.scheduler.worker is not None
print("ends with a worker running")
"""


def test_a_script_that_ends_mid_apply_exits_cleanly(tmp_path):
    """No "RuntimeError in aborted thread" (or a crash) when a script ends
    without viewer.close() while a worker blends."""
    import os
    import subprocess
    import sys

    script = tmp_path / "ends_mid_apply.py"
    script.write_text(EXIT_SCRIPT)
    environment = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        cwd=tmp_path,
    )
    assert "ends with a worker running" in done.stdout
    assert "aborted thread" not in done.stderr
    assert "has been deleted" not in done.stderr
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_demo_shows_the_whole_photo_and_the_overlay(
    qtbot, make_napari_viewer, tmp_path
):
    import imageio.v3 as iio

    from napari_heatoverlay.cli.commands import show_demo
    from napari_heatoverlay.engine.options import OverlayOptions

    viewer = make_napari_viewer(show=True)
    show_demo(viewer, OverlayOptions(mode="scaled", alpha=0.8))
    qtbot.waitUntil(lambda: len(_results(viewer)) == 1)
    qtbot.wait(100)
    (result,) = _results(viewer)
    assert result.visible
    shot = viewer.screenshot(canvas_only=True)[..., :3]
    iio.imwrite(tmp_path / "demo.png", shot)
    height, width = shot.shape[:2]
    # the photo's four corners are on the canvas (not cropped)
    corners = [(0, 0), (0, 599), (399, 0), (399, 599)]
    camera = viewer.scene.camera
    centre, zoom = np.asarray(camera.center[-2:]), camera.zoom
    on_screen = [
        (np.asarray(corner) - centre) * zoom + (height / 2, width / 2)
        for corner in corners
    ]
    for corner, (row, col) in zip(corners, on_screen, strict=True):
        assert 0 <= row < height and 0 <= col < width, (corner, row, col)
    # and what is drawn there is the overlay, not the plain photo (the
    # heatmap layer under the result previews the same blend: hide both)
    result.visible = viewer.layers["coffee heatmap"].visible = False
    qtbot.wait(100)
    plain = viewer.screenshot(canvas_only=True)[..., :3]
    (top, left), (bottom, right) = on_screen[0], on_screen[-1]
    photo = np.s_[int(top) + 1 : int(bottom), int(left) + 1 : int(right)]
    changed = np.abs(shot[photo].astype(int) - plain[photo]).max(axis=-1) > 10
    assert changed.mean() > 0.5  # scaled mode: the warm half of the photo
