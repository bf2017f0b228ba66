"""Who Notify will send to, and what it says when it will not.

Phone numbers: a port of alphagov/notifications-utils
notifications_utils/recipient_validation/phone_number.py (`PhoneNumber`, built on `phonenumbers`,
Google's libphonenumber) and errors.py (`InvalidPhoneError`, its codes and the "legacy v2 API"
messages the public API still answers with). E-mail addresses:
recipient_validation/email_address.py. The special recipients come from alphagov/notifications-api:
app/config.py (`SIMULATED_*`), app/celery/research_mode_tasks.py (what a test key's messages end
as) and app/service/utils.py with notifications_utils/recipients.py (`allowed_to_send_to`, for team
keys and trial mode)."""

from __future__ import annotations

import re
import string
from contextlib import suppress
from enum import StrEnum

import phonenumbers

# notifications_utils/formatters.py: ALL_WHITESPACE = string.whitespace + the obscure zero-width
# characters + the non-breaking space.
OBSCURE_ZERO_WIDTH_WHITESPACE = "\u180e\u200b\u200c\u200d\u2060\ufeff"
OBSCURE_FULL_WIDTH_WHITESPACE = "\u00a0"
ALL_WHITESPACE = string.whitespace + OBSCURE_ZERO_WIDTH_WHITESPACE + OBSCURE_FULL_WIDTH_WHITESPACE

UK_PREFIX = "44"
_TYPE = phonenumbers.PhoneNumberType
LANDLINE_CODES = {_TYPE.FIXED_LINE, _TYPE.FIXED_LINE_OR_MOBILE, _TYPE.UAN}
ALLOW_LIST = {
    _TYPE.FIXED_LINE,
    _TYPE.MOBILE,
    _TYPE.FIXED_LINE_OR_MOBILE,
    _TYPE.UAN,
    _TYPE.PERSONAL_NUMBER,
}
"""Number types Notify sends to. Pagers (UK 076 numbers, libphonenumber's PAGER) are not in it, so
Notify refuses them as INVALID_NUMBER; premium rate numbers are denied outright."""
DENY_LIST = {_TYPE.PREMIUM_RATE}

COUNTRY_PREFIXES = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
"""Notify's list is the keys of notifications_utils/international_billing_rates.yml, which is not
read here; every country code libphonenumber knows stands in for it. Only services allowed to text
abroad ever reach this check."""

_TV_NUMBER = re.compile("7700[900000-900999]")
"""Copied as Notify wrote it (phone_number.py `_is_tv_number`): the brackets make a character class,
so any national number starting 7700 and a digit counts as one of Ofcom's drama numbers."""


class InvalidPhone(ValueError):
    """notifications_utils InvalidPhoneError: a code, and the message the v2 API gives for it."""

    class Codes(StrEnum):
        INVALID_NUMBER = "invalid_number"
        TOO_LONG = "too_long"
        TOO_SHORT = "too_short"
        NOT_A_UK_MOBILE = "not_a_uk_mobile"
        UNKNOWN_CHARACTER = "unknown_character"
        UNSUPPORTED_COUNTRY_CODE = "unsupported_country_code"

    # errors.py: LEGACY_V2_API_ERROR_MESSAGES (ERROR_MESSAGES with five of them reworded)
    LEGACY_V2_API_ERROR_MESSAGES = {
        Codes.INVALID_NUMBER: "Number is not valid – double check the phone number you entered",
        Codes.TOO_LONG: "Too many digits",
        Codes.TOO_SHORT: "Not enough digits",
        Codes.NOT_A_UK_MOBILE: "Not a UK mobile number",
        Codes.UNKNOWN_CHARACTER: "Must not contain letters or symbols",
        Codes.UNSUPPORTED_COUNTRY_CODE: "Not a valid country prefix",
    }

    def __init__(self, code: InvalidPhone.Codes):
        self.code = code
        super().__init__(self.LEGACY_V2_API_ERROR_MESSAGES[code])

    @property
    def message(self) -> str:
        return self.LEGACY_V2_API_ERROR_MESSAGES[self.code]

    @classmethod
    def from_reason(cls, reason: phonenumbers.ValidationResult) -> InvalidPhone:
        """errors.py `from_phonenumbers_validation_result`."""
        result = phonenumbers.ValidationResult
        if reason == result.TOO_LONG:
            return cls(cls.Codes.TOO_LONG)
        if reason in (result.TOO_SHORT, result.IS_POSSIBLE_LOCAL_ONLY):
            return cls(cls.Codes.TOO_SHORT)
        if reason == result.INVALID_COUNTRY_CODE:
            return cls(cls.Codes.UNSUPPORTED_COUNTRY_CODE)
        return cls(cls.Codes.INVALID_NUMBER)


