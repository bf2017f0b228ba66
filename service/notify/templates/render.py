"""Rendering: a template and plain values into a message's subject, text and HTML part.

Rendering is strict (a missing value is an error, never a blank), and a drill is marked whatever
the template says: subjects and SMS start `EXERCISE: ` and e-mail bodies open with a line saying
it is an exercise. The dates and times in the values are written the one way messages show them
(`format_moment`, `format_day`).

It is cheap and bounded by construction (language.py): one pass over a template of at most
20,000 characters, values of at most MAX_VALUE_CHARACTERS, stopping once the output passes
MAX_RENDERED_CHARACTERS (MAX_RENDERED_SUBJECT_CHARACTERS for a subject). That is why the outbox
may render inside the transaction that writes the message."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlmodel import Session

from service.errors import DomainError
from service.notify import sms
from service.notify.models import Medium, Purpose
from service.notify.templates.html import html_alternative
from service.notify.templates.language import Placeholder, TemplateSyntax, TooLong, fill, parse
from service.notify.templates.placeholders import (
    LISTS,
    MissingValue,
    UnusableValue,
    as_text,
    is_yes,
    known,
    list_text,
    names,
    value,
)
from service.notify.templates.store import current, default

log = structlog.get_logger(__name__)

EXERCISE_PREFIX = "EXERCISE: "
DRILL_FIRST_LINE = "EXERCISE: this is a rehearsal. No inspection has been announced."
"""The first line of every e-mail body sent in a drill."""
SENT_IN_DRILLS = frozenset({Purpose.drill, Purpose.escalation, Purpose.reply_help})
"""What a drill sends, always marked: the rehearsal itself, escalations and the answer to a
reply that did not acknowledge (drills get no task messages or deadline reminders)."""
MAX_RENDERED_CHARACTERS = 50_000
"""A message's longest text: a 20,000-character template with a full list of tasks fits."""
MAX_RENDERED_SUBJECT_CHARACTERS = 1_000


def format_moment(moment: datetime, zone: ZoneInfo) -> str:
    """'Tuesday 17 November 2026, 10:30' in the given zone."""
    local = moment.astimezone(zone)
    return f"{local:%A} {local.day} {local:%B %Y}, {local:%H:%M}"


def format_day(day: date) -> str:
    """'Wednesday 18 November 2026'."""
    return f"{day:%A} {day.day} {day:%B %Y}"


@dataclass(frozen=True)
class Rendered:
    subject: str
    """Empty for SMS."""
    body: str
    html_body: str | None
    """The HTML alternative of an e-mail; None for SMS."""
    sms_fragments: int | None
    """Text messages Notify sends for an SMS; None for e-mail."""
    characters: int = 0
    """The body's length (for SMS, as Notify counts it)."""
    customised: bool = False
    """Made from the council's edit rather than the shipped default."""
    fell_back: str | None = None
    """Why the council's edit could not be used for this person, when the shipped default was
    rendered instead."""


class RenderError(DomainError):
    """A template could not be rendered with the values given; names the field and, when one
    is missing, the placeholder."""

    def __init__(self, field: str, message: str, placeholder: str | None = None):
        super().__init__(message)
        self.field = field
        self.placeholder = placeholder


class _Values:
    """One message's values, read as its template asks for them: each placeholder looked up
    (or computed) once, strictly, and a list filled in as the medium shows it."""

    def __init__(self, purpose: Purpose, medium: Medium, context: Mapping[str, Any]):
        self.purpose = purpose
        self.medium = medium
        self.context = context
        self.names = names(purpose)
        self._texts: dict[str, str] = {}
        self._values: dict[str, Any] = {}

    def _value(self, placeholder: Placeholder) -> tuple[str, Any]:
        name = self.names.get(placeholder.key)
        if name is None:
            raise MissingValue(placeholder.written, f"unknown placeholder {placeholder}")
        if name not in self._values:
            self._values[name] = value(self.context, name)
        return name, self._values[name]

    def text(self, placeholder: Placeholder) -> str:
        name, found = self._value(placeholder)
        if name not in self._texts:
            if isinstance(found, list | tuple) and self.purpose in LISTS:
                self._texts[name] = list_text(self.purpose, self.medium, list(found))
            else:
                self._texts[name] = as_text(found, name)
        return self._texts[name]

    def shown(self, placeholder: Placeholder) -> bool:
        return is_yes(self._value(placeholder)[1])


