"""Read two napari layers into an :class:`OverlayPlan`: what to blend, and where.

:func:`plan_overlay` is cheap and runs on the UI thread; the plan holds
arrays and plain values, never layers, so :meth:`OverlayPlan.compute` may run
in a worker thread. :func:`order_pair` tells which of two layers is the image.

A (Z, Y, X) volume with a coarser (z, h, w) heatmap (a volume pair,
:func:`~napari_heatoverlay.plugin.volume.is_volume_pair`) is baked in 3-D:
the plan holds a depth window as well as rows and columns (the layers' world
transforms say which heat slices span the image's depth, as in-plane), and
the engine resamples the heatmap along z too (``spatial_dims=3``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

import napari_heatoverlay.engine.inputs as _inputs
from napari_heatoverlay.engine.options import OverlayOptions
from napari_heatoverlay.engine.overlay import render
from napari_heatoverlay.plugin.geometry import (
    check_transform,
    fit_field_of_view,
    heatmap_window,
    result_transform,
)
from napari_heatoverlay.plugin.style import own_colormap
from napari_heatoverlay.plugin.volume import is_volume_pair, spatial_shape

if TYPE_CHECKING:
    import napari.layers

#: Results larger than this many bytes become lazy (dask) layers, of which
#: napari computes only the slices it shows.
MEMORY_BUDGET = 256 * 2**20


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
    options : OverlayOptions
        Every option of :func:`~napari_heatoverlay.overlay`, validated.
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
    depth : (int, int) or None
        For a 3-D bake (``options.spatial_dims == 3``, chosen for a volume
        pair), the heat slices, half-open and possibly beyond the heatmap's
        ends, that span the image's depth; None for a 2-D bake.
    """

    image: Any
    heatmap: Any
    rows: tuple[int, int]
    cols: tuple[int, int]
    options: OverlayOptions
    sources: dict[str, dict[str, str]]
    shape: tuple[int, ...]
    scale: tuple[float, ...]
    translate: tuple[float, ...]
    lazy: bool
    multiscale: bool
    depth: tuple[int, int] | None = None

    @property
    def lead(self) -> tuple[int, ...]:
        """The result's leading (slider) axes."""
        return self.shape[:-3]

    @property
    def name(self) -> str:
        """Default name of the result layer."""
        return f"{self.sources['heatmap']['name']} over {self.sources['image']['name']}"

    @property
    def windows(self) -> tuple[tuple[int, int], ...]:
        """``rows, cols``, or ``depth, rows, cols`` for a 3-D bake."""
        planes = (self.rows, self.cols)
        return planes if self.depth is None else (self.depth, *planes)

    def fitted_heatmap(self) -> Any:
        """The heatmap cropped or NaN-padded to the image's field of view
        (for a 3-D bake, along depth too)."""
        return fit_field_of_view(self.heatmap, *self.windows)

    def compute(self) -> Any:
        """Blend; a NumPy array, a dask array, or a list of either (multiscale)."""
        heatmap = self.fitted_heatmap()
        if self.lazy and not _inputs.is_dask(heatmap):
            import dask.array as da

            # one chunk per map: the 3-D path resamples a whole (z, h, w)
            # map along z in one task, the 2-D path one (h, w) slice
            whole = len(self.windows)
            heatmap = da.from_array(
                heatmap, chunks=(1,) * (heatmap.ndim - whole) + (-1,) * whole
            )
        return render(self.image, heatmap, self.options)

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


