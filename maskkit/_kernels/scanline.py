"""Scanline kernels that reproduce ``rasterio.features.rasterize`` (GDAL) exactly.

Both kernels take ONE polygon (exterior ring first, then holes) in pixel coordinates (the
identity transform: pixel ``(row, col)`` covers ``x in [col, col+1)``, ``y in [row, row+1)``)
and return the burned pixels as sorted, merged, half-open runs of the row-major linear index
``row * width + col``.  They do no validation: the caller guarantees finite coordinates and
at least three vertices per ring.

The rules are GDAL's (``alg/llrasterize.cpp`` and ``alg/gdalrasterize.cpp``, GDAL 3.10 as
bundled with rasterio 1.4.4); they were re-derived and checked against rasterio pixel by
pixel:

* Rings are closed as shapely closes them (the first vertex is appended when the last one
  differs) and every ring, holes included, is traversed clockwise as judged by OGR's
  ``isClockwise`` (the turn at the lowest, then rightmost vertex; shoelace sum as the
  fallback when that vertex is repeated).  Only the direction of horizontal edges lying
  exactly on a scanline depends on this.
* Fill ("center"): scanlines at ``y + 0.5`` for rows ``trunc(min y) .. trunc(max y)``;
  a non-horizontal edge crosses when ``y_low <= y + 0.5 < y_high``; each crossing
  ``x = (yc - y_low) * (x_high - x_low) / (y_high - y_low) + x_low`` is rounded with
  ``floor(x + 0.5)``; the sorted crossings are paired even-odd over all rings of the
  polygon and each pair ``(a, b)`` burns columns ``a .. b-1``.  A horizontal edge lying
  exactly on the scanline burns ``round(x_min) .. round(x_max)-1`` when it is traversed
  right to left (after the clockwise re-orientation) and nothing otherwise.
* "all_touched" = the fill above plus every ring's outline walked segment by segment
  (``GDALdllImageLineAllTouched`` with ``bIntersectOnly``): segments whose ends fall in
  one pixel column (or differ by < 0.01 in x) are walked as a column, likewise for rows;
  such axis-parallel segments lying within 1e-4 of a pixel boundary are skipped, and such a
  walk ends at pixel ``floor(end - 1e-4)`` (it starts at ``floor(start)``).  Other segments are
  clipped to the image (with GDAL's clipping arithmetic, quirks included) and stepped
  from pixel boundary to pixel boundary.  GDAL writes such a step at ``row * width + col``
  without checking the column, so a step that lands on ``col >= width`` shows up further
  along the buffer (usually at column 0 of the next row); that is reproduced here, but
  never past the end of the image.

A MultiPolygon is burned by GDAL part by part (a union; overlapping parts do not cancel),
so callers run these kernels once per part.
"""

from __future__ import annotations

import math

import numpy as np

from maskkit._jit import kernel

#: GDAL's tolerance for "this coordinate lies on a pixel boundary" in all_touched mode.
_EPS_ON_BOUNDARY = 1e-4


# --------------------------------------------------------------------------- ring helpers


@kernel
def _closed_len(xy, start, stop):
    """Number of vertices of the ring once closed the way shapely closes it."""
    if xy[start, 0] == xy[stop - 1, 0] and xy[start, 1] == xy[stop - 1, 1]:
        return stop - start
    return stop - start + 1


@kernel
def _vertex(xy, start, stop, k):
    """Index into ``xy`` of vertex ``k`` of the closed ring (the closing vertex wraps)."""
    if start + k < stop:
        return start + k
    return start


