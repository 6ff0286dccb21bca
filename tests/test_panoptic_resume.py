"""``maskkit panoptic merge|to-semantic|from-2ch --resume``: a partial run (a subset of the
images done, a manifest line cut by a kill, one output deleted and one corrupted) finished
with ``--resume`` leaves the files of an uninterrupted run, byte for byte, without redoing
the images whose output is intact."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from maskkit.cli import main
from maskkit.io.panoptic import write_panoptic_png
from maskkit.io.png import write_label_png

N = 8


def _tree(folder: Path) -> dict[str, bytes]:
    """Every visible file under ``folder`` (manifests are hidden) -> its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")}


def _inode(path: Path) -> int:
    return path.stat().st_ino  # atomic writes rename a new file in: a redo changes it


def _interrupt(png_dir: Path, kind: str) -> tuple[Path, Path]:
    """Spoil a partial run as a kill and a bad disk would: cut the manifest's last line,
    delete one finished output and corrupt another.  Returns (deleted, corrupted)."""
    manifest = png_dir / f".{kind}_manifest.jsonl"
    text = manifest.read_bytes()
    manifest.write_bytes(text + text.splitlines(keepends=True)[-1][:17])  # a cut record
    done = sorted(png_dir.glob("*.png"))
    assert len(done) >= 3
    done[0].unlink()
    done[1].write_bytes(done[1].read_bytes()[:-9] + b"\0" * 9)
    return done[0], done[1]


def _check_resumed(ref: Path, out: Path, before: dict, spoiled) -> None:
    assert _tree(out) == _tree(ref)
    for name, inode in before.items():  # intact outputs were not redone
        assert _inode(out / name) == inode, name
    for p in spoiled:  # spoiled ones were
        assert p.read_bytes() == (ref / p.relative_to(out)).read_bytes()


# --------------------------------------------------------------------------- merge


@pytest.fixture
def merge_data(tmp_path):
    rng = np.random.default_rng(4)
    sem_dir = tmp_path / "sem"
    results, images = [], []
    for img_id in range(1, N + 1):
        sem = np.zeros((30, 40), np.uint8)
        sem[:, : int(rng.integers(5, 35))] = 100
        sem[rng.random((30, 40)) < 0.3] = 101
        write_label_png(sem_dir / f"{img_id:012d}.png", sem)
        images.append({"id": img_id, "file_name": f"{img_id:012d}.jpg"})
        for _ in range(4):
            x, y = rng.integers(0, 30), rng.integers(0, 20)
            results.append({"image_id": img_id, "category_id": int(rng.integers(1, 3)),
                            "score": float(rng.uniform(0.4, 1)),
                            "segmentation": [[float(x), float(y), x + 8.0, float(y),
                                              x + 6.0, y + 9.0, float(x), y + 7.0]]})
    (tmp_path / "res.json").write_text(json.dumps(results))
    cats = [{"id": 1, "isthing": 1}, {"id": 2, "isthing": 1}, {"id": 100, "isthing": 0},
            {"id": 101, "isthing": 0}]
    (tmp_path / "cats.json").write_text(json.dumps(cats))
    (tmp_path / "all.json").write_text(json.dumps({"images": images}))
    (tmp_path / "part.json").write_text(json.dumps({"images": images[:5]}))
    return tmp_path


def _merge(root: Path, out: Path, images: str, *extra) -> int:
    return main(["panoptic", "merge", "--semantic", str(root / "sem"), "--instances",
                 str(root / "res.json"), "--categories", str(root / "cats.json"),
                 "--images", str(root / images), "-o", str(out), "--stuff-area-threshold",
                 "10", "--quiet", *extra])


def test_merge_resume_gives_the_uninterrupted_outputs(merge_data, capsys):
    root = merge_data
    assert _merge(root, root / "ref" / "pan.json", "all.json", "--workers", "2") == 0
    out = root / "run" / "pan.json"
    assert _merge(root, out, "part.json", "--workers", "1") == 0  # killed after 5 images
    spoiled = _interrupt(root / "run" / "pan", "panoptic_merge")
    before = {p.relative_to(root / "run").as_posix(): _inode(p)
              for p in sorted((root / "run" / "pan").glob("*.png"))}
    before.pop(spoiled[1].relative_to(root / "run").as_posix())
    assert _merge(root, out, "all.json", "--workers", "2", "--resume") == 0
    _check_resumed(root / "ref", root / "run", before, spoiled)
    doc = json.loads(out.read_text())
    assert [a["image_id"] for a in doc["annotations"]] == list(range(1, N + 1))
    # a resume with other options is refused, with the fix
    capsys.readouterr()
    assert _merge(root, out, "all.json", "--workers", "1", "--resume",
                  "--score-threshold", "0.9") == 1
    assert "other options" in capsys.readouterr().err
    # without --resume everything is redone (and the manifest started over)
    assert _merge(root, out, "all.json", "--workers", "1") == 0
    assert _tree(root / "run") == _tree(root / "ref")
    assert all(_inode(root / "run" / k) != v for k, v in before.items())


