"""Inspection frameworks as data: YAML files describing phases and deadline rules.

Frameworks change every few years, so a council adds one by dropping a file in
`FRAMEWORKS_DIR`; a bad file is refused at start with the file and the field named."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SHIPPED_DIR = Path(__file__).parent
DEFAULT_FRAMEWORK = "sif-2013"

Key = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


class Weekday(StrEnum):
    monday = "monday"
    tuesday = "tuesday"
    wednesday = "wednesday"
    thursday = "thursday"
    friday = "friday"

    @property
    def number(self) -> int:
        return list(Weekday).index(self)


class Milestone(StrEnum):
    report_published = "report_published"
    action_statement_published = "action_statement_published"
    closed = "closed"


class OnSiteStartRule(StrEnum):
    next_working_day = "next_working_day"
    """The first working day after the call (sif-2013: called Tuesday, on site Wednesday)."""
    following_week = "following_week"
    """The first working day of the calendar week after the call's week (ILACS: the Monday)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Phase(_Strict):
    key: Key
    label: str = Field(min_length=1, max_length=200)
    week: int = Field(
        ge=-1,
        le=12,
        description="Calendar week relative to the on-site start's week (1 = that week).",
    )
    weekdays: list[Weekday] = Field(min_length=1)
    on_site: bool
    note: str | None = None


class DeadlineRule(_Strict):
    key: Key
    label: str = Field(min_length=1, max_length=200)
    working_days: int = Field(ge=1, le=1000)
    counted_from: str = Field(
        description="inspection_end, on_site_start, or another deadline's key followed by _due."
    )
    recounted_from: Milestone | None = Field(
        default=None, description="Once this milestone is recorded, count from its date instead."
    )
    met_by: Milestone | None = Field(default=None, description="The milestone that meets it.")


class Assumption(_Strict):
    field: str
    value: str | int | list[str]
    why: str


OVERALL = "overall"
"""The key under which a report's overall judgement is recorded, beside the framework's own."""


class Judgement(_Strict):
    key: Key
    label: str = Field(min_length=1, max_length=200)
    key_judgement: bool = Field(
        default=True, description="A key judgement (the overall rule looks at these)."
    )
    part_of: Key | None = Field(
        default=None, description="The key judgement this graded sub-judgement belongs to."
    )


class LimitingRule(_Strict):
    """A grade in any key judgement that decides the overall judgement, whatever else."""

    any_key_judgement: Key
    overall: Key
    reason: str = Field(min_length=1, max_length=300)


