"""Tests for ``maskkit count``: exact rows on hand-made masks, resume, errors, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from maskkit.cli import main
from maskkit.io.png import write_label_png

REPO = Path(__file__).resolve().parent.parent


# Hand-made masks; 0 and 255 are ignored in the exact tests so that background handling
# of the counting function does not matter.
A = np.array(  # class 1: 3 objects (one of 2 pixels), 4 px; class 2: 1 object, 2 px
    [
        [1, 1, 0, 2],
        [0, 0, 0, 2],
        [1, 0, 1, 255],
    ],
    dtype=np.uint8,
)
B = np.array(  # class 3: one diagonal object with 8-connectivity, three with 4
    [
        [3, 0, 0],
        [0, 3, 0],
        [0, 0, 3],
    ],
    dtype=np.uint8,
)
C = np.zeros((2, 2), np.uint8)  # nothing to count
IGNORE = ["--ignore", "0", "255"]

CSV_8 = "image,class,count,area\na.png,1,3,4\na.png,2,1,2\nb.png,3,1,3\nc.png,,0,0\n"
CSV_4 = "image,class,count,area\na.png,1,3,4\na.png,2,1,2\nb.png,3,3,3\nc.png,,0,0\n"
JSONL_8 = (
    '{"image": "a.png", "class": 1, "count": 3, "area": 4}\n'
    '{"image": "a.png", "class": 2, "count": 1, "area": 2}\n'
    '{"image": "b.png", "class": 3, "count": 1, "area": 3}\n'
    '{"image": "c.png", "class": null, "count": 0, "area": 0}\n'
)


@pytest.fixture
def masks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_label_png("a.png", A, palette=True)
    write_label_png("b.png", B)
    write_label_png("c.png", C)
    return tmp_path


def count(*argv) -> int:
    return main(["count", *map(str, argv)])


# --- exact output -----------------------------------------------------------------------
def test_csv_to_stdout(masks, capsys):
    assert count("a.png", "b.png", "c.png", "--kind", "semantic", "--workers", 1, *IGNORE) == 0
    captured = capsys.readouterr()
    assert captured.out == CSV_8
    assert "maskkit count: 3 images counted, 4 rows, 0 skipped" in captured.err
    assert "images/s" in captured.err


def test_connectivity_4(masks, capsys):
    args = ["a.png", "b.png", "c.png", "--kind", "semantic", "--connectivity", "4"]
    assert count(*args, "--workers", 1, "--quiet", *IGNORE) == 0
    assert capsys.readouterr() == (CSV_4, "")


def test_jsonl_file_format_from_suffix(masks, capsys):
    args = ["a.png", "b.png", "c.png", "--kind", "semantic", "-o", "out/counts.jsonl"]
    assert count(*args, "--workers", 1, *IGNORE) == 0
    assert (masks / "out" / "counts.jsonl").read_text() == JSONL_8
    captured = capsys.readouterr()
    assert captured.out == "" and "-> out/counts.jsonl" in captured.err
    assert not (masks / "out" / "counts.jsonl.errors.jsonl").exists()


def test_pool_gives_the_same_rows(masks, capsys):
    args = ["a.png", "b.png", "c.png", "--kind", "semantic", "--format", "jsonl", "-o", "o.txt"]
    assert count(*args, "--workers", 2, *IGNORE) == 0
    assert sorted((masks / "o.txt").read_text().splitlines()) == JSONL_8.splitlines()


def test_directory_and_glob_inputs(masks, capsys):
    (masks / "sub").mkdir()
    write_label_png(masks / "sub" / "b.png", B)
    assert count("sub", "[ac].png", "--kind", "semantic", "--workers", 1, "--quiet", *IGNORE) == 0
    assert capsys.readouterr().out == (
        "image,class,count,area\nsub/b.png,3,1,3\na.png,1,3,4\na.png,2,1,2\nc.png,,0,0\n"
    )


def test_ignore_before_the_paths(masks, capsys):
    args = ["--kind", "semantic", "--workers", "1", "--ignore", "0", "255", "--"]
    assert main(["count", *args, "a.png", "b.png", "c.png"]) == 0
    assert capsys.readouterr().out == CSV_8
    assert main(["count", "b.png", "--kind", "semantic", "--quiet", "--ignore"]) == 0
    # '--ignore' alone counts 255 and 0 too (whether 0 is a class is count_table's business)
    assert "b.png,3,1,3" in capsys.readouterr().out.splitlines()


def test_min_area(masks, capsys):
    assert count("a.png", "--kind", "semantic", "--min-area", 2, "--quiet", *IGNORE) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [r.split(",")[:3] for r in rows] == [["a.png", "1", "1"], ["a.png", "2", "1"]]


def test_instance_kind_counts_every_id_once(masks, capsys):
    ids = np.array([[1, 1, 0], [0, 0, 2], [7, 7, 7]], dtype=np.uint16) * 100
    write_label_png("inst.png", ids)
    assert count("inst.png", "--kind", "instance", "--quiet", *IGNORE) == 0
    rows = [r.split(",") for r in capsys.readouterr().out.splitlines()[1:]]
    assert sum(int(r[2]) for r in rows) == 3 and sum(int(r[3]) for r in rows) == 6


# --- resume -----------------------------------------------------------------------------
@pytest.mark.parametrize("fmt, full", [("csv", CSV_8), ("jsonl", JSONL_8)])
def test_resume_after_a_truncated_last_line(masks, capsys, fmt, full):
    out = masks / f"counts.{fmt}"
    lines = full.splitlines(keepends=True)
    cut = [*lines[:-1], lines[-1][:-9]]  # c.png's line cut short, as by a kill
    out.write_text("".join(cut))
    args = ["a.png", "b.png", "c.png", "--kind", "semantic", "-o", out, "--resume"]
    assert count(*args, "--workers", 1, *IGNORE) == 0
    assert out.read_text() == full
    # a.png was skipped; b.png (the last complete image) and c.png were recounted
    assert "2 images counted, 2 rows, 0 skipped, 1 already done" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_resume_with_estimate(masks, capsys, fmt):
    # --estimate's extra columns are part of the format --resume reads back
    out = masks / f"est.{fmt}"
    args = ["a.png", "b.png", "c.png", "--kind", "semantic", "--estimate", "area", "-o", out,
            "--workers", 1, *IGNORE]
    assert count(*args) == 0
    full = out.read_text()
    assert (full.splitlines()[0] == "image,class,count,area,components,low,high"
            if fmt == "csv" else '"components"' in full)
    lines = full.splitlines(keepends=True)
    out.write_text("".join([*lines[:-1], lines[-1][:-3]]))  # the last line cut by a kill
    assert count(*args, "--resume") == 0
    assert out.read_text() == full
    # an output without the estimate columns is another format: refused, not mixed
    plain = masks / f"plain.{fmt}"
    assert count("a.png", "--kind", "semantic", "-o", plain, "--workers", 1, *IGNORE) == 0
    capsys.readouterr()
    assert count("a.png", "--kind", "semantic", "--estimate", "area", "-o", plain,
                 "--resume", "--workers", 1, *IGNORE) == 1
    assert "refusing to resume" in capsys.readouterr().err


def test_resume_of_a_complete_output_changes_nothing(masks, capsys):
    Path("counts.csv").write_text(CSV_8)
    args = ["a.png", "b.png", "c.png", "--kind", "semantic", "-o", "counts.csv", "--resume"]
    assert count(*args, "--workers", 2, *IGNORE) == 0
    assert Path("counts.csv").read_text() == CSV_8
    assert "1 image counted, 1 row, 0 skipped, 2 already done" in capsys.readouterr().err


def test_resume_with_a_cut_header_or_no_file_starts_over(masks, capsys):
    for start in ["image,cla", None]:
        if start is None:
            Path("counts.csv").unlink()
        else:
            Path("counts.csv").write_text(start)
        args = ["a.png", "b.png", "c.png", "--kind", "semantic", "-o", "counts.csv"]
        assert count(*args, "--resume", "--workers", 1, "--quiet", *IGNORE) == 0
        assert Path("counts.csv").read_text() == CSV_8


def test_resume_adds_new_images(masks, capsys):
    Path("counts.csv").write_text("image,class,count,area\na.png,1,3,4\na.png,2,1,2\n")
    args = ["c.png", "a.png", "b.png", "--kind", "semantic", "-o", "counts.csv", "--resume"]
    assert count(*args, "--workers", 1, "--quiet", *IGNORE) == 0
    assert Path("counts.csv").read_text() == (
        # a.png, the last image of the old file, is recounted after c.png
        "image,class,count,area\nc.png,,0,0\na.png,1,3,4\na.png,2,1,2\nb.png,3,1,3\n"
    )


@pytest.mark.parametrize(
    "content",
    [
        "not,a,count,file\nx,1,2,3\n",  # wrong header
        "image,class,count,area\na.png,1,3,4\ngarbage\na.png,2,1,2\n",  # corrupt middle
        "image,class,count,area\na.png,1,3,4\na.png,x,1,2\n",  # bad complete last line
    ],
)
def test_resume_refuses_a_file_that_is_not_a_count_output(masks, capsys, content):
    Path("counts.csv").write_text(content)
    args = ["a.png", "--kind", "semantic", "-o", "counts.csv", "--resume", *IGNORE]
    assert count(*args) == 1
    err = capsys.readouterr().err
    assert err.startswith("maskkit count: error: counts.csv: refusing to resume")
    assert Path("counts.csv").read_text() == content  # untouched


def test_resume_refuses_a_csv_output_read_as_jsonl(masks, capsys):
    Path("counts.jsonl").write_text(CSV_8)
    args = ["a.png", "--kind", "semantic", "-o", "counts.jsonl", "--resume", *IGNORE]
    assert count(*args) == 1
    assert "not a maskkit count output in jsonl format" in capsys.readouterr().err


def test_resume_needs_an_output_file(masks, capsys):
    assert count("a.png", "--kind", "semantic", "--resume") == 1
    assert "--resume needs an output file" in capsys.readouterr().err


# --- errors and exit codes --------------------------------------------------------------
def _corrupt(name="bad.png"):
    Path(name).write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    return name


@pytest.mark.parametrize("workers", [1, 2])
def test_on_error_skip(masks, capsys, workers):
    bad = _corrupt()
    args = ["a.png", bad, "b.png", "c.png", "--kind", "semantic", "-o", "counts.csv"]
    assert count(*args, "--on-error", "skip", "--workers", workers, *IGNORE) == 3
    assert sorted(Path("counts.csv").read_text().splitlines()) == sorted(CSV_8.splitlines())
    err = capsys.readouterr().err
    assert "maskkit count: warning: bad.png: not a readable PNG" in err
    assert "3 images counted, 4 rows, 1 skipped" in err and "counts.csv.errors.jsonl" in err
    records = [json.loads(x) for x in Path("counts.csv.errors.jsonl").read_text().splitlines()]
    assert len(records) == 1
    assert records[0]["path"] == "bad.png" and records[0]["error"] == "MaskkitIOError"
    assert records[0]["reason"].startswith("not a readable PNG")


def test_a_clean_rerun_removes_the_stale_errors_file(masks, capsys):
    Path("counts.csv.errors.jsonl").write_text('{"path": "old.png"}\n')
    assert count("a.png", "--kind", "semantic", "-o", "counts.csv", "--quiet") == 0
    assert not Path("counts.csv.errors.jsonl").exists()


def test_on_error_raise_names_the_file(masks, capsys):
    bad = _corrupt()
    args = ["a.png", bad, "--kind", "semantic", "--workers", 1, "-o", "counts.csv", *IGNORE]
    assert count(*args) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("maskkit count: error: bad.png: not a readable PNG")
    # what was counted before the error is kept
    assert Path("counts.csv").read_text() == "image,class,count,area\na.png,1,3,4\na.png,2,1,2\n"


def test_colour_png_error_suggests_panoptic(masks, capsys):
    from PIL import Image

    Image.new("RGB", (3, 3)).save("rgb.png")
    assert count("rgb.png", "--kind", "semantic") == 1
    err = capsys.readouterr().err
    assert "rgb.png: is a RGB colour PNG" in err and "--kind panoptic" in err


def test_missing_input_and_bad_pattern(masks, capsys):
    assert count("nope.png", "--kind", "semantic") == 1
    assert capsys.readouterr().err == (
        "maskkit count: error: nope.png: no such file or directory\n"
    )
    assert count("*.tif", "--kind", "semantic") == 1
    assert "*.tif: the pattern matches nothing" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["a.png", "--format", "xml"],
        ["a.png", "--kind", "polygons"],
        ["a.png", "--kind", "semantic", "--connectivity", "6"],
        ["a.png", "--kind", "semantic", "--min-area", "-1"],
        ["a.png", "--kind", "semantic", "--workers", "0"],
    ],
)
def test_usage_errors_exit_2(masks, capsys, args):
    with pytest.raises(SystemExit) as info:
        count(*args)
    assert info.value.code == 2


def test_help_does_not_import_numpy():
    code = "import sys, maskkit.cli.count; print('numpy' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_console_script(masks):
    script = shutil.which("maskkit")
    cmd = [script] if script else [sys.executable, "-m", "maskkit"]  # not pip-installed
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    bad = _corrupt()
    args = ["count", "a.png", bad, "b.png", "c.png", "--kind", "semantic", "--format", "jsonl"]
    done = subprocess.run(
        [*cmd, *args, "--on-error", "skip", *IGNORE],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": pythonpath},
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert sorted(done.stdout.splitlines()) == JSONL_8.splitlines()
    assert "maskkit count: warning: bad.png: not a readable PNG" in done.stderr
    assert "3 images counted, 4 rows, 1 skipped" in done.stderr


@pytest.mark.parametrize("name", ["a.png", "a,b.png", 'a"b".png', "a\nb.png", "a\rb.png",
                                  " lead.png", "", "é,ü.png", "a;b\tc.png"])
def test_csv_rows_are_what_the_csv_module_writes(name):
    import csv
    import io

    from maskkit.cli.count import _encode_rows

    rows = [(1, 2, 30), (255, 0, 4)]
    # a bare \r is quoted too: csv.writer with lineterminator="\n" leaves it bare, and
    # csv.reader then splits the row there (--resume could not read it back)
    quoting = csv.QUOTE_ALL if "\r" in name else csv.QUOTE_MINIMAL
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n", quoting=quoting).writerows(
        (name, c, n, a) for c, n, a in rows)
    want = buf.getvalue().replace(',"1","2","30"', ",1,2,30").replace(',"255","0","4"',
                                                                       ",255,0,4")
    assert _encode_rows(name, rows, "csv") == want.encode("utf-8", "surrogateescape")
    got = list(csv.reader(io.StringIO(_encode_rows(name, rows, "csv").decode(), newline="")))
    assert [r[0] for r in got] == [name, name]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n", quoting=quoting).writerow((name, "", 0, 0))
    want = buf.getvalue().replace(',"","0","0"', ",,0,0")
    assert _encode_rows(name, [], "csv") == want.encode()
