"""Read feature arrays from disk without ever unpickling.

Used by the napari reader and by the command line; imports neither napari nor
Qt. Every format goes through the same steps: refuse anything but a regular
file, read what the file's headers declare and count it against the byte
limit (:mod:`~napari_heatoverlay.io.limits`), load each array read-only (the
safe way for that format), drop entries that cannot be a heatmap, check the
dtype and squeeze leading singleton axes (PyTorch NCHW convention).
"""

from __future__ import annotations

import importlib
import math
import os
import pickle
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO

import numpy as np

from napari_heatoverlay.io.limits import ENV_VAR, ByteBudget, byte_limit
from napari_heatoverlay.io.picklescan import PickleLimits
from napari_heatoverlay.io.refusal import DAMAGED, Refusal
from napari_heatoverlay.io.regular import check_regular_file
from napari_heatoverlay.io.safetensors_header import (
    TensorHeader,
    read_safetensors_header,
)
from napari_heatoverlay.io.torchcheck import ZIP_MAGIC, check_torch_file
from napari_heatoverlay.io.zipcheck import checked_members

__all__ = [
    "FEATURE_SUFFIXES",
    "FeatureArray",
    "FeatureFileError",
    "is_feature_file",
    "read_feature_arrays",
]

FEATURE_SUFFIXES: tuple[str, ...] = (".npy", ".npz", ".pt", ".pth", ".safetensors")

_LAYOUTS = {2: "HW", 3: "CHW", 4: "NCHW", 5: "NCDHW"}
_NO_PICKLE = (
    "napari-heatoverlay never unpickles files, because unpickling can run "
    "arbitrary code"
)
_DAMAGED = DAMAGED
_BLEND_AS = "Save it as float16 or float32"
#: Bytes read from a compressed .npz member at a time.
_CHUNK = 1 << 20
#: Tensor dtypes NumPy holds as they are (complex is refused separately).
_NUMPY_TORCH_DTYPES = frozenset(
    f"torch.{name}"
    for name in (
        "bool",
        "uint8",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
    )
)
#: safetensors dtypes read through NumPy, and those converted to float32.
_NUMPY_SAFETENSORS = frozenset(
    ("BOOL", "U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64", "F16", "F32", "F64")
)
_WIDENED_SAFETENSORS = frozenset(("BF16",))


class FeatureFileError(ValueError):
    """A feature file cannot be read; the message says why and what to do.

    Raised for unsupported or missing paths, anything but a regular file
    (folders, FIFOs, devices), damaged files, payloads that would need
    unpickling or describe too much structure, files that would take more
    memory than the byte limit, unusable dtypes or shapes, and missing
    optional dependencies (``torch``, ``safetensors``).

    Examples
    --------
    >>> from napari_heatoverlay.io.features import FeatureFileError, read_feature_arrays
    >>> try:
    ...     read_feature_arrays("features.csv")
    ... except FeatureFileError as error:
    ...     print(str(error).split(":")[0])
    Cannot read features.csv
    """


@dataclass(frozen=True, eq=False)
class FeatureArray:
    """One array read from a feature file, ready to become a heatmap layer.

    Attributes
    ----------
    name : str
        ``"<file stem>"`` for a file holding one plain array or tensor,
        ``"<file stem>:<key>"`` for an entry of a dict-like file.
    data : numpy.ndarray
        The array with leading singleton axes squeezed, never below 2-D. Its
        axes are the last ``data.ndim`` letters of `layout`. A view of a
        read-only memory map for ``.npy`` files.
    source : pathlib.Path
        The file the array was read from.
    key : str or None
        The entry's key in a dict-like file (nested keys joined with ``"."``,
        list items numbered ``"0"``, ``"1"``, ...), ``None`` for a plain array.
    layout : str
        Axes of the original array: ``"HW"``, ``"CHW"``, ``"NCHW"`` or
        ``"NCDHW"``; axes beyond five are marked ``"?"``.
    original_shape : tuple of int
        Shape of the array as stored, before squeezing.

    Examples
    --------
    >>> import numpy as np
    >>> from pathlib import Path
    >>> feature = FeatureArray(
    ...     name="features",
    ...     data=np.zeros((256, 32, 96)),
    ...     source=Path("features.npy"),
    ...     key=None,
    ...     layout="NCHW",
    ...     original_shape=(1, 256, 32, 96),
    ... )
    >>> feature.layout[-feature.data.ndim :]
    'CHW'
    """

    name: str
    data: np.ndarray
    source: Path
    key: str | None
    layout: str
    original_shape: tuple[int, ...]


