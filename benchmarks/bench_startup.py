"""Whole-process start-up: what a user waits for, import and JIT included.

Every case is a fresh process, timed with its peak resident memory (from
``wait4``). Cases that are compared run paired and interleaved round by
round, so their ratio holds on a noisy machine. Run::

    python benchmarks/bench_startup.py              # 5 rounds
    python benchmarks/bench_startup.py --rounds 9

Rows:

* ``heatoverlay --help`` against ``python -c "import numpy"``;
* one overlay from the command line (512 x 512 PNG, 14 x 14 ``.npy``, to PNG)
  against a 10-line OpenCV script doing the same resize, colormap, blend and
  PNG write (needs ``opencv-python-headless``);
* ``import napari_heatoverlay; overlay(...)`` on 512 x 512 in a fresh process
  with warm caches (absolute);
* the first call after a fresh install (empty numba and colormap caches) on
  512 x 512 and on 4096 x 4096 (absolute; the 4096 case compiles the kernel).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OPENCV_SCRIPT = """\
import cv2, numpy as np
image = cv2.imread("astronaut.png")
cam = np.load("cam.npy")
cam = cv2.resize(cam, image.shape[1::-1], interpolation=cv2.INTER_LINEAR)
cam = (cam - cam.min()) / (cam.max() - cam.min())
heat = cv2.applyColorMap(np.uint8(255 * cam), cv2.COLORMAP_JET)
out = cv2.addWeighted(image, 0.5, heat, 0.5, 0)
cv2.imwrite("opencv.png", out)
"""

LIBRARY_SCRIPT = """\
import sys, time
import numpy as np
from napari_heatoverlay import overlay
size = int(sys.argv[1])
image = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
overlay(image, np.random.default_rng(1).random((14, 14)))
print(time.time())  # the result is there (a cold kernel may still compile)
"""


#: GNU time reports a child's own peak memory; ``wait4`` from this process
#: would not (on Linux a child's peak starts at its parent's size).
GNU_TIME = shutil.which("time", path="/usr/bin")


def run(
    command: list[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[float, float]:
    """Wall time (s) and peak resident memory (MiB, NaN without GNU time)."""
    elapsed, _, peak = run_until_result(command, cwd, env)
    return elapsed, peak


def run_until_result(
    command: list[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[float, float, float]:
    """Wall time to exit (s), to the result the child prints as ``time.time()``
    (s; NaN if it prints none), and peak resident memory (MiB)."""
    measured = [GNU_TIME, "-f", "%M", *command] if GNU_TIME else command
    start, wall_start = time.perf_counter(), time.time()
    done = subprocess.run(measured, cwd=cwd, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    printed = done.stdout.split()
    try:
        result = float(printed[-1]) - wall_start
    except (IndexError, ValueError):
        result = float("nan")
    if done.returncode != 0:
        raise RuntimeError(f"{command} failed: {done.stderr.decode()}")
    peak = float(done.stderr.split()[-1]) / 1024 if GNU_TIME else float("nan")
    return elapsed, result, peak


def heatoverlay_command() -> list[str]:
    script = shutil.which("heatoverlay", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "napari_heatoverlay"]


def make_files(folder: Path) -> None:
    import imageio.v3 as iio
    import numpy as np
    from skimage import data

    iio.imwrite(folder / "astronaut.png", data.astronaut())
    cam = np.random.default_rng(0).random((14, 14)).astype(np.float32)
    np.save(folder / "cam.npy", cam)
    (folder / "opencv.py").write_text(OPENCV_SCRIPT)
    (folder / "library.py").write_text(LIBRARY_SCRIPT)


def paired(
    name: str,
    ours: list[str],
    baseline: list[str],
    folder: Path,
    rounds: int,
    before=None,
) -> None:
    times: dict[str, list[float]] = {"ours": [], "base": []}
    memory: dict[str, list[float]] = {"ours": [], "base": []}
    for _ in range(rounds):
        for key, command in (("base", baseline), ("ours", ours)):
            if before is not None:
                before()
            elapsed, peak = run(command, folder)
            times[key].append(elapsed)
            memory[key].append(peak)
    ours_t, base_t = statistics.median(times["ours"]), statistics.median(times["base"])
    ours_m, base_m = (
        statistics.median(memory["ours"]),
        statistics.median(memory["base"]),
    )
    print(
        f"{name:<44} {ours_t * 1000:7.0f} ms {base_t * 1000:7.0f} ms "
        f"{ours_t / base_t:6.2f}x   {ours_m:6.0f} MiB {base_m:6.0f} MiB "
        f"{ours_m / base_m:5.2f}x"
    )


def alone(
    name: str, command: list[str], folder: Path, rounds: int, env_for=None
) -> None:
    times, memory = [], []
    for _ in range(rounds):
        env = env_for() if env_for is not None else None
        elapsed, peak = run(command, folder, env)
        times.append(elapsed)
        memory.append(peak)
    print(
        f"{name:<44} {statistics.median(times) * 1000:7.0f} ms "
        f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})   "
        f"{statistics.median(memory):6.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    folder = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    make_files(folder)
    python = sys.executable
    command = heatoverlay_command()
    print(f"{rounds} rounds, medians; ratios are ours / baseline\n")
    print(f"{'case':<44} {'ours':>10} {'baseline':>10} {'ratio':>7}   {'peak RSS':>20}")
    paired(
        "--help vs python -c 'import numpy'",
        [*command, "--help"],
        [python, "-c", "import numpy"],
        folder,
        rounds,
    )
    try:
        import cv2  # noqa: F401
    except ImportError:
        print("one overlay, CLI vs OpenCV script: skipped (no opencv-python-headless)")
    else:
        paired(
            "one overlay 512^2 to PNG, CLI vs OpenCV script",
            [*command, "astronaut.png", "cam.npy", "-o", "ours.png", "--force"],
            [python, "opencv.py"],
            folder,
            rounds,
        )
    print()
    alone(
        "import + overlay() 512^2, warm caches",
        [python, "library.py", "512"],
        folder,
        rounds,
    )

    def cold_env() -> dict[str, str]:
        empty = tempfile.mkdtemp(prefix="cold-cache-", dir=folder)
        return {**os.environ, "NUMBA_CACHE_DIR": empty, "HEATOVERLAY_CACHE_DIR": empty}

    alone(
        "first overlay() 512^2, cold caches",
        [python, "library.py", "512"],
        folder,
        rounds,
        cold_env,
    )
    exits, results = [], []
    for _ in range(max(2, rounds // 2)):
        elapsed, result, _ = run_until_result(
            [python, "library.py", "4096"], folder, cold_env()
        )
        exits.append(elapsed)
        results.append(result)
    print(
        f"{'first overlay() 4096^2, cold caches (JIT)':<44} "
        f"{statistics.median(results) * 1000:7.0f} ms to the result, "
        f"{statistics.median(exits) * 1000:.0f} ms to exit (the kernel compiles)"
    )
    alone(
        "import + overlay() 4096^2, warm caches",
        [python, "library.py", "4096"],
        folder,
        rounds,
    )
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
