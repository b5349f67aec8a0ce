"""R8 under concurrency (20 parallel creates against a cap of 5), the bulk API job, and the CSV import CLI."""

import csv
import threading

import pytest
import sqlalchemy as sa

from helpers import assert_error_body, wait_for
from subscribers_support import new_email, sub_body

URL = "/v1/wholesale/subscribers"


def test_20_concurrent_creates_against_a_cap_of_5_give_exactly_5(client, partner, make_customer, db):
    from wholesale.customers.models import CustomerPackageRow

    customer = make_customer(partner, limits={"webex_meetings": 5})
    barrier = threading.Barrier(20)
    codes: list[int] = []
    lock = threading.Lock()

    def post() -> None:
        body = sub_body(customer.id, "webex_meetings")
        barrier.wait()
        response = client.post(URL, json=body, headers=partner.headers)
        with lock:
            codes.append(response.status_code)
        if response.status_code != 200:
            assert "0 left" in assert_error_body(response, 409)["message"]

    threads = [threading.Thread(target=post) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] * 5 + [409] * 15
    with db.session(write=False) as s:
        row = s.get(CustomerPackageRow, (customer.id, "webex_meetings"))
        assert row.assigned == 5 == row.quantity_limit
    listed = client.get(URL, params={"customerId": customer.id, "max": 100}, headers=partner.headers).json()["items"]
    assert sum(1 for i in listed if i["packages"] == ["webex_meetings"]) == 5


