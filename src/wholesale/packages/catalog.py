"""The package catalogue: the spec's enums, add-on dependencies (R9), calling packages and person tiers (R5)."""

from enum import StrEnum


class CustomerPackage(StrEnum):
    """WholesalePackagesCustomer (14 values, spec 2026-04-01)."""

    COMMON_AREA_CALLING = "common_area_calling"
    WEBEX_CALLING = "webex_calling"
    WEBEX_MEETINGS = "webex_meetings"
    WEBEX_SUITE = "webex_suite"
    WEBEX_VOICE = "webex_voice"
    CX_ESSENTIALS = "cx_essentials"
    WEBEX_CALLING_STANDARD = "webex_calling_standard"
    CISCO_CALLING_PLAN = "cisco_calling_plan"
    ATTENDANT_CONSOLE = "attendant_console"
    CX_PREMIUM_AGENT = "cx_premium_agent"
    CX_STANDARD_AGENT = "cx_standard_agent"
    CX_VOICE_PORTS = "cx_voice_ports"
    CX_AI_ASSISTANT = "cx_ai_assistant"
    WEBEX_AI_AGENT = "webex_ai_agent"


class SubscriberPackage(StrEnum):
    """WholesalePackagesSubscriber (9 values)."""

    WEBEX_CALLING = "webex_calling"
    WEBEX_MEETINGS = "webex_meetings"
    WEBEX_SUITE = "webex_suite"
    WEBEX_VOICE = "webex_voice"
    CX_ESSENTIALS = "cx_essentials"
    WEBEX_CALLING_STANDARD = "webex_calling_standard"
    ATTENDANT_CONSOLE = "attendant_console"
    CX_PREMIUM_AGENT = "cx_premium_agent"
    CX_STANDARD_AGENT = "cx_standard_agent"


# The products as people read them (WHOLESALE_API.md section 6.1): what pages and reports show for a package value.
PACKAGE_NAMES: dict[str, str] = {
    "common_area_calling": "Webex Common Area Calling",
    "webex_calling": "Webex Calling",
    "webex_meetings": "Webex Meetings",
    "webex_suite": "Webex Suite",
    "webex_voice": "Webex Voice",
    "cx_essentials": "Customer Assist",
    "webex_calling_standard": "Webex Calling Standard",
    "cisco_calling_plan": "Cisco Calling Plan",
    "attendant_console": "Attendant Console",
    "cx_premium_agent": "Contact Center Premium Agent",
    "cx_standard_agent": "Contact Center Standard Agent",
    "cx_voice_ports": "Contact Center Voice Ports",
    "cx_ai_assistant": "Contact Center AI Assistant",
    "webex_ai_agent": "Webex AI Agent",
}


def package_name(value: str) -> str:
    """A package as people read it ("webex_calling" -> "Webex Calling"); an unknown value as it is."""
    return PACKAGE_NAMES.get(str(value), str(value))


# R9: an add-on needs at least one of these base packages.
ADDON_DEPENDENCIES: dict[str, frozenset[str]] = {
    "cisco_calling_plan": frozenset(
        {
            "common_area_calling",
            "webex_calling",
            "webex_suite",
            "webex_voice",
            "cx_essentials",
            "webex_calling_standard",
        }
    ),
    "attendant_console": frozenset({"webex_calling", "webex_suite", "cx_essentials"}),
}
ADDONS = frozenset(ADDON_DEPENDENCIES)

# Packages whose provisioning needs a calling location (provisioningParameters.calling.location).
CALLING_PACKAGES = frozenset(
    {"common_area_calling", "webex_calling", "webex_suite", "webex_voice", "cx_essentials", "webex_calling_standard"}
)
# Packages that come with a meetings site.
MEETINGS_PACKAGES = frozenset({"webex_meetings", "webex_suite"})

# R5: person packages from highest to lowest tier (operator data; this is the default).
DEFAULT_PERSON_TIERS: tuple[str, ...] = (
    "webex_suite",
    "cx_essentials",
    "webex_calling",
    "webex_calling_standard",
    "webex_meetings",
    "webex_voice",
)

# Licence SKUs shown inside licence ids (…/LICENSE/<uuid>:<SKU>_<uuid>).
SKUS: dict[str, str] = {
    "common_area_calling": "CAC",
    "webex_calling": "BCBW",
    "webex_meetings": "MTGW",
    "webex_suite": "SUITEW",
    "webex_voice": "VOICEW",
    "cx_essentials": "CXEW",
    "webex_calling_standard": "BCSTDW",
    "cisco_calling_plan": "CCPW",
    "attendant_console": "ACW",
    "cx_premium_agent": "CXPAW",
    "cx_standard_agent": "CXSAW",
    "cx_voice_ports": "CXVPW",
    "cx_ai_assistant": "CXAIAW",
    "webex_ai_agent": "AIAGW",
}


def missing_addon_dependencies(packages: set[str]) -> list[tuple[str, frozenset[str]]]:
    """Return (add-on, its possible bases) for each add-on in the set whose base packages are all absent (R9)."""
    return [
        (addon, bases)
        for addon, bases in sorted(ADDON_DEPENDENCIES.items())
        if addon in packages and not packages & bases
    ]
