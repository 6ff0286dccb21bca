"""Writing GeoTIFF label maps (tiled, compressed, atomically)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np

from maskkit.errors import MaskkitIOError
from maskkit.io import fs

__all__ = ["write_geotiff"]


def write_geotiff(path: Path, array: np.ndarray, profile: dict) -> None:
    """Write a one-band tiled, compressed GeoTIFF atomically (temporary file + rename)."""
    import rasterio

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp.tif", dir=path.parent)
    os.close(fd)
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
    try:
        with rasterio.open(tmp, "w", **options) as dst:
            dst.write(array, 1)
        os.chmod(tmp, fs.file_mode())  # mkstemp's 0600 -> what open() gives under the umask
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, rasterio.errors.RasterioError):
            raise MaskkitIOError(f"cannot write GeoTIFF ({exc})", source=path) from None
        if isinstance(exc, OSError) and not isinstance(exc, MaskkitIOError):
            raise fs.write_error(exc, path) from None
        raise
