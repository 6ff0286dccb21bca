"""COCO instances JSON: one file holding images, annotations (polygons, RLE, crowd) and
categories."""

from __future__ import annotations

from maskkit.datasets.formats.base import Reader, Writer, WriteResult
from maskkit.datasets.formats.geometry import areas_bboxes, as_rle, polygon_parts
from maskkit.datasets.formats.model import Category, ImageRecord, Instance
from maskkit.errors import InvalidAnnotationError, MaskkitError

__all__ = ["CocoReader", "CocoWriter", "detect"]


def detect(path) -> bool:
    """A ``.json`` file (not a folder) whose head mentions ``"images"``."""
    from maskkit.io import fs

    if fs.isdir(path) or fs.suffix(path).lower() != ".json":
        return False
    with fs.open_read(path) as fh:
        head = fh.read(1 << 16)
    return b'"images"' in head and b'"shapes"' not in head


class CocoReader(Reader):
    """Read a COCO instances file (``src``: the JSON path, a dict or a CocoIndex)."""

    format = "coco"

    def __init__(self, src, *, strict: bool = True, **options):
        from maskkit.io.coco import CocoIndex, load_coco

        super().__init__(src)
        self.index = src if isinstance(src, CocoIndex) else load_coco(src, strict=strict)
        self.problems = list(self.index.problems)
        self.categories = []
        for cid, cat in self.index.categories.items():
            if not isinstance(cid, int) or isinstance(cid, bool):
                raise InvalidAnnotationError(
                    f"category id {cid!r} is not a whole number; formats other than COCO "
                    "need integer ids", source=self.index.source)
            self.categories.append(Category(cid, str(cat.get("name", cid)),
                                            str(cat.get("supercategory") or "")))
        self.categories.sort(key=lambda c: c.id)
        bad = self.index.bad_images
        self.units = [i for i in self.index.images if i not in bad]
        self.bad_units = dict(bad)

    def read(self, image_id) -> ImageRecord:
        info = self.index.images[image_id]
        source = self.index.source
        rec = ImageRecord(info.file_name or f"{image_id}", info.height, info.width,
                          id=image_id)
        for i, ann in enumerate(self.index.annotations[image_id]):
            name = f"annotation {ann.get('id', '#' + str(i))}"
            try:
                seg = ann["segmentation"]
                if isinstance(seg, list) and seg and not isinstance(seg[0], list):
                    seg = [seg] if len(seg) != 4 else _bbox_polygon(seg)
                extra = {k: ann[k] for k in ("score", "attributes") if k in ann}
                rec.instances.append(Instance(ann["category_id"], seg,
                                              bool(ann.get("iscrowd", 0)), extra))
            except MaskkitError as exc:
                raise exc.with_context(source=source, obj=name) from None
        return rec


def _bbox_polygon(b):
    x, y, w, h = (float(v) for v in b)
    return [[x, y, x, y + h, x + w, y + h, x + w, y]]


class CocoWriter(Writer):
    """Write a COCO instances file (``dst``: the JSON path).

    Polygons are written as they are, RLEs compressed; ``area`` and ``bbox`` are the
    object's pixels under COCO's rasteriser (``pycocotools.mask.area/toBbox``).
    """

    format = "coco"
    single_file = True

    def write(self, rec: ImageRecord) -> WriteResult:
        anns = []
        stats = areas_bboxes([inst.segmentation for inst in rec.instances], rec.height,
                             rec.width)
        for inst, (area, bbox) in zip(rec.instances, stats):
            parts = polygon_parts(inst.segmentation)
            seg = parts if parts is not None else as_rle(inst.segmentation, rec.height,
                                                         rec.width)
            ann = {"category_id": inst.category_id, "segmentation": seg, "area": area,
                   "bbox": bbox, "iscrowd": int(inst.iscrowd)}
            ann.update(inst.extra)
            anns.append(ann)
        image = {"file_name": rec.file_name, "height": rec.height, "width": rec.width}
        return WriteResult(payload=(rec.id, image, anns), objects=len(anns))

    def finish(self, payloads: list) -> None:
        import json

        from maskkit.io import fs

        ids = [p[0] for p in payloads]
        keep = all(isinstance(i, int) and not isinstance(i, bool) for i in ids) and \
            len(set(ids)) == len(ids)
        images, annotations = [], []
        for n, (image_id, image, anns) in enumerate(payloads, start=1):
            iid = image_id if keep else n
            images.append({"id": iid, **image})
            for ann in anns:
                annotations.append({"id": len(annotations) + 1, "image_id": iid, **ann})
        doc = {"images": images, "annotations": annotations,
               "categories": [c.as_coco() for c in self.categories]}
        # json.dumps takes the C encoder; json.dump to a file would not
        fs.write_bytes(self.dst, json.dumps(doc).encode())
