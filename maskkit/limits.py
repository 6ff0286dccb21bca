"""Memory guards: the largest image and the most bytes maskkit allocates without being asked.

A declared image of 100000×100000 pixels would need 10 GB for one uint8 label map;
maskkit refuses such outputs with a clear message unless the limit is raised, either with
:func:`set_max_pixels` or the environment variable ``MASKKIT_MAX_PIXELS``.

Pixels alone do not bound memory: a 16-bit RGBA PNG needs 8 bytes a pixel, and a reader
allocates an inflated stream and an output array.  Readers therefore also add up, from the
file's header and before allocating anything, the bytes of every buffer one read will
allocate and refuse reads above :func:`get_max_bytes` (default 2 GiB per read, i.e. per
worker; :func:`set_max_bytes` or ``MASKKIT_MAX_BYTES`` change it).
"""

from __future__ import annotations

import os

from maskkit.errors import ImageTooLargeError, InvalidInputError

_DEFAULT_MAX_PIXELS = 1 << 30  # 1 Gpixel: 1 GiB as uint8, 4 GiB as int32
_max_pixels = int(os.environ.get("MASKKIT_MAX_PIXELS", _DEFAULT_MAX_PIXELS))
_DEFAULT_MAX_BYTES = 1 << 31  # 2 GiB of buffers for one read (one worker)
_max_bytes = int(os.environ.get("MASKKIT_MAX_BYTES", _DEFAULT_MAX_BYTES))


def set_max_pixels(n: int) -> int:
    """Set the largest image (height × width) maskkit will allocate; return the old value.

    Examples
    --------
    >>> import maskkit
    >>> old = maskkit.set_max_pixels(10_000)
    >>> maskkit.get_max_pixels()
    10000
    >>> _ = maskkit.set_max_pixels(old)
    """
    global _max_pixels
    if int(n) <= 0:
        raise InvalidInputError(f"max pixels must be positive; got {n}")
    old, _max_pixels = _max_pixels, int(n)
    return old


def get_max_pixels() -> int:
    """Return the largest image (height × width) maskkit will allocate.

    Examples
    --------
    >>> import maskkit
    >>> maskkit.get_max_pixels() > 0
    True
    """
    return _max_pixels


def check_image_size(height, width, *, source=None, obj=None) -> tuple[int, int]:
    """Validate a declared image size and return it as ``(int, int)``.

    Raises a :class:`~maskkit.errors.InvalidInputError` for non-integer or negative sizes
    and :class:`~maskkit.errors.ImageTooLargeError` above :func:`get_max_pixels`.
    """
    try:
        h, w = int(height), int(width)
        if h != height or w != width:
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise InvalidInputError(
            f"image height and width must be whole numbers; got height={height!r}, width={width!r}",
            source=source,
            obj=obj,
        ) from None
    if h < 0 or w < 0:
        raise InvalidInputError(
            f"image height and width must be >= 0; got {h}×{w}", source=source, obj=obj
        )
    if h * w > _max_pixels or max(h, w) > _max_pixels:
        raise ImageTooLargeError(
            f"image of {h}×{w} = {h * w:,} pixels (longest side {max(h, w):,}) exceeds the "
            f"limit of {_max_pixels:,} pixels; "
            "raise it with maskkit.set_max_pixels() or MASKKIT_MAX_PIXELS if this is intended",
            source=source,
            obj=obj,
        )
    return h, w


def set_max_bytes(n: int) -> int:
    """Set the most bytes one read may allocate (all its buffers); return the old value.

    Readers of PNG, TIFF and ``.npy`` files add up, from the file's header and before
    allocating anything, the buffers the read needs (inflated data, decoded pixels, the
    returned array) and raise :class:`~maskkit.errors.ImageTooLargeError` above this
    limit.  The default is 2 GiB, or ``MASKKIT_MAX_BYTES`` from the environment.

    Examples
    --------
    >>> import maskkit
    >>> old = maskkit.set_max_bytes(1 << 20)
    >>> maskkit.get_max_bytes()
    1048576
    >>> _ = maskkit.set_max_bytes(old)
    """
    global _max_bytes
    if int(n) <= 0:
        raise InvalidInputError(f"max bytes must be positive; got {n}")
    old, _max_bytes = _max_bytes, int(n)
    return old


def get_max_bytes() -> int:
    """Return the most bytes one read may allocate (see :func:`set_max_bytes`).

    Examples
    --------
    >>> import maskkit
    >>> maskkit.get_max_bytes() > 0
    True
    """
    return _max_bytes


def check_bytes(nbytes: int, what: str, *, source=None, obj=None) -> int:
    """Refuse an allocation of ``nbytes`` (declared by the input) above :func:`get_max_bytes`.

    ``what`` says what the bytes are for, e.g. ``"a 16384×16384 16-bit RGBA PNG"``.
    Returns ``nbytes`` as an int.

    Examples
    --------
    >>> check_bytes(1000, "a 10×100 mask")
    1000
    """
    n = int(nbytes)
    if n > _max_bytes:
        raise ImageTooLargeError(
            f"reading {what} needs {n:,} bytes of buffers, above the limit of "
            f"{_max_bytes:,} bytes; raise it with maskkit.set_max_bytes() or "
            "MASKKIT_MAX_BYTES if this is intended",
            source=source,
            obj=obj,
        )
    return n
