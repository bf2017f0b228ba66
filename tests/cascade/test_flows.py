"""The ways in: a clicked link, an SMS reply, a closing window and a failed delivery, each applied
to the right person of the right inspection, and harmless when it no longer matters."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service import signed_links
from service.cascade import flows, progress
from service.cascade import service as cascade
from service.cascade.models import CascadeNode
from service.contacts.models import Contact
from service.db import urgent_writer, urgent_writer_waiting
from service.frameworks import Milestone
from service.inspections import flows as inspection_flows
from service.inspections.models import Inspection
from service.main import build_handlers
from service.notify.models import Message, MessageStatus, Purpose
from service.rules import Rules
from service.scheduler import due
from service.scheduler.due import DueJob, DueStatus, Handler, run_due
from service.signed_links import LinkExpired, LinkInvalid
from service.timeline import TimelineEntry
from tests.builders import (
    ACTOR,
    UNLISTED_MOBILE,
    london,
    make_contact,
    make_inspection,
    read_messages,
    read_nodes,
)
from tests.processes import poll

CALL = london(2025, 3, 4, 10)  # a Tuesday
ANNOUNCED = CALL + timedelta(minutes=2)


def minutes(n: float) -> datetime:
    return ANNOUNCED + timedelta(minutes=n)


@pytest.fixture
def inspection(session: Session, rules: Rules) -> Inspection:
    make_contact(session, "sg-lead", "Harriet Oyelaran")
    make_contact(session, "sg-dcs", "Tomasz Wójcik", deputy="sg-lead")
    make_contact(session, "team", "Priya Natarajan", reports_to="sg-dcs")
    session.commit()
    return make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)


def token_for(engine: Engine, inspection: Inspection, contact_id: str) -> str:
    node = read_nodes(engine, inspection.id)[contact_id]
    with Session(engine) as session:
        token = signed_links.ack_signer(session, now=ANNOUNCED).token_for(node.ack_code)
        session.commit()
    return token


def close(engine: Engine, rules: Rules, inspection: Inspection) -> None:
    with Session(engine) as session:
        inspection_flows.record_milestone(
            session,
            rules=rules,
            inspection_id=inspection.id,
            key=Milestone.closed,
            day=ANNOUNCED.date(),
            actor=ACTOR,
            now=minutes(1),
        )
        session.commit()


def test_opening_a_link_says_whose_it_is_and_records_nothing(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    token = token_for(engine, inspection, "sg-dcs")
    with Session(engine) as session:
        holder = flows.describe_link(session, token, rules=rules, now=minutes(1))
        session.commit()
    assert (holder.name, holder.inspection_id, holder.drill) == (
        "Tomasz Wójcik",
        inspection.id,
        False,
    )
    assert holder.acknowledged_at is None
    assert read_nodes(engine, inspection.id)["sg-dcs"].acknowledged_at is None


def test_a_link_acknowledges_its_holder_and_only_them(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    token = token_for(engine, inspection, "sg-dcs")
    with Session(engine) as session:
        holder = flows.acknowledge_link(session, token, rules=rules, now=minutes(4))
        session.commit()
    assert holder.acknowledged_at == minutes(4)
    nodes = read_nodes(engine, inspection.id)
    assert (nodes["sg-dcs"].acknowledged_at, nodes["sg-dcs"].acknowledged_via) == (
        minutes(4),
        "link",
    )
    assert nodes["sg-lead"].acknowledged_at is None
    assert nodes["team"].notified_at == minutes(4)


def test_a_mangled_or_forged_link_is_refused(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    token = token_for(engine, inspection, "sg-dcs")
    value, stamp, signature = token.split(".")
    for forged in (
        "not-a-token",
        token[:-3],  # truncated
        f"{value}.AAAAAA.{signature}",  # another time under the same signature
        signed_links.AckSigner("another service's key").token_for(signed_links.decode_code(value)),
    ):
        with Session(engine) as session, pytest.raises(LinkInvalid):
            flows.acknowledge_link(session, forged, rules=rules, now=minutes(4))
    assert read_nodes(engine, inspection.id)["sg-dcs"].acknowledged_at is None


def test_a_genuine_link_for_nobody_in_any_cascade_is_refused(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    with Session(engine) as session:
        token = signed_links.ack_signer(session, now=ANNOUNCED).token_for(424242)
        with pytest.raises(LinkInvalid):
            flows.describe_link(session, token, rules=rules, now=minutes(1))


def test_a_link_older_than_its_lifetime_has_expired(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    token = token_for(engine, inspection, "sg-dcs")
    lifetime = rules.messaging.ack_max_age_seconds
    later = datetime.now().astimezone() + timedelta(seconds=lifetime + 60)
    with time_machine.travel(later), Session(engine) as session, pytest.raises(LinkExpired):
        flows.acknowledge_link(session, token, rules=rules, now=minutes(4))
    assert read_nodes(engine, inspection.id)["sg-dcs"].acknowledged_at is None


def test_a_link_for_a_closed_inspection_records_nothing(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    token = token_for(engine, inspection, "sg-dcs")
    close(engine, rules, inspection)
    with Session(engine) as session:
        holder = flows.acknowledge_link(session, token, rules=rules, now=minutes(4))
        session.commit()
    assert (holder.closed, holder.acknowledged_at) == (True, None)
    assert read_nodes(engine, inspection.id)["sg-dcs"].acknowledged_at is None
    assert read_nodes(engine, inspection.id)["team"].notified_at is None


def reply(
    engine: Engine, rules: Rules, mobile: str, text: str, at: datetime, notify_id: str = ""
) -> flows.ReplyOutcome:
    with Session(engine) as session:
        outcome = flows.receive_sms_reply(
            session,
            notify_id=notify_id or str(uuid.uuid4()),
            mobile=mobile,
            text=text,
            rules=rules,
            now=at,
        )
        session.commit()
    return outcome


def mobile_of(engine: Engine, contact_id: str) -> str:
    return {m.contact_id: m.address for m in read_messages(engine) if m.medium == "sms"}[contact_id]


@pytest.mark.parametrize(
    "text", ["OK", " ok. ", "Yes", "y", "1", "ACK", "Received!", "r e c eived"]
)
def test_a_documented_word_acknowledges_the_sender_wherever_they_are_waiting(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection, text: str
) -> None:
    drill = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED, drill=True)
    mobile = mobile_of(engine, "sg-dcs")
    assert reply(engine, rules, mobile, text, minutes(3)).acknowledged == 2
    for acknowledged in (inspection, drill):
        node = read_nodes(engine, acknowledged.id)["sg-dcs"]
        assert (node.acknowledged_at, node.acknowledged_via) == (minutes(3), "sms reply")
    assert reply(engine, rules, mobile, text, minutes(5)).acknowledged == 0  # nobody waiting


def test_the_code_in_the_sms_acknowledges_only_its_own_cascade(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    drill = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED, drill=True)
    node = read_nodes(engine, drill.id)["sg-dcs"]
    code = cascade.reply_code(node)
    text = next(
        m.body
        for m in read_messages(engine, drill.id)
        if m.medium == "sms" and m.contact_id == "sg-dcs"
    )
    assert f"reply OK or {code}" in text
    assert (
        reply(engine, rules, mobile_of(engine, "sg-dcs"), f" {code} ", minutes(3)).acknowledged == 1
    )
    assert read_nodes(engine, drill.id)["sg-dcs"].acknowledged_at == minutes(3)
    assert read_nodes(engine, inspection.id)["sg-dcs"].acknowledged_at is None


def test_any_other_reply_is_kept_shown_answered_once_and_the_escalation_goes_on(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    mobile = mobile_of(engine, "sg-dcs")
    first = reply(engine, rules, mobile, "On leave till Monday", minutes(3), notify_id="n-1")
    assert (first.acknowledged, first.kept) == (0, 1)
    # Notify retries its callback: the same text again changes nothing
    assert (
        reply(engine, rules, mobile, "On leave till Monday", minutes(4), notify_id="n-1").kept == 0
    )
    reply(engine, rules, mobile, "OK got it, on my way", minutes(5))
    assert read_nodes(engine, inspection.id)["sg-dcs"].acknowledged_at is None
    answers = [m for m in read_messages(engine, inspection.id) if m.purpose == "reply_help"]
    assert [(m.contact_id, m.medium) for m in answers] == [("sg-dcs", "sms")]  # once
    assert "reply OK or" in answers[0].body
    with Session(engine) as session:
        shown = progress.replies(session, inspection.id, limit=10)
        said = [
            e.summary
            for e in session.exec(
                select(TimelineEntry).where(TimelineEntry.kind == "cascade_replied")
            ).all()
        ]
    assert [r.text for r in shown] == ["OK got it, on my way", "On leave till Monday"]
    assert said == [
        "Tomasz Wójcik replied: On leave till Monday",
        "Tomasz Wójcik replied: OK got it, on my way",
    ]
    run_due(engine, now=minutes(16), handlers=build_handlers(rules), worker="test")
    assert read_nodes(engine, inspection.id)["sg-dcs"].escalated_at == minutes(16)


def test_an_sms_reply_from_someone_not_yet_messaged_or_unknown_acknowledges_nothing(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    with Session(engine) as session:
        team_mobile = session.exec(select(Contact.mobile).where(Contact.id == "team")).one()
    assert team_mobile is not None
    assert reply(engine, rules, team_mobile, "OK", minutes(3)) == flows.ReplyOutcome(0, 0)
    assert reply(engine, rules, UNLISTED_MOBILE, "OK", minutes(3)) == flows.ReplyOutcome(0, 0)
    assert all(n.acknowledged_at is None for n in read_nodes(engine, inspection.id).values())


def test_a_window_of_a_closed_inspection_closes_without_escalating(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    close(engine, rules, inspection)
    before = len(read_messages(engine, inspection.id))
    run_due(engine, now=minutes(15), handlers=build_handlers(rules), worker="test")
    assert len(read_messages(engine, inspection.id)) == before
    assert all(n.escalated_at is None for n in read_nodes(engine, inspection.id).values())


def fail(
    engine: Engine, rules: Rules, inspection: Inspection, contact_id: str, medium: str, at: datetime
) -> None:
    """What the dispatcher does with a permanent failure: mark the row, then call the flow."""
    with Session(engine) as session:
        message = next(
            m
            for m in session.exec(
                select(Message).where(
                    Message.inspection_id == inspection.id,
                    Message.contact_id == contact_id,
                    Message.medium == medium,
                )
            ).all()
            if m.purpose in (Purpose.announcement, Purpose.drill)
        )
        message.status = MessageStatus.failed
        session.add(message)
        session.flush()
        flows.message_failed(session, message, "no such number", rules=rules, now=at)
        session.commit()


def escalations_about(engine: Engine, inspection: Inspection, name: str) -> set[tuple[str, str]]:
    return {
        (m.contact_id or "", m.medium)
        for m in read_messages(engine, inspection.id)
        if m.purpose == Purpose.escalation and name in m.body
    }


def test_when_nothing_else_can_reach_someone_a_failure_escalates_at_once(
    session: Session, engine: Engine, rules: Rules
) -> None:
    make_contact(session, "sg-lead", "Harriet Oyelaran")
    make_contact(
        session, "sg-dcs", "Tomasz Wójcik", deputy="sg-lead", email=None, channels=("sms",)
    )
    make_contact(session, "team", "Priya Natarajan", reports_to="sg-dcs")
    session.commit()
    inspection = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)

    fail(engine, rules, inspection, "sg-dcs", "sms", minutes(1))

    node = read_nodes(engine, inspection.id)["sg-dcs"]
    assert node.escalated_at == minutes(1)
    assert node.broken_reason == "could not be reached: no such number"
    assert escalations_about(engine, inspection, "Tomasz Wójcik") == {
        ("sg-lead", "email"),
        ("sg-lead", "sms"),
    }
    assert read_nodes(engine, inspection.id)["team"].notified_at == minutes(1)


def test_a_failure_on_one_channel_waits_for_the_other_and_escalates_when_both_fail(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    fail(engine, rules, inspection, "sg-dcs", "sms", minutes(1))
    node = read_nodes(engine, inspection.id)["sg-dcs"]
    assert node.escalated_at is None
    assert node.broken_reason == "sms could not be delivered: no such number"
    assert escalations_about(engine, inspection, "Tomasz Wójcik") == set()

    fail(engine, rules, inspection, "sg-dcs", "email", minutes(2))
    assert read_nodes(engine, inspection.id)["sg-dcs"].escalated_at == minutes(2)
    assert escalations_about(engine, inspection, "Tomasz Wójcik") == {
        ("sg-lead", "email"),
        ("sg-lead", "sms"),
    }


def test_a_failure_tries_the_spare_channel_and_escalates_when_that_fails_too(
    session: Session, engine: Engine, rules: Rules
) -> None:
    make_contact(session, "sg-lead", "Harriet Oyelaran")
    make_contact(session, "sg-dcs", "Tomasz Wójcik", deputy="sg-lead", channels=("sms",), window=0)
    session.commit()
    inspection = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)

    fail(engine, rules, inspection, "sg-dcs", "sms", minutes(1))
    spare = [m for m in read_messages(engine, inspection.id) if m.contact_id == "sg-dcs"]
    assert sorted((m.medium, m.created_at) for m in spare) == [
        ("email", minutes(1)),
        ("sms", ANNOUNCED),
    ]
    assert read_nodes(engine, inspection.id)["sg-dcs"].escalated_at is None

    fail(engine, rules, inspection, "sg-dcs", "email", minutes(2))
    assert read_nodes(engine, inspection.id)["sg-dcs"].escalated_at == minutes(2)
    assert escalations_about(engine, inspection, "Tomasz Wójcik") == {
        ("sg-lead", "email"),
        ("sg-lead", "sms"),
    }


def test_a_failure_after_the_person_acknowledged_changes_nothing(
    engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    with Session(engine) as session:
        fresh = session.get(Inspection, inspection.id)
        node = cascade.node_for(session, inspection.id, "sg-lead")
        assert fresh is not None and node is not None
        cascade.acknowledge(
            flows.open_run(session, fresh, rules=rules, now=minutes(1)), node, via="link"
        )
        session.commit()
    before = len(read_messages(engine, inspection.id))
    fail(engine, rules, inspection, "sg-lead", "sms", minutes(2))
    node = read_nodes(engine, inspection.id)["sg-lead"]
    assert (node.escalated_at, node.broken_reason) == (None, None)
    assert len(read_messages(engine, inspection.id)) == before


def make_fan_out(session: Session) -> int:
    """Everyone's window 0: a lead, three heads of service, two managers under each and two
    staff under each manager (22 people, 10 groups to release)."""
    make_contact(session, "lead", "Marguerite Okafor", window=0)
    people = 1
    for h in range(3):
        make_contact(session, f"head-{h}", f"Head Number{h}", reports_to="lead", window=0)
        people += 1
        for m in range(2):
            manager = f"manager-{h}-{m}"
            make_contact(
                session, manager, f"Manager Number{h}{m}", reports_to=f"head-{h}", window=0
            )
            people += 1
            for s in range(2):
                make_contact(
                    session,
                    f"staff-{h}-{m}-{s}",
                    f"Staff Number{h}{m}{s}",
                    reports_to=manager,
                    window=0,
                )
                people += 1
    session.commit()
    return people


def release_rows(engine: Engine, inspection_id: uuid.UUID) -> list[DueJob]:
    with Session(engine, expire_on_commit=False) as session:
        return list(
            session.exec(
                select(DueJob).where(
                    DueJob.inspection_id == inspection_id, DueJob.kind == cascade.RELEASE_KIND
                )
            ).all()
        )


def release_the_rest_each_group_once(
    engine: Engine, handlers: dict[str, Handler], inspection_id: uuid.UUID, people: int
) -> None:
    """Run the ticks until nothing is due: every release row done at its first attempt, and
    everyone messaged once by e-mail and SMS."""
    while run_due(engine, now=ANNOUNCED, handlers=handlers, worker="t").done:
        pass
    assert {(r.status, r.attempts) for r in release_rows(engine, inspection_id)} == {
        (DueStatus.done, 1)
    }
    sent = [(m.contact_id, m.medium, m.purpose) for m in read_messages(engine, inspection_id)]
    assert len(sent) == len(set(sent)) == 2 * people


def test_a_zero_window_tree_is_released_in_one_transaction_each_group_once(
    session: Session, engine: Engine, rules: Rules
) -> None:
    people = make_fan_out(session)
    inspection = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)
    result = run_due(engine, now=ANNOUNCED, handlers=build_handlers(rules), worker="t", limit=1)
    rows = release_rows(engine, inspection.id)
    assert len(rows) == 10  # the lead, three heads and six managers: one row per group
    assert {(row.status, row.attempts) for row in rows} == {(DueStatus.done, 1)}
    assert result.done == 10
    assert all(node.notified_at is not None for node in read_nodes(engine, inspection.id).values())
    sent = [(m.contact_id, m.medium, m.purpose) for m in read_messages(engine, inspection.id)]
    assert len(sent) == len(set(sent)) == 2 * people  # e-mail and SMS each, nobody twice


def test_a_release_row_naming_nobody_is_skipped_alone_and_its_batch_goes_on(
    session: Session, engine: Engine, rules: Rules
) -> None:
    people = make_fan_out(session)
    inspection = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)
    with Session(engine) as writer:  # after the lead's row, so claimed into its batch
        due.add(
            writer,
            [
                due.new_row(
                    kind=cascade.RELEASE_KIND,
                    dedupe_key=f"{inspection.id}:release:nobody",
                    inspection_id=inspection.id,
                    due_at=ANNOUNCED,
                    payload={},
                    now=ANNOUNCED,
                )
            ],
        )
        writer.commit()
    result = run_due(engine, now=ANNOUNCED, handlers=build_handlers(rules), worker="t", limit=1)
    rows = {row.dedupe_key.rsplit(":", 1)[1]: row for row in release_rows(engine, inspection.id)}
    assert (rows["nobody"].status, rows["nobody"].outcome) == (DueStatus.done, flows.NO_SUCH_PERSON)
    assert {(row.status, row.attempts) for row in rows.values()} == {(DueStatus.done, 1)}
    assert result.done == 11
    sent = [(m.contact_id, m.medium, m.purpose) for m in read_messages(engine, inspection.id)]
    assert len(sent) == len(set(sent)) == 2 * people


def test_a_group_whose_release_fails_midway_keeps_none_of_its_marks_and_goes_on_its_retry(
    session: Session, engine: Engine, rules: Rules, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tree's marks wait in the Run for its flush (Run.notified): a release row that fails
    between marking a person and the flush leaves nobody marked, messaged or scheduled, and its
    retry messages the whole group once."""
    people = make_fan_out(session)
    inspection = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)
    announce_to = cascade._announce_to

    def fails_for_the_second_manager(run: cascade.Run, node: CascadeNode, *args: object) -> None:
        if node.contact_id == "manager-1-1":
            raise RuntimeError("the template could not be rendered")
        announce_to(run, node, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(cascade, "_announce_to", fails_for_the_second_manager)
    handlers = build_handlers(rules)
    run_due(engine, now=ANNOUNCED, handlers=handlers, worker="t", limit=1)

    nodes = read_nodes(engine, inspection.id)
    group = ("manager-1-0", "manager-1-1")
    assert [nodes[cid].notified_at for cid in group] == [None, None]
    assert nodes["head-1"].children_released_at is None
    # The lead's group, released by the row the batch began with, stands.
    assert all(nodes[f"head-{h}"].notified_at is not None for h in range(3))
    failed = release_rows_by_name(engine, inspection.id)["head-1"]
    assert (failed.status, failed.attempts) == (DueStatus.pending, 1)
    assert "could not be rendered" in (failed.outcome or "")
    messaged = {m.contact_id for m in read_messages(engine, inspection.id)}
    assert not messaged & set(group)

    monkeypatch.setattr(cascade, "_announce_to", announce_to)
    later = ANNOUNCED + timedelta(minutes=11)  # past the retry's backoff
    while run_due(engine, now=later, handlers=handlers, worker="t").done:
        pass
    nodes = read_nodes(engine, inspection.id)
    assert all(node.notified_at is not None for node in nodes.values())
    assert {(r.status, r.attempts) for r in release_rows(engine, inspection.id)} <= {
        (DueStatus.done, 1),
        (DueStatus.done, 2),
    }
    assert release_rows_by_name(engine, inspection.id)["head-1"].attempts == 2
    sent = [(m.contact_id, m.medium, m.purpose) for m in read_messages(engine, inspection.id)]
    assert len(sent) == len(set(sent)) == 2 * people


def test_a_chunk_of_groups_is_read_and_written_together(
    session: Session, engine: Engine, rules: Rules
) -> None:
    """The three heads' groups, then the six managers', each read with one query and written
    with one INSERT of their messages and one UPDATE of the tree: not one of each a group."""
    people = make_fan_out(session)
    inspection = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)
    seen: list[str] = []

    def count(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:  # noqa: ANN001
        words = " ".join(statement.split()).lower()
        if words.startswith("insert into message "):
            seen.append("messages")
        elif words.startswith("update cascade_node "):
            seen.append("tree")
        elif words.startswith("select") and "cascade_node.parent_id in" in words:
            seen.append("groups")

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        result = run_due(engine, now=ANNOUNCED, handlers=build_handlers(rules), worker="t", limit=1)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)

    assert result.done == 10
    # The lead's group (the row the batch began with), the heads' chunk, the managers' chunk.
    assert seen == ["groups", "tree", "messages"] * 3
    sent = [(m.contact_id, m.medium, m.purpose) for m in read_messages(engine, inspection.id)]
    assert len(sent) == len(set(sent)) == 2 * people