@kernel
def _is_clockwise(xy, start, stop, m):
    """OGR's ``isClockwise`` of the closed ring of ``m`` vertices starting at ``start``."""
    if m < 2:
        return True
    fallback = False
    v = 0
    for i in range(1, m - 1):
        iv = _vertex(xy, start, stop, i)
        jv = _vertex(xy, start, stop, v)
        if xy[iv, 1] < xy[jv, 1] or (xy[iv, 1] == xy[jv, 1] and xy[iv, 0] > xy[jv, 0]):
            v = i
            fallback = False
        elif xy[iv, 1] == xy[jv, 1] and xy[iv, 0] == xy[jv, 0]:
            fallback = True
    pv = _vertex(xy, start, stop, v)
    prev = v - 1
    if prev < 0:
        prev = m - 2
    pp = _vertex(xy, start, stop, prev)
    if abs(xy[pp, 0] - xy[pv, 0]) < 1e-5 and abs(xy[pp, 1] - xy[pv, 1]) < 1e-5:
        fallback = True
    dx0 = xy[pp, 0] - xy[pv, 0]
    dy0 = xy[pp, 1] - xy[pv, 1]
    nxt = v + 1
    if nxt >= m - 1:
        nxt = 0
    pn = _vertex(xy, start, stop, nxt)
    if abs(xy[pn, 0] - xy[pv, 0]) < 1e-5 and abs(xy[pn, 1] - xy[pv, 1]) < 1e-5:
        fallback = True
    dx1 = xy[pn, 0] - xy[pv, 0]
    dy1 = xy[pn, 1] - xy[pv, 1]
    cross = dx1 * dy0 - dx0 * dy1
    if not fallback:
        if cross > 0:
            return False
        if cross < 0:
            return True
    # Shoelace fallback over the closed ring.
    total = 0.0
    for i in range(m):
        a = _vertex(xy, start, stop, (i - 1) % m)
        b = _vertex(xy, start, stop, i)
        c = _vertex(xy, start, stop, (i + 1) % m)
        total += xy[b, 0] * (xy[c, 1] - xy[a, 1])
    return total < 0


# --------------------------------------------------------------------------- run buffers


@kernel
def _grow(starts, ends, n, need=0):
    """Double the run buffers, or more to hold ``need`` runs (kept out of the hot loops,
    which only check capacity); the first ``n`` runs are kept."""
    size = max(2 * n + 16, need)
    grown_s = np.empty(size, np.int64)
    grown_e = np.empty(size, np.int64)
    grown_s[:n] = starts[:n]
    grown_e[:n] = ends[:n]
    return grown_s, grown_e


@kernel
def _merge_runs(starts, ends, n):
    """Union of the runs ``[starts[i], ends[i])``, as sorted, merged runs.

    The union of intervals only needs the starts and the ends each sorted on their own: a
    sweep keeps the number of open runs, and a start ties before an end so that touching
    runs merge.
    """
    s = np.sort(starts[:n])
    e = np.sort(ends[:n])
    out_s = np.empty(n, np.int64)
    out_e = np.empty(n, np.int64)
    k = 0
    depth = 0
    i = 0
    j = 0
    current = 0
    while i < n:
        if s[i] <= e[j]:
            if depth == 0:
                current = s[i]
            depth += 1
            i += 1
        else:
            depth -= 1
            if depth == 0:
                out_s[k] = current
                out_e[k] = e[j]
                k += 1
            j += 1
    if n > 0:
        out_s[k] = current
        out_e[k] = e[n - 1]
        k += 1
    return out_s[:k].copy(), out_e[:k].copy()


# --------------------------------------------------------------------------- fill


@kernel
def _insertion_sort(values, lo, hi):
    """Sort ``values[lo:hi]`` in place; rows hold few crossings, so no allocation."""
    for i in range(lo + 1, hi):
        v = values[i]
        j = i - 1
        while j >= lo and values[j] > v:
            values[j + 1] = values[j]
            j -= 1
        values[j + 1] = v


@kernel
def _insertion_sort_pairs(keys, other, n):
    """Sort ``keys[:n]`` in place, carrying ``other[:n]`` along."""
    for i in range(1, n):
        k = keys[i]
        o = other[i]
        j = i - 1
        while j >= 0 and keys[j] > k:
            keys[j + 1] = keys[j]
            other[j + 1] = other[j]
            j -= 1
        keys[j + 1] = k
        other[j + 1] = o


@kernel
def _crossing_rows(y_low, y_high, row_min, row_max):
    """Rows ``r`` in ``[row_min, row_max]`` with ``y_low <= r + 0.5 < y_high``."""
    lo = max(min(math.ceil(y_low - 0.5), row_max + 1.0), row_min - 1.0)
    hi = max(min(math.ceil(y_high - 0.5) - 1.0, row_max + 1.0), row_min - 1.0)
    r0 = int(lo)
    r1 = int(hi)
    # Correct the rounding of ``y - 0.5`` against the exact test GDAL performs.
    if (r0 - 1) + 0.5 >= y_low:
        r0 -= 1
    if r0 + 0.5 < y_low:
        r0 += 1
    if (r1 + 1) + 0.5 < y_high:
        r1 += 1
    if r1 + 0.5 >= y_high:
        r1 -= 1
    return max(r0, row_min), min(r1, row_max)


