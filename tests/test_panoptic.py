"""maskkit.datasets.panoptic against pycocotools, naive per-mask implementations and real data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as mask_utils

import maskkit
from maskkit._kernels import panoptic as _kp
from maskkit.cli import main
from maskkit.core.panoptic import instances_to_panoptic, segments_from_flat
from maskkit.errors import (
    InvalidAnnotationError,
    InvalidInputError,
    InvalidRLEError,
    MaskkitTypeError,
    UnknownCategoryError,
)
from maskkit.io.panoptic import read_panoptic_png, write_panoptic_png
from maskkit.io.png import read_png, write_label_png

PAN = "coco_panoptic_panopticapi"
MMDET = "coco_val2017_instances_mmdet/instances_val2017.json"


def small_id_maps(max_side=10, n_ids=6):
    shape = st.tuples(st.integers(1, max_side), st.integers(1, max_side))
    palette = np.array([0, 1, 7, 255, 256, 65535, 70000, (1 << 24) - 1], np.uint32)[:n_ids + 2]
    return shape.flatmap(lambda s: arrays(np.uint8, s, elements=st.integers(0, n_ids + 1))
                         .map(lambda a: palette[a]))


def runs_to_mask(starts, ends, h, w):
    flat = np.zeros(h * w, np.uint8)
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        flat[s:e] = 1
    return flat.reshape(w, h).T


# ============================================================================ rgb2id / id2rgb


@given(small_id_maps())
def test_rgb_round_trip(ids):
    rgb = maskkit.id2rgb(ids)
    assert rgb.shape == (*ids.shape, 3) and rgb.dtype == np.uint8
    c = rgb.astype(np.uint32)
    want = c[..., 0] + 256 * c[..., 1] + 65536 * c[..., 2]
    np.testing.assert_array_equal(want, ids)
    np.testing.assert_array_equal(maskkit.rgb2id(rgb), ids)


def test_rgb_scalars_and_errors():
    assert maskkit.rgb2id([1, 2, 3]) == 1 + 512 + 3 * 65536
    assert maskkit.id2rgb(1 + 512 + 3 * 65536) == [1, 2, 3]
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0] = 9
    assert maskkit.rgb2id(rgba).tolist() == [[9, 9], [9, 9]]
    with pytest.raises(InvalidInputError, match=r"\(H, W, 3\)"):
        maskkit.rgb2id(np.zeros((2, 2)))
    with pytest.raises(InvalidInputError, match="0..255"):
        maskkit.rgb2id(np.full((1, 1, 3), 300))
    with pytest.raises(InvalidInputError, match="24 bits"):
        maskkit.id2rgb(np.array([[1 << 24]]))
    with pytest.raises(InvalidInputError, match="out of range|0..16777215"):
        maskkit.id2rgb(-1)
    with pytest.raises(MaskkitTypeError):
        maskkit.id2rgb(np.zeros((2, 2), float))


# ============================================================================ RLE, no masks


@given(small_id_maps())
def test_one_pass_rle_matches_pycocotools(ids):
    h = ids.shape[0]
    uniq, strings, area, box = segments_from_flat(np.ascontiguousarray(ids.T).ravel(), h)
    assert uniq.tolist() == sorted(set(ids.ravel().tolist()) - {0})
    for i, v in enumerate(uniq.tolist()):
        m = np.asfortranarray((ids == v).astype(np.uint8))
        rle = mask_utils.encode(m)
        assert strings[i] == rle["counts"].decode()
        assert area[i] == int(mask_utils.area(rle))
        ys, xs = np.nonzero(ids == v)
        assert box[i].tolist() == [ys.min(), ys.max(), xs.min(), xs.max()]


def test_segments_use_the_exact_coco_runs():
    from maskkit.core.panoptic import segmentation_runs_i64

    s, e = segmentation_runs_i64([[0, 0, 2, 0, 2, 2, 0, 2]], 3, 3)
    assert s.tolist() == [0, 3] and e.tolist() == [2, 5]
    with pytest.raises(InvalidRLEError, match="img.json: 7: RLE size"):
        segmentation_runs_i64({"size": [3, 3], "counts": "1"}, 4, 4, source="img.json", obj=7)


# ============================================================================ to COCO / check


def test_to_coco_reproduces_published_detection_json(real_data):
    d = real_data / PAN / "sample_data"
    got = maskkit.panoptic_to_coco(d / "panoptic_examples.json", d / "panoptic_examples")
    ref = json.loads((d / "panoptic_coco_detection_format.json").read_text())
    assert len(got["annotations"]) == len(ref["annotations"]) == 50
    for a, b in zip(got["annotations"], ref["annotations"], strict=True):
        assert a["segmentation"] == b["segmentation"]
        for k in ("area", "bbox", "category_id", "iscrowd", "image_id"):
            assert a[k] == b[k], k
    assert [c["id"] for c in got["categories"]] == [c["id"] for c in ref["categories"]]
    things = maskkit.panoptic_to_coco(d / "panoptic_examples.json", d / "panoptic_examples",
                                      things_only=True)
    assert len(things["annotations"]) == 43
    assert all("isthing" not in c for c in things["categories"])


def test_check_passes_on_real_data(real_data):
    d = real_data / PAN / "sample_data"
    assert maskkit.check_panoptic(d / "panoptic_examples.json", d / "panoptic_examples") == []


def test_check_catches_planted_faults(real_data, tmp_path):
    d = real_data / PAN / "sample_data"
    doc = json.loads((d / "panoptic_examples.json").read_text())
    shutil.copytree(d / "panoptic_examples", tmp_path / "pan")
    a0, a1 = doc["annotations"]
    s = a0["segments_info"]
    s[0]["area"] += 1  # wrong area
    s[1]["bbox"] = [0, 0, 1, 1]  # wrong bbox
    dropped = s.pop(2)  # in PNG, not in JSON
    s.append({"id": 4242, "category_id": 1, "iscrowd": 0, "area": 1, "bbox": [0, 0, 1, 1]})
    s[3]["category_id"] = 9999  # unknown category
    s.append({"id": 0, "category_id": 1})  # VOID as a segment
    a1["segments_info"].append(dict(a1["segments_info"][0]))  # duplicate id
    doc["annotations"].append({"image_id": 7, "file_name": "missing.png",
                               "segments_info": []})
    (tmp_path / "pan.json").write_text(json.dumps(doc))
    problems = maskkit.check_panoptic(tmp_path / "pan.json")
    text = "\n".join(map(str, problems))
    f0, f1 = a0["file_name"], a1["file_name"]
    assert f"{f0}: image {a0['image_id']}: segment {s[0]['id']}: area is" in text
    assert f"{f0}: image {a0['image_id']}: segment {s[1]['id']}: bbox is" in text
    assert f"segment {dropped['id']}: in the PNG ({dropped['area']} pixels)" in text
    assert "segment 4242: listed in the JSON but absent from the PNG" in text
    assert f"segment {s[3]['id']}: unknown category_id 9999" in text
    assert "segment 0: segment id 0 is reserved for VOID" in text
    assert f"{f1}: image {a1['image_id']}: segment {a1['segments_info'][0]['id']}: " \
           "segment id listed more than once" in text
    assert "missing.png: image 7: cannot read PNG" in text
    assert len(problems) == 8
    # the CLI prints them all on stdout and fails
    assert main(["panoptic", "check", str(tmp_path / "pan.json")]) == 1


# ============================================================================ from 2ch / semantic


def test_from_2ch_reproduces_real_segmentation(real_data):
    d = real_data / PAN / "sample_data"
    cats = json.loads((real_data / PAN / "panoptic_coco_categories.json").read_text())
    doc = json.loads((d / "panoptic_examples.json").read_text())
    for ann in doc["annotations"]:
        two = read_png(d / "panoptic_examples_2ch_format" / ann["file_name"], mode="rgb")
        ids, segs = maskkit.panoptic_from_2ch(two, categories=cats)
        gt = read_panoptic_png(d / "panoptic_examples" / ann["file_name"])
        pairs = np.unique(ids.astype(np.uint64) << np.uint64(24) | gt.astype(np.uint64))
        # a bijection between our segments and the published ones, VOID to VOID
        ours, theirs = pairs >> np.uint64(24), pairs & np.uint64((1 << 24) - 1)
        assert len(set(ours.tolist())) == len(set(theirs.tolist())) == pairs.size
        assert pairs.size == len(ann["segments_info"]) + 1 and (0, 0) == (ours[0], theirs[0])
        cat = {s["id"]: s["category_id"] for s in ann["segments_info"]}
        area = {s["id"]: s["area"] for s in ann["segments_info"]}
        for o, t in zip(ours[1:].tolist(), theirs[1:].tolist(), strict=True):
            assert segs[o - 1]["category_id"] == cat[t]
            assert segs[o - 1]["area"] == area[t]


def test_from_2ch_errors_and_void():
    a = np.zeros((2, 2, 2), np.uint8)
    a[0] = [5, 1]
    ids, segs = maskkit.panoptic_from_2ch(a, void_category=5)
    assert ids.tolist() == [[0, 0], [1, 1]] and segs[0]["category_id"] == 0
    with pytest.raises(UnknownCategoryError, match="category 5"):
        maskkit.panoptic_from_2ch(a, categories=[{"id": 0}])
    with pytest.raises(InvalidInputError, match="C>=2"):
        maskkit.panoptic_from_2ch(np.zeros((2, 2)))


def test_to_semantic_real(real_data):
    d = real_data / PAN / "sample_data"
    doc = json.loads((d / "panoptic_examples.json").read_text())
    cats = json.loads((real_data / PAN / "panoptic_coco_categories.json").read_text())
    things = {c["id"] for c in cats if c["isthing"]}
    for ann in doc["annotations"]:
        ids = read_panoptic_png(d / "panoptic_examples" / ann["file_name"])
        sem = maskkit.panoptic_to_semantic(ids, ann["segments_info"])
        want = np.full(ids.shape, 255, np.uint8)
        merged = want.copy()
        for s in ann["segments_info"]:
            want[ids == s["id"]] = s["category_id"]
            merged[ids == s["id"]] = 183 if s["category_id"] in things else s["category_id"]
        np.testing.assert_array_equal(sem, want)
        got = maskkit.panoptic_to_semantic(ids, ann["segments_info"], things=things,
                                           things_as=183)
        np.testing.assert_array_equal(got, merged)
    with pytest.raises(InvalidAnnotationError, match="segment"):
        maskkit.panoptic_to_semantic(ids, ann["segments_info"][1:])


# ============================================================================ merge


def naive_merge(semantic, instances, things, overlap_threshold, stuff_area_threshold,
                score_threshold):
    """detectron2's combine heuristic with one full boolean mask per instance."""
    h, w = semantic.shape
    pan = np.zeros((h, w), np.uint32)
    segs = []
    order = sorted(range(len(instances)), key=lambda i: -instances[i]["score"])
    nid = 1
    for k in order:
        inst = instances[k]
        if inst["score"] < score_threshold:
            continue
        seg = inst["segmentation"]
        if isinstance(seg, list):
            rle = mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
        else:
            rle = mask_utils.frPyObjects(seg, h, w) if isinstance(seg["counts"], list) else seg
        mask = mask_utils.decode(rle).astype(bool)
        area = mask.sum()
        if area == 0:
            continue
        taken = (mask & (pan > 0)).sum()
        if taken / area > overlap_threshold:
            continue
        mask &= pan == 0
        if not mask.any():
            continue
        pan[mask] = nid
        segs.append((nid, inst["category_id"]))
        nid += 1
    for label in np.unique(semantic).tolist():
        if label == 0 or label in things:
            continue
        mask = (semantic == label) & (pan == 0)
        if mask.sum() < stuff_area_threshold or not mask.any():  # never an empty segment
            continue
        pan[mask] = nid
        segs.append((nid, label))
        nid += 1
    return pan, segs


