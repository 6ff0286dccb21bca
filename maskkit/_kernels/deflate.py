"""A zlib (DEFLATE) encoder for label-map PNGs: runs of equal bytes as distance-1 matches.

A label map's PNG stream (a filter byte 0, then the row's bytes, row after row) is long
runs of a few values. Each run is written as its first byte (a literal) and then matches
of length 3–258 at distance 1, in one block with DEFLATE's fixed Huffman codes (RFC 1951
§3.2.6), so the encoder is one pass over the bytes with no search and no tables to build.
``zlib`` with ``Z_RLE`` finds the same matches but costs several times more per byte.

The kernels read the label map itself: each row's filter byte is a virtual byte, so no
copy of the map with the filter bytes in it is made. A 16-bit map is read as its pixels'
big-endian byte pairs; a run of equal pixels whose two bytes differ is its first pixel
(two literals) and then matches at distance 2.

Adler-32 is updated once per run, in 64-bit sums reduced modulo 65521 only once per
:data:`_PENDING` bytes (see :func:`_adler_run`); the bit accumulator's whole bytes go out
in one unaligned 8-byte store per run.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core.extending import intrinsic
from numba.cpython.unsafe.numbers import trailing_zeros

from maskkit._jit import kernel
from maskkit._kernels.ccl import span_pointer


def _reverse(code: int, n: int) -> int:
    out = 0
    for _ in range(n):
        out = (out << 1) | (code & 1)
        code >>= 1
    return out


_BASES = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83,
          99, 115, 131, 163, 195, 227, 258]
_EXTRA = [0] * 8 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [0]


def _fixed_tables():
    """Bit patterns (LSB-first, as written) and their lengths: of every literal, of every
    match length at distance 1 (length code, its extra bits, and the 5-bit distance code 0)
    and of the same at distance 2 (distance code 1)."""
    lit_bits = np.zeros(256, np.uint64)
    lit_n = np.zeros(256, np.uint64)
    for v in range(256):
        code, n = (0x30 + v, 8) if v < 144 else (0x190 + v - 144, 9)
        lit_bits[v] = _reverse(code, n)
        lit_n[v] = n
    run_bits = np.zeros(259, np.uint64)
    run_n = np.zeros(259, np.uint64)
    for length in range(3, 259):
        k = 28 if length == 258 else max(i for i in range(29) if _BASES[i] <= length)
        sym = 257 + k
        code, n = (sym - 256, 7) if sym < 280 else (0xC0 + sym - 280, 8)
        bits = _reverse(code, n) | ((length - _BASES[k]) << n)
        n += _EXTRA[k]
        run_bits[length] = bits  # then distance code 0 (distance 1): five zero bits
        run_n[length] = n + 5
    # distance 2 is distance code 1: its 5 bits reversed (10000) follow the length
    pair_bits = run_bits.copy()
    for length in range(3, 259):
        pair_bits[length] |= np.uint64(_reverse(1, 5)) << (run_n[length] - np.uint64(5))
    return lit_bits, lit_n, run_bits, run_n, pair_bits


LIT_BITS, LIT_N, RUN_BITS, RUN_N, PAIR_BITS = _fixed_tables()

_MOD = 65521  # Adler-32's modulus
#: Sums are reduced at least once per this many bytes, and a run longer than
#: :data:`_LONG_RUN` is added by the reducing formulas. After a reduction A < 65521 and
#: B < 65521; over at most 2^22 bytes of at most 255, A < 65521 + 255 * 2^22 < 2^31 and B
#: grows by at most A per byte: B < 65521 + 2^22 * 2^31 = 2^53 + 65521, far below 2^63.
#: The products of one run are below 2^20 * 2^31 (L A) and 2^8 * 2^40 (v L (L+1)).
_PENDING = 1 << 22
_LONG_RUN = 1 << 20

_U0 = np.uint64(0)
_U3 = np.uint64(3)
_U8 = np.uint64(8)
_U7 = np.uint64(7)
_FF = np.uint64(0xFF)
_ONES = np.uint64(0x0101010101010101)
#: Bits of the end-of-block symbol (256: seven zero bits).
_EOB_N = np.uint64(7)


@intrinsic
def _store_u64(typingctx, arr, i, v):
    """Write the uint64 ``v`` to ``arr[i:i + 8]`` (a 1-D uint8 array), little-endian, at
    any alignment (the caller keeps ``i + 8 <= arr.size``)."""
    if not isinstance(arr, types.Array) or arr.ndim != 1 or arr.dtype != types.uint8:
        return None
    sig = types.void(arr, i, v)

    def codegen(context, builder, signature, args):
        arrty = signature.args[0]
        ary = context.make_array(arrty)(context, builder, args[0])
        ptr = span_pointer(context, builder, arrty, ary, args[1], 8)
        builder.store(args[2], builder.bitcast(ptr, ir.IntType(64).as_pointer()), align=1)
        return context.get_dummy_value()

    return sig, codegen


@kernel
def _run_sum(length):
    """``length * (length + 1) / 2`` modulo Adler-32's modulus, with no overflow."""
    if length % 2 == 0:
        return ((length // 2) % _MOD) * ((length + 1) % _MOD) % _MOD
    return (length % _MOD) * (((length + 1) // 2) % _MOD) % _MOD


@kernel(inline="always")
def _adler_run(sum_a, sum_b, pending, v, length):
    """Adler-32's sums after ``length`` bytes ``v`` (``v`` < 256): A gains ``L v``, B gains
    ``L A + v L (L + 1) / 2``. The sums stay unreduced 64-bit integers until
    :data:`_PENDING` bytes have been added since the last reduction (``pending`` counts
    them); a run longer than :data:`_LONG_RUN` is added to reduced sums by the modular
    formulas. Returns ``(A, B, pending)``."""
    if length > _LONG_RUN or pending + length > _PENDING:
        sum_a %= _MOD
        sum_b %= _MOD
        pending = 0
        if length > _LONG_RUN:
            sum_b = (sum_b + (length % _MOD) * sum_a + v * _run_sum(length)) % _MOD
            sum_a = (sum_a + (length % _MOD) * v) % _MOD
            return sum_a, sum_b, pending
    sum_b += length * sum_a + v * ((length * (length + 1)) >> 1)
    sum_a += length * v
    return sum_a, sum_b, pending + length


def _lanes(arrty) -> int:
    return 512 // arrty.dtype.bitwidth


@kernel(inline="always")
def _adler_pair(sum_a, sum_b, pending, hi, lo, count):
    """:func:`_adler_run` for ``count`` pairs of bytes ``hi``, ``lo``: A gains
    ``L (hi + lo)``, B gains ``2 L A + (hi + lo) L^2 + L hi`` (after pair ``j`` A is
    ``A + (j - 1)(hi + lo) + hi``, then ``A + j (hi + lo)``)."""
    both = hi + lo
    if 2 * count > _LONG_RUN or pending + 2 * count > _PENDING:
        sum_a %= _MOD
        sum_b %= _MOD
        pending = 0
        if 2 * count > _LONG_RUN:
            c = count % _MOD
            sum_b = (sum_b + 2 * c * sum_a + both * (c * c % _MOD) + c * hi) % _MOD
            sum_a = (sum_a + c * both) % _MOD
            return sum_a, sum_b, pending
    sum_b += 2 * count * sum_a + both * count * count + count * hi
    sum_a += count * both
    return sum_a, sum_b, pending + 2 * count


@intrinsic
def _change_mask(typingctx, arr, i, prev):
    """Bit ``k`` set where ``arr[i + k]`` differs from the item before it, for ``k`` below
    :func:`_width`'s lanes (64 uint8 items, 32 uint16 ones; ``arr[i - 1]`` is ``prev``):
    one 64-byte load, a compare with the same items shifted by one, and a bit mask (the
    caller keeps ``i + lanes <= arr.size``)."""
    if (not isinstance(arr, types.Array) or arr.ndim != 1
            or arr.dtype not in (types.uint8, types.uint16)):
        return None
    sig = types.uint64(arr, i, prev)

    def codegen(context, builder, signature, args):
        arrty = signature.args[0]
        lanes = _lanes(arrty)
        ary = context.make_array(arrty)(context, builder, args[0])
        ptr = span_pointer(context, builder, arrty, ary, args[1], lanes)
        vec_t = ir.VectorType(ir.IntType(arrty.dtype.bitwidth), lanes)
        cur = builder.load(builder.bitcast(ptr, vec_t.as_pointer()), align=1)
        before = context.cast(builder, args[2], signature.args[2], arrty.dtype)
        first = builder.insert_element(ir.Constant(vec_t, ir.Undefined), before,
                                       ir.Constant(ir.IntType(32), lanes - 1))
        # lane 0: prev (the last lane of `first`); lane k: cur[k - 1]
        shifted = builder.shuffle_vector(first, cur, ir.Constant(
            ir.VectorType(ir.IntType(32), lanes), list(range(lanes - 1, 2 * lanes - 1))))
        ne = builder.icmp_unsigned("!=", cur, shifted)
        return builder.zext(builder.bitcast(ne, ir.IntType(lanes)), ir.IntType(64))

    return sig, codegen


@intrinsic
def _width(typingctx, arr):
    """``(lanes, bytes)`` of a uint8 or uint16 array as compile-time constants: items per
    :func:`_change_mask` and bytes per item."""
    if not isinstance(arr, types.Array) or arr.dtype not in (types.uint8, types.uint16):
        return None
    sig = types.UniTuple(types.int64, 2)(arr)

    def codegen(context, builder, signature, args):
        arrty = signature.args[0]
        return context.make_tuple(builder, signature.return_type, (
            context.get_constant(types.int64, _lanes(arrty)),
            context.get_constant(types.int64, arrty.dtype.bitwidth // 8)))

    return sig, codegen


@kernel
def _finish(out, pos, acc, nbits, sum_a, sum_b):
    """The end-of-block symbol, the last bits padded to a byte, then the Adler-32 (big
    endian): the zlib stream is ``out[:pos]`` (returned)."""
    nbits += _EOB_N
    while nbits > _U0:
        out[pos] = np.uint8(acc & _FF)
        pos += 1
        acc >>= _U8
        nbits = nbits - _U8 if nbits > _U8 else _U0
    adler = ((sum_b % _MOD) << 16) | (sum_a % _MOD)
    for k in range(4):
        out[pos] = np.uint8((adler >> (24 - 8 * k)) & 0xFF)
        pos += 1
    return out[:pos]


@kernel
def _emit_pair(out, pos, acc, nbits, hi, lo, count):
    """Append ``count`` 16-bit pixels of bytes ``hi``, ``lo`` (``hi != lo``): the two
    literals, then matches at distance 2 for the ``2 (count - 1)`` bytes left (of up to
    258, none shorter than 3), or two more literals for ``count == 2``. Returns ``(pos,
    acc, nbits)``."""
    a = LIT_BITS[hi]
    a_len = LIT_N[hi]
    b = LIT_BITS[lo]
    b_len = LIT_N[lo]
    rest = 2 * (count - 1)
    for _ in range(2 if rest == 2 else 1):  # at most 4 literals, 36 bits
        acc |= a << nbits
        nbits += a_len
        acc |= b << nbits
        nbits += b_len
    if rest == 2:
        rest = 0
    _store_u64(out, pos, acc)
    done = nbits >> _U3
    pos += np.int64(done)
    acc >>= done << _U3
    nbits &= _U7
    while rest > 0:
        step = min(rest, 258)
        if rest - step < 3 and rest != step:
            step = rest - 3
        acc |= PAIR_BITS[step] << nbits
        nbits += RUN_N[step]
        _store_u64(out, pos, acc)
        done = nbits >> _U3
        pos += np.int64(done)
        acc >>= done << _U3
        nbits &= _U7
        rest -= step
    return pos, acc, nbits


@kernel
def deflate_rows(labels):
    """The zlib stream (uint8 array: header, one fixed-Huffman block, Adler-32) of the PNG
    image data of the (H, W) uint8 or uint16 ``labels``: per row a filter byte 0 and the
    row's pixels (16-bit ones as big-endian byte pairs); an empty stream for no pixels.

    The filter bytes are not stored anywhere: a run of zeros goes on across a row start.
    Runs of equal pixels are found 64 bytes at a time (a mask of the pixels that differ
    from the one before them), so a run costs a bit scan, not a loop that ends at an
    unpredictable place. The loop makes one *segment* per step (a row's run of pixels,
    a filter byte, or the end) and writes the runs at one place: a run of equal bytes
    (8-bit pixels, 16-bit ones whose two bytes are equal, filter bytes) joins the open
    one when its byte is the same; a run of 16-bit pixels whose bytes differ is written
    at once (:func:`_emit_pair`)."""
    lanes, nb = _width(labels)
    h = labels.shape[0]
    w = labels.shape[1]
    flat = labels.reshape(h * w)
    # at most 9 bits a byte (a literal; a match of 3 or more bytes takes at most 18 bits),
    # the headers, the Adler-32, and the 8 bytes a store of the accumulator writes: pages
    # of the buffer never written cost nothing
    out = np.empty(h * (w * nb + 1) * 9 // 8 + 32, np.uint8)
    out[0] = 0x78  # zlib header: deflate, 32 KB window, no dictionary, check bits
    out[1] = 0x01
    pos = np.int64(2)
    acc = np.uint64(3)  # block header: BFINAL = 1, BTYPE = 01 (fixed codes)
    nbits = np.uint64(3)
    sum_a = np.int64(1)
    sum_b = np.int64(0)
    if h == 0 or w == 0:  # no pixels (no PNG has them): an empty stream
        return _finish(out, pos, acc, nbits, sum_a, sum_b)
    pending = np.int64(0)
    v = np.int64(0)  # the open run of equal bytes (the first filter byte), or v < 0
    length = np.int64(1)
    r = np.int64(0)
    row = np.int64(0)  # flat index of the row's first pixel
    end = w
    i = -lanes  # the block of pixels `mask` covers starts at i
    mask = _U0
    last = np.int64(0)  # the row's open run of pixels: its start and value
    q = np.int64(flat[0])
    filter_byte = False
    last_row = False
    done = False
    while True:
        # the next segment: `count` pixels of value `seg` (or one filter byte 0)
        pixels = not filter_byte and not done
        if done:  # after the last row: a segment that only closes the open run
            seg = np.int64(-2)
            count = np.int64(0)
        elif filter_byte:
            filter_byte = False
            seg = np.int64(0)
            count = np.int64(1)
        elif mask != _U0:
            p = i + np.int64(trailing_zeros(mask))
            mask &= mask - np.uint64(1)
            count = p - last
            seg = q
            q = np.int64(flat[p])
            last = p
            if count == 0:  # the row's first pixel differs from its filter byte
                continue
        else:
            i += lanes
            if i < end:
                if i + lanes <= end:
                    mask = _change_mask(flat, i, flat[i - 1] if i > row else 0)
                elif w >= lanes:
                    # the row's last pixels: the block ending at its end, earlier pixels
                    # shifted out
                    i0 = end - lanes
                    mask = _change_mask(flat, i0, flat[i0 - 1] if i0 > row else 0)
                    mask >>= np.uint64(i - i0)
                else:
                    for k in range(end - i):
                        before = np.int64(flat[i + k - 1]) if i + k > row else 0
                        if np.int64(flat[i + k]) != before:
                            mask |= np.uint64(1) << np.uint64(k)
                continue
            # the row's end: its last run of pixels, then the next row's filter byte
            count = end - last
            seg = q
            r += 1
            if r < h:
                row = r * w
                end = row + w
                i = row - lanes
                last = row
                q = np.int64(flat[row])
                filter_byte = True
            else:
                last_row = True
        pair = False
        if nb == 2 and pixels:
            hi = seg >> 8
            seg &= 0xFF
            pair = hi != seg
            if not pair:
                count *= 2
        if pair or seg != v:
            if length > 0:
                sum_a, sum_b, pending = _adler_run(sum_a, sum_b, pending, v, length)
                # the run: its literal, then matches of up to 258 bytes at distance 1
                # (the last ones split so that none is shorter than 3), or one or two
                # more literals for a run of 2 or 3. Written here, not by a helper: a
                # call passing `out` costs reference counting per run
                lit = LIT_BITS[v]
                lit_len = LIT_N[v]
                acc |= lit << nbits
                nbits += lit_len
                rest = length - 1
                if rest < 3:
                    for _ in range(rest):
                        acc |= lit << nbits
                        nbits += lit_len
                    rest = 0
                while True:
                    if rest > 0:
                        step = min(rest, 258)
                        if rest - step < 3 and rest != step:
                            step = rest - 3
                        acc |= RUN_BITS[step] << nbits
                        nbits += RUN_N[step]
                        rest -= step
                    # at most 7 + 27 bits are pending: every whole byte goes out in one
                    # 8-byte store, with no branch
                    _store_u64(out, pos, acc)
                    done_bytes = nbits >> _U3
                    pos += np.int64(done_bytes)
                    acc >>= done_bytes << _U3
                    nbits &= _U7
                    if rest == 0:
                        break
            if pair:
                sum_a, sum_b, pending = _adler_pair(sum_a, sum_b, pending, hi, seg, count)
                pos, acc, nbits = _emit_pair(out, pos, acc, nbits, hi, seg, count)
                v = np.int64(-1)
                length = np.int64(0)
            else:
                v = seg
                length = count
        else:
            length += count
        if done:
            break
        done = last_row
    return _finish(out, pos, acc, nbits, sum_a, sum_b)
