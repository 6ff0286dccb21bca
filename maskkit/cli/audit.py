"""``maskkit audit``: instance or semantic annotation? Measure the dataset, then price it."""

from __future__ import annotations

import argparse

from maskkit.cli._common import add_batch_options, batch_kwargs
from maskkit.cli._output import EXIT_SKIPPED, output_folder, plural, say, warn


def _yes_no(text: str) -> bool:
    t = text.lower()
    if t in ("yes", "y", "true", "1"):
        return True
    if t in ("no", "n", "false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected yes or no; got {text!r}")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "audit",
        help="audit a COCO dataset: overlap, semantic-only count error, density, "
        "recommendation and cost",
        description=(
            "Audit a COCO instances dataset (or a sample of it): objects per image, "
            "same-class overlapping and touching pairs, the count error a semantic-only "
            "annotation would cause, a density class per image, an instance-or-semantic "
            "recommendation that follows a stated checklist, and annotation cost ranges "
            "(default price table, override with --prices). The report goes to stdout (a "
            "table by default, --json for machines); warnings and notes to stderr."
        ),
        epilog="Exit status: 0 success, 1 error, 2 usage, 3 some images skipped "
               "(--on-error skip; they are listed on stderr and in the JSON report's "
               "'skipped'), 130 interrupted.",
    )
    p.add_argument("instances", metavar="INSTANCES.json", help="COCO instances file")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.add_argument("--prices", metavar="FILE", default=None,
                   help='JSON price overrides, e.g. {"instance": {"dense": [10, 20]}, '
                   '"currency": "EUR"}')
    p.add_argument("--render", metavar="DIR", default=None,
                   help="render the worst-counted images (instances and semantic) into DIR")
    p.add_argument("--images", metavar="DIR", default=None,
                   help="with --render: folder of the photos, to blend under the masks")
    p.add_argument("--counting", type=_yes_no, default=None, metavar="yes|no",
                   help="are counts or tracks needed? (default: not stated, treated as yes)")
    p.add_argument("--surface", type=_yes_no, default=None, metavar="yes|no",
                   help="is it a surface/layout task?")
    p.add_argument("--budget", type=float, default=None, metavar="AMOUNT",
                   help="total budget in the price table's currency")
    p.add_argument("--sample", type=int, default=None, metavar="N",
                   help="audit a random sample of N images (costs also scaled to the whole "
                        "dataset)")
    p.add_argument("--seed", type=int, default=0, help="seed of --sample (default: 0)")
    add_batch_options(p, on_error_help=(
        "on a bad image (e.g. a corrupt polygon or RLE): stop with exit status 1 (raise, "
        "default) or leave it out of the figures, list it in the report and exit with "
        "status 3"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import os
    import sys

    from maskkit.cli._output import UsageError, check_output_path
    from maskkit.errors import InvalidInputError
    from maskkit.io.coco import load_coco
    from maskkit.study.audit import audit_dataset, format_report, load_prices, render_worst

    if args.images is not None:
        if not args.render:
            raise UsageError("--images goes with --render DIR (the photos to blend under "
                             "the rendered masks)")
        if not os.path.isdir(args.images):
            raise InvalidInputError(f"--images {args.images}: no such folder of photos")
    if args.render:
        check_output_path(args.render, folder=True)  # before the audit, not after it
    prices = load_prices(args.prices)
    batch = batch_kwargs(args)
    index = load_coco(args.instances, strict=args.on_error == "raise")
    report = audit_dataset(index, prices=prices, counting=args.counting, surface=args.surface,
                           budget=args.budget, sample=args.sample, seed=args.seed,
                           progress=True,
                           on_error=args.on_error,
                           warn=lambda line: warn("audit", line),
                           **batch)
    if args.json:
        json.dump(report.as_dict(), sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_report(report))
    sys.stdout.flush()
    if not index.images:
        warn("audit", f"{args.instances} lists no images; nothing to audit")
    if args.render:
        with output_folder(args.render) as folder:
            written = render_worst(report, index, folder, images_dir=args.images)
        say("audit", f"rendered {plural(len(written), 'preview')} into {args.render}")
    if report.skipped:
        say("audit", f"{plural(len(report.skipped), 'bad image')} skipped")
        return EXIT_SKIPPED
    return 0
