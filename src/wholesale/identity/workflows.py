"""Identity's housekeeping (scheduled in `wholesale.workers`): ended portal sessions are forgotten."""

from datetime import datetime, timedelta
from typing import Any

from dbos import DBOS

from wholesale.db.session import get_database
from wholesale.identity import accounts
from wholesale.jobs.workflow import job
from wholesale.kit import clock


@DBOS.step()
def _purge_sessions() -> int:
    with get_database().transaction() as session:
        return accounts.purge_sessions(session, clock.now() - timedelta(days=1))


@job("identity.purge_portal_sessions")
def purge_portal_sessions(_scheduled: datetime, _context: Any) -> None:
    """Delete portal sessions that expired or were revoked more than a day ago."""
    _purge_sessions()
