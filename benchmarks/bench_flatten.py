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
import os
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
    benchmark.group = f"flatten 2048² × {n} polygons: {family} (coco_to_semantic)"
    impl(name)
    benchmark.extra_info["family"] = family
    benchmark.extra_info["objects"] = n
    rounds = 1 if name == "pycocotools" else 30
    out = benchmark.pedantic(fn, args=(coco,), rounds=rounds, iterations=1, warmup_rounds=0)
    agreement = float((out == reference).mean())
    benchmark.extra_info["pixel_agreement_with_pycocotools"] = agreement
    if name.startswith("maskkit"):
        assert agreement == 1.0


# ----------------------------------------------------------------------------------------
# `maskkit coco2sem` over a whole dataset, PNG writing included

N_IMAGES = int(os.environ.get("MASKKIT_BENCH_COCO2SEM_IMAGES", "5000"))  # smaller: a smoke run
IMG_H, IMG_W = 480, 640
GROUP_JOB = f"coco2sem: {N_IMAGES} images {IMG_W}×{IMG_H}, ~7 objects each, PNGs written"
GROUP_PNG = f"PNG encoding of {IMG_W}×{IMG_H} label maps"


def make_image_dataset(n_images=N_IMAGES, seed=5000) -> dict:
    """COCO instances of ``n_images`` 640×480 images with 7 objects each on average
    (Poisson), shaped like annotations: concave outlines (half), blobs, stars, a few
    needle shapes, 8–120 vertices, 20–400 px across, some partly outside."""
    rng = np.random.default_rng(seed)
    families = ["concave", "blobs", "stars", "thin_spiky"]
    images, anns = [], []
    for i in range(n_images):
        images.append({"id": i + 1, "height": IMG_H, "width": IMG_W,
                       "file_name": f"{i:06d}.jpg"})
        for _ in range(max(1, int(rng.poisson(7)))):
            family = families[rng.choice(4, p=[0.5, 0.25, 0.2, 0.05])]
            size = math.exp(rng.uniform(math.log(20), math.log(400)))
            seg = [_ring(rng, family, int(rng.integers(8, 121)), size / 2,
                         rng.uniform(0, IMG_W), rng.uniform(0, IMG_H))]
            anns.append({"id": len(anns) + 1, "image_id": i + 1,
                         "category_id": int(rng.integers(1, 81)), "iscrowd": 0,
                         "segmentation": seg})
    return {"images": images, "annotations": anns,
            "categories": [{"id": c, "name": str(c)} for c in range(1, 91)]}


@pytest.fixture(scope="module")
def instances(tmp_path_factory):
    path = tmp_path_factory.mktemp("coco2sem") / "instances.json"
    path.write_text(json.dumps(make_image_dataset()))
    return path


def _check_pngs(folder, n):
    pngs = sorted(folder.glob("*.png"))
    assert len(pngs) == n


def test_coco2sem_2_workers(benchmark, impl, instances, tmp_path, cli_server):
    out = tmp_path / "sem"
    args = ["coco2sem", instances, "-o", out, "--workers", 2, "--quiet"]
    benchmark.group = GROUP_JOB
    impl("maskkit")
    benchmark.pedantic(lambda: cli_server.run(args) == 0 or pytest.fail("coco2sem failed"),
                       rounds=3, iterations=1, warmup_rounds=1)
    _check_pngs(out, N_IMAGES)
    benchmark.extra_info["images_per_s"] = round(N_IMAGES / benchmark.stats.stats.median, 1)
    # spot check: the PNGs hold pycocotools' pixels
    from PIL import Image

    coco = json.loads(instances.read_text())
    sample = {"images": coco["images"][:20],
              "annotations": [a for a in coco["annotations"] if a["image_id"] <= 20]}
    for img in sample["images"]:
        ref = np.zeros((IMG_H, IMG_W), np.uint8)
        for ann in sample["annotations"]:
            if ann["image_id"] == img["id"]:
                from pycocotools import mask as mask_utils

                m = mask_utils.decode(mask_utils.merge(
                    mask_utils.frPyObjects(ann["segmentation"], IMG_H, IMG_W)))
                ref[m > 0] = ann["category_id"]
        got = np.asarray(Image.open(out / f"{img['id'] - 1:06d}.png"))
        np.testing.assert_array_equal(got, ref)


def test_coco2sem_annToMask_pillow_loop(benchmark, impl, instances, tmp_path):
    """The usual script: pycocotools' COCO, annToMask per annotation, Pillow per image."""
    from PIL import Image
    from pycocotools.coco import COCO

    out = tmp_path / "sem"
    out.mkdir()

    def run():
        coco = COCO(str(instances))
        for image_id, img in coco.imgs.items():
            sem = np.zeros((img["height"], img["width"]), np.uint8)
            for ann in coco.loadAnns(coco.getAnnIds(imgIds=image_id)):
                sem[coco.annToMask(ann) > 0] = ann["category_id"]
            Image.fromarray(sem).save(out / (img["file_name"][:-4] + ".png"))

    benchmark.group = GROUP_JOB
    impl("pycocotools_pillow_loop")
    benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=0)
    _check_pngs(out, N_IMAGES)
    benchmark.extra_info["images_per_s"] = round(N_IMAGES / benchmark.stats.stats.median, 1)


def _label_maps(n=200):
    coco = make_image_dataset(n, seed=7)
    index = maskkit.load_coco(coco)
    return index, [maskkit.coco_to_semantic(index, i, threads=1) for i in index.images]


@pytest.mark.parametrize("name", ["maskkit", "pillow_default", "pillow_level_1"])
def test_png_encoding(benchmark, impl, name):
    """The PNG writers on coco2sem's label maps; ``extra_info`` gives the mean file size
    and, for maskkit's writer, its share of flattening + encoding one image."""
    import io
    import time

    from PIL import Image

    from maskkit.io.png import encode_label_png

    index, maps = _label_maps()

    def pillow(level):
        def encode(a):
            buf = io.BytesIO()
            Image.fromarray(a).save(buf, format="PNG", **({} if level is None else
                                                            {"compress_level": level}))
            return buf.getvalue()
        return encode

    encode = {"maskkit": encode_label_png, "pillow_default": pillow(None),
              "pillow_level_1": pillow(1)}[name]
    benchmark.group = GROUP_PNG
    impl(name)
    data = benchmark.pedantic(lambda: [encode(a) for a in maps], rounds=10, iterations=1,
                              warmup_rounds=1)
    for a, png in zip(maps, data):  # valid PNGs with the same pixels
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png))), a)
    benchmark.extra_info["mean_bytes"] = round(float(np.mean([len(d) for d in data])))
    per_image = benchmark.stats.stats.median / len(maps)
    benchmark.extra_info["ms_per_image"] = round(1e3 * per_image, 3)
    if name == "maskkit":
        from maskkit.core.flatten import flatten_image

        t0 = time.perf_counter()
        for _ in range(3):
            for i in index.images:
                flatten_image(index, i)
        flatten = (time.perf_counter() - t0) / 3 / len(maps)
        benchmark.extra_info["flatten_ms_per_image"] = round(1e3 * flatten, 3)
        benchmark.extra_info["encode_share"] = round(per_image / (per_image + flatten), 3)
