"""The YOLO label kernel (maskkit._kernels.yolotext) against the Python reader it stands in
for (``_parse_polygons``: ``int`` and ``float`` per token) and a naive reference of the
grammar it promises to read (``expected_ok``)."""

from __future__ import annotations

import math
import random
import re
from decimal import Decimal, localcontext

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maskkit._kernels.yolotext import divide_by_pow10, parse_labels
from maskkit.datasets.formats.geometry import yolo_numbers
from maskkit.datasets.formats.yolo import _parse_polygons

_NUMBER = re.compile(rb"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")
_CLASS = re.compile(rb"[0-9]+")


def _number_ok(tok: bytes) -> bool:
    """Naive reference of the kernel's number rule: the grammar, and a double certain to
    be ``float``'s."""
    m = _NUMBER.fullmatch(tok)
    if m is None:
        return False
    whole, frac = m.group(2), m.group(3) or b""
    if not whole + frac:
        return False
    digits = (whole + frac).lstrip(b"0")
    if len(digits) > 18:
        return False
    mant = int(digits or b"0")
    scale = int(m.group(4) or b"0") - len(frac)
    if mant == 0:
        return True
    if mant < 2**53 and -22 <= scale <= 22:
        return True  # Clinger's fast path
    return -26 <= scale < 0  # an exact division


def expected_ok(data: bytes, nc: int) -> bool:
    """Whether the kernel must read ``data`` (a file of the kernel's grammar whose every
    line is a polygon line ``_parse_polygons`` takes, or no line at all)."""
    for line in re.split(rb"[\r\n]", data):
        fields = [f for f in re.split(rb"[ \t]+", line) if f]
        if not fields:
            continue
        if _CLASS.fullmatch(fields[0]) is None or len(fields[0].lstrip(b"0")) > 18 \
                or int(fields[0]) >= nc:
            return False
        nums = fields[1:]
        if len(nums) < 6 or len(nums) % 2 or not all(map(_number_ok, nums)):
            return False
        if not all(-1e6 < float(t) < 1e6 for t in nums):
            return False
    return True


def run(files: list[bytes], nc: int):
    """The kernel on ``files`` concatenated; its outputs checked for consistency."""
    buf = np.frombuffer(b"".join(files), np.uint8)
    starts = np.zeros(len(files) + 1, np.int64)
    starts[1:] = np.cumsum([len(f) for f in files])
    ok, file_objs, classes, obj_ends, vals = parse_labels(buf, starts, nc)
    assert ok.dtype == np.bool_ and ok.shape == (len(files),)
    assert file_objs.dtype == classes.dtype == obj_ends.dtype == np.int64
    assert vals.dtype == np.float64
    assert file_objs[0] == 0 and file_objs[-1] == classes.size == obj_ends.size - 1
    assert obj_ends[0] == 0 and obj_ends[-1] == vals.size
    assert (np.diff(file_objs) >= 0).all() and (np.diff(obj_ends) >= 6).all()
    return ok, file_objs, classes, obj_ends, vals


def same_as_python(out, f: int, data: bytes, nc: int) -> None:
    """File ``f``'s objects in the kernel's output ``out`` are ``_parse_polygons``'s."""
    ok, file_objs, classes, obj_ends, vals = out
    assert ok[f]
    k0, k1 = file_objs[f], file_objs[f + 1]
    want = _parse_polygons(data.decode(), nc)
    if want is None:
        assert k0 == k1, data
        return
    cls, flat, ends = want
    assert classes[k0:k1].tolist() == cls
    assert (obj_ends[k0 + 1:k1 + 1] - obj_ends[k0]).tolist() == ends
    # bit for bit: -0.0 is not 0.0 here
    got = vals[obj_ends[k0]:obj_ends[k1]]
    assert got.view(np.int64).tolist() == flat.view(np.int64).tolist(), data


# ----------------------------------------------------------------- random label files

def _digits(draw, lo, hi):
    return "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=lo, max_size=hi)))


