"""What the issue-17 PNG checks cost: ``read_png`` now vs ``read_png`` of a git revision.

Both readers run in one process, interleaved round by round on the same files (the
revision's ``maskkit/io/png.py`` is loaded from ``git show``; the Numba kernels are
shared), so the noise of a shared machine hits both alike.  Prints the best and the median
round of each and their ratio.

Run::

    python benchmarks/png_check_overhead.py [REV] [N_IMAGES] [ROUNDS]   # 0abd104 300 15
"""

from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def _masks(folder: Path, n: int) -> list[Path]:
    # the masks of bench_count.py: a few classes of overlapping disks, 640×480
    from PIL import Image

    h, w = 480, 640
    rng = np.random.default_rng(640)
    yy, xx = np.mgrid[:h, :w]
    paths = []
    for i in range(n):
        mask = np.zeros((h, w), np.uint8)
        for _ in range(int(rng.integers(5, 31))):
            cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(5, 61)
            y0, y1, x0, x1 = max(cy - r, 0), min(cy + r, h), max(cx - r, 0), min(cx + r, w)
            inside = (yy[y0:y1, x0:x1] - cy) ** 2 + (xx[y0:y1, x0:x1] - cx) ** 2 < r * r
            mask[y0:y1, x0:x1][inside] = rng.integers(1, 8)
        path = folder / f"{i:04d}.png"
        Image.fromarray(mask).save(path)
        paths.append(path)
    return paths


def _old_module(rev: str, folder: Path):
    src = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:maskkit/io/png.py"],
                         check=True, capture_output=True, text=True).stdout
    path = folder / "png_old.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("png_old", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> None:
    rev = argv[1] if len(argv) > 1 else "0abd104"
    n = int(argv[2]) if len(argv) > 2 else 300
    rounds = int(argv[3]) if len(argv) > 3 else 15
    from maskkit.io import png as new

    with tempfile.TemporaryDirectory() as tmp:
        paths = _masks(Path(tmp), n)
        old = _old_module(rev, Path(tmp))
        times = {"old": [], "new": []}
        for reader in (old, new):  # compile and warm the file cache
            for p in paths[:5]:
                reader.read_png(p)
        for _ in range(rounds):
            for name, reader in (("old", old), ("new", new)):
                t = time.perf_counter()
                for p in paths:
                    reader.read_png(p)
                times[name].append(time.perf_counter() - t)
        for p in paths[:20]:
            np.testing.assert_array_equal(old.read_png(p), new.read_png(p))
    for name in ("old", "new"):
        print(f"{name} ({rev if name == 'old' else 'HEAD'}): best {min(times[name]) * 1e3:.1f} ms, "
              f"median {statistics.median(times[name]) * 1e3:.1f} ms for {n} PNGs")
    print(f"new / old: best {min(times['new']) / min(times['old']):.3f}, "
          f"median {statistics.median(times['new']) / statistics.median(times['old']):.3f}")


if __name__ == "__main__":
    main(sys.argv)
