"""Tests of maskkit.label against scipy.ndimage, cc3d, skimage and a naive BFS labeller."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st

from maskkit.core.label import label, label_with_stats, largest_k, region_stats, remove_small
from maskkit.errors import InvalidInputError, MaskkitTypeError
from tests.naive_label import bfs_label, naive_stats, raster_canonical, structure

cc3d = pytest.importorskip("cc3d")

INT_DTYPES = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]
CONNECTIVITIES = {2: (4, 8), 3: (6, 18, 26)}


def shapes_2d(max_side=40):
    # widths that are multiples of 8 exercise the 64-bit word scan of 1-byte images; the
    # binary 2-D kernel packs rows into 64-bit words, so widths around 64 and 128 matter
    width = st.one_of(st.integers(1, max_side), st.sampled_from([8, 16, 24, 32, 40]),
                      st.sampled_from([63, 64, 65, 127, 128, 136]))
    return st.tuples(st.integers(1, max_side), width)


def shapes_3d(max_side=12):
    return st.tuples(st.integers(1, max_side), st.integers(1, max_side), st.integers(1, 16))


@st.composite
def images(draw, ndim=None, dtypes=(np.uint8,), max_value=None, max_2d=40, max_3d=12):
    """Small images of few values, so that components have interesting shapes.

    Pixels come from a seeded numpy generator (hypothesis drawing every pixel is too slow
    for 1000 examples per test): uniform noise, blocks of 1-5 pixels, or sparse dots.
    """
    ndim = draw(st.sampled_from([2, 3])) if ndim is None else ndim
    shape = draw(shapes_2d(max_2d) if ndim == 2 else shapes_3d(max_3d))
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    top = draw(st.integers(1, 4)) if max_value is None else max_value
    if dtype.kind == "b":
        top = 1
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    style = draw(st.sampled_from(["noise", "blocks", "sparse"]))
    if style == "blocks":
        block = int(rng.integers(1, 6))
        coarse = rng.integers(0, top + 1, tuple(-(-s // block) for s in shape))
        for axis in range(ndim):
            coarse = np.repeat(coarse, block, axis=axis)
        image = coarse[tuple(slice(0, s) for s in shape)]
    else:
        image = rng.integers(0, top + 1, shape)
        if style == "sparse":
            image[rng.random(shape) < 0.8] = 0
    return image.astype(dtype)


def full(image) -> int:
    """The largest connectivity of the image's dimension."""
    return 8 if image.ndim == 2 else 26


def assert_raster_labels(labels, n):
    """Labels are 0..n, each used, numbered in raster order of first pixel."""
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(raster_canonical(labels), labels)
    assert labels.max(initial=0) == n


# --------------------------------------------------------------------------- vs peers


@given(image=images(ndim=2), conn=st.sampled_from([4, 8]))
def test_binary_2d_matches_scipy(image, conn):
    labels, n = label(image, conn, binary=True, return_count=True)
    ref, ref_n = ndi.label(image != 0, structure(2, conn))
    assert n == ref_n
    np.testing.assert_array_equal(labels, raster_canonical(ref))
    assert_raster_labels(labels, n)


@given(image=images(ndim=3), conn=st.sampled_from([6, 18, 26]))
def test_binary_3d_matches_scipy(image, conn):
    labels, n = label(image, conn, binary=True, return_count=True)
    ref, ref_n = ndi.label(image != 0, structure(3, conn))
    assert n == ref_n
    np.testing.assert_array_equal(labels, raster_canonical(ref))


@given(image=images(), data=st.data())
def test_multilabel_matches_cc3d(image, data):
    conn = data.draw(st.sampled_from(CONNECTIVITIES[image.ndim]))
    labels, n = label(image, conn, return_count=True)
    ref, ref_n = cc3d.connected_components(image, connectivity=conn, return_N=True)
    assert n == ref_n
    np.testing.assert_array_equal(labels, raster_canonical(ref))
    assert_raster_labels(labels, n)


@given(
    image=images(max_2d=12, max_3d=5),
    binary=st.booleans(),
    background=st.integers(0, 2),
    data=st.data(),
)
def test_matches_naive_bfs(image, binary, background, data):
    conn = data.draw(st.sampled_from(CONNECTIVITIES[image.ndim]))
    labels, n = label(image, conn, binary=binary, background=background, return_count=True)
    ref, ref_n = bfs_label(image, conn, binary=binary, background=background)
    assert n == ref_n
    np.testing.assert_array_equal(labels, ref)


