"""Write the committed corpus of malformed input files (issue #6) and its MANIFEST.json.

Usage::

    python tests/corpus/make_corpus.py [OUTDIR]      # default: tests/corpus/files

The corpus holds small hostile files for every reader: truncated and garbage JSON, COCO
files of the wrong shape, PNGs cut short or with bad checksums, bad zlib streams, bad
filter bytes or absurd sizes, label PNGs of unexpected modes, broken TIFFs and ``.npy``
files, and panoptic JSON + PNG pairs that disagree.  ``MANIFEST.json`` lists, for each file,
the entry point to run it through (see ``ENTRY_POINTS`` in ``tests/test_corpus.py``) and the
expected outcome: ``"error"`` with the maskkit exception class and the built-in class it
must also be, or ``"ok"`` with a concrete check of the result.

The script is deterministic and uses the standard library only: PNGs are assembled chunk
by chunk with stored (uncompressed) deflate blocks, TIFFs and ``.npy`` headers byte by
byte.  The files therefore do not change with the installed Pillow, zlib, tifffile or
NumPy, and ``tests/test_corpus.py`` checks that the committed files are exactly what this
script writes.  Expected results are written out here by hand (the label maps are small);
they are not computed with maskkit.
"""

from __future__ import annotations

import json
import math
import pickle
import shutil
import struct
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "files"

# ==================================================================== pixel data

#: A 6×8 semantic label map: class 1 in two separate blocks, classes 2, 3, 4 once each.
LABELS = [
    [0, 0, 1, 1, 0, 0, 2, 2],
    [0, 0, 1, 1, 0, 0, 2, 2],
    [3, 3, 0, 0, 0, 0, 0, 0],
    [3, 3, 0, 0, 1, 1, 0, 0],
    [0, 0, 0, 0, 1, 1, 0, 0],
    [0, 0, 0, 4, 4, 0, 0, 0],
]
LABELS_SUM = 36
#: ``maskkit count`` of LABELS (8-connectivity): (class, objects, pixels).
LABELS_COUNT = [[1, 2, 8], [2, 1, 4], [3, 1, 4], [4, 1, 2]]

#: A 4×5 panoptic id map; id 300 needs the green channel (300 = 44 + 1·256).
PAN_IDS = [
    [1, 1, 0, 2, 2],
    [1, 1, 0, 2, 2],
    [300, 300, 300, 0, 0],
    [300, 300, 300, 0, 0],
]
#: (id, category, area, bbox [x, y, w, h]) of every segment of PAN_IDS.
PAN_SEGMENTS = [(1, 1, 4, [0, 0, 2, 2]), (2, 2, 4, [3, 0, 2, 2]), (300, 3, 6, [0, 2, 3, 2])]
PAN_CATEGORIES = [
    {"id": 1, "name": "person", "isthing": 1},
    {"id": 2, "name": "car", "isthing": 1},
    {"id": 3, "name": "road", "isthing": 0},
]


def rgb_of(ids):
    """Panoptic colours (r, g, b) of an id map, COCO's ``id = r + 256 g + 65536 b``."""
    return [[(v % 256, v // 256 % 256, v // 65536) for v in row] for row in ids]


# ==================================================================== PNG

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunk(kind: bytes, data: bytes, *, crc: int | None = None, length: int | None = None):
    """One PNG chunk; ``crc``/``length`` override the true values to corrupt it."""
    crc = zlib.crc32(kind + data) if crc is None else crc
    length = len(data) if length is None else length
    return struct.pack(">I", length) + kind + data + struct.pack(">I", crc & 0xFFFFFFFF)


def ihdr(width, height, depth, ctype, interlace=0) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, ctype, 0, 0, interlace))


def stored_zlib(raw: bytes, *, adler: int | None = None) -> bytes:
    """A zlib stream of stored (uncompressed) deflate blocks: the same bytes with any zlib."""
    out = bytearray(b"\x78\x01")
    blocks = [raw[i:i + 65535] for i in range(0, len(raw), 65535)] or [b""]
    for i, block in enumerate(blocks):
        out.append(1 if i == len(blocks) - 1 else 0)
        out += struct.pack("<HH", len(block), len(block) ^ 0xFFFF) + block
    out += struct.pack(">I", zlib.adler32(raw) if adler is None else adler)
    return bytes(out)


def pack_row(values, depth: int) -> bytes:
    """One scanline's samples packed at ``depth`` bits (MSB first, as PNG stores them)."""
    if depth == 8:
        return bytes(values)
    if depth == 16:
        return b"".join(struct.pack(">H", v) for v in values)
    out = bytearray()
    per = 8 // depth
    for i in range(0, len(values), per):
        byte = 0
        group = list(values[i:i + per]) + [0] * (per - len(values[i:i + per]))
        for v in group:
            byte = (byte << depth) | v
        out.append(byte)
    return bytes(out)


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filtered(rows: list[bytes], bpp: int, filters: list[int]) -> bytes:
    """Scanlines with a filter byte each, filtered as the PNG spec says (filter per row)."""
    out = bytearray()
    prev = bytes(len(rows[0]))
    for row, ftype in zip(rows, filters):
        line = bytearray()
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) // 2, _paeth(a, b, c)][ftype]
            line.append((x - pred) % 256)
        out.append(ftype)
        out += line
        prev = row
    return bytes(out)


