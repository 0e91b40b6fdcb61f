"""What a picture's header says decoding it will allocate, checked first.

A PNG or TIFF of a few kilobytes may declare 60000 x 60000 pixels: decoding
it allocates what the header claims (a sparse 8 KiB TIFF, 3.4 GiB). Pillow
refuses pictures over about 179 million pixels by itself, which still lets
through a 13000 x 13000 RGBA picture (645 MiB), and tifffile, which reads
TIFF stacks, has no such guard. :func:`check_declared_size` reads only the
header (tifffile's series, Pillow's lazy ``open``) and refuses a picture
whose decoded size exceeds the same byte limit the feature files have
(:func:`~napari_heatoverlay.io.limits.byte_limit`: ``HEATOVERLAY_MAX_BYTES``
or a quarter of the available memory). Pictures within the limit decode with
Pillow's own pixel guard lifted, since this check replaces it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path

from napari_heatoverlay.io.limits import ENV_VAR, byte_limit, format_size
from napari_heatoverlay.io.refusal import Refusal

#: Bytes per pixel of a decoded Pillow mode (palettes become RGB or RGBA).
_MODE_BYTES = {
    "1": 1,
    "L": 1,
    "P": 4,
    "LA": 2,
    "PA": 4,
    "RGB": 3,
    "RGBA": 4,
    "RGBa": 4,
    "CMYK": 4,
    "YCbCr": 3,
    "LAB": 3,
    "HSV": 3,
    "I": 4,
    "F": 4,
    "I;16": 2,
    "I;16L": 2,
    "I;16B": 2,
    "I;16N": 2,
}
_TIFF_SUFFIXES = (".tif", ".tiff")


def declared_size(source: Path) -> tuple[tuple[int, ...], int]:
    """The shape a picture's header declares and the bytes it decodes to.

    Examples
    --------
    >>> import tempfile, tifffile, numpy as np
    >>> path = Path(tempfile.mkdtemp()) / "huge.tif"
    >>> tifffile.imwrite(path, shape=(60000, 60000), dtype=np.uint8)  # sparse
    >>> declared_size(path)
    ((60000, 60000), 3600000000)
    """
    if source.suffix.lower() in _TIFF_SUFFIXES:
        import tifffile

        with tifffile.TiffFile(source) as tiff:
            series = tiff.series[0]
            shape = tuple(int(size) for size in series.shape)
            return shape, math.prod(shape) * series.dtype.itemsize
    from PIL import Image

    # the header only; the byte limit judges the size, not Pillow's warning
    with pillow_guard_lifted(), Image.open(source) as picture:
        frames = int(getattr(picture, "n_frames", 1))
        width, height = picture.size
        per_pixel = _MODE_BYTES.get(picture.mode, 4)
    shape = (frames, height, width) if frames > 1 else (height, width)
    return shape, math.prod(shape) * per_pixel


def check_declared_size(source: Path, max_bytes: int | None = None) -> None:
    """Refuse a picture whose decoded size would exceed the byte limit.

    Raises
    ------
    Refusal
        Naming the declared shape, its size, the limit and where it came
        from, and the two ways out.

    Examples
    --------
    >>> import tempfile, tifffile, numpy as np
    >>> path = Path(tempfile.mkdtemp()) / "huge.tif"
    >>> tifffile.imwrite(path, shape=(60000, 60000), dtype=np.uint8)
    >>> check_declared_size(path, max_bytes=2**30)
    Traceback (most recent call last):
    ...
    napari_heatoverlay.io.refusal.Refusal: its header declares 60000 x 60000 pixels, 3.4 GiB decoded, over the limit of 1.0 GiB (max_bytes=). Raise the limit (HEATOVERLAY_MAX_BYTES=8G) if the machine has the memory, or store the image as a zarr array or pyramid, which is read tile by tile.
    """
    shape, nbytes = declared_size(source)
    check_decoded_bytes(shape, nbytes, max_bytes=max_bytes)


def check_decoded_bytes(
    shape: tuple[int, ...],
    nbytes: int,
    *,
    per: str = "",
    max_bytes: int | None = None,
) -> None:
    """Refuse `nbytes` of decoded pixels of `shape` over the byte limit.

    `per` ends the declared shape (``" per frame"`` for a stack read one
    frame at a time).

    Raises
    ------
    Refusal
        As :func:`check_declared_size`.
    """
    limit = byte_limit(max_bytes)
    if nbytes > limit.bytes:
        raise Refusal(
            f"its header declares {' x '.join(map(str, shape))} pixels{per}, "
            f"{format_size(nbytes)} decoded, over the limit of "
            f"{format_size(limit.bytes)} ({limit.origin})",
            f"Raise the limit ({ENV_VAR}=8G) if the machine has the memory, or "
            "store the image as a zarr array or pyramid, which is read tile by tile",
        )


@contextlib.contextmanager
def pillow_guard_lifted() -> Iterator[None]:
    """Let Pillow decode a picture :func:`check_declared_size` accepted.

    Pillow warns above about 89 million pixels and refuses above twice that,
    whatever the machine; the byte limit has already decided.
    """
    from PIL import Image

    before = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = before
