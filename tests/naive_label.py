"""Naive reference implementations for :mod:`maskkit.core.label` and :mod:`maskkit.core.count`.

Slow, obvious Python: a breadth-first flood fill started at every unlabelled foreground
pixel in raster order (so labels come out in raster order), per-label statistics from
``np.nonzero``, and counting by a loop over classes.
"""

from __future__ import annotations

from collections import deque
from itertools import product

import numpy as np
import scipy.ndimage as ndi


def offsets(ndim: int, connectivity: int) -> list[tuple[int, ...]]:
    """Neighbour offsets: those with at most ``order`` non-zero coordinates."""
    order = {4: 1, 8: 2, 6: 1, 18: 2, 26: 3}[connectivity]
    return [
        d for d in product((-1, 0, 1), repeat=ndim) if any(d) and sum(abs(v) for v in d) <= order
    ]


def structure(ndim: int, connectivity: int) -> np.ndarray:
    """The ``scipy.ndimage`` structuring element of a connectivity."""
    order = {4: 1, 8: 2, 6: 1, 18: 2, 26: 3}[connectivity]
    return ndi.generate_binary_structure(ndim, order)


def bfs_label(image, connectivity, *, binary=False, background=0):
    """Label by breadth-first search from each new foreground pixel in raster order."""
    image = np.asarray(image)
    labels = np.zeros(image.shape, np.int64)
    steps = offsets(image.ndim, connectivity)
    n = 0
    for start in np.ndindex(*image.shape):
        if image[start] == background or labels[start]:
            continue
        n += 1
        labels[start] = n
        value = image[start]
        queue = deque([start])
        while queue:
            p = queue.popleft()
            for d in steps:
                q = tuple(a + b for a, b in zip(p, d, strict=True))
                if not all(0 <= c < s for c, s in zip(q, image.shape, strict=True)):
                    continue
                if labels[q] or image[q] == background:
                    continue
                if not binary and image[q] != value:
                    continue
                labels[q] = n
                queue.append(q)
    return labels, n


def raster_canonical(labels) -> np.ndarray:
    """Renumber a label image 1..N in raster order of each label's first pixel."""
    labels = np.asarray(labels)
    ids, first, inverse = np.unique(labels.ravel(), return_index=True, return_inverse=True)
    # the background (0) ranks first, the other ids by their first pixel
    order = np.argsort(np.where(ids == 0, -1, first), kind="stable")
    rank = np.empty(ids.size, np.int64)
    rank[order] = np.arange(ids.size)
    has_background = ids.size > 0 and ids[0] == 0
    return (rank[inverse] + (0 if has_background else 1)).reshape(labels.shape)


def naive_stats(labels):
    """(area, bbox, centroid) per label 0..max, background included, from np.nonzero."""
    labels = np.asarray(labels)
    n = int(labels.max()) if labels.size else 0
    area = np.zeros(n + 1, np.int64)
    bbox = np.zeros((n + 1, 2 * labels.ndim), np.int64)
    centroid = np.full((n + 1, labels.ndim), np.nan)
    for lab in range(n + 1):
        coords = np.nonzero(labels == lab)
        if coords[0].size == 0:
            continue
        area[lab] = coords[0].size
        bbox[lab] = [c.min() for c in coords] + [c.max() + 1 for c in coords]
        centroid[lab] = [c.mean() for c in coords]
    return area, bbox, centroid


def naive_count_semantic(mask, connectivity, min_area, ignore):
    """{class: (count, area)} by labelling each class separately with scipy."""
    mask = np.asarray(mask)
    st = structure(mask.ndim, connectivity)
    table = {}
    for c in np.unique(mask):
        c = int(c)
        if c == 0 or c in ignore:
            continue
        lab, _ = ndi.label(mask == c, st)
        sizes = np.bincount(lab.ravel())[1:]
        table[c] = (int((sizes >= min_area).sum()), int((mask == c).sum()))
    return table
