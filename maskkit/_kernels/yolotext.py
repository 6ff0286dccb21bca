"""YOLO segmentation label files (``class x1 y1 x2 y2 ...`` per line) parsed to arrays,
many files in one call, without building Python objects.

:func:`parse_labels` reads a file only when its result is certain to be the one of the
Python reader (``maskkit.datasets.formats.yolo``: ``int`` of the class, ``float`` of
every number, each line a polygon of at least 3 points with every value in
``(-1e6, 1e6)``); any other file is left to that reader, whole.

Grammar of a file read here (anything else leaves the file to the Python reader):

- lines end at ``\\n`` or ``\\r`` (so ``\\r\\n`` too); fields are separated by runs of
  spaces and tabs; a line of nothing else is skipped. No other byte may stand outside a
  field (Python's ``split`` and ``splitlines`` give meaning to a few more, such as
  ``\\x0b``, ``\\x1c`` and non-ASCII spaces; such files go the slow way).
- the class: ASCII digits (leading zeros allowed), at most 18 after them, below ``nc``.
- a number: ``[+-]?`` then digits with an optional ``.`` and fraction (``5.``, ``.5``
  and ``5.5``, as Python's ``float`` takes them), then an optional
  ``[eE][+-]?digits`` exponent; the field ends at a separator, a line end or the end of
  the file.
- a number is taken only when its double is certain to be ``float``'s (correctly
  rounded): its digits after any leading zeros (at most 18 of them) form an integer
  ``mant`` and the fraction and exponent a power of ten ``10^scale`` with
  ``-26 <= scale <= 22``. Below 2^53 and with ``|scale| <= 22``, ``mant`` times or
  divided by the exact double ``10^|scale|`` is one correct rounding (Clinger's fast
  path); past either (16 to 18 digits, such as maskkit's ``0.9166666666666666``, or the
  17 of ``repr`` of numbers down to 1e-10) only a division is taken
  (:func:`divide_by_pow10`, exact integer arithmetic); a multiplication would leave
  ``(-1e6, 1e6)`` anyway. A significand of zero is ``0.0`` whatever the exponent,
  signed as written (``float("-0")`` is ``-0.0``).
- a line holds an even number of numbers, at least 6 (a 4-number box line is read by the
  Python reader, which turns it into a polygon).
"""

from __future__ import annotations

import math

import numpy as np

from maskkit._jit import kernel
from maskkit._kernels.ccl import load_u64

#: 10^0 .. 10^22, each exact in a double.
POW10 = np.array([float(10**k) for k in range(23)], np.float64)
#: 5^0 .. 5^26, each below 2^61, and the bits a remainder below each can be shifted by
#: within an int64 (at most 11: a quotient below 2^52 stays below 2^63).
POW5 = np.array([5**k for k in range(27)], np.int64)
POW5_STEP = np.array([min(11, 63 - (5**k).bit_length()) for k in range(27)], np.int64)
_TWO53 = 1 << 53
#: Values must lie strictly inside (-LIMIT, LIMIT), as the Python reader requires.
LIMIT = 1e6

_SPACE = 32
_TAB = 9
_LF = 10
_CR = 13
_PLUS = 43
_MINUS = 45
_DOT = 46
_ZERO = 48
_E10 = 10**10
_E17 = 10**17

# eight ASCII digits in a little-endian word: the test and the conversion of simdjson's
# parse_eight_digits_unrolled (every constant unsigned: Numba makes uint64 op int64 a float)
_HIGH_NIBBLES = np.uint64(0xF0F0F0F0F0F0F0F0)
_SIXES = np.uint64(0x0606060606060606)
_THREES = np.uint64(0x3333333333333333)
_LOW_NIBBLES = np.uint64(0x0F0F0F0F0F0F0F0F)
_LOW_BYTES = np.uint64(0x00FF00FF00FF00FF)
_LOW_SHORTS = np.uint64(0x0000FFFF0000FFFF)
_U2561 = np.uint64(2561)
_U6553601 = np.uint64(6553601)
_U42949672960001 = np.uint64(42949672960001)
_U4 = np.uint64(4)
_U8 = np.uint64(8)
_U16 = np.uint64(16)
_U32 = np.uint64(32)



