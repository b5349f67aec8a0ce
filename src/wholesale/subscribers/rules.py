"""Subscriber rules, shared by the single and the bulk path: one package (R7), caps (R8), add-ons (R9), the admin
tier (R5), calling details, free accounts and the error each failure gives.

The rules read the database through a `Lookup`: row by row for one request, or (a bulk chunk's subclass) from
reads batched once for the whole chunk. Either way the same checks run in the same order with the same errors.
"""

import re
from dataclasses import dataclass
from typing import Any, Protocol

import phonenumbers
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wholesale.customers import repository as customers_repo
from wholesale.customers.models import CallingLocation, Customer, CustomerPackageRow
from wholesale.customers.validation import check_name
from wholesale.db.session import serialize_on
from wholesale.identity import service as identity
from wholesale.identity.models import Org, User
from wholesale.kit.errors import BadRequest, Conflict, DomainError, field_error
from wholesale.packages.catalog import ADDON_DEPENDENCIES, DEFAULT_PERSON_TIERS, SubscriberPackage
from wholesale.partners.tenancy import Tenant
from wholesale.subscribers import repository
from wholesale.subscribers.schemas import BulkRowIn, SubscriberProvisioningParametersIn

EMAIL_IN_USE = 10022
# The docs call every subscriber package except webex_meetings "calling-enabled".
CALLING_ENABLED = frozenset(p.value for p in SubscriberPackage) - {"webex_meetings"}
EXTENSION = re.compile(r"^\d{2,10}$")
ADMIN_ROLES = frozenset({"full_admin", "admin"})


# ---------------------------------------------------------------------------------------------- what is wanted


@dataclass
class Wanted:
    """A subscriber to provision, after parsing."""

    email: str
    package: str | None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    extension: str | None = None
    location_id: str | None = None
    administrator: bool = False


@dataclass
class Calling:
    """The calling details a subscriber ends up with."""

    phone: str | None = None
    extension: str | None = None
    location_id: str | None = None


@dataclass
class Planned:
    """A subscriber that passed every create rule: what to write."""

    email: str
    package: str
    calling: Calling
    free: User | None  # the free account that moves in once its owner consents, or None for a new user


def wanted(
    email: str, package: str | None, params: SubscriberProvisioningParametersIn | None, *, administrator: bool = False
) -> Wanted:
    """A create or precheck request as a subscriber to provision."""
    return Wanted(
        email=email,
        package=package,
        first_name=params.firstName if params else None,
        last_name=params.lastName if params else None,
        phone=params.primaryPhoneNumber if params else None,
        extension=params.extension if params else None,
        location_id=params.locationId if params else None,
        administrator=administrator,
    )


def wanted_from_row(parsed: BulkRowIn) -> Wanted:
    """A bulk row (API or CSV) as a subscriber to provision."""
    return Wanted(
        email=parsed.email,
        package=str(parsed.package),
        first_name=parsed.firstName,
        last_name=parsed.lastName,
        phone=parsed.primaryPhoneNumber,
        extension=parsed.extension,
    )


# ---------------------------------------------------------------------------------------------- reads the rules need


class Lookup:
    """What the rules read, straight from the database (one request). A bulk chunk overrides the reads with
    sets read once for all its rows; the rules do not know which one they have."""

    def __init__(self, session: Session, customer: Customer, *, exclude_id: str | None = None) -> None:
        self.session = session
        self.customer = customer
        self.exclude_id = exclude_id  # the subscriber being changed: its own number and extension are not "taken"
        self._tier: tuple[str | None] | None = None

    def free_account(self, email: str) -> User | None:
        """The active free account owning the email, None when nobody has it; 10022 when another org's user does,
        or when a customer being provisioned will give it to its full admin."""
        serialize_on(self.session, f"email:{email}")  # with customer creates of the same email (PostgreSQL)
        user, pending = customers_repo.email_holder(self.session, email.lower())  # both in one statement
        if user is None and pending:
            raise email_in_use()
        return free_account_of(self.session, user)

    def location(self) -> CallingLocation | None:
        """The customer's calling location."""
        return customers_repo.get_location(self.session, self.customer.id)

    def e164(self, value: str) -> str:
        """The number in E.164, or the error normalise_phone gives."""
        return normalise_phone(value, self.customer.country)

    def phone_taken(self, e164: str) -> bool:
        """True when another subscriber of the customer has the number."""
        return repository.phone_taken(self.session, self.customer.id, e164, exclude_id=self.exclude_id)

    def extension_taken(self, location: CallingLocation, extension: str) -> bool:
        """True when another subscriber at the location has the extension."""
        return repository.extension_taken(self.session, location.id, extension, exclude_id=self.exclude_id)

    def admin_tier(self, rows: dict[str, CustomerPackageRow] | None = None) -> str | None:
        """The customer's admin package (R5), read once."""
        if self._tier is None:
            self._tier = (tier_of(self.session, self.customer, rows),)
        return self._tier[0]


