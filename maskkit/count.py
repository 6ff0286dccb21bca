"""Count objects in semantic masks and instance label images.

A *semantic* mask holds a class value per pixel; its objects are the connected components
of each class, found in one multilabel labelling pass over the whole mask (no loop over
classes).  An *instance* label image holds an object id per pixel; its objects are the
distinct ids.  Either way ``0`` and the values in ``ignore`` are not classes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from maskkit._kernels import ccl
from maskkit.errors import InvalidInputError, MaskkitTypeError
from maskkit.label import _as_array, _check_connectivity, _label_runs

__all__ = ["ALL_INSTANCES", "component_areas", "count_file", "count_objects", "count_table"]

#: The class key under which an instance label image without ``class_map`` is counted.
ALL_INSTANCES = -1

_KINDS = ("semantic", "instance")


def _check_ignore(ignore) -> np.ndarray:
    if ignore is None:
        return np.zeros(0, np.int64)
    if isinstance(ignore, (int, np.integer)):
        ignore = (ignore,)
    if not isinstance(ignore, Iterable):
        raise MaskkitTypeError(f"ignore must be a sequence of integers; got {ignore!r}")
    values = list(ignore)
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        raise MaskkitTypeError(f"ignore must hold integers only; got {values!r}")
    return np.asarray(values, np.int64)


def _check_min_area(min_area) -> int:
    if isinstance(min_area, (bool, np.bool_)) or not isinstance(min_area, (int, np.integer)):
        raise MaskkitTypeError(f"min_area must be an integer >= 0; got {min_area!r}")
    if min_area < 0:
        raise InvalidInputError(f"min_area must be >= 0; got {min_area}")
    return int(min_area)


def _table(classes, counts, areas, ignore: np.ndarray) -> dict[int, tuple[int, int]]:
    skip = {0, *ignore.tolist()}
    return {
        c: (n, a)
        for c, n, a in zip(classes.tolist(), counts.tolist(), areas.tolist(), strict=True)
        if c not in skip
    }


def _group(keys: np.ndarray, counted: np.ndarray, areas: np.ndarray):
    """Per distinct key: how many items are counted and their total area."""
    classes, inverse = np.unique(keys, return_inverse=True)
    counts = np.bincount(inverse, weights=counted, minlength=classes.size).astype(np.int64)
    total = np.bincount(inverse, weights=areas, minlength=classes.size).astype(np.int64)
    return classes, counts, total


def _semantic(mask: np.ndarray, connectivity: int, min_area: int, ignore: np.ndarray):
    if mask.dtype.kind == "b":
        mask = mask.view(np.uint8)
    runs = _label_runs(mask, connectivity, False, mask.dtype.type(0), False, keep_scratch=True)
    if runs.n == 0:
        return {}
    return _table(*ccl.class_table(runs.bounds, runs.values, runs.runlab, runs.final,
                                   runs.row_first, runs.row_count, runs.n, min_area), ignore)


def component_areas(mask, *, connectivity: int = 8, ignore=(255,)):
    """Class and area of every connected component of a semantic mask.

    The same labelling pass as :func:`count_table`, keeping each component's area instead
    of summing them per class (no label image is painted).

    Returns
    -------
    classes, areas : ndarray of int64, shape (N,)
        Per component, in the labelling's order; background ``0`` and ``ignore`` values
        are left out.

    Examples
    --------
    >>> import numpy as np
    >>> from maskkit.count import component_areas
    >>> mask = np.array([[1, 1, 0, 2],
    ...                  [0, 0, 0, 0],
    ...                  [1, 0, 255, 2]], dtype=np.uint8)
    >>> [a.tolist() for a in component_areas(mask)]
    [[1, 2, 1, 2], [2, 1, 1, 1]]
    """
    mask = _as_array(mask, "mask")
    ignore = _check_ignore(ignore)
    conn = _check_connectivity(connectivity, mask.ndim)
    if mask.dtype.kind == "b":
        mask = mask.view(np.uint8)
    empty = np.zeros(0, np.int64)
    if mask.size == 0:
        return empty, empty
    runs = _label_runs(mask, conn, False, mask.dtype.type(0), False, keep_scratch=True)
    if runs.n == 0:
        return empty, empty
    area, value = ccl.component_areas_and_values(runs.bounds, runs.values, runs.runlab,
                                                 runs.final, runs.row_first, runs.row_count,
                                                 runs.n)
    value = value[1:].astype(np.int64)
    area = area[1:]
    keep = (value != 0) & ~np.isin(value, ignore) if ignore.size else value != 0
    return value[keep], area[keep]


def _pixel_counts(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct non-negative ``keys`` and their pixel counts (bincount when dense enough)."""
    if keys.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    top = int(keys.max())
    if top <= 4 * keys.size + 65536:
        counts = np.bincount(keys, minlength=top + 1)
        ids = np.flatnonzero(counts)
        return ids, counts[ids]
    return np.unique(keys, return_counts=True)


