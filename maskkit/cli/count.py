"""``maskkit count``: objects and pixels per class in label masks, one row per image per class.

Output
------
Columns ``image,class,count,area``: ``image`` is the path as given on the command line (or
as found under a given directory / by a glob), ``count`` the number of objects of the class
(connected components for ``--kind semantic``, distinct ids for ``--kind instance``) and
``area`` the total pixels of the class.  CSV has a header line; JSON Lines has one object per
row, ``{"image": "a.png", "class": 1, "count": 3, "area": 120}``.  ``--kind instance``
has no classes (the pixel values are object ids): its one row per image has class ``-1``
and counts the distinct ids.  ``--kind`` defaults to ``semantic``.  The format follows
the suffix of ``-o`` (``.jsonl``/``.ndjson``/``.json``: JSON Lines, else CSV); a
``--format`` that contradicts a ``.csv`` or JSON Lines suffix is refused.

An image with no counted class still gets one row, with an empty class (CSV) or
``"class": null`` (JSON Lines) and ``count`` and ``area`` 0, so that ``--resume`` knows it
was done.  Rows are written as images finish: the rows of the images that finished
together (one worker task; one image with ``--workers 1``) in one write, then flushed, so a
killed run keeps everything it counted.

``--resume`` reads the existing output, drops a last line cut short by a kill, recounts
the last image in the file (its rows may be incomplete if the kill fell between two of
them), skips every other image already present and appends.  It refuses (rather than
truncates) a file that is not a count output in the chosen format.

With ``--on-error skip`` each unreadable image is reported on stderr, listed in
``<output>.errors.jsonl`` (``{"path", "object", "error", "reason"}`` per line; no file when
writing to stdout) and the exit status is 3.  The errors file lists the failures of the
latest run only (skipped images are not in the output, so ``--resume`` tries them again).
The output file is locked while a run writes it: a second run on the same ``-o`` fails
at once.  Rows go to stdout (or ``-o``); progress, warnings and the summary to stderr.
Exit status: 0 success, 1 error, 2 usage, 3 some images skipped, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from maskkit.cli._common import EXIT_SKIPPED, add_batch_options, batch_kwargs, non_negative_int
from maskkit.cli._output import (
    StdoutSink,
    UsageError,
    output_file,
    plural,
    say,
    scan_rows,
    warn,
    write_rows,
)

COLUMNS = ("image", "class", "count", "area")
_CSV_HEADER = ",".join(COLUMNS)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "count",
        help="count objects and pixels per class in label masks",
        description=(
            "Count objects and pixels per class in label masks (8/16-bit grey or palette "
            "PNG, TIFF, .npy): one row per image per class with the columns "
            "image,class,count,area, written as each image finishes. An image with no "
            "counted class gets one row with an empty class (CSV) or null (JSON Lines)."
        ),
        epilog=(
            "--kind instance writes class -1 (the pixel values are ids, not classes). "
            "Exit status: 0 success, 1 error, 2 usage, 3 some images skipped "
            "(--on-error skip; they are listed in OUTPUT.errors.jsonl), 130 interrupted."
        ),
    )
    p.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="mask files, directories (searched recursively) or glob patterns",
    )
    p.add_argument(
        "--kind",
        choices=["semantic", "instance", "coco", "panoptic"],
        default="semantic",
        help="semantic (default): pixel values are classes, objects are connected "
        "components; instance: pixel values are object ids, counted under class -1; "
        "coco: PATH is a COCO instances JSON, non-crowd annotations are counted per image "
        "and category; panoptic: PATH is a COCO panoptic JSON (PNGs in --png-folder), "
        "segments are counted per category",
    )
    p.add_argument(
        "--png-folder",
        metavar="DIR",
        default=None,
        help="--kind panoptic: the folder of the panoptic PNGs (default: the JSON's path "
        "without .json, as panopticapi lays them out)",
    )
    p.add_argument(
        "--connectivity",
        type=int,
        choices=[4, 8],
        default=None,
        help="--kind semantic: neighbourhood of a connected component (default: 8)",
    )
    p.add_argument(
        "--min-area",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="objects smaller than N pixels are not counted (default: 0)",
    )
    p.add_argument(
        "--ignore",
        type=int,
        nargs="*",
        default=[255],
        metavar="V",
        help="values that are not classes (default: 255); '--ignore' alone ignores "
        "nothing. Put it after the paths, or end the list with '--'",
    )
    p.add_argument(
        "--format",
        choices=["csv", "jsonl"],
        default=None,
        help="output format (default: jsonl if FILE ends in .jsonl/.ndjson/.json, else csv)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        default=None,
        help="output file, locked while written (default: stdout)",
    )
    add_batch_options(
        p,
        on_error_help="on an unreadable image: stop with exit status 1 (raise, default) or "
        "skip it, list it in FILE.errors.jsonl and exit with status 3",
        resume_help="skip the images already in FILE and append the others",
    )
    p.add_argument(
        "--estimate",
        choices=["combined", "split", "area"],
        default=None,
        help="--kind semantic: count = the estimated object count (split touching objects, "
        "component area over one object's area, or combined: split, corrected by area in "
        "classes of compact objects of similar size; see maskkit.estimate_counts) and add "
        "the columns components,low,high",
    )
    p.add_argument("--quiet", action="store_true", help="no progress display and no summary")
    p.set_defaults(func=run)


def count_image(
    path, *, kind: str, connectivity: int, min_area: int, ignore: tuple[int, ...],
    estimate: str | None = None,
) -> list[tuple[int, int, int]]:
    """Read one mask and count it: ``[(class, count, area), ...]`` sorted by class
    (``[(class, count, area, components, low, high), ...]`` with ``estimate``).

    Runs in the worker processes of :func:`maskkit.parallel.run_batch`; every failure comes
    out as a :class:`~maskkit.errors.MaskkitError` naming the file.

    Examples
    --------
    >>> import numpy as np, pathlib, tempfile
    >>> from maskkit.cli.count import count_image
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.npy"
    >>> np.save(path, np.array([[1, 0, 1], [0, 0, 2]], dtype=np.uint8))
    >>> count_image(path, kind="semantic", connectivity=4, min_area=0, ignore=(255,))
    [(1, 2, 2), (2, 1, 1)]
    """
    from maskkit import count_file

    if estimate is not None:
        from maskkit.datasets.counting import estimate_file

        est = estimate_file(path, method=estimate, connectivity=connectivity, ignore=ignore)
        return sorted((c, e["estimate"], e["area"], e["components"], e["low"], e["high"])
                      for c, e in est.items())
    table = count_file(path, kind=kind, connectivity=connectivity, min_area=min_area,
                       ignore=ignore)
    return sorted((int(c), int(n), int(a)) for c, (n, a) in table.items())


# datasets (--kind coco | panoptic): the parsed JSON reaches the forked workers through
# this module-level table, filled before the pool starts
_DATASETS: dict = {}


def _dataset_items(args) -> list[str]:
    """Image keys (the ``image`` column) of the JSON files given as PATHs."""
    from maskkit.datasets.counting import dataset_images

    if args.png_folder is not None and len(args.paths) > 1:
        raise UsageError("--png-folder goes with a single panoptic JSON")
    _DATASETS.clear()
    _DATASETS.update(dataset_images(args.paths, args.kind, png_folder=args.png_folder,
                                    strict=args.on_error == "raise"))
    return list(_DATASETS)


def count_dataset_image(key: str, datasets: dict | None = None) -> list[tuple[int, int, int]]:
    """Count one image registered by :func:`_dataset_items` (in ``datasets``, a copy of
    that table, when the worker is not a fork of this process): rows as ``count_image``'s."""
    from maskkit.datasets.counting import count_dataset_image as count

    table = count(key, _DATASETS if datasets is None else datasets)
    return [(c, n, a) for c, (n, a) in table.items()]


