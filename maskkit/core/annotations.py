"""Label images -> COCO instance annotations (compressed RLE or polygons), in memory.

An *instance* label image holds one id per object (0 = background); a *semantic* mask
holds a class per pixel, and its objects are the connected components of each class
(one multilabel pass of :func:`maskkit.core.label.label`).  Every object is measured and
encoded inside its own bounding box: no full-size mask is ever made per object.

Segmentations
-------------
``"rle"``
    Compressed COCO RLE of the object's pixels, byte-identical to
    ``pycocotools.mask.encode`` of its mask: the round trip is exact.
``"polygons"``
    The outlines traced along pixel edges (``rasterio.features.shapes``); COCO's
    rasteriser samples pixel centres, so these reproduce the mask exactly, and each
    object's polygons are checked to do so.  COCO polygons cannot hold holes (the parts
    of a segmentation are unioned), so an object with a hole, or one whose polygons do not
    reproduce it, is written as RLE instead.  ``simplify > 0`` simplifies the outlines
    (Douglas-Peucker, topology kept) and skips the check.

``area`` is the object's pixel count and ``bbox`` its ``[x, y, width, height]`` in pixels,
both from the mask, as ``pycocotools.mask.area`` / ``toBbox`` give them for the RLE.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from maskkit._kernels import ccl
from maskkit._kernels import rle as _kr
from maskkit.errors import InvalidInputError, UnknownCategoryError

__all__ = ["KINDS", "SEGMENTATIONS", "label_image_annotations", "trace_outlines"]


KINDS = ("instance", "semantic")


SEGMENTATIONS = ("rle", "polygons")


def _objects(labels: np.ndarray, kind: str, connectivity: int, ignore):
    """``(label image, object labels, values, area, bbox (r0, c0, r1, c1))`` per object.

    For an instance image the label image is the input itself and values are the ids;
    for a semantic mask it is the component labelling and values are the classes.
    """
    from maskkit.core.checks import as_array, check_connectivity
    from maskkit.core.label import for_kernel, label_output, label_runs, paint_labels

    labels = as_array(labels, "labels")
    if labels.ndim != 2:
        raise InvalidInputError(f"labels must be 2-D (H, W); got shape {labels.shape}")
    if labels.dtype.kind == "b":
        labels = labels.view(np.uint8)
    if labels.dtype.kind == "i" and labels.size and int(labels.min()) < 0:
        raise InvalidInputError(
            f"labels must hold values >= 0; got a minimum of {int(labels.min())}"
        )
    if kind == "semantic":
        conn = check_connectivity(connectivity, 2)
        runs = label_runs(labels, conn, False, labels.dtype.type(0), False)
        comp = paint_labels(runs, label_output(None, labels.shape, runs.n), False)
        if runs.n == 0:
            return comp, *_empty()
        area, lo, hi, _ = ccl.run_stats(
            runs.bounds, runs.runlab, runs.final, runs.row_first, runs.row_count,
            labels.shape[0], labels.shape[1], runs.n,
        )  # fmt: skip
        _, value = ccl.component_areas_and_values(
            runs.bounds, runs.values, runs.runlab, runs.final, runs.row_first,
            runs.row_count, runs.n,
        )  # fmt: skip
        ids = np.arange(1, runs.n + 1)
        value = value[ids].astype(np.int64)
    else:
        top = int(labels.max()) if labels.size else 0
        if top == 0:
            return labels, *_empty()
        if top > 4 * labels.size + 65536:  # sparse huge ids: renumber to keep tables small
            uniq, inverse = np.unique(labels, return_inverse=True)
            compact = inverse.reshape(labels.shape).astype(np.int64)
            area, lo, hi, _ = ccl.label_image_stats(for_kernel(compact), uniq.size - 1)
            keep = np.flatnonzero(area > 0)
            keep = keep[uniq[keep] != 0]
            return compact, keep, uniq[keep].astype(np.int64), area[keep], \
                np.concatenate([lo[keep, 1:], hi[keep, 1:]], axis=1)
        area, lo, hi, _ = ccl.label_image_stats(for_kernel(labels), top)
        ids = np.flatnonzero(area)
        ids = ids[ids != 0]
        value = ids.astype(np.int64)
        comp = labels
    bbox = np.concatenate([lo[ids, 1:], hi[ids, 1:]], axis=1)
    keep = ~np.isin(value, np.asarray(list(ignore), np.int64)) if ignore else \
        np.ones(ids.size, bool)
    return comp, ids[keep], value[keep], area[ids][keep], bbox[keep]


def _empty():
    z = np.zeros(0, np.int64)
    return z, z, z, np.zeros((0, 4), np.int64)


def _crop_rle(crop: np.ndarray, r0: int, c0: int, h: int, w: int) -> dict:
    """Compressed COCO RLE of the full (h, w) image whose only pixels are ``crop`` at
    ``(r0, c0)``, computed from the crop alone."""
    from maskkit.core.rle import counts_to_rle

    ch, cw = crop.shape
    # column-major with a zero separator after each column: runs never span two columns
    padded = np.zeros((cw, ch + 1), np.int8)
    padded[:, :ch] = crop.T
    d = np.diff(padded.ravel(), prepend=0)
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    col_s, row_s = np.divmod(starts, ch + 1)
    col_e, row_e = np.divmod(ends, ch + 1)
    gs = (c0 + col_s) * h + r0 + row_s
    ge = (c0 + col_e) * h + r0 + row_e
    if gs.size > 1:  # a full-height crop: runs of adjacent columns touch
        join = gs[1:] == ge[:-1]
        if join.any():
            first = np.concatenate(([True], ~join))
            last = np.concatenate((~join, [True]))
            gs, ge = gs[first], ge[last]
    counts = _kr.runs_to_counts(gs.astype(np.int64), ge.astype(np.int64), h * w)
    return counts_to_rle(counts, h, w, True)


def _crop_polygons(crop: np.ndarray, r0: int, c0: int, simplify: float):
    """COCO polygons tracing ``crop`` along pixel edges, or None when it needs RLE."""
    import shapely
    from affine import Affine
    from rasterio.features import shapes

    from maskkit.core.rasterize import paint_polygons

    parts = []
    for geom, _ in shapes(crop, mask=crop.astype(bool), connectivity=4,
                          transform=Affine.translation(c0, r0)):
        if len(geom["coordinates"]) > 1:
            return None  # a hole: COCO polygons are unioned parts, they cannot carve one
        ring = np.asarray(geom["coordinates"][0], np.float64)
        if simplify > 0:
            simple = shapely.simplify(shapely.Polygon(ring), simplify, preserve_topology=True)
            if simple.is_empty or simple.geom_type != "Polygon":
                continue
            ring = np.asarray(simple.exterior.coords)
        ring = ring[:-1]  # COCO rings are implicitly closed
        if len(ring) < 3:
            continue
        parts.append(ring.ravel().tolist())
    if not parts:
        return None
    if simplify <= 0:
        # prove the outline reproduces the mask under COCO's rasteriser, in the crop
        local = [(np.asarray(p).reshape(-1, 2) - (c0, r0)).ravel().tolist() for p in parts]
        check = np.zeros(crop.shape, np.uint8)
        paint_polygons(check, [local], 1)
        if not np.array_equal(check, crop):
            return None
    return parts


def trace_outlines(mask, *, offset=(0, 0)) -> list[list[list[float]]]:
    """The outlines of a binary mask, traced along pixel edges, holes included.

    Each 4-connected region of the mask gives one polygon: its exterior ring first, then
    one ring per hole.  Vertices are pixel corners (whole numbers), so COCO's rasteriser
    (which samples pixel centres) gives back exactly the region's pixels from the
    exterior ring, and exactly the hole's pixels from a hole ring; rings are flat
    ``[x1, y1, x2, y2, ...]`` lists, implicitly closed (the first vertex is not repeated).

    Parameters
    ----------
    mask : array_like of bool or int, shape (H, W)
        Non-zero pixels are traced.
    offset : (int, int)
        ``(x, y)`` added to every vertex (the position of a crop in its image).

    Returns
    -------
    list of list of list of float
        ``[[exterior, hole, hole, ...], ...]``, one entry per region, in raster order
        of rasterio's tracer (``rasterio.features.shapes``, 4-connectivity).

    Examples
    --------
    >>> import numpy as np
    >>> ring = np.ones((3, 3), np.uint8); ring[1, 1] = 0
    >>> [[len(r) // 2 for r in rings] for rings in trace_outlines(ring)]
    [[4, 4]]
    >>> trace_outlines(np.array([[0, 1]]), offset=(10, 5))
    [[[11.0, 5.0, 11.0, 6.0, 12.0, 6.0, 12.0, 5.0]]]
    """
    from affine import Affine
    from rasterio.features import shapes

    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise InvalidInputError(f"mask must be 2-D (H, W); got shape {mask.shape}")
    crop = (mask != 0).view(np.uint8) if mask.dtype != np.uint8 else (mask != 0).astype(np.uint8)
    if not crop.any():
        return []
    out = []
    for geom, _ in shapes(crop, mask=crop.astype(bool), connectivity=4,
                          transform=Affine.translation(*offset)):
        out.append([np.asarray(r, np.float64)[:-1].ravel().tolist()
                    for r in geom["coordinates"]])
    return out


def label_image_annotations(
    labels,
    *,
    kind: str = "instance",
    segmentation: str = "rle",
    connectivity: int = 8,
    simplify: float = 0.0,
    min_area: int = 0,
    ignore: Iterable[int] = (),
    image_id: int = 1,
    first_id: int = 1,
    category_of=None,
) -> list[dict]:
    """COCO annotations of the objects of one label image.

    Parameters
    ----------
    labels : array_like of int or bool, shape (H, W)
        Instance ids (``kind="instance"``) or classes (``kind="semantic"``); 0 is background.
    kind : {"instance", "semantic"}
        Each distinct id is an object, or each connected component of each class is.
    segmentation : {"rle", "polygons"}
        Compressed RLE, or polygons traced along pixel edges (RLE for objects with holes).
    connectivity : {4, 8}
        Semantic only: the neighbourhood of a connected component.
    simplify : float
        Polygons only: Douglas-Peucker tolerance in pixels (0 keeps them exact).
    min_area : int
        Objects with fewer pixels are left out.
    ignore : iterable of int
        Values that are not objects (e.g. 255 in a semantic mask).
    image_id, first_id : int
        The ``image_id`` of every annotation, and the ``id`` of the first one.
    category_of : callable or mapping, optional
        The category id of an object from its value (class or instance id); by default
        the class itself (semantic) or 1 (instance).

    Returns
    -------
    list of dict
        COCO annotations ``{"id", "image_id", "category_id", "segmentation", "area",
        "bbox", "iscrowd"}`` in object order (ids ascending; components in raster order).

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([[0, 2, 2, 0],
    ...                    [0, 2, 2, 0],
    ...                    [5, 0, 0, 0]])
    >>> anns = label_image_annotations(labels, segmentation="polygons")
    >>> [(a["area"], a["bbox"], a["segmentation"]) for a in anns]
    [(4, [1, 0, 2, 2], [[1.0, 0.0, 1.0, 2.0, 3.0, 2.0, 3.0, 0.0]]), (1, [0, 2, 1, 1], [[0.0, 2.0, 0.0, 3.0, 1.0, 3.0, 1.0, 2.0]])]
    >>> label_image_annotations(labels)[1]["segmentation"]
    {'size': [3, 4], 'counts': '219'}
    """
    if kind not in KINDS:
        raise InvalidInputError(f"kind must be one of {KINDS}; got {kind!r}")
    if segmentation not in SEGMENTATIONS:
        raise InvalidInputError(
            f"segmentation must be one of {SEGMENTATIONS}; got {segmentation!r}"
        )
    if not simplify >= 0:
        raise InvalidInputError(f"simplify must be >= 0 pixels; got {simplify!r}")
    if int(min_area) != min_area or min_area < 0:
        raise InvalidInputError(f"min_area must be a whole number >= 0; got {min_area!r}")
    if category_of is None:
        category_of = (lambda v: int(v)) if kind == "semantic" else (lambda v: 1)
    elif isinstance(category_of, Mapping):
        table = category_of

        def category_of(v, _table=table):
            if int(v) not in _table:
                raise UnknownCategoryError(
                    f"value {int(v)} has no category in the class map. Fix: add it to the "
                    "class map, or list it in ignore"
                )
            return int(_table[int(v)])

    comp, ids, values, areas, bboxes = _objects(np.asarray(labels), kind, connectivity, ignore)
    h, w = comp.shape
    anns = []
    for k, v, area, (r0, c0, r1, c1) in zip(ids, values, areas, bboxes, strict=True):
        if area < min_area:
            continue
        r0, c0, r1, c1 = int(r0), int(c0), int(r1), int(c1)
        crop = (comp[r0:r1, c0:c1] == k).view(np.uint8)
        seg = None
        if segmentation == "polygons":
            seg = _crop_polygons(crop, r0, c0, float(simplify))
        if seg is None:
            seg = _crop_rle(crop, r0, c0, h, w)
        anns.append({
            "id": first_id + len(anns),
            "image_id": int(image_id),
            "category_id": category_of(v),
            "segmentation": seg,
            "area": int(area),
            "bbox": [c0, r0, c1 - c0, r1 - r0],
            "iscrowd": 0,
        })
    return anns

