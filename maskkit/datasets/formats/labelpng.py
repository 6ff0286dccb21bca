"""Label-map PNG bytes, encoded for label maps: no row filter, DEFLATE with zlib's
run-length strategy.

A label map is long runs of one value; zlib's ``Z_RLE`` strategy finds exactly those
(matches at distance 1) without the hash-chain search of the default strategy, so it is
3-5× faster than Pillow's PNG encoder here and the files are smaller (a 2048×1024
Cityscapes label map: ~7 ms and 44 KB against 36 ms and 53 KB).  Any PNG reader
decodes them.  (This belongs beside :func:`maskkit.io.png.encode_label_png`; it lives
here until the writers' PNGs go through one encoder.)
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from maskkit.errors import InvalidInputError

__all__ = ["encode_png"]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + \
        struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(labels: np.ndarray, *, palette: np.ndarray | None = None) -> bytes:
    """PNG bytes of a 2-D uint8 or uint16 label map (grey), or of a uint8 map with a
    ``(n, 3)`` uint8 ``palette`` (a palette PNG, values are palette indices).

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> lab = np.array([[0, 1, 1], [2, 2, 0]], np.uint8)
    >>> np.asarray(Image.open(io.BytesIO(encode_png(lab)))).tolist()
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
