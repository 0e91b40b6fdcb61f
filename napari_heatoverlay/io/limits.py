"""How many bytes one file may make us allocate, and the budget that enforces it.

A file's header can declare far more data than the file holds (a 0.4 MB
archive that inflates to gigabytes, a shape of 7 TiB). Readers compute what a
header declares *before* allocating and spend it from a :class:`ByteBudget`;
past the limit the file is refused with a message saying how to raise it.

The limit is, first found: the ``max_bytes`` argument, the environment
variable ``HEATOVERLAY_MAX_BYTES``, or a quarter of the memory available to
this process (the least of ``MemAvailable`` in ``/proc/meminfo``, a container's
cgroup limit and the ``RLIMIT_AS``/``RLIMIT_DATA`` resource limits; 8 GiB
assumed where none of them can be read).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from napari_heatoverlay.io.refusal import Refusal

__all__ = [
    "ENV_VAR",
    "ByteBudget",
    "ByteLimit",
    "available_memory",
    "byte_limit",
    "format_size",
    "parse_size",
]

ENV_VAR = "HEATOVERLAY_MAX_BYTES"
#: The share of the available memory one file may take by default: leaves
#: room for the copies the overlay itself makes (float64 heat, resampling).
MEMORY_FRACTION = 4
#: Assumed available memory where it cannot be read.
FALLBACK_MEMORY = 8 * 2**30

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?)\s*([kmgtpe]?)(?:i?b)?\s*", re.IGNORECASE)
_CGROUP_LIMITS = (
    # cgroup v2, then v1, as a container sees its own limit
    ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
    (
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        "/sys/fs/cgroup/memory/memory.usage_in_bytes",
    ),
)


@dataclass(frozen=True)
class ByteLimit:
    """A byte limit and where it came from (for messages).

    Attributes
    ----------
    bytes : int
        The most one file may make us allocate.
    origin : str
        Where the limit was set: ``"max_bytes="``, the environment variable,
        or the share of available memory.
    """

    bytes: int
    origin: str


def byte_limit(
    max_bytes: int | None = None, environ: Mapping[str, str] | None = None
) -> ByteLimit:
    """The byte limit for one file: `max_bytes`, else the environment, else memory.

    Parameters
    ----------
    max_bytes : int, optional
        An explicit limit in bytes; wins over everything else.
    environ : mapping, optional
        Where to look for ``HEATOVERLAY_MAX_BYTES``; default ``os.environ``.

    Returns
    -------
    ByteLimit

    Raises
    ------
    TypeError, ValueError
        If `max_bytes` is not a positive whole number.
    Refusal
        If ``HEATOVERLAY_MAX_BYTES`` is set but is not a size.

    Examples
    --------
    >>> byte_limit(2**20)
    ByteLimit(bytes=1048576, origin='max_bytes=')
    >>> byte_limit(environ={"HEATOVERLAY_MAX_BYTES": "512M"}).bytes
    536870912
    >>> byte_limit(environ={}).bytes > 0
    True
    """
    if max_bytes is not None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int):
            raise TypeError(
                f"max_bytes must be a whole number of bytes, not {type(max_bytes).__name__}"
            )
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        return ByteLimit(max_bytes, "max_bytes=")
    text = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
    if text:
        try:
            return ByteLimit(parse_size(text), f"{ENV_VAR}={text}")
        except ValueError as error:
            raise Refusal(
                f"the environment variable {ENV_VAR}={text!r} is not a size ({error})",
                f"Set it to a number of bytes, optionally with a unit (for example "
                f"{ENV_VAR}=8G), or unset it to use a quarter of the available memory",
            ) from error
    memory = available_memory()
    if memory is None:
        return ByteLimit(
            FALLBACK_MEMORY // MEMORY_FRACTION,
            "the default where the available memory is unknown",
        )
    return ByteLimit(
        max(memory // MEMORY_FRACTION, 1),
        f"a quarter of the {format_size(memory)} of available memory",
    )


def parse_size(text: str) -> int:
    """Bytes in `text`: a number with an optional binary unit K, M, G, T, P, E.

    Examples
    --------
    >>> parse_size("1500"), parse_size("8G"), parse_size("1.5 MiB")
    (1500, 8589934592, 1572864)
    >>> parse_size("lots")
    Traceback (most recent call last):
    ...
    ValueError: expected a number of bytes such as 1500, 512M or 8G
    """
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError("expected a number of bytes such as 1500, 512M or 8G")
    number, unit = match.groups()
    power = "bkmgtpe".index(unit.lower() or "b")
    size = int(float(number) * 1024**power)
    if size <= 0:
        raise ValueError("the size must be at least one byte")
    return size


def format_size(nbytes: int) -> str:
    """`nbytes` in binary units, for messages.

    Examples
    --------
    >>> format_size(512), format_size(3 * 2**29), format_size(7 * 2**40)
    ('512 B', '1.5 GiB', '7.0 TiB')
    """
    if nbytes < 1024:
        return f"{nbytes} B"
    power = 1
    while nbytes >= 1024 ** (power + 1) and power < len(_UNITS) - 1:
        power += 1
    return f"{nbytes / 1024**power:.1f} {_UNITS[power]}"


def available_memory() -> int | None:
    """Bytes of memory this process can still use, or None if unknown.

    The least of Linux's ``MemAvailable``, the container's cgroup limit minus
    its usage, and the address-space and data resource limits; elsewhere the
    free physical pages that ``os.sysconf`` reports.

    Examples
    --------
    >>> memory = available_memory()
    >>> memory is None or memory > 0
    True
    """
    known = [
        value
        for value in (_meminfo_available(), _cgroup_available(), _resource_limit())
        if value is not None
    ]
    if not known:
        known = [value for value in (_sysconf_available(),) if value is not None]
    return min(known) if known else None


def _meminfo_available() -> int | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    match = re.search(r"^MemAvailable:\s*(\d+)\s*kB", text, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None


def _cgroup_available() -> int | None:
    for limit_file, usage_file in _CGROUP_LIMITS:
        try:
            limit = int(Path(limit_file).read_text())
            usage = int(Path(usage_file).read_text())
        except (OSError, ValueError):  # absent, or "max" for no limit
            continue
        if limit < 2**60:  # cgroup v1 writes a huge number for no limit
            return max(limit - usage, 0)
    return None


def _resource_limit() -> int | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    limits = [
        resource.getrlimit(which)[0]
        for which in (resource.RLIMIT_AS, resource.RLIMIT_DATA)
    ]
    finite = [limit for limit in limits if limit not in (resource.RLIM_INFINITY, -1)]
    return min(finite) if finite else None


def _sysconf_available() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


class ByteBudget:
    """Bytes a file may still make us allocate; spend before allocating.

    Parameters
    ----------
    limit : ByteLimit
        The limit for the whole file.

    Examples
    --------
    >>> budget = ByteBudget(ByteLimit(1000, "max_bytes="))
    >>> budget.spend(600, "array 'a'")
    >>> try:
    ...     budget.spend(600, "array 'b'")
    ... except Refusal as refusal:
    ...     print(refusal.problem)
    reading it would allocate at least 1.2 KiB (counted up to array 'b'), over the limit of 1000 B (max_bytes=)
    """

    def __init__(self, limit: ByteLimit) -> None:
        self.limit = limit
        self.spent = 0

    def spend(self, nbytes: int, what: str) -> None:
        """Count `nbytes` for `what`; refuse if the total passes the limit."""
        self.spent += max(nbytes, 0)
        if self.spent <= self.limit.bytes:
            return
        raise Refusal(
            f"reading it would allocate at least {format_size(self.spent)} "
            f"(counted up to {what}), over the limit of "
            f"{format_size(self.limit.bytes)} ({self.limit.origin})",
            f"If you trust the file and have the memory, raise the limit with the "
            f"environment variable {ENV_VAR} (for example {ENV_VAR}=16G) or, "
            "in Python, read_feature_arrays(path, max_bytes=...)",
        )
