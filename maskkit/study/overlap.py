"""How far object counts taken from a semantic mask fall from the true instance counts.

A semantic mask keeps one class per pixel; counting its connected components per class is
the only way to get object counts back from it. :func:`overlap_benchmark` measures how that
count degrades as objects touch and overlap: it sweeps the gap control of
:func:`maskkit.study.synth.make_scene`, flattens every scene with
:func:`maskkit.coco_to_semantic`, counts per class with 4- and 8-connectivity
(:func:`maskkit.core.count.count_table`) and compares to the true counts.
:func:`real_counts` does the same comparison per image and class on a COCO instances (or
panoptic) dataset.

Metrics (per level and connectivity)
------------------------------------
count ratio
    counted / true objects of an image (all classes); mean and 10th–90th percentile over
    the repeats.
abs % error
    ``100 * sum over classes |counted - true| / true``, per image, then the mean (a class
    counted too high cannot hide another counted too low).
exact
    Share of images whose every class is counted exactly.
merge rate
    Share of true objects whose visible pixels share a connected component with another
    object (what a semantic mask cannot separate).

Estimators (per level, beside the components' 8-connectivity count)
-------------------------------------------------------------------
``split``, ``combined`` and ``area``: :func:`maskkit.estimate_counts` with that method, the
same count ratio, abs % error and exact share, plus ``in_range``: share of (image, class)
whose true count lies in the estimate's low–high range.  ``split`` also has ``mean_iou``: per true
object, the IoU of its visible pixels with the best-overlapping object of
:func:`maskkit.split_touching`, averaged over the objects.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from maskkit.errors import InvalidInputError

__all__ = [
    "DEFAULT_LEVELS",
    "OverlapResult",
    "compare_image",
    "matched_iou",
    "overlap_benchmark",
    "real_class_summary",
    "real_counts",
    "split_example_panels",
    "write_overlap_report",
    "write_real_report",
    "write_split_example",
]

#: The default sweep of the gap control (pixels): separated → touching → heavy overlap.
DEFAULT_LEVELS = (8.0, 4.0, 2.0, 1.0, 0.75, 0.5, 0.25, 0.0, -2.0, -4.0, -8.0, -16.0)
CONNECTIVITIES = (4, 8)
#: ``estimate_counts`` methods measured beside the components.
ESTIMATORS = ("split", "combined", "area")
_STAT_KEYS = ("touching_fraction", "overlapping_fraction", "mean_iou", "occluded_fraction")


def compare_image(semantic: np.ndarray, instances: np.ndarray, classes,
                  connectivities=CONNECTIVITIES) -> dict:
    """Compare the semantic count of one image with the truth, per connectivity.

    Parameters
    ----------
    semantic : ndarray, shape (H, W)
        Class per pixel (0 background; 255 ignored).
    instances : ndarray, shape (H, W)
        Object id ``1..N`` per pixel, painted in the same order as ``semantic`` (0 none).
    classes : sequence of int, length N
        Class of object ``i + 1``: the truth (hidden objects count too).
    connectivities : sequence of int
        4 and/or 8.

    Returns
    -------
    dict
        ``{"true": {class: n}, conn: {"counted": {class: n}, "merged": m}}`` where
        ``merged`` counts the objects sharing a component with another object.

    Examples
    --------
    >>> import numpy as np
    >>> sem = np.array([[1, 1, 0, 1],
    ...                 [0, 1, 0, 0]], dtype=np.uint8)
    >>> ids = np.array([[1, 2, 0, 3],
    ...                 [0, 2, 0, 0]], dtype=np.uint16)
    >>> r = compare_image(sem, ids, [1, 1, 1])
    >>> r["true"], r[8]["counted"], r[8]["merged"]
    ({1: 3}, {1: 2}, 2)
    """
    from maskkit.core.count import count_objects
    from maskkit.core.label import label

    classes = np.asarray(classes, dtype=np.int64)
    cls, n = np.unique(classes, return_counts=True)
    out: dict = {"true": {int(c): int(k) for c, k in zip(cls, n)}}
    ids = instances.reshape(-1)
    fg = ids > 0
    n_obj = classes.size
    for conn in connectivities:
        counted = count_objects(semantic, connectivity=conn)
        comp = label(semantic, conn).reshape(-1)
        pairs = np.unique(comp[fg].astype(np.int64) * (n_obj + 1) + ids[fg])
        comp_of, id_of = np.divmod(pairs, n_obj + 1)
        ids_per_comp = np.bincount(comp_of)
        merged = np.unique(id_of[(ids_per_comp[comp_of] > 1) & (comp_of > 0)])
        out[conn] = {"counted": {c: counted.get(c, 0) for c in sorted(set(counted) | set(
            out["true"]))}, "merged": int(merged.size)}
    return out


def _image_metrics(true: dict, counted: dict) -> tuple[float, float, bool]:
    """(count ratio, abs % error, exact) of one image."""
    total = sum(true.values())
    got = sum(counted.get(c, 0) for c in true)
    err = sum(abs(counted.get(c, 0) - true.get(c, 0)) for c in set(true) | set(counted))
    if total == 0:
        return (1.0 if got == 0 else math.inf), (0.0 if err == 0 else math.inf), err == 0
    return got / total, 100.0 * err / total, err == 0


def _scene_job(item, *, objects, classes, size, shape, radius, group_size, seed):
    """One scene of the sweep (runs in a worker): generate, flatten, count, compare."""
    from maskkit.datasets.coco2sem import coco_to_semantic
    from maskkit.study.synth import make_scene

    level, gap, repeat = item
    scene = make_scene(objects, classes, gap=gap, height=size, shape=shape, radius=radius,
                       group_size=group_size, seed=seed * 1_000_003 + repeat)
    semantic = coco_to_semantic(scene.to_coco(), 1)
    cmp = compare_image(semantic, scene.instance_map(), scene.classes)
    rows = []
    for conn in CONNECTIVITIES:
        ratio, err, exact = _image_metrics(cmp["true"], cmp[conn]["counted"])
        rows.append({
            "level": level, "gap": gap, "repeat": repeat, "connectivity": conn,
            "true": len(scene), "counted": sum(cmp[conn]["counted"].values()),
            "count_ratio": ratio, "abs_pct_error": err, "exact": exact,
            "merged": cmp[conn]["merged"],
        })
    return rows, scene.stats.as_dict(), _estimator_rows(semantic, scene.instance_map(),
                                                        cmp["true"], level, gap, repeat)


def matched_iou(labels: np.ndarray, instances: np.ndarray) -> float:
    """Mean over the visible true objects of their best IoU with an object of ``labels``.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.array([[1, 1, 0, 2, 2]])
    >>> round(matched_iou(np.array([[5, 5, 0, 5, 5]]), truth), 3)
    0.5
    >>> matched_iou(np.array([[3, 3, 0, 4, 4]]), truth)
    1.0
    """
    inst = instances.reshape(-1).astype(np.int64)
    lab = labels.reshape(-1).astype(np.int64)
    n, m = int(inst.max(initial=0)), int(lab.max(initial=0))
    area_a = np.bincount(inst, minlength=n + 1)
    present = np.flatnonzero(area_a[1:]) + 1
    if present.size == 0:
        return 1.0
    both = (inst > 0) & (lab > 0)
    pairs, inter = np.unique(inst[both] * (m + 1) + lab[both], return_counts=True)
    a, b = np.divmod(pairs, m + 1)
    area_b = np.bincount(lab, minlength=m + 1)
    best = np.zeros(n + 1)
    np.maximum.at(best, a, inter / (area_a[a] + area_b[b] - inter))
    return float(best[present].mean())


def _estimator_rows(semantic, instances, true: dict, level, gap, repeat) -> list:
    from maskkit.core.split import estimate_counts, split_touching

    rows = []
    for method in ESTIMATORS:
        est = estimate_counts(semantic, method=method)
        counted = {c: e["estimate"] for c, e in est.items()}
        ratio, err, exact = _image_metrics(true, counted)
        inside = [est[c]["low"] <= n <= est[c]["high"] if c in est else n == 0
                  for c, n in true.items()]
        row = {"level": level, "gap": gap, "repeat": repeat, "estimator": method,
               "true": sum(true.values()), "counted": sum(counted.values()),
               "count_ratio": ratio, "abs_pct_error": err, "exact": exact,
               "in_range": float(np.mean(inside)) if inside else 1.0}
        if method == "split":
            row["mean_iou"] = matched_iou(split_touching(semantic), instances)
        rows.append(row)
    return rows


@dataclass
class OverlapResult:
    """The outcome of :func:`overlap_benchmark`.

    Attributes
    ----------
    settings : dict
        The arguments of the run.
    levels : list of dict
        One summary per gap level (see the module docstring for the metrics), keyed
        ``"c4"``/``"c8"`` per connectivity, plus the mean scene statistics.
    images : list of dict
        One record per scene and connectivity.
    estimates : list of dict
        One record per scene and estimator (``"split"``, ``"combined"``, ``"area"``).
    seconds : float
        Wall time of the sweep.
    """

    settings: dict
    levels: list = field(default_factory=list)
    images: list = field(default_factory=list)
    seconds: float = 0.0
    estimates: list = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-ready form."""
        return {"settings": self.settings, "seconds": self.seconds, "levels": self.levels,
                "images": self.images, "estimates": self.estimates}


