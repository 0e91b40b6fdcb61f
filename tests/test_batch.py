"""Batches and long writes under signals and a full disk, as real processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

COMMAND = [sys.executable, "-m", "napari_heatoverlay"]


def make_batch(tmp_path: Path, count: int, side: int = 384) -> tuple[Path, Path]:
    images, heatmaps = tmp_path / "images", tmp_path / "heatmaps"
    images.mkdir()
    heatmaps.mkdir()
    rng = np.random.default_rng(0)
    picture = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
    for number in range(count):
        iio.imwrite(images / f"p{number:03d}.png", np.roll(picture, number, axis=0))
        np.save(heatmaps / f"p{number:03d}.npy", rng.normal(size=(12, 12)))
    return images, heatmaps


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("how", "status"),
    [("ctrl-c", 130), ("sigterm", 143)],
)
def test_a_signal_stops_the_batch_and_its_workers_and_leaves_no_temporaries(
    tmp_path, how, status
):
    images, heatmaps = make_batch(tmp_path, 60)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [*COMMAND, images, heatmaps, "-o", out, "-j", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    wait_for(lambda: out.is_dir() and any(out.glob("p*.png")), timeout=60)
    workers = children_of(process.pid)
    assert workers, "the batch should run in worker processes"
    sent = time.monotonic()
    if how == "ctrl-c":  # a terminal sends SIGINT to the whole process group
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=10)
    assert time.monotonic() - sent < 5, "the command took too long to stop"
    assert process.returncode == status, stderr
    assert "Traceback" not in stderr
    wait_for(lambda: not any(alive(pid) for pid in workers), timeout=5)
    written = sorted(out.iterdir())
    assert all(not path.name.startswith(".") for path in written), written
    assert len(written) < 60, "the batch went on after the signal"
    for path in written:
        assert iio.imread(path).shape == (384, 384, 3)


def test_sigterm_during_a_zarr_write_leaves_nothing(tmp_path):
    zarr = pytest.importorskip("zarr")
    image = zarr.open_array(
        str(tmp_path / "big.zarr"),
        mode="w",
        shape=(8192, 8192, 3),
        chunks=(512, 512, 3),
        dtype=np.uint8,
    )
    rng = np.random.default_rng(1)
    for row in range(0, 8192, 2048):
        image[row : row + 2048] = rng.integers(0, 256, (2048, 8192, 3), dtype=np.uint8)
    np.save(tmp_path / "heat.npy", rng.normal(size=(32, 32)))
    process = subprocess.Popen(
        [
            *COMMAND,
            tmp_path / "big.zarr",
            tmp_path / "heat.npy",
            "-o",
            tmp_path / "out.zarr",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: any(tmp_path.glob(".out.*.part.zarr")), timeout=60)
    time.sleep(0.5)
    assert process.poll() is None, "the write ended before the signal"
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=10)
    assert time.monotonic() - sent < 5
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["big.zarr", "heat.npy"]


def test_a_full_disk_ends_in_one_line_and_leaves_nothing(tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) to mount a small file system")
    rng = np.random.default_rng(2)
    iio.imwrite(
        tmp_path / "photo.png", rng.integers(0, 256, (512, 512, 3), dtype=np.uint8)
    )
    np.save(tmp_path / "heat.npy", rng.normal(size=(14, 14)))
    small = tmp_path / "small"
    small.mkdir()
    python = " ".join(map(str, COMMAND))
    script = f"""
mount -t tmpfs -o size=64k none {small} || exit 77
{python} {tmp_path}/photo.png {tmp_path}/heat.npy -o {small}/out.png; echo "png=$?"
{python} {tmp_path}/photo.png {tmp_path}/heat.npy --figure {small}/fig.pdf; echo "pdf=$?"
{python} {tmp_path}/photo.png {tmp_path}/heat.npy -o {small}/out.zarr; echo "zarr=$?"
echo "left=$(ls -A {small} | wc -l)"
"""
    done = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode == 77 or "Operation not permitted" in done.stderr:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.strip()}")
    assert done.stdout.split() == ["png=1", "pdf=1", "zarr=1", "left=0"], done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 3, done.stderr
    for line in lines:
        assert line.startswith("heatoverlay: error: cannot write"), line
        assert "disk is full" in line
