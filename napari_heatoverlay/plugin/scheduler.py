"""Run overlay requests for one viewer without freezing it.

:class:`OverlayScheduler` takes :class:`~napari_heatoverlay.plugin.plan.OverlayPlan`
requests (the widget submits one on every Apply, and on every change in live
mode) and shows their results: a newer request wins, at most one worker
runs, and of a stack the slice the viewer shows is computed first. A
generation number orders the requests: a result is shown only if no newer
one has been shown, and only while its source layers are in the viewer.

Whether a request is blended on the UI thread or in a worker depends on its
work (:func:`~napari_heatoverlay.plugin.workload.estimate_ms`: heat pixels
plus output pixels), so that the UI
thread never blocks for long: a huge heatmap over a small image costs the
heatmap's size. At interpreter exit the workers are stopped and waited for
(:func:`finish_workers`), so that a script that ends without closing the
viewer does not tear Qt down under a running worker.
"""

from __future__ import annotations

import atexit
import dataclasses
import sys
import weakref
from collections.abc import Generator
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
from napari.qt.threading import GeneratorWorker, WorkerBase, create_worker
from napari.utils.notifications import show_error

from napari_heatoverlay.plugin.layers import find_overlay_layer, show_overlay
from napari_heatoverlay.plugin.plan import OverlayPlan
from napari_heatoverlay.plugin.workload import QUICK_MS, estimate_ms

if TYPE_CHECKING:
    import napari.layers
    import napari.viewer

#: How long, at interpreter exit, to wait for workers to stop.
EXIT_WAIT_MS = 30_000
_schedulers: weakref.WeakSet[OverlayScheduler] = weakref.WeakSet()


def finish_workers() -> None:
    """Close every scheduler and wait for the workers to stop (at exit).

    Python tears Qt objects down at exit; a worker still running then dies
    with "RuntimeError in aborted thread" or worse. Registered with
    :mod:`atexit`, after Qt's own clean-up, so it runs before it.
    """
    for scheduler in list(_schedulers):
        scheduler.close()
    try:
        WorkerBase.await_workers(msecs=EXIT_WAIT_MS)
    except RuntimeError as error:  # a blend that outlasted the wait
        print(f"Heat overlay: {error}", file=sys.stderr)


atexit.register(finish_workers)


@dataclasses.dataclass
class _Focus:
    """The leading index the viewer shows; the worker computes it first."""

    index: tuple[int, ...] = ()


