"""Lazy (dask) and multiscale results equal the eager ones, computed only on demand."""

import pickle
import threading

import dask
import dask.array as da
import numpy as np
import pytest

from napari_heatoverlay import overlay


class ChunkCounter:
    """A dask array whose chunk reads are counted."""

    def __init__(self, data, chunks):
        self.data = data
        self.reads = 0
        self._lock = threading.Lock()
        self.array = da.from_array(data, chunks=chunks).map_blocks(
            self._read, dtype=data.dtype
        )

    def _read(self, block):
        if block.size:  # dask probes with empty blocks to learn the dtype
            with self._lock:
                self.reads += 1
        return block


@pytest.fixture
def movie():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (3, 120, 200, 3), dtype=np.uint8)


@pytest.fixture
def maps():
    heat = np.random.default_rng(1).normal(size=(3, 12, 25)).astype(np.float32)
    heat[1, 4, 4] = np.nan
    return heat


@pytest.mark.parametrize("interpolation", ["nearest", "linear", "cubic"])
@pytest.mark.parametrize("norm", ["minmax", "percentile", "symmetric"])
def test_dask_image_equals_eager(movie, maps, interpolation, norm):
    options = {"interpolation": interpolation, "norm": norm, "threshold": 0.1}
    lazy = overlay(da.from_array(movie, chunks=(1, 50, 64, 3)), maps, **options)
    assert isinstance(lazy, da.Array)
    assert lazy.chunks[0] == (1, 1, 1)
    assert np.array_equal(lazy.compute(), overlay(movie, maps, **options))


@pytest.mark.parametrize("norm", ["minmax", "max", "percentile", "sigmoid", "none"])
def test_dask_heatmap_equals_eager(movie, maps, norm):
    lazy = overlay(
        movie, da.from_array(maps, chunks=(1, 5, 5)), norm=norm, mode="scaled"
    )
    assert isinstance(lazy, da.Array)
    assert np.array_equal(
        lazy.compute(), overlay(movie, maps, norm=norm, mode="scaled")
    )


def test_nothing_is_computed_until_asked(movie, maps):
    image = ChunkCounter(movie, (1, 60, 100, 3))
    heat = ChunkCounter(maps, (1, 12, 25))
    lazy = overlay(image.array, heat.array, norm="percentile")
    assert image.reads == 0 and heat.reads == 0
    one_slice = lazy[1].compute()
    assert image.reads == 4  # the 2 x 2 chunks of slice 1 only
    assert np.array_equal(one_slice, overlay(movie, maps, norm="percentile")[1])


def test_one_tile_reads_one_image_chunk(movie, maps):
    image = ChunkCounter(movie[0], (60, 100, 3))
    lazy = overlay(image.array, maps[0])
    tile = lazy[:60, 100:].compute()
    assert image.reads == 1
    assert np.array_equal(tile, overlay(movie[0], maps[0])[:60, 100:])


def test_broadcast_feature_channels_on_a_lazy_image(movie, maps):
    lazy = overlay(da.from_array(movie[0], chunks=(64, 64, 3)), maps)
    assert lazy.shape == (3, 120, 200, 3)
    assert np.array_equal(lazy.compute(), overlay(movie[0], maps))


def test_multiscale_gives_one_result_per_level(movie, maps):
    levels = [movie[0], movie[0][::2, ::2], movie[0][::4, ::4]]
    eager = overlay(levels, maps[0])
    lazy = overlay([da.from_array(level) for level in levels], maps[0])
    assert [level.shape[:2] for level in eager] == [(120, 200), (60, 100), (30, 50)]
    for got, expected, level in zip(lazy, eager, levels, strict=True):
        assert np.array_equal(got.compute(), expected)
        # one window for all levels: each level equals a fixed-window overlay
        lo, hi = np.nanmin(maps[0]), np.nanmax(maps[0])
        assert np.array_equal(expected, overlay(level, maps[0], vmin=lo, vmax=hi))


def test_multiscale_heatmap_levels_pair_with_image_levels(movie, maps):
    levels = [movie[0], movie[0][::2, ::2]]
    heat_levels = [maps[0], maps[0][::2, ::2]]
    got = overlay(levels, heat_levels)
    assert len(got) == 2
    with pytest.raises(ValueError, match="heatmap has 3 levels but image has 2"):
        overlay(levels, [maps[0]] * 3)


def test_zarr_input_stays_lazy(tmp_path, movie, maps):
    zarr = pytest.importorskip("zarr")
    store = zarr.open(
        str(tmp_path / "movie.zarr"),
        mode="w",
        shape=movie.shape,
        chunks=(1, 60, 100, 3),
        dtype="u1",
    )
    store[:] = movie
    lazy = overlay(zarr.open(str(tmp_path / "movie.zarr"), mode="r"), maps)
    assert isinstance(lazy, da.Array)
    assert np.array_equal(lazy.compute(), overlay(movie, maps))


def test_graph_pickles_and_runs_in_processes(movie, maps):
    lazy = overlay(da.from_array(movie, chunks=(1, 60, 100, 3)), maps)
    restored = pickle.loads(pickle.dumps(lazy))
    with dask.config.set(scheduler="synchronous"):
        assert np.array_equal(restored.compute(), overlay(movie, maps))
