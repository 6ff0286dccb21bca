"""The output contract every ``maskkit`` command keeps, in one place.

- Results go to stdout or to ``-o``; progress, warnings and summaries go to stderr
  (:func:`say`, :func:`warn`), prefixed ``maskkit <command>:``.
- Exit status: 0 done, 1 bad input (one line naming the file and the object), 2 usage,
  3 done with skipped inputs (listed), 130 interrupted (:data:`EXIT_OK` ...).
- Outputs are checked before any work (:func:`check_output_path`: a file standing where
  a folder is needed, a NUL, a name too long all give one line), locked while written
  (:func:`output_file`, :func:`output_folder`: a second writer fails at once), written
  atomically with the mode a plain ``open()`` gives under the umask, never through a
  symbolic link out of ``-o``, and never clobber each other (the jobs refuse clashing
  names with :func:`maskkit.io.fs.check_output_names` before writing anything).
- A reader that goes away (``maskkit panoptic check | head``) ends the command quietly.

Importing this module imports neither NumPy nor Numba, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from maskkit.errors import InvalidInputError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
#: Exit status of a run that skipped some inputs (``--on-error skip``), listed.
EXIT_SKIPPED = 3
EXIT_INTERRUPTED = 130


class UsageError(InvalidInputError):
    """Options that do not go together (exit status 2, as for argparse's own errors)."""


def plural(n: int, word: str, many: str | None = None) -> str:
    """``"1 image"``, ``"2 images"``.

    Examples
    --------
    >>> plural(1, "image"), plural(0, "image"), plural(2, "category", "categories")
    ('1 image', '0 images', '2 categories')
    """
    return f"{n} {word if n == 1 else (many or word + 's')}"


def say(command: str, text: str) -> None:
    """A summary or note on stderr: ``maskkit <command>: <text>`` (through
    :func:`maskkit.parallel.echo` when a batch may be showing progress).

    Examples
    --------
    >>> import contextlib, io
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     say("count", plural(1, "image") + " counted")
    >>> print(err.getvalue(), end="")
    maskkit count: 1 image counted
    """
    line = f"maskkit {command}: {text}"
    batch = sys.modules.get("maskkit.parallel")
    if batch is not None:  # a live progress bar may be on stderr: print above it
        batch.echo(line)
    else:
        print(line, file=sys.stderr, flush=True)


def warn(command: str, text: str) -> None:
    """A warning on stderr: ``maskkit <command>: warning: <text>``.

    Examples
    --------
    >>> import contextlib, io
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     warn("coco2sem", "d.json lists no images")
    >>> print(err.getvalue(), end="")
    maskkit coco2sem: warning: d.json lists no images
    """
    say(command, f"warning: {text}")


# ------------------------------------------------------------------------------ paths


def check_output_path(path, *, folder: bool = False):
    """Refuse an ``-o`` that cannot be written, before any work is done.

    Refused, with one line: a NUL in the path, a component longer than the file system
    allows, a file standing where a folder is needed (``-o afile/sub``), a folder where the
    output file should be (or a file where the output folder should be).  Creates the
    folders that are missing (the output folder itself, or the file's parent).  URLs are
    returned as given.  Returns the path (a :class:`~pathlib.Path` for a local path).

    Examples
    --------
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = open(os.path.join(d, "afile"), "w")
    >>> try:
    ...     check_output_path(os.path.join(d, "afile", "x.csv"))
    ... except OSError as exc:
    ...     print(str(exc).replace(d, "D"))
    D/afile/x.csv: cannot write: D/afile is a file, not a folder
    """
    from maskkit.errors import InvalidInputError, MaskkitIOError
    from maskkit.io import fs

    if fs.is_url(path):
        return path
    text = os.fspath(path)
    if "\0" in text:
        raise InvalidInputError(f"output path {text!r} holds a NUL character")
    p = fs.local_path(text)
    for part in p.parts:
        if len(os.fsencode(part)) > fs.NAME_MAX - fs.TEMP_EXTRA:
            raise MaskkitIOError(f"cannot write: the name {part[:40]!r}... is longer than the "
                                 f"file system allows ({fs.NAME_MAX} bytes, less "
                                 f"{fs.TEMP_EXTRA} for the temporary name)", source=text)
    probe = p if folder else p.parent
    while not os.path.lexists(probe) and probe != probe.parent:
        probe = probe.parent
    if os.path.lexists(probe) and not os.path.isdir(probe):
        raise MaskkitIOError(f"cannot write: {probe} is a file, not a folder", source=text)
    if not folder and os.path.isdir(p):
        raise MaskkitIOError("cannot write: it is a folder; give a file name", source=text)
    try:
        (p if folder else p.parent).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fs.write_error(exc, text) from None
    return p


@contextlib.contextmanager
def output_file(path) -> Iterator:
    """Check ``path`` (:func:`check_output_path`) and hold its lock while the block writes
    it.  ``None`` or ``"-"`` (stdout) is yielded as ``None`` and not locked.

    Examples
    --------
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> with output_file(os.path.join(d, "new", "c.csv")) as out:
    ...     sorted(os.listdir(out.parent))  # the lock, while the block runs
    ['.c.csv.lock']
    >>> os.listdir(os.path.join(d, "new"))
    []
    """
    from maskkit.io import fs

    if path is None or path == "-":
        yield None
        return
    path = check_output_path(path)
    with fs.OutputLock(path):
        yield path


@contextlib.contextmanager
def output_folder(path, *, bookkeeping=()) -> Iterator:
    """Check and create the output folder ``path``, hold its lock while the block writes
    into it, and first remove the temporary files a killed run left there.

    When the block fails and the folder did not exist before, a folder holding nothing
    but ``bookkeeping`` files (e.g. a resume manifest) is removed again.

    Examples
    --------
    >>> import os, tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "sem")
    >>> try:
    ...     with output_folder(out, bookkeeping={".m.jsonl"}) as folder:
    ...         _ = open(os.path.join(folder, ".m.jsonl"), "w").write("{}")
    ...         raise ValueError("a bad annotation")
    ... except ValueError:
    ...     pass
    >>> os.path.exists(out)
    False
    """
    from maskkit.io import fs

    if fs.is_url(path):
        yield path
        return
    existed = os.path.lexists(path)
    path = check_output_path(path, folder=True)
    lock = fs.OutputLock(path, folder=True)
    try:
        lock.acquire()
    except BaseException:
        if not existed:
            fs.remove_if_only(path, ())
        raise
    try:
        fs.clean_stale_temps(path)
        yield path
    except BaseException:
        lock.release()
        if not existed:
            fs.remove_if_only(path, set(bookkeeping))
        raise
    else:
        lock.release()


def output_pair(output: str) -> tuple[Path, Path]:
    """panopticapi's layout: ``-o OUT.json`` writes the JSON there and the PNGs into the
    folder ``OUT/`` (a missing ``.json`` is added)."""
    out = Path(output)
    if out.suffix != ".json":
        out = out.with_name(out.name + ".json")
    return out, out.with_suffix("")


@contextlib.contextmanager
def output_dataset(output: str, *, bookkeeping=()) -> Iterator[tuple[Path, Path]]:
    """:func:`output_pair`, both checked and locked (:func:`output_file` on the JSON,
    :func:`output_folder` on the PNG folder) while the block writes them."""
    out_json, png_dir = output_pair(output)
    with output_file(out_json), output_folder(png_dir, bookkeeping=bookkeeping):
        yield out_json, png_dir


# ------------------------------------------------------------------------------ help


class HelpFormatter(argparse.HelpFormatter):
    """Shows every option's default (unless its help already does, or it has none)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "%(default)" in text or "default" in text.lower():
            return text
        if action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        if action.nargs == 0:  # a flag (store_true, store_const): nothing to show
            return text
        return f"{text} (default: %(default)s)" if text else "default: %(default)s"


class _SubParsers(argparse._SubParsersAction):
    """Subcommands whose --help opens with a description (their one-line help)."""

    def add_parser(self, name, **kwargs):
        if "description" not in kwargs and kwargs.get("help"):
            text = kwargs["help"]
            kwargs["description"] = text[0].upper() + text[1:] + ("" if text.endswith(".")
                                                                  else ".")
        return super().add_parser(name, **kwargs)


class Parser(argparse.ArgumentParser):
    """The parser of every ``maskkit`` command: defaults shown, subcommands described."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _SubParsers)


# ------------------------------------------------------------------------------ running


def silence_stdout() -> None:
    """Point stdout at /dev/null: its reader has gone (``| head``), and Python would
    otherwise complain again when it flushes stdout at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def one_line(exc: BaseException) -> str:
    """An exception as one line (``path: reason``) for the ``error:`` message."""
    if isinstance(exc, OSError) and exc.strerror:
        where = "" if exc.filename is None else f"{os.fsdecode(exc.filename)}: "
        text = f"{where}{exc.strerror}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split("\n"))


# ------------------------------------------------------------------ row tables (count)
# A row table is CSV with a header or JSON lines, one row per (image, class): rows are
# appended as images finish, and --resume reads the table back to skip the images done.

#: How every JSON row of a table starts (its first key is the image).
JSON_ROW_START = b'{"image": '


def write_rows(sink, pending: list[bytes], output) -> bool:
    """Write and clear the pending rows; True when the reader of stdout has gone."""
    try:
        sink.write(b"".join(pending))
    except BrokenPipeError:
        return True
    except OSError as exc:
        from maskkit.io import fs

        raise fs.write_error(exc, output or "<stdout>") from None
    finally:
        pending.clear()
    return False


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_int_text(text: str) -> bool:
    return re.fullmatch(r"-?[0-9]+", text) is not None


def parse_row(raw: bytes, fmt: str, columns: tuple[str, ...]) -> str | None:
    """The image of one complete output line, or None when it is not a count row (with
    ``columns``: the four count columns, then the ``--estimate`` ones if written)."""
    text = raw.decode("utf-8", "surrogateescape")
    text = text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text
    if fmt == "jsonl":
        try:
            obj = json.loads(text)
        except ValueError:
            return None
        if not isinstance(obj, dict) or set(obj) != set(columns):
            return None
        image, cls, *numbers = (obj[k] for k in columns)
        ok = (cls is None or _is_int(cls)) and all(_is_int(v) for v in numbers)
    else:
        try:
            fields = next(csv.reader([text], strict=True))
        except (csv.Error, StopIteration):
            return None
        if len(fields) != len(columns):
            return None
        image, cls, *numbers = fields
        ok = (cls == "" or _is_int_text(cls)) and all(_is_int_text(v) for v in numbers)
    return image if ok and isinstance(image, str) and image else None


def records(fh, fmt: str):
    """The output's records as ``(first line number, bytes)``: one line each, except a CSV
    row whose quoted image name holds line ends (it spans lines until its quotes close)."""
    lineno = 0
    pending = b""
    first = 0
    for raw in fh:
        lineno += 1
        if not pending:
            first = lineno
        pending += raw
        if fmt == "csv" and pending.count(b'"') % 2 and raw.endswith(b"\n"):
            continue  # inside a quoted field: the record goes on
        yield first, pending
        pending = b""
    if pending:
        yield first, pending


def scan_rows(path, fmt: str, columns: tuple[str, ...]) -> tuple[set[str], int]:
    """Read an earlier output for --resume: (images done, byte offset to truncate to).
    ``columns`` are the columns this run writes: an output with others is refused."""
    from maskkit.errors import MaskkitIOError
    from maskkit.io import fs

    refuse = (
        "refusing to resume: it is not a maskkit count output in {fmt} format ({why}); "
        "choose another -o, or drop --resume to overwrite it"
    )
    done: set[str] = set()
    offset = keep = 0  # keep: where the last image's rows start (they are redone)
    last_image = None
    header = ",".join(columns).encode()
    with fs.open_read(path) as fh:
        for lineno, raw in records(fh, fmt):
            complete = raw.endswith(b"\n")
            if b"\0" in raw:  # what two writers at once leave; no file name holds a NUL
                why = f"line {lineno} holds NUL bytes"
                raise MaskkitIOError(refuse.format(fmt=fmt, why=why), source=path)
            if fmt == "csv" and lineno == 1:
                if complete and raw.rstrip(b"\r\n") == header:
                    offset = keep = len(raw)
                    continue
                if not complete and header.startswith(raw):
                    break  # the header itself was cut short: start over
                why = f"its first line is not {header.decode()!r}"
                raise MaskkitIOError(refuse.format(fmt=fmt, why=why), source=path)
            image = parse_row(raw, fmt, columns) if complete else None
            if image is None:
                # only a last line cut short by a killed run may be dropped
                looks_ours = fmt == "csv" or JSON_ROW_START.startswith(raw[:10])
                if complete or not looks_ours:  # (an incomplete line is always the last)
                    why = f"line {lineno} is not a count row"
                    raise MaskkitIOError(refuse.format(fmt=fmt, why=why), source=path)
                break
            if image != last_image:
                if last_image is not None:
                    done.add(last_image)
                last_image, keep = image, offset
            offset += len(raw)
    return done, keep


class StdoutSink:
    """stdout as a binary stream (``sys.stdout`` may be replaced by a text-only object)."""

    def __init__(self):
        sys.stdout.flush()
        self.buffer = getattr(sys.stdout, "buffer", None)

    def write(self, data: bytes) -> None:
        if self.buffer is not None:
            self.buffer.write(data)
            self.buffer.flush()
        else:
            sys.stdout.write(data.decode("utf-8", "surrogateescape"))
            sys.stdout.flush()

    def close(self) -> None:
        pass