class PrecheckLookup(Lookup):
    """A precheck's reads: a create's, but the caller learns nothing of other tenants' users (see
    `precheck_free_account`)."""

    def __init__(self, session: Session, customer: Customer, tenant: Tenant) -> None:
        super().__init__(session, customer)
        self.tenant = tenant

    def free_account(self, email: str) -> User | None:
        """As a create's, except that another tenant's user reads as nobody's."""
        return precheck_free_account(self.session, self.tenant, email)


def precheck_free_account(session: Session, tenant: Tenant, email: str) -> User | None:
    """`find_free_account` for a precheck: an email only another tenant's user has (another partner's customer, a
    free account whose move another partner waits for) answers as an email nobody has, so a precheck never tells
    one partner whom another serves. A create of it still fails with 10022 (emails are unique platform-wide),
    which names nobody (docs/API_DECISIONS.md)."""
    try:
        return find_free_account(session, email)
    except BadRequest:  # 10022, the only error it raises
        user = identity.find_user(session, email)
        if user is not None and not repository.user_visible(session, tenant, user):
            return None
        raise


def find_free_account(session: Session, email: str) -> User | None:
    """The active free account owning the email, None when nobody has it; 10022 when another org's user does."""
    return free_account_of(session, identity.find_user(session, email))


def free_account_of(session: Session, user: User | None) -> User | None:
    """`find_free_account` for the user found by the email (None: nobody has it)."""
    if user is None:
        return None
    org = session.get(Org, user.org_id)
    kind = org.kind if org is not None else None
    return free_account(user, kind, kind == "consumer" and repository.by_user(session, user.id) is not None)


def free_account(user: User, org_kind: str | None, subscribed: bool) -> User:
    """A user found by email is a free account that may move in only when it is a consumer's with no subscriber
    record; anyone else's user makes the email taken (10022)."""
    if org_kind == "consumer" and not subscribed:
        return user
    raise email_in_use()


# ---------------------------------------------------------------------------------------------- R7, R9


def one_package(package: str | None, packages: list[Any] | None, *, required: bool = True) -> str | None:
    """R7: a subscriber has exactly one package, given as `packages: [x]` or the deprecated `package`."""
    if package is not None and packages is not None:
        raise field_error("packages", "send either packages or the deprecated package, not both.", 400301)
    if packages is not None:
        if len(packages) != 1:
            raise field_error(
                "packages",
                f"must list exactly one package (a subscriber holds exactly one); {len(packages)} given.",
                400302,
            )
        return str(packages[0])
    if package is not None:
        return str(package)
    if required:
        raise package_required()
    return None


def package_required() -> BadRequest:
    """R7: no package given where one is needed."""
    return field_error("packages", "is required: list the subscriber's one package.", 400303)


def held(rows: dict[str, CustomerPackageRow]) -> set[str]:
    """The packages a customer holds (those being removed no longer count)."""
    return {name for name, row in rows.items() if row.status != "deleting"}


def check_package(customer: Customer, package: str, rows: dict[str, CustomerPackageRow]) -> None:
    """The package must be one the customer holds (R7); attendant_console also needs one of its base packages (R9)."""
    holds = held(rows)
    if package not in holds:
        raise field_error(
            "packages",
            f"{package} is not a package of customer {customer.external_id} (it holds: {', '.join(sorted(holds)) or 'none'}).",
            400310,
        )
    bases = ADDON_DEPENDENCIES.get(package)
    if bases is not None and not bases & holds:
        raise field_error(
            "packages",
            f"{package} is an add-on that needs the customer to hold one of {', '.join(sorted(bases))}; it holds none.",
            400311,
        )


