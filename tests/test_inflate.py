"""maskkit._kernels.inflate.inflate_raw against zlib, the peer that defines DEFLATE in practice.

* every level, strategy, memLevel and flush mode of ``zlib.compressobj`` inflates back to
  the original bytes, with the exact count of bytes consumed (also with bytes after the
  stream, and with ``out`` exactly the right size or too small);
* streams written here bit by bit, from RFC 1951's tables typed in independently of the
  kernel's, cover what zlib never emits (15-bit codes, length 258 as symbol 284, every
  distance up to 32768) and one stream per error status;
* hostile input (garbage, every truncation, every single-bit flip) gives a status, never a
  crash, and the kernel accepts exactly the streams zlib accepts, with the same output.
  ``test_hostile_input_stays_in_bounds`` repeats it with kernels compiled with bounds
  checking (``MASKKIT_BOUNDSCHECK=1``), so that an out-of-bounds access would raise.
"""

from __future__ import annotations

import io
import os
import struct
import textwrap
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maskkit._kernels.inflate import STATUS_MESSAGES, inflate_raw, status_message

STRATEGIES = {
    "default": zlib.Z_DEFAULT_STRATEGY,
    "filtered": zlib.Z_FILTERED,
    "huffman_only": zlib.Z_HUFFMAN_ONLY,
    "rle": zlib.Z_RLE,
    "fixed": zlib.Z_FIXED,
}
FLUSHES = [zlib.Z_NO_FLUSH, zlib.Z_SYNC_FLUSH, zlib.Z_FULL_FLUSH, zlib.Z_PARTIAL_FLUSH,
           zlib.Z_BLOCK]
ERRORS = (-1, -2, -3, -4, -5, -6, -7)


# --- helpers ----------------------------------------------------------------------------

def deflate(data: bytes, level: int = 6, strategy: int = zlib.Z_DEFAULT_STRATEGY,
            mem_level: int = 8, wbits: int = 15, flushes=()) -> bytes:
    """A raw DEFLATE stream of ``data``; ``flushes`` = [(cut, mode)] flush mid-stream."""
    comp = zlib.compressobj(level, zlib.DEFLATED, -wbits, mem_level, strategy)
    parts = []
    start = 0
    for cut, mode in sorted(flushes):
        cut = min(cut, len(data))
        parts.append(comp.compress(data[start:cut]))
        parts.append(comp.flush(mode))
        start = cut
    parts.append(comp.compress(data[start:]))
    parts.append(comp.flush())
    return b"".join(parts)


def inflate(stream: bytes, size: int, fill: int = 0xA5):
    """``inflate_raw`` of ``stream`` into a fresh ``out`` of ``size`` bytes."""
    out = np.full(size, fill, np.uint8)
    n_written, n_consumed, status = inflate_raw(np.frombuffer(stream, np.uint8), out)
    assert status in (0, *ERRORS), status
    assert 0 <= n_written <= size
    return bytes(out[:n_written]), int(n_consumed), int(status)


def zlib_inflate(stream: bytes):
    """(data, bytes consumed) when zlib inflates ``stream`` to its final block, else None."""
    d = zlib.decompressobj(-15)
    try:
        data = d.decompress(stream)
    except zlib.error:
        return None
    if not d.eof:
        return None
    return data, len(stream) - len(d.unused_data)


def max_output(stream: bytes) -> int:
    """More bytes than any stream of this length can inflate to: a length/distance pair
    takes at least 2 bits for 258 bytes."""
    return 1032 * len(stream) + 1024


def assert_agrees_with_zlib(stream: bytes):
    """The kernel accepts ``stream`` exactly when zlib does, with the same output."""
    data, consumed, status = inflate(stream, max_output(stream))
    ref = zlib_inflate(stream)
    if ref is None:
        assert status != 0, "accepted a stream that zlib rejects"
    else:
        assert status == 0, f"rejected a stream that zlib accepts: {status_message(status)}"
        assert data == ref[0]
        assert consumed == ref[1]
    return status


# --- data -------------------------------------------------------------------------------

