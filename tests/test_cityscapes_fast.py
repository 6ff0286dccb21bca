"""Issue 20, round three: the Cityscapes polygons -> label PNG path made fast stays exact.

The run-length DEFLATE kernel (label map read in place, runs found by 64-byte masks,
Adler-32 in 64-bit sums) against zlib; the reader's one-array path against its object-by-
object path (same records, same errors); the packed painter against ``paint_polygons``;
the writer's reused label maps.
"""

from __future__ import annotations

import io
import json
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import maskkit
from maskkit._kernels import deflate as kd
from maskkit.core.rasterize import paint_polygons, paint_rings
from maskkit.io.png import encode_label_png, encode_png_array

#: Row widths around the kernel's block sizes (64 uint8 pixels, 32 uint16 ones) and the
#: DEFLATE match lengths (3, 258: a run of 259 or 260 needs its last match split).
WIDTHS = [1, 2, 3, 4, 5, 31, 32, 33, 63, 64, 65, 127, 128, 129, 257, 258, 259, 260, 261,
          262, 516, 517, 518, 519]


def _stream(labels: np.ndarray) -> bytes:
    """What the PNG's zlib stream must hold: per row a filter byte 0 and the row's bytes
    (big-endian for 16-bit pixels)."""
    h = labels.shape[0]
    rows = labels.astype(labels.dtype.newbyteorder(">")).view(np.uint8).reshape(h, -1)
    return np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()


def _check(labels: np.ndarray) -> bytes:
    z = kd.deflate_rows(np.ascontiguousarray(labels)).tobytes()
    raw = _stream(labels)
    assert zlib.decompress(z) == raw  # zlib checks the Adler-32 too
    assert int.from_bytes(z[-4:], "big") == zlib.adler32(raw)
    return z


def _runs(rng, n: int, values: np.ndarray, longest: int) -> np.ndarray:
    """``n`` pixels as runs of 1..``longest`` of values drawn from ``values``."""
    k = max(1, n // max(1, longest // 2) + 2)
    out = np.repeat(rng.choice(values, k), rng.integers(1, longest + 1, k))
    while out.size < n:
        out = np.concatenate([out, out])
    return out[:n]


@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.sampled_from(WIDTHS),
       st.sampled_from(["u8", "u16", "u16_even", "noise"]), st.integers(1, 300))
def test_deflate_rows_is_zlib_exact(seed, h, w, kind, longest):
    """Any map: zlib inflates the stream to the PNG rows, with the right Adler-32."""
    rng = np.random.default_rng(seed)
    if kind == "u8":
        lab = _runs(rng, h * w, np.array([0, 0, 1, 7, 143, 144, 255]), longest)
        lab = lab.astype(np.uint8)
    elif kind == "u16":  # bytes that differ (pairs), zeros, equal bytes (257 k)
        lab = _runs(rng, h * w, np.array([0, 0, 7, 257, 514, 26001, 26002, 65535]),
                    longest).astype(np.uint16)
    elif kind == "u16_even":
        lab = (_runs(rng, h * w, np.arange(4), longest) * 257).astype(np.uint16)
    else:
        lab = rng.integers(0, 256, h * w).astype(np.uint8)
    _check(lab.reshape(h, w))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 258, 259, 260, 261, 2**16 - 1, 2**16, 2**16 + 1,
                               2**16 + 2, 2**20, 2**20 + 1])
def test_deflate_rows_single_runs(n, dtype):
    """One run of every tricky length (literal only, 2 or 3 literals, a split last match,
    the 64-bit Adler sums' long-run path beyond 2^20 bytes), alone and across rows."""
    for v in (0, 1, 255, 258, 0x0102, 65535):
        if v > np.iinfo(dtype).max:
            continue
        _check(np.full((1, n), v, dtype))
        if n <= 2**16 + 2:
            lab = np.full((3, n), v, dtype)
            lab[1, 0] = 9
            _check(lab)


def test_deflate_rows_reduces_its_sums_on_big_maps():
    """More than 2^22 bytes (the sums are reduced every 4 MB), rows of width 1, and a
    whole 16-bit map of equal pixels whose bytes differ."""
    rng = np.random.default_rng(3)
    _check(_runs(rng, 2300 * 2100, np.array([0, 3, 200]), 5000).astype(np.uint8)
           .reshape(2300, 2100))
    _check(_runs(rng, 70000, np.array([0, 1]), 3).astype(np.uint8).reshape(70000, 1))
    _check(np.full((1200, 1900), 0x0102, np.uint16))


