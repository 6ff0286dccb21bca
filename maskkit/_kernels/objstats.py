"""Per-object pixel area and bounding box of many COCO polygon objects in one call."""

from __future__ import annotations

import numpy as np

from maskkit._jit import kernel
from maskkit._kernels.coco import polygon_runs


@kernel
def polygon_object_stats(xy, ring_offsets, obj_rings, h, w):
    """``(area, bbox)`` per object: its pixel count under COCO's rule and its
    ``[x, y, width, height]`` (zeros for an empty object), as pycocotools' area/toBbox.

    ``obj_rings[k]..obj_rings[k + 1]`` are object ``k``'s rings in ``ring_offsets``; runs
    are column-major (``p = col * h + row``), so a run that reaches into the next column
    covers every row.
    """
    n = obj_rings.size - 1
    area = np.zeros(n, np.int64)
    bbox = np.zeros((n, 4), np.int64)
    for k in range(n):
        if obj_rings[k + 1] == obj_rings[k]:
            continue
        s, e = polygon_runs(xy, ring_offsets, obj_rings[k], obj_rings[k + 1], h, w)
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