def is_feature_file(path: str | os.PathLike) -> bool:
    """Tell whether `path` has a feature-file suffix (case-insensitive).

    Only the name is checked; the file need not exist.

    Parameters
    ----------
    path : str or os.PathLike
        A file name or path.

    Returns
    -------
    bool
        True if the suffix is one of :data:`FEATURE_SUFFIXES`.

    Examples
    --------
    >>> is_feature_file("resnet_layer4.PT"), is_feature_file("image.png")
    (True, False)
    """
    return Path(path).suffix.lower() in FEATURE_SUFFIXES


def read_feature_arrays(
    path: str | os.PathLike, *, max_bytes: int | None = None
) -> list[FeatureArray]:
    """Read every heatmap-shaped array in a feature file, without unpickling.

    ``.npy`` files are memory-mapped read-only; ``.npz`` members are read
    without pickles; ``.pt``/``.pth`` files with
    ``torch.load(weights_only=True, map_location="cpu")`` (memory-mapped when
    in PyTorch's zip format); ``.safetensors`` files with ``safetensors``.
    A payload that needs unpickling is refused without running any of its code.

    Hostile files are refused before they cost anything: anything but a
    regular file (a FIFO, a device such as ``/dev/zero``, a folder) is never
    read; the sizes that headers declare are counted against a byte limit
    before anything is allocated (memory-mapped ``.npy`` data is free until
    touched and is not counted); compressed ``.npz`` members that claim more
    than deflate can produce are refused; the pickles of ``.pt`` files are
    scanned, without running them, for absurd nesting or shared-reference
    explosions before ``torch.load`` sees them.

    In dict-like files (``.npz``, ``.safetensors``, dicts, lists and tuples in
    ``.pt``) non-array entries are skipped, as are arrays with fewer than two
    dimensions (biases, ``num_batches_tracked`` counters) or no elements.
    Leading singleton axes are squeezed, never below two dimensions:
    ``(1, 256, 32, 96)`` gives ``(256, 32, 96)``, ``(1, 8)`` stays ``(1, 8)``
    and ``(2, 3, 8, 8)`` keeps both leading axes.

    Dtypes: integer and floating arrays are kept as stored; bool arrays are
    viewed as uint8 (0 and 1, no copy); bfloat16 tensors are converted to
    float32 (through torch). Refused, with the way out: complex arrays (save
    their magnitude or real part), float8 and other dtypes NumPy lacks (save
    as float16 or float32), strings, structured records and Python objects.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.npy``, ``.npz``, ``.pt``, ``.pth`` or ``.safetensors`` file. It is
        only ever opened for reading.
    max_bytes : int, optional
        The most memory the file may make this function allocate, in bytes.
        Default: the environment variable ``HEATOVERLAY_MAX_BYTES`` (a number
        of bytes with an optional unit, ``8G``), else a quarter of the
        available memory.

    Returns
    -------
    list of FeatureArray
        One entry per usable array, in the file's order (sorted by key for
        ``.safetensors``).

    Raises
    ------
    FeatureFileError
        If the file is missing, not a regular file, unsupported, damaged,
        would need unpickling, would pass the byte limit, holds no usable
        array, or needs an optional dependency that is not installed. The
        message names the file and what to do next.
    TypeError, ValueError
        If `max_bytes` is not a positive whole number.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "layer4.npy"
    >>> np.save(path, np.zeros((1, 256, 32, 96), dtype=np.float32))
    >>> [feature] = read_feature_arrays(path)
    >>> feature.name, feature.data.shape, feature.layout
    ('layer4', (256, 32, 96), 'NCHW')

    A file that would take more memory than the limit is refused before
    anything is allocated:

    >>> np.savez(path.with_suffix(".npz"), heat=np.zeros((512, 512)))
    >>> try:
    ...     read_feature_arrays(path.with_suffix(".npz"), max_bytes=2**20)
    ... except FeatureFileError as error:
    ...     print(str(error).split(": ", 1)[1].split(" (")[0])
    reading it would allocate at least 2.0 MiB
    """
    source = Path(path)
    suffix = source.suffix.lower()
    if suffix not in FEATURE_SUFFIXES:
        raise _error(
            source,
            f"{suffix or 'a name without suffix'} is not a feature-file format",
            f"Save the array as one of {', '.join(FEATURE_SUFFIXES)}",
        )
    try:
        budget = ByteBudget(byte_limit(max_bytes))
        status = check_regular_file(source)
    except Refusal as refusal:
        raise _error(source, refusal.problem, refusal.remedy) from refusal
    if status.st_size == 0:
        raise _error(source, "the file is empty (0 bytes)", _DAMAGED)
    try:
        return _feature_arrays(source, _LOADERS[suffix](source, budget))
    except FeatureFileError:
        raise
    except Refusal as refusal:
        raise _error(source, refusal.problem, refusal.remedy) from refusal
    except OSError as error:
        raise _error(
            source,
            f"it cannot be opened ({error.strerror or error})",
            "Check that you are allowed to read it",
        ) from error
    except MemoryError as error:
        raise _error(
            source,
            "there was not enough memory to read it",
            f"Free some memory, or set {ENV_VAR} below the memory you have so "
            "that such files are refused before they are read",
        ) from error
    # numpy, torch and safetensors raise many types on damaged input
    except Exception as error:
        raise _error(
            source, f"reading it failed ({_reason(error)})", _DAMAGED
        ) from error


