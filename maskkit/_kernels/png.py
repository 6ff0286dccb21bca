"""Private Numba kernels that undo PNG scanline filters (the part of decoding after zlib).

Typed arrays in, arrays out, no validation: :mod:`maskkit.io.png` checks the header and
the stream length first.  The kernels still refuse a short stream or an unknown filter
byte instead of reading out of bounds.

Speed notes.  :func:`png_unfilter` (RGB, once per PNG in :func:`maskkit.pq_compute`) is
one function with flat indices.  :func:`png_unfilter_bytes` (grey and palette label maps)
works row by row through :func:`unfilter_bytes_row`, inlined; that row function is shared
with the PNG counting kernel (:mod:`maskkit._kernels.countpng`), and was measured as fast
as the flat version.  In both, the left neighbour of Sub, Average and Paeth stays in
registers instead of being read back from the row just written, and Paeth takes a
shortcut when the row above is flat (``b == c`` makes the predictor pick ``a``), which is
most pixels of a label map and removes the long dependency chain of the full predictor.
"""

from __future__ import annotations

import numpy as np

from maskkit._jit import kernel

_0 = np.uint64(0)
_1 = np.uint64(1)
_2 = np.uint64(2)
_3 = np.uint64(3)
_4 = np.uint64(4)


@kernel
def png_unfilter(raw, height, width, bpp, out):
    """Undo PNG scanline filters of an 8-bit, non-interlaced image into (H, W, 3) ``out``.

    ``raw`` is the inflated IDAT stream: per row one filter byte then ``width * bpp``
    bytes; ``bpp`` is 3 (RGB) or 4 (RGBA).  Only the first three channels are kept.
    Returns False on a bad filter type or a short stream (the caller then reports a
    corrupt PNG).
    """
    if bpp < 3 or bpp > 4 or height < 0 or width < 0 \
            or raw.shape[0] < height * (width * bpp + 1) \
            or out.shape[0] < height or out.shape[1] < width or out.shape[2] != 3:
        return False
    # unsigned indices: Numba then skips its negative-index wraparound, which otherwise
    # stops LLVM from vectorising the Up loop (measured 25x slower)
    w = np.uint64(width)
    step = np.uint64(bpp)
    stride = w * step
    flat = out.reshape(out.shape[0] * out.shape[1] * 3)
    # RGB rows decode in place into the output; RGBA rows into two alternating buffers
    if bpp == 3:
        dst = flat
    else:
        dst = np.empty(2 * width * bpp, dtype=np.uint8)
    for y in range(height):
        yu = np.uint64(y)
        if bpp == 3:
            cur = yu * stride
            prv = cur - stride if y > 0 else _0
        else:
            cur = (yu & _1) * stride
            prv = stride - cur
        if not unfilter_row(raw, yu * (stride + _1) + _1, dst, cur, prv, y == 0, w, bpp):
            return False
        if bpp == 4:
            o = yu * w * _3
            for x in range(w):
                flat[o + _3 * x] = dst[cur + _4 * x]
                flat[o + _3 * x + _1] = dst[cur + _4 * x + _1]
                flat[o + _3 * x + _2] = dst[cur + _4 * x + _2]
    return True


