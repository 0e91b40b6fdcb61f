"""Movies: read frame stacks and maps, write MP4 and GIF one frame at a time.

Frames are read one at a time (TIFF pages, zarr slices) and encoded as they
come, so a movie's length does not change the memory it takes. MP4 goes
through imageio's ffmpeg plugin (H.264, yuv420p, the ffmpeg binary of the
``imageio-ffmpeg`` wheel: ``pip install "napari-heatoverlay[video]"``); GIF
through Pillow alone, each frame with its own 256-colour palette (fast octree
quantisation: a few milliseconds a frame). Like every writer, the movie is
written under a hidden temporary name and renamed into place only when whole.
"""

from __future__ import annotations

import errno
import math
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np

from napari_heatoverlay.io.declared import check_decoded_bytes
from napari_heatoverlay.io.heatmaps import (
    OptionError,
    choose_channels,
    read_heatmap_stack,
)
from napari_heatoverlay.io.images import (
    InputError,
    is_zarr_path,
    open_zarr_image,
    read_image,
)
from napari_heatoverlay.io.outputs import atomic_target, check_free
from napari_heatoverlay.io.refusal import Refusal
from napari_heatoverlay.io.regular import check_regular_file

#: Movie formats by suffix.
VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".gif")
#: How to install the MP4 encoder.
INSTALL_VIDEO = 'pip install "napari-heatoverlay[video]"'
_TIFF_SUFFIXES = (".tif", ".tiff")


@dataclass(frozen=True)
class Frames:
    """A movie that is read one frame at a time.

    Attributes
    ----------
    count : int
        Number of frames (1 for a still picture).
    read : callable
        ``read(t)`` returns frame ``t`` as (Y, X) or (Y, X, 3|4), colour last.
    dtype : numpy.dtype
        The frames' dtype.
    lazy : bool
        Frames of a zarr store: their value range is not scanned (as for a
        dask image in :func:`~napari_heatoverlay.overlay`).
    """

    count: int
    read: Callable[[int], np.ndarray]
    dtype: np.dtype
    lazy: bool = False

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self.read(t) for t in range(self.count))


