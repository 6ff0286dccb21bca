"""Kernels for painting many georeferenced polygons into one label map (private: no checks).

The polygons arrive already in pixel coordinates (the caller applied the inverse
geotransform exactly as GDAL does), packed as ``xy`` (n, 2) float64 with ``ring_offsets``
(ring ``r`` is ``xy[ring_offsets[r]:ring_offsets[r + 1]]``) and ``poly_rings`` (polygon
``i`` is rings ``poly_rings[i]:poly_rings[i + 1]``: its exterior, then its holes).  The run
buffers of :mod:`maskkit._kernels.scanline` are reused from one polygon to the next, so
10000 polygons cost 10000 scanline passes and no per-polygon allocation of image size.
"""

from __future__ import annotations

import numpy as np

from maskkit._jit import kernel
from maskkit._kernels.scanline import (
    _fill_runs,
    _outline_runs,
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
        starts, ends, n = _fill_runs(pts, offs, cw, h, w, starts, ends, n)
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
