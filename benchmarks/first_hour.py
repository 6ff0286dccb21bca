"""What a newcomer waits for: install, first run (empty kernel cache), warm runs, tests.

Makes a fresh venv in a temporary folder, installs this checkout as README command 1 does
(``pip install .``), then times, each with an empty ``MASKKIT_CACHE_DIR`` for the first
run:

* ``maskkit coco2sem data/sample_coco/instances.json -o OUT`` (README command 1's job);
* ``maskkit count one.png`` on one 640×480 semantic PNG;
* ``maskkit --help``;

warm times are the median of 10 runs.  With ``--tests`` it also installs the test extra
(``pip install -e ".[test]"``, README command 2) and times ``pytest``.  Prints a Markdown
table for ``benchmarks/README.md``.  Run it on an idle machine::

    python benchmarks/first_hour.py [--tests]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _timed(cmd, env, cwd) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main(argv: list[str]) -> int:
    work = Path(tempfile.mkdtemp(prefix="maskkit-first-hour-"))
    src = work / "repo"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv*", "out",
                                                               "__pycache__", "*.egg-info"))
    venv = work / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    rows = []
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    rows.append(("`pip install .` (fresh venv)",
                 _timed([str(venv / "bin" / "pip"), "install", "-q", "."], env, src), None))

    png = work / "one.png"
    subprocess.run([str(venv / "bin" / "python"), "-c", f"""
import numpy as np
from PIL import Image
rng = np.random.default_rng(0)
a = np.zeros((480, 640), np.uint8)
for _ in range(30):
    y, x = rng.integers(0, 480), rng.integers(0, 640)
    a[max(0, y - 20):y + 20, max(0, x - 20):x + 20] = rng.integers(1, 5)
Image.fromarray(a).save({str(png)!r})
"""], check=True, env=env)
    jobs = {
        "`maskkit coco2sem data/sample_coco/instances.json -o OUT`":
            ["maskkit", "coco2sem", "data/sample_coco/instances.json", "-o", str(work / "o")],
        "`maskkit count one.png` (640×480)": ["maskkit", "count", str(png)],
        "`maskkit --help`": ["maskkit", "--help"],
    }
    for label, cmd in jobs.items():
        env["MASKKIT_CACHE_DIR"] = str(work / f"cache-{len(rows)}")
        first = _timed(cmd, env, src)
        warm = statistics.median(_timed(cmd, env, src) for _ in range(10))
        rows.append((label, first, warm))
    if "--tests" in argv:
        env["MASKKIT_CACHE_DIR"] = str(work / "cache-tests")
        pip = str(venv / "bin" / "pip")
        rows.append(('`pip install -e ".[test]"` (same venv)',
                     _timed([pip, "install", "-q", "-e", ".[test]"], env, src), None))
        rows.append(("`pytest` (README command 2's tests)",
                     _timed([str(venv / "bin" / "pytest"), "-q", "-p", "no:cacheprovider"],
                            env, src), None))
    print("| step | first run, s | warm, s (median of 10) |")
    print("|---|---:|---:|")
    for label, first, warm in rows:
        print(f"| {label} | {first:.2f} | {'' if warm is None else f'{warm:.2f}'} |")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
