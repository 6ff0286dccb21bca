"""Split touching objects of a semantic mask, and estimate the true object counts.

A semantic mask loses the boundaries between touching objects of one class: counting its
connected components counts each touching group once.  :func:`split_touching` recovers the
objects by shape, the way CellProfiler's "declump by shape" and scikit-image's
distance-transform + watershed recipe do: an exact Euclidean distance transform
(Felzenszwalb–Huttenlocher, linear time, to the nearest pixel of another value, so classes
bound each other), and a watershed of the distance map restricted to each same-class
component, grown from every regional maximum.  Markers are scale-aware: when
two basins meet, their saddle (the distance value where they first touch) is compared with
their own peak distances (the radii of their largest inscribed circles), never with a
fixed ``min_distance``:

* they are two objects when the saddle is a *neck*: below ``RATIO`` (0.7) times the smaller
  peak and at least ``DEPTH`` (1 px) below it, or ``DEPTH_REL`` (0.15) of the peak for
  small objects (touching objects: a saddle of 1 px);
* a wider saddle (up to ``REACH_RATIO``, 0.85, of the smaller peak) still separates two
  overlapping objects when the smaller basin's peak lies outside the larger one's inscribed
  circle (``REACH``);
* a basin whose peak is under ``SIZE_RATIO`` (a quarter) of its neighbour's is a protrusion
  of that object (a leg, a lobe), not an object of its own.

So a large object is not cut into pieces and a small one is not swallowed.  These rules
assume compact objects (disks, ellipses, grains, cells).  Objects with limbs (people,
horses, chairs) have distance maxima in their heads, hands and feet, so a second,
class-level check follows: when the objects a class splits into fill their moment ellipse
poorly (median :func:`object_fill` below ``SHAPE_GATE``, 0.93, or the area-weighted median
below 0.90; compact shapes score 0.95-1.0 whatever their elongation), or are mostly bits
of a few large objects (``SHAPE_GATE_SHRED``), each split of that class stands only if its
saddle is below ``STRICT_NECK`` (0.5) of the smaller peak *and* the smaller-peaked part
holds at least ``STRICT_AREA`` (a half) of the class's typical object area; otherwise the
two parts are merged back.  Compact classes are left as the neck rule split them.

Everything is decided by the distance map and the raster positions only: the result does
not depend on the class values or the order in which objects were drawn.

:func:`estimate_counts` turns that into counts per class with a low–high range; its
default method, ``"combined"``, adds the objects an unsplit clump holds by its area in
classes of compact objects of similar size (:func:`area_multiples`), and, in compact
classes of any sizes, by its shape (:func:`disc_multiples`): an object its moment ellipse
explains badly is covered greedily by inscribed disks, and a disk mostly outside the
larger ones, behind a dip of the distance map, is one more object.  That finds a small
object overlapping a large one by up to half its radius, which leaves no distance maximum
of its own for the flood to grow from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from maskkit.errors import InvalidInputError, MaskkitTypeError

__all__ = ["METHODS", "area_multiples", "disc_multiples", "estimate_counts", "object_fill", "single_object_area",
           "split_touching"]

#: ``estimate_counts`` methods.
METHODS = ("combined", "split", "area", "components")

#: A saddle narrower than this share of the smaller peak distance separates two objects.
RATIO = 0.7
#: ... and it must also lie at least this many pixels below that peak, or DEPTH_REL of the
#: peak when that is less (small objects: a 3 px radius has saddles 0.5 px deep).
DEPTH = 1.0
DEPTH_REL = 0.15
#: A basin whose peak distance is below this share of its neighbour's is part of it.
SIZE_RATIO = 0.25
#: A wider saddle (below REACH_RATIO of the smaller peak) still separates two basins whose
#: peaks are farther apart than the larger peak plus REACH times the smaller one.
REACH = 0.0
REACH_RATIO = 0.85
#: Class-shape check: when the objects of a class fill their moment ellipses less than
#: this (median of :func:`object_fill`), its splits are re-examined with the two rules below.
SHAPE_GATE = 0.93
#: ... or when the area-weighted median fill (the object holding a typical pixel) is below
#: SHAPE_GATE minus this margin.
SHAPE_GATE_WEIGHTED_MARGIN = 0.03
#: ... or when the class is shredded: of at least SHRED_MIN_OBJECTS objects, its median
#: object is smaller than SHAPE_GATE_SHRED times the object holding a typical pixel (most
#: objects are bits of a few large ones).
SHAPE_GATE_SHRED = 0.25
SHRED_MIN_OBJECTS = 8  # (a few objects of different sizes are not a shredded class)
#: The check is repeated on its own result at most this many times (while it merges).
SHAPE_PASSES = 2
#: ... a split of such a class stands only if its saddle is below STRICT_NECK times the
#: smaller peak ...
STRICT_NECK = 0.5
#: ... and the smaller-peaked part holds at least STRICT_AREA times the class's typical
#: object area (the area-weighted median: the size of the object holding a typical pixel).
STRICT_AREA = 0.5
#: ``method="combined"``: the area correction of :func:`area_multiples` applies to classes
#: of at least COMBINED_MIN_OBJECTS objects whose areas' quartiles lie within
#: COMBINED_SPREAD of each other, to objects of COMBINED_MULTIPLE times the median area or
#: more that fill their moment ellipse less than COMBINED_FILL ...
COMBINED_MIN_OBJECTS = 8
COMBINED_SPREAD = 2.5
COMBINED_MULTIPLE = 1.7
COMBINED_FILL = 0.95
#: ... and whose largest inscribed radius is at most COMBINED_PEAK times the median one.
COMBINED_PEAK = 1.6
#: ``method="combined"`` also uses :func:`disc_multiples`: a greedy cover of each object by
#: inscribed disks (kernel ``disc_cover``; at most DISC_MAX disks, each of DISC_MIN_RADIUS
#: px and DISC_MIN_REL times its class's median peak distance or more, with DISC_ACCEPT of
#: its area outside the disks before it) counts a disk as one more object when DISC_FREE of
#: its area lies outside the disks before it and the distance map dips below DISC_DIP times
#: its radius on the way to the nearest of them (a neck or notch, not the flat ridge of a
#: bar or an ellipse's end) ...
DISC_ACCEPT = 0.3
DISC_FREE = 0.6
DISC_DIP = 0.95
DISC_MIN_RADIUS = 4.0
DISC_MIN_REL = 0.4
DISC_MAX = 8
#: ... in objects whose moment ellipse leaves more than DISC_ELLIPSE_RESIDUAL of their area
#: unexplained, of classes of COMBINED_MIN_OBJECTS or more whose cleanest quarter of objects
#: leaves at most DISC_CLASS_RESIDUAL (the lower quartile: single objects are ellipses,
#: whatever share of clumps there is; boxy or occluded things such as parked cars, 0.17,
#: are left alone).
DISC_ELLIPSE_RESIDUAL = 0.08
DISC_CLASS_RESIDUAL = 0.12
#: In a class of similar sizes (where :func:`area_multiples` applies too) an object counts
#: at most ``floor(area / median area + DISC_AREA_SLACK)`` by its disks: crossing grains
#: have ends mostly outside each other's disks, but only the area of two grains.
DISC_AREA_SLACK = 0.7
#: Neck ratios of the counts that bound the estimate of ``method="split"``: the low count
#: also drops the reach rule and tightens the class-shape check (0.7 STRICT_NECK, 1.5
#: STRICT_AREA), the high one halves DEPTH, applies the reach rule to any saddle and
#: loosens the check (1.4 STRICT_NECK, STRICT_AREA / 2).
RATIO_LOW, RATIO_HIGH = 0.55, 0.85

_NEIGHBOURS = {4: 6, 8: 26}


def _offsets(connectivity: int, ndim: int):
    conn = _NEIGHBOURS.get(connectivity, connectivity) if ndim == 2 else connectivity
    dz, dy, dx = [], [], []
    for z in (-1, 0, 1) if ndim == 3 else (0,):
        for y in (-1, 0, 1):
            for x in (-1, 0, 1):
                k = abs(z) + abs(y) + abs(x)
                if k == 0 or (conn == 6 and k > 1) or (conn == 18 and k > 2):
                    continue
                dz.append(z)
                dy.append(y)
                dx.append(x)
    return (np.asarray(dz, np.int64), np.asarray(dy, np.int64), np.asarray(dx, np.int64))


def _check_mask(mask, connectivity, background, ignore):
    from maskkit.core.checks import as_array, background_value, check_connectivity, check_ignore

    mask = as_array(mask, "mask")
    conn = check_connectivity(connectivity, mask.ndim)
    bg = background_value(background, mask.dtype)
    ign = check_ignore(ignore)
    return mask, conn, bg, ign


class _Prepared:
    """Distance map and flood order of a mask, shared by several floods."""

    def __init__(self, mask, conn, bg, ign, scratch):
        from maskkit._kernels import split as k

        if mask.dtype.kind == "b":
            mask = mask.view(np.uint8)
        if not mask.dtype.isnative:
            mask = mask.astype(mask.dtype.newbyteorder("="))
        mask = np.ascontiguousarray(mask)
        self.shape = mask.shape
        vol = mask.reshape((1, *mask.shape)) if mask.ndim == 2 else mask
        self.nz, self.ny, self.nx = vol.shape
        self.vals = vol.reshape(-1)
        info = np.iinfo(mask.dtype)
        ign = ign[(ign >= info.min) & (ign <= info.max) & (ign != int(bg))]
        self.fg = np.empty(mask.size, np.uint8)
        self.nfg = k.foreground(self.vals, bg, ign.astype(mask.dtype), self.fg)
        # exact squared EDT to the nearest pixel of another value (so classes and the
        # background bound each other); outside the image is not a boundary, so an object
        # cut by the border keeps its depth there
        reach = sum(n * n for n in mask.shape)
        small = reach < 2**31 - 1
        self.big = 2**31 - 1 if small else 2**62
        self.sq = np.empty(mask.size, np.int32 if small else np.int64)
        k.distance_sq(self.vals, self.fg, self.nz, self.ny, self.nx, self.big, self.sq)
        self.cap = float(reach)
        self.order = np.empty(self.nfg, np.int32 if mask.size < 2**31 else np.int64)
        # component by component, so the flood stays in cache (``scratch``, an int32
        # array of the mask's size, holds the component labels meanwhile)
        from maskkit.core.label import label

        comp, ncomp = label(mask, conn, background=int(bg), out=scratch, return_count=True)
        self.ncomp = int(ncomp)
        self.start = np.zeros(self.ncomp + 2, np.int64)
        got = k.order_by_component(comp.reshape(-1), self.fg, self.sq, self.cap, self.ncomp,
                                   self.order, self.start)
        if got != self.nfg:  # pragma: no cover - the kernels' own consistency check
            raise RuntimeError("split: the flood order lost pixels")
        self.offsets = _offsets(conn, mask.ndim)
        # where the flood kept two regions apart (for merge_unlike); grown when short
        self._edge_room(self.nfg // 32 + 1024)

    def flood(self, rule: dict, min_dist2, lab):
        from maskkit._kernels import split as k

        while True:
            parent, peak_at, nreg, peak, nedge = k.flood_split(
                self.sq, self.cap, self.order, self.start, self.ncomp, self.nz, self.ny,
                self.nx, *self.offsets, float(rule["ratio"]), float(rule["depth"]),
                float(rule["depth_rel"]), float(min_dist2), float(rule["size_ratio"]),
                float(rule["reach"]), float(rule["reach_ratio"]), lab, self.edges,
                self.edge_s)
            if nedge <= self.edge_s.size:
                break
            self._edge_room(4 * self.edge_s.size)  # rare: many long boundaries
            lab[:] = 0
        area, mom = k.region_stats(lab, self.nx, nreg)
        self.last = (area, mom)
        self.lab = lab
        # the class-shape check is 2-D (the moments are in-plane)
        if nedge and self.nz == 1 and rule["shape_gate"] > 0:
            self._merge_unlike(rule, parent, peak_at, nreg, peak, area, mom, nedge)
        return parent, peak_at, nreg

    def _edge_room(self, n):
        self.edges = np.empty((n, 2), np.int64)
        self.edge_s = np.empty(n, np.float64)

    def objects(self, parent, peak_at, nreg):
        """Class, pixel count, :func:`object_fill` (NaN in 3-D) and peak distance (the
        radius of the largest inscribed disk) of every object of the last flood."""
        from maskkit._kernels import split as k

        roots, tot, tmom = k.root_stats(parent, nreg, *self.last)
        fill = object_fill(tot, tmom.reshape(-1, 5)) if self.nz == 1 else \
            np.full(roots.size, math.nan)
        at = peak_at[roots]
        peaks = np.sqrt(np.minimum(self.sq[at].astype(np.float64), self.cap))
        return self.vals[at], tot, fill, peaks

    def discs(self, parent, nreg, cls, peaks):
        """Per object of the last flood (the order, classes ``cls`` and peak distances
        ``peaks`` of :meth:`objects`): its moment ellipse's residual and the extra disks
        of a greedy disk cover (kernel ``disc_cover``; a disk counts when its radius is at
        least ``DISC_MIN_RADIUS`` px and ``DISC_MIN_REL`` times its class's median peak
        distance, and ``DISC_FREE`` of it lies outside the disks before it); zeros in
        3-D."""
        from maskkit._kernels import split as k

        roots, _, _ = k.root_stats(parent, nreg, *self.last)
        if self.nz != 1:
            return np.zeros(roots.size), np.zeros(roots.size, np.int64)
        r_min = np.full(roots.size, DISC_MIN_RADIUS)
        free = np.full(roots.size, DISC_FREE)
        for _, members in _by_class(cls):
            r_min[members] = max(DISC_MIN_RADIUS, DISC_MIN_REL * float(np.median(peaks[members])))
        return k.disc_cover(self.lab, self.order, parent, roots, nreg, self.sq, self.cap,
                            self.nx, DISC_ACCEPT, free, DISC_DIP, r_min, DISC_MAX,
                            DISC_ELLIPSE_RESIDUAL)

    def _merge_unlike(self, rule, parent, peak_at, nreg, peak, area, mom, nedge):
        """The class-shape check (module docstring): in classes whose objects are not
        compact, keep only narrow-necked splits into parts of a typical object's size.
        Repeated (up to SHAPE_PASSES times) while it merges: once limbs cut into bits are
        back with their bodies, the typical object is the whole body, and a head that
        looked like a typical bit is seen as the fragment it is."""
        from maskkit._kernels import split as k

        for _ in range(SHAPE_PASSES):
            roots, tot, tmom = k.root_stats(parent, nreg, area, mom)
            fill = object_fill(tot, tmom.reshape(-1, 5))
            cls = self.vals[peak_at[roots]]
            typical = np.zeros(nreg + 1)
            strict = np.zeros(nreg + 1, np.bool_)
            for _, members in _by_class(cls):
                idx = roots[members]
                # the size and shape of the object holding a typical pixel: robust to
                # the fragments an over-split makes
                typical[idx] = _weighted_median(tot[members], tot[members])
                shredded = (members.size >= SHRED_MIN_OBJECTS and np.median(tot[members])
                            < SHAPE_GATE_SHRED * typical[idx[0]])
                # a class is checked when its typical object, or the object holding a
                # typical pixel, is not compact (limbs shredded into compact bits hide
                # behind the first, the few large limbed objects among them show in the
                # second), or when most of its objects are bits of a few large ones
                strict[idx] = (shredded or np.median(fill[members]) < rule["shape_gate"]
                               or _weighted_median(fill[members], tot[members])
                               < rule["shape_gate"] - SHAPE_GATE_WEIGHTED_MARGIN)
            if not strict.any():
                return
            obj_area = np.zeros(nreg + 1, np.int64)
            obj_area[roots] = tot
            merged = k.merge_unlike(parent, peak, peak_at, obj_area, self.edges, self.edge_s,
                                    nedge, typical, strict, float(rule["strict_neck"]),
                                    float(rule["strict_area"]))
            if not merged:
                return


def _rule(**changes) -> dict:
    """The neck rule's settings (the module constants, read at call time)."""
    return {"ratio": RATIO, "depth": DEPTH, "depth_rel": DEPTH_REL, "size_ratio": SIZE_RATIO, "reach": REACH,
            "reach_ratio": REACH_RATIO, "shape_gate": SHAPE_GATE, "strict_neck": STRICT_NECK,
            "strict_area": STRICT_AREA, **changes}


