"""Cityscapes: ``*_gtFine_polygons.json`` (or ``*_instanceIds.png``) in, ``labelIds`` /
``trainIds`` / ``instanceIds`` PNGs out.

Reading (polygons JSON): every object that is not ``deleted`` is a COCO polygon of the
label's ``id``; a label ending in ``group`` (``cargroup``) that is not itself a label is
that class as a crowd region, as ``json2labelImg`` reads it; labels with a negative id
(``license plate``) are not drawn by Cityscapes and are reported as dropped.  A folder
without polygons is read from its ``*_instanceIds.png``: each value is one object (RLE,
exactly its pixels) of class ``value // 1000`` (values of 1000 and up) or ``value``;
a value below 1000 of a class with instances is a crowd region.  The
categories are the Cityscapes label table (id, name, category as supercategory).

Writing: the objects are painted in file order, later on top (Cityscapes' own order:
objects in front come later), by COCO's rule, into ``<name>_gtFine_labelIds.png`` (label
ids, 0 = unlabeled), ``<name>_gtFine_labelTrainIds.png`` (train ids, 255 = ignore) and
``<name>_gtFine_instanceIds.png`` (16-bit: ``id * 1000 + k`` for the k-th object of a class
that has instances, the label id for other classes and for crowd regions, as
``json2instanceImg``).  Categories are matched to the label table by name.  Cityscapes'
own ``json2labelImg`` fills polygons with PIL's ``ImageDraw.polygon`` (boundary pixels
included), so its PNGs differ from maskkit's along object borders.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np

from maskkit.datasets.formats.base import Reader, StagedFolder, Writer, WriteResult, safe_relative
from maskkit.datasets.formats.geometry import areas_bboxes
from maskkit.datasets.formats.model import Category, ImageRecord, Instance
from maskkit.errors import (
    InvalidAnnotationError,
    MaskkitError,
    MaskkitIOError,
    UnknownCategoryError,
)

__all__ = ["LABELS", "CityscapesReader", "CityscapesWriter", "detect"]

# (name, id, trainId, category, hasInstances): the Cityscapes label table (labels.py)
LABELS = [
    ("unlabeled", 0, 255, "void", False), ("ego vehicle", 1, 255, "void", False),
    ("rectification border", 2, 255, "void", False), ("out of roi", 3, 255, "void", False),
    ("static", 4, 255, "void", False), ("dynamic", 5, 255, "void", False),
    ("ground", 6, 255, "void", False), ("road", 7, 0, "flat", False),
    ("sidewalk", 8, 1, "flat", False), ("parking", 9, 255, "flat", False),
    ("rail track", 10, 255, "flat", False), ("building", 11, 2, "construction", False),
    ("wall", 12, 3, "construction", False), ("fence", 13, 4, "construction", False),
    ("guard rail", 14, 255, "construction", False), ("bridge", 15, 255, "construction", False),
    ("tunnel", 16, 255, "construction", False), ("pole", 17, 5, "object", False),
    ("polegroup", 18, 255, "object", False), ("traffic light", 19, 6, "object", False),
    ("traffic sign", 20, 7, "object", False), ("vegetation", 21, 8, "nature", False),
    ("terrain", 22, 9, "nature", False), ("sky", 23, 10, "sky", False),
    ("person", 24, 11, "human", True), ("rider", 25, 12, "human", True),
    ("car", 26, 13, "vehicle", True), ("truck", 27, 14, "vehicle", True),
    ("bus", 28, 15, "vehicle", True), ("caravan", 29, 255, "vehicle", True),
    ("trailer", 30, 255, "vehicle", True), ("train", 31, 16, "vehicle", True),
    ("motorcycle", 32, 17, "vehicle", True), ("bicycle", 33, 18, "vehicle", True),
    ("license plate", -1, -1, "vehicle", False),
]
BY_NAME = {lab[0]: lab for lab in LABELS}
SUFFIX = "_polygons.json"
PNG_SUFFIX = "_instanceIds.png"
OUTPUTS = ("labelIds", "labelTrainIds", "instanceIds")


def _polygon_files(root: Path, limit: int | None = None, suffix: str = SUFFIX) -> list[str]:
    out = []
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # not staging
        rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
        for f in files:
            if f.endswith(suffix):
                out.append(f if rel == "." else f"{rel}/{f}")
                if limit and len(out) >= limit:
                    return out
    return sorted(out)


def detect(path) -> bool:
    """A ``*_polygons.json`` or ``*_instanceIds.png`` file, or a folder holding one."""
    p = Path(path)
    if p.is_file():
        return p.name.endswith((SUFFIX, PNG_SUFFIX))
    return p.is_dir() and bool(_polygon_files(p, limit=1) or
                               _polygon_files(p, limit=1, suffix=PNG_SUFFIX))


def _label(obj, where: str, path=None) -> tuple:
    """``(label name, label table row, crowd)`` of a polygons file's object."""
    label = str(obj.get("label"))
    crowd = False
    if label not in BY_NAME and label.endswith("group"):
        label, crowd = label[: -len("group")], True
    if label not in BY_NAME:
        raise UnknownCategoryError(f"label {label!r} is not a Cityscapes label",
                                   source=path, obj=where)
    return label, BY_NAME[label], crowd