@kernel
def rings_clockwise(xy, ring_offsets):
    """OGR's ``isClockwise`` of every ring (on world coordinates, as GDAL judges it)."""
    n = ring_offsets.shape[0] - 1
    out = np.zeros(n, np.bool_)
    for r in range(n):
        a = ring_offsets[r]
        b = ring_offsets[r + 1]
        if b > a:
            out[r] = _is_clockwise(xy, a, b, _closed_len(xy, a, b))
    return out


@kernel
def fill_runs(xy, ring_offsets, ring_cw, height, width, starts, ends, n, row_lo=0,
               row_hi=-1):
    """Append GDAL's pixel-centre fill of the polygon as linear runs, row by row.

    ``ring_cw[r]`` is OGR's ``isClockwise`` of ring ``r`` (:func:`rings_clockwise`). GDAL
    judges it on world coordinates, before the geotransform; a north-up transform flips the
    y axis and with it the orientation, which decides whether a horizontal edge lying
    exactly on a scanline burns — so callers with a transform pass it in.

    Only rows ``row_lo <= row < row_hi`` are emitted (``row_hi=-1``: to the last row), so
    a band of the image can be painted on its own with the same pixels.
    """
    n_rings = ring_offsets.shape[0] - 1
    total = xy.shape[0]
    if total == 0 or height <= 0 or width <= 0:
        return starts, ends, n
    y_min = xy[0, 1]
    y_max = xy[0, 1]
    for i in range(1, total):
        y_min = min(y_min, xy[i, 1])
        y_max = max(y_max, xy[i, 1])
    # GDAL truncates toward zero (a C cast), then clamps to the raster.
    row_min = int(max(min(y_min, float(height)), -1.0))
    row_max = int(max(min(y_max, float(height)), -1.0))
    row_min = max(row_min, 0, row_lo)
    row_max = min(row_max, height - 1)
    if row_hi >= 0:
        row_max = min(row_max, row_hi - 1)
    if row_min > row_max:
        return starts, ends, n
    n_rows = row_max - row_min + 1

    # Pass 1: count crossings and horizontal spans per row (CSR layout).
    counts = np.zeros(n_rows + 1, np.int64)
    for r in range(n_rings):
        a = ring_offsets[r]
        b = ring_offsets[r + 1]
        m = _closed_len(xy, a, b)
        for k in range(1, m):
            p = _vertex(xy, a, b, k - 1)
            q = _vertex(xy, a, b, k)
            y1 = xy[p, 1]
            y2 = xy[q, 1]
            if y1 == y2:
                continue
            lo, hi = _crossing_rows(min(y1, y2), max(y1, y2), row_min, row_max)
            for row in range(lo, hi + 1):
                counts[row - row_min + 1] += 1
    for i in range(n_rows):
        counts[i + 1] += counts[i]
    crossings = np.empty(counts[n_rows], np.int64)
    fill_at = counts[:n_rows].copy()

    # Horizontal edges exactly on a scanline: burned when traversed right to left
    # (in the clockwise orientation OGR gives every ring).
    h_rows = np.empty(0, np.int64)
    h_a = np.empty(0, np.int64)
    h_b = np.empty(0, np.int64)
    n_h = 0

    # Pass 2: compute the crossings.
    for r in range(n_rings):
        a = ring_offsets[r]
        b = ring_offsets[r + 1]
        m = _closed_len(xy, a, b)
        clockwise = ring_cw[r]
        for k in range(1, m):
            p = _vertex(xy, a, b, k - 1)
            q = _vertex(xy, a, b, k)
            y1 = xy[p, 1]
            y2 = xy[q, 1]
            if y1 == y2:
                # On a scanline only if y1 - 0.5 is an integer row inside the range.
                yc = y1 - 0.5
                if yc != math.floor(yc) or yc < row_min or yc > row_max:
                    continue
                x_first = xy[p, 0] if clockwise else xy[q, 0]
                x_second = xy[q, 0] if clockwise else xy[p, 0]
                if x_first > x_second:
                    left = math.floor(x_second + 0.5)
                    right = math.floor(x_first + 0.5)
                    if left > width - 1 or right <= 0:
                        continue
                    if n_h == h_rows.shape[0]:
                        grow = 2 * n_h + 8
                        nr = np.empty(grow, np.int64)
                        na = np.empty(grow, np.int64)
                        nb = np.empty(grow, np.int64)
                        nr[:n_h] = h_rows[:n_h]
                        na[:n_h] = h_a[:n_h]
                        nb[:n_h] = h_b[:n_h]
                        h_rows = nr
                        h_a = na
                        h_b = nb
                    h_rows[n_h] = int(yc)
                    h_a[n_h] = max(left, 0)
                    h_b[n_h] = min(right, width)
                    n_h += 1
                continue
            if y1 < y2:
                x_low = xy[p, 0]
                y_low = y1
                x_high = xy[q, 0]
                y_high = y2
            else:
                x_low = xy[q, 0]
                y_low = y2
                x_high = xy[p, 0]
                y_high = y1
            lo, hi = _crossing_rows(y_low, y_high, row_min, row_max)
            for row in range(lo, hi + 1):
                yc = row + 0.5
                x = (yc - y_low) * (x_high - x_low) / (y_high - y_low) + x_low
                # Clamp far-away crossings: only their order and side matter.
                xr = math.floor(max(min(x, 4.0e18), -4.0e18) + 0.5)
                i = fill_at[row - row_min]
                crossings[i] = int(xr)
                fill_at[row - row_min] = i + 1

    # Horizontal spans sorted by row so each row can pick its own.
    if n_h > 1:
        order = np.argsort(h_rows[:n_h], kind="mergesort")
        h_rows = h_rows[:n_h][order]
        h_a = h_a[:n_h][order]
        h_b = h_b[:n_h][order]

    row_s = np.empty(16, np.int64)
    row_e = np.empty(16, np.int64)
    hi_idx = 0
    first_own = n  # merge only with runs this pass emitted
    for row in range(row_min, row_max + 1):
        c0 = counts[row - row_min]
        c1 = counts[row - row_min + 1]
        _insertion_sort(crossings, c0, c1)
        n_row = 0
        need = (c1 - c0) // 2 + 1
        while hi_idx < n_h and h_rows[hi_idx] < row:
            hi_idx += 1
        j = hi_idx
        while j < n_h and h_rows[j] == row:
            need += 1
            j += 1
        if need > row_s.shape[0]:
            row_s = np.empty(2 * need, np.int64)
            row_e = np.empty(2 * need, np.int64)
        i = c0
        while i + 1 < c1:
            left = crossings[i]
            right = crossings[i + 1]
            i += 2
            if left <= width - 1 and right > 0:
                left = max(left, 0)
                right = min(right, width)
                if left < right:
                    row_s[n_row] = left
                    row_e[n_row] = right
                    n_row += 1
        j = hi_idx
        while j < n_h and h_rows[j] == row:
            if h_a[j] < h_b[j]:
                row_s[n_row] = h_a[j]
                row_e[n_row] = h_b[j]
                n_row += 1
            j += 1
        if n_row == 0:
            continue
        _insertion_sort_pairs(row_s, row_e, n_row)
        base = row * width
        for t in range(n_row):
            s = base + row_s[t]
            e = base + row_e[t]
            if n > first_own and s <= ends[n - 1]:
                if e > ends[n - 1]:
                    ends[n - 1] = e
            else:
                if n == starts.shape[0]:
                    starts, ends = _grow(starts, ends, n)
                starts[n] = s
                ends[n] = e
                n += 1
    return starts, ends, n


