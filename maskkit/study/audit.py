"""Dataset audit: should this data be annotated with instance or semantic masks?

For a COCO instances dataset (or a sample of it) :func:`audit_dataset` measures, per image,
the objects, the same-class pairs that overlap (share pixels) or touch (8-adjacent), the
count error that a semantic-only annotation would cause (flatten, then connected
components per class with 8-connectivity, against the true count), and a density class;
then it recommends instance or semantic annotation following a stated checklist, with its
reasons, and prices both.

Density classes (first rule that matches)
-----------------------------------------
dense
    more than 12 classes, or at least 30 objects, or at least 5 same-class contacts
    (overlapping or touching pairs).
medium
    8–12 classes, or at least 10 objects, or at least one same-class contact.
simple
    otherwise: few classes, few objects, clear boundaries.

Checklist behind the recommendation
-----------------------------------
1. Are counts or tracks needed? (given by the caller; unknown is treated as yes)
2. Do same-class objects touch or overlap, so that a semantic mask would miscount?
   (measured: semantic-only count error above :data:`COUNT_ERROR_LIMIT` percent)
   If so, does maskkit's estimate (:func:`maskkit.estimate_counts`, method
   :data:`ESTIMATE_METHOD`: touching objects split by shape, corrected by area) bring the
   error of a semantic-only annotation back under the limit?  Then semantic annotation plus the
   estimate is recommended, and the saving against instance annotation is stated.
3. Is it a surface/layout task (areas, drivable space, land cover)? (given)
4. Does the budget cover it? (given; compared with the cost ranges)
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from maskkit.errors import InvalidInputError, MaskkitError

__all__ = ["COUNT_ERROR_LIMIT", "DEFAULT_PRICES", "ESTIMATE_METHOD", "AuditReport",
           "audit_dataset", "density_class", "load_prices"]

#: Price ranges per image (USD), by annotation kind and density class: typical market
#: figures; override with :func:`load_prices` / ``maskkit audit --prices FILE``.
DEFAULT_PRICES = {
    "currency": "USD",
    "semantic": {"simple": [0.50, 1.00], "medium": [1.50, 3.00], "dense": [2.50, 5.00]},
    "instance": {"simple": [1.50, 3.00], "medium": [4.00, 8.00], "dense": [8.00, 15.00]},
}
#: Semantic-only count error (percent of true objects) above which counts need instances.
COUNT_ERROR_LIMIT = 2.0
#: The :func:`maskkit.estimate_counts` method whose error the audit reports.
ESTIMATE_METHOD = "combined"
DENSITIES = ("simple", "medium", "dense")


def density_class(objects: int, classes: int, contacts: int) -> str:
    """The density class of one image (see the module docstring).

    Examples
    --------
    >>> density_class(4, 2, 0), density_class(4, 9, 0), density_class(40, 2, 0)
    ('simple', 'medium', 'dense')
    >>> density_class(3, 1, 1), density_class(3, 1, 5)
    ('medium', 'dense')
    """
    if classes > 12 or objects >= 30 or contacts >= 5:
        return "dense"
    if classes >= 8 or objects >= 10 or contacts >= 1:
        return "medium"
    return "simple"


def load_prices(obj=None) -> dict:
    """The price table: :data:`DEFAULT_PRICES` updated with ``obj`` (a dict or JSON path).

    Only the entries given are replaced, e.g. ``{"instance": {"dense": [10, 20]}}``.

    Examples
    --------
    >>> load_prices({"instance": {"dense": [10, 20]}})["instance"]["dense"]
    [10.0, 20.0]
    >>> load_prices({"semantic": {"dense": [5, 1]}})
    Traceback (most recent call last):
    ...
    maskkit.errors.InvalidInputError: prices: semantic/dense must be [low, high] with 0 <= low <= high; got [5, 1]
    """
    prices = copy.deepcopy(DEFAULT_PRICES)
    source = None
    if obj is None:
        return prices
    if not isinstance(obj, dict):
        from maskkit.io.files import read_json

        source = str(obj)
        obj = read_json(obj)
    if not isinstance(obj, dict):
        raise InvalidInputError("prices must be a JSON object like "
                                '{"instance": {"dense": [8, 15]}}', source=source)
    for kind, table in obj.items():
        if kind == "currency":
            prices["currency"] = str(table)
            continue
        if kind not in ("semantic", "instance") or not isinstance(table, dict):
            raise InvalidInputError(
                f"prices: unknown entry {kind!r}; expected 'semantic', 'instance' or "
                "'currency', each kind mapping simple/medium/dense to [low, high]",
                source=source)
        for dens, rng in table.items():
            if dens not in DENSITIES:
                raise InvalidInputError(f"prices: unknown density {dens!r} under {kind!r}; "
                                        f"expected one of {DENSITIES}", source=source)
            ok = (isinstance(rng, (list, tuple)) and len(rng) == 2
                  and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                          and math.isfinite(v) for v in rng) and 0 <= rng[0] <= rng[1])
            if not ok:
                raise InvalidInputError(
                    f"prices: {kind}/{dens} must be [low, high] with 0 <= low <= high; "
                    f"got {rng!r}", source=source)
            prices[kind][dens] = [float(rng[0]), float(rng[1])]
    return prices


@dataclass
class AuditReport:
    """The outcome of :func:`audit_dataset`: ``summary`` (dataset figures,
    recommendation, costs), ``images`` (one record per audited image) and ``skipped``
    (one record per image left out with ``on_error="skip"``: ``image_id``, ``path``,
    ``object``, ``error``, ``reason``)."""

    summary: dict
    images: list = field(default_factory=list)
    skipped: list = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-ready form."""
        return {"summary": self.summary, "images": self.images, "skipped": self.skipped}


