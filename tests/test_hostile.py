"""Hostile and broken feature files: refused fast, in bounded memory, in one line.

Every file is made here, on disk, and goes through two child processes:
``read_feature_arrays`` and the command line (``python -m napari_heatoverlay
IMAGE HEATMAP -o out.png``), each under a 3 GiB address-space limit and a
10 s timeout. The peak RSS of each child comes from ``os.wait4`` in a small
wrapper process. Without ``HEATOVERLAY_MAX_BYTES`` the byte limit is a quarter
of the 3 GiB, 768 MiB at most.
"""

from __future__ import annotations

import collections
import io
import json
import os
import pickle
import re
import resource
import signal
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from napari_heatoverlay.io.picklescan import PickleLimits, PickleScanner
from napari_heatoverlay.io.refusal import Refusal

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="FIFOs, /dev/zero and RLIMIT_AS as on Linux"
)

ADDRESS_SPACE = 3 * 2**30
TIMEOUT = 10.0
MAX_RSS = 2**30
READER = """
import json, sys
from napari_heatoverlay.io.features import FeatureFileError, read_feature_arrays
try:
    outcome = {"features": len(read_feature_arrays(sys.argv[1]))}
except FeatureFileError as error:
    outcome = {"error": str(error)}
outcome["torch_imported"] = "torch" in sys.modules
print(json.dumps(outcome))
"""


# --- running children under limits -----------------------------------------

#: Runs a command in a child and writes the child's peak RSS (bytes) to a
#: file. The wrapper is small: a child forked from the test process itself
#: would count the test process's pages in its peak, up to its exec.
RSS_WRAPPER = """
import os, sys
report, command = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    try:
        os.execv(command[0], command)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as stream:
    stream.write(str(usage.ru_maxrss * 1024))
sys.exit(os.waitstatus_to_exitcode(status) % 256)
"""


@dataclass
class Run:
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    peak_rss: int

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_children(commands: list[list[str]], workdir: Path, env: dict) -> list[Run]:
    """Run `commands` at once, each under the limits; None for a timeout."""
    started = []
    for index, command in enumerate(commands):
        out = (workdir / f"child{index}.out").open("w+")
        err = (workdir / f"child{index}.err").open("w+")
        report = workdir / f"child{index}.rss"
        process = subprocess.Popen(
            [sys.executable, "-c", RSS_WRAPPER, str(report), *command],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=workdir,
            env=env,
            preexec_fn=_limit_address_space,
            start_new_session=True,
        )
        started.append((process, out, err, report, time.monotonic()))
    deadline = time.monotonic() + TIMEOUT
    seconds: dict[int, float] = {}
    while len(seconds) < len(started):
        for process, _out, _err, _report, start in started:
            if process.pid not in seconds and process.poll() is not None:
                seconds[process.pid] = time.monotonic() - start
        if time.monotonic() > deadline:
            for process, *_ in started:
                if process.pid not in seconds:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    process.returncode = None
                    seconds[process.pid] = TIMEOUT
        time.sleep(0.01)
    runs = []
    for process, out, err, report, _start in started:
        out.seek(0)
        err.seek(0)
        rss = int(report.read_text()) if report.exists() else 0
        runs.append(
            Run(process.returncode, out.read(), err.read(), seconds[process.pid], rss)
        )
        out.close()
        err.close()
    return runs


def child_env(**overrides: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "HEATOVERLAY_MAX_BYTES"}
    env.update(overrides)
    return env


def run_reader_and_cli(
    heatmap: Path, workdir: Path, *, together: bool = True, **env: str
) -> tuple[Run, dict, Run]:
    """Run the reader and the command on `heatmap`, at once if `together`.

    Children that import torch (2-3 s each) run one after the other, so that
    each one's time is its own and not a share of two cores.
    """
    import imageio.v3 as iio

    image = workdir / "image.png"
    iio.imwrite(image, np.full((16, 16), 128, dtype=np.uint8))
    commands = [
        [sys.executable, "-c", READER, str(heatmap)],
        [
            sys.executable,
            "-m",
            "napari_heatoverlay",
            str(image),
            str(heatmap),
            "-o",
            str(workdir / "out.png"),
        ],
    ]
    if together:
        reader, cli = run_children(commands, workdir, child_env(**env))
    else:
        [reader] = run_children(commands[:1], workdir, child_env(**env))
        [cli] = run_children(commands[1:], workdir, child_env(**env))
    assert reader.returncode == 0, reader.stderr
    return reader, json.loads(reader.stdout), cli