def test_run_length_pngs_decode_with_pillow():
    rng = np.random.default_rng(5)
    for lab in (rng.integers(0, 3, (33, 70)).astype(np.uint8).repeat(5, axis=1),
                (rng.integers(0, 3, (9, 40)) * 12345).astype(np.uint16)):
        for data in (encode_png_array(lab), encode_label_png(lab)):
            with Image.open(io.BytesIO(data)) as im:
                assert np.array_equal(np.asarray(im).astype(np.int64), lab)
    big = np.full((40, 50), 26001, np.uint16)  # a 16-bit map compresses as pixel runs
    assert len(encode_png_array(big)) < 60 + 8 * 40  # a few bytes a row, not 2 a pixel


BOUNDSCHECK_SCRIPT = r"""
import numpy as np, zlib
from maskkit._kernels import deflate as kd
rng = np.random.default_rng(1)
for w in (1, 2, 31, 32, 33, 63, 64, 65, 100, 130):
    for h in (1, 3):
        for dtype, top in ((np.uint8, 4), (np.uint16, 70000)):
            lab = rng.integers(0, 4, (h, w)).astype(dtype)
            if dtype == np.uint16:
                lab *= np.array(rng.choice([1, 257, 26000]), dtype)
            z = kd.deflate_rows(lab).tobytes()
            assert zlib.decompress(z)
for shape in ((0, 5), (3, 0)):  # no pixels: an empty stream, nothing read
    for dtype in (np.uint8, np.uint16):
        assert zlib.decompress(kd.deflate_rows(np.zeros(shape, dtype)).tobytes()) == b""
from maskkit._kernels import coco as kc
for it in range(300):
    h, w = (int(v) for v in rng.integers(1, 70, 2))
    rings = [rng.uniform(-1e4, 1e4, 2 * int(rng.integers(3, 12))) if it % 3 == 0 else
             rng.uniform(-3, max(h, w) + 3, 2 * int(rng.integers(3, 40)))
             for _ in range(int(rng.integers(1, 5)))]
    out = np.zeros((h, w), np.uint8)
    kc.paint_rings(out, np.concatenate(rings), np.cumsum([0] + [r.size for r in rings]),
                   np.arange(1, len(rings) + 1, dtype=np.uint8), int(rng.choice([1, 3, 1 << 18])))
print("ok")
"""


@pytest.mark.boundscheck(BOUNDSCHECK_SCRIPT)
def test_deflate_rows_and_ring_kernel_stay_in_bounds(boundscheck):
    """The kernels compiled with bounds checking (``MASKKIT_BOUNDSCHECK=1``; the wide loads
    and stores check both ends): the encoder on narrow and wide rows of both depths, the
    ring painter on far vertices and bitmaps in bands."""
    assert boundscheck.strip().endswith("ok")


# ------------------------------------------------------------------ packed painting


@settings(deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 60), st.integers(1, 60),
       st.sampled_from([np.uint8, np.uint16]))
def test_paint_rings_is_paint_polygons(seed, h, w, dtype):
    rng = np.random.default_rng(seed)
    rings = []
    for _ in range(int(rng.integers(1, 8))):
        k = int(rng.integers(3, 12))
        rings.append(np.round(rng.uniform(-5, max(h, w) + 5, 2 * k), 1).tolist())
    values = rng.integers(1, 255, len(rings)).tolist()
    a = paint_polygons(np.zeros((h, w), dtype), [[r] for r in rings], values, threads=1)
    offsets = np.cumsum([0] + [len(r) for r in rings])
    b = paint_rings(np.zeros((h, w), dtype), np.concatenate(rings), offsets, values,
                    threads=1)
    assert np.array_equal(a, b)


@settings(deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 50), st.integers(1, 150),
       st.sampled_from([1, 2, 7, 40, 1 << 18]))
def test_ring_kernel_in_bands_is_paint_polygons(seed, h, w, budget):
    """The ring kernel's bitmap done in bands of rows (a small ``budget`` of words), with
    vertices far outside the map, needles and rings crossing themselves."""
    from maskkit._kernels import coco as kc

    rng = np.random.default_rng(seed)
    rings = []
    for _ in range(int(rng.integers(1, 6))):
        k = int(rng.integers(3, 30))
        r = float(rng.choice([0.5, 5, 30, 1e4]))
        cx, cy = rng.uniform(-r, w + r), rng.uniform(-r, h + r)
        a = np.sort(rng.uniform(0, 6.3, k)) if rng.random() < 0.5 else rng.uniform(0, 6.3, k)
        rr = r * rng.uniform(0.02, 1.0, k)
        ring = np.empty(2 * k)
        ring[0::2], ring[1::2] = cx + rr * np.cos(a), cy + rr * np.sin(a)
        rings.append(np.round(ring, 2).tolist())
    values = rng.integers(1, 255, len(rings))
    want = paint_polygons(np.zeros((h, w), np.uint8), [[r] for r in rings], values.tolist(),
                          threads=1)
    got = np.zeros((h, w), np.uint8)
    kc.paint_rings(got, np.concatenate(rings), np.cumsum([0] + [len(r) for r in rings]),
                   values.astype(np.uint8), budget)
    assert np.array_equal(got, want)


