"""Movies: MP4 and GIF from frame stacks and maps, streamed and atomic."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
from PIL import Image

from napari_heatoverlay import overlay, write_video
from napari_heatoverlay.cli.lines import Lines, outline
from napari_heatoverlay.engine.normalize import compute_window
from napari_heatoverlay.engine.options import OverlayOptions
from napari_heatoverlay.io import video
from napari_heatoverlay.io.outputs import write_output

COMMAND = [sys.executable, "-m", "napari_heatoverlay"]


def run(*args: object, **popen: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*COMMAND, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        **popen,
    )


def smooth_frames(count: int, shape: tuple[int, int] = (64, 96)) -> np.ndarray:
    """A smooth picture drifting right, frame by frame: codecs keep it well."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    frames = [
        np.stack(
            [
                128 + 90 * np.sin((cols - 2 * t) / 11.0),
                128 + 90 * np.cos(rows / 9.0),
                128 + 60 * np.sin((rows + cols + t) / 15.0),
            ],
            axis=-1,
        )
        for t in range(count)
    ]
    return np.rint(frames).astype(np.uint8)


def moving_maps(count: int, shape: tuple[int, int] = (8, 12)) -> np.ndarray:
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    return np.stack(
        [
            np.exp(-((rows - 3.5) ** 2 + (cols - 2.0 - 0.3 * t) ** 2) / 6.0)
            for t in range(count)
        ]
    ).astype(np.float32)


def assert_one_line_error(result, status: int, *words: str) -> None:
    assert result.returncode == status, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def decode(path: Path) -> np.ndarray:
    return np.stack([frame[..., :3] for frame in iio.imiter(path)])


def frame_errors(decoded: np.ndarray, expected: np.ndarray) -> np.ndarray:
    difference = np.abs(decoded.astype(int) - expected.astype(int))
    return difference.mean(axis=(1, 2, 3))


@pytest.fixture
def movie_files(tmp_path: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    frames, maps = smooth_frames(12), moving_maps(12)
    tifffile.imwrite(tmp_path / "frames.tif", frames)
    np.save(tmp_path / "maps.npy", maps)
    return tmp_path / "frames.tif", tmp_path / "maps.npy", frames, maps


@pytest.mark.parametrize(("suffix", "tolerance"), [(".mp4", 5.0), (".gif", 6.0)])
def test_a_tiff_stack_and_its_maps_make_a_movie_of_the_overlays(
    movie_files, tmp_path, suffix, tolerance
):
    frames_path, maps_path, frames, maps = movie_files
    out = tmp_path / f"movie{suffix}"
    result = run(frames_path, maps_path, "-o", out, "--alpha", "0.6")
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout
    expected = overlay(frames, maps, alpha=0.6)  # one window for the movie
    decoded = decode(out)
    assert decoded.shape == expected.shape
    # mp4: H.264 at quality 8 (CRF 10) with 4:2:0 chroma (3.2 levels here);
    # GIF: 256 colours a frame (4.5 levels)
    assert frame_errors(decoded, expected).max() < tolerance
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["frames.tif", "maps.npy", out.name]
    )


def test_fps_and_quality_reach_the_encoders(movie_files, tmp_path):
    frames_path, maps_path, frames, maps = movie_files
    small, large = tmp_path / "small.mp4", tmp_path / "large.mp4"
    assert run(frames_path, maps_path, "-o", small, "--quality", "2").returncode == 0
    done = run(frames_path, maps_path, "-o", large, "--fps", "25", "--quality", "10")
    assert done.returncode == 0, done.stderr
    assert iio.immeta(large, plugin="FFMPEG")["fps"] == pytest.approx(25)
    assert small.stat().st_size < large.stat().st_size
    assert frame_errors(decode(large), overlay(frames, maps)).max() < 4
    gif = tmp_path / "movie.gif"
    assert run(frames_path, maps_path, "-o", gif, "--fps", "4").returncode == 0
    with Image.open(gif) as picture:
        assert picture.n_frames == 12
        assert picture.info["loop"] == 0
        assert picture.info["duration"] == 250


