"""COCO instances -> semantic: policies, real data against the annToMask loop, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_rasterize import shaped_segmentations

import maskkit
from maskkit.core.flatten import contiguous_category_map
from maskkit.errors import InvalidAnnotationError, MaskkitIOError, UnknownCategoryError


def square(x, y, s):
    return [[x, y, x + s, y, x + s, y + s, x, y + s]]


def dataset(anns, h=10, w=10, cats=(1, 2, 3)):
    for i, a in enumerate(anns):
        a.setdefault("id", i + 1)
        a.setdefault("image_id", 1)
    return {"images": [{"id": 1, "height": h, "width": w, "file_name": "x.jpg"}],
            "annotations": anns, "categories": [{"id": c, "name": f"c{c}"} for c in cats]}


BIG_THEN_SMALL = [
    {"category_id": 1, "segmentation": square(0, 0, 8), "score": 0.9},
    {"category_id": 2, "segmentation": square(2, 2, 3), "score": 0.5},
]


def test_last_policy_is_annotation_order():
    d = dataset([dict(a) for a in BIG_THEN_SMALL[::-1]])
    out = maskkit.coco_to_semantic(d, 1)
    assert out[3, 3] == 1 and out[0, 0] == 1


def test_area_policy_draws_smaller_on_top():
    d = dataset([dict(a) for a in BIG_THEN_SMALL[::-1]])
    out = maskkit.coco_to_semantic(d, 1, overlap="area")
    assert out[3, 3] == 2 and out[0, 0] == 1


def test_score_policy_draws_higher_score_on_top():
    d = dataset([dict(a) for a in BIG_THEN_SMALL])
    assert maskkit.coco_to_semantic(d, 1, overlap="score")[3, 3] == 1
    d["annotations"][1]["score"] = 0.95
    assert maskkit.coco_to_semantic(d, 1, overlap="score")[3, 3] == 2
    del d["annotations"][1]["score"]
    with pytest.raises(InvalidAnnotationError, match="annotation 2.*score"):
        maskkit.coco_to_semantic(d, 1, overlap="score")


def test_void_policy_marks_only_cross_class_overlap():
    anns = [dict(a) for a in BIG_THEN_SMALL] + [
        {"category_id": 1, "segmentation": square(6, 6, 3)}]  # same class as the big one
    out, stats = maskkit.coco_to_semantic(dataset(anns), 1, overlap="void", return_stats=True)
    assert (out[2:5, 2:5] == 255).all()
    assert out[7, 7] == 1  # same-class overlap is not void
    assert stats.conflict_pixels == 9
    assert stats.contested_pixels == 9 + 4


def test_crowd_policies():
    anns = [{"category_id": 3, "iscrowd": 1,
             "segmentation": maskkit.rle_encode(np.ones((10, 10)), compressed=False)},
            {"category_id": 1, "segmentation": square(2, 2, 3)}]
    d = dataset(anns)
    out = maskkit.coco_to_semantic(d, 1, crowd="ignore")
    assert out[3, 3] == 1 and out[0, 0] == 255  # annotated individuals keep their pixels
    out = maskkit.coco_to_semantic(d, 1, crowd="skip")
    assert out[3, 3] == 1 and out[0, 0] == 0
    out = maskkit.coco_to_semantic(d, 1, crowd="class")
    assert out[3, 3] == 1 and out[0, 0] == 3


def test_contiguous_map_and_dtype():
    d = dataset([{"category_id": 300, "segmentation": square(0, 0, 2)}], cats=(1, 300))
    out = maskkit.coco_to_semantic(d, 1)
    assert out.dtype == np.uint16 and out[0, 0] == 300
    cmap = contiguous_category_map({1: {}, 300: {}})
    out = maskkit.coco_to_semantic(d, 1, category_map=cmap)
    assert out.dtype == np.uint8 and out[0, 0] == 2


def test_category_collides_with_ignore_value():
    d = dataset([{"category_id": 255, "segmentation": square(0, 0, 2)}], cats=(255,))
    with pytest.raises(InvalidAnnotationError, match="ignore_value"):
        maskkit.coco_to_semantic(d, 1)
    assert maskkit.coco_to_semantic(d, 1, ignore_value=254)[0, 0] == 255


@given(st.lists(st.tuples(st.integers(1, 3), st.integers(-2, 9), st.integers(-2, 9),
                          st.integers(1, 6)), min_size=1, max_size=8),
       st.sampled_from(["last", "area", "void"]))
def test_policies_against_a_naive_loop(objs, overlap):
    anns = [{"category_id": c, "segmentation": square(x, y, s)} for c, x, y, s in objs]
    d = dataset(anns)
    masks = [maskkit.polygon_to_mask(a["segmentation"], 10, 10) for a in anns]
    order = list(range(len(anns)))
    if overlap == "area":
        order.sort(key=lambda i: -int(masks[i].sum()))
    ref = np.zeros((10, 10), np.int64)
    claims = np.zeros((10, 10), np.int64)
    classes = [set() for _ in range(100)]
    for i in order:
        m = masks[i] > 0
        ref[m] = anns[i]["category_id"]
        claims[m] += 1
        for p in np.flatnonzero(m):
            classes[p].add(anns[i]["category_id"])
    if overlap == "void":
        for p in range(100):
            if len(classes[p]) > 1:
                ref.flat[p] = 255
    out, stats = maskkit.coco_to_semantic(d, 1, overlap=overlap, return_stats=True)
    np.testing.assert_array_equal(out, ref)
    assert stats.contested_pixels == int((claims > 1).sum())
    assert stats.conflict_pixels == sum(len(c) > 1 for c in classes)


@given(st.lists(st.tuples(st.integers(1, 3), shaped_segmentations, st.booleans()),
                min_size=1, max_size=8),
       st.sampled_from(["last", "area", "void"]), st.sampled_from(["class", "ignore"]),
       st.tuples(st.integers(1, 64), st.integers(1, 64)), st.booleans())
def test_shaped_polygons_against_pycocotools(objs, overlap, crowd, size, bands):
    """Spiky, concave, needle and blob polygons (several parts, partly outside), some as
    crowd RLEs: labels and claim counts against a loop over pycocotools masks, painted
    serially and in parallel bands."""
    from pycocotools import mask as mask_utils

    from maskkit.core import rasterize as painter

    h, w = size
    anns = []
    for c, seg, is_crowd in objs:
        rle = mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
        if is_crowd:  # a crowd region as COCO stores it: an uncompressed RLE
            m = mask_utils.decode(rle)
            anns.append({"category_id": c, "iscrowd": 1,
                         "segmentation": maskkit.rle_encode(m, compressed=False)})
        else:
            anns.append({"category_id": c, "segmentation": seg})
    d = dataset(anns, h=h, w=w)
    masks = [mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(seg, h, w))) > 0
             for _, seg, _ in objs]
    crowds = [i for i, (_, _, cr) in enumerate(objs) if cr and crowd == "ignore"]
    order = [i for i in range(len(objs)) if i not in crowds]
    if overlap == "area":
        order.sort(key=lambda i: -int(masks[i].sum()))
    ref = np.zeros((h, w), np.int64)
    claims = np.zeros((h, w), np.int64)
    classes = [set() for _ in range(h * w)]
    for i in order:
        ref[masks[i]] = objs[i][0]
        claims[masks[i]] += 1
        for p in np.flatnonzero(masks[i]):
            classes[p].add(objs[i][0])
    if overlap == "void":
        for p in range(h * w):
            if len(classes[p]) > 1:
                ref.flat[p] = 255
    for i in crowds:
        ref[masks[i] & (claims == 0)] = 255
    saved = painter._PARALLEL_MIN_PIXELS
    painter._PARALLEL_MIN_PIXELS = 0 if bands else saved
    try:
        out, stats = maskkit.coco_to_semantic(d, 1, overlap=overlap, crowd=crowd,
                                              return_stats=True, threads=2 if bands else 1)
        plain = maskkit.coco_to_semantic(d, 1, overlap=overlap, crowd=crowd,
                                         threads=2 if bands else 1)
    finally:
        painter._PARALLEL_MIN_PIXELS = saved
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(plain, ref)  # no claim counting: the same labels
    assert stats.contested_pixels == int((claims > 1).sum())
    assert stats.conflict_pixels == sum(len(c) > 1 for c in classes)


def test_real_data_equals_annToMask_loop(real_data):
    from pycocotools.coco import COCO

    path = real_data / "coco_val2017_instances_mmdet" / "instances_val2017.json"
    coco = COCO(str(path))
    index = maskkit.load_coco(path)
    for image_id, img in coco.imgs.items():
        ref = np.zeros((img["height"], img["width"]), np.uint8)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=image_id, iscrowd=None)):
            ref[coco.annToMask(ann) > 0] = ann["category_id"]
        for source in (index, coco, str(path)):
            np.testing.assert_array_equal(maskkit.coco_to_semantic(source, image_id), ref)
    # the README's measured facts: pixels covered by more than one polygon
    _, s = maskkit.coco_to_semantic(index, 255917, crowd="skip", return_stats=True)
    assert s.contested_pixels == 278
    _, s = maskkit.coco_to_semantic(index, 139, return_stats=True)
    assert s.contested_pixels == 539


# --- bad input ------------------------------------------------------------------------


def test_malformed_json_names_file_and_line(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"images": [\n  {"id": 1,}\n]}')
    with pytest.raises(MaskkitIOError, match=r"bad\.json.*line 2"):
        maskkit.load_coco(p)


@pytest.mark.parametrize(
    "mutate, error, match",
    [
        (lambda d: d.pop("annotations"), InvalidAnnotationError, "missing the 'annotations'"),
        (lambda d: d["images"][0].pop("height"), InvalidAnnotationError, "image 1: has no height"),
        (lambda d: d["annotations"][0].update(image_id=99), InvalidAnnotationError,
         "annotation 1: refers to unknown image_id 99"),
        (lambda d: d["annotations"][0].update(category_id=42), UnknownCategoryError,
         "annotation 1: has unknown category_id 42"),
        (lambda d: d["annotations"][0].pop("segmentation"), InvalidAnnotationError,
         "annotation 1: is missing"),
    ],
)
def test_bad_records_name_the_object(tmp_path, mutate, error, match):
    d = dataset([{"category_id": 1, "segmentation": square(0, 0, 2)}])
    mutate(d)
    p = tmp_path / "inst.json"
    p.write_text(json.dumps(d))
    with pytest.raises(error, match=match) as info:
        maskkit.coco_to_semantic(p, 1)
    assert "inst.json" in str(info.value)


@pytest.mark.parametrize(
    "seg, match",
    [
        ([[0, 0, 1, 1]], "annotation 1: polygon part 0 has 2 point"),
        ([[0, 0, 1, 1, 2]], "odd number"),
        ([[0, 0, 5, 0, float("nan"), 5]], "annotation 1: polygon coordinate nan"),
        ({"size": [10, 10], "counts": [3, 4]}, "annotation 1: RLE counts sum to 7"),
        ({"size": [5, 20], "counts": [100]}, "differs from the image size"),
    ],
)
def test_bad_segmentations_name_file_and_annotation(tmp_path, seg, match):
    p = tmp_path / "inst.json"
    p.write_text(json.dumps(dataset([{"category_id": 1, "segmentation": seg}])))
    with pytest.raises(ValueError, match=match):
        maskkit.coco_to_semantic(p, 1)


def test_unknown_image_id():
    with pytest.raises(InvalidAnnotationError, match="image_id 5"):
        maskkit.coco_to_semantic(dataset([]), 5)


# --- the PNG writer coco2sem uses -----------------------------------------------------


@given(st.integers(1, 40), st.integers(1, 70), st.sampled_from(["runs", "noise", "wide"]),
       st.booleans(), st.integers(0, 2**32 - 1))
def test_label_png_writer_round_trips(h, w, kind, palette, seed):
    """maskkit's run-length DEFLATE: valid PNGs (zlib and Pillow read them) holding
    exactly the label map, 8-bit, palette or 16-bit."""
    import io
    import zlib

    from PIL import Image

    from maskkit.io.png import encode_label_png

    rng = np.random.default_rng(seed)
    top = {"runs": 5, "noise": 256, "wide": 65536}[kind]
    if kind == "runs":
        flat = np.repeat(rng.integers(0, top, h * w), rng.integers(1, 300, h * w))[: h * w]
        labels = flat.reshape(h, w)
    else:
        labels = rng.integers(0, top, (h, w))
    palette = palette and labels.max() <= 255
    data = encode_label_png(labels, palette=palette)
    img = Image.open(io.BytesIO(data))
    img.load()
    assert img.mode == ("P" if palette else "L" if labels.max() <= 255 else "I;16")
    np.testing.assert_array_equal(np.asarray(img).astype(np.int64), labels)
    idat = data[data.index(b"IDAT") + 4:data.index(b"IEND") - 8]
    rowbytes = w * (1 if labels.max() <= 255 else 2) + 1
    assert len(zlib.decompress(idat)) == h * rowbytes  # checksum verified by zlib


BOUNDSCHECK_SCRIPT = r"""
import numpy as np
import maskkit
from maskkit.core import rasterize as painter
from maskkit.errors import MaskkitError
from maskkit.io.png import encode_label_png

