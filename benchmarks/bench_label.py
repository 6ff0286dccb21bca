"""Connected-component labelling: maskkit beside OpenCV, cc3d and scipy, in the same run.

Run (single thread everywhere: OpenCV is set to 1 thread, maskkit's serial kernels are
used, cc3d and scipy are serial)::

    pytest benchmarks/bench_label.py --benchmark-only --benchmark-columns=median,iqr,rounds \
        --benchmark-group-by=group

Compare medians inside each group.  Every benchmark checks that its result agrees with
maskkit's (same number of components, or same table), so a fast wrong answer fails.
Peers that are not installed are skipped.  The data is generated with fixed seeds.
"""

from __future__ import annotations

import numpy as np
import pytest

from maskkit.core.count import count_table
from maskkit.core.label import label, label_with_stats, region_stats

try:
    import cv2

    cv2.setNumThreads(1)
except ImportError:  # pragma: no cover - optional peer
    cv2 = None
try:
    import cc3d
except ImportError:  # pragma: no cover - optional peer
    cc3d = None
try:
    import scipy.ndimage as ndi
except ImportError:  # pragma: no cover - optional peer
    ndi = None

needs_cv2 = pytest.mark.skipif(cv2 is None, reason="opencv-python-headless not installed")
needs_cc3d = pytest.mark.skipif(cc3d is None, reason="connected-components-3d not installed")
needs_scipy = pytest.mark.skipif(ndi is None, reason="scipy not installed")

EIGHT = np.ones((3, 3), bool)


def _disks(shape, count, radius, rng, classes=None) -> np.ndarray:
    """Filled disks at random places (painted row span by row span, no OpenCV needed)."""
    h, w = shape
    mask = np.zeros(shape, np.uint8)
    ys = rng.integers(0, h, count)
    xs = rng.integers(0, w, count)
    rs = rng.integers(radius[0], radius[1] + 1, count)
    cs = np.ones(count, np.uint8) if classes is None else rng.integers(1, classes + 1, count)
    for y, x, r, c in zip(ys, xs, rs, cs, strict=True):
        for dy in range(-r, r + 1):
            row = y + dy
            if 0 <= row < h:
                half = int((r * r - dy * dy) ** 0.5)
                mask[row, max(0, x - half) : min(w, x + half + 1)] = c
    return mask


@pytest.fixture(scope="module")
def disks() -> np.ndarray:
    """4096 x 4096 binary mask of 8000 random disks of radius 5-40."""
    return _disks((4096, 4096), 8000, (5, 40), np.random.default_rng(0))


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    """2048 x 2048 mask, each pixel foreground with probability 1/2."""
    return (np.random.default_rng(1).random((2048, 2048)) < 0.5).astype(np.uint8)


@pytest.fixture(scope="module")
def semantic() -> np.ndarray:
    """4096 x 4096 semantic mask: 20 classes of overlapping disks on background 0."""
    return _disks((4096, 4096), 12000, (10, 60), np.random.default_rng(2), classes=20)


def _maskkit_n(image, binary) -> int:
    return label(image, 8, binary=binary, return_count=True)[1]


# ----------------------------------------------------------------- binary, 8-connected


@pytest.mark.parametrize("case", ["disks", "noise"])
@pytest.mark.benchmark(group="binary-8")
class TestBinary8:
    def test_maskkit(self, benchmark, case, request):
        image = request.getfixturevalue(case)
        benchmark.group = f"binary-8 {case}"
        label(image, 8, binary=True)  # compile before timing
        labels, n = benchmark(label, image, 8, binary=True, return_count=True)
        assert labels.max() == n > 0

    @needs_cv2
    def test_opencv(self, benchmark, case, request):
        image = request.getfixturevalue(case)
        benchmark.group = f"binary-8 {case}"
        n, _ = benchmark(cv2.connectedComponents, image, connectivity=8, ltype=cv2.CV_32S)
        assert n - 1 == _maskkit_n(image, True)

    @needs_cc3d
    def test_cc3d(self, benchmark, case, request):
        image = request.getfixturevalue(case)
        benchmark.group = f"binary-8 {case}"
        _, n = benchmark(cc3d.connected_components, image, connectivity=8, return_N=True)
        assert n == _maskkit_n(image, True)

    @needs_scipy
    def test_scipy(self, benchmark, case, request):
        image = request.getfixturevalue(case)
        benchmark.group = f"binary-8 {case}"
        _, n = benchmark(ndi.label, image, EIGHT)
        assert n == _maskkit_n(image, True)

    def test_skimage(self, benchmark, case, request):
        measure = pytest.importorskip("skimage.measure")
        image = request.getfixturevalue(case)
        benchmark.group = f"binary-8 {case}"
        _, n = benchmark.pedantic(measure.label, args=(image,),
                                  kwargs={"connectivity": 2, "return_num": True}, rounds=5)
        assert n == _maskkit_n(image, True)


