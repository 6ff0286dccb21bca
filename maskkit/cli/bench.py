"""``maskkit bench overlap``: how far semantic-derived counts fall from true counts.

Sweeps the overlap control of generated scenes (``maskkit.synth``) and writes
``DIR/overlap.csv``, ``overlap.md``, ``overlap.json``, ``overlap.png`` (needs matplotlib:
``pip install 'maskkit[plot]'``) and ``DIR/examples/gap_*.png``; prints the table on stdout.
Beside the connected components, every level measures ``maskkit.estimate_counts`` with
``split``, ``combined`` and ``area`` (count ratio, abs % error, exact share, share of true
counts in the low-high range) and the mean matched IoU of ``split_touching`` against the true instances;
each example shows the true instances, the components a semantic count sees and the split
result side by side.
With ``--real INSTANCES.json`` (a COCO instances or panoptic JSON) it compares instead, per
image and class, the real annotations' semantic-derived counts (and estimates) with their
true counts and writes ``DIR/overlap_real.{csv,md,json}``, with a per-class error table.
The table goes to stdout; progress and notes to stderr. Exit status: 0 success, 1 error,
2 usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from maskkit.cli._common import positive_int
from maskkit.cli._output import output_folder, plural, say


def _plain(text: str) -> str:
    """A docstring paragraph as --help text: no reST markup."""
    return text.replace("``", "")


def _radius(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN,MAX pixels; got {text!r}") from None
    return lo, hi


def add_parser(sub) -> None:
    from maskkit.study.overlap import DEFAULT_LEVELS
    from maskkit.study.synth import SHAPES

    p = sub.add_parser("bench", help="benchmarks: 'bench overlap' measures semantic counts "
                                     "against overlap",
                       description="Benchmarks of what maskkit measures.")
    bsub = p.add_subparsers(dest="bench", metavar="BENCH")
    o = bsub.add_parser(
        "overlap",
        help="sweep object overlap and measure semantic-derived counts against the truth",
        description=_plain(__doc__.split("\n\n", 1)[1]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    o.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="output folder (created; locked while the run writes)")
    o.add_argument("--objects", type=positive_int, default=50, metavar="N",
                   help="objects per scene (default: 50)")
    o.add_argument("--classes", type=positive_int, default=3, metavar="K",
                   help="classes per scene (default: 3)")
    o.add_argument("--levels", type=float, nargs="+", default=list(DEFAULT_LEVELS),
                   metavar="GAP", help="gap levels in pixels: > 0 apart, 0 touching, < 0 "
                   "overlapping (default: %(default)s)")
    o.add_argument("--repeats", type=positive_int, default=20, metavar="R",
                   help="scenes per level (default: 20)")
    o.add_argument("--shape", choices=SHAPES, default="mixed", help="object outlines "
                   "(default: mixed)")
    o.add_argument("--size", type=positive_int, default=512, metavar="PX",
                   help="image side in pixels (default: 512)")
    o.add_argument("--radius", type=_radius, default=(8.0, 24.0), metavar="MIN,MAX",
                   help="object radii, log-uniform (default: 8,24)")
    o.add_argument("--group-size", type=float, default=3.0, metavar="M",
                   help="mean objects per same-class group (default: 3)")
    o.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    o.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="worker processes (default: all cores)")
    o.add_argument("--no-examples", action="store_true",
                   help="do not render one example scene per level")
    o.add_argument("--real", metavar="INSTANCES.json", default=None,
                   help="compare on real annotations (COCO instances or panoptic JSON) "
                   "instead of generated scenes")
    o.add_argument("--crowd", choices=["class", "skip"], default="class",
                   help="--real: crowd regions count as one object and are painted (class, "
                   "default) or are left out of both sides (skip)")
    o.add_argument("--quiet", action="store_true", help="no progress display")
    o.set_defaults(func=run)
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])


def run(args: argparse.Namespace) -> int:
    with output_folder(args.output) as out:
        return _run(args, out)


def _run(args: argparse.Namespace, out) -> int:
    from maskkit.study.overlap import (
        overlap_benchmark,
        overlap_table,
        real_counts,
        real_table,
        write_overlap_report,
        write_real_report,
    )

    if args.real:
        rows = real_counts(args.real, crowd=args.crowd)
        written = write_real_report(rows, out, source=args.real)
        sys.stdout.write(real_table(rows, source=args.real))
    else:
        result = overlap_benchmark(
            levels=args.levels, repeats=args.repeats, objects=args.objects,
            classes=args.classes, size=args.size, shape=args.shape, radius=args.radius,
            group_size=args.group_size, seed=args.seed, workers=args.workers,
            progress=not args.quiet)
        written = write_overlap_report(result, out,
                                       warn=lambda m: print(m, file=sys.stderr),
                                       examples=not args.no_examples)
        sys.stdout.write(overlap_table(result))
        say("bench overlap", f"{plural(len(result.images) // 2, 'scene')} in "
                             f"{result.seconds:.1f} s")
    say("bench overlap", "wrote " + ", ".join(str(p) for p in written.values()))
    return 0