# each example starts Numba's thread pool: fewer examples keep the suite quick
@pytest.mark.parametrize("width", [1, 7, 8, 63, 64, 65, 128, 200, 256, 1000])
@pytest.mark.parametrize("dtype", [np.uint8, np.bool_, np.int16, np.uint32])
def test_binary_bit_rows_on_wide_rows(width, dtype):
    """The binary 2-D kernel (rows packed into 64-bit words) on rows of one and several
    words, ending in foreground or not, with a non-zero background, against scipy."""
    rng = np.random.default_rng(width)
    for density in (0.05, 0.5, 0.95):
        image = (rng.random((37, width)) < density).astype(dtype)
        image[::5, -1] = 1  # rows that end in foreground (a run closed by the row's end)
        image[3] = 1
        for conn in (4, 8):
            labels, n = label(image, conn, binary=True, return_count=True)
            ref, ref_n = ndi.label(image != 0, structure(2, conn))
            assert n == ref_n
            np.testing.assert_array_equal(labels, raster_canonical(ref))
            if dtype != np.bool_:  # background 1: the foreground is every other value
                inverse = label(image, conn, binary=True, background=1)
                ref, _ = ndi.label(image != 1, structure(2, conn))
                np.testing.assert_array_equal(inverse, raster_canonical(ref))


@settings(max_examples=200)
@given(image=images(max_2d=64, max_3d=10), binary=st.booleans(), data=st.data())
def test_parallel_equals_serial(image, binary, data):
    conn = data.draw(st.sampled_from(CONNECTIVITIES[image.ndim]))
    serial = label(image, conn, binary=binary)
    np.testing.assert_array_equal(label(image, conn, binary=binary, parallel=True), serial)


# ------------------------------------------------------------------- dtypes and layouts


@given(image=images(dtypes=(np.uint8,), max_value=3), binary=st.booleans())
def test_every_dtype(image, binary):
    conn = full(image)
    expected = label(image, conn, binary=binary)
    for dtype in INT_DTYPES:
        np.testing.assert_array_equal(label(image.astype(dtype), conn, binary=binary), expected)
    mask = image > 0
    np.testing.assert_array_equal(
        label(mask, conn, binary=binary), label(mask.view(np.uint8), conn, binary=binary)
    )


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int64])
def test_negative_values_and_background(dtype):
    image = np.array([[-1, -1, 0, 5], [0, -2, 0, 5], [-1, 0, 0, 0]], dtype)
    np.testing.assert_array_equal(label(image, 4), [[1, 1, 0, 2], [0, 3, 0, 2], [4, 0, 0, 0]])
    np.testing.assert_array_equal(
        label(image, 4, background=-1), [[0, 0, 1, 2], [3, 4, 1, 2], [0, 1, 1, 1]]
    )


@given(image=images(dtypes=(np.uint8, np.int16, np.uint32)), binary=st.booleans())
def test_layouts_fortran_views_and_byte_order(image, binary):
    kw = {"connectivity": full(image), "binary": binary}
    expected = label(image, **kw)
    np.testing.assert_array_equal(label(np.asfortranarray(image), **kw), expected)
    big = np.zeros(tuple(2 * s + 1 for s in image.shape), image.dtype)
    view = big[(slice(1, None, 2),) * image.ndim]
    view[...] = image
    np.testing.assert_array_equal(label(view, **kw), expected)
    swapped = image.astype(image.dtype.newbyteorder(">"))
    np.testing.assert_array_equal(label(swapped, **kw), expected)


def test_word_scan_with_nonzero_background_and_8_bit_values():
    rng = np.random.default_rng(3)
    for dtype in (np.uint8, np.int8):
        image = rng.integers(-3 if dtype == np.int8 else 0, 4, (37, 64)).astype(dtype)
        for bg in (0, 1, 3):
            ref, _ = ndi.label(image != bg, structure(2, 8))
            np.testing.assert_array_equal(
                label(image, 8, binary=True, background=bg), raster_canonical(ref)
            )


def test_input_never_modified_and_list_input():
    image = np.array([[1, 0, 1], [1, 1, 0]], np.uint8)
    copy = image.copy()
    label(image)
    label(image, binary=True, parallel=True)
    np.testing.assert_array_equal(image, copy)
    np.testing.assert_array_equal(label([[1, 0, 1]]), [[1, 0, 2]])


# -------------------------------------------------------------------------- odd shapes


