"""Per-object work on many COCO polygon objects in one call: pixel area and bounding box,
and the one-ring join of YOLO segmentation (with its IoU check)."""

from __future__ import annotations

import math

import numpy as np

from maskkit._jit import kernel
from maskkit._kernels.coco import polygon_runs


@kernel
def polygon_object_stats(xy, ring_offsets, obj_rings, hs, ws):
    """``(area, bbox)`` per object: its pixel count under COCO's rule and its
    ``[x, y, width, height]`` (zeros for an empty object), as pycocotools' area/toBbox.

    ``obj_rings[k]..obj_rings[k + 1]`` are object ``k``'s rings in ``ring_offsets``;
    ``hs[k]``, ``ws[k]`` its image's size (objects of several images in one call).  Runs
    are column-major (``p = col * h + row``), so a run that reaches into the next column
    covers every row.
    """
    n = obj_rings.size - 1
    area = np.zeros(n, np.int64)
    bbox = np.zeros((n, 4), np.int64)
    for k in range(n):
        if obj_rings[k + 1] == obj_rings[k]:
            continue
        h = hs[k]
        s, e = polygon_runs(xy, ring_offsets, obj_rings[k], obj_rings[k + 1], h, ws[k])
        if s.size == 0:
            continue
        a = 0
        y0 = h
        y1 = -1
        for j in range(s.size):
            a += e[j] - s[j]
            c0 = s[j] // h
            last = e[j] - 1
            c1 = last // h
            if c0 != c1:
                y0 = 0
                y1 = h - 1
            else:
                r0 = s[j] - c0 * h
                r1 = last - c0 * h
                if r0 < y0:
                    y0 = r0
                if r1 > y1:
                    y1 = r1
        x0 = s[0] // h
        x1 = (e[s.size - 1] - 1) // h
        area[k] = a
        bbox[k, 0] = x0
        bbox[k, 1] = y0
        bbox[k, 2] = x1 - x0 + 1
        bbox[k, 3] = y1 - y0 + 1
    return area, bbox


@kernel
def _runs_overlap(s1, e1, s2, e2):
    """Pixels in both of two sorted, disjoint run lists."""
    i = 0
    j = 0
    inter = 0
    while i < s1.size and j < s2.size:
        lo = max(s1[i], s2[j])
        hi = min(e1[i], e2[j])
        if hi > lo:
            inter += hi - lo
        if e1[i] < e2[j]:
            i += 1
        else:
            j += 1
    return inter


