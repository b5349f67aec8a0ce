"""Hypothesis state machines over the lifecycles (issue 16), at service level on the test's rolled-back session
(tests/conftest.py `session`, `make_tenant`): the HTTP layer adds nothing to these rules, and without it a step
costs milliseconds, so hundreds of interleavings run in seconds.

- customers: create, update, delete and the workflow's run ("settle": converge with some packages failing every
  attempt, then settle with the failures; remove everything for a delete), in any order; every request is
  accepted exactly when customers/states.py's table allows it, and every run settles where the table says;
- subscribers: create (provisioned, or pending the consent move of a free account), package change, delete,
  resend, the consent email (the mailer job) and the click on its link (the latest link or an older one);
  subscribers/states.py decides, and the user is in the customer's org exactly when provisioned;
- compliance cases: open (a listed customer screened), approve, reject, re-screened clear or still listed, contact
  attempts, the 30-day deadline and the delete workflow; compliance/states.py decides, a customer has at most one
  open case and reads pending_rpl_review exactly while it has one;
- caps (R8): creates, package changes, deletes, limit changes (and the update run) and package removals on two
  capped customers in any order: `assigned` always equals the number of subscribers holding the package and
  never exceeds its limit; a request is refused exactly when it would break that.

`bench/fuzz.py` runs the same machines with many more, random examples (WHOLESALE_FUZZ_MACHINE_SCALE)."""

import time
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from fuzz_support import examples, record
from helpers import customer_body
from wholesale.kit.errors import BadRequest, Conflict, InvalidTransition, NotFound


def _settings(max_examples: int, steps: int = 20) -> settings:
    """The test's own examples, derandomized so `make test` runs the same ones every time; the bench
    (WHOLESALE_FUZZ_SCALE) runs many more, random ones."""
    scaled = examples(max_examples, "machine")
    return settings(
        max_examples=scaled,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=scaled == max_examples,
    )


SEEN: Counter[str] = Counter()  # the transitions and outcomes a run went through


def _seen(what: str) -> None:
    SEEN[what] += 1


def _run(name: str, machine: type[RuleBasedStateMachine], config: settings) -> Counter[str]:
    """Run a machine; record how many examples and steps it ran and what it went through (for bench/fuzz.py)."""
    steps = Counter[str]()
    SEEN.clear()

    class Counted(machine):  # type: ignore[misc,valid-type]
        def __init__(self) -> None:
            super().__init__()
            steps["examples"] += 1

        def check_invariants(self, *args: Any, **kwargs: Any) -> Any:
            steps["checks"] += 1  # once as each example starts, then after every step
            return super().check_invariants(*args, **kwargs)

    started = time.monotonic()
    try:
        run_state_machine_as_test(Counted, settings=config)
    except BaseException as exc:
        # Under Flaky (the session's state carried from example to example), the error found is in the chain.
        chain, seen_ids = [], set()
        current: BaseException | None = exc
        while current is not None and id(current) not in seen_ids:
            seen_ids.add(id(current))
            chain.append(f"{type(current).__name__}: {str(current)[:600]}")
            current = current.__cause__ or current.__context__
        record(
            "machine",
            machine=name,
            examples=steps["examples"],
            failures=1,
            seen=dict(sorted(SEEN.items())),
            error=chain,
        )
        raise
    record(
        "machine",
        machine=name,
        examples=steps["examples"],
        steps=steps["checks"] - steps["examples"],
        seconds=round(time.monotonic() - started, 1),
        failures=0,
        seen=dict(sorted(SEEN.items())),
    )
    return Counter(SEEN)


def _create_customer(session, ctx, packages: list[str], limits: dict[str, int] | None = None, **overrides: Any):
    from wholesale.customers import service as customers
    from wholesale.customers.schemas import CustomerCreate

    body = customer_body(ctx.template_id, packages=packages)
    if limits:
        body["provisioningParameters"]["packages"] = {"limits": limits}
    body.update(overrides)
    return customers.create_customer(session, ctx.tenant, CustomerCreate.model_validate(body))