def object_fill(area, moments) -> np.ndarray:
    """How well objects fill the ellipse of their second moments: ``area / (4 pi
    sqrt(det C))`` with ``C`` the covariance of the pixel centres (plus 1/12 per axis,
    a pixel's own spread).  About 1 for disks, ellipses and other convex blobs of any
    elongation (0.95 for a square), lower for shapes whose pixels lie far from their
    centre for their area: limbs, crosses, rings, L shapes.

    Parameters
    ----------
    area : array_like, shape (N,)
        Pixel counts.
    moments : array_like, shape (N, 5)
        Per object, the sums of ``y, x, y*y, x*x, x*y`` over its pixels.

    Returns
    -------
    ndarray of float64, shape (N,)

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.nonzero(np.hypot(*np.mgrid[-20:21, -20:21]) <= 20)
    >>> sums = [[yy.sum(), xx.sum(), (yy * yy).sum(), (xx * xx).sum(), (xx * yy).sum()]]
    >>> round(float(object_fill([yy.size], sums)[0]), 2)
    1.0
    """
    a = np.maximum(np.asarray(area, dtype=np.float64), 1.0)
    m = np.asarray(moments, dtype=np.float64).reshape(-1, 5) / a[:, None]
    vy = m[:, 2] - m[:, 0] ** 2 + 1 / 12
    vx = m[:, 3] - m[:, 1] ** 2 + 1 / 12
    cxy = m[:, 4] - m[:, 0] * m[:, 1]
    det = np.maximum(vy * vx - cxy * cxy, 1 / 144)
    return a / (4 * math.pi * np.sqrt(det))


