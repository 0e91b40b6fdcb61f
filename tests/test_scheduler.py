"""OverlayScheduler on a real viewer, without the widget's controls."""

import threading

import numpy as np
import pytest
from napari.utils.notifications import notification_manager

from napari_heatoverlay.plugin import scheduler as scheduler_module
from napari_heatoverlay.plugin.plan import plan_overlay
from napari_heatoverlay.plugin.scheduler import OverlayScheduler

rng = np.random.default_rng(13)


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


@pytest.fixture
def stack(viewer):
    """An RGB image and a 12-channel heatmap: a result of 12 slices."""
    image = rng.integers(0, 256, (600, 800, 3), dtype=np.uint8)
    return (
        viewer.add_image(image, name="photo", rgb=True),
        viewer.add_image(rng.normal(size=(12, 15, 20)), name="channels"),
    )


@pytest.fixture
def workers(monkeypatch):
    """Record each worker's plan and slices, and how many blend at once.

    Setting ``record["gate"]`` to a :class:`threading.Event` holds every
    worker after each slice until the event is set.
    """
    record = {"plans": [], "slices": [], "running": 0, "peak": 0, "gate": None}
    lock = threading.Lock()
    create_worker = scheduler_module.create_worker

    def recording_create_worker(compute, plan, *args, **kwargs):
        record["plans"].append(plan)
        slices = []
        record["slices"].append(slices)

        def counted(*compute_args):
            generator = compute(*compute_args)
            while True:
                with lock:
                    record["running"] += 1
                    record["peak"] = max(record["peak"], record["running"])
                try:
                    item = next(generator)
                except StopIteration as done:
                    return done.value
                finally:
                    with lock:
                        record["running"] -= 1
                slices.append(item[0])
                yield item
                if record["gate"] is not None:
                    record["gate"].wait(timeout=20)

        return create_worker(counted, plan, *args, **kwargs)

    monkeypatch.setattr(scheduler_module, "create_worker", recording_create_worker)
    return record


def _results(viewer):
    return [
        layer
        for layer in viewer.layers
        if layer.metadata.get("heatoverlay", {}).get("role") == "overlay"
    ]


def test_small_plan_is_shown_at_once(viewer):
    image = viewer.add_image(rng.random((40, 60)), name="grey")
    heat = viewer.add_image(rng.random((4, 6)), name="heat")
    scheduler = OverlayScheduler(viewer)
    plan = plan_overlay(image, heat, alpha=0.3)
    scheduler.submit(plan)
    assert scheduler.worker is None and scheduler.idle
    (result,) = _results(viewer)
    np.testing.assert_array_equal(result.data, plan.compute())


def test_large_plan_runs_in_a_worker(qtbot, viewer, stack, workers):
    scheduler = OverlayScheduler(viewer, quick_ms=0)
    plan = plan_overlay(*stack, alpha=0.4)
    scheduler.submit(plan)
    assert scheduler.worker is not None and not scheduler.idle
    assert _results(viewer) == []  # nothing blocked the UI thread
    qtbot.waitUntil(lambda: scheduler.idle, timeout=20000)
    (result,) = _results(viewer)
    np.testing.assert_array_equal(result.data, plan.compute())
    (slices,) = workers["slices"]
    assert sorted(slices) == [(index,) for index in range(12)]


def test_the_newest_request_wins(qtbot, viewer, stack, workers):
    scheduler = OverlayScheduler(viewer, quick_ms=0)
    plans = [plan_overlay(*stack, alpha=alpha) for alpha in (0.1, 0.3, 0.5, 0.9)]
    for plan in plans:
        scheduler.submit(plan)
    qtbot.waitUntil(lambda: scheduler.idle, timeout=20000)
    # the first was running; of those that waited, only the newest ran
    ran = workers["plans"]
    assert len(ran) == 2 and ran[0] is plans[0] and ran[1] is plans[-1]
    assert len(workers["slices"][0]) < 12  # asked to stop at its next slice
    assert workers["peak"] == 1
    (result,) = _results(viewer)
    assert result.metadata["heatoverlay"]["parameters"]["alpha"] == 0.9
    np.testing.assert_array_equal(result.data, plans[-1].compute())


def test_at_most_one_worker_while_requests_keep_coming(qtbot, viewer, stack, workers):
    scheduler = OverlayScheduler(viewer, quick_ms=0)
    alphas = np.linspace(0.1, 0.9, 9)
    for alpha in alphas:
        scheduler.submit(plan_overlay(*stack, alpha=float(alpha)))
        qtbot.wait(30)  # as a user dragging a slider: events run in between
    qtbot.waitUntil(lambda: scheduler.idle, timeout=30000)
    assert workers["peak"] == 1
    assert len(workers["slices"][-1]) == 12
    assert workers["plans"][-1].options.alpha == pytest.approx(0.9)
    (result,) = _results(viewer)
    np.testing.assert_array_equal(result.data, workers["plans"][-1].compute())


