"""Benchmark conventions.

Every benchmark sets ``benchmark.group`` to the case it measures and
``benchmark.extra_info["impl"]`` to who is measured (``"maskkit"`` or a peer's name), so
``benchmarks/report.py`` can compute, per case, the ratio of each peer's median to
maskkit's. Peers that are not installed are skipped. Numba kernels are warmed before any
timing.

Memory is warmed too: on a fresh virtual machine the first touch of each page of guest
memory costs a trip to the host (measured here: 7.5 s for the first 3 GB, 0.5 s for the
same 3 GB again), so the first rounds that allocate large outputs (a 10000² label map is
200 MB) ran 2-3x slower than later ones, whichever implementation they belonged to.  One
pass over ``MASKKIT_BENCH_WARM_GB`` GB (default 4; 0 to skip) before the first benchmark
takes that cost out of every timing.
"""

from __future__ import annotations

import os

import pytest


def pytest_configure(config):
    # single-threaded peers: the comparisons are per core
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        pass


@pytest.fixture(scope="session", autouse=True)
def _warm_memory():
    import numpy as np

    size = int(float(os.environ.get("MASKKIT_BENCH_WARM_GB", "4")) * (1 << 30))
    if size > 0:
        block = np.ones(size, np.uint8)  # every page written once
        del block


@pytest.fixture
def impl(benchmark):
    """Set the implementation name: ``impl("maskkit")``."""

    def set_impl(name: str):
        benchmark.extra_info["impl"] = name

    return set_impl


@pytest.fixture(scope="module")
def cli_server():
    """CLI jobs in a fresh spawned interpreter (see ``_cli_server``)."""
    from _cli_server import CliServer

    server = CliServer()
    yield server
    server.stop()

