"""The batch layer: run one function over many items, in a process pool, never losing work.

Every batch command (``coco2sem``, ``count``, ``panoptic``, ``pq`` ...) goes through
:func:`run_batch`.  It owns what those commands would otherwise each get slightly wrong:

* a bounded number of tasks in flight, so millions of items are never all submitted;
* ``on_error="raise"`` (first error cancels the rest) or ``"skip"`` (errors are yielded);
* a worker process that dies (segfault, OOM kill) is reported on stderr, replaced, and the
  items it was running are retried one at a time; an item that kills a worker again
  becomes a :class:`WorkerDiedError` result instead of being dropped;
* progress on stderr: a live bar on a terminal, a plain line every few seconds otherwise.

The engine is chosen here, not by the commands.  ``engine="local"`` (the default):
``workers=1`` runs in-process, more workers use a local fork-based process pool.
``engine="dask"``: the same job runs on a Dask distributed cluster, at ``scheduler`` (an
address such as ``tcp://10.0.0.5:8786``) or on a :class:`distributed.LocalCluster` of
``workers`` processes started for the run (needs the ``maskkit[dask]`` extra).  An
engine is just a generator of :class:`ItemResult`; the error policy and the progress
display stay here, so every engine gives the same results.
"""

from __future__ import annotations

import collections
import gc
import itertools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from maskkit.errors import InvalidInputError, MaskkitError

__all__ = ["BatchRun", "ItemResult", "WorkerDiedError", "echo", "run_batch"]

#: Dask tasks kept in flight per worker: enough to keep every worker busy while the client
#: writes results, few enough that a dead worker leaves only a handful of suspects.
_INFLIGHT_PER_WORKER = 4
#: A pool worker gets its next chunk while it runs one, when both pickle to at most this many
#: bytes (see _can_take).
_PIPELINE_BYTES = 16384
#: Seconds between two plain progress lines when stderr is not a terminal.
_PLAIN_INTERVAL = 5.0
#: Seconds between two redraws of the live bar.
_LIVE_INTERVAL = 0.1
#: Seconds between two checks, in a worker, that its parent is still alive.
_PARENT_POLL = 0.5
# Items travel to workers in chunks sized by time: a pool task costs the parent little and
# a Dask task costs the cluster a few ms, as much as counting one small mask, so fast items
# go many at a time; slow items go one at a time (an early error is then seen early).
# Results still come back per item.  (target seconds per task, most items per task, least
# seconds per task at the end of a job, where the chunks shrink: a task's round trip should
# stay a small part of it; tasks per worker the items are cut into at least, so that the last
# ones do not leave workers idle.)  Dask tasks cost more, so they are fewer and longer:
# on 20000 small PNGs, half as many tasks took the client and scheduler's process from
# ~200 to ~160 ms of CPU and the job from ~740 to ~705 ms.
_POOL_CHUNKING = (0.05, 512, 0.002, 4)
_DASK_CHUNKING = (0.4, 8192, 0.05, 2)
# Dask: until the time per item is known, one probe chunk of this many items per worker
# (a first item pays for cold caches; a few more make the first estimate usable, and
# probes that fill the pipeline would each cost a task)
_DASK_PROBE = 8


ENGINES = ("local", "dask")


class WorkerDiedError(MaskkitError, RuntimeError):
    """A worker process died (segfault, out-of-memory kill) twice while running this item."""


@dataclass
class ItemResult:
    """The outcome of one item of a batch.

    Attributes
    ----------
    item : object
        The input item, as given to :func:`run_batch`.
    value : object
        What ``func(item)`` returned; ``None`` when it failed.
    error : BaseException or None
        The exception ``func(item)`` raised, ``None`` on success.
    more : bool
        True when the next result is already here (it finished in the same task as this
        one): a caller that writes results can gather them into one write and still
        write everything that has finished before waiting again.
    """

    item: Any
    value: Any
    error: BaseException | None
    more: bool = False

    @property
    def ok(self) -> bool:
        """True when the item succeeded."""
        return self.error is None


