"""``maskkit render``: a colour preview of a semantic, instance or panoptic mask."""

from __future__ import annotations

import argparse

from maskkit.cli._output import output_file, say


def add_parser(sub) -> None:
    p = sub.add_parser(
        "render",
        help="colour preview of a mask (outlines, legend, optional photo blend)",
        description=(
            "Write a colour preview of a label mask: a stable colour per class (semantic) or "
            "per object (instance, panoptic things), a white outline around every object, "
            "an optional blend over the photo, and a legend with class names and counts."
        ),
        epilog="Writes OUT.png (locked while written); the note goes to stderr. Exit "
               "status: 0 success, 1 error, 2 usage, 130 interrupted.",
    )
    p.add_argument("mask", metavar="MASK", help="mask file (PNG, TIFF, .npy; panoptic: the "
                   "RGB id PNG)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.png", help="preview file")
    p.add_argument("--kind", choices=["semantic", "instance", "panoptic"], default="semantic",
                   help="what the pixel values are (default: semantic)")
    p.add_argument("--image", metavar="IMG", default=None, help="photo to blend over")
    p.add_argument("--alpha", type=float, default=0.55, help="colour opacity over the photo "
                   "(default: 0.55)")
    p.add_argument("--json", metavar="PANOPTIC.json", default=None,
                   help="panoptic: the JSON whose segments_info gives each id its class")
    p.add_argument("--categories", metavar="CATS.json", default=None,
                   help="class names: a COCO/panoptic JSON, coco2sem's categories.json, "
                   "{id: name}, or a VOC class_names.txt (one name per line, from value 0)")
    p.add_argument("--no-legend", action="store_true", help="no legend panel")
    p.add_argument("--no-outline", action="store_true", help="no outlines")
    p.set_defaults(func=run)


def _panoptic_segments(json_path, mask_path):
    from pathlib import Path

    from maskkit.errors import InvalidAnnotationError
    from maskkit.io.files import read_json

    doc = read_json(json_path)
    name = Path(mask_path).name
    for ann in doc.get("annotations", []):
        if Path(str(ann.get("file_name", ""))).name == name:
            classes = {int(s["id"]): int(s["category_id"]) for s in ann["segments_info"]}
            return classes, doc.get("categories", [])
    raise InvalidAnnotationError(f"no annotation with file_name {name!r}", source=json_path)


def run(args: argparse.Namespace) -> int:
    from maskkit import render
    from maskkit.datasets.render import load_category_names
    from maskkit.errors import MaskkitError
    from maskkit.io.files import read_class_names
    from maskkit.io.masks import read_mask
    from maskkit.io.png import read_png, write_render

    names, colours, classes = {}, {}, None
    if args.kind == "panoptic":
        from maskkit.io.panoptic import read_panoptic_png

        mask = read_panoptic_png(args.mask)
        if args.json:
            classes, cats = _panoptic_segments(args.json, args.mask)
            names, _ = load_category_names(cats)
            # stuff in its category colour, things one colour each
            colours = {int(c["id"]): tuple(c["color"]) for c in cats
                       if not c.get("isthing", 1) and "color" in c}
    else:
        mask = read_mask(args.mask)
    if args.categories:
        source = args.categories
        if str(source).lower().endswith(".txt"):
            source = read_class_names(source)
        try:
            names, cat_colours = load_category_names(source)
        except MaskkitError as exc:
            raise exc.with_context(source=args.categories) from None
        if args.kind == "semantic":
            colours = cat_colours
    image = read_png(args.image, mode="rgb") if args.image else None
    with output_file(args.output) as out:
        try:
            rgb = render(mask, kind=args.kind, image=image, alpha=args.alpha,
                         classes=classes, names=names, colours=colours,
                         outline=not args.no_outline, legend=not args.no_legend)
        except MaskkitError as exc:  # a size mismatch, a 3-D mask: name the files
            what = f"{args.mask}" + (f" with --image {args.image}" if args.image else "")
            raise exc.with_context(source=what) from None
        write_render(out, rgb)
    say("render", f"wrote {args.output}")
    return 0
