"""`inspection-week plans list|check`, run the way an operator runs them before putting a council
plan into PLANS_DIR (in this process; `serve` refusing a bad plan as a real process). Neither
command needs the database."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from service import frameworks
from service.plan.definitions import SHIPPED_DIR, load_all
from tests.test_cli import assert_clean_failure, run_cli, run_process

SHIPPED = load_all(frameworks.Registry(frameworks.load_all(None)))


def plans(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "plans", *args, database_url=f"sqlite:///{tmp_path}/iw.db", cwd=tmp_path, env=env
    )


def council_plan(folder: Path, name: str = "sif-2013.yaml", **changes: object) -> Path:
    plan: dict[str, object] = {
        "framework": "sif-2013",
        "name": "Council plan",
        "roles": [
            {"key": "steering_group_lead", "label": "Steering-group lead"},
            {"key": "logistics_lead", "label": "Logistics lead"},
        ],
        "tasks": [
            {
                "key": "base_room",
                "title": "Book the base room",
                "category": "logistics",
                "owner_role": "logistics_lead",
                "due": "notified_at + 2 hours",
            }
        ],
    }
    plan.update(changes)
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return path


def test_plans_list_shows_every_shipped_plan(tmp_path: Path) -> None:
    result = plans(tmp_path, "list")
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [row[0] for row in rows] == sorted(SHIPPED)
    for key, tasks, roles, name, role_keys in rows:
        assert tasks == f"{len(SHIPPED[key].tasks)} tasks"
        assert roles == f"{len(SHIPPED[key].roles)} roles"
        assert name == SHIPPED[key].name
        assert role_keys.split(",") == [role.key for role in SHIPPED[key].roles]
    assert ["sif-2013", "40 tasks", "12 roles"] in [row[:3] for row in rows]
    assert not (tmp_path / "iw.db").exists()  # no database needed


def test_plans_list_shows_the_council_plan_that_replaces_a_shipped_one(tmp_path: Path) -> None:
    council_plan(tmp_path / "plans")
    result = plans(tmp_path, "list", PLANS_DIR=str(tmp_path / "plans"))
    assert result.returncode == 0, result.stderr
    rows = {line.split("\t")[0]: line.split("\t") for line in result.stdout.splitlines()}
    assert rows["sif-2013"][1:4] == ["1 tasks", "2 roles", "Council plan"]
    assert rows["ilacs-standard"][1] == f"{len(SHIPPED['ilacs-standard'].tasks)} tasks"


def test_plans_list_says_when_a_framework_has_no_plan(tmp_path: Path) -> None:
    folder = tmp_path / "frameworks"
    folder.mkdir()
    sif = yaml.safe_load((frameworks.SHIPPED_DIR / "sif-2013.yaml").read_text(encoding="utf-8"))
    sif.update(key="council-2013", name="Council variant")
    (folder / "council-2013.yaml").write_text(yaml.safe_dump(sif), encoding="utf-8")
    result = plans(tmp_path, "list", FRAMEWORKS_DIR=str(folder))
    assert result.returncode == 0, result.stderr
    assert "council-2013\t0 tasks\t0 roles\tno plan" in result.stdout.splitlines()


def test_plans_list_refuses_a_bad_council_file(tmp_path: Path) -> None:
    bad = council_plan(
        tmp_path / "plans", tasks=[{"key": "a", "title": "A", "category": "meetings"}]
    )
    result = plans(tmp_path, "list", PLANS_DIR=str(tmp_path / "plans"))
    assert_clean_failure(result)
    assert str(bad) in result.stderr and "tasks.0.owner_role" in result.stderr
    assert result.stdout == ""


def test_plans_check_without_files_checks_the_shipped_ones(tmp_path: Path) -> None:
    result = plans(tmp_path, "check")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == [
        f"{path}: ok ({path.stem}, {len(SHIPPED[path.stem].tasks)} tasks, 12 roles)"
        for path in sorted(SHIPPED_DIR.glob("*.yaml"))
    ]


def test_plans_check_passes_a_good_file(tmp_path: Path) -> None:
    good = council_plan(tmp_path / "drafts")
    result = plans(tmp_path, "check", str(good))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{good}: ok (sif-2013, 1 tasks, 2 roles)"
    assert result.stderr == ""


def test_plans_check_names_the_file_and_field_of_each_bad_one(tmp_path: Path) -> None:
    drafts = tmp_path / "drafts"
    good = council_plan(drafts)
    cycle = council_plan(
        drafts,
        "ilacs-standard.yaml",
        framework="ilacs-standard",
        tasks=[
            {
                "key": "a",
                "title": "A",
                "category": "meetings",
                "owner_role": "logistics_lead",
                "due": "day0",
                "depends_on": ["b"],
            },
            {
                "key": "b",
                "title": "B",
                "category": "meetings",
                "owner_role": "logistics_lead",
                "due": "day0",
                "depends_on": ["a"],
            },
        ],
    )
    anchor = council_plan(
        drafts,
        "ilacs-short.yaml",
        framework="ilacs-short",
        tasks=[
            {
                "key": "a",
                "title": "A",
                "category": "meetings",
                "owner_role": "logistics_lead",
                "due": "week2.start + 1 working day",
            }
        ],
    )
    result = plans(tmp_path, "check", str(good), str(cycle), str(anchor))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = result.stderr.splitlines()
    assert len(errors) == 2, result.stderr
    assert errors[0].startswith(f"{cycle}: ") and "tasks: dependency cycle a -> b -> a" in errors[0]
    assert errors[1].startswith(f"{anchor}: ")
    assert "tasks.0.due:" in errors[1] and "unknown anchor 'week2.start'" in errors[1]
    assert result.stdout.splitlines() == [f"{good}: ok (sif-2013, 1 tasks, 2 roles)"]


def test_plans_check_includes_plans_dir(tmp_path: Path) -> None:
    bad = council_plan(tmp_path / "plans", name="council.yaml")
    result = plans(tmp_path, "check", PLANS_DIR=str(tmp_path / "plans"))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"{bad}: framework: 'sif-2013' must match the file name 'council'"
    )
    assert len(result.stdout.splitlines()) == len(SHIPPED)


def test_plans_check_names_a_missing_file(tmp_path: Path) -> None:
    result = plans(tmp_path, "check", str(tmp_path / "nowhere.yaml"))
    assert result.returncode == 2
    assert "nowhere.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_to_start_with_a_bad_council_plan(tmp_path: Path) -> None:
    bad = council_plan(tmp_path / "plans", tasks=[{"key": "a"}])
    result = run_process(
        "serve",
        "--port",
        "1",
        database_url=f"sqlite:///{tmp_path}/iw.db",
        cwd=tmp_path,
        env={"PLANS_DIR": str(tmp_path / "plans"), "SCHEDULER_ENABLED": "false"},
    )
    assert_clean_failure(result)
    assert str(bad) in result.stderr and "tasks.0.title" in result.stderr
