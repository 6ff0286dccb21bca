"""YOLO segmentation labels (Ultralytics): ``labels/**/*.txt`` + ``data.yaml``.

One line per object: ``class x1 y1 x2 y2 ...`` with coordinates divided by the image
width / height; a line of 5 numbers is a box ``class cx cy w h``.  The files hold no image
size, so the reader takes it from the image whose path is the label's with its last
``labels`` folder replaced by ``images`` (``labels/train/a.txt`` -> ``images/train/a.*``,
``train/labels/a.txt`` -> ``train/images/a.*``; any usual extension), as Ultralytics
does.  ``data.yaml`` gives the class
names (``names:`` list or ``{index: name}``); maskkit also writes ``categories.json``
beside it so that COCO category ids survive a round trip (class index ``k`` is the
``k``-th category by id).

One ring per object: a multi-part polygon is joined into one ring by Ultralytics' rule
(:func:`maskkit.datasets.formats.geometry.join_rings`), an RLE object is traced along pixel edges
and its rings (holes included) joined the same way; the IoU of every object that changed
is reported.  Crowd regions have no YOLO equivalent and are reported as dropped.
Coordinates are written with at most 16 significant digits (a short ``repr`` is kept:
:func:`maskkit.datasets.formats.geometry.yolo_numbers`), within 3e-15 of the value, and
read back snapped to 1e-9 pixel, so whole- and decimal-pixel vertices survive exactly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from maskkit.datasets.formats.base import Reader, StagedFolder, Writer, WriteResult, safe_relative
from maskkit.datasets.formats.geometry import join_arrays, join_many, single_ring, yolo_numbers
from maskkit.datasets.formats.model import (
    Category,
    ImageRecord,
    Instance,
    PolygonChunk,
    size_ok,
)
from maskkit.errors import (
    InvalidAnnotationError,
    MaskkitError,
    MaskkitIOError,
    UnknownCategoryError,
)

__all__ = ["YoloReader", "YoloWriter", "detect"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".dng", ".mpo")
SIDECAR = "categories.json"


def _yaml_path(src: Path) -> Path | None:
    for name in ("data.yaml", "data.yml", "dataset.yaml"):
        if (src / name).is_file():
            return src / name
    found = sorted(src.glob("*.yaml")) + sorted(src.glob("*.yml"))
    return found[0] if found else None


def detect(path) -> bool:
    """A folder with a ``labels/`` sub-folder or a YAML file naming classes."""
    p = Path(path)
    return p.is_dir() and ((p / "labels").is_dir() or _yaml_path(p) is not None)


def _load_yaml(path: Path):
    try:
        import yaml
    except ImportError:
        raise MaskkitIOError("reading data.yaml needs PyYAML: pip install pyyaml (or "
                             "pip install 'maskkit[formats]')", source=path) from None
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MaskkitIOError(f"cannot read YAML: {exc}", source=path) from None


def _names(doc, path) -> list[str]:
    names = doc.get("names") if isinstance(doc, dict) else None
    if isinstance(names, list):
        return [str(n) for n in names]
    if isinstance(names, dict):
        try:
            keys = sorted(int(k) for k in names)
        except (TypeError, ValueError):
            keys = None
        if keys is None or keys != list(range(len(keys))):
            raise MaskkitIOError("'names' must map the class indices 0..N-1 to names",
                                 source=path)
        return [str(names[k] if k in names else names[str(k)]) for k in keys]
    raise MaskkitIOError("has no 'names' list (class names)", source=path)


def read_sidecar(folder: Path, names: list[str] | None) -> list[Category] | None:
    """maskkit's ``categories.json`` in ``folder`` (COCO categories in class order)."""
    path = folder / SIDECAR
    if not path.is_file():
        return None
    from maskkit.io.files import read_json

    doc = read_json(path)
    try:
        cats = [Category(int(c["id"]), str(c["name"]), str(c.get("supercategory") or ""))
                for c in doc]
    except (TypeError, KeyError, ValueError):
        raise MaskkitIOError('must be a list of {"id": int, "name": str}', source=path) \
            from None
    if names is not None and [c.name for c in cats] != names:
        return None  # edited by hand since: data.yaml wins
    return cats


