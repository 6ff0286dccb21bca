"""The rules of a batch run, written once for every engine.

* :class:`BatchRun`: ``on_error`` (raise the first error, naming its item, or yield
  errors and go on) and the progress display.
* :func:`run_chunks`: items go to an executor in chunks sized by the measured time per
  item (:class:`Chunker`), a bounded number of tasks in flight (millions of items are
  never all submitted), and a worker that dies does not lose work: the items it may have
  been running are retried one at a time, and an item that kills a worker again becomes a
  :class:`~maskkit.errors.WorkerDiedError` result.
* :func:`apply_chunk`: what a worker runs; a result or exception that cannot travel back
  fails its item only.

``run_chunks`` drives a pool with this duck-typed interface (see
:mod:`maskkit.parallel.executors`):

``workers``, ``chunking``, ``probe``, ``inflight_per_worker``
    how many workers, and the :class:`Chunker` settings and tasks in flight per worker;
``who``, ``failure_hint``
    what a worker is called in messages (``"a worker process"``), and what to check
    when a task fails outside the work itself (``""`` or ``"; check that ..."``);
``submit(blob) -> concurrent.futures.Future``
    run ``apply_chunk(func, blob)`` on a worker;
``lost(exc) -> bool``
    whether a task's (or ``submit``'s) exception means that a worker died;
``recover() -> str``
    after a death: make the pool usable again (every task the death doomed is then
    done) and say how the worker ended (``"was killed by SIGKILL"``);
``close(cancel)``
    end the pool; ``cancel`` stops work still running.
"""

from __future__ import annotations

import collections
import itertools
import pickle
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, CancelledError, wait
from dataclasses import dataclass
from typing import Any

from maskkit.errors import MaskkitError, WorkerDiedError
from maskkit.parallel.progress import Progress, echo

__all__ = ["BatchRun", "Chunker", "ItemResult", "apply_chunk", "run_chunks", "run_in_process"]

#: Deaths in a row, with no item in flight, before a run gives up.
_IDLE_DEATHS = 3


@dataclass
class ItemResult:
    """The outcome of one item of a batch.

    Attributes
    ----------
    item : object
        The input item, as given to :func:`~maskkit.parallel.run_batch`.
    value : object
        What ``func(item)`` returned; ``None`` when it failed.
    error : BaseException or None
        The exception ``func(item)`` raised, ``None`` on success.
    more : bool
        True when the next result is already here (it finished in the same task as this
        one): a caller that writes results can gather them into one write and still
        write everything that has finished before waiting again.

    Examples
    --------
    >>> ItemResult("a.png", 3, None).ok
    True
    """

    item: Any
    value: Any
    error: BaseException | None
    more: bool = False

    @property
    def ok(self) -> bool:
        """True when the item succeeded."""
        return self.error is None


class BatchRun:
    """The results of :func:`~maskkit.parallel.run_batch`, as they complete; the error
    policy and the progress display are applied here, the same way for every engine.

    ``rate`` is items per second measured from the first finished item on, the figure
    the progress display shows: the first item pays for start-up (worker processes,
    compiling kernels on a cold cache), which says nothing about the rest of the run.

    Examples
    --------
    >>> from maskkit.parallel import run_batch
    >>> run = run_batch(abs, [-1, -2], workers=1, progress=False)
    >>> [r.value for r in run]
    [1, 2]
    """

    def __init__(self, engine: Iterator[ItemResult], on_error: str, reporter: Progress):
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
    def _drive(engine: Iterator[ItemResult], on_error: str, reporter: Progress):
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


def run_in_process(func, items) -> Iterator[ItemResult]:
    """Every item in this process, one after the other (``workers=1``).

    Examples
    --------
    >>> [(r.item, r.value) for r in run_in_process(len, ["ab", "c"])]
    [('ab', 2), ('c', 1)]
    """
    for item in items:
        try:
            value = func(item)
        except Exception as exc:
            yield ItemResult(item, None, exc)
        else:
            yield ItemResult(item, value, None)


class Chunker:
    """Chunk sizes from the measured time per item: ``probe`` items until the first
    chunk is back, then as many as fill ``target`` seconds (at most ``most``).

    ``chunking`` is ``(target, most, least, per_worker)``.  When the total is known the
    chunks also shrink towards the end of the job (guided self-scheduling): a chunk is at
    most the items left / (2 × workers), so every worker finishes within about one small
    chunk of the others instead of one idling while the last big chunk runs elsewhere;
    but not below ``least`` seconds of work, so that a task's round trip stays a small
    part of it; and the items are cut into at least ``per_worker`` chunks per worker.

    Examples
    --------
    >>> chunker = Chunker((0.05, 512, 0.0, 4), total=None, workers=2)
    >>> source = iter(range(10_000))
    >>> len(chunker.take(source))  # nothing measured yet: one item
    1
    >>> chunker.record(0.001, 1)  # 1 ms per item: 50 of them fill 0.05 s
    >>> len(chunker.take(source))
    50
    """

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
        """How many items the next chunk takes."""
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


