"""Format conversion: COCO -> YOLO segmentation and YOLO segmentation -> COCO over many
small images, maskkit (``maskkit.convert``) vs supervision's ``DetectionDataset`` round
trip (``from_coco(..., force_masks=True).as_yolo(...)`` and ``from_yolo(...).as_coco(...)``),
both in this process, single-threaded, labels only (no image copies).

Run::

    pytest benchmarks/bench_convert.py --benchmark-only --benchmark-columns=median,iqr,rounds \
        --benchmark-group-by=group -s

``MASKKIT_BENCH_CONVERT_N`` sets the number of images (default 10000),
``MASKKIT_BENCH_CONVERT_SIZES`` their sizes (default ``64x48,320x240``: every case runs
at both).  Each dataset is generated once (seeded): 1-13 objects an image (mean 7: COCO
has 7.3 an image), polygons of 4-24 vertices (mean 14, as the COCO val2017 sample in
``shared/data/real``), one in five objects in two parts, objects scaled with the image.
(Round one of issue 20 used 1-6 objects of 4-12 vertices:
``MASKKIT_BENCH_CONVERT_OBJECTS=6 MASKKIT_BENCH_CONVERT_VERTICES=12``.)  The images are
smaller than COCO's because supervision holds a full-image mask of every object of every
image in memory (``force_masks=True``): 10,000 images of 640×480 would need ~20 GB, of
320×240 ~5 GB; its time grows with the pixels, maskkit's does not, so 64×48 is the case
least favourable to maskkit.  Every run's output is checked after the rounds (object
count, class ids) so a fast wrong run fails.  ``file_creation_floor`` times plain Python
writing the same label files: on an ext4 file system without a journal, creating files
is up to ten times slower for minutes after many files were deleted (pytest's clean-up
of its old temporary folders at start-up included: see benchmarks/NOTES.md, issue 20,
round four), which every converter pays; read the ratios with that row.

Cityscapes (``-k cityscapes``): ``MASKKIT_BENCH_CITY_N`` (default 100) generated
2048×1024 ``*_gtFine_polygons.json`` files of two scenes, each against cityscapesscripts'
``json2labelImg`` (labelIds PNGs): ``blobs`` (round one's: 102 polygons at random places)
and ``street`` (a gtFine-like street: sky, buildings, trees, road and sidewalks covering
the frame, then 60-90 objects on top; integer vertices; indented JSON with every field, as
cityscapesscripts writes gtFine files).
"""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest

N_IMAGES = int(os.environ.get("MASKKIT_BENCH_CONVERT_N", "10000"))
MAX_OBJECTS = int(os.environ.get("MASKKIT_BENCH_CONVERT_OBJECTS", "13"))
MAX_VERTICES = int(os.environ.get("MASKKIT_BENCH_CONVERT_VERTICES", "24"))
#: image sizes (WxH, comma-separated): 64x48, where supervision's full-image masks cost
#: it least, and 320x240 (a quarter of COCO's typical 640x480 on each side: its masks
#: of 10,000 images then take ~5 GB)
SIZES = [tuple(int(v) for v in s.split("x")) for s in
         os.environ.get("MASKKIT_BENCH_CONVERT_SIZES", "64x48,320x240").split(",")]


def _groups(ds) -> tuple[str, str]:
    w, h = ds["size"]
    return (f"convert: COCO -> YOLO-seg, {N_IMAGES} images {w}x{h}",
            f"convert: YOLO-seg -> COCO, {N_IMAGES} images {w}x{h}")


def _poly(rng, cx, cy, r, W, H):
    n = int(rng.integers(4, MAX_VERTICES + 1))
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    rad = rng.uniform(r / 2, r, n)
    xy = np.stack([cx + rad * np.cos(t), cy + rad * np.sin(t)], 1)
    return np.round(np.clip(xy, 0, [W, H]), 2).ravel().tolist()


