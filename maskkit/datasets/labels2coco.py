"""The ``labels2coco`` job: label image files in, one COCO instances JSON out.

Each image's objects are found and encoded by :func:`maskkit.label_image_annotations`
(:mod:`maskkit.core.annotations`, which states the segmentation rules); this module reads
the files and the class map, numbers images and annotations, and writes the JSON.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from maskkit.core.annotations import label_image_annotations
from maskkit.errors import InvalidInputError, MaskkitIOError, UnknownCategoryError

__all__ = ["labels_to_coco", "load_class_map", "relative_names", "write_coco"]


# ------------------------------------------------------------------------- objects


# ---------------------------------------------------------------------- class maps


def load_class_map(path) -> tuple[list[dict], dict[int, int] | None]:
    """Read a class map: ``(COCO categories, {instance id: category id} or None)``.

    Accepted JSON: a list of COCO categories ``[{"id": 1, "name": "building"}, ...]``;
    an object ``{"categories": [...], "instances": {"7": 1, ...}}`` (a COCO file works);
    or ``{"1": "building", "2": "road"}`` (value -> name).

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "classes.json"
    >>> _ = path.write_text(json.dumps({"1": "building", "2": "road"}))
    >>> load_class_map(path)
    ([{'id': 1, 'name': 'building', 'supercategory': ''}, {'id': 2, 'name': 'road', 'supercategory': ''}], None)
    """
    from maskkit.io.files import read_json

    doc = read_json(path)
    instances = None
    if isinstance(doc, Mapping) and "categories" in doc:
        cats = doc["categories"]
        raw = doc.get("instances")
        if raw is not None:
            try:
                instances = {int(k): int(v) for k, v in raw.items()}
            except (AttributeError, TypeError, ValueError):
                raise MaskkitIOError(
                    "'instances' must map instance ids to category ids", source=path
                ) from None
    elif isinstance(doc, Mapping):
        try:
            cats = [{"id": int(k), "name": str(v)} for k, v in doc.items()]
        except ValueError:
            raise MaskkitIOError(
                "a class map object must map integer values to names, e.g. "
                '{"1": "building"}', source=path,
            ) from None
    else:
        cats = doc
    if not isinstance(cats, list) or not all(
        isinstance(c, Mapping) and isinstance(c.get("id"), int) and "name" in c for c in cats
    ):
        raise MaskkitIOError(
            'categories must be a list of {"id": int, "name": str}', source=path
        )
    out = [{"id": c["id"], "name": str(c["name"]),
            "supercategory": str(c.get("supercategory", ""))} for c in cats]
    return sorted(out, key=lambda c: c["id"]), instances


# ---------------------------------------------------------------------------- files


def labels_to_coco(
    paths: Iterable[str | os.PathLike],
    *,
    kind: str = "instance",
    segmentation: str = "rle",
    connectivity: int = 8,
    simplify: float = 0.0,
    min_area: int = 0,
    ignore: Iterable[int] = (),
    categories=None,
    root: str | os.PathLike | None = None,
    category_name: str = "object",
) -> dict:
    """COCO instances dataset from label image files (one image record per file).

    Parameters
    ----------
    paths : iterable of path
        Label images readable by :func:`maskkit.io.masks.read_mask` (PNG, TIFF, .npy).
    kind, segmentation, connectivity, simplify, min_area, ignore
        As for :func:`label_image_annotations`.
    categories : path or (list, mapping or None), optional
        A class map file (see :func:`load_class_map`) or what it returns.  Semantic
        values (or, with an ``instances`` table, instance ids) must have a category.
        Without it, semantic classes become categories named after their value and
        instances all get category 1, named ``category_name``.
    root : path, optional
        ``file_name`` is each path relative to this folder (``/``-separated), so the JSON
        is portable; default: the deepest folder holding every input.
    category_name : str
        The name of the one category of ``kind="instance"`` without ``categories``.

    Returns
    -------
    dict
        ``{"images", "annotations", "categories"}``.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "sem.npy"
    >>> np.save(path, np.array([[1, 1, 0], [0, 0, 1]], np.uint8))
    >>> coco = labels_to_coco([path], kind="semantic", connectivity=4)
    >>> [(a["category_id"], a["area"]) for a in coco["annotations"]], coco["categories"]
    ([(1, 2), (1, 1)], [{'id': 1, 'name': '1', 'supercategory': ''}])
    >>> coco["images"][0]["file_name"]
    'sem.npy'
    """
    from maskkit.errors import MaskkitError
    from maskkit.io.masks import read_mask

    if categories is not None and not isinstance(categories, tuple):
        categories = load_class_map(categories)
    cats, instance_table = categories if categories is not None else (None, None)
    known = None if cats is None else {c["id"] for c in cats}
    if kind == "semantic" and known is not None:
        category_of = {v: v for v in known}
    elif kind == "instance" and instance_table is not None:
        category_of = instance_table
    elif kind == "instance" and cats is not None and len(cats) == 1:
        only = cats[0]["id"]

        def category_of(v):
            return only
    elif kind == "instance" and cats is not None:
        raise InvalidInputError(
            f"the class map lists {len(cats)} categories but no 'instances' table saying "
            "which instance id has which; add {\"instances\": {\"<id>\": <category>, ...}}"
        )
    else:
        category_of = None

    paths = list(paths)
    names = relative_names(paths, root)
    images, annotations = [], []
    seen: set[int] = set()
    for image_id, path in enumerate(paths, start=1):
        try:
            labels = read_mask(path)
            anns = label_image_annotations(
                labels, kind=kind, segmentation=segmentation, connectivity=connectivity,
                simplify=simplify, min_area=min_area, ignore=ignore, image_id=image_id,
                first_id=len(annotations) + 1, category_of=category_of,
            )
        except MaskkitIOError as exc:
            if "colour PNG" in exc.reason:  # the reader's hint is for `count`
                raise MaskkitIOError(
                    "is a colour PNG, not a label image; labels2coco reads instance-id or "
                    "class label images (grey or palette PNG, TIFF, .npy): convert it, or "
                    "for a panoptic PNG use `maskkit panoptic to-coco`", source=path) from None
            raise exc.with_context(source=path) from None
        except MaskkitError as exc:
            raise exc.with_context(source=path) from None
        h, w = labels.shape[:2]
        images.append({"id": image_id, "file_name": names[image_id - 1], "height": int(h),
                       "width": int(w)})
        annotations.extend(anns)
        seen.update(a["category_id"] for a in anns)
    if cats is None:
        if kind == "instance":
            cats = [{"id": 1, "name": category_name, "supercategory": ""}]
        else:
            cats = [{"id": c, "name": str(c), "supercategory": ""} for c in sorted(seen)]
    else:
        missing = sorted(seen - {c["id"] for c in cats})
        if missing:
            raise UnknownCategoryError(
                f"category ids {missing[:10]} are used but not in the class map"
            )
    return {"images": images, "annotations": annotations, "categories": cats}


def relative_names(paths, root=None) -> list[str]:
    """Each path relative to ``root`` (default: the deepest folder holding them all),
    ``/``-separated: portable ``file_name`` values.

    Examples
    --------
    >>> relative_names(["/data/m/a.png", "/data/m/sub/b.png"])
    ['a.png', 'sub/b.png']
    >>> relative_names(["/data/m/a.png"], root="/data")
    ['m/a.png']
    """
    absolute = [os.path.abspath(p) for p in paths]
    if not absolute:
        return []
    if root is None:
        base = os.path.commonpath([os.path.dirname(p) for p in absolute])
    else:
        base = os.path.abspath(root)
    out = []
    for given, p in zip(paths, absolute):
        rel = os.path.relpath(p, base)
        if rel == ".." or rel.startswith("../"):
            raise InvalidInputError(f"{given} is not inside the root folder {root}")
        out.append(Path(rel).as_posix())
    return out


def write_coco(path, coco: dict) -> None:
    """Write a COCO dict as JSON, atomically."""
    from maskkit.io.files import write_json

    write_json(Path(path), coco)
