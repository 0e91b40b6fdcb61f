"""Write docs/images/figure.png, the README's figure, from the sample data.

Run from anywhere: ``python scripts/make_figure.py [OUT.png]``. It draws the
same figure as ``heatoverlay demo --figure OUT.png`` with the options below.
"""

from __future__ import annotations

import sys
from pathlib import Path

from napari_heatoverlay import figure
from napari_heatoverlay.io.images import write_atomic
from napari_heatoverlay.samples import sample as sample_arrays

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "figure.png"
OPTIONS = {"colormap": "jet", "alpha": 0.5, "threshold": 0.3}


def main(output: Path = DEFAULT_OUTPUT) -> Path:
    """Draw the sample figure and write it to `output` (replacing it)."""
    image, heatmap = sample_arrays()
    drawing = figure(image, heatmap, dpi=80, **OPTIONS)
    return write_atomic(
        output, lambda path: drawing.savefig(path, format="png"), force=True
    )


if __name__ == "__main__":
    print(f"wrote {main(*map(Path, sys.argv[1:2]))}")
