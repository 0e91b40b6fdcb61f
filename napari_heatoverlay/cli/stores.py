"""``-o OUT.zarr``: a big image (a .zarr store, or any file) to a chunked .zarr
result, streamed to disk chunk by chunk.

A frame stack, (T, Y, X[, 3]) in a zarr array or a multi-page TIFF, takes
its maps as a movie does (:func:`~napari_heatoverlay.io.video.read_maps`):
(T, h, w) gives each frame its own map, (h, w) one map for every frame, all
on the one colour scale of the whole stack.
"""

from __future__ import annotations

import argparse
import sys
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from napari_heatoverlay.cli import flags
from napari_heatoverlay.cli.lines import Lines
from napari_heatoverlay.cli.main import PROG, CommandError, UsageError
from napari_heatoverlay.cli.targets import check_distinct
from napari_heatoverlay.engine.options import OverlayOptions
from napari_heatoverlay.io import outputs, video
from napari_heatoverlay.io.heatmaps import read_heatmap
from napari_heatoverlay.io.images import is_zarr_path, read_image, read_volume


def overlay_to_zarr(
    image: Path,
    heatmap: Path,
    args: argparse.Namespace,
    options: OverlayOptions,
    lines: Lines | None,
) -> int:
    """A big image (a .zarr store, or any file) to a chunked .zarr result.

    The overlay stays lazy and is streamed to disk chunk by chunk, so the
    image may be larger than memory; a .zarr pyramid gives a pyramid.
    ``--contours`` are traced once per 2-D slice and level (on a bounded
    grid) and drawn chunk by chunk (:mod:`~napari_heatoverlay.cli.lines`).
    """
    from napari_heatoverlay.engine.overlay import render

    output = Path(args.output) if args.output else None
    if output is None or not is_zarr_path(output):
        raise UsageError(
            f"{image} is a zarr store: write the overlay as one too, -o OUT.zarr"
        )
    if args.figure is not None:
        raise UsageError(
            "--figure needs an image file, not a zarr store; draw the figure "
            "from a picture of the region you want to show"
        )
    if heatmap.is_dir():
        raise UsageError(f"{heatmap} is a folder; pass one heatmap file")
    check_distinct({"output": output}, (image, heatmap))
    if args.skip_existing and output.exists():
        print(f"{PROG}: skipped {output}: it exists (--skip-existing)")
        return 0
    outputs.check_free(output, force=args.force, parents=args.parents, folder=True)
    with ExitStack() as opened:
        levels, frame_count, options = _open_image(image, options, opened)
        recipe = flags.recipe(args, options)
        if frame_count is None:
            heat = read_heatmap(
                heatmap,
                key=recipe.key,
                channel=recipe.channel,
                reduce=recipe.reduce,
                spatial_dims=options.spatial_dims,
            )
        else:
            heat = video.read_maps(
                heatmap, key=recipe.key, channel=recipe.channel, reduce=recipe.reduce
            )
            _check_map_count(image, frame_count, heatmap, heat)
        result = render(levels, heat, options)
        if lines is not None:
            result = _outline_levels(result, heat, lines, options)
        written = outputs.write_zarr(
            result,
            output,
            overwrite=args.force,
            progress=sys.stderr.isatty(),
            parents=args.parents,
        )
    print(f"wrote {written}")
    return 0


def _outline_levels(
    result: Any, heat: np.ndarray, lines: Lines, options: OverlayOptions
) -> Any:
    """The lines in each level of a zarr-bound overlay: lazily for a lazy one."""
    from napari_heatoverlay.cli.lines import outline_all, outline_lazy
    from napari_heatoverlay.engine.inputs import is_dask

    def outlined(level: Any) -> Any:
        if is_dask(level):
            return outline_lazy(level, heat, lines, options)
        return outline_all(level, heat, lines, options)

    if isinstance(result, list):
        return [outlined(level) for level in result]
    return outlined(result)


def _open_image(
    image: Path, options: OverlayOptions, opened: ExitStack
) -> tuple[Any, int | None, OverlayOptions]:
    """The image's levels, its frame count if it is a frame stack (else None),
    and the options to render it with.

    A multi-page TIFF stays open in `opened` and is read one frame at a time
    as the store's chunks are computed.
    """
    if is_zarr_path(image):
        from napari_heatoverlay.io.images import open_zarr_image

        try:
            levels = open_zarr_image(image)
        except Exception as error:
            raise CommandError(
                f"cannot read {image} as a zarr array or multiscale group: {error}"
            ) from error
        finest = levels[0] if isinstance(levels, list) else levels
        stack = options.spatial_dims == 2 and _is_frame_stack(finest.shape, options)
        return levels, finest.shape[0] if stack else None, options
    if options.spatial_dims == 3:
        return read_volume(image), None, options
    plain = options.replace(channel_axis=None)
    if image.suffix.lower() not in (".tif", ".tiff"):
        return read_image(image, channel_axis=options.channel_axis), None, plain
    frames = opened.enter_context(
        video.open_frames(image, channel_axis=options.channel_axis)
    )
    if frames.count == 1:
        return frames.read(0), None, plain
    if plain.image_range is None:
        whole = video.movie_range(frames)  # one image range, as for a movie
        plain = plain if whole is None else plain.replace(image_range=whole)
    return _lazy_frames(frames), frames.count, plain


def _is_frame_stack(shape: tuple[int, ...], options: OverlayOptions) -> bool:
    """True for a zarr array of shape (T, Y, X[, 3|4]): frames, time first."""
    colour = options.channel_axis is not None or (
        options.rgb is not False and shape[-1] in (3, 4)
    )
    return len(shape) - colour == 3


def _lazy_frames(frames: video.Frames) -> Any:
    """The frames as a dask array of one chunk per frame, each read when needed.

    One frame is read now, for the shape; the TIFF is read under a lock, as
    the store's chunks are computed in several threads.
    """
    import dask.array as da
    from dask import delayed

    first = frames.read(0)
    lock = threading.Lock()

    def read(t: int) -> np.ndarray:
        with lock:
            return frames.read(t)

    return da.stack(
        [
            da.from_delayed(delayed(read)(t), first.shape, first.dtype)
            for t in range(frames.count)
        ]
    )


def _check_map_count(
    image: Path, frame_count: int, heatmap: Path, maps: np.ndarray
) -> None:
    map_count = maps.shape[0] if maps.ndim == 3 else 1
    if map_count > 1 and map_count != frame_count:
        raise UsageError(
            f"{image} has {frame_count} frames but {heatmap} has {map_count} maps; "
            "give one map per frame, (T, h, w), or one (h, w) map for every frame"
        )
