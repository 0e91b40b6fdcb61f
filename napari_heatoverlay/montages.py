"""A grid of overlays, one per channel of a feature map, as one RGB picture.

Each tile is exactly the overlay of its channel; a label band above it (not
on it) names the channel, so the tiles stay comparable pixel for pixel.
Text is drawn with Pillow's default font: no display, no matplotlib.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

import napari_heatoverlay.engine.inputs as _inputs
from napari_heatoverlay.engine.normalize import compute_window
from napari_heatoverlay.engine.options import OverlayOptions, with_options
from napari_heatoverlay.engine.overlay import render

#: Pixels between tiles.
GAP = 4
_BACKGROUND = 255
_TEXT = 0


@with_options()
def montage(
    image: ArrayLike,
    heatmap_stack: ArrayLike,
    *,
    columns: int | None = None,
    share_scale: bool = True,
    labels: bool | Sequence[str] = True,
    **options: Any,
) -> np.ndarray:
    """Lay each channel of a feature map over the image, in one grid picture.

    Parameters
    ----------
    image : array_like
        One picture, (Y, X) grey or (Y, X, 3|4) RGB(A) (see `channel_axis`).
    heatmap_stack : array_like
        (C, h, w) or (1, C, h, w) channels over the image's field of view; a
        2-D map is one channel.
    columns : int, optional
        Tiles per row; default ``ceil(sqrt(C))``.
    share_scale : bool
        True: one window for the whole stack (as ``overlay(image, stack)``
        has it), so colours compare across channels. False: each channel
        is normalised on its own.
    labels : bool or sequence of str
        True labels tile k with ``"k"``; a sequence gives one label per
        channel (e.g. the channel numbers of a slice); False draws no labels
        and no label bands.
    **options
        Every option of :func:`~napari_heatoverlay.overlay`.

    Returns
    -------
    ndarray of uint8, shape (rows * (B + Y) + (rows - 1) * GAP, columns * X + (columns - 1) * GAP, 3)
        White background; tile k (row ``k // columns``, column
        ``k % columns``) holds the overlay of channel k, below a label band
        of B pixels (B = 0 without labels). Tiles are :data:`GAP` pixels
        apart.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_heatoverlay import montage, overlay
    >>> image = np.full((30, 40, 3), 90, dtype=np.uint8)
    >>> stack = np.random.default_rng(0).normal(size=(1, 5, 6, 8))
    >>> grid = montage(image, stack, columns=3, labels=False)
    >>> grid.shape  # 2 rows and 3 columns of 30 x 40 tiles, 4 pixels apart
    (64, 128, 3)
    >>> np.array_equal(grid[34:64, 44:84], overlay(image, stack[0])[4])
    True
    """
    settings = OverlayOptions.from_kwargs(**options)
    pixels = _inputs.as_array(image, "image")
    grid_image, is_rgb = _inputs.split_image(
        pixels, settings.rgb, settings.channel_axis
    )
    if grid_image.ndim != 3:
        raise ValueError(
            f"montage() lays the channels over one image, (Y, X) or (Y, X, 3|4), "
            f"but this one has shape {pixels.shape}; pass a single image"
        )
    picture = np.asarray(grid_image if is_rgb else grid_image[..., 0])
    settings = settings.replace(rgb=is_rgb, channel_axis=None)
    stack = _channels(heatmap_stack)
    count = stack.shape[0]
    names = _labels(labels, count)
    across = _columns(columns, count)
    down = math.ceil(count / across)
    height, width = picture.shape[:2]
    band = _band_height(width) if names else 0
    out = np.full(
        (
            down * (band + height) + (down - 1) * GAP,
            across * width + (across - 1) * GAP,
            3,
        ),
        _BACKGROUND,
        dtype=np.uint8,
    )
    window = compute_window(stack, settings) if share_scale else None
    for k in range(count):
        top = (k // across) * (band + height + GAP)
        left = (k % across) * (width + GAP)
        tile = out[top + band : top + band + height, left : left + width]
        own = compute_window(stack[k], settings) if window is None else window
        tile[...] = render(picture, stack[k], settings, window=own)
    if names:
        _draw_labels(out, names, across, (band, height, width))
    return out


def _channels(heatmap_stack: ArrayLike) -> np.ndarray:
    stack = np.asarray(
        _inputs.check_heatmap(_inputs.as_array(heatmap_stack, "heatmap_stack"))
    )
    if stack.ndim == 4 and stack.shape[0] == 1:
        stack = stack[0]
    if stack.ndim == 2:
        stack = stack[None]
    if stack.ndim != 3:
        raise ValueError(
            f"montage() shows the channels of one sample, (C, h, w) or (1, C, h, w), "
            f"but heatmap_stack has shape {stack.shape}; pick one sample, e.g. "
            "heatmap_stack[n]"
        )
    return stack


def _labels(labels: bool | Sequence[str], count: int) -> list[str]:
    if labels is True:
        return [str(k) for k in range(count)]
    if labels is False:
        return []
    if isinstance(labels, str) or len(labels) != count:
        raise ValueError(
            f"labels must be True, False or one label per channel ({count}), got "
            f"{labels!r}"
        )
    return [str(label) for label in labels]


def _columns(columns: int | None, count: int) -> int:
    if columns is None:
        return math.ceil(math.sqrt(count))
    if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise ValueError(f"columns must be a whole number >= 1, got {columns!r}")
    return min(columns, count)


def _font_size(width: int) -> int:
    """Label text height in pixels: small, but legible on large tiles."""
    return int(np.clip(width // 25, 10, 40))


def _band_height(width: int) -> int:
    return round(1.5 * _font_size(width))


def _draw_labels(
    out: np.ndarray, names: list[str], across: int, sizes: tuple[int, int, int]
) -> None:
    """Write each tile's label into the band above it (never on the tile)."""
    from PIL import Image, ImageDraw, ImageFont

    band, height, width = sizes
    font = ImageFont.load_default(size=_font_size(width))
    for k, name in enumerate(names):
        top = (k // across) * (band + height + GAP)
        left = (k % across) * (width + GAP)
        label = Image.new("RGB", (width, band), (_BACKGROUND,) * 3)
        ImageDraw.Draw(label).text(
            (2, band // 2), name, fill=(_TEXT,) * 3, font=font, anchor="lm"
        )
        out[top : top + band, left : left + width] = np.asarray(label)
