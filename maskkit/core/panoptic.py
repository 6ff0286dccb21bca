"""Panoptic id maps: RGB <-> id, merging semantic and instance maps, conversions of one image.

A panoptic image's pixel ids are ``R + 256·G + 256²·B`` (0 = VOID), described by a
``segments_info`` list of ``{"id", "category_id", "iscrowd", "area", "bbox"}`` records.
The rules follow panopticapi and detectron2, with their known faults fixed: segment ids are
deterministic (1, 2, 3, ... in a documented order, never random colours), overlapping
instances are resolved by a policy instead of a crash, and areas and boxes are always
computed from the final id map.  Everything here takes arrays and annotation records; the
dataset jobs (check, COCO <-> panoptic on folders) are in :mod:`maskkit.datasets.panoptic`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from maskkit._kernels import panoptic as _kp
from maskkit.errors import (
    InvalidAnnotationError,
    InvalidInputError,
    MaskkitError,
    MaskkitTypeError,
    UnknownCategoryError,
)
from maskkit.limits import check_bytes, check_image_size

__all__ = [
    "CROWD_POLICIES",
    "MAX_SEGMENT_ID",
    "OVERLAP_POLICIES",
    "bbox_xywh",
    "categories_by_id",
    "id2rgb",
    "instances_to_panoptic",
    "is_thing",
    "merge_panoptic",
    "panoptic_from_2ch",
    "panoptic_to_semantic",
    "real_number",
    "rgb2id",
    "segment_ids",
    "segmentation_runs_i64",
    "segments_from_flat",
    "stuff_to_semantic",
    "whole_number",
]


MAX_SEGMENT_ID = _kp.MAX_SEGMENT_ID


OVERLAP_POLICIES = ("last", "area", "score", "void")


CROWD_POLICIES = ("class", "ignore", "skip")


def rgb2id(rgb) -> np.ndarray | int:
    """Segment ids of a panoptic PNG: ``R + 256·G + 256²·B``.

    Parameters
    ----------
    rgb : array_like
        (H, W, 3) colours in 0..255 (any integer dtype; a 4th alpha channel is ignored),
        or one colour ``[r, g, b]``.

    Returns
    -------
    numpy.ndarray or int
        (H, W) uint32 ids, or an ``int`` for one colour.

    Examples
    --------
    >>> import numpy as np
    >>> rgb2id(np.array([[[1, 0, 0], [0, 1, 0]]], dtype=np.uint8)).tolist()
    [[1, 256]]
    >>> rgb2id([10, 2, 1])
    66058
    """
    arr = np.asarray(rgb)
    if arr.ndim == 1:
        if arr.shape[0] < 3:
            raise InvalidInputError(f"a colour must be [r, g, b]; got {arr.tolist()}")
        r, g, b = (int(v) for v in arr[:3])
        for v in (r, g, b):
            if not 0 <= v <= 255:
                raise InvalidInputError(f"colour channels must be in 0..255; got {[r, g, b]}")
        return r + 256 * g + 65536 * b
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise InvalidInputError(
            f"rgb must be (H, W, 3) colours; got shape {arr.shape}. Read PNGs with "
            "maskkit.io.png.read_png(path, mode='rgb')"
        )
    if arr.dtype.kind not in "ui":
        raise MaskkitTypeError(f"rgb must be an integer array; got dtype {arr.dtype}")
    if arr.dtype != np.uint8:
        lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
        if lo < 0 or hi > 255:
            raise InvalidInputError(f"rgb channels must be in 0..255; got range {lo}..{hi}")
        arr = arr.astype(np.uint8)
    return _kp.rgb_to_id(np.ascontiguousarray(arr[:, :, :3]))


def id2rgb(ids) -> np.ndarray | list:
    """Colours of segment ids for a panoptic PNG (the inverse of :func:`rgb2id`).

    Parameters
    ----------
    ids : array_like or int
        (H, W) non-negative integer ids below 2**24, or one id.

    Returns
    -------
    numpy.ndarray or list
        (H, W, 3) uint8, or ``[r, g, b]`` for one id.

    Examples
    --------
    >>> id2rgb(66058)
    [10, 2, 1]
    >>> id2rgb([[1, 256]]).tolist()
    [[[1, 0, 0], [0, 1, 0]]]
    """
    arr = np.asarray(ids)
    if arr.ndim == 0:
        v = int(arr)
        if not 0 <= v <= MAX_SEGMENT_ID:
            raise InvalidInputError(f"segment id must be in 0..{MAX_SEGMENT_ID}; got {v}")
        return [v & 255, (v >> 8) & 255, (v >> 16) & 255]
    ids32 = _kp.as_id_map(arr, "ids")
    return _kp.id_to_rgb(ids32)


def categories_by_id(doc, *, source=None, required=True) -> dict[int, dict]:
    cats = doc.get("categories") if isinstance(doc, Mapping) else doc
    if cats is None:
        if required:
            raise InvalidAnnotationError("has no 'categories' list", source=source)
        return {}
    out: dict[int, dict] = {}
    for i, c in enumerate(cats):
        if not isinstance(c, Mapping) or "id" not in c:
            raise InvalidAnnotationError(
                f"category #{i} must be a dict with an 'id'; got {c!r}", source=source
            )
        out[int(c["id"])] = c
    return out


def is_thing(cat: Mapping, *, source=None) -> bool:
    if "isthing" not in cat:
        raise InvalidAnnotationError(
            f"category {cat.get('id')} ({cat.get('name', '?')}) has no 'isthing' flag; "
            "panoptic categories need isthing 0 or 1",
            source=source,
        )
    return int(cat["isthing"]) == 1


def segment_ids(segments_info, *, source=None, image=None) -> tuple[np.ndarray, np.ndarray]:
    """Validate segment ids; return (sorted uint32 ids, order: sorted position -> list index)."""
    if not isinstance(segments_info, Sequence) or isinstance(segments_info, (str, bytes)):
        raise InvalidAnnotationError(
            f"segments_info must be a list; got {type(segments_info).__name__}",
            source=source, obj=image,
        )
    raw = []
    for i, seg in enumerate(segments_info):
        if not isinstance(seg, Mapping) or "id" not in seg or "category_id" not in seg:
            raise InvalidAnnotationError(
                f"segment #{i} must have 'id' and 'category_id'; got {seg!r}",
                source=source, obj=image,
            )
        sid = seg["id"]
        # type(x) is int/float first: the common case skips the slower generic checks
        if type(sid) is not int and (isinstance(sid, bool)
                                     or not isinstance(sid, (int, np.integer))):
            raise InvalidAnnotationError(
                f"segment #{i} id must be an integer; got {sid!r}", source=source, obj=image
            )
        if not 1 <= int(sid) <= MAX_SEGMENT_ID:
            raise InvalidAnnotationError(
                f"segment id {sid} is out of range 1..{MAX_SEGMENT_ID} (0 is VOID)",
                source=source, obj=image,
            )
        cat = seg["category_id"]
        if type(cat) is not int and (isinstance(cat, bool)
                                     or not isinstance(cat, (int, np.integer))):
            raise InvalidAnnotationError(
                f"segment {sid}: category_id must be an integer; got {cat!r}",
                source=source, obj=image,
            )
        crowd = seg.get("iscrowd", 0)
        if type(crowd) is not int and (isinstance(crowd, bool)
                                       or not isinstance(crowd, (int, np.integer))):
            raise InvalidAnnotationError(
                f"segment {sid}: iscrowd must be 0 or 1; got {crowd!r}", source=source, obj=image
            )
        area = seg.get("area", 0)
        if not (type(area) is int or (type(area) is float and math.isfinite(area))) and (
                isinstance(area, bool) or not isinstance(area, (int, float, np.number))
                or not np.isfinite(area)):
            raise InvalidAnnotationError(
                f"segment {sid}: area must be a number; got {area!r}", source=source, obj=image
            )
        raw.append(int(sid))
    ids = np.asarray(raw, dtype=np.uint32)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    dup = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
    if dup.size:
        raise InvalidAnnotationError(
            f"segment id {int(sorted_ids[dup[0]])} is listed more than once in segments_info",
            source=source, obj=image,
        )
    return np.ascontiguousarray(sorted_ids), order


def bbox_xywh(box_row) -> list[int]:
    r0, r1, c0, c1 = (int(v) for v in box_row)
    if r0 < 0:
        return [0, 0, 0, 0]
    return [c0, r0, c1 - c0 + 1, r1 - r0 + 1]


def whole_number(value, what: str, *, source=None, obj=None) -> int:
    """``value`` as an int, or an InvalidAnnotationError naming ``what`` (one line)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    raise InvalidAnnotationError(f"{what} must be an integer; got {value!r}",
                                 source=source, obj=obj)