@st.composite
def runs(draw):
    pairs = draw(st.lists(st.tuples(st.integers(0, 255), st.integers(1, 700)), max_size=30))
    return b"".join(bytes([v]) * k for v, k in pairs)


@st.composite
def patterns(draw):
    pattern = draw(st.binary(min_size=1, max_size=40))
    n = draw(st.integers(0, 6000))
    return (pattern * (n // len(pattern) + 1))[:n]


@st.composite
def label_rows(draw):
    """The scanlines of a small label map, raw or PNG-Up-filtered, with filter bytes."""
    h = draw(st.integers(1, 24))
    w = draw(st.integers(1, 96))
    c = draw(st.sampled_from([1, 3, 4]))
    img = np.zeros((h, w, c), np.uint8)
    for _ in range(draw(st.integers(0, 8))):
        y0, y1 = sorted(draw(st.tuples(st.integers(0, h), st.integers(0, h))))
        x0, x1 = sorted(draw(st.tuples(st.integers(0, w), st.integers(0, w))))
        img[y0:y1, x0:x1] = draw(st.lists(st.integers(0, 255), min_size=c, max_size=c))
    rows = img.reshape(h, w * c)
    if draw(st.booleans()):  # Up filter: rows equal to the one above become zeros
        rows = rows - np.vstack([np.zeros((1, w * c), np.uint8), rows[:-1]])
        marker = 2
    else:
        marker = 0
    return b"".join(bytes([marker]) + r.tobytes() for r in rows)


one_piece = st.one_of(st.binary(max_size=3000), runs(), patterns(), label_rows())
data_strategy = st.one_of(one_piece, st.lists(one_piece, max_size=4).map(b"".join))


@st.composite
def compressed(draw):
    """(data, raw DEFLATE stream of it) with any zlib setting."""
    data = draw(data_strategy)
    level = draw(st.integers(0, 9))
    strategy = draw(st.sampled_from(sorted(STRATEGIES.values())))
    mem_level = draw(st.integers(1, 9))
    wbits = draw(st.sampled_from([15, 15, 15, 12, 9]))
    flushes = draw(st.lists(st.tuples(st.integers(0, len(data)), st.sampled_from(FLUSHES)),
                            max_size=3))
    return data, deflate(data, level, strategy, mem_level, wbits, flushes)


def label_map_png(seed: int, shape=(480, 640)) -> bytes:
    """A PNG (Pillow) of an RGB label map: ~30 filled rectangles and ellipses."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    h, w = shape
    img = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(img)
    for _ in range(30):
        x0, y0 = int(rng.integers(-20, w)), int(rng.integers(-20, h))
        box = [x0, y0, x0 + int(rng.integers(5, w // 2)), y0 + int(rng.integers(5, h // 2))]
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.rectangle if rng.random() < 0.5 else draw.ellipse)(box, fill=color)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def idat_stream(png: bytes) -> bytes:
    """The zlib stream of a PNG: its IDAT chunks joined."""
    pos = 8
    parts = []
    while pos < len(png):
        (size,) = struct.unpack(">I", png[pos:pos + 4])
        if png[pos + 4:pos + 8] == b"IDAT":
            parts.append(png[pos + 8:pos + 8 + size])
        pos += 12 + size
    return b"".join(parts)


def corpus() -> dict[str, bytes]:
    """Larger inputs: several blocks, distances up to 32 KiB, long runs."""
    rng = np.random.default_rng(7)
    png_rows = zlib.decompress(idat_stream(label_map_png(3, (120, 160))))
    words = [bytes(rng.integers(97, 123, int(k)).astype(np.uint8)) for k in
             rng.integers(2, 9, 300)]
    text = b" ".join(words[int(i)] for i in rng.integers(0, 300, 30000))
    noise = rng.integers(0, 256, 50000).astype(np.uint8).tobytes()
    far = noise[:20000] + bytes(9000) + noise[:20000]  # repeats 29 KiB back
    return {
        "label_rows": png_rows,
        "text": text,
        "noise_and_far_repeats": far + bytes(100000) + noise[:3] * 5000,
        "empty": b"",
        "one_byte": b"x",
    }


CORPUS = corpus()


# --- zlib streams -----------------------------------------------------------------------

@given(compressed(), st.binary(max_size=12), st.sampled_from([0, 0, 1, 31, 32, 33, 300]))
def test_inflates_zlib_streams(case, trailing, slack):
    data, stream = case
    out, consumed, status = inflate(stream + trailing, len(data) + slack)
    assert status == 0, status_message(status)
    assert out == data
    assert consumed == len(stream)


@given(compressed(), st.data())
def test_output_buffer_too_small(case, draw):
    data, stream = case
    got, _, status = inflate(stream, len(data))
    assert (got, status) == (data, 0)
    if data:
        size = draw.draw(st.one_of(st.just(len(data) - 1), st.integers(0, len(data) - 1)))
        got, _, status = inflate(stream, size)
        assert status == -1, status_message(status)
        assert got == data[:len(got)]  # what was written is a correct prefix


@pytest.mark.parametrize("strategy", list(STRATEGIES))
@pytest.mark.parametrize("level", range(10))
def test_every_level_and_strategy(level, strategy):
    for name, data in CORPUS.items():
        stream = deflate(data, level, STRATEGIES[strategy])
        for slack in (0, 64):
            out, consumed, status = inflate(stream + b"\x00\xff", len(data) + slack)
            assert (status, consumed) == (0, len(stream)), (name, status_message(status))
            assert out == data, name
        if data:
            out, _, status = inflate(stream, len(data) - 1)
            assert status == -1, name
            assert out == data[:len(out)], name


@pytest.mark.parametrize("seed", range(4))
def test_label_map_png(seed):
    zstream = idat_stream(label_map_png(seed))
    raw = zstream[2:]  # strip the 2-byte zlib header
    expected = zlib.decompress(zstream)
    for slack in (0, 1000):
        out, consumed, status = inflate(raw, len(expected) + slack)
        assert status == 0, status_message(status)
        assert out == expected
        # the Adler-32 trailer starts right after the consumed bytes
        assert raw[consumed:] == struct.pack(">I", zlib.adler32(expected))


# --- streams written bit by bit ---------------------------------------------------------

# RFC 1951, 3.2.5, typed in (not derived like the kernel's tables)
LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83,
            99, 115, 131, 163, 195, 227, 258]
LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5,
             5, 0]
DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
             1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11,
              12, 12, 13, 13]
CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
FIXED_LIT = [8] * 144 + [9] * 112 + [7] * 24 + [8] * 8
FIXED_DIST = [5] * 32
# a complete code-length code: 13 codes of 4 bits and 6 of 5 bits
CLEN_LENS = [4] * 13 + [5] * 6


class BitWriter:
    """Bits in DEFLATE order: fields least significant bit first, Huffman codes most
    significant bit first."""

    def __init__(self):
        self.bits: list[int] = []

    def put(self, value: int, n: int) -> BitWriter:
        self.bits += [(value >> i) & 1 for i in range(n)]
        return self

    def code(self, code: tuple[int, int]) -> BitWriter:
        value, n = code
        self.bits += [(value >> (n - 1 - i)) & 1 for i in range(n)]
        return self

    def align(self) -> BitWriter:
        self.bits += [0] * (-len(self.bits) % 8)
        return self

    def raw(self, data: bytes) -> BitWriter:
        for byte in data:
            self.put(byte, 8)
        return self

    def tobytes(self) -> bytes:
        bits = self.bits + [0] * (-len(self.bits) % 8)
        return bytes(sum(b << i for i, b in enumerate(bits[k:k + 8]))
                     for k in range(0, len(bits), 8))


def canonical(lengths: list[int]) -> dict[int, tuple[int, int]]:
    """symbol -> (code, length) of the canonical Huffman code (RFC 1951, 3.2.2)."""
    count = [0] * 16
    for n in lengths:
        count[n] += 1
    count[0] = 0
    next_code = [0] * 16
    code = 0
    for bits in range(1, 16):
        code = (code + count[bits - 1]) << 1
        next_code[bits] = code
    codes = {}
    for sym, n in enumerate(lengths):
        if n:
            codes[sym] = (next_code[n], n)
            next_code[n] += 1
    return codes


def length_symbol(length: int, *, via_284: bool = False) -> tuple[int, int, int]:
    if length == 258 and via_284:  # 227 + 31: past the RFC's 227-257, yet zlib accepts it
        return 284, 31, 5
    i = max(k for k in range(29) if LEN_BASE[k] <= length)
    return 257 + i, length - LEN_BASE[i], LEN_EXTRA[i]


def dist_symbol(dist: int) -> tuple[int, int, int]:
    i = max(k for k in range(30) if DIST_BASE[k] <= dist)
    return i, dist - DIST_BASE[i], DIST_EXTRA[i]


def write_ops(w: BitWriter, ops, lit_codes, dist_codes) -> bytes:
    """Encode ``ops`` (a byte, ``(length, dist)`` or ``(length, dist, "284")``), then the
    end-of-block code; returns what they inflate to."""
    out = bytearray()
    for op in ops:
        if isinstance(op, int):
            w.code(lit_codes[op])
            out.append(op)
            continue
        length, dist = op[:2]
        sym, extra, nbits = length_symbol(length, via_284=len(op) > 2)
        w.code(lit_codes[sym]).put(extra, nbits)
        sym, extra, nbits = dist_symbol(dist)
        w.code(dist_codes[sym]).put(extra, nbits)
        for _ in range(length):
            out.append(out[-dist] if dist <= len(out) else 0)  # else: an error stream
    w.code(lit_codes[256])
    return bytes(out)


def dynamic_header(w: BitWriter, lit_lens, dist_lens, *, final=True, clen_lens=CLEN_LENS,
                   seq=None, hlit=None, hdist=None):
    """A dynamic block header; ``seq`` = [(code-length symbol, extra bits)] overrides the
    plain list of lengths."""
    hlit = len(lit_lens) if hlit is None else hlit
    hdist = len(dist_lens) if hdist is None else hdist
    w.put(int(final), 1).put(2, 2).put(hlit - 257, 5).put(hdist - 1, 5).put(19 - 4, 4)
    for sym in CLEN_ORDER:
        w.put(clen_lens[sym], 3)
    codes = canonical(clen_lens)
    if seq is None:
        seq = [(n, 0) for n in list(lit_lens) + list(dist_lens)]
    for sym, extra in seq:
        w.code(codes[sym])
        if sym >= 16:
            w.put(extra, {16: 2, 17: 3, 18: 7}[sym])
    return canonical(list(lit_lens)), canonical(list(dist_lens))


def fixed_block(ops, final=True) -> tuple[bytes, bytes]:
    w = BitWriter().put(int(final), 1).put(1, 2)
    data = write_ops(w, ops, canonical(FIXED_LIT), canonical(FIXED_DIST))
    return w.tobytes(), data


@st.composite
def lz77_ops(draw):
    """Random literals and matches that stay inside the output, any length and distance."""
    ops = []
    size = 0
    for _ in range(draw(st.integers(0, 60))):
        if size == 0 or draw(st.integers(0, 3)) == 0:
            ops.append(draw(st.integers(0, 255)))
            size += 1
            continue
        near = draw(st.booleans())
        dist = draw(st.integers(1, min(size, 40 if near else 32768)))
        length = draw(st.integers(3, 258))
        ops.append((length, dist, "284") if length == 258 and draw(st.booleans())
                   else (length, dist))
        size += length
    return ops


@given(lz77_ops(), st.sampled_from([0, 0, 5, 40]))
def test_fixed_code_every_length_and_distance(ops, slack):
    stream, data = fixed_block(ops)
    out, consumed, status = inflate(stream, len(data) + slack)
    assert status == 0, status_message(status)
    assert out == data
    assert consumed == len(stream)
    assert zlib_inflate(stream) == (data, len(stream))


def test_distance_32768_reaches_the_first_byte():
    # a first block of 32768 literals, then a match reaching back to the very first byte
    rng = np.random.default_rng(1)
    head = rng.integers(0, 256, 32768).tolist()
    stream, data = fixed_block([*head, (258, 32768), (258, 32768, "284"), (3, 1)])
    assert inflate(stream, len(data)) == (data, len(stream), 0)
    assert zlib_inflate(stream) == (data, len(stream))


def test_codes_of_every_length_up_to_15_bits():
    # lengths 1..14 once and 15 twice make a complete code: the long codes need a
    # subtable behind both the 10-bit literal/length and the 9-bit distance table
    lengths = [*range(1, 15), 15, 15]
    lit_lens = [0] * 286
    for n, sym in zip(lengths, [ord("a"), 256, 265, ord("b"), 285, 257, ord("c"), 270, 280,
                                284, 0, 255, 260, 283, ord("d"), 261]):
        lit_lens[sym] = n
    dist_lens = [0] * 30
    for n, sym in zip(lengths, [0, 3, 29, 1, 10, 4, 15, 2, 20, 28, 5, 6, 7, 8, 9, 11]):
        dist_lens[sym] = n
    assert sum(2.0 ** -n for n in lit_lens if n) == 1.0
    w = BitWriter()
    lit_codes, dist_codes = dynamic_header(w, lit_lens, dist_lens)
    # a 30000-byte history for distances up to 24577, then a match on every length and
    # distance symbol of the code
    ops = [b"abcd\x00\xff"[k % 6] for k in range(30000)]
    ops += [(258, 4), (3, 1), (11, 2), (227, 7), (250, 24577), (6, 12), (7, 3), (24, 16),
            (120, 6), (200, 1500), (12, 50), (26, 20000), (3, 200), (7, 30), (6, 40),
            (3, 20), (258, 1), ord("d"), (3, 1)]
    data = write_ops(w, ops, lit_codes, dist_codes)
    stream = w.tobytes()
    for slack in (0, 100):
        out, consumed, status = inflate(stream, len(data) + slack)
        assert (status, consumed) == (0, len(stream)), status_message(status)
        assert out == data
    assert zlib_inflate(stream) == (data, len(stream))


def test_single_distance_code_of_one_bit_is_accepted():
    # zlib accepts an incomplete distance code when it is a single code of length 1
    w = BitWriter()
    # literal 0, end of block and length 258 (symbol 285)
    lit_codes, dist_codes = dynamic_header(w, [1] + [0] * 255 + [2] + [0] * 28 + [2], [1])
    data = write_ops(w, [0, (258, 1)], lit_codes, dist_codes)
    stream = w.tobytes()
    assert inflate(stream, len(data)) == (data, len(stream), 0)
    assert zlib_inflate(stream) == (data, len(stream))


@pytest.mark.parametrize("slack", [0, 1, 31, 32, 33])
def test_overlapping_matches_near_the_end_of_out(slack):
    # the last matches take the exact (not 32-byte chunk) copy, for every short distance
    rng = np.random.default_rng(11)
    for dist in range(1, 70):
        pattern = rng.integers(0, 256, dist).astype(np.uint8).tobytes()
        for size in (dist + 3, dist + 40, dist + 300, 5000):
            data = (pattern * (size // dist + 1))[:size]
            stream = deflate(data, 9)
            assert inflate(stream, size + slack) == (data, len(stream), 0), (dist, size)


def test_stored_blocks_and_empty_streams():
    w = BitWriter().put(0, 1).put(0, 2).align().put(5, 16).put(5 ^ 0xFFFF, 16).raw(b"hello")
    w.put(0, 1).put(0, 2).align().put(0, 16).put(0xFFFF, 16)  # empty stored block
    w.put(1, 1).put(1, 2).code((0, 7))  # empty final fixed block
    stream = w.tobytes()
    assert inflate(stream + b"junk", 5) == (b"hello", len(stream), 0)
    assert inflate(b"\x03\x00", 0) == (b"", 2, 0)
    assert zlib_inflate(stream) == (b"hello", len(stream))


# --- one stream per error status --------------------------------------------------------

def _fixed(ops, size=None):
    stream, data = fixed_block(ops)
    return stream, len(data) if size is None else size


def _dynamic(lit_lens, dist_lens, **kw) -> bytes:
    """A final dynamic block: the header, then the end-of-block code if there is one."""
    w = BitWriter()
    lit, _ = dynamic_header(w, lit_lens, dist_lens, **kw)
    return (w.code(lit[256]) if 256 in lit else w.put(0, 16)).tobytes()


def _stored(length: int, nlength: int, data: bytes) -> bytes:
    return BitWriter().put(1, 1).put(0, 2).align().put(length, 16).put(nlength, 16) \
        .raw(data).tobytes()


def _fixed_codes(*codes) -> bytes:
    w = BitWriter().put(1, 1).put(1, 2)
    for code in codes:
        w.code(code)
    return w.tobytes()


# a complete code of 286 literal/length symbols (the fixed one has 288)
_LIT_OK = [8] * 142 + [7] * 2 + [9] * 112 + [7] * 24 + [8] * 6
_DIST_OK = [4] * 2 + [5] * 28  # complete: 30 codes (5 bits for all would be 32)
_EOB_ONLY = [0] * 256 + [1]  # incomplete, but a single 1-bit code: accepted
_ZERO_OR_LENGTH3 = [1] + [0] * 255 + [2, 2]  # literal 0, end of block, length 3


def _stream_after_header(lit_lens, dist_lens, *fields) -> bytes:
    """A dynamic header, then ``fields`` = (symbol, None) codes or (value, nbits)."""
    w = BitWriter()
    lit, _ = dynamic_header(w, lit_lens, dist_lens)
    for value, nbits in fields:
        if nbits is None:
            w.code(lit[value])
        else:
            w.put(value, nbits)
    return w.tobytes()


def _bad_streams():
    """(name, stream, size of out, expected status)."""
    yield "block type 3", b"\x07", 10, -3
    non_final_then_3 = BitWriter().put(0, 1).put(1, 2).code((0, 7)).put(1, 1).put(3, 2)
    yield "non-final block, then type 3", non_final_then_3.tobytes(), 10, -3
    yield "stored NLEN not ~LEN", _stored(5, 5, b"hello"), 10, -4
    yield "stored data cut short", _stored(5, 5 ^ 0xFFFF, b"hel"), 10, -2
    yield "stored block too big for out", _stored(5, 5 ^ 0xFFFF, b"hello"), 4, -1
    yield "empty input", b"", 10, -2
    yield "fixed block without its end code", b"\x03", 10, -2
    yield "literal into an empty out", *_fixed([65], size=0), -1
    yield "match past the end of out", *_fixed([65, (10, 1)], size=10), -1
    yield "distance before the start", *_fixed([65, (3, 2)]), -7
    yield "distance 1 with nothing written", *_fixed([(3, 1)], size=10), -7
    yield "literal/length symbol 286", _fixed_codes((0b11000110, 8)), 10, -6
    yield "literal/length symbol 287", _fixed_codes((0b11000111, 8)), 10, -6
    # literal "A", length 3 (symbol 257), distance symbol 30
    yield "distance symbol 30", _fixed_codes((0b00110000 + 65, 8), (1, 7), (30, 5)), 10, -6
    yield "distance symbol 31", _fixed_codes((0b00110000 + 65, 8), (1, 7), (31, 5)), 10, -6
    yield "code-length code oversubscribed", _dynamic(_LIT_OK, _DIST_OK, clen_lens=[1] * 19,
                                                      seq=[]), 10, -5
    yield "code-length code incomplete", _dynamic(_LIT_OK, _DIST_OK,
                                                  clen_lens=[4] * 15 + [0] * 4, seq=[]), 10, -5
    yield "HLIT 287", _dynamic(_LIT_OK, _DIST_OK, hlit=287, seq=[]), 10, -5
    yield "HLIT 288", _dynamic(_LIT_OK, _DIST_OK, hlit=288, seq=[]), 10, -5
    yield "HDIST 31", _dynamic(_LIT_OK, _DIST_OK, hdist=31, seq=[]), 10, -5
    yield "repeat with no previous length", _dynamic(_LIT_OK, _DIST_OK, seq=[(16, 0)]), 10, -5
    yield "repeat past the last length", _dynamic(
        _LIT_OK, _DIST_OK, seq=[(8, 0)] * 310 + [(18, 127)]), 10, -5
    yield "no end-of-block code", _dynamic([1, 1] + [0] * 255, [1]), 10, -5
    yield "literal/length code oversubscribed", _dynamic([2] * 257, [1]), 10, -5
    yield "literal/length code incomplete", _dynamic([2] + [0] * 255 + [2], [1]), 10, -5
    yield "distance code oversubscribed", _dynamic(_LIT_OK, [1, 1, 1]), 10, -5
    yield "distance code incomplete", _dynamic(_LIT_OK, [2, 2, 2]), 10, -5
    yield "bits that start no literal/length code", _stream_after_header(
        _EOB_ONLY, [1], (1, 1)), 10, -6
    # literal 0, length 3, then distance bit 1 where the only distance code is 0
    yield "bits that start no distance code", _stream_after_header(
        _ZERO_OR_LENGTH3, [1], (0, None), (257, None), (1, 1)), 10, -6
    yield "a match with no distance codes", _stream_after_header(
        _ZERO_OR_LENGTH3, [0], (0, None), (257, None), (0, 8)), 10, -6


BAD_STREAMS = list(_bad_streams())


@pytest.mark.parametrize(("stream", "size", "expected"), [c[1:] for c in BAD_STREAMS],
                         ids=[c[0] for c in BAD_STREAMS])
def test_error_status(stream, size, expected):
    _, _, status = inflate(stream, size)
    assert status == expected, (status_message(status), status_message(expected))
    if expected != -1:  # zlib rejects the same streams (it cannot overflow)
        assert zlib_inflate(stream) is None


def test_error_streams_differ_from_valid_ones_only_where_named():
    # the building blocks of the error streams are valid on their own
    assert sum(2.0 ** -n for n in _LIT_OK) == sum(2.0 ** -n for n in _DIST_OK) == 1.0
    for lit_lens, dist_lens in [(_LIT_OK, _DIST_OK), (_EOB_ONLY, [1]),
                                (_ZERO_OR_LENGTH3, [1]), (_ZERO_OR_LENGTH3, [0])]:
        stream = _dynamic(lit_lens, dist_lens)
        assert inflate(stream, 10) == (b"", len(stream), 0)
        assert zlib_inflate(stream) == (b"", len(stream))
    stream = _stream_after_header(_ZERO_OR_LENGTH3, [1], (0, None), (257, None), (0, 1),
                                  (256, None))
    assert inflate(stream, 10) == (b"\0" * 4, len(stream), 0)
    stream = _fixed([65, (3, 1)])[0]
    assert inflate(stream, 10) == (b"AAAA", len(stream), 0)


def test_status_messages():
    assert set(STATUS_MESSAGES) == {0, *ERRORS}
    assert len(set(STATUS_MESSAGES.values())) == len(STATUS_MESSAGES)
    assert status_message(np.int64(-7)) == STATUS_MESSAGES[-7]
    assert "unknown" in status_message(-99)


# --- hostile input ----------------------------------------------------------------------

def _sample_streams() -> list[bytes]:
    rng = np.random.default_rng(3)
    small = rng.integers(0, 4, 400).astype(np.uint8).tobytes()
    rows = zlib.decompress(idat_stream(label_map_png(5, (24, 32))))
    return [
        deflate(small, 6),
        deflate(small, 1, zlib.Z_FIXED),
        deflate(rows, 9),
        deflate(rows[:300], 0),
        deflate(b"abcabcabcabc" * 40 + bytes(500), 6, zlib.Z_RLE, flushes=[(200, zlib.Z_SYNC_FLUSH)]),
        fixed_block([1, 2, (258, 2), (30, 1), 3])[0],
    ]


SAMPLE_STREAMS = _sample_streams()


@given(st.binary(max_size=400), st.sampled_from([None, 0, 1, 7, 100, 5000]))
def test_garbage(stream, size):
    if size is None:
        status = assert_agrees_with_zlib(stream)
    else:
        out, _, status = inflate(stream, size)
        ref = zlib_inflate(stream)
        if status == 0:
            assert ref is not None and ref[0] == out
    assert status in (0, *ERRORS)


@given(st.sampled_from([0b010, 0b011, 0b100, 0b101]), st.binary(min_size=1, max_size=300))
def test_garbage_after_a_block_header(header, body):
    # a valid block type first, so that garbage reaches the Huffman decoders
    stream = bytes([(body[0] & 0xF8) | header]) + body[1:]
    assert_agrees_with_zlib(stream)


@pytest.mark.parametrize("index", range(len(SAMPLE_STREAMS)))
def test_every_truncation(index):
    stream = SAMPLE_STREAMS[index]
    data = zlib_inflate(stream)[0]
    for cut in range(len(stream)):
        for size in (len(data), len(data) + 40):
            out, _, status = inflate(stream[:cut], size)
            assert status == -2, (cut, status_message(status))
            assert out == data[:len(out)]
    assert inflate(stream, len(data))[2] == 0


@pytest.mark.parametrize("index", range(len(SAMPLE_STREAMS)))
def test_every_single_bit_flip(index):
    stream = SAMPLE_STREAMS[index]
    size = len(zlib_inflate(stream)[0])
    statuses = set()
    for bit in range(8 * len(stream)):
        flipped = bytearray(stream)
        flipped[bit // 8] ^= 1 << (bit % 8)
        flipped = bytes(flipped)
        statuses.add(assert_agrees_with_zlib(flipped))
        inflate(flipped, size)  # out as tight as for the original
        inflate(flipped, size // 2)
    assert statuses & set(ERRORS)


BOUNDSCHECK_SCRIPT = textwrap.dedent(
    r"""
    import sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import test_inflate as t
    from maskkit._kernels.inflate import inflate_raw

    rng = np.random.default_rng(2024)
    calls = 0

    def run(stream, size):
        global calls
        out = np.zeros(size, np.uint8)
        n_written, n_consumed, status = inflate_raw(np.frombuffer(stream, np.uint8), out)
        assert 0 <= n_written <= size and status in (0, -1, -2, -3, -4, -5, -6, -7)
        calls += 1

    for stream in t.SAMPLE_STREAMS:
        size = len(t.zlib_inflate(stream)[0])
        for cut in range(len(stream) + 1):
            run(stream[:cut], size)
        for bit in range(8 * len(stream)):
            flipped = bytearray(stream)
            flipped[bit // 8] ^= 1 << (bit % 8)
            for s in (0, size // 2, size, t.max_output(stream)):
                run(bytes(flipped), s)
    for stream, size, _ in [c[1:] for c in t.BAD_STREAMS]:
        run(stream, size)
    for name, data in t.CORPUS.items():
        stream = t.deflate(data, 6)
        for s in (len(data), len(data) - 1, len(data) + 31, len(data) // 2, 0):
            run(stream, max(s, 0))
    for _ in range(3000):
        n = int(rng.integers(0, 200))
        garbage = rng.integers(0, 256, n).astype(np.uint8)
        if n:
            garbage[0] = (garbage[0] & 0xF8) | int(rng.choice([2, 3, 4, 5]))
        run(garbage.tobytes(), int(rng.choice([0, 3, 64, 4096, 300000])))
    print("ok", calls)
    """
)


@pytest.mark.boundscheck(BOUNDSCHECK_SCRIPT, argv=[os.path.dirname(os.path.abspath(__file__))])
def test_hostile_input_stays_in_bounds(boundscheck):
    assert boundscheck.startswith("ok")
    assert int(boundscheck.split()[1]) > 10000
