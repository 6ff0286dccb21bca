"""Rasterisation against pycocotools (mode="coco"), the definition of COCO's pixels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycocotools import mask as mask_utils

import maskkit
from maskkit.errors import InvalidPolygonError, InvalidRLEError

# --- strategies -------------------------------------------------------------------------

sizes = st.tuples(st.integers(1, 24), st.integers(1, 24))


def coords(lo=-6.0, hi=30.0):
    return st.one_of(
        st.floats(lo, hi, allow_nan=False, allow_infinity=False),
        st.integers(int(lo), int(hi)).map(float),  # exactly on pixel edges
        st.integers(int(2 * lo), int(2 * hi)).map(lambda v: v / 2),  # and pixel centres
        st.integers(int(10 * lo), int(10 * hi)).map(lambda v: v / 10),  # the 1/5 grid and between
    )


@st.composite
def polygons(draw, max_points=9):
    """A polygon part: random (concave, self-intersecting, degenerate) or a sub-pixel one."""
    kind = draw(st.sampled_from(["random", "subpixel", "degenerate", "far", "star"]))
    k = draw(st.integers(3, max_points))
    if kind == "random":
        pts = [draw(coords()) for _ in range(2 * k)]
    elif kind == "subpixel":
        x0, y0 = draw(coords(0, 20)), draw(coords(0, 20))
        pts = []
        for _ in range(k):
            pts += [x0 + draw(st.floats(0, 0.9)), y0 + draw(st.floats(0, 0.9))]
    elif kind == "degenerate":  # collinear or repeated points
        x0, y0, dx, dy = (draw(coords(-3, 20)) for _ in range(4))
        ts = [draw(st.sampled_from([0.0, 0.0, 0.5, 1.0, 2.0])) for _ in range(k)]
        pts = [v for t in ts for v in (x0 + t * dx, y0 + t * dy)]
    elif kind == "far":  # vertices far outside the image
        pts = [draw(st.one_of(coords(), st.floats(-5000, 5000))) for _ in range(2 * k)]
    else:
        cx, cy, r = draw(coords(0, 24)), draw(coords(0, 24)), draw(st.floats(0.5, 14))
        angles = sorted(draw(st.floats(0, 2 * math.pi)) for _ in range(k))
        radii = [r * draw(st.floats(0.3, 1.0)) for _ in range(k)]
        pts = [v for a, rr in zip(angles, radii) for v in (cx + rr * math.cos(a), cy + rr * math.sin(a))]
    return pts


segmentations = st.lists(polygons(), min_size=1, max_size=3)


@st.composite
def shaped_polygons(draw, size=64):
    """A polygon part of the shapes annotations have (issue 19): spiky stars, concave
    outlines with deep bays, thin needles, or blobs, 3–60 vertices, 1–40 px across, often
    partly outside the ``size``² image."""
    family = draw(st.sampled_from(["star", "concave", "needles", "blob"]))
    k = draw(st.integers(3, 60))
    r = draw(st.floats(0.5, 40))
    cx = draw(st.floats(-r / 2, size + r / 2))
    cy = draw(st.floats(-r / 2, size + r / 2))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if family in ("star", "blob"):
        a = np.sort(rng.uniform(0, 2 * math.pi, k))
        rr = rng.uniform(0.3 if family == "star" else 0.6, 1.0, k)
    elif family == "needles":
        a = np.linspace(0, 2 * math.pi, k, endpoint=False) + rng.uniform(0, 1)
        rr = np.where(np.arange(k) % 2 == 0, 1.0, rng.uniform(0.02, 0.15, k))
    else:
        a = np.linspace(0, 2 * math.pi, k, endpoint=False)
        f = sum(rng.uniform(0.5, 1) * np.cos(m * a + rng.uniform(0, 6))
                for m in rng.integers(2, 6, rng.integers(2, 5)))
        rr = 0.2 + 0.8 * (f - f.min()) / max(np.ptp(f), 1e-9)
    pts = np.empty(2 * k)
    pts[0::2] = np.round(cx + r * rr * np.cos(a), draw(st.sampled_from([0, 1, 2, 6])))
    pts[1::2] = np.round(cy + r * rr * np.sin(a), 2)
    return pts.tolist()


shaped_segmentations = st.lists(shaped_polygons(), min_size=1, max_size=3)


def coco_reference(seg, h, w):
    return mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(seg, h, w)))


# --- property tests ---------------------------------------------------------------------


@given(seg=segmentations, size=sizes)
def test_polygon_to_mask_equals_pycocotools(seg, size):
    h, w = size
    got = maskkit.polygon_to_mask(seg, h, w)
    assert got.dtype == np.uint8 and got.shape == (h, w)
    np.testing.assert_array_equal(got, coco_reference(seg, h, w))


@given(seg=segmentations, size=sizes)
def test_polygon_to_rle_is_byte_identical(seg, size):
    h, w = size
    ref = mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
    got = maskkit.polygon_to_rle(seg, h, w)
    assert got["size"] == [h, w]
    assert got["counts"] == ref["counts"].decode("ascii")


@given(bbox=st.tuples(coords(), coords(), coords(0, 30), coords(0, 30)), size=sizes)
def test_bbox_equals_pycocotools(bbox, size):
    h, w = size
    ref = mask_utils.decode(mask_utils.frPyObjects(np.array([bbox]), h, w))[:, :, 0]
    np.testing.assert_array_equal(maskkit.polygon_to_mask(list(bbox), h, w), ref)


@given(segs=st.lists(segmentations, min_size=1, max_size=6), size=sizes)
def test_paint_polygons_equals_annToMask_loop(segs, size):
    h, w = size
    ref = np.zeros((h, w), np.uint16)
    for i, seg in enumerate(segs):
        ref[coco_reference(seg, h, w) > 0] = i + 1
    out = np.zeros((h, w), np.uint16)
    maskkit.paint_polygons(out, segs, list(range(1, len(segs) + 1)), threads=1)
    np.testing.assert_array_equal(out, ref)
    # the parallel painter (horizontal bands, here of a row or a few) paints the same
    from maskkit.core import rasterize as painter

    saved = painter._PARALLEL_MIN_PIXELS
    painter._PARALLEL_MIN_PIXELS = 0
    try:
        out = np.zeros((h, w), np.uint16)
        maskkit.paint_polygons(out, segs, list(range(1, len(segs) + 1)), threads=2)
    finally:
        painter._PARALLEL_MIN_PIXELS = saved
    np.testing.assert_array_equal(out, ref)


@given(segs=st.lists(shaped_segmentations, min_size=1, max_size=12),
       size=st.tuples(st.integers(1, 64), st.integers(1, 64)))
def test_shaped_polygons_equal_annToMask_loop(segs, size):
    """Spiky, concave, needle and blob polygons, partly outside, painted in order."""
    h, w = size
    ref = np.zeros((h, w), np.uint8)
    for i, seg in enumerate(segs):
        ref[coco_reference(seg, h, w) > 0] = i + 1
    values = list(range(1, len(segs) + 1))
    from maskkit.core import rasterize as painter

    for threads, min_pixels in ((1, painter._PARALLEL_MIN_PIXELS), (2, 0)):
        saved = painter._PARALLEL_MIN_PIXELS
        painter._PARALLEL_MIN_PIXELS = min_pixels
        try:
            out = maskkit.paint_polygons(np.zeros((h, w), np.uint8), segs, values,
                                         threads=threads)
        finally:
            painter._PARALLEL_MIN_PIXELS = saved
        np.testing.assert_array_equal(out, ref)
    seg = segs[0]
    got = maskkit.polygon_to_rle(seg, h, w)
    assert got["counts"] == mask_utils.merge(mask_utils.frPyObjects(seg, h, w))["counts"].decode()


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int16, np.uint32, np.int64])
def test_any_dtype_and_non_contiguous_out(dtype):
    """Spans are stored as whole vectors into C-contiguous integer rows; other maps are
    painted through a contiguous copy, bool through its bytes."""
    seg = [[0.5, 0.5, 40.2, 3.1, 20.7, 30.9, 35.0, 36.0, 2.0, 33.3]]
    ref = coco_reference(seg, 37, 45)
    big = np.zeros((37, 90), dtype)
    view = big[:, ::2]
    maskkit.paint_polygons(view, [seg], 1, threads=1)
    np.testing.assert_array_equal(view, ref.astype(dtype))
    assert not big[:, 1::2].any()


# --- explicit cases -----------------------------------------------------------------------


def test_far_outside_vertices_are_clipped_not_written_out_of_bounds():
    seg = [[-1e6, -1e6, 1e6, -1e6, 1e6, 1e6, -1e6, 1e6]]
    out = np.zeros((7, 5), np.uint8)
    guard = np.zeros((9, 7), np.uint8)
    guard[1:-1, 1:-1] = 0
    view = guard[1:-1, 1:-1]
    maskkit.paint_polygons(view, seg, 3)
    assert (view == 3).all() and guard[0].sum() == 0 and guard[-1].sum() == 0
    assert guard[:, 0].sum() == 0 and guard[:, -1].sum() == 0
    np.testing.assert_array_equal(maskkit.polygon_to_mask(seg, 7, 5), coco_reference(seg, 7, 5))
    del out


@pytest.mark.parametrize("teeth", [5, 40])
def test_comb_with_many_crossings_per_row(teeth):
    # > 16 toggles in one row switch the row sweep to its per-column state scan
    top = [v for i in range(teeth) for v in (2 + 3 * i, 1.3, 3.5 + 3 * i, 20.7)]
    seg = [[*top, 3 * teeth + 2, 22.2, 0.6, 22.4]]
    h, w = 25, 3 * teeth + 5
    np.testing.assert_array_equal(maskkit.polygon_to_mask(seg, h, w), coco_reference(seg, h, w))
    out = np.zeros((h, w), np.uint16)
    maskkit.paint_polygons(out, [seg, [[0, 0, w, 0, w, 10]]], [1, 2])
    ref = np.where(coco_reference([[0, 0, w, 0, w, 10]], h, w) > 0, 2,
                   coco_reference(seg, h, w))
    np.testing.assert_array_equal(out, ref)


def test_paint_into_strided_view_and_wide_dtypes():
    seg = [[1, 1, 6, 1, 6, 5, 1, 5]]
    ref = coco_reference(seg, 8, 8)
    for dtype in (np.uint8, np.int16, np.uint16, np.int32, np.int64, np.bool_):
        big = np.zeros((16, 16), dtype)
        view = big[::2, ::2]
        maskkit.paint_polygons(view, [seg], 1)
        np.testing.assert_array_equal(view.astype(np.uint8), ref)
        assert big[1::2].sum() == 0


def test_rle_segmentation_painted_without_decoding():
    m = np.zeros((6, 7), np.uint8)
    m[1:4, 2:6] = 1
    m[2, 3:5] = 0  # a hole
    out = np.full((6, 7), 9, np.int32)
    maskkit.paint_polygons(out, [maskkit.rle_encode(m)], 4)
    np.testing.assert_array_equal(out, np.where(m > 0, 4, 9))
    out2 = np.zeros((6, 7), np.int32)
    maskkit.rle_paint(out2, maskkit.rle_encode(m, compressed=False), 2)
    np.testing.assert_array_equal(out2, 2 * m)


@pytest.mark.parametrize(
    "seg, match",
    [
        ([[1, 2, 3, 4]], "2 point"),
        ([[1, 2, 3, 4, 5]], "odd number"),
        ([[0, 0, 5, 0, float("nan"), 5]], "not finite"),
        ([[0, 0, 5, 0, float("inf"), 5]], "not finite"),
        ([[0, 0, 5, 0, 1e30, 5]], "beyond"),
        ([[0, 0, "a", 0, 5, 5]], "non-numeric"),
        ("polygon", "must be a list"),
    ],
)
def test_bad_polygons_raise_clear_errors(seg, match):
    with pytest.raises(InvalidPolygonError, match=match):
        maskkit.polygon_to_mask(seg, 10, 10)


def test_bad_rle_raises():
    with pytest.raises(InvalidRLEError, match="sum to 5"):
        maskkit.polygon_to_mask({"size": [2, 3], "counts": [1, 4]}, 2, 3)
    with pytest.raises(InvalidRLEError, match="differs from the image"):
        maskkit.polygon_to_mask({"size": [3, 2], "counts": [6]}, 2, 3)


def test_values_must_fit_dtype():
    with pytest.raises(ValueError, match="does not fit"):
        maskkit.paint_polygons(np.zeros((3, 3), np.uint8), [[0, 0, 2, 2]], 300)
    with pytest.raises(ValueError, match="2 polygons but 1 values"):
        maskkit.paint_polygons(np.zeros((3, 3), np.uint8), [[0, 0, 2, 2], [0, 0, 1, 1]], [1])
    with pytest.raises(TypeError, match="integer or bool dtype"):
        maskkit.paint_polygons(np.zeros((3, 3), np.float32), [[0, 0, 2, 2]], 1)


def test_unknown_mode():
    with pytest.raises(ValueError, match="mode must be one of"):
        maskkit.polygon_to_mask([[0, 0, 2, 0, 2, 2]], 3, 3, mode="fast")


def test_huge_declared_image_is_refused():
    with pytest.raises(maskkit.ImageTooLargeError, match="exceeds the limit"):
        maskkit.polygon_to_mask([[0, 0, 2, 0, 2, 2]], 100_000, 100_000)


def test_empty_image():
    assert maskkit.polygon_to_mask([[0, 0, 2, 0, 2, 2]], 0, 5).shape == (0, 5)


def test_every_real_annotation_equals_pycocotools(real_data):
    from pycocotools.coco import COCO

    files = [
        real_data / "coco_val2017_instances_mmdet" / "instances_val2017.json",
        real_data / "labelme_voc2011_instance" / "examples" / "instance_segmentation"
        / "data_dataset_coco" / "annotations.json",
    ]
    n = 0
    for f in files:
        if not f.exists():
            continue
        coco = COCO(str(f))
        for ann in coco.dataset["annotations"]:
            img = coco.imgs[ann["image_id"]]
            got = maskkit.polygon_to_mask(ann["segmentation"], img["height"], img["width"])
            np.testing.assert_array_equal(got, coco.annToMask(ann), err_msg=f"{f}: {ann['id']}")
            n += 1
    assert n >= 37


# --- rasterio's rules (mode="center" / "all_touched") ---------------------------------


def rasterio_reference(seg, h, w, all_touched):
    import warnings

    from rasterio import features

    rings = [np.asarray(p, dtype=np.float64).reshape(-1, 2).tolist() for p in seg]
    geom = {"type": "MultiPolygon", "coordinates": [[[*r, r[0]]] for r in rings]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rasterio warns about degenerate rings it skips
        return features.rasterize([(geom, 1)], out_shape=(h, w), all_touched=all_touched,
                                  dtype="uint8")


@given(seg=segmentations, size=sizes, all_touched=st.booleans())
def test_rasterio_modes_equal_rasterio(seg, size, all_touched):
    h, w = size
    if all_touched and any(max(p[0::2]) > w - 1e-3 for p in seg):
        # GDAL's outline walk does not check the column: a step past the right edge is
        # burned at row * width + col, i.e. in the next row, or past the buffer in the last
        # row (heap corruption). Its output there is undefined; see _kernels/scanline.py.
        return
    ref = rasterio_reference(seg, h, w, all_touched)
    mode = "all_touched" if all_touched else "center"
    np.testing.assert_array_equal(maskkit.polygon_to_mask(seg, h, w, mode=mode), ref)


def test_rasterio_modes_reject_rle():
    with pytest.raises(ValueError, match="mode='coco'"):
        maskkit.polygon_to_mask({"size": [2, 2], "counts": [4]}, 2, 2, mode="center")
