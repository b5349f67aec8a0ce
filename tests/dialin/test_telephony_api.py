"""Operator telephony API: the call-in number domain and location overrides, validated whole, operator only."""

import pytest

from dialin_support import TEST_DOMAIN_CSV
from helpers import assert_error_body

NUMBERS = "/v1/telephony/callInNumbers"
OVERRIDES = "/v1/telephony/locationOverrides"
HEADER = "country,number,label,tollType,available\n"


@pytest.fixture
def operator(platform_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {platform_token('operator')}"}


def _csv(headers: dict[str, str]) -> dict[str, str]:
    return headers | {"Content-Type": "text/csv"}


def test_get_returns_the_domain_in_order(client, operator, telephony):
    telephony()
    items = client.get(NUMBERS, headers=operator).json()["items"]
    assert items[0] == {
        "country": "US",
        "number": "+14085550142",
        "label": "United States Toll (San Jose)",
        "tollType": "toll",
        "available": True,
        "order": 1,
    }
    assert [i["order"] for i in items] == list(range(1, len(items) + 1))


def test_put_csv_and_json_replace_the_domain(client, operator, telephony, db):
    telephony()
    csv = HEADER + "JP,+81 3-4578-1488,Japan Toll (Tokyo),toll,yes\nGB,+442071234567,London,tollFree,0\n"
    response = client.put(NUMBERS, content=csv, headers=_csv(operator))
    assert response.status_code == 200, response.text
    assert [(i["country"], i["number"], i["available"]) for i in response.json()["items"]] == [
        ("JP", "+81345781488", True),
        ("GB", "+442071234567", False),
    ]
    items = [{"country": "fr", "number": "+33170918646", "label": "Paris", "tollType": "toll", "available": True}]
    response = client.put(NUMBERS, json={"items": items}, headers=operator)
    assert response.status_code == 200, response.text
    assert client.get(NUMBERS, headers=operator).json()["items"] == [
        {"country": "FR", "number": "+33170918646", "label": "Paris", "tollType": "toll", "available": True, "order": 1}
    ]
    from dialin_support import audit

    assert audit(db, "domain", "telephony.replaced")[-1] == {"numbers": 1}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (HEADER + "US,+14085550142,ok,toll,true\nUS,+1408555,short,toll,true\n", ["line 3: number '+1408555'"]),
        (HEADER + "XX,+14085550142,nowhere,toll,true\n", ["line 2: unknown country 'XX'"]),
        ("country,phone,label,tollType,available\nUS,+14085550142,ok,toll,true\n", ["line 1: header must be exactly"]),
        ("", ["line 1: file is empty"]),
        (HEADER, ["line 2: no call-in numbers after the header"]),
        (
            HEADER + "US,+14085550142,ok,toll,true\nFR,+442071234567,wrong,toll,true\nDE,+493012345678,,free,maybe\n",
            [
                "line 3: number '+442071234567' belongs to GB",
                "line 4: label must not be empty",
                "line 4: tollType 'free'",
                "line 4: available 'maybe'",
            ],
        ),
    ],
    ids=["bad-number", "unknown-country", "wrong-header", "empty", "header-only", "every-problem"],
)
def test_bad_csv_is_refused_whole_and_the_old_domain_stays(client, operator, telephony, body, expected):
    telephony()
    before = client.get(NUMBERS, headers=operator).json()
    error = assert_error_body(client.put(NUMBERS, content=body, headers=_csv(operator)), 400)
    descriptions = [e["description"] for e in error["errors"]]
    assert len(descriptions) == len(expected), descriptions
    for description, prefix in zip(descriptions, expected, strict=False):
        assert description.startswith(prefix), descriptions
    assert "old domain stays in force" in error["message"]
    assert client.get(NUMBERS, headers=operator).json() == before


