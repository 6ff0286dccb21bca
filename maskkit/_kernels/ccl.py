"""Run-based connected-component labelling kernels (private: no checks).

The image is seen as a stack of rows: a 2-D image ``(H, W)`` is passed as ``(1, H, W)`` and
a volume as ``(Z, Y, X)``; row ``r = z * Y + y`` is ``image[z, y, :]``.  Each row is cut
into *runs* (maximal horizontal spans of one foreground value, or of any foreground value
when ``binary``).  A run takes the provisional label of the first overlapping run of the
already-scanned neighbouring rows (or a new label if none overlaps); when it overlaps runs
of different labels, those labels are united (union-find with path compression).  The work
per pixel is a comparison (or a fraction of one: 1-byte rows are also read as 64-bit words,
8 pixels per test); the union-find works per run, so masks of blobs cost little beyond one
read of the input and one write of the output.  Binary 2-D images take
:func:`label_runs_bits`: rows packed into 64-bit words, runs found by bit scans, and the
runs each one touches in the row above counted by popcounts instead of a walk.

Hot loops index with unsigned integers (``np.uint64(i)``) where the index cannot be
negative: a signed index makes Numba emit the code for Python's negative indices on every
access, and on 50 %-noise masks that code and the registers it takes cost more than the
labelling itself did otherwise (benchmarks/README.md).

Layout shared by every kernel
-----------------------------
``bounds``     run ``i`` covers columns ``[bounds[2i], bounds[2i + 1])`` of its row (int32).
               A binary row's runs are exactly its foreground/background transitions, so
               the scan writes transition columns straight into ``bounds``.
``values``     the run's pixel value (multilabel only; unused when ``binary``).
``runlab``     each run's provisional label.
``parent``     union-find forest over provisional labels (at most one per run); after
               :func:`number_runs`, the final label of each provisional label.
``row_first``  index of the first run of each row; ``row_count`` its number of runs.

Rows are split into strips ``[strip_rows[s], strip_rows[s + 1])``; the runs of strip ``s``
live from run ``strip_rows[s] * cap`` on (``cap`` = the most runs one row can hold), so
strips can be labelled by separate threads without sharing a write; so do the strip's
provisional labels.  Labels are made in raster order, a component's first run makes its
smallest label, and union by smaller label keeps that one as root: numbering roots in
label order gives final labels in raster order.

Neighbour rows by connectivity (``conn`` is 6, 18 or 26; 2-D 4 and 8 map to 6 and 26):
rows ``(z, y-1)`` and ``(z-1, y)`` always, touching diagonally (``diag``) for 18 and 26;
rows ``(z-1, y-1)`` and ``(z-1, y+1)`` for 18 (straight overlap) and 26 (diagonal too).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.extending import intrinsic
from numba.cpython.unsafe.numbers import trailing_zeros

from maskkit._jit import kernel, parallel_kernel, prange

# 64-bit constants typed as uint64 so that Numba never mixes them with int64 (-> float64)
_U0 = np.uint64(0)
_U1 = np.uint64(1)
_U3 = np.uint64(3)
_U7 = np.uint64(7)
_U8 = np.uint64(8)
_U63 = np.uint64(63)
ONES = np.uint64(0x0101010101010101)
_HIGH = np.uint64(0x8080808080808080)
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_U2 = np.uint64(2)
_U56 = np.uint64(56)
# gathers the low bit of each byte (bits 0, 8, ..., 56) into bits 0..7 of the top byte;
# the partial products land on distinct bits, so nothing carries
_GATHER = np.uint64(0x0102040810204080)

#: Width of the unconditional stores of :func:`_paint_rows`.
_CHUNK = 8


# ------------------------------------------------------------------------------ scanning


@kernel
def _scan_binary(row, background, bounds, k):
    """Write the foreground/background transitions of ``row`` from ``bounds[k]``; return k.

    Branch-free: every column is written, the index only advances on a transition.  A row
    ending in foreground gets a closing transition at ``len(row)``.
    """
    prev = False
    for j in range(row.shape[0]):
        f = row[j] != background
        bounds[k] = j
        k += f != prev
        prev = f
    if prev:
        bounds[k] = row.shape[0]
        k += 1
    return k


@kernel
def _scan_binary_words(words, bgpattern, bounds, k):
    """:func:`_scan_binary` for a row of 1-byte pixels read as little-endian uint64 words.

    ``bgpattern`` is the background byte repeated 8 times.  Words that continue the current
    state (all background after background, all foreground after foreground) cost one test.
    """
    prev = _U0  # 1 when the last pixel seen is foreground
    for wi in range(words.shape[0]):
        w = words[wi] ^ bgpattern  # background bytes become 0
        if w == _U0 and prev == _U0:
            continue
        # exact zero-byte test: high bit of each byte set iff that byte is non-zero
        fg = ((w & _LOW7) + _LOW7 | w) & _HIGH
        if fg == _HIGH and prev == _U1:
            continue
        # a transition sits where a byte's state differs from the previous byte's
        d = (fg ^ ((fg << _U8) | (prev << _U7))) & _HIGH
        base = wi * 8
        while d != _U0:
            bounds[k] = base + np.int64(trailing_zeros(d) >> _U3)
            k += 1
            d &= d - _U1
        prev = fg >> _U63
    if prev == _U1:
        bounds[k] = words.shape[0] * 8
        k += 1
    return k


@kernel
def _scan_multilabel(row, background, bounds, values, k):
    """Write the runs of equal non-background value of ``row`` from run ``k // 2``."""
    X = row.shape[0]
    j = 0
    while j < X:
        v = row[j]
        if v == background:
            j += 1
            continue
        s = j
        j += 1
        while j < X and row[j] == v:
            j += 1
        bounds[k] = s
        bounds[k + 1] = j
        values[k >> 1] = v
        k += 2
    return k


