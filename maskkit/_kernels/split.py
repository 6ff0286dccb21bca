"""Kernels of :mod:`maskkit.core.split`: the distance-ordered flood that splits touching objects.

The image is seen as a flat ``(Z, Y, X)`` volume (a 2-D mask is one plane).
:func:`distance_sq` computes the exact squared Euclidean distance transform.  Pixels are
then visited component by component, from the largest squared distance to the smallest (a
counting sort, so linear time); each pixel joins the region of its steepest already-visited same-class neighbour,
which is a watershed of the inverted distance map whose basins grow from every regional
maximum.  When a pixel touches two regions for the first time it is their saddle, and the
two are merged unless the saddle is a neck: narrower than ``ratio`` times the smaller
region's peak distance and at least ``depth`` pixels below it.  A union-find over the
regions keeps the merges; ties are broken by raster position only, so the result does not
depend on class values or on the order objects were drawn in.  Two more rules (see
:func:`flood_split`) keep protrusions with their object and separate overlapping objects
whose junction is wide.  The flood also records the saddles where it kept two regions
apart; :func:`region_stats` and :func:`root_stats` give each object's area and moments,
and :func:`merge_unlike` takes a second look at those saddles for the classes the caller
marks as not compact (the class-shape check of :mod:`maskkit.core.split`).
"""

from __future__ import annotations

import math

import numpy as np

from maskkit._jit import kernel


@kernel
def foreground(vals, bg, ignore, fg):
    """``fg[p] = 1`` where ``vals[p]`` is neither ``bg`` nor in ``ignore``; return how
    many."""
    n = 0
    for p in range(vals.size):
        v = vals[p]
        keep = v != bg
        for j in range(ignore.size):
            if v == ignore[j]:
                keep = False
        fg[p] = keep
        n += keep
    return n


@kernel
def _sweep_outer(vals, fg, nz, ny, nx, big, sq):
    """Squared distance, along the outermost axis with more than one plane (Z, or Y for a
    2-D image), to the nearest voxel of another value; ``big`` where the line has none.
    Only foreground voxels get a value (0 elsewhere).  Sweeps whole planes / rows at a
    time, so memory is read in order."""
    if nz > 1:
        n_outer, inner = nz, ny * nx
    else:
        n_outer, inner = ny, nx
    # only foreground voxels are computed: a voxel continues the line of the one before
    # (after) it only when both hold the same value, so both are foreground
    for o in range(n_outer):  # forward: distance to the nearest change before
        base = o * inner
        for i in range(inner):
            p = base + i
            if not fg[p]:
                sq[p] = 0
            elif o == 0:
                sq[p] = big
            elif vals[p] != vals[p - inner]:
                sq[p] = 1
            else:
                prev = sq[p - inner]
                sq[p] = big if prev >= big else prev + 1
    down = np.full(inner, big, np.int64)  # distance to the nearest change after
    for o in range(n_outer - 1, -1, -1):
        base = o * inner
        for i in range(inner):
            p = base + i
            if not fg[p]:
                continue
            if o == n_outer - 1:
                dn = big
            elif vals[p] != vals[p + inner]:
                dn = 1
            else:
                dn = big if down[i] >= big else down[i] + 1
            down[i] = dn
            d = min(int(sq[p]), dn)
            sq[p] = big if d >= big else min(d * d, big)
    return 0


