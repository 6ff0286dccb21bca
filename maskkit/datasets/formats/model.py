"""The interchange model every format is read into and written from.

One :class:`ImageRecord` per image: its file name, size and objects; one
:class:`Instance` per object: a category id, ``iscrowd`` and its geometry as COCO holds
it (a list of polygon parts, or an RLE dict).  Readers build records, writers consume
them; neither knows about the other format.  Records are validated on construction, so a
writer can trust them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from maskkit.errors import InvalidAnnotationError

__all__ = ["Category", "ImageRecord", "Instance", "PolygonChunk", "size_ok"]


@dataclass(frozen=True)
class Category:
    """A category: its id (kept across conversions), name and supercategory."""

    id: int
    name: str
    supercategory: str = ""

    def as_coco(self) -> dict:
        return {"id": self.id, "name": self.name, "supercategory": self.supercategory}


def _check_geometry(seg, where: str):
    if isinstance(seg, dict):
        if "counts" not in seg or "size" not in seg:
            raise InvalidAnnotationError(f"{where}: an RLE needs 'size' and 'counts'")
        return
    if not isinstance(seg, list) or not seg:
        raise InvalidAnnotationError(
            f"{where}: geometry must be a non-empty list of polygon parts or an RLE dict; "
            f"got {type(seg).__name__}")
    for i, part in enumerate(seg):
        if not isinstance(part, list):
            raise InvalidAnnotationError(f"{where}: polygon part {i} must be a list of "
                                         "coordinates x1, y1, x2, y2, ...")
        if len(part) % 2 or len(part) < 6:
            raise InvalidAnnotationError(
                f"{where}: polygon part {i} has {len(part)} coordinates; expected an even "
                "number, at least 6 (3 points)")


@dataclass
class Instance:
    """One object of an image.

    Attributes
    ----------
    category_id : int
        The category's id (see :class:`Category`).
    segmentation : list or dict
        COCO polygons (a list of flat ``[x1, y1, x2, y2, ...]`` parts, unioned) or a COCO
        RLE ``{"size": [h, w], "counts": ...}``.
    iscrowd : bool
        A crowd / ignore region rather than one object.
    extra : dict
        Format-specific fields carried along (``score``, CVAT attributes ...).
    floats : bool
        Set by a reader whose polygon coordinates are all Python floats (the YOLO
        reader's): a writer may then skip checking each value's type.
    coords : ndarray or None
        Set by a reader that made the coordinates of a one-part polygon a float64 array
        (the Cityscapes reader's): ``segmentation[0]`` as an array, checked finite; a
        writer may paint it without converting the list again. None otherwise.
    """

    category_id: int
    segmentation: Any
    iscrowd: bool = False
    extra: dict = field(default_factory=dict)
    floats: bool = field(default=False, repr=False, compare=False)
    coords: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        _check_geometry(self.segmentation, f"object of category {self.category_id!r}")

    @classmethod
    def of_valid(cls, category_id: int, segmentation, iscrowd: bool = False,
                 extra: dict | None = None, coords=None) -> Instance:
        """An instance whose geometry its reader has already checked (a list of flat
        polygon parts of at least 6 Python floats, an even number): no second check,
        and ``floats`` is set. ``coords``: see :class:`Instance`.

        Examples
        --------
        >>> Instance.of_valid(3, [[0.0, 0.0, 4.0, 0.0, 4.0, 4.0]]).category_id
        3
        """
        inst = cls.__new__(cls)
        inst.category_id = category_id
        inst.segmentation = segmentation
        inst.iscrowd = iscrowd
        inst.extra = {} if extra is None else extra
        inst.floats = True
        inst.coords = coords
        return inst


@dataclass
class ImageRecord:
    """One image: where it is, its size, its objects, and what its reader had to drop.

    Attributes
    ----------
    file_name : str
        The image's path relative to the dataset's image folder (COCO ``file_name``).
    height, width : int
        Image size in pixels.
    instances : list of Instance
        The objects, in file order.
    id : int, optional
        The COCO image id, when the source has one.
    dropped : list of str
        One line per source object the reader could not represent (a ``line`` shape,
        an ``__ignore__`` region ...), reported by the conversion.
    """

    file_name: str
    height: int
    width: int
    instances: list = field(default_factory=list)
    id: Any = None
    dropped: list = field(default_factory=list)

    def __post_init__(self):
        if (isinstance(self.height, bool) or isinstance(self.width, bool)
                or not isinstance(self.height, int) or not isinstance(self.width, int)
                or self.height < 1 or self.width < 1):
            raise InvalidAnnotationError(
                f"image {self.file_name!r}: height and width must be whole numbers >= 1; got "
                f"{self.height!r}×{self.width!r}")
        from maskkit.limits import check_image_size

        # a hostile size (a 10⁶×10⁶ image in an XML header) is refused before any
        # writer allocates a label map for it
        check_image_size(self.height, self.width, obj=f"image {self.file_name!r}")


def size_ok(height, width) -> bool:
    """Whether an image size is one :class:`ImageRecord` takes (whole numbers >= 1 within
    the pixel limit), without raising: a columnar reader leaves other images to the
    record way, which names what is wrong."""
    from maskkit.errors import MaskkitError
    from maskkit.limits import check_image_size

    if type(height) is not int or type(width) is not int or height < 1 or width < 1:
        return False
    try:
        check_image_size(height, width)
    except MaskkitError:
        return False
    return True


@dataclass
class PolygonChunk:
    """Images of a batch chunk whose objects are all polygons, held as arrays: the
    columnar way from a reader to a writer (``reader.read_columns`` /
    ``writer.write_columns``), with no Python object per object or per coordinate.

    Image ``j`` of the chunk is the ``positions[j]``-th unit the reader was given; its
    objects are ``image_objs[j]..image_objs[j + 1]``, in file order. Object ``k``'s polygon
    parts are ``obj_rings[k]..obj_rings[k + 1]``, part ``r``'s coordinates (pixels, x, y,
    x, y ...) ``xy[ring_offsets[r]:ring_offsets[r + 1]]``, every part of at least 6 and
    an even number of finite coordinates within ``COORD_LIMIT``; sizes are valid
    (:func:`maskkit.limits.check_image_size`, at least 1 pixel). ``floats``: the
    coordinates are floats on the 1e-9 grid, as a text format holds them (the YOLO
    reader's: a writer may print them as such), rather than the numbers of a JSON file
    (ints and floats alike made float64).
    """

    positions: list
    names: list
    heights: Any
    widths: Any
    ids: list
    image_objs: Any
    category: Any
    crowd: Any
    obj_rings: Any
    ring_offsets: Any
    xy: Any
    floats: bool = False

    def object_sizes(self):
        """``(heights, widths)`` of each object's image (int64 arrays)."""
        import numpy as np

        counts = np.diff(self.image_objs)
        return np.repeat(self.heights, counts), np.repeat(self.widths, counts)
