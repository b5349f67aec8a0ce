"""Durable dial-in jobs: re-derive sites after the telephony domain changed (R18)."""

from dbos import DBOS

from wholesale.db.session import get_database
from wholesale.dialin import service
from wholesale.jobs.workflow import job


@DBOS.step(retries_allowed=True, max_attempts=5, interval_seconds=0.2, backoff_rate=2.0)
def step_rederive() -> int:
    """In one transaction: re-derive every site whose number is gone or unavailable; return how many changed."""
    with get_database().transaction() as session:
        return len(service.rederive_after_domain_change(session))


@job("dialin.rederive")
def rederive() -> int:
    """Re-derive sites after the operator replaced the telephony domain."""
    return step_rederive()
