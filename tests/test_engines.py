"""Engines agree: a Dask cluster gives the same rows and byte-identical files as the local
process pool; inputs and outputs may be fsspec URLs (local and memory filesystems)."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import numpy as np
import pytest
from synthetic import make_coco

from maskkit.cli import main
from maskkit.errors import InvalidInputError, WorkerDiedError
from maskkit.io.png import write_label_png
from maskkit.parallel import run_batch


def _square_or_fail(x: int) -> int:
    if x == 7:
        raise InvalidInputError(f"value {x} is bad")
    return x * x


def _make_masks(root: Path, n: int = 30) -> Path:
    rng = np.random.default_rng(0)
    folder = root / "masks"
    for i in range(n):
        mask = (rng.random((12, 17)) < 0.35) * rng.integers(1, 5, (12, 17))
        write_label_png(folder / f"m{i:03d}.png", mask)
    return folder


def _make_coco(root: Path, n: int = 16) -> Path:
    return make_coco(root, n, seed=1, classes=3, height=20, width=26, per_image=3,
                     file_prefix="sub/")


def _tree(folder: Path) -> dict[str, bytes]:
    """Every visible file under ``folder`` (the resume manifest is hidden) -> its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")}


# --------------------------------------------------------------------------- Dask


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


def test_run_batch_on_dask_gives_the_pool_results(dask_scheduler):
    func = functools.partial(_square_or_fail)
    kw = {"on_error": "skip", "progress": False}
    pooled = list(run_batch(func, range(50), workers=2, **kw))
    dasked = list(run_batch(func, range(50), engine="dask", scheduler=dask_scheduler, **kw))
    summary = [sorted((r.item, r.value, type(r.error).__name__) for r in res)
               for res in (pooled, dasked)]
    assert summary[0] == summary[1]
    [bad] = [r for r in dasked if not r.ok]
    assert bad.item == 7 and "value 7 is bad" in str(bad.error)


def _die_on(x: int, *, victim: int) -> int:
    if x == victim:
        os._exit(9)  # a segfault or an OOM kill, as Dask sees it
    return x * x


def test_a_dask_worker_that_dies_loses_no_item_and_the_killer_is_named(capsys):
    # its own cluster: the deaths must not disturb the shared one
    distributed = pytest.importorskip("distributed")
    import logging

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=":0",
                                  silence_logs=logging.CRITICAL) as cluster:
        kw = {"engine": "dask", "scheduler": cluster.scheduler_address, "progress": False}
        func = functools.partial(_die_on, victim=5)
        results = list(run_batch(func, range(30), on_error="skip", **kw))
        # the cluster (which lost the scattered function with the worker) still works
        again = list(run_batch(functools.partial(_die_on, victim=-1), range(10), **kw))
    assert sorted((r.item, r.value) for r in results if r.ok) == [
        (i, i * i) for i in range(30) if i != 5]
    [bad] = [r for r in results if not r.ok]
    assert bad.item == 5 and isinstance(bad.error, WorkerDiedError)
    assert "died twice while processing this item" in str(bad.error)
    err = capsys.readouterr().err
    assert "a Dask worker died with" in err and "5: a Dask worker died again" in err
    assert sorted(r.value for r in again) == [i * i for i in range(10)]


def test_count_on_dask_gives_the_pool_rows(tmp_path, dask_scheduler):
    masks = _make_masks(tmp_path)
    out = {}
    for name, extra in [("pool", ["--workers", "2"]),
                        ("dask", ["--engine", "dask", "--scheduler", dask_scheduler])]:
        path = tmp_path / f"{name}.csv"
        assert main(["count", str(masks), "--kind", "semantic", "-o", str(path), "--quiet",
                     *extra]) == 0
        out[name] = path.read_text().splitlines()
    assert out["pool"][0] == out["dask"][0] == "image,class,count,area"
    assert sorted(out["pool"]) == sorted(out["dask"]) and len(out["pool"]) > 30