def _check_min_distance(min_distance) -> float:
    if min_distance is None:
        return 0.0
    if isinstance(min_distance, bool) or not isinstance(min_distance, (int, float, np.number)):
        raise MaskkitTypeError(f"min_distance must be a number of pixels or None; got "
                               f"{min_distance!r}")
    if not math.isfinite(float(min_distance)) or min_distance < 0:
        raise InvalidInputError(f"min_distance must be a finite number >= 0; got {min_distance}")
    return float(min_distance) ** 2


def split_touching(mask, *, connectivity: int = 8, background: int = 0, ignore=(255,),
                   min_distance=None, out=None) -> np.ndarray:
    """Split every same-class component of a mask into the objects it most likely holds.

    Parameters
    ----------
    mask : array_like of int or bool, shape (H, W) or (Z, Y, X)
        A semantic mask (a class per pixel) or a binary mask.  Never modified.
    connectivity : int, default 8
        Which same-class pixels belong together: 4 or 8 for 2-D, 6, 18 or 26 for 3-D.
    background : int, default 0
        The value of pixels that hold no object.
    ignore : sequence of int, default (255,)
        Values that are not classes either (their pixels get label 0).
    min_distance : float, optional
        Also merge two objects whose distance peaks are closer than this (pixels).  By
        default only the scale-aware neck rule decides (see the module docstring).
    out : ndarray of int32, optional
        Where to write the labels (the mask's shape).

    Returns
    -------
    ndarray of int32
        ``0`` for background, ``1..N`` for the objects, numbered in raster order of their
        first pixel.  Pixels of different classes never share an object.  The result
        depends on pixel positions only, not on the class values.

    Raises
    ------
    InvalidInputError, MaskkitTypeError
        For a mask that is not a 2-D/3-D integer or bool array, or bad options.

    Examples
    --------
    >>> import numpy as np
    >>> from maskkit.core.split import split_touching
    >>> yy, xx = np.mgrid[:20, :40]
    >>> two = ((yy - 10) ** 2 + (xx - 10) ** 2 < 81) | ((yy - 10) ** 2 + (xx - 26) ** 2 < 81)
    >>> labels = split_touching(two.astype(np.uint8))
    >>> int(labels.max()), labels[10, 10] != labels[10, 26]
    (2, np.True_)
    """
    from maskkit._kernels import split as k

    mask, conn, bg, ign = _check_mask(mask, connectivity, background, ignore)
    min_dist2 = _check_min_distance(min_distance)
    if out is None:
        out = np.empty(mask.shape, np.int32)  # every pixel is written below
    else:
        if not isinstance(out, np.ndarray) or out.dtype != np.int32 or out.shape != mask.shape:
            raise InvalidInputError(
                f"out must be an int32 array of the mask's shape {mask.shape}; got "
                f"{getattr(out, 'dtype', type(out).__name__)} {getattr(out, 'shape', '')}")
        if not out.flags.c_contiguous:
            raise InvalidInputError("out must be C-contiguous; got a strided array")
    if mask.size == 0:
        return out
    prep = _Prepared(mask, conn, bg, ign, scratch=out)
    flat = out.reshape(-1)
    flat[:] = 0
    parent, _, nreg = prep.flood(_rule(), min_dist2, flat)
    k.relabel(flat, parent, nreg)
    return out


