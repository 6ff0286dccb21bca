"""Run-based connected-component labelling kernels (private: no checks).

The image is seen as a stack of rows: a 2-D image ``(H, W)`` is passed as ``(1, H, W)`` and
a volume as ``(Z, Y, X)``; row ``r = z * Y + y`` is ``image[z, y, :]``.  Each row is cut
into *runs* (maximal horizontal spans of one foreground value, or of any foreground value
when ``binary``).  A run is merged, by union-find over run indices, with the overlapping
runs of the already-scanned neighbouring rows.  The work per pixel is a comparison; the
union-find works per run, so masks of blobs cost almost nothing beyond one read of the
input and one write of the output.

Layout shared by every kernel
-----------------------------
``starts``, ``ends``  int32 run bounds ``[start, end)`` in the row.
``values``            the run's pixel value (multilabel only; unused when ``binary``).
``parent``            union-find forest over run indices; after :func:`number_runs` it
                      holds each run's final label instead.
``row_first``         index of the first run of each row.
``row_count``         number of runs of each row.

Rows are split into strips ``[strip_rows[s], strip_rows[s + 1])``; the runs of strip ``s``
live from ``strip_rows[s] * cap`` on (``cap`` = the most runs one row can hold), so strips
can be labelled by separate threads without sharing a write.  Run indices therefore grow in
raster order, and union by smaller index makes every root the first run of its component
in raster order: numbering roots in index order gives labels in raster order.

Neighbour rows by connectivity (``conn`` is 6, 18 or 26; 2-D 4 and 8 map to 6 and 26):
rows ``(z, y-1)`` and ``(z-1, y)`` always, touching diagonally (``diag``) for 18 and 26;
rows ``(z-1, y-1)`` and ``(z-1, y+1)`` for 18 (straight overlap) and 26 (diagonal too).
"""

from __future__ import annotations

import numpy as np

from maskkit._jit import kernel, parallel_kernel, prange


@kernel
def _find(parent, i):
    root = i
    while parent[root] != root:
        root = parent[root]
    # path compression: later finds on this path take one step
    while parent[i] != root:
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@kernel
def _union(parent, a, b):
    ra = _find(parent, a)
    rb = _find(parent, b)
    # the smaller index wins so that every root is its component's first run
    if ra < rb:
        parent[rb] = ra
    elif rb < ra:
        parent[ra] = rb


@kernel
def _merge_rows(a0, a1, b0, b1, diag, binary, starts, ends, values, parent):
    """Union runs ``a0:a1`` of one row with the overlapping runs ``b0:b1`` of another."""
    k = b0
    for i in range(a0, a1):
        s = starts[i] - diag
        e = ends[i] + diag
        while k < b1 and ends[k] <= s:
            k += 1
        kk = k
        while kk < b1 and starts[kk] < e:
            if binary or values[kk] == values[i]:
                _union(parent, i, kk)
            kk += 1


@kernel
def _merge_with_neighbours(
    r, lo, hi, Y, conn, binary, starts, ends, values, parent, row_first, row_count
):
    """Merge row ``r`` with its neighbour rows whose index lies in ``[lo, hi)``."""
    a0 = row_first[r]
    a1 = a0 + row_count[r]
    if a1 == a0:
        return
    y = r % Y
    diag = 0 if conn == 6 else 1
    # same plane, previous row
    n = r - 1
    if y > 0 and lo <= n < hi:
        _merge_rows(
            a0,
            a1,
            row_first[n],
            row_first[n] + row_count[n],
            diag,
            binary,
            starts,
            ends,
            values,
            parent,
        )
    # previous plane, same row
    n = r - Y
    if lo <= n < hi:
        _merge_rows(
            a0,
            a1,
            row_first[n],
            row_first[n] + row_count[n],
            diag,
            binary,
            starts,
            ends,
            values,
            parent,
        )
    if conn == 6:
        return
    corner = 0 if conn == 18 else 1
    n = r - Y - 1
    if y > 0 and lo <= n < hi:
        _merge_rows(
            a0,
            a1,
            row_first[n],
            row_first[n] + row_count[n],
            corner,
            binary,
            starts,
            ends,
            values,
            parent,
        )
    n = r - Y + 1
    if y < Y - 1 and lo <= n < hi:
        _merge_rows(
            a0,
            a1,
            row_first[n],
            row_first[n] + row_count[n],
            corner,
            binary,
            starts,
            ends,
            values,
            parent,
        )


