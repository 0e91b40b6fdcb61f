"""The widget's option controls, derived from the engine's :data:`OPTIONS`.

Every :class:`~napari_heatoverlay.engine.options.Option` with a ``widget``
dict becomes a :class:`Control`: a magicgui parameter named like the option,
its choices from the option's :class:`~enum.StrEnum`, its tooltip from the
option's help, its default from the option's. Two controls have a value of
their own: ``colormap`` offers ``"layer"`` (the heatmap layer's colormap,
the default), and a ``unit`` option that defaults to None (``threshold``)
shows 0, which leaves it unset.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from napari_heatoverlay.engine.options import (
    OPTION_BY_NAME,
    OPTIONS,
    Option,
    OptionTypeError,
    OptionValueError,
    OverlayOptions,
)

#: ``colormap`` value meaning "use the heatmap layer's colormap".
LAYER_COLORMAP = "layer"
#: The colormaps the ``colormap`` control offers, as (label, value).
COLORMAPS = (
    ("heatmap layer's", LAYER_COLORMAP),
    *(
        (name, name)
        for name in ("inferno", "jet", "turbo", "viridis", "magma", "hot", "RdBu_r")
    ),
)

_ANNOTATIONS = {
    "choice": str,
    "unit": float,
    "number": float,
    "percent": float,
    "positive": float,
    "pair": tuple[float, float],
    "colormap": str,
    "flag": bool,
}


@dataclass(frozen=True)
class Control:
    """The widget's control for one option of ``overlay()``.

    Attributes
    ----------
    option : Option
        The option, with a ``widget`` dict of magicgui options.

    Examples
    --------
    >>> from napari_heatoverlay.engine.options import OPTION_BY_NAME
    >>> threshold = Control(OPTION_BY_NAME["threshold"])
    >>> threshold.default, threshold.to_option(0.0), threshold.to_option(0.2)
    (0.0, None, 0.2)
    """

    option: Option

    @property
    def name(self) -> str:
        """The control's name: the option's."""
        return self.option.name

    @property
    def parameter(self) -> inspect.Parameter:
        """The keyword-only parameter magicgui builds the control from."""
        return inspect.Parameter(
            self.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=self.default,
            annotation=_ANNOTATIONS[self.option.kind],
        )

    @property
    def default(self) -> Any:
        """The control's value for the option's default."""
        option = self.option
        if option.kind == "colormap":
            return LAYER_COLORMAP
        if option.default is None:
            if option.kind == "unit":
                return 0.0
            raise TypeError(
                f"option {option.name!r} defaults to None, which a {option.kind!r} "
                "control cannot show; give it a default, or widget=None and a "
                "widget_absent reason in engine/options.py"
            )
        return _plain(option.default)

    @property
    def magicgui_options(self) -> dict[str, Any]:
        """The control's magicgui options (``param_options`` of the widget)."""
        option = self.option
        options: dict[str, Any] = {"tooltip": option.help[:1].upper() + option.help[1:]}
        if option.choices is not None:
            options["choices"] = tuple(member.value for member in option.choices)
        if option.kind == "colormap":
            options["choices"] = colormap_choices
        return {**options, **(option.widget or {})}

    def to_option(self, value: Any) -> Any:
        """The ``overlay()`` value of the control's `value`."""
        if self.option.kind == "unit" and self.option.default is None and not value:
            return None
        if self.option.kind == "pair":
            return tuple(value)
        return value

    def from_option(self, value: Any) -> Any:
        """The control's value for a validated ``overlay()`` `value`.

        Raises
        ------
        TypeError
            For a colormap that is not a name.
        ValueError
            For a colormap name matplotlib does not know.
        """
        if value is None:
            return self.default
        if self.option.kind == "colormap" and value != LAYER_COLORMAP:
            if not isinstance(value, str):
                raise TypeError(
                    "the widget takes a colormap by name (e.g. 'viridis'); for a "
                    f"colormap object ({type(value).__name__}) call add_overlay()"
                )
            from napari_heatoverlay.engine.colormap import colormap_lut

            colormap_lut(value)
        if self.option.kind == "pair":
            return tuple(value)
        return _plain(value)


