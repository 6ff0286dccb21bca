"""Vector polygons with real-world coordinates -> label maps on a raster grid.

:func:`rasterize_geometries` is the in-memory counterpart of
``rasterio.features.rasterize`` for polygons: the same pixels, bit for bit, in both of
GDAL's modes (pixel centres, ``all_touched``), for any invertible affine transform
(north-up, rotated or sheared).  GDAL rasterises in pixel space: it maps every vertex
through the inverse geotransform (``GDALInvGeoTransform``, then ``x' = g0 + x*g1 + y*g2``)
and scan-converts the result; maskkit does the same arithmetic, in the same order, then
runs the scanline kernels of :mod:`maskkit._kernels.scanline`.

The file job, :func:`maskkit.rasterize_vector`, is in :mod:`maskkit.datasets.vector`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from maskkit._jit import resolve_threads, using_threads
from maskkit._shapely import as_shapely
from maskkit.errors import (
    InvalidInputError,
    InvalidPolygonError,
    MaskkitTypeError,
)
from maskkit.limits import check_image_size

__all__ = ["burn", "check_int_values", "gdal_geotransform", "inverse_geotransform", "prepare_geometries",
           "rasterize_geometries", "smallest_dtype"]

INVALID_POLICIES = ("repair", "reject", "keep")


_POLYGONAL = ("Polygon", "MultiPolygon")


# ------------------------------------------------------------------------ transforms


def gdal_geotransform(transform) -> tuple[float, ...]:
    """GDAL's 6-tuple from an ``affine.Affine``, a GDAL 6-tuple is passed through."""
    if hasattr(transform, "to_gdal"):
        return tuple(float(v) for v in transform.to_gdal())
    try:
        values = tuple(float(v) for v in transform)
    except (TypeError, ValueError):
        raise MaskkitTypeError(
            f"transform must be an affine.Affine or a GDAL 6-tuple; got {transform!r:.80}"
        ) from None
    if len(values) == 9:  # an Affine given as its 9 coefficients (a, b, c, d, e, f, 0, 0, 1)
        a, b, c, d, e, f = values[:6]
        return (c, a, b, f, d, e)
    if len(values) != 6:
        raise InvalidInputError(f"transform must have 6 coefficients; got {len(values)}")
    return values


def inverse_geotransform(gt: Sequence[float]) -> np.ndarray:
    """``GDALInvGeoTransform``, operation for operation (so that ties round alike)."""
    if gt[2] == 0.0 and gt[4] == 0.0 and gt[1] != 0.0 and gt[5] != 0.0:
        return np.array(
            [-gt[0] / gt[1], 1.0 / gt[1], 0.0, -gt[3] / gt[5], 0.0, 1.0 / gt[5]], np.float64
        )
    det = gt[1] * gt[5] - gt[2] * gt[4]
    magnitude = max(abs(gt[1]), abs(gt[2]), abs(gt[4]), abs(gt[5]))
    if not np.isfinite(det) or abs(det) <= 1e-10 * magnitude * magnitude:
        raise InvalidInputError(
            f"transform {tuple(gt)} (GDAL order) is not invertible: its pixels have no area. "
            "Fix: use the raster's real geotransform"
        )
    inv_det = 1.0 / det
    return np.array(
        [
            (gt[2] * gt[3] - gt[0] * gt[5]) * inv_det,
            gt[5] * inv_det,
            -gt[2] * inv_det,
            (-gt[1] * gt[3] + gt[0] * gt[4]) * inv_det,
            -gt[4] * inv_det,
            gt[1] * inv_det,
        ],
        np.float64,
    )


# ------------------------------------------------------------------------ geometries


def _polygonal_parts(geom):
    """The polygonal part of ``make_valid``'s output (it may add lines and points)."""
    import shapely

    parts = [p for p in shapely.get_parts(geom) if p.geom_type in _POLYGONAL]
    if not parts:
        return None
    polys = []
    for p in parts:
        polys.extend(shapely.get_parts(p))
    return shapely.MultiPolygon(polys) if len(polys) > 1 else polys[0]


