"""One image in memory with its map to -o and --figure, or with several maps
to one comparison figure (a row per map)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from napari_heatoverlay.cli import flags
from napari_heatoverlay.cli.lines import Lines, draw_lines
from napari_heatoverlay.cli.main import UsageError
from napari_heatoverlay.cli.targets import check_outputs
from napari_heatoverlay.engine.options import OverlayOptions
from napari_heatoverlay.io import outputs
from napari_heatoverlay.io.heatmaps import read_heatmap
from napari_heatoverlay.io.images import read_image


def write_results(
    image: np.ndarray,
    heatmap: np.ndarray,
    args: argparse.Namespace,
    options: OverlayOptions,
    wanted: list[str],
    lines: Lines | None,
) -> int:
    """Write the overlay (-o) and/or the figure (--figure) that `wanted` names."""
    if "output" in wanted:
        from napari_heatoverlay.engine.overlay import render

        blended = render(image, heatmap, options)
        if lines is not None:
            draw_lines(blended, heatmap, lines, options)
        written = outputs.write_output(
            args.output, blended, force=args.force, parents=args.parents
        )
        print(f"wrote {written}")
    if "figure" in wanted:
        from napari_heatoverlay.figures import figure

        drawing = figure(image, heatmap, contours=args.contours, **options.as_kwargs())
        save_figure(drawing, args)
    return 0


def compare_figure(
    image: Path, heatmaps: list[Path], args: argparse.Namespace, options: OverlayOptions
) -> int:
    """Several heatmaps of one image: a figure with one row per map."""
    if args.output is not None or args.figure is None:
        raise UsageError(
            "several heatmaps make one comparison figure: pass --figure FIG.pdf "
            "(and no -o; overlay the maps one at a time to write overlays)"
        )
    if image.is_dir() or any(path.is_dir() for path in heatmaps):
        raise UsageError("several heatmaps need an image file and heatmap files")
    if not check_outputs(args, inputs=(image, *heatmaps)):
        return 0
    recipe = flags.recipe(args, options)
    pixels = read_image(image, channel_axis=options.channel_axis)
    stems = [path.stem for path in heatmaps]
    names = stems if len(set(stems)) == len(stems) else [path.name for path in heatmaps]
    maps = {
        name: read_heatmap(
            path, key=recipe.key, channel=recipe.channel, reduce=recipe.reduce
        )
        for name, path in zip(names, heatmaps, strict=True)
    }
    from napari_heatoverlay.figures import figure

    drawing = figure(
        pixels,
        maps,
        contours=args.contours,
        **options.replace(channel_axis=None).as_kwargs(),
    )
    save_figure(drawing, args)
    return 0


def save_figure(drawing: Any, args: argparse.Namespace) -> None:
    """Write a matplotlib figure to --figure, atomically, in its suffix's format."""
    suffix = Path(args.figure).suffix.lower()
    written = outputs.write_atomic(
        args.figure,
        lambda path: drawing.savefig(path, format=suffix[1:]),
        force=args.force,
        parents=args.parents,
    )
    print(f"wrote {written}")
