"""Tests for napari_heatoverlay.io.features: real files on disk, no mocks."""

import io
import os
import pickle
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from napari_heatoverlay.io.features import (
    FEATURE_SUFFIXES,
    FeatureFileError,
    is_feature_file,
    read_feature_arrays,
)


class MarkerPayload:
    """Unpickling this creates `marker`: proof that a loader ran file code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def save_safetensors(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    from safetensors.numpy import save_file

    save_file(arrays, str(path))
    return path


def save_torch(path: Path, payload, **kwargs) -> Path:
    torch = pytest.importorskip("torch")
    torch.save(payload, path, **kwargs)
    return path


def torch_tensor(array: np.ndarray, dtype: str | None = None):
    torch = pytest.importorskip("torch")
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    return tensor if dtype is None else tensor.to(getattr(torch, dtype))


def by_name(features):
    return {feature.name: feature for feature in features}


# --- round trips ---------------------------------------------------------


def test_npy_round_trip(tmp_path):
    heat = np.random.default_rng(0).random((3, 16, 20), dtype=np.float32)
    path = tmp_path / "layer3.npy"
    np.save(path, heat)

    [feature] = read_feature_arrays(path)

    assert feature.name == "layer3"
    assert feature.key is None
    assert feature.source == path
    assert feature.layout == "CHW"
    assert feature.original_shape == (3, 16, 20)
    np.testing.assert_array_equal(feature.data, heat)


def test_npy_is_memory_mapped_read_only_and_squeezed_lazily(tmp_path):
    path = tmp_path / "layer4.npy"
    np.save(path, np.ones((1, 256, 32, 96), dtype=np.float32))

    [feature] = read_feature_arrays(str(path))

    assert feature.data.shape == (256, 32, 96)
    assert isinstance(feature.data, np.memmap)
    assert Path(feature.data.filename) == path.resolve()
    assert not feature.data.flags.writeable
    assert not feature.data.flags.owndata


def test_npz_gives_one_feature_per_key_in_file_order(tmp_path):
    arrays = {
        "stem": np.arange(2 * 8 * 8, dtype=np.float32).reshape(2, 8, 8),
        "layer1": np.ones((1, 4, 6, 6), dtype=np.float64),
        "logits": np.zeros((5, 7), dtype=np.int16),
    }
    path = tmp_path / "feats.npz"
    np.savez(path, **arrays)

    features = read_feature_arrays(path)

    assert [f.name for f in features] == ["feats:stem", "feats:layer1", "feats:logits"]
    assert [f.key for f in features] == ["stem", "layer1", "logits"]
    assert [f.layout for f in features] == ["CHW", "NCHW", "HW"]
    assert [f.data.shape for f in features] == [(2, 8, 8), (4, 6, 6), (5, 7)]
    for feature in features:
        np.testing.assert_array_equal(
            feature.data, arrays[feature.key].reshape(feature.data.shape)
        )


def test_compressed_npz_is_read(tmp_path):
    path = tmp_path / "small.npz"
    np.savez_compressed(path, heat=np.eye(6))

    [feature] = read_feature_arrays(path)

    np.testing.assert_array_equal(feature.data, np.eye(6))


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".PT"])
def test_plain_tensor_file_gives_one_feature_named_after_the_file(tmp_path, suffix):
    heat = np.random.default_rng(1).random((1, 8, 12, 16), dtype=np.float32)
    path = save_torch(tmp_path / f"act{suffix}", torch_tensor(heat))

    [feature] = read_feature_arrays(path)

    assert feature.name == "act"
    assert feature.key is None
    assert feature.layout == "NCHW"
    assert feature.original_shape == (1, 8, 12, 16)
    np.testing.assert_array_equal(feature.data, heat[0])


def test_legacy_torch_format_is_read(tmp_path):
    heat = np.arange(12, dtype=np.float32).reshape(3, 4)
    path = save_torch(
        tmp_path / "old.pt", torch_tensor(heat), _use_new_zipfile_serialization=False
    )

    [feature] = read_feature_arrays(path)

    np.testing.assert_array_equal(feature.data, heat)


def test_state_dict_is_flattened_skipping_non_arrays_and_small_tensors(tmp_path):
    conv = np.random.default_rng(2).random((1, 16, 8, 8), dtype=np.float32)
    # bfloat16 keeps 8 mantissa bits: these values survive the round trip
    coarse = np.array([[0.5, 1.0, -2.0], [3.0, 0.25, 8.0]], dtype=np.float32)
    payload = {
        "backbone": {
            "conv1": {
                "weight": torch_tensor(conv),
                "bias": torch_tensor(conv[0, :, 0, 0]),
            },
            "bn1": {"num_batches_tracked": torch_tensor(np.array(7))},
        },
        "heads": [torch_tensor(coarse, "bfloat16"), (torch_tensor(np.eye(4)),)],
        "epoch": 12,
        "arch": "resnet18",
    }
    path = save_torch(tmp_path / "ckpt.pt", payload)

    features = by_name(read_feature_arrays(path))

    assert list(features) == [
        "ckpt:backbone.conv1.weight",
        "ckpt:heads.0",
        "ckpt:heads.1.0",
    ]
    weight = features["ckpt:backbone.conv1.weight"]
    assert weight.key == "backbone.conv1.weight"
    assert (weight.layout, weight.data.shape) == ("NCHW", (16, 8, 8))
    np.testing.assert_array_equal(weight.data, conv[0])
    bf16 = features["ckpt:heads.0"]
    assert bf16.data.dtype == np.float32
    np.testing.assert_array_equal(bf16.data, coarse)


def test_safetensors_gives_one_feature_per_key(tmp_path):
    arrays = {
        "encoder.stage1": np.ones((1, 3, 4, 5), dtype=np.float32),
        "attn": np.arange(30, dtype=np.int32).reshape(5, 6),
        "mask": np.eye(3, dtype=bool),
    }
    path = save_safetensors(tmp_path / "vit.safetensors", arrays)

    features = by_name(read_feature_arrays(path))

    assert sorted(features) == ["vit:attn", "vit:encoder.stage1", "vit:mask"]
    assert features["vit:encoder.stage1"].data.shape == (3, 4, 5)
    assert features["vit:encoder.stage1"].layout == "NCHW"
    np.testing.assert_array_equal(features["vit:attn"].data, arrays["attn"])
    assert features["vit:mask"].data.dtype == np.uint8
    np.testing.assert_array_equal(features["vit:mask"].data, np.eye(3))


def test_bfloat16_safetensors_become_float32(tmp_path):
    pytest.importorskip("torch")
    from safetensors.torch import save_file

    values = np.array([[1.5, -0.75], [4.0, 0.0]], dtype=np.float32)
    path = tmp_path / "bf16.safetensors"
    save_file({"heat": torch_tensor(values, "bfloat16")}, str(path))

    [feature] = read_feature_arrays(path)

    assert feature.data.dtype == np.float32
    np.testing.assert_array_equal(feature.data, values)


# --- squeeze rules and dtypes ---------------------------------------------


@pytest.mark.parametrize(
    ("shape", "squeezed", "layout"),
    [
        ((1, 256, 32, 96), (256, 32, 96), "NCHW"),
        ((2, 3, 8, 8), (2, 3, 8, 8), "NCHW"),
        ((1, 1, 8, 8), (8, 8), "NCHW"),
        ((2, 1, 8, 8), (2, 1, 8, 8), "NCHW"),
        ((1, 8), (1, 8), "HW"),
        ((1, 1, 1, 8), (1, 8), "NCHW"),
        ((8, 1), (8, 1), "HW"),
        ((1, 2, 3, 4, 5), (2, 3, 4, 5), "NCDHW"),
        ((1, 1, 2, 3, 4, 5), (2, 3, 4, 5), "?NCDHW"),
    ],
)
def test_leading_singleton_axes_are_squeezed_never_below_2d(
    tmp_path, shape, squeezed, layout
):
    path = tmp_path / "heat.npy"
    np.save(path, np.zeros(shape, dtype=np.float32))

    [feature] = read_feature_arrays(path)

    assert feature.data.shape == squeezed
    assert feature.original_shape == shape
    assert feature.layout == layout


def test_bool_array_is_viewed_as_uint8_without_copy(tmp_path):
    mask = np.zeros((1, 4, 4), dtype=bool)
    mask[0, 1:3, 1:3] = True
    path = tmp_path / "mask.npy"
    np.save(path, mask)

    [feature] = read_feature_arrays(path)

    assert feature.data.dtype == np.uint8
    assert isinstance(feature.data, np.memmap)
    np.testing.assert_array_equal(feature.data, mask[0].astype(np.uint8))


@pytest.mark.parametrize("dtype", [np.float16, np.float64, np.int8, np.uint16])
def test_numeric_dtypes_are_kept(tmp_path, dtype):
    path = tmp_path / "heat.npy"
    np.save(path, np.ones((4, 4), dtype=dtype))

    [feature] = read_feature_arrays(path)

    assert feature.data.dtype == dtype


def test_complex_array_is_refused_with_a_way_out(tmp_path):
    path = tmp_path / "spectrum.npy"
    np.save(path, np.ones((4, 4), dtype=np.complex64))

    with pytest.raises(FeatureFileError, match=r"complex.*numpy\.abs"):
        read_feature_arrays(path)


def test_string_array_is_refused(tmp_path):
    path = tmp_path / "labels.npz"
    np.savez(path, names=np.array([["a", "b"], ["c", "d"]]))

    with pytest.raises(FeatureFileError, match="not numeric"):
        read_feature_arrays(path)


def test_complex_tensor_is_refused(tmp_path):
    path = save_torch(
        tmp_path / "fft.pt", {"spectrum": torch_tensor(np.ones((4, 4), np.complex64))}
    )

    with pytest.raises(FeatureFileError, match="'spectrum' is complex"):
        read_feature_arrays(path)


# --- empty files and files without usable arrays ----------------------------


@pytest.mark.parametrize("shape", [(0, 8), (2, 0, 4), (8,), ()])
def test_npy_without_a_2d_nonempty_array_is_refused(tmp_path, shape):
    path = tmp_path / "empty.npy"
    np.save(path, np.zeros(shape, dtype=np.float32))

    with pytest.raises(FeatureFileError, match=r"at least 2 dimensions.*reshape"):
        read_feature_arrays(path)


def test_npz_with_only_empty_arrays_is_refused(tmp_path):
    path = tmp_path / "empty.npz"
    np.savez(path, a=np.empty((0, 3)), b=np.empty((4, 0)))

    with pytest.raises(FeatureFileError, match=r"'a' with shape \(0, 3\)"):
        read_feature_arrays(path)


def test_torch_file_without_any_tensor_is_refused(tmp_path):
    path = save_torch(tmp_path / "meta.pt", {"epoch": 3, "arch": "resnet"})

    with pytest.raises(FeatureFileError, match="contains no arrays or tensors"):
        read_feature_arrays(path)


def test_safetensors_without_any_tensor_is_refused(tmp_path):
    path = save_safetensors(tmp_path / "nothing.safetensors", {})

    with pytest.raises(FeatureFileError, match="contains no arrays or tensors"):
        read_feature_arrays(path)


# --- safety: never unpickle -------------------------------------------------


def test_marker_payload_runs_code_when_unpickled(tmp_path):
    """The payload below is live: unsafe unpickling does create the marker."""
    marker = tmp_path / "marker"

    pickle.loads(pickle.dumps(MarkerPayload(marker))).close()

    assert marker.exists()


def _object_npy(path, marker):
    np.save(path, np.array([MarkerPayload(marker)], dtype=object), allow_pickle=True)


def _object_npz(path, marker):
    np.savez(
        path,
        heat=np.ones((4, 4)),
        evil=np.array([MarkerPayload(marker)], dtype=object),
    )


def _payload_pt(path, marker):
    save_torch(
        path, {"heat": torch_tensor(np.ones((4, 4))), "evil": MarkerPayload(marker)}
    )


def _raw_pickle(path, marker):
    path.write_bytes(pickle.dumps(MarkerPayload(marker)))


@pytest.mark.parametrize(
    ("write", "name"),
    [
        (_object_npy, "evil.npy"),
        (_object_npz, "evil.npz"),
        (_payload_pt, "evil.pt"),
        (_raw_pickle, "raw.npy"),
        (_raw_pickle, "raw.npz"),
        (_raw_pickle, "raw.pt"),
        (_raw_pickle, "raw.pth"),
        (_raw_pickle, "raw.safetensors"),
    ],
)
def test_pickled_payload_is_refused_without_running_it(tmp_path, write, name):
    marker = tmp_path / "marker"
    path = tmp_path / name
    write(path, marker)

    with pytest.raises(FeatureFileError) as caught:
        read_feature_arrays(path)

    assert not marker.exists()
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("write", "name"), [(_object_npy, "evil.npy"), (_object_npz, "evil.npz")]
)
def test_object_arrays_are_refused_as_pickles(tmp_path, write, name):
    path = tmp_path / name
    write(path, tmp_path / "marker")

    with pytest.raises(FeatureFileError, match="never unpickles"):
        read_feature_arrays(path)


def test_torch_payload_refusal_explains_the_way_out(tmp_path):
    path = tmp_path / "evil.pt"
    _payload_pt(path, tmp_path / "marker")

    with pytest.raises(FeatureFileError, match=r"never unpickles.*state_dict"):
        read_feature_arrays(path)


# --- damaged files --------------------------------------------------------


def _valid_npy(path):
    np.save(path, np.ones((1, 4, 16, 16), dtype=np.float32))


def _valid_npz(path):
    np.savez(path, a=np.ones((4, 16, 16)), b=np.zeros((8, 8)))


def _valid_pt(path):
    save_torch(path, {"a": torch_tensor(np.ones((4, 16, 16), np.float32))})


def _valid_legacy_pt(path):
    save_torch(
        path,
        torch_tensor(np.ones((4, 16, 16), np.float32)),
        _use_new_zipfile_serialization=False,
    )


def _valid_safetensors(path):
    save_safetensors(path, {"a": np.ones((4, 16, 16), np.float32)})


def _cut_a_few_bytes(data: bytes) -> bytes:
    return data[:-7]


def _cut_half_add_garbage(data: bytes) -> bytes:
    return data[: len(data) // 2] + np.random.default_rng(3).bytes(16)


def _garbage(data: bytes) -> bytes:
    return np.random.default_rng(4).bytes(len(data))


def _nothing(data: bytes) -> bytes:
    return b""


@pytest.mark.parametrize(
    "damage", [_cut_a_few_bytes, _cut_half_add_garbage, _garbage, _nothing]
)
@pytest.mark.parametrize(
    ("write", "suffix"),
    [
        (_valid_npy, ".npy"),
        (_valid_npz, ".npz"),
        (_valid_pt, ".pt"),
        (_valid_legacy_pt, ".pth"),
        (_valid_safetensors, ".safetensors"),
    ],
)
def test_damaged_file_gives_a_clear_error(tmp_path, write, suffix, damage):
    path = tmp_path / f"features{suffix}"
    write(path)
    assert read_feature_arrays(path)  # the undamaged file is fine
    path.write_bytes(damage(path.read_bytes()))

    with pytest.raises(FeatureFileError) as caught:
        read_feature_arrays(path)

    message = str(caught.value)
    assert message.startswith(f"Cannot read {path}: ")
    assert "corrupt" in message


# --- optional dependencies ---------------------------------------------------


def test_missing_torch_names_the_extra(tmp_path, monkeypatch):
    path = save_torch(tmp_path / "act.pt", torch_tensor(np.ones((4, 4))))
    monkeypatch.setitem(sys.modules, "torch", None)

    with pytest.raises(FeatureFileError) as caught:
        read_feature_arrays(path)

    assert 'pip install "napari-heatoverlay[torch]"' in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_safetensors_names_the_extra(tmp_path, monkeypatch):
    path = save_safetensors(tmp_path / "vit.safetensors", {"a": np.ones((4, 4))})
    monkeypatch.setitem(sys.modules, "safetensors", None)

    with pytest.raises(FeatureFileError) as caught:
        read_feature_arrays(path)

    assert 'pip install "napari-heatoverlay[safetensors]"' in str(caught.value)


def test_bfloat16_safetensors_without_torch_names_the_torch_extra(
    tmp_path, monkeypatch
):
    pytest.importorskip("torch")
    from safetensors.torch import save_file

    path = tmp_path / "bf16.safetensors"
    save_file(
        {"heat": torch_tensor(np.ones((4, 4), np.float32), "bfloat16")}, str(path)
    )
    monkeypatch.setitem(sys.modules, "torch", None)

    with pytest.raises(FeatureFileError, match=r"BF16.*napari-heatoverlay\[torch\]"):
        read_feature_arrays(path)


# --- paths -----------------------------------------------------------------


def test_unsupported_suffix_is_refused_with_the_accepted_list(tmp_path):
    path = tmp_path / "heat.tif"
    path.write_bytes(b"II*\x00")

    with pytest.raises(FeatureFileError, match=r"\.npy, \.npz, \.pt, \.pth"):
        read_feature_arrays(path)


def test_missing_file_and_folder_are_refused(tmp_path):
    folder = tmp_path / "features.npy"
    folder.mkdir()

    with pytest.raises(FeatureFileError, match="no such file"):
        read_feature_arrays(tmp_path / "absent.npy")
    with pytest.raises(FeatureFileError, match="folder"):
        read_feature_arrays(folder)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.npy", True),
        ("a.NPZ", True),
        ("model.Pth", True),
        ("x.pt", True),
        ("w.safetensors", True),
        ("a.npy.bak", False),
        ("image.png", False),
        ("npy", False),
    ],
)
def test_is_feature_file_checks_the_suffix_case_insensitively(name, expected):
    assert is_feature_file(name) is expected
    assert is_feature_file(Path(name)) is expected


def test_feature_suffixes():
    assert FEATURE_SUFFIXES == (".npy", ".npz", ".pt", ".pth", ".safetensors")


@pytest.mark.parametrize(
    ("write", "suffix"),
    [
        (_valid_npy, ".npy"),
        (_valid_npz, ".npz"),
        (_valid_pt, ".pt"),
        (_valid_legacy_pt, ".pth"),
        (_valid_safetensors, ".safetensors"),
    ],
)
def test_reading_leaves_the_file_untouched(tmp_path, write, suffix):
    path = tmp_path / f"features{suffix}"
    write(path)
    os.chmod(path, 0o444)
    before = (path.read_bytes(), path.stat().st_mtime_ns)

    features = read_feature_arrays(path)
    assert all(np.isfinite(feature.data).all() for feature in features)

    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


# --- the byte limit -----------------------------------------------------------


def test_max_bytes_refuses_a_file_before_reading_it_and_says_how_to_raise(tmp_path):
    path = tmp_path / "big.npz"
    np.savez(path, heat=np.zeros((64, 64)))  # 32 KiB of float64

    with pytest.raises(FeatureFileError) as caught:
        read_feature_arrays(path, max_bytes=16 * 1024)

    message = str(caught.value)
    assert message.startswith(f"Cannot read {path}: reading it would allocate")
    assert "32.0 KiB" in message
    assert "over the limit of 16.0 KiB (max_bytes=)" in message
    assert "HEATOVERLAY_MAX_BYTES" in message
    assert "max_bytes=" in message
    [feature] = read_feature_arrays(path, max_bytes=64 * 1024)
    assert feature.data.shape == (64, 64)


def test_the_environment_variable_sets_the_limit(tmp_path, monkeypatch):
    path = tmp_path / "big.npz"
    np.savez(path, heat=np.zeros((64, 64)))
    monkeypatch.setenv("HEATOVERLAY_MAX_BYTES", "16K")

    with pytest.raises(FeatureFileError, match=r"\(HEATOVERLAY_MAX_BYTES=16K\)"):
        read_feature_arrays(path)
    assert read_feature_arrays(path, max_bytes=2**20)  # the argument wins


@pytest.mark.parametrize("value", ["lots", "-5", "0", "12 parsecs"])
def test_a_malformed_environment_limit_is_named(tmp_path, monkeypatch, value):
    path = tmp_path / "heat.npy"
    np.save(path, np.ones((4, 4)))
    monkeypatch.setenv("HEATOVERLAY_MAX_BYTES", value)

    with pytest.raises(FeatureFileError, match=r"HEATOVERLAY_MAX_BYTES=.* not a size"):
        read_feature_arrays(path)


@pytest.mark.parametrize(
    ("max_bytes", "error"), [(0, ValueError), (-1, ValueError), (1.5, TypeError)]
)
def test_max_bytes_must_be_a_positive_whole_number(tmp_path, max_bytes, error):
    path = tmp_path / "heat.npy"
    np.save(path, np.ones((4, 4)))

    with pytest.raises(error, match="max_bytes"):
        read_feature_arrays(path, max_bytes=max_bytes)


def test_memory_mapped_npy_costs_nothing_against_the_limit(tmp_path):
    path = tmp_path / "heat.npy"
    np.save(path, np.ones((256, 256), dtype=np.float32))

    [feature] = read_feature_arrays(path, max_bytes=1)

    assert isinstance(feature.data, np.memmap)


def test_safetensors_count_every_tensor_against_the_limit(tmp_path):
    path = save_safetensors(
        tmp_path / "two.safetensors",
        {"a": np.ones((32, 32), np.float32), "b": np.ones((32, 32), np.float32)},
    )

    with pytest.raises(FeatureFileError, match=r"counted up to tensor 'b'"):
        read_feature_arrays(path, max_bytes=6000)
    assert len(read_feature_arrays(path, max_bytes=8192)) == 2


def test_expanded_tensor_counts_as_large_as_its_shape(tmp_path):
    torch = pytest.importorskip("torch")
    path = save_torch(tmp_path / "wide.pt", {"heat": torch.ones(1).expand(64, 64)})

    [feature] = read_feature_arrays(path)
    assert feature.data.shape == (64, 64)
    with pytest.raises(FeatureFileError, match=r"at least 16\.[0-9] KiB.*'heat'"):
        read_feature_arrays(path, max_bytes=8192)


# --- .npz members read without np.load ------------------------------------------


def test_npz_members_keep_order_byte_order_and_memory_layout(tmp_path):
    rng = np.random.default_rng(5)
    arrays = {
        "fortran": np.asfortranarray(rng.random((3, 5, 7))),
        "big_endian": rng.random((4, 6)).astype(">f4"),
        "ints": np.arange(12, dtype=np.int16).reshape(3, 4),
    }
    for save in (np.savez, np.savez_compressed):
        path = tmp_path / f"{save.__name__}.npz"
        save(path, **arrays)

        features = read_feature_arrays(path)

        assert [f.key for f in features] == list(arrays)
        for feature in features:
            np.testing.assert_array_equal(feature.data, arrays[feature.key])
            assert feature.data.dtype == arrays[feature.key].dtype


def test_large_compressed_npz_member_is_inflated_in_chunks(tmp_path):
    heat = np.random.default_rng(6).integers(0, 4, (1024, 1536), dtype=np.uint8)
    path = tmp_path / "large.npz"
    np.savez_compressed(path, heat=heat)

    [feature] = read_feature_arrays(path)

    np.testing.assert_array_equal(feature.data, heat)


def test_npz_entries_that_cannot_be_heatmaps_are_not_read(tmp_path):
    path = tmp_path / "mixed.npz"
    np.savez(path, names=np.array(["a", "b"]), heat=np.eye(3), bias=np.ones(3))
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("README.txt", "not an array")

    [feature] = read_feature_arrays(path)

    assert feature.key == "heat"


def test_npz_member_whose_header_disagrees_with_its_size_is_refused(tmp_path):
    path = tmp_path / "padded.npz"
    buffer = io.BytesIO()
    np.save(buffer, np.ones((4, 4), dtype=np.float32))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("heat.npy", buffer.getvalue() + b"extra")

    with pytest.raises(FeatureFileError, match=r"member holds .* bytes.*corrupt"):
        read_feature_arrays(path)


def test_npz_with_a_member_twice_is_refused(tmp_path):
    path = tmp_path / "twice.npz"
    buffer = io.BytesIO()
    np.save(buffer, np.ones((4, 4)))
    with (
        pytest.warns(UserWarning, match="Duplicate name"),
        zipfile.ZipFile(path, "w") as archive,
    ):
        archive.writestr("heat.npy", buffer.getvalue())
        archive.writestr("heat.npy", buffer.getvalue())

    with pytest.raises(FeatureFileError, match="appears twice"):
        read_feature_arrays(path)


# --- torch payloads: bounded walk, dtypes ----------------------------------------


def test_shared_containers_are_walked_once(tmp_path):
    shared = [torch_tensor(np.ones((4, 4), np.float32))]
    path = save_torch(tmp_path / "shared.pt", {"a": shared, "b": shared})

    assert [f.key for f in read_feature_arrays(path)] == ["a.0"]


def test_a_tensor_under_two_keys_is_listed_under_both(tmp_path):
    tensor = torch_tensor(np.ones((4, 4), np.float32))
    path = save_torch(tmp_path / "tied.pt", {"encoder": tensor, "decoder": tensor})

    assert [f.key for f in read_feature_arrays(path)] == ["encoder", "decoder"]


def test_the_walk_of_a_payload_is_bounded_in_depth_and_size():
    from napari_heatoverlay.io.features import _flatten
    from napari_heatoverlay.io.picklescan import PickleLimits
    from napari_heatoverlay.io.refusal import Refusal

    deep: list = []
    for _ in range(10_000):
        deep = [deep]
    with pytest.raises(Refusal, match="more than 100 deep"):
        list(_flatten(deep))

    laughs: list = [0] * 10
    for _ in range(30):
        laughs = [laughs] * 10  # 10**31 leaves if walked naively
    assert len(list(_flatten(laughs))) == 10

    with pytest.raises(Refusal, match="more than 50 nested entries"):
        list(_flatten(list(range(51)), PickleLimits(max_elements=50)))


@pytest.mark.parametrize("dtype", ["float8_e4m3fn", "float8_e5m2"])
def test_float8_tensor_is_refused_with_a_way_out(tmp_path, dtype):
    torch = pytest.importorskip("torch")
    tensor = torch.zeros(4, 4).to(getattr(torch, dtype))
    path = save_torch(tmp_path / "f8.pt", {"heat": tensor})

    with pytest.raises(
        FeatureFileError, match=rf"'heat' has dtype torch\.{dtype}.*float16 or float32"
    ):
        read_feature_arrays(path)


def test_float8_bias_is_skipped_not_refused(tmp_path):
    torch = pytest.importorskip("torch")
    payload = {
        "heat": torch.ones(4, 4),
        "scale": torch.ones(4).to(torch.float8_e4m3fn),
    }
    path = save_torch(tmp_path / "mixed.pt", payload)

    assert [f.key for f in read_feature_arrays(path)] == ["heat"]


def test_mixed_bfloat16_and_float32_safetensors_keep_sorted_order(tmp_path):
    pytest.importorskip("torch")
    from safetensors.torch import save_file

    save_file(
        {
            "b_bf16": torch_tensor(np.full((2, 2), 2.0, np.float32), "bfloat16"),
            "a_f32": torch_tensor(np.ones((2, 2), np.float32)),
            "c_bf16": torch_tensor(np.full((2, 2), 3.0, np.float32), "bfloat16"),
        },
        str(tmp_path / "mixed.safetensors"),
    )

    features = read_feature_arrays(tmp_path / "mixed.safetensors")

    assert [(f.key, f.data.dtype, f.data[0, 0]) for f in features] == [
        ("a_f32", np.float32, 1.0),
        ("b_bf16", np.float32, 2.0),
        ("c_bf16", np.float32, 3.0),
    ]


@pytest.mark.parametrize("layout", ["zip", "legacy"])
def test_large_state_dict_passes_the_pickle_scan(tmp_path, layout):
    torch = pytest.importorskip("torch")
    payload = {f"layer{index}.weight": torch.ones(2, 2) for index in range(2_000)}
    path = save_torch(
        tmp_path / "big.pt",
        payload,
        _use_new_zipfile_serialization=layout == "zip",
    )

    assert len(read_feature_arrays(path)) == 2_000


# --- what is not a regular file ---------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_a_broken_symlink_is_named(tmp_path):
    path = tmp_path / "heat.npy"
    path.symlink_to(tmp_path / "gone.npy")

    with pytest.raises(FeatureFileError, match=r"broken symbolic link to .*gone\.npy"):
        read_feature_arrays(path)
