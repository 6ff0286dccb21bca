"""The committed corpus of malformed files (``tests/corpus``, issue #6) through every reader.

Each entry of ``tests/corpus/files/MANIFEST.json`` names a file, the entry point to run it
through and the expected outcome: a maskkit error (a ``MaskkitError`` that is also the
listed built-in exception, naming the file) or a result checked for its shape, dtype and
values.  Any other exception is a bug.  The corpus itself must stay exactly what
``tests/corpus/make_corpus.py`` writes; regenerate it with
``python tests/corpus/make_corpus.py`` after changing the generator.
"""

from __future__ import annotations

import builtins
import faulthandler
import importlib.util
import json
import math
import os
import sys
import traceback
from pathlib import Path

import numpy as np
import pytest

import maskkit
import maskkit.errors
from maskkit.cli import main
from maskkit.errors import MaskkitError

CORPUS = Path(__file__).resolve().parent / "corpus"
FILES = CORPUS / "files"
MANIFEST = json.loads((FILES / "MANIFEST.json").read_text(encoding="utf-8"))["entries"]

#: Seconds one entry may take before the run is stopped with every thread's traceback
#: (a hang on a hostile file is a bug; nopython kernels cannot be interrupted otherwise).
HANG_SECONDS = 120


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------ entry points


def _read_json(path, args, tmp):
    from maskkit.io.files import read_json

    return read_json(path)


def _load_coco(path, args, tmp):
    return maskkit.load_coco(path)


def _coco_to_semantic(path, args, tmp):
    return maskkit.coco_to_semantic(path, **args)


def _coco2sem(path, args, tmp):
    # what `maskkit coco2sem INSTANCES -o tmp --workers 1` runs
    from maskkit.datasets.coco2sem import convert_coco_dataset

    return convert_coco_dataset(path, tmp, workers=1, progress=False)


def _rle_decode(path, args, tmp):
    from maskkit.io.files import read_json

    return maskkit.rle_decode(read_json(path))


def _read_png(path, args, tmp):
    from maskkit.io.png import read_png

    return read_png(path)


def _read_png_rgb_fast(path, args, tmp):
    from maskkit.io.png import read_png_rgb_fast

    return read_png_rgb_fast(path)


def _read_mask(path, args, tmp):
    from maskkit.io.masks import read_mask

    return read_mask(path)


def _count(path, args, tmp):
    # what `maskkit count --kind semantic` runs on each file
    from maskkit.cli.count import count_image

    return count_image(path, kind="semantic", connectivity=8, min_area=0, ignore=(255,))


def _panoptic_check(path, args, tmp):
    return maskkit.check_panoptic(path)


def _panoptic_to_coco(path, args, tmp):
    return maskkit.panoptic_to_coco(path)


def _pq(path, args, tmp):
    return maskkit.pq_compute(path.parent / args["gt"], path, threads=1)


ENTRY_POINTS = {
    "read_json": _read_json,
    "load_coco": _load_coco,
    "coco_to_semantic": _coco_to_semantic,
    "coco2sem": _coco2sem,
    "rle_decode": _rle_decode,
    "read_png": _read_png,
    "read_png_rgb_fast": _read_png_rgb_fast,
    "read_mask": _read_mask,
    "count": _count,
    "panoptic_check": _panoptic_check,
    "panoptic_to_coco": _panoptic_to_coco,
    "pq": _pq,
}

#: Entry points that take an object, not a file: their errors cannot name the file.
IN_MEMORY = {"rle_decode"}

#: Entry points that write into their ``tmp`` folder.
WRITERS = {"coco2sem"}


# ------------------------------------------------------------------------------ checks


def _check_array(result, check):
    assert isinstance(result, np.ndarray), type(result)
    assert list(result.shape) == check["shape"]
    if "dtype" in check:
        assert result.dtype == np.dtype(check["dtype"]), result.dtype
    if "values" in check:
        np.testing.assert_array_equal(result, np.asarray(check["values"]))
    if "sum" in check:
        assert int(np.asarray(result, dtype=np.int64).sum()) == check["sum"]


