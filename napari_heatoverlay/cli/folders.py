"""``heatoverlay IMAGES_DIR HEATMAPS_DIR -o OUT_DIR``: every pair of two folders.

The files pair up by name (:func:`~napari_heatoverlay.cli.batch.pair_folders`)
and render in worker processes (:func:`~napari_heatoverlay.cli.batch.render_all`);
here the output folder is checked, progress shown and the run summed up.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from napari_heatoverlay.cli import batch, flags
from napari_heatoverlay.cli.lines import Lines
from napari_heatoverlay.cli.main import PROG, CommandError, UsageError, one_line
from napari_heatoverlay.engine.options import OverlayOptions


def overlay_folders(
    images_dir: Path,
    heatmaps_dir: Path,
    args: argparse.Namespace,
    options: OverlayOptions,
    lines: Lines | None = None,
) -> int:
    """Overlay every pair of two folders into -o OUT_DIR; 1 if a pair failed."""
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
            flags.recipe(args, options, lines),
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