@pytest.mark.parametrize("xy,offsets,match", [
    ([0, 0, 1, 0, 1, 1], [0, 4, 6], "ring_offsets"),
    ([0, 0, 1, 0, 1, 1, 2], [0, 7], "ring_offsets"),
    ([0, 0, 1, 0, 1, 1], [1, 6], "ring_offsets"),
    ([0, 0, 1, 0, 1, 1], [0, 8], "ring_offsets"),
    ([0, 0, 1, 0, np.inf, 1], [0, 6], "not finite"),
])
def test_paint_rings_refuses_bad_packing(xy, offsets, match):
    with pytest.raises(maskkit.MaskkitError, match=match):
        paint_rings(np.zeros((4, 4), np.uint8), np.array(xy, np.float64),
                    np.array(offsets), [1] * (len(offsets) - 1))


# ------------------------------------------------------------------ reader and writer


def _doc(rng, n=12, h=50, w=70):
    labels = ["road", "sky", "car", "person", "cargroup", "license plate", "pole",
              "bicycle"]
    objs = []
    for i in range(n):
        k = int(rng.integers(1, 9))
        pts = np.round(rng.uniform(-5, w + 5, (k, 2)), int(rng.integers(0, 3)))
        pts = pts.astype(int).tolist() if i % 3 == 0 else pts.tolist()  # ints as in gtFine
        obj = {"label": str(rng.choice(labels)), "polygon": pts}
        if rng.random() < 0.1:
            obj["deleted"] = 1
        objs.append(obj)
    return {"imgHeight": h, "imgWidth": w, "objects": objs}


def _read(tmp_path, doc, name="x_000000_000019_gtFine_polygons.json", *, way="kernel",
          text=None):
    """Read ``doc`` (or ``text``) as a polygons file: its polygons parsed by the kernel
    (``way="kernel"``), from json's lists at once (``"lists"``) or object by object, as
    before round three (``"objects"``)."""
    from maskkit.datasets.formats import cityscapes as cs

    folder = tmp_path / "gt"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(json.dumps(doc) if text is None else text)
    reader = cs.CityscapesReader(folder)
    real = cs._add_parsed, cs._add_polygons
    if way != "kernel":
        cs._add_parsed = lambda *args: False
    if way == "objects":
        cs._add_polygons = lambda *args: False
    try:
        return reader.read(name)
    finally:
        cs._add_parsed, cs._add_polygons = real


def _same_records(a, b):
    assert a.dropped == b.dropped
    assert [(i.category_id, i.iscrowd, i.segmentation) for i in a.instances] == \
        [(i.category_id, i.iscrowd, i.segmentation) for i in b.instances]


