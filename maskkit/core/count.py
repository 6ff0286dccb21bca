"""Count objects in semantic masks and instance label images.

A *semantic* mask holds a class value per pixel; its objects are the connected components
of each class, found in one multilabel labelling pass over the whole mask (no loop over
classes).  An *instance* label image holds an object id per pixel; its objects are the
distinct ids.  Either way ``0`` and the values in ``ignore`` are not classes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from maskkit._kernels import ccl
from maskkit.core.checks import as_array, check_connectivity, check_ignore, check_min_area
from maskkit.core.label import label_runs
from maskkit.errors import InvalidAnnotationError, InvalidInputError

__all__ = ["ALL_INSTANCES", "coco_image_counts", "component_areas", "count_objects", "count_table",
           "panoptic_image_counts"]

#: The class key under which an instance label image without ``class_map`` is counted.
ALL_INSTANCES = -1

_KINDS = ("semantic", "instance")


def table_from_counts(classes, counts, areas, ignore: np.ndarray) -> dict[int, tuple[int, int]]:
    skip = {0, *ignore.tolist()}
    return {
        c: (n, a)
        for c, n, a in zip(classes.tolist(), counts.tolist(), areas.tolist(), strict=True)
        if c not in skip
    }


def group_counts(keys: np.ndarray, counted: np.ndarray, areas: np.ndarray):
    """Per distinct key: how many items are counted and their total area."""
    classes, inverse = np.unique(keys, return_inverse=True)
    counts = np.bincount(inverse, weights=counted, minlength=classes.size).astype(np.int64)
    total = np.bincount(inverse, weights=areas, minlength=classes.size).astype(np.int64)
    return classes, counts, total


def _semantic(mask: np.ndarray, connectivity: int, min_area: int, ignore: np.ndarray):
    if mask.dtype.kind == "b":
        mask = mask.view(np.uint8)
    runs = label_runs(mask, connectivity, False, mask.dtype.type(0), False, keep_scratch=True)
    if runs.n == 0:
        return {}
    return table_from_counts(*ccl.class_table(runs.bounds, runs.values, runs.runlab, runs.final,
                                   runs.row_first, runs.row_count, runs.n, min_area), ignore)


def component_areas(mask, *, connectivity: int = 8, ignore=(255,)):
    """Class and area of every connected component of a semantic mask.

    The same labelling pass as :func:`count_table`, keeping each component's area instead
    of summing them per class (no label image is painted).

    Returns
    -------
    classes, areas : ndarray of int64, shape (N,)
        Per component, in the labelling's order; background ``0`` and ``ignore`` values
        are left out.

    Examples
    --------
    >>> import numpy as np
    >>> from maskkit.core.count import component_areas
    >>> mask = np.array([[1, 1, 0, 2],
    ...                  [0, 0, 0, 0],
    ...                  [1, 0, 255, 2]], dtype=np.uint8)
    >>> [a.tolist() for a in component_areas(mask)]
    [[1, 2, 1, 2], [2, 1, 1, 1]]
    """
    mask = as_array(mask, "mask")
    ignore = check_ignore(ignore)
    conn = check_connectivity(connectivity, mask.ndim)
    if mask.dtype.kind == "b":
        mask = mask.view(np.uint8)
    empty = np.zeros(0, np.int64)
    if mask.size == 0:
        return empty, empty
    runs = label_runs(mask, conn, False, mask.dtype.type(0), False, keep_scratch=True)
    if runs.n == 0:
        return empty, empty
    area, value = ccl.component_areas_and_values(runs.bounds, runs.values, runs.runlab,
                                                 runs.final, runs.row_first, runs.row_count,
                                                 runs.n)
    value = value[1:].astype(np.int64)
    area = area[1:]
    keep = (value != 0) & ~np.isin(value, ignore) if ignore.size else value != 0
    return value[keep], area[keep]


def _pixel_counts(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct non-negative ``keys`` and their pixel counts (bincount when dense enough)."""
    if keys.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    top = int(keys.max())
    if top <= 4 * keys.size + 65536:
        counts = np.bincount(keys, minlength=top + 1)
        ids = np.flatnonzero(counts)
        return ids, counts[ids]
    return np.unique(keys, return_counts=True)


