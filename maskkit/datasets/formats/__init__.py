"""Readers and writers of the annotation formats teams hand each other.

Every format is read into one interchange model (:mod:`maskkit.datasets.formats.model`) and
written from it; :func:`maskkit.convert` (``maskkit convert``) runs a reader and a writer
over a dataset.  Formats: ``coco``, ``yolo`` (segmentation), ``labelme``, ``voc`` (segmentation PNGs),
``cvat`` (CVAT for images 1.1 XML),
``cityscapes`` (polygons JSON in, label PNGs out).
"""

from __future__ import annotations

import importlib

from maskkit.errors import InvalidInputError

__all__ = ["FORMATS", "detect_format", "reader_for", "writer_class", "writer_for"]

#: format name -> (module, reader class, writer class)
FORMATS = {
    "coco": ("coco", "CocoReader", "CocoWriter"),
    "yolo": ("yolo", "YoloReader", "YoloWriter"),
    "labelme": ("labelme", "LabelmeReader", "LabelmeWriter"),
    "voc": ("voc", "VocReader", "VocWriter"),
    "cvat": ("cvat", "CvatReader", "CvatWriter"),
    "cityscapes": ("cityscapes", "CityscapesReader", "CityscapesWriter"),
}


def _module(name: str):
    if name not in FORMATS:
        raise InvalidInputError(f"unknown format {name!r}; expected one of {sorted(FORMATS)}")
    return importlib.import_module(f"maskkit.datasets.formats.{FORMATS[name][0]}")


def detect_format(src) -> str:
    """The format of ``src`` (a file or folder); an error when none or several match.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "instances.json"
    >>> _ = path.write_text(json.dumps({"images": [], "annotations": []}))
    >>> detect_format(path)
    'coco'
    """
    from maskkit.io import fs

    if not fs.exists(src):
        raise InvalidInputError("no such file or folder", source=src)
    found = [name for name in FORMATS if _module(name).detect(src)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise InvalidInputError(
            f"cannot tell the format; expected one of {sorted(FORMATS)} (give --from)",
            source=src)
    raise InvalidInputError(f"ambiguous: looks like {' and '.join(found)}; give --from",
                            source=src)


def reader_for(name: str, src, **options):
    """A reader of format ``name`` over ``src``."""
    return getattr(_module(name), FORMATS[name][1])(src, **options)


def writer_class(name: str):
    """The writer class of format ``name``."""
    return getattr(_module(name), FORMATS[name][2])


def writer_for(name: str, dst, categories, **options):
    """A writer of format ``name`` into ``dst``."""
    return writer_class(name)(dst, categories, **options)