@kernel(inline="always")
def unfilter_row(raw, src, dst, cur, prv, first, w, bpp):
    """Undo the filter of one row: ``raw[src - 1]`` is its filter byte, ``raw[src:]`` its
    bytes; the row is written at ``dst[cur:]`` and the row above is read at ``dst[prv:]``
    (ignored when ``first``).  ``src``, ``cur``, ``prv`` and ``w`` are uint64 and the
    caller has checked that they are in bounds.  Returns False on an unknown filter type.

    Inlined into its callers (a call per row with array arguments would pay Numba's
    reference counting).
    """
    step = np.uint64(bpp)
    stride = w * step
    f = raw[src - _1]
    if first:  # the row above is all zeros: Up is None, Paeth is Sub
        if f == 2:
            f = 0
        elif f == 4:
            f = 1
    if f == 0:
        for i in range(stride):
            dst[cur + i] = raw[src + i]
    elif f == 1:
        a0 = np.uint8(0)
        a1 = np.uint8(0)
        a2 = np.uint8(0)
        a3 = np.uint8(0)
        for x in range(w):
            i = x * step
            a0 = np.uint8(raw[src + i] + a0)  # uint8 arithmetic wraps, as PNG wants
            a1 = np.uint8(raw[src + i + _1] + a1)
            a2 = np.uint8(raw[src + i + _2] + a2)
            dst[cur + i] = a0
            dst[cur + i + _1] = a1
            dst[cur + i + _2] = a2
            if bpp == 4:
                a3 = np.uint8(raw[src + i + _3] + a3)
                dst[cur + i + _3] = a3
    elif f == 2:
        for i in range(stride):
            dst[cur + i] = raw[src + i] + dst[prv + i]
    elif f == 3:
        a0 = np.int32(0)
        a1 = np.int32(0)
        a2 = np.int32(0)
        a3 = np.int32(0)
        for x in range(w):
            i = x * step
            if first:
                b0 = b1 = b2 = b3 = np.int32(0)
            else:
                b0 = np.int32(dst[prv + i])
                b1 = np.int32(dst[prv + i + _1])
                b2 = np.int32(dst[prv + i + _2])
                b3 = np.int32(dst[prv + i + _3]) if bpp == 4 else np.int32(0)
            a0 = (np.int32(raw[src + i]) + ((a0 + b0) >> 1)) & 0xFF
            a1 = (np.int32(raw[src + i + _1]) + ((a1 + b1) >> 1)) & 0xFF
            a2 = (np.int32(raw[src + i + _2]) + ((a2 + b2) >> 1)) & 0xFF
            dst[cur + i] = np.uint8(a0)
            dst[cur + i + _1] = np.uint8(a1)
            dst[cur + i + _2] = np.uint8(a2)
            if bpp == 4:
                a3 = (np.int32(raw[src + i + _3]) + ((a3 + b3) >> 1)) & 0xFF
                dst[cur + i + _3] = np.uint8(a3)
    elif f == 4:
        a0 = np.int32(0)
        a1 = np.int32(0)
        a2 = np.int32(0)
        a3 = np.int32(0)
        c0 = np.int32(0)
        c1 = np.int32(0)
        c2 = np.int32(0)
        c3 = np.int32(0)
        for x in range(w):
            i = x * step
            b0 = np.int32(dst[prv + i])
            b1 = np.int32(dst[prv + i + _1])
            b2 = np.int32(dst[prv + i + _2])
            b3 = np.int32(dst[prv + i + _3]) if bpp == 4 else np.int32(0)
            if b0 == c0 and b1 == c1 and b2 == c2 and b3 == c3:
                # pa = |b - c| = 0 is the smallest distance: the predictor is a
                a0 = (np.int32(raw[src + i]) + a0) & 0xFF
                a1 = (np.int32(raw[src + i + _1]) + a1) & 0xFF
                a2 = (np.int32(raw[src + i + _2]) + a2) & 0xFF
                if bpp == 4:
                    a3 = (np.int32(raw[src + i + _3]) + a3) & 0xFF
            else:
                a0 = (np.int32(raw[src + i]) + paeth(a0, b0, c0)) & 0xFF
                a1 = (np.int32(raw[src + i + _1]) + paeth(a1, b1, c1)) & 0xFF
                a2 = (np.int32(raw[src + i + _2]) + paeth(a2, b2, c2)) & 0xFF
                if bpp == 4:
                    a3 = (np.int32(raw[src + i + _3]) + paeth(a3, b3, c3)) & 0xFF
            dst[cur + i] = np.uint8(a0)
            dst[cur + i + _1] = np.uint8(a1)
            dst[cur + i + _2] = np.uint8(a2)
            if bpp == 4:
                dst[cur + i + _3] = np.uint8(a3)
            c0 = b0
            c1 = b1
            c2 = b2
            c3 = b3
    else:
        return False
    return True


@kernel(inline="always")
def paeth(a, b, c):
    """PNG's Paeth predictor on int32 scalars, as arithmetic selects (data-dependent)."""
    pa = abs(b - c)
    pb = abs(a - c)
    pc = abs(a + b - 2 * c)
    m1 = np.int32((pa <= pb) & (pa <= pc))
    m2 = np.int32(pb <= pc)
    return m1 * a + (1 - m1) * (m2 * b + (1 - m2) * c)


@kernel
def adler32(buf):
    """zlib's Adler-32 checksum of a uint8 array (equal to :func:`zlib.adler32`).

    The running sums ``a`` (bytes) and ``b`` (running ``a``) are advanced a block at a
    time: over a block of ``m`` bytes ``a`` grows by ``s = Σ v_k`` and ``b`` by
    ``m·a + m·s − Σ k·v_k``.  The two block sums fit uint32 for ``m ≤ 4096``
    (``255·4096·4095/2 < 2³²``) and vectorise, unlike zlib's scalar loop.
    """
    a = np.int64(1)
    b = np.int64(0)
    n = buf.shape[0]
    i = 0
    while i < n:
        m = min(n - i, 4096)
        s = np.uint32(0)
        w = np.uint32(0)
        blk = buf[i:i + m]
        for k in range(m):
            v = np.uint32(blk[k])
            s += v
            w += np.uint32(k) * v
        b = (b + m * a + m * np.int64(s) - np.int64(w)) % 65521
        a = (a + np.int64(s)) % 65521
        i += m
    return (b << 16) | a


