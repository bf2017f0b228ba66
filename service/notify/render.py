"""Message templates: the shipped defaults, the council's edits, validation and rendering.

Templates are Jinja2 text (no autoescaping: e-mail text and SMS are plain text) run in a sandbox,
because a council's coordinators edit them through the API. Every placeholder a purpose offers is
listed in `PLACEHOLDERS`; a template using anything else is refused when it is saved, naming the
placeholder. Rendering is strict (a missing value is an error, never a blank), and a drill is
marked whatever the template says: subjects and SMS start `EXERCISE: ` and e-mail bodies open
with a line saying it is an exercise. An e-mail's HTML part is made from its rendered text."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import cache, lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing
from markupsafe import Markup, escape
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from service import audit
from service.contacts.models import Contact
from service.errors import DomainError, InvalidInput
from service.notify.base import Medium
from service.notify.govuk_notify import (
    SMS_MAX_CHARACTERS,
    SmsTooLong,
    sms_characters,
    sms_fragments,
)
from service.notify.models import MessageTemplate

log = structlog.get_logger(__name__)


class Purpose(StrEnum):
    announcement = "announcement"
    escalation = "escalation"
    reminder = "reminder"
    drill = "drill"
    task_reminder = "task_reminder"
    task_overdue = "task_overdue"
    task_digest = "task_digest"


EXERCISE_PREFIX = "EXERCISE: "
DRILL_FIRST_LINE = "EXERCISE: this is a rehearsal. No inspection has been announced."
"""The first line of every e-mail body sent in a drill."""
SUBJECT_PREFIX = "Subject:"
"""A shipped e-mail template's first line is `Subject: ...`; the body follows it."""
MAX_SUBJECT_CHARACTERS = 500
MAX_BODY_CHARACTERS = 20_000
MAX_RENDERED_CHARACTERS = 100_000

# --- placeholders --------------------------------------------------------------------------

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
    "tasks": "The person's tasks from the project plan, each with a title and a due time; "
    "may be empty.",
    "tasks[].title": "A task's title.",
    "tasks[].due": "When it is due, e.g. 'Tuesday 17 November 2026, 14:00'.",
}
ESCALATION: dict[str, str] = {
    "about.name": "The person who could not be reached.",
    "about.role": "Their role; may be empty.",
    "reason": "Completes the sentence '{about.name} ...', e.g. 'has not acknowledged within "
    "15 minutes'.",
}
REMINDER: dict[str, str] = {
    "deadline.label": "The deadline, e.g. 'Inspection report published'.",
    "deadline.due": "Its date, e.g. 'Monday 25 January 2027'.",
    "deadline.working_days_before": "Working days from today to the deadline (a number; 0 is "
    "today).",
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
}
DIGEST: dict[str, str] = {
    "day": "The on-site day, e.g. 'Wednesday 18 November 2026'.",
    "tasks": "The person's open tasks, soonest first; may be empty.",
    "tasks[].title": "A task's title.",
    "tasks[].due": "When it is due, e.g. 'Wednesday 18 November 2026, 17:00'; empty while "
    "it cannot be timed (it counts from a milestone not yet recorded).",
    "tasks[].overdue": "True when its due time has passed.",
    "tasks[].done_url": "The one-click link that marks that task done.",
}

TASK_PURPOSES = frozenset({Purpose.task_reminder, Purpose.task_overdue, Purpose.task_digest})

PLACEHOLDERS: dict[Purpose, dict[str, str]] = {
    Purpose.announcement: {**COMMON, **TASKS},
    Purpose.escalation: {**COMMON, **ESCALATION},
    Purpose.reminder: {**COMMON, **REMINDER},
    Purpose.drill: {**COMMON, **TASKS},
    Purpose.task_reminder: {**TASK_COMMON, **TASK},
    Purpose.task_overdue: {**TASK_COMMON, **TASK, **OWNER},
    Purpose.task_digest: {**TASK_COMMON, **DIGEST},
}
"""Every placeholder each purpose's templates may use, with what it holds."""