def _audit_image(index, image_id) -> dict:
    from maskkit.core.count import count_objects
    from maskkit.core.flatten import flatten_image
    from maskkit.study.synth import footprint, same_class_pairs

    if image_id in index.bad_images:  # an index loaded with strict=False
        raise index.bad_images[image_id]
    info = index.images[image_id]
    h, w = info.height, info.width
    anns = index.annotations.get(image_id, [])
    objs = [a for a in anns if not a.get("iscrowd", 0)]
    classes = np.asarray([a["category_id"] for a in objs], dtype=np.int64)
    fps = []
    for a in objs:
        try:
            fps.append(footprint(a["segmentation"], h, w))
        except MaskkitError as exc:
            raise exc.with_context(source=index.source,
                                   obj=f"image {image_id}, annotation {a.get('id')}") from None
    pairs, _areas = same_class_pairs(fps, classes)
    overlapping = sum(1 for p in pairs if p[2] > 0)
    touching = len(pairs) - overlapping
    semantic, _ = flatten_image(index, image_id, crowd="skip", dtype=np.int32)
    true = {int(c): int(n) for c, n in zip(*np.unique(classes, return_counts=True))}
    counted = count_objects(semantic, connectivity=8, ignore=())
    error = sum(abs(counted.get(c, 0) - true.get(c, 0)) for c in set(true) | set(counted))
    from maskkit.core.split import estimate_counts

    est = {c: e["estimate"] for c, e in
           estimate_counts(semantic, method=ESTIMATE_METHOD, ignore=()).items()}
    est_error = sum(abs(est.get(c, 0) - true.get(c, 0)) for c in set(true) | set(est))
    n_classes = len(true)
    return {
        "image_id": image_id, "file_name": info.file_name, "height": h, "width": w,
        "objects": len(objs), "crowd": len(anns) - len(objs), "classes": n_classes,
        "overlapping_pairs": overlapping, "touching_pairs": touching,
        "true_count": int(sum(true.values())), "semantic_count": int(sum(counted.values())),
        "count_error": int(error),
        "estimated_count": int(sum(est.values())), "estimate_error": int(est_error),
        "density": density_class(len(objs), n_classes, len(pairs)),
        "true_by_class": {str(k): v for k, v in true.items()},
        "semantic_by_class": {str(k): v for k, v in counted.items()},
        "estimated_by_class": {str(k): v for k, v in est.items()},
    }


def _stats(values) -> dict:
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return {"mean": 0.0, "median": 0.0, "p95": 0.0, "max": 0.0}
    return {"mean": float(v.mean()), "median": float(np.median(v)),
            "p95": float(np.percentile(v, 95)), "max": float(v.max())}


