"""Hostile input against every reader and kernel: each call gives a correct result or a
maskkit error (a ``MaskkitError`` that is also a ``ValueError``/``OSError``/``TypeError``,
naming the file or object); never a crash, a hang or an out-of-bounds write.

Inputs are small, so the suite runs its ~12000 examples in well under a minute.
Out-of-bounds writes are checked by ``test_boundscheck.py`` (the same kinds of input
through kernels compiled with bounds checking).
"""

from __future__ import annotations

import io
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import maskkit
from maskkit.errors import ImageTooLargeError, MaskkitError
from maskkit.io.files import read_json
from maskkit.io.masks import read_mask

TMP = Path(tempfile.mkdtemp(prefix="maskkit-fuzz-"))
_BASE = settings(deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.filter_too_much])


def fuzz(examples: int):
    """Settings of one fuzz test: a fixed number of examples whatever the profile."""
    return settings(_BASE, max_examples=examples)


def maskkit_error_or(fn, *args, named=None, **kwargs):
    """``fn(*args, **kwargs)``, or None when it raised a proper maskkit error."""
    try:
        return fn(*args, **kwargs)
    except MaskkitError as exc:
        assert isinstance(exc, (ValueError, OSError, TypeError)), type(exc).__mro__
        assert str(exc).strip()
        if named is not None:
            assert named in str(exc), f"{named!r} not named in {exc}"
        return None


def _file(name: str, data: bytes) -> Path:
    path = TMP / name
    path.write_bytes(data)
    return path


def _mutate(data: bytes, cut: int, flips: list[tuple[int, int]]) -> bytes:
    buf = bytearray(data[: cut % (len(data) + 1)])
    for pos, value in flips:
        if buf:
            buf[pos % len(buf)] = value
    return bytes(buf)


mutations = st.tuples(st.integers(0, 10**6), st.lists(st.tuples(st.integers(0, 10**6),
                                                                 st.integers(0, 255)),
                                                       max_size=4))


# ------------------------------------------------------------------------------ JSON

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=5),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids,
                                                              max_size=4),
    max_leaves=12,
)


@fuzz(800)
@given(doc=json_values, cut=mutations, garbage=st.binary(max_size=40))
def test_read_json_truncated_or_garbage(doc, cut, garbage):
    text = json.dumps(doc).encode()
    for i, data in enumerate((_mutate(text, *cut), garbage, b"[" * 100_000)):
        path = _file(f"doc{i}.json", data)
        got = maskkit_error_or(read_json, path, named=str(path))
        if got is not None:
            assert got == json.loads(data)


coco_keys = st.sampled_from(["id", "image_id", "category_id", "segmentation", "iscrowd",
                             "height", "width", "file_name", "score", "bbox", "area"])
field_values = st.one_of(
    st.integers(-3, 12), st.sampled_from([2**63, -(2**63), 10**30, 1e30, math.nan, math.inf]),
    st.none(), st.text(max_size=4), st.booleans(),
    st.lists(st.lists(st.floats(-20, 40) | st.sampled_from([math.nan, math.inf, 1e30]),
                      max_size=10), max_size=2),
    st.fixed_dictionaries({"size": st.lists(st.integers(-2, 12), max_size=3),
                           "counts": st.lists(st.integers(-3, 200), max_size=6)
                           | st.text(alphabet="0123456789:;<=>?@ABCDEFGHIJKabcdef_`", max_size=8)}),
)
records = st.dictionaries(coco_keys, field_values, max_size=8)


@fuzz(1000)
@given(images=st.lists(records, max_size=3), anns=st.lists(records, max_size=4),
       cats=st.lists(records, max_size=3), overlap=st.sampled_from(["last", "area", "void"]),
       crowd=st.sampled_from(["class", "ignore", "skip"]))
def test_coco_records_of_any_shape(images, anns, cats, overlap, crowd):
    doc = {"images": images, "annotations": anns, "categories": cats}
    for strict in (True, False):
        index = maskkit_error_or(maskkit.load_coco, doc, strict=strict)
        if index is None:
            continue
        for image_id, info in index.images.items():
            if info.height * info.width > 10**6:
                continue  # refused below by the size guard, tested on its own
            out = maskkit_error_or(maskkit.coco_to_semantic, index, image_id,
                                   overlap=overlap, crowd=crowd)
            if out is not None:
                assert out.shape == (info.height, info.width)


# ------------------------------------------------------------------------------ PNG


def _png_bytes(arr: np.ndarray, mode: str | None = None) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr, mode=mode).save(buf, format="PNG")
    return buf.getvalue()