@pytest.mark.parametrize(
    "shape", [(1, 1), (1, 37), (37, 1), (1, 64), (0, 5), (5, 0), (0, 0), (1, 1, 1), (0, 3, 3)]
)
@pytest.mark.parametrize("fill", [0, 1])
def test_odd_shapes(shape, fill):
    image = np.full(shape, fill, np.uint8)
    labels, n = label(image, 8 if len(shape) == 2 else 26, return_count=True)
    assert labels.shape == shape and labels.dtype == np.int32
    expected = 1 if fill and image.size else 0
    assert n == expected
    np.testing.assert_array_equal(labels, np.full(shape, expected))


def test_all_foreground_and_checkerboard():
    assert label(np.ones((50, 70), bool), return_count=True)[1] == 1
    board = np.indices((9, 16)).sum(axis=0) % 2 == 0
    assert label(board, 8, return_count=True)[1] == 1
    assert label(board, 4, return_count=True)[1] == board.sum()


# ------------------------------------------------------------------------------ out=


def test_out_is_filled_and_returned():
    image = np.array([[1, 0, 2], [1, 0, 2]], np.uint8)
    for dtype in (np.int32, np.uint8, np.int64, np.uint16):
        out = np.full(image.shape, 99, dtype)
        result = label(image, out=out)
        assert result is out
        np.testing.assert_array_equal(out, [[1, 0, 2], [1, 0, 2]])
    fortran = np.full(image.shape, 7, np.int32, order="F")
    assert label(image, out=fortran) is fortran
    np.testing.assert_array_equal(fortran, [[1, 0, 2], [1, 0, 2]])


def test_out_too_small_says_why_and_writes_nothing():
    image = np.indices((40, 40)).sum(axis=0) % 2  # 800 isolated pixels with 4-connectivity
    out = np.full(image.shape, 5, np.uint8)
    with pytest.raises(InvalidInputError, match=r"uint8.*255.*800 components"):
        label(image, 4, out=out)
    assert (out == 5).all()


@pytest.mark.parametrize(
    ("out", "error"),
    [
        (np.zeros((2, 3), np.float32), MaskkitTypeError),
        (np.zeros((2, 3), bool), MaskkitTypeError),
        (np.zeros((3, 2), np.int32), InvalidInputError),
        ([[0, 0, 0], [0, 0, 0]], MaskkitTypeError),
    ],
)
def test_out_errors(out, error):
    with pytest.raises(error, match="out"):
        label(np.ones((2, 3), np.uint8), out=out)


def test_read_only_out():
    out = np.zeros((2, 3), np.int32)
    out.flags.writeable = False
    with pytest.raises(InvalidInputError, match="writeable"):
        label(np.ones((2, 3), np.uint8), out=out)


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("image", "kwargs", "error", "match"),
    [
        (np.zeros(5, np.uint8), {}, InvalidInputError, r"2-D .* got shape \(5,\)"),
        (np.zeros((2, 2, 2, 2), np.uint8), {}, InvalidInputError, "3-D"),
        (np.zeros((3, 3), np.float64), {}, MaskkitTypeError, "astype"),
        (np.zeros((3, 3), np.uint8), {"connectivity": 6}, InvalidInputError, r"\(4, 8\)"),
        (np.zeros((3, 3, 3), np.uint8), {"connectivity": 8}, InvalidInputError, "26"),
        (np.zeros((3, 3), np.uint8), {"connectivity": True}, InvalidInputError, "True"),
        (np.zeros((3, 3), np.uint8), {"background": 300}, InvalidInputError, "uint8"),
        (np.zeros((3, 3), np.uint8), {"background": 1.5}, MaskkitTypeError, "background"),
    ],
)
def test_errors_name_argument_and_fix(image, kwargs, error, match):
    with pytest.raises(error, match=match):
        label(image, **kwargs)
    assert issubclass(error, (ValueError, TypeError))


# ------------------------------------------------------------------------------ stats


