"""Run the bounds-check scripts of the test suite in ONE process (started by conftest.py).

Each script ran in a subprocess of its own before; kernels compiled with bounds checking
cannot be cached, so every subprocess compiled the kernels it shared with the others again
(about a minute of compiling in all).  Here they share one process, and therefore one
compile of each kernel, and the process runs beside the rest of the suite (conftest.py
starts it when collection ends and moves the tests that read its results to the end).

Usage: ``python tests/_boundscheck_run.py SPEC.json RESULTS.jsonl`` where SPEC is a list
of ``{"id", "script", "argv"}``; one line ``{"id", "ok", "stdout", "error"}`` is appended
to RESULTS per script as it finishes.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback


def main(spec_path: str, results_path: str) -> None:
    with open(spec_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    for entry in spec:
        out = io.StringIO()
        argv = sys.argv
        sys.argv = ["-c", *entry["argv"]]
        error = None
        try:
            with contextlib.redirect_stdout(out):
                code = compile(entry["script"], entry["id"], "exec")
                exec(code, {"__name__": "__main__"})
        except SystemExit as exc:
            if exc.code not in (None, 0):
                error = f"SystemExit({exc.code!r})"
        except BaseException:
            error = traceback.format_exc()
        finally:
            sys.argv = argv
        with open(results_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"id": entry["id"], "ok": error is None,
                                 "stdout": out.getvalue(), "error": error}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
