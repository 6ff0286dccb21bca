"""Tests for maskkit.parallel: engines agree, error policies, dead workers, progress."""

from __future__ import annotations

import functools
import os
import signal
import time
from pathlib import Path

import pytest

from maskkit.errors import InvalidInputError, MaskkitError
from maskkit.parallel import ItemResult, WorkerDiedError, echo, policy, progress, run_batch


# --- module-level work functions (picklable) -------------------------------------------
def square(x: int) -> int:
    return x * x


def fail_on(x: int, *, bad: frozenset, maskkit: bool = True) -> int:
    if x in bad:
        if maskkit:
            raise InvalidInputError(f"value {x} is bad")
        raise KeyError(x)
    return x * x


def die_once(x: int, *, victim: int, marker: str) -> int:
    """Kill the worker the first time ``victim`` is seen; succeed on the retry."""
    if x == victim and not os.path.exists(marker):
        Path(marker).touch()
        os._exit(7)
    return x * x


def always_sigkill(x: int, *, victim: int) -> int:
    if x == victim:
        os.kill(os.getpid(), signal.SIGKILL)
    return x * x


def sleepy(x: int) -> int:
    if x:
        time.sleep(30)
    return x


def unpicklable(x: int):
    if x == 3:
        return lambda: x  # a result that cannot travel back from a worker
    return x * x


def kill_a_sibling(x: int, *, marker: str) -> int:
    """On item 0, SIGKILL every other worker of the pool, once (idle or busy): the
    parent's children that are forks of it (its other children, such as the test
    suite's bounds-check process, are left alone)."""
    if x == 0 and not os.path.exists(marker):
        Path(marker).touch()
        me, parent = os.getpid(), os.getppid()
        with open(f"/proc/{parent}/cmdline", "rb") as fh:
            forked = fh.read()
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != me:
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                    with open(f"/proc/{entry}/cmdline", "rb") as fh:
                        cmdline = fh.read()
                except (OSError, ValueError, IndexError):
                    continue
                if ppid == parent and cmdline == forked:
                    os.kill(int(entry), signal.SIGKILL)
        time.sleep(0.2)
    time.sleep(0.002)  # work is left for the parent to notice the death with
    return x * x


def _values(results):
    return sorted((r.item, r.value) for r in results)


# --- engines agree ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "make", [lambda: list(range(40)), lambda: range(40), lambda: iter(range(40))]
)
def test_pool_and_in_process_give_the_same_results(make):
    pooled = list(run_batch(square, make(), workers=2, progress=False))
    serial = list(run_batch(square, make(), workers=1, progress=False))
    assert all(isinstance(r, ItemResult) and r.ok for r in pooled + serial)
    assert _values(pooled) == _values(serial) == [(i, i * i) for i in range(40)]


def test_empty_input_yields_nothing():
    assert list(run_batch(square, [], workers=2, progress=False)) == []


def test_partial_options_are_passed_to_workers():
    func = functools.partial(fail_on, bad=frozenset(), maskkit=True)
    assert _values(run_batch(func, [3, 4], workers=2, progress=False)) == [(3, 9), (4, 16)]


# --- error policies ---------------------------------------------------------------------
@pytest.mark.parametrize("workers", [1, 2])
def test_skip_yields_errors_and_goes_on(workers):
    func = functools.partial(fail_on, bad=frozenset({3, 5}))
    results = list(run_batch(func, range(10), workers=workers, on_error="skip", progress=False))
    assert len(results) == 10
    errors = {r.item: r.error for r in results if not r.ok}
    assert set(errors) == {3, 5}
    assert all(isinstance(e, InvalidInputError) for e in errors.values())
    # the item is named as the source of an error that named none
    assert errors[3].source == "3" and str(errors[3]).startswith("3: value 3 is bad")
    assert all(r.value is None for r in results if not r.ok)
    assert _values(r for r in results if r.ok) == [(i, i * i) for i in range(10) if i not in {3, 5}]


@pytest.mark.parametrize("workers", [1, 2])
def test_raise_reraises_maskkit_error_with_item_named(workers):
    func = functools.partial(fail_on, bad=frozenset({4}))
    with pytest.raises(InvalidInputError, match=r"^4: value 4 is bad$") as info:
        list(run_batch(func, range(10), workers=workers, progress=False))
    assert info.value.source == "4"