def _class_counts(prep: _Prepared, rule: dict, min_dist2, lab, extra=None) -> dict[int, int]:
    """Objects per class of one flood; with ``extra`` (a dict), also fill it with the
    objects the combined method adds per class: per object the larger of
    :func:`area_multiples` and :func:`disc_multiples` (the latter bounded by the area in a
    class of similar sizes, ``DISC_AREA_SLACK``)."""
    lab[:] = 0
    parent, peak_at, nreg = prep.flood(rule, min_dist2, lab)
    cls, area, fill, peaks = prep.objects(parent, peak_at, nreg)
    discs = prep.discs(parent, nreg, cls, peaks) if extra is not None else None
    counts: dict[int, int] = {}
    for c, members in _by_class(cls):
        counts[c] = int(members.size)
        if extra is not None:
            by_shape = disc_multiples(fill[members], *(d[members] for d in discs))
            a = area[members].astype(np.float64)
            if _similar_population(a, fill[members]):
                # objects of similar size: a clump's disks are bounded by its area
                cap = np.floor(a / np.median(a) + DISC_AREA_SLACK).astype(np.int64)
                by_shape = np.minimum(by_shape, np.maximum(cap, 1))
            n = np.maximum(area_multiples(area[members], fill[members], peaks[members]),
                           by_shape)
            extra[c] = int(n.sum()) - members.size
    return counts


