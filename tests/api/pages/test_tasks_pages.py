"""The task pages: mark done, status, owner, comments, ad-hoc tasks, filters. Refused forms show
GOV.UK errors at the field and write nothing; a viewer reads but is shown no buttons."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from service.plan.models import Task, TaskComment
from service.rules import Rules
from service.timeline import TimelineEntry
from tests.api.pages.helpers import error_summary, post_form, signed_in_as
from tests.builders import london, make_inspection

pytestmark = pytest.mark.sqlite_only


def first_open_task(engine: Engine, inspection_id: uuid.UUID) -> Task:
    with Session(engine, expire_on_commit=False) as session:
        task = session.exec(
            select(Task)
            .where(Task.inspection_id == inspection_id, Task.status == "to_do")
            .order_by(Task.position)
        ).first()
        assert task is not None
        return task


def stored_task(engine: Engine, task_id: uuid.UUID) -> Task:
    with Session(engine, expire_on_commit=False) as session:
        task = session.get(Task, task_id)
        assert task is not None
        return task


def timeline_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(TimelineEntry)).one()


def test_plan_goes_to_the_roles_without_an_inspection_then_to_its_tasks(
    client: TestClient, engine: Engine, rules: Rules
) -> None:
    signed_in_as(client, engine, "viewer")
    reply = client.get("/plan", follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"] == "/roles"
    with Session(engine, expire_on_commit=False) as session:
        inspection = make_inspection(session, rules, notified_at=london(2026, 11, 17))
    reply = client.get("/plan", follow_redirects=False)
    assert reply.headers["location"] == f"/inspections/{inspection.id}/tasks"


def test_a_coordinator_marks_a_task_done(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    signed_in_as(client, engine, "coordinator")
    page = client.get(f"/inspections/{inspection_id}/tasks")
    assert page.status_code == 200
    assert page.text.count('<h1 class="govuk-heading-l">') == 1
    task = first_open_task(engine, inspection_id)
    assert f'id="done-{task.id}"' in page.text and "Harriet Oyelaran" in page.text
    reply = post_form(client, f"/inspections/{inspection_id}/tasks/{task.id}/done", page="/roles")
    assert reply.status_code == 303
    done = stored_task(engine, task.id)
    assert done.status == "done" and done.done_by == "user:coordinator-user"
    after = client.get(reply.headers["location"])
    assert f"‘{task.title}’ is done" in after.text
    assert f'id="done-{task.id}"' not in after.text


def test_blocked_needs_a_reason_and_nothing_is_written(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    signed_in_as(client, engine, "coordinator")
    task = first_open_task(engine, inspection_id)
    path = f"/inspections/{inspection_id}/tasks/{task.id}"
    before = timeline_count(engine)
    reply = post_form(client, f"{path}/status", {"status": "blocked"}, page=path)
    assert reply.status_code == 422
    assert [href for href, _ in error_summary(reply.text)] == ["#blocked-reason"]
    assert 'id="blocked-reason-error"' in reply.text
    assert stored_task(engine, task.id).status == "to_do"
    assert timeline_count(engine) == before
    reply = post_form(
        client,
        f"{path}/status",
        {"status": "blocked", "blocked_reason": "Waiting for the room booking"},
        page=path,
    )
    assert reply.status_code == 303
    blocked = stored_task(engine, task.id)
    assert (blocked.status, blocked.blocked_reason) == ("blocked", "Waiting for the room booking")


def test_reassign_refuses_an_inactive_person_and_comments_need_text(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    signed_in_as(client, engine, "coordinator")
    task = first_open_task(engine, inspection_id)
    path = f"/inspections/{inspection_id}/tasks/{task.id}"
    reply = post_form(client, f"{path}/owner", {"owner_contact_id": "gone"}, page=path)
    assert reply.status_code == 422
    assert error_summary(reply.text)[0][0] == "#owner-contact-id"
    assert "inactive" in error_summary(reply.text)[0][1]
    assert stored_task(engine, task.id).owner_contact_id == task.owner_contact_id
    reply = post_form(client, f"{path}/owner", {"owner_contact_id": "twojcik"}, page=path)
    assert reply.status_code == 303
    moved = stored_task(engine, task.id)
    assert (moved.owner_contact_id, moved.owner_source) == ("twojcik", "reassigned")

    reply = post_form(client, f"{path}/comments", {"text": "   "}, page=path)
    assert reply.status_code == 422 and error_summary(reply.text) == [
        ("#comment-text", "Enter your comment")
    ]
    reply = post_form(client, f"{path}/comments", {"text": "Room 4 is booked"}, page=path)
    assert reply.status_code == 303
    assert "Room 4 is booked" in client.get(path).text
    with Session(engine) as session:
        assert len(session.exec(select(TaskComment)).all()) == 1


def test_an_ad_hoc_task_is_added_and_a_bad_one_is_refused(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    signed_in_as(client, engine, "coordinator")
    path = f"/inspections/{inspection_id}/tasks"
    with Session(engine) as session:
        count = len(session.exec(select(Task)).all())
    reply = post_form(client, path, {"title": "", "category": "logistics"}, page=path)
    assert reply.status_code == 422
    assert [href for href, _ in error_summary(reply.text)] == ["#new-title"]
    reply = post_form(
        client, path, {"title": "Order sandwiches", "category": "nonsense"}, page=path
    )
    assert reply.status_code == 422
    assert [href for href, _ in error_summary(reply.text)] == ["#new-category"]
    with Session(engine) as session:
        assert len(session.exec(select(Task)).all()) == count
    reply = post_form(
        client,
        path,
        {"title": "Order sandwiches", "category": "logistics", "owner_contact_id": "twojcik"},
        page=path,
    )
    assert reply.status_code == 303
    with Session(engine) as session:
        added = session.exec(select(Task).where(Task.title == "Order sandwiches")).one()
        assert added.ad_hoc and added.owner_contact_id == "twojcik"


def test_filters_narrow_the_list_and_a_bad_one_is_an_error(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    signed_in_as(client, engine, "viewer")
    path = f"/inspections/{inspection_id}/tasks"
    everything = client.get(path).text
    done_only = client.get(path, params={"status": "done"})
    assert done_only.status_code == 200
    assert done_only.text.count('data-status="') == 0 < everything.count('data-status="to_do"')
    wrong = client.get(path, params={"status": "finished"})
    assert wrong.status_code == 422
    assert [href for href, _ in error_summary(wrong.text)] == ["#filter-status"]


def test_a_viewer_reads_the_plan_but_sees_no_buttons(
    client: TestClient, engine: Engine, inspection_id: uuid.UUID
) -> None:
    signed_in_as(client, engine, "viewer")
    task = first_open_task(engine, inspection_id)
    tasks_page = client.get(f"/inspections/{inspection_id}/tasks").text
    assert task.title in tasks_page and "Mark done" not in tasks_page
    assert "Save the status" not in client.get(f"/inspections/{inspection_id}/tasks/{task.id}").text
    assert "Save<span" not in client.get("/roles").text
    assert client.get(f"/inspections/{inspection_id}/audit.csv").status_code == 403
    assert client.get(f"/inspections/{uuid.uuid4()}/tasks").status_code == 404
    assert client.get("/inspections/not-a-uuid/audit").status_code == 404
