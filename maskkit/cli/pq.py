"""``maskkit pq``: panoptic quality (PQ, SQ, RQ) of predictions, panopticapi's rules."""

from __future__ import annotations

import argparse

from maskkit.cli._common import add_batch_options, batch_kwargs
from maskkit.cli._output import EXIT_SKIPPED, output_file, warn


def add_parser(sub) -> None:
    p = sub.add_parser(
        "pq",
        help="panoptic quality of COCO panoptic predictions",
        description="PQ, SQ and RQ for All / Things / Stuff (and per class) of COCO "
                    "panoptic predictions against ground truth, with panopticapi's rules. "
                    "The table goes to stdout; warnings to stderr.",
    )
    p.add_argument("gt", metavar="GT.json", help="ground-truth panoptic JSON")
    p.add_argument("pred", metavar="PRED.json", help="predicted panoptic JSON")
    p.add_argument("--gt-folder", metavar="DIR", help="default: GT without .json")
    p.add_argument("--pred-folder", metavar="DIR", help="default: PRED without .json")
    add_batch_options(p, on_error_help=(
        "on an image that cannot be evaluated: stop with exit status 1 (raise, default) or "
        "leave it out of the sums, list it (in OUT.json.errors.jsonl with --json) and exit "
        "with status 3"))
    p.add_argument("--per-class", action="store_true",
                   help="also print one line per class present in the ground truth or the "
                        "predictions, with its full name")
    p.add_argument("--json", metavar="OUT.json", help="also write the results as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def format_results(results: dict, categories=None, *, per_class: bool = False) -> str:
    """The results table panopticapi prints (percentages), optionally per class.

    Per class, only the classes in ``results["present_classes"]`` (when given) are listed,
    each with its id and full name.

    Examples
    --------
    >>> r = {k: {"pq": 1.0, "sq": 1.0, "rq": 1.0, "n": 1} for k in ("All", "Things")}
    >>> r["Stuff"] = {"pq": 0.0, "sq": 0.0, "rq": 0.0, "n": 0}
    >>> r["per_class"] = {1: {"pq": 1.0, "sq": 1.0, "rq": 1.0},
    ...                   2: {"pq": 0.0, "sq": 0.0, "rq": 0.0}}
    >>> r["present_classes"] = [1]
    >>> print(format_results(r, [{"id": 1, "name": "traffic light"}], per_class=True))
                    |    PQ     SQ     RQ     N
    --------------------------------------------
    All             | 100.0  100.0  100.0     1
    Things          | 100.0  100.0  100.0     1
    Stuff           |   0.0    0.0    0.0     0
    --------------------------------------------
    1 traffic light | 100.0  100.0  100.0
    """
    names = {int(c["id"]): c.get("name", "") for c in categories or []}
    rows = []
    if per_class:
        present = results.get("present_classes")
        for cid, r in results["per_class"].items():
            if present is None or int(cid) in present:
                rows.append((f"{cid} {names.get(int(cid), '') or ''}".strip(), r))
    width = max([10, *(len(label) + 1 for label, _ in rows)])
    lines = [f"{'':{width}s}| {'PQ':>5s}  {'SQ':>5s}  {'RQ':>5s} {'N':>5s}",
             "-" * (width + 28)]
    for name in ("All", "Things", "Stuff"):
        r = results[name]
        lines.append(f"{name:{width}s}| {100 * r['pq']:5.1f}  {100 * r['sq']:5.1f}  "
                     f"{100 * r['rq']:5.1f} {r['n']:5d}")
    if per_class:
        lines.append("-" * (width + 28))
        for label, r in rows:
            lines.append(f"{label:{width}s}| {100 * r['pq']:5.1f}  {100 * r['sq']:5.1f}  "
                         f"{100 * r['rq']:5.1f}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from maskkit.cli._common import write_errors
    from maskkit.datasets.pq import pq_compute
    from maskkit.io.files import read_json, write_json

    with output_file(args.json) as out:
        results = pq_compute(args.gt, args.pred, args.gt_folder, args.pred_folder,
                             progress=False if args.quiet else None,
                             on_error=args.on_error, **batch_kwargs(args))
        skipped = results.pop("skipped", [])
        for rec in skipped:
            warn("pq", f"{rec['error']}; skipped")
        cats = read_json(args.gt).get("categories") if args.per_class else None
        print(format_results(results, cats, per_class=args.per_class))
        if out is not None:
            write_json(out, results, indent=2)
            write_errors(f"{out}.errors.jsonl", skipped)
    return EXIT_SKIPPED if skipped else 0
