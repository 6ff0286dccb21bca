"""maskkit convert: round trips measured against pycocotools, the real labelme export,
supervision's YOLO reader, and the CLI's batch behaviour."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pycocotools import mask as cocomask

import maskkit
from maskkit.cli import main
from maskkit.datasets.formats import detect_format
from maskkit.datasets.formats.geometry import join_rings, single_ring

REAL = Path(__file__).resolve().parents[2] / "shared/data/real"
LABELME = REAL / "labelme_voc2011_instance/examples/instance_segmentation"
MMDET = REAL / "coco_val2017_instances_mmdet/instances_val2017.json"


# ------------------------------------------------------------------------ helpers


def coco_mask(seg, h, w) -> np.ndarray:
    """The reference: pycocotools' mask of a polygon list or an RLE."""
    if isinstance(seg, list):
        rle = cocomask.merge(cocomask.frPyObjects(seg, h, w))
    elif isinstance(seg["counts"], list):
        rle = cocomask.frPyObjects(seg, h, w)
    else:
        rle = seg
    return cocomask.decode(rle).astype(bool)


def iou(a, b) -> float:
    u = np.count_nonzero(a | b)
    return 1.0 if u == 0 else np.count_nonzero(a & b) / u


def blob(rng, h, w, holes=True) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    for _ in range(rng.integers(1, 4)):
        y, x = rng.integers(0, h - 4), rng.integers(0, w - 4)
        m[y:y + rng.integers(2, 10), x:x + rng.integers(2, 10)] = 1
    if holes:
        m[rng.random((h, w)) < 0.04] = 0
    return m


def star(rng, cx, cy, r) -> list[float]:
    n = int(rng.integers(3, 9))
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    rad = rng.uniform(r / 3, r, n)
    return np.round(np.stack([cx + rad * np.cos(t), cy + rad * np.sin(t)], 1), 2).ravel().tolist()


def make_coco(folder: Path, *, seed=0, images=6, h=40, w=56, crowd=True, rle=True,
              overlap=False) -> Path:
    """A COCO file with single-part, multi-part (disjoint or overlapping), RLE-with-holes
    and crowd objects, and its images (so YOLO can read the sizes back)."""
    rng = np.random.default_rng(seed)
    imgs, anns = [], []
    for i in range(1, images + 1):
        name = f"sub/img{i}.png" if i % 2 else f"img{i}.png"
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("L", (w, h)).save(folder / name)
        imgs.append({"id": 10 + i, "file_name": name, "height": h, "width": w})

        def add(seg, cat, iscrowd=0, i=i):
            anns.append({"id": len(anns) + 1, "image_id": 10 + i, "category_id": cat,
                         "segmentation": seg, "iscrowd": iscrowd, "area": 0, "bbox": [0] * 4})

        add([star(rng, 12, 12, 10)], 3)
        add([star(rng, 8, 30, 7), star(rng, 30, 30, 7), star(rng, 46, 10, 7)], 7)
        if overlap:
            add([[5, 5, 25, 5, 25, 25, 5, 25], [15, 15, 35, 15, 35, 35, 15, 35]], 3)
        if rle:
            add(maskkit.rle_encode(blob(rng, h, w)), 7)
        if crowd:
            m = blob(rng, h, w, holes=False)
            add({"size": [h, w], "counts": _uncompressed(m)}, 3, 1)
    cats = [{"id": 3, "name": "cat", "supercategory": "animal"},
            {"id": 7, "name": "dog", "supercategory": "animal"}]
    path = folder / "instances.json"
    path.write_text(json.dumps({"images": imgs, "annotations": anns, "categories": cats}))
    return path


def _uncompressed(m: np.ndarray) -> list[int]:
    flat = np.asfortranarray(m).ravel(order="F")
    change = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    return np.diff(np.concatenate([[0], change])).tolist()


def by_image(coco: dict) -> dict:
    names = {im["id"]: im["file_name"] for im in coco["images"]}
    out: dict = {n: [] for n in names.values()}
    for a in coco["annotations"]:
        out[names[a["image_id"]]].append(a)
    return out


# ------------------------------------------------------------- geometry, property


@settings(deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_single_ring_of_rle_is_exact(seed):
    """An RLE traced along pixel edges, holes joined into one ring: pycocotools gives the
    same pixels back (YOLO can hold any mask exactly)."""
    rng = np.random.default_rng(seed)
    m = blob(rng, 24, 30).astype(bool)
    ring, measured, how = single_ring(maskkit.rle_encode(m), 24, 30)
    assert how == "traced"
    if not m.any():
        assert ring == []
        return
    assert np.array_equal(coco_mask([ring], 24, 30), m)
    assert measured == 1.0


@settings(deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 5))
def test_joined_disjoint_parts_are_exact(seed, n):
    """Ultralytics' join (closest vertices, bridges out and back) keeps the union of
    disjoint parts pixel for pixel under COCO's rule."""
    rng = np.random.default_rng(seed)
    parts = [star(rng, 7 + 14 * k, rng.uniform(7, 25), 6.5) for k in range(n)]
    ring = join_rings(parts)
    assert np.array_equal(coco_mask([ring], 32, 14 * n), coco_mask(parts, 32, 14 * n))


def test_overlapping_parts_lose_the_overlap_and_say_so():
    parts = [[5, 5, 25, 5, 25, 25, 5, 25], [15, 15, 35, 15, 35, 35, 15, 35]]
    ring, measured, how = single_ring(parts, 40, 40)
    truth = iou(coco_mask([ring], 40, 40), coco_mask(parts, 40, 40))
    assert how == "joined" and measured == pytest.approx(truth) and measured < 0.9


# ------------------------------------------------------------------ round trips