class PhoneNumber:
    """notifications_utils `PhoneNumber`: parsing (which refuses what Notify can never send to) in
    the constructor; `validate` applies a service's permissions."""

    def __init__(self, phone_number: str):
        try:
            self.number = self._parse(phone_number)
        except InvalidPhone:
            # `_thoroughly_normalise_number`: a stray "+" or leading zeros get a second chance
            phone_number = phone_number.replace("+", "").lstrip("0")
            self.number = self._parse(phone_number)

    @staticmethod
    def _parse(phone_number: str) -> phonenumbers.PhoneNumber:
        if set(phone_number) - set(ALL_WHITESPACE + "()-+" + string.digits):
            raise InvalidPhone(InvalidPhone.Codes.UNKNOWN_CHARACTER)
        if phone_number == "":
            raise InvalidPhone(InvalidPhone.Codes.TOO_SHORT)
        try:
            number = phonenumbers.parse(phone_number, "GB")
        except phonenumbers.NumberParseException:
            raise InvalidPhone(InvalidPhone.Codes.INVALID_NUMBER) from None
        reason = phonenumbers.is_possible_number_with_reason(number)
        if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
            forced = _forced_international(phone_number)
            if forced is None:
                raise InvalidPhone.from_reason(reason)
            number = forced
        if not (phonenumbers.is_valid_number(number) and _allowed_type(number)):
            if _is_tv_number(number):
                return number
            raise InvalidPhone(InvalidPhone.Codes.INVALID_NUMBER)
        return number

    def validate(self, *, allow_international: bool, allow_uk_landline: bool) -> None:
        if not allow_international and str(self.number.country_code) != UK_PREFIX:
            raise InvalidPhone(InvalidPhone.Codes.NOT_A_UK_MOBILE)
        if (
            str(self.number.country_code) == UK_PREFIX
            and phonenumbers.number_type(self.number) in LANDLINE_CODES
            and not allow_uk_landline
        ):
            raise InvalidPhone(InvalidPhone.Codes.NOT_A_UK_MOBILE)
        if str(self.number.country_code) not in COUNTRY_PREFIXES:
            raise InvalidPhone(InvalidPhone.Codes.UNSUPPORTED_COUNTRY_CODE)

    @property
    def normalised(self) -> str:
        """E.164 without its "+", as Notify stores `normalised_to`: '447700900123'."""
        return phonenumbers.format_number(self.number, phonenumbers.PhoneNumberFormat.E164)[1:]

    def is_uk(self) -> bool:
        return str(self.number.country_code) == UK_PREFIX

    def is_international(self) -> bool:
        """`is_international_number`: not GB, unless one of Ofcom's drama numbers."""
        if _is_tv_number(self.number):
            return False
        return phonenumbers.region_code_for_number(self.number) != "GB"

    def is_crown_dependency(self) -> bool:
        """Jersey, Guernsey, the Isle of Man: +44, but not GB."""
        return self.is_uk() and self.is_international()


def _allowed_type(number: phonenumbers.PhoneNumber) -> bool:
    kind = phonenumbers.number_type(number)
    return kind not in DENY_LIST and kind in ALLOW_LIST


def _is_tv_number(number: phonenumbers.PhoneNumber) -> bool:
    return _TV_NUMBER.match(str(number.national_number)) is not None


def _forced_international(phone_number: str) -> phonenumbers.PhoneNumber | None:
    """A number whose "+" or "00" a spreadsheet dropped, tried again as international."""
    with suppress(phonenumbers.NumberParseException):
        forced = phonenumbers.parse(f"+{phone_number}")
        if phonenumbers.is_possible_number(forced):
            return forced
    return None


# --- e-mail addresses (recipient_validation/email_address.py) -------------------------------------

