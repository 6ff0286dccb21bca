"""Panoptic segmentation in the COCO panoptic format: merge, convert, check.

A panoptic image is an RGB PNG whose pixel ids are ``R + 256·G + 256²·B`` (0 = VOID),
described by a ``segments_info`` list of ``{"id", "category_id", "iscrowd", "area",
"bbox"}`` records.  The rules follow panopticapi and detectron2, with their known faults
fixed: segment ids are deterministic (1, 2, 3, ... in a documented order, never random
colours), overlapping instances are resolved by a policy instead of a crash, and areas and
boxes are always computed from the final id map.

Functions that work on one image take NumPy arrays; functions that work on a dataset
(:func:`check_panoptic`, :func:`panoptic_to_coco`, :func:`coco_to_panoptic`) take a
panoptic JSON (path or dict) and a PNG folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from maskkit._kernels import panoptic as _kp
from maskkit.core.panoptic import (
    MAX_SEGMENT_ID,
    bbox_xywh,
    categories_by_id,
    instances_to_panoptic,
    is_thing,
    segment_ids,
    segments_from_flat,
    stuff_to_semantic,
    whole_number,
)
from maskkit.errors import (
    InvalidAnnotationError,
    MaskkitError,
    UnknownCategoryError,
)
from maskkit.io.panoptic import (
    image_sizes,
    load_panoptic_json,
    panoptic_annotations,
    panoptic_folder,
    png_name,
    read_panoptic_ids,
    write_panoptic_png,
)

__all__ = ["PanopticProblem", "check_panoptic", "coco_to_panoptic", "from_2ch_image", "merge_image",
           "panoptic_to_coco", "to_semantic_image"]


# ============================================================================ RGB <-> id


# ============================================================================ helpers


# ============================================================================ runs


# ============================================================================ check


class PanopticProblem(NamedTuple):
    """One fault found by :func:`check_panoptic`."""

    file: str
    image_id: Any
    segment_id: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: image {self.image_id}"
        if self.segment_id is not None:
            where += f": segment {self.segment_id}"
        return f"{where}: {self.message}"


def check_panoptic(panoptic_json, png_folder=None, *, categories=None) -> list[PanopticProblem]:
    """Validate a COCO panoptic dataset against its PNGs; list every fault.

    Checks that every id in each PNG is listed once in its ``segments_info`` and vice
    versa, that ``area`` and ``bbox`` match the PNG, that categories exist, that no segment
    uses id 0 (VOID), that PNG sizes match the ``images`` records, and that image ids and
    file names are not repeated.

    Parameters
    ----------
    panoptic_json : str, path or dict
        The panoptic JSON.
    png_folder : str or path, optional
        Folder of the PNGs; default: the JSON path without ``.json`` (panopticapi's rule).
    categories : list of dict, optional
        Categories to check against (default: the JSON's own ``categories``).

    Returns
    -------
    list of PanopticProblem
        Empty when the dataset is valid; ``str(problem)`` names file, image and segment.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from PIL import Image
    >>> d = tempfile.mkdtemp()
    >>> from maskkit import id2rgb
    >>> Image.fromarray(id2rgb(np.array([[0, 5], [5, 5]]))).save(os.path.join(d, "a.png"))
    >>> doc = {"categories": [{"id": 1, "isthing": 1}],
    ...        "annotations": [{"image_id": 1, "file_name": "a.png", "segments_info": [
    ...            {"id": 5, "category_id": 1, "area": 4, "bbox": [0, 0, 2, 2]}]}]}
    >>> [str(p) for p in check_panoptic(doc, d)]
    ['a.png: image 1: segment 5: area is 4 in the JSON but 3 in the PNG']
    """
    doc, jpath = load_panoptic_json(panoptic_json, "panoptic_json")
    folder = panoptic_folder(jpath, png_folder, "check_panoptic")
    problems: list[PanopticProblem] = []
    src = jpath or "<panoptic json>"
    if categories is None:
        cats = categories_by_id(doc, source=jpath, required=False)
        if not cats:
            problems.append(PanopticProblem(src, None, None, "no 'categories' list"))
    else:
        cats = categories_by_id({"categories": categories})
    anns = doc.get("annotations")
    if not isinstance(anns, list):
        return [*problems, PanopticProblem(src, None, None, "no 'annotations' list")]
    sizes = image_sizes(doc)
    seen_images: dict = {}
    seen_files: dict = {}
    for i, ann in enumerate(anns):
        image_id = ann.get("image_id") if isinstance(ann, Mapping) else None
        if not isinstance(ann, Mapping) or "segments_info" not in ann:
            problems.append(PanopticProblem(src, image_id, None,
                                            f"annotation #{i} has no 'segments_info'"))
            continue
        name = ann.get("file_name")
        if not isinstance(name, str) or not name:
            problems.append(PanopticProblem(src, image_id, None,
                                            f"annotation #{i} has no 'file_name'"))
            continue
        if image_id in seen_images:
            problems.append(PanopticProblem(name, image_id, None,
                                            f"image id repeated (also in {seen_images[image_id]})"))
        seen_images.setdefault(image_id, name)
        if name in seen_files:
            problems.append(PanopticProblem(name, image_id, None,
                                            "file name used by more than one annotation"))
        seen_files.setdefault(name, image_id)
        problems.extend(_check_image(ann, folder, name, image_id, cats, sizes))
    if sizes:
        for img_id in sizes:
            if img_id not in seen_images:
                problems.append(PanopticProblem(src, img_id, None,
                                                "image has no panoptic annotation"))
    return problems


def _check_image(ann, folder: Path, name: str, image_id, cats, sizes) -> list[PanopticProblem]:
    out: list[PanopticProblem] = []

    def add(seg, msg):
        out.append(PanopticProblem(name, image_id, seg, msg))

    segs = ann["segments_info"]
    if not isinstance(segs, list):
        add(None, "segments_info is not a list")
        return out
    valid = []
    seen: set[int] = set()
    for k, seg in enumerate(segs):
        if not isinstance(seg, Mapping) or "id" not in seg:
            add(None, f"segment #{k} has no 'id'")
            continue
        sid = seg["id"]
        if isinstance(sid, bool) or not isinstance(sid, (int, np.integer)):
            add(None, f"segment #{k} has a non-integer id {sid!r}")
            continue
        sid = int(sid)
        if sid == 0:
            add(0, "segment id 0 is reserved for VOID")
            continue
        if not 0 < sid <= MAX_SEGMENT_ID:
            add(sid, f"segment id out of range 1..{MAX_SEGMENT_ID}")
            continue
        if sid in seen:
            add(sid, "segment id listed more than once")
            continue
        seen.add(sid)
        cat = seg.get("category_id")
        if cat is None:
            add(sid, "no category_id")
        elif isinstance(cat, bool) or not isinstance(cat, (int, np.integer)):
            add(sid, f"category_id must be an integer; got {cat!r}")
        elif cats and int(cat) not in cats:
            add(sid, f"unknown category_id {cat}")
        if "iscrowd" in seg and seg["iscrowd"] not in (0, 1):
            add(sid, f"iscrowd must be 0 or 1; got {seg['iscrowd']!r}")
        valid.append(seg)
    try:
        ids = read_panoptic_ids(folder / name)
    except MaskkitError as exc:
        add(None, f"cannot read PNG {folder / name}: {exc.reason}")
        return out
    if image_id in sizes:
        h, w = sizes[image_id]
        if ids.shape != (h, w):
            add(None, f"PNG is {ids.shape[0]}×{ids.shape[1]} but the image record says {h}×{w}")
    # the ids of `valid` are checked above; its other fields may be wrong, and are reported
    # rather than raised (so not segment_ids, which raises on the first bad field)
    listed = np.asarray([int(seg["id"]) for seg in valid], dtype=np.uint32)
    order = np.argsort(listed, kind="stable")
    sorted_ids = np.ascontiguousarray(listed[order])
    area, box = _kp.segment_stats(ids, sorted_ids)
    for pos, li in enumerate(order):
        seg = valid[li]
        sid = int(seg["id"])
        a = int(area[pos + 1])
        if a == 0:
            add(sid, "listed in the JSON but absent from the PNG")
            continue
        if "area" in seg and seg["area"] != a:
            add(sid, f"area is {seg['area']!r} in the JSON but {a} in the PNG")
        bb = bbox_xywh(box[pos + 1])
        if "bbox" in seg and _listed_bbox(seg["bbox"]) != bb:
            add(sid, f"bbox is {seg['bbox']!r} in the JSON but {bb} in the PNG")
    if area[-1]:
        present, counts = np.unique(ids, return_counts=True)
        known = set(sorted_ids.tolist())
        for v, c in zip(present.tolist(), counts.tolist(), strict=True):
            if v != 0 and v not in known:
                add(v, f"in the PNG ({c} pixels) but not listed in the JSON")
    return out


def _listed_bbox(value) -> list[float] | None:
    """A JSON bbox as rounded floats, or None when it is not a list of numbers."""
    try:
        return [round(float(v), 6) for v in value]
    except (TypeError, ValueError, OverflowError):
        return None


# ============================================================================ to COCO


def panoptic_to_coco(panoptic_json, png_folder=None, *, things_only: bool = False,
                     categories=None) -> dict:
    """Convert a COCO panoptic dataset to COCO instance format with compressed RLE.

    One annotation per segment, ``segmentation`` encoded byte-identically to
    ``pycocotools.mask.encode``; ``area`` and ``bbox`` are recomputed from the PNG;
    ``iscrowd`` is kept; annotation ids are 1, 2, ... in input order.  Each image is
    encoded in one pass over its id map: no full-size mask per segment.

    Parameters
    ----------
    panoptic_json : str, path or dict
    png_folder : str or path, optional
        Default: the JSON path without ``.json``.
    things_only : bool
        Keep thing segments only (needs ``isthing`` on the categories).
    categories : list of dict, optional
        Panoptic categories (default: the JSON's own).

    Returns
    -------
    dict
        A COCO instances document: ``images`` (copied), ``annotations``, ``categories``
        (without ``isthing``/``color``).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from PIL import Image
    >>> d = tempfile.mkdtemp()
    >>> from maskkit import id2rgb
    >>> Image.fromarray(id2rgb(np.array([[0, 7], [7, 7]]))).save(os.path.join(d, "a.png"))
    >>> doc = {"categories": [{"id": 1, "isthing": 1}],
    ...        "annotations": [{"image_id": 3, "file_name": "a.png",
    ...                         "segments_info": [{"id": 7, "category_id": 1, "iscrowd": 0}]}]}
    >>> ann = panoptic_to_coco(doc, d)["annotations"][0]
    >>> ann["segmentation"], ann["area"], ann["bbox"]
    ({'size': [2, 2], 'counts': '13'}, 3, [0, 0, 2, 2])
    """
    doc, jpath = load_panoptic_json(panoptic_json, "panoptic_json")
    folder = panoptic_folder(jpath, png_folder, "panoptic_to_coco")
    cats = categories_by_id(doc if categories is None else {"categories": categories}, source=jpath)
    anns = panoptic_annotations(doc, source=jpath)
    out_anns = []
    for ann in anns:
        name = png_name(ann, source=jpath)
        image_id = ann.get("image_id")
        segs = ann["segments_info"]
        segment_ids(segs, source=name, image=f"image {image_id}")  # validates ids
        ids = read_panoptic_ids(folder / name)
        h, w = ids.shape
        flat = np.ascontiguousarray(ids.T).ravel()
        uniq, strings, area, box = segments_from_flat(flat, h)
        pos = {int(v): i for i, v in enumerate(uniq.tolist())}
        for seg in segs:
            sid = int(seg["id"])
            cat = int(seg["category_id"])
            if cat not in cats:
                raise UnknownCategoryError(f"unknown category_id {cat}", source=name,
                                           obj=f"segment {sid}")
            if things_only and not is_thing(cats[cat], source=jpath):
                continue
            if sid not in pos:
                raise InvalidAnnotationError(
                    "listed in the JSON but absent from the PNG; run `maskkit panoptic check`",
                    source=name, obj=f"segment {sid}",
                )
            i = pos[sid]
            rec = {k: v for k, v in seg.items() if k not in ("id", "area", "bbox")}
            rec.update(
                image_id=image_id,
                category_id=cat,
                iscrowd=int(seg.get("iscrowd", 0)),
                segmentation={"size": [h, w], "counts": strings[i]},
                area=int(area[i]),
                bbox=bbox_xywh(box[i]),
            )
            out_anns.append(rec)
    for k, rec in enumerate(out_anns, start=1):
        rec["id"] = k
    out_cats = [
        {k: v for k, v in c.items() if k not in ("isthing", "color")}
        for c in cats.values()
        if not things_only or is_thing(c, source=jpath)
    ]
    result = {k: v for k, v in doc.items() if k not in ("annotations", "categories")}
    result["annotations"] = out_anns
    result["categories"] = out_cats
    return result


# ============================================================================ to semantic


# ============================================================================ from 2 channels


# ============================================================================ merge


# ============================================================================ COCO -> panoptic


def coco_to_panoptic(coco, out_folder=None, *, stuff=None, categories=None,
                     overlap: str = "last", crowd: str = "class",
                     keep_empty_images: bool = True, warn=None) -> dict:
    """Convert COCO instances (+ optional stuff annotations) to the COCO panoptic format.

    Overlapping instances are resolved by ``overlap`` (see
    :func:`instances_to_panoptic`) instead of panopticapi's "segments overlap" crash.

    Parameters
    ----------
    coco : str, path or dict
        COCO instances document (``images`` with ``height``/``width``, ``annotations``).
    out_folder : str or path, optional
        Where to write one RGB PNG per image (``<image file stem>.png``), atomically.
        Nothing is written when None.
    stuff : str, path or dict, optional
        COCO-stuff document whose annotations become stuff segments.
    categories : list of dict, optional
        Panoptic categories (``id``, ``isthing``, ...); default: the instances' categories
        (their own ``isthing`` where they have one, else ``isthing=1``) plus the stuff
        document's marked ``isthing=0``.
    overlap : {"last", "area", "score", "void"}
    crowd : {"class", "ignore", "skip"}
    keep_empty_images : bool
        Also write images without annotations (all VOID). Default True.
    warn : callable, optional
        Called with a message when the default categories had to guess ``isthing``.

    PNGs are named after the base name of ``file_name`` (``train/0001.jpg`` ->
    ``0001.png``); two images that would share a PNG are refused before anything is
    written.

    Returns
    -------
    dict
        The panoptic document (``images``, ``annotations``, ``categories``).

    Examples
    --------
    >>> coco = {"images": [{"id": 1, "file_name": "a.jpg", "height": 4, "width": 4}],
    ...         "categories": [{"id": 1, "name": "cat"}],
    ...         "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "iscrowd": 0,
    ...                          "segmentation": [[0, 0, 2, 0, 2, 2, 0, 2]]}]}
    >>> pan = coco_to_panoptic(coco)
    >>> pan["annotations"][0]["file_name"], pan["annotations"][0]["segments_info"][0]["area"]
    ('a.png', 4)
    """
    doc, jpath = load_panoptic_json(coco, "coco")
    src = jpath or "<coco json>"
    images = doc.get("images")
    if not isinstance(images, list):
        raise InvalidAnnotationError("has no 'images' list", source=src)
    by_image: dict[Any, list] = {}
    for ann in doc.get("annotations", []) or []:
        if not isinstance(ann, Mapping) or "image_id" not in ann:
            raise InvalidAnnotationError(f"annotation without image_id: {ann!r:.80}", source=src)
        by_image.setdefault(ann["image_id"], []).append(ann)
    stuff_by_image: dict[Any, list] = {}
    stuff_doc = None
    if stuff is not None:
        stuff_doc, _ = load_panoptic_json(stuff, "stuff")
        for ann in stuff_doc.get("annotations", []) or []:
            stuff_by_image.setdefault(ann.get("image_id"), []).append(ann)
    if categories is None:
        inst_cats = [c for c in doc.get("categories", []) or [] if isinstance(c, Mapping)]
        guessed = [c for c in inst_cats if "isthing" not in c]
        cats = [{**c, "isthing": int(c.get("isthing", 1))} for c in inst_cats]
        if stuff_doc is not None:
            cats += [{**c, "isthing": 0} for c in stuff_doc.get("categories", []) or []]
        if guessed and warn is not None:
            warn(f"{src}: {len(guessed)} of {len(inst_cats)} categories have no isthing flag "
                 "and are taken as things; pass --categories with isthing to say which "
                 "are stuff")
    else:
        cats = list(categories)
    cat_map = categories_by_id({"categories": cats})
    image_ids = {img.get("id") for img in images if isinstance(img, Mapping)}
    for img_id in by_image:
        if img_id not in image_ids:
            raise InvalidAnnotationError(
                f"annotations refer to image {img_id}, which is not in 'images'", source=src
            )
    from maskkit.io import fs

    def png_name(img):
        return Path(str(img.get("file_name", img.get("id")))).with_suffix(".png").name

    if out_folder is not None:  # two images sharing one PNG: refused before writing
        fs.check_output_names(
            ((fs.check_output_name(png_name(img), source=src, obj=f"image {img.get('id')}"),
              f"image {img.get('id')} (file_name {img.get('file_name')!r})")
             for img in images if isinstance(img, Mapping)), source=src)
    out_anns = []
    for img in images:
        img_id = img.get("id")
        anns = by_image.get(img_id, [])
        sanns = stuff_by_image.get(img_id, [])
        if not anns and not sanns and not keep_empty_images:
            continue
        for a in (*anns, *sanns):
            if whole_number(a.get("category_id", -1), "category_id", source=src,
                      obj=f"annotation {a.get('id')}") not in cat_map:
                raise UnknownCategoryError(
                    f"category_id {a.get('category_id')} is not in the categories list",
                    source=src, obj=f"annotation {a.get('id')}",
                )
        name = png_name(img)
        ids, segs = instances_to_panoptic(anns, img.get("height"), img.get("width"),
                                          overlap=overlap, crowd=crowd, stuff=sanns,
                                          source=src)
        if out_folder is not None:
            write_panoptic_png(Path(out_folder) / name, ids)
        out_anns.append({"image_id": img_id, "file_name": name, "segments_info": segs})
    result = {k: v for k, v in doc.items() if k not in ("annotations", "categories")}
    result["annotations"] = out_anns
    result["categories"] = cats
    return result


# ---------------------------------------------------------------- per-image jobs of the CLI


def merge_image(job, *, things, params, png_dir, ignore_value=None, known=None):
    """One image of ``maskkit panoptic merge``: ``job`` is ``(image_id, file name, semantic
    PNG path or (h, w, stuff annotations, json path), instance annotations)``; writes the
    panoptic PNG into ``png_dir`` and returns the image's panoptic annotation."""
    from maskkit.core.panoptic import merge_panoptic
    from maskkit.io.panoptic import write_panoptic_png
    from maskkit.io.png import read_png

    image_id, name, sem_source, insts = job
    if isinstance(sem_source, tuple):  # (h, w, stuff annotations, json path)
        h, w, anns, src = sem_source
        semantic = stuff_to_semantic(anns, h, w, src)
    else:
        semantic = read_png(sem_source)
        if semantic.ndim != 2:
            from maskkit.errors import InvalidInputError

            raise InvalidInputError(f"semantic PNG must be single-channel; got shape "
                                    f"{semantic.shape}", source=sem_source)
    try:
        ids, segs = merge_panoptic(semantic, insts, things=things, ignore_value=ignore_value,
                                   **params)
    except Exception as exc:
        from maskkit.errors import MaskkitError

        if isinstance(exc, MaskkitError):
            raise exc.with_context(source=str(sem_source if isinstance(sem_source, str)
                                               else name), obj=f"image {image_id}") from None
        raise
    unknown = sorted({s["category_id"] for s in segs} - known) if known is not None else []
    if unknown:  # the dataset would name a category the categories file does not have
        from maskkit.errors import UnknownCategoryError

        where = str(sem_source if isinstance(sem_source, str) else sem_source[3])
        raise UnknownCategoryError(
            f"semantic value(s) {unknown[:5]} are not in the categories file; if "
            f"{unknown[0]} means VOID pass --ignore-value {unknown[0]}, else add the "
            "category", source=where, obj=f"image {image_id}")
    for s in segs:
        s.pop("instance_index", None)
    write_panoptic_png(png_dir / name, ids)
    return {"image_id": image_id, "file_name": name, "segments_info": segs}


def to_semantic_image(job, *, things, things_as, unlabeled, out_dir):
    """One image of ``maskkit panoptic to-semantic``: ``job`` is ``(panoptic PNG, segments_info,
    image_id, relative output name)``; writes the semantic PNG under ``out_dir``."""
    from maskkit.core.panoptic import panoptic_to_semantic
    from maskkit.io import fs
    from maskkit.io.panoptic import read_panoptic_png
    from maskkit.io.png import write_label_png

    png, segs, image_id, rel = job
    ids = read_panoptic_png(png)
    try:
        sem = panoptic_to_semantic(ids, segs, things=things, things_as=things_as,
                                   unlabeled=unlabeled)
    except Exception as exc:
        from maskkit.errors import MaskkitError

        if isinstance(exc, MaskkitError):
            raise exc.with_context(source=str(png), obj=f"image {image_id}") from None
        raise
    write_label_png(fs.inside(out_dir, rel), sem)  # never through a link out of -o
    return rel


def from_2ch_image(job, *, void, cats, png_dir):
    """One image of ``maskkit panoptic from-2ch``: ``job`` is ``(2-channel PNG, output name,
    image_id)``; writes the panoptic PNG into ``png_dir`` and returns its annotation."""
    from maskkit.core.panoptic import panoptic_from_2ch
    from maskkit.io.panoptic import write_panoptic_png
    from maskkit.io.png import read_png

    src, name, image_id = job
    arr = read_png(src, mode="rgb")
    try:
        ids, segs = panoptic_from_2ch(arr, void_category=void, categories=cats)
    except Exception as exc:
        from maskkit.errors import MaskkitError

        if isinstance(exc, MaskkitError):
            raise exc.with_context(source=src, obj=f"image {image_id}") from None
        raise
    write_panoptic_png(Path(png_dir) / name, ids)
    return {"image_id": image_id, "file_name": name, "segments_info": segs}