def _check_levels(levels) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in levels)
    except (TypeError, ValueError):
        raise InvalidInputError(f"levels must be numbers (pixels); got {levels!r}") from None
    if not out or not all(math.isfinite(v) for v in out):
        raise InvalidInputError(f"levels must be finite numbers, at least one; got {levels!r}")
    return out


def _ratio_summary(rs: list) -> dict:
    ratio = np.array([r["count_ratio"] for r in rs], dtype=float)
    return {
        "count_ratio": float(ratio.mean()),
        "count_ratio_p10": float(np.percentile(ratio, 10)),
        "count_ratio_p90": float(np.percentile(ratio, 90)),
        "count_ratio_std": float(ratio.std()),
        "abs_pct_error": float(np.mean([r["abs_pct_error"] for r in rs])),
        "exact_share": float(np.mean([r["exact"] for r in rs])),
    }


def _summarise(rows: list, stats: list, levels, estimates=()) -> list:
    summary = []
    for li, gap in enumerate(levels):
        entry: dict = {"gap": gap}
        st = [s for lv, s in stats if lv == li]
        for k in _STAT_KEYS:
            entry[k] = float(np.mean([s[k] for s in st])) if st else math.nan
        for conn in CONNECTIVITIES:
            rs = [r for r in rows if r["level"] == li and r["connectivity"] == conn]
            true = sum(r["true"] for r in rs)
            entry[f"c{conn}"] = {
                **_ratio_summary(rs),
                "merge_rate": sum(r["merged"] for r in rs) / true if true else 0.0,
            }
        for method in ESTIMATORS:
            rs = [r for r in estimates if r["level"] == li and r["estimator"] == method]
            if not rs:
                continue
            entry[method] = {**_ratio_summary(rs),
                             "in_range": float(np.mean([r["in_range"] for r in rs]))}
            if method == "split":
                entry[method]["mean_iou"] = float(np.mean([r["mean_iou"] for r in rs]))
        summary.append(entry)
    return summary


