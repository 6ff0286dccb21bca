"""Connected-component labelling of 2-D masks and 3-D volumes, and what to do with labels.

The labelling is run-based: every row is cut into runs of one value, each run is joined to
the overlapping runs of the rows already scanned (union-find with path compression over
provisional labels of runs, not pixels), and the labels are painted back run by run.  Labels are numbered
``1..N`` in raster (C) order of each component's first pixel; ``0`` is the background.

Connectivity is given as the number of neighbours: ``4`` or ``8`` for 2-D images,
``6``, ``18`` or ``26`` for 3-D volumes.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from maskkit._kernels import ccl
from maskkit.core.checks import CONNECTIVITIES, as_array, background_value, check_connectivity
from maskkit.errors import InvalidInputError, MaskkitTypeError

__all__ = [
    "RegionStats",
    "label",
    "label_with_stats",
    "largest_k",
    "region_stats",
    "remove_small",
]

_INT32_MAX = np.iinfo(np.int32).max
_NO_WORDS = np.zeros((1, 1, 1), np.uint64)

#: Run buffers up to this many bytes are kept per thread for the next labelling call.
#: Fresh ones are mapped page by page on first touch, a sizeable part of a call on a
#: large noise mask (and memory that the allocator returns to the system at once).
_SCRATCH_KEEP = 64 << 20
_scratch = threading.local()


class _Runs(NamedTuple):
    """The result of a labelling pass before anything is painted."""

    shape3: tuple[int, int, int]
    bounds: np.ndarray
    values: np.ndarray
    runlab: np.ndarray  # provisional label of each run
    final: np.ndarray  # provisional -> final label (after ccl.number_runs)
    row_first: np.ndarray
    row_count: np.ndarray
    strip_rows: np.ndarray
    n: int


# ---------------------------------------------------------------------------- validation


def kernel_connectivity(connectivity: int) -> int:
    # 2-D images run as one-plane volumes: 4 -> 6 and 8 -> 26 give the same neighbours
    return {4: 6, 8: 26}.get(connectivity, connectivity)


def for_kernel(image: np.ndarray) -> np.ndarray:
    """A native-endian, C-contiguous (Z, Y, X) view or copy; bool seen as uint8."""
    if image.dtype.kind == "b":
        image = image.view(np.uint8)
    if not image.dtype.isnative:
        image = image.astype(image.dtype.newbyteorder("="))
    image = np.ascontiguousarray(image)
    return image.reshape((1, *image.shape)) if image.ndim == 2 else image


def _strips(rows: int, parallel: bool) -> np.ndarray:
    if not parallel:
        return np.array([0, rows], np.int64)
    import numba

    nstrips = max(1, min(rows, 4 * numba.get_num_threads()))
    return np.linspace(0, rows, nstrips + 1).astype(np.int64)


def _run_buffers(total: int, index_dtype: np.dtype, keep: bool):
    """``bounds`` (2 × total int32), ``runlab`` and ``parent`` (total each).

    With ``keep`` they are views of this thread's kept scratch buffer (grown as needed up
    to ``_SCRATCH_KEEP`` bytes), so the caller must be done with them before this thread
    labels again: only callers that drop their runs before returning pass it.
    """
    nbytes = total * (8 + 2 * index_dtype.itemsize)
    if not keep or nbytes > _SCRATCH_KEEP:
        return (np.empty(2 * total, np.int32), np.empty(total, index_dtype),
                np.empty(total, index_dtype))
    buf = getattr(_scratch, "buf", None)
    if buf is None or buf.size < nbytes:
        buf = _scratch.buf = np.empty(nbytes, np.uint8)
    a = 8 * total
    b = a + total * index_dtype.itemsize
    return (buf[:a].view(np.int32), buf[a:b].view(index_dtype),
            buf[b:b + total * index_dtype.itemsize].view(index_dtype))


def label_runs(
    image: np.ndarray, connectivity: int, binary: bool, background, parallel: bool,
    keep_scratch: bool = False,
) -> _Runs:
    """Validated inputs in, labelled runs out (nothing painted yet).

    ``keep_scratch``: the run buffers are this thread's kept scratch (see
    :func:`_run_buffers`); for callers that are done with the runs when they return.
    """
    arr = for_kernel(image)
    Z, Y, X = arr.shape
    rows = Z * Y
    # the most runs one row can hold: foreground runs are separated by background
    cap = (X + 1) // 2 if binary else X
    total = rows * cap
    index_dtype = np.int32 if total <= _INT32_MAX else np.int64
    # np.empty maps pages lazily: only the runs actually written cost memory
    bounds, runlab, parent = _run_buffers(total, np.dtype(index_dtype), keep_scratch)
    values = np.empty(1 if binary else total, arr.dtype)
    row_first = np.zeros(rows, np.int64)
    row_count = np.zeros(rows, np.int64)
    strip_rows = _strips(rows, parallel)
    strip_nlab = np.zeros(len(strip_rows) - 1, np.int64)
    conn = kernel_connectivity(connectivity)
    # rows of 1-byte pixels are also read as 64-bit words (8 pixels per test); multilabel
    # runs keep their byte value, so only uint8 there (int8 values would read as unsigned)
    use_words = bool(
        (arr.dtype == np.uint8 or (binary and arr.dtype.itemsize == 1))
        and X % 8 == 0
        and sys.byteorder == "little"
    )
    if use_words:
        words = arr.view(np.uint64)
        bgpattern = np.uint64((int(background) & 0xFF) * 0x0101010101010101)
    else:
        words = _NO_WORDS
        bgpattern = np.uint64(0)
    if rows and X:
        common = (words, use_words, bgpattern, background, binary, conn)
        arrays = (bounds, values, runlab, parent, row_first, row_count)
        if parallel:
            ccl.label_runs_parallel(arr, *common, cap, strip_rows, *arrays, strip_nlab)
        elif binary and Z == 1:
            # 2-D binary: rows as bits (see ccl.label_runs_bits), same runs and labels
            ccl.label_runs_bits(arr, words, use_words, bgpattern, background,
                                0 if conn == 6 else 1, bounds, runlab, parent, row_first,
                                row_count, strip_nlab)
        else:
            ccl.label_runs(arr, *common, *arrays, strip_nlab)
        n = int(ccl.number_runs(parent, cap, strip_rows, strip_nlab))
    else:
        n = 0
    return _Runs((Z, Y, X), bounds, values, runlab, parent, row_first, row_count, strip_rows, n)


def label_output(out, shape: tuple[int, ...], n: int) -> np.ndarray:
    if out is None:
        return np.empty(shape, np.int32 if n <= _INT32_MAX else np.int64)
    if not isinstance(out, np.ndarray):
        raise MaskkitTypeError(f"out must be a numpy array; got {type(out).__name__}")
    if out.dtype.kind not in "iu":
        raise MaskkitTypeError(
            f"out must have an integer dtype; got {out.dtype}. Fix: pass "
            f"np.empty(image.shape, np.int32) or omit out"
        )
    if out.shape != shape:
        raise InvalidInputError(f"out must have the image's shape {shape}; got {out.shape}")
    if not out.flags.writeable:
        raise InvalidInputError("out must be writeable; got a read-only array")
    top = np.iinfo(out.dtype).max
    if n > top:
        raise InvalidInputError(
            f"out has dtype {out.dtype}, which holds labels up to {top}, but the image has "
            f"{n} components. Fix: pass out with dtype "
            f"{'int32' if n <= _INT32_MAX else 'int64'}, or omit out"
        )
    return out


def paint_labels(runs: _Runs, out: np.ndarray, parallel: bool) -> np.ndarray:
    target = out
    if not (out.flags.c_contiguous and out.dtype.isnative):
        target = np.empty(out.shape, out.dtype.newbyteorder("="))
    flat = target.reshape(-1)
    X = runs.shape3[2]
    if flat.size:
        if parallel:
            ccl.paint_runs_parallel(
                flat, X, runs.strip_rows, runs.bounds, runs.runlab, runs.final, runs.row_first,
                runs.row_count,
            )  # fmt: skip
        else:
            ccl.paint_runs(
                flat, X, runs.bounds, runs.runlab, runs.final, runs.row_first, runs.row_count
            )
    if target is not out:
        out[...] = target
    return out


# -------------------------------------------------------------------------------- label


def label(
    image,
    connectivity: int = 8,
    *,
    binary: bool = False,
    background: int = 0,
    return_count: bool = False,
    out: np.ndarray | None = None,
    parallel: bool = False,
):
    """Label the connected components of a 2-D image or a 3-D volume.

    Parameters
    ----------
    image : array_like of int or bool, shape (H, W) or (Z, Y, X)
        Any integer or bool dtype, C or Fortran order, or a strided view.  Never modified.
    connectivity : int, default 8
        Neighbours that touch: 4 or 8 for 2-D, 6, 18 or 26 for 3-D.
    binary : bool, default False
        If False (multilabel), touching pixels with different non-background values are
        different components, as in ``cc3d.connected_components``.  If True, every
        non-background pixel is foreground alike, as in ``scipy.ndimage.label``.
    background : int, default 0
        The pixel value that is background (labelled 0).
    return_count : bool, default False
        Also return the number of components ``N``.
    out : ndarray, optional
        Integer array of the image's shape to write the labels into.  Raises
        :class:`~maskkit.errors.InvalidInputError` (before writing anything) when its dtype
        cannot hold ``N``.
    parallel : bool, default False
        Label horizontal strips on several threads and merge the strip borders.  Same
        result as the serial scan.

    Returns
    -------
    labels : ndarray
        ``0`` for background, ``1..N`` for the components, numbered in raster (C) order of
        their first pixel.  dtype int32, or int64 if ``N`` exceeds the int32 range, or
        ``out``'s dtype when ``out`` is given (then ``labels is out``).
    n : int
        The number of components, only if ``return_count``.

    Notes
    -----
    The run buffers of the labelling pass (up to 64 MB) are kept per thread for the next
    call, as are :func:`label_with_stats`' and the semantic counts': repeated calls on
    large images then skip mapping fresh memory page by page.

    Examples
    --------
    >>> import numpy as np
    >>> from maskkit.core.label import label
    >>> mask = np.array([[1, 1, 0, 2],
    ...                  [0, 0, 0, 2],
    ...                  [3, 0, 2, 2]], dtype=np.uint8)
    >>> label(mask)
    array([[1, 1, 0, 2],
           [0, 0, 0, 2],
           [3, 0, 2, 2]], dtype=int32)
    >>> labels, n = label(mask > 0, connectivity=4, return_count=True)
    >>> n
    3
    >>> label(np.array([[1, 0], [0, 1]]), connectivity=8, binary=True)
    array([[1, 0],
           [0, 1]], dtype=int32)
    """
    image = as_array(image, "image")
    conn = check_connectivity(connectivity, image.ndim)
    bg = background_value(background, image.dtype)
    runs = label_runs(image, conn, bool(binary), bg, bool(parallel), keep_scratch=True)
    result = paint_labels(runs, label_output(out, image.shape, runs.n), bool(parallel))
    return (result, runs.n) if return_count else result


# ------------------------------------------------------------------------- region stats


@dataclass(frozen=True)
class RegionStats:
    """Per-label statistics; every array is indexed by label, row 0 being the background.

    Attributes
    ----------
    area : ndarray of int64, shape (N + 1,)
        Pixel (voxel) count of each label.
    bbox : ndarray of int64, shape (N + 1, 2 * ndim)
        ``(row_min, col_min, row_max, col_max)`` in 2-D, ``(z_min, y_min, x_min, z_max,
        y_max, x_max)`` in 3-D; the max bounds are exclusive, as in
        ``skimage.measure.regionprops`` (``labels[r0:r1, c0:c1]`` crops the object).
        All zeros for a label with no pixels.
    centroid : ndarray of float64, shape (N + 1, ndim)
        Mean ``(row, col)`` or ``(z, y, x)`` coordinate; NaN for a label with no pixels.
    """

    area: np.ndarray
    bbox: np.ndarray
    centroid: np.ndarray

    @property
    def num_labels(self) -> int:
        """``N``: the largest label (the arrays have ``N + 1`` rows)."""
        return self.area.shape[0] - 1

    @property
    def xywh(self) -> np.ndarray:
        """2-D only: ``(x, y, width, height)`` per label, like OpenCV's stats columns."""
        if self.bbox.shape[1] != 4:
            raise InvalidInputError("xywh is defined for 2-D labels only; these are 3-D")
        r0, c0, r1, c1 = self.bbox.T
        return np.stack([c0, r0, c1 - c0, r1 - r0], axis=1)