def assert_bounded(run: Run) -> None:
    assert run.returncode is not None, f"no answer within {TIMEOUT} s"
    assert run.seconds < TIMEOUT
    assert run.peak_rss < MAX_RSS, f"peak RSS {run.peak_rss / 2**20:.0f} MiB"
    assert "Traceback" not in run.stderr, run.stderr


# --- hostile files -----------------------------------------------------------


def make_fifo(folder: Path) -> Path:
    path = folder / "x.npy"
    os.mkfifo(path)
    return path


def make_symlink_to(target: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / "x.npy"
        path.symlink_to(target)
        return path

    return make


def make_folder(folder: Path) -> Path:
    path = folder / "x.npy"
    path.mkdir()
    return path


def npy_header(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    buffer = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def make_npy_shape_bomb(shape: tuple[int, ...]) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / "bomb.npy"
        path.write_bytes(npy_header(shape) + bytes(64))
        return path

    return make


def make_npz_member_shape_bomb(folder: Path) -> Path:
    path = folder / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("heat.npy", npy_header((2**20, 2**20, 2**20)) + bytes(64))
    return path


def write_one_member_zip(
    path: Path, name: str, compressed: bytes, *, size: int, crc: int
) -> Path:
    """A zip with one deflated member, its header written by hand."""
    raw_name = name.encode()
    local = struct.pack(
        "<4s5H3L2H",
        b"PK\x03\x04",
        20,
        0,
        zipfile.ZIP_DEFLATED,
        0,
        0x21,
        crc,
        len(compressed),
        size,
        len(raw_name),
        0,
    )
    central = struct.pack(
        "<4s6H3L5H2L",
        b"PK\x01\x02",
        20,
        20,
        0,
        zipfile.ZIP_DEFLATED,
        0,
        0x21,
        crc,
        len(compressed),
        size,
        len(raw_name),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    directory_at = len(local) + len(raw_name) + len(compressed)
    end = struct.pack(
        "<4s4H2LH",
        b"PK\x05\x06",
        0,
        0,
        1,
        1,
        len(central) + len(raw_name),
        directory_at,
        0,
    )
    path.write_bytes(local + raw_name + compressed + central + raw_name + end)
    return path


def make_npz_zip_bomb(folder: Path) -> Path:
    """1 GiB of zeros behind a valid .npy header, deflated to about 1 MB.

    After a full flush deflate starts afresh, so one compressed MiB of zeros
    can be repeated; the CRC is computed over the real inflated bytes.
    """
    header = npy_header((2**15, 2**15), descr="|u1")
    zeros = bytes(2**20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = compressor.compress(header) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert block == compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(header)
    for _ in range(2**10):
        crc = zlib.crc32(zeros, crc)
    compressed = start + block * 2**10 + compressor.flush(zlib.Z_FINISH)
    return write_one_member_zip(
        folder / "bomb.npz", "heat.npy", compressed, size=len(header) + 2**30, crc=crc
    )


def make_npz_ratio_lie(folder: Path) -> Path:
    header = npy_header((2**12, 2**12), descr="|u1")
    data = header + bytes(2**24)
    compressed = zlib.compress(header + bytes(1000))[2:-4]  # raw deflate
    return write_one_member_zip(
        folder / "lie.npz", "heat.npy", compressed, size=len(data), crc=zlib.crc32(data)
    )


NESTED_LISTS = b"\x80\x02" + b"]" * 10_000 + b"a" * 9_999 + b"."


def billion_laughs() -> bytes:
    """30 levels of ten references to the level below: 10**30 elements."""
    bomb = b"\x80\x02]q\x00(" + b"K\x00" * 10 + b"e"
    for level in range(1, 31):
        bomb += b"](" + (b"h" + bytes([level - 1])) * 10 + b"eq" + bytes([level])
    return bomb + b"."


def torch_zip(pickled: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / "bomb.pt"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("bomb/data.pkl", pickled)
            archive.writestr("bomb/byteorder", "little")
            archive.writestr("bomb/version", "3\n")
        return path

    return make


def legacy_prefix() -> bytes:
    return (
        pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
        + pickle.dumps(1001, protocol=2)
        + pickle.dumps(
            {"protocol_version": 1001, "little_endian": True, "type_sizes": {}},
            protocol=2,
        )
    )


def torch_legacy(pickled: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / "bomb.pth"
        path.write_bytes(legacy_prefix() + pickled + pickle.dumps(["0"], protocol=2))
        return path

    return make


def make_legacy_storage_bomb(folder: Path) -> Path:
    """A legacy file whose one storage declares 3 * 2**30 floats (12 GiB)."""
    torch = pytest.importorskip("torch")
    numel = 3 * 2**30

    class Storage:
        pass

    class Tensor:
        def __reduce__(self):
            return (
                torch._utils._rebuild_tensor_v2,
                (Storage(), 0, (numel,), (1,), False, collections.OrderedDict()),
            )

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ("storage", torch.FloatStorage, "0", "cpu", numel, None)
            return None

    buffer = io.BytesIO()
    Pickler(buffer, protocol=2).dump(Tensor())
    path = folder / "storage.pth"
    path.write_bytes(
        legacy_prefix()
        + buffer.getvalue()
        + pickle.dumps(["0"], protocol=2)
        + struct.pack("<q", numel)
        + bytes(64)
    )
    return path


def make_expanded_tensor(folder: Path) -> Path:
    torch = pytest.importorskip("torch")
    path = folder / "expanded.pt"
    torch.save({"heat": torch.zeros(1).expand(2**20, 2**20)}, path)
    return path


def make_float8_tensor(folder: Path) -> Path:
    torch = pytest.importorskip("torch")
    path = folder / "f8.pt"
    torch.save({"heat": torch.zeros(4, 4).to(torch.float8_e4m3fn)}, path)
    return path


def safetensors_file(
    path: Path, header: dict, data: bytes, *, length: int | None = None
) -> Path:
    text = json.dumps(header).encode()
    size = len(text) if length is None else length
    path.write_bytes(struct.pack("<Q", size) + text + data)
    return path


def make_safetensors_dtype(dtype: str, itemsize: int) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        entry = {"dtype": dtype, "shape": [4, 4], "data_offsets": [0, 16 * itemsize]}
        return safetensors_file(
            folder / "odd.safetensors", {"heat": entry}, bytes(16 * itemsize)
        )

    return make


def make_safetensors_header_length_bomb(folder: Path) -> Path:
    return safetensors_file(folder / "bomb.safetensors", {}, b"", length=2**62)


def make_safetensors_offsets_bomb(folder: Path) -> Path:
    entry = {"dtype": "F32", "shape": [2**20, 2**20], "data_offsets": [0, 2**42]}
    return safetensors_file(folder / "bomb.safetensors", {"heat": entry}, bytes(64))


def make_structured_npy(folder: Path) -> Path:
    path = folder / "records.npy"
    np.save(path, np.zeros((4, 4), dtype=[("a", "<f4"), ("b", "<i4")]))
    return path


def make_complex_npz(folder: Path) -> Path:
    path = folder / "spectrum.npz"
    np.savez(path, heat=np.ones((4, 4), dtype=np.complex128))
    return path


def make_object_npy(folder: Path) -> Path:
    path = folder / "objects.npy"
    np.save(path, np.array([[1, "a"], [None, 2.0]], dtype=object), allow_pickle=True)
    return path


@dataclass(frozen=True)
class Case:
    make: Callable[[Path], Path]
    message: str
    cli_message: str | None = None
    without_torch: bool = True
    env: dict = field(default_factory=dict)


CASES = {
    "fifo": Case(make_fifo, r"it is a named pipe \(FIFO\)"),
    "symlink-dev-zero": Case(
        make_symlink_to("/dev/zero"), "symbolic link to /dev/zero, which is a char"
    ),
    "symlink-dev-urandom": Case(
        make_symlink_to("/dev/urandom"), "link to /dev/urandom, which is a character"
    ),
    "folder": Case(make_folder, "it is a folder", cli_message="is a folder"),
    "npy-7-tib-shape": Case(make_npy_shape_bomb((2**20, 2**20, 2**3)), "truncated"),
    "npy-shape-overflowing-int64": Case(
        make_npy_shape_bomb((2**31, 2**31, 2**31)), "truncated"
    ),
    "npz-member-shape-bomb": Case(
        make_npz_member_shape_bomb, "archive member holds 192 bytes"
    ),
    "npz-zip-bomb-1-gib": Case(
        make_npz_zip_bomb,
        r"at least 1\.0 GiB.*over the limit of .*\(a quarter of the .* available",
    ),
    "npz-zip-bomb-below-env-limit": Case(
        make_npz_zip_bomb,
        r"over the limit of 64\.0 MiB \(HEATOVERLAY_MAX_BYTES=64M\)",
        env={"HEATOVERLAY_MAX_BYTES": "64M"},
    ),
    "npz-ratio-lie": Case(make_npz_ratio_lie, "more than deflate can produce"),
    "torch-nested-10000-zip": Case(torch_zip(NESTED_LISTS), "more than 100 deep"),
    "torch-nested-10000-legacy": Case(torch_legacy(NESTED_LISTS), "more than 100 deep"),
    "torch-billion-laughs-zip": Case(torch_zip(billion_laughs()), "billion laughs"),
    "torch-billion-laughs-legacy": Case(
        torch_legacy(billion_laughs()), "billion laughs"
    ),
    "torch-string-of-4-eib": Case(
        torch_legacy(b"\x80\x04\x8e" + struct.pack("<Q", 2**62) + b"."),
        "damaged pickle",
    ),
    "torch-legacy-12-gib-storage": Case(
        make_legacy_storage_bomb, r"declare 12\.0 GiB of storage"
    ),
    "torch-expanded-4-tib": Case(
        make_expanded_tensor, r"at least 4\.0 TiB", without_torch=False
    ),
    "torch-float8": Case(
        make_float8_tensor,
        r"torch\.float8_e4m3fn, which cannot be blended\. Save it as float16",
        without_torch=False,
    ),
    "safetensors-float8": Case(
        make_safetensors_dtype("F8_E4M3", 1), r"F8_E4M3 \(float8.*float16 or float32"
    ),
    "safetensors-complex": Case(
        make_safetensors_dtype("C64", 8), r"complex \(C64\).*numpy\.abs"
    ),
    "safetensors-unknown-dtype": Case(
        make_safetensors_dtype("F6_E2M3", 1), "F6_E2M3 \\(not supported\\)"
    ),
    "safetensors-header-length": Case(
        make_safetensors_header_length_bomb, "declare a header of"
    ),
    "safetensors-offsets": Case(make_safetensors_offsets_bomb, "lies at bytes"),
    "npy-structured": Case(make_structured_npy, "not numeric"),
    "npz-complex": Case(make_complex_npz, r"complex \(complex128\)"),
    "npy-object": Case(make_object_npy, "never unpickles"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_file_is_refused_fast_in_bounded_memory(tmp_path, name):
    case = CASES[name]
    heatmap = case.make(tmp_path)

    reader, outcome, cli = run_reader_and_cli(
        heatmap, tmp_path, together=case.without_torch, **case.env
    )

    assert_bounded(reader)
    assert "error" in outcome, outcome
    assert outcome["error"].startswith(f"Cannot read {heatmap}: ")
    assert re.search(case.message, outcome["error"])
    if case.without_torch:
        assert not outcome["torch_imported"], "torch was imported"
    assert_bounded(cli)
    assert cli.returncode in (1, 2)
    [line] = cli.stderr_lines
    assert line.startswith("heatoverlay")
    assert re.search(case.cli_message or case.message, line)


# --- many tiny entries: fast and bounded --------------------------------------


def make_many_safetensors(folder: Path) -> Path:
    from safetensors.numpy import save_file

    path = folder / "many.safetensors"
    tiny = np.ones((1, 2), dtype=np.float32)
    save_file({f"t{index:05d}": tiny for index in range(20_000)}, str(path))
    return path


def make_many_npz(folder: Path) -> Path:
    path = folder / "many.npz"
    tiny = np.ones((2, 2), dtype=np.float32)
    np.savez(path, **{f"a{index:04d}": tiny for index in range(5_000)})
    return path


@pytest.mark.parametrize(
    ("make", "count"), [(make_many_safetensors, 20_000), (make_many_npz, 5_000)]
)
def test_thousands_of_tiny_entries_are_read_fast(tmp_path, make, count):
    heatmap = make(tmp_path)

    reader, outcome, cli = run_reader_and_cli(heatmap, tmp_path)

    assert outcome == {"features": count, "torch_imported": False}
    assert reader.seconds < 3
    assert_bounded(reader)
    assert_bounded(cli)
    assert cli.returncode == 2  # which array? the command asks for --key
    [line] = cli.stderr_lines
    assert line.startswith(f"heatoverlay: error: {heatmap} holds {count} arrays")


@pytest.mark.parametrize("make", [make_fifo, make_symlink_to("/dev/zero")])
def test_the_image_is_never_read_from_a_fifo_or_device(tmp_path, make):
    image = make(tmp_path).rename(tmp_path / "image.png")
    heatmap = tmp_path / "heat.npy"
    np.save(heatmap, np.ones((8, 8), dtype=np.float32))

    output = tmp_path / "out.png"
    command = [sys.executable, "-m", "napari_heatoverlay", image, heatmap, "-o", output]

    [cli] = run_children([[str(part) for part in command]], tmp_path, child_env())

    assert_bounded(cli)
    assert cli.returncode == 1
    [line] = cli.stderr_lines
    assert line.startswith(f"heatoverlay: error: Cannot read {image}: it is a")


def test_a_valid_file_passes_the_same_harness(tmp_path):
    heatmap = tmp_path / "heat.npy"
    np.save(heatmap, np.random.default_rng(0).random((8, 8), dtype=np.float32))

    reader, outcome, cli = run_reader_and_cli(heatmap, tmp_path)

    assert outcome == {"features": 1, "torch_imported": False}
    assert_bounded(reader)
    assert_bounded(cli)
    assert (cli.returncode, cli.stderr) == (0, "")
    assert (tmp_path / "out.png").is_file()


# --- the pickle scanner on its own ---------------------------------------------


def scan(pickled: bytes, **limits: int) -> PickleScanner:
    scanner = PickleScanner(PickleLimits(**limits))
    scanner.scan(io.BytesIO(pickled))
    return scanner


def test_scanner_sees_a_shared_list_filled_after_it_was_shared():
    """Ten-fold sharing first, then 10 ints into the innermost list."""
    bomb = b"\x80\x02]q\x00"
    for level in range(1, 31):
        bomb += b"](" + (b"h" + bytes([level - 1])) * 10 + b"eq" + bytes([level])
    bomb += b"0h\x00(" + b"K\x00" * 10 + b"e0h\x1e."

    with pytest.raises(Refusal, match="billion laughs"):
        scan(bomb)


def test_scanner_accepts_cycles_and_every_protocol():
    cycle: list = []
    cycle.append(cycle)
    scan(pickle.dumps(cycle, protocol=2))
    payload = {"a": [1, (2, 3)], "b": {4}, "c": frozenset([5]), "d": b"x", "e": None}
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        scan(pickle.dumps(payload, protocol=protocol))


def test_scanner_bounds_opcodes_and_memo_references():
    flat = pickle.dumps(list(range(100)), protocol=2)
    inner = [1]
    shared = pickle.dumps([inner] * 20, protocol=2)

    with pytest.raises(Refusal, match="more than 50 opcodes"):
        scan(flat, max_opcodes=50)
    with pytest.raises(Refusal, match="more than 5 memo references"):
        scan(shared, max_memo_refs=5)
    with pytest.raises(Refusal, match="more than 10 elements"):
        scan(shared, max_elements=10)


def test_scanner_collects_the_storages_a_state_dict_declares():
    torch = pytest.importorskip("torch")
    buffer = io.BytesIO()
    torch.save({"a": torch.ones(2, 3), "b": torch.ones(5, dtype=torch.float64)}, buffer)
    with zipfile.ZipFile(buffer) as archive:
        [name] = [n for n in archive.namelist() if n.endswith("/data.pkl")]
        pickled = archive.read(name)

    storages = scan(pickled).storages

    assert sorted((s.type_name, s.numel, s.nbytes) for s in storages.values()) == [
        ("torch DoubleStorage", 5, 40),
        ("torch FloatStorage", 6, 24),
    ]


@pytest.mark.parametrize(
    "pickled", [b"", b"\x80\x02", b"garbage", b"\x80\x02K\x01a.", b"\x80\x02h\x07."]
)
def test_scanner_calls_a_malformed_pickle_damaged(pickled):
    with pytest.raises(Refusal, match="damaged pickle"):
        scan(pickled)


# --- pictures whose header declares more than the limit ----------------------


def png_declaring(width: int, height: int, colour_type: int = 6) -> bytes:
    """A PNG whose header declares width x height pixels, with 1 KiB of data."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    data = zlib.compress(bytes(1024))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", data)
        + chunk(b"IEND", b"")
    )


def sparse_tiff(folder: Path, name: str, shape: tuple[int, ...]) -> Path:
    """A TIFF declaring `shape` uint8 pixels that takes a few KiB on disk."""
    import tifffile

    path = folder / name
    tifffile.imwrite(path, shape=shape, dtype=np.uint8)
    return path


@pytest.mark.parametrize(
    ("case", "extra"),
    [
        ("image", []),
        ("heatmap picture", []),
        ("volume", ["--spatial-dims", "3"]),
        ("movie frames", []),
        ("png image", []),
    ],
)
def test_pictures_declaring_more_than_the_limit_are_refused_unread(
    tmp_path, case, extra
):
    small = tmp_path / "small.png"
    (tmp_path / "heat.npy").write_bytes(b"")
    np.save(tmp_path / "heat.npy", np.ones((8, 8), dtype=np.float32))
    from PIL import Image

    Image.fromarray(np.full((16, 16), 128, dtype=np.uint8)).save(small)
    heat, output = tmp_path / "heat.npy", tmp_path / "out.png"
    if case == "image":
        image = refused = sparse_tiff(tmp_path, "slide.tif", (60000, 60000))
    elif case == "heatmap picture":
        image, heat = small, sparse_tiff(tmp_path, "map.tif", (60000, 60000))
        refused = heat
    elif case == "volume":
        image = refused = sparse_tiff(tmp_path, "stack.tif", (400, 2000, 2000))
        np.save(heat, np.ones((4, 8, 8), dtype=np.float32))
        output = tmp_path / "out.tif"
    elif case == "movie frames":
        image = refused = sparse_tiff(tmp_path, "frames.tif", (3, 20000, 20000))
        np.save(heat, np.ones((3, 8, 8), dtype=np.float32))
        output = tmp_path / "out.gif"
    else:  # under Pillow's own 179-million-pixel guard: 645 MiB of RGBA
        image = refused = tmp_path / "wide.png"
        image.write_bytes(png_declaring(13000, 13000))
    command = [sys.executable, "-m", "napari_heatoverlay", image, heat, "-o", output]
    command += extra

    [cli] = run_children(
        [[str(part) for part in command]],
        tmp_path,
        child_env(HEATOVERLAY_MAX_BYTES="256M"),
    )

    assert_bounded(cli)
    assert cli.peak_rss < 200 * 2**20, f"{cli.peak_rss / 2**20:.0f} MiB"
    assert cli.returncode == 1, cli.stderr
    [line] = cli.stderr_lines
    assert line.startswith(
        f"heatoverlay: error: Cannot read {refused}: its header declares"
    ), line
    assert "over the limit of 256.0 MiB (HEATOVERLAY_MAX_BYTES=256M)" in line
    assert not output.exists()


def test_a_picture_over_pillows_guard_but_within_the_limit_is_read(tmp_path):
    """Pillow refuses pictures over ~179 million pixels on any machine; the
    byte limit decides instead (182 MB of grey here)."""
    from PIL import Image

    from napari_heatoverlay.io.images import read_image

    path = tmp_path / "big.png"
    Image.new("L", (13500, 13500), 7).save(path)
    pixels = read_image(path)
    assert pixels.shape == (13500, 13500)
    assert pixels[-1, -1] == 7
    assert Image.MAX_IMAGE_PIXELS is not None  # the guard is back for others