def _reason(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    detail = lines[0][:200] if lines else ""
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


def _feature_arrays(
    source: Path, entries: Mapping[str | None, np.ndarray]
) -> list[FeatureArray]:
    usable = {key: array for key, array in entries.items() if _usable(array.shape)}
    if not usable:
        raise _no_usable_array(source, entries)
    return [
        FeatureArray(
            name=source.stem if key is None else f"{source.stem}:{key}",
            data=_squeeze_leading(_displayable(source, key, array)),
            source=source,
            key=key,
            layout=_layout(array.ndim),
            original_shape=tuple(array.shape),
        )
        for key, array in usable.items()
    ]


def _no_usable_array(
    source: Path, entries: Mapping[str | None, np.ndarray]
) -> FeatureFileError:
    if not entries:
        return _error(
            source,
            "it contains no arrays or tensors",
            "Save the feature maps themselves (arrays or tensors) in the file",
        )
    found = ", ".join(
        f"shape {array.shape}" if key is None else f"{key!r} with shape {array.shape}"
        for key, array in entries.items()
    )
    return _error(
        source,
        f"no array has at least 2 dimensions and at least one element (found {found})",
        "A heatmap needs at least (H, W): reshape the array, for example to "
        "(1, W), and save it again",
    )


def _usable(shape: tuple[int, ...]) -> bool:
    return len(shape) >= 2 and math.prod(shape) > 0


def _placeholder(shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
    """A free stand-in for an entry that is dropped unread (only its shape shows)."""
    return np.broadcast_to(np.zeros((), dtype=dtype), shape)


def _displayable(source: Path, key: str | None, array: np.ndarray) -> np.ndarray:
    _check_dtype(source, key, array.dtype)
    return array.view(np.uint8) if array.dtype.kind == "b" else array


def _check_dtype(source: Path, key: str | None, dtype: np.dtype) -> None:
    if dtype.kind in "biuf":
        return
    what = "array" if key is None else f"array {key!r}"
    if dtype.kind == "c":
        raise _complex(source, what, dtype)
    raise _error(
        source,
        f"{what} has dtype {dtype}, which is not numeric",
        "Save the feature map as an integer or floating-point array",
    )


def _complex(source: Path, what: str, dtype: object) -> FeatureFileError:
    return _error(
        source,
        f"{what} is complex ({dtype}), which a heatmap cannot show",
        "Save its magnitude (numpy.abs) or its real part instead",
    )


def _squeeze_leading(array: np.ndarray) -> np.ndarray:
    leading = 0
    while leading < array.ndim - 2 and array.shape[leading] == 1:
        leading += 1
    return array[(0,) * leading]


def _layout(ndim: int) -> str:
    if ndim in _LAYOUTS:
        return _LAYOUTS[ndim]
    return "?" * (ndim - 5) + _LAYOUTS[5]


def _error(source: Path, problem: str, remedy: str) -> FeatureFileError:
    return FeatureFileError(f"Cannot read {source}: {problem}. {remedy}.")


def _read_npy(source: Path, budget: ByteBudget) -> dict[str | None, np.ndarray]:
    with source.open("rb") as stream:
        try:
            header = _npy_header(stream)
        except ValueError as error:
            raise _error(source, str(error), _DAMAGED) from error
        data_start = stream.tell()
    if header is None:
        raise _error(
            source,
            "it does not start with the NumPy .npy header",
            "Save arrays with numpy.save; if this file came from numpy.save, "
            "it is corrupt: export or copy it again from its source",
        )
    shape, _fortran_order, dtype = header
    _refuse_objects(source, None, dtype)
    expected_size = data_start + dtype.itemsize * math.prod(shape)
    file_size = source.stat().st_size
    if file_size < expected_size:
        raise _error(
            source,
            f"it is truncated: a {dtype} array of shape {shape} needs "
            f"{expected_size} bytes but the file has {file_size}",
            _DAMAGED,
        )
    # memory-mapped, not read: its pages cost nothing until touched, so the
    # byte budget is not charged (the data is known to be in the file)
    try:
        return {None: np.load(source, mmap_mode="r", allow_pickle=False)}
    except (ValueError, OverflowError) as error:
        raise _error(source, f"NumPy cannot map it ({error})", _DAMAGED) from error


def _read_npz(source: Path, budget: ByteBudget) -> dict[str | None, np.ndarray]:
    with source.open("rb") as stream:
        is_zip = stream.read(len(ZIP_MAGIC)) == ZIP_MAGIC
    if not is_zip:
        raise _error(
            source,
            "it is not a zip archive, as .npz files are",
            "Save arrays with numpy.savez; if this file came from numpy.savez, "
            "it is corrupt: export or copy it again from its source",
        )
    arrays: dict[str | None, np.ndarray] = {}
    try:
        with zipfile.ZipFile(source) as archive:
            for info in checked_members(archive, "numpy.savez"):
                key = info.filename.removesuffix(".npy")
                with archive.open(info) as stream:
                    array = _read_npz_member(source, key, info, stream, budget)
                if array is not None:
                    arrays[key] = array
    # zipfile raises these on damaged archives
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
        raise _error(
            source, f"it is not a readable .npz archive ({error})", _DAMAGED
        ) from error
    return arrays


def _read_npz_member(
    source: Path,
    key: str,
    info: zipfile.ZipInfo,
    stream: BinaryIO,
    budget: ByteBudget,
) -> np.ndarray | None:
    """One member's array, or None if it is not a .npy file.

    Its header is checked against the member's size before a byte of data is
    read, and only entries that can become a heatmap are read at all.
    """
    try:
        header = _npy_header(stream)
    except ValueError as error:
        raise _error(source, f"array {key!r} has a {error}", _DAMAGED) from error
    if header is None:
        return None
    shape, fortran_order, dtype = header
    _refuse_objects(source, key, dtype)
    nbytes = dtype.itemsize * math.prod(shape)
    if stream.tell() + nbytes != info.file_size:
        raise _error(
            source,
            f"array {key!r} declares {dtype} of shape {shape}, "
            f"{stream.tell() + nbytes} bytes with its header, but its archive "
            f"member holds {info.file_size} bytes",
            _DAMAGED,
        )
    if not _usable(shape):
        return _placeholder(shape, dtype)
    _check_dtype(source, key, dtype)
    budget.spend(nbytes, f"array {key!r}, {dtype} of shape {shape}")
    flat = np.empty(math.prod(shape), dtype=dtype)
    view = memoryview(flat.view(np.uint8))
    filled = 0
    while filled < nbytes:
        count = stream.readinto(view[filled : filled + _CHUNK])
        if not count:
            raise _error(source, f"array {key!r} is truncated", _DAMAGED)
        filled += count
    if fortran_order:
        return flat.reshape(shape[::-1]).transpose()
    return flat.reshape(shape)


def _npy_header(stream: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype] | None:
    """Shape, Fortran order and dtype from a .npy header; None if not .npy.

    Reads forward only (no seek). Raises ValueError if the header is damaged.
    """
    magic = stream.read(np.lib.format.MAGIC_LEN)
    if not magic.startswith(np.lib.format.MAGIC_PREFIX):
        return None
    version = tuple(magic[len(np.lib.format.MAGIC_PREFIX) :])
    try:
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran_order, dtype = read_header(stream)
    except Exception as error:  # NumPy's header parser raises many types
        raise ValueError(f"damaged .npy header: {error}") from error
    if any(length < 0 for length in shape):
        raise ValueError(f"damaged .npy header: negative length in shape {shape}")
    return shape, fortran_order, dtype


def _refuse_objects(source: Path, key: str | None, dtype: np.dtype) -> None:
    if dtype.hasobject:
        what = "it holds" if key is None else f"array {key!r} holds"
        raise _error(
            source,
            f"{what} Python objects (an object array), which can only be "
            f"loaded by unpickling; {_NO_PICKLE}",
            "Convert the data to numeric arrays and save them again with "
            "numpy.save or numpy.savez",
        )


def _read_torch(source: Path, budget: ByteBudget) -> dict[str | None, np.ndarray]:
    # before torch is imported: a refused file never reaches torch.load
    is_zip = check_torch_file(source, budget)
    torch = _import_optional("torch", extra="torch", source=source)
    try:
        payload = torch.load(source, weights_only=True, map_location="cpu", mmap=is_zip)
    except pickle.UnpicklingError as error:
        raise _error(
            source,
            "it is not a plain tensor file: torch's safe loader "
            f"(weights_only=True) refused it ({_weights_only_reason(error)}); "
            f"{_NO_PICKLE}. The file may also be corrupt",
            "If you trust the file, load it in Python with "
            "torch.load(path, weights_only=False), keep only the tensors "
            "(for example model.state_dict()) and save them with torch.save",
        ) from error
    except Exception as error:  # torch's parsers raise many types on damaged files
        reason = str(error).split(". ")[0] or type(error).__name__
        raise _error(source, f"torch cannot load it ({reason})", _DAMAGED) from error
    if isinstance(payload, torch.Tensor | np.ndarray):
        return {None: _tensor_to_numpy(source, None, payload, budget)}
    return {
        key: _tensor_to_numpy(source, key, value, budget)
        for key, value in _flatten(payload)
        if isinstance(value, torch.Tensor | np.ndarray)
    }


def _weights_only_reason(error: pickle.UnpicklingError) -> str:
    _, _, detail = str(error).partition("WeightsUnpickler error:")
    lines = [line.strip() for line in detail.splitlines() if line.strip()]
    return lines[0].split(". ")[0] if lines else str(error).split(". ")[0]


def _flatten(
    payload: Any, limits: PickleLimits | None = None
) -> Iterator[tuple[str, Any]]:
    """Leaves of nested dicts, lists and tuples, with their dotted keys.

    Bounded however the payload was built: a container reached again (a
    shared or circular reference) is not entered again, so its leaves are
    listed under the first key that reached them; nesting deeper than
    ``limits.max_depth`` or more than ``limits.max_elements`` entries is
    refused.
    """
    limits = limits or PickleLimits()
    if not _is_container(payload):
        yield "", payload
        return
    entered = {id(payload)}
    stack = [("", _items(payload))]
    count = 0
    while stack:
        prefix, items = stack[-1]
        item = next(items, None)
        if item is None:
            stack.pop()
            continue
        count += 1
        if count > limits.max_elements:
            raise Refusal(
                f"it holds more than {limits.max_elements:,} nested entries",
                "Keep only the tensors you want to see and save them again",
            )
        key, value = item
        path = f"{prefix}.{key}" if prefix else key
        if not _is_container(value):
            yield path, value
        elif id(value) not in entered:
            if len(stack) >= limits.max_depth:
                raise Refusal(
                    f"it nests containers more than {limits.max_depth} deep",
                    "Keep only the tensors you want to see and save them again",
                )
            entered.add(id(value))
            stack.append((path, _items(value)))


def _is_container(value: Any) -> bool:
    return isinstance(value, Mapping | list | tuple)


def _items(container: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(container, Mapping):
        return ((str(key), value) for key, value in container.items())
    return ((str(index), value) for index, value in enumerate(container))


def _tensor_to_numpy(
    source: Path, key: str | None, value: Any, budget: ByteBudget
) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    tensor = value.detach()
    shape = tuple(tensor.shape)
    if not _usable(shape):
        return _placeholder(shape)
    what = "tensor" if key is None else f"tensor {key!r}"
    dtype = str(tensor.dtype)
    dense = str(tensor.layout) == "torch.strided"
    if dense and tensor.is_complex():
        raise _complex(source, what, tensor.dtype)
    widen = dtype == "torch.bfloat16"
    if dense and not widen and dtype not in _NUMPY_TORCH_DTYPES:
        raise _error(
            source, f"{what} has dtype {dtype}, which cannot be blended", _BLEND_AS
        )
    try:
        if dense:
            budget.spend(
                _tensor_cost(tensor, widen), f"{what}, {dtype} of shape {shape}"
            )
        return tensor.float().numpy() if widen else tensor.numpy()
    except (TypeError, RuntimeError) as error:
        raise _error(
            source,
            f"{what} ({tensor.dtype}, {tensor.layout}) cannot become a NumPy "
            f"array ({error})",
            "Save it as a dense float32 tensor",
        ) from error


def _tensor_cost(tensor: Any, widen: bool) -> int:
    """Bytes a tensor will take beyond the storage it views.

    A tensor inside its storage costs nothing more: the storage is mapped
    from the file or was counted before loading. One larger than its storage
    (stride 0, from ``expand``) is as large as its shape once anything copies
    it; converting to float32 copies it now.
    """
    if widen:
        return tensor.numel() * 4
    logical = tensor.numel() * tensor.element_size()
    return logical if logical > tensor.untyped_storage().nbytes() else 0


def _read_safetensors(source: Path, budget: ByteBudget) -> dict[str | None, np.ndarray]:
    safetensors = _import_optional("safetensors", extra="safetensors", source=source)
    header = read_safetensors_header(source)
    arrays: dict[str | None, np.ndarray] = {}
    plain: list[str] = []
    widened: list[TensorHeader] = []
    for tensor in header:
        if not _usable(tensor.shape):
            arrays[tensor.key] = _placeholder(tensor.shape)
            continue
        _check_safetensors_dtype(source, tensor)
        if tensor.dtype in _WIDENED_SAFETENSORS:
            widened.append(tensor)
            cost = tensor.nbytes + tensor.numel * 4
        else:
            plain.append(tensor.key)
            cost = tensor.nbytes
        what = f"tensor {tensor.key!r}, {tensor.dtype} of shape {tensor.shape}"
        budget.spend(cost, what)
    try:
        if plain:
            with safetensors.safe_open(source, framework="numpy") as handle:
                for key in plain:
                    arrays[key] = handle.get_tensor(key)
        if widened:
            arrays.update(_read_safetensors_with_torch(safetensors, source, widened))
    except safetensors.SafetensorError as error:
        raise _error(
            source, f"it is not a readable .safetensors file ({error})", _DAMAGED
        ) from error
    return {tensor.key: arrays[tensor.key] for tensor in header}


def _check_safetensors_dtype(source: Path, tensor: TensorHeader) -> None:
    dtype = tensor.dtype
    if dtype in _NUMPY_SAFETENSORS or dtype in _WIDENED_SAFETENSORS:
        return
    what = f"tensor {tensor.key!r}"
    if dtype.startswith("C"):
        raise _complex(source, what, dtype)
    kind = "float8, which NumPy lacks" if dtype.startswith("F8") else "not supported"
    raise _error(source, f"{what} has dtype {dtype} ({kind})", _BLEND_AS)


def _read_safetensors_with_torch(
    safetensors: ModuleType, source: Path, tensors: list[TensorHeader]
) -> dict[str | None, np.ndarray]:
    first = tensors[0]
    why = f"to convert tensor {first.key!r} from {first.dtype}, a dtype NumPy lacks"
    _import_optional("torch", extra="torch", source=source, why=why)
    with safetensors.safe_open(source, framework="pt") as handle:
        return {
            tensor.key: handle.get_tensor(tensor.key).float().numpy()
            for tensor in tensors
        }


def _import_optional(
    module: str, *, extra: str, source: Path, why: str = "to read this format"
) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise _error(
            source,
            f"the optional dependency {module!r} is needed {why} but is not installed",
            f'Install it with: pip install "napari-heatoverlay[{extra}]"',
        ) from error


_LOADERS: dict[str, Callable[[Path, ByteBudget], dict[str | None, np.ndarray]]] = {
    ".npy": _read_npy,
    ".npz": _read_npz,
    ".pt": _read_torch,
    ".pth": _read_torch,
    ".safetensors": _read_safetensors,
}
