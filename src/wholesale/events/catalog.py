"""Which audit actions a partner sees as events (feed and webhooks), under which resource and event, and which of
their data: the partner's view of a change, never a reviewer's evidence (list entries, scores, notes)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

RESOURCES = ("customers", "subscribers", "compliance", "billingReports", "bulkImports", "webhooks")
EVENTS = ("created", "updated", "deleted")
COMPLIANCE_REASON = "restricted-party review"  # all a partner learns of why (R12-R14)


def _delete_reason(data: dict[str, Any]) -> dict[str, Any]:
    reason = str(data.get("reason") or "")
    return {"status": "deleting", "reason": COMPLIANCE_REASON if reason.startswith("compliance") else reason}


def _compliance(status: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def shape(data: dict[str, Any]) -> dict[str, Any]:
        return {"customerId": data.get("customerId"), "status": status, "reason": COMPLIANCE_REASON}

    return shape


@dataclass(frozen=True)
class Published:
    """How an audit action shows in the partner's feed: `keys` of its data pass, or `shape` builds the data."""

    resource: str
    event: str
    keys: tuple[str, ...] = ()
    shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    fixed: dict[str, Any] = field(default_factory=dict)

    def data(self, subject_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """The event's `data`: the subject's id, then what the partner may see."""
        shown = self.shape(data) if self.shape else {k: data[k] for k in self.keys if k in data}
        return {"id": subject_id, **shown, **self.fixed}


PUBLISHED: dict[str, Published] = {
    # customers
    "customer.created": Published("customers", "created", ("externalId", "packages", "country")),
    "customer.update_requested": Published(
        "customers",
        "updated",
        ("added", "removed", "limits", "externalId", "address"),
        fixed={"status": "provisioning"},
    ),
    "org.created": Published("customers", "updated", ("orgId",)),
    "customer.settled": Published(
        "customers", "updated", shape=lambda d: {"status": d.get("to"), "previousStatus": d.get("from")}
    ),
    "customer.failed": Published("customers", "updated", ("error",), fixed={"status": "error"}),
    "customer.delete_requested": Published("customers", "updated", shape=_delete_reason),
    "customer.deleted": Published("customers", "deleted", ("orgId", "externalId", "reason")),
    # compliance as the partner may see it: that a review runs, its deadline, its end; never what matched
    "compliance.case_opened": Published("compliance", "created", shape=lambda d: {"caseId": d.get("caseId")}),
    "compliance.deadline_warning": Published("compliance", "updated", ("customerId", "daysLeft", "deadline")),
    "compliance.approve": Published("compliance", "updated", shape=_compliance("resolved")),
    "compliance.cleared": Published("compliance", "updated", shape=_compliance("resolved")),
    "compliance.reject": Published("compliance", "updated", shape=_compliance("noncompliant")),
    "compliance.deprovision": Published("compliance", "updated", shape=_compliance("deprovisioned")),
    # subscribers
    "subscriber.created": Published("subscribers", "created", ("customerId", "package", "status")),
    "subscriber.updated": Published("subscribers", "updated", ("customerId", "package", "previousPackage", "status")),
    "subscriber.consent_accepted": Published("subscribers", "updated", fixed={"status": "active"}),
    "subscriber.deleted": Published("subscribers", "deleted", ("customerId", "package", "reason")),
    # bulk imports and billing reports
    "subscribers.import_requested": Published("bulkImports", "created", ("customerId", "rows")),
    "subscribers.import_finished": Published(
        "bulkImports", "updated", ("rows", "failed"), fixed={"status": "COMPLETED"}
    ),
    "billing_report.created": Published(
        "billingReports", "created", ("type", "category"), fixed={"status": "IN_PROGRESS"}
    ),
    "billing_report.completed": Published("billingReports", "updated", ("lineItems",), fixed={"status": "COMPLETED"}),
    "billing_report.failed": Published("billingReports", "updated", ("errors",), fixed={"status": "FAILED"}),
    "billing_report.deleted": Published("billingReports", "deleted"),
    # a webhook disabled after 24 hours of failed deliveries
    "webhook.disabled": Published("webhooks", "updated", ("name", "targetUrl"), fixed={"status": "inactive"}),
}
