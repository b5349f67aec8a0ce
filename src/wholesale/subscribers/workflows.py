"""Durable subscriber jobs: bulk imports (a chunk per transaction, resumable) and consent emails."""

from wholesale.config import get_settings
from wholesale.db.session import get_database
from wholesale.jobs.workflow import job, step
from wholesale.subscribers import bulk, service


@step()
def step_import_chunk(bulk_id: str) -> bool:
    """Import the next chunk; its rows and their results commit together, so a re-run continues where it stopped."""
    with get_database().transaction() as session:
        return bulk.process_bulk_chunk(session, bulk_id)


@job("subscribers.bulk_import")
def bulk_import(bulk_id: str) -> None:
    """Import every row of a bulk job, chunk by chunk."""
    while not step_import_chunk(bulk_id):
        pass


@step()
def step_send_consent_email(subscriber_id: str) -> bool:
    """Send the consent email with a new link (the step's recorded result is a bool: the token stays out of the
    job tables)."""
    base = get_settings().link_base_url
    with get_database().transaction() as session:
        return service.send_consent_email(session, subscriber_id, base)


@job("subscribers.send_consent_email")
def send_consent_email(subscriber_id: str) -> bool:
    """Send the consent-to-move email of a pending subscriber."""
    return step_send_consent_email(subscriber_id)
