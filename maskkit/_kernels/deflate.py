"""A DEFLATE encoder for label-map PNGs: runs of equal bytes as distance-1 matches.

A label map's PNG stream (a filter byte 0, then the row's bytes, row after row) is long
runs of a few values. Each run is written as its first byte (a literal) and then matches
of length 3–258 at distance 1, in one block with DEFLATE's fixed Huffman codes (RFC 1951
§3.2.6), so the encoder is one pass over the bytes with no search and no tables to build.
``zlib`` with ``Z_RLE`` finds the same matches but costs several times more per byte.
"""

from __future__ import annotations

import numpy as np

from maskkit._jit import kernel


def _reverse(code: int, n: int) -> int:
    out = 0
    for _ in range(n):
        out = (out << 1) | (code & 1)
        code >>= 1
    return out


def _fixed_tables():
    """Bit patterns (LSB-first, as written) of every literal and of every match length at
    distance 1 (length code, its extra bits, and the 5-bit distance code 0)."""
    lit_bits = np.zeros(256, np.uint64)
    lit_n = np.zeros(256, np.int64)
    for v in range(256):
        code, n = (0x30 + v, 8) if v < 144 else (0x190 + v - 144, 9)
        lit_bits[v] = _reverse(code, n)
        lit_n[v] = n
    # length symbols 257..285: (base length, extra bits)
    bases = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83,
             99, 115, 131, 163, 195, 227, 258]
    extra = [0] * 8 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [0]
    run_bits = np.zeros(259, np.uint64)
    run_n = np.zeros(259, np.int64)
    for length in range(3, 259):
        k = max(i for i in range(29) if bases[i] <= length)
        if length == 258:
            k = 28
        sym = 257 + k
        code, n = (sym - 256, 7) if sym < 280 else (0xC0 + sym - 280, 8)
        bits = _reverse(code, n) | ((length - bases[k]) << n)
        n += extra[k]
        run_bits[length] = bits  # then distance code 0 (distance 1): five zero bits
        run_n[length] = n + 5
    return lit_bits, lit_n, run_bits, run_n


LIT_BITS, LIT_N, RUN_BITS, RUN_N = _fixed_tables()


_MOD = 65521  # Adler-32's modulus


@kernel
def _run_sum(length):
    """``length * (length + 1) / 2`` modulo Adler-32's modulus, with no overflow."""
    if length % 2 == 0:
        return ((length // 2) % _MOD) * ((length + 1) % _MOD) % _MOD
    return (length % _MOD) * (((length + 1) // 2) % _MOD) % _MOD


@kernel
def _run_end(stream, words, j, n, v):
    """The first index ``>= j`` (and ``<= n``) whose byte is not ``v``: byte by byte to a
    word boundary, then eight bytes per comparison (``words`` is ``stream`` as uint64)."""
    while j < n and j & 7:
        if stream[j] != v:
            return j
        j += 1
    pattern = np.uint64(v) * np.uint64(0x0101010101010101)
    while j + 8 <= n and words[j >> 3] == pattern:
        j += 8
    while j < n and stream[j] == v:
        j += 1
    return j


@kernel
def deflate_runs(stream, n, lit_bits, lit_n, run_bits, run_n):
    """One final fixed-Huffman DEFLATE block of ``stream[:n]`` (uint8; ``stream.size`` a
    multiple of 8), and its Adler-32: ``(raw deflate bytes, adler)``. The checksum is
    updated once per run (a run of ``L`` bytes ``v`` adds ``L v`` to A and
    ``L A + v L (L + 1) / 2`` to B)."""
    words = stream.view(np.uint64)
    out = np.zeros(n + n // 8 + 16, np.uint8)  # literals are at most 9 bits
    pos = 0
    sum_a = 1
    sum_b = 0
    # block header: BFINAL = 1, BTYPE = 01 (fixed codes), written LSB first
    acc = np.uint64(3)
    nbits = np.uint64(3)
    eight = np.uint64(8)
    i = 0
    while i < n:
        v = stream[i]
        j = _run_end(stream, words, i + 1, n, v)
        total = j - i
        sum_b = (sum_b + (total % _MOD) * sum_a + np.int64(v) * _run_sum(total)) % _MOD
        sum_a = (sum_a + (total % _MOD) * np.int64(v)) % _MOD
        acc |= lit_bits[v] << nbits
        nbits += np.uint64(lit_n[v])
        run = total - 1
        while run >= 3:
            length = min(run, 258)
            acc |= run_bits[length] << nbits
            nbits += np.uint64(run_n[length])
            run -= length
            while nbits >= eight:
                out[pos] = np.uint8(acc & np.uint64(0xFF))
                pos += 1
                acc >>= eight
                nbits -= eight
        for _ in range(run):
            acc |= lit_bits[v] << nbits
            nbits += np.uint64(lit_n[v])
            while nbits >= eight:
                out[pos] = np.uint8(acc & np.uint64(0xFF))
                pos += 1
                acc >>= eight
                nbits -= eight
        while nbits >= eight:
            out[pos] = np.uint8(acc & np.uint64(0xFF))
            pos += 1
            acc >>= eight
            nbits -= eight
        i = j
    # end of block (symbol 256: seven zero bits), then pad to a byte
    nbits += np.uint64(7)
    while nbits > np.uint64(0):
        out[pos] = np.uint8(acc & np.uint64(0xFF))
        pos += 1
        acc >>= eight
        nbits = nbits - eight if nbits > eight else np.uint64(0)
    return out[:pos], (sum_b << 16) | sum_a