def overlap_benchmark(*, levels=DEFAULT_LEVELS, repeats: int = 20, objects: int = 50,
                      classes: int = 3, size: int = 512, shape: str = "mixed",
                      radius=(8.0, 24.0), group_size: float = 3.0, seed: int = 0,
                      workers: int | None = None, progress: bool | None = False
                      ) -> OverlapResult:
    """Sweep the overlap control and measure how semantic-derived counts degrade.

    Parameters
    ----------
    levels : sequence of float
        Gap levels in pixels (see :func:`maskkit.study.synth.make_scene`).
    repeats : int
        Scenes per level; repeat ``r`` uses the same seed at every level, so a level
        differs from the next by the gap alone.
    objects, classes, size, shape, radius, group_size, seed
        Scene settings (:func:`maskkit.study.synth.make_scene`; ``size`` is the image side).
    workers : int, optional
        Worker processes (:func:`maskkit.parallel.run_batch`; default all cores).
    progress : bool, optional
        Progress on stderr.

    Returns
    -------
    OverlapResult

    Examples
    --------
    >>> r = overlap_benchmark(levels=(3, -6), repeats=2, objects=8, size=128,
    ...                       radius=(4, 10), workers=1)
    >>> [lv["gap"] for lv in r.levels], r.levels[0]["c8"]["count_ratio"]
    ([3.0, -6.0], 1.0)
    >>> r.levels[1]["c8"]["count_ratio"] < 1
    True
    """
    from maskkit.parallel import run_batch

    levels = _check_levels(levels)
    for name, v in (("repeats", repeats), ("objects", objects), ("classes", classes)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InvalidInputError(f"{name} must be a whole number >= 1; got {v!r}")
    settings = {"levels": list(levels), "repeats": repeats, "objects": objects,
                "classes": classes, "size": size, "shape": shape, "radius": list(radius),
                "group_size": group_size, "seed": seed}
    job = functools.partial(_scene_job, objects=objects, classes=classes, size=size,
                            shape=shape, radius=tuple(radius), group_size=group_size,
                            seed=seed)
    items = [(li, g, r) for r in range(repeats) for li, g in enumerate(levels)]
    t0 = time.perf_counter()
    rows, stats, estimates = [], [], []
    for res in run_batch(job, items, workers=workers, desc="scenes", progress=progress):
        scene_rows, scene_stats, scene_estimates = res.value
        rows.extend(scene_rows)
        stats.append((res.item[0], scene_stats))
        estimates.extend(scene_estimates)
    seconds = time.perf_counter() - t0
    rows.sort(key=lambda r: (r["level"], r["repeat"], r["connectivity"]))
    estimates.sort(key=lambda r: (r["level"], r["repeat"], ESTIMATORS.index(r["estimator"])))
    return OverlapResult(settings=settings, levels=_summarise(rows, stats, levels, estimates),
                         images=rows, seconds=seconds, estimates=estimates)


# ---------------------------------------------------------------------------------------
# real annotations


def _load_real(path):
    """A COCO instances index from an instances or a panoptic JSON (things only)."""
    from maskkit.io.coco import load_coco
    from maskkit.io.files import read_json

    doc = read_json(path) if not isinstance(path, dict) else path
    anns = doc.get("annotations") or []
    if anns and isinstance(anns[0], dict) and "segments_info" in anns[0]:
        from maskkit.datasets.panoptic import panoptic_to_coco

        doc = panoptic_to_coco(path, things_only=True)
    return load_coco(doc)


def real_counts(coco, *, crowd: str = "class", image_ids=None) -> list:
    """Semantic-derived vs true counts per image and class of a real dataset.

    Parameters
    ----------
    coco : str, path, dict or CocoIndex
        A COCO instances file, or a COCO panoptic JSON (its PNG folder beside it, the
        JSON path without ``.json``; things only).
    crowd : {"class", "skip"}
        Crowd regions count as one object of their class and are painted (``"class"``, as
        a semantic annotator would paint them), or are left out of both sides.
    image_ids : sequence, optional
        Only these images.

    Returns
    -------
    list of dict
        One row per image and class: ``image_id, file_name, category_id, category,
        true, counted_c4, counted_c8, merged_c8, estimate_split, estimate_combined,
        estimate_area`` (the last three: :func:`maskkit.estimate_counts` with
        8-connectivity).

    Examples
    --------
    >>> doc = {"images": [{"id": 1, "height": 6, "width": 8}],
    ...        "categories": [{"id": 3, "name": "car"}],
    ...        "annotations": [
    ...          {"id": 1, "image_id": 1, "category_id": 3, "segmentation": [0, 0, 3, 3]},
    ...          {"id": 2, "image_id": 1, "category_id": 3, "segmentation": [3, 0, 3, 3]},
    ...          {"id": 3, "image_id": 1, "category_id": 3, "segmentation": [0, 4, 2, 2]}]}
    >>> [(r["category"], r["true"], r["counted_c8"], r["merged_c8"]) for r in real_counts(doc)]
    [('car', 3, 2, 2)]
    """
    from maskkit.core.flatten import flatten_image
    from maskkit.core.rasterize import paint_polygons
    from maskkit.core.split import estimate_counts
    from maskkit.io.coco import CocoIndex

    if crowd not in ("class", "skip"):
        raise InvalidInputError(f"crowd must be 'class' or 'skip'; got {crowd!r}")
    index = coco if isinstance(coco, CocoIndex) else _load_real(coco)
    rows = []
    ids = list(index.images) if image_ids is None else list(image_ids)
    for image_id in ids:
        info = index.images[image_id]
        anns = [a for a in index.annotations.get(image_id, [])
                if crowd == "class" or not a.get("iscrowd", 0)]
        semantic, _ = flatten_image(index, image_id, crowd=crowd, dtype=np.int32)
        inst = np.zeros((info.height, info.width), dtype=np.int32)
        if anns:
            paint_polygons(inst, [a["segmentation"] for a in anns],
                           np.arange(1, len(anns) + 1))
        classes = [a["category_id"] for a in anns]
        if not classes:
            continue
        cmp = compare_image(semantic, inst, classes)
        # per class merged objects under 8-connectivity
        merged_by_class = _merged_by_class(semantic, inst, np.asarray(classes))
        est = {m: estimate_counts(semantic, method=m) for m in ESTIMATORS}
        for cid, n in sorted(cmp["true"].items()):
            rows.append({
                "image_id": image_id, "file_name": info.file_name, "category_id": cid,
                "category": index.categories.get(cid, {}).get("name"),
                "true": n, "counted_c4": cmp[4]["counted"].get(cid, 0),
                "counted_c8": cmp[8]["counted"].get(cid, 0),
                "merged_c8": merged_by_class.get(cid, 0),
                **{f"estimate_{m}": est[m].get(cid, {}).get("estimate", 0)
                   for m in ESTIMATORS},
            })
    return rows


def _merged_by_class(semantic, inst, classes) -> dict:
    from maskkit.core.label import label

    comp = label(semantic, 8).reshape(-1)
    ids = inst.reshape(-1)
    fg = ids > 0
    n = classes.size
    pairs = np.unique(comp[fg].astype(np.int64) * (n + 1) + ids[fg])
    comp_of, id_of = np.divmod(pairs, n + 1)
    per = np.bincount(comp_of)
    merged = np.unique(id_of[(per[comp_of] > 1) & (comp_of > 0)])
    cls, k = np.unique(classes[merged - 1], return_counts=True)
    return {int(c): int(v) for c, v in zip(cls, k)}


# ---------------------------------------------------------------------------------------
# reports


def _fmt_ratio(c: dict) -> str:
    return f"{c['count_ratio']:.3f} ({c['count_ratio_p10']:.2f}–{c['count_ratio_p90']:.2f})"


def overlap_table(result: OverlapResult) -> str:
    """The per-level summary as a Markdown table."""
    est = [m for m in ESTIMATORS if result.levels and m in result.levels[0]]
    head = ("| gap px | touching | overlapping | mean IoU | occluded | ratio 8c (p10–p90) "
            "| ratio 4c (p10–p90) | abs % err 8c | abs % err 4c | exact 8c | exact 4c "
            "| merged 8c | merged 4c |")
    for m in est:
        head += f" ratio {m} (p10–p90) | abs % err {m} | exact {m} | in range {m} |"
    if "split" in est:
        head += " IoU split |"
    lines = [head, "|" + "|".join(["---:"] * (head.count("|") - 1)) + "|"]
    for lv in result.levels:
        c4, c8 = lv["c4"], lv["c8"]
        line = (
            f"| {lv['gap']:+g} | {lv['touching_fraction']:.2f} | "
            f"{lv['overlapping_fraction']:.2f} | {lv['mean_iou']:.3f} | "
            f"{lv['occluded_fraction']:.3f} | {_fmt_ratio(c8)} | {_fmt_ratio(c4)} | "
            f"{c8['abs_pct_error']:.1f} | {c4['abs_pct_error']:.1f} | "
            f"{c8['exact_share']:.2f} | {c4['exact_share']:.2f} | "
            f"{c8['merge_rate']:.2f} | {c4['merge_rate']:.2f} |")
        for m in est:
            e = lv[m]
            line += (f" {_fmt_ratio(e)} | {e['abs_pct_error']:.1f} | {e['exact_share']:.2f} | "
                     f"{e['in_range']:.2f} |")
        if "split" in est:
            line += f" {lv['split']['mean_iou']:.3f} |"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _csv_text(rows: list, columns: list) -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def _plot(result: OverlapResult, path: Path, warn) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        warn("maskkit bench overlap: matplotlib is not installed, so overlap.png was not "
             "written; install it with: pip install 'maskkit[plot]'")
        return False
    gaps = [lv["gap"] for lv in result.levels]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    ax.axhline(1.0, color="0.3", lw=1, ls="--", label="instance masks (exact)")
    for conn, colour in ((8, "tab:red"), (4, "tab:blue")):
        key = f"c{conn}"
        mean = [lv[key]["count_ratio"] for lv in result.levels]
        lo = [lv[key]["count_ratio_p10"] for lv in result.levels]
        hi = [lv[key]["count_ratio_p90"] for lv in result.levels]
        ax.plot(gaps, mean, "o-", color=colour, label=f"semantic, {conn}-connectivity")
        ax.fill_between(gaps, lo, hi, color=colour, alpha=0.18, lw=0)
    for method, colour in (("split", "tab:green"), ("combined", "tab:olive"),
                           ("area", "tab:purple")):
        if not result.levels or method not in result.levels[0]:
            continue
        mean = [lv[method]["count_ratio"] for lv in result.levels]
        lo = [lv[method]["count_ratio_p10"] for lv in result.levels]
        hi = [lv[method]["count_ratio_p90"] for lv in result.levels]
        ax.plot(gaps, mean, "s-", color=colour, label=f"semantic + estimate_counts({method!r})")
        ax.fill_between(gaps, lo, hi, color=colour, alpha=0.15, lw=0)
    ax.invert_xaxis()
    ax.set_xlabel("boundary gap between same-class neighbours (px)  →  more overlap")
    ax.set_ylabel("count ratio (counted / true)")
    s = result.settings
    ax.set_title(f"Counting from semantic masks: {s['objects']} objects, {s['classes']} "
                 f"classes, {s['size']}², {s['repeats']} scenes per level (p10–p90 band)",
                 fontsize=9)
    top = max([1.08] + [lv[m]["count_ratio_p90"] + 0.05 for lv in result.levels
                        for m in ESTIMATORS if m in lv])
    ax.set_ylim(0, top)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    from maskkit.io.fs import atomic_write

    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png")
    plt.close(fig)
    return True


def write_overlap_report(result: OverlapResult, out_dir, *, warn=None, examples=True) -> dict:
    """Write ``overlap.csv``, ``overlap.md``, ``overlap.json`` and ``overlap.png`` (when
    matplotlib is installed) into ``out_dir``; with ``examples``, one rendered scene per
    level in ``out_dir/examples``. Returns ``{name: path}`` of what was written."""
    from maskkit.io.files import write_json
    from maskkit.io.fs import atomic_write

    warn = warn or _stderr
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    cols = ["gap", *_STAT_KEYS]
    flat = []
    for lv in result.levels:
        row = {k: lv[k] for k in cols}
        for conn in CONNECTIVITIES:
            for k, v in lv[f"c{conn}"].items():
                row[f"{k}_c{conn}"] = v
        for m in ESTIMATORS:
            for k, v in lv.get(m, {}).items():
                row[f"{k}_{m}"] = v
        flat.append(row)
    columns = list(flat[0]) if flat else cols
    with atomic_write(out / "overlap.csv", "w") as fh:
        fh.write(_csv_text(flat, columns))
    written["csv"] = out / "overlap.csv"
    s = result.settings
    md = (f"# Semantic-derived counts vs overlap\n\n"
          f"{s['repeats']} scenes per level, {s['objects']} objects of {s['classes']} classes "
          f"({s['shape']} shapes, radius {s['radius'][0]:g}–{s['radius'][1]:g} px, "
          f"groups of {s['group_size']:g} on average) at {s['size']}×{s['size']}, seed "
          f"{s['seed']}; sweep took {result.seconds:.1f} s.\n\n"
          "`gap`: signed boundary gap between same-class neighbours (> 0 apart, 0 touching, "
          "< 0 overlapping). `ratio`: counted / true objects per image, mean (p10–p90). "
          "`abs % err`: per-class absolute error / true. `exact`: share of images counted "
          "exactly. `merged`: share of objects sharing a component with another. "
          "`split` / `area`: `maskkit.estimate_counts` with that method; `in range`: share "
          "of (image, class) whose true count lies in the estimate's low–high range; `IoU "
          "split`: mean best IoU of each true object with a `split_touching` object.\n\n"
          + overlap_table(result))
    with atomic_write(out / "overlap.md", "w") as fh:
        fh.write(md)
    written["md"] = out / "overlap.md"
    write_json(out / "overlap.json", result.as_dict(), indent=1)
    written["json"] = out / "overlap.json"
    if _plot(result, out / "overlap.png", warn):
        written["png"] = out / "overlap.png"
    if examples:
        written["examples"] = _write_examples(result, out / "examples")
    return written


def _write_examples(result: OverlapResult, folder: Path) -> Path:
    """One picture per level (repeat 0): true instances | components | split result."""
    from maskkit.study.synth import make_scene

    s = result.settings
    for gap in s["levels"]:
        scene = make_scene(s["objects"], s["classes"], gap=gap, height=s["size"],
                           shape=s["shape"], radius=tuple(s["radius"]),
                           group_size=s["group_size"], seed=s["seed"] * 1_000_003)
        write_split_example(folder / f"gap_{gap:+g}.png", scene.semantic_map(),
                            scene.instance_map(), scene.classes, title=f"gap {gap:+g} px")
    return folder


#: Colours of the example panels (RGB 0-255).
_SINGLE = (170, 170, 170)  # a component that is one object: counted right
_MATCHED = (70, 170, 90)  # a split object matching one true object (IoU >= 0.5)
_UNMATCHED = (215, 60, 50)  # a split object matching none
_EDGE = (255, 255, 255)


def _edges(ids: np.ndarray) -> np.ndarray:
    """Pixels whose right or lower neighbour has another id (object outlines)."""
    e = np.zeros(ids.shape, bool)
    e[:, :-1] |= ids[:, :-1] != ids[:, 1:]
    e[:-1, :] |= ids[:-1, :] != ids[1:, :]
    return e & ((ids > 0) | np.roll(ids > 0, -1, 1) | np.roll(ids > 0, -1, 0))


def _class_palette(n: int) -> np.ndarray:
    base = np.array([(31, 119, 180), (255, 127, 14), (148, 103, 189), (23, 190, 207),
                     (188, 189, 34), (227, 119, 194), (140, 86, 75), (44, 160, 44)], np.uint8)
    return base[np.arange(n) % len(base)]


def split_example_panels(semantic: np.ndarray, instances: np.ndarray, classes) -> dict:
    """The three RGB panels of a split example and the legend of each.

    Returns ``{"panels": [(title, rgb, [(label, colour), ...]), ...] , "labels": ...}``:
    the true instances in their class colour with white outlines; the connected components
    a semantic count sees (a component that is one object grey, each merged group its own
    colour with the number of objects it hides written on it: ``"texts"``); the objects of
    :func:`maskkit.split_touching`, green when one matches a true object (IoU >= 0.5), red
    when none does.  Every legend swatch is a colour drawn in its panel.

    Examples
    --------
    >>> import numpy as np
    >>> inst = np.array([[1, 1, 2, 2, 0, 3]])
    >>> sem = np.where(inst > 0, 1, 0).astype(np.uint8)
    >>> out = split_example_panels(sem, inst, [1, 1, 1])
    >>> [t for t, _, _ in out["panels"]][1]
    'components: 2 counted; merged groups: 1, hiding 1 objects'
    """
    from maskkit.core.label import label
    from maskkit.core.render import id_colours
    from maskkit.core.split import split_touching

    classes = np.asarray(classes, dtype=np.int64)
    n_true = int(np.count_nonzero(np.bincount(instances.ravel())[1:]))
    # 1. truth, class colours
    ncls = int(classes.max(initial=0))
    pal = np.zeros((ncls + 1, 3), np.uint8)
    pal[1:] = _class_palette(ncls)
    lut = np.zeros(int(instances.max(initial=0)) + 1, np.int64)
    lut[1:] = classes[: lut.size - 1]
    truth = pal[lut[instances]]
    truth[_edges(instances)] = _EDGE
    present = sorted(set(lut[np.unique(instances)].tolist()) - {0})
    legend1 = [(f"class {c}", tuple(int(v) for v in pal[c])) for c in present]
    # 2. components: objects per component
    comp, n_comp = label(semantic, 8, return_count=True)
    fg = instances.ravel() > 0
    pairs = np.unique(comp.ravel()[fg].astype(np.int64) * (lut.size + 1)
                      + instances.ravel()[fg])
    per = np.bincount(pairs // (lut.size + 1), minlength=n_comp + 1)
    merged = np.flatnonzero(per > 1)
    merged = merged[merged > 0]
    cpal = np.zeros((n_comp + 1, 3), np.uint8)
    cpal[1:] = _SINGLE
    if merged.size:
        cpal[merged] = id_colours(merged)
    comps = cpal[comp]
    comps[_edges(comp)] = _EDGE
    texts = []
    for c in merged.tolist():
        ys, xs = np.nonzero(comp == c)
        texts.append((float(xs.mean()), float(ys.mean()), str(int(per[c]))))
    hidden = int(per[merged].sum() - merged.size)
    legend2 = [("component = 1 object", _SINGLE)] if (per[1:] == 1).any() else []
    if merged.size:
        legend2.append(("merged group (number: objects in it)",
                        tuple(int(v) for v in cpal[merged[0]])))
    # 3. split result, coloured by match
    labels = split_touching(semantic)
    m = int(labels.max(initial=0))
    both = (instances > 0) & (labels > 0)
    key = labels[both].astype(np.int64) * (lut.size + 1) + instances[both]
    pk, inter = np.unique(key, return_counts=True)
    b, a = np.divmod(pk, lut.size + 1)
    area_a = np.bincount(instances.ravel(), minlength=lut.size)
    area_b = np.bincount(labels.ravel(), minlength=m + 1)
    good = np.zeros(m + 1, bool)
    good[b[inter / (area_a[a] + area_b[b] - inter) >= 0.5]] = True
    spal = np.where(good[:, None], np.array(_MATCHED, np.uint8), np.array(_UNMATCHED, np.uint8))
    spal[0] = 0
    split = spal[labels].astype(np.uint8)
    split[_edges(labels)] = _EDGE
    legend3 = [("matches a true object (IoU >= 0.5)", _MATCHED)]
    if not good[1:].all():
        legend3.append(("matches none", _UNMATCHED))
    return {"panels": [
        (f"true instances: {n_true}", truth, legend1),
        (f"components: {n_comp} counted; merged groups: {merged.size}, "
         f"hiding {hidden} objects",
         comps, legend2),
        (f"split_touching: {m} objects", split, legend3)],
        "texts": texts, "labels": labels}


def write_split_example(path, semantic, instances, classes, *, title: str = "") -> Path:
    """Write the three panels of :func:`split_example_panels` side by side as a PNG, with
    a legend under each panel (needs matplotlib; without it, the true instances alone)."""
    path = Path(path)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
    except ImportError:
        from maskkit.datasets.render import render_instances_png

        return render_instances_png(path, instances, classes, title=title)
    out = split_example_panels(semantic, instances, classes)
    h, w = semantic.shape
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.6 * h / w + 0.9), dpi=100)
    for i, (ax, (name, rgb, legend)) in enumerate(zip(axes, out["panels"])):
        ax.imshow(rgb, interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        if i == 1:
            for x, y, text in out["texts"]:
                ax.text(x, y, text, ha="center", va="center", fontsize=8, weight="bold",
                        color="black")
        handles = [Patch(facecolor=np.array(c) / 255, edgecolor="0.3", label=lab)
                   for lab, c in legend]
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01),
                  fontsize=7, ncol=min(len(handles), 3), frameon=False)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    from maskkit.io.fs import atomic_write

    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png")
    plt.close(fig)
    return path