def test_bad_json_items_are_refused_with_item_numbers(client, operator, telephony):
    telephony()
    before = client.get(NUMBERS, headers=operator).json()
    items = [
        {"country": "US", "number": "+14085550142", "label": "ok", "tollType": "toll", "available": True},
        {"country": "XX", "number": "+14085550142", "label": "ok", "tollType": "toll", "available": True},
        {"country": "US", "number": "12", "label": "", "tollType": "toll", "available": "perhaps"},
        {"country": "US", "number": "+14085550142", "label": "again", "tollType": "toll", "available": True},
    ]
    error = assert_error_body(client.put(NUMBERS, json={"items": items}, headers=operator), 400)
    descriptions = [e["description"] for e in error["errors"]]
    assert descriptions[0].startswith("item 2: unknown country 'XX'")
    assert any(d.startswith("item 3: number '12'") for d in descriptions)
    assert any(d.startswith("item 3: label must not be empty") for d in descriptions)
    assert any(d.startswith("item 3: available 'perhaps'") for d in descriptions)
    assert descriptions[-1] == "item 4: duplicate number +14085550142 for US (first on item 1)"
    assert_error_body(client.put(NUMBERS, json={"items": []}, headers=operator), 400)
    assert_error_body(client.put(NUMBERS, json={"numbers": []}, headers=operator), 400)
    assert_error_body(client.put(NUMBERS, json={"items": ["US"]}, headers=operator), 400)
    assert_error_body(
        client.put(NUMBERS, content=b"{not json", headers=operator | {"Content-Type": "application/json"}), 400
    )
    assert client.get(NUMBERS, headers=operator).json() == before


def test_telephony_api_is_operator_only(client, partner, platform_token):
    reviewer = {"Authorization": f"Bearer {platform_token('reviewer')}"}
    for headers in (partner.headers, reviewer):
        assert_error_body(client.get(NUMBERS, headers=headers), 403)
        assert_error_body(client.put(NUMBERS, content=TEST_DOMAIN_CSV, headers=_csv(headers)), 403)
        assert_error_body(client.get(OVERRIDES, headers=headers), 403)
        assert_error_body(client.put(OVERRIDES, json={"items": []}, headers=headers), 403)
    assert_error_body(client.get(NUMBERS), 401)


def test_location_overrides_change_the_location_and_fallback(client, operator, overrides_restored, telephony, db):
    """An operator moves NZ to APAC: previews now fall back to SG instead of AU."""
    from wholesale.dialin.service import preview

    telephony()
    response = client.put(OVERRIDES, content="country,location\nnz,apac\n", headers=_csv(operator))
    assert response.status_code == 200, response.text
    assert client.get(OVERRIDES, headers=operator).json() == {"items": [{"country": "NZ", "location": "APAC"}]}
    with db.session(write=False) as s:
        assert preview(s, "NZ", True)["location"] == "APAC"
        assert preview(s, "NZ", True)["number"]["number"] == "+6531234567"
    response = client.put(OVERRIDES, json={"items": [{"country": "MC", "location": "EURO"}]}, headers=operator)
    assert response.json() == {"items": [{"country": "MC", "location": "EURO"}]}
    with db.session(write=False) as s:
        assert preview(s, "NZ", True)["location"] == "ANZ"


def test_bad_location_overrides_are_refused_whole(client, operator, overrides_restored):
    client.put(OVERRIDES, json={"items": [{"country": "MC", "location": "EURO"}]}, headers=operator)
    error = assert_error_body(
        client.put(OVERRIDES, content="country,location\nXX,EURO\nFR,MARS\nFR,EURO\n", headers=_csv(operator)), 400
    )
    assert [e["description"].split(":")[0] for e in error["errors"]] == [
        "line 2",
        "line 3",
        "line 4",
    ]  # line 4 repeats FR
    error = assert_error_body(
        client.put(OVERRIDES, json={"items": [{"country": "FR", "location": "MARS"}]}, headers=operator), 400
    )
    assert error["errors"][0]["description"].startswith("item 1: unknown location 'MARS'")
    assert_error_body(client.put(OVERRIDES, content="land,location\n", headers=_csv(operator)), 400)
    assert client.get(OVERRIDES, headers=operator).json() == {"items": [{"country": "MC", "location": "EURO"}]}
