"""Private Numba kernel that inflates a raw DEFLATE stream (RFC 1951), written from the RFC.

Typed arrays in, a status out: :func:`inflate_raw` trusts nothing in the stream.  Every
read of ``src`` and every read or write of ``out`` is guarded, so hostile input gives a
negative status (see :data:`STATUS_MESSAGES`), never an out-of-bounds access.  Accept
and reject rules follow zlib's (``HLIT > 286`` and ``HDIST > 30`` are refused; an
incomplete Huffman code is accepted only when it is a single code of length 1 or, for
distances, empty), so a stream inflates here exactly when it inflates with zlib.

Speed notes (label-map PNGs inflate to long back-references of distance 1 and 3, and to
copies of the row above, which zlib copies a byte at a time):

* a 64-bit bit buffer topped up with one 8-byte load per symbol (the bytes that do not
  fit stay in the buffer's high bits and are loaded again next time), so a whole
  length/distance pair (at most 48 bits) decodes without another refill;
* one table lookup per symbol: a 10-bit literal/length table and a 9-bit distance table
  whose entries carry the symbol's meaning (literal byte, base length or distance, number
  of extra bits, code length).  Longer codes, rare by construction, take one more lookup
  in a subtable;
* match copies move 32 bytes at a time when ``out`` has room past the match: one vector
  load and store per chunk, a fill for distance 1, and for other distances below 32 the
  copy repeats the pattern from the nearest multiple of the distance that is >= 32, so
  chunks never overlap.  The last matches before the end of ``out`` are copied exactly;
* everything hot is in one function with flat uint64 indices (as in
  :mod:`maskkit._kernels.png`): Numba then skips its negative-index wraparound, and no
  array crosses a call boundary, which would cost reference counting per symbol.

How it compares with ``zlib.decompressobj`` on label-map PNGs: benchmarks/README.md.
"""

from __future__ import annotations

import numpy as np

from maskkit._jit import kernel

#: What each status of :func:`inflate_raw` means.
STATUS_MESSAGES: dict[int, str] = {
    0: "ok",
    -1: "output buffer too small for the inflated data",
    -2: "compressed stream ended before its final block",
    -3: "invalid block type 3",
    -4: "stored block length does not match its one's complement",
    -5: "invalid, oversubscribed or incomplete Huffman code lengths",
    -6: "invalid Huffman code or symbol",
    -7: "back-reference distance reaches before the start of the output",
}

# np.int64, not int: Numba types a plain int global as a literal, and _result would be
# compiled once per status value
OK = np.int64(0)
OUTPUT_OVERFLOW = np.int64(-1)
INPUT_TRUNCATED = np.int64(-2)
BAD_BLOCK_TYPE = np.int64(-3)
BAD_STORED_LENGTH = np.int64(-4)
BAD_CODE_LENGTHS = np.int64(-5)
BAD_SYMBOL = np.int64(-6)
BAD_DISTANCE = np.int64(-7)


def status_message(status: int) -> str:
    """A short English message for a status returned by :func:`inflate_raw`."""
    return STATUS_MESSAGES.get(int(status), f"unknown inflate status {status}")


# --- tables derived from RFC 1951, section 3.2.5 -------------------------------------

LIT_BITS = 10  # index bits of the primary literal/length table
DIST_BITS = 9  # index bits of the primary distance table
CLEN_BITS = 7  # code-length codes are at most 7 bits long: one table, no subtables

# A table entry is ``value << 16 | kind << 8 | extra << 4 | code_length``:
#   literal/length kind 0 = literal (value = byte), 1 = length (value = base length),
#   2 = end of block; distance kind 0 = distance (value = base distance);
#   kind 3 = not a symbol: value 0 = the bits start no code (an incomplete code),
#   value 1 = a symbol the format forbids (literal/length 286-287, distance 30-31),
#   value >= 2**table_bits = the first ``table_bits`` bits start codes longer than that,
#   decoded by the subtable at that offset of the same array, indexed by the next
#   ``extra`` bits (whose entries hold the full code length).
_KIND_LITERAL = 0
_KIND_LENGTH = 1
_KIND_END = 2
_KIND_OTHER = 3