@settings(deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_reader_one_array_path_is_object_by_object(tmp_path_factory, seed):
    tmp = tmp_path_factory.mktemp("cs")
    doc = _doc(np.random.default_rng(seed))
    slow = _read(tmp, doc, way="objects")
    for way in ("kernel", "lists"):
        fast = _read(tmp, doc, way=way)
        _same_records(fast, slow)
        for inst in fast.instances:
            assert inst.coords.dtype == np.float64
            assert inst.coords.tolist() == inst.segmentation[0]
            assert all(type(v) is float for v in inst.segmentation[0])


def test_reader_indented_as_gtfine(tmp_path):
    """cityscapesscripts writes gtFine files indented by 4 with sorted keys."""
    doc = _doc(np.random.default_rng(5), n=9)
    text = json.dumps(doc, indent=4, sort_keys=True)
    _same_records(_read(tmp_path, None, text=text), _read(tmp_path, doc, way="objects"))


def test_reader_key_written_with_escapes_or_long_numbers(tmp_path):
    """A polygon under a key the kernel does not see (``"p\\u006flygon"`` is
    ``"polygon"`` to json), or numbers off its exact path: read as json reads them."""
    doc = _doc(np.random.default_rng(4), n=6)
    text = json.dumps(doc)
    escaped = text.replace('"polygon"', '"p\\u006flygon"', 1)
    _same_records(_read(tmp_path, None, text=escaped), _read(tmp_path, doc, way="objects"))
    doc["objects"][1]["polygon"] = [[1.0000000000000002, 3], [5, 2.5e-30], [7, 1e300]]
    doc["objects"][1].pop("deleted", None)
    text = json.dumps(doc)
    assert "2.5e-30" in text
    _same_records(_read(tmp_path, None, text=text), _read(tmp_path, doc, way="objects"))


@pytest.mark.parametrize("polygon,error", [
    ([[1, 2], [3, 4, 5], [6]], "polygon must be a list of \\[x, y\\]"),
    ([[1, 2], [3, "a"], [5, 6]], "polygon must be a list of \\[x, y\\]"),
    (["12", "34", "56"], "polygon must be a list of \\[x, y\\]"),
    ([[1, 2], {"a": 1, "b": 2}, [5, 6]], "polygon must be a list of \\[x, y\\]"),
    (5, "polygon must be a list of \\[x, y\\]"),
    (None, "polygon must be a list of \\[x, y\\]"),
    ("missing", "polygon must be a list of \\[x, y\\]"),
    ([[1, 2], [3, None], [5, 6]], "polygon coordinates must be finite"),
    ([[1, 2], [3, 1e400], [5, 6]], "polygon coordinates must be finite"),
])
def test_reader_names_the_bad_object(tmp_path, polygon, error):
    """An irregular polygon: the same one-line error as object by object (the file and
    object 2, the first bad one, though object 3's label is unknown)."""
    doc = _doc(np.random.default_rng(0), n=2)
    bad = {"label": "car"} if polygon == "missing" else {"label": "car", "polygon": polygon}
    doc["objects"] += [bad, {"label": "spaceship", "polygon": [[0, 0], [1, 0], [1, 1]]}]
    for way in ("kernel", "lists", "objects"):
        with pytest.raises(maskkit.InvalidAnnotationError, match=error) as exc:
            _read(tmp_path, doc, way=way)
        assert "object 2" in str(exc.value) and "gtFine_polygons.json" in str(exc.value)


def test_reader_unknown_label_and_not_an_object(tmp_path):
    doc = _doc(np.random.default_rng(1), n=3)
    doc["objects"].append({"label": "spaceship", "polygon": [[0, 0], [1, 0], [1, 1]]})
    with pytest.raises(maskkit.UnknownCategoryError, match="object 3.*spaceship"):
        _read(tmp_path, doc)
    doc["objects"][3] = [1, 2]
    with pytest.raises(maskkit.InvalidAnnotationError, match="object 3.*not a JSON object"):
        _read(tmp_path, doc)


def test_writer_pixels_with_and_without_packed_coordinates(tmp_path):
    """Records with their coordinate arrays and the same records without them (as a
    COCO reader makes them) give the same PNGs; the reused label maps start at zero for
    every image, whatever size came before."""
    from maskkit.datasets.formats import cityscapes as cs
    from maskkit.io.png import read_png

    rng = np.random.default_rng(7)
    recs = []
    for k, (h, w) in enumerate([(50, 70), (50, 70), (31, 90), (50, 70)]):
        recs.append(_read(tmp_path, _doc(rng, n=15, h=h, w=w),
                          name=f"a{k}_000000_000019_gtFine_polygons.json"))
    outs = {}
    for packed in (True, False):
        writer = cs.CityscapesWriter(tmp_path / f"o{packed}", cs.table_categories())
        writer.start()
        for rec in recs:
            for inst in rec.instances:
                if not packed:  # a record as other readers make it: lists only
                    inst.segmentation = inst.segmentation
                    inst.coords = None
            writer.write(rec)
        writer.finish([])
        outs[packed] = {p.name: read_png(p) for p in (tmp_path / f"o{packed}").rglob("*.png")}
    assert len(outs[True]) == 12 and outs[True].keys() == outs[False].keys()
    for name, arr in outs[True].items():
        assert np.array_equal(arr, outs[False][name]), name
    # and the reference: each map painted alone into fresh zeros by paint_polygons
    rec = recs[2]
    ids = np.zeros((rec.height, rec.width), np.uint8)
    paint_polygons(ids, [i.segmentation for i in rec.instances],
                   [i.category_id for i in rec.instances], threads=1)
    assert np.array_equal(outs[True]["a2_000000_000019_gtFine_labelIds.png"], ids)


# ------------------------------------------------------------------ JSON number pairs

_numbers = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.integers(-10**20, 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(-5000, 5000).map(lambda v: f"{v:.2f}"),
    st.tuples(st.integers(0, 10**6), st.integers(-30, 30)).map(lambda t: f"{t[0]}e{t[1]}"),
    st.sampled_from(["0", "-0", "0.0", "-0.0", "1E5", "1e+5", "1e-5", "-1.5E-3", "0.000001",
                     "9007199254740993", "1e22", "1e23", "123456789012345678"]),
)


@settings(deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["polygon", "label", "polygonx", "p\\u006flygon"]),
                          st.one_of(st.lists(st.tuples(_numbers, _numbers), max_size=6),
                                    st.sampled_from(['"polygon"', "null", "[1, 2]", "[[1]]",
                                                     "[[1, 2, 3]]", '{"polygon": [[1, 2]]}',
                                                     "[[NaN, 1]]", "[[01, 2]]"]))),
                max_size=6),
       st.sampled_from([" ", "", "\n  ", "\n" + " " * 21, " " * 8]))
