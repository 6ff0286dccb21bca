"""COCO RLE: maskkit vs pycocotools on the same masks (byte-identical results asserted).

Case: a 2048×2048 mask of ~300 random disks (encode), its compressed RLE (decode, area,
bbox), and the union of 100 object RLEs of 1024² (merge).
"""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

import maskkit

rng = np.random.default_rng(3)
H = W = 2048
yy, xx = np.ogrid[:H, :W]
MASK = np.zeros((H, W), np.uint8)
for _ in range(300):
    cy, cx, r = rng.integers(0, H), rng.integers(0, W), rng.integers(5, 60)
    MASK[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 1
MASK_F = np.asfortranarray(MASK)
RLE_REF = mask_utils.encode(MASK_F)
RLE_MK = {"size": [H, W], "counts": RLE_REF["counts"].decode()}

S = 1024
OBJECTS = []
for _ in range(100):
    m = np.zeros((S, S), np.uint8)
    y, x, h, w = rng.integers(0, S - 200), rng.integers(0, S - 200), *rng.integers(20, 200, 2)
    m[y:y + h, x:x + w] = 1
    OBJECTS.append(mask_utils.encode(np.asfortranarray(m)))
OBJECTS_MK = [{"size": o["size"], "counts": o["counts"].decode()} for o in OBJECTS]

CASES = {
    "rle encode 2048²": (lambda: maskkit.rle_encode(MASK),
                         lambda: mask_utils.encode(np.asfortranarray(MASK))),
    "rle decode 2048²": (lambda: maskkit.rle_decode(RLE_MK), lambda: mask_utils.decode(RLE_REF)),
    "rle area + bbox 2048²": (lambda: (maskkit.rle_area(RLE_MK), maskkit.rle_to_bbox(RLE_MK)),
                              lambda: (mask_utils.area(RLE_REF), mask_utils.toBbox(RLE_REF))),
    "rle merge 100 × 1024²": (lambda: maskkit.rle_merge(OBJECTS_MK),
                              lambda: mask_utils.merge(OBJECTS)),
}


def _same(case, mine, ref):
    if case.startswith("rle encode") or case.startswith("rle merge"):
        return mine["counts"].encode() == ref["counts"]
    if case.startswith("rle decode"):
        return np.array_equal(mine, ref)
    return mine[0] == ref[0] and np.array_equal(mine[1], ref[1])


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("name", ["maskkit", "pycocotools"])
def test_rle(benchmark, impl, case, name):
    mine, ref = CASES[case]
    assert _same(case, mine(), ref())
    benchmark.group = case
    impl(name)
    benchmark(mine if name == "maskkit" else ref)
