"""PNG reading and writing for label maps (8/16-bit grey, palette, RGB)."""

from __future__ import annotations

import os

import numpy as np

from maskkit.errors import ImageTooLargeError, InvalidInputError, MaskkitIOError


def voc_palette(n: int = 256) -> np.ndarray:
    """The PASCAL VOC colour map: an ``(n, 3)`` uint8 array (0 black, 1 maroon, 2 green, ...).

    Examples
    --------
    >>> voc_palette()[:3].tolist()
    [[0, 0, 0], [128, 0, 0], [0, 128, 0]]
    """
    labels = np.arange(n)
    pal = np.zeros((n, 3), dtype=np.uint8)
    for bit in range(8):
        for ch in range(3):
            pal[:, ch] |= (((labels >> (3 * bit + ch)) & 1) << (7 - bit)).astype(np.uint8)
    return pal


def encode_label_png(labels: np.ndarray, *, palette: bool = False, source=None) -> bytes:
    """Encode a 2-D label map as PNG bytes (see :func:`write_label_png` for the format).

    Examples
    --------
    >>> encode_label_png(np.zeros((2, 3), np.uint8))[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    import io

    from PIL import Image

    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise InvalidInputError(f"labels must be 2-D (H, W); got shape {labels.shape}",
                                source=source)
    lo = int(labels.min()) if labels.size else 0
    hi = int(labels.max()) if labels.size else 0
    if lo < 0 or hi > 65535:
        raise InvalidInputError(
            f"label values must be in 0..65535 to fit a PNG; got range {lo}..{hi}",
            source=source,
        )
    if hi <= 255:
        img = Image.fromarray(np.ascontiguousarray(labels, dtype=np.uint8))
        if palette:  # an "L" image becomes "P" with the same indices
            img.putpalette(voc_palette().ravel().tolist())
    else:
        if palette:
            raise InvalidInputError(
                f"label values up to {hi} do not fit an 8-bit palette PNG; drop --palette "
                "or use --contiguous ids",
                source=source,
            )
        img = Image.fromarray(np.ascontiguousarray(labels, dtype=np.uint16))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def write_label_png(
    path: str | os.PathLike, labels: np.ndarray, *, palette: bool = False
) -> None:
    """Write a 2-D label map as a PNG, atomically (``path`` may be an fsspec URL).

    uint8 when every value fits in 0..255 (as a palette PNG with the VOC colour map when
    ``palette=True``), else 16-bit greyscale (values up to 65535; palette impossible).
    """
    from maskkit.io import fs

    fs.write_bytes(path, encode_label_png(labels, palette=palette, source=path))


def read_png(path: str | os.PathLike, *, mode: str = "raw") -> np.ndarray:
    """Read a PNG as a NumPy array.

    Parameters
    ----------
    mode : {"raw", "rgb"}
        ``"raw"`` returns palette indices for palette PNGs, grey values (uint8 or uint16)
        for grey PNGs and (H, W, 3|4) arrays for colour ones; ``"rgb"`` converts to
        (H, W, 3) uint8.
    """
    from PIL import Image, UnidentifiedImageError

    from maskkit.io import fs

    local = fs.local_path(path)
    try:
        if local is None:  # an fsspec URL
            import io

            source = io.BytesIO(fs.read_bytes(path))
        else:
            source = path = local
        with Image.open(source) as img:
            # Pillow's raw mode of the stored samples, e.g. "L;2" for 2-bit grey
            packed = img.tile[0][3] if img.format == "PNG" and img.tile else None
            img.load()
            if mode == "rgb":
                img = img.convert("RGB")
                return np.asarray(img, dtype=np.uint8)
            if img.mode == "L" and packed in _SCALED_GREY:
                # Pillow stretches 2- and 4-bit grey to 0..255; a label map needs the
                # stored values back (0..3, 0..15)
                return np.asarray(img, dtype=np.uint8) // _SCALED_GREY[packed]
            if img.mode in ("P", "L", "1"):
                return np.asarray(img, dtype=np.uint8)
            if img.mode in ("I;16", "I;16B", "I;16L"):
                return np.asarray(img, dtype=np.uint16)
            if img.mode == "I":
                return np.asarray(img, dtype=np.int32)
            return np.asarray(img)
    except FileNotFoundError:
        raise MaskkitIOError("file not found", source=path) from None
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"PNG too large to decode safely ({exc})", source=path) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MaskkitIOError(f"not a readable PNG ({exc})", source=path) from None


#: Pillow's raw modes of grey PNGs it scales up to 8 bits, and the scale factor.
_SCALED_GREY = {"L;2": 85, "L;4": 17}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def inflate_png(path, data: bytes) -> tuple[np.ndarray, int, int, int] | None:
    """Inflate an 8-bit RGB/RGBA non-interlaced PNG to its filtered scanline stream.

    Returns ``(raw, height, width, bpp)`` with ``raw`` a uint8 array of
    ``height * (width * bpp + 1)`` bytes (filter byte + row bytes, per row; undo the
    filters with :func:`maskkit._kernels.png.png_unfilter`), or None for any other kind of
    PNG (the caller falls back to Pillow).  Raises
    :class:`~maskkit.errors.MaskkitIOError` for a corrupt one.
    """
    import struct
    import zlib

    from maskkit._kernels import png as _kpng
    from maskkit.limits import check_image_size

    if data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR" or len(data) < 33:
        return None
    width, height, depth, ctype, _comp, _filt, interlace = struct.unpack(">IIBBBBB",
                                                                         data[16:29])
    if depth != 8 or ctype not in (2, 6) or interlace != 0:
        return None
    check_image_size(height, width, source=path)
    parts = []
    pos = 8
    n = len(data)
    while pos + 8 <= n:
        (length,) = struct.unpack_from(">I", data, pos)
        kind = data[pos + 4:pos + 8]
        if kind == b"IDAT":
            parts.append(data[pos + 8:pos + 8 + length])
        elif kind == b"IEND":
            break
        pos += 12 + length
    bpp = 3 if ctype == 2 else 4
    size = height * (width * bpp + 1)
    stream = parts[0] if len(parts) == 1 else b"".join(parts)
    # The zlib wrapper is checked here and the deflate body inflated raw: zlib's own
    # Adler-32 pass costs as much as the inflation on a label map (long runs), and the
    # Numba checksum below is several times faster.
    if len(stream) < 2 or stream[0] & 0x0F != 8 or stream[0] >> 4 > 7 \
            or ((stream[0] << 8) | stream[1]) % 31 or stream[1] & 0x20:
        raise MaskkitIOError("not a readable PNG (bad zlib header in the image data)",
                             source=path)
    inflater = zlib.decompressobj(-15)
    try:
        raw = inflater.decompress(memoryview(stream)[2:], size + 1)
    except zlib.error as exc:
        raise MaskkitIOError(f"not a readable PNG (corrupt image data: {exc})",
                             source=path) from None
    if len(raw) != size or not inflater.eof:
        raise MaskkitIOError(
            f"not a readable PNG (image data inflates to {'at least ' if len(raw) > size else ''}"
            f"{len(raw)} bytes, expected {size}{'' if inflater.eof else ', stream truncated'})",
            source=path)
    raw = np.frombuffer(raw, dtype=np.uint8)
    trailer = inflater.unused_data[:4]
    if len(trailer) != 4 or int.from_bytes(trailer, "big") != _kpng.adler32(raw):
        raise MaskkitIOError("not a readable PNG (image data checksum mismatch)", source=path)
    return raw, height, width, bpp


def _inflate_rgb_png(path, data: bytes) -> np.ndarray | None:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG with zlib + a Numba unfilter kernel.

    Returns None for any other kind of PNG (the caller falls back to Pillow) and raises
    :class:`~maskkit.errors.MaskkitIOError` for a corrupt one.
    """
    from maskkit._kernels import png as _kpng

    inflated = inflate_png(path, data)
    if inflated is None:
        return None
    raw, height, width, bpp = inflated
    out = np.empty((height, width, 3), dtype=np.uint8)
    if not _kpng.png_unfilter(raw, height, width, bpp, out):
        raise MaskkitIOError("not a readable PNG (bad filter bytes)", source=path)
    return out


