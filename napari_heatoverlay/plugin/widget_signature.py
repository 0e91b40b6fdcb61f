"""The function the "Heat overlay" widget is built from, and its signature.

magicgui makes one control per parameter: the layer pickers, one
keyword-only parameter per option control
(:data:`~napari_heatoverlay.plugin.controls.CONTROLS`), then ``preview`` and
``live``, which the widget's change handlers read.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from napari.layers import Image

from napari_heatoverlay.plugin.controls import Control


def controls_function(
    request: Callable[..., None],
    pickers: Sequence[str],
    controls: Sequence[Control],
) -> Callable[..., None]:
    """The function magicgui builds the controls from; calling it calls `request`.

    Parameters
    ----------
    request : callable
        Called with the two picked layers and the option controls' values
        (``preview`` and ``live`` left out).
    pickers : sequence of str
        The names of the two layer pickers, image first.
    controls : sequence of Control
        The option controls, in order.

    Examples
    --------
    >>> from napari_heatoverlay.plugin.controls import CONTROLS
    >>> apply = controls_function(print, ("image", "heatmap"), CONTROLS)
    >>> list(inspect.signature(apply).parameters)[-3:]
    ['interpolation', 'preview', 'live']
    """

    def apply(image: Image | None, heatmap: Image | None, **values: Any) -> None:
        values.pop("preview")
        values.pop("live")
        request(image, heatmap, **values)

    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    keyword = inspect.Parameter.KEYWORD_ONLY
    apply.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            *(
                inspect.Parameter(name, positional, annotation=Image)
                for name in pickers
            ),
            *(control.parameter for control in controls),
            inspect.Parameter("preview", keyword, default=True, annotation=bool),
            inspect.Parameter("live", keyword, default=False, annotation=bool),
        ]
    )
    # magicgui names the settings file after it: keep the one users have
    apply.__qualname__ = "HeatOverlayWidget._apply"
    return apply
