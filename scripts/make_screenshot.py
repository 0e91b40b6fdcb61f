"""Write docs/images/viewer.png, the README's screenshot of the plugin at work.

Needs a display; on a headless machine run it under Xvfb::

    xvfb-run -a python scripts/make_screenshot.py [OUT.png]

It opens napari, loads the sample, docks "Heat overlay" (which previews the
blend on the heatmap layer at once), asks for the iso-lines at 0.5 and
0.8 (a Shapes layer), presses Apply and saves the whole window, widget
included.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import imageio.v3 as iio
import napari
from qtpy.QtWidgets import QApplication

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "viewer.png"
WINDOW_SIZE = (1200, 680)  # width, height in pixels
TIMEOUT = 60.0  # seconds to wait for the overlay


def _wait_for(condition, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the overlay did not appear; see the napari log")
        QApplication.processEvents()
        time.sleep(0.01)


def _is_overlay(layer: napari.layers.Layer) -> bool:
    return layer.metadata.get("heatoverlay", {}).get("role") == "overlay"


def main(output: Path = DEFAULT_OUTPUT) -> Path:
    """Make the screenshot and write it to `output` (replacing it)."""
    viewer = napari.Viewer(title="napari-heatoverlay")
    viewer.window.resize(*WINDOW_SIZE)
    viewer.open_sample("napari-heatoverlay", "coffee_heatmap")
    _, widget = viewer.window.add_plugin_dock_widget(
        "napari-heatoverlay", "Heat overlay"
    )
    widget.persist = False  # the screenshot's values are not the user's settings
    widget.reset_to_defaults()
    # cold regions stay clear, hot ones glow
    widget.apply_options(mode="scaled", alpha=0.8)
    widget.contours.value = "0.5, 0.8"
    widget.call_button.clicked()
    _wait_for(lambda: any(_is_overlay(layer) for layer in viewer.layers))
    viewer.reset_view()
    for _ in range(20):  # let the canvas and the dock settle
        QApplication.processEvents()
        time.sleep(0.02)
    pixels = viewer.screenshot(canvas_only=False)[..., :3]  # alpha is all opaque
    viewer.close()
    output.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(output, pixels)
    return output


if __name__ == "__main__":
    print(f"wrote {main(*map(Path, sys.argv[1:2]))}")
