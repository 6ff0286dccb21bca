"""Geospatial rasterisation and tiled labelling: maskkit vs rasterio, tiled vs in-memory.

Case ``geo_rasterize_10000x10000_10000``: 10000 star-shaped polygons (40 vertices, radius
8–60 px, 1 in 5 with a hole) in UTM metres, burned with a north-up 0.5 m transform into a
10000×10000 uint16 label map, in both GDAL modes.  maskkit's time includes validity checks
(``invalid="repair"``); rasterio's includes its own shape checks.  ``maskkit`` runs with
its default threads (every core: validity checks in slices, horizontal bands painted in
parallel); ``maskkit_1_thread`` is the same call with ``threads=1``.

Case ``tiled_label_8192``: the connected components of an 8192×8192 uint8 mask of blobs
read from a ``.npy`` memory map, tiled (1024×1024 tiles) vs in memory
(``maskkit.label`` + ``region_stats``-equivalent areas), same counts and areas.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from affine import Affine

H = W = 10000
N_POLYGONS = 10000
N_VERTICES = 40
TRANSFORM = Affine(0.5, 0.0, 500000.0, 0.0, -0.5, 4200000.0)


def make_geometries(n=N_POLYGONS, k=N_VERTICES, seed=11):
    rng = np.random.default_rng(seed)
    geoms = []
    for i in range(n):
        cx, cy, r = rng.uniform(0, W), rng.uniform(0, H), rng.uniform(8, 60)
        a = np.sort(rng.uniform(0, 2 * math.pi, k))
        rr = r * rng.uniform(0.6, 1.0, k)
        px = np.stack([cx + rr * np.cos(a), cy + rr * np.sin(a)], axis=1)
        shell = [TRANSFORM @ tuple(p) for p in px]
        holes = []
        if i % 5 == 0:
            hole = [TRANSFORM @ (cx + 0.3 * r * math.cos(t), cy + 0.3 * r * math.sin(t))
                    for t in np.linspace(0, 2 * math.pi, 12, endpoint=False)]
            holes.append(hole)
        geoms.append(shapely.Polygon(shell, holes))
    return geoms


@pytest.fixture(scope="module")
def shapes():
    geoms = make_geometries()
    return list(zip(geoms, range(1, len(geoms) + 1), strict=True))


def run_maskkit(shapes, all_touched, threads=None):
    from maskkit.core.geo import rasterize_geometries

    return rasterize_geometries(shapes, (H, W), transform=TRANSFORM, all_touched=all_touched,
                                dtype=np.uint16, threads=threads)


def run_maskkit_1_thread(shapes, all_touched):
    return run_maskkit(shapes, all_touched, threads=1)


def run_rasterio(shapes, all_touched):
    from rasterio.features import rasterize

    return rasterize(shapes, out_shape=(H, W), transform=TRANSFORM, all_touched=all_touched,
                     dtype=np.uint16)


@pytest.mark.parametrize("all_touched", [False, True], ids=["center", "all_touched"])
@pytest.mark.parametrize("who", ["maskkit", "maskkit_1_thread", "rasterio"])
def test_geo_rasterize(benchmark, impl, shapes, who, all_touched):
    benchmark.group = f"geo_rasterize_10000x10000_10000_{'all_touched' if all_touched else 'center'}"
    impl(who)
    fn = {"maskkit": run_maskkit, "maskkit_1_thread": run_maskkit_1_thread,
          "rasterio": run_rasterio}[who]
    if who != "rasterio":
        fn(shapes[:10], all_touched)  # compile / load the kernels
    result = benchmark.pedantic(fn, args=(shapes, all_touched), rounds=5, iterations=1,
                                warmup_rounds=1)
    if who != "rasterio":
        assert np.array_equal(result, run_rasterio(shapes, all_touched))


# ------------------------------------------------------------------- tiled labelling

SIDE = 8192


def make_blobs(side=SIDE, seed=3):
    """Discs and bars of 1s, many crossing tile borders."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((side, side), np.uint8)
    yy, xx = np.ogrid[:64, :64]
    disc = ((yy - 32) ** 2 + (xx - 32) ** 2 < 30**2).astype(np.uint8)
    for _ in range(side * side // 20000):
        r, c = rng.integers(0, side - 64, 2)
        mask[r : r + 64, c : c + 64] |= disc
    for _ in range(side // 64):
        r = rng.integers(0, side - 3)
        mask[r : r + 3, rng.integers(0, side // 2) : rng.integers(side // 2, side)] = 1
    return mask


@pytest.fixture(scope="module")
def blob_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiled") / "blobs.npy"
    np.save(path, make_blobs())
    return path


@pytest.mark.parametrize("who", ["maskkit-tiled", "maskkit-in-memory"])
def test_tiled_label(benchmark, impl, blob_file, who):
    from maskkit.core.label import label_with_stats
    from maskkit.datasets.tiled import label_tiled

    benchmark.group = f"tiled_label_{SIDE}"
    impl("maskkit" if who == "maskkit-tiled" else "in-memory")
    if who == "maskkit-tiled":
        label_tiled(np.zeros((8, 8), np.uint8), tile_size=4)
        result = benchmark.pedantic(label_tiled, args=(blob_file,),
                                    kwargs={"tile_size": 1024}, rounds=3, iterations=1)
        _, stats = label_with_stats(np.load(blob_file))
        assert result.n == stats.num_labels
        assert np.array_equal(result.area[1:], stats.area[1:])
    else:
        def in_memory():
            return label_with_stats(np.load(blob_file, mmap_mode="r"))

        label_with_stats(np.zeros((8, 8), np.uint8))
        benchmark.pedantic(in_memory, rounds=3, iterations=1)


# ------------------------------------------------------------ tiled labelling of a TIFF
# maskkit reads TIFF windows with tifffile's segment decoder (io.raster), decoding only
# the tiles a window touches; the peer is rasterio's windowed read (GDAL), which maskkit
# used before, fed to the same labelling through the array-like interface.


class _RasterioWindows:
    """A GeoTIFF as a 2-D array-like read by rasterio windows."""

    def __init__(self, path):
        import rasterio

        self.ds = rasterio.open(path)
        self.shape = (self.ds.height, self.ds.width)
        self.dtype = np.dtype(self.ds.dtypes[0])
        self.ndim = 2

    def __getitem__(self, key):
        from rasterio.windows import Window

        rows, cols = key
        return self.ds.read(1, window=Window(cols.start, rows.start, cols.stop - cols.start,
                                             rows.stop - rows.start))


@pytest.fixture(scope="module")
def blob_tiff(tmp_path_factory):
    import tifffile

    path = tmp_path_factory.mktemp("tiled") / "blobs.tif"
    tifffile.imwrite(path, make_blobs(), tile=(256, 256), compression="zlib")
    return path


@pytest.mark.parametrize("who", ["maskkit-tifffile-windows", "rasterio-windows"])
def test_tiled_label_tiff(benchmark, impl, blob_tiff, who):
    from maskkit.datasets.tiled import label_tiled

    benchmark.group = f"tiled_label_tiff_{SIDE}"
    impl("maskkit" if who.startswith("maskkit") else "rasterio")
    label_tiled(np.zeros((8, 8), np.uint8), tile_size=4)
    if who.startswith("maskkit"):
        result = benchmark.pedantic(label_tiled, args=(blob_tiff,),
                                    kwargs={"tile_size": 1024}, rounds=3, iterations=1)
    else:
        def peer():
            return label_tiled(_RasterioWindows(blob_tiff), tile_size=1024)

        result = benchmark.pedantic(peer, rounds=3, iterations=1)
    expected = label_tiled(make_blobs(), tile_size=1024)
    assert result.n == expected.n and np.array_equal(result.area, expected.area)
