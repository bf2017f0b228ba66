"""What each purpose's templates may use: every placeholder with what it holds (the API and the
templates page list them; validation refuses anything else), the placeholders computed from
the others, and how a list of tasks reads, as GOV.UK Notify shows a list passed as
personalisation: a bulleted list in an e-mail, one line of text in a text message."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from service.errors import InvalidInput
from service.notify.models import Medium, Purpose
from service.notify.templates.language import normalise

MAX_VALUE_CHARACTERS = 10_000
"""The longest value a placeholder may hold (a task's description is at most 5,000)."""
EMAIL_LIST_ITEMS = 50
"""Tasks an e-mail lists before 'And N more.'"""
SMS_LIST_ITEMS = 3
"""Tasks a text message lists before '; and N more'."""

COMMON: dict[str, str] = {
    "contact.name": "The person the message is for.",
    "contact.role": "Their role; may be empty.",
    "inspection.framework_name": "The inspection framework's name.",
    "inspection.lead_inspector": "The lead inspector's name; may be empty.",
    "inspection.notified_at": (
        "When Ofsted called, Europe/London, e.g. 'Tuesday 17 November 2026, 10:30'."
    ),
    "inspection.on_site_start": "First on-site day, e.g. 'Wednesday 18 November 2026'.",
    "inspection.inspection_end": "Last on-site day, e.g. 'Wednesday 9 December 2026'.",
    "council_name": "How messages name the council (setting COUNCIL_NAME).",
    "ack_url": "The person's one-click acknowledgement link; may be empty for reminders.",
}
TASKS: dict[str, str] = {
    "tasks": "The person's tasks from the project plan, soonest first, each as "
    "'Book the base room, by Tuesday 17 November 2026, 14:00'. An e-mail shows a bulleted "
    f"list (put it on a line of its own; at most {EMAIL_LIST_ITEMS}, then 'And N more.'), a "
    f"text message 'first; second; third; and N more'. May be empty.",
    "no_tasks": "Yes when the person has no tasks, for ((no_tasks??...)).",
}
ESCALATION: dict[str, str] = {
    "about.name": "The person who could not be reached.",
    "about.role": "Their role; may be empty.",
    "about.name_and_role": "Their name with their role in brackets, e.g. 'Gareth Pryce "
    "(Service Manager)'; the name alone when they have no role.",
    "reason": "Completes the sentence '((about.name)) ...', e.g. 'has not acknowledged within "
    "15 minutes'.",
}
REPLY: dict[str, str] = {
    "reply_code": "The person's own code: replying with it by text acknowledges, as do OK, YES, "
    "Y, 1, ACK or RECEIVED.",
}
REMINDER: dict[str, str] = {
    "deadline.label": "The deadline, e.g. 'Inspection report published'.",
    "deadline.due": "Its date, e.g. 'Monday 25 January 2027'.",
    "deadline.working_days_before": "Working days from today to the deadline (a number; 0 is "
    "today).",
    "deadline.countdown": "'today', 'in 1 working day' or 'in 5 working days'.",
}

TASK_COMMON: dict[str, str] = {name: text for name, text in COMMON.items() if name != "ack_url"}
"""Messages about plan tasks carry a mark-done link instead of an acknowledgement link."""
TASK: dict[str, str] = {
    "task.title": "The task, e.g. 'Book the base room for the inspection team'.",
    "task.due": "When it is due, e.g. 'Tuesday 17 November 2026, 17:00'.",
    "task.description": "What the task involves, from the plan; may be empty.",
    "task.done_url": "The one-click link that marks the task done (it asks to confirm first).",
}
OWNER: dict[str, str] = {
    "owner.name": "Who owns the overdue task.",
    "owner.role": "Their role; may be empty.",
    "owner.name_and_role": "Their name with their role in brackets, e.g. 'Gareth Pryce "
    "(Business Support Manager)'; the name alone when they have no role.",
}
DIGEST: dict[str, str] = {
    "day": "The on-site day, e.g. 'Wednesday 18 November 2026'.",
    "tasks": "The person's open tasks, soonest first. An e-mail shows a bulleted list (put it "
    "on a line of its own), each task with 'OVERDUE: it was due by ...', 'Due by ...' or 'No "
    f"due time yet.' and its own mark-done link; at most {EMAIL_LIST_ITEMS}, then 'And N "
    "more.' A text message shows 'first, OVERDUE, was due by ...; second, due by ...; third; "
    "and N more', without links. May be empty.",
    "no_tasks": "Yes when the person has no open tasks, for ((no_tasks??...)).",
}

TASK_PURPOSES = frozenset({Purpose.task_reminder, Purpose.task_overdue, Purpose.task_digest})

PLACEHOLDERS: dict[Purpose, dict[str, str]] = {
    Purpose.announcement: {**COMMON, **TASKS, **REPLY},
    Purpose.escalation: {**COMMON, **ESCALATION},
    Purpose.reminder: {**COMMON, **REMINDER},
    Purpose.drill: {**COMMON, **TASKS, **REPLY},
    Purpose.reply_help: {**COMMON, **REPLY},
    Purpose.task_reminder: {**TASK_COMMON, **TASK},
    Purpose.task_overdue: {**TASK_COMMON, **TASK, **OWNER},
    Purpose.task_digest: {**TASK_COMMON, **DIGEST},
}
"""Every placeholder each purpose's templates may use, with what it holds."""


@cache
def names(purpose: Purpose) -> dict[str, str]:
    """The purpose's placeholders by the key a written name is matched with (`normalise`)."""
    return {normalise(name): name for name in PLACEHOLDERS[purpose]}


def known(purpose: Purpose | str, medium: Medium | str) -> tuple[Purpose, Medium]:
    """The purpose and medium named, or InvalidInput naming the one that does not exist."""
    try:
        purpose = Purpose(purpose)
    except ValueError:
        raise InvalidInput(
            "purpose", f"unknown purpose {purpose!r}; one of {', '.join(Purpose)}"
        ) from None
    try:
        medium = Medium(medium)
    except ValueError:
        raise InvalidInput(
            "medium", f"unknown medium {medium!r}; one of {', '.join(Medium)}"
        ) from None
    return purpose, medium


# --- values ---------------------------------------------------------------------------------


class MissingValue(LookupError):
    """The caller gave no value for a placeholder: a message never goes with a blank instead."""

    def __init__(self, placeholder: str, detail: str = ""):
        super().__init__(placeholder)
        self.placeholder = placeholder
        self.message = detail or f"no value for placeholder (({placeholder}))"


class UnusableValue(ValueError):
    """A value that cannot stand in a message: too long, or a yes/no written as text."""

    def __init__(self, placeholder: str, message: str):
        super().__init__(message)
        self.placeholder = placeholder
        self.message = message


def lookup(context: Mapping[str, Any], name: str) -> Any:
    """The value of a dotted name in plain values (`contact.name` is context['contact']['name'])."""
    value: Any = context
    for step in name.split("."):
        if not isinstance(value, Mapping) or step not in value:
            raise MissingValue(name)
        value = value[step]
    return value


def as_text(value: Any, placeholder: str) -> str:
    """A value as the words it puts in a message: None is nothing, numbers are digits."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise UnusableValue(
            placeholder,
            f"(({placeholder})) is yes or no, not words: write (({placeholder}??the words to "
            "show when it is yes))",
        )
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise UnusableValue(placeholder, f"(({placeholder})) has no words to show")
    if len(value) > MAX_VALUE_CHARACTERS:
        raise UnusableValue(
            placeholder,
            f"(({placeholder})) holds {len(value)} characters; a value may hold at most "
            f"{MAX_VALUE_CHARACTERS}",
        )
    return value


def is_yes(value: Any) -> bool:
    """Whether a conditional shows its text: a value that is not empty, a list with items, yes.
    (Notify shows it only for 'yes', 'true' and the like: its values come from spreadsheets,
    ours from the service, where an empty value is the 'no'.)"""
    if isinstance(value, str):
        return bool(value.strip())
    return bool(value)


def _items(context: Mapping[str, Any]) -> list[Any]:
    items = lookup(context, "tasks")
    if not isinstance(items, list | tuple):
        raise UnusableValue("tasks", "((tasks)) is not a list of tasks")
    return list(items)


def _field(item: Any, field: str) -> str:
    if not isinstance(item, Mapping) or field not in item:
        raise MissingValue("tasks", f"((tasks)): a task has no {field}")
    return as_text(item[field], "tasks")


def _name_and_role(group: str) -> Callable[[Mapping[str, Any]], str]:
    def name_and_role(context: Mapping[str, Any]) -> str:
        name = as_text(lookup(context, f"{group}.name"), f"{group}.name")
        role = as_text(lookup(context, f"{group}.role"), f"{group}.role").strip()
        return f"{name} ({role})" if role else name

    return name_and_role


def _countdown(context: Mapping[str, Any]) -> str:
    days = lookup(context, "deadline.working_days_before")
    if isinstance(days, bool) or not isinstance(days, int):
        raise UnusableValue("deadline.working_days_before", "is not a number of days")
    if days == 0:
        return "today"
    return f"in {days} working day{'' if days == 1 else 's'}"


COMPUTED: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "no_tasks": lambda context: not _items(context),
    "about.name_and_role": _name_and_role("about"),
    "owner.name_and_role": _name_and_role("owner"),
    "deadline.countdown": _countdown,
}
"""Placeholders made from the others, so a template needs no expressions."""


def value(context: Mapping[str, Any], name: str) -> Any:
    """A placeholder's value: computed, or looked up in the plain values the caller passes."""
    compute = COMPUTED.get(name)
    return compute(context) if compute is not None else lookup(context, name)


# --- lists ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListLines:
    """How one task of a `tasks` list reads: its lines in an e-mail (the first is bulleted, the
    others follow under it), and its words in a text message."""

    email: Callable[[Any], list[str]]
    sms: Callable[[Any], str]


def _announced(item: Any) -> str:
    return f"{_field(item, 'title')}, by {_field(item, 'due')}"


def _digest_status(item: Any) -> str:
    due = _field(item, "due")
    if isinstance(item, Mapping) and item.get("overdue"):
        return f"OVERDUE: it was due by {due}."
    return f"Due by {due}." if due else "No due time yet."


def _digest_sms(item: Any) -> str:
    title, due = _field(item, "title"), _field(item, "due")
    if isinstance(item, Mapping) and item.get("overdue"):
        return f"{title}, OVERDUE, was due by {due}"
    return f"{title}, due by {due}" if due else title


ANNOUNCED_TASKS = ListLines(email=lambda item: [_announced(item)], sms=_announced)
DIGEST_TASKS = ListLines(
    email=lambda item: [
        _field(item, "title"),
        _digest_status(item),
        f"Mark it done: {_field(item, 'done_url')}",
    ],
    sms=_digest_sms,
)
LISTS: dict[Purpose, ListLines] = {
    Purpose.announcement: ANNOUNCED_TASKS,
    Purpose.drill: ANNOUNCED_TASKS,
    Purpose.task_digest: DIGEST_TASKS,
}


def list_text(purpose: Purpose, medium: Medium, items: list[Any]) -> str:
    """`((tasks))` filled in: bullets in an e-mail, one line in a text message, showing at most
    EMAIL_LIST_ITEMS or SMS_LIST_ITEMS tasks so a long list stays a short message."""
    lines = LISTS[purpose]
    if medium is Medium.sms:
        shown = [lines.sms(item) for item in items[:SMS_LIST_ITEMS]]
        more = len(items) - len(shown)
        return "; ".join(shown) + (f"; and {more} more" if more else "")
    out: list[str] = []
    for item in items[:EMAIL_LIST_ITEMS]:
        first, *rest = lines.email(item)
        out.append(f"• {first}")
        out.extend(f"  {line}" for line in rest)
    more = len(items) - EMAIL_LIST_ITEMS
    if more > 0:
        out.append(f"And {more} more.")
    return "\n".join(out)
