"""Error body everywhere, TrackingID, validation naming the field, pagination Link headers, idempotency, rate limits."""

import json
import threading
from urllib.parse import parse_qs, urlparse

import pytest

from helpers import assert_error_body, customer_body


def test_tracking_id_is_echoed_when_given_and_generated_otherwise(client):
    given = client.get("/healthz", headers={"TrackingID": "SIMPLE_1234"})
    assert given.headers["trackingid"] == "SIMPLE_1234"
    generated = client.get("/healthz")
    assert generated.headers["trackingid"].startswith("WHOLESALE_")


def test_unauthenticated_requests_get_401_in_the_webex_error_format(client):
    body = assert_error_body(client.get("/v1/wholesale/customers", headers={"TrackingID": "T-1"}), 401)
    assert body["trackingId"] == "T-1"


@pytest.mark.parametrize("header", ["Bearer nope", "Basic abc", "Bearer ", "whs_only_token"])
def test_bad_credentials_get_401(client, header):
    assert_error_body(client.get("/v1/wholesale/customers", headers={"Authorization": header}), 401)


def test_unknown_route_and_wrong_method_use_the_error_format(client, partner):
    assert_error_body(client.get("/v1/nothing-here", headers=partner.headers), 404)
    assert_error_body(client.patch("/v1/wholesale/customers", headers=partner.headers), 405)


def test_validation_errors_are_400_and_name_the_field(client, partner):
    body = customer_body(partner.template_id)
    del body["address"]["city"]
    err = assert_error_body(client.post("/v1/wholesale/customers", json=body, headers=partner.headers), 400)
    assert "address.city" in err["message"]
    bad_json = client.post(
        "/v1/wholesale/customers", content=b"{not json", headers=partner.headers | {"content-type": "application/json"}
    )
    assert "JSON" in assert_error_body(bad_json, 400)["message"]


def test_unknown_request_fields_are_ignored(client, partner):
    body = customer_body(partner.template_id, somethingNew={"x": 1})
    body["address"]["plusFour"] = "1234"
    assert client.post("/v1/wholesale/customers", json=body, headers=partner.headers).status_code == 202


def test_max_and_offset_must_be_numbers(client, partner):
    err = assert_error_body(client.get("/v1/wholesale/customers?max=ten", headers=partner.headers), 400)
    assert "max" in err["message"]
    assert_error_body(client.get("/v1/wholesale/customers?offset=-1", headers=partner.headers), 400)
    assert_error_body(client.get(f"/v1/wholesale/customers?offset={10**30}", headers=partner.headers), 400)


def test_unhandled_errors_are_500_in_the_error_format_without_internals(database_url):
    from fastapi.testclient import TestClient

    from wholesale.app import create_app

    app = create_app(workers=False)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.get("/boom")
    body = assert_error_body(response, 500)
    assert "secret" not in response.text and body["trackingId"]


def test_link_header_pages_through_every_item_with_filters_kept(client, partner):
    for _ in range(5):
        body = customer_body(partner.template_id, packages=["webex_meetings"])
        body.pop("provisioningParameters")
        assert client.post("/v1/wholesale/customers", json=body, headers=partner.headers).status_code == 202
    seen, url, pages = [], "/v1/wholesale/customers?max=2&includePackageLicenseInfo=false", 0
    while url:
        page = client.get(url, headers=partner.headers)
        assert page.status_code == 200
        seen += [c["id"] for c in page.json()["items"]]
        pages += 1
        link = page.headers.get("link")
        if link:
            assert link.endswith('rel="next"')
            target = link[1 : link.index(">")]
            assert target.startswith("http://testserver/v1/wholesale/customers?")
            query = parse_qs(urlparse(target).query)
            assert query["includePackageLicenseInfo"] == ["false"] and query["max"] == ["2"]
            url = target.replace("http://testserver", "")
        else:
            url = None
    assert pages == 3 and len(seen) == 5 == len(set(seen))


