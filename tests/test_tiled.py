"""Tiled labelling and counting against whole-image labelling: tiny tiles, objects that
cross tile borders in every direction, .npy / GeoTIFF / array sources, the count CLI."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from maskkit.cli import main
from maskkit.core.count import count_table
from maskkit.core.label import label
from maskkit.datasets.tiled import count_tiled, label_tiled, use_tiled
from maskkit.errors import InvalidInputError, MaskkitIOError
from maskkit.io.raster import open_raster

masks = st.integers(1, 14).flatmap(
    lambda h: st.integers(1, 14).flatmap(
        lambda w: arrays(np.uint8, (h, w), elements=st.sampled_from([0, 0, 1, 2, 255]))
    )
)
tiles = st.tuples(st.integers(1, 6), st.integers(1, 6))


@given(masks, tiles, st.sampled_from([4, 8]), st.booleans())
def test_equals_whole_image_labelling(mask, tile, connectivity, binary):
    out = np.full(mask.shape, -1, np.int32)
    result = label_tiled(mask, connectivity, binary=binary, tile_size=tile, out=out)
    expected = label(mask, connectivity, binary=binary)
    np.testing.assert_array_equal(out, expected)
    assert result.n == expected.max()
    np.testing.assert_array_equal(result.area, np.bincount(expected.ravel(),
                                                           minlength=result.n + 1))
    if not binary and result.n:
        first = {int(k): mask[expected == k][0] for k in range(1, result.n + 1)}
        assert result.value[1:].tolist() == [first[k] for k in range(1, result.n + 1)]


@given(masks, tiles, st.sampled_from([4, 8]), st.integers(0, 4))
def test_counts_equal_count_table(mask, tile, connectivity, min_area):
    for kind in ("semantic", "instance"):
        got = count_tiled(mask, kind=kind, connectivity=connectivity, min_area=min_area,
                          tile_size=tile)
        assert got == count_table(mask, kind=kind, connectivity=connectivity,
                                  min_area=min_area)


def crossing_raster(h=96, w=112):
    """Objects crossing 16x16 tile borders horizontally, vertically, diagonally (only an
    8-connected corner touch), spirals through many tiles, and two classes touching."""
    m = np.zeros((h, w), np.uint8)
    m[5:40, 14:18] = 1  # vertical bar over 2 tile rows
    m[30:34, 3:100] = 1  # horizontal bar over many tile columns, crossing the first
    m[15, 47] = 1
    m[16, 48] = 1  # diagonal touch exactly at a tile corner (8-connected only)
    m[47, 64] = 2
    m[48, 63] = 2  # anti-diagonal touch at a tile corner
    m[60:90, 20] = 1
    m[89, 20:60] = 1
    m[60:90, 59] = 1
    m[60, 30:60] = 1
    m[60:80, 30] = 1  # a spiral crossing tile borders both ways
    m[50:70, 80:100] = 2
    m[50:70, 100:104] = 3  # touching another class: separate in a multilabel pass
    m[h - 1, w - 1] = 1
    return m


@pytest.mark.parametrize("connectivity", [4, 8])
@pytest.mark.parametrize("tile", [16, (16, 112), (7, 5), 1000])
def test_objects_crossing_borders_every_direction(connectivity, tile):
    m = crossing_raster()
    out = np.zeros(m.shape, np.int64)
    result = label_tiled(m, connectivity, tile_size=tile, out=out)
    np.testing.assert_array_equal(out, label(m, connectivity))
    binary = label_tiled(m, connectivity, binary=True, tile_size=tile)
    assert binary.n == label(m, connectivity, binary=True).max()
    assert result.n == label(m, connectivity).max()
    # the two corner touches join only with 8-connectivity
    assert result.n == (7 if connectivity == 8 else 9)


def test_file_sources(tmp_path):
    m = crossing_raster()
    np.save(tmp_path / "m.npy", m)
    np.save(tmp_path / "f.npy", np.asfortranarray(m))
    with rasterio.open(tmp_path / "m.tif", "w", driver="GTiff", height=m.shape[0],
                       width=m.shape[1], count=1, dtype="uint8", tiled=True, blockxsize=16,
                       blockysize=16, compress="deflate") as ds:
        ds.write(m, 1)
    expected = count_table(m)
    for name in ("m.npy", "f.npy", "m.tif"):
        assert count_tiled(tmp_path / name, tile_size=(16, 32)) == expected, name
    src = open_raster(tmp_path / "m.npy")
    np.testing.assert_array_equal(src.read(10, 30, 5, 50), m[10:30, 5:50])
    src.close()


def test_errors(tmp_path):
    with pytest.raises(InvalidInputError, match="tile_size must be >= 1"):
        label_tiled(np.zeros((3, 3), np.uint8), tile_size=0)
    with pytest.raises(InvalidInputError, match="cannot hold 2 labels"):
        label_tiled(np.array([[1, 0, 1]], np.uint8), out=np.zeros((1, 3), bool))
    (tmp_path / "x.npy").write_bytes(b"garbage")
    with pytest.raises(MaskkitIOError, match="x.npy: not a readable .npy"):
        label_tiled(tmp_path / "x.npy")
    (tmp_path / "x.txt").write_text("1")
    with pytest.raises(MaskkitIOError, match="unknown raster format"):
        label_tiled(tmp_path / "x.txt")


def test_count_cli_uses_tiles_above_threshold(tmp_path, monkeypatch, capsys):
    m = crossing_raster()
    np.save(tmp_path / "big.npy", m)
    monkeypatch.setenv("MASKKIT_TILED_PIXELS", "100")
    assert use_tiled(tmp_path / "big.npy")
    calls = []
    import maskkit.datasets.tiled

    real = maskkit.datasets.tiled.count_tiled
    monkeypatch.setattr(maskkit.datasets.tiled, "count_tiled",
                        lambda *a, **k: calls.append(a) or real(*a, **k))
    out = tmp_path / "c.csv"
    assert main(["count", str(tmp_path / "big.npy"), "--kind", "semantic", "-o", str(out),
                 "--workers", "1", "--quiet"]) == 0
    assert calls
    rows = out.read_text().splitlines()[1:]
    expected = count_table(m)
    assert rows == [f"{tmp_path / 'big.npy'},{c},{n},{a}" for c, (n, a) in expected.items()]
    monkeypatch.setenv("MASKKIT_TILED_PIXELS", str(10**9))
    assert not use_tiled(tmp_path / "big.npy")


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 90), w=st.integers(1, 90), layout=st.sampled_from(
    ["tile16", "tile32", "strip1", "strip7", "strip-all"]),
    compression=st.sampled_from([None, "zlib", "zlib+predictor"]),
    dtype=st.sampled_from(["u1", "u2", "i4"]),
    data=st.data())
def test_tiff_windows_equal_the_whole_image(tmp_path_factory, h, w, layout, compression,
                                            dtype, data):
    # io.raster reads only the strips/tiles a window touches (tifffile's segment decoder)
    import tifffile

    from maskkit.io.raster import open_raster

    rng = np.random.default_rng(h * 1000 + w)
    arr = rng.integers(0, 200, (h, w)).astype(dtype)
    path = tmp_path_factory.mktemp("tif") / "m.tif"
    kw = {"compression": compression and compression.split("+")[0],
          "predictor": bool(compression and "predictor" in compression)}
    if layout.startswith("tile"):
        if h < 16 or w < 16:
            kw["rowsperstrip"] = 3
        else:
            kw["tile"] = (int(layout[4:]),) * 2
    elif layout == "strip-all":
        kw["rowsperstrip"] = h
    else:
        kw["rowsperstrip"] = int(layout[5:])
    tifffile.imwrite(path, arr, **kw)
    src = open_raster(path)
    try:
        assert src.shape == (h, w) and src.dtype == arr.dtype
        r0 = data.draw(st.integers(0, h - 1))
        r1 = data.draw(st.integers(r0 + 1, h))
        c0 = data.draw(st.integers(0, w - 1))
        c1 = data.draw(st.integers(c0 + 1, w))
        np.testing.assert_array_equal(src.read(r0, r1, c0, c1), arr[r0:r1, c0:c1])
    finally:
        src.close()


def test_corrupt_tiff_block_is_one_line(tmp_path):
    # a damaged deflate tile: neither maskkit's inflate nor tifffile reads it -> one line
    import tifffile

    from maskkit.errors import MaskkitIOError
    from maskkit.io.raster import open_raster

    path = tmp_path / "bad.tif"
    arr = (np.arange(64 * 64) % 7).astype(np.uint8).reshape(64, 64)
    tifffile.imwrite(path, arr, tile=(32, 32), compression="zlib")
    with tifffile.TiffFile(path) as tif:
        off, n = tif.pages[0].dataoffsets[3], tif.pages[0].databytecounts[3]
    data = bytearray(path.read_bytes())
    data[off + 2:off + n] = b"\xff" * (n - 2)
    path.write_bytes(bytes(data))
    src = open_raster(path)
    try:
        np.testing.assert_array_equal(src.read(0, 32, 0, 64), arr[:32])  # blocks 0, 1 fine
        with pytest.raises(MaskkitIOError, match="not a readable TIFF") as err:
            src.read(32, 64, 32, 64)
        assert "\n" not in str(err.value) and str(path) in str(err.value)
    finally:
        src.close()