@st.composite
def merge_inputs(draw):
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    semantic = draw(arrays(np.uint8, (h, w), elements=st.sampled_from([0, 1, 2, 50, 51, 52])))
    n = draw(st.integers(0, 6))
    instances = []
    for _ in range(n):
        if draw(st.booleans()):
            m = draw(arrays(np.uint8, (h, w), elements=st.integers(0, 1)))
            rle = mask_utils.encode(np.asfortranarray(m))
            seg = {"size": [h, w], "counts": rle["counts"].decode()}
        else:
            coords = st.floats(-2, 14, allow_nan=False, width=32)
            seg = [draw(st.lists(coords, min_size=6, max_size=10).filter(
                lambda v: len(v) % 2 == 0))]
        instances.append({"category_id": draw(st.sampled_from([1, 2])),
                          "score": draw(st.sampled_from([0.3, 0.5, 0.6, 0.9, 0.9])),
                          "segmentation": seg})
    thr = draw(st.sampled_from([0.0, 0.3, 0.5, 1.0]))
    stuff_thr = draw(st.integers(0, 8))
    return semantic, instances, thr, stuff_thr


@given(merge_inputs())
def test_merge_matches_per_mask_heuristic(case):
    semantic, instances, thr, stuff_thr = case
    ids, segs = maskkit.merge_panoptic(semantic, instances, things={1, 2},
                                       overlap_threshold=thr,
                                       stuff_area_threshold=stuff_thr)
    want, wsegs = naive_merge(semantic, instances, {1, 2}, thr, stuff_thr, 0.5)
    np.testing.assert_array_equal(ids, want)
    assert [(s["id"], s["category_id"]) for s in segs] == wsegs
    for s in segs:
        ys, xs = np.nonzero(ids == s["id"])
        assert s["area"] == ys.size > 0
        assert s["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1,
                             ys.max() - ys.min() + 1]
    # merge -> to-semantic is consistent with both inputs
    sem = maskkit.panoptic_to_semantic(ids, segs, unlabeled=0)
    stuff = np.isin(ids, [s["id"] for s in segs if not s["isthing"]])
    np.testing.assert_array_equal(sem[stuff], semantic[stuff])
    for s in segs:
        if s["isthing"]:
            assert s["category_id"] == instances[s["instance_index"]]["category_id"]


