"""Tasks after the plan has started: order, filters, warnings, status, owners, due times,
comments and ad-hoc tasks, through the rules in service/plan/tasks.py, on both databases."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from service.contacts.models import Contact
from service.errors import Conflict, InvalidInput, NotFound
from service.frameworks import Milestone
from service.inspections import flows as inspection_flows
from service.inspections.models import Inspection
from service.plan import reminders, tasks
from service.plan.definitions import Category
from service.plan.models import Task, TaskComment
from service.plan.schemas import TaskCreate, TaskUpdate
from service.rules import Rules
from service.scheduler.due import DueJob
from service.timeline import TimelineEntry
from tests.builders import ACTOR, london, make_inspection
from tests.plan.small_plan import (
    CALL,
    DUE,
    LUNCHTIME,
    ORDER_AT_LUNCHTIME,
    make_tree,
    map_roles,
    registry,
    seed,
)

NOW = LUNCHTIME


@pytest.fixture
def plan_rules(rules: Rules, tmp_path: Path) -> Rules:
    return dataclasses.replace(rules, plans=registry(tmp_path / "plans", rules.frameworks))


@pytest.fixture
def inspection(session: Session, plan_rules: Rules) -> Inspection:
    seed(session)
    return make_inspection(session, plan_rules, notified_at=CALL)


def stored(engine: Engine, inspection_id: uuid.UUID) -> dict[str, Task]:
    """The tasks as they stand in the database now (a fresh session)."""
    with Session(engine) as fresh:
        rows = fresh.exec(select(Task).where(Task.inspection_id == inspection_id)).all()
        return {task.key: task for task in rows}


def entries(engine: Engine, inspection_id: uuid.UUID, kind: str) -> list[TimelineEntry]:
    with Session(engine) as fresh:
        rows = fresh.exec(
            select(TimelineEntry)
            .where(TimelineEntry.inspection_id == inspection_id, TimelineEntry.kind == kind)
            .order_by(TimelineEntry.id)  # type: ignore[arg-type]
        )
        return list(rows.all())


def change(
    session: Session,
    rules: Rules,
    inspection: Inspection,
    key: str,
    now: datetime = NOW,
    **changes: Any,
) -> Task:
    task = session.exec(
        select(Task).where(Task.inspection_id == inspection.id, Task.key == key)
    ).one()
    updated = tasks.update(
        session,
        rules=rules,
        inspection_id=inspection.id,
        task_id=task.id,
        changes=TaskUpdate(**changes),
        actor=ACTOR,
        now=now,
    )
    session.commit()
    return updated


def due_rows(engine: Engine, task: Task) -> dict[str, tuple[datetime, str]]:
    """The task's reminder and overdue escalation rows: when and in what state."""
    found = {}
    with Session(engine) as fresh:
        for name, key in (
            ("reminder", reminders.reminder_key(task.inspection_id, task.id)),
            ("overdue", reminders.overdue_key(task.inspection_id, task.id)),
        ):
            job = fresh.exec(select(DueJob).where(DueJob.dedupe_key == key)).first()
            if job is not None:
                found[name] = (job.due_at, job.status)
    return found


def keys(session: Session, rules: Rules, inspection: Inspection, **filters: Any) -> list[str]:
    found = tasks.list_tasks(session, inspection.id, rules=rules, now=NOW, **filters)
    return [task.key for task in found.items]


# --- listing ---------------------------------------------------------------------------------


def test_list_is_overdue_first_then_by_due_time_then_in_plan_order(
    session: Session, plan_rules: Rules, inspection: Inspection
) -> None:
    found = tasks.list_tasks(session, inspection.id, rules=plan_rules, now=NOW)

    assert [task.key for task in found.items] == ORDER_AT_LUNCHTIME
    assert {task.key: task.due_at for task in found.items} == DUE
    assert {task.key for task in found.items if task.overdue} == {"book_base_room", "car_parking"}

    change(session, plan_rules, inspection, "book_base_room", status="done")
    after = keys(session, plan_rules, inspection)

    # done is never overdue: it sorts after the overdue task although it was due earlier
    assert after[:3] == ["car_parking", "book_base_room", "it_access"]


