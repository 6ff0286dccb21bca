"""Writing GeoTIFF label maps (tiled, compressed, atomically)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskkit.errors import MaskkitIOError
from maskkit.io import fs

__all__ = ["raster_grid", "write_geotiff"]


def write_geotiff(path: Path, array: np.ndarray, profile: dict) -> None:
    """Write a one-band tiled, compressed GeoTIFF atomically (:func:`maskkit.io.fs.atomic_path`)."""
    import rasterio

    h, w = array.shape
    block = 256 if min(h, w) >= 256 else 16 * max(1, min(h, w) // 16)
    options = dict(
        driver="GTiff", height=h, width=w, count=1, dtype=array.dtype.name,
        compress="deflate", predictor=2, tiled=True, blockxsize=block, blockysize=block,
        BIGTIFF="IF_SAFER", **profile,
    )
    if block < 16:
        options.update(tiled=False)
        del options["blockxsize"], options["blockysize"]
    with fs.atomic_path(path, suffix=".tmp.tif") as tmp:
        try:
            with rasterio.open(tmp, "w", **options) as dst:
                dst.write(array, 1)
        except rasterio.errors.RasterioError as exc:
            raise MaskkitIOError(f"cannot write GeoTIFF ({exc})", source=path) from None


def raster_grid(path) -> tuple[int, int, object, object]:
    """``(height, width, transform, crs)`` of a raster file (its grid, not its pixels).

    Raises
    ------
    MaskkitIOError
        When the file cannot be opened as a raster, naming it.
    """
    import rasterio

    try:
        with rasterio.open(path) as ref:
            return ref.height, ref.width, ref.transform, ref.crs
    except rasterio.errors.RasterioIOError as exc:
        raise MaskkitIOError(f"cannot open the reference raster ({exc})", source=path) from None
