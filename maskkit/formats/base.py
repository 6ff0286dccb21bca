"""What every format module provides: a reader, a writer and a detector.

A reader is built in the parent process from the source path; it lists its *units* (one
per image: an image id, a label file ...) and knows the categories up front.  ``read``
turns one unit into an :class:`~maskkit.formats.model.ImageRecord`; it runs in a worker.
A writer is built from the destination and the categories; ``write`` turns one record
into its output (a file written atomically, or a payload the parent gathers) and runs in
a worker; ``finish`` runs in the parent with every payload, in the source's order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from maskkit.errors import InvalidInputError

__all__ = ["Reader", "WriteResult", "Writer", "safe_relative"]


@dataclass
class WriteResult:
    """What writing one image gave.

    Attributes
    ----------
    payload : object
        What the parent needs for a single-file format (COCO annotations ...), else None.
    objects : int
        Objects written.
    losses : list of dict
        One entry per object that the target holds only approximately:
        ``{"object", "category_id", "iou", "how"}`` (IoU under COCO's rasteriser).
    dropped : list of str
        Objects the target cannot hold at all (a crowd region in YOLO ...).
    """

    payload: Any = None
    objects: int = 0
    losses: list = field(default_factory=list)
    dropped: list = field(default_factory=list)


class Reader:
    """Base class of the format readers (see the module docstring)."""

    format = ""

    def __init__(self, src, **options):
        self.src = src
        self.categories: list = []
        self.units: list = []

    def read(self, unit):  # pragma: no cover - abstract
        raise NotImplementedError


class Writer:
    """Base class of the format writers (see the module docstring)."""

    format = ""
    single_file = False

    def __init__(self, dst, categories, **options):
        self.dst = dst
        self.categories = list(categories)

    def start(self) -> None:
        """Prepare the destination (folders)."""

    def write(self, rec) -> WriteResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def finish(self, payloads: list) -> None:
        """Write what is written once (the COCO file, data.yaml, class lists)."""


_BAD_PART = re.compile(r"(^|/)\.\.(/|$)")


def safe_relative(name: str, *, source=None) -> str:
    """A file name from a dataset, as a relative POSIX path that stays inside its folder.

    Examples
    --------
    >>> safe_relative("train\\\\a.jpg"), safe_relative("/abs/b.png")
    ('train/a.jpg', 'abs/b.png')
    """
    rel = str(name).replace("\\", "/").lstrip("/")
    if not rel or _BAD_PART.search(rel):
        raise InvalidInputError(
            f"file name {name!r} is empty or climbs out of its folder ('..'); rename the "
            "image", source=source)
    return rel