#: What :func:`_label` makes of each label name of the table and of its ``group`` form:
#: ``(label name, label id, crowd)``.
_KNOWN_LABELS = {**{f"{n}group": (n, i, True) for n, i, *_ in LABELS
                    if f"{n}group" not in BY_NAME},
                 **{n: (n, i, False) for n, i, *_ in LABELS}}


class RingInstance(Instance):
    """An :class:`Instance` of one polygon part kept as a float64 array
    (:attr:`Instance.coords`, a slice of the image's array); its COCO list
    (``segmentation``) is made from the array the first time it is asked for. A
    Cityscapes target paints the arrays and never asks; another target gets the same list
    of floats as before."""

    @property
    def segmentation(self):
        seg = self.__dict__.get("_segmentation")
        if seg is None:
            seg = self.__dict__["_segmentation"] = [self.coords.tolist()]
        return seg

    @segmentation.setter
    def segmentation(self, value):
        self.__dict__["_segmentation"] = value


def _header(doc, path) -> tuple:
    """``(height, width, objects)`` of a polygons file."""
    try:
        return int(doc["imgHeight"]), int(doc["imgWidth"]), doc["objects"]
    except (KeyError, TypeError, ValueError):
        raise InvalidAnnotationError("needs imgHeight, imgWidth and objects",
                                     source=path) from None


def _add_parsed(rec: ImageRecord, objects, xy: np.ndarray, offsets: np.ndarray) -> bool:
    """:func:`_add_polygons` for a file read by :func:`maskkit.io.files.read_json_pairs`:
    each object's polygon is the index of its numbers in ``xy``. False, with ``rec``
    untouched, when an object is irregular in any way (the caller then reads the file
    again as json reads it, to name the object)."""
    try:
        entries = _entries(objects)
    except MaskkitError:
        return False
    if entries is None:
        return False
    n = offsets.size - 1
    for e in entries:
        if e[2] >= 0 and (type(e[4]) is not int or not 0 <= e[4] < n):
            return False  # a polygon the kernel did not parse (a key written with escapes)
    bounds = offsets.tolist()
    make = RingInstance.of_valid
    for i, label, lab_id, crowd, k in entries:
        if lab_id < 0:
            rec.dropped.append(f"object {i} ({label}): Cityscapes does not draw id {lab_id}")
            continue
        start, stop = bounds[k], bounds[k + 1]
        if stop - start < 6:
            rec.dropped.append(f"object {i} ({label}): a polygon of {(stop - start) // 2} "
                               "points")
        else:
            rec.instances.append(make(lab_id, None, crowd, coords=xy[start:stop]))
    return True


def _entries(objects) -> list | None:
    """``(index, label name, label id, crowd, polygon)`` of every object not deleted, or
    None when an object is not a JSON object; raises for an unknown label."""
    out = []
    known = _KNOWN_LABELS
    for i, obj in enumerate(objects):
        if type(obj) is not dict:
            return None
        if obj.get("deleted"):
            continue
        raw = obj.get("label")
        hit = known.get(raw) if type(raw) is str else None
        if hit is None:  # not a label of the table, or not a string: _label says why
            label, lab, crowd = _label(obj, f"object {i}")
            hit = label, lab[1], crowd
        out.append((i, *hit, obj.get("polygon")))
    return out