def _is_valid(arr, threads: int) -> np.ndarray:
    """``shapely.is_valid`` over an object array, in ``threads`` slices at once (GEOS
    releases the GIL)."""
    import shapely

    if threads <= 1 or len(arr) < 2000:
        return shapely.is_valid(arr)
    import itertools
    from concurrent.futures import ThreadPoolExecutor

    bounds = np.linspace(0, len(arr), threads + 1).astype(int)
    with ThreadPoolExecutor(threads) as pool:
        parts = pool.map(shapely.is_valid, [arr[a:b] for a, b in itertools.pairwise(bounds)])
        return np.concatenate(list(parts))


def prepare_geometries(geoms, names, invalid: str, *, strict: bool, threads: int = 1):
    """Check every geometry; repair or reject the invalid ones.

    Returns ``(kept geometries, kept indices, repaired [(name, reason)], skipped
    [(name, reason)])``.  ``strict``: a non-polygonal geometry raises instead of being
    skipped.
    """
    import shapely

    if invalid not in INVALID_POLICIES:
        raise InvalidInputError(f"invalid must be one of {INVALID_POLICIES}; got {invalid!r}")
    kept, index, repaired, skipped = [], [], [], []
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    present = np.array([g is not None for g in geoms], bool)
    types = np.full(len(geoms), -1)
    if present.any():
        types[present] = shapely.get_type_id(arr[present])
    polygonal = (types == 3) | (types == 6)
    empty = np.zeros(len(geoms), bool)
    if polygonal.any():
        empty[polygonal] = shapely.is_empty(arr[polygonal])
    valid = np.ones(len(geoms), bool)
    check = polygonal & ~empty
    if invalid != "keep" and check.any():
        valid[check] = _is_valid(arr[check], threads)
    for i, g in enumerate(geoms):
        name = names[i]
        if g is None or (polygonal[i] and empty[i]):
            skipped.append((name, "empty geometry"))
            continue
        if not polygonal[i]:
            why = f"{g.geom_type} is not a polygon; only Polygon and MultiPolygon are burned"
            if strict:
                raise InvalidPolygonError(why, obj=name)
            skipped.append((name, why))
            continue
        if not valid[i]:
            reason = shapely.is_valid_reason(g)
            if invalid == "reject":
                raise InvalidPolygonError(
                    f"invalid geometry ({reason}); repair it with invalid='repair' "
                    "(--invalid repair) or fix the source data",
                    obj=name,
                )
            g = _polygonal_parts(shapely.make_valid(g))
            if g is None:
                skipped.append((name, f"invalid geometry ({reason}) with no area once repaired"))
                continue
            repaired.append((name, reason))
        kept.append(g)
        index.append(i)
    return kept, index, repaired, skipped


def _pack(geoms):
    """Shapely (multi)polygons -> ``xy``, ``ring_offsets``, ``poly_rings`` and each
    polygon's geometry index (a MultiPolygon's parts are burned one by one, as GDAL does).

    ``shapely.to_ragged_array`` gives the coordinates and offsets without making a Python
    object per part or ring (less time, and no garbage-collector pauses).
    """
    import shapely

    if not geoms:
        z = np.zeros(1, np.int64)
        return np.zeros((0, 2)), z, z, np.zeros(0, np.int64)
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    kind, xy, offsets = shapely.to_ragged_array(arr, include_z=False)
    ring_offsets = np.asarray(offsets[0], np.int64)
    poly_rings = np.asarray(offsets[1], np.int64)
    if kind == shapely.GeometryType.MULTIPOLYGON:
        part_geom = np.repeat(np.arange(len(geoms)), np.diff(offsets[2]))
    else:
        part_geom = np.arange(len(geoms))
    return np.ascontiguousarray(xy, np.float64), ring_offsets, poly_rings, part_geom


