"""The cost of maskkit's batch layer over a bare process pool.  The 2000-PNG count job
(640×480 semantic masks, 8-connected components per class, 2 workers) run through
``run_batch`` (as ``maskkit count`` does: the policy of :mod:`maskkit.parallel` -- chunks
sized by measured time, bounded tasks in flight, retries when a worker dies -- over the
standard library's ``ProcessPoolExecutor`` with forked workers) and through well-kept
pools doing the same work with ``map`` in chunks and nothing else: the standard library's
``ProcessPoolExecutor`` (fork) and loky's.

Each round is a whole job, pool start-up included, as a command pays it.  The
``concurrent.futures`` row's ratio is what the policy costs (or saves) over the bare
executor it runs on.  Issue 15's rule: a hand-written pool would stay only while it is at
least 1.2× faster than the best well-kept one here (maskkit's own fork pool measured
1.05×, so it gave way to ``ProcessPoolExecutor``).

Run::

    pytest benchmarks/bench_pool.py --benchmark-only --benchmark-columns=median,iqr,rounds \
        --benchmark-group-by=group
"""

from __future__ import annotations

import functools
import multiprocessing

import pytest
from bench_count import N_IMAGES, pngs  # noqa: F401  (the same 2000 masks)

GROUP = f"pool: count {N_IMAGES} PNGs 640×480, 2 workers"
WORKERS = 2
CHUNK = 32  # items per task for the bare executors' map


def _count(path):
    from maskkit.datasets.counting import count_file

    return len(count_file(path, kind="semantic", connectivity=8))


def _maskkit_pool(paths):
    from maskkit.parallel import run_batch

    rows = sum(r.value for r in run_batch(_count, paths, workers=WORKERS, progress=False))
    assert rows >= len(paths)


def _executor_job(make, paths):
    with make() as pool:
        rows = sum(pool.map(_count, paths, chunksize=CHUNK))
    assert rows >= len(paths)


def _stdlib():
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("fork"))


def _loky():
    loky = pytest.importorskip("loky")
    return loky.ProcessPoolExecutor(WORKERS)


@pytest.mark.parametrize("impl_name", ["maskkit", "concurrent.futures", "loky"])
def test_pool(benchmark, impl, pngs, impl_name):  # noqa: F811
    _, paths = pngs
    benchmark.group = GROUP
    impl(impl_name)
    _count(paths[0])  # kernels compiled (or loaded) before the workers fork
    if impl_name == "maskkit":
        run, args = _maskkit_pool, (paths,)
    else:
        make = _stdlib if impl_name == "concurrent.futures" else _loky
        run, args = functools.partial(_executor_job, make), (paths,)
    benchmark.pedantic(run, args=args, rounds=7, iterations=1, warmup_rounds=1)
    benchmark.extra_info["images_per_s"] = round(N_IMAGES / benchmark.stats.stats.median, 1)
