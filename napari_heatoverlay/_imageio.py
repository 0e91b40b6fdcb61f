"""Files for the command line: read images and heatmaps, write outputs.

Heatmaps in feature-file formats go through :mod:`napari_heatoverlay._io`
(the napari reader's code, so they are never unpickled); any other heatmap is
read as an image and reduced to its luminance. Every output is written to a
temporary file in the target folder and then moved into place, so a failure
never leaves a half-written file. Imports neither napari nor Qt.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ._io import FEATURE_SUFFIXES, FeatureArray, read_feature_arrays

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
HEATMAP_SUFFIXES: tuple[str, ...] = FEATURE_SUFFIXES + IMAGE_SUFFIXES
REDUCTIONS: tuple[str, ...] = ("mean", "max", "l2")
#: ITU-R BT.709 luma weights, as ``skimage.color.rgb2gray``.
LUMA_WEIGHTS = np.array([0.2125, 0.7154, 0.0721])


class InputError(ValueError):
    """An input file exists but cannot be used; the message says what to do."""


class OptionError(ValueError):
    """A command-line choice (``--key``, ``--channel`` ...) does not fit a file."""


class OutputExistsError(FileExistsError):
    """The output exists and overwriting it was not asked for."""


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as (Y, X) grey or (Y, X, 3|4) colour.

    Parameters
    ----------
    path : str or os.PathLike
        Any single image that imageio reads (PNG, JPEG, TIFF, BMP, ...).

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
    if pixels.ndim == 3 and pixels.shape[-1] == 2:
        pixels = pixels[..., 0]
    if pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[-1] in (3, 4)):
        return pixels
    raise InputError(
        f"Cannot use {path} as the image: it holds an array of shape "
        f"{pixels.shape}, not one (Y, X) or (Y, X, 3|4) picture. "
        "Save a single frame or page as its own file."
    )


def read_heatmap(
    path: str | os.PathLike,
    *,
    key: str | None = None,
    channel: int | None = None,
    reduce: str | None = None,
) -> np.ndarray:
    """Read one 2-D heatmap from a feature file or an image file.

    Parameters
    ----------
    path : str or os.PathLike
        A feature file (``.npy``, ``.npz``, ``.pt``, ``.pth``,
        ``.safetensors``; never unpickled) or an image file, whose luminance
        ``0.2125 R + 0.7154 G + 0.0721 B`` (in the file's own units) is the heat.
    key : str, optional
        Which array of a file holding several (an ``.npz`` entry, a
        state-dict key); needed unless the file holds exactly one.
    channel : int, optional
        Pick this channel of a (C, h, w) or (N, C, h, w) feature map; negative
        counts from the end. A map without a channel axis has one channel.
    reduce : {"mean", "max", "l2"}, optional
        Combine all channels instead: their mean, maximum or L2 norm
        ``sqrt(sum(c ** 2))``.

    Returns
    -------
    ndarray of float64, shape (h, w)

    Raises
    ------
    OptionError
        If `key`, `channel` or `reduce` does not fit the file, or the map has
        several channels and neither `channel` nor `reduce` is given.
    InputError, FeatureFileError
        If the file cannot be read or holds no single 2-D map.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "features.npy"
    >>> np.save(path, np.ones((1, 4, 8, 8), dtype=np.float32))
    >>> read_heatmap(path, reduce="l2")[0, 0]
    np.float64(2.0)
    """
    source = Path(path)
    if source.suffix.lower() in FEATURE_SUFFIXES:
        heat, channel_axis, layout = _feature_heat(source, key)
    else:
        if key is not None:
            raise OptionError(
                f"{source} is an image file, which holds no named arrays: drop --key"
            )
        heat, channel_axis, layout = _image_heat(source)
    heat = _select_channel(source, heat, channel_axis, channel, reduce)
    if heat.ndim != 2:
        raise InputError(
            f"Cannot use {source} as one heatmap: after choosing the channel it "
            f"still has shape {heat.shape} (layout {layout}), and one overlay "
            "needs one (h, w) map. Save one sample per file."
        )
    return np.asarray(heat, dtype=np.float64)


def _feature_heat(source: Path, key: str | None) -> tuple[Any, int | None, str]:
    feature = _choose_entry(source, read_feature_arrays(source), key)
    axes = feature.layout[len(feature.layout) - feature.data.ndim :]
    channel_axis = axes.index("C") if "C" in axes else None
    return feature.data, channel_axis, axes


def _choose_entry(
    source: Path, features: list[FeatureArray], key: str | None
) -> FeatureArray:
    keys = ", ".join(str(feature.key) for feature in features)
    if key is None:
        if len(features) == 1:
            return features[0]
        raise OptionError(
            f"{source} holds {len(features)} arrays; choose one with --key NAME "
            f"(one of: {keys})"
        )
    for feature in features:
        if feature.key == key:
            return feature
    if features[0].key is None:
        raise OptionError(f"{source} holds one unnamed array: drop --key {key}")
    raise OptionError(f"{source} has no array {key!r}; choose --key from: {keys}")


def _image_heat(source: Path) -> tuple[np.ndarray, int | None, str]:
    pixels = _decode(source).astype(np.float64, copy=False)
    if pixels.ndim == 3 and pixels.shape[-1] in (3, 4):
        return pixels[..., :3] @ LUMA_WEIGHTS, None, "HW"
    if pixels.ndim == 3 and pixels.shape[-1] == 2:
        return pixels[..., 0], None, "HW"
    if pixels.ndim == 3:
        return pixels, 0, "CHW"
    return pixels, None, "HW" if pixels.ndim == 2 else "?" * pixels.ndim


def _select_channel(
    source: Path,
    heat: Any,
    channel_axis: int | None,
    channel: int | None,
    reduce: str | None,
) -> Any:
    count = 1 if channel_axis is None else heat.shape[channel_axis]
    if channel is not None:
        if not -count <= channel < count:
            raise OptionError(
                f"--channel {channel} is out of range: {source} has {count} "
                f"channel(s), so use 0..{count - 1}"
            )
        return heat if channel_axis is None else np.take(heat, channel, channel_axis)
    if reduce is not None:
        if reduce not in REDUCTIONS:
            raise OptionError(
                f"--reduce must be one of {', '.join(REDUCTIONS)}, got {reduce!r}"
            )
        return heat if channel_axis is None else _reduce(heat, channel_axis, reduce)
    if count > 1:
        raise OptionError(
            f"{source} has {count} channels (shape {heat.shape}); pick one with "
            f"--channel K (0..{count - 1}) or combine them with "
            "--reduce mean|max|l2"
        )
    return heat if channel_axis is None else np.take(heat, 0, channel_axis)


def _reduce(heat: Any, axis: int, how: str) -> np.ndarray:
    values = np.asarray(heat, dtype=np.float64)
    if how == "mean":
        return values.mean(axis=axis)
    if how == "max":
        return values.max(axis=axis)
    return np.sqrt(np.square(values).sum(axis=axis))


def _decode(source: Path) -> np.ndarray:
    import imageio.v3 as iio

    if not source.is_file():
        problem = "it is a folder" if source.is_dir() else "no such file"
        raise InputError(f"Cannot read {source}: {problem}. Check the path.")
    try:
        return np.asarray(iio.imread(source))
    except Exception as error:  # imageio raises many types for bad files
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(
            f"Cannot read {source} as an image ({reason}). Check that it opens "
            "in an image viewer, or save it as PNG or TIFF."
        ) from error


def _write_png(path: Path, rgb: np.ndarray) -> None:
    import imageio.v3 as iio

    # zlib level 3: a third of the default level 6's time, ~10% larger files
    iio.imwrite(path, rgb, extension=".png", compress_level=3)


def _write_jpeg(path: Path, rgb: np.ndarray) -> None:
    import imageio.v3 as iio

    iio.imwrite(path, rgb, extension=".jpg", quality=95)


def _write_tiff(path: Path, rgb: np.ndarray) -> None:
    import tifffile

    tifffile.imwrite(path, rgb, photometric="rgb", compression="zlib")


#: Output writers by suffix; each writes a (Y, X, 3) uint8 array to a path.
WRITERS: dict[str, Callable[[Path, np.ndarray], None]] = {
    ".png": _write_png,
    ".jpg": _write_jpeg,
    ".jpeg": _write_jpeg,
    ".tif": _write_tiff,
    ".tiff": _write_tiff,
}


def check_output(path: str | os.PathLike, *, force: bool = False) -> Path:
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
    return check_free(target, force=force)


def write_output(
    path: str | os.PathLike, rgb: np.ndarray, *, force: bool = False
) -> Path:
    """Write an overlay atomically in the format its suffix names.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; ``.png`` (zlib level 3), ``.jpg``/``.jpeg`` (quality 95) or
        ``.tif``/``.tiff`` (zlib-compressed). Missing folders are created.
    rgb : ndarray of uint8, shape (Y, X, 3)
        The overlay.
    force : bool
        Replace an existing file instead of refusing.

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
    target = check_output(path, force=force)
    writer = WRITERS[target.suffix.lower()]
    return write_atomic(target, lambda temporary: writer(temporary, rgb), force=force)


def write_atomic(
    path: str | os.PathLike,
    write: Callable[[Path], Any],
    *,
    force: bool = False,
) -> Path:
    """Call ``write(temporary)`` next to `path`, then move the result into place.

    Parameters
    ----------
    path : str or os.PathLike
        The final file. Missing parent folders are created.
    write : callable
        Writes the whole file to the temporary path it is given.
    force : bool
        Replace an existing file instead of raising :class:`OutputExistsError`.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_atomic(folder / "note.txt", lambda p: p.write_text("hi")).read_text()
    'hi'
    """
    target = check_free(path, force=force)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(
        f".{target.stem}.{secrets.token_hex(4)}.part{target.suffix}"
    )
    try:
        write(temporary)
        check_free(target, force=force)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target


def check_free(path: str | os.PathLike, *, force: bool = False) -> Path:
    """Refuse a folder, or an existing file unless `force`; return the path.

    Examples
    --------
    >>> check_free("not-there.pdf").name
    'not-there.pdf'
    """
    target = Path(path)
    if target.is_dir():
        raise OptionError(f"cannot write {target}: it is a folder")
    if target.exists() and not force:
        raise OutputExistsError(
            f"{target} already exists; pass --force to replace it or choose "
            "another output"
        )
    return target
