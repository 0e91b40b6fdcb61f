"""Write overlays to a napari viewer: :func:`add_overlay` and its two halves.

:func:`add_overlay` is the public entry point; the widget runs the same three
steps, with the middle one in a worker thread:

1. :func:`~napari_heatoverlay.plugin.plan.plan_overlay` reads two layers
   (main thread, cheap) into an :class:`~napari_heatoverlay.plugin.plan.OverlayPlan`;
2. :meth:`~napari_heatoverlay.plugin.plan.OverlayPlan.compute` blends (pure,
   thread-safe);
3. :func:`show_overlay` adds the result layer, or updates it in place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from napari_heatoverlay.plugin.plan import OverlayPlan, plan_overlay
from napari_heatoverlay.plugin.provenance import provenance_record
from napari_heatoverlay.plugin.records import find_made_from

if TYPE_CHECKING:
    from collections.abc import Iterable

    import napari.layers
    import napari.viewer


def find_overlay_layer(
    layers: Iterable[napari.layers.Layer], sources: dict[str, dict[str, str]]
) -> napari.layers.Image | None:
    """The result layer made from the same two source layers, if any.

    Parameters
    ----------
    layers : iterable of napari.layers.Layer
        Where to look, usually ``viewer.layers``.
    sources : dict
        An :attr:`~napari_heatoverlay.plugin.plan.OverlayPlan.sources`: the
        layers are matched by id, so renaming them does not matter.

    Examples
    --------
    >>> find_overlay_layer([], {"image": {"name": "a", "id": "1"}}) is None
    True
    """
    return find_made_from(layers, "overlay", sources)


def show_overlay(
    viewer: napari.viewer.Viewer, plan: OverlayPlan, data: Any
) -> napari.layers.Image:
    """Add the result as an RGB layer, or update the existing one in place
    (and show it).

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer to show the result in.
    plan : OverlayPlan
        The plan `data` was computed from (name, transform, provenance).
    data : array or list of arrays
        The result of ``plan.compute()``, or a stack being filled in.

    Returns
    -------
    napari.layers.Image
        The result layer.

    Examples
    --------
    >>> plan = plan_overlay(viewer.layers[0], viewer.layers[1])  # doctest: +SKIP
    >>> show_overlay(viewer, plan, plan.compute())  # doctest: +SKIP
    <Image layer 'coffee heatmap over coffee' at ...>
    """
    layer = find_overlay_layer(viewer.layers, plan.sources)
    metadata = {"heatoverlay": provenance_record(plan)}
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
    if not layer.visible:  # hidden while the preview showed newer settings
        layer.visible = True
    # each transform assignment refreshes the layer: skip unchanged ones
    if not np.allclose(layer.scale, plan.scale):
        layer.scale = plan.scale
    if not np.allclose(layer.translate, plan.translate):
        layer.translate = plan.translate
    layer.metadata = {**layer.metadata, **metadata}
    return layer


def hide_stale_result(viewer: napari.viewer.Viewer, plan: OverlayPlan) -> None:
    """Hide the result layer of `plan`'s pair: it shows older settings.

    The preview draws the new settings on the heatmap layer underneath; the
    next :func:`show_overlay` (Apply) shows the result layer again.
    """
    result = find_overlay_layer(viewer.layers, plan.sources)
    if result is not None and result.visible:
        result.visible = False
        viewer.status = (
            f"Heat overlay: {result.name!r} is hidden while napari previews the "
            "new settings; Apply bakes and shows it"
        )


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
        pixel) to the image's field of view. A coarser (z, h, w) map over a
        (Z, Y, X) image is resampled in 3-D (``spatial_dims=3``), and its
        depth follows the layers' transforms the same way.
    **overlay_kwargs
        Options of :func:`napari_heatoverlay.overlay` (``mode``, ``alpha``,
        ``colormap``, ``norm``, ``threshold``, ...).

    Returns
    -------
    napari.layers.Image
        The result: uint8 RGB with the image's scale and translate (a
        volume's depth too, so its slider lines up); leading axes become
        sliders; lazy (dask) above
        :data:`~napari_heatoverlay.plugin.plan.MEMORY_BUDGET` bytes or for
        dask inputs; multiscale for a multiscale image. Its
        ``metadata["heatoverlay"]`` records the sources, the parameters and a
        ``snippet`` that recomputes it with ``overlay()``.

    Raises
    ------
    ValueError
        If the layers cannot be paired or an option is invalid; nothing is
        added or changed.
    TypeError
        If an option is unknown or of the wrong type; nothing is added.

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