def write_real_report(rows: list, out_dir, *, source: str = "") -> dict:
    """Write ``overlap_real.csv``, ``overlap_real.md`` and ``overlap_real.json``."""
    from maskkit.io.files import write_json
    from maskkit.io.fs import atomic_write

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cols = ["image_id", "file_name", "category_id", "category", "true", "counted_c4",
            "counted_c8", "merged_c8", *(f"estimate_{m}" for m in ESTIMATORS)]
    with atomic_write(out / "overlap_real.csv", "w") as fh:
        fh.write(_csv_text(rows, cols))
    totals = _real_totals(rows)
    write_json(out / "overlap_real.json", {"source": source, "totals": totals, "rows": rows},
               indent=1)
    with atomic_write(out / "overlap_real.md", "w") as fh:
        fh.write(real_table(rows, source=source))
    return {"csv": out / "overlap_real.csv", "md": out / "overlap_real.md",
            "json": out / "overlap_real.json"}


def _real_totals(rows) -> dict:
    true = sum(r["true"] for r in rows)
    out = {"images": len({r["image_id"] for r in rows}), "rows": len(rows), "true": true}
    for k in ("counted_c4", "counted_c8", "merged_c8"):
        out[k] = sum(r[k] for r in rows)
    out["count_ratio_c8"] = out["counted_c8"] / true if true else 1.0
    out["count_ratio_c4"] = out["counted_c4"] / true if true else 1.0
    for key in ("counted_c8", *(f"estimate_{m}" for m in ESTIMATORS)):
        if rows and key in rows[0]:
            out[f"{key}_total"] = sum(r[key] for r in rows)
            err = sum(abs(r[key] - r["true"]) for r in rows)
            out[f"abs_pct_error_{key}"] = 100.0 * err / true if true else 0.0
    return out