def _check_result(entry, result, check):
    if entry == "read_json":
        if "equals" in check:
            assert result == check["equals"]
        if "repr" in check:
            assert repr(result) == check["repr"]
    elif entry == "load_coco":
        assert len(result.images) == check["images"]
        assert sum(map(len, result.annotations.values())) == check["annotations"]
    elif entry == "count":
        assert result == [tuple(row) for row in check["table"]]
    elif entry == "panoptic_check":
        got = [str(p) for p in result]
        assert len(got) == len(check["problems"]), got
        for want, problem in zip(check["problems"], got):
            assert want in problem, (want, got)
    elif entry == "panoptic_to_coco":
        anns = result["annotations"]
        assert [a["area"] for a in anns] == check["areas"]
        assert [a["segmentation"]["counts"] for a in anns] == check["counts"]
    elif entry == "coco2sem":
        assert result["images"] == check["images"] and result["objects"] == check["objects"]
        pngs = sorted(p.name for p in Path(result["out_dir"]).rglob("*.png"))
        assert pngs == check["pngs"]
    elif entry == "pq":
        for key, want in check.items():
            for field, value in want.items():
                assert math.isclose(result[key][field], value), (key, field, result[key])
    else:
        _check_array(result, check)


@pytest.fixture
def hang_guard():
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True, file=sys.__stderr__)
    yield
    faulthandler.cancel_dump_traceback_later()


def _params():
    """Every manifest entry; one with a ``known_bug`` must fail until the bug is fixed."""
    for e in MANIFEST:
        marks = ()
        if e.get("known_bug"):
            marks = pytest.mark.xfail(strict=True, reason=f"known bug: {e['known_bug']}")
        yield pytest.param(e, id=e["id"], marks=marks)


@pytest.mark.parametrize("case", _params())
def test_manifest_entry(case, tmp_path, hang_guard):
    path = FILES / case["file"]
    run = ENTRY_POINTS[case["entry"]]
    out = tmp_path / "out"
    try:
        result = run(path, case.get("args", {}), out)
    except MaskkitError as exc:
        if case["entry"] in WRITERS:
            _assert_only_whole_files(out)
        message = str(exc)
        assert case["expect"] == "error", f"expected a result ({case['why']}); got {message}"
        want = getattr(maskkit.errors, case["exception"])
        assert isinstance(exc, want), f"{type(exc).__name__} is not a {want.__name__}: {message}"
        assert isinstance(exc, getattr(builtins, case["builtin"])), type(exc).__mro__
        assert getattr(exc, "reason", message).strip()
        if case["names"] is not None:
            assert case["names"] in message.replace(os.sep, "/"), (
                f"the message does not name {case['names']}: {message}")
        else:
            assert case["entry"] in IN_MEMORY, "only in-memory entry points may omit the file"
        return
    except Exception as exc:  # anything but a maskkit error is a bug
        pytest.fail(f"{type(exc).__name__} (not a MaskkitError) on {case['file']} "
                    f"({case['why']}): {exc}\n{traceback.format_exc()}")
    assert case["expect"] == "ok", (
        f"expected {case['exception']} ({case['why']}); got a result: {result!r:.300}")
    _check_result(case["entry"], result, case["check"])
    if case["entry"] in WRITERS:
        _assert_only_whole_files(out)


def _assert_only_whole_files(out: Path) -> None:
    """No temporary file of an atomic write is left, and every PNG written reads whole."""
    from maskkit.io.png import read_png

    if not out.exists():
        return
    assert not _left_behind(out)
    for png in out.rglob("*.png"):
        assert read_png(png).ndim == 2, png


def test_manifest_covers_every_file_and_entry_point():
    listed = {e["file"] for e in MANIFEST}
    on_disk = {p.relative_to(FILES).as_posix() for p in FILES.rglob("*") if p.is_file()}
    on_disk.discard("MANIFEST.json")
    inputs_only = {f for f in on_disk - listed if "/gt" in f or "/pred/" in f}
    assert on_disk - listed == inputs_only, sorted(on_disk - listed - inputs_only)
    assert listed <= on_disk
    assert {e["entry"] for e in MANIFEST} == set(ENTRY_POINTS)
    assert len({e["id"] for e in MANIFEST}) == len(MANIFEST)
    for e in MANIFEST:
        if e["expect"] == "error":
            assert e["builtin"] in ("ValueError", "OSError", "TypeError"), e["id"]
            assert issubclass(getattr(maskkit.errors, e["exception"]), MaskkitError), e["id"]


