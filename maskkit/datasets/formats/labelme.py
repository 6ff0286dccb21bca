"""labelme JSON: one file per image, a list of shapes.

Reading: shapes with the same ``(label, group_id)`` are one object (a shape without
``group_id`` is an object of its own), as labelme's ``labelme2coco`` joins them.
``polygon`` points are the COCO polygon; ``rectangle`` becomes its four corners;
``circle`` becomes the polygon ``labelme2coco`` writes (``max(12, floor(pi /
arccos(1 - 1/r)))`` vertices on the circle); a ``mask`` shape (a PNG of the box
``points[0]..points[1]``, inclusive) is taken pixel for pixel.  Every polygon is then
rasterised by COCO's rule.  ``__ignore__`` regions and ``line``, ``linestrip``,
``point`` shapes have no area and are reported as dropped.  A shape flagged
``{"iscrowd": true}`` makes its object a crowd region.

Category ids: from ``categories=`` (a labelme ``labels.txt``: line ``i`` is id ``i - 1``,
so ``__ignore__`` is -1 and ``_background_`` 0, as ``labelme2coco``; or a JSON list of
COCO categories), else from maskkit's ``categories.json`` in the source folder, else the
labels found, sorted by name, numbered from 1.

Writing: one JSON per image (``<file_name without suffix>.json``, ``imagePath`` the image's
name, no ``imageData``); each polygon part is a ``polygon`` shape, parts of one object
share a ``group_id``; an RLE object is a ``mask`` shape; crowd regions are flagged.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
from pathlib import Path

import numpy as np

from maskkit.datasets.formats.base import Reader, Writer, WriteResult, safe_relative
from maskkit.datasets.formats.geometry import as_rle, crop_of, merge_parts, polygon_parts
from maskkit.datasets.formats.model import Category, ImageRecord, Instance
from maskkit.errors import InvalidAnnotationError, MaskkitIOError, UnknownCategoryError

__all__ = ["LabelmeReader", "LabelmeWriter", "detect", "load_categories"]

SIDECAR = "categories.json"
IGNORE = "__ignore__"
AREA_SHAPES = ("polygon", "rectangle", "circle", "mask")


def _json_files(root: Path) -> list[str]:
    out = []
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # not staging
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        for f in files:
            if f.endswith(".json") and f != SIDECAR:
                out.append(f if rel_dir == "." else f"{rel_dir}/{f}")
    return sorted(out)


def detect(path) -> bool:
    """A labelme JSON file, or a folder whose first JSON file is one."""
    p = Path(path)
    files = [p] if p.is_file() else ([p / f for f in _json_files(p)[:1]] if p.is_dir() else [])
    for f in files:
        with open(f, "rb") as fh:
            head = fh.read(1 << 16)
        if b'"shapes"' in head and b'"imagePath"' in head:
            return True
    return False


def load_categories(spec) -> list[Category]:
    """Categories from a labelme ``labels.txt``, a JSON list of COCO categories, or a list
    of names (numbered from 1).

    Examples
    --------
    >>> [(c.id, c.name) for c in load_categories(["cat", "dog"])]
    [(1, 'cat'), (2, 'dog')]
    """
    if isinstance(spec, (list, tuple)):
        if all(isinstance(c, Category) for c in spec):
            return list(spec)
        if all(isinstance(c, dict) for c in spec):
            return [Category(int(c["id"]), str(c["name"]), str(c.get("supercategory") or ""))
                    for c in spec]
        return [Category(i, str(n)) for i, n in enumerate(spec, start=1)]
    path = Path(spec)
    if path.suffix.lower() == ".json":
        from maskkit.io.files import read_json

        doc = read_json(path)
        if isinstance(doc, dict):
            doc = doc.get("categories")
        try:
            return load_categories(list(doc))
        except (TypeError, KeyError, ValueError):
            raise MaskkitIOError('expected a list of {"id": int, "name": str} categories',
                                 source=path) from None
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise MaskkitIOError(f"cannot read the labels file: {exc}", source=path) from None
    lines = [ln for ln in lines if ln]
    return [Category(i - 1, n) for i, n in enumerate(lines) if i - 1 >= 0 and n != IGNORE]


def circle_polygon(cx: float, cy: float, px: float, py: float) -> list[float]:
    """The polygon ``labelme2coco`` writes for a circle (centre, point on the circle).

    Examples
    --------
    >>> len(circle_polygon(10, 10, 13, 14)) // 2
    12
    """
    r = math.hypot(px - cx, py - cy)
    n = 12
    if r > 1:
        n = max(int(math.pi / math.acos(1 - 1 / r)), 12)
    t = 2 * np.pi / n * np.arange(n)
    return np.stack([cx + r * np.sin(t), cy + r * np.cos(t)], axis=1).ravel().tolist()


def _decode_mask(data: str, where, source) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        raw = base64.b64decode(data, validate=False)
        with Image.open(io.BytesIO(raw)) as im:
            arr = np.asarray(im)
    except (ValueError, OSError, UnidentifiedImageError) as exc:
        raise InvalidAnnotationError(f"mask is not a base64 PNG ({exc})", source=source,
                                     obj=where) from None
    if arr.ndim == 3:
        arr = arr[..., 0]
    return arr != 0


class LabelmeReader(Reader):
    """Read a folder of labelme JSON files (or one file)."""

    format = "labelme"

    def __init__(self, src, *, categories=None, **options):
        super().__init__(src)
        root = Path(src)
        if root.is_file():
            self.root, self.units = root.parent, [root.name]
        elif root.is_dir():
            self.root, self.units = root, _json_files(root)
        else:
            raise MaskkitIOError("no such file or folder", source=src)
        if categories is not None:
            cats = load_categories(categories)
        elif (self.root / SIDECAR).is_file():
            cats = load_categories(self.root / SIDECAR)
        else:
            cats = self._scan()
        self.categories = cats
        self.by_name = {c.name: c.id for c in cats}

    def _scan(self) -> list[Category]:
        names = set()
        for unit in self.units:
            doc = self._load(unit)
            for s in doc.get("shapes") or []:
                if isinstance(s, dict) and s.get("label") not in (None, IGNORE):
                    names.add(str(s["label"]))
        return [Category(i, n) for i, n in enumerate(sorted(names), start=1)]

    def _load(self, unit) -> dict:
        from maskkit.io.files import read_json

        doc = read_json(self.root / unit)
        if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list):
            raise MaskkitIOError("not a labelme file: no 'shapes' list",
                                 source=self.root / unit)
        return doc

    def read(self, unit) -> ImageRecord:
        source = self.root / unit
        doc = self._load(unit)
        h, w = doc.get("imageHeight"), doc.get("imageWidth")
        if not isinstance(h, int) or not isinstance(w, int):
            raise InvalidAnnotationError("imageHeight/imageWidth missing or not whole numbers",
                                         source=source)
        rel_dir = unit.rsplit("/", 1)[0] if "/" in unit else ""
        image = str(doc.get("imagePath") or (unit[:-5] + ".jpg")).replace("\\", "/")
        file_name = os.path.normpath(f"{rel_dir}/{image}" if rel_dir else image)
        rec = ImageRecord(file_name.replace(os.sep, "/"), h, w)
        groups: dict = {}
        for i, s in enumerate(doc["shapes"]):
            where = f"shape {i}"
            if not isinstance(s, dict):
                raise InvalidAnnotationError("is not a JSON object", source=source, obj=where)
            label = str(s.get("label"))
            kind = s.get("shape_type") or "polygon"
            if label == IGNORE:
                rec.dropped.append(f"{where}: {IGNORE} region")
                continue
            if kind not in AREA_SHAPES:
                rec.dropped.append(f"{where} ({label}): a {kind} shape has no area")
                continue
            if label not in self.by_name:
                raise UnknownCategoryError(
                    f"label {label!r} is not in the category list; add it (categories=...)",
                    source=source, obj=where)
            gid = s.get("group_id")
            key = (label, ("shape", i) if gid is None else gid)
            geom = self._geometry(s, kind, h, w, where, source)
            if geom is None:
                rec.dropped.append(f"{where} ({label}): degenerate {kind}")
                continue
            g = groups.setdefault(key, {"parts": [], "crowd": False})
            g["parts"].append(geom)
            g["crowd"] |= bool((s.get("flags") or {}).get("iscrowd"))
        for (label, _), g in groups.items():
            seg = merge_parts(g["parts"], h, w)
            rec.instances.append(Instance(self.by_name[label], seg, g["crowd"]))
        return rec

    @staticmethod
    def _geometry(s, kind, h, w, where, source):
        pts = s.get("points")
        try:
            xy = np.asarray(pts, np.float64).reshape(-1, 2)
        except (TypeError, ValueError):
            raise InvalidAnnotationError("points must be a list of [x, y]", source=source,
                                         obj=where) from None
        if not np.isfinite(xy).all():
            raise InvalidAnnotationError("points must be finite", source=source, obj=where)
        if kind == "polygon":
            return xy.ravel().tolist() if len(xy) >= 3 else None
        if len(xy) != 2:
            raise InvalidAnnotationError(f"a {kind} needs 2 points; got {len(xy)}",
                                         source=source, obj=where)
        (x1, y1), (x2, y2) = xy.tolist()
        if kind == "rectangle":
            x1, x2 = sorted((x1, x2))
            y1, y2 = sorted((y1, y2))
            return [x1, y1, x2, y1, x2, y2, x1, y2]
        if kind == "circle":
            return circle_polygon(x1, y1, x2, y2)
        # mask: a PNG of the inclusive box points[0]..points[1]
        from maskkit.core.rle import rle_encode

        crop = _decode_mask(s.get("mask") or "", where, source)
        c0, r0 = int(x1), int(y1)
        full = np.zeros((h, w), np.uint8)
        ch, cw = crop.shape
        r1, c1 = min(h, r0 + ch), min(w, c0 + cw)
        if r0 < 0 or c0 < 0:
            raise InvalidAnnotationError("mask box starts outside the image", source=source,
                                         obj=where)
        if r1 > r0 and c1 > c0:
            full[r0:r1, c0:c1] = crop[:r1 - r0, :c1 - c0]
        return rle_encode(full)


def _encode_mask(crop: np.ndarray) -> str:
    from maskkit.io.png import encode_label_png

    return base64.b64encode(encode_label_png(crop.astype(np.uint8))).decode()


class LabelmeWriter(Writer):
    """Write one labelme JSON per image (and ``categories.json`` with the ids)."""

    format = "labelme"
    version = "5.2.1"

    def __init__(self, dst, categories, **options):
        super().__init__(dst, categories)
        self.root = Path(dst)
        self.names = {c.id: c.name for c in self.categories}

    def start(self, resume: bool = False) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def write(self, rec: ImageRecord) -> WriteResult:
        from maskkit.io import fs

        rel = safe_relative(rec.file_name)
        shapes = []
        for i, inst in enumerate(rec.instances):
            label = self.names.get(inst.category_id)
            if label is None:
                raise UnknownCategoryError(f"object {i} has category {inst.category_id}, "
                                           "not in the category list", source=rec.file_name)
            flags = {"iscrowd": True} if inst.iscrowd else {}
            parts = polygon_parts(inst.segmentation)
            if parts is not None:
                gid = i if len(parts) > 1 else None
                for p in parts:
                    shapes.append({"label": label, "points": np.asarray(p, float).reshape(
                        -1, 2).tolist(), "group_id": gid, "description": "",
                        "shape_type": "polygon", "flags": dict(flags), "mask": None})
                continue
            rle = as_rle(inst.segmentation, rec.height, rec.width)
            crop, x0, y0 = crop_of(rle)
            if crop.size == 0:
                continue
            shapes.append({"label": label, "points": [[x0, y0], [x0 + crop.shape[1] - 1,
                                                                 y0 + crop.shape[0] - 1]],
                           "group_id": None, "description": "", "shape_type": "mask",
                           "flags": flags, "mask": _encode_mask(crop)})
        stem = rel.rsplit(".", 1)[0] if "." in rel.rsplit("/", 1)[-1] else rel
        doc = {"version": self.version, "flags": {}, "shapes": shapes,
               "imagePath": rel.rsplit("/", 1)[-1], "imageData": None,
               "imageHeight": rec.height, "imageWidth": rec.width}
        import hashlib

        data = (json.dumps(doc, indent=2) + "\n").encode()
        path = self.root / f"{stem}.json"
        fs.write_bytes(path, data)
        return WriteResult(objects=len(rec.instances),
                           files={str(path): hashlib.sha256(data).hexdigest()})

    def finish(self, payloads: list) -> None:
        from maskkit.io import fs

        fs.write_bytes(self.root / SIDECAR, (json.dumps(
            [c.as_coco() for c in self.categories], indent=1) + "\n").encode())
