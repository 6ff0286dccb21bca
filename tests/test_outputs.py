"""Issue 16: every command's outputs — never clobbered, readable by the team, one-line
errors, the same contract everywhere.  Each case of the issue is one test here; commands
run in-process through ``maskkit.cli.main`` (``--workers 1``), or in a subprocess where
exit codes of the real process or pipes matter."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from maskkit.cli import main
from maskkit.io import fs
from maskkit.io.panoptic import write_panoptic_png
from maskkit.io.png import write_label_png

W1 = ["--workers", "1"]


# ------------------------------------------------------------------------ helpers


def coco(path: Path, names, *, anns=True, categories=None) -> Path:
    """A COCO instances file with one 4x4 image per name and one triangle on each."""
    images = [{"id": i + 1, "file_name": n, "height": 4, "width": 4}
              for i, n in enumerate(names)]
    annotations = [{"id": i + 1, "image_id": i + 1, "category_id": 1,
                    "segmentation": [[0, 0, 2 + i % 2, 0, 2, 2]]}
                   for i in range(len(names))] if anns else []
    path.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": categories or [{"id": 1, "name": "cat"}]}))
    return path


def panoptic(folder: Path, names, *, categories=None) -> Path:
    """A panoptic dataset ``folder/pan.json`` + ``folder/pan/<name>``: one thing segment
    (id 1, category 1) and one stuff segment (id 2, category 2) per image."""
    ids = np.array([[1, 1, 0, 2], [1, 1, 2, 2], [0, 0, 2, 2]], np.uint32)
    anns = []
    for k, name in enumerate(names):
        write_panoptic_png(folder / "pan" / name, ids)
        anns.append({"image_id": k + 1, "file_name": name, "segments_info": [
            {"id": 1, "category_id": 1, "iscrowd": 0, "area": 4},
            {"id": 2, "category_id": 2, "iscrowd": 0, "area": 6}]})
    cats = categories or [{"id": 1, "name": "person", "isthing": 1},
                          {"id": 2, "name": "grass", "isthing": 0}]
    doc = {"images": [{"id": k + 1, "file_name": n, "height": 3, "width": 4}
                      for k, n in enumerate(names)],
           "annotations": anns, "categories": cats}
    path = folder / "pan.json"
    path.write_text(json.dumps(doc))
    return path


def one_line_error(err: str, command: str) -> str:
    """The one stderr line of a failed command (and that there is no traceback)."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines()
             if line.strip() and not line.startswith(f"maskkit {command}: warning: ")]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"maskkit {command}: error: "), err
    return lines[0]


def tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def run_cli(*args, cwd=None, stdin=None, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, "-m", "maskkit", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=300, **kw)


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)


# --------------------------------------------------------- files silently overwritten


@pytest.mark.parametrize("names", [["x.jpg", "x.png"], ["same.jpg", "same.jpg"]])
def test_coco2sem_refuses_two_images_on_one_png(tmp_path, capsys, names):
    src = coco(tmp_path / "d.json", names)
    out = tmp_path / "out"
    assert main(["coco2sem", str(src), "-o", str(out), *W1]) == 1
    line = one_line_error(capsys.readouterr().err, "coco2sem")
    assert f"image 1 (file_name '{names[0]}')" in line
    assert f"image 2 (file_name '{names[1]}')" in line and "nothing was written" in line
    assert not out.exists()  # nothing written, not even the folder


def test_coco2sem_refuses_a_file_where_another_image_needs_a_folder(tmp_path, capsys):
    src = coco(tmp_path / "d.json", ["a.jpg", "a.png/b.jpg"])
    assert main(["coco2sem", str(src), "-o", str(tmp_path / "out"), *W1]) == 1
    line = one_line_error(capsys.readouterr().err, "coco2sem")
    assert "a.png" in line and "folder" in line and "image 1" in line and "image 2" in line


