"""Check a zip archive's directory before inflating any member.

``.npz`` archives and PyTorch's ``.pt`` files are zip archives. A member's
header states its uncompressed size; a hostile archive can state a size that
its compressed bytes cannot produce, or inflate 1 GiB of zeros from a 1 MB
file. Readers call :func:`checked_members` on the directory, then count each
member's declared size against their byte budget before reading it; Python's
:mod:`zipfile` never inflates a member past its declared size.
"""

from __future__ import annotations

import zipfile

from napari_heatoverlay.io.refusal import DAMAGED, Refusal

__all__ = ["DEFLATE_MAX_RATIO", "checked_members"]

#: Deflate cannot expand one compressed byte into more than 1032 bytes: its
#: longest match copies 258 bytes and costs at least 2 bits (a 1-bit length
#: code and a 1-bit distance code), so 258 * 8 / 2 = 1032. Real data never
#: gets there (1 GiB of zeros compresses about 1030:1), so a member declaring
#: a larger ratio is lying about its size: it is crafted or corrupt. A member
#: that is genuinely highly compressed (a mostly zero feature map) passes this
#: rule; what bounds the memory it takes is its declared size, which readers
#: count against the byte limit before inflating it.
DEFLATE_MAX_RATIO = 1032


def checked_members(archive: zipfile.ZipFile, resave: str) -> list[zipfile.ZipInfo]:
    """The members of `archive`, after checking what their headers declare.

    Refused: a name that appears twice (readers disagree on which copy
    counts), an encrypted member, a compression method other than stored or
    deflated, a stored member whose two sizes differ, and a deflated member
    declaring more than :data:`DEFLATE_MAX_RATIO` times its compressed size.

    Parameters
    ----------
    archive : zipfile.ZipFile
        An open archive; nothing is inflated.
    resave : str
        How to write the file again (``"numpy.savez"``), for messages.

    Returns
    -------
    list of zipfile.ZipInfo
        The members in directory order.

    Raises
    ------
    Refusal
        If a member fails a check; the message names it.

    Examples
    --------
    >>> import io, zipfile
    >>> buffer = io.BytesIO()
    >>> with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
    ...     archive.writestr("zeros.npy", bytes(100_000))
    >>> [info.filename for info in checked_members(zipfile.ZipFile(buffer), "zip")]
    ['zeros.npy']
    """
    members = archive.infolist()
    names: set[str] = set()
    for info in members:
        if info.filename in names:
            raise Refusal(
                f"the member {info.filename!r} appears twice in its zip directory, "
                "so readers could disagree on which copy it holds",
                DAMAGED,
            )
        names.add(info.filename)
        _check_member(info, resave)
    return members


def _check_member(info: zipfile.ZipInfo, resave: str) -> None:
    name = info.filename
    if info.flag_bits & 0x1:
        raise Refusal(
            f"the member {name!r} is encrypted",
            f"Save it again unencrypted with {resave}",
        )
    if info.compress_type == zipfile.ZIP_STORED:
        if info.file_size != info.compress_size:
            raise Refusal(
                f"the member {name!r} is stored uncompressed, yet its header "
                f"declares {info.file_size} bytes in {info.compress_size}",
                DAMAGED,
            )
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        if info.file_size > DEFLATE_MAX_RATIO * info.compress_size:
            raise Refusal(
                f"the member {name!r} declares {info.file_size} bytes inflated from "
                f"{info.compress_size} compressed, more than deflate can produce "
                f"({DEFLATE_MAX_RATIO}:1); its header is crafted or corrupt",
                DAMAGED,
            )
    else:
        raise Refusal(
            f"the member {name!r} is compressed with zip method "
            f"{info.compress_type}, where only stored or deflated members are read",
            f"Save it again with {resave}",
        )