def png_image(rows: list[bytes], width: int, height: int, depth: int, ctype: int, *,
              bpp: int = 1, filters=None, plte: bytes | None = None, idat_parts: int = 1,
              before_idat: bytes = b"", after_iend: bytes = b"") -> bytes:
    """A complete PNG of the given packed scanlines."""
    raw = filtered(rows, bpp, filters or [0] * len(rows))
    stream = stored_zlib(raw)
    out = PNG_SIGNATURE + ihdr(width, height, depth, ctype)
    if plte is not None:
        out += chunk(b"PLTE", plte)
    out += before_idat
    step = -(-len(stream) // idat_parts)
    for i in range(0, len(stream), step):
        out += chunk(b"IDAT", stream[i:i + step])
    return out + chunk(b"IEND", b"") + after_iend


def grey_png(labels=LABELS, depth: int = 8, **kw) -> bytes:
    rows = [pack_row(r, depth) for r in labels]
    return png_image(rows, len(labels[0]), len(labels), depth, 0,
                     bpp=2 if depth == 16 else 1, **kw)


def rgb_png(ids=PAN_IDS, *, alpha: int | None = None, **kw) -> bytes:
    rows = []
    for row in rgb_of(ids):
        px = [c for rgb in row for c in ((*rgb, alpha) if alpha is not None else rgb)]
        rows.append(bytes(px))
    bpp = 3 if alpha is None else 4
    return png_image(rows, len(ids[0]), len(ids), 8, 2 if alpha is None else 6, bpp=bpp, **kw)


def png_with_stream(width, height, depth, ctype, stream: bytes) -> bytes:
    """A PNG around an arbitrary (possibly corrupt) zlib stream."""
    return (PNG_SIGNATURE + ihdr(width, height, depth, ctype) + chunk(b"IDAT", stream)
            + chunk(b"IEND", b""))


def raw_grey(labels=LABELS, filters=None) -> bytes:
    return filtered([bytes(r) for r in labels], 1, filters or [0] * len(labels))


def flat(labels) -> list[int]:
    return [v for row in labels for v in row]


# ==================================================================== TIFF

_TIFF_TYPES = {1: ("B", 1), 3: ("H", 2), 4: ("I", 4)}  # BYTE, SHORT, LONG


def tiff_image(width, height, data: bytes, *, bits=(8,), sample_format=1, compression=1,
               photometric=1, strip_offset: int | None = None,
               strip_bytes: int | None = None, next_ifd: int = 0, magic=b"II*\x00") -> bytes:
    """A little-endian baseline TIFF with one strip; overrides corrupt it."""
    entries = [
        (256, 4, [width]), (257, 4, [height]), (258, 3, list(bits)), (259, 3, [compression]),
        (262, 3, [photometric]), (273, 4, [0]), (277, 3, [len(bits)]), (278, 4, [height]),
        (279, 4, [len(data) if strip_bytes is None else strip_bytes]), (284, 3, [1]),
        (339, 3, [sample_format] * len(bits)),
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    extra = bytearray()
    extra_at = 8 + ifd_size
    values = []
    for _tag, typ, vals in entries:
        fmt, _size = _TIFF_TYPES[typ]
        packed = struct.pack(f"<{len(vals)}{fmt}", *vals)
        if len(packed) <= 4:
            values.append(packed.ljust(4, b"\x00"))
        else:
            values.append(struct.pack("<I", extra_at + len(extra)))
            extra += packed
    data_at = extra_at + len(extra)
    offset = data_at if strip_offset is None else strip_offset
    ifd = bytearray(struct.pack("<H", len(entries)))
    for (tag, typ, vals), value in zip(entries, values):
        if tag == 273:
            value = struct.pack("<I", offset)
        ifd += struct.pack("<HHI", tag, typ, len(vals)) + value
    ifd += struct.pack("<I", next_ifd)
    return magic + struct.pack("<I", 8) + bytes(ifd) + bytes(extra) + data


TIFF_LABELS = tiff_image(8, 6, bytes(flat(LABELS)))


# ==================================================================== .npy


def npy(descr: str, shape: tuple, data: bytes, *, fortran: bool = False,
        header: str | None = None, magic: bytes = b"\x93NUMPY\x01\x00") -> bytes:
    """A version 1.0 ``.npy`` file with the header NumPy writes (padded to 64 bytes)."""
    if header is None:
        header = (f"{{'descr': '{descr}', 'fortran_order': {fortran}, "
                  f"'shape': {shape!r}, }}")
    total = len(magic) + 2 + len(header) + 1
    header += " " * (-total % 64) + "\n"
    return magic + struct.pack("<H", len(header)) + header.encode("latin1") + data


def le(values, fmt: str) -> bytes:
    return struct.pack(f"<{len(values)}{fmt}", *values)


# ==================================================================== manifest helpers


class Corpus:
    """Collects files and manifest entries, then writes both."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.entries: list[dict] = []

    def add(self, name: str, data: bytes | str, *runs: dict) -> str:
        if isinstance(data, str):
            data = data.encode("utf-8")
        assert name not in self.files, name
        self.files[name] = data
        for run in runs:
            self.expect(name, run)
        return name

    def expect(self, name: str, run: dict) -> None:
        entry = {"file": name, **run}
        if entry["expect"] == "error" and "names" not in entry:
            entry["names"] = name
        tags = "".join(f"::{k}={v}" for k, v in run.get("args", {}).items() if k != "gt")
        entry["id"] = f"{name}::{run['entry']}{tags}"
        assert all(e["id"] != entry["id"] for e in self.entries), entry["id"]
        self.entries.append(entry)

    def write(self, out: Path) -> None:
        if out.exists():
            if any(out.iterdir()) and not (out / "MANIFEST.json").is_file():
                raise SystemExit(f"{out} is not empty and holds no MANIFEST.json: not a corpus "
                                 "folder, so it is left alone")
            shutil.rmtree(out)  # files dropped from the generator must not linger
        for name, data in sorted(self.files.items()):
            path = out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        # one entry a line: small, and a change to one case is a one-line diff
        lines = ",\n".join(json.dumps(e, ensure_ascii=False) for e in self.entries)
        (out / "MANIFEST.json").write_text(
            '{"about": "Malformed inputs and their expected outcome; written by '
            'make_corpus.py.",\n"entries": [\n' + lines + "\n]}\n", encoding="utf-8")


def error(entry: str, exception: str, builtin: str, why: str, **kw) -> dict:
    """Running ``entry`` raises ``exception`` (a maskkit class) that is also ``builtin``."""
    return {"entry": entry, "expect": "error", "exception": exception, "builtin": builtin,
            "why": why, **kw}


def ok(entry: str, check: dict, why: str, **kw) -> dict:
    """Running ``entry`` succeeds and its result passes ``check``."""
    return {"entry": entry, "expect": "ok", "check": check, "why": why, **kw}


def io_error(entry: str, why: str, **kw) -> dict:
    return error(entry, "MaskkitIOError", "OSError", why, **kw)


def labels_ok(entry: str, why: str, labels=LABELS, dtype="uint8") -> dict:
    return ok(entry, {"shape": [len(labels), len(labels[0])], "dtype": dtype,
                      "values": labels}, why)


def rgb_ok(why: str, ids=PAN_IDS) -> dict:
    return ok("read_png_rgb_fast", {"shape": [len(ids), len(ids[0]), 3], "dtype": "uint8",
                                    "values": [[list(p) for p in r] for r in rgb_of(ids)]}, why)


# ==================================================================== JSON


def add_json(c: Corpus) -> None:
    good = json.dumps({"images": [], "annotations": []})
    c.add("json/empty.json", b"", io_error("read_json", "an empty file is not JSON"))
    c.add("json/whitespace_only.json", b"  \n\t\n", io_error("read_json", "no JSON value"))
    c.add("json/truncated_object.json", good[:17],
          io_error("read_json", "cut inside an object"))
    c.add("json/truncated_string.json", '{"images": [{"file_name": "a.j',
          io_error("read_json", "cut inside a string"))
    c.add("json/garbage_binary.json", bytes((i * 37 + 11) % 256 for i in range(256)),
          io_error("read_json", "binary garbage, not UTF-8"))
    c.add("json/nul_bytes.json", b"\x00" * 16, io_error("read_json", "NUL bytes"))
    c.add("json/trailing_comma.json", '{"images": [], "annotations": [],}',
          io_error("read_json", "a trailing comma is not JSON"))
    c.add("json/single_quotes.json", "{'images': []}", io_error("read_json", "single quotes"))
    c.add("json/two_documents.json", "{} {}", io_error("read_json", "extra data"))
    c.add("json/deeply_nested.json", "[" * 20000 + "]" * 20000,
          io_error("read_json", "nested beyond the parser's recursion limit"))
    c.add("json/int_5000_digits.json", '{"id": ' + "9" * 5000 + "}",
          io_error("read_json", "an integer longer than Python's int-string limit"))
    c.add("json/nan_literal.json", '{"x": NaN, "y": -Infinity}',
          ok("read_json", {"repr": "{'x': nan, 'y': -inf}"},
             "Python's json reads NaN/Infinity (so polygon checks must catch them)"))
    c.add("json/utf8_bom.json", b"\xef\xbb\xbf" + good.encode(),
          ok("read_json", {"equals": {"images": [], "annotations": []}},
             "json.loads of bytes skips a UTF-8 byte-order mark"))
    c.add("json/utf16.json", b"\xff\xfe" + good.encode("utf-16-le"),
          ok("read_json", {"equals": {"images": [], "annotations": []}},
             "json.loads of bytes detects UTF-16"))
    c.add("json/latin1.json", '{"name": "caf\xe9"}'.encode("latin1"),
          io_error("read_json", "Latin-1, not UTF-8"))


# ==================================================================== COCO instances

COCO_IMAGE = {"id": 1, "file_name": "img1.jpg", "height": 6, "width": 8}
COCO_CATEGORIES = [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]
#: A 5×3 rectangle, pixels x 1..5, y 1..3 (pycocotools: 15 pixels).
COCO_SQUARE = [[1, 1, 6, 1, 6, 4, 1, 4]]
SQUARE_SUM = 15


def coco_doc(segmentation=None, *, image=None, annotation=None, categories=COCO_CATEGORIES,
             **top) -> str:
    ann = {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
           "segmentation": COCO_SQUARE if segmentation is None else segmentation}
    ann.update(annotation or {})
    doc = {"images": [image or COCO_IMAGE], "annotations": [ann], "categories": categories}
    doc.update(top)
    return json.dumps(doc)


def swap(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced, for values json.dumps cannot write (400 digits...)."""
    assert old in text, old
    return text.replace(old, new)


def sem(check_sum: int, why: str, shape=(6, 8), dtype="uint8", **kw) -> dict:
    return ok("coco_to_semantic", {"shape": list(shape), "dtype": dtype, "sum": check_sum},
              why, args={"image_id": 1}, **kw)


def sem_error(exception: str, why: str, builtin="ValueError", args=None, **kw) -> dict:
    return error("coco_to_semantic", exception, builtin, why, args=args or {"image_id": 1},
                 **kw)


def add_coco(c: Corpus) -> None:
    d = "coco/"
    c.add(d + "valid.json", coco_doc(),
          ok("load_coco", {"images": 1, "annotations": 1}, "control: a valid file"),
          sem(SQUARE_SUM, "control: the 5×3 rectangle, class 1"),
          ok("coco2sem", {"images": 1, "objects": 1, "pngs": ["img1.png"]}, "control"))
    c.add(d + "truncated.json", coco_doc()[:60],
          io_error("load_coco", "cut in the middle"),
          sem_error("MaskkitIOError", "cut", builtin="OSError"),
          io_error("coco2sem", "cut: nothing may be written"))
    c.add(d + "file_name_escapes.json", coco_doc(image={**COCO_IMAGE,
                                                        "file_name": "../../escape.jpg"}),
          sem(SQUARE_SUM, "the file name does not matter for one map"),
          error("coco2sem", "InvalidAnnotationError", "ValueError",
                "the PNG would be written outside the output folder"))
    c.add(d + "top_level_list.json", "[]",
          error("load_coco", "InvalidAnnotationError", "ValueError", "not a JSON object"))
    c.add(d + "top_level_string.json", '"images"',
          error("load_coco", "InvalidAnnotationError", "ValueError", "not a JSON object"))
    c.add(d + "missing_images.json", '{"annotations": []}',
          error("load_coco", "InvalidAnnotationError", "ValueError", "no 'images'"))
    c.add(d + "annotations_not_a_list.json",
          json.dumps({"images": [COCO_IMAGE], "annotations": {"1": {}}}),
          error("load_coco", "InvalidAnnotationError", "ValueError", "'annotations' is a dict"),
          sem_error("InvalidAnnotationError", "'annotations' is a dict"))
    c.add(d + "annotations_null.json", json.dumps({"images": [COCO_IMAGE], "annotations": None}),
          error("load_coco", "InvalidAnnotationError", "ValueError", "'annotations' is null"))
    c.add(d + "images_not_a_list.json", json.dumps({"images": "img1.jpg", "annotations": []}),
          error("load_coco", "InvalidAnnotationError", "ValueError", "'images' is a string"))
    c.add(d + "categories_not_a_list.json", coco_doc(categories={"id": 1}),
          error("load_coco", "InvalidAnnotationError", "ValueError", "'categories' is a dict"))
    c.add(d + "annotation_not_an_object.json",
          json.dumps({"images": [COCO_IMAGE], "annotations": [[1, 2, 3]],
                      "categories": COCO_CATEGORIES}),
          error("load_coco", "InvalidAnnotationError", "ValueError", "an annotation is a list"))
    c.add(d + "annotation_missing_segmentation.json",
          json.dumps({"images": [COCO_IMAGE], "categories": COCO_CATEGORIES,
                      "annotations": [{"id": 1, "image_id": 1, "category_id": 1}]}),
          error("load_coco", "InvalidAnnotationError", "ValueError", "no 'segmentation'"))
    c.add(d + "unknown_image_id.json", coco_doc(annotation={"image_id": 99}),
          error("load_coco", "InvalidAnnotationError", "ValueError", "image 99 not listed"))
    c.add(d + "unknown_category_id.json", coco_doc(annotation={"category_id": 77}),
          error("load_coco", "UnknownCategoryError", "ValueError", "category 77 not listed"),
          sem_error("UnknownCategoryError", "category 77 not listed"))
    c.add(d + "category_id_string.json",
          coco_doc(annotation={"category_id": "cat"}, categories=[{"id": "cat"}]),
          sem_error("InvalidAnnotationError", "a string category id cannot be a label value"))
    c.add(d + "category_id_2e31.json",
          coco_doc(annotation={"category_id": 2**31}, categories=[{"id": 2**31}]),
          sem_error("InvalidAnnotationError", "a category id beyond int32 cannot be a label"))
    c.add(d + "category_id_70000.json",
          coco_doc(annotation={"category_id": 70000}, categories=[{"id": 70000}]),
          sem(SQUARE_SUM * 70000, "a category id above 65535 gives an int32 map",
              dtype="int32"))
    c.add(d + "score_not_a_number.json", coco_doc(annotation={"score": "high"}),
          sem_error("InvalidAnnotationError", "overlap='score' with a score of 'high'",
                    args={"image_id": 1, "overlap": "score"}))
    c.add(d + "score_nan.json", coco_doc(annotation={"score": math.nan}),
          sem_error("InvalidAnnotationError", "overlap='score' with a NaN score",
                    args={"image_id": 1, "overlap": "score"}))
    c.add(d + "category_id_null.json", coco_doc(annotation={"category_id": None}),
          error("load_coco", "InvalidAnnotationError", "ValueError", "category_id null"))
    # segmentation of the wrong type
    for label, seg in [("string", "1 1 6 1 6 4"), ("number", 5), ("null", None),
                       ("true", True), ("object_without_counts", {"size": [6, 8]})]:
        exc = "InvalidRLEError" if label == "object_without_counts" else "InvalidPolygonError"
        doc = coco_doc(annotation={"segmentation": seg})
        c.add(d + f"segmentation_{label}.json", doc,
              sem_error(exc, f"segmentation is a {label}"))
    c.add(d + "segmentation_nested_too_deep.json",
          coco_doc([[[1, 1], [6, 1], [6, 4], [1, 4], [1, 1], [6, 4]]]),
          sem_error("InvalidPolygonError", "points as [x, y] pairs, not flat coordinates"))
    c.add(d + "polygon_coordinate_strings.json",
          coco_doc([["1", "1", "6", "1", "6", "4", "1", "4"]]),
          sem(SQUARE_SUM, "numbers written as JSON strings are read as numbers, as "
                          "pycocotools (np.array(poly, dtype=double)) reads them"))
    c.add(d + "polygon_word_strings.json", coco_doc([["a", "b", "c", "d", "e", "f"]]),
          sem_error("InvalidPolygonError", "words as coordinates"))
    c.add(d + "polygon_nan_string.json", coco_doc([[1, 1, "NaN", 1, 6, 4, 1, 4]]),
          sem_error("InvalidPolygonError", "'NaN' as a JSON string"))
    c.add(d + "polygon_inf_string.json", coco_doc([[1, 1, 6, "Infinity", 6, 4, 1, 4]]),
          sem_error("InvalidPolygonError", "'Infinity' as a JSON string"))
    c.add(d + "polygon_nan_literal.json",
          swap(coco_doc(), "[[1, 1, 6, 1", "[[1, NaN, 6, 1"),
          sem_error("InvalidPolygonError", "a NaN literal (Python's json reads it)"))
    c.add(d + "polygon_inf_literal.json",
          swap(coco_doc(), "[[1, 1, 6, 1", "[[1, 1, -Infinity, 1"),
          sem_error("InvalidPolygonError", "an -Infinity literal"))
    c.add(d + "polygon_1e30.json", coco_doc([[1, 1, 1e30, 1, 6, 4, 1, 4]]),
          sem_error("InvalidPolygonError", "1e30, far beyond the coordinate limit"))
    c.add(d + "polygon_1e400.json", swap(coco_doc(), "[[1, 1, 6, 1", "[[1, 1, 1e400, 1"),
          sem_error("InvalidPolygonError", "1e400 reads as float infinity"))
    c.add(d + "polygon_int_400_digits.json",
          swap(coco_doc(), "[[1, 1, 6, 1", "[[1, 1, 1" + "0" * 400 + ", 1"),
          sem_error("InvalidPolygonError", "an integer too large for a float"))
    c.add(d + "polygon_odd_length.json", coco_doc([[1, 1, 6, 1, 6, 4, 1]]),
          sem_error("InvalidPolygonError", "7 coordinates"))
    c.add(d + "polygon_two_points.json", coco_doc([[1, 1, 6, 1], [1, 1, 6, 4, 1, 4]]),
          sem_error("InvalidPolygonError", "a part of 2 points (not a bbox inside a list)"))
    c.add(d + "polygon_empty_part.json", coco_doc([[]]),
          sem_error("InvalidPolygonError", "an empty polygon part"))
    c.add(d + "polygon_no_parts.json", coco_doc([]),
          sem(0, "an object with no polygon parts paints nothing"))
    c.add(d + "polygon_far_outside.json",
          coco_doc([[-1e6, -1e6, 1e6, -1e6, 1e6, 1e6, -1e6, 1e6]]),
          sem(48, "vertices 1e6 pixels out (within the limit) are clipped: every pixel"))
    c.add(d + "polygon_entirely_outside.json", coco_doc([[100, 100, 120, 100, 120, 130]]),
          sem(0, "a triangle right of the image paints nothing"))
    c.add(d + "segmentation_bbox_negative_size.json", coco_doc([6, 4, -5, -3]),
          sem(SQUARE_SUM, "a flat [x, y, w, h] with negative w, h: the same rectangle "
                          "drawn the other way round (pycocotools: 15 pixels)"))
    c.add(d + "segmentation_bbox_int_400_digits.json",
          swap(coco_doc(), "[[1, 1, 6, 1, 6, 4, 1, 4]]", "[1, 1, 1" + "0" * 400 + ", 3]"),
          sem_error("InvalidPolygonError", "a flat bbox whose width is too large for a float"))
    c.add(d + "bbox_negative.json",
          coco_doc(annotation={"bbox": [-4, -2, -10, -7], "area": -3}),
          sem(SQUARE_SUM, "'bbox' and 'area' are not used to paint"))
    # RLE segmentations (the same cases, bare, are under rle/)
    for name, rle, exc, why in RLE_CASES:
        if exc is None:
            continue
        c.add(d + f"rle_{name}.json", coco_doc(rle), sem_error(exc, why))
    c.add(d + "rle_counts_strings.json", coco_doc({"size": [6, 8], "counts": ["10", "38"]}),
          sem(38, "runs written as JSON strings read as numbers, as pycocotools reads them"))
    c.add(d + "rle_valid.json", coco_doc({"size": [6, 8], "counts": ":330j0"}),
          sem(6, "control: a compressed RLE of 6 pixels"))
    # image sizes
    c.add(d + "image_0x8.json", coco_doc(image={**COCO_IMAGE, "height": 0}),
          sem(0, "an image of height 0 gives an empty (0, 8) map", shape=(0, 8)))
    c.add(d + "image_8x0_rle.json",
          coco_doc({"size": [8, 0], "counts": []}, image={**COCO_IMAGE, "height": 8,
                                                          "width": 0}),
          sem(0, "width 0 with an empty RLE", shape=(8, 0)))
    c.add(d + "image_100000x100000.json",
          coco_doc(image={**COCO_IMAGE, "height": 100000, "width": 100000}),
          sem_error("ImageTooLargeError", "1e10 pixels, above the default limit"),
          error("coco2sem", "ImageTooLargeError", "ValueError", "refused before allocating"))
    c.add(d + "image_1x2e9.json",
          coco_doc(image={**COCO_IMAGE, "height": 1, "width": 2_000_000_000}),
          sem_error("ImageTooLargeError", "a side longer than the limit"))
    c.add(d + "image_negative_height.json", coco_doc(image={**COCO_IMAGE, "height": -6}),
          error("load_coco", "InvalidAnnotationError", "ValueError", "height -6"))
    c.add(d + "image_float_height.json", coco_doc(image={**COCO_IMAGE, "height": 6.5}),
          error("load_coco", "InvalidAnnotationError", "ValueError", "height 6.5"))
    c.add(d + "image_height_string.json", coco_doc(image={**COCO_IMAGE, "height": "6"}),
          error("load_coco", "InvalidAnnotationError", "ValueError", "height as a string"))
    second = json.loads(coco_doc())
    second["images"].append({**COCO_IMAGE, "id": 2, "file_name": "img2.jpg"})
    second["annotations"].append({"id": 2, "image_id": 2, "category_id": 2,
                                  "segmentation": [[1, 1, 6, 1, 6, 4, 1]]})
    c.add(d + "second_image_bad_polygon.json", json.dumps(second),
          sem(SQUARE_SUM, "image 1 is fine"),
          sem_error("InvalidPolygonError", "image 2 has a polygon of 7 coordinates",
                    args={"image_id": 2}),
          error("coco2sem", "InvalidPolygonError", "ValueError",
                "image 2 fails after image 1 was written"))
    c.add(d + "image_without_size.json", coco_doc(image={"id": 1, "file_name": "img1.jpg"}),
          error("load_coco", "InvalidAnnotationError", "ValueError", "no height/width"))


# ==================================================================== RLE

def rle_string(values) -> str:
    """The compressed RLE characters of already delta-coded ``values`` (pycocotools'
    5-bit groups with continuation and sign bits)."""
    out = []
    for x in values:
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            out.append(chr((c | 0x20 if more else c) + 48))
    return "".join(out)


#: (name, rle, maskkit exception or None when valid, why); all for a 6×8 image.
RLE_CASES = [
    ("counts_overflow_2e64", {"size": [6, 8], "counts": [0, 2**64 + 5, 3]},
     "InvalidRLEError", "a run of 2**64 + 5"),
    ("counts_overflow_2e63", {"size": [6, 8], "counts": [2**63, 48 - 2**63]},
     "InvalidRLEError", "runs of ±2**63 that would wrap to the right sum in int64"),
    ("counts_int_400_digits", {"size": [6, 8], "counts": [10**400, 1]},
     "InvalidRLEError", "a run length too large for a float"),
    ("counts_do_not_sum", {"size": [6, 8], "counts": [10, 5, 10]},
     "InvalidRLEError", "25 pixels for 48"),
    ("counts_sum_too_large", {"size": [6, 8], "counts": [40, 40]},
     "InvalidRLEError", "80 pixels for 48"),
    ("counts_negative", {"size": [6, 8], "counts": [50, -2]},
     "InvalidRLEError", "a negative run that makes the sum right"),
    ("counts_float", {"size": [6, 8], "counts": [10.5, 37.5]},
     "InvalidRLEError", "fractional runs"),
    ("counts_strings", {"size": [6, 8], "counts": ["10", "38"]},
     None, "runs written as JSON strings read as numbers, as pycocotools reads them"),
    ("counts_nested", {"size": [6, 8], "counts": [[10, 38]]},
     "InvalidRLEError", "a nested list"),
    ("counts_null", {"size": [6, 8], "counts": None}, "InvalidRLEError", "counts null"),
    ("compressed_bad_char", {"size": [6, 8], "counts": "~~~~"},
     "InvalidRLEError", "characters outside '0'..'o'"),
    ("compressed_non_ascii", {"size": [6, 8], "counts": "\u00e9\u00e9"},
     "InvalidRLEError", "non-ASCII characters"),
    ("compressed_truncated", {"size": [6, 8], "counts": ":330j"},
     "InvalidRLEError", "ends in the middle of a run length"),
    ("compressed_huge_run", {"size": [6, 8], "counts": "0" + "o" * 16 + "0"},
     "InvalidRLEError", "a run length of 16 continuation characters"),
    ("compressed_wrong_sum", {"size": [6, 8], "counts": "5220003"},
     "InvalidRLEError", "a valid string for 4×5, not 6×8"),
    ("compressed_empty", {"size": [6, 8], "counts": ""},
     "InvalidRLEError", "no runs for 48 pixels"),
    # issue 17: runs longer than the image whose int64 sum wraps to the right total
    ("counts_2e62_background", {"size": [6, 8], "counts": [2**62] * 4 + [48]},
     "InvalidRLEError", "four runs of 2**62 wrap the int64 sum back to 48"),
    ("counts_2e62_foreground", {"size": [6, 8], "counts": [0, 2**62] * 4 + [48]},
     "InvalidRLEError", "foreground runs of 2**62 (decoded as all ones before issue 17)"),
    ("counts_run_longer_than_image", {"size": [6, 8], "counts": [0, 49, -1]},
     "InvalidRLEError", "a run of 49 in 48 pixels"),
    ("compressed_delta_overflow", {"size": [6, 8], "counts": rle_string([0, 0, 0]
                                                                       + [2**58] * 70)},
     "InvalidRLEError", "delta-coded runs that grow past int64"),
    ("compressed_euro", {"size": [6, 8], "counts": "0\u20acQ1"},
     "InvalidRLEError", "'\u20ac' (read as '?' before issue 17: runs 0, 15, 33)"),
    ("size_missing", {"counts": [48]}, "InvalidRLEError", "no 'size'"),
    ("size_three_numbers", {"size": [6, 8, 1], "counts": [48]},
     "InvalidRLEError", "size [6, 8, 1]"),
    ("size_string", {"size": "6x8", "counts": [48]}, "InvalidRLEError", "size '6x8'"),
    ("size_infinite", {"size": [math.inf, 8], "counts": [48]},
     "InvalidInputError", "a height of Infinity"),
    ("size_differs_from_image", {"size": [8, 6], "counts": [48]},
     "InvalidRLEError", "8×6 in a 6×8 image"),
]


def add_rle(c: Corpus) -> None:
    for name, rle, exc, why in RLE_CASES:
        run = error("rle_decode", exc, "ValueError", why, names=None)
        if name == "size_differs_from_image":
            run = ok("rle_decode", {"shape": [8, 6], "dtype": "uint8", "sum": 0},
                     "alone, an 8×6 RLE of background is valid")
        elif exc is None:
            run = ok("rle_decode", {"shape": [6, 8], "dtype": "uint8", "sum": 38}, why)
        c.add(f"rle/{name}.json", json.dumps(rle), run)
    c.add("rle/not_a_dict.json", json.dumps([[6, 8], [48]]),
          error("rle_decode", "MaskkitTypeError", "TypeError", "a list, not a dict",
                names=None))
    c.add("rle/valid_compressed.json", json.dumps({"size": [6, 8], "counts": ":330j0"}),
          ok("rle_decode", {"shape": [6, 8], "dtype": "uint8", "sum": 6},
             "control: pycocotools' string for 6 pixels"))
    c.add("rle/valid_zero_runs.json", json.dumps({"size": [6, 8], "counts": [0, 0, 10, 38]}),
          ok("rle_decode", {"shape": [6, 8], "dtype": "uint8", "sum": 38},
             "zero-length runs are legal"))
    c.add("rle/size_0x0.json", json.dumps({"size": [0, 0], "counts": []}),
          ok("rle_decode", {"shape": [0, 0], "dtype": "uint8", "sum": 0}, "an empty image"))
    c.add("rle/size_100000x100000.json",
          json.dumps({"size": [100000, 100000], "counts": [10**10]}),
          error("rle_decode", "ImageTooLargeError", "ValueError", "1e10 pixels", names=None))


# ==================================================================== PNG


def add_png(c: Corpus) -> None:
    d = "png/"
    valid = grey_png()
    c.add(d + "grey8_valid.png", valid, labels_ok("read_mask", "control"),
          labels_ok("read_png", "control"),
          ok("count", {"table": LABELS_COUNT}, "control: classes 1 (twice), 2, 3, 4"))
    ihdr_end = len(PNG_SIGNATURE) + 25
    idat_at = valid.index(b"IDAT") - 4
    for label, cut in [("signature", 4), ("after_signature", 8), ("in_ihdr", 20),
                       ("after_ihdr", ihdr_end), ("in_idat_header", idat_at + 6),
                       ("in_idat_data", idat_at + 30)]:
        c.add(d + f"grey8_truncated_{label}.png", valid[:cut],
              io_error("read_mask", f"cut at byte {cut}"), io_error("read_png", f"cut at {cut}"))
    for label, cut in [("before_idat_crc", len(valid) - 14), ("in_iend", len(valid) - 6)]:
        why = (f"cut at byte {cut}, after the whole zlib stream: Pillow reads it, but the "
               "PNG spec needs the CRC and IEND (issue 17)")
        c.add(d + f"grey8_truncated_{label}.png", valid[:cut], io_error("read_mask", why),
              io_error("read_png", why))
    c.add(d + "grey8_missing_iend.png", valid[:-12],
          io_error("read_mask", "only IEND is missing: Pillow accepts it, the PNG spec "
                                "does not (issue 17)"))
    c.add(d + "grey8_garbage_after_iend.png", valid + b"\x00garbage" * 4,
          labels_ok("read_mask", "bytes after IEND are ignored"))
    c.add(d + "signature_then_garbage.png",
          PNG_SIGNATURE + bytes((i * 73 + 5) % 256 for i in range(64)),
          io_error("read_mask", "no IHDR"), io_error("read_png_rgb_fast", "no IHDR"))
    c.add(d + "not_a_png.png", b"GIF89a" + bytes(32),
          io_error("read_mask", "a GIF header"), io_error("read_png", "a GIF header"))
    bad_crc = bytearray(valid)
    bad_crc[8 + 8 + 13] ^= 0xFF  # the IHDR CRC
    c.add(d + "grey8_bad_ihdr_crc.png", bytes(bad_crc),
          io_error("read_mask", "the IHDR checksum is wrong"))
    bad_idat_crc = bytearray(valid)
    bad_idat_crc[len(valid) - 13] ^= 0xFF  # last byte of the IDAT CRC
    c.add(d + "grey8_bad_idat_crc.png", bytes(bad_idat_crc),
          io_error("read_mask", "the IDAT CRC is wrong: a critical chunk (issue 17)"))
    raw = raw_grey()
    for label, stream, why in [
        ("bad_zlib_header", b"\x78\x02" + stored_zlib(raw)[2:], "FCHECK wrong"),
        ("zlib_preset_dictionary", b"\x78\x20" + stored_zlib(raw)[2:], "FDICT set"),
        ("bad_deflate_block_type", b"\x78\x01\x07" + bytes(20), "reserved block type 3"),
        ("bad_stored_length", b"\x78\x01\x01\x36\x00\x00\x00" + raw, "LEN/NLEN disagree"),
        ("bad_adler32", stored_zlib(raw, adler=0x12345678), "checksum of the pixels wrong"),
        ("short_stream", stored_zlib(raw[:-9]), "one scanline short"),
        ("long_stream", stored_zlib(raw + raw[:9]), "one scanline too many"),
        ("empty_stream", b"", "an empty IDAT"),
    ]:
        grey = io_error("read_mask", why)
        c.add(d + f"grey8_{label}.png", png_with_stream(8, 6, 8, 0, stream), grey)
        c.add(d + f"rgb8_{label}.png", png_with_stream(5, 4, 8, 2, _rgb_stream(label)),
              io_error("read_png_rgb_fast", why))
    bad_filter = raw[:18] + b"\x07" + raw[19:]  # row 2's filter byte (rows are 9 bytes)
    c.add(d + "grey8_bad_filter_byte.png", png_with_stream(8, 6, 8, 0, stored_zlib(bad_filter)),
          io_error("read_mask", "filter type 7 on row 2"))
    rgb_raw = filtered([bytes(c for px in r for c in px) for r in rgb_of(PAN_IDS)], 3,
                       [0, 0, 0, 0])
    rgb_bad_filter = rgb_raw[:16] + b"\x05" + rgb_raw[17:]  # row 1 (rows are 16 bytes)
    c.add(d + "rgb8_bad_filter_byte.png", png_with_stream(5, 4, 8, 2, stored_zlib(rgb_bad_filter)),
          io_error("read_png_rgb_fast", "filter type 5 on row 1"))
    # IDAT length field wrong
    idat = valid[idat_at:idat_at + 12 + struct.unpack(">I", valid[idat_at:idat_at + 4])[0]]
    n = len(idat) - 12
    head, tail = valid[:idat_at], valid[idat_at + len(idat):]
    # issue 17: any wrong length breaks the chunk's CRC or runs past the file
    for label, length in [("longer", n + 9), ("shorter", n - 9), ("huge", 0xFFFFFFF0)]:
        broken = head + struct.pack(">I", length) + idat[4:] + tail
        c.add(d + f"grey8_idat_length_{label}.png", broken,
              io_error("read_mask", f"IDAT length {length}, true {n}"))
    rgb = rgb_png()
    ridat_at = rgb.index(b"IDAT") - 4
    rn = struct.unpack(">I", rgb[ridat_at:ridat_at + 4])[0]
    for label, length in [("longer", rn + 7), ("shorter", rn - 7), ("huge", 0xFFFFFFF0)]:
        broken = rgb[:ridat_at] + struct.pack(">I", length) + rgb[ridat_at + 4:]
        c.add(d + f"rgb8_idat_length_{label}.png", broken,
              io_error("read_png_rgb_fast", f"IDAT length {length}, true {rn}"))
    # declared sizes
    huge = "1e10 pixels declared: refused before anything is allocated"
    c.add(d + "grey8_100000x100000.png",
          png_with_stream(100000, 100000, 8, 0, stored_zlib(bytes(64))),
          error("read_mask", "ImageTooLargeError", "ValueError", huge),
          error("read_png", "ImageTooLargeError", "ValueError", huge))
    c.add(d + "rgb8_100000x100000.png",
          png_with_stream(100000, 100000, 8, 2, stored_zlib(bytes(64))),
          error("read_png_rgb_fast", "ImageTooLargeError", "ValueError", huge),
          error("read_png", "ImageTooLargeError", "ValueError", huge))
    c.add(d + "grey8_width_0.png", png_with_stream(0, 6, 8, 0, stored_zlib(b"\x00" * 6)),
          io_error("read_mask", "width 0 is not allowed by the PNG spec"))
    c.add(d + "grey_depth_3.png", png_with_stream(8, 6, 3, 0, stored_zlib(raw)),
          io_error("read_mask", "bit depth 3 does not exist"))
    c.add(d + "color_type_5.png", png_with_stream(8, 6, 8, 5, stored_zlib(raw)),
          io_error("read_mask", "colour type 5 does not exist"))
    c.add(d + "palette_without_plte.png", png_with_stream(8, 6, 8, 3, stored_zlib(raw)),
          io_error("read_mask", "a palette PNG without PLTE: Pillow reads the indices, "
                                "the PNG spec refuses it (issue 17)"))
    # valid but unusual files
    c.add(d + "grey8_three_idat_chunks.png", grey_png(idat_parts=3),
          labels_ok("read_mask", "the image data split over three IDAT chunks"))
    c.add(d + "grey8_all_filters.png", grey_png(filters=[1, 2, 3, 4, 2, 4]),
          labels_ok("read_mask", "rows filtered with Sub, Up, Average and Paeth"))
    c.add(d + "grey8_unknown_ancillary_chunk.png",
          grey_png(before_idat=chunk(b"zzZz", b"hello")),
          labels_ok("read_mask", "an unknown ancillary chunk is skipped"))
    c.add(d + "grey8_unknown_critical_chunk.png",
          grey_png(before_idat=chunk(b"ZZZZ", b"hello")),
          io_error("read_mask", "Pillow skips unknown critical chunks; the spec says "
                                "refuse (issue 17)"))
    add_png_strict(c)
    # label PNGs of unexpected modes
    bits = [[v % 2 for v in row] for row in LABELS]
    c.add(d + "mode_1bit.png", grey_png(bits, depth=1),
          labels_ok("read_mask", "a 1-bit label PNG reads as 0/1", labels=bits))
    two = [[v % 4 for v in row] for row in LABELS]
    c.add(d + "mode_grey2bit.png", grey_png(two, depth=2),
          labels_ok("read_mask", "2-bit grey keeps the values 0..3, not scaled to 0..255",
                    labels=two))
    wide = [[v * 1000 for v in row] for row in LABELS]
    c.add(d + "mode_grey16.png", grey_png(wide, depth=16),
          labels_ok("read_mask", "16-bit grey: uint16 labels up to 4000", labels=wide,
                    dtype="uint16"),
          ok("count", {"table": [[k * 1000, n, a] for k, n, a in LABELS_COUNT]},
             "counting 16-bit labels"))
    pal = bytes(v for i in range(5) for v in (i * 50, 0, 255 - i * 50))
    c.add(d + "mode_palette4bit.png",
          png_image([pack_row(r, 4) for r in LABELS], 8, 6, 4, 3, plte=pal),
          labels_ok("read_mask", "a 4-bit palette PNG gives the indices"))
    la_rows = [bytes(x for v in row for x in (v, 255)) for row in LABELS]
    c.add(d + "mode_LA.png", png_image(la_rows, 8, 6, 8, 4, bpp=2),
          io_error("read_mask", "grey + alpha is not a label image"))
    rgba = rgb_png(alpha=255)
    c.add(d + "mode_RGBA.png", rgba, io_error("read_mask", "RGBA is not a label image"),
          rgb_ok("RGBA panoptic PNG: alpha dropped"))
    c.add(d + "mode_RGB.png", rgb,
          io_error("read_mask", "RGB is not a label image; use --kind panoptic"),
          rgb_ok("control: an RGB panoptic PNG"))
    c.add(d + "rgb8_all_filters.png", rgb_png(filters=[1, 2, 3, 4]),
          rgb_ok("the fast RGB decoder with Sub, Up, Average and Paeth rows"))
    c.add(d + "rgb8_interlaced_header.png",
          PNG_SIGNATURE + ihdr(5, 4, 8, 2, interlace=1) + chunk(b"IDAT", stored_zlib(b""))
          + chunk(b"IEND", b""),
          io_error("read_png_rgb_fast", "Adam7 declared, no pixel data"))


def add_png_strict(c: Corpus) -> None:
    """Issue 17: a PNG is read exactly when zlib and the PNG spec accept it, and a read is
    refused from the header when its buffers would exceed the byte limit."""
    d = "png/strict/"
    raw = raw_grey()
    z = stored_zlib(raw)
    grey = ihdr(8, 6, 8, 0)
    end = chunk(b"IEND", b"")

    def png(*chunks):
        return PNG_SIGNATURE + b"".join(chunks)

    def header(comp=0, filt=0, interlace=0, extra=b""):
        return chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 6, 8, 0, comp, filt, interlace)
                     + extra)

    for label, data, why in [
        ("adler_3_garbage_bytes", png(grey, chunk(b"IDAT", z[:-4] + b"\xde\xad\xbe"), end),
         "a 3-byte Adler-32 trailer: zlib says 'incomplete or truncated stream'"),
        ("adler_1_byte", png(grey, chunk(b"IDAT", z[:-3]), end),
         "a 1-byte Adler-32 trailer"),
        ("adler_missing", png(grey, chunk(b"IDAT", z[:-4]), end), "no Adler-32 trailer"),
        ("ihdr_filter_method_1", png(header(filt=1), chunk(b"IDAT", z), end),
         "IHDR filter method 1 (Pillow refuses it)"),
        ("ihdr_compression_method_1", png(header(comp=1), chunk(b"IDAT", z), end),
         "IHDR compression method 1"),
        ("ihdr_interlace_2", png(header(interlace=2), chunk(b"IDAT", z), end),
         "IHDR interlace method 2"),
        ("ihdr_length_14", png(header(extra=b"\x00"), chunk(b"IDAT", z), end),
         "a 14-byte IHDR"),
        ("idat_not_consecutive", png(grey, chunk(b"IDAT", z[:20]), chunk(b"tEXt", b"a\x00b"),
                                     chunk(b"IDAT", z[20:]), end),
         "IDAT chunks split by a tEXt chunk"),
        ("bad_iend_crc", png(grey, chunk(b"IDAT", z), chunk(b"IEND", b"", crc=1)),
         "the IEND CRC is wrong"),
        ("bad_plte_crc", png(ihdr(8, 6, 8, 3), chunk(b"PLTE", bytes(15), crc=7),
                             chunk(b"IDAT", z), end), "the PLTE CRC is wrong"),
        ("plte_after_idat", png(ihdr(8, 6, 8, 3), chunk(b"IDAT", z), chunk(b"PLTE", bytes(15)),
                                end), "PLTE after the image data"),
        ("plte_in_grey", png(grey, chunk(b"PLTE", bytes(15)), chunk(b"IDAT", z), end),
         "a palette in a grey image"),
        ("depth_16_palette", png(ihdr(8, 6, 16, 3), chunk(b"PLTE", bytes(15)),
                                 chunk(b"IDAT", z), end),
         "bit depth 16 does not exist for palette images"),
        ("first_chunk_not_ihdr", png(chunk(b"tEXt", b"a\x00b"), grey, chunk(b"IDAT", z), end),
         "IHDR must come first"),
    ]:
        c.add(d + f"{label}.png", data, io_error("read_mask", why), io_error("read_png", why))
    c.add(d + "ancillary_bad_crc.png",
          png(grey, chunk(b"tEXt", b"a\x00b", crc=3), chunk(b"IDAT", z), end),
          labels_ok("read_mask", "a bad CRC in an ancillary chunk is not fatal (PNG spec)"))
    # bombs: refused from the header, before a byte of image data is inflated
    bomb = "refused from the header by the byte limit (2 GiB default), before inflating"
    for label, (w, h, depth, ctype) in {"rgba16_16384x16384": (16384, 16384, 16, 6),
                                        "grey16_32768x32768": (32768, 32768, 16, 0),
                                        "grey8_32768x32768": (32768, 32768, 8, 0),
                                        "rgb8_20000x20000": (20000, 20000, 8, 2)}.items():
        f = png_with_stream(w, h, depth, ctype, stored_zlib(bytes(64)))
        runs = [error("read_png", "ImageTooLargeError", "ValueError", bomb, bomb=True)]
        if ctype in (0, 3):
            runs += [error("read_mask", "ImageTooLargeError", "ValueError", bomb, bomb=True),
                     error("count", "ImageTooLargeError", "ValueError", bomb, bomb=True)]
        else:
            runs.append(error("read_png_rgb_fast", "ImageTooLargeError", "ValueError", bomb,
                              bomb=True))
        c.add(d + f"bomb_{label}.png", f, *runs)