def test_committed_corpus_is_what_the_generator_writes(tmp_path):
    gen = _load_generator()
    out = tmp_path / "files"
    assert gen.main(["make_corpus.py", str(out)]) == 0

    def tree(root):
        return {p.relative_to(root).as_posix(): p.read_bytes()
                for p in root.rglob("*") if p.is_file()}

    fresh, committed = tree(out), tree(FILES)
    assert sorted(fresh) == sorted(committed), (
        "run `python tests/corpus/make_corpus.py`: files differ "
        f"{sorted(set(fresh) ^ set(committed))}")
    changed = [name for name in fresh if fresh[name] != committed[name]]
    assert not changed, f"run `python tests/corpus/make_corpus.py`: {changed} differ"
    total = sum(map(len, committed.values()))
    assert total < 300_000, f"the corpus grew to {total:,} bytes"
    inputs = {k: v for k, v in committed.items() if k != "MANIFEST.json"}
    assert max(map(len, inputs.values())) <= 50_000, "keep each corpus file small"


# ------------------------------------------------------------------------------ CLI output


def _left_behind(out: Path) -> list[str]:
    """Temporary files of atomic writes still in ``out`` (hidden ``.name.*.tmp``)."""
    return sorted(p.name for p in out.rglob("*") if p.name.endswith(".tmp"))


COCO2SEM_FAILURES = sorted(
    {e["file"] for e in MANIFEST
     if e["entry"] in ("coco_to_semantic", "load_coco") and e["expect"] == "error"
     and e.get("args", {"image_id": 1}) == {"image_id": 1}}  # the defaults coco2sem uses
)


@pytest.mark.parametrize("name", COCO2SEM_FAILURES)
def test_coco2sem_on_a_malformed_file_leaves_no_partial_output(name, tmp_path, capsys,
                                                               hang_guard):
    out = tmp_path / "out"
    code = main(["coco2sem", str(FILES / name), "-o", str(out), "--workers", "1", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("maskkit coco2sem: error: "), err
    assert name in err[0], err
    if out.exists():
        assert not _left_behind(out)
        assert not list(out.rglob("*.png")), "the only image failed: no PNG may exist"


def test_coco2sem_stops_at_the_bad_image_and_keeps_only_whole_pngs(tmp_path, capsys):
    from maskkit.io.png import read_png

    name = "coco/second_image_bad_polygon.json"
    out = tmp_path / "out"
    code = main(["coco2sem", str(FILES / name), "-o", str(out), "--workers", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and name in err and "annotation 2" in err
    assert not _left_behind(out)
    # one image at a time, in file order: image 1 is written whole before image 2 fails
    assert sorted(p.name for p in out.rglob("*.png")) == ["img1.png"]
    assert int(read_png(out / "img1.png").sum()) == 15

    skipped = tmp_path / "skip"
    code = main(["coco2sem", str(FILES / name), "-o", str(skipped), "--workers", "1",
                 "--quiet", "--on-error", "skip"])
    assert code == 3
    assert not _left_behind(skipped)
    assert sorted(p.name for p in skipped.rglob("*.png")) == ["img1.png"]
    assert int(read_png(skipped / "img1.png").sum()) == 15
    errors = [json.loads(line) for line in
              (skipped / "coco2sem_errors.jsonl").read_text().splitlines()]
    assert [e["image_id"] for e in errors] == [2]
    assert name in errors[0]["error"]


def test_count_cli_skips_each_malformed_mask_by_name(tmp_path, capsys):
    bad = sorted({e["file"] for e in MANIFEST if e["entry"] in ("read_mask", "count")
                  and e["expect"] == "error" and not e.get("known_bug")})
    good = "png/grey8_valid.png"
    out = tmp_path / "counts.csv"
    code = main(["count", *(str(FILES / f) for f in [good, *bad]), "--kind", "semantic",
                 "--workers", "1", "--quiet", "--on-error", "skip", "-o", str(out)])
    capsys.readouterr()
    assert code == 3
    rows = out.read_text().splitlines()
    assert rows[0] == "image,class,count,area"
    assert {r.split(",")[0] for r in rows[1:]} == {str(FILES / good)}
    assert len(rows) == 1 + 4  # classes 1..4 of the valid mask
    errors = [json.loads(line) for line in Path(f"{out}.errors.jsonl").read_text().splitlines()]
    assert len(errors) == len(bad)
    assert {e["path"].replace(os.sep, "/") for e in errors} == {str(FILES / f) for f in bad}
    for record in errors:  # {"path", "object", "error" (the class), "reason"}
        assert issubclass(getattr(maskkit.errors, record["error"]), MaskkitError), record
        assert record["reason"].strip()
    assert not _left_behind(tmp_path)