def test_merge_validation():
    sem = np.zeros((3, 3), np.uint8)
    inst = [{"category_id": 5, "score": 1.0, "segmentation": [[0, 0, 2, 0, 2, 2]]}]
    with pytest.raises(UnknownCategoryError, match="instance 0.*not a thing"):
        maskkit.merge_panoptic(sem, inst, things={1})
    with pytest.raises(InvalidAnnotationError, match="instance 0.*score"):
        maskkit.merge_panoptic(sem, [{"category_id": 1, "segmentation": []}], things={1})
    with pytest.raises(InvalidInputError, match="2-D"):
        maskkit.merge_panoptic(np.zeros((3, 3, 3), np.uint8), [], things={1})
    bad = [{"category_id": 1, "score": 1.0, "segmentation": {"size": [4, 4], "counts": "0"}}]
    with pytest.raises(InvalidRLEError, match="instance 0"):
        maskkit.merge_panoptic(sem, bad, things={1})


def test_merge_is_deterministic_and_keeps_void():
    rng = np.random.default_rng(0)
    sem = rng.integers(0, 4, (40, 50)).astype(np.uint8)
    inst = [{"category_id": 1, "score": float(s),
             "segmentation": [[float(x), float(y), float(x) + 15, float(y), float(x) + 7,
                               float(y) + 20]]}
            for s, x, y in zip(rng.random(10), rng.integers(0, 40, 10),
                               rng.integers(0, 30, 10), strict=True)]
    a = maskkit.merge_panoptic(sem, inst, things={1}, stuff_area_threshold=10)
    b = maskkit.merge_panoptic(sem, inst, things={1}, stuff_area_threshold=10)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]
    assert (a[0][sem == 0] == 0).sum() > 0  # unlabeled stays VOID where no instance