def _stats_from_sums(area, lo, hi, sums, ndim: int) -> RegionStats:
    present = area > 0
    lo = np.where(present[:, None], lo, 0)
    hi = np.where(present[:, None], hi, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        centroid = sums / area[:, None]
    centroid[~present] = np.nan
    dims = slice(3 - ndim, 3)
    bbox = np.concatenate([lo[:, dims], hi[:, dims]], axis=1)
    return RegionStats(area=area, bbox=bbox, centroid=centroid[:, dims])


def _check_labels(labels, name: str) -> tuple[np.ndarray, int]:
    labels = as_array(labels, name, allow_bool=True)
    if labels.dtype.kind == "b":
        labels = labels.view(np.uint8)
    if labels.size == 0:
        return labels, 0
    top = int(labels.max())
    if labels.dtype.kind == "i" and int(labels.min()) < 0:
        raise InvalidInputError(
            f"{name} must hold labels >= 0; got a minimum of {int(labels.min())}. Fix: "
            f"relabel with maskkit.label.label({name}, background=...)"
        )
    if top > _INT32_MAX:
        raise InvalidInputError(
            f"{name} has a largest label of {top}; per-label arrays that long do not fit in "
            f"memory. Fix: renumber first with maskkit.label.label({name})"
        )
    return labels, top


def region_stats(labels) -> RegionStats:
    """Area, bounding box and centroid of every label, in one pass over the image.

    Parameters
    ----------
    labels : array_like of int, shape (H, W) or (Z, Y, X)
        A label image such as :func:`label` returns: values ``>= 0``, ``0`` = background.

    Returns
    -------
    RegionStats
        Arrays indexed by label, from ``0`` (the background, like OpenCV's stats row 0)
        to ``N = labels.max()``.  See :class:`RegionStats` for the bbox convention
        (``(row_min, col_min, row_max, col_max)``, max exclusive) and ``.xywh`` for
        OpenCV's ``(x, y, w, h)``.

    Examples
    --------
    >>> import numpy as np
    >>> from maskkit.core.label import region_stats
    >>> labels = np.array([[1, 1, 0],
    ...                    [0, 0, 2],
    ...                    [0, 2, 2]])
    >>> stats = region_stats(labels)
    >>> stats.area
    array([4, 2, 3])
    >>> stats.bbox[1], stats.bbox[2]
    (array([0, 0, 1, 2]), array([1, 1, 3, 3]))
    >>> stats.centroid[2]
    array([1.66666667, 1.66666667])
    >>> stats.xywh[2]
    array([1, 1, 2, 2])
    """
    labels, top = _check_labels(labels, "labels")
    arr = for_kernel(labels)
    area, lo, hi, sums = ccl.label_image_stats(arr, top)
    return _stats_from_sums(area, lo, hi, sums, labels.ndim)


def label_with_stats(
    image,
    connectivity: int = 8,
    *,
    binary: bool = False,
    background: int = 0,
    out: np.ndarray | None = None,
    parallel: bool = False,
) -> tuple[np.ndarray, RegionStats]:
    """:func:`label` and :func:`region_stats` together, like OpenCV's ``WithStats``.

    The statistics are gathered from the runs of the labelling pass, without reading the
    label image back, so this is faster than ``region_stats(label(image))``.

    Parameters
    ----------
    image, connectivity, binary, background, out, parallel
        As for :func:`label`.

    Returns
    -------
    labels : ndarray
        As :func:`label` returns.
    stats : RegionStats
        As :func:`region_stats` returns; ``stats.num_labels`` is the number of components.

    Examples
    --------
    >>> import numpy as np
    >>> from maskkit.core.label import label_with_stats
    >>> labels, stats = label_with_stats(np.array([[1, 1, 0], [0, 0, 1]], bool))
    >>> stats.num_labels, stats.area
    (1, array([3, 3]))
    >>> stats.bbox[1]
    array([0, 0, 2, 3])
    """
    image = as_array(image, "image")
    conn = check_connectivity(connectivity, image.ndim)
    bg = background_value(background, image.dtype)
    runs = label_runs(image, conn, bool(binary), bg, bool(parallel), keep_scratch=True)
    labels = paint_labels(runs, label_output(out, image.shape, runs.n), bool(parallel))
    _, Y, X = runs.shape3
    if image.size:
        area, lo, hi, sums = ccl.run_stats(
            runs.bounds, runs.runlab, runs.final, runs.row_first, runs.row_count, Y, X, runs.n
        )
    else:
        area = np.zeros(1, np.int64)
        lo = hi = np.zeros((1, 3), np.int64)
        sums = np.zeros((1, 3))
    return labels, _stats_from_sums(area, lo, hi, sums, image.ndim)


# ------------------------------------------------------------------ filtering by area


def _objects(labels_or_mask, connectivity):
    """(label image, N, was_mask): bool masks are labelled, integer images are labels."""
    image = as_array(labels_or_mask, "labels_or_mask")
    if image.dtype.kind == "b":
        conn = max(CONNECTIVITIES[image.ndim]) if connectivity is None else connectivity
        labels, n = label(image, conn, binary=True, return_count=True)
        return labels, n, True
    if connectivity is not None:
        raise InvalidInputError(
            "connectivity applies to bool masks only; labels_or_mask is an integer label "
            f"image ({image.dtype}). Fix: drop connectivity, or pass `mask > 0` to relabel"
        )
    labels, top = _check_labels(image, "labels_or_mask")
    return labels, top, False


def _keep(labels: np.ndarray, keep: np.ndarray, was_mask: bool, relabel: bool, dtype):
    """Apply a keep-flag per label (index = label) to a label image."""
    if was_mask:
        return keep[labels]
    # keep[0] is always False: the background stays 0
    table = np.where(keep, np.arange(keep.shape[0]), 0)
    if relabel:
        table[keep] = np.arange(1, int(keep.sum()) + 1)
    flat = np.ascontiguousarray(labels).reshape(-1)
    out = np.empty(flat.shape[0], dtype)
    ccl.remap_labels(flat, table.astype(dtype), out)
    return out.reshape(labels.shape)


def _areas(labels: np.ndarray, n: int) -> np.ndarray:
    flat = np.ascontiguousarray(labels).reshape(-1)
    if not flat.dtype.isnative:
        flat = flat.astype(flat.dtype.newbyteorder("="))
    return ccl.count_labels(flat, n)


def remove_small(
    labels_or_mask, min_area: int, *, connectivity: int | None = None, relabel: bool = False
):
    """Remove objects smaller than ``min_area`` pixels.

    Parameters
    ----------
    labels_or_mask : array_like of bool or int, 2-D or 3-D
        A bool mask (labelled first, foreground alike) or an integer label image in which
        each non-zero value is one object.
    min_area : int
        Objects with fewer pixels are removed (set to 0 / False).
    connectivity : int, optional
        For bool masks: 4 or 8 (2-D), 6, 18 or 26 (3-D); default 8 / 26.
    relabel : bool, default False
        For label images: renumber the kept labels ``1..M`` in increasing order instead of
        keeping their values.

    Returns
    -------
    ndarray
        A bool mask for a bool input; else a label image of the input's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from maskkit.core.label import remove_small
    >>> mask = np.array([[1, 1, 0, 1],
    ...                  [1, 0, 0, 0]], dtype=bool)
    >>> remove_small(mask, 2).astype(int)
    array([[1, 1, 0, 0],
           [1, 0, 0, 0]])
    >>> remove_small(np.array([[3, 3, 0, 5]]), 2, relabel=True)
    array([[1, 1, 0, 0]])
    """
    if isinstance(min_area, (bool, np.bool_)) or not isinstance(min_area, (int, np.integer)):
        raise MaskkitTypeError(f"min_area must be an integer; got {min_area!r}")
    labels, n, was_mask = _objects(labels_or_mask, connectivity)
    area = _areas(labels, n)
    keep = area >= min_area
    keep[0] = False
    return _keep(labels, keep, was_mask, relabel, labels.dtype)


def largest_k(labels_or_mask, k: int, *, connectivity: int | None = None, relabel: bool = False):
    """Keep only the ``k`` largest objects.

    Ties in area are broken in favour of the smaller label (for :func:`label` output, the
    object met first in raster order).

    Parameters
    ----------
    labels_or_mask : array_like of bool or int, 2-D or 3-D
        A bool mask (labelled first) or an integer label image (non-zero value = object).
    k : int
        How many objects to keep (``k >= 0``; all of them if there are fewer).
    connectivity : int, optional
        For bool masks: 4 or 8 (2-D), 6, 18 or 26 (3-D); default 8 / 26.
    relabel : bool, default False
        For label images: renumber the kept labels ``1..k`` in increasing label order.

    Returns
    -------
    ndarray
        A bool mask for a bool input; else a label image of the input's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from maskkit.core.label import largest_k
    >>> labels = np.array([[1, 0, 2, 2],
    ...                    [0, 0, 2, 0],
    ...                    [3, 3, 0, 0]])
    >>> largest_k(labels, 2)
    array([[0, 0, 2, 2],
           [0, 0, 2, 0],
           [3, 3, 0, 0]])
    """
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 0:
        raise InvalidInputError(f"k must be an integer >= 0; got {k!r}")
    labels, n, was_mask = _objects(labels_or_mask, connectivity)
    area = _areas(labels, n)
    area[0] = 0
    # stable sort on -area keeps the smaller label first among equal areas
    order = np.argsort(-area, kind="stable")
    keep = np.zeros(n + 1, bool)
    chosen = order[: min(int(k), n + 1)]
    keep[chosen[area[chosen] > 0]] = True
    return _keep(labels, keep, was_mask, relabel, labels.dtype)

