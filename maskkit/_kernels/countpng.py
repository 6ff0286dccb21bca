"""Private Numba kernel that counts the objects of an 8-bit label PNG from its filtered
scanlines, without decoding the image.

A label map's filtered rows are nearly all zero bytes (a 640x480 mask of a few dozen
blobs has a few thousand non-zero bytes in 300 000), so each row is kept as a list of
runs (start, value) and derived from the row above's list by a few edits: an Up row is
the row above changed at its non-zero bytes; a Sub row changes value exactly at them; a
Paeth row can only change value at them and where the row above changes value.  Such a
row costs a scan for non-zero 64-bit words plus work per edit, where decoding it costs
work per pixel.  Other rows (Average, None with content, or rows with many edits) are
unfiltered as bytes against the row above painted from its runs and cut into runs.

Each row's foreground runs are labelled against the row above's at once (union-find
as :func:`maskkit._kernels.ccl._label_row_2d`, so the components are exactly those of
:func:`maskkit.label`); a row whose runs equal the row above's only adds to its labels'
areas.  Only two rows of runs are kept, each provisional label carries its pixel count
and value, and at the end every label's count goes to its root: memory is a few rows
plus the labels, never an image.

Typed arrays in, no validation: :func:`maskkit.core.count.count_file` checks the PNG (header,
stream length, checksum) before calling.  An unknown filter byte is refused, not read
past.
"""

from __future__ import annotations

import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

from maskkit._jit import kernel
from maskkit._kernels.ccl import NO_LABEL, ONES, byte_run_end, load_u64, touching
from maskkit._kernels.png import paeth, unfilter_bytes_row

#: Statuses of :func:`count_png_u8`.
OK = 0
BAD_FILTER = 1
TOO_MANY_LABELS = 2
#: Bytes of one provisional label (parent and area int64, value uint8).
LABEL_BYTES = 17

_0 = np.uint64(0)
_3 = np.uint64(3)
_FF = np.uint64(0xFF)



