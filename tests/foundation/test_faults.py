"""Fault points stay inert outside the sandbox and the tests: production code passes them at no cost and nobody
can arm them."""

import pytest

from wholesale.kit import faults


def test_off_means_points_pass_and_injection_is_refused(monkeypatch):
    monkeypatch.setattr(faults, "_enabled", False)
    with pytest.raises(RuntimeError, match="sandbox and in tests only"):
        faults.inject("customers.org")
    faults.check("customers.org")  # nothing armed, nothing raised


def test_on_a_point_fails_as_often_as_armed():
    faults.inject("tests.point", times=2, error_code=2570, description="drill")
    for _ in range(2):
        with pytest.raises(faults.InjectedFault) as raised:
            faults.check("tests.point")
        assert (raised.value.error_code, raised.value.description) == (2570, "drill")
    faults.check("tests.point")