def _recommend(error_pct, contact_share, costs, *, counting, surface, budget, currency,
               estimate_pct=None):
    reasons = []
    need = counting if counting is not None else True
    if counting is None:
        reasons.append("1. counts/tracking needed? not stated: assumed yes")
    else:
        reasons.append(f"1. counts/tracking needed? {'yes' if counting else 'no'} (stated)")
    miscount = error_pct > COUNT_ERROR_LIMIT
    reasons.append(
        f"2. same-class objects touching/overlapping? in {100 * contact_share:.0f}% of images; "
        f"a semantic-only annotation would miscount {error_pct:.1f}% of objects "
        f"({'above' if miscount else 'within'} the {COUNT_ERROR_LIMIT:g}% limit)")
    rescued = miscount and estimate_pct is not None and estimate_pct <= COUNT_ERROR_LIMIT
    if estimate_pct is not None:
        line = (f"2b. with maskkit's estimate (estimate_counts, method={ESTIMATE_METHOD!r}) "
                f"semantic masks miscount {estimate_pct:.1f}% of objects: "
                f"{'within' if estimate_pct <= COUNT_ERROR_LIMIT else 'above'} the "
                f"{COUNT_ERROR_LIMIT:g}% limit")
        if estimate_pct <= COUNT_ERROR_LIMIT:
            save_lo = costs["instance"][0] - costs["semantic"][0]
            save_hi = costs["instance"][1] - costs["semantic"][1]
            line += (f"; semantic + estimate saves {min(save_lo, save_hi):,.2f}–"
                     f"{max(save_lo, save_hi):,.2f} {currency} against instance masks")
        reasons.append(line)
    reasons.append(f"3. surface/layout task? {'yes' if surface else 'no'}"
                   + (" (stated)" if surface is not None else " (not stated: assumed no)"))
    if need and rescued:
        choice = "semantic"
        why = (f"counts are needed and semantic masks merge touching objects of one class, "
               f"but maskkit's estimate recovers the counts within the "
               f"{COUNT_ERROR_LIMIT:g}% limit ({estimate_pct:.1f}%): annotate semantic "
               f"masks and count with `maskkit count --estimate {ESTIMATE_METHOD}`")
    elif need and miscount:
        choice = "instance"
        why = ("counts are needed and semantic masks would merge touching or overlapping "
               "objects of one class")
    elif need:
        choice = "semantic"
        why = ("counts are needed, but objects of one class rarely touch: connected "
               "components of a semantic mask recover them")
    else:
        choice = "semantic"
        why = ("no counts or tracks are needed" + (" and it is a surface/layout task"
                                                   if surface else "")
               + ": semantic masks are cheaper")
    lo, hi = costs[choice]
    if budget is None:
        reasons.append("4. budget? not stated")
    elif budget >= hi:
        reasons.append(f"4. budget {budget:,.2f} {currency} covers {choice} "
                       f"({lo:,.2f}–{hi:,.2f})")
    elif budget >= lo:
        reasons.append(f"4. budget {budget:,.2f} {currency} may not cover {choice} "
                       f"({lo:,.2f}–{hi:,.2f}): get quotes, or annotate a sample first")
    else:
        alt = "semantic" if choice == "instance" else None
        msg = (f"4. budget {budget:,.2f} {currency} is below the {choice} range "
               f"({lo:,.2f}–{hi:,.2f})")
        if alt:
            slo, shi = costs["semantic"]
            msg += (f"; semantic costs {slo:,.2f}–{shi:,.2f} but miscounts {error_pct:.1f}% "
                    "of objects; or annotate instances on a sample")
        reasons.append(msg)
    return choice, why, reasons


