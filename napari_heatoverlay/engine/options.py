"""Every option of :func:`~napari_heatoverlay.overlay`, defined once.

The vocabularies are :class:`~enum.StrEnum` classes, so ``Mode.ALPHA ==
"alpha"`` and plain strings work everywhere. :data:`OPTIONS` lists each
option with its default and its user-facing text; the command line's flags,
the dock widget's controls and the signatures of ``figure()`` and
``colorize()`` are built from it. :class:`OverlayOptions` holds one validated
set: it is checked once, when it is made, and every layer below trusts it.

This module imports nothing but the standard library, so that
``heatoverlay --help`` stays instant.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])


class Mode(StrEnum):
    """Blend formula; see :func:`~napari_heatoverlay.overlay`."""

    ALPHA = "alpha"
    GRAY = "gray"
    MULTIPLY = "multiply"
    SCALED = "scaled"
    ADDITIVE = "additive"
    TINT = "tint"


class Norm(StrEnum):
    """How raw heat becomes ``n`` in [0, 1]; see :func:`~napari_heatoverlay.normalize`."""

    MINMAX = "minmax"
    MAX = "max"
    PERCENTILE = "percentile"
    SIGMOID = "sigmoid"
    SYMMETRIC = "symmetric"
    NONE = "none"
    CUMULATIVE = "cumulative"


class Sign(StrEnum):
    """Which part of a signed attribution map is shown (captum's ``sign``)."""

    ALL = "all"
    POSITIVE = "positive"
    NEGATIVE = "negative"
    ABSOLUTE_VALUE = "absolute_value"


class Interpolation(StrEnum):
    """Spline used to resample the heatmap onto the image grid."""

    NEAREST = "nearest"
    LINEAR = "linear"
    CUBIC = "cubic"

    @property
    def order(self) -> int:
        """The spline order, as ``skimage.transform.resize`` counts it."""
        return {"nearest": 0, "linear": 1, "cubic": 3}[self.value]


class OptionValueError(ValueError):
    """An option has a value it does not accept; ``.option`` names it."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


class OptionTypeError(TypeError):
    """An option has a value of the wrong type; ``.option`` names it."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


class Reduction(StrEnum):
    """How the channels of a feature map combine into one map."""

    MEAN = "mean"
    MAX = "max"
    L2 = "l2"
    SUM = "sum"


@dataclass(frozen=True)
class Option:
    """One option of ``overlay()``: its default and its user-facing text.

    Attributes
    ----------
    name : str
        The keyword of ``overlay()``; the CLI flag is ``--name-with-dashes``.
    default : object
        The default value.
    kind : str
        How a value is checked and typed on the command line: ``"choice"``
        (one of `choices`), ``"unit"`` (a number in [0, 1]), ``"number"`` (a
        finite number), ``"percent"`` (a number in [0, 100)), ``"positive"``
        (a finite number > 0), ``"pair"`` (two finite numbers), ``"axis"``
        (an integer or None), ``"dims"`` (2 or 3), ``"colormap"`` or
        ``"flag"`` (True, False or None).
    help : str
        One line for ``--help`` and the widget's tooltip.
    choices : type of StrEnum, optional
        The vocabulary of a ``"choice"`` option.
    group : str
        ``"heat"`` for options that turn raw heat into ``n`` (also options of
        ``normalize()``), ``"colour"`` for the colormap (``colorize()`` takes
        both), ``"blend"`` for the blend and ``"image"`` for how the image is
        read.
    metavar : tuple of str, optional
        Names of the values on the command line.
    widget : dict or None
        magicgui options of the widget's control; None when the widget has
        no control for it, and then `widget_absent` says why.
    widget_absent : str
        Why the widget has no control (empty when it has one).
    cli_absent : str
        Why the command line has no flag (empty when it has one).
    per_pixel : bool
        Whether Python callers may also pass a 2-D array of values, one per
        pixel (the command line and the widget take one value).
    """

    name: str
    default: Any
    kind: str
    help: str
    choices: type[StrEnum] | None = None
    group: str = "blend"
    metavar: tuple[str, ...] | None = None
    widget: dict[str, Any] | None = None
    widget_absent: str = ""
    cli_absent: str = ""
    per_pixel: bool = False

    @property
    def flag(self) -> str:
        """The command-line flag."""
        return "--" + self.name.replace("_", "-")


_SLIDER = {"widget_type": "FloatSlider", "min": 0, "max": 1, "step": 0.01}

#: The options of ``overlay()``, in its signature's order.
OPTIONS: tuple[Option, ...] = (
    Option(
        "mode",
        Mode.ALPHA,
        "choice",
        "blend formula",
        choices=Mode,
        widget={},
    ),
    Option(
        "alpha",
        0.5,
        "unit",
        "heat opacity in [0, 1]",
        widget=_SLIDER,
        per_pixel=True,
    ),
    Option(
        "colormap",
        "jet",
        "colormap",
        "matplotlib colormap name (add _r to reverse it)",
        group="colour",
        widget={},
    ),
    Option(
        "norm",
        Norm.MINMAX,
        "choice",
        "how raw heat becomes 0..1",
        choices=Norm,
        group="heat",
        widget={},
    ),
    Option(
        "sign",
        Sign.ALL,
        "choice",
        "part of a signed map to show: positive keeps h > 0, negative shows "
        "-min(h, 0), absolute_value |h|, all leaves h as is",
        choices=Sign,
        group="heat",
        widget={},
    ),
    Option(
        "outlier_perc",
        2.0,
        "percent",
        "for norm 'cumulative': the percentage of the total |heat| clipped as "
        "outliers (captum's outlier_perc)",
        group="heat",
        metavar=("PERCENT",),
        widget={"widget_type": "FloatSpinBox", "min": 0.0, "max": 99.9, "step": 0.5},
    ),
    Option(
        "gamma",
        1.0,
        "positive",
        "n becomes n ** gamma after the norm, as napari's layer gamma",
        group="heat",
        widget={"widget_type": "FloatSpinBox", "min": 0.05, "max": 10.0, "step": 0.05},
    ),
    Option(
        "vmin",
        None,
        "number",
        "heat value shown as the colormap's start (fixes the window)",
        group="heat",
        widget_absent="a fixed window is a scripted choice; pass vmin to "
        "add_overlay() or --vmin to the command line",
    ),
    Option(
        "vmax",
        None,
        "number",
        "heat value shown as the colormap's end (fixes the window)",
        group="heat",
        widget_absent="a fixed window is a scripted choice; pass vmax to "
        "add_overlay() or --vmax to the command line",
    ),
    Option(
        "percentiles",
        (1.0, 99.0),
        "pair",
        "window for norm 'percentile', as (low, high) percentiles",
        group="heat",
        metavar=("LOW", "HIGH"),
        widget={"options": {"min": 0.0, "max": 100.0, "step": 0.5}},
    ),
    Option(
        "threshold",
        None,
        "unit",
        "leave pixels whose normalised heat is below this (in [0, 1]) as image",
        widget={
            **_SLIDER,
            "tooltip": "Heat below this (normalised) level leaves the image as is",
        },
    ),
    Option(
        "interpolation",
        Interpolation.LINEAR,
        "choice",
        "how the heatmap is resampled to the image",
        choices=Interpolation,
        widget={},
    ),
    Option(
        "image_range",
        None,
        "pair",
        "image values shown as black and white (default: 8-bit as is, floats "
        "in [0, 1] as (0, 1), else the image's min and max)",
        group="image",
        metavar=("LOW", "HIGH"),
        widget_absent="taken from the image layer's contrast limits",
    ),
    Option(
        "rgb",
        None,
        "flag",
        "whether the image's last axis is colour (guessed when None)",
        group="image",
        widget_absent="taken from the image layer's rgb flag",
        cli_absent="image files say themselves whether they are colour",
    ),
    Option(
        "spatial_dims",
        2,
        "dims",
        "how many of the heatmap's last axes cover the image's field of view: 2 "
        "(Y, X) or 3 (Z, Y, X), for a coarse 3-D map over a volume",
        group="image",
        widget_absent="chosen from the layers: two volumes are overlaid in 3-D",
    ),
    Option(
        "channel_axis",
        None,
        "axis",
        "the image's colour axis, e.g. 0 for a (3, H, W) image, 1 for "
        "(N, 3, H, W) (default: a last axis of 3 or 4)",
        group="image",
        metavar=("AXIS",),
        widget_absent="taken from the image layer's rgb flag (napari keeps "
        "colour last)",
    ),
)

#: The options by name.
OPTION_BY_NAME: dict[str, Option] = {option.name: option for option in OPTIONS}
#: The defaults by name, as ``overlay()`` has them.
DEFAULTS: dict[str, Any] = {option.name: option.default for option in OPTIONS}


@dataclass(frozen=True, eq=False)
class OverlayOptions:
    """One validated set of ``overlay()`` options.

    Making one checks every value and normalises it (strings become their
    :class:`~enum.StrEnum`, numbers become floats, pairs become tuples);
    a bad value raises ``ValueError`` or ``TypeError`` naming the option, the
    value and what it accepts. :func:`dataclasses.replace` validates again.

    Examples
    --------
    >>> from napari_heatoverlay.engine.options import OverlayOptions
    >>> options = OverlayOptions(mode="scaled", alpha=0.8)
    >>> options.mode, options.alpha, options.interpolation.order
    (<Mode.SCALED: 'scaled'>, 0.8, 1)
    >>> OverlayOptions(alpha=2)
    Traceback (most recent call last):
    ...
    napari_heatoverlay.engine.options.OptionValueError: alpha must be in [0, 1], got 2
    """

    mode: Mode = Mode.ALPHA
    alpha: float = 0.5
    colormap: Any = "jet"
    norm: Norm = Norm.MINMAX
    sign: Sign = Sign.ALL
    outlier_perc: float = 2.0
    gamma: float = 1.0
    vmin: float | None = None
    vmax: float | None = None
    percentiles: tuple[float, float] = (1.0, 99.0)
    threshold: float | None = None
    interpolation: Interpolation = Interpolation.LINEAR
    image_range: tuple[float, float] | None = None
    rgb: bool | None = None
    spatial_dims: int = 2
    channel_axis: int | None = None

    def __post_init__(self) -> None:
        for option in OPTIONS:
            value = _CHECKS[option.kind](option, getattr(self, option.name))
            object.__setattr__(self, option.name, value)
        if self.vmin is not None and self.vmax is not None and self.vmin > self.vmax:
            raise OptionValueError(
                "vmin",
                f"vmin ({self.vmin:g}) must not be greater than vmax ({self.vmax:g}); "
                "swap them, or use a reversed colormap (name + '_r')",
            )
        low, high = self.percentiles
        if not 0.0 <= low < high <= 100.0:
            raise OptionValueError(
                "percentiles",
                f"percentiles must satisfy 0 <= low < high <= 100, got {self.percentiles!r}",
            )
        if (
            self.image_range is not None
            and not self.image_range[0] < self.image_range[1]
        ):
            raise OptionValueError(
                "image_range",
                f"image_range must be finite with low < high, got {self.image_range!r}",
            )

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> OverlayOptions:
        """Validate keyword options; an unknown name is a ``TypeError``."""
        unknown = sorted(set(kwargs) - set(DEFAULTS))
        if unknown:
            raise OptionTypeError(
                unknown[0],
                f"unknown option(s) {unknown}; overlay() accepts {sorted(DEFAULTS)}",
            )
        return cls(**kwargs)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OverlayOptions):
            return NotImplemented
        return all(
            _same(getattr(self, field.name), getattr(other, field.name))
            for field in fields(self)
        )

    __hash__ = None  # type: ignore[assignment]  # may hold an alpha array

    def replace(self, **changes: Any) -> OverlayOptions:
        """A copy with `changes`, validated again."""
        return replace(self, **changes)

    def as_kwargs(self) -> dict[str, Any]:
        """The options as plain ``overlay()`` keywords (enums as strings)."""
        return {field.name: _plain(getattr(self, field.name)) for field in fields(self)}


