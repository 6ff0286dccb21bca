"""Polygon, RLE and bbox rasterisation into masks and label maps.

Modes
-----
``"coco"``
    Pixel-exact with pycocotools (``frPyObjects`` + ``merge`` + ``decode``): vertices
    snapped to a 1/5-pixel grid, pixel centres sampled column by column; the parts of a
    multi-part polygon are unioned.
``"center"`` / ``"all_touched"``
    Pixel-exact with ``rasterio.features.rasterize`` (identity transform) with
    ``all_touched=False`` / ``True``; each COCO polygon part is burned as its own polygon
    and the parts are unioned, as GDAL burns a MultiPolygon.

Every kernel paints runs straight into the output: no full-size mask is made per object.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from maskkit._jit import resolve_threads, using_threads
from maskkit._kernels import coco as _kc
from maskkit._kernels import rle as _kr
from maskkit.core.checks import check_out, check_value
from maskkit.errors import InvalidInputError, InvalidPolygonError
from maskkit.limits import check_image_size

__all__ = ["paint_polygons", "paint_rings", "polygon_to_mask", "polygon_to_rle",
           "segmentation_runs"]

MODES = ("coco", "center", "all_touched")

#: Largest absolute vertex coordinate accepted (pixels). pycocotools' own arithmetic
#: overflows 32-bit integers beyond ~4e8; far-out vertices are legal and clipped, but
#: a coordinate beyond this is treated as corrupt.
COORD_LIMIT = float(2**24)

_EMPTY_I64 = np.zeros(0, dtype=np.int64)
_EMPTY_CLAIMS = np.zeros((0, 0), dtype=np.uint8)


def _check_mode(mode):
    if mode not in MODES:
        raise InvalidInputError(f"mode must be one of {MODES}; got {mode!r}")


def _check_values(out, values) -> np.ndarray:
    """Many label values at once, checked against ``out``'s dtype."""
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.dtype.kind not in "biuf":
        raise InvalidInputError(f"values must be a sequence of integers; got {values!r:.80}")
    if arr.size and arr.dtype.kind == "f" and not np.all(arr == np.round(arr)):
        raise InvalidInputError("values must be integers")
    if arr.size and out.dtype.kind != "b":
        info = np.iinfo(out.dtype)
        lo, hi = arr.min(), arr.max()
        if lo < info.min or hi > info.max:
            bad = lo if lo < info.min else hi
            raise InvalidInputError(
                f"label value {bad} does not fit out's dtype {out.dtype} "
                f"({info.min}..{info.max}); use a wider dtype"
            )
    return arr.astype(out.dtype)


