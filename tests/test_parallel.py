"""Tests for maskkit.parallel beyond run_batch's documented behaviour (tests/test_batch.py):
the policy over a pool whose deaths fail one task only (as Dask's), the local pool's
workers (Ctrl-C, compile notice, parent death), bounded submission, the old import path."""

from __future__ import annotations

import collections
import functools
import itertools
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from maskkit.errors import MaskkitError, WorkerDiedError
from maskkit.parallel import run_batch
from maskkit.parallel.policy import apply_chunk, run_chunks


# --- the policy over a pool where a death fails only its own task (Dask's semantics) ----
class _Died(BaseException):
    """Stands for a lost worker: not an Exception, so apply_chunk does not catch it."""


class _Broken(Exception):
    """What submit raises when the pool broke while idle (BrokenProcessPool is one)."""


class FakePool:
    """Threads for workers; ``func`` raising _Died loses the task's worker."""

    who = "a fake worker"
    failure_hint = "; check the fake cluster"
    chunking = (0.05, 4, 0.0, 1)
    probe = 2
    inflight_per_worker = 2

    def __init__(self, func, workers=2, refuse=0):
        self.func = func
        self.workers = workers
        self.executor = ThreadPoolExecutor(workers)
        self.submitted = []  # (the chunk's items, tasks not done at that moment)
        self.futures = []
        self.refuse = refuse  # submits that fail as if the pool had broken while idle
        self.recovered = 0
        self.closed = None

    def submit(self, blob):
        if self.refuse:
            self.refuse -= 1
            raise _Broken()
        pending = sum(not f.done() for f in self.futures)
        self.submitted.append((pickle.loads(blob), pending))
        future = self.executor.submit(apply_chunk, self.func, blob)
        self.futures.append(future)
        return future

    @staticmethod
    def lost(exc):
        return isinstance(exc, (_Died, _Broken))

    def recover(self):
        self.recovered += 1
        return "was unplugged"

    def close(self, cancel):
        self.closed = cancel
        self.executor.shutdown(wait=True)


def _dies_on(x, *, bad, seen=None):
    if x in bad and (seen is None or x not in seen):
        if seen is not None:
            seen.add(x)
        raise _Died()
    time.sleep(0.001)
    return x * 10


def _run(pool, items):
    return list(run_chunks(lambda: pool, items, len(items), "things"))


def test_a_death_retries_its_chunk_one_item_at_a_time_alone(capsys):
    pool = FakePool(functools.partial(_dies_on, bad={13}, seen=set()))
    results = _run(pool, list(range(40)))
    assert sorted((r.item, r.value) for r in results) == [(i, 10 * i) for i in range(40)]
    assert pool.recovered == 1 and pool.closed is False
    sent = collections.Counter(i for items, _ in pool.submitted for i in items)
    retried = {i for i, n in sent.items() if n == 2}
    assert 13 in retried and all(n <= 2 for n in sent.values())
    for item in retried:  # its retry: a task of its own, with nothing else in flight
        assert [s for s in pool.submitted if item in s[0]][-1] == ([item], 0)
    err = capsys.readouterr().err
    assert f"a fake worker was unplugged with {len(retried)} things in flight; retrying" in err


def test_an_item_that_dies_twice_becomes_worker_died_error(capsys):
    pool = FakePool(functools.partial(_dies_on, bad={7}))
    results = _run(pool, list(range(30)))
    bad = [r for r in results if not r.ok]
    assert [r.item for r in bad] == [7]
    assert isinstance(bad[0].error, WorkerDiedError) and bad[0].error.source == "7"
    assert "a fake worker died twice while processing this item (it was unplugged)" in str(
        bad[0].error)
    assert sorted(r.item for r in results if r.ok) == [i for i in range(30) if i != 7]
    assert "7: a fake worker was unplugged again; giving up" in capsys.readouterr().err


def test_a_pool_that_breaks_while_idle_is_recovered_then_given_up_on(capsys):
    pool = FakePool(functools.partial(_dies_on, bad=set()), refuse=2)
    assert len(_run(pool, list(range(10)))) == 10
    assert pool.recovered == 2
    assert capsys.readouterr().err.count("was unplugged while idle; starting another") == 2
    pool = FakePool(functools.partial(_dies_on, bad=set()), refuse=100)
    with pytest.raises(WorkerDiedError, match="keep dying"):
        _run(pool, list(range(10)))
    assert pool.closed is True  # cancelled, not finished


def _fails_outside(blob):
    raise OSError("the cluster lost its scheduler")


def test_a_task_that_fails_outside_the_work_stops_the_run():
    pool = FakePool(None)
    real_submit = pool.executor.submit
    pool.executor.submit = lambda fn, func, blob: real_submit(_fails_outside, blob)
    with pytest.raises(MaskkitError, match=r"failed outside the work itself \(OSError: the "
                       r"cluster lost its scheduler\); check the fake cluster$"):
        _run(pool, list(range(5)))
    assert pool.closed is True


def test_the_pool_is_made_on_first_iteration_only():
    made = []
    runner = run_chunks(lambda: made.append(1) or FakePool(abs), [1, 2], 2, "x")
    assert made == []
    assert sorted(r.value for r in runner) == [1, 2] and made == [1]


# --- apply_chunk ------------------------------------------------------------------------
class _Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("no pickling here")