def _same(first: Any, second: Any) -> bool:
    if getattr(first, "ndim", 0) or getattr(second, "ndim", 0):
        import numpy as np

        return bool(np.array_equal(first, second))
    return bool(first == second)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, StrEnum) else value


def _check_choice(option: Option, value: Any) -> StrEnum:
    vocabulary = option.choices
    assert vocabulary is not None
    try:
        return vocabulary(value)
    except ValueError:
        names = ", ".join(repr(member.value) for member in vocabulary)
        raise OptionValueError(
            option.name, f"{option.name} must be one of {names}; got {value!r}"
        ) from None


def _number(option: Option, value: Any, accepts: str) -> float:
    if isinstance(value, bool | str) or value is None:
        raise OptionTypeError(
            option.name, f"{option.name} must be {accepts}, got {value!r}"
        )
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OptionTypeError(
            option.name, f"{option.name} must be {accepts}, got {value!r}"
        ) from None
    if not math.isfinite(number):
        raise OptionValueError(
            option.name, f"{option.name} must be {accepts}, got {value!r}"
        )
    return number


def _check_unit(option: Option, value: Any) -> Any:
    if value is None and option.default is None:
        return None
    if option.per_pixel and _is_array(value):
        return _unit_map(option, value)
    number = _number(option, value, "a number in [0, 1]")
    if not 0.0 <= number <= 1.0:
        raise OptionValueError(
            option.name, f"{option.name} must be in [0, 1], got {value!r}"
        )
    return number