def test_coco_yolo_coco_round_trip(tmp_path):
    src = make_coco(tmp_path, overlap=True)
    s = maskkit.convert(src, tmp_path / "yolo", to="yolo", images=tmp_path, workers=1,
                        progress=False)
    assert s["dropped"] == 6  # the crowd regions: YOLO has none
    back = tmp_path / "back.json"
    maskkit.convert(tmp_path / "yolo", back, to="coco", workers=2, progress=False)
    a, b = json.loads(src.read_text()), json.loads(back.read_text())
    assert b["categories"] == a["categories"]  # ids, names, supercategories survive
    lines = [json.loads(x) for x in (tmp_path / "yolo/convert_losses.jsonl").open()]
    reported = {(x["image"], x["object"]): x["iou"] for x in lines if "iou" in x}
    src_by, back_by = by_image(a), by_image(b)
    assert set(src_by) == set(back_by)
    for name, anns in src_by.items():
        kept = [x for x in anns if not x["iscrowd"]]
        got = back_by[name]
        assert len(got) == len(kept)
        for x, y in zip(kept, got):
            assert y["category_id"] == x["category_id"]
            m0 = coco_mask(x["segmentation"], 40, 56)
            m1 = coco_mask(y["segmentation"], 40, 56)
            value = iou(m0, m1)
            obj = anns.index(x)
            if isinstance(x["segmentation"], list) and len(x["segmentation"]) == 1:
                assert y["segmentation"] == x["segmentation"]  # exact vertices
            if (name, obj) in reported:
                assert reported[(name, obj)] == pytest.approx(value)
            else:
                assert value == 1.0
            if x["segmentation"] == [[5, 5, 25, 5, 25, 25, 5, 25],
                                     [15, 15, 35, 15, 35, 35, 15, 35]]:
                assert value < 1.0  # overlapping parts: the one lossy kind
            else:
                assert value == 1.0
            # area and bbox are the pixels, as pycocotools counts them
            assert y["area"] == int(m1.sum())


def test_yolo_data_yaml_and_layout(tmp_path):
    yaml = pytest.importorskip("yaml")
    src = make_coco(tmp_path, images=2, crowd=False, rle=False)
    maskkit.convert(src, tmp_path / "y", to="yolo", images=tmp_path, workers=1, progress=False)

    doc = yaml.safe_load((tmp_path / "y/data.yaml").read_text())
    assert doc["names"] == {0: "cat", 1: "dog"} and doc["nc"] == 2
    assert (tmp_path / "y/labels/sub/img1.txt").is_file()
    assert (tmp_path / "y/images/sub/img1.png").is_file()
    first = (tmp_path / "y/labels/img2.txt").read_text().splitlines()[0].split()
    assert first[0] == "0" and all(0 <= float(v) <= 1 for v in first[1:])


def test_coco_labelme_coco_is_lossless(tmp_path):
    src = make_coco(tmp_path, overlap=True)
    s = maskkit.convert(src, tmp_path / "lm", to="labelme", workers=1, progress=False)
    assert s["changed"] == 0 and s["dropped"] == 0
    back = tmp_path / "back.json"
    maskkit.convert(tmp_path / "lm", back, to="coco", workers=1, progress=False)
    a, b = json.loads(src.read_text()), json.loads(back.read_text())
    assert b["categories"] == a["categories"]
    src_by, back_by = by_image(a), by_image(b)
    for name, anns in src_by.items():
        got = back_by[name]
        assert len(got) == len(anns)
        assert_same_objects(anns, got)


def assert_same_objects(anns, got, h=40, w=56):
    """Category, crowd flag, polygon vertices and pixels of each object survive."""
    for x, y in zip(anns, got):
        assert (y["category_id"], y["iscrowd"]) == (x["category_id"], x["iscrowd"])
        if isinstance(x["segmentation"], list):
            assert y["segmentation"] == x["segmentation"]
        assert np.array_equal(coco_mask(x["segmentation"], h, w),
                              coco_mask(y["segmentation"], h, w))


def test_labelme_shapes(tmp_path):
    """rectangle -> 4 corners, circle -> labelme2coco's polygon, mask -> its pixels,
    group_id joins parts, line/point/__ignore__ are reported as dropped."""
    import base64

    from maskkit.io.png import encode_label_png

    crop = np.array([[1, 0, 1], [1, 1, 0]], np.uint8)
    doc = {"version": "5.2.1", "imagePath": "a.jpg", "imageHeight": 20, "imageWidth": 30,
           "imageData": None, "flags": {}, "shapes": [
               {"label": "box", "points": [[9, 8], [2, 3]], "shape_type": "rectangle"},
               {"label": "ball", "points": [[15, 10], [15, 14]], "shape_type": "circle"},
               {"label": "blob", "points": [[20, 5], [22, 6]], "shape_type": "mask",
                "mask": base64.b64encode(encode_label_png(crop)).decode()},
               {"label": "box", "points": [[20, 15], [25, 15], [25, 19]], "group_id": 4},
               {"label": "box", "points": [[1, 15], [5, 15], [5, 19]], "group_id": 4},
               {"label": "box", "points": [[0, 0], [3, 3]], "shape_type": "line"},
               {"label": "__ignore__", "points": [[0, 0], [3, 0], [3, 3]]},
           ]}
    (tmp_path / "a.json").write_text(json.dumps(doc))
    s = maskkit.convert(tmp_path, tmp_path / "out.json", to="coco", workers=1,
                        progress=False)
    assert s["dropped"] == 2 and s["objects_written"] == 4
    out = json.loads((tmp_path / "out.json").read_text())
    cats = {c["id"]: c["name"] for c in out["categories"]}
    assert sorted(cats.values()) == ["ball", "blob", "box"]
    segs = [(cats[a["category_id"]], a["segmentation"]) for a in out["annotations"]]
    assert segs[0] == ("box", [[2.0, 3.0, 9.0, 3.0, 9.0, 8.0, 2.0, 8.0]])
    assert segs[1][0] == "ball" and len(segs[1][1][0]) == 24
    full = np.zeros((20, 30), bool)
    full[5:7, 20:23] = crop
    assert np.array_equal(coco_mask(segs[2][1], 20, 30), full)
    assert segs[3] == ("box", [[20.0, 15.0, 25.0, 15.0, 25.0, 19.0],
                               [1.0, 15.0, 5.0, 15.0, 5.0, 19.0]])


