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

from maskkit._jit import kernel, parallel_kernel, prange
from maskkit._kernels.scanline import (
    fill_runs,
    outline_runs,
)


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
        starts, ends, hit = _paint_polygon(pts, offs, cw, h, w, flat, values[i], all_touched,
                                           0, h, starts, ends)
        if hit:
            burned += 1
    return burned


@parallel_kernel
def paint_polygons_bands(out, xy, ring_offsets, ring_cw, poly_rings, values, all_touched,
                         n_bands):
    """:func:`paint_polygons_rowmajor` split into ``n_bands`` horizontal bands painted in
    parallel.

    Each band paints, in order, every polygon whose rows reach it, emitting only its own
    rows (the fill is computed for those rows only; outline pixels are clipped to the
    band), so the result is pixel for pixel the serial one: within a band later polygons
    still overwrite earlier ones, and bands share no pixel.  Returns the number of
    polygons that burned at least one pixel.
    """
    h = out.shape[0]
    w = out.shape[1]
    n_poly = poly_rings.shape[0] - 1
    n_bands = max(1, min(n_bands, h))
    # each polygon's pixel rows (a row of margin for the outline walk's rounding)
    lo_row = np.empty(n_poly, np.int64)
    hi_row = np.empty(n_poly, np.int64)
    for i in range(n_poly):
        a = ring_offsets[poly_rings[i]]
        b = ring_offsets[poly_rings[i + 1]]
        y0 = np.inf
        y1 = -np.inf
        for k in range(a, b):
            y0 = min(y0, xy[k, 1])
            y1 = max(y1, xy[k, 1])
        if b <= a or not (y1 >= -1.0 and y0 <= h + 1.0):
            lo_row[i] = h + 2
            hi_row[i] = -2
        else:
            lo_row[i] = math.floor(max(y0, -1.0)) - 1
            hi_row[i] = math.floor(min(y1, h + 1.0)) + 1
    burned_by = np.zeros(n_poly, np.uint8)
    flat = out.reshape(-1)
    for band in prange(n_bands):
        r0 = band * h // n_bands
        r1 = (band + 1) * h // n_bands
        cap = 4 * (r1 - r0) + 64
        starts = np.empty(cap, np.int64)
        ends = np.empty(cap, np.int64)
        for i in range(n_poly):
            if hi_row[i] < r0 or lo_row[i] >= r1:
                continue
            q0 = poly_rings[i]
            q1 = poly_rings[i + 1]
            a = ring_offsets[q0]
            b = ring_offsets[q1]
            pts = xy[a:b]
            offs = ring_offsets[q0 : q1 + 1] - a
            starts, ends, hit = _paint_polygon(pts, offs, ring_cw[q0:q1], h, w, flat, values[i],
                                               all_touched, r0, r1, starts, ends)
            if hit:
                burned_by[i] = 1
    return int(burned_by.sum())


@kernel(inline="always")
def _paint_polygon(pts, offs, cw, h, w, flat, v, all_touched, r0, r1, starts, ends):
    """Burn one polygon with ``v`` into rows ``r0:r1`` of the flat ``(h, w)`` map.

    Returns the (maybe grown) run buffers and whether a pixel was written.  Painting a
    pixel twice with one value is harmless, so outline and fill runs are not merged.
    """
    p_lo = r0 * w
    p_hi = r1 * w
    hit = False
    if all_touched:  # outline pixels are painted as the walk finds them
        _, _, painted = outline_runs(pts, offs, h, w, starts, ends, 0, flat, v, p_lo, p_hi)
        hit = painted > 0
    starts, ends, n = fill_runs(pts, offs, cw, h, w, starts, ends, 0, r0, r1)
    for k in range(n):
        s = max(starts[k], p_lo)
        e = min(ends[k], p_hi)
        if e - s <= 8:  # outline-sized runs: a slice per run would cost more
            for p in range(s, e):
                flat[p] = v
                hit = True
        else:
            flat[s:e] = v
            hit = True
    return starts, ends, hit