def test_coco2sem_refuses_names_of_its_own_files(tmp_path, capsys):
    src = coco(tmp_path / "d.json", ["categories.json", "ok.jpg"])  # -> categories.png: fine
    assert main(["coco2sem", str(src), "-o", str(tmp_path / "o1"), *W1, "--quiet"]) == 0
    capsys.readouterr()
    src = coco(tmp_path / "d2.json", ["coco2sem_stats", "x.jpg"])
    doc = json.loads(src.read_text())
    doc["images"][0]["file_name"] = "coco2sem_stats.csv"  # -> coco2sem_stats.png: fine too
    # an image with no suffix keeps its name + .png; the manifest itself cannot be hit,
    # but a name that *is* a reserved file is refused before writing
    from maskkit.datasets.coco2sem import RESERVED

    assert {"categories.json", "coco2sem_stats.csv", ".coco2sem_manifest.jsonl"} <= set(RESERVED)
    with pytest.raises(ValueError, match="coco2sem's resume manifest"):
        fs.check_output_names([(".coco2sem_manifest.jsonl", "image 9")], reserved=RESERVED)


def test_panoptic_from_coco_refuses_two_images_on_one_png(tmp_path, capsys):
    src = coco(tmp_path / "d.json", ["train/0001.jpg", "val/0001.jpg"])
    out = tmp_path / "pan.json"
    assert main(["panoptic", "from-coco", str(src), "-o", str(out)]) == 1
    line = one_line_error(capsys.readouterr().err, "panoptic from-coco")
    assert "train/0001.jpg" in line and "val/0001.jpg" in line and "0001.png" in line
    assert not out.exists() and not (tmp_path / "pan").exists()


def test_panoptic_to_semantic_keeps_sub_folders(tmp_path, capsys):
    src = panoptic(tmp_path, ["a/x.png", "b/x.png"])
    out = tmp_path / "sem"
    assert main(["panoptic", "to-semantic", str(src), "-o", str(out), *W1, "--quiet"]) == 0
    assert (out / "a" / "x.png").is_file() and (out / "b" / "x.png").is_file()
    assert "2 images" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["to_semantic_errors.jsonl",
                                  ".panoptic_to_semantic_manifest.jsonl", "categories.json"])
def test_panoptic_to_semantic_never_writes_over_its_own_files(tmp_path, capsys, name):
    src = panoptic(tmp_path, ["ok.png", name])  # PNGs under those names
    out = tmp_path / "sem"
    assert main(["panoptic", "to-semantic", str(src), "-o", str(out), *W1, "--quiet"]) == 0
    png = out / (name.rsplit(".", 1)[0] + ".png")  # semantic PNGs are .png, always
    assert png.is_file() and (out / "ok.png").is_file()
    assert json.loads((out / "categories.json").read_text())["unlabeled"] == 255
    assert main(["panoptic", "to-semantic", str(src), "-o", str(out), *W1, "--quiet",
                 "--resume"]) == 0  # the manifest is intact
    with pytest.raises(ValueError, match="image 2 would be written to categories.json"):
        from maskkit.io.fs import check_output_names

        check_output_names([("categories.json", "image 2")],
                           reserved={"categories.json": "the category mapping"})