def test_a_still_picture_or_a_single_map_serves_every_frame(tmp_path):
    frames, maps = smooth_frames(6), moving_maps(6)
    iio.imwrite(tmp_path / "still.png", frames[0])
    np.save(tmp_path / "maps.npy", maps)
    tifffile.imwrite(tmp_path / "frames.tif", frames)
    np.save(tmp_path / "one.npy", maps[2])
    result = run(
        tmp_path / "still.png", tmp_path / "maps.npy", "-o", tmp_path / "a.gif"
    )
    assert result.returncode == 0, result.stderr
    expected = overlay(frames[0], maps)
    assert frame_errors(decode(tmp_path / "a.gif"), expected).max() < 6
    result = run(
        tmp_path / "frames.tif", tmp_path / "one.npy", "-o", tmp_path / "b.gif"
    )
    assert result.returncode == 0, result.stderr
    expected = overlay(frames, maps[2])
    assert frame_errors(decode(tmp_path / "b.gif"), expected).max() < 6


def test_channels_first_frames_and_channel_maps(tmp_path):
    frames, maps = smooth_frames(5), moving_maps(5)
    # three grey pages per frame
    tifffile.imwrite(
        tmp_path / "planes.tif", np.moveaxis(frames, -1, 1), photometric="minisblack"
    )
    features = np.stack([maps, 3 * maps, -maps], axis=1)  # (T, C, h, w)
    np.save(tmp_path / "features.npy", features)
    out = tmp_path / "movie.gif"
    refused = run(tmp_path / "planes.tif", tmp_path / "features.npy", "-o", out)
    assert_one_line_error(refused, 2, "3 channels", "--channel")
    result = run(
        tmp_path / "planes.tif",
        tmp_path / "features.npy",
        "-o",
        out,
        "--channel-axis",
        "1",
        "--reduce",
        "max",
    )
    assert result.returncode == 0, result.stderr
    expected = overlay(frames, features.max(axis=1))
    assert frame_errors(decode(out), expected).max() < 6


def test_a_zarr_movie_is_read_frame_by_frame(tmp_path):
    zarr = pytest.importorskip("zarr")
    frames, maps = smooth_frames(4), moving_maps(4)
    zarr.create_array(str(tmp_path / "frames.zarr"), data=frames, chunks=(1, 32, 32, 3))
    np.save(tmp_path / "maps.npy", maps)
    out = tmp_path / "movie.mp4"
    result = run(tmp_path / "frames.zarr", tmp_path / "maps.npy", "-o", out)
    assert result.returncode == 0, result.stderr
    assert frame_errors(decode(out), overlay(frames, maps)).max() < 5


def test_contours_are_drawn_into_every_frame(movie_files, tmp_path):
    frames_path, maps_path, frames, maps = movie_files
    out = tmp_path / "movie.mp4"
    result = run(
        frames_path,
        maps_path,
        "-o",
        out,
        "--contours",
        "0.5",
        "--contour-colour",
        "black",
        "--contour-width",
        "3",
    )
    assert result.returncode == 0, result.stderr
    decoded, plain = decode(out), overlay(frames, maps)
    window = compute_window(maps, OverlayOptions())
    lines = Lines((0.5,), (0.0, 0.0, 0.0), 3.0)
    for t in (0, 11):
        expected = outline(plain[t].copy(), maps[t], window, lines, OverlayOptions())
        assert (expected != plain[t]).any(axis=-1).mean() > 0.02  # lines are there
        assert frame_errors(decoded[t : t + 1], expected[None]).max() < 5


