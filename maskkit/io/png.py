"""PNG reading and writing for label maps (8/16-bit grey, palette, RGB)."""

from __future__ import annotations

import os

import numpy as np

from maskkit.errors import InvalidInputError, MaskkitIOError


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
            img.load()
            if mode == "rgb":
                img = img.convert("RGB")
                return np.asarray(img, dtype=np.uint8)
            if img.mode in ("P", "L", "1"):
                return np.asarray(img, dtype=np.uint8)
            if img.mode in ("I;16", "I;16B", "I;16L"):
                return np.asarray(img, dtype=np.uint16)
            if img.mode == "I":
                return np.asarray(img, dtype=np.int32)
            return np.asarray(img)
    except FileNotFoundError:
        raise MaskkitIOError("file not found", source=path) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MaskkitIOError(f"not a readable PNG ({exc})", source=path) from None
