"""Before/after timing of ``maskkit count`` jobs from two checkouts, rounds interleaved.

Two servers, one per checkout (``PYTHONPATH``), each a fresh interpreter that runs
``maskkit.cli.main(args)`` on request and reports the job's wall time, its own CPU time
(the parent: the batch layer's bookkeeping, writing rows) and its reaped workers' CPU
time; the rounds alternate between the two checkouts, so that the machine's speed drifting
(other jobs on a shared machine) hits both alike.  For a Dask job each checkout gets its
own 2-worker ``LocalCluster``, hosted in a third interpreter as in ``bench_batch.py``.

The masks are generated once into ``$MASKKIT_COMPARE_DATA`` (default
``/tmp/maskkit-compare``) with the seeds of ``bench_count.py`` (2000 PNGs 640×480) and
``bench_batch.py`` (20000 PNGs 32²).

Run::

    git worktree add /tmp/before <commit>    # or any other copy of the old code
    python benchmarks/compare_checkouts.py /tmp/before . 10 w2_640 w1_640 w2_32 w1_32 dask_32

Jobs: ``w2_640``/``w1_640``: 2000 PNGs 640×480 with 2/1 workers; ``w2_32``/``w1_32``:
20000 PNGs 32² with 2/1 workers; ``dask_32``: 20000 PNGs 32² on the Dask cluster.
"""
from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(os.environ.get("MASKKIT_COMPARE_DATA", "/tmp/maskkit-compare"))

# the server, run by each checkout's interpreter: ["cli", args] -> [exit status, wall s,
# own CPU s, reaped workers' CPU s]; ["cluster", n] -> a LocalCluster's address
SERVER = r"""
import json, logging, multiprocessing, resource, sys, time
from maskkit.cli import main

def children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

cluster = None
for line in sys.stdin:
    cmd, arg = json.loads(line)
    if cmd == "cli":
        k0 = children()
        t0, c0 = time.perf_counter(), time.process_time()
        code = main(arg)
        t, c = time.perf_counter() - t0, time.process_time() - c0
        deadline = time.time() + 10
        while multiprocessing.active_children() and time.time() < deadline:
            time.sleep(0.002)  # reap this job's workers: their CPU counts for this job
        print(json.dumps([code, t, c, children() - k0]), flush=True)
    elif cmd == "cluster":
        import distributed
        cluster = distributed.LocalCluster(n_workers=arg, threads_per_worker=1, processes=True,
            host="127.0.0.1", dashboard_address=":0", silence_logs=logging.ERROR)
        print(json.dumps(cluster.scheduler_address), flush=True)
if cluster is not None:
    cluster.close()
"""


def make_data():
    from PIL import Image
    d640 = DATA / "640"
    if not d640.exists():
        d640.mkdir(parents=True)
        H, W = 480, 640
        rng = np.random.default_rng(640)
        yy, xx = np.mgrid[:H, :W]
        for i in range(2000):
            mask = np.zeros((H, W), np.uint8)
            for _ in range(int(rng.integers(5, 31))):
                cy, cx, r = rng.integers(0, H), rng.integers(0, W), rng.integers(5, 61)
                y0, y1, x0, x1 = max(cy - r, 0), min(cy + r, H), max(cx - r, 0), min(cx + r, W)
                inside = (yy[y0:y1, x0:x1] - cy) ** 2 + (xx[y0:y1, x0:x1] - cx) ** 2 < r * r
                mask[y0:y1, x0:x1][inside] = rng.integers(1, 8)
            Image.fromarray(mask).save(d640 / f"{i:04d}.png")
    d32 = DATA / "32"
    if not d32.exists():
        rng = np.random.default_rng(2024)
        for i in range(20000):
            sub = d32 / f"{i // 1000:02d}"
            if i % 1000 == 0:
                sub.mkdir(parents=True)
            mask = np.zeros((32, 32), np.uint8)
            for _ in range(int(rng.integers(1, 6))):
                y, x = rng.integers(0, 28, 2)
                h, w = rng.integers(2, 12, 2)
                mask[y: y + h, x: x + w] = rng.integers(1, 4)
            buf = io.BytesIO()
            Image.fromarray(mask).save(buf, format="PNG")
            (sub / f"{i:05d}.png").write_bytes(buf.getvalue())


class Server:
    """A fresh interpreter importing maskkit from ``root``."""

    def __init__(self, root):
        env = {**os.environ, "PYTHONPATH": os.path.abspath(root)}
        self.p = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, env=env, cwd=DATA)

    def ask(self, cmd, arg):
        self.p.stdin.write(json.dumps([cmd, arg]) + "\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())

    def stop(self):
        self.p.stdin.close()
        self.p.wait(60)


JOBS = {  # name -> (folder, CLI options (None: the Dask cluster), images)
    "w2_640": ("640", ["--workers", "2"], 2000),
    "w1_640": ("640", ["--workers", "1"], 2000),
    "w2_32": ("32", ["--workers", "2"], 20000),
    "w1_32": ("32", ["--workers", "1"], 20000),
    "dask_32": ("32", None, 20000),
}


def main():
    before, after, rounds, *jobs = sys.argv[1:]
    rounds = int(rounds)
    make_data()
    sides = {"before": Server(before), "after": Server(after)}
    hosts = {}
    if "dask_32" in jobs:
        for side, root in (("before", before), ("after", after)):
            hosts[side] = Server(root)
            hosts[side].address = hosts[side].ask("cluster", 2)
    out = str(DATA / "out.csv")
    wall, cpu, kids = ({(j, s): [] for j in jobs for s in sides} for _ in range(3))

    def run(job, side, record=True):
        folder, extra, n = JOBS[job]
        if extra is None:
            extra = ["--scheduler", hosts[side].address]
        code, t, c, k = sides[side].ask("cli", ["count", str(DATA / folder), "--kind",
                                                "semantic", "-o", out, "--quiet", *extra])
        assert code == 0, (job, side, code)
        with open(out, "rb") as fh:
            assert len({line.split(b",", 1)[0] for line in fh} - {b"image"}) == n
        if record:
            wall[job, side].append(t)
            cpu[job, side].append(c)
            kids[job, side].append(k)

    for job in jobs:  # a warm-up round each
        for side in sides:
            run(job, side, record=False)
    for r in range(rounds):
        for job in jobs:
            for side in (("before", "after") if r % 2 == 0 else ("after", "before")):
                run(job, side)
    for server in [*sides.values(), *hosts.values()]:
        server.stop()
    med = statistics.median
    for job in jobs:
        b, a = wall[job, "before"], wall[job, "after"]
        print(f"{job:8s} wall ms median/min: before {1e3 * med(b):.0f}/{1e3 * min(b):.0f} "
              f"after {1e3 * med(a):.0f}/{1e3 * min(a):.0f} (after/before {med(a) / med(b):.3f}"
              f"/{min(a) / min(b):.3f}); parent CPU ms: before {1e3 * med(cpu[job, 'before']):.0f}"
              f" after {1e3 * med(cpu[job, 'after']):.0f}; workers CPU ms: before "
              f"{1e3 * med(kids[job, 'before']):.0f} after {1e3 * med(kids[job, 'after']):.0f}",
              flush=True)
    DATA.mkdir(parents=True, exist_ok=True)
    with open(DATA / f"compare-{int(time.time())}.json", "w") as fh:
        json.dump({f"{j}/{s}": {"wall": wall[j, s], "cpu": cpu[j, s], "workers_cpu": kids[j, s]}
                   for j in jobs for s in sides}, fh)
    print(f"per-round times: {fh.name}")


if __name__ == "__main__":
    main()
