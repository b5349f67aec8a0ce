"""Durable dial-in jobs: re-derive sites after the telephony domain changed (R18)."""

from wholesale.db.session import get_database
from wholesale.dialin import service
from wholesale.jobs.workflow import job, step


@step()
def step_rederive() -> int:
    """In one transaction: re-derive every site whose number is gone or unavailable; return how many changed."""
    with get_database().transaction() as session:
        return len(service.rederive_after_domain_change(session))


@job("dialin.rederive")
def rederive() -> int:
    """Re-derive sites after the operator replaced the telephony domain."""
    return step_rederive()