def test_never_writes_through_a_symlink_out_of_the_output(tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out" / "o"
    out.mkdir(parents=True)
    (out / "link").symlink_to("../../elsewhere")
    src = coco(tmp_path / "d.json", ["link/x.jpg"])
    assert main(["coco2sem", str(src), "-o", str(out), *W1, "--quiet"]) == 1
    line = one_line_error(capsys.readouterr().err, "coco2sem")
    assert "outside the output folder" in line and "link" in line
    assert list(elsewhere.iterdir()) == []
    # a link that stays inside the output folder is fine
    (out / "inner").mkdir()
    (out / "link2").symlink_to("inner")
    src = coco(tmp_path / "d2.json", ["link2/y.jpg"])
    assert main(["coco2sem", str(src), "-o", str(out), *W1, "--quiet"]) == 0
    assert (out / "inner" / "y.png").is_file()


def test_a_second_writer_fails_at_once(tmp_path, capsys):
    write_label_png(tmp_path / "m.png", np.array([[1, 0], [0, 2]], np.uint8))
    out = tmp_path / "c.csv"
    with fs.OutputLock(out):  # another run is writing c.csv
        assert main(["count", str(tmp_path / "m.png"), "-o", str(out), *W1]) == 1
    line = one_line_error(capsys.readouterr().err, "count")
    assert "another maskkit run is writing it" in line and "c.csv" in line
    assert not out.exists()
    assert main(["count", str(tmp_path / "m.png"), "-o", str(out), *W1, "--quiet"]) == 0
    assert not (tmp_path / ".c.csv.lock").exists()  # released and removed
    with fs.OutputLock(tmp_path / "sem", folder=True):
        src = coco(tmp_path / "d.json", ["a.jpg"])
        assert main(["coco2sem", str(src), "-o", str(tmp_path / "sem"), *W1]) == 1
    assert "another maskkit run" in one_line_error(capsys.readouterr().err, "coco2sem")


def test_two_count_processes_at_once_never_mix_rows(tmp_path):
    masks = tmp_path / "masks"
    for i in range(40):
        write_label_png(masks / f"m{i:03d}.png", np.eye(8, dtype=np.uint8) * (i % 3 + 1))
    out = tmp_path / "c.csv"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "maskkit", "count", str(masks), "-o", str(out), *W1]
    procs = [subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    codes, errs = zip(*[(p.wait(300), p.stderr.read()) for p in procs])
    for p in procs:
        p.stderr.close()
    assert sorted(codes) in ([0, 0], [0, 1]), errs  # 0, 0: one ran after the other
    for code, err in zip(codes, errs):
        if code == 1:
            assert "another maskkit run is writing it" in one_line_error(err, "count")
    data = out.read_bytes()
    assert b"\0" not in data
    assert data.count(b"\n") == 1 + 40  # header + one row per image, each image once
    assert len({line.split(b",")[0] for line in data.splitlines()}) == 41


def test_resume_refuses_a_file_it_did_not_write(tmp_path, capsys):
    write_label_png(tmp_path / "m.png", np.array([[1, 0], [0, 2]], np.uint8))
    out = tmp_path / "c.csv"
    # what two writers at once used to leave: NULs where rows should be
    out.write_bytes(b"image,class,count,area\n" + b"\0" * 300 + b"m.png,1,1,1\n")
    assert main(["count", str(tmp_path / "m.png"), "-o", str(out), "--resume", *W1]) == 1
    line = one_line_error(capsys.readouterr().err, "count")
    assert "refusing to resume" in line and "NUL" in line
    out.write_text("name,value\nfoo,1\n")
    assert main(["count", str(tmp_path / "m.png"), "-o", str(out), "--resume", *W1]) == 1
    assert "refusing to resume" in one_line_error(capsys.readouterr().err, "count")
    assert out.read_text() == "name,value\nfoo,1\n"  # left as it was
    man = tmp_path / "sem" / ".coco2sem_manifest.jsonl"
    man.parent.mkdir()
    man.write_text('{"something": "else"}\n')
    src = coco(tmp_path / "d.json", ["a.jpg"])
    assert main(["coco2sem", str(src), "-o", str(man.parent), "--resume", *W1]) == 1
    assert "is not a coco2sem manifest" in one_line_error(capsys.readouterr().err, "coco2sem")


# ------------------------------------------------------------- files the team can read


def test_outputs_get_the_mode_open_would_give(tmp_path, umask022, capsys):
    src = coco(tmp_path / "d.json", ["a.jpg", "sub/b.jpg"])
    assert main(["coco2sem", str(src), "-o", str(tmp_path / "sem"), *W1, "--quiet"]) == 0
    assert main(["panoptic", "from-coco", str(src), "-o", str(tmp_path / "pan.json")]) == 0
    write_label_png(tmp_path / "m.png", np.array([[1, 0], [0, 2]], np.uint8))
    assert main(["render", str(tmp_path / "m.png"), "-o", str(tmp_path / "r.png")]) == 0
    assert main(["labels2coco", str(tmp_path / "m.png"), "-o", str(tmp_path / "l.json"),
                 "--kind", "semantic", "--quiet"]) == 0
    files = [p for p in tmp_path.rglob("*") if p.is_file()
             and p.name not in ("d.json", "m.png")]
    assert len(files) >= 9
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o644, p
    os.umask(0o077)
    assert main(["labels2coco", str(tmp_path / "m.png"), "-o", str(tmp_path / "p.json"),
                 "--kind", "semantic", "--quiet"]) == 0
    assert stat.S_IMODE((tmp_path / "p.json").stat().st_mode) == 0o600


def test_geotiff_gets_the_mode_open_would_give(tmp_path, umask022, capsys):
    rasterio = pytest.importorskip("rasterio")
    from rasterio.transform import Affine

    with rasterio.open(tmp_path / "ref.tif", "w", driver="GTiff", height=8, width=8, count=1,
                       dtype="uint8", crs="EPSG:32631",
                       transform=Affine(1.0, 0.0, 500000.0, 0.0, -1.0, 5000008.0)) as ds:
        ds.write(np.zeros((1, 8, 8), np.uint8))
    square = [[500001, 5000001], [500005, 5000001], [500005, 5000005], [500001, 5000005],
              [500001, 5000001]]
    (tmp_path / "v.geojson").write_text(json.dumps({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "EPSG:32631"}},
        "features": [{"type": "Feature", "properties": {},
                      "geometry": {"type": "Polygon", "coordinates": [square]}}]}))
    out = tmp_path / "labels.tif"
    assert main(["rasterize", str(tmp_path / "v.geojson"), "--like", str(tmp_path / "ref.tif"),
                 "-o", str(out), "--quiet"]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


# ------------------------------------------------- tracebacks where one line is promised


def _bad_output_commands(tmp_path: Path, bad: str):
    """(command name, argv) of every command that writes -o, writing to ``bad``."""
    src = coco(tmp_path / "d.json", ["a.jpg"])
    write_label_png(tmp_path / "m.png", np.array([[1, 0], [0, 2]], np.uint8))
    vec = tmp_path / "v.geojson"
    vec.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    pan = panoptic(tmp_path, ["p.png"])
    return [
        ("panoptic to-semantic", ["panoptic", "to-semantic", str(pan), "-o", bad, *W1]),
        ("panoptic to-coco", ["panoptic", "to-coco", str(pan), "-o", bad + ".json"]),
        ("pq", ["pq", str(pan), str(pan), "--json", bad + ".json"]),
        ("audit", ["audit", str(src), "--render", bad]),
        ("coco2sem", ["coco2sem", str(src), "-o", bad, *W1]),
        ("count", ["count", str(tmp_path / "m.png"), "-o", bad + ".csv", *W1]),
        ("labels2coco", ["labels2coco", str(tmp_path / "m.png"), "-o", bad + ".json",
                         "--kind", "semantic"]),
        ("panoptic from-coco", ["panoptic", "from-coco", str(src), "-o", bad + ".json"]),
        ("bench overlap", ["bench", "overlap", "-o", bad, "--repeats", "1", "--objects", "2",
                           "--levels", "1", "--size", "32", "--no-examples", "--quiet"]),
        ("render", ["render", str(tmp_path / "m.png"), "-o", bad + ".png"]),
        ("rasterize", ["rasterize", str(vec), "--like", str(tmp_path / "m.png"),
                       "-o", bad + ".tif"]),
    ]


@pytest.mark.parametrize("where", ["afile/sub", "/proc/maskkit_out"])
def test_a_bad_output_path_is_one_line_in_every_command(tmp_path, capsys, where):
    (tmp_path / "afile").write_text("x")
    bad = str(tmp_path / where) if not where.startswith("/") else where
    for command, argv in _bad_output_commands(tmp_path, bad):
        assert main(argv) == 1, command
        line = one_line_error(capsys.readouterr().err, command)
        assert line.count("cannot write") == 1, line
        if where == "afile/sub":
            assert "afile is a file, not a folder" in line


@pytest.mark.parametrize("case", ["long name", "NUL"])
def test_coco2sem_bad_names_are_one_line(tmp_path, capsys, case):
    name = "x" * 300 + ".jpg" if case == "long name" else "a\0b.jpg"
    src = coco(tmp_path / "d.json", ["ok.jpg", name])
    out = tmp_path / "out"
    assert main(["coco2sem", str(src), "-o", str(out), *W1]) == 1
    line = one_line_error(capsys.readouterr().err, "coco2sem")
    assert "image 2" in line and ("NUL" in line or "bytes" in line)
    assert not out.exists()


def test_a_full_disk_is_one_line(tmp_path, capsys, monkeypatch):
    src = coco(tmp_path / "d.json", ["a.jpg"])

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    assert main(["coco2sem", str(src), "-o", str(tmp_path / "out"), *W1, "--quiet"]) == 1
    line = one_line_error(capsys.readouterr().err, "coco2sem")
    assert "a.png: cannot write: No space left on device" in line
    monkeypatch.undo()
    assert not list((tmp_path / "out").rglob("*.tmp"))


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    # enough problems to fill a pipe's buffer many times over
    n = 3000
    doc = {"images": [], "categories": [{"id": 1, "isthing": 1}],
           "annotations": [{"image_id": i, "file_name": f"missing_{i:05d}.png",
                            "segments_info": []} for i in range(n)]}
    (tmp_path / "p.json").write_text(json.dumps(doc))
    (tmp_path / "p").mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        f"{sys.executable} -m maskkit panoptic check p.json | head -n 1", shell=True,
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert proc.stdout.count("\n") == 1
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert "Exception ignored" not in proc.stderr


def test_a_failed_run_leaves_no_folder_with_only_a_manifest(tmp_path, capsys):
    src = coco(tmp_path / "d.json", ["a.jpg"])
    doc = json.loads(src.read_text())
    doc["annotations"][0]["segmentation"] = [[0, 0, 3]]  # a corrupt polygon
    src.write_text(json.dumps(doc))
    out = tmp_path / "out"
    assert main(["coco2sem", str(src), "-o", str(out), *W1, "--quiet"]) == 1
    one_line_error(capsys.readouterr().err, "coco2sem")
    assert not out.exists()
    out.mkdir()  # a folder the user made stays
    assert main(["coco2sem", str(src), "-o", str(out), *W1, "--quiet"]) == 1
    assert out.is_dir()


def test_resume_removes_the_temporary_files_of_a_killed_run(tmp_path, capsys):
    src = coco(tmp_path / "d.json", ["a.jpg", "sub/b.jpg"])
    out = tmp_path / "out"
    assert main(["coco2sem", str(src), "-o", str(out), *W1, "--quiet"]) == 0
    stale = [out / ".img0176.png.k2j4_x9q.tmp", out / "sub" / ".b.png.abcdefgh.tmp"]
    for p in stale:
        p.write_bytes(b"half a png")
    keep = out / "notes.tmp"  # not one of ours
    keep.write_text("mine")
    assert main(["coco2sem", str(src), "-o", str(out), *W1, "--quiet", "--resume"]) == 0
    assert "2 already done" in capsys.readouterr().err
    assert not any(p.exists() for p in stale) and keep.exists()


def test_count_resumes_csv_with_line_ends_in_names(tmp_path, capsys):
    masks = tmp_path / "masks"
    for name in ("a.png", "we\nird.png", 'q"u,o\r\nte.png'):
        write_label_png(masks / name, np.array([[1, 0], [0, 2]], np.uint8))
    out = tmp_path / "c.csv"
    assert main(["count", str(masks), "-o", str(out), *W1, "--quiet"]) == 0
    whole = out.read_bytes()
    out.write_bytes(whole[:whole.rindex(b"\n", 0, len(whole) - 1) - 3])  # a killed run
    assert main(["count", str(masks), "-o", str(out), *W1, "--resume"]) == 0
    assert out.read_bytes() == whole
    import csv

    with open(out, newline="") as fh:
        rows = list(csv.reader(fh))
    assert {r[0] for r in rows[1:]} == {str(masks / n) for n in
                                       ("a.png", "we\nird.png", 'q"u,o\r\nte.png')}


def test_interrupted_is_130(tmp_path, capsys, monkeypatch):
    import maskkit.datasets.coco2sem

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(maskkit.datasets.coco2sem, "convert_coco_dataset", interrupted)
    src = coco(tmp_path / "d.json", ["a.jpg"])
    assert main(["coco2sem", str(src), "-o", str(tmp_path / "out")]) == 130
    assert capsys.readouterr().err.strip() == "maskkit coco2sem: interrupted"
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------- wrong or surprising results


def test_panoptic_merge_honours_the_ignore_value(tmp_path, capsys):
    sem = tmp_path / "sem"
    labels = np.full((8, 8), 2, np.uint8)
    labels[:, 4:] = 255  # VOID, as to-semantic writes it
    write_label_png(sem / "1.png", labels)
    (tmp_path / "inst.json").write_text("[]")
    cats = [{"id": 1, "name": "person", "isthing": 1}, {"id": 2, "name": "grass", "isthing": 0}]
    (tmp_path / "cats.json").write_text(json.dumps(cats))
    base = ["panoptic", "merge", "--semantic", str(sem), "--instances",
            str(tmp_path / "inst.json"), "--categories", str(tmp_path / "cats.json"),
            "--stuff-area-threshold", "1", *W1, "--quiet"]
    assert main([*base, "-o", str(tmp_path / "m.json")]) == 0
    segs = json.loads((tmp_path / "m.json").read_text())["annotations"][0]["segments_info"]
    assert [s["category_id"] for s in segs] == [2]
    assert main(["panoptic", "check", str(tmp_path / "m.json")]) == 0
    capsys.readouterr()
    # with no ignore value, 255 would be a segment of a category the file does not have
    assert main([*base, "-o", str(tmp_path / "n.json"), "--ignore-value", "-1"]) == 1
    line = one_line_error(capsys.readouterr().err, "panoptic merge")
    assert "1.png: image 1: semantic value(s) [255] are not in the categories file" in line
    assert "--ignore-value 255" in line


def test_labels2coco_portable_file_names_and_named_instances(tmp_path, capsys):
    write_label_png(tmp_path / "m" / "a.png", np.array([[1, 0], [0, 2]], np.uint8))
    write_label_png(tmp_path / "m" / "sub" / "b.png", np.array([[1, 1], [0, 0]], np.uint8))
    out = tmp_path / "l.json"
    assert main(["labels2coco", str(tmp_path / "m"), "-o", str(out), "--kind", "instance",
                 "--category-name", "building"]) == 0
    doc = json.loads(out.read_text())
    assert [i["file_name"] for i in doc["images"]] == ["a.png", "sub/b.png"]
    assert doc["categories"] == [{"id": 1, "name": "building", "supercategory": ""}]
    err = capsys.readouterr().err
    assert "2 images, 3 objects (3 as RLE), 1 category ->" in err
    assert main(["labels2coco", str(tmp_path / "m" / "a.png"), "-o", str(out), "--kind",
                 "instance", "--root", str(tmp_path), "--quiet"]) == 0
    assert json.loads(out.read_text())["images"][0]["file_name"] == "m/a.png"
    assert main(["labels2coco", str(tmp_path / "m"), "-o", str(out), "--kind", "semantic",
                 "--category-name", "x"]) == 2


def test_count_kind_default_instance_class_and_connectivity(tmp_path, capsys):
    write_label_png(tmp_path / "m.png", np.array([[1, 0, 1], [0, 0, 2]], np.uint8))
    assert main(["count", str(tmp_path / "m.png"), *W1, "--quiet"]) == 0  # semantic
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == [f"{tmp_path / 'm.png'},1,2,2", f"{tmp_path / 'm.png'},2,1,1"]
    assert main(["count", str(tmp_path / "m.png"), "--kind", "instance", *W1,
                 "--quiet"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == f"{tmp_path / 'm.png'},-1,2,3"
    assert main(["count", str(tmp_path / "m.png"), "--kind", "instance",
                 "--connectivity", "4"]) == 2
    assert "--connectivity applies to --kind semantic" in one_line_error(
        capsys.readouterr().err, "count")
    with pytest.raises(SystemExit):
        main(["count", "--help"])
    assert "class -1" in " ".join(capsys.readouterr().out.split())


def test_count_format_agrees_with_the_output_suffix(tmp_path, capsys):
    write_label_png(tmp_path / "m.png", np.array([[1, 0], [0, 2]], np.uint8))
    out = tmp_path / "c.jsonl"
    assert main(["count", str(tmp_path / "m.png"), "--format", "csv", "-o", str(out)]) == 2
    assert "contradicts" in one_line_error(capsys.readouterr().err, "count")
    assert not out.exists()
    assert main(["count", str(tmp_path / "m.png"), "-o", str(out), *W1, "--quiet"]) == 0
    assert json.loads(out.read_text().splitlines()[0])["class"] == 1


def test_pq_per_class_lists_present_classes_with_full_names(tmp_path, capsys):
    cats = [{"id": 1, "name": "person", "isthing": 1},
            {"id": 2, "name": "grass-merged-with-dirt", "isthing": 0},
            *({"id": 10 + k, "name": f"absent{k}", "isthing": 1} for k in range(20))]
    src = panoptic(tmp_path, ["a.png"], categories=cats)
    assert main(["pq", str(src), str(src), "--per-class", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "2 grass-merged-with-dirt" in out and "1 person" in out
    assert "absent" not in out


def test_to_semantic_writes_a_category_mapping(tmp_path, capsys):
    src = panoptic(tmp_path, ["a.png"])
    out = tmp_path / "sem"
    assert main(["panoptic", "to-semantic", str(src), "-o", str(out), *W1, "--quiet",
                 "--things-as", "100"]) == 0
    doc = json.loads((out / "categories.json").read_text())
    assert doc["unlabeled"] == 255 and doc["things_as"] == 100
    assert {(c["value"], c["name"]) for c in doc["categories"]} == {(2, "grass"),
                                                                      (100, "things")}


def test_from_coco_isthing_and_empty_files(tmp_path, capsys):
    cats = [{"id": 1, "name": "cat", "isthing": 1}, {"id": 2, "name": "sky", "isthing": 0}]
    src = coco(tmp_path / "d.json", ["a.jpg"], categories=cats)
    assert main(["panoptic", "from-coco", str(src), "-o", str(tmp_path / "p.json")]) == 0
    got = json.loads((tmp_path / "p.json").read_text())["categories"]
    assert [c["isthing"] for c in got] == [1, 0]
    assert "warning" not in capsys.readouterr().err
    src = coco(tmp_path / "e.json", ["a.jpg"])
    assert main(["panoptic", "from-coco", str(src), "-o", str(tmp_path / "q.json")]) == 0
    assert "no isthing flag and are taken as things" in capsys.readouterr().err
    empty = coco(tmp_path / "empty.json", [])
    assert main(["panoptic", "from-coco", str(empty), "-o", str(tmp_path / "r.json")]) == 0
    assert "lists no images" in capsys.readouterr().err
    assert main(["coco2sem", str(empty), "-o", str(tmp_path / "s"), *W1]) == 0
    assert "lists no images" in capsys.readouterr().err
    assert main(["count", "--kind", "coco", str(empty), *W1]) == 0
    assert "lists no images" in capsys.readouterr().err


def test_audit_render_refuses_a_missing_images_folder(tmp_path, capsys):
    src = coco(tmp_path / "d.json", ["a.jpg"])
    assert main(["audit", str(src), "--render", str(tmp_path / "r"),
                 "--images", str(tmp_path / "nonexistent")]) == 1
    assert "no such folder" in one_line_error(capsys.readouterr().err, "audit")
    assert main(["audit", str(src), "--images", str(tmp_path)]) == 2
    assert "--images goes with --render" in one_line_error(capsys.readouterr().err, "audit")


def test_summaries_on_stderr_results_on_stdout_plurals(tmp_path, capsys):
    src = coco(tmp_path / "d.json", ["a.jpg"])
    assert main(["coco2sem", str(src), "-o", str(tmp_path / "sem"), *W1, "--quiet"]) == 0
    cap = capsys.readouterr()
    assert cap.out == "" and "maskkit coco2sem: 1 image, 1 object ->" in cap.err
    assert main(["panoptic", "from-coco", str(src), "-o", str(tmp_path / "p.json")]) == 0
    cap = capsys.readouterr()
    assert cap.out == "" and "1 image, 2 segments" not in cap.err and "1 image," in cap.err
    assert main(["panoptic", "check", str(tmp_path / "p.json")]) == 0
    cap = capsys.readouterr()
    assert cap.out == "" and "no problems" in cap.err
    doc = json.loads((tmp_path / "p.json").read_text())
    doc["annotations"][0]["file_name"] = "gone.png"
    (tmp_path / "p.json").write_text(json.dumps(doc))
    assert main(["panoptic", "check", str(tmp_path / "p.json")]) == 1
    cap = capsys.readouterr()
    assert "gone.png" in cap.out and "1 problem in" in cap.err and "problems" not in cap.err
    assert main(["audit", str(src)]) == 0
    cap = capsys.readouterr()
    assert "classes" in cap.out and cap.err == ""
    write_label_png(tmp_path / "m.png", np.array([[1, 0], [0, 2]], np.uint8))
    assert main(["count", str(tmp_path / "m.png"), *W1]) == 0
    cap = capsys.readouterr()
    assert "maskkit" not in cap.out and "1 image counted, 2 rows" in cap.err


def test_help_describes_and_shows_defaults(capsys):
    def help_of(*argv):
        with pytest.raises(SystemExit) as ex:
            main([*argv, "--help"])
        assert ex.value.code == 0
        return " ".join(capsys.readouterr().out.split())

    for action in ("merge", "from-coco", "to-semantic", "to-coco", "from-2ch", "check"):
        text = help_of("panoptic", action)
        head = text.split("positional arguments")[0].split("options:")[0]
        assert len(head.split(f"{action} [-h]")[-1].split(". ")[0]) > 0
        assert "usage:" in text
        assert ". " in text.split("options:")[0]  # a description, not only the usage
    text = help_of("panoptic", "merge")
    for option in ("--overlap-threshold", "--stuff-area-threshold", "--score-threshold"):
        assert option in text
    assert "(default: 0.5)" in text and "(default: 4096)" in text
    assert "-o OUT.json, --output OUT.json panoptic JSON to write" in text
    assert "base name of file_name" in text
    assert "sub-folders of file_name kept" in help_of("panoptic", "to-semantic")
    assert "sub-folders kept" in help_of("coco2sem")
    assert "--ignore-value V" in text and "(default: 255)" in text
    assert "``" not in help_of("bench", "overlap")
    for cmd in ("coco2sem", "count", "pq", "audit", "render", "rasterize", "labels2coco"):
        assert "-h, --help" in help_of(cmd)


def test_error_messages(tmp_path, capsys):
    from PIL import Image

    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "rgb.png")
    assert main(["labels2coco", str(tmp_path / "rgb.png"), "-o", str(tmp_path / "l.json"),
                 "--kind", "semantic"]) == 1
    line = one_line_error(capsys.readouterr().err, "labels2coco")
    assert "rgb.png" in line and "--kind panoptic" not in line
    np.save(tmp_path / "v.npy", np.ones((2, 3, 4), np.uint8))
    assert main(["count", str(tmp_path / "v.npy"), *W1]) == 1
    line = one_line_error(capsys.readouterr().err, "count")
    assert "v.npy: is a 3-D mask" in line and "got 8" not in line
    write_label_png(tmp_path / "m.png", np.array([[1, 0], [0, 2]], np.uint8))
    assert main(["render", str(tmp_path / "m.png"), "--image", str(tmp_path / "rgb.png"),
                 "-o", str(tmp_path / "r.png")]) == 1
    line = one_line_error(capsys.readouterr().err, "render")
    assert "m.png" in line and "rgb.png" in line and "size" in line
    (tmp_path / "class_names.txt").write_text("background\naeroplane\nbicycle\n")
    assert main(["render", str(tmp_path / "m.png"), "--categories",
                 str(tmp_path / "class_names.txt"), "-o", str(tmp_path / "r.png")]) == 0
    assert (tmp_path / "r.png").is_file()


def test_usage_errors_are_2_in_a_real_process(tmp_path):
    assert run_cli("count", "--kind", "nope", "x.png", cwd=tmp_path).returncode == 2
    proc = run_cli("count", "x.png", "--format", "csv", "-o", "c.jsonl", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
