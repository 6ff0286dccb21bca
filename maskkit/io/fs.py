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
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from maskkit.errors import InvalidInputError, MaskkitIOError

__all__ = [
    "AppendLog", "OutputLock", "check_output_name", "check_output_names",
    "clean_stale_temps", "exists", "file_mode", "inside", "is_url", "isdir", "join",
    "local_path", "makedirs", "name", "open_read", "read_bytes", "remove",
    "remove_if_only", "suffix", "write_bytes", "write_error",
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


def filesystem(url: str):
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
    fs, p = filesystem(path)
    return fs.exists(p)


def isdir(path) -> bool:
    lp = local_path(path)
    if lp is not None:
        return lp.is_dir()
    fs, p = filesystem(path)
    return fs.isdir(p)


def makedirs(path) -> None:
    lp = local_path(path)
    if lp is not None:
        lp.mkdir(parents=True, exist_ok=True)
        return
    fs, p = filesystem(path)
    with contextlib.suppress(OSError, NotImplementedError):  # object stores have no folders
        fs.makedirs(p, exist_ok=True)


def remove(path) -> None:
    """Delete a file if it exists."""
    lp = local_path(path)
    if lp is not None:
        with contextlib.suppress(FileNotFoundError):
            lp.unlink()
        return
    fs, p = filesystem(path)
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
            fs, p = filesystem(path)
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

@contextlib.contextmanager
def atomic_path(path, *, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary file name beside the local ``path``, renamed over ``path`` only when the
    block ends without error: for writers that want a file name (rasterio, tifffile).

    The one place maskkit makes a file appear whole: a reader (or a resumed run) never sees
    a half-written file.  If the block raises, or the process is killed, ``path`` is
    untouched and the temporary file is removed (or, after SIGKILL, left as
    ``.<name>.*.tmp``, which no reader picks up and :func:`clean_stale_temps` removes).
    The file gets the mode a plain ``open()`` would give (:func:`file_mode`), and an
    ``OSError`` (ENOSPC, EISDIR ...) becomes one line naming ``path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise write_error(exc, path) from None
    try:
        yield Path(tmp)
        # mkstemp makes the file 0600; a plain open() would honour the umask (0644 under
        # 022): the outputs are for the team
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, MaskkitIOError):
            raise write_error(exc, path) from None
        raise


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb") -> Iterator[IO]:
    """Open a file object that becomes ``path`` only on success (see :func:`atomic_path`);
    its data is flushed to disk before the rename.

    ``path`` may also be an fsspec URL: the content is then collected in memory and put in
    one request when the block ends without error.
    """
    local = local_path(path)
    if local is None:
        buffer = io.BytesIO() if "b" in mode else io.StringIO()
        yield buffer
        data = buffer.getvalue()
        write_bytes(path, data if isinstance(data, bytes) else data.encode("utf-8"))
        return
    with atomic_path(local) as tmp, open(tmp, mode) as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())



def write_bytes(path, data: bytes) -> None:
    """Write a whole file atomically (temp + rename locally, one put for a URL)."""
    lp = local_path(path)
    if lp is not None:

        with atomic_write(lp, "wb") as fh:
            fh.write(data)
        return
    fs, p = filesystem(path)
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


# ---------------------------------------------------------------------------------------
# output safety: permissions, names, symlinks, locks, leftovers

#: The longest file name (bytes) most file systems take (``NAME_MAX``).
NAME_MAX = 255
#: What an atomic write adds to a name for its temporary file: ``.NAME.xxxxxxxx.tmp``.
TEMP_EXTRA = len("..xxxxxxxx.tmp")
#: Temporary files of atomic writes (``tempfile.mkstemp`` names: 8 of ``[a-z0-9_]``).
_STALE_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp(\.tif)?$")

def _read_umask() -> int:
    # /proc/self/status shows it without changing it; os.umask can only read it by setting
    # it, which races with other threads creating files
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    value = os.umask(0o022)
    os.umask(value)
    return value


def file_mode() -> int:
    """The permission bits a plain ``open(path, "w")`` gives a new file: ``0o666`` less the
    process umask (``0o644`` under umask 022), read afresh each call.

    Atomic writes create their temporary file with ``0o600``; they set this mode before
    the rename so the team can read the outputs as they could any other file.

    Examples
    --------
    >>> oct(file_mode() & 0o600)
    '0o600'
    """
    return 0o666 & ~_read_umask()


