"""The option controls, derived from the engine's option table (no Qt here)."""

import pytest

from napari_heatoverlay.engine.options import (
    OPTION_BY_NAME,
    OPTIONS,
    Mode,
    Option,
    OptionTypeError,
    OptionValueError,
    OverlayOptions,
)
from napari_heatoverlay.plugin.controls import (
    CONTROLS,
    LAYER_COLORMAP,
    Control,
    control_values,
    overlay_kwargs,
)


def test_one_control_per_option_with_a_widget_dict_in_overlay_order():
    assert [control.name for control in CONTROLS] == [
        option.name for option in OPTIONS if option.widget is not None
    ]


def test_control_parameters_are_keyword_only_with_the_option_defaults():
    parameters = {control.name: control.parameter for control in CONTROLS}
    assert all(p.kind is p.KEYWORD_ONLY for p in parameters.values())
    assert parameters["mode"].default == "alpha"
    assert type(parameters["mode"].default) is str  # persisted as a plain string
    assert parameters["percentiles"].annotation == tuple[float, float]
    assert parameters["colormap"].default == LAYER_COLORMAP
    assert parameters["threshold"].default == 0.0


def test_default_controls_give_the_overlay_defaults_and_the_layer_colormap():
    defaults = {control.name: control.default for control in CONTROLS}
    kwargs = overlay_kwargs(defaults)
    assert "colormap" not in kwargs
    for name, value in kwargs.items():
        option = next(option for option in OPTIONS if option.name == name)
        assert value == option.default, name


def test_control_values_validate_and_convert():
    values = control_values(
        mode=Mode.GRAY, alpha=1, percentiles=[2, 98], threshold=None, colormap="hot"
    )
    assert values == {
        "mode": "gray",
        "alpha": 1.0,
        "percentiles": (2.0, 98.0),
        "threshold": 0.0,
        "colormap": "hot",
    }
    assert type(values["mode"]) is str
    defaults = {control.name: control.default for control in CONTROLS}
    chosen = {**defaults, **values, "norm": "max", "interpolation": "cubic"}
    assert overlay_kwargs(chosen) == {
        "mode": "gray",
        "alpha": 1.0,
        "colormap": "hot",
        "norm": "max",
        "sign": "all",
        "outlier_perc": 2.0,
        "gamma": 1.0,
        "percentiles": (2.0, 98.0),
        "threshold": None,
        "interpolation": "cubic",
    }


def test_options_without_a_control_pass_at_their_default():
    everything = OverlayOptions(mode="scaled", alpha=0.8).as_kwargs()
    values = control_values(**everything)
    assert set(values) == {control.name for control in CONTROLS}
    assert values["mode"] == "scaled" and values["alpha"] == 0.8
    assert values["colormap"] == "jet"  # as given: OverlayOptions' default


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"image_range": (0, 1)}, OptionValueError, "no image_range control: taken"),
        ({"colour": "hot"}, OptionTypeError, r"unknown option\(s\) \['colour'\]"),
        ({"percentiles": (50, 5)}, OptionValueError, "0 <= low < high <= 100"),
        ({"colormap": [[0, 0, 0], [1, 1, 1]]}, TypeError, "takes a colormap by name"),
        ({"colormap": "jett"}, ValueError, "jett"),
    ],
)
def test_control_values_refuse_what_no_control_can_show(options, error, message):
    with pytest.raises(error, match=message):
        control_values(**options)


def test_a_none_default_needs_a_control_that_can_show_it():
    vmin = Option("vmin", None, "number", "window start", widget={})
    with pytest.raises(TypeError, match="widget=None and a widget_absent reason"):
        _ = Control(vmin).parameter


def test_tooltips_come_from_the_help_unless_the_widget_dict_says():
    options = {control.name: control.magicgui_options for control in CONTROLS}
    assert options["mode"]["tooltip"].lower() == OPTION_BY_NAME["mode"].help.lower()
    assert options["threshold"]["tooltip"].startswith("Heat below this")
    assert options["mode"]["choices"] == tuple(Mode)