def _class_of_ids(ids: np.ndarray, class_map: Mapping) -> np.ndarray:
    missing = [int(i) for i in ids if int(i) not in class_map]
    if missing:
        raise InvalidInputError(
            f"class_map has no class for instance id(s) {missing[:10]}"
            f"{' ...' if len(missing) > 10 else ''}. Fix: add them to class_map"
        )
    return np.asarray([int(class_map[int(i)]) for i in ids], np.int64)


def _instance(ids: np.ndarray, min_area: int, ignore: np.ndarray, class_map):
    flat = ids.reshape(-1)
    if class_map is None:
        flat = flat[(flat != 0) & ~np.isin(flat, ignore)] if ignore.size else flat[flat != 0]
        uniq, area = _pixel_counts(flat.astype(np.int64, copy=False))
        if uniq.size == 0:
            return {}
        return {ALL_INSTANCES: (int((area >= min_area).sum()), int(area.sum()))}
    if isinstance(class_map, Mapping):
        uniq, area = _pixel_counts(flat[flat != 0].astype(np.int64, copy=False))
        classes = _class_of_ids(uniq, class_map)
        return _table(*_group(classes, area >= min_area, area), ignore)
    cmap = _as_array(class_map, "class_map")
    if cmap.shape != ids.shape:
        raise InvalidInputError(
            f"class_map must be a mapping id -> class or an array of the mask's shape "
            f"{ids.shape}; got an array of shape {cmap.shape}"
        )
    cls = cmap.reshape(-1).astype(np.int64)
    fg = flat != 0
    if int(cls.min(initial=0)) < 0:
        raise InvalidInputError("class_map must hold classes >= 0; got a negative class")
    ids64 = flat[fg].astype(np.int64)
    cls = cls[fg]
    # one key per (id, class) pair: an instance spanning two classes counts in both
    pairs = ids64 * (int(cls.max(initial=0)) + 1) + cls
    uniq, area = _pixel_counts(pairs)
    pair_class = uniq % (int(cls.max(initial=0)) + 1)
    return _table(*_group(pair_class, area >= min_area, area), ignore)


def count_table(
    mask,
    *,
    kind: str = "semantic",
    connectivity: int = 8,
    min_area: int = 0,
    ignore=(255,),
    class_map=None,
) -> dict[int, tuple[int, int]]:
    """Objects and pixels per class: ``{class: (count, area)}``.

    ``area`` is the class's total pixel count, small objects included; ``count`` only
    counts objects of at least ``min_area`` pixels, so a class can have count 0.  Classes
    absent from the mask are absent from the table.  See :func:`count_objects` for the
    parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from maskkit.count import count_table
    >>> mask = np.array([[1, 1, 0, 2],
    ...                  [0, 0, 0, 0],
    ...                  [1, 0, 255, 2]], dtype=np.uint8)
    >>> count_table(mask)
    {1: (2, 3), 2: (2, 2)}
    >>> count_table(mask, min_area=2)
    {1: (1, 3), 2: (0, 2)}
    """
    if kind not in _KINDS:
        raise InvalidInputError(f"kind must be one of {_KINDS}; got {kind!r}")
    mask = _as_array(mask, "mask")
    min_area = _check_min_area(min_area)
    ignore = _check_ignore(ignore)
    if mask.size == 0:
        return {}
    if kind == "semantic":
        if class_map is not None:
            raise InvalidInputError(
                "class_map applies to kind='instance' only; a semantic mask already holds classes"
            )
        conn = _check_connectivity(connectivity, mask.ndim)
        return _semantic(mask, conn, min_area, ignore)
    if mask.dtype == np.uint64 and int(mask.max()) > np.iinfo(np.int64).max:
        raise InvalidInputError(
            f"instance ids must be below 2**63; got {int(mask.max())}. Fix: relabel the ids "
            "(e.g. np.unique(mask, return_inverse=True))"
        )
    if mask.dtype.kind == "i" and int(mask.min()) < 0:
        raise InvalidInputError(
            f"an instance label image must hold ids >= 0; got a minimum of {int(mask.min())}"
        )
    return _instance(mask, min_area, ignore, class_map)