def _rgb_stream(label: str) -> bytes:
    """The zlib stream of the RGB (5×4) PNG with the defect ``label`` of the grey ones."""
    raw = filtered([bytes(c for px in r for c in px) for r in rgb_of(PAN_IDS)], 3, [0] * 4)
    return {
        "bad_zlib_header": b"\x78\x02" + stored_zlib(raw)[2:],
        "zlib_preset_dictionary": b"\x78\x20" + stored_zlib(raw)[2:],
        "bad_deflate_block_type": b"\x78\x01\x07" + bytes(20),
        "bad_stored_length": b"\x78\x01\x01\x40\x00\x00\x00" + raw,
        "bad_adler32": stored_zlib(raw, adler=0x12345678),
        "short_stream": stored_zlib(raw[:-16]),
        "long_stream": stored_zlib(raw + raw[:16]),
        "empty_stream": b"",
    }[label]


# ==================================================================== TIFF


def add_tiff(c: Corpus) -> None:
    d = "tiff/"
    good = TIFF_LABELS
    c.add(d + "uint8_valid.tif", good, labels_ok("read_mask", "control"),
          ok("count", {"table": LABELS_COUNT}, "control"))
    for label, cut in [("header", 4), ("in_ifd", 30), ("before_pixels", len(good) - 48),
                       ("in_pixels", len(good) - 20)]:
        c.add(d + f"truncated_{label}.tif", good[:cut], io_error("read_mask", f"cut at {cut}"))
    c.add(d + "garbage.tif", b"II*\x00" + bytes((i * 91 + 7) % 256 for i in range(60)),
          io_error("read_mask", "a TIFF signature, then garbage"))
    c.add(d + "bad_magic.tif", b"XX*\x00" + good[4:], io_error("read_mask", "no II/MM"))
    c.add(d + "ifd_offset_past_end.tif", b"II*\x00" + struct.pack("<I", 10**6) + good[8:],
          io_error("read_mask", "the first IFD lies past the end"))
    c.add(d + "ifd_loop.tif", tiff_image(8, 6, bytes(flat(LABELS)), next_ifd=8),
          labels_ok("read_mask", "the IFD chain points back to itself; the first page is "
                                 "read, and the reader must not loop"))
    c.add(d + "strip_past_end.tif", tiff_image(8, 6, bytes(flat(LABELS)), strip_offset=10**6),
          io_error("read_mask", "the strip offset lies past the end"))
    c.add(d + "strip_too_short.tif", tiff_image(8, 6, bytes(flat(LABELS))[:20]),
          io_error("read_mask", "20 bytes for 48 pixels"))
    c.add(d + "unknown_compression.tif",
          tiff_image(8, 6, bytes(flat(LABELS)), compression=60000),
          io_error("read_mask", "compression 60000 is unknown"))
    c.add(d + "rgb.tif", tiff_image(5, 4, bytes(c for r in rgb_of(PAN_IDS) for p in r
                                                for c in p), bits=(8, 8, 8), photometric=2),
          io_error("read_mask", "three samples per pixel"))
    c.add(d + "float32.tif",
          tiff_image(8, 6, le([float(v) for v in flat(LABELS)], "f"), bits=(32,),
                     sample_format=3),
          io_error("read_mask", "float labels"))
    c.add(d + "uint16_valid.tif", tiff_image(8, 6, le(flat(LABELS), "H"), bits=(16,)),
          labels_ok("read_mask", "16-bit labels", dtype="uint16"))
    c.add(d + "100000x100000.tif", tiff_image(100000, 100000, bytes(64)),
          error("read_mask", "ImageTooLargeError", "ValueError", "1e10 pixels declared"))
    # issue 17: one PackBits strip declared 37 × 175 million pixels (162 bytes); `maskkit
    # count` sent it to GDAL, which decoded 6.5 GB before failing
    strip = b"\x81\x00" * 20
    c.add(d + "bomb_packbits_strip_175000000x37.tif",
          tiff_image(175_000_000, 37, strip, compression=32773),
          error("read_mask", "ImageTooLargeError", "ValueError", "6.5e9 pixels declared",
                bomb=True),
          error("count", "ImageTooLargeError", "ValueError",
                "tiled path: one strip would decode to 6.5 GB", bomb=True))
    c.add(d + "bomb_uint32_32768x32768.tif",
          tiff_image(32768, 32768, strip, bits=(32,), compression=32773),
          error("read_mask", "ImageTooLargeError", "ValueError",
                "2**30 pixels of 4 bytes: 4 GiB, above the byte limit", bomb=True),
          error("count", "ImageTooLargeError", "ValueError",
                "tiled path: one 4 GiB strip", bomb=True))