def _provisioned(session, ctx, packages: list[str], limits: dict[str, int] | None = None, **overrides: Any):
    """A customer provisioned in the session by the run its workflow makes."""
    from wholesale.provisioning import steps

    customer = _create_customer(session, ctx, packages, limits, **overrides)
    session.flush()
    _failed, status = steps.converge(session, customer, new=True)
    assert status == "provisioned", status
    session.flush()
    return customer


def _rows(session, customer_id: str) -> dict[str, Any]:
    from wholesale.subscribers import repository

    return repository.package_rows(session, customer_id)


# ---------------------------------------------------------------------------------------------- customers

PACKAGE_SETS = [
    ["webex_meetings"],
    ["webex_meetings", "webex_calling"],
    ["webex_calling", "webex_suite"],
    ["webex_meetings", "webex_suite", "attendant_console"],
    ["webex_voice", "cisco_calling_plan"],
]
EXTRA = ["webex_meetings", "webex_calling", "webex_suite", "attendant_console", "webex_voice"]


def test_customer_lifecycle_follows_the_transition_table(session, make_tenant):
    from wholesale.customers import repository
    from wholesale.customers import service as customers
    from wholesale.customers.models import Customer
    from wholesale.customers.schemas import CustomerUpdate
    from wholesale.customers.states import SETTLED, TRANSITIONS, CustomerEvent, PackageStatus, outcome_event
    from wholesale.kit import faults
    from wholesale.packages.catalog import missing_addon_dependencies
    from wholesale.provisioning import steps

    ctx = make_tenant()
    E = CustomerEvent

    class CustomerLifecycle(RuleBasedStateMachine):
        ids = Bundle("customers")

        def __init__(self) -> None:
            super().__init__()
            self.status: dict[str, str] = {}  # what the table says each customer's stored status is
            self.packages: dict[str, list[str]] = {}

        @rule(target=ids, packages=st.sampled_from(PACKAGE_SETS))
        def create(self, packages: list[str]) -> str:
            customer = _create_customer(session, ctx, packages)
            self.status[customer.id] = "provisioning"
            self.packages[customer.id] = sorted(packages)
            return customer.id

        @rule(customer_id=ids, change=st.sampled_from(["add", "drop", "replace"]), package=st.sampled_from(EXTRA))
        def update(self, customer_id: str, change: str, package: str) -> None:
            """The partner adds a package, drops one, or asks for another set."""
            before = self.status[customer_id]
            current = set(self.packages[customer_id])
            if change == "add":
                packages = sorted(current | {package})
            elif change == "drop":
                packages = sorted(current - {package}) or [package]
            else:
                packages = PACKAGE_SETS[EXTRA.index(package)]
            allowed = (before, E.UPDATE_REQUESTED) in TRANSITIONS
            try:
                customers.update_customer(
                    session, ctx.tenant, customer_id, CustomerUpdate.model_validate({"packages": packages})
                )
            except BadRequest as exc:
                # 400200: an add-on without its base package (R9).
                assert allowed and missing_addon_dependencies(set(packages)), (packages, exc)
                _seen(f"{before}: update refused, add-on alone")
                return
            except NotFound:
                assert before == "deleted"
                _seen("deleted: update 404")
                return
            except InvalidTransition:
                assert not allowed and before != "deleted", before
                _seen(f"{before}: update refused")
                return
            except Conflict as exc:
                # 409300: a package still held (the full admin holds the customer's tier package, R5).
                assert allowed and exc.error_code == 409300, (before, exc)
                rows = _rows(session, customer_id)
                assert any(rows[n].assigned > 0 for n in set(rows) - set(packages)), exc
                _seen(f"{before}: update refused, package held")
                return
            assert allowed, before
            _seen(f"{before} -> updating")
            self.status[customer_id] = "updating"
            self.packages[customer_id] = sorted(packages)

        @rule(customer_id=ids)
        def delete(self, customer_id: str) -> None:
            before = self.status[customer_id]
            try:
                customers.delete_customer(session, ctx.tenant, customer_id)
            except NotFound:
                assert before == "deleted"
                _seen("deleted: delete 404")
                return
            except InvalidTransition:
                raise AssertionError(f"a delete from {before} was refused") from None
            assert before == "deleting" or (before, E.DELETE_REQUESTED) in TRANSITIONS, before
            _seen(f"{before} -> deleting")
            self.status[customer_id] = "deleting"

        @rule(customer_id=ids, failing=st.sets(st.sampled_from(sorted({p for s in PACKAGE_SETS for p in s}))))
        def settle(self, customer_id: str, failing: set[str]) -> None:
            """The customer's workflow runs to its end: packages in `failing` fail every grant attempt."""
            before = self.status[customer_id]
            if before == "deleting":
                assert steps.remove_everything(session, customer_id)
                _seen("deleting -> deleted")
                self.status[customer_id] = "deleted"
                return
            if before not in ("provisioning", "updating"):
                return  # no run in flight
            customer = session.get(Customer, customer_id)
            for name in failing:
                faults.inject(f"customers.grant:{name}", times=1000)
            try:
                failed, status = steps.converge(session, customer, new=before == "provisioning")
                if status is None:
                    status = steps.settle_with_failures(session, customer, failed)
            finally:
                faults.clear()
            session.flush()
            rows = list(repository.packages_of(session, [customer_id])[customer_id])
            assert all(r.status != PackageStatus.DELETING for r in rows), "removed packages stay after the run"
            assert sorted(r.name for r in rows) == self.packages[customer_id]
            for row in rows:
                if row.name in failed:
                    assert row.name in failing and row.status == PackageStatus.ERROR, row.name
                elif row.status == PackageStatus.ERROR:  # an earlier run's failure, not retried by this one
                    assert before == "updating"
                else:
                    assert row.status == PackageStatus.PROVISIONED, (row.name, row.status)
            event = outcome_event([r.status for r in rows])
            if customer.errors and event == E.SUCCEEDED:
                event = E.PARTIALLY_SUCCEEDED
            expected = TRANSITIONS[(before, event)]
            assert status == expected == customer.status, (before, event, status, customer.status)
            _seen(f"{before} -> {expected}")
            self.status[customer_id] = expected

        @invariant()
        def stored_and_shown_statuses_are_the_table_s(self) -> None:
            for customer_id, expected in self.status.items():
                stored = session.get(Customer, customer_id)
                if expected == "deleted":
                    assert stored.deleted_at is not None
                    with pytest.raises(NotFound):
                        customers.get_customer(session, ctx.tenant, customer_id, include_licenses=False)
                    continue
                assert stored.status == expected, (customer_id, stored.status, expected)
                shown = customers.get_customer(session, ctx.tenant, customer_id, include_licenses=False)
                assert shown["status"] == expected
                if expected in SETTLED:
                    assert shown["packages"] == self.packages[customer_id]

    _run("customer lifecycle", CustomerLifecycle, _settings(12))