@kernel
def _envelope_line(vals, fg, sq, start, step, n, big, f, v, znum, zden, out):
    """Felzenszwalb-Huttenlocher lower envelope along one line of the volume, run by run:
    each run of one foreground value takes the minimum over its own voxels' ``sq`` plus
    the squared offset, and over the differing voxels just outside it (distance 0).

    All in integers: the envelope's breakpoints are kept as fractions ``znum / zden``
    (``zden > 0``) and compared by cross-multiplying, with no division per site."""
    i = 0
    while i < n:
        p = start + i * step
        if not fg[p]:
            i += 1
            continue
        a = i
        value = vals[p]
        while i < n and vals[start + i * step] == value:
            i += 1
        b = i  # the run is [a, b)
        # sites: the differing neighbours (f = 0) and the run's finite voxels
        k = -1
        lo = a - 1 if a > 0 else a
        hi = b + 1 if b < n else b
        for q in range(lo, hi):
            if q < a or q >= b:
                fq = 0
            else:
                raw = sq[start + q * step]
                if raw >= big:
                    continue
                fq = int(raw)
            if k < 0:
                k = 0
                v[0] = q
                f[0] = fq
                continue
            vk = v[k]
            num = (fq + q * q) - (f[k] + vk * vk)
            den = 2 * (q - vk)
            # pop while the new parabola is below the envelope from z[k] on (k > 0:
            # z[0] is -inf)
            while k > 0 and num * zden[k] <= znum[k] * den:
                k -= 1
                vk = v[k]
                num = (fq + q * q) - (f[k] + vk * vk)
                den = 2 * (q - vk)
            k += 1
            v[k] = q
            f[k] = fq
            znum[k] = num
            zden[k] = den
        if k < 0:  # no finite site: no boundary anywhere along this run
            for x in range(a, b):
                out[x] = big
        else:
            j = 0
            for x in range(a, b):
                while j < k and znum[j + 1] < x * zden[j + 1]:
                    j += 1
                d = (x - v[j]) * (x - v[j]) + f[j]
                out[x] = big if d >= big else d
        for x in range(a, b):
            sq[start + x * step] = out[x]
    return 0


@kernel
def distance_sq(vals, fg, nz, ny, nx, big, sq):
    """Exact squared Euclidean distance of every foreground voxel to the nearest voxel of
    another value (``big`` when there is none; outside the volume is not a boundary), in
    ``sq`` (flat, zeros elsewhere): one sweep pass and one or two envelope passes."""
    if nz * ny * nx == 0 or vals.size != nz * ny * nx or sq.size != vals.size:
        return -1
    _sweep_outer(vals, fg, nz, ny, nx, big, sq)
    longest = max(ny, nx) + 2
    f = np.empty(longest, np.int64)
    v = np.empty(longest, np.int64)
    znum = np.empty(longest + 1, np.int64)
    zden = np.empty(longest + 1, np.int64)
    out = np.empty(longest, sq.dtype)
    plane = ny * nx
    if nz > 1:  # along Y, one (z, x) line at a time
        for z in range(nz):
            for x in range(nx):
                _envelope_line(vals, fg, sq, z * plane + x, nx, ny, big, f, v, znum, zden,
                               out)
    for z in range(nz):  # along X, row by row
        for y in range(ny):
            _envelope_line(vals, fg, sq, z * plane + y * nx, 1, nx, big, f, v, znum, zden,
                           out)
    return 0


@kernel
def _root(parent, i):
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@kernel
def _dist2(pa, pr, plane, nx):
    za = pa // plane
    ya = (pa - za * plane) // nx
    xa = pa - za * plane - ya * nx
    zr = pr // plane
    yr = (pr - zr * plane) // nx
    xr = pr - zr * plane - yr * nx
    return float((za - zr) ** 2 + (ya - yr) ** 2 + (xa - xr) ** 2)


