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
