"""The 18-case audit's rules: references that are case numbers and never names, all-or-nothing
entry within the framework's count, the status machine, grades on the framework's scale, the
timeline, the summary with the plan's due times, and the CSV export."""

from __future__ import annotations

import csv
import io
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service.contacts.models import Contact
from service.db import reader
from service.errors import Conflict, InvalidInput, NotFound
from service.frameworks import SHIPPED_DIR as FRAMEWORKS_DIR
from service.frameworks import Milestone, load_file
from service.inspections import flows as inspection_flows
from service.inspections.models import Inspection
from service.main import build_rules
from service.plan import case_audit, case_audit_report
from service.plan.case_audit import NAME_LIKE, REFERENCE_RULE, BadReference, CasesRejected, NewCase
from service.plan.models import AuditCase, Task
from service.plan.schemas import CaseUpdate
from service.rules import Rules
from service.timeline import TimelineEntry
from tests.builders import ACTOR, london, make_contact, make_inspection
from tests.conftest import make_settings
from tests.plan.audit_plans import AUDIT_PLAN, write_plan

LONDON = ZoneInfo("Europe/London")
CALL = london(2025, 6, 10, 10)
"""A Tuesday: on site Wednesday 11 June; week 2 (the audit) is Monday 16 to Friday 20 June."""
WEEK2 = london(2025, 6, 16, 9)
SIF = load_file(FRAMEWORKS_DIR / "sif-2013.yaml")


@pytest.fixture
def planned_rules(database_url: str, tmp_path: Path) -> Rules:
    """Rules whose sif-2013 plan times the audit's stages."""
    plans = write_plan(tmp_path / "plans", AUDIT_PLAN)
    return build_rules(make_settings(database_url=database_url, plans_dir=plans))


@pytest.fixture
def people(session: Session) -> None:
    make_contact(session, "dcs-01", "Harriet Oyelaran")
    make_contact(session, "tm-01", "Tomasz Wójcik", reports_to="dcs-01")
    make_contact(session, "tm-02", "Aisha Bello", reports_to="dcs-01")
    make_contact(session, "hos-01", "Siân Llewelyn", reports_to="dcs-01")
    make_contact(session, "gone-01", "Declan Fairweather", active=False)
    session.commit()


@pytest.fixture
def inspection(session: Session, rules: Rules, people: None) -> Inspection:
    return make_inspection(session, rules, notified_at=CALL)


def add(
    session: Session, rules: Rules, inspection: Inspection, *cases: str | NewCase, now=WEEK2
) -> list[AuditCase]:
    added = case_audit.add_cases(
        session,
        rules=rules,
        inspection_id=inspection.id,
        cases=[case if isinstance(case, NewCase) else NewCase(case) for case in cases],
        actor=ACTOR,
        now=now,
    )
    session.commit()
    return added.cases


def update(
    session: Session, rules: Rules, case: AuditCase, *, now: datetime = WEEK2, **changes: Any
) -> AuditCase:
    """The changes unvalidated, as the pages send them: the rules must hold on their own."""
    try:
        updated = case_audit.update_case(
            session,
            rules=rules,
            inspection_id=case.inspection_id,
            case_id=case.id,
            changes=CaseUpdate.model_construct(**changes),
            actor=ACTOR,
            now=now,
        )
    except Exception:
        session.rollback()
        raise
    session.commit()
    return updated


def stored(engine: Engine, inspection: Inspection) -> list[AuditCase]:
    with Session(reader(engine)) as fresh:
        return case_audit.list_cases(fresh, inspection.id)


def entries(engine: Engine, inspection: Inspection, kind: str) -> list[TimelineEntry]:
    with Session(reader(engine)) as fresh:
        query = select(TimelineEntry).where(
            TimelineEntry.inspection_id == inspection.id, TimelineEntry.kind == kind
        )
        return list(fresh.exec(query.order_by(col(TimelineEntry.id))).all())


def refs(n: int, start: int = 1) -> list[str]:
    return [f"CIN-{number:06d}" for number in range(start, start + n)]


def full_case(session: Session, rules: Rules, inspection: Inspection, reference: str) -> AuditCase:
    """A case carried to findings_reported, one step at a time."""
    [case] = add(session, rules, inspection, NewCase(reference, "tm-01", "hos-01"))
    update(session, rules, case, status="audited")
    update(session, rules, case, status="re_audited", first_tier_grade="good", grade="good")
    return update(session, rules, case, status="findings_reported", findings="Plan reviewed.")


