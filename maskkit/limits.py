"""Memory guard: the largest output image maskkit allocates without being asked.

A declared image of 100000×100000 pixels would need 10 GB for one uint8 label map;
maskkit refuses such outputs with a clear message unless the limit is raised, either with
:func:`set_max_pixels` or the environment variable ``MASKKIT_MAX_PIXELS``.
"""

from __future__ import annotations

import os

from maskkit.errors import ImageTooLargeError, InvalidInputError

_DEFAULT_MAX_PIXELS = 1 << 30  # 1 Gpixel: 1 GiB as uint8, 4 GiB as int32
_max_pixels = int(os.environ.get("MASKKIT_MAX_PIXELS", _DEFAULT_MAX_PIXELS))


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