def count_objects(
    mask,
    *,
    kind: str = "semantic",
    connectivity: int = 8,
    min_area: int = 0,
    ignore=(255,),
    class_map=None,
) -> dict[int, int]:
    """Count objects per class in a semantic mask or an instance label image.

    Parameters
    ----------
    mask : array_like of int or bool, 2-D or 3-D
        ``kind="semantic"``: a class value per pixel; ``kind="instance"``: an object id per
        pixel (0 = no object).
    kind : {"semantic", "instance"}, default "semantic"
        Semantic masks count the connected components of each class, all classes in one
        multilabel pass; instance images count distinct non-zero ids.
    connectivity : int, default 8
        Semantic only: 4 or 8 for 2-D, 6, 18 or 26 for 3-D.
    min_area : int, default 0
        Objects with fewer pixels are not counted.
    ignore : sequence of int, default (255,)
        Values that are not classes (``0`` never is); for an instance image without
        ``class_map``, ids that are not objects.
    class_map : mapping or array_like, optional
        Instance only: the class of each id (``{id: class}``) or of each pixel (an array of
        the mask's shape).  An id found in two classes counts once in each.  Without it,
        every instance is counted under the key :data:`ALL_INSTANCES` (``-1``).

    Returns
    -------
    dict[int, int]
        ``{class: number of objects}`` for every class present in the mask, in increasing
        class order (a class whose objects are all below ``min_area`` maps to 0).

    Examples
    --------
    >>> import numpy as np
    >>> from maskkit.count import count_objects
    >>> semantic = np.array([[1, 1, 0, 2],
    ...                      [0, 0, 0, 2],
    ...                      [1, 0, 0, 0]], dtype=np.uint8)
    >>> count_objects(semantic)
    {1: 2, 2: 1}
    >>> count_objects(semantic, connectivity=4, min_area=2)
    {1: 1, 2: 1}
    >>> instances = np.array([[5, 5, 0, 7],
    ...                       [0, 0, 0, 7]])
    >>> count_objects(instances, kind="instance")
    {-1: 2}
    >>> count_objects(instances, kind="instance", class_map={5: 1, 7: 1})
    {1: 2}
    """
    table = count_table(
        mask,
        kind=kind,
        connectivity=connectivity,
        min_area=min_area,
        ignore=ignore,
        class_map=class_map,
    )
    return {c: n for c, (n, _) in table.items()}