# --- references ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("CIN-004512", "CIN-004512"),
        ("LAC/2013/0042", "LAC/2013/0042"),
        ("CP12345", "CP12345"),
        ("12345", "12345"),
        ("cin-004512", "CIN-004512"),
        ("  CP12345\t", "CP12345"),
        ("A1", "A1"),
        ("2013_0042.1", "2013_0042.1"),
        ("CASE-0001", "CASE-0001"),
        ("7", "7"),
        ("ab12cd34ef56gh78ij90kl12mn34op56", "AB12CD34EF56GH78IJ90KL12MN34OP56"),
    ],
)
def test_case_numbers_are_accepted_and_kept_in_capitals(typed: str, kept: str) -> None:
    assert case_audit.check_reference(typed) == kept


@pytest.mark.parametrize(
    "name",
    [
        "Jayden Smith",
        "Smith1",
        "amelia.jones",
        "J Smith",
        "Amy",
        "Jo",
        "Wójcik7",
        "O'Neil7",
        "O\u2019Neil7",
        "Li Na",
        "JAYDEN-2013",
        "Harriet Oyelaran-Featherstonehaugh",
        "12 Oakwood Road",
    ],
)
def test_anything_shaped_like_a_name_is_refused_as_a_name(name: str) -> None:
    with pytest.raises(BadReference) as refused:
        case_audit.check_reference(name)
    assert str(refused.value).startswith(NAME_LIKE)
    assert REFERENCE_RULE in str(refused.value)


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("", "enter the case number"),
        ("   ", "enter the case number"),
        ("CIN 004512", "must not contain spaces"),
        ("CIN#0045", "may contain only letters A-Z, digits and / - _ ."),
        ("Zoë1", "may contain only letters A-Z"),
        ("CIN\u20130045", "may contain only letters A-Z"),
        ("\u0661\u0662\u0663", "may contain only letters A-Z"),
        ("=1+2", "may contain only letters A-Z"),
        ("---/", "must contain at least one digit"),
        ("-12345", "must start and end with a letter or a digit"),
        ("12345/", "must start and end with a letter or a digit"),
        ("1" * 33, "must be at most 32 characters, not 33"),
    ],
)
def test_other_bad_references_say_what_is_wrong(typed: str, why: str) -> None:
    with pytest.raises(BadReference) as refused:
        case_audit.check_reference(typed)
    message = str(refused.value)
    assert why in message
    assert not message.startswith(NAME_LIKE)
    assert REFERENCE_RULE in message


def test_findings_are_trimmed_and_at_most_2000_characters() -> None:
    assert case_audit.check_findings(None) is None
    assert case_audit.check_findings("  \n ") is None
    assert case_audit.check_findings("  Drift in planning.  ") == "Drift in planning."
    assert case_audit.check_findings("x" * 2000) == "x" * 2000
    with pytest.raises(InvalidInput) as refused:
        case_audit.check_findings("x" * 2001)
    assert (refused.value.field, refused.value.message) == (
        "findings",
        "must be at most 2000 characters, not 2001",
    )
    with pytest.raises(InvalidInput) as refused:
        case_audit.check_findings("half a pair \ud800")
    assert refused.value.field == "findings"


def test_grades_come_from_the_frameworks_scale() -> None:
    assert case_audit.check_grade(SIF, "requires_improvement") == "requires_improvement"
    assert case_audit.check_grade(SIF, None) is None
    assert case_audit.check_grade(SIF, " ") is None
    for wrong in ("Good", "adequate", "outstanding!"):
        with pytest.raises(InvalidInput) as refused:
            case_audit.check_grade(SIF, wrong)
        assert refused.value.field == "grade"
        assert "outstanding, good, requires_improvement, inadequate" in refused.value.message


# --- entering cases ------------------------------------------------------------------------