def test_the_shown_slice_comes_first_and_follows_the_slider(
    qtbot, viewer, stack, workers
):
    viewer.dims.set_current_step(0, 4)
    workers["gate"] = threading.Event()
    scheduler = OverlayScheduler(viewer, quick_ms=0)
    plan = plan_overlay(*stack)
    scheduler.submit(plan)
    qtbot.waitUntil(lambda: len(_results(viewer)) == 1, timeout=20000)
    (result,) = _results(viewer)
    assert [i for i in range(12) if result.data[i].any()] == [4]
    viewer.dims.set_current_step(0, 11)  # the user moves on, mid-computation
    workers["gate"].set()
    qtbot.waitUntil(lambda: scheduler.idle, timeout=20000)
    (order,) = workers["slices"]
    assert order[:3] == [(4,), (11,), (0,)]
    np.testing.assert_array_equal(result.data, plan.compute())


def test_removing_a_source_layer_drops_its_work(qtbot, viewer, stack, workers):
    image, heat = stack
    scheduler = OverlayScheduler(viewer, quick_ms=0)
    scheduler.submit(plan_overlay(image, heat, alpha=0.2))
    scheduler.submit(plan_overlay(image, heat, alpha=0.8))  # waits
    viewer.layers.remove(heat)
    qtbot.waitUntil(lambda: scheduler.idle, timeout=20000)
    qtbot.wait(50)
    assert [layer.name for layer in viewer.layers] == ["photo"]
    assert len(workers["plans"]) == 1  # the waiting request never ran
    assert len(workers["slices"][0]) < 12  # the running one stopped early


def test_removing_the_result_layer_drops_work_on_it(qtbot, viewer, stack):
    scheduler = OverlayScheduler(viewer, quick_ms=0)
    scheduler.submit(plan_overlay(*stack))
    qtbot.waitUntil(lambda: len(_results(viewer)) == 1, timeout=20000)
    viewer.layers.remove(_results(viewer)[0])
    qtbot.waitUntil(lambda: scheduler.idle, timeout=20000)
    qtbot.wait(50)
    assert _results(viewer) == []


def test_close_drops_all_work_and_later_requests(qtbot, viewer, stack):
    image, heat = stack
    scheduler = OverlayScheduler(viewer, quick_ms=0)
    scheduler.submit(plan_overlay(image, heat))
    worker = scheduler.worker
    scheduler.close()
    assert scheduler.closed
    qtbot.waitUntil(lambda: scheduler.idle, timeout=20000)
    assert worker.abort_requested
    scheduler.submit(plan_overlay(image, heat))
    qtbot.wait(50)
    assert _results(viewer) == []
    assert scheduler.idle
    viewer.layers.remove(heat)  # no longer watched: nothing to do, no error
    scheduler.close()  # twice is harmless


def test_errors_are_reported_once_until_a_result_shows(viewer):
    image = viewer.add_image(rng.random((40, 60)), name="grey")
    heat = viewer.add_image(rng.random((4, 6)), name="heat")
    scheduler = OverlayScheduler(viewer)
    seen = len(notification_manager.records)
    for _ in range(3):
        scheduler.report(ValueError("choose another layer"))
    messages = [n.message for n in notification_manager.records[seen:]]
    assert messages == ["Heat overlay: choose another layer"]
    scheduler.submit(plan_overlay(image, heat))
    scheduler.report(ValueError("choose another layer"))
    assert len(notification_manager.records) == seen + 2


def test_an_error_in_the_worker_is_reported(qtbot, viewer, stack):
    scheduler = OverlayScheduler(viewer, quick_ms=0)
    seen = len(notification_manager.records)
    # colormap names are looked up when blending, in the worker
    scheduler.submit(plan_overlay(*stack, colormap="no such colormap"))
    qtbot.waitUntil(lambda: scheduler.idle, timeout=20000)
    qtbot.waitUntil(lambda: len(notification_manager.records) > seen)
    assert "no such colormap" in notification_manager.records[-1].message
    assert _results(viewer) == []


def test_the_heatmaps_size_counts_as_work(qtbot, viewer):
    """A small result from a large heatmap is much work: it goes to a worker."""
    image = viewer.add_image(rng.random((64, 64)), name="tiny")
    coarse = viewer.add_image(rng.random((32, 32)), name="coarse")
    fine = viewer.add_image(rng.random((2048, 2048)).astype(np.float32), name="fine")
    scheduler = OverlayScheduler(viewer)
    scheduler.submit(plan_overlay(image, coarse))
    assert scheduler.worker is None  # blended at once
    scheduler.submit(plan_overlay(image, fine))
    assert scheduler.worker is not None
    qtbot.waitUntil(lambda: scheduler.idle, timeout=20000)
