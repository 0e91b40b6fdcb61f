"""Read pictures (PNG, JPEG, TIFF, ...) and zarr images for the command line.

Imports neither napari nor Qt; imageio and zarr load on first use.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from napari_heatoverlay.io.refusal import Refusal
from napari_heatoverlay.io.regular import check_regular_file

if TYPE_CHECKING:
    import dask.array as da

#: Image suffixes the command looks for when it pairs the files of two folders.
IMAGE_SUFFIXES: tuple[str, ...] = (
    ".png",
    ".jpg",
    ".jpeg",
    ".tif",
    ".tiff",
    ".bmp",
    ".gif",
    ".webp",
)
#: Heatmap suffixes: feature files first, then images.


class InputError(ValueError):
    """An input file exists but cannot be used; the message says what to do."""


def read_volume(path: str | os.PathLike) -> np.ndarray:
    """Read a (Z, Y, X) or (Z, Y, X, 3|4) volume from a TIFF stack.

    Examples
    --------
    >>> import tempfile, tifffile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "stack.tif"
    >>> tifffile.imwrite(path, np.zeros((5, 4, 6), dtype=np.uint16))
    >>> read_volume(path).shape
    (5, 4, 6)
    """
    source = Path(path)
    if source.suffix.lower() not in (".tif", ".tiff"):
        raise InputError(
            f"Cannot read {source} as a volume: --spatial-dims 3 reads TIFF stacks "
            "(.tif) and zarr arrays (.zarr)"
        )
    check_picture(source)
    import tifffile

    try:
        pixels = np.asarray(tifffile.imread(source))
    except Exception as error:  # tifffile raises many types for bad files
        raise _unreadable(source, error) from error
    if pixels.ndim == 3 or (pixels.ndim == 4 and pixels.shape[-1] in (3, 4)):
        return pixels
    raise InputError(
        f"Cannot use {source} as a volume: it holds shape {pixels.shape}, not "
        "(Z, Y, X) or (Z, Y, X, 3|4)"
    )


def read_image(
    path: str | os.PathLike, *, channel_axis: int | None = None
) -> np.ndarray:
    """Read an image file as (Y, X) grey or (Y, X, 3|4) colour.

    Parameters
    ----------
    path : str or os.PathLike
        Any single image that imageio reads (PNG, JPEG, TIFF, BMP, ...).
    channel_axis : int, optional
        The file's colour axis when it is not last (a (3, Y, X) TIFF stack:
        0); it is moved last.

    Returns
    -------
    ndarray
        The pixels in the file's own dtype; a grey-plus-alpha image loses its
        alpha channel.

    Raises
    ------
    InputError
        If the file cannot be decoded or holds more than one image.

    Examples
    --------
    >>> import tempfile, imageio.v3 as iio, numpy as np
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "grey.png"
    >>> iio.imwrite(path, np.zeros((4, 6), dtype=np.uint8))
    >>> read_image(path).shape
    (4, 6)
    """
    pixels = _decode(Path(path))
    if channel_axis is not None:
        if pixels.ndim != 3 or not -3 <= channel_axis < 3:
            raise InputError(
                f"Cannot use {path} with --channel-axis {channel_axis}: it holds "
                f"an array of shape {pixels.shape}; the axis must be one of its "
                "three axes"
            )
        if pixels.shape[channel_axis] not in (3, 4):
            raise InputError(
                f"Cannot use {path} with --channel-axis {channel_axis}: that axis "
                f"has {pixels.shape[channel_axis]} entries in shape {pixels.shape}, "
                "and colour needs 3 or 4"
            )
        pixels = np.moveaxis(pixels, channel_axis, -1)
    if pixels.ndim == 3 and pixels.shape[-1] == 2:
        pixels = pixels[..., 0]
    if pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[-1] in (3, 4)):
        return pixels
    raise InputError(
        f"Cannot use {path} as the image: it holds an array of shape "
        f"{pixels.shape}, not one (Y, X) or (Y, X, 3|4) picture. "
        "Save a single frame or page as its own file; for a volume with a 3-D "
        "map pass --spatial-dims 3, for a movie write -o OUT.mp4."
    )


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
    >>> from napari_heatoverlay import write_zarr
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


#: Formats read with Pillow directly: imageio loads every Pillow plugin
#: first, which costs more than decoding a typical picture.
_PILLOW_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def _decode_with_pillow(source: Path) -> np.ndarray:
    """Decode one picture as imageio's Pillow plugin does (palettes to RGB(A))."""
    from PIL import Image

    with Image.open(source) as picture:
        if getattr(picture, "n_frames", 1) > 1:
            picture.seek(0)
            frames = [np.asarray(picture)]
            for index in range(1, picture.n_frames):
                picture.seek(index)
                frames.append(np.asarray(picture))
            return np.stack(frames)
        if picture.mode == "P":
            has_alpha = "transparency" in picture.info
            picture = picture.convert("RGBA" if has_alpha else "RGB")
        return np.asarray(picture)


def check_picture(source: Path) -> None:
    """Refuse, before decoding, a path that is not a regular file (a FIFO or
    /dev/zero would block the decoder) or a picture whose header declares
    more pixels than the byte limit allows.

    Raises
    ------
    InputError
        Naming the file, the problem and the way out.
    """
    from napari_heatoverlay.io.declared import check_declared_size

    try:
        check_regular_file(source)
    except Refusal as refusal:
        raise InputError(f"Cannot read {source}: {refusal}") from refusal
    try:
        check_declared_size(source)
    except Refusal as refusal:
        raise InputError(f"Cannot read {source}: {refusal}") from refusal
    except Exception:  # an unreadable header: the decoder says what is wrong
        return


def _decode(source: Path) -> np.ndarray:
    from napari_heatoverlay.io.declared import pillow_guard_lifted

    check_picture(source)
    try:
        with pillow_guard_lifted():
            if source.suffix.lower() in _PILLOW_SUFFIXES:
                return _decode_with_pillow(source)
            import imageio.v3 as iio

            return np.asarray(iio.imread(source))
    except Exception as error:  # the decoders raise many types for bad files
        raise _unreadable(source, error) from error


def _unreadable(source: Path, error: Exception) -> InputError:
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return InputError(
        f"Cannot read {source} as an image ({reason}). Check that it opens "
        "in an image viewer, or save it as PNG or TIFF."
    )