# --------------------------------------------------------------------------------------
# rows


def _count_encoded(count, fmt: str, item, extra: tuple = ()) -> tuple[bytes, int]:
    """``count(item)``'s rows as output lines, and how many lines."""
    rows = count(item)
    return _encode_rows(str(item), rows, fmt, extra), max(len(rows), 1)


#: The columns ``--estimate`` adds after ``area``.
ESTIMATE_COLUMNS = ("components", "low", "high")


def _encode_rows(image: str, rows, fmt: str, extra: tuple = ()) -> bytes:
    if not rows:
        rows = [(None, 0, 0, *(0 for _ in extra))]  # the "done, nothing counted" marker
    if extra:  # --estimate: the extra columns after the area
        if fmt == "jsonl":
            text = "".join(json.dumps({"image": image, "class": r[0], "count": r[1],
                                       "area": r[2], **dict(zip(extra, r[3:]))}) + "\n"
                           for r in rows)
        else:
            field = _encode_rows(image, [(None, 0, 0)], "csv").decode(
                "utf-8", "surrogateescape").split(",,0,0")[0]
            text = "".join(f"{field},{'' if r[0] is None else r[0]},"
                           + ",".join(str(v) for v in r[1:]) + "\n" for r in rows)
        return text.encode("utf-8", "surrogateescape")
    if fmt == "jsonl":
        text = "".join(
            json.dumps({"image": image, "class": c, "count": n, "area": a}) + "\n"
            for c, n, a in rows
        )
    else:
        # what csv.writer(lineterminator="\n") writes, without a writer per image: the one
        # text field is quoted when it holds the delimiter, the quote or the line end
        field = image
        if "," in field or '"' in field or "\n" in field or "\r" in field:
            field = '"' + field.replace('"', '""') + '"'
        text = "".join(f"{field},{'' if c is None else c},{n},{a}\n" for c, n, a in rows)
    # surrogateescape: file names that are not valid UTF-8 come back unchanged on --resume
    return text.encode("utf-8", "surrogateescape")


