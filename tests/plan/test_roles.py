"""Roles to people: the role list, and a change of person moving the role's open tasks in open
inspections (deputies, the steering-group lead, hand-reassigned tasks), on both databases."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.audit_log import AuditEvent
from service.contacts.models import Contact
from service.errors import InvalidInput, NotFound
from service.frameworks import Milestone
from service.inspections import flows as inspection_flows
from service.inspections.models import Inspection
from service.plan import roles, tasks
from service.plan.models import RoleAssignment, Task
from service.plan.schemas import RolePublic, TaskUpdate
from service.rules import Rules
from service.timeline import TimelineEntry
from tests.builders import ACTOR, make_contact, make_inspection
from tests.plan.small_plan import CALL, LUNCHTIME, make_tree, map_roles, registry, seed

NOW = LUNCHTIME


@pytest.fixture
def plan_rules(rules: Rules, tmp_path: Path) -> Rules:
    return dataclasses.replace(rules, plans=registry(tmp_path / "plans", rules.frameworks))


@pytest.fixture
def inspection(session: Session, plan_rules: Rules) -> Inspection:
    seed(session)
    return make_inspection(session, plan_rules, notified_at=CALL)


def owners(engine: Engine, inspection_id: uuid.UUID) -> dict[str, tuple[str | None, str]]:
    with Session(engine) as fresh:
        rows = fresh.exec(select(Task).where(Task.inspection_id == inspection_id)).all()
        return {task.key: (task.owner_contact_id, task.owner_source) for task in rows}


def role_entries(engine: Engine, inspection_id: uuid.UUID) -> list[TimelineEntry]:
    with Session(engine) as fresh:
        rows = fresh.exec(
            select(TimelineEntry).where(
                TimelineEntry.inspection_id == inspection_id, TimelineEntry.kind == "role_changed"
            )
        )
        return list(rows.all())


def assign(session: Session, rules: Rules, role: str, contact_id: str) -> RolePublic:
    public = roles.assign(
        session, rules=rules, role=role, contact_id=contact_id, actor=ACTOR, now=NOW
    )
    session.commit()
    return public


def set_status(
    session: Session, rules: Rules, inspection: Inspection, key: str, **changes: object
) -> None:
    task_id = session.exec(
        select(Task.id).where(Task.inspection_id == inspection.id, Task.key == key)
    ).one()
    tasks.update(
        session,
        rules=rules,
        inspection_id=inspection.id,
        task_id=task_id,
        changes=TaskUpdate(**changes),
        actor=ACTOR,
        now=NOW,
    )
    session.commit()


def test_every_role_any_plan_names_is_listed_with_its_person_and_open_tasks(
    session: Session, plan_rules: Rules, inspection: Inspection
) -> None:
    set_status(session, plan_rules, inspection, "car_parking", status="done")

    listed = {item.role: item for item in roles.list_roles(session, rules=plan_rules)}

    assert list(listed) == sorted(
        [
            "audit_lead",
            "communications_lead",
            "it_lead",
            "logistics_lead",
            "performance_data_lead",
            "steering_group_lead",
        ]
    )
    logistics = listed["logistics_lead"]
    assert logistics.model_dump() == {
        "role": "logistics_lead",
        "label": "Logistics lead",
        "contact_id": "twojcik",
        "contact_name": "Tomasz Wójcik",
        "active": True,
        "deputy_id": "aokafor",
        "open_tasks": 1,  # car parking is done
    }
    assert listed["audit_lead"].model_dump() == {
        "role": "audit_lead",
        "label": "Audit lead",
        "contact_id": None,
        "contact_name": None,
        "active": None,
        "deputy_id": None,
        "open_tasks": 1,
    }


def test_a_closed_inspection_s_tasks_are_not_counted_or_moved(
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

    public = assign(session, plan_rules, "logistics_lead", "praman")

    assert public.open_tasks == 0
    assert owners(engine, inspection.id)["book_base_room"] == ("twojcik", "role")
    assert role_entries(engine, inspection.id) == []


def test_a_new_person_takes_the_role_s_open_tasks_with_a_timeline_entry_and_audit(
    session: Session, engine: Engine, plan_rules: Rules, inspection: Inspection
) -> None:
    set_status(session, plan_rules, inspection, "car_parking", status="done")

    public = assign(session, plan_rules, "logistics_lead", "praman")

    assert (public.contact_id, public.contact_name, public.open_tasks) == (
        "praman",
        "Priya Raman",
        1,
    )
    found = owners(engine, inspection.id)
    assert found["book_base_room"] == ("praman", "role")
    assert found["car_parking"] == ("twojcik", "role")  # done: stays with who did it
    assert found["it_access"] == ("aokafor", "role")  # another role
    [entry] = role_entries(engine, inspection.id)
    assert entry.data == {
        "role": "logistics_lead",
        "tasks": {"book_base_room": {"from": "twojcik", "to": "praman", "source": "role"}},
    }
    assert entry.summary == "Logistics lead is now Priya Raman: 1 open task moved"
    with Session(engine) as fresh:
        [event] = fresh.exec(select(AuditEvent).where(AuditEvent.action == "role_assigned")).all()
    assert (event.target, event.actor) == ("role:logistics_lead", ACTOR)
    assert event.data == {"from": "twojcik", "to": "praman", "tasks_moved": 1}


def test_tasks_move_in_every_open_inspection_drills_included(
    session: Session, engine: Engine, plan_rules: Rules, inspection: Inspection
) -> None:
    drill = make_inspection(session, plan_rules, notified_at=CALL, drill=True)

    assign(session, plan_rules, "logistics_lead", "praman")

    for each in (inspection, drill):
        assert owners(engine, each.id)["car_parking"] == ("praman", "role")
        assert len(role_entries(engine, each.id)) == 1


def test_a_reassigned_task_stays_put_when_the_role_changes(
    session: Session, engine: Engine, plan_rules: Rules, inspection: Inspection
) -> None:
    set_status(session, plan_rules, inspection, "car_parking", owner_contact_id="hoyelaran")

    assign(session, plan_rules, "logistics_lead", "praman")

    found = owners(engine, inspection.id)
    assert found["car_parking"] == ("hoyelaran", "reassigned")
    assert found["book_base_room"] == ("praman", "role")


def test_giving_a_role_to_the_same_person_again_changes_nothing(
    session: Session, engine: Engine, plan_rules: Rules, inspection: Inspection
) -> None:
    assign(session, plan_rules, "logistics_lead", "twojcik")

    assert role_entries(engine, inspection.id) == []
    with Session(engine) as fresh:
        assert fresh.exec(select(AuditEvent)).all() == []


def test_mapping_an_unmapped_role_takes_its_tasks_from_the_lead(
    session: Session, engine: Engine, plan_rules: Rules, inspection: Inspection
) -> None:
    assert owners(engine, inspection.id)["audit_prep"] == ("hoyelaran", "steering_group_lead")

    assign(session, plan_rules, "audit_lead", "aokafor")

    assert owners(engine, inspection.id)["audit_prep"] == ("aokafor", "role")
    warnings = tasks.list_tasks(session, inspection.id, rules=plan_rules, now=NOW).warnings
    assert not any("Audit lead" in warning for warning in warnings)


def test_unmapping_a_role_sends_its_tasks_to_the_steering_group_lead(
    session: Session, engine: Engine, plan_rules: Rules, inspection: Inspection
) -> None:
    roles.unassign(session, rules=plan_rules, role="logistics_lead", actor=ACTOR, now=NOW)
    session.commit()

    found = owners(engine, inspection.id)
    assert found["book_base_room"] == ("hoyelaran", "steering_group_lead")
    assert found["car_parking"] == ("hoyelaran", "steering_group_lead")
    assert session.get(RoleAssignment, "logistics_lead") is None
    warnings = tasks.list_tasks(session, inspection.id, rules=plan_rules, now=NOW).warnings
    assert (
        "No one holds the role 'Logistics lead': its 2 tasks went to the steering-group lead"
        in warnings
    )
    [entry] = role_entries(engine, inspection.id)
    assert entry.summary == "No one holds Logistics lead now: 2 open tasks moved"


def test_unmapping_an_unmapped_known_role_is_harmless_and_an_unknown_one_is_not_found(
    session: Session, plan_rules: Rules, inspection: Inspection
) -> None:
    roles.unassign(session, rules=plan_rules, role="audit_lead", actor=ACTOR, now=NOW)

    with pytest.raises(NotFound, match="known roles: audit_lead, communications_lead"):
        roles.unassign(session, rules=plan_rules, role="catering_lead", actor=ACTOR, now=NOW)


def test_a_new_steering_group_lead_takes_the_tasks_of_unmapped_roles(
    session: Session, engine: Engine, plan_rules: Rules, inspection: Inspection
) -> None:
    assign(session, plan_rules, "steering_group_lead", "aokafor")

    found = owners(engine, inspection.id)
    assert found["action_statement"] == ("aokafor", "role")
    assert found["audit_prep"] == ("aokafor", "steering_group_lead")
    assert found["brief_members"] == ("aokafor", "steering_group_lead")
    assert found["book_base_room"] == ("twojcik", "role")
    [entry] = role_entries(engine, inspection.id)
    assert set(entry.data["tasks"]) == {"action_statement", "audit_prep", "brief_members"}


def test_an_inactive_role_holder_s_deputy_stands_in(
    session: Session, engine: Engine, plan_rules: Rules
) -> None:
    make_tree(session)
    map_roles(session)
    session.flush()
    make_contact(session, "bmensah", "Bola Mensah", reports_to="hoyelaran", deputy="praman")
    map_roles(session, {"audit_lead": "bmensah"})
    session.commit()
    person = session.get(Contact, "bmensah")  # Bola has left; Priya deputises
    assert person is not None
    person.active = False
    session.add(person)
    session.commit()

    inspection = make_inspection(session, plan_rules, notified_at=CALL)

    assert owners(engine, inspection.id)["audit_prep"] == ("praman", "deputy")
    listed = {item.role: item for item in roles.list_roles(session, rules=plan_rules)}
    assert (listed["audit_lead"].active, listed["audit_lead"].deputy_id) == (False, "praman")

    assign(session, plan_rules, "audit_lead", "aokafor")

    assert owners(engine, inspection.id)["audit_prep"] == ("aokafor", "role")


def test_a_role_cannot_go_to_an_inactive_or_unknown_contact_or_be_unknown(
    session: Session, engine: Engine, plan_rules: Rules, inspection: Inspection
) -> None:
    for contact_id, says in (("sllewellyn", "inactive"), ("nobody", "no contact")):
        with pytest.raises(InvalidInput, match=says) as raised:
            assign(session, plan_rules, "logistics_lead", contact_id)
        assert raised.value.field == "contact_id"
        session.rollback()
    with pytest.raises(NotFound, match="no role 'catering_lead'; known roles: audit_lead"):
        assign(session, plan_rules, "catering_lead", "praman")
    session.rollback()

    assert owners(engine, inspection.id)["book_base_room"] == ("twojcik", "role")


def test_tasks_no_one_could_hold_find_owners_once_roles_are_mapped(
    session: Session, engine: Engine, plan_rules: Rules
) -> None:
    inspection = make_inspection(session, plan_rules, notified_at=CALL)
    make_tree(session)
    session.commit()

    assign(session, plan_rules, "logistics_lead", "twojcik")

    found = owners(engine, inspection.id)
    assert found["book_base_room"] == ("twojcik", "role")
    # the others fall to the first of the steering group, who now exists
    assert found["annex_a"] == ("hoyelaran", "steering_group_lead")
    warnings = tasks.list_tasks(session, inspection.id, rules=plan_rules, now=NOW).warnings
    assert not any("no owner" in warning for warning in warnings)
