"""COCO run-length encoding, byte-identical to pycocotools.

An RLE is a dict ``{"size": [h, w], "counts": ...}``: ``counts`` is either the compressed
string pycocotools writes (``str`` or ``bytes``) or an uncompressed list of run lengths,
alternating background and foreground, starting with background, in column-major order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from maskkit._kernels import coco as _kc
from maskkit._kernels import rle as _kr
from maskkit.core.checks import check_out, check_value
from maskkit.errors import InvalidInputError, InvalidRLEError, MaskkitTypeError
from maskkit.limits import check_bytes, check_image_size

__all__ = ["rle_area", "rle_decode", "rle_encode", "rle_merge", "rle_paint", "rle_to_bbox"]


def rle_counts(rle, *, height=None, width=None, source=None, obj=None):
    """Validate an RLE dict and return ``(counts int64 array, h, w)``.

    ``height``/``width``, when given, must match the RLE's ``size``.
    """
    if not isinstance(rle, Mapping):
        raise MaskkitTypeError(
            f"an RLE must be a dict with 'size' and 'counts'; got {type(rle).__name__}",
            source=source, obj=obj,
        )
    if "size" not in rle or "counts" not in rle:
        missing = [k for k in ("size", "counts") if k not in rle]
        raise InvalidRLEError(f"RLE is missing {missing}", source=source, obj=obj)
    size = rle["size"]
    try:
        h, w = size
    except (TypeError, ValueError):
        raise InvalidRLEError(f"RLE 'size' must be [height, width]; got {size!r}",
                              source=source, obj=obj) from None
    h, w = check_image_size(h, w, source=source, obj=obj)
    if height is not None and (h, w) != (int(height), int(width)):
        raise InvalidRLEError(
            f"RLE size {h}×{w} differs from the image size {int(height)}×{int(width)}",
            source=source, obj=obj,
        )
    hw = h * w
    raw = rle["counts"]
    if isinstance(raw, str):
        if not raw.isascii():
            i, ch = next((i, c) for i, c in enumerate(raw) if ord(c) > 127)
            raise InvalidRLEError(
                f"corrupt compressed RLE counts: character {ch!r} (U+{ord(ch):04X}) at "
                f"position {i} is outside '0'..'o'",
                source=source, obj=obj,
            )
        raw = raw.encode("ascii")
    if isinstance(raw, (bytes, bytearray)):
        # The kernel refuses any run longer than h*w as it goes, so the running sums of
        # the delta coding stay far from int64 overflow.
        counts, status, pos = _kr.string_to_counts(np.frombuffer(bytes(raw), dtype=np.uint8),
                                                   hw)
        if status:
            if status == 1:
                why = (f"character {chr(raw[pos])!r} (byte {raw[pos]}) at position {pos} "
                       "is outside '0'..'o'")
            elif status == 2:
                why = f"run {counts.size} is longer than the {h}×{w} = {hw} pixels of the image"
            elif status == 4:
                why = f"run {counts.size - 1} has negative length {int(counts[-1])}"
            else:
                why = "the string ends in the middle of a run length"
            raise InvalidRLEError(f"corrupt compressed RLE counts: {why}", source=source, obj=obj)
    elif isinstance(raw, (list, tuple, np.ndarray)):
        try:
            counts = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidRLEError("uncompressed RLE counts must be a list of integers",
                                  source=source, obj=obj) from None
        except OverflowError:  # an integer beyond float range
            raise InvalidRLEError("RLE run length too large", source=source, obj=obj) from None
        if counts.ndim != 1 or not np.all(np.isfinite(counts)) or np.any(counts % 1):
            raise InvalidRLEError("uncompressed RLE counts must be a flat list of integers",
                                  source=source, obj=obj)
        if counts.size and counts.min() < 0:
            i = int(np.argmax(counts < 0))
            raise InvalidRLEError(f"RLE run {i} has negative length {raw[i]}",
                                  source=source, obj=obj)
        if counts.size and counts.max() > hw:
            i = int(np.argmax(counts > hw))
            raise InvalidRLEError(
                f"RLE run {i} of length {raw[i]} is longer than the {h}×{w} = {hw} pixels "
                "of the image", source=source, obj=obj)
        counts = counts.astype(np.int64)
    else:
        raise InvalidRLEError(
            f"RLE 'counts' must be a string or a list; got {type(raw).__name__}",
            source=source, obj=obj,
        )
    # Every run is now in 0..h*w, but many of them can still wrap an int64 sum: compare
    # in float64 first (its rounding is far below h*w), then exactly.
    if counts.size and float(counts.sum(dtype=np.float64)) > 2.0 * hw + 1.0:
        raise InvalidRLEError(
            f"RLE counts sum to more than {hw}, the {h}×{w} pixels of the image",
            source=source, obj=obj,
        )
    total = int(counts.sum()) if counts.size else 0
    if total != hw:
        raise InvalidRLEError(
            f"RLE counts sum to {total}, but size {h}×{w} needs {h * w}", source=source, obj=obj
        )
    return counts, h, w


def _as_mask(mask, name="mask") -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise InvalidInputError(f"{name} must be 2-D (H, W); got shape {mask.shape}")
    if mask.dtype.kind not in "biuf":
        raise MaskkitTypeError(f"{name} must be numeric or bool; got dtype {mask.dtype}")
    if mask.dtype == np.bool_:
        mask = mask.view(np.uint8)
    return mask


def counts_to_rle(counts, h, w, compressed=True) -> dict:
    if compressed:
        return {"size": [h, w], "counts": _kr.counts_to_string(counts).tobytes().decode("ascii")}
    return {"size": [h, w], "counts": [int(c) for c in counts]}


def rle_encode(mask, *, compressed: bool = True) -> dict:
    """Encode a 2-D mask (non-zero = foreground) as a COCO RLE.

    Parameters
    ----------
    mask : array_like, shape (H, W)
        Any numeric or bool dtype, any memory order.
    compressed : bool
        ``True`` (default): ``counts`` is the compressed string, identical to
        ``pycocotools.mask.encode`` (which returns it as bytes). ``False``: a list of run
        lengths (COCO's uncompressed RLE).

    Returns
    -------
    dict
        ``{"size": [H, W], "counts": str | list[int]}``.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((4, 5), np.uint8); m[1:3, 1:4] = 1
    >>> rle_encode(m)
    {'size': [4, 5], 'counts': '5220003'}
    >>> rle_encode(m, compressed=False)["counts"]
    [5, 2, 2, 2, 2, 2, 5]
    """
    mask = _as_mask(mask)
    h, w = mask.shape
    return counts_to_rle(_kr.encode_mask(mask), h, w, compressed)


def rle_decode(rle) -> np.ndarray:
    """Decode a COCO RLE (compressed or uncompressed) into an ``(H, W)`` uint8 mask.

    The mask is Fortran-ordered (column-major, RLE order), as pycocotools returns it.

    Raises :class:`~maskkit.errors.InvalidRLEError` when the counts are corrupt or do not
    sum to ``H * W``.

    Examples
    --------
    >>> rle_decode({"size": [2, 3], "counts": [1, 2, 3]})
    array([[0, 1, 0],
           [1, 0, 0]], dtype=uint8)
    """
    counts, h, w = rle_counts(rle)
    check_bytes(h * w, f"the {h}×{w} uint8 mask of an RLE")
    return _kr.decode_counts(counts, h, w)


def rle_area(rle) -> int:
    """Number of foreground pixels of an RLE (``pycocotools.mask.area``).

    Examples
    --------
    >>> rle_area({"size": [4, 5], "counts": "5220003"})
    6
    """
    counts, _, _ = rle_counts(rle)
    return int(counts[1::2].sum())


def rle_to_bbox(rle) -> np.ndarray:
    """Bounding box ``[x, y, width, height]`` (float64) as ``pycocotools.mask.toBbox``.

    Examples
    --------
    >>> rle_to_bbox({"size": [4, 5], "counts": "5220003"}).tolist()
    [1.0, 1.0, 3.0, 2.0]
    """
    counts, h, w = rle_counts(rle)
    return _kr.counts_bbox(counts, h, w)


def rle_paint(out: np.ndarray, rle, value) -> np.ndarray:
    """Paint an RLE's foreground with ``value`` into the label map ``out`` (in place).

    Runs are written straight into ``out``; no full-size mask is decoded.

    Examples
    --------
    >>> import numpy as np
    >>> out = np.zeros((4, 5), np.uint16)
    >>> rle_paint(out, {"size": [4, 5], "counts": "5220003"}, 7)[1]
    array([0, 7, 7, 7, 0], dtype=uint16)
    """
    check_out(out)
    h, w = out.shape
    counts, _, _ = rle_counts(rle, height=h, width=w)
    value = check_value(out, value)
    s, e = _kr.counts_to_runs(counts)
    _kc.paint_runs(out, np.zeros((0, 0), np.uint8), s, e, value, _kc.OP_SET, value,
                   np.zeros(2, np.int64))
    return out


def rle_merge(rles: Iterable, *, compressed: bool = True) -> dict:
    """Union of several RLEs of the same size (``pycocotools.mask.merge``).

    Examples
    --------
    >>> a = {"size": [2, 2], "counts": [0, 1, 3]}
    >>> b = {"size": [2, 2], "counts": [3, 1]}
    >>> rle_merge([a, b], compressed=False)["counts"]
    [0, 1, 2, 1]
    """
    rles = list(rles)
    if not rles:
        raise InvalidInputError("rle_merge needs at least one RLE")
    _counts, h, w = rle_counts(rles[0])
    starts, ends = [], []
    for i, r in enumerate(rles):
        c, _, _ = rle_counts(r, height=h, width=w, obj=f"RLE {i}")
        s, e = _kr.counts_to_runs(c)
        starts.append(s)
        ends.append(e)
    s, e = _kc.union_runs(np.concatenate(starts), np.concatenate(ends))
    return counts_to_rle(_kr.runs_to_counts(s, e, h * w), h, w, compressed)
