"""``heatoverlay demo``: the sample overlay, figure, movie or montage to files,
or napari with the widget (:mod:`~napari_heatoverlay.cli.demo_viewer`)."""

from __future__ import annotations

import argparse

from napari_heatoverlay.cli import flags
from napari_heatoverlay.cli.demo_viewer import open_demo_viewer
from napari_heatoverlay.cli.main import PROG, UsageError
from napari_heatoverlay.cli.montage import check_montage_flags, write_montage
from napari_heatoverlay.cli.movies import FIGURE_AND_MOVIE, check_encoder, write_movie
from napari_heatoverlay.cli.pair import write_results
from napari_heatoverlay.cli.targets import check_outputs
from napari_heatoverlay.engine.options import OverlayOptions
from napari_heatoverlay.io import video

#: Frames of ``heatoverlay demo -o demo.mp4``: the sample pans once around.
DEMO_FRAMES = 60


def demo(args: argparse.Namespace, options: OverlayOptions) -> int:
    """``heatoverlay demo``: the sample overlay, movie or montage to files, or
    napari with the widget."""
    flags.check_colormap(options)
    lines = flags.contour_lines(args)
    movie = args.output is not None and video.is_video_path(args.output)
    flags.check_movie_flags(args, movie)
    if args.output is None and args.figure is None and args.montage is None:
        if lines is not None and (
            args.contour_colour != "white" or args.contour_width != 2.0
        ):
            raise UsageError(
                "--contour-colour and --contour-width style the lines drawn into "
                "files; in napari each line takes its level's colour and the "
                "contour layer's controls set its width (or write the demo: "
                f"{PROG} demo --contours ... --contour-colour ... -o demo.png)"
            )
        return open_demo_viewer(options, () if lines is None else lines.levels)
    from napari_heatoverlay.samples import sample

    if args.montage is not None:
        check_montage_flags(args)
        if not check_outputs(args, inputs=()):
            return 0
        image, features = sample(channels=16)
        return write_montage(image, features[0], args, options)
    wanted = check_outputs(args, inputs=())
    if not wanted:
        return 0
    if movie:
        if args.figure is not None:
            raise UsageError(FIGURE_AND_MOVIE)
        check_encoder(args.output)
        frames, maps = sample(frames=DEMO_FRAMES)
        stack = video.Frames(len(frames), frames.__getitem__, frames.dtype)
        return write_movie(stack, maps, args, options, lines)
    return write_results(*sample(), args, options, wanted, lines)