def disc_multiples(fills, ellipse_residuals, extra_discs) -> np.ndarray:
    """How many objects each split object of one class holds by its shape: the second
    correction of ``estimate_counts(method="combined")``, for overlapping objects that
    leave no distance maximum of their own (a small object over a large one).

    Per object, ``ellipse_residuals`` says how badly its moment ellipse explains it and
    ``extra_discs`` how many inscribed disks mostly outside its larger ones a greedy disk
    cover finds (kernel ``disc_cover``: disks of radius ``DISC_MIN_RADIUS`` px or more with
    ``DISC_FREE`` of their area outside the disks before them).  An object counts ``1 +
    extra_discs`` only when its class is compact (median :func:`object_fill` of at least
    ``SHAPE_GATE``: objects with limbs are left alone), a population (at least
    ``COMBINED_MIN_OBJECTS`` objects) whose single objects are ellipses (lower quartile of
    the residuals at most ``DISC_CLASS_RESIDUAL``: boxy or occluded things are left
    alone), and the
    object is clearly not one ellipse (residual above ``DISC_ELLIPSE_RESIDUAL``); 1
    otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> fills = np.full(8, 0.98)
    >>> residuals = np.array([0.01, 0.2, 0.02, 0.03, 0.01, 0.02, 0.04, 0.02])
    >>> disc_multiples(fills, residuals, np.array([0, 1, 1, 0, 0, 0, 0, 0])).tolist()
    [1, 2, 1, 1, 1, 1, 1, 1]
    """
    f = np.asarray(fills, dtype=np.float64)
    out = np.ones(f.size, np.int64)
    res = np.asarray(ellipse_residuals, dtype=np.float64)
    if (f.size < COMBINED_MIN_OBJECTS or not np.median(f) >= SHAPE_GATE  # NaN: 3-D
            or not np.percentile(res, 25) <= DISC_CLASS_RESIDUAL):
        return out
    more = np.asarray(extra_discs, dtype=np.int64)
    clump = res > DISC_ELLIPSE_RESIDUAL
    out[clump] += more[clump]
    return out


