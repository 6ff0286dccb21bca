"""maskkit.datasets.pq against panopticapi's published rules (tests/naive_pq.py) and real data."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from naive_pq import (
    CATEGORIES,
    make_pq_dataset,
    naive_average,
    naive_image,
    naive_pq,
    perturb_prediction,
    write_dataset,
)

import maskkit
from maskkit.cli import main
from maskkit.datasets.pq import pq_average, pq_image_stats
from maskkit.errors import InvalidAnnotationError, InvalidInputError, UnknownCategoryError
from maskkit.io.panoptic import read_panoptic_png

PAN = "coco_panoptic_panopticapi/sample_data"


def assert_results_equal(a, b, tol=1e-12):
    for name in ("All", "Things", "Stuff"):
        assert a[name]["n"] == b[name]["n"], name
        for m in ("pq", "sq", "rq"):
            assert math.isclose(a[name][m], b[name][m], abs_tol=tol), (name, m)
    assert set(a["per_class"]) == set(b["per_class"])
    for k, v in a["per_class"].items():
        for m in ("pq", "sq", "rq"):
            assert math.isclose(v[m], b["per_class"][k][m], abs_tol=tol), (k, m)


# ---------------------------------------------------------------------------- property test

GT_IDS = np.array([0, 5, 9, 300, 70000], dtype=np.uint32)
PRED_IDS = np.array([0, 2, 5, 1 << 20, 77], dtype=np.uint32)
SMALL_CATS = [{"id": 1, "isthing": 1}, {"id": 2, "isthing": 1}, {"id": 3, "isthing": 0}]


@st.composite
def image_pairs(draw):
    h = draw(st.integers(1, 9))
    w = draw(st.integers(1, 9))
    cells = st.lists(st.integers(0, 4), min_size=h * w, max_size=h * w)
    gt = GT_IDS[np.array(draw(cells)).reshape(h, w)]
    pred = PRED_IDS[np.array(draw(cells)).reshape(h, w)]
    cat = st.sampled_from([1, 2, 3])
    gt_segs = [{"id": int(v), "category_id": draw(cat), "iscrowd": int(draw(st.booleans())),
                "area": int((gt == v).sum())} for v in np.unique(gt) if v]
    pred_segs = [{"id": int(v), "category_id": draw(cat)} for v in np.unique(pred) if v]
    return gt, pred, gt_segs, pred_segs


@given(image_pairs())
def test_image_stats_match_naive_rules(pair):
    gt, pred, gt_segs, pred_segs = pair
    rgb = maskkit.id2rgb
    got = pq_image_stats({"segments_info": gt_segs}, {"segments_info": pred_segs},
                         rgb(gt), rgb(pred), {1: 0, 2: 1, 3: 2})
    ref = defaultdict(lambda: [0.0, 0, 0, 0])
    naive_image({"segments_info": gt_segs}, {"segments_info": pred_segs}, gt, pred, ref)
    want = np.array([ref[c] for c in (1, 2, 3)], dtype=float)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert_results_equal(pq_average(got, SMALL_CATS), naive_average(ref, SMALL_CATS))


# ---------------------------------------------------------------------------- generated data


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pq")
    gt, pred = make_pq_dataset(folder, 6, 60, 80, seed=3, n_things=12, n_stuff=5)
    return folder, gt, pred


def test_generated_dataset_matches_naive(generated):
    folder, gt, pred = generated
    got = maskkit.pq_compute(gt, pred)
    assert_results_equal(got, naive_pq(gt, pred, folder / "gt", folder / "pred"))
    assert 0 < got["All"]["pq"] < 1


def test_workers_give_identical_results(generated):
    _, gt, pred = generated
    assert maskkit.pq_compute(gt, pred, workers=2) == maskkit.pq_compute(gt, pred)


def test_ground_truth_against_itself_is_perfect(generated):
    _, gt, _ = generated
    r = maskkit.pq_compute(gt, gt)
    for name in ("All", "Things", "Stuff"):
        assert r[name]["pq"] == r[name]["sq"] == r[name]["rq"] == 1.0


def test_empty_class_set_does_not_crash(tmp_path):
    ids = np.array([[1, 1, 2], [1, 2, 2]], dtype=np.uint32)
    segs = [{"id": 1, "category_id": 1, "iscrowd": 0, "area": 3},
            {"id": 2, "category_id": 2, "iscrowd": 0, "area": 3}]
    cats = [{"id": 1, "isthing": 1}, {"id": 2, "isthing": 1}]
    path = write_dataset(tmp_path, "gt", [(1, ids, segs)], categories=cats)
    r = maskkit.pq_compute(path, path)
    assert r["Stuff"] == {"pq": 0.0, "sq": 0.0, "rq": 0.0, "n": 0}
    assert r["Things"]["n"] == 2 and r["All"]["pq"] == 1.0


def test_crowd_and_void_rules(tmp_path):
    # gt: person crowd on the left half, VOID bottom row; pred: one person on the crowd,
    # one person mostly on VOID, one car on the crowd (other category: counts as FP)
    gt = np.zeros((4, 4), np.uint32)
    gt[:3, :2] = 10  # crowd, category 1
    gt[:3, 2:] = 20  # non-crowd, category 1
    pred = np.zeros((4, 4), np.uint32)
    pred[:2, :2] = 1  # category 1 on crowd -> ignored
    pred[2, :2] = 3  # category 2 on crowd -> FP
    pred[3, :] = 2  # category 1 on VOID -> ignored
    gt_segs = [{"id": 10, "category_id": 1, "iscrowd": 1, "area": 6},
               {"id": 20, "category_id": 1, "iscrowd": 0, "area": 6}]
    pred_segs = [{"id": 1, "category_id": 1}, {"id": 2, "category_id": 1},
                 {"id": 3, "category_id": 2}]
    cats = [{"id": 1, "isthing": 1}, {"id": 2, "isthing": 1}]
    g = write_dataset(tmp_path, "gt", [(1, gt, gt_segs)], categories=cats)
    p = write_dataset(tmp_path, "pred", [(1, pred, pred_segs)], categories=cats)
    r = maskkit.pq_compute(g, p)
    assert r["per_class"][1] == {"pq": 0.0, "sq": 0.0, "rq": 0.0}  # one FN, no FP
    assert r["per_class"][2]["pq"] == 0.0 and r["Things"]["n"] == 2
    stats = pq_image_stats({"segments_info": gt_segs}, {"segments_info": pred_segs},
                           maskkit.id2rgb(gt), maskkit.id2rgb(pred), {1: 0, 2: 1})
    assert stats.tolist() == [[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0]]


# ---------------------------------------------------------------------------- bad input


def _pair(tmp_path, pred_ids, pred_segs, gt_cats=CATEGORIES):
    gt = np.array([[1, 1], [2, 2]], np.uint32)
    gt_segs = [{"id": 1, "category_id": 1, "iscrowd": 0, "area": 2},
               {"id": 2, "category_id": 101, "iscrowd": 0, "area": 2}]
    g = write_dataset(tmp_path, "gt", [(1, gt, gt_segs)], categories=gt_cats)
    p = write_dataset(tmp_path, "pred", [(1, np.asarray(pred_ids, np.uint32), pred_segs)])
    return g, p


def test_unknown_id_in_prediction_png(tmp_path):
    g, p = _pair(tmp_path, [[1, 1], [7, 7]], [{"id": 1, "category_id": 1}])
    with pytest.raises(InvalidAnnotationError, match=r"000001\.png.*segment 7"):
        maskkit.pq_compute(g, p)


def test_prediction_segment_missing_from_png(tmp_path):
    g, p = _pair(tmp_path, [[1, 1], [0, 0]],
                 [{"id": 1, "category_id": 1}, {"id": 4, "category_id": 1}])
    with pytest.raises(InvalidAnnotationError, match=r"segment 4.*not in the PNG"):
        maskkit.pq_compute(g, p)


def test_unknown_category(tmp_path):
    g, p = _pair(tmp_path, [[1, 1], [0, 0]], [{"id": 1, "category_id": 999}])
    with pytest.raises(UnknownCategoryError, match="999"):
        maskkit.pq_compute(g, p)


def test_missing_prediction_and_size_mismatch(tmp_path):
    g, p = _pair(tmp_path, [[1, 1, 1], [0, 0, 0]], [{"id": 1, "category_id": 1}])
    with pytest.raises(InvalidInputError, match="2×3"):
        maskkit.pq_compute(g, p)
    doc = json.loads(Path(p).read_text())
    doc["annotations"][0]["image_id"] = 5
    Path(p).write_text(json.dumps(doc))
    with pytest.raises(InvalidAnnotationError, match="no prediction for image 1"):
        maskkit.pq_compute(g, p)


def test_missing_folder(tmp_path):
    g, p = _pair(tmp_path, [[1, 1], [0, 0]], [{"id": 1, "category_id": 1}])
    with pytest.raises(InvalidInputError, match="does not exist"):
        maskkit.pq_compute(g, p, pred_folder=tmp_path / "nope")


# ---------------------------------------------------------------------------- real data


def test_real_ground_truth_against_itself(real_data):
    d = real_data / PAN
    r = maskkit.pq_compute(d / "panoptic_examples.json", d / "panoptic_examples.json",
                           d / "panoptic_examples", d / "panoptic_examples")
    assert r["All"] == {"pq": 1.0, "sq": 1.0, "rq": 1.0, "n": 8}
    assert r["Things"]["n"] == 4 and r["Stuff"]["n"] == 4


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_real_perturbed_predictions_match_naive(real_data, tmp_path, seed):
    d = real_data / PAN
    doc = json.loads((d / "panoptic_examples.json").read_text())
    cats = json.loads((real_data / "coco_panoptic_panopticapi" /
                       "panoptic_coco_categories.json").read_text())
    rng = np.random.default_rng(seed)
    items = []
    for ann in doc["annotations"]:
        ids = read_panoptic_png(d / "panoptic_examples" / ann["file_name"])
        pids, psegs = perturb_prediction(rng, ids, ann["segments_info"], *ids.shape)
        # relabel into real categories
        real = [c["id"] for c in cats]
        for s in psegs:
            if s["category_id"] not in {c["id"] for c in cats}:
                s["category_id"] = int(rng.choice(real))
        items.append((ann["image_id"], pids, psegs))
    pred = write_dataset(tmp_path, "pred", items, categories=cats)
    gt_dir = d / "panoptic_examples"
    got = maskkit.pq_compute(d / "panoptic_examples.json", pred, gt_dir)
    want = naive_pq(str(d / "panoptic_examples.json"), pred, gt_dir, tmp_path / "pred")
    assert_results_equal(got, want)
    assert got["All"]["pq"] < 1


# ---------------------------------------------------------------------------- CLI


def test_cli_pq(generated, capsys, tmp_path):
    _, gt, pred = generated
    out = tmp_path / "r.json"
    assert main(["pq", gt, pred, "--json", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "All" in text and "Things" in text and "Stuff" in text
    saved = json.loads(out.read_text())
    want = maskkit.pq_compute(gt, pred)
    assert math.isclose(saved["All"]["pq"], want["All"]["pq"])


def test_cli_pq_error_is_one_line(tmp_path, capsys):
    g, p = _pair(tmp_path, [[1, 1], [7, 7]], [{"id": 1, "category_id": 1}])
    assert main(["pq", g, p]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "segment 7" in err[0] and "000001.png" in err[0]
