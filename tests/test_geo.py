"""maskkit.core.geo against rasterio.features.rasterize: transforms, CRS reprojection, holes,
all_touched, invalid geometries, and the ``maskkit rasterize`` CLI end to end."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from hypothesis import given, reject
from hypothesis import strategies as st
from rasterio.features import rasterize
from rasterio.warp import transform_geom

from maskkit.cli import main
from maskkit.core.geo import rasterize_geometries
from maskkit.datasets.vector import rasterize_vector
from maskkit.errors import InvalidInputError, InvalidPolygonError, MaskkitIOError
from maskkit.io.vector import read_vector

UTM = "EPSG:32631"

# --------------------------------------------------------------------------- strategies

scales = st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.0, 0.3, 10.0])


@st.composite
def transforms(draw):
    kind = draw(st.sampled_from(["north-up", "south-up", "rotated", "sheared"]))
    c = draw(st.integers(-20, 20)) / draw(st.sampled_from([1, 2, 4]))
    f = draw(st.integers(-20, 20)) / draw(st.sampled_from([1, 2, 4]))
    if kind == "north-up":
        return Affine(draw(scales), 0.0, c, 0.0, -draw(scales), f)
    if kind == "south-up":
        return Affine(draw(scales), 0.0, c, 0.0, draw(scales), f)
    if kind == "rotated":
        angle = draw(st.sampled_from([90.0, 45.0, 30.0, 17.25, -60.0, 180.0]))
        return Affine.translation(c, f) @ Affine.rotation(angle) @ Affine.scale(draw(scales))
    coef = st.floats(-3, 3, allow_nan=False).map(lambda v: round(v, 2))
    t = Affine(draw(coef), draw(coef), c, draw(coef), draw(coef), f)
    if abs(t.determinant) < 0.05:
        reject()
    return t


def pixel_coord(limit):
    return st.one_of(
        st.integers(-2, 2 * limit + 2).map(lambda v: v / 2),  # pixel edges and centres
        st.integers(-4, 4 * limit + 4).map(lambda v: v / 4),
        st.floats(-1.5, limit + 1.5, allow_nan=False),
    )


@st.composite
def scenes(draw):
    """A tiny raster, a transform and 1-3 polygons (maybe with a hole, maybe multi)."""
    h = draw(st.integers(1, 10))
    w = draw(st.integers(1, 10))
    t = draw(transforms())
    snap = draw(st.sampled_from([None, 0, 1, 2]))  # round world coordinates: ties in world

    def to_world(p):
        x, y = t @ p
        return (x, y) if snap is None else (round(x, snap), round(y, snap))

    geoms = []
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(3, 7))
        lim = max(h, w)
        shell = [to_world((draw(pixel_coord(lim)), draw(pixel_coord(lim)))) for _ in range(n)]
        holes = []
        if draw(st.booleans()):
            # a box hole inside the shell's bounding box (may cross the shell: still a
            # legal even-odd input for GDAL; the test only needs valid ones)
            xs = sorted(draw(pixel_coord(lim)) for _ in range(2))
            ys = sorted(draw(pixel_coord(lim)) for _ in range(2))
            holes.append([to_world(p) for p in
                          [(xs[0], ys[0]), (xs[1], ys[0]), (xs[1], ys[1]), (xs[0], ys[1])]])
        try:
            poly = shapely.Polygon(shell, holes)
        except (ValueError, shapely.errors.GEOSException):
            reject()
        if draw(st.booleans()) and geoms:
            geoms[-1] = shapely.MultiPolygon([*shapely.get_parts(geoms[-1]), poly])
        else:
            geoms.append(poly)
    return h, w, t, geoms


def rasterio_safe(h, w, t, geoms):
    """GDAL's all_touched walk can write past its buffer when a vertex sits on the right
    edge of the image (heap corruption that aborts the process): keep away from it."""
    xy = shapely.get_coordinates(geoms)
    cols = np.array([(~t @ tuple(p))[0] for p in xy])
    return not np.any(np.abs(cols - w) < 1e-3)


# --------------------------------------------------------------------------- properties


@given(scenes(), st.booleans())
def test_equals_rasterio_any_transform(scene, all_touched):
    h, w, t, geoms = scene
    if all_touched and not rasterio_safe(h, w, t, geoms):
        reject()
    shapes = [(g, i + 1) for i, g in enumerate(geoms)]
    expected = rasterize(shapes, out_shape=(h, w), transform=t, all_touched=all_touched,
                         dtype="uint8")
    got = rasterize_geometries(shapes, (h, w), transform=t, all_touched=all_touched,
                               invalid="keep", threads=1)
    np.testing.assert_array_equal(got, expected)
    # the parallel painter (bands of rows, here one row each) paints the same pixels
    import maskkit.core.geo

    saved = maskkit.core.geo._PARALLEL_MIN_PIXELS
    maskkit.core.geo._PARALLEL_MIN_PIXELS = 0
    try:
        got = rasterize_geometries(shapes, (h, w), transform=t, all_touched=all_touched,
                                   invalid="keep", threads=2)
    finally:
        maskkit.core.geo._PARALLEL_MIN_PIXELS = saved
    np.testing.assert_array_equal(got, expected)
    # valid geometries are never altered by the default policy
    if all(g.is_valid for g in geoms):
        got = rasterize_geometries(shapes, (h, w), transform=t, all_touched=all_touched)
        np.testing.assert_array_equal(got, expected)


@given(
    st.floats(2.0, 4.0), st.floats(45.0, 46.0), st.integers(3, 8),
    st.floats(0.00005, 0.0004), st.booleans(), st.booleans(),
)
def test_reprojected_equals_rasterio(lon, lat, n, radius, hole, all_touched):
    """Lon/lat polygons onto a UTM grid: reprojected as rasterio.warp.transform_geom does."""
    a = np.linspace(0, 2 * math.pi, n, endpoint=False)
    shell = np.stack([lon + radius * np.cos(a), lat + radius * np.sin(a) * 0.7], axis=1)
    holes = [np.stack([lon + radius * 0.3 * np.cos(a), lat + radius * 0.3 * np.sin(a)],
                      axis=1)] if hole and n >= 4 else []
    poly = shapely.Polygon(shell, holes)
    if not poly.is_valid:
        reject()
    centre = transform_geom("EPSG:4326", UTM, {"type": "Point", "coordinates": (lon, lat)})
    x0, y0 = (round(v) for v in centre["coordinates"])
    t = Affine(1.0, 0.0, x0 - 40, 0.0, -1.0, y0 + 40)
    utm = shapely.geometry.shape(transform_geom("EPSG:4326", UTM, shapely.geometry.mapping(poly)))
    if all_touched and not rasterio_safe(80, 80, t, [utm]):
        reject()
    expected = rasterize([(utm, 1)], out_shape=(80, 80), transform=t, all_touched=all_touched,
                         dtype="uint8")
    got = rasterize_geometries([(utm, 1)], (80, 80), transform=t, all_touched=all_touched)
    np.testing.assert_array_equal(got, expected)


# --------------------------------------------------------------------------- examples


def test_holes_and_overlaps_last_wins():
    t = Affine(2.0, 0.0, 100.0, 0.0, -2.0, 200.0)
    ring = [(100, 200), (120, 200), (120, 180), (100, 180)]
    hole = [(104, 196), (116, 196), (116, 184), (104, 184)]
    donut = shapely.Polygon(ring, [hole])
    small = shapely.box(108, 188, 112, 192)
    for all_touched in (False, True):
        shapes = [(donut, 1), (small, 2)]
        got = rasterize_geometries(shapes, (10, 10), transform=t, all_touched=all_touched)
        expected = rasterize(shapes, out_shape=(10, 10), transform=t, all_touched=all_touched)
        np.testing.assert_array_equal(got, expected)
        assert got[5, 5] == 2 and got[0, 0] == 1 and got[3, 3] == 0


def test_bowtie_repaired_keep_and_reject():
    bowtie = shapely.Polygon([(0, 0), (8, 8), (8, 0), (0, 8)])
    assert not bowtie.is_valid
    t = Affine.identity()
    repaired = rasterize_geometries([(bowtie, 1)], (8, 8), transform=t)
    fixed = shapely.make_valid(bowtie)
    np.testing.assert_array_equal(repaired, rasterize([(fixed, 1)], out_shape=(8, 8)))
    kept = rasterize_geometries([(bowtie, 1)], (8, 8), transform=t, invalid="keep")
    np.testing.assert_array_equal(kept, rasterize([(bowtie, 1)], out_shape=(8, 8)))
    with pytest.raises(InvalidPolygonError, match="shape 0: invalid geometry.*Self-intersection"):
        rasterize_geometries([(bowtie, 1)], (8, 8), invalid="reject")


def test_rejects_bad_input_clearly():
    sq = shapely.box(0, 0, 2, 2)
    with pytest.raises(InvalidInputError, match="not invertible"):
        rasterize_geometries([(sq, 1)], (4, 4), transform=Affine(1, 2, 0, 2, 4, 0))
    with pytest.raises(InvalidPolygonError, match="LineString is not a polygon"):
        rasterize_geometries([(shapely.LineString([(0, 0), (1, 1)]), 1)], (4, 4))
    with pytest.raises(InvalidInputError, match="label value must be an integer; got 1.5"):
        rasterize_geometries([(sq, 1.5)], (4, 4))
    with pytest.raises(InvalidInputError, match="do not fit dtype uint8"):
        rasterize_geometries([(sq, 300)], (4, 4), dtype=np.uint8)
    with pytest.raises(InvalidInputError, match="invalid must be one of"):
        rasterize_geometries([(sq, 1)], (4, 4), invalid="fix")


# --------------------------------------------------------------------------- files and CLI


def write_reference(path, *, crs=UTM, transform=None, h=40, w=50):
    transform = transform or Affine(1.0, 0.0, 500000.0, 0.0, -1.0, 5000040.0)
    with rasterio.open(path, "w", driver="GTiff", height=h, width=w, count=1, dtype="uint8",
                       crs=crs, transform=transform) as ds:
        ds.write(np.zeros((1, h, w), np.uint8))
    return transform


def feature(geom, **props):
    return {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)}


def write_geojson(path, features, crs=None):
    doc = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc))
    return path


def test_cli_reprojects_and_matches_rasterio(tmp_path, capsys):
    t = write_reference(tmp_path / "ref.tif")
    # polygons in lon/lat (no crs member: RFC 7946 WGS 84), one with a hole, one bow-tie
    # (repaired into two triangles: 3 polygons burned)
    centre = transform_geom(UTM, "EPSG:4326",
                            {"type": "Point", "coordinates": (500025.0, 5000020.0)})
    lon, lat = centre["coordinates"]
    d = 0.0001
    donut = shapely.Polygon(
        [(lon - d, lat - d), (lon + d, lat - d), (lon + d, lat + d), (lon - d, lat + d)],
        [[(lon - d / 3, lat - d / 3), (lon + d / 3, lat - d / 3), (lon + d / 3, lat + d / 3),
          (lon - d / 3, lat + d / 3)]],
    )
    bowtie = shapely.Polygon([(lon - 2 * d, lat - 2 * d), (lon - d, lat - d),
                              (lon - d, lat - 2 * d), (lon - 2 * d, lat - d)])
    point = shapely.Point(lon, lat)
    src = write_geojson(tmp_path / "v.geojson", [
        feature(donut, cls=3), feature(bowtie, cls=7), feature(point, cls=1),
    ])
    out = tmp_path / "out" / "labels.tif"
    code = main(["rasterize", str(src), "--like", str(tmp_path / "ref.tif"), "-o", str(out),
                 "--attribute", "cls", "--all-touched"])
    assert code == 0
    err = capsys.readouterr().err
    assert "feature 1: repaired (Self-intersection" in err
    assert "feature 2: skipped (Point is not a polygon" in err
    assert "3 features, 3 polygons burned, 1 repaired, 1 skipped, reprojected" in err
    with rasterio.open(out) as ds:
        got = ds.read(1)
        assert ds.crs == UTM and ds.transform == t and ds.dtypes[0] == "uint8"
        assert ds.profile["tiled"] and ds.compression.value == "DEFLATE"
    utm = [shapely.geometry.shape(transform_geom("EPSG:4326", UTM, shapely.geometry.mapping(g)))
           for g in (donut, shapely.make_valid(bowtie))]
    expected = rasterize([(utm[0], 3), (utm[1], 7)], out_shape=(40, 50), transform=t,
                         all_touched=True)
    np.testing.assert_array_equal(got, expected)
    assert {3, 7} <= set(np.unique(got).tolist())
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp files


def test_same_crs_numbers_features_and_rotated_grid(tmp_path):
    t = Affine.translation(500000, 5000040) @ Affine.rotation(30) @ Affine.scale(0.8, -0.8)
    write_reference(tmp_path / "ref.tif", transform=t, h=30, w=30)
    polys = [shapely.box(500005, 5000020, 500015, 5000035), shapely.box(500010, 5000010,
                                                                         500020, 5000030)]
    src = write_geojson(tmp_path / "v.geojson", [feature(p) for p in polys],
                        crs="urn:ogc:def:crs:EPSG::32631")
    report = rasterize_vector(src, tmp_path / "ref.tif", tmp_path / "o.tif")
    assert not report.reprojected and report.burned == 2 and report.dtype == "uint8"
    with rasterio.open(tmp_path / "o.tif") as ds:
        got = ds.read(1)
    expected = rasterize([(polys[0], 1), (polys[1], 2)], out_shape=(30, 30), transform=t)
    np.testing.assert_array_equal(got, expected)
    assert got.max() == 2


def test_cli_errors_name_file_and_feature(tmp_path, capsys):
    write_reference(tmp_path / "ref.tif")
    bowtie = shapely.Polygon([(500000, 5000000), (500010, 5000010), (500010, 5000000),
                              (500000, 5000010)])
    src = write_geojson(tmp_path / "v.geojson", [feature(shapely.box(500001, 5000001, 500003,
                                                                     5000003), cls="x"),
                                                 feature(bowtie, cls=2)], crs=UTM)
    ref, out = str(tmp_path / "ref.tif"), str(tmp_path / "o.tif")
    assert main(["rasterize", str(src), "--like", ref, "-o", out, "--attribute", "cls"]) == 1
    assert "v.geojson: feature 0: label value must be an integer; got 'x'" in \
        capsys.readouterr().err
    assert main(["rasterize", str(src), "--like", ref, "-o", out, "--invalid", "reject"]) == 1
    assert "v.geojson: feature 1: invalid geometry (Self-intersection" in capsys.readouterr().err
    assert main(["rasterize", str(src), "--like", ref, "-o", out, "--attribute", "nope"]) == 1
    assert "feature 0: has no property 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "o.tif").exists()
    # projected coordinates without a crs member: say how to fix it
    plain = write_geojson(tmp_path / "plain.geojson", [feature(shapely.box(500001, 5000001,
                                                                           500003, 5000003))])
    assert main(["rasterize", str(plain), "--like", ref, "-o", out]) == 1
    assert "--vector-crs" in capsys.readouterr().err
    assert main(["rasterize", str(plain), "--like", ref, "-o", out, "--vector-crs", UTM,
                 "--quiet"]) == 0


def test_other_formats_need_pyogrio(tmp_path):
    path = tmp_path / "v.gpkg"
    path.write_bytes(b"not really")
    try:
        import pyogrio  # noqa: F401
    except ImportError:
        with pytest.raises(MaskkitIOError, match="pip install pyogrio"):
            read_vector(path)
    else:
        with pytest.raises(MaskkitIOError, match="not a readable vector file"):
            read_vector(path)
