"""Peak resident memory and time for the two large cases of the scale issue.

Each case runs in a fresh child process and reports that process's peak
resident set (``ru_maxrss``), imports included.

- slide: a procedural 100,000 x 100,000 RGB pyramid (7 levels, 1024-pixel
  chunks, generated on demand, never stored) with a 2048 x 2048 heatmap. It
  builds the lazy overlay, then computes 40 random 1024 x 1024 views spread
  over the levels (what panning and zooming asks for) of the plain image and
  of the overlay, and one whole coarse level.
- volume: a (512, 2048, 2048) dask volume with a coarse (32, 64, 64) 3-D map
  (``spatial_dims=3``): build the graph, then compute z slices.
- movie: a procedural (2000, 1024, 1024, 3) movie with a (2000, 64, 64) map.
  It scrubs 100 random frames (the dims slider), then streams every frame of
  the plain movie and of the overlay to zarr stores with ``write_zarr``.

The plain-image rows are the baseline: the same reads without the overlay.

Run::

    python benchmarks/bench_scale.py            # every case
    python benchmarks/bench_scale.py --frames 300
    python benchmarks/bench_scale.py --case volume
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap

SLIDE = """
import numpy as np, dask.array as da
from napari_heatoverlay import overlay

def texture(block, block_info=None):
    (y0, _), (x0, _), _ = block_info[None]["array-location"]
    rows = np.arange(y0, y0 + block.shape[0])[:, None] // 64
    cols = np.arange(x0, x0 + block.shape[1])[None, :] // 64
    grey = ((rows + cols) % 2 * 120 + 60).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)

side = 100_000
pyramid = [
    da.zeros((-(-side // 2**k),) * 2 + (3,), dtype=np.uint8, chunks=(1024, 1024, 3))
    .map_blocks(texture, dtype=np.uint8)
    for k in range(7)
]
heat = np.random.default_rng(0).random((2048, 2048)).astype(np.float32)
start = time.perf_counter()
result = overlay(pyramid, heat)
timings["build the lazy overlay (s)"] = time.perf_counter() - start
rng = np.random.default_rng(1)
views = []
for _ in range(40):
    level = int(rng.integers(0, 7))
    y, x = (int(rng.integers(0, max(1, s - 1024))) for s in pyramid[level].shape[:2])
    views.append((level, slice(y, y + 1024), slice(x, x + 1024)))
for name, levels in (("plain image", pyramid), ("overlay", result)):
    start = time.perf_counter()
    for level, rows, cols in views:
        levels[level][rows, cols].compute()
    timings[f"40 random 1024x1024 views, {name} (s)"] = time.perf_counter() - start
start = time.perf_counter()
result[5].compute()
timings["whole level 5, 3125x3125 (s)"] = time.perf_counter() - start
"""

MOVIE = """
import numpy as np, dask.array as da, tempfile, os
from napari_heatoverlay import overlay
from napari_heatoverlay import write_zarr

def frame(block, block_info=None):
    t = block_info[None]["chunk-location"][0]
    rows = np.arange(block.shape[1])[:, None]
    cols = np.arange(block.shape[2])[None, :]
    grey = ((rows + cols + 8 * t) % 256).astype(np.uint8)
    return np.repeat(grey[None, ..., None], 3, axis=-1)

frames = FRAMES
movie = da.zeros((frames, 1024, 1024, 3), dtype=np.uint8, chunks=(1, 1024, 1024, 3))
movie = movie.map_blocks(frame, dtype=np.uint8)
maps = np.random.default_rng(0).random((frames, 64, 64)).astype(np.float32)
start = time.perf_counter()
result = overlay(movie, maps)
timings["build the lazy overlay (s)"] = time.perf_counter() - start
rng = np.random.default_rng(1)
start = time.perf_counter()
for index in rng.integers(0, frames, 100):
    result[int(index)].compute()
timings["100 random frames (s)"] = time.perf_counter() - start
for name, lazy in (("plain movie", movie), ("overlay", result)):
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        write_zarr(lazy, os.path.join(folder, "movie.zarr"), progress=False)
        timings[f"write all {frames} frames to zarr, {name} (s)"] = (
            time.perf_counter() - start
        )
"""

VOLUME = """
import numpy as np, dask.array as da
from napari_heatoverlay import overlay

volume = da.zeros((512, 2048, 2048), dtype=np.uint8, chunks=(1, 2048, 2048))
heat = np.random.default_rng(0).random((32, 64, 64)).astype(np.float32)
start = time.perf_counter()
result = overlay(volume, heat, spatial_dims=3)
timings["build the lazy overlay (s)"] = time.perf_counter() - start
start = time.perf_counter()
result[300].compute()
timings["first z slice, 2048x2048, kernel load included (s)"] = time.perf_counter() - start
rng = np.random.default_rng(1)
start = time.perf_counter()
for index in rng.integers(0, 512, 20):
    result[int(index)].compute()
timings["20 random z slices after that (s)"] = time.perf_counter() - start
"""

HARNESS = """
import json, resource, time
timings = {{}}
{body}
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"peak": peak, "timings": timings}}))
"""


def run_case(body: str) -> dict:
    code = HARNESS.format(body=textwrap.dedent(body))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument(
        "--case", choices=("slide", "volume", "movie"), help="run one case only"
    )
    args = parser.parse_args()
    cases = {
        "slide 100k x 100k + 2k heatmap": SLIDE,
        "volume (512, 2048, 2048) + (32, 64, 64) map": VOLUME,
        f"movie ({args.frames}, 1024, 1024, 3) + ({args.frames}, 64, 64) map": (
            MOVIE.replace("FRAMES", str(args.frames))
        ),
    }
    for name, body in cases.items():
        if args.case and not name.startswith(args.case):
            continue
        report = run_case(body)
        print(f"{name}: peak resident memory {report['peak'] / 2**30:.2f} GiB")
        for step, seconds in report["timings"].items():
            print(f"    {step}: {seconds:.2f}")


if __name__ == "__main__":
    main()
