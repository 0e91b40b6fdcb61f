"""A publication figure: image | heatmap | overlay, with a colour bar.

Built on :class:`matplotlib.figure.Figure` directly (never pyplot), so it
works without a display and never touches a GUI backend.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

import napari_heatoverlay.engine.inputs as _inputs
from napari_heatoverlay.engine.colormap import colormap_lut
from napari_heatoverlay.engine.formulas import image_rgb8
from napari_heatoverlay.engine.normalize import Window, compute_window
from napari_heatoverlay.engine.options import OverlayOptions, with_options
from napari_heatoverlay.engine.overlay import render

_PANEL_HEIGHT = 3.0  # inches
_MAX_WIDTH = 16.0  # inches
_COLORBAR_WIDTH = 0.3  # inches, bar and gap
_LABELS_WIDTH = 0.6  # inches, ticks and label of the colour bar
_SIGMOID_SAMPLES = 1024


@with_options()
def figure(
    image: ArrayLike,
    heatmap: ArrayLike,
    *,
    index: int | tuple[int, ...] | None = None,
    label: str = "heatmap value",
    dpi: float = 150,
    **options: Any,
) -> Figure:
    """Draw image, heatmap and overlay side by side with a colour bar.

    The heatmap panel shows the map at its own resolution (one block per heat
    pixel) over the image's field of view, coloured exactly as in the
    overlay; pixels below `threshold` and non-finite pixels are left blank,
    as the overlay leaves them as image. The colour bar is in heatmap units:
    its ends are the window the normalisation used (for ``norm="sigmoid"``,
    the data range, with the colours ``1 / (1 + exp(-h))`` gives them).

    Parameters
    ----------
    image : array_like
        (Y, X) grey or (Y, X, 3|4) RGB(A).
    heatmap : array_like
        (h, w), or more axes with `index` choosing one (h, w) map.
    index : int or tuple of int, optional
        Index into the heatmap's leading axes (e.g. a channel), so that
        ``heatmap[index]`` is 2-D. As in ``overlay(image, heatmap)[index]``,
        the window comes from the whole heatmap, so the figures of a stack's
        slices share one colour scale.
    label : str
        Colour bar label.
    dpi : float
        Resolution, for saving as PNG.
    **options
        Every option of :func:`napari_heatoverlay.overlay` (``mode``,
        ``alpha``, ``colormap``, ``norm``, ...), with its default.

    Returns
    -------
    matplotlib.figure.Figure
        Four axes: image, heatmap, overlay and the colour bar. Save it with
        ``fig.savefig("figure.pdf")``.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_heatoverlay import figure
    >>> image = np.full((32, 96, 3), 128, dtype=np.uint8)
    >>> heat = np.random.default_rng(0).normal(size=(8, 24))
    >>> fig = figure(image, heat, norm="symmetric", colormap="coolwarm")
    >>> len(fig.axes), fig.axes[-1].get_ylabel()
    (4, 'heatmap value')
    """
    settings = OverlayOptions.from_kwargs(**options)
    heat_all = _inputs.check_heatmap(_inputs.as_array(heatmap, "heatmap"))
    heat = _one_map(heat_all, index)
    pixels, settings = _one_image(image, settings)
    window = compute_window(np.asarray(heat_all), settings)
    lut = colormap_lut(settings.colormap) / 255.0
    blended = render(pixels, heat, settings, window=window)
    image_grid, _ = _inputs.split_image(pixels, settings.rgb)
    bounds = _inputs.image_range_for(image_grid, settings.image_range)
    shown_image = image_rgb8(image_grid, bounds)
    shown_heat = window.apply(heat)
    if settings.threshold is not None:
        shown_heat[shown_heat < settings.threshold] = np.nan

    height, width = blended.shape[:2]
    size = _figsize(height, width)
    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    axes = fig.subplots(1, 3)
    heat_cmap = ListedColormap(lut).with_extremes(bad=(0.0, 0.0, 0.0, 0.0))
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)
    axes[0].imshow(shown_image)
    axes[1].imshow(
        shown_heat,
        cmap=heat_cmap,
        vmin=0.0,
        vmax=1.0,
        extent=extent,
        interpolation="nearest",
    )
    axes[2].imshow(blended)
    titles = (
        "Image",
        f"Heatmap ({heat.shape[0]} \N{MULTIPLICATION SIGN} {heat.shape[1]}, {settings.norm})",
        f"Overlay ({settings.mode}, $\\alpha$ = {settings.alpha:g})",
    )
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title)
        ax.set_axis_off()
    colorbar = fig.colorbar(
        _colorbar_mappable(window, lut),
        ax=axes,
        label=label,
        fraction=_COLORBAR_WIDTH / (3 * _PANEL_HEIGHT * width / height),
        pad=0.01,
        shrink=0.9,
    )
    level = _threshold_level(window, settings.threshold)
    if level is not None:
        colorbar.ax.axhline(level, color="black", linewidth=1.0)
    return fig


def _one_map(heat: Any, index: int | tuple[int, ...] | None) -> np.ndarray:
    if index is not None:
        try:
            heat = heat[index]
        except (IndexError, TypeError) as error:
            raise IndexError(
                f"index {index!r} does not fit the heatmap's leading axes "
                f"{heat.shape[:-2]} ({error})"
            ) from None
    if heat.ndim != 2:
        raise ValueError(
            f"a figure shows one 2-D heatmap, but this one has shape {heat.shape}; "
            "pass index=... to pick one map of its leading axes (e.g. a channel) "
            "or reduce them first (e.g. heatmap.mean(axis=0))"
        )
    return np.asarray(heat, dtype=np.float64)


def _one_image(
    image: ArrayLike, settings: OverlayOptions
) -> tuple[np.ndarray, OverlayOptions]:
    """The image with colour last, and the options that now describe it."""
    pixels = np.asarray(_inputs.as_array(image, "image"))
    grid, is_rgb = _inputs.split_image(pixels, settings.rgb, settings.channel_axis)
    if grid.ndim != 3:
        raise ValueError(
            f"a figure shows one image, (Y, X) grey or (Y, X, 3|4) RGB, but this "
            f"one has shape {pixels.shape}; pass a single image (e.g. image[0])"
        )
    colour_last = np.asarray(grid if is_rgb else grid[..., 0])
    return colour_last, settings.replace(rgb=is_rgb, channel_axis=None)


def _figsize(height: int, width: int) -> tuple[float, float]:
    panel_width = _PANEL_HEIGHT * width / height
    total = 3 * panel_width + _COLORBAR_WIDTH + _LABELS_WIDTH
    scale = min(1.0, _MAX_WIDTH / total)
    return total * scale, (_PANEL_HEIGHT + 0.5) * scale


def _colorbar_mappable(window: Window, lut: np.ndarray) -> ScalarMappable:
    """A colour bar from ``window.lo`` to ``window.hi`` in heatmap units."""
    window = replace(window, lo=float(window.lo), hi=float(window.hi))
    if window.hi <= window.lo:
        # a constant map: every pixel has n = flat; put the value there
        flat = _sigmoid(window.lo) if window.sigmoid else window.flat
        bottom = window.lo - flat
        return ScalarMappable(Normalize(bottom, bottom + 1.0), ListedColormap(lut))
    if window.sigmoid:
        # linear in heatmap units, coloured as n = sigmoid(h) colours them
        values = np.linspace(window.lo, window.hi, _SIGMOID_SAMPLES)
        rows = np.minimum((_sigmoid(values) * len(lut)).astype(int), len(lut) - 1)
        return ScalarMappable(
            Normalize(window.lo, window.hi), ListedColormap(lut[rows])
        )
    return ScalarMappable(Normalize(window.lo, window.hi), ListedColormap(lut))


def _threshold_level(window: Window, threshold: float | None) -> float | None:
    """The heatmap value where n crosses `threshold`, if on the colour bar."""
    window = replace(window, lo=float(window.lo), hi=float(window.hi))
    if threshold is None or window.hi <= window.lo:
        return None
    if window.sigmoid:
        if not 0.0 < threshold < 1.0:
            return None
        level = float(np.log(threshold / (1.0 - threshold)))
        return level if window.lo <= level <= window.hi else None
    return window.lo + threshold * (window.hi - window.lo)


def _sigmoid(values: Any) -> Any:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(values, dtype=np.float64)))
