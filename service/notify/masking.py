"""Masks for contact details in logs and error messages: staff addresses and mobile numbers are
personal data and never appear in a log line in full."""

from __future__ import annotations

import re
from email.utils import parseaddr

MASK = "***"

_EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def mask_email(address: str | None) -> str:
    """`harriet.oyelaran@example.org` → `h***@example.org`. A display name, if any, is dropped;
    anything that is not an address at all becomes `***`."""
    if not address:
        return MASK
    _, addr_spec = parseaddr(address)
    local, at, domain = (addr_spec or address).strip().rpartition("@")
    if not at or not domain:
        return MASK
    return f"{local[:1]}{MASK}@{domain}"


def mask_phone(number: str | None) -> str:
    """`+447700900123` → `+44***123`; `07700 900123` → `***123`. Only the country code and the
    last three digits stay, which is enough to tell two people apart in a log."""
    if not number:
        return MASK
    digits = "".join(ch for ch in number if ch.isdigit())
    if len(digits) < 7:
        return MASK
    prefix = "+" + digits[:2] if number.strip().startswith("+") else ""
    return f"{prefix}{MASK}{digits[-3:]}"


def mask_emails_in(text: str) -> str:
    """Mask every e-mail address inside free text, such as an SMTP server's reply
    (`550 5.1.1 <harriet.oyelaran@example.org>: Recipient address rejected`)."""
    return _EMAIL_IN_TEXT.sub(lambda match: mask_email(match.group(0)), text)
