"""RLE encode/decode/area/bbox/merge against pycocotools, byte for byte."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as mask_utils

import maskkit
from maskkit.errors import InvalidRLEError


@st.composite
def masks(draw):
    h = draw(st.integers(0, 20))
    w = draw(st.integers(0, 20))
    kind = draw(st.sampled_from(["noise", "block", "full", "empty"]))
    if kind == "noise":
        return draw(arrays(np.uint8, (h, w), elements=st.integers(0, 1)))
    m = np.zeros((h, w), np.uint8)
    if kind == "full":
        m[:] = 1
    elif kind == "block" and h and w:
        y0, x0 = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
        m[y0:draw(st.integers(y0, h)), x0:draw(st.integers(x0, w))] = 1
    return m


def ref_encode(m):
    return mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))


@given(masks())
def test_encode_is_byte_identical(m):
    ref = ref_encode(m)
    got = maskkit.rle_encode(m)
    assert got["size"] == list(m.shape)
    assert got["counts"].encode("ascii") == ref["counts"]


@given(masks())
def test_roundtrips_and_measures(m):
    rle = maskkit.rle_encode(m)
    np.testing.assert_array_equal(maskkit.rle_decode(rle), m)
    np.testing.assert_array_equal(maskkit.rle_decode(maskkit.rle_encode(m, compressed=False)), m)
    assert maskkit.rle_area(rle) == int(m.sum())
    if m.size:
        ref = ref_encode(m)
        np.testing.assert_array_equal(maskkit.rle_to_bbox(rle), mask_utils.toBbox(ref))
        np.testing.assert_array_equal(maskkit.rle_decode(rle), mask_utils.decode(ref))
        # the compressed string pycocotools wrote decodes to the same mask
        np.testing.assert_array_equal(
            maskkit.rle_decode({"size": ref["size"], "counts": ref["counts"]}), m)


@given(st.lists(masks(), min_size=1, max_size=4).filter(lambda ms: len({x.shape for x in ms}) == 1))
def test_merge_is_union_like_pycocotools(ms):
    got = maskkit.rle_merge([maskkit.rle_encode(m) for m in ms])
    union = np.any(np.stack(ms), axis=0).astype(np.uint8)
    assert got == maskkit.rle_encode(union)
    if union.size:
        ref = mask_utils.merge([ref_encode(m) for m in ms])
        assert got["counts"].encode("ascii") == ref["counts"]


def test_bool_and_nonbinary_masks_count_nonzero_as_foreground():
    m = np.array([[0, 2], [7, 0]], np.int32)
    assert maskkit.rle_encode(m) == maskkit.rle_encode(m != 0)
    assert maskkit.rle_encode(np.asfortranarray(m)) == maskkit.rle_encode(m)


def test_large_counts_roundtrip_through_the_delta_encoding():
    m = np.zeros((3000, 2000), np.uint8)
    m[1234:2999, 17:1999] = 1
    m[0, 0] = 1
    rle = maskkit.rle_encode(m)
    assert rle["counts"].encode() == ref_encode(m)["counts"]
    np.testing.assert_array_equal(maskkit.rle_decode(rle), m)


@pytest.mark.parametrize(
    "rle, match",
    [
        ({"size": [2, 2], "counts": [1, 2]}, "sum to 3"),
        ({"size": [2, 2], "counts": [5, -1]}, "negative"),
        ({"size": [2, 2], "counts": "0\x7f"}, "outside"),
        ({"size": [2, 2], "counts": "0P"}, "ends in the middle"),
        ({"size": [2, 2], "counts": "oooooooooooooo0"}, "longer than"),
        ({"size": [2, 2], "counts": [1.5, 2.5]}, "integers"),
        ({"size": [2], "counts": [4]}, "height, width"),
        ({"counts": [4]}, "missing"),
        ({"size": [2, 2], "counts": None}, "string or a list"),
    ],
)
def test_corrupt_rle_raises(rle, match):
    with pytest.raises(InvalidRLEError, match=match):
        maskkit.rle_decode(rle)


def test_bytes_counts_accepted():
    m = np.eye(4, dtype=np.uint8)
    ref = ref_encode(m)
    np.testing.assert_array_equal(maskkit.rle_decode(ref), m)