def _class_of_ids(ids: np.ndarray, class_map: Mapping) -> np.ndarray:
    missing = [int(i) for i in ids if int(i) not in class_map]
    if missing:
        raise InvalidInputError(
            f"class_map has no class for instance id(s) {missing[:10]}"
            f"{' ...' if len(missing) > 10 else ''}. Fix: add them to class_map"
        )
    return np.asarray([int(class_map[int(i)]) for i in ids], np.int64)


def _instance(ids: np.ndarray, min_area: int, ignore: np.ndarray, class_map):
    flat = ids.reshape(-1)
    if class_map is None:
        flat = flat[(flat != 0) & ~np.isin(flat, ignore)] if ignore.size else flat[flat != 0]
        uniq, area = _pixel_counts(flat.astype(np.int64, copy=False))
        if uniq.size == 0:
            return {}
        return {ALL_INSTANCES: (int((area >= min_area).sum()), int(area.sum()))}
    if isinstance(class_map, Mapping):
        uniq, area = _pixel_counts(flat[flat != 0].astype(np.int64, copy=False))
        classes = _class_of_ids(uniq, class_map)
        return table_from_counts(*group_counts(classes, area >= min_area, area), ignore)
    cmap = as_array(class_map, "class_map")
    if cmap.shape != ids.shape:
        raise InvalidInputError(
            f"class_map must be a mapping id -> class or an array of the mask's shape "
            f"{ids.shape}; got an array of shape {cmap.shape}"
        )
    cls = cmap.reshape(-1).astype(np.int64)
    fg = flat != 0
    if int(cls.min(initial=0)) < 0:
        raise InvalidInputError("class_map must hold classes >= 0; got a negative class")
    ids64 = flat[fg].astype(np.int64)
    cls = cls[fg]
    # one key per (id, class) pair: an instance spanning two classes counts in both
    pairs = ids64 * (int(cls.max(initial=0)) + 1) + cls
    uniq, area = _pixel_counts(pairs)
    pair_class = uniq % (int(cls.max(initial=0)) + 1)
    return table_from_counts(*group_counts(pair_class, area >= min_area, area), ignore)


def count_table(
    mask,
    *,
    kind: str = "semantic",
    connectivity: int = 8,
    min_area: int = 0,
    ignore=(255,),
    class_map=None,
) -> dict[int, tuple[int, int]]:
    """Objects and pixels per class: ``{class: (count, area)}``.

    ``area`` is the class's total pixel count, small objects included; ``count`` only
    counts objects of at least ``min_area`` pixels, so a class can have count 0.  Classes
    absent from the mask are absent from the table.  See :func:`count_objects` for the
    parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from maskkit.core.count import count_table
    >>> mask = np.array([[1, 1, 0, 2],
    ...                  [0, 0, 0, 0],
    ...                  [1, 0, 255, 2]], dtype=np.uint8)
    >>> count_table(mask)
    {1: (2, 3), 2: (2, 2)}
    >>> count_table(mask, min_area=2)
    {1: (1, 3), 2: (0, 2)}
    """
    if kind not in _KINDS:
        raise InvalidInputError(f"kind must be one of {_KINDS}; got {kind!r}")
    mask = as_array(mask, "mask")
    min_area = check_min_area(min_area)
    ignore = check_ignore(ignore)
    if mask.size == 0:
        return {}
    if kind == "semantic":
        if class_map is not None:
            raise InvalidInputError(
                "class_map applies to kind='instance' only; a semantic mask already holds classes"
            )
        conn = check_connectivity(connectivity, mask.ndim)
        return _semantic(mask, conn, min_area, ignore)
    if mask.dtype == np.uint64 and int(mask.max()) > np.iinfo(np.int64).max:
        raise InvalidInputError(
            f"instance ids must be below 2**63; got {int(mask.max())}. Fix: relabel the ids "
            "(e.g. np.unique(mask, return_inverse=True))"
        )
    if mask.dtype.kind == "i" and int(mask.min()) < 0:
        raise InvalidInputError(
            f"an instance label image must hold ids >= 0; got a minimum of {int(mask.min())}"
        )
    return _instance(mask, min_area, ignore, class_map)