@given(image=images(max_2d=24, max_3d=8), binary=st.booleans(), data=st.data())
def test_stats_match_naive_and_label_with_stats(image, binary, data):
    conn = data.draw(st.sampled_from(CONNECTIVITIES[image.ndim]))
    labels, n = label(image, conn, binary=binary, return_count=True)
    area, bbox, centroid = naive_stats(labels)
    for stats in (region_stats(labels), label_with_stats(image, conn, binary=binary)[1]):
        assert stats.num_labels == n
        np.testing.assert_array_equal(stats.area, area)
        np.testing.assert_array_equal(stats.bbox, bbox)
        np.testing.assert_allclose(stats.centroid, centroid, rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(label_with_stats(image, conn, binary=binary)[0], labels)


@given(image=images(ndim=2, max_2d=30))
def test_stats_match_skimage_regionprops(image):
    measure = pytest.importorskip("skimage.measure")
    labels = label(image, 8)
    stats = region_stats(labels)
    for prop in measure.regionprops(labels):
        assert stats.area[prop.label] == prop.area
        assert tuple(stats.bbox[prop.label]) == prop.bbox
        np.testing.assert_allclose(stats.centroid[prop.label], prop.centroid)


def test_stats_of_missing_labels_and_xywh():
    stats = region_stats(np.array([[0, 3, 3], [0, 3, 0]], np.uint16))
    np.testing.assert_array_equal(stats.area, [3, 0, 0, 3])
    assert np.isnan(stats.centroid[1]).all() and (stats.bbox[1] == 0).all()
    np.testing.assert_array_equal(stats.xywh[3], [1, 0, 2, 2])  # x, y, w, h
    with pytest.raises(InvalidInputError, match="2-D"):
        region_stats(np.ones((2, 2, 2), np.int32)).xywh  # noqa: B018
    with pytest.raises(InvalidInputError, match=">= 0"):
        region_stats(np.array([[-1, 0]]))
    assert region_stats(np.zeros((0, 4), np.int32)).num_labels == 0


def test_stats_match_opencv():
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(5)
    mask = (rng.random((120, 97)) < 0.4).astype(np.uint8)
    n, ref, cvstats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    labels, stats = label_with_stats(mask, 8, binary=True)
    # OpenCV numbers components in 2x2-block order, not pixel raster order
    np.testing.assert_array_equal(labels, raster_canonical(ref))
    ours = np.zeros(n, np.int64)
    ours[ref.ravel()] = labels.ravel()
    np.testing.assert_array_equal(stats.area[ours], cvstats[:, cv2.CC_STAT_AREA])
    np.testing.assert_array_equal(stats.xywh[ours], cvstats[:, :4])
    np.testing.assert_allclose(stats.centroid[ours][:, ::-1], centroids)


# ------------------------------------------------------------------- small / largest


def naive_keep(labels, keep_ids):
    return np.where(np.isin(labels, list(keep_ids)), labels, 0)


@given(image=images(ndim=2, max_2d=30), min_area=st.integers(0, 6))
def test_remove_small_matches_naive(image, min_area):
    labels = label(image, 8)
    area = np.bincount(labels.ravel())
    big = [i for i in range(1, area.size) if area[i] >= min_area]
    np.testing.assert_array_equal(remove_small(labels, min_area), naive_keep(labels, big))
    relabelled = remove_small(labels, min_area, relabel=True)
    np.testing.assert_array_equal(raster_canonical(relabelled), relabelled)
    mask = image > 0
    binary = label(mask, 8, binary=True)
    area = np.bincount(binary.ravel())
    big = [i for i in range(1, area.size) if area[i] >= min_area]
    expected = naive_keep(binary, big) > 0
    result = remove_small(mask, min_area)
    assert result.dtype == bool
    np.testing.assert_array_equal(result, expected)


@given(image=images(max_2d=30, max_3d=8), k=st.integers(0, 5))
def test_largest_k_matches_naive(image, k):
    labels = label(image, full(image))
    area = np.bincount(labels.ravel())
    ranked = sorted(range(1, area.size), key=lambda i: (-area[i], i))[:k]
    np.testing.assert_array_equal(largest_k(labels, k), naive_keep(labels, ranked))
    assert largest_k(labels, k, relabel=True).max(initial=0) == len(ranked)
    mask = largest_k(image > 0, k)
    assert mask.dtype == bool
    count = label(mask, full(image), binary=True, return_count=True)[1]
    assert count == min(k, label(image > 0, full(image), binary=True, return_count=True)[1])


def test_filter_errors():
    with pytest.raises(MaskkitTypeError, match="min_area"):
        remove_small(np.ones((2, 2), bool), 1.5)
    with pytest.raises(InvalidInputError, match="k must"):
        largest_k(np.ones((2, 2), bool), -1)
    with pytest.raises(InvalidInputError, match="connectivity applies to bool"):
        remove_small(np.ones((2, 2), np.int32), 2, connectivity=4)
    np.testing.assert_array_equal(
        remove_small(np.array([[1, 0, 1]], bool), 2, connectivity=4), [[False, False, False]]
    )


def test_flat_api_label_is_callable_whatever_the_import_order():
    import maskkit
    import maskkit.core.label  # the module lives in core: it can never shadow the function
    import maskkit.core.render

    np.testing.assert_array_equal(maskkit.label(np.eye(2, dtype=bool)), [[1, 0], [0, 1]])
    rgb = maskkit.render(np.zeros((2, 2), np.uint8), legend=False)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