def _weighted_median(values, weights) -> float:
    """The value at which the weights' cumulative sum first reaches half its total.

    Examples
    --------
    >>> _weighted_median([0.8, 1.0, 1.0], [900, 50, 50])  # a typical pixel's object
    0.8
    """
    v = np.asarray(values, dtype=np.float64)
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(np.asarray(weights, dtype=np.float64)[order])
    return float(v[order][np.searchsorted(cum, cum[-1] / 2)])


def _by_class(cls):
    order = np.argsort(cls, kind="stable")
    bounds = np.flatnonzero(np.diff(cls[order])) + 1
    for members in np.split(order, bounds):
        if members.size:
            yield int(cls[members[0]]), members


def _similar_population(a, f) -> bool:
    """Whether one class's objects (areas ``a``, fills ``f``) are a population of compact
    objects of similar size, where :func:`area_multiples` applies."""
    if a.size < COMBINED_MIN_OBJECTS or not np.median(f) >= SHAPE_GATE:  # NaN: 3-D
        return False
    q1, q3 = np.percentile(a, [25, 75])
    return bool(q3 <= COMBINED_SPREAD * q1)


def area_multiples(areas, fills, peaks=None) -> np.ndarray:
    """How many objects each split object of one class holds by its area: the
    correction of ``estimate_counts(method="combined")``.

    An object counts ``round(area / typical)`` (``typical``: the median area) when the
    class is a population of compact objects of similar size (at least
    ``COMBINED_MIN_OBJECTS`` objects, median :func:`object_fill` of at least
    ``SHAPE_GATE``, upper quartile of the areas within ``COMBINED_SPREAD`` times the
    lower one) and the object is a clear multiple (``area >= COMBINED_MULTIPLE *
    typical``), not a clean ellipse (``fill < COMBINED_FILL``) and, when ``peaks`` (the
    objects' largest inscribed radii) are given, no thicker than a typical object
    (``peak <= COMBINED_PEAK * median peak``): large because it holds several typical
    objects the split kept together, not because it is one large object.  1 otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> areas = np.array([100, 96, 104, 110, 90, 98, 102, 105, 310])
    >>> area_multiples(areas, np.array([0.99] * 8 + [0.85])).tolist()
    [1, 1, 1, 1, 1, 1, 1, 1, 3]
    >>> area_multiples(areas, np.array([0.99] * 9)).tolist()  # one large, clean ellipse
    [1, 1, 1, 1, 1, 1, 1, 1, 1]
    >>> peaks = np.array([5.6] * 8 + [9.9])  # one large object: thick as it is large
    >>> area_multiples(areas, np.array([0.99] * 8 + [0.85]), peaks).tolist()
    [1, 1, 1, 1, 1, 1, 1, 1, 1]
    """
    a = np.asarray(areas, dtype=np.float64)
    f = np.asarray(fills, dtype=np.float64)
    out = np.ones(a.size, np.int64)
    if not _similar_population(a, f):
        return out
    typical = np.median(a)
    ratio = a / typical
    several = (ratio >= COMBINED_MULTIPLE) & (f < COMBINED_FILL)
    if peaks is not None:
        pk = np.asarray(peaks, dtype=np.float64)
        several &= pk <= COMBINED_PEAK * np.median(pk)
    out[several] = np.rint(ratio[several]).astype(np.int64)
    return out


