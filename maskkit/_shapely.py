"""Geometries as shapely objects: shared by the vector reader and the rasteriser."""

from __future__ import annotations

from collections.abc import Mapping

from maskkit.errors import InvalidPolygonError, MaskkitTypeError

__all__ = ["as_shapely"]


def as_shapely(geom, name):
    """``geom`` (shapely geometry, GeoJSON-like mapping or ``__geo_interface__``) as a shapely
    geometry; None stays None; anything else is one error naming ``name``."""
    import shapely
    import shapely.geometry

    if geom is None:
        return None
    if isinstance(geom, shapely.Geometry):
        return geom
    if isinstance(geom, Mapping) or hasattr(geom, "__geo_interface__"):
        try:
            return shapely.geometry.shape(geom)
        except Exception as exc:  # shapely raises several types on malformed GeoJSON
            raise InvalidPolygonError(f"not a readable GeoJSON geometry ({exc})", obj=name) from None
    raise MaskkitTypeError(
        f"a geometry must be a shapely geometry or a GeoJSON-like mapping; got "
        f"{type(geom).__name__}",
        obj=name,
    )