class OverlayScheduler:
    """Compute overlay plans and show their results in one viewer.

    Small results are blended at once on the UI thread; larger ones in a
    napari worker thread, a stack slice by slice (the shown slice first, each
    slice shown as it is done). While a worker runs, a new request replaces
    the waiting one and asks the worker to stop at its next slice; the newest
    request starts when the worker has finished. Removing a source or result
    layer drops the work on it; :meth:`close` drops all work.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer whose dims point orders the slices and where results are
        shown (added, or updated in place).
    quick_ms : float
        Requests estimated (:func:`~napari_heatoverlay.plugin.workload.estimate_ms`) at up to this many
        milliseconds, and neither lazy nor multiscale, are blended on the UI
        thread.

    Examples
    --------
    >>> scheduler = OverlayScheduler(viewer)  # doctest: +SKIP
    >>> scheduler.submit(plan_overlay(image_layer, heatmap_layer, alpha=0.4))  # doctest: +SKIP
    >>> scheduler.idle  # doctest: +SKIP
    True
    """

    def __init__(
        self, viewer: napari.viewer.Viewer, *, quick_ms: float = QUICK_MS
    ) -> None:
        self._viewer = viewer
        self._quick_ms = quick_ms
        self._requested = 0  # generation of the latest request
        self._shown = 0  # generation on screen
        self._cancelled = 0  # results up to this generation are dropped
        self._worker: GeneratorWorker | None = None
        self._running: tuple[OverlayPlan, int] | None = None
        self._pending: tuple[OverlayPlan, int] | None = None
        self._focus = _Focus()
        self._buffer: np.ndarray | None = None
        self._last_error = ""
        self._closed = False
        viewer.dims.events.current_step.connect(self._on_step)
        viewer.layers.events.removed.connect(self._on_layer_removed)
        _schedulers.add(self)

    @property
    def worker(self) -> GeneratorWorker | None:
        """The worker computing a request, if any."""
        return self._worker

    @property
    def idle(self) -> bool:
        """Whether no request is being computed or waiting."""
        return self._worker is None and self._pending is None

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called; requests are ignored then."""
        return self._closed

    def submit(self, plan: OverlayPlan) -> None:
        """Compute `plan` and show its result, unless a newer request wins.

        Parameters
        ----------
        plan : OverlayPlan
            What to blend; its result replaces the layer made from the same
            two sources, if any.
        """
        if self._closed:
            return
        self._requested += 1
        if self._worker is None and self._is_quick(plan):
            self._compute_here(plan, self._requested)
            return
        self._pending = (plan, self._requested)
        if self._worker is None:
            self._start_pending()
        else:
            self._worker.quit()

    def report(self, error: Exception) -> None:
        """Notify `error`, once per distinct message (live mode repeats requests).

        Parameters
        ----------
        error : Exception
            What went wrong; its message should say what to do.
        """
        message = f"Heat overlay: {error}"
        if message != self._last_error:
            self._last_error = message
            show_error(message)

    def close(self) -> None:
        """Drop all work in flight and ignore further requests.

        Call it when the viewer, or the widget owning the scheduler, closes.
        """
        if self._closed:
            return
        self._closed = True
        self._cancelled = self._requested
        self._pending = None
        if self._worker is not None:
            self._worker.quit()
        self._viewer.dims.events.current_step.disconnect(self._on_step)
        self._viewer.layers.events.removed.disconnect(self._on_layer_removed)

    def _is_quick(self, plan: OverlayPlan) -> bool:
        """Whether `plan` is little enough work to blend on the UI thread."""
        return not (plan.lazy or plan.multiscale) and estimate_ms(plan) <= (
            self._quick_ms
        )

    def _compute_here(self, plan: OverlayPlan, generation: int) -> None:
        try:
            data = plan.compute()
        except (TypeError, ValueError) as error:
            self.report(error)
            return
        self._display(plan, data, generation)

    def _start_pending(self) -> None:
        plan, generation = self._running = self._pending
        self._pending = None
        self._focus.index = plan.index_at(self._viewer.dims.point)
        slices = int(np.prod(plan.lead)) if plan.lead and not plan.lazy else 0
        self._worker = create_worker(
            _compute,
            plan,
            self._focus,
            _progress={"total": slices, "desc": "Heat overlay"},
            _ignore_errors=True,
            _connect={
                "yielded": partial(self._on_slice, plan, generation),
                "returned": partial(self._on_result, plan, generation),
                "errored": partial(self._on_error, generation),
                "finished": self._on_finished,
            },
        )

    def _on_finished(self) -> None:
        self._worker = self._running = None
        if self._pending is not None:
            self._start_pending()

    def _fresh(self, generation: int) -> bool:
        return generation >= self._shown and generation > self._cancelled

    def _on_slice(
        self, plan: OverlayPlan, generation: int, item: tuple[tuple[int, ...], Any]
    ) -> None:
        viewer = self._viewer
        if not self._fresh(generation) or not _present(viewer, plan):
            return
        index, pixels = item
        layer = find_overlay_layer(viewer.layers, plan.sources)
        buffer = self._buffer
        if layer is None or layer.data is not buffer or buffer.shape != plan.shape:
            # reuse what is on screen for the slices not computed yet
            previous = layer.data if layer is not None else None
            same = isinstance(previous, np.ndarray) and previous.shape == plan.shape
            buffer = previous.copy() if same else np.zeros(plan.shape, np.uint8)
            self._buffer = buffer
        buffer[index] = pixels
        if generation > self._shown or layer is None or layer.data is not buffer:
            self._display(plan, buffer, generation)
        else:
            layer.refresh()

    def _on_result(self, plan: OverlayPlan, generation: int, data: Any) -> None:
        if (
            data is not None
            and self._fresh(generation)
            and _present(self._viewer, plan)
        ):
            self._display(plan, data, generation)

    def _display(self, plan: OverlayPlan, data: Any, generation: int) -> None:
        show_overlay(self._viewer, plan, data)
        self._shown = generation
        self._last_error = ""

    def _on_error(self, generation: int, error: Exception) -> None:
        if generation > self._cancelled:
            self.report(error)

    def _on_step(self) -> None:
        """Compute the slice the viewer moved to next."""
        if self._running is not None:
            self._focus.index = self._running[0].index_at(self._viewer.dims.point)

    def _on_layer_removed(self, event: Any) -> None:
        """Drop work in flight on a layer that went away."""
        if self._pending is not None and _concerns(self._pending[0], event.value):
            self._pending = None
        if self._running is not None and _concerns(self._running[0], event.value):
            self._cancelled = max(self._cancelled, self._running[1])
            self._worker.quit()


def _compute(
    plan: OverlayPlan, focus: _Focus
) -> Generator[tuple[tuple[int, ...], np.ndarray], None, Any]:
    """Worker: the whole result, or a stack slice by slice (shown one first)."""
    if plan.lazy or plan.multiscale or not plan.lead:
        return plan.compute()
    lazy = dataclasses.replace(plan, lazy=True).compute()
    remaining = set(np.ndindex(*plan.lead))
    while remaining:
        index = focus.index if focus.index in remaining else min(remaining)
        remaining.discard(index)
        yield index, lazy[index].compute()
    return None


def _concerns(plan: OverlayPlan, layer: napari.layers.Layer) -> bool:
    """Whether `layer` is a source or the result of `plan`."""
    ids = {role: source["id"] for role, source in plan.sources.items()}
    record = layer.metadata.get("heatoverlay", {})
    return str(layer.unique_id) in ids.values() or record.get("source_ids") == ids


def _present(viewer: napari.viewer.Viewer, plan: OverlayPlan) -> bool:
    """Whether both source layers are still in the viewer."""
    ids = {str(layer.unique_id) for layer in viewer.layers}
    return all(source["id"] in ids for source in plan.sources.values())
