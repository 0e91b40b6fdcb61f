"""The one exception the file checks raise: what is wrong, and what to do.

The checks (:mod:`~napari_heatoverlay.io.regular`,
:mod:`~napari_heatoverlay.io.limits`, :mod:`~napari_heatoverlay.io.zipcheck`,
:mod:`~napari_heatoverlay.io.picklescan`, ...) do not know which reader called
them; the reader turns a :class:`Refusal` into its own error, naming the file.
"""

from __future__ import annotations

__all__ = ["DAMAGED", "Refusal"]

#: The way out for a file that is truncated, corrupt or crafted.
DAMAGED = "The file is truncated or corrupt: export or copy it again from its source"


class Refusal(ValueError):
    """A file is refused; `problem` says why and `remedy` what to do.

    Parameters
    ----------
    problem : str
        What is wrong, as a clause without a final full stop
        (``"it is a named pipe (FIFO)"``).
    remedy : str
        What to do about it, as a sentence without a final full stop.

    Examples
    --------
    >>> refusal = Refusal("it is a named pipe (FIFO)", "Pass a regular file")
    >>> str(refusal)
    'it is a named pipe (FIFO). Pass a regular file.'
    >>> refusal.problem
    'it is a named pipe (FIFO)'
    """

    def __init__(self, problem: str, remedy: str) -> None:
        super().__init__(f"{problem}. {remedy}.")
        self.problem = problem
        self.remedy = remedy
