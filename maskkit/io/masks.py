"""Reading label masks from files: PNG (8/16-bit grey or palette), TIFF label images, ``.npy``.

:func:`read_mask` picks a reader from :data:`READERS` by file suffix; a new format plugs
in by adding one entry (``READERS[".json"] = read_coco_counts`` ...).  :func:`expand_inputs`
turns what a user typed on the command line (files, directories, glob patterns) into the
list of files to read.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from maskkit.errors import ImageTooLargeError, MaskkitError, MaskkitIOError
from maskkit.limits import check_bytes, check_image_size

__all__ = ["READERS", "check_tiff_page", "expand_inputs", "quiet_tiff_readers", "read_mask"]


def _read_png_mask(path: Path) -> np.ndarray:
    from maskkit.io.png import read_png

    mask = read_png(path)  # a PNG too large for Pillow is an ImageTooLargeError
    if mask.ndim == 3:
        channels = {2: "grey + alpha", 3: "RGB", 4: "RGBA"}.get(mask.shape[2], "multi-channel")
        raise MaskkitIOError(
            f"is a {channels} colour PNG, not a label image (grey or palette); for a panoptic "
            "PNG use --kind panoptic, otherwise convert it to a palette or greyscale label PNG",
            source=path,
        )
    return mask


class quiet_tiff_readers:
    """Context manager: keep tifffile's and GDAL's (rasterio's) log lines and warnings
    about a corrupt TIFF off the user's terminal while one file is read; the error maskkit
    raises says it all.  Levels and filters are restored on exit.

    Examples
    --------
    >>> with quiet_tiff_readers():
    ...     pass
    """

    _LOGGERS = ("tifffile", "rasterio", "rasterio._env", "rasterio._err", "rasterio._base")

    def __enter__(self):
        import warnings

        self._levels = []
        for name in self._LOGGERS:
            logger = logging.getLogger(name)
            self._levels.append((logger, logger.level))
            logger.setLevel(logging.CRITICAL + 1)
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("ignore")
        return self

    def __exit__(self, *exc):
        self._warnings.__exit__(*exc)
        for logger, level in self._levels:
            logger.setLevel(level)
        return False


def check_tiff_page(page, *, source=None) -> tuple[int, int]:
    """Check a tifffile page before decoding it; return its ``(height, width)``.

    Refuses, from the declared tags alone, a page above :func:`maskkit.get_max_pixels`
    and a read whose buffers (the decoded page plus one decoded strip or tile per decoding
    thread) exceed :func:`maskkit.get_max_bytes`.  Raises
    :class:`~maskkit.errors.MaskkitIOError` for a page that is not one 2-D channel.
    """
    shape = tuple(page.shape)
    if len(shape) == 3 and shape[2] == 1:  # (H, W, 1): one contiguous sample
        plane = shape[:2]
    elif len(shape) == 3 and shape[0] == 1:  # (1, H, W): one separate sample plane
        plane = shape[1:]
    else:
        plane = shape
    if len(plane) != 2:
        raise MaskkitIOError(
            f"TIFF label images must be 2-D with one channel; the first page has "
            f"shape {shape} (an RGB image? convert it to a single-channel label image)",
            source=source,
        )
    h, w = check_image_size(plane[0], plane[1], source=source)
    dtype = page.dtype
    if dtype is None:
        raise MaskkitIOError("not a readable TIFF (unsupported sample format or bit depth)",
                             source=source)
    item = np.dtype(dtype).itemsize
    chunk = 1
    for v in tuple(page.chunks):
        chunk *= int(v)
    n_chunks = max(1, len(page.dataoffsets))
    threads = min(n_chunks, os.cpu_count() or 1)
    check_bytes(h * w * item + chunk * item * threads,
                f"a {h}×{w} {np.dtype(dtype).name} TIFF page (strips/tiles of "
                f"{'×'.join(str(int(v)) for v in page.chunks)} pixels)", source=source)
    return h, w


def _read_tiff_mask(path: Path) -> np.ndarray:
    import tifffile

    quiet = quiet_tiff_readers().__enter__()
    try:
        with tifffile.TiffFile(path) as tif:
            if not tif.pages:
                raise MaskkitIOError("not a readable TIFF (no image in the file)", source=path)
            plane = check_tiff_page(tif.pages[0], source=path)
            mask = tif.pages[0].asarray()
    except MaskkitError:
        raise
    except FileNotFoundError:
        raise MaskkitIOError("file not found", source=path) from None
    except MemoryError:
        raise ImageTooLargeError("not enough memory to decode this TIFF", source=path) from None
    except Exception as exc:  # tifffile raises many types on corrupt input
        raise MaskkitIOError(
            f"not a readable TIFF ({type(exc).__name__}: {exc})", source=path
        ) from None
    finally:
        quiet.__exit__(None, None, None)
    if mask.size != plane[0] * plane[1]:
        raise MaskkitIOError(
            f"truncated TIFF: the first page declares {plane[0]}×{plane[1]} pixels but "
            f"holds {mask.size}", source=path,
        )
    return _label_array(mask.reshape(plane), path)


def _read_npy_mask(path: Path) -> np.ndarray:
    try:
        # mmap: a large array is paged in as it is counted, not copied into memory first
        mask = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise MaskkitIOError("file not found", source=path) from None
    except MemoryError:
        raise ImageTooLargeError("not enough memory to read this array", source=path) from None
    except Exception as exc:  # a corrupt header fails in numpy's parser with many types
        raise MaskkitIOError(
            f"not a readable .npy array ({type(exc).__name__}: {exc})", source=path
        ) from None
    if not isinstance(mask, np.ndarray):
        raise MaskkitIOError("holds no single array (is it an .npz archive?)", source=path)
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[:, :, 0]
    if mask.ndim >= 2:  # memory-mapped, but counting allocates labels of the same size
        rest = 1
        for v in mask.shape[1:]:
            rest *= int(v)
        h, w = check_image_size(mask.shape[0], rest, source=path)
        # memory-mapped (numpy has checked the file holds every declared byte), but the
        # pages count once the array is read
        check_bytes(h * w * mask.dtype.itemsize,
                    f"a {'×'.join(map(str, mask.shape))} {mask.dtype} array", source=path)
    return _label_array(mask, path)


def _label_array(mask: np.ndarray, path: Path) -> np.ndarray:
    if mask.dtype.kind not in "biu":
        raise MaskkitIOError(
            f"holds {mask.dtype} values; label masks must be integer or bool "
            "(convert with arr.astype(np.int32) if the values are whole numbers)",
            source=path,
        )
    return mask


#: Mask readers by lower-case file suffix: ``reader(path: Path) -> np.ndarray``.  A reader
#: raises :class:`~maskkit.errors.MaskkitIOError` naming the file for anything unreadable.
#: Multi-part suffixes (``".nii.gz"``) work: the longest matching suffix wins.
READERS: dict[str, Callable[[Path], np.ndarray]] = {
    ".png": _read_png_mask,
    ".tif": _read_tiff_mask,
    ".tiff": _read_tiff_mask,
    ".npy": _read_npy_mask,
}


def _reader_for(path: Path, suffixes: Iterable[str]) -> str | None:
    return _known_suffix(path.name, suffixes)


def _known_suffix(name: str, suffixes: Iterable[str]) -> str | None:
    """The longest of ``suffixes`` that the file ``name`` ends with (case-insensitive)."""
    name = name.lower()
    matches = [s for s in suffixes if name.endswith(s) and len(name) > len(s)]
    return max(matches, key=len) if matches else None


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a label mask from a file, choosing the reader by suffix (see :data:`READERS`).

    Parameters
    ----------
    path : str or os.PathLike
        A ``.png`` (8/16-bit greyscale or palette), ``.tif``/``.tiff`` (first page, one
        channel) or ``.npy`` file; or an fsspec URL of one.

    Returns
    -------
    numpy.ndarray
        The labels: palette indices for a palette PNG, grey values for a greyscale PNG
        (uint8 or uint16), the stored dtype for TIFF and ``.npy`` (a read-only memory map
        for ``.npy``).  A trailing single channel is squeezed away.

    Raises
    ------
    MaskkitIOError
        For a missing, empty, truncated or corrupt file, an unknown suffix, a colour PNG, or
        a non-integer array; the message names the file.
    ImageTooLargeError
        For an image above :func:`maskkit.get_max_pixels`, or one whose read would
        allocate more than :func:`maskkit.get_max_bytes` (checked from the header).

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from maskkit.io.masks import read_mask
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "mask.npy"
    >>> np.save(path, np.array([[0, 1], [2, 2]], dtype=np.uint8))
    >>> read_mask(path)
    memmap([[0, 1],
            [2, 2]], dtype=uint8)
    >>> read_mask(path.with_suffix(".jpg"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    maskkit.errors.MaskkitIOError: .../mask.jpg: unknown mask format; maskkit reads .npy, ...
    """
    from maskkit.io import fs

    if fs.is_url(path):
        local = fs.local_path(path)
        if local is None:
            return _read_remote_mask(path)
        path = local
    path = Path(path)
    suffix = _reader_for(path, READERS)
    if suffix is None:
        raise MaskkitIOError(
            f"unknown mask format; maskkit reads {', '.join(sorted(READERS))} files", source=path
        )
    if path.is_dir():
        raise MaskkitIOError("is a directory, not a mask file", source=path)
    try:
        if path.stat().st_size == 0:
            raise MaskkitIOError("file is empty", source=path)
    except FileNotFoundError:
        raise MaskkitIOError("file not found", source=path) from None
    except OSError as exc:
        raise MaskkitIOError(f"cannot read file: {exc.strerror or exc}", source=path) from None
    return READERS[suffix](path)


def _read_remote_mask(url: str) -> np.ndarray:
    """Read a mask at an fsspec URL: fetch it into a temporary file, read that, and name
    the URL (not the temporary file) in any error."""
    import tempfile

    from maskkit.io import fs

    suffix = _reader_for(Path(fs.name(url)), READERS)
    if suffix is None:
        raise MaskkitIOError(
            f"unknown mask format; maskkit reads {', '.join(sorted(READERS))} files", source=url
        )
    data = fs.read_bytes(url)
    if not data:
        raise MaskkitIOError("file is empty", source=url)
    with tempfile.TemporaryDirectory(prefix="maskkit-") as tmp:
        path = Path(tmp, "mask" + suffix)
        path.write_bytes(data)
        try:
            return np.array(READERS[suffix](path))  # a copy: the file goes away
        except MaskkitError as exc:
            exc.source = url
            exc.reason = exc.reason.replace(str(path), url)
            exc.args = (str(exc),)
            raise


def _expand_url(text: str, known: tuple[str, ...]) -> list[str]:
    from maskkit.io import fs

    filesystem, root = fs.filesystem(text)

    def as_url(p: str) -> str:
        if p.startswith(root.rstrip("/") + "/"):  # under a folder: keep the URL as typed
            return text.rstrip("/") + p[len(root.rstrip("/")):]
        return p if fs.is_url(p) else filesystem.unstrip_protocol(p)

    def masks(paths) -> list[str]:
        keep = []
        depth = len(root.rstrip("/").split("/"))
        for p in paths:
            parts = p.rstrip("/").split("/")
            if parts[-1].startswith(".") or any(x.startswith(".") for x in parts[depth:]):
                continue  # hidden entries, as for local folders and globs
            if _reader_for(Path(parts[-1]), known):
                keep.append(as_url(p))
        return sorted(keep)

    if filesystem.isdir(root):
        files = masks(filesystem.find(root))
        if not files:
            raise MaskkitIOError(
                f"directory holds no mask files ({', '.join(sorted(known))})", source=text
            )
        return files
    if filesystem.exists(root):
        return [text]
    if _has_magic(text):
        files = masks(filesystem.glob(root))
        if not files:
            raise MaskkitIOError(
                f"the pattern matches no mask file ({', '.join(sorted(known))})", source=text
            )
        return files
    raise MaskkitIOError("no such file or directory", source=text)


def _has_magic(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _mask_files_under(directory: Path, suffixes: Iterable[str], as_text: bool = False) -> list:
    suffixes = tuple(suffixes)
    found = []
    for root, dirs, files in os.walk(directory):
        # hidden entries are version-control folders, temporary files of atomic writes and
        # macOS "._name.png" resource forks: never masks
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        base = Path(root)
        parts = base.parts
        # str(base / name) for any plain name, without making a Path per file
        prefix = str(base / "x")[:-1]
        found.extend(((*parts, f), prefix, f) for f in files
                     if not f.startswith(".") and _known_suffix(f, suffixes))
    # the order of sorted Paths (by their parts), without comparing Path objects
    found.sort(key=lambda entry: entry[0])
    if as_text:
        return [prefix + f for _, prefix, f in found]
    return [Path(prefix + f) for _, prefix, f in found]


def expand_inputs(
    paths: Iterable[str | os.PathLike],
    *,
    suffixes: Iterable[str] | None = None,
    as_text: bool = False,
) -> list:
    """Expand files, directories and glob patterns into the list of mask files to read.

    Parameters
    ----------
    paths : iterable of str or os.PathLike
        Each one is a file (kept as given, whatever its suffix, so that a wrong file gets a
        clear error when read), a directory (searched recursively for files with a known
        suffix, skipping hidden files and folders, sorted) or a glob pattern (``*``, ``?``,
        ``[...]``, and ``**`` for any depth; matching files with a known suffix, sorted).
    suffixes : iterable of str, optional
        The known suffixes; the keys of :data:`READERS` by default.
    as_text : bool, default False
        Return every path as ``str(path)`` (cheaper for long lists, and what travels to
        worker processes fastest).

    Returns
    -------
    list of pathlib.Path (or str for fsspec URLs, and for every path with ``as_text``)
        In the order given, each file once.  Paths stay as given (relative stays relative);
        a URL (``s3://bucket/masks/``, ``memory://...``) is expanded with fsspec and its
        files come back as URL strings.

    Raises
    ------
    MaskkitIOError
        For a path that does not exist, a directory with no mask files, or a pattern that
        matches no mask file; the message names it.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from maskkit.io.masks import expand_inputs
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ["b.png", "a.npy", "sub/c.tif", "notes.txt"]:
    ...     (root / name).parent.mkdir(exist_ok=True)
    ...     (root / name).touch()
    >>> [p.relative_to(root).as_posix() for p in expand_inputs([root])]
    ['a.npy', 'b.png', 'sub/c.tif']
    >>> [p.name for p in expand_inputs([f"{root}/*.png", root / "notes.txt"])]
    ['b.png', 'notes.txt']
    """
    known = tuple(s.lower() for s in (READERS if suffixes is None else suffixes))
    from maskkit.io import fs

    out: dict[Path | str, None] = {}
    for raw in paths:
        text = os.fspath(raw)
        if fs.is_url(text):  # fsspec URLs stay strings (``Path`` would mangle ``//``)
            out.update(dict.fromkeys(_expand_url(text, known)))
            continue
        path = Path(text)
        if path.is_dir():
            files = _mask_files_under(path, known, as_text)
            if not files:
                raise MaskkitIOError(
                    f"directory holds no mask files ({', '.join(sorted(known))})", source=text
                )
        elif path.exists():
            files = [str(path) if as_text else path]
        elif _has_magic(text):
            matches = sorted(glob.glob(text, recursive=True))
            files = []
            for match in map(Path, matches):
                if match.is_dir():
                    files.extend(_mask_files_under(match, known, as_text))
                elif _reader_for(match, known):
                    files.append(str(match) if as_text else match)
            if not files:
                what = f"{len(matches)} paths but no mask file" if matches else "nothing"
                raise MaskkitIOError(
                    f"the pattern matches {what} ({', '.join(sorted(known))})", source=text
                )
        else:
            raise MaskkitIOError("no such file or directory", source=text)
        out.update(dict.fromkeys(files))
    return list(out)


def label_png_rows(path):
    """The inflated, still filtered rows of a local 8-bit grey or palette PNG mask, or None
    for any other file, a URL, or a file that cannot be read (:func:`read_mask` then says
    why).  Counting from the filtered rows (:func:`maskkit.count_file`) skips decoding.

    Returns
    -------
    tuple or None
        What :func:`maskkit.io.png.inflate_label_png` returns for the file.
    """
    from maskkit.io import fs, png

    local = fs.local_path(path)
    if local is None:
        return None
    name = str(local)
    if READERS.get(_known_suffix(name, READERS)) is not _read_png_mask:
        return None
    try:
        data = png.read_file_bytes(name, source=path)
    except MaskkitIOError:
        return None
    return png.inflate_label_png(path, data)


def write_labels(path, labels: np.ndarray) -> Path:
    """Write an instance label image atomically; returns the path written.

    A 2-D image whose ids fit 16 bits goes to ``path`` as a grey PNG (8-bit when they fit
    255) when ``path`` ends in ``.png``; anything else (``.tif``, more than 65535 ids, 3-D)
    becomes a zlib-compressed uint16/uint32 TIFF beside it (``path`` with ``.tif``).
    """
    import io

    import tifffile

    from maskkit.io import fs
    from maskkit.io.png import write_label_png

    path = Path(path)
    n = int(labels.max()) if labels.size else 0
    if path.suffix == ".png" and n <= 65535 and labels.ndim == 2:
        write_label_png(path, labels)
        return path
    path = path.with_suffix(".tif")
    buf = io.BytesIO()
    tifffile.imwrite(buf, labels.astype(np.uint16 if n <= 65535 else np.uint32),
                     compression="zlib")
    fs.write_bytes(path, buf.getvalue())
    return path