@pytest.mark.parametrize("workers", [1, 2])
def test_raise_keeps_other_exception_types_with_a_note(workers):
    func = functools.partial(fail_on, bad=frozenset({2}), maskkit=False)
    with pytest.raises(KeyError) as info:
        list(run_batch(func, range(5), workers=workers, progress=False))
    assert "while processing 2" in info.value.__notes__


def test_raise_cancels_the_rest_quickly():
    # item 0 fails at once; every other item would sleep 30 s
    func = functools.partial(fail_on, bad=frozenset({0}))
    start = time.monotonic()
    with pytest.raises(InvalidInputError):
        list(run_batch(sleepy_then(func), range(100), workers=2, progress=False))
    assert time.monotonic() - start < 10


def sleepy_then(func):
    return functools.partial(_sleepy_then, func=func)


def _sleepy_then(x, *, func):
    if x:
        time.sleep(30)
    return func(x)


def test_closing_the_iterator_early_stops_the_workers():
    start = time.monotonic()
    results = run_batch(sleepy, range(50), workers=2, progress=False)
    first = next(results)
    results.close()
    assert first.item == 0
    assert time.monotonic() - start < 10


def test_bad_arguments_are_refused_at_the_call():
    with pytest.raises(InvalidInputError, match="on_error must be 'raise' or 'skip'"):
        run_batch(square, [1], on_error="ignore")
    with pytest.raises(InvalidInputError, match="workers must be a whole number >= 1; got 0"):
        run_batch(square, [1], workers=0)


# --- dead workers -----------------------------------------------------------------------
def test_a_worker_that_dies_once_is_reported_and_its_items_retried(tmp_path, capsys):
    func = functools.partial(die_once, victim=6, marker=str(tmp_path / "died"))
    results = list(run_batch(func, range(20), workers=2, on_error="raise", progress=False))
    assert (tmp_path / "died").exists()
    assert _values(results) == [(i, i * i) for i in range(20)]  # nothing lost
    err = capsys.readouterr().err
    assert "a worker process exited with code 7" in err
    assert "retrying them one at a time in a fresh worker" in err


def test_an_item_that_kills_a_worker_twice_becomes_an_error(capsys):
    func = functools.partial(always_sigkill, victim=5)
    results = list(run_batch(func, range(20), workers=2, on_error="skip", progress=False))
    assert len(results) == 20
    bad = [r for r in results if not r.ok]
    assert [r.item for r in bad] == [5]
    assert isinstance(bad[0].error, WorkerDiedError)
    assert isinstance(bad[0].error, MaskkitError) and isinstance(bad[0].error, RuntimeError)
    assert "worker process died twice" in str(bad[0].error)
    assert "SIGKILL" in str(bad[0].error)
    assert _values(r for r in results if r.ok) == [(i, i * i) for i in range(20) if i != 5]
    err = capsys.readouterr().err
    assert "retrying" in err and "5: a worker process was killed by SIGKILL again" in err


def test_a_killer_item_is_raised_under_on_error_raise():
    func = functools.partial(always_sigkill, victim=3)
    with pytest.raises(WorkerDiedError, match=r"^3: a worker process died twice"):
        list(run_batch(func, range(8), workers=2, progress=False))


def test_a_result_that_cannot_travel_back_fails_its_items_not_the_run():
    results = list(run_batch(unpicklable, range(8), workers=2, on_error="skip",
                             progress=False))
    assert len(results) == 8
    bad = [r for r in results if not r.ok]
    assert 3 in [r.item for r in bad]
    assert all("cannot be sent back" in str(r.error) for r in bad)
    assert {r.item for r in results if r.ok} | {r.item for r in bad} == set(range(8))


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="finds its siblings in /proc")
def test_a_worker_killed_from_outside_is_replaced_and_nothing_is_lost(tmp_path, capsys):
    func = functools.partial(kill_a_sibling, marker=str(tmp_path / "killed"))
    results = list(run_batch(func, range(200), workers=2, on_error="raise", progress=False))
    assert (tmp_path / "killed").exists()
    assert _values(results) == [(i, i * i) for i in range(200)]
    assert "a worker process was killed by SIGKILL" in capsys.readouterr().err