def _check_object_area(object_area):
    if object_area is None:
        return None
    if isinstance(object_area, Mapping):
        return {int(c): _check_object_area(a) for c, a in object_area.items()}
    if isinstance(object_area, bool) or not isinstance(object_area, (int, float, np.number)):
        raise MaskkitTypeError(f"object_area must be a number of pixels, a mapping class -> "
                               f"pixels, or None; got {object_area!r}")
    if not math.isfinite(float(object_area)) or object_area <= 0:
        raise InvalidInputError(f"object_area must be a positive number of pixels; got "
                                f"{object_area}")
    return float(object_area)


def single_object_area(areas) -> float:
    """The area of one object learned from the component areas of one class: their median.

    Merged groups only make components larger, so this is right while most components
    are single objects and too large (the count too low) when most are merged groups; pass
    ``object_area`` to :func:`estimate_counts` when the object size is known.

    Examples
    --------
    >>> single_object_area([100, 110, 90, 205, 310, 95])
    105.0
    """
    a = np.asarray(areas, dtype=np.float64)
    return float(np.median(a)) if a.size else math.nan


def _area_counts(classes, areas, object_area):
    out = {}
    for c in np.unique(classes).tolist():
        a = areas[classes == c].astype(np.float64)
        given = object_area.get(c) if isinstance(object_area, dict) else object_area
        one = given if given is not None else single_object_area(a)
        n = a / one
        out[int(c)] = (int(a.size), int(np.maximum(1, np.rint(n)).sum()),
                       int(np.maximum(1, np.rint(n / 1.3)).sum()),
                       int(np.maximum(1, np.rint(n * 1.3)).sum()))
    return out


