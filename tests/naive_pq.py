"""A straightforward PQ, written from the published rules, to check maskkit.pq against.

This is the approach of panopticapi's reference script: decode ids with NumPy, encode each
(ground truth, prediction) pixel pair as one uint64, count pairs with ``np.unique`` and
evaluate the rules with dicts.  Deliberately simple; slow on purpose is fine.  Where the
rules are ambiguous it follows maskkit's documented choices: every crowd segment of a
category counts as crowd, and an empty class set scores 0 with n = 0.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict

import numpy as np
from PIL import Image

OFFSET = 1 << 24


def _ids(path):
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.uint32)
    return rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]


def naive_image(gt_ann, pred_ann, gt_ids, pred_ids, stats):
    gt_segs = {s["id"]: s for s in gt_ann["segments_info"]}
    pred_segs = {s["id"]: dict(s) for s in pred_ann["segments_info"]}
    labels, counts = np.unique(pred_ids, return_counts=True)
    for label, count in zip(labels.tolist(), counts.tolist(), strict=True):
        if label == 0:
            continue
        if label not in pred_segs:
            raise KeyError(f"segment {label} in PNG but not in JSON")
        pred_segs[label]["area"] = count
    for s in pred_segs.values():
        if "area" not in s or s["area"] == 0:
            raise KeyError(f"segment {s['id']} in JSON but not in PNG")
    pairs = gt_ids.astype(np.uint64) * OFFSET + pred_ids.astype(np.uint64)
    labels, counts = np.unique(pairs, return_counts=True)
    inter = {}
    for label, count in zip(labels.tolist(), counts.tolist(), strict=True):
        inter[(label // OFFSET, label % OFFSET)] = count
    gt_matched, pred_matched = set(), set()
    for (g, p), i in sorted(inter.items()):
        if g not in gt_segs or p not in pred_segs:
            continue
        if gt_segs[g].get("iscrowd", 0) == 1:
            continue
        if gt_segs[g]["category_id"] != pred_segs[p]["category_id"]:
            continue
        union = pred_segs[p]["area"] + gt_segs[g]["area"] - i - inter.get((0, p), 0)
        iou = i / union
        if iou > 0.5:
            c = stats[gt_segs[g]["category_id"]]
            c[0] += iou
            c[1] += 1
            gt_matched.add(g)
            pred_matched.add(p)
    crowd = defaultdict(list)
    for g, s in gt_segs.items():
        if g in gt_matched:
            continue
        if s.get("iscrowd", 0) == 1:
            crowd[s["category_id"]].append(g)
            continue
        stats[s["category_id"]][3] += 1
    for p, s in pred_segs.items():
        if p in pred_matched:
            continue
        ignored = inter.get((0, p), 0)
        for g in crowd.get(s["category_id"], []):
            ignored += inter.get((g, p), 0)
        if ignored / s["area"] > 0.5:
            continue
        stats[s["category_id"]][2] += 1


def naive_average(stats, categories):
    results = {}
    for name, want in (("All", None), ("Things", True), ("Stuff", False)):
        pq = sq = rq = 0.0
        n = 0
        per_class = {}
        for cat in categories:
            if want is not None and (cat["isthing"] == 1) != want:
                continue
            iou, tp, fp, fn = stats[cat["id"]]
            if tp + fp + fn == 0:
                per_class[cat["id"]] = {"pq": 0.0, "sq": 0.0, "rq": 0.0}
                continue
            n += 1
            d = tp + 0.5 * fp + 0.5 * fn
            per_class[cat["id"]] = {"pq": iou / d, "sq": iou / tp if tp else 0.0, "rq": tp / d}
            pq += iou / d
            sq += iou / tp if tp else 0.0
            rq += tp / d
        results[name] = {"pq": pq / n if n else 0.0, "sq": sq / n if n else 0.0,
                         "rq": rq / n if n else 0.0, "n": n}
        if name == "All":
            results["per_class"] = per_class
    return results


def naive_pq(gt_json, pred_json, gt_folder, pred_folder):
    """PQ of a dataset, from JSON paths (or dicts) and PNG folders."""
    if not isinstance(gt_json, dict):
        with open(gt_json) as fh:
            gt_json = json.load(fh)
    if not isinstance(pred_json, dict):
        with open(pred_json) as fh:
            pred_json = json.load(fh)
    stats = defaultdict(lambda: [0.0, 0, 0, 0])
    preds = {a["image_id"]: a for a in pred_json["annotations"]}
    for gt_ann in gt_json["annotations"]:
        pred_ann = preds[gt_ann["image_id"]]
        gt_ids = _ids(os.path.join(gt_folder, gt_ann["file_name"]))
        pred_ids = _ids(os.path.join(pred_folder, pred_ann["file_name"]))
        naive_image(gt_ann, pred_ann, gt_ids, pred_ids, stats)
    return naive_average(stats, gt_json["categories"])
