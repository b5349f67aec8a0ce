"""Fixtures of the customer tests."""

import pytest

from wholesale.kit import faults


@pytest.fixture(autouse=True)
def _no_leftover_faults():
    """Every test starts and ends with no fault point armed (a fault left armed would fail another test's run)."""
    faults.clear()
    yield
    faults.clear()
