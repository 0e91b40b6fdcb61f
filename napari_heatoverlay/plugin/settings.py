"""The widget's settings between sessions: its option controls, never layers.

magicgui's own persistence pickles every control's value, the layer pickers'
too, and pickling a napari layer copies its data: a large heatmap blocked
the UI thread for a quarter of a second per change and was written to the
cache folder. These two functions keep magicgui's file format (a pickled
dict of pickled values) but only for the `names` given; settings written by
older versions load too, their layers skipped unread.
"""

from __future__ import annotations

import contextlib
import pickle
from collections.abc import Collection
from pathlib import Path
from typing import Any


def dump_settings(widget: Any, path: Path, names: Collection[str]) -> None:
    """Write the values of `widget`'s controls `names` to `path`.

    Examples
    --------
    >>> import tempfile
    >>> from types import SimpleNamespace
    >>> path = Path(tempfile.mkdtemp()) / "settings"
    >>> dump_settings({"alpha": SimpleNamespace(value=0.3)}, path, ["alpha"])
    >>> pickle.loads(pickle.loads(path.read_bytes())["alpha"])
    0.3
    """
    values = {name: pickle.dumps(widget[name].value) for name in names}
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # settings are a convenience
        path.write_bytes(pickle.dumps(values))


def load_settings(widget: Any, path: Path, names: Collection[str]) -> None:
    """Set `widget`'s controls `names` from `path`; anything else is skipped.

    A missing or unreadable file, or a value a control refuses, leaves the
    control as it is.
    """
    try:
        saved = pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
        return
    if not isinstance(saved, dict):
        return
    for name in names:
        if name not in saved:
            continue
        with contextlib.suppress(Exception):  # whatever an old file held
            widget[name].value = pickle.loads(saved[name])