@kernel
def byte_run_end(words, j, pattern):
    """First column ``>= j`` whose byte differs from ``pattern``'s, or the row's end.

    ``words`` is a row of uint8 pixels read as little-endian uint64 words; the lowest set
    bit of ``word ^ pattern`` marks the first differing byte, so a run costs a test per
    word it spans plus one bit scan.
    """
    wi = j >> 3
    nw = words.shape[0]
    if wi < nw:
        # bytes before j are shifted out; the zeros shifted in stand for "same"
        d = (words[wi] ^ pattern) >> np.uint64((j & 7) << 3)
        if d != _U0:
            return j + np.int64(trailing_zeros(d) >> _U3)
        wi += 1
        # long runs (a mask's background): 32 bytes per test
        while wi + 4 <= nw:
            if ((words[wi] ^ pattern) | (words[wi + 1] ^ pattern) | (words[wi + 2] ^ pattern)
                    | (words[wi + 3] ^ pattern)) != _U0:
                break
            wi += 4
        while wi < nw:
            d = words[wi] ^ pattern
            if d != _U0:
                return (wi << 3) + np.int64(trailing_zeros(d) >> _U3)
            wi += 1
    return nw << 3


@kernel
def _scan_multilabel_words(row, words, background, bounds, values, k):
    """:func:`_scan_multilabel` for uint8 rows (length a multiple of 8) read as words."""
    X = row.shape[0]
    j = 0
    while j < X:
        v = row[j]
        e = byte_run_end(words, j + 1, np.uint64(v) * ONES)
        if v != background:
            bounds[np.uint64(k)] = j
            bounds[np.uint64(k + 1)] = e
            values[np.uint64(k >> 1)] = v
            k += 2
        j = e
    return k


