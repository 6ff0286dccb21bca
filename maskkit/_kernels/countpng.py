"""Private Numba kernel that counts the objects of an 8-bit label PNG while undoing its
scanline filters: the decoded image is never stored whole.

Each row is unfiltered into one of two row buffers (the row above is the other one), cut
into runs at once, while it is still in the L1 cache, and labelled against the runs of the
row above (:mod:`maskkit._kernels.ccl`'s scan and row labelling, so the components are
exactly those of :func:`maskkit.label`).  Only two rows of runs are kept; each
provisional label carries its pixel count and value, and at the end every label's count
goes to its root.  Memory is two rows plus the provisional labels, not one full label
image, and nothing is read twice from main memory.

Typed arrays in, no validation: :func:`maskkit.count.count_file` checks the PNG (header,
stream length, checksum) before calling.  An unknown filter byte is refused, not read
past.
"""

from __future__ import annotations

import numpy as np

from maskkit._jit import kernel
from maskkit._kernels.ccl import _ONES, _byte_run_end, _union
from maskkit._kernels.png import unfilter_bytes_row

_0 = np.uint64(0)


@kernel
def count_png_u8(raw, height, width, diag, min_area):
    """Components per pixel value of an 8-bit, one-channel, non-interlaced PNG.

    ``raw`` is the inflated image data (per row a filter byte then ``width`` bytes);
    ``diag`` is 1 for 8-connectivity, 0 for 4.  Value 0 is background.  Returns ``(ok,
    counts, areas)``: per value 0-255 the components of at least ``min_area`` pixels and
    the value's pixel count; ``ok`` is False for an unknown filter type or a short
    stream.
    """
    counts = np.zeros(256, np.int64)
    areas = np.zeros(256, np.int64)
    n = width
    if height <= 0 or n <= 0:
        return True, counts, areas
    if raw.shape[0] < height * (n + 1):
        return False, counts, areas
    # rows padded to whole 64-bit words for the word scan; the pad repeats the row's last
    # byte, so it only ever lengthens the last run (cut back to the row's end below)
    padded = (n + 7) // 8 * 8
    rows = np.zeros((2, padded), np.uint8)  # row -1: all zeros, as the PNG spec has it
    words = rows.view(np.uint64)
    # runs of the current row from index (y & 1) * n on, of the row above in the other half
    bounds = np.empty(4 * n, np.int32)
    values = np.empty(2 * n, np.uint8)
    runlab = np.empty(2 * n, np.int64)
    cap = max(4096, 2 * n)
    parent = np.empty(cap, np.int64)
    area = np.empty(cap, np.int64)
    value = np.empty(cap, np.uint8)
    nlab = 0
    b0 = 0  # runs b0:b1 (in half ``half`` of the run buffers) are the row above's
    b1 = 0
    half = 1
    above = 1  # rows[above] holds the row above
    for y in range(height):
        src = y * (n + 1) + 1
        cur = 1 - above
        row = rows[cur]
        if not unfilter_bytes_row(raw[src - 1], raw[src : src + n], rows[above, :n], row[:n], 1):
            return False, counts, areas
        last = row[n - 1]
        for j in range(n, padded):
            row[j] = last
        if y > 0 and _same_words(words[cur], words[above]):
            # a row equal to the row above (a third of the rows of a typical mask): the
            # same runs, each joined to the run right above it, so only their areas grow
            for i in range(b0, b1):
                area[runlab[i]] += bounds[2 * i + 1] - bounds[2 * i]
            continue
        above = cur
        half = 1 - half
        a0 = half * n
        if nlab + n > cap:  # at most one new label per run
            cap = max(2 * cap, nlab + n)
            parent = _grown(parent, cap)
            area = _grown(area, cap)
            value = _grown(value, cap)
        a1, nlab = _label_row(row, words[cur], n, a0, b0, b1, diag, bounds, values, runlab,
                              parent, area, value, nlab)
        b0 = a0
        b1 = a1
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
    return True, counts, areas


@kernel
def _label_row(row, w, n, a0, b0, b1, diag, bounds, values, runlab, parent, area, value, nlab):
    """Cut ``row`` (``n`` pixels, padded to whole words ``w``) into runs stored from
    ``a0`` on, label each one as soon as it is found from the runs ``b0:b1`` of the row
    above (as :func:`maskkit._kernels.ccl._label_row_2d` does) and add its pixels to its
    label's area; return the end of the row's runs and the label count."""
    k = b0  # first run above that can still touch the runs to come
    a = a0
    start = 0
    while start < n:
        v = row[start]
        e = min(_byte_run_end(w, start + 1, np.uint64(v) * _ONES), n)
        if v != 0:
            s = start - diag
            t = e + diag
            while k < b1 and bounds[2 * k + 1] <= s:
                k += 1
            label = -1
            j = k
            while j < b1 and bounds[2 * j] < t:
                if values[j] == v:
                    other = runlab[j]
                    if label < 0:
                        label = other
                    elif other != label:
                        label = _union(parent, label, other)
                j += 1
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
        start = e
    return a, nlab


@kernel
def _same_words(a, b):
    # no early exit: the loop vectorises, and a row costs a few cycles either way
    diff = _0
    for i in range(a.shape[0]):
        diff |= a[i] ^ b[i]
    return diff == _0


@kernel
def _grown(a, cap):
    b = np.empty(cap, a.dtype)
    b[: a.shape[0]] = a
    return b
