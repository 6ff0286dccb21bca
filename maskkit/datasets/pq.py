"""Panoptic quality (PQ, SQ, RQ) with panopticapi's rules, one pass per image.

The rules (Kirillov et al., "Panoptic Segmentation", and panopticapi's ``pq_compute``):

* A predicted and a ground-truth segment of the same category match when their IoU is
  above 0.5; the union leaves out the predicted segment's pixels on ground-truth VOID
  (id 0).  Ground-truth crowd segments (``iscrowd=1``) are never matched.
* Unmatched ground-truth segments that are not crowd are false negatives.
* An unmatched prediction is ignored when more than half of it lies on VOID or on a
  crowd region of its own category; otherwise it is a false positive.
* Per category ``PQ = ΣIoU / (TP + FP/2 + FN/2)``, ``SQ = ΣIoU / TP``,
  ``RQ = TP / (TP + FP/2 + FN/2)``; "All", "Things" and "Stuff" average over the
  categories with any TP, FP or FN (``n`` of them).

Differences from panopticapi, all on inputs where it crashes or is ambiguous: an empty
class set gives PQ = SQ = RQ = 0 with ``n = 0`` (panopticapi divides by zero); when an
image has several crowd segments of one category (COCO allows one), all of them count as
crowd (panopticapi keeps only the last one listed).  The ground-truth ``area`` is read from
the JSON as panopticapi does (it is the pixel count when missing); run
``maskkit panoptic check`` to verify it.

Each image pair costs one pass over its pixels: a Numba kernel decodes both RGB PNGs'
ids and fills the (ground truth × prediction) intersection table directly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from maskkit._kernels import panoptic as _kp
from maskkit.core.panoptic import categories_by_id, is_thing, segment_ids
from maskkit.datasets.panoptic import png_name
from maskkit.errors import (
    InvalidAnnotationError,
    InvalidInputError,
    MaskkitError,
    UnknownCategoryError,
)
from maskkit.io.panoptic import load_panoptic_json, panoptic_folder
from maskkit.io.png import read_png_rgb_fast

__all__ = ["pq_average", "pq_compute", "pq_image_stats"]


def pq_image_stats(gt_ann, pred_ann, gt_rgb, pred_rgb, cat_index, *, gt_source=None,
                   pred_source=None) -> np.ndarray:
    """PQ statistics of one image pair: an (n_categories, 4) array (iou, tp, fp, fn).

    ``cat_index`` maps category id -> row.  ``gt_rgb``/``pred_rgb`` are (H, W, 3) uint8.

    Examples
    --------
    >>> import numpy as np
    >>> from maskkit import id2rgb
    >>> ids = np.array([[1, 1], [2, 2]])
    >>> ann = {"segments_info": [{"id": 1, "category_id": 7, "iscrowd": 0, "area": 2},
    ...                          {"id": 2, "category_id": 8, "iscrowd": 0, "area": 2}]}
    >>> pq_image_stats(ann, ann, id2rgb(ids), id2rgb(ids), {7: 0, 8: 1}).tolist()
    [[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]]
    """
    if gt_rgb.shape != pred_rgb.shape:
        raise InvalidInputError(
            f"prediction PNG is {pred_rgb.shape[0]}×{pred_rgb.shape[1]} but the ground truth "
            f"{gt_source} is {gt_rgb.shape[0]}×{gt_rgb.shape[1]}",
            source=pred_source,
        )
    gt_segs = gt_ann["segments_info"]
    pred_segs = pred_ann["segments_info"]
    gt_ids, gt_order = segment_ids(gt_segs, source=gt_source)
    pr_ids, pr_order = segment_ids(pred_segs, source=pred_source)
    # the intersection table has a cell per (gt, pred) segment pair, sized by the JSON
    from maskkit.limits import check_bytes

    check_bytes((gt_ids.size + 2) * (pr_ids.size + 2) * 8,
                f"the intersection table of {gt_ids.size} × {pr_ids.size} segments",
                source=pred_source)
    # the kernel reads flat views: a no-op for decoded PNGs, a copy for strided input
    table, unknown = _kp.pq_table_rgb(np.ascontiguousarray(gt_rgb, dtype=np.uint8),
                                      np.ascontiguousarray(pred_rgb, dtype=np.uint8),
                                      gt_ids, pr_ids)
    npred = pr_ids.size
    if unknown:
        raise InvalidAnnotationError("is in the PNG but not in the JSON",
                                     source=pred_source, obj=f"segment {int(unknown)}")
    ng = gt_ids.size
    gt_cat = np.empty(ng, dtype=np.int64)
    gt_crowd = np.zeros(ng, dtype=bool)
    gt_area = np.empty(ng, dtype=np.float64)
    counted = table[1:ng + 1].sum(axis=1)
    for pos, li in enumerate(gt_order):
        seg = gt_segs[li]
        cat = int(seg["category_id"])
        if cat not in cat_index:
            raise UnknownCategoryError(f"unknown category_id {cat}", source=gt_source,
                                       obj=f"segment {seg['id']}")
        gt_cat[pos] = cat_index[cat]
        gt_crowd[pos] = int(seg.get("iscrowd", 0)) == 1
        gt_area[pos] = float(seg["area"]) if "area" in seg else float(counted[pos])
    pr_cat = np.empty(npred, dtype=np.int64)
    pr_area = table[:, 1:npred + 1].sum(axis=0).astype(np.float64)
    for pos, li in enumerate(pr_order):
        seg = pred_segs[li]
        cat = int(seg["category_id"])
        if cat not in cat_index:
            raise UnknownCategoryError(f"unknown category_id {cat}", source=pred_source,
                                       obj=f"segment {seg['id']}")
        if pr_area[pos] == 0:
            raise InvalidAnnotationError("is in the JSON but not in the PNG",
                                         source=pred_source, obj=f"segment {seg['id']}")
        pr_cat[pos] = cat_index[cat]

    stats = np.zeros((len(cat_index), 4), dtype=np.float64)
    inter = table[1:ng + 1, 1:npred + 1].astype(np.float64)
    void_pred = table[0, 1:npred + 1].astype(np.float64)
    gt_matched = np.zeros(ng, dtype=bool)
    pr_matched = np.zeros(npred, dtype=bool)
    gi, pi = np.nonzero(inter)  # row-major: by ground-truth id, then predicted id
    for g, p in zip(gi.tolist(), pi.tolist(), strict=True):
        if gt_crowd[g] or gt_cat[g] != pr_cat[p]:
            continue
        i = inter[g, p]
        union = pr_area[p] + gt_area[g] - i - void_pred[p]
        if union <= 0:  # only with a wrong ground-truth 'area'
            continue
        iou = i / union
        if iou > 0.5:
            stats[gt_cat[g], 0] += iou
            stats[gt_cat[g], 1] += 1
            gt_matched[g] = True
            pr_matched[p] = True
    for g in np.flatnonzero(~gt_matched & ~gt_crowd).tolist():
        stats[gt_cat[g], 3] += 1
    crowd_rows = np.flatnonzero(gt_crowd)
    for p in np.flatnonzero(~pr_matched).tolist():
        ignored = void_pred[p]
        for g in crowd_rows.tolist():
            if gt_cat[g] == pr_cat[p]:
                ignored += inter[g, p]
        if ignored / pr_area[p] > 0.5:
            continue
        stats[pr_cat[p], 2] += 1
    return stats


def pq_average(stats: np.ndarray, categories: list[dict]) -> dict:
    """Results layout of panopticapi from per-category (iou, tp, fp, fn) sums.

    Examples
    --------
    >>> import numpy as np
    >>> cats = [{"id": 1, "isthing": 1}, {"id": 2, "isthing": 0}]
    >>> r = pq_average(np.array([[1.8, 2, 0, 1], [0, 0, 0, 0]]), cats)
    >>> round(r["All"]["pq"], 4), r["All"]["n"], r["Stuff"]
    (0.72, 1, {'pq': 0.0, 'sq': 0.0, 'rq': 0.0, 'n': 0})
    """
    results: dict = {}
    per_class: dict = {}
    present: list[int] = []
    for name, want in (("All", None), ("Things", True), ("Stuff", False)):
        pq = sq = rq = 0.0
        n = 0
        for row, cat in enumerate(categories):
            if want is not None and is_thing(cat) != want:
                continue
            iou, tp, fp, fn = (float(v) for v in stats[row])
            if tp + fp + fn == 0:
                per_class[int(cat["id"])] = {"pq": 0.0, "sq": 0.0, "rq": 0.0}
                continue
            n += 1
            if want is None:
                present.append(int(cat["id"]))
            denom = tp + 0.5 * fp + 0.5 * fn
            c = {"pq": iou / denom, "sq": iou / tp if tp else 0.0, "rq": tp / denom}
            per_class[int(cat["id"])] = c
            pq += c["pq"]
            sq += c["sq"]
            rq += c["rq"]
        if n:
            results[name] = {"pq": pq / n, "sq": sq / n, "rq": rq / n, "n": n}
        else:  # panopticapi divides by zero here
            results[name] = {"pq": 0.0, "sq": 0.0, "rq": 0.0, "n": 0}
        if name == "All":
            results["per_class"] = per_class
            per_class = {}
    # the classes in either ground truth or predictions (the others are 0.0 in per_class,
    # as panopticapi lists them, but take no part in the averages)
    results["present_classes"] = sorted(present)
    return results


def _pq_indexed(job):
    return job[0], _pq_one(job[1])


def _pq_one(job):
    gt_ann, pred_ann, gt_path, pred_path, cat_index = job
    try:
        gt_rgb = read_png_rgb_fast(gt_path)
        pred_rgb = read_png_rgb_fast(pred_path)
        return pq_image_stats(gt_ann, pred_ann, gt_rgb, pred_rgb, cat_index,
                              gt_source=str(gt_path), pred_source=str(pred_path))
    except MaskkitError as exc:
        raise exc.with_context(obj=f"image {gt_ann.get('image_id')}") from None


def _sum_stats(jobs, n_cats, workers, progress, on_error="raise", engine="local",
               scheduler=None, skipped=None, threads=None) -> np.ndarray:
    """Per-category sums over images, added in input order (deterministic floats)."""
    per_image: list = [None] * len(jobs)
    serial = workers is None or workers <= 1 or len(jobs) < 2
    if serial and engine == "local" and on_error == "raise":
        # PNG inflation (zlib) and the Numba kernels release the GIL, so a few threads in
        # this process overlap the images; map() keeps the input order for the sums
        n_threads = threads if threads is not None else min(4, os.cpu_count() or 1)
        if n_threads > 1 and len(jobs) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(n_threads) as pool:
                per_image = list(pool.map(_pq_one, jobs))
        else:
            for i, job in enumerate(jobs):
                per_image[i] = _pq_one(job)
    else:
        from maskkit.parallel import run_batch

        for res in run_batch(_pq_indexed, list(enumerate(jobs)), workers=workers or 1,
                             on_error=on_error, desc="images", progress=progress,
                             engine=engine, scheduler=scheduler):
            if res.error is not None:
                if skipped is not None:
                    skipped.append((res.item[0], {"image_id": res.item[1][0].get("image_id"),
                                                  "error": str(res.error)}))
                continue
            i, value = res.value
            per_image[i] = value
        if skipped is not None:  # in the order of the images, whatever finished first
            skipped.sort(key=lambda entry: entry[0])
            skipped[:] = [record for _, record in skipped]
    stats = np.zeros((n_cats, 4), dtype=np.float64)
    for s in per_image:
        if s is not None:
            stats += s
    return stats


def pq_compute(gt_json, pred_json, gt_folder=None, pred_folder=None, *, workers=None,
               progress: bool | None = False, on_error: str = "raise", engine: str = "local",
               scheduler: str | None = None, threads: int | None = None) -> dict:
    """Panoptic quality of predictions against ground truth, as panopticapi computes it.

    Parameters
    ----------
    gt_json, pred_json : str, path or dict
        COCO panoptic documents; categories come from ``gt_json`` (``isthing`` needed).
        Every ground-truth image needs a prediction (matched by ``image_id``).
    gt_folder, pred_folder : str or path, optional
        PNG folders; default: each JSON path without ``.json`` (panopticapi's rule).
    workers : int, optional
        Worker processes (:func:`maskkit.parallel.run_batch`); default: one at a time,
        in this process.
    progress : bool, optional
        Progress on stderr when evaluating in parallel (``None``: automatic). Default off.
    on_error : {"raise", "skip"}
        ``"skip"``: an image that cannot be evaluated (unreadable PNG, segments that do
        not match it) is left out of the sums and listed in ``results["skipped"]``
        (``{"image_id", "error"}`` each).
    engine, scheduler
        Where the images are evaluated (see :func:`maskkit.parallel.run_batch`).
    threads : int, optional
        With one worker process: threads that overlap the images (PNG inflation and the
        kernels release the GIL). Default ``min(4, cores)``; ``1`` evaluates one image at
        a time.

    Returns
    -------
    dict
        ``"All"``, ``"Things"``, ``"Stuff"``: each ``{"pq", "sq", "rq", "n"}``; and
        ``"per_class"``: category id -> ``{"pq", "sq", "rq"}`` (every category, 0.0 for
        those in neither side, as panopticapi); ``"present_classes"``: the ids of the
        categories in the ground truth or the predictions (those the averages count).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from PIL import Image
    >>> from maskkit import id2rgb
    >>> d = tempfile.mkdtemp()
    >>> Image.fromarray(id2rgb(np.array([[1, 1], [2, 2]]))).save(os.path.join(d, "a.png"))
    >>> doc = {"categories": [{"id": 7, "isthing": 1}, {"id": 8, "isthing": 0}],
    ...        "annotations": [{"image_id": 1, "file_name": "a.png", "segments_info": [
    ...            {"id": 1, "category_id": 7, "iscrowd": 0, "area": 2},
    ...            {"id": 2, "category_id": 8, "iscrowd": 0, "area": 2}]}]}
    >>> r = pq_compute(doc, doc, d, d)
    >>> r["All"], r["per_class"][8]["pq"]
    ({'pq': 1.0, 'sq': 1.0, 'rq': 1.0, 'n': 2}, 1.0)
    """
    gt_doc, gt_path = load_panoptic_json(gt_json, "gt_json")
    pred_doc, pred_path = load_panoptic_json(pred_json, "pred_json")
    gt_dir = panoptic_folder(gt_path, gt_folder, "pq_compute (gt_folder)")
    pred_dir = panoptic_folder(pred_path, pred_folder, "pq_compute (pred_folder)")
    for folder, what in ((gt_dir, "ground-truth"), (pred_dir, "prediction")):
        if not Path(folder).is_dir():
            raise InvalidInputError(f"{what} PNG folder {folder} does not exist")
    cats = list(categories_by_id(gt_doc, source=gt_path).values())
    for c in cats:
        is_thing(c, source=gt_path)
    cat_index = {int(c["id"]): i for i, c in enumerate(cats)}
    gt_anns = gt_doc.get("annotations")
    pred_anns = pred_doc.get("annotations")
    for anns, src in ((gt_anns, gt_path), (pred_anns, pred_path)):
        if not isinstance(anns, list):
            raise InvalidAnnotationError("has no 'annotations' list", source=src)
        for i, a in enumerate(anns):
            if not isinstance(a, Mapping) or "segments_info" not in a or "image_id" not in a:
                raise InvalidAnnotationError(
                    f"annotation #{i} needs 'image_id', 'file_name' and 'segments_info'",
                    source=src,
                )
    pred_by_image = {a["image_id"]: a for a in pred_anns}
    jobs = []
    for gt_ann in gt_anns:
        pred_ann = pred_by_image.get(gt_ann["image_id"])
        if pred_ann is None:
            raise InvalidAnnotationError(
                f"no prediction for image {gt_ann['image_id']}", source=pred_path
            )
        jobs.append((gt_ann, pred_ann,
                     gt_dir / png_name(gt_ann, source=gt_path),
                     pred_dir / png_name(pred_ann, source=pred_path), cat_index))
    skipped: list = []
    stats = _sum_stats(jobs, len(cats), workers, progress, on_error, engine, scheduler, skipped,
                       threads)
    results = pq_average(stats, cats)
    if on_error == "skip":
        results["skipped"] = skipped
    return results
