"""The PASCAL VOC colour map, shared by palette PNGs (io) and previews (core)."""

from __future__ import annotations

import numpy as np

__all__ = ["voc_palette"]


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

