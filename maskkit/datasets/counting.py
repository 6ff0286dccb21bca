"""Counting mask files and dataset images: the one entry point behind ``maskkit count``.

:func:`count_file` is the file job: it reads a mask (or, for an 8-bit PNG, only its
filtered rows), counts it tile by tile when it is bigger than ``MASKKIT_TILED_PIXELS``, and
turns every failure into one :class:`~maskkit.errors.MaskkitError` naming the file, so the
Python API and the command count the same file the same way.  :func:`dataset_images` and
:func:`count_dataset_image` do the same for the images of COCO and panoptic JSON files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskkit.core.checks import check_ignore, check_min_area
from maskkit.core.count import (
    coco_image_counts,
    count_table,
    panoptic_image_counts,
    table_from_counts,
)
from maskkit.errors import ImageTooLargeError, InvalidInputError, MaskkitError, MaskkitIOError

__all__ = ["count_dataset_image", "count_file", "dataset_images", "estimate_file"]


def count_file(
    path,
    *,
    kind: str = "semantic",
    connectivity: int = 8,
    min_area: int = 0,
    ignore=(255,),
) -> dict[int, tuple[int, int]]:
    """Objects and pixels per class of a mask file: ``{class: (count, area)}``, the shape of
    :func:`maskkit.count_table`.

    The same table as ``count_table(read_mask(path), ...)`` (see
    :func:`maskkit.io.masks.read_mask` for the formats), but an 8-bit grey or palette PNG
    counted as a semantic mask with connectivity 4 or 8 is counted from its filtered rows,
    without decoding the image: each row is kept as a list of runs, derived from the row
    above's by the few non-zero bytes a label map's filtered row holds
    (:mod:`maskkit._kernels.countpng`), so counting costs about as much as reading.
    Errors are those of ``read_mask``, naming the file.

    A ``.npy`` or TIFF file of more than ``MASKKIT_TILED_PIXELS`` pixels (default 2**28)
    is counted tile by tile (:func:`maskkit.count_tiled`), never whole in memory.  The
    estimated true counts of a semantic mask are :func:`estimate_file`'s.

    Examples
    --------
    >>> import numpy as np, pathlib, tempfile
    >>> from PIL import Image
    >>> from maskkit import count_file
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.png"
    >>> Image.fromarray(np.array([[1, 1, 0, 2],
    ...                           [0, 0, 0, 0],
    ...                           [1, 0, 255, 2]], dtype=np.uint8)).save(path)
    >>> count_file(path)
    {1: (2, 3), 2: (2, 2)}
    """
    try:
        return _count_file(path, kind, connectivity, min_area, ignore)
    except MaskkitError as exc:
        if "for a 3-D image" in exc.reason:  # the user gave no 3-D connectivity: say why
            raise MaskkitError(
                "is a 3-D mask; counting files counts 2-D masks (connectivity 4 or 8): "
                "count a volume with maskkit.count_table(volume, connectivity=6, 18 or 26)",
                source=path) from None
        raise exc.with_context(source=path) from None
    except MemoryError:
        raise ImageTooLargeError("out of memory while counting", source=path) from None
    except Exception as exc:  # a bug, but the user still gets one line naming the file
        raise MaskkitError(
            f"unexpected {type(exc).__name__} while counting: {exc}", source=path
        ) from exc


def _count_file(path, kind, connectivity, min_area, ignore):
    from maskkit.datasets.tiled import count_tiled, use_tiled
    from maskkit.io.masks import read_mask

    if use_tiled(path):  # bigger than MASKKIT_TILED_PIXELS: never whole in memory
        return count_tiled(path, kind=kind, connectivity=connectivity, min_area=min_area,
                           ignore=ignore)
    if kind == "semantic" and connectivity in (4, 8) and not isinstance(connectivity, bool):
        min_area = check_min_area(min_area)
        ignore = check_ignore(ignore)
        counted = _count_label_png(path, 1 if connectivity == 8 else 0, min_area)
        if counted is not None:
            classes = np.flatnonzero(counted[1])
            return table_from_counts(classes, counted[0][classes], counted[1][classes], ignore)
    return count_table(read_mask(path), kind=kind, connectivity=connectivity,
                       min_area=min_area, ignore=ignore)


def estimate_file(path, *, method: str = "combined", connectivity: int = 8,
                  ignore=(255,)) -> dict[int, dict[str, int]]:
    """The estimated true object counts of a semantic mask file, per class: the shape of
    :func:`maskkit.estimate_counts` (``components``, ``estimate``, ``low``, ``high``) plus
    each class's ``area`` in pixels.  The mask is read whole (the distance transform is
    global); every failure is one :class:`~maskkit.errors.MaskkitError` naming the file.

    Examples
    --------
    >>> import numpy as np, pathlib, tempfile
    >>> from maskkit.datasets.counting import estimate_file
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.npy"
    >>> np.save(path, np.array([[1, 1, 0, 2]], dtype=np.uint8))
    >>> estimate_file(path, method="components")[1]
    {'components': 1, 'estimate': 1, 'low': 1, 'high': 1, 'area': 2}
    """
    from maskkit.core.split import estimate_counts
    from maskkit.io.masks import read_mask

    try:
        mask = read_mask(path)
        areas = count_table(mask, connectivity=connectivity, ignore=ignore)
        est = estimate_counts(mask, method=method, connectivity=connectivity, ignore=ignore)
        return {c: {**est[c], "area": a} for c, (_, a) in areas.items()}
    except MaskkitError as exc:
        raise exc.with_context(source=path) from None
    except MemoryError:
        raise ImageTooLargeError("out of memory while estimating", source=path) from None


def _count_label_png(path, diag: int, min_area: int):
    """``(counts, areas)`` per value 0-255 of a local 8-bit grey or palette PNG, or None
    for any other file (and for one that cannot be read: ``read_mask`` then says why)."""
    from maskkit._kernels.countpng import BAD_FILTER, LABEL_BYTES, TOO_MANY_LABELS, count_png_u8
    from maskkit.io.masks import label_png_rows
    from maskkit.limits import get_max_bytes

    inflated = label_png_rows(path)
    if inflated is None:
        return None
    status, counts, areas = count_png_u8(*inflated, diag, min_area, get_max_bytes())
    if status == BAD_FILTER:
        raise MaskkitIOError("not a readable PNG (bad filter bytes)", source=path)
    if status == TOO_MANY_LABELS:
        raise ImageTooLargeError(
            f"counting needs a label table above the limit of {get_max_bytes():,} bytes "
            f"(more than {get_max_bytes() // (2 * LABEL_BYTES):,} runs of foreground); raise "
            "it with maskkit.set_max_bytes() or MASKKIT_MAX_BYTES if this is intended",
            source=path)
    return counts, areas


def dataset_images(paths, kind: str, *, png_folder=None, strict: bool = True) -> dict:
    """The images of COCO instances (``kind="coco"``) or panoptic (``"panoptic"``) JSON
    files, for :func:`count_dataset_image`: ``{key: entry}`` in file order.

    ``key`` is the image's file name (prefixed with ``"<json path>:"`` when several files
    are given); ``entry`` holds what counting the image needs (the parsed index, or the
    panoptic annotation and its PNG folder).  ``png_folder`` is the panoptic PNG folder
    (default: next to the JSON, as COCO lays it out).  ``strict=False`` skips the
    annotations that do not parse, as ``on_error="skip"`` does.
    """
    from maskkit.datasets.panoptic import png_name as panoptic_png_name
    from maskkit.io.coco import load_coco
    from maskkit.io.panoptic import load_panoptic_json, panoptic_annotations, panoptic_folder

    if kind not in ("coco", "panoptic"):
        raise InvalidInputError(f"kind must be 'coco' or 'panoptic'; got {kind!r}")
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if png_folder is not None and len(paths) > 1:
        raise InvalidInputError("png_folder goes with a single panoptic JSON")
    table: dict = {}
    for raw in paths:
        path = Path(raw)
        prefix = f"{path}:" if len(paths) > 1 else ""
        if kind == "coco":
            index = load_coco(path, strict=strict)
            for image_id, info in index.images.items():
                table[prefix + (info.file_name or str(image_id))] = ("coco", index, image_id)
        else:
            doc, jpath = load_panoptic_json(str(path), "panoptic_json")
            folder = panoptic_folder(jpath, png_folder, "count")
            for ann in panoptic_annotations(doc, source=jpath):
                key = prefix + panoptic_png_name(ann, source=jpath)
                table[key] = ("panoptic", ann, folder, jpath)
    return table


def count_dataset_image(key: str, images: dict) -> dict[int, tuple[int, int]]:
    """``{category: (count, area)}`` of the image ``key`` of :func:`dataset_images`'s
    table; every failure is a :class:`~maskkit.errors.MaskkitError` naming the image."""
    from maskkit.io.panoptic import read_panoptic_ids

    entry = images[key]
    try:
        if entry[0] == "coco":
            return coco_image_counts(entry[1], entry[2])
        _, ann, folder, jpath = entry
        png = folder / ann["file_name"]
        try:
            ids = read_panoptic_ids(png)
        except MaskkitError as exc:
            raise exc.with_context(source=png) from None
        return panoptic_image_counts(ann, ids, source=jpath)
    except MaskkitError as exc:
        raise exc.with_context(source=key) from None