def smallest_dtype(values: np.ndarray) -> np.dtype:
    if values.size == 0:
        return np.dtype(np.uint8)
    lo, hi = int(values.min()), int(values.max())
    candidates = (np.uint8, np.uint16, np.uint32) if lo >= 0 else (np.int16, np.int32)
    for dt in candidates:
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return np.dtype(dt)
    raise InvalidInputError(
        f"label values {lo}..{hi} do not fit a 32-bit GeoTIFF band; use smaller class values"
    )


#: Below this many pixels one thread paints (starting threads would cost more).
_PARALLEL_MIN_PIXELS = 1 << 22
#: Bands per thread: polygons are rarely spread evenly, smaller bands balance the work.
_BANDS_PER_THREAD = 2


def burn(out, geoms, values, inv, all_touched, threads=1):
    from maskkit._kernels import geo as _kg
    from maskkit._kernels import scanline as _ks

    xy, ring_offsets, poly_rings, part_geom = _pack(geoms)
    if xy.size and not np.isfinite(xy).all():
        bad = int(np.flatnonzero(~np.isfinite(xy).all(axis=1))[0])
        ring = int(np.searchsorted(ring_offsets, bad, side="right") - 1)
        part = int(np.searchsorted(poly_rings, ring, side="right") - 1)
        raise InvalidPolygonError(
            f"geometry {int(part_geom[part])} has a non-finite coordinate {xy[bad].tolist()}"
        )
    # GDAL orients every ring on the world coordinates, then maps them to pixels
    ring_cw = _ks.rings_clockwise(xy, ring_offsets)
    pix = _kg.to_pixel(xy, inv)
    part_values = np.asarray(values, dtype=out.dtype)[part_geom] if len(part_geom) else \
        np.zeros(0, out.dtype)
    if threads > 1 and out.size >= _PARALLEL_MIN_PIXELS and len(part_values) > 1:
        # horizontal bands painted in parallel: the same pixels as the serial kernel
        with using_threads(threads):
            return int(_kg.paint_polygons_bands(out, pix, ring_offsets, ring_cw, poly_rings,
                                                part_values, bool(all_touched),
                                                threads * _BANDS_PER_THREAD))
    return int(_kg.paint_polygons_rowmajor(out, pix, ring_offsets, ring_cw, poly_rings, part_values,
                                           bool(all_touched)))