def run_batch(
    func: Callable[[Any], Any],
    items: Iterable[Any],
    *,
    workers: int | None = None,
    on_error: str = "raise",
    desc: str = "images",
    progress: bool | None = None,
    engine: str = "local",
    scheduler: str | None = None,
) -> Iterator[ItemResult]:
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

    Examples
    --------
    >>> from maskkit.batch import run_batch
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
        _import_distributed()  # fail now, with the fix, rather than on first iteration
        runner = _run_on_dask(func, items, workers, scheduler, total, desc)
    elif workers == 1:
        runner = _run_in_process(func, items)
    else:
        runner = _run_in_pool(func, items, workers, desc, _Chunker(_POOL_CHUNKING, total, workers))
    return BatchRun(runner, on_error, _Progress(total, desc, enabled=progress is not False))


def echo(message: str) -> None:
    """Print one line on stderr without garbling a live progress bar.

    Commands use it for warnings while :func:`run_batch` is showing progress.

    Examples
    --------
    >>> from maskkit.batch import echo
    >>> echo("maskkit count: warning: a.png: skipped")  # doctest: +SKIP
    """
    if _ACTIVE:
        _ACTIVE[-1].message(message)
    else:
        print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# policy: errors and progress, the same for every engine


class BatchRun:
    """The results of :func:`run_batch`, as they complete; the error policy and the
    progress display are applied here, the same way for every engine.

    ``rate`` is items per second measured from the first finished item on, the figure
    the progress display shows: the first item pays for start-up (worker processes,
    compiling kernels on a cold cache), which says nothing about the rest of the run.
    """

    def __init__(self, engine: Iterator[ItemResult], on_error: str, reporter: _Progress):
        self._results = self._drive(engine, on_error, reporter)
        self._reporter = reporter

    def __iter__(self) -> BatchRun:
        return self

    def __next__(self) -> ItemResult:
        return next(self._results)

    def close(self) -> None:
        """Stop the run: cancel outstanding work and close the progress display."""
        self._results.close()

    @property
    def rate(self) -> float | None:
        """Items per second after the first finished item (None until two have)."""
        return self._reporter.rate()

    @staticmethod
    def _drive(engine: Iterator[ItemResult], on_error: str, reporter: _Progress):
        done = errors = 0
        reporter.begin()
        try:
            for result in engine:
                if result.error is not None:
                    _name_item(result.error, result.item)
                    if on_error == "raise":
                        raise result.error
                    errors += 1
                done += 1
                reporter.update(done, errors)
                yield result
        finally:
            engine.close()  # cancels outstanding work when the caller stops early or we raise
            reporter.close()


def _name_item(exc: BaseException, item: Any) -> None:
    if isinstance(exc, MaskkitError):
        exc.with_context(source=item)
    elif hasattr(exc, "add_note"):  # Python >= 3.11
        note = f"while processing {item!r}"
        if note not in getattr(exc, "__notes__", ()):
            exc.add_note(note)


# --------------------------------------------------------------------------------------
# engines: generators of ItemResult


def _run_in_process(func, items) -> Iterator[ItemResult]:
    for item in items:
        try:
            value = func(item)
        except Exception as exc:
            yield ItemResult(item, None, exc)
        else:
            yield ItemResult(item, value, None)


def _worker_main(conn, func, parent: int, others, quiet_compile: bool = False) -> None:
    """A pool worker: answer each chunk that arrives on ``conn`` with its results, until the
    parent closes its end (the job is done) or goes away."""
    import pickle

    if quiet_compile:  # every worker compiles on a cold cache; one of them says so
        os.environ["MASKKIT_QUIET_COMPILE"] = "1"

    for other in others:  # the parent's ends of the other workers' pipes: not ours to hold
        other.close()
    # Ctrl-C is the parent's business: it stops the run and terminates the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A parent killed outright (SIGKILL, OOM) cannot stop its workers; one busy with a long
    # item would hold memory and the terminal until it tried to reply: it watches instead.
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return  # the parent closed the pipe: the job is over
        reply = _apply_chunk(func, chunk)
        try:
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # a value that cannot travel back fails its chunk
            data = pickle.dumps(MaskkitError(f"a result cannot be sent back from a worker "
                                             f"process ({type(exc).__name__}: {exc})"))
        try:
            conn.send_bytes(data)
        except OSError:
            return  # the parent is gone