@kernel
def order_by_component(comp, fg, sq, cap, ncomp, order, start):
    """Write the flat indices of the foreground pixels into ``order``, component by
    component (``comp``: the connected-component label of every pixel, ``1..ncomp``): the
    pixels of a component are contiguous in ``order``, largest ``sq`` (clipped to ``cap``)
    first, raster order within a distance; component ``c`` is ``order[start[c]:start[c +
    1]]`` (``start``: zeros, ``ncomp + 2`` long).  The flood visits them in that order, so a
    component's pixels stay in cache while it grows (regions never cross components, so
    the result is that of a global distance order).  Returns the foreground pixel count,
    or -1 when ``order`` or ``start`` is too short."""
    n = sq.size
    if start.size < ncomp + 2:
        return -1
    for p in range(n):
        if fg[p]:
            c = comp[p]
            if c < 1 or c > ncomp:
                return -1
            start[c + 1] += 1
    for c in range(ncomp + 1):
        start[c + 1] += start[c]
    total = start[ncomp + 1]
    if total > order.size:
        return -1
    cursor = start.copy()
    for p in range(n):
        if fg[p]:
            c = comp[p]
            order[cursor[c]] = p
            cursor[c] += 1
    # each component's pixels by distance, descending, stably (a counting sort; the
    # largest squared distance of a component is at most its area / pi)
    biggest = 0
    for c in range(1, ncomp + 1):
        biggest = max(biggest, start[c + 1] - start[c])
    tmp = np.empty(biggest, order.dtype)
    key = np.empty(biggest, np.int64)  # the component's keys, read from sq once
    hist = np.zeros(1024, np.int64)
    for c in range(1, ncomp + 1):
        a = start[c]
        b = start[c + 1]
        if b - a < 2:
            continue
        # a finite squared distance d2 needs a quarter disc of radius d inside the
        # component, so d2 < 2 * size; larger values are the "no boundary at all" cap,
        # which all share the one bucket above
        limit = 2 * (b - a) + 2
        top = 0
        for t in range(a, b):
            v = min(int(min(float(sq[order[t]]), cap)), limit)
            key[t - a] = v
            if v > top:
                top = v
        if top + 2 > hist.size:
            hist = np.zeros(2 * (top + 2), np.int64)
        for k in range(top + 2):
            hist[k] = 0
        for t in range(b - a):
            hist[top - key[t] + 1] += 1
        for k in range(top + 1):
            hist[k + 1] += hist[k]
        for t in range(b - a):
            k = top - key[t]
            tmp[hist[k]] = order[a + t]
            hist[k] += 1
        for t in range(b - a):
            order[a + t] = tmp[t]
    return total


@kernel
def _grow(a, n):
    b = np.empty(max(2 * a.size, n), a.dtype)
    b[: a.size] = a
    return b