def _shape(placeholders: Mapping[str, str]) -> dict[str, frozenset[str] | None]:
    """Top-level names and, for groups (`contact`) and lists (`tasks`), the fields they have."""
    shape: dict[str, set[str] | None] = {}
    for name in placeholders:
        head, dot, field = name.partition(".")
        head = head.removesuffix("[]")
        if dot:
            found = shape.get(head)
            shape[head] = (found or set()) | {field}
        else:
            shape.setdefault(head, None)
    return {head: frozenset(fields) if fields else None for head, fields in shape.items()}


SHAPES = {purpose: _shape(found) for purpose, found in PLACEHOLDERS.items()}


# --- SMS length: counted as GOV.UK Notify counts it (service/notify/govuk_notify.py) ---------


def _fragments(text: str) -> int:
    """Fragments Notify would bill; past 918 characters (which Notify refuses) what the length
    would need, so a preview can show it."""
    try:
        return sms_fragments(text)
    except SmsTooLong as exc:
        return math.ceil(exc.characters / 153)


# --- formatting values for the context ------------------------------------------------------


def format_moment(moment: datetime, zone: ZoneInfo) -> str:
    """'Tuesday 17 November 2026, 10:30' in the given zone."""
    local = moment.astimezone(zone)
    return f"{local:%A} {local.day} {local:%B %Y}, {local:%H:%M}"


def format_day(day: date) -> str:
    """'Wednesday 18 November 2026'."""
    return f"{day:%A} {day.day} {day:%B %Y}"


# --- strict values: a missing or misspelt placeholder names itself --------------------------


class _Text(str):
    """A string that knows which placeholder it came from."""

    _path: str

    def __new__(cls, value: str, path: str) -> _Text:
        text = super().__new__(cls, value)
        text._path = path
        return text


class _List(list[Any]):
    __slots__ = ("_path",)
    _path: str

    def __str__(self) -> str:
        loop = f"{{% for item in {self._path} %}}...{{% endfor %}}"
        raise _NotText(f"{self._path} is a list; loop over it: {loop}")


class _Group:
    """`contact`, `inspection`, ...: fields by key only, so `contact.nmae` is undefined (and
    named), never one of a dict's methods."""

    __slots__ = ("_path", "_values")

    def __init__(self, path: str, values: dict[str, Any]):
        self._path = path
        self._values = values

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __str__(self) -> str:
        fields = ", ".join(f"{self._path}.{key}" for key in self._values)
        raise _NotText(f"{self._path} is a group of placeholders; use one of: {fields}")


class _NotText(TemplateError):
    pass


def _strict(value: Any, path: str) -> Any:
    if isinstance(value, Mapping):
        return _Group(path, {str(k): _strict(v, f"{path}.{k}") for k, v in value.items()})
    if isinstance(value, list | tuple):
        items = _List(_strict(item, f"{path}[]") for item in value)
        items._path = path
        return items
    if isinstance(value, str) and not isinstance(value, _Text):
        return _Text(value, path)
    return value


class UnknownPlaceholder(UndefinedError):
    """Raised while rendering; `placeholder` is the dotted name that has no value."""

    def __init__(self, placeholder: str):
        super().__init__(placeholder)
        self.placeholder = placeholder


def _placeholder_path(obj: Any, name: Any) -> str:
    if obj is missing:
        return str(name)
    where = getattr(obj, "_path", None)
    if where is None:
        return str(name)
    return f"{where}[{name}]" if isinstance(name, int) else f"{where}.{name}"


class _Undefined(StrictUndefined):
    """StrictUndefined whose error names the full placeholder, e.g. `contact.nmae`."""

    __slots__ = ()

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = missing,
        name: str | None = None,
        exc: type[Exception] = UndefinedError,
    ):
        super().__init__(hint, obj, name, exc)
        if hint is None and exc is UndefinedError and name is not None:
            placeholder = _placeholder_path(obj, name)
            self._undefined_exception = lambda _message: UnknownPlaceholder(placeholder)  # type: ignore[assignment]


