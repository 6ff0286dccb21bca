"""The scanline kernels against ``rasterio.features.rasterize`` (identity transform).

Every property test rasterises the same polygon with both kernels and compares each with
rasterio, pixel for pixel.  Coordinates are drawn from floats and from integer, half- and
quarter-pixel grids (pixel edges and centres, where rasterisers disagree), plus values a
hair away from a pixel edge (GDAL's all_touched mode has a 1e-4 tolerance there).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import shapely
from affine import Affine
from hypothesis import given, reject
from hypothesis import strategies as st
from rasterio.features import rasterize

from maskkit._kernels.scanline import polygon_runs_all_touched, polygon_runs_center

KERNELS = {False: polygon_runs_center, True: polygon_runs_all_touched}


# --------------------------------------------------------------------------- helpers


def runs_to_mask(starts, ends, height, width):
    """Decode half-open linear runs into an (height, width) uint8 mask."""
    mask = np.zeros(height * width, np.uint8)
    for s, e in zip(starts, ends, strict=True):
        mask[s:e] = 1
    return mask.reshape(height, width)


def pack(rings):
    """Concatenate rings into the kernels' ``xy`` / ``ring_offsets`` arrays."""
    xy = np.array([p for ring in rings for p in ring], np.float64).reshape(-1, 2)
    offsets = np.cumsum([0] + [len(r) for r in rings]).astype(np.int64)
    return xy, offsets


def rasterio_mask(rings, height, width, all_touched):
    polygon = shapely.Polygon(rings[0], rings[1:])
    return rasterize(
        [(polygon, 1)],
        out_shape=(height, width),
        transform=Affine.identity(),
        all_touched=all_touched,
        fill=0,
        dtype="uint8",
    )


def check_runs(starts, ends, height, width):
    assert starts.dtype == np.int64 and ends.dtype == np.int64
    assert starts.shape == ends.shape
    if starts.size:
        assert starts[0] >= 0 and ends[-1] <= height * width
        assert np.all(ends > starts)
        # Sorted, disjoint, and touching runs merged.
        assert np.all(starts[1:] > ends[:-1])


def assert_matches_rasterio(rings, height, width, modes=(False, True), known_safe=False):
    if not known_safe and any(abs(x - width) < 1e-3 for ring in rings for x, _ in ring):
        # GDAL's all_touched walk can then step past the right edge of its buffer and,
        # in the last row, write outside it (heap corruption that aborts the process).
        reject()
    try:
        shapely.Polygon(rings[0], rings[1:])
    except (ValueError, shapely.errors.GEOSException):
        reject()  # shapely refuses the ring (e.g. fewer than 4 coordinates once closed)
    xy, offsets = pack(rings)
    for all_touched in modes:
        expected = rasterio_mask(rings, height, width, all_touched)
        starts, ends = KERNELS[all_touched](xy, offsets, height, width)
        check_runs(starts, ends, height, width)
        got = runs_to_mask(starts, ends, height, width)
        if not np.array_equal(got, expected):
            diff = np.argwhere(got != expected).tolist()
            raise AssertionError(
                f"all_touched={all_touched} rings={rings} shape={(height, width)}: "
                f"pixels differ at (row, col) {diff}"
            )


# --------------------------------------------------------------------------- strategies

SIZE = st.integers(1, 40)


def coordinates(lo=-6, hi=46):
    return st.one_of(
        st.integers(lo, hi).map(float),
        st.integers(2 * lo, 2 * hi).map(lambda v: v / 2),
        st.integers(4 * lo, 4 * hi).map(lambda v: v / 4),
        st.floats(lo, hi, allow_nan=False, allow_infinity=False),
        st.tuples(
            st.integers(lo, hi),
            st.sampled_from([1e-9, -1e-9, 1e-5, -1e-5, 1e-4, -1e-4, 0.005, -0.005]),
        ).map(sum),
    )


def points(lo=-6, hi=46):
    return st.tuples(coordinates(lo, hi), coordinates(lo, hi))


def rings(min_size=3, max_size=10, lo=-6, hi=46):
    return st.lists(points(lo, hi), min_size=min_size, max_size=max_size).flatmap(
        lambda ring: st.booleans().map(lambda close: [*ring, ring[0]] if close else ring)
    )


# --------------------------------------------------------------------------- properties


@given(ring=rings(), height=SIZE, width=SIZE)
def test_any_ring_matches_rasterio(ring, height, width):
    """Arbitrary rings: convex, concave, self-intersecting, degenerate."""
    assert_matches_rasterio([ring], height, width)


