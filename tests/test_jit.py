"""Where compiled kernels are cached, and the one line a first compile prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import maskkit


def _run(code: str, cache: Path, **env) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items()
            if k not in ("MASKKIT_QUIET_COMPILE", "NUMBA_CACHE_DIR")}
    full.update(MASKKIT_CACHE_DIR=str(cache), **env)
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True,
                          text=True, check=True)


CODE = ("import numpy as np, maskkit; m = np.zeros((4, 4), np.uint8); m[1] = 1; "
        "print(maskkit.rle_area(maskkit.rle_encode(m)))")


def test_cache_is_outside_the_package_and_first_compile_says_so(tmp_path):
    first = _run(CODE, tmp_path)
    assert first.stdout.strip() == "4"
    assert first.stderr.count("maskkit: compiling kernels for first use") == 1
    cached = list((tmp_path / "numba").rglob("*.nbi"))
    assert cached, "nothing cached in MASKKIT_CACHE_DIR"
    package = Path(maskkit.__file__).parent
    assert not list(package.rglob("*.nbi")) and not list(package.rglob("*.nbc"))
    # a warm run loads from the cache: silent
    again = _run(CODE, tmp_path)
    assert again.stdout.strip() == "4" and again.stderr == ""


def test_notice_can_be_silenced(tmp_path):
    quiet = _run(CODE, tmp_path, MASKKIT_QUIET_COMPILE="1")
    assert quiet.stderr == ""


def test_numba_cache_dir_of_the_user_wins(tmp_path):
    _run(CODE, tmp_path / "ours", NUMBA_CACHE_DIR=str(tmp_path / "theirs"))
    assert list((tmp_path / "theirs").rglob("*.nbi"))
    assert not (tmp_path / "ours").exists()