class YoloReader(Reader):
    """Read a YOLO segmentation dataset folder."""

    format = "yolo"

    def __init__(self, src, **options):
        super().__init__(src)
        root = Path(src)
        if not root.is_dir():
            raise MaskkitIOError("a YOLO dataset is a folder (labels/, images/, data.yaml)",
                                 source=src)
        ypath = _yaml_path(root)
        names = _names(_load_yaml(ypath), ypath) if ypath else None
        cats = read_sidecar(root, names)
        if cats is None:
            if names is None:
                raise MaskkitIOError("no data.yaml with class names found", source=src)
            cats = [Category(k, n) for k, n in enumerate(names)]
        self.categories = cats
        self.class_ids = [c.id for c in cats]
        self.class_ids_array = np.asarray(self.class_ids, np.int64)
        self.root = root
        self._root = str(root)
        self.labels_root = self.images_root = root
        # every image and label file under the root (hidden folders, such as a staging
        # folder left by an interrupted run, are not part of the dataset)
        images: dict[str, str] = {}
        texts: list[str] = []
        for dirpath, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
            prefix = "" if rel_dir == "." else rel_dir + "/"
            for f in files:
                stem, ext = os.path.splitext(f)
                if ext.lower() in IMAGE_SUFFIXES:
                    images.setdefault(prefix + stem, prefix + f)
                elif ext == ".txt" and f != "classes.txt":
                    texts.append(prefix + f)
        # Ultralytics' rule: the image of .../labels/x.txt is .../images/x.* (the last
        # "labels" folder of the path); both root/labels/<split> and <split>/labels work
        in_labels = [t for t in texts if "labels" in t.split("/")[:-1]]
        units = []
        for rel in in_labels or texts:
            parts = rel[:-4].split("/")
            dirs = parts[:-1]
            if "labels" in dirs:
                j = len(dirs) - 1 - dirs[::-1].index("labels")
                parts[j] = "images"
            units.append((rel, images.get("/".join(parts))))
        self.units = sorted(units)

    def read(self, unit) -> ImageRecord:
        rel_label, rel_image = unit
        label_path = os.path.join(self._root, rel_label)  # str, not Path: a few µs less
        if rel_image is None:
            raise MaskkitIOError(
                "YOLO labels hold no image size and no image was found for this label file "
                f"(its path with 'labels' replaced by 'images', one of {IMAGE_SUFFIXES})",
                source=label_path)
        w, h = image_size(os.path.join(self._root, rel_image))
        try:
            with open(label_path, "rb") as fh:
                text = fh.read().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MaskkitIOError(f"cannot read label file: {exc}", source=label_path) from None
        rec = ImageRecord(_image_name(rel_image), h, w)
        parsed = _parse_polygons(text, len(self.class_ids))
        if parsed is None:  # a box line, or a bad one: line by line, naming the line
            parsed = self._parse_lines(text, label_path)
        if parsed is None:
            return rec
        classes, flat, ends = parsed
        xy = _pixels(flat, w, h)
        if not np.isfinite(xy).all():
            raise InvalidAnnotationError("coordinates must be finite numbers",
                                         source=label_path)
        xy = xy.tolist()
        start = 0
        ids = self.class_ids
        for k, end in zip(classes, ends):
            rec.instances.append(Instance.of_valid(ids[k], [xy[start:end]]))
            start = end
        return rec

    def read_columns(self, units):
        """The images among ``units`` whose label files hold only polygon lines that the
        label kernel parses as Python does (``int`` / ``float`` of each field: see
        :func:`maskkit._kernels.yolotext.parse_labels`), in a
        :class:`~maskkit.datasets.formats.model.PolygonChunk`; the positions of the others
        (read as records by :meth:`read`, which names what is wrong)."""
        from maskkit._kernels.yolotext import parse_labels

        positions, names, hs, ws, blobs, rest = [], [], [], [], [], []
        root = self._root
        for p, (rel_label, rel_image) in enumerate(units):
            if rel_image is None:
                rest.append(p)
                continue
            try:
                w, h = image_size(os.path.join(root, rel_image))
                with open(os.path.join(root, rel_label), "rb") as fh:
                    data = fh.read()
            except (MaskkitError, OSError):
                rest.append(p)
                continue
            if not size_ok(h, w):
                rest.append(p)
                continue
            positions.append(p)
            names.append(_image_name(rel_image))
            hs.append(h)
            ws.append(w)
            blobs.append(data)
        if not blobs:  # (no kernel to compile for nothing)
            return None, rest
        starts = np.zeros(len(blobs) + 1, np.int64)
        np.cumsum([len(b) for b in blobs], out=starts[1:])
        ok, file_objs, classes, obj_ends, vals = parse_labels(
            np.frombuffer(b"".join(blobs), np.uint8), starts, len(self.class_ids))
        hs = np.asarray(hs, np.int64)
        ws = np.asarray(ws, np.int64)
        # each point's image (every line has an even count: no point straddles two)
        of_file = np.repeat(np.repeat(np.arange(len(blobs)), np.diff(file_objs)),
                            np.diff(obj_ends) // 2)
        xy = _pixels(vals, ws[of_file], hs[of_file])
        if not np.isfinite(xy).all():  # (not with |v| < 1e6 and a checked size)
            return None, range(len(units))
        if not ok.all():
            bad = np.flatnonzero(~ok).tolist()
            rest = sorted([*rest, *(positions[j] for j in bad)])
            pick = np.flatnonzero(ok)
            positions, names = ([v[j] for j in pick.tolist()] for v in (positions, names))
            hs, ws = hs[pick], ws[pick]
            file_objs = np.concatenate([[0], np.cumsum(np.diff(file_objs)[pick])])
        ids = self.class_ids_array[classes]
        n = classes.size
        return PolygonChunk(positions, names, hs, ws, [None] * len(positions),
                            file_objs.astype(np.int64), ids, np.zeros(n, bool),
                            np.arange(n + 1, dtype=np.int64), obj_ends, xy, floats=True), rest

    def _parse_lines(self, text: str, label_path):
        """Line by line: ``(classes, coordinates, ends)`` or None for no object; a box line
        ``class cx cy w h`` becomes its 4 corners; a bad line raises, naming it."""
        nc = len(self.class_ids)
        classes, flat, ends = [], [], []
        for lineno, line in enumerate(text.splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            where = f"line {lineno}"
            try:
                k = int(fields[0])
                vals = list(map(float, fields[1:]))
            except ValueError:
                raise InvalidAnnotationError("expected 'class x1 y1 x2 y2 ...' numbers",
                                             source=label_path, obj=where) from None
            if not 0 <= k < nc:
                raise UnknownCategoryError(
                    f"class {k} is not in data.yaml's {nc} names", source=label_path,
                    obj=where)
            if len(vals) == 4:  # a detection box: cx cy w h
                cx, cy, bw, bh = vals
                vals = [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy - bh / 2,
                        cx + bw / 2, cy + bh / 2, cx - bw / 2, cy + bh / 2]
            if len(vals) % 2 or len(vals) < 6:
                raise InvalidAnnotationError(
                    f"{len(vals)} coordinates; a polygon needs an even number, at least 6",
                    source=label_path, obj=where)
            if not -1e6 < min(vals) <= max(vals) < 1e6:
                raise InvalidAnnotationError("coordinates must be finite, normalised numbers",
                                             source=label_path, obj=where)
            classes.append(k)
            flat.extend(vals)
            ends.append(len(flat))
        if not classes:
            return None
        return classes, np.asarray(flat, np.float64), ends


def _image_name(rel_image: str) -> str:
    """An image's file name as COCO holds it: relative to the ``images/`` folder of the
    root/images layout, else to the root."""
    return rel_image[len("images/"):] if rel_image.startswith("images/") else rel_image


def _pixels(vals, w, h):
    """Normalised ``x, y, ...`` times the image size (``w``, ``h``: numbers, or one per
    point), snapped to 1e-9 px so that ``x / w * w`` gives ``x`` back (flat float64)."""
    size = np.stack(np.broadcast_arrays(w, h), -1)
    return np.round(vals.reshape(-1, 2) * size, 9).reshape(-1)


def _parse_polygons(text: str, nc: int):
    """The fast way through a label file of polygon lines: ``(classes, coordinates,
    ends)``, with every number parsed by Python's ``int`` / ``float`` as line by line;
    None when any line is not a valid polygon line (a box, a bad number, a class out of
    range, an odd count ...), which the caller then reads line by line."""
    heads, counts, tokens = [], [], []
    for line in text.splitlines():
        fields = line.split()
        if fields:
            heads.append(fields[0])
            counts.append(len(fields) - 1)
            tokens += fields[1:]
    if not heads:
        return None
    try:
        classes = list(map(int, heads))
        flat = np.fromiter(map(float, tokens), np.float64, count=len(tokens))
    except ValueError:
        return None
    n = np.asarray(counts)
    if (n < 6).any() or (n & 1).any() or min(classes) < 0 or max(classes) >= nc \
            or not ((flat > -1e6) & (flat < 1e6)).all():
        return None
    return classes, flat, np.cumsum(n).tolist()


def image_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of an image as it is displayed, from its header (the pixels are
    not decoded): an EXIF orientation of 5-8 (a quarter turn) swaps the stored size, as
    Ultralytics' ``exif_size`` and supervision do.  PNG and JPEG headers without EXIF
    are read here (a few small reads); anything else goes to Pillow."""
    try:
        with open(path, "rb") as fh:
            size = _header_size(fh)
    except OSError as exc:
        raise MaskkitIOError(f"cannot read the image: {exc.strerror or exc}", source=path) \
            from None
    return size if size is not None else _pillow_size(path)


_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _header_size(fh) -> tuple[int, int] | None:
    head = fh.read(24)
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        w, h = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        pos = 33  # after IHDR: an eXIf chunk (orientation) must come before IDAT
        for _ in range(64):
            fh.seek(pos)
            chunk = fh.read(8)
            if len(chunk) < 8 or chunk[4:8] == b"IDAT":
                return (w, h) if w and h else None
            if chunk[4:8] == b"eXIf":
                return None
            pos += 12 + int.from_bytes(chunk[:4], "big")
        return None
    if head[:2] != b"\xff\xd8":
        return None
    pos = 2
    for _ in range(256):
        fh.seek(pos)
        seg = fh.read(10)
        if len(seg) < 4 or seg[0] != 0xFF:
            return None
        marker, length = seg[1], int.from_bytes(seg[2:4], "big")
        if marker == 0xE1 and seg[4:8] == b"Exif":
            return None  # orientation to apply: Pillow reads it
        if marker in _SOF and len(seg) >= 9:
            h, w = int.from_bytes(seg[5:7], "big"), int.from_bytes(seg[7:9], "big")
            return (w, h) if w and h else None
        pos += 2 + length
    return None


def _pillow_size(path: Path) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            w, h = im.size
            if im.getexif().get(0x0112) in (5, 6, 7, 8):
                return h, w
            return w, h
    except (OSError, UnidentifiedImageError) as exc:
        raise MaskkitIOError(f"cannot read the image size: {exc}", source=path) from None


class YoloWriter(Writer):
    """Write a YOLO segmentation dataset: ``labels/<file_name>.txt``, ``data.yaml``,
    ``categories.json``; with ``images=DIR`` the images are linked (or copied) into
    ``images/``."""

    format = "yolo"
    any_columns = True

    def __init__(self, dst, categories, *, images=None, check: bool = True, **options):
        super().__init__(dst, categories)
        self.root = Path(dst)
        self.index = {c.id: k for k, c in enumerate(self.categories)}
        self.images = None if images is None else Path(images)
        self.check = check
        self.labels = StagedFolder(self.root / "labels")

    def start(self, resume: bool = False) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.labels.start(keep=resume)

    def write(self, rec: ImageRecord) -> WriteResult:
        return self.write_many([rec])[0]

    def write_many(self, recs: list) -> list:
        """Write the label files of many images: every polygon object's ring is made (and
        checked) in one kernel call, each file's text is made in one piece and written
        with one write."""
        results = [WriteResult() for _ in recs]
        index = self.index
        # polygon objects: (image, object, class index, category id, parts), their
        # geometries and image sizes, joined by one kernel call; RLE objects: traced one
        # by one, (image, object, class index, category id, text, iou, how)
        todo: list = []
        traced: list = []
        segs, hs, ws = [], [], []
        for r, rec in enumerate(recs):
            h, w = rec.height, rec.width
            for i, inst in enumerate(rec.instances):
                cid = inst.category_id
                if inst.iscrowd:
                    results[r].dropped.append(f"object {i} (category {cid}): crowd "
                                              "region, YOLO has no crowd/ignore notion")
                    continue
                k = index.get(cid)
                if k is None:
                    raise UnknownCategoryError(
                        f"object {i} has category {cid}, not in the category list",
                        source=rec.file_name)
                seg = inst.segmentation
                if isinstance(seg, dict):  # traced along pixel edges, one by one
                    ring, iou, how = single_ring(seg, h, w, check=self.check)
                    ring = [v / w if j % 2 == 0 else v / h for j, v in enumerate(ring)]
                    text = yolo_numbers(ring, [0, len(ring)], [h], [w])[0] if ring else ""
                    traced.append((r, i, k, cid, text, iou, how))
                else:
                    todo.append((r, i, k, cid, len(seg)))
                    segs.append(seg)
                    hs.append(h)
                    ws.append(w)
        rings: list = []
        ious: list = []
        if segs:
            try:
                rings, iou = join_many(segs, hs, ws, check=self.check, as_text=True,
                                       name_of=lambda j: f"object {todo[j][1]}")
            except MaskkitError as exc:
                if len(recs) > 1:
                    raise
                raise exc.with_context(source=recs[0].file_name) from None
            ious = iou.tolist()
        lines: list[list[str]] = [[] for _ in recs]
        order: list[list[int]] = [[] for _ in recs]  # object numbers, when RLEs came too
        for (r, i, k, cid, parts), ring, iou in zip(todo, rings, ious):
            if not ring:
                results[r].dropped.append(f"object {i} (category {cid}): empty mask")
                continue
            if parts > 1:
                results[r].losses.append({"object": i, "category_id": cid, "iou": iou,
                                          "how": "joined"})
            lines[r].append(f"{k} {ring}")
            if traced:
                order[r].append(i)
        for r, i, k, cid, ring, iou, how in traced:
            if not ring:
                results[r].dropped.append(f"object {i} (category {cid}): empty mask")
                continue
            if how != "kept":
                results[r].losses.append({"object": i, "category_id": cid, "iou": iou,
                                          "how": how})
            lines[r].append(f"{k} {ring}")
            order[r].append(i)
        if traced:  # RLE objects were set aside: back in file order
            for r, res in enumerate(results):
                if len(order[r]) > 1:
                    lines[r] = [t for _, t in sorted(zip(order[r], lines[r]))]
                    res.losses.sort(key=lambda loss: loss["object"])
        for res, text in zip(results, lines):
            res.objects = len(text)
        return self._write_files(results, [rec.file_name for rec in recs], lines)

    def write_columns(self, chunk: PolygonChunk) -> list:
        """:meth:`write_many` of a chunk of polygon images held as arrays: the same files,
        losses and drops, with no Python object per coordinate."""
        uniq, inverse = np.unique(chunk.category, return_inverse=True)
        index = [self.index.get(c) for c in uniq.tolist()]
        if None in index:
            raise UnknownCategoryError("a category not in the category list")  # named
            # image by image by write_many
        classes = np.asarray(index, np.int64)[inverse.reshape(-1)].tolist()
        hs, ws = chunk.object_sizes()
        rings, iou = join_arrays(chunk.xy, chunk.ring_offsets, chunk.obj_rings, hs, ws,
                                 check=self.check, as_text=True)
        lines = [f"{c} {r}" for c, r in zip(classes, rings)]
        # objects that are not simply written: crowd (dropped), empty (dropped), in parts
        # (joined: a loss); the images of none of them take the short way
        empty = np.fromiter(map(len, rings), np.int64, len(rings)) == 0
        joined = np.diff(chunk.obj_rings) > 1
        special = chunk.crowd | empty | joined
        bounds = chunk.image_objs.tolist()
        before = np.concatenate([[0], np.cumsum(special)])  # special ones before each
        has_special = before[chunk.image_objs[1:]] > before[chunk.image_objs[:-1]]
        ious, cats = iou.tolist(), chunk.category.tolist()
        crowd, empty, joined = chunk.crowd.tolist(), empty.tolist(), joined.tolist()
        results, texts = [], []
        for j, odd in enumerate(has_special.tolist()):
            a, b = bounds[j], bounds[j + 1]
            res = WriteResult(objects=b - a)
            text = lines[a:b]
            if odd:
                text, gone = [], []
                for k in range(a, b):
                    i = k - a
                    if crowd[k]:  # (listed first, then the empty ones, as write_many)
                        res.dropped.append(f"object {i} (category {cats[k]}): crowd "
                                           "region, YOLO has no crowd/ignore notion")
                    elif empty[k]:
                        gone.append(f"object {i} (category {cats[k]}): empty mask")
                    else:
                        if joined[k]:
                            res.losses.append({"object": i, "category_id": cats[k],
                                               "iou": ious[k], "how": "joined"})
                        text.append(lines[k])
                res.dropped += gone
                res.objects = len(text)
            results.append(res)
            texts.append(text)
        return self._write_files(results, chunk.names, texts)

    def _write_files(self, results: list, names: list, texts: list) -> list:
        """Write each image's label file (``texts``: its lines) and note the file in its
        result (``results``, returned)."""
        files = [(self._label_name(name), ("\n".join(text) + "\n" if text else "").encode())
                 for name, text in zip(names, texts)]
        written = self.labels.write_all(files)
        for res, (path, sha) in zip(results, written):
            res.files[path] = sha
        return results

    def _label_name(self, file_name: str) -> str:
        """The label file of an image (``a/b.jpg`` -> ``a/b.txt``); with ``images=DIR`` the
        image is linked into ``images/`` too."""
        rel = safe_relative(file_name)
        stem = rel.rsplit(".", 1)[0] if "." in rel.rsplit("/", 1)[-1] else rel
        if self.images is not None:
            link_image(self.images / rel, self.root / "images" / rel)
        return f"{stem}.txt"

    def finish(self, payloads: list) -> None:
        from maskkit.io import fs

        self.labels.commit()
        names = "".join(f"  {k}: {json.dumps(c.name)}\n" for k, c in enumerate(self.categories))
        text = ("# written by maskkit convert; class k is the k-th category of "
                f"{SIDECAR}\ntrain: images\nval: images\n"
                f"nc: {len(self.categories)}\nnames:\n{names}")
        fs.write_bytes(self.root / "data.yaml", text.encode())
        fs.write_bytes(self.root / SIDECAR, (json.dumps(
            [c.as_coco() for c in self.categories], indent=1) + "\n").encode())


def link_image(src: Path, dst: Path) -> None:
    """Put the image ``src`` at ``dst``: a hard link, else a copy (atomic either way)."""
    from maskkit.io import fs

    if not src.is_file():
        raise MaskkitIOError("image not found (images=... must be the folder the file "
                             "names are relative to)", source=src)
    if dst.exists():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.link.tmp")
    try:
        os.link(src, tmp)
        os.replace(tmp, dst)
    except OSError:
        fs.write_bytes(dst, fs.read_bytes(src))
