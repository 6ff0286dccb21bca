"""Hostile inputs (issue 17): refuse before allocating, never accept corrupt data.

Every reproducer of the issue is a test here: RLE runs that overflow int64, non-ASCII
compressed counts, PNGs looser than zlib and the PNG spec, files whose headers declare
buffers far beyond the byte limit (PNG, TIFF, ``.npy``), the 162-byte TIFF that made
GDAL decode 6.5 GB, and errors that were not one line.  The last test runs every bomb of
the corpus in a fresh process and bounds its peak memory.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import maskkit
from maskkit.errors import (
    ImageTooLargeError,
    InvalidAnnotationError,
    InvalidRLEError,
    MaskkitError,
    MaskkitIOError,
)
from maskkit.io.masks import read_mask
from maskkit.io.png import read_png, read_png_rgb_fast
from tests.corpus.make_corpus import rle_string

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus" / "files"

# ------------------------------------------------------------------------------ RLE (3, 4)


@pytest.mark.parametrize("fn", [maskkit.rle_area, maskkit.rle_decode, maskkit.rle_to_bbox,
                                lambda r: maskkit.rle_merge([r]),
                                lambda r: maskkit.rle_paint(np.zeros((2, 2), np.uint8), r, 1)])
@pytest.mark.parametrize("counts", [[2**62] * 4 + [4], [0, 2**62] * 4 + [4], [0, 5, -1],
                                    [4] * (1 << 16), [2**62, 2**62, 2**63 - 1]])
def test_rle_runs_longer_than_the_image_are_refused_everywhere(fn, counts):
    with pytest.raises(InvalidRLEError, match="longer than|negative|sum to more"):
        fn({"size": [2, 2], "counts": counts})


def test_rle_issue_reproducers():
    # the exact calls of the issue: -2**63 and an all-ones mask before
    with pytest.raises(InvalidRLEError, match="run 0 .* longer than the 2×2 = 4 pixels"):
        maskkit.rle_area({"size": [2, 2], "counts": [2**62] * 4 + [4]})
    with pytest.raises(InvalidRLEError, match="run 1 .* longer than"):
        maskkit.rle_decode({"size": [2, 2], "counts": [0, 2**62] * 4 + [4]})


def test_pycocotools_refuses_what_maskkit_refuses():
    from pycocotools import mask as cocomask

    with pytest.raises(OverflowError):
        cocomask.frPyObjects({"size": [2, 2], "counts": [0, 2**62] * 4 + [4]}, 2, 2)


@pytest.mark.parametrize("text, char", [("0€1", "'€' (U+20AC) at position 1"),
                                        ("0€Q1", "'€'"), ("é", "'é' (U+00E9) at position 0"),
                                        ("00\U0001F600", "U+1F600")])
def test_non_ascii_compressed_counts_are_named(text, char):
    for size in ([1, 16], [6, 8]):
        with pytest.raises(InvalidRLEError, match="corrupt compressed RLE counts") as err:
            maskkit.rle_decode({"size": size, "counts": text})
        assert char in str(err.value)


def test_non_ascii_bytes_counts_are_named():
    with pytest.raises(InvalidRLEError, match=r"byte 255\) at position 1"):
        maskkit.rle_decode({"size": [1, 16], "counts": b"0\xff1"})




@pytest.mark.parametrize("deltas", [[0, 0, 0] + [2**58] * 70, [0, 5, 0] + [-(2**58)] * 70,
                                    [5], [2, 3]])
def test_compressed_deltas_cannot_wrap(deltas):
    with pytest.raises(InvalidRLEError, match="longer than|negative|sum"):
        maskkit.rle_decode({"size": [2, 2], "counts": rle_string(deltas)})
    assert maskkit.rle_area({"size": [2, 2], "counts": rle_string([3, 1])}) == 1


def test_coco2sem_and_merge_panoptic_refuse_an_overflowing_rle(tmp_path, capsys):
    from maskkit.cli import main

    bad = {"size": [4, 4], "counts": [0, 2**62] * 4 + [16]}
    doc = {"images": [{"id": 1, "file_name": "a.jpg", "height": 4, "width": 4}],
           "annotations": [{"id": 7, "image_id": 1, "category_id": 1, "iscrowd": 0,
                            "segmentation": bad}],
           "categories": [{"id": 1, "name": "a"}]}
    (tmp_path / "i.json").write_text(json.dumps(doc))
    code = main(["coco2sem", str(tmp_path / "i.json"), "-o", str(tmp_path / "out"),
                 "--workers", "1", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "annotation 7" in err[0] and "longer" in err[0]
    assert not list((tmp_path / "out").rglob("*.png"))
    with pytest.raises(InvalidRLEError, match="instance 0"):
        maskkit.merge_panoptic(np.zeros((4, 4), int),
                               [{"category_id": 1, "score": 0.9, "segmentation": bad}],
                               things=[1])


@given(h=st.integers(0, 6), w=st.integers(0, 6),
       counts=st.lists(st.integers(-3, 40) | st.sampled_from([2**62, 2**63 - 1, 2**64 + 1,
                                                              -(2**62)]), max_size=9))
def test_rle_accepted_exactly_when_pycocotools_semantics_hold(h, w, counts):
    rle = {"size": [h, w], "counts": counts}
    valid = all(0 <= c <= h * w for c in counts) and sum(counts) == h * w
    try:
        mask = maskkit.rle_decode(rle)
    except InvalidRLEError:
        assert not valid
        return
    assert valid
    assert maskkit.rle_area(rle) == int(mask.sum())
    if h and w:
        from pycocotools import mask as cocomask

        ref = cocomask.decode(cocomask.frPyObjects(rle, h, w))
        np.testing.assert_array_equal(mask, ref)
        np.testing.assert_array_equal(maskkit.rle_to_bbox(rle),
                                      cocomask.toBbox(cocomask.frPyObjects(rle, h, w)))


# ------------------------------------------------------------------------------ PNG (5)


def chunk(kind: bytes, data: bytes, crc=None) -> bytes:
    crc = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


SIG = b"\x89PNG\r\n\x1a\n"


def ihdr(w, h, depth=8, ctype=0, comp=0, filt=0, interlace=0) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, comp, filt, interlace))


def grey_png(rows: np.ndarray, *, idat=None, head=None, mid=b"") -> bytes:
    raw = b"".join(b"\x00" + r.tobytes() for r in rows)
    z = zlib.compress(raw) if idat is None else idat(zlib.compress(raw))
    h, w = rows.shape
    return SIG + (head or ihdr(w, h)) + mid + chunk(b"IDAT", z) + chunk(b"IEND", b"")


def _write(tmp_path, data: bytes, name="p.png") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_png_issue_reproducer_short_adler(tmp_path):
    c = chunk
    z = zlib.compress(b"\0\1\2\3")
    path = _write(tmp_path, SIG + c(b"IHDR", struct.pack(">IIBBBBB", 3, 1, 8, 0, 0, 0, 0))
                  + c(b"IDAT", z[:-4] + b"\xde\xad\xbe") + c(b"IEND", b""))
    with pytest.raises(zlib.error, match="incomplete or truncated"):
        zlib.decompress(z[:-4] + b"\xde\xad\xbe")
    with pytest.raises(MaskkitIOError, match="p.png: not a readable PNG .*Adler-32"):
        read_png(path)


ROWS = (np.arange(24, dtype=np.uint8) * 7).reshape(4, 6)


@pytest.mark.parametrize("data, reason", [
    (grey_png(ROWS, head=ihdr(6, 4, filt=1)), "filter method 1"),
    (grey_png(ROWS, head=ihdr(6, 4, comp=1)), "compression method 1"),
    (grey_png(ROWS, head=ihdr(6, 4, interlace=2)), "interlace method 2"),
    (grey_png(ROWS, head=ihdr(6, 4, interlace=255)), "interlace method 255"),
    (grey_png(ROWS, head=chunk(b"IHDR", struct.pack(">IIBBBBBB", 6, 4, 8, 0, 0, 0, 0, 0))),
     "IHDR chunk is 14 bytes long"),
    (grey_png(ROWS, head=ihdr(6, 4, depth=16, ctype=3)), "bit depth 16 is not allowed"),
    (grey_png(ROWS, head=ihdr(0, 4)), "size 0×4"),
    (grey_png(ROWS, idat=lambda z: z), None),  # control
    (grey_png(ROWS, idat=lambda z: z[:-1]), "1 byte"),
    (grey_png(ROWS, idat=lambda z: z[:-3]), "3 byte"),
    (grey_png(ROWS, idat=lambda z: z[:-4]), "4 byte"),
    (grey_png(ROWS, idat=lambda z: z[:-4] + b"\0\0\0\0"), "checksum mismatch"),
    (grey_png(ROWS, mid=chunk(b"ABCD", b"")), "unknown critical chunk ABCD"),
    (grey_png(ROWS, mid=chunk(b"PLTE", bytes(6))), "PLTE chunk in a colour type 0"),
    (grey_png(ROWS).replace(chunk(b"IEND", b""), chunk(b"IEND", b"", crc=5)),
     "IEND chunk CRC mismatch"),
    (grey_png(ROWS)[:-12], "before the IEND chunk"),
])
def test_png_accepted_only_as_zlib_and_the_spec_accept(tmp_path, data, reason):
    path = _write(tmp_path, data)
    if reason is None:
        np.testing.assert_array_equal(read_png(path), ROWS)
        return
    for reader in (read_png, read_mask, read_png_rgb_fast):
        with pytest.raises(MaskkitIOError, match=reason) as err:
            reader(path)
        assert str(err.value).startswith(f"{path}: not a readable PNG (")
        assert "\n" not in str(err.value)


def test_png_critical_chunk_crcs_and_consecutive_idat(tmp_path):
    raw = b"".join(b"\x00" + r.tobytes() for r in ROWS)
    z = zlib.compress(raw)
    end = chunk(b"IEND", b"")
    bad_idat = SIG + ihdr(6, 4) + chunk(b"IDAT", z, crc=1) + end
    split = SIG + ihdr(6, 4) + chunk(b"IDAT", z[:5]) + chunk(b"tEXt", b"k\0v") \
        + chunk(b"IDAT", z[5:]) + end
    pal = SIG + ihdr(6, 4, ctype=3) + chunk(b"PLTE", bytes(768), crc=9) + chunk(b"IDAT", z) + end
    ok_split = SIG + ihdr(6, 4) + chunk(b"tEXt", b"k\0v", crc=3) + chunk(b"IDAT", z[:5]) \
        + chunk(b"IDAT", z[5:]) + end
    for data, reason in [(bad_idat, "IDAT chunk CRC mismatch"),
                         (split, "IDAT chunks are not consecutive"),
                         (pal, "PLTE chunk CRC mismatch")]:
        with pytest.raises(MaskkitIOError, match=reason):
            read_png(_write(tmp_path, data))
    # an ancillary chunk's CRC is not fatal (the spec); split IDATs that follow each
    # other are fine
    np.testing.assert_array_equal(read_png(_write(tmp_path, ok_split)), ROWS)


def _reference_accepts(data: bytes) -> np.ndarray | None:
    """8-bit grey non-interlaced PNGs as zlib + the PNG spec + Pillow read them."""
    from PIL import Image

    if data[:8] != SIG:
        return None
    pos, idat, seen_end, after_idat, first = 8, [], False, False, True
    hdr = None
    while pos + 12 <= len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if n > 2**31 - 1 or pos + 12 + n > len(data) or not kind.isalpha():
            return None
        body = data[pos + 8:pos + 8 + n]
        crc_ok = zlib.crc32(kind + body) == int.from_bytes(data[pos + 8 + n:pos + 12 + n],
                                                            "big")
        if kind[0] < 0x61 and (kind not in (b"IHDR", b"PLTE", b"IDAT", b"IEND") or not crc_ok):
            return None
        if first != (kind == b"IHDR"):
            return None
        first = False
        if kind == b"IHDR":
            if n != 13:
                return None
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            if after_idat:
                return None
            idat.append(body)
        elif kind == b"IEND":
            seen_end = n == 0
            break
        elif kind == b"PLTE":
            return None  # never in these grey test files
        if idat and kind != b"IDAT":
            after_idat = True
        pos += 12 + n
    if not seen_end or not idat or hdr != (hdr[0], hdr[1], 8, 0, 0, 0, 0) or not hdr[0] \
            or not hdr[1]:
        return None
    try:
        d = zlib.decompressobj()
        raw = d.decompress(b"".join(idat))
        if not d.eof or len(raw) != hdr[1] * (hdr[0] + 1):
            return None
    except zlib.error:
        return None
    if any(raw[y * (hdr[0] + 1)] > 4 for y in range(hdr[1])):
        return None
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img)


@given(st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(["flip", "cut", "drop",
                                                                    "dup"]),
                          st.integers(1, 255)), min_size=1, max_size=3))
def test_png_mutants_read_exactly_when_the_reference_reads_them(tmp_path_factory, edits):
    rows = (np.arange(5 * 7, dtype=np.uint8) % 5).reshape(5, 7)
    raw = b"".join(bytes([1]) + r.tobytes() for r in rows)
    z = zlib.compress(raw)
    data = bytearray(SIG + ihdr(7, 5) + chunk(b"IDAT", z[:9]) + chunk(b"IDAT", z[9:])
                     + chunk(b"IEND", b""))
    for where, op, value in edits:
        i = where % len(data)
        if op == "flip":
            data[i] ^= value
        elif op == "cut":
            del data[i:]
        elif op == "drop":
            del data[i]
        else:
            data[i:i] = data[i:i + value % 13]
        if not data:
            data = bytearray(b"x")
    path = tmp_path_factory.mktemp("m") / "m.png"
    path.write_bytes(bytes(data))
    try:
        got = read_png(path)
    except MaskkitError as exc:
        assert str(path) in str(exc)
        got = None
    want = _reference_accepts(bytes(data))
    if want is None:
        assert got is None, "maskkit read a PNG that zlib or the PNG spec refuse"
    else:
        assert got is not None, "maskkit refused a PNG that zlib and the PNG spec accept"
        np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------------------------ bytes (2)


def _bomb_png(w, h, depth, ctype) -> bytes:
    return SIG + ihdr(w, h, depth, ctype) + chunk(b"IDAT", zlib.compress(bytes(1 << 16))) \
        + chunk(b"IEND", b"")


def test_png_bomb_refused_from_the_header(tmp_path):
    # the issue's case: 16-bit RGBA 16384² whose data is a zlib stream of zeros
    path = _write(tmp_path, _bomb_png(16384, 16384, 16, 6))
    for reader in (read_png, read_png_rgb_fast, lambda p: read_png(p, mode="rgb")):
        t = time.perf_counter()
        with pytest.raises(ImageTooLargeError, match="16384×16384 16-bit RGBA PNG needs") as e:
            reader(path)
        assert time.perf_counter() - t < 1.0
        assert str(e.value).startswith(f"{path}: reading a ")
        assert "set_max_bytes" in str(e.value)


def test_byte_limit_is_overridable(tmp_path, monkeypatch):
    path = _write(tmp_path, grey_png(ROWS))
    old = maskkit.set_max_bytes(50)
    try:
        assert maskkit.get_max_bytes() == 50
        with pytest.raises(ImageTooLargeError, match="above the limit of 50 bytes"):
            read_png(path)
        np.save(tmp_path / "a.npy", np.zeros((10, 10), np.int64))
        with pytest.raises(ImageTooLargeError, match="above the limit of 50 bytes"):
            read_mask(tmp_path / "a.npy")
        import tifffile

        tifffile.imwrite(tmp_path / "a.tif", np.zeros((10, 10), np.uint16))
        with pytest.raises(ImageTooLargeError, match="TIFF page"):
            read_mask(tmp_path / "a.tif")
    finally:
        maskkit.set_max_bytes(old)
    np.testing.assert_array_equal(read_png(path), ROWS)
    with pytest.raises(MaskkitError, match="positive"):
        maskkit.set_max_bytes(0)
    code = ("import maskkit, sys; from maskkit.io.png import read_png\n"
            "assert maskkit.get_max_bytes() == 50\n"
            "try:\n    read_png(sys.argv[1])\nexcept maskkit.ImageTooLargeError:\n"
            "    sys.exit(0)\nsys.exit(1)\n")
    env = {**os.environ, "MASKKIT_MAX_BYTES": "50"}
    assert subprocess.run([sys.executable, "-c", code, str(path)], env=env).returncode == 0


def test_png_byte_count_is_the_inflated_stream_plus_the_array(tmp_path):
    # 4 rows of a filter byte + 6 samples, then the 4×6 uint8 array: 28 + 24 bytes
    path = _write(tmp_path, grey_png(ROWS))
    old = maskkit.set_max_bytes(52)
    try:
        np.testing.assert_array_equal(read_png(path), ROWS)
        maskkit.set_max_bytes(51)
        with pytest.raises(ImageTooLargeError, match="a 6×4 8-bit grey PNG needs 52 bytes"):
            read_png(path)
        with pytest.raises(ImageTooLargeError):  # counting checks the same bytes
            maskkit.count_file(path)
    finally:
        maskkit.set_max_bytes(old)


def test_coco_label_map_and_pq_table_are_checked(monkeypatch):
    old = maskkit.set_max_bytes(1000)
    try:
        doc = {"images": [{"id": 1, "height": 40, "width": 40}], "annotations": [],
               "categories": [{"id": 1, "name": "a"}]}
        with pytest.raises(ImageTooLargeError, match="40×40 uint8 label map"):
            maskkit.coco_to_semantic(doc, image_id=1)
        with pytest.raises(ImageTooLargeError, match="40×40 uint8 mask of an RLE"):
            maskkit.rle_decode({"size": [40, 40], "counts": [1600]})
        from maskkit.core.panoptic import instances_to_panoptic

        with pytest.raises(ImageTooLargeError, match="40×40 panoptic id map"):
            instances_to_panoptic([], 40, 40)
    finally:
        maskkit.set_max_bytes(old)


def test_pq_table_is_checked():
    from maskkit import id2rgb
    from maskkit.datasets.pq import pq_image_stats

    ids = np.arange(1, 401, dtype=np.int64).reshape(20, 20)
    ann = {"segments_info": [{"id": i, "category_id": 1, "iscrowd": 0, "area": 1}
                             for i in range(1, 401)]}
    old = maskkit.set_max_bytes(400 * 400 * 8)  # the table needs 402 × 402 × 8 bytes
    try:
        with pytest.raises(ImageTooLargeError, match="intersection table of 400 × 400"):
            pq_image_stats(ann, ann, id2rgb(ids), id2rgb(ids), {1: 0}, pred_source="p.png")
    finally:
        maskkit.set_max_bytes(old)
    assert pq_image_stats(ann, ann, id2rgb(ids), id2rgb(ids), {1: 0})[0, 1] == 400


def test_non_png_content_read_by_pillow_is_checked_from_its_header(tmp_path):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.zeros((1000, 1000), np.uint8)).save(buf, format="GIF")
    path = _write(tmp_path, buf.getvalue(), "gif.png")
    old = maskkit.set_max_bytes(10**6)
    try:
        with pytest.raises(ImageTooLargeError, match="1000×1000 GIF"):
            read_png(path)
    finally:
        maskkit.set_max_bytes(old)
    assert read_png(path).shape == (1000, 1000)


# ------------------------------------------------------------------------------ TIFF (1, 6)


def issue_tiff(path: Path, w=175_000_000, h=37) -> Path:
    """The 162-byte TIFF of the issue: one PackBits strip of h rows of w pixels."""
    p = b"\x81\x00" * 20
    t = [(256, 4, w), (257, 4, h), (258, 3, 8), (259, 3, 32773), (262, 3, 1), (273, 4, None),
         (277, 3, 1), (278, 4, h), (279, 4, len(p))]
    off = 8 + 2 + 12 * len(t) + 4
    b = b"II*\0" + struct.pack("<IH", 8, len(t))
    for g, ty, v in t:
        v = off if v is None else v
        b += struct.pack("<HHI", g, ty, 1) + (struct.pack("<HH", v, 0) if ty == 3
                                              else struct.pack("<I", v))
    path.write_bytes(b + b"\0\0\0\0" + p)
    return path


def test_tiff_issue_reproducer_is_one_immediate_line(tmp_path):
    path = issue_tiff(tmp_path / "s.tif")
    assert path.stat().st_size == 162
    with pytest.raises(ImageTooLargeError):
        read_mask(path)
    from maskkit.cli.count import count_image
    from maskkit.datasets.tiled import use_tiled

    assert use_tiled(path)
    with pytest.raises(ImageTooLargeError, match="37×175000000 uint8 block"):
        count_image(path, kind="semantic", connectivity=8, min_area=0, ignore=(255,))
    t = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "maskkit", "count", str(path), "--kind",
                          "semantic"], capture_output=True, text=True, timeout=120)
    assert time.perf_counter() - t < 60
    assert run.returncode == 1
    err = run.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"maskkit count: error: {path}: reading one "), err


def test_tiled_tiff_read_errors_are_one_line(tmp_path, monkeypatch, capfd):
    """A TIFF GDAL opens but cannot decode: one MaskkitIOError line, no GDAL chatter."""
    from maskkit.datasets.tiled import count_tiled

    strip = b"\x81\x00" * 4  # PackBits that decodes to far fewer bytes than declared
    path = issue_tiff(tmp_path / "t.tif", w=3000, h=3000)
    data = path.read_bytes().replace(b"\x81\x00" * 20, strip + b"\xff" * 32)
    path.write_bytes(data)
    capfd.readouterr()
    with pytest.raises(MaskkitIOError) as err:
        count_tiled(path, tile_size=512)
    msg = str(err.value)
    assert msg.startswith(f"{path}: not a readable TIFF (") and "\n" not in msg
    assert "previous exception" not in msg
    _, errout = capfd.readouterr()
    assert "tifffile" not in errout and "ERROR" not in errout and "Warning" not in errout


def test_tiff_garbage_does_not_log(tmp_path, capfd):
    import tifffile

    tifffile.imwrite(tmp_path / "g.tif", np.ones((64, 64), np.uint16))
    data = bytearray((tmp_path / "g.tif").read_bytes())
    for i in range(8, min(200, len(data)), 3):
        data[i] ^= 0x5A
    (tmp_path / "g.tif").write_bytes(bytes(data))
    capfd.readouterr()
    try:
        read_mask(tmp_path / "g.tif")
    except MaskkitError as exc:
        assert "\n" not in str(exc)
    _, err = capfd.readouterr()
    assert not err.strip(), err


# ------------------------------------------------------------------------------ panoptic (6)


def test_panoptic_bad_score_and_category_are_one_line(tmp_path):
    seg = {"size": [4, 4], "counts": [16]}
    with pytest.raises(InvalidAnnotationError, match="instance 0: score must be a number; got None"):
        maskkit.merge_panoptic(np.zeros((4, 4), int),
                               [{"category_id": 1, "score": None, "segmentation": seg}],
                               things=[1])
    with pytest.raises(InvalidAnnotationError, match="category_id must be an integer; got 'x'"):
        maskkit.merge_panoptic(np.zeros((4, 4), int),
                               [{"category_id": "x", "score": 1.0, "segmentation": seg}],
                               things=[1])
    from maskkit.core.panoptic import instances_to_panoptic

    ann = {"id": 3, "category_id": "x", "segmentation": [[0, 0, 3, 0, 3, 3]]}
    with pytest.raises(InvalidAnnotationError, match="annotation 3: category_id must be an "
                                                     "integer; got 'x'"):
        instances_to_panoptic([ann], 4, 4)
    with pytest.raises(InvalidAnnotationError, match="score must be a number"):
        instances_to_panoptic([{**ann, "category_id": 1, "score": None}], 4, 4,
                              overlap="score")
    doc = {"images": [{"id": 1, "height": 4, "width": 4, "file_name": "a.jpg"}],
           "annotations": [{**ann, "image_id": 1}],
           "categories": [{"id": 1, "name": "a", "isthing": 1}]}
    with pytest.raises(InvalidAnnotationError, match="annotation 3: category_id must be"):
        maskkit.coco_to_panoptic(doc, tmp_path / "out")


# ------------------------------------------------------------------------------ peak memory


#: Peak resident memory a process may gain running every bomb of the corpus, after
#: reading one valid file of each kind (imports and Numba compilation are not counted).
PEAK_BOUND_MB = 150

_PEAK_SCRIPT = r"""
import json, resource, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
import test_corpus as tc

