"""Private Numba kernels for the panoptic tools and PQ.

Typed arrays in, arrays out, no validation: the public functions in
:mod:`maskkit.datasets.panoptic` and :mod:`maskkit.datasets.pq` check shapes, dtypes and ranges first.  Every
index that comes from data (segment ids, run bounds, labels) is still clamped or looked up
so that hostile input cannot make a kernel write out of bounds.

Segment lookup
--------------
Panoptic id maps hold a few dozen distinct 24-bit ids.  Kernels map an id to its position
in a sorted array of known ids by binary search, but first compare with the previous
pixel's id: neighbouring pixels almost always share a segment, so the search runs rarely.
Index convention of every per-segment table: ``0`` = VOID (id 0), ``1..n`` = the known
ids in sorted order, ``n + 1`` = any other (unknown) id.
"""

from __future__ import annotations

import numpy as np

from maskkit._jit import kernel
from maskkit._kernels.rle import encode_count
from maskkit.errors import InvalidInputError, MaskkitTypeError

# ---------------------------------------------------------------------------- helpers


@kernel
def _lookup(sorted_ids, value):
    """Table index of ``value``: 0 for VOID, 1 + position if known, n + 1 if unknown."""
    if value == 0:
        return 0
    n = sorted_ids.shape[0]
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) >> 1
        if sorted_ids[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    if lo < n and sorted_ids[lo] == value:
        return lo + 1
    return n + 1


# ---------------------------------------------------------------------------- RGB <-> id


@kernel
def rgb_to_id(rgb):
    """(H, W, 3) uint8 -> (H, W) uint32 with id = R + 256 G + 256² B."""
    h, w = rgb.shape[0], rgb.shape[1]
    out = np.empty((h, w), dtype=np.uint32)
    for i in range(h):
        for j in range(w):
            out[i, j] = (
                np.uint32(rgb[i, j, 0])
                | (np.uint32(rgb[i, j, 1]) << 8)
                | (np.uint32(rgb[i, j, 2]) << 16)
            )
    return out


@kernel
def id_to_rgb(ids):
    """(H, W) uint32 ids below 2**24 -> (H, W, 3) uint8."""
    h, w = ids.shape[0], ids.shape[1]
    out = np.empty((h, w, 3), dtype=np.uint8)
    for i in range(h):
        for j in range(w):
            v = ids[i, j]
            out[i, j, 0] = v & 0xFF
            out[i, j, 1] = (v >> 8) & 0xFF
            out[i, j, 2] = (v >> 16) & 0xFF
    return out


# ---------------------------------------------------------------------------- statistics


@kernel
def segment_stats(ids, sorted_ids):
    """Area and bounding box of every known segment of an (H, W) id map.

    Returns ``(area, box)``: ``area`` int64 (n + 2,) by table index, ``box`` int64
    (n + 2, 4) as (row_min, row_max, col_min, col_max), ``-1`` rows for absent segments.
    """
    h, w = ids.shape[0], ids.shape[1]
    n = sorted_ids.shape[0]
    area = np.zeros(n + 2, dtype=np.int64)
    box = np.full((n + 2, 4), -1, dtype=np.int64)
    prev = np.uint32(0)
    k = 0
    for i in range(h):
        for j in range(w):
            v = ids[i, j]
            if v != prev or (i == 0 and j == 0):
                k = _lookup(sorted_ids, v)
                prev = v
            area[k] += 1
            if box[k, 0] < 0:
                box[k, 0] = i
                box[k, 1] = i
                box[k, 2] = j
                box[k, 3] = j
            else:
                box[k, 1] = i  # rows are visited in order
                if j < box[k, 2]:
                    box[k, 2] = j
                if j > box[k, 3]:
                    box[k, 3] = j
    return area, box


@kernel
def pq_table_rgb(gt_rgb, pred_rgb, gt_sorted, pred_sorted):
    """Intersection table of two RGB-id panoptic PNGs in one pass over the pixels.

    ``table[g, p]`` counts pixels whose ground-truth id has table index ``g`` and whose
    predicted id has index ``p`` (see the module docstring).  Also returns one unknown
    predicted id (0 if none) so the caller can name it.
    """
    h, w = gt_rgb.shape[0], gt_rgb.shape[1]
    ng = gt_sorted.shape[0]
    npred = pred_sorted.shape[0]
    table = np.zeros((ng + 2, npred + 2), dtype=np.int64)
    # flat views and unsigned indices: no per-access negative-index wraparound
    g_flat = gt_rgb.reshape(h * w * 3)
    p_flat = pred_rgb.reshape(h * w * 3)
    one = np.uint64(1)
    two = np.uint64(2)
    three = np.uint64(3)
    # ids are below 2**24, so the first pixel always starts a new run (of the empty
    # (0, 0) run before it)
    prev_g = np.uint32(0xFFFFFFFF)
    prev_p = np.uint32(0xFFFFFFFF)
    kg = 0
    kp = 0
    run = np.int64(0)
    unknown_pred = np.uint32(0)
    for k in range(np.uint64(h * w)):
        i = k * three
        g = np.uint32(g_flat[i]) | (np.uint32(g_flat[i + one]) << 8) \
            | (np.uint32(g_flat[i + two]) << 16)
        p = np.uint32(p_flat[i]) | (np.uint32(p_flat[i + one]) << 8) \
            | (np.uint32(p_flat[i + two]) << 16)
        if g != prev_g or p != prev_p:
            # flush the run of equal (gt, pred) pairs before looking up the new pair
            table[kg, kp] += run
            run = 0
            if g != prev_g:
                kg = _lookup(gt_sorted, g)
                prev_g = g
            if p != prev_p:
                kp = _lookup(pred_sorted, p)
                prev_p = p
                if kp == npred + 1:
                    unknown_pred = p
        run += 1
    table[kg, kp] += run
    return table, unknown_pred


@kernel
def map_ids(ids, sorted_ids, values, void_value, out):
    """``out[i, j] = values[index - 1]`` for known ids, ``void_value`` for id 0.

    Unknown ids also get ``void_value``; the first one met is returned (0 if none).
    """
    h, w = ids.shape[0], ids.shape[1]
    n = sorted_ids.shape[0]
    unknown = np.uint32(0)
    prev = np.uint32(0)
    k = 0
    for i in range(h):
        for j in range(w):
            v = ids[i, j]
            if v != prev or (i == 0 and j == 0):
                k = _lookup(sorted_ids, v)
                prev = v
                if k == n + 1 and unknown == 0:
                    unknown = v
            if k == 0 or k == n + 1:
                out[i, j] = void_value
            else:
                out[i, j] = values[k - 1]
    return unknown


# ---------------------------------------------------------------------------- runs and RLE


@kernel
def column_runs(flat):
    """Runs of equal non-zero ids along a column-major flattened id map.

    Returns ``(run_ids, starts, ends)`` with half-open ``[start, end)`` linear indices.
    """
    n = flat.shape[0]
    count = 0
    prev = np.uint32(0)
    for p in range(n):
        v = flat[p]
        if v != prev:
            if v != 0:
                count += 1
            prev = v
    run_ids = np.empty(count, dtype=np.uint32)
    starts = np.empty(count, dtype=np.int64)
    ends = np.empty(count, dtype=np.int64)
    r = -1
    prev = np.uint32(0)
    for p in range(n):
        v = flat[p]
        if v != prev:
            if r >= 0 and ends[r] < 0:
                ends[r] = p
            if v != 0:
                r += 1
                run_ids[r] = v
                starts[r] = p
                ends[r] = -1
            prev = v
    if r >= 0 and ends[r] < 0:
        ends[r] = n
    return run_ids, starts, ends


@kernel
def encode_segment_runs(starts, ends, seg_offsets, height, n_pixels):
    """COCO compressed-RLE strings, areas and boxes of many segments from their runs.

    Segment ``s`` owns runs ``seg_offsets[s]:seg_offsets[s + 1]`` (sorted, disjoint,
    inside ``[0, n_pixels)``).  Counts alternate zeros/ones starting with zeros and end
    with the last run (trailing zeros included), exactly as pycocotools' ``rleEncode``;
    each count after the second is stored as the difference to the count two before, as
    in ``rleToString``.  Returns ``(buf, buf_offsets, area, box)``, ``box`` rows as
    (row_min, row_max, col_min, col_max).
    """
    n_seg = seg_offsets.shape[0] - 1
    # each count needs at most 13 characters (64-bit value, 5 bits per character)
    cap = 0
    for s in range(n_seg):
        cap += (2 * (seg_offsets[s + 1] - seg_offsets[s]) + 2) * 13
    buf = np.empty(cap, dtype=np.uint8)
    buf_offsets = np.zeros(n_seg + 1, dtype=np.int64)
    area = np.zeros(n_seg, dtype=np.int64)
    box = np.full((n_seg, 4), -1, dtype=np.int64)
    pos = 0
    for s in range(n_seg):
        a = seg_offsets[s]
        b = seg_offsets[s + 1]
        i = 0  # index of the count being written
        c2 = np.int64(0)  # count two before
        c1 = np.int64(0)  # previous count
        cursor = np.int64(0)
        rmin = height
        rmax = np.int64(-1)
        cmin = np.int64(-1)
        cmax = np.int64(-1)
        total = np.int64(0)
        for r in range(a, b):
            st = starts[r]
            en = ends[r]
            for cnt in (st - cursor, en - st):
                x = cnt
                if i > 2:
                    x = cnt - c2
                pos = encode_count(buf, pos, x)
                c2 = c1
                c1 = cnt
                i += 1
            cursor = en
            total += en - st
            col0 = st // height
            col1 = (en - 1) // height
            if cmin < 0:
                cmin = col0
            cmax = col1
            if col1 > col0:
                rmin = 0
                rmax = height - 1
            else:
                r0 = st - col0 * height
                r1 = en - 1 - col0 * height
                if r0 < rmin:
                    rmin = r0
                if r1 > rmax:
                    rmax = r1
        if cursor < n_pixels or i == 0:
            cnt = n_pixels - cursor
            x = cnt
            if i > 2:
                x = cnt - c2
            pos = encode_count(buf, pos, x)
        buf_offsets[s + 1] = pos
        area[s] = total
        if total > 0:
            box[s, 0] = rmin
            box[s, 1] = rmax
            box[s, 2] = cmin
            box[s, 3] = cmax
    return buf[:pos], buf_offsets, area, box


@kernel
def paint_runs_if_free(flat, starts, ends, value, overlap_threshold):
    """Panoptic-FPN rule for one instance on a column-major flat id map.

    Counts the instance's pixels (``area``) and those already taken (non-zero); when
    ``area`` is 0 or ``taken / area > overlap_threshold`` nothing is painted; otherwise the
    free pixels get ``value``.  Returns ``(area, taken, painted)``.
    """
    n = flat.shape[0]
    area = np.int64(0)
    taken = np.int64(0)
    for r in range(starts.shape[0]):
        a = max(starts[r], 0)
        b = min(ends[r], n)
        for p in range(a, b):
            area += 1
            if flat[p] != 0:
                taken += 1
    if area == 0 or taken / area > overlap_threshold:
        return area, taken, np.int64(0)
    painted = np.int64(0)
    for r in range(starts.shape[0]):
        a = max(starts[r], 0)
        b = min(ends[r], n)
        for p in range(a, b):
            if flat[p] == 0:
                flat[p] = value
                painted += 1
    return area, taken, painted


@kernel
def paint_runs(flat, starts, ends, value, only_free, cover):
    """Paint runs on a column-major flat map (over everything, or only on zeros).

    When ``cover`` is non-empty, it counts (saturating at 255) how many painted runs
    covered each pixel.  Returns the number of pixels in the runs.
    """
    n = flat.shape[0]
    count_cover = cover.shape[0] == n
    area = np.int64(0)
    for r in range(starts.shape[0]):
        a = max(starts[r], 0)
        b = min(ends[r], n)
        for p in range(a, b):
            area += 1
            if only_free and flat[p] != 0:
                continue
            flat[p] = value
            if count_cover and cover[p] < 255:
                cover[p] += 1
    return area


@kernel
def free_label_counts(labels, pan, n_labels):
    """Per label, pixels of an (H, W) label map that are still 0 in ``pan``."""
    h, w = labels.shape[0], labels.shape[1]
    counts = np.zeros(n_labels, dtype=np.int64)
    for i in range(h):
        for j in range(w):
            if pan[i, j] == 0:
                v = labels[i, j]
                if v >= 0 and v < n_labels:
                    counts[v] += 1
    return counts


@kernel
def paint_free_labels(labels, pan, label_to_id):
    """``pan[i, j] = label_to_id[labels[i, j]]`` where ``pan`` is still 0."""
    h, w = labels.shape[0], labels.shape[1]
    n = label_to_id.shape[0]
    for i in range(h):
        for j in range(w):
            if pan[i, j] == 0:
                v = labels[i, j]
                if v >= 0 and v < n:
                    pan[i, j] = label_to_id[v]


@kernel
def two_channel_keys(arr, void_category):
    """(H, W, C>=2) category/instance -> (H, W) int64 key cat * 256 + inst, -1 for VOID."""
    h, w = arr.shape[0], arr.shape[1]
    out = np.empty((h, w), dtype=np.int64)
    for i in range(h):
        for j in range(w):
            c = np.int64(arr[i, j, 0])
            if c == void_category:
                out[i, j] = -1
            else:
                out[i, j] = c * 65536 + np.int64(arr[i, j, 1])
    return out


#: Largest segment id an RGB PNG can hold.
MAX_SEGMENT_ID = (1 << 24) - 1


def as_id_map(arr, name: str, *, source=None) -> np.ndarray:
    """Validate an (H, W) integer id map and return it as C-contiguous uint32."""
    arr = np.asarray(arr)
    if arr.ndim != 2:
        raise InvalidInputError(
            f"{name} must be 2-D (H, W); got shape {arr.shape}", source=source
        )
    if arr.dtype.kind not in "uib":
        raise MaskkitTypeError(
            f"{name} must be an integer array; got dtype {arr.dtype}", source=source
        )
    if arr.dtype != np.uint32 and arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > MAX_SEGMENT_ID:
            raise InvalidInputError(
                f"{name} must hold ids in 0..{MAX_SEGMENT_ID} (24 bits, to fit an RGB PNG); "
                f"got range {lo}..{hi}",
                source=source,
            )
    elif arr.size and int(arr.max()) > MAX_SEGMENT_ID:
        raise InvalidInputError(
            f"{name} must hold ids in 0..{MAX_SEGMENT_ID}; got max {int(arr.max())}",
            source=source,
        )
    return np.ascontiguousarray(arr, dtype=np.uint32)