def test_odd_sizes_are_padded_not_resampled(tmp_path):
    frames = smooth_frames(3, shape=(63, 95))
    rgb = overlay(frames, moving_maps(3))
    path = write_video(tmp_path / "odd.mp4", rgb, progress=False)
    decoded = decode(path)
    assert decoded.shape == (3, 64, 96, 3)
    assert frame_errors(decoded[:, :63, :95], rgb).max() < 5
    assert decoded[:, 63, :95].mean() < 20  # the black row added by the pad


def test_write_video_takes_lazy_frames_and_checks_them(tmp_path):
    da = pytest.importorskip("dask.array")
    frames, maps = smooth_frames(5), moving_maps(5)
    lazy = overlay(da.from_array(frames, chunks=(1, -1, -1, -1)), maps)
    path = write_video(tmp_path / "lazy.gif", lazy, fps=5, progress=False)
    assert frame_errors(decode(path), overlay(frames, maps)).max() < 6
    with pytest.raises(ValueError, match="uint8"):
        write_video(tmp_path / "bad.gif", frames.astype(float), progress=False)
    with pytest.raises(ValueError, match="one size"):
        write_video(tmp_path / "bad.gif", [frames[0], frames[0, :10]], progress=False)
    with pytest.raises(ValueError, match="no frames"):
        write_video(tmp_path / "bad.gif", [], progress=False)
    with pytest.raises(ValueError, match="fps"):
        write_video(tmp_path / "bad.gif", frames, fps=0, progress=False)
    with pytest.raises(ValueError, match="quality"):
        write_video(tmp_path / "bad.mp4", frames, quality=11, progress=False)
    with pytest.raises(ValueError, match=r"\.mp4, \.gif"):
        write_video(tmp_path / "bad.avi", frames, progress=False)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["lazy.gif"]


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_a_failure_mid_movie_leaves_nothing(tmp_path, suffix):
    frames = overlay(smooth_frames(4), moving_maps(4))

    def frames_then_failure():
        yield from frames
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="disk is full"):
        write_video(tmp_path / f"m{suffix}", frames_then_failure(), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_truncated_mp4_is_refused(tmp_path):
    path = write_video(tmp_path / "m.mp4", overlay(smooth_frames(8), moving_maps(8)))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(OSError, match="unreadable movie"):
        video._check_mp4(cut, 8)


@pytest.mark.parametrize(
    ("sig", "status", "suffix"),
    [
        (signal.SIGINT, 130, ".mp4"),
        (signal.SIGTERM, 143, ".mp4"),
        (signal.SIGINT, 130, ".gif"),
    ],
)
def test_interrupted_movies_leave_nothing(tmp_path, sig, status, suffix):
    count = 400
    tifffile.imwrite(tmp_path / "frames.tif", smooth_frames(count, (128, 128)))
    np.save(tmp_path / "maps.npy", moving_maps(count))
    out = tmp_path / f"movie{suffix}"
    process = subprocess.Popen(
        [
            *COMMAND,
            str(tmp_path / "frames.tif"),
            str(tmp_path / "maps.npy"),
            "-o",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(f".movie.*.part{suffix}")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.2)  # a few frames into the movie
    process.send_signal(sig)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == status, errors
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "frames.tif",
        "maps.npy",
    ]


def test_a_full_disk_leaves_nothing(movie_files, tmp_path):
    resource = pytest.importorskip("resource")
    frames_path, maps_path, _, _ = movie_files

    def small_disk() -> None:  # files may not grow past 4 kB (the movies: 9, 54)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4_000, 4_000))

    for suffix in (".mp4", ".gif"):
        out = tmp_path / f"movie{suffix}"
        result = run(frames_path, maps_path, "-o", out, preexec_fn=small_disk)
        assert_one_line_error(result, 1, f"cannot write {out}", "nothing was left")
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "frames.tif",
        "maps.npy",
    ]