def count_file(
    path,
    *,
    kind: str = "semantic",
    connectivity: int = 8,
    min_area: int = 0,
    ignore=(255,),
    estimate: str | None = None,
) -> dict[int, tuple[int, int]]:
    """Objects and pixels per class of a mask file: ``{class: (count, area)}``.

    The same table as ``count_table(read_mask(path), ...)`` (see
    :func:`maskkit.io.masks.read_mask` for the formats), but an 8-bit grey or palette PNG
    counted as a semantic mask with connectivity 4 or 8 is counted from its filtered rows,
    without decoding the image: each row is kept as a list of runs, derived from the row
    above's by the few non-zero bytes a label map's filtered row holds
    (:mod:`maskkit._kernels.countpng`), so counting costs about as much as reading.
    Errors are those of ``read_mask``, naming the file.

    With ``estimate="combined"``, ``"split"`` or ``"area"`` (semantic masks,
    ``min_area=0``), ``count`` is the estimated object count of
    :func:`maskkit.split.estimate_counts` and each value is ``(count, area, components,
    low, high)``: the connected components and the estimate's range follow.

    Examples
    --------
    >>> import numpy as np, pathlib, tempfile
    >>> from PIL import Image
    >>> from maskkit.count import count_file
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.png"
    >>> Image.fromarray(np.array([[1, 1, 0, 2],
    ...                           [0, 0, 0, 0],
    ...                           [1, 0, 255, 2]], dtype=np.uint8)).save(path)
    >>> count_file(path)
    {1: (2, 3), 2: (2, 2)}
    >>> count_file(path, estimate="area")
    {1: (2, 3, 2, 2, 3), 2: (2, 2, 2, 2, 2)}
    """
    from maskkit.io.masks import read_mask

    if estimate is not None:
        return _estimate_file(read_mask(path), kind, connectivity, min_area, ignore, estimate)

    if kind == "semantic" and connectivity in (4, 8) and not isinstance(connectivity, bool):
        min_area = _check_min_area(min_area)
        ignore = _check_ignore(ignore)
        counted = _count_label_png(path, 1 if connectivity == 8 else 0, min_area)
        if counted is not None:
            classes = np.flatnonzero(counted[1])
            return _table(classes, counted[0][classes], counted[1][classes], ignore)
    return count_table(read_mask(path), kind=kind, connectivity=connectivity,
                       min_area=min_area, ignore=ignore)


def _estimate_file(mask, kind, connectivity, min_area, ignore, estimate):
    from maskkit.split import METHODS, estimate_counts

    if kind != "semantic":
        raise InvalidInputError(f"estimate applies to semantic masks only; got kind={kind!r}")
    if estimate not in METHODS:
        raise InvalidInputError(f"estimate must be one of {', '.join(map(repr, METHODS))}; "
                                f"got {estimate!r}")
    if _check_min_area(min_area):
        raise InvalidInputError("min_area does not combine with an estimate (small objects "
                                "are part of the objects they touch); use min_area=0")
    table = count_table(mask, connectivity=connectivity, ignore=ignore)
    est = estimate_counts(mask, method=estimate, connectivity=connectivity, ignore=ignore)
    return {c: (est[c]["estimate"], a, est[c]["components"], est[c]["low"], est[c]["high"])
            for c, (_, a) in table.items()}


def _count_label_png(path, diag: int, min_area: int):
    """``(counts, areas)`` per value 0-255 of a local 8-bit grey or palette PNG, or None
    for any other file (and for one that cannot be read: ``read_mask`` then says why)."""
    from maskkit._kernels.countpng import BAD_FILTER, LABEL_BYTES, TOO_MANY_LABELS, count_png_u8
    from maskkit.errors import ImageTooLargeError, MaskkitIOError
    from maskkit.io import fs, masks, png
    from maskkit.limits import get_max_bytes

    local = fs.local_path(path)
    if local is None:
        return None
    name = str(local)
    if masks.READERS.get(masks._known_suffix(name, masks.READERS)) is not masks._read_png_mask:
        return None
    try:
        data = png.read_file_bytes(name, source=path)
    except MaskkitIOError:
        return None
    inflated = png.inflate_label_png(path, data)
    if inflated is None:
        return None
    status, counts, areas = count_png_u8(*inflated, diag, min_area, get_max_bytes())
    if status == BAD_FILTER:
        raise MaskkitIOError("not a readable PNG (bad filter bytes)", source=path)
    if status == TOO_MANY_LABELS:
        raise ImageTooLargeError(
            f"counting needs a label table above the limit of {get_max_bytes():,} bytes "
            f"(more than {get_max_bytes() // (2 * LABEL_BYTES):,} runs of foreground); raise "
            "it with maskkit.set_max_bytes() or MASKKIT_MAX_BYTES if this is intended",
            source=path)
    return counts, areas
