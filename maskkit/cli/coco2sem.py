"""``maskkit coco2sem``: COCO instance annotations → semantic PNGs."""

from __future__ import annotations

import argparse

from maskkit.cli._common import add_batch_options, batch_kwargs
from maskkit.cli._output import EXIT_SKIPPED, output_folder, plural, say, warn


def add_parser(sub) -> None:
    p = sub.add_parser(
        "coco2sem",
        help="flatten COCO instance annotations into semantic label PNGs",
        description=(
            "Flatten the instance annotations of a COCO file into one semantic label PNG per "
            "image, named after file_name with its sub-folders kept (train/a.jpg -> "
            "OUTDIR/train/a.png), pixel-exact with pycocotools. Images whose PNGs would "
            "overwrite each other (x.jpg and x.png) or coco2sem's own files are refused "
            "before anything is written. Also writes categories.json (value -> category) "
            "and coco2sem_stats.csv (pixels claimed by several objects, per image). "
            "INSTANCES.json and OUTDIR may be fsspec URLs (s3://, memory://, ...). The "
            "summary goes to stderr."
        ),
    )
    p.add_argument("instances", metavar="INSTANCES.json", help="COCO instances file")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                   help="output folder (created; locked while the run writes)")
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
                    "content recorded in OUTDIR/.coco2sem_manifest.jsonl are not redone; "
                    "temporary files the interrupted run left are removed",
    )
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from maskkit.datasets.coco2sem import MANIFEST, convert_coco_dataset

    with output_folder(args.output, bookkeeping={MANIFEST}) as out:
        summary = convert_coco_dataset(
            args.instances, out, overlap=args.overlap, crowd=args.crowd,
            ignore_value=args.ignore_value, contiguous=args.contiguous,
            palette=args.palette, on_error=args.on_error,
            progress=False if args.quiet else None,
            warn=lambda m: warn("coco2sem", m), resume=args.resume, **batch_kwargs(args),
        )
    if summary["images"] + summary["skipped"] == 0:
        warn("coco2sem", f"{args.instances} lists no images; nothing to convert")
    say("coco2sem",
        f"{plural(summary['images'], 'image')}, {plural(summary['objects'], 'object')} -> "
        f"{summary['out_dir']} in {summary['seconds']:.2f} s; "
        f"{plural(summary['contested_pixels'], 'contested pixel')} in "
        f"{plural(summary['images_with_contested_pixels'], 'image')} "
        f"({summary['conflict_pixels']} between different classes); "
        f"{summary['skipped']} skipped"
        + (f", {summary['resumed']} already done" if summary["resumed"] else ""))
    return EXIT_SKIPPED if summary["skipped"] else 0