# --------------------------------------------------------------------------- outlines


@kernel
def _near_boundary(v):
    return abs(v - math.floor(v + 0.5)) < _EPS_ON_BOUNDARY


@kernel
def _last_index(v):
    """Last pixel a row/column walk ending at ``v`` burns (GDAL backs the end off by 1e-4)."""
    return math.floor(v - _EPS_ON_BOUNDARY)


@kernel(inline="always")
def _walk(x0, y0, x1, slope, down, fh, width, n_pixels, direct, flat, value, p_lo, p_hi,
          starts, ends, n):
    """GDAL's all-touched walk, left to right, of one clipped segment (``down``: slope > 0).

    GDAL steps to the next column edge unless that leaves the pixel row, and then to the
    next row edge (at least 1e-9 on); the steps are GDAL's, in the float domain
    (``np.floor``, no int round trip on the dependency chain).  Each pixel is painted
    (``direct``) or appended as a one-pixel run; runs past the buffers' end are counted
    but not written, and the caller grows the buffers and walks the segment again.  The
    pixel code is written out here, not called: even an inlined call with array
    arguments costs reference-count updates on every pixel.  ``down`` and ``direct`` are
    compile-time constants at every call, so each case compiles to its own loop.
    """
    fn = float(n_pixels)
    while x0 >= 0.0 and x0 < x1:
        col = np.floor(x0)
        row_f = np.floor(y0)
        # Nothing further along can land in the image: stop walking.
        if col >= fn or (down and row_f >= fh) or (not down and row_f < 0.0):
            break
        if row_f >= 0.0 and row_f < fh:
            lin = int(row_f) * width + int(col)
            if direct:
                if p_lo <= lin < p_hi:
                    flat[lin] = value
                    n += 1
            elif lin < p_hi:
                if n < starts.shape[0]:
                    starts[n] = lin
                    ends[n] = lin + 1
                n += 1
        elif (down and row_f < -64.0) or (not down and row_f > fh + 64.0):
            # Still far outside the image (GDAL's clip can leave the walk there): skip
            # ahead to a few rows short of the first row that could be burned.
            target = -32.0 if down else fh + 32.0
            x0 += (target - y0) / slope
            y0 = target
            continue
        step_x = np.floor(x0 + 1.0) - x0
        step_y = step_x * slope
        if np.floor(y0 + step_y) == row_f:
            x0 += step_x
            y0 += step_y
            continue
        if down:
            step_y = (row_f + 1.0) - y0
            if step_y < 0.000000001:
                step_y = 0.000000001
        else:
            step_y = row_f - y0
            if step_y > -0.000000001:
                step_y = -0.000000001
        x0 += step_y / slope
        y0 += step_y
    return n


