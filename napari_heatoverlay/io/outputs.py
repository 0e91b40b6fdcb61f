"""Every writer: overlays as PNG, JPEG or TIFF, figures, and zarr stores.

Every output is written under a hidden temporary name beside the target and
renamed into place only when whole (:func:`atomic_target`), so a failure
never leaves a half-written file or store. Imports neither napari nor Qt.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_heatoverlay.io.heatmaps import OptionError

if TYPE_CHECKING:  # dask loads on first use, so the command line starts fast
    import dask.array as da


class WriteError(OSError):
    """An output could not be written; nothing was left behind.

    Examples
    --------
    >>> import errno
    >>> print(WriteError(Path("out.png"), OSError(errno.ENOSPC, "No space left")))
    cannot write out.png: the disk is full; free some space or write elsewhere (nothing was left behind)
    """

    def __init__(self, target: Path, cause: OSError) -> None:
        if cause.errno == errno.ENOSPC:
            problem = "the disk is full; free some space or write elsewhere"
        elif cause.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            problem = "permission denied; choose a folder you can write to"
        else:
            problem = f"{cause.strerror or cause}"
        super().__init__(
            cause.errno, f"cannot write {target}: {problem} (nothing was left behind)"
        )

    def __str__(self) -> str:
        return self.strerror or ""


class OutputExistsError(FileExistsError):
    """The output exists and overwriting it was not asked for."""


def _write_png(path: Path, rgb: np.ndarray) -> None:
    from PIL import Image

    # zlib level 3: a third of the default level 6's time, ~10% larger files
    Image.fromarray(rgb).save(path, format="PNG", compress_level=3)


def _write_jpeg(path: Path, rgb: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(rgb).save(path, format="JPEG", quality=95)


def _write_tiff(path: Path, rgb: np.ndarray) -> None:
    import tifffile

    tifffile.imwrite(path, rgb, photometric="rgb", compression="zlib")


def _write_movie(path: Path, rgb: np.ndarray) -> None:
    from napari_heatoverlay.io.video import check_encoder, encode

    check_encoder(path)
    encode(path, rgb if rgb.ndim == 4 else rgb[None])


#: Output writers by suffix; each writes a (Y, X, 3) uint8 array to a path.
#: The movie formats also take (T, Y, X, 3) frames (a picture is one frame);
#: :func:`napari_heatoverlay.io.video.write_video` streams longer movies.
WRITERS: dict[str, Callable[[Path, np.ndarray], None]] = {
    ".png": _write_png,
    ".jpg": _write_jpeg,
    ".jpeg": _write_jpeg,
    ".tif": _write_tiff,
    ".tiff": _write_tiff,
    ".mp4": _write_movie,
    ".gif": _write_movie,
}


def check_output(
    path: str | os.PathLike, *, force: bool = False, parents: bool = False
) -> Path:
    """Check an overlay output path before any work is done.

    Parameters
    ----------
    path : str or os.PathLike
        Where the overlay goes; its suffix picks the format (see `WRITERS`).
    force : bool
        Allow replacing an existing file.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    OptionError
        If the suffix is not a known output format.
    OutputExistsError
        If the file exists and `force` is False.

    Examples
    --------
    >>> check_output("overlay.png").name
    'overlay.png'
    """
    target = Path(path)
    if target.suffix.lower() not in WRITERS:
        raise OptionError(
            f"cannot write {target}: the output format is chosen by the suffix, "
            f"one of {', '.join(WRITERS)}"
        )
    return check_free(target, force=force, parents=parents)


def write_output(
    path: str | os.PathLike,
    rgb: np.ndarray,
    *,
    force: bool = False,
    parents: bool = False,
) -> Path:
    """Write an overlay atomically in the format its suffix names.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; ``.png`` (zlib level 3), ``.jpg``/``.jpeg`` (quality 95) or
        ``.tif``/``.tiff`` (zlib-compressed).
    rgb : ndarray of uint8, shape (Y, X, 3)
        The overlay.
    force : bool
        Replace an existing file instead of refusing.
    parents : bool
        Create missing parent folders.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_output(folder / "out.png", np.zeros((4, 6, 3), np.uint8)).name
    'out.png'
    """
    target = check_output(path, force=force, parents=parents)
    if rgb.ndim > 3 and target.suffix.lower() not in (".tif", ".tiff", ".mp4", ".gif"):
        raise OptionError(
            f"cannot write {target}: the overlay has shape {rgb.shape}, a stack of "
            "pictures; write it as .tif (one page per picture), .zarr, or a movie "
            "(.mp4, .gif)"
        )
    writer = WRITERS[target.suffix.lower()]
    return write_atomic(
        target, lambda temporary: writer(temporary, rgb), force=force, parents=parents
    )


#: Temporaries this process is writing; the command line removes them on a signal.
PENDING: set[Path] = set()


@contextlib.contextmanager
def atomic_target(
    path: str | os.PathLike,
    *,
    force: bool = False,
    parents: bool = False,
    folder: bool = False,
) -> Iterator[Path]:
    """Give a hidden temporary path beside `path`; move it into place when whole.

    The temporary is a sibling of the target (so the final rename is atomic on
    one file system), named ``.<name>.<random>.part<suffix>``. If the block
    raises, or the target was taken meanwhile without `force`, the temporary
    is removed and the target left as it was.

    Parameters
    ----------
    path : str or os.PathLike
        The final file (or folder, with `folder`).
    force : bool
        Replace an existing target instead of raising :class:`OutputExistsError`.
    parents : bool
        Create missing parent folders (as ``mkdir -p``); otherwise a missing
        parent is an error, so that a typo does not create a tree.
    folder : bool
        The target is a folder (a zarr store); with `force`, an existing one
        is removed just before the rename.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> with atomic_target(folder / "note.txt") as temporary:
    ...     _ = temporary.write_text("hi")
    >>> (folder / "note.txt").read_text(), sorted(p.name for p in folder.iterdir())
    ('hi', ['note.txt'])
    """
    target = check_free(path, force=force, parents=parents, folder=folder)
    if parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(
        f".{target.stem}.{secrets.token_hex(4)}.part{target.suffix}"
    )
    PENDING.add(temporary)
    try:
        yield temporary
        check_free(target, force=force, folder=folder)
        if folder and target.exists():
            shutil.rmtree(target)
        os.replace(temporary, target)
    except OSError as error:
        if isinstance(error, WriteError | OutputExistsError):
            raise
        raise WriteError(target, error) from error
    finally:
        remove_quietly(temporary)
        PENDING.discard(temporary)


def remove_quietly(path: Path) -> None:
    """Remove a file or folder if it exists; ignore errors."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def write_atomic(
    path: str | os.PathLike,
    write: Callable[[Path], Any],
    *,
    force: bool = False,
    parents: bool = False,
) -> Path:
    """Call ``write(temporary)`` beside `path`, then move the result into place.

    See :func:`atomic_target` for `force` and `parents`.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_atomic(folder / "note.txt", lambda p: p.write_text("hi")).read_text()
    'hi'
    """
    target = Path(path)
    with atomic_target(target, force=force, parents=parents) as temporary:
        write(temporary)
    return target


