"""The pools :func:`~maskkit.parallel.policy.run_chunks` drives: thin adapters over
``concurrent.futures``-style executors.

* :class:`LocalPool`: the standard library's ``ProcessPoolExecutor`` on this machine,
  with the fork start method where there is one (Linux);
* :class:`DaskPool`: a Dask distributed cluster, its futures mirrored into
  ``concurrent.futures`` ones.

Each says what a dead worker looks like (``lost``) and how to go on after one
(``recover``); the rules themselves are in :mod:`maskkit.parallel.policy`.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from maskkit.errors import InvalidInputError, MaskkitError
from maskkit.parallel.policy import apply_chunk

__all__ = ["DaskPool", "LocalPool", "import_distributed"]

# Chunking, as Chunker's (target seconds per task, most items per task, least seconds per
# task at the end of a job, tasks per worker at least).  A pool task costs the parent
# little and a Dask task costs the cluster a few ms, as much as counting one small mask,
# so fast items go many at a time and slow items one at a time (an early error is then
# seen early); results still come back per item.  Dask tasks cost more, so they are fewer
# and longer (halving them cut the client's and scheduler's CPU: benchmarks/NOTES.md).
_POOL_CHUNKING = (0.05, 512, 0.002, 4)
_DASK_CHUNKING = (0.4, 8192, 0.05, 2)
#: Dask: until the time per item is known, one probe chunk of this many items per worker
#: (a first item pays for cold caches; a few more make the first estimate usable).
_DASK_PROBE = 8
#: Dask: seconds of one wait for a finished task's result, and of all of them (a worker
#: that dies holding a result makes the fetch wait for a connection timeout)
_DASK_FETCH_WAIT = 2.0
_DASK_FETCH_LIMIT = 600.0
#: Seconds between two checks, in a worker, that its parent is still alive.
_PARENT_POLL = 0.5

# the function of the run, in a pool worker (set once per worker by _init_worker)
_FUNC = None


def _init_worker(func, parent: int, said) -> None:
    """Set up a pool worker: its function, Ctrl-C and parent watch, compile notice."""
    global _FUNC
    _FUNC = func
    with said.get_lock():  # every worker compiles on a cold cache; the first one says so
        if said.value:
            os.environ["MASKKIT_QUIET_COMPILE"] = "1"
        said.value = 1
    # Ctrl-C is the parent's business: it stops the run and terminates the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A parent killed outright (SIGKILL, OOM) cannot stop its workers; one busy with a long
    # item would hold memory and the terminal until it tried to reply: it watches instead.
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(_PARENT_POLL)


def _run_chunk(blob: bytes) -> tuple[float, bytes]:
    return apply_chunk(_FUNC, blob)


class _RecordingContext:
    """A multiprocessing context that remembers the processes it starts: the executor
    keeps its own to itself, and a run needs them to tell how a dead worker ended and to
    stop the workers at once when it is cancelled."""

    def __init__(self, base):
        self._base = base
        self.processes: list = []

    def __getattr__(self, name):
        return getattr(self._base, name)

    def Process(self, *args, **kwargs):  # multiprocessing's name
        process = self._base.Process(*args, **kwargs)
        self.processes.append(process)
        return process


def _mp_context():
    import multiprocessing

    # fork: workers inherit the parent's imported modules and compiled Numba kernels, and
    # ``func`` is handed over without pickling (once per worker, not per task).
    if "fork" in multiprocessing.get_all_start_methods() and sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _how_it_ended(processes) -> str:
    """How the first worker that ended by itself ended (the others a broken pool stops
    with SIGTERM)."""
    causes = []
    for process in processes:
        process.join(timeout=5)
        code = process.exitcode
        if code is None:
            continue
        if code < 0:
            try:
                causes.append((code == -signal.SIGTERM, f"was killed by {signal.Signals(-code).name}"))
            except ValueError:
                causes.append((False, f"was killed by signal {-code}"))
        else:
            causes.append((False, f"exited with code {code}"))
    causes.sort(key=lambda cause: cause[0])  # stable: the first unprompted end first
    return causes[0][1] if causes else "died"


class LocalPool:
    """``workers`` processes of a ``concurrent.futures.ProcessPoolExecutor`` running
    ``func``.

    A worker that dies breaks the whole executor (every task in flight fails with
    ``BrokenProcessPool``): :meth:`recover` starts a new one.  Workers are forked with
    the parent's objects frozen (``gc.freeze``), so that the workers' garbage collector
    never walks them nor writes to their pages, which would copy the parent's heap into
    every worker.

    Examples
    --------
    >>> import pickle
    >>> pool = LocalPool(abs, 2)
    >>> seconds, out = pool.submit(pickle.dumps([-1, -2])).result()
    >>> pickle.loads(out)
    [(1, None), (2, None)]
    >>> pool.close(cancel=False)
    """

    who = "a worker process"
    failure_hint = ""
    chunking = _POOL_CHUNKING
    probe = 1
    #: one task running and one waiting per worker: a worker never waits for the parent
    inflight_per_worker = 2

    def __init__(self, func, workers: int):
        self.func = func
        self.workers = workers
        self.context = _mp_context()
        self._said = self.context.Value("b", 0)
        self._start()

    def _start(self) -> None:
        self._recorder = _RecordingContext(self.context)
        self.executor = ProcessPoolExecutor(
            self.workers, mp_context=self._recorder, initializer=_init_worker,
            initargs=(self.func, os.getpid(), self._said))
        self._fresh = True

    def submit(self, blob: bytes) -> Future:
        if not self._fresh:
            return self.executor.submit(_run_chunk, blob)
        gc.freeze()  # the first submit forks the workers
        try:
            return self.executor.submit(_run_chunk, blob)
        finally:
            self._fresh = False
            gc.unfreeze()

    @staticmethod
    def lost(exc: BaseException) -> bool:
        return isinstance(exc, BrokenProcessPool)

    def recover(self) -> str:
        self.executor.shutdown(wait=True)  # after a break: every task it had has failed
        cause = _how_it_ended(self._recorder.processes)
        self._start()
        return cause

    def close(self, cancel: bool) -> None:
        if not cancel:
            self.executor.shutdown(wait=True)
            return
        for process in self._recorder.processes:
            if process.exitcode is None:
                process.terminate()
        for process in self._recorder.processes:
            process.join(timeout=5)
        # the executor's thread sees its workers gone, fails what was left, and ends
        self.executor.shutdown(wait=True, cancel_futures=True)


def import_distributed():
    """``dask.distributed``, or an :class:`~maskkit.errors.InvalidInputError` saying how
    to install it."""
    try:
        import distributed
    except ImportError:
        raise InvalidInputError(
            "the Dask engine needs dask.distributed, which is not installed; install it with "
            "pip install 'maskkit[dask]' (or pip install 'dask[distributed]'), or use "
            "--engine local"
        ) from None
    return distributed


class DaskPool:
    """A Dask distributed cluster: the one at ``scheduler``, or a ``LocalCluster`` of
    ``workers`` single-threaded processes on 127.0.0.1 started for the run.

    ``func`` goes to every worker once (``Client.scatter``), not once per task.  Each task
    is a Dask future mirrored into a ``concurrent.futures.Future`` (what the policy
    waits on).  A worker that dies takes the scattered ``func`` with it, and Dask then
    cancels every task that needs it (or fails a task that killed several workers with
    ``KilledWorker``): both count as a death, and :meth:`recover` scatters ``func`` again.

    Dask's own ``Client.get_executor()`` was used before: under load its mirror of a
    task that Dask cancelled was sometimes never resolved, and a run hung for ever with
    idle workers (the test of a dying worker reproduced it about one run in three on a
    busy machine).  Here the mirror is set by the Dask future's callback and, as a safety
    net, by :meth:`poll`, which the policy calls whenever no task has finished for
    :attr:`poll_seconds`.
    """

    who = "a Dask worker"
    failure_hint = "; check that every worker has maskkit installed and can read the inputs"
    chunking = _DASK_CHUNKING
    probe = _DASK_PROBE
    #: enough to keep every worker busy while the client writes results, few enough that
    #: a dead worker leaves only a handful of suspects
    inflight_per_worker = 4
    #: seconds without a finished task after which the Dask futures' states are read
    poll_seconds = 2.0

    def __init__(self, func, workers: int, scheduler: str | None):
        distributed = import_distributed()
        self.client, self.cluster = _dask_client(distributed, workers, scheduler)
        self._tasks: dict = {}  # concurrent future -> Dask future, until resolved
        self._lock = threading.Lock()
        try:
            self.workers = max(1, len(self.client.scheduler_info().get("workers", {}))
                               or workers)
            self._func = func
            self.recover()
        except BaseException:
            self._close_client()
            raise

    def submit(self, blob: bytes) -> Future:
        # one opaque bytes object per task: the scheduler (in this very process for a
        # LocalCluster) forwards it without unpickling and re-pickling every item
        task = self.client.submit(apply_chunk, self.func, blob, pure=False)
        mirror: Future = Future()
        mirror.set_running_or_notify_cancel()
        with self._lock:
            self._tasks[mirror] = task
        task.add_done_callback(lambda _task, m=mirror: self._settle(m))
        return mirror

    def _settle(self, mirror: Future) -> None:
        """Copy the Dask future's outcome into ``mirror`` (once; any thread).

        A result is fetched in short waits: when the worker holding it dies meanwhile, the
        fetch would wait for a connection timeout (30 s) and Dask would compute the task
        again; once the task is no longer finished it counts as lost instead (the policy
        retries its items) and Dask's copy is cancelled."""
        with self._lock:
            task = self._tasks.pop(mirror, None)
        if task is None:
            return
        status = task.status
        try:
            if status == "error":
                mirror.set_exception(task.exception(timeout=_DASK_FETCH_LIMIT))
                return
            started = time.monotonic()
            while status == "finished":
                try:
                    mirror.set_result(task.result(timeout=_DASK_FETCH_WAIT))
                    return
                except TimeoutError:
                    if time.monotonic() - started > _DASK_FETCH_LIMIT:
                        raise
                status = task.status
            task.cancel()
            mirror.set_exception(CancelledError(f"Dask task {task.key}: {status}"))
        except BaseException as exc:  # the result could not be fetched: as lost
            if not mirror.done():
                mirror.set_exception(CancelledError(f"Dask task {task.key}: {exc!r}"))

    def poll(self) -> None:
        """Settle every task Dask has finished with, whether its callback came or not."""
        with self._lock:
            ended = [m for m, t in self._tasks.items()
                     if t.status in ("finished", "error", "cancelled", "lost")]
        for mirror in ended:
            self._settle(mirror)

    @staticmethod
    def lost(exc: BaseException) -> bool:
        return type(exc).__name__ in ("KilledWorker", "CancelledError", "FutureCancelledError")

    def recover(self) -> str:
        # the cluster replaces its workers itself; the function goes out again
        [self.func] = self.client.scatter([self._func], broadcast=True, hash=False)
        return "died"

    def close(self, cancel: bool) -> None:
        try:
            with self._lock:
                tasks = list(self._tasks.values())
                self._tasks.clear()
            if cancel and tasks:
                self.client.cancel(tasks)
        finally:
            self._close_client()

    def _close_client(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _dask_client(distributed, workers: int, scheduler: str | None):
    import logging

    if scheduler:
        try:
            return distributed.Client(scheduler, timeout=30), None
        except (OSError, TimeoutError, ValueError) as exc:
            raise MaskkitError(
                f"cannot connect to the Dask scheduler at {scheduler} ({exc}); is "
                "`dask scheduler` running there and reachable?"
            ) from None
    cluster = distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=":0", silence_logs=logging.ERROR,
    )
    return distributed.Client(cluster), cluster
