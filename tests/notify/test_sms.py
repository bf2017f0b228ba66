"""Text-message length as GOV.UK Notify counts it: characters, fragments and the 918 limit."""

from __future__ import annotations

import pytest

from service.notify import sms


@pytest.mark.parametrize(
    ("length", "fragments"),
    [
        (1, 1),
        (160, 1),
        (161, 2),
        (306, 2),
        (307, 3),
        (459, 3),
        (460, 4),
        (612, 4),
        (765, 5),
        (918, 6),
    ],
)
def test_sms_fragments_follow_notifys_160_then_153_rule(length: int, fragments: int) -> None:
    assert sms.fragments("a" * length) == fragments


def test_sms_over_918_characters_is_too_long() -> None:
    with pytest.raises(sms.SmsTooLong) as raised:
        sms.fragments("a" * 919)
    assert raised.value.characters == 919


def test_extended_gsm_characters_count_twice_in_fragments_and_once_in_the_limit() -> None:
    """notifications-utils `fragment_count` adds `count_extended_gsm_chars`; the 918 limit is on
    `content_count_without_prefix`, one per character."""
    assert sms.fragments("€" * 80) == 1  # 160
    assert sms.fragments("€" * 81) == 2  # 162
    assert sms.fragments("[" * 460) == 7  # 920 billed, 460 counted against the limit
    assert sms.characters("[" * 918) == 918
    with pytest.raises(sms.SmsTooLong):
        sms.fragments("[" * 919)


def test_the_service_name_prefix_counts_towards_fragments_not_the_limit() -> None:
    """Notify's "start text messages with service name": `{name}: ` before the body."""
    assert sms.as_sent("Acknowledge now", prefix="Kent") == "Kent: Acknowledge now"
    assert sms.fragments("a" * 155) == 1
    assert sms.fragments("a" * 154, prefix="Kent") == 1  # "Kent: " and 154 is 160
    assert sms.fragments("a" * 155, prefix="Kent") == 2
    assert sms.fragments("a" * 918, prefix="Kent") == 7
    assert sms.characters("a" * 918) == 918


def test_whitespace_is_counted_as_notify_normalises_it() -> None:
    assert sms.as_sent("  two   spaces\n\n\n\nthen  lines \u200b ") == "two spaces\n\nthen lines"
    assert sms.characters(" a  b ") == 3


def test_a_welsh_letter_outside_gsm_makes_fragments_of_70_then_67() -> None:
    assert sms.fragments("â" + "a" * 69) == 1
    assert sms.fragments("é" + "a" * 70) == 1  # é is in GSM
    assert sms.fragments("ŵ" + "a" * 69) == 1
    assert sms.fragments("ŵ" + "a" * 70) == 2
    assert sms.fragments("ŵ" + "a" * 134) == 3


def test_past_the_limit_a_preview_still_counts_the_fragments_the_length_would_need() -> None:
    assert sms.fragments_needed("a" * 918) == 6
    assert sms.fragments_needed("a" * 919) == 7
    assert sms.fragments_needed("[" * 460) == 7  # 920 as Notify bills it


def test_the_limit_is_notifys_six_fragments() -> None:
    assert sms.MAX_CHARACTERS == 918
    assert sms.characters("a[€") == 3
    assert sms.billed_length("a[€") == 5


@pytest.mark.parametrize(
    ("body", "sent"),
    [
        ("Hello\u200b there\ufeff", "Hello there"),
        ("a\u00a0\u00a0b", "a b"),
        # Notify strips them from each line: one between "\r" and "\n" leaves two line breaks.
        ("a\r\u180e\nb", "a\n\nb"),
        ("a\r\n\u2060\r\n\r\nb", "a\n\nb"),
    ],
)
def test_zero_width_characters_are_taken_out_of_each_line_as_notify_takes_them(
    body: str, sent: str
) -> None:
    assert sms.as_sent(body) == sent
