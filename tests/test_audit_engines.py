"""``maskkit audit`` on every engine: a Dask cluster gives the report of the local process
pool, and ``--on-error skip`` leaves bad images out, lists them and exits 3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from synthetic import make_coco

from maskkit.cli import main
from maskkit.study.audit import audit_dataset


def _make_coco(root: Path, n: int = 12) -> Path:
    return make_coco(root, n, seed=3, classes=2, height=24, width=30, per_image=4)


def _break(path: Path) -> None:
    """Give image 3 an odd-length polygon and image 7 an RLE of the wrong size."""
    doc = json.loads(path.read_text())
    for a in doc["annotations"]:
        if a["image_id"] == 3:
            a["segmentation"] = [[0, 0, 5, 0, 5]]
            break
    doc["annotations"].append({"id": 999, "image_id": 7, "category_id": 1,
                               "segmentation": {"size": [24, 30], "counts": [3, 100]}})
    path.write_text(json.dumps(doc))


@pytest.fixture(scope="module")
def dask_scheduler():
    distributed = pytest.importorskip("distributed")
    import logging

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=":0",
                                       silence_logs=logging.ERROR)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def test_audit_on_dask_gives_the_pool_report(tmp_path, dask_scheduler, capsys):
    inst = _make_coco(tmp_path)
    reports = []
    for extra in (["--workers", "2"], ["--engine", "dask", "--scheduler", dask_scheduler]):
        assert main(["audit", str(inst), "--json", *extra]) == 0
        reports.append(json.loads(capsys.readouterr().out))
    assert reports[0] == reports[1]
    assert len(reports[0]["images"]) == 12 and reports[0]["skipped"] == []
    assert reports[0] == json.loads(json.dumps(audit_dataset(inst).as_dict(), default=str))


def test_audit_on_error_skip_on_dask(tmp_path, dask_scheduler):
    inst = _make_coco(tmp_path)
    _break(inst)
    pool = audit_dataset(inst, workers=2, on_error="skip")
    dask = audit_dataset(inst, engine="dask", scheduler=dask_scheduler, on_error="skip")
    assert pool.as_dict() == dask.as_dict()
    assert sorted(r["image_id"] for r in dask.skipped) == [3, 7]


def test_audit_on_error_skip_lists_bad_images_and_exits_3(tmp_path, capsys):
    inst = _make_coco(tmp_path)
    clean = audit_dataset(inst)
    _break(inst)
    assert main(["audit", str(inst), "--json", "--workers", "1"]) == 1  # first error: image 3
    err = capsys.readouterr().err
    assert "odd number of coordinates" in err and "image 3, annotation" in err
    assert main(["audit", str(inst), "--json", "--workers", "2", "--on-error", "skip"]) == 3
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    skipped = {r["image_id"]: r for r in doc["skipped"]}
    assert sorted(skipped) == [3, 7]
    assert skipped[3]["error"] == "InvalidPolygonError"
    assert skipped[3]["object"].startswith("image 3, annotation")
    assert skipped[3]["path"] == str(inst)
    assert skipped[7]["error"] == "InvalidRLEError" and "needs 720" in skipped[7]["reason"]
    assert "2 bad images skipped" in captured.err
    # every good image is still audited, with the figures of a clean run
    good = [r for r in clean.images if r["image_id"] not in (3, 7)]
    assert doc["images"] == json.loads(json.dumps(good))
    assert doc["summary"]["images"] == 10 and doc["summary"]["skipped_images"] == 2
    # the text table says so too
    assert main(["audit", str(inst), "--on-error", "skip"]) == 3
    assert "skipped                     2 bad images" in capsys.readouterr().out


# every batch command defaults to all cores (--workers None -> os.cpu_count())
def test_audit_batch_options_keep_their_defaults():
    import argparse

    from maskkit.cli import audit as cli_audit

    parser = argparse.ArgumentParser()
    cli_audit.add_parser(parser.add_subparsers())
    args = parser.parse_args(["audit", "x.json"])
    assert (args.workers, args.engine, args.scheduler, args.on_error) == (None, None, None,
                                                                        "raise")
    assert args.sample is None and args.seed == 0
