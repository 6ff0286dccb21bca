"""COCO instances JSON: one file holding images, annotations (polygons, RLE, crowd) and
categories."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from maskkit.datasets.formats.base import Reader, Writer, WriteResult
from maskkit.datasets.formats.geometry import (
    area_bbox,
    as_rle,
    gather_parts,
    polygon_stats,
    polygons_json,
    polygons_text,
    stats_arrays,
)
from maskkit.datasets.formats.model import (
    Category,
    ImageRecord,
    Instance,
    PolygonChunk,
    size_ok,
)
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

    def __init__(self, src, *, strict: bool = True, columns: bool = False, **options):
        from maskkit.io.coco import CocoIndex, load_coco

        super().__init__(src)
        self._rings = self._cols = None
        if isinstance(src, CocoIndex):
            self.index = src
        elif columns and isinstance(src, (str, os.PathLike)):
            self.index, self._rings, self._cols = _load_with_rings(src, strict)
        else:
            self.index = load_coco(src, strict=strict)
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
        if self._cols is None:
            self.read_columns = None  # no columnar way: every image is a record

    def read(self, image_id) -> ImageRecord:
        info = self.index.images[image_id]
        source = self.index.source
        rec = ImageRecord(info.file_name or f"{image_id}", info.height, info.width,
                          id=image_id)
        add = rec.instances.append
        of_valid = Instance.of_valid
        anns = self.index.annotations[image_id] if self._cols is None else \
            self._cols.of_image(self._cols.position[image_id])
        for i, ann in enumerate(anns):
            try:
                seg = ann["segmentation"]
                if type(seg) is int and self._rings is not None:  # parsed into arrays
                    seg = self._parts(seg)
                if isinstance(seg, list) and seg and not isinstance(seg[0], list):
                    seg = [seg] if len(seg) != 4 else _bbox_polygon(seg)
                extra = {k: ann[k] for k in _EXTRA if k in ann} \
                    if "score" in ann or "attributes" in ann else {}
                cid, crowd = ann["category_id"], bool(ann.get("iscrowd", 0))
                if type(seg) is list and (
                        (len(seg) == 1 and type(p := seg[0]) is list and len(p) >= 6
                         and not len(p) & 1)
                        or (len(seg) > 1 and all(type(p) is list and len(p) >= 6
                                                 and not len(p) & 1 for p in seg))):
                    # polygon parts of a valid shape (the common case), checked here at
                    # a third of Instance's cost; the numbers are checked by the writers
                    inst = of_valid(cid, seg, crowd, extra)
                    inst.floats = False
                    add(inst)
                else:
                    add(Instance(cid, seg, crowd, extra))
            except MaskkitError as exc:
                name = f"annotation {ann.get('id', '#' + str(i))}"
                raise exc.with_context(source=source, obj=name) from None
        return rec

    def _parts(self, k: int) -> list:
        """The polygon parts of the ``k``-th parsed segmentation, as lists."""
        value_rings, ring_ends, xy = self._rings
        return [xy[ring_ends[r]:ring_ends[r + 1]].tolist()
                for r in range(value_rings[k], value_rings[k + 1])]

    def read_columns(self, units):
        """The images among ``units`` whose annotations are all polygons the kernel parsed
        (int category ids, no ``score``/``attributes``), every part of a valid shape, in
        a :class:`~maskkit.datasets.formats.model.PolygonChunk`; the positions of the
        others (read as records)."""
        cols = self._cols
        images = self.index.images
        where = np.fromiter(map(cols.position.__getitem__, units), np.int64, len(units))
        first, last = cols.starts[where], cols.starts[where + 1]
        # an image is taken when all its annotations are plain and its size is valid
        plain = cols.plain_before[last] - cols.plain_before[first] == last - first
        take = np.array([ok and size_ok(images[image_id].height, images[image_id].width)
                         for ok, image_id in zip(plain.tolist(), units)], bool)
        rest = np.flatnonzero(~take).tolist()
        for attempt in range(2):
            pick = np.flatnonzero(take)
            counts = (last - first)[pick]
            image_objs = np.zeros(pick.size + 1, np.int64)
            np.cumsum(counts, out=image_objs[1:])
            anns = cols.order[np.repeat(first[pick] - image_objs[:-1], counts)
                              + np.arange(image_objs[-1])]
            obj_rings, ring_offsets, xy, good = gather_parts(*self._rings, cols.key[anns])
            if good.all() or attempt:
                break
            # an image with a bad part: read as a record, named there
            bad = pick[np.repeat(np.arange(pick.size), counts)[~good]]
            take[bad] = False
            rest = np.flatnonzero(~take).tolist()
        picked = pick.tolist()
        return PolygonChunk(
            picked, [images[units[p]].file_name or f"{units[p]}" for p in picked],
            np.fromiter((images[units[p]].height for p in picked), np.int64, len(picked)),
            np.fromiter((images[units[p]].width for p in picked), np.int64, len(picked)),
            [units[p] for p in picked], image_objs, cols.category[anns], cols.crowd[anns],
            obj_rings, ring_offsets, xy), rest


@dataclass
class _Columns:
    """A COCO file's annotations as arrays, grouped by image: image ``j`` (in the order of
    ``index.images``; ``position[image id] = j``) has the annotations
    ``order[starts[j]:starts[j + 1]]`` (their numbers in the file), in file order.
    Annotation ``i``: ``key[i]`` its parsed segmentation's number (-1 if not parsed),
    ``category[i]``, ``crowd[i]``; ``plain_before[n]`` counts the plain ones (parsed, no
    ``score``/``attributes``) among ``order[:n]``."""

    position: dict
    starts: np.ndarray
    order: np.ndarray
    key: np.ndarray
    category: np.ndarray
    crowd: np.ndarray
    plain_before: np.ndarray
    anns: list

    def of_image(self, j: int) -> list:
        """The annotation dicts of image ``j``, in file order."""
        return [self.anns[i] for i in self.order[self.starts[j]:self.starts[j + 1]].tolist()]


def _load_with_rings(path, strict: bool):
    """:func:`~maskkit.io.coco.load_coco` of a file whose polygons the JSON kernel parsed
    into arrays (:func:`~maskkit.io.files.read_json_rings`): ``(index, rings, columns)``,
    each parsed annotation's ``segmentation`` the int of its value. ``rings`` is None
    when none was parsed, or when the ints found are not ``0, 1, 2 ...`` in file order
    (an int written in the file, a ``segmentation`` key elsewhere: then read by json
    alone). ``columns`` (:class:`_Columns`) when every annotation is a well-formed one of
    a known image and category (int ids): the index then holds no annotation lists (they
    are in the columns); else None, and the index is :func:`load_coco`'s, which names
    what is wrong."""
    from maskkit.io.coco import load_coco
    from maskkit.io.files import read_json, read_json_rings

    doc, rings = read_json_rings(path, "segmentation")
    if rings is None:
        return load_coco(doc, strict=strict, source=str(path)), None, None
    anns = doc.get("annotations") if isinstance(doc, dict) else None
    if not isinstance(anns, list) or not all(type(a) is dict for a in anns):
        return load_coco(read_json(path), strict=strict, source=str(path)), None, None
    segs = [a.get("segmentation") for a in anns]
    if [s for s in segs if type(s) is int] != list(range(rings[0].size - 1)):
        return load_coco(read_json(path), strict=strict, source=str(path)), None, None
    index = load_coco({**doc, "annotations": []}, strict=strict, source=str(path))
    cols = _columns(doc, anns, segs, index)
    if cols is None:
        return load_coco(doc, strict=strict, source=str(path)), rings, None
    return index, rings, cols


def _columns(doc, anns, segs, index):
    """:class:`_Columns` of ``anns``, or None when one is not a well-formed annotation of
    a known image and category with int ids (load_coco then reads them)."""
    try:
        image_ids = [a["image_id"] for a in anns]
        cats = [a["category_id"] for a in anns]
    except KeyError:
        return None
    if any("segmentation" not in a for a in anns):
        return None
    position = {image_id: j for j, image_id in enumerate(index.images)}
    try:
        where = np.fromiter(map(position.__getitem__, image_ids), np.int64, len(anns))
    except (KeyError, TypeError):  # an unknown image (or a list as id)
        return None
    if not all(type(i) is int for i in image_ids) or not all(type(c) is int for c in cats):
        return None
    if "categories" in doc and not set(cats) <= index.categories.keys():
        return None
    key = np.fromiter((s if type(s) is int else -1 for s in segs), np.int64, len(anns))
    plain = key >= 0
    extras = [i for i, a in enumerate(anns) if "score" in a or "attributes" in a]
    plain[extras] = False
    order = np.argsort(where, kind="stable")
    starts = np.zeros(len(position) + 1, np.int64)
    np.cumsum(np.bincount(where, minlength=len(position)), out=starts[1:])
    plain_before = np.zeros(len(anns) + 1, np.int64)
    np.cumsum(plain[order], out=plain_before[1:])
    crowd = np.fromiter((bool(a.get("iscrowd", 0)) for a in anns), bool, len(anns))
    return _Columns(position, starts, order, key, np.asarray(cats, np.int64), crowd,
                    plain_before, anns)


_EXTRA = ("score", "attributes")  # kept from the source annotation, in this order


def _annotation_text(cid: int, seg_text: str, area: int, b: list, crowd) -> str:
    """What ``json.dumps`` gives for the annotation dict without its opening ``{`` (the
    parent puts the ids before it), made directly from its parts' texts."""
    return (f'"category_id": {cid}, "segmentation": {seg_text}, "area": {area}, '
            f'"bbox": [{b[0]}, {b[1]}, {b[2]}, {b[3]}], "iscrowd": {int(crowd)}}}')


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
        return self.write_many([rec])[0]

    def write_many(self, recs: list) -> list:
        """The annotations of many images, measured in one kernel call (polygon objects)
        and encoded as JSON text here, in the worker: the payload of an image is ``(id,
        image, texts)``, each text an annotation's JSON without its opening ``{`` (the
        parent puts ``{"id": n, "image_id": i, `` before it)."""
        segs, hs, ws, where, floats = [], [], [], [], []
        for r, rec in enumerate(recs):
            for i, inst in enumerate(rec.instances):
                if not isinstance(inst.segmentation, dict):
                    segs.append(inst.segmentation)
                    hs.append(rec.height)
                    ws.append(rec.width)
                    where.append((r, i))
                    floats.append(inst.floats)
        if segs:
            try:
                area, bbox = polygon_stats(segs, hs, ws, name_of=lambda k: (
                    f"object {where[k][1]}"))
            except MaskkitError as exc:
                if len(recs) > 1:
                    raise
                raise exc.with_context(source=recs[0].file_name) from None
            area, bbox = area.tolist(), bbox.tolist()
            seg_texts = polygons_json(segs, floats)
        stats = {w: k for k, w in enumerate(where)}
        out = []
        dumps = json.dumps
        for r, rec in enumerate(recs):
            texts = []
            for i, inst in enumerate(rec.instances):
                seg = inst.segmentation
                if isinstance(seg, dict):
                    a, b = area_bbox(seg, rec.height, rec.width)
                    seg, seg_text = as_rle(seg, rec.height, rec.width), None
                else:
                    k = stats[(r, i)]
                    a, b, seg_text = area[k], bbox[k], seg_texts[k]
                cid = inst.category_id
                if seg_text is not None and not inst.extra and type(cid) is int:
                    texts.append(_annotation_text(cid, seg_text, a, b, inst.iscrowd))
                    continue
                ann = {"category_id": cid, "segmentation": seg, "area": a, "bbox": b,
                       "iscrowd": int(inst.iscrowd)}
                ann.update(inst.extra)
                texts.append(dumps(ann)[1:])
            image = {"file_name": rec.file_name, "height": rec.height, "width": rec.width}
            out.append(WriteResult(payload=(rec.id, image, texts), objects=len(texts)))
        return out

    def write_columns(self, chunk: PolygonChunk) -> list | None:
        """:meth:`write_many` of a chunk of polygon images held as arrays, for a chunk of
        ``floats`` coordinates (a text format's; the numbers of a JSON source are
        written as they stand, by :meth:`write_many`): None for any other."""
        if not chunk.floats:
            return None
        hs, ws = chunk.object_sizes()
        area, bbox = stats_arrays(chunk.xy, chunk.ring_offsets, chunk.obj_rings, hs, ws)
        texts = polygons_text(chunk.xy, chunk.ring_offsets, chunk.obj_rings)
        xy, rings, parts = chunk.xy, chunk.ring_offsets, chunk.obj_rings.tolist()
        for k in [k for k, t in enumerate(texts) if t is None]:
            # numbers the kernel does not print: as json does
            texts[k] = json.dumps([xy[rings[r]:rings[r + 1]].tolist()
                                   for r in range(parts[k], parts[k + 1])])
        made = list(map(_annotation_text, chunk.category.tolist(), texts, area.tolist(),
                        bbox.tolist(), chunk.crowd.tolist()))
        bounds = chunk.image_objs.tolist()
        return [WriteResult(payload=(chunk.ids[j], {"file_name": name, "height": h,
                                                    "width": w}, made[bounds[j]:bounds[j + 1]]),
                            objects=bounds[j + 1] - bounds[j])
                for j, (name, h, w) in enumerate(zip(chunk.names, chunk.heights.tolist(),
                                                     chunk.widths.tolist()))]

    def finish(self, payloads: list) -> None:
        from maskkit.io import fs

        ids = [p[0] for p in payloads]
        keep = all(isinstance(i, int) and not isinstance(i, bool) for i in ids) and \
            len(set(ids)) == len(ids)
        images, annotations = [], []
        n = 0
        for k, (image_id, image, texts) in enumerate(payloads, start=1):
            iid = image_id if keep else k
            images.append({"id": iid, **image})
            for text in texts:
                n += 1
                if isinstance(text, dict):  # a manifest of an older maskkit
                    text = json.dumps(text)[1:]
                annotations.append(f'{{"id": {n}, "image_id": {iid}, {text}')
        cats = [c.as_coco() for c in self.categories]
        # what json.dumps({"images": ..., "annotations": ..., "categories": ...}) gives;
        # the annotations were encoded by the workers
        doc = (f'{{"images": {json.dumps(images)}, "annotations": '
               f'[{", ".join(annotations)}], "categories": {json.dumps(cats)}}}')
        fs.write_bytes(self.dst, doc.encode())