VALID_PNG = _png_bytes(np.arange(48, dtype=np.uint8).reshape(6, 8) % 5)


@fuzz(1000)
@given(cut=mutations, garbage=st.binary(max_size=64))
def test_png_truncated_or_garbage(cut, garbage):
    for i, data in enumerate((_mutate(VALID_PNG, *cut), b"\x89PNG\r\n\x1a\n" + garbage)):
        path = _file(f"m{i}.png", data)
        mask = maskkit_error_or(read_mask, path, named=str(path))
        if mask is not None:
            assert mask.ndim == 2 and mask.dtype.kind in "biu"
            maskkit.count_objects(mask)


PIL_MODES = ["1", "L", "P", "I", "I;16", "F", "LA", "RGB", "RGBA", "CMYK", "YCbCr", "I;16B"]


@fuzz(600)
@given(mode=st.sampled_from(PIL_MODES), h=st.integers(1, 7), w=st.integers(1, 7),
       seed=st.integers(0, 2**32 - 1))
def test_label_png_of_unexpected_mode(mode, h, w, seed):
    from PIL import Image

    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8)).convert(mode)
    buf = io.BytesIO()
    try:
        img.save(buf, format="PNG")
    except (OSError, KeyError, ValueError):
        return  # a mode PNG cannot store: nothing to read
    path = _file("mode.png", buf.getvalue())
    mask = maskkit_error_or(read_mask, path, named=str(path))
    if mask is not None:
        assert mask.shape == (h, w) and mask.dtype.kind in "biu"
        with Image.open(path) as back:
            if back.mode in ("L", "P", "I;16", "1"):
                np.testing.assert_array_equal(mask, np.asarray(back))
        table = maskkit_error_or(maskkit.count_objects, mask)
        assert table is not None


# ------------------------------------------------------------------------------ TIFF, npy


def _tiff_bytes(arr: np.ndarray) -> bytes:
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, arr)
    return buf.getvalue()


VALID_TIFF = _tiff_bytes(np.arange(30, dtype=np.uint16).reshape(5, 6))
dtypes = st.sampled_from(["u1", "i1", "u2", "i4", "u8", "i8", "f4", "f8", "?", "c8"])
shapes = st.lists(st.integers(0, 5), min_size=0, max_size=4).map(tuple)


@fuzz(800)
@given(cut=mutations, dtype=dtypes, shape=shapes)
def test_tiff_truncated_garbage_or_odd(cut, dtype, shape):
    arr = np.ones(shape, dtype=dtype)
    try:
        odd = _tiff_bytes(arr)
    except Exception:
        odd = b"II*\x00" + bytes(8)
    for i, data in enumerate((_mutate(VALID_TIFF, *cut), odd)):
        path = _file(f"m{i}.tif", data)
        mask = maskkit_error_or(read_mask, path, named=str(path))
        if mask is not None:
            assert mask.ndim == 2 and mask.dtype.kind in "biu"
            maskkit.count_objects(mask)


def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


VALID_NPY = _npy_bytes(np.arange(12, dtype=np.int32).reshape(3, 4))


@fuzz(800)
@given(cut=mutations, dtype=dtypes, shape=shapes, pickled=st.booleans())
def test_npy_truncated_garbage_or_odd(cut, dtype, shape, pickled):
    arr = np.empty(shape, dtype=object) if pickled else np.ones(shape, dtype=dtype)
    for i, data in enumerate((_mutate(VALID_NPY, *cut), _npy_bytes(arr))):
        path = _file(f"m{i}.npy", data)
        mask = maskkit_error_or(read_mask, path, named=str(path))
        if mask is not None:
            assert mask.dtype.kind in "biu"
            result = maskkit_error_or(maskkit.count_objects, mask)
            if mask.ndim == 2:
                assert result is not None


# ------------------------------------------------------------------------------ RLE


def _pycoco_decode(h, w, counts):
    from pycocotools import mask as cocomask

    rle = cocomask.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    return cocomask.decode(rle)


huge = st.sampled_from([2**31, 2**32 + 1, 2**63 - 1, 2**63, 2**64 + 5, -(2**63)])


@fuzz(1200)
@given(h=st.integers(0, 9), w=st.integers(0, 9),
       counts=st.lists(st.integers(-2, 30) | huge, max_size=8))
