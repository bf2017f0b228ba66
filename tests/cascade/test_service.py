"""The communication tree in motion (DESIGN.md, "Communication tree rules"): who is messaged when,
what a closed window does, and that nobody is messaged twice for the same thing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service.cascade import flows
from service.cascade import service as cascade
from service.contacts.models import Contact
from service.inspections import reminders
from service.inspections.models import Inspection
from service.main import build_handlers, on_medium_paused
from service.notify import pauses
from service.notify.models import Medium, MessageStatus, Purpose
from service.rules import Rules
from service.scheduler.core import Scheduler
from service.scheduler.due import DueJob, DueStatus, run_due
from service.timeline import TimelineEntry
from tests.builders import london, make_contact, make_inspection, read_messages, read_nodes

CALL = london(2025, 3, 4, 10)  # a Tuesday
ANNOUNCED = CALL + timedelta(minutes=2)


def minutes(n: float) -> datetime:
    return ANNOUNCED + timedelta(minutes=n)


def make_tree(session: Session) -> None:
    """Two in the steering group, each the other's deputy; a group under each of them."""
    lead = make_contact(session, "sg-lead", "Harriet Oyelaran")
    make_contact(session, "sg-dcs", "Tomasz Wójcik", deputy="sg-lead")
    lead.deputy = "sg-dcs"
    make_contact(session, "comms", "Owen Pritchard", reports_to="sg-lead", window=0)
    make_contact(session, "people", "Priya Natarajan", reports_to="sg-lead", deputy="comms")
    make_contact(session, "partners", "Femi Adeyemi", reports_to="sg-dcs", channels=("email",))
    make_contact(session, "staff", "Zoë Ní Bhriain", reports_to="people")
    make_contact(session, "members", "Aisha Rahman", reports_to="comms", window=30)
    session.commit()


@pytest.fixture
def announced(session: Session, rules: Rules) -> Inspection:
    make_tree(session)
    return make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)


def sent_to(engine: Engine, inspection: Inspection) -> list[tuple[str, str, str]]:
    return sorted(
        (m.contact_id or "", m.medium, m.purpose) for m in read_messages(engine, inspection.id)
    )


def acknowledge(
    engine: Engine, rules: Rules, inspection: Inspection, who: str, at: datetime
) -> bool:
    with Session(engine, expire_on_commit=False) as session:
        fresh = session.get(Inspection, inspection.id)
        assert fresh is not None
        node = cascade.node_for(session, inspection.id, who)
        assert node is not None
        first = cascade.acknowledge(
            flows.open_run(session, fresh, rules=rules, now=at), node, via="link"
        )
        session.commit()
    return first


def windows(engine: Engine, inspection: Inspection) -> dict[str, DueJob]:
    with Session(engine, expire_on_commit=False) as session:
        rows = session.exec(
            select(DueJob).where(
                DueJob.inspection_id == inspection.id, DueJob.kind == cascade.WINDOW_KIND
            )
        ).all()
        return {row.payload["contact_id"]: row for row in rows}


@pytest.fixture
def scheduler(engine: Engine, rules: Rules) -> Iterator[Scheduler]:
    scheduler = Scheduler(engine, handlers=build_handlers(rules), tick_seconds=60)
    yield scheduler
    scheduler.shutdown()


def test_announce_snapshots_every_person_with_level_parent_deputy_and_window(
    engine: Engine, announced: Inspection
) -> None:
    nodes = read_nodes(engine, announced.id)
    assert {
        cid: (n.level, n.parent_id, n.deputy_id, n.window_minutes) for cid, n in nodes.items()
    } == {
        "sg-lead": (1, None, "sg-dcs", 15),
        "sg-dcs": (1, None, "sg-lead", 15),
        "people": (2, "sg-lead", "comms", 15),
        "comms": (2, "sg-lead", None, 0),
        "partners": (2, "sg-dcs", None, 15),
        "staff": (3, "people", None, 15),
        "members": (3, "comms", None, 30),
    }
    assert len({n.ack_code for n in nodes.values()}) == len(nodes)


