"""``maskkit split``: instance label images from semantic masks, touching objects split.

Each mask (8/16-bit PNG, TIFF, .npy; files, directories or glob patterns) is split with
:func:`maskkit.split_touching` and written to ``OUT/<name>.png`` (16-bit grey when there
are more than 255 objects) or ``OUT/<name>.tif`` (``--format tif``; also used when there
are more than 65535 objects), atomically, with ``OUT/<name>.classes.json`` beside it: the
class of every object as a class map (``{"categories": [...], "instances": {"<id>":
<class>}}``), so that ``maskkit labels2coco OUT/<name>.png --kind instance --categories
OUT/<name>.classes.json -o instances.json`` turns the objects into COCO annotations of
their class.  One CSV line per image on stdout: ``image,objects,output``.
Exit status: 0 success, 1 error, 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


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
    p.set_defaults(func=run)


def _write_labels(path: Path, labels) -> Path:
    import numpy as np

    from maskkit.io.png import write_label_png

    n = int(labels.max()) if labels.size else 0
    if path.suffix == ".png" and n <= 65535 and labels.ndim == 2:
        write_label_png(path, labels)
        return path
    import io

    import tifffile

    from maskkit.io.fs import write_bytes

    path = path.with_suffix(".tif")
    buf = io.BytesIO()
    tifffile.imwrite(buf, labels.astype(np.uint16 if n <= 65535 else np.uint32),
                     compression="zlib")
    write_bytes(path, buf.getvalue())  # atomic
    return path


def _class_map(mask, labels) -> dict:
    """The class of every object of ``labels`` (the mask value at its first pixel)."""
    import numpy as np

    ids, first = np.unique(labels.reshape(-1), return_index=True)
    classes = mask.reshape(-1)[first[ids > 0]].astype(np.int64).tolist()
    return {"categories": [{"id": c, "name": str(c)} for c in sorted(set(classes))],
            "instances": {str(i): c for i, c in zip(ids[ids > 0].tolist(), classes)}}


def run(args: argparse.Namespace) -> int:
    from maskkit.errors import InvalidInputError
    from maskkit.io.files import write_json
    from maskkit.io.masks import expand_inputs, read_mask
    from maskkit.split import split_touching

    files = expand_inputs(args.paths)
    out_dir = Path(args.output)
    names: dict[str, str] = {}
    for f in files:
        stem = Path(str(f)).name.rsplit(".", 1)[0]
        if stem in names:
            raise InvalidInputError(f"it and {names[stem]} would both be written as "
                                    f"{out_dir / stem}.*; split them into separate runs",
                                    source=f)
        names[stem] = str(f)
    out_dir.mkdir(parents=True, exist_ok=True)
    sys.stdout.write("image,objects,output\n")
    for f in files:
        mask = read_mask(f)
        try:
            labels = split_touching(mask, connectivity=args.connectivity,
                                    background=args.background, ignore=args.ignore,
                                    min_distance=args.min_distance)
        except InvalidInputError as exc:
            raise exc.with_context(source=f) from None
        stem = Path(str(f)).name.rsplit(".", 1)[0]
        written = _write_labels(out_dir / f"{stem}.{args.format}", labels)
        write_json(out_dir / f"{stem}.classes.json", _class_map(mask, labels), indent=1)
        sys.stdout.write(f"{f},{int(labels.max()) if labels.size else 0},{written}\n")
        sys.stdout.flush()
    return 0