@kernel
def flood_split(sq, cap, order, start, ncomp, nz, ny, nx, dz, dy, dx, ratio, depth,
                depth_rel, min_dist2, size_ratio, reach, reach_ratio, lab, edges, edge_s):
    """Flood the pixels of each component (``order[start[c]:start[c + 1]]``, see
    :func:`order_by_component`) into regions and merge the regions whose saddle is not a
    neck.  A neck must lie ``min(depth, depth_rel * peak)`` below the smaller peak (small
    objects have shallow saddles).

    Parameters are flat arrays of the volume ``(nz, ny, nx)``: ``sq`` the squared
    distances (clipped to ``cap``), ``lab`` (zeroed, int32 or int64) receives a region
    index per pixel.  ``dz, dy, dx`` are the neighbour offsets, those of the labelling that
    made the components: a labelled neighbour is of the same component (so of the same
    class) exactly when its region was made since the component began.
    ``min_dist2 > 0`` also merges regions whose peaks are closer than its square root, and
    a region whose peak is below ``size_ratio`` times the other's is merged into it (a
    protrusion of one object, not an object of its own).  With ``reach >= 0``, a saddle
    wider than a neck but below ``reach_ratio`` times the smaller peak still separates two
    regions whose peaks are farther apart than the larger peak plus ``reach`` times the
    smaller one (two overlapping objects: the smaller one's inscribed ball lies outside
    the larger one's).  Peaks and saddles are compared as distances (square roots).

    Where two regions meet and stay apart, the pair and the saddle (a distance) are
    written to ``edges`` / ``edge_s`` (in flood order, for :func:`merge_unlike`) while
    there is room.

    Returns ``(parent, peak_at, n_regions, peak, n_edges)``: the union-find forest over
    regions ``1..n_regions`` (roots are the objects), each region's peak pixel and peak
    squared distance, and how many edges were written (more than the room: the buffers
    were too small and the edges are incomplete).
    """
    cap_regions = 1024
    parent = np.empty(cap_regions, np.int64)
    peak = np.empty(cap_regions, np.float64)
    peak_at = np.empty(cap_regions, np.int64)
    nedge = 0
    edge_cap = min(edges.shape[0], edge_s.size)
    parent[0] = 0
    peak[0] = 0.0
    peak_at[0] = -1
    nreg = 0
    noff = dz.size
    roots = np.empty(noff, np.int64)
    near_q = np.empty(noff, np.int64)
    near_r = np.empty(noff, np.int64)
    plane = ny * nx
    total = lab.size
    flat = np.empty(noff, np.int64)  # neighbour offsets in the flat array
    inv_nx = 1.0 / max(nx, 1)
    planar = True  # no offset leaves the plane (2-D neighbourhoods)
    for k in range(noff):
        flat[k] = (dz[k] * ny + dy[k]) * nx + dx[k]
        if dz[k] != 0:
            planar = False
    first = 1
    comp_end = 0
    c = 0
    nfg = start[min(ncomp + 1, start.size - 1)]
    for t in range(nfg):
        while t >= comp_end and c <= ncomp:  # a new component: its regions come next
            c += 1
            comp_end = start[c + 1] if c + 1 < start.size else nfg
            first = nreg + 1
        p = order[t]
        if p < 0 or p >= total:
            continue
        if nz == 1:
            z = 0
            # p // nx by a multiply: an integer division costs tens of cycles per pixel
            y = int(p * inv_nx)
            if y * nx > p:
                y -= 1
            elif (y + 1) * nx <= p:
                y += 1
            x = p - y * nx
            inside = planar and 0 < y < ny - 1 and 0 < x < nx - 1
        else:
            z = p // plane
            rem = p - z * plane
            y = rem // nx
            x = rem - y * nx
            inside = 0 < z < nz - 1 and 0 < y < ny - 1 and 0 < x < nx - 1
        nr = 0
        nn = 0
        for k in range(noff):
            if inside:
                q = p + flat[k]
            else:
                zz = z + dz[k]
                yy = y + dy[k]
                xx = x + dx[k]
                if zz < 0 or zz >= nz or yy < 0 or yy >= ny or xx < 0 or xx >= nx:
                    continue
                q = (zz * ny + yy) * nx + xx
            lq = lab[q]
            if lq < first or lq > nreg:  # unvisited, or of another component
                continue
            r = lq if parent[lq] == lq else _root(parent, lq)
            near_q[nn] = q
            near_r[nn] = r
            nn += 1
            seen = False
            for j in range(nr):
                if roots[j] == r:
                    seen = True
                    break
            if not seen:
                roots[nr] = r
                nr += 1
        best = roots[0]
        if nr > 1:  # the steepest neighbour's region (the first of equals, in offset order)
            best_sq = -1
            for j in range(nn):
                sq_q = sq[near_q[j]]
                if sq_q > best_sq:
                    best_sq = sq_q
                    best = near_r[j]
        if nr == 0:
            nreg += 1
            if nreg >= parent.size:
                parent = _grow(parent, nreg + 1)
                peak = _grow(peak, nreg + 1)
                peak_at = _grow(peak_at, nreg + 1)
            parent[nreg] = nreg
            peak[nreg] = min(float(sq[p]), cap)
            peak_at[nreg] = p
            lab[p] = nreg
            continue
        if nr > 1:
            s = math.sqrt(min(float(sq[p]), cap))
            # the highest peak first, then each other region against it
            top = roots[0]
            for j in range(1, nr):
                r = roots[j]
                if peak[r] > peak[top] or (peak[r] == peak[top] and peak_at[r] < peak_at[top]):
                    top = r
            for j in range(nr):
                r = roots[j]
                a = _root(parent, top)
                if r == a:
                    continue
                m = math.sqrt(min(peak[a], peak[r]))
                big = math.sqrt(max(peak[a], peak[r]))
                dep = min(depth, depth_rel * m)
                merge = s >= ratio * m or m - s < dep or m < size_ratio * big
                if merge and reach >= 0.0 and m - s >= dep and s < reach_ratio * m \
                        and m >= size_ratio * big:
                    # a wide junction, but the smaller basin's inscribed ball lies mostly
                    # outside the larger one: two overlapping objects
                    d2 = _dist2(peak_at[a], peak_at[r], plane, nx)
                    merge = d2 < (big + reach * m) ** 2
                if not merge and min_dist2 > 0.0:
                    merge = _dist2(peak_at[a], peak_at[r], plane, nx) < min_dist2
                if merge:
                    if peak[r] > peak[a] or (peak[r] == peak[a] and peak_at[r] < peak_at[a]):
                        parent[a] = r
                    else:
                        parent[r] = a
                elif nedge < edge_cap:  # kept apart here: for merge_unlike
                    edges[nedge, 0] = a
                    edges[nedge, 1] = r
                    edge_s[nedge] = s
                    nedge += 1
                else:
                    nedge = edge_cap + 1  # full: the caller retries with more room
            best = _root(parent, best)
        lab[p] = best
    return parent, peak_at, nreg, peak, nedge