class PolygonObjects:
    """Many segmentations packed into flat arrays for one kernel call.

    Polygon parts go into ``xy`` (flat x, y float64) with ``ring_offsets``; RLEs go into
    column-major runs; object ``i`` owns rings ``obj_rings[i]:obj_rings[i+1]`` and runs
    ``obj_runs[i]:obj_runs[i+1]``.
    """

    def __init__(self, height: int, width: int, mode: str = "coco", name_of=None):
        self.name_of = name_of  # makes an object's name from its ``obj`` (errors only)
        self.h = height
        self.w = width
        self.mode = mode
        self.parts: list = []
        self.ring_offsets = [0]
        self.obj_rings = [0]
        self.run_s: list = []
        self.run_e: list = []
        self.obj_runs = [0]
        self.obj_run_array: list[int] = []  # per object: index into run_s, or -1
        self.names: list = []  # per object: its ``obj`` (see name())
        self.source = None
        self._nruns = 0

    def __len__(self):
        return len(self.obj_rings) - 1

    def name(self, k: int) -> str:
        """Object ``k``'s name in error messages."""
        obj = self.names[k]
        if self.name_of is not None:
            return self.name_of(obj)
        return obj if obj is not None else f"object {k}"

    def add(self, segmentation, *, source=None, obj=None):
        seg = segmentation
        if source is not None:
            self.source = source
        if type(seg) is list and seg and type(seg[0]) is list:
            # the common case, COCO polygon lists: checked and added with no other work
            for p in seg:
                if type(p) is not list or len(p) < 6 or len(p) & 1:
                    break
            else:
                self.names.append(obj)
                offsets = self.ring_offsets
                last = offsets[-1]
                for p in seg:
                    last += len(p)
                    offsets.append(last)
                self.parts.extend(seg)
                self.obj_run_array.append(-1)
                self.obj_rings.append(len(offsets) - 1)
                self.obj_runs.append(self._nruns)
                return
        self.names.append(obj)
        if self.name_of is not None:
            obj = self.name_of(obj)
        if isinstance(seg, Mapping):
            from maskkit.core.rle import rle_counts

            counts, _, _ = rle_counts(seg, height=self.h, width=self.w, source=source, obj=obj)
            s, e = _kr.counts_to_runs(counts)
            if self.mode != "coco":
                raise InvalidInputError(
                    f"RLE segmentations have pixels already; mode {self.mode!r} applies to "
                    "polygons only (use mode='coco')", source=source, obj=obj,
                )
            self.run_s.append(s)
            self.run_e.append(e)
            self._nruns += s.size
            self.obj_run_array.append(len(self.run_s) - 1)
        elif isinstance(seg, (list, tuple, np.ndarray)):
            parts = _polygon_parts(seg, source=source, obj=obj)
            for p in parts:
                self.parts.append(p)
                self.ring_offsets.append(self.ring_offsets[-1] + len(p))
            self.obj_run_array.append(-1)
        else:
            raise InvalidPolygonError(
                "segmentation must be a list of polygons [[x1, y1, ...], ...], a bbox "
                f"[x, y, w, h] or an RLE dict; got {type(seg).__name__}",
                source=source, obj=obj,
            )
        self.obj_rings.append(len(self.ring_offsets) - 1)
        self.obj_runs.append(self._nruns)

    def reordered(self, order) -> PolygonObjects:
        """The same objects in a new paint order."""
        new = PolygonObjects(self.h, self.w, self.mode, self.name_of)
        new.source = self.source
        for i in order:
            for r in range(self.obj_rings[i], self.obj_rings[i + 1]):
                new.parts.append(self.parts[r])
                new.ring_offsets.append(new.ring_offsets[-1] + len(self.parts[r]))
            new.obj_rings.append(len(new.ring_offsets) - 1)
            new.names.append(self.names[i])
            j = self.obj_run_array[i]
            if j >= 0:
                new.run_s.append(self.run_s[j])
                new.run_e.append(self.run_e[j])
                new._nruns += self.run_s[j].size
                new.obj_run_array.append(len(new.run_s) - 1)
            else:
                new.obj_run_array.append(-1)
            new.obj_runs.append(new._nruns)
        return new

    def arrays(self):
        total = self.ring_offsets[-1]
        if total:
            try:
                xy = np.fromiter(itertools.chain.from_iterable(self.parts), dtype=np.float64,
                                 count=total)
            except (TypeError, ValueError, OverflowError):
                self._raise_non_numeric()
        else:
            xy = np.zeros(0, dtype=np.float64)
        ring_offsets = np.asarray(self.ring_offsets, dtype=np.int64)
        obj_rings = np.asarray(self.obj_rings, dtype=np.int64)
        if self.run_s:
            rs = np.concatenate(self.run_s)
            re = np.concatenate(self.run_e)
        else:
            rs = re = _EMPTY_I64
        obj_runs = np.asarray(self.obj_runs, dtype=np.int64)
        return xy, ring_offsets, obj_rings, rs, re, obj_runs

    def _raise_non_numeric(self):
        for i in range(len(self)):
            for r in range(self.obj_rings[i], self.obj_rings[i + 1]):
                try:
                    np.asarray(self.parts[r], dtype=np.float64)
                except (TypeError, ValueError, OverflowError):
                    name = self.name(i) if self.names else f"object {i}"
                    raise InvalidPolygonError(
                        f"polygon part {r - self.obj_rings[i]} holds a non-numeric coordinate "
                        "(or an integer too large for a float)",
                        source=self.source, obj=name,
                    ) from None
        raise InvalidPolygonError("a polygon holds a non-numeric coordinate",
                                  source=self.source)

    def check_coordinates(self, xy, *, source=None, objs=None):
        """Finite and within COORD_LIMIT; on failure name the object."""
        if xy.size == 0:
            return
        bad = ~np.isfinite(xy) | (np.abs(xy) > COORD_LIMIT)
        if not bad.any():
            return
        k = int(np.argmax(bad))
        ring = int(np.searchsorted(np.asarray(self.ring_offsets), k, side="right") - 1)
        i = int(np.searchsorted(np.asarray(self.obj_rings), ring, side="right") - 1)
        obj = objs[i] if objs is not None else f"object {i}"
        raise InvalidPolygonError(
            f"polygon coordinate {float(xy[k])!r} is not finite or beyond ±{COORD_LIMIT:.0f}",
            source=source, obj=obj,
        )


