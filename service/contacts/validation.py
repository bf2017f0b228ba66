"""Field rules for a contact, shared by the API, the importer and the CLI.

Every cleaner takes what a person typed (or a spreadsheet cell held) and returns the stored form,
or raises ValueError with a reason fit to show next to the field. `clean_contact` runs them all
and collects every problem, so an import can list every bad cell at once."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, ValidatedEmail, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from service.spreadsheet import refuse_formula_start

CHANNELS = ("email", "sms")
"""The default order when a contact's channels are left blank."""
MAX_WINDOW_MINUTES = 1440
MAX_ID_LENGTH = 64
MAX_NAME_LENGTH = 200
MAX_GROUP_LENGTH = 100
MAX_GROUPS = 50
SEPARATOR = ";"
"""Between groups and between channels in one spreadsheet cell."""

_PUNCTUATION = re.compile(r"[\s\-()]")


SMOKE_TEST_NUMBERS = frozenset({"+447700900000", "+447700900111", "+447700900222"})
"""GOV.UK Notify's smoke-test numbers (notifications-api app/config.py `SIMULATED_SMS_NUMBERS`):
Notify answers a send to them and never stores or delivers it, so no receipt, no look-up and no
acknowledgement could ever come."""
_SENDABLE = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.PERSONAL_NUMBER}
"""What Notify texts for a service without the landline or international permissions
(notifications-utils `PhoneNumber`: ALLOW_LIST less the landline types). Pagers (076) are not in
Notify's list, so it refuses them."""


def normalise_uk_mobile(raw: str) -> str:
    """A UK mobile in E.164 (+447…), by GOV.UK Notify's rule (notifications-utils
    `PhoneNumber`, built on libphonenumber): spaces, dashes, brackets and a +44, 0044 or 0 prefix
    are dropped; what is left must be 10 digits starting with 7 that libphonenumber calls a mobile
    (Jersey, Guernsey and the Isle of Man included), or one of Ofcom's drama numbers (07700…,
    which Notify accepts and councils rehearse with). Pagers (076) and Notify's smoke-test numbers
    are refused with the reason. "+44 (0)7700 900123" and Excel's habit of dropping the leading
    zero ("7700900123", or 447700900123 as a number) are accepted too."""
    text = _PUNCTUATION.sub("", str(raw))
    if not text:
        raise ValueError("is empty")
    if text.startswith("+"):
        if not text.startswith("+44"):
            raise ValueError("is not a UK number: only +44 mobiles can receive the cascade's SMS")
        text = text[3:]
    elif text.startswith("0044"):
        text = text[4:]
    elif text.startswith("44") and len(text) == 12:
        text = text[2:]
    if text.startswith("0"):
        text = text[1:]
    if not text.isascii() or not text.isdigit():
        raise ValueError("must contain only digits, spaces, dashes, brackets and a leading +")
    if not text.startswith("7"):
        raise ValueError("is not a UK mobile number (UK mobiles start 07 or +447)")
    if len(text) > 10:
        raise ValueError("has too many digits for a UK mobile number (07 and 9 more)")
    if len(text) < 10:
        raise ValueError("has too few digits for a UK mobile number (07 and 9 more)")
    e164 = "+44" + text
    if e164 in SMOKE_TEST_NUMBERS:
        raise ValueError(
            "is one of GOV.UK Notify's smoke-test numbers (07700 900000, 900111, 900222): Notify "
            "accepts a text to it but never delivers it, so the message could never be "
            "confirmed; use another number"
        )
    if text.startswith("7700"):  # Ofcom's drama range, as Notify's `_is_tv_number` allows
        return e164
    number = phonenumbers.parse(e164)
    kind = phonenumbers.number_type(number)
    if kind == phonenumbers.PhoneNumberType.PAGER:
        raise ValueError(
            "is a pager number (076): GOV.UK Notify does not send text messages to pagers"
        )
    if not phonenumbers.is_valid_number(number) or kind not in _SENDABLE:
        raise ValueError(
            "is not a UK mobile number GOV.UK Notify can text (libphonenumber does not know it "
            "as a mobile)"
        )
    return e164


def national_mobile(e164: str) -> str:
    """+447700900123 → "07700 900123": the form people type, and one spreadsheets keep as text
    (a bare +447700900123 becomes 4.4777E+11 when Excel saves a CSV)."""
    digits = "0" + e164.removeprefix("+44")
    return f"{digits[:5]} {digits[5:]}"


