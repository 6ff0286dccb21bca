"""The ``coco2sem`` job: COCO instances JSON in, one semantic PNG per image out.

:func:`coco_to_semantic` flattens one image of a dataset given as a path or a dict;
:func:`convert_coco_dataset` writes a whole dataset, resumably, in parallel.
"""

from __future__ import annotations

from dataclasses import dataclass

from maskkit._jit import resolve_threads
from maskkit.core.flatten import (
    FlattenStats,
    check_policies,
    contiguous_category_map,
    flatten_image,
)
from maskkit.errors import InvalidAnnotationError, InvalidInputError
from maskkit.io.coco import CocoIndex, load_coco

__all__ = ["MANIFEST", "coco_to_semantic", "convert_coco_dataset", "output_name"]


def coco_to_semantic(coco, image_id, *, overlap: str = "last", crowd: str = "class",
                     ignore_value: int = 255, category_map=None,
                     return_stats: bool = False, threads: int | None = None):
    """Flatten the instance annotations of one COCO image into a semantic label map.

    Parameters
    ----------
    coco : str, os.PathLike, dict, pycocotools.coco.COCO or CocoIndex
        The dataset (a path, the parsed JSON, a ``COCO`` object, or an index from
        :func:`maskkit.load_coco`, which avoids re-indexing for every image).
    image_id : int
        The image to flatten.
    overlap : {"last", "area", "score", "void"}
        Who owns a pixel claimed by several objects: ``"last"`` the later annotation in
        file order (what the usual ``annToMask`` loop gives); ``"area"`` the smaller object
        (drawn on top); ``"score"`` the higher ``score`` (results files); ``"void"``
        pixels claimed by two different classes become ``ignore_value``.
    crowd : {"class", "ignore", "skip"}
        Crowd regions (``iscrowd=1``): painted with their category; painted with
        ``ignore_value`` on pixels no other object claims (annotated individuals inside a
        crowd keep their pixels); or left out.
    ignore_value : int
        The "don't care" label (default 255).
    category_map : dict, optional
        category id -> output value (e.g. :func:`contiguous_category_map`); a value of 0
        leaves that category out; a category not in the map is an error.
        Default: the ids as in the file (0 = background).
    return_stats : bool
        Also return a :class:`FlattenStats`.
    threads : int, optional
        Threads painting horizontal bands of the label map at once (maps of 1 M pixels
        or more; the pixels and stats are the same with any number). Default: every core
        (Numba's thread count, capped by ``NUMBA_NUM_THREADS``).

    Returns
    -------
    ndarray, shape (height, width)
        uint8 when every value fits, else uint16 (int32 beyond 65535).

    Examples
    --------
    >>> coco = {"images": [{"id": 1, "height": 4, "width": 6}],
    ...         "categories": [{"id": 1}, {"id": 2}],
    ...         "annotations": [
    ...             {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [0, 0, 4, 4]},
    ...             {"id": 2, "image_id": 1, "category_id": 2, "segmentation": [2, 1, 3, 2]}]}
    >>> coco_to_semantic(coco, 1)
    array([[1, 1, 1, 1, 0, 0],
           [1, 1, 2, 2, 2, 0],
           [1, 1, 2, 2, 2, 0],
           [1, 1, 1, 1, 0, 0]], dtype=uint8)
    >>> coco_to_semantic(coco, 1, overlap="void")[1]
    array([  1,   1, 255, 255,   2,   0], dtype=uint8)
    """
    index = coco if isinstance(coco, CocoIndex) else load_coco(coco)
    labels, stats = flatten_image(index, image_id, overlap=overlap, crowd=crowd,
                                  ignore_value=ignore_value, category_map=category_map,
                                  threads=resolve_threads(threads), count_claims=return_stats)
    return (labels, stats) if return_stats else labels


# ---------------------------------------------------------------------------------------
# whole datasets (the `maskkit coco2sem` job)

#: The resume manifest: one JSON line per finished image, appended after its PNG is in
#: place (a hidden file, so ``maskkit count OUTDIR`` does not pick it up).
MANIFEST = ".coco2sem_manifest.jsonl"
_MANIFEST_VERSION = 1


@dataclass(frozen=True)
class CocoJob:
    """Everything a worker needs to convert images of one dataset (picklable, so it can
    travel to Dask workers; the local pool hands it over by fork)."""

    index: CocoIndex
    out_dir: object  # Path or URL
    palette: bool
    options: dict


