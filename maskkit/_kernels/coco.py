"""Pixel-exact kernels for COCO's polygon rasterisation and column-major run painting.

The rule being reproduced (pycocotools ``rleFrPoly``): vertices are snapped to a
1/5-pixel grid (``int(5 * c + 0.5)``, C truncation), every edge is walked as a digital
line on that grid, and wherever the walk steps between sub-columns ``5X + 2`` and
``5X + 3`` (the centre line of pixel column ``X``) the row ``ceil(clamp((min(v) + .5)/5
- .5, 0, h))`` toggles the mask in that column.  Instead of walking every 1/5-pixel step,
these kernels jump straight to the steps that cross a pixel-column centre, so the work is
proportional to the number of columns an edge spans *inside* the image, not to its length.

Positions are column-major linear indices ``p = x * h + y`` (pycocotools' RLE order); a
run ``[s, e)`` covers ``p`` in that range.  No kernel trusts its input to be in range:
every write is clipped to ``[0, h*w)``.
"""

from __future__ import annotations

import numpy as np

from maskkit._jit import kernel, parallel_kernel, prange

# paint operations
OP_SET = 0  # out = value
OP_SET_TRACK = 1  # out = value, and keep claim statistics
OP_VOID = 2  # first claim sets the class; a different class later makes the pixel `ignore`
OP_FILL_FREE = 3  # paint only pixels no object has claimed (crowd regions under objects)

# claim states (uint8 per pixel)
_FREE = 0
_ONE = 1
_MANY_SAME = 2
_MANY_CLASSES = 3


@kernel
def _snap(c):
    # C's (int)(5 * c + .5): truncation toward zero
    return np.int64(5.0 * c + 0.5)


@kernel
def _row_of(vmin, h):
    yd = (vmin + 0.5) / 5.0 - 0.5
    if yd < 0.0:
        yd = 0.0
    elif yd > h:
        yd = float(h)
    return np.int64(np.ceil(yd))


@kernel
def _steep_u(xs, s, t):
    return np.int64(xs + s * t + 0.5)


@kernel
def _ring_capacity(xy, start, stop, w):
    k = (stop - start) // 2
    cap = 2
    for j in range(k):
        j1 = j + 1 if j + 1 < k else 0
        x0 = _snap(xy[start + 2 * j])
        x1 = _snap(xy[start + 2 * j1])
        span = abs(x1 - x0) // 5 + 2
        cap += min(span, w + 2)
    return cap


