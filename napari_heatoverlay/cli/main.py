"""The ``heatoverlay`` command: parsers and exit statuses.

The overlay flags are built from :data:`~napari_heatoverlay.engine.options.OPTIONS`,
so a new ``overlay()`` option becomes a flag without touching this module;
the help texts are :mod:`~napari_heatoverlay.cli.help_texts`, the flags'
value parsers :mod:`~napari_heatoverlay.cli.values`.
Only the standard library and the options module load here: ``--help`` and
a mistyped flag answer at once. The commands themselves
(:mod:`~napari_heatoverlay.cli.commands`) load NumPy, imageio and the engine
when they run; napari and Qt load only for ``heatoverlay demo`` without
``-o``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from napari_heatoverlay.cli.help_texts import (
    DEMO_DESCRIPTION,
    DEMO_EPILOG,
    DESCRIPTION,
    EPILOG,
    PROG,
    USAGE,
)
from napari_heatoverlay.cli.values import (
    channel_choice,
    contour_levels,
    finite_number,
    mp4_quality,
    negative_slices_joined,
    positive_number,
    positive_whole,
    unit_interval,
)
from napari_heatoverlay.engine.options import (
    OPTION_BY_NAME,
    OPTIONS,
    Option,
    OverlayOptions,
    Reduction,
)

BATCH_FORMATS = ("png", "jpg", "tiff")
DEFAULT_FPS = 10.0
DEFAULT_QUALITY = 8


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
        type=positive_whole,
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
        type=positive_number,
        default=2.0,
        help="width of the lines in -o, in pixels (default: 2)",
    )
    movies = parser.add_argument_group("movies (-o .mp4 or .gif)")
    movies.add_argument(
        "--fps",
        type=positive_number,
        help=f"frames per second (default: {DEFAULT_FPS:g})",
    )
    movies.add_argument(
        "--quality",
        type=mp4_quality,
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
        argument["type"] = unit_interval
    elif option.kind in ("number", "percent", "positive"):
        argument["type"] = finite_number
        if option.metavar:
            argument["metavar"] = option.metavar[0]
    elif option.kind == "dims":
        argument.update(type=int, choices=(2, 3))
    elif option.kind == "axis":
        argument.update(type=int, metavar=option.metavar[0] if option.metavar else None)
    elif option.kind == "pair":
        argument.update(nargs=2, type=finite_number, metavar=option.metavar)
    elif option.kind == "colormap":
        argument["metavar"] = "NAME"
    else:
        raise NotImplementedError(
            f"option {option.name!r} of kind {option.kind!r} has no command-line "
            "form: give it one here or set its cli_absent reason"
        )
    return argument


def _number_text(value: float) -> str:
    return f"{value:g}"


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