def read_file_bytes(path, *, source=None) -> bytes:
    """The bytes of a local file, with missing/unreadable files as MaskkitIOError."""
    source = path if source is None else source
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise MaskkitIOError("file not found", source=source) from None
    except OSError as exc:
        raise MaskkitIOError(f"cannot read file: {exc.strerror or exc}",
                             source=source) from None


def read_png_rgb_fast(path: str | os.PathLike) -> np.ndarray:
    """Read a colour PNG as a C-contiguous (H, W, 3) uint8 array, fast for panoptic PNGs.

    8-bit RGB and RGBA non-interlaced PNGs (every COCO panoptic PNG) are inflated with
    zlib and unfiltered by a Numba kernel, several times faster than Pillow, with the
    GIL released for most of the time; alpha is dropped.  Any other PNG, and fsspec URLs,
    go through Pillow (:func:`read_png` with ``mode="rgb"``).

    Raises
    ------
    MaskkitIOError
        When the file is missing or is not a readable PNG.

    Examples
    --------
    >>> import os, tempfile
    >>> from PIL import Image
    >>> p = os.path.join(tempfile.mkdtemp(), "a.png")
    >>> Image.fromarray(np.array([[[1, 2, 3], [4, 5, 6]]], np.uint8)).save(p)
    >>> read_png_rgb_fast(p).tolist()
    [[[1, 2, 3], [4, 5, 6]]]
    """
    from maskkit.io import fs

    local = fs.local_path(path)
    if local is not None:
        fast = _inflate_rgb_png(path, read_file_bytes(local, source=path))
        if fast is not None:
            return fast
    arr = read_png(path, mode="raw")
    if arr.ndim == 3 and arr.shape[2] == 3 and arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    return read_png(path, mode="rgb")