def test_a_code_already_taken_by_another_inspection_is_drawn_again(
    engine: Engine, session: Session, rules: Rules, announced: Inspection, monkeypatch
) -> None:
    """Codes are unique across inspections; a random repeat must not fail the announce."""
    taken = sorted(n.ack_code for n in read_nodes(engine, announced.id).values())
    draw = cascade._new_ack_codes
    calls: list[int] = []

    def repeating(count: int) -> list[int]:
        calls.append(count)
        fresh = draw(count)
        return taken[:2] + fresh[2:] if len(calls) == 1 else fresh

    monkeypatch.setattr(cascade, "_new_ack_codes", repeating)
    drill = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED, drill=True)

    nodes = read_nodes(engine, drill.id)
    assert len(nodes) == 7
    assert calls == [7, 2]  # the two people whose codes were taken got new ones
    codes = {n.ack_code for n in nodes.values()}
    assert len(codes) == 7 and not codes & set(taken)


def test_announce_messages_the_steering_group_at_once_at_top_priority_and_opens_their_windows(
    engine: Engine, announced: Inspection
) -> None:
    messages = read_messages(engine, announced.id)
    assert sorted((m.contact_id, m.medium) for m in messages) == [
        ("sg-dcs", "email"),
        ("sg-dcs", "sms"),
        ("sg-lead", "email"),
        ("sg-lead", "sms"),
    ]
    assert {(m.priority, m.purpose, m.status, m.next_attempt_at) for m in messages} == {
        (1, Purpose.announcement, MessageStatus.queued, ANNOUNCED)
    }
    assert all("/ack/" in m.body for m in messages)
    opened = windows(engine, announced)
    assert sorted(opened) == ["sg-dcs", "sg-lead"]
    assert {(w.due_at, w.status) for w in opened.values()} == {(minutes(15), DueStatus.pending)}


def test_on_postgresql_the_planner_learns_of_the_tree_and_its_messages_at_announce(
    engine: Engine, session: Session, rules: Rules
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's planner keeps no statistics to refresh")
    with engine.begin() as connection:  # the planner knows both tables empty
        connection.exec_driver_sql("ANALYZE cascade_node")
        connection.exec_driver_sql("ANALYZE message")
    make_tree(session)
    make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)
    with engine.connect() as connection:
        known = dict(
            connection.exec_driver_sql(
                "SELECT relname, reltuples FROM pg_class "
                "WHERE relname IN ('cascade_node', 'message')"
            ).all()
        )
    assert known == {"cascade_node": 7, "message": 4}  # the whole tree; the steering group's


def test_acknowledging_messages_the_group_at_once_and_cancels_the_window(
    engine: Engine, rules: Rules, announced: Inspection
) -> None:
    assert acknowledge(engine, rules, announced, "sg-lead", minutes(3)) is True

    nodes = read_nodes(engine, announced.id)
    assert nodes["sg-lead"].acknowledged_at == minutes(3)
    assert nodes["sg-lead"].acknowledged_via == "link"
    assert nodes["people"].notified_at == minutes(3)
    assert nodes["partners"].notified_at is None  # sg-dcs has not acknowledged
    group = [m for m in read_messages(engine, announced.id) if m.contact_id in ("people", "comms")]
    assert {(m.contact_id, m.priority) for m in group} == {("people", 2), ("comms", 2)}
    opened = windows(engine, announced)
    assert opened["sg-lead"].status == DueStatus.cancelled
    assert opened["people"].due_at == minutes(18)


def test_a_closed_window_tells_the_deputy_marks_broken_and_messages_the_group_anyway(
    engine: Engine, announced: Inspection, scheduler: Scheduler, rules: Rules
) -> None:
    acknowledge(engine, rules, announced, "sg-lead", minutes(3))
    scheduler.tick(now=minutes(3))  # Owen's group goes at once
    before = set(sent_to(engine, announced))

    assert scheduler.tick(now=minutes(14)).done == 0  # type: ignore[union-attr]
    result = scheduler.tick(now=minutes(15))
    assert result is not None and result.done == 1  # sg-dcs only: sg-lead's window was cancelled

    new = set(sent_to(engine, announced)) - before
    assert new == {
        ("sg-lead", "email", Purpose.escalation),
        ("sg-lead", "sms", Purpose.escalation),
        ("partners", "email", Purpose.announcement),
    }
    escalation = next(
        m for m in read_messages(engine, announced.id) if m.purpose == Purpose.escalation
    )
    assert "Tomasz Wójcik" in escalation.body
    node = read_nodes(engine, announced.id)["sg-dcs"]
    assert node.escalated_at == minutes(15)
    assert node.broken_reason == "did not acknowledge within 15 minutes"
    assert windows(engine, announced)["sg-dcs"].status == DueStatus.done


