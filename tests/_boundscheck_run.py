"""Run the bounds-check scripts of the test suite in ONE process (started by conftest.py).

Each script ran in a subprocess of its own before; kernels compiled with bounds checking
cannot be cached, so every subprocess compiled the kernels it shared with the others again
(about a minute of compiling in all).  Here they share one process, and therefore one
compile of each kernel, and the process runs beside the tests (conftest.py starts it as
soon as pytest is configured and moves the tests that read its results to the end).

Usage: ``python tests/_boundscheck_run.py RESULTS.jsonl ROOTDIR PATH...``.  The test
files under the PATHs (files or folders) that use ``pytest.mark.boundscheck`` are
imported; each marked test's script runs with its ``argv``, in file order, and one line
``{"id", "ok", "stdout", "error"}`` (``id`` the test's node id) is appended to RESULTS as
it finishes.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import sys
import traceback
from pathlib import Path


def _test_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        found = sorted(p.rglob("test_*.py")) if p.is_dir() else [p]
        files += [f for f in found if f.name.startswith("test_") and f.suffix == ".py"]
    return list(dict.fromkeys(files))


def _scripts(files: list[Path], root: Path) -> list[tuple[str, str, list[str]]]:
    """``(node id, script, argv)`` of every marked test of ``files``, in file order."""
    out = []
    for f in files:
        if "mark.boundscheck(" not in f.read_text(encoding="utf-8"):
            continue
        if str(f.parent) not in sys.path:
            sys.path.insert(0, str(f.parent))  # as pytest: siblings import each other
        module = importlib.import_module(f.stem)
        for name, fn in vars(module).items():
            if not name.startswith("test_") or not callable(fn):
                continue
            for mark in getattr(fn, "pytestmark", []):
                if mark.name == "boundscheck":
                    nodeid = f"{f.relative_to(root).as_posix()}::{name}"
                    out.append((nodeid, mark.args[0],
                                [str(a) for a in mark.kwargs.get("argv", ())]))
    return out


def main(results_path: str, rootdir: str, paths: list[str]) -> None:
    root = Path(rootdir)
    sys.path.insert(0, str(root))
    for nodeid, script, argv in _scripts(_test_files(paths), root):
        out = io.StringIO()
        saved = sys.argv
        sys.argv = ["-c", *argv]
        error = None
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(script, nodeid, "exec"), {"__name__": "__main__"})
        except SystemExit as exc:
            if exc.code not in (None, 0):
                error = f"SystemExit({exc.code!r})"
        except BaseException:
            error = traceback.format_exc()
        finally:
            sys.argv = saved
        with open(results_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"id": nodeid, "ok": error is None,
                                 "stdout": out.getvalue(), "error": error}) + "\n")
            fh.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
