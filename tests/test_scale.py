"""Scale: gigapixel pyramids and long stacks stay lazy; zarr writes; a dask cluster."""

import sys
import time
import tracemalloc

import dask.array as da
import numpy as np
import pytest

from napari_heatoverlay import overlay
from napari_heatoverlay.io.images import open_zarr_image
from napari_heatoverlay.io.outputs import write_zarr


def checkerboard(block, block_info=None):
    """A procedural slide texture: each chunk is made when (and only if) asked."""
    (y0, _), (x0, _), _ = block_info[None]["array-location"]
    rows = np.arange(y0, y0 + block.shape[0])[:, None] // 64
    cols = np.arange(x0, x0 + block.shape[1])[None, :] // 64
    grey = ((rows + cols) % 2 * 120 + 60).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def procedural_pyramid(side, levels, chunk=1024):
    return [
        da.zeros(
            (-(-side // 2**k),) * 2 + (3,), dtype=np.uint8, chunks=(chunk, chunk, 3)
        ).map_blocks(checkerboard, dtype=np.uint8)
        for k in range(levels)
    ]


def bilinear_reference(heat, shape, rows, cols):
    """The issue's pixel-centre resampling at chosen pixels, in float64."""

    def coords(index, size_in, size_out):
        centre = np.clip((index + 0.5) * size_in / size_out - 0.5, 0, size_in - 1)
        low = np.floor(centre).astype(int)
        return low, np.minimum(low + 1, size_in - 1), centre - low

    y0, y1, ty = coords(rows, heat.shape[0], shape[0])
    x0, x1, tx = coords(cols, heat.shape[1], shape[1])
    ty, tx = ty[:, None], tx[None, :]
    top = heat[np.ix_(y0, x0)] * (1 - tx) + heat[np.ix_(y0, x1)] * tx
    bottom = heat[np.ix_(y1, x0)] * (1 - tx) + heat[np.ix_(y1, x1)] * tx
    return top * (1 - ty) + bottom * ty


def test_gigapixel_pyramid_is_lazy_and_tiles_are_right():
    import matplotlib

    pyramid = procedural_pyramid(100_000, 7)
    heat = np.random.default_rng(0).random((2048, 2048)).astype(np.float32)
    overlay(pyramid[-1][:8, :8], heat[:4, :4])  # warm imports and the kernel
    tracemalloc.start()
    start = time.perf_counter()
    result = overlay(pyramid, heat, alpha=0.5)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [level.shape for level in result] == [level.shape for level in pyramid]
    assert all(isinstance(level, da.Array) for level in result)
    assert elapsed < 5.0
    assert peak < 200 * 2**20  # the slide's level 0 alone would be 30 GB
    rows, cols = np.arange(60_000, 60_300), np.arange(31_000, 31_400)
    tile = result[0][60_000:60_300, 31_000:31_400].compute()
    n = bilinear_reference(heat.astype(np.float64), (100_000, 100_000), rows, cols)
    n = (n - heat.min()) / (heat.max() - heat.min())
    image = checkerboard(
        np.empty((300, 400, 3)),
        {None: {"array-location": [(60_000, 0), (31_000, 0), (0, 3)]}},
    )
    expected = 0.5 * image + 0.5 * matplotlib.colormaps["jet"](n)[..., :3] * 255
    scaled = n * 256
    off_edge = np.abs(scaled - np.round(scaled)) > 1e-3
    assert np.abs(tile.astype(float) - expected)[off_edge].max() <= 1.0


def test_long_movie_computes_only_the_frame_asked():
    reads = []

    def frame(block, block_info=None):
        reads.append(block_info[None]["chunk-location"][0])
        return np.full(block.shape, 100, np.uint8)

    movie = da.zeros((2000, 1024, 1024, 3), dtype=np.uint8, chunks=(1, 1024, 1024, 3))
    movie = movie.map_blocks(frame, dtype=np.uint8)
    maps = np.random.default_rng(1).random((2000, 64, 64)).astype(np.float32)
    result = overlay(movie, maps)
    assert result.chunks[0] == (1,) * 2000 and reads == []
    one = result[1234].compute()
    assert reads == [1234]
    lo, hi = maps.min(), maps.max()
    assert np.array_equal(
        one,
        overlay(np.full((1024, 1024, 3), 100, np.uint8), maps[1234], vmin=lo, vmax=hi),
    )


def test_write_zarr_streams_levels_and_reads_back(tmp_path):
    image = np.random.default_rng(2).integers(0, 256, (2, 300, 500, 3), dtype=np.uint8)
    heat = np.random.default_rng(3).random((2, 10, 12))
    lazy = overlay(
        [da.from_array(image, chunks=(1, 128, 128, 3)), image[:, ::2, ::2]], heat
    )
    store = write_zarr(lazy, tmp_path / "result.zarr", progress=False)
    levels = open_zarr_image(store)
    assert [level.shape for level in levels] == [(2, 300, 500, 3), (2, 150, 250, 3)]
    eager = overlay([image, image[:, ::2, ::2]], heat)
    for got, expected in zip(levels, eager, strict=True):
        assert np.array_equal(got.compute(), expected)
    with pytest.raises(FileExistsError, match="--force"):
        write_zarr(lazy, store, progress=False)


def test_failed_zarr_write_leaves_nothing_behind(tmp_path):
    def broken(block, block_info=None):
        if block_info[None]["chunk-location"][0] == 3:
            raise OSError("disk went away")
        return block

    image = da.zeros((6, 64, 64, 3), dtype=np.uint8, chunks=(1, 64, 64, 3)).map_blocks(
        broken, dtype=np.uint8
    )
    with pytest.raises(OSError, match="disk went away"):
        write_zarr(
            overlay(image, np.ones((4, 4))), tmp_path / "out.zarr", progress=False
        )
    assert list(tmp_path.iterdir()) == []


def test_runs_unchanged_on_a_local_dask_cluster(monkeypatch):
    distributed = pytest.importorskip("distributed")
    # small tiles blend in NumPy by default; this test is about the kernel
    monkeypatch.setenv("HEATOVERLAY_JIT", "1")
    image = np.random.default_rng(4).integers(0, 256, (4, 256, 320, 3), dtype=np.uint8)
    heat = np.random.default_rng(5).normal(size=(4, 16, 20))
    lazy = overlay(da.from_array(image, chunks=(1, 128, 160, 3)), heat, mode="scaled")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert np.array_equal(lazy.compute(), overlay(image, heat, mode="scaled"))
        lazy.compute()  # again: the kernels must not compile twice

        def worker_state():
            from napari_heatoverlay.engine import kernels

            gui = sorted(
                m
                for m in sys.modules
                if m.split(".")[0]
                in ("napari", "PyQt5", "PyQt6", "PySide2", "PySide6", "qtpy", "vispy")
            )
            return gui, len(kernels.blend_rows.signatures)

        states = client.run(worker_state)
    assert len(states) == 2
    for gui, compiled in states.values():
        assert gui == []
        assert compiled == 1
