"""maskkit convert, issue 20 round two: the per-chunk fast paths give exactly what the
per-object ones give (rings, IoU, JSON text, label-file parsing, PNG bytes), and chunked
batches keep the batch behaviour (one bad image fails alone, resume, manifest)."""

from __future__ import annotations

import gc
import io
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from test_convert import make_coco

import maskkit
from maskkit.datasets.formats.geometry import join_many, polygons_json, single_ring
from maskkit.datasets.formats.yolo import YoloReader, _parse_polygons


def _random_objects(rng, n):
    segs, hs, ws = [], [], []
    for _ in range(n):
        h, w = int(rng.integers(1, 50)), int(rng.integers(1, 50))
        seg = []
        for _ in range(int(rng.integers(1, 4))):
            k = int(rng.integers(3, 9))
            pts = np.round(rng.uniform(-5, max(h, w) + 5, 2 * k), int(rng.integers(0, 3)))
            if rng.random() < 0.3:
                pts[2:4] = pts[0:2]  # a zero-length edge
            seg.append(pts.tolist())
        if len(seg) > 1 and rng.random() < 0.2:
            seg[1] = list(seg[0])  # parts that cancel
        segs.append(seg)
        hs.append(h)
        ws.append(w)
    return segs, hs, ws


@settings(deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_join_many_is_single_ring_object_by_object(seed, check):
    """One kernel call for many objects of many image sizes = single_ring one by one
    (same ring, same floats after normalising, same IoU under COCO's rule)."""
    segs, hs, ws = _random_objects(np.random.default_rng(seed), 12)
    rings, ious = join_many(segs, hs, ws, check=check)
    for seg, h, w, ring, got in zip(segs, hs, ws, rings, ious.tolist()):
        ref, iou, _how = single_ring(seg, h, w, check=check)
        assert ring == [v / w if j % 2 == 0 else v / h for j, v in enumerate(ref)]
        assert got == iou


@pytest.mark.parametrize("part", [[], [0, 0, 1, 1], [0, 0, 1, 0, 1, 1, 2]])
def test_kernels_refuse_parts_they_cannot_walk(part):
    """Hostile parts (empty, 2 points, an odd count) are refused before any kernel."""
    from maskkit.datasets.formats.geometry import polygon_stats

    segs = [[[0, 0, 3, 0, 3, 3]], [[0, 0, 3, 0, 3, 3], part]]
    for call in (lambda: join_many(segs, [4, 4], [4, 4]),
                 lambda: polygon_stats(segs, [4, 4], [4, 4])):
        with pytest.raises(maskkit.InvalidPolygonError, match="object 1.*polygon part 1"):
            call()


def test_join_many_names_the_bad_object():
    with pytest.raises(maskkit.InvalidPolygonError, match="obj 7"):
        join_many([[[0, 0, 1, 0, 1, 1]], [[0, 0, float("nan"), 0, 1, 1]]], [4, 4], [4, 4],
                  name_of=lambda k: f"obj {k + 6}")


_grid = st.one_of(
    st.integers(-10**15 + 1, 10**15 - 1).map(lambda n: float(np.round(n / 1e9, 9))),
    st.integers(-10**6, 10**6).map(lambda n: n / 8),
    st.floats(-2e6, 2e6, allow_nan=False),
    st.sampled_from([0.0, -0.0, 1e-4, -1e-4, 9.9e-5, 999999.999999999, 1e6, 5e-10]),
    st.integers(-1000, 1000),
)


@settings(deadline=None)
@given(st.lists(st.lists(st.lists(_grid, min_size=6, max_size=12).map(
    lambda v: v[: len(v) // 2 * 2]), min_size=1, max_size=3), min_size=1, max_size=8))
def test_polygons_json_is_json_dumps(segs):
    """The kernel's text is json.dumps' text whenever it gives one, and it gives one for
    every all-float object on the 1e-9 grid in its range (also when told which objects
    are all floats, as the YOLO reader's are)."""
    texts = polygons_json(segs)
    known = [all(type(v) is float for p in seg for v in p) for seg in segs]
    assert polygons_json(segs, known) == texts
    for seg, text in zip(segs, texts):
        vals = [v for p in seg for v in p]
        eligible = all(type(v) is float and v == np.round(v, 9) and abs(v) < 1e6
                       and (v == 0 or abs(v) >= 1e-4) for v in vals)
        assert (text is not None) == eligible
        if text is not None:
            assert text == json.dumps(seg)


@settings(deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.lists(
    st.floats(-2, 2, allow_nan=False).map(lambda v: round(v, 6)), min_size=0, max_size=10),
    st.sampled_from([" ", "  ", "\t"])), min_size=0, max_size=6),
    st.sampled_from(["\n", "\r\n"]))
def test_label_file_fast_parse_is_the_line_by_line_one(lines, eol):
    text = eol.join(f"{k}{sep}{sep.join(map(repr, v))}" for k, v, sep in lines) + eol
    fast = _parse_polygons(text, 3)
    reader = YoloReader.__new__(YoloReader)
    reader.class_ids = [10, 11, 12]
    try:
        slow = reader._parse_lines(text, "a.txt")
    except maskkit.MaskkitError:
        slow = "error"
    if fast is not None:  # else the caller takes the line-by-line way anyway
        assert slow != "error"
        assert fast[0] == slow[0] and fast[2] == slow[2]
        assert fast[1].tolist() == slow[1].tolist()
    elif slow not in (None, "error"):  # a box line (4 numbers) is the only other way
        assert any(len(v) == 4 for _k, v, _s in lines)


@pytest.mark.parametrize("dtype,hi,palette", [(np.uint8, 200, False), (np.uint16, 9, False),
                                              (np.uint16, 33001, False), (np.uint8, 20, True)])
def test_format_pngs_read_back_at_their_depth(dtype, hi, palette):
    from maskkit._palette import voc_palette
    from maskkit.datasets.formats.labelpng import encode_png, encode_png_zlib

    rng = np.random.default_rng(hi)
    lab = np.repeat(rng.integers(0, hi + 1, (37, 1)), 53, axis=1).astype(dtype)
    lab[rng.random(lab.shape) < 0.05] = hi
    pal = voc_palette()[:hi + 1] if palette else None
    for enc in (encode_png, encode_png_zlib):
        im = Image.open(io.BytesIO(enc(lab, palette=pal)))
        assert im.mode == ("P" if palette else "L" if dtype == np.uint8 else "I;16")
        assert np.array_equal(np.asarray(im), lab)
        if palette:
            assert np.array_equal(np.asarray(im.getpalette(), np.uint8).reshape(-1, 3),
                                  pal)


@pytest.fixture
def small_chunks(monkeypatch):
    import maskkit.datasets.conversion

    monkeypatch.setattr(maskkit.datasets.conversion, "CHUNK", 3)


@pytest.mark.parametrize("target", ["yolo", "coco"])
def test_a_bad_image_fails_alone_in_its_chunk(tmp_path, small_chunks, target):
    src = make_coco(tmp_path, images=8, crowd=False)
    data = json.loads(src.read_text())
    bad = next(a for a in data["annotations"] if a["image_id"] == 15)
    bad["segmentation"] = [[1, 2, 3]]
    (tmp_path / "bad.json").write_text(json.dumps(data))
    out = tmp_path / ("c.json" if target == "coco" else "y")
    s = maskkit.convert(tmp_path / "bad.json", out, to=target, workers=1, progress=False,
                        on_error="skip")
    assert s["images"] == 7 and s["skipped"] == 1
    errors = out.with_suffix(".errors.jsonl") if target == "coco" else \
        out / "convert_errors.jsonl"
    err = [json.loads(x) for x in errors.read_text().splitlines()]
    assert len(err) == 1 and "image 15" in err[0]["image"]
    # the same images, converted one chunk at a time without the bad one, give the same
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] != 15]
    data["images"] = [im for im in data["images"] if im["id"] != 15]
    (tmp_path / "good.json").write_text(json.dumps(data))
    ref = tmp_path / ("ref.json" if target == "coco" else "ref")
    maskkit.convert(tmp_path / "good.json", ref, to=target, workers=1, progress=False)
    if target == "coco":
        assert json.loads(out.read_text()) == json.loads(ref.read_text())
    else:
        got = {p.relative_to(out): p.read_bytes() for p in (out / "labels").rglob("*.txt")}
        assert got == {p.relative_to(ref): p.read_bytes()
                       for p in (ref / "labels").rglob("*.txt")}


def test_resume_reads_chunk_lines(tmp_path, small_chunks):
    """An interrupted run's manifest has one line per finished chunk; --resume redoes only
    the images of no finished chunk's line."""
    src = make_coco(tmp_path, images=8, crowd=False)
    data = json.loads(src.read_text())
    good = [a["segmentation"] for a in data["annotations"] if a["image_id"] == 17]
    for a in data["annotations"]:
        if a["image_id"] == 17:
            a["segmentation"] = [[1, 2, 3]]
    (tmp_path / "bad.json").write_text(json.dumps(data))
    out = tmp_path / "c.json"
    with pytest.raises(maskkit.InvalidAnnotationError, match="annotation 19"):
        maskkit.convert(tmp_path / "bad.json", out, to="coco", workers=1, progress=False)
    lines = (tmp_path / ".c.json.convert_manifest.jsonl").read_text().splitlines()
    # the options line, then chunks [11 12 13], [14 15 16], [17 18]: 18 was done, 17 not
    assert len(lines) == 4 and len(json.loads(lines[-1])["items"]) == 1
    it = iter(good)
    for a in data["annotations"]:
        if a["image_id"] == 17:
            a["segmentation"] = next(it)
    (tmp_path / "bad.json").write_text(json.dumps(data))
    s = maskkit.convert(tmp_path / "bad.json", out, to="coco", workers=1, progress=False,
                        resume=True)
    assert s["resumed"] == 7 and s["images"] == 8
    maskkit.convert(tmp_path / "bad.json", tmp_path / "ref.json", to="coco", workers=1,
                    progress=False)
    assert out.read_bytes() == (tmp_path / "ref.json").read_bytes()


def test_two_workers_write_what_one_writes(tmp_path, small_chunks):
    src = make_coco(tmp_path, images=7)
    for n in (1, 2):
        maskkit.convert(src, tmp_path / f"y{n}", to="yolo", images=tmp_path, workers=n,
                        progress=False)
        maskkit.convert(tmp_path / f"y{n}", tmp_path / f"c{n}.json", to="coco", workers=n,
                        progress=False)
    assert (tmp_path / "c1.json").read_bytes() == (tmp_path / "c2.json").read_bytes()
    assert {p.name: p.read_bytes() for p in (tmp_path / "y1/labels").rglob("*.txt")} == \
        {p.name: p.read_bytes() for p in (tmp_path / "y2/labels").rglob("*.txt")}


def test_garbage_collector_left_as_found(tmp_path):
    src = make_coco(tmp_path, images=2)
    maskkit.convert(src, tmp_path / "y", to="yolo", workers=1, progress=False)
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_write_all_names_the_file_it_cannot_write(tmp_path):
    from maskkit.datasets.formats.base import StagedFolder

    sf = StagedFolder(tmp_path / "out")
    sf.start()
    (sf.stage / "a.txt").mkdir()  # a folder where the file goes
    written = sf.write_all([("sub/b.txt", b"y")])
    assert written[0][0] == str(sf.stage / "sub/b.txt")
    assert (sf.stage / "sub/b.txt").read_bytes() == b"y"
    with pytest.raises(maskkit.MaskkitIOError, match="a.txt"):
        sf.write_all([("a.txt", b"x")])


@settings(deadline=None)
@given(st.lists(st.tuples(st.integers(-5 * 10**6, 10**8), st.integers(0, 9),
                          st.integers(1, 50000)), min_size=1, max_size=40))
def test_yolo_numbers_give_every_vertex_back(pts):
    """Written by the kernel, read as the YOLO reader reads (float, times the image size,
    snapped to 1e-9 px): every vertex on the 1e-9 px grid comes back exactly, whatever
    the image size (beyond the kernel's range the number is written by repr)."""
    from maskkit.datasets.formats.geometry import yolo_numbers

    xs = [float(np.round(n / 10**d, 9)) for n, d, _ in pts]
    dims = [dim for _, _, dim in pts]
    vals = np.array([x / dim for x, dim in zip(xs, dims)])
    # each value its own one-number "ring": x of an image of width dim
    texts = yolo_numbers(vals, np.arange(len(xs) + 1), [1] * len(xs), dims)
    for text, x, dim, v in zip(texts, xs, dims, vals.tolist()):
        back = float(np.round(float(text) * dim, 9))
        # exact where repr is (a vertex of 1e8 px with 9 decimals is beyond a double's
        # digits either way), and always within the kernel's range
        assert back == float(np.round(float(repr(v)) * dim, 9))
        assert back == x or abs(x) >= 5e4
        assert len(text) <= 22 or text == repr(v)
        if len(repr(v)) <= 8 and "e" not in repr(v):  # short reprs are kept
            assert text == repr(v)


_BOUNDS_SCRIPT = r"""
import numpy as np
import maskkit
from maskkit.datasets.formats.geometry import join_many, polygon_stats, polygons_json, yolo_numbers

rng = np.random.default_rng(0)
for trial in range(60):
    segs, hs, ws = [], [], []
    for _ in range(int(rng.integers(1, 6))):
        h, w = int(rng.integers(1, 30)), int(rng.integers(1, 30))
        seg = []
        for _ in range(int(rng.integers(1, 4))):
            k = int(rng.integers(3, 8))
            v = rng.choice([rng.uniform(-40, 70, 2 * k), rng.uniform(-2**24, 2**24, 2 * k),
                            np.zeros(2 * k), np.round(rng.uniform(0, 9, 2 * k))])
            seg.append(v.tolist())
        segs.append(seg); hs.append(h); ws.append(w)
    join_many(segs, hs, ws)
    texts, _ = join_many(segs, hs, ws, as_text=True)
    polygon_stats(segs, hs, ws)
    polygons_json(segs)
    vals = rng.choice([0.0, -0.0, 1e-4, 9.99e-5, 1e7, np.nan, np.inf, 0.5], 40)
    yolo_numbers(vals, np.array([0, 13, 13, 40]), [3, 1, 7], [9, 2, 50000])
print("ok")
"""


@pytest.mark.boundscheck(_BOUNDS_SCRIPT)
def test_new_kernels_stay_in_bounds(boundscheck):
    """The chunk kernels, compiled with bounds checking, on zero-area, degenerate,
    far-out and non-finite input (through their public wrappers)."""
    assert boundscheck.strip() == "ok"


def test_yolo_lines_keep_file_order_when_rles_and_polygons_mix(tmp_path):
    """Polygon objects go through one kernel call and RLE objects are traced one by one;
    the label file still lists them in the source's order, crowd regions dropped."""
    rle = maskkit.polygon_to_rle([[2, 2, 6, 2, 6, 5, 2, 5]], 10, 12)
    anns = [{"id": 1, "category_id": 1, "segmentation": [[0, 0, 4, 0, 4, 3]]},
            {"id": 2, "category_id": 2, "segmentation": rle},
            {"id": 3, "category_id": 1, "segmentation": [[1, 1, 5, 1, 5, 4]], "iscrowd": 1},
            {"id": 4, "category_id": 3, "segmentation": [[6, 6, 9, 6, 9, 9], [0, 8, 2, 8, 2, 9]]},
            {"id": 5, "category_id": 2, "segmentation": rle}]
    doc = {"images": [{"id": 1, "file_name": "a.png", "height": 10, "width": 12}],
           "annotations": [dict(a, image_id=1) for a in anns],
           "categories": [{"id": k, "name": f"c{k}"} for k in (1, 2, 3)]}
    (tmp_path / "in.json").write_text(json.dumps(doc))
    summary = maskkit.convert(tmp_path / "in.json", tmp_path / "y", to="yolo", workers=1,
                              progress=False)
    lines = (tmp_path / "y/labels/a.txt").read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["0", "1", "2", "1"]
    assert summary["objects_written"] == 4 and summary["dropped"] == 1
    losses = [json.loads(x) for x in (tmp_path / "y/convert_losses.jsonl").read_text().splitlines()]
    # the RLEs traced (exactly: IoU 1) and the two-part object joined, in file order
    assert [(x["object"], x["how"]) for x in losses if "iou" in x] == [
        (1, "traced"), (3, "joined"), (4, "traced")]