_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*\Z")
"""A part before the @ that email-validator passes unchanged: dot-atom text (its
`rfc_constants.DOT_ATOM_TEXT`) of the characters real addresses use."""
_PLAIN_DOMAIN = re.compile(r"[A-Za-z0-9.\-]+\Z")
_PLAIN_MAX_LENGTH = 200
"""Under email-validator's 254, so a plain address this short cannot fail on length in any of
the forms it measures. Before the @ a plain address keeps to 64 characters, the limit the
library applied before 2.3 (now only when strict), so the outcome is the same on every 2.x."""
_PLAIN_MAX_LOCAL_LENGTH = 64
_DOMAINS_KEPT = 1_024
_checked_domains: dict[str, tuple[str, str]] = {}
"""Domains as written → (normalised, IDNA ASCII), as email-validator found them in a whole check
of a plain address: a file of 4,000 addresses at one council's domain checked that domain 4,000
times (two thirds of an import's time). Whether a domain is valid does not depend on the part
before the @, so another plain address at a domain checked here needs only its own part."""


def _known_plain(text: str) -> str | None:
    """The address as email-validator would normalise it, when it is plain and at a domain it
    has already passed; None when it must be checked whole."""
    local, at, domain = text.partition("@")
    known = _checked_domains.get(domain) if at else None
    if (
        known is None
        or len(local) > _PLAIN_MAX_LOCAL_LENGTH
        or not _PLAIN_LOCAL.match(local)
        or local.lower() in CASE_INSENSITIVE_MAILBOX_NAMES  # lower-cased by the library
    ):
        return None
    normalised, ascii_domain = known
    address = f"{local}@{normalised}"
    longest = max(len(text), len(address.encode()), len(local) + 1 + len(ascii_domain))
    return address if longest <= _PLAIN_MAX_LENGTH else None


def _remember_domain(text: str, checked: ValidatedEmail) -> None:
    local, _, domain = text.partition("@")
    if (
        len(_checked_domains) < _DOMAINS_KEPT
        and _PLAIN_LOCAL.match(local)
        and _PLAIN_DOMAIN.match(domain)
        and checked.ascii_domain
    ):
        _checked_domains[domain] = (checked.domain, checked.ascii_domain)


def normalise_email(raw: str) -> str:
    """The address with its domain lower-cased; syntax only (no DNS look-up). A leading = + - @
    is legal in an address's local part, but no real one starts so, and a spreadsheet runs it."""
    text = str(raw).strip()
    if not text:
        raise ValueError("is empty")
    refuse_formula_start(text)
    if (known := _known_plain(text)) is not None:
        return known
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"is not a valid email address: {exc}") from exc
    _remember_domain(text, checked)
    return checked.normalized


def _plain_text(raw: object, *, max_length: int, what: str = "") -> str:
    text = str(raw).strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError(f"{what}must not contain control characters (tabs, line breaks, NUL)")
    if len(text) > max_length:
        raise ValueError(f"{what}is longer than {max_length} characters")
    return refuse_formula_start(text, what=what)


def clean_id(raw: object) -> str:
    """A staff number or any other stable key; it appears in URLs, so no slash."""
    text = _plain_text("" if raw is None else raw, max_length=MAX_ID_LENGTH)
    if not text:
        raise ValueError("is empty")
    if "/" in text or "\\" in text:
        raise ValueError("must not contain a slash")
    return text


def clean_reference(raw: object) -> str | None:
    """Another contact's id, or None for blank."""
    if raw is None or not str(raw).strip():
        return None
    return clean_id(raw)


def clean_name(raw: object) -> str:
    text = _plain_text("" if raw is None else raw, max_length=MAX_NAME_LENGTH)
    if not text:
        raise ValueError("is empty")
    return text


def clean_optional_text(raw: object, *, max_length: int = MAX_NAME_LENGTH) -> str | None:
    if raw is None:
        return None
    text = _plain_text(raw, max_length=max_length)
    return text or None


def _items(raw: object) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [part.strip() for part in raw.split(SEPARATOR) if part.strip()]
    if isinstance(raw, Iterable):
        return [str(part).strip() for part in raw if part is not None and str(part).strip()]
    raise ValueError(f"must be a list or {SEPARATOR!r}-separated text")


def clean_groups(raw: object) -> list[str]:
    """Group names, in the order given, each once."""
    groups: list[str] = []
    for item in _items(raw):
        if SEPARATOR in item:
            raise ValueError(f"a group name must not contain {SEPARATOR!r}")
        name = _plain_text(item, max_length=MAX_GROUP_LENGTH, what=f"group {item[:20]!r} ")
        if name not in groups:
            groups.append(name)
    if len(groups) > MAX_GROUPS:
        raise ValueError(f"more than {MAX_GROUPS} groups")
    return groups


