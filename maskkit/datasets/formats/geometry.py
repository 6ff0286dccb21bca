"""Geometry conversions between what formats can hold: arrays in, arrays out, no files.

Every rasterisation goes through maskkit's COCO rasteriser (``polygon_to_rle``,
pixel-exact with pycocotools); every polygon made from pixels is traced along pixel
edges (``trace_outlines``), so it rasterises back to the same pixels.
"""

from __future__ import annotations

import numpy as np

from maskkit.core.annotations import trace_outlines
from maskkit.core.rasterize import COORD_LIMIT, polygon_to_rle, segmentation_runs
from maskkit.core.rle import rle_area, rle_decode, rle_encode, rle_to_bbox
from maskkit.errors import InvalidInputError, MaskkitError

__all__ = [
    "area_bbox", "areas_bboxes", "as_rle", "crop_of", "gather_parts", "join_arrays", "join_many", "join_rings",
    "mask_iou", "outline_parts", "polygon_arrays", "polygon_parts", "polygon_stats",
    "polygons_json", "polygons_text", "rle_stats", "runs_iou", "single_ring", "stats_arrays",
    "yolo_numbers",
]


def polygon_parts(seg) -> list[list[float]] | None:
    """The polygon parts of a COCO polygon segmentation, None for an RLE.

    Examples
    --------
    >>> polygon_parts([[0, 0, 4, 0, 4, 4]]), polygon_parts({"size": [1, 1], "counts": "1"})
    ([[0, 0, 4, 0, 4, 4]], None)
    """
    if isinstance(seg, dict):
        return None
    return [list(p) for p in seg]


def as_rle(seg, height: int, width: int) -> dict:
    """Compressed COCO RLE of a geometry (polygons rasterised by COCO's rule).

    Examples
    --------
    >>> as_rle([[1, 1, 4, 1, 4, 3, 1, 3]], 4, 5)
    {'size': [4, 5], 'counts': '5220003'}
    """
    if isinstance(seg, dict):
        if isinstance(seg.get("counts"), (str, bytes)):
            counts = seg["counts"]
            return {"size": [int(v) for v in seg["size"]],
                    "counts": counts.decode() if isinstance(counts, bytes) else counts}
        return rle_encode(rle_decode(seg))
    return polygon_to_rle(seg, height, width)


def merge_parts(parts: list, height: int, width: int):
    """One object's segmentation from its parts (polygon rings and/or RLEs, e.g. the shapes
    a ``group_id`` joins): the rings as one COCO polygon list when every part is a ring,
    else the union of all parts as one RLE."""
    if all(isinstance(p, list) for p in parts):
        return parts
    from maskkit.core.rle import rle_merge

    return rle_merge([p if isinstance(p, dict) else as_rle([p], height, width) for p in parts])


def rle_stats(rle: dict) -> tuple[int, list[int]]:
    """``(area, [x, y, w, h])`` of an RLE, as ``pycocotools.mask.area/toBbox``."""
    return int(rle_area(rle)), [int(v) for v in rle_to_bbox(rle)]