def test_a_task_reads_with_its_owner_dependencies_and_counts(
    session: Session, plan_rules: Rules, inspection: Inspection
) -> None:
    found = {
        t.key: t for t in tasks.list_tasks(session, inspection.id, rules=plan_rules, now=NOW).items
    }

    audit = found["audit_prep"]
    assert audit.depends_on == ["annex_a", "it_access"]
    assert audit.waiting_on == ["annex_a", "it_access"]
    assert (audit.owner_role, audit.owner_source) == ("audit_lead", "steering_group_lead")
    assert (audit.owner_contact_id, audit.owner_name) == ("hoyelaran", "Harriet Oyelaran")
    book = found["book_base_room"]
    assert (book.owner_contact_id, book.owner_name, book.owner_source) == (
        "twojcik",
        "Tomasz Wójcik",
        "role",
    )
    assert (book.due_rule, book.reminder_rule) == ("notified_at + 2 hours", "1 hour before")
    assert (book.status, book.ad_hoc, book.comment_count, book.done_at) == ("to_do", False, 0, None)
    assert found["action_statement"].due_at is None
    assert found["action_statement"].overdue is False

    change(session, plan_rules, inspection, "annex_a", status="done")
    again = tasks.list_tasks(session, inspection.id, rules=plan_rules, now=NOW).items
    assert next(t for t in again if t.key == "audit_prep").waiting_on == ["it_access"]


def test_filters_by_owner_status_category_and_overdue(
    session: Session, plan_rules: Rules, inspection: Inspection
) -> None:
    change(session, plan_rules, inspection, "book_base_room", status="done")
    change(session, plan_rules, inspection, "annex_a", status="blocked", blocked_reason="No data")
    change(session, plan_rules, inspection, "it_access", status="in_progress")

    assert keys(session, plan_rules, inspection, owner="twojcik") == [
        "car_parking",
        "book_base_room",
    ]
    assert keys(session, plan_rules, inspection, owner="nobody") == []
    assert keys(session, plan_rules, inspection, status=["done"]) == ["book_base_room"]
    assert keys(session, plan_rules, inspection, status=["blocked,in_progress"]) == [
        "it_access",
        "annex_a",
    ]
    assert keys(session, plan_rules, inspection, status=["blocked", "done"]) == [
        "book_base_room",
        "annex_a",
    ]
    assert keys(session, plan_rules, inspection, category=Category.logistics) == [
        "car_parking",
        "book_base_room",
        "it_access",
    ]
    assert keys(session, plan_rules, inspection, overdue=True) == ["car_parking"]
    assert "car_parking" not in keys(session, plan_rules, inspection, overdue=False)
    assert len(keys(session, plan_rules, inspection, overdue=False)) == 6
    assert keys(session, plan_rules, inspection, category=Category.logistics, status=["to_do"]) == [
        "car_parking"
    ]


@pytest.mark.sqlite_only
def test_an_unknown_status_filter_names_the_status_field(
    session: Session, plan_rules: Rules, inspection: Inspection
) -> None:
    with pytest.raises(InvalidInput) as raised:
        keys(session, plan_rules, inspection, status=["to_do,finished"])

    assert raised.value.field == "status"
    assert "'finished'" in raised.value.message and "in_progress" in raised.value.message


def test_warnings_name_each_unmapped_role_with_its_task_count(
    session: Session, plan_rules: Rules, inspection: Inspection
) -> None:
    found = tasks.list_tasks(session, inspection.id, rules=plan_rules, now=NOW, owner="twojcik")

    assert found.warnings == [
        "No one holds the role 'Audit lead': its 1 task went to the steering-group lead",
        "No one holds the role 'Communications lead': its 1 task went to the steering-group lead",
    ]


def test_warnings_count_open_tasks_only(
    session: Session, plan_rules: Rules, inspection: Inspection
) -> None:
    change(session, plan_rules, inspection, "audit_prep", status="done")

    found = tasks.list_tasks(session, inspection.id, rules=plan_rules, now=NOW)

    assert not any("Audit lead" in warning for warning in found.warnings)


def test_an_unmapped_steering_group_lead_falls_to_the_first_of_the_steering_group(
    session: Session, plan_rules: Rules
) -> None:
    make_tree(session)
    map_roles(session, {"logistics_lead": "twojcik"})
    session.commit()
    inspection = make_inspection(session, plan_rules, notified_at=CALL)

    found = tasks.list_tasks(session, inspection.id, rules=plan_rules, now=NOW)

    assert (
        "No one holds the role 'Steering-group lead': its 1 task, and those of unmapped roles, "
        "went to Harriet Oyelaran, first in the steering group"
    ) in found.warnings
    assert {t.owner_contact_id for t in found.items if t.owner_role != "logistics_lead"} == {
        "hoyelaran"
    }