@given(cloud=st.lists(points(), min_size=3, max_size=12), height=SIZE, width=SIZE)
def test_convex_polygons_match_rasterio(cloud, height, width):
    hull = shapely.convex_hull(shapely.MultiPoint(cloud))
    if not isinstance(hull, shapely.Polygon):
        reject()
    ring = list(hull.exterior.coords)
    if hull.exterior.is_ccw:
        ring = ring[::-1]  # both orientations get drawn across examples
    assert_matches_rasterio([ring], height, width)


@given(
    ring=rings(min_size=3, max_size=5, lo=-2, hi=8).map(
        lambda r: [(x / 8 + 1, y / 8 + 1) for x, y in r]
    ),
    height=st.integers(1, 6),
    width=st.integers(1, 6),
)
def test_subpixel_polygons_match_rasterio(ring, height, width):
    assert_matches_rasterio([ring], height, width)


@given(
    exterior=rings(lo=-4, hi=44),
    holes=st.lists(rings(max_size=6, lo=0, hi=40), min_size=1, max_size=3),
    height=SIZE,
    width=SIZE,
)
def test_polygons_with_holes_match_rasterio(exterior, holes, height, width):
    assert_matches_rasterio([exterior, *holes], height, width)


@given(
    start=points(),
    direction=st.tuples(st.integers(-3, 3), st.integers(-3, 3)),
    steps=st.lists(coordinates(-4, 20), min_size=3, max_size=8),
    repeat=st.integers(0, 7),
    height=SIZE,
    width=SIZE,
)
def test_degenerate_rings_match_rasterio(start, direction, steps, repeat, height, width):
    """Collinear points (zero area) and repeated vertices."""
    x0, y0 = start
    dx, dy = direction
    ring = [(x0 + t * dx, y0 + t * dy) for t in steps]
    ring.insert(repeat % len(ring), ring[repeat % len(ring)])
    assert_matches_rasterio([ring], height, width)


@given(
    ring=rings(max_size=8, lo=-60, hi=100),
    scale=st.sampled_from([1.0, 16.0, 4096.0, 2.0**20]),
    shift=st.tuples(st.integers(-3, 3), st.integers(-3, 3)),
    height=SIZE,
    width=SIZE,
)
def test_partly_and_wholly_outside_match_rasterio(ring, scale, shift, height, width):
    """Large, negative and off-image coordinates (up to about 2**24)."""
    cx, cy = width / 2, height / 2
    ring = [
        ((x - cx) * scale + cx + shift[0] * width, (y - cy) * scale + cy + shift[1] * height)
        for x, y in ring
    ]
    assert_matches_rasterio([ring], height, width)


@given(
    parts=st.lists(rings(max_size=6, lo=-2, hi=24), min_size=2, max_size=3),
    height=st.integers(1, 24),
    width=st.integers(1, 24),
)
def test_multipolygon_is_union_of_parts(parts, height, width):
    """GDAL burns a MultiPolygon part by part: the union, overlaps do not cancel."""
    try:
        polygons = [shapely.Polygon(p) for p in parts]
    except (ValueError, shapely.errors.GEOSException):
        reject()
    multi = shapely.MultiPolygon(polygons)
    for all_touched in (False, True):
        expected = rasterize(
            [(multi, 1)],
            out_shape=(height, width),
            transform=Affine.identity(),
            all_touched=all_touched,
            dtype="uint8",
        )
        union = np.zeros((height, width), np.uint8)
        for part in parts:
            xy, offsets = pack([part])
            union |= runs_to_mask(*KERNELS[all_touched](xy, offsets, height, width), height, width)
        assert np.array_equal(union, expected)


# --------------------------------------------------------------------------- regressions

