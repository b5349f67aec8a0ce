"""Every background job by name, with the queue it runs on.

Services enqueue by name through the port (`jobs.enqueue`), so a domain starts another domain's work without
importing it; `@job(name, queue=...)` checks its declaration against this table. A new job is a line here.
"""

JOBS: dict[str, str] = {
    # Customer lifecycle (wholesale.provisioning): partitioned by customer, so one customer's changes apply in order.
    "customers.provision": "provisioning",
    "customers.update": "provisioning",
    "customers.delete": "provisioning",
    # Batches of queued creates and updates (`customers.runs`), started by the provisioning pump, not enqueued.
    "customers.converge_batch": "provisioning",
    # Compliance (R10-R14): screening never competes with provisioning (R11).
    "compliance.screen_customer": "compliance",
    "compliance.screen_batch": "compliance",  # the screenings a provisioning batch asked for
    "compliance.check_deadlines": "default",
    "compliance.rescreen_all": "default",
    "subscribers.bulk_import": "default",
    "subscribers.send_consent_email": "default",
    "dialin.rederive": "default",
    "billing.generate_report": "default",
    "events.purge": "default",
    # Webhooks: partitioned by webhook, so one webhook's deliveries go in order, one at a time.
    "webhooks.deliver": "webhooks",
    "webhooks.redeliver": "webhooks",
    "webhooks.purge_deliveries": "default",
    "ops.probe": "default",
    "ops.purge_idempotency_keys": "default",
    "ops.purge_rate_limit_buckets": "default",
    "identity.purge_portal_sessions": "default",
}
