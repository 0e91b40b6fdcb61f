"""Render overlays from files: one pair, or two folders paired by file stem.

Folders are rendered in a process pool. The worker (:func:`render_pair`) is a
module-level function of picklable arguments, so the pool works with the
``spawn`` start method it uses on every platform. Workers ignore Ctrl-C: the
main process alone decides, and on an interrupt or SIGTERM it stops them
and removes the temporaries they left.
"""

from __future__ import annotations

import multiprocessing
import signal
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from napari_heatoverlay.cli.lines import Lines, draw_lines
from napari_heatoverlay.engine.options import OverlayOptions
from napari_heatoverlay.engine.overlay import render
from napari_heatoverlay.io import outputs
from napari_heatoverlay.io.heatmaps import HEATMAP_SUFFIXES, read_heatmap
from napari_heatoverlay.io.images import IMAGE_SUFFIXES, read_image, read_volume

#: (image, heatmap, output) paths of one pair.
Job = tuple[Path, Path, Path]


@dataclass(frozen=True)
class Recipe:
    """Everything but the file names that turns a pair of files into an overlay.

    Attributes
    ----------
    options : OverlayOptions
        The validated options of :func:`napari_heatoverlay.overlay`.
    key, channel, reduce
        Which map of the heatmap file, as for
        :func:`~napari_heatoverlay.io.heatmaps.read_heatmap`.
    force : bool
        Replace existing outputs.
    lines : Lines, optional
        ``--contours``: drawn into every overlay as into one pair's.
    """

    options: OverlayOptions = field(default_factory=OverlayOptions)
    key: str | None = None
    channel: int | None = None
    reduce: str | None = None
    force: bool = False
    lines: Lines | None = None


@dataclass(frozen=True)
class Pairing:
    """The files of two folders matched by stem (name without suffix)."""

    pairs: list[tuple[Path, Path]]
    images_alone: list[Path]
    heatmaps_alone: list[Path]
    ambiguous: list[str]


@dataclass(frozen=True)
class Outcome:
    """What became of one pair: ``error`` is None on success."""

    image: Path
    heatmap: Path
    output: Path
    error: str | None = None


def load_pair(
    image_path: Path, heatmap_path: Path, recipe: Recipe
) -> tuple[np.ndarray, np.ndarray]:
    """Read an image (colour last) and its heatmap as `recipe` says."""
    spatial_dims = recipe.options.spatial_dims
    if spatial_dims == 3:
        image = read_volume(image_path)
    else:
        image = read_image(image_path, channel_axis=recipe.options.channel_axis)
    heat = read_heatmap(
        heatmap_path,
        key=recipe.key,
        channel=recipe.channel,
        reduce=recipe.reduce,
        spatial_dims=spatial_dims,
    )
    return image, heat


def render_pair(
    image_path: Path, heatmap_path: Path, output: Path, recipe: Recipe
) -> Path:
    """Read a pair, blend it and write the overlay atomically to `output`."""
    outputs.check_output(output, force=recipe.force)
    image, heat = load_pair(image_path, heatmap_path, recipe)
    options = recipe.options.replace(channel_axis=None)
    blended = render(image, heat, options)
    if recipe.lines is not None:
        draw_lines(blended, heat, recipe.lines, options)
    return outputs.write_output(output, blended, force=recipe.force)


def pair_folders(images_dir: Path, heatmaps_dir: Path) -> Pairing:
    """Match image and heatmap files by stem; list what did not match.

    Hidden files and files with other suffixes are ignored. Two files with
    the same stem in one folder (``a.png`` and ``a.jpg``) make that stem
    ambiguous, and it is left out.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ("images/a.png", "images/b.png", "heat/a.npy", "heat/c.npy"):
    ...     (root / name).parent.mkdir(exist_ok=True)
    ...     (root / name).touch()
    >>> pairing = pair_folders(root / "images", root / "heat")
    >>> [(i.name, h.name) for i, h in pairing.pairs], pairing.images_alone[0].name
    ([('a.png', 'a.npy')], 'b.png')
    """
    images, image_clashes = _by_stem(images_dir, IMAGE_SUFFIXES)
    heatmaps, heat_clashes = _by_stem(heatmaps_dir, HEATMAP_SUFFIXES)
    ambiguous = sorted(image_clashes | heat_clashes)
    for stem in ambiguous:
        images.pop(stem, None)
        heatmaps.pop(stem, None)
    return Pairing(
        pairs=[
            (images[stem], heatmaps[stem])
            for stem in sorted(images.keys() & heatmaps.keys())
        ],
        images_alone=[images[stem] for stem in sorted(images.keys() - heatmaps.keys())],
        heatmaps_alone=[
            heatmaps[stem] for stem in sorted(heatmaps.keys() - images.keys())
        ],
        ambiguous=ambiguous,
    )


