"""Splitting touching objects (issue 18): ``maskkit.split_touching`` against the
scikit-image pipeline a user would write, and the cost of ``estimate_counts``.

Run::

    pytest benchmarks/bench_split.py --benchmark-only --benchmark-columns=median,iqr,rounds \
        --benchmark-group-by=group

Case ``split 2048² touching objects``: one semantic mask of 2048×2048 holding 1500 objects
(``make_scene(1500, 1, gap=0, height=2048, radius=(8, 24), seed=0)``: disks, ellipses and
star shapes in same-class groups whose members touch in pixels; 23 % of the pixels are
foreground).  ``maskkit``: ``split_touching(mask)`` (single-threaded: it has no threads).
``skimage``: the recipe of scikit-image's watershed example with an exact EDT, as a user
would write it: the ``edt`` package's multilabel EDT (single thread; scipy's when ``edt``
is absent), ``skimage.measure.label``, ``peak_local_max(min_distance=5, labels=...)`` and
``watershed(-distance, markers, mask=...)``.  Target: maskkit >= 5× faster.  Both results
are checked against the truth (object counts, mean matched IoU) outside the timing.

Case ``split peak memory``: ``maskkit`` runs ``split_touching`` once in a fresh spawned
process and records how much its peak resident memory (Linux ``VmHWM``, reset just
before the call) grew during the call (``extra_info``), against the int32 label map it
returns (the label map included).  Target: <= 3× the label map.

Case ``estimate area vs count``: ``estimate_counts(mask, method="area")`` (``maskkit``)
against plain ``count_objects(mask)`` (``count``) on the same mask.  Target: within 1.5×.
"""

from __future__ import annotations

import numpy as np
import pytest

GROUP_SPLIT = "split 2048² touching objects (1500)"
GROUP_MEMORY = "split peak memory, 2048²"
GROUP_AREA = "estimate area vs count, 2048²"


@pytest.fixture(scope="module")
def scene():
    from maskkit.core.split import split_touching
    from maskkit.study.synth import make_scene

    s = make_scene(1500, 1, gap=0.0, height=2048, radius=(8.0, 24.0), seed=0)
    sem = s.semantic_map()
    split_touching(sem[:64, :64])  # compile (or load) the kernels
    return sem, s.instance_map()


def _skimage_split(mask):
    from skimage.feature import peak_local_max
    from skimage.measure import label
    from skimage.segmentation import watershed

    try:
        import edt

        dist = edt.edt(mask, black_border=False, parallel=1)
    except ImportError:
        from scipy.ndimage import distance_transform_edt

        dist = distance_transform_edt(mask > 0)
    comps = label(mask > 0, connectivity=2)
    peaks = peak_local_max(dist, min_distance=5, labels=comps, exclude_border=False)
    markers = np.zeros(mask.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    return watershed(-dist, markers, mask=mask > 0)


def _accuracy(benchmark, labels, instances):
    from maskkit.study.overlap import matched_iou

    benchmark.extra_info["objects"] = int(np.unique(labels).size - 1)
    benchmark.extra_info["true_objects"] = int(np.unique(instances).size - 1)
    benchmark.extra_info["mean_matched_iou"] = round(matched_iou(labels, instances), 4)


def test_split_maskkit(benchmark, impl, scene):
    from maskkit.core.split import split_touching

    benchmark.group = GROUP_SPLIT
    impl("maskkit")
    sem, inst = scene
    labels = benchmark.pedantic(split_touching, args=(sem,), rounds=15, iterations=1,
                                warmup_rounds=1)
    _accuracy(benchmark, labels, inst)
    assert abs(int(labels.max()) - 1500) <= 15


def test_split_skimage(benchmark, impl, scene):
    pytest.importorskip("skimage")
    benchmark.group = GROUP_SPLIT
    impl("skimage")
    sem, inst = scene
    labels = benchmark.pedantic(_skimage_split, args=(sem,), rounds=7, iterations=1,
                                warmup_rounds=1)
    _accuracy(benchmark, labels, inst)


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _peak_growth(path: str) -> tuple[float, float]:
    """In a fresh process: (peak RSS growth of one split_touching call, label map) in MB.

    The kernel's peak-RSS mark is reset (``/proc/self/clear_refs``) just before the call,
    so the growth is the call's own, whatever the imports and the compiler used before.
    """
    from maskkit.core.split import split_touching

    sem = np.load(path)
    split_touching(sem[:64, :64])
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset VmHWM to the current RSS
    before = _status_kb("VmRSS")
    labels = split_touching(sem)
    peak = _status_kb("VmHWM")
    return (peak - before) / 1024, labels.nbytes / 2**20


def test_split_peak_memory(benchmark, impl, scene, tmp_path):
    import multiprocessing as mp

    benchmark.group = GROUP_MEMORY
    impl("maskkit")
    path = tmp_path / "sem.npy"
    np.save(path, scene[0])
    with mp.get_context("spawn").Pool(1) as pool:
        growth, label_map = benchmark.pedantic(pool.apply, args=(_peak_growth, (str(path),)),
                                               rounds=1, iterations=1)
    benchmark.extra_info["peak_growth_mb"] = round(growth, 1)
    benchmark.extra_info["label_map_mb"] = round(label_map, 1)
    benchmark.extra_info["ratio"] = round(growth / label_map, 2)
    assert 0 < growth <= 3 * label_map


def test_estimate_area(benchmark, impl, scene):
    from maskkit.core.split import estimate_counts

    benchmark.group = GROUP_AREA
    impl("maskkit")
    estimate_counts(scene[0][:64, :64], method="area")
    est = benchmark.pedantic(estimate_counts, args=(scene[0],), kwargs={"method": "area"},
                             rounds=15, iterations=1, warmup_rounds=1)
    benchmark.extra_info["estimate"] = est[1]["estimate"]


def test_count_objects(benchmark, impl, scene):
    from maskkit.core.count import count_objects

    benchmark.group = GROUP_AREA
    impl("count")
    count_objects(scene[0][:64, :64])
    benchmark.pedantic(count_objects, args=(scene[0],), rounds=15, iterations=1,
                       warmup_rounds=1)


GROUP_COMBINED = "estimate combined vs split, 2048²"


@pytest.mark.parametrize("method", ["split", "combined"])
def test_estimate_combined_vs_split(benchmark, impl, scene, method):
    """What the combined method's corrections (area and disk cover) cost beside the split
    count on the same mask (both run three floods for the low-high range)."""
    from maskkit.core.split import estimate_counts

    benchmark.group = GROUP_COMBINED
    impl(f"estimate_counts({method!r})")
    estimate_counts(scene[0][:64, :64], method=method)
    est = benchmark.pedantic(estimate_counts, args=(scene[0],), kwargs={"method": method},
                             rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info["estimate"] = est[1]["estimate"]
