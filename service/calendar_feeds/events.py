"""What a feed holds, as iCalendar. An event's UID comes from what it is (a task's id, a phase's
key, an on-site date), so a calendar app updates it in place; what it says is fingerprinted, and
a fingerprint different from the one last published moves its SEQUENCE on (the published state is
per inspection, so a task has one SEQUENCE in every feed it is in)."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from sqlmodel import Session, col, select

from service.calendar_feeds.models import CalendarFeed, PublishedEvent
from service.contacts.models import Contact
from service.errors import InvalidInput
from service.inspections import service as inspections
from service.inspections.models import Inspection
from service.inspections.timetable import Timetable, TimetableError
from service.notify.templates.render import EXERCISE_PREFIX, format_day
from service.plan.models import Task, TaskStatus
from service.rules import Rules

UID_DOMAIN = "inspection-week"
"""Fixed, not the host: a UID must outlive a change of PUBLIC_BASE_URL."""
PRODID = "-//inspection-week//calendar feeds//EN"
REFRESH = timedelta(hours=1)
STATUS_WORDS = {
    TaskStatus.to_do.value: "to do",
    TaskStatus.in_progress.value: "in progress",
    TaskStatus.done.value: "done",
    TaskStatus.blocked.value: "blocked",
}


@dataclass(frozen=True)
class FeedEvent:
    uid: str
    summary: str
    description: str
    start: date | datetime
    """A date for an all-day event; an aware datetime for a task's due moment."""
    end: date | None
    """The day after an all-day event's last day (RFC 5545's exclusive end); None for a moment."""
    category: str
    url: str | None = None

    def fingerprint(self) -> str:
        start = self.start.astimezone(UTC) if isinstance(self.start, datetime) else self.start
        text = json.dumps(
            [self.summary, self.description, start.isoformat(), str(self.end), self.category],
            ensure_ascii=False,
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Collected:
    name: str
    events: list[FeedEvent]


def _uid(kind: str, *parts: object) -> str:
    return "-".join([kind, *(str(part) for part in parts)]) + f"@{UID_DOMAIN}"


def _timetable_events(
    inspection: Inspection, table: Timetable, prefix: str, *, with_phases: bool
) -> list[FeedEvent]:
    # Each day says only its phase (not "day 3 of 11"), so taking one day away changes no other.
    days = [
        FeedEvent(
            uid=_uid("onsite", inspection.id, f"{day:%Y%m%d}"),
            summary=f"{prefix}Ofsted inspectors on site",
            description=f"{phase.label}.",
            start=day,
            end=day + timedelta(days=1),
            category="On site",
        )
        for phase in table.phases
        if phase.on_site
        for day in phase.days
    ]
    if not with_phases:
        return days
    phases = [
        FeedEvent(
            uid=_uid("phase", inspection.id, phase.key),
            summary=f"{prefix}{phase.label}",
            description=(
                ("On site: " if phase.on_site else "Working days: ")
                + ", ".join(format_day(day) for day in phase.days)
                + "."
                if phase.days
                else "No working days in this phase."
            ),
            start=phase.start,
            end=phase.end + timedelta(days=1),
            category="Timetable",
        )
        for phase in table.phases
    ]
    deadlines = [
        FeedEvent(
            uid=_uid("deadline", inspection.id, deadline.key),
            summary=f"{prefix}Deadline: {deadline.label}",
            description=(
                f"{deadline.working_days} working days after the "
                f"{deadline.counted_from.replace('_', ' ')} ({format_day(deadline.from_date)})."
                + (f" Met on {format_day(deadline.met_on)}." if deadline.met_on else "")
            ),
            start=deadline.due,
            end=deadline.due + timedelta(days=1),
            category="Deadline",
        )
        for deadline in table.deadlines
    ]
    return phases + days + deadlines


def _task_events(
    session: Session, feed: CalendarFeed, prefix: str, base_url: str
) -> list[FeedEvent]:
    query = (
        select(Task, Contact.name)
        .join(Contact, col(Task.owner_contact_id) == col(Contact.id), isouter=True)
        .where(Task.inspection_id == feed.inspection_id, col(Task.due_at).is_not(None))
        .order_by(col(Task.due_at), col(Task.position), col(Task.id))
    )
    if feed.contact_id is not None:
        query = query.where(Task.owner_contact_id == feed.contact_id)
    events = []
    for task, owner in session.exec(query).all():
        assert task.due_at is not None
        done = task.status == TaskStatus.done.value
        lines = [task.description] if task.description else []
        lines.append(f"Owner: {owner or 'nobody yet'}. Status: {STATUS_WORDS.get(task.status)}.")
        if task.blocked_reason and task.status == TaskStatus.blocked.value:
            lines.append(f"Blocked: {task.blocked_reason}")
        events.append(
            FeedEvent(
                uid=_uid("task", task.id),
                summary=f"{prefix}{'Done: ' if done else 'Due: '}{task.title}",
                description="\n".join(lines),
                start=task.due_at,
                end=None,
                category="Task",
                url=f"{base_url.rstrip('/')}/inspections/{feed.inspection_id}/tasks",
            )
        )
    return events


def collect(session: Session, feed: CalendarFeed, *, rules: Rules, base_url: str) -> Collected:
    """The feed's events as things stand. A person's feed: their tasks and the on-site days; an
    inspection's: the phases, the on-site days, the deadlines and every task with a due time.
    A timetable that can no longer be computed (its framework file removed) leaves the tasks."""
    inspection = inspections.get(session, feed.inspection_id)
    prefix = EXERCISE_PREFIX if inspection.drill else ""
    try:
        table: Timetable | None = inspections.timetable_of(session, inspection, rules=rules)
    except (InvalidInput, TimetableError):
        table = None
    events = (
        _timetable_events(inspection, table, prefix, with_phases=feed.contact_id is None)
        if table is not None
        else []
    )
    events += _task_events(session, feed, prefix, base_url)
    kind = "Rehearsal" if inspection.drill else "Ofsted inspection"
    when = (
        f"from {format_day(table.on_site_start)}"
        if table
        else f"called {inspection.notified_at:%d %B %Y}"
    )
    name = f"{kind} {when}"
    if feed.contact_id is not None:
        person = session.get(Contact, feed.contact_id)
        name = f"{person.name if person else feed.contact_id}: tasks, {name}"
    return Collected(name=name, events=events)


def published(session: Session, inspection_id: uuid.UUID) -> dict[str, PublishedEvent]:
    rows = session.exec(
        select(PublishedEvent).where(PublishedEvent.inspection_id == inspection_id)
    ).all()
    return {row.uid: row for row in rows}


def stale(events: list[FeedEvent], states: dict[str, PublishedEvent]) -> list[FeedEvent]:
    """Events never published, or changed since they last were."""
    return [
        event
        for event in events
        if (state := states.get(event.uid)) is None or state.fingerprint != event.fingerprint()
    ]


def publish(
    session: Session, inspection_id: uuid.UUID, events: list[FeedEvent], *, now: datetime
) -> dict[str, PublishedEvent]:
    """Record the events as published: new ones at SEQUENCE 0, changed ones one higher. Two
    readers doing this at once write the same values (the change is the same change)."""
    states = published(session, inspection_id)
    for event in stale(events, states):
        state = states.get(event.uid)
        if state is None:
            state = PublishedEvent(
                inspection_id=inspection_id,
                uid=event.uid,
                fingerprint=event.fingerprint(),
                sequence=0,
                changed_at=now,
            )
            states[event.uid] = state
        else:
            state.sequence += 1
            state.fingerprint = event.fingerprint()
            state.changed_at = now
        session.add(state)
    session.flush()
    return states


def last_modified(collected: Collected, states: dict[str, PublishedEvent]) -> datetime | None:
    moments = [states[e.uid].changed_at for e in collected.events if e.uid in states]
    return max(moments) if moments else None


def _local_day(moment: date | datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date() if isinstance(moment, datetime) else moment


def _span(events: list[FeedEvent], zone: ZoneInfo) -> tuple[date, date]:
    days = [
        day
        for event in events
        for day in (
            event.start.astimezone(zone).date()
            if isinstance(event.start, datetime)
            else event.start,
            event.end,
        )
        if day is not None
    ]
    if not days:
        return date(1970, 1, 1), date(1970, 12, 31)
    return date(min(days).year, 1, 1), date(max(days).year + 1, 12, 31)


def to_ical(collected: Collected, states: dict[str, PublishedEvent], *, zone: ZoneInfo) -> bytes:
    """The VCALENDAR: a VTIMEZONE for the service's zone (Europe/London) bounded to the years the
    events span, so it stays short. No METHOD, so that DTSTAMP may mean (RFC 5545 3.8.7.2) when
    the event last changed, as LAST-MODIFIED does: an unchanged feed is then byte for byte the
    same, and so is its ETag."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", collected.name)
    calendar.add("x-wr-timezone", zone.key)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", icalendar.vDuration(REFRESH))
    first, last = _span(collected.events, zone)
    calendar.add_component(icalendar.Timezone.from_tzid(zone.key, first_date=first, last_date=last))
    for event in collected.events:
        state = states[event.uid]
        component = icalendar.Event()
        component.add("uid", event.uid)
        component.add("sequence", state.sequence)
        component.add("dtstamp", state.changed_at.astimezone(UTC))
        component.add("last-modified", state.changed_at.astimezone(UTC))
        component.add("summary", event.summary)
        component.add("description", event.description)
        component.add("categories", [event.category])
        component.add("transp", "TRANSPARENT")
        if isinstance(event.start, datetime):
            component.add("dtstart", event.start.astimezone(zone))
        else:
            component.add("dtstart", event.start)
        if event.end is not None:
            component.add("dtend", event.end)
        if event.url:
            component.add("url", event.url)
        calendar.add_component(component)
    return calendar.to_ical()
