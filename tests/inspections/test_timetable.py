"""The week 1-4 timetable and the statutory deadlines, computed without a database.

Every expected date is counted by hand from the gov.uk bank-holiday list (England); the counts
are in the comments so a reviewer can check them against a calendar."""

from __future__ import annotations

from datetime import date

import pytest

from service.calendar.working_days import WorkingCalendar
from service.frameworks import Framework, load_all
from service.inspections.timetable import (
    PhaseDays,
    Timetable,
    TimetableError,
    compute,
    phase_for_date,
)

FRAMEWORKS = load_all()
SIF = FRAMEWORKS["sif-2013"]
ILACS_STANDARD = FRAMEWORKS["ilacs-standard"]
ILACS_SHORT = FRAMEWORKS["ilacs-short"]
ENGLAND = WorkingCalendar()

TUESDAY_CALL = date(2026, 3, 3)


def days(*values: tuple[int, int, int]) -> list[date]:
    return [date(*value) for value in values]


def phase(table: Timetable, key: str) -> PhaseDays:
    return next(p for p in table.phases if p.key == key)


def sif(day0: date, **kwargs: object) -> Timetable:
    return compute(SIF, day0, ENGLAND, **kwargs)  # type: ignore[arg-type]


# --- the usual Tuesday call -----------------------------------------------------------------


def test_a_tuesday_call_gives_the_four_weeks_of_the_design() -> None:
    table = sif(TUESDAY_CALL)
    assert table.day0 == TUESDAY_CALL
    assert table.on_site_start == date(2026, 3, 4)  # Wednesday
    assert phase(table, "week1").days == days((2026, 3, 4), (2026, 3, 5), (2026, 3, 6))
    week2 = phase(table, "week2")
    assert not week2.on_site
    assert (week2.start, week2.end) == (date(2026, 3, 9), date(2026, 3, 13))
    assert phase(table, "week3").days == [date(2026, 3, d) for d in range(16, 21)]
    assert phase(table, "week4").days == days((2026, 3, 23), (2026, 3, 24), (2026, 3, 25))
    assert len(table.on_site_days) == 11
    assert table.inspection_end == date(2026, 3, 25)  # week-4 Wednesday
    assert table.warnings == []


def test_deadlines_after_a_tuesday_call_in_march() -> None:
    table = sif(TUESDAY_CALL)
    publication = table.deadline("publication")
    action = table.deadline("action_statement")
    assert publication is not None and action is not None
    # 30 working days after Wed 2026-03-25: Mar 26-27 (2), Mar 30-Apr 2 (6), Good Friday and
    # Easter Monday skipped, Apr 7-10 (10), Apr 13-17 (15), Apr 20-24 (20), Apr 27-May 1 (25),
    # Early May bank holiday skipped, May 5-8 (29), May 11 (30).
    assert (publication.due, publication.counted_from, publication.from_date) == (
        date(2026, 5, 11),
        "inspection_end",
        date(2026, 3, 25),
    )
    assert publication.working_days == 30
    # 70 working days after 2026-05-11: May 12-15 (4), May 18-22 (9), Spring bank holiday
    # skipped, May 26-29 (13), then eleven full weeks Jun 1-Aug 14 (68), Aug 17-18 (70).
    assert (action.due, action.counted_from, action.from_date) == (
        date(2026, 8, 18),
        "publication_due",
        date(2026, 5, 11),
    )
    assert publication.met_on is None and action.met_on is None


def test_deadlines_after_a_tuesday_call_in_january() -> None:
    table = sif(date(2026, 1, 13))
    assert table.inspection_end == date(2026, 2, 4)
    # 30 after Wed 2026-02-04: Feb 5-6 (2), five full weeks Feb 9-Mar 13 (27), Mar 16-18 (30).
    assert table.deadline("publication").due == date(2026, 3, 18)  # type: ignore[union-attr]
    # 70 after 2026-03-18: Mar 19-20 (2), Mar 23-27 (7), Mar 30-Apr 2 (11), Easter skipped,
    # Apr 7-10 (15), Apr 13-May 1 (30), May 4 skipped, May 5-8 (34), May 11-22 (44),
    # May 25 skipped, May 26-29 (48), Jun 1-26 (68), Jun 29-30 (70).
    assert table.deadline("action_statement").due == date(2026, 6, 30)  # type: ignore[union-attr]


# --- calls on other weekdays ----------------------------------------------------------------


