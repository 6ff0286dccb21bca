"""Arrays of numbers found in JSON text, parsed to float64 without building Python
objects (a Cityscapes polygons file is mostly ``"polygon": [[x, y], ...]``, a COCO file
mostly ``"segmentation": [[x1, y1, x2, y2, ...], ...]``).

:func:`scan_pairs` walks the bytes once, skipping strings as JSON's tokenizer does, and
for every key equal to ``key`` whose value is an array of arrays of numbers records where
the value's text starts and ends and parses its numbers. A number is taken only when its
double is certain to be the one Python's ``json`` makes (``float`` of the text, correctly
rounded): at most 17 digits forming an integer below 2^53 scaled by a power of ten up to
10^22 (one exact operand times or divided by another exact one is one correct rounding:
Clinger's fast path). Anything else under ``key`` (another kind of value, a number
outside that path) stops the scan with :data:`GIVE_UP` when points are asked for (the
caller reads the file with ``json``), and is left for ``json`` to read otherwise; text
that is not JSON stops it either way."""

from __future__ import annotations

import numpy as np

from maskkit._jit import kernel
from maskkit._kernels.ccl import load_u64

OK = 0
GIVE_UP = 1

#: 10^0 .. 10^22, each exact in a double.
POW10 = np.array([float(10**k) for k in range(23)], np.float64)
_TWO53 = 1 << 53

_QUOTE = 34  # "
_BACKSLASH = 92
_COLON = 58
_COMMA = 44
_OPEN = 91  # [
_CLOSE = 93  # ]
_MINUS = 45
_DOT = 46
_PLUS = 43
_ZERO = 48
_NINE = 57


#: Eight spaces as a little-endian word: indentation is skipped a word at a time.
_SPACES = np.uint64(0x2020202020202020)



