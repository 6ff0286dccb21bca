"""Kernels for COCO run-length encoding (column-major counts, LEB128-like strings).

Counts alternate zeros and ones, starting with zeros, in column-major (Fortran) pixel
order.  The compressed string stores each count, minus the count two places earlier from
the fourth count on, in 5-bit groups with a continuation bit and a sign bit, as chars
48..111 — the format pycocotools writes.
"""

from __future__ import annotations

import numpy as np

from maskkit._jit import kernel


@kernel
def encode_mask(mask):
    """Counts of a 2-D mask (non-zero = foreground), read in column-major order."""
    h = mask.shape[0]
    w = mask.shape[1]
    counts = np.empty(h * w + 1, dtype=np.int64)
    k = 0
    prev = False
    c = 0
    for x in range(w):
        for y in range(h):
            v = mask[y, x] != 0
            if v != prev:
                counts[k] = c
                k += 1
                c = 0
                prev = v
            c += 1
    counts[k] = c
    k += 1
    return counts[:k]


@kernel
def encode_count(buf, pos, x):
    """Append one count to ``buf`` in COCO's 6-bit text code (``rleToString``: 5 bits a
    character, a continuation bit, offset 48); return the new position."""
    more = True
    while more:
        c = x & 0x1F
        x >>= 5  # arithmetic shift: x is signed
        if c & 0x10:
            more = x != -1
        else:
            more = x != 0
        if more:
            c |= 0x20
        buf[pos] = np.uint8(c + 48)
        pos += 1
    return pos


@kernel
def counts_to_string(counts):
    """The compressed RLE string (as uint8 codes) of ``counts``."""
    m = counts.size
    # each count needs at most 13 characters (64-bit value, 5 bits per character)
    buf = np.empty(m * 13 + 1, dtype=np.uint8)
    p = 0
    for i in range(m):
        x = counts[i]
        if i > 2:
            x -= counts[i - 2]
        p = encode_count(buf, p, x)
    return buf[:p]


@kernel
def string_to_counts(s, hw):
    """Decode a compressed RLE string (uint8 codes). Returns (counts, status, position).

    status 0 = ok, 1 = a character outside 48..111 (at ``position``), 2 = a run longer
    than ``hw`` pixels, 3 = the string ends in the middle of a value, 4 = a negative run
(the last of ``counts``).  Runs are checked as
    they are decoded, so the delta sums never get near int64 overflow.
    """
    n = s.size
    counts = np.empty(n, dtype=np.int64)
    m = 0
    p = 0
    while p < n:
        x = np.int64(0)
        k = 0
        more = True
        while more:
            if p >= n:
                return counts[:m], 3, p
            c = np.int64(s[p]) - 48
            if c < 0 or c > 63:
                return counts[:m], 1, p
            if k >= 12:
                return counts[:m], 2, p
            x |= (c & 0x1F) << (5 * k)
            more = (c & 0x20) != 0
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= np.int64(-1) << (5 * k)
        if m > 2:
            x += counts[m - 2]
        if x > hw:
            return counts[:m], 2, p
        if x < 0:
            counts[m] = x
            return counts[:m + 1], 4, p
        counts[m] = x
        m += 1
    return counts[:m], 0, p


@kernel
def counts_to_runs(counts):
    """Half-open runs of ones (column-major positions) from counts."""
    m = counts.size
    starts = np.empty(m // 2 + 1, dtype=np.int64)
    ends = np.empty(m // 2 + 1, dtype=np.int64)
    n = 0
    p = 0
    for i in range(m):
        c = counts[i]
        if i % 2 == 1 and c > 0:
            starts[n] = p
            ends[n] = p + c
            n += 1
        p += c
    return starts[:n], ends[:n]


@kernel
def runs_to_counts(starts, ends, hw):
    """Canonical counts of sorted, disjoint runs over ``hw`` pixels."""
    n = starts.size
    counts = np.empty(2 * n + 1, dtype=np.int64)
    k = 0
    p = 0
    for i in range(n):
        counts[k] = starts[i] - p
        counts[k + 1] = ends[i] - starts[i]
        k += 2
        p = ends[i]
    if p < hw or n == 0:
        counts[k] = hw - p
        k += 1
    return counts[:k]


@kernel
def counts_bbox(counts, h, w):
    """pycocotools' bounding box of an RLE: (x, y, width, height) as floats."""
    m = (counts.size // 2) * 2
    out = np.zeros(4, dtype=np.float64)
    if m == 0 or h == 0:
        return out
    xs = w
    ys = h
    xe = 0
    ye = 0
    cc = 0
    xp = 0
    for j in range(m):
        cc += counts[j]
        t = cc - j % 2
        y = t % h
        x = (t - y) // h
        if j % 2 == 0:
            xp = x
        elif xp < x:
            ys = 0
            ye = h - 1
        xs = min(xs, x)
        xe = max(xe, x)
        ys = min(ys, y)
        ye = max(ye, y)
    out[0] = xs
    out[1] = ys
    out[2] = xe - xs + 1
    out[3] = ye - ys + 1
    return out


@kernel
def decode_counts(counts, h, w):
    """(H, W) uint8 mask from column-major counts (already validated).

    Filled through its transpose, so every run is a contiguous write; the result is a
    Fortran-ordered (H, W) array, as pycocotools returns it.
    """
    outT = np.zeros((w, h), dtype=np.uint8)
    flat = outT.reshape(h * w)
    p = 0
    hw = h * w
    for i in range(counts.size):
        c = counts[i]
        if i % 2 == 1 and c > 0:
            e = min(p + c, hw)
            flat[p:e] = 1
        p += c
    return outT.T