def audit_dataset(coco, *, prices=None, counting: bool | None = None,
                  surface: bool | None = None, budget: float | None = None,
                  workers: int | None = 1, progress: bool | None = False,
                  sample: int | None = None, seed: int = 0, on_error: str = "raise",
                  engine: str = "local", scheduler: str | None = None,
                  warn=None) -> AuditReport:
    """Audit a COCO instances dataset for the instance-or-semantic decision.

    Parameters
    ----------
    coco : str, path, dict or CocoIndex
        The dataset.
    prices : dict or path, optional
        Overrides of :data:`DEFAULT_PRICES` (see :func:`load_prices`).
    counting : bool, optional
        Are counts or tracks needed? ``None`` (unknown) is treated as yes.
    surface : bool, optional
        Is it a surface/layout task?
    budget : float, optional
        Total budget, in the price table's currency.
    workers, progress, engine, scheduler
        As for :func:`maskkit.parallel.run_batch` (images in parallel, on this machine or
        on a Dask cluster).
    on_error : {"raise", "skip"}
        ``"raise"``: the first bad image stops the audit.  ``"skip"``: bad images are left
        out of the figures and listed in ``report.skipped`` (and
        ``summary["skipped_images"]`` counts them).
    warn : callable, optional
        Called with one line per skipped image.
    sample : int, optional
        Audit a random sample of this many images (drawn with ``seed``) instead of all;
        ``summary["cost_full_dataset"]`` then scales the sample's cost to every image.
    seed : int
        Seed of the sample.

    Returns
    -------
    AuditReport

    Examples
    --------
    >>> doc = {"images": [{"id": 1, "height": 6, "width": 8}],
    ...        "categories": [{"id": 1, "name": "cow"}],
    ...        "annotations": [
    ...          {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [0, 0, 2, 2]},
    ...          {"id": 2, "image_id": 1, "category_id": 1, "segmentation": [2, 0, 2, 2]},
    ...          {"id": 3, "image_id": 1, "category_id": 1, "segmentation": [5, 4, 2, 2]}]}
    >>> r = audit_dataset(doc)
    >>> s = r.summary
    >>> s["objects"], s["semantic_count"], s["touching_pairs_per_image"]["max"]
    (3, 2, 1.0)
    >>> s["recommendation"], s["cost"]["instance"]
    ('instance', [4.0, 8.0])
    """
    import functools

    from maskkit.io.coco import CocoIndex, load_coco
    from maskkit.parallel import run_batch

    table = load_prices(prices) if not (isinstance(prices, dict) and "instance" in prices
                                        and "semantic" in prices and "currency" in prices
                                        ) else prices
    index = coco if isinstance(coco, CocoIndex) else load_coco(coco)
    if budget is not None and not (isinstance(budget, (int, float)) and budget >= 0):
        raise InvalidInputError(f"budget must be a number >= 0; got {budget!r}")
    ids = list(index.images)
    n_total = len(ids)
    if sample is not None:
        if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
            raise InvalidInputError(f"sample must be a whole number >= 1; got {sample!r}")
        if sample < n_total:
            import numpy as np

            pick = np.random.default_rng(seed).choice(n_total, size=sample, replace=False)
            ids = [ids[i] for i in sorted(pick)]
    # the index travels inside the partial: pickled once per worker on Dask, inherited
    # by fork in the local pool
    job = functools.partial(_audit_image, index)
    by_id = {}
    failed = {}
    for res in run_batch(job, ids, workers=workers, on_error=on_error, desc="images",
                         progress=progress, engine=engine, scheduler=scheduler):
        if res.error is not None:
            if warn:
                warn(f"skipped image {res.item}: {res.error}")
            failed[res.item] = _skip_record(res.item, res.error)
            continue
        by_id[res.item] = res.value
    # images (and the images skipped) in the dataset's order, whatever order the engine
    # finished them in: every engine gives the same report
    images = [by_id[i] for i in ids if i in by_id]
    skipped = [_skip_record(None, err) for err in index.problems
               if not any(err is bad for bad in index.bad_images.values())]
    skipped += [failed[i] for i in ids if i in failed]
    for rec in images:
        for kind in ("semantic", "instance"):
            rec[f"cost_{kind}"] = list(table[kind][rec["density"]])
    n = len(images)
    true = sum(r["true_count"] for r in images)
    err = sum(r["count_error"] for r in images)
    error_pct = 100.0 * err / true if true else 0.0
    contact_share = (sum(1 for r in images if r["overlapping_pairs"] + r["touching_pairs"])
                     / n if n else 0.0)
    costs = {kind: [float(sum(r[f"cost_{kind}"][0] for r in images)),
                    float(sum(r[f"cost_{kind}"][1] for r in images))]
             for kind in ("semantic", "instance")}
    est_err = sum(r["estimate_error"] for r in images)
    estimate_pct = 100.0 * est_err / true if true else 0.0
    choice, why, reasons = _recommend(error_pct, contact_share, costs, counting=counting,
                                      surface=surface, budget=budget,
                                      currency=table["currency"], estimate_pct=estimate_pct)
    used = sorted({int(c) for r in images for c in r["true_by_class"]})
    summary = {
        "source": index.source,
        "images": n,
        "categories": len(index.categories),
        "classes_used": len(used),
        "class_names": {c: index.categories.get(c, {}).get("name") for c in used},
        "objects": int(sum(r["objects"] for r in images)),
        "crowd_regions": int(sum(r["crowd"] for r in images)),
        "objects_per_image": _stats([r["objects"] for r in images]),
        "overlapping_pairs_per_image": _stats([r["overlapping_pairs"] for r in images]),
        "touching_pairs_per_image": _stats([r["touching_pairs"] for r in images]),
        "images_with_same_class_contact": contact_share,
        "true_count": int(true),
        "semantic_count": int(sum(r["semantic_count"] for r in images)),
        "semantic_count_error_pct": error_pct,
        "images_counted_exactly": (sum(1 for r in images if r["count_error"] == 0) / n
                                   if n else 1.0),
        "estimate_method": ESTIMATE_METHOD,
        "estimated_count": int(sum(r["estimated_count"] for r in images)),
        "estimate_count_error_pct": estimate_pct,
        "images_estimated_exactly": (sum(1 for r in images if r["estimate_error"] == 0) / n
                                     if n else 1.0),
        "semantic_with_estimate_within_limit": estimate_pct <= COUNT_ERROR_LIMIT,
        "density": {d: sum(1 for r in images if r["density"] == d) for d in DENSITIES},
        "recommendation": choice,
        "why": why,
        "checklist": reasons,
        "prices": table,
        "cost_per_image": {k: dict(table[k]) for k in ("semantic", "instance")},
        "cost": costs,
        "currency": table["currency"],
        "images_in_dataset": n_total,
        "skipped_images": len(skipped),
        "cost_full_dataset": {k: [v * n_total / n for v in costs[k]] if n else [0.0, 0.0]
                              for k in costs},
    }
    return AuditReport(summary=summary, images=images, skipped=skipped)


