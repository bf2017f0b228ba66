"""A small sif-2013 plan and communication tree for the task and role tests (a council's
PLANS_DIR file replaces the shipped plan, so the tasks and times below are ours).

The call is on Tuesday 10 June 2025 at 10:00 (BST); inspectors are on site from Wednesday 11
June and week 2 starts on Monday 16 June. At lunchtime on the day of the call the base room and
the car parking are overdue."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session

from service.frameworks import Registry
from service.plan.definitions import PlanRegistry, load_file
from service.plan.models import RoleAssignment
from tests.api.payloads import announce_body
from tests.builders import ACTOR, london, make_contact

CALL = london(2025, 6, 10, 10, 0)
LUNCHTIME = london(2025, 6, 10, 13, 30)

PLAN = """\
framework: sif-2013
name: A small plan for the task tests
roles:
  - {key: steering_group_lead, label: Steering-group lead}
  - {key: logistics_lead, label: Logistics lead}
  - {key: it_lead, label: IT lead}
  - {key: performance_data_lead, label: Performance and data lead}
  - {key: communications_lead, label: Communications lead}
  - {key: audit_lead, label: Audit lead}
tasks:
  - key: book_base_room
    title: Book the base room
    description: A room for the inspection team from the first morning.
    category: logistics
    owner_role: logistics_lead
    due: notified_at + 2 hours
    reminder: 1 hour before
  - key: car_parking
    title: Car parking and passes
    category: logistics
    owner_role: logistics_lead
    due: notified_at + 3 hours
    reminder: 1 hour before
  - key: it_access
    title: IT equipment and network access for inspectors
    category: logistics
    owner_role: it_lead
    due: on_site_start 08:30
    reminder: 1 working day before
  - key: annex_a
    title: Produce the Annex A data
    category: data
    owner_role: performance_data_lead
    due: on_site_start 12:00
    reminder: 2 hours before
  - key: brief_members
    title: Brief elected members
    category: communications
    owner_role: communications_lead
    due: on_site_start 17:00
  - key: audit_prep
    title: Prepare the 18-case audit
    category: audit
    owner_role: audit_lead
    due: week2.start 09:00
    depends_on: [annex_a, it_access]
  - key: action_statement
    title: Publish the written statement of action
    category: after_the_inspection
    owner_role: steering_group_lead
    due: report_published + 10 working days
    reminder: 2 working days before
"""

DUE: dict[str, datetime | None] = {
    "book_base_room": london(2025, 6, 10, 12, 0),
    "car_parking": london(2025, 6, 10, 13, 0),
    "it_access": london(2025, 6, 11, 8, 30),
    "annex_a": london(2025, 6, 11, 12, 0),
    "brief_members": london(2025, 6, 11, 17, 0),
    "audit_prep": london(2025, 6, 16, 9, 0),
    "action_statement": None,
}
"""Each task's due time with the timetable as announced."""
ORDER_AT_LUNCHTIME = [
    "book_base_room",
    "car_parking",
    "it_access",
    "annex_a",
    "brief_members",
    "audit_prep",
    "action_statement",
]
"""Overdue first, then by due time, the untimed last."""

ROLES = {
    "steering_group_lead": "hoyelaran",
    "logistics_lead": "twojcik",
    "it_lead": "aokafor",
    "performance_data_lead": "praman",
}
"""audit_lead and communications_lead are held by nobody: their tasks go to the lead."""


def write_plan(folder: Path) -> Path:
    """The plan as `sif-2013.yaml` in `folder` (a PLANS_DIR); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sif-2013.yaml").write_text(PLAN, encoding="utf-8")
    return folder


def registry(folder: Path, frameworks: Registry) -> PlanRegistry:
    """Our plan alone (not the shipped plans of the other frameworks)."""
    plan = load_file(write_plan(folder) / "sif-2013.yaml", frameworks)
    return PlanRegistry({plan.framework: plan})


def make_tree(session: Session) -> None:
    """Harriet leads the steering group; everyone else reports to her; Siân has left."""
    make_contact(session, "hoyelaran", "Harriet Oyelaran")
    make_contact(session, "aokafor", "Amara Okafor", reports_to="hoyelaran")
    make_contact(session, "twojcik", "Tomasz Wójcik", reports_to="hoyelaran", deputy="aokafor")
    make_contact(session, "praman", "Priya Raman", reports_to="hoyelaran")
    make_contact(session, "sllewellyn", "Siân Llewellyn", reports_to="hoyelaran", active=False)


def map_roles(session: Session, roles: dict[str, str] | None = None) -> None:
    """Give roles to people (by default ROLES); the caller commits."""
    for role, contact_id in (ROLES if roles is None else roles).items():
        session.add(
            RoleAssignment(role=role, contact_id=contact_id, updated_at=CALL, updated_by=ACTOR)
        )
    session.flush()


def seed(session: Session) -> None:
    """The tree with every role of ROLES held, committed: where each plan test starts."""
    make_tree(session)
    map_roles(session)
    session.commit()


def announce_over_api(client: TestClient, session: Session, headers: dict[str, str]) -> str:
    """Seed, then announce the Tuesday call through the API; the inspection's URL."""
    seed(session)
    response = client.post("/api/v1/inspections", json=announce_body(), headers=headers)
    assert response.status_code == 201, response.text
    return f"/api/v1/inspections/{response.json()['id']}"
