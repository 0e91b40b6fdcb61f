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


FRESH_INSTALL = """\
import os, sys, time
import numpy as np
from napari_heatoverlay import overlay
from napari_heatoverlay.engine import kernels, warmup
image = np.random.default_rng(0).integers(0, 256, (1024, 2048, 3), dtype=np.uint8)
heat = np.random.default_rng(1).normal(size=(16, 32)).astype(np.float32)
first = overlay(image, heat, mode="scaled")
compiling = warmup._thread is not None and warmup._thread.is_alive()
compiled_then = len(kernels.blend_rows.signatures)
warmup.finish()
second = overlay(image, heat, mode="scaled")
print(compiling, compiled_then, len(kernels.blend_rows.signatures))
np.save(sys.argv[1], np.stack([first, second]))
"""


def test_a_fresh_install_blends_at_once_and_compiles_the_kernel_meanwhile(tmp_path):
    """Empty numba cache: the first large overlay does not wait for the kernel
    (13-15 s to compile here); it blends in NumPy, the kernel compiles in a
    background thread, later calls use it, and the next process loads it from
    the cache. The pixels are the same on both paths."""
    cache = tmp_path / "numba-cache"
    env = {
        **os.environ,
        "NUMBA_CACHE_DIR": str(cache),
        "HEATOVERLAY_CACHE_DIR": str(tmp_path / "cache"),
    }
    env.pop("HEATOVERLAY_JIT", None)
    out = tmp_path / "both.npy"

    def run_process() -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", FRESH_INSTALL, str(out)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert run_process() == ["True", "0", "1"]  # compiling; NumPy first
    first, second = np.load(out)
    np.testing.assert_array_equal(first, second)
    assert list(cache.rglob("kernels.blend_rows-*.nbi"))  # cached for next time
    assert run_process() == ["False", "1", "1"]  # loaded from the cache