def test_read_json_pairs_is_json(tmp_path_factory, items, ws):
    """Whatever the text: the parsed pairs are json's floats bit for bit, every other
    value is json's, or the file is read by json alone."""
    from maskkit.io.files import read_json_pairs

    objs = []
    for key, value in items:
        text = value if isinstance(value, str) else \
            "[" + f",{ws}".join(f"[{x},{ws}{y}]" for x, y in value) + "]"
        objs.append(f'{{"{key}"{ws}:{ws}{text}, "label": "polygon"}}')
    text = '{"objects": [' + ", ".join(objs) + "]}"
    path = tmp_path_factory.mktemp("j") / "a.json"
    path.write_text(text)
    try:
        ref = json.loads(text)
    except ValueError as exc:  # the same one-line error as read_json, about the file
        with pytest.raises(maskkit.MaskkitIOError, match=f"line {exc.lineno}, column "
                           f"{exc.colno}"):
            read_json_pairs(path, "polygon")
        return
    doc, xy, offsets = read_json_pairs(path, "polygon")
    if xy is None:
        assert json.dumps(doc) == json.dumps(ref)  # NaN is not equal to itself
        return

    def same(got, want):
        if isinstance(want, dict):
            assert isinstance(got, dict) and got.keys() == want.keys()
            for key in want:
                if key == "polygon" and type(got[key]) is int and type(want[key]) is list:
                    k = got[key]  # a parsed value (a key written with escapes is not)
                    arr = np.asarray(want[key], np.float64).ravel()
                    assert xy[offsets[k]:offsets[k + 1]].tobytes() == arr.tobytes()
                else:
                    same(got[key], want[key])
        elif isinstance(want, list):
            assert isinstance(got, list) and len(got) == len(want)
            for a, b in zip(got, want):
                same(a, b)
        else:
            assert type(got) is type(want) and (got == want or (got != got and want != want))

    same(doc, ref)


SCAN_BOUNDSCHECK_SCRIPT = r"""
import numpy as np
from maskkit._kernels import jsonpairs as kj
rng = np.random.default_rng(2)
base = b'{"objects": [{"polygon": [[1.5, -2], [3e2, 0.25]], "label": "p"}, "polygon", ' \
       b'{"polygon" : [ ]}, {"polygon":[[0,0]]}]}'
alphabet = np.frombuffer(b'"[],:-.0123456789eE+ \\polygn{}', np.uint8)
key = np.frombuffer(b"polygon", np.uint8)
for it in range(4000):
    buf = np.frombuffer(base, np.uint8).copy()
    for _ in range(int(rng.integers(1, 6))):
        buf[rng.integers(0, buf.size)] = rng.choice(alphabet)
    buf = buf[: rng.integers(0, buf.size + 1)]
    kj.scan_pairs(buf, key, bool(it & 1))
# the rings mode on runs of the shortest values and inner arrays (the outputs' bounds)
for text in (b'"polygon":[[0]]' * 50, b'"polygon":[[0],[0],[0]],' * 40, b"[0]" * 90,
             b'"polygon":[[0,0,0,0,0,0]]', b'"polygon":[', b'"polygon":[[1e999]]'):
    for cut in range(0, len(text) + 1, 3):
        kj.scan_pairs(np.frombuffer(text[:cut], np.uint8), key, False)
        kj.scan_pairs(np.frombuffer(text[:cut], np.uint8), key, True)
print("ok")
"""


@pytest.mark.boundscheck(SCAN_BOUNDSCHECK_SCRIPT)
def test_scan_pairs_stays_in_bounds(boundscheck):
    """The JSON kernel compiled with bounds checking, on cut and mutated texts."""
    assert boundscheck.strip().endswith("ok")