def test_idempotent_replay_returns_the_stored_response_and_creates_nothing(client, partner):
    body = customer_body(partner.template_id)
    headers = partner.headers | {"Idempotency-Key": "key-1"}
    first = client.post("/v1/wholesale/customers", json=body, headers=headers)
    second = client.post("/v1/wholesale/customers", json=body, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json() and first.headers["location"] == second.headers["location"]
    assert second.headers.get("idempotent-replayed") == "true"
    listed = client.get(f"/v1/wholesale/customers?externalId={body['externalId']}", headers=partner.headers).json()
    assert len(listed["items"]) == 1


def test_same_key_with_a_different_body_is_409(client, partner):
    headers = partner.headers | {"Idempotency-Key": "key-2"}
    assert (
        client.post("/v1/wholesale/customers", json=customer_body(partner.template_id), headers=headers).status_code
        == 202
    )
    other = client.post("/v1/wholesale/customers", json=customer_body(partner.template_id), headers=headers)
    assert "different request" in assert_error_body(other, 409)["message"]


def test_failed_request_does_not_burn_the_key(client, partner):
    headers = partner.headers | {"Idempotency-Key": "key-3"}
    bad = customer_body(partner.template_id)
    bad["address"]["country"] = "UK"
    assert_error_body(client.post("/v1/wholesale/customers", json=bad, headers=headers), 400)
    good = customer_body(partner.template_id)
    assert client.post("/v1/wholesale/customers", json=good, headers=headers).status_code == 202


def test_idempotency_keys_are_per_partner(client, make_partner):
    a, b = make_partner(), make_partner()
    key = {"Idempotency-Key": "shared-key"}
    ra = client.post("/v1/wholesale/customers", json=customer_body(a.template_id), headers=a.headers | key)
    rb = client.post("/v1/wholesale/customers", json=customer_body(b.template_id), headers=b.headers | key)
    assert ra.status_code == rb.status_code == 202 and ra.json() != rb.json()


def test_a_key_replays_only_to_a_caller_with_the_same_rights(client, platform_token):
    """Issue 16, probe 6: a reviewer reusing an operator's Idempotency-Key must not get the operator's response."""
    body = {"name": "Banco Nacional de Cuba"}
    key = {"Idempotency-Key": "rights-key"}
    operator = {"Authorization": f"Bearer {platform_token('operator')}"} | key
    reviewer = {"Authorization": f"Bearer {platform_token('reviewer')}"} | key
    first = client.post("/v1/compliance/screenings", json=body, headers=operator)
    assert first.status_code == 200
    again = client.post("/v1/compliance/screenings", json=body, headers=operator)
    assert again.headers.get("idempotent-replayed") == "true"  # the same caller still replays
    other = client.post("/v1/compliance/screenings", json=body, headers=reviewer)
    assert "different request" in assert_error_body(other, 409)["message"]
    assert other.headers.get("idempotent-replayed") is None


def test_deeply_nested_json_with_a_key_is_a_4xx_not_a_500(client, partner):
    """Issue 16, probe 8: the body fingerprint recursed on deep nesting and answered 500."""
    deep = "[" * 100_000 + "]" * 100_000
    headers = partner.headers | {"Idempotency-Key": "deep-key", "Content-Type": "application/json"}
    r = client.post("/v1/wholesale/customers", content=deep, headers=headers)
    assert 400 <= r.status_code < 500
    assert_error_body(r, r.status_code)


def test_concurrent_replays_create_exactly_one_customer(client, partner):
    body = customer_body(partner.template_id)
    headers = partner.headers | {"Idempotency-Key": "race-key"}
    results: list[int] = []

    def post() -> None:
        results.append(client.post("/v1/wholesale/customers", json=body, headers=headers).status_code)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(results) <= {202, 409} and 202 in results
    listed = client.get(f"/v1/wholesale/customers?externalId={body['externalId']}", headers=partner.headers).json()
    assert len(listed["items"]) == 1


def test_rate_limit_answers_429_with_retry_after(database_url, partner, monkeypatch):
    from fastapi.testclient import TestClient

    from wholesale.app import create_app
    from wholesale.config import Settings

    app = create_app(Settings(rate_limit_per_minute=60, rate_limit_burst=3), workers=False)
    with TestClient(app) as c:
        codes = [c.get("/v1/wholesale/subPartners", headers=partner.headers).status_code for _ in range(5)]
        limited = c.get("/v1/wholesale/subPartners", headers=partner.headers)
        other = c.get("/healthz")
    assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
    assert_error_body(limited, 429)
    assert int(limited.headers["retry-after"]) >= 1
    assert other.status_code == 200  # no token, no bucket


@pytest.mark.parametrize("field", ["name", "externalId"])
def test_lone_surrogates_are_refused_with_400_not_500(client, partner, field):
    """Issue 16, probe 3: "\\ud800" in a customer name or externalId was a 500; no encoder can store it."""
    body = customer_body(partner.template_id)
    if field == "name":
        body["customerInfo"]["name"] = "Bad\ud800Name"
    else:
        body["externalId"] = "ext-\udfff"
    raw = json.dumps(body)  # ASCII JSON: the surrogate travels as the escape "\\ud800", as a client sends it
    headers = partner.headers | {"Content-Type": "application/json"}
    err = assert_error_body(client.post("/v1/wholesale/customers", content=raw, headers=headers), 400)
    assert "surrogate" in err["message"]
    listed = client.get("/v1/wholesale/customers", headers=partner.headers)
    assert listed.status_code == 200


def test_rate_limit_is_per_caller_not_per_header_spelling(database_url, partner):
    """Issue 16, probe 1: "bearer T", "BEARER T", "Bearer  T" were separate buckets; token-less requests had none."""
    from fastapi.testclient import TestClient

    from wholesale.app import create_app
    from wholesale.config import Settings

    app = create_app(Settings(rate_limit_per_minute=60, rate_limit_burst=3), workers=False)
    token = partner.headers["Authorization"].split()[1]
    spellings = [f"Bearer {token}", f"bearer {token}", f"BEARER {token}", f"Bearer  {token}", f" Bearer {token} "]
    with TestClient(app) as c:
        codes = [c.get("/v1/wholesale/subPartners", headers={"Authorization": a}).status_code for a in spellings]
        anonymous = [c.get("/v1/wholesale/subPartners").status_code for _ in range(5)]
        health = c.get("/healthz")
    assert codes[:3] == [200, 200, 200] and set(codes[3:]) == {429}
    assert anonymous[:3] == [401, 401, 401] and set(anonymous[3:]) == {429}  # by client address
    assert health.status_code == 200  # health checks are never limited


def test_a_flood_of_new_callers_does_not_free_a_limited_one():
    """Issue 16, probe 1: 100,001 distinct header values cleared every bucket, a limited token's too."""
    from wholesale.kit.ratelimit import RateLimiter, caller_key

    limiter = RateLimiter(per_minute=1, burst=1, max_buckets=100)
    limited = caller_key("Bearer limited", None, "/v1/x")
    assert limiter.check(limited) is None and limiter.check(limited) is not None
    for i in range(1_000):
        limiter.check(caller_key(f"Bearer other-{i}", None, "/v1/x"))
        if i % 50 == 0:
            assert limiter.check(limited) is not None  # still limited while it keeps asking
    assert len(limiter._buckets) <= 100


def test_nul_characters_are_refused_with_400_not_500(client, partner):
    """PostgreSQL cannot store NUL; it must never get that far (found by schemathesis on PostgreSQL)."""
    body = customer_body(partner.template_id)
    body["customerInfo"]["name"] = "Bad\x00Name"
    err = assert_error_body(client.post("/v1/wholesale/customers", json=body, headers=partner.headers), 400)
    assert "customerInfo.name" in err["message"] and "NUL" in err["message"]
    assert_error_body(client.get("/v1/wholesale/customers?externalId=a%00b", headers=partner.headers), 400)
    assert_error_body(client.get("/v1/wholesale/customers/abc%00def", headers=partner.headers), 400)


def test_a_body_over_the_limit_is_413_before_it_is_read(client, partner):
    """Issue 16, probe 2: a 100 MB address.city was accepted, stored, and sent back in every customer list."""
    body = customer_body(partner.template_id)
    body["address"]["city"] = "x" * (10 * 1024 * 1024)
    err = assert_error_body(client.post("/v1/wholesale/customers", json=body, headers=partner.headers), 413)
    assert "1,048,576 bytes" in err["message"]
    rows = [{"email": f"u{i}@example.com", "firstName": "n" * 10_000} for i in range(1000)]
    bulk = client.post(
        "/v1/wholesale/subscribers/bulk", json={"customerId": "x", "rows": rows}, headers=partner.headers
    )
    assert_error_body(bulk, 413)
    assert client.get("/v1/wholesale/customers", headers=partner.headers).json()["items"] == []


def test_a_chunked_body_is_cut_off_at_the_limit_too(client, partner):
    """No Content-Length to refuse up front: the body is counted as it arrives and stops with 413."""
    chunk = b"[" + b"1," * 100_000

    def chunks():
        for _ in range(20):  # 4 MB in all
            yield chunk

    headers = partner.headers | {"Content-Type": "application/json"}
    response = client.post("/v1/wholesale/customers", content=chunks(), headers=headers)
    assert "content-length" not in response.request.headers
    assert_error_body(response, 413)


@pytest.mark.parametrize(
    ("where", "size", "field"),
    [
        ("city", 5_000, "address.city"),
        ("zipOrPostalCode", 100_000, "address.zipOrPostalCode"),
        ("zipOrPostalCode", 21, "address.zipOrPostalCode"),
        ("stateOrProvince", 101, "address.stateOrProvince"),
        ("city", 101, "address.city"),
    ],
)
def test_overlong_strings_are_400_naming_the_field(client, partner, where, size, field):
    """Issue 16, probe 2: every string has a limit (spec or common sense), and the error names the field."""
    body = customer_body(partner.template_id)
    body["address"][where] = "9" * size
    err = assert_error_body(client.post("/v1/wholesale/customers", json=body, headers=partner.headers), 400)
    assert field in err["message"] and "at most" in err["message"]
    assert client.get("/v1/wholesale/customers", headers=partner.headers).json()["items"] == []


def test_every_request_string_has_a_length_limit():
    """A field without its own max_length takes the default; lists of strings are checked item by item."""
    from pydantic import ValidationError

    from wholesale.kit.schemas import MAX_STRING, RequestModel

    class Probe(RequestModel):
        free: str
        tags: tuple[str, ...] = ()

    Probe(free="x" * MAX_STRING, tags=("y" * MAX_STRING,))
    with pytest.raises(ValidationError, match="at most 1,000 characters"):
        Probe(free="x" * (MAX_STRING + 1))
    with pytest.raises(ValidationError, match="at most 1,000 characters"):
        Probe(free="x", tags=("ok", "y" * (MAX_STRING + 1)))