saved = painter._PARALLEL_MIN_PIXELS
painter._PARALLEL_MIN_PIXELS = 0  # the banded painter too
rng = np.random.default_rng(19)
for it in range(150):
    h, w = (int(v) for v in rng.integers(1, 40, 2))
    anns = []
    for j in range(int(rng.integers(1, 6))):
        k = int(rng.integers(3, 40))
        r = float(rng.choice([0.5, 5, 30, 1e4]))
        cx, cy = rng.uniform(-r, w + r), rng.uniform(-r, h + r)
        a = np.sort(rng.uniform(0, 6.3, k))
        rr = r * np.where(np.arange(k) % 2 == 0, 1.0, rng.uniform(0.02, 1.0, k))
        ring = np.empty(2 * k)
        ring[0::2], ring[1::2] = cx + rr * np.cos(a), cy + rr * np.sin(a)
        seg = [ring.tolist()] * int(rng.integers(1, 3))
        anns.append({"id": j + 1, "image_id": 1, "category_id": int(rng.integers(1, 4)),
                     "iscrowd": int(j == 0 and it % 3 == 0), "segmentation": seg})
    coco = {"images": [{"id": 1, "height": h, "width": w}], "annotations": anns,
            "categories": [{"id": c} for c in (1, 2, 3)]}
    for overlap in ("last", "area", "void"):
        for threads in (1, 2):
            try:
                out, _ = maskkit.coco_to_semantic(coco, 1, overlap=overlap, crowd="ignore",
                                                  return_stats=True, threads=threads)
                encode_label_png(out)
            except MaskkitError:
                pass
painter._PARALLEL_MIN_PIXELS = saved  # the scripts share one process
print("ok")
"""


@pytest.mark.boundscheck(BOUNDSCHECK_SCRIPT)
def test_tracked_and_banded_painting_and_png_writer_stay_in_bounds(boundscheck):
    """The claim-counting painter, the banded one and the PNG writer compiled with bounds
    checking (``MASKKIT_BOUNDSCHECK=1``), fed needles, far vertices and multi-part objects."""
    assert boundscheck.strip().endswith("ok")