# ==================================================================== .npy


def add_npy(c: Corpus) -> None:
    d = "npy/"
    data = le(flat(LABELS), "i")
    good = npy("<i4", (6, 8), data)
    c.add(d + "int32_valid.npy", good, labels_ok("read_mask", "control", dtype="int32"),
          ok("count", {"table": LABELS_COUNT}, "control"))
    c.add(d + "truncated_magic.npy", good[:4], io_error("read_mask", "cut in the magic"))
    c.add(d + "truncated_header.npy", good[:40], io_error("read_mask", "cut in the header"))
    c.add(d + "truncated_data.npy", good[:64 + 50], io_error("read_mask", "50 of 192 bytes"))
    c.add(d + "header_only.npy", good[:64], io_error("read_mask", "no data at all"))
    c.add(d + "bad_magic.npy", b"\x93NUMPX" + good[6:], io_error("read_mask", "bad magic"))
    c.add(d + "bad_version.npy", npy("<i4", (6, 8), data, magic=b"\x93NUMPY\x09\x00"),
          io_error("read_mask", "format version 9.0"))
    c.add(d + "header_not_a_dict.npy", npy("", (), data, header="[1, 2, 3]"),
          io_error("read_mask", "the header is a list"))
    c.add(d + "header_code.npy",
          npy("", (), data, header="__import__('os').system('false')"),
          io_error("read_mask", "code in the header is never evaluated"))
    c.add(d + "bomb_int64_32768x32768.npy", npy("<i8", (32768, 32768), data),
          io_error("read_mask", "8 GiB declared, 192 bytes stored: never allocated",
                   bomb=True),
          io_error("count", "8 GiB declared, 192 bytes stored (the tiled path)", bomb=True))
    c.add(d + "header_negative_shape.npy", npy("<i4", (-6, 8), data),
          io_error("read_mask", "a negative dimension"))
    c.add(d + "header_unknown_dtype.npy", npy("<q9", (6, 8), data),
          io_error("read_mask", "an unknown dtype"))
    payload = pickle.dumps([1, "two", (3.0,)], protocol=3)
    c.add(d + "pickled_object_array.npy", npy("|O", (3,), payload),
          io_error("read_mask", "an object array needs pickle, which is refused"))
    c.add(d + "float64.npy", npy("<f8", (6, 8), le([float(v) for v in flat(LABELS)], "d")),
          io_error("read_mask", "float labels"))
    c.add(d + "complex64.npy", npy("<c8", (2, 2), bytes(32)),
          io_error("read_mask", "complex labels"))
    c.add(d + "zero_d.npy", npy("<i4", (), le([7], "i")),
          ok("read_mask", {"shape": [], "dtype": "int32", "values": 7},
             "read_mask reads any integer array; counting refuses a 0-d one"),
          error("count", "InvalidInputError", "ValueError", "a 0-d array is not an image"))
    c.add(d + "one_d.npy", npy("<u1", (5,), bytes([0, 1, 1, 0, 2])),
          error("count", "InvalidInputError", "ValueError", "a 1-d array is not an image"))
    four = npy("<u1", (2, 2, 2, 2), bytes([0, 1] * 8))
    c.add(d + "four_d.npy", four,
          ok("read_mask", {"shape": [2, 2, 2, 2], "dtype": "uint8", "sum": 8},
             "read_mask reads any integer array; counting refuses 4-D"),
          error("count", "InvalidInputError", "ValueError", "4-D"))
    c.add(d + "three_d_channel.npy", npy("<u1", (6, 8, 1), bytes(flat(LABELS))),
          labels_ok("read_mask", "a trailing channel of 1 is squeezed"))
    c.add(d + "fortran_order.npy",
          npy("<i4", (6, 8), le([LABELS[r][col] for col in range(8) for r in range(6)], "i"),
              fortran=True),
          labels_ok("read_mask", "column-major data", dtype="int32"))
    c.add(d + "big_endian.npy", npy(">i2", (6, 8), struct.pack(">48h", *flat(LABELS))),
          labels_ok("read_mask", "big-endian int16", dtype=">i2"),
          ok("count", {"table": LABELS_COUNT}, "counting big-endian labels"))
    c.add(d + "bool.npy", npy("|b1", (6, 8), bytes(int(v > 0) for v in flat(LABELS))),
          ok("count", {"table": [[1, 3, 18]]}, "a bool mask: foreground is class 1, in 3 "
                                               "8-connected objects"))
    c.add(d + "100000x100000.npy", npy("|u1", (100000, 100000), bytes(64)),
          io_error("read_mask", "1e10 bytes declared, 64 present"))
    c.add(d + "zero_rows.npy", npy("<i4", (0, 8), b""),
          ok("read_mask", {"shape": [0, 8], "dtype": "int32", "sum": 0}, "an empty mask"),
          ok("count", {"table": []}, "an empty mask has no objects"))


