"""Check a PyTorch file (``.pt``/``.pth``) before ``torch.load`` touches it.

PyTorch writes two layouts. The zip format holds one pickle, ``data.pkl``,
and one record per storage, which ``torch.load(mmap=True)`` maps from the
file instead of reading. The legacy format is five pickles in a row (magic
number, protocol, system info, the object, the storage keys) followed by the
storages, which are read into memory: a pickle can declare storages of any
size, and ``torch.load`` allocates them before finding the file too short.

:func:`check_torch_file` scans every pickle with
:class:`~napari_heatoverlay.io.picklescan.PickleScanner` and counts what
would be allocated against the byte budget. torch is not imported.
"""

from __future__ import annotations

import io
import mmap
import sys
import zipfile
from pathlib import Path

from napari_heatoverlay.io.limits import ByteBudget, format_size
from napari_heatoverlay.io.picklescan import PickleLimits, PickleScanner
from napari_heatoverlay.io.refusal import DAMAGED, Refusal
from napari_heatoverlay.io.zipcheck import checked_members

__all__ = ["ZIP_MAGIC", "check_torch_file"]

ZIP_MAGIC = b"PK\x03\x04"
#: Pickles at the start of a legacy file: magic number, protocol version,
#: system info, the saved object, the list of storage keys.
_LEGACY_PICKLES = 5
#: Bytes before each storage of a legacy file: its element count.
_LEGACY_STORAGE_HEADER = 8


def check_torch_file(
    path: str | Path, budget: ByteBudget, limits: PickleLimits | None = None
) -> bool:
    """Scan a PyTorch file's pickles and count its allocations; tell its layout.

    Parameters
    ----------
    path : str or pathlib.Path
        A regular, non-empty file.
    budget : ByteBudget
        Charged with what ``torch.load`` would read into memory: the
        ``data.pkl`` record of the zip format (and its storages if they need
        byte-swapping), every storage of the legacy format.
    limits : PickleLimits, optional
        Bounds for the pickles.

    Returns
    -------
    bool
        True for the zip format (whose storages can be memory-mapped).

    Raises
    ------
    Refusal
        If a pickle passes a limit or is damaged, the storages pass the byte
        budget, or the file is shorter than its storages.

    Examples
    --------
    >>> import pickle, tempfile
    >>> from pathlib import Path
    >>> from napari_heatoverlay.io.limits import ByteBudget, ByteLimit
    >>> path = Path(tempfile.mkdtemp()) / "nested.pt"
    >>> _ = path.write_bytes(b"\\x80\\x02" + b"]" * 500 + b"a" * 499 + b".")
    >>> try:
    ...     check_torch_file(path, ByteBudget(ByteLimit(2**30, "max_bytes=")))
    ... except Refusal as refusal:
    ...     print(refusal.problem)
    its pickle nests containers more than 100 deep
    """
    source = Path(path)
    scanner = PickleScanner(limits)
    with source.open("rb") as stream:
        if stream.read(len(ZIP_MAGIC)) == ZIP_MAGIC:
            _check_zip(source, budget, scanner)
            return True
    _check_legacy(source, budget, scanner)
    return False


def _check_zip(source: Path, budget: ByteBudget, scanner: PickleScanner) -> None:
    with zipfile.ZipFile(source) as archive:
        members = {
            info.filename: info for info in checked_members(archive, "torch.save")
        }
        if not members:
            raise Refusal("its zip archive is empty", DAMAGED)
        # PyTorch looks up records in the folder of the archive's first entry
        folder = next(iter(members)).partition("/")[0]
        pickle_info = members.get(f"{folder}/data.pkl")
        if pickle_info is None:
            raise Refusal(
                f"its zip archive has no {folder}/data.pkl, where PyTorch keeps "
                "the pickled object",
                DAMAGED,
            )
        budget.spend(pickle_info.file_size, f"its pickle {pickle_info.filename}")
        pickle_bytes = archive.read(pickle_info)
        swapped = _needs_byte_swap(archive, members.get(f"{folder}/byteorder"))
    scanner.scan(io.BytesIO(pickle_bytes))
    if swapped:
        budget.spend(
            sum(
                info.file_size
                for name, info in members.items()
                if name.startswith(f"{folder}/data/")
            ),
            "its storages, which were saved in the other byte order and must "
            "be copied to be swapped",
        )


def _needs_byte_swap(archive: zipfile.ZipFile, info: zipfile.ZipInfo | None) -> bool:
    if info is None or info.file_size > 16:
        return False
    return archive.read(info).strip().decode("ascii", "replace") != sys.byteorder


def _check_legacy(source: Path, budget: ByteBudget, scanner: PickleScanner) -> None:
    size = source.stat().st_size
    # a memory map reads lazily, and its read(n) never allocates more than
    # what is left, whatever length a pickle argument declares
    with (
        source.open("rb") as stream,
        mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as view,
    ):
        end = 0
        for _ in range(_LEGACY_PICKLES):
            if end >= size:  # not a complete legacy file: torch.load will say so
                break
            end = scanner.scan(view)
    storages = scanner.storages.values()
    declared = sum(storage.nbytes for storage in storages)
    needed = declared + _LEGACY_STORAGE_HEADER * len(storages)
    if needed > size - end:
        raise Refusal(
            f"its tensors declare {format_size(declared)} of storage, but only "
            f"{format_size(size - end)} of the file follows its pickles",
            DAMAGED,
        )
    budget.spend(declared, "its tensor storages, which this format reads into memory")