def test_cases_are_entered_with_their_auditors_and_on_the_timeline(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    added = case_audit.add_cases(
        session,
        rules=rules,
        inspection_id=inspection.id,
        cases=[NewCase("cin-004512", " tm-01 ", "hos-01"), NewCase("LAC/2013/0042", " ", None)],
        actor=ACTOR,
        now=WEEK2,
    )
    session.commit()

    assert added.remaining == 16
    cases = {case.reference: case for case in stored(engine, inspection)}
    assert set(cases) == {"CIN-004512", "LAC/2013/0042"}
    first = cases["CIN-004512"]
    assert (first.auditor_contact_id, first.reauditor_contact_id) == ("tm-01", "hos-01")
    assert first.status == "not_started"
    assert (first.created_at, first.created_by) == (WEEK2, ACTOR)
    assert cases["LAC/2013/0042"].auditor_contact_id is None
    [entry] = entries(engine, inspection, "audit_cases_added")
    assert entry.summary == "2 cases added to the audit: CIN-004512, LAC/2013/0042"
    assert {case["reference"] for case in entry.data["cases"]} == set(cases)


def test_every_problem_is_reported_by_position_and_nothing_is_written(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    add(session, rules, inspection, "CP00001")
    with pytest.raises(CasesRejected) as rejected:
        add(
            session,
            rules,
            inspection,
            NewCase("CIN-1", "tm-01", "tm-02"),  # fine on its own
            NewCase("Jayden Smith"),
            NewCase("cp00001"),  # already entered (in capitals)
            NewCase("CIN-2", auditor_contact_id="nobody-99"),
            NewCase("cin-1"),  # twice in this request
            NewCase("CIN-3", "gone-01", "tm-01"),
            NewCase("CIN-4", "tm-02", "tm-02"),
        )
    session.rollback()

    found = [(e.index, e.field) for e in rejected.value.errors]
    assert found == [
        (1, "reference"),
        (2, "reference"),
        (3, "auditor_contact_id"),
        (4, "reference"),
        (5, "auditor_contact_id"),
        (6, "reauditor_contact_id"),
    ]
    messages = [e.message for e in rejected.value.errors]
    assert messages[0].startswith(NAME_LIKE)
    assert messages[1] == "CP00001 is already in this inspection's audit"
    assert messages[2] == "no contact 'nobody-99'"
    assert messages[3] == "CIN-1 is also cases.0: enter each case once"
    assert "'gone-01' is not active" in messages[4]
    assert messages[5] == "must be someone other than the auditor"
    assert [case.reference for case in stored(engine, inspection)] == ["CP00001"]
    assert len(entries(engine, inspection, "audit_cases_added")) == 1


def test_no_more_cases_than_the_framework_names(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    add(session, rules, inspection, *refs(15))
    with pytest.raises(CasesRejected) as rejected:
        add(session, rules, inspection, *refs(4, start=100))
    session.rollback()
    [error] = rejected.value.errors
    assert (error.index, error.field) == (None, None)
    assert error.message == (
        "Single inspection framework (2013) audits 18 cases and 15 are already entered, "
        "so 3 more can be added, not 4"
    )

    add(session, rules, inspection, *refs(3, start=100))
    assert len(stored(engine, inspection)) == 18
    with pytest.raises(CasesRejected) as rejected:
        add(session, rules, inspection, "CIN-999999")
    session.rollback()
    assert "so 0 more can be added, not 1" in rejected.value.errors[0].message


@pytest.mark.sqlite_only
def test_an_empty_list_adds_nothing(session: Session, rules: Rules, inspection: Inspection) -> None:
    with pytest.raises(CasesRejected) as rejected:
        add(session, rules, inspection)
    session.rollback()
    assert rejected.value.errors[0].message == "give at least one case"


def test_two_coordinators_cannot_pass_the_count_together(
    engine: Engine, rules: Rules, session: Session, inspection: Inspection
) -> None:
    """The first holds the inspection while it enters its cases; the second waits, then sees
    them and is refused rather than taking the audit past 18."""
    outcome: dict[str, Any] = {}
    first = Session(engine, expire_on_commit=False)
    case_audit.add_cases(
        first,
        rules=rules,
        inspection_id=inspection.id,
        cases=[NewCase(r) for r in refs(10)],
        actor=ACTOR,
        now=WEEK2,
    )

    def second() -> None:
        with Session(engine, expire_on_commit=False) as other:
            try:
                case_audit.add_cases(
                    other,
                    rules=rules,
                    inspection_id=inspection.id,
                    cases=[NewCase(r) for r in refs(10, start=50)],
                    actor=ACTOR,
                    now=WEEK2,
                )
                other.commit()
                outcome["added"] = True
            except CasesRejected as exc:
                outcome["errors"] = exc.errors

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive(), "the second coordinator did not wait for the first"
    first.commit()
    first.close()
    thread.join(timeout=30)

    assert "added" not in outcome
    assert "10 are already entered, so 8 more can be added" in outcome["errors"][0].message
    assert len(stored(engine, inspection)) == 10


# --- the status machine --------------------------------------------------------------------


def test_status_moves_one_step_at_a_time_and_stamps_each_step(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    [case] = add(session, rules, inspection, NewCase("CIN-004512", "tm-01", "hos-01"))
    with pytest.raises(InvalidInput) as skipped:
        update(session, rules, case, status="re_audited", first_tier_grade="good", grade="good")
    assert skipped.value.field == "status"
    assert skipped.value.message == (
        "moves one step at a time; from not_started it can go on to audited"
    )

    monday, tuesday, thursday = WEEK2, london(2025, 6, 17, 15), london(2025, 6, 19, 11)
    update(session, rules, case, now=monday, status="audited")
    update(
        session,
        rules,
        case,
        now=tuesday,
        status="re_audited",
        first_tier_grade="good",
        grade="good",
    )
    update(session, rules, case, now=thursday, status="findings_reported", findings="Fine.")

    [done] = stored(engine, inspection)
    assert done.status == "findings_reported"
    assert (done.audited_at, done.re_audited_at, done.reported_at) == (monday, tuesday, thursday)
    assert done.updated_at == thursday


def test_one_step_back_corrects_a_mistake_and_clears_its_stamp(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    case = full_case(session, rules, inspection, "CIN-004512")
    with pytest.raises(InvalidInput) as too_far:
        update(session, rules, case, status="audited")
    assert too_far.value.message == (
        "moves one step at a time; from findings_reported it can go back to re_audited to "
        "correct a mistake"
    )

    update(session, rules, case, status="re_audited")
    [back] = stored(engine, inspection)
    assert back.status == "re_audited"
    assert back.reported_at is None
    assert back.audited_at is not None and back.re_audited_at is not None

    update(session, rules, case, status="audited")
    update(session, rules, case, status="not_started")
    [start] = stored(engine, inspection)
    assert (start.audited_at, start.re_audited_at, start.reported_at) == (None, None, None)
    [*_, last] = entries(engine, inspection, "audit_case_updated")
    assert last.summary == "Case CIN-004512: audited → not_started (correction)"


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("setup", "change", "field", "says"),
    [
        ({}, {"status": "audited"}, "auditor_contact_id", "needs its first-tier auditor"),
        (
            {"auditor_contact_id": "tm-01", "status": "audited"},
            {"status": "re_audited", "first_tier_grade": "good", "grade": "good"},
            "reauditor_contact_id",
            "needs its senior re-auditor",
        ),
        (
            {"auditor_contact_id": "tm-01", "reauditor_contact_id": "hos-01", "status": "audited"},
            {"status": "re_audited"},
            "grade",
            "needs a grade; use one of: outstanding, good, requires_improvement, inadequate",
        ),
        (
            {"auditor_contact_id": "tm-01", "status": "audited"},
            {"auditor_contact_id": None},
            "auditor_contact_id",
            "needs its first-tier auditor",
        ),
        (
            {"auditor_contact_id": "tm-01", "reauditor_contact_id": "hos-01"},
            {"reauditor_contact_id": "tm-01"},
            "reauditor_contact_id",
            "the auditor and the re-auditor must be different people",
        ),
        (
            {"reauditor_contact_id": "hos-01"},
            {"auditor_contact_id": "hos-01"},
            "auditor_contact_id",
            "the auditor and the re-auditor must be different people",
        ),
        ({}, {"auditor_contact_id": "gone-01"}, "auditor_contact_id", "is not active"),
        ({}, {"reauditor_contact_id": "nobody-99"}, "reauditor_contact_id", "no contact"),
        ({}, {"status": None}, "status", "cannot be cleared"),
        ({}, {"status": "done"}, "status", "must be one of: not_started, audited"),
        ({}, {"grade": "adequate"}, "grade", "is not on the Single inspection framework"),
        ({}, {"findings": "x" * 2001}, "findings", "at most 2000 characters"),
    ],
)
def test_what_each_stage_needs(
    session: Session,
    engine: Engine,
    rules: Rules,
    inspection: Inspection,
    setup: dict[str, Any],
    change: dict[str, Any],
    field: str,
    says: str,
) -> None:
    [case] = add(session, rules, inspection, "CIN-004512")
    for key, value in setup.items():
        update(session, rules, case, **{key: value})
    before = stored(engine, inspection)[0].model_dump()

    with pytest.raises(InvalidInput) as refused:
        update(session, rules, case, **change)

    assert refused.value.field == field
    assert says in refused.value.message
    assert stored(engine, inspection)[0].model_dump() == before


@pytest.mark.sqlite_only
def test_findings_reported_needs_findings_and_a_reported_case_keeps_them(
    session: Session, rules: Rules, inspection: Inspection
) -> None:
    [case] = add(session, rules, inspection, NewCase("CIN-004512", "tm-01", "hos-01"))
    update(session, rules, case, status="audited")
    update(session, rules, case, status="re_audited", first_tier_grade="good", grade="inadequate")
    with pytest.raises(InvalidInput) as refused:
        update(session, rules, case, status="findings_reported")
    assert refused.value.field == "findings"

    update(session, rules, case, status="findings_reported", findings="Escalate to the DCS.")
    for clearing in ({"findings": "  "}, {"grade": None}, {"reauditor_contact_id": None}):
        with pytest.raises(InvalidInput):
            update(session, rules, case, **clearing)


def test_an_inactive_auditor_already_assigned_may_stay(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    """Someone who leaves after auditing still audited the case; only new names are checked."""
    [case] = add(session, rules, inspection, NewCase("CIN-004512", "tm-01", "hos-01"))
    update(session, rules, case, status="audited")
    leaver = session.get(Contact, "tm-01")
    assert leaver is not None
    leaver.active = False
    session.add(leaver)
    session.commit()

    update(
        session,
        rules,
        case,
        status="re_audited",
        first_tier_grade="good",
        grade="good",
        auditor_contact_id="tm-01",
    )
    assert stored(engine, inspection)[0].status == "re_audited"


def council_rules(database_url: str, folder: Path, **changes: Any) -> Rules:
    """Rules with the council's own copy of sif-2013 (FRAMEWORKS_DIR), changed as given."""
    raw = yaml.safe_load((FRAMEWORKS_DIR / "sif-2013.yaml").read_text(encoding="utf-8"))
    raw.update(changes)
    folder.mkdir()
    (folder / "sif-2013.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    return build_rules(make_settings(database_url=database_url, frameworks_dir=folder))


@pytest.mark.sqlite_only
def test_a_framework_with_its_own_scale_grades_on_it(
    database_url: str, tmp_path: Path, session: Session, engine: Engine, people: None
) -> None:
    rules = council_rules(
        database_url, tmp_path / "f", grades=["good", "adequate", "inadequate"], audit_cases=3
    )
    inspection = make_inspection(session, rules, notified_at=CALL)

    [case] = add(session, rules, inspection, NewCase("CIN-1", "tm-01", "hos-01"))
    with pytest.raises(InvalidInput) as refused:
        update(session, rules, case, grade="requires_improvement")
    assert refused.value.message.endswith("use one of: good, adequate, inadequate")
    update(session, rules, case, grade="adequate")
    with pytest.raises(CasesRejected) as rejected:
        add(session, rules, inspection, *refs(3, start=10))
    session.rollback()
    assert "audits 3 cases and 1 is already entered, so 2 more" in rejected.value.errors[0].message

    report = case_audit_report.summary(session, rules=rules, inspection=inspection, now=WEEK2)
    assert report.expected == 3
    assert report.by_grade == {"good": 0, "adequate": 1, "inadequate": 0, "ungraded": 0}


def test_a_framework_auditing_many_cases_keeps_the_timeline_short(
    database_url: str, tmp_path: Path, session: Session, engine: Engine, people: None
) -> None:
    rules = council_rules(database_url, tmp_path / "f", audit_cases=200)
    inspection = make_inspection(session, rules, notified_at=CALL)
    long_refs = [f"LAC/{n:027d}" for n in range(200)]

    add(session, rules, inspection, *long_refs)

    [entry] = entries(engine, inspection, "audit_cases_added")
    assert len(entry.summary) <= 1000
    assert entry.summary.startswith(f"200 cases added to the audit: {long_refs[0]}, ")
    assert entry.summary.endswith(" more")
    assert [case["reference"] for case in entry.data["cases"]] == long_refs


# --- the timeline --------------------------------------------------------------------------


def test_each_change_is_one_timeline_entry_without_the_findings(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    [case] = add(session, rules, inspection, "CIN-004512")
    secret = "Child disclosed at school; strategy discussion held on day 3."
    update(session, rules, case, auditor_contact_id="tm-01", reauditor_contact_id="hos-01")
    update(session, rules, case, status="audited", findings=secret, grade="requires_improvement")
    update(session, rules, case, findings=secret)  # nothing changes: no entry
    update(session, rules, case, findings=secret + " Plan updated.")
    update(session, rules, case, findings=None)

    found = entries(engine, inspection, "audit_case_updated")
    assert [entry.summary for entry in found] == [
        "Case CIN-004512: auditor Tomasz Wójcik; re-auditor Siân Llewelyn",
        f"Case CIN-004512: not_started → audited; grade requires_improvement; "
        f"findings added ({len(secret)} characters)",
        f"Case CIN-004512: findings changed ({len(secret) + 14} characters)",
        "Case CIN-004512: findings removed",
    ]
    assert found[1].data["changes"]["status"] == {"from": "not_started", "to": "audited"}
    assert found[1].data["changes"]["findings_characters"] == {"from": None, "to": len(secret)}
    assert found[0].data["changes"]["auditor_contact_id"] == {"from": None, "to": "tm-01"}
    assert all(entry.actor == ACTOR for entry in found)
    for entry in found:
        assert "disclosed" not in entry.summary and "disclosed" not in str(entry.data)


# --- closed inspections, deleting, not found -----------------------------------------------


def test_a_closed_inspections_audit_no_longer_changes(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    [case] = add(session, rules, inspection, "CIN-004512")
    inspection_flows.record_milestone(
        session,
        rules=rules,
        inspection_id=inspection.id,
        key=Milestone.closed,
        day=london(2025, 7, 1).date(),
        actor=ACTOR,
        now=london(2025, 7, 1, 12),
    )
    session.commit()

    attempts: list[Callable[[], object]] = [
        lambda: add(session, rules, inspection, "CIN-5"),
        lambda: update(session, rules, case, grade="good"),
        lambda: case_audit.delete_case(
            session, inspection_id=inspection.id, case_id=case.id, actor=ACTOR, now=WEEK2
        ),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict) as refused:
            attempt()
        session.rollback()
        assert "is closed" in refused.value.message
    assert [c.reference for c in stored(engine, inspection)] == ["CIN-004512"]


def test_only_a_case_not_started_can_be_deleted(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    mistyped, started = add(session, rules, inspection, "CIN-1", NewCase("CIN-2", "tm-01"))
    update(session, rules, started, status="audited")

    case_audit.delete_case(
        session, inspection_id=inspection.id, case_id=mistyped.id, actor=ACTOR, now=WEEK2
    )
    session.commit()
    with pytest.raises(Conflict) as refused:
        case_audit.delete_case(
            session, inspection_id=inspection.id, case_id=started.id, actor=ACTOR, now=WEEK2
        )
    session.rollback()

    assert refused.value.message.startswith("case CIN-2 is audited; only a case not started")
    assert [c.reference for c in stored(engine, inspection)] == ["CIN-2"]
    [entry] = entries(engine, inspection, "audit_case_deleted")
    assert entry.summary == "Case CIN-1 removed from the audit"
    add(session, rules, inspection, "CIN-1")  # the reference is free again


def test_a_case_belongs_to_its_inspection(
    session: Session, rules: Rules, inspection: Inspection
) -> None:
    drill = make_inspection(session, rules, notified_at=CALL, drill=True)
    [case] = add(session, rules, inspection, "CIN-1")
    [other] = add(session, rules, drill, "CIN-1")  # the same reference in a rehearsal is fine

    assert other.id != case.id
    with pytest.raises(NotFound):
        case_audit.update_case(
            session,
            rules=rules,
            inspection_id=drill.id,
            case_id=case.id,
            changes=CaseUpdate(grade="good"),
            actor=ACTOR,
            now=WEEK2,
        )
    with pytest.raises(NotFound):
        case_audit.add_cases(
            session,
            rules=rules,
            inspection_id=uuid.uuid4(),
            cases=[NewCase("CIN-1")],
            actor=ACTOR,
            now=WEEK2,
        )


# --- the summary ---------------------------------------------------------------------------


def test_progress_and_grades_count_every_case(
    session: Session, rules: Rules, inspection: Inspection
) -> None:
    full_case(session, rules, inspection, "CIN-1")
    audited, graded, _ = add(
        session, rules, inspection, NewCase("CIN-2", "tm-01"), NewCase("CIN-3", "tm-02"), "CIN-4"
    )
    update(session, rules, audited, status="audited")
    update(session, rules, graded, grade="inadequate")

    report = case_audit_report.summary(session, rules=rules, inspection=inspection, now=WEEK2)

    assert report.expected == 18
    assert report.progress.model_dump() == {
        "not_started": 2,
        "audited": 1,
        "re_audited": 0,
        "findings_reported": 1,
        "total": 4,
    }
    assert report.by_grade == {
        "outstanding": 0,
        "good": 1,
        "requires_improvement": 0,
        "inadequate": 1,
        "ungraded": 2,
    }
    assert list(report.by_grade) == [*SIF.grades, "ungraded"]
    assert [case.reference for case in report.cases] == ["CIN-1", "CIN-2", "CIN-3", "CIN-4"]
    assert report.cases[0].auditor_name == "Tomasz Wójcik"
    assert report.cases[0].reauditor_name == "Siân Llewelyn"


@pytest.mark.sqlite_only
def test_without_an_audit_section_the_stages_have_no_due_time(
    database_url: str, tmp_path: Path, session: Session, people: None
) -> None:
    plan = {key: value for key, value in AUDIT_PLAN.items() if key != "audit"}
    rules = build_rules(
        make_settings(database_url=database_url, plans_dir=write_plan(tmp_path / "p", plan))
    )
    inspection = make_inspection(session, rules, notified_at=CALL)
    add(session, rules, inspection, "CIN-1")

    report = case_audit_report.summary(session, rules=rules, inspection=inspection, now=WEEK2)

    assert (report.due.audited, report.due.re_audited, report.due.findings_reported) == (
        None,
        None,
        None,
    )
    assert report.overdue == []


@pytest.mark.sqlite_only
def test_the_shipped_plan_times_the_audit_by_its_tasks(
    session: Session, engine: Engine, rules: Rules, inspection: Inspection
) -> None:
    plan = rules.plans.get("sif-2013")
    assert plan is not None and plan.audit is not None
    with Session(reader(engine)) as fresh:
        tasks = {
            task.key: task.due_at
            for task in fresh.exec(select(Task).where(Task.inspection_id == inspection.id))
        }
    report = case_audit_report.summary(session, rules=rules, inspection=inspection, now=CALL)

    for stage, key in plan.audit.model_dump().items():
        assert getattr(report.due, stage) == tasks[key] is not None


@pytest.mark.sqlite_only
def test_due_times_come_from_the_plans_audit_tasks(
    session: Session, planned_rules: Rules, people: None
) -> None:
    inspection = make_inspection(session, planned_rules, notified_at=CALL)
    report = case_audit_report.summary(
        session, rules=planned_rules, inspection=inspection, now=CALL
    )

    # Week 2 is 16-20 June 2025 (British Summer Time, UTC+1).
    assert report.due.audited == datetime(2025, 6, 18, 16, 0, tzinfo=UTC)
    assert report.due.re_audited == datetime(2025, 6, 20, 11, 0, tzinfo=UTC)
    assert report.due.findings_reported == datetime(2025, 6, 20, 16, 0, tzinfo=UTC)
    assert report.model_dump(mode="json")["due"]["audited"] == "2025-06-18T16:00:00+00:00"


@pytest.mark.sqlite_only
def test_a_stage_is_overdue_once_due_with_cases_not_there_yet(
    session: Session, planned_rules: Rules, people: None
) -> None:
    rules = planned_rules
    inspection = make_inspection(session, rules, notified_at=CALL)
    cases = add(session, rules, inspection, *refs(18))

    def overdue(now: datetime) -> list[str]:
        report = case_audit_report.summary(session, rules=rules, inspection=inspection, now=now)
        return [stage.value for stage in report.overdue]

    assert overdue(london(2025, 6, 18, 17)) == ["audited"]
    assert overdue(london(2025, 6, 18, 16, 59)) == []
    for case in cases[:17]:
        update(session, rules, case, auditor_contact_id="tm-01", status="audited")
    assert overdue(london(2025, 6, 18, 17, 1)) == ["audited"]
    update(session, rules, cases[17], auditor_contact_id="tm-02", status="audited")
    assert overdue(london(2025, 6, 18, 17, 1)) == []
    assert overdue(london(2025, 6, 20, 12, 0)) == ["re_audited"]
    assert overdue(london(2025, 6, 20, 17, 0)) == ["re_audited", "findings_reported"]


@pytest.mark.sqlite_only
def test_cases_not_yet_entered_count_as_not_started(
    session: Session, planned_rules: Rules, people: None
) -> None:
    inspection = make_inspection(session, planned_rules, notified_at=CALL)
    for case in add(session, planned_rules, inspection, *refs(17)):
        update(session, planned_rules, case, auditor_contact_id="tm-01", status="audited")
    report = case_audit_report.summary(
        session, rules=planned_rules, inspection=inspection, now=london(2025, 6, 19, 9)
    )
    assert report.progress.audited == 17
    assert [stage.value for stage in report.overdue] == ["audited"]


# --- the CSV export ------------------------------------------------------------------------


def read_csv(content: bytes) -> list[dict[str, str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "no byte-order mark: Excel would garble accents"
    text = content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_the_export_reads_back_with_names_london_times_and_no_formulas(
    session: Session, rules: Rules, inspection: Inspection
) -> None:
    sneaky = session.get(Contact, "tm-02")
    assert sneaky is not None
    sneaky.name = "@Aisha Bello"  # stored before validation existed, say
    session.add(sneaky)
    session.commit()
    findings = '=HYPERLINK("http://example.org","open")\nSecond line, «quoted», Ŵ.'
    case = full_case(session, rules, inspection, "CIN-004512")
    update(session, rules, case, status="re_audited", now=london(2025, 6, 19, 10))
    update(
        session,
        rules,
        case,
        status="findings_reported",
        findings=findings,
        now=london(2025, 12, 1, 9, 30),  # Greenwich Mean Time: the clock shows 09:30 too
    )
    add(session, rules, inspection, NewCase("LAC/2013/0042", "tm-02"))

    grades = rules.framework(inspection.framework).grades
    rows = read_csv(
        case_audit_report.export_csv(
            session, inspection_id=inspection.id, grades=grades, zone=LONDON
        )
    )

    assert list(rows[0]) == list(case_audit_report.CSV_COLUMNS)
    assert rows[0] == {
        "reference": "CIN-004512",
        "status": "findings_reported",
        "first_tier_grade": "good",
        "grade": "good",
        "moderation": "agreed",
        "findings": "'" + findings,
        "strengths": "",
        "areas_for_improvement": "",
        "good_practice": "",
        "auditor": "Tomasz Wójcik",
        "re-auditor": "Siân Llewelyn",
        "audited_at": "2025-06-16 09:00",
        "re_audited_at": "2025-06-16 09:00",
        "reported_at": "2025-12-01 09:30",
    }
    assert rows[1]["reference"] == "LAC/2013/0042"
    assert rows[1]["auditor"] == "'@Aisha Bello"
    assert rows[1]["status"] == "not_started"
    assert rows[1]["re-auditor"] == rows[1]["audited_at"] == rows[1]["grade"] == ""
    assert len(rows) == 2


@pytest.mark.sqlite_only
def test_the_export_of_an_empty_audit_is_the_header(
    session: Session, rules: Rules, inspection: Inspection
) -> None:
    content = case_audit_report.export_csv(
        session, inspection_id=inspection.id, grades=("good", "inadequate"), zone=LONDON
    )
    assert content == b"\xef\xbb\xbf" + ",".join(case_audit_report.CSV_COLUMNS).encode() + b"\r\n"
    assert (
        case_audit_report.csv_filename(london(2025, 6, 20, 0, 30), LONDON) == "audit-2025-06-20.csv"
    )