# --------------------------------------------------------------------------------------
# the command


_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")


def _output_format(args) -> tuple:
    """``(output or None, format)``: the format follows the suffix of ``-o``; a
    ``--format`` that contradicts it is refused."""
    from pathlib import Path

    from maskkit.io import fs

    output = None if args.output in (None, "-") else args.output
    if output is not None and not fs.is_url(output):
        output = Path(output)
    suffix = None if output is None else fs.suffix(str(output)).lower()
    implied = ("jsonl" if suffix in _JSONL_SUFFIXES
               else "csv" if suffix == ".csv" else None)
    if args.format is not None and implied is not None and args.format != implied:
        raise UsageError(f"--format {args.format} contradicts the suffix of -o {output} "
                         f"({implied}); drop --format or rename the file")
    return output, args.format or implied or "csv"


def run(args: argparse.Namespace) -> int:
    from maskkit.errors import InvalidInputError

    if args.connectivity is not None and args.kind != "semantic":
        raise UsageError(f"--connectivity applies to --kind semantic only (connected "
                         f"components); --kind {args.kind} counts ids, not components")
    if args.connectivity is None:
        args.connectivity = 8
    estimate = getattr(args, "estimate", None)
    if estimate is not None and args.min_area:
        raise UsageError("--min-area does not combine with --estimate (small objects are part "
                         "of the objects they touch)")
    if estimate is not None and args.kind != "semantic":
        raise UsageError(f"--estimate goes with --kind semantic; got --kind {args.kind}")
    output, fmt = _output_format(args)
    if args.resume and output is None:
        raise InvalidInputError("--resume needs an output file: add -o FILE")
    with output_file(output) as locked:  # a second writer of -o fails at once
        return _run(args, locked, fmt)


