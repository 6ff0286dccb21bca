"""``maskkit convert``: annotation formats to and from each other."""

from __future__ import annotations

import argparse
import sys

from maskkit.cli._common import EXIT_SKIPPED, add_batch_options, batch_kwargs

FORMATS = ["coco", "yolo", "labelme", "voc", "cvat", "cityscapes"]


def add_parser(sub) -> None:
    p = sub.add_parser(
        "convert",
        help="convert annotations between COCO, YOLO segmentation, labelme, VOC PNGs, "
             "CVAT XML and Cityscapes",
        description=(
            "Convert an annotation dataset from one format to another, pixel-exact where "
            "the target can hold the objects (every polygon is rasterised by COCO's rule). "
            "Objects the target holds only approximately are listed with their mask IoU in "
            "convert_losses.jsonl (or DST.losses.jsonl for a COCO file); objects it cannot "
            "hold at all are listed as dropped."
        ),
    )
    p.add_argument("src", metavar="SRC", help="COCO JSON file, YOLO dataset folder, folder of "
                                               "labelme JSON files, VOC folder, CVAT XML or "
                                               "Cityscapes gtFine folder")
    p.add_argument("-o", "--output", required=True, metavar="DST",
                   help="output: a JSON file for --to coco, an XML file for --to "
                        "cvat, else a folder")
    p.add_argument("--to", required=True, choices=FORMATS, help="target format")
    p.add_argument("--from", dest="from_", choices=FORMATS, default=None,
                   help="source format (default: detected; an ambiguous source is an error)")
    p.add_argument("--categories", metavar="FILE", default=None,
                   help="labelme source: category list (labelme labels.txt, or a JSON list "
                        "of COCO categories) fixing the category ids")
    p.add_argument("--images", metavar="DIR", default=None,
                   help="YOLO target: folder the image file names are relative to; images "
                        "are linked (or copied) into DST/images")
    p.add_argument("--cityscapes-outputs", nargs="+", metavar="KIND",
                   choices=["labelIds", "labelTrainIds", "instanceIds"], default=None,
                   help="Cityscapes target: which PNGs to write (default: all three)")
    p.add_argument("--no-check", action="store_true",
                   help="do not measure the IoU of objects whose geometry changes")
    add_batch_options(
        p,
        on_error_help="on a bad image: stop (raise, default) or skip it, list it in "
                      "convert_errors.jsonl and exit with status 3",
        resume_help="finish an interrupted or failed run: images recorded in the hidden "
                    "manifest beside DST whose files still have the recorded content are "
                    "not redone",
    )
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from maskkit.datasets.conversion import convert
    from maskkit.parallel import echo

    s = convert(
        args.src, args.output, to=args.to, from_=args.from_, categories=args.categories,
        images=args.images, check=not args.no_check, outputs=args.cityscapes_outputs, on_error=args.on_error,
        progress=False if args.quiet else None,
        warn=lambda m: echo(f"maskkit convert: warning: {m}"), resume=args.resume,
        **batch_kwargs(args),
    )
    line = (f"convert {s['from']} -> {s['to']}: {s['images']} images, "
            f"{s['objects_read']} objects read, {s['objects_written']} written -> "
            f"{s['output']} in {s['seconds']:.2f} s; {s['changed']} reshaped "
            f"({s['lossy']} lossy, min IoU {s['min_iou']:.4f}), {s['dropped']} dropped, "
            f"{s['skipped']} skipped"
            + (f", {s['resumed']} already done" if s["resumed"] else ""))
    if s["losses_file"]:
        line += f"; details in {s['losses_file']}"
    print(line, file=sys.stdout)
    return EXIT_SKIPPED if s["skipped"] else 0