def test_a_thursday_call_warns_and_names_the_weekday() -> None:
    table = sif(date(2026, 3, 5))
    assert table.on_site_start == date(2026, 3, 6)
    assert phase(table, "week1").days == [date(2026, 3, 6)]
    assert len(table.on_site_days) == 9
    assert any("Thursday" in w and "Tuesday" in w for w in table.warnings)
    assert any("9 on-site days" in w for w in table.warnings)


def test_a_friday_call_puts_week_one_in_the_following_week() -> None:
    table = sif(date(2026, 3, 6))
    assert table.on_site_start == date(2026, 3, 9)
    assert phase(table, "week1").days == [date(2026, 3, d) for d in range(9, 14)]
    assert table.inspection_end == date(2026, 4, 1)  # Wednesday of the fourth week
    assert len(table.on_site_days) == 13
    assert table.warnings[0] == (
        "13 on-site days, more than the usual 11 for Single inspection framework (2013); "
        "check the cover for the extra days."
    )
    assert "Friday" in table.warnings[1] and len(table.warnings) == 2


def test_a_tuesday_call_on_a_bank_holiday_is_flagged() -> None:
    # Tuesday 2027-12-28 is Boxing Day (observed).
    table = sif(date(2027, 12, 28))
    assert table.on_site_start == date(2027, 12, 29)
    assert len(table.on_site_days) == 11
    assert table.warnings == [
        "The call came on 2027-12-28, not a working day (Boxing Day (observed))."
    ]


# --- bank holidays inside on-site phases ----------------------------------------------------


def test_spring_bank_holiday_in_week_three_costs_an_on_site_day() -> None:
    table = sif(date(2026, 5, 12))
    week3 = phase(table, "week3")
    assert (week3.start, week3.end) == (date(2026, 5, 25), date(2026, 5, 29))
    assert week3.days == [date(2026, 5, d) for d in range(26, 30)]
    assert len(table.on_site_days) == 10
    assert table.inspection_end == date(2026, 6, 3)
    assert len(table.warnings) == 1
    assert "10 on-site days, fewer than the usual 11" in table.warnings[0]
    assert "2026-05-25 (Spring Bank Holiday)" in table.warnings[0]
    # 30 after Wed 2026-06-03: Jun 4-5 (2), Jun 8-Jul 10 (27), Jul 13-15 (30).
    assert table.deadline("publication").due == date(2026, 7, 15)  # type: ignore[union-attr]


def test_a_bank_holiday_in_the_off_site_week_costs_nothing() -> None:
    # Called 2026-05-19: the Spring bank holiday falls in week 2, when nobody is on site.
    table = sif(date(2026, 5, 19))
    assert date(2026, 5, 25) not in phase(table, "week2").days
    assert len(phase(table, "week2").days) == 4
    assert len(table.on_site_days) == 11
    assert table.inspection_end == date(2026, 6, 10)
    assert table.warnings == []


def test_easter_monday_in_week_three() -> None:
    table = sif(date(2026, 3, 24))
    assert phase(table, "week3").days == days(
        (2026, 4, 7), (2026, 4, 8), (2026, 4, 9), (2026, 4, 10)
    )
    assert table.inspection_end == date(2026, 4, 15)
    assert len(table.on_site_days) == 10
    assert "2026-04-06 (Easter Monday)" in table.warnings[0]
    # 30 after Wed 2026-04-15: Apr 16-17 (2), Apr 20-May 1 (12), May 4 skipped, May 5-8 (16),
    # May 11-22 (26), May 25 skipped, May 26-29 (30).
    assert table.deadline("publication").due == date(2026, 5, 29)  # type: ignore[union-attr]


def test_good_friday_in_week_one() -> None:
    table = sif(date(2026, 3, 31))
    assert phase(table, "week1").days == days((2026, 4, 1), (2026, 4, 2))
    assert len(table.on_site_days) == 10
    assert "2026-04-03 (Good Friday)" in table.warnings[0]
    assert "Easter Monday" not in table.warnings[0]  # Easter Monday falls in off-site week 2


def test_late_summer_bank_holiday_in_week_three() -> None:
    table = sif(date(2026, 8, 18))
    assert date(2026, 8, 31) not in table.on_site_days
    assert phase(table, "week3").days[0] == date(2026, 9, 1)
    assert table.inspection_end == date(2026, 9, 9)
    assert len(table.on_site_days) == 10
    assert "2026-08-31 (Late Summer Bank Holiday)" in table.warnings[0]