def check_output_name(rel: str, *, source=None, obj=None) -> str:
    """Refuse an output name (relative to the output folder) that cannot be written safely.

    Refused: an empty name, a NUL character, an absolute path, ``..``, and a component
    longer than :data:`NAME_MAX` bytes less the temporary-name suffix of atomic writes.
    Returns ``rel`` with ``\\`` turned into ``/``.

    Raises
    ------
    InvalidInputError
        Naming ``source`` (the input file) and ``obj`` (e.g. the image).

    Examples
    --------
    >>> check_output_name("train\\\\a.png")
    'train/a.png'
    >>> check_output_name("a\\x00.png", obj="image 3")
    Traceback (most recent call last):
    ...
    maskkit.errors.InvalidInputError: image 3: output name 'a\\x00.png' holds a NUL character
    """
    from pathlib import PurePosixPath

    text = str(rel).replace("\\", "/")
    if "\0" in text:
        raise InvalidInputError(f"output name {text!r} holds a NUL character",
                                source=source, obj=obj)
    p = PurePosixPath(text)
    if not text or p.is_absolute() or ".." in p.parts or not p.name:
        raise InvalidInputError(f"output name {text!r} would be written outside the output "
                                "folder", source=source, obj=obj)
    limit = NAME_MAX - TEMP_EXTRA
    for part in p.parts:
        size = len(part.encode("utf-8", "surrogateescape"))
        if size > limit:
            raise InvalidInputError(
                f"output name {text!r} has a component of {size} bytes; at most {limit} "
                f"can be written ({NAME_MAX}, the file system's limit, less "
                f"{TEMP_EXTRA} for the temporary name)", source=source, obj=obj)
    return text


def check_output_names(entries, *, reserved: dict | None = None, source=None) -> None:
    """Refuse, before anything is written, output names that would overwrite each other.

    ``entries`` is an iterable of ``(name, who)``: a name relative to the output folder
    (``/``-separated) and who writes it (``"image 3 (file_name 'x.jpg')"``).  Refused: two
    inputs writing one name, a name that another needs as a folder (``a.png`` beside
    ``a.png/b.png``), and a name in ``reserved`` (``{name: what it is}``, the job's own
    files).  The message names both inputs.

    Examples
    --------
    >>> check_output_names([("a.png", "image 1"), ("b.png", "image 2")])
    >>> check_output_names([("x.png", "image 1 ('x.jpg')"), ("x.png", "image 2 ('x.png')")])
    Traceback (most recent call last):
    ...
    maskkit.errors.InvalidInputError: image 1 ('x.jpg') and image 2 ('x.png') would both be written to x.png; rename one of them (nothing was written)
    """
    reserved = reserved or {}
    files: dict[str, str] = {}
    folders: dict[str, str] = {}
    for rel, who in entries:
        if rel in reserved:
            raise InvalidInputError(
                f"{who} would be written to {rel}, which is {reserved[rel]}; rename it "
                "(nothing was written)", source=source)
        other = files.get(rel)
        if other is not None:
            raise InvalidInputError(
                f"{other} and {who} would both be written to {rel}; rename one of them "
                "(nothing was written)", source=source)
        other = folders.get(rel)
        if other is not None:
            raise InvalidInputError(
                f"{who} would be written to the file {rel}, which {other} needs as a "
                "folder; rename one of them (nothing was written)", source=source)
        parts = rel.split("/")
        for k in range(1, len(parts)):
            folder = "/".join(parts[:k])
            other = files.get(folder)
            if other is not None:
                raise InvalidInputError(
                    f"{who} needs {folder} as a folder, but {other} would be written to the "
                    f"file {folder}; rename one of them (nothing was written)", source=source)
            folders.setdefault(folder, who)
        files[rel] = who


def inside(root, rel: str):
    """``root / rel``, refusing a path that leaves ``root`` through a symbolic link.

    A link already in the output folder (``out/sub -> ../../elsewhere``) would otherwise
    carry a write out of ``-o``.  The file itself may be a link: an atomic write replaces
    the link, it does not write through it.  URLs have no links and are joined as given.

    Examples
    --------
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> inside(root, "a/b.png").relative_to(root).as_posix()
    'a/b.png'
    """
    if is_url(root):
        return join(root, rel)
    root = Path(root)
    target = root / rel
    parent = target.parent
    if parent == root:
        return target
    # the deepest folder of the path that exists already; mkdir creates the rest for real
    probe = parent
    while probe != root and not os.path.lexists(probe):
        probe = probe.parent
    if probe == root:
        return target
    real_root = os.path.realpath(root)
    real = os.path.realpath(probe)
    if os.path.commonpath([real_root, real]) != real_root:
        raise MaskkitIOError(
            f"{probe} leads to {real}, outside the output folder (a symbolic link); refusing "
            "to write through it", source=target)
    return target


