"""Reading vector files (GeoJSON directly; other OGR formats through optional pyogrio)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from maskkit.errors import InvalidPolygonError, MaskkitIOError

__all__ = ["GEOJSON_DEFAULT_CRS", "VectorData", "read_vector"]

#: GeoJSON without a ``crs`` member is WGS 84 longitude/latitude (RFC 7946).
GEOJSON_DEFAULT_CRS = "EPSG:4326"


@dataclass
class VectorData:
    """Features read from a vector file: geometries (shapely, ``None`` when absent),
    properties, names for messages, and the CRS (any ``rasterio.crs.CRS`` input)."""

    geometries: list
    properties: list[dict]
    names: list
    crs: object = None
    source: str | None = None


def _geojson_crs(doc) -> str | None:
    crs = doc.get("crs") if isinstance(doc, Mapping) else None
    if not crs:
        return None
    try:
        name = crs["properties"]["name"]
    except (KeyError, TypeError):
        return None
    # "urn:ogc:def:crs:EPSG::3857" -> "EPSG:3857"; CRS84 is lon/lat WGS 84
    if "CRS84" in name.upper():
        return GEOJSON_DEFAULT_CRS
    if name.lower().startswith("urn:ogc:def:crs:"):
        bits = name.split(":")
        return f"{bits[4]}:{bits[-1]}"
    return name


def _read_geojson(path: Path) -> VectorData:
    from maskkit._shapely import as_shapely
    from maskkit.io.files import read_json

    doc = read_json(path)
    if not isinstance(doc, Mapping) or "type" not in doc:
        raise MaskkitIOError("not a GeoJSON object (no 'type' member)", source=path)
    kind = doc["type"]
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise MaskkitIOError("FeatureCollection has no 'features' list", source=path)
    elif kind == "Feature":
        features = [doc]
    else:
        features = [{"type": "Feature", "geometry": doc, "properties": {}}]
    geoms, props, names = [], [], []
    for i, feat in enumerate(features):
        if not isinstance(feat, Mapping):
            raise MaskkitIOError(f"feature {i} is not an object", source=path)
        name = f"feature {feat['id']!r}" if feat.get("id") is not None else f"feature {i}"
        try:
            geoms.append(as_shapely(feat.get("geometry"), name))
        except InvalidPolygonError as exc:
            raise exc.with_context(source=path) from None
        props.append(dict(feat.get("properties") or {}))
        names.append(name)
    return VectorData(geoms, props, names, _geojson_crs(doc), str(path))


def _read_with_pyogrio(path: Path) -> VectorData:
    try:
        import pyogrio.raw
    except ImportError:
        raise MaskkitIOError(
            "reading this format needs the optional package pyogrio (pip install pyogrio); "
            "without it maskkit reads GeoJSON (.geojson, .json)",
            source=path,
        ) from None
    import shapely

    try:
        meta, fids, wkb, field_data = pyogrio.raw.read(path)
    except Exception as exc:  # pyogrio's DataSourceError and friends
        raise MaskkitIOError(f"not a readable vector file ({exc})", source=path) from None
    geoms = list(shapely.from_wkb(wkb)) if wkb is not None else []
    fields = list(meta.get("fields", []))
    props = [
        {name: (col[i].item() if hasattr(col[i], "item") else col[i])
         for name, col in zip(fields, field_data, strict=True)}
        for i in range(len(geoms))
    ]
    names = [f"feature {int(f)}" for f in fids] if fids is not None else \
        [f"feature {i}" for i in range(len(geoms))]
    return VectorData(geoms, props, names, meta.get("crs"), str(path))


def read_vector(path: str | os.PathLike) -> VectorData:
    """Read the features of a vector file.

    GeoJSON (``.geojson``, ``.json``) is read directly; other formats (GeoPackage,
    Shapefile, FlatGeobuf ...) need the optional package ``pyogrio``.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.geojson"
    >>> _ = path.write_text(json.dumps({"type": "FeatureCollection", "features": [
    ...     {"type": "Feature", "properties": {"class": 3},
    ...      "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}]}))
    >>> data = read_vector(path)
    >>> data.properties, data.crs, data.geometries[0].geom_type
    ([{'class': 3}], None, 'Polygon')
    """
    path = Path(path)
    if not path.is_file():
        raise MaskkitIOError("no such vector file", source=path)
    if path.suffix.lower() in (".geojson", ".json"):
        return _read_geojson(path)
    return _read_with_pyogrio(path)