# ==================================================================== panoptic pairs


def pan_segments(over: dict | None = None, segments=PAN_SEGMENTS) -> list[dict]:
    """segments_info of PAN_IDS; ``over`` maps a segment id to keys to change."""
    over = over or {}
    out = []
    for sid, cat, area, bbox in segments:
        seg = {"id": sid, "category_id": cat, "iscrowd": 0, "area": area, "bbox": bbox}
        seg.update(over.get(sid, {}))
        out.append(seg)
    return out


def pan_doc(segments, *, file_name="img1.png", categories=PAN_CATEGORIES, height=4,
            width=5, annotation=None) -> str:
    ann = {"image_id": 1, "file_name": file_name, "segments_info": segments}
    ann.update(annotation or {})
    return json.dumps({
        "images": [{"id": 1, "file_name": "img1.jpg", "height": height, "width": width}],
        "annotations": [ann], "categories": categories,
    })


def add_panoptic_case(c: Corpus, case: str, *, gt=None, gt_png=None, pred=None,
                      pred_png=None, pred_png_name="img1.png", runs=()) -> None:
    """A ground-truth and a predicted dataset (JSON + PNG folder each) under ``case``.

    ``pred_png=False`` leaves the prediction folder out.
    """
    d = f"panoptic/{case}/"
    c.add(d + "gt.json", gt if gt is not None else pan_doc(pan_segments()))
    if gt_png is not False:
        c.add(d + "gt/img1.png", gt_png if gt_png is not None else rgb_png())
    c.add(d + "pred.json", pred if pred is not None else pan_doc(pan_segments()))
    if pred_png is not False:
        c.add(d + f"pred/{pred_png_name}", pred_png if pred_png is not None else rgb_png())
    for which, run in runs:
        c.expect(d + which, run)