# ============================================================================ COCO -> panoptic


def naive_owner(masks, policy, areas, scores):
    """Owner index (+1) per pixel under an overlap policy, from full masks."""
    h, w = masks[0].shape if masks else (0, 0)
    owner = np.zeros((h, w), np.int64)
    if policy == "last":
        order = range(len(masks))
    elif policy == "area":
        order = sorted(range(len(masks)), key=lambda k: (-areas[k], k))
    elif policy == "score":
        order = sorted(range(len(masks)), key=lambda k: (scores[k], k))
    else:
        order = range(len(masks))
    for k in order:
        owner[masks[k]] = k + 1
    if policy == "void":
        cover = np.sum(masks, axis=0) if masks else owner
        owner[cover > 1] = 0
    return owner


@pytest.mark.parametrize("policy", ["last", "area", "score", "void"])
def test_instances_to_panoptic_policies_real(real_data, policy):
    from pycocotools.coco import COCO

    coco = COCO(str(real_data / MMDET))
    for img_id in coco.getImgIds():
        img = coco.loadImgs(img_id)[0]
        anns = [dict(a, score=0.1 * (i % 7)) for i, a in
                enumerate(coco.loadAnns(coco.getAnnIds(imgIds=img_id)))]
        ids, segs = instances_to_panoptic(anns, img["height"], img["width"], overlap=policy)
        masks = [coco.annToMask(a).astype(bool) for a in anns]
        owner = naive_owner(masks, policy, [m.sum() for m in masks],
                            [a["score"] for a in anns])
        np.testing.assert_array_equal(ids, owner)
        for s in segs:
            assert s["area"] == int((ids == s["id"]).sum()) > 0
            assert s["annotation_id"] == anns[s["id"] - 1]["id"]
            assert s["iscrowd"] == anns[s["id"] - 1]["iscrowd"]


