"""The columnar way through ``maskkit.convert`` (a reader's ``read_columns`` to a writer's
``write_columns``): what it writes is byte for byte what the record way writes, whatever
the dataset holds, and the JSON kernel's rings are json's numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import maskkit
from maskkit.datasets.formats.yolo import YoloWriter

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
MMDET = REAL / "coco_val2017_instances_mmdet" / "instances_val2017.json"


# ------------------------------------------------------------ the JSON kernel's rings

_fast = st.one_of(st.integers(-10**6, 10**6),
                  st.floats(-1e5, 1e5, allow_nan=False).map(lambda v: round(v, 3)))
_text = st.one_of(
    _fast.map(repr),
    st.sampled_from(["-0", "-0.0", "0.0", "1e2", "1E-3", "12345678901234567890", "1e400",
                     "0.30000000000000004", "9007199254740993", "2.5e-300", "-1.5e+2"]))
_ring = st.lists(_text, min_size=0, max_size=9)
_value = st.one_of(
    st.lists(_ring, min_size=1, max_size=3).map(lambda rs: "[" + ", ".join(
        "[" + ", ".join(r) + "]" for r in rs) + "]"),
    st.sampled_from(['{"size": [4, 5], "counts": "0"}', "[]", "[1, 2, 3, 4, 5, 6]", "7",
                     '[[1, 2, "x"]]', "[[1, 2], 3]", "null", '[[1, 2, 3, 4, 5, 6], []]',
                     '[[1, 2, 3, 4, 5, 6], {"a": [[1]]}]']))


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["segmentation", "segmentation", "bbox",
                                           "segmentatio\\u006e"]), _value), max_size=6),
       st.sampled_from([" ", "", "\n    "]))
def test_read_json_rings_is_json(tmp_path_factory, items, ws):
    """Every value the kernel took is json's numbers bit for bit, in json's nesting;
    every other value is json's; the ints replace the taken values in file order."""
    from maskkit.io.files import read_json_rings

    text = "[" + ", ".join(f'{{"{k}":{ws}{v}, "id": 1}}' for k, v in items) + "]"
    path = tmp_path_factory.mktemp("r") / "a.json"
    path.write_text(text)
    ref = json.loads(text)
    doc, rings = read_json_rings(path, "segmentation")
    taken = 0
    for got, want in zip(doc, ref):
        (key, g), (_, w) = next(iter(got.items())), next(iter(want.items()))
        if rings is not None and key == "segmentation" and type(g) is int and type(w) is list:
            assert g == taken
            taken += 1
            value_rings, ring_ends, xy = rings
            parts = [xy[ring_ends[r]:ring_ends[r + 1]]
                     for r in range(value_rings[g], value_rings[g + 1])]
            assert len(parts) == len(w)
            for got_part, want_part in zip(parts, w):
                assert got_part.tobytes() == np.asarray(want_part, np.float64).tobytes()
        else:
            assert json.dumps(g) == json.dumps(w)
        assert got["id"] == 1
    if rings is not None:
        assert rings[0].size - 1 == taken


# ------------------------------------------------------- columns and records agree

def _write_coco(path: Path, rng, n_images: int, kinds: list[str]) -> None:
    images, anns = [], []
    for i in range(n_images):
        h, w = int(rng.integers(5, 40)), int(rng.integers(5, 40))
        images.append({"id": i + 1, "file_name": f"d{i % 3}/{i}.png", "height": h, "width": w})
        for _ in range(int(rng.integers(0, 5))):
            kind = str(rng.choice(kinds))
            seg = []
            for _ in range(2 if kind == "parts" else 1):
                n = int(rng.integers(3, 8))
                pts = np.stack([rng.uniform(-2, w + 2, n), rng.uniform(-2, h + 2, n)], 1)
                seg.append(np.round(pts, int(rng.integers(0, 4))).ravel().tolist())
            ann = {"id": len(anns) + 1, "image_id": i + 1,
                   "category_id": int(rng.integers(1, 4)), "segmentation": seg,
                   "iscrowd": 0, "area": 1, "bbox": [0, 0, 1, 1]}
            if kind == "ints":
                ann["segmentation"] = [[int(v) for v in seg[0]]]
            elif kind == "crowd":
                ann["iscrowd"] = 1
            elif kind == "rle":
                ann["segmentation"] = {"size": [h, w], "counts": [3, 4, h * w - 7]}
                ann["iscrowd"] = int(rng.integers(0, 2))
            elif kind == "flat":
                ann["segmentation"] = seg[0]
            elif kind == "score":
                ann["score"] = 0.5
            elif kind == "short":  # 5 coordinates: the image fails, named
                ann["segmentation"] = [[1, 1, 2, 2, 3]]
            elif kind == "unknown":
                ann["category_id"] = 99
            elif kind == "empty":  # a sliver with no pixel
                ann["segmentation"] = [[1.1, 1.1, 1.2, 1.1, 1.15, 1.12]]
            elif kind == "far":
                ann["segmentation"] = [[0, 0, 1e13, 0, 1, 1]]
            elif kind == "noseg":
                del ann["segmentation"]
            elif kind == "noimage":
                ann["image_id"] = 10**6
            elif kind == "crowdflag":  # iscrowd written as true, or absent
                ann["iscrowd"] = True if rng.random() < 0.5 else ann.pop("iscrowd") * 0
                if ann["iscrowd"] == 0:
                    del ann["iscrowd"]
            anns.append(ann)
    cats = [{"id": k, "name": f"c{k}", "supercategory": ""} for k in (1, 2, 3)]
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))


