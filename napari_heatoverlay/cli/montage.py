"""``--montage GRID.png``: one overlay per channel of a feature file, in a
labelled grid on one colour scale."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from napari_heatoverlay.cli.main import UsageError
from napari_heatoverlay.cli.targets import check_outputs
from napari_heatoverlay.engine.options import OverlayOptions
from napari_heatoverlay.io import heatmaps as heatmap_files
from napari_heatoverlay.io import outputs
from napari_heatoverlay.io.images import InputError, read_image


def montage_files(
    image: Path, heatmaps: list[Path], args: argparse.Namespace, options: OverlayOptions
) -> int:
    """One overlay per channel of a feature file, in a grid."""
    if len(heatmaps) > 1 or image.is_dir() or heatmaps[0].is_dir():
        raise UsageError(
            "--montage shows the channels of one heatmap file over one image file"
        )
    if args.reduce is not None:
        raise UsageError(
            "--reduce combines the channels into one map, and --montage shows them "
            "one by one: drop --reduce, or pick channels with --channel A:B"
        )
    check_montage_flags(args)
    if not check_outputs(args, inputs=(image, heatmaps[0])):
        return 0
    pixels = read_image(image, channel_axis=options.channel_axis)
    stack, names = _read_channels(heatmaps[0], args.key, args.channel)
    return write_montage(pixels, stack, args, options.replace(channel_axis=None), names)


def check_montage_flags(args: argparse.Namespace) -> None:
    """Refuse the flags --montage has no use for (-o, --figure, --contours)."""
    if args.output is not None or args.figure is not None:
        raise UsageError(
            "--montage writes the grid alone; write -o or --figure of one channel "
            "in another run"
        )
    if args.contours is not None:
        raise UsageError(
            "--contours draws into -o and --figure, not into --montage; write the "
            "overlay of one channel with -o to see its contours"
        )


def write_montage(
    image: np.ndarray,
    stack: np.ndarray,
    args: argparse.Namespace,
    options: OverlayOptions,
    names: list[str] | None = None,
) -> int:
    """Write the grid of `stack`'s (C, h, w) channels over `image` to --montage."""
    from napari_heatoverlay.montages import montage

    grid = montage(image, stack, labels=names or True, **options.as_kwargs())
    written = outputs.write_output(
        args.montage, grid, force=args.force, parents=args.parents
    )
    print(f"wrote {written}")
    return 0


def _read_channels(
    path: Path, key: str | None, channel: int | slice | None
) -> tuple[np.ndarray, list[str]]:
    """The (C, h, w) channels of a heatmap file that `channel` picks, and their
    numbers (all channels when None)."""
    stack = heatmap_files.read_heatmap_stack(path, key=key, channel=channel)
    heat = np.asarray(stack.data)
    if stack.channel_axis is None:
        heat = heat[None]
    else:
        heat = np.moveaxis(heat, stack.channel_axis, 0)
    if heat.ndim != 3:
        raise InputError(
            f"Cannot draw a montage of {path}: its channels have shape "
            f"{heat.shape[1:]} (layout {stack.layout}), not (h, w); save one sample "
            "per file"
        )
    assert stack.channels is not None  # no --reduce with --montage
    return np.asarray(heat, dtype=np.float64), [str(k) for k in stack.channels]
