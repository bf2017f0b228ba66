"""The one rule for tree levels (contacts/tree.py): the steering group is its group plus the top
of the tree, everyone else one deeper than their nearest active manager."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.contacts.models import Contact
from service.contacts.tree import Place, places

pytestmark = pytest.mark.sqlite_only


def _person(
    id: str, reports_to: str | None = None, *, active: bool = True, groups: tuple[str, ...] = ()
) -> Contact:
    moment = datetime(2025, 1, 6, 9, tzinfo=UTC)
    return Contact(
        id=id,
        name=id,
        reports_to=reports_to,
        active=active,
        groups=list(groups),
        created_at=moment,
        updated_at=moment,
    )


def _places(*people: Contact, steering_group: str = "steering") -> dict[str, Place]:
    return places({p.id: p for p in people}, steering_group)


def test_people_below_an_inactive_manager_hang_from_the_nearest_active_ancestor() -> None:
    assert _places(
        _person("dcs"),
        _person("head", "dcs", active=False),
        _person("deputy-head", "head", active=False),
        _person("social-worker", "deputy-head"),
        _person("assistant", "social-worker"),
    ) == {
        "dcs": (1, None),
        "social-worker": (2, "dcs"),
        "assistant": (3, "social-worker"),
    }


def test_a_cycle_is_cut_instead_of_followed_forever() -> None:
    levels = _places(_person("a", "b"), _person("b", "a"), _person("c", "a"))
    assert set(levels) == {"a", "b", "c"}
    roots = [cid for cid, (level, parent) in levels.items() if parent is None]
    assert len(roots) == 1 and levels[roots[0]].level == 1
    for level, parent in levels.values():
        if parent is not None:
            assert level == levels[parent].level + 1


def test_with_a_director_at_the_root_the_steering_group_is_level_1_too() -> None:
    """DESIGN.md: the steering group is its group plus everyone with no `reports_to`; each
    member keeps their manager (told when they cannot be reached) and their reports follow."""
    assert _places(
        _person("director"),
        _person("lead", "director", groups=("steering",)),
        _person("head-of-service", "director", groups=("steering", "people")),
        _person("team-manager", "head-of-service"),
        _person("social-worker", "team-manager"),
        _person("business-support", "director"),
    ) == {
        "director": (1, None),
        "lead": (1, "director"),
        "head-of-service": (1, "director"),
        "team-manager": (2, "head-of-service"),
        "social-worker": (3, "team-manager"),
        "business-support": (2, "director"),
    }


def test_the_steering_group_is_the_one_the_setting_names() -> None:
    people = (
        _person("director"),
        _person("lead", "director", groups=("isg",)),
        _person("worker", "lead"),
    )
    assert _places(*people)["lead"] == (2, "director")
    assert _places(*people, steering_group="isg")["lead"] == (1, "director")
    assert _places(*people, steering_group="isg")["worker"] == (2, "lead")


def test_an_inactive_steering_group_member_is_left_out_and_their_reports_move_up() -> None:
    levels = _places(
        _person("director"),
        _person("lead", "director", groups=("steering",), active=False),
        _person("worker", "lead"),
    )
    assert levels == {"director": (1, None), "worker": (2, "director")}
