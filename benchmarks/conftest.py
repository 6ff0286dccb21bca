"""Benchmark conventions.

Every benchmark sets ``benchmark.group`` to the case it measures and
``benchmark.extra_info["impl"]`` to who is measured (``"maskkit"`` or a peer's name), so
``benchmarks/report.py`` can compute, per case, the ratio of each peer's median to
maskkit's. Peers that are not installed are skipped. Numba kernels are warmed before any
timing.
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


@pytest.fixture
def impl(benchmark):
    """Set the implementation name: ``impl("maskkit")``."""

    def set_impl(name: str):
        benchmark.extra_info["impl"] = name

    return set_impl
