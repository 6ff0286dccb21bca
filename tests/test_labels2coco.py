"""labels2coco: exact RLE round trips against pycocotools, polygon round trips (IoU), holes,
class maps, and the CLI end to end."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as mask_utils

from maskkit.cli import main
from maskkit.core.annotations import label_image_annotations
from maskkit.core.label import label
from maskkit.core.rasterize import paint_polygons, polygon_to_mask
from maskkit.datasets.labels2coco import labels_to_coco, load_class_map
from maskkit.errors import MaskkitIOError, UnknownCategoryError


def decode(seg, h, w):
    if isinstance(seg, dict):
        return mask_utils.decode({"size": seg["size"], "counts": seg["counts"].encode()})
    return polygon_to_mask(seg, h, w)


def iou(a, b):
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else np.logical_and(a, b).sum() / union


label_images = st.integers(1, 9).flatmap(
    lambda h: st.integers(1, 9).flatmap(
        lambda w: arrays(np.uint8, (h, w), elements=st.integers(0, 4))
    )
)


@given(label_images)
def test_instance_rle_round_trip_is_exact(labels):
    anns = label_image_annotations(labels, kind="instance", image_id=3, first_id=10)
    ids = [i for i in np.unique(labels) if i != 0]
    assert len(anns) == len(ids)
    for ann, i in zip(anns, ids, strict=True):
        truth = (labels == i).astype(np.uint8)
        rle = mask_utils.encode(np.asfortranarray(truth))
        assert ann["segmentation"]["counts"] == rle["counts"].decode()
        assert ann["area"] == int(mask_utils.area(rle))
        assert ann["bbox"] == mask_utils.toBbox(rle).astype(int).tolist()
        assert ann["image_id"] == 3 and ann["category_id"] == 1 and ann["iscrowd"] == 0
    assert [a["id"] for a in anns] == list(range(10, 10 + len(anns)))


@given(label_images, st.sampled_from([4, 8]), st.sampled_from(["rle", "polygons"]))
def test_semantic_objects_are_components(mask, connectivity, segmentation):
    h, w = mask.shape
    comps, n = label(mask, connectivity, return_count=True)
    anns = label_image_annotations(mask, kind="semantic", connectivity=connectivity,
                                   segmentation=segmentation)
    assert len(anns) == n
    for k, ann in enumerate(anns, start=1):
        truth = comps == k
        assert ann["category_id"] == int(mask[truth][0])
        np.testing.assert_array_equal(decode(ann["segmentation"], h, w), truth)
        assert ann["area"] == truth.sum()


@st.composite
def polygon_scenes(draw):
    h, w = draw(st.integers(8, 40)), draw(st.integers(8, 40))
    polys = []
    for _ in range(draw(st.integers(1, 4))):
        cx, cy = draw(st.floats(0, w)), draw(st.floats(0, h))
        r = draw(st.floats(1.5, 12))
        k = draw(st.integers(3, 12))
        rr = [r * draw(st.floats(0.5, 1.0)) for _ in range(k)]
        pts = []
        for j in range(k):
            a = 2 * math.pi * j / k
            pts += [round(cx + rr[j] * math.cos(a), 2), round(cy + rr[j] * math.sin(a), 2)]
        polys.append([pts])
    return h, w, polys


@given(polygon_scenes())
def test_polygons_to_masks_to_polygons_keeps_iou(scene):
    """polygons -> label map -> labels2coco polygons -> masks: IoU >= 0.99 per object."""
    h, w, polys = scene
    labels = np.zeros((h, w), np.uint16)
    paint_polygons(labels, polys, list(range(1, len(polys) + 1)))
    anns = label_image_annotations(labels, segmentation="polygons")
    present = [i for i in range(1, len(polys) + 1) if (labels == i).any()]
    assert len(anns) == len(present)
    for ann, i in zip(anns, present, strict=True):
        truth = labels == i
        back = decode(ann["segmentation"], h, w)
        assert iou(back, truth) >= 0.99
        assert ann["area"] == truth.sum()


def test_polygons_mostly_polygons_and_holes_stay_rle():
    labels = np.zeros((20, 20), np.uint8)
    labels[2:10, 2:10] = 1
    labels[4:6, 4:6] = 0  # a hole
    labels[12:18, 3:9] = 2
    labels[12:14, 12:14] = 3
    labels[14:16, 14:16] = 3  # diagonal touch: two 4-connected parts, COCO unions them
    anns = label_image_annotations(labels, segmentation="polygons")
    kinds = [type(a["segmentation"]).__name__ for a in anns]
    assert kinds == ["dict", "list", "list"]
    assert len(anns[2]["segmentation"]) == 2
    for ann, i in zip(anns, (1, 2, 3), strict=True):
        np.testing.assert_array_equal(decode(ann["segmentation"], 20, 20), labels == i)


def test_simplify_and_min_area():
    yy, xx = np.mgrid[:200, :200]
    disc = ((yy - 100) ** 2 + (xx - 100) ** 2 < 80**2).astype(np.uint8)
    disc[0, 0] = 2
    exact = label_image_annotations(disc, segmentation="polygons")
    simple = label_image_annotations(disc, segmentation="polygons", simplify=1.0, min_area=2)
    assert len(exact) == 2 and len(simple) == 1
    assert len(simple[0]["segmentation"][0]) < len(exact[0]["segmentation"][0]) / 4
    assert iou(decode(simple[0]["segmentation"], 200, 200), disc == 1) >= 0.99


def write_npy(path, array):
    np.save(path, array)
    return path


def test_cli_end_to_end(tmp_path, capsys):
    from pycocotools.coco import COCO

    a = np.zeros((10, 12), np.uint8)
    a[1:4, 1:5] = 1
    a[6:9, 2:6] = 2
    a[6:9, 8:11] = 1
    a[0, 11] = 255
    b = np.zeros((5, 5), np.uint8)
    b[1:3, 1:3] = 2
    write_npy(tmp_path / "a.npy", a)
    write_npy(tmp_path / "b.npy", b)
    (tmp_path / "classes.json").write_text(json.dumps({"1": "building", "2": "road"}))
    out = tmp_path / "instances.json"
    code = main(["labels2coco", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "-o", str(out),
                 "--kind", "semantic", "--polygons", "--categories",
                 str(tmp_path / "classes.json")])
    assert code == 0
    assert "2 images, 4 objects (0 as RLE), 2 categories" in capsys.readouterr().err
    coco = COCO(str(out))
    assert [c["name"] for c in coco.loadCats([1, 2])] == ["building", "road"]
    for ann in coco.dataset["annotations"]:
        img = coco.imgs[ann["image_id"]]
        src = a if img["file_name"].endswith("a.npy") else b
        m = coco.annToMask(ann)
        assert m.shape == src.shape and (src[m > 0] == ann["category_id"]).all()
        assert m.sum() == ann["area"]
    # instance kind, RLE, min-area
    code = main(["labels2coco", str(tmp_path / "a.npy"), "-o", str(out), "--kind", "instance",
                 "--min-area", "10", "--quiet"])
    assert code == 0
    data = json.loads(out.read_text())
    assert [a["area"] for a in data["annotations"]] == [21, 12]  # ids 1 (two parts), 2
    assert data["categories"] == [{"id": 1, "name": "object", "supercategory": ""}]


def test_errors_name_the_file(tmp_path, capsys):
    write_npy(tmp_path / "a.npy", np.array([[0, 3]], np.uint8))
    (tmp_path / "classes.json").write_text(json.dumps([{"id": 1, "name": "x"}]))
    out = str(tmp_path / "o.json")
    assert main(["labels2coco", str(tmp_path / "a.npy"), "-o", out, "--kind", "semantic",
                 "--categories", str(tmp_path / "classes.json")]) == 1
    assert "a.npy: value 3 has no category in the class map" in capsys.readouterr().err
    with pytest.raises(UnknownCategoryError):
        labels_to_coco([tmp_path / "a.npy"], kind="semantic",
                       categories=([{"id": 1, "name": "x"}], None))
    (tmp_path / "bad.json").write_text(json.dumps({"one": "x"}))
    with pytest.raises(MaskkitIOError, match="integer values to names"):
        load_class_map(tmp_path / "bad.json")
