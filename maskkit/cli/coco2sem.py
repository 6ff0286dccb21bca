"""``maskkit coco2sem``: COCO instance annotations → semantic PNGs."""

from __future__ import annotations

import argparse
import sys

from maskkit.cli._common import EXIT_SKIPPED, add_batch_options, batch_kwargs


def add_parser(sub) -> None:
    p = sub.add_parser(
        "coco2sem",
        help="flatten COCO instance annotations into semantic label PNGs",
        description=(
            "Flatten the instance annotations of a COCO file into one semantic label PNG per "
            "image (named after file_name), pixel-exact with pycocotools. Also writes "
            "categories.json (value -> category) and coco2sem_stats.csv (pixels claimed by "
            "several objects, per image). INSTANCES.json and OUTDIR may be fsspec URLs "
            "(s3://, memory://, ...)."
        ),
    )
    p.add_argument("instances", metavar="INSTANCES.json", help="COCO instances file")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    p.add_argument("--overlap", choices=["last", "area", "score", "void"], default="last",
                   help="who owns pixels claimed by several objects (default: last, "
                        "the annotation order, as the annToMask loop)")
    p.add_argument("--crowd", choices=["class", "ignore", "skip"], default="class",
                   help="crowd regions: their class, the ignore value, or left out "
                        "(default: class)")
    p.add_argument("--ignore-value", type=int, default=255, metavar="V",
                   help="label of 'don't care' pixels (default: 255)")
    p.add_argument("--contiguous", action="store_true",
                   help="renumber categories 1..K (mapping in categories.json)")
    p.add_argument("--palette", action="store_true",
                   help="write palette PNGs with the PASCAL VOC colour map")
    add_batch_options(
        p,
        on_error_help="on a bad annotation: stop (raise, default) or skip its image, list it "
                      "in coco2sem_errors.jsonl and exit with status 3",
        resume_help="finish an interrupted run: images whose PNG is in OUTDIR with the "
                    "content recorded in OUTDIR/.coco2sem_manifest.jsonl are not redone",
    )
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from maskkit.batch import echo
    from maskkit.flatten import convert_coco_dataset

    summary = convert_coco_dataset(
        args.instances, args.output, overlap=args.overlap, crowd=args.crowd,
        ignore_value=args.ignore_value, contiguous=args.contiguous, palette=args.palette,
        on_error=args.on_error, progress=False if args.quiet else None,
        warn=lambda m: echo(f"maskkit coco2sem: warning: {m}"), resume=args.resume,
        **batch_kwargs(args),
    )
    print(
        f"coco2sem: {summary['images']} images, {summary['objects']} objects -> "
        f"{summary['out_dir']} in {summary['seconds']:.2f} s; "
        f"{summary['contested_pixels']} contested pixels in "
        f"{summary['images_with_contested_pixels']} images "
        f"({summary['conflict_pixels']} between different classes); "
        f"{summary['skipped']} skipped"
        + (f", {summary['resumed']} already done" if summary["resumed"] else ""),
        file=sys.stdout,
    )
    return EXIT_SKIPPED if summary["skipped"] else 0
