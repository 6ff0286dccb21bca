"""The one place where Numba options live.

Every kernel in :mod:`maskkit._kernels` is decorated with :func:`kernel` (serial) or
:func:`parallel_kernel` (``parallel=True``).  ``cache=True`` keeps compiled machine code in
``__pycache__`` so that the CLI starts fast after the first run.

Environment variables
---------------------
MASKKIT_BOUNDSCHECK=1
    Compile every kernel with bounds checking (slow; used by the fuzz tests to prove that
    kernels never index out of bounds). Numba's own ``NUMBA_BOUNDSCHECK`` works too.
MASKKIT_NO_CACHE=1
    Do not read or write Numba's on-disk cache.
"""

from __future__ import annotations

import os

import numba

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


def kernel(fn=None, **overrides):
    """Decorate a serial Numba kernel with the project's options."""
    opts = {**KERNEL_OPTIONS, **overrides}
    if fn is None:
        return lambda f: numba.njit(**opts)(f)
    return numba.njit(**opts)(fn)


def parallel_kernel(fn=None, **overrides):
    """Decorate a ``parallel=True`` Numba kernel with the project's options."""
    opts = {**PARALLEL_OPTIONS, **overrides}
    if fn is None:
        return lambda f: numba.njit(**opts)(f)
    return numba.njit(**opts)(fn)


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
