"""File helpers shared by every writer: atomic writes and JSON reading with clear errors."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from maskkit.errors import MaskkitIOError
from maskkit.io.fs import atomic_write


def write_json(path: str | os.PathLike, obj: Any, *, indent: int | None = None) -> None:
    """Write ``obj`` as JSON to ``path`` atomically."""
    with atomic_write(path, "w") as fh:
        json.dump(obj, fh, indent=indent)
        if indent is not None:
            fh.write("\n")


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file; raise :class:`~maskkit.errors.MaskkitIOError` naming the file and
    the line/column of a syntax error."""
    from maskkit.io import fs

    if not fs.is_url(path):
        path = Path(path)
    try:
        with fs.open_read(path) as fh:
            return json.load(fh)
    except MaskkitIOError:
        raise
    except json.JSONDecodeError as exc:
        raise MaskkitIOError(
            f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", source=path
        ) from None
    except UnicodeDecodeError as exc:
        raise MaskkitIOError(f"not a UTF-8 JSON file ({exc.reason})", source=path) from None
    except RecursionError:
        raise MaskkitIOError("JSON nested too deeply to read", source=path) from None
    except ValueError as exc:  # e.g. an integer beyond Python's int-string digit limit
        raise MaskkitIOError(f"unreadable JSON value: {exc}", source=path) from None
    except OSError as exc:
        raise MaskkitIOError(f"cannot read file: {exc.strerror or exc}", source=path) from None


def read_json_pairs(path: str | os.PathLike, key: str) -> tuple[Any, Any, Any]:
    """Read a JSON file whose values under ``key`` are arrays of ``[x, y]`` numbers, those
    arrays parsed by a kernel into one float64 array instead of Python lists.

    Returns ``(doc, xy, offsets)``: in ``doc`` the ``k``-th such value (in file order) is
    replaced by the int ``k``, and its numbers are ``xy[offsets[k]:offsets[k + 1]]``
    (x, y, x, y ...), each the float ``json`` makes of its text. When a value under
    ``key`` is of another kind, or a number is one the kernel does not convert as
    ``json`` does, or the key is not found, this is :func:`read_json`: ``(doc, None,
    None)``. Errors as :func:`read_json`.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "a.json"
    >>> _ = p.write_text('{"objects": [{"label": "car", "polygon": [[1, 2.5], [3, 4]]}]}')
    >>> doc, xy, offsets = read_json_pairs(p, "polygon")
    >>> doc, xy.tolist(), offsets.tolist()
    ({'objects': [{'label': 'car', 'polygon': 0}]}, [1.0, 2.5, 3.0, 4.0], [0, 4])
    """
    doc, found = _read_json_arrays(path, key, True)
    if found is None:
        return doc, None, None
    value_rings, ring_ends, xy = found
    return doc, xy, ring_ends[value_rings]


def read_json_rings(path: str | os.PathLike, key: str) -> tuple[Any, Any]:
    """Read a JSON file whose values under ``key`` are mostly arrays of arrays of numbers
    (COCO's ``"segmentation": [[x1, y1, x2, y2, ...], ...]``), those arrays parsed by a
    kernel into one float64 array instead of Python lists.

    Returns ``(doc, rings)``: in ``doc`` the ``k``-th such value (in file order) is
    replaced by the int ``k``; ``rings`` is ``(value_rings, ring_ends, xy)`` (int64,
    int64, float64): value ``k``'s inner arrays are ``value_rings[k]..value_rings[k + 1]``,
    inner array ``r`` is ``xy[ring_ends[r]:ring_ends[r + 1]]``, each number the float
    ``json`` makes of its text (ints included). Values of another kind (an RLE dict, an
    empty list, a number the kernel does not convert as ``json`` does) are left as
    ``json`` reads them. ``rings`` is None when no value was replaced (``doc`` is then
    :func:`read_json`'s). A value that was an int in the file is not told apart from a
    replaced one here: the caller checks that the ints it finds are ``0, 1, 2 ...`` in
    file order. Errors as :func:`read_json`.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "a.json"
    >>> _ = p.write_text('[{"segmentation": [[1, 2, 3, 4, 5, 6.5]]}, {"segmentation": {}}]')
    >>> doc, (value_rings, ring_ends, xy) = read_json_rings(p, "segmentation")
    >>> doc, value_rings.tolist(), ring_ends.tolist(), xy.tolist()
    ([{'segmentation': 0}, {'segmentation': {}}], [0, 1], [0, 6], [1.0, 2.0, 3.0, 4.0, 5.0, 6.5])
    """
    return _read_json_arrays(path, key, False)


def _read_json_arrays(path, key: str, pairs: bool):
    """:func:`read_json` of ``path`` with the values under ``key`` that the kernel parsed
    replaced by their numbers: ``(doc, (value_rings, ring_ends, xy))``, or
    ``(doc, None)`` when none was (see :func:`maskkit._kernels.jsonpairs.scan_pairs`)."""
    import numpy as np

    from maskkit._kernels import jsonpairs as _kj
    from maskkit.io import fs

    if not fs.is_url(path):
        path = Path(path)
    data = fs.read_bytes(path)
    status, starts, ends, value_rings, ring_ends, xy = _kj.scan_pairs(
        np.frombuffer(data, np.uint8), np.frombuffer(key.encode(), np.uint8), pairs)
    if status != _kj.OK:  # not JSON: read_json says where
        return read_json(path), None
    if not starts.size:  # nothing taken: the bytes in hand are the document
        try:
            return json.loads(data), None
        except (ValueError, RecursionError):
            return read_json(path), None
    parts, last = [], 0
    for k, (start, end) in enumerate(zip(starts.tolist(), ends.tolist())):
        parts += (data[last:start], b"%d" % k)
        last = end
    parts.append(data[last:])
    try:
        doc = json.loads(b"".join(parts))
    except (ValueError, RecursionError):  # the errors read_json names
        return read_json(path), None
    return doc, (value_rings, ring_ends, xy)


def read_class_names(path: str | os.PathLike) -> dict[int, str]:
    """A VOC-style ``class_names.txt``: one name per line, the line's index (from 0) being
    the class value; blank lines keep their index but get no name.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "class_names.txt")
    >>> _ = open(p, "w").write("background\\naeroplane\\n\\nbird\\n")
    >>> read_class_names(p)
    {0: 'background', 1: 'aeroplane', 3: 'bird'}
    """
    from maskkit.io import fs

    try:
        text = fs.read_bytes(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MaskkitIOError(f"not a UTF-8 text file ({exc.reason})", source=path) from None
    return {i: line.strip() for i, line in enumerate(text.splitlines()) if line.strip()}
