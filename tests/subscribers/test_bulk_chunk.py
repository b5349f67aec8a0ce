"""The set-based bulk chunk gives exactly the per-row results of the row-by-row path (caps, duplicates, failures).

Service level, on the test's rolled-back session: each path runs in a savepoint that is rolled back in turn.
"""

from subscribers_support import new_email, sub_body


def _run(session, customer_id, numbered, *, chunked):
    """Import rows in a savepoint that is rolled back; return the results (subscriber ids as row references) and units."""
    from wholesale.subscribers import bulk, repository

    savepoint = session.begin_nested()
    try:
        customer = bulk.customer_for_import(session, customer_id)
        packages = repository.package_rows(session, customer.id)
        if chunked:
            results = bulk.import_chunk(session, customer, numbered, packages)
        else:
            results = [bulk.import_row(session, customer, number, row, packages) for number, row in numbered]
        session.flush()
        units = {name: row.assigned for name, row in repository.package_rows(session, customer_id).items()}
    finally:
        savepoint.rollback()
    first_row: dict[str, int] = {}
    for result in results:
        if "subscriberId" in result:
            result["subscriberId"] = first_row.setdefault(result["subscriberId"], result["row"])
    return results, units


def _mixed_rows(customer, other_email, free):
    dup = new_email()
    over = new_email()
    return [
        {"email": dup, "firstName": "A", "package": "webex_meetings"},
        {"email": new_email(), "package": "webex_meetings"},
        {"email": "not-an-email", "package": "webex_meetings"},
        {
            "email": dup.upper(),
            "package": "webex_calling",
            "extension": "777",
        },  # same email: the first row's subscriber
        {"email": new_email(), "package": "bogus"},
        {"email": new_email(), "package": "webex_meetings"},  # the cap's last unit
        {"email": over, "package": "webex_meetings"},  # over the cap
        {"email": new_email(), "package": "webex_calling", "extension": "701"},
        {"email": new_email(), "package": "webex_calling", "extension": "701"},  # extension taken in this chunk
        {"email": new_email(), "package": "webex_calling", "primaryPhoneNumber": "+1 408 555 0101"},
        {
            "email": new_email(),
            "package": "webex_calling",
            "primaryPhoneNumber": "+14085550101",
        },  # number taken in this chunk
        {"email": new_email(), "package": "webex_calling", "primaryPhoneNumber": "12"},
        {"email": new_email(), "package": "webex_calling"},
        {"email": new_email(), "package": "webex_calling", "extension": "1"},
        {"email": new_email(), "package": "webex_calling", "extension": "702"},  # the calling cap's last unit
        {"email": over, "package": "webex_suite", "extension": "801"},  # failed before on the cap: tried afresh
        {"email": new_email(), "package": "webex_voice"},
        {"email": new_email(), "firstName": "50%", "package": "webex_meetings"},
        {"email": other_email, "package": "webex_meetings"},  # another customer's subscriber
        {"email": customer.admin_email, "package": "webex_meetings"},  # the full admin: already this customer's
        {"email": free, "package": "webex_meetings"},  # over the cap even for a free account
        {"email": free, "package": "webex_suite", "extension": "802"},
        {"email": free, "package": "webex_suite", "extension": "803"},
    ]


def _subscriber(session, ctx, package="webex_meetings", **params):
    from wholesale.subscribers import service
    from wholesale.subscribers.schemas import SubscriberCreate

    body = SubscriberCreate.model_validate(sub_body(ctx.id, package, **params))
    return service.create_subscriber(session, ctx.tenant, body)[0].email


def _free_account(session):
    from wholesale.subscribers import service

    email = new_email()
    service.create_free_account(session, email, first_name="Free", last_name="User")
    return email


def test_chunk_results_equal_row_by_row_results(session, provisioned):
    customer = provisioned(limits={"webex_meetings": 4, "webex_calling": 3})
    other = provisioned()
    other_email = _subscriber(session, other)
    _subscriber(session, customer, "webex_meetings")
    numbered = list(enumerate(_mixed_rows(customer, other_email, _free_account(session)), start=1))

    expected, expected_units = _run(session, customer.id, numbered, chunked=False)
    got, units = _run(session, customer.id, numbered, chunked=True)
    assert got == expected
    assert units == expected_units
    statuses = [r["status"] for r in got]
    codes = [r["errors"][0]["errorCode"] for r in got if r["status"] == "error"]
    assert codes == [400100, 400100, 409500, 409521, 409520, 400324, 400320, 400323, 400310, 400100, 10022, 409500]
    assert statuses[15] == "provisioned" and statuses[21:] == ["pending_user_migration"] * 2
    assert got[3]["subscriberId"] == 1 and got[22]["subscriberId"] == 22 and got[19]["status"] == "provisioned"
    assert (
        "0 left" in got[6]["errors"][0]["description"] and "limit 4, 4 assigned" in got[6]["errors"][0]["description"]
    )
    assert got[18]["errors"][0]["errorCode"] == 10022
    assert units["webex_meetings"] == 4 and units["webex_calling"] == 3


def test_cap_reached_mid_chunk_takes_units_in_row_order(session, provisioned):
    customer = provisioned(limits={"webex_meetings": 5})
    for _ in range(2):
        _subscriber(session, customer)
    numbered = [(i, {"email": new_email(), "package": "webex_meetings"}) for i in range(1, 8)]
    numbered.insert(1, (99, {"email": "bad", "package": "webex_meetings"}))
    expected, expected_units = _run(session, customer.id, numbered, chunked=False)
    got, units = _run(session, customer.id, numbered, chunked=True)
    assert got == expected and units == expected_units == {
        "webex_meetings": 5,
        **{k: v for k, v in units.items() if k != "webex_meetings"},
    }
    assert [r["status"] for r in got] == ["provisioned", "error", "provisioned", "provisioned"] + ["error"] * 4


def test_chunk_without_caps_takes_all_units_at_once(session, provisioned):
    customer = provisioned()
    numbered = [
        (i, {"email": new_email(), "package": "webex_calling", "extension": str(300 + i)}) for i in range(1, 51)
    ]
    got, units = _run(session, customer.id, numbered, chunked=True)
    assert {r["status"] for r in got} == {"provisioned"} and units["webex_calling"] == 50


def test_chunk_falls_back_to_row_by_row_when_a_unique_value_was_taken_meanwhile(session, provisioned, monkeypatch):
    """A concurrent writer wins an email between the chunk's reads and its inserts: the rows are redone one by one."""
    from wholesale.subscribers import repository

    customer = provisioned(limits={"webex_meetings": 10})
    clash = _subscriber(session, customer)
    other = provisioned()
    numbered = [
        (1, {"email": new_email(), "package": "webex_meetings"}),
        (2, {"email": clash, "package": "webex_meetings"}),
    ]
    # Blind the chunk's batched reads so its bulk insert meets the unique constraint, as after a race.
    monkeypatch.setattr(repository, "by_emails", lambda session, emails: {})
    monkeypatch.setattr(repository, "users_by_emails", lambda session, emails: {})
    got, units = _run(session, other.id, numbered, chunked=True)
    assert [r["status"] for r in got] == ["provisioned", "error"]
    assert got[1]["errors"][0]["errorCode"] == 10022
    assert units["webex_meetings"] == 1
