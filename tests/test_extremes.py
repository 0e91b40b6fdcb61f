"""The engine at the edges: extreme values, every dtype and byte order, lists."""

import math
import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from napari_heatoverlay import normalize, overlay

INT64 = np.iinfo(np.int64)
UINT64 = np.iinfo(np.uint64)


def exact_minmax(values):
    """The documented (h - min) / (max - min), in exact rational arithmetic."""
    numbers = [
        Fraction(int(v)) if isinstance(v, np.integer) else Fraction(float(v))
        for v in values
    ]
    lo, hi = min(numbers), max(numbers)
    if lo == hi:
        return np.zeros(len(numbers))
    return np.array([float((v - lo) / (hi - lo)) for v in numbers])


@pytest.mark.parametrize(
    "values",
    [
        np.array([2**24, 2**24 + 1, 2**24 + 2, 2**24 + 3], np.int32),
        np.array([2**40, 2**40 + 1, 2**40 + 2, 2**40 + 3], np.int64),
        np.array([2**62, 2**62 + 1, 2**62 + 2, 2**62 + 3], np.int64),
        np.array([INT64.min, INT64.min + 1, INT64.max - 1, INT64.max], np.int64),
        np.array(
            [UINT64.max - 3, UINT64.max - 2, UINT64.max - 1, UINT64.max], np.uint64
        ),
        np.array([-1e308, -1e307, 1e307, 1e308]),
        np.array([-np.finfo(float).max, 0.0, np.finfo(float).max]),
        np.array([1e-320, 2e-320, 3e-320, 4e-320]),
        np.array([5e-324, 1e-323, 1.5e-323]),
        np.array([65504.0, -65504.0, 0.0], np.float16),
    ],
    ids=[
        "int32>2^24",
        "int64 2^40",
        "int64 2^62",
        "int64 full",
        "uint64 top",
        "1e308",
        "float max",
        "denormal",
        "smallest denormals",
        "float16",
    ],
)
def test_minmax_follows_the_formula_at_the_extremes(values):
    np.testing.assert_allclose(normalize(values), exact_minmax(values), atol=1e-6)


@given(
    arrays(
        np.float64,
        st.integers(2, 30),
        elements=st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True),
    )
)
@settings(max_examples=300, deadline=None)
def test_minmax_over_the_whole_float64_range(values):
    np.testing.assert_allclose(normalize(values), exact_minmax(values), atol=1e-6)


@given(arrays(np.int64, st.integers(2, 20), elements=st.integers(INT64.min, INT64.max)))
@settings(max_examples=200, deadline=None)
def test_minmax_over_the_whole_int64_range(values):
    np.testing.assert_allclose(normalize(values), exact_minmax(values), atol=1e-6)


@given(
    st.floats(min_value=-1e308, max_value=1e308, allow_subnormal=True),
    st.floats(min_value=1e-300, max_value=1e308),
)
@settings(max_examples=200, deadline=None)
def test_symmetric_and_max_follow_their_formulas(centre, spread):
    values = np.array([centre - spread, centre, centre + spread])
    values = values[np.isfinite(values)]
    if values.max() == values.min():
        return
    bound = max(Fraction(float(-values.min())), Fraction(float(values.max())))
    expected = [
        float(min(max(Fraction(0.5) + Fraction(float(v)) / (2 * bound), 0), 1))
        for v in values
    ]
    np.testing.assert_allclose(normalize(values, norm="symmetric"), expected, atol=1e-6)
    top = Fraction(float(values.max()))
    if top > 0:
        expected = [float(max(Fraction(float(v)), 0) / top) for v in values]
        np.testing.assert_allclose(normalize(values, norm="max"), expected, atol=1e-6)


def test_percentile_window_of_huge_integers_is_exact():
    values = np.array([2**62 + k for k in range(101)], np.int64)
    got = normalize(values, norm="percentile", percentiles=(10, 90))
    expected = np.clip((np.arange(101) - 10) / 80, 0, 1)
    np.testing.assert_allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("value", [-7.0, 0.0, 3.0, 1e308, 2**62])