def _is_array(value: Any) -> bool:
    return isinstance(value, list | tuple) or getattr(value, "ndim", 0) > 0


def _unit_map(option: Option, value: Any) -> Any:
    """A per-pixel map of values in [0, 1], as a read-only float32 array."""
    import numpy as np

    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        values = np.array(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise OptionTypeError(
            option.name, f"{option.name} as an array must hold numbers, got {value!r}"
        ) from None
    if values.ndim != 2:
        raise OptionValueError(
            option.name,
            f"{option.name} as an array must be 2-D, (Y, X) on the image grid or "
            f"(h, w) on the heatmap grid; got shape {values.shape}",
        )
    if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1:
        raise OptionValueError(
            option.name,
            f"{option.name} as an array must hold values in [0, 1]; got "
            f"{np.nanmin(values):g} .. {np.nanmax(values):g}"
            + ("" if np.all(np.isfinite(values)) else " and non-finite values")
            + "; clip or rescale it first",
        )
    values.setflags(write=False)
    return values


def _check_percent(option: Option, value: Any) -> float:
    number = _number(option, value, "a number in [0, 100)")
    if not 0.0 <= number < 100.0:
        raise OptionValueError(
            option.name, f"{option.name} must be in [0, 100), got {value!r}"
        )
    return number


def _check_positive(option: Option, value: Any) -> float:
    number = _number(option, value, "a finite number > 0")
    if number <= 0.0:
        raise OptionValueError(
            option.name, f"{option.name} must be a finite number > 0, got {value!r}"
        )
    return number


def _check_dims(option: Option, value: Any) -> int:
    if isinstance(value, bool) or value not in (2, 3):
        raise OptionValueError(
            option.name, f"{option.name} must be 2 or 3, got {value!r}"
        )
    return int(value)


def _check_axis(option: Option, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise OptionTypeError(
            option.name, f"{option.name} must be an integer axis or None, got {value!r}"
        )
    return int(value)


def _check_number(option: Option, value: Any) -> float | None:
    if value is None:
        return None
    return _number(option, value, "a finite number or None")


def _check_pair(option: Option, value: Any) -> tuple[float, float] | None:
    if value is None and option.default is None:
        return None
    try:
        low, high = value
    except (TypeError, ValueError):
        raise OptionValueError(
            option.name, f"{option.name} must be two numbers (low, high), got {value!r}"
        ) from None
    accepts = "two finite numbers (low, high)"
    return _number(option, low, accepts), _number(option, high, accepts)


def _check_colormap(option: Option, value: Any) -> Any:
    if value is None:
        raise OptionTypeError(
            option.name,
            f"{option.name} must be a colormap name, a matplotlib or napari "
            "Colormap, or an (N, 3|4) array; got None",
        )
    return value


def _check_flag(option: Option, value: Any) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool) and type(value).__name__ != "bool_":
        raise OptionTypeError(
            option.name, f"{option.name} must be True, False or None, got {value!r}"
        )
    return bool(value)


_CHECKS = {
    "choice": _check_choice,
    "unit": _check_unit,
    "number": _check_number,
    "pair": _check_pair,
    "colormap": _check_colormap,
    "flag": _check_flag,
    "percent": _check_percent,
    "positive": _check_positive,
    "axis": _check_axis,
    "dims": _check_dims,
}


def with_options(*, groups: tuple[str, ...] | None = None) -> Callable[[_F], _F]:
    """Give a ``**options`` function the options' keywords in its signature.

    The decorated function keeps taking ``**options``; ``help()``, IDEs that
    inspect at run time, and magicgui see every option of `groups` (all when
    None) as a keyword-only parameter with its default, in ``overlay()``'s
    order, so a new option reaches the function without touching it.

    Examples
    --------
    >>> @with_options(groups=("colour", "heat"))
    ... def shade(heatmap, **options):
    ...     return options
    >>> list(inspect.signature(shade).parameters)[:4]
    ['heatmap', 'colormap', 'norm', 'sign']
    """

    def decorate(function: _F) -> _F:
        signature = inspect.signature(function)
        kept = [
            parameter
            for parameter in signature.parameters.values()
            if parameter.kind is not inspect.Parameter.VAR_KEYWORD
        ]
        names = {parameter.name for parameter in kept}
        added = [
            inspect.Parameter(
                option.name, inspect.Parameter.KEYWORD_ONLY, default=option.default
            )
            for option in OPTIONS
            if (groups is None or option.group in groups) and option.name not in names
        ]
        positional = [p for p in kept if p.kind is not inspect.Parameter.KEYWORD_ONLY]
        keyword = [p for p in kept if p.kind is inspect.Parameter.KEYWORD_ONLY]
        function.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*positional, *added, *keyword]
        )
        return function

    return decorate


def option_names(*, groups: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The names of the options of `groups` (all when None), in order."""
    return tuple(
        option.name for option in OPTIONS if groups is None or option.group in groups
    )
