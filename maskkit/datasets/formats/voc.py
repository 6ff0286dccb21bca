"""PASCAL VOC segmentation: ``SegmentationClass/`` and ``SegmentationObject/`` palette PNGs.

``SegmentationObject/<name>.png`` holds an instance index per pixel (1..254), the
``SegmentationClass/<name>.png`` beside it the class (the value is the category id), and
255 is *void* in both (object borders and "difficult" regions).  The class list is
``class_names.txt`` (line ``i`` names value ``i``, as labelme's ``labelme2voc`` writes
it), else VOC 2012's 20 classes; maskkit also writes ``categories.json`` so that
supercategories survive.

Reading: each instance index is one object, of the class most of its pixels have in the
class PNG; void pixels have no class, so they are reported as dropped (their count).
Writing: objects are painted in file order (later objects win where they overlap, as the
``annToMask`` loop; each object that loses pixels is reported with its IoU), crowd
regions become void (255) on the pixels no object claims; ids must fit 1..254.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from maskkit.datasets.formats.base import Reader, StagedFolder, Writer, WriteResult, safe_relative
from maskkit.datasets.formats.geometry import areas_bboxes
from maskkit.datasets.formats.model import Category, ImageRecord, Instance
from maskkit.errors import InvalidAnnotationError, MaskkitIOError, UnknownCategoryError

__all__ = ["VOC_CLASSES", "VocReader", "VocWriter", "detect"]

VOC_CLASSES = [
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
]
VOID = 255
CLASS_DIR, OBJECT_DIR = "SegmentationClass", "SegmentationObject"
SIDECAR = "categories.json"
UNUSED = "_unused_"


def detect(path) -> bool:
    """A folder with ``SegmentationObject/``."""
    return Path(path).is_dir() and (Path(path) / OBJECT_DIR).is_dir()


def _categories(root: Path) -> list[Category]:
    side = root / SIDECAR
    if side.is_file():
        from maskkit.datasets.formats.labelme import load_categories

        return load_categories(side)
    names_file = root / "class_names.txt"
    if names_file.is_file():
        try:
            names = [ln.strip() for ln in names_file.read_text(encoding="utf-8").splitlines()]
        except (OSError, UnicodeDecodeError) as exc:
            raise MaskkitIOError(f"cannot read: {exc}", source=names_file) from None
        return [Category(i, n) for i, n in enumerate(names)
                if i > 0 and n and not n.startswith(UNUSED) and i != VOID]
    return [Category(i, n) for i, n in enumerate(VOC_CLASSES, start=1)]


class VocReader(Reader):
    """Read a VOC segmentation folder (``SegmentationObject/`` + ``SegmentationClass/``)."""

    format = "voc"

    def __init__(self, src, **options):
        super().__init__(src)
        self.root = Path(src)
        if not (self.root / OBJECT_DIR).is_dir():
            raise MaskkitIOError(f"a VOC segmentation folder needs {OBJECT_DIR}/ (instances) "
                                 f"and {CLASS_DIR}/", source=src)
        self.categories = _categories(self.root)
        self.known = {c.id for c in self.categories}
        units = []
        for dirpath, dirs, files in os.walk(self.root / OBJECT_DIR):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # not staging
            rel = os.path.relpath(dirpath, self.root / OBJECT_DIR).replace(os.sep, "/")
            units += [f if rel == "." else f"{rel}/{f}" for f in files
                      if f.lower().endswith(".png")]
        self.units = sorted(units)
        images = self.root / "JPEGImages"
        self.images = {}
        if images.is_dir():
            for f in os.listdir(images):
                self.images.setdefault(os.path.splitext(f)[0], f"JPEGImages/{f}")

    def read(self, unit) -> ImageRecord:
        from maskkit.core.annotations import label_image_annotations
        from maskkit.io.png import read_png

        obj_path, cls_path = self.root / OBJECT_DIR / unit, self.root / CLASS_DIR / unit
        obj = read_png(obj_path)
        if not cls_path.is_file():
            raise MaskkitIOError(f"no class PNG for this object PNG (expected {cls_path})",
                                 source=obj_path)
        cls = read_png(cls_path)
        if obj.ndim != 2 or cls.ndim != 2 or obj.shape != cls.shape:
            raise InvalidAnnotationError(
                f"object and class PNGs must be single-channel label maps of one size; got "
                f"{obj.shape} and {cls.shape}", source=obj_path)
        h, w = obj.shape
        stem = unit[:-4]
        rec = ImageRecord(self.images.get(stem, f"{stem}.jpg"), h, w)
        # the class of each instance: the most frequent class under it (void left out)
        pair = obj.astype(np.int64) * 256 + cls
        keep = (obj > 0) & (obj != VOID) & (cls != VOID)
        counts = np.bincount(pair[keep], minlength=256 * 256).reshape(256, 256)
        class_of = {int(k): int(np.argmax(counts[k])) for k in np.flatnonzero(counts.sum(1))}
        for k, c in class_of.items():
            if c not in self.known:
                raise UnknownCategoryError(f"instance {k} has class {c}, not in the class list",
                                           source=cls_path)
        void = int(np.count_nonzero((obj == VOID) | (cls == VOID)))
        if void:
            rec.dropped.append(f"{void} void pixels (255): no class to give them")
        anns = label_image_annotations(obj, kind="instance", ignore=[VOID],
                                       category_of=lambda v: class_of.get(int(v), -1))
        for a in anns:
            if a["category_id"] < 0:  # an instance whose every pixel is void in the class map
                rec.dropped.append("an instance with no class pixels")
                continue
            rec.instances.append(Instance(a["category_id"], a["segmentation"]))
        return rec


class VocWriter(Writer):
    """Write ``SegmentationClass/`` and ``SegmentationObject/`` palette PNGs,
    ``class_names.txt`` and ``categories.json``."""

    format = "voc"

    def __init__(self, dst, categories, **options):
        # VOC's background is value 0: a category 0 that is the background (labelme's
        # COCO export lists "_background_") is not a class
        categories = [c for c in categories
                      if not (c.id == 0 and c.name.strip("_").lower() == "background")]
        super().__init__(dst, categories)
        self.root = Path(dst)
        bad = [c.id for c in self.categories if not 1 <= c.id <= 254]
        if bad:
            raise InvalidAnnotationError(
                f"VOC class values are 1..254 (0 is background, 255 void); category ids "
                f"{bad[:10]} do not fit: renumber the categories first")
        self.known = {c.id for c in self.categories}
        from maskkit._palette import voc_palette

        self.palette = voc_palette()
        self.cls_dir = StagedFolder(self.root / CLASS_DIR)
        self.obj_dir = StagedFolder(self.root / OBJECT_DIR)

    def start(self, resume: bool = False) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.cls_dir.start(keep=resume)
        self.obj_dir.start(keep=resume)

    def write(self, rec: ImageRecord) -> WriteResult:
        from maskkit.core.rasterize import paint_polygons
        from maskkit.datasets.formats.labelpng import encode_png

        rel = safe_relative(rec.file_name)
        rel = rel[len("JPEGImages/"):] if rel.startswith("JPEGImages/") else rel
        stem = rel.rsplit(".", 1)[0] if "." in rel.rsplit("/", 1)[-1] else rel
        res = WriteResult()
        objects = [i for i, inst in enumerate(rec.instances) if not inst.iscrowd]
        crowd = [i for i, inst in enumerate(rec.instances) if inst.iscrowd]
        if len(objects) > 254:
            raise InvalidAnnotationError(f"{len(objects)} objects; a VOC object PNG holds "
                                         "at most 254", source=rec.file_name)
        lut = np.zeros(256, np.uint8)
        lut[VOID] = VOID
        obj = np.zeros((rec.height, rec.width), np.uint8)
        segs = [rec.instances[i].segmentation for i in objects]
        for n, i in enumerate(objects, start=1):
            cid = rec.instances[i].category_id
            if cid not in self.known:
                raise UnknownCategoryError(f"object {i} has category {cid}, not in the "
                                           "category list", source=rec.file_name)
            lut[n] = cid
        if segs:
            paint_polygons(obj, segs, list(range(1, len(segs) + 1)), threads=1)
        if crowd:
            mask = np.zeros_like(obj)
            paint_polygons(mask, [rec.instances[i].segmentation for i in crowd], 1, threads=1)
            obj[(mask > 0) & (obj == 0)] = VOID
        if segs:  # objects painted over by later ones: their IoU is what is left of them
            full = areas_bboxes(segs, rec.height, rec.width)
            left = np.bincount(obj.ravel(), minlength=256)
            for n, i in enumerate(objects, start=1):
                area = full[n - 1][0]
                if area == 0:
                    res.dropped.append(f"object {i}: empty")
                elif left[n] < area:
                    res.losses.append({"object": i, "category_id": lut[n].item(),
                                       "iou": int(left[n]) / area, "how": "overlapped"})
        res.objects = len(objects)
        for folder, data in ((self.obj_dir, obj), (self.cls_dir, lut[obj])):
            path, sha = folder.write(f"{stem}.png", encode_png(data, palette=self.palette))
            res.files[path] = sha
        return res

    def finish(self, payloads: list) -> None:
        from maskkit.io import fs

        self.cls_dir.commit()
        self.obj_dir.commit()
        top = max((c.id for c in self.categories), default=0)
        names = {c.id: c.name for c in self.categories}
        lines = ["_background_"] + [names.get(i, f"{UNUSED}{i}") for i in range(1, top + 1)]
        fs.write_bytes(self.root / "class_names.txt", ("\n".join(lines) + "\n").encode())
        fs.write_bytes(self.root / SIDECAR, (json.dumps(
            [c.as_coco() for c in self.categories], indent=1) + "\n").encode())
