"""Field rules: what a coordinator types becomes the stored form, or a reason they can act on."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from service.contacts import validation
from service.contacts.validation import (
    clean_channels,
    clean_contact,
    clean_groups,
    clean_id,
    clean_window,
    national_mobile,
    normalise_email,
    normalise_uk_mobile,
    resolve_channels,
)


@pytest.mark.parametrize(
    "typed",
    [
        "07700 900123",
        "07700900123",
        "07700-900-123",
        "(07700) 900 123",
        "+44 7700 900123",
        "+44 (0)7700 900123",
        "+447700900123",
        "0044 7700 900123",
        "7700900123",  # Excel dropped the leading zero
        "447700900123",  # Excel turned +44… into a number
        " 07700\t900123 ",
    ],
)
def test_every_usual_spelling_of_a_uk_mobile_becomes_e164(typed: str) -> None:
    assert normalise_uk_mobile(typed) == "+447700900123"


@pytest.mark.parametrize(
    "number", ["07700 900001", "07700 900999", "07700 900500", "07911 123456", "07624 123456"]
)
def test_ofcom_drama_range_and_real_mobiles_are_accepted(number: str) -> None:
    """libphonenumber calls the drama range invalid; Notify allows it (`_is_tv_number`) and
    councils rehearse with it. 07624 is the Isle of Man, a mobile Notify texts."""
    assert normalise_uk_mobile(number) == "+44" + number.replace(" ", "")[1:]


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("020 7946 0000", "not a UK mobile"),
        ("01632 960001", "not a UK mobile"),
        ("07700 90012", "too few digits"),
        ("07700 9001234", "too many digits"),
        ("+33 6 12 34 56 78", "not a UK number"),
        ("07700 9OO123", "only digits"),
        ("07600 123456", "pager"),
        ("07624 12345", "too few digits"),
        ("07000 123456", None),
        ("07700 900000", "smoke-test"),
        ("+44 7700 900111", "smoke-test"),
        ("07700900222", "smoke-test"),
        ("07700.900123", "only digits"),
        ("", "empty"),
        ("   ", "empty"),
    ],
)
def test_numbers_that_are_not_uk_mobiles_are_refused_with_the_reason(
    typed: str, reason: str | None
) -> None:
    """Notify's rule (notifications-utils `PhoneNumber`): pagers and its smoke-test numbers,
    which it answers and never delivers, are refused at the door."""
    if reason is None:  # 070 personal numbers: Notify texts them (PERSONAL_NUMBER is allowed)
        assert normalise_uk_mobile(typed) == "+447000123456"
        return
    with pytest.raises(ValueError, match=reason):
        normalise_uk_mobile(typed)


def test_national_form_round_trips_through_the_normaliser() -> None:
    assert national_mobile("+447700900123") == "07700 900123"
    assert normalise_uk_mobile(national_mobile("+447700900123")) == "+447700900123"


def test_email_domain_is_lower_cased_and_the_local_part_kept() -> None:
    assert normalise_email(" Harriet.Oyelaran@Example.ORG ") == "Harriet.Oyelaran@example.org"


def test_email_is_checked_without_a_dns_lookup() -> None:
    """A domain nobody has registered still passes: the machine may have no DNS at all."""
    address = "tomasz.wojcik@no-such-council-xq7.example.org"
    assert normalise_email(address) == address


@pytest.mark.parametrize(
    "typed", ["harriet.example.org", "harriet@", "harriet oyelaran@example.org", "a@b", ""]
)
def test_malformed_emails_are_refused(typed: str) -> None:
    with pytest.raises(ValueError):
        normalise_email(typed)


def _library(text: str) -> str | None:
    """What email-validator itself makes of an address: its normalised form, or None."""
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def _ours(text: str) -> str | None:
    try:
        return normalise_email(text)
    except ValueError:
        return None


_LOCAL_CHARACTERS = st.sampled_from(list("aZ09._+-!#'\"é@ \u00a0"))
_DOMAINS = st.sampled_from(
    [
        "example.org",
        "Example.ORG",
        "EXAMPLE.org.",
        "xn--bcher-kva.example",
        "no-such-council-xq7.example.org",
        "-bad.example.org",
        "example..org",
        "localhost",
        "a" * 64 + ".example.org",
        ("b" * 60 + ".") * 3 + "example.org",
        "example.org ",
    ]
)


@settings(max_examples=400, deadline=None)
@given(
    local=st.one_of(
        st.text(_LOCAL_CHARACTERS, min_size=0, max_size=70),
        st.sampled_from(["Postmaster", "INFO", "www", "Sales", "abuse"]),
    ),
    domain=_DOMAINS,
)
@example(local="x" * 150, domain=("b" * 60 + ".") * 3 + "example.org")
@example(local="Postmaster", domain="example.org")
def test_a_domain_checked_once_gives_what_the_library_gives_for_every_address_at_it(
    local: str, domain: str
) -> None:
    """An address at a domain already checked is normalised without checking that domain
    again; whatever its part before the @, the outcome is the library's own."""
    if _library("known.person@" + domain):
        normalise_email("known.person@" + domain)
    address = f"{local}@{domain}"
    # A formula start is refused before the library is asked (see the formula test below).
    assume(address.strip()[:1] not in {"=", "+", "-", "@"})
    assert _ours(address) == _library(address)


