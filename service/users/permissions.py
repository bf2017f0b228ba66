"""Who may do what, in one table, so pages and routes ask `can(role, permission)` rather than
listing roles themselves."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    lead = "lead"
    coordinator = "coordinator"
    viewer = "viewer"


class Permission(StrEnum):
    announce = "announce"
    run_drill = "run_drill"
    manage_contacts = "manage_contacts"
    manage_templates = "manage_templates"
    manage_plan = "manage_plan"
    view_audit = "view_audit"
    manage_closure_days = "manage_closure_days"
    manage_users = "manage_users"
    manage_calendar_feeds = "manage_calendar_feeds"
    manage_api_keys = "manage_api_keys"
    record_outcome = "record_outcome"
    manage_webhooks = "manage_webhooks"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(Permission),
    Role.lead: frozenset(
        # A feed's URL takes the timetable and who owns each task outside the signed-in
        # service; the lead, who runs the inspection, decides that with the admins.
        {
            Permission.announce,
            Permission.run_drill,
            Permission.manage_calendar_feeds,
            Permission.record_outcome,
        }
    ),
    Role.coordinator: frozenset(
        {
            Permission.manage_contacts,
            Permission.manage_templates,
            Permission.manage_plan,
            Permission.view_audit,
            Permission.manage_closure_days,
        }
    ),
    Role.viewer: frozenset(),
}
"""Everyone signed in may read the dashboard and the lists; these are the extra rights."""

ROLE_DESCRIPTIONS: dict[Role, str] = {
    Role.admin: "Everything, including managing users and API keys",
    Role.lead: "Announce inspections, run drills, record judgements; hand out calendar feeds",
    Role.coordinator: "Keep contacts, templates, the plan and closure days; read the audit log",
    Role.viewer: "Read only",
}


def can(role: str | Role, permission: Permission) -> bool:
    try:
        return permission in GRANTS[Role(role)]
    except ValueError:  # a role this version does not know grants nothing
        return False


def roles_with(permission: Permission) -> tuple[Role, ...]:
    return tuple(role for role in Role if permission in GRANTS[role])
