"""Three replicas on one PostgreSQL database: exactly one leads the scheduler; when the leader's
lock connection is ended, or the leader loses its database while staying alive, or it is
SIGKILLed, another takes over within TAKEOVER_SECONDS; and every reminder made due fires exactly
once, by whichever replica led at the time, however leadership moved."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from service.db import make_engine, utcnow
from service.inspections import reminders
from service.scheduler.core import LEADER_LOCK_KEY
from service.scheduler.due import DueJob, DueStatus
from tests.faults.pg_link import (
    Link,
    lock_holders,
    server_address,
    terminate,
    terminate_sessions_of,
)
from tests.processes import (
    Server,
    create_api_key,
    fresh_postgres_database,
    poll,
    run_cli,
    server_env,
    servers,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

TICK_SECONDS = 0.2
WAIT_SECONDS = 20  # generous, for a busy machine; a healthy run takes well under a second
TAKEOVER_SECONDS = 30
"""The issue's bound for another replica to lead after the leader is gone or cut off."""
NAMES = ("one", "two", "three")


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


class Replica:
    """One `serve` process whose every database connection goes through a link of its own, its
    sessions named after it (`application_name`), so the test can end them or cut it off."""

    def __init__(self, name: str, database_url: str, tmp_path: Path):
        self.name = name
        self.app = f"iw-{name}"
        self.link = Link(server_address(database_url))
        env = server_env(self.link.url(database_url, self.app), scheduler_tick_seconds=TICK_SECONDS)
        self.server = Server(env, tmp_path, name=name)

    def __repr__(self) -> str:
        return self.name

    def alive(self) -> bool:
        return self.server.process is not None and self.server.process.poll() is None


def lead_states(replicas: list[Replica]) -> dict[str, bool] | None:
    """Whether each live replica says it leads, once each has ticked."""
    states = {r.name: r.server.ready()["scheduler"] for r in replicas if r.alive()}
    if any(state["last_tick_at"] is None for state in states.values()):
        return None
    return {name: bool(state["leader"]) for name, state in states.items()}


def sole_leader(replicas: list[Replica], engine: sa.Engine) -> Replica | None:
    """The one replica that both says it leads and holds the lock on the server, if exactly one
    does; None while leadership is moving."""
    states = lead_states(replicas)
    if states is None:
        return None
    saying = [r for r in replicas if states.get(r.name)]
    holding = [name for _, name in lock_holders(engine, LEADER_LOCK_KEY)]
    if len(saying) != 1 or holding != [saying[0].app]:
        return None
    return saying[0]


def fire(url: str, job_ids: list[int], by: Replica) -> None:
    """Make `job_ids` due now and wait until each has run; each ran once, by `by`."""
    make_due_now(url, job_ids)
    poll(
        lambda: all(rows(url)[job_id].status == DueStatus.done for job_id in job_ids),
        timeout=WAIT_SECONDS,
        what=f"reminders {job_ids} ran",
    )
    for job_id in job_ids:
        row = rows(url)[job_id]
        assert (row.attempts, row.worker, row.outcome) == (1, by.server.worker, "reminded"), (
            f"reminder {job_id}: {row.attempts} attempts by {row.worker} ({row.outcome}); "
            f"expected one by {by}"
        )