@pytest.mark.skipif(not LABELME.is_dir(), reason="../shared/data/real not present")
def test_real_labelme_matches_labelme2coco_export(tmp_path):
    """labelme's own COCO export: same objects, categories (ids from labels.txt),
    polygons. Its area/bbox come from labelme's PIL-drawn masks (outline included), ours
    from COCO's rule: ours are checked against pycocotools instead."""
    out = tmp_path / "lm.json"
    s = maskkit.convert(LABELME / "data_annotated", out, to="coco",
                        categories=LABELME / "labels.txt", workers=1, progress=False)
    assert s["dropped"] == 2  # the two __ignore__ regions, as labelme2coco drops them
    ref = json.loads((LABELME / "data_dataset_coco/annotations.json").read_text())
    mine = json.loads(out.read_text())
    assert {(c["id"], c["name"]) for c in mine["categories"]} == \
        {(c["id"], c["name"]) for c in ref["categories"]}
    ref_by = {Path(k).name: v for k, v in by_image(ref).items()}
    mine_by = by_image(mine)
    assert set(ref_by) == set(mine_by)
    total = 0
    for name, anns in ref_by.items():
        img = next(i for i in mine["images"] if i["file_name"] == name)
        for x, y in zip(anns, mine_by[name], strict=True):
            assert (y["category_id"], y["segmentation"]) == (x["category_id"],
                                                              x["segmentation"])
            m = coco_mask(y["segmentation"], img["height"], img["width"])
            assert y["area"] == int(m.sum())
            assert y["area"] <= x["area"]  # labelme's outline pixels make it larger
            total += 1
    assert total == 12


@pytest.mark.skipif(not MMDET.is_file(), reason="../shared/data/real not present")
def test_real_coco_to_yolo_reports_parts_and_crowd(tmp_path):
    data = json.loads(MMDET.read_text())
    for im in data["images"]:
        Image.new("L", (im["width"], im["height"])).save(tmp_path / Path(im["file_name"]).name)
        im["file_name"] = Path(im["file_name"]).name
    src = tmp_path / "in.json"
    src.write_text(json.dumps(data))
    s = maskkit.convert(src, tmp_path / "y", to="yolo", images=tmp_path, workers=1,
                        progress=False)
    assert s["dropped"] == 1  # the crowd region
    assert s["changed"] == 1  # the 3-part polygon, joined
    back = tmp_path / "back.json"
    maskkit.convert(tmp_path / "y", back, to="coco", workers=1, progress=False)
    b = json.loads(back.read_text())
    assert [c["id"] for c in b["categories"]] == [c["id"] for c in data["categories"]]
    assert len(b["annotations"]) == len(data["annotations"]) - 1


# ------------------------------------------------------------- supervision, peer


def test_supervision_reads_our_yolo(tmp_path):
    """supervision's YOLO reader agrees on classes, object count and vertices (its boxes
    are the vertices' extent); its masks come from cv2.fillPoly on vertices rounded to
    whole pixels, boundary included, not COCO's rule, so they are not compared."""
    sv = pytest.importorskip("supervision")
    src = make_coco(tmp_path, crowd=False, rle=False)
    maskkit.convert(src, tmp_path / "y", to="yolo", images=tmp_path, workers=1,
                    progress=False)
    ours = by_image(json.loads(src.read_text()))
    flat = tmp_path / "flat"
    for d in ("images", "labels"):
        (flat / d).mkdir(parents=True)
    for name in ours:
        stem = Path(name).stem
        os.link(tmp_path / "y/images" / name, flat / "images" / Path(name).name)
        os.link(tmp_path / "y/labels" / (name[:-4] + ".txt"), flat / "labels" / f"{stem}.txt")
    ds = sv.DetectionDataset.from_yolo(str(flat / "images"), str(flat / "labels"),
                                       str(tmp_path / "y/data.yaml"))
    assert ds.classes == ["cat", "dog"]
    cid = {3: 0, 7: 1}
    for path, _img, det in ds:
        anns = ours[next(n for n in ours if Path(n).name == Path(path).name)]
        assert det.class_id.tolist() == [cid[a["category_id"]] for a in anns]
        for a, box in zip(anns, det.xyxy):
            xy = np.concatenate([np.reshape(p, (-1, 2)) for p in a["segmentation"]])
            assert np.allclose(box, [*xy.min(0), *xy.max(0)], atol=1e-4)


def test_we_read_supervision_yolo(tmp_path):
    """supervision writes 5 decimals; we read its vertices to that precision."""
    sv = pytest.importorskip("supervision")
    h, w = 40, 56
    poly = np.array([[3.0, 4.0], [30.0, 6.0], [20.0, 33.0]])
    mask = sv.polygon_to_mask(poly, (w, h)).astype(bool)
    det = sv.Detections(xyxy=np.array([[3, 4, 30, 33]], float), mask=mask[None],
                        class_id=np.array([1]))
    (tmp_path / "img").mkdir()
    Image.new("RGB", (w, h)).save(tmp_path / "img/a.png")
    ds = sv.DetectionDataset(classes=["cat", "dog"], images=[str(tmp_path / "img/a.png")],
                             annotations={str(tmp_path / "img/a.png"): det})
    root = tmp_path / "svyolo"
    ds.as_yolo(str(root / "images"), str(root / "labels"), str(root / "data.yaml"))
    maskkit.convert(root, tmp_path / "c.json", to="coco", workers=1, progress=False)
    c = json.loads((tmp_path / "c.json").read_text())
    assert [x["name"] for x in c["categories"]] == ["cat", "dog"]
    (a,) = c["annotations"]
    assert a["category_id"] == 1
    line = (root / "labels/a.txt").read_text().split()
    xs = np.array(line[1:], float).reshape(-1, 2) * [w, h]
    assert np.allclose(np.array(a["segmentation"][0]).reshape(-1, 2), xs, atol=1e-6)


