"""Who may do what: one table, read through `can`."""

from __future__ import annotations

import pytest

from service.users.permissions import Permission, Role, can, roles_with


@pytest.mark.parametrize(
    ("permission", "allowed"),
    [
        (Permission.announce, {Role.admin, Role.lead}),
        (Permission.run_drill, {Role.admin, Role.lead}),
        (Permission.manage_contacts, {Role.admin, Role.coordinator}),
        (Permission.manage_templates, {Role.admin, Role.coordinator}),
        (Permission.manage_plan, {Role.admin, Role.coordinator}),
        (Permission.view_audit, {Role.admin, Role.coordinator}),
        (Permission.manage_closure_days, {Role.admin, Role.coordinator}),
        (Permission.manage_users, {Role.admin}),
        (Permission.manage_calendar_feeds, {Role.admin, Role.lead}),
        (Permission.manage_api_keys, {Role.admin}),
        (Permission.record_outcome, {Role.admin, Role.lead}),
    ],
)
def test_each_permission_belongs_to_exactly_these_roles(
    permission: Permission, allowed: set[Role]
) -> None:
    assert {role for role in Role if can(role, permission)} == allowed
    assert set(roles_with(permission)) == allowed


def test_a_viewer_may_change_nothing_and_an_unknown_role_grants_nothing() -> None:
    assert not any(can(Role.viewer, permission) for permission in Permission)
    assert not any(can("superuser", permission) for permission in Permission)


def test_roles_are_accepted_as_plain_strings_from_the_database() -> None:
    assert can("lead", Permission.announce)
    assert not can("coordinator", Permission.announce)
