"""``heatoverlay demo`` without outputs: napari with the sample layers and the
docked widget, the flags on its controls. napari loads only here."""

from __future__ import annotations

import sys
from typing import Any

from napari_heatoverlay.cli.main import (
    PROG,
    CommandError,
    UsageError,
    cli_options,
    one_line,
)
from napari_heatoverlay.engine.options import OverlayOptions


def open_demo_viewer(options: OverlayOptions, levels: tuple[float, ...]) -> int:
    """Open napari with :func:`show_demo` and run it until it is closed."""
    install = 'pip install "napari-heatoverlay[all]"'
    try:
        import napari
    except ImportError:
        raise CommandError(
            f"the demo viewer needs napari, which is not installed: {install} "
            f"(or write the demo to a file: {PROG} demo -o demo.png)"
        ) from None
    _refuse_flags_without_controls(options)
    if _no_display():
        raise CommandError(
            "no display to open napari on (DISPLAY and WAYLAND_DISPLAY are unset); "
            f"run it in a desktop session, or write the demo to a file: {PROG} demo "
            "-o demo.png"
        )
    try:
        viewer = napari.Viewer(title="napari-heatoverlay demo")
    except ImportError as error:
        raise CommandError(
            f"napari cannot open a window ({one_line(str(error))}): {install}"
        ) from None
    show_demo(viewer, options, contours=levels)
    napari.run()
    return 0


def _refuse_flags_without_controls(options: OverlayOptions) -> None:
    """The demo viewer shows flags on the widget; refuse those it has no control for."""
    defaults = OverlayOptions()
    for option in cli_options():
        if option.widget is None and getattr(options, option.name) != getattr(
            defaults, option.name
        ):
            raise UsageError(
                f"{option.flag} has no control in the widget ({option.widget_absent}); "
                f"use it with -o or --figure: {PROG} demo {option.flag} ... -o demo.png"
            )


def show_demo(
    viewer: Any,
    options: OverlayOptions | None = None,
    *,
    contours: tuple[float, ...] = (),
) -> Any:
    """Fill `viewer` with the sample layers and the docked "Heat overlay" widget.

    The widget starts from the documented defaults (whatever an earlier
    session persisted), with `options` on its controls, and shows the
    overlay at once.

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer to fill.
    options : OverlayOptions, optional
        Values for the widget's controls; the defaults when None.
    contours : tuple of float
        Levels for the widget's contour field (``--contours``).

    Returns
    -------
    HeatOverlayWidget
        The docked widget.

    Examples
    --------
    >>> import napari  # doctest: +SKIP
    >>> show_demo(napari.Viewer())  # doctest: +SKIP
    """
    viewer.open_sample("napari-heatoverlay", "coffee_heatmap")
    _, widget = viewer.window.add_plugin_dock_widget(
        "napari-heatoverlay", "Heat overlay"
    )
    widget.persist = False  # the demo's values are not the user's settings
    widget.reset_to_defaults()
    widget.apply_options(**_given(options or OverlayOptions()))
    widget.contours.value = ", ".join(f"{level:g}" for level in contours)
    widget()
    viewer.reset_view()
    return widget


def _given(options: OverlayOptions) -> dict[str, Any]:
    """The options that differ from the defaults (the flags the user gave)."""
    defaults = OverlayOptions().as_kwargs()
    return {
        name: value
        for name, value in options.as_kwargs().items()
        if value != defaults[name]
    }


def _no_display() -> bool:
    import os

    return (
        sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
        and "QT_QPA_PLATFORM" not in os.environ
    )