def test_rle_counts_that_overflow_or_do_not_sum(h, w, counts):
    rle = {"size": [h, w], "counts": counts}
    mask = maskkit_error_or(maskkit.rle_decode, rle)
    valid = all(0 <= c < 2**31 for c in counts) and sum(counts) == h * w
    if valid:
        assert mask is not None
        if h and w:
            np.testing.assert_array_equal(mask, _pycoco_decode(h, w, counts))
        assert maskkit.rle_area(rle) == int(mask.sum())
        maskkit.rle_to_bbox(rle)
    else:
        assert mask is None, f"accepted counts {counts} for {h}×{w}"
        assert maskkit_error_or(maskkit.rle_area, rle) is None


@fuzz(1000)
@given(h=st.integers(0, 12), w=st.integers(0, 12),
       s=st.text(alphabet=[chr(c) for c in range(40, 130)], max_size=12))
def test_rle_compressed_garbage(h, w, s):
    rle = {"size": [h, w], "counts": s}
    mask = maskkit_error_or(maskkit.rle_decode, rle)
    if mask is not None:
        assert mask.shape == (h, w)
        out = np.zeros((h, w), np.int32)
        maskkit.rle_paint(out, rle, 3)
        assert (out == 3).sum() == mask.sum()


# ------------------------------------------------------------------------------ polygons

coords = st.floats(-30, 40) | st.sampled_from(
    [math.nan, math.inf, -math.inf, 1e30, -1e30, 1e300, 2.0**53, -(2.0**31)])


@fuzz(1200)
@given(h=st.integers(0, 10), w=st.integers(0, 10),
       polys=st.lists(st.lists(coords, max_size=14), min_size=1, max_size=3))
def test_polygons_with_nan_inf_huge_coordinates(h, w, polys):
    finite = all(math.isfinite(v) for p in polys for v in p)
    mask = maskkit_error_or(maskkit.polygon_to_mask, polys, h, w)
    if mask is not None:
        assert mask.shape == (h, w)
        if finite and h and w and all(len(p) >= 6 and len(p) % 2 == 0 for p in polys):
            from pycocotools import mask as cocomask

            small = all(abs(v) < 1e6 for p in polys for v in p)
            if small:
                ref = cocomask.decode(cocomask.merge(cocomask.frPyObjects(polys, h, w)))
                np.testing.assert_array_equal(mask, ref)
    out = np.zeros((h, w), np.uint8)
    painted = maskkit_error_or(maskkit.paint_polygons, out, [polys, polys], [1, 2])
    if painted is not None and mask is not None:
        assert ((out != 0) == mask.astype(bool)).all()


def test_a_polygon_of_a_million_vertices():
    t = np.linspace(0, 2 * np.pi, 10**6, endpoint=False)
    poly = np.stack([50 + 40 * np.cos(t), 50 + 40 * np.sin(t)], 1).ravel().tolist()
    mask = maskkit.polygon_to_mask([poly], 100, 100)
    assert abs(int(mask.sum()) - math.pi * 40**2) < 200
    far = (np.asarray(poly) * 1e25).tolist()
    assert maskkit_error_or(maskkit.polygon_to_mask, [far], 100, 100) is None or True


# ------------------------------------------------------------------------------ sizes

sizes = st.sampled_from([0, 1, 3, 100_000, 2**31, 2**40])


@fuzz(600)
@given(h=sizes, w=sizes, kind=st.sampled_from(["poly", "rle", "coco"]))
def test_declared_sizes_zero_or_huge(h, w, kind):
    limit = maskkit.get_max_pixels()
    too_big = h * w > limit or max(h, w) > limit  # a side alone can be too long
    if kind == "poly":
        call = (maskkit.polygon_to_mask, [[0, 0, 2, 0, 2, 2]], h, w)
    elif kind == "rle":
        call = (maskkit.rle_decode, {"size": [h, w], "counts": [h * w]})
    else:
        doc = {"images": [{"id": 1, "height": h, "width": w}], "categories": [{"id": 1}],
               "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                                "segmentation": [[0, 0, 2, 0, 2, 2]]}]}
        call = (maskkit.coco_to_semantic, doc, 1)
    try:
        out = call[0](*call[1:])
    except ImageTooLargeError as exc:
        assert too_big and "exceeds the limit" in str(exc)
        return
    except MaskkitError:
        assert kind == "rle" and h * w >= 2**31  # counts too large for an RLE run
        return
    assert not too_big and out.shape == (h, w)


# ------------------------------------------------------------------------------ label/count

label_dtypes = st.sampled_from([np.bool_, np.uint8, np.int8, np.uint16, np.int32, np.int64,
                                np.uint64])


@fuzz(1000)
@given(h=st.integers(0, 9), w=st.integers(0, 9), dtype=label_dtypes, seed=st.integers(0, 999),
       conn=st.sampled_from([4, 8, 6, 0]), kind=st.sampled_from(["semantic", "instance"]))
def test_label_and_count_kernels_on_odd_arrays(h, w, dtype, seed, conn, kind):
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype) if dtype is not np.bool_ else None
    lo, hi = (0, 2) if info is None else (max(info.min, -3), min(info.max, 3))
    mask = rng.integers(lo, hi, (h, w), endpoint=True).astype(dtype)
    if info is not None and rng.random() < 0.3 and h and w:
        mask[0, 0] = info.max
    labels = maskkit_error_or(maskkit.label, mask, connectivity=conn)
    if labels is not None:
        assert labels.shape == mask.shape
        assert ((labels != 0) == (mask != 0)).all()
    table = maskkit_error_or(maskkit.count_objects, mask, kind=kind, connectivity=conn)
    if table is not None and kind == "semantic":
        assert sum(table.values()) <= int((mask != 0).sum())


