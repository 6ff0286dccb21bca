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

Polygons are painted row by row (writes contiguous in the row-major output): each ring's
toggles are bucketed by row once, a bitmap of the columns where the inside state changes
gives every row's spans in order, and a span is filled with whole-vector stores.

Claim tracking (``OP_SET_TRACK``, ``OP_VOID``, ``OP_FILL_FREE``) assumes that ``out``
starts at 0 and that every value painted (and ``ignore``) is non-zero: a pixel is free
exactly when ``out`` is 0 there, so ``claims`` (uint8, same shape) is only written where
objects meet: 0 = at most one claim, 2 = claimed again by the same class, 3 = claimed by
two classes or more. A zeroed ``claims`` is then never touched where nothing overlaps.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from maskkit._jit import kernel, parallel_kernel, prange
from maskkit._kernels.ccl import span_pointer

# paint operations
OP_SET = 0  # out = value
OP_SET_TRACK = 1  # out = value, and keep claim statistics
OP_VOID = 2  # first claim sets the class; a different class later makes the pixel `ignore`
OP_FILL_FREE = 3  # paint only pixels no object has claimed (crowd regions under objects)

# claim states (uint8 per pixel; a pixel whose `out` is 0 is free whatever its state)
_AT_MOST_ONE = 0
_MANY_SAME = 2
_MANY_CLASSES = 3


@kernel
def _snap(c):
    # C's (int)(5 * c + .5): truncation toward zero
    return np.int64(5.0 * c + 0.5)


