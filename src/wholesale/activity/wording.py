"""Audit rows and feed events in plain words, for the portal: what happened and who did it.

`describe` reads the data a reader may see (a partner's view of a compliance row carries only a status and the
reason "restricted-party review"), so the words never say more than the row shown to that reader."""

from collections.abc import Callable
from typing import Any

from wholesale.events.catalog import COMPLIANCE_REASON

Data = dict[str, Any]


def _list(values: Any) -> str:
    if isinstance(values, (list, tuple)):
        return ", ".join(str(v).replace("_", " ") for v in values) or "nothing"
    return str(values).replace("_", " ")


def _status(value: Any) -> str:
    return str(value or "unknown").replace("_", " ")


def _pair(value: Any) -> tuple[Any, Any]:
    """A change stored as [before, after] (raw rows), or only its new value (a feed's view)."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return value[0], value[1]
    return None, value


def _update(d: Data) -> str:
    parts = []
    if d.get("added"):
        parts.append(f"add {_list(d['added'])}")
    if d.get("removed"):
        parts.append(f"remove {_list(d['removed'])}")
    if d.get("limits"):
        parts.append("caps " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(d["limits"].items())))
    if "externalId" in d:
        parts.append(f"external id {_pair(d['externalId'])[1]}")
    if "address" in d:
        parts.append("new billing address")
    return "Change requested" + (f": {'; '.join(parts)}" if parts else "")


def _removal(d: Data) -> str:
    reason = str(d.get("reason") or "")
    if reason.startswith("compliance") or reason == COMPLIANCE_REASON:
        return f"Deprovisioning started: {COMPLIANCE_REASON}"
    return "Removal requested" + (
        " by the partner" if reason == "partner request" else (f" ({reason})" if reason else "")
    )


def _settled(d: Data) -> str:
    status = d.get("to") or d.get("status")
    return f"Provisioning finished: {_status(status)}"


def _package_change(d: Data) -> str:
    before, after = _pair(d.get("package"))
    if before:
        return f"User's package changed from {_status(before)} to {_status(after)}"
    return f"User's package changed to {_status(after)}" if after else "User changed"


def _template(verb: str) -> Callable[[Data], str]:
    return lambda d: f"Customer template “{d['name']}” {verb}" if d.get("name") else f"Customer template {verb}"


def _report(verb: str) -> Callable[[Data], str]:
    def words(d: Data) -> str:
        kind = " ".join(str(d[k]).replace("_", " ").lower() for k in ("type", "category") if d.get(k))
        return f"Billing report{' (' + kind + ')' if kind else ''} {verb}"

    return words


WORDS: dict[str, Callable[[Data], str]] = {
    # customers
    "customer.created": lambda d: (
        f"Customer created with {_list(d.get('packages', []))}" + (f" ({d['country']})" if d.get("country") else "")
    ),
    "customer.update_requested": _update,
    "org.created": lambda d: "Organisation created",
    "org.country_changed": lambda d: f"Organisation country changed from {d.get('from')} to {d.get('to')}",
    "customer.settled": _settled,
    "customer.failed": lambda d: "Provisioning failed" + (f": {d['error']}" if d.get("error") else ""),
    "customer.delete_requested": _removal,
    "customer.deleted": lambda d: "Customer removed",
    # compliance, as much as the reader may see
    "compliance.screened": lambda d: (
        "Screened against the restricted-party lists" + (f": {d['decision']}" if d.get("decision") else "")
    ),
    "compliance.case_opened": lambda d: f"Compliance review opened ({COMPLIANCE_REASON}); services stay active",
    "compliance.deadline_warning": lambda d: (
        f"Compliance review: {d.get('daysLeft')} day(s) left before the customer is deprovisioned"
    ),
    "compliance.approve": lambda d: "Compliance review resolved: the customer is compliant",
    "compliance.cleared": lambda d: "Compliance review resolved: a new screening is clear",
    "compliance.reject": lambda d: (
        f"Compliance review: not compliant ({COMPLIANCE_REASON}); resolve it before the deadline"
    ),
    "compliance.deprovision": lambda d: f"Deprovisioned after {COMPLIANCE_REASON}",
    "compliance.contact_attempt": lambda d: (
        "The compliance team tried to reach the partner"
        + (f" by {d['channel']}: {d['outcome']}" if d.get("channel") else "")
    ),
    "compliance.allow_listed": lambda d: "Reviewed list matches cleared for later screenings",
    # subscribers
    "subscriber.created": lambda d: "User added" + (f" with {_status(d['package'])}" if d.get("package") else ""),
    "subscriber.updated": _package_change,
    "subscriber.deleted": lambda d: "User removed" + (f" ({d['reason']})" if d.get("reason") else ""),
    "subscriber.consent_email_sent": lambda d: "Consent email sent to the user",
    "subscriber.consent_resent": lambda d: "Consent email sent again",
    "subscriber.consent_accepted": lambda d: "The user accepted the move into the customer's organisation",
    "subscribers.import_requested": lambda d: f"Bulk import of {d.get('rows', '?')} users requested",
    "subscribers.import_finished": lambda d: (
        f"Bulk import finished: {d.get('rows', '?')} rows, {d.get('failed', 0)} failed"
        + (f" (stopped on an internal error: {d['stopped']})" if d.get("stopped") else "")
    ),
    # the partner's own settings
    "template.created": _template("created"),
    "template.updated": _template("changed"),
    "template.deleted": _template("deleted"),
    "billing_report.created": _report("requested"),
    "billing_report.completed": lambda d: (
        "Billing report ready" + (f" ({d['lineItems']} lines)" if "lineItems" in d else "")
    ),
    "billing_report.failed": lambda d: "Billing report failed",
    "billing_report.deleted": _report("deleted"),
    "partner.created": lambda d: (
        ("Sub-partner" if d.get("parentOrgId") else "Partner")
        + (f" “{d['name']}” created" if d.get("name") else " created")
    ),
    "token.created": lambda d: "API token issued" + (f" ({d['role']})" if d.get("role") else ""),
    "token.revoked": lambda d: "API token revoked",
    "portal.signed_in": lambda d: "Signed in to the portal",
    "portal.signed_out": lambda d: "Signed out of the portal",
    "portal_user.created": lambda d: "Portal account created" + (f" ({d['role']})" if d.get("role") else ""),
    "portal_user.disabled": lambda d: "Portal account disabled; its sessions ended",
    "portal_user.locked": lambda d: "Portal account locked after repeated wrong passwords",
    "portal_user.password_reset": lambda d: "Portal password reset; its sessions ended",
    "webhook.disabled": lambda d: "Webhook disabled after 24 hours of failed deliveries",
    # the platform
    "site.created": lambda d: "Meetings site created" + (f", call-in number {d['number']}" if d.get("number") else ""),
    "site.rederived": lambda d: (
        "Meetings site's default call-in number now " + str((d.get("to") or {}).get("number") or "none")
    ),
    "site.pinned": lambda d: (
        "Meetings site's default call-in number pinned to " + str((d.get("to") or {}).get("number") or "a number")
    ),
    "telephony.replaced": lambda d: f"Telephony domain replaced ({d.get('numbers', '?')} numbers)",
    "locations.replaced": lambda d: "Country-to-location overrides replaced",
    "lists.loaded": lambda d: "Restricted-party lists loaded",
    "sandbox.clock_moved": lambda d: "Sandbox clock moved" + (f" to {d['now']}" if d.get("now") else ""),
    "sandbox.tick": lambda d: "Scheduled jobs run now (sandbox tick)",
    "ops.job_probe_created": lambda d: "Job probe started",
    "events.purged": lambda d: f"{d.get('events', '?')} feed events past their retention removed",
}


def describe(action: str, data: Data | None) -> str:
    """What happened, in a sentence; an action without words of its own reads as its name."""
    words = WORDS.get(action)
    if words is not None:
        try:
            return words(data or {})
        except (KeyError, TypeError, ValueError, AttributeError):
            pass  # a row of an older shape: its name will do
    subject, _, verb = action.partition(".")
    return f"{subject.replace('_', ' ').capitalize()} {verb.replace('_', ' ')}".strip()


def actor(actor_id: str | None, role: str | None) -> str:
    """Who acted, in words: the compliance team and the platform stay unnamed people."""
    actor_id = actor_id or "system"
    kind, _, rest = actor_id.partition(":")
    if role == "reviewer":
        return "Compliance team"
    if role == "operator":
        return "Platform operator" + (" (portal)" if kind == "portal" else "")
    if kind == "token":
        return f"API ({role or 'token'} …{rest[-6:]})"
    if kind == "portal":
        return f"Portal ({role or 'user'} …{rest[-6:]})"
    if kind == "job":
        return f"Platform ({rest.replace('_', ' ')})"
    if kind == "cli":
        return "Operator command line"
    if kind == "user":
        return "The user"
    return "Platform"
