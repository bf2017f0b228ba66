"""Frameworks are data: the shipped files must load, match the rules in DESIGN.md, and a bad
council file must be refused with the file and the field named, before the service starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from service.frameworks import (
    DEFAULT_FRAMEWORK,
    SHIPPED_DIR,
    FrameworkError,
    Milestone,
    OnSiteStartRule,
    Registry,
    Weekday,
    load_all,
    load_file,
)
from service.main import build_rules
from tests.conftest import make_settings

SHIPPED = {"ilacs-short", "ilacs-standard", "sif-2013"}


def sif_2013_data() -> dict[str, Any]:
    return yaml.safe_load((SHIPPED_DIR / "sif-2013.yaml").read_text(encoding="utf-8"))


def write(folder: Path, name: str, data: dict[str, Any]) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def council_copy(key: str, **changes: Any) -> dict[str, Any]:
    data = sif_2013_data()
    data.update(key=key, **changes)
    return data


# --- the shipped files ----------------------------------------------------------------------


def test_the_three_shipped_frameworks_load() -> None:
    found = load_all()
    assert set(found) == SHIPPED
    assert DEFAULT_FRAMEWORK in found
    for key in SHIPPED:
        assert load_file(SHIPPED_DIR / f"{key}.yaml") == found[key]


def test_sif_2013_matches_the_timetable_rules_in_the_design() -> None:
    sif = load_all()["sif-2013"]
    assert sif.usual_call_weekday is Weekday.tuesday
    assert sif.on_site_start is OnSiteStartRule.next_working_day
    assert sif.normal_on_site_days == 11
    assert [(p.key, p.week, p.on_site) for p in sif.phases] == [
        ("week1", 1, True),
        ("week2", 2, False),
        ("week3", 3, True),
        ("week4", 4, True),
    ]
    weekdays = {p.key: [w.value for w in p.weekdays] for p in sif.phases}
    assert weekdays["week3"] == ["monday", "tuesday", "wednesday", "thursday", "friday"]
    assert weekdays["week4"] == ["monday", "tuesday", "wednesday"]
    # Week 1 runs from the on-site start (Wednesday after a Tuesday call) to Friday: 3 days;
    # with week 3 (5) and week 4 (3) that makes the normal 11.
    week1_from_wednesday = [
        w for w in sif.phases[0].weekdays if w.number >= Weekday.wednesday.number
    ]
    assert len(week1_from_wednesday) + 5 + 3 == sif.normal_on_site_days

    publication, action = sif.deadlines
    assert (publication.key, publication.working_days, publication.counted_from) == (
        "publication",
        30,
        "inspection_end",
    )
    assert publication.met_by is Milestone.report_published
    assert (action.key, action.working_days, action.counted_from) == (
        "action_statement",
        70,
        "publication_due",
    )
    assert action.recounted_from is Milestone.report_published
    assert action.met_by is Milestone.action_statement_published


@pytest.mark.parametrize(("key", "on_site_days"), [("ilacs-standard", 10), ("ilacs-short", 5)])
def test_ilacs_frameworks_go_on_site_the_week_after_a_monday_call(
    key: str, on_site_days: int
) -> None:
    framework = load_all()[key]
    assert framework.usual_call_weekday is Weekday.monday
    assert framework.on_site_start is OnSiteStartRule.following_week
    assert framework.normal_on_site_days == on_site_days
    on_site_weekdays = sum(len(p.weekdays) for p in framework.phases if p.on_site)
    assert on_site_weekdays == on_site_days
    lead_up = framework.phases[0]
    assert (lead_up.week, lead_up.on_site) == (0, False)


def test_public_shape_is_plain_json() -> None:
    public = load_all()["sif-2013"].public()
    assert public["usual_call_weekday"] == "tuesday"
    assert public["deadlines"][1]["recounted_from"] == "report_published"


def test_the_registry_lists_keys_in_order_and_answers_none_for_unknown() -> None:
    registry = Registry(load_all())
    assert registry.keys() == sorted(SHIPPED)
    assert registry.get("sif-2013") is not None
    assert registry.get("sif-2009") is None
    assert [f.key for f in registry.all()] == sorted(SHIPPED)


# --- invalid files --------------------------------------------------------------------------


def test_bad_yaml_is_refused_naming_the_file_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "council.yaml"
    path.write_text("key: council\nname: [unclosed\nsource: somewhere\n", encoding="utf-8")
    with pytest.raises(FrameworkError) as caught:
        load_file(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert "line 3" in message
    assert "not valid YAML" in message


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "council.yaml"
    path.write_text("- week1\n- week2\n", encoding="utf-8")
    with pytest.raises(FrameworkError, match="must be a mapping"):
        load_file(path)


def _mutations() -> list[tuple[str, Any, list[str]]]:
    def unknown_top(d: dict[str, Any]) -> None:
        d["colour"] = "blue"

    def unknown_in_phase(d: dict[str, Any]) -> None:
        d["phases"][1]["onsite"] = True

    def missing(d: dict[str, Any]) -> None:
        del d["usual_call_weekday"]

    def missing_in_deadline(d: dict[str, Any]) -> None:
        del d["deadlines"][0]["working_days"]

    def overlapping(d: dict[str, Any]) -> None:
        d["phases"][3]["week"] = 3  # week 4's Mon-Wed now collide with week 3

    def unknown_anchor(d: dict[str, Any]) -> None:
        d["deadlines"][1]["counted_from"] = "report_due"

    def anchor_listed_later(d: dict[str, Any]) -> None:
        d["deadlines"].reverse()  # action_statement now counts from a deadline not yet defined

    def no_on_site_phase(d: dict[str, Any]) -> None:
        for phase in d["phases"]:
            phase["on_site"] = False

    def bad_weekday(d: dict[str, Any]) -> None:
        d["usual_call_weekday"] = "saturday"

    def bad_milestone(d: dict[str, Any]) -> None:
        d["deadlines"][1]["recounted_from"] = "report_drafted"

    return [
        ("unknown field", unknown_top, ["colour", "Extra inputs"]),
        ("unknown field in a phase", unknown_in_phase, ["phases.1.onsite", "Extra inputs"]),
        ("missing field", missing, ["usual_call_weekday", "Field required"]),
        ("missing deadline field", missing_in_deadline, ["deadlines.0.working_days", "required"]),
        ("overlapping phases", overlapping, ["week4 overlaps", "monday of week 3"]),
        (
            "unknown anchor",
            unknown_anchor,
            ["deadlines.action_statement.counted_from", "report_due"],
        ),
        ("anchor listed later", anchor_listed_later, ["deadlines.action_statement.counted_from"]),
        ("no on-site phase", no_on_site_phase, ["at least one phase must be on site"]),
        ("weekend call day", bad_weekday, ["usual_call_weekday"]),
        ("unknown milestone", bad_milestone, ["deadlines.1.recounted_from"]),
    ]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [pytest.param(m, e, id=name) for name, m, e in _mutations()],
)
def test_an_invalid_framework_is_refused_naming_the_file_and_the_field(
    tmp_path: Path, mutate: Any, expected: list[str]
) -> None:
    data = council_copy("council")
    mutate(data)
    path = write(tmp_path, "council", data)
    with pytest.raises(FrameworkError) as caught:
        load_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:")
    for part in expected:
        assert part in message


def test_the_key_must_match_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, "council-2026", council_copy("council-2025"))
    with pytest.raises(FrameworkError) as caught:
        load_file(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert "key:" in message
    assert "'council-2025'" in message
    assert "'council-2026'" in message


def test_an_unchanged_copy_under_its_own_key_is_valid(tmp_path: Path) -> None:
    """The mutations above are refused because of the mutation, not because of the copy."""
    framework = load_file(write(tmp_path, "council", council_copy("council")))
    assert framework.key == "council"


# --- FRAMEWORKS_DIR -------------------------------------------------------------------------


def test_frameworks_dir_adds_a_council_framework(tmp_path: Path) -> None:
    write(
        tmp_path,
        "council-2026",
        council_copy("council-2026", name="Council's own", normal_on_site_days=10),
    )
    found = load_all(tmp_path)
    assert set(found) == SHIPPED | {"council-2026"}
    assert found["council-2026"].normal_on_site_days == 10
    assert found["sif-2013"].normal_on_site_days == 11


def test_frameworks_dir_may_replace_a_shipped_framework(tmp_path: Path) -> None:
    data = sif_2013_data()
    data["deadlines"][0]["working_days"] = 25
    write(tmp_path, "sif-2013", data)
    found = load_all(tmp_path)
    assert set(found) == SHIPPED
    assert found["sif-2013"].deadlines[0].working_days == 25


def test_a_bad_file_in_frameworks_dir_stops_the_start(tmp_path: Path) -> None:
    data = council_copy("council")
    data["normal_on_site_days"] = 0
    path = write(tmp_path, "council", data)
    with pytest.raises(FrameworkError) as caught:
        build_rules(make_settings(frameworks_dir=tmp_path))
    assert str(caught.value).startswith(str(path))
    assert "normal_on_site_days" in str(caught.value)


def test_the_frameworks_dir_setting_reaches_the_rules(tmp_path: Path) -> None:
    write(tmp_path, "council-2026", council_copy("council-2026"))
    rules = build_rules(make_settings(frameworks_dir=tmp_path))
    assert rules.frameworks.keys() == sorted(SHIPPED | {"council-2026"})
    assert rules.framework("council-2026").key == "council-2026"


def test_a_missing_frameworks_dir_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    with pytest.raises(FrameworkError) as caught:
        load_all(missing)
    assert str(missing) in str(caught.value)
    assert "FRAMEWORKS_DIR" in str(caught.value)


def test_files_not_ending_in_yaml_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "README.txt").write_text("not a framework", encoding="utf-8")
    (tmp_path / "draft.yml.bak").write_text("key: [", encoding="utf-8")
    assert set(load_all(tmp_path)) == SHIPPED