@kernel
def ring_toggles(xy, start, stop, h, w, stride):
    """Toggle positions ``X * stride + Y`` (unsorted) of one ring ``xy[start:stop]`` (flat x, y).

    ``Y`` is in ``0..h``. With ``stride = h`` these are pycocotools' column-major linear
    positions (a toggle at ``Y = h`` is the top of the next column); with any ``stride > h``
    ``(X, Y)`` can be decoded.
    """
    k = (stop - start) // 2
    out = np.empty(_ring_capacity(xy, start, stop, w), dtype=np.int64)
    n = 0
    if k == 0 or h <= 0 or w <= 0:
        return out[:0]
    # relevant sub-column range: crossings of pixel columns 0..w-1 lie between u = 5X+2 and 5X+3
    first_x = _snap(xy[start])
    first_y = _snap(xy[start + 1])
    have_prev = False
    pu = np.int64(0)
    pv = np.int64(0)
    for j in range(k):
        j1 = j + 1 if j + 1 < k else 0
        xs = _snap(xy[start + 2 * j])
        ys = _snap(xy[start + 2 * j + 1])
        if j1 == 0:
            xe = first_x
            ye = first_y
        else:
            xe = _snap(xy[start + 2 * j1])
            ye = _snap(xy[start + 2 * j1 + 1])
        dx = abs(xe - xs)
        dy = abs(ys - ye)
        flip = (dx >= dy and xs > xe) or (dx < dy and ys > ye)
        if flip:
            xs, xe = xe, xs
            ys, ye = ye, ys
        # first and last point of the walk, in walk order (d = 0 and d = n)
        if dx >= dy:
            nsteps = dx
            if dx == 0:
                s = 0.0
                fu0 = xs
                fv0 = ys
                lu = xs
                lv = ys
            else:
                s = (ye - ys) / dx
                t0 = dx if flip else 0
                t1 = 0 if flip else dx
                fu0 = t0 + xs
                fv0 = np.int64(ys + s * t0 + 0.5)
                lu = t1 + xs
                lv = np.int64(ys + s * t1 + 0.5)
        else:
            nsteps = dy
            s = (xe - xs) / dy
            t0 = dy if flip else 0
            t1 = 0 if flip else dy
            fv0 = t0 + ys
            fu0 = _steep_u(xs, s, t0)
            lv = t1 + ys
            lu = _steep_u(xs, s, t1)
        # the step from the previous edge's last point to this edge's first point
        if have_prev and fu0 != pu:
            umin = fu0 if fu0 < pu else fu0 - 1
            if umin >= 2 and (umin - 2) % 5 == 0:
                X = (umin - 2) // 5
                if X < w:
                    out[n] = X * stride + _row_of(min(fv0, pv), h)
                    n += 1
        have_prev = True
        pu = lu
        pv = lv
        if nsteps == 0:
            continue
        # crossings inside the edge: one per pixel column whose centre line it passes
        if dx >= dy:
            # u = t + xs steps by exactly 1; the pair (5X+2, 5X+3) is at t = c - xs, c - xs + 1
            ulo = xs
            uhi = xs + dx
            X0 = (ulo - 2 + 4) // 5 if ulo > 2 else 0
            X1 = (uhi - 3) // 5 if uhi >= 3 else -1
            if X1 > w - 1:
                X1 = w - 1
            for X in range(X0, X1 + 1):
                c = 5 * X + 2
                ta = c - xs
                if ta < 0 or ta + 1 > dx:
                    continue
                va = np.int64(ys + s * ta + 0.5)
                vb = np.int64(ys + s * (ta + 1) + 0.5)
                out[n] = X * stride + _row_of(min(va, vb), h)
                n += 1
        else:
            # v = t + ys steps by 1; u = trunc(xs + s t + .5) moves by at most 1 per step and
            # monotonically: find the step where it passes from 5X+2 to 5X+3 (or back)
            ua = _steep_u(xs, s, 0)
            ub = _steep_u(xs, s, dy)
            lo = min(ua, ub)
            hi = max(ua, ub)
            X0 = (lo - 2 + 4) // 5 if lo > 2 else 0
            X1 = (hi - 3) // 5 if hi >= 3 else -1
            if X1 > w - 1:
                X1 = w - 1
            for X in range(X0, X1 + 1):
                c = 5 * X + 2
                if s > 0:
                    # smallest t with u(t) >= c + 1
                    est = (c + 0.5 - xs) / s
                    if est < 0.0:
                        est = 0.0
                    elif est > dy:
                        est = float(dy)
                    t = np.int64(np.ceil(est))
                    while t > 0 and _steep_u(xs, s, t - 1) >= c + 1:
                        t -= 1
                    while t <= dy and _steep_u(xs, s, t) < c + 1:
                        t += 1
                    if t <= 0 or t > dy or _steep_u(xs, s, t - 1) != c:
                        continue
                else:
                    # smallest t with u(t) <= c
                    est = (c + 0.5 - xs) / s
                    if est < 0.0:
                        est = 0.0
                    elif est > dy:
                        est = float(dy)
                    t = np.int64(np.ceil(est))
                    while t > 0 and _steep_u(xs, s, t - 1) <= c:
                        t -= 1
                    while t <= dy and _steep_u(xs, s, t) > c:
                        t += 1
                    if t <= 0 or t > dy or _steep_u(xs, s, t - 1) != c + 1:
                        continue
                out[n] = X * stride + _row_of(ys + t - 1, h)
                n += 1
    return out[:n]