def _polygon_parts(seg, *, source=None, obj=None):
    """The polygon parts (flat coordinate sequences) of a COCO polygon or bbox segmentation."""
    if isinstance(seg, np.ndarray):
        seg = seg.tolist()
    if len(seg) == 0:
        return []
    if not isinstance(seg[0], (list, tuple, np.ndarray)):
        # a flat list: a single polygon, or a bbox [x, y, w, h]
        if len(seg) == 4:
            try:
                x, y, bw, bh = (float(v) for v in seg)
            except (TypeError, ValueError, OverflowError):
                raise InvalidPolygonError(f"bbox must hold 4 numbers; got {seg!r}",
                                          source=source, obj=obj) from None
            return [[x, y, x, y + bh, x + bw, y + bh, x + bw, y]]
        seg = [seg]
    parts = []
    for i, p in enumerate(seg):
        if isinstance(p, np.ndarray):
            p = p.ravel().tolist()
        if not isinstance(p, (list, tuple)):
            raise InvalidPolygonError(
                f"polygon part {i} must be a list of coordinates; got {type(p).__name__}",
                source=source, obj=obj,
            )
        n = len(p)
        if n % 2:
            raise InvalidPolygonError(
                f"polygon part {i} has an odd number of coordinates ({n}); expected "
                "x1, y1, x2, y2, ...", source=source, obj=obj,
            )
        if n < 6:
            raise InvalidPolygonError(
                f"polygon part {i} has {n // 2} point(s); a polygon needs at least 3"
                + (" (pycocotools would silently read 2 points as a bbox)" if n == 4 else ""),
                source=source, obj=obj,
            )
        parts.append(p)
    return parts


#: Below this many pixels one thread paints (starting threads would cost more).
_PARALLEL_MIN_PIXELS = 1 << 20
#: Bands per thread: objects are rarely spread evenly, smaller bands balance the work.
_BANDS_PER_THREAD = 2