@kernel
def join_objects(xy, ring_offsets, obj_rings, hs, ws, check):
    """One ring per object, normalised by its image's size (YOLO segmentation).

    ``xy`` holds every object's parts (flat ``x, y``; ``ring_offsets`` in coordinates,
    ``obj_rings[k]..obj_rings[k + 1]`` object ``k``'s parts; at least 3 points a part,
    coordinates finite and within the rasteriser's limit).  A one-part object is kept; the
    parts of a larger one are joined as :func:`maskkit.datasets.formats.geometry.join_rings` does
    (a bridge between the closest vertices of consecutive parts, walked out and back; no
    zero-length edges, no closing vertex).  Returns ``(out, out_offsets, iou)``: the
    rings' ``x / w, y / h`` (flat), where object ``k``'s are
    ``out[out_offsets[k]:out_offsets[k + 1]]``, and the mask IoU of the joined ring with
    the object's parts under COCO's rule (1.0 for one part or when not ``check``).
    """
    n = obj_rings.size - 1
    # a joined ring walks every vertex once, every bridge twice and each part's entry
    # vertex twice: at most points + 2 * parts + 1 points an object
    cap = 0
    for k in range(n):
        r0 = obj_rings[k]
        r1 = obj_rings[k + 1]
        cap += ring_offsets[r1] - ring_offsets[r0] + 4 * (r1 - r0) + 2
    out = np.empty(cap, np.float64)
    out_offsets = np.zeros(n + 1, np.int64)
    iou = np.ones(n, np.float64)
    one = np.zeros(2, np.int64)
    pos = 0
    for k in range(n):
        r0 = obj_rings[k]
        r1 = obj_rings[k + 1]
        fw = np.float64(ws[k])
        fh = np.float64(hs[k])
        if r1 - r0 == 1:
            for j in range(ring_offsets[r0], ring_offsets[r1], 2):
                out[pos] = xy[j] / fw
                out[pos + 1] = xy[j + 1] / fh
                pos += 2
            out_offsets[k + 1] = pos
            continue
        m = r1 - r0
        exits = np.zeros(m, np.int64)
        entries = np.zeros(m, np.int64)
        for i in range(1, m):
            a0 = ring_offsets[r0 + i - 1]
            na = (ring_offsets[r0 + i] - a0) // 2
            b0 = ring_offsets[r0 + i]
            nb = (ring_offsets[r0 + i + 1] - b0) // 2
            best = np.inf
            ia = 0
            ib = 0
            for p in range(na):
                ax = xy[a0 + 2 * p]
                ay = xy[a0 + 2 * p + 1]
                for q in range(nb):
                    dx = ax - xy[b0 + 2 * q]
                    dy = ay - xy[b0 + 2 * q + 1]
                    d = dx * dx + dy * dy
                    if d < best:
                        best = d
                        ia = p
                        ib = q
            exits[i - 1] = ia
            entries[i] = ib
        entries[0] = exits[0]
        # the walk: part 0 up to its exit, part 1 up to its exit, ..., the last part all
        # the way round, then back out through every part's exit to its entry again
        npts = 0
        for i in range(m):
            npts += (ring_offsets[r0 + i + 1] - ring_offsets[r0 + i]) // 2 + 1
        npts += m - 1
        walk = np.empty(npts, np.int64)  # vertex indices (into xy, in points)
        w = 0
        for i in range(m - 1):
            base = ring_offsets[r0 + i] // 2
            nv = (ring_offsets[r0 + i + 1] - ring_offsets[r0 + i]) // 2
            at = (exits[i] - entries[i]) % nv
            for t in range(at + 1):
                walk[w] = base + (entries[i] + t) % nv
                w += 1
        base = ring_offsets[r1 - 1] // 2
        nv = (ring_offsets[r1] - ring_offsets[r1 - 1]) // 2
        for t in range(nv + 1):
            walk[w] = base + (entries[m - 1] + t) % nv
            w += 1
        for i in range(m - 2, -1, -1):
            base = ring_offsets[r0 + i] // 2
            nv = (ring_offsets[r0 + i + 1] - ring_offsets[r0 + i]) // 2
            at = (exits[i] - entries[i]) % nv
            for t in range(at, nv + 1):
                walk[w] = base + (entries[i] + t) % nv
                w += 1
        # drop zero-length edges, then a last vertex equal to the first
        ring = np.empty(2 * w, np.float64)
        c = 0
        for t in range(w):
            x = xy[2 * walk[t]]
            y = xy[2 * walk[t] + 1]
            if c > 0 and x == ring[c - 2] and y == ring[c - 1]:
                continue
            ring[c] = x
            ring[c + 1] = y
            c += 2
        if c > 2 and ring[0] == ring[c - 2] and ring[1] == ring[c - 1]:
            c -= 2
        for j in range(0, c, 2):
            out[pos] = ring[j] / fw
            out[pos + 1] = ring[j + 1] / fh
            pos += 2
        out_offsets[k + 1] = pos
        if check:
            h = hs[k]
            s1, e1 = polygon_runs(xy, ring_offsets, r0, r1, h, ws[k])
            one[1] = c
            s2, e2 = polygon_runs(ring, one, 0, 1, h, ws[k])
            area = 0
            for j in range(s1.size):
                area += e1[j] - s1[j]
            for j in range(s2.size):
                area += e2[j] - s2[j]
            if area > 0:
                inter = _runs_overlap(s1, e1, s2, e2)
                iou[k] = inter / (area - inter)
    return out, out_offsets, iou