@st.composite
def numbers(draw, clean: bool) -> str:
    """A number token; a ``clean`` one is one ``float`` takes and (mostly) on the kernel's
    fast path, else anything, valid or not."""
    if clean:  # mostly as maskkit and Ultralytics write numbers
        kind = int(np.searchsorted([15, 28, 33, 36, 39], draw(st.integers(0, 39)), "right"))
    else:
        kind = draw(st.integers(0, 9))
    if kind == 0:  # as maskkit writes them
        return format(draw(st.floats(0, 1).map(lambda v: v if v > 1e-9 else 0.0)), ".16g")
    if kind == 1:  # as Ultralytics writes them
        return f"{draw(st.floats(0, 1)):.6f}"
    if kind == 2:
        if clean:
            return repr(draw(st.floats(-1e5, 1e5).map(lambda v: v if abs(v) > 1e-9 else 0.0)))
        return repr(draw(st.floats(-2e6, 2e6)))
    if kind == 3:  # 15 to 20 digits
        return "0." + _digits(draw, 15, 18 if clean else 20)
    if kind == 4:
        return draw(st.sampled_from(
            ["-0", "-0.0", "+0", "0e999", "-.0e-5", "5.", ".5", "-.25", "007.50",
             "999999.9999999999", "1e5", "1E-22", "9007199254740993e-16", "0.00001",
             "9999999999999999e-22", "12345678901234567e-17", "+1.5e+2", "1e-5"]))
    if kind == 5:
        sign = draw(st.sampled_from(["", "", "-", "+"]))
        whole = _digits(draw, 0, 4)
        frac = draw(st.one_of(st.none(), st.just(""), st.builds(str, st.integers(0, 10**19))))
        exp = draw(st.one_of(st.none(), st.integers(-30, 30)))
        text = sign + whole + ("" if frac is None else "." + frac)
        if exp is not None:
            plus = exp >= 0 and draw(st.booleans())
            text += draw(st.sampled_from("eE")) + (f"+{exp}" if plus else str(exp))
        return text
    return draw(st.sampled_from(
        ["1e6", "-1e6", "1e22", "12345678901234567890e-19", "1e-23", ".", "-", "+", "e5",
         "1e", "1e+", "inf", "nan", "-inf", "1_0", "0x1", "1.5.5", "1,5", "\u0661", "1\x0b",
         "1\x00", "1\x1c2", "1\u20282", "abc", "--1", "1e-5-", "\xa01", ".e1"]))


@st.composite
def lines(draw, nc: int, clean: bool) -> str:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.sampled_from(["", " ", "\t", " \t "]))
    if clean:
        cls = draw(st.sampled_from(["", "", "0", "00"])) + str(draw(st.integers(0, max(nc - 1, 0))))
        count = 2 * draw(st.integers(3, 12))
    else:
        cls = draw(st.one_of(st.integers(0, 5).map(str), st.sampled_from(
            ["007", "00", "+1", "-0", "1.0", "x", "99999999999999999999", "0" * 30 + "1"])))
        count = draw(st.sampled_from([0, 1, 2, 4, 5, 7]) | st.integers(3, 12).map(2 .__mul__))
    seps = st.sampled_from([" ", " ", " ", "  ", "\t", " \t"])
    text = draw(st.sampled_from(["", "", " ", "\t"])) + cls
    for _ in range(count):
        text += draw(seps) + draw(numbers(clean))
    return text + draw(st.sampled_from(["", "", " ", "\t"]))


@st.composite
def label_files(draw, nc: int) -> bytes:
    """A label file: half of them of valid polygon lines (some with a number off the fast
    path), a quarter such a file with one field or line end changed to anything, the
    others with any kind of line."""
    mode = draw(st.integers(0, 3))
    clean = mode > 0
    ends = ["\n", "\n", "\r\n", "\r", "\n\n"]
    parts = []
    for line in draw(st.lists(lines(nc, clean), max_size=6)):
        parts.append(line)
        parts.append(draw(st.sampled_from(ends if clean else
                                          [*ends, "\x0b", "\x0c", "\x1c", "\u2028"])))
    if parts and draw(st.booleans()):
        parts.pop()  # no line end at the end of the file
    text = "".join(parts)
    fields = [m.span() for m in re.finditer(r"[^ \t\r\n]+|[\r\n]", text)]
    if mode == 3 and fields:
        a, b = draw(st.sampled_from(fields))
        bad = draw(numbers(False) | st.sampled_from(["\x0b", "\x0c", "\x85", " ", ""]))
        text = text[:a] + bad + text[b:]
    return text.encode()


@st.composite
def batches(draw) -> tuple[list[bytes], int]:
    nc = draw(st.integers(0, 5))
    return draw(st.lists(label_files(nc), min_size=1, max_size=6)), nc


