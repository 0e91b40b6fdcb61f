"""Contours: iso-lines of the resampled map, in image pixel coordinates."""

from __future__ import annotations

import subprocess
import sys
from unittest import mock

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
from scipy.spatial import cKDTree
from skimage.measure import find_contours
from skimage.transform import resize

from napari_heatoverlay import contours, draw_contours, normalize, overlay
from napari_heatoverlay.engine import contours as engine_contours

MAP, IMAGE = 32, 256  # a 32 x 32 map over a 256 x 256 image: 8 pixels per cell
CENTRE = (121.3, 135.7)  # off the grid, in image pixels
RADIUS = 50.0


def cone(size: int = MAP, image: int = IMAGE) -> np.ndarray:
    """Heat = minus the distance (image pixels) of each map pixel's centre to
    CENTRE: with vmin=-2R, vmax=0, the level 0.5 is a circle of radius R."""
    centres = (np.arange(size) + 0.5) * image / size - 0.5
    rows, cols = np.meshgrid(centres, centres, indexing="ij")
    return -np.hypot(rows - CENTRE[0], cols - CENTRE[1])


CONE_WINDOW = {"vmin": -2 * RADIUS, "vmax": 0.0}


def ring_of(lines: dict) -> np.ndarray:
    [ring] = lines[0.5]
    return ring


def centroid(ring: np.ndarray) -> np.ndarray:
    """The centre of a closed polyline, weighting vertices by segment length."""
    lengths = np.hypot(*np.diff(ring, axis=0).T)
    middles = (ring[1:] + ring[:-1]) / 2
    return (middles * lengths[:, None]).sum(axis=0) / lengths.sum()


def densify(line: np.ndarray, steps: int = 10) -> np.ndarray:
    t = np.linspace(0.0, 1.0, steps, endpoint=False)[None, :, None]
    return (line[:-1, None] + (line[1:] - line[:-1])[:, None] * t).reshape(-1, 2)


@pytest.mark.parametrize(
    ("interpolation", "radius_error"), [("cubic", 0.01), ("linear", 0.2)]
)
def test_a_cone_gives_a_circle_at_the_right_radius_and_centre(
    interpolation, radius_error
):
    ring = ring_of(
        contours(
            cone(),
            [0.5],
            shape=(IMAGE, IMAGE),
            interpolation=interpolation,
            **CONE_WINDOW,
        )
    )
    np.testing.assert_array_equal(ring[0], ring[-1])  # closed
    radii = np.hypot(ring[:, 0] - CENTRE[0], ring[:, 1] - CENTRE[1])
    # cubic resampling reproduces the cone; linear resampling is a little
    # above the convex cone between map pixels, so its circle is a little
    # smaller (by 0.14 px here)
    assert abs(radii.mean() - RADIUS) < radius_error
    assert np.abs(radii - RADIUS).max() < 2.5 * radius_error
    np.testing.assert_allclose(centroid(ring), CENTRE, atol=0.02)


@pytest.mark.parametrize(("interpolation", "order"), [("linear", 1), ("cubic", 3)])
@pytest.mark.parametrize("size", [MAP, 10])  # 8 and 25.6 image pixels a cell
def test_lines_follow_the_field_the_overlay_colours(interpolation, order, size):
    heat = cone(size)
    n = normalize(heat, **CONE_WINDOW)
    shown = resize(n, (IMAGE, IMAGE), order=order, mode="edge", anti_aliasing=False)
    [reference] = find_contours(shown, 0.5)
    ring = ring_of(
        contours(
            heat,
            0.5,
            shape=(IMAGE, IMAGE),
            interpolation=interpolation,
            **CONE_WINDOW,
        )
    )
    # a map coarser than 1/16 of the image is traced on a grid of 16 samples
    # a cell (here 160 x 160), mapped pixel-centre aligned onto the image's;
    # marching squares cuts the corners of that grid's cells by < 0.15 px
    distance, _ = cKDTree(densify(reference)).query(densify(ring))
    assert distance.max() < (0.1 if size == MAP else 0.2)


def test_on_the_maps_own_grid_it_is_marching_squares_on_n():
    heat = np.random.default_rng(0).normal(size=(12, 16))
    heat[0, :] = heat[-1, :] = heat[:, 0] = heat[:, -1] = -5  # closed lines only
    lines = contours(heat, [0.6], norm="percentile")
    expected = find_contours(normalize(heat, norm="percentile"), 0.6)
    assert len(lines[0.6]) == len(expected) > 1
    for line, reference in zip(lines[0.6], expected, strict=True):
        np.testing.assert_allclose(line, reference, atol=1e-6)


