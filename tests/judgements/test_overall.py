"""The overall rule of every shipped framework, and the framework file's judgements section
refused when it contradicts itself."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from service.errors import InvalidInput
from service.frameworks import SHIPPED_DIR, FrameworkError, JudgementRules, load_all, load_file
from service.judgements import overall

SHIPPED = load_all()


def rules_of(key: str) -> JudgementRules:
    rules = SHIPPED[key].judgements
    assert rules is not None, f"{key} lists no judgements"
    return rules


def test_every_shipped_framework_lists_its_judgements() -> None:
    assert set(SHIPPED) == {"sif-2013", "ilacs-standard", "ilacs-short"}
    for key in SHIPPED:
        assert rules_of(key).scale[-1] == "inadequate"
    assert [item.key for item in rules_of("sif-2013").judgements if item.key_judgement] == [
        "help_and_protection",
        "looked_after",
        "leadership",
    ]
    sub = {item.key: item.part_of for item in rules_of("sif-2013").judgements if item.part_of}
    assert sub == {"adoption": "looked_after", "care_leavers": "looked_after"}


SIF_GOOD = {"help_and_protection": "good", "looked_after": "good", "leadership": "good"}


@pytest.mark.parametrize("key", ["help_and_protection", "looked_after", "leadership"])
def test_sif_inadequate_in_any_key_judgement_makes_the_overall_inadequate(key: str) -> None:
    grades = SIF_GOOD | {key: "inadequate"}
    decided = overall.decide(rules_of("sif-2013"), grades)
    assert decided.grade == "inadequate"
    assert "any key judgement" in decided.reason
    with pytest.raises(InvalidInput, match="overall: must be inadequate, not good"):
        overall.check(rules_of("sif-2013"), grades | {"overall": "good"})
    overall.check(rules_of("sif-2013"), grades | {"overall": "inadequate"})


def test_sif_an_inadequate_sub_judgement_or_board_review_does_not_decide_the_overall() -> None:
    grades = SIF_GOOD | {"adoption": "inadequate", "lscb": "inadequate", "overall": "good"}
    overall.check(rules_of("sif-2013"), grades)
    assert overall.decide(rules_of("sif-2013"), grades) == overall.Overall(
        "good", "As the report gives it."
    )


def test_sif_without_a_limiting_grade_the_overall_is_the_reports_own() -> None:
    decided = overall.decide(rules_of("sif-2013"), SIF_GOOD)
    assert decided.grade is None
    assert "not recorded yet" in decided.reason
    given = SIF_GOOD | {"overall": "requires_improvement"}
    assert overall.decide(rules_of("sif-2013"), given).grade == "requires_improvement"


@pytest.mark.parametrize("key", ["ilacs-standard", "ilacs-short"])
def test_ilacs_the_overall_is_always_the_reports_own(key: str) -> None:
    rules = rules_of(key)
    grades = {item.key: "inadequate" for item in rules.judgements} | {"overall": "good"}
    overall.check(rules, grades)
    assert overall.decide(rules, grades).grade == "good"
    assert overall.decide(rules, {"leaders": "inadequate"}).grade is None
    with pytest.raises(InvalidInput, match="'requires_improvement' is not a grade"):
        overall.check(rules, {"leaders": "requires_improvement"})


def test_unknown_key_and_grade_name_the_known_ones() -> None:
    rules = rules_of("sif-2013")
    with pytest.raises(InvalidInput) as unknown:
        overall.check(rules, {"safeguarding": "good"})
    assert unknown.value.field == "judgements"
    assert (
        "help_and_protection, looked_after, adoption, care_leavers, leadership, lscb, overall"
        in (unknown.value.message)
    )
    with pytest.raises(InvalidInput) as grade:
        overall.check(rules, {"leadership": "adequate"})
    assert "outstanding, good, requires_improvement, inadequate" in grade.value.message


def write_lowest_rule(folder: Path) -> JudgementRules:
    data = yaml.safe_load((SHIPPED_DIR / "sif-2013.yaml").read_text())
    data["key"] = "council-own"
    data["judgements"]["limiting"] = []
    data["judgements"]["otherwise"] = "lowest_key_judgement"
    path = folder / "council-own.yaml"
    path.write_text(yaml.safe_dump(data))
    rules = load_file(path).judgements
    assert rules is not None
    return rules


def test_a_councils_file_may_take_the_lowest_key_judgement(tmp_path: Path) -> None:
    rules = write_lowest_rule(tmp_path)
    assert overall.decide(rules, {"help_and_protection": "good"}).grade is None
    grades = SIF_GOOD | {"looked_after": "requires_improvement", "adoption": "inadequate"}
    assert overall.decide(rules, grades).grade == "requires_improvement"
    with pytest.raises(InvalidInput, match="must be requires_improvement, not good"):
        overall.check(rules, grades | {"overall": "good"})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scale": ["good", "good"]}, "grades must be unique"),
        ({"judgements": [{"key": "overall", "label": "Overall"}]}, "the overall judgement's key"),
        ({"judgements": [{"key": "a", "label": "A", "key_judgement": False}]}, "at least one"),
        (
            {
                "judgements": [
                    {"key": "a", "label": "A"},
                    {"key": "b", "label": "B", "part_of": "c"},
                ]
            },
            "'c' is not a key judgement",
        ),
        (
            {"limiting": [{"any_key_judgement": "poor", "overall": "inadequate", "reason": "r"}]},
            "'poor' is not on the scale",
        ),
        ({"otherwise": "average"}, "otherwise"),
    ],
)
def test_a_contradictory_judgements_section_is_refused_naming_the_file(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    data = yaml.safe_load((SHIPPED_DIR / "sif-2013.yaml").read_text())
    data["judgements"].update(change)
    path = tmp_path / "sif-2013.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(FrameworkError) as refused:
        load_file(path)
    assert str(path) in str(refused.value) or path.name in str(refused.value)
    assert message in str(refused.value)
