"""maskkit.study.overlap and `maskkit bench overlap`: the degradation benchmark and real data."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from maskkit.cli import main
from maskkit.study.overlap import compare_image, overlap_benchmark, real_counts

SMALL = {"repeats": 3, "objects": 12, "size": 160, "radius": (4.0, 12.0), "workers": 1}


def test_separated_levels_count_exactly_and_heavy_overlap_undercounts():
    r = overlap_benchmark(levels=(6, 2, 1.5, 0, -10), **SMALL)
    by_gap = {lv["gap"]: lv for lv in r.levels}
    for gap in (6.0, 2.0, 1.5):
        for conn in ("c4", "c8"):
            assert by_gap[gap][conn]["count_ratio"] == 1.0
            assert by_gap[gap][conn]["exact_share"] == 1.0
            assert by_gap[gap][conn]["merge_rate"] == 0.0
    heavy = by_gap[-10.0]["c8"]
    assert heavy["count_ratio"] < 1.0
    assert heavy["merge_rate"] > 0.0
    assert heavy["abs_pct_error"] > 0.0
    # per-image records agree with the summaries
    rows = [x for x in r.images if x["gap"] == -10.0 and x["connectivity"] == 8]
    assert len(rows) == SMALL["repeats"]
    assert np.mean([x["count_ratio"] for x in rows]) == pytest.approx(heavy["count_ratio"])


def test_compare_image_by_hand():
    sem = np.array([[1, 1, 0, 2, 2],
                    [0, 1, 0, 0, 0],
                    [1, 0, 0, 2, 0]], dtype=np.uint8)
    ids = np.array([[1, 2, 0, 4, 5],
                    [0, 2, 0, 0, 0],
                    [3, 0, 0, 6, 0]], dtype=np.uint16)
    r = compare_image(sem, ids, [1, 1, 1, 2, 2, 2])
    assert r["true"] == {1: 3, 2: 3}
    # 8-connectivity: {1,2,3} is one region, {4,5} one, {6} one
    assert r[8]["counted"] == {1: 1, 2: 2} and r[8]["merged"] == 5
    # 4-connectivity: 3 is apart
    assert r[4]["counted"] == {1: 2, 2: 2} and r[4]["merged"] == 4


def test_real_counts_by_hand():
    doc = {"images": [{"id": 1, "height": 8, "width": 8, "file_name": "a.jpg"}],
           "categories": [{"id": 3, "name": "car"}, {"id": 5, "name": "bus"}],
           "annotations": [
               {"id": 1, "image_id": 1, "category_id": 3, "segmentation": [0, 0, 3, 3]},
               {"id": 2, "image_id": 1, "category_id": 3, "segmentation": [2, 2, 3, 3]},
               {"id": 3, "image_id": 1, "category_id": 5, "segmentation": [6, 6, 2, 2]},
               {"id": 4, "image_id": 1, "category_id": 3, "segmentation": [6, 0, 2, 2],
                "iscrowd": 1}]}
    rows = real_counts(doc)
    assert [(r["category"], r["true"], r["counted_c8"], r["merged_c8"]) for r in rows] == [
        ("car", 3, 2, 2), ("bus", 1, 1, 0)]
    rows = real_counts(doc, crowd="skip")
    assert [(r["category"], r["true"], r["counted_c8"]) for r in rows] == [
        ("car", 2, 1), ("bus", 1, 1)]


def test_real_val2017_255917_thirteen_cars_give_three(real_data):
    path = real_data / "coco_val2017_instances_mmdet" / "instances_val2017.json"
    rows = real_counts(path, crowd="skip", image_ids=[255917])
    car = next(r for r in rows if r["category"] == "car")
    assert (car["true"], car["counted_c8"]) == (13, 3)


def test_real_panoptic_142238_fourteen_persons_give_six(real_data):
    path = real_data / "coco_panoptic_panopticapi" / "sample_data" / "panoptic_examples.json"
    rows = real_counts(path)
    person = next(r for r in rows if r["image_id"] == 142238 and r["category"] == "person")
    assert (person["true"], person["counted_c8"]) == (14, 6)


def test_real_panoptic_by_rgb2id(real_data):
    """The same fact straight from the PNG: rgb2id + segments_info, no conversion."""
    from maskkit import count_objects, rgb2id
    from maskkit.io.png import read_png

    folder = real_data / "coco_panoptic_panopticapi" / "sample_data"
    doc = json.loads((folder / "panoptic_examples.json").read_text())
    ann = next(a for a in doc["annotations"] if a["image_id"] == 142238)
    ids = rgb2id(read_png(folder / "panoptic_examples" / ann["file_name"], mode="rgb"))
    lut = np.zeros(int(ids.max()) + 1, np.int32)
    for s in ann["segments_info"]:
        lut[s["id"]] = s["category_id"]
    persons = sum(1 for s in ann["segments_info"] if s["category_id"] == 1)
    assert persons == 14
    assert count_objects(lut[ids], connectivity=8, ignore=())[1] == 6


def test_cli_bench_overlap(tmp_path, capsys):
    out = tmp_path / "o"
    rc = main(["bench", "overlap", "-o", str(out), "--levels", "3", "-6", "--repeats", "2",
               "--objects", "10", "--size", "160", "--radius", "4,10", "--workers", "1",
               "--quiet"])
    assert rc == 0
    stdout = capsys.readouterr().out
    assert "| +3 |" in stdout and "| -6 |" in stdout
    for name in ("overlap.csv", "overlap.md", "overlap.json"):
        assert (out / name).is_file()
    doc = json.loads((out / "overlap.json").read_text())
    assert [lv["gap"] for lv in doc["levels"]] == [3.0, -6.0]
    assert (out / "examples" / "gap_+3.png").is_file()
    assert (out / "overlap.csv").read_text().splitlines()[0].startswith("gap,")


def test_cli_bench_overlap_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    rc = main(["bench", "overlap", "-o", str(tmp_path), "--levels", "2", "--repeats", "1",
               "--objects", "4", "--size", "96", "--radius", "4,8", "--workers", "1",
               "--quiet", "--no-examples"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "matplotlib is not installed" in err and "maskkit[plot]" in err
    assert not (tmp_path / "overlap.png").exists()
    assert (tmp_path / "overlap.md").is_file()


def test_plot_written_when_matplotlib_is_installed(tmp_path):
    pytest.importorskip("matplotlib")
    from maskkit.study.overlap import write_overlap_report

    r = overlap_benchmark(levels=(2, 0, -4), repeats=2, objects=6, size=96, radius=(4, 8),
                          workers=1)
    written = write_overlap_report(r, tmp_path, examples=False)
    assert written["png"].stat().st_size > 1000


def test_cli_bench_overlap_real(tmp_path, capsys):
    doc = {"images": [{"id": 1, "height": 8, "width": 8, "file_name": "a.jpg"}],
           "categories": [{"id": 3, "name": "car"}],
           "annotations": [
               {"id": 1, "image_id": 1, "category_id": 3, "segmentation": [0, 0, 3, 3]},
               {"id": 2, "image_id": 1, "category_id": 3, "segmentation": [3, 0, 3, 3]}]}
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(doc))
    assert main(["bench", "overlap", "--real", str(path), "-o", str(tmp_path / "r")]) == 0
    assert "| a.jpg | car | 2 | 1 | 1 | 2 |" in capsys.readouterr().out
    assert (tmp_path / "r" / "overlap_real.csv").is_file()


def test_bad_levels():
    from maskkit.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="levels"):
        overlap_benchmark(levels=(), repeats=1)
    with pytest.raises(InvalidInputError, match="repeats"):
        overlap_benchmark(levels=(1,), repeats=0)


def test_estimators_beside_components():
    r = overlap_benchmark(levels=(2, 0), **SMALL)
    by_gap = {lv["gap"]: lv for lv in r.levels}
    for gap in (2.0, 0.0):
        split = by_gap[gap]["split"]
        assert split["abs_pct_error"] == 0.0 and split["count_ratio"] == 1.0
        assert split["in_range"] == 1.0 and split["mean_iou"] > 0.9
        assert set(by_gap[gap]["area"]) >= {"count_ratio", "abs_pct_error", "in_range"}
    assert by_gap[0.0]["c8"]["abs_pct_error"] > 0
    assert len(r.estimates) == 2 * SMALL["repeats"] * 3
    assert {e["estimator"] for e in r.estimates} == {"split", "combined", "area"}


def test_matched_iou_and_example_panels(tmp_path):
    from maskkit.study.overlap import matched_iou, split_example_panels, write_split_example
    from maskkit.study.synth import make_scene

    scene = make_scene(12, 2, gap=0.0, height=160, radius=(4.0, 12.0), seed=4)
    sem, inst = scene.semantic_map(), scene.instance_map()
    assert matched_iou(inst, inst) == 1.0
    out = split_example_panels(sem, inst, scene.classes)
    titles = [t for t, _, _ in out["panels"]]
    assert titles[0] == "true instances: 12" and titles[2].startswith("split_touching: ")
    for _, rgb, legend in out["panels"]:
        drawn = {tuple(c) for c in rgb.reshape(-1, 3).tolist()}
        assert legend and all(tuple(c) in drawn for _, c in legend)  # swatches match
    assert write_split_example(tmp_path / "x.png", sem, inst, scene.classes).is_file()


def test_real_report_has_estimates(real_data, tmp_path):
    from maskkit.study.overlap import real_table, write_real_report

    path = real_data / "coco_val2017_instances_mmdet" / "instances_val2017.json"
    rows = real_counts(path, crowd="skip", image_ids=[255917])
    car = next(r for r in rows if r["category"] == "car")
    assert car["estimate_split"] > car["counted_c8"] == 3
    text = real_table(rows)
    assert "## Per class" in text and "abs % err split" in text
    written = write_real_report(rows, tmp_path)
    assert "estimate_split" in written["csv"].read_text().splitlines()[0]
