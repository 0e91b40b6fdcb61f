"""Read and write big images as chunked, multiscale zarr stores.

Writing streams a lazy overlay chunk by chunk (memory stays at a few chunks
per worker thread) into a temporary store beside the target, which is renamed
into place only when every level is complete: a failed or interrupted write
never leaves a store that looks finished.
"""

from __future__ import annotations

import itertools
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # dask loads on first use, so the command line starts fast
    import dask.array as da


def is_zarr_path(path: str | os.PathLike) -> bool:
    """True for a path ending in ``.zarr`` (a zarr store, existing or not)."""
    return Path(path).suffix.lower() == ".zarr"


def open_zarr_image(path: str | os.PathLike) -> da.Array | list[da.Array]:
    """Open a zarr array, or a multiscale group, lazily.

    A group holding arrays named ``"0"``, ``"1"``, ... (the OME-NGFF layout,
    finest first) opens as a list of dask arrays, one per level.

    Examples
    --------
    >>> import numpy as np, dask.array as da, tempfile, os
    >>> store = os.path.join(tempfile.mkdtemp(), "slide.zarr")
    >>> write_zarr(da.zeros((64, 64, 3), dtype=np.uint8), store, progress=False)
    PosixPath('...slide.zarr')
    >>> [level.shape for level in open_zarr_image(store)]
    [(64, 64, 3)]
    """
    import dask.array as da
    import zarr

    node = zarr.open(str(path), mode="r")
    if isinstance(node, zarr.Array):
        return da.from_zarr(node)
    levels = sorted((key for key in node.array_keys() if key.isdigit()), key=int)
    if not levels:
        raise ValueError(
            f"{path} is a zarr group without levels named 0, 1, ...; "
            "point to one of its arrays instead"
        )
    return [da.from_zarr(node[key]) for key in levels]


def write_zarr(
    result: Any,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Write a (lazy) overlay, or a list of levels, to a zarr store atomically.

    Parameters
    ----------
    result : dask or NumPy array, or list of them
        One array is written as level ``"0"``; a list as levels ``"0"``,
        ``"1"``, ... with OME-NGFF ``multiscales`` metadata.
    path : path ending in .zarr
        The store to create.
    overwrite : bool
        Replace an existing store; otherwise an existing one is an error.
    progress : bool
        Show a progress bar (tqdm, on stderr) over the chunks.

    Returns
    -------
    Path
        The finished store.

    Examples
    --------
    >>> import numpy as np, dask.array as da, tempfile, os
    >>> from napari_heatoverlay import overlay
    >>> image = da.zeros((512, 512, 3), dtype=np.uint8, chunks=(256, 256, 3))
    >>> lazy = overlay(image, np.random.default_rng(0).random((16, 16)))
    >>> store = os.path.join(tempfile.mkdtemp(), "overlay.zarr")
    >>> write_zarr(lazy, store, progress=False).name
    'overlay.zarr'
    """
    import zarr

    target = Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"{target} exists; pass overwrite=True (--force) to replace it"
        )
    arrays = [
        _as_dask(level)
        for level in (result if isinstance(result, list | tuple) else [result])
    ]
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        group = zarr.open_group(str(partial), mode="w")
        stores = [
            group.create_array(
                str(index),
                shape=array.shape,
                chunks=tuple(max(sizes) for sizes in array.chunks),
                dtype=array.dtype,
            )
            for index, array in enumerate(arrays)
        ]
        _write_blocks(arrays, stores, progress)
        group.attrs["multiscales"] = [_multiscales(arrays)]
        if target.exists():
            shutil.rmtree(target)
        partial.rename(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return target


def _write_blocks(arrays: list[da.Array], stores: list[Any], progress: bool) -> None:
    """Compute and store every block, a few at a time, waiting for all to stop.

    Each block is computed on its own, so memory stays at a few blocks; on a
    failure the pool is drained before the caller cleans up, so no write can
    land after the partial store is removed.
    """
    from tqdm import tqdm

    jobs = [
        (array, store, block)
        for array, store in zip(arrays, stores, strict=True)
        for block in itertools.product(*(range(n) for n in array.numblocks))
    ]

    def write(job: tuple) -> None:
        array, store, block = job
        region = tuple(
            slice(sum(sizes[:i]), sum(sizes[: i + 1]))
            for sizes, i in zip(array.chunks, block, strict=True)
        )
        store[region] = array.blocks[block].compute(scheduler="sync")

    with (
        tqdm(
            total=len(jobs), unit="chunk", desc="writing zarr", disable=not progress
        ) as bar,
        ThreadPoolExecutor(os.cpu_count() or 1) as pool,
    ):
        futures = [pool.submit(write, job) for job in jobs]
        try:
            for future in futures:
                future.result()
                bar.update(1)
        finally:
            for future in futures:
                future.cancel()


def _as_dask(array: Any) -> da.Array:
    """A dask array whose chunks tile a regular zarr chunk grid.

    Blocks are written concurrently, so two must never share a zarr chunk.
    """
    import dask.array as da

    if not isinstance(array, da.Array):
        array = np.asarray(array)
        return da.from_array(array, chunks=(1,) * (array.ndim - 3) + (2048, 2048, -1))
    regular = all(
        len(set(sizes[:-1])) <= 1 and sizes[-1] <= sizes[0] for sizes in array.chunks
    )
    return array if regular else array.rechunk(tuple(max(s) for s in array.chunks))


def _multiscales(arrays: list[da.Array]) -> dict:
    """OME-NGFF multiscales metadata: a scale per level relative to level 0."""
    base = arrays[0].shape
    ndim = arrays[0].ndim
    names = [f"dim_{i}" for i in range(ndim - 3)] + ["y", "x", "c"]
    datasets = []
    for index, array in enumerate(arrays):
        scale = [base[axis] / array.shape[axis] for axis in range(ndim)]
        datasets.append(
            {
                "path": str(index),
                "coordinateTransformations": [{"type": "scale", "scale": scale}],
            }
        )
    return {
        "version": "0.4",
        "axes": [{"name": n} for n in names],
        "datasets": datasets,
    }