@kernel
def png_unfilter_bytes(raw, height, rowbytes, bpp, out):
    """Undo PNG scanline filters for any non-interlaced image, byte by byte.

    ``rowbytes`` is the number of bytes in a row (without its filter byte) and ``bpp`` the
    filters' byte distance to the "left" neighbour (bytes per whole pixel, at least 1).
    ``out`` is a flat uint8 array of ``height * rowbytes`` bytes.  Used for grey and
    palette label maps; :func:`png_unfilter` is the faster RGB path.  Returns False on a
    bad filter type or short buffers.

    The first row's "row above" is a row of zeros, as the PNG spec has it.
    """
    if height < 0 or rowbytes < 0 or bpp < 1 or bpp > 8 \
            or raw.shape[0] < height * (rowbytes + 1) or out.shape[0] < height * rowbytes:
        return False
    n = rowbytes
    d = min(bpp, rowbytes)
    zero = np.zeros(n, np.uint8)
    for y in range(height):
        src = y * (n + 1) + 1
        p = out[(y - 1) * n : y * n] if y > 0 else zero
        if not unfilter_bytes_row(raw[src - 1], raw[src : src + n], p, out[y * n : (y + 1) * n],
                                  d):
            return False
    return True


@kernel(inline="always")
def unfilter_bytes_row(f, r, p, o, d):
    """Undo filter type ``f`` of one row: ``r`` the filtered bytes, ``p`` the row above
    (unfiltered), ``o`` the output (all of one length), ``d`` the byte distance to the left
    neighbour (1 to 8).  Returns False for an unknown filter type.

    With one byte per pixel the Sub, Average and Paeth filters carry the left byte in a
    register, not through memory (a store then a load on every byte's dependency chain),
    and Paeth takes the left byte outright where the two bytes above are equal (flat label
    maps: the predictor is then ``left`` whatever it is, with no arithmetic on the chain).
    """
    n = o.shape[0]
    # element loops, not slice copies: a slice copy compiles Numba's shape-mismatch
    # message code (over a second of a first run) into every kernel that inlines this
    if f == 0:
        for i in range(n):
            o[i] = r[i]
    elif f == 1:
        if d == 1:
            left = np.int32(0)
            for i in range(n):
                left = (np.int32(r[i]) + left) & 0xFF
                o[i] = np.uint8(left)
        else:
            for i in range(d):
                o[i] = r[i]
            for i in range(d, n):
                o[i] = np.uint8((np.int32(r[i]) + np.int32(o[i - d])) & 0xFF)
    elif f == 2:
        for i in range(n):
            o[i] = np.uint8((np.int32(r[i]) + np.int32(p[i])) & 0xFF)
    elif f == 3:
        if d == 1:
            left = np.int32(0)
            for i in range(n):
                left = (np.int32(r[i]) + ((left + np.int32(p[i])) >> 1)) & 0xFF
                o[i] = np.uint8(left)
        else:
            for i in range(n):
                lf = np.int32(o[i - d]) if i >= d else np.int32(0)
                o[i] = np.uint8((np.int32(r[i]) + ((lf + np.int32(p[i])) >> 1)) & 0xFF)
    elif f == 4:
        if d == 1:
            left = np.int32(0)
            upleft = np.int32(0)
            for i in range(n):
                up = np.int32(p[i])
                if up == upleft:  # |b - c| = 0 wins: the predictor is ``left``
                    left = (np.int32(r[i]) + left) & 0xFF
                else:
                    left = (np.int32(r[i]) + paeth(left, up, upleft)) & 0xFF
                o[i] = np.uint8(left)
                upleft = up
        else:
            for i in range(n):
                up = np.int32(p[i])
                if i >= d:
                    lf = np.int32(o[i - d])
                    ul = np.int32(p[i - d])
                else:
                    lf = np.int32(0)
                    ul = np.int32(0)
                o[i] = np.uint8((np.int32(r[i]) + paeth(lf, up, ul)) & 0xFF)
    else:
        return False
    return True
