"""Where a command's first-run time goes: seconds spent compiling each maskkit kernel.

Runs one ``maskkit`` command in this process with an empty kernel cache and prints a
Markdown table of every kernel Numba compiled (its own compile time, nested kernels
excluded, and the time including them), largest first.  Times are CPU seconds of this
process (compiling is single-threaded), so a busy machine does not inflate them; the
command's wall time is printed too.

    python benchmarks/compile_times.py count one.png --kind semantic
    python benchmarks/compile_times.py coco2sem data/sample_coco/instances.json -o /tmp/o
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ["MASKKIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="maskkit-compile-")
os.environ.setdefault("MASKKIT_QUIET_COMPILE", "1")

from numba.core import event


class _Timer(event.Listener):
    def __init__(self):
        self.stack: list[list] = []
        self.rows: dict[str, list[float]] = {}

    def on_start(self, ev):
        self.stack.append([ev.data["dispatcher"], time.process_time(), 0.0])

    def on_end(self, ev):
        disp, t0, nested = self.stack.pop()
        total = time.process_time() - t0
        name = f"{disp.py_func.__module__}.{disp.py_func.__qualname__}"
        row = self.rows.setdefault(name, [0.0, 0.0, 0])
        row[0] += total - nested
        row[1] += total
        row[2] += 1
        if self.stack:
            self.stack[-1][2] += total


def main(argv: list[str]) -> int:
    timer = _Timer()
    event.register("numba:compile", timer)
    from maskkit.cli import main as cli_main

    t0, w0 = time.process_time(), time.perf_counter()
    rc = cli_main(argv)
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    own_total = sum(r[0] for r in timer.rows.values())
    print(f"\n`maskkit {' '.join(argv)}`: {cpu:.2f} s CPU ({wall:.2f} s wall), "
          f"{own_total:.2f} s compiling {len(timer.rows)} kernels\n")
    print("| kernel | compiles | own s | incl. nested s |")
    print("|---|---:|---:|---:|")
    for name, (own, incl, n) in sorted(timer.rows.items(), key=lambda kv: -kv[1][0]):
        print(f"| `{name.removeprefix('maskkit._kernels.')}` | {n} | {own:.2f} | {incl:.2f} |")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
