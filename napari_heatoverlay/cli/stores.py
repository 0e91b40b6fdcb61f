"""``-o OUT.zarr``: a big image (a .zarr store, or any file) to a chunked .zarr
result, streamed to disk chunk by chunk."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from napari_heatoverlay.cli import flags
from napari_heatoverlay.cli.lines import Lines
from napari_heatoverlay.cli.main import PROG, CommandError, UsageError
from napari_heatoverlay.cli.targets import check_distinct
from napari_heatoverlay.engine.options import OverlayOptions
from napari_heatoverlay.io import outputs
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
    from napari_heatoverlay.io.images import open_zarr_image

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
    if is_zarr_path(image):
        try:
            levels = open_zarr_image(image)
        except Exception as error:
            raise CommandError(
                f"cannot read {image} as a zarr array or multiscale group: {error}"
            ) from error
    elif options.spatial_dims == 3:
        levels = read_volume(image)
    else:
        levels = read_image(image, channel_axis=options.channel_axis)
        options = options.replace(channel_axis=None)
    recipe = flags.recipe(args, options)
    heat = read_heatmap(
        heatmap,
        key=recipe.key,
        channel=recipe.channel,
        reduce=recipe.reduce,
        spatial_dims=options.spatial_dims,
    )
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
