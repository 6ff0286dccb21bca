"""COCO panoptic files: the JSON (annotations, categories, image sizes) and the RGB id PNGs."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from maskkit._kernels import panoptic as _kp
from maskkit.errors import InvalidAnnotationError, InvalidInputError, MaskkitTypeError

__all__ = ["image_sizes", "iter_panoptic", "load_panoptic_json", "panoptic_annotations",
           "panoptic_folder", "png_name", "read_panoptic_ids", "read_panoptic_png",
           "write_panoptic_png"]


def load_panoptic_json(obj, what: str) -> tuple[dict, str | None]:
    """A JSON document given as a path or an already loaded object."""
    from maskkit.io.files import read_json

    if isinstance(obj, (str, os.PathLike)):
        return read_json(obj), str(obj)
    if isinstance(obj, Mapping):
        return obj, None
    raise MaskkitTypeError(f"{what} must be a path or a dict; got {type(obj).__name__}")


def panoptic_folder(json_path: str | None, folder, what: str) -> Path:
    if folder is not None:
        return Path(folder)
    if json_path is None:
        raise InvalidInputError(
            f"{what}: give the PNG folder explicitly when the JSON is passed as a dict"
        )
    # panopticapi's convention: X.json keeps its PNGs in the folder X
    p = Path(json_path)
    return p.with_suffix("") if p.suffix == ".json" else p


def image_sizes(doc) -> dict[Any, tuple[int, int]]:
    out = {}
    for img in doc.get("images", []) or []:
        if isinstance(img, Mapping) and "id" in img and "height" in img and "width" in img:
            out[img["id"]] = (img["height"], img["width"])
    return out


def read_panoptic_ids(path: Path) -> np.ndarray:
    from maskkit.io.png import read_png_rgb_fast

    return _kp.rgb_to_id(read_png_rgb_fast(path))


def png_name(ann: Mapping, *, source=None) -> str:
    name = ann.get("file_name")
    if not isinstance(name, str) or not name:
        raise InvalidAnnotationError(
            "panoptic annotation has no 'file_name'", source=source, obj=f"image {ann.get('image_id')}"
        )
    return name


def panoptic_annotations(doc, *, source=None) -> list:
    anns = doc.get("annotations") if isinstance(doc, Mapping) else None
    if not isinstance(anns, list):
        raise InvalidAnnotationError("has no 'annotations' list", source=source)
    for i, ann in enumerate(anns):
        if not isinstance(ann, Mapping) or "segments_info" not in ann:
            raise InvalidAnnotationError(
                f"annotation #{i} has no 'segments_info'", source=source
            )
    return anns


def _write_panoptic_png(path: Path, ids: np.ndarray) -> None:
    from PIL import Image

    from maskkit.io.fs import atomic_write

    img = Image.fromarray(_kp.id_to_rgb(ids))
    with atomic_write(path, "wb") as fh:
        img.save(fh, format="PNG")


def write_panoptic_png(path, ids) -> None:
    """Write an (H, W) id map as an RGB panoptic PNG, atomically.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.png")
    >>> write_panoptic_png(p, np.array([[0, 70000]]))
    >>> from maskkit.io.png import read_png
    >>> from maskkit import rgb2id
    >>> rgb2id(read_png(p, mode="rgb")).tolist()
    [[0, 70000]]
    """
    _write_panoptic_png(Path(path), _kp.as_id_map(ids, "ids"))


def read_panoptic_png(path) -> np.ndarray:
    """Read an RGB panoptic PNG as an (H, W) uint32 id map.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.png")
    >>> write_panoptic_png(p, np.array([[1, 2]]))
    >>> read_panoptic_png(p).tolist()
    [[1, 2]]
    """
    return read_panoptic_ids(Path(path))


def iter_panoptic(panoptic_json, png_folder=None) -> Iterable[tuple[dict, np.ndarray]]:
    """Yield ``(annotation, ids)`` for every image of a panoptic dataset.

    Examples
    --------
    >>> list(iter_panoptic({"annotations": []}, "."))
    []
    """
    doc, jpath = load_panoptic_json(panoptic_json, "panoptic_json")
    folder = panoptic_folder(jpath, png_folder, "iter_panoptic")
    for ann in panoptic_annotations(doc, source=jpath):
        yield ann, read_panoptic_ids(folder / png_name(ann, source=jpath))

