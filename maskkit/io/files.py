"""File helpers shared by every writer: atomic writes and JSON reading with clear errors."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from maskkit.errors import MaskkitIOError


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it over ``path`` only on success.

    A reader (or a resumed run) therefore never sees a half-written file: if the block
    raises, or the process is killed, ``path`` is untouched and the temporary file is
    removed (or, after SIGKILL, left as ``.<name>.*.tmp``, which no reader picks up and
    :func:`maskkit.io.fs.clean_stale_temps` removes).  The file gets the mode a plain
    ``open()`` would give (:func:`maskkit.io.fs.file_mode`).

    ``path`` may also be an fsspec URL (see :mod:`maskkit.io.fs`): the content is then
    collected in memory and put in one request when the block ends without error.
    """
    from maskkit.io import fs

    local = fs.local_path(path)
    if local is None:
        buffer = io.BytesIO() if "b" in mode else io.StringIO()
        yield buffer
        data = buffer.getvalue()
        fs.write_bytes(path, data if isinstance(data, bytes) else data.encode("utf-8"))
        return
    path = local
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise fs.write_error(exc, path) from None
    try:
        # mkstemp makes the file 0600; a plain open() would honour the umask (0644 under
        # 022): the outputs are for the team
        os.fchmod(fd, fs.file_mode())
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, MaskkitIOError):
            raise fs.write_error(exc, path) from None  # ENOSPC, EISDIR, ...: one line
        raise


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