REGRESSIONS = [
    # Horizontal edge exactly on a scanline (y = 5.5) in a self-intersecting ring: whether
    # it burns depends on its direction after OGR's clockwise re-orientation.
    ([[(11.5, 12.0), (10.5, 6.5), (-1.0, 5.5), (11.0, 5.5), (2.0, 7.5), (2.0, 4.5)]], 11, 8),
    # all_touched: a segment that starts on a pixel edge does not burn the pixel below it.
    ([[(2.25, 3.0), (2.5, 1.5), (2.75, 2.0)]], 9, 3),
    # all_touched: a row walk ending exactly on x = 2 stops before column 2.
    ([[(2.0, 1.5), (1.5, 1.25), (1.5, 1.0), (1.25, 0.75), (1.5, 1.75), (2.0, 1.75)]], 7, 9),
    # all_touched: GDAL's clipped walk steps onto column == width and its write lands at
    # column 0 of the next row (pixel (1, 0) here).
    (
        [[(4.0, 13.0), (6.0, 4.0), (10.0, 10.0), (6.0, -2.0), (4.0, 9.0), (-2.0, 2.0), (3.0, 2.0)]],
        9,
        6,
    ),
    (
        [
            [(1.0, -2.0), (8.0, 4.0), (-1.0, 12.0), (7.5, -0.5)],
            [(3.5, 7.0), (5.5, 4.0), (5.5, 3.5), (6.0, 6.0)],
        ],
        8,
        1,
    ),
    # Pixel-aligned box: all_touched adds nothing for edges lying on pixel boundaries.
    ([[(1.0, 1.0), (5.0, 1.0), (5.0, 4.0), (1.0, 4.0)]], 6, 7),
    # Box with edges 1e-5 off the pixel grid (inside GDAL's 1e-4 tolerance) and 1e-3 off.
    ([[(0.99999, 1.00001), (5.00001, 1.0), (5.0, 4.00001), (1.0, 3.99999)]], 6, 7),
    ([[(0.999, 1.001), (5.001, 1.0), (5.0, 4.001), (1.0, 3.999)]], 6, 7),
    # Vertices exactly on pixel centres.
    ([[(0.5, 0.5), (4.5, 0.5), (4.5, 3.5), (0.5, 3.5)]], 5, 6),
    ([[(0.5, 0.5), (0.5, 3.5), (4.5, 3.5), (4.5, 0.5)]], 5, 6),
    # Bow-tie.
    ([[(0.0, 0.0), (6.0, 6.0), (6.0, 0.0), (0.0, 6.0)]], 7, 7),
    # Zero area (collinear) and a repeated vertex.
    ([[(0.5, 0.5), (3.5, 3.5), (6.5, 6.5)]], 8, 8),
    ([[(1.5, 1.0), (1.5, 1.0), (4.0, 1.5), (2.0, 4.0)]], 6, 6),
    # A hole identical to its exterior.
    ([[(1.0, 1.0), (5.0, 1.0), (5.0, 5.0)], [(1.0, 1.0), (5.0, 1.0), (5.0, 5.0)]], 6, 6),
    # Sub-pixel triangles, on and off centres.
    ([[(2.4, 2.4), (2.6, 2.4), (2.5, 2.6)]], 4, 4),
    ([[(2.1, 2.1), (2.3, 2.1), (2.2, 2.3)]], 4, 4),
    # Wholly outside (each side), negative, and huge coordinates.
    ([[(-5.0, -5.0), (-1.0, -5.0), (-1.0, -1.0)]], 4, 4),
    ([[(10.0, 1.0), (12.0, 1.0), (11.0, 3.0)]], 4, 4),
    ([[(-1e7, 2.5), (3.5, -1e7), (1e7, 1e7)]], 5, 5),
    ([[(-(2.0**24), 1.25), (3.75, 1.5), (2.0, 2.0**24)]], 6, 6),
]


@pytest.mark.parametrize(("rings", "height", "width"), REGRESSIONS)
def test_regressions(rings, height, width):
    assert_matches_rasterio(rings, height, width, known_safe=True)


def test_far_vertices_are_cheap():
    """A vertex at +-2**24 must not make the kernel walk 2**24 off-image rows/columns."""
    big = 2.0**24
    rings = [[(-big, 3.3), (20.0, -big), (big, big * 0.999), (7.7, big)]]
    xy, offsets = pack(rings)
    for kernel in KERNELS.values():
        kernel(xy, offsets, 64, 64)  # compile
        t0 = time.perf_counter()
        for _ in range(20):
            kernel(xy, offsets, 64, 64)
        assert time.perf_counter() - t0 < 0.5
    assert_matches_rasterio(rings, 64, 64, known_safe=True)


def test_long_outlines_grow_the_run_buffers():
    """Outlines with more pixels than the first run buffers hold: diagonal segments (walked
    again once the buffers grow) and nearly vertical ones (the column walk)."""
    diagonal = [(3.3 + 37.1 * k, 2.2 if k % 2 == 0 else 297.6) for k in range(8)]
    diagonal += [(diagonal[-1][0], 299.5), (1.1, 299.5)]
    vertical = [(10.25 + 0.005 * (k % 2) + 9.5 * (k // 2), 1.5 if k % 4 in (0, 3) else 298.5)
                for k in range(24)]
    for rings in ([diagonal], [vertical]):
        assert_matches_rasterio(rings, 300, 300, known_safe=True)
        xy, offsets = pack(rings)
        starts, _ = polygon_runs_all_touched(xy, offsets, 300, 300)
        assert starts.size > 2 * 300 + 4 * len(rings[0]) + 16  # more than the first buffers


def test_empty_and_single_pixel_images():
    rings = [[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]]
    assert_matches_rasterio(rings, 1, 1, known_safe=True)
    xy, offsets = pack(rings)
    for kernel in KERNELS.values():
        starts, ends = kernel(xy, offsets, 0, 0)
        assert starts.size == 0 and ends.size == 0