@given(batches())
def test_agrees_with_the_python_reader(batch):
    files, nc = batch
    out = run(files, nc)
    for f, data in enumerate(files):
        assert bool(out[0][f]) == expected_ok(data, nc), data
        if out[0][f]:
            same_as_python(out, f, data, nc)
        else:  # a file not read holds no object
            assert out[1][f] == out[1][f + 1]


@st.composite
def written_files(draw) -> tuple[bytes, bytes]:
    """One label file as maskkit's YOLO writer writes it and one as Ultralytics does
    (6 decimals), of the same rings of pixel vertices."""
    mk, ul = [], []
    for _ in range(draw(st.integers(0, 5))):
        w, h = draw(st.integers(1, 50_000)), draw(st.integers(1, 50_000))
        npts = draw(st.integers(3, 20))
        px = draw(st.lists(st.one_of(st.integers(0, 50_000).map(float),
                                     st.floats(0, 50_000).map(lambda v: round(v, 3))),
                           min_size=2 * npts, max_size=2 * npts))
        xy = np.array(px).reshape(-1, 2) / (w, h)
        ring = xy.ravel()
        cls = draw(st.integers(0, 4))
        mk.append(f"{cls} " + yolo_numbers(ring, np.array([0, ring.size]), [h], [w])[0])
        ul.append(f"{cls} " + " ".join(f"{v:.6f}" for v in ring))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    return (end.join(mk) + end).encode(), (end.join(ul) + end).encode()


@given(st.lists(written_files(), min_size=1, max_size=6))
def test_maskkit_and_ultralytics_files_are_always_read(pairs):
    files = [f for pair in pairs for f in pair]
    out = run(files, 5)
    assert out[0].all()
    for f, data in enumerate(files):
        same_as_python(out, f, data, 5)


# ------------------------------------------------------------------------ examples

def test_example():
    files = [b"0 0.1 0.2 0.3 0.4 0.5 0.6\r\n\n2\t1e-1 -0 .5 5. 007.5 0\n",
             b"", b"  \t\n\r\n", b"1 0.1 0.2 0.3 0.4\n", b"1 0.1 0.2 0.3 0.4 0.5 0.6"]
    ok, file_objs, classes, obj_ends, vals = run(files, 3)
    assert ok.tolist() == [True, True, True, False, True]
    assert file_objs.tolist() == [0, 2, 2, 2, 2, 3]
    assert classes.tolist() == [0, 2, 1]
    assert obj_ends.tolist() == [0, 6, 12, 18]
    assert vals[6:12].tolist() == [0.1, 0.0, 0.5, 5.0, 7.5, 0.0]
    assert math.copysign(1, vals[7]) == -1  # float("-0") is -0.0


@pytest.mark.parametrize("text", [
    b"3 0 0 0 0 0 0",  # class out of range (nc = 3)
    b"0 0 0 0 0 0 0 0",  # odd count
    b"0 0 0 0 0 0 1e6",  # out of range
    b"0 0 0 0 0 0 nan", b"0 0 0 0 0 0 1_0", b"0 0 0 0 0 0 0\x0c", b"0 0 0 0 0 0 0\x00",
    b"0 0 0 0 0 0 1e-27", b"0 0 0 0 0 0 9007199254740993e1",  # off the fast path
    b"0 0 0 0 0 0 0.1234567890123456789",  # 19 digits
    b"0 0 0 0 0 0 1e", b"0 0 0 0 0 0 -", b"0 0 0 0 0 0 .", b"0 0 0 0 0 0 .e1",
    b"+0 0 0 0 0 0 0", b"0a 0 0 0 0 0 0", b"\xc2\xa00 0 0 0 0 0 0",
])
def test_files_left_to_the_python_reader(text):
    ok, file_objs, *_ = run([b"0 1 2 3 4 5 6\n", text, b"1 1 2 3 4 5 6\n"], 3)
    assert ok.tolist() == [True, False, True]
    assert file_objs.tolist() == [0, 1, 1, 2]


