"""The three-panel figure: image | heatmap | overlay with a colour bar."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import imageio.v3 as iio
import numpy as np
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure

from napari_heatoverlay import contours, figure, overlay
from napari_heatoverlay.engine.colormap import colormap_lut
from napari_heatoverlay.engine.normalize import compute_window
from napari_heatoverlay.engine.options import OverlayOptions


def make_image(shape: tuple[int, int] = (40, 60)) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)


def make_heat(shape: tuple[int, ...] = (4, 6)) -> np.ndarray:
    return np.random.default_rng(1).normal(loc=1.0, size=shape)


def colorbar_axis(fig: Figure):
    return fig.axes[3]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"norm": "percentile", "percentiles": (10, 90)},
        {"norm": "symmetric", "colormap": "coolwarm"},
        {"norm": "max"},
        {"norm": "sigmoid"},
        {"vmin": -3.0, "vmax": 0.5},
    ],
)
def test_colour_bar_spans_the_window_in_heatmap_units(options):
    heat = make_heat()
    fig = figure(make_image(), heat, **options)
    keys = ("norm", "vmin", "vmax", "percentiles")
    window = compute_window(
        heat, OverlayOptions(**{k: v for k, v in options.items() if k in keys})
    )
    assert len(fig.axes) == 4
    assert colorbar_axis(fig).get_ylim() == pytest.approx((window.lo, window.hi))
    assert colorbar_axis(fig).get_ylabel() == "heatmap value"


def test_panels_show_image_heatmap_and_overlay():
    image, heat = make_image(), make_heat()
    fig = figure(image, heat, alpha=0.7, mode="scaled", colormap="viridis")
    image_ax, heat_ax, overlay_ax = fig.axes[:3]
    np.testing.assert_array_equal(image_ax.images[0].get_array(), image)
    np.testing.assert_array_equal(
        overlay_ax.images[0].get_array(),
        overlay(image, heat, alpha=0.7, mode="scaled", colormap="viridis"),
    )
    shown = heat_ax.images[0]
    assert shown.get_array().shape == heat.shape
    assert shown.get_extent() == [-0.5, 59.5, 39.5, -0.5]
    np.testing.assert_allclose(
        shown.cmap(np.linspace(0, 1, 256))[:, :3], colormap_lut("viridis") / 255
    )
    for ax in fig.axes[:3]:
        assert not ax.axison
        assert ax.get_title()


def test_heatmap_panel_blanks_what_the_overlay_leaves_as_image():
    heat = np.linspace(0.0, 1.0, 24).reshape(4, 6)
    heat[0, 0] = np.nan
    fig = figure(make_image(), heat, threshold=0.3)
    window = compute_window(heat, OverlayOptions())
    below = window.apply(heat) < 0.3
    shown = np.ma.masked_invalid(fig.axes[1].images[0].get_array())
    assert shown.mask[0, 0]
    assert below[1:].any()
    np.testing.assert_array_equal(shown.mask[1:], below[1:])
    level = window.lo + 0.3 * (window.hi - window.lo)
    assert colorbar_axis(fig).lines[0].get_ydata()[0] == pytest.approx(level)


def test_sigmoid_colour_bar_colours_match_the_overlay():
    heat = np.linspace(-4.0, 4.0, 24).reshape(4, 6)
    fig = figure(make_image(), heat, norm="sigmoid", colormap="gray")
    [mappable] = [
        artist
        for artist in colorbar_axis(fig).collections
        if isinstance(artist, QuadMesh)
    ]
    value = 2.0
    grey = mappable.cmap(mappable.norm(value))[0]
    assert grey == pytest.approx(1 / (1 + np.exp(-value)), abs=2 / 255)


def test_saved_png_has_the_figure_size(tmp_path):
    fig = figure(make_image(), make_heat(), dpi=100)
    fig.savefig(tmp_path / "figure.png")
    width, height = fig.get_size_inches() * 100
    saved = iio.imread(tmp_path / "figure.png")
    assert saved.shape[:2] == (round(height), round(width))
    assert saved.shape[1] > 2 * saved.shape[0]


@pytest.mark.parametrize("norm", ["symmetric", "sigmoid", "max"])
def test_a_slice_keeps_the_stack_window(norm):
    features = np.zeros((3, 4, 6))
    features[1] = np.random.default_rng(3).normal(size=(4, 6))
    for index in range(3):
        fig = figure(make_image(), features, index=index, norm=norm)
        np.testing.assert_array_equal(
            fig.axes[2].images[0].get_array(),
            overlay(make_image(), features, norm=norm)[index],
        )


def test_grey_image_and_constant_heatmap():
    fig = figure(np.linspace(0, 1, 2400).reshape(40, 60), np.full((4, 6), 3.0))
    lo, hi = colorbar_axis(fig).get_ylim()
    assert lo <= 3.0 <= hi
    assert fig.axes[0].images[0].get_array().shape == (40, 60, 3)


def test_leading_axes_need_an_index():
    features = np.random.default_rng(2).normal(size=(5, 4, 6))
    with pytest.raises(ValueError, match="index="):
        figure(make_image(), features)
    fig = figure(make_image(), features, index=3, norm="percentile")
    window = compute_window(features, OverlayOptions(norm="percentile"))
    assert colorbar_axis(fig).get_ylim() == pytest.approx((window.lo, window.hi))
    np.testing.assert_array_equal(
        fig.axes[2].images[0].get_array(),
        overlay(make_image(), features, norm="percentile")[3],
    )
    with pytest.raises(IndexError, match="leading axes"):
        figure(make_image(), features, index=9)


@pytest.mark.parametrize(
    ("heatmap", "error", "words"),
    [
        (np.array([[{"pickled": 1}, None]], dtype=object), TypeError, "real numbers"),
        (np.ones((4, 6), dtype=complex), TypeError, "real numbers"),
        (np.ones(6), ValueError, "2-D"),
        ("not an array", TypeError, "real numbers"),
    ],
)
def test_odd_heatmaps_are_refused_clearly(heatmap, error, words):
    with pytest.raises(error, match=words):
        figure(make_image(), heatmap)


def test_image_stack_is_refused():
    with pytest.raises(ValueError, match="one image"):
        figure(np.zeros((2, 40, 60, 3), dtype=np.uint8), make_heat())


def test_no_pyplot_and_no_gui(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        from napari_heatoverlay import figure
        figure(np.zeros((8, 8)), np.eye(8)).savefig(sys.argv[1])
        gui = ("matplotlib.pyplot", "napari", "qtpy", "PyQt5", "PyQt6", "PySide6")
        print(sorted(name for name in sys.modules if name in gui))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "figure.png")],
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == b"[]"
    assert (tmp_path / "figure.png").stat().st_size > 0


def test_a_mapping_draws_one_row_per_method_with_its_own_scale():
    image = make_image()
    cam, ig = make_heat(), make_heat() * 10 - 3
    fig = figure(image, {"Grad-CAM": cam, "Integrated gradients": ig}, norm="minmax")
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(panels) == 6 and len(bars) == 2
    assert [panels[0].get_title(), panels[3].get_title()] == [
        "Grad-CAM",
        "Integrated gradients",
    ]
    for bar, heat in zip(bars, (cam, ig), strict=True):
        assert bar.get_ylim() == pytest.approx((heat.min(), heat.max()))
    for row, heat in enumerate((cam, ig)):
        np.testing.assert_array_equal(
            panels[3 * row + 2].images[0].get_array(), overlay(image, heat)
        )


def test_share_scale_uses_one_window_for_every_method():
    image = make_image()
    cam, ig = make_heat(), make_heat() * 10 - 3
    fig = figure(image, {"a": cam, "b": ig}, share_scale=True)
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 1
    low, high = min(cam.min(), ig.min()), max(cam.max(), ig.max())
    assert bars[0].get_ylim() == pytest.approx((low, high))
    shown = fig.axes[2].images[0].get_array()
    np.testing.assert_array_equal(shown, overlay(image, cam, vmin=low, vmax=high))


def test_gamma_colours_the_colour_bar_as_the_overlay():
    fig = figure(make_image(), make_heat(), gamma=2.0, colormap="gray")
    bar = colorbar_axis(fig)
    mesh = next(c for c in bar.collections if type(c).__name__ == "QuadMesh")
    colours = mesh.cmap(np.linspace(0, 1, 5))[:, 0]
    # halfway along the bar n = 0.5, and 0.5 ** 2 = 0.25 of the grey ramp
    assert colours[2] == pytest.approx(0.25, abs=0.01)


def contour_lines(ax) -> list:
    return [line for line in ax.lines if line.get_path_effects()]


@pytest.mark.parametrize(
    ("options", "bar_level"),
    [
        ({}, lambda lo, hi, n: lo + n * (hi - lo)),
        ({"gamma": 2.0}, lambda lo, hi, n: lo + np.sqrt(n) * (hi - lo)),
        ({"norm": "sigmoid"}, lambda lo, hi, n: np.log(n / (1 - n))),
    ],
)
def test_contours_are_drawn_on_both_map_panels_and_marked_on_the_bar(
    options, bar_level
):
    image, heat = make_image(), make_heat()
    fig = figure(image, heat, contours=[0.4, 0.6], **options)
    heat_ax, overlay_ax, bar = fig.axes[1], fig.axes[2], colorbar_axis(fig)
    traced = contours(heat, [0.4, 0.6], shape=(40, 60), **options)
    expected = [line for level in (0.4, 0.6) for line in traced[level]]
    assert expected
    for ax in (heat_ax, overlay_ax):
        drawn = contour_lines(ax)
        assert len(drawn) == len(expected)
        for line, vertices in zip(drawn, expected, strict=True):
            np.testing.assert_allclose(line.get_xydata(), vertices[:, ::-1])
        assert ax.get_xlim() == (-0.5, 59.5) and ax.get_ylim() == (39.5, -0.5)
    window = compute_window(heat, OverlayOptions(**options))
    marks = [line.get_ydata()[0] for line in contour_lines(bar)]
    lo, hi = float(window.lo), float(window.hi)
    levels = [bar_level(lo, hi, n) for n in (0.4, 0.6)]
    on_the_bar = [level for level in levels if lo <= level <= hi]
    assert on_the_bar  # (the sigmoid's 0.4 lies below this map's smallest value)
    assert marks == pytest.approx(on_the_bar)


def test_threshold_mark_undoes_the_gamma():
    heat = make_heat()
    fig = figure(make_image(), heat, threshold=0.25, gamma=2.0)
    window = compute_window(heat, OverlayOptions())
    level = window.lo + 0.5 * (window.hi - window.lo)  # 0.5 ** 2 = 0.25
    assert colorbar_axis(fig).lines[0].get_ydata()[0] == pytest.approx(level)


def test_bad_contour_levels_are_refused():
    with pytest.raises(ValueError, match=r"outside \[0, 1\]"):
        figure(make_image(), make_heat(), contours=[2.0])