def real_class_summary(rows: list) -> list:
    """Per category: true objects, and the absolute % error (sum over images of
    ``|counted - true|`` / true) of the components (8c) and of each estimator."""
    keys = [k for k in ("counted_c8", *(f"estimate_{m}" for m in ESTIMATORS))
            if rows and k in rows[0]]
    by: dict = {}
    for r in rows:
        by.setdefault((r["category_id"], r["category"]), []).append(r)
    out = []
    for (cid, name), rs in sorted(by.items(), key=lambda kv: kv[0][0]):
        true = sum(r["true"] for r in rs)
        entry = {"category_id": cid, "category": name, "images": len(rs), "true": true}
        for k in keys:
            entry[k] = sum(r[k] for r in rs)
            entry[f"abs_pct_error_{k}"] = (100.0 * sum(abs(r[k] - r["true"]) for r in rs)
                                           / true if true else 0.0)
        out.append(entry)
    return out


def real_table(rows: list, *, source: str = "") -> str:
    """Markdown table of :func:`real_counts` rows with a totals line."""
    t = _real_totals(rows)
    est = [m for m in ESTIMATORS if rows and f"estimate_{m}" in rows[0]]
    lines = [f"# Semantic-derived counts on {source or 'real annotations'}\n",
             "| image | class | true | counted 4c | counted 8c | merged 8c |"
             + "".join(f" {m} |" for m in est),
             "|---|---|---:|---:|---:|---:|" + "---:|" * len(est)]
    for r in rows:
        name = r["file_name"] or r["image_id"]
        lines.append(f"| {name} | {r['category'] or r['category_id']} | {r['true']} | "
                     f"{r['counted_c4']} | {r['counted_c8']} | {r['merged_c8']} |"
                     + "".join(f" {r[f'estimate_{m}']} |" for m in est))
    lines.append(f"| **all {t['images']} images** | | {t['true']} | {t['counted_c4']} | "
                 f"{t['counted_c8']} | {t['merged_c8']} |"
                 + "".join(f" {t[f'estimate_{m}_total']} |" for m in est))
    lines.append(f"\ncount ratio: {t['count_ratio_c8']:.3f} (8c), {t['count_ratio_c4']:.3f} (4c)")
    if est:
        lines.append("\nabs % error (sum over images and classes of |counted - true| / true): "
                     + ", ".join([f"components 8c {t['abs_pct_error_counted_c8']:.1f} %"]
                                 + [f"{m} {t[f'abs_pct_error_estimate_{m}']:.1f} %"
                                    for m in est]))
        lines += ["\n## Per class\n",
                  "| class | images | true | 8c | abs % err 8c |"
                  + "".join(f" {m} | abs % err {m} |" for m in est),
                  "|---|---:|---:|---:|---:|" + "---:|---:|" * len(est)]
        for c in real_class_summary(rows):
            lines.append(
                f"| {c['category'] or c['category_id']} | {c['images']} | {c['true']} | "
                f"{c['counted_c8']} | {c['abs_pct_error_counted_c8']:.0f} |"
                + "".join(f" {c[f'estimate_{m}']} | {c[f'abs_pct_error_estimate_{m}']:.0f} |"
                          for m in est))
    return "\n".join(lines) + "\n"


def _stderr(message: str) -> None:
    from maskkit.parallel import echo

    echo(message)