# ---------------------------------------------------------------------------------------------- subscribers

SUBSCRIBER_PACKAGES = ["webex_meetings", "webex_calling", "webex_suite"]


def test_subscriber_lifecycle_follows_the_transition_table(session, make_tenant):
    from wholesale.identity.models import User
    from wholesale.subscribers import service
    from wholesale.subscribers.mailer import OUTBOX
    from wholesale.subscribers.models import Subscriber
    from wholesale.subscribers.schemas import SubscriberCreate, SubscriberUpdate
    from wholesale.subscribers.states import TRANSITIONS, SubscriberEvent

    ctx = make_tenant()
    E = SubscriberEvent

    class SubscriberLifecycle(RuleBasedStateMachine):
        ids = Bundle("subscribers")

        def __init__(self) -> None:
            super().__init__()
            self.customer = _provisioned(session, ctx, ["webex_meetings", "webex_calling", "webex_suite"])
            self.status: dict[str, str] = {}
            self.tokens: dict[str, list[str]] = {}  # links' tokens sent, oldest first
            self.live_token: dict[str, str | None] = {}  # the one that works
            self.extension = 2000

        def _params(self) -> dict[str, str]:
            self.extension += 1
            return {"firstName": "Ada", "lastName": "Machine", "extension": str(self.extension)}

        @rule(target=ids, package=st.sampled_from(SUBSCRIBER_PACKAGES), free=st.booleans())
        def create(self, package: str, free: bool) -> str:
            email = f"sm-{uuid.uuid4().hex[:12]}@example.com"
            if free:
                service.create_free_account(session, email, first_name="Free", last_name="Account")
            body = {
                "customerId": self.customer.id,
                "email": email,
                "packages": [package],
                "provisioningParameters": self._params(),
            }
            subscriber, rendered = service.create_subscriber(session, ctx.tenant, SubscriberCreate.model_validate(body))
            expected = TRANSITIONS[("new", E.CONSENT_REQUIRED if free else E.CREATED)]
            assert subscriber.status == rendered["status"] == expected
            _seen(f"new -> {expected}")
            self.status[subscriber.id] = expected
            self.tokens[subscriber.id] = []
            self.live_token[subscriber.id] = None
            return subscriber.id

        @rule(subscriber_id=ids, package=st.sampled_from(SUBSCRIBER_PACKAGES))
        def change_package(self, subscriber_id: str, package: str) -> None:
            before = self.status[subscriber_id]
            body = {"packages": [package], "provisioningParameters": self._params()}
            try:
                rendered = service.update_subscriber(
                    session, ctx.tenant, subscriber_id, SubscriberUpdate.model_validate(body)
                )
            except NotFound:
                assert before == "deleted"
                return
            assert rendered["status"] == TRANSITIONS[(before, E.PACKAGE_CHANGED)] and rendered["packages"] == [package]
            _seen(f"{before}: package changed")

        @rule(subscriber_id=consumes(ids))
        def delete(self, subscriber_id: str) -> None:
            subscriber = session.get(Subscriber, subscriber_id)
            user_id = subscriber.user_id
            service.delete_subscriber(session, ctx.tenant, subscriber_id)
            session.flush()
            user = session.get(User, user_id)
            if self.status[subscriber_id] == "pending_user_migration":
                assert user is not None and user.org_id == service.FREE_ACCOUNTS_ORG  # the free account stays
            else:
                assert user is None
            _seen(f"{self.status[subscriber_id]} -> deleted")
            self.status[subscriber_id] = "deleted"
            with pytest.raises(NotFound):
                service.get_subscriber(session, ctx.tenant, subscriber_id)

        @rule(subscriber_id=ids)
        def resend(self, subscriber_id: str) -> None:
            before = self.status[subscriber_id]
            allowed = (before, E.CONSENT_RESENT) in TRANSITIONS
            try:
                service.resend_consent(session, ctx.tenant, subscriber_id)
            except InvalidTransition:
                assert not allowed, before
                _seen(f"{before}: resend refused")
                return
            assert allowed, before
            _seen(f"{before}: resent")
            self.live_token[subscriber_id] = None  # the link sent before stops working at once

        @rule(subscriber_id=ids)
        def consent_email_job(self, subscriber_id: str) -> None:
            sent = service.send_consent_email(session, subscriber_id, "https://wholesale.test")
            assert sent == (self.status[subscriber_id] == "pending_user_migration")
            if sent:
                link = OUTBOX.sent_to(subscriber_id)[-1].link
                token = link.rsplit("/", 1)[1]
                self.tokens[subscriber_id].append(token)
                self.live_token[subscriber_id] = token

        @precondition(lambda self: any(self.tokens.values()))
        @rule(data=st.data())
        def click_link(self, data: st.DataObject) -> None:
            # In creation order (ids are random: sorting them would make the draws depend on them).
            subscriber_id = data.draw(st.sampled_from([s for s, t in self.tokens.items() if t]))
            token = data.draw(st.sampled_from(self.tokens[subscriber_id]))
            works = token == self.live_token[subscriber_id] and self.status[subscriber_id] == "pending_user_migration"
            try:
                subscriber = service.accept_consent(session, token)
            except NotFound:
                assert not works
                _seen("dead link refused")
                return
            assert works and subscriber.id == subscriber_id
            _seen("pending_user_migration -> provisioned")
            self.status[subscriber_id] = TRANSITIONS[("pending_user_migration", E.CONSENT_ACCEPTED)]
            self.live_token[subscriber_id] = None

        @invariant()
        def statuses_and_users_agree(self) -> None:
            session.flush()
            for subscriber_id, expected in self.status.items():
                subscriber = session.get(Subscriber, subscriber_id)
                if expected == "deleted":
                    assert subscriber is None
                    continue
                assert subscriber.status == expected
                user = session.get(User, subscriber.user_id)
                in_org = user.org_id == self.customer.org_id
                assert in_org == (expected == "provisioned"), (expected, user.org_id)
            _assert_caps(session, self.customer.id)

    _run("subscriber lifecycle", SubscriberLifecycle, _settings(12))


