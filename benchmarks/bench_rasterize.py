"""Flattening many polygons into one label map: maskkit vs pycocotools, rasterio, OpenCV.

Case ``flatten_2048_500x40``: a 2048×2048 image, 500 near-convex blobs of 40 vertices
(vertex radii 0.6–1.0 of a radius of 8–60 px; concave, spiky and real shapes are in
``bench_flatten.py``), painted in order into one uint16 label map, starting from the parsed
COCO polygon lists (each peer's own conversion is part of its time).  ``maskkit`` runs
with its default threads (every core: horizontal bands painted in parallel);
``maskkit_1_thread`` is the same call with ``threads=1``, next to the single-threaded
peers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import maskkit

H = W = 2048
N_OBJECTS = 500
N_VERTICES = 40


def make_polygons(n=N_OBJECTS, k=N_VERTICES, h=H, w=W, seed=7):
    rng = np.random.default_rng(seed)
    polys = []
    for _ in range(n):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(8, 60)
        a = np.sort(rng.uniform(0, 2 * math.pi, k))
        rr = r * rng.uniform(0.6, 1.0, k)
        xy = np.empty(2 * k)
        xy[0::2] = np.round(cx + rr * np.cos(a), 2)
        xy[1::2] = np.round(cy + rr * np.sin(a), 2)
        polys.append([xy.tolist()])
    return polys


POLYS = make_polygons()
VALUES = list(range(1, N_OBJECTS + 1))


def run_maskkit(polys=POLYS):
    out = np.zeros((H, W), np.uint16)
    return maskkit.paint_polygons(out, polys, VALUES)  # default threads: every core


def run_maskkit_1_thread(polys=POLYS):
    out = np.zeros((H, W), np.uint16)
    return maskkit.paint_polygons(out, polys, VALUES, threads=1)


def run_pycocotools(polys=POLYS):
    from pycocotools import mask as mask_utils

    out = np.zeros((H, W), np.uint16)
    for seg, v in zip(polys, VALUES):  # what COCO.annToMask does, object by object
        m = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(seg, H, W)))
        out[m > 0] = v
    return out


def run_rasterio(polys=POLYS):
    from rasterio import features

    shapes = []
    for seg, v in zip(polys, VALUES):
        rings = [np.asarray(p, dtype=np.float64).reshape(-1, 2).tolist() for p in seg]
        shapes.append(({"type": "MultiPolygon", "coordinates": [[r] for r in rings]}, v))
    return features.rasterize(shapes, out_shape=(H, W), dtype="uint16")


def run_opencv(polys=POLYS):
    import cv2

    out = np.zeros((H, W), np.uint16)
    for seg, v in zip(polys, VALUES):
        pts = [np.rint(np.asarray(p).reshape(-1, 2)).astype(np.int32) for p in seg]
        cv2.fillPoly(out, pts, int(v))
    return out


REFERENCE = None


def reference():
    global REFERENCE
    if REFERENCE is None:
        REFERENCE = run_pycocotools()
    return REFERENCE


@pytest.mark.parametrize("name", ["maskkit", "maskkit_1_thread", "pycocotools", "rasterio",
                                  "opencv"])
def test_flatten_2048_500x40(benchmark, impl, name):
    if name == "opencv":
        pytest.importorskip("cv2")
    fn = {"maskkit": run_maskkit, "maskkit_1_thread": run_maskkit_1_thread,
          "pycocotools": run_pycocotools, "rasterio": run_rasterio, "opencv": run_opencv}[name]
    fn()  # warm up (JIT, imports)
    benchmark.group = "flatten 2048² × 500 polygons (40 vertices): blobs (paint_polygons)"
    impl(name)
    rounds = 3 if name == "pycocotools" else 20
    result = benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=0)
    agreement = float((result == reference()).mean())
    benchmark.extra_info["pixel_agreement_with_pycocotools"] = agreement
    if name.startswith("maskkit"):
        assert agreement == 1.0


def test_coco_to_semantic_2048_500x40(benchmark, impl):
    """The whole public path: COCO dict → index → policies, stats → label map."""
    coco = {
        "images": [{"id": 1, "height": H, "width": W}],
        "annotations": [{"id": i + 1, "image_id": 1, "category_id": (i % 90) + 1,
                         "segmentation": s} for i, s in enumerate(POLYS)],
        "categories": [{"id": c} for c in range(1, 91)],
    }
    index = maskkit.load_coco(coco)
    maskkit.coco_to_semantic(index, 1)
    benchmark.group = "coco_to_semantic 2048² × 500 polygons: blobs"
    impl("maskkit")
    out = benchmark.pedantic(maskkit.coco_to_semantic, args=(index, 1), rounds=20)
    assert out.shape == (H, W)


MEMORY_SCRIPT = r"""
import json, sys, time
import numpy as np
import maskkit
sys.path.insert(0, sys.argv[1])
from bench_rasterize import make_polygons

def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    raise RuntimeError(field)

H = W = 4096
maskkit.coco_to_semantic({"images": [{"id": 1, "height": 8, "width": 8}],
    "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [0, 0, 2, 2]}],
    "categories": [{"id": 1}]}, 1)  # warm the JIT
text = json.dumps({
    "images": [{"id": 1, "height": H, "width": W}],
    "annotations": [{"id": i + 1, "image_id": 1, "category_id": i % 80 + 1, "segmentation": s}
                    for i, s in enumerate(make_polygons(2000, 40, H, W, seed=11))],
    "categories": [{"id": c} for c in range(1, 81)]})
before = rss("VmRSS")
coco = json.loads(text)
del text
parsed = rss("VmRSS") - before
index = maskkit.load_coco(coco)
open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM)
base = rss("VmRSS")
t0 = time.perf_counter()
labels = maskkit.coco_to_semantic(index, 1)
dt = time.perf_counter() - t0
peak = rss("VmHWM") - base
print(json.dumps({"peak_bytes": peak, "label_bytes": labels.nbytes, "json_bytes": parsed,
                  "seconds": dt}))
"""


def test_memory_4096_2000_objects(benchmark, impl):
    """Peak memory of flattening 2000 objects into 4096²: below 3× the label map."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    here = str(Path(__file__).resolve().parent)

    def run():
        proc = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, here], check=True,
                              capture_output=True, text=True)
        return json.loads(proc.stdout.strip().splitlines()[-1])

    benchmark.group = "coco_to_semantic 4096² × 2000 objects (subprocess)"
    impl("maskkit")
    res = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(res)
    benchmark.extra_info["peak_over_label_map"] = res["peak_bytes"] / res["label_bytes"]
    assert res["peak_bytes"] < 3 * res["label_bytes"] + res["json_bytes"]