def _raise_unpicklable(x):
    if x == 1:
        raise _Unpicklable("boom")
    return x


def test_an_exception_that_cannot_travel_fails_its_item_only():
    _, blob = apply_chunk(_raise_unpicklable, pickle.dumps([0, 1, 2]))
    out = pickle.loads(blob)
    assert out[0] == (0, None) and out[2] == (2, None)
    assert out[1][0] is None and isinstance(out[1][1], MaskkitError)
    assert "cannot be sent back" in str(out[1][1]) and "_Unpicklable: boom" in str(out[1][1])


# --- the local pool's workers -----------------------------------------------------------
def _worker_state(x):
    time.sleep(0.02)
    return (os.getpid(), os.environ.get("MASKKIT_QUIET_COMPILE"),
            signal.getsignal(signal.SIGINT) == signal.SIG_IGN)


def test_workers_ignore_ctrl_c_and_only_the_first_one_announces_compiling(monkeypatch):
    monkeypatch.delenv("MASKKIT_QUIET_COMPILE", raising=False)
    states = {r.value for r in run_batch(_worker_state, range(20), workers=2, progress=False)}
    pids = {pid for pid, _, _ in states}
    assert len(pids) == 2 and os.getpid() not in pids
    assert all(ignores for _, _, ignores in states)
    quiet = {pid: q for pid, q, _ in states}
    assert sorted(quiet.values(), key=str) == ["1", None]
    assert os.environ.get("MASKKIT_QUIET_COMPILE") is None  # the parent's is untouched


_COLD = """
import time
import numpy as np
from maskkit import rle_area, rle_encode
from maskkit.parallel import run_batch

def area(x):
    time.sleep(0.05)  # both workers get items
    m = np.zeros((4, 4), np.uint8)
    m[1, : x % 4 + 1] = 1
    return rle_area(rle_encode(m))

if __name__ == "__main__":
    print(sorted(r.value for r in run_batch(area, range(8), workers=2, progress=False)))
"""


def test_a_cold_cache_is_announced_once_for_all_workers(tmp_path):
    script = tmp_path / "cold.py"
    script.write_text(_COLD)
    env = {k: v for k, v in os.environ.items()
           if k not in ("MASKKIT_QUIET_COMPILE", "NUMBA_CACHE_DIR")}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300, env={**env, "MASKKIT_CACHE_DIR": str(tmp_path / "c")})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[1, 1, 2, 2, 3, 3, 4, 4]"
    assert out.stderr.count("maskkit: compiling kernels for first use") == 1, out.stderr


def _die_then_state(x, *, marker):
    if x == 0 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(3)
    return _worker_state(x)


def test_replacement_workers_stay_quiet(monkeypatch, tmp_path):
    monkeypatch.delenv("MASKKIT_QUIET_COMPILE", raising=False)
    func = functools.partial(_die_then_state, marker=str(tmp_path / "died"))
    states = [r.value for r in run_batch(func, range(10), workers=2, progress=False)]
    assert (tmp_path / "died").exists()
    assert all(quiet == "1" for _, quiet, _ in states)  # the first workers are gone


def test_items_are_taken_lazily_a_bounded_number_ahead():
    taken = itertools.count()
    consumed = []

    def source():
        for i in taken:
            consumed.append(i)
            yield i

    run = run_batch(abs, source(), workers=2, progress=False)
    for n, _ in enumerate(run, 1):
        if n == 3000:
            break
    run.close()
    # ahead of the caller: at most 2 tasks per worker in flight and as many finished ones
    # not handed over yet, of at most 512 items each
    assert 3000 <= len(consumed) <= 3000 + 2 * (2 * 2) * 512


_ORPHAN = """
import os, signal, sys, time
from maskkit.parallel import run_batch

def work(x):
    if x < 4:
        time.sleep(0.05)
        return os.getpid()
    time.sleep(60)

if __name__ == "__main__":
    pids = set()
    run = run_batch(work, range(100), workers=2, progress=False)  # still running below
    for r in run:
        pids.add(r.value)
        if len(pids) == 2:
            break
    time.sleep(0.2)  # the workers are busy with 60 s items now
    print(*pids, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_exit_when_the_parent_is_killed(tmp_path):
    script = tmp_path / "orphan.py"
    script.write_text(_ORPHAN)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=60, env={**os.environ})
    assert out.returncode == -signal.SIGKILL
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids)


def test_no_pool_thread_outlives_a_finished_run():
    before = set(threading.enumerate())
    assert len(list(run_batch(abs, range(100), workers=2, progress=False))) == 100
    assert set(threading.enumerate()) <= before


def _sleepy(x):
    time.sleep(0 if x == 0 else 30)
    return x


def test_a_cancelled_run_stops_its_workers_and_threads():
    before = set(threading.enumerate())
    start = time.monotonic()
    run = run_batch(_sleepy, range(20), workers=2, progress=False)
    assert next(run).item == 0
    run.close()
    assert time.monotonic() - start < 10
    assert set(threading.enumerate()) <= before


# --- the names ----------------------------------------------------------------------------
def test_worker_died_error_lives_with_the_other_errors():
    import maskkit.errors
    import maskkit.parallel

    assert maskkit.parallel.WorkerDiedError is maskkit.errors.WorkerDiedError
    assert issubclass(WorkerDiedError, MaskkitError) and issubclass(WorkerDiedError,
                                                                    RuntimeError)
