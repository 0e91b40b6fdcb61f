"""napari glue: lay a heatmap layer over an image layer.

:func:`add_overlay` is the public entry point; the widget runs the same three
steps, with the middle one in a worker thread:

1. :func:`plan_overlay` reads two layers (main thread, cheap) into an
   :class:`OverlayPlan` that holds arrays and plain values, never layers;
2. :meth:`OverlayPlan.compute` calls :func:`~napari_heatoverlay.overlay`
   (pure, thread-safe);
3. :func:`show_overlay` adds the result layer, or updates it in place.

:func:`overlay_selected` and :func:`align_selected` are the Layers >
Visualize menu commands.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

import napari_heatoverlay.engine.inputs as _inputs
from napari_heatoverlay import __version__
from napari_heatoverlay.engine.overlay import overlay

if TYPE_CHECKING:
    import napari.layers
    import napari.viewer

#: Results larger than this many bytes become lazy (dask) layers, of which
#: napari computes only the slices it shows.
MEMORY_BUDGET = 256 * 2**20

_DEFAULTS = {
    name: parameter.default
    for name, parameter in inspect.signature(overlay).parameters.items()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY
}


@dataclass(frozen=True)
class OverlayPlan:
    """Everything needed to compute and show one overlay, without any layer.

    Attributes
    ----------
    image : array or list of arrays
        The image layer's data (a list for a multiscale layer).
    heatmap : array
        The heatmap layer's data (finest level if multiscale).
    rows, cols : (int, int)
        The heatmap rows and columns, half-open and possibly beyond the
        heatmap's edges, that span the image's field of view.
    options : dict
        Every keyword of :func:`~napari_heatoverlay.overlay`, resolved.
    sources : dict
        ``{"image": {"name", "id"}, "heatmap": {"name", "id"}}``.
    shape : tuple of int
        Shape of the (finest) result, ``lead + (Y, X, 3)``.
    scale, translate : tuple of float
        The result layer's transform (the image's, plus the leading axes').
    lazy : bool
        Whether the result is a dask array (over budget or dask input).
    multiscale : bool
        Whether the image, hence the result, is a pyramid.
    """

    image: Any
    heatmap: Any
    rows: tuple[int, int]
    cols: tuple[int, int]
    options: dict[str, Any]
    sources: dict[str, dict[str, str]]
    shape: tuple[int, ...]
    scale: tuple[float, ...]
    translate: tuple[float, ...]
    lazy: bool
    multiscale: bool

    @property
    def lead(self) -> tuple[int, ...]:
        """The result's leading (slider) axes."""
        return self.shape[:-3]

    @property
    def name(self) -> str:
        """Default name of the result layer."""
        return f"{self.sources['heatmap']['name']} over {self.sources['image']['name']}"

    def fitted_heatmap(self) -> Any:
        """The heatmap cropped or NaN-padded to the image's field of view."""
        return fit_field_of_view(self.heatmap, self.rows, self.cols)

    def compute(self) -> Any:
        """Blend; a NumPy array, a dask array, or a list of either (multiscale)."""
        heatmap = self.fitted_heatmap()
        if self.lazy and not _inputs.is_dask(heatmap):
            import dask.array as da

            heatmap = da.from_array(
                heatmap, chunks=(1,) * (heatmap.ndim - 2) + (-1, -1)
            )
        return overlay(self.image, heatmap, **self.options)

    def index_at(self, world_point: tuple[float, ...]) -> tuple[int, ...]:
        """The leading index of the result shown at a viewer's dims point."""
        lead = self.lead
        # napari aligns layers' last axes; the result has len(lead) + 2 dims
        point = tuple(world_point)[-len(lead) - 2 :][: len(lead)]
        if len(point) < len(lead):
            return (0,) * len(lead)
        return tuple(
            min(max(round((value - offset) / step), 0), size - 1)
            for value, offset, step, size in zip(
                point,
                self.translate[: len(lead)],
                self.scale[: len(lead)],
                lead,
                strict=True,
            )
        )

    def metadata(self) -> dict[str, Any]:
        """The result layer's ``metadata["heatoverlay"]`` (provenance)."""
        parameters = dict(self.options)
        parameters["colormap"] = _colormap_name(parameters["colormap"])
        return {
            "role": "overlay",
            "sources": {role: source["name"] for role, source in self.sources.items()},
            "source_ids": {role: source["id"] for role, source in self.sources.items()},
            "heatmap_window": {"rows": list(self.rows), "cols": list(self.cols)},
            "parameters": parameters,
            "version": __version__,
            "snippet": self.snippet(),
        }

    def snippet(self) -> str:
        """Python code that recomputes the result with ``overlay()``.

        It expects ``image`` and ``heatmap`` to hold the two layers' data.
        """
        colormap, imports = _colormap_source(self.options["colormap"])
        height, width = self.heatmap.shape[-2:]
        (r0, r1), (c0, c1) = (
            (max(start, 0), min(stop, size))
            for (start, stop), size in ((self.rows, height), (self.cols, width))
        )
        steps = []
        if (r0, r1, c0, c1) != (0, height, 0, width):
            steps.append(f"heatmap = heatmap[..., {r0}:{r1}, {c0}:{c1}]")
        pad = _padding(self.rows, self.cols, (height, width))
        if any(pad):
            imports = ["import numpy as np", *imports]
            steps += [
                "heatmap = np.pad(",
                "    np.asarray(heatmap, dtype=np.float32),",
                f"    [(0, 0)] * (heatmap.ndim - 2) + [{pad[:2]}, {pad[2:]}],",
                "    constant_values=np.nan,",
                ")",
            ]
        arguments = "".join(
            f"    {key}={colormap if key == 'colormap' else repr(value)},\n"
            for key, value in self.options.items()
        )
        lines = [
            f"# Recomputes the napari-heatoverlay {__version__} overlay of",
            f"# image = viewer.layers[{self.sources['image']['name']!r}].data",
            f"# heatmap = viewer.layers[{self.sources['heatmap']['name']!r}].data",
            *dict.fromkeys(imports),
            "from napari_heatoverlay import overlay",
            "",
            *steps,
            f"result = overlay(\n    image,\n    heatmap,\n{arguments})",
        ]
        return "\n".join(lines) + "\n"


