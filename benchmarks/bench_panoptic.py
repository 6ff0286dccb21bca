"""Panoptic benchmarks: maskkit against the straightforward NumPy implementations.

* ``pq_compute`` on generated panoptic pairs (640×480, ~30 segments each) against the
  panopticapi approach (Pillow decode, uint64 pair ids + ``np.unique``, dict rules:
  ``tests/naive_pq.py``), both single process.
* ``merge_panoptic`` of 100 instances (compressed RLE, as detectors write them) into a
  1024² map against detectron2's loop over one full-size boolean mask per instance.

Run with pytest-benchmark (peers side by side)::

    pytest benchmarks/bench_panoptic.py --benchmark-only -p no:cacheprovider

or as a script that prints the ratios::

    python benchmarks/bench_panoptic.py [N_IMAGES]

``MASKKIT_BENCH_PQ_IMAGES`` sets the number of image pairs (default 500).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from naive_pq import make_pq_dataset, naive_pq

import maskkit

N_IMAGES = int(os.environ.get("MASKKIT_BENCH_PQ_IMAGES", "500"))


# ---------------------------------------------------------------------------- data


def make_merge_case(seed=0, size=1024, n_instances=100):
    """A semantic map with 12 stuff classes and 100 RLE instances of 8 thing classes."""
    rng = np.random.default_rng(seed)
    sem = np.zeros((size, size), np.uint8)
    band = size // 12
    for k in range(12):
        sem[k * band:(k + 1) * band] = 100 + k
    yy, xx = np.mgrid[:size, :size]
    instances = []
    for _ in range(n_instances):
        cy, cx = rng.integers(0, size, 2)
        ry, rx = rng.integers(20, 150, 2)
        m = (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1).astype(np.uint8)
        rle = mask_utils.encode(np.asfortranarray(m))
        instances.append({"category_id": int(rng.integers(1, 9)), "score": float(rng.random()),
                          "segmentation": {"size": [size, size],
                                           "counts": rle["counts"].decode()}})
    return sem, instances


def naive_merge(semantic, instances, things, overlap_threshold=0.5,
                stuff_area_threshold=4096, score_threshold=0.5):
    """detectron2's combine heuristic: one full-size boolean mask per instance."""
    pan = np.zeros(semantic.shape, np.int32)
    segs = []
    nid = 0
    for inst in sorted(instances, key=lambda d: -d["score"]):
        if inst["score"] < score_threshold:
            continue
        mask = mask_utils.decode(inst["segmentation"]).astype(bool)
        area = mask.sum()
        if area == 0:
            continue
        taken = (mask & (pan > 0)).sum()
        if taken / area > overlap_threshold:
            continue
        if taken > 0:
            mask &= pan == 0
        nid += 1
        pan[mask] = nid
        segs.append((nid, inst["category_id"]))
    for label in np.unique(semantic).tolist():
        if label == 0 or label in things:
            continue
        mask = (semantic == label) & (pan == 0)
        if mask.sum() < stuff_area_threshold:
            continue
        nid += 1
        pan[mask] = nid
        segs.append((nid, label))
    return pan, segs


@pytest.fixture(scope="module")
def pq_dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pq_bench")
    gt, pred = make_pq_dataset(folder, N_IMAGES, 480, 640, seed=0)
    maskkit.pq_compute(gt, pred)  # compile kernels / warm the page cache
    return folder, gt, pred


@pytest.fixture(scope="module")
def merge_case():
    sem, inst = make_merge_case()
    maskkit.merge_panoptic(sem, inst[:2], things=set(range(1, 9)))
    return sem, inst


# ---------------------------------------------------------------------------- pytest-benchmark


@pytest.mark.benchmark(group="pq_compute")
def test_pq_maskkit(benchmark, pq_dataset):
    _, gt, pred = pq_dataset
    benchmark.pedantic(maskkit.pq_compute, args=(gt, pred), rounds=3, iterations=1)


@pytest.mark.benchmark(group="pq_compute")
def test_pq_naive_numpy(benchmark, pq_dataset):
    folder, gt, pred = pq_dataset
    benchmark.pedantic(naive_pq, args=(gt, pred, folder / "gt", folder / "pred"), rounds=1,
                       iterations=1)