def _add_polygons(rec: ImageRecord, entries: list) -> bool:
    """Add the objects :func:`_entries` found to ``rec`` at once, when every polygon to
    draw is a list of ``[x, y]`` pairs of finite numbers; False, with ``rec`` untouched,
    for anything else (:func:`_add_object` then finds and names the object).

    The coordinates of the whole image become one float64 array in one conversion; each
    object keeps its slice as :attr:`Instance.coords` (a writer takes it as it is) and a
    flat list of floats as its segmentation. Objects are dropped, in file order, as
    :func:`_add_object` drops them (a label Cityscapes does not draw, fewer than 3
    points)."""
    from itertools import chain

    polygons = [e[4] for e in entries if e[2] >= 0]
    try:
        points = list(chain.from_iterable(polygons))
        # every point a list of two numbers (a string of two characters has a length 2)
        if points and (set(map(type, points)) != {list} or set(map(len, points)) != {2}):
            return False
        xy = np.fromiter(chain.from_iterable(points), np.float64, count=2 * len(points))
        sizes = iter([len(p) for p in polygons])
    except (TypeError, ValueError, OverflowError):
        return False
    if not np.isfinite(xy).all():
        return False
    values = xy.tolist()
    start = 0
    for i, label, lab_id, crowd, _ in entries:
        if lab_id < 0:
            rec.dropped.append(f"object {i} ({label}): Cityscapes does not draw id {lab_id}")
            continue
        n = next(sizes)
        stop = start + 2 * n
        if n < 3:
            rec.dropped.append(f"object {i} ({label}): a polygon of {n} points")
        else:
            rec.instances.append(Instance.of_valid(lab_id, [values[start:stop]], crowd,
                                                   coords=xy[start:stop]))
        start = stop
    return True


def _add_object(rec: ImageRecord, path, i: int, obj) -> None:
    """Add object ``i`` of a polygons file to ``rec`` (or to its dropped objects), or
    raise the error that names it."""
    where = f"object {i}"
    if not isinstance(obj, dict):
        raise InvalidAnnotationError("is not a JSON object", source=path, obj=where)
    if obj.get("deleted"):
        return
    label, lab, crowd = _label(obj, where, path)
    if lab[1] < 0:
        rec.dropped.append(f"{where} ({label}): Cityscapes does not draw id {lab[1]}")
        return
    try:
        xy = np.asarray(obj["polygon"], np.float64).reshape(-1, 2)
    except (KeyError, TypeError, ValueError):
        raise InvalidAnnotationError("polygon must be a list of [x, y]", source=path,
                                     obj=where) from None
    if len(xy) < 3:
        rec.dropped.append(f"{where} ({label}): a polygon of {len(xy)} points")
        return
    if not np.isfinite(xy).all():
        raise InvalidAnnotationError("polygon coordinates must be finite",
                                     source=path, obj=where)
    # checked here: at least 3 points, finite floats
    rec.instances.append(Instance.of_valid(lab[1], [xy.ravel().tolist()], crowd))


def table_categories() -> list[Category]:
    """The Cityscapes labels with an id >= 0 as categories (supercategory: category)."""
    return [Category(i, n, cat) for n, i, _t, cat, _h in LABELS if i >= 0]