@kernel
def outline_runs(xy, ring_offsets, height, width, starts, ends, n, flat=None, value=0,
                  p_lo=0, p_hi=0):
    """The pixels GDAL's all-touched line walk burns for every ring segment.

    With ``flat`` (the output, flattened) the pixels in ``[p_lo, p_hi)`` are painted with
    ``value`` as the walk finds them, and ``n`` counts them: the walk emits millions of
    single pixels, and a run each costs more than the pixel.  Without it each pixel is
    appended to ``starts``/``ends`` as a one-pixel run.
    """
    direct = flat is not None  # a compile-time constant: each mode is its own kernel
    n_rings = ring_offsets.shape[0] - 1
    fh = float(height)
    fw = float(width)
    n_pixels = height * width
    if not direct:
        p_lo = 0
        p_hi = n_pixels
    for r in range(n_rings):
        a = ring_offsets[r]
        b = ring_offsets[r + 1]
        m = _closed_len(xy, a, b)
        for k in range(1, m):
            p = _vertex(xy, a, b, k - 1)
            q = _vertex(xy, a, b, k)
            x0 = xy[p, 0]
            y0 = xy[p, 1]
            x1 = xy[q, 0]
            y1 = xy[q, 1]
            if (y0 < 0 and y1 < 0) or (y0 > fh and y1 > fh):
                continue
            if (x0 < 0 and x1 < 0) or (x0 > fw and x1 > fw):
                continue
            if x0 > x1:
                x0, x1 = x1, x0
                y0, y1 = y1, y0

            # Column walk: both ends in one pixel column, or nearly vertical.
            if math.floor(x0) == math.floor(x1) or abs(x0 - x1) < 0.01:
                if _near_boundary(x0) and _near_boundary(x1):
                    continue
                if y1 < y0:
                    y0, y1 = y1, y0
                col = math.floor(x1)
                if col < 0 or col >= fw:
                    continue
                first = max(math.floor(y0), 0.0)
                last = min(_last_index(y1), fh - 1.0)
                if not direct and n + int(last) - int(first) + 1 > starts.shape[0]:
                    starts, ends = _grow(starts, ends, n, 2 * (n + int(last) - int(first)) + 16)
                for row in range(int(first), int(last) + 1):
                    lin = row * width + col
                    if direct:
                        if p_lo <= lin < p_hi:
                            flat[lin] = value
                            n += 1
                    else:
                        starts[n] = lin
                        ends[n] = lin + 1
                        n += 1
                continue

            # Row walk: both ends in one pixel row, or nearly horizontal.
            if math.floor(y0) == math.floor(y1) or abs(y0 - y1) < 0.01:
                if _near_boundary(y0) and _near_boundary(y1):
                    continue
                row_f = math.floor(y0)
                if row_f < 0 or row_f >= fh:
                    continue
                first = max(math.floor(x0), 0.0)
                last = min(_last_index(x1), fw - 1.0)
                if first > last:
                    continue
                base = int(row_f) * width
                if direct:
                    for lin in range(max(base + int(first), p_lo),
                                     min(base + int(last) + 1, p_hi)):
                        flat[lin] = value
                        n += 1
                else:
                    if n == starts.shape[0]:
                        starts, ends = _grow(starts, ends, n)
                    starts[n] = base + int(first)
                    ends[n] = base + int(last) + 1
                    n += 1
                continue

            # General case, left to right, with GDAL's clipping arithmetic.
            slope = (y1 - y0) / (x1 - x0)
            if x1 > fw:
                y1 -= (x1 - fw) * slope
                x1 = fw
            if x0 < 0:
                y0 += (0.0 - x0) * slope
                x0 = 0.0
            if y1 > y0:
                if y0 < 0:
                    x0 += (0.0 - y0) / slope
                    y0 = 0.0
                if y1 >= fh:
                    x1 += (y1 - fh) / slope
            else:
                if y0 >= fh:
                    x0 += (fh - y0) / slope
                    y0 = fh
                if y1 < 0:
                    x1 -= (y1 - 0.0) / slope
            # Not nearly horizontal, so slope != 0.  Without ``direct`` the segment is
            # walked again after growing the buffers if its runs did not fit.  (``down`` is
            # passed as a constant: each slope sign compiles to its own loop.)
            n0 = n
            while True:
                if slope > 0:
                    n = _walk(x0, y0, x1, slope, True, fh, width, n_pixels, direct, flat,
                              value, p_lo, p_hi, starts, ends, n0)
                else:
                    n = _walk(x0, y0, x1, slope, False, fh, width, n_pixels, direct, flat,
                              value, p_lo, p_hi, starts, ends, n0)
                if direct or n <= starts.shape[0]:
                    break
                starts, ends = _grow(starts, ends, n0, 2 * n + 16)
    return starts, ends, n


# --------------------------------------------------------------------------- public kernels


@kernel
def polygon_runs_center(xy, ring_offsets, height, width):
    """Runs of ``rasterize(..., all_touched=False)`` for one polygon (see module docs)."""
    cap = 2 * height + 16
    starts = np.empty(cap, np.int64)
    ends = np.empty(cap, np.int64)
    starts, ends, n = fill_runs(xy, ring_offsets, rings_clockwise(xy, ring_offsets), height,
                                 width, starts, ends, 0)
    return starts[:n].copy(), ends[:n].copy()


@kernel
def polygon_runs_all_touched(xy, ring_offsets, height, width):
    """Runs of ``rasterize(..., all_touched=True)`` for one polygon (see module docs)."""
    cap = 2 * height + 4 * xy.shape[0] + 16
    starts = np.empty(cap, np.int64)
    ends = np.empty(cap, np.int64)
    n = 0
    if height > 0 and width > 0:
        starts, ends, n = outline_runs(xy, ring_offsets, height, width, starts, ends, n)
    starts, ends, n = fill_runs(xy, ring_offsets, rings_clockwise(xy, ring_offsets), height,
                                 width, starts, ends, n)
    return _merge_runs(starts, ends, n)