def apply_chunk(func, blob: bytes) -> tuple[float, bytes]:
    """Run ``func`` on each item of the pickled chunk ``blob``, in a worker.

    Returns ``(seconds, pickled [(value, error), ...])``: the chunk and its results
    travel as one pickle each, which executors and Dask's scheduler pass on as bytes
    instead of serialising item by item.  An exception or a value that cannot be pickled
    becomes a :class:`~maskkit.errors.MaskkitError` for its item alone.

    Examples
    --------
    >>> import pickle
    >>> seconds, out = apply_chunk(int, pickle.dumps(["1", "x"]))
    >>> [(value, type(error).__name__) for value, error in pickle.loads(out)]
    [(1, 'NoneType'), (None, 'ValueError')]
    """
    start = time.perf_counter()
    out = []
    for item in pickle.loads(blob):
        try:
            out.append((func(item), None))
        except Exception as exc:
            out.append((None, exc))
    seconds = time.perf_counter() - start
    try:
        return seconds, pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        pass
    for i, (value, error) in enumerate(out):  # find what cannot travel; the rest does
        try:
            pickle.loads(pickle.dumps((value, error), protocol=pickle.HIGHEST_PROTOCOL))
        except Exception as exc:
            what = "an exception" if error is not None else "a result"
            message = f"{what} cannot be sent back from a worker process ({type(exc).__name__}: {exc})"
            if error is not None:
                message += f"; it was {type(error).__name__}: {error}"
            out[i] = (None, MaskkitError(message))
    return seconds, pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)


def run_chunks(make_pool, items, total: int | None, desc: str) -> Iterator[ItemResult]:
    """Run the items on the pool ``make_pool()`` returns (see the module docstring),
    yielding results as they complete.

    The pool is made when the first result is asked for, closed at the end, and
    cancelled when the caller stops early.
    """
    pool = make_pool()
    chunker = Chunker(pool.chunking, total, pool.workers, probe=pool.probe)
    source = iter(items)
    inflight: dict = {}  # future -> (chunk, strikes)
    # Chunks to send before new ones: the items a dead worker may have been running
    # ("strike" 1), one per task and each alone in flight, so that another death names
    # its culprit; and chunks a broken pool refused (strikes unchanged).
    again: collections.deque = collections.deque()
    exhausted = False
    idle_deaths = 0
    finished = False

    def next_task():
        nonlocal exhausted
        if again:
            if again[0][1] and inflight:
                return None  # a suspect runs alone
            return again.popleft()
        if inflight and any(strikes for _, strikes in inflight.values()):
            return None
        if exhausted:
            return None
        limit = pool.inflight_per_worker if chunker.per_item is not None else 1
        if len(inflight) >= limit * pool.workers:
            return None
        chunk = chunker.take(source)
        if not chunk:
            exhausted = True
            return None
        return chunk, 0

    def settle(future, ready: list, died: list) -> None:
        chunk, strikes = inflight.pop(future)
        exc = CancelledError() if future.cancelled() else future.exception()
        if exc is None:
            seconds, blob = future.result()
            try:
                results = pickle.loads(blob)
            except Exception as err:  # e.g. a value of a class this process cannot import
                error = MaskkitError(f"a result cannot be read back from a worker "
                                     f"({type(err).__name__}: {err})")
                results = [(None, error)] * len(chunk)
            chunker.record(seconds, len(chunk))
            last = len(chunk) - 1
            ready.extend(ItemResult(item, value, error, i < last)
                         for i, (item, (value, error)) in enumerate(zip(chunk, results)))
        elif pool.lost(exc):
            died.append((chunk, strikes))
        else:
            raise MaskkitError(f"a task failed outside the work itself ({type(exc).__name__}: "
                               f"{exc}){pool.failure_hint}") from exc

    def bury(died: list, ready: list) -> None:
        """Workers died: recover the pool, then retry (or give up on) what they ran."""
        nonlocal idle_deaths
        cause = pool.recover()
        for future in [f for f in inflight if f.done()]:  # the same death doomed these
            settle(future, ready, died)
        idle_deaths = 0 if died else idle_deaths + 1
        if idle_deaths > _IDLE_DEATHS:
            raise WorkerDiedError(f"worker processes keep dying (the last one {cause})")
        suspects = []
        for chunk, strikes in died:
            if not strikes:
                suspects.extend((item, 1) for item in chunk)
                continue
            item = chunk[0]
            echo(f"maskkit: warning: {item}: {pool.who} {cause} again; giving up")
            ready.append(ItemResult(item, None, WorkerDiedError(
                f"{pool.who} died twice while processing this item (it {cause}): "
                "a crash in native code or the out-of-memory killer", source=item)))
        if suspects:
            echo(f"maskkit: warning: {pool.who} {cause} with {len(suspects)} {desc} in "
                 "flight; retrying them one at a time in a fresh worker")
            again.extend(([item], strikes) for item, strikes in suspects)
        elif not died:
            echo(f"maskkit: warning: {pool.who} {cause} while idle; starting another")

    def submit_more(ready: list) -> None:
        while (task := next_task()) is not None:
            try:
                future = pool.submit(pickle.dumps(task[0], protocol=pickle.HIGHEST_PROTOCOL))
            except Exception as exc:
                if not pool.lost(exc):
                    raise
                again.appendleft(task)  # the pool broke before taking it
                bury([], ready)
                continue
            inflight[future] = task

    try:
        ready: list[ItemResult] = []
        submit_more(ready)
        yield from ready
        poll = getattr(pool, "poll", None)
        while inflight:
            done, _ = wait(inflight, timeout=getattr(pool, "poll_seconds", None),
                           return_when=FIRST_COMPLETED)
            if not done:  # a long task, or an outcome the pool has not passed on
                if poll is not None:
                    poll()
                continue
            ready, died = [], []
            for future in done:
                settle(future, ready, died)
            if died:
                bury(died, ready)
            # the workers get their next tasks before the caller handles these results
            # (writing them takes time the workers would otherwise idle)
            submit_more(ready)
            yield from ready
        finished = True
    finally:
        pool.close(cancel=not finished)