def _tree(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _both_ways(monkeypatch, src, out: Path, **kw):
    """convert() with the columnar way and without it: (summary, files) twice."""
    from maskkit.datasets.formats.yolo import YoloReader

    runs = []
    for columns in (True, False):
        monkeypatch.setattr(YoloWriter, "any_columns", columns)
        if not columns:
            monkeypatch.setattr(YoloReader, "read_columns", None)
        folder = out / ("columns" if columns else "records")
        dst = folder / "out.json" if kw["to"] == "coco" else folder
        folder.mkdir()
        try:
            s = maskkit.convert(src, dst, progress=False, **kw)
        except maskkit.MaskkitError as exc:
            runs.append((type(exc).__name__, str(exc).replace(str(folder), "DST"), {}))
            continue
        for k in ("seconds", "output", "losses_file"):
            s.pop(k)
        runs.append((s, None, _tree(folder)))
    return runs


KINDS = ["plain", "parts", "ints", "crowd", "rle", "flat", "score", "short", "unknown",
         "empty", "far", "noseg", "noimage", "crowdflag"]


@settings(deadline=None, max_examples=25,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 2**32 - 1), st.lists(st.sampled_from(KINDS), min_size=1, max_size=4,
                                           unique=True),
       st.sampled_from(["raise", "skip"]), st.sampled_from([1, 2]))
def test_coco_to_yolo_columns_write_what_records_write(tmp_path_factory, monkeypatch, seed,
                                                      kinds, on_error, workers):
    out = tmp_path_factory.mktemp("c")
    src = out / "in.json"
    _write_coco(src, np.random.default_rng(seed), 9, ["plain", *kinds])
    a, b = _both_ways(monkeypatch, src, out, to="yolo", on_error=on_error, workers=workers)
    _same(a, b, workers)


def _same(a, b, workers):
    """The same runs; with two workers the error raised is the first one a worker
    reports (of any bad image), whichever way."""
    if workers > 1 and a[1] is not None:
        assert b[1] is not None
    else:
        assert a == b


def test_columns_are_taken_for_plain_polygons(tmp_path, monkeypatch):
    """The fast way is really the way taken for plain polygons (and the records' way
    for an image with an RLE)."""
    from maskkit.datasets.formats.coco import CocoReader

    src = tmp_path / "in.json"
    _write_coco(src, np.random.default_rng(1), 6, ["plain", "parts"])
    doc = json.loads(src.read_text())
    doc["annotations"].append({"id": 999, "image_id": 6, "category_id": 1, "iscrowd": 1,
                               "segmentation": {"size": [5, 5], "counts": [0, 25]}})
    src.write_text(json.dumps(doc))
    reader = CocoReader(src, columns=True)
    chunk, rest = reader.read_columns(reader.units)
    assert chunk.positions == [0, 1, 2, 3, 4] and list(rest) == [5]
    assert reader.read_columns is not None and CocoReader(src).read_columns is None
    a, b = _both_ways(monkeypatch, src, tmp_path, to="yolo", workers=1)
    assert a == b and a[0]["dropped"] == 1


@pytest.mark.skipif(not MMDET.is_file(), reason="../shared/data/real not present")
def test_real_coco_to_yolo_columns_and_records_agree(tmp_path, monkeypatch):
    a, b = _both_ways(monkeypatch, MMDET, tmp_path, to="yolo", workers=1)
    assert a == b and a[0]["objects_read"] > 0


def test_a_segmentation_int_in_the_file_is_not_mistaken(tmp_path):
    """An int written as a segmentation is an error, as json reads the file, not a
    reference to parsed numbers."""
    src = tmp_path / "in.json"
    src.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.png", "height": 9, "width": 9}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                         "segmentation": [[1, 1, 5, 1, 5, 5]]},
                        {"id": 2, "image_id": 1, "category_id": 1, "segmentation": 0}],
        "categories": [{"id": 1, "name": "a"}]}))
    with pytest.raises(maskkit.MaskkitError, match="annotation 2"):
        maskkit.convert(src, tmp_path / "out", to="yolo", workers=1, progress=False)


