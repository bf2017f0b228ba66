"""Plan definitions: the shipped plans load, and every kind of bad council file is refused with
the file and the field named (at load and at start), never half-loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from service import frameworks
from service.main import build_rules, create_app
from service.plan.definitions import (
    SHIPPED_DIR,
    STEERING_GROUP_LEAD,
    Category,
    PlanDefinitionError,
    PlanRegistry,
    load_all,
    load_file,
)
from tests.conftest import make_settings

REGISTRY = frameworks.Registry(frameworks.load_all(None))
ROLES = [
    "steering_group_lead",
    "logistics_lead",
    "it_lead",
    "performance_data_lead",
    "information_lead",
    "communications_lead",
    "dcs_office",
    "heads_of_service",
    "partnerships_lead",
    "improvement_board_chair",
    "lead_member",
    "audit_lead",
]


def minimal(**changes: object) -> dict[str, object]:
    """A small valid sif-2013 plan; `changes` replace top-level fields."""
    plan: dict[str, object] = {
        "framework": "sif-2013",
        "name": "Council plan",
        "roles": [
            {"key": STEERING_GROUP_LEAD, "label": "Steering-group lead"},
            {"key": "logistics_lead", "label": "Logistics lead"},
        ],
        "tasks": [
            {
                "key": "base_room",
                "title": "Book the base room",
                "category": "logistics",
                "owner_role": "logistics_lead",
                "due": "notified_at + 2 hours",
                "reminder": "30 minutes before",
            },
            {
                "key": "parking",
                "title": "Car parking",
                "category": "logistics",
                "owner_role": "logistics_lead",
                "due": "day0 17:00",
                "depends_on": ["base_room"],
            },
        ],
    }
    plan.update(changes)
    return plan


def task(key: str, **fields: object) -> dict[str, object]:
    found = {
        "key": key,
        "title": f"Task {key}",
        "category": "meetings",
        "owner_role": STEERING_GROUP_LEAD,
        "due": "on_site_start 08:30",
    }
    found.update(fields)
    return found


def write(folder: Path, name: str, content: object) -> Path:
    path = folder / name
    text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def refused(path: Path) -> str:
    with pytest.raises(PlanDefinitionError) as raised:
        load_file(path, REGISTRY)
    message = str(raised.value)
    assert message.startswith(f"{path}:"), message
    return message


# --- the shipped plans ---------------------------------------------------------------------


def test_every_shipped_framework_has_a_plan_that_loads() -> None:
    plans = load_all(REGISTRY)
    assert sorted(plans) == sorted(REGISTRY.keys()) == ["ilacs-short", "ilacs-standard", "sif-2013"]
    for key, plan in plans.items():
        assert plan.framework == key
        assert [role.key for role in plan.roles] == ROLES
        assert all(role.label for role in plan.roles)
        assert 25 <= len(plan.tasks) <= 40, (key, len(plan.tasks))
        used = {t.owner_role for t in plan.tasks}
        assert used <= set(ROLES)
        assert STEERING_GROUP_LEAD in used
        for item in plan.tasks:
            assert item.reminder != "none", item.key  # every shipped task reminds its owner


def test_the_sif_plan_covers_every_category_and_names_its_audit_tasks() -> None:
    plan = load_all(REGISTRY)["sif-2013"]
    assert {t.category for t in plan.tasks} == set(Category) - {
        Category.action_plan,
        Category.improvement,
    }  # made by action plans and the improvement pathway, not by plan files
    assert plan.audit is not None
    assert plan.audit.model_dump() == {
        "audited": "audit_first_tier",
        "re_audited": "audit_re_audit",
        "findings_reported": "audit_findings_report",
    }
    for key in ("audit_first_tier", "audit_re_audit", "audit_findings_report"):
        found = plan.task(key)
        assert found is not None and found.category is Category.audit
        assert found.due.startswith("week2.start + ")


def test_the_ilacs_plans_have_no_case_audit_and_their_frameworks_say_why() -> None:
    plans = load_all(REGISTRY)
    for key in ("ilacs-standard", "ilacs-short"):
        assert plans[key].audit is None
        assert not [t for t in plans[key].tasks if t.category is Category.audit]
        framework = REGISTRY.get(key)
        assert framework is not None
        assert framework.audit_cases == 0
        assert "audit_cases" in [a.field for a in framework.assumptions]
        assert framework.grades == [
            "outstanding",
            "good",
            "requires_improvement_to_be_good",
            "inadequate",
        ]
    sif = REGISTRY.get("sif-2013")
    assert sif is not None and sif.audit_cases == 18
    assert sif.grades == ["outstanding", "good", "requires_improvement", "inadequate"]


def test_the_shipped_files_say_they_are_council_data() -> None:
    for path in sorted(SHIPPED_DIR.glob("*.yaml")):
        head = path.read_text(encoding="utf-8")[:1200]
        assert "PLANS_DIR" in head and "edit" in head, path.name


def test_the_registry_lists_roles_and_plans() -> None:
    registry = PlanRegistry(load_all(REGISTRY))
    assert [p.framework for p in registry.all()] == ["ilacs-short", "ilacs-standard", "sif-2013"]
    assert sorted(registry.roles()) == sorted(ROLES)
    assert registry.get("nope") is None


# --- bad files -----------------------------------------------------------------------------


def test_a_minimal_file_loads(tmp_path: Path) -> None:
    plan = load_file(write(tmp_path, "sif-2013.yaml", minimal()), REGISTRY)
    assert [t.key for t in plan.tasks] == ["base_room", "parking"]


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    text = "framework: sif-2013\nname: Council plan\nroles: [\n  {key: a\n"
    message = refused(write(tmp_path, "sif-2013.yaml", text))
    assert "is not valid YAML" in message
    assert " line " in message


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    assert "must be a mapping" in refused(write(tmp_path, "sif-2013.yaml", "- just\n- a list\n"))


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (
            {"tasks": [task("a", owner="Tomasz Wójcik")]},
            "tasks.0.owner",
            "Extra inputs are not permitted",
        ),
        ({"colour": "blue"}, "colour", "Extra inputs are not permitted"),
        ({"tasks": [task("a", category="catering")]}, "tasks.0.category", "Input should be"),
        ({"tasks": [task("A Task")]}, "tasks.0.key", ""),
        ({"tasks": [task("a", title="")]}, "tasks.0.title", ""),
        (
            {"tasks": [task("a", owner_role="press_office")]},
            "tasks.0.owner_role",
            "unknown role 'press_office'",
        ),
        (
            {"tasks": [task("a"), task("b"), task("a")]},
            "tasks.2.key",
            "'a' is used twice",
        ),
        (
            {"tasks": [task("a", depends_on=["zzz"])]},
            "tasks.0.depends_on",
            "no task with key 'zzz'",
        ),
        (
            {"tasks": [task("a"), task("b", depends_on=["b"])]},
            "tasks.1.depends_on",
            "a task cannot depend on itself",
        ),
        (
            {"tasks": [task("a", due="soon please")]},
            "tasks.0.due",
            "'soon please' is not a due rule",
        ),
        (
            {"tasks": [task("a", due="on_site_start + 2 hours")]},
            "tasks.0.due",
            "hours and minutes count from notified_at only",
        ),
        (
            {"tasks": [task("a", reminder="2 hours after")]},
            "tasks.0.reminder",
            "'2 hours after' is not a reminder rule",
        ),
        (
            {"roles": [{"key": "logistics_lead", "label": "Logistics lead"}]},
            "roles",
            "must include 'steering_group_lead'",
        ),
        (
            {
                "roles": [
                    {"key": STEERING_GROUP_LEAD, "label": "Lead"},
                    {"key": STEERING_GROUP_LEAD, "label": "Lead again"},
                ],
                "tasks": [],
            },
            "roles",
            "keys must be unique",
        ),
        (
            {"audit": {"audited": "a", "re_audited": "a", "findings_reported": "nope"}},
            "audit.audited",
            "no task with key 'a'",
        ),
        ({"roles": []}, "roles", ""),
    ],
)
def test_a_bad_field_is_named(
    tmp_path: Path, change: dict[str, object], field: str, problem: str
) -> None:
    message = refused(write(tmp_path, "sif-2013.yaml", minimal(**change)))
    assert "invalid plan definition" in message
    assert f"{field}:" in message, message
    assert problem in message, message


def test_a_dependency_cycle_is_named(tmp_path: Path) -> None:
    tasks = [
        task("brief", depends_on=["rooms"]),
        task("rooms", depends_on=["passes"]),
        task("passes", depends_on=["brief"]),
        task("alone"),
    ]
    message = refused(write(tmp_path, "sif-2013.yaml", minimal(tasks=tasks)))
    assert "dependency cycle" in message
    cycle = message.split("dependency cycle ", 1)[1].split(";")[0].strip()
    steps = cycle.split(" -> ")
    assert steps[0] == steps[-1] and sorted(steps[:-1]) == ["brief", "passes", "rooms"]
    assert "alone" not in cycle


def test_an_anchor_the_framework_does_not_have_is_named(tmp_path: Path) -> None:
    tasks = [task("a"), task("b", due="week5.start + 1 working day")]
    message = refused(write(tmp_path, "sif-2013.yaml", minimal(tasks=tasks)))
    assert "tasks.1.due:" in message
    assert "unknown anchor 'week5.start' for sif-2013" in message
    # The same anchor is fine for the framework that has it.
    ilacs = minimal(framework="ilacs-standard", tasks=[task("a", due="onsite2.start 09:00")])
    assert load_file(write(tmp_path, "ilacs-standard.yaml", ilacs), REGISTRY).tasks[0].key == "a"
    sif_with_ilacs_anchor = minimal(tasks=[task("a", due="onsite2.start 09:00")])
    assert "unknown anchor 'onsite2.start'" in refused(
        write(tmp_path, "sif-2013.yaml", sif_with_ilacs_anchor)
    )


def test_the_file_name_must_be_the_framework(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "council.yaml", minimal()))
    assert "framework: 'sif-2013' must match the file name 'council'" in message


def test_an_unknown_framework_is_named_with_the_known_ones(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "ofsted-2030.yaml", minimal(framework="ofsted-2030")))
    assert "framework: no framework 'ofsted-2030'" in message
    assert "sif-2013" in message and "ilacs-standard" in message


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "sif-2013.yaml"
    path.write_bytes(b"framework: sif-2013\nname: \xff\xfe\n")
    assert "cannot read" in refused(path)


# --- PLANS_DIR -----------------------------------------------------------------------------


def test_a_council_file_replaces_the_shipped_plan_and_leaves_the_others(tmp_path: Path) -> None:
    write(tmp_path, "sif-2013.yaml", minimal(name="Council plan"))
    plans = load_all(REGISTRY, tmp_path)
    shipped = load_all(REGISTRY)
    assert plans["sif-2013"].name == "Council plan"
    assert [t.key for t in plans["sif-2013"].tasks] == ["base_room", "parking"]
    assert plans["ilacs-standard"] == shipped["ilacs-standard"]
    rules = build_rules(make_settings(plans_dir=tmp_path))
    found = rules.plans.get("sif-2013")
    assert found is not None and found.name == "Council plan"


def test_a_council_framework_gets_its_council_plan(tmp_path: Path) -> None:
    framework_dir, plans_dir = tmp_path / "frameworks", tmp_path / "plans"
    framework_dir.mkdir()
    plans_dir.mkdir()
    sif = yaml.safe_load((frameworks.SHIPPED_DIR / "sif-2013.yaml").read_text(encoding="utf-8"))
    sif.update(key="council-2013", name="Council variant")
    write(framework_dir, "council-2013.yaml", sif)
    write(plans_dir, "council-2013.yaml", minimal(framework="council-2013"))
    rules = build_rules(make_settings(frameworks_dir=framework_dir, plans_dir=plans_dir))
    found = rules.plans.get("council-2013")
    assert found is not None and len(found.tasks) == 2
    assert rules.plans.get("sif-2013") is not None


def test_plans_dir_must_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(PlanDefinitionError, match="PLANS_DIR is not a folder"):
        load_all(REGISTRY, tmp_path / "missing")


def test_the_app_refuses_to_start_with_a_bad_council_plan(tmp_path: Path) -> None:
    bad = write(tmp_path, "sif-2013.yaml", minimal(tasks=[task("a", owner_role="press_office")]))
    settings = make_settings(database_url=f"sqlite:///{tmp_path}/iw.db", plans_dir=tmp_path)
    with pytest.raises(PlanDefinitionError) as raised:
        create_app(settings)
    assert str(bad) in str(raised.value)
    assert "tasks.0.owner_role: unknown role 'press_office'" in str(raised.value)


def test_the_registry_counts_the_tasks_an_announce_starts() -> None:
    registry = PlanRegistry(load_all(REGISTRY))
    plan = registry.get("sif-2013")
    assert plan is not None and registry.task_count("sif-2013") == len(plan.tasks) > 0
    assert registry.task_count("nope") == 0
