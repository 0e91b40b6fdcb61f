"""Tests for the npe2 reader, through a real napari viewer."""

import importlib.util
import pickle

import numpy as np
import pytest
from napari.errors import ReaderPluginError

from napari_heatoverlay.io.features import FeatureFileError
from napari_heatoverlay.plugin.reader import get_reader, read_heatmap_layers

PLUGIN = "napari-heatoverlay"
needs_torch = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None, reason="torch is not installed"
)


class MarkerPayload:
    """Unpickling this creates `marker`: proof that a loader ran file code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def assert_heatmap_layer(layer, path, key, layout, original_shape):
    assert layer.colormap.name == "inferno"
    assert layer.opacity == pytest.approx(0.6)
    assert layer.blending == "translucent"
    assert not layer.rgb
    assert layer.metadata["heatoverlay"] == {
        "role": "heatmap",
        "source": str(path),
        "key": key,
        "layout": layout,
        "original_shape": original_shape,
    }


# --- get_reader ------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["a.npy", "a.npz", "a.pt", "a.pth", "a.safetensors", "A.NPY"]
)
def test_get_reader_accepts_feature_files(tmp_path, name):
    assert get_reader(str(tmp_path / name)) is read_heatmap_layers


def test_get_reader_accepts_a_list_of_feature_files(tmp_path):
    paths = [str(tmp_path / "a.npy"), str(tmp_path / "b.pt")]

    assert get_reader(paths) is read_heatmap_layers


def test_get_reader_returns_none_for_what_it_cannot_read(tmp_path):
    folder = tmp_path / "features.npy"
    folder.mkdir()

    assert get_reader(str(tmp_path / "image.png")) is None
    assert get_reader(str(tmp_path / "features.npy.bak")) is None
    assert get_reader([str(tmp_path / "a.npy"), str(tmp_path / "notes.txt")]) is None
    assert get_reader(str(folder)) is None
    assert get_reader([]) is None


# --- viewer.open ------------------------------------------------------------


def test_open_npy_with_leading_singleton_gives_a_channel_slider(
    make_napari_viewer, tmp_path
):
    path = tmp_path / "layer4.npy"
    np.save(path, np.random.default_rng(0).random((1, 256, 32, 96), dtype=np.float32))
    viewer = make_napari_viewer()

    [layer] = viewer.open(path, plugin=PLUGIN)

    assert layer.name == "layer4"
    assert layer.ndim == 3
    assert layer.data.shape == (256, 32, 96)
    assert viewer.dims.nsteps[0] == 256
    assert_heatmap_layer(layer, path, None, "NCHW", (1, 256, 32, 96))


def test_open_npz_gives_one_layer_per_key(make_napari_viewer, tmp_path):
    path = tmp_path / "feats.npz"
    np.savez(path, stem=np.ones((2, 3, 8, 8)), logits=np.zeros((5, 7)))
    viewer = make_napari_viewer()

    layers = viewer.open(str(path), plugin=PLUGIN)

    assert [layer.name for layer in layers] == ["feats:stem", "feats:logits"]
    assert [layer.data.shape for layer in layers] == [(2, 3, 8, 8), (5, 7)]
    assert_heatmap_layer(layers[0], path, "stem", "NCHW", (2, 3, 8, 8))
    assert_heatmap_layer(layers[1], path, "logits", "HW", (5, 7))


@pytest.mark.parametrize("suffix", [".pt", ".pth"])
def test_open_torch_state_dict(make_napari_viewer, tmp_path, suffix):
    torch = pytest.importorskip("torch")
    path = tmp_path / f"ckpt{suffix}"
    torch.save(
        {
            "backbone": {"conv": torch.ones(1, 4, 6, 6), "bias": torch.ones(4)},
            "bf16": torch.full((3, 5), 0.5, dtype=torch.bfloat16),
            "epoch": 3,
        },
        path,
    )
    viewer = make_napari_viewer()

    layers = viewer.open(path, plugin=PLUGIN)

    assert [layer.name for layer in layers] == ["ckpt:backbone.conv", "ckpt:bf16"]
    assert layers[0].data.shape == (4, 6, 6)
    assert layers[1].data.dtype == np.float32
    assert_heatmap_layer(layers[0], path, "backbone.conv", "NCHW", (1, 4, 6, 6))


def test_open_plain_tensor(make_napari_viewer, tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "act.pt"
    torch.save(torch.zeros(2, 3, 8, 8), path)
    viewer = make_napari_viewer()

    [layer] = viewer.open(path, plugin=PLUGIN)

    assert layer.name == "act"
    assert layer.data.shape == (2, 3, 8, 8)
    assert_heatmap_layer(layer, path, None, "NCHW", (2, 3, 8, 8))


def test_open_safetensors(make_napari_viewer, tmp_path):
    from safetensors.numpy import save_file

    path = tmp_path / "vit.safetensors"
    save_file(
        {"attn": np.ones((6, 14, 14), np.float32), "cls": np.ones((1, 1, 4, 4))},
        str(path),
    )
    viewer = make_napari_viewer()

    layers = viewer.open(path, plugin=PLUGIN)

    assert [layer.name for layer in layers] == ["vit:attn", "vit:cls"]
    assert [layer.data.shape for layer in layers] == [(6, 14, 14), (4, 4)]
    assert_heatmap_layer(layers[1], path, "cls", "NCHW", (1, 1, 4, 4))


def test_narrow_last_axis_is_not_taken_for_rgb(make_napari_viewer, tmp_path):
    path = tmp_path / "narrow.npy"
    np.save(path, np.ones((4, 5, 3), dtype=np.float32))
    viewer = make_napari_viewer()

    [layer] = viewer.open(path, plugin=PLUGIN)

    assert not layer.rgb
    assert layer.ndim == 3


def test_open_a_stack_of_paths_gives_one_list_of_layers(make_napari_viewer, tmp_path):
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    np.savez(first, x=np.ones((4, 4)))
    np.savez(second, x=np.ones((3, 3)), y=np.ones((2, 2)))
    viewer = make_napari_viewer()

    layers = viewer.open([first, second], stack=True, plugin=PLUGIN)

    assert [layer.name for layer in layers] == ["a:x", "b:x", "b:y"]
    assert layers[0].metadata["heatoverlay"]["source"] == str(first)


# --- broken files -----------------------------------------------------------


def _truncated_npy(path):
    np.save(path, np.ones((1, 8, 16, 16), dtype=np.float32))
    path.write_bytes(path.read_bytes()[:-5])


def _object_npy(path):
    marker = path.with_name("marker")
    np.save(path, np.array([MarkerPayload(marker)], dtype=object), allow_pickle=True)


def _pickled_pt(path):
    path.write_bytes(pickle.dumps({"heat": MarkerPayload(path.with_name("marker"))}))


def _truncated_safetensors(path):
    from safetensors.numpy import save_file

    save_file({"a": np.ones((4, 4), np.float32)}, str(path))
    path.write_bytes(path.read_bytes()[:-5])


@pytest.mark.parametrize(
    ("write", "name", "problem"),
    [
        (_truncated_npy, "broken.npy", "truncated"),
        (_object_npy, "evil.npy", "never unpickles"),
        pytest.param(_pickled_pt, "evil.pt", "never unpickles", marks=needs_torch),
        (_truncated_safetensors, "broken.safetensors", "corrupt"),
    ],
)
def test_broken_file_raises_a_clear_error_and_adds_no_layer(
    make_napari_viewer, tmp_path, write, name, problem
):
    path = tmp_path / name
    write(path)
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((16, 16)), name="photo")

    with pytest.raises(FeatureFileError, match=problem) as caught:
        viewer.open(path, plugin=PLUGIN)

    assert str(path) in str(caught.value)
    assert [layer.name for layer in viewer.layers] == ["photo"]
    assert not (tmp_path / "marker").exists()


def test_broken_file_in_a_stack_adds_no_layer_at_all(make_napari_viewer, tmp_path):
    good, broken = tmp_path / "good.npy", tmp_path / "broken.npy"
    np.save(good, np.ones((4, 4)))
    _truncated_npy(broken)
    viewer = make_napari_viewer()

    with pytest.raises(FeatureFileError, match="truncated"):
        viewer.open([good, broken], stack=True, plugin=PLUGIN)

    assert len(viewer.layers) == 0


def test_error_reaches_the_user_when_napari_picks_the_reader(
    make_napari_viewer, tmp_path
):
    """With plugin=None (as for drag and drop), napari wraps our message."""
    path = tmp_path / "broken.safetensors"
    _truncated_safetensors(path)
    viewer = make_napari_viewer()

    with pytest.raises(ReaderPluginError) as caught:
        viewer.open(path, plugin=None)

    assert f"Cannot read {path}" in str(caught.value)
    assert len(viewer.layers) == 0


def test_a_broken_member_of_a_file_adds_no_layer_from_it(make_napari_viewer, tmp_path):
    """One file is all or nothing: a good array beside a broken one is not added."""
    path = tmp_path / "feats.npz"
    np.savez(path, good=np.ones((4, 4)), bad=np.ones((8, 16, 16)))
    data = bytearray(path.read_bytes())
    start = data.index(b"bad.npy")  # damage the second member's header
    data[start + 60 : start + 80] = b"\xff" * 20
    path.write_bytes(bytes(data))
    viewer = make_napari_viewer()

    with pytest.raises(FeatureFileError):
        viewer.open(path, plugin=PLUGIN)

    assert len(viewer.layers) == 0


# --- files with many arrays ---------------------------------------------------


def test_thousands_of_arrays_of_one_shape_open_as_one_stack(
    make_napari_viewer, tmp_path
):
    path = tmp_path / "many.npz"
    arrays = {
        f"a{index:04d}": np.full((2, 3), index, np.float32) for index in range(5_000)
    }
    np.savez(path, **arrays)
    viewer = make_napari_viewer()

    [layer] = viewer.open(path, plugin=PLUGIN)

    assert layer.name == "many (5000 arrays)"
    assert layer.data.shape == (5_000, 2, 3)
    record = layer.metadata["heatoverlay"]
    assert record["role"] == "heatmap"
    assert record["keys"] == list(arrays)
    # the slider index is the key's position
    np.testing.assert_array_equal(layer.data[1234], arrays[record["keys"][1234]])


def test_twenty_thousand_tensors_open_as_one_stack(make_napari_viewer, tmp_path):
    from safetensors.numpy import save_file

    path = tmp_path / "many.safetensors"
    save_file(
        {f"t{index:05d}": np.ones((1, 2), np.float32) for index in range(20_000)},
        str(path),
    )
    viewer = make_napari_viewer()

    [layer] = viewer.open(path, plugin=PLUGIN)

    assert layer.data.shape == (20_000, 1, 2)
    assert len(layer.metadata["heatoverlay"]["keys"]) == 20_000


def test_many_arrays_of_several_shapes_are_refused_naming_the_keys(
    make_napari_viewer, tmp_path
):
    path = tmp_path / "mixed.npz"
    np.savez(
        path,
        **{f"k{index:02d}": np.ones((2, 2 + index % 2)) for index in range(40)},
    )
    viewer = make_napari_viewer()

    with pytest.raises(FeatureFileError) as caught:
        viewer.open(path, plugin=PLUGIN)

    message = str(caught.value)
    assert "holds 40 arrays of 2 different shapes" in message
    assert "more than the 32 layers one file may add" in message
    assert "'k00', 'k01', 'k02', 'k03', 'k04' and 35 more" in message
    assert "--key k00" in message
    assert len(viewer.layers) == 0
    # the Python way out it names works
    code = message.split("in Python, ")[1].split(" with read_feature_arrays")[0]
    from napari_heatoverlay.io.features import read_feature_arrays

    layer = eval(code, {"viewer": viewer, "read_feature_arrays": read_feature_arrays})
    assert layer.data.shape == (2, 2)


def test_up_to_32_arrays_open_as_layers_of_their_own(make_napari_viewer, tmp_path):
    path = tmp_path / "blocks.npz"
    np.savez(path, **{f"b{index:02d}": np.ones((2, 2 + index)) for index in range(32)})
    viewer = make_napari_viewer()

    layers = viewer.open(path, plugin=PLUGIN)

    assert len(layers) == 32
    assert layers[5].name == "blocks:b05"
