"""The shipped default plan started by a real announce, on both databases: its tasks, who owns
them (role, deputy, steering-group lead, nobody), their due times in London time, how they
follow the timetable, and the task list in each owner's announcement.

The sif-2013 call is on Tue 3 March 2026 at 10:15 (GMT): on site Wed 4 March; week 2 is 9-13
March; the inspection ends Wed 25 March; the report is due Mon 11 May and the written statement
of action Tue 18 August (both BST). Working days are counted by hand in the comments."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service import timeline
from service.frameworks import Milestone
from service.inspections import flows as inspection_flows
from service.inspections.models import Inspection
from service.plan.models import OwnerSource, RoleAssignment, Task, TaskStatus
from service.rules import Rules
from tests.builders import ACTOR, london, make_contact, make_inspection, read_messages

CALL = london(2026, 3, 3, 10, 15)

# The default plan for sif-2013, in order: (key, category, owner role).
SIF_PLAN = [
    ("steering_group_meeting", "meetings", "steering_group_lead"),
    ("base_room", "logistics", "logistics_lead"),
    ("car_parking_passes", "logistics", "logistics_lead"),
    ("it_equipment", "logistics", "it_lead"),
    ("case_system_access", "logistics", "it_lead"),
    ("annex_a_data", "data", "performance_data_lead"),
    ("performance_summary", "data", "performance_data_lead"),
    ("evidence_library", "information", "information_lead"),
    ("all_staff_email", "communications", "communications_lead"),
    ("brief_members", "communications", "dcs_office"),
    ("brief_partners", "communications", "partnerships_lead"),
    ("brief_staff", "communications", "heads_of_service"),
    ("families_briefing", "communications", "communications_lead"),
    ("press_lines", "communications", "communications_lead"),
    ("serious_incidents", "information", "heads_of_service"),
    ("out_of_area_visits", "information", "heads_of_service"),
    ("setup_meeting", "meetings", "dcs_office"),
    ("daily_arrangements", "logistics", "logistics_lead"),
    ("observation_schedule", "meetings", "heads_of_service"),
    ("interviews_focus_groups", "meetings", "heads_of_service"),
    ("members_meeting", "meetings", "dcs_office"),
    ("lscb_chair_meeting", "meetings", "partnerships_lead"),
    ("children_in_care_council", "meetings", "heads_of_service"),
    ("daily_catch_up", "meetings", "dcs_office"),
    ("annex_a_queries", "data", "performance_data_lead"),
    ("receive_case_list", "audit", "audit_lead"),
    ("assign_auditors", "audit", "audit_lead"),
    ("audit_first_tier", "audit", "audit_lead"),
    ("audit_re_audit", "audit", "audit_lead"),
    ("audit_findings_report", "audit", "audit_lead"),
    ("full_team_arrangements", "logistics", "logistics_lead"),
    ("evidence_gaps", "information", "information_lead"),
    ("feedback_meeting", "meetings", "steering_group_lead"),
    ("factual_accuracy", "after_the_inspection", "dcs_office"),
    ("publication_communications", "after_the_inspection", "communications_lead"),
    ("action_statement_draft", "after_the_inspection", "heads_of_service"),
    ("action_statement_approve", "after_the_inspection", "dcs_office"),
    ("action_statement_publish", "after_the_inspection", "communications_lead"),
    ("action_plan_to_scrutiny", "after_the_inspection", "steering_group_lead"),
    ("lessons_learned", "after_the_inspection", "steering_group_lead"),
]
ROLES = sorted({role for _, _, role in SIF_PLAN})

# Due times for the call above, in London wall-clock time (None: the report is not published).
SIF_DUE = {
    "base_room": london(2026, 3, 3, 12, 15),  # notified_at + 2 hours
    "all_staff_email": london(2026, 3, 3, 12, 15),
    "steering_group_meeting": london(2026, 3, 3, 13, 15),
    "annex_a_data": london(2026, 3, 3, 16, 15),
    "car_parking_passes": london(2026, 3, 3, 17),  # + 3 hours, not before 17:00
    "daily_arrangements": london(2026, 3, 4, 8),
    "setup_meeting": london(2026, 3, 4, 8, 30),  # on_site_start 08:30
    "evidence_library": london(2026, 3, 4, 8, 30),
    "case_system_access": london(2026, 3, 4, 12),
    "observation_schedule": london(2026, 3, 4, 8, 30),  # by the first on-site morning
    "interviews_focus_groups": london(2026, 3, 5, 12),  # on_site_start + 1 working day 12:00
    "members_meeting": london(2026, 3, 6, 17),  # on_site_start + 2 working days 17:00
    "lscb_chair_meeting": london(2026, 3, 6, 17),
    "annex_a_queries": london(2026, 3, 11, 17),  # week2.start + 2 working days 17:00
    "children_in_care_council": london(2026, 3, 16, 9),  # week3.start 09:00
    "receive_case_list": london(2026, 3, 6, 12),  # week1.end 12:00
    "assign_auditors": london(2026, 3, 6, 17),
    "audit_first_tier": london(2026, 3, 11, 17),  # week2.start + 2 working days 17:00
    "audit_re_audit": london(2026, 3, 12, 17),
    "audit_findings_report": london(2026, 3, 13, 12),
    "full_team_arrangements": london(2026, 3, 11, 17),
    "feedback_meeting": london(2026, 3, 25, 17),  # inspection_end
    # Mon 11 May - 10 working days, skipping Mon 4 May: Fri 24 April (BST).
    "factual_accuracy": london(2026, 4, 24, 17),
    "publication_communications": london(2026, 5, 1, 17),  # - 5 working days
    # Tue 18 August - 10 working days: Tue 4 August.
    "action_statement_approve": london(2026, 8, 4, 17),
    "action_statement_publish": london(2026, 8, 18, 12),
    "action_statement_draft": None,  # report_published + 40 working days
    "action_plan_to_scrutiny": None,
    "lessons_learned": None,  # report_published + 10 working days
}

PEOPLE = {
    "steering_group_lead": ("sg-lead", "Harriet Oyelaran"),
    "logistics_lead": ("logistics", "Tomasz Wójcik"),
    "it_lead": ("it", "Priya Raghunathan"),
    "performance_data_lead": ("data", "Eilidh MacAskill"),
    "information_lead": ("info", "Kwame Asante"),
    "communications_lead": ("comms", "Siobhan Delaney"),
    "dcs_office": ("dcs", "Marek Nowicki"),
    "heads_of_service": ("hos", "Funmilayo Adeyemi"),
    "partnerships_lead": ("partners", "Gareth Pritchard"),
    "audit_lead": ("audit", "Ayesha Karim"),
}


def assign(session: Session, role: str, contact_id: str) -> None:
    session.add(
        RoleAssignment(
            role=role, contact_id=contact_id, updated_at=CALL, updated_by="Harriet Oyelaran"
        )
    )
    session.flush()


def staff(session: Session, roles: list[str] | None = None) -> dict[str, str]:
    """Everyone in PEOPLE at the top of the tree; the given roles (default all) mapped."""
    for contact_id, name in PEOPLE.values():
        make_contact(session, contact_id, name, channels=("email",))
    mapped = {}
    for role in roles if roles is not None else list(PEOPLE):
        assign(session, role, PEOPLE[role][0])
        mapped[role] = PEOPLE[role][0]
    session.commit()
    return mapped


def tasks_of(session: Session, inspection: Inspection) -> list[Task]:
    session.expire_all()
    return list(
        session.exec(
            select(Task).where(Task.inspection_id == inspection.id).order_by(col(Task.position))
        ).all()
    )


def by_key(session: Session, inspection: Inspection) -> dict[str, Task]:
    return {task.key: task for task in tasks_of(session, inspection)}


def entries(session: Session, inspection: Inspection, kind: str) -> list[timeline.TimelineEntry]:
    return [e for e in timeline.entries(session, inspection.id) if e.kind == kind]


def mark_done(session: Session, inspection: Inspection, key: str) -> None:
    task = by_key(session, inspection)[key]
    task.status, task.done_at, task.done_by = TaskStatus.done.value, CALL, "Tomasz Wójcik"
    session.add(task)
    session.commit()


# --- the task list ------------------------------------------------------------------------


def test_announce_creates_the_default_plan_in_order(session: Session, rules: Rules) -> None:
    staff(session)
    inspection = make_inspection(session, rules, notified_at=CALL)
    tasks = tasks_of(session, inspection)
    assert [(t.key, t.category, t.owner_role) for t in tasks] == SIF_PLAN
    assert [t.position for t in tasks] == list(range(len(SIF_PLAN)))
    assert {t.status for t in tasks} == {TaskStatus.to_do.value}
    assert not any(t.ad_hoc for t in tasks)
    assert all(t.created_by == ACTOR for t in tasks)
    found = {t.key: t for t in tasks}
    assert found["setup_meeting"].depends_on == [
        "performance_summary",
        "serious_incidents",
        "out_of_area_visits",
    ]
    assert found["audit_findings_report"].depends_on == ["audit_re_audit"]
    assert found["base_room"].due_rule == "notified_at + 2 hours"
    assert found["base_room"].reminder_rule == "30 minutes before"
    announced = entries(session, inspection, "announced")[0]
    assert announced.data["tasks"] == len(SIF_PLAN)
    assert announced.data["unmapped_roles"] == []


def test_due_times_of_the_default_plan_in_london_time(session: Session, rules: Rules) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    found = by_key(session, inspection)
    assert {key: found[key].due_at for key in SIF_DUE} == SIF_DUE
    # Everything else is timed too, except what waits for the published report.
    untimed = sorted(key for key, task in found.items() if task.due_at is None)
    assert untimed == ["action_plan_to_scrutiny", "action_statement_draft", "lessons_learned"]
    for task in found.values():
        if task.due_at is not None:
            assert task.due_at.utcoffset() is not None and not task.due_at.utcoffset()


def test_the_ilacs_plans_start_with_their_frameworks(session: Session, rules: Rules) -> None:
    # ILACS standard, call Mon 2 March 2026: notification week 2-6 March, on site 9-20 March.
    standard = make_inspection(
        session, rules, notified_at=london(2026, 3, 2, 9, 30), framework="ilacs-standard"
    )
    found = by_key(session, standard)
    assert len(found) == len(rules.plans.get("ilacs-standard").tasks)  # type: ignore[union-attr]
    assert found["annex_a_data"].due_at == london(2026, 3, 4, 9)  # day0 + 2 working days 09:00
    assert found["case_tracking"].due_at == london(2026, 3, 6, 17)  # lead_up.end 17:00
    assert found["setup_meeting"].due_at == london(2026, 3, 9, 8, 30)
    assert found["midpoint_review"].due_at == london(2026, 3, 13, 15)  # onsite1.end 15:00
    assert found["feedback_meeting"].due_at == london(2026, 3, 20, 17)
    assert not [t for t in found.values() if t.category == "audit"]

    short = make_inspection(
        session,
        rules,
        notified_at=london(2026, 3, 2, 9, 30),
        framework="ilacs-short",
        drill=True,
    )
    found = by_key(session, short)
    assert "midpoint_review" not in found
    assert found["feedback_meeting"].due_at == london(2026, 3, 13, 17)


# --- owners -------------------------------------------------------------------------------


def test_each_task_is_owned_by_the_person_holding_its_role(session: Session, rules: Rules) -> None:
    mapped = staff(session)
    inspection = make_inspection(session, rules, notified_at=CALL)
    for task in tasks_of(session, inspection):
        assert task.owner_role is not None
        assert (task.owner_contact_id, task.owner_source) == (
            mapped[task.owner_role],
            OwnerSource.role.value,
        ), task.key


def test_an_inactive_role_holder_hands_their_tasks_to_their_deputy(
    session: Session, rules: Rules
) -> None:
    make_contact(session, "sg-lead", "Harriet Oyelaran")
    make_contact(session, "logistics-deputy", "Nia Roberts", reports_to="sg-lead")
    make_contact(session, "logistics", "Tomasz Wójcik", deputy="logistics-deputy", active=False)
    assign(session, "steering_group_lead", "sg-lead")
    assign(session, "logistics_lead", "logistics")
    session.commit()
    inspection = make_inspection(session, rules, notified_at=CALL)
    logistics = [t for t in tasks_of(session, inspection) if t.owner_role == "logistics_lead"]
    assert [t.key for t in logistics] == [
        "base_room",
        "car_parking_passes",
        "daily_arrangements",
        "full_team_arrangements",
    ]
    for task in logistics:
        assert (task.owner_contact_id, task.owner_source) == (
            "logistics-deputy",
            OwnerSource.deputy.value,
        )
    unmapped = entries(session, inspection, "announced")[0].data["unmapped_roles"]
    assert "logistics_lead" not in unmapped and "steering_group_lead" not in unmapped


def test_an_unmapped_role_falls_to_the_steering_group_lead_and_is_listed(
    session: Session, rules: Rules
) -> None:
    mapped = staff(session, [r for r in PEOPLE if r not in ("it_lead", "audit_lead")])
    inspection = make_inspection(session, rules, notified_at=CALL)
    for task in tasks_of(session, inspection):
        if task.owner_role in ("it_lead", "audit_lead"):
            expected = ("sg-lead", OwnerSource.steering_group_lead.value)
        else:
            assert task.owner_role is not None
            expected = (mapped[task.owner_role], OwnerSource.role.value)
        assert (task.owner_contact_id, task.owner_source) == expected, task.key
    announced = entries(session, inspection, "announced")[0]
    assert announced.data["unmapped_roles"] == ["audit_lead", "it_lead"]


def test_with_nobody_mapped_the_first_of_the_steering_group_holds_the_plan(
    session: Session, rules: Rules
) -> None:
    make_contact(session, "b-chair", "Olumide Bakare")
    make_contact(session, "a-officer", "Rhiannon Vaughan", reports_to="b-chair")
    make_contact(session, "a-gone", "Dariusz Kowalczyk", active=False)
    make_contact(session, "c-director", "Imogen Fairbairn")
    session.commit()
    inspection = make_inspection(session, rules, notified_at=CALL)
    tasks = tasks_of(session, inspection)
    assert {(t.owner_contact_id, t.owner_source) for t in tasks} == {
        ("b-chair", OwnerSource.steering_group_lead.value)
    }
    assert entries(session, inspection, "announced")[0].data["unmapped_roles"] == ROLES


def test_with_no_contacts_at_all_every_task_is_kept_unassigned(
    session: Session, rules: Rules
) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    tasks = tasks_of(session, inspection)
    assert len(tasks) == len(SIF_PLAN)
    assert {(t.owner_contact_id, t.owner_source) for t in tasks} == {
        (None, OwnerSource.unassigned.value)
    }
    assert entries(session, inspection, "announced")[0].data["unmapped_roles"] == ROLES


# --- following the timetable --------------------------------------------------------------


def test_moving_the_first_day_moves_open_tasks_but_not_done_ones(
    session: Session, rules: Rules
) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    mark_done(session, inspection, "case_system_access")
    before = {key: task.due_at for key, task in by_key(session, inspection).items()}
    inspection_flows.override_day(
        session,
        rules=rules,
        inspection_id=inspection.id,
        day=date(2026, 3, 4),
        on_site=False,
        actor="Tomasz Wójcik",
        now=london(2026, 3, 3, 11),
    )
    session.commit()
    after = by_key(session, inspection)
    # On site from Thu 5 March now.
    assert after["setup_meeting"].due_at == london(2026, 3, 5, 8, 30)
    assert after["evidence_library"].due_at == london(2026, 3, 5, 8, 30)
    assert after["daily_arrangements"].due_at == london(2026, 3, 5, 8)
    assert after["daily_catch_up"].due_at == london(2026, 3, 5, 17)
    assert after["families_briefing"].due_at == london(2026, 3, 5, 17)
    assert after["observation_schedule"].due_at == london(2026, 3, 5, 8, 30)
    assert after["interviews_focus_groups"].due_at == london(2026, 3, 6, 12)
    assert after["members_meeting"].due_at == london(2026, 3, 9, 17)
    assert after["case_system_access"].due_at == london(2026, 3, 4, 12)  # done: stays
    moved = {"setup_meeting", "evidence_library", "daily_arrangements", "daily_catch_up"}
    moved |= {"families_briefing", "observation_schedule", "interviews_focus_groups"}
    moved |= {"members_meeting", "lscb_chair_meeting"}
    for key, task in after.items():
        assert (task.due_at == before[key]) is (key not in moved), key
    retimed = entries(session, inspection, "tasks_retimed")
    assert len(retimed) == 1
    assert set(retimed[0].data["tasks"]) == moved
    assert retimed[0].data["tasks"]["setup_meeting"] == {
        "from": london(2026, 3, 4, 8, 30).isoformat(),
        "to": london(2026, 3, 5, 8, 30).isoformat(),
    }
    assert retimed[0].actor == "Tomasz Wójcik"
    assert "9 tasks moved" in retimed[0].summary


def test_the_published_report_times_the_tasks_that_wait_for_it(
    session: Session, rules: Rules
) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    mark_done(session, inspection, "action_statement_approve")
    inspection_flows.record_milestone(
        session,
        rules=rules,
        inspection_id=inspection.id,
        key=Milestone.report_published,
        day=date(2026, 5, 7),
        actor=ACTOR,
        now=london(2026, 5, 8, 10),
    )
    session.commit()
    found = by_key(session, inspection)
    # Thu 7 May + 10 working days: Thu 21 May; + 40, skipping Mon 25 May: Fri 3 July.
    assert found["lessons_learned"].due_at == london(2026, 5, 21, 17)
    assert found["action_statement_draft"].due_at == london(2026, 7, 3, 17)
    # The statement is now due 70 working days after 7 May: Fri 14 August.
    assert found["action_statement_publish"].due_at == london(2026, 8, 14, 12)
    assert found["action_statement_approve"].due_at == london(2026, 8, 4, 17)  # done: stays
    assert found["factual_accuracy"].due_at == SIF_DUE["factual_accuracy"]
    retimed = entries(session, inspection, "tasks_retimed")
    assert len(retimed) == 1
    changes = retimed[0].data["tasks"]
    assert set(changes) == {
        "lessons_learned",
        "action_statement_draft",
        "action_statement_publish",
        "action_plan_to_scrutiny",
    }
    assert changes["lessons_learned"] == {
        "from": None,
        "to": london(2026, 5, 21, 17).isoformat(),
    }


def test_a_change_that_moves_no_task_logs_nothing(session: Session, rules: Rules) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL)
    inspection_flows.override_day(
        session,
        rules=rules,
        inspection_id=inspection.id,
        day=date(2026, 3, 19),  # already on site (week 3): nothing changes
        on_site=True,
        actor=ACTOR,
        now=london(2026, 3, 3, 11),
    )
    session.commit()
    assert entries(session, inspection, "tasks_retimed") == []


# --- the owners' announcement -------------------------------------------------------------


def _email_body(engine: Engine, inspection_id: uuid.UUID, contact_id: str) -> str:
    found = [
        m
        for m in read_messages(engine, inspection_id)
        if m.contact_id == contact_id and m.medium == "email"
    ]
    assert len(found) == 1, [m.purpose for m in found]
    return found[0].body


@pytest.mark.parametrize("drill", [False, True])
def test_owners_announcement_lists_their_tasks_soonest_first(
    session: Session, rules: Rules, engine: Engine, drill: bool
) -> None:
    staff(session)
    inspection = make_inspection(session, rules, notified_at=CALL, drill=drill)
    body = _email_body(engine, inspection.id, "logistics")
    lines = [
        "• Book the base room for the inspectors, by Tuesday 3 March 2026, 12:15",
        "• Car parking and building passes for the inspectors, by Tuesday 3 March 2026, 17:00",
        "• Daily arrangements for the on-site weeks, by Wednesday 4 March 2026, 08:00",
        "• Office space, IT and parking for the full team in week 3, "
        "by Wednesday 11 March 2026, 17:00",
    ]
    positions = [body.find(line) for line in lines]
    assert all(p >= 0 for p in positions), body
    assert positions == sorted(positions)
    assert "Annex A" not in body  # someone else's task
    data = _email_body(engine, inspection.id, "data")
    assert "• Produce the Annex A data, by Tuesday 3 March 2026, 16:15" in data
    assert "Book the base room" not in data
    heads = _email_body(engine, inspection.id, "hos")
    assert "• Draft the written statement of action, by when it can be timed" in heads
