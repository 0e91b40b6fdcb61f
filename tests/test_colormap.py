"""Colormap tables: matplotlib-exact, and cached so later processes skip matplotlib."""

import subprocess
import sys

import matplotlib
import numpy as np
import pytest

from napari_heatoverlay.engine import colormap
from napari_heatoverlay.engine.colormap import colormap_lut


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HEATOVERLAY_CACHE_DIR", str(tmp_path))
    colormap._named_lut.cache_clear()
    yield tmp_path
    colormap._named_lut.cache_clear()


def matplotlib_table(name):
    cmap = matplotlib.colormaps[name]
    rgba = np.asarray(cmap(np.arange(cmap.N)), dtype=np.float64)
    return (rgba[:, :3] * 255.0).astype(np.float32)


@pytest.mark.parametrize("name", ["jet", "viridis", "inferno_r", "RdBu_r", "tab10"])
def test_cached_table_equals_matplotlibs(fresh_cache, name):
    made = colormap_lut(name)
    [stored] = fresh_cache.rglob(f"{name}.npy")
    colormap._named_lut.cache_clear()
    loaded = colormap_lut(name)
    assert np.array_equal(made, matplotlib_table(name))
    assert np.array_equal(loaded, made)
    assert np.array_equal(np.load(stored), made)
    assert not loaded.flags.writeable


def test_a_damaged_cache_file_is_made_again(fresh_cache):
    colormap_lut("magma")
    [stored] = fresh_cache.rglob("magma.npy")
    stored.write_bytes(b"\x93NUMPY garbage")
    colormap._named_lut.cache_clear()
    assert np.array_equal(colormap_lut("magma"), matplotlib_table("magma"))


def test_registered_colormaps_are_not_cached(fresh_cache):
    from matplotlib.colors import ListedColormap

    name = "heatoverlay-test-map"
    if name not in matplotlib.colormaps:
        matplotlib.colormaps.register(ListedColormap([[0, 0, 0], [1, 0, 0]], name=name))
    assert colormap_lut(name).shape == (2, 3)
    assert not list(fresh_cache.rglob("*test-map*"))


def test_a_warm_cache_spares_the_matplotlib_import(fresh_cache):
    code = (
        "import sys, numpy as np\n"
        "from napari_heatoverlay import overlay\n"
        "overlay(np.zeros((8, 8, 3), np.uint8), np.ones((2, 2)), colormap='turbo')\n"
        "print('matplotlib' in sys.modules)\n"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    second = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert first.stdout.strip() == "True", first.stderr
    assert second.stdout.strip() == "False", second.stderr
