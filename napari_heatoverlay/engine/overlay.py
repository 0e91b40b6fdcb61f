"""The public engine: :func:`overlay` and :func:`colorize`."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

import napari_heatoverlay.engine.inputs as _inputs
from napari_heatoverlay.engine.blend import (
    BlendOptions,
    PreparedHeat,
    blend_region,
    prepare_heat,
)
from napari_heatoverlay.engine.colormap import colormap_lut
from napari_heatoverlay.engine.normalize import Window, compute_window
from napari_heatoverlay.engine.options import (
    OptionValueError,
    OverlayOptions,
    with_options,
)
from napari_heatoverlay.engine.volume import on_image_z


def overlay(
    image: ArrayLike | list | tuple,
    heatmap: ArrayLike | list | tuple,
    *,
    mode: str = "alpha",
    alpha: float = 0.5,
    colormap: Any = "jet",
    norm: str = "minmax",
    sign: str = "all",
    outlier_perc: float = 2.0,
    gamma: float = 1.0,
    vmin: float | None = None,
    vmax: float | None = None,
    percentiles: tuple[float, float] = (1, 99),
    threshold: float | None = None,
    interpolation: str = "linear",
    image_range: tuple[float, float] | None = None,
    rgb: bool | None = None,
    spatial_dims: int = 2,
    channel_axis: int | None = None,
) -> Any:
    """Lay a heatmap over an image with transparency.

    With ``n`` the normalised heatmap in [0, 1], ``img`` the image as 0..255
    RGB, ``c`` the colormap of ``n`` as 0..255 RGB and ``a = alpha``:

    ========== ==========================================
    mode       output
    ========== ==========================================
    alpha      ``(1 - a) * img + a * c``
    gray       ``(1 - a) * img + a * 255 * n``
    multiply   ``img * (1 - a + a * n)`` (a=1: only the hot regions show)
    scaled     ``(1 - a * n) * img + a * n * c`` (cold regions transparent)
    additive   ``min(255, img + a * c)``
    tint       ``img * ((1 - a) + a * c / 255)`` (multiply by the colour)
    ========== ==========================================

    Parameters
    ----------
    image : array_like or list of array_like
        (..., Y, X) grey or (..., Y, X, 3|4) RGB(A); alpha is dropped. NumPy,
        dask, zarr, torch (any device) or nested lists. A list of arrays is a
        multiscale pyramid (finest first). See `channel_axis` for
        channels-first images.
    heatmap : array_like or list of array_like
        (..., h, w), any real dtype; its last two axes cover the same field of
        view as the image's and are resampled pixel-centre aligned when the
        sizes differ. Non-finite pixels carry no heat (the image shows).
    mode : {"alpha", "gray", "multiply", "scaled", "additive", "tint"}
        Blend formula, see the table above.
    alpha : float or array_like
        Heat opacity in [0, 1]; or a 2-D map of opacities, one per pixel, on
        the image grid (Y, X) or the heatmap grid (h, w), resampled like the
        heat (MONAI's ``blend_images(alpha=array)``): ``a`` in every formula
        is then that pixel's value.
    colormap : str, Colormap or (N, 3|4) array
        Any matplotlib colormap name or object, a napari Colormap, or a colour
        table. Lookup equals matplotlib's: entry ``min(floor(n * N), N - 1)``.
    norm : {"minmax", "max", "percentile", "sigmoid", "symmetric", "none", "cumulative"}
        How raw heat becomes ``n``; see :func:`normalize`. The statistics come
        from all finite heatmap values, before resampling, over all slices.
    sign : {"all", "positive", "negative", "absolute_value"}
        Applied to the raw heat before the norm, as captum does: positive
        keeps ``h > 0`` (others 0), negative takes ``-min(h, 0)``,
        absolute_value ``|h|``, all leaves ``h`` as is.
    outlier_perc : float
        For ``norm="cumulative"``: the percentage of the total ``|h|`` clipped
        as outliers, in [0, 100).
    gamma : float
        ``n`` becomes ``n ** gamma`` after the norm, as napari's layer gamma
        (torchcam's look is ``gamma=2``).
    vmin, vmax : float, optional
        Fix the normalisation window instead (like napari contrast limits).
    percentiles : (float, float)
        Window for ``norm="percentile"``.
    threshold : float, optional
        Pixels with ``n < threshold`` are left exactly as the image.
    interpolation : {"nearest", "linear", "cubic"}
        Spline order 0, 1, 3 for resampling, as ``skimage.transform.resize``
        with ``mode="edge"``; a larger heatmap is anti-aliased first.
    image_range : (float, float), optional
        Image values mapped to 0 and 255. Default: uint8 as is; float data
        within [0, 1] uses (0, 1); other data its finite min and max (lazy
        data is not scanned: integers use their dtype's range, floats (0, 1)).
    rgb : bool, optional
        Whether the image's last axis is colour; guessed from a last axis of
        size 3 or 4 when None. A last axis of size 1 is always grey.
    spatial_dims : {2, 3}
        How many of the heatmap's last axes cover the image's field of view.
        With 3, a (..., z, h, w) map covers a (..., Z, Y, X) volume and is
        resampled along z too, as ``skimage.transform.resize`` would in 3-D
        (anti-aliased when reduced); leading axes broadcast as before.
    channel_axis : int, optional
        The image's colour axis (scikit-image's name), e.g. 0 for a (3, H, W)
        torch image or 1 for a (N, 3, H, W) batch; it must have 3 or 4
        entries. None keeps the guess from the last axis, and warns when a
        leading axis of 3 looks like channels-first colour.

    Returns
    -------
    ndarray, dask array or list
        uint8 of shape ``broadcast(leading axes) + (Y, X, 3)``; lazy when image
        or heatmap is a dask array; a list per level for a pyramid.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_heatoverlay import overlay
    >>> image = np.full((32, 96, 3), 128, dtype=np.uint8)
    >>> features = np.random.default_rng(0).normal(size=(1, 256, 8, 24))
    >>> overlay(image, features[0, 0], alpha=0.4).shape
    (32, 96, 3)
    >>> overlay(image, features[0, :4], mode="scaled", threshold=0.2).shape
    (4, 32, 96, 3)
    >>> attribution = np.random.default_rng(1).normal(size=(3, 32, 96))
    >>> overlay(image, attribution.sum(0), norm="cumulative", sign="positive").shape
    (32, 96, 3)
    >>> overlay(np.zeros((3, 32, 96)), features[0, 0], channel_axis=0).shape
    (32, 96, 3)
    """
    options = OverlayOptions(
        mode=mode,
        alpha=alpha,
        colormap=colormap,
        norm=norm,
        sign=sign,
        outlier_perc=outlier_perc,
        gamma=gamma,
        vmin=vmin,
        vmax=vmax,
        percentiles=percentiles,
        threshold=threshold,
        interpolation=interpolation,
        image_range=image_range,
        rgb=rgb,
        spatial_dims=spatial_dims,
        channel_axis=channel_axis,
    )
    return render(image, heatmap, options)


def render(
    image: ArrayLike | list | tuple,
    heatmap: ArrayLike | list | tuple,
    options: OverlayOptions,
    *,
    window: Window | None = None,
) -> Any:
    """:func:`overlay` with validated options; the CLI, napari and figures call it.

    `window`, when given, replaces the one the norm computes from `heatmap`
    (a figure of one slice keeps the whole stack's window).
    """
    blend_options = BlendOptions(
        options.mode,
        options.alpha,
        colormap_lut(options.colormap),
        options.threshold,
        options.interpolation.order,
    )
    images, heatmaps, pyramid = _levels(image, heatmap)
    if window is None:
        window = _window(heatmaps[0], options)
    results = []
    for level, heat in zip(images, heatmaps, strict=True):
        grid, _ = _inputs.split_image(level, options.rgb, options.channel_axis)
        if isinstance(options.alpha, np.ndarray):
            first_grid = _inputs.split_image(
                images[0], options.rgb, options.channel_axis
            )[0]
            alpha_map = _alpha_map(options, first_grid, heatmaps[0], grid)
            level_options = replace(blend_options, alpha=alpha_map)
        else:
            level_options = blend_options
        level_window = window
        if options.spatial_dims == 3:
            heat, level_window = _on_image_z(grid, heat, window, options)
        results.append(_overlay_level(grid, heat, level_options, level_window, options))
    return results if pyramid else results[0]


def _on_image_z(image: Any, heat: Any, window: Any, options: OverlayOptions) -> Any:
    """The heat's z axis resampled onto the image's (``spatial_dims=3``)."""
    if image.ndim < 4:
        raise ValueError(
            f"spatial_dims=3 needs a (Z, Y, X) or (Z, Y, X, 3) image, got one with "
            f"spatial shape {image.shape[:-1]}; pass spatial_dims=2 for a 2-D image"
        )
    return on_image_z(heat, image.shape[-4], window, options.interpolation.order)


def _alpha_map(
    options: OverlayOptions, first_image: Any, heat: Any, image: Any
) -> PreparedHeat:
    """The per-pixel alpha map, prepared to be resampled onto `image`'s grid."""
    alpha = options.alpha
    accepted = (tuple(first_image.shape[-3:-1]), tuple(heat.shape[-2:]))
    if alpha.shape not in accepted:
        raise OptionValueError(
            "alpha",
            f"alpha as an array has shape {alpha.shape}, but it must lie on the "
            f"image grid {accepted[0]} or on the heatmap grid {accepted[1]}; "
            "resize it to one of them",
        )
    return prepare_heat(
        alpha, Window(0.0, 1.0), image.shape[-3:-1], options.interpolation.order
    )


@with_options(groups=("colour", "heat"))
def colorize(heatmap: ArrayLike, **options: Any) -> np.ndarray:
    """Return the colour-mapped heatmap alone as uint8 RGB.

    Parameters
    ----------
    heatmap : array_like
        (..., h, w) real values; non-finite pixels come out black.
    **options
        ``colormap`` and the options that make ``n`` (``norm``, ``sign``,
        ``outlier_perc``, ``gamma``, ``vmin``, ``vmax``, ``percentiles``),
        as for :func:`overlay`.

    Returns
    -------
    ndarray of uint8, shape (..., h, w, 3)

    Examples
    --------
    >>> import numpy as np
    >>> from napari_heatoverlay import colorize
    >>> colorize(np.array([[0.0, 1.0]]), colormap="gray")
    array([[[  0,   0,   0],
            [255, 255, 255]]], dtype=uint8)
    """
    settings = OverlayOptions.from_kwargs(**options).replace(
        mode="alpha", alpha=1.0, image_range=(0, 255), rgb=False, channel_axis=None
    )
    heat = _inputs.check_heatmap(_inputs.as_array(heatmap, "heatmap"))
    black = np.zeros(heat.shape[-2:], dtype=np.uint8)
    return render(black, np.asarray(heat), settings)


def _levels(image: Any, heatmap: Any) -> tuple[list, list, bool]:
    """Split image and heatmap into per-level lists (multiscale support).

    A list of arrays is a pyramid; a nested list of numbers is one array, as
    NumPy reads it. A list of heatmaps goes with a pyramid image only.
    """
    pyramid = _inputs.is_array_list(image)
    if isinstance(image, list | tuple) and not image:
        raise ValueError("image is an empty list; pass an array or a non-empty pyramid")
    images = list(image) if pyramid else [image]
    if _inputs.is_array_list(heatmap):
        if not pyramid and len(heatmap) > 1:
            raise ValueError(
                f"heatmap is a list of {len(heatmap)} arrays, which means one map "
                "per pyramid level, but image is one array; to get one overlay "
                "per map, stack them into one array: np.stack(heatmaps)"
            )
        if len(heatmap) == 1:
            heatmaps = [heatmap[0]] * len(images)
        elif len(heatmap) == len(images):
            heatmaps = list(heatmap)
        else:
            raise ValueError(
                f"heatmap has {len(heatmap)} levels but image has {len(images)}; "
                "pass one heatmap array or one per image level"
            )
    else:
        heatmaps = [heatmap] * len(images)
    images = [_inputs.as_array(level, "image") for level in images]
    heatmaps = [
        _inputs.check_heatmap(_inputs.as_array(level, "heatmap")) for level in heatmaps
    ]
    return images, heatmaps, pyramid


def _window(heat: Any, options: OverlayOptions) -> Any:
    """The normalisation window; lazy (a dask Delayed) for a dask heatmap."""
    if _inputs.is_dask(heat):
        from napari_heatoverlay.engine.lazy import lazy_window

        return lazy_window(heat, options)
    return compute_window(heat, options)


def _overlay_level(
    image: Any,
    heat: Any,
    blend_options: BlendOptions,
    window: Any,
    options: OverlayOptions,
) -> Any:
    lead = _inputs.leading_shape(image.shape[:-3], heat.shape[:-2])
    bounds = _inputs.image_range_for(image, options.image_range)
    if _inputs.is_dask(image) or _inputs.is_dask(heat):
        from napari_heatoverlay.engine.lazy import overlay_lazy

        return overlay_lazy(image, heat, blend_options, window, bounds, lead)
    return _overlay_eager(image, heat, blend_options, window, bounds, lead)


def _overlay_eager(
    image: np.ndarray,
    heat: np.ndarray,
    options: BlendOptions,
    window: Window,
    bounds: tuple[float, float],
    lead: tuple[int, ...],
) -> np.ndarray:
    height, width = image.shape[-3:-1]
    out = np.empty((*lead, height, width, 3), dtype=np.uint8)
    image_lead, heat_lead = image.shape[:-3], heat.shape[:-2]
    prepared: dict[tuple[int, ...], PreparedHeat] = {}
    for index in np.ndindex(*lead):
        heat_index = _inputs.source_index(index, heat_lead)
        if heat_index not in prepared:
            prepared[heat_index] = prepare_heat(
                np.asarray(heat[heat_index]), window, (height, width), options.order
            )
        blend_region(
            image[_inputs.source_index(index, image_lead)],
            prepared[heat_index],
            options,
            bounds,
            out=out[index],
        )
    return out