def test_coco_round_trip_keeps_non_occluded_pixels(real_data, tmp_path):
    from pycocotools.coco import COCO

    pan = maskkit.coco_to_panoptic(real_data / MMDET, tmp_path / "pan")
    cats = pan["categories"]
    (tmp_path / "pan.json").write_text(json.dumps(pan))
    assert maskkit.check_panoptic(tmp_path / "pan.json") == []
    back = maskkit.panoptic_to_coco(tmp_path / "pan.json", categories=cats)
    coco = COCO(str(real_data / MMDET))
    by_ann = {}
    for a in pan["annotations"]:
        for s in a["segments_info"]:
            by_ann[(a["image_id"], s["id"])] = s["annotation_id"]
    seg_of = {}
    for b in back["annotations"]:
        seg_of[b["id"]] = b
    kept = 0
    for img_id in coco.getImgIds():
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
        masks = [coco.annToMask(a).astype(bool) for a in anns]
        later = np.zeros_like(masks[0])
        back_masks = {}
        for b in back["annotations"]:
            if b["image_id"] == img_id:
                back_masks[b["annotation_id"]] = mask_utils.decode(b["segmentation"]) > 0
        for k in range(len(anns) - 1, -1, -1):
            visible = masks[k] & ~later
            got = back_masks.get(anns[k]["id"], np.zeros_like(visible))
            np.testing.assert_array_equal(got, visible)
            kept += int(visible.any())
            later |= masks[k]
    assert kept >= 30