@pytest.fixture(scope="module", params=SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def dataset(tmp_path_factory, request):
    from PIL import Image

    W, H = request.param
    scale = W / 64  # objects keep their share of the image
    root = tmp_path_factory.mktemp("convert")
    images = root / "images"
    images.mkdir()
    buf = io.BytesIO()
    Image.new("RGB", (W, H)).save(buf, format="PNG")
    png = buf.getvalue()
    rng = np.random.default_rng(7)
    imgs, anns = [], []
    for i in range(N_IMAGES):
        name = f"{i:05d}.png"
        (images / name).write_bytes(png)
        imgs.append({"id": i + 1, "file_name": name, "height": H, "width": W})
        for _ in range(int(rng.integers(1, MAX_OBJECTS + 1))):
            cx, cy = rng.uniform(8, W - 8), rng.uniform(8, H - 8)
            seg = [_poly(rng, cx, cy, 7 * scale, W, H)]
            if rng.random() < 0.2:
                seg.append(_poly(rng, (cx + 30 * scale) % W, cy, 5 * scale, W, H))
            anns.append({"id": len(anns) + 1, "image_id": i + 1,
                         "category_id": int(rng.integers(1, 4)), "segmentation": seg,
                         "iscrowd": 0, "area": 1.0, "bbox": [0, 0, 1, 1]})
    cats = [{"id": k, "name": n, "supercategory": ""} for k, n in
            enumerate(["cat", "dog", "bird"], start=1)]
    coco = root / "instances.json"
    coco.write_text(json.dumps({"images": imgs, "annotations": anns, "categories": cats}))
    # the YOLO source for the other direction, written once by maskkit
    import maskkit

    yolo = root / "yolo"
    maskkit.convert(coco, yolo, to="yolo", images=images, workers=1, progress=False,
                    check=False)
    return {"root": root, "coco": coco, "images": images, "yolo": yolo,
            "objects": len(anns), "size": (W, H)}


def _yolo_objects(folder) -> int:
    return sum(len(p.read_text().splitlines()) for p in folder.rglob("*.txt"))


def _rounds(benchmark, fn, tmp_path, suffix=""):
    """Each round writes a new output (files created, as in a first conversion: writing
    over the last round's files would be cheaper for whoever overwrites in place), and
    starts with nothing left to write back: ``os.sync()`` before it, so no round (and no
    implementation) pays for the files the dataset fixture or an earlier round wrote
    (without it, the first implementation timed after the fixture's 20,000 files ran
    during their write-back)."""
    count = iter(range(1000))

    def setup():
        os.sync()
        return (tmp_path / f"out{next(count)}{suffix}",), {}

    benchmark.pedantic(fn, setup=setup, rounds=3, iterations=1, warmup_rounds=1)
    return tmp_path / f"out{next(count) - 1}{suffix}"


@pytest.mark.parametrize("workers", [1, 2])
def test_coco_to_yolo_maskkit(benchmark, impl, dataset, tmp_path, workers):
    import maskkit

    benchmark.group = _groups(dataset)[0]
    impl("maskkit" if workers == 1 else "maskkit_2_workers")
    out = _rounds(benchmark, lambda o: maskkit.convert(dataset["coco"], o, to="yolo",
                                                       workers=workers, progress=False),
                  tmp_path)
    assert _yolo_objects(out / "labels") == dataset["objects"]


def test_coco_to_yolo_supervision(benchmark, impl, dataset, tmp_path):
    sv = pytest.importorskip("supervision")
    benchmark.group = _groups(dataset)[0]
    impl("supervision")

    def run(out):
        ds = sv.DetectionDataset.from_coco(str(dataset["images"]), str(dataset["coco"]),
                                           force_masks=True)
        ds.as_yolo(annotations_directory_path=str(out / "labels"),
                   data_yaml_path=str(out / "data.yaml"))

    out = _rounds(benchmark, run, tmp_path)
    assert _yolo_objects(out / "labels") >= dataset["objects"] * 0.95


def test_coco_to_yolo_file_floor(benchmark, impl, dataset, tmp_path):
    """Not a converter: writing the same label files with plain Python, to show how much
    of every converter's time is creating 10000 small files on this disk."""
    contents = {p.relative_to(dataset["yolo"] / "labels"): p.read_bytes()
                for p in (dataset["yolo"] / "labels").rglob("*.txt")}
    benchmark.group = _groups(dataset)[0]
    impl("file_creation_floor")

    def run(out):
        out.mkdir()
        for rel, data in contents.items():
            with open(out / rel, "wb") as fh:
                fh.write(data)

    _rounds(benchmark, run, tmp_path)


@pytest.mark.parametrize("workers", [1, 2])
def test_yolo_to_coco_maskkit(benchmark, impl, dataset, tmp_path, workers):
    import maskkit

    benchmark.group = _groups(dataset)[1]
    impl("maskkit" if workers == 1 else "maskkit_2_workers")
    out = _rounds(benchmark, lambda o: maskkit.convert(dataset["yolo"], o, to="coco",
                                                       workers=workers, progress=False),
                  tmp_path, ".json")
    assert len(json.loads(out.read_text())["annotations"]) == dataset["objects"]


def test_yolo_to_coco_supervision(benchmark, impl, dataset, tmp_path):
    sv = pytest.importorskip("supervision")
    y = dataset["yolo"]
    benchmark.group = _groups(dataset)[1]
    impl("supervision")

    def run(out):
        ds = sv.DetectionDataset.from_yolo(str(y / "images"), str(y / "labels"),
                                           str(y / "data.yaml"))
        ds.as_coco(annotations_path=str(out))

    out = _rounds(benchmark, run, tmp_path, ".json")
    assert len(json.loads(out.read_text())["annotations"]) >= dataset["objects"] * 0.95


# --------------------------------------------------------------------- Cityscapes

N_CITY = int(os.environ.get("MASKKIT_BENCH_CITY_N", "100"))
CH, CW = 1024, 2048
SCENES = ("blobs", "street")


def _city_group(scene: str) -> str:
    return (f"convert: Cityscapes polygons -> labelIds PNG, {N_CITY} images {CW}x{CH}, "
            f"{scene}")


def _ring(rng, cx, cy, rx, ry, n):
    """A star-shaped ring of ``n`` vertices around (cx, cy), radii up to (rx, ry)."""
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    rad = rng.uniform(0.6, 1.0, n)
    return np.stack([cx + rx * rad * np.cos(t), cy + ry * rad * np.sin(t)], 1)


def _blobs(rng) -> list:
    """Round one's scene: 12 stuff regions of 8 random vertices each (crossing
    themselves) and 90 objects of 8-40 vertices, at random places."""
    stuff = ["road", "sidewalk", "building", "vegetation", "sky", "terrain"]
    things = ["car", "person", "bicycle", "pole", "traffic sign", "rider"]
    objs = []
    for _ in range(12):
        x, y = rng.uniform(0, CW - 400), rng.uniform(0, CH - 300)
        objs.append({"label": str(rng.choice(stuff)), "polygon": np.round(np.stack(
            [x + rng.uniform(0, 900, 8), y + rng.uniform(0, 500, 8)], 1), 1).tolist()})
    for _ in range(90):
        cx, cy, r = rng.uniform(0, CW), rng.uniform(0, CH), rng.uniform(10, 120)
        n = int(rng.integers(8, 41))
        t = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = rng.uniform(r / 2, r, n)
        objs.append({"label": str(rng.choice(things)), "polygon": np.round(np.stack(
            [cx + rad * np.cos(t), cy + rad * np.sin(t)], 1), 1).tolist()})
    return objs


def _street(rng) -> list:
    """A gtFine-like street (written as cityscapesscripts writes gtFine files: every
    object's fields, indented by 4, keys sorted): integer vertices, back to front. Sky
    over the whole top, buildings with jagged roofs (60-200 vertices) left and right,
    trees, terrain under the horizon, the road and sidewalks, then 60-90 objects on top
    (cars 30-70 vertices, people 20-45, poles and signs 4-8) standing on the road."""
    objs = []

    def add(label, pts):
        objs.append({"label": label, "polygon": np.clip(np.round(pts), [-2, -2],
                                                         [CW + 2, CH + 2]).astype(int)
                     .tolist()})

    horizon = rng.uniform(420, 520)
    xs = np.linspace(0, CW, int(rng.integers(40, 120)))
    skyline = horizon - np.abs(np.cumsum(rng.normal(0, 25, xs.size))) - 60
    add("sky", np.concatenate([[[0, 0], [CW, 0]], np.stack([xs, skyline], 1)[::-1]]))
    for x0, x1 in ((0, rng.uniform(600, 900)), (rng.uniform(1150, 1450), CW)):
        n = int(rng.integers(60, 200))
        rx = np.linspace(x0, x1, n)
        roof = skyline.min() + np.abs(np.cumsum(rng.normal(0, 12, n))) + rng.uniform(0, 80)
        add("building", np.concatenate([np.stack([rx, roof], 1),
                                        [[x1, horizon + 60], [x0, horizon + 60]]]))
    for _ in range(int(rng.integers(2, 5))):
        add("vegetation", _ring(rng, rng.uniform(0, CW), horizon - rng.uniform(0, 150),
                                rng.uniform(80, 300), rng.uniform(60, 200),
                                int(rng.integers(40, 120))))
    gx = np.linspace(0, CW, int(rng.integers(20, 60)))
    add("terrain", np.concatenate([np.stack([gx, horizon + 40 + rng.uniform(-20, 20, gx.size)],
                                            1), [[CW, CH], [0, CH]]]))
    left = np.linspace(0, CH - horizon, 30)
    road = np.concatenate([
        np.stack([CW / 2 - 60 - 1.6 * left - rng.uniform(0, 6, 30), horizon + left], 1),
        np.stack([CW / 2 + 60 + 1.6 * left[::-1] + rng.uniform(0, 6, 30),
                  horizon + left[::-1]], 1)])
    add("road", road)
    for side in (-1, 1):
        edge = CW / 2 + side * (60 + 1.6 * left)
        add("sidewalk", np.concatenate([np.stack([edge, horizon + left], 1),
                                        np.stack([edge[::-1] + side * (40 + 0.8 * left[::-1]),
                                                  horizon + left[::-1]], 1)]))
    for _ in range(int(rng.integers(60, 91))):
        kind = rng.choice(["car", "car", "person", "person", "pole", "traffic sign",
                           "bicycle", "rider"])
        y = horizon + rng.uniform(0, CH - horizon)  # where it stands
        scale = 0.3 + 1.4 * (y - horizon) / (CH - horizon)
        x = rng.uniform(0, CW)
        if kind == "car":
            pts = _ring(rng, x, y - 60 * scale, 160 * scale, 60 * scale,
                        int(rng.integers(30, 71)))
        elif kind in ("person", "rider", "bicycle"):
            pts = _ring(rng, x, y - 90 * scale, 25 * scale, 90 * scale,
                        int(rng.integers(20, 46)))
        elif kind == "pole":
            wd = rng.uniform(3, 12) * scale
            pts = [[x, y], [x + wd, y], [x + wd, y - 400 * scale], [x, y - 400 * scale]]
        else:
            pts = _ring(rng, x, y - 350 * scale, 20 * scale, 20 * scale,
                        int(rng.integers(4, 9)))
        add(str(kind), np.asarray(pts, np.float64))
    return objs


@pytest.fixture(scope="module", params=SCENES)
def cityscapes(request, tmp_path_factory):
    """Cityscapes-like polygon files of one scene (see :func:`_blobs`, :func:`_street`)."""
    scene = request.param
    root = tmp_path_factory.mktemp(f"city_{scene}") / "gtFine" / "val" / "city"
    root.mkdir(parents=True)
    rng = np.random.default_rng(11)
    for i in range(N_CITY):
        if scene == "blobs":
            text = json.dumps({"imgHeight": CH, "imgWidth": CW, "objects": _blobs(rng)})
        else:  # as cityscapesscripts writes gtFine files: every field, indented, sorted
            objs = [{**o, "date": "28-Apr-2015 15:01:52", "deleted": 0, "draw": True,
                     "id": k, "user": "annotator", "verified": 0}
                    for k, o in enumerate(_street(rng))]
            text = json.dumps({"imgHeight": CH, "imgWidth": CW, "objects": objs},
                              sort_keys=True, indent=4)
        (root / f"city_{i:06d}_000019_gtFine_polygons.json").write_text(text)
    return {"root": root.parent.parent, "scene": scene}


@pytest.mark.parametrize("workers", [1, 2])
def test_cityscapes_labelids_maskkit(benchmark, impl, cityscapes, tmp_path, workers):
    import maskkit

    benchmark.group = _city_group(cityscapes["scene"])
    impl("maskkit" if workers == 1 else "maskkit_2_workers")
    out = _rounds(benchmark, lambda o: maskkit.convert(cityscapes["root"], o, to="cityscapes",
                                                       outputs=["labelIds"], workers=workers,
                                                       progress=False), tmp_path)
    assert len(list(out.rglob("*_labelIds.png"))) == N_CITY
    benchmark.extra_info["ms_per_image"] = round(benchmark.stats.stats.median / N_CITY * 1e3, 2)


def test_cityscapes_labelids_json2labelimg(benchmark, impl, cityscapes, tmp_path):
    pytest.importorskip("cityscapesscripts")
    from cityscapesscripts.preparation.json2labelImg import json2labelImg

    benchmark.group = _city_group(cityscapes["scene"])
    impl("cityscapesscripts")
    files = sorted(cityscapes["root"].rglob("*_polygons.json"))

    def run(out):
        out.mkdir()
        for js in files:
            json2labelImg(str(js), str(out / js.name.replace("polygons.json", "labelIds.png")))

    out = _rounds(benchmark, run, tmp_path)
    assert len(list(out.glob("*_labelIds.png"))) == N_CITY
    benchmark.extra_info["ms_per_image"] = round(benchmark.stats.stats.median / N_CITY * 1e3, 2)
