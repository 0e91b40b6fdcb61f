"""Provenance of a result layer: what it was made from, and code to remake it.

:func:`provenance_record` is the result layer's ``metadata["heatoverlay"]``;
its ``snippet`` (:func:`snippet`) recomputes the same pixels with
:func:`~napari_heatoverlay.overlay`, without napari.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_heatoverlay import __version__
from napari_heatoverlay.plugin.geometry import window_padding
from napari_heatoverlay.plugin.plan import OverlayPlan
from napari_heatoverlay.plugin.records import source_ids


def provenance_record(plan: OverlayPlan) -> dict[str, Any]:
    """The result layer's ``metadata["heatoverlay"]``.

    Parameters
    ----------
    plan : OverlayPlan
        The plan the result was computed from.

    Returns
    -------
    dict
        ``role`` ("overlay"), ``sources`` and ``source_ids`` (by role),
        ``heatmap_window`` (the heatmap rows and columns used, and
        ``depth``, its slices, for a 3-D bake),
        ``parameters`` (the ``overlay()`` keywords, the colormap by name),
        ``version`` and ``snippet``.

    Examples
    --------
    >>> import numpy as np
    >>> from napari.layers import Image
    >>> from napari_heatoverlay.plugin.plan import plan_overlay
    >>> plan = plan_overlay(
    ...     Image(np.zeros((4, 6)), name="photo"), Image(np.ones((2, 3)), name="heat")
    ... )
    >>> record = provenance_record(plan)
    >>> record["sources"], record["parameters"]["mode"]
    ({'image': 'photo', 'heatmap': 'heat'}, 'alpha')
    """
    parameters = plan.options.as_kwargs()
    parameters["colormap"] = colormap_name(parameters["colormap"])
    return {
        "role": "overlay",
        "sources": {role: source["name"] for role, source in plan.sources.items()},
        "source_ids": source_ids(plan.sources),
        "heatmap_window": heatmap_window_record(plan),
        "parameters": parameters,
        "version": __version__,
        "snippet": snippet(plan),
    }


def heatmap_window_record(plan: OverlayPlan) -> dict[str, list[int]]:
    """The heatmap window of `plan` as JSON-friendly lists.

    Examples
    --------
    >>> import numpy as np
    >>> from napari.layers import Image
    >>> from napari_heatoverlay.plugin.plan import plan_overlay
    >>> volume, coarse = Image(np.zeros((8, 4, 4))), Image(np.ones((2, 2, 2)))
    >>> heatmap_window_record(plan_overlay(volume, coarse))
    {'rows': [0, 2], 'cols': [0, 2], 'depth': [0, 2]}
    """
    record = {"rows": list(plan.rows), "cols": list(plan.cols)}
    if plan.depth is not None:
        record["depth"] = list(plan.depth)
    return record


def snippet(plan: OverlayPlan) -> str:
    """Python code that recomputes the result of `plan` with ``overlay()``.

    It expects ``image`` and ``heatmap`` to hold the two layers' data and
    leaves the result in ``result``.

    Examples
    --------
    >>> import numpy as np
    >>> from napari.layers import Image
    >>> from napari_heatoverlay.plugin.plan import plan_overlay
    >>> photo, heat = Image(np.zeros((4, 6)), name="photo"), Image(np.ones((2, 3)))
    >>> code = snippet(plan_overlay(photo, heat, colormap="jet"))
    >>> namespace = {"image": photo.data, "heatmap": heat.data}
    >>> exec(code, namespace)
    >>> namespace["result"].shape
    (4, 6, 3)
    """
    kwargs = plan.options.as_kwargs()
    colormap, imports = colormap_source(kwargs["colormap"])
    steps, window_imports = window_steps(plan.windows, plan.heatmap.shape)
    imports = [*window_imports, *imports]
    arguments = "".join(
        f"    {key}={colormap if key == 'colormap' else repr(value)},\n"
        for key, value in kwargs.items()
    )
    lines = [
        f"# Recomputes the napari-heatoverlay {__version__} overlay of",
        f"# image = viewer.layers[{plan.sources['image']['name']!r}].data",
        f"# heatmap = viewer.layers[{plan.sources['heatmap']['name']!r}].data",
        *dict.fromkeys(imports),
        "from napari_heatoverlay import overlay",
        "",
        *steps,
        f"result = overlay(\n    image,\n    heatmap,\n{arguments})",
    ]
    return "\n".join(lines) + "\n"


def window_steps(
    windows: tuple[tuple[int, int], ...], shape: tuple[int, ...]
) -> tuple[list[str], list[str]]:
    """Code that crops and NaN-pads ``heatmap`` to `windows`, and its imports.

    `windows` are the plan's (:attr:`~napari_heatoverlay.plugin.plan.OverlayPlan.windows`):
    rows and columns, and depth first for a 3-D bake; `shape` the heatmap's.

    Examples
    --------
    >>> window_steps(((0, 4), (0, 6)), (4, 6))
    ([], [])
    >>> window_steps(((-1, 2), (0, 4), (1, 6)), (3, 4, 6))[0][0]
    'heatmap = heatmap[..., 0:2, 0:4, 1:6]'
    """
    size = shape[-len(windows) :]
    crop = [
        (max(start, 0), min(stop, extent))
        for (start, stop), extent in zip(windows, size, strict=True)
    ]
    steps: list[str] = []
    imports: list[str] = []
    if crop != [(0, extent) for extent in size]:
        spans = ", ".join(f"{start}:{stop}" for start, stop in crop)
        steps.append(f"heatmap = heatmap[..., {spans}]")
    pad = window_padding(windows, size)
    if any(before or after for before, after in pad):
        imports.append("import numpy as np")
        widths = ", ".join(repr(width) for width in pad)
        steps += [
            "heatmap = np.pad(",
            "    np.asarray(heatmap, dtype=np.float32),",
            f"    [(0, 0)] * (heatmap.ndim - {len(windows)}) + [{widths}],",
            "    constant_values=np.nan,",
            ")",
        ]
    return steps, imports


def colormap_name(colormap: Any) -> str:
    """A short, JSON-friendly description of a colormap.

    Examples
    --------
    >>> import matplotlib
    >>> colormap_name("jet"), colormap_name(matplotlib.colormaps["magma"])
    ('jet', 'magma')
    """
    if isinstance(colormap, str):
        return colormap
    return str(getattr(colormap, "name", type(colormap).__name__))


def colormap_source(colormap: Any) -> tuple[str, list[str]]:
    """Source code that makes `colormap`, and the imports it needs.

    A napari colormap is named when it is one of napari's built-in ones,
    else spelled out, so that the code runs the same in a new process.

    Raises
    ------
    ValueError
        For a colormap that cannot be written as code.

    Examples
    --------
    >>> colormap_source("jet")
    ("'jet'", [])
    >>> colormap_source([[0, 0, 0], [1, 1, 1]])
    ('np.array([[0, 0, 0], [1, 1, 1]])', ['import numpy as np'])
    """
    if isinstance(colormap, str):
        return repr(colormap), []
    if isinstance(colormap, np.ndarray | list | tuple):
        return f"np.array({np.asarray(colormap).tolist()!r})", ["import numpy as np"]
    if _is_napari_colormap(colormap):
        # napari also knows colormaps by the names layers gave them in this
        # session; only its built-in ones have the same name in a new process
        from napari.utils.colormaps import ALL_COLORMAPS

        builtin = ALL_COLORMAPS.get(colormap.name)
        if builtin is not None and _same_colormap(builtin, colormap):
            imports = ["from napari.utils.colormaps import ensure_colormap"]
            return f"ensure_colormap({colormap.name!r})", imports
        source = (
            f"Colormap(colors={np.asarray(colormap.colors).tolist()!r}, "
            f"controls={np.asarray(colormap.controls).tolist()!r}, "
            f"interpolation={str(colormap.interpolation)!r})"
        )
        return source, ["from napari.utils.colormaps import Colormap"]
    name = getattr(colormap, "name", None)
    if name is not None:
        return f"matplotlib.colormaps[{name!r}]", ["import matplotlib"]
    raise ValueError(
        f"cannot record colormap {colormap!r} for the provenance snippet; "
        "pass a colormap name, a napari or matplotlib Colormap, or an (N, 3) array"
    )


def _is_napari_colormap(colormap: Any) -> bool:
    return all(
        hasattr(colormap, key) for key in ("colors", "controls", "interpolation")
    )


def _same_colormap(first: Any, second: Any) -> bool:
    return (
        np.array_equal(np.asarray(first.colors), np.asarray(second.colors))
        and np.array_equal(np.asarray(first.controls), np.asarray(second.controls))
        and str(first.interpolation) == str(second.interpolation)
    )