def check_names(first_name: str | None, last_name: str | None) -> None:
    """The person's names, when given, are display names."""
    for field, value in (("firstName", first_name), ("lastName", last_name)):
        if value is not None:
            check_name(f"provisioningParameters.{field}", value)


# ---------------------------------------------------------------------------------------------- R8


class UnitState(Protocol):
    """A package's units as read (a package row, or what a bulk chunk saw after its take)."""

    @property
    def status(self) -> str: ...

    @property
    def quantity_limit(self) -> int | None: ...

    @property
    def assigned(self) -> int: ...


def cap_error(customer: Customer, package: str, state: UnitState | None) -> Conflict:
    """R8: the refusal when no unit is left (naming the cap and what is left) or the package is not provisioned."""
    if state is None or state.status != "provisioned":
        status = state.status if state is not None else "absent"
        return Conflict(
            f"packages: {package} of customer {customer.external_id} is {status}; subscribers can get it once it is provisioned.",
            error_code=409510,
        )
    return Conflict(
        f"packages: the cap for {package} is reached: limit {state.quantity_limit}, {state.assigned} assigned, 0 left.",
        error_code=409500,
    )


def check_unit_left(customer: Customer, package: str, state: UnitState | None) -> None:
    """R8 without taking: refuse as assign() would when no unit is left."""
    if (
        state is None
        or state.status != "provisioned"
        or (state.quantity_limit is not None and state.assigned >= state.quantity_limit)
    ):
        raise cap_error(customer, package, state)


def assign(session: Session, customer: Customer, package: str) -> repository.Units:
    """Take one unit of the package or refuse naming the cap and what is left (R8); the units after it."""
    units = repository.take_units(session, customer.id, package, 1)
    if units is None:
        raise cap_error(customer, package, repository.package_row(session, customer.id, package))
    return units


# ---------------------------------------------------------------------------------------------- R5


def person_tier(rows: dict[str, CustomerPackageRow]) -> str | None:
    """The highest person package among a customer's packages (R5)."""
    holds = held(rows)
    return next((p for p in DEFAULT_PERSON_TIERS if p in holds), None)


def tier_of(session: Session, customer: Customer, rows: dict[str, CustomerPackageRow] | None = None) -> str | None:
    """The customer's admin package: recorded when its full admin was created, else its highest person package."""
    recorded = repository.get_tier(session, customer.id)
    if recorded is not None:
        return recorded.package
    return person_tier(rows if rows is not None else repository.package_rows(session, customer.id))


def _rank(package: str) -> int:
    return DEFAULT_PERSON_TIERS.index(package) if package in DEFAULT_PERSON_TIERS else len(DEFAULT_PERSON_TIERS)


def check_admin_package(
    lookup: Lookup, rows: dict[str, CustomerPackageRow], user_roles: list[str], email: str, package: str
) -> None:
    """R5: administrators hold the customer's tier package or a higher one; a downgrade is refused (409)."""
    if not ADMIN_ROLES & set(user_roles or []):
        return
    tier = lookup.admin_tier(rows)
    if tier is not None and _rank(package) > _rank(tier):
        who = "full administrator" if "full_admin" in user_roles else "an administrator"
        raise Conflict(
            f"packages: {email} is the customer's {who} and must keep {tier} (the package the customer was created with) "
            f"or a higher one; {package} is lower. Nothing was changed.",
            error_code=409530,
        )


# ---------------------------------------------------------------------------------------------- calling