def test_a_zero_window_cascades_at_once_without_waiting(
    engine: Engine, rules: Rules, announced: Inspection
) -> None:
    acknowledge(engine, rules, announced, "sg-lead", minutes(3))
    run_due(engine, now=minutes(3), handlers=build_handlers(rules), worker="test")
    nodes = read_nodes(engine, announced.id)
    assert nodes["comms"].notified_at == minutes(3)
    assert nodes["members"].notified_at == minutes(3)  # comms cascades immediately
    assert nodes["staff"].notified_at is None  # people has a 15-minute window
    assert "comms" not in windows(engine, announced)
    assert windows(engine, announced)["members"].due_at == minutes(33)
    members = [m for m in read_messages(engine, announced.id) if m.contact_id == "members"]
    assert {m.priority for m in members} == {3}


def test_without_a_deputy_the_person_they_report_to_is_told(
    engine: Engine, rules: Rules, announced: Inspection
) -> None:
    acknowledge(engine, rules, announced, "sg-lead", minutes(3))
    run_due(engine, now=minutes(3), handlers=build_handlers(rules), worker="test")
    run_due(engine, now=minutes(33), handlers=build_handlers(rules), worker="test")

    escalations = {
        (m.contact_id, m.medium)
        for m in read_messages(engine, announced.id)
        if m.purpose == Purpose.escalation and "Aisha Rahman" in m.body
    }
    assert escalations == {("comms", "email"), ("comms", "sms")}
    assert read_nodes(engine, announced.id)["members"].broken_reason is not None


def test_a_closed_window_resends_on_the_channel_the_person_did_not_choose(
    engine: Engine, rules: Rules, announced: Inspection
) -> None:
    handlers = build_handlers(rules)
    run_due(engine, now=minutes(15), handlers=handlers, worker="test")  # sg-dcs: partners notified
    partners = [m for m in read_messages(engine, announced.id) if m.contact_id == "partners"]
    assert [m.medium for m in partners] == ["email"]

    run_due(engine, now=minutes(30), handlers=handlers, worker="test")
    partners = [m for m in read_messages(engine, announced.id) if m.contact_id == "partners"]
    assert sorted((m.medium, m.purpose) for m in partners) == [
        ("email", Purpose.announcement),
        ("sms", Purpose.announcement),
    ]
    resend = next(m for m in partners if m.medium == "sms")
    assert resend.created_at == minutes(30)
    with Session(engine) as session:
        contact = session.get(Contact, "partners")
        assert contact is not None and resend.address == contact.mobile


def test_a_person_with_no_address_is_broken_at_once_and_their_group_goes_on(
    session: Session, engine: Engine, rules: Rules
) -> None:
    make_contact(session, "sg-lead", "Harriet Oyelaran")
    make_contact(session, "unreachable", "Kwame Mensah", email=None, mobile=None, deputy="sg-lead")
    make_contact(session, "team", "Siobhan Gallagher", reports_to="unreachable")
    session.commit()
    inspection = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)
    run_due(engine, now=ANNOUNCED, handlers=build_handlers(rules), worker="test")

    nodes = read_nodes(engine, inspection.id)
    assert nodes["unreachable"].broken_reason == "has no e-mail address or mobile number to message"
    assert nodes["unreachable"].escalated_at == ANNOUNCED
    assert nodes["team"].notified_at == ANNOUNCED
    assert "unreachable" not in windows(engine, inspection)
    assert sorted(sent_to(engine, inspection)) == [
        ("sg-lead", "email", Purpose.announcement),
        ("sg-lead", "email", Purpose.escalation),
        ("sg-lead", "sms", Purpose.announcement),
        ("sg-lead", "sms", Purpose.escalation),
        ("team", "email", Purpose.announcement),
        ("team", "sms", Purpose.announcement),
    ]


def test_acknowledging_twice_writes_nothing_more(
    engine: Engine, rules: Rules, announced: Inspection
) -> None:
    assert acknowledge(engine, rules, announced, "sg-lead", minutes(3)) is True
    after_first = sent_to(engine, announced)
    assert acknowledge(engine, rules, announced, "sg-lead", minutes(9)) is False
    assert sent_to(engine, announced) == after_first
    assert read_nodes(engine, announced.id)["sg-lead"].acknowledged_at == minutes(3)
    with Session(engine) as session:
        logged = session.exec(
            select(TimelineEntry).where(
                TimelineEntry.inspection_id == announced.id,
                TimelineEntry.kind == "cascade_acknowledged",
            )
        ).all()
    assert len(logged) == 1