def real_number(value, what: str, *, source=None, obj=None) -> float:
    """``value`` as a float, or an InvalidAnnotationError naming ``what`` (one line)."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    raise InvalidAnnotationError(f"{what} must be a number; got {value!r}",
                                 source=source, obj=obj)


def segmentation_runs_i64(segmentation, height, width, *, source=None, obj=None):
    """Column-major runs of a COCO segmentation (pycocotools' pixels), never a full mask."""
    from maskkit.core.rasterize import segmentation_runs

    try:
        starts, ends = segmentation_runs(segmentation, height, width, mode="coco")
    except MaskkitError as exc:
        raise exc.with_context(source=source, obj=obj) from None
    return (np.ascontiguousarray(starts, dtype=np.int64),
            np.ascontiguousarray(ends, dtype=np.int64))


def segments_from_flat(flat_colmajor: np.ndarray, height: int):
    """Per segment id: encoded RLE strings, areas and boxes, from a column-major id map."""
    run_ids, starts, ends = _kp.column_runs(flat_colmajor)
    order = np.argsort(run_ids, kind="stable")
    sid = run_ids[order]
    uniq, first = np.unique(sid, return_index=True)
    offsets = np.append(first, sid.size).astype(np.int64)
    buf, buf_off, area, box = _kp.encode_segment_runs(
        np.ascontiguousarray(starts[order]), np.ascontiguousarray(ends[order]), offsets,
        np.int64(max(height, 1)), np.int64(flat_colmajor.size),
    )
    text = buf.tobytes().decode("ascii")
    strings = [text[buf_off[i]:buf_off[i + 1]] for i in range(uniq.size)]
    return uniq, strings, area, box


def panoptic_to_semantic(ids, segments_info, *, things=None, things_as=None,
                         unlabeled: int = 255, dtype=None) -> np.ndarray:
    """Semantic label map of one panoptic image: each pixel gets its segment's category.

    Parameters
    ----------
    ids : (H, W) array_like
        Segment ids (e.g. ``rgb2id(png)``).
    segments_info : list of dict
        The image's segments (``id``, ``category_id``).
    things : iterable of int, optional
        Thing category ids; needed with ``things_as``.
    things_as : int, optional
        Merge every thing segment into this one class (panopticapi's ``--things_other``).
    unlabeled : int
        Value for VOID pixels (id 0). Default 255.
    dtype : numpy dtype, optional
        Output dtype; default the smallest of uint8 / uint16 / int32 holding every value.

    Returns
    -------
    numpy.ndarray
        (H, W) labels.

    Raises
    ------
    InvalidAnnotationError
        A PNG id is not in ``segments_info``.

    Examples
    --------
    >>> import numpy as np
    >>> segs = [{"id": 3, "category_id": 1}, {"id": 9, "category_id": 40}]
    >>> panoptic_to_semantic(np.array([[0, 3], [9, 9]]), segs).tolist()
    [[255, 1], [40, 40]]
    >>> panoptic_to_semantic(np.array([[0, 3], [9, 9]]), segs, things={1},
    ...                      things_as=200, unlabeled=0).tolist()
    [[0, 200], [40, 40]]
    """
    ids32 = _kp.as_id_map(ids, "ids")
    sorted_ids, order = segment_ids(segments_info)
    if things_as is not None and things is None:
        raise InvalidInputError("things_as needs `things`, the set of thing category ids")
    thing_set = {int(t) for t in things} if things is not None else set()
    vals = []
    for li in order:
        cat = int(segments_info[li]["category_id"])
        vals.append(int(things_as) if things_as is not None and cat in thing_set else cat)
    values = np.asarray(vals, dtype=np.int64)
    all_vals = [*vals, int(unlabeled)]
    lo, hi = min(all_vals), max(all_vals)
    if dtype is None:
        dtype = np.uint8 if lo >= 0 and hi <= 255 else np.uint16 if lo >= 0 and hi <= 65535 \
            else np.int32
    info = np.iinfo(dtype)
    if lo < info.min or hi > info.max:
        raise InvalidInputError(f"labels {lo}..{hi} do not fit dtype {np.dtype(dtype).name}")
    out = np.empty(ids32.shape, dtype=dtype)
    unknown = _kp.map_ids(ids32, sorted_ids, values.astype(dtype), dtype(unlabeled), out)
    if unknown:
        raise InvalidAnnotationError(
            "id is in the PNG but not in segments_info", obj=f"segment {int(unknown)}"
        )
    return out


def panoptic_from_2ch(arr, *, void_category: int = 0, categories=None):
    """Convert a 2-channel panoptic image (category, instance) to ids + segments_info.

    Every distinct (category, instance) pair other than the VOID category becomes one
    segment; ids are 1, 2, ... in ascending (category, instance) order (deterministic).

    Parameters
    ----------
    arr : (H, W, C) array_like, C >= 2
        Channel 0 = category id, channel 1 = instance id (e.g. a 2-channel PNG read as
        RGB; further channels are ignored).
    void_category : int
        Category value meaning VOID. Default 0.
    categories : list of dict, optional
        When given, every category must be in it.

    Returns
    -------
    ids : numpy.ndarray
        (H, W) uint32 segment ids.
    segments_info : list of dict
        ``id``, ``category_id``, ``iscrowd`` (0), ``area``, ``bbox``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((2, 3, 3), np.uint8)
    >>> a[0, 1:] = [1, 4, 0]; a[1, :] = [21, 0, 0]
    >>> ids, segs = panoptic_from_2ch(a)
    >>> ids.tolist()
    [[0, 1, 1], [2, 2, 2]]
    >>> [(s["id"], s["category_id"], s["area"], s["bbox"]) for s in segs]
    [(1, 1, 2, [1, 0, 2, 1]), (2, 21, 3, [0, 1, 3, 1])]
    """
    a = np.asarray(arr)
    if a.ndim != 3 or a.shape[2] < 2:
        raise InvalidInputError(
            f"a 2-channel panoptic image must be (H, W, C>=2); got shape {a.shape}"
        )
    if a.dtype.kind not in "ui":
        raise MaskkitTypeError(f"2-channel image must be integer; got dtype {a.dtype}")
    if a.size:
        lo, hi = int(a[:, :, :2].min()), int(a[:, :, :2].max())
        if lo < 0 or hi > 65535:
            raise InvalidInputError(f"channel values must be in 0..65535; got {lo}..{hi}")
    keys = _kp.two_channel_keys(np.ascontiguousarray(a[:, :, :2]).astype(np.int64),
                                np.int64(void_category))
    uniq, inverse = np.unique(keys, return_inverse=True)
    inverse = inverse.reshape(keys.shape)
    has_void = uniq.size > 0 and uniq[0] == -1
    seg_keys = uniq[1:] if has_void else uniq
    lut = np.arange(uniq.size, dtype=np.uint32) + (0 if has_void else 1)
    ids = lut[inverse]
    cats = categories_by_id({"categories": categories}) if categories is not None else None
    sorted_ids = np.arange(1, seg_keys.size + 1, dtype=np.uint32)
    area, box = _kp.segment_stats(ids, sorted_ids)
    segments = []
    for i, key in enumerate(seg_keys.tolist()):
        cat, inst = key // 65536, key % 65536
        if cats is not None and cat not in cats:
            raise UnknownCategoryError(
                f"category {cat} (instance {inst}) is not in the categories list",
                obj=f"segment {i + 1}",
            )
        segments.append({"id": i + 1, "category_id": int(cat), "iscrowd": 0,
                         "area": int(area[i + 1]), "bbox": bbox_xywh(box[i + 1])})
    return ids, segments


def merge_panoptic(semantic, instances, *, things, overlap_threshold: float = 0.5,
                   stuff_area_threshold: int = 4096, score_threshold: float = 0.5,
                   ignore_value: int | None = None):
    """Combine a semantic map and instance predictions (the panoptic-FPN heuristic).

    Instances are taken by descending score (ties keep input order); an instance is
    dropped when its score is below ``score_threshold``, when it is empty, or when more
    than ``overlap_threshold`` of its area is already taken; otherwise it gets the pixels
    still free.  Then every stuff class of ``semantic`` (non-zero, not in ``things``), in
    ascending category order, gets its still-free pixels, unless fewer than
    ``stuff_area_threshold`` remain.  Instances are painted from their runs straight into
    the output: no full-size boolean mask per instance.

    Parameters
    ----------
    semantic : (H, W) array_like of int
        Category per pixel; 0 = unlabeled; thing categories are ignored.
    instances : list of dict
        COCO results: ``category_id`` (a thing), ``score``, ``segmentation`` (RLE dict of
        size (H, W), compressed or not, or polygons).
    things : iterable of int
        Thing category ids.
    overlap_threshold, stuff_area_threshold, score_threshold
        detectron2's defaults.
    ignore_value : int, optional
        A semantic value that is not a category (VOID, e.g. the 255 that
        :func:`panoptic_to_semantic` and ``coco2sem`` write): its pixels stay unlabeled,
        like 0.  Default None: only 0 is unlabeled.

    Returns
    -------
    ids : numpy.ndarray
        (H, W) uint32 segment ids: instances 1..k in the order kept, then stuff.
    segments_info : list of dict
        ``id``, ``category_id``, ``iscrowd`` (0), ``isthing``, ``area``, ``bbox`` (both from
        the final map) and, for instances, ``score`` and ``instance_index`` (position in
        ``instances``).

    Examples
    --------
    >>> import numpy as np
    >>> sem = np.full((4, 4), 5)
    >>> inst = [{"category_id": 1, "score": 0.9,
    ...          "segmentation": {"size": [4, 4], "counts": [0, 2, 2, 2, 10]}}]
    >>> ids, segs = merge_panoptic(sem, inst, things={1}, stuff_area_threshold=4)
    >>> ids.tolist()
    [[1, 1, 2, 2], [1, 1, 2, 2], [2, 2, 2, 2], [2, 2, 2, 2]]
    >>> [(s["id"], s["category_id"], s["area"], s["bbox"]) for s in segs]
    [(1, 1, 4, [0, 0, 2, 2]), (2, 5, 12, [0, 0, 4, 4])]
    """
    sem = np.asarray(semantic)
    if sem.ndim != 2:
        raise InvalidInputError(f"semantic must be 2-D (H, W); got shape {sem.shape}")
    if sem.dtype.kind not in "uib":
        raise MaskkitTypeError(
            f"semantic must be an integer category map; got dtype {sem.dtype}"
        )
    h, w = check_image_size(*sem.shape)
    thing_set = {int(t) for t in things}
    if not 0 <= float(overlap_threshold) <= 1:
        raise InvalidInputError(f"overlap_threshold must be in 0..1; got {overlap_threshold}")
    if not isinstance(instances, (list, tuple)):
        raise MaskkitTypeError(f"instances must be a list of dicts; got {type(instances).__name__}")
    scores = []
    for k, inst in enumerate(instances):
        obj = f"instance {k}"
        if not isinstance(inst, Mapping):
            raise InvalidAnnotationError("must be a dict", obj=obj)
        for key in ("category_id", "score", "segmentation"):
            if key not in inst:
                raise InvalidAnnotationError(f"has no {key!r}", obj=obj)
        if whole_number(inst["category_id"], "category_id", obj=obj) not in thing_set:
            raise UnknownCategoryError(
                f"category_id {inst['category_id']} is not a thing category "
                f"(things={sorted(thing_set)})", obj=obj,
            )
        s = real_number(inst["score"], "score", obj=obj)
        if not np.isfinite(s):
            raise InvalidAnnotationError(f"score must be finite; got {inst['score']!r}", obj=obj)
        scores.append(s)
    order = sorted(range(len(instances)), key=lambda i: -scores[i])

    flat = np.zeros(h * w, dtype=np.uint32)
    segments: list[dict] = []
    next_id = 1
    for k in order:
        if scores[k] < score_threshold:
            continue
        inst = instances[k]
        starts, ends = segmentation_runs_i64(inst["segmentation"], h, w, obj=f"instance {k}")
        _, _, painted = _kp.paint_runs_if_free(flat, starts, ends, np.uint32(next_id),
                                               float(overlap_threshold))
        if painted == 0:
            continue
        segments.append({"id": next_id, "category_id": int(inst["category_id"]), "iscrowd": 0,
                         "isthing": True, "score": scores[k], "instance_index": k})
        next_id += 1
    pan = np.ascontiguousarray(flat.reshape(w, h).T)

    # stuff: dense label table when small, compacted otherwise
    if sem.size:
        lo, hi = int(sem.min()), int(sem.max())
        if lo < 0:
            raise InvalidInputError(f"semantic categories must be >= 0; got min {lo}")
    else:
        hi = 0
    if hi < 65536:
        labels = np.ascontiguousarray(sem, dtype=np.int64)
        label_values = np.arange(hi + 1)
    else:
        label_values, inv = np.unique(sem, return_inverse=True)
        labels = np.ascontiguousarray(inv.reshape(sem.shape), dtype=np.int64)
    free = _kp.free_label_counts(labels, pan, np.int64(label_values.size))
    label_to_id = np.zeros(label_values.size, dtype=np.uint32)
    for li in np.flatnonzero(free).tolist():
        cat = int(label_values[li])
        if cat == 0 or cat == ignore_value or cat in thing_set \
                or free[li] < stuff_area_threshold:
            continue
        label_to_id[li] = next_id
        segments.append({"id": next_id, "category_id": cat, "iscrowd": 0, "isthing": False})
        next_id += 1
    if next_id > MAX_SEGMENT_ID:
        raise InvalidInputError(f"{next_id - 1} segments do not fit 24-bit ids")
    _kp.paint_free_labels(labels, pan, label_to_id)
    area, box = _kp.segment_stats(pan, np.arange(1, next_id, dtype=np.uint32))
    for seg in segments:
        seg["area"] = int(area[seg["id"]])
        seg["bbox"] = bbox_xywh(box[seg["id"]])
    return pan, segments


def instances_to_panoptic(annotations, height: int, width: int, *, overlap: str = "last",
                          crowd: str = "class", stuff=(), source=None):
    """Paint one image's COCO annotations into a panoptic id map.

    Parameters
    ----------
    annotations : list of dict
        COCO instance annotations (``category_id``, ``segmentation``; ``score`` for the
        ``"score"`` policy; ``iscrowd`` kept).
    height, width : int
    overlap : {"last", "area", "score", "void"}
        Who owns a pixel covered by several instances: the later annotation, the smaller
        one, the higher-scoring one, or nobody (VOID: pixels claimed by two or more
        instances).  The meanings of ``coco2sem``.
    crowd : {"class", "ignore", "skip"}
        Crowd regions (``iscrowd=1``) become segments with ``iscrowd=1`` that take part in
        the overlap policy like any instance (``"class"``), that only get the pixels no
        other instance claims (``"ignore"``: annotated individuals inside a crowd keep
        their pixels), or are left out (``"skip"``).
    stuff : list of dict
        Stuff annotations (e.g. COCO-stuff RLE); one segment per category, painted only on
        pixels no instance covers.
    source : str, optional
        File name for error messages.

    Returns
    -------
    ids : numpy.ndarray
        (H, W) uint32; instances get ids 1..k in input order, then stuff categories in
        ascending order; segments that end up empty are dropped.
    segments_info : list of dict
        ``id``, ``category_id``, ``iscrowd``, ``area``, ``bbox`` (from the map) and
        ``annotation_id`` when the annotation had an ``id``.

    Examples
    --------
    >>> anns = [{"id": 10, "category_id": 1, "segmentation": [[0, 0, 3, 0, 3, 3, 0, 3]]}]
    >>> ids, segs = instances_to_panoptic(anns, 4, 4)
    >>> int(ids.sum()), segs[0]["area"], segs[0]["annotation_id"]
    (9, 9, 10)
    """
    if overlap not in OVERLAP_POLICIES:
        raise InvalidInputError(f"overlap must be one of {OVERLAP_POLICIES}; got {overlap!r}")
    if crowd not in CROWD_POLICIES:
        raise InvalidInputError(f"crowd must be one of {CROWD_POLICIES}; got {crowd!r}")
    h, w = check_image_size(height, width, source=source)
    # the uint32 id map (and a coverage byte map for overlap="void"), sized by the record
    check_bytes(h * w * (5 if overlap == "void" else 4), f"the {h}×{w} panoptic id map",
                source=source)
    if crowd == "skip":
        annotations = [a for a in annotations
                       if not (isinstance(a, Mapping) and a.get("iscrowd", 0))]
    runs = []
    crowd_runs = []
    for k, ann in enumerate(annotations):
        obj = f"annotation {ann.get('id', k)}" if isinstance(ann, Mapping) else f"annotation #{k}"
        if not isinstance(ann, Mapping) or "segmentation" not in ann or "category_id" not in ann:
            raise InvalidAnnotationError("needs 'segmentation' and 'category_id'",
                                         source=source, obj=obj)
        whole_number(ann["category_id"], "category_id", source=source, obj=obj)
        st, en = segmentation_runs_i64(ann["segmentation"], h, w, source=source, obj=obj)
        key = 0.0
        if overlap == "area":
            key = -float((en - st).sum())  # larger first: smaller ones end on top
        elif overlap == "score":
            if "score" not in ann:
                raise InvalidAnnotationError("overlap='score' needs a 'score'",
                                             source=source, obj=obj)
            key = real_number(ann["score"], "score", source=source, obj=obj)  # higher on top
        if crowd == "ignore" and ann.get("iscrowd", 0):
            crowd_runs.append((k, st, en))
        else:
            runs.append((key, k, st, en))
    paint_order = sorted(runs, key=lambda r: (r[0], r[1])) if overlap in ("area", "score") \
        else runs
    flat = np.zeros(h * w, dtype=np.uint32)
    cover = np.zeros(h * w if overlap == "void" else 0, dtype=np.uint8)
    for _, k, st, en in paint_order:
        _kp.paint_runs(flat, st, en, np.uint32(k + 1), False, cover)
    if overlap == "void":
        flat[cover > 1] = 0
        cover = cover[:0]
    for k, st, en in crowd_runs:
        _kp.paint_runs(flat, st, en, np.uint32(k + 1), True, cover)
    seg_cat: dict[int, dict] = {}
    for k, ann in enumerate(annotations):
        rec = {"id": k + 1, "category_id": int(ann["category_id"]),
               "iscrowd": int(ann.get("iscrowd", 0))}
        if "id" in ann:
            rec["annotation_id"] = ann["id"]
        seg_cat[k + 1] = rec
    next_id = len(annotations) + 1
    stuff_by_cat: dict[int, list] = {}
    for k, ann in enumerate(stuff):
        obj = f"stuff annotation {ann.get('id', k)}" if isinstance(ann, Mapping) else f"#{k}"
        if not isinstance(ann, Mapping) or "segmentation" not in ann or "category_id" not in ann:
            raise InvalidAnnotationError("needs 'segmentation' and 'category_id'",
                                         source=source, obj=obj)
        stuff_by_cat.setdefault(whole_number(ann["category_id"], "category_id", source=source,
                                       obj=obj), []).append((obj, ann))
    empty = np.zeros(0, np.uint8)
    for cat in sorted(stuff_by_cat):
        sid = next_id
        next_id += 1
        seg_cat[sid] = {"id": sid, "category_id": cat, "iscrowd": 0}
        for obj, ann in stuff_by_cat[cat]:
            st, en = segmentation_runs_i64(ann["segmentation"], h, w, source=source, obj=obj)
            _kp.paint_runs(flat, st, en, np.uint32(sid), True, empty)
    if next_id - 1 > MAX_SEGMENT_ID:
        raise InvalidInputError(f"{next_id - 1} segments do not fit 24-bit ids", source=source)
    ids = np.ascontiguousarray(flat.reshape(w, h).T)
    area, box = _kp.segment_stats(ids, np.arange(1, next_id, dtype=np.uint32))
    segments = []
    for sid in range(1, next_id):
        if area[sid] == 0:
            continue
        rec = seg_cat[sid]
        rec["area"] = int(area[sid])
        rec["bbox"] = bbox_xywh(box[sid])
        segments.append(rec)
    return ids, segments


def stuff_to_semantic(anns, h, w, source=None):
    """Paint COCO-stuff annotations (RLE or polygons, pycocotools' pixels) of one image into
    an ``(H, W)`` uint32 category map; later annotations win where they overlap.

    Examples
    --------
    >>> from maskkit.core.panoptic import stuff_to_semantic
    >>> stuff_to_semantic([{"id": 1, "category_id": 5, "segmentation": [[0, 0, 2, 0, 2, 1, 0, 1]]}],
    ...                   2, 3).tolist()
    [[5, 5, 0], [0, 0, 0]]
    """
    flat = np.zeros(h * w, dtype=np.uint32)
    empty = np.zeros(0, np.uint8)
    for ann in anns:
        st, en = segmentation_runs_i64(ann["segmentation"], h, w, source=source,
                                      obj=f"annotation {ann.get('id')}")
        _kp.paint_runs(flat, st, en, np.uint32(int(ann["category_id"])), False, empty)
    return np.ascontiguousarray(flat.reshape(w, h).T)