@pytest.mark.parametrize("interpolation", ["nearest", "linear"])
def test_a_step_gives_a_line_on_the_cell_boundary_from_edge_to_edge(interpolation):
    heat = np.zeros((6, 8))
    heat[:, 4:] = 1.0
    [line] = contours(heat, [0.5], shape=(48, 64), interpolation=interpolation)[0.5]
    # map column 4 starts at image x = 4 * 8 - 0.5; the image spans -0.5 .. 47.5
    np.testing.assert_allclose(line[:, 1], 31.5, atol=1e-6)
    assert sorted([line[0, 0], line[-1, 0]]) == [-0.5, 47.5]


def test_nan_holes_stop_lines_and_add_none():
    heat = np.zeros((16, 16))
    heat[:, 8:] = 1.0
    heat[5:9, 11:14] = np.nan  # a hole inside the hot half
    [line] = contours(heat, [0.75], shape=(128, 128))[0.75]
    # only the boundary between the halves; zero-filling the hole (what the
    # overlay blends) would put a second line around it
    assert np.ptp(line[:, 1]) < 1e-6
    ramp = np.tile(np.linspace(0.0, 1.0, 16), (16, 1))
    ramp[6:10, 6:10] = np.nan  # a hole on the level-0.5 line's way
    lines = contours(ramp, [0.5], shape=(128, 128))[0.5]
    assert len(lines) == 2  # cut in two by the hole
    hole = (6 * 8 - 0.5, 10 * 8 - 0.5)  # the hole's cells, in image pixels
    for line in lines:
        inside = (line[:, 0] > hole[0]) & (line[:, 0] < hole[1])
        assert not inside.any()
    everywhere = np.full((4, 4), np.nan)
    assert contours(everywhere, [0.2, 0.8]) == {0.2: [], 0.8: []}


def test_levels_the_map_never_reaches_give_no_lines():
    heat = np.linspace(2.0, 6.0, 64).reshape(8, 8)
    lines = contours(heat, [0.1, 0.5, 0.9], vmin=0.0, vmax=10.0)  # n in 0.2..0.6
    assert lines[0.1] == [] and lines[0.9] == []
    assert len(lines[0.5]) == 1


def test_levels_are_returned_in_order_as_floats():
    lines = contours(cone(), (np.float32(0.75), 0.25, 1), **CONE_WINDOW)
    assert list(lines) == [0.75, 0.25, 1.0]
    assert all(type(level) is float for level in lines)


@pytest.mark.parametrize(
    ("levels", "error", "words"),
    [
        ([1.5], ValueError, "outside [0, 1]"),
        (-0.1, ValueError, "vmin"),
        ([float("nan")], ValueError, "outside [0, 1]"),
        ([], ValueError, "no contour levels"),
        ([0.5, 0.5], ValueError, "twice"),
        ("0.5", TypeError, "numbers in [0, 1]"),
        ([[0.5]], TypeError, "numbers in [0, 1]"),
        ([True], TypeError, "numbers in [0, 1]"),
    ],
)
def test_bad_levels_are_refused_clearly(levels, error, words):
    with pytest.raises(error, match=words.replace("[", r"\[").replace("]", r"\]")):
        contours(cone(), levels)


def test_other_mistakes_are_refused_clearly():
    with pytest.raises(TypeError, match="alpha"):
        contours(cone(), [0.5], alpha=0.3)
    with pytest.raises(ValueError, match="one 2-D map"):
        contours(np.zeros((3, 4, 4)), [0.5])
    with pytest.raises(ValueError, match=r"shape must be the image's \(Y, X\)"):
        contours(cone(), [0.5], shape=(0, 12))
    with pytest.raises(ValueError, match="interpolation"):
        contours(cone(), [0.5], interpolation="bicubic")


def test_a_large_map_is_traced_on_a_bounded_grid():
    rows, cols = np.mgrid[0:400, 0:600]
    blob = -np.hypot(rows - 199.5, cols - 299.5)  # a cone at the map's centre
    [ring] = contours(blob, [0.5], shape=(8000, 12000), vmin=-200, vmax=0)[0.5]
    # 16 samples a map pixel would be 6400 x 9600; at most 2**22 samples are
    # traced (1672 x 2508), so the vertices are ~4.8 image pixels apart
    spacing = np.hypot(*np.diff(ring, axis=0).T).mean()
    assert 3.0 < spacing < 6.0
    radii = np.hypot(ring[:, 0] - 3999.5, ring[:, 1] - 5999.5)
    np.testing.assert_allclose(radii, 2000.0, atol=1.0)  # 100 map pixels