def test_a_window_closing_twice_escalates_and_messages_once(
    engine: Engine, rules: Rules, announced: Inspection
) -> None:
    def close(at: datetime) -> str:
        with Session(engine) as session:
            fresh = session.get(Inspection, announced.id)
            node = cascade.node_for(session, announced.id, "sg-dcs")
            assert fresh is not None and node is not None
            outcome = cascade.close_window(
                flows.open_run(session, fresh, rules=rules, now=at), node
            )
            session.commit()
        return outcome

    assert close(minutes(15)) == "escalated"
    after_first = sent_to(engine, announced)
    close(minutes(16))
    assert sent_to(engine, announced) == after_first
    assert len(after_first) == len(set(after_first))
    assert read_nodes(engine, announced.id)["sg-dcs"].escalated_at == minutes(15)


def test_nobody_gets_two_messages_for_the_same_purpose_on_the_same_channel(
    engine: Engine, rules: Rules, announced: Inspection
) -> None:
    """The whole cascade, every window closing and a late acknowledgement: however the paths
    cross, each dedupe key is written once and each person gets one announcement per channel."""
    acknowledge(engine, rules, announced, "sg-lead", minutes(3))
    handlers = build_handlers(rules)
    for at in (3, 15, 18, 30, 33, 34, 60):
        run_due(engine, now=minutes(at), handlers=handlers, worker="test")
    acknowledge(engine, rules, announced, "people", minutes(61))
    keys = [m.dedupe_key for m in read_messages(engine, announced.id)]
    assert len(keys) == len(set(keys))
    announcements = [
        (m.contact_id, m.medium)
        for m in read_messages(engine, announced.id)
        if m.purpose == Purpose.announcement
    ]
    assert len(announcements) == len(set(announcements))
    assert {cid for cid, _ in announcements} == set(read_nodes(engine, announced.id))


def test_a_drill_marks_every_message_as_an_exercise(
    session: Session, engine: Engine, rules: Rules
) -> None:
    make_tree(session)
    drill = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED, drill=True)
    acknowledge(engine, rules, drill, "sg-lead", minutes(3))
    run_due(engine, now=minutes(60), handlers=build_handlers(rules), worker="test")

    messages = read_messages(engine, drill.id)
    assert {m.purpose for m in messages} == {Purpose.drill, Purpose.escalation}
    assert all(m.drill for m in messages)
    emails = [m for m in messages if m.medium == "email"]
    texts = [m for m in messages if m.medium == "sms"]
    assert emails and texts
    assert all(m.subject.startswith("EXERCISE:") for m in emails)
    assert all(m.body.startswith("EXERCISE:") for m in emails + texts)


def test_deadline_reminders_reach_the_steering_group_once(
    engine: Engine, rules: Rules, announced: Inspection
) -> None:
    first = first_reminder(engine, announced)
    handlers = build_handlers(rules)
    run_due(engine, now=first.due_at, handlers=handlers, worker="test")
    run_due(engine, now=first.due_at, handlers=handlers, worker="test")

    reminded = [m for m in read_messages(engine, announced.id) if m.purpose == Purpose.reminder]
    assert sorted((m.contact_id, m.medium) for m in reminded) == [
        ("sg-dcs", "email"),
        ("sg-dcs", "sms"),
        ("sg-lead", "email"),
        ("sg-lead", "sms"),
    ]
    assert {m.priority for m in reminded} == {1}
    assert all(first.payload["label"] in m.body for m in reminded)


def first_reminder(engine: Engine, inspection: Inspection) -> DueJob:
    """The earliest deadline reminder of the inspection."""
    with Session(engine, expire_on_commit=False) as session:
        job = session.exec(
            select(DueJob)
            .where(DueJob.inspection_id == inspection.id, DueJob.kind == reminders.KIND)
            .order_by(col(DueJob.due_at))
        ).first()
    assert job is not None
    return job


def test_inactive_people_are_left_out_and_their_group_moves_up(
    session: Session, engine: Engine, rules: Rules
) -> None:
    make_contact(session, "sg-lead", "Harriet Oyelaran")
    make_contact(session, "left", "Dafydd Morgan", reports_to="sg-lead", active=False)
    make_contact(session, "team", "Mei Lin Chen", reports_to="left", deputy="left")
    session.commit()
    inspection = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)

    nodes = read_nodes(engine, inspection.id)
    assert set(nodes) == {"sg-lead", "team"}
    assert (nodes["team"].level, nodes["team"].parent_id, nodes["team"].deputy_id) == (
        2,
        "sg-lead",
        None,
    )
    acknowledge(engine, rules, inspection, "sg-lead", minutes(1))
    assert "left" not in {m.contact_id for m in read_messages(engine, inspection.id)}


