"""A read-only install still blends with the kernel (numba's cache falls back)."""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import napari_heatoverlay
from napari_heatoverlay import overlay

SCRIPT = """\
import os, sys
import numpy as np
import napari_heatoverlay
from napari_heatoverlay import overlay
assert napari_heatoverlay.__file__.startswith(sys.argv[1]), napari_heatoverlay.__file__
image = np.random.default_rng(0).integers(0, 256, (64, 80, 3), dtype=np.uint8)
heat = np.random.default_rng(1).normal(size=(8, 10))
np.save(sys.argv[2], overlay(image, heat, mode="scaled", colormap="viridis"))
from napari_heatoverlay.engine import kernels
print(len(kernels.blend_rows.signatures))
"""


def read_only(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        mode = path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        path.chmod(mode)


def test_kernel_runs_from_a_read_only_install_without_a_cache_home(tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) to drop root's write override")
    site = tmp_path / "site"
    shutil.copytree(
        Path(napari_heatoverlay.__file__).parent,
        site / "napari_heatoverlay",
        ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"),
    )
    home = tmp_path / "home"
    home.mkdir()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    read_only(site)
    read_only(home)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("XDG_CACHE_HOME", "HEATOVERLAY_CACHE_DIR", "NUMBA_CACHE_DIR")
    }
    env.update(
        PYTHONPATH=str(site),
        HOME=str(home),
        TMPDIR=str(scratch),
        HEATOVERLAY_JIT="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    probe = subprocess.run(
        ["unshare", "--user", "--map-user=1000", "touch", str(site / "probe")],
        capture_output=True,
        text=True,
        env=env,
    )
    if "Operation not permitted" in probe.stderr or "unshare failed" in probe.stderr:
        pytest.skip(f"user namespaces are not available here: {probe.stderr.strip()}")
    assert probe.returncode != 0, "the copy is writable: the test would prove nothing"

    result_path = scratch / "result.npy"
    done = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-user=1000",
            sys.executable,
            "-c",
            SCRIPT,
            str(site),
            str(result_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=scratch,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"  # the kernel compiled and ran
    assert "cannot cache" not in done.stderr
    image = np.random.default_rng(0).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    heat = np.random.default_rng(1).normal(size=(8, 10))
    expected = overlay(image, heat, mode="scaled", colormap="viridis")
    assert np.array_equal(np.load(result_path), expected)
    assert list(scratch.glob("napari-heatoverlay-numba-*")), "no fallback cache"
    for path in [site, *site.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    home.chmod(home.stat().st_mode | stat.S_IWUSR)
