"""The save dialog of the widget's Export buttons (magicgui's; no Qt import)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def ask_save_path(
    caption: str,
    file_filter: str,
    suffixes: Sequence[str],
    parent: Any = None,
    start: Path | None = None,
) -> Path | None:
    """Ask for a file to write with a save dialog; None if cancelled.

    A name without one of `suffixes` gets the first of them.

    Parameters
    ----------
    caption : str
        The dialog's title.
    file_filter : str
        The file types offered, e.g. ``"Figures (*.png *.pdf)"``.
    suffixes : sequence of str
        The suffixes accepted, lower case with the dot, default first.
    parent : QWidget, optional
        The widget the dialog belongs to.
    start : Path, optional
        Where the dialog starts (default: the home folder).
    """
    from magicgui.widgets import show_file_dialog

    chosen = show_file_dialog(
        mode="w",
        caption=caption,
        start_path=str(start or Path.home()),
        filter=file_filter,
        parent=parent,
    )
    if not chosen:
        return None
    path = Path(chosen)
    return path if path.suffix.lower() in suffixes else path.with_suffix(suffixes[0])
