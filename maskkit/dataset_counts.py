"""Per-image object counts of annotation datasets (COCO instances, COCO panoptic).

These back ``maskkit count --kind coco|panoptic``: the same ``(class, count, area)`` rows
as counting a mask, so datasets and masks can be compared row for row.
"""

from __future__ import annotations

import numpy as np

from maskkit.errors import InvalidAnnotationError

__all__ = ["coco_image_counts", "panoptic_image_counts"]


def coco_image_counts(index, image_id) -> list[tuple[int, int, int]]:
    """``[(category, count, area), ...]`` of one image of a COCO instances index.

    ``count`` is the number of non-crowd annotations of the category; ``area`` is the
    number of pixels of the category in the image (the union of its annotations, crowd
    regions included, pycocotools' pixels).

    Examples
    --------
    >>> from maskkit.io.coco import load_coco
    >>> idx = load_coco({"images": [{"id": 1, "height": 6, "width": 6}],
    ...     "categories": [{"id": 4}],
    ...     "annotations": [
    ...         {"id": 1, "image_id": 1, "category_id": 4, "segmentation": [0, 0, 3, 3]},
    ...         {"id": 2, "image_id": 1, "category_id": 4, "segmentation": [2, 2, 3, 3]}]})
    >>> coco_image_counts(idx, 1)
    [(4, 2, 17)]
    """
    from maskkit.flatten import flatten_image

    anns = index.annotations[image_id]
    counts: dict[int, int] = {}
    for ann in anns:
        cid = int(ann["category_id"])
        counts.setdefault(cid, 0)
        if not ann.get("iscrowd", 0):
            counts[cid] += 1
    if not counts:
        return []
    top = max(counts)
    labels, _ = flatten_image(index, image_id, overlap="last", crowd="class",
                              ignore_value=max(top + 1, 255),
                              dtype=np.uint8 if top < 255 else np.int32)
    values, areas = np.unique(labels, return_counts=True)
    area = {int(v): int(a) for v, a in zip(values, areas) if v}
    # a class entirely painted over by others still has its annotations counted
    return sorted((c, n, area.get(c, 0)) for c, n in counts.items())


def panoptic_image_counts(annotation, ids, *, source=None) -> list[tuple[int, int, int]]:
    """``[(category, count, area), ...]`` of one panoptic image.

    ``ids`` is the image's id map (``rgb2id`` of its PNG). ``count`` is the number of
    non-crowd segments of the category present in the PNG; ``area`` the pixels of all its
    segments (crowd included). A PNG id missing from ``segments_info`` is an error.

    Examples
    --------
    >>> import numpy as np
    >>> ann = {"file_name": "a.png", "segments_info": [
    ...     {"id": 1, "category_id": 7}, {"id": 2, "category_id": 7},
    ...     {"id": 3, "category_id": 7, "iscrowd": 1}, {"id": 9, "category_id": 8}]}
    >>> panoptic_image_counts(ann, np.array([[1, 1, 2], [0, 3, 9]]))
    [(7, 2, 4), (8, 1, 1)]
    """
    name = f"image {annotation.get('image_id', annotation.get('file_name'))}"
    segs = {int(s["id"]): s for s in annotation.get("segments_info", [])}
    uniq, cnt = np.unique(np.asarray(ids), return_counts=True)
    counts: dict[int, int] = {}
    areas: dict[int, int] = {}
    for sid, n in zip(uniq.tolist(), cnt.tolist()):
        if sid == 0:
            continue
        seg = segs.get(sid)
        if seg is None:
            raise InvalidAnnotationError(
                f"segment id {sid} is in the PNG but not in segments_info "
                "(run `maskkit panoptic check`)", source=source, obj=name,
            )
        cid = int(seg["category_id"])
        areas[cid] = areas.get(cid, 0) + n
        counts[cid] = counts.get(cid, 0) + (0 if seg.get("iscrowd", 0) else 1)
    return sorted((c, counts[c], areas[c]) for c in counts)
