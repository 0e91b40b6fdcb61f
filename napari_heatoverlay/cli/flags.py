"""The flags every command checks before it reads a file, and what they turn into.

``--colormap`` is looked up, ``--contours`` and its styling become
:class:`~napari_heatoverlay.cli.lines.Lines`, ``--fps``/``--quality`` are
refused without a movie, and the map flags become a
:class:`~napari_heatoverlay.cli.batch.Recipe`.
"""

from __future__ import annotations

import argparse

from napari_heatoverlay.cli import batch
from napari_heatoverlay.cli.lines import Lines
from napari_heatoverlay.cli.main import UsageError
from napari_heatoverlay.engine.options import OverlayOptions


def check_colormap(options: OverlayOptions) -> None:
    """Refuse an unknown colormap name before any file is read."""
    from napari_heatoverlay.engine.colormap import colormap_lut

    try:
        colormap_lut(options.colormap)
    except ValueError:
        raise UsageError(
            f"argument --colormap: unknown colormap {options.colormap!r}; use a "
            "matplotlib colormap name such as jet, viridis, magma, turbo or "
            "coolwarm (add _r to reverse it)"
        ) from None


def contour_lines(args: argparse.Namespace) -> Lines | None:
    """The checked ``--contours`` flags, or None without ``--contours``."""
    if args.contours is None:
        return None
    from matplotlib.colors import to_rgb

    try:
        colour = to_rgb(args.contour_colour)
    except ValueError:
        raise UsageError(
            f"argument --contour-colour: unknown colour {args.contour_colour!r}; "
            "use a name such as white, black or red, or #rrggbb"
        ) from None
    return Lines(args.contours, colour, args.contour_width)


def check_movie_flags(args: argparse.Namespace, movie: bool) -> None:
    """Refuse ``--fps`` and ``--quality`` unless -o writes a movie."""
    given = [
        flag
        for flag, value in (("--fps", args.fps), ("--quality", args.quality))
        if value is not None
    ]
    if given and not movie:
        raise UsageError(
            f"{' and '.join(given)} set a movie's encoding: write one with -o "
            "OUT.mp4 or -o OUT.gif"
        )


def recipe(
    args: argparse.Namespace, options: OverlayOptions, lines: Lines | None = None
) -> batch.Recipe:
    """What to do with each pair: the options, the map flags and the lines."""
    return batch.Recipe(
        options=options,
        key=getattr(args, "key", None),
        channel=getattr(args, "channel", None),
        reduce=getattr(args, "reduce", None),
        force=args.force,
        lines=lines,
    )


def slice_text(channels: slice) -> str:
    """``--channel A:B[:S]`` as the user wrote it.

    Examples
    --------
    >>> slice_text(slice(None, 16, None)), slice_text(slice(-8, None, 2))
    (':16', '-8::2')
    """
    parts = [channels.start, channels.stop] + (
        [] if channels.step is None else [channels.step]
    )
    return ":".join("" if part is None else str(part) for part in parts)