@kernel
def count_png_u8(raw, height, width, diag, min_area, max_bytes):
    """Components per pixel value of an 8-bit, one-channel, non-interlaced PNG.

    ``raw`` is the inflated image data (per row a filter byte then ``width`` bytes);
    ``diag`` is 1 for 8-connectivity, 0 for 4.  Value 0 is background.  Returns ``(status,
    counts, areas)``: per value 0-255 the components of at least ``min_area`` pixels and
    the value's pixel count; ``status`` is :data:`OK`, :data:`BAD_FILTER` (an unknown
    filter type or a short stream) or :data:`TOO_MANY_LABELS` (the label table, old and
    grown copies together, would pass ``max_bytes``: a compressible checkerboard has a
    label every other pixel).

    Rows are kept as run lists (start, value), not as bytes; see the module docstring.
    Up, Sub and Paeth rows with at most ``width // 16`` non-zero bytes, and None rows of
    zeros, are derived from the row above's runs; the others are unfiltered as bytes
    against the row above painted from its runs, then cut into runs.
    """
    counts = np.zeros(256, np.int64)
    areas = np.zeros(256, np.int64)
    n = width
    if height <= 0 or n <= 0:
        return OK, counts, areas
    if raw.shape[0] < height * (n + 1):
        return BAD_FILTER, counts, areas
    padded = (n + 7) // 8 * 8
    rows = np.zeros((2, padded), np.uint8)  # byte rows for the rows that need them
    words = rows.view(np.uint64)
    # run lists: starts (with the row's end after the last run) and values; the row
    # above's in (ps, pv, pm), the current row's in (cs, cv, cm)
    ps = np.empty(n + 1, np.int64)
    pv = np.empty(n + 1, np.uint8)
    cs = np.empty(n + 1, np.int64)
    cv = np.empty(n + 1, np.uint8)
    ps[0] = 0  # row -1: all zeros, as the PNG spec has it
    pv[0] = 0
    ps[1] = n
    # typed counters, not literals: a literal argument makes Numba compile a second
    # specialisation of every helper it is passed to
    pm = np.int64(1)
    edits = np.empty(n, np.int64)
    # labelled foreground runs of the current row from index half * n on, of the row
    # above in the other half
    bounds = np.empty(4 * n, np.int32)
    values = np.empty(2 * n, np.uint8)
    runlab = np.empty(2 * n, np.int64)
    cap = max(4096, 2 * n)
    parent = np.empty(cap, np.int64)
    area = np.empty(cap, np.int64)
    value = np.empty(cap, np.uint8)
    nlab = np.int64(0)
    b0 = np.int64(0)
    b1 = np.int64(0)
    half = 1
    sparse = n // 16  # more edits than this: unfilter the row as bytes
    for y in range(height):
        src = y * (n + 1) + 1
        f = raw[src - 1]
        if f > 4:
            return BAD_FILTER, counts, areas
        ne = sparse + 1
        if f != 3:
            ne = _nonzero_bytes(raw, src, n, edits, sparse)
        if ne <= sparse and (f != 0 or ne == 0):
            if f == 2:
                cm = _edit_runs(ps, pv, pm, raw, src, edits, ne, n, cs, cv)
            elif f == 4:
                cm = _paeth_runs(ps, pv, pm, raw, src, edits, ne, n, cs, cv)
            else:  # Sub, or None with every byte 0
                cm = _sub_runs(raw, src, edits, ne, n, cs, cv)
        else:
            prow = rows[0]
            _paint_runs(ps, pv, pm, prow)
            row = rows[1]
            unfilter_bytes_row(f, raw[src : src + n], prow[:n], row[:n], 1)
            last = row[n - 1]
            for j in range(n, padded):
                row[j] = last
            cm = _runs_of(row, words[1], n, cs, cv)
        if _same_runs(cs, cv, cm, ps, pv, pm):
            # the row above again: the same runs, each joined to the run right above it
            for i in range(b0, b1):
                area[runlab[i]] += bounds[2 * i + 1] - bounds[2 * i]
            continue
        half = 1 - half
        a0 = half * n
        if nlab + n > cap:  # at most one new label per run
            grown = max(2 * cap, nlab + n)
            if LABEL_BYTES * (grown + cap) > max_bytes:
                return TOO_MANY_LABELS, counts, areas
            cap = grown
            parent = _grown(parent, cap)
            area = _grown(area, cap)
            value = _grown(value, cap)
        a1, nlab = _label_runs(cs, cv, cm, a0, b0, b1, diag, bounds, values, runlab,
                               parent, area, value, nlab)
        b0 = a0
        b1 = a1
        ps, cs = cs, ps
        pv, cv = cv, pv
        pm = cm
    # a non-root label's parent is a smaller label, already pointing at its root
    for lab in range(nlab):
        p = parent[lab]
        if p != lab:
            root = parent[p]
            parent[lab] = root
            area[root] += area[lab]
    for lab in range(nlab):
        if parent[lab] == lab:
            v = value[lab]
            areas[v] += area[lab]
            if area[lab] >= min_area:
                counts[v] += 1
    return OK, counts, areas


@kernel
def _nonzero_bytes(raw, src, n, edits, most):
    """Columns of the non-zero bytes of ``raw[src:src + n]`` into ``edits``, in order; stops
    counting (returns ``most + 1``) past ``most`` of them.  Whole words are read only
    where all 8 bytes lie in the row (``src + n <= raw.size``), the rest byte by byte."""
    ne = 0
    full = n >> 3
    for wi in range(full):
        w = load_u64(raw, src + 8 * wi)
        while w != _0:
            byte = trailing_zeros(w) >> _3
            w &= ~(_FF << (byte << _3))
            if ne == most:
                return most + 1
            edits[ne] = 8 * wi + np.int64(byte)
            ne += 1
    for i in range(full << 3, n):
        if raw[src + i] != 0:
            if ne == most:
                return most + 1
            edits[ne] = i
            ne += 1
    return ne


@kernel
def _emit(cs, cv, cm, start, v):
    """Append the run (start, v) unless it continues the last run's value."""
    if cm > 0 and cv[cm - 1] == v:
        return cm
    cs[cm] = start
    cv[cm] = v
    return cm + 1


@kernel
def _edit_runs(ps, pv, pm, raw, src, edits, ne, n, cs, cv):
    """Runs of an Up row: the row above's runs ``(ps, pv)``, the byte at each edit column
    ``x`` raised by ``raw[src + x]``."""
    cm = np.int64(0)
    j = 0  # the run above that holds column ``pos``
    pos = np.int64(0)
    for k in range(ne + 1):
        stop = edits[k] if k < ne else n
        while pos < stop:  # columns pos:stop are the row above's
            while ps[j + 1] <= pos:
                j += 1
            cm = _emit(cs, cv, cm, pos, pv[j])
            pos = min(ps[j + 1], stop)
        if k < ne:
            while ps[j + 1] <= stop:
                j += 1
            cm = _emit(cs, cv, cm, stop, np.uint8((np.int32(pv[j]) + raw[src + stop]) & 0xFF))
            pos = stop + 1
    cs[cm] = n
    return cm