def test_coco2sem_on_dask_writes_byte_identical_files(tmp_path, dask_scheduler):
    inst = _make_coco(tmp_path)
    for name, extra in [("pool", ["--workers", "2"]),
                        ("dask", ["--scheduler", dask_scheduler])]:
        assert main(["coco2sem", str(inst), "-o", str(tmp_path / name), "--quiet",
                     *extra]) == 0
    pool, dask = _tree(tmp_path / "pool"), _tree(tmp_path / "dask")
    assert len(pool) == 16 + 2 and pool == dask


def test_count_datasets_on_dask(tmp_path, dask_scheduler):
    inst = _make_coco(tmp_path)
    rows = []
    for extra in (["--workers", "1"], ["--scheduler", dask_scheduler]):
        assert main(["count", str(inst), "--kind", "coco", "-o", str(tmp_path / "c.csv"),
                     "--quiet", *extra]) == 0
        rows.append(sorted((tmp_path / "c.csv").read_text().splitlines()))
    assert rows[0] == rows[1]


def test_dask_local_cluster_started_for_the_run(tmp_path):
    pytest.importorskip("distributed")
    masks = _make_masks(tmp_path, n=6)
    assert main(["count", str(masks), "--kind", "semantic", "-o", str(tmp_path / "a.csv"),
                 "--workers", "1", "--quiet"]) == 0
    assert main(["count", str(masks), "--kind", "semantic", "-o", str(tmp_path / "b.csv"),
                 "--engine", "dask", "--workers", "2", "--quiet"]) == 0
    assert sorted((tmp_path / "a.csv").read_text().splitlines()) == sorted(
        (tmp_path / "b.csv").read_text().splitlines())


def test_missing_dask_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_distributed(name, *args, **kwargs):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(InvalidInputError, match=r"maskkit\[dask\]"):
        run_batch(abs, [1], engine="dask")


def test_bad_engine_and_scheduler_without_dask_engine(capsys):
    with pytest.raises(InvalidInputError, match="engine must be one of"):
        run_batch(abs, [1], engine="spark")
    with pytest.raises(InvalidInputError, match="needs engine='dask'"):
        run_batch(abs, [1], scheduler="tcp://127.0.0.1:1")
    assert main(["count", "x.png", "--kind", "semantic", "--engine", "local",
                 "--scheduler", "tcp://127.0.0.1:1"]) == 1
    assert "--scheduler needs --engine dask" in capsys.readouterr().err


# --------------------------------------------------------------------------- fsspec


@pytest.fixture
def memfs():
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    root = "/maskkit-test"
    if fs.exists(root):
        fs.rm(root, recursive=True)
    yield fs, root
    if fs.exists(root):
        fs.rm(root, recursive=True)


