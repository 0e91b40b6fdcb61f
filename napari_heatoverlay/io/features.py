"""Read feature arrays from disk without ever unpickling.

Used by the napari reader and by the command line; imports neither napari nor
Qt. Every format goes through the same steps: load each array read-only (the
safe way for that format), drop entries that cannot be a heatmap, check the
dtype and squeeze leading singleton axes (PyTorch NCHW convention).
"""

from __future__ import annotations

import importlib
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

__all__ = [
    "FEATURE_SUFFIXES",
    "FeatureArray",
    "FeatureFileError",
    "is_feature_file",
    "read_feature_arrays",
]

FEATURE_SUFFIXES: tuple[str, ...] = (".npy", ".npz", ".pt", ".pth", ".safetensors")

_LAYOUTS = {2: "HW", 3: "CHW", 4: "NCHW", 5: "NCDHW"}
_ZIP_MAGIC = b"PK\x03\x04"
_NO_PICKLE = (
    "napari-heatoverlay never unpickles files, because unpickling can run "
    "arbitrary code"
)
_DAMAGED = "The file is truncated or corrupt: export or copy it again from its source"


class FeatureFileError(ValueError):
    """A feature file cannot be read; the message says why and what to do.

    Raised for unsupported or missing paths, damaged files, payloads that would
    need unpickling, unusable dtypes or shapes, and missing optional
    dependencies (``torch``, ``safetensors``).

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


def read_feature_arrays(path: str | os.PathLike) -> list[FeatureArray]:
    """Read every heatmap-shaped array in a feature file, without unpickling.

    ``.npy`` files are memory-mapped read-only; ``.npz`` files are read with
    ``allow_pickle=False``; ``.pt``/``.pth`` files with
    ``torch.load(weights_only=True, map_location="cpu")`` (memory-mapped when
    in PyTorch's zip format); ``.safetensors`` files with ``safetensors``.
    A payload that needs unpickling is refused without running any of its code.

    In dict-like files (``.npz``, ``.safetensors``, dicts, lists and tuples in
    ``.pt``) non-array entries are skipped, as are arrays with fewer than two
    dimensions (biases, ``num_batches_tracked`` counters) or no elements.
    Leading singleton axes are squeezed, never below two dimensions:
    ``(1, 256, 32, 96)`` gives ``(256, 32, 96)``, ``(1, 8)`` stays ``(1, 8)``
    and ``(2, 3, 8, 8)`` keeps both leading axes.

    Dtypes: integer and floating arrays are kept as stored; bool arrays are
    viewed as uint8 (0 and 1, no copy); tensors in dtypes NumPy lacks
    (bfloat16, float8) are converted to float32; complex arrays are refused
    (save their magnitude or real part instead) and so is anything else
    (strings, structured records, Python objects).

    Parameters
    ----------
    path : str or os.PathLike
        A ``.npy``, ``.npz``, ``.pt``, ``.pth`` or ``.safetensors`` file. It is
        only ever opened for reading.

    Returns
    -------
    list of FeatureArray
        One entry per usable array, in the file's order (sorted by key for
        ``.safetensors``).

    Raises
    ------
    FeatureFileError
        If the file is missing, unsupported, damaged, would need unpickling,
        holds no usable array, or needs an optional dependency that is not
        installed. The message names the file and what to do next.

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
    """
    source = Path(path)
    suffix = source.suffix.lower()
    if suffix not in FEATURE_SUFFIXES:
        raise _error(
            source,
            f"{suffix or 'a name without suffix'} is not a feature-file format",
            f"Save the array as one of {', '.join(FEATURE_SUFFIXES)}",
        )
    if not source.is_file():
        problem = "it is a folder" if source.is_dir() else "no such file"
        raise _error(source, problem, "Check the path and pass a single file")
    if source.stat().st_size == 0:
        raise _error(source, "the file is empty (0 bytes)", _DAMAGED)
    try:
        entries = _LOADERS[suffix](source)
    except OSError as error:
        raise _error(
            source,
            f"it cannot be opened ({error.strerror or error})",
            "Check that you are allowed to read it",
        ) from error
    return _feature_arrays(source, entries)


def _feature_arrays(
    source: Path, entries: Mapping[str | None, np.ndarray]
) -> list[FeatureArray]:
    usable = {
        key: array
        for key, array in entries.items()
        if array.ndim >= 2 and array.size > 0
    }
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


def _displayable(source: Path, key: str | None, array: np.ndarray) -> np.ndarray:
    if array.dtype.kind == "b":
        return array.view(np.uint8)
    if array.dtype.kind in "iuf":
        return array
    what = "array" if key is None else f"array {key!r}"
    if array.dtype.kind == "c":
        raise _error(
            source,
            f"{what} is complex ({array.dtype}), which a heatmap cannot show",
            "Save its magnitude (numpy.abs) or its real part instead",
        )
    raise _error(
        source,
        f"{what} has dtype {array.dtype}, which is not numeric",
        "Save the feature map as an integer or floating-point array",
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


def _starts_with(source: Path, magic: bytes) -> bool:
    with source.open("rb") as stream:
        return stream.read(len(magic)) == magic


def _read_npy(source: Path) -> dict[str | None, np.ndarray]:
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
    shape, dtype = header
    _refuse_objects(source, None, dtype)
    expected_size = data_start + dtype.itemsize * int(np.prod(shape))
    file_size = source.stat().st_size
    if file_size < expected_size:
        raise _error(
            source,
            f"it is truncated: a {dtype} array of shape {shape} needs "
            f"{expected_size} bytes but the file has {file_size}",
            _DAMAGED,
        )
    try:
        return {None: np.load(source, mmap_mode="r", allow_pickle=False)}
    except (ValueError, OverflowError) as error:
        raise _error(source, f"NumPy cannot map it ({error})", _DAMAGED) from error


def _read_npz(source: Path) -> dict[str | None, np.ndarray]:
    if not _starts_with(source, _ZIP_MAGIC):
        raise _error(
            source,
            "it is not a zip archive, as .npz files are",
            "Save arrays with numpy.savez; if this file came from numpy.savez, "
            "it is corrupt: export or copy it again from its source",
        )
    arrays: dict[str | None, np.ndarray] = {}
    try:
        with np.load(source, allow_pickle=False) as archive:
            for member in archive.zip.namelist():
                key = member.removesuffix(".npy")
                with archive.zip.open(member) as stream:
                    header = _npy_header(stream)
                if header is not None:
                    _refuse_objects(source, key, header[1])
                    arrays[key] = archive[member]
    except FeatureFileError:
        raise
    # zipfile and NumPy's header parser raise these on damaged archives
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        NotImplementedError,
        ValueError,
    ) as error:
        raise _error(
            source, f"it is not a readable .npz archive ({error})", _DAMAGED
        ) from error
    return arrays


def _npy_header(stream: BinaryIO) -> tuple[tuple[int, ...], np.dtype] | None:
    """Shape and dtype from a .npy header, or None if `stream` is not .npy.

    Raises ValueError if the header is damaged.
    """
    magic = np.lib.format.MAGIC_PREFIX
    if stream.read(len(magic)) != magic:
        return None
    stream.seek(0)
    try:
        version = np.lib.format.read_magic(stream)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, _fortran_order, dtype = read_header(stream)
    except Exception as error:  # NumPy's header parser raises many types
        raise ValueError(f"damaged .npy header: {error}") from error
    return shape, dtype


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


def _read_torch(source: Path) -> dict[str | None, np.ndarray]:
    torch = _import_optional("torch", extra="torch", source=source)
    try:
        payload = torch.load(
            source,
            weights_only=True,
            map_location="cpu",
            mmap=_starts_with(source, _ZIP_MAGIC),
        )
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
        return {None: _tensor_to_numpy(source, None, payload)}
    return {
        key: _tensor_to_numpy(source, key, value)
        for key, value in _flatten(payload)
        if isinstance(value, torch.Tensor | np.ndarray)
    }


def _weights_only_reason(error: pickle.UnpicklingError) -> str:
    _, _, detail = str(error).partition("WeightsUnpickler error:")
    lines = [line.strip() for line in detail.splitlines() if line.strip()]
    return lines[0].split(". ")[0] if lines else str(error).split(". ")[0]


def _flatten(payload: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(payload, Mapping):
        items = ((str(key), value) for key, value in payload.items())
    elif isinstance(payload, list | tuple):
        items = ((str(index), value) for index, value in enumerate(payload))
    else:
        yield prefix, payload
        return
    for key, value in items:
        yield from _flatten(value, f"{prefix}.{key}" if prefix else key)


def _tensor_to_numpy(source: Path, key: str | None, value: Any) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    tensor = value.detach()
    try:
        try:
            return tensor.numpy()
        except TypeError:  # a dtype NumPy lacks (bfloat16, float8)
            return tensor.float().numpy()
    except (TypeError, RuntimeError) as error:
        what = "tensor" if key is None else f"tensor {key!r}"
        raise _error(
            source,
            f"{what} ({tensor.dtype}, {tensor.layout}) cannot become a NumPy "
            f"array ({error})",
            "Save it as a dense float32 tensor",
        ) from error


def _read_safetensors(source: Path) -> dict[str | None, np.ndarray]:
    safetensors = _import_optional("safetensors", extra="safetensors", source=source)
    arrays: dict[str | None, np.ndarray] = {}
    try:
        with safetensors.safe_open(source, framework="numpy") as handle:
            for key in handle.keys():  # noqa: SIM118 (safe_open is not iterable)
                try:
                    arrays[key] = handle.get_tensor(key)
                except TypeError:  # a dtype NumPy lacks (bfloat16, float8)
                    dtype = handle.get_slice(key).get_dtype()
                    arrays[key] = _read_safetensor_with_torch(
                        safetensors, source, key, dtype
                    )
    except safetensors.SafetensorError as error:
        raise _error(
            source, f"it is not a readable .safetensors file ({error})", _DAMAGED
        ) from error
    return arrays


def _read_safetensor_with_torch(
    safetensors: ModuleType, source: Path, key: str, dtype: str
) -> np.ndarray:
    why = f"to convert tensor {key!r} from {dtype}, a dtype NumPy lacks"
    _import_optional("torch", extra="torch", source=source, why=why)
    with safetensors.safe_open(source, framework="pt") as handle:
        return _tensor_to_numpy(source, key, handle.get_tensor(key))


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


_LOADERS: dict[str, Callable[[Path], dict[str | None, np.ndarray]]] = {
    ".npy": _read_npy,
    ".npz": _read_npz,
    ".pt": _read_torch,
    ".pth": _read_torch,
    ".safetensors": _read_safetensors,
}
