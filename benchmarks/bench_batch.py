"""Batch throughput: ``maskkit count`` over 20000 small PNGs, on the local process pool
(1 and 2 workers) and on a 2-worker Dask ``LocalCluster``, on the same cores.  The jobs
(and the cluster) run in a fresh spawned interpreter, as from a shell
(``_cli_server.py`` says why not in the pytest process).

Run::

    pytest benchmarks/bench_batch.py --benchmark-only --benchmark-columns=median,iqr,rounds \
        --benchmark-group-by=group -s

Each benchmark reports its throughput (``extra_info["images_per_s"]``); the Dask one also
reports its overhead against the 2-worker process pool (``extra_info["overhead_vs_pool"]``,
target <= 0.20), measured against a pool job run before each of its rounds (interleaved,
so that the machine's speed drifting between the two benchmarks does not count), and how
long its cluster took to start (not timed: a cluster outlives one job).  Every run's exit status is checked, and after the rounds that the last one wrote
rows for every image (outside the timing), so a fast wrong run fails.
The PNGs are generated once per session with a fixed seed.
"""

from __future__ import annotations

import io
import statistics
import time

import numpy as np
import pytest

N_IMAGES = 20_000
SIZE = 32
GROUP_1 = f"batch: maskkit count, {N_IMAGES} PNGs {SIZE}², 1 worker"
GROUP_2 = f"batch: maskkit count, {N_IMAGES} PNGs {SIZE}², 2 workers"
_MEDIANS: dict[str, float] = {}


@pytest.fixture(scope="module")
def pngs(tmp_path_factory):
    from PIL import Image

    folder = tmp_path_factory.mktemp("batch") / "masks"
    rng = np.random.default_rng(2024)
    for i in range(N_IMAGES):
        sub = folder / f"{i // 1000:02d}"
        if i % 1000 == 0:
            sub.mkdir(parents=True)
        mask = np.zeros((SIZE, SIZE), np.uint8)
        for _ in range(int(rng.integers(1, 6))):  # a few rectangles of a few classes
            y, x = rng.integers(0, SIZE - 4, 2)
            h, w = rng.integers(2, 12, 2)
            mask[y : y + h, x : x + w] = rng.integers(1, 4)
        buf = io.BytesIO()
        Image.fromarray(mask).save(buf, format="PNG")
        (sub / f"{i:05d}.png").write_bytes(buf.getvalue())
    return folder


def _count(server, folder, out, *extra) -> None:
    code = server.run(["count", folder, "--kind", "semantic", "-o", out, "--quiet", *extra])
    assert code == 0


def _check_output(out) -> None:
    with open(out, "rb") as fh:
        images = {line.split(b",", 1)[0] for line in fh} - {b"image"}
    assert len(images) == N_IMAGES


def _measure(benchmark, impl, group, run, out, name="maskkit") -> float:
    benchmark.group = group
    impl(name)
    benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    _check_output(out)  # the last round's rows (outside the timing)
    median = benchmark.stats.stats.median
    benchmark.extra_info["images_per_s"] = round(N_IMAGES / median, 1)
    return median


def test_count_pool_1_worker(benchmark, impl, pngs, tmp_path, cli_server):
    out = tmp_path / "c.csv"
    median = _measure(benchmark, impl, GROUP_1,
                      lambda: _count(cli_server, pngs, out, "--workers", 1), out)
    _MEDIANS["pool1"] = median


def test_count_pool_2_workers(benchmark, impl, pngs, tmp_path, cli_server):
    out = tmp_path / "c.csv"
    median = _measure(benchmark, impl, GROUP_2,
                      lambda: _count(cli_server, pngs, out, "--workers", 2), out)
    _MEDIANS["pool2"] = median
    if "pool1" in _MEDIANS:
        benchmark.extra_info["speedup_vs_1_worker"] = round(_MEDIANS["pool1"] / median, 2)


def test_count_dask_local_cluster_2_workers(benchmark, impl, pngs, tmp_path, cli_server):
    pytest.importorskip("distributed")
    from _cli_server import CliServer

    # The cluster lives in a process of its own, as a `dask scheduler` and its workers do:
    # hosted in the CLI's process, its scheduler and nannies would share that process's
    # interpreter lock with every job, the pool's included.
    host = CliServer()
    address, startup = host.start_cluster(2)
    out = tmp_path / "c.csv"
    pool_out = tmp_path / "pool.csv"
    pool_seconds: list[float] = []

    def pool_round():
        # a 2-worker pool job before each Dask round (untimed by pytest-benchmark): the
        # overhead compares jobs run side by side in time, so that the machine's speed
        # drifting between the pool's rounds and these does not pass for Dask's cost
        t0 = time.perf_counter()
        _count(cli_server, pngs, pool_out, "--workers", 2)
        pool_seconds.append(time.perf_counter() - t0)

    benchmark.group = GROUP_2
    impl("dask")
    try:
        benchmark.pedantic(lambda: _count(cli_server, pngs, out, "--scheduler", address),
                           setup=pool_round, rounds=7, iterations=1, warmup_rounds=1)
    finally:
        host.close_cluster()
        host.stop()
    _check_output(out)
    _check_output(pool_out)
    median = benchmark.stats.stats.median
    benchmark.extra_info["images_per_s"] = round(N_IMAGES / median, 1)
    benchmark.extra_info["cluster_startup_s"] = round(startup, 2)
    pool = statistics.median(pool_seconds[-7:])  # the timed rounds' neighbours
    overhead = median / pool - 1
    benchmark.extra_info["interleaved_pool_ms"] = round(1e3 * pool, 1)
    benchmark.extra_info["overhead_vs_pool"] = round(overhead, 3)
    print(f"\nDask overhead vs the 2-worker process pool, rounds interleaved: "
          f"{100 * overhead:+.1f}% (target <= +20%); cluster start-up {startup:.1f} s, "
          "not timed")