def count_objects(
    mask,
    *,
    kind: str = "semantic",
    connectivity: int = 8,
    min_area: int = 0,
    ignore=(255,),
    class_map=None,
) -> dict[int, int]:
    """Count objects per class in a semantic mask or an instance label image.

    Parameters
    ----------
    mask : array_like of int or bool, 2-D or 3-D
        ``kind="semantic"``: a class value per pixel; ``kind="instance"``: an object id per
        pixel (0 = no object).
    kind : {"semantic", "instance"}, default "semantic"
        Semantic masks count the connected components of each class, all classes in one
        multilabel pass; instance images count distinct non-zero ids.
    connectivity : int, default 8
        Semantic only: 4 or 8 for 2-D, 6, 18 or 26 for 3-D.
    min_area : int, default 0
        Objects with fewer pixels are not counted.
    ignore : sequence of int, default (255,)
        Values that are not classes (``0`` never is); for an instance image without
        ``class_map``, ids that are not objects.
    class_map : mapping or array_like, optional
        Instance only: the class of each id (``{id: class}``) or of each pixel (an array of
        the mask's shape).  An id found in two classes counts once in each.  Without it,
        every instance is counted under the key :data:`ALL_INSTANCES` (``-1``).

    Returns
    -------
    dict[int, int]
        ``{class: number of objects}`` for every class present in the mask, in increasing
        class order (a class whose objects are all below ``min_area`` maps to 0).

    Examples
    --------
    >>> import numpy as np
    >>> from maskkit.core.count import count_objects
    >>> semantic = np.array([[1, 1, 0, 2],
    ...                      [0, 0, 0, 2],
    ...                      [1, 0, 0, 0]], dtype=np.uint8)
    >>> count_objects(semantic)
    {1: 2, 2: 1}
    >>> count_objects(semantic, connectivity=4, min_area=2)
    {1: 1, 2: 1}
    >>> instances = np.array([[5, 5, 0, 7],
    ...                       [0, 0, 0, 7]])
    >>> count_objects(instances, kind="instance")
    {-1: 2}
    >>> count_objects(instances, kind="instance", class_map={5: 1, 7: 1})
    {1: 2}
    """
    table = count_table(
        mask,
        kind=kind,
        connectivity=connectivity,
        min_area=min_area,
        ignore=ignore,
        class_map=class_map,
    )
    return {c: n for c, (n, _) in table.items()}


def coco_image_counts(index, image_id) -> dict[int, tuple[int, int]]:
    """``{category: (count, area)}`` of one image of a COCO instances index (the shape of
    :func:`count_table`, sorted by category).

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
    {4: (2, 17)}
    """
    from maskkit.core.flatten import flatten_image

    anns = index.annotations[image_id]
    counts: dict[int, int] = {}
    for ann in anns:
        cid = int(ann["category_id"])
        counts.setdefault(cid, 0)
        if not ann.get("iscrowd", 0):
            counts[cid] += 1
    if not counts:
        return {}
    top = max(counts)
    labels, _ = flatten_image(index, image_id, overlap="last", crowd="class",
                              ignore_value=max(top + 1, 255),
                              dtype=np.uint8 if top < 255 else np.int32)
    values, areas = np.unique(labels, return_counts=True)
    area = {int(v): int(a) for v, a in zip(values, areas) if v}
    # a class entirely painted over by others still has its annotations counted
    return {c: (counts[c], area.get(c, 0)) for c in sorted(counts)}


def panoptic_image_counts(annotation, ids, *, source=None) -> dict[int, tuple[int, int]]:
    """``{category: (count, area)}`` of one panoptic image (the shape of :func:`count_table`).

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
    {7: (2, 4), 8: (1, 1)}
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
    return {c: (counts[c], areas[c]) for c in sorted(counts)}
