"""Shared test configuration.

Hypothesis profiles: ``quick`` (default) runs every property test with 50 examples, so the
README's test command finishes in minutes on two cores; ``dev`` runs 100 and ``heavy``
1000 (``HYPOTHESIS_PROFILE=heavy pytest``), for a developer or a CI job that asks for them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# The first-compile notice ("maskkit: compiling kernels for first use") would land in the
# stderr of whichever test compiles a kernel first; test_jit.py checks it on its own.
os.environ["MASKKIT_QUIET_COMPILE"] = "1"

settings.register_profile(
    "heavy",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
settings.register_profile(
    "dev",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "quick",
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
# "ci" was the 1000-example profile's old name
settings.register_profile("ci", settings.get_profile("heavy"))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))

REPO = Path(__file__).resolve().parent.parent
#: Real annotation files kept beside the checkout (absent on a user's fresh clone).
REAL_DATA = REPO.parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The folder ``../shared/data/real``; skips the test when it is absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real data folder {REAL_DATA} is absent")
    return REAL_DATA


# ------------------------------------------------------------------ bounds checking
# Tests marked ``@pytest.mark.boundscheck(SCRIPT, argv=[...])`` run SCRIPT with every
# kernel compiled with bounds checking (an IndexError instead of a silent out-of-bounds
# access).  Such kernels cannot be cached, so all the scripts run in ONE subprocess
# (tests/_boundscheck_run.py: one compile of each kernel they share), started by the
# process that starts the run (the xdist controller, or pytest itself without xdist) as
# soon as pytest is configured, so that it compiles and runs beside the tests; the marked
# tests go last and read its results (a file named in the environment, which xdist's
# workers inherit) through the ``boundscheck`` fixture.

_RESULTS_ENV = "MASKKIT_TEST_BOUNDSCHECK"  # "<results file> <runner pid>"
_RUNNER: dict = {}
_MARKED: set = set()  # node ids of the marked tests (found by the controller)


def _marked_tests(paths: list[str], root: Path) -> set:
    """Node ids of the module-level tests decorated with ``pytest.mark.boundscheck`` in
    the test files under ``paths`` (read, not imported)."""
    import ast

    files = []
    for p in map(Path, paths):
        files += sorted(p.rglob("test_*.py")) if p.is_dir() else [p]
    out = set()
    for f in files:
        if not f.name.startswith("test_") or f.suffix != ".py":
            continue
        text = f.read_text(encoding="utf-8")
        if "mark.boundscheck(" not in text:
            continue
        for node in ast.parse(text).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_") and any(
                    "mark.boundscheck(" in ast.unparse(d) for d in node.decorator_list):
                out.add(f"{f.resolve().relative_to(root).as_posix()}::{node.name}")
    return out


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist's ``loadfile`` (a file's tests on one worker: its kernels compile once), with
    the bounds-check tests as one more "file" scheduled last."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid):
            return "~boundscheck" if nodeid in _MARKED else super()._split_scope(nodeid)

    return Scheduling(config, log)


def pytest_configure(config):
    import subprocess
    import sys
    import tempfile

    if hasattr(config, "workerinput") or config.option.collectonly:
        return  # an xdist worker: the controller started the runner
    paths = [str(Path(str(a).split("::")[0]).resolve()) for a in config.args]
    _MARKED.update(_marked_tests(paths, config.rootpath))
    if not _MARKED:
        return
    folder = tempfile.mkdtemp(prefix="maskkit-boundscheck-")
    results = os.path.join(folder, "results.jsonl")
    stderr = open(os.path.join(folder, "stderr.txt"), "wb")  # closed at unconfigure
    env = dict(os.environ, MASKKIT_BOUNDSCHECK="1", MASKKIT_NO_CACHE="1",
               MASKKIT_QUIET_COMPILE="1")
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_boundscheck_run.py")), results,
         str(config.rootpath), *paths], env=env, stdout=subprocess.DEVNULL,
        stderr=stderr, cwd=str(REPO))
    os.environ[_RESULTS_ENV] = f"{results} {proc.pid}"
    _RUNNER.update(proc=proc, folder=folder, stderr=stderr)


def pytest_unconfigure(config):
    import shutil

    proc = _RUNNER.pop("proc", None)
    if proc is None:
        return
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    _RUNNER["stderr"].close()
    shutil.rmtree(_RUNNER["folder"], ignore_errors=True)
    os.environ.pop(_RESULTS_ENV, None)


def pytest_collection_modifyitems(session, config, items):
    marked = [i for i in items if i.get_closest_marker("boundscheck")]
    if marked:
        items[:] = [i for i in items if not i.get_closest_marker("boundscheck")] + marked


def _runner_gone(pid: int) -> bool:
    """True when the runner has exited (on Linux, also when it is a zombie its parent has
    not reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except FileNotFoundError:
        return True
    except OSError:  # no /proc: ask the system
        try:
            os.kill(pid, 0)
        except OSError:
            return True
        return False


def _boundscheck_result(nodeid: str, timeout: float = 900.0) -> dict:
    import json
    import time

    where = os.environ.get(_RESULTS_ENV)
    if not where:
        raise RuntimeError("the bounds-check runner was not started (collect-only run?)")
    results, pid = where.rsplit(" ", 1)
    deadline = time.monotonic() + timeout
    while True:
        gone = _runner_gone(int(pid))  # read the results after this, not before
        if os.path.exists(results):
            with open(results, encoding="utf-8") as fh:
                for line in fh:
                    if line.endswith("\n"):
                        rec = json.loads(line)
                        if rec["id"] == nodeid:
                            return rec
        if gone or time.monotonic() > deadline:
            err = os.path.join(os.path.dirname(results), "stderr.txt")
            with open(err, "rb") as fh:
                tail = fh.read()[-3000:].decode(errors="replace")
            state = "ended" if gone else "timed out"
            raise AssertionError(f"the bounds-check runner {state} without a result for "
                                 f"{nodeid}: {tail}")
        time.sleep(0.2)


@pytest.fixture
def boundscheck(request) -> str:
    """The stdout of this test's ``boundscheck`` script, run with bounds checking in the
    shared subprocess; fails the test with the script's traceback when it raised."""
    rec = _boundscheck_result(request.node.nodeid)
    assert rec["ok"], rec["error"][-3000:]
    return rec["stdout"]