def is_video_path(path: str | os.PathLike) -> bool:
    """True for a path whose suffix names a movie format (.mp4, .gif)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


@contextmanager
def open_frames(
    path: str | os.PathLike, *, channel_axis: int | None = None
) -> Iterator[Frames]:
    """Open a movie to read frame by frame: a TIFF stack, a zarr array, a picture.

    Parameters
    ----------
    path : str or os.PathLike
        A multi-page TIFF, (T, Y, X[, 3]) one page (or a fixed number of
        pages) per frame; a zarr array or multiscale group (level 0) whose
        first axis is time; or any single picture, which is one frame.
    channel_axis : int, optional
        The colour axis of the stack (e.g. 1 for (T, 3, Y, X)), moved last.

    Yields
    ------
    Frames

    Examples
    --------
    >>> import tempfile, tifffile
    >>> path = Path(tempfile.mkdtemp()) / "frames.tif"
    >>> tifffile.imwrite(path, np.zeros((5, 16, 24, 3), dtype=np.uint8))
    >>> with open_frames(path) as frames:
    ...     frames.count, frames.read(4).shape
    (5, (16, 24, 3))
    """
    source = Path(path)
    if is_zarr_path(source):
        yield _zarr_frames(source, channel_axis)
        return
    if source.suffix.lower() in _TIFF_SUFFIXES:
        with _open_tiff(source) as tiff:
            if len(tiff.pages) > 1:
                yield _tiff_frames(source, tiff, channel_axis)
                return
    picture = read_image(source, channel_axis=channel_axis)
    yield Frames(1, lambda _: picture, picture.dtype)


def _open_tiff(source: Path) -> Any:
    import tifffile

    try:
        check_regular_file(source)  # a FIFO or /dev/zero would block the reader
    except Refusal as refusal:
        raise InputError(f"Cannot read {source}: {refusal}") from refusal
    try:
        return tifffile.TiffFile(source)
    except Exception as error:  # tifffile raises many types for bad files
        raise InputError(
            f"Cannot read {source} as a TIFF ({error}). Check that it opens in an "
            "image viewer."
        ) from error


def _tiff_frames(source: Path, tiff: Any, channel_axis: int | None) -> Frames:
    shape = tuple(tiff.series[0].shape)
    count, pages = shape[0], len(tiff.pages)
    per_frame = pages // count
    if pages % count or per_frame * int(np.prod(tiff.pages[0].shape)) != int(
        np.prod(shape[1:])
    ):
        raise InputError(
            f"Cannot read {source} frame by frame: its {pages} pages do not split "
            f"into the {count} frames of its shape {shape}; save it with one page "
            "per frame, e.g. tifffile.imwrite(path, frames)"
        )
    colour = _frame_axis(source, shape, channel_axis)
    try:  # one frame is in memory at a time: that is what must fit
        check_decoded_bytes(
            shape[1:],
            math.prod(shape[1:]) * tiff.series[0].dtype.itemsize,
            per=" per frame",
        )
    except Refusal as refusal:
        raise InputError(f"Cannot read {source}: {refusal}") from refusal

    def read(t: int) -> np.ndarray:
        pages_of_t = range(t * per_frame, (t + 1) * per_frame)
        frame = tiff.asarray(key=pages_of_t).reshape(shape[1:])
        return frame if colour is None else np.moveaxis(frame, colour, -1)

    return Frames(count, read, np.dtype(tiff.series[0].dtype))


def _zarr_frames(source: Path, channel_axis: int | None) -> Frames:
    try:
        levels = open_zarr_image(source)
    except Exception as error:
        raise InputError(
            f"Cannot read {source} as a zarr array or multiscale group: {error}"
        ) from error
    movie = levels[0] if isinstance(levels, list) else levels
    if movie.ndim < 3 or (
        movie.ndim == 3 and movie.shape[-1] in (3, 4) and channel_axis is None
    ):
        raise InputError(
            f"Cannot use {source} as a movie: it holds one picture of shape "
            f"{movie.shape}; a movie's zarr array has time first, (T, Y, X[, 3])"
        )
    colour = _frame_axis(source, movie.shape, channel_axis)

    def read(t: int) -> np.ndarray:
        frame = np.asarray(movie[t])
        return frame if colour is None else np.moveaxis(frame, colour, -1)

    return Frames(movie.shape[0], read, np.dtype(movie.dtype), lazy=True)


def _frame_axis(
    source: Path, shape: tuple[int, ...], channel_axis: int | None
) -> int | None:
    """The colour axis of one frame, for a stack's `channel_axis`."""
    if channel_axis is None:
        return None
    if not -len(shape) < channel_axis < len(shape) or channel_axis in (0, -len(shape)):
        raise InputError(
            f"Cannot use {source} with --channel-axis {channel_axis}: its shape is "
            f"{shape}, whose axis 0 is time; the colour axis must be one of "
            f"1..{len(shape) - 1}"
        )
    axis = channel_axis - 1 if channel_axis > 0 else channel_axis
    if shape[channel_axis] not in (3, 4):
        raise InputError(
            f"Cannot use {source} with --channel-axis {channel_axis}: that axis has "
            f"{shape[channel_axis]} entries in shape {shape}, and colour needs 3 or 4"
        )
    return axis


def movie_range(frames: Frames) -> tuple[float, float] | None:
    """The ``image_range`` that ``overlay()`` gives the whole movie.

    None for uint8 and bool frames, whose range needs no data. Zarr frames
    take their dtype's rule, unread (integers: the dtype's range, floats:
    (0, 1)). Other frames are scanned once, one at a time, for their finite
    minimum and maximum (floats within [0, 1] use (0, 1)).
    """
    from napari_heatoverlay.engine.inputs import image_range_for

    if frames.dtype.kind == "b" or frames.dtype == np.uint8:
        return None
    if frames.lazy:
        if frames.dtype.kind in "iu":
            info = np.iinfo(frames.dtype)
            return float(info.min), float(info.max)
        return 0.0, 1.0
    low, high = np.inf, -np.inf
    for frame in frames:
        values = frame[np.isfinite(frame)] if frame.dtype.kind == "f" else frame
        if values.size:
            low, high = min(low, values.min()), max(high, values.max())
    if low > high:
        return 0.0, 1.0
    return image_range_for(np.array([low, high], dtype=frames.dtype), None)