#: The controls, in ``overlay()``'s order.
CONTROLS: tuple[Control, ...] = tuple(
    Control(option) for option in OPTIONS if option.widget is not None
)
#: The controls by name.
CONTROL_BY_NAME: dict[str, Control] = {control.name: control for control in CONTROLS}


def overlay_kwargs(values: Mapping[str, Any]) -> dict[str, Any]:
    """The controls' `values` as ``overlay()`` keywords.

    ``colormap="layer"`` is left out, so that the heatmap layer's colormap
    is used.

    Examples
    --------
    >>> defaults = {control.name: control.default for control in CONTROLS}
    >>> kwargs = overlay_kwargs({**defaults, "threshold": 0.0, "alpha": 0.8})
    >>> "colormap" in kwargs, kwargs["threshold"], kwargs["alpha"]
    (False, None, 0.8)
    """
    kwargs = {}
    for control in CONTROLS:
        value = values[control.name]
        if control.option.kind == "colormap" and value == LAYER_COLORMAP:
            continue
        kwargs[control.name] = control.to_option(value)
    return kwargs


def control_values(**options: Any) -> dict[str, Any]:
    """Validate ``overlay()`` options and turn them into control values.

    Options without a control are accepted at their default (so all of an
    :meth:`~napari_heatoverlay.engine.options.OverlayOptions.as_kwargs` may be
    passed) and left out of the result.

    Raises
    ------
    OptionValueError, OptionTypeError
        For an invalid value, an unknown option, or an option without a
        control away from its default (the message says why, and where to
        set it instead).

    Examples
    --------
    >>> control_values(mode="scaled", threshold=None, colormap="layer", vmin=None)
    {'mode': 'scaled', 'threshold': 0.0, 'colormap': 'layer'}
    >>> control_values(vmin=0)
    Traceback (most recent call last):
    ...
    napari_heatoverlay.engine.options.OptionValueError: the Heat overlay widget has no vmin control: a fixed window is a scripted choice; pass vmin to add_overlay() or --vmin to the command line
    """
    unknown = sorted(set(options) - set(OPTION_BY_NAME))
    if unknown:
        raise OptionTypeError(
            unknown[0],
            f"unknown option(s) {unknown}; the Heat overlay widget has controls "
            f"for {sorted(CONTROL_BY_NAME)}",
        )
    of_layer = isinstance(options.get("colormap"), str) and (
        options["colormap"] == LAYER_COLORMAP
    )
    checked = {k: v for k, v in options.items() if not (k == "colormap" and of_layer)}
    validated = OverlayOptions.from_kwargs(**checked)
    defaults = OverlayOptions()
    for name in set(options) - set(CONTROL_BY_NAME):
        if getattr(validated, name) != getattr(defaults, name):
            raise OptionValueError(
                name,
                f"the Heat overlay widget has no {name} control: "
                f"{OPTION_BY_NAME[name].widget_absent}",
            )
    return {
        name: LAYER_COLORMAP
        if name == "colormap" and of_layer
        else CONTROL_BY_NAME[name].from_option(getattr(validated, name))
        for name in options
        if name in CONTROL_BY_NAME
    }


def colormap_choices(combo_box: Any) -> list[tuple[str, str]]:
    """:data:`COLORMAPS`, plus the name shown if it is another one.

    magicgui calls this whenever napari resets the widget's choices; keeping
    the shown name keeps a colormap set by name (from the command line) on.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> colormap_choices(SimpleNamespace(value="coolwarm"))[-1]
    ('coolwarm', 'coolwarm')
    """
    names = [value for _, value in COLORMAPS]
    shown = combo_box.value
    extra = [(shown, shown)] if isinstance(shown, str) and shown not in names else []
    return [*COLORMAPS, *extra]


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, StrEnum) else value
