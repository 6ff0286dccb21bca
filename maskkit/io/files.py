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
    import numpy as np

    from maskkit._kernels import jsonpairs as _kj
    from maskkit.io import fs

    if not fs.is_url(path):
        path = Path(path)
    data = fs.read_bytes(path)
    status, starts, ends, offsets, xy = _kj.scan_pairs(
        np.frombuffer(data, np.uint8), np.frombuffer(key.encode(), np.uint8))
    if status != _kj.OK or not starts.size:
        return read_json(path), None, None
    parts, last = [], 0
    for k, (start, end) in enumerate(zip(starts.tolist(), ends.tolist())):
        parts += (data[last:start], b"%d" % k)
        last = end
    parts.append(data[last:])
    try:
        doc = json.loads(b"".join(parts))
    except (ValueError, RecursionError):  # the errors read_json names
        return read_json(path), None, None
    return doc, xy, offsets


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