def fit_field_of_view(
    heatmap: Any, rows: tuple[int, int], cols: tuple[int, int]
) -> Any:
    """Crop ``heatmap`` to ``rows`` x ``cols``, padding with NaN beyond its edges.

    NaN carries no heat, so the image shows where the heatmap has no data.

    Examples
    --------
    >>> import numpy as np
    >>> fit_field_of_view(np.ones((2, 2)), (0, 2), (-1, 2))
    array([[nan,  1.,  1.],
           [nan,  1.,  1.]], dtype=float32)
    """
    height, width = heatmap.shape[-2:]
    cropped = heatmap[
        ...,
        max(rows[0], 0) : min(rows[1], height),
        max(cols[0], 0) : min(cols[1], width),
    ]
    pad = _padding(rows, cols, (height, width))
    if not any(pad):
        return cropped
    widths = [(0, 0)] * (heatmap.ndim - 2) + [pad[:2], pad[2:]]
    filled = cropped.astype(np.float32)
    return np.pad(filled, widths, constant_values=np.nan)


def _padding(
    rows: tuple[int, int], cols: tuple[int, int], size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """NaN rows before/after and columns before/after for a heatmap window."""
    return (
        max(-rows[0], 0),
        max(rows[1] - size[0], 0),
        max(-cols[0], 0),
        max(cols[1] - size[1], 0),
    )


def plan_overlay(
    image_layer: napari.layers.Image,
    heatmap_layer: napari.layers.Image,
    **overlay_kwargs: Any,
) -> OverlayPlan:
    """Read two layers into an :class:`OverlayPlan`; see :func:`add_overlay`.

    Raises
    ------
    ValueError
        If the layers cannot be paired; the message says what to change.
    """
    unknown = set(overlay_kwargs) - set(_DEFAULTS)
    if unknown:
        raise TypeError(
            f"add_overlay got unknown option(s) {sorted(unknown)}; "
            f"overlay() accepts {sorted(_DEFAULTS)}"
        )
    if image_layer.unique_id == heatmap_layer.unique_id:
        raise ValueError(
            f"image and heatmap are the same layer ({image_layer.name!r}); "
            "choose two different layers"
        )
    for layer in (image_layer, heatmap_layer):
        _check_transform(layer)
    if heatmap_layer.rgb:
        raise ValueError(
            f"heatmap layer {heatmap_layer.name!r} is RGB; choose a single-channel "
            "layer (a feature map or saliency map) as the heatmap"
        )
    levels = list(image_layer.data) if image_layer.multiscale else [image_layer.data]
    heatmap = heatmap_layer.data[0] if heatmap_layer.multiscale else heatmap_layer.data
    rgb = bool(image_layer.rgb)
    spatial = levels[0].shape[-3:-1] if rgb else levels[0].shape[-2:]
    image_lead = levels[0].shape[: len(levels[0].shape) - 2 - rgb]
    if heatmap.ndim < 2:
        raise ValueError(
            f"heatmap layer {heatmap_layer.name!r} must be at least 2-D, "
            f"got shape {heatmap.shape}"
        )
    lead = _inputs.leading_shape(image_lead, heatmap.shape[:-2])
    rows, cols = _heatmap_window(
        image_layer, heatmap_layer, spatial, heatmap.shape[-2:]
    )

    options = {**_DEFAULTS, **overlay_kwargs, "rgb": rgb}
    if "colormap" not in overlay_kwargs:
        options["colormap"] = heatmap_layer.colormap
    if "image_range" not in overlay_kwargs:
        is_rgb_uint8 = rgb and levels[0].dtype == np.uint8
        options["image_range"] = (
            None
            if is_rgb_uint8
            else tuple(float(v) for v in image_layer.contrast_limits)
        )
    for key in ("percentiles", "image_range"):
        if isinstance(options[key], list):
            options[key] = tuple(options[key])

    shape = (*lead, *spatial, 3)
    nbytes = math.prod(shape) * (4 / 3 if image_layer.multiscale else 1)
    lazy = nbytes > MEMORY_BUDGET or any(
        _inputs.is_dask(level) for level in [*levels, heatmap]
    )
    scale, translate = _result_transform(image_layer, heatmap_layer, len(lead))
    return OverlayPlan(
        image=levels if image_layer.multiscale else levels[0],
        heatmap=heatmap,
        rows=rows,
        cols=cols,
        options=options,
        sources={
            "image": {"name": image_layer.name, "id": str(image_layer.unique_id)},
            "heatmap": {"name": heatmap_layer.name, "id": str(heatmap_layer.unique_id)},
        },
        shape=shape,
        scale=scale,
        translate=translate,
        lazy=lazy,
        multiscale=bool(image_layer.multiscale),
    )


def _check_transform(layer: napari.layers.Layer) -> None:
    ndim = layer.ndim
    rotated = not np.allclose(layer.rotate, np.eye(ndim))
    sheared = not np.allclose(layer.shear, 0)
    affine = not np.allclose(layer.affine.affine_matrix, np.eye(ndim + 1))
    if rotated or sheared or affine:
        raise ValueError(
            f"layer {layer.name!r} is rotated, sheared or has an affine transform; "
            "heat overlays follow only scale and translate, so reset the others "
            "(layer.rotate, layer.shear, layer.affine) first"
        )


def _heatmap_window(
    image_layer: napari.layers.Image,
    heatmap_layer: napari.layers.Image,
    image_size: tuple[int, int],
    heatmap_size: tuple[int, int],
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Heatmap rows and columns spanning the image's field of view.

    A heatmap with an identity transform covers the image (the Grad-CAM
    convention); otherwise the two layers' world transforms say where it
    lies, to the nearest heatmap pixel.
    """
    heat_scale = np.asarray(heatmap_layer.scale[-2:], dtype=float)
    heat_translate = np.asarray(heatmap_layer.translate[-2:], dtype=float)
    if np.allclose(heat_scale, 1) and np.allclose(heat_translate, 0):
        return (0, heatmap_size[0]), (0, heatmap_size[1])
    image_scale = np.asarray(image_layer.scale[-2:], dtype=float)
    image_translate = np.asarray(image_layer.translate[-2:], dtype=float)
    size = np.asarray(image_size, dtype=float)
    # pixel edges of the image's field of view, in heatmap pixel-edge units
    first = (image_translate - image_scale / 2 - heat_translate) / heat_scale + 0.5
    last = (
        image_translate + image_scale * (size - 0.5) - heat_translate
    ) / heat_scale + 0.5
    start = np.floor(first + 0.5).astype(int)
    stop = np.maximum(np.floor(last + 0.5).astype(int), start + 1)
    if np.any(stop <= 0) or np.any(start >= np.asarray(heatmap_size)):
        raise ValueError(
            f"heatmap layer {heatmap_layer.name!r} does not overlap image layer "
            f"{image_layer.name!r} in world coordinates; use Layers > Visualize > "
            "Align heatmap to image, or reset the heatmap's scale and translate "
            "to 1 and 0 so that it is stretched over the image"
        )
    return (int(start[0]), int(stop[0])), (int(start[1]), int(stop[1]))


def _result_transform(
    image_layer: napari.layers.Image,
    heatmap_layer: napari.layers.Image,
    lead_ndim: int,
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The image's scale/translate, with leading axes from whichever layer has them."""
    scale, translate = [1.0] * (lead_ndim + 2), [0.0] * (lead_ndim + 2)
    # heatmap first, so that the image's own axes win where both have one
    for layer in (heatmap_layer, image_layer):
        layer_lead = layer.ndim - 2
        for axis in range(1, min(layer_lead, lead_ndim) + 1):
            scale[-2 - axis] = float(layer.scale[layer_lead - axis])
            translate[-2 - axis] = float(layer.translate[layer_lead - axis])
    scale[-2:] = (float(s) for s in image_layer.scale[-2:])
    translate[-2:] = (float(t) for t in image_layer.translate[-2:])
    return tuple(scale), tuple(translate)


def find_overlay_layer(
    layers: Any, sources: dict[str, dict[str, str]]
) -> napari.layers.Image | None:
    """The result layer made from the same two source layers, if any."""
    ids = {role: source["id"] for role, source in sources.items()}
    for layer in layers:
        record = layer.metadata.get("heatoverlay", {})
        if record.get("role") == "overlay" and record.get("source_ids") == ids:
            return layer
    return None


def show_overlay(
    viewer: napari.viewer.Viewer, plan: OverlayPlan, data: Any
) -> napari.layers.Image:
    """Add the result as an RGB layer, or update the existing one in place."""
    layer = find_overlay_layer(viewer.layers, plan.sources)
    metadata = {"heatoverlay": plan.metadata()}
    if layer is not None and bool(layer.multiscale) != plan.multiscale:
        viewer.layers.remove(layer)
        layer = None
    if layer is None:
        return viewer.add_image(
            data,
            name=plan.name,
            rgb=True,
            multiscale=plan.multiscale,
            contrast_limits=(0, 255),
            scale=plan.scale,
            translate=plan.translate,
            metadata=metadata,
        )
    layer.data = data
    # each transform assignment refreshes the layer: skip unchanged ones
    if not np.allclose(layer.scale, plan.scale):
        layer.scale = plan.scale
    if not np.allclose(layer.translate, plan.translate):
        layer.translate = plan.translate
    layer.metadata = {**layer.metadata, **metadata}
    return layer


def add_overlay(
    viewer: napari.viewer.Viewer,
    image_layer: napari.layers.Image,
    heatmap_layer: napari.layers.Image,
    **overlay_kwargs: Any,
) -> napari.layers.Image:
    """Lay a heatmap layer over an image layer as a new RGB image layer.

    Calling it again for the same two layers updates that result layer in
    place. What you see is what you get: by default the image's contrast
    limits and the heatmap layer's colormap are used.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer holding both layers; the result is added to it.
    image_layer : napari.layers.Image
        Grey or RGB image, optionally multiscale or with leading axes
        (channels, time). Its contrast limits become ``image_range`` (unless
        it is RGB uint8) and its ``rgb`` flag ``rgb``.
    heatmap_layer : napari.layers.Image
        Single-channel (..., h, w) map. With an identity transform (scale 1,
        translate 0) it is stretched over the image's field of view (the
        Grad-CAM convention); otherwise the layers' scale and translate say
        where it lies, and it is cropped or NaN-padded (to the nearest heatmap
        pixel) to the image's field of view.
    **overlay_kwargs
        Options of :func:`napari_heatoverlay.overlay` (``mode``, ``alpha``,
        ``colormap``, ``norm``, ``threshold``, ...).

    Returns
    -------
    napari.layers.Image
        The result: uint8 RGB with the image's scale and translate; leading
        axes become sliders; lazy (dask) above ``MEMORY_BUDGET`` bytes or for
        dask inputs; multiscale for a multiscale image. Its
        ``metadata["heatoverlay"]`` records the sources, the parameters and a
        ``snippet`` that recomputes it with ``overlay()``.

    Raises
    ------
    ValueError
        If the layers cannot be paired or an option is invalid; nothing is
        added or changed.

    Examples
    --------
    >>> import napari
    >>> from napari_heatoverlay import add_overlay
    >>> viewer = napari.Viewer(show=False)  # doctest: +SKIP
    >>> viewer.open_sample("napari-heatoverlay", "coffee_heatmap")  # doctest: +SKIP
    >>> image, heatmap = viewer.layers  # doctest: +SKIP
    >>> result = add_overlay(viewer, image, heatmap, alpha=0.4)  # doctest: +SKIP
    >>> result.data.shape  # doctest: +SKIP
    (400, 600, 3)
    """
    plan = plan_overlay(image_layer, heatmap_layer, **overlay_kwargs)
    return show_overlay(viewer, plan, plan.compute())


def overlay_selected(viewer: napari.viewer.Viewer) -> None:
    """Menu command: overlay the selected heatmap layer on the selected image."""
    from napari.utils.notifications import show_error

    pair = _selected_pair(viewer)
    if pair is None:
        return
    try:
        add_overlay(viewer, *pair)
    except (TypeError, ValueError) as error:
        show_error(f"Heat overlay: {error}")


def align_selected(viewer: napari.viewer.Viewer) -> None:
    """Menu command: scale the selected heatmap so napari draws it on the image.

    For a factor ``s = image size / heatmap size`` per axis, the heatmap gets
    ``scale = image_scale * s`` and ``translate = image_translate +
    image_scale * (s - 1) / 2``, which puts the centres of its pixels on the
    centres of the image blocks they summarise. Leading axes are untouched.
    """
    pair = _selected_pair(viewer)
    if pair is None:
        return
    image_layer, heatmap_layer = pair
    scale, translate = aligned_transform(image_layer, heatmap_layer)
    heatmap_layer.scale = scale
    heatmap_layer.translate = translate


def aligned_transform(
    image_layer: napari.layers.Image, heatmap_layer: napari.layers.Image
) -> tuple[np.ndarray, np.ndarray]:
    """The heatmap scale and translate that line it up with the image."""
    image_data = image_layer.data[0] if image_layer.multiscale else image_layer.data
    heat_data = (
        heatmap_layer.data[0] if heatmap_layer.multiscale else heatmap_layer.data
    )
    image_size = np.asarray(
        image_data.shape[-3:-1] if image_layer.rgb else image_data.shape[-2:], float
    )
    factor = image_size / np.asarray(heat_data.shape[-2:], float)
    image_scale = np.asarray(image_layer.scale[-2:], float)
    image_translate = np.asarray(image_layer.translate[-2:], float)
    scale = np.array(heatmap_layer.scale, float)
    translate = np.array(heatmap_layer.translate, float)
    scale[-2:] = image_scale * factor
    translate[-2:] = image_translate + image_scale * (factor - 1) / 2
    return scale, translate


def _selected_pair(
    viewer: napari.viewer.Viewer,
) -> tuple[napari.layers.Image, napari.layers.Image] | None:
    """(image, heatmap) from exactly two selected image layers, else warn."""
    from napari.layers import Image
    from napari.utils.notifications import show_warning

    selected = [layer for layer in viewer.layers if layer in viewer.layers.selection]
    if len(selected) != 2 or not all(isinstance(layer, Image) for layer in selected):
        show_warning(
            "Heat overlay: select exactly two image layers in the layer list, the "
            "image and the heatmap (Ctrl/Cmd-click to select the second), then "
            f"try again. Now selected: {len(selected)} layer(s)."
        )
        return None
    return order_pair(*selected)


def order_pair(
    first: napari.layers.Image, second: napari.layers.Image
) -> tuple[napari.layers.Image, napari.layers.Image]:
    """Tell image from heatmap: by metadata role, then RGB, then size.

    Ties keep the given order (for the layer list: the lower layer is the
    image).
    """

    def rank(layer: napari.layers.Image) -> tuple[int, int, int]:
        role = layer.metadata.get("heatoverlay", {}).get("role")
        data = layer.data[0] if layer.multiscale else layer.data
        pixels = math.prod(data.shape[-3:-1] if layer.rgb else data.shape[-2:])
        return (
            {"image": 1, "heatmap": -1}.get(role, 0),
            int(bool(layer.rgb)),
            pixels,
        )

    return (second, first) if rank(second) > rank(first) else (first, second)


def _colormap_name(colormap: Any) -> str:
    """A short, JSON-friendly description of a colormap."""
    if isinstance(colormap, str):
        return colormap
    return str(getattr(colormap, "name", type(colormap).__name__))


def _colormap_source(colormap: Any) -> tuple[str, list[str]]:
    """Source code for ``colormap`` and the imports it needs."""
    if isinstance(colormap, str):
        return repr(colormap), []
    if isinstance(colormap, np.ndarray | list | tuple):
        return f"np.array({np.asarray(colormap).tolist()!r})", ["import numpy as np"]
    if _is_napari_colormap(colormap):
        from napari.utils.colormaps import ensure_colormap

        try:
            named = ensure_colormap(colormap.name)
        except (KeyError, ValueError):
            named = None
        if named is not None and _same_colormap(named, colormap):
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
