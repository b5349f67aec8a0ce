"""A case's evidence in words (issue 14): which words and places agree, and why a customer was flagged."""

from wholesale.compliance import evidence
from wholesale.compliance.screening import Address, Entry
from wholesale.customers.models import Customer

MAHAN = Entry(
    source="OFAC-SDN",
    entry_id="12927",
    name="MAHAN AIR",
    entity_type="company",
    aliases=("MAHAN AIRLINES",),
    addresses=(Address(street="Mahan Air Tower", city="Tehran", country="IR", country_name="Iran"),),
    programs=("SDGT", "IFSR"),
)


def customer(name: str, country: str = "IR", city: str = "Tehran") -> Customer:
    return Customer(name=name, external_id="x", country=country, city=city, zip_or_postal_code=None)


def why(c: Customer, variant: str = "MAHAN AIR") -> str:
    hit = {"source": "OFAC-SDN", "entryId": "12927", "name": "MAHAN AIR", "matchedVariant": variant, "score": 0.97}
    mine, theirs = evidence.compare_words(c.name, variant), evidence.compare_words(variant, c.name)
    return evidence._why(c, hit, MAHAN, mine, theirs, evidence._places(c, MAHAN))


def test_words_are_same_close_different_or_left_aside():
    words = evidence.compare_words("Mahaan Air Cargo GmbH", "MAHAN AIR")
    assert [(w["text"], w["kind"]) for w in words] == [
        ("Mahaan", "close"),
        ("Air", "same"),
        ("Cargo", "differs"),
        ("GmbH", "minor"),
    ]
    assert words[0]["partner"] == "MAHAN"
    assert [w["kind"] for w in evidence.compare_words("Al-Naser Trading", "AL NASSER TRADING")] == ["close", "same"]


def test_the_reason_reads_as_a_sentence():
    assert why(customer("Mahan Air")) == (
        "The name matches the SDN entry MAHAN AIR word for word; the country (Iran) matches one of its addresses; "
        "the city (Tehran) matches one of its addresses."
    )
    assert why(customer("Mahaan Air", country="FR", city="Paris")) == (
        "The name matches the SDN entry MAHAN AIR but for spelling: “Mahaan” for “MAHAN”; the country (France) is "
        "not among its countries (Iran)."
    )
    alias = why(customer("Mahan Air Cargo"), "MAHAN AIRLINES")
    assert alias.startswith("The name shares 1 of the 2 words of “MAHAN AIRLINES” (another name of the SDN entry")
    assert "the listed name also has “AIRLINES”" in alias and "the customer's name adds “Air” and “Cargo”" in alias


def test_places_compare_country_city_and_postal_code():
    places = evidence._places(customer("Mahan Air", country="AE", city="Dubai"), MAHAN)
    assert places["country"] == {"state": "differs", "customer": "United Arab Emirates", "listed": ["Iran"]}
    assert places["city"]["state"] == "differs" and places["postal"]["state"] == "not listed"


def test_the_timeline_has_no_scores_or_requirement_codes():
    assert evidence.timeline_words({"event": "opened", "detail": "review (score 0.91) after address_changed"}) == (
        "Opened: a possible match was found when its billing address changed."
    )
    assert evidence.timeline_words(
        {"event": "deprovision", "detail": "still non-compliant 30 days after the case opened (R14)"}
    ) == ("Deprovisioned: still non-compliant 30 days after the case opened.")
    warning = evidence.timeline_words(
        {"event": "deadline_warning", "detail": "7 day(s) before the R14 deadline", "days": 7}
    )
    assert warning == "The partner was warned: 7 days left before the customer is removed."
