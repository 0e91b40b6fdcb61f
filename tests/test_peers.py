"""The peers' own functions as oracles: captum, torchcam, pytorch-grad-cam, MONAI.

Each is a test-only dependency; a missing one skips with the reason. The
differences measured here are stated in the README ("Coming from another
library").
"""

import ast
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from napari_heatoverlay import overlay

rng = np.random.default_rng(2024)


def photo(shape=(48, 64)):
    return rng.integers(0, 256, (*shape, 3), dtype=np.uint8)


def grey_levels(ours, theirs):
    return np.abs(ours.astype(np.float64) - np.asarray(theirs, dtype=np.float64))


@pytest.mark.parametrize("sign", ["all", "positive", "negative", "absolute_value"])
@pytest.mark.parametrize("outlier_perc", [2, 10])
def test_captum_normalised_attributions(sign, outlier_perc):
    visualization = pytest.importorskip("captum.attr._utils.visualization")
    attribution = rng.standard_t(3, size=(30, 40)).astype(np.float32)
    theirs = visualization._normalize_attr(attribution, sign, outlier_perc)
    from napari_heatoverlay import normalize

    ours = normalize(
        attribution, norm="cumulative", sign=sign, outlier_perc=outlier_perc
    )
    mapped = 0.5 + theirs / 2 if sign == "all" else theirs
    np.testing.assert_allclose(ours, mapped, atol=2e-7)


@pytest.mark.parametrize("sign", ["all", "positive", "negative", "absolute_value"])
def test_captum_blended_heat_map(sign):
    visualization = pytest.importorskip("captum.attr._utils.visualization")
    image = photo()
    attribution = rng.normal(size=(48, 64, 3)).astype(np.float32)
    _, axis = visualization.visualize_image_attr(
        attribution,
        image,
        method="blended_heat_map",
        sign=sign,
        outlier_perc=2,
        alpha_overlay=0.4,
        use_pyplot=False,
    )
    background, heat = axis.images
    # matplotlib composites captum's two artists: heat over the grey image
    grey = background.to_rgba(background.get_array())[..., :3]
    colour = heat.to_rgba(heat.get_array())[..., :3]
    theirs = 255 * (0.6 * grey + 0.4 * colour)
    mean = image.mean(axis=2)
    ours = overlay(
        mean,
        attribution.sum(axis=2),
        norm="cumulative",
        sign=sign,
        outlier_perc=2,
        colormap=heat.cmap,
        alpha=0.4,
        image_range=(mean.min(), mean.max()),
    )
    # matplotlib draws captum's grey background through its 256-entry "gray"
    # table (a step of 0.6 levels at alpha 0.4); ours is scaled continuously
    # and rounded once
    assert grey_levels(ours, theirs).max() <= 1.5


def test_torchcam_overlay_mask_with_gamma_two():
    utils = pytest.importorskip("torchcam.utils")
    from PIL import Image

    image = photo((60, 80))
    mask = rng.random((60, 80)).astype(np.float32)  # already at image size
    theirs = np.asarray(
        utils.overlay_mask(
            Image.fromarray(image), Image.fromarray(mask, mode="F"), alpha=0.7
        )
    )
    ours = overlay(image, mask, norm="none", gamma=2.0, alpha=0.3, colormap="jet")
    assert grey_levels(ours, theirs).max() <= 1.0


def test_torchcam_overlay_mask_resampled_differs_only_by_the_interpolation():
    utils = pytest.importorskip("torchcam.utils")
    from PIL import Image

    image = photo((120, 160))
    rows, cols = np.mgrid[:7, :7] / 6.0
    mask = (np.exp(-((rows - 0.4) ** 2 + (cols - 0.6) ** 2) * 6)).astype(np.float32)
    theirs = np.asarray(
        utils.overlay_mask(
            Image.fromarray(image), Image.fromarray(mask, mode="F"), alpha=0.7
        )
    )
    ours = overlay(
        image, mask, norm="none", gamma=2.0, alpha=0.3, interpolation="cubic"
    )
    difference = grey_levels(ours, theirs)
    # PIL's bicubic (Keys, a = -0.5) against scikit-image's cubic spline on a
    # 7 x 7 map upsampled 17x: the README states these figures
    assert np.percentile(difference, 99) <= 6.0
    assert difference.mean() <= 1.5


def grad_cam_show_cam_on_image():
    """pytorch-grad-cam's own show_cam_on_image, from its source file.

    Importing ``pytorch_grad_cam`` imports torchvision, whose PyPI wheel does
    not load against the CPU build of torch here; the function itself needs
    only cv2 and numpy, so its source is executed as it is.
    """
    spec = importlib.util.find_spec("pytorch_grad_cam")
    if spec is None or spec.submodule_search_locations is None:
        pytest.skip("pytorch-grad-cam is not installed (pip install grad-cam)")
    cv2 = pytest.importorskip("cv2")
    source = Path(spec.submodule_search_locations[0], "utils", "image.py").read_text()
    tree = ast.parse(source)
    [function] = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == "show_cam_on_image"
    ]
    namespace = {"np": np, "cv2": cv2}
    exec(
        compile(ast.Module([function], []), "pytorch_grad_cam/utils/image.py", "exec"),
        namespace,
    )
    return namespace["show_cam_on_image"], cv2


def test_grad_cam_show_cam_on_image_with_opencvs_jet():
    show_cam_on_image, cv2 = grad_cam_show_cam_on_image()
    image = photo()
    image[0, 0] = 255  # a white pixel: grad-cam divides by the blend's maximum
    mask = rng.random((48, 64)).astype(np.float32)
    mask[0, 0] = 0.5  # jet is 255 in green there, so the maximum blend is 1
    theirs = show_cam_on_image(image.astype(np.float32) / 255, mask, use_rgb=True)
    jet = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_JET)
    jet = jet[:, 0, ::-1]  # BGR to RGB
    # grad-cam indexes the table with floor(255 n); a 255-row table gives the
    # same rows for n < 1
    ours = overlay(image, mask, norm="none", colormap=jet[:255], alpha=0.5)
    assert grey_levels(ours, theirs).max() <= 1.0


def test_monai_blend_images_with_an_alpha_array():
    utils = pytest.importorskip("monai.visualize.utils")
    image = rng.random((1, 40, 56)).astype(np.float32)
    label = rng.random((1, 40, 56)).astype(np.float32)
    alpha = rng.random((1, 40, 56)).astype(np.float32)
    theirs = utils.blend_images(
        image, label, alpha=alpha, cmap="hsv", transparent_background=False
    )
    theirs = 255 * np.moveaxis(np.asarray(theirs), 0, -1)
    ours = overlay(
        image[0],
        label[0],
        colormap="hsv",
        alpha=alpha[0],
        image_range=(image.min(), image.max()),
    )
    assert grey_levels(ours, theirs).max() <= 1.0
