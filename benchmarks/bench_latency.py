"""Interactive latency of the live "Heat overlay" widget in a real viewer.

Measured side by side in one run, under Xvfb (``xvfb-run -a python
benchmarks/bench_latency.py``):

- floor: napari itself, setting new data of the same size on an RGB layer
  and processing events until the canvas has drawn it;
- control: a live-mode control change (alpha, threshold, colormap in turn)
  on a 2048 x 2048 RGB image until the result layer shows the new data;
- preview: with ``preview`` on, a control change (alpha, threshold,
  colormap in turn) until the canvas has drawn the restyled heatmap layer,
  against napari redrawing the same two layers after the heatmap layer's
  property that control sets is changed directly (opacity; colormap;
  colormap), the two interleaved round by round;
- slider: moving the dims slider over a (16, 2048, 2048, 3) stack, plain
  image layer versus the overlay result layer (lazy: napari computes the slice);
- slide: new views of a procedural 100,000 x 100,000 pyramid, the plain
  pyramid layer versus the overlay pyramid layer (napari loads the tiles of
  the level it shows).

Each row prints p50 and p95 in milliseconds and the ratio to its baseline.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

import numpy as np


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1e3, p95 * 1e3


def wait_until(app, done: Callable[[], bool], timeout: float = 10.0) -> None:
    """Process Qt events until ``done()``; then once more so the canvas draws."""
    deadline = time.perf_counter() + timeout
    while not done():
        app.processEvents()
        if time.perf_counter() > deadline:
            raise TimeoutError("the viewer did not update in time")
    app.processEvents()


def report(name: str, samples: list[float], baseline: list[float] | None) -> None:
    p50, p95 = percentiles(samples)
    line = f"{name:<44}p50 {p50:7.1f} ms   p95 {p95:7.1f} ms"
    if baseline is not None:
        b50, b95 = percentiles(baseline)
        line += f"   ratio p50 {p50 / b50:4.2f}  p95 {p95 / b95:4.2f}"
    print(line, flush=True)


class DrawCounter:
    """Counts the canvas's finished draws (the frames that reach the screen)."""

    def __init__(self, viewer) -> None:
        self.draws = 0
        canvas = viewer.window._qt_viewer.canvas._scene_canvas
        canvas.events.draw.connect(self._count, position="last")

    def _count(self, _event) -> None:
        self.draws += 1


def time_to_screen(app, draws: DrawCounter, change: Callable[[], None]) -> float:
    """Seconds from `change()` until the canvas has drawn a frame after it."""
    before = draws.draws
    start = time.perf_counter()
    change()
    wait_until(app, lambda: draws.draws > before)
    return time.perf_counter() - start


def preview_and_property(viewer, app, rounds: int) -> None:
    from napari_heatoverlay.plugin.widget import HeatOverlayWidget

    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (2048, 2048, 3), dtype=np.uint8)
    rows, cols = np.mgrid[:64, :64] / 64
    heat = (np.sin(5 * rows) * np.cos(3 * cols)).astype(np.float32)
    image_layer = viewer.add_image(image, name="image", rgb=True)
    heat_layer = viewer.add_image(
        heat, name="heat", metadata={"heatoverlay": {"role": "heatmap"}}
    )
    widget = HeatOverlayWidget(viewer)  # aligns the heatmap, previews it
    dock = viewer.window.add_dock_widget(widget)
    widget.reset_to_defaults()
    widget.image.value, widget.heatmap.value = image_layer, heat_layer
    assert widget.preview_status.value.startswith("napari draws"), (
        widget.preview_status.value
    )
    viewer.reset_view()
    draws = DrawCounter(viewer)
    wait_until(app, lambda: True)
    controls = [
        lambda i: setattr(widget.alpha, "value", 0.3 + 0.4 * (i % 2)),
        lambda i: setattr(widget.threshold, "value", 0.1 * (i % 2)),
        lambda i: setattr(widget.colormap, "value", ("jet", "magma")[i % 2]),
    ]
    # the property napari itself changes for each control: opacity for
    # alpha; the colormap for threshold and colormap
    properties = [
        lambda i: setattr(heat_layer, "opacity", 0.3 + 0.4 * (i % 2)),
        lambda i: setattr(heat_layer, "colormap", ("viridis", "magma")[i % 2]),
        lambda i: setattr(heat_layer, "colormap", ("inferno", "turbo")[i % 2]),
    ]
    preview, floor = [], []
    for round_ in range(rounds):
        # side by side: the widget's restyle, then napari's own property change
        control = controls[round_ % len(controls)]
        prop = properties[round_ % len(properties)]
        preview.append(time_to_screen(app, draws, partial(control, round_)))
        floor.append(time_to_screen(app, draws, partial(prop, round_)))
    assert not [layer for layer in viewer.layers if layer.name.endswith("over image")]
    report("floor: napari redraws a layer property", floor, None)
    report("preview control change (no pixels computed)", preview, floor)
    p50 = percentiles(preview)[0] / percentiles(floor)[0]
    print(f"preview / property p50 ratio: {p50:.2f} (must be <= 1.2)", flush=True)
    widget.preview.value = False
    viewer.window.remove_dock_widget(dock)
    viewer.layers.clear()


