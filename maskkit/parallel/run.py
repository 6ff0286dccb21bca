""":func:`run_batch`: check the arguments, pick the engine, apply the policy."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable

from maskkit.errors import InvalidInputError
from maskkit.parallel.executors import DaskPool, LocalPool, import_distributed
from maskkit.parallel.policy import BatchRun, run_chunks, run_in_process
from maskkit.parallel.progress import Progress

__all__ = ["ENGINES", "run_batch"]

ENGINES = ("local", "dask")


def run_batch(
    func: Callable[[object], object],
    items: Iterable[object],
    *,
    workers: int | None = None,
    on_error: str = "raise",
    desc: str = "images",
    progress: bool | None = None,
    engine: str = "local",
    scheduler: str | None = None,
) -> BatchRun:
    """Run ``func`` on every item, yielding an :class:`ItemResult` as each one completes.

    Parameters
    ----------
    func : callable
        ``func(item) -> value``.  With more than one worker it runs in another process, so
        it must be a module-level function (use :func:`functools.partial` for options);
        its return values and exceptions must be picklable.
    items : iterable
        Any iterable; consumed lazily, so a generator over millions of files is fine.
        ``len(items)`` is used for the progress total when available.
    workers : int, optional
        Number of worker processes; ``None`` means ``os.cpu_count()``.  ``1`` runs
        in-process with no pool (same semantics, except that a crash in ``func`` takes the
        caller down).  Never more workers than items when ``len(items)`` is known.
    on_error : {"raise", "skip"}
        ``"raise"``: the first error cancels the remaining work and is raised; a
        :class:`~maskkit.errors.MaskkitError` keeps its type and gets the item as its
        ``source`` when it names no file; other exceptions keep their type and get a note
        naming the item.  ``"skip"``: errors are yielded in ``ItemResult.error`` and the
        run goes on.
    desc : str
        What the items are called in the progress display (``"images"``).
    progress : bool, optional
        ``None`` or ``True``: progress on stderr, a live bar (done/total, items/s, ETA) when
        stderr is a terminal and a plain line every ~5 s otherwise.  ``False``: silent.
        Worker deaths are reported on stderr in every case.
    engine : {"local", "dask"}
        ``"local"``: this machine (in-process or a process pool, see ``workers``).
        ``"dask"``: a Dask distributed cluster; ``func`` and the items are pickled
        (cloudpickle), ``func`` is sent to each worker once and items travel in chunks.
    scheduler : str, optional
        ``engine="dask"`` only: the address of a running Dask scheduler
        (``tcp://host:8786``); ``workers`` is then ignored (the cluster has its own).
        Default: a ``LocalCluster`` of ``workers`` single-threaded processes on
        127.0.0.1, closed at the end of the run.

    Returns
    -------
    BatchRun
        An iterator of :class:`ItemResult`, one per item, in completion order (not input
        order); its ``rate`` is the items per second the progress display shows.

    Raises
    ------
    InvalidInputError
        For a bad ``workers``, ``on_error``, ``engine`` or ``scheduler`` value, or
        ``engine="dask"`` without Dask installed (raised at the call, not on iteration).

    Notes
    -----
    With more than one worker, items travel in chunks sized by the measured time per
    item, with a bounded number of tasks in flight; a worker process that dies (segfault,
    out-of-memory kill) is reported on stderr, and the items that were in flight are
    retried one at a time in fresh workers: an item that kills a worker again becomes a
    :class:`~maskkit.errors.WorkerDiedError` result (see :mod:`maskkit.parallel.policy`).
    The local pool is the standard library's ``ProcessPoolExecutor`` (forked workers on
    Linux); the Dask engine submits to a ``distributed.Client`` (its futures mirrored into
    ``concurrent.futures`` ones).

    Examples
    --------
    >>> from maskkit.parallel import run_batch
    >>> sorted(r.value for r in run_batch(abs, [-2, 1, -3], workers=1, progress=False))
    [1, 2, 3]
    >>> results = run_batch(int, ["1", "x"], workers=1, on_error="skip", progress=False)
    >>> [(r.item, r.value, type(r.error).__name__) for r in results]
    [('1', 1, 'NoneType'), ('x', None, 'ValueError')]
    """
    if on_error not in ("raise", "skip"):
        raise InvalidInputError(f"on_error must be 'raise' or 'skip'; got {on_error!r}")
    if workers is None:
        workers = os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidInputError(f"workers must be a whole number >= 1; got {workers!r}")
    try:
        total: int | None = len(items)  # type: ignore[arg-type]
    except TypeError:
        total = None
    if engine not in ENGINES:
        raise InvalidInputError(f"engine must be one of {ENGINES}; got {engine!r}")
    if scheduler is not None and engine != "dask":
        raise InvalidInputError(
            f"scheduler={scheduler!r} needs engine='dask' (--engine dask); got engine={engine!r}"
        )
    if total is not None:
        workers = max(1, min(workers, total))
    if engine == "dask":
        import_distributed()  # fail now, with the fix, rather than on first iteration
        make_pool = functools.partial(DaskPool, func, workers, scheduler)
    elif workers > 1:
        make_pool = functools.partial(LocalPool, func, workers)
    else:
        runner = run_in_process(func, items)
        make_pool = None
    if make_pool is not None:
        runner = run_chunks(make_pool, items, total, desc)
    return BatchRun(runner, on_error, Progress(total, desc, enabled=progress is not False))