def check_free(
    path: str | os.PathLike,
    *,
    force: bool = False,
    parents: bool = True,
    folder: bool = False,
) -> Path:
    """Refuse what cannot become the output at `path`; return the path.

    That is a folder where a file is asked (or a file where a folder is), an
    existing target unless `force`, and a missing parent folder unless
    `parents`.

    Examples
    --------
    >>> check_free("not-there.pdf").name
    'not-there.pdf'
    """
    target = Path(path)
    if target.is_dir() and not folder:
        raise OptionError(f"cannot write {target}: it is a folder")
    if folder and target.exists() and not target.is_dir():
        raise OptionError(f"cannot write {target}: it is a file, not a folder")
    if target.exists() and not force:
        raise OutputExistsError(
            f"{target} already exists; pass --force to replace it or choose "
            "another output"
        )
    parent = target.parent
    if not parents and not parent.is_dir():
        problem = "is not a folder" if parent.exists() else "does not exist"
        raise OptionError(
            f"cannot write {target}: the folder {parent} {problem}; create it "
            "first, or pass --parents to create missing folders"
        )
    return target


def write_zarr(
    result: Any,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    progress: bool = True,
    parents: bool = True,
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
    parents : bool
        Create missing parent folders.

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
    with atomic_target(
        target, force=overwrite, parents=parents, folder=True
    ) as partial:
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
