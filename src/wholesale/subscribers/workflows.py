"""Durable subscriber jobs: bulk imports (a chunk per transaction, resumable) and consent emails."""

import logging

from wholesale.config import get_settings
from wholesale.db.session import get_database
from wholesale.jobs.workflow import job, step
from wholesale.kit import faults
from wholesale.subscribers import bulk, service

log = logging.getLogger("wholesale.subscribers")


@step()
def step_import_chunk(bulk_id: str) -> bool:
    """Import the next chunk; its rows and their results commit together, so a re-run continues where it stopped."""
    faults.check("subscribers.bulk_chunk")
    with get_database().transaction() as session:
        return bulk.process_bulk_chunk(session, bulk_id)


@step()
def step_stop_import(bulk_id: str, reason: str) -> None:
    """Record every row not yet imported as failed and finish the job (its reader never sees it queued forever)."""
    with get_database().transaction() as session:
        bulk.stop_bulk(session, bulk_id, reason)


@job("subscribers.bulk_import")
def bulk_import(bulk_id: str) -> None:
    """Import every row of a bulk job, chunk by chunk; a chunk that still fails after its retries stops the import
    with the rest of its rows failed (imported rows stay), instead of leaving the job queued or running."""
    try:
        while not step_import_chunk(bulk_id):
            pass
    except Exception as exc:
        log.exception("bulk import %s stopped", bulk_id)
        step_stop_import(bulk_id, type(exc).__name__)


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
