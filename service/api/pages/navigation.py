"""The service navigation, in one list: a new page group adds its item here. An item with a
permission is shown only to users who have it; `match` is the path prefix that marks it as the
current section."""

from __future__ import annotations

from dataclasses import dataclass

from service.users.models import User
from service.users.permissions import Permission, can


@dataclass(frozen=True)
class Item:
    text: str
    href: str
    permission: Permission | None = None

    def current_for(self, path: str) -> bool:
        if self.href == "/":
            return path == "/" or path.startswith("/inspections")
        return path == self.href or path.startswith(self.href + "/")


ITEMS: tuple[Item, ...] = (
    Item("Dashboard", "/"),
    Item("Announce", "/announce", Permission.announce),
    Item("Contacts", "/contacts"),
    Item("Templates", "/templates"),
    Item("Plan", "/plan"),
    Item("Outbox", "/outbox"),
    Item("Timeline", "/timeline"),
    Item("History", "/history"),
    Item("Settings", "/settings"),
    Item("Users", "/users", Permission.manage_users),
    Item("API keys", "/api-keys", Permission.manage_api_keys),
    Item("Webhooks", "/webhooks", Permission.manage_webhooks),
)


def items_for(user: User | None, path: str) -> list[dict[str, object]]:
    """govukServiceNavigation's `navigation` option for this user on this page."""
    if user is None:
        return []
    return [
        {"text": item.text, "href": item.href, "current": item.current_for(path)}
        for item in ITEMS
        if item.permission is None or can(user.role, item.permission)
    ]
