"""Label-map PNG bytes for the format writers (Cityscapes, VOC): no row filter, and
DEFLATE as runs.

:func:`encode_png` uses maskkit's Numba run-length DEFLATE
(:func:`maskkit.io.png.encode_png_array`: each run of equal bytes a literal and matches
at distance 1, fixed Huffman codes), one pass without a search; :func:`encode_png_zlib`
zlib's ``Z_RLE`` strategy (the same matches, found by zlib, then Huffman-coded per
block: smaller files, several times slower; benchmarks/README.md, issue 20).  Any PNG
reader decodes both.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from maskkit.errors import InvalidInputError

__all__ = ["encode_png", "encode_png_zlib"]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + \
        struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(labels: np.ndarray, *, palette: np.ndarray | None = None) -> bytes:
    """PNG bytes of a 2-D uint8 or uint16 label map (grey), or of a uint8 map with a
    ``(n, 3)`` uint8 ``palette`` (a palette PNG, values are palette indices), by maskkit's
    run-length DEFLATE (:func:`maskkit.io.png.encode_png_array`).

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> lab = np.array([[0, 1, 1], [2, 2, 0]], np.uint8)
    >>> np.asarray(Image.open(io.BytesIO(encode_png(lab)))).tolist()
    [[0, 1, 1], [2, 2, 0]]
    """
    from maskkit.io.png import encode_png_array

    if palette is not None:
        palette = np.asarray(palette)[:256]
    return encode_png_array(labels, palette=palette)


def encode_png_zlib(labels: np.ndarray, *, palette: np.ndarray | None = None) -> bytes:
    """:func:`encode_png` by zlib (level 1, run-length strategy): smaller files, 4-10×
    slower on label maps (kept for comparison in the benchmarks).

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> lab = np.array([[0, 1, 1], [2, 2, 0]], np.uint8)
    >>> np.asarray(Image.open(io.BytesIO(encode_png_zlib(lab)))).tolist()
    [[0, 1, 1], [2, 2, 0]]
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.dtype not in (np.uint8, np.uint16) or 0 in labels.shape:
        raise InvalidInputError(f"labels must be a non-empty 2-D uint8 or uint16 array; got "
                                f"shape {labels.shape}, dtype {labels.dtype}")
    if palette is not None and labels.dtype != np.uint8:
        raise InvalidInputError("a palette PNG holds uint8 indices")
    h, w = labels.shape
    depth = 8 * labels.itemsize
    color = 0 if palette is None else 3
    rows = np.zeros((h, 1 + w * labels.itemsize), np.uint8)  # filter byte 0: None
    rows[:, 1:] = labels.astype(labels.dtype.newbyteorder(">"), copy=False).view(
        np.uint8).reshape(h, -1)
    comp = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    idat = comp.compress(rows.data) + comp.flush()
    out = [b"\x89PNG\r\n\x1a\n",
           _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 0))]
    if palette is not None:
        out.append(_chunk(b"PLTE", np.ascontiguousarray(palette, np.uint8)[:256].tobytes()))
    out += [_chunk(b"IDAT", idat), _chunk(b"IEND", b"")]
    return b"".join(out)
