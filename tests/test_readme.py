"""The README's Python examples run as they are, in order, on the sample data."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_the_readme_has_python_examples():
    assert len(python_blocks()) >= 4


def test_every_python_block_runs(tmp_path, monkeypatch, make_napari_viewer):
    import napari

    monkeypatch.chdir(tmp_path)
    viewers = []

    def viewer_for_the_readme(*args, **kwargs):
        viewers.append(make_napari_viewer(*args, **kwargs))
        return viewers[-1]

    monkeypatch.setattr(napari, "Viewer", viewer_for_the_readme)
    namespace: dict = {}
    for number, block in enumerate(python_blocks()):
        try:
            exec(compile(block, f"README.md python block {number}", "exec"), namespace)
        except Exception as error:
            pytest.fail(f"README python block {number} failed: {error!r}\n{block}")
    assert viewers, "the napari example made no viewer"
    assert (tmp_path / "figure.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "slide_overlay.zarr").is_dir()
    assert namespace["stack"].shape == (16, 400, 600, 3)
    assert namespace["movie"].shape == (8, 400, 600, 3)
    assert namespace["tile"].shape == (1024, 1024, 3)
    lines = namespace["lines"]  # the widget's contour layer over the sample
    assert lines.nshapes >= 2
    assert sorted(set(lines.features["level"])) == [0.5, 0.8]
