"""The framework files' `improvement_pathway`: every shipped one loads and reads as documented,
the meeting dates follow the board's rule on working days, and a bad file is refused naming the
file and the field."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.calendar.working_days import WorkingCalendar
from service.frameworks import (
    SHIPPED_DIR,
    FrameworkError,
    ImprovementBoard,
    Registry,
    load_all,
    load_file,
)
from service.improvement.meeting_days import meeting_days
from service.improvement.service import check_frameworks
from service.main import build_rules
from service.plan.definitions import load_all as load_plans
from tests.conftest import make_settings

CALENDAR = WorkingCalendar()


def sif() -> dict[str, Any]:
    return yaml.safe_load((SHIPPED_DIR / "sif-2013.yaml").read_text(encoding="utf-8"))


def write(folder: Path, data: dict[str, Any], name: str = "council") -> Path:
    data["key"] = name
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_every_shipped_framework_lists_a_pathway_opened_by_inadequate() -> None:
    found = load_all()
    check_frameworks(Registry(found))
    plans = load_plans(Registry(found))
    for key, framework in found.items():
        pathway = framework.improvement_pathway
        assert pathway is not None, key
        assert framework.pathway_grade == "inadequate"
        assert pathway.board is not None and pathway.progress_reports is not None
        # every role the pathway names can be mapped to a person on the roles page
        assert pathway.roles() <= {role.key for role in plans[key].roles}, key
        assert any(a.field.startswith("improvement_pathway") for a in framework.assumptions)


def test_sif_2013_board_is_chaired_independently_and_meets_within_20_working_days() -> None:
    pathway = load_all()["sif-2013"].improvement_pathway
    assert pathway is not None and pathway.board is not None
    assert pathway.board.members == [
        "improvement_board_chair",
        "dcs_office",
        "lead_member",
        "partnerships_lead",
    ]
    assert (pathway.board.first_meeting_within, pathway.board.every) == (20, "monthly")
    plan = next(task for task in pathway.tasks if task.key == "improvement_plan")
    assert plan.working_days == 70  # the written statement of action's time
    assert pathway.progress_reports is not None
    assert pathway.progress_reports.working_days_before == 5


def test_without_opened_by_the_scale_s_lowest_opens_it(tmp_path: Path) -> None:
    data = sif()
    del data["improvement_pathway"]["opened_by"]
    data["judgements"]["scale"] = ["good", "poor", "failing"]
    data["judgements"]["limiting"] = []
    assert load_file(write(tmp_path, data)).pathway_grade == "failing"


def board(**changes: Any) -> ImprovementBoard:
    values: dict[str, Any] = {
        "name": "Improvement board",
        "members": ["dcs_office"],
        "first_meeting_within": 20,
        "every": "monthly",
        "weekday": "tuesday",
        "time": "10:00",
    }
    values.update(changes)
    return ImprovementBoard.model_validate(values)


def test_monthly_meetings_keep_the_weekday_of_the_month_for_twelve_months() -> None:
    # Recorded Monday 2 June 2025: 20 working days on is Monday 30 June, so the last Tuesday
    # within is 24 June (the 4th Tuesday), then the 4th Tuesday of each month.
    days = meeting_days(board(), date(2025, 6, 2), CALENDAR, until=date(2026, 6, 2))
    assert days[:4] == [date(2025, 6, 24), date(2025, 7, 22), date(2025, 8, 26), date(2025, 9, 23)]
    assert days[-1] == date(2026, 5, 26)
    assert len(days) == 12
    assert all(day.weekday() == 1 for day in days)


def test_a_meeting_on_a_bank_holiday_moves_to_the_next_working_day() -> None:
    # Every 2 weeks on Mondays from Monday 12 May 2025 reaches Monday 26 May, a bank holiday.
    days = meeting_days(
        board(weekday="monday", every="2 weeks", first_meeting_within=5),
        date(2025, 5, 6),
        CALENDAR,
        until=date(2025, 6, 30),
    )
    assert days[:3] == [date(2025, 5, 12), date(2025, 5, 27), date(2025, 6, 9)]


def test_a_window_without_the_weekday_takes_the_first_one_after_it() -> None:
    # One working day after Wednesday 4 June 2025 holds no Tuesday: the next is 10 June.
    days = meeting_days(
        board(first_meeting_within=1), date(2025, 6, 4), CALENDAR, until=date(2025, 6, 30)
    )
    assert days == [date(2025, 6, 10)]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["improvement_pathway"].update(opened_by="dreadful"),
            "improvement_pathway.opened_by: 'dreadful' is not on the scale",
        ),
        (
            lambda d: d.pop("judgements"),
            "improvement_pathway: opens on the overall judgement; add a `judgements` section",
        ),
        (
            lambda d: d["improvement_pathway"]["tasks"].append(
                dict(d["improvement_pathway"]["tasks"][0])
            ),
            "improvement_pathway.tasks: keys must be unique",
        ),
        (
            lambda d: d["improvement_pathway"]["board"].update(every="fortnightly"),
            "improvement_pathway.board.every",
        ),
        (
            lambda d: d["improvement_pathway"]["board"].update(time="25:00"),
            "improvement_pathway.board.time",
        ),
        (
            lambda d: d["improvement_pathway"]["tasks"][0].pop("owner_role"),
            "improvement_pathway.tasks.0.owner_role: Field required",
        ),
        (
            lambda d: d["improvement_pathway"].pop("board"),
            "improvement_pathway.progress_reports: reports go to the board's meetings",
        ),
        (
            lambda d: d["improvement_pathway"]["board"].update(chair="someone"),
            "improvement_pathway.board.chair: Extra inputs are not permitted",
        ),
    ],
)
def test_a_bad_pathway_is_refused_naming_the_file_and_field(
    tmp_path: Path, change: Any, expected: str
) -> None:
    data = sif()
    change(data)
    path = write(tmp_path, data)
    with pytest.raises(FrameworkError) as raised:
        load_file(path)
    assert str(path) in str(raised.value)
    assert expected in str(raised.value)


def test_a_reminder_rule_the_plan_cannot_read_is_refused_at_start(tmp_path: Path) -> None:
    data = sif()
    data["improvement_pathway"]["board"]["reminder"] = "a week ahead"
    registry = Registry({"council": load_file(write(tmp_path, data))})
    with pytest.raises(FrameworkError) as raised:
        check_frameworks(registry)
    assert "council.yaml: improvement_pathway.board.reminder: 'a week ahead' is not a reminder" in (
        str(raised.value)
    )


def test_the_service_does_not_start_with_such_a_rule(tmp_path: Path) -> None:
    data = sif()
    data["improvement_pathway"]["tasks"][0]["reminder"] = "soon"
    write(tmp_path, data)
    settings = make_settings(database_url="sqlite://", frameworks_dir=tmp_path)
    with pytest.raises(FrameworkError, match=r"improvement_pathway\.tasks\.0\.reminder: 'soon'"):
        build_rules(settings)
