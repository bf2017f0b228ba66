"""The case audit pages: references in, names refused at their line, each case's steps in
order, and the findings as CSV."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service.plan.models import AuditCase
from tests.api.pages.helpers import error_summary, post_form, signed_in_as

pytestmark = pytest.mark.sqlite_only


def test_the_audit_takes_case_references_and_refuses_names(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    signed_in_as(client, engine, "coordinator")
    path = f"/inspections/{inspection_id}/audit"
    assert "0 of 18 cases entered" in client.get(path).text
    reply = post_form(
        client, f"{path}/cases", {"references": "CIN-004512\nAmelia Jones"}, page=path
    )
    assert reply.status_code == 422
    [(href, text)] = error_summary(reply.text)
    assert href == "#references" and "Line 2" in text and "person's name" in text
    with Session(engine) as session:
        assert session.exec(select(AuditCase)).all() == []
    reply = post_form(
        client,
        f"{path}/cases",
        {"references": "CIN-004512\nlac/2013/0042\n", "auditor_contact_id": "hoyelaran"},
        page=path,
    )
    assert reply.status_code == 303
    with Session(engine, expire_on_commit=False) as session:
        cases = {case.reference: case for case in session.exec(select(AuditCase)).all()}
    assert set(cases) == {"CIN-004512", "LAC/2013/0042"}
    case = cases["CIN-004512"]
    # Skipping a step is refused, at the case's status field.
    reply = post_form(
        client,
        f"{path}/cases/{case.id}",
        {"status": "re_audited", "auditor_contact_id": "hoyelaran"},
        page=path,
    )
    assert reply.status_code == 422
    assert error_summary(reply.text)[0][0] == f"#status-{case.id}"
    reply = post_form(
        client,
        f"{path}/cases/{case.id}",
        {"status": "audited", "auditor_contact_id": "hoyelaran"},
        page=path,
    )
    assert reply.status_code == 303
    page = client.get(path).text
    assert "2 of 18 cases entered" in page
    csv = client.get(f"{path}.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("reference,status") and len(lines) == 3
    assert any(line.startswith("CIN-004512,audited") for line in lines)