def rasterize_geometries(
    shapes: Iterable,
    out_shape: tuple[int, int] | None = None,
    *,
    transform=None,
    all_touched: bool = False,
    fill: int = 0,
    out: np.ndarray | None = None,
    dtype=None,
    invalid: str = "repair",
    threads: int | None = None,
) -> np.ndarray:
    """Burn ``(geometry, value)`` pairs into a label map, as ``rasterio.features.rasterize``.

    Parameters
    ----------
    shapes : iterable of (geometry, int)
        Polygons or MultiPolygons (shapely geometries or GeoJSON-like mappings), holes
        allowed, in world coordinates, each with its label value.  Later shapes overwrite
        earlier ones.
    out_shape : (int, int), optional
        ``(height, width)`` of a new output (filled with ``fill``).
    transform : affine.Affine or GDAL 6-tuple, optional
        Pixel -> world transform (identity by default).  Any invertible transform works,
        rotated and sheared ones included.
    all_touched : bool, default False
        Burn every pixel a polygon touches, not only those whose centre it covers.
    fill : int, default 0
        Value of the pixels no shape covers (new outputs only).
    out : ndarray, optional
        An existing C-contiguous integer (H, W) array to burn into (modified in place).
    dtype : numpy dtype, optional
        dtype of a new output; by default the smallest unsigned (or signed) integer type
        holding every value.
    invalid : {"repair", "reject", "keep"}, default "repair"
        What to do with an invalid polygon (self-intersection, bow-tie): burn
        ``shapely.make_valid``'s polygonal part, raise
        :class:`~maskkit.errors.InvalidPolygonError`, or burn it as given, even-odd, as
        rasterio does.  Valid polygons are burned as given in every case.
    threads : int, optional
        Threads for the validity checks and the painting (horizontal bands, the same
        pixels as one thread).  Default: every core (Numba's thread count, capped by
        ``NUMBA_NUM_THREADS``); ``1`` for one thread.  Images under 4 M pixels use one.

    Returns
    -------
    ndarray
        The label map; pixel for pixel what ``rasterio.features.rasterize`` returns for the
        same (valid) shapes, transform and ``all_touched``.

    Examples
    --------
    >>> from affine import Affine
    >>> square = {"type": "Polygon", "coordinates": [[(10, 50), (30, 50), (30, 30), (10, 30)]]}
    >>> rasterize_geometries([(square, 7)], (4, 4), transform=Affine(10, 0, 0, 0, -10, 60))
    array([[0, 0, 0, 0],
           [0, 7, 7, 0],
           [0, 7, 7, 0],
           [0, 0, 0, 0]], dtype=uint8)
    """
    from affine import Affine

    pairs = list(shapes)
    names = [f"shape {i}" for i in range(len(pairs))]
    geoms, values = [], []
    for i, pair in enumerate(pairs):
        try:
            g, v = pair
        except (TypeError, ValueError):
            raise MaskkitTypeError(
                f"shapes must hold (geometry, value) pairs; got {pair!r:.80}", obj=names[i]
            ) from None
        geoms.append(as_shapely(g, names[i]))
        values.append(v)
    vals = check_int_values(values, names)
    if out is None:
        if out_shape is None:
            raise InvalidInputError("give out_shape=(height, width) or out=")
        h, w = check_image_size(*out_shape)
        dt = smallest_dtype(np.append(vals, fill)) if dtype is None else np.dtype(dtype)
        if dt.kind not in "iub":
            raise MaskkitTypeError(f"dtype must be an integer type; got {dt}")
        # zeros are mapped lazily: only the pages polygons touch are ever written
        out = np.zeros((h, w), dt) if fill == 0 else np.full((h, w), fill, dt)
    else:
        if not isinstance(out, np.ndarray) or out.ndim != 2 or out.dtype.kind not in "iub":
            raise InvalidInputError(
                f"out must be a 2-D integer ndarray; got {getattr(out, 'shape', type(out))}"
            )
        if not (out.flags.c_contiguous and out.flags.writeable and out.dtype.isnative):
            raise InvalidInputError(
                "out must be writeable, C-contiguous and native-endian; pass "
                "np.ascontiguousarray(out) and copy the result back"
            )
    if out.dtype.kind != "b" and vals.size:
        info = np.iinfo(out.dtype)
        if vals.min() < info.min or vals.max() > info.max:
            raise InvalidInputError(
                f"values {int(vals.min())}..{int(vals.max())} do not fit dtype {out.dtype}; "
                "use a wider dtype"
            )
    gt = gdal_geotransform(Affine.identity() if transform is None else transform)
    inv = inverse_geotransform(gt)
    n_threads = resolve_threads(threads)
    kept, index, _, _ = prepare_geometries(geoms, names, invalid, strict=True, threads=n_threads)
    burn(out, kept, vals[index] if index else vals[:0], inv, all_touched, n_threads)
    return out


def check_int_values(values, names) -> np.ndarray:
    out = np.zeros(len(values), np.int64)
    for i, v in enumerate(values):
        if isinstance(v, (bool, np.bool_)) or v is None:
            raise InvalidInputError(f"label value must be an integer; got {v!r}", obj=names[i])
        try:
            iv = int(v)
        except (TypeError, ValueError, OverflowError):
            raise InvalidInputError(f"label value must be an integer; got {v!r}",
                                    obj=names[i]) from None
        if iv != v:
            raise InvalidInputError(f"label value must be an integer; got {v!r}", obj=names[i])
        out[i] = iv
    return out


# ---------------------------------------------------------------------------- files


