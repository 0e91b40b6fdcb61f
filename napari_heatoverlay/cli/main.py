"""The ``heatoverlay`` command: parsers, help texts and exit statuses.

The overlay flags are built from :data:`~napari_heatoverlay.engine.options.OPTIONS`,
so a new ``overlay()`` option becomes a flag without touching this module.
Only the standard library and the options module load here: ``--help`` and
a mistyped flag answer at once. The commands themselves
(:mod:`~napari_heatoverlay.cli.commands`) load NumPy, imageio and the engine
when they run; napari and Qt load only for ``heatoverlay demo`` without
``-o``.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from napari_heatoverlay.engine.options import (
    OPTION_BY_NAME,
    OPTIONS,
    Option,
    OverlayOptions,
    Reduction,
)

PROG = "heatoverlay"
BATCH_FORMATS = ("png", "jpg", "tiff")
DEFAULT_FPS = 10.0
DEFAULT_QUALITY = 8

USAGE = f"""{PROG} IMAGE HEATMAP -o OUT [--figure FIG] [options]
       {PROG} IMAGE HEATMAP [HEATMAP ...] --figure FIG [options]
       {PROG} IMAGE FEATURES --montage GRID [--channel A:B[:S]] [options]
       {PROG} FRAMES MAPS -o MOVIE.mp4|MOVIE.gif [--fps FPS] [options]
       {PROG} IMAGES_DIR HEATMAPS_DIR -o OUT_DIR [options]
       {PROG} demo [-o OUT] [--figure FIG] [options]"""

DESCRIPTION = """\
Lay a heatmap over an image with transparency and write the result.

IMAGE is any picture imageio reads (PNG, JPEG, TIFF, BMP, ...). HEATMAP is a
feature file (.npy, .npz, .pt, .pth, .safetensors; read like the napari
plugin reads it, never unpickled) or an image file, whose luminance
0.2125 R + 0.7154 G + 0.0721 B is the heat (alpha is ignored). It may be
coarser than the image: it covers the same field of view and is resampled."""

EPILOG = f"""\
examples:
  {PROG} cat.jpg gradcam.npy -o cat_overlay.png
  {PROG} cat.jpg layer4.pt --reduce mean --norm percentile -o overlay.jpg
  {PROG} cat.jpg features.npz --key layer3 --channel 12 --colormap magma -o out.tif
  {PROG} cat.jpg logits.npy --norm sigmoid --mode scaled --threshold 0.2 \\
      -o overlay.png --figure figure.pdf
  {PROG} cat.jpg gradcam.npy ig.npy occlusion.npy --figure methods.pdf \\
      --norm cumulative --sign positive       (one row per method)
  {PROG} cat.jpg gradcam.npy -o outlined.png --contours 0.5,0.8
  {PROG} cat.jpg layer4.pt --montage channels.png --channel 0:16
  {PROG} frames.tif maps.npy -o movie.mp4 --fps 12 --contours 0.6
  {PROG} images/ heatmaps/ -o overlays/ --alpha 0.4 --format jpg
  {PROG} images/ heatmaps/ -o overlays/ --skip-existing     (resume a batch)
  {PROG} slide.zarr tumour_probability.npy -o overlay.zarr --norm none
  {PROG} demo                 open napari with the sample data and the widget
  {PROG} demo -o demo.png     write the sample overlay, no display needed
  {PROG} demo -o demo.gif     write the sample movie