def test_drawn_ring_sits_on_the_contour_and_leaves_the_rest_alone():
    image = np.random.default_rng(2).integers(0, 256, (IMAGE, IMAGE, 3), np.uint8)
    blended = overlay(image, cone(), **CONE_WINDOW)
    traced = contours(cone(), [0.5], shape=(IMAGE, IMAGE), **CONE_WINDOW)
    drawn = draw_contours(blended.copy(), traced, colour="white", width=3)
    ring = ring_of(traced)
    distance, _ = cKDTree(densify(ring)).query(
        np.argwhere(np.ones((IMAGE, IMAGE), bool)).astype(float)
    )
    distance = distance.reshape(IMAGE, IMAGE)
    far = distance > 2.0 + 0.1  # width / 2 + 0.5, and the densifying's error
    np.testing.assert_array_equal(drawn[far], blended[far])
    assert (drawn[distance < 1.0] == 255).all()  # fully covered: white
    # on black, the grey level is the coverage: its weighted mean radius is
    # the contour's
    black = draw_contours(np.zeros((IMAGE, IMAGE, 3), np.uint8), traced, width=3)
    weight = black[..., 0].astype(float)
    rows, cols = np.mgrid[0:IMAGE, 0:IMAGE]
    radii = np.hypot(rows - CENTRE[0], cols - CENTRE[1])
    contour_radius = np.hypot(*(ring - CENTRE).T).mean()
    assert (weight * radii).sum() / weight.sum() == pytest.approx(
        contour_radius, abs=0.05
    )
    assert weight.sum() / 255 / (2 * np.pi * contour_radius) == pytest.approx(
        3.0, rel=0.02
    )  # the stroke is as wide as asked


def test_draw_contours_refuses_what_it_cannot_draw_on():
    with pytest.raises(ValueError, match="uint8"):
        draw_contours(np.zeros((4, 4, 3)), [])
    with pytest.raises(ValueError, match="width"):
        draw_contours(np.zeros((4, 4, 3), np.uint8), [], width=0)
    with pytest.raises(ValueError, match="RGBA"):
        draw_contours(np.zeros((4, 4, 3), np.uint8), [], colour="no-such-colour")


# --- the command line: --contours in folders and zarr stores -----------------

COMMAND = [sys.executable, "-m", "napari_heatoverlay"]
LINE_FLAGS = ("--contours", "0.3,0.7", "--contour-colour", "#00ff80")


def run_cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*COMMAND, *map(str, args)], capture_output=True, text=True, timeout=300
    )


def test_every_pair_of_a_folder_gets_the_lines_of_its_single_pair_run(tmp_path):
    images, heatmaps = tmp_path / "images", tmp_path / "heatmaps"
    images.mkdir()
    heatmaps.mkdir()
    rng = np.random.default_rng(11)
    for number, shape in enumerate([(96, 128), (80, 80), (64, 100)]):
        iio.imwrite(
            images / f"p{number}.png", rng.integers(0, 256, (*shape, 3), np.uint8)
        )
        np.save(heatmaps / f"p{number}.npy", rng.normal(size=(6, 8)))
    flags = (*LINE_FLAGS, "--contour-width", "1.5", "--interpolation", "cubic")
    # two processes: the recipe, the lines with it, travels to spawned workers
    folder = run_cli(images, heatmaps, "-o", tmp_path / "out", "-j", "2", *flags)
    assert folder.returncode == 0, folder.stderr
    assert "wrote 3 of 3" in folder.stdout
    for number in range(3):
        single = tmp_path / f"single{number}.png"
        result = run_cli(
            images / f"p{number}.png", heatmaps / f"p{number}.npy", "-o", single, *flags
        )
        assert result.returncode == 0, result.stderr
        from_folder = iio.imread(tmp_path / "out" / f"p{number}.png")
        alone = iio.imread(single)
        np.testing.assert_array_equal(from_folder, alone)
        image = iio.imread(images / f"p{number}.png")
        plain = overlay(
            image, np.load(heatmaps / f"p{number}.npy"), interpolation="cubic"
        )
        changed = (alone != plain).any(axis=-1).mean()
        assert 0.005 < changed < 0.5  # lines were drawn, over part of the picture