def clean_channels(raw: object) -> list[str]:
    """Channels in order of preference; empty means "every channel with an address"."""
    channels: list[str] = []
    for item in _items(raw):
        name = item.lower()
        if name not in CHANNELS:
            raise ValueError(f"unknown channel {item[:40]!r}; use {' or '.join(CHANNELS)}")
        if name in channels:
            raise ValueError(f"channel {name!r} is listed twice")
        channels.append(name)
    return channels


def clean_window(raw: object) -> int | None:
    """Minutes to wait for an acknowledgement: None = the default, 0 = cascade at once."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise ValueError(f"must be a whole number of minutes from 0 to {MAX_WINDOW_MINUTES}")
    if isinstance(raw, float):
        if not raw.is_integer():
            raise ValueError(f"must be a whole number of minutes from 0 to {MAX_WINDOW_MINUTES}")
        value = int(raw)
    elif isinstance(raw, int):
        value = raw
    else:
        text = str(raw).strip()
        if not re.fullmatch(r"[0-9]+(\.0*)?", text):
            raise ValueError(f"must be a whole number of minutes from 0 to {MAX_WINDOW_MINUTES}")
        value = int(text.split(".")[0])
    if not 0 <= value <= MAX_WINDOW_MINUTES:
        raise ValueError(f"must be a whole number of minutes from 0 to {MAX_WINDOW_MINUTES}")
    return value


def resolve_channels(channels: list[str], *, email: str | None, mobile: str | None) -> list[str]:
    """The channels to store: the given ones if each has its address, else every channel that
    has one. Someone with neither an email nor a mobile cannot be reached at all."""
    addresses = {"email": email, "sms": mobile}
    if not email and not mobile:
        raise ValueError("needs an email or a mobile: the cascade cannot reach them otherwise")
    if not channels:
        return [c for c in CHANNELS if addresses[c]]
    for channel in channels:
        if not addresses[channel]:
            needs = "an email" if channel == "email" else "a mobile"
            raise ValueError(f"channel {channel!r} needs {needs}")
    return channels


@dataclass
class CleanContact:
    """A contact's fields in stored form (channels resolved)."""

    id: str
    name: str
    role: str | None = None
    email: str | None = None
    mobile: str | None = None
    reports_to: str | None = None
    deputy: str | None = None
    groups: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    ack_window_minutes: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "email": self.email,
            "mobile": self.mobile,
            "reports_to": self.reports_to,
            "deputy": self.deputy,
            "groups": self.groups,
            "channels": self.channels,
            "ack_window_minutes": self.ack_window_minutes,
        }


FieldError = tuple[str, str]
"""(field, message)."""


def _blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def clean_fields(raw: Mapping[str, object]) -> tuple[dict[str, Any], list[FieldError]]:
    """Every field rule that needs no database: the fields that passed, in stored form, and
    every problem found. Blank email or mobile means none; blank channels means every channel
    with an address (resolved here, so channels only pass when every address is known)."""
    errors: list[FieldError] = []
    values: dict[str, Any] = {}

    def run(name: str, cleaner: Any, *, optional: bool = False) -> None:
        value = raw.get(name)
        if optional and _blank(value):
            values[name] = None
            return
        try:
            values[name] = cleaner(value)
        except ValueError as exc:
            errors.append((name, str(exc)))

    run("id", clean_id)
    run("name", clean_name)
    run("role", clean_optional_text)
    run("email", normalise_email, optional=True)
    run("mobile", normalise_uk_mobile, optional=True)
    run("reports_to", clean_reference)
    run("deputy", clean_reference)
    run("groups", clean_groups)
    run("channels", clean_channels)
    run("ack_window_minutes", clean_window)

    ident = values.get("id")
    if ident is not None:
        if values.get("reports_to") == ident:
            errors.append(("reports_to", "cannot report to themselves"))
        if values.get("deputy") == ident:
            errors.append(("deputy", "cannot be their own deputy"))
    if "channels" in values:
        chosen = values.pop("channels")
        if "email" in values and "mobile" in values:
            try:
                values["channels"] = resolve_channels(
                    chosen, email=values["email"], mobile=values["mobile"]
                )
            except ValueError as exc:
                errors.append(("channels" if chosen else "email", str(exc)))
    return values, errors


def clean_contact(raw: Mapping[str, object]) -> tuple[CleanContact | None, list[FieldError]]:
    """`clean_fields`, as a whole contact when every field passed."""
    values, errors = clean_fields(raw)
    if errors:
        return None, errors
    return CleanContact(**values), []
