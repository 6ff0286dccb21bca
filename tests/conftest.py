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
# access).  Such kernels cannot be cached, so all the scripts run in ONE subprocess (one
# compile of each kernel they share), started as soon as collection ends so that it
# compiles and runs beside the rest of the suite; the marked tests go last and read its
# results through the ``boundscheck`` fixture.

_BOUNDSCHECK: dict = {}


def pytest_collection_modifyitems(session, config, items):
    marked = [i for i in items if i.get_closest_marker("boundscheck")]
    if marked:
        items[:] = [i for i in items if not i.get_closest_marker("boundscheck")] + marked


def pytest_collection_finish(session):
    import json
    import subprocess
    import sys
    import tempfile

    if session.config.option.collectonly:
        return
    spec = []
    for item in session.items:
        m = item.get_closest_marker("boundscheck")
        if m is not None:
            spec.append({"id": item.nodeid, "script": m.args[0],
                         "argv": [str(a) for a in m.kwargs.get("argv", ())]})
    if not spec:
        return
    folder = tempfile.mkdtemp(prefix="maskkit-boundscheck-")
    spec_path = os.path.join(folder, "spec.json")
    with open(spec_path, "w", encoding="utf-8") as fh:
        json.dump(spec, fh)
    results = os.path.join(folder, "results.jsonl")
    stderr = open(os.path.join(folder, "stderr.txt"), "wb")
    env = dict(os.environ, MASKKIT_BOUNDSCHECK="1", MASKKIT_NO_CACHE="1",
               MASKKIT_QUIET_COMPILE="1")
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_boundscheck_run.py")), spec_path,
         results], env=env, stdout=subprocess.DEVNULL, stderr=stderr, cwd=str(REPO))
    _BOUNDSCHECK.update(proc=proc, results=results, folder=folder, stderr=stderr)


def pytest_sessionfinish(session, exitstatus):
    import shutil

    proc = _BOUNDSCHECK.pop("proc", None)
    if proc is not None:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        _BOUNDSCHECK["stderr"].close()
        shutil.rmtree(_BOUNDSCHECK["folder"], ignore_errors=True)


def _boundscheck_result(nodeid: str, timeout: float = 900.0) -> dict:
    import json
    import time

    proc = _BOUNDSCHECK.get("proc")
    if proc is None:
        raise RuntimeError("the bounds-check process was not started")
    deadline = time.monotonic() + timeout
    while True:
        finished = proc.poll() is not None  # read the results after this, not before
        if os.path.exists(_BOUNDSCHECK["results"]):
            with open(_BOUNDSCHECK["results"], encoding="utf-8") as fh:
                for line in fh:
                    if line.endswith("\n"):
                        rec = json.loads(line)
                        if rec["id"] == nodeid:
                            return rec
        if finished or time.monotonic() > deadline:
            with open(os.path.join(_BOUNDSCHECK["folder"], "stderr.txt"), "rb") as fh:
                tail = fh.read()[-3000:].decode(errors="replace")
            state = f"exited with {proc.returncode}" if finished else "timed out"
            raise AssertionError(f"the bounds-check process {state} before {nodeid}: {tail}")
        time.sleep(0.2)


@pytest.fixture
def boundscheck(request) -> str:
    """The stdout of this test's ``boundscheck`` script, run with bounds checking in the
    shared subprocess; fails the test with the script's traceback when it raised."""
    rec = _boundscheck_result(request.node.nodeid)
    assert rec["ok"], rec["error"][-3000:]
    return rec["stdout"]