def test_with_no_contacts_every_task_is_kept_and_the_warning_counts_them(
    session: Session, plan_rules: Rules
) -> None:
    inspection = make_inspection(session, plan_rules, notified_at=CALL)

    found = tasks.list_tasks(session, inspection.id, rules=plan_rules, now=NOW)

    assert len(found.items) == len(DUE)
    assert {(t.owner_contact_id, t.owner_source) for t in found.items} == {(None, "unassigned")}
    assert found.warnings == [
        "7 tasks have no owner: there is no one in the steering group to hold them; add "
        "contacts and map the roles (PUT /api/v1/roles/{role})"
    ]


def test_a_warning_names_an_inactive_person_still_holding_tasks(
    session: Session, engine: Engine, plan_rules: Rules, inspection: Inspection
) -> None:
    with Session(engine) as other:
        person = other.get(Contact, "twojcik")
        assert person is not None
        person.active = False
        other.add(person)
        other.commit()

    found = tasks.list_tasks(session, inspection.id, rules=plan_rules, now=NOW)

    assert (
        "Tomasz Wójcik (twojcik) is inactive but holds 2 open tasks: reassign them or change "
        "the role's person"
    ) in found.warnings


@pytest.mark.sqlite_only
def test_an_unknown_inspection_or_task_is_not_found(
    session: Session, plan_rules: Rules, inspection: Inspection
) -> None:
    drill = make_inspection(session, plan_rules, notified_at=CALL, drill=True)
    drill_task = stored_id(session, drill, "annex_a")

    with pytest.raises(NotFound):
        tasks.list_tasks(session, uuid.uuid4(), rules=plan_rules, now=NOW)
    with pytest.raises(NotFound):
        tasks.read(session, inspection.id, uuid.uuid4(), now=NOW)
    with pytest.raises(NotFound):  # a task of another inspection
        tasks.read(session, inspection.id, drill_task, now=NOW)
    with pytest.raises(NotFound):
        tasks.update(
            session,
            rules=plan_rules,
            inspection_id=inspection.id,
            task_id=drill_task,
            changes=TaskUpdate(status="done"),
            actor=ACTOR,
            now=NOW,
        )


def stored_id(session: Session, inspection: Inspection, key: str) -> uuid.UUID:
    return session.exec(
        select(Task.id).where(Task.inspection_id == inspection.id, Task.key == key)
    ).one()


# --- status ----------------------------------------------------------------------------------


def test_blocked_needs_a_reason_and_leaving_blocked_clears_it(
    session: Session, engine: Engine, plan_rules: Rules, inspection: Inspection
) -> None:
    with pytest.raises(InvalidInput) as raised:
        change(session, plan_rules, inspection, "annex_a", status="blocked")
    assert raised.value.field == "blocked_reason"
    session.rollback()

    change(session, plan_rules, inspection, "annex_a", status="blocked", blocked_reason="No feed")
    change(session, plan_rules, inspection, "annex_a", blocked_reason="Feed down until 14:00")
    assert stored(engine, inspection.id)["annex_a"].blocked_reason == "Feed down until 14:00"

    change(session, plan_rules, inspection, "annex_a", status="in_progress")
    task = stored(engine, inspection.id)["annex_a"]
    assert (task.status, task.blocked_reason) == ("in_progress", None)

    with pytest.raises(InvalidInput) as raised:
        change(session, plan_rules, inspection, "annex_a", blocked_reason="Why not")
    assert raised.value.field == "blocked_reason"
    session.rollback()

    logged = [entry.data["changes"] for entry in entries(engine, inspection.id, "task_updated")]
    assert logged == [
        {
            "status": {"from": "to_do", "to": "blocked"},
            "blocked_reason": {"from": None, "to": "No feed"},
        },
        {"blocked_reason": {"from": "No feed", "to": "Feed down until 14:00"}},
        {
            "status": {"from": "blocked", "to": "in_progress"},
            "blocked_reason": {"from": "Feed down until 14:00", "to": None},
        },
    ]


