"""Accuracy of the count estimators (issue 18).

``test_overlap_default_sweep``: the default `maskkit bench overlap` sweep (12 levels x 20
scenes x 50 objects at 512²), with the components' count and the ``split``,
``combined`` and ``area`` estimators of every scene.

``test_compact_objects``: compact objects of similar size packed at random, the kind of
data (cells, nuclei, coins, grains) where counting from a semantic mask should work:
every case is three seeded images (:func:`packed_scene`), counted with each
``estimate_counts`` method against the true number of objects.  The table of
``benchmarks/NOTES.md`` (issue 18) comes from::

    python benchmarks/bench_overlap.py
"""

from __future__ import annotations

import numpy as np

from maskkit.study.overlap import DEFAULT_LEVELS, overlap_benchmark

#: name -> packed_scene arguments.  Radii in px; ``spread``: size factor range (radius);
#: ``depth``: the thickest overlap of two objects (1 ~ touching); ``elong``: axis ratio.
COMPACT_CASES = {
    "nuclei, touching": dict(depth=1, noise=0.08, n=250),
    "nuclei, overlap 3 px": dict(depth=3, noise=0.08, n=250),
    "nuclei, overlap 5 px": dict(depth=5, noise=0.08, n=250),
    "nuclei, sizes 0.5-2x, overlap 2 px": dict(depth=2, noise=0.08, n=250, spread=(0.5, 2.0)),
    "coins r 16-24, touching": dict(depth=1, rmin=16, rmax=24, n=100, spread=(0.9, 1.1)),
    "rice 2.5:1, touching": dict(depth=1, elong=2.5, noise=0.03, n=200),
    "rice 1.5-3:1, overlap 3 px": dict(depth=3, elong=(1.5, 3.0), noise=0.03, n=200),
    "cells r 20-30, overlap 3 px": dict(depth=3, rmin=20, rmax=30, n=80, noise=0.1),
    "small r 3-6, overlap 2 px": dict(depth=2, rmin=3, rmax=6, n=600, noise=0.05),
    "tiny r 2-4, touching": dict(depth=1, rmin=2, rmax=4, n=800, noise=0.05),
    "small r 4-7, ragged, touching": dict(depth=1, rmin=4, rmax=7, n=500, noise=0.2),
    "large r 15-25, ragged, overlap 2 px": dict(depth=2, rmin=15, rmax=25, n=100,
                                                noise=0.25),
}
METHODS = ("components", "split", "combined", "area")


def packed_scene(*, n=120, size=400, rmin=7.0, rmax=13.0, depth=2.0, elong=1.0, noise=0.0,
                 spread=(0.7, 1.4), seed=0, attempts=40):
    """Up to ``n`` ellipses placed at random in a ``size`` square, later ones on top; a
    placement is kept only when its shared pixels with every earlier object are at most
    ``depth`` px thick (twice their inscribed radius; ``depth`` 1 is touching).  Radii
    ``(rmin + rmax) / 2`` times a factor drawn from ``spread``, axis ratio ``elong`` (or
    drawn from a range), outline radius wobbled by ``noise`` (a few random harmonics).
    Returns ``(semantic uint8 mask, number of objects)``."""
    from scipy.ndimage import distance_transform_edt

    rng = np.random.default_rng(seed)
    r0 = (rmin + rmax) / 2
    inst = np.zeros((size, size), np.int32)
    k = 0
    for _ in range(attempts * n):
        if k == n:
            break
        r = r0 * rng.uniform(*spread)
        e = elong if np.isscalar(elong) else rng.uniform(*elong)
        a, b = r * e ** 0.5, r / e ** 0.5
        c = rng.uniform(a + 1, size - a - 1, 2)
        th = rng.uniform(0, np.pi)
        y0, y1 = int(max(0, c[1] - a - 2)), int(min(size, c[1] + a + 3))
        x0, x1 = int(max(0, c[0] - a - 2)), int(min(size, c[0] + a + 3))
        yy, xx = np.mgrid[y0:y1, x0:x1]
        u = (xx - c[0]) * np.cos(th) + (yy - c[1]) * np.sin(th)
        v = -(xx - c[0]) * np.sin(th) + (yy - c[1]) * np.cos(th)
        rho = (u / a) ** 2 + (v / b) ** 2
        if noise:
            ang = np.arctan2(v / b, u / a)
            kk = rng.integers(3, 8)
            ph = rng.uniform(0, 2 * np.pi, 3)
            wob = 1 + noise * (0.5 * np.sin(kk * ang + ph[0]) + 0.3 * np.sin((kk + 2) * ang + ph[1])
                               + 0.2 * np.sin(2 * ang + ph[2]))
            rho = rho / wob ** 2
        m = rho < 1
        win = inst[y0:y1, x0:x1]
        under = np.unique(win[m])
        if any(depth <= 0 or 2 * distance_transform_edt(np.pad(m & (win == j), 1)).max() > depth
               for j in under[under > 0]):
            continue
        k += 1
        win[m] = k
    return (inst > 0).astype(np.uint8), k


def compact_accuracy(seeds=(0, 1, 2)) -> dict:
    """``{case: {"objects": n, method: (abs % error, signed % error)}}`` over the seeds."""
    from maskkit.core.split import estimate_counts

    out = {}
    for name, kw in COMPACT_CASES.items():
        true = 0
        err = dict.fromkeys(METHODS, 0)
        signed = dict.fromkeys(METHODS, 0)
        for seed in seeds:
            mask, n = packed_scene(seed=seed, **kw)
            true += n
            for m in METHODS:
                got = estimate_counts(mask, method=m)[1]["estimate"]
                err[m] += abs(got - n)
                signed[m] += got - n
        out[name] = {"objects": true, **{m: (100 * err[m] / true, 100 * signed[m] / true)
                                         for m in METHODS}}
    return out


def compact_table(result: dict) -> str:
    lines = ["| case | objects | " + " | ".join(f"{m} abs % err (signed)" for m in METHODS)
             + " |", "|---|---:|" + "---:|" * len(METHODS)]
    for name, row in result.items():
        lines.append(f"| {name} | {row['objects']} | " + " | ".join(
            f"{row[m][0]:.1f} ({row[m][1]:+.1f})" for m in METHODS) + " |")
    return "\n".join(lines)


def test_overlap_default_sweep(benchmark, impl):
    benchmark.group = "overlap sweep: 12 levels x 20 scenes x 50 objects, 512², 2 workers"
    impl("maskkit")
    overlap_benchmark(levels=(2.0, -4.0), repeats=2, objects=10, size=128,
                      radius=(4.0, 10.0), workers=1)  # warm the kernels
    result = benchmark.pedantic(overlap_benchmark, kwargs={"levels": DEFAULT_LEVELS,
                                                           "workers": 2},
                                rounds=1, iterations=1)
    assert len(result.levels) == len(DEFAULT_LEVELS)
    touching = next(lv for lv in result.levels if lv["gap"] == 0.0)
    benchmark.extra_info["split_abs_pct_error_at_touching"] = touching["split"]["abs_pct_error"]
    benchmark.extra_info["split_iou_at_touching"] = round(touching["split"]["mean_iou"], 4)


def test_compact_objects(benchmark, impl):
    benchmark.group = "count accuracy, compact objects of similar size (12 cases x 3 images)"
    impl("maskkit")
    result = benchmark.pedantic(compact_accuracy, rounds=1, iterations=1)
    for name, row in result.items():
        benchmark.extra_info[name] = {m: round(row[m][0], 2) for m in METHODS}


if __name__ == "__main__":
    print(compact_table(compact_accuracy()))
