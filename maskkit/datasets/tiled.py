"""Labelling and counting rasters larger than memory, tile by tile.

The raster is read one tile at a time (GeoTIFF windows through tifffile, ``.npy`` memory
maps, zarr arrays or any 2-D array-like that slices), each tile is labelled in memory with
:mod:`maskkit.core.label`'s run-based kernels, and the components that cross tile borders are
merged by union-find over the labels on the tile edges.  Only one tile, the last row of
the previous tile row and a few numbers per component are held at once, so memory grows
with the tile and the number of components, not with the raster.

The result equals a whole-image :func:`maskkit.core.label.label`: the same number of
components, numbered ``1..N`` in raster order of their first pixel, with the same areas
(and, for a multilabel pass, the same pixel values).  Pass ``out=`` (e.g. an
``np.lib.format.open_memmap``) to also get the label image itself, written tile by tile
in a second pass.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from maskkit._kernels.tiled import merge_lines, resolve, tile_summary
from maskkit.errors import InvalidInputError, MaskkitIOError, MaskkitTypeError
from maskkit.io.raster import open_raster, raster_shape

__all__ = ["TiledLabels", "count_tiled", "label_tiled", "use_tiled"]

#: Files above this many pixels are counted tile by tile by ``maskkit count``
#: (environment variable ``MASKKIT_TILED_PIXELS`` overrides it).
TILED_PIXELS = 1 << 28

DEFAULT_TILE = 4096


def use_tiled(path) -> bool:
    """Whether :func:`maskkit.count_file` counts ``path`` tile by tile: a ``.npy``/``.tif``/
    ``.tiff`` file of more than ``MASKKIT_TILED_PIXELS`` (default 2**28) pixels.

    Examples
    --------
    >>> use_tiled("small.png")
    False
    """
    limit = int(os.environ.get("MASKKIT_TILED_PIXELS", TILED_PIXELS))
    shape = raster_shape(path)
    return shape is not None and len(shape) >= 2 and int(shape[0]) * int(shape[1]) > limit


# ---------------------------------------------------------------------------- labelling


@dataclass(frozen=True)
class TiledLabels:
    """What :func:`label_tiled` found.

    Attributes
    ----------
    n : int
        Number of components.
    area : ndarray of int64, shape (n + 1,)
        Pixels of each component, indexed by label (raster order of the first pixel, as
        :func:`maskkit.core.label.label` numbers them); ``area[0]`` is the background.
    value : ndarray of int64, shape (n + 1,)
        Each component's pixel value (multilabel pass; all 1 for ``binary=True``).
    shape : (int, int)
        The raster's ``(height, width)``.
    """

    n: int
    area: np.ndarray
    value: np.ndarray
    shape: tuple[int, int]


def _tile_shape(tile_size) -> tuple[int, int]:
    if isinstance(tile_size, (int, np.integer)) and not isinstance(tile_size, bool):
        tile_size = (tile_size, tile_size)
    try:
        th, tw = (int(v) for v in tile_size)
    except (TypeError, ValueError):
        raise InvalidInputError(f"tile_size must be an int or (rows, cols); got {tile_size!r}") \
            from None
    if th < 1 or tw < 1:
        raise InvalidInputError(f"tile_size must be >= 1; got {tile_size!r}")
    return th, tw


class _Growable:
    """int64 arrays indexed by global label, grown by doubling."""

    def __init__(self):
        self.size = 1
        self.parent = np.zeros(1024, np.int64)
        self.area = np.zeros(1024, np.int64)
        self.value = np.zeros(1024, np.int64)
        self.first = np.zeros(1024, np.int64)

    def add(self, area, value, first):
        n = area.shape[0]
        need = self.size + n
        if need > self.parent.shape[0]:
            cap = max(need, 2 * self.parent.shape[0])
            # a few numbers per component, whatever the raster: a compressible checkerboard
            # has a component every other pixel, so this table is bounded too (old and new
            # arrays live together while copying)
            from maskkit.limits import check_bytes

            check_bytes(32 * (cap + self.parent.shape[0]),
                        f"the table of more than {self.size - 1:,} components")
            for name in ("parent", "area", "value", "first"):
                old = getattr(self, name)
                new = np.zeros(cap, np.int64)
                new[: self.size] = old[: self.size]
                setattr(self, name, new)
        base = self.size
        self.parent[base:need] = np.arange(base, need)
        self.area[base:need] = area
        self.value[base:need] = value
        self.first[base:need] = first
        self.size = need
        return base - 1  # global label = base - 1 + local label (local labels start at 1)


def _label_tile(arr, conn, binary, bg):
    from maskkit.core.label import label_runs

    return label_runs(arr, conn, binary, bg, False)


def label_tiled(
    source,
    connectivity: int = 8,
    *,
    binary: bool = False,
    background: int = 0,
    tile_size=DEFAULT_TILE,
    out=None,
) -> TiledLabels:
    """Connected components of a raster too big for memory, read and labelled tile by tile.

    Parameters
    ----------
    source : path or 2-D array-like
        See :func:`open_raster`: ``.npy`` (memory-mapped), GeoTIFF/TIFF (read by windows),
        zarr, or any array that slices.
    connectivity : {4, 8}
        Neighbours that touch.
    binary : bool, default False
        As for :func:`maskkit.core.label.label`: every non-background pixel alike (True), or
        touching pixels of different values are different components (False).
    background : int, default 0
        The background value.
    tile_size : int or (int, int), default 4096
        Tile rows and columns.  Memory grows with it (about 20 bytes per tile pixel);
        larger tiles mean fewer border merges.
    out : writable 2-D array-like, optional
        Receives the label image (e.g. ``np.lib.format.open_memmap(path, "w+", np.int32,
        shape)``), written tile by tile in a second pass; its dtype must hold ``n``.

    Returns
    -------
    TiledLabels
        ``n``, and ``area`` / ``value`` per label, equal to a whole-image
        :func:`maskkit.core.label.label` (same numbering).

    Examples
    --------
    >>> mask = np.array([[1, 1, 0, 1],
    ...                  [0, 1, 0, 1],
    ...                  [1, 0, 0, 1]], np.uint8)
    >>> result = label_tiled(mask, connectivity=4, tile_size=2)
    >>> result.n, result.area.tolist()
    (3, [5, 3, 3, 1])
    """
    from maskkit.core.checks import background_value, check_connectivity
    from maskkit.core.label import kernel_connectivity

    th, tw = _tile_shape(tile_size)
    src = open_raster(source)
    try:
        return _label_tiled(src, connectivity, binary, background, th, tw, out,
                            check_connectivity, background_value, kernel_connectivity)
    except MemoryError:
        raise MaskkitIOError(
            f"out of memory with tiles of {th}x{tw}; use a smaller tile_size",
            source=src.name,
        ) from None
    finally:
        src.close()


def _label_tiled(src, connectivity, binary, background, th, tw, out, check_conn, bg_value,
                 kernel_conn):
    from maskkit.core.label import for_kernel

    if src.dtype.kind not in "biu":
        raise MaskkitTypeError(
            f"the raster must hold integer or bool labels; got {src.dtype}", source=src.name
        )
    conn = check_conn(connectivity, 2)
    dtype = np.dtype(np.uint8) if src.dtype.kind == "b" else src.dtype
    bg = bg_value(background, dtype)
    H, W = src.shape
    diag = 0 if conn == 4 else 1
    binary = bool(binary)
    table = _Growable()
    bases = {}
    prev_bottom = np.zeros(W, np.int64)  # global labels of the row above this tile row
    for r0 in range(0, H, th):
        r1 = min(r0 + th, H)
        top_row = np.zeros(W, np.int64)
        bottom_row = np.zeros(W, np.int64)
        left_col = None
        for c0 in range(0, W, tw):
            c1 = min(c0 + tw, W)
            arr = for_kernel(np.asarray(src.read(r0, r1, c0, c1)).astype(dtype, copy=False))
            runs = _label_tile(arr, conn, binary, bg)
            n = runs.n
            area, value, first, top, bottom, left, right = tile_summary(
                runs.bounds, runs.values, runs.runlab, runs.final, runs.row_first,
                runs.row_count, r1 - r0, c1 - c0, n, binary,
            )  # fmt: skip
            # tile raster index -> global raster index (monotone within the tile)
            fr, fc = np.divmod(first[1:], c1 - c0)
            base = table.add(area[1:], value[1:], (r0 + fr) * W + c0 + fc)
            bases[(r0, c0)] = base
            shift = np.where(np.arange(n + 1) > 0, base, 0)
            g_left = left + shift[left]
            if left_col is not None:
                merge_lines(left_col, g_left, diag, binary, table.value, table.parent)
            left_col = right + shift[right]
            top_row[c0:c1] = top + shift[top]
            bottom_row[c0:c1] = bottom + shift[bottom]
        if r0 > 0:
            merge_lines(prev_bottom, top_row, diag, binary, table.value, table.parent)
        prev_bottom = bottom_row

    total = table.size - 1
    roots, root_area, root_first = resolve(table.parent, table.area, table.first, total)
    is_root = np.zeros(total + 1, bool)
    is_root[1:] = roots[1:] == np.arange(1, total + 1)
    root_ids = np.flatnonzero(is_root)
    order = root_ids[np.argsort(root_first[root_ids], kind="stable")]
    n = int(order.size)
    final_of_root = np.zeros(total + 1, np.int64)
    final_of_root[order] = np.arange(1, n + 1)
    area = np.empty(n + 1, np.int64)
    area[1:] = root_area[order]
    area[0] = H * W - int(area[1:].sum())
    value = np.empty(n + 1, np.int64)
    value[0] = int(bg)
    value[1:] = table.value[order] if not binary else 1
    if out is not None:
        _write_labels(src, out, conn, binary, bg, dtype, th, tw, bases,
                      final_of_root[roots] if total else np.zeros(1, np.int64), n)
    return TiledLabels(n=n, area=area, value=value, shape=(H, W))


def _write_labels(src, out, conn, binary, bg, dtype, th, tw, bases, final_of_global, n):
    from maskkit.core.label import for_kernel, label_output, paint_labels

    H, W = src.shape
    if tuple(out.shape) != (H, W):
        raise InvalidInputError(f"out must have the raster's shape {(H, W)}; got {out.shape}")
    top = np.iinfo(out.dtype).max if np.dtype(out.dtype).kind in "iu" else -1
    if top < n:
        raise InvalidInputError(
            f"out has dtype {out.dtype}, which cannot hold {n} labels; use int32 or int64"
        )
    final_of_global = final_of_global.copy()
    final_of_global[0] = 0
    for (r0, c0), base in bases.items():
        r1, c1 = min(r0 + th, H), min(c0 + tw, W)
        arr = for_kernel(np.asarray(src.read(r0, r1, c0, c1)).astype(dtype, copy=False))
        runs = _label_tile(arr, conn, binary, bg)
        local = paint_labels(runs, label_output(None, (r1 - r0, c1 - c0), runs.n), False)
        table = np.zeros(runs.n + 1, np.int64)
        table[1:] = final_of_global[base + 1 : base + runs.n + 1]
        out[r0:r1, c0:c1] = table[local].astype(out.dtype, copy=False)


# ---------------------------------------------------------------------------- counting


def count_tiled(
    source,
    *,
    kind: str = "semantic",
    connectivity: int = 8,
    min_area: int = 0,
    ignore: Iterable[int] = (255,),
    tile_size=DEFAULT_TILE,
) -> dict[int, tuple[int, int]]:
    """:func:`maskkit.core.count.count_table` of a raster too big for memory, tile by tile.

    Parameters
    ----------
    source : path or 2-D array-like
        See :func:`open_raster`.
    kind, connectivity, min_area, ignore
        As for :func:`maskkit.core.count.count_table` (no ``class_map``).
    tile_size : int or (int, int)
        As for :func:`label_tiled`.

    Returns
    -------
    dict
        ``{class: (count, area)}``, equal to ``count_table`` of the whole raster.

    Examples
    --------
    >>> mask = np.array([[1, 1, 0, 2],
    ...                  [0, 0, 0, 0],
    ...                  [1, 0, 255, 2]], dtype=np.uint8)
    >>> count_tiled(mask, tile_size=2)
    {1: (2, 3), 2: (2, 2)}
    """
    from maskkit.core.checks import check_ignore, check_min_area
    from maskkit.core.count import ALL_INSTANCES, group_counts, table_from_counts

    if kind not in ("semantic", "instance"):
        raise InvalidInputError(f"kind must be one of ('semantic', 'instance'); got {kind!r}")
    min_area = check_min_area(min_area)
    ignore = check_ignore(ignore)
    if kind == "semantic":
        result = label_tiled(source, connectivity, binary=False, tile_size=tile_size)
        if result.n == 0:
            return {}
        area, value = result.area[1:], result.value[1:]
        return table_from_counts(*group_counts(value, area >= min_area, area), ignore)
    th, tw = _tile_shape(tile_size)
    src = open_raster(source)
    ids_parts, count_parts = [], []
    try:
        H, W = src.shape
        for r0 in range(0, H, th):
            for c0 in range(0, W, tw):
                tile = np.asarray(src.read(r0, min(r0 + th, H), c0, min(c0 + tw, W))).ravel()
                if tile.dtype.kind == "i" and tile.size and int(tile.min()) < 0:
                    raise InvalidInputError(
                        "an instance label image must hold ids >= 0; got a minimum of "
                        f"{int(tile.min())}", source=src.name,
                    )
                keep = (tile != 0) & ~np.isin(tile, ignore)
                ids, counts = np.unique(tile[keep].astype(np.int64), return_counts=True)
                ids_parts.append(ids)
                count_parts.append(counts)
    finally:
        src.close()
    if not ids_parts:
        return {}
    ids = np.concatenate(ids_parts)
    if ids.size == 0:
        return {}
    _, inverse = np.unique(ids, return_inverse=True)
    area = np.bincount(inverse, weights=np.concatenate(count_parts)).astype(np.int64)
    return {ALL_INSTANCES: (int((area >= min_area).sum()), int(area.sum()))}
