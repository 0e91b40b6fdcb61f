"""The bodies of the ``heatoverlay`` commands: one pair, two folders, zarr,
montages, movies, demo.

Each command first checks every output against every input and against the
other outputs, then reads, blends and writes. Options arrive validated
(:class:`~napari_heatoverlay.engine.options.OverlayOptions`), so nothing here
checks them again.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from napari_heatoverlay.cli import batch
from napari_heatoverlay.cli.lines import Lines, draw_lines, outline
from napari_heatoverlay.cli.main import (
    DEFAULT_FPS,
    DEFAULT_QUALITY,
    PROG,
    CommandError,
    UsageError,
    cli_options,
    one_line,
)
from napari_heatoverlay.engine.normalize import compute_window
from napari_heatoverlay.engine.options import OverlayOptions
from napari_heatoverlay.io import heatmaps as heatmap_files
from napari_heatoverlay.io import outputs, video
from napari_heatoverlay.io.heatmaps import read_heatmap
from napari_heatoverlay.io.images import (
    InputError,
    is_zarr_path,
    read_image,
    read_volume,
)

FIGURE_SUFFIXES = (".pdf", ".png", ".svg")
#: Formats of --montage: the pictures -o writes.
MONTAGE_SUFFIXES = tuple(
    suffix for suffix in outputs.WRITERS if suffix not in video.VIDEO_SUFFIXES
)
#: Frames of ``heatoverlay demo -o demo.mp4``: the sample pans once around.
DEMO_FRAMES = 60
_FLAGS = {"output": "-o", "figure": "--figure", "montage": "--montage"}


def overlay_files(args: argparse.Namespace, options: OverlayOptions) -> int:
    """``heatoverlay IMAGE HEATMAP ...``: a pair, two folders, or a zarr image."""
    image, heatmaps = Path(args.image), [Path(path) for path in args.heatmap]
    for path in (image, *heatmaps):
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
    check_colormap(options)
    lines = contour_lines(args)
    movie = args.output is not None and video.is_video_path(args.output)
    _check_movie_flags(args, movie)
    if args.montage is not None:
        return _montage_files(image, heatmaps, args, options)
    if isinstance(args.channel, slice):
        raise UsageError(
            f"--channel {_slice_text(args.channel)} picks several channels, which "
            "--montage GRID.png shows; for -o and --figure pick one channel K"
        )
    if len(heatmaps) > 1:
        return _compare_figure(image, heatmaps, args, options)
    heatmap = heatmaps[0]
    if movie:
        return _overlay_to_video(image, heatmap, args, options, lines)
    if is_zarr_path(image) or (args.output and is_zarr_path(args.output)):
        return _overlay_to_zarr(image, heatmap, args, options, lines)
    if image.is_dir() and heatmap.is_dir():
        return _overlay_folders(image, heatmap, args, options, lines)
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
    wanted = _check_outputs(args, inputs=(image, heatmap))
    if not wanted:
        return 0
    loaded = batch.load_pair(image, heatmap, _recipe(args, options))
    return _write_results(
        *loaded, args, options.replace(channel_axis=None), wanted, lines
    )


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


def _check_movie_flags(args: argparse.Namespace, movie: bool) -> None:
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


def _compare_figure(
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
    if not _check_outputs(args, inputs=(image, *heatmaps)):
        return 0
    recipe = _recipe(args, options)
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
    _save_figure(drawing, args)
    return 0


def _save_figure(drawing: Any, args: argparse.Namespace) -> None:
    """Write a matplotlib figure to --figure, atomically, in its suffix's format."""
    suffix = Path(args.figure).suffix.lower()
    written = outputs.write_atomic(
        args.figure,
        lambda path: drawing.savefig(path, format=suffix[1:]),
        force=args.force,
        parents=args.parents,
    )
    print(f"wrote {written}")