def _entry(value: int, kind: int, extra: int = 0) -> int:
    return (value << 16) | (kind << 8) | (extra << 4)


def _symbol_entries() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entries without code length for every literal/length, distance and code-length
    symbol."""
    lit = [_entry(b, _KIND_LITERAL) for b in range(256)] + [_entry(0, _KIND_END)]
    base = 3
    for i in range(28):  # symbols 257..284: 8 with no extra bits, then 4 per extra bit
        extra = 0 if i < 8 else (i - 4) // 4
        lit.append(_entry(base, _KIND_LENGTH, extra))
        base += 1 << extra
    lit.append(_entry(258, _KIND_LENGTH))  # 285
    lit += [_entry(1, _KIND_OTHER)] * 2  # 286, 287: only in the fixed code, invalid
    dist = []
    base = 1
    for i in range(30):  # 4 with no extra bits, then 2 per extra bit
        extra = 0 if i < 4 else (i - 2) // 2
        dist.append(_entry(base, _KIND_LITERAL, extra))
        base += 1 << extra
    dist += [_entry(1, _KIND_OTHER)] * 2  # 30, 31
    clen = [_entry(s, _KIND_LITERAL) for s in range(19)]
    return (np.array(lit, np.uint32), np.array(dist, np.uint32), np.array(clen, np.uint32))


LIT_ENTRIES, DIST_ENTRIES, CLEN_ENTRIES = _symbol_entries()
#: Order in which a dynamic block lists the code lengths of the code-length alphabet.
CLEN_ORDER = np.array([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15],
                      np.uint64)

_NO_CODE = np.uint32(_entry(0, _KIND_OTHER))

# Subtables sit after the primary table.  A group of codes sharing their first
# ``table_bits`` bits with subtable index bits ``s`` has at least ``s + 1`` codes, and
# 2**s / (s + 1) peaks at the longest code (15 bits), so the subtables of 286
# literal/length codes (30 distance codes) need at most 286 / 6 * 32 (30 / 7 * 64)
# entries; the builder checks the bound anyway.
LIT_TABLE_SIZE = (1 << LIT_BITS) + 1536
DIST_TABLE_SIZE = (1 << DIST_BITS) + 320

_0 = np.uint64(0)
_1 = np.uint64(1)
_2 = np.uint64(2)
_3 = np.uint64(3)
_4 = np.uint64(4)
_5 = np.uint64(5)
_6 = np.uint64(6)
_7 = np.uint64(7)
_8 = np.uint64(8)
_15 = np.uint64(15)
_16 = np.uint64(16)
_24 = np.uint64(24)
_32 = np.uint64(32)
_40 = np.uint64(40)
_48 = np.uint64(48)
_56 = np.uint64(56)
_63 = np.uint64(63)
_K = tuple(np.uint64(k) for k in range(32))  # chunk offsets as uint64 constants
_0xFFFF = np.uint64(0xFFFF)
_LIT_BITS = np.uint64(LIT_BITS)
_DIST_BITS = np.uint64(DIST_BITS)
_SUBTABLE = np.uint64(_entry(2, _KIND_OTHER))  # kind-3 entries from here on: subtables
_LIT_MASK = np.uint64((1 << LIT_BITS) - 1)
_DIST_MASK = np.uint64((1 << DIST_BITS) - 1)
_CLEN_MASK = np.uint64((1 << CLEN_BITS) - 1)


@kernel
def inflate_raw(src, out):
    """Inflate the raw DEFLATE stream ``src`` (uint8, no zlib header) into ``out`` (uint8).

    Returns ``(n_written, n_consumed, status)``.  With status 0 the final block was
    decoded, ``out[:n_written]`` holds the data and ``n_consumed`` is the number of bytes
    of ``src`` the stream used, rounded up to whole bytes (a zlib stream's Adler-32
    trailer starts there).  A negative status is an error (:data:`STATUS_MESSAGES`):
    then ``out[:n_written]`` is a correct prefix of the output and ``n_consumed`` is
    meaningless.  ``out`` is never read or written past its end, nor ``src`` read past
    its end, whatever the stream holds; bytes of ``out`` after ``n_written`` may be
    overwritten (matches are copied in 32-byte chunks where ``out`` has room).
    """
    n = np.uint64(src.shape[0])
    out_len = np.uint64(out.shape[0])
    pos = _0  # next byte of src to load into the bit buffer
    bitbuf = _0  # bits not yet consumed, least significant first
    bitcnt = _0  # how many low bits of bitbuf are valid; higher bits are either 0 or
    # the next bits of the stream (left there by an 8-byte refill), never anything else
    op = _0  # bytes written to out

    lit_table = np.empty(LIT_TABLE_SIZE, np.uint32)
    dist_table = np.empty(DIST_TABLE_SIZE, np.uint32)
    clen_table = np.empty(1 << CLEN_BITS, np.uint32)
    lens = np.zeros(288 + 32, np.uint8)
    counts = np.zeros(16, np.int64)  # scratch of _build_code
    offsets = np.zeros(16, np.int64)
    syms = np.zeros(288, np.uint16)
    fixed_loaded = False
    # _build_code's arguments as typed values, not literals: with literals Numba would
    # compile one specialisation of it per call site
    at_lit, n_lit, n_dist, n_clen = np.int64(0), np.int64(288), np.int64(32), np.int64(19)
    lit_bits, dist_bits, clen_bits = np.int64(LIT_BITS), np.int64(DIST_BITS), np.int64(CLEN_BITS)
    yes, no = np.bool_(True), np.bool_(False)

    final = False
    while not final:
        # --- block header
        pos, bitbuf, bitcnt = _refill(src, n, pos, bitbuf, bitcnt)
        if bitcnt < _3:
            return _result(op, pos, bitcnt, INPUT_TRUNCATED)
        final = (bitbuf & _1) == _1
        btype = (bitbuf >> _1) & _3
        bitbuf >>= _3
        bitcnt -= _3

        if btype == _0:
            # --- stored: skip to a byte boundary, then LEN, NLEN and LEN raw bytes.
            # bitcnt becomes a multiple of 8, so the loaded bytes can be given back
            drop = bitcnt & _7
            bitbuf >>= drop
            bitcnt -= drop
            pos -= bitcnt >> _3
            bitbuf = _0
            bitcnt = _0
            if pos + _4 > n:
                return _result(op, n, _0, INPUT_TRUNCATED)
            length = np.uint64(src[pos]) | (np.uint64(src[pos + _1]) << _8)
            nlength = np.uint64(src[pos + _2]) | (np.uint64(src[pos + _3]) << _8)
            pos += _4
            if length != (nlength ^ _0xFFFF):
                return _result(op, pos, _0, BAD_STORED_LENGTH)
            if length > n - pos:
                return _result(op, n, _0, INPUT_TRUNCATED)
            if length > out_len - op:
                return _result(op, pos, _0, OUTPUT_OVERFLOW)
            for i in range(length):
                out[op + i] = src[pos + i]
            op += length
            pos += length
            continue
        if btype == _3:
            return _result(op, pos, bitcnt, BAD_BLOCK_TYPE)

        if btype == _1:
            # --- fixed Huffman codes (RFC 1951, 3.2.6), built on first use
            if not fixed_loaded:
                for i in range(288):
                    lens[i] = 8 if i < 144 else (9 if i < 256 else (7 if i < 280 else 8))
                for i in range(32):
                    lens[288 + i] = 5
                _build_code(lens, at_lit, n_lit, LIT_ENTRIES, lit_table, lit_bits, yes,
                            counts, offsets, syms)
                _build_code(lens, n_lit, n_dist, DIST_ENTRIES, dist_table, dist_bits, yes,
                            counts, offsets, syms)
                fixed_loaded = True
        else:
            # --- dynamic Huffman codes (RFC 1951, 3.2.7)
            fixed_loaded = False
            pos, bitbuf, bitcnt = _refill(src, n, pos, bitbuf, bitcnt)
            if bitcnt < np.uint64(14):
                return _result(op, pos, bitcnt, INPUT_TRUNCATED)
            hlit = (bitbuf & np.uint64(31)) + np.uint64(257)
            hdist = ((bitbuf >> _5) & np.uint64(31)) + _1
            hclen = ((bitbuf >> np.uint64(10)) & _15) + _4
            bitbuf >>= np.uint64(14)
            bitcnt -= np.uint64(14)
            if hlit > np.uint64(286) or hdist > np.uint64(30):
                return _result(op, pos, bitcnt, BAD_CODE_LENGTHS)
            for i in range(19):
                lens[i] = 0
            for i in range(hclen):
                pos, bitbuf, bitcnt = _refill(src, n, pos, bitbuf, bitcnt)
                if bitcnt < _3:
                    return _result(op, pos, bitcnt, INPUT_TRUNCATED)
                lens[CLEN_ORDER[i]] = bitbuf & _7
                bitbuf >>= _3
                bitcnt -= _3
            if _build_code(lens, at_lit, n_clen, CLEN_ENTRIES, clen_table, clen_bits, no,
                           counts, offsets, syms) != 0:
                return _result(op, pos, bitcnt, BAD_CODE_LENGTHS)
            # the code lengths of both alphabets form one sequence; a repeat may cross
            # from the literal/length lengths into the distance lengths
            total = hlit + hdist
            i = _0
            while i < total:
                pos, bitbuf, bitcnt = _refill(src, n, pos, bitbuf, bitcnt)
                e = np.uint64(clen_table[bitbuf & _CLEN_MASK])
                clen = e & _15
                if clen > bitcnt:
                    return _result(op, pos, bitcnt, INPUT_TRUNCATED)
                bitbuf >>= clen
                bitcnt -= clen
                sym = e >> _16
                if sym < _16:
                    lens[i] = sym
                    i += _1
                    continue
                if sym == _16:
                    nbits = _2
                    rep_base = _3
                elif sym == np.uint64(17):
                    nbits = _3
                    rep_base = _3
                else:
                    nbits = _7
                    rep_base = np.uint64(11)
                if nbits > bitcnt:
                    return _result(op, pos, bitcnt, INPUT_TRUNCATED)
                rep = rep_base + (bitbuf & ((_1 << nbits) - _1))
                bitbuf >>= nbits
                bitcnt -= nbits
                value = np.uint8(0)
                if sym == _16:
                    if i == _0:
                        return _result(op, pos, bitcnt, BAD_CODE_LENGTHS)
                    value = lens[i - _1]
                if rep > total - i:
                    return _result(op, pos, bitcnt, BAD_CODE_LENGTHS)
                for k in range(rep):
                    lens[i + k] = value
                i += rep
            if lens[256] == 0:  # no end-of-block code
                return _result(op, pos, bitcnt, BAD_CODE_LENGTHS)
            # move the distance lengths to their slot at 288 (backwards: they may overlap)
            for j in range(hdist):
                k = hdist - _1 - j
                lens[np.uint64(288) + k] = lens[hlit + k]
            for k in range(hlit, np.uint64(288)):
                lens[k] = 0
            for k in range(hdist, _32):
                lens[np.uint64(288) + k] = 0
            if _build_code(lens, at_lit, n_lit, LIT_ENTRIES, lit_table, lit_bits, yes,
                           counts, offsets, syms) != 0:
                return _result(op, pos, bitcnt, BAD_CODE_LENGTHS)
            if _build_code(lens, n_lit, n_dist, DIST_ENTRIES, dist_table, dist_bits, yes,
                           counts, offsets, syms) != 0:
                return _result(op, pos, bitcnt, BAD_CODE_LENGTHS)

        # --- compressed data: one refill per symbol covers a whole length/distance
        # pair (15 + 5 + 15 + 13 = 48 bits <= 56)
        while True:
            # _refill by hand: passing src to an inlined function would cost an atomic
            # reference-count increment and decrement per symbol (3x slower)
            if pos + _8 <= n:
                w = (np.uint64(src[pos])
                     | (np.uint64(src[pos + _1]) << _8)
                     | (np.uint64(src[pos + _2]) << _16)
                     | (np.uint64(src[pos + _3]) << _24)
                     | (np.uint64(src[pos + _4]) << _32)
                     | (np.uint64(src[pos + _5]) << _40)
                     | (np.uint64(src[pos + _6]) << _48)
                     | (np.uint64(src[pos + _7]) << _56))
                bitbuf |= w << bitcnt
                pos += (_63 - bitcnt) >> _3
                bitcnt |= _56
            else:
                while bitcnt < _56 and pos < n:
                    bitbuf |= np.uint64(src[pos]) << bitcnt
                    pos += _1
                    bitcnt += _8
            e = np.uint64(lit_table[bitbuf & _LIT_MASK])
            if (e >> _8) & _3 == _3:  # a long code (subtable), or no symbol at all
                if e < _SUBTABLE:
                    return _result(op, pos, bitcnt, BAD_SYMBOL)
                sub = (bitbuf >> _LIT_BITS) & ((_1 << ((e >> _4) & _15)) - _1)
                e = np.uint64(lit_table[(e >> _16) + sub])
                if (e >> _8) & _3 == _3:
                    return _result(op, pos, bitcnt, BAD_SYMBOL)
            clen = e & _15
            if clen > bitcnt:
                return _result(op, pos, bitcnt, INPUT_TRUNCATED)
            bitbuf >>= clen
            bitcnt -= clen
            kind = (e >> _8) & _3
            if kind == _0:
                if op >= out_len:
                    return _result(op, pos, bitcnt, OUTPUT_OVERFLOW)
                out[op] = np.uint8(e >> _16)
                op += _1
                continue
            if kind == _2:
                break
            nbits = (e >> _4) & _15
            if nbits > bitcnt:
                return _result(op, pos, bitcnt, INPUT_TRUNCATED)
            length = (e >> _16) + (bitbuf & ((_1 << nbits) - _1))
            bitbuf >>= nbits
            bitcnt -= nbits

            e = np.uint64(dist_table[bitbuf & _DIST_MASK])
            if (e >> _8) & _3 == _3:
                if e < _SUBTABLE:
                    return _result(op, pos, bitcnt, BAD_SYMBOL)
                sub = (bitbuf >> _DIST_BITS) & ((_1 << ((e >> _4) & _15)) - _1)
                e = np.uint64(dist_table[(e >> _16) + sub])
                if (e >> _8) & _3 == _3:
                    return _result(op, pos, bitcnt, BAD_SYMBOL)
            clen = e & _15
            nbits = (e >> _4) & _15
            if clen + nbits > bitcnt:
                return _result(op, pos, bitcnt, INPUT_TRUNCATED)
            bitbuf >>= clen
            dist = (e >> _16) + (bitbuf & ((_1 << nbits) - _1))
            bitbuf >>= nbits
            bitcnt -= clen + nbits
            if dist > op:
                return _result(op, pos, bitcnt, BAD_DISTANCE)
            if length > out_len - op:
                return _result(op, pos, bitcnt, OUTPUT_OVERFLOW)

            s = op - dist
            if out_len - op >= length + _32:
                # room to overshoot: whole 32-byte chunks, each read entirely before it
                # is written (the tuple assignment below), which LLVM turns into one
                # vector load and store; bytes written past the match are rewritten by
                # the output that follows
                if dist == _1:
                    v = out[s]
                    k = _0
                    while k < length:
                        a = op + k
                        for j in range(_32):
                            out[a + j] = v
                        k += _32
                else:
                    k = _0
                    gap = dist
                    if dist < _32:
                        # byte by byte up to the smallest multiple of dist >= 32; from
                        # there the match repeats itself at that distance, a chunk at a
                        # time without overlap
                        gap = dist * ((_32 + dist - _1) // dist)
                        k = min(gap, length)
                        for j in range(k):
                            out[op + j] = out[s + j]
                    while k < length:
                        a = op + k
                        b = a - gap
                        (out[a], out[a + _K[1]], out[a + _K[2]], out[a + _K[3]],
                         out[a + _K[4]], out[a + _K[5]], out[a + _K[6]], out[a + _K[7]],
                         out[a + _K[8]], out[a + _K[9]], out[a + _K[10]], out[a + _K[11]],
                         out[a + _K[12]], out[a + _K[13]], out[a + _K[14]], out[a + _K[15]],
                         out[a + _K[16]], out[a + _K[17]], out[a + _K[18]], out[a + _K[19]],
                         out[a + _K[20]], out[a + _K[21]], out[a + _K[22]], out[a + _K[23]],
                         out[a + _K[24]], out[a + _K[25]], out[a + _K[26]], out[a + _K[27]],
                         out[a + _K[28]], out[a + _K[29]], out[a + _K[30]], out[a + _K[31]]) = (
                         out[b], out[b + _K[1]], out[b + _K[2]], out[b + _K[3]],
                         out[b + _K[4]], out[b + _K[5]], out[b + _K[6]], out[b + _K[7]],
                         out[b + _K[8]], out[b + _K[9]], out[b + _K[10]], out[b + _K[11]],
                         out[b + _K[12]], out[b + _K[13]], out[b + _K[14]], out[b + _K[15]],
                         out[b + _K[16]], out[b + _K[17]], out[b + _K[18]], out[b + _K[19]],
                         out[b + _K[20]], out[b + _K[21]], out[b + _K[22]], out[b + _K[23]],
                         out[b + _K[24]], out[b + _K[25]], out[b + _K[26]], out[b + _K[27]],
                         out[b + _K[28]], out[b + _K[29]], out[b + _K[30]], out[b + _K[31]])
                        k += _32
            elif dist >= length:  # near the end of out: exact copies
                for k in range(length):
                    out[op + k] = out[s + k]
            elif dist == _1:
                v = out[s]
                for k in range(length):
                    out[op + k] = v
            else:
                # out[s:op + done] has period dist and done is a multiple of dist, so
                # out[s:s + dist + done] can be copied to op + done without overlap
                done = _0
                while done < length:
                    chunk = min(dist + done, length - done)
                    d0 = op + done
                    for k in range(chunk):
                        out[d0 + k] = out[s + k]
                    done += chunk
            op += length

    return _result(op, pos, bitcnt, OK)


@kernel
def _result(op, pos, bitcnt, status):
    """The kernel's return triple; whole bytes still in the bit buffer are not used.

    A plain call, not Numba-inlined: it has 28 call sites, and Numba types an inlined
    function again at each of them (seconds of a first run); LLVM inlines it anyway."""
    return np.int64(op), np.int64(pos - (bitcnt >> _3)), np.int64(status)


@kernel(inline="always")
def _refill(src, n, pos, bitbuf, bitcnt):
    """Top the bit buffer up to at least 56 valid bits (fewer only at the end of src).

    Away from the end one unaligned 8-byte load: the bytes that do not fit land in the
    high bits, where they are exactly the stream's next bits, and ``pos`` advances only
    past the whole bytes that fit.  Near the end, byte by byte.
    """
    if pos + _8 <= n:
        w = (np.uint64(src[pos])
             | (np.uint64(src[pos + _1]) << _8)
             | (np.uint64(src[pos + _2]) << _16)
             | (np.uint64(src[pos + _3]) << _24)
             | (np.uint64(src[pos + _4]) << _32)
             | (np.uint64(src[pos + _5]) << _40)
             | (np.uint64(src[pos + _6]) << _48)
             | (np.uint64(src[pos + _7]) << _56))
        bitbuf |= w << bitcnt
        pos += (_63 - bitcnt) >> _3
        bitcnt |= _56
    else:
        while bitcnt < _56 and pos < n:
            bitbuf |= np.uint64(src[pos]) << bitcnt
            pos += _1
            bitcnt += _8
    return pos, bitbuf, bitcnt


@kernel
def _build_code(lens, lo, nsym, entries, table, table_bits, allow_single, counts, offsets,
                syms):
    """Build the decoding table of the canonical Huffman code ``lens[lo:lo + nsym]``.

    ``lens`` holds code lengths 0-15 (0 = unused symbol); ``entries[sym]`` is a symbol's
    entry without its code length.  ``table[:2**table_bits]`` is indexed by the next
    ``table_bits`` bits of the stream (first bit least significant); longer codes go to
    subtables after it.  ``counts``, ``offsets`` (16) and ``syms`` (>= ``nsym``) are
    scratch.  Returns 0, or -5 for an oversubscribed code, or an incomplete one unless
    ``allow_single`` and it is a single code of length 1 or no code at all (zlib's rule
    for literal/length and distance codes), or (never for valid lengths) subtables that
    do not fit ``table``.
    """
    for length in range(16):
        counts[length] = 0
    for k in range(nsym):
        counts[lens[lo + k]] += 1
    counts[0] = 0
    left = 1
    longest = 0
    for length in range(1, 16):
        left = (left << 1) - counts[length]
        if left < 0:
            return BAD_CODE_LENGTHS
        if counts[length] > 0:
            longest = length
    if left > 0 and not (allow_single and longest <= 1):
        return BAD_CODE_LENGTHS
    # symbols sorted by (code length, symbol) are in canonical code order
    offsets[1] = 0
    for length in range(1, 15):
        offsets[length + 1] = offsets[length] + counts[length]
    for k in range(nsym):
        length = lens[lo + k]
        if length != 0:
            syms[offsets[length]] = k
            offsets[length] += 1
    ncodes = offsets[15]
    size = 1 << table_bits
    for k in range(size):
        table[k] = _NO_CODE
    # two walks over the codes in order: each code is the previous one plus 1, doubled
    # when it gets longer.  The first walk gives the primary entries; the last long code
    # of a group sharing its first table_bits bits is the longest, so it leaves the
    # group's subtable size (as index bits) in the group's primary entry.  The second
    # walk places the subtables and fills them.
    for walk in range(2):
        code = 0
        length = 1
        used = size
        for index in range(ncodes):
            sym = syms[index]
            while lens[lo + sym] != length:
                code <<= 1
                length += 1
            if length <= table_bits:
                if walk == 0:
                    e = entries[sym] | np.uint32(length)
                    for k in range(_reverse(code, length), size, 1 << length):
                        table[k] = e
            else:
                extra = length - table_bits
                head = _reverse(code >> extra, table_bits)
                if walk == 0:
                    table[head] = np.uint32((_KIND_OTHER << 8) | (extra << 4))
                else:
                    ptr = np.int64(table[head])
                    sub_bits = (ptr >> 4) & 15
                    if ptr >> 16 == 0:  # the group's first code: place its subtable
                        if used + (1 << sub_bits) > table.shape[0]:
                            return BAD_CODE_LENGTHS
                        ptr |= used << 16
                        table[head] = np.uint32(ptr)
                        for k in range(used, used + (1 << sub_bits)):
                            table[k] = _NO_CODE
                        used += 1 << sub_bits
                    base = ptr >> 16
                    e = entries[sym] | np.uint32(length)
                    for k in range(_reverse(code & ((1 << extra) - 1), extra),
                                   1 << sub_bits, 1 << extra):
                        table[base + k] = e
            code += 1
    return OK


@kernel(inline="always")
def _reverse(code, length):
    """The ``length`` low bits of ``code`` in reverse order (Huffman codes are packed
    most significant bit first into a stream read least significant bit first)."""
    rev = 0
    for _ in range(length):
        rev = (rev << 1) | (code & 1)
        code >>= 1
    return rev