@kernel
def _row_of(vmin, h):
    # pycocotools: ceil(clamp((vmin + .5) / 5 - .5, 0, h)) for the integer vmin; that is
    # ceil((vmin - 2) / 5) clamped (the clamp bounds are integers), in integer arithmetic
    # (checked against the float formula over every |vmin| < 2e6 and random ones to 1e8)
    return min(max((vmin + 2) // 5, 0), h)


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
    out = np.empty(_ring_capacity(xy, start, stop, w), dtype=np.int64)
    n = _toggles_into(xy, start, stop, h, w, stride, out)
    return out[:n]


@kernel
def _toggles_into(xy, start, stop, h, w, stride, out):
    """:func:`ring_toggles` written into ``out`` (at least :func:`_ring_capacity` long);
    returns how many. Painting reuses one buffer for every ring of an image."""
    k = (stop - start) // 2
    n = 0
    if k == 0 or h <= 0 or w <= 0:
        return 0
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
            # (the estimate of that step only starts the exact search below)
            inv_s = 1.0 / s if s != 0.0 else 0.0
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
                    est = (c + 0.5 - xs) * inv_s
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
                    est = (c + 0.5 - xs) * inv_s
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
    return n


@kernel
def toggles_to_runs(toggles, hw):
    """Sorted, disjoint half-open runs from toggle positions (even-odd; equal ones cancel)."""
    t = sorted_copy(toggles)
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
def sorted_copy(a):
    """A sorted copy of the 1-D array ``a``: a bottom-up merge sort.

    Numba's ``np.sort`` and ``np.argsort`` compile their quicksort and mergesort
    machinery, a large part of a command's first run (benchmarks/README.md, "First
    hour"); this is a few lines of it, and as fast
    on the run lists it sorts."""
    n = a.size
    src = a.copy()
    dst = np.empty_like(src)
    width = 1
    while width < n:
        i = 0
        while i < n:
            mid = min(i + width, n)
            hi = min(i + 2 * width, n)
            lo_i = i
            hi_i = mid
            k = i
            while lo_i < mid and hi_i < hi:
                if src[hi_i] < src[lo_i]:
                    dst[k] = src[hi_i]
                    hi_i += 1
                else:
                    dst[k] = src[lo_i]
                    lo_i += 1
                k += 1
            while lo_i < mid:
                dst[k] = src[lo_i]
                lo_i += 1
                k += 1
            while hi_i < hi:
                dst[k] = src[hi_i]
                hi_i += 1
                k += 1
            i += 2 * width
        src, dst = dst, src
        width *= 2
    return src


@kernel
def union_runs(starts, ends):
    """Union of half-open runs: sorted, disjoint, touching runs merged.

    The union is where the runs cover at least once, so starts and ends are sorted apart
    and swept together, a start before an end at one position (touching runs merge)."""
    n = 0
    for i in range(starts.size):
        if ends[i] > starts[i]:
            n += 1
    ss = np.empty(n, dtype=np.int64)
    ee = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(starts.size):
        if ends[i] > starts[i]:
            ss[k] = starts[i]
            ee[k] = ends[i]
            k += 1
    ss = sorted_copy(ss)
    ee = sorted_copy(ee)
    os_ = np.empty(n, dtype=np.int64)
    oe = np.empty(n, dtype=np.int64)
    m = 0
    depth = 0
    i = 0
    j = 0
    while j < n:
        if i < n and ss[i] <= ee[j]:
            if depth == 0:
                os_[m] = ss[i]
            depth += 1
            i += 1
        else:
            depth -= 1
            if depth == 0:
                oe[m] = ee[j]
                m += 1
            j += 1
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


# ---------------------------------------------------------------------------- span stores


def _splat_store(lanes: int):
    """An intrinsic ``store(row, i, v)`` writing ``v`` to ``row[i:i + lanes]`` of a 1-D
    contiguous integer array as one vector store (the caller keeps ``i + lanes <=
    row.size``). LLVM vectorises a loop storing a constant, not one storing a variable."""

    @intrinsic
    def store(typingctx, arr, i, v):
        if (not isinstance(arr, types.Array) or arr.ndim != 1 or arr.layout != "C"
                or not isinstance(arr.dtype, types.Integer)):
            return None
        sig = types.void(arr, i, v)

        def codegen(context, builder, signature, args):
            arrty, _, vty = signature.args
            ary = context.make_array(arrty)(context, builder, args[0])
            ptr = span_pointer(context, builder, arrty, ary, args[1], lanes)
            elem = context.get_value_type(arrty.dtype)
            value = context.cast(builder, args[2], vty, arrty.dtype)
            vec_t = ir.VectorType(elem, lanes)
            one = builder.insert_element(ir.Constant(vec_t, ir.Undefined), value,
                                         ir.Constant(ir.IntType(32), 0))
            splat = builder.shuffle_vector(
                one, ir.Constant(vec_t, ir.Undefined),
                ir.Constant(ir.VectorType(ir.IntType(32), lanes), [0] * lanes))
            builder.store(splat, builder.bitcast(ptr, vec_t.as_pointer()),
                          align=arrty.dtype.bitwidth // 8)
            return context.get_dummy_value()

        return sig, codegen

    return store


_store16 = _splat_store(16)
_store8 = _splat_store(8)
_store4 = _splat_store(4)


def _vector_any(lanes: int):
    """An intrinsic ``any(row, i)``: whether ``row[i:i + lanes]`` of a 1-D contiguous
    integer array holds a non-zero value (one vector load and compare; the caller keeps
    ``i + lanes <= row.size``)."""

    @intrinsic
    def any_(typingctx, arr, i):
        if (not isinstance(arr, types.Array) or arr.ndim != 1 or arr.layout != "C"
                or not isinstance(arr.dtype, types.Integer)):
            return None
        sig = types.boolean(arr, i)

        def codegen(context, builder, signature, args):
            arrty = signature.args[0]
            ary = context.make_array(arrty)(context, builder, args[0])
            ptr = span_pointer(context, builder, arrty, ary, args[1], lanes)
            vec_t = ir.VectorType(context.get_value_type(arrty.dtype), lanes)
            vec = builder.load(builder.bitcast(ptr, vec_t.as_pointer()),
                               align=arrty.dtype.bitwidth // 8)
            nz = builder.icmp_unsigned("!=", vec, ir.Constant(vec_t, None))
            bits = builder.bitcast(nz, ir.IntType(lanes))
            return builder.icmp_unsigned("!=", bits, ir.Constant(ir.IntType(lanes), 0))

        return sig, codegen

    return any_


_any16 = _vector_any(16)
_any8 = _vector_any(8)
_any4 = _vector_any(4)


@intrinsic
def _ctz(typingctx, x):
    """Trailing zero bits of a non-zero uint64 (one instruction: LLVM's cttz)."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 1))

    return sig, codegen


@kernel
def _fill(row, a, b, v):
    """``row[a:b] = v`` (``a < b``) as whole-vector stores, none reaching past ``b``: the
    last store of a span overlaps the one before instead of ending in a scalar loop."""
    n = b - a
    if n >= 16:
        q = a
        last = b - 16
        while q < last:
            _store16(row, q, v)
            q += 16
        _store16(row, last, v)
    elif n >= 8:
        _store8(row, a, v)
        _store8(row, b - 8, v)
    elif n >= 4:
        _store4(row, a, v)
        _store4(row, b - 4, v)
    else:
        for q in range(a, b):
            row[q] = v


@kernel
def _reclaim(st, o, value, ignore, void):
    """A pixel holding ``o != 0`` (claim state ``st``) claimed again with ``value``:
    ``(new out, new state, newly contested, newly in conflict)``. Scalars only: a call
    per pixel that passed arrays would pay reference counting on every pixel."""
    if st == _MANY_CLASSES:
        return (o if void else value), _MANY_CLASSES, 0, 0
    second = 1 if st == _AT_MOST_ONE else 0
    if o != value:
        return (ignore if void else value), _MANY_CLASSES, second, 1
    return value, _MANY_SAME, second, 0


@kernel
def _paint_span(out, claims, r0, c0, n, dr, dc, value, op, ignore, stats):
    """Paint ``n`` pixels from ``(r0, c0)`` in steps of ``(dr, dc)`` with one operation."""
    r = r0
    c = c0
    if op == OP_SET and dr == 0:
        out[r0, c0:c0 + n] = value
        return
    void = op == OP_VOID
    for _ in range(n):
        o = out[r, c]
        if op == OP_SET or o == 0:
            out[r, c] = value
        elif op != OP_FILL_FREE:
            v, st, second, conflict = _reclaim(claims[r, c], o, value, ignore, void)
            out[r, c] = v
            claims[r, c] = st
            stats[0] += second
            stats[1] += conflict
        r += dr
        c += dc


@kernel
def _paint_tracked(flat, cflat, a, b, value, op, ignore, stats):
    """Paint ``flat[a:b]`` with a tracked operation (``claims`` flattened as ``cflat``).

    16 pixels at a time: a block of free pixels (the usual case: objects overlap little)
    is one vector test and one vector store; only blocks that meet an earlier object go
    pixel by pixel.
    """
    void = op == OP_VOID
    q = a
    while q < b:
        n = min(16, b - q)
        if n == 16:
            taken = _any16(flat, q)
        elif n >= 8:
            taken = _any8(flat, q) or _any8(flat, b - 8)
        elif n >= 4:
            taken = _any4(flat, q) or _any4(flat, b - 4)
        else:
            taken = flat[q] != 0 or flat[b - 1] != 0 or flat[q + (n >> 1)] != 0
        if not taken:
            _fill(flat, q, q + n, value)
        else:
            for j in range(q, q + n):
                o = flat[j]
                if o == 0:
                    flat[j] = value
                elif op != OP_FILL_FREE:
                    v, st, second, conflict = _reclaim(cflat[j], o, value, ignore, void)
                    flat[j] = v
                    cflat[j] = st
                    stats[0] += second
                    stats[1] += conflict
        q += n


@kernel
def _paint_runs_rows(out, claims, starts, ends, value, op, ignore, stats, row_lo, row_hi):
    """:func:`paint_runs` writing only rows ``row_lo <= r < row_hi``."""
    h = out.shape[0]
    w = out.shape[1]
    hw = h * w
    row_lo = max(row_lo, 0)
    row_hi = min(row_hi, h)
    for i in range(starts.size):
        s = max(starts[i], 0)
        e = min(ends[i], hw)
        if e <= s:
            continue
        col = s // h
        row = s - col * h
        p = s
        while p < e:
            stop = row + min(e - p, h - row)
            a = max(row, row_lo)
            b = min(stop, row_hi)
            if a < b:
                _paint_span(out, claims, a, col, b - a, 1, 0, value, op, ignore, stats)
            p += stop - row
            col += 1
            row = 0


@kernel
def paint_runs(out, claims, starts, ends, value, op, ignore, stats):
    """Paint column-major runs into the row-major ``out[H, W]``.

    ``stats[0]`` counts pixels newly claimed by a second object, ``stats[1]`` pixels newly
    claimed by a second *class*; ``claims`` (same shape as ``out``, or empty for OP_SET)
    holds each pixel's claim state (see the module docstring).
    """
    _paint_runs_rows(out, claims, starts, ends, value, op, ignore, stats, 0, out.shape[0])


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


# --------------------------------------------------------------------------- ring painting


@kernel
def _grown(buf, need):
    """``buf`` if it holds ``need`` items, else a new buffer of the same dtype (twice the
    need, so that a run of growing rings reallocates rarely)."""
    if buf.size >= need:
        return buf
    return np.empty(2 * need, dtype=buf.dtype)


@kernel
def _ring_toggles(xy, start, stop, h, w, rows, tog):
    """The toggles of one ring (:func:`_toggles_into`, each ``X << bits | Y`` with a
    power-of-two stride ``1 << bits > h``, so a shift and a mask decode it) and the box of
    those at rows ``< rows``: ``(tog, m, bits, x0, x1, y0, y1)``, ``tog`` grown when the
    ring needed more, ``y1 < 0`` when no toggle is at such a row. Called once per ring by
    both ring painters."""
    bits = 1
    while (1 << bits) <= h:
        bits += 1
    ymask = (1 << bits) - 1
    tog = _grown(tog, _ring_capacity(xy, start, stop, w))
    m = _toggles_into(xy, start, stop, h, w, 1 << bits, tog)
    x0 = w
    x1 = -1
    y0 = rows
    y1 = -1
    for i in range(m):
        Y = tog[i] & ymask
        if Y < rows:
            X = tog[i] >> bits
            x0 = min(x0, X)
            x1 = max(x1, X)
            y0 = min(y0, Y)
            y1 = max(y1, Y)
    return tog, m, bits, x0, x1, y0, y1


@kernel
def _paint_ring(flat, cflat, h, w, xy, start, stop, value, op, ignore, stats, row_lo, row_hi,
                tog, first, cols, bnd, spans):
    """Paint one ring (even-odd) row by row, writing only rows ``row_lo <= r < row_hi``.

    Column ``X`` is inside at row ``Y`` when an odd number of its toggles lie at rows
    ``<= Y``. The toggles are bucketed by row once (a counting sort); the sweep keeps a
    bitmap of the columns where the inside state changes (a toggle at ``X`` flips bits
    ``X`` and ``X + 1``), so each row's spans are read off by bit scans, in order, and
    rows between two toggle rows repeat the spans of the first. Per-column toggle counts
    are even (the ring is closed), so this equals pycocotools' column-major reading.

    ``tog``, ``first``, ``cols``, ``bnd`` and ``spans`` are scratch buffers shared by the
    rings of an image; they are returned, grown when a ring needed more. ``flat`` is the
    ``(h, w)`` label map flattened, ``cflat`` the claims flattened (empty for ``OP_SET``).
    """
    hh = min(row_hi, h)
    # toggles at rows >= hh change nothing this band paints
    tog, m, bits, x0, x1, y0, y1 = _ring_toggles(xy, start, stop, h, w, hh, tog)
    ymask = (1 << bits) - 1
    if y1 < 0:
        return tog, first, cols, bnd, spans
    nrows = y1 - y0 + 1
    first = _grown(first, nrows + 2)
    cols = _grown(cols, m)
    nw = (x1 - x0 + 2) // 64 + 1
    bnd = _grown(bnd, nw)
    spans = _grown(spans, 64 * nw)
    # counting sort by row: after it, row k's columns are cols[first[k]:first[k + 1]]
    for k in range(nrows + 2):
        first[k] = 0
    for i in range(m):
        Y = tog[i] & ymask
        if Y < hh:
            first[Y - y0 + 2] += 1
    for k in range(2, nrows + 2):
        first[k] += first[k - 1]
    for i in range(m):
        Y = tog[i] & ymask
        if Y < hh:
            k = Y - y0 + 1
            cols[first[k]] = (tog[i] >> bits) - x0
            first[k] += 1
    for j in range(nw):
        bnd[j] = 0
    one = np.uint64(1)
    k = 0
    while k < nrows:
        for i in range(first[k], first[k + 1]):
            c = cols[i]
            bnd[c >> 6] ^= one << np.uint64(c & 63)
            c += 1
            bnd[c >> 6] ^= one << np.uint64(c & 63)
        kn = k + 1
        while kn < nrows and first[kn + 1] == first[kn]:
            kn += 1
        y = max(y0 + k, row_lo)
        ynext = y0 + kn if kn < nrows else hh
        k = kn
        if y >= ynext:
            continue
        ns = 0
        for j in range(nw):
            word = bnd[j]
            while word != 0:
                spans[ns] = x0 + 64 * j + np.int64(_ctz(word))
                ns += 1
                word &= word - one
        if ns == 0:
            continue
        for r in range(y, ynext):
            p = r * w
            for q in range(0, ns, 2):
                if op == OP_SET:
                    _fill(flat, p + spans[q], p + spans[q + 1], value)
                else:
                    _paint_tracked(flat, cflat, p + spans[q], p + spans[q + 1], value, op,
                                   ignore, stats)
    return tog, first, cols, bnd, spans


@kernel
def _ring_rows(xy, ring_offsets, h):
    """Rows each ring can toggle: its y range with a margin for the 1/5 grid (``lo > hi``
    for an empty ring)."""
    n_rings = ring_offsets.size - 1
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
    return lo_row, hi_row


@kernel
def _paint_band(out, claims, xy, ring_offsets, obj_rings, run_starts, run_ends, obj_runs,
                values, ops, ignore, stats, lo_row, hi_row, row_lo, row_hi):
    """Paint every object, in order, into rows ``row_lo <= r < row_hi`` of ``out``."""
    h = out.shape[0]
    w = out.shape[1]
    # flat views made once: a view per row or span would cost reference counting each
    flat = out.reshape(h * w)
    cflat = claims.reshape(claims.shape[0] * claims.shape[1])
    tog = np.empty(256, np.int64)
    first = np.empty(256, np.int64)
    cols = np.empty(256, np.int64)
    bnd = np.empty(8, np.uint64)
    spans = np.empty(512, np.int64)
    for i in range(values.size):
        r0 = obj_rings[i]
        r1 = obj_rings[i + 1]
        if r1 - r0 == 1 or (r1 > r0 and ops[i] == OP_SET):
            # painting parts one by one is their union when nothing counts claims
            for r in range(r0, r1):
                if hi_row[r] < row_lo or lo_row[r] >= row_hi:
                    continue
                tog, first, cols, bnd, spans = _paint_ring(
                    flat, cflat, h, w, xy, ring_offsets[r], ring_offsets[r + 1], values[i],
                    ops[i], ignore, stats, row_lo, row_hi, tog, first, cols, bnd, spans)
        elif r1 > r0:
            lo = lo_row[r0]
            hi = hi_row[r0]
            for r in range(r0 + 1, r1):
                lo = min(lo, lo_row[r])
                hi = max(hi, hi_row[r])
            if hi >= row_lo and lo < row_hi:
                s, e = polygon_runs(xy, ring_offsets, r0, r1, h, w)
                _paint_runs_rows(out, claims, s, e, values[i], ops[i], ignore, stats,
                                 row_lo, row_hi)
        q0 = obj_runs[i]
        q1 = obj_runs[i + 1]
        if q1 > q0:
            _paint_runs_rows(out, claims, run_starts[q0:q1], run_ends[q0:q1], values[i],
                             ops[i], ignore, stats, row_lo, row_hi)


@kernel
def paint_objects(
    out, claims, xy, ring_offsets, obj_rings, run_starts, run_ends, obj_runs, values, ops,
    ignore, stats,
):
    """Paint many objects in order into the C-contiguous ``out``. Object ``i`` is the union
    of rings ``obj_rings[i]:obj_rings[i+1]`` of ``xy`` plus runs
    ``obj_runs[i]:obj_runs[i+1]``; ``ops[i]`` says how (see the module docstring)."""
    lo_row, hi_row = _ring_rows(xy, ring_offsets, out.shape[0])
    _paint_band(out, claims, xy, ring_offsets, obj_rings, run_starts, run_ends, obj_runs,
                values, ops, ignore, stats, lo_row, hi_row, 0, out.shape[0])


#: Words of row bitmap :func:`_paint_ring_rows` holds at once (2 MB): a taller or wider
#: ring is painted in bands of rows.
ROW_BITS_WORDS = 1 << 18


@kernel
def _paint_ring_rows(flat, h, w, xy, start, stop, value, budget, tog, bmp, spans):
    """Paint one ring (even-odd, ``OP_SET``) into the flattened ``(h, w)`` map: what
    :func:`_paint_ring` paints, found another way.

    A row bitmap of the ring's box gets one bit flipped per toggle (column ``X`` at row
    ``Y``); XOR-ing a row into the running state makes it the inside state of that row's
    columns, a word at a time, and the row's spans are read off its bits where they
    change. Rows without toggles keep the state and the spans of the row before, and the
    rows under the last toggle those of the last row (a column whose closing toggle is
    at row ``h`` stays inside to the bottom). No sort of the toggles: measured ~20 % faster than :func:`_paint_ring` on
    Cityscapes scenes. The bitmap holds at most ``budget`` words: a larger box is done in
    bands of rows, the state carried from one to the next.

    ``tog``, ``bmp`` and ``spans`` are scratch buffers shared by the rings of an image;
    they are returned, grown when a ring needed more."""
    tog, m, bits, x0, x1, y0, y1 = _ring_toggles(xy, start, stop, h, w, h, tog)
    ymask = (1 << bits) - 1
    if y1 < 0:
        return tog, bmp, spans
    nrows = y1 - y0 + 1
    nwi = ((x1 - x0) >> 6) + 1  # words of a row's inside state (columns x0..x1)
    stride = nwi + 1  # and a word saying whether the row has toggles
    band = max(1, min(nrows, budget // stride))
    bmp = _grown(bmp, band * stride + nwi)  # the band's rows, then the carried state
    carried = band * stride
    spans = _grown(spans, 64 * nwi + 2)
    one = np.uint64(1)
    zero = np.uint64(0)
    ns = 0
    for j in range(nwi):
        bmp[carried + j] = zero
    for k0 in range(0, nrows, band):
        k1 = min(nrows, k0 + band)
        for k in range((k1 - k0) * stride):
            bmp[k] = zero
        for i in range(m):
            t = tog[i]
            k = (t & ymask) - y0
            if k0 <= k < k1:
                c = (t >> bits) - x0
                r = (k - k0) * stride
                bmp[r + (c >> 6)] ^= one << np.uint64(c & 63)
                bmp[r + nwi] = one
        for k in range(k0, k1):
            r = (k - k0) * stride
            if bmp[r + nwi] != zero:
                # toggles in this row: the state changes (XOR-ed in, a row without
                # toggles keeps it and the spans) and the spans are read off it again
                ns = 0
                carry = zero
                for j in range(nwi):
                    word = bmp[carried + j] ^ bmp[r + j]
                    bmp[carried + j] = word
                    change = word ^ ((word << one) | carry)
                    carry = word >> np.uint64(63)
                    while change != zero:
                        spans[ns] = x0 + 64 * j + np.int64(_ctz(change))
                        ns += 1
                        change &= change - one
                if carry != zero:
                    spans[ns] = x0 + 64 * nwi
                    ns += 1
            p = (y0 + k) * w
            for q in range(0, ns, 2):
                _fill(flat, p + spans[q], p + spans[q + 1], value)
    for y in range(y1 + 1, h):
        p = y * w
        for q in range(0, ns, 2):
            _fill(flat, p + spans[q], p + spans[q + 1], value)
    return tog, bmp, spans


@kernel
def paint_rings(out, xy, ring_offsets, values, budget):
    """Paint one-ring objects in order (later on top) into the C-contiguous ``out``:
    object ``i`` is the ring ``xy[ring_offsets[i]:ring_offsets[i + 1]]``, painted with
    ``values[i]`` (``OP_SET``), pixel for pixel as :func:`paint_objects` paints them, by
    :func:`_paint_ring_rows` (``budget``: its bitmap's words at most, see
    :data:`ROW_BITS_WORDS`). Only the ring painter is compiled: a first run compiles this
    in under half of :func:`paint_objects`' time."""
    h = out.shape[0]
    w = out.shape[1]
    flat = out.reshape(h * w)
    tog = np.empty(256, np.int64)
    bmp = np.empty(256, np.uint64)
    spans = np.empty(512, np.int64)
    for i in range(values.size):
        tog, bmp, spans = _paint_ring_rows(flat, h, w, xy, ring_offsets[i],
                                           ring_offsets[i + 1], values[i], budget, tog, bmp,
                                           spans)


# nogil=False: a parallel kernel that releases the GIL waits, at its end, for a thread of
# the threading layer that took it meanwhile to hand it back, which Python forces only
# every switch interval: a stall per call longer than the painting of a large map
# (benchmarks/README.md, issue 19). Holding the GIL costs nothing: the bands run without it.
@parallel_kernel(nogil=False)
def paint_objects_bands(out, claims, xy, ring_offsets, obj_rings, run_starts, run_ends,
                        obj_runs, values, ops, ignore, band_stats):
    """:func:`paint_objects` in ``len(band_stats)`` horizontal bands at once.

    Each band paints, in order, every object whose rows reach it and writes only its own
    rows (of ``out`` and ``claims``), so the result is pixel for pixel the serial one
    (later objects still win inside every band, and bands share no pixel); band ``b``
    adds its claim statistics to ``band_stats[b]``. The loop over bands is the only
    parallel region: every region costs a wake-up of the threads.
    """
    h = out.shape[0]
    n_bands = band_stats.shape[0]
    lo_row, hi_row = _ring_rows(xy, ring_offsets, h)
    for band in prange(n_bands):
        r0 = band * h // n_bands
        r1 = (band + 1) * h // n_bands
        _paint_band(out, claims, xy, ring_offsets, obj_rings, run_starts, run_ends, obj_runs,
                    values, ops, ignore, band_stats[band], lo_row, hi_row, r0, r1)

