"""Kernels for painting many georeferenced polygons into one label map (private: no checks).

The polygons arrive already in pixel coordinates (the caller applied the inverse
geotransform exactly as GDAL does), packed as ``xy`` (n, 2) float64 with ``ring_offsets``
(ring ``r`` is ``xy[ring_offsets[r]:ring_offsets[r + 1]]``) and ``poly_rings`` (polygon
``i`` is rings ``poly_rings[i]:poly_rings[i + 1]``: its exterior, then its holes).  The run
buffers of :mod:`maskkit._kernels.scanline` are reused from one polygon to the next, so
10000 polygons cost 10000 scanline passes and no per-polygon allocation of image size.
"""

from __future__ import annotations

import math

import numpy as np

from maskkit._jit import kernel
from maskkit._kernels.scanline import (
    _closed_len,
    _crossing_rows,
    _grow,
    _insertion_sort,
    _insertion_sort_pairs,
    _is_clockwise,
    _outline_runs,
    _vertex,
)


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
def fill_runs_oriented(xy, ring_offsets, ring_cw, height, width, starts, ends, n):
    """``scanline._fill_runs`` with each ring's orientation given, not computed.

    GDAL decides a ring's orientation (OGR's ``isClockwise``) on the world coordinates,
    before the geotransform maps them to pixels; a north-up transform flips the y axis and
    with it the orientation, which decides whether a horizontal edge lying exactly on a
    scanline burns.  ``ring_cw[r]`` is True when ring ``r`` as stored is GDAL's traversal
    order.  Everything else is the scanline module's code, unchanged.
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
    row_min = max(row_min, 0)
    row_max = min(row_max, height - 1)
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




@kernel
def to_pixel(xy, inv):
    """World ``(x, y)`` -> pixel ``(col, row)`` with GDAL's arithmetic and evaluation order.

    ``inv`` is the inverse geotransform in GDAL order; GDAL computes
    ``inv[0] + x * inv[1] + y * inv[2]`` left to right, and so does this (no fused
    multiply-add: ``fastmath`` is off).
    """
    out = np.empty_like(xy)
    for i in range(xy.shape[0]):
        x = xy[i, 0]
        y = xy[i, 1]
        out[i, 0] = inv[0] + x * inv[1] + y * inv[2]
        out[i, 1] = inv[3] + x * inv[4] + y * inv[5]
    return out


@kernel
def paint_polygons_rowmajor(out, xy, ring_offsets, ring_cw, poly_rings, values, all_touched):
    """Burn polygon ``i`` (even-odd over its rings) with ``values[i]``, in order.

    ``out`` is a C-contiguous (H, W) array; later polygons overwrite earlier ones, as
    GDAL's ``MERGE_ALG=REPLACE`` does.  Returns the number of polygons that burned at
    least one pixel.
    """
    h = out.shape[0]
    w = out.shape[1]
    hw = h * w
    flat = out.reshape(-1)
    cap = 4 * h + 64
    starts = np.empty(cap, np.int64)
    ends = np.empty(cap, np.int64)
    burned = 0
    for i in range(poly_rings.shape[0] - 1):
        r0 = poly_rings[i]
        r1 = poly_rings[i + 1]
        if r1 <= r0:
            continue
        a = ring_offsets[r0]
        b = ring_offsets[r1]
        pts = xy[a:b]
        offs = ring_offsets[r0 : r1 + 1] - a
        cw = ring_cw[r0:r1]
        n = 0
        if all_touched:
            starts, ends, n = _outline_runs(pts, offs, h, w, starts, ends, n)
        starts, ends, n = fill_runs_oriented(pts, offs, cw, h, w, starts, ends, n)
        v = values[i]
        # painting a pixel twice with one value is harmless: no merge of the runs needed
        for k in range(n):
            s = max(starts[k], 0)
            e = min(ends[k], hw)
            if e - s <= 8:
                # outline pixels come one by one: a slice per pixel would cost more
                for p in range(s, e):
                    flat[p] = v
            else:
                flat[s:e] = v
        if n > 0:
            burned += 1
    return burned