def test_coco_to_panoptic_with_stuff_and_crowd_ignore():
    coco = {"images": [{"id": 1, "file_name": "x.jpg", "height": 6, "width": 6}],
            "categories": [{"id": 1, "name": "a"}],
            "annotations": [
                {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 1,
                 "segmentation": [[0, 0, 6, 0, 6, 6, 0, 6]]},
                {"id": 2, "image_id": 1, "category_id": 1, "iscrowd": 0,
                 "segmentation": [[0, 0, 2, 0, 2, 2, 0, 2]]}]}
    stuff = {"categories": [{"id": 90, "name": "sky"}],
             "annotations": [{"id": 9, "image_id": 1, "category_id": 90,
                              "segmentation": {"size": [6, 6], "counts": [0, 36]}}]}
    pan = maskkit.coco_to_panoptic(coco, stuff=stuff, crowd="ignore")
    segs = pan["annotations"][0]["segments_info"]
    assert [(s["category_id"], s["iscrowd"], s["area"]) for s in segs] == [
        (1, 1, 32), (1, 0, 4)]  # the crowd keeps only free pixels; no room left for stuff
    assert {c["id"]: c["isthing"] for c in pan["categories"]} == {1: 1, 90: 0}
    pan = maskkit.coco_to_panoptic(coco, stuff=stuff, crowd="skip")
    segs = pan["annotations"][0]["segments_info"]
    assert [(s["category_id"], s["area"]) for s in segs] == [(1, 4), (90, 32)]
    with pytest.raises(InvalidInputError, match="overlap"):
        maskkit.coco_to_panoptic(coco, overlap="first")
    bad = dict(coco, annotations=[dict(coco["annotations"][0], category_id=3)])
    with pytest.raises(UnknownCategoryError, match="annotation 1"):
        maskkit.coco_to_panoptic(bad)


# ============================================================================ CLI


def test_cli_merge_from_png_folder(tmp_path, capsys):
    rng = np.random.default_rng(1)
    sem_dir = tmp_path / "sem"
    results = []
    for img_id in (3, 4):
        sem = np.zeros((30, 40), np.uint8)
        sem[:, :20] = 100
        sem[:, 20:] = 101
        write_label_png(sem_dir / f"{img_id:012d}.png", sem)
        for _ in range(3):
            x, y = rng.integers(0, 30), rng.integers(0, 20)
            results.append({"image_id": img_id, "category_id": 1, "score": 0.8,
                            "segmentation": [[float(x), float(y), x + 8.0, float(y),
                                              x + 8.0, y + 8.0, float(x), y + 8.0]]})
    (tmp_path / "res.json").write_text(json.dumps(results))
    cats = [{"id": 1, "name": "a", "isthing": 1}, {"id": 100, "name": "b", "isthing": 0},
            {"id": 101, "name": "c", "isthing": 0}]
    (tmp_path / "cats.json").write_text(json.dumps(cats))
    out = tmp_path / "out.json"
    assert main(["panoptic", "merge", "--semantic", str(sem_dir), "--instances",
                 str(tmp_path / "res.json"), "--categories", str(tmp_path / "cats.json"),
                 "-o", str(out), "--stuff-area-threshold", "10", "--workers", "1",
                 "--quiet"]) == 0
    assert "2 images" in capsys.readouterr().err
    assert maskkit.check_panoptic(out) == []
    doc = json.loads(out.read_text())
    ids = read_panoptic_png(tmp_path / "out" / doc["annotations"][0]["file_name"])
    sem = read_png(sem_dir / doc["annotations"][0]["file_name"])
    want, _ = maskkit.merge_panoptic(sem, [r for r in results if r["image_id"] == 3],
                                     things={1}, stuff_area_threshold=10)
    np.testing.assert_array_equal(ids, want)


def test_cli_from_coco_to_coco_to_semantic(real_data, tmp_path):
    out = tmp_path / "p.json"
    assert main(["panoptic", "from-coco", str(real_data / MMDET), "-o", str(out),
                 "--overlap", "area"]) == 0
    assert main(["panoptic", "check", str(out)]) == 0
    assert main(["panoptic", "to-coco", str(out), "-o", str(tmp_path / "c.json")]) == 0
    assert json.loads((tmp_path / "c.json").read_text())["annotations"]
    assert main(["panoptic", "to-semantic", str(out), "-o", str(tmp_path / "sem"),
                 "--workers", "1", "--quiet"]) == 0
    assert len(list((tmp_path / "sem").glob("*.png"))) == 2


def test_cli_from_2ch(real_data, tmp_path):
    d = real_data / PAN / "sample_data"
    out = tmp_path / "p.json"
    assert main(["panoptic", "from-2ch", str(d / "panoptic_examples_2ch_format"),
                 "--images", str(d / "images_info_examples.json"),
                 "--categories", str(real_data / PAN / "panoptic_coco_categories.json"),
                 "-o", str(out), "--workers", "1", "--quiet"]) == 0
    assert maskkit.check_panoptic(out) == []
    r = maskkit.pq_compute(d / "panoptic_examples.json", out, d / "panoptic_examples")
    assert r["All"]["pq"] == 1.0


