"""Render overlays from files: one pair, or two folders paired by file stem.

Folders are rendered in a process pool. The worker (:func:`render_pair`) is a
module-level function of picklable arguments, so the pool works with the
``spawn`` start method it uses on every platform.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import napari_heatoverlay.io.images as _imageio
from napari_heatoverlay.engine.overlay import overlay


@dataclass(frozen=True)
class Recipe:
    """Everything but the file names that turns a pair of files into an overlay.

    Attributes
    ----------
    overlay_options : dict
        Keyword arguments for :func:`napari_heatoverlay.overlay`.
    key, channel, reduce
        Which map of the heatmap file, as for :func:`_imageio.read_heatmap`.
    force : bool
        Replace existing outputs.
    """

    overlay_options: dict[str, Any] = field(default_factory=dict)
    key: str | None = None
    channel: int | None = None
    reduce: str | None = None
    force: bool = False


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
    """Read an image and its 2-D heatmap as `recipe` says."""
    image = _imageio.read_image(image_path)
    heat = _imageio.read_heatmap(
        heatmap_path, key=recipe.key, channel=recipe.channel, reduce=recipe.reduce
    )
    return image, heat


def render_pair(
    image_path: Path, heatmap_path: Path, output: Path, recipe: Recipe
) -> Path:
    """Read a pair, blend it and write the overlay atomically to `output`."""
    _imageio.check_output(output, force=recipe.force)
    image, heat = load_pair(image_path, heatmap_path, recipe)
    blended = overlay(image, heat, **recipe.overlay_options)
    return _imageio.write_output(output, blended, force=recipe.force)


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
    images, image_clashes = _by_stem(images_dir, _imageio.IMAGE_SUFFIXES)
    heatmaps, heat_clashes = _by_stem(heatmaps_dir, _imageio.HEATMAP_SUFFIXES)
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


def render_all(
    pairs: list[tuple[Path, Path]],
    out_dir: Path,
    suffix: str,
    recipe: Recipe,
    *,
    workers: int,
    debug: bool = False,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Render every pair into ``out_dir / (stem + suffix)``, continuing past failures.

    Parameters
    ----------
    pairs : list of (Path, Path)
        (image, heatmap) files.
    out_dir : Path
        Output folder; created if missing.
    suffix : str
        Output format, e.g. ``".png"``.
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
        In the order of `pairs`.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(image, heat, out_dir / f"{image.stem}{suffix}") for image, heat in pairs]
    outcomes: dict[int, Outcome] = {}
    for number, outcome in _run(jobs, recipe, workers, debug):
        outcomes[number] = outcome
        if on_done is not None:
            on_done(outcome)
    return [outcomes[number] for number in range(len(jobs))]


def _run(
    jobs: list[tuple[Path, Path, Path]], recipe: Recipe, workers: int, debug: bool
) -> Iterator[tuple[int, Outcome]]:
    if workers <= 1 or len(jobs) <= 1:
        for number, job in enumerate(jobs):
            yield number, _attempt(*job, recipe, debug)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)), mp_context=context
    ) as pool:
        futures: dict[Future, int] = {
            pool.submit(_attempt, *job, recipe, debug): number
            for number, job in enumerate(jobs)
        }
        for future in as_completed(futures):
            number = futures[future]
            try:
                yield number, future.result()
            except Exception as error:  # the worker process itself died
                yield number, Outcome(*jobs[number], error=_describe(error, debug))


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