def read_maps(
    path: str | os.PathLike,
    *,
    key: str | None = None,
    channel: int | None = None,
    reduce: str | None = None,
) -> np.ndarray:
    """Read the maps of a movie: (T, h, w), or one (h, w) map for every frame.

    Parameters
    ----------
    path : str or os.PathLike
        A feature file (as the command line reads it, never unpickled)
        holding (h, w), (T, h, w) or (T, C, h, w); or a grey picture or TIFF
        stack, whose values are the heat.
    key : str, optional
        Which array of a file holding several.
    channel, reduce
        For (T, C, h, w) maps: the channel to show, or how to combine them
        (``"mean"``, ``"max"``, ``"l2"``, ``"sum"``), in every frame.

    Returns
    -------
    ndarray of float64, shape (T, h, w) or (h, w)

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "maps.npy"
    >>> np.save(path, np.ones((20, 8, 4, 6), dtype=np.float32))
    >>> read_maps(path, reduce="sum").shape
    (20, 4, 6)
    """
    # the file's layout does not say which axis is time: (T, h, w) reads as
    # "CHW"; a movie's channels are the second axis of (T, C, h, w) alone
    stored = read_heatmap_stack(path, key=key, channel_axis=None)
    source, heat, layout = stored.source, stored.data, stored.layout
    picked = channel is not None or reduce is not None
    if heat.ndim == 3 and picked:
        raise OptionError(
            f"{source} has shape {heat.shape}: one map per frame, (T, h, w), with "
            "no channels to pick; drop --channel/--reduce (they are for (T, C, h, w) "
            "maps)"
        )
    if (heat.ndim == 2 and picked) or heat.ndim == 4:
        axis = 1 if heat.ndim == 4 else None
        heat = choose_channels(
            stored._replace(channel_axis=axis),
            channel=channel,
            reduce=reduce,
            single=True,
        ).data
    if heat.ndim not in (2, 3):
        raise InputError(
            f"Cannot use {source} as the maps of a movie: it has shape {heat.shape} "
            f"(layout {layout}); save (T, h, w) maps, or (T, C, h, w) with --channel "
            "or --reduce"
        )
    return np.asarray(heat, dtype=np.float64)


def check_encoder(path: str | os.PathLike) -> None:
    """Raise ImportError, naming the install, if `path`'s format cannot be written.

    GIF needs only Pillow; MP4 needs the ffmpeg binary of ``imageio-ffmpeg``.
    """
    if Path(path).suffix.lower() != ".mp4":
        return
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as error:
        raise ImportError(
            f"writing {Path(path).name} needs ffmpeg from imageio-ffmpeg, which is "
            f"missing ({error}): {INSTALL_VIDEO}, or write a .gif"
        ) from None


def write_video(
    path: str | os.PathLike,
    frames: Iterable[Any],
    *,
    fps: float = 10.0,
    quality: int = 8,
    count: int | None = None,
    force: bool = False,
    parents: bool = False,
    progress: bool = True,
) -> Path:
    """Write frames to an MP4 or GIF movie, one at a time, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        ``.mp4`` (H.264, yuv420p: plays everywhere; an odd width or height
        gains one black column or row) or ``.gif`` (256 colours per frame,
        delays in 1/100 s, loops forever).
    frames : iterable of (Y, X, 3) uint8 arrays
        E.g. a (T, Y, X, 3) array, a lazy dask array (each frame computed
        when it is written) or a generator. All frames have one shape.
    fps : float
        Frames per second (> 0).
    quality : int
        MP4 quality from 0 (smallest) to 10 (best), imageio's scale (8: H.264
        CRF 10); ignored for GIF.
    count : int, optional
        The number of frames, for the progress bar (default ``len(frames)``).
    force : bool
        Replace an existing file.
    parents : bool
        Create missing parent folders.
    progress : bool
        Show a progress bar (tqdm, on stderr) when stderr is a terminal.

    Returns
    -------
    pathlib.Path
        The movie written.

    Raises
    ------
    ImportError
        For MP4 without imageio-ffmpeg (``pip install "napari-heatoverlay[video]"``).
    WriteError
        If the movie could not be written (a full disk, ffmpeg stopped);
        nothing is left behind.

    Examples
    --------
    >>> import tempfile
    >>> from napari_heatoverlay import overlay, sample, write_video
    >>> frames, maps = sample(frames=4)
    >>> path = Path(tempfile.mkdtemp()) / "movie.gif"
    >>> write_video(path, overlay(frames, maps), fps=5, progress=False).name
    'movie.gif'
    """
    from tqdm import tqdm

    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise OptionError(
            f"cannot write {target} as a movie: use a suffix of "
            f"{', '.join(VIDEO_SUFFIXES)}"
        )
    if isinstance(fps, bool) or not (isinstance(fps, Real) and 0 < fps < np.inf):
        raise ValueError(f"fps must be a number > 0, got {fps!r}")
    if isinstance(quality, bool) or quality not in range(11):
        raise ValueError(f"quality must be a whole number 0..10, got {quality!r}")
    check_free(target, force=force, parents=parents)
    check_encoder(target)
    if count is None and hasattr(frames, "__len__"):
        count = len(frames)
    with (
        atomic_target(target, force=force, parents=parents) as temporary,
        tqdm(
            total=count,
            unit="frame",
            desc=f"writing {target.name}",
            disable=None if progress else True,
        ) as bar,
    ):
        encode(temporary, frames, fps=fps, quality=quality, on_frame=bar.update)
    return target


