"""`maskkit count --kind coco|panoptic`: per-image counts straight from annotation files."""

from __future__ import annotations

import csv
import json

import numpy as np

from maskkit.cli import main


def rows_of(path):
    with open(path, newline="") as fh:
        return [(r["image"], r["class"], int(r["count"]), int(r["area"]))
                for r in csv.DictReader(fh)]


def test_coco_counts_non_crowd_annotations(tmp_path):
    inst = tmp_path / "inst.json"
    inst.write_text(json.dumps({
        "images": [{"id": 1, "height": 10, "width": 10, "file_name": "a.jpg"},
                   {"id": 2, "height": 4, "width": 4, "file_name": "b.jpg"}],
        "categories": [{"id": 3}, {"id": 5}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 3, "segmentation": [0, 0, 4, 4]},
            {"id": 2, "image_id": 1, "category_id": 3, "segmentation": [2, 2, 4, 4]},
            {"id": 3, "image_id": 1, "category_id": 5, "segmentation": [8, 8, 2, 2],
             "iscrowd": 1},
        ]}))
    out = tmp_path / "c.csv"
    assert main(["count", str(inst), "--kind", "coco", "-o", str(out), "--quiet",
                 "--workers", "1"]) == 0
    assert sorted(rows_of(out)) == [("a.jpg", "3", 2, 28), ("a.jpg", "5", 0, 4),
                                    ("b.jpg", "", 0, 0)]


def test_panoptic_counts_segments(tmp_path):
    from maskkit.core.panoptic import id2rgb
    from maskkit.io.panoptic import write_panoptic_png

    folder = tmp_path / "pan"
    folder.mkdir()
    ids = np.zeros((5, 6), np.uint32)
    ids[:2, :2] = 11
    ids[3:, 3:] = 12
    ids[0, 5] = 40
    write_panoptic_png(folder / "x.png", ids)
    assert id2rgb(np.array([[11]])).shape == (1, 1, 3)
    doc = {"annotations": [{"image_id": 1, "file_name": "x.png", "segments_info": [
        {"id": 11, "category_id": 1}, {"id": 12, "category_id": 1},
        {"id": 40, "category_id": 2, "iscrowd": 1}]}],
        "categories": [{"id": 1, "isthing": 1}, {"id": 2, "isthing": 1}]}
    pj = tmp_path / "pan.json"
    pj.write_text(json.dumps(doc))
    out = tmp_path / "c.csv"
    assert main(["count", str(pj), "--kind", "panoptic", "-o", str(out), "--quiet"]) == 0
    assert sorted(rows_of(out)) == [("x.png", "1", 2, 10), ("x.png", "2", 0, 1)]
    # a PNG segment missing from the JSON is reported with the file
    doc["annotations"][0]["segments_info"].pop()
    pj.write_text(json.dumps(doc))
    assert main(["count", str(pj), "--kind", "panoptic", "-o", str(out), "--quiet",
                 "--on-error", "skip"]) == 3
    err = json.loads((tmp_path / "c.csv.errors.jsonl").read_text().splitlines()[0])
    assert "segment id 40" in err["reason"]


def test_real_panoptic_and_coco(real_data, tmp_path):
    pan = real_data / "coco_panoptic_panopticapi" / "sample_data"
    out = tmp_path / "p.csv"
    assert main(["count", str(pan / "panoptic_examples.json"), "--kind", "panoptic",
                 "--png-folder", str(pan / "panoptic_examples"), "-o", str(out),
                 "--quiet"]) == 0
    doc = json.loads((pan / "panoptic_examples.json").read_text())
    expected = sum(1 for a in doc["annotations"] for s in a["segments_info"]
                   if not s.get("iscrowd"))
    assert sum(r[2] for r in rows_of(out)) == expected
    inst = real_data / "coco_val2017_instances_mmdet" / "instances_val2017.json"
    out = tmp_path / "c.csv"
    assert main(["count", str(inst), "--kind", "coco", "-o", str(out), "--quiet"]) == 0
    cars = [r for r in rows_of(out) if r[0] == "000000255917.jpg" and r[1] == "3"]
    assert cars[0][2] == 13