def _run(source: str, values: _Values, field: str, limit: int) -> str:
    try:
        return fill(parse(source), values, limit=limit)
    except TemplateSyntax as exc:
        raise RenderError(field, f"{field}: {exc}") from exc
    except (MissingValue, UnusableValue) as exc:
        raise RenderError(field, f"{field}: {exc.message}", exc.placeholder) from exc
    except TooLong as exc:
        raise RenderError(field, f"{field}: {exc}") from exc


_BLANK_RUNS = re.compile(r"\n{3,}")
_LEADING_EXERCISE = re.compile(r"^\s*exercise\s*:\s*", re.IGNORECASE)


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")


def mark_exercise(text: str) -> str:
    """`EXERCISE: ` once at the start, however the template already began."""
    return EXERCISE_PREFIX + _LEADING_EXERCISE.sub("", text, count=1)


def render_text(
    purpose: Purpose | str,
    medium: Medium | str,
    *,
    subject: str,
    body: str,
    context: Mapping[str, Any],
    drill: bool,
    customised: bool = False,
    sms_prefix: str | None = None,
) -> Rendered:
    """Render given template text (a preview of an unsaved edit, or the template in use).
    `sms_prefix` is the service name Notify puts before each text, when it does: it counts
    towards the fragments, not towards the 918 characters."""
    purpose, medium = known(purpose, medium)
    drill = drill or purpose is Purpose.drill
    values = _Values(purpose, medium, context)
    title = ""
    if medium is Medium.email:
        title = " ".join(_run(subject, values, "subject", MAX_RENDERED_SUBJECT_CHARACTERS).split())
    text = _tidy(_run(body, values, "body", MAX_RENDERED_CHARACTERS))
    if medium is Medium.sms:
        if drill:
            text = mark_exercise(text)
        return Rendered(
            subject="",
            body=text,
            html_body=None,
            sms_fragments=sms.fragments_needed(text, sms_prefix),
            characters=sms.characters(text),
            customised=customised,
        )
    if drill:
        title = mark_exercise(title)
        if not text.startswith(DRILL_FIRST_LINE):
            text = f"{DRILL_FIRST_LINE}\n\n{text}"
    return Rendered(
        subject=title,
        body=text,
        html_body=html_alternative(text, title=title),
        sms_fragments=None,
        characters=len(text),
        customised=customised,
    )


def render(
    session: Session,
    *,
    purpose: Purpose | str,
    medium: Medium | str,
    context: Mapping[str, Any],
    drill: bool,
) -> Rendered:
    """One message for one person. `context` holds the purpose's placeholders as plain values
    (dicts for `contact`, `inspection`, ...; a list of dicts for `tasks`); extra keys are
    ignored. The council's edit is used when stored. It was validated against sample values, but
    real ones can still defeat it (an SMS pushed past 918 characters by long names, a value
    longer than any sample): then the shipped default is used, `fell_back` says why and a
    warning is logged, because a message must always go (the outbox tells the lead). Raises
    RenderError when even the default cannot be rendered (a value the purpose needs is missing
    from `context`)."""
    purpose, medium = known(purpose, medium)
    template = current(session, purpose, medium)
    problem: str | None = None
    if template.customised:
        try:
            rendered = render_text(
                purpose,
                medium,
                subject=template.subject,
                body=template.body,
                context=context,
                drill=drill,
                customised=True,
            )
        except RenderError as exc:
            problem = exc.message
        else:
            if rendered.characters <= sms.MAX_CHARACTERS or medium is Medium.email:
                return rendered
            problem = f"text message of {rendered.characters} characters"
        log.warning(
            "template_fell_back_to_default",
            purpose=purpose.value,
            medium=medium.value,
            problem=problem,
        )
    shipped = default(purpose, medium)
    rendered = render_text(
        purpose, medium, subject=shipped.subject, body=shipped.body, context=context, drill=drill
    )
    return replace(rendered, fell_back=problem) if problem else rendered
