"""``heatoverlay IMAGE HEATMAP ...``: which command the files and flags ask for.

One pair is written here; the other forms have a module each: two folders
(:mod:`~napari_heatoverlay.cli.folders`), ``-o OUT.zarr``
(:mod:`~napari_heatoverlay.cli.stores`), movies
(:mod:`~napari_heatoverlay.cli.movies`), ``--montage``
(:mod:`~napari_heatoverlay.cli.montage`) and several maps' comparison figure
(:mod:`~napari_heatoverlay.cli.pair`); ``heatoverlay demo`` is
:mod:`~napari_heatoverlay.cli.demo`.

Each command first checks every output against every input and against the
other outputs (:mod:`~napari_heatoverlay.cli.targets`), then reads, blends
and writes. Options arrive validated
(:class:`~napari_heatoverlay.engine.options.OverlayOptions`), so nothing here
checks them again.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from napari_heatoverlay.cli import batch, flags
from napari_heatoverlay.cli.demo_viewer import show_demo
from napari_heatoverlay.cli.folders import overlay_folders
from napari_heatoverlay.cli.main import UsageError
from napari_heatoverlay.cli.montage import montage_files
from napari_heatoverlay.cli.movies import overlay_to_video
from napari_heatoverlay.cli.pair import compare_figure, write_results
from napari_heatoverlay.cli.stores import overlay_to_zarr
from napari_heatoverlay.cli.targets import check_outputs
from napari_heatoverlay.engine.options import OverlayOptions
from napari_heatoverlay.io import video
from napari_heatoverlay.io.images import is_zarr_path

__all__ = ["overlay_files", "show_demo"]


def overlay_files(args: argparse.Namespace, options: OverlayOptions) -> int:
    """``heatoverlay IMAGE HEATMAP ...``: a pair, two folders, or a zarr image."""
    image, heatmaps = Path(args.image), [Path(path) for path in args.heatmap]
    for path in (image, *heatmaps):
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
    flags.check_colormap(options)
    lines = flags.contour_lines(args)
    movie = args.output is not None and video.is_video_path(args.output)
    flags.check_movie_flags(args, movie)
    if args.montage is not None:
        return montage_files(image, heatmaps, args, options)
    if isinstance(args.channel, slice):
        raise UsageError(
            f"--channel {flags.slice_text(args.channel)} picks several channels, "
            "which --montage GRID.png shows; for -o and --figure pick one channel K"
        )
    if len(heatmaps) > 1:
        return compare_figure(image, heatmaps, args, options)
    heatmap = heatmaps[0]
    if movie:
        return overlay_to_video(image, heatmap, args, options, lines)
    if is_zarr_path(image) or (args.output and is_zarr_path(args.output)):
        return overlay_to_zarr(image, heatmap, args, options, lines)
    if image.is_dir() and heatmap.is_dir():
        return overlay_folders(image, heatmap, args, options, lines)
    if image.is_dir() or heatmap.is_dir():
        folder, file = (image, heatmap) if image.is_dir() else (heatmap, image)
        raise UsageError(
            f"{folder} is a folder but {file} is a file; pass two files, or two "
            "folders to pair their files by name"
        )
    if args.format is not None:
        raise UsageError(
            "--format is for folders; for one pair the suffix of -o picks the format"
        )
    wanted = check_outputs(args, inputs=(image, heatmap))
    if not wanted:
        return 0
    loaded = batch.load_pair(image, heatmap, flags.recipe(args, options))
    return write_results(
        *loaded, args, options.replace(channel_axis=None), wanted, lines
    )