def test_done_records_who_and_when_and_reopening_clears_them(
    session: Session, engine: Engine, plan_rules: Rules, inspection: Inspection
) -> None:
    change(session, plan_rules, inspection, "car_parking", status="done")
    task = stored(engine, inspection.id)["car_parking"]
    assert (task.status, task.done_at, task.done_by, task.updated_at) == ("done", NOW, ACTOR, NOW)

    later = london(2025, 6, 10, 15, 0)
    change(session, plan_rules, inspection, "car_parking", now=later, status="to_do")
    task = stored(engine, inspection.id)["car_parking"]
    assert (task.status, task.done_at, task.done_by, task.updated_at) == (
        "to_do",
        None,
        None,
        later,
    )

    [done, reopened] = entries(engine, inspection.id, "task_updated")
    assert done.data["changes"] == {"status": {"from": "to_do", "to": "done"}}
    assert done.data["key"] == "car_parking" and done.actor == ACTOR
    assert "Car parking and passes" in done.summary and done.at == NOW
    assert reopened.data["changes"] == {"status": {"from": "done", "to": "to_do"}}


def test_a_change_to_nothing_new_writes_no_timeline_entry(
    session: Session, engine: Engine, plan_rules: Rules, inspection: Inspection
) -> None:
    change(
        session,
        plan_rules,
        inspection,
        "car_parking",
        status="to_do",
        title="Car parking and passes",
    )

    assert entries(engine, inspection.id, "task_updated") == []
    assert stored(engine, inspection.id)["car_parking"].updated_at == CALL


@pytest.mark.sqlite_only
def test_null_status_is_refused(
    session: Session, plan_rules: Rules, inspection: Inspection
) -> None:
    with pytest.raises(InvalidInput) as raised:
        change(session, plan_rules, inspection, "car_parking", status=None)
    assert raised.value.field == "status"


# --- owners ----------------------------------------------------------------------------------


def test_reassign_pins_the_task_and_null_hands_it_back_to_the_role(
    session: Session, engine: Engine, plan_rules: Rules, inspection: Inspection
) -> None:
    change(session, plan_rules, inspection, "car_parking", owner_contact_id="praman")
    task = stored(engine, inspection.id)["car_parking"]
    assert (task.owner_contact_id, task.owner_source) == ("praman", "reassigned")

    change(session, plan_rules, inspection, "car_parking", owner_contact_id=None)
    task = stored(engine, inspection.id)["car_parking"]
    assert (task.owner_contact_id, task.owner_source) == ("twojcik", "role")

    [pinned, back] = entries(engine, inspection.id, "task_updated")
    assert pinned.data["changes"] == {
        "owner_contact_id": {"from": "twojcik", "to": "praman"},
        "owner_source": {"from": "role", "to": "reassigned"},
    }
    assert "Tomasz Wójcik → Priya Raman" in pinned.summary
    assert back.data["changes"]["owner_contact_id"] == {"from": "praman", "to": "twojcik"}


@pytest.mark.parametrize(
    ("contact_id", "says"), [("sllewellyn", "is inactive"), ("nobody", "no contact 'nobody'")]
)
def test_reassign_to_an_inactive_or_unknown_contact_is_refused(
    session: Session,
    engine: Engine,
    plan_rules: Rules,
    inspection: Inspection,
    contact_id: str,
    says: str,
) -> None:
    with pytest.raises(InvalidInput) as raised:
        change(session, plan_rules, inspection, "car_parking", owner_contact_id=contact_id)

    assert raised.value.field == "owner_contact_id"
    assert says in raised.value.message
    session.rollback()
    assert stored(engine, inspection.id)["car_parking"].owner_contact_id == "twojcik"


# --- due times -------------------------------------------------------------------------------


def test_a_due_time_set_by_hand_stops_following_the_timetable(
    session: Session, engine: Engine, plan_rules: Rules, inspection: Inspection
) -> None:
    by_hand = london(2025, 6, 11, 9, 0)
    change(session, plan_rules, inspection, "it_access", due_at=by_hand)
    task = stored(engine, inspection.id)["it_access"]
    assert (task.due_at, task.due_rule) == (by_hand, None)
    [entry] = entries(engine, inspection.id, "task_updated")
    assert entry.data["changes"] == {
        "due_at": {"from": DUE["it_access"].isoformat(), "to": by_hand.isoformat()},
        "due_rule": {"from": "on_site_start 08:30", "to": None},
    }

    # The lead inspector takes the first on-site day off site: on site from Thursday 12 June.
    inspection_flows.override_day(
        session,
        rules=plan_rules,
        inspection_id=inspection.id,
        day=date(2025, 6, 11),
        on_site=False,
        actor=ACTOR,
        now=NOW,
    )
    session.commit()

    after = stored(engine, inspection.id)
    assert after["it_access"].due_at == by_hand
    assert after["brief_members"].due_at == datetime(2025, 6, 12, 16, 0, tzinfo=UTC)