@kernel
def _label_strip(
    image,
    background,
    binary,
    conn,
    r0,
    r1,
    base,
    starts,
    ends,
    values,
    parent,
    row_first,
    row_count,
):
    """Cut rows ``r0:r1`` into runs stored from ``base`` on and merge them inside the strip."""
    Y = image.shape[1]
    X = image.shape[2]
    nrun = base
    for r in range(r0, r1):
        row = image[r // Y, r % Y]
        first = nrun
        j = 0
        if binary:
            while j < X:
                if row[j] == background:
                    j += 1
                    continue
                s = j
                j += 1
                while j < X and row[j] != background:
                    j += 1
                starts[nrun] = s
                ends[nrun] = j
                parent[nrun] = nrun
                nrun += 1
        else:
            while j < X:
                v = row[j]
                if v == background:
                    j += 1
                    continue
                s = j
                j += 1
                while j < X and row[j] == v:
                    j += 1
                starts[nrun] = s
                ends[nrun] = j
                values[nrun] = v
                parent[nrun] = nrun
                nrun += 1
        row_first[r] = first
        row_count[r] = nrun - first
        _merge_with_neighbours(
            r, r0, r, Y, conn, binary, starts, ends, values, parent, row_first, row_count
        )


@kernel
def _merge_strip_borders(
    image, conn, binary, strip_rows, starts, ends, values, parent, row_first, row_count
):
    Y = image.shape[1]
    for s in range(1, strip_rows.shape[0] - 1):
        r0 = strip_rows[s]
        # only the first Y + 1 rows of a strip can touch rows of earlier strips
        stop = min(r0 + Y + 1, strip_rows[s + 1])
        for r in range(r0, stop):
            _merge_with_neighbours(
                r, 0, r0, Y, conn, binary, starts, ends, values, parent, row_first, row_count
            )


@kernel
def label_runs(image, background, binary, conn, starts, ends, values, parent, row_first, row_count):
    """Serial labelling pass: every row's runs, merged into a union-find forest."""
    R = image.shape[0] * image.shape[1]
    _label_strip(
        image, background, binary, conn, 0, R, 0, starts, ends, values, parent, row_first, row_count
    )


@parallel_kernel
def label_runs_parallel(
    image,
    background,
    binary,
    conn,
    cap,
    strip_rows,
    starts,
    ends,
    values,
    parent,
    row_first,
    row_count,
):
    """Strip-parallel labelling pass: strips in parallel, then their borders serially."""
    nstrips = strip_rows.shape[0] - 1
    for s in prange(nstrips):
        r0 = strip_rows[s]
        _label_strip(
            image,
            background,
            binary,
            conn,
            r0,
            strip_rows[s + 1],
            r0 * cap,
            starts,
            ends,
            values,
            parent,
            row_first,
            row_count,
        )
    _merge_strip_borders(
        image, conn, binary, strip_rows, starts, ends, values, parent, row_first, row_count
    )


@kernel
def number_runs(parent, row_first, row_count):
    """Replace ``parent`` by final labels 1..N in raster order; return N.

    Runs are visited in index order, which is raster order; a non-root run's parent has a
    smaller index, so its label is already final when the run is reached.
    """
    n = 0
    for r in range(row_first.shape[0]):
        a0 = row_first[r]
        for i in range(a0, a0 + row_count[r]):
            p = parent[i]
            if p == i:
                n += 1
                parent[i] = n
            else:
                parent[i] = parent[p]
    return n


@kernel
def _paint_rows(out, r0, r1, starts, ends, labels, row_first, row_count):
    Y = out.shape[1]
    X = out.shape[2]
    for r in range(r0, r1):
        row = out[r // Y, r % Y]
        j = 0
        a0 = row_first[r]
        for i in range(a0, a0 + row_count[r]):
            s = starts[i]
            e = ends[i]
            while j < s:
                row[j] = 0
                j += 1
            lab = labels[i]
            while j < e:
                row[j] = lab
                j += 1
        while j < X:
            row[j] = 0
            j += 1


@kernel
def paint_runs(out, starts, ends, labels, row_first, row_count):
    """Write every pixel of ``out``: the run's label on runs, 0 elsewhere."""
    _paint_rows(out, 0, out.shape[0] * out.shape[1], starts, ends, labels, row_first, row_count)


@parallel_kernel
def paint_runs_parallel(out, strip_rows, starts, ends, labels, row_first, row_count):
    for s in prange(strip_rows.shape[0] - 1):
        _paint_rows(
            out, strip_rows[s], strip_rows[s + 1], starts, ends, labels, row_first, row_count
        )


@kernel
def run_stats(starts, ends, labels, row_first, row_count, Y, n, ndim):
    """Area, bounding box and coordinate sums of labels ``0..n`` from the runs.

    Returns ``area`` (n+1,), ``lo`` and ``hi`` (n+1, 3) inclusive-exclusive (z, y, x)
    bounds and ``sums`` (n+1, 3) coordinate sums; row 0 (background) is left empty.
    """
    area = np.zeros(n + 1, np.int64)
    lo = np.empty((n + 1, 3), np.int64)
    hi = np.zeros((n + 1, 3), np.int64)
    sums = np.zeros((n + 1, 3), np.float64)
    big = np.iinfo(np.int64).max
    for lab in range(n + 1):
        for d in range(3):
            lo[lab, d] = big
    for r in range(row_first.shape[0]):
        z = r // Y
        y = r % Y
        a0 = row_first[r]
        for i in range(a0, a0 + row_count[r]):
            lab = labels[i]
            s = starts[i]
            e = ends[i]
            m = e - s
            area[lab] += m
            sums[lab, 0] += z * m
            sums[lab, 1] += y * m
            # sum of s..e-1 = m * (s + e - 1) / 2, exact in float64 for any real image
            sums[lab, 2] += 0.5 * m * (s + e - 1)
            lo[lab, 0] = min(lo[lab, 0], z)
            lo[lab, 1] = min(lo[lab, 1], y)
            lo[lab, 2] = min(lo[lab, 2], s)
            hi[lab, 0] = max(hi[lab, 0], z + 1)
            hi[lab, 1] = max(hi[lab, 1], y + 1)
            hi[lab, 2] = max(hi[lab, 2], e)
    return area, lo, hi, sums


@kernel
def label_image_stats(labels, n):
    """Area, bounding box and coordinate sums of labels ``0..n`` of a label image.

    ``labels`` is ``(Z, Y, X)`` C-contiguous with values in ``0..n``.  Same outputs as
    :func:`run_stats`, background (label 0) included.
    """
    area = np.zeros(n + 1, np.int64)
    lo = np.empty((n + 1, 3), np.int64)
    hi = np.zeros((n + 1, 3), np.int64)
    sums = np.zeros((n + 1, 3), np.float64)
    big = np.iinfo(np.int64).max
    for lab in range(n + 1):
        for d in range(3):
            lo[lab, d] = big
    Z, Y, X = labels.shape
    for z in range(Z):
        for y in range(Y):
            row = labels[z, y]
            j = 0
            while j < X:
                lab = row[j]
                s = j
                j += 1
                while j < X and row[j] == lab:
                    j += 1
                m = j - s
                area[lab] += m
                sums[lab, 0] += z * m
                sums[lab, 1] += y * m
                sums[lab, 2] += 0.5 * m * (s + j - 1)
                lo[lab, 0] = min(lo[lab, 0], z)
                lo[lab, 1] = min(lo[lab, 1], y)
                lo[lab, 2] = min(lo[lab, 2], s)
                hi[lab, 0] = max(hi[lab, 0], z + 1)
                hi[lab, 1] = max(hi[lab, 1], y + 1)
                hi[lab, 2] = max(hi[lab, 2], j)
    return area, lo, hi, sums


@kernel
def count_labels(labels, n):
    """Pixel count of each label ``0..n`` (``labels`` flat, values in ``0..n``)."""
    area = np.zeros(n + 1, np.int64)
    for i in range(labels.shape[0]):
        area[labels[i]] += 1
    return area


@kernel
def remap_labels(labels, table, out):
    """``out[i] = table[labels[i]]`` over flat arrays (values of ``labels`` index ``table``)."""
    for i in range(labels.shape[0]):
        out[i] = table[labels[i]]


@kernel
def component_class_counts(starts, ends, values, labels, row_first, row_count, n):
    """Area and class value of each component 1..n, from the runs of a multilabel pass."""
    area = np.zeros(n + 1, np.int64)
    cls = np.zeros(n + 1, values.dtype)
    for r in range(row_first.shape[0]):
        a0 = row_first[r]
        for i in range(a0, a0 + row_count[r]):
            lab = labels[i]
            area[lab] += ends[i] - starts[i]
            cls[lab] = values[i]
    return area, cls