class CityscapesReader(Reader):
    """Read Cityscapes ``*_polygons.json`` files (a folder, e.g. ``gtFine/``, or one)."""

    format = "cityscapes"

    def __init__(self, src, **options):
        super().__init__(src)
        p = Path(src)
        if p.is_file():
            self.root, self.units = p.parent, [p.name]
        elif p.is_dir():
            # polygons when there are any (the source of truth), else the instance PNGs
            self.root = p
            self.units = _polygon_files(p) or _polygon_files(p, suffix=PNG_SUFFIX)
        else:
            raise MaskkitIOError("no such file or folder", source=src)
        self.categories = table_categories()

    def read(self, unit) -> ImageRecord:
        if unit.endswith(PNG_SUFFIX):
            return self._read_png(unit)
        from maskkit.io.files import read_json, read_json_pairs

        path = self.root / unit
        base = unit[: -len(SUFFIX)]
        base = base[: -len("_gtFine")] if base.endswith("_gtFine") else base
        # the polygons parsed by a kernel straight into one array; the rest by json
        doc, xy, offsets = read_json_pairs(path, "polygon")
        if xy is not None:
            h, w, objects = _header(doc, path)
            rec = ImageRecord(f"{base}_leftImg8bit.png", h, w)
            if _add_parsed(rec, objects, xy, offsets):
                return rec
            doc = read_json(path)  # something is irregular: as json reads it
        h, w, objects = _header(doc, path)
        rec = ImageRecord(f"{base}_leftImg8bit.png", h, w)
        try:
            entries = _entries(objects)
        except MaskkitError:
            entries = None
        if entries is None or not _add_polygons(rec, entries):
            # something is irregular: object by object, to raise the first error
            for i, obj in enumerate(objects):
                _add_object(rec, path, i, obj)
        return rec

    def _read_png(self, unit) -> ImageRecord:
        """An ``instanceIds`` PNG: ``id * 1000 + k`` is instance ``k`` of class ``id``; a
        value below 1000 is a class region (a crowd region for a class with instances);
        0 (unlabeled) is left out.  Objects come out as RLE, exactly their pixels."""
        from maskkit.core.annotations import label_image_annotations
        from maskkit.io.png import read_png

        path = self.root / unit
        ids = read_png(path)
        if ids.ndim != 2:
            raise InvalidAnnotationError(f"an instanceIds PNG is one channel; got shape "
                                         f"{ids.shape}", source=path)
        h, w = ids.shape
        base = unit[: -len(PNG_SUFFIX)]
        base = base[: -len("_gtFine")] if base.endswith("_gtFine") else base
        rec = ImageRecord(f"{base}_leftImg8bit.png", h, w)
        by_id = {lab[1]: lab for lab in LABELS if lab[1] >= 0}

        values: list[int] = []  # the map value of each object, in the order they come

        def category_of(v):
            v = int(v)
            cid = v // 1000 if v >= 1000 else v
            if cid not in by_id:
                raise UnknownCategoryError(f"value {v}: class {cid} is not a Cityscapes "
                                           "label id", source=path)
            values.append(v)
            return cid

        anns = label_image_annotations(ids, kind="instance", category_of=category_of)
        for a, v in zip(anns, values, strict=True):
            crowd = by_id[a["category_id"]][4] and v < 1000  # a class region, no instance
            rec.instances.append(Instance(a["category_id"], a["segmentation"], crowd))
        return rec


_scratch = threading.local()


def _zeros(h: int, w: int, dtype) -> np.ndarray:
    """A zeroed (h, w) label map, reusing this thread's last one of that dtype: filling
    2 MB with zeros costs a tenth of what a new map's first writes cost (the kernel
    maps and zeroes every page of a fresh allocation). The map is the caller's until its
    next call."""
    key = np.dtype(dtype).str
    buf = getattr(_scratch, key, None)
    if buf is None or buf.shape != (h, w):
        buf = np.zeros((h, w), dtype)
        setattr(_scratch, key, buf)
    else:
        buf.fill(0)
    return buf


def _packed(coords: list):
    """``(xy, ring_offsets)`` of objects whose reader made their coordinates an array
    (:attr:`Instance.coords`, one ring each), or None when one of them has none."""
    if any(c is None for c in coords):
        return None
    offsets = np.zeros(len(coords) + 1, np.int64)
    np.cumsum([c.size for c in coords], out=offsets[1:])
    return np.concatenate(coords), offsets


def _paint(out: np.ndarray, kept: list, rings, values: list) -> None:
    """Paint the objects in order by COCO's rule: from the packed rings when there are
    (no list converted), else from their segmentations."""
    from maskkit.core.rasterize import paint_polygons, paint_rings

    if rings is not None:
        paint_rings(out, rings[0], rings[1], values, threads=1)
    else:
        paint_polygons(out, [inst.segmentation for inst in kept], values, threads=1)