class JudgementRules(_Strict):
    scale: list[Key] = Field(min_length=2, description="The grades, best first.")
    judgements: list[Judgement] = Field(min_length=1, max_length=30)
    overall_label: str = Field(default="Overall effectiveness", min_length=1, max_length=200)
    limiting: list[LimitingRule] = Field(
        default_factory=list, description="Checked in order; the first that matches decides."
    )
    otherwise: str = Field(
        default="recorded",
        pattern=r"^(recorded|lowest_key_judgement)$",
        description="When no limiting rule matches: the report's own overall grade (`recorded`) "
        "or the lowest key judgement.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> JudgementRules:
        if len(set(self.scale)) != len(self.scale):
            raise ValueError("judgements.scale: grades must be unique")
        keys = [item.key for item in self.judgements]
        if len(set(keys)) != len(keys):
            raise ValueError("judgements.judgements: keys must be unique")
        if OVERALL in keys:
            raise ValueError(f"judgements.judgements: {OVERALL!r} is the overall judgement's key")
        key_judgements = {item.key for item in self.judgements if item.key_judgement}
        if not key_judgements:
            raise ValueError("judgements.judgements: at least one must be a key judgement")
        for item in self.judgements:
            if item.part_of is not None and item.part_of not in key_judgements:
                raise ValueError(
                    f"judgements.judgements.{item.key}.part_of: {item.part_of!r} is not a key "
                    "judgement of this file"
                )
        for rule in self.limiting:
            for field, grade in (
                ("any_key_judgement", rule.any_key_judgement),
                ("overall", rule.overall),
            ):
                if grade not in self.scale:
                    raise ValueError(
                        f"judgements.limiting.{field}: {grade!r} is not on the scale {self.scale}"
                    )
        return self


MEETING_EVERY = r"^(monthly|[1-9][0-9]? weeks?)$"


class PathwayTask(_Strict):
    """Work that follows the outcome: a plan task, due some working days after it is recorded."""

    key: Key
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    owner_role: Key
    working_days: int = Field(
        ge=1, le=1000, description="Due at 17:00 this many working days after the outcome."
    )
    reminder: str = Field(
        default="none", max_length=100, description="A plan reminder rule: '5 working days before'."
    )


class ImprovementBoard(_Strict):
    name: str = Field(min_length=1, max_length=200)
    members: list[Key] = Field(
        min_length=1, max_length=30, description="Roles; each is sent the meeting reminders."
    )
    first_meeting_within: int = Field(
        ge=1, le=260, description="Working days after the outcome is recorded."
    )
    every: str = Field(
        pattern=MEETING_EVERY, description="'monthly' (same weekday of the month) or 'N weeks'."
    )
    weekday: Weekday
    time: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Europe/London")
    reminder: str = Field(default="5 working days before", max_length=100)


class ProgressReports(_Strict):
    """A report to the board before each of its meetings."""

    title: str = Field(default="Progress report to the improvement board", max_length=150)
    owner_role: Key
    working_days_before: int = Field(ge=0, le=60)
    reminder: str = Field(default="none", max_length=100)


class ImprovementPathway(_Strict):
    """What an overall grade (by default the scale's lowest) sets in motion."""

    opened_by: Key | None = Field(
        default=None, description="The overall grade that opens it; default the lowest."
    )
    tasks: list[PathwayTask] = Field(default_factory=list, max_length=50)
    board: ImprovementBoard | None = None
    progress_reports: ProgressReports | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ImprovementPathway:
        keys = [task.key for task in self.tasks]
        if len(set(keys)) != len(keys):
            raise ValueError("improvement_pathway.tasks: keys must be unique")
        if self.board is not None and len(set(self.board.members)) != len(self.board.members):
            raise ValueError("improvement_pathway.board.members: a role is listed twice")
        if self.progress_reports is not None and self.board is None:
            raise ValueError(
                "improvement_pathway.progress_reports: reports go to the board's meetings; "
                "add a `board`"
            )
        return self

    def reminder_rules(self) -> list[tuple[str, str]]:
        """Each reminder rule with the field it is written in, for checking at start."""
        found = [(f"tasks.{i}.reminder", task.reminder) for i, task in enumerate(self.tasks)]
        if self.board is not None:
            found.append(("board.reminder", self.board.reminder))
        if self.progress_reports is not None:
            found.append(("progress_reports.reminder", self.progress_reports.reminder))
        return found

    def roles(self) -> set[str]:
        found = {task.owner_role for task in self.tasks}
        if self.board is not None:
            found |= set(self.board.members)
        if self.progress_reports is not None:
            found.add(self.progress_reports.owner_role)
        return found


class Framework(_Strict):
    key: Key
    name: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, description="Where the timings come from.")
    description: str | None = None
    usual_call_weekday: Weekday
    on_site_start: OnSiteStartRule
    normal_on_site_days: int = Field(ge=1, le=60)
    phases: list[Phase] = Field(min_length=1)
    deadlines: list[DeadlineRule] = Field(default_factory=list)
    grades: list[Key] = Field(
        default_factory=lambda: ["outstanding", "good", "requires_improvement", "inadequate"],
        min_length=1,
        description="The judgement scale the council's case audit grades on.",
    )
    audit_cases: int = Field(
        default=18, ge=0, le=200, description="How many cases the lead inspector names to audit."
    )
    judgements: JudgementRules | None = Field(
        default=None, description="What the report judges, on which scale, and the overall rule."
    )
    improvement_pathway: ImprovementPathway | None = Field(
        default=None,
        description="What follows an overall grade that opens it: tasks, a board, reports.",
    )
    assumptions: list[Assumption] = Field(
        default_factory=list,
        description="Timings the guidance leaves open and the value this file chose; edit freely.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Framework:
        keys = [phase.key for phase in self.phases]
        if len(set(keys)) != len(keys):
            raise ValueError("phases: keys must be unique")
        if not any(phase.on_site for phase in self.phases):
            raise ValueError("phases: at least one phase must be on site")
        slots: set[tuple[int, Weekday]] = set()
        for phase in self.phases:
            for weekday in phase.weekdays:
                if (phase.week, weekday) in slots:
                    raise ValueError(
                        f"phases: {phase.key} overlaps another phase on {weekday} "
                        f"of week {phase.week}"
                    )
                slots.add((phase.week, weekday))
        deadline_keys: list[str] = []
        for rule in self.deadlines:
            anchors = {"inspection_end", "on_site_start"} | {f"{k}_due" for k in deadline_keys}
            if rule.counted_from not in anchors:
                raise ValueError(
                    f"deadlines.{rule.key}.counted_from: {rule.counted_from!r} is not one of "
                    f"{sorted(anchors)} (a deadline may only count from one listed before it)"
                )
            if rule.key in deadline_keys:
                raise ValueError(f"deadlines: key {rule.key!r} is used twice")
            deadline_keys.append(rule.key)
        pathway = self.improvement_pathway
        if pathway is not None:
            if self.judgements is None:
                raise ValueError(
                    "improvement_pathway: opens on the overall judgement; add a `judgements` "
                    "section"
                )
            if pathway.opened_by is not None and pathway.opened_by not in self.judgements.scale:
                raise ValueError(
                    f"improvement_pathway.opened_by: {pathway.opened_by!r} is not on the scale "
                    f"{self.judgements.scale}"
                )
        return self

    @property
    def pathway_grade(self) -> str | None:
        """The overall grade that opens the improvement pathway, or None without one."""
        if self.improvement_pathway is None or self.judgements is None:
            return None
        return self.improvement_pathway.opened_by or self.judgements.scale[-1]

    def public(self) -> dict[str, object]:
        return self.model_dump(mode="json")


class FrameworkError(ValueError):
    """A framework file is unreadable or invalid; the message names the file and the field."""


def _describe(path: Path, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        problems.append(f"{where}: {error['msg']}")
    return f"{path}: invalid framework: " + "; ".join(problems)


def read_mapping(path: Path, what: str, error: type[ValueError]) -> dict[str, object]:
    """A YAML file of fields (framework, plan definition), or `error` naming the file and line."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise error(f"{path}:{where} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise error(f"{path}: {what} must be a mapping of fields")
    return raw


def load_file(path: Path) -> Framework:
    raw = read_mapping(path, "a framework file", FrameworkError)
    try:
        framework = Framework.model_validate(raw)
    except ValidationError as exc:
        raise FrameworkError(_describe(path, exc)) from exc
    if framework.key != path.stem:
        raise FrameworkError(
            f"{path}: key: {framework.key!r} must match the file name {path.stem!r}"
        )
    return framework


def load_all(extra_dir: Path | None = None) -> dict[str, Framework]:
    """The shipped frameworks, then the council's own (which may replace a shipped one)."""
    folders = [SHIPPED_DIR]
    if extra_dir is not None:
        if not extra_dir.is_dir():
            raise FrameworkError(f"{extra_dir}: FRAMEWORKS_DIR is not a folder")
        folders.append(extra_dir)
    found: dict[str, Framework] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.yaml")):
            framework = load_file(path)
            found[framework.key] = framework
    return found


class Registry:
    """The frameworks this process knows, loaded once at start."""

    def __init__(self, frameworks: dict[str, Framework]):
        self._frameworks = dict(sorted(frameworks.items()))

    def get(self, key: str) -> Framework | None:
        return self._frameworks.get(key)

    def keys(self) -> list[str]:
        return list(self._frameworks)

    def all(self) -> list[Framework]:
        return list(self._frameworks.values())
