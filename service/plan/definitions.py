"""Plan definitions as data: one YAML file per framework listing the roles and the tasks to start
when the call comes. Shipped in `service/plan/plans/`; a council's own files in `PLANS_DIR`
replace or add to them. A bad file is refused at start with the file and the field named."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from service.frameworks import Framework, Key, Registry, read_mapping
from service.plan.due_rules import RuleError, check_anchor, parse_due, parse_reminder

SHIPPED_DIR = Path(__file__).parent / "plans"
STEERING_GROUP_LEAD = "steering_group_lead"
MAX_TASKS = 1000


class Category(StrEnum):
    logistics = "logistics"
    data = "data"
    information = "information"
    communications = "communications"
    meetings = "meetings"
    audit = "audit"
    after_the_inspection = "after_the_inspection"
    action_plan = "action_plan"
    """Actions of the action plans after the inspection (made by them, not by plan files)."""
    improvement = "improvement"
    """The improvement pathway's work after an inadequate outcome (made from the framework file)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleTemplate(_Strict):
    key: Key
    label: str = Field(min_length=1, max_length=200)
    description: str | None = None


class TaskTemplate(_Strict):
    key: Key
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    category: Category
    owner_role: Key
    due: str = Field(min_length=1, max_length=200, description="A due rule, see due_rules.py.")
    reminder: str = Field(default="none", max_length=100)
    depends_on: list[Key] = Field(default_factory=list)

    @field_validator("due")
    @classmethod
    def _due(cls, value: str) -> str:
        parse_due(value)  # a RuleError is a ValueError: reported against tasks.N.due
        return value

    @field_validator("reminder")
    @classmethod
    def _reminder(cls, value: str) -> str:
        parse_reminder(value)
        return value


class AuditTiming(_Strict):
    """Which tasks time the stages of the 18-case audit."""

    audited: Key
    re_audited: Key
    findings_reported: Key


def _cycle(edges: dict[str, list[str]]) -> list[str] | None:
    """One dependency cycle as a path (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for after in edges.get(node, []):
            if state.get(after) == 1:
                return stack[stack.index(after) :] + [after]
            if after not in state:
                found = visit(after)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in edges:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


class PlanDefinition(_Strict):
    framework: Key
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    roles: list[RoleTemplate] = Field(min_length=1)
    tasks: list[TaskTemplate] = Field(default_factory=list, max_length=MAX_TASKS)
    audit: AuditTiming | None = None

    @model_validator(mode="after")
    def _consistent(self) -> PlanDefinition:
        roles = [role.key for role in self.roles]
        if len(set(roles)) != len(roles):
            raise ValueError("roles: keys must be unique")
        if STEERING_GROUP_LEAD not in roles:
            raise ValueError(
                f"roles: must include {STEERING_GROUP_LEAD!r} (who gets tasks whose role is "
                "not mapped to anyone, and overdue escalations)"
            )
        keys: set[str] = set()
        for index, task in enumerate(self.tasks):
            if task.key in keys:
                raise ValueError(f"tasks.{index}.key: {task.key!r} is used twice")
            keys.add(task.key)
            if task.owner_role not in roles:
                raise ValueError(
                    f"tasks.{index}.owner_role: unknown role {task.owner_role!r}; "
                    f"roles listed in this file: {', '.join(roles)}"
                )
        for index, task in enumerate(self.tasks):
            for dependency in task.depends_on:
                if dependency not in keys:
                    raise ValueError(f"tasks.{index}.depends_on: no task with key {dependency!r}")
                if dependency == task.key:
                    raise ValueError(f"tasks.{index}.depends_on: a task cannot depend on itself")
        cycle = _cycle({task.key: list(task.depends_on) for task in self.tasks})
        if cycle:
            raise ValueError(f"tasks: dependency cycle {' -> '.join(cycle)}")
        if self.audit is not None:
            for stage, key in self.audit.model_dump().items():
                if key not in keys:
                    raise ValueError(f"audit.{stage}: no task with key {key!r}")
        return self

    def role_label(self, key: str) -> str:
        return next((role.label for role in self.roles if role.key == key), key)

    def task(self, key: str) -> TaskTemplate | None:
        return next((task for task in self.tasks if task.key == key), None)

    def check_against(self, framework: Framework) -> None:
        for index, task in enumerate(self.tasks):
            try:
                check_anchor(parse_due(task.due), framework)
            except RuleError as exc:
                raise ValueError(f"tasks.{index}.due: {exc}") from None


class PlanDefinitionError(ValueError):
    """A plan file is unreadable or invalid; the message names the file and the field."""


def _describe(path: Path, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where != "(top level)" else message)
    return f"{path}: invalid plan definition: " + "; ".join(problems)


def load_file(path: Path, frameworks: Registry) -> PlanDefinition:
    raw = read_mapping(path, "a plan definition", PlanDefinitionError)
    try:
        plan = PlanDefinition.model_validate(raw)
    except ValidationError as exc:
        raise PlanDefinitionError(_describe(path, exc)) from exc
    if plan.framework != path.stem:
        raise PlanDefinitionError(
            f"{path}: framework: {plan.framework!r} must match the file name {path.stem!r}"
        )
    framework = frameworks.get(plan.framework)
    if framework is None:
        raise PlanDefinitionError(
            f"{path}: framework: no framework {plan.framework!r}; "
            f"known frameworks: {', '.join(frameworks.keys())}"
        )
    try:
        plan.check_against(framework)
    except ValueError as exc:
        raise PlanDefinitionError(f"{path}: invalid plan definition: {exc}") from exc
    return plan


def load_all(frameworks: Registry, extra_dir: Path | None = None) -> dict[str, PlanDefinition]:
    """The shipped plans, then the council's own (which replace a shipped one of the same
    framework). A shipped plan for a framework the council has removed is skipped."""
    found: dict[str, PlanDefinition] = {}
    for path in sorted(SHIPPED_DIR.glob("*.yaml")):
        if frameworks.get(path.stem) is not None:
            plan = load_file(path, frameworks)
            found[plan.framework] = plan
    if extra_dir is not None:
        if not extra_dir.is_dir():
            raise PlanDefinitionError(f"{extra_dir}: PLANS_DIR is not a folder")
        for path in sorted(extra_dir.glob("*.yaml")):
            plan = load_file(path, frameworks)
            found[plan.framework] = plan
    return found


class PlanRegistry:
    """The plan definitions this process knows, loaded once at start."""

    def __init__(self, plans: dict[str, PlanDefinition] | None = None):
        self._plans = dict(sorted((plans or {}).items()))

    def get(self, framework: str) -> PlanDefinition | None:
        return self._plans.get(framework)

    def all(self) -> list[PlanDefinition]:
        return list(self._plans.values())

    def task_count(self, framework: str) -> int:
        """How many tasks announcing under this framework starts."""
        plan = self._plans.get(framework)
        return len(plan.tasks) if plan else 0

    def roles(self) -> dict[str, str]:
        """Every role any plan names, with its label (the first plan's wording wins)."""
        found: dict[str, str] = {}
        for plan in self._plans.values():
            for role in plan.roles:
                found.setdefault(role.key, role.label)
        return dict(sorted(found.items()))
