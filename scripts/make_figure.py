"""Write the README's figures from the sample data.

Run from anywhere: ``python scripts/make_figure.py [FOLDER]`` (default
``docs/images``). It writes ``figure.png`` (the same figure as ``heatoverlay
demo --figure figure.png --threshold 0.3``) and ``comparison.png`` (three
synthetic attribution maps of the sample compared with ``figure(image,
{...})``, normalised as captum does).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

from napari_heatoverlay import figure, sample
from napari_heatoverlay.io.outputs import write_atomic

DEFAULT_FOLDER = Path(__file__).resolve().parents[1] / "docs" / "images"


def comparison_maps(cam: np.ndarray) -> dict[str, np.ndarray]:
    """Three maps that look like attribution methods: smooth, noisy, blocky."""
    rng = np.random.default_rng(7)
    noisy = cam + rng.normal(scale=2.0, size=cam.shape)
    blocky = ndimage.zoom(ndimage.zoom(cam, 0.25, order=1), 4, order=0)
    return {
        "Grad-CAM-like (the sample map)": cam,
        "Gradient-like (map + noise)": noisy,
        "Occlusion-like (4x coarser)": blocky[: cam.shape[0], : cam.shape[1]],
    }


def main(folder: Path = DEFAULT_FOLDER) -> list[Path]:
    """Draw both figures into `folder` (replacing them)."""
    image, cam = sample()
    drawings = {
        "figure.png": figure(image, cam, dpi=80, colormap="jet", threshold=0.3),
        "comparison.png": figure(
            image,
            comparison_maps(cam),
            dpi=60,
            norm="cumulative",
            sign="positive",
            colormap="inferno",
            mode="scaled",
            alpha=0.9,
        ),
    }
    return [
        write_atomic(
            folder / name,
            lambda path, drawing=drawing: drawing.savefig(path, format="png"),
            force=True,
        )
        for name, drawing in drawings.items()
    ]


if __name__ == "__main__":
    for path in main(*map(Path, sys.argv[1:2])):
        print(f"wrote {path}")
