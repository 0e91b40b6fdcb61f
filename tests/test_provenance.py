"""The provenance record and its snippet, which recomputes the result."""

import json
import subprocess
import sys

import numpy as np
import pytest
from napari.layers import Image
from napari.utils.colormaps import Colormap

from napari_heatoverlay import __version__, add_overlay
from napari_heatoverlay.plugin.plan import plan_overlay
from napari_heatoverlay.plugin.provenance import (
    colormap_name,
    colormap_source,
    provenance_record,
    snippet,
)

rng = np.random.default_rng(9)


@pytest.fixture
def pair():
    image = rng.integers(0, 256, size=(60, 90, 3), dtype=np.uint8)
    heat = rng.normal(size=(10, 12)).astype(np.float32)
    return (
        Image(image, name="photo", rgb=True),
        Image(heat, name="heat", colormap="inferno"),
    )


def _run(code, image_layer, heatmap_layer):
    namespace = {"image": image_layer.data, "heatmap": heatmap_layer.data}
    exec(code, namespace)
    return namespace["result"]


def test_record_names_sources_parameters_and_version(pair):
    image, heat = pair
    plan = plan_overlay(image, heat, mode="scaled", alpha=0.3)
    record = provenance_record(plan)
    assert record["role"] == "overlay"
    assert record["sources"] == {"image": "photo", "heatmap": "heat"}
    assert record["source_ids"] == {
        "image": str(image.unique_id),
        "heatmap": str(heat.unique_id),
    }
    assert record["heatmap_window"] == {"rows": [0, 10], "cols": [0, 12]}
    assert record["version"] == __version__
    assert record["snippet"] == snippet(plan)
    parameters = record["parameters"]
    assert parameters["mode"] == "scaled" and type(parameters["mode"]) is str
    assert parameters["alpha"] == 0.3
    assert parameters["colormap"] == "inferno"
    json.dumps({key: value for key, value in record.items() if key != "snippet"})


def test_snippet_reproduces_a_cropped_and_padded_overlay(pair):
    image, heat = pair
    heat.data = heat.data[:4]
    heat.scale = (10, 10)
    heat.translate = (4.5, -5.5)  # needs a crop and a NaN pad
    plan = plan_overlay(image, heat, mode="multiply", threshold=0.3)
    code = snippet(plan)
    assert "np.pad" in code
    assert "heatmap = heatmap[..., 0:4, 1:10]" in code
    np.testing.assert_array_equal(_run(code, image, heat), plan.compute())


def test_snippet_of_a_volume_reproduces_its_3d_bake_and_depth_window():
    volume = Image(rng.random((24, 32, 32)).astype(np.float32), name="volume")
    heat = Image(rng.random((2, 3, 4, 4)).astype(np.float32), name="heat")
    heat.scale, heat.translate = (1, 4, 8, 8), (0, 9.5, 3.5, 3.5)  # part of depth
    plan = plan_overlay(volume, heat, interpolation="cubic")
    assert plan.depth == (-2, 4) and plan.shape == (2, 24, 32, 32, 3)
    record = provenance_record(plan)
    assert record["heatmap_window"]["depth"] == [-2, 4]
    assert record["parameters"]["spatial_dims"] == 3
    code = snippet(plan)
    assert "heatmap = heatmap[" not in code  # nothing to crop, only to pad
    assert "[(0, 0)] * (heatmap.ndim - 3) + [(2, 1), (0, 0), (0, 0)]" in code
    assert "spatial_dims=3" in code
    np.testing.assert_array_equal(_run(code, volume, heat), plan.compute())


def test_snippet_of_a_custom_napari_colormap_runs_in_a_new_process(pair, tmp_path):
    image, heat = pair
    # napari registers the name for this session only
    heat.colormap = {"colors": [[0, 0, 1, 1], [1, 1, 0, 1]], "name": "blue to yellow"}
    plan = plan_overlay(image, heat)
    code = snippet(plan)
    assert "Colormap(colors=" in code
    np.savez(tmp_path / "layers.npz", image=image.data, heatmap=heat.data)
    script = (
        "import numpy as np\n"
        f"arrays = np.load({str(tmp_path / 'layers.npz')!r})\n"
        "image, heatmap = arrays['image'], arrays['heatmap']\n"
        f"{code}"
        f"np.save({str(tmp_path / 'result.npy')!r}, result)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "result.npy"), plan.compute())


def test_snippet_in_the_result_layer_reproduces_its_pixels(make_napari_viewer):
    viewer = make_napari_viewer()
    image = viewer.add_image(rng.random((30, 40)), name="grey")
    heat = viewer.add_image(rng.random((3, 4)), name="heat", colormap="viridis")
    result = add_overlay(viewer, image, heat, norm="percentile", percentiles=(5, 95))
    code = result.metadata["heatoverlay"]["snippet"]
    assert "ensure_colormap('viridis')" in code
    np.testing.assert_array_equal(_run(code, image, heat), result.data)


def test_colormap_helpers():
    assert colormap_name("jet") == "jet"
    assert colormap_name(Colormap([[0, 0, 0, 1], [1, 1, 1, 1]], name="ramp")) == "ramp"
    assert colormap_source(np.array([[0.0, 0.5, 1.0]])) == (
        "np.array([[0.0, 0.5, 1.0]])",
        ["import numpy as np"],
    )
    with pytest.raises(ValueError, match="cannot record colormap"):
        colormap_source(object())
