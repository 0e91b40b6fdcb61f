"""A publication figure: image | heatmap | overlay, with a colour bar.

Built on :class:`matplotlib.figure.Figure` directly (never pyplot), so it
works without a display and never touches a GUI backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from matplotlib import patheffects
from matplotlib.cm import ScalarMappable
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

import napari_heatoverlay.engine.inputs as _inputs
from napari_heatoverlay.engine.colormap import colormap_lut
from napari_heatoverlay.engine.contours import check_levels, trace
from napari_heatoverlay.engine.formulas import image_rgb8
from napari_heatoverlay.engine.normalize import Window, compute_window
from napari_heatoverlay.engine.options import OverlayOptions, Sign, with_options
from napari_heatoverlay.engine.overlay import render

_PANEL_HEIGHT = 3.0  # inches
_MAX_WIDTH = 16.0  # inches
_COLORBAR_WIDTH = 0.3  # inches, bar and gap
_LABELS_WIDTH = 0.6  # inches, ticks and label of the colour bar
_SIGMOID_SAMPLES = 1024
#: Contour lines: white with a thin black edge, visible on any colormap.
_CONTOUR_STYLE = {
    "color": "white",
    "linewidth": 1.0,
    "path_effects": [patheffects.withStroke(linewidth=2.0, foreground="black")],
}


@with_options()
def figure(
    image: ArrayLike,
    heatmap: ArrayLike | Mapping[str, ArrayLike],
    *,
    index: int | tuple[int, ...] | None = None,
    label: str = "heatmap value",
    share_scale: bool = False,
    contours: Sequence[float] | None = None,
    dpi: float = 150,
    **options: Any,
) -> Figure:
    """Draw image, heatmap and overlay side by side with a colour bar.

    The heatmap panel shows the map at its own resolution (one block per heat
    pixel) over the image's field of view, coloured exactly as in the
    overlay; pixels below `threshold` and non-finite pixels are left blank,
    as the overlay leaves them as image. The colour bar is in heatmap units:
    its ends are the window the normalisation used (for ``norm="sigmoid"``
    or a `gamma`, the colours along it are the ones the overlay gives).

    Parameters
    ----------
    image : array_like
        (Y, X) grey or (Y, X, 3|4) RGB(A) (see `channel_axis` for others).
    heatmap : array_like or mapping of str to array_like
        (h, w), or more axes with `index` choosing one (h, w) map. A mapping
        such as ``{"Grad-CAM": cam, "Integrated gradients": ig}`` draws one
        row per map (image | heatmap | overlay), titled by its key, to
        compare methods on one image; up to 8 stay readable.
    index : int or tuple of int, optional
        Index into the heatmap's leading axes (e.g. a channel), so that
        ``heatmap[index]`` is 2-D. As in ``overlay(image, heatmap)[index]``,
        the window comes from the whole heatmap, so the figures of a stack's
        slices share one colour scale.
    label : str
        Colour bar label.
    share_scale : bool
        With several maps: one window from all of them and one colour bar,
        instead of a colour bar per row in each map's own units.
    contours : sequence of float, optional
        Levels of normalised heat ``n`` in [0, 1] to draw as lines on the
        heatmap and overlay panels (see :func:`~napari_heatoverlay.contours`:
        the iso-lines of the map as the overlay resamples it); the colour bar
        marks each level at its heat value.
    dpi : float
        Resolution, for saving as PNG.
    **options
        Every option of :func:`napari_heatoverlay.overlay` (``mode``,
        ``alpha``, ``colormap``, ``norm``, ...), with its default.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels per map and the colour bar(s) (four axes for one map).
        Save it with ``fig.savefig("figure.pdf")``.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_heatoverlay import figure
    >>> image = np.full((32, 96, 3), 128, dtype=np.uint8)
    >>> heat = np.random.default_rng(0).normal(size=(8, 24))
    >>> fig = figure(image, heat, norm="symmetric", colormap="coolwarm")
    >>> len(fig.axes), fig.axes[-1].get_ylabel()
    (4, 'heatmap value')
    >>> fig = figure(image, {"Grad-CAM": heat, "Saliency": heat**2}, norm="max")
    >>> len(fig.axes)
    8
    >>> fig = figure(image, heat, contours=[0.5, 0.8])
    >>> len(fig.axes[2].lines) > 0, len(fig.axes[3].lines)
    (True, 2)
    """
    settings = OverlayOptions.from_kwargs(**options)
    levels = () if contours is None else check_levels(contours)
    pixels, settings = _one_image(image, settings)
    named = dict(heatmap) if isinstance(heatmap, Mapping) else {None: heatmap}
    if not named:
        raise ValueError("heatmap is an empty mapping; pass at least one map")
    stacks = {
        name: _inputs.check_heatmap(_inputs.as_array(heat, "heatmap"))
        for name, heat in named.items()
    }
    maps = {name: _one_map(stack, index) for name, stack in stacks.items()}
    if share_scale:
        everything = np.concatenate(
            [np.asarray(s, np.float64).ravel() for s in stacks.values()]
        )
        shared = compute_window(everything, settings)
        windows = dict.fromkeys(maps, shared)
    else:
        windows = {
            name: compute_window(np.asarray(s), settings) for name, s in stacks.items()
        }
    lut = colormap_lut(settings.colormap) / 255.0
    image_grid, _ = _inputs.split_image(pixels, settings.rgb)
    shown_image = image_rgb8(
        image_grid, _inputs.image_range_for(image_grid, settings.image_range)
    )
    height, width = shown_image.shape[:2]
    fig = Figure(
        figsize=_figsize(height, width, len(maps)), dpi=dpi, layout="constrained"
    )
    grid = np.atleast_2d(fig.subplots(len(maps), 3))
    panel_height = _panel_height(len(maps))
    for axes, (name, heat) in zip(grid, maps.items(), strict=True):
        window = windows[name]
        blended = render(pixels, heat, settings, window=window)
        _draw_row(axes, shown_image, heat, blended, window, lut, settings, name)
        _draw_contours(axes[1:], heat, window, levels, settings, (height, width))
        if not share_scale:
            _colour_bar(
                fig,
                axes,
                window,
                lut,
                settings,
                label,
                width / height,
                panel_height,
                levels,
            )
    if share_scale:
        _colour_bar(
            fig,
            grid.ravel(),
            windows[next(iter(maps))],
            lut,
            settings,
            label,
            width / height,
            panel_height * len(maps),
            levels,
        )
    return fig


def _draw_row(
    axes: Any,
    shown_image: np.ndarray,
    heat: np.ndarray,
    blended: np.ndarray,
    window: Window,
    lut: np.ndarray,
    settings: OverlayOptions,
    name: str | None,
) -> None:
    height, width = shown_image.shape[:2]
    shown_heat = window.apply(heat)
    if settings.threshold is not None:
        shown_heat[shown_heat < settings.threshold] = np.nan
    heat_cmap = ListedColormap(lut).with_extremes(bad=(0.0, 0.0, 0.0, 0.0))
    axes[0].imshow(shown_image)
    axes[1].imshow(
        shown_heat,
        cmap=heat_cmap,
        vmin=0.0,
        vmax=1.0,
        extent=(-0.5, width - 0.5, height - 0.5, -0.5),
        interpolation="nearest",
    )
    axes[2].imshow(blended)
    alpha = "map" if getattr(settings.alpha, "ndim", 0) else f"{settings.alpha:g}"
    titles = (
        "Image" if name is None else str(name),
        f"Heatmap ({heat.shape[0]} \N{MULTIPLICATION SIGN} {heat.shape[1]}, {settings.norm})",
        f"Overlay ({settings.mode}, $\\alpha$ = {alpha})",
    )
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(
            title, fontweight="bold" if name is not None and ax is axes[0] else None
        )
        ax.set_axis_off()


def _draw_contours(
    panels: Any,
    heat: np.ndarray,
    window: Window,
    levels: tuple[float, ...],
    settings: OverlayOptions,
    shape: tuple[int, int],
) -> None:
    """Draw the iso-lines of `heat` at `levels` on the heatmap and overlay panels."""
    if not levels:
        return
    traced = trace(
        heat, window, levels, shape=shape, order=settings.interpolation.order
    )
    for lines in traced.values():
        for line in lines:
            for ax in panels:
                ax.plot(
                    line[:, 1], line[:, 0], scalex=False, scaley=False, **_CONTOUR_STYLE
                )


def _colour_bar(
    fig: Figure,
    axes: Any,
    window: Window,
    lut: np.ndarray,
    settings: OverlayOptions,
    label: str,
    aspect: float,
    height: float,
    levels: tuple[float, ...],
) -> None:
    colorbar = fig.colorbar(
        _colorbar_mappable(window, lut),
        ax=list(np.ravel(axes)),
        label=label,
        fraction=_COLORBAR_WIDTH / (3 * height * aspect),
        pad=0.01,
        shrink=0.9,
    )
    level = _heat_level(window, settings.threshold)
    if level is not None:
        colorbar.ax.axhline(level, color="black", linewidth=1.0)
    for contour in levels:
        level = _heat_level(window, contour)
        if level is not None:
            colorbar.ax.axhline(level, **_CONTOUR_STYLE)


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


def _panel_height(rows: int) -> float:
    """Inches per panel: smaller rows for many maps, so 8 fit on a page."""
    return _PANEL_HEIGHT if rows <= 2 else max(1.6, 6.0 / rows + 1.0)


def _figsize(height: int, width: int, rows: int = 1) -> tuple[float, float]:
    panel_height = _panel_height(rows)
    panel_width = panel_height * width / height
    total = 3 * panel_width + _COLORBAR_WIDTH + _LABELS_WIDTH
    scale = min(1.0, _MAX_WIDTH / total)
    return total * scale, rows * (panel_height + 0.5) * scale


def _colorbar_mappable(window: Window, lut: np.ndarray) -> ScalarMappable:
    """A colour bar from ``window.lo`` to ``window.hi`` in heatmap units."""
    window = replace(window, lo=float(window.lo), hi=float(window.hi))
    if window.hi <= window.lo:
        # a constant map: every pixel has n = flat; put the value there
        flat = _sigmoid(window.lo) if window.sigmoid else window.flat
        bottom = window.lo - flat
        return ScalarMappable(Normalize(bottom, bottom + 1.0), ListedColormap(lut))
    if window.sigmoid or window.gamma != 1.0:
        # linear in heatmap units, coloured as the overlay colours each value
        values = np.linspace(window.lo, window.hi, _SIGMOID_SAMPLES)
        n = replace(window, sign=Sign.ALL).apply(values)
        rows = np.minimum((n * len(lut)).astype(int), len(lut) - 1)
        return ScalarMappable(
            Normalize(window.lo, window.hi), ListedColormap(lut[rows])
        )
    return ScalarMappable(Normalize(window.lo, window.hi), ListedColormap(lut))


def _heat_level(window: Window, n: float | None) -> float | None:
    """The heatmap value where the normalised heat crosses `n`, if on the bar.

    ``n`` comes after the gamma, so the gamma is undone first.
    """
    window = replace(window, lo=float(window.lo), hi=float(window.hi))
    if n is None or window.hi <= window.lo:
        return None
    linear = n ** (1.0 / window.gamma)
    if window.sigmoid:
        if not 0.0 < linear < 1.0:
            return None
        level = float(np.log(linear / (1.0 - linear)))
        return level if window.lo <= level <= window.hi else None
    return window.lo + linear * (window.hi - window.lo)


def _sigmoid(values: Any) -> Any:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(values, dtype=np.float64)))
