"""Feature-map grids: one overlay per channel, labelled, in one picture."""

from __future__ import annotations

import numpy as np
import pytest

from napari_heatoverlay import montage, overlay
from napari_heatoverlay.montages import GAP

Y, X = 30, 40


def make_image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (Y, X, 3), dtype=np.uint8)


def make_stack(channels: int = 5) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(channels, 6, 8)) * np.arange(
        1, channels + 1
    ).reshape(-1, 1, 1)


def tile(grid: np.ndarray, k: int, columns: int, band: int = 0) -> np.ndarray:
    top = (k // columns) * (band + Y + GAP) + band
    left = (k % columns) * (X + GAP)
    return grid[top : top + Y, left : left + X]


def band_height(grid: np.ndarray, rows: int) -> int:
    return (grid.shape[0] - (rows - 1) * GAP) // rows - Y


@pytest.mark.parametrize("leading", [(), (1,)])
def test_tiles_are_the_overlays_of_the_stack_on_one_scale(leading):
    image, stack = make_image(), make_stack()
    grid = montage(image, stack.reshape(*leading, *stack.shape), alpha=0.7)
    columns, rows = 3, 2  # ceil(sqrt(5)) columns
    band = band_height(grid, rows)
    assert band > 0
    assert grid.shape == (rows * (band + Y) + GAP, columns * X + 2 * GAP, 3)
    expected = overlay(image, stack, alpha=0.7)
    for k in range(5):
        np.testing.assert_array_equal(tile(grid, k, columns, band), expected[k])
    assert (tile(grid, 5, columns, band) == 255).all()  # the empty sixth cell


def test_without_a_shared_scale_each_channel_has_its_own_window():
    image, stack = make_image(), make_stack(4)
    grid = montage(image, stack, share_scale=False, labels=False, colormap="magma")
    for k in range(4):
        np.testing.assert_array_equal(
            tile(grid, k, 2), overlay(image, stack[k], colormap="magma")
        )
    shared = montage(image, stack, labels=False, colormap="magma")
    assert not np.array_equal(tile(shared, 0, 2), tile(grid, 0, 2))


def test_labels_are_drawn_above_the_tiles_not_on_them():
    image, stack = make_image(), make_stack(3)
    plain = montage(image, stack, columns=3, labels=False)
    assert plain.shape == (Y, 3 * X + 2 * GAP, 3)
    labelled = montage(image, stack, columns=3)
    band = band_height(labelled, 1)
    for k in range(3):
        np.testing.assert_array_equal(tile(labelled, k, 3, band), tile(plain, k, 3))
        text = labelled[:band, k * (X + GAP) : k * (X + GAP) + X]
        assert (text < 128).any()  # dark text on the white band
    named = montage(image, stack, columns=3, labels=["4", "5", "16"])
    assert not np.array_equal(named[:band], labelled[:band])
    np.testing.assert_array_equal(named[band:], labelled[band:])


def test_columns_and_a_grey_image():
    grey = make_image()[..., 0]
    stack = make_stack(5)
    grid = montage(grey, stack, columns=5, labels=False, mode="scaled")
    assert grid.shape == (Y, 5 * X + 4 * GAP, 3)
    np.testing.assert_array_equal(
        tile(grid, 4, 5), overlay(grey, stack, mode="scaled")[4]
    )
    assert montage(grey, stack, columns=9, labels=False).shape == grid.shape


def test_a_single_map_is_one_tile():
    image, heat = make_image(), make_stack(1)[0]
    grid = montage(image, heat, labels=False)
    np.testing.assert_array_equal(grid, overlay(image, heat))


@pytest.mark.parametrize(
    ("arguments", "error", "words"),
    [
        ({"heatmap_stack": np.zeros((2, 3, 6, 8))}, ValueError, "one sample"),
        ({"image": np.zeros((2, Y, X, 3), np.uint8)}, ValueError, "one image"),
        ({"columns": 0}, ValueError, "columns"),
        ({"labels": ["a", "b"]}, ValueError, "one label per channel"),
        ({"alpha": 2}, ValueError, "alpha"),
    ],
)
def test_mistakes_are_refused_clearly(arguments, error, words):
    given = {"image": make_image(), "heatmap_stack": make_stack(3), **arguments}
    with pytest.raises(error, match=words):
        montage(given.pop("image"), given.pop("heatmap_stack"), **given)