# ---------------------------------------------------------------------------------------------- caps (R8)


def _assert_caps(session, customer_id: str) -> dict[str, int]:
    """R8: each package's assigned units are the subscribers holding it, never over its limit."""
    from wholesale.subscribers.models import Subscriber

    session.flush()
    held = Counter(session.scalars(sa.select(Subscriber.package).where(Subscriber.customer_id == customer_id)).all())
    rows = _rows(session, customer_id)
    for name, row in rows.items():
        assert row.assigned == held.get(name, 0), (name, row.assigned, held)
        assert row.quantity_limit is None or row.assigned <= row.quantity_limit, (
            name,
            row.assigned,
            row.quantity_limit,
        )
    assert set(held) <= set(rows), (held, set(rows))
    return {name: row.assigned for name, row in rows.items()}


CAPPED = ["webex_meetings", "webex_calling", "webex_suite"]


def test_caps_hold_under_any_interleaving(session, make_tenant):
    from wholesale.customers import service as customers
    from wholesale.customers.models import Customer
    from wholesale.customers.schemas import CustomerUpdate
    from wholesale.provisioning import steps
    from wholesale.subscribers import service
    from wholesale.subscribers.models import Subscriber
    from wholesale.subscribers.schemas import SubscriberCreate, SubscriberUpdate

    ctx = make_tenant()

    class Caps(RuleBasedStateMachine):
        ids = Bundle("subscribers")

        def __init__(self) -> None:
            super().__init__()
            self.customers = [
                _provisioned(session, ctx, CAPPED, {"webex_meetings": 2, "webex_calling": 1, "webex_suite": 2}),
                _provisioned(session, ctx, CAPPED, {"webex_meetings": 1}),
            ]
            self.admins = {
                s.id
                for c in self.customers
                for s in session.scalars(sa.select(Subscriber).where(Subscriber.customer_id == c.id))
            }
            self.extension = 3000

        def _params(self) -> dict[str, str]:
            self.extension += 1
            return {"firstName": "Ada", "lastName": "Cap", "extension": str(self.extension)}

        def _room(self, customer_id: str, package: str) -> str:
            """Whether one more unit of a package fits: ok, full, unprovisioned (its row is still being granted) or
            absent (the customer does not hold it, or its removal is under way)."""
            row = _rows(session, customer_id).get(package)
            if row is None or row.status == "deleting":
                return "absent"
            if row.status != "provisioned":
                return "unprovisioned"
            return "ok" if row.quantity_limit is None or row.assigned < row.quantity_limit else "full"

        def _refused(self, room: str, exc: Exception) -> None:
            expected = {"absent": (BadRequest, 400310), "unprovisioned": (Conflict, 409510), "full": (Conflict, 409500)}
            kind, code = expected.get(room, (None, None))
            codes = {e["errorCode"] for e in getattr(exc, "errors", [])}
            assert kind is not None and isinstance(exc, kind) and code in codes, (room, exc)

        @rule(target=ids, which=st.integers(0, 1), package=st.sampled_from(CAPPED))
        def create(self, which: int, package: str) -> str:
            customer = self.customers[which]
            room = self._room(customer.id, package)
            body = {
                "customerId": customer.id,
                "email": f"cap-{uuid.uuid4().hex[:12]}@example.com",
                "packages": [package],
                "provisioningParameters": self._params(),
            }
            try:
                subscriber, _ = service.create_subscriber(session, ctx.tenant, SubscriberCreate.model_validate(body))
            except (BadRequest, Conflict) as exc:
                self._refused(room, exc)
                _seen(f"create refused: {room}")
                return "refused"
            assert room == "ok", (package, room)
            _seen("create")
            return subscriber.id

        @rule(subscriber_id=ids, package=st.sampled_from(CAPPED))
        def change_package(self, subscriber_id: str, package: str) -> None:
            subscriber = session.get(Subscriber, subscriber_id) if subscriber_id != "refused" else None
            if subscriber is None or subscriber_id in self.admins:
                return
            before = subscriber.package
            room = self._room(subscriber.customer_id, package)
            if package == before and room == "full":
                room = "ok"  # no unit moves
            body = {"packages": [package], "provisioningParameters": self._params()}
            try:
                service.update_subscriber(session, ctx.tenant, subscriber_id, SubscriberUpdate.model_validate(body))
            except (BadRequest, Conflict) as exc:
                self._refused(room, exc)
                assert session.get(Subscriber, subscriber_id).package == before
                _seen(f"change refused: {room}")
                return
            assert room == "ok", (package, room)
            _seen("change")

        @rule(subscriber_id=ids)
        def delete(self, subscriber_id: str) -> None:
            if subscriber_id == "refused" or subscriber_id in self.admins:
                return
            if session.get(Subscriber, subscriber_id) is None:
                return
            service.delete_subscriber(session, ctx.tenant, subscriber_id)
            _seen("delete")

        def _request_update(self, which: int, packages: list[str], limits: dict[str, int] | None, what: str) -> None:
            """The partner's PUT: refused while the customer's previous update still runs, else accepted (the run
            comes later, `settle`) unless it would break a cap or drop a package someone holds."""
            customer = session.get(Customer, self.customers[which].id)
            before = customer.status
            rows = _rows(session, customer.id)
            body: dict[str, Any] = {"packages": packages}
            if limits:
                body["provisioningParameters"] = {"packages": {"limits": limits}}
            try:
                customers.update_customer(session, ctx.tenant, customer.id, CustomerUpdate.model_validate(body))
            except InvalidTransition:
                assert before == "updating", before
                _seen(f"{what} refused: update still running")
                return
            except Conflict as exc:
                assert before != "updating"
                if exc.error_code == 409300:  # a package dropped while someone holds it
                    assert any(rows[n].assigned > 0 for n in set(rows) - set(packages)), exc
                else:  # 409301: a limit below what is assigned
                    assert exc.error_code == 409301, exc
                    assert any(limit < rows[n].assigned for n, limit in (limits or {}).items() if n in rows), exc
                _seen(f"{what} refused: {exc.error_code}")
                return
            assert before != "updating", before
            _seen(f"{what} requested")

        def _held(self, which: int) -> list[str]:
            return sorted(n for n, r in _rows(session, self.customers[which].id).items() if r.status != "deleting")

        @rule(which=st.integers(0, 1), package=st.sampled_from(CAPPED), limit=st.integers(0, 3))
        def change_limit(self, which: int, package: str, limit: int) -> None:
            self._request_update(which, self._held(which), {package: limit}, "limit change")

        @rule(which=st.integers(0, 1), package=st.sampled_from(["webex_meetings", "webex_calling"]))
        def drop_or_add_package(self, which: int, package: str) -> None:
            held = self._held(which)
            wanted = sorted(set(held) - {package}) if package in held else sorted({*held, package})
            self._request_update(which, wanted, None, "package drop" if package in held else "package add")

        @rule(which=st.integers(0, 1))
        def settle(self, which: int) -> None:
            """The update run: dropped packages go, added ones are granted."""
            customer = session.get(Customer, self.customers[which].id)
            if customer.status != "updating":
                return
            assert steps.converge(session, customer, new=False)[1] == "provisioned"
            assert all(r.status == "provisioned" for r in _rows(session, customer.id).values())
            _seen("update run")

        @invariant()
        def assigned_is_what_subscribers_hold(self) -> None:
            for customer in self.customers:
                _assert_caps(session, customer.id)

    _run("caps (R8)", Caps, _settings(12))