def test_the_snapshot_keeps_the_tree_as_it_was_at_the_announce(
    engine: Engine, rules: Rules, announced: Inspection
) -> None:
    with Session(engine) as session:
        moved = session.get(Contact, "people")
        assert moved is not None
        moved.reports_to = "sg-dcs"
        session.add(moved)
        session.commit()
    acknowledge(engine, rules, announced, "sg-lead", minutes(3))
    assert read_nodes(engine, announced.id)["people"].notified_at == minutes(3)


def test_an_empty_tree_starts_nothing(session: Session, engine: Engine, rules: Rules) -> None:
    inspection = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)
    assert read_nodes(engine, inspection.id) == {}
    assert read_messages(engine, inspection.id) == []
    assert windows(engine, inspection) == {}


def test_with_a_director_at_the_root_the_steering_group_is_messaged_at_once_first(
    engine: Engine, session: Session, rules: Rules
) -> None:
    """A council's org chart: the director at the root, the steering group reporting to them.
    The whole steering group is messaged in the announce, at the top priority, and nobody else
    below the director until the director acknowledges or their window closes."""
    make_contact(session, "director", "Harriet Oyelaran")
    for cid, name in (("lead", "Tomasz Wójcik"), ("hos", "Priya Natarajan")):
        make_contact(session, cid, name, reports_to="director", groups=("steering",))
    make_contact(session, "support", "Owen Pritchard", reports_to="director")
    make_contact(session, "team", "Zoë Ní Bhriain", reports_to="hos", window=0)
    make_contact(session, "worker", "Aisha Rahman", reports_to="team")
    session.commit()
    inspection = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)

    nodes = read_nodes(engine, inspection.id)
    assert {cid: (n.level, n.parent_id) for cid, n in nodes.items()} == {
        "director": (1, None),
        "lead": (1, "director"),
        "hos": (1, "director"),
        "support": (2, "director"),
        "team": (2, "hos"),
        "worker": (3, "team"),
    }
    first = read_messages(engine, inspection.id)
    assert {(m.contact_id, m.priority, m.created_at) for m in first} == {
        (cid, 1, ANNOUNCED) for cid in ("director", "lead", "hos") for _ in ("email", "sms")
    }
    # The steering group's own reports follow them as before: the director's at the window.
    acknowledge(engine, rules, inspection, "hos", minutes(1))
    assert {m.contact_id for m in read_messages(engine, inspection.id)} == {
        "director",
        "lead",
        "hos",
        "team",
    }


def test_a_deputy_who_chose_texts_is_told_by_e_mail_while_sms_is_paused(
    session: Session, engine: Engine, rules: Rules
) -> None:
    """Notify's daily SMS limit is spent: a window that closes then must still reach the deputy
    at once, on the e-mail address they have on file, not at midnight."""
    make_contact(session, "sg-dcs", "Tomasz Wójcik", channels=("sms",))
    make_contact(session, "sg-lead", "Harriet Oyelaran", deputy="sg-dcs", channels=("email",))
    session.commit()
    inspection = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)
    with Session(engine) as writing:
        pauses.pause(
            writing,
            Medium.sms,
            until=pauses.next_midnight_utc(minutes(5)),
            reason=pauses.DAILY_LIMIT_REASON,
            now=minutes(5),
        )
        writing.commit()

    run_due(engine, now=minutes(15), handlers=build_handlers(rules), worker="test")

    told = {
        (m.medium, m.address)
        for m in read_messages(engine, inspection.id)
        if m.purpose == Purpose.escalation and m.contact_id == "sg-dcs"
    }
    assert ("email", "sg-dcs@example.org") in told


