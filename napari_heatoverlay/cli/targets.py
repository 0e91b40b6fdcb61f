"""The outputs a command writes (-o, --figure, --montage), checked before any work.

Each is checked against every input and every other output, for its
suffix, for an existing file (``--force``, ``--skip-existing``) and for a
missing folder (``--parents``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from napari_heatoverlay.cli.main import PROG, UsageError
from napari_heatoverlay.io import outputs, video

FIGURE_SUFFIXES = (".pdf", ".png", ".svg")
#: Formats of --montage: the pictures -o writes.
MONTAGE_SUFFIXES = tuple(
    suffix for suffix in outputs.WRITERS if suffix not in video.VIDEO_SUFFIXES
)
_FLAGS = {"output": "-o", "figure": "--figure", "montage": "--montage"}


def check_outputs(args: argparse.Namespace, *, inputs: tuple[Path, ...]) -> list[str]:
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
    check_distinct(targets, inputs)
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


def check_distinct(targets: dict[str, Path], inputs: tuple[Path, ...]) -> None:
    """Refuse an output (role -> path) that is an input or another output."""
    seen: dict[Path, str] = {path.resolve(): "an input" for path in inputs}
    for role, target in targets.items():
        flag = _FLAGS[role]
        resolved = target.resolve()
        if resolved in seen:
            raise UsageError(
                f"{target} ({flag}) is {seen[resolved]}; write the {role} elsewhere"
            )
        seen[resolved] = f"the path of {flag} too"
