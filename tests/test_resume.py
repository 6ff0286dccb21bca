"""Kill and resume: ``maskkit count`` and ``maskkit coco2sem`` are SIGKILLed mid-run (the
whole process group, workers included); ``--resume`` finishes the job, and the outputs are
those of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from maskkit.io.png import write_label_png

REPO = Path(__file__).resolve().parent.parent


def _maskkit(*args, cwd) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, "-m", "maskkit", *map(str, args)], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def _run(*args, cwd) -> int:
    proc = _maskkit(*args, cwd=cwd)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode in (0, 3), err.decode()[-2000:]
    return proc.returncode


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 120) -> None:
    """SIGKILL the process group of ``proc`` as soon as ``ready()`` is true."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it could be killed: "
                        f"{proc.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            break
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")}


def test_count_killed_then_resumed_gives_the_uninterrupted_rows(tmp_path):
    rng = np.random.default_rng(3)
    masks = tmp_path / "masks"
    n = 1500
    for i in range(n):
        write_label_png(masks / f"{i:05d}.png",
                        (rng.random((48, 48)) < 0.3) * rng.integers(1, 6, (48, 48)))
    args = ["count", masks, "--kind", "semantic", "--workers", "2", "--quiet"]
    _run(*args, "-o", "full.csv", cwd=tmp_path)
    full = (tmp_path / "full.csv").read_text().splitlines()
    assert len(full) > 3 * n

    part = tmp_path / "part.csv"
    proc = _maskkit(*args, "-o", part, cwd=tmp_path)
    _kill_when(proc, lambda: _lines(part) > 200)
    killed_at = _lines(part)
    assert 200 < killed_at < len(full), "the kill did not fall mid-run"
    _run(*args, "-o", part, "--resume", cwd=tmp_path)
    resumed = part.read_text().splitlines()
    assert resumed[0] == full[0] == "image,class,count,area"
    assert sorted(resumed) == sorted(full)  # same rows, none twice, none lost


def _coco(path: Path, n: int) -> None:
    rng = np.random.default_rng(4)
    images, anns = [], []
    for i in range(n):
        images.append({"id": i + 1, "height": 96, "width": 128, "file_name": f"{i:04d}.jpg"})
        for _ in range(6):
            cx, cy = rng.uniform(0, 128), rng.uniform(0, 96)
            t = np.sort(rng.uniform(0, 2 * np.pi, 12))
            r = rng.uniform(5, 30, 12)
            poly = np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1).ravel()
            anns.append({"id": len(anns) + 1, "image_id": i + 1,
                         "category_id": int(rng.integers(1, 6)),
                         "segmentation": [poly.round(2).tolist()]})
    path.write_text(json.dumps({"images": images, "annotations": anns,
                                "categories": [{"id": c} for c in range(1, 6)]}))


def test_coco2sem_killed_then_resumed_gives_identical_files(tmp_path):
    n = 1500
    _coco(tmp_path / "inst.json", n)
    args = ["coco2sem", "inst.json", "--workers", "2", "--quiet", "--overlap", "area"]
    _run(*args, "-o", "full", cwd=tmp_path)
    full = _tree(tmp_path / "full")
    assert len(full) == n + 2

    manifest = tmp_path / "part" / ".coco2sem_manifest.jsonl"
    proc = _maskkit(*args, "-o", "part", cwd=tmp_path)
    _kill_when(proc, lambda: _lines(manifest) > 100)
    done = _lines(manifest) - 1
    assert 100 <= done < n, "the kill did not fall mid-run"
    assert not (tmp_path / "part" / "coco2sem_stats.csv").exists()
    # a PNG damaged after it was recorded must be redone, not trusted for existing
    first = json.loads(manifest.read_text().splitlines()[1])["png"]
    (tmp_path / "part" / first).write_bytes(b"\x89PNG damaged")
    # an existing but unrecorded PNG (a worker finished it after the kill) is redone too
    _run(*args, "-o", "part", "--resume", cwd=tmp_path)
    part = _tree(tmp_path / "part")
    assert part.keys() == full.keys()
    assert [k for k in full if part[k] != full[k]] == []


def test_coco2sem_resume_refuses_other_options(tmp_path, capsys):
    from maskkit.cli import main

    _coco(tmp_path / "inst.json", 3)
    out = tmp_path / "out"
    assert main(["coco2sem", str(tmp_path / "inst.json"), "-o", str(out), "--workers", "1",
                 "--quiet"]) == 0
    assert main(["coco2sem", str(tmp_path / "inst.json"), "-o", str(out), "--workers", "1",
                 "--quiet", "--resume"]) == 0
    assert "3 already done" in capsys.readouterr().err
    assert main(["coco2sem", str(tmp_path / "inst.json"), "-o", str(out), "--workers", "1",
                 "--overlap", "void", "--resume"]) == 1
    assert "other options" in capsys.readouterr().err


def test_panoptic_to_semantic_killed_then_resumed_gives_identical_files(tmp_path):
    sys.path.insert(0, str(REPO / "tests"))
    from naive_pq import make_pq_dataset

    n = 1500
    gt, _ = make_pq_dataset(tmp_path, n, 48, 64, seed=5, n_things=6, n_stuff=3)
    args = ["panoptic", "to-semantic", gt, "--workers", "2", "--quiet"]
    _run(*args, "-o", "full", cwd=tmp_path)
    full = _tree(tmp_path / "full")
    assert len(full) >= n

    manifest = tmp_path / "part" / ".panoptic_to_semantic_manifest.jsonl"
    proc = _maskkit(*args, "-o", "part", cwd=tmp_path)
    _kill_when(proc, lambda: _lines(manifest) > 100)
    done = _lines(manifest) - 1
    assert 100 <= done < n, "the kill did not fall mid-run"
    _run(*args, "-o", "part", "--resume", cwd=tmp_path)
    part = _tree(tmp_path / "part")
    assert part.keys() == full.keys()
    assert [k for k in full if part[k] != full[k]] == []