def test_reminders_follow_a_new_due_time_and_stop_when_the_task_is_done(
    session: Session, engine: Engine, plan_rules: Rules, inspection: Inspection
) -> None:
    early = london(2025, 6, 10, 10, 30)
    later = london(2025, 6, 10, 15, 0)
    task = change(session, plan_rules, inspection, "book_base_room", now=early, due_at=later)

    assert due_rows(engine, task) == {
        "reminder": (london(2025, 6, 10, 14, 0), "pending"),  # the plan's "1 hour before"
        "overdue": (later, "pending"),
    }

    change(session, plan_rules, inspection, "book_base_room", now=early, status="done")

    assert {state for _, state in due_rows(engine, task).values()} == {"cancelled"}


def test_a_due_time_cannot_be_cleared(
    session: Session, plan_rules: Rules, inspection: Inspection
) -> None:
    with pytest.raises(InvalidInput) as raised:
        change(session, plan_rules, inspection, "it_access", due_at=None)
    assert raised.value.field == "due_at"


def test_a_plan_task_keeps_the_template_wording(
    session: Session, plan_rules: Rules, inspection: Inspection
) -> None:
    for field in ("title", "description"):
        with pytest.raises(InvalidInput) as raised:
            change(session, plan_rules, inspection, "car_parking", **{field: "Something else"})
        assert raised.value.field == field
        session.rollback()


# --- closed inspections ----------------------------------------------------------------------


def test_a_closed_inspection_s_tasks_cannot_change(
    session: Session, engine: Engine, plan_rules: Rules, inspection: Inspection
) -> None:
    inspection_flows.record_milestone(
        session,
        rules=plan_rules,
        inspection_id=inspection.id,
        key=Milestone.closed,
        day=date(2025, 6, 10),
        actor=ACTOR,
        now=NOW,
    )
    session.commit()
    task_id = stored_id(session, inspection, "car_parking")

    with pytest.raises(Conflict, match="closed"):
        change(session, plan_rules, inspection, "car_parking", status="done")
    session.rollback()
    with pytest.raises(Conflict, match="closed"):
        tasks.add_comment(
            session,
            inspection_id=inspection.id,
            task_id=task_id,
            text="Done?",
            actor=ACTOR,
            now=NOW,
        )
    session.rollback()
    with pytest.raises(Conflict, match="closed"):
        tasks.create(
            session,
            rules=plan_rules,
            inspection_id=inspection.id,
            request=TaskCreate(title="Late task", category=Category.logistics),
            actor=ACTOR,
            now=NOW,
        )
    session.rollback()
    assert stored(engine, inspection.id)["car_parking"].status == "to_do"


# --- comments --------------------------------------------------------------------------------


def test_comments_are_listed_oldest_first_and_counted(
    session: Session, engine: Engine, plan_rules: Rules, inspection: Inspection
) -> None:
    task_id = stored_id(session, inspection, "annex_a")
    for minute, text in ((1, "Feed requested"), (2, "  Feed arrived  ")):
        tasks.add_comment(
            session,
            inspection_id=inspection.id,
            task_id=task_id,
            text=text,
            actor=ACTOR,
            now=london(2025, 6, 10, 14, minute),
        )
        session.commit()

    detail = tasks.read(session, inspection.id, task_id, now=NOW)

    assert [(c.text, c.author) for c in detail.comments] == [
        ("Feed requested", ACTOR),
        ("Feed arrived", ACTOR),
    ]
    assert detail.comment_count == 2
    listed = tasks.list_tasks(session, inspection.id, rules=plan_rules, now=NOW).items
    assert {t.key: t.comment_count for t in listed}["annex_a"] == 2
    assert len(entries(engine, inspection.id, "task_commented")) == 2

    with pytest.raises(InvalidInput) as raised:
        tasks.add_comment(
            session, inspection_id=inspection.id, task_id=task_id, text="   ", actor=ACTOR, now=NOW
        )
    assert raised.value.field == "text"


# --- ad-hoc tasks ----------------------------------------------------------------------------


def add(session: Session, rules: Rules, inspection: Inspection, **values: Any) -> Task:
    values.setdefault("category", "meetings")
    task = tasks.create(
        session,
        rules=rules,
        inspection_id=inspection.id,
        request=TaskCreate.model_validate(values),
        actor=ACTOR,
        now=NOW,
    )
    session.commit()
    return task