def polygon_arrays(segs, *, name_of=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(xy, ring_offsets, obj_rings)`` of COCO polygon objects, the kernels' layout:
    every coordinate flat in ``xy``, part ``r`` is ``xy[ring_offsets[r]:ring_offsets[r + 1]]``,
    object ``k``'s parts are ``obj_rings[k]..obj_rings[k + 1]``.

    Raises
    ------
    InvalidPolygonError
        A part of fewer than 6 coordinates or of an odd number, a coordinate that is not
        a number, not finite or beyond ``COORD_LIMIT`` (the
        message names the object: ``name_of(k)`` for the ``k``-th of ``segs``, else
        ``object k``).

    Examples
    --------
    >>> xy, rings, objs = polygon_arrays([[[0, 0, 2, 0, 2, 2]], [[1, 1, 3, 1, 3, 3], [5, 5, 6, 5, 6, 6]]])
    >>> rings.tolist(), objs.tolist()
    ([0, 6, 12, 18], [0, 1, 3])
    """
    import itertools

    from maskkit.errors import InvalidPolygonError

    parts = list(itertools.chain.from_iterable(segs))
    ring_offsets = np.zeros(len(parts) + 1, np.int64)
    np.cumsum([len(p) for p in parts], out=ring_offsets[1:])
    obj_rings = np.zeros(len(segs) + 1, np.int64)
    np.cumsum([len(s) for s in segs], out=obj_rings[1:])
    lens = np.diff(ring_offsets)
    if (lens < 6).any() or (lens % 2).any():  # the kernels walk x, y pairs of >= 3 points
        r = int(np.flatnonzero((lens < 6) | (lens % 2))[0])
        obj = int(np.searchsorted(obj_rings, r, side="right") - 1)
        raise InvalidPolygonError(
            f"polygon part {r - int(obj_rings[obj])} has {int(lens[r])} coordinates; "
            "expected an even number, at least 6 (3 points)",
            obj=name_of(obj) if name_of else f"object {obj}")
    try:
        xy = np.fromiter(itertools.chain.from_iterable(parts), np.float64,
                         count=int(ring_offsets[-1]))
    except (TypeError, ValueError, OverflowError):
        raise InvalidPolygonError("a polygon holds a non-numeric coordinate") from None
    if not (np.isfinite(xy).all() and np.abs(xy).max(initial=0) <= COORD_LIMIT):
        bad = ~np.isfinite(xy) | (np.abs(xy) > COORD_LIMIT)
        k = int(np.argmax(bad))
        ring = int(np.searchsorted(ring_offsets, k, side="right") - 1)
        obj = int(np.searchsorted(obj_rings, ring, side="right") - 1)
        raise InvalidPolygonError(
            f"polygon coordinate {float(xy[k])!r} is not finite or beyond "
            f"±{COORD_LIMIT:.0f}", obj=name_of(obj) if name_of else f"object {obj}")
    return xy, ring_offsets, obj_rings


def gather_parts(value_rings, ring_ends, xy, keys):
    """Polygon objects whose parts were parsed into arrays
    (:func:`maskkit.io.files.read_json_rings`: value ``k``'s parts are
    ``value_rings[k]..value_rings[k + 1]``, part ``r`` is ``xy[ring_ends[r]:ring_ends[r +
    1]]``), object ``j`` being value ``keys[j]``, in the kernels' layout: ``(obj_rings,
    ring_offsets, xy, good)`` (see :func:`polygon_arrays`), ``good[j]`` false when a part
    of object ``j`` has fewer than 6 or an odd number of coordinates, or one beyond
    ``COORD_LIMIT`` (every value has at least one part, every part a number).

    Examples
    --------
    >>> obj_rings, ring_offsets, xy, good = gather_parts(
    ...     np.array([0, 1, 3]), np.array([0, 6, 12, 16]), np.arange(16.0), [1, 0])
    >>> obj_rings.tolist(), ring_offsets.tolist(), xy[:3].tolist(), good.tolist()
    ([0, 2, 3], [0, 6, 10, 16], [6.0, 7.0, 8.0], [False, True])
    """
    keys = np.asarray(keys, np.int64)
    first = value_rings[keys]
    nring = value_rings[keys + 1] - first
    obj_rings = np.zeros(keys.size + 1, np.int64)
    np.cumsum(nring, out=obj_rings[1:])
    rings = np.repeat(first - obj_rings[:-1], nring) + np.arange(obj_rings[-1])
    start = ring_ends[rings]
    lens = ring_ends[rings + 1] - start
    ring_offsets = np.zeros(rings.size + 1, np.int64)
    np.cumsum(lens, out=ring_offsets[1:])
    out = xy[np.repeat(start - ring_offsets[:-1], lens) + np.arange(ring_offsets[-1])]
    bad = (lens < 6) | (lens % 2 == 1)
    far = np.abs(out) > COORD_LIMIT
    if far.any():
        bad |= np.add.reduceat(far, ring_offsets[:-1]) > 0
    good = np.add.reduceat(bad, obj_rings[:-1]) == 0 if keys.size else np.ones(0, bool)
    return obj_rings, ring_offsets, out, good


def _sized_arrays(segs, heights, widths, name_of):
    """:func:`polygon_arrays` of objects of images of these sizes (one per object, each
    checked against the byte limit), and the sizes as int64 arrays."""
    from maskkit.limits import check_image_size

    hs = np.asarray(heights, np.int64).reshape(-1)
    ws = np.asarray(widths, np.int64).reshape(-1)
    if hs.size != len(segs) or ws.size != len(segs):
        raise InvalidInputError("one height and one width per object")
    for h, w in set(zip(hs.tolist(), ws.tolist())):
        check_image_size(h, w)
    xy, ring_offsets, obj_rings = polygon_arrays(segs, name_of=name_of)
    return xy, ring_offsets, obj_rings, hs, ws


def polygon_stats(segs, heights, widths, *, name_of=None) -> tuple[np.ndarray, np.ndarray]:
    """Pixel area and ``[x, y, w, h]`` box under COCO's rule of many polygon objects,
    possibly of several images (``heights[k]``, ``widths[k]``: object ``k``'s image), in
    one kernel call: ``(area, bbox)`` int64 arrays of shape ``(n,)`` and ``(n, 4)``
    (``name_of(k)``: the name of the ``k``-th object in errors).

    Examples
    --------
    >>> a, b = polygon_stats([[[1, 1, 4, 1, 4, 3, 1, 3]], [[0, 0, 2, 0, 2, 2]]], [4, 9], [5, 9])
    >>> a.tolist(), b.tolist()
    ([6, 1], [[1, 1, 3, 2], [1, 0, 1, 1]])
    """
    return stats_arrays(*_sized_arrays(segs, heights, widths, name_of))


def stats_arrays(xy, ring_offsets, obj_rings, heights, widths):
    """:func:`polygon_stats` of polygon objects held as arrays (the kernels' layout, see
    :func:`polygon_arrays`, already checked; ``heights``, ``widths``: int64, one per
    object, checked sizes).

    Examples
    --------
    >>> import numpy as np
    >>> a, b = stats_arrays(np.array([1., 1, 4, 1, 4, 3, 1, 3]), np.array([0, 8]),
    ...                     np.array([0, 1]), np.array([4]), np.array([5]))
    >>> a.tolist(), b.tolist()
    ([6], [[1, 1, 3, 2]])
    """
    from maskkit._kernels.objstats import polygon_object_stats

    return polygon_object_stats(xy, ring_offsets, obj_rings, heights, widths)


def areas_bboxes(segs, height: int, width: int) -> list[tuple[int, list[int]]]:
    """:func:`area_bbox` of many objects of one image: polygon objects are measured in
    one kernel call (no per-object setup), RLE objects one by one.

    Examples
    --------
    >>> areas_bboxes([[[1, 1, 4, 1, 4, 3, 1, 3]], [[0, 0, 2, 0, 2, 2]]], 4, 5)
    [(6, [1, 1, 3, 2]), (1, [1, 0, 1, 1])]
    """
    from maskkit.limits import check_image_size

    h, w = check_image_size(height, width)
    out: list = [None] * len(segs)
    poly = [i for i, s in enumerate(segs) if not isinstance(s, dict)]
    for i, s in enumerate(segs):
        if isinstance(s, dict):
            out[i] = area_bbox(s, h, w)
    if not poly:
        return out
    area, bbox = polygon_stats([segs[i] for i in poly], [h] * len(poly), [w] * len(poly))
    for k, i in enumerate(poly):
        out[i] = (int(area[k]), bbox[k].tolist())
    return out


def polygons_json(segs, floats=None) -> list:
    """``json.dumps(seg)`` of many polygon segmentations, made in one kernel call for those
    whose coordinates are all floats that are multiples of 1e-9 (as :mod:`~maskkit.formats.yolo`
    reads them: ``np.round(v, 9)``) and zero or of magnitude in [1e-4, 1e6): their shortest
    ``repr`` is then their 9-decimal text without its trailing zeros.  The others (ints,
    more decimals, tiny or huge numbers) are None: encode them with ``json.dumps``.
    ``floats[k]`` true: object ``k``'s coordinates are known to be Python floats (the
    type of each is not checked again).

    Examples
    --------
    >>> polygons_json([[[1.5, 2.0, 3.25, 4.0, 5.0, 0.125]], [[1, 2, 3, 4, 5, 6]]])
    ['[[1.5, 2.0, 3.25, 4.0, 5.0, 0.125]]', None]
    """
    out: list = [None] * len(segs)
    known = floats if floats is not None else [False] * len(segs)
    floats = [k for k, s in enumerate(segs)
              if known[k] or all(set(map(type, p)) == _FLOAT for p in s)]
    if not floats:
        return out
    try:
        xy, ring_offsets, obj_rings = polygon_arrays([segs[k] for k in floats])
    except MaskkitError:
        return out
    for k, text in zip(floats, polygons_text(xy, ring_offsets, obj_rings)):
        out[k] = text
    return out


def polygons_text(xy, ring_offsets, obj_rings) -> list:
    """:func:`polygons_json` of polygon objects held as arrays (the kernels' layout, see
    :func:`polygon_arrays`) whose coordinates are floats: the JSON text of each object
    whose numbers are all on the 1e-9 grid and zero or of magnitude in [1e-4, 1e6), None
    for the others (encode ``[part.tolist(), ...]`` with ``json.dumps``).

    Examples
    --------
    >>> import numpy as np
    >>> polygons_text(np.array([1.5, 2.0, 3.25, 4.0, 5.0, 0.125]), np.array([0, 6]), np.array([0, 1]))
    ['[[1.5, 2.0, 3.25, 4.0, 5.0, 0.125]]']
    """
    from maskkit._kernels.objstats import format_polygons

    a = np.abs(xy)
    bad = ~((xy == np.round(xy, 9)) & (a < 1e6) & ((a >= 1e-4) | (xy == 0)))
    n = obj_rings.size - 1
    starts = ring_offsets[obj_rings[:-1]]
    ok = np.add.reduceat(bad, starts) == 0 if xy.size else np.ones(n, bool)
    text, offsets = format_polygons(xy, ring_offsets, obj_rings, ok)
    text = text.tobytes().decode("ascii")
    o = offsets.tolist()
    return [text[o[j]:o[j + 1]] if good else None for j, good in enumerate(ok.tolist())]


_FLOAT = {float}


def yolo_numbers(vals, offsets, heights, widths) -> list[str]:
    """YOLO text of normalised rings (object ``k``: ``vals[offsets[k]:offsets[k + 1]]``,
    ``x / w, y / h`` pairs; ``heights[k]``, ``widths[k]`` its image's size): numbers
    joined by spaces, made by one kernel call.

    A number is written with at most 16 significant digits: 15 when they are within one
    unit of the 16th of the value's, which gives ``repr``'s digits for values that have a
    short ``repr`` (``0.125``), else 16 digits, within one unit of the last of the
    value's (``1/6`` is ``0.1666666666666666``; ``repr`` has 17 digits).  That is within
    3e-15 of the value (relative), so a
    reader that multiplies by the image size and snaps to 1e-9 px (maskkit's YOLO reader)
    gets back every vertex on the 1e-9 px grid exactly, for images up to 50,000 px.
    Numbers outside that range (below 1e-4, or vertices beyond 50,000 px) are written
    with ``repr``, as is every number of their ring.

    Examples
    --------
    >>> import numpy as np
    >>> yolo_numbers(np.array([0.125, 1 / 6, 0.5, 1.0, 3e-05, 0.5]), np.array([0, 4, 6]), [6, 4], [8, 2])
    ['0.125 0.1666666666666666 0.5 1.0', '3e-05 0.5']
    """
    from maskkit._kernels.objstats import format_rings

    vals = np.ascontiguousarray(vals, np.float64)
    offsets = np.asarray(offsets, np.int64)
    hs = np.asarray(heights, np.int64).reshape(-1)
    ws = np.asarray(widths, np.int64).reshape(-1)
    if hs.size != offsets.size - 1 or ws.size != offsets.size - 1 or \
            offsets[-1] > vals.size or (np.diff(offsets) < 0).any() or offsets[0] < 0:
        raise InvalidInputError("offsets must cut vals into one ring per height and width")
    text, starts, ok = format_rings(vals, offsets, hs, ws)
    text = text.tobytes().decode("ascii")
    t = starts.tolist()
    out = [text[t[k]:t[k + 1]] for k in range(offsets.size - 1)]
    for k in np.flatnonzero(~ok).tolist():
        out[k] = " ".join(map(repr, vals[offsets[k]:offsets[k + 1]].tolist()))
    return out


def join_many(segs, heights, widths, *, check: bool = True, name_of=None,
              as_text: bool = False):
    """:func:`single_ring` of many polygon objects (of one or several images) in one
    kernel call, normalised for YOLO (``name_of(k)``: the name of the ``k``-th object in
    errors): ``(rings, iou)``, where ``rings[k]`` is object
    ``k``'s one ring as ``[x / w, y / h, ...]`` (a list of floats) and ``iou[k]`` the mask
    IoU of the ring with the object under COCO's rule (1.0 for a one-part object, or when
    not ``check``).  ``as_text``: ``rings[k]`` is the ring's YOLO text instead, the
    numbers joined by spaces, each with at most 16 significant digits (``repr``'s when it
    has at most 15; see :func:`yolo_numbers`).

    Examples
    --------
    >>> rings, iou = join_many([[[0, 0, 2, 0, 2, 2]], [[0, 0, 2, 0, 2, 2], [5, 0, 7, 0, 7, 2]]],
    ...                        [4, 4], [8, 8])
    >>> rings[0], iou.tolist()
    ([0.0, 0.0, 0.25, 0.0, 0.25, 0.5], [1.0, 1.0])
    """
    xy, ring_offsets, obj_rings, hs, ws = _sized_arrays(segs, heights, widths, name_of)
    return join_arrays(xy, ring_offsets, obj_rings, hs, ws, check=check, as_text=as_text)


def join_arrays(xy, ring_offsets, obj_rings, heights, widths, *, check: bool = True,
                as_text: bool = False):
    """:func:`join_many` of polygon objects held as arrays (the kernels' layout, see
    :func:`polygon_arrays`, already checked; ``heights``, ``widths``: int64, one per
    object, checked sizes).

    Examples
    --------
    >>> import numpy as np
    >>> rings, iou = join_arrays(np.array([0., 0, 2, 0, 2, 2]), np.array([0, 6]),
    ...                          np.array([0, 1]), np.array([4]), np.array([8]), as_text=True)
    >>> rings, iou.tolist()
    (['0.0 0.0 0.25 0.0 0.25 0.5'], [1.0])
    """
    from maskkit._kernels.objstats import join_objects

    out, offsets, iou = join_objects(xy, ring_offsets, obj_rings, heights, widths,
                                     bool(check))
    if as_text:
        return yolo_numbers(out, offsets, heights, widths), iou
    flat = out[:offsets[-1]].tolist()
    o = offsets.tolist()
    return [flat[o[k]:o[k + 1]] for k in range(obj_rings.size - 1)], iou


def area_bbox(seg, height: int, width: int) -> tuple[int, list[int]]:
    """``(area, [x, y, w, h])`` of a geometry's pixels under COCO's rule, from its runs
    (no RLE string is made): what ``pycocotools.mask.area/toBbox`` give for its mask.

    Examples
    --------
    >>> area_bbox([[1, 1, 4, 1, 4, 3, 1, 3]], 4, 5)
    (6, [1, 1, 3, 2])
    """
    s, e = segmentation_runs(seg, height, width)
    if s.size == 0:
        return 0, [0, 0, 0, 0]
    last = e - 1
    c0, c1 = s // height, last // height
    r0, r1 = s % height, last % height
    wraps = c0 != c1  # a run that goes on into the next column covers every row
    y0 = 0 if wraps.any() else int(r0.min())
    y1 = height - 1 if wraps.any() else int(r1.max())
    x0, x1 = int(c0[0]), int(c1[-1])
    return int((e - s).sum()), [x0, y0, x1 - x0 + 1, y1 - y0 + 1]


def mask_iou(a: dict, b: dict) -> float:
    """Intersection over union of two RLEs of the same size (1.0 when both are empty).

    Examples
    --------
    >>> mask_iou(as_rle([[0, 0, 2, 0, 2, 2, 0, 2]], 4, 4), as_rle([[0, 0, 4, 0, 4, 2, 0, 2]], 4, 4))
    0.5
    """
    ma, mb = rle_decode(a).astype(bool), rle_decode(b).astype(bool)
    union = int(np.count_nonzero(ma | mb))
    return 1.0 if union == 0 else int(np.count_nonzero(ma & mb)) / union


def runs_iou(a, b) -> float:
    """IoU of two objects given as sorted, disjoint half-open pixel runs ``(starts, ends)``
    (what :func:`maskkit.segmentation_runs` returns); 1.0 when both are empty.

    Examples
    --------
    >>> import numpy as np
    >>> runs_iou((np.array([0, 10]), np.array([4, 12])), (np.array([2]), np.array([11])))
    0.25
    """
    (s1, e1), (s2, e2) = a, b
    area = int((e1 - s1).sum() + (e2 - s2).sum())
    if area == 0:
        return 1.0
    pos = np.concatenate([s1, e1, s2, e2])
    step = np.concatenate([np.ones(s1.size, np.int64), -np.ones(e1.size, np.int64),
                           np.ones(s2.size, np.int64), -np.ones(e2.size, np.int64)])
    order = np.argsort(pos, kind="stable")
    pos, depth = pos[order], np.cumsum(step[order])
    inter = int(np.diff(pos)[depth[:-1] == 2].sum())
    return inter / (area - inter)


def crop_of(rle: dict) -> tuple[np.ndarray, int, int]:
    """``(crop, x0, y0)``: the mask of an RLE cut to its bounding box (uint8)."""
    mask = rle_decode(rle)
    x, y, w, h = (int(v) for v in rle_to_bbox(rle))
    return np.ascontiguousarray(mask[y:y + h, x:x + w], np.uint8), x, y


def outline_parts(rle: dict) -> tuple[list[list[float]], bool]:
    """The pixel-edge outlines of an RLE: ``(rings, has_holes)``.

    Rings are every region's exterior and hole rings (see
    :func:`maskkit.datasets.labels2coco.trace_outlines`), flat and implicitly closed.
    """
    crop, x0, y0 = crop_of(rle)
    rings, holes = [], False
    for region in trace_outlines(crop, offset=(x0, y0)):
        rings.extend(region)
        holes |= len(region) > 1
    return rings, holes


def join_rings(parts) -> list[float]:
    """Join polygon parts into one ring, the way Ultralytics' COCO converter does.

    Consecutive parts are linked by a straight bridge between their two closest vertices
    (part 0 to part 1, part 1 to part 2, ...); the ring walks every part once and each
    bridge twice, out and back, so the bridges enclose no area.  Under COCO's
    rasteriser (even-odd per column) the ring gives the union of disjoint parts exactly,
    and a hole ring joined to its exterior carves the hole; parts that overlap cancel
    where they overlap (the loss is measured by the converter, see :func:`single_ring`).

    Examples
    --------
    >>> join_rings([[0, 0, 2, 0, 2, 2], [5, 0, 7, 0, 7, 2]])
    [2.0, 0.0, 5.0, 0.0, 7.0, 0.0, 7.0, 2.0, 5.0, 0.0, 2.0, 0.0, 2.0, 2.0, 0.0, 0.0]
    """
    rings = [np.asarray(p, np.float64).reshape(-1, 2) for p in parts]
    if len(rings) == 1:
        return rings[0].ravel().tolist()
    # exit[i]: the vertex of part i closest to part i+1; entry[i+1]: its partner there
    exits, entries = [0] * len(rings), [0] * len(rings)
    for i in range(1, len(rings)):
        a, b = rings[i - 1], rings[i]
        d = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        ia, ib = np.unravel_index(int(np.argmin(d)), d.shape)
        exits[i - 1], entries[i] = int(ia), int(ib)
    entries[0] = exits[0]
    offsets = np.cumsum([0] + [len(r) for r in rings]).tolist()
    # the walk as indices into all vertices, built from the last part outwards: part i
    # goes round from its entry vertex back to it, and at its exit vertex detours through
    # the walk of part i+1 and comes back to the exit vertex
    walk: list[int] = []
    for i in range(len(rings) - 1, -1, -1):
        n, start, base = len(rings[i]), entries[i], offsets[i]
        loop = [base + (start + k) % n for k in range(n + 1)]
        if i == len(rings) - 1:
            walk = loop
        else:
            at = (exits[i] - start) % n
            walk = loop[:at + 1] + walk + loop[at:]
    pts = np.concatenate(rings)[walk]
    keep = np.ones(len(pts), bool)
    keep[1:] = np.any(pts[1:] != pts[:-1], axis=1)  # no zero-length edges
    pts = pts[keep]
    if len(pts) > 1 and np.array_equal(pts[0], pts[-1]):
        pts = pts[:-1]
    return pts.ravel().tolist()


def single_ring(seg, height: int, width: int, *, check: bool = True):
    """One ring for a format that holds one polygon per object (YOLO segmentation).

    A one-part polygon is kept as it is; several parts are joined by
    :func:`join_rings`; an RLE is traced along pixel edges (holes included) and its
    rings joined.

    Returns
    -------
    ring : list of float
        Flat ``[x1, y1, ...]`` in pixels; empty for an empty RLE.
    iou : float
        Mask IoU between the object and its ring under COCO's rasteriser (1.0 when
        nothing changed; computed only when parts were joined and ``check``).
    how : str
        ``"kept"``, ``"joined"`` (polygon parts) or ``"traced"`` (from an RLE).
    """
    parts = polygon_parts(seg)
    if parts is not None:
        if len(parts) == 1:
            return [float(v) for v in parts[0]], 1.0, "kept"
        ring = join_rings(parts)
        how = "joined"
    else:
        seg = as_rle(seg, height, width)
        rings, _ = outline_parts(seg)
        if not rings:
            return [], 1.0, "traced"
        ring = join_rings(rings)
        how = "traced"
    iou = 1.0
    if check:
        iou = runs_iou(segmentation_runs(seg, height, width),
                       segmentation_runs([ring], height, width))
    return ring, iou, how