@kernel
def scan_pairs(buf, key, pairs):
    """Find every ``"<key>": [[x, y], ...]`` (``pairs``) or ``"<key>": [[x1, y1, x2, ...],
    ...]`` (not ``pairs``: inner arrays of any length, COCO's polygon parts) in the JSON
    text ``buf`` (uint8).

    Returns ``(status, starts, ends, value_rings, ring_ends, xy)``: value ``k`` is the text
    ``buf[starts[k]:ends[k]]`` (from its ``[`` to its ``]``, both included); its inner
    arrays are ``value_rings[k]..value_rings[k + 1]``, inner array ``r`` holds the numbers
    ``xy[ring_ends[r]:ring_ends[r + 1]]``. ``key`` (uint8) is the key's bytes as they
    stand between the quotes.

    With ``pairs``, a value under ``key`` of any other kind, or a number off the fast
    path, gives ``status`` :data:`GIVE_UP` (the scan stops there; the arrays are then
    meaningless). Without, such a value is left out (it is not listed and its numbers are
    dropped, for ``json`` to read), as is an empty one.

    One loop, no helper calls: a call that passes the buffer costs reference counting
    (two atomic operations), more than parsing a number.
    """
    n = buf.size
    klen = key.size
    # a value takes at least 4 bytes of its key's text and 2 of its own ("k":[]), an
    # inner array at least 3 ([0]), a number at least 2 (a digit and a separator)
    starts = np.empty(n // (klen + 5) + 1, np.int64)
    ends = np.empty(n // (klen + 5) + 1, np.int64)
    value_rings = np.empty(n // (klen + 5) + 2, np.int64)
    ring_ends = np.empty(n // 3 + 2, np.int64)
    xy = np.empty(n // 2 + 2, np.float64)
    nv = 0
    nr = 0
    nx = 0
    value_rings[0] = 0
    ring_ends[0] = 0
    i = 0
    # where the scan is: 0 outside the values, 1 before an inner "[", 2 before a number,
    # 4 after one, 3 after an inner "]"; 5 leaves the value being read to json
    state = 0
    status = OK
    start = 0
    item = 0  # numbers read of the inner array
    while i < n:
        c = buf[i]
        if c == 32 or c == 10 or c == 13 or c == 9:  # JSON whitespace
            i += 1
            # an indented file (gtFine's: 4 spaces a level) has runs of spaces
            while i + 8 <= n and load_u64(buf, i) == _SPACES:
                i += 8
            while i < n and buf[i] == 32:
                i += 1
            continue
        if state == 5:  # not a value of numbers: forget its rings, scan on from here
            if pairs:
                status = GIVE_UP
                break
            nr = value_rings[nv]
            nx = ring_ends[nr]
            state = 0
        if state == 0:
            if c != _QUOTE:
                i += 1
                continue
            # a string: its text is buf[i + 1:j]
            j = i + 1
            while j < n and buf[j] != _QUOTE:
                j += 2 if buf[j] == _BACKSLASH else 1
            if j >= n:
                break  # not closed: not JSON (json says where)
            same = j - i - 1 == klen
            if same:
                for t in range(klen):
                    if buf[i + 1 + t] != key[t]:
                        same = False
                        break
            i = j + 1
            if not same:
                continue
            while i < n and (buf[i] == 32 or buf[i] == 10 or buf[i] == 13 or buf[i] == 9):
                i += 1
            if i >= n or buf[i] != _COLON:
                continue  # a string value, not a key
            i += 1
            while i < n and (buf[i] == 32 or buf[i] == 10 or buf[i] == 13 or buf[i] == 9):
                i += 1
            if i >= n or buf[i] != _OPEN:
                state = 5
                continue
            start = i
            i += 1
            while i < n and (buf[i] == 32 or buf[i] == 10 or buf[i] == 13 or buf[i] == 9):
                i += 1
            if i < n and buf[i] == _CLOSE:  # no points
                i += 1
                if pairs:
                    starts[nv] = start
                    ends[nv] = i
                    nv += 1
                    value_rings[nv] = nr
                continue
            state = 1
        elif state == 1:
            if c != _OPEN:
                state = 5
                continue
            i += 1
            state = 2
            item = 0
        elif state == 2:
            # a number by JSON's grammar, on the fast path (see the module docstring)
            neg = c == _MINUS
            if neg:
                i += 1
            if i >= n or buf[i] < _ZERO or buf[i] > _NINE:
                state = 5
                continue
            mant = np.int64(0)
            digits = 0
            if buf[i] == _ZERO:
                i += 1
            else:
                while i < n and _ZERO <= buf[i] <= _NINE:
                    if digits < 18:
                        mant = mant * 10 + np.int64(buf[i] - _ZERO)
                    digits += 1
                    i += 1
            is_float = False
            scale = 0
            if i < n and buf[i] == _DOT:
                is_float = True
                i += 1
                if i >= n or buf[i] < _ZERO or buf[i] > _NINE:
                    status = GIVE_UP
                    break
                while i < n and _ZERO <= buf[i] <= _NINE:
                    if mant != 0 or buf[i] != _ZERO:  # leading zeros are no digits
                        if digits < 18:
                            mant = mant * 10 + np.int64(buf[i] - _ZERO)
                        digits += 1
                    scale -= 1
                    i += 1
            if i < n and (buf[i] == 101 or buf[i] == 69):  # e, E
                is_float = True
                i += 1
                eneg = False
                if i < n and (buf[i] == _PLUS or buf[i] == _MINUS):
                    eneg = buf[i] == _MINUS
                    i += 1
                if i >= n or buf[i] < _ZERO or buf[i] > _NINE:
                    status = GIVE_UP
                    break
                e = 0
                while i < n and _ZERO <= buf[i] <= _NINE:
                    if e < 10000:
                        e = e * 10 + np.int64(buf[i] - _ZERO)
                    i += 1
                scale += -e if eneg else e
            if digits > 17 or mant >= _TWO53:
                state = 5
                continue
            if mant == 0:
                value = 0.0
            elif 0 <= scale <= 22:
                value = np.float64(mant) * POW10[scale]
            elif -22 <= scale < 0:
                value = np.float64(mant) / POW10[-scale]
            else:
                state = 5
                continue
            # an integer literal -0 is float(int("-0")) = +0.0
            xy[nx] = -value if neg and (is_float or mant != 0) else value
            nx += 1
            item += 1
            state = 4
        elif state == 4:  # after a number: another, or the end of the inner array
            if c == _COMMA and not (pairs and item == 2):
                i += 1
                state = 2
            elif c == _CLOSE and (item == 2 or not pairs):
                i += 1
                nr += 1
                ring_ends[nr] = nx
                state = 3
            else:
                state = 5
        else:  # after an inner array: another one, or the end of the value
            if c == _COMMA:
                i += 1
                state = 1
            elif c == _CLOSE:
                i += 1
                starts[nv] = start
                ends[nv] = i
                nv += 1
                value_rings[nv] = nr
                state = 0
            else:
                state = 5
    if state != 0:
        status = GIVE_UP
    return status, starts[:nv], ends[:nv], value_rings[:nv + 1], ring_ends[:nr + 1], xy[:nx]
