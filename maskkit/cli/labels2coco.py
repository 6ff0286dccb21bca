"""``maskkit labels2coco``: instance label images or semantic masks -> COCO instances JSON."""

from __future__ import annotations

import argparse

from maskkit.cli._output import output_file, plural, say


def add_parser(sub) -> None:
    p = sub.add_parser(
        "labels2coco",
        help="convert label images (instance ids or semantic classes) to COCO instances JSON",
        description=(
            "Convert label images to a COCO instances file: every instance id "
            "(--kind instance) or every connected component of every class (--kind "
            "semantic) becomes one annotation, with compressed RLE or polygons traced along "
            "pixel edges (objects with holes stay RLE), and area and bbox from the mask. "
            "images[].file_name is each input's path relative to --root (portable). The "
            "summary goes to stderr."
        ),
        epilog="Exit status: 0 success, 1 error (the message names the file), 2 usage, "
               "130 interrupted.",
    )
    p.add_argument("labels", nargs="+", metavar="LABELS",
                   help="label images (PNG, TIFF, .npy), directories or glob patterns")
    p.add_argument("-o", "--output", required=True, metavar="instances.json",
                   help="COCO JSON to write (atomically; locked while written)")
    p.add_argument("--kind", choices=["instance", "semantic"], required=True,
                   help="instance: pixel values are object ids; semantic: pixel values are "
                        "classes, objects are their connected components")
    seg = p.add_mutually_exclusive_group()
    seg.add_argument("--rle", dest="segmentation", action="store_const", const="rle",
                     help="compressed RLE segmentations (default; exact)")
    seg.add_argument("--polygons", dest="segmentation", action="store_const",
                     const="polygons", help="polygon segmentations (objects with holes stay RLE)")
    p.set_defaults(segmentation="rle")
    p.add_argument("--simplify", type=float, default=0.0, metavar="TOL",
                   help="polygon simplification tolerance in pixels (default: 0, exact)")
    p.add_argument("--min-area", type=int, default=0, metavar="N",
                   help="leave out objects smaller than N pixels (default: 0)")
    p.add_argument("--connectivity", type=int, choices=[4, 8], default=8,
                   help="semantic: neighbourhood of a component (default: 8)")
    p.add_argument("--ignore", type=int, nargs="*", default=None, metavar="V",
                   help="values that are not objects (default: 255 for semantic, none for "
                        "instance)")
    p.add_argument("--categories", metavar="CLASSMAP.json", default=None,
                   help='class map: [{"id": 1, "name": "building"}, ...] or {"1": "building"} '
                        '(instance: add "instances": {"<id>": <category>})')
    p.add_argument("--category-name", metavar="NAME", default="object",
                   help="--kind instance without --categories: the name of the one category")
    p.add_argument("--root", metavar="DIR", default=None,
                   help="file_name is each input's path relative to DIR (default: the "
                        "deepest folder holding every input)")
    p.add_argument("--quiet", action="store_true", help="no summary on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from maskkit.datasets.labels2coco import labels_to_coco, write_coco
    from maskkit.errors import InvalidInputError
    from maskkit.io.masks import expand_inputs

    start = time.monotonic()
    if args.simplify < 0:
        raise InvalidInputError(f"--simplify must be >= 0; got {args.simplify}")
    if args.min_area < 0:
        raise InvalidInputError(f"--min-area must be >= 0; got {args.min_area}")
    if args.category_name != "object" and (args.kind != "instance" or args.categories):
        from maskkit.cli._output import UsageError

        raise UsageError("--category-name names the one category of --kind instance "
                         "without --categories")
    ignore = args.ignore if args.ignore is not None else ([255] if args.kind == "semantic" else [])
    with output_file(args.output) as out:
        paths = expand_inputs(args.labels)
        coco = labels_to_coco(
            paths, kind=args.kind, segmentation=args.segmentation,
            connectivity=args.connectivity, simplify=args.simplify, min_area=args.min_area,
            ignore=ignore, categories=args.categories, root=args.root,
            category_name=args.category_name,
        )
        write_coco(out, coco)
    if not args.quiet:
        anns = coco["annotations"]
        rle = sum(isinstance(a["segmentation"], dict) for a in anns)
        say("labels2coco",
            f"{plural(len(coco['images']), 'image')}, {plural(len(anns), 'object')} "
            f"({rle} as RLE), {plural(len(coco['categories']), 'category', 'categories')} "
            f"-> {args.output} in {time.monotonic() - start:.2f} s")
    return 0
