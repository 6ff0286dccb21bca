"""Reading COCO instance files into an index, with errors that name file and object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from maskkit.errors import InvalidAnnotationError, MaskkitTypeError, UnknownCategoryError
from maskkit.io.files import read_json

__all__ = ["CocoIndex", "ImageInfo", "load_coco"]


@dataclass(frozen=True)
class ImageInfo:
    """One COCO image record: id, file name and size."""

    id: Any
    file_name: str | None
    height: int
    width: int


@dataclass
class CocoIndex:
    """A parsed COCO instance dataset, indexed for per-image work.

    Attributes
    ----------
    images : dict
        image id -> :class:`ImageInfo`, in file order.
    annotations : dict
        image id -> list of annotation dicts, in file order.
    categories : dict
        category id -> category dict.
    source : str or None
        The file it came from (used in error messages).
    problems : list of MaskkitError
        Records that could not be indexed (only with ``strict=False``).
    """

    images: dict = field(default_factory=dict)
    annotations: dict = field(default_factory=dict)
    categories: dict = field(default_factory=dict)
    source: str | None = None
    problems: list = field(default_factory=list)
    bad_images: dict = field(default_factory=dict)


_MISSING = object()


def _is_id(value) -> bool:
    """An id that can key a dict: JSON numbers and strings (not lists, objects, null)."""
    return isinstance(value, (int, float, str))


def _ann_name(ann, i):
    if isinstance(ann, Mapping) and "id" in ann:
        return f"annotation {ann['id']}"
    return f"annotation #{i}"


def load_coco(coco, *, strict: bool = True, source=None) -> CocoIndex:
    """Load and index a COCO instances dataset.

    Parameters
    ----------
    coco : str, os.PathLike, dict or pycocotools.coco.COCO
        A path to the JSON file, the parsed dict, or a ``COCO`` object.
    strict : bool
        ``True``: the first bad record raises. ``False``: bad records are collected in
        ``index.problems``; an image with a bad annotation is listed in
        ``index.bad_images`` (image id -> error) so batch jobs can skip just that image.
    source : str, optional
        The file a parsed dict came from, for error messages (a path names itself).

    Raises
    ------
    MaskkitIOError
        The file cannot be read or is not JSON.
    InvalidAnnotationError
        A required key is missing or a record refers to an unknown image or category.

    Examples
    --------
    >>> idx = load_coco({"images": [{"id": 1, "height": 4, "width": 5}],
    ...                  "annotations": [{"id": 7, "image_id": 1, "category_id": 3,
    ...                                   "segmentation": [[0, 0, 2, 0, 2, 2]]}],
    ...                  "categories": [{"id": 3, "name": "cat"}]})
    >>> idx.images[1].height, len(idx.annotations[1])
    (4, 1)
    """
    if isinstance(coco, (str, os.PathLike)):
        source = str(coco)
        data = read_json(coco)
    elif isinstance(coco, Mapping):
        data = coco
    elif hasattr(coco, "dataset") and isinstance(coco.dataset, Mapping):
        data = coco.dataset
    else:
        raise MaskkitTypeError(
            "coco must be a path, a parsed COCO dict or a pycocotools COCO object; "
            f"got {type(coco).__name__}"
        )
    if not isinstance(data, Mapping):
        raise InvalidAnnotationError(
            f"a COCO file must hold a JSON object; got {type(data).__name__}", source=source
        )
    for key in ("images", "annotations"):
        if key not in data:
            raise InvalidAnnotationError(f"missing the {key!r} list", source=source)
        if not isinstance(data[key], list):
            raise InvalidAnnotationError(f"{key!r} must be a list", source=source)
    index = CocoIndex(source=source)

    def fail(err, image_id=None):
        if strict:
            raise err
        index.problems.append(err)
        if _is_id(image_id) and image_id not in index.bad_images:
            index.bad_images[image_id] = err

    categories = data.get("categories") or []
    if not isinstance(categories, list):
        raise InvalidAnnotationError("'categories' must be a list", source=source)
    for i, cat in enumerate(categories):
        if not isinstance(cat, Mapping) or not _is_id(cat.get("id")):
            fail(InvalidAnnotationError(f"category #{i} has no 'id' (a number or a string)",
                                        source=source))
            continue
        index.categories[cat["id"]] = cat
    check_categories = "categories" in data
    for i, img in enumerate(data["images"]):
        if not isinstance(img, Mapping) or not _is_id(img.get("id")):
            fail(InvalidAnnotationError(f"image #{i} has no 'id' (a number or a string)",
                                        source=source))
            continue
        name = f"image {img['id']}"
        try:
            h, w = img["height"], img["width"]
        except KeyError:
            fail(InvalidAnnotationError("has no height/width", source=source, obj=name))
            continue
        if not (isinstance(h, int) and isinstance(w, int)) or h < 0 or w < 0:
            fail(InvalidAnnotationError(f"height/width must be non-negative integers; got "
                                        f"{h!r}×{w!r}", source=source, obj=name))
            continue
        fn = img.get("file_name")
        index.images[img["id"]] = ImageInfo(img["id"], None if fn is None else str(fn), h, w)
        index.annotations[img["id"]] = []
    images = index.images
    by_image = index.annotations
    cats = index.categories
    for i, ann in enumerate(data["annotations"]):
        # the common record first, with no work beyond the lookups it needs (names of
        # objects are only made for an error)
        if type(ann) is dict and "segmentation" in ann:
            image_id = ann.get("image_id", _MISSING)
            cid = ann.get("category_id", _MISSING)
            if (type(image_id) is int and type(cid) is int and image_id in images
                    and (not check_categories or cid in cats)):
                by_image[image_id].append(ann)
                continue
        name = _ann_name(ann, i)
        if not isinstance(ann, Mapping):
            fail(InvalidAnnotationError("is not a JSON object", source=source, obj=name))
            continue
        missing = [k for k in ("image_id", "category_id", "segmentation") if k not in ann]
        if missing:
            fail(InvalidAnnotationError(f"is missing {missing}", source=source, obj=name),
                 ann.get("image_id"))
            continue
        image_id = ann["image_id"]
        if not _is_id(image_id) or image_id not in index.images:
            fail(InvalidAnnotationError(f"refers to unknown image_id {image_id!r}",
                                        source=source, obj=name))
            continue
        if not _is_id(ann["category_id"]):
            fail(InvalidAnnotationError(f"category_id must be a number or a string; got "
                                        f"{ann['category_id']!r}", source=source, obj=name),
                 image_id)
            continue
        if check_categories and ann["category_id"] not in index.categories:
            fail(UnknownCategoryError(f"has unknown category_id {ann['category_id']!r}",
                                      source=source, obj=name), image_id)
            continue
        index.annotations[image_id].append(ann)
    return index
