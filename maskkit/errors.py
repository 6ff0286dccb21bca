"""Exceptions raised by maskkit.

Every maskkit exception derives from :class:`MaskkitError` *and* from the built-in
exception a caller would naturally catch (``ValueError``, ``TypeError`` or ``OSError``),
so ``except ValueError`` keeps working.  Errors about a particular input carry the file
(``source``) and the object (``obj``, e.g. an annotation id) and name both in the message.
"""

from __future__ import annotations

__all__ = [
    "ImageTooLargeError",
    "InvalidAnnotationError",
    "InvalidInputError",
    "InvalidPolygonError",
    "InvalidRLEError",
    "MaskkitError",
    "MaskkitIOError",
    "MaskkitTypeError",
    "UnknownCategoryError",
    "WorkerDiedError",
]


class MaskkitError(Exception):
    """Base class of every maskkit error.

    Parameters
    ----------
    message : str
        What was wrong and, where possible, how to fix it.
    source : str, optional
        The file the bad input came from.
    obj : object, optional
        The object inside the file (annotation id, segment id, image id, ...).
    """

    def __init__(self, message: str, *, source=None, obj=None):
        self.reason = message
        self.source = None if source is None else str(source)
        self.obj = obj
        super().__init__(self._format())

    def _format(self) -> str:
        parts = []
        if self.source:
            parts.append(self.source)
        if self.obj is not None:
            parts.append(str(self.obj))
        parts.append(self.reason)
        return ": ".join(parts)

    def with_context(self, *, source=None, obj=None) -> MaskkitError:
        """Return the same error with ``source`` / ``obj`` filled in where missing."""
        if source is not None and self.source is None:
            self.source = str(source)
        if obj is not None and self.obj is None:
            self.obj = obj
        self.args = (self._format(),)
        return self

    def __str__(self) -> str:
        return self._format()


class InvalidInputError(MaskkitError, ValueError):
    """An input value is malformed or out of range."""


class InvalidPolygonError(InvalidInputError):
    """A polygon has too few points, an odd number of coordinates, or bad coordinates."""


class InvalidRLEError(InvalidInputError):
    """An RLE is corrupt: bad characters, negative runs, or counts not summing to h*w."""


class InvalidAnnotationError(InvalidInputError):
    """A COCO/panoptic record is missing a key or refers to something unknown."""


class UnknownCategoryError(InvalidAnnotationError):
    """A category id is not in the dataset's (or the user's) category list."""


class ImageTooLargeError(InvalidInputError):
    """An output would exceed the memory limit (see ``maskkit.set_max_pixels``)."""


class MaskkitTypeError(MaskkitError, TypeError):
    """An argument has the wrong type."""


class MaskkitIOError(MaskkitError, OSError):
    """A file could not be read or written, or is not the format it claims to be."""


class WorkerDiedError(MaskkitError, RuntimeError):
    """A worker process died (segfault, out-of-memory kill) twice while running this item."""