@kernel
def _paeth_runs(ps, pv, pm, raw, src, edits, ne, n, cs, cv):
    """Runs of a Paeth row.  Where a column's byte is 0 and the row above does not change
    value there (``up == upleft``), the predictor is the left pixel: the value goes on.
    So the value can only change at the edits and where the row above changes value, and
    the predictor is worked out at those columns alone."""
    cm = np.int64(0)
    left = np.int32(0)
    j = 0  # the run above that holds column x
    ei = 0  # next edit
    bj = 1  # next change of value in the row above: column ps[bj]
    x = np.int64(0)  # column 0 is always worked out (its upleft is 0)
    while x < n:
        while ps[j + 1] <= x:
            j += 1
        up = np.int32(pv[j])
        upleft = np.int32(0)
        if x > 0:
            upleft = np.int32(pv[j - 1]) if ps[j] == x else up
        left = (np.int32(raw[src + x]) + paeth(left, up, upleft)) & 0xFF
        cm = _emit(cs, cv, cm, x, np.uint8(left))
        if ei < ne and edits[ei] == x:
            ei += 1
        if bj < pm and ps[bj] == x:
            bj += 1
        x = n
        if ei < ne:
            x = edits[ei]
        if bj < pm and ps[bj] < x:
            x = ps[bj]
    cs[cm] = n
    return cm


@kernel
def _sub_runs(raw, src, edits, ne, n, cs, cv):
    """Runs of a Sub row: the value changes exactly at its non-zero bytes (column 0's byte
    is the value itself)."""
    cm = 1
    cs[0] = 0
    cv[0] = 0
    left = np.int32(0)
    for k in range(ne):
        x = edits[k]
        left = (left + np.int32(raw[src + x])) & 0xFF
        if x == 0:
            cv[0] = np.uint8(left)
        else:
            cs[cm] = x
            cv[cm] = np.uint8(left)
            cm += 1
    cs[cm] = n
    return cm


@kernel
def _paint_runs(ps, pv, pm, row):
    for k in range(pm):
        row[ps[k] : ps[k + 1]] = pv[k]


@kernel
def _runs_of(row, w, n, cs, cv):
    """Runs of the byte row ``row`` (``n`` pixels, padded to whole words ``w``)."""
    cm = 0
    start = 0
    while start < n:
        v = row[start]
        e = min(byte_run_end(w, start + 1, np.uint64(v) * ONES), n)
        cs[cm] = start
        cv[cm] = v
        cm += 1
        start = e
    cs[cm] = n
    return cm


@kernel
def _same_runs(cs, cv, cm, ps, pv, pm):
    if cm != pm:
        return False
    for k in range(cm):
        if cs[k] != ps[k] or cv[k] != pv[k]:
            return False
    return True


@kernel
def _label_runs(cs, cv, cm, a0, b0, b1, diag, bounds, values, runlab, parent, area, value,
                nlab):
    """Label the foreground runs of the run list ``(cs, cv)``, stored from ``a0`` on, from
    the runs ``b0:b1`` of the row above (as :func:`maskkit._kernels.ccl._label_row_2d`
    does) and add their pixels to their labels' areas; return the end of the row's runs
    and the label count."""
    k = b0  # first run above that can still touch the runs to come
    a = a0
    for r in range(cm):
        v = cv[r]
        if v == 0:
            continue
        start = cs[r]
        e = cs[r + 1]
        label, k = touching(k, b1, start - diag, e + diag, v, NO_LABEL, False, bounds,
                             values, runlab, parent)
        if label < 0:
            label = nlab
            parent[nlab] = nlab
            area[nlab] = 0
            value[nlab] = v
            nlab += 1
        area[label] += e - start
        bounds[2 * a] = start
        bounds[2 * a + 1] = e
        values[a] = v
        runlab[a] = label
        a += 1
    return a, nlab


@kernel
def _grown(a, cap):
    b = np.empty(cap, a.dtype)
    # an element loop: a slice assignment compiles Numba's shape-mismatch message code
    for i in range(a.shape[0]):
        b[i] = a[i]
    return b