def test_a_chunk_whose_write_fails_is_released_again_one_group_at_a_time(
    session: Session, engine: Engine, rules: Rules, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure that names no group (the chunk's one write) costs no row an attempt: the chunk
    is undone, and its groups are released again one at a time, each once, in the same
    transaction."""
    people = make_fan_out(session)
    inspection = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)
    flush = cascade.Run.flush
    flushes: list[int] = []

    def second_flush_fails(run: cascade.Run) -> None:
        flushes.append(len(run.outbox._rows))
        if len(flushes) == 2:  # the heads' chunk, after the lead's group
            raise RuntimeError("the chunk's write failed")
        flush(run)

    monkeypatch.setattr(cascade.Run, "flush", second_flush_fails)
    result = run_due(engine, now=ANNOUNCED, handlers=build_handlers(rules), worker="t", limit=1)

    assert (result.done, result.failed) == (10, 0)
    assert flushes[1] == 2 * 6  # the failed chunk held the three heads' groups
    assert len(flushes) == 2 + 3 + 6  # then a write for each group
    assert {(r.status, r.attempts) for r in release_rows(engine, inspection.id)} == {
        (DueStatus.done, 1)
    }
    assert all(node.notified_at is not None for node in read_nodes(engine, inspection.id).values())
    sent = [(m.contact_id, m.medium, m.purpose) for m in read_messages(engine, inspection.id)]
    assert len(sent) == len(set(sent)) == 2 * people


def release_rows_by_name(engine: Engine, inspection_id: uuid.UUID) -> dict[str, DueJob]:
    return {row.dedupe_key.rsplit(":", 1)[1]: row for row in release_rows(engine, inspection_id)}


def test_a_send_waiting_for_sqlites_lock_gets_it_once_the_batch_messaged_enough_people(
    session: Session, engine: Engine, rules: Rules, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real urgent writer (the dispatcher's kind) starts waiting as the batch takes the lock:
    the batch goes on to RELEASE_YIELD_AFTER_PEOPLE, then commits and lets it in."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's writers lock rows, not the database: no send waits on a batch")
    people = make_fan_out(session)
    monkeypatch.setattr(flows, "RELEASE_YIELD_AFTER_PEOPLE", 5)
    inspection = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)
    seen_by_the_send: list[int] = []
    sends: list[threading.Thread] = []

    def send() -> None:
        with urgent_writer(engine).begin() as connection:
            seen_by_the_send.append(
                connection.execute(
                    sa.select(sa.func.count())
                    .select_from(CascadeNode)
                    .where(
                        CascadeNode.inspection_id == inspection.id,
                        col(CascadeNode.notified_at).is_not(None),
                    )
                ).scalar_one()
            )

    def a_send_waits(connection: sa.Connection) -> None:  # the batch holds the lock now
        if sends:
            return
        sends.append(threading.Thread(target=send))
        sends[0].start()
        poll(lambda: urgent_writer_waiting(connection), timeout=10, what="the send waits")

    sa.event.listen(engine, "begin", a_send_waits)
    try:
        run_due(engine, now=ANNOUNCED, handlers=build_handlers(rules), worker="t", limit=1)
    finally:
        for thread in sends:  # before the listener goes: the send is inside the event's loop
            thread.join(timeout=30)
        sa.event.remove(engine, "begin", a_send_waits)
    # The lead's group (3 heads) was not enough: one head's group (2 managers) more made 5.
    assert seen_by_the_send == [1 + 3 + 2]
    handlers = build_handlers(rules)
    release_the_rest_each_group_once(engine, handlers, inspection.id, people)


def test_a_large_release_stops_at_its_batch_and_the_rest_follows_level_by_level(
    session: Session, engine: Engine, rules: Rules, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = make_fan_out(session)
    monkeypatch.setattr(flows, "RELEASE_BATCH_PEOPLE", 5)
    inspection = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)
    handlers = build_handlers(rules)
    run_due(engine, now=ANNOUNCED, handlers=handlers, worker="t", limit=1)
    nodes = read_nodes(engine, inspection.id)
    # The lead's group (3) and one head's (2) make the batch: the heads' groups come first.
    notified = {cid for cid, node in nodes.items() if node.notified_at is not None}
    assert {"lead", "head-0", "head-1", "head-2"} <= notified
    assert len([cid for cid in notified if cid.startswith("manager-")]) == 2
    assert not any(cid.startswith("staff-") for cid in notified)
    assert any(row.status == DueStatus.pending for row in release_rows(engine, inspection.id))
    release_the_rest_each_group_once(engine, handlers, inspection.id, people)