def demo(args: argparse.Namespace, options: OverlayOptions) -> int:
    """``heatoverlay demo``: the sample overlay, movie or montage to files, or
    napari with the widget."""
    check_colormap(options)
    lines = contour_lines(args)
    movie = args.output is not None and video.is_video_path(args.output)
    _check_movie_flags(args, movie)
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
        return _open_demo_viewer(options, () if lines is None else lines.levels)
    from napari_heatoverlay.samples import sample

    if args.montage is not None:
        _check_montage_flags(args)
        if not _check_outputs(args, inputs=()):
            return 0
        image, features = sample(channels=16)
        return _write_montage(image, features[0], args, options)
    wanted = _check_outputs(args, inputs=())
    if not wanted:
        return 0
    if movie:
        if args.figure is not None:
            raise UsageError(_FIGURE_AND_MOVIE)
        _check_encoder(args.output)
        frames, maps = sample(frames=DEMO_FRAMES)
        stack = video.Frames(len(frames), frames.__getitem__, frames.dtype)
        return _write_movie(stack, maps, args, options, lines)
    return _write_results(*sample(), args, options, wanted, lines)


_FIGURE_AND_MOVIE = (
    "--figure draws one picture, not a movie; write the movie alone, and a "
    "figure from one frame's files"
)