def drawn_slice(rgb, heat, window, shape, width, order=1):
    """One slice as the single-frame path draws it: trace() of its own
    resampled heat on the given window, then draw_contours()."""
    from napari_heatoverlay.engine.contours import trace

    traced = trace(heat, window, (0.3, 0.7), shape=shape, order=order)
    lines = [line for group in traced.values() for line in group]
    return draw_contours(rgb.copy(), lines, colour="#00ff80", width=width), lines


def away_from(lines, shape, reach):
    """Pixels farther than `reach` (+ the densifying's error) from every line."""
    if not lines:
        return np.ones(shape, bool)
    points = np.concatenate([densify(line, 20) for line in lines])
    pixels = np.argwhere(np.ones(shape, bool)).astype(float)
    distance, _ = cKDTree(points).query(pixels)
    return distance.reshape(shape) > reach + 0.1


def test_a_zarr_volume_gets_each_slices_lines_chunk_by_chunk(tmp_path):
    zarr = pytest.importorskip("zarr")
    from napari_heatoverlay.engine.normalize import compute_window
    from napari_heatoverlay.engine.options import OverlayOptions
    from napari_heatoverlay.engine.volume import on_image_z
    from napari_heatoverlay.io.images import open_zarr_image

    rng = np.random.default_rng(12)
    volume = rng.integers(0, 256, (6, 90, 110), dtype=np.uint8)
    z, y, x = np.mgrid[0:3, 0:9, 0:11]
    heat = -np.hypot(y - 4.0 - z, x - 5.0) + rng.normal(0, 0.3, (3, 9, 11))
    # chunks of 32 x 32: the rings cross chunk borders in every slice
    zarr.create_array(str(tmp_path / "volume.zarr"), data=volume, chunks=(1, 32, 32))
    tifffile.imwrite(tmp_path / "volume.tif", volume)
    np.save(tmp_path / "map.npy", heat)
    plain = overlay(volume, heat, spatial_dims=3)
    options = OverlayOptions(spatial_dims=3)
    n, window = on_image_z(heat, 6, compute_window(heat, options), order=1)
    for source in ("volume.zarr", "volume.tif"):
        out = tmp_path / f"from-{source}.zarr"
        result = run_cli(
            tmp_path / source, tmp_path / "map.npy", "-o", out, "--spatial-dims", "3",
            *LINE_FLAGS, "--contour-width", "2.5",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        written = np.asarray(open_zarr_image(out)[0])
        assert written.shape == plain.shape
        traced = []
        for index in range(6):
            expected, lines = drawn_slice(
                plain[index], n[index], window, (90, 110), 2.5
            )
            np.testing.assert_array_equal(written[index], expected)
            far = away_from(lines, (90, 110), 2.5 / 2 + 0.5)
            np.testing.assert_array_equal(written[index][far], plain[index][far])
            assert (written[index] != plain[index]).any()
            traced.append(np.concatenate(lines))
        assert not np.array_equal(traced[0], traced[-1])  # each slice its own lines
    tiff = run_cli(
        tmp_path / "volume.tif", tmp_path / "map.npy", "-o", tmp_path / "out.tif",
        "--spatial-dims", "3", *LINE_FLAGS, "--contour-width", "2.5",
    )  # fmt: skip
    assert tiff.returncode == 0, tiff.stderr
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "out.tif"), written)


def test_a_zarr_stack_and_a_pyramid_get_their_lines_chunk_by_chunk(tmp_path):
    pytest.importorskip("zarr")
    import dask.array as da

    from napari_heatoverlay.engine.normalize import compute_window
    from napari_heatoverlay.engine.options import OverlayOptions
    from napari_heatoverlay.io.images import open_zarr_image
    from napari_heatoverlay.io.outputs import write_zarr

    rng = np.random.default_rng(13)
    frames = rng.integers(0, 256, (3, 100, 120, 3), dtype=np.uint8)
    slide = rng.integers(0, 256, (200, 240, 3), dtype=np.uint8)
    pyramid = [slide, slide[::2, ::2], slide[::4, ::4]]
    heat = cone(12, 100) + rng.normal(0, 3.0, (12, 12))
    np.save(tmp_path / "heat.npy", heat)
    write_zarr(
        da.from_array(frames, chunks=(1, 40, 40, 3)),
        tmp_path / "frames.zarr",
        progress=False,
    )
    write_zarr(
        [da.from_array(level, chunks=(48, 48, 3)) for level in pyramid],
        tmp_path / "slide.zarr",
        progress=False,
    )
    window = compute_window(heat, OverlayOptions())
    for name, levels in (("frames", [frames]), ("slide", pyramid)):
        out = tmp_path / f"{name}-out.zarr"
        result = run_cli(tmp_path / f"{name}.zarr", tmp_path / "heat.npy", "-o", out,
                         *LINE_FLAGS)  # fmt: skip
        assert result.returncode == 0, result.stderr
        written = [np.asarray(level) for level in open_zarr_image(out)]
        assert len(written) == len(levels)
        for got, image in zip(written, levels, strict=True):
            plain = overlay(image, heat)
            for index in np.ndindex(*image.shape[:-3]):
                shape = image.shape[-3:-1]
                expected, lines = drawn_slice(plain[index], heat, window, shape, 2.0)
                np.testing.assert_array_equal(got[index], expected)
                far = away_from(lines, shape, 1.5)
                np.testing.assert_array_equal(got[index][far], plain[index][far])
                assert 0.005 < (got[index] != plain[index]).any(-1).mean() < 0.5