def test_a_call_just_before_christmas() -> None:
    table = sif(date(2026, 12, 22))
    assert phase(table, "week1").days == days((2026, 12, 23), (2026, 12, 24))
    # Week 2 (off site) holds Boxing Day observed and New Year's Day.
    assert phase(table, "week2").days == days((2026, 12, 29), (2026, 12, 30), (2026, 12, 31))
    assert phase(table, "week3").days == [date(2027, 1, d) for d in range(4, 9)]
    assert table.inspection_end == date(2027, 1, 13)
    assert len(table.on_site_days) == 10
    assert "2026-12-25 (Christmas Day)" in table.warnings[0]
    # 30 after Wed 2027-01-13: Jan 14-15 (2), Jan 18-Feb 19 (27), Feb 22-24 (30).
    assert table.deadline("publication").due == date(2027, 2, 24)  # type: ignore[union-attr]


def test_a_closure_day_on_the_first_morning_delays_the_start_and_is_named() -> None:
    calendar = WorkingCalendar(
        closures=frozenset({date(2026, 3, 4)}),
        closure_reasons=((date(2026, 3, 4), "Election count in the civic centre"),),
    )
    table = compute(SIF, TUESDAY_CALL, calendar)
    assert table.on_site_start == date(2026, 3, 5)
    assert len(table.on_site_days) == 10
    assert "2026-03-04 (Election count in the civic centre)" in table.warnings[0]


# --- overrides ------------------------------------------------------------------------------


def test_taking_the_last_day_off_site_brings_the_end_and_the_deadlines_forward() -> None:
    table = sif(TUESDAY_CALL, overrides={date(2026, 3, 25): False})
    assert table.inspection_end == date(2026, 3, 24)
    assert len(table.on_site_days) == 10
    assert "2026-03-25 (changed by the lead inspector)" in table.warnings[0]
    # 30 after Tue 2026-03-24: Mar 25-27 (3), Mar 30-Apr 2 (7), Easter skipped, Apr 7-10 (11),
    # Apr 13-May 1 (26), May 4 skipped, May 5-8 (30).
    assert table.deadline("publication").due == date(2026, 5, 8)  # type: ignore[union-attr]


def test_taking_a_middle_day_off_site_keeps_the_end() -> None:
    table = sif(TUESDAY_CALL, overrides={date(2026, 3, 5): False})
    assert phase(table, "week1").days == days((2026, 3, 4), (2026, 3, 6))
    assert table.inspection_end == date(2026, 3, 25)
    assert table.deadline("publication").due == date(2026, 5, 11)  # type: ignore[union-attr]
    assert len(table.on_site_days) == 10


def test_an_added_thursday_in_week_four_extends_the_end_and_the_deadlines() -> None:
    table = sif(TUESDAY_CALL, overrides={date(2026, 3, 26): True})
    week4 = phase(table, "week4")
    assert week4.days == days((2026, 3, 23), (2026, 3, 24), (2026, 3, 25), (2026, 3, 26))
    assert week4.end == date(2026, 3, 26)
    assert table.inspection_end == date(2026, 3, 26)
    assert len(table.on_site_days) == 12
    assert table.warnings == [
        "12 on-site days, more than the usual 11 for Single inspection framework (2013): also "
        "on site on 2026-03-26 (changed by the lead inspector); check the cover for the extra "
        "days."
    ]
    # 30 after Thu 2026-03-26: the count from Mar 25 (May 11) moves on one working day.
    assert table.deadline("publication").due == date(2026, 5, 12)  # type: ignore[union-attr]
    # 70 after 2026-05-12: one working day after Aug 18.
    assert table.deadline("action_statement").due == date(2026, 8, 19)  # type: ignore[union-attr]


def test_an_override_cannot_put_inspectors_on_site_on_a_bank_holiday() -> None:
    table = sif(date(2026, 3, 24), overrides={date(2026, 4, 6): True})
    assert date(2026, 4, 6) not in table.on_site_days
    assert len(table.on_site_days) == 10


