"""Contact details are personal data: logs show just enough to tell two people apart."""

from __future__ import annotations

import pytest

from service.notify.masking import mask_email, mask_emails_in, mask_phone


def test_mask_email_keeps_the_first_letter_and_the_domain() -> None:
    assert mask_email("harriet.oyelaran@example.org") == "h***@example.org"


def test_mask_email_drops_the_display_name() -> None:
    masked = mask_email("Zoë Ní Bhriain <zoe.nibhriain@example.org>")
    assert masked == "z***@example.org"
    assert "Bhriain" not in masked


@pytest.mark.parametrize("value", ["", None, "harriet", "harriet@", "@example.org"])
def test_mask_email_of_something_that_is_not_an_address_hides_all_of_it(
    value: str | None,
) -> None:
    masked = mask_email(value)
    assert "harriet" not in masked
    assert masked.startswith("***")


def test_mask_phone_keeps_the_country_code_and_the_last_three_digits() -> None:
    assert mask_phone("+447700900123") == "+44***123"


def test_mask_phone_of_a_national_number_keeps_only_the_last_three_digits() -> None:
    assert mask_phone("07700 900123") == "***123"


@pytest.mark.parametrize("value", ["", None, "12345", "+44"])
def test_mask_phone_of_a_short_value_hides_all_of_it(value: str | None) -> None:
    assert mask_phone(value) == "***"


def test_mask_emails_in_masks_every_address_in_a_server_reply() -> None:
    reply = (
        "550 5.1.1 <tomasz.wojcik@example.org>: Recipient address rejected "
        "(forwarded from harriet.oyelaran@example.org)"
    )
    masked = mask_emails_in(reply)
    assert masked == (
        "550 5.1.1 <t***@example.org>: Recipient address rejected (forwarded from h***@example.org)"
    )


def test_mask_emails_in_leaves_text_without_addresses_alone() -> None:
    assert mask_emails_in("451 4.3.0 Try again later") == "451 4.3.0 Try again later"
