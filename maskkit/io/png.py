"""PNG reading and writing for label maps (8/16-bit grey, palette, RGB)."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from maskkit._palette import voc_palette
from maskkit.errors import ImageTooLargeError, InvalidInputError, MaskkitError, MaskkitIOError
from maskkit.io.fs import atomic_write


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    import zlib

    return (len(data).to_bytes(4, "big") + tag + data
            + zlib.crc32(data, zlib.crc32(tag)).to_bytes(4, "big"))


def encode_label_png(labels: np.ndarray, *, palette: bool = False, source=None) -> bytes:
    """Encode a 2-D label map as PNG bytes (see :func:`write_label_png` for the format).

    Rows are stored unfiltered and deflated as runs: each run of equal bytes is a literal
    and matches at distance 1, in fixed Huffman codes (:mod:`maskkit._kernels.deflate`).
    A label map is long runs of a few values, so one pass without a search does the work
    of zlib's search for files somewhat larger than Pillow's default ones (the numbers:
    benchmarks/README.md, issue 19).

    Examples
    --------
    >>> encode_label_png(np.zeros((2, 3), np.uint8))[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """

    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise InvalidInputError(f"labels must be 2-D (H, W); got shape {labels.shape}",
                                source=source)
    if labels.size == 0:
        raise InvalidInputError(f"a PNG needs at least one pixel; got shape {labels.shape}",
                                source=source)
    if labels.dtype == np.uint8 or labels.dtype == np.bool_:
        hi = 1 if labels.dtype == np.bool_ else int(labels.max())
    else:
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0 or hi > 65535:
            raise InvalidInputError(
                f"label values must be in 0..65535 to fit a PNG; got range {lo}..{hi}",
                source=source,
            )
    if hi <= 255:
        data = np.ascontiguousarray(labels, dtype=np.uint8)
    else:
        if palette:
            raise InvalidInputError(
                f"label values up to {hi} do not fit an 8-bit palette PNG; drop --palette "
                "or use --contiguous ids",
                source=source,
            )
        data = np.ascontiguousarray(labels, dtype=np.uint16)
    return _run_length_png(data, voc_palette() if palette else None)


def encode_png_array(labels: np.ndarray, *, palette: np.ndarray | None = None,
                     source=None) -> bytes:
    """PNG bytes of a 2-D uint8 or uint16 array at its own bit depth, by the same
    run-length DEFLATE as :func:`encode_label_png`.

    Unlike :func:`encode_label_png`, a uint16 array is always a 16-bit PNG (a Cityscapes
    ``instanceIds`` map stays 16-bit when it holds no instance), and ``palette`` is any
    ``(n, 3)`` uint8 colour table (n <= 256) for a uint8 array (a palette PNG).

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> im = Image.open(io.BytesIO(encode_png_array(np.array([[0, 7], [300, 0]], np.uint16))))
    >>> im.mode, np.asarray(im).tolist()
    ('I;16', [[0, 7], [300, 0]])
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.dtype not in (np.uint8, np.uint16) or 0 in labels.shape:
        raise InvalidInputError(f"labels must be a non-empty 2-D uint8 or uint16 array; got "
                                f"shape {labels.shape}, dtype {labels.dtype}", source=source)
    plte = None
    if palette is not None:
        plte = np.ascontiguousarray(palette, np.uint8)
        if labels.dtype != np.uint8 or plte.ndim != 2 or plte.shape[1] != 3 \
                or not 1 <= plte.shape[0] <= 256:
            raise InvalidInputError("a palette PNG holds uint8 indices into an (n, 3) uint8 "
                                    f"palette, n <= 256; got palette shape {plte.shape}",
                                    source=source)
    return _run_length_png(np.ascontiguousarray(labels), plte)


def _run_length_png(labels: np.ndarray, plte) -> bytes:
    """PNG bytes of the C-contiguous 2-D uint8 or uint16 ``labels`` at their own bit depth:
    unfiltered rows deflated as runs (:mod:`maskkit._kernels.deflate`, reading the map in
    place); a palette PNG when ``plte`` (an (n, 3) uint8 table) is given, grey otherwise."""
    import zlib

    from maskkit._kernels import deflate as _kd

    h, w = labels.shape
    depth = 8 * labels.itemsize
    idat = _kd.deflate_rows(labels)
    parts = [b"\x89PNG\r\n\x1a\n",
             _png_chunk(b"IHDR", w.to_bytes(4, "big") + h.to_bytes(4, "big")
                        + bytes((depth, 0 if plte is None else 3, 0, 0, 0)))]
    if plte is not None:
        parts.append(_png_chunk(b"PLTE", np.ascontiguousarray(plte, np.uint8).tobytes()))
    # the IDAT chunk around the kernel's array, not a copy of it
    crc = zlib.crc32(idat, zlib.crc32(b"IDAT"))
    parts += [idat.size.to_bytes(4, "big"), b"IDAT", idat, crc.to_bytes(4, "big"),
              _png_chunk(b"IEND", b"")]
    return b"".join(parts)


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

    The image data of every PNG is inflated and checked here (declared length, zlib
    header, Adler-32; Pillow would fill a short stream with zeros).  8-bit grey and palette
    and 16-bit grey PNGs (label maps) are then decoded by Numba kernels, 8-bit RGB/RGBA
    with ``mode="rgb"`` too; other kinds go through Pillow.

    Parameters
    ----------
    mode : {"raw", "rgb"}
        ``"raw"`` returns palette indices for palette PNGs, grey values (uint8 or uint16)
        for grey PNGs and (H, W, 3|4) arrays for colour ones; ``"rgb"`` converts to
        (H, W, 3) uint8.

    Raises
    ------
    MaskkitIOError
        When the file is missing or is not a readable PNG (the message says why).
    ImageTooLargeError
        When the declared size is above :func:`maskkit.get_max_pixels`, or the buffers
        the read allocates (inflated data, pixels, the returned array; counted from the
        header, before inflating) above :func:`maskkit.get_max_bytes`.
    """
    import io

    from PIL import Image, UnidentifiedImageError

    from maskkit.io import fs

    local = fs.local_path(path)
    if local is None:  # an fsspec URL
        data = fs.read_bytes(path)
    else:
        data = read_file_bytes(local, source=path)
    header = _png_header(data, path)
    if header is not None:
        fast = _decode_fast(path, header, mode)
        if fast is not None:
            return fast
        # Pillow decodes the rest, but fills a short image-data stream with zeros without
        # a word: check the stream (header, length, checksum) first
        _inflate_checked(path, header, _pillow_bytes(header, mode))
    try:
        with Image.open(io.BytesIO(data)) as img:
            # Pillow's raw mode of the stored samples, e.g. "L;2" for 2-bit grey
            packed = img.tile[0][3] if img.format == "PNG" and img.tile else None
            if header is None:  # not a PNG: Pillow's header, checked before decoding
                _check_pillow_bytes(path, img)
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
    except MaskkitError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"PNG too large to decode safely ({exc})", source=path) from None
    except UnidentifiedImageError:  # its message names a BytesIO object, not the file
        raise MaskkitIOError("not a readable PNG (no valid PNG signature and header)",
                             source=path) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise MaskkitIOError(f"not a readable PNG ({exc})", source=path) from None


def _check_pillow_bytes(path, img) -> None:
    """The byte limit for a file Pillow decodes from its own header (not a PNG)."""
    from maskkit import limits

    width, height = img.size
    limits.check_image_size(height, width, source=path)
    bands = len(img.getbands())
    # Pillow's image (up to 4 bytes a sample), the converted copy and the returned array
    limits.check_bytes(3 * width * height * bands * 4,
                       f"a {width}×{height} {img.format or 'image'} ({img.mode})",
                       source=path)


#: Pillow's raw modes of grey PNGs it scales up to 8 bits, and the scale factor.
_SCALED_GREY = {"L;2": 85, "L;4": 17}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


#: Samples per pixel of each PNG colour type.
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
#: Adam7 passes: (first column, first row, column step, row step).
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
          (0, 1, 1, 2))


#: Bit depths the PNG spec allows for each colour type.
_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_CRITICAL = (b"IHDR", b"PLTE", b"IDAT", b"IEND")
_MAX_CHUNK = (1 << 31) - 1
_CHUNK_HEAD = struct.Struct(">I4s")
_IHDR = struct.Struct(">IIBBBBB")


class _PngHeader(tuple):
    """``(width, height, bit depth, colour type, interlace)`` plus ``stream``: the
    concatenated IDAT data (a zlib stream), found by :func:`_png_header`."""

    stream: bytes | memoryview


def _bad(path, why: str, kind: str = "PNG") -> MaskkitIOError:
    return MaskkitIOError(f"not a readable {kind} ({why})", source=path)


def _png_header(data: bytes, path=None) -> _PngHeader | None:
    """Parse and check the chunk structure of a PNG; None for a file without the PNG
    signature (Pillow then reports it).

    Checked, as the PNG spec requires: IHDR first, 13 bytes long, with a valid size,
    bit depth for its colour type, compression and filter method 0 and interlace 0 or 1;
    the CRC of every critical chunk (IHDR, PLTE, IDAT, IEND); chunk lengths within the
    file; no unknown critical chunk; PLTE (required for palette images, forbidden for
    grey ones) before the image data; IDAT chunks consecutive; IEND present.  Ancillary
    chunks are skipped unchecked, as the spec allows.  Also refuses, before anything is
    allocated, a read whose buffers exceed :func:`maskkit.limits.get_max_bytes`.
    """
    import zlib

    if data[:8] != _PNG_SIGNATURE:
        return None
    crc32 = zlib.crc32
    chunk_head = _CHUNK_HEAD.unpack_from
    n = len(data)
    view = memoryview(data)  # chunk bodies are read in place, never copied
    pos = 8
    header = None
    parts = []
    idat_done = False  # a chunk other than IDAT came after the image data
    plte = False
    while True:
        if pos + 8 > n:
            raise _bad(path, f"the file ends at byte {n} before the IEND chunk (truncated)")
        length, kind = chunk_head(data, pos)
        end = pos + 12 + length
        if end > n or length > _MAX_CHUNK or not kind.isalpha():
            raise _bad(path, _chunk_problem(kind, pos, length, n))
        body = view[pos + 8:end - 4]
        if kind[0] >= 0x61:  # ancillary (lower-case first letter): skipped, CRC unchecked
            if header is None:
                raise _bad(path, f"the first chunk is {kind.decode()}, not IHDR")
            if parts:
                idat_done = True
            pos = end
            continue
        if kind not in _CRITICAL:
            raise _bad(path, f"unknown critical chunk {kind.decode()}")
        if crc32(body, crc32(kind)) != int.from_bytes(data[end - 4:end], "big"):
            raise _bad(path, f"{kind.decode()} chunk CRC mismatch")
        if kind == b"IDAT":
            if header is None:
                raise _bad(path, "the first chunk is IDAT, not IHDR")
            if idat_done:
                raise _bad(path, "IDAT chunks are not consecutive")
            if header[3] == 3 and not plte:
                raise _bad(path, "palette image without a PLTE chunk before its image data")
            parts.append(body)
        elif kind == b"IHDR":
            if header is not None:
                raise _bad(path, "a second IHDR chunk")
            if length != 13:
                raise _bad(path, f"IHDR chunk is {length} bytes long, not 13")
            header = _check_ihdr(path, *_IHDR.unpack(body))
        elif header is None:
            raise _bad(path, f"the first chunk is {kind.decode()}, not IHDR")
        elif kind == b"PLTE":
            if parts:
                raise _bad(path, "PLTE chunk after the image data")
            if plte:
                raise _bad(path, "a second PLTE chunk")
            if header[3] in (0, 4):
                raise _bad(path, f"PLTE chunk in a colour type {header[3]} (grey) image")
            if length % 3 or not 3 <= length <= 768 \
                    or (header[3] == 3 and length > 3 << header[2]):
                raise _bad(path, f"PLTE chunk of {length} bytes for a {header[2]}-bit image")
            plte = True
        else:  # IEND
            if length:
                raise _bad(path, f"IEND chunk is {length} bytes long, not 0")
            break
        pos = end
    if not parts:
        raise _bad(path, "no IDAT chunk (no image data)")
    out = _PngHeader(header)
    out.stream = parts[0] if len(parts) == 1 else b"".join(parts)
    from maskkit.limits import check_image_size

    check_image_size(header[1], header[0], source=path)
    return out


def _chunk_problem(kind: bytes, pos: int, length: int, n: int) -> str:
    if not kind.isalpha():
        return f"chunk type {kind!r} at byte {pos + 4} is not 4 letters"
    if length > _MAX_CHUNK:
        return f"{kind.decode()} chunk declares {length} bytes, above the 2^31-1 the PNG spec allows"
    return (f"{kind.decode()} chunk at byte {pos} declares {length} bytes but the file ends "
            f"at byte {n} (truncated)")


def _check_ihdr(path, width, height, depth, ctype, comp, filt, interlace):
    if not 0 < width <= _MAX_CHUNK or not 0 < height <= _MAX_CHUNK:
        raise _bad(path, f"IHDR size {width}×{height}: each side must be 1..2^31-1")
    if ctype not in _DEPTHS:
        raise _bad(path, f"IHDR colour type {ctype} is not 0, 2, 3, 4 or 6")
    if depth not in _DEPTHS[ctype]:
        raise _bad(path, f"IHDR bit depth {depth} is not allowed for colour type {ctype} "
                         f"(allowed: {', '.join(map(str, _DEPTHS[ctype]))})")
    if comp:
        raise _bad(path, f"IHDR compression method {comp} (only 0, deflate, exists)")
    if filt:
        raise _bad(path, f"IHDR filter method {filt} (only 0 exists)")
    if interlace > 1:
        raise _bad(path, f"IHDR interlace method {interlace} (only 0 and 1 exist)")
    return width, height, depth, ctype, interlace


_KINDS = {0: "grey", 2: "RGB", 3: "palette", 4: "grey+alpha", 6: "RGBA"}


def _check_png_bytes(path, header, out_bytes: int) -> None:
    """Refuse a read whose buffers exceed :func:`maskkit.get_max_bytes`: the joined IDAT
    data, the inflated stream and ``out_bytes`` (what the caller allocates from it)."""
    from maskkit import limits

    width, height, depth, ctype, _ = header
    stream = header.stream
    need = (len(stream) if isinstance(stream, bytes) else 0) + _stream_size(header) + out_bytes
    if need > limits.get_max_bytes():  # the message is only built for a refusal
        limits.check_bytes(need, f"a {width}×{height} {depth}-bit {_KINDS[ctype]} PNG",
                           source=path)


def _pillow_bytes(header, mode: str) -> int:
    """At most what Pillow allocates for a PNG: its image (up to 4 bytes a pixel; 16-bit
    colour is reduced to 8 bits), the returned array, and for ``mode="rgb"`` the
    converted image and its array."""
    return header[0] * header[1] * (8 + (7 if mode == "rgb" else 0))


def _stream_size(header) -> int:
    """Bytes of the inflated image data: per row (of each Adam7 pass) a filter byte and
    the packed samples."""
    width, height, depth, ctype, interlace = header
    bits = depth * _CHANNELS[ctype]
    if not interlace:
        return height * ((width * bits + 7) // 8 + 1) if width else 0
    size = 0
    for x0, y0, dx, dy in _ADAM7:
        w = (width - x0 + dx - 1) // dx if width > x0 else 0
        h = (height - y0 + dy - 1) // dy if height > y0 else 0
        if w and h:
            size += h * ((w * bits + 7) // 8 + 1)
    return size


def _inflate_checked(path, header: _PngHeader, out_bytes: int) -> np.ndarray:
    """The PNG's image data inflated (:func:`inflate_zlib`): exactly the declared size or a
    MaskkitIOError.  Before anything is allocated, the inflated size plus ``out_bytes`` (what the caller
    will allocate) is checked against :func:`maskkit.get_max_bytes`.
    """
    _check_png_bytes(path, header, out_bytes)
    return inflate_zlib(header.stream, _stream_size(header), path=path, what="image data")


def inflate_zlib(stream, size: int, *, path=None, what: str = "data",
                 kind: str = "PNG") -> np.ndarray:
    """A zlib stream inflated into exactly ``size`` bytes, or one MaskkitIOError line.

    The zlib wrapper is checked here and the deflate body inflated by a Numba kernel
    (:mod:`maskkit._kernels.inflate`, made for label data, whose streams are long
    back-references) straight into an array of ``size`` bytes; the Adler-32 checksum is a
    Numba kernel too.  As zlib, this refuses a stream whose 4-byte Adler-32 trailer is
    missing, cut short or wrong.  The caller checks ``size`` against the byte limit.
    """
    from maskkit._kernels import inflate as _kinflate
    from maskkit._kernels import png as _kpng

    if len(stream) < 2 or stream[0] & 0x0F != 8 or stream[0] >> 4 > 7 \
            or ((stream[0] << 8) | stream[1]) % 31 or stream[1] & 0x20:
        raise _bad(path, kind=kind, why=f"no {what} or a bad zlib header")
    body = np.frombuffer(stream, dtype=np.uint8)[2:]
    raw = np.empty(size, dtype=np.uint8)
    written, used, status = _kinflate.inflate_raw(body, raw)
    if status == _kinflate.OUTPUT_OVERFLOW:
        raise _bad(path, kind=kind, why=f"{what} inflates to more than the {size} bytes its header declares")
    if status != _kinflate.OK:
        raise _bad(path, kind=kind, why=f"corrupt {what}: {_kinflate.status_message(status)}")
    if written != size:
        raise _bad(path, kind=kind, why=f"{what} inflates to {written} bytes, expected {size}")
    trailer = body[used:used + 4]
    if trailer.size < 4:
        raise _bad(path, kind=kind, why=f"{what} ends {4 - trailer.size} byte(s) short of its Adler-32 "
                         "checksum (truncated zlib stream)")
    if int.from_bytes(trailer.tobytes(), "big") != _kpng.adler32(raw):
        raise _bad(path, kind=kind, why=f"{what} checksum mismatch")
    return raw


def inflate_png(path, data: bytes) -> tuple[np.ndarray, int, int, int] | None:
    """Inflate an 8-bit RGB/RGBA non-interlaced PNG to its filtered scanline stream.

    Returns ``(raw, height, width, bpp)`` with ``raw`` a uint8 array of
    ``height * (width * bpp + 1)`` bytes (filter byte + row bytes, per row; undo the
    filters with :func:`maskkit._kernels.png.png_unfilter`), or None for any other kind of
    PNG (the caller falls back to Pillow).  Raises
    :class:`~maskkit.errors.MaskkitIOError` for a corrupt one.
    """
    header = _png_header(data, path)
    if header is None:
        return None
    width, height, depth, ctype, interlace = header
    if depth != 8 or ctype not in (2, 6) or interlace:
        return None
    return _inflate_checked(path, header, 3 * width * height), height, width, _CHANNELS[ctype]


def inflate_label_png(path, data: bytes) -> tuple[np.ndarray, int, int] | None:
    """Inflate an 8-bit grey or palette non-interlaced PNG (the common label map) to its
    filtered scanline stream: ``(raw, height, width)`` with ``raw`` holding per row a
    filter byte and ``width`` bytes, checked as :func:`read_png` checks it; None for any
    other kind of file (read it with :func:`read_png`)."""
    header = _png_header(data, path)
    if header is None:
        return None
    width, height, depth, ctype, interlace = header
    if depth != 8 or ctype not in (0, 3) or interlace:
        return None
    # as much as read_mask's label map: counting accepts exactly the files reading does
    return _inflate_checked(path, header, width * height), height, width


def _decode_fast(path, header, mode: str) -> np.ndarray | None:
    """Decode the PNG kinds label maps come in without Pillow, or return None.

    ``mode="raw"``: 8-bit grey and palette PNGs as (H, W) uint8 (palette indices), 16-bit
    grey as (H, W) uint16.  ``mode="rgb"``: 8-bit RGB/RGBA as (H, W, 3) uint8.
    """
    from maskkit._kernels import png as _kpng

    width, height, depth, ctype, interlace = header
    if interlace:
        return None
    if mode == "rgb":
        return _unfilter_rgb(path, header) if depth == 8 and ctype in (2, 6) else None
    if not ((depth == 8 and ctype in (0, 3)) or (depth == 16 and ctype == 0)):
        return None
    nbytes = depth // 8
    # the unfiltered bytes, and for 16 bits their native-order copy
    raw = _inflate_checked(path, header, width * height * nbytes * nbytes)
    out = np.empty(height * width * nbytes, dtype=np.uint8)
    if not _kpng.png_unfilter_bytes(raw, height, width * nbytes, nbytes, out):
        raise MaskkitIOError("not a readable PNG (bad filter bytes)", source=path)
    if depth == 8:
        return out.reshape(height, width)
    return out.view(">u2").reshape(height, width).astype(np.uint16)


def _inflate_rgb_png(path, data: bytes) -> np.ndarray | None:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG with the Numba inflate and unfilter kernels.

    Returns None for any other kind of PNG (the caller falls back to Pillow) and raises
    :class:`~maskkit.errors.MaskkitIOError` for a corrupt one.
    """
    header = _png_header(data, path)
    if header is None:
        return None
    return _unfilter_rgb(path, header)


def _unfilter_rgb(path, header) -> np.ndarray | None:
    from maskkit._kernels import png as _kpng

    width, height, depth, ctype, interlace = header
    if depth != 8 or ctype not in (2, 6) or interlace:
        return None
    raw, bpp = _inflate_checked(path, header, 3 * width * height), _CHANNELS[ctype]
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

    8-bit RGB and RGBA non-interlaced PNGs (every COCO panoptic PNG) are inflated and
    unfiltered by Numba kernels rather than Pillow, with the GIL released
    for most of the time; alpha is dropped.  Any other PNG, and fsspec URLs,
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


def write_render(path, rgb: np.ndarray) -> Path:
    """Write an RGB preview as PNG, atomically; returns the path."""
    from PIL import Image


    path = Path(path)
    with atomic_write(path, "wb") as fh:
        Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(fh, format="PNG")
    return path