def test_a_frame_stack_to_zarr_gets_each_frames_lines_of_its_own_map(tmp_path):
    zarr = pytest.importorskip("zarr")
    from napari_heatoverlay.io.images import open_zarr_image

    rng = np.random.default_rng(15)
    frames = rng.integers(0, 256, (3, 100, 120, 3), dtype=np.uint8)
    maps = np.stack([cone(12, 100), cone(12, 100).T, 0.5 * cone(12, 100)])
    maps += rng.normal(0, 3.0, maps.shape)
    np.save(tmp_path / "maps.npy", maps)
    tifffile.imwrite(tmp_path / "frames.tif", frames)
    zarr.create_array(str(tmp_path / "frames.zarr"), data=frames, chunks=(1, 40, 40, 3))
    window = {"vmin": maps.min(), "vmax": maps.max()}  # the stack's, for every frame
    for source in ("frames.tif", "frames.zarr"):
        out = tmp_path / f"{source}-out.zarr"
        result = run_cli(tmp_path / source, tmp_path / "maps.npy", "-o", out,
                         *LINE_FLAGS)  # fmt: skip
        assert result.returncode == 0, result.stderr
        written = np.asarray(open_zarr_image(out)[0])
        traced = []
        for t in range(3):
            plain = overlay(frames[t], maps[t], **window)
            lines = contours(maps[t], (0.3, 0.7), shape=(100, 120), **window)
            expected = draw_contours(plain.copy(), lines, colour="#00ff80")
            np.testing.assert_array_equal(written[t], expected, err_msg=source)
            assert (written[t] != plain).any()
            traced.append(np.concatenate(lines[0.7]))
        assert not np.array_equal(traced[0], traced[1])  # each frame its own lines


def test_lazy_lines_are_drawn_per_chunk_seamlessly_and_only_when_computed():
    import dask.array as da

    from napari_heatoverlay.cli.lines import Lines, outline_all, outline_lazy
    from napari_heatoverlay.engine.options import OverlayOptions

    rng = np.random.default_rng(14)
    image = rng.integers(0, 256, (2, 130, 150, 3), dtype=np.uint8)
    heat = np.stack([cone(10, 130), cone(10, 130).T])
    lines = Lines((0.25, 0.5, 0.75), (1.0, 0.0, 0.0), 3.5)
    options = OverlayOptions(**CONE_WINDOW)
    whole = outline_all(overlay(image, heat, **CONE_WINDOW), heat, lines, options)
    lazy_image = da.from_array(image, chunks=(1, 23, 37, 3))  # odd chunk sizes
    lazy = outline_lazy(overlay(lazy_image, heat, **CONE_WINDOW), heat, lines, options)
    assert isinstance(lazy, da.Array)
    assert lazy.chunks[1:3] == lazy_image.chunks[1:3]
    with mock.patch.object(
        engine_contours, "trace", wraps=engine_contours.trace
    ) as spy:
        lazy = outline_lazy(
            overlay(lazy_image, heat, **CONE_WINDOW), heat, lines, options
        )
        assert spy.call_count == 0  # building the graph traces nothing
        np.testing.assert_array_equal(
            lazy[1, 40:80, 50:100].compute(), whole[1, 40:80, 50:100]
        )
        assert spy.call_count == 1  # one slice, traced once for its 6 chunks
    np.testing.assert_array_equal(lazy.compute(), whole)
