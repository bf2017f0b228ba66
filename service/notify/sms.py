"""Text-message length, counted as GOV.UK Notify counts it: the channel refuses what Notify would
refuse, and the templates validate and preview with the same numbers. The one owner of the rule.

Source: alphagov/notifications-utils notifications_utils/template.py (`BaseSMSTemplate`:
`content_count`, `content_count_without_prefix`, `fragment_count`, `is_message_too_long`,
`get_sms_fragment_count`, `non_gsm_characters`, `count_extended_gsm_chars`) and formatters.py
(`add_prefix`, `normalise_whitespace_and_newlines`, `normalise_multiple_newlines`):
- the text Notify counts is the service name and ": " (when the service's "start text messages
  with service name" is on), then the body, each line's whitespace collapsed, stripped;
- the 918-character limit is on that text less the prefix, every character once;
- fragments count the whole text, the prefix included, with each extended GSM character
  (`^{}\\[~]|€`) twice; a Welsh letter outside GSM makes it unicode: 70 in one, then 67 each,
  else 160 in one, then 153 each. Other characters outside GSM (curly quotes, emoji) Notify
  downgrades instead, so they count as one and change nothing."""

from __future__ import annotations

import math
import re

MAX_CHARACTERS = 918
"""Notify refuses longer text messages (`SMS_CHAR_COUNT_LIMIT`)."""

EXTENDED_GSM = frozenset("^{}\\[~]|€")
"""Characters a GSM message carries as two (escape + character)."""
WELSH_DIACRITICS = frozenset(
    "àèìòùẁỳÀÈÌÒÙẀỲ"  # grave
    "áéíóúẃýÁÉÍÓÚẂÝ"  # acute
    "äëïöüẅÿÄËÏÖÜẄŸ"  # diaeresis
    "âêîôûŵŷÂÊÎÔÛŴŶ"  # circumflex
)
GSM = (
    frozenset(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    )
    | EXTENDED_GSM
)
WELSH_NON_GSM = WELSH_DIACRITICS - GSM
"""notifications_utils/sanitise_text.py `SanitiseSMS.WELSH_NON_GSM_CHARACTERS`: Welsh letters
outside the GSM alphabet (ŵ, ŷ, â, á...); one of them makes the whole message UCS-2."""

_ZERO_WIDTH = re.compile("[\u180e\u200b\u200c\u200d\u2060\ufeff]")
_MORE_THAN_TWO_NEWLINES = re.compile(r"\n{3,}")


class SmsTooLong(ValueError):
    """More than Notify's 918 characters: Notify would refuse it."""

    def __init__(self, characters: int):
        super().__init__(
            f"text message of {characters} characters: Notify accepts at most {MAX_CHARACTERS}"
        )
        self.characters = characters


def as_sent(body: str, prefix: str | None = None) -> str:
    """The text as Notify counts it: `{prefix}: ` first when set, each line's whitespace
    collapsed, at most one blank line in a row, stripped."""
    text = f"{prefix}: {body}" if prefix else body
    lines = text.splitlines()
    if _ZERO_WIDTH.search(text):  # per line: one between "\r" and "\n" keeps them two breaks
        lines = [_ZERO_WIDTH.sub("", line) for line in lines]
    lines = [" ".join(line.split()) for line in lines]  # split() takes U+00A0 as a space too
    return _MORE_THAN_TWO_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


def characters(body: str) -> int:
    """Characters as Notify counts them for the 918 limit: the body only, each character once."""
    return len(as_sent(body))


def is_unicode(text: str) -> bool:
    return not WELSH_NON_GSM.isdisjoint(text)


def billed_length(body: str, prefix: str | None = None) -> int:
    """The length fragments are counted on: the prefix included, extended characters twice."""
    return _billed(as_sent(body, prefix))


def _billed(sent: str) -> int:
    return len(sent) + sum(sent.count(character) for character in EXTENDED_GSM)


def _fragments(sent: str) -> int:
    """Fragments for text as Notify counts it (`as_sent`, the prefix included)."""
    count = _billed(sent)
    if is_unicode(sent):
        return 1 if count <= 70 else math.ceil(count / 67)
    return 1 if count <= 160 else math.ceil(count / 153)


def fragments(body: str, prefix: str | None = None) -> int:
    """How many fragments Notify bills for `body`. Raises SmsTooLong beyond 918 characters."""
    sent = as_sent(body)
    if len(sent) > MAX_CHARACTERS:
        raise SmsTooLong(len(sent))
    return _fragments(as_sent(body, prefix) if prefix else sent)


def fragments_needed(body: str, prefix: str | None = None) -> int:
    """The fragments Notify would bill, even past the 918 characters Notify refuses, so that a
    preview can show what the length would need."""
    return _fragments(as_sent(body, prefix))