def floor_and_control(viewer, app, rounds: int) -> None:
    from napari_heatoverlay.plugin.widget import HeatOverlayWidget

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (2048, 2048, 3), dtype=np.uint8)
    rows, cols = np.mgrid[:64, :64] / 64
    heat = (np.sin(5 * rows) * np.cos(3 * cols)).astype(np.float32)
    image_layer = viewer.add_image(image, name="image", rgb=True)
    viewer.add_image(heat, name="heat", metadata={"heatoverlay": {"role": "heatmap"}})
    widget = HeatOverlayWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.image.value = image_layer
    widget.heatmap.value = viewer.layers["heat"]
    widget()
    wait_until(app, lambda: len(viewer.layers) == 3)
    result = viewer.layers[-1]
    widget.live.value = True

    # the floor: napari showing new data of the same size on a layer
    frames = [rng.integers(0, 256, image.shape, dtype=np.uint8) for _ in range(4)]
    floor = []
    for round_ in range(rounds):
        start = time.perf_counter()
        result.data = frames[round_ % 4]
        wait_until(app, lambda: True)
        floor.append(time.perf_counter() - start)

    changes = [
        ("alpha", lambda i: setattr(widget.alpha, "value", 0.3 + 0.4 * (i % 2))),
        ("threshold", lambda i: setattr(widget.threshold, "value", 0.1 * (i % 2))),
        (
            "colormap",
            lambda i: setattr(widget.colormap, "value", ("jet", "magma")[i % 2]),
        ),
    ]
    control = []
    for round_ in range(rounds):
        _, change = changes[round_ % len(changes)]
        before = result.data
        start = time.perf_counter()
        change(round_)
        wait_until(app, lambda before=before: result.data is not before)
        control.append(time.perf_counter() - start)
    report("floor: set 2048x2048 RGB data on a layer", floor, None)
    report("live control change, 2048x2048 RGB", control, floor)
    widget.live.value = False
    viewer.layers.clear()


def slider(viewer, app, rounds: int) -> None:
    import dask.array as da

    from napari_heatoverlay import add_overlay

    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (2048, 2048, 3), dtype=np.uint8)
    stack = da.stack([da.from_array(np.roll(frame, 64 * t, axis=1)) for t in range(16)])
    heat = rng.random((16, 64, 64)).astype(np.float32)
    plain = viewer.add_image(stack, name="stack", rgb=True)
    heat_layer = viewer.add_image(heat, name="heat")
    result = add_overlay(viewer, plain, heat_layer)
    heat_layer.visible = False
    steps = rng.integers(0, 16, rounds)
    timings = {}
    for name, shown in (("plain", plain), ("overlay", result)):
        plain.visible = shown is plain
        result.visible = shown is result
        samples = []
        for step in steps:
            start = time.perf_counter()
            viewer.dims.set_current_step(0, int(step))
            wait_until(app, lambda: True)
            samples.append(time.perf_counter() - start)
        timings[name] = samples
    report("slider move, plain (16, 2048, 2048, 3) stack", timings["plain"], None)
    report("slider move, overlay result (lazy)", timings["overlay"], timings["plain"])
    viewer.layers.clear()


def slide(viewer, app, rounds: int) -> None:
    import dask.array as da

    from napari_heatoverlay import add_overlay

    def texture(block, block_info=None):
        (y0, _), (x0, _), _ = block_info[None]["array-location"]
        rows = np.arange(y0, y0 + block.shape[0])[:, None] // 64
        cols = np.arange(x0, x0 + block.shape[1])[None, :] // 64
        grey = ((rows + cols) % 2 * 120 + 60).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)

    pyramid = [
        da.zeros(
            (-(-100_000 // 2**k),) * 2 + (3,), dtype=np.uint8, chunks=(1024, 1024, 3)
        ).map_blocks(texture, dtype=np.uint8)
        for k in range(8)
    ]
    heat = np.random.default_rng(2).random((2048, 2048)).astype(np.float32)
    plain = viewer.add_image(pyramid, name="slide", rgb=True, multiscale=True)
    heat_layer = viewer.add_image(heat, name="heat")
    result = add_overlay(viewer, plain, heat_layer)
    heat_layer.visible = False
    rng = np.random.default_rng(3)
    views = [
        (float(rng.uniform(5_000, 95_000)), float(rng.uniform(5_000, 95_000)), float(z))
        for z in rng.choice([0.01, 0.05, 0.2, 1.0], rounds)
    ]
    timings = {}
    for name, shown in (("plain", plain), ("overlay", result)):
        plain.visible = shown is plain
        result.visible = shown is result
        samples = []
        for y, x, zoom in views:
            start = time.perf_counter()
            viewer.camera.center = (y, x)
            viewer.camera.zoom = zoom
            wait_until(app, lambda: True)
            samples.append(time.perf_counter() - start)
        timings[name] = samples
    report("new view of a 100k x 100k slide, plain", timings["plain"], None)
    report(
        "new view of the slide, overlay pyramid", timings["overlay"], timings["plain"]
    )
    viewer.layers.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument(
        "--only-preview", action="store_true", help="run the preview row alone"
    )
    args = parser.parse_args()

    import napari
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1400, 1000)
    app = QApplication.instance()
    preview_and_property(viewer, app, args.rounds)
    if args.only_preview:
        viewer.close()
        return
    floor_and_control(viewer, app, args.rounds)
    slider(viewer, app, args.rounds)
    slide(viewer, app, max(10, args.rounds // 3))
    viewer.close()


if __name__ == "__main__":
    main()
