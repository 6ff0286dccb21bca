"""``maskkit split``: instance label images from semantic masks, touching objects split.

Each mask (8/16-bit PNG, TIFF, .npy; files, directories or glob patterns) is split with
:func:`maskkit.split_touching` and written to ``OUT/<name>.png`` (16-bit grey when there
are more than 255 objects) or ``OUT/<name>.tif`` (``--format tif``; also used when there
are more than 65535 objects), atomically, with ``OUT/<name>.classes.json`` beside it: the
class of every object as a class map (``{"categories": [...], "instances": {"<id>":
<class>}}``), so that ``maskkit labels2coco OUT/<name>.png --kind instance --categories
OUT/<name>.classes.json -o instances.json`` turns the objects into COCO annotations of
their class.  One CSV line per image on stdout: ``image,objects,output``.
Exit status: 0 success, 1 error, 2 usage, 3 some masks skipped (``--on-error skip``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from maskkit.cli._common import add_batch_options, batch_kwargs
from maskkit.cli._output import EXIT_SKIPPED, one_line, output_folder, plural, say, warn


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas; got "
                                         f"{text!r}") from None


def add_parser(sub) -> None:
    p = sub.add_parser(
        "split",
        help="split touching objects of semantic masks into instance label images",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="MASK",
                   help="mask files, directories (searched recursively) or glob patterns")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder")
    p.add_argument("--connectivity", type=int, choices=[4, 8, 6, 18, 26], default=8,
                   help="which same-class pixels belong together (default: 8)")
    p.add_argument("--background", type=int, default=0, help="background value (default: 0)")
    p.add_argument("--ignore", type=_int_list, default=(255,), metavar="V[,V...]",
                   help="values that are not classes (default: 255; '' for none)")
    p.add_argument("--min-distance", type=float, default=None, metavar="PX",
                   help="also merge objects whose centres are closer than PX")
    p.add_argument("--format", choices=["png", "tif"], default="png",
                   help="output format (default: png)")
    add_batch_options(p, on_error_help="on a bad mask: stop (raise, default) or skip it, say "
                                       "so on stderr and exit with status 3")
    p.add_argument("--quiet", action="store_true", help="no progress display and no summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import functools

    from maskkit.datasets.split import output_stem, split_file
    from maskkit.errors import InvalidInputError
    from maskkit.io.masks import expand_inputs
    from maskkit.parallel import run_batch

    files = expand_inputs(args.paths, as_text=True)
    names: dict[str, str] = {}
    for f in files:
        stem = output_stem(f)
        if stem in names:
            raise InvalidInputError(f"it and {names[stem]} would both be written as "
                                    f"{Path(args.output) / stem}.*; split them into separate "
                                    "runs", source=f)
        names[stem] = str(f)
    job = functools.partial(split_file, fmt=args.format, connectivity=args.connectivity,
                            background=args.background, ignore=args.ignore,
                            min_distance=args.min_distance)
    skipped = 0
    with output_folder(args.output) as out:
        sys.stdout.write("image,objects,output\n")
        sys.stdout.flush()
        for res in run_batch(functools.partial(job, out_dir=str(out)), files,
                             on_error=args.on_error, desc="masks",
                             progress=False if args.quiet else None, **batch_kwargs(args)):
            if res.error is not None:
                skipped += 1
                warn("split", f"skipped: {one_line(res.error)}")
                continue
            objects, written = res.value
            sys.stdout.write(f"{res.item},{objects},{written}\n")
            sys.stdout.flush()
    if not args.quiet:
        say("split", f"{plural(len(files) - skipped, 'mask')} split into {out}"
            + (f"; {skipped} skipped" if skipped else ""))
    return EXIT_SKIPPED if skipped else 0
