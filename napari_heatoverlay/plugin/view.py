"""Keep a view of the whole scene whole when the canvas shrinks.

Docking a widget narrows napari's canvas, and napari keeps the zoom: a view
that showed the whole photo (as after ``viewer.reset_view()``) then crops it.
:class:`WholeView` watches the canvas size while the widget is open and
fits the view again when a view that showed every layer no longer does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import napari.viewer


def shows_everything(viewer: napari.viewer.Viewer, size: tuple[int, int]) -> bool:
    """Whether a 2-D canvas of `size` (height, width) shows every layer whole.

    Examples
    --------
    >>> viewer.reset_view()  # doctest: +SKIP
    >>> shows_everything(viewer, viewer.canvas.size)  # doctest: +SKIP
    True
    """
    if viewer.dims.ndisplay != 2 or not len(viewer.layers):
        return False
    axes = list(viewer.dims.displayed)
    extent = viewer.layers.extent
    half = np.asarray(extent.step, float)[axes] / 2
    low = np.asarray(extent.world[0], float)[axes] - half
    high = np.asarray(extent.world[1], float)[axes] + half
    camera = viewer.scene.camera
    centre = np.asarray(camera.center[-2:], float)
    reach = np.asarray(size, float) / (2 * camera.zoom)
    slack = 1e-6 * np.maximum(np.abs(high - low), 1)
    return bool(
        np.all(centre - reach <= low + slack) and np.all(centre + reach >= high - slack)
    )


class WholeView:
    """Fit the view again when the canvas shrinks under a whole-scene view.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer whose canvas is watched; :meth:`close` stops watching.
    """

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        self._viewer = viewer
        self._size = tuple(viewer.canvas.size)
        viewer.canvas.events.size.connect(self._on_size)

    def close(self) -> None:
        """Stop watching the canvas."""
        self._viewer.canvas.events.size.disconnect(self._on_size)

    def _on_size(self, _event: Any = None) -> None:
        viewer = self._viewer
        before, self._size = self._size, tuple(viewer.canvas.size)
        if shows_everything(viewer, before) and not shows_everything(
            viewer, self._size
        ):
            viewer.reset_view()