def test_many_images_in_chunks_agree(tmp_path, monkeypatch):
    src = tmp_path / "in.json"
    _write_coco(src, np.random.default_rng(5), 700, ["plain", "parts", "crowd", "rle"])
    a, b = _both_ways(monkeypatch, src, tmp_path, to="yolo", workers=2)
    assert a == b and a[0]["images"] == 700 and not math.isnan(a[0]["mean_iou"])


# ------------------------------------------------------------------ YOLO -> COCO

def _png(path: Path, w: int, h: int) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (w, h)).save(path)


LINE_KINDS = ["maskkit", "ultralytics", "box", "blank", "crlf", "tabs", "bad", "class",
              "odd", "huge", "long", "exp", "missing"]


def _write_yolo(root: Path, rng, n_images: int, kinds: list[str]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "data.yaml").write_text("names:\n  0: a\n  1: b\n  2: c\n")
    for i in range(n_images):
        w, h = int(rng.integers(3, 50)), int(rng.integers(3, 50))
        kind = str(rng.choice(kinds))
        if kind != "missing":
            _png(root / "images" / f"s{i % 2}" / f"{i}.png", w, h)
        lines = []
        for _ in range(int(rng.integers(0, 4))):
            n = 2 * int(rng.integers(3, 9))
            v = rng.uniform(0, 1, n)
            if kind == "ultralytics":
                nums = [f"{x:.6f}" for x in v]
            else:
                nums = [repr(float(x)) for x in np.round(v, int(rng.integers(1, 17)))]
            cls = int(rng.integers(0, 3))
            if kind == "box":
                nums = nums[:4]
            elif kind == "bad":
                nums[1] = "0.5x"
            elif kind == "class":
                cls = 7
            elif kind == "odd":
                nums = nums[:-1]
            elif kind == "huge":
                nums[0] = "1e7"
            elif kind == "long":
                nums[0] = "0.12345678901234567890"
            elif kind == "exp":
                nums[0] = "5e-1"
            lines.append(("\t" if kind == "tabs" else " ").join([str(cls), *nums]))
        end = "\r\n" if kind == "crlf" else "\n"
        text = end.join(lines) + (end if lines else "")
        if kind == "blank":
            text = "\n  \n" + text + "\n\n"
        path = root / "labels" / f"s{i % 2}" / f"{i}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())


@settings(deadline=None, max_examples=25,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 2**32 - 1), st.lists(st.sampled_from(LINE_KINDS), min_size=1,
                                           max_size=4, unique=True),
       st.sampled_from(["raise", "skip"]), st.sampled_from([1, 2]),
       st.sampled_from(["coco", "coco", "yolo"]))
def test_yolo_to_coco_columns_write_what_records_write(tmp_path_factory, monkeypatch, seed,
                                                      kinds, on_error, workers, to):
    out = tmp_path_factory.mktemp("y")
    _write_yolo(out / "src", np.random.default_rng(seed), 9, ["maskkit", *kinds])
    a, b = _both_ways(monkeypatch, out / "src", out, to=to, on_error=on_error,
                      workers=workers)
    _same(a, b, workers)


def test_yolo_columns_are_taken(tmp_path, monkeypatch):
    from maskkit.datasets.formats.yolo import YoloReader

    _write_yolo(tmp_path / "src", np.random.default_rng(3), 8, ["maskkit", "ultralytics"])
    reader = YoloReader(tmp_path / "src")
    chunk, rest = reader.read_columns(reader.units)
    assert chunk.positions == list(range(8)) and not list(rest)
    a, b = _both_ways(monkeypatch, tmp_path / "src", tmp_path, to="coco", workers=1)
    assert a == b and a[0]["objects_read"] > 0


def test_yolo_many_images_in_chunks_agree(tmp_path, monkeypatch):
    _write_yolo(tmp_path / "src", np.random.default_rng(8), 600,
                ["maskkit", "ultralytics", "box", "crlf"])
    a, b = _both_ways(monkeypatch, tmp_path / "src", tmp_path, to="coco", workers=2)
    assert a == b and a[0]["images"] == 600


def test_images_without_objects_stay_on_the_columnar_way(tmp_path, monkeypatch):
    """Images with no annotation (last in a chunk too) are written by the columnar way,
    not sent back to the record way."""
    from maskkit.datasets import conversion

    src = tmp_path / "in.json"
    _write_coco(src, np.random.default_rng(2), 5, ["plain", "parts", "crowd"])
    doc = json.loads(src.read_text())
    doc["images"].append({"id": 99, "file_name": "none.png", "height": 9, "width": 9})
    src.write_text(json.dumps(doc))
    calls = []
    real = YoloWriter.write_many
    monkeypatch.setattr(YoloWriter, "write_many",
                        lambda self, recs: calls.append(len(recs)) or real(self, recs))
    s = maskkit.convert(src, tmp_path / "out", to="yolo", workers=1, progress=False)
    assert calls == [] and s["images"] == 6
    assert (tmp_path / "out/labels/none.txt").read_bytes() == b""
    assert conversion.CHUNK >= 6