def _exit_with_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(_PARENT_POLL)


class _Chunker:
    """Chunk sizes from the measured time per item: one item until the first chunk is
    back, then as many as fill ``target`` seconds (at most ``most``).

    When the total is known the chunks also shrink towards the end of the job (guided
    self-scheduling): a chunk is at most the items left / (2 × workers), so every worker
    finishes within about one small chunk of the others instead of one idling while the
    last big chunk runs elsewhere."""

    def __init__(self, chunking: tuple[float, int, float, int], total: int | None,
                 workers: int, probe: int = 1):
        self.target, self.most, self.least, per_worker = chunking
        self.probe = probe
        self.total = total
        self.workers = max(1, workers)
        self.issued = 0
        if total is not None:
            self.most = max(1, min(self.most, total // (self.workers * per_worker)))
        self.per_item: float | None = None
        self._seconds = 0.0  # decayed sums of the measured chunks, item-weighted
        self._items = 0.0

    def size(self) -> int:
        if self.per_item is None:
            size = self.probe
        else:
            size = max(1, min(self.most, int(self.target / max(self.per_item, 1e-7))))
        if self.total is not None:
            left = self.total - self.issued
            guided = -(-left // (2 * self.workers))
            if self.per_item is not None:
                guided = max(guided, int(self.least / max(self.per_item, 1e-7)))
            size = min(size, max(1, guided))
        return size

    def take(self, source) -> list:
        """The next chunk of ``source`` (an iterator); empty when it is exhausted."""
        chunk = list(itertools.islice(source, self.size()))
        self.issued += len(chunk)
        return chunk

    def record(self, seconds: float, items: int) -> None:
        """Update the time per item from a finished chunk.

        The estimate weighs chunks by their items (older ones decaying), so the single-item
        chunks of the start, whose one item pays for cold caches, stop counting as soon
        as one full chunk is back; a mean of per-chunk rates would keep chunks too small
        (and tasks too many) for much of the job."""
        self._seconds = 0.7 * self._seconds + seconds
        self._items = 0.7 * self._items + max(items, 1)
        self.per_item = self._seconds / self._items


def _mp_context():
    import multiprocessing

    # fork: workers inherit the parent's imported modules and compiled Numba kernels, and
    # ``func`` is handed over without pickling (it is set once per worker, not per task).
    if "fork" in multiprocessing.get_all_start_methods() and sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


class _Worker:
    """One worker process, the parent's end of its pipe, and the tasks sent to it that have
    not been answered (oldest first, each ``(chunk, strikes, small)``)."""

    __slots__ = ("conn", "process", "tasks")

    def __init__(self, process, conn):
        self.process = process
        self.conn = conn
        self.tasks: collections.deque = collections.deque()

    def death_cause(self) -> str:
        """How the (dead) process ended."""
        self.process.join(timeout=5)
        code = self.process.exitcode
        if code is None:
            self.process.kill()  # it closed its pipe but lives on: not a worker any more
            return "stopped answering"
        if code < 0:
            try:
                return f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return f"exited with code {code}"


class _Pool:
    """Worker processes that each take chunks over their own pipe.

    The parent's only thread sends chunks and waits for replies on the pipes: no executor
    threads or shared queues, whose work would take CPU from the workers on a machine that
    has one core per worker.  A worker that dies is known by its pipe ending, and so are
    the chunks it was running."""

    def __init__(self, func, context):
        self.func = func
        self.context = context
        self.workers: list[_Worker] = []

    def start(self, count: int) -> None:
        # The objects the workers inherit are frozen first: the workers' garbage collector
        # then never walks them (nor writes to their pages, which would copy every page of
        # the parent's heap into each worker), however many objects the caller holds.
        gc.freeze()
        try:
            forked = self.context.get_start_method() == "fork"
            for _ in range(count):
                ours, theirs = self.context.Pipe()
                # a forked worker inherits the parent's ends of every pipe, its own included;
                # it closes them, so that it sees the end of its pipe when the parent goes
                others = [w.conn for w in self.workers] + [ours] if forked else []
                process = self.context.Process(
                    target=_worker_main,
                    args=(theirs, self.func, os.getpid(), others, bool(self.workers)),
                    name="maskkit-worker",
                )
                process.start()
                theirs.close()
                self.workers.append(_Worker(process, ours))
        finally:
            gc.unfreeze()

    def send(self, worker: _Worker, chunk: list, strikes: int) -> None:
        import pickle

        data = pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)
        worker.tasks.append((chunk, strikes, len(data) <= _PIPELINE_BYTES))
        worker.conn.send_bytes(data)

    def remove(self, worker: _Worker) -> None:
        self.workers.remove(worker)
        worker.conn.close()

    def close(self, kill: bool) -> None:
        """End the workers: ``kill`` terminates them (the job stops early); otherwise every
        result is in, and closing the pipes lets them exit by themselves, unwaited."""
        for worker in self.workers:
            worker.conn.close()
            if kill and worker.process.exitcode is None:
                worker.process.terminate()
        if kill:
            for worker in self.workers:
                worker.process.join(timeout=5)
        self.workers = []


def _can_take(worker: _Worker) -> bool:
    # One task runs while the next waits in the pipe, so a worker never waits for the
    # parent.  The one waiting must be small: a worker blocked sending a large reply while
    # the parent is blocked sending it a large chunk would wait for each other forever.
    if not worker.tasks:
        return True
    return len(worker.tasks) == 1 and worker.tasks[0][2]


def _run_in_pool(func, items, workers: int, desc: str, chunker: _Chunker):
    from multiprocessing.connection import wait

    source = iter(items)
    unsent: collections.deque = collections.deque()  # (chunk, strikes) to send again
    # Items that were in flight when a worker died ("strike" 1).  They go one per task to
    # an idle worker, so a second death names the culprit instead of its neighbours.
    suspects: collections.deque = collections.deque()
    exhausted = False
    pool = _Pool(func, _mp_context())
    idle_deaths = 0  # deaths in a row of workers that had nothing to run

    def next_task(worker):
        nonlocal exhausted
        if unsent:
            if unsent[0][1] and worker.tasks:
                return None  # a suspect runs on an idle worker only (see below)
            return unsent.popleft()
        if suspects:
            return None if worker.tasks else ([suspects[0][0]], suspects.popleft()[1])
        if exhausted:
            return None
        chunk = chunker.take(source)
        if not chunk:
            exhausted = True
            return None
        return chunk, 0

    def bury(worker):
        """A worker died: report it, start another, and retry (or give up on) its tasks."""
        nonlocal idle_deaths
        cause = worker.death_cause()
        pool.remove(worker)
        idle_deaths = 0 if worker.tasks else idle_deaths + 1
        if idle_deaths > 3:
            raise WorkerDiedError(f"worker processes keep dying (the last one {cause})")
        retry = []
        for chunk, strikes, _ in worker.tasks:
            if strikes:
                item = chunk[0]
                echo(f"maskkit: warning: {item}: a worker process {cause} again; giving up")
                yield ItemResult(item, None, WorkerDiedError(
                    f"a worker process died twice while processing this item (it {cause}): "
                    f"a crash in native code or the out-of-memory killer", source=item))
            else:
                retry.extend((item, 1) for item in chunk)
        if retry:
            echo(f"maskkit: warning: a worker process {cause} with {len(retry)} {desc} in "
                 "flight; retrying them one at a time in a fresh worker")
            suspects.extend(retry)
        elif not worker.tasks:
            echo(f"maskkit: warning: a worker process {cause} while idle; starting another")
        pool.start(1)

    def feed(worker) -> bool:
        """Send ``worker`` what it can take now; False if it turns out to be dead."""
        while _can_take(worker):
            task = next_task(worker)
            if task is None:
                break
            try:
                pool.send(worker, *task)
            except OSError:  # its pipe is closed: it died while idle
                worker.tasks.pop()
                unsent.appendleft(task)
                return False
        return True

    finished = False
    try:
        pool.start(workers)
        while True:
            dead = [worker for worker in pool.workers if not feed(worker)]
            for worker in dead:
                yield from bury(worker)
            if dead:
                continue
            busy = {w.conn: w for w in pool.workers if w.tasks}
            if not busy:
                break
            for conn in wait(list(busy)):
                worker = busy[conn]
                try:
                    reply = conn.recv()
                except (EOFError, OSError):
                    yield from bury(worker)
                    continue
                chunk, _, _ = worker.tasks.popleft()
                if not isinstance(reply, BaseException):
                    chunker.record(reply[0], len(chunk))
                # the worker's next chunk goes out before the caller gets these results
                # (writing them takes time the worker would otherwise idle)
                alive = feed(worker)
                if isinstance(reply, BaseException):  # the chunk failed as a whole
                    for item in chunk:
                        yield ItemResult(item, None, reply)
                else:
                    yield from _chunk_results(chunk, reply[1])
                if not alive:
                    yield from bury(worker)
        finished = True
    finally:
        pool.close(kill=not finished)


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise InvalidInputError(
            "the Dask engine needs dask.distributed, which is not installed; install it with "
            "pip install 'maskkit[dask]' (or pip install 'dask[distributed]'), or use "
            "--engine local"
        ) from None
    return distributed


def _apply_chunk(func, chunk) -> tuple[float, list | bytes]:
    """Run ``func`` on each item of ``chunk`` in a worker: ``(seconds, [(value, error)...])``,
    the list pickled when ``chunk`` came pickled (from Dask)."""
    import pickle

    start = time.perf_counter()
    pickled = isinstance(chunk, bytes)
    if pickled:  # pickled by the client (see _run_on_dask)
        chunk = pickle.loads(chunk)
    out = []
    for item in chunk:
        try:
            out.append((func(item), None))
        except Exception as exc:
            try:  # an exception that cannot travel back must not fail its whole chunk
                pickle.loads(pickle.dumps(exc))
            except Exception:
                exc = MaskkitError(f"{type(exc).__name__}: {exc}")
            out.append((None, exc))
    seconds = time.perf_counter() - start
    if pickled:
        # the results go back as one pickle too: Dask serialises a list element by
        # element, a frame per bytes object, which costs more than the work on small items
        return seconds, pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)
    return seconds, out


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


def _run_on_dask(func, items, workers: int, scheduler: str | None, total, desc: str):
    import pickle

    distributed = _import_distributed()
    client, cluster = _dask_client(distributed, workers, scheduler)
    futures: dict = {}  # future -> (chunk, strikes)
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or workers)
        chunker = _Chunker(_DASK_CHUNKING, total, n_workers, probe=_DASK_PROBE)
        # ``func`` (with whatever job description it carries) goes to every worker once,
        # not once per task
        [func_on_workers] = client.scatter([func], broadcast=True, hash=False)
        source = iter(items)
        retry: collections.deque = collections.deque()  # single items whose chunk killed a worker
        max_inflight = _INFLIGHT_PER_WORKER * n_workers
        pending = distributed.as_completed()

        def submit(chunk, strikes):
            # one opaque bytes object per task: the scheduler (in this very process for a
            # LocalCluster) forwards it without unpickling and re-pickling every item
            blob = pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)
            future = client.submit(_apply_chunk, func_on_workers, blob, pure=False)
            futures[future] = (chunk, strikes)
            pending.add(future)

        def refill():
            while len(futures) < (max_inflight if chunker.per_item is not None else n_workers):
                if retry:
                    submit([retry[0][0]], retry[0][1])
                    retry.popleft()
                    continue
                chunk = chunker.take(source)
                if not chunk:
                    return
                submit(chunk, 0)

        refill()
        while futures:
            future = next(pending)
            chunk, strikes = futures.pop(future)
            if future.status == "finished":
                seconds, results = future.result()
                results = pickle.loads(results)
                chunker.record(seconds, len(chunk))
                yield from _chunk_results(chunk, results)
            else:
                exc = future.exception()
                if type(exc).__name__ != "KilledWorker":
                    raise MaskkitError(
                        f"a Dask task failed outside the work itself ({type(exc).__name__}: "
                        f"{exc}); check that every worker has maskkit installed and can "
                        "read the inputs"
                    ) from exc
                if strikes == 0:
                    echo(f"maskkit: warning: a Dask worker died with {len(chunk)} {desc} in "
                         "flight; retrying them one at a time")
                    retry.extend((item, 1) for item in chunk)
                else:
                    item = chunk[0]
                    echo(f"maskkit: warning: {item}: a Dask worker died again; giving up")
                    yield ItemResult(item, None, WorkerDiedError(
                        "Dask workers died repeatedly while processing this item: a crash "
                        "in native code or the out-of-memory killer", source=item))
            refill()
    finally:
        if futures:
            client.cancel(list(futures))
        client.close()
        if cluster is not None:
            cluster.close()