def test_starts_outside_the_buffer_or_going_back():
    buf = np.frombuffer(b"0 1 2 3 4 5 6\n0 1 2 3 4 5 6\n", np.uint8)
    ok, file_objs, _, _, vals = parse_labels(buf, np.array([0, 14, 7, 28, 29, -1]), 1)
    # [0, 14) ok; [14, 7) backwards; [7, 28) overlaps the first; [28, 29) and [29, -1)
    # beyond the buffer
    assert ok.tolist() == [True, False, False, False, False]
    assert file_objs.tolist() == [0, 1, 1, 1, 1, 1] and vals.size == 6
    ok, file_objs, _, obj_ends, vals = parse_labels(buf[:0], np.zeros(0, np.int64), 1)
    assert ok.size == 0 and file_objs.tolist() == [0] and obj_ends.tolist() == [0]
    ok, *_ = parse_labels(buf[:0], np.zeros(3, np.int64), 1)
    assert ok.tolist() == [True, True]


def test_division_past_clingers_path_is_correctly_rounded():
    rng = random.Random(5)
    cases = [(9007199254740993, 16), (9999999999999999, 16), (10**18 - 1, 22), (1, 22),
             (1, 26), (10**18 - 1, 26), (42477876106194694, 23)]
    for _ in range(20000):
        cases.append((rng.randrange(1, 10**rng.randint(1, 18)), rng.randint(0, 26)))
        # 18 digits next to the point halfway between two doubles, on both sides
        x = rng.random() * 10.0 ** -rng.randint(0, 8)
        with localcontext() as ctx:
            ctx.prec = 100  # exact
            mid = (Decimal(x) + Decimal(math.nextafter(x, 2))) / 2
        digits, exp = f"{mid:.17e}".split("e")
        mant, scale = int(digits.replace(".", "")), int(exp) - 17
        if -26 <= scale <= 0:
            cases += [(mant - 1, -scale), (mant, -scale), (mant + 1, -scale)]
    assert len(cases) > 50000
    for mant, s in cases:
        assert divide_by_pow10(mant, s) == float(f"{mant}e-{s}"), (mant, s)


# ----------------------------------------------------------------- bounds checking

BOUNDSCHECK_SCRIPT = r"""
import numpy as np
from maskkit._kernels.yolotext import parse_labels
rng = np.random.default_rng(3)
base = (b"0 0.1 0.2 0.3 0.4 0.5 0.6\r\n\n2\t1e-1 -0 .5 5. 007.5 0\n1 0.1 0.2 0.3 0.4\n"
        b"1 0.9166666666666666 0.2 0.3 0.4 0.5 0.6")
alphabet = np.frombuffer(b"0123456789 \t\r\n.-+eE", np.uint8)
cases = [b"", b"0", b"0 ", b"0 1", b"0 1.", b"0 1e", b"0 1e+", b"0 -", b"0 .",
         b"1" * 100000, b"0 " + b"1" * 100000, b"0 0." + b"0" * 100000 + b"1",
         b"0 1e" + b"9" * 1000, b"0" + b" 1" * 6, b"0" + b" 1" * 6 + b"\n" + b"0" + b" 1" * 6]
for text in cases:
    buf = np.frombuffer(text, np.uint8)
    for starts in ([0, buf.size], [0, buf.size // 2, buf.size], [buf.size, 0],
                   [-5, buf.size + 5], [0, buf.size + 1], [buf.size + 1, buf.size + 2], []):
        parse_labels(buf, np.array(starts, np.int64), 3)
for it in range(3000):
    buf = np.frombuffer(base * int(rng.integers(1, 3)), np.uint8).copy()
    for _ in range(int(rng.integers(1, 6))):
        buf[rng.integers(0, buf.size)] = rng.choice(alphabet)
    if it % 5 == 0:
        buf = rng.integers(0, 256, int(rng.integers(0, 200)), dtype=np.uint8)
    buf = buf[: rng.integers(0, buf.size + 1)]
    k = int(rng.integers(0, 6))
    if it % 3 == 0:  # anything at all
        starts = rng.integers(-3, buf.size + 4, k + 1)
    else:
        starts = np.sort(rng.integers(0, buf.size + 1, k + 1))
        starts[0], starts[-1] = 0, buf.size
    ok, file_objs, classes, obj_ends, vals = parse_labels(buf, starts.astype(np.int64), 3)
    assert file_objs[-1] == classes.size and obj_ends[-1] == vals.size
print("ok")
"""


@pytest.mark.boundscheck(BOUNDSCHECK_SCRIPT)
def test_parse_labels_stays_in_bounds(boundscheck):
    """The kernel compiled with bounds checking, on cut, mutated and random texts and on
    ``starts`` outside the buffer or going back."""
    assert boundscheck.strip().endswith("ok")
