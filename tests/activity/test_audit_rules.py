"""The audit log's rules without HTTP: what a partner sees of a row, only the changed fields in before/after, the
target types a filter knows, the words the portal uses."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wholesale.activity import audit, wording
from wholesale.events.catalog import PUBLISHED
from wholesale.events.models import AuditEvent
from wholesale.events.service import changed
from wholesale.identity.roles import Role
from wholesale.identity.schemas import Principal

SRC = Path(__file__).resolve().parents[2] / "src" / "wholesale"
PARTNER = audit.Reader(Principal("t", "org-a", Role.PARTNER_ADMIN, frozenset(), "org-a"), ("org-a",))
OPERATOR = audit.Reader(Principal("o", "platform", Role.OPERATOR, frozenset(), None), None)
EVIDENCE = {
    "note": "Mahan Air, SDN entry 12345",
    "score": 0.97,
    "hits": [{"source": "OFAC SDN", "entryId": "12345"}],
    "decision": "match",
    "entries": [{"source": "OFAC SDN", "entryId": "12345", "listVersion": "abc"}],
    "channel": "phone",
    "customerId": "cust-1",
    "caseId": "case-1",
    "reason": "compliance: partner unreachable after 3 contact attempts (R14)",
}


def _row(action: str, data: dict, subject_type: str = "compliance_case", **extra) -> AuditEvent:
    return AuditEvent(
        id=1,
        occurred_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        actor="token:x",
        actor_role="reviewer",
        actor_org_id="platform",
        partner_org_id="org-a",
        subject_type=subject_type,
        subject_id="subject-1",
        action=action,
        data=data,
        before=extra.get("before"),
        after=extra.get("after"),
        tracking_id="t-1",
    )


def test_target_types_name_every_subject_type_a_writer_uses():
    used = set()
    for path in SRC.rglob("*.py"):
        used |= set(re.findall(r'subject_type="([a-z_]+)"', path.read_text()))
    assert used and used <= set(audit.TARGET_TYPES), sorted(used - set(audit.TARGET_TYPES))


@pytest.mark.parametrize(
    "action",
    sorted(
        {a for a in PUBLISHED if a.startswith("compliance.")}
        | {"compliance.screened", "compliance.contact_attempt", "compliance.allow_listed", "customer.delete_requested"}
    ),
)
def test_a_partner_reads_a_compliance_row_only_as_its_feed_shows_it(action):
    row = _row(action, dict(EVIDENCE), before={"status": "open", "reason": None}, after={"status": "x", "reason": "y"})
    data, before, after = audit.shown(row, PARTNER)
    text = repr(data)
    for secret in ("SDN", "12345", "0.97", "match", "phone", "unreachable", "entries", "hits", "score", "note"):
        assert secret not in text, (action, secret)
    assert before is None and after is None
    published = PUBLISHED.get(action)
    expected = published.data("subject-1", dict(EVIDENCE)) if published else {}
    expected.pop("id", None)
    assert data == expected
    assert audit.shown(row, OPERATOR) == (EVIDENCE, row.before, row.after)


def test_a_partner_sees_its_own_rows_whole_but_for_secrets_meant_for_someone_else():
    row = _row("subscriber.consent_email_sent", {"to": "a@b.c", "link": "https://x/consent/SECRET"}, "subscriber")
    assert audit.shown(row, PARTNER)[0] == {"to": "a@b.c"}
    assert audit.shown(row, OPERATOR)[0]["link"].endswith("SECRET")
    update = _row(
        "customer.update_requested", {"added": ["webex_calling"]}, "customer", before={"x": 1}, after={"x": 2}
    )
    assert audit.shown(update, PARTNER) == ({"added": ["webex_calling"]}, {"x": 1}, {"x": 2})


def test_before_and_after_keep_only_the_changed_fields():
    assert changed({"status": "a", "name": "n"}, {"status": "b", "name": "n"}) == ({"status": "a"}, {"status": "b"})
    assert changed({"status": "a"}, {"status": "a"}) == (None, None)
    assert changed({"x": 1}, {"x": 1, "y": 2}) == ({"y": None}, {"y": 2})
    assert changed(None, {"x": 1}) == (None, {"x": 1})


def test_an_item_names_who_what_and_when_in_the_wire_shape():
    item = audit.as_item(_row("compliance.reject", dict(EVIDENCE)), PARTNER)
    assert item["id"] == "1" and item["created"] == "2026-03-01T12:00:00.000Z"
    assert item["targetType"] == "compliance_case" and item["orgId"] == "org-a" and item["trackingId"] == "t-1"
    assert item["data"] == {"customerId": "cust-1", "status": "noncompliant", "reason": "restricted-party review"}


def test_the_portal_words_every_published_action_and_survive_odd_data():
    for action in PUBLISHED:
        assert wording.describe(action, {}) and not wording.describe(action, {}).startswith(action)
    assert wording.describe("customer.settled", {"from": "provisioning", "to": "provisioned_with_errors"}) == (
        "Provisioning finished: provisioned with errors"
    )
    assert wording.describe("customer.settled", {"status": "provisioned"}) == "Provisioning finished: provisioned"
    assert wording.describe("subscriber.updated", {"package": ["webex_meetings", "webex_calling"]}) == (
        "User's package changed from webex meetings to webex calling"
    )
    assert wording.describe("customer.update_requested", {"limits": "not a dict"}) == "Customer update requested"
    assert wording.describe("widget.spun_up", {}) == "Widget spun up"
    assert wording.actor("token:abcdefghij", "reviewer") == "Compliance team"
    assert wording.actor("job:customers.provision", "job") == "Platform (customers.provision)"
    assert wording.actor("portal:abcdefghij", "partner-admin") == "Portal (partner-admin …efghij)"


@pytest.mark.parametrize(
    ("value", "instant"),
    [
        ("2026-03-01T00:00:00Z", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01T00:00:00.000Z", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01T02:00:00 02:00", datetime(2026, 3, 1, tzinfo=UTC)),  # an unencoded plus
        ("2026-03-01T02:00:00+02:00", datetime(2026, 3, 1, tzinfo=UTC)),
    ],
)
def test_instants_carry_their_zone(value, instant):
    assert audit.instant("from", value) == instant
