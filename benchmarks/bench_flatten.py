"""``coco_to_semantic`` on the polygons users have: shape families beside OpenCV, rasterio
and the ``annToMask`` loop (issue 19).

Every case is one 2048×2048 image whose annotations are painted in file order (later
wins) into one uint8 label map, timed from the parsed COCO dict (``json.load``'s output):
each implementation's own conversion of the coordinate lists is part of its time.

Shape families (the report states the family of every figure; blobs are one of five):

``stars_issue19``
    The case of issue 19: 500 stars of 3–40 vertices whose vertex radii vary 0.3–1.0 of a
    radius of 2–60 px, centres up to 30 px outside the image.
``stars``, ``concave``, ``thin_spiky``, ``blobs``
    300 polygons of 3–200 vertices, sizes (diameters) 2–400 px log-uniform, centres
    anywhere in the image widened by half a size (so many are partly outside):
    *stars* vertex radii 0.3–1.0 at random angles; *concave* radii following 2–4 random
    low harmonics between 0.2 and 1.0 (deep bays: outlines of people, chairs, animals);
    *thin_spiky* radii alternating between 1.0 and 0.04–0.15 (needles a few pixels wide);
    *blobs* radii 0.6–1.0 (near-convex).
``real_coco``
    The 36 polygon annotations of ``../shared/data/real/coco_val2017_instances_mmdet``
    (COCO val2017 images 139 and 255917) tiled 4×5 over the image, the last column and
    row partly outside (skipped when the file is absent; its one RLE crowd region, which
    cannot be moved, is left out).

Implementations: ``maskkit`` is ``coco_to_semantic(dataset, image_id)`` with its default
threads (every core: horizontal bands painted in parallel); ``maskkit_1_thread`` the same
with ``threads=1``; ``opencv`` a ``cv2.fillPoly`` loop (vertices rounded to integers: not
pixel-exact); ``rasterio`` one ``features.rasterize`` call (GDAL's pixel-centre rule: not
pycocotools' pixels either); ``pycocotools`` the ``annToMask`` loop
(``frPyObjects`` + ``merge`` + ``decode`` and ``out[m > 0] = value`` per annotation), whose
output maskkit must equal pixel for pixel.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import maskkit

H = W = 2048
REAL = (Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
        / "coco_val2017_instances_mmdet" / "instances_val2017.json")
FAMILIES = ("stars_issue19", "stars", "concave", "thin_spiky", "blobs", "real_coco")
IMPLS = ("maskkit", "maskkit_1_thread", "opencv", "rasterio", "pycocotools")


def _ring(rng, family, k, r, cx, cy):
    a = np.sort(rng.uniform(0, 2 * math.pi, k))
    if family in ("stars", "stars_issue19"):
        rr = rng.uniform(0.3, 1.0, k)
    elif family == "blobs":
        rr = rng.uniform(0.6, 1.0, k)
    elif family == "thin_spiky":
        a = np.linspace(0, 2 * math.pi, k, endpoint=False) + rng.uniform(0, 0.1)
        rr = np.where(np.arange(k) % 2 == 0, 1.0, rng.uniform(0.04, 0.15, k))
    else:  # concave: a few low harmonics, rescaled to 0.2 .. 1.0
        a = np.linspace(0, 2 * math.pi, k, endpoint=False)
        f = np.zeros(k)
        for m in rng.integers(2, 6, rng.integers(2, 5)):
            f += rng.uniform(0.5, 1.0) * np.cos(m * a + rng.uniform(0, 2 * math.pi))
        rr = 0.2 + 0.8 * (f - f.min()) / max(np.ptp(f), 1e-9)
    xy = np.empty(2 * k)
    xy[0::2] = np.round(cx + r * rr * np.cos(a), 2)
    xy[1::2] = np.round(cy + r * rr * np.sin(a), 2)
    return xy.tolist()


def make_dataset(family: str, seed: int = 19) -> dict:
    """The parsed COCO dict of one case (one image, id 1), as ``json.load`` gives it."""
    rng = np.random.default_rng(seed)
    segs = []
    if family == "stars_issue19":
        for _ in range(500):
            r = rng.uniform(2, 60)
            cx, cy = rng.uniform(-30, W + 30), rng.uniform(-30, H + 30)
            segs.append([_ring(rng, family, int(rng.integers(3, 41)), r, cx, cy)])
    elif family == "real_coco":
        data = json.loads(REAL.read_text())
        tiles = [a for a in data["annotations"] if isinstance(a["segmentation"], list)]
        for ty in range(5):
            for tx in range(4):
                dx, dy = tx * 560, ty * 420
                for ann in tiles:
                    parts = [[v + (dx if j % 2 == 0 else dy) for j, v in enumerate(p)]
                             for p in ann["segmentation"]]
                    segs.append((parts, ann["category_id"]))
    else:
        for _ in range(300):
            size = math.exp(rng.uniform(math.log(2), math.log(400)))
            r = size / 2
            cx, cy = rng.uniform(-r / 2, W + r / 2), rng.uniform(-r / 2, H + r / 2)
            segs.append([_ring(rng, family, int(rng.integers(3, 201)), r, cx, cy)])
    anns = []
    for i, s in enumerate(segs):
        seg, cid = s if isinstance(s, tuple) else (s, int(rng.integers(1, 81)))
        anns.append({"id": i + 1, "image_id": 1, "category_id": cid, "iscrowd": 0,
                     "segmentation": seg})
    text = json.dumps({"images": [{"id": 1, "height": H, "width": W, "file_name": "1.jpg"}],
                       "annotations": anns,
                       "categories": [{"id": c, "name": str(c)} for c in range(1, 91)]})
    return json.loads(text)  # floats and lists exactly as a parsed file holds them


def run_maskkit(coco, threads=None):
    return maskkit.coco_to_semantic(coco, 1, threads=threads)


def run_opencv(coco):
    import cv2

    out = np.zeros((H, W), np.uint8)
    for ann in coco["annotations"]:
        pts = [np.rint(np.asarray(p, np.float64).reshape(-1, 2)).astype(np.int32)
               for p in ann["segmentation"]]
        cv2.fillPoly(out, pts, int(ann["category_id"]))
    return out


def run_rasterio(coco):
    from rasterio import features

    shapes = []
    for ann in coco["annotations"]:
        rings = [np.asarray(p, np.float64).reshape(-1, 2).tolist() for p in ann["segmentation"]]
        rings = [r + r[:1] for r in rings]  # GeoJSON rings are closed
        shapes.append(({"type": "MultiPolygon", "coordinates": [[r] for r in rings]},
                       ann["category_id"]))
    return features.rasterize(shapes, out_shape=(H, W), dtype="uint8")


def run_pycocotools(coco):
    from pycocotools import mask as mask_utils

    out = np.zeros((H, W), np.uint8)
    for ann in coco["annotations"]:  # what COCO.annToMask does, object by object
        m = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(ann["segmentation"], H,
                                                                      W)))
        out[m > 0] = ann["category_id"]
    return out


_CACHE: dict = {}


def case(family):
    if family not in _CACHE:
        if family == "real_coco" and not REAL.exists():
            pytest.skip(f"{REAL} is absent")
        coco = make_dataset(family)
        _CACHE[family] = (coco, run_pycocotools(coco))
    return _CACHE[family]


@pytest.mark.parametrize("name", IMPLS)
@pytest.mark.parametrize("family", FAMILIES)
def test_flatten_family(benchmark, impl, family, name):
    if name == "opencv":
        pytest.importorskip("cv2")
    coco, reference = case(family)
    fn = {"maskkit": run_maskkit, "maskkit_1_thread": lambda c: run_maskkit(c, threads=1),
          "opencv": run_opencv, "rasterio": run_rasterio, "pycocotools": run_pycocotools}[name]
    fn(coco)  # warm up (JIT, imports)
    n = len(coco["annotations"])
    benchmark.group = f"coco_to_semantic 2048² × {n} polygons: {family}"
    impl(name)
    benchmark.extra_info["family"] = family
    benchmark.extra_info["objects"] = n
    rounds = 1 if name == "pycocotools" else 30
    out = benchmark.pedantic(fn, args=(coco,), rounds=rounds, iterations=1, warmup_rounds=0)
    agreement = float((out == reference).mean())
    benchmark.extra_info["pixel_agreement_with_pycocotools"] = agreement
    if name.startswith("maskkit"):
        assert agreement == 1.0