def test_an_ad_hoc_task_gets_a_key_from_its_title_and_goes_after_the_plan(
    session: Session, engine: Engine, plan_rules: Rules, inspection: Inspection
) -> None:
    first = add(session, plan_rules, inspection, title="Réunion with Siân: room 2.14")
    second = add(session, plan_rules, inspection, title="Réunion with Siân: room 2.14")

    assert (first.key, first.position) == ("reunion-with-sian-room-2-14", 7)
    assert (second.key, second.position) == ("reunion-with-sian-room-2-14-2", 8)
    assert first.ad_hoc and first.due_rule is None and first.status == "to_do"
    [entry, _] = entries(engine, inspection.id, "task_added")
    assert entry.data["key"] == first.key and entry.actor == ACTOR


def test_an_ad_hoc_task_s_owner_comes_from_its_role_a_person_or_the_lead(
    session: Session, plan_rules: Rules, inspection: Inspection
) -> None:
    by_role = add(session, plan_rules, inspection, title="Sandwiches", owner_role="logistics_lead")
    by_person = add(session, plan_rules, inspection, title="Flowers", owner_contact_id="praman")
    nobody = add(session, plan_rules, inspection, title="Thank-you letters")

    assert (by_role.owner_contact_id, by_role.owner_source) == ("twojcik", "role")
    assert (by_person.owner_contact_id, by_person.owner_source) == ("praman", "reassigned")
    assert (nobody.owner_contact_id, nobody.owner_source) == ("hoyelaran", "steering_group_lead")


def test_an_ad_hoc_task_is_timed_and_can_depend_on_existing_tasks(
    session: Session, engine: Engine, plan_rules: Rules, inspection: Inspection
) -> None:
    due = london(2025, 6, 11, 8, 0)
    task = add(
        session,
        plan_rules,
        inspection,
        key="visitor-badges",
        title="Visitor badges",
        due_at=due,
        reminder_rule="30 minutes before",
        depends_on=["book_base_room", "book_base_room", "it_access"],
    )

    assert (task.key, task.due_at, task.reminder_rule) == (
        "visitor-badges",
        due,
        "30 minutes before",
    )
    assert task.depends_on == ["book_base_room", "it_access"]
    assert due_rows(engine, task)["reminder"] == (london(2025, 6, 11, 7, 30), "pending")
    detail = tasks.read(session, inspection.id, task.id, now=NOW)
    assert detail.waiting_on == ["book_base_room", "it_access"]
    change(
        session, plan_rules, inspection, "visitor-badges", title="Visitor passes", description="Ten"
    )
    detail = tasks.read(session, inspection.id, task.id, now=NOW)
    assert (detail.title, detail.description) == ("Visitor passes", "Ten")


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("values", "field", "says"),
    [
        ({"owner_role": "catering_lead"}, "owner_role", "known roles: audit_lead, "),
        ({"depends_on": ["annex_a", "annex-b"]}, "depends_on", "'annex-b'"),
        ({"owner_contact_id": "sllewellyn"}, "owner_contact_id", "inactive"),
        ({"reminder_rule": "the day before"}, "reminder_rule", "not a reminder rule"),
    ],
)
def test_a_bad_ad_hoc_task_is_refused_naming_the_field_and_writes_nothing(
    session: Session,
    engine: Engine,
    plan_rules: Rules,
    inspection: Inspection,
    values: dict[str, Any],
    field: str,
    says: str,
) -> None:
    with pytest.raises(InvalidInput) as raised:
        add(session, plan_rules, inspection, title="Sandwiches", **values)
    session.rollback()

    assert raised.value.field == field
    assert says in raised.value.message
    assert len(stored(engine, inspection.id)) == len(DUE)
    assert entries(engine, inspection.id, "task_added") == []


def test_a_taken_key_is_a_conflict_naming_its_task(
    session: Session, engine: Engine, plan_rules: Rules, inspection: Inspection
) -> None:
    with pytest.raises(Conflict) as raised:
        add(session, plan_rules, inspection, key="annex_a", title="Another Annex A")
    session.rollback()

    assert raised.value.context == {"task_id": str(stored_id(session, inspection, "annex_a"))}
    with Session(engine) as fresh:
        assert fresh.exec(select(func.count()).select_from(TaskComment)).one() == 0
        assert fresh.exec(
            select(func.count()).select_from(Task).where(Task.inspection_id == inspection.id)
        ).one() == len(DUE)


def test_slugs_are_valid_keys() -> None:
    assert tasks.slug("  Brief the DCS’s office!  ") == "brief-the-dcss-office"
    assert tasks.slug("!!!") == "task"
    assert len(tasks.slug("x" * 300)) == 48
