"""Local paths and fsspec URLs (``s3://``, ``gs://``, ``memory://``, ``file://`` ...) behind
one small interface, so batch commands can read inputs from and write outputs to object
storage.

Plain local paths never touch fsspec (it is optional: ``pip install 'maskkit[dask]'`` or
``pip install fsspec`` plus the filesystem's package, e.g. ``s3fs``).  ``file://`` URLs are
turned into local paths, so they get the local atomic writes.  Writes to other URLs are
atomic too: the bytes are put in one request, and object stores (and fsspec's memory
filesystem) show an object whole or not at all.

Note: ``memory://`` is private to a process; use it with ``--workers 1``.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from maskkit.errors import InvalidInputError, MaskkitIOError

__all__ = [
    "AppendLog", "exists", "is_url", "isdir", "join", "local_path", "makedirs", "name",
    "open_read", "read_bytes", "remove", "suffix", "write_bytes",
]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def is_url(path) -> bool:
    """True for an fsspec URL (``scheme://...``), False for a local path.

    Examples
    --------
    >>> is_url("s3://bucket/a.png"), is_url("masks/a.png"), is_url("C:/x.png")
    (True, False, False)
    """
    return isinstance(path, str) and _URL.match(path) is not None


def local_path(path) -> Path | None:
    """The local :class:`~pathlib.Path` for a local path or a ``file://`` URL; else None.

    Examples
    --------
    >>> local_path("file:///tmp/a.png").as_posix(), local_path("memory://a.png")
    ('/tmp/a.png', None)
    """
    if not is_url(path):
        return Path(path)
    if path.lower().startswith("file://"):
        return Path(path[len("file://"):])
    return None


def _filesystem(url: str):
    try:
        import fsspec
    except ImportError:
        raise InvalidInputError(
            f"{url}: URLs need fsspec, which is not installed; pip install fsspec (and the "
            "filesystem's package, e.g. s3fs), or pip install 'maskkit[dask]'"
        ) from None
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise InvalidInputError(f"{url}: cannot open this URL ({exc})") from None


def join(base, *parts: str):
    """``base / part / ...`` for a path (a Path) or a URL (a str).

    Examples
    --------
    >>> join("memory://out/", "a", "b.png"), join("out", "b.png").as_posix()
    ('memory://out/a/b.png', 'out/b.png')
    """
    if is_url(base):
        return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])
    return Path(base, *parts)


def name(path) -> str:
    """The last component of a path or URL."""
    return str(path).rstrip("/").rsplit("/", 1)[-1] if is_url(path) else Path(path).name


def suffix(path) -> str:
    """The last suffix (``".png"``) of a path or URL, as written."""
    base = name(path)
    return base[base.rfind("."):] if "." in base.lstrip(".") else ""


def exists(path) -> bool:
    lp = local_path(path)
    if lp is not None:
        return lp.exists()
    fs, p = _filesystem(path)
    return fs.exists(p)


def isdir(path) -> bool:
    lp = local_path(path)
    if lp is not None:
        return lp.is_dir()
    fs, p = _filesystem(path)
    return fs.isdir(p)


def makedirs(path) -> None:
    lp = local_path(path)
    if lp is not None:
        lp.mkdir(parents=True, exist_ok=True)
        return
    fs, p = _filesystem(path)
    with contextlib.suppress(OSError, NotImplementedError):  # object stores have no folders
        fs.makedirs(p, exist_ok=True)


def remove(path) -> None:
    """Delete a file if it exists."""
    lp = local_path(path)
    if lp is not None:
        with contextlib.suppress(FileNotFoundError):
            lp.unlink()
        return
    fs, p = _filesystem(path)
    if fs.exists(p):
        fs.rm_file(p)


@contextlib.contextmanager
def open_read(path) -> Iterator[IO[bytes]]:
    """Open a file for reading bytes; a missing or unreadable file is a MaskkitIOError."""
    lp = local_path(path)
    try:
        if lp is not None:
            fh = open(lp, "rb")
        else:
            fs, p = _filesystem(path)
            fh = fs.open(p, "rb")
    except OSError as exc:
        raise MaskkitIOError(f"cannot read file: {exc.strerror or exc}", source=path) from None
    with fh:
        yield fh


def read_bytes(path) -> bytes:
    """The whole content of a file (local path or URL)."""
    with open_read(path) as fh:
        try:
            return fh.read()
        except OSError as exc:
            raise MaskkitIOError(f"cannot read file: {exc}", source=path) from None


def write_bytes(path, data: bytes) -> None:
    """Write a whole file atomically (temp + rename locally, one put for a URL)."""
    lp = local_path(path)
    if lp is not None:
        from maskkit.io.files import atomic_write

        with atomic_write(lp, "wb") as fh:
            fh.write(data)
        return
    fs, p = _filesystem(path)
    parent = p.rsplit("/", 1)[0] if "/" in p else ""
    if parent:
        with contextlib.suppress(OSError, NotImplementedError):
            fs.makedirs(parent, exist_ok=True)
    try:
        fs.pipe_file(p, bytes(data))
    except OSError as exc:
        raise MaskkitIOError(f"cannot write: {exc}", source=path) from None


class AppendLog:
    """A file that grows as work completes, so that a killed run keeps what it did.

    Locally every :meth:`write` is appended at once (unbuffered).  Object stores cannot
    append, so for a URL the whole content is rewritten (one atomic put) at most every
    ``interval`` seconds and on :meth:`close`: a killed run loses at most the last
    ``interval`` seconds of work, which ``--resume`` then redoes.

    Parameters
    ----------
    path : str or os.PathLike
        The file (local path or URL).
    keep : int, optional
        Keep the first ``keep`` bytes of an existing file and append after them (resume);
        default: start an empty file.
    """

    def __init__(self, path, *, keep: int | None = None, interval: float = 10.0):
        self.path = path
        self.local = local_path(path)
        self.interval = interval
        try:
            if self.local is not None:
                if self.local.parent != Path():
                    self.local.parent.mkdir(parents=True, exist_ok=True)
                if keep is not None and self.local.exists():
                    with open(self.local, "r+b") as fh:
                        fh.truncate(keep)
                    self.fh = open(self.local, "ab", buffering=0)
                else:
                    self.fh = open(self.local, "wb", buffering=0)
            else:
                start = read_bytes(path)[:keep] if keep and exists(path) else b""
                self.buffer = io.BytesIO()
                self.buffer.write(start)
                self.dirty = True
                self.last = time.monotonic()
        except OSError as exc:
            raise MaskkitIOError(f"cannot write: {exc.strerror or exc}", source=path) from None

    def write(self, data: bytes) -> None:
        if self.local is not None:
            self.fh.write(data)
            return
        self.buffer.write(data)
        self.dirty = True
        if time.monotonic() - self.last >= self.interval:
            self.flush()

    def flush(self) -> None:
        if self.local is None and self.dirty:
            write_bytes(self.path, self.buffer.getvalue())
            self.dirty = False
            self.last = time.monotonic()

    def close(self) -> None:
        if self.local is not None:
            self.fh.close()
        else:
            self.flush()

    def __enter__(self) -> AppendLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def fspath(path) -> str:
    """``os.fspath`` that leaves URLs alone."""
    return path if is_url(path) else os.fspath(path)
