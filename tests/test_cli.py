"""The ``heatoverlay`` command, run as a real subprocess on real files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
from PIL import Image

from napari_heatoverlay import contours, draw_contours, montage, overlay
from napari_heatoverlay.cli.demo_viewer import show_demo
from napari_heatoverlay.io.heatmaps import LUMA_WEIGHTS
from napari_heatoverlay.io.outputs import write_atomic
from napari_heatoverlay.samples import sample as sample_arrays

COMMAND = [sys.executable, "-m", "napari_heatoverlay"]
GUI_MODULES = ("napari", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "vispy")


def run(*args: object, cwd: Path | None = None, env: dict | None = None):
    return subprocess.run(
        [*COMMAND, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def make_image(seed: int = 0, shape: tuple[int, int] = (36, 48)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)


def make_heat(seed: int = 0, shape: tuple[int, ...] = (6, 8)) -> np.ndarray:
    return np.random.default_rng(seed + 100).normal(size=shape).astype(np.float32)


@pytest.fixture
def image_file(tmp_path: Path) -> tuple[Path, np.ndarray]:
    image = make_image()
    path = tmp_path / "photo.png"
    iio.imwrite(path, image)
    return path, image


def assert_one_line_error(result, status: int, *words: str) -> None:
    assert result.returncode == status, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("heatoverlay"), lines[0]
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize("suffix", [".png", ".tiff"])
def test_single_pair_lossless_output_equals_overlay(image_file, tmp_path, suffix):
    image_path, image = image_file
    heat = make_heat()
    np.save(tmp_path / "heat.npy", heat)
    out = tmp_path / f"out{suffix}"
    result = run(
        image_path,
        tmp_path / "heat.npy",
        "-o",
        out,
        "--alpha",
        "0.3",
        "--mode",
        "scaled",
    )
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout
    expected = overlay(image, heat, alpha=0.3, mode="scaled")
    written = tifffile.imread(out) if suffix != ".png" else iio.imread(out)
    np.testing.assert_array_equal(written, expected)


def test_single_pair_jpeg_is_close(tmp_path):
    y, x = np.mgrid[0:36, 0:48]
    image = np.stack([y * 7, x * 5, (x + y) * 3], axis=-1).astype(np.uint8)
    image_path = tmp_path / "smooth.png"
    iio.imwrite(image_path, image)
    heat = np.outer(np.hanning(6), np.hanning(8))
    np.save(tmp_path / "heat.npy", heat)
    result = run(image_path, tmp_path / "heat.npy", "-o", tmp_path / "out.jpg")
    assert result.returncode == 0, result.stderr
    written = iio.imread(tmp_path / "out.jpg").astype(float)
    expected = overlay(image, heat).astype(float)
    assert written.shape == expected.shape
    assert np.abs(written - expected).mean() < 3


def test_every_overlay_option_reaches_overlay(image_file, tmp_path):
    image_path, image = image_file
    heat = make_heat()
    np.save(tmp_path / "heat.npy", heat)
    options = {
        "mode": "multiply",
        "alpha": 0.8,
        "colormap": "magma",
        "norm": "percentile",
        "percentiles": (5.0, 95.0),
        "threshold": 0.25,
        "interpolation": "cubic",
        "image_range": (20.0, 200.0),
    }
    result = run(
        image_path,
        tmp_path / "heat.npy",
        "-o",
        tmp_path / "out.png",
        "--mode=multiply",
        "--alpha=0.8",
        "--colormap=magma",
        "--norm=percentile",
        "--percentiles",
        "5",
        "95",
        "--threshold=0.25",
        "--interpolation=cubic",
        "--image-range",
        "20",
        "200",
    )
    assert result.returncode == 0, result.stderr
    expected = overlay(image, heat, **options)
    np.testing.assert_array_equal(iio.imread(tmp_path / "out.png"), expected)
    result = run(
        image_path,
        tmp_path / "heat.npy",
        "-o",
        tmp_path / "window.png",
        "--vmin=-0.5",
        "--vmax=1.5",
    )
    assert result.returncode == 0, result.stderr
    expected = overlay(image, heat, vmin=-0.5, vmax=1.5)
    np.testing.assert_array_equal(iio.imread(tmp_path / "window.png"), expected)


def _save_npz(path: Path, heat: np.ndarray) -> list[str]:
    np.savez(path, layer3=heat, layer4=heat[::-1].copy(), bias=np.zeros(3))
    return ["--key", "layer3"]


def _save_pt(path: Path, heat: np.ndarray) -> list[str]:
    torch = pytest.importorskip("torch")
    torch.save(torch.from_numpy(heat[None, None]), path)
    return []


def _save_safetensors(path: Path, heat: np.ndarray) -> list[str]:
    numpy_safetensors = pytest.importorskip("safetensors.numpy")
    numpy_safetensors.save_file({"cam": heat}, path)
    return []


@pytest.mark.parametrize(
    ("suffix", "save"),
    [
        (".npy", lambda path, heat: np.save(path, heat[None]) or []),
        (".npz", _save_npz),
        (".pt", _save_pt),
        (".safetensors", _save_safetensors),
    ],
)
def test_each_feature_format(image_file, tmp_path, suffix, save):
    image_path, image = image_file
    heat = make_heat()
    heat_path = tmp_path / f"heat{suffix}"
    extra = save(heat_path, heat)
    result = run(image_path, heat_path, "-o", tmp_path / "out.png", *extra)
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(
        iio.imread(tmp_path / "out.png"), overlay(image, heat)
    )


def test_npz_with_several_arrays_needs_key(image_file, tmp_path):
    image_path, _ = image_file
    np.savez(tmp_path / "heat.npz", layer3=make_heat(), layer4=make_heat(1))
    result = run(image_path, tmp_path / "heat.npz", "-o", tmp_path / "out.png")
    assert_one_line_error(result, 2, "--key", "layer3", "layer4")
    result = run(
        image_path, tmp_path / "heat.npz", "-o", tmp_path / "out.png", "--key", "fc"
    )
    assert_one_line_error(result, 2, "'fc'", "layer3")
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("colour", [False, True])
def test_image_file_as_heatmap_uses_luminance(image_file, tmp_path, colour):
    image_path, image = image_file
    rng = np.random.default_rng(5)
    heat_pixels = rng.integers(0, 256, (6, 8, 3) if colour else (6, 8), np.uint8)
    iio.imwrite(tmp_path / "heat.png", heat_pixels)
    result = run(image_path, tmp_path / "heat.png", "-o", tmp_path / "out.png")
    assert result.returncode == 0, result.stderr
    luminance = heat_pixels @ LUMA_WEIGHTS if colour else heat_pixels.astype(float)
    np.testing.assert_array_equal(
        iio.imread(tmp_path / "out.png"), overlay(image, luminance)
    )


@pytest.mark.parametrize(
    ("option", "reference"),
    [
        (["--channel", "2"], lambda f: f[2]),
        (["--reduce", "mean"], lambda f: np.mean(f, axis=0)),
        (["--reduce", "max"], lambda f: np.max(f, axis=0)),
        (["--reduce", "l2"], lambda f: np.sqrt(np.sum(f.astype(float) ** 2, axis=0))),
        (["--reduce", "sum"], lambda f: np.sum(f.astype(float), axis=0)),
    ],
)
def test_channel_and_reduce_match_numpy(image_file, tmp_path, option, reference):
    image_path, image = image_file
    features = make_heat(shape=(1, 5, 6, 8))
    np.save(tmp_path / "features.npy", features)
    result = run(
        image_path, tmp_path / "features.npy", "-o", tmp_path / "out.png", *option
    )
    assert result.returncode == 0, result.stderr
    expected = overlay(image, reference(features[0]))
    np.testing.assert_array_equal(iio.imread(tmp_path / "out.png"), expected)


def test_channel_axis_without_a_choice_is_refused(image_file, tmp_path):
    image_path, _ = image_file
    np.save(tmp_path / "features.npy", make_heat(shape=(5, 6, 8)))
    result = run(image_path, tmp_path / "features.npy", "-o", tmp_path / "out.png")
    assert_one_line_error(result, 2, "5 channels", "--channel", "--reduce")
    result = run(
        image_path,
        tmp_path / "features.npy",
        "-o",
        tmp_path / "out.png",
        "--channel",
        "5",
    )
    assert_one_line_error(result, 2, "out of range", "0..4")


def test_batch_continues_past_a_broken_pair(tmp_path):
    images, heatmaps, out = tmp_path / "images", tmp_path / "heatmaps", tmp_path / "out"
    images.mkdir()
    heatmaps.mkdir()
    expected = {}
    for number in range(21):
        image, heat = make_image(number), make_heat(number)
        iio.imwrite(images / f"cell{number:02d}.png", image)
        np.save(heatmaps / f"cell{number:02d}.npy", heat)
        expected[f"cell{number:02d}"] = overlay(image, heat, alpha=0.6)
    (heatmaps / "cell07.npy").write_bytes(b"\x93NUMPY garbage")
    iio.imwrite(images / "lonely.png", make_image(99))
    np.save(heatmaps / "orphan.npy", make_heat(99))
    (images / "notes.txt").write_text("not an image")

    result = run(images, heatmaps, "-o", out, "--alpha", "0.6")

    assert result.returncode == 1, result.stderr
    written = sorted(path.stem for path in out.iterdir())
    assert written == sorted(set(expected) - {"cell07"})
    for stem in written:
        np.testing.assert_array_equal(iio.imread(out / f"{stem}.png"), expected[stem])
    assert "failed cell07.png + cell07.npy" in result.stderr
    assert "Cannot read" in result.stderr
    assert "lonely.png" in result.stderr
    assert "orphan.npy" in result.stderr
    assert "notes.txt" not in result.stderr
    assert "Traceback" not in result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert "wrote 20 of 21 overlays" in summary
    assert "1 failed" in summary
    assert "2 file(s) unpaired" in summary


def test_batch_in_one_process_refuses_existing_outputs(tmp_path):
    images, heatmaps, out = tmp_path / "images", tmp_path / "heatmaps", tmp_path / "out"
    for folder in (images, heatmaps, out):
        folder.mkdir()
    for number in range(2):
        iio.imwrite(images / f"a{number}.tiff", make_image(number))
        np.save(heatmaps / f"a{number}.npy", make_heat(number))
    (out / "a0.jpg").write_bytes(b"keep me")

    result = run(images, heatmaps, "-o", out, "--format", "jpg", "--jobs", "1")

    assert result.returncode == 1
    assert "a0.jpg already exists" in result.stderr
    assert (out / "a0.jpg").read_bytes() == b"keep me"
    assert iio.imread(out / "a1.jpg").shape == (36, 48, 3)
    assert "wrote 1 of 2 overlays" in result.stdout
    again = run(images, heatmaps, "-o", out, "--format", "jpg", "--force", "-j", "1")
    assert again.returncode == 0, again.stderr


def test_demo_writes_the_sample_overlay_without_gui_modules(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        from napari_heatoverlay.cli.main import main
        status = main(["demo", "-o", {str(tmp_path / "demo.png")!r}])
        loaded = sorted(
            name for name in sys.modules if name.split(".")[0] in {GUI_MODULES!r}
        )
        print("GUI modules:", loaded)
        sys.exit(status)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "GUI modules: []" in result.stdout
    image, heat = sample_arrays()
    np.testing.assert_array_equal(
        iio.imread(tmp_path / "demo.png"), overlay(image, heat)
    )


def test_demo_viewer_without_napari_names_the_install(tmp_path):
    script = (
        "import sys; sys.modules['napari'] = None; "
        "from napari_heatoverlay.cli.main import main; sys.exit(main(['demo']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert_one_line_error(result, 1, 'pip install "napari-heatoverlay[all]"')


def test_demo_viewer_without_display_says_what_to_do():
    pytest.importorskip("napari")
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    if not sys.platform.startswith("linux"):
        pytest.skip("the display check is for Linux")
    result = run("demo", env=env)
    assert_one_line_error(result, 1, "no display", "demo -o demo.png")


def test_missing_file(tmp_path, image_file):
    image_path, _ = image_file
    result = run(image_path, tmp_path / "nope.npy", "-o", tmp_path / "out.png")
    assert_one_line_error(result, 2, "nope.npy", "no such file")


def test_unreadable_heatmap(tmp_path, image_file):
    image_path, _ = image_file
    (tmp_path / "heat.npy").write_bytes(b"\x93NUMPY\x01\x00 truncated")
    result = run(image_path, tmp_path / "heat.npy", "-o", tmp_path / "out.png")
    assert_one_line_error(result, 1, "heat.npy")
    assert not (tmp_path / "out.png").exists()
    result = run(
        image_path, tmp_path / "heat.npy", "-o", tmp_path / "out.png", "--debug"
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr


class _Payload:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickled_heatmap_is_refused_without_running_it(tmp_path, image_file):
    image_path, _ = image_file
    marker = tmp_path / "pwned"
    with open(tmp_path / "evil.npy", "wb") as stream:
        np.save(stream, np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    result = run(image_path, tmp_path / "evil.npy", "--figure", tmp_path / "fig.png")
    assert_one_line_error(result, 1, "unpickl")
    assert not marker.exists()
    assert not (tmp_path / "fig.png").exists()


@pytest.mark.parametrize(
    ("option", "words"),
    [
        (["--alpha", "1.5"], ["--alpha", "[0, 1]"]),
        (["--alpha", "lots"], ["--alpha", "'lots'"]),
        (["--mode", "overlay"], ["--mode", "alpha", "scaled"]),
        (["--colormap", "nope"], ["--colormap", "viridis"]),
        (["--vmin", "3", "--vmax", "1"], ["vmin", "vmax"]),
        (["--percentiles", "90", "10"], ["percentiles"]),
        (["--image-range", "9", "1"], ["--image-range", "low < high"]),
    ],
)
def test_bad_option_values(tmp_path, image_file, option, words):
    image_path, _ = image_file
    np.save(tmp_path / "heat.npy", make_heat())
    result = run(image_path, tmp_path / "heat.npy", "-o", tmp_path / "o.png", *option)
    assert_one_line_error(result, 2, *words)


def test_usage_mistakes(tmp_path, image_file):
    image_path, _ = image_file
    np.save(tmp_path / "heat.npy", make_heat())
    result = run(image_path, tmp_path / "heat.npy")
    assert_one_line_error(result, 2, "-o", "--figure")
    result = run(image_path, tmp_path / "heat.npy", "-o", tmp_path / "out.bmp")
    assert_one_line_error(result, 2, ".png")
    result = run(image_path, tmp_path, "-o", tmp_path / "out.png")
    assert_one_line_error(result, 2, "folder")
    result = run(tmp_path, tmp_path, "-o", tmp_path / "o", "--figure", "f.pdf")
    assert_one_line_error(result, 2, "--figure")
    result = run(image_path, tmp_path / "heat.npy", "-o", image_path, "--force")
    assert_one_line_error(result, 2, "is an input")
    result = run(tmp_path, tmp_path, "-o", tmp_path, "--force")
    assert_one_line_error(result, 2, "input folder")


def test_existing_output_needs_force(tmp_path, image_file):
    image_path, image = image_file
    heat = make_heat()
    np.save(tmp_path / "heat.npy", heat)
    out = tmp_path / "out.png"
    out.write_bytes(b"precious")
    result = run(image_path, tmp_path / "heat.npy", "-o", out)
    assert_one_line_error(result, 2, "already exists", "--force")
    assert out.read_bytes() == b"precious"
    result = run(image_path, tmp_path / "heat.npy", "-o", out, "--force")
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(iio.imread(out), overlay(image, heat))
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "heat.npy",
        "out.png",
        "photo.png",
    ]


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.png"

    def half_write(path: Path) -> None:
        path.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, half_write)
    assert list(tmp_path.iterdir()) == []


def test_figure_option_writes_figure_and_overlay(tmp_path, image_file):
    image_path, _ = image_file
    np.save(tmp_path / "heat.npy", make_heat())
    result = run(
        image_path,
        tmp_path / "heat.npy",
        "-o",
        tmp_path / "out.png",
        "--figure",
        tmp_path / "fig.pdf",
        "--norm",
        "sigmoid",
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "fig.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "out.png").exists()


def test_help_shows_examples():
    result = run("--help")
    assert result.returncode == 0
    assert "examples:" in result.stdout
    assert "heatoverlay images/ heatmaps/ -o overlays/" in result.stdout
    assert "luminance" in result.stdout
    assert "heatoverlay demo -o demo.png" in result.stdout
    demo = run("demo", "--help")
    assert demo.returncode == 0
    assert "examples:" in demo.stdout


def test_console_script_is_installed():
    script = shutil.which("heatoverlay")
    if script is None:
        pytest.skip("heatoverlay is not on PATH (pip install -e . installs it)")
    result = subprocess.run(
        [script, "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0
    assert "examples:" in result.stdout


def test_demo_viewer_shows_the_overlay_with_the_flags(make_napari_viewer, qtbot):
    from napari_heatoverlay.engine.options import OverlayOptions

    viewer = make_napari_viewer()
    widget = show_demo(viewer, OverlayOptions(mode="scaled", alpha=0.9))
    assert any("Heat overlay" in name for name in viewer.window.dock_widgets)
    assert (widget.mode.value, widget.alpha.value) == ("scaled", 0.9)
    assert widget.colormap.value == "layer"  # a default, not OverlayOptions' jet
    qtbot.waitUntil(lambda: len(viewer.layers) == 3)
    result = viewer.layers[-1]
    assert result.name == "coffee heatmap over coffee"
    parameters = result.metadata["heatoverlay"]["parameters"]
    assert (parameters["mode"], parameters["alpha"]) == ("scaled", 0.9)


def test_zarr_pyramid_in_zarr_pyramid_out(tmp_path: Path) -> None:
    import dask.array as da

    from napari_heatoverlay.io.images import open_zarr_image
    from napari_heatoverlay.io.outputs import write_zarr

    image = make_image(7, (300, 400))
    levels = [image, image[::2, ::2], image[::4, ::4]]
    heat = make_heat(7, (12, 16))
    write_zarr(
        [da.from_array(level, chunks=(128, 128, 3)) for level in levels],
        tmp_path / "slide.zarr",
        progress=False,
    )
    np.save(tmp_path / "heat.npy", heat)
    result = run(
        tmp_path / "slide.zarr",
        tmp_path / "heat.npy",
        "-o",
        tmp_path / "out.zarr",
        "--mode",
        "scaled",
    )
    assert result.returncode == 0, result.stderr
    written = open_zarr_image(tmp_path / "out.zarr")
    expected = overlay(levels, heat, mode="scaled")
    assert len(written) == 3
    for got, want in zip(written, expected, strict=True):
        assert np.array_equal(got.compute(), want)
    again = run(
        tmp_path / "slide.zarr", tmp_path / "heat.npy", "-o", tmp_path / "out.zarr"
    )
    assert_one_line_error(again, 2, "already exists", "--force")
    assert (
        run(
            tmp_path / "slide.zarr",
            tmp_path / "heat.npy",
            "-o",
            tmp_path / "out.zarr",
            "--force",
        ).returncode
        == 0
    )


def test_image_file_to_zarr_and_zarr_needs_zarr_output(
    tmp_path: Path, image_file
) -> None:
    path, image = image_file
    heat = make_heat(8)
    np.save(tmp_path / "heat.npy", heat)
    result = run(path, tmp_path / "heat.npy", "-o", tmp_path / "single.zarr")
    assert result.returncode == 0, result.stderr
    from napari_heatoverlay.io.images import open_zarr_image

    (level,) = open_zarr_image(tmp_path / "single.zarr")
    assert np.array_equal(level.compute(), overlay(image, heat))
    refused = run(
        tmp_path / "single.zarr", tmp_path / "heat.npy", "-o", tmp_path / "x.png"
    )
    assert_one_line_error(refused, 2, "zarr store", "OUT.zarr")
    assert not (tmp_path / "x.png").exists()


def test_a_frame_stack_to_zarr_gives_each_frame_its_own_map(tmp_path: Path) -> None:
    zarr = pytest.importorskip("zarr")
    from napari_heatoverlay.io.images import open_zarr_image

    rng = np.random.default_rng(21)
    colour = rng.integers(0, 256, (4, 36, 48, 3), dtype=np.uint8)
    grey = rng.integers(100, 3000, (4, 36, 48), dtype=np.uint16)
    maps = rng.normal(0, 1, (4, 6, 8)) + np.arange(4)[:, None, None]  # frames differ
    np.save(tmp_path / "maps.npy", maps)
    np.save(tmp_path / "map.npy", maps[1])
    tifffile.imwrite(tmp_path / "colour.tif", colour)
    tifffile.imwrite(tmp_path / "grey.tif", grey, photometric="minisblack")
    zarr.create_array(str(tmp_path / "colour.zarr"), data=colour, chunks=(1, 16, 16, 3))
    low, high = maps.min(), maps.max()  # one window for the whole stack
    # a TIFF stack's image range is the whole stack's, as for a movie
    grey_range = (float(grey.min()), float(grey.max()))
    cases = [
        ("colour.tif", "maps.npy", colour, maps, None),
        ("colour.zarr", "maps.npy", colour, maps, None),
        ("grey.tif", "maps.npy", grey, maps, grey_range),
        ("colour.tif", "map.npy", colour, [maps[1]] * 4, None),
    ]
    for number, (frames, heat, pixels, expected_maps, image_range) in enumerate(cases):
        out = tmp_path / f"out{number}.zarr"
        result = run(tmp_path / frames, tmp_path / heat, "-o", out)
        assert result.returncode == 0, result.stderr
        (level,) = open_zarr_image(out)
        written = np.asarray(level)
        assert written.shape == (*colour.shape[:3], 3), frames
        window = {"vmin": low, "vmax": high} if heat == "maps.npy" else {}
        for t in range(4):
            expected = overlay(
                pixels[t], expected_maps[t], image_range=image_range, **window
            )
            np.testing.assert_array_equal(written[t], expected, err_msg=frames)
    np.save(tmp_path / "three.npy", maps[:3])
    refused = run(
        tmp_path / "colour.tif", tmp_path / "three.npy", "-o", tmp_path / "x.zarr"
    )
    assert_one_line_error(refused, 2, "4 frames", "3 maps", "one map per frame")
    assert not (tmp_path / "x.zarr").exists()


def test_every_overlay_option_is_a_flag_or_deliberately_absent():
    from napari_heatoverlay.cli.main import (
        build_demo_parser,
        build_parser,
        overlay_options,
    )
    from napari_heatoverlay.engine.options import OPTIONS, OverlayOptions

    for parser in (build_parser(), build_demo_parser()):
        flags = {flag for action in parser._actions for flag in action.option_strings}
        for option in OPTIONS:
            assert (option.flag in flags) != bool(option.cli_absent), option.name
    parsed = build_parser().parse_args(["a.png", "h.npy"])
    assert overlay_options(parsed) == OverlayOptions()


def test_help_loads_neither_numpy_nor_the_engine():
    code = (
        "import sys\n"
        "from napari_heatoverlay.cli.main import build_parser\n"
        "build_parser().format_help()\n"
        "print(sorted(m for m in ('numpy', 'numba', 'scipy', 'matplotlib', "
        "'napari_heatoverlay.engine.overlay') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def make_batch(tmp_path: Path, count: int) -> tuple[Path, Path]:
    images, heatmaps = tmp_path / "images", tmp_path / "heatmaps"
    images.mkdir()
    heatmaps.mkdir()
    for number in range(count):
        iio.imwrite(images / f"p{number}.png", make_image(number))
        np.save(heatmaps / f"p{number}.npy", make_heat(number))
    return images, heatmaps


def test_skip_existing_resumes_a_batch(tmp_path):
    images, heatmaps = make_batch(tmp_path, 3)
    out = tmp_path / "out"
    out.mkdir()
    (out / "p1.png").write_bytes(b"done before")
    result = run(images, heatmaps, "-o", out, "-j", "1", "--skip-existing")
    assert result.returncode == 0, result.stderr
    assert "wrote 2 of 2 overlays" in result.stdout
    assert "skipped 1 existing" in result.stdout
    assert (out / "p1.png").read_bytes() == b"done before"
    expected = overlay(make_image(2), make_heat(2))
    np.testing.assert_array_equal(iio.imread(out / "p2.png"), expected)
    again = run(images, heatmaps, "-o", out, "-j", "1", "--skip-existing")
    assert again.returncode == 0, again.stderr
    assert "skipped 3 existing" in again.stdout
    both = run(images, heatmaps, "-o", out, "--skip-existing", "--force")
    assert_one_line_error(both, 2, "--force", "--skip-existing")


def test_skip_existing_for_one_pair(tmp_path, image_file):
    image_path, _ = image_file
    np.save(tmp_path / "heat.npy", make_heat())
    (tmp_path / "out.png").write_bytes(b"keep")
    result = run(
        image_path, tmp_path / "heat.npy", "-o", tmp_path / "out.png", "--skip-existing"
    )
    assert result.returncode == 0, result.stderr
    assert "skipped" in result.stdout
    assert (tmp_path / "out.png").read_bytes() == b"keep"


def test_missing_output_folder_needs_parents(tmp_path, image_file):
    image_path, image = image_file
    heat = make_heat()
    np.save(tmp_path / "heat.npy", heat)
    target = tmp_path / "typo" / "deeper" / "out.png"
    result = run(image_path, tmp_path / "heat.npy", "-o", target)
    assert_one_line_error(result, 2, "does not exist", "--parents")
    assert not (tmp_path / "typo").exists()
    figure = run(
        image_path, tmp_path / "heat.npy", "--figure", target.with_suffix(".pdf")
    )
    assert_one_line_error(figure, 2, "--parents")
    images, heatmaps = make_batch(tmp_path, 1)
    batch = run(images, heatmaps, "-o", tmp_path / "typo" / "overlays", "-j", "1")
    assert_one_line_error(batch, 2, "--parents")
    assert not (tmp_path / "typo").exists()
    result = run(image_path, tmp_path / "heat.npy", "-o", target, "--parents")
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(iio.imread(target), overlay(image, heat))


def test_outputs_may_not_collide(tmp_path, image_file):
    image_path, _ = image_file
    np.save(tmp_path / "heat.npy", make_heat())
    same = tmp_path / "same.png"
    result = run(image_path, tmp_path / "heat.npy", "-o", same, "--figure", same)
    assert_one_line_error(result, 2, "same.png", "--figure")
    assert not same.exists()
    result = run(
        image_path, tmp_path / "heat.npy", "-o", tmp_path / "heat.npy", "--force"
    )
    assert_one_line_error(result, 2, "is an input")


def test_demo_viewer_refuses_flags_the_widget_has_no_control_for():
    result = run("demo", "--vmin", "1")
    assert_one_line_error(result, 2, "--vmin", "no control", "-o")
    result = run("demo", "--contours", "0.5", "--contour-colour", "black")
    assert_one_line_error(result, 2, "--contour-colour", "level's colour", "-o")


def test_demo_viewer_draws_the_contour_flags_as_a_shapes_layer(
    make_napari_viewer, qtbot
):
    viewer = make_napari_viewer()
    widget = show_demo(viewer, contours=(0.5, 0.8))
    assert widget.contours.value == "0.5, 0.8"
    qtbot.waitUntil(lambda: len(viewer.layers) == 4)
    lines = viewer.layers["coffee heatmap contours"]
    assert viewer.layers[-1] is lines  # above the result
    assert sorted(set(lines.features["level"])) == [0.5, 0.8]


def test_attribution_options_reach_overlay(image_file, tmp_path):
    image_path, image = image_file
    heat = make_heat()
    np.save(tmp_path / "heat.npy", heat)
    result = run(
        image_path,
        tmp_path / "heat.npy",
        "-o",
        tmp_path / "out.png",
        "--norm=cumulative",
        "--sign=negative",
        "--outlier-perc=5",
        "--gamma=2",
        "--mode=tint",
    )
    assert result.returncode == 0, result.stderr
    expected = overlay(
        image,
        heat,
        norm="cumulative",
        sign="negative",
        outlier_perc=5,
        gamma=2,
        mode="tint",
    )
    np.testing.assert_array_equal(iio.imread(tmp_path / "out.png"), expected)
    bad = run(image_path, tmp_path / "heat.npy", "-o", tmp_path / "b.png", "--gamma=0")
    assert_one_line_error(bad, 2, "--gamma", "> 0")


def test_channel_axis_reads_a_channels_first_tiff(tmp_path):
    image = make_image()
    tifffile.imwrite(tmp_path / "planes.tif", np.moveaxis(image, -1, 0))
    heat = make_heat()
    np.save(tmp_path / "heat.npy", heat)
    result = run(
        tmp_path / "planes.tif",
        tmp_path / "heat.npy",
        "-o",
        tmp_path / "out.png",
        "--channel-axis",
        "0",
    )
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(
        iio.imread(tmp_path / "out.png"), overlay(image, heat)
    )


def test_several_heatmaps_make_a_comparison_figure(image_file, tmp_path):
    image_path, _ = image_file
    for name, seed in (("gradcam", 1), ("ig", 2), ("occlusion", 3)):
        np.save(tmp_path / f"{name}.npy", make_heat(seed))
    maps = [tmp_path / f"{name}.npy" for name in ("gradcam", "ig", "occlusion")]
    result = run(image_path, *maps, "--figure", tmp_path / "methods.png")
    assert result.returncode == 0, result.stderr
    drawn = iio.imread(tmp_path / "methods.png")
    assert drawn.shape[0] > 2 * drawn.shape[1] / 3  # three rows of panels
    refused = run(image_path, *maps, "-o", tmp_path / "o.png")
    assert_one_line_error(refused, 2, "--figure")


def cone_map(size: int = 16, image: int = 128) -> np.ndarray:
    """Minus the distance (image pixels) of each map pixel's centre to a point
    near the image's centre: with vmin=-80, vmax=0, level 0.5 is a circle of
    radius 40."""
    centres = (np.arange(size) + 0.5) * image / size - 0.5
    rows, cols = np.meshgrid(centres, centres, indexing="ij")
    return -np.hypot(rows - 60.3, cols - 66.8)


def test_contours_are_drawn_into_the_overlay_and_nothing_else(tmp_path):
    image = make_image(shape=(128, 128))
    iio.imwrite(tmp_path / "photo.png", image)
    np.save(tmp_path / "cone.npy", cone_map())
    window = ("--vmin", "-80", "--vmax", "0")
    result = run(
        tmp_path / "photo.png",
        tmp_path / "cone.npy",
        "-o",
        tmp_path / "out.png",
        "--contours",
        "0.5,0.75",
        "--contour-colour",
        "#ff8000",
        "--contour-width",
        "2.5",
        *window,
    )
    assert result.returncode == 0, result.stderr
    written = iio.imread(tmp_path / "out.png")
    plain = overlay(image, cone_map(), vmin=-80, vmax=0)
    traced = contours(cone_map(), [0.5, 0.75], shape=(128, 128), vmin=-80, vmax=0)
    assert [len(lines) for lines in traced.values()] == [1, 1]
    expected = draw_contours(plain.copy(), traced, colour="#ff8000", width=2.5)
    np.testing.assert_array_equal(written, expected)
    changed = (written != plain).any(axis=-1)
    assert 0.02 < changed.mean() < 0.2  # two rings, the rest is overlay()


def test_a_drawn_ring_has_the_contours_radius(tmp_path):
    iio.imwrite(tmp_path / "black.png", np.zeros((128, 128), np.uint8))
    np.save(tmp_path / "cone.npy", cone_map())
    result = run(
        tmp_path / "black.png",
        tmp_path / "cone.npy",
        "-o",
        tmp_path / "ring.png",
        "--alpha",
        "0",  # the overlay is the black image: grey levels are the lines
        "--vmin",
        "-80",
        "--vmax",
        "0",
        "--contours",
        "0.5",
    )
    assert result.returncode == 0, result.stderr
    coverage = iio.imread(tmp_path / "ring.png")[..., 0] / 255.0
    rows, cols = np.mgrid[0:128, 0:128]
    radii = np.hypot(rows - 60.3, cols - 66.8)
    [ring] = contours(cone_map(), [0.5], shape=(128, 128), vmin=-80, vmax=0)[0.5]
    radius = np.hypot(ring[:, 0] - 60.3, ring[:, 1] - 66.8).mean()
    assert radius == pytest.approx(40.0, abs=0.2)
    drawn = (coverage * radii).sum() / coverage.sum()
    assert drawn == pytest.approx(radius, abs=0.05)
    assert coverage.sum() / (2 * np.pi * radius) == pytest.approx(2.0, rel=0.03)


def test_contours_reach_the_figure_and_are_refused_where_they_cannot_go(
    image_file, tmp_path
):
    image_path, _ = image_file
    np.save(tmp_path / "heat.npy", make_heat())
    result = run(
        image_path,
        tmp_path / "heat.npy",
        "--figure",
        tmp_path / "f.png",
        "--contours",
        "0.5",
    )
    assert result.returncode == 0, result.stderr
    assert iio.imread(tmp_path / "f.png").shape[1] > 300
    montage = run(
        image_path,
        tmp_path / "heat.npy",
        "--montage",
        tmp_path / "m.png",
        "--contours",
        "0.5",
    )
    assert_one_line_error(montage, 2, "--contours", "--montage")
    for flags, words in (
        (["--contours", "1.5"], ["--contours", "[0, 1]"]),
        (["--contours", "0.5,0.5"], ["--contours", "once"]),
        (["--contours", "0.5", "--contour-colour", "nope"], ["--contour-colour"]),
        (["--contours", "0.5", "--contour-width", "0"], ["--contour-width"]),
    ):
        bad = run(image_path, tmp_path / "heat.npy", "-o", tmp_path / "x.png", *flags)
        assert_one_line_error(bad, 2, *words)
    assert not (tmp_path / "x.png").exists()


def test_montage_of_a_channel_range_equals_montage(image_file, tmp_path):
    image_path, image = image_file
    features = make_heat(shape=(1, 12, 6, 8))
    np.save(tmp_path / "features.npy", features)
    out = tmp_path / "grid.png"
    result = run(
        image_path,
        tmp_path / "features.npy",
        "--montage",
        out,
        "--channel",
        "2:10:2",
        "--colormap",
        "viridis",
    )
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout
    chosen = features[0, 2:10:2]
    expected = montage(image, chosen, labels=["2", "4", "6", "8"], colormap="viridis")
    np.testing.assert_array_equal(iio.imread(out), expected)
    whole = run(
        image_path, tmp_path / "features.npy", "--montage", tmp_path / "all.png"
    )
    assert whole.returncode == 0, whole.stderr
    np.testing.assert_array_equal(
        iio.imread(tmp_path / "all.png"), montage(image, features)
    )
    one = run(
        image_path,
        tmp_path / "features.npy",
        "--montage",
        tmp_path / "one.png",
        "--channel",
        "-1",
    )
    assert one.returncode == 0, one.stderr
    np.testing.assert_array_equal(
        iio.imread(tmp_path / "one.png"),
        montage(image, features[0, 11:], labels=["11"]),
    )


def test_a_channel_range_may_start_with_a_minus_after_a_space(image_file, tmp_path):
    image_path, image = image_file
    features = make_heat(shape=(12, 6, 8))
    np.save(tmp_path / "features.npy", features)
    for words, chosen, labels in (
        (["--channel", "-2:"], features[-2:], ["10", "11"]),
        (["--channel", "-6:-1:2"], features[-6:-1:2], ["6", "8", "10"]),
        (["--channel=-3::2"], features[-3::2], ["9", "11"]),
    ):
        out = tmp_path / "grid.png"
        result = run(
            image_path, tmp_path / "features.npy", "--montage", out, *words, "--force"
        )
        assert result.returncode == 0, result.stderr
        np.testing.assert_array_equal(
            iio.imread(out), montage(image, chosen, labels=labels)
        )
    # a flag after --channel is still a missing value, not a range
    missing = run(image_path, tmp_path / "features.npy", "--channel", "-o", "x.png")
    assert_one_line_error(missing, 2, "--channel", "expected one argument")


def test_montage_mistakes(image_file, tmp_path):
    image_path, _ = image_file
    np.save(tmp_path / "features.npy", make_heat(shape=(12, 6, 8)))
    features = tmp_path / "features.npy"
    grid = tmp_path / "grid.png"
    for flags, words in (
        (["--montage", grid, "--channel", "20:30"], ["20:30", "12 channel"]),
        (["--montage", grid, "--channel", "0:4:0"], ["--channel", "step not 0"]),
        (["--montage", grid, "-o", tmp_path / "o.png"], ["--montage", "alone"]),
        (["--montage", grid, "--reduce", "mean"], ["--reduce", "--channel A:B"]),
        (["--montage", tmp_path / "grid.pdf"], ["montage", ".png"]),
        (["--channel", "0:4", "-o", tmp_path / "o.png"], ["--montage", "one channel"]),
    ):
        result = run(image_path, features, *flags)
        assert_one_line_error(result, 2, *map(str, words))
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "features.npy",
        "photo.png",
    ]


def test_demo_writes_a_movie_and_a_montage(tmp_path):
    result = run("demo", "-o", tmp_path / "demo.gif", "--fps", "20")
    assert result.returncode == 0, result.stderr
    with Image.open(tmp_path / "demo.gif") as movie:
        assert (movie.n_frames, movie.size, movie.info["duration"]) == (
            60,
            (600, 400),
            50,
        )
    result = run("demo", "--montage", tmp_path / "grid.png")
    assert result.returncode == 0, result.stderr
    assert iio.imread(tmp_path / "grid.png").shape[:2] > (1600, 2400)


def test_a_tiff_volume_with_a_3d_map(tmp_path):
    volume = np.random.default_rng(5).integers(0, 256, (12, 40, 48), dtype=np.uint8)
    heat = np.random.default_rng(6).random((3, 8, 8))
    tifffile.imwrite(tmp_path / "volume.tif", volume)
    np.save(tmp_path / "map.npy", heat)
    expected = overlay(volume, heat, spatial_dims=3)
    result = run(
        tmp_path / "volume.tif",
        tmp_path / "map.npy",
        "-o",
        tmp_path / "out.tif",
        "--spatial-dims",
        "3",
    )
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "out.tif"), expected)
    result = run(
        tmp_path / "volume.tif",
        tmp_path / "map.npy",
        "-o",
        tmp_path / "out.zarr",
        "--spatial-dims",
        "3",
    )
    assert result.returncode == 0, result.stderr
    from napari_heatoverlay.io.images import open_zarr_image

    np.testing.assert_array_equal(
        np.asarray(open_zarr_image(tmp_path / "out.zarr")[0]), expected
    )
    png = run(
        tmp_path / "volume.tif",
        tmp_path / "map.npy",
        "-o",
        tmp_path / "out.png",
        "--spatial-dims",
        "3",
    )
    assert_one_line_error(png, 2, ".tif", ".zarr")
    flat = run(
        tmp_path / "volume.tif", tmp_path / "map.npy", "-o", tmp_path / "flat.tif"
    )
    assert_one_line_error(flat, 1, "--spatial-dims 3")


def test_a_large_npy_map_stays_memory_mapped(tmp_path):
    """The chosen map keeps its file's dtype: a float32 .npy is not copied to
    float64 (a 20k x 20k map would have doubled to 3.2 GB)."""
    from napari_heatoverlay.io.heatmaps import read_heatmap

    heat = np.random.default_rng(4).random((600, 800)).astype(np.float32)
    np.save(tmp_path / "big.npy", heat)
    read = read_heatmap(tmp_path / "big.npy")
    assert read.dtype == np.float32
    assert isinstance(read.base, np.memmap)  # a view of the file, no copy
    np.testing.assert_array_equal(read, heat)