def encode(
    path: Path,
    frames: Iterable[Any],
    *,
    fps: float = 10.0,
    quality: int = 8,
    on_frame: Callable[[], Any] | None = None,
) -> int:
    """Encode `frames` straight into `path` (no temporary), by its suffix.

    :func:`write_video` calls it on its hidden temporary; see it for the
    arguments. `on_frame` is called after each frame. Returns the number of
    frames written (at least one).
    """
    encoder = _encode_mp4 if path.suffix.lower() == ".mp4" else _encode_gif
    written = encoder(path, _checked(frames), fps, quality, on_frame or _nothing)
    if not written:
        raise ValueError(f"no frames to write to {path.name}; pass at least one")
    return written


def _nothing() -> None:
    """A frame was written; nobody is counting."""


def _checked(frames: Iterable[Any]) -> Iterator[np.ndarray]:
    """Each frame as a (Y, X, 3) uint8 array, all of one shape."""
    shape = None
    for number, frame in enumerate(frames):
        pixels = np.asarray(frame)
        if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[-1] != 3:
            raise ValueError(
                f"frame {number} is {pixels.dtype} of shape {pixels.shape}; a movie "
                "takes (Y, X, 3) uint8 frames, as overlay() makes them"
            )
        if shape is None:
            shape = pixels.shape
        elif pixels.shape != shape:
            raise ValueError(
                f"frame {number} has shape {pixels.shape}, but the first has {shape}; "
                "every frame of a movie has one size"
            )
        yield pixels


def _encode_mp4(
    path: Path,
    frames: Iterator[np.ndarray],
    fps: float,
    quality: int,
    done: Callable[[], Any],
) -> int:
    import imageio.v2 as imageio

    writer = imageio.get_writer(
        path,
        format="FFMPEG",
        mode="I",
        fps=fps,
        quality=quality,
        codec="libx264",
        pixelformat="yuv420p",
        macro_block_size=1,
        # yuv420p needs an even size: pad with black rather than resample
        output_params=[
            "-vf",
            "pad=ceil(iw/2)*2:ceil(ih/2)*2",
            "-movflags",
            "+faststart",
        ],
    )
    written = 0
    try:
        for frame in frames:
            try:
                writer.append_data(frame)
            except OSError as error:
                raise _ffmpeg_error(path, error) from error
            written += 1
            done()
    finally:
        writer.close()
    if written:
        _check_mp4(path, written)
    return written


def _ffmpeg_error(path: Path, error: OSError) -> OSError:
    """ffmpeg stopped: say why if the disk is full, else briefly."""
    if shutil.disk_usage(path.parent).free < 2**20:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return OSError(
        errno.EIO, f"ffmpeg stopped while encoding ({first}); check the free disk space"
    )


def _check_mp4(path: Path, frames: int) -> None:
    """Refuse a movie ffmpeg could not finish (its index is written last)."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = next(reader)
    except (OSError, RuntimeError, StopIteration) as error:
        full = shutil.disk_usage(path.parent).free < 2**20
        raise OSError(
            errno.ENOSPC if full else errno.EIO,
            os.strerror(errno.ENOSPC)
            if full
            else f"ffmpeg left an unreadable movie ({error})",
        ) from error
    finally:
        reader.close()
    if not meta.get("duration"):
        raise OSError(errno.EIO, f"ffmpeg wrote an empty movie ({frames} frames sent)")


def _encode_gif(
    path: Path,
    frames: Iterator[np.ndarray],
    fps: float,
    quality: int,
    done: Callable[[], Any],
) -> int:
    from PIL import GifImagePlugin, Image

    delay = 1000.0 / fps  # milliseconds; GIF keeps hundredths of a second
    written = 0
    with path.open("wb") as stream:
        for frame in frames:
            picture = Image.fromarray(frame).quantize(256, Image.Quantize.FASTOCTREE)
            if not written:
                header, _ = GifImagePlugin.getheader(
                    picture, info={"loop": 0, "duration": delay}
                )
                stream.writelines(header)
            stream.writelines(
                GifImagePlugin.getdata(
                    picture, duration=delay, include_color_table=True
                )
            )
            written += 1
            done()
        stream.write(b";")
    return written