@pytest.mark.benchmark(group="merge_panoptic")
def test_merge_maskkit(benchmark, merge_case):
    sem, inst = merge_case
    benchmark(maskkit.merge_panoptic, sem, inst, things=set(range(1, 9)))


@pytest.mark.benchmark(group="merge_panoptic")
def test_merge_per_instance_masks(benchmark, merge_case):
    sem, inst = merge_case
    benchmark.pedantic(naive_merge, args=(sem, inst, set(range(1, 9))), rounds=3)


def test_merge_agrees_with_per_instance_masks(merge_case):
    sem, inst = merge_case
    ids, segs = maskkit.merge_panoptic(sem, inst, things=set(range(1, 9)))
    want, wsegs = naive_merge(sem, inst, set(range(1, 9)))
    np.testing.assert_array_equal(ids, want)
    assert [(s["id"], s["category_id"]) for s in segs] == wsegs


# ---------------------------------------------------------------------------- script


def _best(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def in_memory_ratio(gt, pred, folder, n):
    """The same comparison with the PNGs already decoded: the evaluation alone."""
    import json
    from collections import defaultdict

    from naive_pq import _ids, naive_image

    from maskkit.datasets.pq import pq_image_stats
    from maskkit.io.png import read_png_rgb_fast

    g = json.loads(Path(gt).read_text())
    p = json.loads(Path(pred).read_text())
    cat_index = {c["id"]: i for i, c in enumerate(g["categories"])}
    pairs = []
    for ga, pa in list(zip(g["annotations"], p["annotations"], strict=True))[:n]:
        gf, pf = folder / "gt" / ga["file_name"], folder / "pred" / pa["file_name"]
        pairs.append((ga, pa, read_png_rgb_fast(gf), read_png_rgb_fast(pf), _ids(gf), _ids(pf)))

    def fast():
        for ga, pa, grgb, prgb, _, _ in pairs:
            pq_image_stats(ga, pa, grgb, prgb, cat_index)

    def slow():
        stats = defaultdict(lambda: [0.0, 0, 0, 0])
        for ga, pa, _, _, gids, pids in pairs:
            naive_image(ga, pa, gids, pids, stats)

    tf, ts = _best(fast, 3), _best(slow, 1)
    print(f"pq per image, PNGs already decoded ({n} pairs): maskkit "
          f"{1e3 * tf / n:.2f} ms/pair, naive NumPy {1e3 * ts / n:.2f} ms/pair: {ts / tf:.1f}x")


def main(n_images: int = N_IMAGES) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        gt, pred = make_pq_dataset(folder, n_images, 480, 640, seed=0)
        print(f"generated {n_images} pairs in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        r = maskkit.pq_compute(gt, pred)
        want = naive_pq(gt, pred, folder / "gt", folder / "pred")
        assert abs(r["All"]["pq"] - want["All"]["pq"]) < 1e-12
        fast = _best(lambda: maskkit.pq_compute(gt, pred), 3)
        slow = _best(lambda: naive_pq(gt, pred, folder / "gt", folder / "pred"), 1)
        print(f"pq_compute, {n_images} pairs 640x480: maskkit {fast:.2f} s "
              f"({1e3 * fast / n_images:.2f} ms/pair), naive NumPy {slow:.2f} s "
              f"({1e3 * slow / n_images:.2f} ms/pair): {slow / fast:.1f}x")
        in_memory_ratio(gt, pred, folder, min(n_images, 100))
    sem, inst = make_merge_case()
    things = set(range(1, 9))
    maskkit.merge_panoptic(sem, inst, things=things)
    fast = _best(lambda: maskkit.merge_panoptic(sem, inst, things=things), 5)
    slow = _best(lambda: naive_merge(sem, inst, things), 3)
    print(f"merge_panoptic, 100 instances into 1024x1024: maskkit {1e3 * fast:.1f} ms, "
          f"per-instance boolean masks {1e3 * slow:.1f} ms: {slow / fast:.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else N_IMAGES)