# ------------------------------------------------------------ detection, errors, CLI


def test_detection(tmp_path):
    src = make_coco(tmp_path, images=1)
    assert detect_format(src) == "coco"
    maskkit.convert(src, tmp_path / "y", to="yolo", images=tmp_path, workers=1, progress=False)
    maskkit.convert(src, tmp_path / "l", to="labelme", workers=1, progress=False)
    assert detect_format(tmp_path / "y") == "yolo"
    assert detect_format(tmp_path / "l") == "labelme"
    both = tmp_path / "both"
    both.mkdir()
    (both / "labels").mkdir()
    (both / "x.json").write_text((tmp_path / "l/sub/img1.json").read_text())
    with pytest.raises(maskkit.InvalidInputError, match="ambiguous.*--from"):
        detect_format(both)
    (tmp_path / "none").mkdir()
    with pytest.raises(maskkit.InvalidInputError, match="cannot tell"):
        detect_format(tmp_path / "none")


def test_cli_skip_bad_label_file(tmp_path, capsys):
    src = make_coco(tmp_path, images=3, crowd=False)
    assert main(["convert", str(src), "-o", str(tmp_path / "y"), "--to", "yolo",
                 "--images", str(tmp_path), "--workers", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "convert coco -> yolo: 3 images" in out and "0 lossy" in out
    (tmp_path / "y/labels/img2.txt").write_text("0 0.1 0.2 0.3\n")
    argv = ["convert", str(tmp_path / "y"), "-o", str(tmp_path / "c.json"), "--to", "coco",
            "--workers", "1", "--quiet"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "img2.txt: line 1:" in err and "3 coordinates" in err
    assert main([*argv, "--on-error", "skip"]) == 3
    errors = [json.loads(x) for x in (tmp_path / "c.errors.jsonl").open()]
    assert len(errors) == 1 and errors[0]["image"].endswith("img2.txt")
    assert len(json.loads((tmp_path / "c.json").read_text())["images"]) == 2


def test_yolo_missing_image_is_a_clear_error(tmp_path):
    src = make_coco(tmp_path, images=1)
    maskkit.convert(src, tmp_path / "y", to="yolo", workers=1, progress=False)  # no images
    with pytest.raises(maskkit.MaskkitIOError, match="no image size"):
        maskkit.convert(tmp_path / "y", tmp_path / "c.json", to="coco", workers=1,
                        progress=False)


def test_unknown_labelme_label_is_an_error(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({
        "imagePath": "a.jpg", "imageHeight": 5, "imageWidth": 5,
        "shapes": [{"label": "zebra", "points": [[0, 0], [3, 0], [3, 3]]}]}))
    with pytest.raises(maskkit.UnknownCategoryError, match="zebra"):
        maskkit.convert(tmp_path, tmp_path / "c.json", to="coco", categories=["cat"],
                        workers=1, progress=False)


@settings(deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.integers(1, 40))
def test_areas_bboxes_match_pycocotools(seed, h, w):
    from maskkit.datasets.formats.geometry import areas_bboxes

    rng = np.random.default_rng(seed)
    segs = []
    for _ in range(int(rng.integers(1, 5))):
        segs.append([np.round(rng.uniform(-5, max(h, w) + 5, 2 * int(rng.integers(3, 8))),
                              1).tolist() for _ in range(int(rng.integers(1, 3)))])
    segs.append(maskkit.rle_encode(rng.random((h, w)) < 0.3))
    for seg, (area, bbox) in zip(segs, areas_bboxes(segs, h, w)):
        rle = seg if isinstance(seg, dict) else cocomask.merge(cocomask.frPyObjects(seg, h, w))
        assert area == int(cocomask.area(rle))
        assert bbox == [int(v) for v in cocomask.toBbox(rle)]


@pytest.mark.parametrize("line", ["0 0.1 nan 0.3 0.4 0.5 0.6", "0 nan 0.1 0.3 0.4 0.5 0.6",
                                  "0 0.1 0.2 0.3 inf 0.5 0.6", "5 0.1 0.2 0.3 0.4 0.5 0.6",
                                  "0 0.1 0.2 x 0.4 0.5 0.6"])
def test_bad_yolo_lines_name_the_file(tmp_path, line):
    src = make_coco(tmp_path, images=1, crowd=False, rle=False)
    maskkit.convert(src, tmp_path / "y", to="yolo", images=tmp_path, workers=1, progress=False)
    (tmp_path / "y/labels/sub/img1.txt").write_text(line + "\n")
    with pytest.raises(maskkit.InvalidAnnotationError, match="img1.txt"):
        maskkit.convert(tmp_path / "y", tmp_path / "c.json", to="coco", workers=1,
                        progress=False)


# ------------------------------------------------------------------------- VOC


def test_coco_voc_coco_round_trip(tmp_path):
    """Objects keep the pixels no later object covers (the annToMask loop's order), crowd
    regions become void; each overlapped object is reported with exactly that IoU."""
    src = make_coco(tmp_path, overlap=True)
    maskkit.convert(src, tmp_path / "voc", to="voc", workers=1, progress=False)
    back = tmp_path / "back.json"
    s = maskkit.convert(tmp_path / "voc", back, to="coco", workers=2, progress=False)
    a, b = json.loads(src.read_text()), json.loads(back.read_text())
    images_with_void = 0
    assert b["categories"] == a["categories"]
    losses = [json.loads(x) for x in (tmp_path / "voc/convert_losses.jsonl").open()]
    reported = {(x["image"], x["object"]): x["iou"] for x in losses if "iou" in x}
    assert reported
    back_by = {Path(k).stem: v for k, v in by_image(b).items()}
    for name, anns in by_image(a).items():
        label = np.zeros((40, 56), np.int32)
        void = np.zeros((40, 56), bool)
        for k, x in enumerate(anns, start=1):
            m = coco_mask(x["segmentation"], 40, 56)
            if x["iscrowd"]:
                void |= m
            else:
                label[m] = k
        void &= label == 0
        images_with_void += bool(void.any())
        got = iter(back_by[Path(name).stem])
        for k, x in enumerate(anns, start=1):
            if x["iscrowd"]:
                continue
            visible = label == k
            full = coco_mask(x["segmentation"], 40, 56)
            if visible.sum() < full.sum():
                assert reported[(name, k - 1)] == pytest.approx(visible.sum() / full.sum())
            if not visible.any():
                continue
            y = next(got)
            assert y["category_id"] == x["category_id"]
            assert np.array_equal(coco_mask(y["segmentation"], 40, 56), visible)
        assert next(got, None) is None
    assert s["dropped"] == images_with_void > 0  # one void report per image with void


@pytest.mark.skipif(not LABELME.is_dir(), reason="../shared/data/real not present")
def test_real_voc_pngs_against_labelme(tmp_path):
    """labelme's VOC PNGs were drawn by PIL (outline included), not by COCO's rule: the
    objects and classes agree with its COCO export, the pixels nearly."""
    from maskkit.io.png import read_png

    voc = LABELME / "data_dataset_voc"
    out = tmp_path / "voc.json"
    s = maskkit.convert(voc, out, to="coco", workers=1, progress=False)
    assert s["dropped"] == 2  # the void (__ignore__) regions of two images
    ref = json.loads((LABELME / "data_dataset_coco/annotations.json").read_text())
    mine = json.loads(out.read_text())
    names = {c["id"]: c["name"] for c in mine["categories"]}
    ref_names = {c["id"]: c["name"] for c in ref["categories"]}
    ref_by = {Path(k).name: v for k, v in by_image(ref).items()}
    for name, anns in by_image(mine).items():
        expected = ref_by[Path(name).name]
        assert sorted(names[a["category_id"]] for a in anns) == \
            sorted(ref_names[a["category_id"]] for a in expected)
        h, w = next((i["height"], i["width"]) for i in mine["images"] if i["file_name"] == name)
        for a in anns:  # each object matches one of the export's polygons closely
            m = coco_mask(a["segmentation"], h, w)
            best = max(iou(m, coco_mask(e["segmentation"], h, w)) for e in expected)
            assert best > 0.9
    # and the other way: the export's polygons painted by COCO's rule
    maskkit.convert(LABELME / "data_dataset_coco/annotations.json", tmp_path / "v",
                    to="voc", workers=1, progress=False)
    for png in (voc / "SegmentationClass").glob("*.png"):
        theirs = read_png(png)
        ours = read_png(tmp_path / "v/SegmentationClass" / png.name)
        known = theirs != 255
        assert np.mean(theirs[known] == ours[known]) > 0.99


# ------------------------------------------------------------------------ CVAT


def test_coco_cvat_coco_is_lossless(tmp_path):
    src = make_coco(tmp_path, overlap=True)
    s = maskkit.convert(src, tmp_path / "cvat.xml", to="cvat", workers=1, progress=False)
    assert s["changed"] == 0 and s["dropped"] == 0
    assert detect_format(tmp_path / "cvat.xml") == "cvat"
    back = tmp_path / "back.json"
    maskkit.convert(tmp_path / "cvat.xml", back, to="coco", workers=2, progress=False)
    a, b = json.loads(src.read_text()), json.loads(back.read_text())
    assert b["categories"] == a["categories"]
    back_by = by_image(b)
    for name, anns in by_image(a).items():
        got = back_by[name]
        assert len(got) == len(anns)
        assert_same_objects(anns, got)


def test_cvat_shapes(tmp_path):
    """box (rotated about its centre), mask (row-major runs over its box, background
    first), group_id joins parts, polyline/points reported as dropped."""
    xml = """<?xml version="1.0" encoding="utf-8"?>
<annotations><version>1.1</version>
<meta><task><labels><label><name>car</name></label><label><name>tree</name></label>
</labels></task></meta>
<image id="0" name="a.jpg" width="12" height="10">
  <box label="car" occluded="0" xtl="1" ytl="2" xbr="5" ybr="4" z_order="0"></box>
  <box label="car" occluded="0" xtl="0" ytl="0" xbr="4" ybr="2" rotation="90"></box>
  <mask label="tree" rle="1, 2, 3, 1, 1" left="6" top="5" width="4" height="2"></mask>
  <polygon label="tree" points="0,6;3,6;3,9" group_id="3"></polygon>
  <polygon label="tree" points="8,0;11,0;11,3" group_id="3"></polygon>
  <polyline label="car" points="0,0;3,3"></polyline>
  <points label="car" points="1,1"></points>
</image></annotations>"""
    (tmp_path / "a.xml").write_text(xml)
    s = maskkit.convert(tmp_path / "a.xml", tmp_path / "c.json", to="coco", workers=1,
                        progress=False)
    assert s["dropped"] == 2
    c = json.loads((tmp_path / "c.json").read_text())
    assert [(x["id"], x["name"]) for x in c["categories"]] == [(1, "car"), (2, "tree")]
    segs = [a["segmentation"] for a in c["annotations"]]
    assert segs[0] == [[1.0, 2.0, 5.0, 2.0, 5.0, 4.0, 1.0, 4.0]]
    assert np.allclose(np.reshape(segs[1], (-1, 2)), [[3, -1], [3, 3], [1, 3], [1, -1]])
    mask = np.zeros((10, 12), bool)
    mask[5:7, 6:10] = np.array([0, 1, 1, 0, 0, 0, 1, 0], bool).reshape(2, 4)
    assert np.array_equal(coco_mask(segs[2], 10, 12), mask)
    assert segs[3] == [[0.0, 6.0, 3.0, 6.0, 3.0, 9.0], [8.0, 0.0, 11.0, 0.0, 11.0, 3.0]]
    # and back: the mask is written over its tight box
    maskkit.convert(tmp_path / "c.json", tmp_path / "b.xml", to="cvat", workers=1,
                    progress=False)
    assert 'rle="0, 2, 1, 1" left="7" top="5" width="2" height="2"' in \
        (tmp_path / "b.xml").read_text()


def test_bad_cvat_mask_names_file_and_shape(tmp_path):
    (tmp_path / "a.xml").write_text(
        '<annotations><meta><labels><label><name>t</name></label></labels></meta>'
        '<image id="0" name="a.jpg" width="4" height="4">'
        '<mask label="t" rle="1, 2" left="0" top="0" width="2" height="2"></mask>'
        '</image></annotations>')
    with pytest.raises(maskkit.InvalidAnnotationError, match=r"a\.xml.*mask 0.*covers 3"):
        maskkit.convert(tmp_path / "a.xml", tmp_path / "c.json", to="coco", workers=1,
                        progress=False)


# ------------------------------------------------------------------ Cityscapes


def make_cityscapes(folder: Path, *, seed=0, images=3, h=60, w=90) -> Path:
    rng = np.random.default_rng(seed)
    root = folder / "gtFine/train/aachen"
    root.mkdir(parents=True)
    labels = ["road", "sky", "car", "person", "cargroup", "license plate", "car", "pole"]
    for i in range(images):
        objs = [{"label": "road", "polygon": [[0, 30], [w, 30], [w, h], [0, h]]}]
        for lab in labels:
            cx, cy = rng.uniform(10, w - 10), rng.uniform(10, h - 10)
            objs.append({"label": lab, "polygon": np.reshape(star(rng, cx, cy, 12),
                                                             (-1, 2)).tolist()})
        objs.append({"label": "car", "polygon": [[1, 1], [5, 1], [5, 5]], "deleted": 1})
        (root / f"aachen_{i:06d}_000019_gtFine_polygons.json").write_text(json.dumps(
            {"imgHeight": h, "imgWidth": w, "objects": objs}))
    return folder / "gtFine"


def test_cityscapes_polygons_to_pngs_follow_coco_rule(tmp_path):
    """labelIds / trainIds / instanceIds: the objects painted in file order by COCO's
    rule (pycocotools masks); ids and train ids from Cityscapes' own label table."""
    name2label = pytest.importorskip("cityscapesscripts.helpers.labels").name2label
    from maskkit.io.png import read_png

    src = make_cityscapes(tmp_path)
    assert detect_format(src) == "cityscapes"
    s = maskkit.convert(src, tmp_path / "out", to="cityscapes", workers=1, progress=False)
    assert s["dropped"] == 3  # one license plate per image
    for js in sorted((src / "train/aachen").glob("*.json")):
        doc = json.loads(js.read_text())
        ids = np.zeros((60, 90), np.uint8)
        inst = np.zeros((60, 90), np.int64)
        count: dict = {}
        for o in doc["objects"]:
            lab, crowd = o["label"], False
            if lab not in name2label and lab.endswith("group"):
                lab, crowd = lab[:-5], True
            info = name2label[lab]
            if o.get("deleted") or info.id < 0:
                continue
            m = coco_mask([np.ravel(o["polygon"]).tolist()], 60, 90)
            ids[m] = info.id
            if info.hasInstances and not crowd:
                inst[m] = info.id * 1000 + count.setdefault(lab, 0)
                count[lab] += 1
            else:
                inst[m] = info.id
        stem = js.name.replace("_gtFine_polygons.json", "")
        out = tmp_path / "out/train/aachen"
        assert np.array_equal(read_png(out / f"{stem}_gtFine_labelIds.png"), ids)
        train = np.array([name2label[n].trainId if name2label[n].trainId >= 0 else 255
                          for n in sorted(name2label, key=lambda n: name2label[n].id)
                          if name2label[n].id >= 0], np.uint8)
        assert np.array_equal(read_png(out / f"{stem}_gtFine_labelTrainIds.png"), train[ids])
        assert np.array_equal(read_png(out / f"{stem}_gtFine_instanceIds.png"), inst)


def test_cityscapes_to_coco_keeps_polygons_and_table(tmp_path):
    src = make_cityscapes(tmp_path, images=1)
    maskkit.convert(src, tmp_path / "c.json", to="coco", workers=1, progress=False)
    c = json.loads((tmp_path / "c.json").read_text())
    cats = {x["id"]: x for x in c["categories"]}
    assert cats[26]["name"] == "car" and cats[26]["supercategory"] == "vehicle"
    assert c["images"][0]["file_name"] == "train/aachen/aachen_000000_000019_leftImg8bit.png"
    crowd = [a for a in c["annotations"] if a["iscrowd"]]
    assert [cats[a["category_id"]]["name"] for a in crowd] == ["car"]  # cargroup
    # and back into label PNGs from COCO: the same pixels
    maskkit.convert(tmp_path / "c.json", tmp_path / "o1", to="cityscapes", workers=1,
                    progress=False, outputs=["labelIds"])
    maskkit.convert(src, tmp_path / "o2", to="cityscapes", workers=1, progress=False,
                    outputs=["labelIds"])
    from maskkit.io.png import read_png

    name = "train/aachen/aachen_000000_000019_gtFine_labelIds.png"
    assert np.array_equal(read_png(tmp_path / "o1" / name), read_png(tmp_path / "o2" / name))
    assert not (tmp_path / "o1/train/aachen/aachen_000000_000019_gtFine_instanceIds.png").exists()


def test_cityscapes_json2labelimg_differs_only_on_borders(tmp_path):
    """json2labelImg fills with PIL (boundary pixels included): most pixels agree."""
    pytest.importorskip("cityscapesscripts")
    from cityscapesscripts.helpers.annotation import Annotation
    from cityscapesscripts.preparation.json2labelImg import createLabelImage

    from maskkit.io.png import read_png

    src = make_cityscapes(tmp_path, images=1)
    maskkit.convert(src, tmp_path / "o", to="cityscapes", workers=1, progress=False,
                    outputs=["labelIds"])
    js = next((src / "train/aachen").glob("*.json"))
    ann = Annotation()
    ann.fromJsonFile(str(js))
    theirs = np.asarray(createLabelImage(ann, "ids"))
    ours = read_png(next((tmp_path / "o/train/aachen").glob("*_labelIds.png")))
    agree = np.mean(theirs == ours)
    assert 0.9 < agree < 1.0


@settings(deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 70), st.integers(1, 70),
       st.sampled_from(["u8", "u16", "palette"]))
def test_label_png_encoder_round_trips(seed, h, w, kind):
    """The writers' PNG encoder: Pillow and maskkit's reader give the labels back."""
    import io

    from maskkit._palette import voc_palette
    from maskkit.datasets.formats.labelpng import encode_png
    from maskkit.io.png import read_png

    rng = np.random.default_rng(seed)
    top = 65535 if kind == "u16" else 255
    lab = rng.integers(0, top + 1, (h, w)).astype(np.uint16 if kind == "u16" else np.uint8)
    lab[: h // 2] = lab[0, 0]  # runs, as in label maps
    data = encode_png(lab, palette=voc_palette() if kind == "palette" else None)
    with Image.open(io.BytesIO(data)) as im:
        assert im.mode == {"u8": "L", "u16": "I;16", "palette": "P"}[kind]
        assert np.array_equal(np.asarray(im), lab)
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"maskkit_png_{os.getpid()}.png"
    path.write_bytes(data)
    try:
        assert np.array_equal(read_png(path), lab)
    finally:
        path.unlink()


@pytest.mark.skipif(not MMDET.is_file(), reason="../shared/data/real not present")
@pytest.mark.parametrize("target", ["labelme", "cvat"])
def test_real_coco_lossless_targets(tmp_path, target):
    """The mmdet COCO sample (a 3-part polygon, an uncompressed-RLE crowd region) through
    the lossless targets and back: every object's pixels, category and crowd flag."""
    data = json.loads(MMDET.read_text())
    dst = tmp_path / ("out.xml" if target == "cvat" else "out")
    s = maskkit.convert(MMDET, dst, to=target, workers=1, progress=False)
    assert s["changed"] == 0 and s["dropped"] == 0
    back = tmp_path / "back.json"
    maskkit.convert(dst, back, to="coco", workers=1, progress=False)
    b = json.loads(back.read_text())
    assert [c["id"] for c in b["categories"]] == [c["id"] for c in data["categories"]]
    sizes = {im["file_name"]: (im["height"], im["width"]) for im in data["images"]}
    back_by = {Path(k).name: v for k, v in by_image(b).items()}
    for name, anns in by_image(data).items():
        got = back_by[Path(name).name]
        assert len(got) == len(anns)
        for x, y in zip(anns, got):
            assert (y["category_id"], y["iscrowd"]) == (x["category_id"], x["iscrowd"])
            assert np.array_equal(coco_mask(x["segmentation"], *sizes[name]),
                                  coco_mask(y["segmentation"], *sizes[name]))


def test_failed_run_leaves_previous_output(tmp_path):
    src = make_coco(tmp_path, images=2, crowd=False)
    maskkit.convert(src, tmp_path / "y", to="yolo", images=tmp_path, workers=1, progress=False)
    before = {p: p.read_bytes() for p in (tmp_path / "y/labels").rglob("*.txt")}
    data = json.loads(src.read_text())
    data["annotations"][-1]["segmentation"] = [[1, 2, 3]]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(maskkit.InvalidAnnotationError, match="polygon part 0"):
        maskkit.convert(bad, tmp_path / "y", to="yolo", workers=1, progress=False)
    assert {p: p.read_bytes() for p in (tmp_path / "y/labels").rglob("*.txt")} == before
    # the good image's labels wait, hidden, for --resume; fixed input: only the rest is done
    assert list(tmp_path.glob("y/.labels.staging/**/*.txt"))
    data["annotations"][-1]["segmentation"] = [[1, 2, 3, 2, 3, 4]]
    bad.write_text(json.dumps(data))
    s = maskkit.convert(bad, tmp_path / "y", to="yolo", workers=1, progress=False,
                        resume=True)
    assert s["resumed"] == 1 and s["images"] == 2
    assert not list(tmp_path.glob("y/.*staging*"))
    assert not (tmp_path / "y/.convert_manifest.jsonl").exists()


@pytest.mark.parametrize("target", ["coco", "yolo", "labelme", "voc", "cvat"])
def test_resume_gives_the_same_output(tmp_path, target):
    """A run stopped by a bad image, then resumed after the fix, writes what one clean
    run writes; the images already done are not redone."""
    src = make_coco(tmp_path, images=4)
    data = json.loads(src.read_text())
    name = {"coco": "c.json", "cvat": "c.xml"}.get(target, "out")
    clean = tmp_path / "clean" / name
    maskkit.convert(src, clean, to=target, workers=1, progress=False)
    good = data["annotations"][-1]["segmentation"]
    data["annotations"][-1]["segmentation"] = [[1, 2, 3]]
    (tmp_path / "bad.json").write_text(json.dumps(data))
    out = tmp_path / "resumed" / name
    with pytest.raises(maskkit.InvalidAnnotationError):
        maskkit.convert(tmp_path / "bad.json", out, to=target, workers=1, progress=False)
    data["annotations"][-1]["segmentation"] = good
    (tmp_path / "bad.json").write_text(json.dumps(data))
    s = maskkit.convert(tmp_path / "bad.json", out, to=target, workers=1, progress=False,
                        resume=True)
    assert s["resumed"] == 3 and s["images"] == 4

    def files(root):
        root = root if root.is_dir() else root.parent
        return {p.relative_to(root): p.read_bytes() for p in root.rglob("*")
                if p.is_file() and not p.name.startswith(".")}

    assert files(out) == files(clean)
    with pytest.raises(maskkit.InvalidInputError, match="other options"):
        _resume_other(tmp_path, out, target)


def _resume_other(tmp_path, out, target):
    """A resume with other options than the interrupted run is refused."""
    from maskkit.datasets.conversion import _manifest_path
    from maskkit.datasets.formats import writer_for

    path = _manifest_path(out, writer_for(target, out, []))
    path.write_text(json.dumps({"convert_manifest": 1, "options": {"to": "other"}}) + "\n")
    maskkit.convert(tmp_path / "bad.json", out, to=target, workers=1, progress=False,
                    resume=True)


def test_hostile_image_size_is_refused(tmp_path):
    (tmp_path / "a.xml").write_text(
        '<annotations><meta><labels><label><name>t</name></label></labels></meta>'
        '<image id="0" name="a.jpg" width="1000000" height="1000000">'
        '<mask label="t" rle="1" left="0" top="0" width="1" height="1"></mask>'
        '</image></annotations>')
    with pytest.raises(maskkit.ImageTooLargeError, match="a.jpg"):
        maskkit.convert(tmp_path / "a.xml", tmp_path / "c.json", to="coco", workers=1,
                        progress=False)


def test_yolo_split_layouts(tmp_path):
    """Both layouts Ultralytics reads: root/labels/<split>/ and <split>/labels/ (Roboflow
    exports), images found by swapping the last 'labels' folder for 'images'."""
    src = make_coco(tmp_path, images=2, crowd=False, rle=False)
    maskkit.convert(src, tmp_path / "y", to="yolo", images=tmp_path, workers=1, progress=False)
    rf = tmp_path / "rf"
    for split in ("train", "valid"):
        (rf / split / "labels").mkdir(parents=True)
        (rf / split / "images").mkdir(parents=True)
    (rf / "train/labels/a.txt").write_bytes((tmp_path / "y/labels/img2.txt").read_bytes())
    (rf / "train/images/a.png").write_bytes((tmp_path / "img2.png").read_bytes())
    (rf / "valid/labels/b.txt").write_bytes((tmp_path / "y/labels/sub/img1.txt").read_bytes())
    (rf / "valid/images/b.png").write_bytes((tmp_path / "sub/img1.png").read_bytes())
    (rf / "data.yaml").write_text("names: [cat, dog]\ntrain: train/images\nval: valid/images\n")
    maskkit.convert(rf, tmp_path / "rf.json", to="coco", workers=1, progress=False)
    c = json.loads((tmp_path / "rf.json").read_text())
    assert [im["file_name"] for im in c["images"]] == ["train/images/a.png",
                                                      "valid/images/b.png"]
    a = by_image(json.loads(src.read_text()))
    index = {3: 0, 7: 1}  # no categories.json here: ids are data.yaml's class indices
    for name, ref in (("train/images/a.png", "img2.png"),
                      ("valid/images/b.png", "sub/img1.png")):
        got, want = by_image(c)[name], a[ref]
        assert [g["category_id"] for g in got] == [index[r["category_id"]] for r in want]
        for g, r in zip(got, want):
            if len(r["segmentation"]) == 1:
                assert g["segmentation"] == r["segmentation"]


def test_cityscapes_instance_pngs_read_back(tmp_path):
    """instanceIds PNGs (here maskkit's own) read as objects: one per value, exactly its
    pixels; values below 1000 of classes with instances are crowd regions."""
    from maskkit.io.png import read_png

    src = make_cityscapes(tmp_path, images=2)
    maskkit.convert(src, tmp_path / "o", to="cityscapes", outputs=["instanceIds"],
                    workers=1, progress=False)
    assert detect_format(tmp_path / "o") == "cityscapes"
    maskkit.convert(tmp_path / "o", tmp_path / "c.json", to="coco", workers=1,
                    progress=False)
    c = json.loads((tmp_path / "c.json").read_text())
    for name, anns in by_image(c).items():
        ids = read_png(tmp_path / "o" / name.replace("_leftImg8bit.png",
                                                     "_gtFine_instanceIds.png"))
        values = [v for v in np.unique(ids) if v]
        assert len(anns) == len(values)
        for a, v in zip(anns, values):
            assert np.array_equal(coco_mask(a["segmentation"], 60, 90), ids == v)
            assert a["category_id"] == (v // 1000 if v >= 1000 else v)
            assert a["iscrowd"] == int(v in (26,))  # the cargroup region
