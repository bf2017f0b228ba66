"""Due rules and reminder rules against real timetables and England's working days.

Expected moments are counted by hand against the gov.uk bank-holiday list and written out in
London wall-clock time; the UTC value is derived from that, so a wrong holiday table, an
off-by-one in counting or a lost BST/GMT offset each shows up as a different moment.
2026: Good Friday 3 April, Easter Monday 6 April, early May 4 May, spring 25 May, summer
31 August, Christmas Friday 25 December, Boxing Day moved to Monday 28 December, New Year's Day
Friday 1 January 2027. BST from Sunday 29 March to Sunday 25 October 2026."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.calendar.working_days import WorkingCalendar
from service.frameworks import Framework, load_all
from service.inspections.timetable import compute
from service.plan.due_rules import (
    DEFAULT_TIME,
    Anchors,
    DueRule,
    RuleError,
    check_anchor,
    due_at,
    known_anchors,
    parse_due,
    parse_reminder,
    remind_at,
)
from tests.builders import london

LONDON = ZoneInfo("Europe/London")
ENGLAND = WorkingCalendar()
FRAMEWORKS = load_all(None)
SIF = FRAMEWORKS["sif-2013"]


def anchors_for(
    framework: Framework,
    notified_at: datetime,
    *,
    calendar: WorkingCalendar = ENGLAND,
    overrides: dict[date, bool] | None = None,
    milestones: dict[str, date] | None = None,
) -> Anchors:
    """The anchors of a real timetable computed from the call, as announce computes them."""
    table = compute(
        framework, notified_at.astimezone(LONDON).date(), calendar, overrides, milestones
    )
    return Anchors.of(notified_at, table, milestones or {})


def due(
    rule: str,
    anchors: Anchors,
    calendar: WorkingCalendar = ENGLAND,
) -> datetime | None:
    return due_at(parse_due(rule), anchors, calendar, LONDON)


def only_day(anchor: str, day: date, notified_at: datetime | None = None) -> Anchors:
    return Anchors(notified_at=notified_at or london(2026, 1, 6, 10), days={anchor: day})


# --- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("called", "expected"),
    [
        (london(2026, 3, 3, 10, 0), london(2026, 3, 3, 17, 0)),  # an early call: 17:00 as before
        (london(2026, 3, 3, 14, 0), london(2026, 3, 3, 17, 0)),  # 17:00 is after 14:00 + 3 hours
        (london(2026, 3, 3, 15, 30), london(2026, 3, 3, 18, 30)),  # a late call still gets 3 hours
        (london(2026, 3, 3, 22, 30), london(2026, 3, 4, 1, 30)),  # past midnight: the next day
        (
            london(2026, 3, 29, 0, 30),
            london(2026, 3, 29, 17, 0),
        ),  # the clocks go forward that night
    ],
)
def test_from_the_call_not_before_a_time_of_the_call_day(
    called: datetime, expected: datetime
) -> None:
    rule = "notified_at + 3 hours, not before 17:00"
    assert parse_due(rule).not_before == time(17)
    assert due(rule, only_day("day0", called.date(), called)) == expected


@pytest.mark.parametrize(
    ("text", "anchor", "amount", "unit", "at"),
    [
        ("notified_at + 2 hours", "notified_at", 2, "hour", None),
        ("notified_at + 1 hour", "notified_at", 1, "hour", None),
        ("notified_at + 45 minutes", "notified_at", 45, "minute", None),
        ("on_site_start 08:30", "on_site_start", 0, None, time(8, 30)),
        ("week2.start + 2 working days 17:00", "week2.start", 2, "working day", time(17)),
        ("week2.start + 1 working day 9:05", "week2.start", 1, "working day", time(9, 5)),
        ("inspection_end", "inspection_end", 0, None, None),
        ("publication_due - 5 working days", "publication_due", -5, "working day", None),
        ("report_published + 10 working days", "report_published", 10, "working day", None),
        ("day0 + 7 days 09:00", "day0", 7, "day", time(9)),
        ("  week3.start   -  1   day  ", "week3.start", -1, "day", None),
    ],
)
def test_every_rule_form_parses(
    text: str, anchor: str, amount: int, unit: str | None, at: time | None
) -> None:
    rule = parse_due(text)
    assert (rule.anchor, rule.amount, rule.unit, rule.at) == (anchor, amount, unit, at)
    assert rule.text == " ".join(text.split())


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "is not a due rule"),
        ("soon please", "is not a due rule"),
        ("on_site_start + 2 fortnights", "is not a due rule"),
        ("on_site_start + two working days", "is not a due rule"),
        ("on_site_start + 1000 working days", "is not a due rule"),
        ("On_Site_Start 08:30", "is not a due rule"),
        ("on_site_start 25:00", "25:00 is not a time of day"),
        ("on_site_start 08:75", "08:75 is not a time of day"),
        ("on_site_start + 2 hours", "hours and minutes count from notified_at only"),
        ("week2.start - 30 minutes", "hours and minutes count from notified_at only"),
        ("notified_at + 2 hours 09:00", "either hours/minutes or a time of day"),
        ("day0 17:00, not before 17:00", "'not before' goes with hours or minutes"),
        ("notified_at + 3 hours, not before 26:00", "26:00 is not a time of day"),
        ("notified_at + 3 hours, not after 17:00", "is not a due rule"),
    ],
)
def test_a_bad_due_rule_names_the_rule_and_the_problem(text: str, problem: str) -> None:
    with pytest.raises(RuleError) as raised:
        parse_due(text)
    message = str(raised.value)
    assert problem in message
    assert repr(text) in message
    if "is not a due rule" in problem:
        assert "e.g." in message  # shows the grammar


@pytest.mark.parametrize(
    ("framework", "anchor"),
    [
        ("sif-2013", "week5.start"),
        ("sif-2013", "onsite1.start"),
        ("sif-2013", "inspection_start"),
        ("sif-2013", "statement_due"),
        ("ilacs-standard", "week2.start"),
        ("ilacs-short", "onsite2.end"),
    ],
)
def test_an_anchor_the_framework_does_not_have_is_refused_with_the_known_ones(
    framework: str, anchor: str
) -> None:
    with pytest.raises(RuleError) as raised:
        check_anchor(parse_due(f"{anchor} + 1 working day"), FRAMEWORKS[framework])
    message = str(raised.value)
    assert f"unknown anchor {anchor!r} for {framework}" in message
    assert "on_site_start" in message and "report_published" in message


@pytest.mark.parametrize(
    ("framework", "anchor"),
    [
        ("sif-2013", "week4.end"),
        ("sif-2013", "action_statement_due"),
        ("ilacs-standard", "lead_up.end"),
        ("ilacs-standard", "onsite2.start"),
        ("ilacs-short", "onsite.start"),
        ("ilacs-short", "closed"),
    ],
)
def test_phase_deadline_and_milestone_anchors_are_known(framework: str, anchor: str) -> None:
    check_anchor(parse_due(anchor), FRAMEWORKS[framework])
    assert anchor in known_anchors(FRAMEWORKS[framework])


# --- the moment of the call ----------------------------------------------------------------


def test_hours_after_the_call_in_gmt_and_in_bst() -> None:
    winter = anchors_for(SIF, london(2026, 3, 3, 10, 15))
    summer = anchors_for(SIF, london(2026, 4, 14, 10, 15))
    assert due("notified_at + 2 hours", winter) == london(2026, 3, 3, 12, 15)
    assert due("notified_at + 2 hours", winter) == datetime(2026, 3, 3, 12, 15, tzinfo=UTC)
    assert due("notified_at + 2 hours", summer) == london(2026, 4, 14, 12, 15)
    assert due("notified_at + 2 hours", summer) == datetime(2026, 4, 14, 11, 15, tzinfo=UTC)
    assert due("notified_at + 90 minutes", summer) == london(2026, 4, 14, 11, 45)


def test_hours_after_the_call_are_elapsed_hours_across_the_clocks_changing() -> None:
    # 00:30 GMT on the night the clocks go forward: two hours later the wall clock says 03:30.
    spring = Anchors(notified_at=datetime(2026, 3, 29, 0, 30, tzinfo=UTC), days={})
    assert due("notified_at + 2 hours", spring) == datetime(2026, 3, 29, 2, 30, tzinfo=UTC)
    assert due("notified_at + 2 hours", spring).astimezone(LONDON).hour == 3  # type: ignore[union-attr]
    # 00:30 BST on the night they go back: two hours later the wall clock says 01:30 GMT.
    autumn = Anchors(notified_at=datetime(2026, 10, 24, 23, 30, tzinfo=UTC), days={})
    assert due("notified_at + 2 hours", autumn) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert due("notified_at + 2 hours", autumn).astimezone(LONDON).time() == time(1, 30)  # type: ignore[union-attr]


def test_working_days_after_the_call_keep_the_time_of_the_call() -> None:
    # Thu 2 April 2026 16:00 BST; Good Friday and Easter Monday are skipped.
    anchors = Anchors(notified_at=london(2026, 4, 2, 16), days={})
    assert due("notified_at + 1 working day", anchors) == london(2026, 4, 7, 16)
    assert due("notified_at 09:00", anchors) == london(2026, 4, 2, 9)
    assert due("notified_at + 1 day 09:00", anchors) == london(2026, 4, 3, 9)


# --- days of the timetable -----------------------------------------------------------------


def test_sif_rules_for_a_call_on_a_tuesday_in_march_across_easter_and_the_clocks_changing() -> None:
    # Call Tue 24 March 2026 (GMT): on site Wed 25 March; week 2 Mon 30 March - Fri 3 April
    # (BST from Sun 29 March; Good Friday 3 April); week 3 from Easter Monday 6 April, so on site
    # 7-10 April; week 4 13-15 April: the inspection ends Wed 15 April.
    anchors = anchors_for(SIF, london(2026, 3, 24, 10, 30))
    assert due("on_site_start 08:30", anchors) == london(2026, 3, 25, 8, 30)
    assert due("on_site_start 08:30", anchors) == datetime(2026, 3, 25, 8, 30, tzinfo=UTC)
    # Mon 30 March + 2 working days = Wed 1 April, in BST now.
    assert due("week2.start + 2 working days 17:00", anchors) == london(2026, 4, 1, 17)
    assert due("week2.start + 2 working days 17:00", anchors) == datetime(
        2026, 4, 1, 16, tzinfo=UTC
    )
    # Thu 2 April is the 3rd; Good Friday and Easter Monday are skipped: Tue 7 April is the 4th.
    assert due("week2.start + 4 working days 12:00", anchors) == london(2026, 4, 7, 12)
    # A day with no time is due at the end of the working day.
    assert due("inspection_end", anchors) == london(2026, 4, 15, 17)
    # Publication: 30 working days after Wed 15 April, skipping 4 and 25 May: Fri 29 May.
    # Five working days before that, skipping Mon 25 May: Thu 21 May.
    assert due("publication_due", anchors) == london(2026, 5, 29, 17)
    assert due("publication_due - 5 working days", anchors) == london(2026, 5, 21, 17)


def test_sif_rules_across_the_end_of_british_summer_time() -> None:
    # Call Tue 20 October 2026: on site Wed 21 October (BST); week 2 Mon 26 October (GMT).
    anchors = anchors_for(SIF, london(2026, 10, 20, 9, 45))
    assert due("on_site_start 08:30", anchors) == datetime(2026, 10, 21, 7, 30, tzinfo=UTC)
    assert due("week2.start + 2 working days 17:00", anchors) == datetime(
        2026, 10, 28, 17, tzinfo=UTC
    )
    assert due("day0 + 7 days 09:00", anchors) == datetime(2026, 10, 27, 9, tzinfo=UTC)


def test_the_august_bank_holiday_and_the_lead_inspectors_overrides() -> None:
    # Call Tue 11 August 2026: on site Wed 12 August; week 4 would start on the summer bank
    # holiday (Mon 31 August), so the inspection ends Wed 2 September with 10 on-site days.
    call = london(2026, 8, 11, 10)
    plain = anchors_for(SIF, call)
    assert due("on_site_start 08:30", plain) == london(2026, 8, 12, 8, 30)
    assert due("inspection_end", plain) == london(2026, 9, 2, 17)
    # Publication due Wed 14 October; five working days before: Wed 7 October.
    assert due("publication_due - 5 working days", plain) == london(2026, 10, 7, 17)

    # The lead inspector adds Thu 3 September and takes the first day off site.
    moved = anchors_for(SIF, call, overrides={date(2026, 9, 3): True, date(2026, 8, 12): False})
    assert due("on_site_start 08:30", moved) == london(2026, 8, 13, 8, 30)
    assert due("inspection_end", moved) == london(2026, 9, 3, 17)
    assert due("publication_due - 5 working days", moved) == london(2026, 10, 8, 17)
    # Rules on the untouched weeks do not move.
    assert due("week2.start + 2 working days 17:00", moved) == due(
        "week2.start + 2 working days 17:00", plain
    )


def test_christmas_new_year_and_council_closure_days() -> None:
    published = {"report_published": date(2026, 12, 18)}  # a Friday
    anchors = only_day("report_published", date(2026, 12, 18))
    # 21-24 December (4), Christmas and the substitute Boxing Day skipped, 29-31 (7),
    # New Year's Day skipped, 4-6 January 2027 (10).
    assert due("report_published + 10 working days", anchors) == london(2027, 1, 6, 17)
    closed = WorkingCalendar(
        closures=frozenset({date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)})
    )
    # The council closes between Christmas and New Year: 21-24 (4), 4-8 January (9), Mon 11.
    assert due("report_published + 10 working days", anchors, closed) == london(2027, 1, 11, 17)
    assert due("report_published - 3 working days", anchors, closed) == london(2026, 12, 15, 17)
    # Through a real timetable, with the milestone recorded.
    table_anchors = anchors_for(
        SIF, london(2026, 10, 20, 9, 45), calendar=closed, milestones=published
    )
    assert due("report_published + 10 working days", table_anchors, closed) == london(
        2027, 1, 11, 17
    )


def test_a_closure_day_moves_a_phase_rule_inside_the_inspection() -> None:
    # Call Tue 3 March 2026: week 2 is 9-13 March. The council shuts on Tue 10 March.
    call = london(2026, 3, 3, 10, 15)
    closure = WorkingCalendar(closures=frozenset({date(2026, 3, 10)}))
    open_ = anchors_for(SIF, call)
    shut = anchors_for(SIF, call, calendar=closure)
    assert due("week2.start + 2 working days 17:00", open_) == london(2026, 3, 11, 17)
    assert due("week2.start + 2 working days 17:00", shut, closure) == london(2026, 3, 12, 17)


def test_a_milestone_not_yet_recorded_gives_no_due_time() -> None:
    anchors = anchors_for(SIF, london(2026, 3, 3, 10, 15))
    assert due("report_published + 10 working days", anchors) is None
    assert due("action_statement_published", anchors) is None
    assert due("closed - 1 working day 12:00", anchors) is None
    recorded = anchors_for(
        SIF, london(2026, 3, 3, 10, 15), milestones={"report_published": date(2026, 5, 7)}
    )
    # Thu 7 May 2026 + 10 working days: 8, 11-15, 18-21 May -> Thu 21 May.
    assert due("report_published + 10 working days", recorded) == london(2026, 5, 21, 17)


def test_the_action_statement_anchor_recounts_from_the_published_report() -> None:
    call = london(2026, 3, 3, 10, 15)  # ends Wed 25 March; publication due Mon 11 May
    before = anchors_for(SIF, call)
    after = anchors_for(SIF, call, milestones={"report_published": date(2026, 5, 7)})
    # 70 working days from Mon 11 May: Tue 18 August. From Thu 7 May: Fri 14 August.
    assert due("action_statement_due 12:00", before) == london(2026, 8, 18, 12)
    assert due("action_statement_due 12:00", after) == london(2026, 8, 14, 12)
    # Ten working days before Fri 14 August: Fri 31 July.
    assert due("action_statement_due - 10 working days", after) == london(2026, 7, 31, 17)


def test_ilacs_anchors_come_from_their_own_phases() -> None:
    # ILACS standard, call Mon 2 March 2026: notification week 2-6 March, on site 9-20 March.
    anchors = anchors_for(FRAMEWORKS["ilacs-standard"], london(2026, 3, 2, 9, 30))
    assert due("day0 + 2 working days 09:00", anchors) == london(2026, 3, 4, 9)
    assert due("lead_up.end 12:00", anchors) == london(2026, 3, 6, 12)
    assert due("on_site_start 08:30", anchors) == london(2026, 3, 9, 8, 30)
    assert due("onsite1.end 15:00", anchors) == london(2026, 3, 13, 15)
    assert due("inspection_end", anchors) == london(2026, 3, 20, 17)


def test_an_anchor_missing_from_the_timetable_gives_no_due_time() -> None:
    anchors = anchors_for(SIF, london(2026, 3, 3, 10, 15))
    assert due("week5.start + 1 working day", anchors) is None


# --- reminders -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("2 hours before", 2, "hour"),
        ("1 hour before", 1, "hour"),
        ("30 minutes before", 30, "minute"),
        ("1 working day before", 1, "working day"),
        ("5 working days before", 5, "working day"),
        ("3 days before", 3, "day"),
        ("  2   Hours  BEFORE ", 2, "hour"),
    ],
)
def test_reminder_rules_parse(text: str, amount: int, unit: str) -> None:
    rule = parse_reminder(text)
    assert rule is not None
    assert (rule.amount, rule.unit) == (amount, unit)


@pytest.mark.parametrize("text", ["none", "None", "", "   "])
def test_no_reminder(text: str) -> None:
    assert parse_reminder(text) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2 hours after", "is not a reminder rule"),
        ("soon", "is not a reminder rule"),
        ("before", "is not a reminder rule"),
        ("2 fortnights before", "is not a reminder rule"),
        ("0 hours before", "a reminder must come before the due time"),
    ],
)
def test_a_bad_reminder_rule_names_the_problem(text: str, problem: str) -> None:
    with pytest.raises(RuleError) as raised:
        parse_reminder(text)
    assert problem in str(raised.value)
    assert repr(text) in str(raised.value)


def remind(text: str, due_moment: datetime, calendar: WorkingCalendar = ENGLAND) -> datetime:
    rule = parse_reminder(text)
    assert rule is not None
    return remind_at(rule, due_moment, calendar, LONDON)


def test_reminders_before_a_due_time_across_easter() -> None:
    due_moment = london(2026, 4, 7, 12)  # Tue 7 April, the day after Easter Monday
    assert remind("1 working day before", due_moment) == london(2026, 4, 2, 12)
    assert remind("2 working days before", due_moment) == london(2026, 4, 1, 12)
    assert remind("3 days before", due_moment) == london(2026, 4, 4, 12)
    assert remind("2 hours before", due_moment) == london(2026, 4, 7, 10)
    assert remind("30 minutes before", due_moment) == london(2026, 4, 7, 11, 30)


def test_reminders_before_a_due_time_across_the_clocks_changing() -> None:
    # Days before keep the wall-clock time; hours before are elapsed hours.
    monday = london(2026, 3, 30, 17)  # BST
    assert remind("3 days before", monday) == london(2026, 3, 27, 17)  # GMT
    assert remind("1 working day before", monday) == datetime(2026, 3, 27, 17, tzinfo=UTC)
    early = datetime(2026, 3, 29, 2, 30, tzinfo=UTC)  # 03:30 BST
    assert remind("2 hours before", early) == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert remind("2 hours before", early.astimezone(LONDON)) == datetime(
        2026, 3, 29, 0, 30, tzinfo=UTC
    )
    autumn = london(2026, 10, 26, 9)  # GMT, the Monday after the clocks go back
    assert remind("1 working day before", autumn) == datetime(2026, 10, 23, 8, tzinfo=UTC)


def test_a_working_day_reminder_skips_council_closure_days() -> None:
    closed = WorkingCalendar(closures=frozenset({date(2027, 1, 4)}))
    due_moment = london(2027, 1, 5, 17)  # Tue 5 January 2027
    assert remind("1 working day before", due_moment) == london(2027, 1, 4, 17)
    # Mon 4 January closed, New Year's Day, the Christmas week: Thu 31 December.
    assert remind("1 working day before", due_moment, closed) == london(2026, 12, 31, 17)


# --- properties ----------------------------------------------------------------------------

DAYS = st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31))


@given(day=DAYS, n=st.integers(min_value=1, max_value=90))
def test_n_working_days_after_a_day_is_a_working_day_n_working_days_later(
    day: date, n: int
) -> None:
    found = due(f"on_site_start + {n} working days", only_day("on_site_start", day))
    assert found is not None
    local = found.astimezone(LONDON)
    assert local.time() == DEFAULT_TIME
    assert ENGLAND.is_working_day(local.date())
    assert ENGLAND.working_days_between(day, local.date()) == n
    # ... and every day in between that is skipped is not a working day.
    assert len(ENGLAND.working_days_in(day + timedelta(days=1), local.date())) == n


@given(day=DAYS, n=st.integers(min_value=1, max_value=90))
def test_n_working_days_before_a_day_counts_back_the_same_way(day: date, n: int) -> None:
    found = due(f"publication_due - {n} working days 09:00", only_day("publication_due", day))
    assert found is not None
    local = found.astimezone(LONDON)
    assert local.time() == time(9)
    assert ENGLAND.is_working_day(local.date())
    assert ENGLAND.working_days_between(local.date(), day) == n or (
        not ENGLAND.is_working_day(day) and ENGLAND.working_days_between(local.date(), day) == n - 1
    )


@given(
    moment=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    ),
    hours=st.integers(min_value=0, max_value=999),
)
def test_hours_after_the_call_are_always_exactly_that_many_hours(
    moment: datetime, hours: int
) -> None:
    found = due(f"notified_at + {hours} hours", Anchors(notified_at=moment, days={}))
    assert found is not None
    assert found - moment == timedelta(hours=hours)
    assert found.tzinfo is not None and found.utcoffset() == timedelta(0)


@given(day=DAYS, n=st.integers(min_value=1, max_value=20))
def test_a_working_day_reminder_lands_n_working_days_before_its_due_day(day: date, n: int) -> None:
    due_moment = datetime.combine(day, time(17), tzinfo=LONDON).astimezone(UTC)
    local = remind(f"{n} working days before", due_moment).astimezone(LONDON)
    assert local.time() == time(17)
    assert local.date() < day
    assert ENGLAND.is_working_day(local.date())
    assert ENGLAND.working_days_between(local.date(), day) in (n, n - 1)
    assert ENGLAND.working_days_between(local.date(), day) == n or not ENGLAND.is_working_day(day)


def test_the_parsed_rule_is_a_plain_value() -> None:
    assert parse_due("inspection_end") == DueRule(text="inspection_end", anchor="inspection_end")