def plan_overlay(
    image_layer: napari.layers.Image,
    heatmap_layer: napari.layers.Image,
    **overlay_kwargs: Any,
) -> OverlayPlan:
    """Read two layers into an :class:`OverlayPlan`; see :func:`~napari_heatoverlay.add_overlay`.

    The options are validated here, once. Unless given, ``colormap`` is the
    heatmap layer's and ``image_range`` the image layer's contrast limits
    (none for RGB uint8); ``rgb`` is always the image layer's.
    ``spatial_dims`` is 3 for a volume pair
    (:func:`~napari_heatoverlay.plugin.volume.is_volume_pair`), else 2; with
    3 the plan gets a depth window (:attr:`OverlayPlan.depth`).

    Parameters
    ----------
    image_layer : napari.layers.Image
        The image, grey or RGB, optionally multiscale or with leading axes.
    heatmap_layer : napari.layers.Image
        The single-channel heatmap.
    **overlay_kwargs
        Options of :func:`~napari_heatoverlay.overlay`.

    Returns
    -------
    OverlayPlan

    Raises
    ------
    ValueError
        If the layers cannot be paired or an option value is invalid; the
        message says what to change.
    TypeError
        If an option is unknown or of the wrong type.

    Examples
    --------
    >>> import numpy as np
    >>> from napari.layers import Image
    >>> image = Image(np.zeros((40, 60)), name="photo")
    >>> heat = Image(np.ones((3, 4, 6)), name="heat", colormap="inferno")
    >>> plan = plan_overlay(image, heat, alpha=0.3)
    >>> plan.shape, plan.name, plan.options.alpha, plan.options.colormap.name
    ((3, 40, 60, 3), 'heat over photo', 0.3, 'inferno')
    """
    levels = list(image_layer.data) if image_layer.multiscale else [image_layer.data]
    heatmap = heatmap_layer.data[0] if heatmap_layer.multiscale else heatmap_layer.data
    options = _layer_options(image_layer, heatmap_layer, levels[0], overlay_kwargs)
    if image_layer.unique_id == heatmap_layer.unique_id:
        raise ValueError(
            f"image and heatmap are the same layer ({image_layer.name!r}); "
            "choose two different layers"
        )
    for layer in (image_layer, heatmap_layer):
        check_transform(layer)
    if heatmap_layer.rgb:
        raise ValueError(
            f"heatmap layer {heatmap_layer.name!r} is RGB; choose a single-channel "
            "layer (a feature map or saliency map) as the heatmap"
        )
    if heatmap.ndim < 2:
        raise ValueError(
            f"heatmap layer {heatmap_layer.name!r} must be at least 2-D, "
            f"got shape {heatmap.shape}"
        )
    axes = options.spatial_dims
    image_shape = spatial_shape(image_layer)
    if heatmap.ndim < axes or len(image_shape) < axes:
        raise ValueError(
            f"spatial_dims={axes} needs a (Z, Y, X) image layer and a (z, h, w) "
            f"heatmap layer, got {image_layer.name!r} of spatial shape "
            f"{image_shape} and {heatmap_layer.name!r} of shape {heatmap.shape}; "
            "leave spatial_dims out to let the layers decide"
        )
    spatial = image_shape[-axes:]
    image_lead = image_shape[:-axes]
    heat_lead = heatmap.shape[:-axes]
    _check_depths(image_layer, heatmap_layer, options)
    lead = _inputs.leading_shape(image_lead, heat_lead)
    *depth, rows, cols = heatmap_window(
        image_layer, heatmap_layer, spatial, heatmap.shape[-axes:]
    )
    lead = (*lead, *spatial[:-2])  # a 3-D bake's depth is a slider axis too
    spatial = spatial[-2:]
    shape = (*lead, *spatial, 3)
    nbytes = math.prod(shape) * (4 / 3 if image_layer.multiscale else 1)
    lazy = nbytes > MEMORY_BUDGET or any(
        _inputs.is_dask(level) for level in [*levels, heatmap]
    )
    scale, translate = result_transform(image_layer, heatmap_layer, len(lead))
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
        depth=depth[0] if depth else None,
    )


def _check_depths(
    image_layer: napari.layers.Image,
    heatmap_layer: napari.layers.Image,
    options: OverlayOptions,
) -> None:
    """Refuse a volume pair baked in 2-D: its depths cannot broadcast."""
    if options.spatial_dims == 2 and is_volume_pair(image_layer, heatmap_layer):
        heat_depth = spatial_shape(heatmap_layer)[-3]
        image_depth = spatial_shape(image_layer)[-3]
        raise ValueError(
            f"heatmap layer {heatmap_layer.name!r} has {heat_depth} slices over "
            f"the {image_depth} of image layer {image_layer.name!r}: a coarse "
            "volume map is overlaid in 3-D; leave spatial_dims out (or pass 3)"
        )


def _layer_options(
    image_layer: napari.layers.Image,
    heatmap_layer: napari.layers.Image,
    finest_image: Any,
    overlay_kwargs: dict[str, Any],
) -> OverlayOptions:
    """`overlay_kwargs`, with what the layers show filling the gaps, validated.

    The colormap is the heatmap layer's own one, also while the preview
    restyles the layer; a volume pair is baked in 3-D.
    """
    rgb = bool(image_layer.rgb)
    resolved = {**overlay_kwargs, "rgb": rgb}
    resolved.setdefault("colormap", own_colormap(heatmap_layer))
    volume = is_volume_pair(image_layer, heatmap_layer)
    resolved.setdefault("spatial_dims", 3 if volume else 2)
    if "image_range" not in overlay_kwargs:
        is_rgb_uint8 = rgb and finest_image.dtype == np.uint8
        resolved["image_range"] = (
            None if is_rgb_uint8 else tuple(image_layer.contrast_limits)
        )
    return OverlayOptions.from_kwargs(**resolved)


def order_pair(
    first: napari.layers.Image, second: napari.layers.Image
) -> tuple[napari.layers.Image, napari.layers.Image]:
    """Tell image from heatmap: by metadata role, then RGB, then size.

    Ties keep the given order (for the layer list: the lower layer is the
    image).

    Examples
    --------
    >>> import numpy as np
    >>> from napari.layers import Image
    >>> heat = Image(np.zeros((4, 6)), name="heat")
    >>> photo = Image(np.zeros((40, 60, 3)), name="photo", rgb=True)
    >>> [layer.name for layer in order_pair(heat, photo)]
    ['photo', 'heat']
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
