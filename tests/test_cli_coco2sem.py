"""`maskkit coco2sem` end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import maskkit
from maskkit.cli import main
from maskkit.io.png import read_png


def write_dataset(path, *, bad=False):
    anns = [
        {"id": 1, "image_id": 1, "category_id": 7, "segmentation": [[0, 0, 6, 0, 6, 4, 0, 4]]},
        {"id": 2, "image_id": 1, "category_id": 9, "segmentation": [[3, 2, 8, 2, 8, 6, 3, 6]]},
        {"id": 3, "image_id": 2, "category_id": 9, "segmentation": [[1, 1, 4, 1, 4, 3]]},
    ]
    if bad:
        anns.append({"id": 4, "image_id": 2, "category_id": 9, "segmentation": [[1, 1, 4]]})
    path.write_text(json.dumps({
        "images": [{"id": 1, "height": 8, "width": 10, "file_name": "a/img.one.jpg"},
                   {"id": 2, "height": 5, "width": 5, "file_name": "two.png"}],
        "annotations": anns,
        "categories": [{"id": 7, "name": "cat"}, {"id": 9, "name": "dog"}],
    }))
    return path


def test_converts_every_image(tmp_path, capsys):
    inst = write_dataset(tmp_path / "inst.json")
    out = tmp_path / "out"
    assert main(["coco2sem", str(inst), "-o", str(out), "--workers", "1", "--quiet"]) == 0
    summary = capsys.readouterr().err
    assert "2 images" in summary and "3 objects" in summary
    a = read_png(out / "a" / "img.one.png")  # several dots kept whole, sub-folder kept
    np.testing.assert_array_equal(a, maskkit.coco_to_semantic(inst, 1))
    assert a[3, 4] == 9 and a[0, 0] == 7
    assert (out / "two.png").exists()
    stats = (out / "coco2sem_stats.csv").read_text().splitlines()
    assert stats[0].startswith("image_id,png,objects")
    assert stats[1].split(",")[4] == "6"  # 3×2 pixels claimed twice
    cats = json.loads((out / "categories.json").read_text())
    assert [c["value"] for c in cats["categories"]] == [7, 9]
    assert not list(out.rglob("*.tmp"))


def test_contiguous_palette_and_pool(tmp_path):
    inst = write_dataset(tmp_path / "inst.json")
    out = tmp_path / "out"
    assert main(["coco2sem", str(inst), "-o", str(out), "--contiguous", "--palette",
                 "--workers", "2", "--quiet"]) == 0
    from PIL import Image

    with Image.open(out / "two.png") as im:
        assert im.mode == "P"
    assert set(np.unique(read_png(out / "a" / "img.one.png"))) == {0, 1, 2}
    cats = json.loads((out / "categories.json").read_text())
    assert [(c["value"], c["category_id"]) for c in cats["categories"]] == [(1, 7), (2, 9)]


def test_bad_annotation_raise_and_skip(tmp_path, capsys):
    inst = write_dataset(tmp_path / "inst.json", bad=True)
    out = tmp_path / "out"
    assert main(["coco2sem", str(inst), "-o", str(out), "--workers", "1", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "inst.json: annotation 4: polygon part 0 has an odd number" in err
    assert not (out / "two.png").exists()
    code = main(["coco2sem", str(inst), "-o", str(out), "--workers", "1", "--quiet",
                 "--on-error", "skip"])
    assert code == 3
    assert (out / "a" / "img.one.png").exists() and not (out / "two.png").exists()
    errors = [json.loads(x) for x in (out / "coco2sem_errors.jsonl").read_text().splitlines()]
    assert errors[0]["image_id"] == 2 and "annotation 4" in errors[0]["error"]


def test_missing_file_is_one_line_error(tmp_path, capsys):
    assert main(["coco2sem", str(tmp_path / "nope.json"), "-o", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope.json" in err[0]


def test_console_script_runs_on_the_sample_data(tmp_path):
    from pathlib import Path

    sample = Path(__file__).resolve().parent.parent / "data" / "sample_coco" / "instances.json"
    if not sample.exists():
        pytest.skip("sample data not generated")
    proc = subprocess.run([sys.executable, "-m", "maskkit", "coco2sem", str(sample), "-o",
                           str(tmp_path), "--quiet"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "4 images" in proc.stderr
    assert len(list(tmp_path.glob("*.png"))) == 4
