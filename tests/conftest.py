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