def test_count_reads_and_writes_memory_urls(tmp_path, memfs):
    fs, root = memfs
    masks = _make_masks(tmp_path, n=8)
    for p in sorted(masks.iterdir()):
        fs.pipe(f"{root}/in/{p.name}", p.read_bytes())
    fs.pipe(f"{root}/in/.hidden.png", b"not a mask")  # skipped like a local hidden file
    assert main(["count", str(masks), "--kind", "semantic", "-o", str(tmp_path / "l.csv"),
                 "--workers", "1", "--quiet"]) == 0
    url = f"memory://{root}/out/counts.csv"
    assert main(["count", f"memory://{root}/in", "--kind", "semantic", "-o", url,
                 "--workers", "1", "--quiet"]) == 0
    local = (tmp_path / "l.csv").read_text().replace(str(masks), f"memory://{root}/in")
    assert fs.cat(f"{root}/out/counts.csv").decode() == local
    # resume over a URL output: a cut last line is redone, the rest kept
    text = fs.cat(f"{root}/out/counts.csv")
    fs.pipe(f"{root}/out/counts.csv", text[: len(text) // 2])
    assert main(["count", f"memory://{root}/in/*.png", "--kind", "semantic", "-o", url,
                 "--workers", "1", "--quiet", "--resume"]) == 0
    assert fs.cat(f"{root}/out/counts.csv").decode() == local


def test_count_errors_name_the_url(memfs, capsys):
    fs, root = memfs
    fs.pipe(f"{root}/bad.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 30)
    url = f"memory://{root}/c.jsonl"
    assert main(["count", f"memory://{root}/bad.png", "--kind", "semantic", "-o", url,
                 "--workers", "1", "--on-error", "skip"]) == 3
    assert f"memory://{root}/bad.png: not a readable PNG" in capsys.readouterr().err
    [record] = [json.loads(x) for x in fs.cat(f"{root}/c.jsonl.errors.jsonl").splitlines()]
    assert record["path"] == f"memory://{root}/bad.png"


def test_coco2sem_memory_urls_match_local(tmp_path, memfs):
    fs, root = memfs
    inst = _make_coco(tmp_path)
    fs.pipe(f"{root}/instances.json", inst.read_bytes())
    assert main(["coco2sem", str(inst), "-o", str(tmp_path / "local"), "--workers", "1",
                 "--quiet"]) == 0
    out = f"memory://{root}/sem"
    assert main(["coco2sem", f"memory://{root}/instances.json", "-o", out, "--workers", "1",
                 "--quiet"]) == 0
    remote = {p[len(f"{root}/sem/"):].lstrip("/"): fs.cat(p) for p in fs.find(f"{root}/sem")
              if not p.rsplit("/", 1)[-1].startswith(".")}
    assert remote == _tree(tmp_path / "local")
    # resume over URLs: nothing redone, same files
    assert main(["coco2sem", f"memory://{root}/instances.json", "-o", out, "--workers", "1",
                 "--resume"]) == 0


def test_file_urls_are_local_paths(tmp_path):
    pytest.importorskip("fsspec")
    masks = _make_masks(tmp_path, n=5)
    inst = _make_coco(tmp_path, n=3)
    assert main(["count", f"file://{masks}", "--kind", "semantic", "-o",
                 f"file://{tmp_path}/c.csv", "--workers", "2", "--quiet"]) == 0
    lines = (tmp_path / "c.csv").read_text().splitlines()
    assert lines[0] == "image,class,count,area"
    assert all(line.startswith(f"file://{masks}/m00") for line in lines[1:])
    assert main(["coco2sem", f"file://{inst}", "-o", f"file://{tmp_path}/sem", "--workers",
                 "2", "--quiet"]) == 0
    assert main(["coco2sem", str(inst), "-o", str(tmp_path / "sem2"), "--workers", "1",
                 "--quiet"]) == 0
    assert _tree(tmp_path / "sem") == _tree(tmp_path / "sem2")


def test_plain_paths_do_not_import_fsspec(tmp_path):
    import subprocess
    import sys

    masks = _make_masks(tmp_path, n=2)
    code = ("import sys; from maskkit.cli import main; "
            f"main(['count', {str(masks)!r}, '--kind', 'semantic', '--workers', '1', "
            "'--quiet', '-o', 'x.csv']); print('fsspec' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=True, env={**os.environ})
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- pq, panoptic


@pytest.fixture
def pq_data(tmp_path):
    from naive_pq import make_pq_dataset

    gt, pred = make_pq_dataset(tmp_path, 5, 40, 50, seed=5, n_things=8, n_stuff=4)
    return tmp_path, Path(gt), Path(pred)


def test_pq_on_dask_and_on_error_skip(pq_data, dask_scheduler, capsys):
    folder, gt, pred = pq_data
    assert main(["pq", str(gt), str(pred), "--json", str(folder / "a.json"), "--quiet"]) == 0
    assert main(["pq", str(gt), str(pred), "--json", str(folder / "b.json"), "--quiet",
                 "--scheduler", dask_scheduler]) == 0
    a, b = (json.loads((folder / n).read_text()) for n in ("a.json", "b.json"))
    assert a == b
    # one unreadable prediction: raise names it, skip leaves it out and exits 3
    doc = json.loads(pred.read_text())
    bad = doc["annotations"][2]["file_name"]
    (pred.with_suffix("") / bad).write_bytes(b"garbage")
    assert main(["pq", str(gt), str(pred), "--quiet"]) == 1
    assert bad in capsys.readouterr().err
    assert main(["pq", str(gt), str(pred), "--quiet", "--on-error", "skip", "--workers", "2",
                 "--json", str(folder / "c.json")]) == 3
    [rec] = [json.loads(x) for x in (folder / "c.json.errors.jsonl").read_text().splitlines()]
    assert bad in rec["error"]


def test_panoptic_to_semantic_on_error_skip(pq_data, capsys):
    folder, gt, _ = pq_data
    doc = json.loads(gt.read_text())
    names = [a["file_name"] for a in doc["annotations"]]
    (gt.with_suffix("") / names[1]).write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    out = folder / "sem"
    assert main(["panoptic", "to-semantic", str(gt), "-o", str(out), "--workers", "1"]) == 1
    assert main(["panoptic", "to-semantic", str(gt), "-o", str(out), "--workers", "2",
                 "--on-error", "skip", "--quiet"]) == 3
    assert sorted(p.name for p in out.glob("*.png")) == sorted(names[:1] + names[2:])
    [rec] = [json.loads(x) for x in (out / "to_semantic_errors.jsonl").read_text().splitlines()]
    assert rec["path"].endswith(names[1]) and rec["error"] == "MaskkitIOError"


class _FakeDaskTask:
    """A Dask future as DaskPool sees it: a status, a key, result() and cancel()."""

    def __init__(self, status, results=()):
        self.status, self.key, self.cancelled = status, "apply_chunk-x", False
        self._results = list(results)

    def result(self, timeout=None):
        outcome = self._results.pop(0)
        if isinstance(outcome, BaseException):
            self.status = "pending"  # its worker died: Dask computes it again
            raise outcome
        return outcome

    def cancel(self):
        self.cancelled = True


def _bare_dask_pool(tasks):
    import threading
    from concurrent.futures import Future

    from maskkit.parallel.executors import DaskPool

    pool = DaskPool.__new__(DaskPool)  # no cluster: only the mirroring is tested
    pool._lock = threading.Lock()
    pool._tasks = {}
    mirrors = []
    for task in tasks:
        mirror = Future()
        mirror.set_running_or_notify_cancel()
        pool._tasks[mirror] = task
        mirrors.append(mirror)
    return pool, mirrors


def test_a_dask_task_cancelled_without_its_callback_is_settled_by_poll():
    """Under load Dask sometimes never ran the callback of a task it cancelled (the run
    then waited for ever with idle workers): poll() settles it as lost."""
    from concurrent.futures import CancelledError

    from maskkit.parallel.executors import DaskPool

    pool, [cancelled, running] = _bare_dask_pool([_FakeDaskTask("cancelled"),
                                                  _FakeDaskTask("pending")])
    pool.poll()
    assert isinstance(cancelled.exception(timeout=0), CancelledError)
    assert DaskPool.lost(cancelled.exception(timeout=0))
    assert not running.done()  # still computing: left alone


def test_a_dask_result_lost_with_its_worker_counts_as_a_death_not_a_30_s_wait():
    from concurrent.futures import CancelledError

    task = _FakeDaskTask("finished", [TimeoutError()])
    pool, [mirror] = _bare_dask_pool([task])
    pool._settle(mirror)
    assert isinstance(mirror.exception(timeout=0), CancelledError)
    assert task.cancelled  # Dask's second computation of it is not wanted
    ok = _FakeDaskTask("finished", [(0.1, b"blob")])
    pool, [mirror] = _bare_dask_pool([ok])
    pool._settle(mirror)
    assert mirror.result(timeout=0) == (0.1, b"blob")