@kernel
def toggles_to_runs(toggles, hw):
    """Sorted, disjoint half-open runs from toggle positions (even-odd; equal ones cancel)."""
    t = np.sort(toggles)
    starts = np.empty(t.size // 2 + 1, dtype=np.int64)
    ends = np.empty(t.size // 2 + 1, dtype=np.int64)
    n = 0
    inside = False
    i = 0
    m = t.size
    while i < m:
        p = t[i]
        j = i + 1
        while j < m and t[j] == p:
            j += 1
        if (j - i) % 2 == 1 and p < hw:
            if inside:
                if p > starts[n]:
                    ends[n] = p
                    n += 1
                inside = False
            else:
                starts[n] = p
                inside = True
        i = j
    if inside and starts[n] < hw:
        ends[n] = hw
        n += 1
    return starts[:n], ends[:n]


@kernel
def union_runs(starts, ends):
    """Union of half-open runs: sorted, disjoint, touching runs merged."""
    n = starts.size
    if n == 0:
        return starts.copy(), ends.copy()
    order = np.argsort(starts, kind="mergesort")
    os_ = np.empty(n, dtype=np.int64)
    oe = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        s = starts[order[i]]
        e = ends[order[i]]
        if e <= s:
            continue
        if m > 0 and s <= oe[m - 1]:
            if e > oe[m - 1]:
                oe[m - 1] = e
        else:
            os_[m] = s
            oe[m] = e
            m += 1
    return os_[:m], oe[:m]


@kernel
def polygon_runs(xy, ring_offsets, r0, r1, h, w):
    """Runs of the union of rings ``r0..r1-1`` (COCO parts: each part even-odd, parts unioned)."""
    if r1 - r0 == 1:
        tog = ring_toggles(xy, ring_offsets[r0], ring_offsets[r0 + 1], h, w, h)
        return toggles_to_runs(tog, h * w)
    total = 0
    parts_s = []
    parts_e = []
    for r in range(r0, r1):
        tog = ring_toggles(xy, ring_offsets[r], ring_offsets[r + 1], h, w, h)
        s, e = toggles_to_runs(tog, h * w)
        parts_s.append(s)
        parts_e.append(e)
        total += s.size
    alls = np.empty(total, dtype=np.int64)
    alle = np.empty(total, dtype=np.int64)
    k = 0
    for i in range(len(parts_s)):
        s = parts_s[i]
        e = parts_e[i]
        for j in range(s.size):
            alls[k] = s[j]
            alle[k] = e[j]
            k += 1
    return union_runs(alls, alle)


@kernel
def _paint_span(out, claims, r0, c0, n, dr, dc, value, op, ignore, stats):
    """Paint ``n`` pixels from ``(r0, c0)`` in steps of ``(dr, dc)`` with one operation.

    The claim logic is written out here rather than called per pixel: a Numba call per
    pixel (with array arguments) costs more than the pixel itself.
    """
    r = r0
    c = c0
    if op == OP_SET and dr == 0:
        out[r0, c0:c0 + n] = value
    elif op == OP_SET:
        for _ in range(n):
            out[r, c] = value
            r += dr
            c += dc
    elif op == OP_FILL_FREE:
        for _ in range(n):
            if claims[r, c] == _FREE:
                out[r, c] = value
            r += dr
            c += dc
    else:
        void = op == OP_VOID
        n_second = 0
        n_conflict = 0
        for _ in range(n):
            st = claims[r, c]
            if st == _FREE:
                out[r, c] = value
                claims[r, c] = _ONE
            elif st == _MANY_CLASSES:
                if not void:
                    out[r, c] = value
            else:
                if st == _ONE:
                    n_second += 1
                if out[r, c] != value:
                    n_conflict += 1
                    claims[r, c] = _MANY_CLASSES
                    out[r, c] = ignore if void else value
                else:
                    claims[r, c] = _MANY_SAME
            r += dr
            c += dc
        stats[0] += n_second
        stats[1] += n_conflict


@kernel
def paint_runs(out, claims, starts, ends, value, op, ignore, stats):
    """Paint column-major runs into the row-major ``out[H, W]``.

    ``stats[0]`` counts pixels newly claimed by a second object, ``stats[1]`` pixels newly
    claimed by a second *class*; ``claims`` (same shape as ``out``, or empty for OP_SET)
    holds each pixel's claim state.
    """
    h = out.shape[0]
    w = out.shape[1]
    hw = h * w
    for i in range(starts.size):
        s = max(starts[i], 0)
        e = min(ends[i], hw)
        if e <= s:
            continue
        col = s // h
        row = s - col * h
        p = s
        while p < e:
            stop = min(e - p, h - row)
            _paint_span(out, claims, row, col, stop, 1, 0, value, op, ignore, stats)
            p += stop
            col += 1
            row = 0


@kernel
def paint_ring_rows(out, claims, xy, start, stop, value, op, ignore, stats, row_lo=0,
                    row_hi=-1):
    """Paint one ring (even-odd) row by row, so that writes are contiguous in ``out``.

    Only rows ``row_lo <= r < row_hi`` are written (``row_hi=-1``: every row below
    ``row_lo``), so that bands of one image can be painted by different threads.

    Each pixel column's state flips at its toggle rows; sweeping the toggles in (row,
    column) order gives, row after row, the spans of columns that are inside. Per-column
    toggle counts are even (the ring is closed), so this equals the column-major
    linear reading of pycocotools.
    """
    h = out.shape[0]
    w = out.shape[1]
    # a power-of-two stride > h lets (X, Y) be decoded with a shift and a mask
    bits = 1
    while (1 << bits) <= h:
        bits += 1
    ymask = (1 << bits) - 1
    tog = ring_toggles(xy, start, stop, h, w, 1 << bits)
    m = tog.size
    if m == 0:
        return
    # bucket the toggles by row (counting sort: the order within a row does not matter)
    x0 = w
    x1 = -1
    y0 = h
    y1 = 0
    for i in range(m):
        X = tog[i] >> bits
        Y = tog[i] & ymask
        x0 = min(x0, X)
        x1 = max(x1, X)
        y0 = min(y0, Y)
        y1 = max(y1, Y)
    nrows = y1 - y0 + 2
    first = np.zeros(nrows, dtype=np.int64)
    for i in range(m):
        first[(tog[i] & ymask) - y0 + 1] += 1
    for k in range(1, nrows):
        first[k] += first[k - 1]
    cols = np.empty(m, dtype=np.int64)
    fill = first.copy()
    for i in range(m):
        X = tog[i] >> bits
        k = (tog[i] & ymask) - y0
        cols[fill[k]] = X - x0
        fill[k] += 1
    busiest = 0
    for k in range(nrows - 1):
        busiest = max(busiest, first[k + 1] - first[k])
    if busiest <= 16:
        _sweep_boundaries(out, claims, first, cols, nrows, x0, y0, value, op, ignore, stats,
                          row_lo, row_hi)
    else:  # many crossings per row (hostile zig-zags): a linear scan per row is cheaper
        _sweep_state(out, claims, first, cols, nrows, x0, x1 - x0 + 1, y0, value, op, ignore,
                     stats, row_lo, row_hi)


@kernel
def _next_toggle_row(first, nrows, y0, y, h):
    ynext = y + 1
    while ynext - y0 < nrows - 1 and first[ynext - y0 + 1] == first[ynext - y0]:
        ynext += 1
    return min(ynext, h)


@kernel
def _sweep_boundaries(out, claims, first, cols, nrows, x0, y0, value, op, ignore, stats,
                      row_lo, row_hi):
    """Row sweep keeping the sorted columns where the state changes.

    The inside columns of the current row are the runs between consecutive entries of
    ``bnd``. Flipping column c flips whether c and c + 1 are such boundaries, so each toggle
    edits this short list instead of a scan over the polygon's width.
    """
    h = out.shape[0] if row_hi < 0 else min(row_hi, out.shape[0])
    bnd = np.empty(2 * cols.size + 2, dtype=np.int64)
    nb = 0
    for k in range(nrows - 1):
        y = y0 + k
        if y >= h:
            break
        if first[k + 1] == first[k]:
            continue
        for i in range(first[k], first[k + 1]):
            # flip boundaries c and c + 1 (written out: a call per flip costs more than it)
            for c in range(cols[i] + x0, cols[i] + x0 + 2):
                j = 0
                while j < nb and bnd[j] < c:
                    j += 1
                if j < nb and bnd[j] == c:
                    for t in range(j, nb - 1):
                        bnd[t] = bnd[t + 1]
                    nb -= 1
                else:
                    for t in range(nb, j, -1):
                        bnd[t] = bnd[t - 1]
                    bnd[j] = c
                    nb += 1
        ynext = _next_toggle_row(first, nrows, y0, y, h)
        y = max(y, row_lo)  # rows above the band only advance the state
        if op == OP_SET:
            for r in range(y, ynext):
                for q in range(0, nb - 1, 2):
                    for c in range(bnd[q], bnd[q + 1]):
                        out[r, c] = value
        else:
            for r in range(y, ynext):
                for q in range(0, nb - 1, 2):
                    _paint_span(out, claims, r, bnd[q], bnd[q + 1] - bnd[q], 0, 1, value, op,
                                ignore, stats)


@kernel
def _sweep_state(out, claims, first, cols, nrows, x0, bw, y0, value, op, ignore, stats,
                 row_lo, row_hi):
    """Row sweep keeping one state flag per column; spans found by a scan per toggle row."""
    h = out.shape[0] if row_hi < 0 else min(row_hi, out.shape[0])
    state = np.zeros(bw, dtype=np.bool_)
    span_a = np.empty(bw // 2 + 1, dtype=np.int64)
    span_b = np.empty(bw // 2 + 1, dtype=np.int64)
    for k in range(nrows - 1):
        y = y0 + k
        if y >= h:
            break
        if first[k + 1] == first[k]:
            continue
        for i in range(first[k], first[k + 1]):
            state[cols[i]] = not state[cols[i]]
        nspan = 0
        x = 0
        while x < bw:
            if state[x]:
                a = x
                while x < bw and state[x]:
                    x += 1
                span_a[nspan] = a + x0
                span_b[nspan] = x + x0
                nspan += 1
            else:
                x += 1
        for r in range(max(y, row_lo), _next_toggle_row(first, nrows, y0, y, h)):
            for q in range(nspan):
                _paint_span(out, claims, r, span_a[q], span_b[q] - span_a[q], 0, 1, value, op,
                            ignore, stats)


@kernel
def paint_objects(
    out, claims, xy, ring_offsets, obj_rings, run_starts, run_ends, obj_runs, values, ops,
    ignore, stats,
):
    """Paint many objects in order. Object ``i`` is the union of rings
    ``obj_rings[i]:obj_rings[i+1]`` of ``xy`` plus runs ``obj_runs[i]:obj_runs[i+1]``."""
    h = out.shape[0]
    w = out.shape[1]
    for i in range(values.size):
        r0 = obj_rings[i]
        r1 = obj_rings[i + 1]
        if r1 - r0 == 1 or (r1 > r0 and ops[i] == OP_SET):
            # painting parts one by one is their union when nothing counts claims
            for r in range(r0, r1):
                paint_ring_rows(out, claims, xy, ring_offsets[r], ring_offsets[r + 1],
                                values[i], ops[i], ignore, stats)
        elif r1 > r0:
            s, e = polygon_runs(xy, ring_offsets, r0, r1, h, w)
            paint_runs(out, claims, s, e, values[i], ops[i], ignore, stats)
        q0 = obj_runs[i]
        q1 = obj_runs[i + 1]
        if q1 > q0:
            paint_runs(out, claims, run_starts[q0:q1], run_ends[q0:q1], values[i], ops[i],
                       ignore, stats)


@kernel
def objects_area(xy, ring_offsets, obj_rings, run_starts, run_ends, obj_runs, h, w):
    """Pixel area of every object (union of its polygon parts and runs)."""
    n = obj_rings.size - 1
    area = np.zeros(n, dtype=np.int64)
    for i in range(n):
        r0 = obj_rings[i]
        r1 = obj_rings[i + 1]
        q0 = obj_runs[i]
        q1 = obj_runs[i + 1]
        if r1 > r0:
            s, e = polygon_runs(xy, ring_offsets, r0, r1, h, w)
        else:
            s = np.empty(0, dtype=np.int64)
            e = np.empty(0, dtype=np.int64)
        if q1 > q0:
            s = np.concatenate((s, run_starts[q0:q1]))
            e = np.concatenate((e, run_ends[q0:q1]))
            s, e = union_runs(s, e)
        a = 0
        for j in range(s.size):
            a += e[j] - s[j]
        area[i] = a
    return area


@kernel
def paint_runs_c(out, claims, starts, ends, value, op, ignore, stats):
    """Like :func:`paint_runs` for row-major runs (``p = row * W + col``)."""
    h = out.shape[0]
    w = out.shape[1]
    hw = h * w
    for i in range(starts.size):
        s = max(starts[i], 0)
        e = min(ends[i], hw)
        p = s
        while p < e:
            row = p // w
            col = p - row * w
            stop = min(e - p, w - col)
            _paint_span(out, claims, row, col, stop, 0, 1, value, op, ignore, stats)
            p += stop


@parallel_kernel
def paint_objects_bands(out, xy, ring_offsets, obj_rings, values, n_bands):
    """:func:`paint_objects` for polygon objects painted with ``OP_SET``, in ``n_bands``
    horizontal bands at once.

    Each band paints, in order, every ring whose rows reach it and writes only its own
    rows, so the result is pixel for pixel the serial one (later objects still win inside
    every band, and bands share no pixel).
    """
    h = out.shape[0]
    n_rings = ring_offsets.size - 1
    n_bands = max(1, min(n_bands, h))
    claims = np.zeros((0, 0), dtype=np.uint8)
    # rows each ring can toggle (its y range, one row of margin for the 1/5 grid)
    lo_row = np.empty(n_rings, np.int64)
    hi_row = np.empty(n_rings, np.int64)
    for r in range(n_rings):
        a = ring_offsets[r]
        b = ring_offsets[r + 1]
        y_min = np.inf
        y_max = -np.inf
        for k in range(a + 1, b, 2):
            y_min = min(y_min, xy[k])
            y_max = max(y_max, xy[k])
        if b - a < 2:
            lo_row[r] = h
            hi_row[r] = -1
        else:
            lo_row[r] = np.int64(max(min(y_min, h + 2.0), -2.0)) - 2
            hi_row[r] = np.int64(max(min(y_max, h + 2.0), -2.0)) + 2
    for band in prange(n_bands):
        r0 = band * h // n_bands
        r1 = (band + 1) * h // n_bands
        stats = np.zeros(2, dtype=np.int64)
        for i in range(values.size):
            for r in range(obj_rings[i], obj_rings[i + 1]):
                if hi_row[r] < r0 or lo_row[r] >= r1:
                    continue
                paint_ring_rows(out, claims, xy, ring_offsets[r], ring_offsets[r + 1],
                                values[i], OP_SET, values[i], stats, r0, r1)