def test_png_helpers_round_trip(tmp_path):
    ids = np.array([[0, 1, 70000], [(1 << 24) - 1, 5, 5]])
    write_panoptic_png(tmp_path / "a.png", ids)
    np.testing.assert_array_equal(read_panoptic_png(tmp_path / "a.png"), ids)
    assert Path(tmp_path / "a.png").stat().st_size > 0


# ============================================================================ hostile input


@settings(max_examples=200)
@given(st.data())
def test_corrupt_png_raises_cleanly(tmp_path_factory, data):
    from maskkit.errors import MaskkitIOError

    folder = tmp_path_factory.mktemp("png")
    write_panoptic_png(folder / "a.png", np.arange(35).reshape(5, 7))
    raw = bytearray((folder / "a.png").read_bytes())
    cut = data.draw(st.integers(8, len(raw)))
    pos = data.draw(st.integers(33, len(raw) - 1))
    raw[pos] ^= data.draw(st.integers(1, 255))
    (folder / "b.png").write_bytes(bytes(raw[:cut]))
    try:
        ids = read_panoptic_png(folder / "b.png")
    except MaskkitIOError as exc:
        assert "b.png" in str(exc)
    else:
        assert ids.shape == (5, 7)


@given(st.lists(st.tuples(st.integers(-100, 100), st.integers(-100, 100)), max_size=6))
def test_paint_kernels_clamp_hostile_runs(runs):
    flat = np.zeros(12, np.uint32)
    starts = np.array([r[0] for r in runs], np.int64)
    ends = np.array([r[1] for r in runs], np.int64)
    _kp.paint_runs_if_free(flat, starts, ends, np.uint32(3), 0.5)
    _kp.paint_runs(flat, starts, ends, np.uint32(4), True, np.zeros(12, np.uint8))
    assert set(np.unique(flat).tolist()) <= {0, 3, 4}


def test_cli_merge_from_stuff_json(tmp_path):
    h, w = 20, 30
    sky = np.zeros((h, w), np.uint8)
    sky[:10] = 1
    ground = 1 - sky
    stuff = {"images": [{"id": 1, "file_name": "a.jpg", "height": h, "width": w}],
             "annotations": [
                 {"id": 1, "image_id": 1, "category_id": 90,
                  "segmentation": {k: (v.decode() if k == "counts" else v) for k, v in
                                   mask_utils.encode(np.asfortranarray(sky)).items()}},
                 {"id": 2, "image_id": 1, "category_id": 91,
                  "segmentation": {k: (v.decode() if k == "counts" else v) for k, v in
                                   mask_utils.encode(np.asfortranarray(ground)).items()}}]}
    res = [{"image_id": 1, "category_id": 1, "score": 0.9,
            "segmentation": [[2.0, 2.0, 12.0, 2.0, 12.0, 15.0, 2.0, 15.0]]}]
    cats = {"categories": [{"id": 1, "isthing": 1}, {"id": 90, "isthing": 0},
                           {"id": 91, "isthing": 0}]}
    for name, obj in (("stuff.json", stuff), ("res.json", res), ("cats.json", cats)):
        (tmp_path / name).write_text(json.dumps(obj))
    out = tmp_path / "pan.json"
    assert main(["panoptic", "merge", "--semantic", str(tmp_path / "stuff.json"),
                 "--instances", str(tmp_path / "res.json"), "--categories",
                 str(tmp_path / "cats.json"), "-o", str(out), "--stuff-area-threshold", "5",
                 "--workers", "1", "--quiet"]) == 0
    assert maskkit.check_panoptic(out) == []
    segs = json.loads(out.read_text())["annotations"][0]["segments_info"]
    assert [s["category_id"] for s in segs] == [1, 90, 91]
    assert sum(s["area"] for s in segs) == h * w
