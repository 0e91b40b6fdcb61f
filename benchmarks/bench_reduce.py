"""A heatmap much larger than the image: overlay() against scikit-image.

The map is reduced with anti-aliasing; overlay() composes the Gaussian and
the interpolation into one banded matrix per axis, so its cost grows with
the map's size only. The baseline is what the engine did before (and what
scikit-image does): a full Gaussian filter of the map, then interpolation.
Both run interleaved in this process. Run::

    python benchmarks/bench_reduce.py               # 8192^2 map over 64^2
    python benchmarks/bench_reduce.py --map 4096 --image 256
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from skimage.transform import resize

from napari_heatoverlay import overlay


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", type=int, default=8192)
    parser.add_argument("--image", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    heat = rng.random((args.map, args.map)).astype(np.float32)
    image = rng.integers(0, 256, (args.image, args.image, 3), dtype=np.uint8)
    ours, baseline = [], []
    for _ in range(args.rounds):
        start = time.perf_counter()
        overlay(image, heat)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        resize(heat, image.shape[:2], order=1, mode="edge", anti_aliasing=True)
        baseline.append(time.perf_counter() - start)
    mine, theirs = statistics.median(ours), statistics.median(baseline)
    print(f"{args.map}^2 map over a {args.image}^2 image, median of {args.rounds}:")
    print(f"  overlay()                      {mine:8.3f} s")
    print(f"  skimage resize(anti_aliasing)  {theirs:8.3f} s  (the resize alone)")
    print(f"  ratio overlay / skimage        {mine / theirs:8.3f}")


if __name__ == "__main__":
    main()