def test_a_plain_address_at_a_checked_domain_skips_the_domain_check() -> None:
    """The domain is remembered from the first whole check: a 4,000-row import at one domain
    checked it 4,000 times."""
    validation._checked_domains.pop("skipped-check.example.org", None)
    assert normalise_email("first.person@skipped-check.example.org")
    assert "skipped-check.example.org" in validation._checked_domains
    validation._checked_domains["skipped-check.example.org"] = ("remembered.example", "x")
    assert normalise_email("Second.Person@skipped-check.example.org") == (
        "Second.Person@remembered.example"
    )
    validation._checked_domains.pop("skipped-check.example.org")


def test_the_domains_remembered_are_bounded() -> None:
    kept = dict(validation._checked_domains)
    try:
        validation._checked_domains.clear()
        for n in range(validation._DOMAINS_KEPT + 50):
            normalise_email(f"someone@council-{n}.example.org")
        assert len(validation._checked_domains) == validation._DOMAINS_KEPT
        assert normalise_email("someone@council-2000.example.org") == (
            "someone@council-2000.example.org"
        )
    finally:
        validation._checked_domains.clear()
        validation._checked_domains.update(kept)


def test_channels_are_ordered_lower_cased_and_checked() -> None:
    assert clean_channels("SMS; email") == ["sms", "email"]
    assert clean_channels("") == []
    assert clean_channels(["email"]) == ["email"]
    with pytest.raises(ValueError, match="unknown channel 'pager'"):
        clean_channels("email;pager")
    with pytest.raises(ValueError, match="twice"):
        clean_channels("sms;sms")


def test_blank_channels_mean_every_channel_with_an_address() -> None:
    assert resolve_channels([], email="a@example.org", mobile="+447700900001") == ["email", "sms"]
    assert resolve_channels([], email=None, mobile="+447700900001") == ["sms"]
    assert resolve_channels(["sms"], email="a@example.org", mobile="+447700900001") == ["sms"]


def test_a_channel_needs_its_address_and_a_contact_needs_one_address() -> None:
    with pytest.raises(ValueError, match="'sms' needs a mobile"):
        resolve_channels(["sms"], email="a@example.org", mobile=None)
    with pytest.raises(ValueError, match="'email' needs an email"):
        resolve_channels(["email"], email=None, mobile="+447700900001")
    with pytest.raises(ValueError, match="email or a mobile"):
        resolve_channels([], email=None, mobile=None)


@pytest.mark.parametrize(
    ("typed", "minutes"),
    [("15", 15), (" 0 ", 0), (1440, 1440), (30.0, 30), ("45.0", 45), ("", None), (None, None)],
)
def test_windows_are_whole_minutes_from_0_to_a_day(typed: object, minutes: int | None) -> None:
    assert clean_window(typed) == minutes


@pytest.mark.parametrize("typed", ["-1", "1441", "1.5", 2.5, "ten", True, "15 minutes"])
def test_other_windows_are_refused(typed: object) -> None:
    with pytest.raises(ValueError, match="whole number of minutes from 0 to 1440"):
        clean_window(typed)


def test_groups_keep_their_order_once_each() -> None:
    assert clean_groups("People; Steering group;People;") == ["People", "Steering group"]
    with pytest.raises(ValueError, match="must not contain ';'"):
        clean_groups(["People;Communities"])


@pytest.mark.parametrize("typed", ['=HYPERLINK("x")', "@SUM(A1)", "+1", "-2"])
def test_text_a_spreadsheet_would_run_as_a_formula_is_refused(typed: str) -> None:
    with pytest.raises(ValueError, match="formula"):
        clean_id(typed)
    with pytest.raises(ValueError, match="formula"):
        clean_groups([typed])


def test_ids_are_trimmed_and_may_not_hold_a_slash_or_control_characters() -> None:
    assert clean_id(" 00123 ") == "00123"
    with pytest.raises(ValueError, match="slash"):
        clean_id("S/001")
    with pytest.raises(ValueError, match="control"):
        clean_id("S\x00001")
    with pytest.raises(ValueError, match="empty"):
        clean_id("  ")


def test_clean_contact_reports_every_bad_field_at_once() -> None:
    contact, errors = clean_contact(
        {
            "id": "S001",
            "name": "",
            "email": "not-an-address",
            "mobile": "020 7946 0000",
            "reports_to": "S001",
            "deputy": "S001",
            "channels": "fax",
            "ack_window_minutes": "2000",
        }
    )
    assert contact is None
    assert sorted(field for field, _ in errors) == sorted(
        ["name", "email", "mobile", "reports_to", "deputy", "channels", "ack_window_minutes"]
    )


def test_clean_contact_gives_the_stored_form() -> None:
    contact, errors = clean_contact(
        {
            "id": "S002",
            "name": " Tomasz Wójcik ",
            "role": "",
            "email": "Tomasz.Wojcik@EXAMPLE.org",
            "mobile": "07700 900002",
            "groups": "Steering group",
            "channels": "",
            "ack_window_minutes": "",
        }
    )
    assert errors == []
    assert contact is not None
    assert contact.as_dict() == {
        "id": "S002",
        "name": "Tomasz Wójcik",
        "role": None,
        "email": "Tomasz.Wojcik@example.org",
        "mobile": "+447700900002",
        "reports_to": None,
        "deputy": None,
        "groups": ["Steering group"],
        "channels": ["email", "sms"],
        "ack_window_minutes": None,
    }