def _overlay_to_video(
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
        raise UsageError(_FIGURE_AND_MOVIE)
    if args.format is not None:
        raise UsageError("--format is for folders; the suffix of -o picks the format")
    if not _check_outputs(args, inputs=(image, heatmap)):
        return 0
    _check_encoder(args.output)
    recipe = _recipe(args, options)
    maps = video.read_maps(
        heatmap, key=recipe.key, channel=recipe.channel, reduce=recipe.reduce
    )
    with video.open_frames(image, channel_axis=options.channel_axis) as frames:
        _movie_length(image, frames.count, heatmap, maps)
        return _write_movie(
            frames, maps, args, options.replace(channel_axis=None), lines
        )


def _check_encoder(output: str) -> None:
    try:
        video.check_encoder(output)
    except ImportError as error:
        raise CommandError(str(error)) from None


def _movie_length(
    image: Path, frame_count: int, heatmap: Path, maps: np.ndarray
) -> None:
    map_count = maps.shape[0] if maps.ndim == 3 else 1
    if frame_count > 1 and map_count > 1 and frame_count != map_count:
        raise UsageError(
            f"{image} has {frame_count} frames but {heatmap} has {map_count} maps; "
            "give one map per frame, one map for every frame, or one picture for "
            "every map"
        )


def _write_movie(
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


def _montage_files(
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
    _check_montage_flags(args)
    if not _check_outputs(args, inputs=(image, heatmaps[0])):
        return 0
    pixels = read_image(image, channel_axis=options.channel_axis)
    stack, names = _read_channels(heatmaps[0], args.key, args.channel)
    return _write_montage(
        pixels, stack, args, options.replace(channel_axis=None), names
    )


def _check_montage_flags(args: argparse.Namespace) -> None:
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


def _write_montage(
    image: np.ndarray,
    stack: np.ndarray,
    args: argparse.Namespace,
    options: OverlayOptions,
    names: list[str] | None = None,
) -> int:
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


def _slice_text(channels: slice) -> str:
    parts = [channels.start, channels.stop] + (
        [] if channels.step is None else [channels.step]
    )
    return ":".join("" if part is None else str(part) for part in parts)


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


def _recipe(
    args: argparse.Namespace, options: OverlayOptions, lines: Lines | None = None
) -> batch.Recipe:
    return batch.Recipe(
        options=options,
        key=getattr(args, "key", None),
        channel=getattr(args, "channel", None),
        reduce=getattr(args, "reduce", None),
        force=args.force,
        lines=lines,
    )


def _check_outputs(args: argparse.Namespace, *, inputs: tuple[Path, ...]) -> list[str]:
    """Check -o, --figure and --montage before any work; return those still to
    write.

    Refused: no output at all, an unknown suffix, an output that is an input
    or another output, an existing output without --force (skipped with
    --skip-existing), and a missing folder without --parents.
    """
    named = {
        "output": args.output,
        "figure": args.figure,
        "montage": getattr(args, "montage", None),
    }
    if all(path is None for path in named.values()):
        raise UsageError(
            "say what to write: -o OUT.png for the overlay and/or --figure "
            "FIG.pdf for the three-panel figure (or --montage GRID.png for the "
            "channels)"
        )
    targets = {role: Path(path) for role, path in named.items() if path is not None}
    _check_distinct(targets, inputs)
    for role, suffixes in (("figure", FIGURE_SUFFIXES), ("montage", MONTAGE_SUFFIXES)):
        if role in targets and targets[role].suffix.lower() not in suffixes:
            raise UsageError(
                f"cannot write the {role} {targets[role]}: use a suffix of "
                f"{', '.join(suffixes)}"
            )
    wanted = []
    for role, target in targets.items():
        if args.skip_existing and target.exists():
            print(f"{PROG}: skipped {target}: it exists (--skip-existing)")
            continue
        check = outputs.check_free if role == "figure" else outputs.check_output
        check(target, force=args.force, parents=args.parents)
        wanted.append(role)
    return wanted


def _check_distinct(targets: dict[str, Path], inputs: tuple[Path, ...]) -> None:
    seen: dict[Path, str] = {path.resolve(): "an input" for path in inputs}
    for role, target in targets.items():
        flag = _FLAGS[role]
        resolved = target.resolve()
        if resolved in seen:
            raise UsageError(
                f"{target} ({flag}) is {seen[resolved]}; write the {role} elsewhere"
            )
        seen[resolved] = f"the path of {flag} too"


def _write_results(
    image: np.ndarray,
    heatmap: np.ndarray,
    args: argparse.Namespace,
    options: OverlayOptions,
    wanted: list[str],
    lines: Lines | None,
) -> int:
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
        _save_figure(drawing, args)
    return 0


def _overlay_to_zarr(
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
    _check_distinct({"output": output}, (image, heatmap))
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
    recipe = _recipe(args, options)
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


def _overlay_folders(
    images_dir: Path,
    heatmaps_dir: Path,
    args: argparse.Namespace,
    options: OverlayOptions,
    lines: Lines | None = None,
) -> int:
    if args.output is None:
        raise UsageError("folders need -o OUT_DIR, the folder for the overlays")
    out_dir = Path(args.output)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir} is a file; with folders -o names an output folder")
    if args.figure is not None:
        raise UsageError(
            "--figure draws one pair; run it on the image and heatmap files you want "
            "to show"
        )
    if out_dir.resolve() in (images_dir.resolve(), heatmaps_dir.resolve()):
        raise UsageError(
            f"{out_dir} is an input folder; write the overlays to another folder"
        )
    if not out_dir.exists() and not args.parents and not out_dir.parent.is_dir():
        raise UsageError(
            f"cannot create {out_dir}: the folder {out_dir.parent} does not exist; "
            "create it first, or pass --parents to create missing folders"
        )
    pairing = batch.pair_folders(images_dir, heatmaps_dir)
    if not pairing.pairs:
        _report_unpaired(pairing)
        raise CommandError(
            f"no files of {images_dir} and {heatmaps_dir} pair up by name; name "
            "each heatmap like its image (cat.png and cat.npy)"
        )
    suffix = f".{args.format or 'png'}"
    jobs = batch.jobs_for(pairing.pairs, out_dir, suffix)
    skipped = [job for job in jobs if args.skip_existing and job[2].exists()]
    todo = [job for job in jobs if job not in skipped]
    start = time.perf_counter()
    outcomes = _render_with_progress(todo, out_dir, args, options, lines)
    elapsed = time.perf_counter() - start
    failures = [outcome for outcome in outcomes if outcome.error is not None]
    for outcome in failures:
        print(
            f"{PROG}: failed {outcome.image.name} + {outcome.heatmap.name}: "
            f"{one_line(outcome.error) if not args.debug else outcome.error}",
            file=sys.stderr,
        )
    unpaired = _report_unpaired(pairing)
    summary = (
        f"{PROG}: wrote {len(outcomes) - len(failures)} of {len(outcomes)} "
        f"overlays to {out_dir} in {elapsed:.1f} s"
    )
    if skipped:
        summary += f"; skipped {len(skipped)} existing (--skip-existing)"
    if failures:
        summary += f"; {len(failures)} failed"
    if unpaired:
        summary += f"; {unpaired} file(s) unpaired"
    print(summary)
    return 1 if failures else 0


def _render_with_progress(
    jobs: list[tuple[Path, Path, Path]],
    out_dir: Path,
    args: argparse.Namespace,
    options: OverlayOptions,
    lines: Lines | None = None,
) -> list[batch.Outcome]:
    from tqdm import tqdm

    out_dir.mkdir(parents=True, exist_ok=True)
    with tqdm(
        total=len(jobs), file=sys.stderr, disable=None, unit="pair", desc=PROG
    ) as progress:
        return batch.render_all(
            jobs,
            _recipe(args, options, lines),
            workers=args.jobs,
            debug=args.debug,
            on_done=lambda _outcome: progress.update(),
        )


def _report_unpaired(pairing: batch.Pairing) -> int:
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


def _open_demo_viewer(options: OverlayOptions, levels: tuple[float, ...]) -> int:
    install = 'pip install "napari-heatoverlay[all]"'
    try:
        import napari
    except ImportError:
        raise CommandError(
            f"the demo viewer needs napari, which is not installed: {install} "
            f"(or write the demo to a file: {PROG} demo -o demo.png)"
        ) from None
    _refuse_flags_without_controls(options)
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
            f"napari cannot open a window ({one_line(str(error))}): {install}"
        ) from None
    show_demo(viewer, options, contours=levels)
    napari.run()
    return 0


def _refuse_flags_without_controls(options: OverlayOptions) -> None:
    """The demo viewer shows flags on the widget; refuse those it has no control for."""
    defaults = OverlayOptions()
    for option in cli_options():
        if option.widget is None and getattr(options, option.name) != getattr(
            defaults, option.name
        ):
            raise UsageError(
                f"{option.flag} has no control in the widget ({option.widget_absent}); "
                f"use it with -o or --figure: {PROG} demo {option.flag} ... -o demo.png"
            )


def show_demo(
    viewer: Any,
    options: OverlayOptions | None = None,
    *,
    contours: tuple[float, ...] = (),
) -> Any:
    """Fill `viewer` with the sample layers and the docked "Heat overlay" widget.

    The widget starts from the documented defaults (whatever an earlier
    session persisted), with `options` on its controls, and shows the
    overlay at once.

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer to fill.
    options : OverlayOptions, optional
        Values for the widget's controls; the defaults when None.
    contours : tuple of float
        Levels for the widget's contour field (``--contours``).

    Returns
    -------
    HeatOverlayWidget
        The docked widget.

    Examples
    --------
    >>> import napari  # doctest: +SKIP
    >>> show_demo(napari.Viewer())  # doctest: +SKIP
    """
    viewer.open_sample("napari-heatoverlay", "coffee_heatmap")
    _, widget = viewer.window.add_plugin_dock_widget(
        "napari-heatoverlay", "Heat overlay"
    )
    widget.persist = False  # the demo's values are not the user's settings
    widget.reset_to_defaults()
    widget.apply_options(**_given(options or OverlayOptions()))
    widget.contours.value = ", ".join(f"{level:g}" for level in contours)
    widget()
    viewer.reset_view()
    return widget


def _given(options: OverlayOptions) -> dict[str, Any]:
    """The options that differ from the defaults (the flags the user gave)."""
    defaults = OverlayOptions().as_kwargs()
    return {
        name: value
        for name, value in options.as_kwargs().items()
        if value != defaults[name]
    }


def _no_display() -> bool:
    import os

    return (
        sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
        and "QT_QPA_PLATFORM" not in os.environ
    )
