"""The default `maskkit bench overlap` sweep (12 levels x 20 scenes x 50 objects at 512²),
with the components' count and the ``split`` and ``area`` estimators of every scene."""

from __future__ import annotations

from maskkit.study.overlap import DEFAULT_LEVELS, overlap_benchmark


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