files = Path(sys.argv[1])
entries = [e for e in json.loads((files / "MANIFEST.json").read_text())["entries"]]
controls = {"png/grey8_valid.png", "png/mode_RGB.png", "png/mode_grey16.png",
            "tiff/uint8_valid.tif", "npy/int32_valid.npy"}
tmp = Path(sys.argv[3])
for e in entries:  # warm up: imports, JIT compilation, GDAL
    if e["file"] in controls and e["expect"] == "ok":
        tc.ENTRY_POINTS[e["entry"]](files / e["file"], e.get("args", {}), tmp)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
bombs = [e for e in entries if e.get("bomb")]
for e in bombs:
    try:
        tc.ENTRY_POINTS[e["entry"]](files / e["file"], e.get("args", {}), tmp)
    except Exception as exc:
        assert type(exc).__name__ == e["exception"], (e["id"], exc)
    else:
        raise AssertionError(f"{e['id']} was not refused")
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"bombs": len(bombs), "growth_kb": after - before}))
"""


def test_every_corpus_bomb_stays_under_the_memory_bound(tmp_path):
    run = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(CORPUS), str(HERE),
                          str(tmp_path)], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(
                             [str(HERE.parent), os.environ.get("PYTHONPATH", "")])})
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["bombs"] >= 10
    assert result["growth_kb"] < PEAK_BOUND_MB * 1024, result


@pytest.mark.parametrize("fortran", [True, False])
def test_tiled_npy_declaring_more_than_it_holds(tmp_path, fortran):
    from maskkit.datasets.tiled import count_tiled

    header = (f"{{'descr': '<i8', 'fortran_order': {fortran}, 'shape': (32768, 32768), }}")
    magic = b"\x93NUMPY\x01\x00"
    header += " " * (-(len(magic) + 2 + len(header) + 1) % 64) + "\n"
    path = _write(tmp_path, magic + struct.pack("<H", len(header)) + header.encode()
                  + bytes(100), "big.npy")
    with pytest.raises(MaskkitIOError, match="big.npy: .*(truncated|greater than file size)"):
        count_tiled(path)


def test_tiled_component_table_is_bounded():
    from maskkit.datasets.tiled import count_tiled

    board = (np.indices((64, 64)).sum(axis=0) % 2).astype(np.uint8)  # 2048 components
    assert count_tiled(board, connectivity=4, tile_size=16) == {1: (2048, 2048)}
    old = maskkit.set_max_bytes(100_000)
    try:
        with pytest.raises(ImageTooLargeError, match="table of more than .* components"):
            count_tiled(board, connectivity=4, tile_size=16)
    finally:
        maskkit.set_max_bytes(old)


def test_png_counting_label_table_is_bounded(tmp_path):
    """A checkerboard compresses to almost nothing but has a label every other pixel."""
    from PIL import Image

    board = (np.indices((256, 256)).sum(axis=0) % 2).astype(np.uint8)
    Image.fromarray(board).save(tmp_path / "board.png")
    assert maskkit.count_file(tmp_path / "board.png", connectivity=4) == {1: (32768, 32768)}
    old = maskkit.set_max_bytes(1_000_000)  # reading needs 128 kB, labelling ~1.7 MB
    try:
        np.testing.assert_array_equal(read_mask(tmp_path / "board.png"), board)
        with pytest.raises(ImageTooLargeError, match="board.png: counting needs a label table"):
            maskkit.count_file(tmp_path / "board.png", connectivity=4)
    finally:
        maskkit.set_max_bytes(old)