def pq_error(exception, why, names, builtin="ValueError"):
    return ("pred.json", error("pq", exception, builtin, why, names=names,
                               args={"gt": "gt.json"}))


def check_ok(problems: list[str], why: str, which="pred.json"):
    return (which, ok("panoptic_check", {"problems": problems}, why))


def add_panoptic(c: Corpus) -> None:
    p = "panoptic/"
    add_panoptic_case(c, "valid", runs=[
        ("pred.json", ok("pq", {"All": {"pq": 1.0, "sq": 1.0, "rq": 1.0, "n": 3}},
                         "control: a perfect prediction", args={"gt": "gt.json"})),
        check_ok([], "control: nothing to report"),
        ("pred.json", ok("panoptic_to_coco", {"areas": [4, 4, 6],
                                              "counts": ["0220<", "<2200", "2220006"]},
                         "control: three segments")),
    ])
    extra = [row[:] for row in PAN_IDS]
    extra[3][3] = extra[3][4] = 9
    add_panoptic_case(c, "png_segment_not_in_json", pred_png=rgb_png(extra), runs=[
        pq_error("InvalidAnnotationError", "segment 9 is in the PNG only",
                 p + "png_segment_not_in_json/pred/img1.png"),
        check_ok(["segment 9: in the PNG (2 pixels) but not listed in the JSON"],
                 "the checker lists it"),
    ])
    missing = [[0 if v == 2 else v for v in row] for row in PAN_IDS]
    add_panoptic_case(c, "json_segment_not_in_png", pred_png=rgb_png(missing), runs=[
        pq_error("InvalidAnnotationError", "segment 2 is in the JSON only",
                 p + "json_segment_not_in_png/pred/img1.png"),
        ("pred.json", error("panoptic_to_coco", "InvalidAnnotationError", "ValueError",
                            "segment 2 has no pixels", names="img1.png")),
        check_ok(["segment 2: listed in the JSON but absent from the PNG"],
                 "the checker lists it"),
    ])
    add_panoptic_case(c, "area_and_bbox_wrong",
                      pred=pan_doc(pan_segments({1: {"area": 5, "bbox": [0, 0, 3, 2]}})),
                      runs=[check_ok(["segment 1: area is 5 in the JSON but 4 in the PNG",
                                      "segment 1: bbox is [0, 0, 3, 2] in the JSON but "
                                      "[0, 0, 2, 2] in the PNG"], "both are reported")])
    small = [row[:4] for row in PAN_IDS[:3]]
    add_panoptic_case(c, "png_size_differs", pred_png=rgb_png(small), runs=[
        pq_error("InvalidInputError", "the prediction PNG is 3×4, the ground truth 4×5",
                 p + "png_size_differs/pred/img1.png"),
        check_ok(["PNG is 3×4 but the image record says 4×5",
                  "segment 2: area is 4 in the JSON but 2 in the PNG",
                  "segment 2: bbox is [3, 0, 2, 2] in the JSON but [3, 0, 1, 2] in the PNG",
                  "segment 300: area is 6 in the JSON but 3 in the PNG",
                  "segment 300: bbox is [0, 2, 3, 2] in the JSON but [0, 2, 3, 1] in the PNG"],
                 "the size, and the area and box of the segments cut by it"),
    ])
    add_panoptic_case(c, "png_missing", pred_png_name="img2.png", runs=[
        pq_error("MaskkitIOError", "pred/ holds img2.png, not img1.png",
                 p + "png_missing/pred/img1.png", builtin="OSError"),
        check_ok(["cannot read PNG"], "the checker reports the missing PNG"),
    ])
    add_panoptic_case(c, "pred_folder_missing", pred_png=False, runs=[
        pq_error("InvalidInputError", "there is no pred/ folder",
                 p + "pred_folder_missing/pred"),
        check_ok(["cannot read PNG"], "the checker reports the missing PNG"),
    ])
    add_panoptic_case(c, "png_truncated", pred_png=rgb_png()[:60], runs=[
        pq_error("MaskkitIOError", "the PNG is cut short", p + "png_truncated/pred/img1.png",
                 builtin="OSError"),
        check_ok(["cannot read PNG"], "the checker reports the unreadable PNG"),
    ])
    add_panoptic_case(c, "png_is_grey", pred_png=grey_png([[1, 1, 0, 2, 2]] * 4), runs=[
        pq_error("InvalidAnnotationError", "a grey PNG reads as colours (v, v, v): ids "
                 "65793 and 131586, in no segments_info", p + "png_is_grey/pred/img1.png"),
    ])
    add_panoptic_case(c, "duplicate_segment_id",
                      pred=pan_doc(pan_segments() + pan_segments()[:1]), runs=[
        pq_error("InvalidAnnotationError", "segment 1 listed twice",
                 p + "duplicate_segment_id/pred/img1.png"),
        check_ok(["segment 1: segment id listed more than once"], "reported once"),
    ])
    add_panoptic_case(c, "segment_id_zero",
                      pred=pan_doc([*pan_segments(), {"id": 0, "category_id": 1}]), runs=[
        pq_error("InvalidAnnotationError", "id 0 is VOID",
                 p + "segment_id_zero/pred/img1.png"),
        check_ok(["segment 0: segment id 0 is reserved for VOID"], "reported"),
    ])
    add_panoptic_case(c, "segment_id_string",
                      pred=pan_doc(pan_segments({1: {"id": "1"}})), runs=[
        pq_error("InvalidAnnotationError", "id '1' is a string",
                 p + "segment_id_string/pred/img1.png"),
        check_ok(["segment #0 has a non-integer id '1'",
                  "segment 1: in the PNG (4 pixels) but not listed in the JSON"],
                 "the string id is reported and so is the unlisted segment 1"),
    ])
    add_panoptic_case(c, "unknown_category",
                      pred=pan_doc(pan_segments({2: {"category_id": 42}})), runs=[
        pq_error("UnknownCategoryError", "category 42", p + "unknown_category/pred/img1.png"),
        check_ok(["segment 2: unknown category_id 42"], "reported"),
    ])
    add_panoptic_case(c, "category_id_string",
                      pred=pan_doc(pan_segments({2: {"category_id": "car"}})), runs=[
        pq_error("InvalidAnnotationError", "category 'car' is a string",
                 p + "category_id_string/pred/img1.png"),
        check_ok(["segment 2: category_id must be an integer; got 'car'"],
                 "reported, not a crash"),
    ])
    add_panoptic_case(c, "category_id_null",
                      pred=pan_doc(pan_segments({2: {"category_id": None}})), runs=[
        pq_error("InvalidAnnotationError", "category null",
                 p + "category_id_null/pred/img1.png"),
        check_ok(["segment 2: no category_id"], "reported, not a crash"),
    ])
    add_panoptic_case(c, "iscrowd_string",
                      pred=pan_doc(pan_segments({1: {"iscrowd": "no"}})), runs=[
        pq_error("InvalidAnnotationError", "iscrowd 'no'", p + "iscrowd_string/pred/img1.png"),
        check_ok(["segment 1: iscrowd must be 0 or 1; got 'no'"], "reported, not a crash"),
    ])
    add_panoptic_case(c, "area_string", gt=pan_doc(pan_segments({300: {"area": "6"}})), runs=[
        ("pred.json", error("pq", "InvalidAnnotationError", "ValueError",
                            "the ground truth's area '6' is a string",
                            names=p + "area_string/gt/img1.png", args={"gt": "gt.json"})),
        check_ok(["segment 300: area is '6' in the JSON but 6 in the PNG"],
                 "reported, not a crash", which="gt.json"),
    ])
    add_panoptic_case(c, "bbox_not_a_list",
                      pred=pan_doc(pan_segments({2: {"bbox": "3,0,2,2"}})), runs=[
        ("pred.json", ok("pq", {"All": {"pq": 1.0, "n": 3}},
                         "PQ does not read the prediction's bbox", args={"gt": "gt.json"})),
        check_ok(["segment 2: bbox is '3,0,2,2' in the JSON but [3, 0, 2, 2] in the PNG"],
                 "reported, not a crash"),
    ])
    add_panoptic_case(c, "segments_info_not_a_list",
                      pred=pan_doc({"1": {"category_id": 1}}), runs=[
        pq_error("InvalidAnnotationError", "segments_info is a dict",
                 p + "segments_info_not_a_list/pred/img1.png"),
        check_ok(["segments_info is not a list"], "reported"),
    ])
    add_panoptic_case(c, "annotation_without_file_name",
                      pred=pan_doc(pan_segments(), annotation={"file_name": None}), runs=[
        pq_error("InvalidAnnotationError", "no file_name",
                 p + "annotation_without_file_name/pred.json"),
        check_ok(["annotation #0 has no 'file_name'", "image has no panoptic annotation"],
                 "reported, and image 1 is then left without a usable annotation"),
    ])
    add_panoptic_case(c, "no_prediction_for_image",
                      pred=pan_doc(pan_segments(), annotation={"image_id": 2}), runs=[
        pq_error("InvalidAnnotationError", "image 1 has no prediction",
                 p + "no_prediction_for_image/pred.json"),
    ])
    add_panoptic_case(c, "category_without_isthing",
                      gt=pan_doc(pan_segments(), categories=[{"id": 1}, {"id": 2}, {"id": 3}]),
                      runs=[pq_error("InvalidAnnotationError", "categories need isthing",
                                     p + "category_without_isthing/gt.json")])
    add_panoptic_case(c, "pred_json_truncated", pred=pan_doc(pan_segments())[:50], runs=[
        pq_error("MaskkitIOError", "the prediction JSON is cut short",
                 p + "pred_json_truncated/pred.json", builtin="OSError"),
        ("pred.json", io_error("panoptic_check", "the JSON is cut short")),
        ("pred.json", io_error("panoptic_to_coco", "the JSON is cut short")),
    ])
    add_panoptic_case(c, "annotations_not_a_list",
                      pred=json.dumps({"annotations": {}, "categories": PAN_CATEGORIES}), runs=[
        pq_error("InvalidAnnotationError", "annotations is a dict",
                 p + "annotations_not_a_list/pred.json"),
        check_ok(["no 'annotations' list"], "reported"),
    ])
    add_panoptic_case(c, "png_bad_adler32",
                      pred_png=png_with_stream(5, 4, 8, 2, _rgb_stream("bad_adler32")),
                      runs=[pq_error("MaskkitIOError", "corrupt image data",
                                     p + "png_bad_adler32/pred/img1.png", builtin="OSError")])


# ==================================================================== main


def build() -> Corpus:
    c = Corpus()
    add_json(c)
    add_coco(c)
    add_rle(c)
    add_png(c)
    add_tiff(c)
    add_npy(c)
    add_panoptic(c)
    return c


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    corpus = build()
    corpus.write(out)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{len(corpus.files)} files + MANIFEST.json, {size:,} bytes, "
          f"{len(corpus.entries)} manifest entries "
          f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