def test_concurrent_package_changes_never_pass_the_cap(client, partner, make_customer, db):
    from wholesale.customers.models import CustomerPackageRow

    customer = make_customer(partner, limits={"webex_calling": 3})
    subs = [client.post(URL, json=sub_body(customer.id), headers=partner.headers).json()["id"] for _ in range(10)]
    codes: list[int] = []
    barrier = threading.Barrier(len(subs))

    def move(i: int, sid: str) -> None:
        barrier.wait()
        r = client.put(
            f"{URL}/{sid}",
            json={"packages": ["webex_calling"], "provisioningParameters": {"extension": str(600 + i)}},
            headers=partner.headers,
        )
        codes.append(r.status_code)

    threads = [threading.Thread(target=move, args=(i, sid)) for i, sid in enumerate(subs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200] * 3 + [409] * 7
    with db.session(write=False) as s:
        assert s.get(CustomerPackageRow, (customer.id, "webex_calling")).assigned == 3
        assert s.get(CustomerPackageRow, (customer.id, "webex_meetings")).assigned == 7


def test_bulk_api_job_with_per_row_results(client, partner, make_customer, free_account):
    customer = make_customer(partner, limits={"webex_meetings": 3})
    free = free_account()
    rows = [
        {"email": new_email(), "firstName": "A", "package": "webex_meetings"},
        {"email": new_email(), "package": "webex_calling", "extension": "701"},
        {"email": "not-an-email", "package": "webex_meetings"},
        {"email": new_email(), "package": "webex_calling"},  # no number, no extension
        {"email": free, "package": "webex_meetings"},
        {"email": new_email(), "package": "webex_meetings"},
        {"email": new_email(), "package": "webex_meetings"},  # over the cap of 3
    ]
    accepted = client.post(f"{URL}/bulk", json={"customerId": customer.id, "rows": rows}, headers=partner.headers)
    assert accepted.status_code == 202, accepted.text
    url = accepted.headers["location"].replace("http://testserver", "")
    job = wait_for(lambda: client.get(url, headers=partner.headers).json(), lambda j: j["status"] == "completed")
    statuses = [r["status"] for r in job["results"]]
    assert statuses == [
        "provisioned",
        "provisioned",
        "error",
        "error",
        "pending_user_migration",
        "provisioned",
        "error",
    ]
    assert job["total"] == 7 and job["processed"] == 7 and job["failed"] == 3 and job["succeeded"] == 4
    assert "0 left" in job["results"][6]["errors"][0]["description"]
    assert "primaryPhoneNumber and/or extension" in job["results"][3]["errors"][0]["description"]
    for result in job["results"]:
        if result["status"] != "error":
            assert client.get(f"{URL}/{result['subscriberId']}", headers=partner.headers).status_code == 200


def test_bulk_api_limits_and_tenancy(client, partner, customer, make_partner):
    too_many = [{"email": f"x{i}@example.com", "package": "webex_meetings"} for i in range(1001)]
    assert_error_body(
        client.post(f"{URL}/bulk", json={"customerId": customer.id, "rows": too_many}, headers=partner.headers), 400
    )
    assert_error_body(
        client.post(f"{URL}/bulk", json={"customerId": customer.id, "rows": []}, headers=partner.headers), 400
    )
    accepted = client.post(
        f"{URL}/bulk", json={"customerId": customer.id, "rows": too_many[:1]}, headers=partner.headers
    )
    other = make_partner()
    assert_error_body(
        client.post(f"{URL}/bulk", json={"customerId": customer.id, "rows": too_many[:1]}, headers=other.headers), 404
    )
    assert_error_body(client.get(f"{URL}/bulk/{accepted.json()['id']}", headers=other.headers), 404)


def _write_csv(path, rows):
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["email", "firstName", "lastName", "package", "primaryPhoneNumber", "extension"]
        )
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def _results(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_cli_import_validate_only_writes_nothing_then_import_then_resume(client, partner, make_customer, tmp_path, db):
    from typer.testing import CliRunner

    from wholesale.cli import app
    from wholesale.subscribers.models import Subscriber

    customer = make_customer(partner, limits={"webex_meetings": 3})
    emails = [new_email() for _ in range(5)]
    rows = [
        {"email": emails[0], "firstName": "A", "lastName": "B", "package": "webex_meetings"},
        {"email": emails[1], "package": "webex_calling", "primaryPhoneNumber": "+1 408 555 0101"},
        {"email": emails[2], "package": "webex_meetings"},
        {"email": emails[3], "package": "webex_voice", "extension": "22"},  # not held by the customer
        {"email": emails[4], "package": "webex_meetings"},
    ]
    file = tmp_path / "people.csv"
    _write_csv(file, rows)
    runner = CliRunner()
    checked = runner.invoke(app, ["subscribers", "import", customer.id, str(file), "--validate-only"])
    assert checked.exit_code == 2, checked.output
    assert "row 4" in checked.output and "webex_voice" in checked.output
    assert not (tmp_path / "people.results.csv").exists()
    with db.session(write=False) as s:
        assert s.scalars(sa.select(Subscriber).where(Subscriber.email.in_(emails))).all() == []

    first = runner.invoke(app, ["subscribers", "import", customer.id, str(file)])
    assert first.exit_code == 2, first.output
    results = _results(tmp_path / "people.results.csv")
    assert [r["status"] for r in results] == ["provisioned", "provisioned", "provisioned", "error", "provisioned"]
    assert "webex_voice" in results[3]["error"]

    # Fix the bad row and re-run: done rows are skipped, the fixed one is imported.
    rows[3]["package"] = "webex_calling"
    _write_csv(file, rows)
    second = runner.invoke(app, ["subscribers", "import", customer.id, str(file)])
    assert second.exit_code == 0, second.output
    assert "1 done, 4 already done, 0 failed" in second.output
    results = _results(tmp_path / "people.results.csv")
    assert [r["status"] for r in results] == ["provisioned"] * 5
    with db.session(write=False) as s:
        assert len(s.scalars(sa.select(Subscriber).where(Subscriber.email.in_(emails))).all()) == 5


def test_cli_import_resumes_when_the_results_file_was_lost(client, partner, make_customer, tmp_path):
    """A crash after a batch committed but before its results were written: the rows are found done, not duplicated."""
    from wholesale.subscribers.cli import results_path, run_import

    customer = make_customer(partner, packages=["webex_meetings"])
    file = tmp_path / "batch.csv"
    _write_csv(file, [{"email": new_email(), "package": "webex_meetings"} for _ in range(3)])
    assert run_import(customer.id, file, progress=False) == (3, 0, 0)
    results_path(file).unlink()
    assert run_import(customer.id, file, progress=False) == (3, 0, 0)
    assert [r["status"] for r in _results(results_path(file))] == ["provisioned"] * 3


@pytest.mark.parametrize("columns", ["40", "80", "200"])
def test_cli_import_refuses_a_bad_header(tmp_path, database_url, monkeypatch, columns):
    from typer.testing import CliRunner

    from wholesale.cli import app

    monkeypatch.setenv("COLUMNS", columns)
    file = tmp_path / "bad.csv"
    file.write_text("mail,pkg\nx@example.com,webex_meetings\n")
    result = CliRunner().invoke(app, ["subscribers", "import", "some-customer", str(file)])
    # The whole message on one line, whatever the width (COLUMNS) and whether or not a terminal is attached.
    message = (
        f"{file}: header lacks email, package (expected email,firstName,lastName,package,primaryPhoneNumber,extension)"
    )
    assert result.exit_code == 2
    assert any(line.endswith(message) for line in result.output.splitlines()), result.output


def test_cli_creates_a_free_account_for_the_consent_demo(database_url):
    from typer.testing import CliRunner

    from wholesale.cli import app

    email = new_email()
    runner = CliRunner()
    first = runner.invoke(app, ["subscribers", "free-account", email])
    assert first.exit_code == 0 and first.output.strip()
    again = runner.invoke(app, ["subscribers", "free-account", email])
    assert again.exit_code == 1 and "already" in again.output


@pytest.mark.parametrize(("failures", "imported"), [(2, True), (5, False)])
def test_a_bulk_job_never_stays_queued_after_its_import_fails(client, partner, make_customer, failures, imported):
    """Issue 16, probe 3: a bulk job whose workflow failed read `queued, processed 0` forever. A chunk that fails
    is retried (5 attempts); one that still fails finishes the job with its rows failed, to be sent again."""
    from wholesale.kit import faults

    customer = make_customer(partner)
    rows = [{"email": new_email(), "package": "webex_meetings"} for _ in range(3)]
    faults.inject("subscribers.bulk_chunk", times=failures)
    try:
        accepted = client.post(f"{URL}/bulk", json={"customerId": customer.id, "rows": rows}, headers=partner.headers)
        assert accepted.status_code == 202, accepted.text
        url = accepted.headers["location"].replace("http://testserver", "")
        job = wait_for(
            lambda: client.get(url, headers=partner.headers).json(), lambda j: j["status"] == "completed", timeout=30
        )
    finally:
        faults.clear()
    assert job["total"] == job["processed"] == 3
    listed = client.get(URL, params={"customerId": customer.id, "max": 100}, headers=partner.headers).json()["items"]
    emails = {i["email"] for i in listed}
    if imported:
        assert job["failed"] == 0 and all(r["email"] in emails for r in rows)
    else:
        assert job["failed"] == 3 and not any(r["email"] in emails for r in rows)
        assert {r["errors"][0]["errorCode"] for r in job["results"]} == {500000}
        assert "send it again" in job["results"][0]["errors"][0]["description"]


def test_a_bulk_row_with_a_lone_surrogate_is_refused_up_front(client, partner, make_customer):
    """Issue 16, probe 3: "\\ud800" in a bulk row passed precheck and then broke the import job."""
    import json

    customer = make_customer(partner)
    email = new_email()
    bodies = {
        "/bulk": {
            "customerId": customer.id,
            "rows": [{"email": email, "firstName": "Bad\ud800", "package": "webex_meetings"}],
        },
        "/validate": {"customerId": customer.id, "email": email, "provisioningParameters": {"firstName": "Bad\ud800"}},
    }
    headers = partner.headers | {"Content-Type": "application/json"}
    for path, body in bodies.items():
        err = assert_error_body(client.post(f"{URL}{path}", content=json.dumps(body), headers=headers), 400)
        assert "surrogate" in err["message"]
