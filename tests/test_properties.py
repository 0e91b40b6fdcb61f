"""Property tests: random shapes, dtypes and NaN patterns against the reference."""

import numpy as np
from _reference import on_bin_edge, reference_overlay
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from napari_heatoverlay import overlay

MODES = ["alpha", "gray", "multiply", "scaled", "additive"]
NORMS = ["minmax", "max", "percentile", "sigmoid", "symmetric"]

sizes = st.integers(min_value=1, max_value=24)
heat_values = st.floats(-1e3, 1e3, allow_nan=False, width=32)


@st.composite
def scenes(draw):
    height, width = draw(sizes), draw(sizes)
    image = draw(arrays(np.uint8, (height, width, 3)))
    heat_shape = (draw(sizes), draw(sizes))
    heat_dtype = draw(st.sampled_from([np.float32, np.float64, np.int16, np.uint8]))
    heat = draw(arrays(np.float64, heat_shape, elements=heat_values)).astype(heat_dtype)
    return image, heat


@settings(max_examples=60, deadline=None)
@given(
    scene=scenes(),
    mode=st.sampled_from(MODES),
    norm=st.sampled_from(NORMS),
    interpolation=st.sampled_from(["nearest", "linear", "cubic"]),
    alpha=st.floats(0, 1),
)
def test_matches_reference_within_one_grey_level(
    scene, mode, norm, interpolation, alpha
):
    image, heat = scene
    got = overlay(
        image, heat, mode=mode, norm=norm, interpolation=interpolation, alpha=alpha
    )
    ref, n = reference_overlay(
        image, heat, mode=mode, norm=norm, interpolation=interpolation, alpha=alpha
    )
    assert got.shape == image.shape and got.dtype == np.uint8
    diff = np.abs(got.astype(np.float64) - ref)[~on_bin_edge(n)]
    assert diff.size == 0 or diff.max() <= 1.0


@settings(max_examples=40, deadline=None)
@given(
    scene=scenes(),
    nan_mask=st.data(),
    mode=st.sampled_from(MODES),
)
def test_heat_free_pixels_equal_the_image(scene, nan_mask, mode):
    image, heat = scene
    heat = heat.astype(np.float32)
    mask = nan_mask.draw(arrays(np.bool_, heat.shape))
    heat[mask] = np.nan
    before = heat.copy()
    got = overlay(image, heat, mode=mode, alpha=0.8)
    assert np.array_equal(heat, before, equal_nan=True)
    # nearest-neighbour footprint of the NaN pixels on the image grid
    rows = np.clip(
        np.floor((np.arange(image.shape[0]) + 0.5) * heat.shape[0] / image.shape[0]),
        0,
        heat.shape[0] - 1,
    ).astype(int)
    cols = np.clip(
        np.floor((np.arange(image.shape[1]) + 0.5) * heat.shape[1] / image.shape[1]),
        0,
        heat.shape[1] - 1,
    ).astype(int)
    footprint = mask[np.ix_(rows, cols)]
    assert np.array_equal(got[footprint], image[footprint])


@settings(max_examples=30, deadline=None)
@given(
    height=sizes,
    width=sizes,
    dtype=st.sampled_from([np.uint8, np.uint16, np.int32, np.float32, np.float64]),
    channels=st.sampled_from([None, 3, 4]),
    lead=st.integers(1, 3),
)
def test_any_image_dtype_and_layout(height, width, dtype, channels, lead):
    rng = np.random.default_rng(height * width)
    shape = (lead, height, width) + ((channels,) if channels else ())
    image = (rng.random(shape) * (255 if dtype != np.float32 else 1)).astype(dtype)
    heat = rng.random((lead, 3, 5))
    got = overlay(image, heat, rgb=channels is not None)
    assert got.shape == (lead, height, width, 3) and got.dtype == np.uint8
