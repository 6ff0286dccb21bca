"""Deterministic synthetic scenes for measuring how semantic-derived counts degrade.

A scene holds ``N`` objects of ``K`` classes (disks, ellipses, star-convex polygons) as COCO
polygons. Objects come in same-class *groups* (a herd, a crowd); ONE control, the signed
boundary ``gap`` in pixels, sets how the members of a group meet:

``gap > 0``
    every member keeps ``gap`` pixels from the others (polygon-to-polygon distance), and is
    exactly ``gap`` from the member it was placed beside. From ``gap >= 1`` the rasterised
    objects are also guaranteed not to be 8-adjacent, so semantic counts are exact.
``gap == 0``
    each member touches the one it was placed beside, and the touch is real in pixels: their
    rasterised footprints are 8-adjacent (or share a pixel), so they merge under
    8-connectivity.
``gap < 0``
    each member reaches ``-gap`` pixels into the one it was placed beside (overlap depth
    along the line of centres) and at most that deep into every other member of its group,
    so the gap bounds every pair of a group as it does for ``gap >= 0`` (groups are chains
    and clusters of overlapping objects, never piles of objects stacked on one spot);
    later objects hide earlier ones.

Different groups always stay apart (same class: at least ``max(gap, 2)`` pixels and never
8-adjacent; different classes: at least 1 pixel), so the degradation measured along the
sweep comes from the control alone. The same ``seed`` draws the same sizes, shapes, classes,
groups and directions at every gap: a sweep moves the same objects closer together.

Every scene measures what it produced (:class:`SceneStats`) from the rasterised pixels,
with pycocotools' pixel rule.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from maskkit.core.rasterize import paint_polygons, segmentation_runs
from maskkit.errors import InvalidInputError, MaskkitTypeError

__all__ = ["SHAPES", "Scene", "SceneStats", "make_scene"]

#: Shape families: one for every object, or ``"mixed"`` (drawn per object).
SHAPES = ("disk", "ellipse", "star", "mixed")

_VERTICES = 32  # per outline: chord error < 0.1 px at radius 20
_CROSS_GROUP_SAME_CLASS = 2.0  # px: groups of one class never merge
_CROSS_CLASS = 1.0  # px: no occlusion between classes
_STEP = 0.25  # px: nudge while making a raster relation hold
_CHILD_ATTEMPTS = 30
_ROOT_ATTEMPTS = 400


@dataclass(frozen=True)
class SceneStats:
    """Overlap statistics measured on a scene's rasterised objects.

    Attributes
    ----------
    objects : int
        Objects in the scene.
    touching_fraction : float
        Share of objects whose pixels touch (8-adjacent) or overlap those of another object
        of the same class: the objects a semantic mask cannot separate with 8-connectivity.
    overlapping_fraction : float
        Share of objects sharing at least one pixel with another object of the same class.
    touching_pairs, overlapping_pairs : int
        Same-class pairs that touch or overlap / that share pixels.
    mean_iou : float
        Mean IoU of the same-class pairs that share pixels (0.0 when none do).
    occluded_fraction : float
        Share of all annotated object pixels hidden under a later object
        (``1 - union / sum of areas``).
    """

    objects: int
    touching_fraction: float
    overlapping_fraction: float
    touching_pairs: int
    overlapping_pairs: int
    mean_iou: float
    occluded_fraction: float

    def as_dict(self) -> dict:
        """The statistics as a plain dict (JSON-ready)."""
        return asdict(self)


@dataclass
class Scene:
    """A generated scene: COCO polygons, classes and measured overlap statistics.

    Attributes
    ----------
    height, width : int
        Image size.
    gap : float
        The overlap control it was made with.
    n_classes : int
        Classes it was drawn from (``1..n_classes``; some may have no object).
    seed : int
        The seed it was made with.
    polygons : list
        One COCO polygon segmentation per object (``[[x1, y1, x2, y2, ...]]``), in paint
        order (later objects are on top).
    classes : ndarray of int64, shape (N,)
        Class of each object, ``1..K``.
    groups : ndarray of int64, shape (N,)
        Group of each object (members of a group share a class).
    areas : ndarray of int64, shape (N,)
        Pixels of each object's full footprint (hidden parts included).
    stats : SceneStats
    """

    height: int
    width: int
    gap: float
    n_classes: int
    seed: int
    polygons: list
    classes: np.ndarray
    groups: np.ndarray
    areas: np.ndarray
    stats: SceneStats

    def __len__(self) -> int:
        return len(self.polygons)

    def instance_map(self, dtype=np.uint16) -> np.ndarray:
        """Object ids ``1..N`` per pixel (0 = background), later objects on top.

        Examples
        --------
        >>> s = make_scene(5, 2, height=64, radius=(4, 8), seed=1)
        >>> ids = s.instance_map()
        >>> ids.shape, ids.dtype, int(ids.max()) <= 5
        ((64, 64), dtype('uint16'), True)
        """
        out = np.zeros((self.height, self.width), dtype=dtype)
        return paint_polygons(out, self.polygons, np.arange(1, len(self) + 1))

    def semantic_map(self, dtype=np.uint8) -> np.ndarray:
        """Class per pixel (0 = background), later objects on top: what
        :func:`maskkit.coco_to_semantic` gives for :meth:`to_coco` with ``overlap="last"``.

        Examples
        --------
        >>> s = make_scene(5, 2, height=64, radius=(4, 8), seed=1)
        >>> sorted(set(s.semantic_map().ravel().tolist()) - {0}) == sorted(s.true_counts())
        True
        """
        out = np.zeros((self.height, self.width), dtype=dtype)
        return paint_polygons(out, self.polygons, self.classes)

    def true_counts(self) -> dict[int, int]:
        """``{class: number of objects}``.

        Examples
        --------
        >>> s = make_scene(6, 1, height=96, radius=(4, 8), seed=0)
        >>> s.true_counts()
        {1: 6}
        """
        cls, n = np.unique(self.classes, return_counts=True)
        return {int(c): int(k) for c, k in zip(cls, n)}

    def to_coco(self, image_id: int = 1, *, file_name: str | None = None) -> dict:
        """The scene as a COCO instances document (one image, one annotation per object).

        ``area`` is the footprint's pixel count (pycocotools' rule), ``bbox`` its pixel box.

        Examples
        --------
        >>> s = make_scene(3, 2, height=64, radius=(4, 8), seed=2)
        >>> doc = s.to_coco()
        >>> len(doc["annotations"]), [c["id"] for c in doc["categories"]]
        (3, [1, 2])
        """
        anns = []
        for i, poly in enumerate(self.polygons):
            xy = np.asarray(poly[0]).reshape(-1, 2)
            x0, y0 = np.floor(xy.min(0))
            x1, y1 = np.ceil(xy.max(0))
            anns.append({
                "id": image_id * 100000 + i + 1, "image_id": image_id,
                "category_id": int(self.classes[i]), "segmentation": poly,
                "area": int(self.areas[i]), "iscrowd": 0,
                "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
            })
        return {
            "images": [{"id": image_id, "height": self.height, "width": self.width,
                        "file_name": file_name or f"scene_{image_id}.png"}],
            "categories": [{"id": c, "name": f"class{c}"} for c in range(1, self.n_classes + 1)],
            "annotations": anns,
        }


# ---------------------------------------------------------------------------------------
# pixel footprints and their relations (also used by maskkit.audit)


def footprint(segmentation, height: int, width: int):
    """``(y0, x0, mask)``: one object's pixels in its own bounding box (pycocotools' rule).

    Built from the object's runs, so no full-size mask is made.
    """
    s, e = segmentation_runs(segmentation, height, width)
    return _footprint_from_runs(s, e, height)


def _footprint_from_runs(s, e, height: int):
    lengths = e - s
    total = int(lengths.sum())
    if total == 0:
        return 0, 0, np.zeros((0, 0), dtype=bool)
    first = np.repeat(s - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    idx = first + np.arange(total)
    xs, ys = np.divmod(idx, height)
    y0, x0 = int(ys.min()), int(xs.min())
    mask = np.zeros((int(ys.max()) - y0 + 1, int(xs.max()) - x0 + 1), dtype=bool)
    mask[ys - y0, xs - x0] = True
    return y0, x0, mask


def _dilate8(mask: np.ndarray) -> np.ndarray:
    """3x3 dilation of a mask padded by one pixel on every side."""
    d = mask.copy()
    d[1:] |= mask[:-1]
    d[:-1] |= mask[1:]
    out = d.copy()
    out[:, 1:] |= d[:, :-1]
    out[:, :-1] |= d[:, 1:]
    return out


def _relation(fa, fb) -> tuple[int, bool]:
    """``(shared pixels, touching)`` of two footprints; touching = 8-adjacent or shared."""
    ya, xa, ma = fa
    yb, xb, mb = fb
    if ma.size == 0 or mb.size == 0:
        return 0, False
    # shared pixels, on the intersection of the two boxes
    y0, y1 = max(ya, yb), min(ya + ma.shape[0], yb + mb.shape[0])
    x0, x1 = max(xa, xb), min(xa + ma.shape[1], xb + mb.shape[1])
    shared = 0
    if y0 < y1 and x0 < x1:
        shared = int(np.count_nonzero(ma[y0 - ya:y1 - ya, x0 - xa:x1 - xa]
                                      & mb[y0 - yb:y1 - yb, x0 - xb:x1 - xb]))
        if shared:
            return shared, True
    # 8-adjacency: a grown by one pixel against b
    py, px = ya - 1, xa - 1
    y0, y1 = max(py, yb), min(py + ma.shape[0] + 2, yb + mb.shape[0])
    x0, x1 = max(px, xb), min(px + ma.shape[1] + 2, xb + mb.shape[1])
    if y0 >= y1 or x0 >= x1:
        return 0, False
    padded = np.zeros((ma.shape[0] + 2, ma.shape[1] + 2), dtype=bool)
    padded[1:-1, 1:-1] = ma
    grown = _dilate8(padded)
    touch = bool((grown[y0 - py:y1 - py, x0 - px:x1 - px]
                  & mb[y0 - yb:y1 - yb, x0 - xb:x1 - xb]).any())
    return 0, touch


def same_class_pairs(footprints, classes):
    """``[(i, j, shared, touching, iou), ...]`` for same-class pairs that touch or overlap."""
    boxes = np.array([(y, x, y + m.shape[0], x + m.shape[1]) for y, x, m in footprints],
                     dtype=np.int64).reshape(-1, 4)
    areas = np.array([int(m.sum()) for _, _, m in footprints], dtype=np.int64)
    pairs = []
    n = len(footprints)
    for i in range(n):
        if areas[i] == 0:
            continue
        near = np.flatnonzero(
            (classes[i + 1:] == classes[i])
            & (boxes[i + 1:, 0] <= boxes[i, 2]) & (boxes[i, 0] <= boxes[i + 1:, 2])
            & (boxes[i + 1:, 1] <= boxes[i, 3]) & (boxes[i, 1] <= boxes[i + 1:, 3])
        ) + i + 1
        for j in near:
            shared, touch = _relation(footprints[i], footprints[j])
            if touch:
                iou = shared / (areas[i] + areas[j] - shared) if shared else 0.0
                pairs.append((i, int(j), shared, touch, iou))
    return pairs, areas


def _measure(footprints, classes, instance_map) -> SceneStats:
    n = len(footprints)
    pairs, areas = same_class_pairs(footprints, classes)
    touching = np.zeros(n, dtype=bool)
    overlapping = np.zeros(n, dtype=bool)
    ious = []
    for i, j, shared, _, iou in pairs:
        touching[[i, j]] = True
        if shared:
            overlapping[[i, j]] = True
            ious.append(iou)
    total = int(areas.sum())
    union = int(np.count_nonzero(instance_map))
    return SceneStats(
        objects=n,
        touching_fraction=float(touching.mean()) if n else 0.0,
        overlapping_fraction=float(overlapping.mean()) if n else 0.0,
        touching_pairs=len(pairs),
        overlapping_pairs=len(ious),
        mean_iou=float(np.mean(ious)) if ious else 0.0,
        occluded_fraction=1.0 - union / total if total else 0.0,
    )


# ---------------------------------------------------------------------------------------
# shapes and placement


def _outline(kind: str, r: float, rng: np.random.Generator) -> np.ndarray:
    """Vertices ``(M, 2)`` around the origin, star-convex about it."""
    rot = rng.uniform(0, 2 * math.pi)
    theta = rot + np.arange(_VERTICES) * (2 * math.pi / _VERTICES)
    if kind == "disk":
        rad = np.full(_VERTICES, r)
    elif kind == "ellipse":
        b = r * rng.uniform(0.5, 0.85)
        phi = theta - rot
        rad = r * b / np.sqrt((b * np.cos(phi)) ** 2 + (r * np.sin(phi)) ** 2)
    else:  # star-convex: a few random harmonics
        rad = np.ones(_VERTICES)
        for j in range(2, 6):
            rad += rng.uniform(-0.14, 0.14) * np.cos(j * theta + rng.uniform(0, 2 * math.pi))
        rad = r * np.maximum(rad, 0.45)
    return np.column_stack((rad * np.cos(theta), rad * np.sin(theta)))


def _reach(verts: np.ndarray, angle: float) -> float:
    """Distance from the centre to the outline along ``angle`` (exact for the polygon)."""
    d = np.array([math.cos(angle), math.sin(angle)])
    a, b = verts, np.roll(verts, -1, axis=0)
    e = b - a
    den = d[0] * e[:, 1] - d[1] * e[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (a[:, 0] * e[:, 1] - a[:, 1] * e[:, 0]) / den
        s = (a[:, 0] * d[1] - a[:, 1] * d[0]) / den
    ok = (den != 0) & (s >= -1e-9) & (s <= 1 + 1e-9) & (t > 0)
    return float(t[ok].max()) if ok.any() else float(np.hypot(verts[:, 0], verts[:, 1]).max())


def _coords(verts, c) -> list:
    """The COCO segmentation of an outline at centre ``c`` (coordinates to 1/1000 px)."""
    return [[round(float(v), 3) for v in (verts + c).ravel()]]


class _Placer:
    """Objects placed so far, with the geometry needed to place the next one."""

    def __init__(self, height, width, gap):
        import shapely

        self.shapely = shapely
        self.h, self.w, self.gap = height, width, gap
        self.centres: list = []
        self.reach: list = []  # max vertex radius
        self.verts: list = []
        self.geoms: list = []
        self.classes: list = []
        self.groups: list = []
        self.fps: list = []

    def polygon(self, verts, c):
        return self.shapely.polygons(verts + c)

    def inside(self, verts, c) -> bool:
        xy = verts + c
        return bool(xy.min() >= 0.5 and xy[:, 0].max() <= self.w - 0.5
                    and xy[:, 1].max() <= self.h - 0.5)

    def footprint(self, verts, c):
        return footprint(_coords(verts, c), self.h, self.w)

    def neighbours(self, c, rmax, within):
        if not self.centres:
            return np.zeros(0, dtype=np.int64)
        cs = np.asarray(self.centres)
        d = np.hypot(cs[:, 0] - c[0], cs[:, 1] - c[1])
        return np.flatnonzero(d < np.asarray(self.reach) + rmax + within + 1.0)

    def required(self, j, cls, group) -> float:
        """Least continuous distance between a new object and object ``j``."""
        if self.classes[j] != cls:
            return _CROSS_CLASS
        if self.groups[j] != group:
            return max(self.gap, _CROSS_GROUP_SAME_CLASS)
        if self.gap == 0:
            return 0.0  # touching members may meet, never cross
        return self.gap if self.gap > 0 else -math.inf

    def acceptable(self, verts, c, cls, group, parent) -> bool:
        """Distances and raster separations hold against every placed object."""
        if not self.inside(verts, c):
            return False
        rmax = float(np.hypot(verts[:, 0], verts[:, 1]).max())
        near = self.neighbours(c, rmax, max(self.gap, _CROSS_GROUP_SAME_CLASS))
        near = near[near != parent] if parent is not None else near
        if near.size == 0:
            return True
        geom = self.polygon(verts, c)
        dist = self.shapely.distance(geom, np.asarray([self.geoms[j] for j in near]))
        fp = None
        for j, d in zip(near, dist):
            need = self.required(j, cls, group)
            if d < need - 1e-6 or (need == 0.0 and d == 0.0):
                return False
            if need == -math.inf and d == 0.0 and self.depth(verts, c, j) > -self.gap + 1e-6:
                return False  # deeper into another member than the gap allows
            # same class, meant to be apart: guarantee no 8-adjacency in pixels
            if self.classes[j] == cls and need >= 1.0 and d < 2.5:
                fp = fp if fp is not None else self.footprint(verts, c)
                if _relation(fp, self.fps[j])[1]:
                    return False
        return True

    def depth(self, verts, c, j) -> float:
        """How far a new object at ``c`` reaches into object ``j`` along their line of
        centres (the overlap depth ``gap < 0`` bounds)."""
        v = np.asarray(c, dtype=float) - self.centres[j]
        dist = float(np.hypot(v[0], v[1]))
        if dist == 0.0:
            return math.inf
        angle = math.atan2(v[1], v[0])
        return _reach(self.verts[j], angle) + _reach(verts, angle + math.pi) - dist

    def add(self, verts, c, cls, group):
        self.centres.append(c)
        self.reach.append(float(np.hypot(verts[:, 0], verts[:, 1]).max()))
        self.verts.append(verts)
        self.geoms.append(self.polygon(verts, c))
        self.classes.append(cls)
        self.groups.append(group)
        self.fps.append(self.footprint(verts, c))

    def beside(self, verts, parent, angle) -> np.ndarray | None:
        """The centre that puts the new object ``gap`` from ``parent`` along ``angle``."""
        u = np.array([math.cos(angle), math.sin(angle)])
        pc = self.centres[parent]
        t = _reach(self.verts[parent], angle) + _reach(verts, angle + math.pi) + self.gap
        if self.gap < 0:
            return pc + max(t, 0.0) * u
        pgeom = self.geoms[parent]
        # touching: aim just apart in continuous terms, then step in until the pixels touch
        target = self.gap if self.gap > 0 else 0.01
        for _ in range(40):
            d = float(self.shapely.distance(self.polygon(verts, pc + t * u), pgeom))
            if d == 0.0:  # the outlines cross away from the line of centres: back off
                t += 1.0
                continue
            if abs(d - target) < 0.01:
                break
            t += target - d  # distance grows at most as fast as t
        c = pc + t * u
        if self.gap == 0:
            for _ in range(12):
                if _relation(self.footprint(verts, c), self.fps[parent])[1]:
                    return c
                t -= _STEP
                c = pc + t * u
            return None
        if self.gap >= 1:
            # apart in pixels too: never 8-adjacent to the parent
            for _ in range(12):
                if not _relation(self.footprint(verts, c), self.fps[parent])[1]:
                    return c
                t += _STEP
                c = pc + t * u
            return None
        return c


def _check_scene_args(n_objects, n_classes, gap, height, width, shape, radius, group_size):
    for name, v in (("n_objects", n_objects), ("n_classes", n_classes)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise MaskkitTypeError(f"{name} must be an integer; got {v!r}")
    if n_objects < 0:
        raise InvalidInputError(f"n_objects must be >= 0; got {n_objects}")
    if not 1 <= n_classes <= 255:
        raise InvalidInputError(f"n_classes must be in 1..255; got {n_classes}")
    if not math.isfinite(float(gap)):
        raise InvalidInputError(f"gap must be a finite number of pixels; got {gap!r}")
    if shape not in SHAPES:
        raise InvalidInputError(f"shape must be one of {SHAPES}; got {shape!r}")
    try:
        rmin, rmax = (float(v) for v in radius)
    except (TypeError, ValueError):
        raise InvalidInputError(f"radius must be (min, max) in pixels; got {radius!r}") from None
    if not 2.0 <= rmin <= rmax:
        raise InvalidInputError(f"radius must satisfy 2 <= min <= max; got {radius!r}")
    if 2 * rmax + 2 > min(height, width):
        raise InvalidInputError(
            f"radius max {rmax} does not fit a {height}x{width} image; use a smaller radius"
        )
    if not group_size >= 1:
        raise InvalidInputError(f"group_size must be >= 1; got {group_size!r}")
    return rmin, rmax


def make_scene(n_objects: int = 50, n_classes: int = 3, *, gap: float = 4.0,
               height: int = 512, width: int | None = None, shape: str = "mixed",
               radius=(8.0, 24.0), group_size: float = 3.0, seed: int = 0) -> Scene:
    """Generate a seeded scene of ``n_objects`` objects of ``n_classes`` classes.

    Parameters
    ----------
    n_objects : int
        Objects in the scene.
    n_classes : int
        Classes ``1..n_classes``; each group draws one uniformly.
    gap : float
        The overlap control, in pixels: the signed boundary gap between members of a group
        (> 0 separated, 0 touching in pixels, < 0 overlapping by ``-gap`` along the line of
        centres). See the module docstring for the guarantees.
    height, width : int
        Image size (``width`` defaults to ``height``).
    shape : {"disk", "ellipse", "star", "mixed"}
        Outline family; ``"mixed"`` draws one per object.
    radius : (float, float)
        Size distribution: object radii are log-uniform between the two values (pixels).
    group_size : float
        Mean objects per same-class group (group sizes are geometric). 1 gives isolated
        objects whatever the gap.
    seed : int
        Everything but the gap is drawn from it, so the same seed at several gaps gives the
        same objects moved closer together.

    Returns
    -------
    Scene
        Polygons, classes, groups, footprint areas and measured :class:`SceneStats`.

    Raises
    ------
    InvalidInputError
        For bad arguments, or when the objects do not fit the image.

    Examples
    --------
    >>> from maskkit.study.synth import make_scene
    >>> apart = make_scene(20, 2, gap=4, height=256, seed=3)
    >>> apart.stats.touching_fraction
    0.0
    >>> touching = make_scene(20, 2, gap=0, height=256, seed=3)
    >>> touching.stats.touching_fraction > 0, touching.stats.overlapping_pairs >= 0
    (True, True)
    >>> make_scene(20, 2, gap=-8, height=256, seed=3).stats.mean_iou > 0
    True
    """
    width = height if width is None else width
    rmin, rmax = _check_scene_args(n_objects, n_classes, gap, height, width, shape, radius,
                                   group_size)
    gap = float(gap)
    rng = np.random.default_rng(seed)
    # everything but the positions is drawn up front, independent of the gap
    kinds = ("disk", "ellipse", "star")
    new_group = rng.random(n_objects) < 1.0 / group_size
    group_class = rng.integers(1, n_classes + 1, size=n_objects)
    radii = np.exp(rng.uniform(math.log(rmin), math.log(rmax), size=n_objects))
    kind_of = rng.integers(0, 3, size=n_objects)
    outlines = [
        _outline(kinds[kind_of[i]] if shape == "mixed" else shape, radii[i], rng)
        for i in range(n_objects)
    ]
    placer = _Placer(height, width, gap)
    group = -1
    members: dict[int, list[int]] = {}
    group_cls: dict[int, int] = {}
    next_group = 0
    for i in range(n_objects):
        verts = outlines[i]
        if i == 0 or new_group[i] or group < 0:
            group, next_group = next_group, next_group + 1
            group_cls[group] = int(group_class[i])
        cls = group_cls[group]
        placed = None
        if members.get(group):
            for attempt in range(_CHILD_ATTEMPTS):
                r = np.random.default_rng([seed, i, attempt])
                group_members = members[group]
                parent = group_members[int(r.integers(len(group_members)))]
                c = placer.beside(verts, parent, float(r.uniform(0, 2 * math.pi)))
                if c is not None and placer.acceptable(verts, c, cls, group, parent):
                    placed = c
                    break
            if placed is None:  # no room beside the group: start a new one
                group, next_group = next_group, next_group + 1
                group_cls[group] = cls
        if placed is None:
            reach = float(np.hypot(verts[:, 0], verts[:, 1]).max()) + 1.0
            for attempt in range(_ROOT_ATTEMPTS):
                r = np.random.default_rng([seed, i, 1000 + attempt])
                c = np.array([r.uniform(reach, width - reach), r.uniform(reach, height - reach)])
                if placer.acceptable(verts, c, cls, group, None):
                    placed = c
                    break
        if placed is None:
            raise InvalidInputError(
                f"could place only {i} of {n_objects} objects in a {height}x{width} image "
                f"(gap {gap}); use fewer or smaller objects, or a larger image"
            )
        placer.add(verts, placed, cls, group)
        members.setdefault(group, []).append(i)

    polygons = [_coords(placer.verts[i], placer.centres[i]) for i in range(n_objects)]
    classes = np.asarray(placer.classes, dtype=np.int64)
    # footprints of the rounded coordinates: exactly what is painted and exported
    fps = [footprint(p, height, width) for p in polygons]
    ids = np.zeros((height, width), dtype=np.uint16 if n_objects < 65535 else np.int32)
    paint_polygons(ids, polygons, np.arange(1, n_objects + 1))
    stats = _measure(fps, classes, ids)
    return Scene(
        height=height, width=width, gap=gap, n_classes=n_classes, seed=seed, polygons=polygons, classes=classes,
        groups=np.asarray(placer.groups, dtype=np.int64),
        areas=np.asarray([int(m.sum()) for _, _, m in fps], dtype=np.int64), stats=stats,
    )
