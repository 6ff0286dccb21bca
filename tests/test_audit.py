"""maskkit.study.audit and `maskkit audit`: numbers on a hand-built dataset, checked by hand."""

from __future__ import annotations

import json

import pytest

from maskkit.cli import main
from maskkit.errors import InvalidInputError
from maskkit.study.audit import DEFAULT_PRICES, audit_dataset, density_class, load_prices

# image 1: class 1 squares A|B side by side (touching) and C apart; class 2 square D apart
# image 2: class 1 squares E and F overlapping (2x2 shared)
DOC = {
    "images": [{"id": 1, "height": 10, "width": 12, "file_name": "one.jpg"},
               {"id": 2, "height": 10, "width": 12, "file_name": "two.jpg"}],
    "categories": [{"id": 1, "name": "cow"}, {"id": 2, "name": "sheep"}],
    "annotations": [
        {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [0, 0, 2, 2]},
        {"id": 2, "image_id": 1, "category_id": 1, "segmentation": [2, 0, 2, 2]},
        {"id": 3, "image_id": 1, "category_id": 1, "segmentation": [8, 6, 2, 2]},
        {"id": 4, "image_id": 1, "category_id": 2, "segmentation": [0, 6, 3, 3]},
        {"id": 5, "image_id": 2, "category_id": 1, "segmentation": [0, 0, 4, 4]},
        {"id": 6, "image_id": 2, "category_id": 1, "segmentation": [2, 2, 4, 4]},
    ],
}


def test_audit_numbers_match_hand_computation():
    r = audit_dataset(DOC)
    s = r.summary
    assert s["images"] == 2 and s["objects"] == 6 and s["classes_used"] == 2
    # objects per image: 4 and 2
    assert s["objects_per_image"] == {"mean": 3.0, "median": 3.0, "p95": 3.9, "max": 4.0}
    one, two = r.images
    assert (one["touching_pairs"], one["overlapping_pairs"]) == (1, 0)
    assert (two["touching_pairs"], two["overlapping_pairs"]) == (0, 1)
    # semantic: image 1 cows A+B merge -> 2 of 3, sheep 1 of 1; image 2 -> 1 of 2
    assert (one["true_count"], one["semantic_count"], one["count_error"]) == (4, 3, 1)
    assert (two["true_count"], two["semantic_count"], two["count_error"]) == (2, 1, 1)
    assert s["semantic_count_error_pct"] == pytest.approx(100 * 2 / 6)
    assert s["images_counted_exactly"] == 0.0
    assert s["images_with_same_class_contact"] == 1.0
    # one contact each, few objects and classes: medium
    assert (one["density"], two["density"]) == ("medium", "medium")
    assert s["density"] == {"simple": 0, "medium": 2, "dense": 0}
    assert s["cost"] == {"semantic": [3.0, 6.0], "instance": [8.0, 16.0]}
    assert s["recommendation"] == "instance"
    assert any("33.3%" in line for line in s["checklist"])


def test_recommendation_follows_the_checklist():
    apart = {**DOC, "annotations": [a for a in DOC["annotations"] if a["id"] in (1, 3, 4)]}
    s = audit_dataset(apart).summary
    assert s["semantic_count_error_pct"] == 0.0
    assert s["recommendation"] == "semantic" and "connected" in s["why"]
    assert s["density"]["simple"] == 2  # image 2 has no objects left
    s = audit_dataset(DOC, counting=False, surface=True).summary
    assert s["recommendation"] == "semantic" and "surface" in s["why"]
    s = audit_dataset(DOC, budget=5.0).summary
    assert "below the instance range" in s["checklist"][-1]
    s = audit_dataset(DOC, budget=100.0).summary
    assert "covers instance" in s["checklist"][-1]


def test_density_rules():
    assert density_class(0, 0, 0) == "simple"
    assert density_class(9, 7, 0) == "simple"
    assert density_class(10, 1, 0) == "medium"
    assert density_class(29, 12, 4) == "medium"
    assert density_class(5, 13, 0) == "dense"