def estimate_counts(mask, *, method: str = "combined", connectivity: int = 8,
                    object_area=None, background: int = 0, ignore=(255,),
                    min_distance=None) -> dict[int, dict[str, int]]:
    """Estimate how many objects each class of a semantic mask holds.

    Parameters
    ----------
    mask : array_like of int or bool, shape (H, W) or (Z, Y, X)
        A semantic (or binary) mask.  Never modified.
    method : {"combined", "split", "area", "components"}, default "combined"
        ``"components"``: connected components (today's count; exact when objects never
        touch).  ``"split"``: objects of :func:`split_touching`; ``low``/``high`` are its
        counts with a stricter and a looser neck rule (see ``RATIO_LOW``).  ``"area"``:
        each component's area over one object's area, at least 1 per component; the
        object area is learned per class from the mask (:func:`single_object_area`)
        unless ``object_area`` gives it; ``low``/``high`` assume objects 30 % larger /
        smaller.  It costs about one count; ``"split"`` a distance transform more.
        ``"combined"`` (the default): the ``"split"`` count, plus, in classes of compact
        objects of similar size, the objects that a split object holds by its area
        (:func:`area_multiples`: overlapping objects the split could not separate), or,
        in classes of compact objects of any sizes, by its shape (:func:`disc_multiples`:
        a small object over a large one), whichever is larger; the correction is added
        to the estimate and the high end.  Where neither applies it equals ``"split"``.
    connectivity : int, default 8
        4 or 8 (2-D), 6, 18 or 26 (3-D).
    object_area : float or mapping class -> float, optional
        ``method="area"``: the area of one object in pixels (per class with a mapping).
    background, ignore, min_distance
        As for :func:`split_touching`.

    Returns
    -------
    dict
        ``{class: {"components": int, "estimate": int, "low": int, "high": int}}`` for
        every class present, in increasing class order, with
        ``components <= low <= estimate <= high``.

    Examples
    --------
    >>> import numpy as np
    >>> from maskkit.core.split import estimate_counts
    >>> yy, xx = np.mgrid[:20, :40]
    >>> two = ((yy - 10) ** 2 + (xx - 10) ** 2 < 81) | ((yy - 10) ** 2 + (xx - 26) ** 2 < 81)
    >>> estimate_counts(two.astype(np.uint8))
    {1: {'components': 1, 'estimate': 2, 'low': 1, 'high': 2}}
    >>> estimate_counts(two.astype(np.uint8), method="area", object_area=250)
    {1: {'components': 1, 'estimate': 2, 'low': 2, 'high': 3}}
    """
    from maskkit.core.count import component_areas

    if method not in METHODS:
        raise InvalidInputError(f"method must be one of {METHODS}; got {method!r}")
    mask, conn, bg, ign = _check_mask(mask, connectivity, background, ignore)
    object_area = _check_object_area(object_area)
    min_dist2 = _check_min_distance(min_distance)
    if bg != 0:
        # component_areas treats 0 as background: move the caller's background there
        mask = np.where(mask == bg, 0, np.where(mask == 0, bg, mask)).astype(mask.dtype)
        bg = mask.dtype.type(0)
    classes, areas = component_areas(mask, connectivity=conn, ignore=ign)
    if classes.size == 0:
        return {}
    if method == "components":
        cls, n = np.unique(classes, return_counts=True)
        return {int(c): {"components": int(k), "estimate": int(k), "low": int(k),
                         "high": int(k)} for c, k in zip(cls, n)}
    if method == "area":
        table = _area_counts(classes, areas, object_area)
    else:
        comps = dict(zip(*(v.tolist() for v in np.unique(classes, return_counts=True))))
        lab = np.empty(mask.shape, np.int32)
        prep = _Prepared(mask, conn, bg, ign, scratch=lab)
        lab = lab.reshape(-1)
        extra: dict[int, int] | None = {} if method == "combined" else None
        mid = _class_counts(prep, _rule(), min_dist2, lab, extra)
        lo = _class_counts(prep, _rule(ratio=RATIO_LOW, reach=-1.0,
                                       strict_neck=STRICT_NECK * 0.7,
                                       strict_area=min(1.0, STRICT_AREA * 1.5)), min_dist2, lab)
        hi = _class_counts(prep, _rule(ratio=RATIO_HIGH, depth=DEPTH / 2, reach_ratio=1.0,
                                       strict_neck=min(1.0, STRICT_NECK * 1.4),
                                       strict_area=STRICT_AREA / 2),
                           min_dist2, lab)
        table = {c: (n, mid.get(c, n), lo.get(c, n), hi.get(c, n)) for c, n in comps.items()}
        if extra:  # combined: the area correction adds to the estimate and to the high end
            table = {c: (n, est + extra.get(c, 0), lo, hi + extra.get(c, 0))
                     for c, (n, est, lo, hi) in table.items()}
    out = {}
    for c in sorted(table):
        n, est, lo, hi = table[c]
        est = max(est, n)
        out[c] = {"components": n, "estimate": est, "low": max(n, min(lo, est)),
                  "high": max(hi, est)}
    return out