def _skip_record(image_id, exc) -> dict:
    return {"image_id": image_id, "path": getattr(exc, "source", None),
            "object": getattr(exc, "obj", None), "error": type(exc).__name__,
            "reason": getattr(exc, "reason", None) or str(exc)}


def format_report(report: AuditReport, *, worst: int = 10) -> str:
    """The audit as a human-readable text table."""
    s = report.summary
    cur = s["currency"]

    def st(d):
        return (f"mean {d['mean']:.2f}  median {d['median']:g}  p95 {d['p95']:.1f}  "
                f"max {d['max']:g}")

    lines = [
        f"maskkit audit: {s['source'] or 'dataset'}",
        "",
        f"  images                      {s['images']}",
        f"  classes                     {s['classes_used']} used of {s['categories']}",
        f"  objects                     {s['objects']} (+{s['crowd_regions']} crowd regions)",
        f"  objects per image           {st(s['objects_per_image'])}",
        f"  overlapping pairs / image   {st(s['overlapping_pairs_per_image'])}",
        f"  touching pairs / image      {st(s['touching_pairs_per_image'])}",
        f"  images with same-class contact  {100 * s['images_with_same_class_contact']:.0f}%",
        f"  semantic-only count         {s['semantic_count']} of {s['true_count']} objects "
        f"(error {s['semantic_count_error_pct']:.1f}%, "
        f"{100 * s['images_counted_exactly']:.0f}% of images exact)",
        f"  semantic + estimate ({s['estimate_method']})   {s['estimated_count']} of "
        f"{s['true_count']} objects (error {s['estimate_count_error_pct']:.1f}%, "
        f"{100 * s['images_estimated_exactly']:.0f}% of images exact)",
        "  density                     " + ", ".join(f"{k} {v}" for k, v in
                                                     s["density"].items()),
    ]
    if s.get("skipped_images"):
        lines.append(f"  skipped                     {s['skipped_images']} bad images (listed "
                     "with --json)")
    lines += [
        "",
        f"  recommendation: {s['recommendation'].upper()} masks: {s['why']}",
    ]
    lines += [f"    {r}" for r in s["checklist"]]
    lines += ["", f"  cost ({cur})            per image (simple / medium / dense)      total"]
    for kind in ("semantic", "instance"):
        per = "  ".join(f"{lo:.2f}–{hi:.2f}" for lo, hi in s["cost_per_image"][kind].values())
        lo, hi = s["cost"][kind]
        lines.append(f"    {kind:9s}  {per:40s}  {lo:,.2f}–{hi:,.2f}")
    if s["images"] < s["images_in_dataset"]:
        lines.append(f"  (a sample of {s['images']} of {s['images_in_dataset']} images; scaled to "
                     "all: " + ", ".join(
                         f"{k} {lo:,.2f}–{hi:,.2f}"
                         for k, (lo, hi) in s["cost_full_dataset"].items()) + ")")
    bad = sorted(report.images, key=lambda r: -r["count_error"])[:worst]
    bad = [r for r in bad if r["count_error"]]
    if bad:
        lines += ["", "  worst-counted images:",
                  "    image                          objects  semantic  error  estimate  "
                  "error  overlap  touch  density"]
        for r in bad:
            name = str(r["file_name"] or r["image_id"])[:30]
            lines.append(f"    {name:30s} {r['objects']:7d}  {r['semantic_count']:8d}  "
                         f"{r['count_error']:5d}  {r['estimated_count']:8d}  "
                         f"{r['estimate_error']:5d}  {r['overlapping_pairs']:7d}  "
                         f"{r['touching_pairs']:5d}  {r['density']}")
    return "\n".join(lines) + "\n"


