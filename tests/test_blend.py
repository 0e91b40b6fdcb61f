"""The NumPy pass (small work) and the numba kernel give identical pixels.

The engine tests compare the default path (NumPy, at their sizes) with the
float64 reference; these pin the kernel to it, pixel for pixel.
"""

import numpy as np
import pytest

from napari_heatoverlay import overlay
from napari_heatoverlay.engine import blend

MODES = ["alpha", "gray", "multiply", "scaled", "additive", "tint"]
rng = np.random.default_rng(11)


def both_paths(monkeypatch, *args, **kwargs):
    results = []
    for forced in ("0", "1"):
        monkeypatch.setenv("HEATOVERLAY_JIT", forced)
        results.append(overlay(*args, **kwargs))
    return results


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("interpolation", ["nearest", "linear", "cubic"])
def test_numpy_and_kernel_agree_exactly(monkeypatch, mode, interpolation):
    image = rng.integers(0, 256, (150, 203, 3), dtype=np.uint8)
    heat = rng.normal(size=(2, 9, 13))
    heat[0, 2, 3] = np.nan
    numpy_result, kernel_result = both_paths(
        monkeypatch,
        image,
        heat,
        mode=mode,
        alpha=0.63,
        threshold=0.3,
        interpolation=interpolation,
        colormap="turbo",
    )
    assert np.array_equal(numpy_result, kernel_result)


@pytest.mark.parametrize(
    "image",
    [
        rng.integers(0, 4096, (70, 90), dtype=np.uint16),
        rng.normal(size=(70, 90, 3)).astype(np.float32),
        rng.random((70, 90, 4)),
        rng.integers(-50, 50, (70, 90), dtype=np.int8),
        rng.random((70, 90)) > 0.5,
    ],
    ids=["uint16", "float32", "rgba-float64", "int8", "bool"],
)
def test_every_image_dtype_agrees(monkeypatch, image):
    heat = rng.normal(size=(7, 9)).astype(np.float32)
    numpy_result, kernel_result = both_paths(monkeypatch, image, heat, mode="scaled")
    assert np.array_equal(numpy_result, kernel_result)


def test_the_path_follows_the_size(monkeypatch):
    monkeypatch.delenv("HEATOVERLAY_JIT", raising=False)
    monkeypatch.delitem(
        __import__("sys").modules, "napari_heatoverlay.engine.kernels", raising=False
    )
    assert not blend.use_kernel(512 * 512)
    assert blend.use_kernel(4096 * 4096)


@pytest.mark.parametrize("mode", MODES)
def test_random_alphas_and_maps_agree(monkeypatch, mode):
    """Each formula's float32/float64 steps must match the kernel's, bit for bit."""
    for seed in range(12):
        local = np.random.default_rng(seed)
        image = local.integers(0, 256, (40, 56, 3), dtype=np.uint8)
        if seed % 3 == 0:
            image = local.random((40, 56, 3)).astype(np.float32)
        heat = local.normal(size=(5, 7)).astype(np.float32)
        alpha = float(local.random())
        numpy_result, kernel_result = both_paths(
            monkeypatch, image, heat, mode=mode, alpha=alpha
        )
        assert np.array_equal(numpy_result, kernel_result), (seed, alpha)
