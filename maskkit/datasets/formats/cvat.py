"""CVAT for images 1.1 XML: one ``annotations.xml`` with an ``<image>`` element per image.

Reading: ``<polygon points="x1,y1;x2,y2;...">`` is the COCO polygon; ``<box xtl ytl xbr
ybr [rotation]>`` becomes its four corners (rotated about its centre when ``rotation`` is
set); ``<mask rle left top width height>`` is taken pixel for pixel (CVAT's mask RLE:
run lengths over the box, row by row, starting with a background run).  Shapes of one
label sharing a non-zero ``group_id`` are one object.  ``<attribute name="is_crowd">``
true marks a crowd region.  Polylines, points, ellipses, cuboids, skeletons and tags have
no area, or no COCO equivalent, and are reported as dropped.  Category ids: CVAT labels
have names only; maskkit writes ``<stem>.categories.json`` beside the XML and reads it
back, else labels are numbered from 1 in the order ``<meta>`` lists them.

Writing: each polygon part a ``<polygon>`` (parts of one object share a ``group_id``),
each RLE object a ``<mask>``; coordinates with every digit (CVAT's own export rounds
them to 2 decimals).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from maskkit.datasets.formats.base import Reader, Writer, WriteResult
from maskkit.datasets.formats.geometry import as_rle, crop_of, merge_parts, polygon_parts
from maskkit.datasets.formats.model import Category, ImageRecord, Instance
from maskkit.errors import InvalidAnnotationError, MaskkitIOError, UnknownCategoryError

__all__ = ["CvatReader", "CvatWriter", "detect"]

AREA_SHAPES = ("polygon", "box", "mask")
OTHER_SHAPES = ("polyline", "points", "ellipse", "cuboid", "skeleton", "tag", "track")
CROWD = ("is_crowd", "iscrowd")


def detect(path) -> bool:
    """An ``.xml`` file whose head has ``<annotations>``."""
    p = Path(path)
    if not p.is_file() or p.suffix.lower() != ".xml":
        return False
    with open(p, "rb") as fh:
        return b"<annotations" in fh.read(4096)


def _sidecar(xml_path: Path) -> Path:
    return xml_path.with_name(f"{xml_path.stem}.categories.json")


def _parse(path: Path):
    try:
        from defusedxml import ElementTree
    except ImportError:  # the standard parser: fine for files you trust
        from xml.etree import ElementTree
    try:
        return ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as exc:
        raise MaskkitIOError(f"cannot read CVAT XML: {exc}", source=path) from None


class CvatReader(Reader):
    """Read a CVAT for images 1.1 XML file."""

    format = "cvat"

    def __init__(self, src, **options):
        super().__init__(src)
        self.path = Path(src)
        root = _parse(self.path)
        if root.tag != "annotations":
            raise MaskkitIOError(f"not CVAT XML: the root is <{root.tag}>, expected "
                                 "<annotations>", source=src)
        names = []
        for label in root.iter("label"):
            name = label.findtext("name")
            if name is not None and name not in names:
                names.append(name)
        side = _sidecar(self.path)
        if side.is_file():
            from maskkit.datasets.formats.labelme import load_categories

            self.categories = load_categories(side)
        else:
            self.categories = [Category(i, n) for i, n in enumerate(names, start=1)]
        self.by_name = {c.name: c.id for c in self.categories}
        units = []
        for image in root.iter("image"):
            shapes = []
            for el in image:
                attrs = {a.get("name"): (a.text or "") for a in el.findall("attribute")}
                shapes.append((el.tag, dict(el.attrib), attrs))
            units.append((dict(image.attrib), shapes))
        self.units = units

    def key(self, unit) -> str:
        return str(unit[0].get("name"))

    def read(self, unit) -> ImageRecord:
        info, shapes = unit
        where_image = f"image {info.get('id', info.get('name'))!r}"
        try:
            h, w = int(info["height"]), int(info["width"])
            name = info["name"]
        except (KeyError, ValueError):
            raise InvalidAnnotationError("needs name, width and height", source=self.path,
                                         obj=where_image) from None
        rec = ImageRecord(name, h, w)
        groups: dict = {}
        for i, (tag, attrib, attrs) in enumerate(shapes):
            where = f"{where_image}, {tag} {i}"
            label = attrib.get("label")
            if tag not in AREA_SHAPES:
                if tag in OTHER_SHAPES:
                    rec.dropped.append(f"{tag} {i} ({label}): no area")
                continue
            if label not in self.by_name:
                raise UnknownCategoryError(f"label {label!r} is not in <meta>'s labels",
                                           source=self.path, obj=where)
            geom = self._geometry(tag, attrib, h, w, where)
            gid = attrib.get("group_id", "0")
            key = (label, ("shape", i) if gid in ("", "0") else gid)
            g = groups.setdefault(key, {"parts": [], "crowd": False})
            g["parts"].append(geom)
            g["crowd"] |= any(attrs.get(k, "").lower() in ("true", "1") for k in CROWD)
        for (label, _), g in groups.items():
            seg = merge_parts(g["parts"], h, w)
            rec.instances.append(Instance(self.by_name[label], seg, g["crowd"]))
        return rec

    def _geometry(self, tag, a, h, w, where):
        try:
            if tag == "polygon":
                pts = [float(v) for pair in a["points"].split(";") for v in pair.split(",")]
                if len(pts) < 6 or len(pts) % 2:
                    raise ValueError
                if not all(math.isfinite(v) for v in pts):
                    raise ValueError
                return pts
            if tag == "box":
                x0, y0, x1, y1 = (float(a[k]) for k in ("xtl", "ytl", "xbr", "ybr"))
                corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
                angle = math.radians(float(a.get("rotation", 0) or 0))
                if angle:
                    c = corners.mean(0)
                    rot = np.array([[math.cos(angle), -math.sin(angle)],
                                    [math.sin(angle), math.cos(angle)]])
                    corners = (corners - c) @ rot.T + c
                if not np.isfinite(corners).all():
                    raise ValueError
                return corners.ravel().tolist()
            runs = [int(v) for v in a["rle"].split(",")]
            left, top = int(a["left"]), int(a["top"])
            bw, bh = int(a["width"]), int(a["height"])
        except (KeyError, ValueError):
            raise InvalidAnnotationError(f"malformed <{tag}> attributes", source=self.path,
                                         obj=where) from None
        if min(runs, default=0) < 0 or sum(runs) != bw * bh or bw < 1 or bh < 1:
            raise InvalidAnnotationError(
                f"mask RLE covers {sum(runs)} pixels; its box is {bw}×{bh}",
                source=self.path, obj=where)
        if left < 0 or top < 0 or left + bw > w or top + bh > h:
            raise InvalidAnnotationError("mask box reaches outside the image",
                                         source=self.path, obj=where)
        from maskkit.core.rle import rle_encode

        crop = np.repeat(np.arange(len(runs)) % 2, runs).astype(np.uint8).reshape(bh, bw)
        full = np.zeros((h, w), np.uint8)
        full[top:top + bh, left:left + bw] = crop
        return rle_encode(full)


def _pts(flat) -> str:
    return ";".join(f"{x!r},{y!r}" for x, y in zip(flat[0::2], flat[1::2]))


class CvatWriter(Writer):
    """Write one CVAT for images 1.1 XML file (``dst``) and ``<stem>.categories.json``."""

    format = "cvat"
    single_file = True

    def __init__(self, dst, categories, **options):
        super().__init__(dst, categories)
        self.names = {c.id: c.name for c in self.categories}

    def write(self, rec: ImageRecord) -> WriteResult:
        out = []
        for i, inst in enumerate(rec.instances):
            label = self.names.get(inst.category_id)
            if label is None:
                raise UnknownCategoryError(f"object {i} has category {inst.category_id}, "
                                           "not in the category list", source=rec.file_name)
            common = f'label={quoteattr(label)} source="manual" occluded="0" z_order="0"'
            crowd = ('\n      <attribute name="is_crowd">true</attribute>\n    '
                     if inst.iscrowd else "")
            parts = polygon_parts(inst.segmentation)
            if parts is not None:
                group = f' group_id="{i + 1}"' if len(parts) > 1 else ""
                for p in parts:
                    out.append(f"    <polygon {common}{group} points="
                               f"{quoteattr(_pts([float(v) for v in p]))}>{crowd}</polygon>")
                continue
            crop, x0, y0 = crop_of(as_rle(inst.segmentation, rec.height, rec.width))
            if crop.size == 0:
                continue
            flat = crop.ravel()
            change = np.flatnonzero(np.diff(flat)) + 1
            bounds = np.concatenate([[0], change, [flat.size]])
            runs = np.diff(bounds).tolist()
            if flat[0]:
                runs = [0, *runs]
            out.append(f'    <mask {common} rle="{", ".join(map(str, runs))}" left="{x0}" '
                       f'top="{y0}" width="{crop.shape[1]}" height="{crop.shape[0]}">'
                       f"{crowd}</mask>")
        head = (f"  <image id=\"{{id}}\" name={quoteattr(rec.file_name)} "
                f'width="{rec.width}" height="{rec.height}">')
        return WriteResult(payload=(head, out), objects=len(rec.instances))

    def finish(self, payloads: list) -> None:
        from maskkit.io import fs

        labels = "".join(f"        <label>\n          <name>{_esc(c.name)}</name>\n"
                         "          <type>any</type>\n          <attributes>\n"
                         "            <attribute><name>is_crowd</name><mutable>False</mutable>"
                         "<input_type>checkbox</input_type><default_value>false"
                         "</default_value><values>false\ntrue</values></attribute>\n"
                         "          </attributes>\n        </label>\n"
                         for c in self.categories)
        body = []
        for n, (head, shapes) in enumerate(payloads):
            body.append(head.replace("{id}", str(n)))
            body.extend(shapes)
            body.append("  </image>")
        text = ('<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n'
                "  <version>1.1</version>\n  <meta>\n    <task>\n      <name>maskkit convert"
                f"</name>\n      <size>{len(payloads)}</size>\n      <mode>annotation</mode>\n"
                f"      <labels>\n{labels}      </labels>\n    </task>\n  </meta>\n"
                + "\n".join(body) + "\n</annotations>\n")
        dst = Path(self.dst)
        fs.write_bytes(dst, text.encode("utf-8"))
        fs.write_bytes(_sidecar(dst), (json.dumps(
            [c.as_coco() for c in self.categories], indent=1) + "\n").encode())


def _esc(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text)