_HOSTNAME_PART = re.compile(r"^(xn|[a-z0-9]+)(-?-[a-z0-9]+)*$", re.IGNORECASE)
_TLD_PART = re.compile(r"^([a-z]{2,63}|xn--([a-z0-9]+-)*[a-z0-9]+)$", re.IGNORECASE)
_VALID_LOCAL_CHARS = r"a-zA-Z0-9.!#$%&'*+/=?^_`{|}~\-"
_EMAIL = re.compile(rf"^[{_VALID_LOCAL_CHARS}]+@([^.@][^@\s]+)$")


class InvalidEmail(ValueError):
    def __init__(self) -> None:
        super().__init__("Not a valid email address")


def strip_and_remove_obscure_whitespace(value: str) -> str:
    for character in OBSCURE_ZERO_WIDTH_WHITESPACE + OBSCURE_FULL_WIDTH_WHITESPACE:
        value = value.replace(character, "")
    return value.strip(string.whitespace)


def validate_email_address(email_address: str) -> str:
    """`validate_email_address`: the address as given, stripped, or InvalidEmail."""
    email_address = strip_and_remove_obscure_whitespace(email_address)
    match = _EMAIL.match(email_address)
    if not match or len(email_address) > 320 or ".." in email_address:
        raise InvalidEmail
    try:
        hostname = match.group(1).encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidEmail from None
    parts = hostname.split(".")
    if len(hostname) > 253 or len(parts) < 2:
        raise InvalidEmail
    for part in parts:
        if not part or len(part) > 63 or not _HOSTNAME_PART.match(part):
            raise InvalidEmail
    if not _TLD_PART.match(parts[-1]):
        raise InvalidEmail
    return email_address


def format_recipient(recipient: str) -> str:
    """notifications_utils/recipients.py `format_recipient`: a number as '447700900123', anything
    else lower-cased; how team lists and guest lists are compared."""
    try:
        return PhoneNumber(recipient).normalised
    except InvalidPhone:
        return strip_and_remove_obscure_whitespace(recipient).lower()


def allowed_to_send_to(recipient: str, allowed: list[str]) -> bool:
    return format_recipient(recipient) in {format_recipient(a) for a in allowed}


# --- recipients Notify treats specially -----------------------------------------------------------

SIMULATED_SMS_NUMBERS = ("+447700900000", "+447700900111", "+447700900222")
"""notifications-api app/config.py. Sends to these are checked, answered 201 and never stored: no
receipt, nothing to find by id or reference (process_notifications.py `persist_notification(...,
simulated=True)` skips `dao_create_notification`). The tech docs' testing page once listed
07700900111, 07700900222 and 07700900333; the code is what Notify runs, so it is followed here."""
SIMULATED_EMAIL_ADDRESSES = (
    "simulate-delivered@notifications.service.gov.uk",
    "simulate-delivered-2@notifications.service.gov.uk",
    "simulate-delivered-3@notifications.service.gov.uk",
)


_SIMULATED = frozenset(
    [PhoneNumber(n).normalised for n in SIMULATED_SMS_NUMBERS] + list(SIMULATED_EMAIL_ADDRESSES)
)


def is_simulated(normalised_to: str) -> bool:
    """process_notifications.py `simulated_recipient`, on the formatted recipient."""
    return normalised_to in _SIMULATED


def outcome_with_test_key(to: str, notification_type: str) -> str:
    """What a message sent with a test key ends as (research_mode_tasks.py, and the tech docs' API
    keys page): 07700900003 and temp-fail@simulator.notify a temporary failure, 07700900002 and
    perm-fail@simulator.notify a permanent one, anything else delivered. Numbers are matched on
    their last ten digits as written (`to.strip().endswith(...)`), addresses whole."""
    if notification_type == "sms":
        written = to.strip()
        if written.endswith("7700900003"):
            return "temporary-failure"
        if written.endswith("7700900002"):
            return "permanent-failure"
        return "delivered"
    address = to.strip().lower()
    if address == "temp-fail@simulator.notify":
        return "temporary-failure"
    if address == "perm-fail@simulator.notify":
        return "permanent-failure"
    return "delivered"


TEAM_KEY_REFUSAL = "Can’t send to this recipient using a team-only API key"
TRIAL_MODE_REFUSAL = (
    "Can’t send to this recipient when service is in trial mode "
    "– see https://www.notifications.service.gov.uk/trial-mode"
)
"""app/notifications/validators.py `service_can_send_to_recipient` (curly apostrophe, en dash)."""
