"""Believable values for every placeholder: what a preview shows and what validation renders a
template with, in full and with everything optional left empty."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from service.notify.models import Purpose
from service.notify.templates.placeholders import TASK_PURPOSES
from service.notify.templates.render import format_day, format_moment
from service.signed_links import ACK_PATH, DONE_PATH, link

if TYPE_CHECKING:
    from service.notify.outbox import Person

SAMPLE_CONTACT = {"name": "Priya Raman", "role": "Head of Safeguarding and Quality Assurance"}
SAMPLE_COUNCIL = "Northbridge Borough Council"
SAMPLE_BASE_URL = "https://inspection-week.northbridge.example.org"
"""Where sample links point when the caller does not say (validation)."""
SAMPLE_ACK_TOKEN = "9zk3q1mx.aBcD3f.Qm7v9kP2wL0sXc4RfT8nJ1uE6hA"
"""As long as a real signed token (service/signed_links.py): about 43 characters."""
SAMPLE_DONE_TOKENS = (
    "bYExlcVvSl2cOVoLee0kew.cHJpeWEucmFtYW4.awQ_Nw.-fGHjKhCB0fVapoGbVrT_KUXIo4",
    "1Xc3a3YWQ3WEDiChLN85XQ.cHJpeWEucmFtYW4.awQ_Nw.mIQDIQY2FxHX4jT286sEoK03XvI",
)
"""As long as real mark-done tokens (service/signed_links.py) for a typical contact id."""
_LONDON = ZoneInfo("Europe/London")


def _moment(year: int, month: int, day: int, hour: int) -> str:
    return format_moment(datetime(year, month, day, hour, 0, tzinfo=_LONDON), _LONDON)


SAMPLE_REPLY_CODE = "4821"


def sample_context(
    purpose: Purpose | str,
    contact: Person | None = None,
    *,
    council_name: str | None = None,
    base_url: str = SAMPLE_BASE_URL,
) -> dict[str, Any]:
    """Every placeholder of the purpose, with believable values: the given contact's name and
    role, or an invented person; links on the given server (PUBLIC_BASE_URL in a preview)."""
    purpose = Purpose(purpose)
    person = {"name": contact.name, "role": contact.role or ""} if contact else dict(SAMPLE_CONTACT)
    called = datetime(2026, 11, 17, 10, 30, tzinfo=_LONDON)
    context: dict[str, Any] = {
        "contact": person,
        "inspection": {
            "framework_name": "Inspection of services for children in need of help and "
            "protection, children looked after and care leavers (2013)",
            "lead_inspector": "Harriet Oyelaran",
            "notified_at": format_moment(called, _LONDON),
            "on_site_start": format_day(date(2026, 11, 18)),
            "inspection_end": format_day(date(2026, 12, 9)),
        },
        "council_name": council_name or SAMPLE_COUNCIL,
    }
    if purpose in TASK_PURPOSES:
        context.update(_sample_tasks(purpose, base_url))
        return context
    context["ack_url"] = link(base_url, ACK_PATH, SAMPLE_ACK_TOKEN)
    if purpose in (Purpose.announcement, Purpose.drill, Purpose.reply_help):
        context["reply_code"] = SAMPLE_REPLY_CODE
    if purpose is Purpose.reply_help:
        return context
    if purpose in (Purpose.announcement, Purpose.drill):
        context["tasks"] = [
            {
                "title": "Book the base room and car parking for the inspection team",
                "due": _moment(2026, 11, 17, 14),
            },
            {
                "title": "Send the Annex A data to the lead inspector",
                "due": _moment(2026, 11, 18, 9),
            },
        ]
    elif purpose is Purpose.escalation:
        context["about"] = {"name": "Gareth Pryce", "role": "Service Manager, Children in Care"}
        context["reason"] = "has not acknowledged within 15 minutes"
    else:
        context["deadline"] = {
            "label": "Written statement of action published",
            "due": format_day(date(2027, 5, 10)),
            "working_days_before": 5,
        }
    return context


def _sample_tasks(purpose: Purpose, base_url: str) -> dict[str, Any]:
    first, second = (link(base_url, DONE_PATH, token) for token in SAMPLE_DONE_TOKENS)
    if purpose is Purpose.task_digest:
        return {
            "day": format_day(date(2026, 11, 19)),
            "tasks": [
                {
                    "title": "Send the Annex A data to the lead inspector",
                    "due": _moment(2026, 11, 18, 17),
                    "overdue": True,
                    "done_url": first,
                },
                {
                    "title": "Brief elected members on the inspection",
                    "due": _moment(2026, 11, 19, 17),
                    "overdue": False,
                    "done_url": second,
                },
            ],
        }
    context: dict[str, Any] = {
        "task": {
            "title": "Book the base room and car parking for the inspection team",
            "due": _moment(2026, 11, 17, 17),
            "description": "A room for up to six inspectors from the first morning, with "
            "parking passes for three cars.",
            "done_url": first,
        }
    }
    if purpose is Purpose.task_overdue:
        context["owner"] = {"name": "Gareth Pryce", "role": "Business Support Manager"}
    return context


def sparse_context(purpose: Purpose | str) -> dict[str, Any]:
    """The same with everything optional left empty: a template must cope with both."""
    context = sample_context(purpose)
    context["contact"]["role"] = ""
    context["inspection"]["lead_inspector"] = ""
    if "ack_url" in context:
        context["ack_url"] = ""
    if "tasks" in context:
        context["tasks"] = []
    if "about" in context:
        context["about"]["role"] = ""
    if "deadline" in context:
        context["deadline"]["working_days_before"] = 0
    if "task" in context:
        context["task"]["description"] = ""
    if "owner" in context:
        context["owner"]["role"] = ""
    return context