def _run(args: argparse.Namespace, output, fmt: str) -> int:
    import functools
    import time

    from maskkit.io import fs
    from maskkit.io.masks import expand_inputs
    from maskkit.parallel import run_batch

    start = time.monotonic()
    estimate = getattr(args, "estimate", None)
    batch = batch_kwargs(args)

    if args.kind in ("coco", "panoptic"):
        paths = _dataset_items(args)
        if not paths:
            warn("count", f"{' '.join(args.paths)} lists no images; nothing to count")
    else:
        # as text: a str goes to a worker process and back far cheaper than a Path
        paths = expand_inputs(args.paths, as_text=True)

    done: set[str] = set()
    keep = None
    resuming = args.resume and output is not None and fs.exists(output)
    if resuming:
        done, keep = scan_rows(output, fmt,
                               COLUMNS + ESTIMATE_COLUMNS if estimate else COLUMNS)
    todo = [p for p in paths if str(p) not in done]
    already = len(paths) - len(todo)

    errors_path = None if output is None else f"{output}.errors.jsonl"
    if errors_path is not None:
        fs.remove(errors_path)  # it lists the failures of this run only; failed images are redone

    try:
        if output is None:
            sink = StdoutSink()
        else:
            # rows are appended as images finish (rewritten periodically for a URL)
            sink = fs.AppendLog(output, keep=keep)
        if fmt == "csv" and not keep:
            extra_header = "".join(f",{c}" for c in ESTIMATE_COLUMNS) if estimate else ""
            sink.write(f"{_CSV_HEADER}{extra_header}\n".encode())
    except OSError as exc:
        raise fs.write_error(exc, output or "<stdout>") from None

    worker = count_dataset_image if args.kind in ("coco", "panoptic") else functools.partial(
        count_image,
        kind=args.kind,
        connectivity=args.connectivity,
        min_area=args.min_area,
        ignore=tuple(args.ignore),
        **({"estimate": estimate} if estimate else {}),
    )
    if args.kind in ("coco", "panoptic") and batch["engine"] == "dask":
        # Dask workers are other processes on other machines: the parsed datasets travel
        # with the function (sent once per worker), not through a forked module global
        worker = functools.partial(count_dataset_image, datasets=dict(_DATASETS))
    local_pool = batch["engine"] == "local" and args.workers != 1
    if local_pool and len(todo) > 1 and args.kind in ("semantic", "instance"):
        _warm_up(worker, todo[0])
    # the rows are made in the workers too: the parent only writes them
    worker = functools.partial(_count_encoded, worker, fmt,
                               extra=ESTIMATE_COLUMNS if estimate else ())

    counted = rows = skipped = 0
    errors_file = None
    pending: list[bytes] = []  # encoded rows not written yet
    try:
        results = run_batch(
            worker,
            todo,
            on_error=args.on_error,
            desc="images",
            progress=False if args.quiet else None,
            **batch,
        )
        for result in results:
            if result.error is not None:
                exc = result.error
                skipped += 1
                warn("count", f"{exc}; skipped")
                if errors_path is not None:
                    if errors_file is None:
                        errors_file = fs.AppendLog(errors_path)
                    record = {
                        "path": str(result.item),
                        "object": getattr(exc, "obj", None),
                        "error": type(exc).__name__,
                        "reason": getattr(exc, "reason", None) or str(exc),
                    }
                    line = json.dumps(record, default=str) + "\n"
                    errors_file.write(line.encode("utf-8", "surrogateescape"))
            else:
                encoded, n_rows = result.value
                pending.append(encoded)
                counted += 1
                rows += n_rows
            # the rows of images that finished together (in one worker task) go out in
            # one write; nothing that has finished waits for later work
            if pending and not result.more:
                if write_rows(sink, pending, output):
                    results.close()  # `maskkit count ... | head`: the reader has gone
                    _silence_stdout()
                    return 0
    finally:
        try:
            if pending:  # stopped by an error: keep what was counted before it
                write_rows(sink, pending, output)
        finally:
            sink.close()
            if errors_file is not None:
                errors_file.close()

    if not args.quiet:
        seconds = time.monotonic() - start
        # the progress display's rate: measured after the first image, which pays for
        # start-up and, on a cold cache, for compiling the kernels
        rate = results.rate
        parts = [f"{plural(counted, 'image')} counted", plural(rows, "row"),
                 f"{skipped} skipped"]
        if already:
            parts.append(f"{already} already done")
        where = "" if output is None else f" -> {output}"
        note = f"; errors listed in {errors_path}" if skipped and errors_path else ""
        say("count", f"{', '.join(parts)}{where} in {seconds:.2f} s"
                     + (f" ({rate:.1f} images/s)" if rate else "") + note)
    return EXIT_SKIPPED if skipped else 0


#: The first input warms the reader's kernels in the parent only when it is this small.
_WARM_UP_MAX_BYTES = 1 << 20


def _warm_up(worker, first) -> None:
    """Compile (or load) the kernels once in the parent before the pool forks, so the
    workers inherit them instead of each loading its own (tens of ms per worker): the
    counting kernels on a tiny mask, and the reader's by counting the first input when
    it is a small local file (its result is dropped; the pool counts it again)."""
    try:
        import numpy as np

        from maskkit import count_table

        kw = worker.keywords
        count_table(
            np.zeros((2, 2), np.uint8),
            kind=kw["kind"],
            connectivity=kw["connectivity"],
            min_area=kw["min_area"],
            ignore=kw["ignore"],
        )
        if os.path.getsize(first) <= _WARM_UP_MAX_BYTES:
            worker(first)
    except Exception:  # the real run reports any problem, naming the file
        pass


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