def output_name(info, *, source=None) -> str:
    """The PNG path (relative to the output folder) for an image record.

    The last suffix of ``file_name`` becomes ``.png`` (``a.b.c.jpg`` -> ``a.b.c.png``);
    sub-folders are kept; absolute names, ``..``, NUL characters and names too long for the
    file system are refused.

    Examples
    --------
    >>> from maskkit.io.coco import ImageInfo
    >>> output_name(ImageInfo(1, "train/000.v2.jpg", 4, 4))
    'train/000.v2.png'
    >>> output_name(ImageInfo(7, None, 4, 4))
    '7.png'
    """
    from pathlib import PurePosixPath

    from maskkit.io import fs

    if not info.file_name:
        return f"{info.id}.png"
    p = PurePosixPath(info.file_name.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or not p.name:
        raise InvalidAnnotationError(
            f"file_name {info.file_name!r} would be written outside the output folder",
            source=source, obj=f"image {info.id}",
        )
    rel = str(p.with_suffix(".png") if p.suffix else p.with_name(p.name + ".png"))
    try:  # NUL, a name too long for the file system: one line naming the image
        return fs.check_output_name(rel)
    except InvalidInputError as exc:
        raise InvalidAnnotationError(f"file_name {info.file_name!r}: {exc.reason}",
                                     source=source, obj=f"image {info.id}") from None


#: The job's own files in the output folder: no image may be written over them.
RESERVED = {
    "categories.json": "the categories file coco2sem writes",
    "coco2sem_stats.csv": "the statistics file coco2sem writes",
    "coco2sem_errors.jsonl": "the errors file coco2sem writes",
    MANIFEST: "coco2sem's resume manifest",
    ".maskkit.lock": "the output folder's lock",
}


def check_output_names(index: CocoIndex, ids) -> None:
    """Refuse, before anything is written, images whose PNGs would overwrite each other
    (``x.jpg`` and ``x.png``; ``a.jpg`` beside ``a.png/b.jpg``) or the job's own files;
    the message names both images.

    Examples
    --------
    >>> from maskkit.io.coco import load_coco
    >>> idx = load_coco({"images": [{"id": 1, "file_name": "x.jpg", "height": 2, "width": 2},
    ...                             {"id": 2, "file_name": "x.png", "height": 2, "width": 2}],
    ...                  "categories": [], "annotations": []})
    >>> try:
    ...     check_output_names(idx, [1, 2])
    ... except ValueError as exc:
    ...     print(exc)
    image 1 (file_name 'x.jpg') and image 2 (file_name 'x.png') would both be written to x.png; rename one of them (nothing was written)
    """
    from maskkit.io import fs

    def entries():
        for image_id in ids:
            info = index.images[image_id]
            who = f"image {image_id} (file_name {info.file_name!r})"
            yield output_name(info, source=index.source), who

    fs.check_output_names(entries(), reserved=RESERVED, source=index.source)


def convert_image(job: CocoJob, image_id):
    """Flatten one image of ``job`` and write its PNG atomically.

    Returns ``(image_id, png path relative to the output folder, FlattenStats, sha256 of
    the PNG bytes)``.
    """
    import hashlib

    from maskkit.io import fs
    from maskkit.io.png import encode_label_png

    index = job.index
    info = index.images[image_id]
    rel = output_name(info, source=index.source)
    labels, stats = flatten_image(index, image_id, **job.options)
    data = encode_label_png(labels, palette=job.palette, source=rel)
    # never through a symbolic link that leads out of the output folder
    fs.write_bytes(fs.inside(job.out_dir, rel), data)
    return image_id, rel, stats, hashlib.sha256(data).hexdigest()


def _verified(job: CocoJob, entries: dict, ids) -> dict:
    """The images of an earlier run whose PNG is on disk with the recorded content."""
    from maskkit.io import fs
    from maskkit.io.manifest import file_matches

    done = {}
    wanted = set(ids)
    for image_id, rec in entries.items():
        if image_id not in wanted or image_id not in job.index.images:
            continue
        rel = output_name(job.index.images[image_id], source=job.index.source)
        if rec.get("png") != rel:
            continue
        if file_matches(fs.join(job.out_dir, rel), rec.get("sha256")):
            objects, crowd, contested, conflict = rec["stats"]
            stats = FlattenStats(objects=objects, crowd_objects=crowd,
                                 contested_pixels=contested, conflict_pixels=conflict)
            done[image_id] = (image_id, rel, stats, rec["sha256"])
    return done


def convert_coco_dataset(coco, out_dir, *, overlap="last", crowd="class", ignore_value=255,
                         contiguous=False, palette=False, workers=None, on_error="raise",
                         progress=None, image_ids=None, warn=None, resume=False,
                         engine="local", scheduler=None):
    """Flatten every image of a COCO dataset into semantic PNGs in ``out_dir``.

    Writes one PNG per image (named after ``file_name``), ``categories.json`` (output value
    -> category), ``coco2sem_stats.csv`` (per-image contested pixels) and, when images are
    skipped with ``on_error="skip"``, ``coco2sem_errors.jsonl`` (``image_id``, ``path``,
    ``object``, ``error``, ``reason`` per line). Every file is written atomically; ``coco``
    and ``out_dir`` may be fsspec URLs.

    A hidden manifest (``.coco2sem_manifest.jsonl``) gets one line per finished image (its
    PNG's sha256 and stats) once the PNG is in place.  With ``resume=True`` the images whose
    PNG still has the recorded content are not redone, and the outputs are identical to
    those of an uninterrupted run.  ``workers``, ``engine``, ``scheduler``, ``on_error`` and
    ``progress`` go to :func:`maskkit.parallel.run_batch`.  Returns a summary dict.
    """
    import csv
    import functools
    import io
    import json
    import time

    from maskkit.io import fs
    from maskkit.io.manifest import ManifestLog, read_manifest
    from maskkit.parallel import run_batch

    check_policies(overlap, crowd, ignore_value)
    out_dir = fs.join(out_dir) if fs.is_url(out_dir) else fs.local_path(out_dir)
    t0 = time.perf_counter()
    index = coco if isinstance(coco, CocoIndex) else load_coco(coco, strict=on_error == "raise")
    errors = []
    for err in index.problems:
        if warn:
            warn(f"skipped: {err}")
        errors.append(_error_record(None, err))
    cmap = contiguous_category_map(index.categories) if contiguous else None
    ids = list(index.images) if image_ids is None else list(image_ids)
    options = {"overlap": overlap, "crowd": crowd, "ignore_value": ignore_value,
               "category_map": cmap}
    job = CocoJob(index=index, out_dir=out_dir, palette=palette, options=options)
    check_output_names(index, ids)
    fs.makedirs(out_dir)
    manifest_path = fs.join(out_dir, MANIFEST)
    # what the PNGs depend on, so that a resume with other options is refused
    recorded = {"overlap": overlap, "crowd": crowd, "ignore_value": ignore_value,
                "contiguous": bool(contiguous), "palette": bool(palette)}
    done: dict = {}
    keep = None
    if resume and fs.exists(manifest_path):
        entries, keep = read_manifest(manifest_path, "coco2sem", recorded,
                                      version=_MANIFEST_VERSION)
        done = _verified(job, entries, ids)
    todo = [i for i in ids if i not in done]
    manifest = ManifestLog(manifest_path, "coco2sem", recorded, keep=keep,
                           version=_MANIFEST_VERSION)
    rows = list(done.values())
    try:
        for res in run_batch(functools.partial(convert_image, job), todo, workers=workers,
                             on_error=on_error, desc="images", progress=progress,
                             engine=engine, scheduler=scheduler):
            if res.error is not None:
                if warn:
                    warn(f"skipped image {res.item}: {res.error}")
                errors.append(_error_record(res.item, res.error))
                continue
            image_id, rel, st, sha = res.value
            rows.append(res.value)
            manifest.record({
                "image_id": image_id, "png": rel, "sha256": sha,
                "stats": [st.objects, st.crowd_objects, st.contested_pixels,
                          st.conflict_pixels]})
    finally:
        manifest.close()
    order = {k: i for i, k in enumerate(ids)}
    rows.sort(key=lambda r: order[r[0]])
    # the engine's finishing order is not the dataset's: every engine lists the same way
    errors.sort(key=lambda e: order.get(e.get("image_id"), -1))
    cats = []
    for cid, cat in sorted(index.categories.items(), key=lambda kv: kv[0]):
        cats.append({"value": cmap[cid] if cmap else cid, "category_id": cid,
                     "name": cat.get("name"), "supercategory": cat.get("supercategory")})
    doc = {"ignore_value": ignore_value, "overlap": overlap, "crowd": crowd,
           "categories": cats}
    fs.write_bytes(fs.join(out_dir, "categories.json"),
                   (json.dumps(doc, indent=1) + "\n").encode())
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(["image_id", "png", "objects", "crowd_objects", "contested_pixels",
                 "conflict_pixels"])
    for image_id, rel, st, _ in rows:
        wr.writerow([image_id, rel, st.objects, st.crowd_objects, st.contested_pixels,
                     st.conflict_pixels])
    fs.write_bytes(fs.join(out_dir, "coco2sem_stats.csv"), buf.getvalue().encode())
    errors_path = fs.join(out_dir, "coco2sem_errors.jsonl")
    if errors:
        fs.write_bytes(errors_path, "".join(json.dumps(e, default=str) + "\n"
                                            for e in errors).encode())
    else:
        fs.remove(errors_path)  # a stale list from an earlier run would mislead
    elapsed = time.perf_counter() - t0
    return {
        "images": len(rows),
        "skipped": len(errors),
        "resumed": len(done),
        "objects": sum(r[2].objects for r in rows),
        "contested_pixels": sum(r[2].contested_pixels for r in rows),
        "images_with_contested_pixels": sum(1 for r in rows if r[2].contested_pixels),
        "conflict_pixels": sum(r[2].conflict_pixels for r in rows),
        "seconds": elapsed,
        "out_dir": str(out_dir),
    }


def _error_record(image_id, exc) -> dict:
    return {"image_id": image_id, "path": getattr(exc, "source", None),
            "object": getattr(exc, "obj", None), "error": str(exc),
            "reason": getattr(exc, "reason", None) or str(exc)}
