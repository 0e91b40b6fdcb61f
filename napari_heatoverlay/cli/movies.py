"""``-o MOVIE.mp4|MOVIE.gif``: frames and maps blended and encoded one frame
at a time, on one colour scale for the whole movie."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from napari_heatoverlay.cli import flags
from napari_heatoverlay.cli.lines import Lines, outline
from napari_heatoverlay.cli.main import (
    DEFAULT_FPS,
    DEFAULT_QUALITY,
    CommandError,
    UsageError,
)
from napari_heatoverlay.cli.targets import check_outputs
from napari_heatoverlay.engine.normalize import compute_window
from napari_heatoverlay.engine.options import OverlayOptions
from napari_heatoverlay.io import video
from napari_heatoverlay.io.images import is_zarr_path

FIGURE_AND_MOVIE = (
    "--figure draws one picture, not a movie; write the movie alone, and a "
    "figure from one frame's files"
)


def overlay_to_video(
    image: Path,
    heatmap: Path,
    args: argparse.Namespace,
    options: OverlayOptions,
    lines: Lines | None,
) -> int:
    """Frames and maps to an MP4 or GIF movie, one frame at a time."""
    if (image.is_dir() and not is_zarr_path(image)) or heatmap.is_dir():
        raise UsageError(
            "a movie needs two files: the frames (a TIFF stack, a zarr array or "
            "one picture) and the maps (T, h, w); not folders"
        )
    if args.figure is not None:
        raise UsageError(FIGURE_AND_MOVIE)
    if args.format is not None:
        raise UsageError("--format is for folders; the suffix of -o picks the format")
    if not check_outputs(args, inputs=(image, heatmap)):
        return 0
    check_encoder(args.output)
    recipe = flags.recipe(args, options)
    maps = video.read_maps(
        heatmap, key=recipe.key, channel=recipe.channel, reduce=recipe.reduce
    )
    with video.open_frames(image, channel_axis=options.channel_axis) as frames:
        movie_length(image, frames.count, heatmap, maps)
        return write_movie(
            frames, maps, args, options.replace(channel_axis=None), lines
        )


def check_encoder(output: str) -> None:
    """Refuse, naming the install, a movie format whose encoder is missing."""
    try:
        video.check_encoder(output)
    except ImportError as error:
        raise CommandError(str(error)) from None


def movie_length(
    image: Path, frame_count: int, heatmap: Path, maps: np.ndarray
) -> None:
    """Refuse frames and maps whose counts differ (unless one of them is 1)."""
    map_count = maps.shape[0] if maps.ndim == 3 else 1
    if frame_count > 1 and map_count > 1 and frame_count != map_count:
        raise UsageError(
            f"{image} has {frame_count} frames but {heatmap} has {map_count} maps; "
            "give one map per frame, one map for every frame, or one picture for "
            "every map"
        )


def write_movie(
    frames: video.Frames,
    maps: np.ndarray,
    args: argparse.Namespace,
    options: OverlayOptions,
    lines: Lines | None,
) -> int:
    """Blend each frame with its map (one window for all) and encode it."""
    from napari_heatoverlay.engine.overlay import render

    count = max(frames.count, maps.shape[0] if maps.ndim == 3 else 1)
    if options.image_range is None:
        whole = video.movie_range(frames)
        options = options if whole is None else options.replace(image_range=whole)
    window = compute_window(maps, options)

    def blended() -> Iterator[np.ndarray]:
        for t in range(count):
            heat = maps[t] if maps.ndim == 3 else maps
            rgb = render(
                frames.read(min(t, frames.count - 1)), heat, options, window=window
            )
            yield rgb if lines is None else outline(rgb, heat, window, lines, options)

    written = video.write_video(
        args.output,
        blended(),
        fps=args.fps or DEFAULT_FPS,
        quality=DEFAULT_QUALITY if args.quality is None else args.quality,
        count=count,
        force=args.force,
        parents=args.parents,
    )
    print(f"wrote {written}")
    return 0