def paint_objects(out, objects: PolygonObjects, values, ops, *, claims=None, ignore=0, source=None,
           objs=None, threads=1):
    xy, ring_offsets, obj_rings, rs, re, obj_runs = objects.arrays()
    objects.check_coordinates(xy, source=source, objs=objs)
    stats = np.zeros(2, dtype=np.int64)
    if claims is None:
        claims = _EMPTY_CLAIMS
    if objects.mode == "coco":
        # the kernels store whole vectors into rows: they take a C-contiguous integer map
        copied = not out.flags.c_contiguous
        target = np.ascontiguousarray(out) if copied else out
        if target.dtype == np.bool_:
            target = target.view(np.uint8)
            values = values.astype(np.uint8)
        ignore = target.dtype.type(ignore)
        if threads > 1 and out.size >= _PARALLEL_MIN_PIXELS and len(values) > 1:
            # horizontal bands painted in parallel, each with its own claim statistics
            band_stats = np.zeros((min(threads * _BANDS_PER_THREAD, out.shape[0]), 2),
                                  dtype=np.int64)
            with using_threads(threads):
                _kc.paint_objects_bands(target, claims, xy, ring_offsets, obj_rings, rs, re,
                                        obj_runs, values, ops, ignore, band_stats)
            stats = band_stats.sum(axis=0)
        else:
            _kc.paint_objects(target, claims, xy, ring_offsets, obj_rings, rs, re, obj_runs,
                              values, ops, ignore, stats)
        if copied:
            out[...] = target
    else:
        from maskkit._kernels import scanline as _ks

        kern = (_ks.polygon_runs_center if objects.mode == "center"
                else _ks.polygon_runs_all_touched)
        pts = xy.reshape(-1, 2)
        h, w = out.shape
        for i in range(len(objects)):
            r0, r1 = obj_rings[i], obj_rings[i + 1]
            ss, ee = [], []
            for r in range(r0, r1):
                off = np.array([0, (ring_offsets[r + 1] - ring_offsets[r]) // 2], np.int64)
                s, e = kern(pts[ring_offsets[r] // 2: ring_offsets[r + 1] // 2], off, h, w)
                ss.append(s)
                ee.append(e)
            if not ss:
                continue
            s, e = _kc.union_runs(np.concatenate(ss), np.concatenate(ee))
            _kc.paint_runs_c(out, claims, s, e, values[i], ops[i], out.dtype.type(ignore),
                             stats)
    return stats


def paint_polygons(out: np.ndarray, polygons: Sequence, values, *, mode: str = "coco",
                   threads: int | None = None):
    """Paint many objects into an existing label map, in order (later objects win).

    Parameters
    ----------
    out : ndarray, shape (H, W), integer dtype
        The label map, modified in place. Each object's runs are written straight into
        it; no full-size mask is made per object.
    polygons : sequence
        One segmentation per object: COCO polygons ``[[x1, y1, x2, y2, ...], ...]``
        (parts unioned), a bbox ``[x, y, w, h]``, or an RLE dict (``mode="coco"`` only).
    values : int or sequence of int
        The label of each object (one value for all, or one per object).
    mode : {"coco", "center", "all_touched"}
        Pixel rule: pycocotools' (default) or rasterio's (see the module docstring).
    threads : int, optional
        Threads painting horizontal bands of ``out`` at once (``mode="coco"`` polygons,
        maps of 1 M pixels or more; the pixels are the same with any number).  Default:
        every core (Numba's thread count, capped by ``NUMBA_NUM_THREADS``).

    Returns
    -------
    ndarray
        ``out``.

    Examples
    --------
    >>> import numpy as np
    >>> out = np.zeros((4, 6), np.uint8)
    >>> _ = paint_polygons(out, [[[0, 0, 4, 0, 4, 4, 0, 4]], [2, 1, 3, 2]], [1, 2])
    >>> out
    array([[1, 1, 1, 1, 0, 0],
           [1, 1, 2, 2, 2, 0],
           [1, 1, 2, 2, 2, 0],
           [1, 1, 1, 1, 0, 0]], dtype=uint8)
    """
    _check_mode(mode)
    check_out(out)
    h, w = out.shape
    objects = PolygonObjects(h, w, mode, name_of="object {}".format)
    for i, seg in enumerate(polygons):
        objects.add(seg, obj=i)
    n = len(objects)
    if np.ndim(values) == 0:
        v = check_value(out, values)
        vals = np.full(n, v, dtype=out.dtype)
    else:
        if len(values) != n:
            raise InvalidInputError(f"got {n} polygons but {len(values)} values")
        vals = _check_values(out, values)
    ops = np.full(n, _kc.OP_SET, dtype=np.int64)
    paint_objects(out, objects, vals, ops, threads=resolve_threads(threads))
    return out


class _PackedRings(PolygonObjects):
    """Objects of one ring each, given as packed arrays (see :func:`paint_rings`)."""

    def __init__(self, height, width, xy, ring_offsets):
        super().__init__(height, width, "coco")
        self.xy = xy
        self.ring_offsets = ring_offsets
        self.obj_rings = np.arange(ring_offsets.size, dtype=np.int64)

    def __len__(self):
        return self.ring_offsets.size - 1

    def arrays(self):
        return (self.xy, self.ring_offsets, self.obj_rings, _EMPTY_I64, _EMPTY_I64,
                np.zeros(self.ring_offsets.size, np.int64))


def paint_rings(out: np.ndarray, xy: np.ndarray, ring_offsets: np.ndarray, values, *,
                threads: int | None = None):
    """Paint many one-ring polygons into an existing label map by COCO's rule, in order
    (later objects win): :func:`paint_polygons` for coordinates already packed in one
    array (no list is converted).

    Parameters
    ----------
    out : ndarray, shape (H, W), integer dtype
        The label map, modified in place.
    xy : ndarray, float64
        The flat coordinates ``x0, y0, x1, y1, ...`` of every ring, one after the other.
    ring_offsets : ndarray, int64
        Object ``i`` is ``xy[ring_offsets[i]:ring_offsets[i + 1]]``: ``ring_offsets[0]
        == 0``, the last is ``xy.size``, and each ring has an even number of at least 6
        coordinates (3 points).
    values : sequence of int
        The label of each object.
    threads : int, optional
        As :func:`paint_polygons`.

    Returns
    -------
    ndarray
        ``out``.

    Examples
    --------
    >>> out = np.zeros((4, 6), np.uint8)
    >>> xy = np.array([0, 0, 4, 0, 4, 4, 0, 4, 2, 1, 5, 1, 5, 3], np.float64)
    >>> _ = paint_rings(out, xy, np.array([0, 8, 14]), [1, 2])
    >>> out
    array([[1, 1, 1, 1, 0, 0],
           [1, 1, 1, 2, 2, 0],
           [1, 1, 1, 1, 2, 0],
           [1, 1, 1, 1, 0, 0]], dtype=uint8)
    """
    check_out(out)
    h, w = out.shape
    xy = np.ascontiguousarray(xy, dtype=np.float64)
    offsets = np.ascontiguousarray(ring_offsets, dtype=np.int64)
    if xy.ndim != 1 or offsets.ndim != 1 or offsets.size == 0:
        raise InvalidInputError("xy and ring_offsets must be 1-D, ring_offsets not empty")
    sizes = np.diff(offsets)
    if offsets[0] != 0 or offsets[-1] != xy.size or (sizes.size and (
            sizes.min() < 6 or (sizes & 1).any())):
        raise InvalidPolygonError(
            "ring_offsets must go from 0 to xy.size in steps of an even number of at least "
            "6 coordinates (3 points)")
    if len(values) != sizes.size:
        raise InvalidInputError(f"got {sizes.size} rings but {len(values)} values")
    vals = _check_values(out, values)
    objects = _PackedRings(h, w, xy, offsets)
    threads = resolve_threads(threads)
    if threads > 1 and out.size >= _PARALLEL_MIN_PIXELS and len(vals) > 1:
        ops = np.full(sizes.size, _kc.OP_SET, dtype=np.int64)
        paint_objects(out, objects, vals, ops, threads=threads)
        return out
    # one thread: the kernel that only paints rings (it compiles in a fraction of the
    # time of paint_objects, which also paints runs, multi-part objects and claims)
    objects.check_coordinates(xy)
    target = out if out.flags.c_contiguous else np.ascontiguousarray(out)
    if target.dtype == np.bool_:
        target, vals = target.view(np.uint8), vals.astype(np.uint8)
    _kc.paint_rings(target, xy, offsets, vals, _kc.ROW_BITS_WORDS)
    if target is not out and not np.shares_memory(target, out):
        out[...] = target
    return out


def segmentation_runs(segmentation, height: int, width: int, *, mode: str = "coco"):
    """Half-open pixel runs of one segmentation: ``(starts, ends)`` int64 arrays.

    For ``mode="coco"`` positions are column-major (``p = col * height + row``), the
    order of COCO RLE; for the rasterio modes they are row-major (``p = row * width +
    col``). Runs are sorted, disjoint and clipped to the image.

    Examples
    --------
    >>> s, e = segmentation_runs([0, 0, 2, 2], 3, 3)
    >>> s.tolist(), e.tolist()
    ([0, 3], [2, 5])
    """
    _check_mode(mode)
    h, w = check_image_size(height, width)
    objects = PolygonObjects(h, w, mode)
    objects.add(segmentation)
    xy, ring_offsets, obj_rings, rs, re, _obj_runs = objects.arrays()
    objects.check_coordinates(xy)
    if mode == "coco":
        if obj_rings[1] > 0:
            s, e = _kc.polygon_runs(xy, ring_offsets, 0, int(obj_rings[1]), h, w)
        else:
            s, e = _EMPTY_I64, _EMPTY_I64
        if rs.size:
            s, e = _kc.union_runs(np.concatenate((s, rs)), np.concatenate((e, re)))
        return s, e
    from maskkit._kernels import scanline as _ks

    kern = _ks.polygon_runs_center if mode == "center" else _ks.polygon_runs_all_touched
    pts = xy.reshape(-1, 2)
    ss, ee = [_EMPTY_I64], [_EMPTY_I64]
    for r in range(int(obj_rings[1])):
        a, b = ring_offsets[r] // 2, ring_offsets[r + 1] // 2
        s, e = kern(pts[a:b], np.array([0, b - a], np.int64), h, w)
        ss.append(s)
        ee.append(e)
    return _kc.union_runs(np.concatenate(ss), np.concatenate(ee))


def polygon_to_mask(segmentation, height: int, width: int, *, mode: str = "coco") -> np.ndarray:
    """Rasterise one object into an ``(height, width)`` uint8 mask (1 inside, 0 outside).

    Parameters
    ----------
    segmentation : list, dict
        COCO polygons ``[[x1, y1, x2, y2, ...], ...]`` (parts unioned), a single flat
        polygon, a bbox ``[x, y, w, h]``, or an RLE dict (compressed or not).
    height, width : int
        Image size.
    mode : {"coco", "center", "all_touched"}
        ``"coco"`` equals ``pycocotools.mask.decode(merge(frPyObjects(seg, h, w)))`` pixel for
        pixel; ``"center"``/``"all_touched"`` equal ``rasterio.features.rasterize`` with an
        identity transform and ``all_touched=False``/``True``.

    Examples
    --------
    >>> polygon_to_mask([[1, 1, 4, 1, 4, 3, 1, 3]], 4, 5)
    array([[0, 0, 0, 0, 0],
           [0, 1, 1, 1, 0],
           [0, 1, 1, 1, 0],
           [0, 0, 0, 0, 0]], dtype=uint8)
    """
    h, w = check_image_size(height, width)
    out = np.zeros((h, w), dtype=np.uint8)
    return paint_polygons(out, [segmentation], 1, mode=mode)


def polygon_to_rle(segmentation, height: int, width: int, *, compressed: bool = True) -> dict:
    """COCO RLE of one object (``mode="coco"`` pixels), as ``annToRLE`` gives it.

    Examples
    --------
    >>> polygon_to_rle([[1, 1, 4, 1, 4, 3, 1, 3]], 4, 5)
    {'size': [4, 5], 'counts': '5220003'}
    """
    from maskkit.core.rle import counts_to_rle

    h, w = check_image_size(height, width)
    s, e = segmentation_runs(segmentation, h, w)
    return counts_to_rle(_kr.runs_to_counts(s, e, h * w), h, w, compressed)
