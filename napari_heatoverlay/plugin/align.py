"""Line a heatmap layer up with an image layer by itself, and undo it.

While the dock widget is open (and on *Overlay heatmap on image*), a
heatmap whose extent does not match the chosen image is moved onto it, as
*Align heatmap to image* does (:func:`~napari_heatoverlay.plugin.geometry.aligned_transform`).
A layer the user placed (scale, translate, rotation, shear or affine set by
hand) or that already covers the image is left alone. The transform set is
kept in the layer's record, so that the plugin may move the layer again (to
another image) but never over the user's choice; an undone alignment is not
redone.

napari 0.9 has no undo history for layer transforms (only the Labels layer
undoes its painting), so :class:`AlignStep` is the one undo step: it puts
scale and translate back together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from napari_heatoverlay.plugin.geometry import aligned_transform
from napari_heatoverlay.plugin.records import record, update_record

if TYPE_CHECKING:
    import napari.layers
    import napari.viewer

#: The record entry holding the transform the plugin set, or "undone".
ALIGNMENT = "alignment"
_UNDONE = "undone"


@dataclass(frozen=True)
class AlignStep:
    """One alignment, undoable: the heatmap's transform before and after.

    Attributes
    ----------
    layer : napari.layers.Image
        The heatmap layer that was moved.
    image_name : str
        The image it was lined up with.
    before, after : (scale, translate)
        The layer's scale and translate before and after.
    """

    layer: napari.layers.Image
    image_name: str
    before: tuple[tuple[float, ...], tuple[float, ...]]
    after: tuple[tuple[float, ...], tuple[float, ...]]

    @property
    def message(self) -> str:
        """What was done, for the notification."""
        scale = ", ".join(f"{value:g}" for value in self.after[0])
        return (
            f"Heat overlay: aligned {self.layer.name!r} to {self.image_name!r} "
            f"(scale {scale}) so that it covers the image; Undo align puts it back"
        )

    def undo(self) -> bool:
        """Put scale and translate back, unless the layer was moved since.

        The layer is then marked so that it is not aligned by itself again.

        Returns
        -------
        bool
            Whether the transform was put back.
        """
        if not _has_transform(self.layer, self.after):
            return False
        _set_transform(self.layer, self.before)
        update_record(self.layer, **{ALIGNMENT: _UNDONE})
        return True


def auto_align(
    image_layer: napari.layers.Image, heatmap_layer: napari.layers.Image
) -> AlignStep | None:
    """Move `heatmap_layer` onto `image_layer`, unless it is placed already.

    Parameters
    ----------
    image_layer, heatmap_layer : napari.layers.Image
        The pair the user chose.

    Returns
    -------
    AlignStep or None
        The step, or None when nothing moved: the heatmap already covers the
        image, the user placed it (:func:`placed_by_user`), an alignment of
        it was undone, or the pair cannot be aligned (same layer, RGB
        heatmap, fewer than two axes).

    Examples
    --------
    >>> import numpy as np
    >>> from napari.layers import Image
    >>> image, heat = Image(np.zeros((40, 60))), Image(np.zeros((4, 6)))
    >>> step = auto_align(image, heat)
    >>> heat.scale.tolist(), heat.translate.tolist()
    ([10.0, 10.0], [4.5, 4.5])
    >>> auto_align(image, heat) is None  # covers the image now
    True
    >>> step.undo(), heat.scale.tolist()
    (True, [1.0, 1.0])
    >>> auto_align(image, heat) is None  # undone: not redone
    True
    """
    if (
        image_layer is heatmap_layer
        or heatmap_layer.rgb
        or heatmap_layer.ndim < 2
        or record(heatmap_layer).get(ALIGNMENT) == _UNDONE
        or placed_by_user(heatmap_layer)
    ):
        return None
    scale, translate = aligned_transform(image_layer, heatmap_layer)
    after = (tuple(scale.tolist()), tuple(translate.tolist()))
    if _has_transform(heatmap_layer, after):
        return None
    before = (
        tuple(float(v) for v in heatmap_layer.scale),
        tuple(float(v) for v in heatmap_layer.translate),
    )
    _set_transform(heatmap_layer, after)
    update_record(heatmap_layer, **{ALIGNMENT: after})
    return AlignStep(heatmap_layer, image_layer.name, before, after)


def mark_aligned(heatmap_layer: napari.layers.Image) -> None:
    """Record the layer's transform as the plugin's (the Align command's)."""
    transform = (
        tuple(float(v) for v in heatmap_layer.scale),
        tuple(float(v) for v in heatmap_layer.translate),
    )
    update_record(heatmap_layer, **{ALIGNMENT: transform})


def placed_by_user(layer: napari.layers.Layer) -> bool:
    """Whether the layer's transform is the user's: not the identity, and not
    the one the plugin set last.

    Examples
    --------
    >>> import numpy as np
    >>> from napari.layers import Image
    >>> placed_by_user(Image(np.zeros((4, 4)))), placed_by_user(
    ...     Image(np.zeros((4, 4)), translate=(5, 0))
    ... )
    (False, True)
    """
    ndim = layer.ndim
    only_scale_translate = (
        np.allclose(layer.rotate, np.eye(ndim))
        and np.allclose(layer.shear, 0)
        and np.allclose(layer.affine.affine_matrix, np.eye(ndim + 1))
    )
    if not only_scale_translate:
        return True
    identity = np.allclose(layer.scale, 1) and np.allclose(layer.translate, 0)
    ours = record(layer).get(ALIGNMENT)
    return not identity and not (
        isinstance(ours, tuple) and _has_transform(layer, ours)
    )


def announce(
    viewer: napari.viewer.Viewer, step: AlignStep, undo: Callable[[], None]
) -> None:
    """Say what `step` did: in the status bar, and as a napari notification
    with an Undo align button that calls `undo`."""
    from napari.utils.notifications import Notification, notification_manager

    viewer.status = step.message
    notification_manager.dispatch(
        Notification(step.message, "INFO", actions=[("Undo align", lambda _: undo())])
    )


def _has_transform(
    layer: napari.layers.Layer,
    transform: tuple[tuple[float, ...], tuple[float, ...]],
) -> bool:
    scale, translate = transform
    return (
        len(scale) == layer.ndim
        and np.allclose(layer.scale, scale)
        and np.allclose(layer.translate, translate)
    )


def _set_transform(
    layer: napari.layers.Layer,
    transform: tuple[tuple[float, ...], tuple[float, ...]],
) -> None:
    layer.scale, layer.translate = transform