def check_calling(
    lookup: Lookup,
    package: str,
    phone: str | None,
    extension: str | None,
    location_id: str | None = None,
) -> Calling:
    """Calling-enabled packages need a number and/or an extension at the customer's calling location."""
    if package not in CALLING_ENABLED:
        return Calling()
    phone = (phone or "").strip() or None
    extension = (extension or "").strip() or None
    if phone is None and extension is None:
        raise field_error(
            "provisioningParameters",
            f"primaryPhoneNumber and/or extension is required for the calling-enabled package {package}.",
            400320,
        )
    location = lookup.location()
    if location is None:
        raise field_error(
            "provisioningParameters.locationId",
            f"customer {lookup.customer.external_id} has no calling location.",
            400321,
        )
    if location_id and location_id != location.id:
        raise field_error(
            "provisioningParameters.locationId",
            f"'{location_id}' is not the calling location of this customer ({location.id}).",
            400322,
        )
    e164 = None
    if phone is not None:
        e164 = lookup.e164(phone)
        if lookup.phone_taken(e164):
            raise Conflict(
                f"provisioningParameters.primaryPhoneNumber: {e164} is already used by another subscriber of this customer.",
                error_code=409520,
            )
    if extension is not None:
        if not EXTENSION.match(extension):
            raise field_error("provisioningParameters.extension", f"'{extension}' must be 2 to 10 digits.", 400323)
        if lookup.extension_taken(location, extension):
            raise Conflict(
                f"provisioningParameters.extension: {extension} is already used at location {location.name}.",
                error_code=409521,
            )
    return Calling(e164, extension, location.id)


def normalise_phone(value: str, country: str) -> str:
    """Return a valid number in E.164 (national numbers are read in the customer's country)."""
    try:
        number = phonenumbers.parse(value, country)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise field_error(
            "provisioningParameters.primaryPhoneNumber", f"'{value}' is not a valid phone number.", 400324
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# ---------------------------------------------------------------------------------------------- a whole create


def check_create(lookup: Lookup, email: str, wanted: Wanted, rows: dict[str, CustomerPackageRow]) -> Planned:
    """Every create rule, in order, on a normalised email; nothing is written. The single path, precheck and
    each bulk row run exactly this."""
    customer = lookup.customer
    free = lookup.free_account(email)
    tier = lookup.admin_tier(rows) if wanted.administrator else None
    package = wanted.package or tier  # R5: administrators get the customer's package
    if package is None:
        raise package_required()
    check_package(customer, package, rows)
    if wanted.administrator:
        check_admin_package(lookup, rows, ["admin"], email, package)
    check_names(wanted.first_name, wanted.last_name)
    calling = check_calling(lookup, package, wanted.phone, wanted.extension, wanted.location_id)
    return Planned(email, package, calling, free)


# ---------------------------------------------------------------------------------------------- errors


def email_in_use() -> BadRequest:
    """The email belongs to a user already (emails are unique platform-wide)."""
    return BadRequest(
        "email: the email is already used by an existing user.",
        errors=[{"description": "The email is already associated with an existing user.", "errorCode": EMAIL_IN_USE}],
    )


def integrity_error(exc: IntegrityError) -> DomainError:
    """Map a unique-constraint race (two requests between check and write) to the error the check gives."""
    text = str(exc.orig).lower()
    if "phone" in text:
        return Conflict(
            "provisioningParameters.primaryPhoneNumber: already used by another subscriber of this customer.",
            error_code=409520,
        )
    if "extension" in text:
        return Conflict("provisioningParameters.extension: already used at this location.", error_code=409521)
    if "email" in text or "user_id" in text:
        return email_in_use()
    return Conflict("The request conflicts with a concurrent change; retry it.")


def row_errors(exc: Exception) -> list[dict[str, Any]]:
    """The per-row errors of a bulk row that failed a rule or did not parse (pydantic's ValidationError)."""
    if isinstance(exc, DomainError):
        return exc.errors
    text = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in getattr(exc, "errors", list)()
    ) or str(exc)
    return [{"description": text, "errorCode": 400100}]


def full_admin_stays(email: str) -> Conflict:
    """R5: the customer's full administrator stays as long as the customer."""
    return Conflict(
        f"{email} is the customer's full administrator and cannot be removed while the customer exists.",
        error_code=409540,
    )


def check_open(customer: Customer) -> None:
    """Subscribers change only on a customer that is provisioned and not being deleted."""
    if customer.status == "deleting":
        raise Conflict(f"Customer {customer.id} is being deleted; its subscribers cannot change.", error_code=409600)
    if customer.org_id is None:
        raise Conflict(
            f"Customer {customer.id} is still being provisioned; retry when its status is provisioned.",
            error_code=409601,
        )
