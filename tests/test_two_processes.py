"""Two replicas on one PostgreSQL database: one leads the scheduler, reminders fire once, and
when the leader is killed the other takes over within seconds."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from service.db import make_engine, utcnow
from service.inspections import reminders
from service.scheduler.due import DueJob, DueStatus
from tests.processes import (
    Server,
    create_api_key,
    fresh_postgres_database,
    poll,
    run_cli,
    server_env,
    servers,
)

pytestmark = pytest.mark.slow

TICK_SECONDS = 0.2
WAIT_SECONDS = 20  # generous, for a busy machine; a healthy run takes well under a second


@pytest.fixture
def shared_database_url(postgres_url: str, tmp_path: Path) -> Iterator[str]:
    with fresh_postgres_database(postgres_url) as url:
        run_cli("migrate", env=server_env(url), cwd=tmp_path)
        yield url


def rows(database_url: str) -> dict[int, DueJob]:
    """Deadline reminder rows by id, soonest first."""
    engine = make_engine(database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            found = session.exec(
                select(DueJob)
                .where(DueJob.kind == reminders.KIND)
                .order_by(col(DueJob.due_at), col(DueJob.id))
            )
            return {row.id: row for row in found.all() if row.id is not None}
    finally:
        engine.dispose()


def make_due_now(database_url: str, job_ids: list[int]) -> None:
    """The one change made behind the service's back: bring reminders months ahead to now."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.update(DueJob).where(col(DueJob.id).in_(job_ids)).values(due_at=utcnow())
            )
    finally:
        engine.dispose()


def leaders(*replicas: Server) -> list[Server] | None:
    """The replicas reporting leadership, once every one of them has ticked."""
    states = [replica.ready()["scheduler"] for replica in replicas]
    if any(state["last_tick_at"] is None for state in states):
        return None
    return [replica for replica, state in zip(replicas, states, strict=True) if state["leader"]]


def reminder_job_ids(server: Server, inspection_id: str, headers: dict[str, str]) -> list[int]:
    response = server.http.get(f"/api/v1/inspections/{inspection_id}/timeline", headers=headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return sorted(item["data"]["job_id"] for item in items if item["kind"] == "deadline_reminder")


def test_one_replica_leads_reminders_fire_once_and_the_survivor_takes_over(
    shared_database_url: str, tmp_path: Path
) -> None:
    url = shared_database_url
    env = server_env(url, scheduler_tick_seconds=TICK_SECONDS)
    headers = {"Authorization": f"Bearer {create_api_key(env, tmp_path)}"}
    with servers() as started:
        one, two = Server(env, tmp_path, name="one"), Server(env, tmp_path, name="two")
        started += [one, two]
        for replica in (one.launch(), two.launch()):
            replica.wait_until_up()

        poll(lambda: leaders(one, two) is not None, timeout=WAIT_SECONDS, what="both ticked")
        current = leaders(one, two)
        assert current is not None and len(current) == 1, f"leaders: {current}"
        [leader] = current
        follower = two if leader is one else one
        follower.wait_for_ticks(5, TICK_SECONDS)
        assert leaders(one, two) == [leader], "leadership must not flap while the leader lives"

        response = follower.http.post(
            "/api/v1/inspections",
            json={"notified_at": utcnow().isoformat(), "lead_inspector": "Tomasz Wójcik"},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        inspection_id = response.json()["id"]
        pending = [row.id for row in rows(url).values() if row.status == DueStatus.pending]
        assert len(pending) >= 4
        first_batch, later = pending[:3], pending[3]

        make_due_now(url, first_batch)
        poll(
            lambda: all(rows(url)[job_id].status == DueStatus.done for job_id in first_batch),
            timeout=WAIT_SECONDS,
            what="the leader ran the reminders made due",
        )
        leader.wait_for_ticks(5, TICK_SECONDS)
        follower.wait_for_ticks(5, TICK_SECONDS)
        assert reminder_job_ids(follower, inspection_id, headers) == sorted(first_batch)
        for job_id in first_batch:
            row = rows(url)[job_id]
            assert (row.attempts, row.worker) == (1, leader.worker)

        leader.stop(signal.SIGKILL)
        make_due_now(url, [later])
        poll(
            lambda: follower.ready()["scheduler"]["leader"],
            timeout=WAIT_SECONDS,
            what="the surviving replica took over the lead",
        )
        poll(
            lambda: rows(url)[later].status == DueStatus.done,
            timeout=WAIT_SECONDS,
            what="the surviving replica ran the reminder made due after the kill",
        )
        follower.wait_for_ticks(5, TICK_SECONDS)
        assert reminder_job_ids(follower, inspection_id, headers) == sorted([*first_batch, later])
        row = rows(url)[later]
        assert (row.attempts, row.worker, row.outcome) == (1, follower.worker, "reminded")
        still_pending = [r for r in rows(url).values() if r.id not in {*first_batch, later}]
        assert {r.status for r in still_pending} == {DueStatus.pending}
        follower.stop(signal.SIGTERM)
        assert "scheduler_stopped" in follower.log()