heatmaps with several maps:
  A file holding several arrays (.npz, a state dict) needs --key NAME unless
  it holds exactly one. A map with a channel axis of more than one channel,
  (C, h, w) or (N, C, h, w), needs --channel K or --reduce mean|max|l2|sum:
  the command stops and lists them rather than guess. A map without a
  channel axis counts as one channel, so --channel 0 and --reduce work on it.
  --montage GRID.png draws one overlay per channel in a labelled grid, all on
  one colour scale; --channel A:B[:S] (Python's slice) picks the channels.

outputs:
  -o picks the format by suffix: .png, .jpg/.jpeg (quality 95), .tif/.tiff,
  or .zarr for images larger than memory: IMAGE may then be a .zarr array or
  multiscale group (levels 0, 1, ...), the overlay is streamed to a chunked
  (multiscale) store chunk by chunk, and the store appears only when whole.
  --figure writes the three-panel figure (image | heatmap | overlay, colour
  bar in heatmap units) as .pdf, .png or .svg, in addition to -o or alone.
  --contours 0.5,0.8 draws the iso-lines of the normalised heat n (in [0, 1])
  into -o and --figure, and marks them on the figure's colour bar. Every
  pair of a folder run gets them, each slice of a stack or volume its own,
  and a .zarr store gets them drawn chunk by chunk.
  An existing file is never replaced without --force (or skipped with
  --skip-existing), a missing folder is never created without --parents, and
  every file is written to a hidden temporary name and then renamed, so it
  is whole or absent.

movies:
  -o MOVIE.mp4 (H.264; needs pip install "napari-heatoverlay[video]") or
  MOVIE.gif writes one frame per map of HEATMAP (T, h, w), or (T, C, h, w)
  with --channel or --reduce, over FRAMES: a (T, Y, X[, 3]) TIFF stack, a zarr
  array whose first axis is time, or one picture for every frame (a single
  map lies over every frame). One colour scale for the whole movie; frames
  are read, blended and encoded one at a time, so memory does not grow with
  the movie's length.

folders:
  Files are paired by name without suffix (cat.png with cat.npy); overlays
  go to OUT_DIR/<name>.<format> (OUT_DIR is created if its parent exists). A
  broken pair is reported and skipped; unpaired files are listed at the end.
  Pairs run in --jobs processes (default: all CPUs).

exit status:
  0 done; 1 an input could not be read, an output could not be written, or a
  pair failed; 2 the command line needs fixing (a bad option or value, a
  missing input, an existing output without --force); 130 interrupted
  (Ctrl-C), 143 terminated. --debug shows the Python traceback of an error."""

DEMO_DESCRIPTION = """\
Without -o or --figure: open napari with the sample photo and heatmap and the
"Heat overlay" widget docked, the overlay already shown (needs napari and
Qt); overlay flags set the widget's controls. With -o and/or --figure: write
the sample overlay and/or figure instead; no display needed. -o demo.mp4 or
demo.gif writes the sample movie, --montage grid.png the sample's 16
channels."""

DEMO_EPILOG = f"""\
examples:
  {PROG} demo
  {PROG} demo --mode scaled --alpha 0.9
  {PROG} demo -o demo.png
  {PROG} demo --norm symmetric --colormap coolwarm --figure demo.pdf
  {PROG} demo --contours 0.5,0.8 -o outlined.png
  {PROG} demo -o demo.gif --fps 15
  {PROG} demo --montage channels.png"""


class UsageError(ValueError):
    """The command line needs fixing (exit status 2)."""


class CommandError(RuntimeError):
    """The command could not do its work (exit status 1)."""


class Terminated(BaseException):
    """SIGTERM arrived; raised in the main thread so that cleanup runs."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``heatoverlay`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 done, 1 failure, 2 bad command line, 130 interrupted,
        143 terminated.

    Examples
    --------
    >>> from napari_heatoverlay.cli.main import main
    >>> main(["demo", "-o", "demo.png"])  # doctest: +SKIP
    0
    """
    args = negative_slices_joined(list(sys.argv[1:] if argv is None else argv))
    demo = args[:1] == ["demo"]
    parser = build_demo_parser() if demo else build_parser()
    namespace = parser.parse_args(args[1:] if demo else args)
    try:
        options = overlay_options(namespace)
    except (TypeError, ValueError) as error:
        parser.error(flagged(error))
    with _terminate_as_exception():
        try:
            from napari_heatoverlay.cli import commands
            from napari_heatoverlay.cli import demo as demo_command

            command = demo_command.demo if demo else commands.overlay_files
            return command(namespace, options)
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130
        except Terminated:
            print(f"{PROG}: terminated", file=sys.stderr)
            return 143
        except Exception as error:
            return report(error, debug=namespace.debug)


def overlay_options(namespace: argparse.Namespace) -> OverlayOptions:
    """The validated ``overlay()`` options that the flags in `namespace` say."""
    return OverlayOptions(
        **{option.name: getattr(namespace, option.name) for option in cli_options()}
    )


def cli_options() -> tuple[Option, ...]:
    """The ``overlay()`` options the command line has a flag for."""
    return tuple(option for option in OPTIONS if not option.cli_absent)


def flagged(error: BaseException) -> str:
    """An option's error message, led by the flag it is about."""
    name = getattr(error, "option", None)
    if name in OPTION_BY_NAME:
        return f"argument {OPTION_BY_NAME[name].flag}: {error}"
    return str(error)


def build_parser() -> argparse.ArgumentParser:
    """The parser for ``heatoverlay IMAGE HEATMAP`` and the folder form."""
    parser = _Parser(
        prog=PROG,
        usage=USAGE,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "image", metavar="IMAGE", help="image file, or a folder of them"
    )
    parser.add_argument(
        "heatmap",
        metavar="HEATMAP",
        nargs="+",
        help="heatmap file, or a folder of them; several files with --figure "
        "make a comparison figure, one row per map",
    )
    _add_output_flags(parser)
    batch = parser.add_argument_group("folders")
    batch.add_argument(
        "--format",
        choices=BATCH_FORMATS,
        help="output format for folders (default: png)",
    )
    batch.add_argument(
        "-j",
        "--jobs",
        type=_positive_int,
        default=os.cpu_count() or 1,
        help="processes for folders (default: %(default)s, all CPUs; 1 runs in "
        "this process)",
    )
    choice = parser.add_argument_group("which map of the heatmap file")
    choice.add_argument(
        "--key", metavar="NAME", help="array to use from a file holding several"
    )
    channels = choice.add_mutually_exclusive_group()
    channels.add_argument(
        "--channel",
        metavar="K",
        type=channel_choice,
        help="use channel K of a (C, h, w) or (N, C, h, w) map (negative: from "
        "the end); for --montage also channels A:B[:S], as a Python slice "
        "(--channel -4: the last four)",
    )
    channels.add_argument(
        "--reduce",
        choices=[reduction.value for reduction in Reduction],
        help="combine all channels: mean, max, l2 (sqrt of the sum of squares) or sum",
    )
    add_overlay_flags(parser)
    return parser


def build_demo_parser() -> argparse.ArgumentParser:
    """The parser for ``heatoverlay demo``."""
    parser = _Parser(
        prog=f"{PROG} demo",
        description=DEMO_DESCRIPTION,
        epilog=DEMO_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_output_flags(parser)
    add_overlay_flags(parser)
    return parser


def _add_drawing_flags(parser: argparse.ArgumentParser) -> None:
    lines = parser.add_argument_group("contours")
    lines.add_argument(
        "--contours",
        metavar="LEVELS",
        type=contour_levels,
        help="draw the lines where the normalised heat n crosses these levels, "
        "comma-separated in [0, 1] (e.g. 0.5,0.8), into -o and --figure",
    )
    lines.add_argument(
        "--contour-colour",
        metavar="COLOUR",
        default="white",
        help="colour of the lines in -o: a name or #rrggbb (default: white)",
    )
    lines.add_argument(
        "--contour-width",
        metavar="PX",
        type=_positive,
        default=2.0,
        help="width of the lines in -o, in pixels (default: 2)",
    )
    movies = parser.add_argument_group("movies (-o .mp4 or .gif)")
    movies.add_argument(
        "--fps",
        type=_positive,
        help=f"frames per second (default: {DEFAULT_FPS:g})",
    )
    movies.add_argument(
        "--quality",
        type=_quality,
        help="MP4 quality, 0 (smallest file) to 10 (best) (default: "
        f"{DEFAULT_QUALITY}); GIF ignores it: 256 colours per frame",
    )


def add_overlay_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per ``overlay()`` option, typed, with its help and default."""
    group = parser.add_argument_group(
        "overlay options", "as for napari_heatoverlay.overlay()"
    )
    for option in cli_options():
        group.add_argument(option.flag, dest=option.name, **_flag(option))


def _flag(option: Option) -> dict[str, Any]:
    default = option.default
    shown = (
        " ".join(map(_number_text, default)) if isinstance(default, tuple) else default
    )
    help_text = option.help if default is None else f"{option.help} (default: {shown})"
    argument: dict[str, Any] = {"default": default, "help": help_text}
    if option.kind == "choice":
        assert option.choices is not None
        argument["choices"] = [member.value for member in option.choices]
        argument["default"] = str(default)
    elif option.kind == "unit":
        argument["type"] = _unit_interval
    elif option.kind in ("number", "percent", "positive"):
        argument["type"] = _finite
        if option.metavar:
            argument["metavar"] = option.metavar[0]
    elif option.kind == "dims":
        argument.update(type=int, choices=(2, 3))
    elif option.kind == "axis":
        argument.update(type=int, metavar=option.metavar[0] if option.metavar else None)
    elif option.kind == "pair":
        argument.update(nargs=2, type=_finite, metavar=option.metavar)
    elif option.kind == "colormap":
        argument["metavar"] = "NAME"
    else:
        raise NotImplementedError(
            f"option {option.name!r} of kind {option.kind!r} has no command-line "
            "form: give it one here or set its cli_absent reason"
        )
    return argument


def _add_output_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="overlay file (.png, .jpg, .tif, .zarr), movie (.mp4, .gif), or the "
        "output folder for folders",
    )
    parser.add_argument(
        "--figure",
        metavar="FIG",
        help="also (or only) write the image | heatmap | overlay figure with a "
        "colour bar (.pdf, .png, .svg)",
    )
    parser.add_argument(
        "--montage",
        metavar="GRID",
        help="write one overlay per channel of the heatmap in a labelled grid "
        "(.png, .jpg, .tif), on one colour scale, instead of -o and --figure",
    )
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument(
        "--force", action="store_true", help="replace existing output files"
    )
    existing.add_argument(
        "--skip-existing",
        action="store_true",
        help="leave existing outputs as they are and do only the missing ones",
    )
    parser.add_argument(
        "--parents",
        action="store_true",
        help="create missing folders of the outputs (as mkdir -p)",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show Python tracebacks of errors"
    )
    _add_drawing_flags(parser)


def channel_choice(text: str) -> int | slice:
    """``--channel``: one channel ``K``, or channels ``A:B[:S]`` as a Python slice.

    Examples
    --------
    >>> channel_choice("3"), channel_choice("0:16"), channel_choice("::-2")
    (3, slice(0, 16, None), slice(None, None, -2))
    """
    parts = text.split(":")
    try:
        if len(parts) == 1:
            return int(text)
        if len(parts) <= 3:
            bounds = [int(part) if part.strip() else None for part in parts]
            if bounds[2:] != [0]:
                return slice(*bounds)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(
        f"must be a channel K or channels A:B[:S] (whole numbers, step not 0), "
        f"got {text!r}"
    )


#: A channel range that starts with a minus (``-2:``, ``-8::2``, ``-4:-1``):
#: argparse takes it for a flag, as it is no negative number.
_NEGATIVE_SLICE = re.compile(r"-\d+:-?\d*(?::-?\d*)?")


def negative_slices_joined(argv: list[str]) -> list[str]:
    """``--channel -2:`` as ``--channel=-2:``, which argparse reads.

    argparse reads a word that starts with ``-`` as a flag unless it is a
    negative number, so ``--channel -2:`` would fail with "expected one
    argument". Only a word right after ``--channel`` that is a channel range
    starting with a minus is joined: no flag looks like one, so a command
    line that worked before means what it meant (and after ``--``, nothing
    is touched).

    Examples
    --------
    >>> negative_slices_joined(["a.png", "f.npy", "--channel", "-2:", "-o", "x"])
    ['a.png', 'f.npy', '--channel=-2:', '-o', 'x']
    >>> negative_slices_joined(["--channel", "-1", "--channel", "-o"])
    ['--channel', '-1', '--channel', '-o']
    """
    joined: list[str] = []
    words = iter(argv)
    for word in words:
        if word == "--":
            joined.append(word)
            joined.extend(words)
            break
        if word == "--channel":
            value = next(words, None)
            if value is not None and _NEGATIVE_SLICE.fullmatch(value):
                joined.append(f"--channel={value}")
                continue
            joined.append(word)
            if value is not None:
                joined.append(value)
            continue
        joined.append(word)
    return joined


def contour_levels(text: str) -> tuple[float, ...]:
    """``--contours``: comma-separated levels in [0, 1], each once.

    Examples
    --------
    >>> contour_levels("0.5,0.8")
    (0.5, 0.8)
    """
    levels = tuple(_unit_interval(part) for part in text.split(","))
    if len(set(levels)) != len(levels):
        raise argparse.ArgumentTypeError(f"each level once, got {text!r}")
    return levels


def _positive(text: str) -> float:
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def _quality(text: str) -> int:
    if text.strip() not in {str(number) for number in range(11)}:
        raise argparse.ArgumentTypeError(f"must be a whole number 0..10, got {text!r}")
    return int(text)


def _number_text(value: float) -> str:
    return f"{value:g}"


def _unit_interval(text: str) -> float:
    value = _finite(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return value


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


@contextmanager
def _terminate_as_exception() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated`, so that cleanup code runs."""

    def terminate(signum: int, frame: Any) -> None:
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def report(error: Exception, *, debug: bool) -> int:
    """Print `error` as one line (or its traceback with --debug); return the status."""
    import traceback

    from napari_heatoverlay.io.heatmaps import OptionError
    from napari_heatoverlay.io.outputs import OutputExistsError

    usage = isinstance(error, UsageError | OptionError | OutputExistsError)
    status = 2 if usage else 1
    if debug:
        traceback.print_exception(error, file=sys.stderr)
        return status
    message = one_line(str(error)) or type(error).__name__
    if not isinstance(error, ValueError | OSError | CommandError):
        message = (
            f"{type(error).__name__}: {message} (rerun with --debug to see the "
            "traceback)"
        )
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return status


def one_line(message: str) -> str:
    """`message` with its white space (newlines too) folded to single spaces."""
    return " ".join(message.split())