def test_large_chunks_in_both_directions_do_not_deadlock():
    # each item is a ~100 kB string: chunks and replies far larger than a pipe's buffer
    items = [str(i) * (100_000 // len(str(i))) for i in range(1, 60)]
    start = time.monotonic()
    results = list(run_batch(str.upper, items, workers=2, progress=False))
    assert sorted(r.value for r in results) == sorted(items)
    assert time.monotonic() - start < 30


# --- progress ---------------------------------------------------------------------------
@pytest.mark.parametrize("workers", [1, 2])
def test_progress_false_is_silent(workers, capfd):
    list(run_batch(square, range(10), workers=workers, progress=False))
    assert capfd.readouterr() == ("", "")


def test_plain_progress_lines_when_not_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(progress, "_PLAIN_INTERVAL", 0.0)
    list(run_batch(square, range(3), workers=1, desc="masks"))
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[-1].startswith("maskkit: 3/3 masks (100%) [")
    assert "masks/s" in lines[-1] and "\r" not in captured.err
    # the first line comes before any rate can be measured: no made-up rate or ETA
    assert lines[0].startswith("maskkit: 1/3 masks (33%) [") and "<?, ? masks/s" in lines[0]


def test_plain_progress_ends_with_one_final_line(monkeypatch, capsys):
    list(run_batch(square, range(3), workers=1, desc="masks"))
    assert capsys.readouterr().err == ""  # shorter than the interval: nothing to report
    monkeypatch.setattr(progress, "_PLAIN_INTERVAL", 0.0)
    list(run_batch(square, range(3), workers=1, desc="masks"))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and lines[-1].startswith("maskkit: 3/3 masks (100%)")


def _sleepy(x):
    import time

    time.sleep(0.5 if x == 0 else 0.01)
    return x


def test_rate_leaves_out_the_first_item(monkeypatch):
    """The first item pays for start-up (compiling kernels on a cold cache): the rate the
    bar and the summary show is measured from the work finished after it."""
    run = run_batch(_sleepy, range(11), workers=1, progress=False)
    assert run.rate is None
    list(run)
    assert 40 < run.rate < 110  # 10 items of 10 ms, not 11 items in 0.6 s


def test_live_bar_on_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(progress, "_isatty", lambda stream: True)
    monkeypatch.setattr(progress, "_LIVE_INTERVAL", 0.0)
    func = functools.partial(fail_on, bad=frozenset({1}))
    list(run_batch(func, range(4), workers=1, on_error="skip"))
    err = capsys.readouterr().err
    assert "\r" in err
    assert "| 4/4 [" in err and "images/s" in err
    assert "1 error" in err and err.endswith("\n")


def test_echo_keeps_the_live_bar_intact(monkeypatch, capsys):
    monkeypatch.setattr(progress, "_isatty", lambda stream: True)
    monkeypatch.setattr(progress, "_LIVE_INTERVAL", 0.0)
    for result in run_batch(square, range(2), workers=1):
        echo(f"note {result.item}")
    err = capsys.readouterr().err
    assert "note 0\n" in err and "note 1\n" in err
    echo("after")
    assert capsys.readouterr().err == "after\n"


def test_chunk_sizes_follow_the_measured_time_per_item():
    chunker = policy.Chunker((0.2, 4096, 0.0, 4), total=100_000, workers=2, probe=8)
    source = iter(range(100_000))
    assert len(chunker.take(source)) == 8  # probe: nothing measured yet
    chunker.record(0.008, 8)  # 1 ms per item, cold start included
    chunker.record(0.2, 2000)  # then 0.1 ms per item over a full chunk
    # item-weighted: the small probe barely counts once a full chunk is back
    assert chunker.per_item == pytest.approx((0.7 * 0.008 + 0.2) / (0.7 * 8 + 2000))
    assert 1900 <= len(chunker.take(source)) <= 2100


def test_chunks_shrink_at_the_end_of_a_known_total():
    chunker = policy.Chunker((0.2, 4096, 0.0, 4), total=1000, workers=2)
    chunker.record(0.001, 1000)  # 1 µs per item: the target alone would take it all
    sizes = []
    source = iter(range(1000))
    while chunk := chunker.take(source):
        sizes.append(len(chunk))
    assert sum(sizes) == 1000
    assert sizes[0] <= 1000 // (2 * 4)  # at least 4 chunks per worker
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] == 1  # guided tail


def test_tail_chunks_keep_a_least_duration():
    # 0.1 ms per item and at least 30 ms per task: no task of fewer than 300 items until
    # fewer than 300 are left, however far the guided tail would shrink them
    chunker = policy.Chunker((0.2, 4096, 0.03, 4), total=10_000, workers=2)
    chunker.record(0.1, 1000)
    sizes = []
    source = iter(range(10_000))
    while chunk := chunker.take(source):
        sizes.append(len(chunk))
    assert sum(sizes) == 10_000
    assert all(size >= 300 for size in sizes[:-1])
    assert sizes == sorted(sizes, reverse=True)
