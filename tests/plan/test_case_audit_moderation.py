# ruff: noqa: F811 (the fixtures are shared with test_case_audit.py by import)
"""The audit's two tiers: the first-tier grade and the senior re-audit's, what the senior changed
(moderation), and findings by kind, on both databases."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import Session, col, select

from service.errors import InvalidInput
from service.inspections.models import Inspection
from service.plan import case_audit_report
from service.plan.case_audit import NewCase
from service.plan.schemas import Moderation
from service.rules import Rules
from service.timeline import TimelineEntry
from tests.plan.test_case_audit import add, inspection, people, update  # noqa: F401

SCALE = ("outstanding", "good", "requires_improvement", "inadequate")
WHO = {"auditor_contact_id": "tm-01", "reauditor_contact_id": "hos-01"}


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("first", "senior", "expected"),
    [
        ("good", "good", Moderation(outcome="agreed", steps=0)),
        ("good", "outstanding", Moderation(outcome="raised", steps=1)),
        ("outstanding", "inadequate", Moderation(outcome="lowered", steps=-3)),
        ("good", None, None),
        (None, "good", None),
        ("adequate", "good", None),
    ],
)
def test_moderation_counts_the_steps_the_senior_moved_the_grade(
    first: str | None, senior: str | None, expected: Moderation | None
) -> None:
    assert Moderation.of(first, senior, SCALE) == expected
    text = case_audit_report.moderation_text(expected)
    assert (
        text
        == {None: "", 0: "agreed", 1: "raised 1 grade", -3: "lowered 3 grades"}[
            expected.steps if expected else None
        ]
    )


def test_the_summary_counts_agreement_and_fills_the_matrix(
    session: Session, rules: Rules, inspection: Inspection
) -> None:
    cases = add(session, rules, inspection, *(NewCase(f"CIN-00{n}", **WHO) for n in range(1, 6)))
    pairs = [
        ("good", "good"),
        ("good", "good"),
        ("good", "inadequate"),
        ("inadequate", "requires_improvement"),
    ]
    for case, (first, senior) in zip(cases, pairs, strict=False):
        update(session, rules, case, status="audited", first_tier_grade=first)
        update(session, rules, case, status="re_audited", grade=senior)
    update(session, rules, cases[4], status="audited", first_tier_grade="outstanding")

    report = case_audit_report.summary(
        session, rules=rules, inspection=inspection, now=datetime.now().astimezone()
    )
    moderation = report.moderation
    assert (moderation.compared, moderation.agreed, moderation.raised, moderation.lowered) == (
        4,
        2,
        1,
        1,
    )
    assert moderation.agreement_percent == 50
    assert list(moderation.matrix) == list(SCALE)
    assert moderation.matrix["good"] == {
        "outstanding": 0,
        "good": 2,
        "requires_improvement": 0,
        "inadequate": 1,
    }
    assert moderation.matrix["inadequate"]["requires_improvement"] == 1
    assert sum(sum(row.values()) for row in moderation.matrix.values()) == 4
    # `by_grade` counts the senior's grade: the moderated one.
    assert report.by_grade["good"] == 2 and report.by_grade["ungraded"] == 1
    assert [case.moderation for case in report.cases][4] is None


def test_a_re_audit_needs_both_grades_and_a_report_at_least_one_finding(
    session: Session, rules: Rules, inspection: Inspection
) -> None:
    [case] = add(session, rules, inspection, NewCase("CIN-004512", **WHO))
    update(session, rules, case, status="audited")  # the first-tier grade may come later
    with pytest.raises(InvalidInput) as refused:
        update(session, rules, case, status="re_audited", grade="good")
    assert refused.value.field == "first_tier_grade"
    assert "for the moderation" in refused.value.message
    with pytest.raises(InvalidInput) as refused:
        update(session, rules, case, first_tier_grade="adequate")
    assert refused.value.field == "first_tier_grade"
    assert "requires_improvement" in refused.value.message
    update(
        session,
        rules,
        case,
        status="re_audited",
        grade="good",
        first_tier_grade="requires_improvement",
    )
    with pytest.raises(InvalidInput) as refused:
        update(session, rules, case, status="findings_reported", strengths="   ")
    assert refused.value.field == "findings"
    with pytest.raises(InvalidInput) as refused:
        update(session, rules, case, status="findings_reported", good_practice="x" * 2001)
    assert refused.value.field == "good_practice"
    update(session, rules, case, status="findings_reported", good_practice="Chronology kept daily.")
    session.refresh(case)
    assert (case.status, case.good_practice, case.strengths) == (
        "findings_reported",
        "Chronology kept daily.",
        None,
    )


def test_the_timeline_names_the_grades_but_only_measures_the_findings(
    session: Session, rules: Rules, inspection: Inspection
) -> None:
    [case] = add(session, rules, inspection, NewCase("CIN-004512", **WHO))
    secret = "The child told the worker about her stepfather."
    update(
        session,
        rules,
        case,
        status="audited",
        first_tier_grade="good",
        areas_for_improvement=secret,
    )
    entry = session.exec(
        select(TimelineEntry)
        .where(TimelineEntry.kind == "audit_case_updated")
        .order_by(col(TimelineEntry.id).desc())
    ).first()
    assert entry is not None
    assert entry.summary == (
        "Case CIN-004512: not_started → audited; first-tier grade good; "
        f"areas for improvement added ({len(secret)} characters)"
    )
    assert "stepfather" not in entry.summary + str(entry.data)
