"""The ``heatoverlay`` command: overlays and figures from files, and a demo.

Argument parsing and the three commands (one pair, two folders, demo). The
file handling lives in :mod:`._imageio`, the rendering of pairs in
:mod:`._batch` and the figure in :mod:`._figure`. napari and Qt are imported
only by ``heatoverlay demo`` without ``-o``, inside the command.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

import napari_heatoverlay.cli.batch as _batch
import napari_heatoverlay.io.images as _imageio
from napari_heatoverlay.engine.colormap import colormap_lut
from napari_heatoverlay.engine.kernels import MODES
from napari_heatoverlay.engine.normalize import NORMS, check_norm_args
from napari_heatoverlay.engine.resample import INTERPOLATIONS
from napari_heatoverlay.io.zarr import is_zarr_path

PROG = "heatoverlay"
FIGURE_SUFFIXES = (".pdf", ".png", ".svg")
BATCH_FORMATS = ("png", "jpg", "tiff")

USAGE = f"""{PROG} IMAGE HEATMAP -o OUT [--figure FIG] [options]
       {PROG} IMAGE HEATMAP --figure FIG [options]
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
  {PROG} images/ heatmaps/ -o overlays/ --alpha 0.4 --format jpg
  {PROG} slide.zarr tumour_probability.npy -o overlay.zarr --norm none
  {PROG} demo                 open napari with the sample data and the widget
  {PROG} demo -o demo.png     write the sample overlay, no display needed

heatmaps with several maps:
  A file holding several arrays (.npz, a state dict) needs --key NAME unless
  it holds exactly one. A map with a channel axis of more than one channel,
  (C, h, w) or (N, C, h, w), needs --channel K or --reduce mean|max|l2: the
  command stops and lists them rather than guess. A map without a channel
  axis counts as one channel, so --channel 0 and --reduce work on it too.

outputs:
  -o picks the format by suffix: .png, .jpg/.jpeg (quality 95), .tif/.tiff,
  or .zarr for images larger than memory: IMAGE may then be a .zarr array or
  multiscale group (levels 0, 1, ...), the overlay is streamed to a chunked
  (multiscale) store chunk by chunk, and the store appears only when whole.
  --figure writes the three-panel figure (image | heatmap | overlay, colour
  bar in heatmap units) as .pdf, .png or .svg, in addition to -o or alone.
  An existing file is never replaced without --force; every file is written
  to a temporary name first and then renamed, so it is whole or absent.

folders:
  Files are paired by name without suffix (cat.png with cat.npy); overlays
  go to OUT_DIR/<name>.<format> (OUT_DIR is created). A broken pair is
  reported and skipped; unpaired files are listed at the end. Pairs run in
  --jobs processes (default: all CPUs).

