"""The batch layer: run one function over many items, in a process pool, never losing work.

Every batch command (``coco2sem``, ``count``, ``panoptic``, ``pq`` ...) goes through
:func:`run_batch`.  It owns what those commands would otherwise each get slightly wrong:

* a bounded number of tasks in flight, so millions of items are never all submitted;
* ``on_error="raise"`` (first error cancels the rest) or ``"skip"`` (errors are yielded);
* a worker process that dies (segfault, OOM kill) is reported on stderr and the items it
  may have been running are retried, one at a time, in a fresh pool; an item that kills a
  worker again becomes a :class:`WorkerDiedError` result instead of being dropped;
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
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from maskkit.errors import InvalidInputError, MaskkitError

__all__ = ["ItemResult", "WorkerDiedError", "echo", "run_batch"]

#: Tasks kept in flight per worker: enough to keep every worker busy while the parent
#: writes results, few enough that a dead worker leaves only a handful of suspects.
_INFLIGHT_PER_WORKER = 4
#: Seconds between two plain progress lines when stderr is not a terminal.
_PLAIN_INTERVAL = 5.0
#: Seconds between two redraws of the live bar.
_LIVE_INTERVAL = 0.1
#: Seconds between two checks, in a worker, that its parent is still alive.
_PARENT_POLL = 0.5
# Items travel to workers in chunks sized by time: a pool task costs the parent ~0.2 ms and
# a Dask task costs the cluster a few ms, as much as counting one small mask, so fast items
# go many at a time; slow items go one at a time (an early error is then seen early).
# Results still come back per item.  (target seconds per task, most items per task, least
# seconds per task at the end of a job, where the chunks shrink: a task's round trip, ~0.2 ms
# on the pool and a few ms on Dask, should stay a small part of it)
_POOL_CHUNKING = (0.05, 512, 0.002)
_DASK_CHUNKING = (0.2, 4096, 0.03)
# Dask: until the time per item is known, one probe chunk of this many items per worker
# (a first item pays for cold caches; a few more make the first estimate usable, and
# probes that fill the pipeline would each cost a task)
_DASK_PROBE = 8
#: Tasks per worker the item list is cut into at least, so that the last ones do not leave
#: workers idle.
_CHUNKS_PER_WORKER = 4

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

    Yields
    ------
    ItemResult
        One per item, in completion order (not input order).

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
    return _drive(runner, on_error, _Progress(total, desc, enabled=progress is not False))


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


_WORKER_FUNC: Callable[[Any], Any] | None = None


def _init_worker(func, parent: int) -> None:
    global _WORKER_FUNC
    _WORKER_FUNC = func
    # Ctrl-C is the parent's business: it stops the run and terminates the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A parent killed outright (SIGKILL, OOM) cannot stop its workers, which would then
    # wait for work forever, holding memory and the terminal: they watch it themselves.
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(_PARENT_POLL)


def _call_in_worker(chunk):
    return _apply_chunk(_WORKER_FUNC, chunk)


class _Chunker:
    """Chunk sizes from the measured time per item: one item until the first chunk is
    back, then as many as fill ``target`` seconds (at most ``most``).

    When the total is known the chunks also shrink towards the end of the job (guided
    self-scheduling): a chunk is at most the items left / (2 × workers), so every worker
    finishes within about one small chunk of the others instead of one idling while the
    last big chunk runs elsewhere."""

    def __init__(self, chunking: tuple[float, int, float], total: int | None, workers: int,
                 probe: int = 1):
        self.target, self.most, self.least = chunking
        self.probe = probe
        self.total = total
        self.workers = max(1, workers)
        self.issued = 0
        if total is not None:
            self.most = max(1, min(self.most, total // (self.workers * _CHUNKS_PER_WORKER)))
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


class _Pool:
    """A ProcessPoolExecutor plus what we need to know when one of its workers dies."""

    def __init__(self, func, workers: int, context):
        from concurrent.futures import ProcessPoolExecutor

        self.executor = ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker, initargs=(func, os.getpid())
        )
        self.processes: list = []

    def submit(self, item):
        if self.processes:
            return self.executor.submit(_call_in_worker, item)
        # fork pools start every worker on the first submit.  The objects the workers
        # inherit are frozen first: the workers' garbage collector then never walks them
        # (nor writes to their pages, which would copy every page of the parent's heap
        # into each worker), however many objects the calling program holds
        gc.freeze()
        try:
            future = self.executor.submit(_call_in_worker, item)
        finally:
            gc.unfreeze()
        self.processes = list(getattr(self.executor, "_processes", {}).values())
        return future

    def death_cause(self) -> str:
        """Describe how the dead worker(s) ended; call after ``shutdown``."""
        causes = []
        for proc in self.processes:
            code = proc.exitcode
            if code is None or code == 0 or code == -signal.SIGTERM:
                continue  # still alive, or one we terminated ourselves
            if code < 0:
                try:
                    causes.append(f"was killed by {signal.Signals(-code).name}")
                except ValueError:
                    causes.append(f"was killed by signal {-code}")
            else:
                causes.append(f"exited with code {code}")
        return " and ".join(sorted(set(causes))) or "died"

    def shutdown(self, wait: bool = True) -> None:
        self.executor.shutdown(wait=wait)

    def kill(self) -> None:
        """Stop at once: cancel pending tasks and terminate running workers."""
        self.executor.shutdown(wait=False, cancel_futures=True)
        for proc in self.processes:
            if proc.exitcode is None:
                proc.terminate()
        for proc in self.processes:
            proc.join(timeout=5)


def _run_in_pool(func, items, workers: int, desc: str, chunker: _Chunker):
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    source = iter(items)
    context = _mp_context()
    max_inflight = _INFLIGHT_PER_WORKER * workers
    inflight: dict = {}  # future -> (chunk of items, strikes)
    # Items that were in flight when a worker died ("strike" 1).  They run one at a time,
    # alone in the pool, so a second death names the culprit instead of its neighbours.
    suspects: collections.deque = collections.deque()
    unsent: collections.deque = collections.deque()  # taken from ``source``, not yet sent
    exhausted = False
    pool: _Pool | None = None
    fruitless_restarts = 0  # pools that broke before running anything
    finished = False
    try:
        while True:
            if pool is None:
                pool = _Pool(func, workers, context)
            broken = False
            try:
                if suspects:
                    if not inflight:
                        item, strikes = suspects[0]
                        inflight[pool.submit([item])] = ([item], strikes)
                        suspects.popleft()
                else:
                    while len(inflight) < max_inflight:
                        if not unsent:
                            if exhausted:
                                break
                            chunk = chunker.take(source)
                            if not chunk:
                                exhausted = True
                                break
                            unsent.append(chunk)
                        inflight[pool.submit(unsent[0])] = (unsent[0], 0)
                        unsent.popleft()
            except BrokenProcessPool:
                broken = True
            if not inflight and not broken:
                break
            if not broken:
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for future in done:
                    if isinstance(future.exception(), BrokenProcessPool):
                        broken = True
                        break
                    chunk, _ = inflight.pop(future)
                    yield from _outcomes(future, chunk, chunker)
            if broken:
                # Let the executor settle every future, then sort the ones still in flight
                # into results (finished before the death) and suspects.
                pool.shutdown()
                victims = []
                for future, (chunk, strikes) in list(inflight.items()):
                    if future.cancelled() or isinstance(future.exception(), BrokenProcessPool):
                        victims.extend((item, strikes) for item in chunk)
                    else:
                        yield from _outcomes(future, chunk, chunker)
                inflight.clear()
                cause = pool.death_cause()
                pool = None
                fruitless_restarts = 0 if victims else fruitless_restarts + 1
                if fruitless_restarts > 3:
                    raise WorkerDiedError(
                        f"worker processes keep dying at start-up (the last one {cause})"
                    )
                repeat = [item for item, strikes in victims if strikes >= 1]
                retry = [(item, strikes + 1) for item, strikes in victims if strikes < 1]
                for item in repeat:
                    echo(f"maskkit: warning: {item}: a worker process {cause} again; giving up")
                    yield ItemResult(
                        item,
                        None,
                        WorkerDiedError(
                            f"a worker process died twice while processing this item (it "
                            f"{cause}): a crash in native code or the out-of-memory killer",
                            source=item,
                        ),
                    )
                if retry:
                    echo(
                        f"maskkit: warning: a worker process {cause} with {len(retry)} "
                        f"{desc} in flight; retrying them one at a time in a fresh pool"
                    )
                    suspects.extend(retry)
        finished = True
    finally:
        if pool is not None:
            if finished:
                # every result is in: the workers exit on their own, and the executor's
                # thread reaps them, while the caller goes on (~5 ms of a short job)
                pool.shutdown(wait=False)
            else:
                pool.kill()


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


def _outcomes(future, chunk, chunker: _Chunker) -> Iterator[ItemResult]:
    exc = future.exception()
    if exc is None:
        seconds, results = future.result()
        chunker.record(seconds, len(chunk))
        yield from _chunk_results(chunk, results)
        return
    if not isinstance(exc, Exception):  # SystemExit and friends are not item errors
        raise exc
    for item in chunk:  # the chunk failed as a whole (e.g. a result that cannot be pickled)
        yield ItemResult(item, None, exc)


# --------------------------------------------------------------------------------------
# progress display

_ACTIVE: list[_Progress] = []


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class _Progress:
    def __init__(self, total: int | None, desc: str, *, enabled: bool):
        self.stream = sys.stderr
        self.total = total
        self.desc = desc
        self.enabled = enabled
        self.live = enabled and _isatty(self.stream)
        self.start = self.last = time.monotonic()
        self.done = self.errors = 0
        self.drawn = False

    def begin(self) -> None:
        self.start = self.last = time.monotonic()
        _ACTIVE.append(self)

    def _status(self, *, percent: bool = True) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = self.done / elapsed
        if self.total:
            head = f"{self.done}/{self.total} {self.desc}"
            if percent:
                head += f" ({100.0 * self.done / self.total:.0f}%)"
        else:
            head = f"{self.done} {self.desc}"
        parts = [head, f"{rate:.1f} {self.desc}/s"]
        if self.total and rate > 0:
            parts.append(f"ETA {_duration((self.total - self.done) / rate)}")
        if self.errors:
            parts.append(f"{self.errors} error{'s' if self.errors > 1 else ''}")
        return ", ".join(parts)

    def _draw(self) -> None:
        line = self._status(percent=False)  # the bar shows it
        if self.total:
            width = 16
            filled = int(width * self.done / self.total)
            line = f"[{'#' * filled}{'.' * (width - filled)}] {line}"
        columns = shutil.get_terminal_size((80, 24)).columns
        self.stream.write("\r" + line[: max(columns - 1, 10)] + "\x1b[K")
        self.stream.flush()
        self.drawn = True

    def update(self, done: int, errors: int) -> None:
        self.done, self.errors = done, errors
        if not self.enabled:
            return
        now = time.monotonic()
        if self.live:
            if now - self.last >= _LIVE_INTERVAL or done == self.total:
                self.last = now
                self._draw()
        elif now - self.last >= _PLAIN_INTERVAL:
            self.last = now
            print(f"maskkit: {self._status()}", file=self.stream, flush=True)

    def message(self, text: str) -> None:
        if self.live and self.drawn:
            self.stream.write("\r\x1b[K")
        print(text, file=self.stream, flush=True)
        if self.live and self.drawn:
            self._draw()

    def close(self) -> None:
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        if self.live and self.drawn:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