# ---------------------------------------------------------------------------------------------- compliance cases


def test_compliance_cases_follow_the_transition_table(session, make_tenant, fixed_clock):
    from wholesale.compliance import lists
    from wholesale.compliance import service as compliance
    from wholesale.compliance.models import ComplianceCase
    from wholesale.compliance.screening.model import ScreeningResult
    from wholesale.compliance.states import OPEN_STATES, TRANSITIONS, CaseEvent
    from wholesale.customers import service as customers
    from wholesale.customers.models import Customer
    from wholesale.identity.roles import Role
    from wholesale.identity.schemas import Principal
    from wholesale.provisioning import steps

    ctx = make_tenant()
    reviewer = Principal(
        token_id="t-rev", org_id="platform", role=Role.REVIEWER, scopes=frozenset(), partner_org_id=None
    )
    screener = lists.get_screener(session)
    E = CaseEvent
    listed = {"addressLine1": "1 Main Street", "city": "Tehran", "country": "IR"}

    def screen(customer_id: str, clear: bool) -> str:
        customer = session.get(Customer, customer_id)
        result = (
            ScreeningResult(id=customer_id, decision="clear", score=0.0, hits=[])
            if clear
            else screener.screen(compliance.query_for(customer))
        )
        return compliance.screen_customer(session, customer_id, "rescreen", result, screener.list_set.sha256)

    class Cases(RuleBasedStateMachine):
        customer_ids = Bundle("customers")

        def __init__(self) -> None:
            super().__init__()
            self.cases: dict[str, str] = {}  # case id -> status the table gives
            self.case_customer: dict[str, str] = {}
            self.customer_state: dict[str, str] = {}  # live | deleting | deleted
            self.allow_listed: set[str] = set()  # customers whose hits a reviewer approved
            self.unreachable: Counter[str] = Counter()

        def _open_case(self, customer_id: str) -> str | None:
            return next(
                (c for c, s in self.cases.items() if self.case_customer[c] == customer_id and s in OPEN_STATES), None
            )

        def _apply(self, case_id: str, event: CaseEvent) -> None:
            _seen(f"{self.cases[case_id]} -{event.value}-> {TRANSITIONS[(self.cases[case_id], event)]}")
            self.cases[case_id] = TRANSITIONS[(self.cases[case_id], event)]
            if event == E.DEPROVISION and self.customer_state[self.case_customer[case_id]] == "live":
                self.customer_state[self.case_customer[case_id]] = "deleting"

        @rule(target=customer_ids)
        def open_case(self) -> str:
            customer = _create_customer(session, ctx, ["webex_meetings"], address=listed)
            customer.name = "Mahan Air"
            session.flush()
            steps.converge(session, customer, new=True)
            assert screen(customer.id, clear=False) == "case_opened"
            case = compliance.open_case_of(session, customer.id)
            self.cases[case.id] = "open"
            self.case_customer[case.id] = customer.id
            self.customer_state[customer.id] = "live"
            return customer.id

        def _decide(self, customer_id: str, decision: str) -> None:
            case_id = next((c for c in self.cases if self.case_customer[c] == customer_id), None)
            case_id = self._open_case(customer_id) or case_id
            event = E.APPROVE if decision == "approve" else E.REJECT
            allowed = (self.cases[case_id], event) in TRANSITIONS
            try:
                compliance.decide(session, reviewer, case_id, decision, "machine" if decision == "reject" else None)
            except InvalidTransition:
                assert not allowed
                _seen(f"{self.cases[case_id]}: {decision} refused")
                return
            assert allowed
            self._apply(case_id, event)
            if decision == "approve":
                self.allow_listed.add(customer_id)

        @rule(customer_id=customer_ids)
        def approve(self, customer_id: str) -> None:
            self._decide(customer_id, "approve")

        @rule(customer_id=customer_ids)
        def reject(self, customer_id: str) -> None:
            self._decide(customer_id, "reject")

        @rule(customer_id=customer_ids, clear=st.booleans())
        def rescreen(self, customer_id: str, clear: bool) -> None:
            outcome = screen(customer_id, clear)
            case_id = self._open_case(customer_id)
            if self.customer_state[customer_id] == "deleted":
                assert outcome == "skipped"
            elif clear:
                if case_id:
                    assert outcome == "resolved"
                    self._apply(case_id, E.CLEARED)
                else:
                    assert outcome in ("clear", "allowed")
            elif case_id:
                assert outcome == "case_updated"
            elif customer_id in self.allow_listed:
                assert outcome == "allowed"
            elif self.customer_state[customer_id] == "deleting":
                assert outcome == "deleting"  # recorded, but no case for a customer on its way out
            else:
                assert outcome == "case_opened"
                _seen(f"new case on a {self.customer_state[customer_id]} customer")
                case = compliance.open_case_of(session, customer_id)
                self.cases[case.id] = "open"
                self.case_customer[case.id] = customer_id
                self.unreachable[case.id] = 0

        @rule(customer_id=customer_ids, outcome=st.sampled_from(["reached", "unreachable"]))
        def contact_attempt(self, customer_id: str, outcome: str) -> None:
            case_id = self._open_case(customer_id)
            any_case = next(c for c in self.cases if self.case_customer[c] == customer_id)
            try:
                compliance.add_contact_attempt(
                    session, reviewer, case_id or any_case, channel="phone", outcome=outcome, note=None
                )
            except BadRequest:
                assert case_id is None
                return
            assert case_id is not None
            if outcome == "unreachable":
                self.unreachable[case_id] += 1
                if self.unreachable[case_id] >= compliance.MAX_UNREACHABLE:
                    self._apply(case_id, E.DEPROVISION)

        @rule()
        def thirty_days_pass(self) -> None:
            fixed_clock.advance(timedelta(days=30, minutes=1).total_seconds())
            due = set(compliance.check_deadlines(session))
            still_open = {c for c, s in self.cases.items() if s in OPEN_STATES}
            assert due >= still_open, (due, still_open)
            for case_id in still_open:
                self._apply(case_id, E.DEPROVISION)

        @rule(customer_id=customer_ids)
        def delete_workflow(self, customer_id: str) -> None:
            if self.customer_state[customer_id] == "deleting":
                assert steps.remove_everything(session, customer_id)
                self.customer_state[customer_id] = "deleted"

        @invariant()
        def cases_and_customers_agree(self) -> None:
            session.flush()
            for case_id, expected in self.cases.items():
                case = session.get(ComplianceCase, case_id)
                assert case.status == expected, (case_id, case.status, expected)
                assert (case.closed_at is None) == (expected in OPEN_STATES)
            for customer_id, state in self.customer_state.items():
                open_cases = session.scalars(
                    sa.select(ComplianceCase.id).where(
                        ComplianceCase.customer_id == customer_id, ComplianceCase.status.in_(list(OPEN_STATES))
                    )
                ).all()
                assert len(open_cases) <= 1, open_cases
                customer = session.get(Customer, customer_id)
                if state == "deleted":
                    assert customer.deleted_at is not None
                    continue
                expected = "deleting" if state == "deleting" else "pending_rpl_review" if open_cases else "provisioned"
                assert customers.displayed_status(customer) == expected, (state, open_cases, customer.status)
                if state == "live":
                    assert customer.compliance_hold == bool(open_cases)

    _run("compliance cases", Cases, _settings(10))