class CityscapesWriter(Writer):
    """Write Cityscapes label PNGs (``outputs``: any of labelIds, labelTrainIds,
    instanceIds) under ``dst``, keeping the file names' folders."""

    format = "cityscapes"

    def __init__(self, dst, categories, *, outputs=OUTPUTS, **options):
        super().__init__(dst, categories)
        self.root = Path(dst)
        bad = [o for o in outputs if o not in OUTPUTS]
        if bad or not outputs:
            raise InvalidAnnotationError(f"outputs must be among {OUTPUTS}; got {outputs!r}")
        self.outputs = tuple(outputs)
        self.table = {}
        for c in self.categories:
            lab = BY_NAME.get(c.name)
            if lab is None:
                continue  # reported when an object of it is written
            self.table[c.id] = lab
        self.train_lut = np.full(256, 255, np.uint8)
        for _n, i, t, _c, _h in LABELS:
            if i >= 0:
                self.train_lut[i] = 255 if t < 0 else t
        # staged inside the output folder, then merged into it: other files there stay
        self.stage = StagedFolder(self.root, stage=self.root / ".cityscapes.staging")

    def start(self, resume: bool = False) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.stage.start(keep=resume)

    def write(self, rec: ImageRecord) -> WriteResult:
        from maskkit.datasets.formats.labelpng import encode_png

        rel = safe_relative(rec.file_name)
        stem = rel.rsplit(".", 1)[0] if "." in rel.rsplit("/", 1)[-1] else rel
        stem = stem[: -len("_leftImg8bit")] if stem.endswith("_leftImg8bit") else stem
        res = WriteResult()
        kept, coords, ids, inst_values, things = [], [], [], [], []
        counters: dict[int, int] = {}
        instances = "instanceIds" in self.outputs
        table = self.table
        for i, inst in enumerate(rec.instances):
            lab = table.get(inst.category_id)
            if lab is None:
                raise UnknownCategoryError(
                    f"object {i}: category {inst.category_id} is not a Cityscapes label "
                    "(matched by name); rename it to one of the label table's names",
                    source=rec.file_name)
            if lab[1] < 0:
                res.dropped.append(f"object {i} ({lab[0]}): Cityscapes does not draw it")
                continue
            kept.append(inst)  # its segmentation list only made if a list is needed
            coords.append(inst.coords)
            ids.append(lab[1])
            if not instances:
                continue
            if lab[4] and not inst.iscrowd:
                k = counters.get(lab[1], 0)
                counters[lab[1]] = k + 1
                inst_values.append(lab[1] * 1000 + k)
                things.append((i, len(kept) - 1))
            else:
                inst_values.append(lab[1])
        rings = _packed(coords) if kept else None
        labels = _zeros(rec.height, rec.width, np.uint8)
        if kept:
            _paint(labels, kept, rings, ids)
        if "labelIds" in self.outputs:
            res.files.update([self.stage.write(f"{stem}_gtFine_labelIds.png",
                                               encode_png(labels))])
        if "labelTrainIds" in self.outputs:
            res.files.update([self.stage.write(f"{stem}_gtFine_labelTrainIds.png",
                                               encode_png(self.train_lut[labels]))])
        if "instanceIds" in self.outputs:
            inst = _zeros(rec.height, rec.width, np.uint16)
            if kept:
                _paint(inst, kept, rings, inst_values)
            res.files.update([self.stage.write(f"{stem}_gtFine_instanceIds.png",
                                               encode_png(inst))])
            if things:  # instances covered by later objects: what is left of them
                full = areas_bboxes([kept[j].segmentation for _, j in things], rec.height,
                                    rec.width)
                values, counts = np.unique(inst, return_counts=True)
                left = dict(zip(values.tolist(), counts.tolist()))
                for (i, j), (area, _) in zip(things, full):
                    seen = left.get(inst_values[j], 0)
                    if area and seen < area:
                        res.losses.append({"object": i, "category_id": ids[j],
                                           "iou": seen / area, "how": "overlapped"})
        res.objects = len(kept)
        return res

    def finish(self, payloads: list) -> None:
        from maskkit.io import fs

        self.stage.merge()
        fs.write_bytes(self.root / "categories.json", (json.dumps(
            [c.as_coco() for c in table_categories()], indent=1) + "\n").encode())
