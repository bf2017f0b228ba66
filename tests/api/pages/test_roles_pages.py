"""The roles page: a role is mapped to a person (refused for an inactive one, writing nothing)
and its tasks follow them; unmapping gives them back to the lead."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.plan.models import RoleAssignment, Task
from tests.api.pages.helpers import error_summary, post_form, signed_in_as

pytestmark = pytest.mark.sqlite_only


def test_roles_are_mapped_and_unmapped(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    signed_in_as(client, engine, "coordinator")
    assert "Logistics lead" in client.get("/roles").text
    reply = post_form(client, "/roles/logistics_lead", {"contact_id": ""}, page="/roles")
    assert reply.status_code == 422
    assert error_summary(reply.text) == [("#contact-logistics_lead", "Select who holds this role")]
    reply = post_form(client, "/roles/logistics_lead", {"contact_id": "gone"}, page="/roles")
    assert reply.status_code == 422
    with Session(engine) as session:
        assert session.get(RoleAssignment, "logistics_lead") is None
    reply = post_form(client, "/roles/logistics_lead", {"contact_id": "twojcik"}, page="/roles")
    assert reply.status_code == 303
    with Session(engine) as session:
        assert session.get(RoleAssignment, "logistics_lead").contact_id == "twojcik"  # type: ignore[union-attr]
        moved = session.exec(
            select(Task).where(
                Task.inspection_id == inspection_id, Task.owner_role == "logistics_lead"
            )
        ).all()
        assert moved and all(task.owner_contact_id == "twojcik" for task in moved)
    assert "Logistics lead is now Tomasz Wójcik" in client.get("/roles").text
    reply = post_form(client, "/roles/logistics_lead/unmap", page="/roles")
    assert reply.status_code == 303
    with Session(engine) as session:
        assert session.get(RoleAssignment, "logistics_lead") is None