@kernel
def divide_by_pow10(mant, s):
    """``mant / 10**s`` correctly rounded to a double, for ``1 <= mant < 10**18`` and
    ``0 <= s <= 26``: the quotient ``mant / 5**s`` by integer long division until it has
    at least 56 bits, a remainder left over set as its lowest bit (it only ever sits
    below the rounding bit, so the one rounding of the int -> double conversion is the
    right one), then scaled by a power of two (exact: the result is a normal double).

    Clinger's fast path needs ``mant < 2**53`` and ``s <= 22``; this one serves the 16
    to 18 digit significands above it (``0.9166666666666666``, as maskkit writes
    numbers) and the 17 digits of ``repr`` of numbers down to 1e-10.
    """
    d = POW5[s]
    step = POW5_STEP[s]
    q = mant // d
    r = mant - q * d
    shift = s
    # r < d, so r << k fits; q < 2^52 (then, with k <= 8, 2^55) before, so q << k too
    while q < (1 << 55):
        k = step if q < (1 << 52) else min(step, 8)
        r <<= k
        t = r // d
        q = (q << k) + t
        r -= t * d
        shift += k
    if r != 0:
        q |= 1
    return math.ldexp(np.float64(q), -shift)


@kernel
def parse_labels(buf, starts, nc):
    """Parse the YOLO label files ``buf[starts[f]:starts[f + 1]]`` (``buf`` uint8,
    ``starts`` int64) of a class count ``nc``.

    Returns ``(ok, file_objs, classes, obj_ends, vals)``: ``ok[f]`` (bool) says file
    ``f`` follows the module's grammar; its objects are then ``file_objs[f]`` up to
    ``file_objs[f + 1]`` (none for a file of blank lines), object ``k`` of class
    ``classes[k]`` with the numbers ``vals[obj_ends[k]:obj_ends[k + 1]]`` (x, y, x, y
    ... as written, float64). A file that is not ok has no objects (what was read of it
    is dropped), and neither has a file whose range is not within ``buf`` or starts
    before the end of the previous file read (``starts`` not non-decreasing).

    One loop; its one helper call (:func:`divide_by_pow10`, for significands past 2^53)
    takes integers only: a call that passes the buffer costs reference counting (two
    atomic operations), more than parsing a number.
    """
    n = buf.size
    nf = max(starts.size - 1, 0)
    ok = np.zeros(nf, np.bool_)
    file_objs = np.zeros(nf + 1, np.int64)
    # The files read are disjoint ranges of buf. A number takes at least 2 bytes (a
    # separator and a digit) after its line's class; a polygon line at least 13 ("0"
    # and 6 of " 1") and one more for its line end, except a file's last one. (Both
    # are checked before each write all the same: a file past them is not ok.)
    vals = np.empty(n // 2 + 1, np.float64)
    most_objs = n // 13 + nf + 1
    classes = np.empty(most_objs, np.int64)
    obj_ends = np.empty(most_objs + 1, np.int64)
    obj_ends[0] = 0
    nobj = 0
    nval = 0
    done = 0  # where the last file read ended
    for f in range(nf):
        a = starts[f]
        b = starts[f + 1]
        good = done <= a <= b <= n
        if good:
            done = b
        i = a
        nobj0 = nobj
        nval0 = nval
        line_start = nval  # where the numbers of the line being read start
        field = 0  # fields read on that line
        cls = np.int64(0)
        while good:
            while i < b and (buf[i] == _SPACE or buf[i] == _TAB):
                i += 1
            if i >= b or buf[i] == _LF or buf[i] == _CR:  # a line ends
                if field > 0:
                    count = nval - line_start
                    if count < 6 or count & 1 or nobj >= most_objs:
                        good = False
                        break
                    classes[nobj] = cls
                    nobj += 1
                    obj_ends[nobj] = nval
                    line_start = nval
                    field = 0
                if i >= b:
                    break
                i += 1
                continue
            if field == 0:  # the class
                cls = 0
                digits = 0
                first = i
                while i < b and _ZERO <= buf[i] <= _ZERO + 9:
                    d = np.int64(buf[i]) - _ZERO
                    if cls != 0 or d != 0:
                        if digits < 18:
                            cls = cls * 10 + d
                        digits += 1
                    i += 1
                if i == first or digits > 18 or cls >= nc:
                    good = False
                    break
            else:  # a number on the fast path (see the module docstring)
                neg = buf[i] == _MINUS
                if neg or buf[i] == _PLUS:
                    i += 1
                # mant < 10^17 before a digit is appended keeps it below 10^18 (at
                # most 18 digits after the leading zeros); past that, too_long
                mant = np.int64(0)
                too_long = False
                digits_at = i  # where the digits start
                scale = np.int64(0)
                while i < b and _ZERO <= buf[i] <= _ZERO + 9:
                    if mant < _E17:
                        mant = mant * 10 + (np.int64(buf[i]) - _ZERO)
                    else:
                        too_long = True
                    i += 1
                if i < b and buf[i] == _DOT:
                    i += 1
                    digits_at += 1  # the dot is no digit
                    # eight digits at a time (maskkit writes 16 after "0."), while mant
                    # stays below 10^18
                    while i + 8 <= b and mant < _E10:
                        w = load_u64(buf, i)
                        if (w & _HIGH_NIBBLES) | (((w + _SIXES) & _HIGH_NIBBLES) >> _U4) \
                                != _THREES:
                            break
                        w = ((w & _LOW_NIBBLES) * _U2561) >> _U8
                        w = ((w & _LOW_BYTES) * _U6553601) >> _U16
                        w = ((w & _LOW_SHORTS) * _U42949672960001) >> _U32
                        mant = mant * 100_000_000 + np.int64(w)
                        scale -= 8
                        i += 8
                    while i < b and _ZERO <= buf[i] <= _ZERO + 9:
                        if mant < _E17:
                            mant = mant * 10 + (np.int64(buf[i]) - _ZERO)
                        else:
                            too_long = True
                        scale -= 1
                        i += 1
                if i == digits_at:  # no digit: ".", "-", "e5" ...
                    good = False
                    break
                if i < b and (buf[i] == 101 or buf[i] == 69):  # e, E
                    i += 1
                    eneg = False
                    if i < b and (buf[i] == _PLUS or buf[i] == _MINUS):
                        eneg = buf[i] == _MINUS
                        i += 1
                    if i >= b or buf[i] < _ZERO or buf[i] > _ZERO + 9:
                        good = False
                        break
                    e = np.int64(0)
                    while i < b and _ZERO <= buf[i] <= _ZERO + 9:
                        if e < 10000:
                            e = e * 10 + (np.int64(buf[i]) - _ZERO)
                        i += 1
                    scale += -e if eneg else e
                if too_long:
                    good = False
                    break
                if mant == 0:
                    value = 0.0
                elif mant < _TWO53 and 0 <= scale <= 22:
                    value = np.float64(mant) * POW10[scale]
                elif mant < _TWO53 and -22 <= scale < 0:
                    value = np.float64(mant) / POW10[-scale]
                elif -26 <= scale < 0:
                    value = divide_by_pow10(mant, -scale)
                else:  # beyond the tables, or at least 2^53 times a power of ten
                    good = False
                    break
                if neg:
                    value = -value
                if not (-LIMIT < value < LIMIT) or nval >= vals.size:
                    good = False
                    break
                vals[nval] = value
                nval += 1
            field += 1
            # a field ends at a separator, a line end or the end of the file
            if i < b and not (buf[i] == _SPACE or buf[i] == _TAB or buf[i] == _LF
                              or buf[i] == _CR):
                good = False
                break
        if good:
            ok[f] = True
        else:  # the Python reader reads this one: drop what was read of it
            nobj = nobj0
            nval = nval0
        file_objs[f + 1] = nobj
    return ok, file_objs, classes[:nobj], obj_ends[:nobj + 1], vals[:nval]