# --------------------------------------------------------------------------- to-semantic


@pytest.fixture
def panoptic_gt(tmp_path):
    from naive_pq import make_pq_dataset

    gt, _ = make_pq_dataset(tmp_path, N, 30, 40, seed=2, n_things=6, n_stuff=3)
    doc = json.loads(Path(gt).read_text())
    part = {**doc, "annotations": doc["annotations"][2:6]}
    (tmp_path / "part.json").write_text(json.dumps(part))
    return tmp_path, Path(gt)


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_to_semantic_resume_gives_the_uninterrupted_outputs(panoptic_gt, engine):
    root, gt = panoptic_gt
    if engine == "dask":
        pytest.importorskip("distributed")
    batch = ["--workers", "2"] + (["--engine", "dask"] if engine == "dask" else [])
    ref, out = root / "ref", root / "run"
    assert main(["panoptic", "to-semantic", str(gt), "-o", str(ref), "--workers", "1",
                 "--quiet"]) == 0
    assert main(["panoptic", "to-semantic", str(root / "part.json"), "--png-folder",
                 str(root / "gt"), "-o", str(out), "--workers", "1", "--quiet"]) == 0
    spoiled = _interrupt(out, "panoptic_to_semantic")
    before = {p.name: _inode(p) for p in sorted(out.glob("*.png")) if p != spoiled[1]}
    assert main(["panoptic", "to-semantic", str(gt), "-o", str(out), "--quiet", "--resume",
                 *batch]) == 0
    _check_resumed(ref, out, before, spoiled)
    assert len(_tree(out)) == N + 1  # the PNGs and categories.json


# --------------------------------------------------------------------------- from-2ch


def test_from_2ch_resume_gives_the_uninterrupted_outputs(tmp_path):
    rng = np.random.default_rng(9)
    src = tmp_path / "src"
    images = []
    for i in range(1, N + 1):
        cat = rng.integers(0, 4, (20, 25))
        inst = rng.integers(0, 3, (20, 25))
        write_panoptic_png(src / f"im{i}.png", cat + 256 * inst)
        images.append({"id": i, "file_name": f"im{i}.jpg", "height": 20, "width": 25})
    (tmp_path / "all.json").write_text(json.dumps({"images": images}))
    (tmp_path / "part.json").write_text(json.dumps({"images": images[1::2]}))
    (tmp_path / "cats.json").write_text(json.dumps(
        [{"id": c, "isthing": int(c < 3)} for c in (1, 2, 3)]))

    def run(images_json, out, *extra):
        return main(["panoptic", "from-2ch", str(src), "--images", str(images_json),
                     "--categories", str(tmp_path / "cats.json"), "-o", str(out),
                     "--quiet", *extra])

    assert run(tmp_path / "all.json", tmp_path / "ref" / "p.json", "--workers", "1") == 0
    out = tmp_path / "run" / "p.json"
    assert run(tmp_path / "part.json", out, "--workers", "2") == 0
    spoiled = _interrupt(tmp_path / "run" / "p", "panoptic_from_2ch")
    before = {p.relative_to(tmp_path / "run").as_posix(): _inode(p)
              for p in sorted((tmp_path / "run" / "p").glob("*.png")) if p != spoiled[1]}
    assert run(tmp_path / "all.json", out, "--workers", "2", "--resume") == 0
    _check_resumed(tmp_path / "ref", tmp_path / "run", before, spoiled)
    # a resume of a finished run redoes nothing and changes nothing
    shutil.copytree(tmp_path / "run", tmp_path / "again")
    everything = {p.relative_to(tmp_path / "run").as_posix(): _inode(p)
                  for p in (tmp_path / "run" / "p").glob("*.png")}
    assert run(tmp_path / "all.json", out, "--workers", "1", "--resume") == 0
    assert _tree(tmp_path / "run") == _tree(tmp_path / "again")
    assert all(_inode(tmp_path / "run" / k) == v for k, v in everything.items())
