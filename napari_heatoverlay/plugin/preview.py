"""The live preview: napari's renderer draws the blend, no pixels computed.

:class:`HeatPreview` restyles the heatmap layer itself (colormap, contrast
limits, gamma, opacity, blending, interpolation; see
:mod:`~napari_heatoverlay.plugin.preview_style`) so that the GPU blends it
over the image as the bake would. The layer's own style is kept in its
record and given back when the preview stops or moves to another layer.
What napari cannot draw so (:func:`~napari_heatoverlay.plugin.preview_checks.display_problem`,
:func:`~napari_heatoverlay.plugin.preview_style.unsupported_options`) is
reported, and the widget bakes instead.

The heat is measured once per heatmap and window options (a pass over all
of it); a large heatmap is measured in a worker thread and the style follows
when it is done.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from napari.qt.threading import create_worker

from napari_heatoverlay.plugin.preview_checks import display_problem
from napari_heatoverlay.plugin.preview_style import (
    HeatStats,
    colour_key,
    heat_stats,
    preview_colormap,
    preview_style,
    unsupported_options,
)
from napari_heatoverlay.plugin.style import keep_style, restore_style

if TYPE_CHECKING:
    import napari.layers
    import napari.viewer

    from napari_heatoverlay.plugin.plan import OverlayPlan

#: Heatmaps with up to this many values are measured on the UI thread (a few
#: milliseconds); larger ones in a worker thread.
SYNC_VALUES = 2**20
#: Measurements kept (one per heatmap and set of window options).
_CACHE_SIZE = 8
#: The options the window depends on (gamma is applied by napari).
_WINDOW_OPTIONS = ("norm", "sign", "outlier_perc", "vmin", "vmax", "percentiles")
_names = itertools.count(1)

#: What :meth:`HeatPreview.show` says while a large heatmap is measured.
MEASURING = "measuring the heatmap"


class HeatPreview:
    """Show a pair's blend by restyling its heatmap layer.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer holding the layers.
    on_settled : callable
        Called with :meth:`show`'s answer for a request that had to wait for
        a worker's measurement, once it is there.

    Examples
    --------
    >>> preview = HeatPreview(viewer, on_settled=print)  # doctest: +SKIP
    >>> preview.show(plan, image_layer, heatmap_layer)  # doctest: +SKIP
    ''
    >>> preview.restore()  # doctest: +SKIP
    """

    def __init__(
        self, viewer: napari.viewer.Viewer, on_settled: Callable[[str], None]
    ) -> None:
        self._viewer = viewer
        self._on_settled = on_settled
        self._layer: napari.layers.Image | None = None
        self._stats: dict[tuple, tuple[Any, HeatStats]] = {}
        self._measuring: set[tuple] = set()
        self._waiting: tuple | None = None
        self._closed = False
        # one registered colormap name per preview, overwritten on each style
        self._colormap_name = f"heat overlay preview {next(_names)}"
        self._colormap: tuple[tuple, Any, Any] | None = None  # key, source, map

    @property
    def layer(self) -> napari.layers.Image | None:
        """The heatmap layer restyled now, if any."""
        return self._layer

    def show(
        self,
        plan: OverlayPlan,
        image_layer: napari.layers.Image,
        heatmap_layer: napari.layers.Image,
    ) -> str:
        """Restyle `heatmap_layer` to draw the blend of `plan`, if napari can.

        Returns
        -------
        str
            Empty when the layer now draws the blend; :data:`MEASURING`
            while a large heatmap is measured (``on_settled`` follows);
            otherwise why napari cannot draw it, and the layer has its own
            style back.
        """
        if self._closed:
            return "the preview is closed"
        layer = self._layer
        if layer is not None and layer.unique_id != heatmap_layer.unique_id:
            self.restore()
        problem = display_problem(self._viewer, plan, image_layer, heatmap_layer)
        if problem:
            self.restore()
            return problem
        key = _stats_key(plan, heatmap_layer)
        cached = self._stats.get(key)
        if cached is not None:
            stats = cached[1]
        elif plan.heatmap.size > SYNC_VALUES:
            self._measure(key, plan, image_layer, heatmap_layer)
            return MEASURING
        else:
            stats = self._remember(key, heatmap_layer.data, _measure_plan(plan))
        problem = unsupported_options(plan.options, stats)
        if problem:
            self.restore()
            return problem
        keep_style(heatmap_layer)
        self._layer = heatmap_layer
        style = preview_style(plan.options, stats, self._preview_colormap(plan))
        style.apply_to(heatmap_layer)
        return ""

    def _preview_colormap(self, plan: OverlayPlan) -> Any:
        """The colormap for `plan`, made anew only when its colours change."""
        key = colour_key(plan.options)
        if self._colormap is None or self._colormap[0] != key:
            colormap = preview_colormap(plan.options, self._colormap_name)
            _register(colormap)
            # the source colormap stays referenced, so that its id in the key
            # cannot be reused by another object
            self._colormap = (key, plan.options.colormap, colormap)
        return self._colormap[2]

    def restore(self) -> None:
        """Give the restyled layer its own style back."""
        layer, self._layer = self._layer, None
        if layer is not None:
            restore_style(layer)

    def close(self) -> None:
        """Restore the layer and ignore measurements still under way."""
        self.restore()
        self._closed = True
        self._waiting = None

    def _remember(self, key: tuple, data: Any, stats: HeatStats) -> HeatStats:
        """Cache `stats`; `data` is kept with them, so that its id in the key
        cannot be taken by another array while they are cached."""
        if len(self._stats) >= _CACHE_SIZE:
            self._stats.pop(next(iter(self._stats)))
        self._stats[key] = (data, stats)
        return stats

    def _measure(
        self,
        key: tuple,
        plan: OverlayPlan,
        image_layer: napari.layers.Image,
        heatmap_layer: napari.layers.Image,
    ) -> None:
        """Measure in a worker; then show the latest waiting request."""
        self._waiting = (plan, image_layer, heatmap_layer)
        if key in self._measuring:
            return
        self._measuring.add(key)

        def measured(stats: HeatStats) -> None:
            self._measuring.discard(key)
            self._remember(key, heatmap_layer.data, stats)
            waiting, self._waiting = self._waiting, None
            if waiting is not None and not self._closed:
                self._on_settled(self.show(*waiting))

        def failed(error: Exception) -> None:
            self._measuring.discard(key)
            self._waiting = None
            if not self._closed:
                self.restore()
                self._on_settled(f"the heatmap could not be measured ({error})")

        create_worker(
            _measure_plan,
            plan,
            _start_thread=True,
            _ignore_errors=True,
            _connect={"returned": measured, "errored": failed},
        )


def preview_message(problem: str, layer: napari.layers.Layer | None) -> str:
    """One line for the widget: :meth:`HeatPreview.show`'s answer in words.

    Examples
    --------
    >>> preview_message("norm 'sigmoid' is not a linear window", None)
    "baked, because norm 'sigmoid' is not a linear window"
    """
    if problem == MEASURING:
        return "measuring the heatmap…"
    if problem or layer is None:
        return f"baked, because {problem}"
    return f"napari draws the blend on {layer.name!r}"


def _measure_plan(plan: OverlayPlan) -> HeatStats:
    """Worker: the stats of a plan's heat (cropping it is part of the work)."""
    return heat_stats(plan.fitted_heatmap(), plan.heatmap, plan.options)


def _stats_key(plan: OverlayPlan, heatmap_layer: napari.layers.Image) -> tuple:
    options = tuple(repr(getattr(plan.options, name)) for name in _WINDOW_OPTIONS)
    return (id(heatmap_layer.data), plan.rows, plan.cols, plan.depth, *options)


def _register(colormap: Any) -> None:
    """Make `colormap` napari's colormap of its name, so that napari keeps the
    name rather than adding a numbered copy for every new style."""
    from napari.utils.colormaps import AVAILABLE_COLORMAPS

    # napari's registry refuses to replace an entry: take the old one out
    AVAILABLE_COLORMAPS.pop(colormap.name, None)
    AVAILABLE_COLORMAPS[colormap.name] = colormap
