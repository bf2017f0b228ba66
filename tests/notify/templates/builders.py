"""Builders for the template tests: a council's edit, stored and committed, a contact that
needs no database, and any template text and values with a measure of what rendering cost."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st
from sqlmodel import Session

from service import audit_log
from service.contacts.models import Contact
from service.notify.templates import edits
from service.notify.templates.language import parse

NOW = datetime(2026, 11, 17, 10, 45, tzinfo=UTC)
ACTOR = "api-key:tests"


def save_edit(
    session: Session, purpose: str, medium: str, body: str, subject: str | None = ""
) -> None:
    edits.save(
        session, purpose=purpose, medium=medium, subject=subject, body=body, actor=ACTOR, now=NOW
    )
    session.commit()


def unsaved_contact(name: str = "Amara Nwosu", role: str | None = None) -> Contact:
    """A contact as the templates see one (name and role); never added to a session."""
    return Contact(
        id="E1042",
        name=name,
        role=role,
        email="amara.nwosu@example.org",
        mobile="+447700900123",
        created_at=NOW,
        updated_at=NOW,
    )


# --- any template text and any values, for the bounds tests ----------------------------------

PIECES = [
    "((",
    "))",
    "(",
    ")",
    "??",
    "\n",
    "\n\n",
    " ",
    "• ",
    "((contact.name))",
    "((Contact Name))",
    "((contact.role??",
    "((tasks))",
    "((tasks??",
    "((no_tasks))",
    "((no_tasks??",
    "((ack_url))",
    "((inspection.framework_name))",
    "((about.name_and_role))",
    "((deadline.countdown))",
    "((task.done_url))",
    "{{ contact.name }}",
    "{% for task in tasks %}",
    "EXERCISE: ",
]


@st.composite
def template_texts(draw: st.DrawFn, *, limit: int) -> str:
    """Text made of the language's own pieces and anything else, repeated up to `limit`
    characters: the sizes that would hurt are reached without drawing megabytes."""
    pieces = draw(st.lists(st.sampled_from(PIECES) | st.text(max_size=12), max_size=30))
    text = "".join(pieces)
    if not text:
        return text
    times = draw(st.integers(min_value=1, max_value=max(1, limit // len(text))))
    return (text * times)[:limit]


def long_texts(limit: int) -> st.SearchStrategy[str]:
    """Any short text, or one character repeated up to `limit` times."""
    repeated = st.builds(lambda ch, n: ch * n, st.characters(), st.integers(0, limit))
    return st.text(max_size=200) | repeated


@dataclass
class Bounds:
    """What one render cost: its peak memory (tracemalloc) and the time it took."""

    peak_bytes: int = 0
    seconds: float = 0.0


@contextmanager
def measured() -> Iterator[Bounds]:
    """Measure the block from a cold start: the parse cache emptied, memory traced."""
    parse.cache_clear()
    bounds = Bounds()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        yield bounds
    finally:
        bounds.seconds = time.perf_counter() - started
        bounds.peak_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def reset_by_upgrade(
    session: Session, purpose: str, medium: str, body: str, subject: str = ""
) -> None:
    """The audit entry migration 0006 writes for an edit it could not convert."""
    audit_log.record(
        session,
        actor="upgrade",
        action=edits.RESET_ON_UPGRADE,
        target=f"{purpose}.{medium}",
        now=NOW - timedelta(days=1),
        data={
            "old_subject": subject,
            "old_body": body,
            "updated_at": (NOW - timedelta(days=30)).isoformat(),
            "updated_by": "user:priya.raman",
            "reason": "{% for task in tasks %} has no equivalent",
        },
    )
    session.commit()