def test_prices_override(tmp_path):
    p = tmp_path / "prices.json"
    p.write_text(json.dumps({"instance": {"medium": [5, 10]}, "currency": "EUR"}))
    table = load_prices(p)
    assert table["instance"]["medium"] == [5.0, 10.0]
    assert table["semantic"] == DEFAULT_PRICES["semantic"]
    s = audit_dataset(DOC, prices=table).summary
    assert s["cost"]["instance"] == [10.0, 20.0] and s["currency"] == "EUR"
    with pytest.raises(InvalidInputError, match="unknown density"):
        load_prices({"instance": {"huge": [1, 2]}})
    with pytest.raises(InvalidInputError, match="unknown entry"):
        load_prices({"panoptic": {}})


def test_cli_audit_table_json_and_render(tmp_path, capsys):
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(DOC))
    assert main(["audit", str(path)]) == 0
    out = capsys.readouterr().out
    assert "recommendation: INSTANCE" in out and "8.00–16.00" in out
    assert main(["audit", str(path), "--json", "--render", str(tmp_path / "r")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["semantic_count"] == 4
    assert len(doc["images"]) == 2
    assert (tmp_path / "r" / "one_instances.png").is_file()
    assert (tmp_path / "r" / "two_semantic.png").is_file()
    bad = tmp_path / "bad.json"
    bad.write_text('{"instance": {"dense": [3, 1]}}')
    assert main(["audit", str(path), "--prices", str(bad)]) == 1
    assert "low <= high" in capsys.readouterr().err


def test_real_val2017(real_data):
    s = audit_dataset(real_data / "coco_val2017_instances_mmdet" / "instances_val2017.json"
                      ).summary
    assert s["images"] == 2 and s["crowd_regions"] == 1
    assert s["recommendation"] == "instance"


def test_sample_audits_a_seeded_subset_and_scales_the_cost():
    from maskkit.study.audit import audit_dataset

    doc = {"images": [{"id": i, "height": 6, "width": 8} for i in range(1, 11)],
           "categories": [{"id": 1, "name": "cow"}],
           "annotations": [{"id": i, "image_id": i, "category_id": 1,
                            "segmentation": [0, 0, 2, 2]} for i in range(1, 11)]}
    full = audit_dataset(doc).summary
    part = audit_dataset(doc, sample=4, seed=3).summary
    assert part["images"] == 4 and part["images_in_dataset"] == 10
    assert part["cost_full_dataset"] == full["cost"]  # identical images: exact scaling
    assert audit_dataset(doc, sample=4, seed=3).summary["objects"] == part["objects"]


def test_estimate_error_beside_the_raw_one():
    s = audit_dataset(DOC).summary
    # 2x2 squares have no shape to split by: the estimate cannot help here
    assert s["estimate_method"] == "combined"
    assert s["estimate_count_error_pct"] == pytest.approx(100 * 2 / 6)
    assert not s["semantic_with_estimate_within_limit"]
    assert s["recommendation"] == "instance"
    assert any(line.startswith("2b.") and "above" in line for line in s["checklist"])


def test_semantic_plus_estimate_recommended_when_it_counts_right():
    from maskkit.study.audit import format_report
    from maskkit.study.synth import make_scene

    doc = make_scene(20, 2, gap=0.0, height=200, radius=(6.0, 14.0), seed=2).to_coco()
    r = audit_dataset(doc)
    s = r.summary
    assert s["semantic_count_error_pct"] > 20  # touching objects merge ...
    assert s["estimate_count_error_pct"] == 0.0  # ... and are split back
    assert s["semantic_with_estimate_within_limit"]
    assert s["recommendation"] == "semantic" and "estimate" in s["why"]
    line = next(x for x in s["checklist"] if x.startswith("2b."))
    assert "within" in line and "saves" in line
    assert r.images[0]["estimated_count"] == 20
    assert "semantic + estimate (combined)" in format_report(r)
