"""A straightforward PQ, written from the published rules, to check maskkit.pq against.

This is the approach of panopticapi's reference script: decode ids with NumPy, encode each
(ground truth, prediction) pixel pair as one uint64, count pairs with ``np.unique`` and
evaluate the rules with dicts.  Deliberately simple; slow on purpose is fine.  Where the
rules are ambiguous it follows maskkit's documented choices: every crowd segment of a
category counts as crowd, and an empty class set scores 0 with n = 0.
"""

from __future__ import annotations

import itertools
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


# ---------------------------------------------------------------------------- generated data

THING_CATS = list(range(1, 11))
STUFF_CATS = list(range(101, 111))
CATEGORIES = [{"id": c, "name": f"thing{c}", "isthing": 1} for c in THING_CATS] + [
    {"id": c, "name": f"stuff{c}", "isthing": 0} for c in STUFF_CATS
]


def _distinct_ids(rng, n):
    """``n`` distinct random segment ids in 1..2**24-1 (no 16M-element permutation)."""
    while True:
        ids = np.unique(rng.integers(1, 1 << 24, size=n + 8))
        if ids.size >= n:
            return rng.permutation(ids)[:n]


def _ellipse(ids, rng, value, h, w):
    cy, cx = rng.integers(0, h), rng.integers(0, w)
    ry, rx = rng.integers(2, max(3, h // 5)), rng.integers(2, max(3, w // 5))
    y0, y1 = max(cy - ry, 0), min(cy + ry + 1, h)
    x0, x1 = max(cx - rx, 0), min(cx + rx + 1, w)
    yy, xx = np.ogrid[y0:y1, x0:x1]
    inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    ids[y0:y1, x0:x1][inside] = value


def make_panoptic_gt(rng, h, w, n_things=20, n_stuff=6, crowd=True, void=True):
    """A ground-truth panoptic image: (ids, segments_info) with random 24-bit ids."""
    ids = np.zeros((h, w), dtype=np.uint32)
    cats = {}
    labels = _distinct_ids(rng, n_things + n_stuff + 2)
    k = 0
    # stuff: vertical bands of random widths
    cuts = np.sort(rng.choice(np.arange(1, w), size=min(n_stuff - 1, w - 1), replace=False))
    bounds = [0, *cuts.tolist(), w]
    for a, b in itertools.pairwise(bounds):
        ids[:, a:b] = labels[k]
        cats[int(labels[k])] = (int(rng.choice(STUFF_CATS)), 0)
        k += 1
    for _ in range(n_things):
        _ellipse(ids, rng, labels[k], h, w)
        cats[int(labels[k])] = (int(rng.choice(THING_CATS)), 0)
        k += 1
    if crowd:
        cat = int(rng.choice(THING_CATS))
        _ellipse(ids, rng, labels[k], h, w)
        cats[int(labels[k])] = (cat, 1)
        k += 1
    if void:
        _ellipse(ids, rng, 0, h, w)
    present, inv, counts = np.unique(ids, return_inverse=True, return_counts=True)
    inv = inv.reshape(ids.shape)
    rows = np.broadcast_to(np.arange(h)[:, None], (h, w)).ravel()
    cols = np.broadcast_to(np.arange(w)[None, :], (h, w)).ravel()
    lo_r = np.full(present.size, h)
    hi_r = np.full(present.size, -1)
    lo_c = np.full(present.size, w)
    hi_c = np.full(present.size, -1)
    np.minimum.at(lo_r, inv.ravel(), rows)
    np.maximum.at(hi_r, inv.ravel(), rows)
    np.minimum.at(lo_c, inv.ravel(), cols)
    np.maximum.at(hi_c, inv.ravel(), cols)
    segs = []
    for i, (v, c) in enumerate(zip(present.tolist(), counts.tolist(), strict=True)):
        if v == 0:
            continue
        cat, iscrowd = cats[v]
        segs.append({"id": v, "category_id": cat, "iscrowd": iscrowd, "area": c,
                     "bbox": [int(lo_c[i]), int(lo_r[i]), int(hi_c[i] - lo_c[i] + 1),
                              int(hi_r[i] - lo_r[i] + 1)]})
    return ids, segs


def perturb_prediction(rng, ids, segs, h, w):
    """A prediction from a ground truth: shifted, dropped, relabelled, spurious segments."""
    pred = ids.copy()
    dy, dx = rng.integers(-3, 4, size=2)
    pred = np.roll(pred, (int(dy), int(dx)), axis=(0, 1))
    cat_of = {s["id"]: s["category_id"] for s in segs}
    dropped = []
    for s in segs:
        r = rng.random()
        if r < 0.1:
            dropped.append(s["id"])
        elif r < 0.2:
            cat_of[s["id"]] = int(rng.choice(THING_CATS + STUFF_CATS))  # relabelled
    if dropped:
        pred[np.isin(pred, dropped)] = 0
    fresh = int(max([0, *cat_of]) + 1)
    for _ in range(int(rng.integers(0, 4))):
        if fresh >= (1 << 24):
            break
        _ellipse(pred, rng, fresh, h, w)
        cat_of[fresh] = int(rng.choice(THING_CATS + STUFF_CATS))
        fresh += 1
    # renumber ids so that prediction ids differ from ground-truth ids
    present, inv = np.unique(pred, return_inverse=True)
    new = _distinct_ids(rng, present.size)
    new[present == 0] = 0
    out = new.astype(np.uint32)[inv.reshape(pred.shape)]
    psegs = [{"id": int(n), "category_id": cat_of[v], "iscrowd": 0}
             for v, n in zip(present.tolist(), new.tolist(), strict=True) if v != 0]
    return out, psegs


def write_dataset(folder, name, items, categories=CATEGORIES):
    """Write ``items`` = [(image_id, ids, segments_info)] as ``name``.json + ``name``/ PNGs."""
    os.makedirs(os.path.join(folder, name), exist_ok=True)
    anns = []
    for image_id, ids, segs in items:
        fn = f"{image_id:06d}.png"
        rgb = np.stack([ids & 255, (ids >> 8) & 255, (ids >> 16) & 255], axis=-1)
        Image.fromarray(rgb.astype(np.uint8)).save(os.path.join(folder, name, fn))
        anns.append({"image_id": image_id, "file_name": fn, "segments_info": segs})
    doc = {"images": [{"id": i, "file_name": f"{i:06d}.jpg", "height": int(ids.shape[0]),
                       "width": int(ids.shape[1])} for i, ids, _ in items],
           "annotations": anns, "categories": categories}
    path = os.path.join(folder, f"{name}.json")
    with open(path, "w") as fh:
        json.dump(doc, fh)
    return path


def make_pq_dataset(folder, n_images, h, w, seed=0, n_things=20, n_stuff=8):
    """Generate ``gt.json``/``gt/`` and ``pred.json``/``pred/`` under ``folder``."""
    rng = np.random.default_rng(seed)
    gts, preds = [], []
    for i in range(n_images):
        ids, segs = make_panoptic_gt(rng, h, w, n_things=n_things, n_stuff=n_stuff)
        pids, psegs = perturb_prediction(rng, ids, segs, h, w)
        gts.append((i + 1, ids, segs))
        preds.append((i + 1, pids, psegs))
    return write_dataset(folder, "gt", gts), write_dataset(folder, "pred", preds)