@kernel
def _put_decimal(out, p, v):
    """Write ``v`` at ``out[p:]`` as Python's ``repr`` does, for a ``v`` that is a multiple
    of 1e-9 as ``np.round(v, 9)`` makes it, with ``|v|`` in ``[1e-4, 1e6)`` or zero (the
    caller checks); return the new end.  Anything else (out of that range, not finite)
    writes nothing: the caller's check failed, but no write goes past the text's room."""
    if not abs(v) < 1e6:
        return p
    if v < 0 or (v == 0 and math.copysign(1.0, v) < 0):
        out[p] = 45  # '-'
        p += 1
    n = np.int64(np.rint(abs(v) * 1e9))
    ip = n // 1000000000
    fp = n - ip * 1000000000
    # integer part
    digits = 1
    t = ip
    while t >= 10:
        t //= 10
        digits += 1
    for d in range(digits - 1, -1, -1):
        out[p + d] = 48 + ip % 10
        ip //= 10
    p += digits
    out[p] = 46  # '.'
    p += 1
    if fp == 0:
        out[p] = 48
        return p + 1
    nd = 9
    while fp % 10 == 0:
        fp //= 10
        nd -= 1
    for d in range(nd - 1, -1, -1):
        out[p + d] = 48 + fp % 10
        fp //= 10
    return p + nd


@kernel
def format_polygons(xy, ring_offsets, obj_rings, ok):
    """JSON text of each object's polygon parts, ``[[x1, y1, ...], [...]]`` with every
    number as Python's ``repr`` writes it (what ``json.dumps`` gives), for the objects
    with ``ok[k]``, whose coordinates :func:`_put_decimal` takes (the caller checks; the
    others get no text).  Returns ``(text, offsets)``: object ``k``'s text is
    ``text[offsets[k]:offsets[k + 1]]`` (ASCII bytes)."""
    n = obj_rings.size - 1
    # a number: sign, 7 digits, '.', 9 digits, ", "; each part "[" "]" ", "; each object "[" "]"
    out = np.empty(xy.size * 20 + ring_offsets.size * 4 + n * 2 + 8, np.uint8)
    offsets = np.zeros(n + 1, np.int64)
    p = 0
    for k in range(n):
        if not ok[k]:
            offsets[k + 1] = p
            continue
        out[p] = 91  # '['
        p += 1
        for r in range(obj_rings[k], obj_rings[k + 1]):
            if r > obj_rings[k]:
                out[p] = 44  # ','
                out[p + 1] = 32
                p += 2
            out[p] = 91
            p += 1
            for j in range(ring_offsets[r], ring_offsets[r + 1]):
                if j > ring_offsets[r]:
                    out[p] = 44
                    out[p + 1] = 32
                    p += 2
                p = _put_decimal(out, p, xy[j])
            out[p] = 93  # ']'
            p += 1
        out[p] = 93
        p += 1
        offsets[k + 1] = p
    return out[:p], offsets


_POW10 = np.array([10.0 ** k for k in range(23)])  # exact doubles
_IPOW10 = np.array([10 ** k for k in range(19)], np.int64)
_DIGIT_PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(),
                             np.uint8).copy()  # "00", "01", ... "99"


@kernel
def _put_digits(out, p, n, count):
    """Write the ``count`` lowest decimal digits of ``n`` at ``out[p:]``, two at a time."""
    d = count
    while d >= 2:
        r = n % 100
        n //= 100
        out[p + d - 1] = _DIGIT_PAIRS[2 * r + 1]
        out[p + d - 2] = _DIGIT_PAIRS[2 * r]
        d -= 2
    if d == 1:
        out[p] = 48 + n % 10
    return p + count