def test_an_escalation_waiting_on_a_paused_medium_is_sent_by_the_other_once(
    session: Session, engine: Engine, rules: Rules
) -> None:
    """The deputy's text was queued before Notify's daily SMS limit was met: when SMS pauses,
    the deputy, who chose texts only, is told by e-mail at once, and only once however often
    the pause hook runs."""
    make_contact(session, "sg-dcs", "Tomasz Wójcik", channels=("sms",))
    make_contact(session, "sg-lead", "Harriet Oyelaran", deputy="sg-dcs", channels=("email",))
    session.commit()
    inspection = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)
    run_due(engine, now=minutes(15), handlers=build_handlers(rules), worker="test")

    def told() -> list[tuple[str, str]]:
        return sorted(
            (m.medium, m.address)
            for m in read_messages(engine, inspection.id)
            if m.purpose == Purpose.escalation and m.contact_id == "sg-dcs"
        )

    [(first, mobile)] = told()
    assert first == "sms"
    for at in (minutes(16), minutes(17)):  # the limit met, then texts in flight coming back
        with Session(engine) as writing:
            pauses.pause(
                writing,
                Medium.sms,
                until=pauses.next_midnight_utc(at),
                reason=pauses.DAILY_LIMIT_REASON,
                now=minutes(16),
            )
            on_medium_paused(rules)(writing, Medium.sms, at)
            writing.commit()

    assert told() == [("email", "sg-dcs@example.org"), ("sms", mobile)]
    with Session(engine) as reading:
        [entry] = [
            e
            for e in reading.exec(
                select(TimelineEntry).where(TimelineEntry.kind == "cascade_medium_paused")
            ).all()
        ]
    assert entry.data["stand_ins_told"] == 1


def test_a_deadline_reminder_reaches_a_texts_only_steering_member_by_e_mail_while_sms_is_paused(
    session: Session, engine: Engine, rules: Rules
) -> None:
    """With Notify's daily SMS limit spent, the reminder of a deadline must not wait until
    midnight for someone who chose texts but has an e-mail address on file."""
    make_contact(session, "sg-dcs", "Tomasz Wójcik", channels=("sms",))
    session.commit()
    inspection = make_inspection(session, rules, notified_at=CALL, now=ANNOUNCED)
    with Session(engine) as writing:
        pauses.pause(
            writing,
            Medium.sms,
            until=pauses.next_midnight_utc(minutes(5)),
            reason=pauses.DAILY_LIMIT_REASON,
            now=minutes(5),
        )
        writing.commit()
    payload = {
        "deadline": "action_plan",
        "label": "Action plan",
        "due": "2025-04-15",
        "working_days_before": 5,
    }
    with Session(engine) as writing:
        found = writing.get(Inspection, inspection.id)
        assert found is not None
        flows.remind_steering_group(writing, found, payload, rules=rules, now=minutes(10))
        writing.commit()

    told = {
        (m.medium, m.address)
        for m in read_messages(engine, inspection.id)
        if m.purpose == Purpose.reminder and m.contact_id == "sg-dcs"
    }
    assert ("email", "sg-dcs@example.org") in told


def test_one_write_of_the_tree_keeps_each_persons_window_and_touches_nobody_else(
    engine: Engine, rules: Rules, announced: Inspection
) -> None:
    """The people messaged (with two different window closes) and a released group, written in
    one statement: each gets their own marks, and the rest of the tree is left as it was."""
    before = read_nodes(engine, announced.id)
    at, soon, later = minutes(1), minutes(11), minutes(31)
    with Session(engine, expire_on_commit=False) as session:
        inspection = session.get(Inspection, announced.id)
        assert inspection is not None
        run = flows.open_run(session, inspection, rules=rules, now=at)
        nodes = {who: cascade.node_for(session, announced.id, who) for who in ("staff", "members")}
        run.notified(nodes["staff"], window_closes_at=soon)  # type: ignore[arg-type]
        run.notified(nodes["members"], window_closes_at=later)  # type: ignore[arg-type]
        run.released(cascade.node_for(session, announced.id, "people"))  # type: ignore[arg-type]
        updates: list[str] = []

        def count(_conn, _cursor, statement, *_rest) -> None:  # noqa: ANN001
            if statement.lstrip().upper().startswith("UPDATE CASCADE_NODE"):
                updates.append(statement)

        sa_event.listen(engine, "before_cursor_execute", count)
        try:
            run.flush()
        finally:
            sa_event.remove(engine, "before_cursor_execute", count)
        session.commit()
    assert len(updates) == 1

    after = read_nodes(engine, announced.id)
    assert (after["staff"].notified_at, after["staff"].window_closes_at) == (at, soon)
    assert (after["members"].notified_at, after["members"].window_closes_at) == (at, later)
    assert after["people"].children_released_at == at
    marks = ("notified_at", "window_closes_at", "children_released_at")
    for who in ("staff", "members"):
        assert after[who].children_released_at == before[who].children_released_at
    assert (after["people"].notified_at, after["people"].window_closes_at) == (
        before["people"].notified_at,
        before["people"].window_closes_at,
    )
    for who in set(before) - {"staff", "members", "people"}:
        assert [getattr(after[who], m) for m in marks] == [getattr(before[who], m) for m in marks]
