"""Kernels of the tiled labelling in :mod:`maskkit.datasets.tiled`: per-tile summaries, the merge of
components across tile borders (union-find over global labels), and the final roots."""

from __future__ import annotations

import numpy as np

from maskkit._jit import kernel
from maskkit._kernels.ccl import find


@kernel
def tile_summary(bounds, values, runlab, final, row_first, row_count, th, tw, n, binary):
    """Per local label: area, value, first pixel (tile raster index); and the labels on
    the tile's four edges."""
    area = np.zeros(n + 1, np.int64)
    value = np.zeros(n + 1, np.int64)
    first = np.full(n + 1, -1, np.int64)
    top = np.zeros(tw, np.int64)
    bottom = np.zeros(tw, np.int64)
    left = np.zeros(th, np.int64)
    right = np.zeros(th, np.int64)
    for r in range(th):
        a0 = row_first[r]
        for i in range(a0, a0 + row_count[r]):
            s = bounds[2 * i]
            e = bounds[2 * i + 1]
            lab = final[runlab[i]]
            area[lab] += e - s
            if not binary:
                value[lab] = values[i]
            if first[lab] < 0:
                first[lab] = r * tw + s
            if r == 0:
                top[s:e] = lab
            if r == th - 1:
                bottom[s:e] = lab
            if s == 0:
                left[r] = lab
            if e == tw:
                right[r] = lab
    return area, value, first, top, bottom, left, right


@kernel
def merge_lines(a, b, diag, binary, value, parent):
    """Union the components of touching pixels of two adjacent lines of global labels."""
    m = a.shape[0]
    for i in range(m):
        la = a[i]
        if la == 0:
            continue
        for j in range(max(i - diag, 0), min(i + diag + 1, m)):
            lb = b[j]
            if lb == 0 or (not binary and value[la] != value[lb]):
                continue
            ra = find(parent, la)
            rb = find(parent, lb)
            if ra < rb:
                parent[rb] = ra
            elif rb < ra:
                parent[ra] = rb


@kernel
def resolve(parent, area, first, total):
    """Root of every label; the root's summed area and smallest first-pixel index."""
    root_area = np.zeros(total + 1, np.int64)
    root_first = np.full(total + 1, np.iinfo(np.int64).max, np.int64)
    roots = np.zeros(total + 1, np.int64)
    for i in range(1, total + 1):
        r = find(parent, i)
        roots[i] = r
        root_area[r] += area[i]
        root_first[r] = min(root_first[r], first[i])
    return roots, root_area, root_first