class OutputLock:
    """An exclusive lock on an output file or folder, so a second writer fails at once.

    The lock is ``fcntl.flock`` on a hidden lock file: ``.NAME.lock`` beside an output file,
    ``.maskkit.lock`` inside an output folder.  The kernel drops it when the process dies,
    so a killed run never leaves a stale lock; the file is removed on release.  URLs and
    systems without ``fcntl`` are not locked.

    Parameters
    ----------
    path : str or os.PathLike
        The output file or folder.
    folder : bool
        ``path`` is a folder (created if missing).

    Raises
    ------
    MaskkitIOError
        Another process holds the lock.

    Examples
    --------
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> with OutputLock(os.path.join(d, "c.csv")):
    ...     try:
    ...         OutputLock(os.path.join(d, "c.csv")).acquire()
    ...     except OSError as exc:
    ...         print(str(exc).replace(d, "D"))
    D/c.csv: another maskkit run is writing it (lock D/.c.csv.lock); wait for it to finish or choose another output
    """

    def __init__(self, path, *, folder: bool = False):
        self.path = path
        local = local_path(path)
        if local is None:
            self.lockfile = None
        elif folder:
            self.lockfile = local / ".maskkit.lock"
        else:
            self.lockfile = local.parent / f".{local.name}.lock"
        self.fd: int | None = None

    def acquire(self) -> OutputLock:
        if self.lockfile is None:
            return self
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on POSIX
            return self
        try:
            self.lockfile.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MaskkitIOError(f"cannot create the output folder: {exc.strerror or exc}",
                                 source=self.lockfile.parent) from None
        while True:
            try:
                fd = os.open(self.lockfile, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as exc:
                raise MaskkitIOError(f"cannot write: {exc.strerror or exc}",
                                     source=self.path) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise MaskkitIOError(
                    f"another maskkit run is writing it (lock {self.lockfile}); wait for it "
                    "to finish or choose another output", source=self.path) from None
            # the holder before us may have removed the file between our open and flock:
            # then we hold a lock nobody else can see, so take the new file's instead
            try:
                same = os.stat(self.lockfile).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
                    os.write(fd, f"{os.getpid()}\n".encode())
                return self
            os.close(fd)

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.lockfile)
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def clean_stale_temps(folder, *, name: str | None = None, recursive: bool = True) -> int:
    """Remove the temporary files that killed atomic writes left in ``folder``.

    Only names of the form ``.NAME.xxxxxxxx.tmp`` (what :func:`maskkit.io.fs.atomic_write`
    creates) are removed, and only ``.name.*.tmp`` when ``name`` is given.  Call it while
    holding the folder's :class:`OutputLock`, when no other writer can be at work.  Returns
    how many files were removed.  Does nothing for a URL.

    Examples
    --------
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = open(os.path.join(d, ".a.png.k3j_9xq2.tmp"), "w"), open(os.path.join(d, "a.png"), "w")
    >>> clean_stale_temps(d), sorted(os.listdir(d))
    (1, ['a.png'])
    """
    local = local_path(folder)
    if local is None or not local.is_dir():
        return 0
    removed = 0
    for top, _dirs, files in os.walk(local):
        for f in files:
            if _STALE_TEMP.match(f) and (name is None or f.startswith(f".{name}.")):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(top, f))
                    removed += 1
        if not recursive:
            break
    return removed


def remove_if_only(folder, names) -> bool:
    """Remove ``folder`` when it holds nothing but files from ``names`` (a job's own
    bookkeeping, e.g. a manifest after a run that failed before writing anything).
    Returns True when the folder was removed.

    Examples
    --------
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = open(os.path.join(d, ".m.jsonl"), "w")
    >>> remove_if_only(d, {".m.jsonl"}), os.path.exists(d)
    (True, False)
    """
    local = local_path(folder)
    if local is None or not local.is_dir():
        return False
    try:
        entries = os.listdir(local)
    except OSError:
        return False
    if any(e not in names for e in entries):
        return False
    try:
        for e in entries:
            os.unlink(local / e)
        local.rmdir()
    except OSError:
        return False
    return True


def write_error(exc: OSError, path) -> MaskkitIOError:
    """A one-line :class:`~maskkit.errors.MaskkitIOError` for an ``OSError`` met while
    writing ``path`` (ENOSPC, ENAMETOOLONG, a file where a folder should be, ...).

    Examples
    --------
    >>> import errno
    >>> str(write_error(OSError(errno.ENOSPC, "No space left on device"), "out/a.png"))
    'out/a.png: cannot write: No space left on device'
    """
    if isinstance(exc, MaskkitIOError):
        return exc
    what = exc.strerror or str(exc)
    where = exc.filename
    if where is not None and os.fspath(where) != fspath(path):
        what = f"{what} ({os.fsdecode(where)})"
    if isinstance(exc, NotADirectoryError) or (exc.errno == 17 and where is not None
                                               and os.path.isfile(where)):
        what += "; a file stands where a folder is needed"
    return MaskkitIOError(f"cannot write: {what}", source=fspath(path))
