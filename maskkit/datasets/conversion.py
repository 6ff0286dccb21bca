"""``maskkit convert``: any supported annotation format to any other, as one batch job.

(The module is not called ``convert``: importing a submodule of that name would replace
the function ``maskkit.convert`` on the package.)

The source is read image by image into the interchange model
(:mod:`maskkit.datasets.formats.model`) and written by the target's writer; per-image work runs
on the batch layer (:func:`maskkit.parallel.run_batch`: workers, ``on_error``, progress),
every output file is written atomically.  What the target cannot hold exactly is
measured, not assumed: each object whose geometry had to change is listed with its mask
IoU under COCO's rasteriser, each object the target cannot hold at all is listed as
dropped.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import time
from pathlib import Path

from maskkit.datasets.formats.base import WriteResult
from maskkit.errors import InvalidInputError, MaskkitError

__all__ = ["convert"]


#: images a batch task converts at once, at most (per-image work is done per chunk: one
#: kernel call, one manifest line); fewer when that would leave workers idle
CHUNK = 256


def _named(exc: BaseException, reader, unit) -> BaseException:
    name = _unit_name(reader, unit)
    if isinstance(exc, MaskkitError):
        return exc.with_context(source=name)
    if hasattr(exc, "add_note"):
        exc.add_note(f"while converting {name}")
    return exc


def _convert_chunk(reader, writer, indices) -> list:
    """Convert the images ``indices``: ``[(index, error, value), ...]``, one per image,
    where ``value`` is ``(objects read, file name, dropped by the reader, WriteResult)``.

    When the reader and the writer both have a columnar way
    (:class:`~maskkit.datasets.formats.model.PolygonChunk`), the images it holds go that
    way; the others (and all of them, when the writer declines the chunk or fails on it)
    as records. The records are written together
    (:meth:`~maskkit.formats.base.Writer.write_many`); when that fails they are written
    one by one, so only the bad images fail."""
    out: list = []
    if getattr(reader, "read_columns", None) and getattr(writer, "write_columns", None):
        chunk, rest = reader.read_columns([reader.units[i] for i in indices])
        results = None
        if chunk is not None and chunk.positions:
            try:
                results = writer.write_columns(chunk)
            except Exception:  # a bad image: found as a record below
                results = None
        if results is None:
            rest = range(len(indices))
        else:
            counts = (chunk.image_objs[1:] - chunk.image_objs[:-1]).tolist()
            for p, n_in, name, res in zip(chunk.positions, counts, chunk.names, results):
                out.append((indices[p], None, (n_in, name, [], res)))
        indices = [indices[p] for p in rest]
    recs = []
    for index in indices:
        unit = reader.units[index]
        try:
            recs.append((index, reader.read(unit)))
        except Exception as exc:  # returned: raised or skipped by the caller
            out.append((index, _named(exc, reader, unit), None))
    results = None
    if len(recs) > 1:
        try:
            results = writer.write_many([rec for _, rec in recs])
        except Exception:  # one of them is bad: found one by one below
            results = None
    for k, (index, rec) in enumerate(recs):
        if results is not None:
            res = results[k]
        else:
            try:
                res = writer.write(rec)
            except Exception as exc:
                out.append((index, _named(exc, reader, reader.units[index]), None))
                continue
        out.append((index, None, (len(rec.instances), rec.file_name, rec.dropped, res)))
    out.sort(key=lambda t: t[0])
    return out


def _chunks(todo: list, workers: int | None) -> list:
    """``todo`` cut into chunks of at most :data:`CHUNK` images, at least 8 per worker."""
    n = workers or os.cpu_count() or 1
    size = max(1, min(CHUNK, -(-len(todo) // (8 * n)))) if n > 1 else CHUNK
    return [todo[i:i + size] for i in range(0, len(todo), size)]


def _unit_name(reader, unit) -> str:
    if isinstance(unit, tuple):
        unit = unit[0]
    root = getattr(reader, "labels_root", None) or getattr(reader, "root", None)
    if reader.format == "coco":
        return f"{reader.index.source or 'COCO'}: image {unit}"
    return str(Path(root, unit)) if root is not None else str(unit)


def _manifest_path(dst, writer) -> Path:
    d = Path(dst)
    if writer.single_file:
        return d.with_name(f".{d.name}.convert_manifest.jsonl")
    return d / ".convert_manifest.jsonl"


def _report_paths(dst, writer) -> tuple[Path, Path]:
    d = Path(dst)
    if writer.single_file:
        return d.with_suffix(".losses.jsonl"), d.with_suffix(".errors.jsonl")
    return d / "convert_losses.jsonl", d / "convert_errors.jsonl"


def convert(src, dst, *, to: str, from_: str | None = None, categories=None, images=None,
            outputs=None, check: bool = True, workers: int | None = None, on_error: str = "raise",
            progress: bool | None = None, warn=None, resume: bool = False,
            engine: str = "local", scheduler: str | None = None) -> dict:
    """Convert an annotation dataset from one format to another.

    Parameters
    ----------
    src : path
        The source: a COCO JSON file, a YOLO dataset folder (``labels/``, ``images/``,
        ``data.yaml``), a folder of labelme JSON files, a VOC folder
        (``SegmentationObject/``, ``SegmentationClass/``), a CVAT for images 1.1 XML file,
        a folder of Cityscapes ``*_gtFine_polygons.json``.
    dst : path
        The output: a JSON file for ``to="coco"``, an XML file for ``to="cvat"``, else a
        folder.
    to : {"coco", "yolo", "labelme", "voc", "cvat", "cityscapes"}
        The target format.
    from_ : str, optional
        The source format; detected when None (an ambiguous source is an error).
    categories : path or list, optional
        labelme source: the category list (labelme ``labels.txt``, COCO categories JSON,
        or names), which fixes the ids.
    images : path, optional
        YOLO target: the folder the image file names are relative to; the images are
        linked (or copied) into ``dst/images`` so the dataset is complete.
    outputs : list of str, optional
        Cityscapes target: which PNGs to write, among ``labelIds``, ``labelTrainIds``,
        ``instanceIds`` (default: all).
    check : bool
        Measure the IoU of every object whose geometry the target changes (default).
    workers, on_error, progress, engine, scheduler
        As :func:`maskkit.parallel.run_batch`.  With ``on_error="skip"`` an unreadable image
        is listed in the errors file and the rest is converted.
    warn : callable, optional
        Called with one line per skipped image.
    resume : bool
        Finish an interrupted run: a hidden manifest beside the output
        (``.convert_manifest.jsonl`` in the output folder, ``.<name>.convert_manifest.jsonl``
        beside an output file) records each finished image with the sha256 of the files it
        wrote (and, for COCO/CVAT, its part of the output); with ``resume=True`` the images
        whose files still have that content are not redone, and a run with other options
        is refused.  The manifest is removed when a run completes.

    Returns
    -------
    dict
        ``images``, ``objects_read``, ``objects_written``, ``changed`` (objects whose
        geometry changed), ``min_iou`` / ``mean_iou`` (over those), ``dropped``,
        ``skipped``, ``resumed``, ``seconds``, ``from``, ``to``, ``output``, ``losses_file``.  The losses
        file (``convert_losses.jsonl`` in the output folder, or ``<dst>.losses.jsonl``)
        has one line per changed or dropped object.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> from PIL import Image
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> Image.new("L", (8, 6)).save(d / "a.png")
    >>> _ = (d / "in.json").write_text(json.dumps({
    ...     "images": [{"id": 1, "file_name": "a.png", "height": 6, "width": 8}],
    ...     "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "iscrowd": 0,
    ...                      "segmentation": [[1, 1, 5, 1, 5, 4]]}],
    ...     "categories": [{"id": 3, "name": "cat"}]}))
    >>> s = convert(d / "in.json", d / "yolo", to="yolo", images=d, workers=1, progress=False)
    >>> (d / "yolo/labels/a.txt").read_text()
    '0 0.125 0.1666666666666666 0.625 0.1666666666666666 0.625 0.6666666666666666\\n'
    >>> s = convert(d / "yolo", d / "back.json", to="coco", workers=1, progress=False)
    >>> back = json.loads((d / "back.json").read_text())
    >>> back["annotations"][0]["segmentation"], back["categories"][0]["id"]
    ([[1.0, 1.0, 5.0, 1.0, 5.0, 4.0]], 3)
    """
    from maskkit.datasets.formats import FORMATS, detect_format, reader_for, writer_class

    t0 = time.perf_counter()
    if to not in FORMATS:
        raise InvalidInputError(f"to must be one of {sorted(FORMATS)}; got {to!r}")
    source_format = from_ or detect_format(src)
    options = {}
    if source_format == "coco":
        options["strict"] = on_error == "raise"
        # its polygons parsed into arrays, for a writer that takes them as they are
        options["columns"] = writer_class(to).any_columns
    if categories is not None:
        if source_format != "labelme":
            raise InvalidInputError("categories=... is for a labelme source (the formats "
                                    "with names only); the other formats carry their ids")
        options["categories"] = categories
    enabled = gc.isenabled()
    gc.disable()  # reading builds the index: nothing to collect, only objects to walk
    try:
        reader = reader_for(source_format, src, **options)
    finally:
        if enabled:
            gc.enable()
    # the source's index (a COCO file's annotations: millions of Python objects) lives
    # for the whole run; frozen, the cyclic garbage collector stops walking it again and
    # again while the images are converted (measured: ~1.5 s of 3 on 10,000 images)
    frozen = enabled and gc.get_freeze_count() == 0
    if frozen:
        gc.freeze()
    try:
        return _run(reader, source_format, src, dst, to, check, images, outputs, workers,
                    on_error, progress, warn, resume, engine, scheduler, t0)
    finally:
        if frozen:
            gc.unfreeze()


def _run(reader, source_format, src, dst, to, check, images, outputs, workers, on_error,
         progress, warn, resume, engine, scheduler, t0) -> dict:
    from maskkit.datasets.formats import writer_for
    from maskkit.parallel import run_batch

    wopts = {"check": check} if to == "yolo" else {}
    if images is not None:
        if to != "yolo":
            raise InvalidInputError("images=... is for a YOLO target")
        wopts["images"] = images
    if outputs is not None:
        if to != "cityscapes":
            raise InvalidInputError("outputs=... is for a Cityscapes target")
        wopts["outputs"] = tuple(outputs)
    writer = writer_for(to, dst, reader.categories, **wopts)
    from maskkit.io import fs
    from maskkit.io.manifest import ManifestLog, file_matches, read_manifest

    manifest_path = _manifest_path(dst, writer)
    recorded = {"from": source_format, "to": to, "src": str(src), "check": bool(check),
                "outputs": list(wopts.get("outputs", ())),
                "categories": [c.as_coco() for c in reader.categories]}
    keys = [reader.key(u) for u in reader.units]
    done: dict = {}
    keep = None
    if resume and fs.exists(manifest_path):
        entries, keep = read_manifest(manifest_path, "convert", recorded, key="unit")
        found = {}
        for line in entries.values():  # in file order: a later record of an image wins
            for r in line.get("items", (line,)):  # a line per image before 2026-12
                found[r["unit"]] = r
        done = {k: r for k, r in found.items()
                if all(file_matches(p, sha) for p, sha in r["files"].items())}
    writer.start(resume=bool(resume))
    errors, losses = [], []
    for unit, err in getattr(reader, "bad_units", {}).items():
        errors.append((-1, {"image": str(unit), "error": type(err).__name__,
                            "reason": str(err)}))
    payloads: dict[int, object] = {}
    read = written = 0
    dropped_n = 0

    def take(index, n_in, name, dropped_read, wres):
        nonlocal read, written, dropped_n
        read += n_in
        written += wres.objects
        payloads[index] = wres.payload
        for loss in wres.losses:
            losses.append((index, {"image": name, **loss}))
        for what in [*dropped_read, *wres.dropped]:
            dropped_n += 1
            losses.append((index, {"image": name, "dropped": what}))

    todo = []
    for i, k in enumerate(keys):
        r = done.get(k)
        if r is None:
            todo.append(i)
            continue
        payload = r["payload"]
        take(i, r["n_in"], r["name"], r["dropped"], WriteResult(
            payload=tuple(payload) if isinstance(payload, list) else payload,
            objects=r["objects"], losses=r["losses"], dropped=r["wdropped"]))
    job = functools.partial(_convert_chunk, reader, writer)
    manifest = ManifestLog(manifest_path, "convert", recorded, keep=keep)
    tag = f"{os.getpid()}-{time.time_ns()}"  # chunk lines of this run: unique keys
    # a failed or killed run leaves its staged files (hidden) and the manifest for
    # --resume; the next run without --resume starts both afresh
    first_error = None
    chunks = _chunks(todo, workers)
    try:
        for n, res in enumerate(run_batch(job, chunks, workers=workers, on_error=on_error,
                                          desc="images" if len(chunks) == len(todo) else
                                          "chunks of images", progress=progress,
                                          engine=engine, scheduler=scheduler)):
            if res.error is not None:  # the task itself failed (a worker died ...)
                results = [(i, res.error, None) for i in res.item]
            else:
                results = res.value
            items = []
            for index, err, value in results:
                if err is not None:
                    if on_error == "raise":
                        first_error = first_error or err
                        continue
                    if warn:
                        warn(f"skipped {err}")
                    errors.append((index, {
                        "image": _unit_name(reader, reader.units[index]),
                        "error": type(err).__name__, "reason": str(err)}))
                    continue
                n_in, name, dropped_read, wres = value
                take(index, n_in, name, dropped_read, wres)
                items.append({
                    "unit": keys[index], "n_in": n_in, "name": name, "dropped": dropped_read,
                    "objects": wres.objects, "losses": wres.losses,
                    "wdropped": wres.dropped, "payload": wres.payload, "files": wres.files})
            if items:  # one manifest line per chunk
                manifest.log.write((json.dumps({"unit": f"chunk {tag} {n}", "items": items})
                                    + "\n").encode())
            if first_error is not None:
                raise first_error
    finally:
        manifest.close()
    writer.finish([payloads[i] for i in sorted(payloads)])
    fs.remove(manifest_path)  # complete: nothing left to resume
    # in the source's order, whatever order the workers finished in
    losses = [x for _, x in sorted(losses, key=lambda t: t[0])]
    errors = [x for _, x in sorted(errors, key=lambda t: t[0])]
    losses_path, errors_path = _report_paths(dst, writer)
    _write_lines(losses_path, losses)
    _write_lines(errors_path, errors)
    changed = [x["iou"] for x in losses if "iou" in x]
    return {
        "from": source_format, "to": to, "output": str(dst),
        "images": len(payloads), "objects_read": read, "objects_written": written,
        "changed": len(changed), "min_iou": min(changed) if changed else 1.0,
        "mean_iou": sum(changed) / len(changed) if changed else 1.0,
        "lossy": sum(1 for v in changed if v < 1.0),
        "dropped": dropped_n, "skipped": len(errors), "resumed": len(done),
        "seconds": time.perf_counter() - t0,
        "losses_file": str(losses_path) if losses else None,
    }


def _write_lines(path: Path, records: list[dict]) -> None:
    from maskkit.io import fs

    if not records:
        fs.remove(path)
        return
    encode = json.JSONEncoder(default=str).encode  # one encoder for every line
    fs.write_bytes(path, ("\n".join(map(encode, records)) + "\n").encode())