def test_one_of_three_leads_and_leadership_moves_on_every_fault_without_a_double(
    shared_database_url: str, tmp_path: Path
) -> None:
    url = shared_database_url
    headers = {"Authorization": f"Bearer {create_api_key(server_env(url), tmp_path)}"}
    engine = make_engine(url)
    replicas = [Replica(name, url, tmp_path) for name in NAMES]
    try:
        with servers() as started:
            started += [r.server for r in replicas]
            for replica in replicas:
                replica.server.launch()
            for replica in replicas:
                replica.server.wait_until_up()

            leader = poll(
                lambda: sole_leader(replicas, engine), timeout=WAIT_SECONDS, what="one leads"
            )
            for replica in replicas:
                replica.server.wait_for_ticks(5, TICK_SECONDS)
            assert sole_leader(replicas, engine) is leader, "leadership flapped while all lived"

            response = leader.server.http.post(
                "/api/v1/inspections",
                json={"notified_at": utcnow().isoformat(), "lead_inspector": "Tomasz Wójcik"},
                headers=headers,
            )
            assert response.status_code == 201, response.text
            inspection_id = response.json()["id"]
            pending = [row.id for row in rows(url).values() if row.status == DueStatus.pending]
            assert len(pending) >= 8
            batches = [pending[0:2], pending[2:4], pending[4:6], pending[6:8]]
            fired: list[int] = []

            # 0. All well: the leader runs what is due, once.
            fire(url, batches[0], by=leader)
            fired += batches[0]

            # 1. The leader's lock connection is ended by the server: whoever leads next (it
            # may be the same replica, on a new connection) holds the lock, and only it runs.
            [(pid, app)] = lock_holders(engine, LEADER_LOCK_KEY)
            assert app == leader.app
            assert terminate(engine, pid) == 1
            poll(
                lambda: "leader_connection_lost" in leader.server.log(),
                timeout=WAIT_SECONDS,
                what=f"{leader} noticed its lock connection ended",
            )
            leader = poll(
                lambda: sole_leader(replicas, engine),
                timeout=TAKEOVER_SECONDS,
                what="one leads again after its lock connection was ended",
            )
            fire(url, batches[1], by=leader)
            fired += batches[1]

            # 2. The leader loses its database and stays alive: it must stop leading and
            # firing, and another replica lead within TAKEOVER_SECONDS.
            cut_off = leader
            cut_off.link.cut()
            terminate_sessions_of(engine, cut_off.app)  # in case the server has not noticed
            leader = poll(
                lambda: (found := sole_leader(replicas, engine)) is not cut_off and found,
                timeout=TAKEOVER_SECONDS,
                what=f"another replica leads once {cut_off} lost its database",
            )
            assert cut_off.alive()
            assert cut_off.server.ready()["scheduler"]["last_error"] == "database"
            fire(url, batches[2], by=leader)
            fired += batches[2]
            cut_off.server.wait_for_ticks(5, TICK_SECONDS)
            assert cut_off.server.ready()["scheduler"]["leader"] is False

            # Its database back, it follows: the lock is taken.
            cut_off.link.mend()
            poll(
                lambda: cut_off.server.ready()["database"] == "ok",
                timeout=WAIT_SECONDS,
                what=f"{cut_off} reached its database again",
            )
            cut_off.server.wait_for_ticks(5, TICK_SECONDS)
            assert sole_leader(replicas, engine) is leader

            # 3. SIGKILL the leader: one of the other two takes over within TAKEOVER_SECONDS.
            leader.server.stop(signal.SIGKILL)
            killed = leader
            leader = poll(
                lambda: sole_leader(replicas, engine),
                timeout=TAKEOVER_SECONDS,
                what=f"a survivor leads once {killed} was SIGKILLed",
            )
            assert leader is not killed
            fire(url, batches[3], by=leader)
            fired += batches[3]

            # Every reminder made due fired once (one timeline entry each); nothing else fired.
            for replica in replicas:
                if replica.alive():
                    replica.server.wait_for_ticks(5, TICK_SECONDS)
            assert reminder_job_ids(leader.server, inspection_id, headers) == sorted(fired)
            untouched = [r for r in rows(url).values() if r.id not in fired]
            assert {r.status for r in untouched} == {DueStatus.pending}
            assert all(r.attempts == 0 for r in untouched)
            leader.server.stop(signal.SIGTERM)
            assert "scheduler_stopped" in leader.server.log()
    finally:
        engine.dispose()
        for replica in replicas:
            replica.link.close()


def test_a_frozen_leader_loses_the_lead_and_follows_when_it_wakes(
    shared_database_url: str, tmp_path: Path
) -> None:
    """SIGSTOP: the leader stops answering yet its process and sockets live on, so the server
    never sees its connection close. It must still lose the lead (the server ends its idle lock
    session) and another replica lead within TAKEOVER_SECONDS; woken, it follows."""
    url = shared_database_url
    engine = make_engine(url)
    replicas = [Replica(name, url, tmp_path) for name in NAMES[:2]]
    try:
        with servers() as started:
            started += [r.server for r in replicas]
            for replica in replicas:
                replica.server.launch()
            for replica in replicas:
                replica.server.wait_until_up()
            frozen = poll(
                lambda: sole_leader(replicas, engine), timeout=WAIT_SECONDS, what="one leads"
            )
            other = next(r for r in replicas if r is not frozen)
            pending = [row.id for row in rows(url).values() if row.status == DueStatus.pending]
            assert pending == []  # no inspection yet: every row below is made here

            frozen.server.process.send_signal(signal.SIGSTOP)  # type: ignore[union-attr]
            try:
                poll(
                    lambda: (
                        other.server.ready()["scheduler"]["leader"]
                        and [name for _, name in lock_holders(engine, LEADER_LOCK_KEY)]
                        == [other.app]
                    ),
                    timeout=TAKEOVER_SECONDS,
                    what=f"{other} leads while {frozen} is frozen",
                )
            finally:
                frozen.server.process.send_signal(signal.SIGCONT)  # type: ignore[union-attr]
            poll(
                lambda: sole_leader(replicas, engine) is other,
                timeout=WAIT_SECONDS,
                what=f"{frozen}, woken, follows",
            )
            frozen.server.wait_for_ticks(5, TICK_SECONDS)
            assert sole_leader(replicas, engine) is other
            assert "leader_connection_lost" in frozen.server.log()
    finally:
        engine.dispose()
        for replica in replicas:
            replica.link.close()