@kernel
def _sum_squares(n):
    """0^2 + 1^2 + ... + (n - 1)^2."""
    return (n - 1) * n * (2 * n - 1) // 6


@kernel
def region_stats(lab, nx, nreg):
    """Pixel count and raw moments (``sum y, x, yy, xx, xy``, five per region; ``y`` is
    the row of the flat ``(rows, nx)`` view, so in-plane for a 2-D image) of every region
    of a flood, from its labels ``lab``: one raster pass, a closed form per run of one
    label (accumulating them in :func:`flood_split` slowed its loop more)."""
    area = np.zeros(nreg + 1, np.int64)
    mom = np.zeros(5 * (nreg + 1), np.float64)
    width = max(nx, 1)
    rows = lab.size // width
    for row in range(rows):
        y = float(row)
        base = row * width
        col = 0
        while col < width:
            r = lab[base + col]
            start = col
            col += 1
            while col < width and lab[base + col] == r:
                col += 1
            if r < 1 or r > nreg:
                continue
            n = col - start
            sx = float((start + col - 1) * n // 2)
            sxx = float(_sum_squares(col) - _sum_squares(start))
            area[r] += n
            b = 5 * r
            mom[b] += y * n
            mom[b + 1] += sx
            mom[b + 2] += y * y * n
            mom[b + 3] += sxx
            mom[b + 4] += y * sx
    return area, mom


@kernel
def root_stats(parent, nreg, area, mom):
    """Per object (root region): its index, pixel count and the sums of its regions'
    moments (five per object, as in :func:`flood_split`)."""
    n = 0
    for r in range(1, nreg + 1):
        if parent[r] == r:
            n += 1
    slot = np.full(nreg + 1, -1, np.int64)
    roots = np.empty(n, np.int64)
    tot = np.zeros(n, np.int64)
    tmom = np.zeros(5 * n, np.float64)
    n = 0
    for r in range(1, nreg + 1):
        if parent[r] == r:
            slot[r] = n
            roots[n] = r
            n += 1
    for r in range(1, nreg + 1):
        i = slot[_root(parent, r)]
        tot[i] += area[r]
        for k in range(5):
            tmom[5 * i + k] += mom[5 * r + k]
    return roots, tot, tmom


@kernel
def merge_unlike(parent, peak, peak_at, area, edges, edge_s, nedge, typical, strict,
                 neck_max, area_min):
    """Second look at the saddles where :func:`flood_split` kept two objects apart, in
    flood order (highest saddle first): where ``strict`` is set for the objects' root
    (their class's objects are not compact), they stay apart only when the saddle is
    below ``neck_max`` times the smaller peak distance and the smaller-peaked object holds
    at least ``area_min`` times ``typical`` (its class's typical object area) pixels;
    otherwise they are merged.  ``typical`` and ``strict`` are read at the roots of the
    forest as it is on entry (merging keeps one of the two roots, of the same class).
    Returns the number of merges."""
    merged = 0
    n = min(nedge, edges.shape[0], edge_s.size)
    for e in range(n):
        a = edges[e, 0]
        b = edges[e, 1]
        if a < 1 or b < 1 or a >= parent.size or b >= parent.size:
            continue
        ra = _root(parent, a)
        rb = _root(parent, b)
        if ra == rb or not strict[ra]:
            continue
        if peak[rb] > peak[ra] or (peak[rb] == peak[ra] and peak_at[rb] < peak_at[ra]):
            ra, rb = rb, ra  # ra: the higher peak
        m = math.sqrt(peak[rb])
        keep = edge_s[e] < neck_max * m and area[rb] >= area_min * typical[ra]
        if not keep:
            parent[rb] = ra
            area[ra] += area[rb]
            merged += 1
    return merged


@kernel
def relabel(lab, parent, nreg):
    """Replace region indices by object ids ``1..N`` in raster order of first pixel;
    return ``N``."""
    rootof = np.empty(nreg + 1, np.int64)
    for r in range(1, nreg + 1):
        rootof[r] = _root(parent, r)
    newid = np.zeros(nreg + 1, np.int64)
    n = 0
    for p in range(lab.size):
        lp = lab[p]
        if lp == 0:
            continue
        if lp < 0 or lp > nreg:
            lab[p] = 0
            continue
        r = rootof[lp]
        if newid[r] == 0:
            n += 1
            newid[r] = n
        lab[p] = newid[r]
    return n


@kernel
def root_pixels(parent, peak_at, nreg):
    """The peak pixel of every object (root region)."""
    n = 0
    for r in range(1, nreg + 1):
        if parent[r] == r:
            n += 1
    out = np.empty(n, np.int64)
    n = 0
    for r in range(1, nreg + 1):
        if parent[r] == r:
            out[n] = peak_at[r]
            n += 1
    return out


@kernel
def _lens_area(r, big_r, d):
    """Area shared by two disks of radii ``r`` and ``big_r`` whose centres are ``d`` apart."""
    if d >= r + big_r:
        return 0.0
    if d <= abs(big_r - r):
        m = min(r, big_r)
        return math.pi * m * m
    ca = min(1.0, max(-1.0, (d * d + r * r - big_r * big_r) / (2.0 * d * r)))
    cb = min(1.0, max(-1.0, (d * d + big_r * big_r - r * r) / (2.0 * d * big_r)))
    t = (-d + r + big_r) * (d + r - big_r) * (d - r + big_r) * (d + r + big_r)
    return r * r * math.acos(ca) + big_r * big_r * math.acos(cb) - 0.5 * math.sqrt(max(t, 0.0))


@kernel
def _dip(sq, cap, width, y, x, cy, cx, cr, k, r):
    """The smallest distance on the straight line from ``(y, x)`` to the nearest of the
    first ``k`` disk centres, over ``r``: below 1 when a neck or a notch lies between
    them, 1 along the flat or rising ridge of one object (a bar, an ellipse's end)."""
    best = -1
    bd = math.inf
    for j in range(k):
        dd = math.hypot(y - cy[j], x - cx[j]) - cr[j]
        if dd < bd:
            bd = dd
            best = j
    if best < 0 or r <= 0.0:
        return 1.0
    ty = cy[best] - y
    tx = cx[best] - x
    steps = int(2.0 * math.hypot(ty, tx)) + 1
    rows = sq.size // width
    low = r * r
    for i in range(steps + 1):
        fy = y + ty * i / steps + 0.5
        fx = x + tx * i / steps + 0.5
        if fy < 0.0 or fx < 0.0:
            return 0.0
        py = int(fy)
        px = int(fx)
        if py >= rows or px >= width:
            return 0.0
        v = min(float(sq[py * width + px]), cap)
        if v < low:
            low = v
    return math.sqrt(low) / r


@kernel
def disc_cover(lab, order, parent, roots, nreg, sq, cap, nx, free_min, count_free, dip_max,
               r_min, kmax, ellipse_min):
    """Shape models of every object (root region) of a 2-D flood, for the count estimate.

    ``lab`` holds the flood's region indices (flat ``(rows, nx)``), ``order`` the pixels
    in flood order (:func:`order_by_component`), ``parent`` its union-find and ``roots``
    the objects' root regions.  Per object ``i`` (in ``roots``
    order) returns:

    * ``ellipse_res[i]``: how badly one ellipse explains it, ``(pixels outside its moment
      ellipse + ellipse area the object leaves empty) / area``: about 0 for an ellipse,
      0.1-0.3 for two overlapping disks;
    * ``extra[i]``: how many disks besides the first of a greedy cover by inscribed
      disks count as objects (0 unless ``ellipse_res[i] > ellipse_min``).  Candidates
      are the object's pixels from the largest distance down (the disk of radius
      ``sqrt(sq)``, capped at ``sqrt(cap)``, lies in the component); one whose centre
      lies in an accepted disk is skipped; one is accepted when its radius is at least
      ``r_min[i]`` and at least ``free_min`` of its area lies outside the disks accepted
      so far (a lens-area bound: overlaps are over-counted, never under-counted); an
      accepted disk counts when ``count_free[i]`` of it lies outside them and the
      distance dips below ``dip_max`` times its radius on the line to the nearest
      accepted disk (:func:`_dip`: a neck or notch, not the flat ridge of a bar).  At
      most ``kmax`` disks; stops at the first candidate smaller than ``r_min[i]``.
      Accepting disks that do not count keeps an object's own ends and lobes from
      being counted: they cover the candidates beyond them.  A small object overlapping
      a large one by less than its own radius is a disk mostly outside it.
    """
    nobj = roots.size
    slot = np.full(nreg + 1, -1, np.int64)
    for i in range(nobj):
        r = roots[i]
        if r >= 1 and r <= nreg:
            slot[r] = i
    objof = np.full(nreg + 1, -1, np.int64)
    for r in range(1, nreg + 1):
        if r < parent.size:
            rr = _root(parent, r)
            if rr >= 1 and rr <= nreg:
                objof[r] = slot[rr]
    n = min(lab.size, sq.size)
    width = max(nx, 1)
    # each object's pixels in flood order: largest distance first, raster order within one
    start = np.zeros(nobj + 1, np.int64)
    for t in range(order.size):
        p = order[t]
        if p < 0 or p >= n:
            continue
        lp = lab[p]
        if lp >= 1 and lp <= nreg and objof[lp] >= 0:
            start[objof[lp] + 1] += 1
    for i in range(nobj):
        start[i + 1] += start[i]
    fill = start[:nobj].copy()
    pix = np.empty(start[nobj], np.int64)
    for t in range(order.size):
        p = order[t]
        if p < 0 or p >= n:
            continue
        lp = lab[p]
        if lp >= 1 and lp <= nreg and objof[lp] >= 0:
            o = objof[lp]
            pix[fill[o]] = p
            fill[o] += 1
    ellipse_res = np.zeros(nobj, np.float64)
    extra = np.zeros(nobj, np.int64)
    kmax = max(kmax, 1)
    cy = np.empty(kmax, np.float64)
    cx = np.empty(kmax, np.float64)
    cr = np.empty(kmax, np.float64)
    for o in range(nobj):
        s = start[o]
        m = start[o + 1] - s
        if m == 0:
            continue
        sy = 0.0
        sx = 0.0
        syy = 0.0
        sxx = 0.0
        sxy = 0.0
        for i in range(s, s + m):
            y = float(pix[i] // width)
            x = float(pix[i] % width)
            sy += y
            sx += x
            syy += y * y
            sxx += x * x
            sxy += x * y
        my = sy / m
        mx = sx / m
        vy = syy / m - my * my + 1.0 / 12.0
        vx = sxx / m - mx * mx + 1.0 / 12.0
        c = sxy / m - my * mx
        det = max(vy * vx - c * c, 1.0 / 144.0)
        outside = 0
        for i in range(s, s + m):
            y = float(pix[i] // width) - my
            x = float(pix[i] % width) - mx
            if vx * y * y - 2.0 * c * x * y + vy * x * x > 4.0 * det:
                outside += 1
        area_e = 4.0 * math.pi * math.sqrt(det)
        ellipse_res[o] = (2.0 * outside + max(area_e - m, 0.0)) / m
        if ellipse_res[o] <= ellipse_min:
            continue  # one ellipse explains it: the caller counts it once anyway
        k = 0
        r_low = r_min[o] if o < r_min.size else 0.0
        c_free = count_free[o] if o < count_free.size else 2.0  # 2: never counts
        for t in range(s, s + m):
            p = pix[t]
            r = math.sqrt(min(float(sq[p]), cap))
            if r < r_low and k > 0:
                break
            y = float(p // width)
            x = float(p % width)
            covered = 0.0
            inside = False
            for j in range(k):
                dd = math.hypot(y - cy[j], x - cx[j])
                if dd < cr[j]:
                    inside = True
                    break
                covered += _lens_area(r, cr[j], dd)
            free = 1.0 - covered / (math.pi * r * r)
            if inside or (k > 0 and free < free_min):
                continue
            if k > 0 and free >= c_free and _dip(sq, cap, width, y, x, cy, cx, cr, k,
                                                     r) < dip_max:
                extra[o] += 1
            cy[k] = y
            cx[k] = x
            cr[k] = r
            k += 1
            if k == kmax:
                break
    return ellipse_res, extra