@pytest.mark.parametrize(
    ("norm", "expected"),
    [("minmax", 0.0), ("max", 0.0), ("percentile", 0.0), ("symmetric", 0.5)],
)
def test_a_constant_map_gives_exactly_the_documented_n(value, norm, expected):
    heat = np.full((3, 4), value, dtype=np.int64 if value == 2**62 else np.float64)
    assert np.all(normalize(heat, norm=norm) == expected)


def test_a_constant_map_under_sigmoid_and_none():
    assert np.allclose(
        normalize(np.full((2, 2), 2.0), norm="sigmoid"), 1 / (1 + math.exp(-2))
    )
    assert np.all(normalize(np.full((2, 2), 0.25), norm="none") == 0.25)


def test_a_constant_symmetric_map_blends_at_the_middle_colour():
    image = np.zeros((40, 40, 3), np.uint8)
    got = overlay(
        image, np.full((4, 4), 3.0), norm="symmetric", colormap="gray", alpha=1
    )
    assert np.all(got == 128)


DTYPES = ["?", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8", "g"]


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("path", ["0", "1"], ids=["numpy", "kernel"])
def test_every_real_dtype_in_either_byte_order(monkeypatch, dtype, order, path):
    monkeypatch.setenv("HEATOVERLAY_JIT", path)
    kind = np.dtype(dtype)
    if kind.itemsize > 1:
        kind = kind.newbyteorder(order)
    rng = np.random.default_rng(0)
    image = (rng.random((20, 30, 3)) * 100).astype(kind)
    heat = (rng.random((4, 5)) * 100).astype(kind)
    native_image = image.astype(image.dtype.newbyteorder("="))
    native_heat = heat.astype(heat.dtype.newbyteorder("="))
    assert np.array_equal(overlay(image, heat), overlay(native_image, native_heat))


@pytest.mark.parametrize(
    "dtype", ["c8", "c16", "O", "U3", "V8", [("a", "f4"), ("b", "f4")]]
)
def test_unblendable_dtypes_are_refused_by_name(dtype):
    bad = np.zeros((4, 5), dtype=dtype)
    with pytest.raises(TypeError, match="must hold real numbers"):
        overlay(np.zeros((8, 8, 3), np.uint8), bad)
    with pytest.raises(TypeError, match="must hold real numbers"):
        overlay(bad, np.ones((2, 2)))


def test_a_list_of_heatmaps_over_one_image_is_refused():
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match=r"np\.stack"):
        overlay(image, [np.ones((2, 2)), np.zeros((2, 2))])
    stacked = overlay(image, np.stack([np.ones((2, 2)), np.zeros((2, 2))]))
    assert stacked.shape == (2, 8, 8, 3)


def test_nested_lists_are_arrays():
    got = overlay([[0, 255], [128, 64]], [[0.0, 1.0], [2.0, 3.0]])
    expected = overlay(
        np.array([[0, 255], [128, 64]]), np.array([[0.0, 1.0], [2.0, 3.0]])
    )
    assert np.array_equal(got, expected)
    rgb = overlay([[[1, 2, 3]] * 4] * 3, [[1.0, 2.0]])
    assert rgb.shape == (3, 4, 3)


@pytest.mark.parametrize(
    ("size", "words"),
    [
        (196, "reshape(14, 14)"),
        (197, "heatmap[1:].reshape(14, 14)"),
        (12, "reshape(h, w)"),
    ],
)
def test_a_flat_heatmap_gets_a_reshape_hint(size, words):
    with pytest.raises(
        ValueError, match=re.escape(f"({size},)") + ".*" + re.escape(words)
    ):
        overlay(np.zeros((8, 8, 3), np.uint8), list(range(size)))