# ------------------------------------------------------------- multilabel, 20 classes


@pytest.mark.benchmark(group="multilabel-8 semantic")
class TestMultilabel:
    def test_maskkit(self, benchmark, semantic):
        label(semantic, 8)
        labels, n = benchmark(label, semantic, 8, return_count=True)
        assert labels.max() == n > 0

    @needs_cc3d
    def test_cc3d(self, benchmark, semantic):
        _, n = benchmark(cc3d.connected_components, semantic, connectivity=8, return_N=True)
        assert n == _maskkit_n(semantic, False)

    @needs_scipy
    def test_scipy_per_class(self, benchmark, semantic):
        def per_class(mask):
            out = np.zeros(mask.shape, np.int32)
            total = 0
            for c in np.unique(mask)[1:]:
                lab, n = ndi.label(mask == c, EIGHT)
                out[lab > 0] = lab[lab > 0] + total
                total += n
            return out, total

        _, n = benchmark.pedantic(per_class, args=(semantic,), rounds=3, iterations=1)
        assert n == _maskkit_n(semantic, False)


# ----------------------------------------------------------------------- labels + stats


@pytest.mark.parametrize("case", ["disks", "noise"])
@pytest.mark.benchmark(group="labels+stats")
class TestStats:
    def test_maskkit_label_with_stats(self, benchmark, case, request):
        image = request.getfixturevalue(case)
        benchmark.group = f"labels+stats {case}"
        label_with_stats(image, 8, binary=True)
        _, stats = benchmark(label_with_stats, image, 8, binary=True)
        assert stats.area[1:].sum() == np.count_nonzero(image)

    def test_maskkit_label_then_region_stats(self, benchmark, case, request):
        image = request.getfixturevalue(case)
        benchmark.group = f"labels+stats {case}"
        region_stats(label(image, 8, binary=True))
        stats = benchmark(lambda: region_stats(label(image, 8, binary=True)))
        assert stats.area[1:].sum() == np.count_nonzero(image)

    @needs_cv2
    def test_opencv_with_stats(self, benchmark, case, request):
        image = request.getfixturevalue(case)
        benchmark.group = f"labels+stats {case}"
        n, _, stats, _ = benchmark(
            cv2.connectedComponentsWithStats, image, connectivity=8, ltype=cv2.CV_32S
        )
        assert n - 1 == _maskkit_n(image, True)
        assert stats[1:, cv2.CC_STAT_AREA].sum() == np.count_nonzero(image)


# -------------------------------------------------------------------------- counting


@pytest.mark.benchmark(group="count semantic")
class TestCount:
    def test_maskkit_count_table(self, benchmark, semantic):
        count_table(semantic, ignore=())
        table = benchmark(count_table, semantic, ignore=())
        assert sum(n for n, _ in table.values()) == _maskkit_n(semantic, False)

    @needs_cc3d
    def test_cc3d_then_bincount(self, benchmark, semantic):
        def count(mask):
            lab, n = cc3d.connected_components(mask, connectivity=8, return_N=True)
            first = np.zeros(n + 1, np.int64)
            first[lab.ravel()] = mask.ravel()
            return np.bincount(first[1:], minlength=21)

        counts = benchmark(count, semantic)
        assert counts.sum() == _maskkit_n(semantic, False)