def _chunk_results(chunk, results) -> Iterator[ItemResult]:
    last = len(chunk) - 1
    for i, (item, (value, error)) in enumerate(zip(chunk, results)):
        yield ItemResult(item, value, error, i < last)


# --------------------------------------------------------------------------------------
# progress display

_ACTIVE: list[_Progress] = []


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class _Progress:
    """Progress of one run on stderr, drawn by tqdm.

    On a terminal: a live tqdm bar.  Otherwise: a plain line every ``_PLAIN_INTERVAL``
    seconds and, when any was printed, one final line, so logs get no carriage returns
    and nothing stale (a run shorter than the interval prints none).  The
    rate, and the ETA from it, count only the items finished after the first one (see
    :class:`BatchRun`); before two have finished the display shows no rate and no ETA
    rather than a made-up one.
    """

    def __init__(self, total: int | None, desc: str, *, enabled: bool):
        self.stream = sys.stderr
        self.total = total
        self.desc = desc
        self.enabled = enabled
        self.live = enabled and _isatty(self.stream)
        self.start = self.last = time.monotonic()
        self.first: tuple[float, int] | None = None  # (time, items) of the first result
        self.done = self.errors = 0
        self.bar = None
        self.printed = False  # a plain progress line was printed

    def begin(self) -> None:
        self.start = self.last = time.monotonic()
        _ACTIVE.append(self)

    def rate(self, now: float | None = None) -> float | None:
        if self.first is None or self.done <= self.first[1]:
            return None
        seconds = (time.monotonic() if now is None else now) - self.first[0]
        return (self.done - self.first[1]) / seconds if seconds > 0 else None

    def _postfix(self) -> str | None:
        if not self.errors:
            return None
        return f"{self.errors} error{'s' if self.errors > 1 else ''}"

    def _plain(self, now: float) -> str:
        from tqdm import tqdm

        fmt = "{n_fmt}/{total_fmt}{unit} ({percentage:.0f}%) [{elapsed}<{remaining}, {rate_fmt}{postfix}]"
        if not self.total:
            fmt = "{n_fmt}{unit} [{elapsed}, {rate_fmt}{postfix}]"
        return "maskkit: " + tqdm.format_meter(
            self.done, self.total, now - self.start, unit=f" {self.desc}", rate=self.rate(now) or 0,
            postfix=self._postfix(), bar_format=fmt)

    def _open_bar(self) -> None:
        from tqdm import tqdm

        progress = self

        class _Bar(tqdm):
            @property
            def format_dict(self):
                d = super().format_dict
                d["rate"] = progress.rate() or 0  # 0: tqdm shows "?", not its own guess
                return d

        self.bar = _Bar(total=self.total, unit=f" {self.desc}", file=self.stream,
                        mininterval=_LIVE_INTERVAL, dynamic_ncols=True, leave=True,
                        smoothing=0, unit_scale=False)
        # elapsed time counts from the start of the run (tqdm's clock is time.time)
        self.bar.start_t -= time.monotonic() - self.start

    def update(self, done: int, errors: int) -> None:
        now = time.monotonic()
        if self.first is None:
            self.first = (now, done)
        step = done - self.done
        self.done, self.errors = done, errors
        if not self.enabled:
            return
        if self.live:
            if self.bar is None:
                self._open_bar()
            postfix = self._postfix()
            if postfix is not None:
                self.bar.set_postfix_str(postfix, refresh=False)
            self.bar.update(step)
        elif now - self.last >= _PLAIN_INTERVAL and done != self.total:
            self.last = now
            self.printed = True
            print(self._plain(now), file=self.stream, flush=True)

    def message(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        if self.bar is not None:
            self.bar.refresh()
            self.bar.close()
            self.bar = None
        elif self.printed:  # the last plain line is stale: one final line
            print(self._plain(time.monotonic()), file=self.stream, flush=True)