@kernel
def _put_short(out, p, v, dim):
    """Write ``v`` at ``out[p:]`` with at most 16 significant digits, positional: the
    15-digit rounding when it lies within one unit of the 16th digit of ``v`` (then it is
    ``repr(v)``'s digits for values with a short ``repr``), else the 16-digit one.
    Either is within ``3e-15 * |v|`` of ``v`` (rounding, and the float error of the
    scaling), so ``float(text) * dim`` snapped to 1e-9 gives back ``v * dim`` snapped,
    for ``|v| * dim < 5e4``.  Returns the new end, or -1 when ``v`` is out of the range
    where that holds or below 1e-4 (where ``repr`` writes an exponent): the caller then
    uses ``repr``.  At most 22 characters."""
    a = abs(v)
    if a == 0.0:
        if math.copysign(1.0, v) < 0:
            out[p] = 45
            p += 1
        out[p] = 48
        out[p + 1] = 46
        out[p + 2] = 48
        return p + 3
    if not (1e-4 <= a < 1e7) or a * dim >= 5e4:
        return -1
    # the decimal exponent by comparisons (a * 1e4 is in [1, 1e11)); it may be one off
    # next to a power of ten, which the scaling below corrects
    b = a * 1e4
    e = 0
    while e < 11 and b >= _POW10[e + 1]:
        e += 1
    s = e - 19  # q = a / 10**s holds 16 digits before the point (-19 <= s <= -9)
    q = a * _POW10[-s]
    if q >= 1e16:
        s += 1
        q = a * _POW10[-s]
    elif q < 1e15:
        s -= 1
        q = a * _POW10[-s]
    if not 1e15 <= q < 1e16 or s > -1:
        return -1
    n15 = np.int64(np.rint(q / 10.0))
    if abs(np.float64(n15) * 10.0 - q) <= 1.0:
        n, nd, s = n15, 15, s + 1
    else:
        n, nd = np.int64(np.rint(q)), 16
    if n >= _IPOW10[nd]:  # rounded up to the next power of ten
        n //= 10
        s += 1
    # value = n * 10**s, n of nd digits: trailing zeros go, 8, 4, 2, then 1 at a time
    if n > 0:
        for step in (8, 4, 2, 1):
            m = _IPOW10[step]
            while n % m == 0:
                n //= m
                nd -= step
                s += step
    if v < 0:
        out[p] = 45
        p += 1
    if s >= 0:  # a whole number: digits, s zeros, ".0"
        p = _put_digits(out, p, n, nd)
        for _ in range(s):
            out[p] = 48
            p += 1
        out[p] = 46
        out[p + 1] = 48
        return p + 2
    frac = -s  # digits after the point
    if frac >= nd:  # 0.000ddd
        out[p] = 48
        out[p + 1] = 46
        p += 2
        for _ in range(frac - nd):
            out[p] = 48
            p += 1
        return _put_digits(out, p, n, nd)
    m = _IPOW10[frac]
    p = _put_digits(out, p, n // m, nd - frac)
    out[p] = 46
    return _put_digits(out, p + 1, n % m, frac)


@kernel
def format_rings(vals, offsets, hs, ws):
    """YOLO text of normalised rings: object ``k``'s ``vals[offsets[k]:offsets[k + 1]]``
    (``x / w, y / h`` pairs) as numbers joined by spaces (see :func:`_put_short`).
    Returns ``(text, text_offsets, ok)``; an object with a number out of range has
    ``ok[k]`` False and no text (the caller writes it with ``repr``)."""
    n = offsets.size - 1
    out = np.empty(vals.size * 24 + 8, np.uint8)  # a number (<= 22) and a space
    text_offsets = np.zeros(n + 1, np.int64)
    ok = np.ones(n, np.bool_)
    p = 0
    for k in range(n):
        start = p
        for j in range(offsets[k], offsets[k + 1]):
            if j > offsets[k]:
                out[p] = 32
                p += 1
            dim = ws[k] if (j - offsets[k]) % 2 == 0 else hs[k]
            q = _put_short(out, p, vals[j], np.float64(dim))
            if q < 0:
                ok[k] = False
                break
            p = q
        if not ok[k]:
            p = start
        text_offsets[k + 1] = p
    return out[:p], text_offsets, ok