@intrinsic
def _popcount(typingctx, x):
    """Set bits of a uint64 (LLVM's ctpop: one instruction where the CPU has it)."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


def span_pointer(context, builder, arrty, ary, i, n: int):
    """Codegen helper for intrinsics that touch ``arr[i:i + n]`` of a 1-D array at once:
    the pointer to ``arr[i]``, with both ends bounds-checked under ``MASKKIT_BOUNDSCHECK``
    (Numba's own checks see one element per access)."""
    check = context.enable_boundscheck
    last = builder.add(i, ir.Constant(i.type, n - 1))
    cgutils.get_item_pointer(context, builder, arrty, ary, [last], wraparound=False,
                             boundscheck=check)
    return cgutils.get_item_pointer(context, builder, arrty, ary, [i], wraparound=False,
                                    boundscheck=check)


@intrinsic
def load_u64(typingctx, arr, i):
    """The 8 bytes ``arr[i:i + 8]`` of a 1-D uint8 array as a little-endian uint64, at any
    alignment (the caller keeps ``0 <= i`` and ``i + 8 <= arr.size``; both ends are
    bounds-checked under ``MASKKIT_BOUNDSCHECK``)."""
    if not isinstance(arr, types.Array) or arr.ndim != 1 or arr.dtype != types.uint8:
        return None
    sig = types.uint64(arr, i)

    def codegen(context, builder, signature, args):
        arrty = signature.args[0]
        ary = context.make_array(arrty)(context, builder, args[0])
        ptr = span_pointer(context, builder, arrty, ary, args[1], 8)
        return builder.load(builder.bitcast(ptr, ir.IntType(64).as_pointer()), align=1)

    return sig, codegen


@intrinsic
def _fill8(typingctx, arr, i, v):
    """Write ``v`` to ``arr[i:i + 8]`` (a 1-D integer array) as one vector store; the caller
    keeps ``i + 8 <= arr.size``.  A loop of 8 stores of a variable is not vectorised by
    LLVM (of a constant it is)."""
    if not isinstance(arr, types.Array) or not isinstance(arr.dtype, types.Integer):
        return None
    sig = types.void(arr, i, v)

    def codegen(context, builder, signature, args):
        arrty, _, vty = signature.args
        ary = context.make_array(arrty)(context, builder, args[0])
        ptr = span_pointer(context, builder, arrty, ary, args[1], _CHUNK)
        elem = context.get_value_type(arrty.dtype)
        value = context.cast(builder, args[2], vty, arrty.dtype)
        vec_t = ir.VectorType(elem, _CHUNK)
        one = builder.insert_element(ir.Constant(vec_t, ir.Undefined), value,
                                     ir.Constant(ir.IntType(32), 0))
        splat = builder.shuffle_vector(one, ir.Constant(vec_t, ir.Undefined),
                                       ir.Constant(ir.VectorType(ir.IntType(32), _CHUNK),
                                                   [0] * _CHUNK))
        builder.store(splat, builder.bitcast(ptr, vec_t.as_pointer()),
                      align=arrty.dtype.bitwidth // 8)
        return context.get_dummy_value()

    return sig, codegen


# ------------------------------------------------------------------------------- merging


@kernel
def find(parent, i):
    root = i
    while parent[np.uint64(root)] != root:
        root = parent[np.uint64(root)]
    # path compression: later finds on this path take one step
    while parent[np.uint64(i)] != root:
        nxt = parent[np.uint64(i)]
        parent[np.uint64(i)] = root
        i = nxt
    return root


@kernel
def _union(parent, a, b):
    """Join the sets of provisional labels ``a`` and ``b``; return the new root."""
    ra = find(parent, a)
    rb = find(parent, b)
    # the smaller label wins so that every root is its component's first label
    if ra < rb:
        parent[np.uint64(rb)] = ra
        return ra
    parent[np.uint64(ra)] = rb
    return rb


#: "no label yet", typed: a literal -1 would make Numba compile a second specialisation
#: of every helper the label reaches
NO_LABEL = np.int64(-1)


@kernel(inline="always")
def touching(k, b1, s, e, v, label, binary, bounds, values, runlab, parent):
    """Unite ``label`` (-1: none yet) with the labels of the runs ``k:b1`` of a neighbour
    row that meet columns ``(s, e)`` (and hold ``v`` unless ``binary``); return the united
    label (still -1 if none) and the first run that a run further right can still meet."""
    while k < b1 and bounds[np.uint64(2 * k + 1)] <= s:
        k += 1
    j = k
    while j < b1 and bounds[np.uint64(2 * j)] < e:
        if binary or values[np.uint64(j)] == v:
            other = runlab[np.uint64(j)]
            if label < 0:
                label = other
            elif other != label:
                label = _union(parent, label, other)
        j += 1
    return label, k


@kernel
def _merge_rows(a0, a1, b0, b1, diag, binary, bounds, values, runlab, parent):
    """Join runs ``a0:a1`` of one row with the overlapping runs ``b0:b1`` of another.

    An unlabelled run (``runlab < 0``) takes the label of its first overlapping run; the
    union-find is only consulted when two overlapping runs carry different labels.
    """
    k = b0
    for i in range(a0, a1):
        # a binary pass has one unused value, not one per run
        runlab[i], k = touching(k, b1, bounds[2 * i] - diag, bounds[2 * i + 1] + diag,
                                 values[0 if binary else i], runlab[i], binary, bounds,
                                 values, runlab, parent)


@kernel
def _label_row_2d(a0, a1, b0, b1, diag, binary, bounds, values, runlab, parent, nlab):
    """2-D fast path: label runs ``a0:a1`` from the previous row's runs ``b0:b1`` alone."""
    k = b0
    for i in range(a0, a1):
        iu = np.uint64(i)
        li, k = touching(k, b1, bounds[_U2 * iu] - diag, bounds[_U2 * iu + _U1] + diag,
                          values[_U0 if binary else iu], NO_LABEL, binary, bounds,
                          values, runlab, parent)
        if li < 0:
            li = nlab
            parent[np.uint64(nlab)] = nlab
            nlab += 1
        runlab[iu] = li
    return nlab


@kernel
def _merge_with_neighbours(
    r, lo, hi, Y, conn, binary, bounds, values, runlab, parent, row_first, row_count
):
    """Merge row ``r`` with its neighbour rows whose index lies in ``[lo, hi)``."""
    a0 = row_first[r]
    a1 = a0 + row_count[r]
    if a1 == a0:
        return
    y = r % Y
    diag = 0 if conn == 6 else 1
    n = r - 1  # same plane, previous row
    if y > 0 and lo <= n < hi:
        b0 = row_first[n]
        _merge_rows(a0, a1, b0, b0 + row_count[n], diag, binary, bounds, values, runlab, parent)
    n = r - Y  # previous plane, same row
    if lo <= n < hi:
        b0 = row_first[n]
        _merge_rows(a0, a1, b0, b0 + row_count[n], diag, binary, bounds, values, runlab, parent)
    if conn == 6:
        return
    corner = 0 if conn == 18 else 1
    n = r - Y - 1
    if y > 0 and lo <= n < hi:
        b0 = row_first[n]
        _merge_rows(a0, a1, b0, b0 + row_count[n], corner, binary, bounds, values, runlab, parent)
    n = r - Y + 1
    if y < Y - 1 and lo <= n < hi:
        b0 = row_first[n]
        _merge_rows(a0, a1, b0, b0 + row_count[n], corner, binary, bounds, values, runlab, parent)


@kernel
def _label_strip(
    image, words, use_words, bgpattern, background, binary, conn, r0, r1, base,
    bounds, values, runlab, parent, row_first, row_count,
):  # fmt: skip
    """Cut rows ``r0:r1`` into runs and provisional labels stored from index ``base`` on.

    Returns the number of provisional labels made.
    """
    Y = image.shape[1]
    k = 2 * base
    nlab = base
    dense = False
    for r in range(r0, r1):
        z = r // Y
        y = r % Y
        first = k >> 1
        if not binary:
            if use_words:
                k = _scan_multilabel_words(image[z, y], words[z, y], background, bounds, values, k)
            else:
                k = _scan_multilabel(image[z, y], background, bounds, values, k)
        elif use_words and not dense:
            k = _scan_binary_words(words[z, y], bgpattern, bounds, k)
        else:
            k = _scan_binary(image[z, y], background, bounds, k)
        last = k >> 1
        # word skipping pays on long runs; rows of short runs (noise) scan faster per byte
        dense = 16 * (last - first) > image.shape[2]
        row_first[r] = first
        row_count[r] = last - first
        if image.shape[0] == 1:
            # one plane: the previous row of the strip is the only neighbour row
            b0 = row_first[r - 1] if r > r0 else first
            b1 = b0 + row_count[r - 1] if r > r0 else first
            nlab = _label_row_2d(
                first, last, b0, b1, 0 if conn == 6 else 1, binary, bounds, values, runlab,
                parent, nlab,
            )  # fmt: skip
            continue
        for i in range(first, last):
            runlab[i] = -1
        _merge_with_neighbours(
            r, r0, r, Y, conn, binary, bounds, values, runlab, parent, row_first, row_count
        )
        # runs touching nothing above start a new provisional label, in raster order
        for i in range(first, last):
            if runlab[i] < 0:
                runlab[i] = nlab
                parent[nlab] = nlab
                nlab += 1
    return nlab - base


@kernel
def label_runs(
    image, words, use_words, bgpattern, background, binary, conn,
    bounds, values, runlab, parent, row_first, row_count, strip_nlab,
):  # fmt: skip
    """Serial labelling pass: every row's runs, merged into a union-find forest."""
    R = image.shape[0] * image.shape[1]
    strip_nlab[0] = _label_strip(
        image, words, use_words, bgpattern, background, binary, conn, 0, R, 0,
        bounds, values, runlab, parent, row_first, row_count,
    )  # fmt: skip


@parallel_kernel
def label_runs_parallel(
    image, words, use_words, bgpattern, background, binary, conn, cap, strip_rows,
    bounds, values, runlab, parent, row_first, row_count, strip_nlab,
):  # fmt: skip
    """Strip-parallel labelling pass: strips in parallel, then their borders serially."""
    Y = image.shape[1]
    nstrips = strip_rows.shape[0] - 1
    for s in prange(nstrips):
        r0 = strip_rows[s]
        strip_nlab[s] = _label_strip(
            image, words, use_words, bgpattern, background, binary, conn, r0,
            strip_rows[s + 1], r0 * cap, bounds, values, runlab, parent, row_first,
            row_count,
        )  # fmt: skip
    for s in range(1, nstrips):
        r0 = strip_rows[s]
        # only the first Y + 1 rows of a strip can touch rows of earlier strips
        for r in range(r0, min(r0 + Y + 1, strip_rows[s + 1])):
            _merge_with_neighbours(
                r, 0, r0, Y, conn, binary, bounds, values, runlab, parent, row_first, row_count
            )


# ------------------------------------------------------------------ 2-D binary, bit rows


@kernel
def _pack_row(row, words, use_words, bgpattern, background, bits):
    """Foreground bits of ``row`` (bit ``x % 64`` of ``bits[x // 64]``); bits past the row
    stay 0.  Rows of 1-byte pixels are read 8 pixels per 64-bit word."""
    if use_words:
        nb = words.shape[0]
        for wi in range(bits.shape[0]):
            acc = _U0
            for q in range(8):
                j = wi * 8 + q
                if j < nb:
                    x = words[j] ^ bgpattern  # background bytes become 0
                    nz = (((x & _LOW7) + _LOW7) | x) & _HIGH  # high bit: byte non-zero
                    acc |= (((nz >> _U7) * _GATHER) >> _U56) << np.uint64(8 * q)
            bits[wi] = acc
    else:
        bits[:] = 0
        for x in range(row.shape[0]):
            if row[x] != background:
                bits[x >> 6] |= _U1 << np.uint64(x & 63)


@kernel(inline="always")
def _rank(starts, prefix, x):
    """Number of set bits of the bit row ``starts`` at positions ``<= x`` (``x >= 0``)."""
    wi = np.uint64(x >> 6)
    return prefix[wi] + np.int64(_popcount(starts[wi] & ((_U2 << np.uint64(x & 63)) - _U1)))


@kernel
def label_runs_bits(
    image, words, use_words, bgpattern, background, diag,
    bounds, runlab, parent, row_first, row_count, strip_nlab,
):  # fmt: skip
    """:func:`label_runs` for one binary 2-D image (``image`` is ``(1, Y, X)``), on bit rows.

    Each row is packed into 64-bit words; its runs are the words' 0->1 and 1->0
    transitions (a bit scan per run, not a test per pixel), and each run is labelled as
    soon as its end is found.  A run ``[s, e)`` touches the previous row's runs that meet
    columns ``[s - diag, e - 1 + diag]``; with the previous row's run starts as bits and
    their running counts per word, the first such run and how many there are come from
    two popcounts, with no loop over runs that do not touch.  The provisional labels and
    layout are :func:`label_runs`' (one strip), so numbering, painting and statistics are
    shared; the union-find is the same (smaller root wins) without path compression,
    whose writes cost more here than the short finds they would save.  The labelling is written out in the scan loop, not called:
    a call with array arguments costs reference counts on every run.
    """
    Y = image.shape[1]
    X = image.shape[2]
    nw = (X + 63) >> 6
    # one more word than the row needs, always 0: its transition closes a run that
    # reaches the end of a row whose width is a multiple of 64
    cur = np.zeros(nw + 1, np.uint64)
    prev = np.zeros(nw + 1, np.uint64)
    cur_starts = np.zeros(nw + 1, np.uint64)
    prev_starts = np.zeros(nw + 1, np.uint64)
    cur_prefix = np.zeros(nw + 1, np.int64)
    prev_prefix = np.zeros(nw + 1, np.int64)
    k = 0
    nlab = 0
    b0 = 0  # first run of the previous row
    for y in range(Y):
        _pack_row(image[0, y], words[0, y if use_words else 0], use_words, bgpattern, background,
                  cur[:nw])
        first = k
        nt = 0  # transitions so far: they alternate start, end, ..., as bounds does
        carry = _U0
        s = 0
        for wi in range(nw + 1):
            b = cur[wi]
            shifted = (b << _U1) | carry  # bit x: pixel x - 1
            cur_starts[wi] = b & ~shifted
            cur_prefix[wi] = (nt + 1) >> 1  # runs started before this word
            carry = b >> _U63
            tr = b ^ shifted
            base = wi * 64
            while tr != _U0:
                col = base + np.int64(trailing_zeros(tr))
                tr &= tr - _U1
                bounds[np.uint64(2 * first + nt)] = col
                nt += 1
                if nt & 1:
                    s = col
                    continue
                # Run [s, col) is complete: label it from the previous row's runs that meet
                # columns [s - diag, col - 1 + diag] (the first row's "previous row" is all
                # background: none).
                lo = max(s - diag, 0)
                hi = min(col - 1 + diag, X - 1)
                at_lo = np.int64((prev[np.uint64(lo >> 6)] >> np.uint64(lo & 63)) & _U1)
                r_lo = _rank(prev_starts, prev_prefix, lo)
                # the run covering ``lo`` (if any) plus every run starting in (lo, hi]
                cnt = at_lo + _rank(prev_starts, prev_prefix, hi) - r_lo
                f = b0 + r_lo - at_lo
                if cnt == 0:
                    li = nlab
                    parent[nlab] = nlab
                    nlab += 1
                else:
                    # Unite with the first two touching runs unconditionally (the second is
                    # the first again when only one touches: a no-op), branch-free by
                    # min/max; the smaller root wins, as in _union.  Rarely, more touch.
                    ra = runlab[np.uint64(f)]
                    while parent[np.uint64(ra)] != ra:
                        ra = parent[np.uint64(ra)]
                    rb = runlab[np.uint64(f + (cnt >= 2))]
                    while parent[np.uint64(rb)] != rb:
                        rb = parent[np.uint64(rb)]
                    li = min(ra, rb)
                    parent[np.uint64(max(ra, rb))] = li
                    for c in range(2, cnt):
                        rb = runlab[f + c]
                        while parent[rb] != rb:
                            rb = parent[rb]
                        lo_root = min(li, rb)
                        parent[max(li, rb)] = lo_root
                        li = lo_root
                runlab[np.uint64(first + (nt >> 1) - 1)] = li
        ns = nt >> 1
        k = first + ns
        row_first[y] = first
        row_count[y] = ns
        b0 = first
        cur, prev = prev, cur
        cur_starts, prev_starts = prev_starts, cur_starts
        cur_prefix, prev_prefix = prev_prefix, cur_prefix
    strip_nlab[0] = nlab


@kernel
def number_runs(parent, cap, strip_rows, strip_nlab):
    """Turn provisional labels into final labels 1..N in raster order; return N.

    Afterwards ``parent`` maps provisional to final labels: run ``i``'s label is
    ``parent[runlab[i]]``.  Provisional labels are visited in index order, which is raster order; a non-root label's parent is smaller, so its final
    label is known when the label is reached.
    """
    n = 0
    for s in range(strip_rows.shape[0] - 1):
        base = strip_rows[s] * cap
        for lab in range(base, base + strip_nlab[s]):
            p = parent[lab]
            if p == lab:
                n += 1
                parent[lab] = n
            else:
                parent[lab] = parent[p]
    return n


# ------------------------------------------------------------------------------ painting


@kernel
def _paint_rows(flat, X, r0, r1, bounds, runlab, final, row_first, row_count):
    """Paint rows ``r0:r1``: gaps and runs left to right, each as one store or one slice.

    A segment of at most ``_CHUNK`` pixels is written as a fixed ``_CHUNK``-wide store that
    may spill past its end; the next segment starts where the spill began and overwrites
    it, and ``limit`` keeps the spill inside the strip (another thread paints the next).
    One fixed-width store per short segment avoids a mispredicted loop exit on noisy masks.
    A longer run is whole ``_CHUNK``-wide stores, the last one ending at the run's end
    (overlapping the one before): no scalar remainder loop, which a slice store of a
    variable has (it made painting masks of disks slower); a longer gap is a slice
    store of 0, which is a ``memset`` call.
    """
    limit = r1 * X
    for r in range(r0, r1):
        p = r * X
        row = flat[p : p + X]
        c = 0
        a0 = row_first[r]
        for i in range(a0, a0 + row_count[r]):
            # unsigned indices: no negative-index wraparound code in the hot loop
            iu = np.uint64(i)
            s = bounds[_U2 * iu]
            e = bounds[_U2 * iu + _U1]
            v = final[np.uint64(runlab[iu])]
            if s - c <= _CHUNK and p + c + _CHUNK <= limit:
                _fill8(flat, p + c, 0)
            else:
                row[c:s] = 0
            if e - s <= _CHUNK and p + s + _CHUNK <= limit:
                _fill8(flat, p + s, v)
            elif e - s >= _CHUNK:
                # whole vector stores, the last one ending at the run's end (overlapping)
                q = p + s
                end = p + e - _CHUNK
                while q < end:
                    _fill8(flat, q, v)
                    q += _CHUNK
                _fill8(flat, end, v)
            else:
                row[s:e] = v
            c = e
        row[c:X] = 0


@kernel
def paint_runs(flat, X, bounds, runlab, final, row_first, row_count):
    """Write every pixel of the flat output: the run's label on runs, 0 elsewhere."""
    _paint_rows(flat, X, 0, row_first.shape[0], bounds, runlab, final, row_first, row_count)


@parallel_kernel
def paint_runs_parallel(flat, X, strip_rows, bounds, runlab, final, row_first, row_count):
    for s in prange(strip_rows.shape[0] - 1):
        _paint_rows(
            flat, X, strip_rows[s], strip_rows[s + 1], bounds, runlab, final, row_first,
            row_count,
        )  # fmt: skip


# ---------------------------------------------------------------------------- statistics


@kernel
def run_stats(bounds, runlab, final, row_first, row_count, Y, X, n):
    """Area, bounding box and coordinate sums of labels ``0..n`` from the runs.

    Returns ``area`` (n+1,), ``lo`` and ``hi`` (n+1, 3) inclusive-exclusive (z, y, x)
    bounds and ``sums`` (n+1, 3) coordinate sums.  Label 0 (the background) is measured
    from the gaps between runs.
    """
    area = np.zeros(n + 1, np.int64)
    lo = np.full((n + 1, 3), np.iinfo(np.int64).max, np.int64)
    hi = np.zeros((n + 1, 3), np.int64)
    sums = np.zeros((n + 1, 3), np.float64)
    for r in range(row_first.shape[0]):
        z = r // Y
        y = r % Y
        a0 = row_first[r]
        a1 = a0 + row_count[r]
        c = 0  # end of the previous run: [c, start) is a background gap
        for i in range(a0, a1):
            s = bounds[2 * i]
            e = bounds[2 * i + 1]
            if s > c:
                _add_run(area, lo, hi, sums, 0, z, y, c, s)
            _add_run(area, lo, hi, sums, final[runlab[i]], z, y, s, e)
            c = e
        if c < X:
            _add_run(area, lo, hi, sums, 0, z, y, c, X)
    return area, lo, hi, sums


@kernel
def _add_run(area, lo, hi, sums, lab, z, y, s, e):
    m = e - s
    area[lab] += m
    sums[lab, 0] += z * m
    sums[lab, 1] += y * m
    # s + (s+1) + ... + (e-1), exact in float64 for any image that fits in memory
    sums[lab, 2] += 0.5 * m * (s + e - 1)
    lo[lab, 0] = min(lo[lab, 0], z)
    lo[lab, 1] = min(lo[lab, 1], y)
    lo[lab, 2] = min(lo[lab, 2], s)
    hi[lab, 0] = max(hi[lab, 0], z + 1)
    hi[lab, 1] = max(hi[lab, 1], y + 1)
    hi[lab, 2] = max(hi[lab, 2], e)


@kernel
def _run_end(row, j, v):
    """First column ``>= j`` of ``row`` whose value differs from ``v`` (or the row's end)."""
    X = row.shape[0]
    # test 8 pixels at a time: a fixed-width compare vectorises, a per-pixel loop does not
    while j + 8 <= X:
        same = True
        for t in range(8):
            same &= row[j + t] == v
        if not same:
            break
        j += 8
    while j < X and row[j] == v:
        j += 1
    return j


@kernel
def label_image_stats(labels, n):
    """:func:`run_stats` of a ``(Z, Y, X)`` label image with values in ``0..n``.

    Unlike :func:`run_stats`, label 0 (the background) is measured too.
    """
    area = np.zeros(n + 1, np.int64)
    lo = np.full((n + 1, 3), np.iinfo(np.int64).max, np.int64)
    hi = np.zeros((n + 1, 3), np.int64)
    sums = np.zeros((n + 1, 3), np.float64)
    Z, Y, X = labels.shape
    for z in range(Z):
        for y in range(Y):
            row = labels[z, y]
            j = 0
            while j < X:
                lab = row[j]
                s = j
                j = _run_end(row, j + 1, lab)
                _add_run(area, lo, hi, sums, lab, z, y, s, j)
    return area, lo, hi, sums


@kernel
def count_labels(labels, n):
    """Pixel count of each label ``0..n`` (``labels`` flat, values in ``0..n``)."""
    area = np.zeros(n + 1, np.int64)
    j = 0
    X = labels.shape[0]
    while j < X:
        lab = labels[j]
        s = j
        j = _run_end(labels, j + 1, lab)
        area[lab] += j - s
    return area


@kernel
def remap_labels(labels, table, out):
    """``out[i] = table[labels[i]]`` over flat arrays (values of ``labels`` index ``table``)."""
    for i in range(labels.shape[0]):
        out[i] = table[labels[i]]


@kernel
def class_table(bounds, values, runlab, final, row_first, row_count, n, min_area):
    """Per pixel value of a multilabel pass: its components of at least ``min_area``
    pixels and its pixel count, as ``(classes, counts, areas)`` sorted by class."""
    area, value = component_areas_and_values(bounds, values, runlab, final, row_first,
                                             row_count, n)
    order = np.argsort(value[1:]) + 1  # component 0 is the background
    classes = np.empty(n, values.dtype)
    counts = np.zeros(n, np.int64)
    areas = np.zeros(n, np.int64)
    m = -1
    for j in range(n):
        c = order[j]
        if m < 0 or classes[m] != value[c]:
            m += 1
            classes[m] = value[c]
        counts[m] += area[c] >= min_area
        areas[m] += area[c]
    return classes[: m + 1], counts[: m + 1], areas[: m + 1]


@kernel
def component_areas_and_values(bounds, values, runlab, final, row_first, row_count, n):
    """Area and pixel value of each component ``1..n`` of a multilabel pass."""
    area = np.zeros(n + 1, np.int64)
    value = np.zeros(n + 1, values.dtype)
    for r in range(row_first.shape[0]):
        a0 = row_first[r]
        for i in range(a0, a0 + row_count[r]):
            lab = final[runlab[i]]
            area[lab] += bounds[2 * i + 1] - bounds[2 * i]
            value[lab] = values[i]
    return area, value
