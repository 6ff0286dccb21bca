"""The vector -> raster job: GeoJSON (or any OGR format) in, a GeoTIFF label map out.

:func:`rasterize_vector` reads the vector file (with the optional ``pyogrio`` package, any
format OGR reads), reprojects to the reference raster's CRS with
``rasterio.warp.transform_geom`` when the CRSs differ, repairs or rejects invalid polygons
(self-intersections, bow-ties) and reports them, and writes a tiled, compressed GeoTIFF
with the reference raster's grid, transform and CRS, atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from maskkit._jit import resolve_threads
from maskkit.core.geo import (
    burn,
    check_int_values,
    gdal_geotransform,
    inverse_geotransform,
    prepare_geometries,
    smallest_dtype,
)
from maskkit.errors import InvalidInputError, InvalidPolygonError
from maskkit.io.geotiff import raster_grid, write_geotiff
from maskkit.io.vector import GEOJSON_DEFAULT_CRS, VectorData, read_vector
from maskkit.limits import check_image_size

__all__ = ["RasterizeReport", "rasterize_vector"]


@dataclass
class RasterizeReport:
    """What :func:`rasterize_vector` did.

    Attributes
    ----------
    path : str
        The GeoTIFF written.
    shape : (int, int)
        Its ``(height, width)``.
    dtype : str
        Its band's data type.
    features : int
        Features read.
    burned : int
        Polygons (MultiPolygon parts count one each) that burned at least one pixel.
    reprojected : bool
        Whether the geometries were reprojected to the raster's CRS.
    repaired : list of (str, str)
        ``(feature, reason)`` of every invalid polygon repaired with ``make_valid``.
    skipped : list of (str, str)
        ``(feature, reason)`` of every feature not burned (empty, not a polygon).
    """

    path: str
    shape: tuple[int, int]
    dtype: str
    features: int
    burned: int
    reprojected: bool
    repaired: list = field(default_factory=list)
    skipped: list = field(default_factory=list)


def _reproject(geoms, src_crs, dst_crs):
    import shapely.geometry
    from rasterio.warp import transform_geom

    idx = [i for i, g in enumerate(geoms) if g is not None]
    if not idx:
        return geoms
    mapped = transform_geom(src_crs, dst_crs, [shapely.geometry.mapping(geoms[i]) for i in idx])
    out = list(geoms)
    for i, m in zip(idx, mapped, strict=True):
        out[i] = shapely.geometry.shape(m)
    return out


def rasterize_vector(
    vector,
    like,
    out,
    *,
    attribute: str | None = None,
    all_touched: bool = False,
    invalid: str = "repair",
    vector_crs=None,
    threads: int | None = None,
) -> RasterizeReport:
    """Rasterise a vector file onto the grid of a reference raster, into a GeoTIFF.

    Parameters
    ----------
    vector : str, os.PathLike or VectorData
        GeoJSON file (other formats need the optional ``pyogrio``), or what
        :func:`read_vector` returned.
    like : str or os.PathLike
        Reference raster: the output gets its size, transform and CRS.
    out : str or os.PathLike
        GeoTIFF to write (tiled 256×256, deflate), replaced atomically.
    attribute : str, optional
        Integer property holding each feature's label (e.g. its class).  Without it,
        features are numbered ``1..N`` in file order (an instance label map).
    all_touched : bool, default False
        GDAL's ``ALL_TOUCHED`` rule instead of pixel centres.
    invalid : {"repair", "reject", "keep"}, default "repair"
        Invalid polygons are repaired with ``shapely.make_valid`` (and listed in the
        report), raise :class:`~maskkit.errors.InvalidPolygonError`, or are burned as
        given (even-odd, as rasterio would).
    vector_crs : optional
        CRS of the vector coordinates when the file does not say (GeoJSON without a
        ``crs`` member is taken as WGS 84 longitude/latitude, per RFC 7946).
    threads : int, optional
        As in :func:`rasterize_geometries` (default: every core).

    Returns
    -------
    RasterizeReport

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> import numpy as np, rasterio
    >>> from affine import Affine
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> with rasterio.open(tmp / "ref.tif", "w", driver="GTiff", height=4, width=4, count=1,
    ...                    dtype="uint8", crs="EPSG:32631",
    ...                    transform=Affine(10, 0, 500000, 0, -10, 4000040)) as ref:
    ...     ref.write(np.zeros((1, 4, 4), np.uint8))
    >>> square = [[[500010, 4000030], [500030, 4000030], [500030, 4000010], [500010, 4000010]]]
    >>> _ = (tmp / "v.geojson").write_text(json.dumps({"type": "FeatureCollection",
    ...     "crs": {"type": "name", "properties": {"name": "EPSG:32631"}},
    ...     "features": [{"type": "Feature", "properties": {"cls": 5},
    ...                   "geometry": {"type": "Polygon", "coordinates": square}}]}))
    >>> report = rasterize_vector(tmp / "v.geojson", tmp / "ref.tif", tmp / "out.tif",
    ...                           attribute="cls")
    >>> report.burned, report.dtype
    (1, 'uint8')
    >>> with rasterio.open(tmp / "out.tif") as ds:
    ...     ds.read(1)
    array([[0, 0, 0, 0],
           [0, 5, 5, 0],
           [0, 5, 5, 0],
           [0, 0, 0, 0]], dtype=uint8)
    """
    from rasterio.crs import CRS

    n_threads = resolve_threads(threads)
    data = vector if isinstance(vector, VectorData) else read_vector(vector)
    source = data.source
    like = Path(like)
    height, width, transform, dst_crs = raster_grid(like)
    check_image_size(height, width, source=like)

    # labels first: a bad attribute fails before any geometry work
    if attribute is None:
        values = np.arange(1, len(data.geometries) + 1, dtype=np.int64)
    else:
        raw = []
        for name, props in zip(data.names, data.properties, strict=True):
            if attribute not in props:
                raise InvalidInputError(
                    f"has no property {attribute!r} (it has {sorted(props)[:8]})",
                    source=source, obj=name,
                )
            raw.append(props[attribute])
        try:
            values = check_int_values(raw, data.names)
        except InvalidInputError as exc:
            raise exc.with_context(source=source) from None

    geoms = data.geometries
    src_crs = vector_crs if vector_crs is not None else data.crs
    reprojected = False
    if dst_crs is not None:
        if src_crs is None:
            src_crs = GEOJSON_DEFAULT_CRS
            _check_lonlat(geoms, source)
        if CRS.from_user_input(src_crs) != dst_crs:
            geoms = _reproject(geoms, src_crs, dst_crs)
            reprojected = True

    try:
        kept, index, repaired, skipped = prepare_geometries(geoms, data.names, invalid, strict=False,
                                                  threads=n_threads)
    except InvalidPolygonError as exc:
        raise exc.with_context(source=source) from None
    kept_values = values[index] if index else values[:0]
    dtype = smallest_dtype(kept_values)
    array = np.zeros((height, width), dtype)
    gt = gdal_geotransform(transform)
    burned = burn(array, kept, kept_values, inverse_geotransform(gt), all_touched, n_threads)
    write_geotiff(Path(out), array, {"crs": dst_crs, "transform": transform})
    return RasterizeReport(
        path=str(out), shape=(height, width), dtype=dtype.name, features=len(data.geometries),
        burned=burned, reprojected=reprojected, repaired=repaired, skipped=skipped,
    )


def _check_lonlat(geoms, source):
    import shapely

    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    present = [g for g in geoms if g is not None]
    if not present:
        return
    xy = shapely.get_coordinates(np.asarray(present, dtype=object))
    if xy.size and (np.abs(xy[:, 0]).max() > 360 or np.abs(xy[:, 1]).max() > 90):
        raise InvalidInputError(
            "the file declares no CRS, so its coordinates are taken as longitude/latitude "
            "(RFC 7946), but they exceed ±360/±90. Fix: pass vector_crs= (--vector-crs "
            "EPSG:xxxx) with the CRS they are in",
            source=source,
        )