# --- the sandbox ----------------------------------------------------------------------------

_MAX_REPEAT = 10_000
_MAX_ARGUMENT = 10_000


class _Sandbox(ImmutableSandboxedEnvironment):
    """Templates are edited through the API: no code, no Python internals, and no way to ask for
    gigabytes of output (no `range`, capped repetition and numeric arguments)."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # str.format pads to any width written inside the string: no use in a message.
        if super().wrap_str_format(value) is None:
            return None

        def refused(*_: Any, **__: Any) -> str:
            raise SecurityError("str.format is not available in templates")

        return refused

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "%" and isinstance(left, str):
            raise SecurityError("'%' formatting is not available in templates")
        if operator_name == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise SecurityError("exponent too large")
        if operator_name == "*":
            for sequence, count in ((left, right), (right, left)):
                if (
                    isinstance(sequence, str | list | tuple)
                    and isinstance(count, int)
                    and len(sequence) * count > _MAX_REPEAT
                ):
                    raise SecurityError("repetition too large")
        return super().call_binop(context, operator_name, left, right)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        for value in (*args, *kwargs.values()):
            if isinstance(value, int) and not isinstance(value, bool) and value > _MAX_ARGUMENT:
                raise SecurityError(f"argument {value} is too large")
        return super().call(context, obj, *args, **kwargs)


def _none_as_empty(value: Any) -> Any:
    return "" if value is None else value


ENV = _Sandbox(
    undefined=_Undefined,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
    finalize=_none_as_empty,
)
for _name in ("range", "lipsum", "cycler", "joiner", "namespace", "dict"):
    ENV.globals.pop(_name, None)
for _name in ("format", "center", "indent", "slice", "random", "xmlattr"):
    ENV.filters.pop(_name, None)


@lru_cache(maxsize=256)
def _compile(source: str) -> Any:
    return ENV.from_string(source)


# --- shipped defaults and the council's edits -----------------------------------------------


@dataclass(frozen=True)
class Template:
    purpose: Purpose
    medium: Medium
    subject: str
    """Empty for SMS."""
    body: str
    customised: bool = False
    updated_at: datetime | None = None
    updated_by: str | None = None


def _file_name(purpose: Purpose, medium: Medium) -> str:
    return f"{purpose.value}.{medium.value}.txt"


@cache
def default(purpose: Purpose | str, medium: Medium | str) -> Template:
    """The shipped template (service/notify/templates/<purpose>.<medium>.txt)."""
    purpose, medium = Purpose(purpose), Medium(medium)
    text = (
        resources.files("service.notify")
        .joinpath("templates", _file_name(purpose, medium))
        .read_text(encoding="utf-8")
    )
    subject = ""
    if medium is Medium.email:
        first, _, text = text.partition("\n")
        if not first.startswith(SUBJECT_PREFIX):
            raise RuntimeError(f"{_file_name(purpose, medium)} must start with 'Subject: '")
        subject = first.removeprefix(SUBJECT_PREFIX).strip()
    return Template(purpose=purpose, medium=medium, subject=subject, body=text.strip("\n"))


_CACHE_KEY = "message_templates"


@event.listens_for(OrmSession, "after_commit")
@event.listens_for(OrmSession, "after_rollback")
def _forget_stored(session: OrmSession) -> None:
    session.info.pop(_CACHE_KEY, None)


def _stored(session: Session, purpose: Purpose, medium: Medium) -> MessageTemplate | None:
    """The council's edit, looked up once per transaction: a cascade renders thousands of
    messages in one, and most councils never edit most templates."""
    cache: dict[tuple[str, str], MessageTemplate | None] = session.info.setdefault(_CACHE_KEY, {})
    key = (purpose.value, medium.value)
    if key not in cache:
        cache[key] = session.get(MessageTemplate, key)
    return cache[key]


def current(session: Session, purpose: Purpose | str, medium: Medium | str) -> Template:
    """The template in use: the council's edit if one is stored, else the shipped default."""
    purpose, medium = Purpose(purpose), Medium(medium)
    row = _stored(session, purpose, medium)
    if row is None:
        return default(purpose, medium)
    return Template(
        purpose=purpose,
        medium=medium,
        subject=row.subject if medium is Medium.email else "",
        body=row.body,
        customised=True,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def all_current(session: Session) -> list[Template]:
    return [current(session, purpose, medium) for purpose in Purpose for medium in Medium]


def save(
    session: Session,
    *,
    purpose: Purpose | str,
    medium: Medium | str,
    subject: str | None,
    body: str,
    actor: str,
    now: datetime,
) -> Template:
    """Validate and store the council's edit, with its audit record (the caller commits)."""
    purpose, medium = _known(purpose, medium)
    subject = (subject or "").strip() if medium is Medium.email else (subject or "")
    validate(purpose, medium, subject, body)
    row = session.get(MessageTemplate, (purpose.value, medium.value))
    audit.record(
        session,
        actor=actor,
        action="template_saved",
        target=f"{purpose.value}.{medium.value}",
        now=now,
        data={
            "was_customised": row is not None,
            "subject": subject if medium is Medium.email else None,
            "body": body,
        },
    )
    if row is None:
        row = MessageTemplate(
            purpose=purpose.value,
            medium=medium.value,
            body=body,
            subject=subject,
            updated_at=now,
            updated_by=actor,
        )
    else:
        row.subject, row.body, row.updated_at, row.updated_by = subject, body, now, actor
    session.add(row)
    session.info.setdefault(_CACHE_KEY, {})[(purpose.value, medium.value)] = row
    return current(session, purpose, medium)


def reset(
    session: Session, *, purpose: Purpose | str, medium: Medium | str, actor: str, now: datetime
) -> bool:
    """Remove the council's edit, so the shipped default is used again; False if there was none."""
    purpose, medium = _known(purpose, medium)
    row = session.get(MessageTemplate, (purpose.value, medium.value))
    session.info.setdefault(_CACHE_KEY, {})[(purpose.value, medium.value)] = None
    if row is None:
        return False
    session.delete(row)
    audit.record(
        session,
        actor=actor,
        action="template_reset",
        target=f"{purpose.value}.{medium.value}",
        now=now,
    )
    return True


def _known(purpose: Purpose | str, medium: Medium | str) -> tuple[Purpose, Medium]:
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


# --- sample values for previews and validation ----------------------------------------------

SAMPLE_CONTACT = {"name": "Priya Raman", "role": "Head of Safeguarding and Quality Assurance"}
SAMPLE_COUNCIL = "Northbridge Borough Council"
SAMPLE_ACK_TOKEN = "9zk3q1mx.aBcD3f.Qm7v9kP2wL0sXc4RfT8nJ1uE6hA"
"""As long as a real signed token (service/acks.py): about 43 characters."""
SAMPLE_ACK_URL = f"https://inspection-week.northbridge.example.org/ack/{SAMPLE_ACK_TOKEN}"
SAMPLE_DONE_TOKENS = (
    "bYExlcVvSl2cOVoLee0kew.cHJpeWEucmFtYW4.awQ_Nw.-fGHjKhCB0fVapoGbVrT_KUXIo4",
    "1Xc3a3YWQ3WEDiChLN85XQ.cHJpeWEucmFtYW4.awQ_Nw.mIQDIQY2FxHX4jT286sEoK03XvI",
)
"""As long as real mark-done tokens (service/plan/done_links.py) for a typical contact id."""
_LONDON = ZoneInfo("Europe/London")


def sample_context(
    purpose: Purpose | str,
    contact: Contact | None = None,
    *,
    council_name: str | None = None,
    ack_url: str | None = None,
) -> dict[str, Any]:
    """Every placeholder of the purpose, with believable values: the given contact's name and
    role, or an invented person."""
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
        "ack_url": SAMPLE_ACK_URL if ack_url is None else ack_url,
    }
    if purpose in TASK_PURPOSES:
        context.update(_sample_tasks(purpose, _link_base(context.pop("ack_url"))))
    elif purpose in (Purpose.announcement, Purpose.drill):
        context["tasks"] = [
            {
                "title": "Book the base room and car parking for the inspection team",
                "due": format_moment(datetime(2026, 11, 17, 14, 0, tzinfo=_LONDON), _LONDON),
            },
            {
                "title": "Send the Annex A data to the lead inspector",
                "due": format_moment(datetime(2026, 11, 18, 9, 0, tzinfo=_LONDON), _LONDON),
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


def _link_base(ack_url: str) -> str:
    """The server part of an acknowledgement link: previews of mark-done links use the same
    server (PUBLIC_BASE_URL) the caller built the acknowledgement link from."""
    base, found, _ = ack_url.partition("/ack/")
    return base if found else "https://inspection-week.northbridge.example.org"


def _sample_tasks(purpose: Purpose, base: str) -> dict[str, Any]:
    first, second = (f"{base}/tasks/done/{token}" for token in SAMPLE_DONE_TOKENS)
    if purpose is Purpose.task_digest:
        return {
            "day": format_day(date(2026, 11, 19)),
            "tasks": [
                {
                    "title": "Send the Annex A data to the lead inspector",
                    "due": format_moment(datetime(2026, 11, 18, 17, 0, tzinfo=_LONDON), _LONDON),
                    "overdue": True,
                    "done_url": first,
                },
                {
                    "title": "Brief elected members on the inspection",
                    "due": format_moment(datetime(2026, 11, 19, 17, 0, tzinfo=_LONDON), _LONDON),
                    "overdue": False,
                    "done_url": second,
                },
            ],
        }
    context: dict[str, Any] = {
        "task": {
            "title": "Book the base room and car parking for the inspection team",
            "due": format_moment(datetime(2026, 11, 17, 17, 0, tzinfo=_LONDON), _LONDON),
            "description": "A room for up to six inspectors from the first morning, with "
            "parking passes for three cars.",
            "done_url": first,
        }
    }
    if purpose is Purpose.task_overdue:
        context["owner"] = {"name": "Gareth Pryce", "role": "Business Support Manager"}
    return context


def _sparse_context(purpose: Purpose) -> dict[str, Any]:
    """The same with everything optional left empty: a template must cope with both."""
    context = sample_context(purpose, ack_url="")
    context["contact"]["role"] = ""
    context["inspection"]["lead_inspector"] = ""
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


# --- rendering ------------------------------------------------------------------------------


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


class RenderError(DomainError):
    """A template could not be rendered with the values given; names the field and, when one
    is missing, the placeholder."""

    def __init__(self, field: str, message: str, placeholder: str | None = None):
        super().__init__(message)
        self.field = field
        self.placeholder = placeholder


def _run(source: str, context: Mapping[str, Any], field: str) -> str:
    try:
        text = _compile(source).render(context)
    except UnknownPlaceholder as exc:
        raise RenderError(
            field, f"{field}: no value for placeholder {exc.placeholder}", exc.placeholder
        ) from exc
    except TemplateSyntaxError as exc:
        raise RenderError(field, f"{field}: line {exc.lineno}: {exc.message}") from exc
    except Exception as exc:  # a council's template must never take the cascade down
        raise RenderError(field, f"{field}: {exc}") from exc
    if len(text) > MAX_RENDERED_CHARACTERS:
        raise RenderError(
            field, f"{field}: renders to more than {MAX_RENDERED_CHARACTERS} characters"
        )
    return text


_BLANK_RUNS = re.compile(r"\n{3,}")
_LEADING_EXERCISE = re.compile(r"^\s*exercise\s*:\s*", re.IGNORECASE)


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")


def _exercise(text: str) -> str:
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
) -> Rendered:
    """Render given template text (a preview of an unsaved edit, or the template in use)."""
    purpose, medium = _known(purpose, medium)
    drill = drill or purpose is Purpose.drill
    strict = {key: _strict(value, key) for key, value in context.items()}
    title = " ".join(_run(subject, strict, "subject").split()) if medium is Medium.email else ""
    text = _tidy(_run(body, strict, "body"))
    if medium is Medium.sms:
        if drill:
            text = _exercise(text)
        return Rendered(
            subject="",
            body=text,
            html_body=None,
            sms_fragments=_fragments(text),
            characters=sms_characters(text),
            customised=customised,
        )
    if drill:
        title = _exercise(title)
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
    real ones can still defeat it (`tasks[0]` with no tasks, an SMS pushed past 918 characters by
    long names): then the shipped default is used and a warning logged, because a message must
    always go. Raises RenderError when even the default cannot be rendered (a value the purpose
    needs is missing from `context`)."""
    purpose, medium = _known(purpose, medium)
    template = current(session, purpose, medium)
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
            if rendered.characters <= SMS_MAX_CHARACTERS or medium is Medium.email:
                return rendered
            problem = f"text message of {rendered.characters} characters"
        log.warning(
            "template_fell_back_to_default",
            purpose=purpose.value,
            medium=medium.value,
            problem=problem,
        )
    shipped = default(purpose, medium)
    return render_text(
        purpose, medium, subject=shipped.subject, body=shipped.body, context=context, drill=drill
    )


# --- the HTML alternative -------------------------------------------------------------------

_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
_PARAGRAPHS = re.compile(r"\n[ \t]*\n+")


def _link(text: str) -> Markup:
    """Escape text and turn http(s) URLs into links (trailing punctuation stays outside)."""
    out: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0)
        stripped = url.rstrip(_TRAILING)
        if stripped.count("(") > stripped.count(")") and url[len(stripped) :].startswith(")"):
            stripped += ")"
        end = match.start() + len(stripped)
        out.append(escape(text[position : match.start()]))
        out.append(Markup('<a href="{0}">{0}</a>').format(stripped))
        position = end
    out.append(escape(text[position:]))
    return Markup("").join(out)


def html_alternative(text: str, *, title: str = "") -> str:
    """The e-mail's HTML part, from its rendered text: escaped, a paragraph per blank-line
    separated block, line breaks kept, http(s) URLs made into links."""
    paragraphs = [
        Markup("<p>{}</p>").format(Markup("<br>\n").join(_link(line) for line in block.split("\n")))
        for block in _PARAGRAPHS.split(text.strip())
        if block.strip()
    ]
    return str(
        Markup(
            '<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
            "<title>{title}</title>\n</head>\n"
            '<body style="font-family: Arial, sans-serif; font-size: 19px; line-height: 1.3; '
            'color: #0b0c0c;">\n{body}\n</body>\n</html>\n'
        ).format(title=title, body=Markup("\n").join(paragraphs))
    )


# --- validation -----------------------------------------------------------------------------


def _assigned(tree: nodes.Template) -> set[str]:
    """Names the template sets itself (`{% set %}`, loop variables, macro arguments)."""
    return {node.name for node in tree.find_all(nodes.Name) if node.ctx in ("store", "param")}


def _static_check(tree: nodes.Template, undeclared: set[str], purpose: Purpose, field: str) -> None:
    shape = SHAPES[purpose]
    allowed = set(shape) | set(ENV.globals)
    for name in sorted(undeclared):
        if name not in allowed:
            raise InvalidInput(field, _unknown(name, purpose))
    own = _assigned(tree)
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = node.node
        if not isinstance(target, nodes.Name) or target.name in own:
            continue
        if isinstance(node, nodes.Getattr):
            attribute: Any = node.attr
        elif isinstance(node.arg, nodes.Const):
            attribute = node.arg.value
        else:
            continue
        fields = shape.get(target.name)
        if target.name == "tasks" or fields is None:
            continue  # list items and plain text are checked by rendering
        if attribute not in fields:
            raise InvalidInput(field, _unknown(f"{target.name}.{attribute}", purpose))


def _unknown(placeholder: str, purpose: Purpose) -> str:
    return f"unknown placeholder {placeholder}; {purpose.value} templates may use: " + ", ".join(
        PLACEHOLDERS[purpose]
    )


def _parse(source: str, field: str) -> tuple[nodes.Template, set[str]]:
    """The syntax tree and the names it reads from outside (compiling it finds unknown filters)."""
    try:
        tree = ENV.parse(source)
        return tree, meta.find_undeclared_variables(tree)
    except TemplateSyntaxError as exc:
        raise InvalidInput(field, f"line {exc.lineno}: {exc.message}") from None
    except RecursionError:
        raise InvalidInput(field, "is nested too deeply") from None


def _dry_runs(purpose: Purpose) -> Iterator[dict[str, Any]]:
    yield sample_context(purpose)
    yield _sparse_context(purpose)


_INDEX = re.compile(r"\[-?\d+\]$")


def _checked(call: Callable[[], Rendered], purpose: Purpose) -> Rendered:
    try:
        return call()
    except RenderError as exc:
        index = _INDEX.search(exc.placeholder or "")
        if index is not None:
            raise InvalidInput(
                exc.field,
                f"{exc.placeholder} has no value when the list is shorter, and it may be empty; "
                f"loop over it: {{% for item in {exc.placeholder[: index.start()]} %}}",
            ) from None
        if exc.placeholder is not None:
            raise InvalidInput(exc.field, _unknown(exc.placeholder, purpose)) from None
        raise InvalidInput(exc.field, exc.message.removeprefix(f"{exc.field}: ")) from None


def validate(purpose: Purpose | str, medium: Medium | str, subject: str | None, body: str) -> None:
    """Refuse, naming the field, a template that would fail or mislead when sent: unknown
    placeholders (including misspelt fields such as `contact.nmae`), Jinja syntax errors (with the
    line), an empty body, an e-mail without a subject, a subject on an SMS, and an SMS longer than
    Notify sends (918 characters) with the sample values."""
    purpose, medium = _known(purpose, medium)
    subject = subject or ""
    if medium is Medium.email and not subject.strip():
        raise InvalidInput("subject", "an e-mail needs a subject")
    if medium is Medium.sms and subject.strip():
        raise InvalidInput("subject", "a text message has no subject; leave it empty")
    if not body.strip():
        raise InvalidInput("body", "must not be empty")
    for field, text, limit in (
        ("subject", subject, MAX_SUBJECT_CHARACTERS),
        ("body", body, MAX_BODY_CHARACTERS),
    ):
        if "\x00" in text:
            raise InvalidInput(field, "must not contain NUL characters")
        if len(text) > limit:
            raise InvalidInput(field, f"must be at most {limit} characters")
    for field, text in (("subject", subject), ("body", body)):
        _static_check(*_parse(text, field), purpose, field)
    # A drill, and an escalation sent during one, carry the EXERCISE prefix: count it.
    prefixed = purpose in (Purpose.drill, Purpose.escalation)
    for context in _dry_runs(purpose):
        rendered = _checked(
            lambda context=context: render_text(
                purpose, medium, subject=subject, body=body, context=context, drill=False
            ),
            purpose,
        )
        if not rendered.body.strip():
            raise InvalidInput("body", "renders as an empty message with the sample values")
        if medium is Medium.email and not rendered.subject.strip():
            raise InvalidInput("subject", "renders as an empty subject with the sample values")
        if medium is Medium.sms:
            characters = sms_characters(_exercise(rendered.body) if prefixed else rendered.body)
            if characters > SMS_MAX_CHARACTERS:
                raise InvalidInput(
                    "body",
                    f"renders to {characters} characters with the sample values"
                    + (" and the 'EXERCISE: ' prefix of a rehearsal" if prefixed else "")
                    + f"; a text message can have at most {SMS_MAX_CHARACTERS}",
                )
