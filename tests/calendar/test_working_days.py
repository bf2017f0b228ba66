"""Working days in England (and the other UK nations), with the council's closure days.

Expected dates are written out and counted by hand against the gov.uk bank-holiday list, so a
wrong holiday table or an off-by-one in the counting shows up as a different date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session

from service.calendar.closures import (
    ClosureDayExists,
    add_closure_day,
    list_closure_days,
    remove_closure_day,
)
from service.calendar.working_days import (
    MAX_WORKING_DAYS,
    WorkingCalendar,
    WorkingDayError,
    load_calendar,
)
from service.config import BankHolidayRegion
from service.main import build_rules
from tests.conftest import make_settings

ENGLAND = WorkingCalendar()
SCOTLAND = WorkingCalendar(region=BankHolidayRegion.scotland)
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


# --- is_working_day -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2026, 3, 7), "Saturday"),
        (date(2026, 3, 8), "Sunday"),
        (date(2026, 1, 1), "New Year's Day"),
        (date(2026, 4, 3), "Good Friday"),
        (date(2026, 4, 6), "Easter Monday"),
        (date(2026, 5, 4), "May Day"),
        (date(2026, 5, 25), "Spring Bank Holiday"),
        (date(2026, 8, 31), "Late Summer Bank Holiday"),
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 28), "Boxing Day"),  # 26 December 2026 is a Saturday
        (date(2027, 12, 27), "Christmas Day"),  # 25 and 26 December 2027 are a weekend
        (date(2027, 12, 28), "Boxing Day"),
    ],
)
def test_weekends_and_english_bank_holidays_are_not_working_days(day: date, reason: str) -> None:
    assert not ENGLAND.is_working_day(day)
    assert reason in (ENGLAND.non_working_reason(day) or "")


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 3, 2),  # an ordinary Monday
        date(2026, 3, 6),  # an ordinary Friday
        date(2026, 4, 2),  # Maundy Thursday is not a bank holiday
        date(2026, 12, 24),  # Christmas Eve is not a bank holiday
        date(2026, 12, 29),
        date(2026, 1, 2),  # a holiday in Scotland only
        date(2026, 8, 3),  # Scotland's summer bank holiday, not England's
    ],
)
def test_ordinary_weekdays_are_working_days_in_england(day: date) -> None:
    assert ENGLAND.is_working_day(day)
    assert ENGLAND.non_working_reason(day) is None


def test_a_closure_day_is_not_a_working_day_and_gives_its_reason() -> None:
    calendar = WorkingCalendar(
        closures=frozenset({date(2026, 12, 29)}),
        closure_reasons=(
            (date(2026, 12, 29), "Council offices closed between Christmas and New Year"),
        ),
    )
    assert not calendar.is_working_day(date(2026, 12, 29))
    assert calendar.non_working_reason(date(2026, 12, 29)) == (
        "Council offices closed between Christmas and New Year"
    )
    assert ENGLAND.is_working_day(date(2026, 12, 29))


def test_a_closure_day_without_a_reason_is_described_as_a_closure_day() -> None:
    calendar = WorkingCalendar(closures=frozenset({date(2026, 6, 1)}))
    assert calendar.non_working_reason(date(2026, 6, 1)) == "council closure day"


# --- add_working_days -----------------------------------------------------------------------


def test_thirty_working_days_across_christmas_and_new_year() -> None:
    # 30 working days from 2026-12-09: Dec 10-11 (2), Dec 14-18 (7), Dec 21-24 (11),
    # Dec 25 Christmas Day and Dec 28 Boxing Day (observed) skipped, Dec 29-31 (14),
    # Jan 1 New Year's Day skipped, Jan 4-8 (19), Jan 11-15 (24), Jan 18-22 (29), Jan 25 (30).
    assert ENGLAND.add_working_days(date(2026, 12, 9), 30) == date(2027, 1, 25)


def test_thirty_working_days_back_undoes_thirty_forward() -> None:
    # The same days as above, counted back from 2027-01-25.
    assert ENGLAND.add_working_days(date(2027, 1, 25), -30) == date(2026, 12, 9)


def test_thirty_working_days_across_easter_and_early_may() -> None:
    # 30 working days from 2026-03-25: Mar 26-27 (2), Mar 30-Apr 2 (6), Apr 3 Good Friday and
    # Apr 6 Easter Monday skipped, Apr 7-10 (10), Apr 13-17 (15), Apr 20-24 (20),
    # Apr 27-May 1 (25), May 4 Early May bank holiday skipped, May 5-8 (29), May 11 (30).
    assert ENGLAND.add_working_days(date(2026, 3, 25), 30) == date(2026, 5, 11)


@pytest.mark.parametrize(
    ("start", "expected", "skipped"),
    [
        (date(2026, 4, 2), date(2026, 4, 7), "Good Friday, the weekend and Easter Monday"),
        (date(2026, 5, 1), date(2026, 5, 5), "the weekend and the Early May bank holiday"),
        (date(2026, 5, 22), date(2026, 5, 26), "the weekend and the Spring bank holiday"),
        (date(2026, 8, 28), date(2026, 9, 1), "the weekend and the Late Summer bank holiday"),
        (date(2026, 12, 24), date(2026, 12, 29), "Christmas, the weekend, Boxing Day observed"),
        (date(2027, 12, 24), date(2027, 12, 29), "the weekend, then both days observed Mon-Tue"),
        (date(2026, 12, 31), date(2027, 1, 4), "New Year's Day and the weekend"),
    ],
)
def test_the_next_working_day_skips_bank_holidays(
    start: date, expected: date, skipped: str
) -> None:
    assert ENGLAND.add_working_days(start, 1) == expected, skipped
    assert ENGLAND.next_working_day(start) == expected
    assert ENGLAND.add_working_days(expected, -1) == start


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 3, 2), 1, date(2026, 3, 3)),  # Monday -> Tuesday: Monday itself never counts
        (date(2026, 3, 6), 1, date(2026, 3, 9)),  # Friday -> Monday
        (date(2026, 3, 7), 1, date(2026, 3, 9)),  # from a Saturday -> Monday
        (date(2026, 3, 7), -1, date(2026, 3, 6)),  # back from a Saturday -> Friday
        (date(2026, 3, 9), -1, date(2026, 3, 6)),  # Monday back -> Friday
        (date(2026, 3, 2), 5, date(2026, 3, 9)),  # Tue-Fri (4), Mon (5)
    ],
)
def test_the_start_day_is_never_counted(start: date, n: int, expected: date) -> None:
    assert ENGLAND.add_working_days(start, n) == expected


@pytest.mark.parametrize("start", [date(2026, 3, 4), date(2026, 3, 7), date(2026, 12, 25)])
def test_adding_zero_working_days_returns_the_start_even_on_a_non_working_day(start: date) -> None:
    assert ENGLAND.add_working_days(start, 0) == start


def test_closure_days_are_skipped_like_bank_holidays() -> None:
    closed = WorkingCalendar(
        closures=frozenset({date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)})
    )
    # From Christmas Eve: Dec 25 and 28 bank holidays, Dec 29-31 closed, Jan 1 bank holiday.
    assert closed.add_working_days(date(2026, 12, 24), 1) == date(2027, 1, 4)
    assert ENGLAND.add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)
    # The 30 days from 2026-12-09 lose three days to the closure: Jan 25 (27), Jan 26-28 (30).
    assert closed.add_working_days(date(2026, 12, 9), 30) == date(2027, 1, 28)


def test_first_working_day_on_or_after() -> None:
    assert ENGLAND.first_working_day_on_or_after(date(2026, 3, 4)) == date(2026, 3, 4)
    assert ENGLAND.first_working_day_on_or_after(date(2026, 4, 3)) == date(2026, 4, 7)


def test_working_days_in_lists_both_ends_and_skips_holidays() -> None:
    assert ENGLAND.working_days_in(date(2026, 4, 2), date(2026, 4, 8)) == [
        date(2026, 4, 2),
        date(2026, 4, 7),
        date(2026, 4, 8),
    ]


# --- the bound ------------------------------------------------------------------------------


def test_the_largest_allowed_count_is_answered_in_both_directions() -> None:
    start = date(2026, 1, 5)
    later = ENGLAND.add_working_days(start, MAX_WORKING_DAYS)
    earlier = ENGLAND.add_working_days(start, -MAX_WORKING_DAYS)
    # About 253 working days a year: 5000 is between 19 and 21 years either way.
    assert 19 * 365 < (later - start).days < 21 * 365
    assert 19 * 365 < (start - earlier).days < 21 * 365
    assert ENGLAND.working_days_between(start, later) == MAX_WORKING_DAYS
    assert ENGLAND.working_days_between(start, earlier) == -MAX_WORKING_DAYS


@pytest.mark.parametrize("n", [MAX_WORKING_DAYS + 1, -MAX_WORKING_DAYS - 1, 10**9])
def test_counts_beyond_the_bound_are_refused(n: int) -> None:
    with pytest.raises(WorkingDayError, match=str(MAX_WORKING_DAYS)):
        ENGLAND.add_working_days(date(2026, 1, 5), n)


# --- working_days_between -------------------------------------------------------------------


def test_working_days_between_counts_after_start_up_to_and_including_end() -> None:
    assert ENGLAND.working_days_between(date(2026, 12, 9), date(2027, 1, 25)) == 30
    assert ENGLAND.working_days_between(date(2027, 1, 25), date(2026, 12, 9)) == -30
    assert ENGLAND.working_days_between(date(2026, 3, 2), date(2026, 3, 2)) == 0
    # Friday to the following Saturday and Sunday: only the Friday's own day is excluded.
    assert ENGLAND.working_days_between(date(2026, 3, 6), date(2026, 3, 8)) == 0
    assert ENGLAND.working_days_between(date(2026, 3, 6), date(2026, 3, 9)) == 1


def test_working_days_between_inverts_add_working_days_for_every_working_end_day() -> None:
    """Checked over every pair in a stretch with weekends, Christmas and New Year, including
    non-working start days, in both directions."""
    first = date(2026, 12, 14)
    days = [first + timedelta(days=i) for i in range(35)]
    checked = 0
    for start in days:
        for end in days:
            if not ENGLAND.is_working_day(end):
                continue
            n = ENGLAND.working_days_between(start, end)
            assert ENGLAND.add_working_days(start, n) == end, (start, end, n)
            checked += 1
    assert checked > 500


def test_working_days_between_backwards_from_a_weekend_counts_the_friday() -> None:
    # Saturday 2026-03-07 back to Thursday 2026-03-05: Friday and Thursday are 2 working days.
    assert ENGLAND.working_days_between(date(2026, 3, 7), date(2026, 3, 5)) == -2
    assert ENGLAND.add_working_days(date(2026, 3, 7), -2) == date(2026, 3, 5)


def test_working_days_between_is_antisymmetric_between_working_days() -> None:
    working = ENGLAND.working_days_in(date(2026, 12, 14), date(2027, 1, 15))
    for a in working:
        for b in working:
            assert ENGLAND.working_days_between(a, b) == -ENGLAND.working_days_between(b, a)


# --- UK nations -----------------------------------------------------------------------------


def test_scotland_has_the_second_of_january_and_an_early_august_bank_holiday() -> None:
    assert "New Year" in (SCOTLAND.non_working_reason(date(2026, 1, 2)) or "")
    assert not SCOTLAND.is_working_day(date(2026, 8, 3))
    assert SCOTLAND.is_working_day(date(2026, 8, 31))
    # From New Year's Eve 2026: Jan 1 (Fri), Jan 2 (Sat, observed Mon 4 Jan in Scotland).
    assert SCOTLAND.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 5)
    assert ENGLAND.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)


def test_easter_monday_is_not_a_bank_holiday_in_scotland() -> None:
    assert SCOTLAND.is_working_day(date(2026, 4, 6))
    assert not SCOTLAND.is_working_day(date(2026, 4, 3))


def test_the_bank_holiday_region_setting_picks_the_nation(
    database_url: str, session: Session
) -> None:
    scottish = build_rules(make_settings(database_url=database_url, bank_holiday_region="scotland"))
    english = build_rules(make_settings(database_url=database_url))
    assert scottish.region is BankHolidayRegion.scotland
    assert not scottish.calendar(session).is_working_day(date(2026, 1, 2))
    assert english.calendar(session).is_working_day(date(2026, 1, 2))


# --- closure days in the database -----------------------------------------------------------


def test_closure_days_are_added_listed_in_date_order_and_removed(session: Session) -> None:
    add_closure_day(
        session, day=date(2026, 12, 31), reason="Offices closed", actor="Tomasz Wójcik", now=NOW
    )
    add_closure_day(
        session, day=date(2026, 12, 29), reason="Offices closed", actor="Tomasz Wójcik", now=NOW
    )
    session.commit()

    listed = list_closure_days(session)
    assert [c.day for c in listed] == [date(2026, 12, 29), date(2026, 12, 31)]
    assert listed[0].created_by == "Tomasz Wójcik"
    assert listed[0].created_at == NOW

    assert remove_closure_day(session, day=date(2026, 12, 29)) is True
    session.commit()
    assert [c.day for c in list_closure_days(session)] == [date(2026, 12, 31)]
    assert remove_closure_day(session, day=date(2026, 12, 29)) is False


def test_a_closure_day_cannot_be_added_twice(session: Session) -> None:
    add_closure_day(
        session, day=date(2026, 12, 29), reason="Offices closed", actor="admin", now=NOW
    )
    session.commit()
    with pytest.raises(ClosureDayExists, match="2026-12-29"):
        add_closure_day(session, day=date(2026, 12, 29), reason="Again", actor="admin", now=NOW)


def test_the_loaded_calendar_skips_closure_days_and_names_them(session: Session) -> None:
    add_closure_day(
        session, day=date(2026, 12, 29), reason="Christmas shutdown", actor="admin", now=NOW
    )
    session.commit()
    calendar = load_calendar(session, BankHolidayRegion.england)
    assert calendar.non_working_reason(date(2026, 12, 29)) == "Christmas shutdown"
    assert calendar.add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 30)

    remove_closure_day(session, day=date(2026, 12, 29))
    session.commit()
    calendar = load_calendar(session, BankHolidayRegion.england)
    assert calendar.add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)
