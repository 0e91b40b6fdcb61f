"""How napari's renderer draws an overlay's blend: a heatmap layer's style.

napari draws an image layer as ``colormap(clip((v - lo) / (hi - lo)) ** gamma)``
and blends it over the layers below on the GPU. With the normalisation
window as contrast limits, the option's gamma, and a colormap built from the
same lookup table as the baked overlay, every mode of
:func:`~napari_heatoverlay.overlay` is one of napari's blendings:

========== ================ ============================== =========
mode       blending         colormap colour, alpha         opacity
========== ================ ============================== =========
alpha      translucent      ``c``, 1                       ``a``
gray       translucent      ``n``, 1                       ``a``
scaled     translucent      ``c``, ``n``                   ``a``
additive   additive         ``c``, 1                       ``a``
multiply   multiplicative   ``1 - a + a n``, 1             1
tint       multiplicative   ``1 - a + a c``, 1             1
========== ================ ============================== =========

The colormap is a step function, one step per lookup-table entry, as
matplotlib's lookup is; steps below ``threshold`` leave the image as it is
(alpha 0, or white for the multiplicative modes). What napari cannot draw so
(:func:`unsupported_options`) the widget bakes instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_heatoverlay.engine.colormap import colormap_lut
from napari_heatoverlay.engine.normalize import Window, compute_window
from napari_heatoverlay.engine.options import Mode, Norm, OverlayOptions, Sign
from napari_heatoverlay.plugin.style import LayerStyle

#: napari's blending for each mode.
BLENDING = {
    Mode.ALPHA: "translucent",
    Mode.GRAY: "translucent",
    Mode.SCALED: "translucent",
    Mode.ADDITIVE: "additive",
    Mode.MULTIPLY: "multiplicative",
    Mode.TINT: "multiplicative",
}
#: napari's 2-D interpolation for each of ours. Of napari's kernels,
#: "spline36" comes closest to the cubic spline the bake uses (95th
#: percentile 2 grey levels on the sample; napari's "cubic" gives 3).
INTERPOLATION_2D = {"nearest": "nearest", "linear": "linear", "cubic": "spline36"}
#: napari's 3-D rendering knows only these two.
INTERPOLATION_3D = {"nearest": "nearest", "linear": "linear", "cubic": "linear"}
#: At least this many colormap steps, so that the ramps of gray, scaled
#: and multiply are smooth also for a short lookup table.
_MIN_STEPS = 256
_MULTIPLICATIVE = (Mode.MULTIPLY, Mode.TINT)


@dataclass(frozen=True)
class HeatStats:
    """What the preview needs to know of the heat: one pass over it.

    Attributes
    ----------
    window : Window
        The normalisation window, as the bake computes it.
    finite : bool
        Whether every value of the heatmap layer is finite (napari draws NaN
        in colour, the bake leaves the image).
    non_negative : bool
        Whether no value is below 0 (then the signs "positive" and
        "absolute_value" change nothing).
    """

    window: Window
    finite: bool
    non_negative: bool


def heat_stats(window_heat: Any, layer_heat: Any, options: OverlayOptions) -> HeatStats:
    """Measure the heat: the window of `window_heat` (the heat the bake
    normalises) and the values of `layer_heat` (what napari draws).

    Examples
    --------
    >>> import numpy as np
    >>> heat = np.array([[-1.0, 3.0]])
    >>> stats = heat_stats(heat, heat, OverlayOptions())
    >>> float(stats.window.lo), float(stats.window.hi), stats.finite, stats.non_negative
    (-1.0, 3.0, True, False)
    """
    values = np.asarray(layer_heat)
    finite = values.dtype.kind != "f" or bool(np.isfinite(values).all())
    non_negative = values.dtype.kind in "bu" or bool(np.nanmin(values) >= 0)
    return HeatStats(
        compute_window(np.asarray(window_heat), options), finite, non_negative
    )


def unsupported_options(options: OverlayOptions, stats: HeatStats) -> str:
    """Why napari cannot draw these options on this heat; empty if it can.

    Examples
    --------
    >>> import numpy as np
    >>> heat = np.array([[-1.0, 3.0]])
    >>> sigmoid = OverlayOptions(norm="sigmoid")
    >>> unsupported_options(sigmoid, heat_stats(heat, heat, sigmoid))
    "norm 'sigmoid' is not a linear window, which napari's contrast limits are"
    """
    if isinstance(options.alpha, np.ndarray):
        return "alpha is a per-pixel map, and napari's opacity is one number"
    if stats.window.sigmoid:
        return (
            f"norm {Norm.SIGMOID.value!r} is not a linear window, which napari's "
            "contrast limits are"
        )
    changes_values = options.sign == Sign.NEGATIVE or (
        options.sign != Sign.ALL and not stats.non_negative
    )
    if changes_values:
        return (
            f"sign {options.sign.value!r} changes the heat values, and napari draws "
            "them as they are"
        )
    if not stats.finite:
        return (
            "the heatmap holds NaN or infinite values, which napari draws in colour "
            "and the bake leaves clear"
        )
    return ""


def preview_style(
    options: OverlayOptions, stats: HeatStats, colormap: Any
) -> LayerStyle:
    """The heatmap layer's style that draws the blend of `options`.

    Parameters
    ----------
    options : OverlayOptions
        The overlay's options; :func:`unsupported_options` must be empty.
    stats : HeatStats
        The heat's window.
    colormap : napari.utils.colormaps.Colormap
        :func:`preview_colormap` of `options`.

    Examples
    --------
    >>> import numpy as np
    >>> heat = np.array([[0.0, 4.0]])
    >>> stats = heat_stats(heat, heat, OverlayOptions())
    >>> tint = OverlayOptions(mode="tint", alpha=0.3)
    >>> style = preview_style(tint, stats, preview_colormap(tint, "preview"))
    >>> style.blending, style.opacity, style.contrast_limits
    ('multiplicative', 1.0, (0.0, 4.0))
    """
    mode = options.mode
    limits = contrast_limits(stats.window)
    return LayerStyle(
        colormap=colormap,
        contrast_limits_range=limits,
        contrast_limits=limits,
        gamma=float(options.gamma),
        opacity=1.0 if mode in _MULTIPLICATIVE else float(options.alpha),
        blending=BLENDING[mode],
        interpolation2d=INTERPOLATION_2D[options.interpolation.value],
        interpolation3d=INTERPOLATION_3D[options.interpolation.value],
    )


def preview_colormap(options: OverlayOptions, name: str) -> Any:
    """The napari colormap of :func:`colour_steps`, named `name`."""
    from napari.utils.colormaps import Colormap

    edges, colours = colour_steps(options)
    return Colormap(colors=colours, controls=edges, interpolation="zero", name=name)


def colour_key(options: OverlayOptions) -> tuple:
    """What :func:`colour_steps` depends on: equal keys, equal colormaps.

    Examples
    --------
    >>> colour_key(OverlayOptions(alpha=0.2)) == colour_key(OverlayOptions(alpha=0.9))
    True
    >>> colour_key(OverlayOptions(mode="tint", alpha=0.2)) == colour_key(
    ...     OverlayOptions(mode="tint", alpha=0.9)
    ... )
    False
    """
    colormap = options.colormap
    named = colormap if isinstance(colormap, str) else id(colormap)
    alpha = options.alpha if options.mode in _MULTIPLICATIVE else None
    return (options.mode, options.threshold, alpha, named)


def colour_steps(options: OverlayOptions) -> tuple[np.ndarray, np.ndarray]:
    """The colormap's step edges in [0, 1] and its RGBA colour per step.

    Step edges are the lookup table's (entry ``k`` covers ``[k/N, (k+1)/N)``,
    as matplotlib's lookup), refined to at least 256 steps, plus the
    threshold.

    Examples
    --------
    >>> edges, colours = colour_steps(OverlayOptions(colormap="gray", threshold=0.5))
    >>> len(edges), float(colours[127, 3]), float(colours[128, 3])  # alpha
    (257, 0.0, 1.0)
    >>> edges, colours = colour_steps(OverlayOptions(mode="multiply", alpha=0.5))
    >>> [round(float(v), 3) for v in colours[[0, -1], 0]]  # 1 - a + a n
    [0.501, 0.999]
    """
    lut = colormap_lut(options.colormap) / 255.0
    size = len(lut)
    parts = [np.linspace(0.0, 1.0, size + 1), np.linspace(0.0, 1.0, _MIN_STEPS + 1)]
    threshold = options.threshold
    if threshold is not None and 0.0 < threshold < 1.0:
        parts.append(np.array([threshold]))
    edges = np.unique(np.round(np.concatenate(parts), 12))
    middle = (edges[:-1] + edges[1:]) / 2
    colour = lut[np.minimum((middle * size).astype(int), size - 1)].astype(float)
    a = float(options.alpha)
    alpha = np.ones_like(middle)
    mode = options.mode
    if mode == Mode.GRAY:
        colour = np.repeat(middle[:, None], 3, axis=1)
    elif mode == Mode.SCALED:
        alpha = middle.copy()
    elif mode == Mode.MULTIPLY:
        colour = np.repeat((1.0 - a + a * middle)[:, None], 3, axis=1)
    elif mode == Mode.TINT:
        colour = 1.0 - a + a * colour
    if threshold is not None:
        below = middle < threshold
        if mode in _MULTIPLICATIVE:
            colour[below] = 1.0
        else:
            alpha[below] = 0.0
    return edges, np.column_stack([colour, alpha]).astype(np.float32)


def contrast_limits(window: Window) -> tuple[float, float]:
    """napari contrast limits that map the heat as `window` does.

    An empty window (a constant map) maps every value to its ``flat`` level.

    Examples
    --------
    >>> contrast_limits(Window(-2, 6))
    (-2.0, 6.0)
    >>> low, high = contrast_limits(Window(3, 3, flat=0.5))
    >>> (3 - low) / (high - low)
    0.5
    """
    low, high = float(window.lo), float(window.hi)
    if high > low:
        return low, high
    step = max(abs(low), 1.0) * 2.0**-20
    if window.flat > 0:
        return low - step, low + step
    return low, low + step
