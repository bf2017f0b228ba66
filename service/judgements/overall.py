"""The overall rule, on its own so every shipped framework's rule is tested without a database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from service.errors import InvalidInput
from service.frameworks import OVERALL, JudgementRules

FIELD = "judgements"


@dataclass(frozen=True)
class Overall:
    grade: str | None
    reason: str


def check(rules: JudgementRules, grades: Mapping[str, str]) -> None:
    """Every key known to the framework and every grade on its scale; InvalidInput naming the
    known ones otherwise, so the caller can correct the request without reading the file."""
    known = [item.key for item in rules.judgements] + [OVERALL]
    for key, grade in grades.items():
        if key not in known:
            raise InvalidInput(
                FIELD, f"unknown judgement {key!r}; the known ones are: {', '.join(known)}"
            )
        if grade not in rules.scale:
            raise InvalidInput(
                FIELD,
                f"{key}: {grade!r} is not a grade; the grades are: {', '.join(rules.scale)}",
            )
    decided = decide(rules, grades)
    given = grades.get(OVERALL)
    if given is not None and decided.grade is not None and given != decided.grade:
        raise InvalidInput(
            FIELD, f"{OVERALL}: must be {decided.grade}, not {given}: {decided.reason}"
        )


def decide(rules: JudgementRules, grades: Mapping[str, str]) -> Overall:
    """The overall judgement the framework's rule gives for these grades (already checked)."""
    key_grades = [
        grades[item.key] for item in rules.judgements if item.key_judgement and item.key in grades
    ]
    for rule in rules.limiting:
        if rule.any_key_judgement in key_grades:
            return Overall(rule.overall, rule.reason)
    if rules.otherwise == "lowest_key_judgement":
        wanted = [item.key for item in rules.judgements if item.key_judgement]
        if len(key_grades) < len(wanted):
            return Overall(None, "Not every key judgement is recorded yet.")
        lowest = max(key_grades, key=rules.scale.index)
        return Overall(lowest, "The lowest of the key judgements.")
    given = grades.get(OVERALL)
    if given is None:
        return Overall(None, "The report's overall judgement is not recorded yet.")
    return Overall(given, "As the report gives it.")