exit status:
  0 done; 1 an input could not be read, an output could not be written, or a
  pair failed; 2 the command line needs fixing (a bad option or value, a
  missing input, an existing output without --force).
  --debug shows the Python traceback of an error."""

DEMO_DESCRIPTION = """\
Without -o or --figure: open napari with the sample photo and heatmap and the
"Heat overlay" widget docked (needs napari and Qt). With -o and/or --figure:
write the sample overlay and/or figure instead; no display needed."""

DEMO_EPILOG = f"""\
examples:
  {PROG} demo
  {PROG} demo -o demo.png
  {PROG} demo --norm symmetric --colormap coolwarm --figure demo.pdf"""


class UsageError(ValueError):
    """The command line needs fixing (exit status 2)."""


class CommandError(RuntimeError):
    """The command could not do its work (exit status 1)."""


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
        Exit status: 0 done, 1 failure, 2 bad command line.

    Examples
    --------
    >>> from napari_heatoverlay.cli.main import main
    >>> main(["demo", "-o", "demo.png"])  # doctest: +SKIP
    0
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["demo"]:
        parser, command = build_demo_parser(), _demo
        args = args[1:]
    else:
        parser, command = build_parser(), _overlay_files
    options = parser.parse_args(args)
    try:
        check_norm_args(options.norm, options.vmin, options.vmax, options.percentiles)
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    if options.image_range is not None and not np.less(*options.image_range):
        parser.error("--image-range needs LOW < HIGH")
    try:
        return command(options)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        return _report(error, options.debug)


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
        "heatmap", metavar="HEATMAP", help="heatmap file, or a folder of them"
    )
    _add_output_options(parser)
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
        type=int,
        help="use channel K of a (C, h, w) or (N, C, h, w) map (negative: from "
        "the end)",
    )
    channels.add_argument(
        "--reduce",
        choices=_imageio.REDUCTIONS,
        help="combine all channels: mean, max or l2 (sqrt of the sum of squares)",
    )
    _add_overlay_options(parser)
    return parser


def build_demo_parser() -> argparse.ArgumentParser:
    """The parser for ``heatoverlay demo``."""
    parser = _Parser(
        prog=f"{PROG} demo",
        description=DEMO_DESCRIPTION,
        epilog=DEMO_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_output_options(parser)
    _add_overlay_options(parser)
    return parser


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="overlay file (.png, .jpg, .tif), or the output folder for folders",
    )
    parser.add_argument(
        "--figure",
        metavar="FIG",
        help="also (or only) write the image | heatmap | overlay figure with a "
        "colour bar (.pdf, .png, .svg)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace existing output files"
    )
    parser.add_argument(
        "--debug", action="store_true", help="show Python tracebacks of errors"
    )


def _add_overlay_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "overlay options", "as for napari_heatoverlay.overlay()"
    )
    group.add_argument(
        "--mode", choices=MODES, default="alpha", help="blend formula (default: alpha)"
    )
    group.add_argument(
        "--alpha",
        type=_unit_interval,
        default=0.5,
        help="heat opacity in [0, 1] (default: 0.5)",
    )
    group.add_argument(
        "--colormap",
        type=_colormap,
        default="jet",
        help="matplotlib colormap name (default: jet)",
    )
    group.add_argument(
        "--norm",
        choices=NORMS,
        default="minmax",
        help="how raw heat becomes 0..1 (default: minmax)",
    )
    group.add_argument(
        "--vmin", type=_finite, help="heat value shown as the colormap's start"
    )
    group.add_argument(
        "--vmax", type=_finite, help="heat value shown as the colormap's end"
    )
    group.add_argument(
        "--percentiles",
        nargs=2,
        type=float,
        default=(1.0, 99.0),
        metavar=("LOW", "HIGH"),
        help="window for --norm percentile (default: 1 99)",
    )
    group.add_argument(
        "--threshold",
        type=_unit_interval,
        help="leave pixels whose normalised heat is below this (in [0, 1]) as image",
    )
    group.add_argument(
        "--image-range",
        nargs=2,
        type=_finite,
        metavar=("LOW", "HIGH"),
        help="image values shown as black and white (default: 8-bit as is, "
        "else the image's min and max)",
    )
    group.add_argument(
        "--interpolation",
        choices=tuple(INTERPOLATIONS),
        default="linear",
        help="how the heatmap is resampled to the image (default: linear)",
    )


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
    if not np.isfinite(value):
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


def _colormap(text: str) -> str:
    try:
        colormap_lut(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"unknown colormap {text!r}; use a matplotlib colormap name such as "
            "jet, viridis, magma, turbo or coolwarm (add _r to reverse it)"
        ) from None
    return text


def _overlay_options(options: argparse.Namespace) -> dict[str, Any]:
    return {
        "mode": options.mode,
        "alpha": options.alpha,
        "colormap": options.colormap,
        "norm": options.norm,
        "vmin": options.vmin,
        "vmax": options.vmax,
        "percentiles": tuple(options.percentiles),
        "threshold": options.threshold,
        "interpolation": options.interpolation,
        "image_range": None
        if options.image_range is None
        else tuple(options.image_range),
    }


def _recipe(options: argparse.Namespace) -> _batch.Recipe:
    return _batch.Recipe(
        overlay_options=_overlay_options(options),
        key=options.key,
        channel=options.channel,
        reduce=options.reduce,
        force=options.force,
    )


def _overlay_files(options: argparse.Namespace) -> int:
    image, heatmap = Path(options.image), Path(options.heatmap)
    for path in (image, heatmap):
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
    if is_zarr_path(image) or (options.output and is_zarr_path(options.output)):
        return _overlay_to_zarr(image, heatmap, options)
    if image.is_dir() and heatmap.is_dir():
        return _overlay_folders(image, heatmap, options)
    if image.is_dir() or heatmap.is_dir():
        folder, file = (image, heatmap) if image.is_dir() else (heatmap, image)
        raise UsageError(
            f"{folder} is a folder but {file} is a file; pass two files, or two "
            "folders to pair their files by name"
        )
    if options.format is not None:
        raise UsageError(
            "--format is for folders; for one pair the suffix of -o picks the format"
        )
    _check_outputs(options)
    for output in (options.output, options.figure):
        if output is not None and _same_path(output, image, heatmap):
            raise UsageError(f"{output} is an input; write the output elsewhere")
    recipe = _recipe(options)
    return _write_results(*_batch.load_pair(image, heatmap, recipe), options)


def _overlay_to_zarr(image: Path, heatmap: Path, options: argparse.Namespace) -> int:
    """A big image (a .zarr store, or any file) to a chunked .zarr result.

    The overlay stays lazy and is streamed to disk chunk by chunk, so the
    image may be larger than memory; a .zarr pyramid gives a pyramid.
    """
    from napari_heatoverlay.engine.overlay import overlay
    from napari_heatoverlay.io.zarr import open_zarr_image, write_zarr

    output = Path(options.output) if options.output else None
    if output is None or not is_zarr_path(output):
        raise UsageError(
            f"{image} is a zarr store: write the overlay as one too, -o OUT.zarr"
        )
    if options.figure is not None:
        raise UsageError(
            "--figure needs an image file, not a zarr store; draw the figure "
            "from a picture of the region you want to show"
        )
    if heatmap.is_dir():
        raise UsageError(f"{heatmap} is a folder; pass one heatmap file")
    if _same_path(output, image, heatmap):
        raise UsageError(f"{output} is an input; write the output elsewhere")
    if output.exists() and not options.force:
        raise _imageio.OutputExistsError(
            f"{output} already exists; pass --force to replace it or choose "
            "another output"
        )
    if is_zarr_path(image):
        try:
            levels = open_zarr_image(image)
        except Exception as error:
            raise CommandError(
                f"cannot read {image} as a zarr array or multiscale group: {error}"
            ) from error
    else:
        levels = _imageio.read_image(image)
    recipe = _recipe(options)
    heat = _imageio.read_heatmap(
        heatmap, key=recipe.key, channel=recipe.channel, reduce=recipe.reduce
    )
    result = overlay(levels, heat, **_overlay_options(options))
    written = write_zarr(
        result, output, overwrite=options.force, progress=sys.stderr.isatty()
    )
    print(f"wrote {written}")
    return 0


def _same_path(path: str | Path, *others: Path) -> bool:
    resolved = Path(path).resolve()
    return any(resolved == other.resolve() for other in others)


def _check_outputs(options: argparse.Namespace) -> None:
    if options.output is None and options.figure is None:
        raise UsageError(
            "say what to write: -o OUT.png for the overlay and/or --figure "
            "FIG.pdf for the three-panel figure"
        )
    if options.output is not None:
        _imageio.check_output(options.output, force=options.force)
    if options.figure is not None:
        figure = Path(options.figure)
        if figure.suffix.lower() not in FIGURE_SUFFIXES:
            raise UsageError(
                f"cannot write the figure {figure}: use a suffix of "
                f"{', '.join(FIGURE_SUFFIXES)}"
            )
        _imageio.check_free(figure, force=options.force)


def _write_results(
    image: np.ndarray, heatmap: np.ndarray, options: argparse.Namespace
) -> int:
    overlay_options = _overlay_options(options)
    if options.output is not None:
        from napari_heatoverlay.engine.overlay import overlay

        blended = overlay(image, heatmap, **overlay_options)
        written = _imageio.write_output(options.output, blended, force=options.force)
        print(f"wrote {written}")
    if options.figure is not None:
        from napari_heatoverlay.figures import figure

        drawing = figure(image, heatmap, **overlay_options)
        suffix = Path(options.figure).suffix.lower()
        written = _imageio.write_atomic(
            options.figure,
            lambda path: drawing.savefig(path, format=suffix[1:]),
            force=options.force,
        )
        print(f"wrote {written}")
    return 0


def _overlay_folders(
    images_dir: Path, heatmaps_dir: Path, options: argparse.Namespace
) -> int:
    if options.output is None:
        raise UsageError("folders need -o OUT_DIR, the folder for the overlays")
    out_dir = Path(options.output)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir} is a file; with folders -o names an output folder")
    if options.figure is not None:
        raise UsageError(
            "--figure draws one pair; run it on the image and heatmap files you want "
            "to show"
        )
    if _same_path(out_dir, images_dir, heatmaps_dir):
        raise UsageError(
            f"{out_dir} is an input folder; write the overlays to another folder"
        )
    pairing = _batch.pair_folders(images_dir, heatmaps_dir)
    if not pairing.pairs:
        _report_unpaired(pairing)
        raise CommandError(
            f"no files of {images_dir} and {heatmaps_dir} pair up by name; name "
            "each heatmap like its image (cat.png and cat.npy)"
        )
    start = time.perf_counter()
    outcomes = _render_with_progress(pairing.pairs, out_dir, options)
    elapsed = time.perf_counter() - start
    failures = [outcome for outcome in outcomes if outcome.error is not None]
    for outcome in failures:
        print(
            f"{PROG}: failed {outcome.image.name} + {outcome.heatmap.name}: "
            f"{_one_line(outcome.error) if not options.debug else outcome.error}",
            file=sys.stderr,
        )
    unpaired = _report_unpaired(pairing)
    summary = f"{PROG}: wrote {len(outcomes) - len(failures)} of {len(outcomes)} overlays to {out_dir} in {elapsed:.1f} s"
    if failures:
        summary += f"; {len(failures)} failed"
    if unpaired:
        summary += f"; {unpaired} file(s) unpaired"
    print(summary)
    return 1 if failures else 0


def _render_with_progress(
    pairs: list[tuple[Path, Path]], out_dir: Path, options: argparse.Namespace
) -> list[_batch.Outcome]:
    from tqdm import tqdm

    with tqdm(
        total=len(pairs), file=sys.stderr, disable=None, unit="pair", desc=PROG
    ) as progress:
        return _batch.render_all(
            pairs,
            out_dir,
            f".{options.format or 'png'}",
            _recipe(options),
            workers=options.jobs,
            debug=options.debug,
            on_done=lambda _outcome: progress.update(),
        )


def _report_unpaired(pairing: _batch.Pairing) -> int:
    lines = []
    if pairing.images_alone:
        names = ", ".join(path.name for path in pairing.images_alone)
        lines.append(f"no heatmap for image(s): {names}")
    if pairing.heatmaps_alone:
        names = ", ".join(path.name for path in pairing.heatmaps_alone)
        lines.append(f"no image for heatmap(s): {names}")
    if pairing.ambiguous:
        lines.append(
            "several files share the name(s), skipped: " + ", ".join(pairing.ambiguous)
        )
    for line in lines:
        print(f"{PROG}: unpaired: {line}", file=sys.stderr)
    return (
        len(pairing.images_alone) + len(pairing.heatmaps_alone) + len(pairing.ambiguous)
    )


def _demo(options: argparse.Namespace) -> int:
    if options.output is None and options.figure is None:
        return _open_demo_viewer()
    from napari_heatoverlay.samples import sample as sample_arrays

    _check_outputs(options)
    return _write_results(*sample_arrays(), options)


def _open_demo_viewer() -> int:
    install = 'pip install "napari-heatoverlay[all]"'
    try:
        import napari
    except ImportError:
        raise CommandError(
            f"the demo viewer needs napari, which is not installed: {install} "
            f"(or write the demo to a file: {PROG} demo -o demo.png)"
        ) from None
    if _no_display():
        raise CommandError(
            "no display to open napari on (DISPLAY and WAYLAND_DISPLAY are unset); "
            f"run it in a desktop session, or write the demo to a file: {PROG} demo "
            "-o demo.png"
        )
    try:
        viewer = napari.Viewer(title="napari-heatoverlay demo")
    except ImportError as error:
        raise CommandError(
            f"napari cannot open a window ({_one_line(str(error))}): {install}"
        ) from None
    show_demo(viewer)
    napari.run()
    return 0


def show_demo(viewer: Any) -> None:
    """Add the sample layers and dock the "Heat overlay" widget in `viewer`.

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer to fill.

    Examples
    --------
    >>> import napari  # doctest: +SKIP
    >>> show_demo(napari.Viewer())  # doctest: +SKIP
    """
    viewer.open_sample("napari-heatoverlay", "coffee_heatmap")
    viewer.window.add_plugin_dock_widget("napari-heatoverlay", "Heat overlay")


def _no_display() -> bool:
    return (
        sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
        and "QT_QPA_PLATFORM" not in os.environ
    )


def _report(error: Exception, debug: bool) -> int:
    status = (
        2
        if isinstance(
            error, UsageError | _imageio.OptionError | _imageio.OutputExistsError
        )
        else 1
    )
    if debug:
        traceback.print_exception(error, file=sys.stderr)
        return status
    message = _one_line(str(error)) or type(error).__name__
    if not isinstance(error, ValueError | OSError | CommandError):
        message = f"{type(error).__name__}: {message} (rerun with --debug to see the traceback)"
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return status


def _one_line(message: str) -> str:
    return " ".join(message.split())
