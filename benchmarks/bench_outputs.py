"""What the output safety of issue 16 costs per file.

``atomic_write`` now sets the umask's mode on its temporary file (one read of
/proc/self/status and one fchmod), and coco2sem checks every PNG path against symbolic
links leading out of ``-o`` (``fs.inside``) and plans every name before writing
(``check_output_names``).  Peers: the atomic write as it was before (mkstemp, fsync,
rename), and a plain ``open().write()``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile

import pytest

from maskkit.io import fs
from maskkit.io.fs import atomic_write

DATA = os.urandom(4096)  # about one small label PNG


def _old_atomic(path):
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(DATA)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _new_atomic(path):
    with atomic_write(path, "wb") as fh:
        fh.write(DATA)


def _plain(path):
    with open(path, "wb") as fh:
        fh.write(DATA)


@pytest.mark.parametrize("name,func", [("maskkit", _new_atomic),
                                       ("atomic write before issue 16", _old_atomic),
                                       ("plain open", _plain)])
def test_write_one_file(benchmark, impl, tmp_path, name, func):
    benchmark.group = "write a 4 KB output file"
    impl(name)
    target = tmp_path / "sub" / "x.png"
    target.parent.mkdir()
    benchmark(func, target)


@pytest.mark.parametrize("checked", [True, False])
def test_output_path_check(benchmark, impl, tmp_path, checked):
    benchmark.group = "PNG path under -o (sub-folder exists)"
    impl("maskkit" if checked else "plain join")
    (tmp_path / "train").mkdir()
    if checked:
        benchmark(fs.inside, tmp_path, "train/000001.png")
    else:
        benchmark(fs.join, tmp_path, "train/000001.png")


def test_plan_100k_names(benchmark, impl):
    benchmark.group = "plan 100 000 output names"
    impl("maskkit")
    entries = [(f"train/{i:06d}.png", f"image {i}") for i in range(100_000)]
    benchmark(fs.check_output_names, entries)
