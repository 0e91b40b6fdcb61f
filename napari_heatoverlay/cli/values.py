"""The values of the ``heatoverlay`` flags, parsed for argparse.

Each parser takes the text after a flag and returns its value, or raises
:class:`argparse.ArgumentTypeError` with the reason, which argparse prints
as one line after the flag's name. Only the standard library loads here.
"""

from __future__ import annotations

import argparse
import re


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
    levels = tuple(unit_interval(part) for part in text.split(","))
    if len(set(levels)) != len(levels):
        raise argparse.ArgumentTypeError(f"each level once, got {text!r}")
    return levels


def positive_number(text: str) -> float:
    """``--fps``, ``--contour-width``: a finite number > 0."""
    value = finite_number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def mp4_quality(text: str) -> int:
    """``--quality``: a whole number 0..10."""
    if text.strip() not in {str(number) for number in range(11)}:
        raise argparse.ArgumentTypeError(f"must be a whole number 0..10, got {text!r}")
    return int(text)


def unit_interval(text: str) -> float:
    """A number in [0, 1] (``--alpha``, ``--threshold``, a contour level)."""
    value = finite_number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return value


def finite_number(text: str) -> float:
    """A number that is neither NaN nor infinite."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def positive_whole(text: str) -> int:
    """``--jobs``: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value