# ------------------------------------------------------------------------------ panoptic

segment = st.fixed_dictionaries(
    {"id": st.integers(-1, 6) | st.sampled_from([2**24, 2**40]) | st.text(max_size=2),
     "category_id": st.integers(0, 4) | st.none()},
    optional={"iscrowd": st.integers(0, 1), "area": st.integers(-1, 50),
              "isthing": st.integers(0, 1)},
)


@fuzz(1200)
@given(h=st.integers(0, 6), w=st.integers(0, 6), seed=st.integers(0, 999),
       gt_segs=st.lists(segment, max_size=5), pred_segs=st.lists(segment, max_size=5),
       pred_shape=st.sampled_from(["same", "other"]))
def test_panoptic_png_and_json_that_disagree(h, w, seed, gt_segs, pred_segs, pred_shape):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 6, (h, w))
    cats = [{"id": c, "isthing": c % 2} for c in range(1, 5)]
    cat_index = {c["id"]: i for i, c in enumerate(cats)}
    gt_rgb = maskkit.id2rgb(ids).astype(np.uint8)
    pshape = (h, w) if pred_shape == "same" else (h + 1, w)
    pred_rgb = maskkit.id2rgb(rng.integers(0, 6, pshape)).astype(np.uint8)
    gt_ann = {"image_id": 1, "file_name": "a.png", "segments_info": gt_segs}
    pred_ann = {"image_id": 1, "file_name": "a.png", "segments_info": pred_segs}
    from maskkit.datasets.pq import pq_image_stats

    stats = maskkit_error_or(pq_image_stats, gt_ann, pred_ann, gt_rgb, pred_rgb, cat_index,
                             gt_source="gt.png", pred_source="pred.png")
    if stats is not None:
        assert np.isfinite(stats).all() and (stats[:, :3] >= 0).all()
    sem = maskkit_error_or(maskkit.panoptic_to_semantic, ids, gt_segs, things={1, 3})
    if sem is not None:
        assert sem.shape == (h, w)
    if seed % 4:
        return  # the file round trip below is slower; a quarter of the examples is plenty
    # the same mismatch through the file readers and the checker
    folder = TMP / "pan"
    folder.mkdir(exist_ok=True)
    (folder / "a.png").write_bytes(_png_bytes(gt_rgb) if h and w else b"")
    doc = {"images": [{"id": 1, "file_name": "a.jpg", "height": h, "width": w}],
           "annotations": [gt_ann], "categories": cats}
    (TMP / "pan.json").write_text(json.dumps(doc))
    problems = maskkit_error_or(maskkit.check_panoptic, TMP / "pan.json", folder)
    if problems is not None:
        assert all(str(p) for p in problems)
    maskkit_error_or(maskkit.panoptic_to_coco, TMP / "pan.json", folder)


@fuzz(600)
@given(h=st.integers(0, 6), w=st.integers(0, 6), c=st.sampled_from([1, 2, 3, 4]),
       seed=st.integers(0, 999), void=st.integers(-1, 3))
def test_panoptic_from_2ch_odd_arrays(h, w, c, seed, void):
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 4, (h, w, c)).astype(np.uint8)
    got = maskkit_error_or(maskkit.panoptic_from_2ch, arr, void_category=void)
    if got is not None:
        ids, segs = got
        assert ids.shape == (h, w)
        assert {s["id"] for s in segs} == set(np.unique(ids[ids != 0]).tolist())


@pytest.fixture(autouse=True, scope="module")
def _cleanup():
    yield
    import shutil

    shutil.rmtree(TMP, ignore_errors=True)
