"""The request a send must be and the template it fills, worded as Notify words its refusals.

Sources: alphagov/notifications-api app/v2/notifications/notification_schemas.py
(`post_email_request`, `post_sms_request`), app/schema_validation/__init__.py (`validate`,
`build_error_message`: every error at once, the field first, quotes taken out), and
app/notifications/validators.py (`validate_template`, `check_is_message_too_long`,
`check_notification_content_is_not_empty`) with process_notifications.py (`check_placeholders`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tests.notify.fake_notify import recipients
from tests.notify.fake_notify.errors import NotifyError, bad_request

SMS_CHAR_COUNT_LIMIT = 918
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
PLACEHOLDER_RE = re.compile(r"\(\(([^()]+)\)\)")
GSM_EXTENDED = set("^{}\\[~]|€")

RECIPIENT_FIELD = {"email": "email_address", "sms": "phone_number"}
ALLOWED_FIELDS = {
    "email": {
        "email_address",
        "template_id",
        "personalisation",
        "reference",
        "email_reply_to_id",
        "one_click_unsubscribe_url",
        "scheduled_for",
    },
    "sms": {
        "phone_number",
        "template_id",
        "personalisation",
        "reference",
        "sms_sender_id",
        "scheduled_for",
    },
}
"""notification_schemas.py `post_email_request`, `post_sms_request`: additionalProperties False."""


@dataclass
class Template:
    id: str
    type: str  # "email" or "sms"
    content: str
    subject: str | None = None
    version: int = 1


def validate_schema(notification_type: str, body: Any) -> None:
    """Every schema error at once, worded as `build_error_message` words them: the field, then
    jsonschema's message with its quotes taken out."""
    if not isinstance(body, dict):
        raise NotifyError(400, [("ValidationError", _unquoted(f"{body!r} is not of type object"))])
    recipient_field = RECIPIENT_FIELD[notification_type]
    errors: list[str] = []
    for required in (recipient_field, "template_id"):
        if required not in body:
            errors.append(f"{required} is a required property")
    unexpected = sorted(set(body) - ALLOWED_FIELDS[notification_type])
    if unexpected:
        errors.append(
            "Additional properties are not allowed ({} {} unexpected)".format(
                ", ".join(unexpected), "was" if len(unexpected) == 1 else "were"
            )
        )
    for name in ("template_id", "email_reply_to_id", "sms_sender_id"):
        if name in body and not (isinstance(body[name], str) and UUID_RE.match(body[name])):
            errors.append(f"{name} is not a valid UUID")
    if "reference" in body and not isinstance(body["reference"], str):
        errors.append(f"reference {body['reference']!r} is not of type string")
    if "personalisation" in body and not isinstance(body["personalisation"], dict):
        errors.append(f"personalisation {body['personalisation']!r} is not of type object")
    if recipient_field in body:
        recipient = body[recipient_field]
        if not isinstance(recipient, str):
            errors.append(f"{recipient_field} {recipient!r} is not of type string")
        elif notification_type == "sms":
            # `validate_schema_phone_number`: any number Notify could ever text passes here
            try:
                recipients.PhoneNumber(recipient).validate(
                    allow_international=True, allow_uk_landline=True
                )
            except recipients.InvalidPhone as exc:
                errors.append(f"phone_number {exc.message}")
        else:
            try:
                recipients.validate_email_address(recipient)
            except recipients.InvalidEmail as exc:
                errors.append(f"email_address {exc}")
    if errors:
        unique = list(dict.fromkeys(_unquoted(e) for e in errors))
        raise NotifyError(400, [("ValidationError", e) for e in unique])


def _unquoted(message: str) -> str:
    return message.replace("'", "")


def render(template: Template, personalisation: dict[str, Any] | None) -> tuple[str, str | None]:
    personalisation = personalisation or {}
    body, missing = _fill(template.content, personalisation)
    subject, missing_subject = (
        _fill(template.subject, personalisation) if template.subject is not None else (None, [])
    )
    missing = sorted(set(missing) | set(missing_subject))
    if missing:
        raise bad_request(f"Missing personalisation: {', '.join(missing)}")
    if not body.strip():
        raise bad_request("Your message is empty.")
    if template.type == "sms":
        count = len(body) + sum(1 for c in body if c in GSM_EXTENDED)
        if count > SMS_CHAR_COUNT_LIMIT:
            raise bad_request(
                f"Your message is too long. Text messages cannot be longer than "
                f"{SMS_CHAR_COUNT_LIMIT} characters. Your message is {count} characters long."
            )
    return body, subject


def _fill(content: str, personalisation: dict[str, Any]) -> tuple[str, list[str]]:
    """Fill ((placeholders)) (names compared without case or spaces, as Notify does)."""
    values = {str(k).lower().replace(" ", ""): v for k, v in personalisation.items()}
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        key = name.lower().replace(" ", "")
        if key not in values or values[key] is None:
            missing.append(name)
            return match.group(0)
        value = values[key]
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)

    return PLACEHOLDER_RE.sub(fill, content), missing
