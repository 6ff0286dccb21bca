"""Resume manifests: what a batch job has finished, verified by content.

A manifest is a JSON Lines file kept beside a job's outputs.  Its first line names the job
and the options the outputs depend on, ``{"<kind>_manifest": VERSION, "options": {...}}``;
every further line records one finished item, appended once that item's output file is in
place, with the sha256 of the file's bytes.  On ``--resume`` a job reads the manifest back
(:func:`read_manifest`), refuses it if the options differ, and skips the items whose file
still has the recorded content (:func:`file_matches`); everything else is done again.  A
line cut short by a kill is ignored (and overwritten), so a manifest is never corrupt.

Used by ``maskkit coco2sem`` (``.coco2sem_manifest.jsonl``) and the per-image
``maskkit panoptic`` actions.
"""

from __future__ import annotations

import hashlib
import json

from maskkit.errors import InvalidInputError
from maskkit.io import fs

__all__ = ["ManifestLog", "file_matches", "read_manifest", "sha256_file"]


def sha256_file(path) -> str | None:
    """The sha256 (hex) of a file's bytes; ``None`` when it cannot be read.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "a.bin")
    >>> _ = open(p, "wb").write(b"abc")
    >>> sha256_file(p)[:12], sha256_file(p + ".missing")
    ('ba7816bf8f01', None)
    """
    try:
        data = fs.read_bytes(path)
    except OSError:  # MaskkitIOError is an OSError too
        return None
    return hashlib.sha256(data).hexdigest()


def file_matches(path, sha256) -> bool:
    """True when ``path`` can be read and its bytes have the sha256 ``sha256``."""
    return sha256 is not None and sha256_file(path) == sha256


def read_manifest(path, kind: str, options: dict, *, key: str = "image_id",
                  version: int = 1) -> tuple[dict, int]:
    """The records of an earlier run's manifest: ``({record[key]: record}, bytes to keep)``.

    The latest record of an item wins.  A last line without its newline (cut by a kill) is
    not counted in the bytes to keep, so :class:`ManifestLog` overwrites it.

    Raises
    ------
    InvalidInputError
        The file is not a ``kind`` manifest, or was written with other ``options``.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), ".m.jsonl")
    >>> log = ManifestLog(p, "demo", {"a": 1})
    >>> log.record({"image_id": 7, "sha256": "00"})
    >>> log.close()
    >>> entries, keep = read_manifest(p, "demo", {"a": 1})
    >>> entries[7]["sha256"], keep == os.path.getsize(p)
    ('00', True)
    """
    raw = fs.read_bytes(path)
    entries: dict = {}
    keep = 0
    for lineno, line in enumerate(raw.split(b"\n")[:-1], start=1):  # [-1]: cut or empty
        try:
            rec = json.loads(line)
        except ValueError:
            raise InvalidInputError(f"line {lineno} is not a manifest record; drop --resume "
                                    "to start over", source=path) from None
        if lineno == 1:
            if not isinstance(rec, dict) or rec.get(f"{kind}_manifest") != version:
                raise InvalidInputError(f"is not a {kind} manifest; drop --resume to start "
                                        "over", source=path)
            if rec.get("options") != options:
                raise InvalidInputError(
                    f"the earlier run used other options ({rec.get('options')}; now "
                    f"{options}); drop --resume to start over, or resume with the same options",
                    source=path)
        else:
            if not isinstance(rec, dict) or key not in rec:
                raise InvalidInputError(f"line {lineno} is not a manifest record; drop "
                                        "--resume to start over", source=path)
            entries[rec[key]] = rec
        keep += len(line) + 1
    return entries, keep


class ManifestLog:
    """Append records to a manifest as items finish (see :class:`maskkit.io.fs.AppendLog`).

    Parameters
    ----------
    path : str or os.PathLike
        The manifest (local path or URL).
    kind, options, version
        Written as the first line when a new manifest is started.
    keep : int, optional
        From :func:`read_manifest`: keep that many bytes of the existing manifest and
        append after them.  ``None`` or ``0``: start a new manifest.
    """

    def __init__(self, path, kind: str, options: dict, *, keep: int | None = None,
                 version: int = 1):
        self.log = fs.AppendLog(path, keep=keep or None)
        if not keep:
            try:
                self.record({f"{kind}_manifest": version, "options": options})
            except BaseException:
                self.log.close()
                raise

    def record(self, rec: dict) -> None:
        """Append one record (one line)."""
        self.log.write((json.dumps(rec) + "\n").encode())

    def close(self) -> None:
        self.log.close()

    def __enter__(self) -> ManifestLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