def test_added_days_belong_to_the_on_site_phase_of_their_week() -> None:
    start = TUESDAY_CALL
    assert phase_for_date(SIF, start, ENGLAND, date(2026, 3, 26)).key == "week4"  # type: ignore[union-attr]
    assert phase_for_date(SIF, start, ENGLAND, date(2026, 3, 16)).key == "week3"  # type: ignore[union-attr]
    assert phase_for_date(SIF, start, ENGLAND, date(2026, 3, 11)) is None  # week 2 is off site
    assert phase_for_date(SIF, start, ENGLAND, date(2026, 3, 30)) is None  # after week 4


def test_removing_every_on_site_day_is_refused() -> None:
    everything_off = {day: False for day in sif(TUESDAY_CALL).on_site_days}
    with pytest.raises(TimetableError, match="no on-site day"):
        sif(TUESDAY_CALL, overrides=everything_off)


def test_keeping_one_on_site_day_is_allowed() -> None:
    all_but_one = {day: False for day in sif(TUESDAY_CALL).on_site_days[1:]}
    table = sif(TUESDAY_CALL, overrides=all_but_one)
    assert table.on_site_days == [date(2026, 3, 4)]
    assert table.inspection_end == date(2026, 3, 4)


# --- milestones -----------------------------------------------------------------------------


def test_a_recorded_publication_date_recounts_the_action_statement_from_it() -> None:
    table = sif(TUESDAY_CALL, milestones={"report_published": date(2026, 5, 6)})
    publication = table.deadline("publication")
    action = table.deadline("action_statement")
    assert publication is not None and action is not None
    assert publication.due == date(2026, 5, 11)
    assert publication.met_on == date(2026, 5, 6)
    assert action.counted_from == "report_published"
    assert action.from_date == date(2026, 5, 6)
    # 70 after Wed 2026-05-06: May 7-8 (2), May 11-22 (12), May 25 skipped, May 26-29 (16),
    # Jun 1-Aug 7 (66), Aug 10-13 (70).
    assert action.due == date(2026, 8, 13)
    assert action.met_on is None


def test_the_action_statement_milestone_meets_its_deadline() -> None:
    table = sif(
        TUESDAY_CALL,
        milestones={
            "report_published": date(2026, 5, 6),
            "action_statement_published": date(2026, 7, 1),
        },
    )
    assert table.deadline("action_statement").met_on == date(2026, 7, 1)  # type: ignore[union-attr]


# --- ILACS ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("framework", "on_site", "end", "publication"),
    [
        # 20 working days after Fri 2026-03-20: Mar 23-Apr 2 (9), Easter skipped,
        # Apr 7-17 (18), Apr 20-21 (20).
        (ILACS_STANDARD, 10, date(2026, 3, 20), date(2026, 4, 21)),
        # 20 after Fri 2026-03-13: Mar 16-Apr 2 (14), Easter skipped, Apr 7-14 (20).
        (ILACS_SHORT, 5, date(2026, 3, 13), date(2026, 4, 14)),
    ],
    ids=["ilacs-standard", "ilacs-short"],
)
def test_ilacs_lead_up_week_then_on_site_from_the_following_monday(
    framework: Framework, on_site: int, end: date, publication: date
) -> None:
    table = compute(framework, date(2026, 3, 2), ENGLAND)
    lead_up = phase(table, "lead_up")
    assert not lead_up.on_site
    assert lead_up.days == [date(2026, 3, d) for d in range(2, 7)]  # from the call day itself
    assert table.on_site_start == date(2026, 3, 9)
    assert len(table.on_site_days) == on_site
    assert table.inspection_end == end
    assert table.deadline("publication").due == publication  # type: ignore[union-attr]
    assert table.warnings == []


def test_an_ilacs_call_midweek_still_goes_on_site_the_next_monday() -> None:
    table = compute(ILACS_STANDARD, date(2026, 3, 4), ENGLAND)
    assert phase(table, "lead_up").days == days((2026, 3, 4), (2026, 3, 5), (2026, 3, 6))
    assert table.on_site_start == date(2026, 3, 9)
    assert any("Wednesday" in w and "Monday" in w for w in table.warnings)


def test_an_ilacs_on_site_week_starting_on_a_bank_holiday_starts_on_the_tuesday() -> None:
    table = compute(ILACS_STANDARD, date(2026, 5, 18), ENGLAND)
    assert table.on_site_start == date(2026, 5, 26)
    assert phase(table, "onsite1").days == [date(2026, 5, d) for d in range(26, 30)]
    assert len(table.on_site_days) == 9
    assert "2026-05-25 (Spring Bank Holiday)" in table.warnings[0]
