"""``maskkit pq``: panoptic quality (PQ, SQ, RQ) of predictions, panopticapi's rules."""

from __future__ import annotations

import argparse

from maskkit.cli._common import EXIT_SKIPPED, add_batch_options, batch_kwargs


def add_parser(sub) -> None:
    p = sub.add_parser(
        "pq",
        help="panoptic quality of COCO panoptic predictions",
        description="PQ, SQ and RQ for All / Things / Stuff (and per class) of COCO "
                    "panoptic predictions against ground truth, with panopticapi's rules.",
    )
    p.add_argument("gt", metavar="GT.json", help="ground-truth panoptic JSON")
    p.add_argument("pred", metavar="PRED.json", help="predicted panoptic JSON")
    p.add_argument("--gt-folder", metavar="DIR", help="default: GT without .json")
    p.add_argument("--pred-folder", metavar="DIR", help="default: PRED without .json")
    add_batch_options(p, on_error_help=(
        "on an image that cannot be evaluated: stop with exit status 1 (raise, default) or "
        "leave it out of the sums, list it (in OUT.json.errors.jsonl with --json) and exit "
        "with status 3"))
    p.add_argument("--per-class", action="store_true", help="also print one line per class")
    p.add_argument("--json", metavar="OUT.json", help="also write the results as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def format_results(results: dict, categories=None, *, per_class: bool = False) -> str:
    """The results table panopticapi prints (percentages), optionally per class."""
    lines = [f"{'':10s}| {'PQ':>5s}  {'SQ':>5s}  {'RQ':>5s} {'N':>5s}", "-" * 38]
    for name in ("All", "Things", "Stuff"):
        r = results[name]
        lines.append(f"{name:10s}| {100 * r['pq']:5.1f}  {100 * r['sq']:5.1f}  "
                     f"{100 * r['rq']:5.1f} {r['n']:5d}")
    if per_class:
        names = {int(c["id"]): c.get("name", "") for c in categories or []}
        lines.append("-" * 38)
        for cid, r in results["per_class"].items():
            label = f"{cid} {names.get(int(cid), '')}".strip()[:10]
            lines.append(f"{label:10s}| {100 * r['pq']:5.1f}  {100 * r['sq']:5.1f}  "
                         f"{100 * r['rq']:5.1f}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from maskkit.batch import echo
    from maskkit.cli._common import write_errors
    from maskkit.io.files import read_json, write_json
    from maskkit.pq import pq_compute

    results = pq_compute(args.gt, args.pred, args.gt_folder, args.pred_folder,
                         progress=False if args.quiet else None, on_error=args.on_error,
                         **batch_kwargs(args))
    skipped = results.pop("skipped", [])
    for rec in skipped:
        echo(f"maskkit pq: warning: {rec['error']}; skipped")
    cats = read_json(args.gt).get("categories") if args.per_class else None
    print(format_results(results, cats, per_class=args.per_class))
    if args.json:
        write_json(args.json, results, indent=2)
        write_errors(f"{args.json}.errors.jsonl", skipped)
    return EXIT_SKIPPED if skipped else 0