def test_mp4_without_imageio_ffmpeg_names_the_install(movie_files, tmp_path):
    frames_path, maps_path, _, _ = movie_files
    hidden = tmp_path / "hidden" / "imageio_ffmpeg"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError('hidden for the test')\n")
    env = {**os.environ, "PYTHONPATH": str(hidden.parent)}
    result = run(frames_path, maps_path, "-o", tmp_path / "m.mp4", env=env)
    assert_one_line_error(result, 1, 'pip install "napari-heatoverlay[video]"')
    assert not (tmp_path / "m.mp4").exists()
    gif = run(frames_path, maps_path, "-o", tmp_path / "m.gif", env=env)
    assert gif.returncode == 0, gif.stderr  # GIF needs no ffmpeg


def test_movie_mistakes_are_one_line_errors(movie_files, tmp_path):
    frames_path, maps_path, _, maps = movie_files
    np.save(tmp_path / "short.npy", maps[:5])
    result = run(frames_path, tmp_path / "short.npy", "-o", tmp_path / "m.gif")
    assert_one_line_error(result, 2, "12 frames", "5 maps")
    result = run(frames_path, maps_path, "-o", tmp_path / "m.gif", "--figure", "f.pdf")
    assert_one_line_error(result, 2, "--figure")
    result = run(frames_path, maps_path, "-o", tmp_path / "m.png", "--fps", "5")
    assert_one_line_error(result, 2, "--fps", "OUT.mp4")
    result = run(frames_path, maps_path, "-o", tmp_path / "m.mp4", "--quality", "11")
    assert_one_line_error(result, 2, "--quality", "0..10")
    result = run(frames_path, maps_path, "-o", tmp_path / "m.gif", "--channel", "0")
    assert_one_line_error(result, 2, "(T, h, w)", "--channel")
    (tmp_path / "taken.gif").write_bytes(b"keep")
    result = run(frames_path, maps_path, "-o", tmp_path / "taken.gif")
    assert_one_line_error(result, 2, "already exists", "--force")
    assert (tmp_path / "taken.gif").read_bytes() == b"keep"


def test_memory_does_not_grow_with_the_movies_length(tmp_path):
    if not Path("/proc/self/status").exists():
        pytest.skip("reads the peak memory from /proc (Linux)")
    # VmHWM is the peak resident memory of this program alone (getrusage's
    # ru_maxrss would count the forked parent's pages too)
    code = (
        "import re, sys\n"
        "from napari_heatoverlay.cli.main import main\n"
        "status = main(sys.argv[1:])\n"
        "status_file = open('/proc/self/status').read()\n"
        "print(status, re.search(r'VmHWM:\\s+(\\d+) kB', status_file).group(1))\n"
    )
    peaks = {}
    # the first run fills the colormap cache (loading matplotlib): warm it up
    for count in (20, 20, 200):
        frames = tmp_path / f"frames{count}.tif"
        with tifffile.TiffWriter(frames) as stack:
            for picture in smooth_frames(count, (256, 256)):
                stack.write(picture, contiguous=True)
        np.save(tmp_path / f"maps{count}.npy", moving_maps(count, (16, 16)))
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                code,
                str(frames),
                str(tmp_path / f"maps{count}.npy"),
                "-o",
                str(tmp_path / f"movie{count}.mp4"),
                "--force",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        status, peak = result.stdout.split()[-2:]
        assert status == "0", result.stderr
        peaks[count] = int(peak) * 1024
    # the 180 more frames are 35 MiB as input and 35 MiB as overlays
    assert peaks[200] - peaks[20] < 8 * 2**20, peaks


def test_write_output_takes_movie_suffixes_too(tmp_path):
    rgb = overlay(smooth_frames(3), moving_maps(3))
    write_output(tmp_path / "movie.gif", rgb)
    write_output(tmp_path / "still.mp4", rgb[1])
    assert frame_errors(decode(tmp_path / "movie.gif"), rgb).max() < 6
    assert frame_errors(decode(tmp_path / "still.mp4"), rgb[1:2]).max() < 5