def _by_stem(
    folder: Path, suffixes: tuple[str, ...]
) -> tuple[dict[str, Path], set[str]]:
    found: dict[str, Path] = {}
    clashes: set[str] = set()
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in suffixes:
            continue
        if not path.is_file():
            continue
        if path.stem in found:
            clashes.add(path.stem)
        found[path.stem] = path
    return found, clashes


def jobs_for(pairs: list[tuple[Path, Path]], out_dir: Path, suffix: str) -> list[Job]:
    """(image, heatmap, output) for each pair: ``out_dir / (image stem + suffix)``."""
    return [(image, heat, out_dir / f"{image.stem}{suffix}") for image, heat in pairs]


def render_all(
    jobs: list[Job],
    recipe: Recipe,
    *,
    workers: int,
    debug: bool = False,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Render every job, continuing past failures.

    Parameters
    ----------
    jobs : list of (Path, Path, Path)
        (image, heatmap, output) files; the output folders must exist.
    recipe : Recipe
        Overlay options and heatmap choice, shared by all pairs.
    workers : int
        Processes to use; 1 renders in this process.
    debug : bool
        Put the full traceback in a failed pair's error.
    on_done : callable, optional
        Called with each :class:`Outcome` as it completes (e.g. a progress bar).

    Returns
    -------
    list of Outcome
        In the order of `jobs`.
    """
    outcomes: dict[int, Outcome] = {}

    def done(number: int, outcome: Outcome) -> None:
        outcomes[number] = outcome
        if on_done is not None:
            on_done(outcome)

    if workers <= 1 or len(jobs) <= 1:
        for number, job in enumerate(jobs):
            done(number, _attempt(*job, recipe, debug))
    else:
        _run_in_pool(jobs, recipe, min(workers, len(jobs)), debug, done)
    return [outcomes[number] for number in range(len(jobs))]


def _run_in_pool(
    jobs: list[Job],
    recipe: Recipe,
    workers: int,
    debug: bool,
    done: Callable[[int, Outcome], None],
) -> None:
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_ignore_interrupts,
    )
    try:
        futures: dict[Future, int] = {
            pool.submit(_attempt, *job, recipe, debug): number
            for number, job in enumerate(jobs)
        }
        for future in as_completed(futures):
            number = futures[future]
            try:
                outcome = future.result()
            except Exception as error:  # the worker process itself died
                outcome = Outcome(*jobs[number], error=_describe(error, debug))
            done(number, outcome)
    except BaseException:
        _stop(pool)
        _remove_temporaries(jobs)
        raise
    pool.shutdown()


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _stop(pool: ProcessPoolExecutor) -> None:
    """End the workers now: the jobs they hold are abandoned."""
    processes = list((pool._processes or {}).values())
    for process in processes:
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.join(timeout=2)
        if process.is_alive():
            process.kill()


def _remove_temporaries(jobs: list[Job]) -> None:
    """Remove what stopped workers were writing (see ``outputs.atomic_target``)."""
    for _, _, output in jobs:
        pattern = f".{output.stem}.*.part{output.suffix}"
        for stray in output.parent.glob(pattern):
            outputs.remove_quietly(stray)


def _attempt(
    image: Path, heatmap: Path, output: Path, recipe: Recipe, debug: bool
) -> Outcome:
    try:
        render_pair(image, heatmap, output, recipe)
    except Exception as error:
        return Outcome(image, heatmap, output, error=_describe(error, debug))
    return Outcome(image, heatmap, output)


def _describe(error: BaseException, debug: bool) -> str:
    if debug:
        return "".join(traceback.format_exception(error)).rstrip()
    message = str(error).strip() or type(error).__name__
    return (
        message
        if isinstance(error, ValueError | OSError)
        else f"{type(error).__name__}: {message}"
    )