def render_worst(report: AuditReport, coco, out_dir, *, count: int = 5, images_dir=None):
    """Render the ``count`` worst-counted images (instances and their semantic flattening)
    into ``out_dir``; returns the written paths."""
    from pathlib import Path

    from maskkit.core.flatten import flatten_image
    from maskkit.core.rasterize import paint_polygons
    from maskkit.core.render import render
    from maskkit.io.coco import CocoIndex, load_coco
    from maskkit.io.png import write_render

    index = coco if isinstance(coco, CocoIndex) else load_coco(coco)
    names = {c: v.get("name", str(c)) for c, v in index.categories.items()}
    out = Path(out_dir)
    written = []
    worst = sorted(report.images, key=lambda r: -r["count_error"])[:count]
    for rec in worst:
        image_id = rec["image_id"]
        info = index.images[image_id]
        objs = [a for a in index.annotations.get(image_id, []) if not a.get("iscrowd", 0)]
        ids = np.zeros((info.height, info.width), dtype=np.int32)
        if objs:
            paint_polygons(ids, [a["segmentation"] for a in objs], np.arange(1, len(objs) + 1))
        photo = None
        if images_dir is not None and info.file_name:
            p = Path(images_dir) / info.file_name
            if p.is_file():
                from maskkit.io.png import read_png

                photo = read_png(p, mode="rgb")
                if photo.shape[:2] != ids.shape:
                    photo = None
        sem, _ = flatten_image(index, image_id, crowd="skip", dtype=np.int32)
        stem = Path(str(info.file_name or image_id)).stem
        classes = {i + 1: a["category_id"] for i, a in enumerate(objs)}
        write_render(out / f"{stem}_instances.png",
                     render(ids, kind="instance", classes=classes, names=names, image=photo,
                            title=f"{stem}: {rec['objects']} objects"))
        write_render(out / f"{stem}_semantic.png",
                     render(sem, names=names, image=photo,
                            title=f"{stem}: {rec['semantic_count']} semantic regions"))
        written += [out / f"{stem}_instances.png", out / f"{stem}_semantic.png"]
    return written
