"""COCO instances → semantic label maps, with explicit overlap and crowd policies.

:func:`flatten_image` works on one image of an already indexed dataset
(:func:`maskkit.load_coco`); :func:`maskkit.coco_to_semantic` and the ``coco2sem`` job take
paths (:mod:`maskkit.datasets.coco2sem`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from maskkit._kernels import coco as _kc
from maskkit.core.rasterize import PolygonObjects, paint_objects
from maskkit.errors import InvalidAnnotationError, InvalidInputError, UnknownCategoryError
from maskkit.limits import check_bytes, check_image_size

if TYPE_CHECKING:  # for annotations only: the core never reads files
    from maskkit.io.coco import CocoIndex

__all__ = ["FlattenStats", "contiguous_category_map", "flatten_image"]

OVERLAP_POLICIES = ("last", "area", "score", "void")
CROWD_POLICIES = ("class", "ignore", "skip")


@dataclass
class FlattenStats:
    """What happened while flattening one image.

    Attributes
    ----------
    objects : int
        Annotations painted (crowd regions included unless skipped).
    contested_pixels : int
        Pixels claimed by two or more objects.
    conflict_pixels : int
        Pixels claimed by objects of two or more different classes (with
        ``overlap="void"`` these became ``ignore_value``).
    crowd_objects : int
        Crowd regions among the annotations (painted or not, per the crowd policy).
    """

    objects: int = 0
    contested_pixels: int = 0
    conflict_pixels: int = 0
    crowd_objects: int = 0


def _ann_name(ann, i, image_id) -> str:
    return f"annotation {ann['id']}" if "id" in ann else f"annotation #{i} of image {image_id}"


class _Names:
    """The names of painted annotations for error messages, made only when one is shown
    (holds their positions in the image's annotation list)."""

    def __init__(self, anns, image_id, positions=None):
        self.anns = anns
        self.image_id = image_id
        self.positions = [] if positions is None else positions
        self.append = self.positions.append

    def __len__(self):
        return len(self.positions)

    def __getitem__(self, k):
        i = self.positions[k]
        return _ann_name(self.anns[i], i, self.image_id)

    def reordered(self, order):
        return _Names(self.anns, self.image_id, [self.positions[k] for k in order])


def contiguous_category_map(categories) -> dict:
    """Map category ids, sorted, to 1..K.

    Examples
    --------
    >>> contiguous_category_map({90: {}, 1: {}, 18: {}})
    {1: 1, 18: 2, 90: 3}
    """
    return {cid: i + 1 for i, cid in enumerate(sorted(categories))}


def _output_dtype(max_value: int):
    if max_value <= 255:
        return np.uint8
    if max_value <= 65535:
        return np.uint16
    return np.int32


def check_policies(overlap, crowd, ignore_value):
    if overlap not in OVERLAP_POLICIES:
        raise InvalidInputError(f"overlap must be one of {OVERLAP_POLICIES}; got {overlap!r}")
    if crowd not in CROWD_POLICIES:
        raise InvalidInputError(f"crowd must be one of {CROWD_POLICIES}; got {crowd!r}")
    if int(ignore_value) != ignore_value or not 0 < ignore_value <= 65535:
        raise InvalidInputError(f"ignore_value must be an integer in 1..65535; got "
                                f"{ignore_value!r}")


def flatten_image(index: CocoIndex, image_id, *, overlap="last", crowd="class",
                  ignore_value=255, category_map=None, dtype=None, threads=1,
                  count_claims=True):
    """Flatten one image of an indexed dataset; return ``(labels, FlattenStats)``.

    See :func:`coco_to_semantic` for the parameters; ``dtype`` forces the output dtype.
    ``threads`` defaults to 1 here: batch jobs run one image per worker. With
    ``count_claims=False`` the stats' ``contested_pixels`` and ``conflict_pixels`` are not
    counted (left 0), which saves a read of every painted pixel; the labels are the same.
    """
    check_policies(overlap, crowd, ignore_value)
    src = index.source
    if image_id not in index.images:
        raise InvalidAnnotationError(f"image_id {image_id!r} is not in the dataset", source=src)
    if image_id in index.bad_images:
        raise index.bad_images[image_id]
    info = index.images[image_id]
    h, w = check_image_size(info.height, info.width, source=src, obj=f"image {image_id}")
    anns = index.annotations[image_id]

    def name_of(i):
        return _ann_name(anns[i], i, image_id)

    objects = PolygonObjects(h, w, "coco", name_of)
    crowd_objects = PolygonObjects(h, w, "coco", name_of)
    values, names, scores, crowd_names = [], _Names(anns, image_id), [], _Names(anns, image_id)
    stats = FlattenStats()
    add = objects.add
    for i, ann in enumerate(anns):
        cid = ann["category_id"]
        if category_map is not None:
            if cid not in category_map:
                raise UnknownCategoryError(
                    f"category_id {cid!r} is not in the category map", source=src,
                    obj=_ann_name(ann, i, image_id))
            value = category_map[cid]
        else:
            value = cid
        if type(value) is not int and (not isinstance(value, (int, np.integer))
                                       or isinstance(value, bool)):
            raise InvalidAnnotationError(f"category_id {value!r} is not an integer",
                                         source=src, obj=_ann_name(ann, i, image_id))
        if ann.get("iscrowd", 0):
            stats.crowd_objects += 1
            if crowd == "skip":
                continue
            if crowd == "ignore":
                crowd_objects.add(ann["segmentation"], source=src, obj=i)
                crowd_names.append(i)
                continue
        if value == 0:  # mapped to background: not painted
            continue
        if value == ignore_value or value < 0:
            raise InvalidAnnotationError(
                f"category value {value} collides with ignore_value={ignore_value} or is "
                "negative; choose another ignore value or use contiguous ids",
                source=src, obj=_ann_name(ann, i, image_id),
            )
        if overlap == "score":
            if "score" not in ann:
                raise InvalidAnnotationError("has no 'score' (needed by overlap='score')",
                                             source=src, obj=_ann_name(ann, i, image_id))
            try:
                score = float(ann["score"])
            except (TypeError, ValueError, OverflowError):
                score = None
            if score is None or not np.isfinite(score):
                raise InvalidAnnotationError(
                    f"score must be a finite number; got {ann['score']!r}", source=src,
                    obj=_ann_name(ann, i, image_id))
            scores.append(score)
        add(ann["segmentation"], source=src, obj=i)
        values.append(int(value))
        names.append(i)

    max_value = max([ignore_value, *values]) if values else ignore_value
    if dtype is None:
        dtype = _output_dtype(max_value)
    if values and max(values) > np.iinfo(dtype).max:
        top = max(values)
        raise InvalidAnnotationError(
            f"category value {top} does not fit a {np.dtype(dtype).name} label map (at most "
            f"{np.iinfo(dtype).max}); use contiguous ids (category_map / --contiguous)",
            source=src, obj=names[values.index(top)],
        )
    # the label map and its claims map, sized by the image record's declared size
    check_bytes(h * w * (np.dtype(dtype).itemsize + 1),
                f"the {h}×{w} {np.dtype(dtype).name} label map", source=src,
                obj=f"image {image_id}")
    out = np.zeros((h, w), dtype=dtype)
    # pixels are claimed (out != 0) or not whatever the op; who claimed them is only
    # needed for overlap="void" and for the stats
    track = count_claims or overlap == "void"
    claims = np.zeros((h, w), dtype=np.uint8) if track else None
    n = len(values)
    vals = np.asarray(values, dtype=dtype)
    op = (_kc.OP_VOID if overlap == "void" else _kc.OP_SET_TRACK) if track else _kc.OP_SET
    if n:
        if overlap in ("area", "score"):
            if overlap == "area":
                xy, ro, orr, rs, re, orun = objects.arrays()
                objects.check_coordinates(xy, source=src, objs=names)
                key = -_kc.objects_area(xy, ro, orr, rs, re, orun, h, w)
            else:
                key = np.asarray(scores)
            order = np.argsort(key, kind="stable")
            objects, vals = objects.reordered(order), vals[order]
            names = names.reordered(order)
        ops = np.full(n, op, dtype=np.int64)
        st = paint_objects(out, objects, vals, ops, claims=claims, ignore=ignore_value, source=src,
                    objs=names, threads=threads)
        stats.contested_pixels = int(st[0])
        stats.conflict_pixels = int(st[1])
        stats.objects += n
    if len(crowd_objects):
        k = len(crowd_objects)
        paint_objects(out, crowd_objects, np.full(k, ignore_value, dtype=dtype),
               np.full(k, _kc.OP_FILL_FREE, dtype=np.int64), claims=claims,
               ignore=ignore_value, source=src, objs=crowd_names, threads=threads)
        stats.objects += k
    return out, stats
