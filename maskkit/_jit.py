"""The one place where Numba options live.

Every kernel in :mod:`maskkit._kernels` is decorated with :func:`kernel` (serial) or
:func:`parallel_kernel` (``parallel=True``).  ``cache=True`` keeps compiled machine code on
disk so that later runs start fast; it is kept in a per-user cache folder
(:func:`cache_dir`), never inside the installed package, so that ``pip uninstall`` leaves
nothing behind and a read-only install still caches.

The first time a kernel is compiled in a process, one line on stderr says so (compiling
takes seconds; a run that only loads cached code prints nothing).

Environment variables
---------------------
MASKKIT_CACHE_DIR=DIR
    Where compiled kernels are cached (default: the user cache folder from
    ``platformdirs``, e.g. ``~/.cache/maskkit`` on Linux, plus ``numba/``). Numba's own
    ``NUMBA_CACHE_DIR``, when set, is used as it is. Delete the folder to clear the cache.
MASKKIT_BOUNDSCHECK=1
    Compile every kernel with bounds checking (slow; used by the fuzz tests to prove that
    kernels never index out of bounds). Numba's own ``NUMBA_BOUNDSCHECK`` works too.
MASKKIT_NO_CACHE=1
    Do not read or write Numba's on-disk cache.
MASKKIT_QUIET_COMPILE=1
    Do not print the first-compile line.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numba
from numba.core import config as _numba_config
from numba.core import event as _numba_event

_BOUNDSCHECK = os.environ.get("MASKKIT_BOUNDSCHECK", "") not in ("", "0")
_CACHE = os.environ.get("MASKKIT_NO_CACHE", "") in ("", "0") and not _BOUNDSCHECK

#: Options shared by every serial kernel.
KERNEL_OPTIONS: dict = {
    "cache": _CACHE,
    "nogil": True,
    "fastmath": False,
    "error_model": "numpy",
    "boundscheck": _BOUNDSCHECK,
}

#: Options shared by every ``parallel=True`` kernel.
PARALLEL_OPTIONS: dict = {**KERNEL_OPTIONS, "parallel": True}


def cache_dir() -> Path:
    """The folder where maskkit's compiled kernels are cached.

    ``NUMBA_CACHE_DIR`` when the user set it, else ``MASKKIT_CACHE_DIR``, else
    ``<user cache dir>/maskkit/numba`` (``~/.cache/maskkit/numba`` on Linux).
    """
    if _numba_config.CACHE_DIR:
        return Path(_numba_config.CACHE_DIR)
    explicit = os.environ.get("MASKKIT_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser() / "numba"
    import platformdirs

    return Path(platformdirs.user_cache_dir("maskkit", appauthor=False)) / "numba"


_CACHE_DIR = str(cache_dir()) if _CACHE else ""


def _njit(fn, opts):
    """``numba.njit(**opts)(fn)`` with maskkit's cache folder.

    Numba picks a function's cache location when it is decorated, from
    ``numba.config.CACHE_DIR``; setting it only for the duration of the decoration keeps
    the user's own Numba functions where they were.
    """
    if not opts.get("cache"):
        return numba.njit(**opts)(fn)
    before = _numba_config.CACHE_DIR
    _numba_config.CACHE_DIR = _CACHE_DIR
    try:
        return numba.njit(**opts)(fn)
    finally:
        _numba_config.CACHE_DIR = before


def kernel(fn=None, **overrides):
    """Decorate a serial Numba kernel with the project's options."""
    opts = {**KERNEL_OPTIONS, **overrides}
    if fn is None:
        return lambda f: _njit(f, opts)
    return _njit(fn, opts)


def parallel_kernel(fn=None, **overrides):
    """Decorate a ``parallel=True`` Numba kernel with the project's options."""
    opts = {**PARALLEL_OPTIONS, **overrides}
    if fn is None:
        return lambda f: _njit(f, opts)
    return _njit(fn, opts)


class _FirstCompileNotice(_numba_event.Listener):
    """Say once per process, on stderr, that maskkit's kernels are being compiled.

    Numba fires ``numba:compile`` only when a function is really compiled (a cache hit
    does not), so a warm run prints nothing.
    """

    said = False

    def on_start(self, event):
        if self.said:
            return
        dispatcher = event.data.get("dispatcher") if event.data else None
        module = getattr(getattr(dispatcher, "py_func", None), "__module__", "") or ""
        if module.startswith("maskkit.") and os.environ.get("MASKKIT_QUIET_COMPILE") != "1":
            type(self).said = True
            print("maskkit: compiling kernels for first use (cached in "
                  f"{_CACHE_DIR or 'memory only'}); later runs start in under a second",
                  file=sys.stderr, flush=True)

    def on_end(self, event):
        pass


_numba_event.register("numba:compile", _FirstCompileNotice())


prange = numba.prange


def resolve_threads(threads) -> int:
    """Threads for a parallel kernel: ``None`` -> Numba's thread count (every core unless
    ``NUMBA_NUM_THREADS`` says otherwise), else ``threads`` capped to it."""
    import numpy as np

    from maskkit.errors import InvalidInputError

    most = numba.config.NUMBA_NUM_THREADS
    if threads is None:
        return most
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise InvalidInputError(f"threads must be a positive integer; got {threads!r}")
    return min(int(threads), most)


class using_threads:
    """Run the parallel kernels of a ``with`` block on ``n`` threads, then restore."""

    def __init__(self, n: int):
        self.n = n

    def __enter__(self):
        self.before = numba.get_num_threads()
        numba.set_num_threads(self.n)

    def __exit__(self, *exc):
        numba.set_num_threads(self.before)
