"""spatial_dims=3: a coarse (z, h, w) map over a (Z, Y, X) volume."""

import time

import dask.array as da
import numpy as np
import pytest
from skimage.transform import resize

from napari_heatoverlay import normalize, overlay

rng = np.random.default_rng(33)
ORDERS = {"nearest": 0, "linear": 1, "cubic": 3}
SHAPES = [
    ((2, 8, 8), (4, 64, 64)),
    ((6, 5, 7), (20, 30, 35)),
    ((40, 12, 12), (8, 48, 48)),
    ((3, 40, 40), (9, 10, 10)),
    ((5, 6, 6), (5, 30, 30)),
]


def grey_of(n):
    """What the 'gray' colormap at alpha 1 shows for n (matplotlib's lookup)."""
    return np.minimum(np.floor(n * 256), 255)


@pytest.mark.parametrize(("heat_shape", "volume_shape"), SHAPES)
@pytest.mark.parametrize("interpolation", ORDERS)
def test_volume_equals_a_3d_skimage_resize(heat_shape, volume_shape, interpolation):
    heat = rng.random(heat_shape)
    volume = np.zeros(volume_shape, np.uint8)
    got = overlay(
        volume,
        heat,
        spatial_dims=3,
        colormap="gray",
        alpha=1.0,
        interpolation=interpolation,
    )
    reducing = any(h > v for h, v in zip(heat_shape, volume_shape, strict=True))
    n = normalize(heat).astype(np.float64)
    expected = resize(
        n,
        volume_shape,
        order=ORDERS[interpolation],
        mode="edge",
        anti_aliasing=reducing,
    )
    assert got.shape == (*volume_shape, 3)
    assert np.abs(got[..., 0] - grey_of(expected)).max() <= 1


def test_leading_axes_broadcast_and_rgb_volumes():
    heat = rng.normal(size=(3, 4, 5, 6))  # (T, z, h, w)
    volume = rng.integers(0, 256, (3, 8, 20, 24, 3), dtype=np.uint8)  # (T, Z, Y, X, 3)
    got = overlay(volume, heat, spatial_dims=3, norm="symmetric")
    assert got.shape == (3, 8, 20, 24, 3)
    one = overlay(
        volume[1],
        heat[1],
        spatial_dims=3,
        vmin=-np.abs(heat).max(),
        vmax=np.abs(heat).max(),
    )
    assert np.array_equal(got[1], one)


def test_nan_holes_follow_their_nearest_footprint_in_z():
    heat = rng.random((4, 6, 6))
    heat[1, 2, 3] = np.nan
    volume = rng.integers(0, 256, (8, 24, 24), dtype=np.uint8)
    got = overlay(volume, heat, spatial_dims=3, alpha=1.0)
    # image z slices 2 and 3 take heat slice 1 as nearest; its hole shows the image
    for z in (2, 3):
        assert np.all(got[z, 8:12, 12:16] == volume[z, 8:12, 12:16, None])
    assert not np.all(got[0, 8:12, 12:16] == volume[0, 8:12, 12:16, None])


def test_lazy_volume_and_dask_heat_agree_with_eager():
    heat = rng.random((3, 6, 6))
    volume = rng.integers(0, 256, (10, 32, 32), dtype=np.uint8)
    eager = overlay(volume, heat, spatial_dims=3, interpolation="cubic")
    lazy = overlay(
        da.from_array(volume, chunks=(2, 16, 16)),
        heat,
        spatial_dims=3,
        interpolation="cubic",
    )
    assert isinstance(lazy, da.Array)
    assert np.array_equal(lazy.compute(), eager)
    lazy_heat = overlay(
        volume, da.from_array(heat, chunks=1), spatial_dims=3, interpolation="cubic"
    )
    assert np.array_equal(lazy_heat.compute(), eager)


def test_a_large_lazy_volume_builds_without_computing_and_slices_fast():
    reads = []

    def block(x, block_info=None):
        reads.append(block_info[None]["chunk-location"])
        return np.zeros(x.shape, np.uint8)

    volume = da.zeros((512, 2048, 2048), dtype=np.uint8, chunks=(1, 2048, 2048))
    volume = volume.map_blocks(block, dtype=np.uint8)
    heat = rng.random((32, 64, 64))
    start = time.perf_counter()
    result = overlay(volume, heat, spatial_dims=3)
    built = time.perf_counter() - start
    assert reads == []
    assert result.shape == (512, 2048, 2048, 3)
    start = time.perf_counter()
    plane = result[300].compute()
    sliced = time.perf_counter() - start
    assert plane.shape == (2048, 2048, 3)
    assert len(reads) == 1
    print(f"built in {built:.3f} s, one 2048^2 slice in {sliced:.3f} s")


@pytest.mark.parametrize(
    ("image", "heat", "words"),
    [
        (np.zeros((20, 30), np.uint8), np.ones((2, 4, 4)), "needs a (Z, Y, X)"),
        (np.zeros((5, 20, 30), np.uint8), np.ones((4, 4)), "at least 3 axes"),
    ],
)
def test_volume_shape_mistakes_are_named(image, heat, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        overlay(image, heat, spatial_dims=3)
    with pytest.raises(ValueError, match="spatial_dims must be 2 or 3"):
        overlay(image, heat, spatial_dims=4)


def test_a_lazy_volume_resamples_its_map_once_for_all_slices(monkeypatch):
    """napari computes one slice at a time: the z resampling of the whole map
    (and its window) is done for the first and reused by the others."""
    import napari_heatoverlay.engine.lazy as lazy_module
    import napari_heatoverlay.engine.volume as volume_module

    rng = np.random.default_rng(11)
    image = rng.integers(0, 255, (12, 40, 40), dtype=np.uint8)
    heat = rng.random((5, 8, 8)) + 17.0  # a map of its own: no earlier cache entry
    eager = overlay(image, heat, spatial_dims=3)
    resamplings, windows = [], []
    resample, window = volume_module._resample_z, lazy_module.compute_window
    monkeypatch.setattr(
        volume_module,
        "_resample_z",
        lambda *args: resamplings.append(1) or resample(*args),
    )
    monkeypatch.setattr(
        lazy_module,
        "compute_window",
        lambda *args: windows.append(1) or window(*args),
    )
    lazy = overlay(
        da.from_array(image, chunks=(1, -1, -1)),
        da.from_array(heat, chunks=-1),
        spatial_dims=3,
    )
    for k in (0, 5, 11):
        np.testing.assert_array_equal(lazy[k].compute(), eager[k])
    assert len(resamplings) == 1
    assert len(windows) == 1
