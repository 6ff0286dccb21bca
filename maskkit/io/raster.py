"""Rasters read by windows: ``.npy`` files, (Geo)TIFFs through tifffile, array-likes.

:func:`open_raster` gives a :class:`RasterSource` whose ``read(r0, r1, c0, c1)`` returns one
window, so a raster bigger than memory is read one tile at a time
(:func:`maskkit.label_tiled`, :func:`maskkit.count_tiled`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from maskkit.errors import InvalidInputError, MaskkitIOError, MaskkitTypeError

__all__ = ["RasterSource", "open_raster", "raster_shape"]

# ---------------------------------------------------------------------------- sources


class RasterSource:
    """A 2-D raster read by windows: ``shape``, ``dtype``, ``read(r0, r1, c0, c1)``."""

    def __init__(self, shape, dtype, reader, close=None, name=None):
        self.shape = tuple(int(v) for v in shape)
        self.dtype = np.dtype(dtype)
        self._reader = reader
        self._close = close
        self.name = name

    def read(self, r0, r1, c0, c1) -> np.ndarray:
        return self._reader(r0, r1, c0, c1)

    def close(self):
        if self._close is not None:
            self._close()


def open_raster(source) -> RasterSource:
    """Open ``source`` for windowed reading.

    ``source`` is a 2-D array-like that slices (ndarray, ``np.memmap``, zarr array), or a
    path to a ``.npy`` file (memory-mapped), a GeoTIFF/TIFF (``.tif``, ``.tiff``; read by
    windows with tifffile, one band) or a zarr array (``.zarr``; needs the optional package
    ``zarr``).

    Examples
    --------
    >>> src = open_raster(np.zeros((3, 5), np.uint8))
    >>> src.shape, src.dtype.name, src.read(0, 2, 1, 3).shape
    ((3, 5), 'uint8', (2, 2))
    """
    if isinstance(source, (str, os.PathLike)):
        return _open_path(Path(source))
    if not (hasattr(source, "shape") and hasattr(source, "dtype")
            and hasattr(source, "__getitem__")):
        raise MaskkitTypeError(
            f"source must be a path or a 2-D array-like; got {type(source).__name__}"
        )
    if len(source.shape) != 2:
        raise InvalidInputError(f"source must be 2-D (H, W); got shape {tuple(source.shape)}")

    def read(r0, r1, c0, c1):
        return np.asarray(source[r0:r1, c0:c1])

    return RasterSource(source.shape, source.dtype, read)


def _open_path(path: Path) -> RasterSource:
    name = path.name.lower()
    if not path.exists():
        raise MaskkitIOError("no such file", source=path)
    if name.endswith(".npy"):
        return _open_npy(path)
    if name.endswith(".zarr"):
        try:
            import zarr
        except ImportError:
            raise MaskkitIOError(
                "reading zarr arrays needs the optional package zarr (pip install zarr)",
                source=path,
            ) from None
        src = open_raster(zarr.open(str(path), mode="r"))
        src.name = str(path)
        return src
    if name.endswith((".tif", ".tiff")):
        return _open_tiff(path)
    raise MaskkitIOError("unknown raster format; tiled reading takes .npy, .tif, .tiff, .zarr",
                         source=path)


def _open_tiff(path: Path) -> RasterSource:
    """A TIFF read by windows with tifffile, the one TIFF library maskkit reads with: only
    the strips or tiles a window touches are read and decoded.  Checked before anything is
    decoded: one declared strip or tile must fit :func:`maskkit.get_max_bytes` (a strip of
    37 rows of 175 million pixels is refused, not decoded), and every failure of the file
    comes out as one :class:`~maskkit.errors.MaskkitIOError` line naming it."""
    import threading

    import tifffile

    from maskkit.io.masks import quiet_tiff_readers
    from maskkit.io.png import inflate_zlib
    from maskkit.limits import check_bytes

    try:
        with quiet_tiff_readers():
            tif = tifffile.TiffFile(path)
    except FileNotFoundError:
        raise MaskkitIOError("file not found", source=path) from None
    except Exception as exc:  # tifffile raises many types on corrupt input
        raise MaskkitIOError(f"not a readable TIFF ({_one_line(exc)})", source=path) from None
    try:
        if not tif.pages:
            raise MaskkitIOError("not a readable TIFF (no image in the file)", source=path)
        page = tif.pages[0]
        if page.samplesperpixel != 1 or len(page.shape) != 2:
            raise MaskkitIOError(f"has {page.samplesperpixel} bands (shape {page.shape}); a "
                                 "label raster has one", source=path)
        if page.dtype is None:
            raise MaskkitIOError("not a readable TIFF (unsupported sample format or bit "
                                 "depth)", source=path)
        # no pixel limit: a raster read by windows may be bigger than memory, but one
        # block is decoded whole, so it must fit the byte limit
        height, width = (int(v) for v in page.shape)
        dtype = np.dtype(page.dtype)
        rows, cols = (int(v) for v in tuple(page.chunks)[:2])
        grid_cols = int(tuple(page.chunked)[1])
        check_bytes(rows * cols * dtype.itemsize,
                    f"one {rows}×{cols} {dtype.name} block (strip or tile) of a "
                    f"{height}×{width} TIFF", source=path)
    except BaseException:
        tif.close()
        raise
    offsets, counts = page.dataoffsets, page.databytecounts
    lock = threading.Lock()  # one file handle: seek + read must not interleave
    # deflate without a predictor (what label rasters mostly are) goes through maskkit's
    # Numba inflate, which beats zlib on label data; anything else through tifffile
    stored = np.dtype(dtype).newbyteorder("<" if tif.byteorder == "<" else ">")
    fast = (int(page.compression) in (8, 32946) and int(page.predictor) == 1
            and int(page.fillorder) == 1 and page.bitspersample == 8 * dtype.itemsize)

    def block(index: int) -> np.ndarray | None:
        if index >= len(offsets) or not counts[index]:
            return None  # a sparse block: no data, zeros
        check_bytes(int(counts[index]), f"block {index} of the TIFF", source=path)
        with lock:
            tif.filehandle.seek(int(offsets[index]))
            data = tif.filehandle.read(int(counts[index]))
        if fast:
            n = rows if page.is_tiled else min(rows, height - (index // grid_cols) * rows)
            try:
                raw = inflate_zlib(data, n * cols * dtype.itemsize, path=path,
                                   what=f"block {index}", kind="TIFF")
            except MaskkitIOError:
                pass  # a padded last strip, or a bad block: tifffile decides
            else:
                seg = raw.view(stored).reshape(n, cols)
                return seg if stored.isnative else seg.astype(dtype)
        with quiet_tiff_readers():
            seg = page.decode(data, index, jpegtables=page.jpegtables)[0]
        return seg.reshape(seg.shape[-3], seg.shape[-2])

    def read(r0, r1, c0, c1):
        out = np.zeros((r1 - r0, c1 - c0), dtype)
        for i in range(r0 // rows, (r1 - 1) // rows + 1):
            for j in range(c0 // cols, (c1 - 1) // cols + 1):
                try:
                    seg = block(i * grid_cols + j)
                except MaskkitIOError:
                    raise
                except Exception as exc:  # tifffile raises many types on corrupt input
                    raise MaskkitIOError(
                        f"not a readable TIFF (rows {r0}..{r1 - 1}, columns {c0}..{c1 - 1}: "
                        f"{_one_line(exc)})", source=path) from None
                if seg is None:
                    continue
                y0, x0 = i * rows, j * cols
                a0, a1 = max(r0, y0), min(r1, y0 + seg.shape[0], height)
                b0, b1 = max(c0, x0), min(c1, x0 + seg.shape[1], width)
                if a1 > a0 and b1 > b0:
                    out[a0 - r0:a1 - r0, b0 - c0:b1 - c0] = seg[a0 - y0:a1 - y0,
                                                                b0 - x0:b1 - x0]
        return out

    return RasterSource((height, width), dtype, read, tif.close, str(path))


def _one_line(exc) -> str:
    """An exception's message on one line (a library's chained cause when its own says nothing)."""
    text = " ".join(str(exc).split())
    cause = exc.__cause__ or exc.__context__
    if cause is not None and (not text or "previous exception" in text):
        text = " ".join(str(cause).split()) or text
    return text.replace("See previous exception.", "").strip() or type(exc).__name__


def _open_npy(path: Path) -> RasterSource:
    """A C-order ``.npy`` is read with ``pread``, row segment by row segment: unlike a
    memory map, nothing read stays mapped (and counted) in the process afterwards."""
    try:
        fh = open(path, "rb")
        version = np.lib.format.read_magic(fh)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(fh)
        offset = fh.tell()
    except (ValueError, OSError, EOFError) as exc:
        raise MaskkitIOError(f"not a readable .npy array ({exc})", source=path) from None
    if len(shape) == 3 and shape[2] == 1:
        shape = shape[:2]
    if len(shape) != 2:
        fh.close()
        raise MaskkitIOError(f"holds an array of shape {shape}; expected 2-D", source=path)
    if fortran or dtype.hasobject:
        fh.close()
        try:
            arr = np.load(path, mmap_mode="r", allow_pickle=False).reshape(shape)
        except (ValueError, OSError) as exc:  # e.g. fewer bytes than the header declares
            raise MaskkitIOError(f"not a readable .npy array ({exc})", source=path) from None
        src = open_raster(arr)
        src.name = str(path)
        return src
    fd = fh.fileno()
    W = shape[1]
    item = dtype.itemsize

    def read(r0, r1, c0, c1):
        out = np.empty((r1 - r0, c1 - c0), dtype)
        view = memoryview(out.reshape(-1).view(np.uint8))
        row_bytes = (c1 - c0) * item
        if c0 == 0 and c1 == W:
            _pread_exact(fd, view, offset + r0 * W * item, path)
            return out
        for i, r in enumerate(range(r0, r1)):
            _pread_exact(fd, view[i * row_bytes:(i + 1) * row_bytes],
                         offset + (r * W + c0) * item, path)
        return out

    return RasterSource(shape, dtype, read, fh.close, str(path))


def _pread_exact(fd, view, pos, path):
    got = os.preadv(fd, [view], pos)
    while got < len(view):
        more = os.preadv(fd, [view[got:]], pos + got)
        if more == 0:
            raise MaskkitIOError("file is truncated", source=path)
        got += more



def raster_shape(path) -> tuple[int, ...] | None:
    """The shape of a ``.npy``/``.tif``/``.tiff`` file read from its header only, or None
    for any other or an unreadable file (its ordinary reader then says why).

    Examples
    --------
    >>> raster_shape("small.png") is None
    True
    """
    name = str(path).lower()
    if not name.endswith((".npy", ".tif", ".tiff")):
        return None
    from maskkit.io.masks import quiet_tiff_readers

    try:
        if name.endswith(".npy"):
            return tuple(np.load(path, mmap_mode="r", allow_pickle=False).shape)
        import tifffile

        with quiet_tiff_readers(), tifffile.TiffFile(path) as tif:
            return tuple(tif.pages[0].shape)
    except Exception:
        return None
