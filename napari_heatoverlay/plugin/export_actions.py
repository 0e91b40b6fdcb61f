"""What the widget's Export buttons do, once the widget has a plan.

:class:`ExportActions` asks where (:func:`~napari_heatoverlay.plugin.export.ask_figure_path`,
:func:`~napari_heatoverlay.plugin.export_montage.ask_montage_path`; tests
replace those two functions here), saves, and tells the user. The widget
owns one and checks the pair first; the dialogs start in the folder of the
last export.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from napari.utils.notifications import show_info

from napari_heatoverlay.plugin.export import ask_figure_path, save_figure
from napari_heatoverlay.plugin.export_montage import (
    ask_montage_path,
    check_channels,
    save_montage,
)
from napari_heatoverlay.plugin.plan import OverlayPlan

if TYPE_CHECKING:
    import napari.viewer


class ExportActions:
    """Export figure… and Export montage… for one widget.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        Whose dims point says which slice is exported.
    report : callable
        Called with an error to notify.
    parent : QWidget, optional
        The widget the dialogs belong to.

    Attributes
    ----------
    montage_worker : napari worker or None
        The last montage's worker (a montage of many channels takes a while).
    """

    def __init__(
        self,
        viewer: napari.viewer.Viewer,
        report: Callable[[Exception], None],
        parent: Any = None,
    ) -> None:
        self._viewer = viewer
        self._report = report
        self._parent = parent
        self._folder: Path | None = None
        self.montage_worker: Any = None

    def figure(self, plan: OverlayPlan, contours: tuple[float, ...] = ()) -> None:
        """Ask for a file, then save the shown slice as a figure (``figure()``)."""
        path = ask_figure_path(self._parent, self._folder)
        if path is None:
            return
        try:
            save_figure(plan, tuple(self._viewer.dims.point), path, contours)
        except (OSError, TypeError, ValueError) as error:
            self._report(error)
            return
        self._folder = path.parent
        show_info(f"Heat overlay: figure saved to {path}")

    def montage(self, plan: OverlayPlan) -> None:
        """Check the heatmap has channels, ask for a file, then save their
        montage over the image (``montage()``) in a worker."""
        try:
            check_channels(plan)
        except ValueError as error:
            self._report(error)
            return
        path = ask_montage_path(self._parent, self._folder)
        if path is None:
            return
        from napari.qt.threading import create_worker

        worker = create_worker(
            save_montage,
            plan,
            tuple(self._viewer.dims.point),
            path,
            _progress={"desc": "Export montage"},
        )
        worker.returned.connect(
            lambda _: show_info(f"Heat overlay: montage saved to {path}")
        )
        worker.errored.connect(self._report)
        self._folder = path.parent
        self.montage_worker = worker
        worker.start()
