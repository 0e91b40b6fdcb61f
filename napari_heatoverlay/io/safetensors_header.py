"""Read the header of a ``.safetensors`` file, without reading any tensor.

The format is an 8-byte little-endian header length, a JSON header mapping
each tensor's name to its dtype, shape and byte range, then the data. Reading
the header first lets the reader refuse dtypes it cannot show (float8) and
count each tensor's size against the byte limit before any tensor is loaded.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from napari_heatoverlay.io.refusal import DAMAGED, Refusal

__all__ = ["ITEMSIZES", "TensorHeader", "read_safetensors_header"]

#: The largest header the ``safetensors`` library itself accepts.
MAX_HEADER_BYTES = 100_000_000
#: Bytes per element of the safetensors dtypes with whole-byte elements.
ITEMSIZES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "F8_E8M0": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "C64": 8,
    "F64": 8,
    "I64": 8,
    "U64": 8,
}


@dataclass(frozen=True)
class TensorHeader:
    """One tensor as the header declares it.

    Attributes
    ----------
    key : str
        The tensor's name.
    dtype : str
        The safetensors dtype string: ``"F32"``, ``"BF16"``, ``"F8_E4M3"``, ...
    shape : tuple of int
        The declared shape.
    nbytes : int
        Bytes the tensor takes in the file.
    """

    key: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int

    @property
    def numel(self) -> int:
        """Number of elements (1 for a scalar)."""
        return math.prod(self.shape)


def read_safetensors_header(path: str | os.PathLike) -> list[TensorHeader]:
    """The tensors a ``.safetensors`` file declares, sorted by name.

    Only the header is read. Checked: the header length fits the file (and
    the library's own 100 MB cap), the header is a JSON object, every entry
    has a dtype string, a shape of non-negative integers and a byte range
    inside the data, and the range matches shape times element size.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    list of TensorHeader
        Sorted by key, as ``safetensors.safe_open(...).keys()`` lists them.

    Raises
    ------
    Refusal
        If the header is damaged; the message says how.

    Examples
    --------
    >>> import json, struct, tempfile
    >>> from pathlib import Path
    >>> header = json.dumps(
    ...     {"heat": {"dtype": "F8_E4M3", "shape": [2, 3], "data_offsets": [0, 6]}}
    ... ).encode()
    >>> path = Path(tempfile.mkdtemp()) / "f8.safetensors"
    >>> _ = path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(6))
    >>> read_safetensors_header(path)
    [TensorHeader(key='heat', dtype='F8_E4M3', shape=(2, 3), nbytes=6)]
    """
    source = Path(path)
    size = source.stat().st_size
    with source.open("rb") as stream:
        prefix = stream.read(8)
        if len(prefix) < 8:
            raise Refusal("it is too short to hold a safetensors header", DAMAGED)
        length = int.from_bytes(prefix, "little")
        if length > min(MAX_HEADER_BYTES, size - 8):
            raise Refusal(
                f"its first 8 bytes declare a header of {length} bytes, but the "
                f"file has {size - 8} after them (and headers stop at "
                f"{MAX_HEADER_BYTES})",
                DAMAGED,
            )
        text = stream.read(length)
    try:
        header = json.loads(text)
    # json raises RecursionError on absurdly nested input
    except (ValueError, RecursionError) as error:
        raise Refusal(f"its header is not valid JSON ({error})", DAMAGED) from error
    if not isinstance(header, dict):
        raise Refusal("its header is not a JSON object", DAMAGED)
    data_size = size - 8 - length
    return sorted(
        (
            _tensor(key, entry, data_size)
            for key, entry in header.items()
            if key != "__metadata__"
        ),
        key=lambda tensor: tensor.key,
    )


def _tensor(key: str, entry: object, data_size: int) -> TensorHeader:
    if not isinstance(entry, dict):
        raise Refusal(f"its header entry {key!r} is not a JSON object", DAMAGED)
    dtype, shape, offsets = (
        entry.get("dtype"),
        entry.get("shape"),
        entry.get("data_offsets"),
    )
    if not (
        isinstance(dtype, str)
        and _naturals(shape)
        and _naturals(offsets)
        and len(offsets) == 2
    ):
        raise Refusal(
            f"its header entry {key!r} lacks a dtype string, a shape of "
            "non-negative integers or two data offsets",
            DAMAGED,
        )
    start, end = offsets
    if not start <= end <= data_size:
        raise Refusal(
            f"tensor {key!r} lies at bytes {start}..{end} of a data section of "
            f"{data_size} bytes",
            DAMAGED,
        )
    shape = tuple(shape)
    if dtype in ITEMSIZES and end - start != math.prod(shape) * ITEMSIZES[dtype]:
        raise Refusal(
            f"tensor {key!r} declares {dtype} of shape {shape}, which does not "
            f"fit its {end - start} bytes",
            DAMAGED,
        )
    return TensorHeader(key, dtype, shape, end - start)


def _naturals(value: object) -> bool:
    return isinstance(value, list) and all(
        type(item) is int and item >= 0 for item in value
    )
