"""Contacts: the searchable list, the tree with each person's status in the live inspection, and
the import with a preview.

Addresses are shown in full to people who may manage contacts (coordinators, admins) and masked
to everyone else: a viewer needs to see who is in the tree, not how to reach them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.datastructures import UploadFile

from service.api.deps import ReadSessionDep, RulesDep, SessionDep
from service.api.pages import contacts_upload
from service.api.pages.auth import CurrentUser, cookies_secure, require_permission
from service.api.pages.flash import flash
from service.api.pages.forms import Form as PageForm
from service.api.pages.framework import not_found, page_router, see_other
from service.api.pages.rendering import render
from service.cascade.models import CascadeNode, NodeStatus
from service.cascade.progress import node_status
from service.contacts import importer
from service.contacts import service as contacts
from service.contacts.importer import ImportRejected, RowError
from service.contacts.models import Contact
from service.db import utcnow
from service.errors import InvalidInput
from service.inspections.service import live_inspection
from service.notify.masking import mask_email, mask_phone
from service.users.models import User
from service.users.permissions import Permission, can

router = page_router(tags=["contact pages"])

ContactsManager = Annotated[User, Depends(require_permission(Permission.manage_contacts))]

PAGE_SIZE = 50
FILE_FIELD = "contacts-file"
"""The file input's id: every import problem links to it."""

STATUS_TAGS: dict[str, tuple[str, str]] = {
    NodeStatus.acknowledged: ("Acknowledged", "govuk-tag--green"),
    NodeStatus.notified: ("Waiting", "govuk-tag--yellow"),
    NodeStatus.broken: ("Broken", "govuk-tag--red"),
}
NOT_MESSAGED = ("Not yet messaged", "govuk-tag--grey")
NOT_IN_SNAPSHOT = ("Not in this inspection", "govuk-tag--grey")


def actor_for(user: User) -> str:
    return f"user:{user.username}"


def shows_addresses(user: User) -> bool:
    return can(user.role, Permission.manage_contacts)


# The list ------------------------------------------------------------------------------------


def pagination(path: str, params: dict[str, str], page: int, pages: int) -> dict[str, Any]:
    """govukPagination's options: numbered links around the current page."""

    def href(number: int) -> str:
        query = {k: v for k, v in params.items() if v} | {"page": str(number)}
        return f"{path}?{urlencode(query)}"

    shown = sorted({1, pages, page - 1, page, page + 1} & set(range(1, pages + 1)))
    items: list[dict[str, Any]] = []
    for index, number in enumerate(shown):
        if index and number - shown[index - 1] > 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "href": href(number), "current": number == page})
    options: dict[str, Any] = {"items": items, "landmarkLabel": "Pages of results"}
    if page > 1:
        options["previous"] = {"href": href(page - 1)}
    if page < pages:
        options["next"] = {"href": href(page + 1)}
    return options


@router.get("/contacts")
def contacts_page(
    request: Request,
    user: CurrentUser,
    session: ReadSessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    group: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    form = PageForm(values={"q": q, "group": group})
    items: list[Contact] = []
    total = 0
    try:
        items, total = contacts.list_contacts(
            session,
            q=q or None,
            group=group.strip() or None,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
    except InvalidInput as exc:
        form.add(exc.field, f"The search {exc.message}")
    pages = max(1, math.ceil(total / PAGE_SIZE))
    show = shows_addresses(user)
    rows = [
        {
            "contact": contact,
            "email": (contact.email if show else mask_email(contact.email))
            if contact.email
            else "",
            "mobile": (contact.mobile if show else mask_phone(contact.mobile))
            if contact.mobile
            else "",
        }
        for contact in items
    ]
    return render(
        request,
        "contacts_list.html",
        {
            "form": form,
            "rows": rows,
            "total": total,
            "page": page,
            "first_shown": (page - 1) * PAGE_SIZE + 1,
            "pagination": pagination("/contacts", {"q": q, "group": group}, page, pages)
            if pages > 1
            else None,
            "masked": not show,
        },
        status_code=422 if form.errors else 200,
    )


# The tree ------------------------------------------------------------------------------------


TREE_LEVELS_PER_PAGE = 8
"""Levels shown below someone on their group's page; a deeper person's group is a page of its
own, so a chain of any depth renders in bounded time and nesting."""
PATH_SHOWN = 6
"""Breadcrumbs above someone: the top one and the nearest ones, with a gap between."""


@dataclass
class TreePerson:
    id: str
    name: str
    role: str | None
    level: int
    status: tuple[str, str] | None
    children: list[TreePerson] = field(default_factory=list)
    below: int = 0
    """Everyone under this person, at any depth."""
    manager: TreePerson | None = None
    """The person above in the tree as shown (None for the steering group)."""


@dataclass(frozen=True)
class TreeStep:
    """One step of the walk the group page renders: `open` starts someone whose group follows,
    `close` ends it, `person` is someone shown without their group (none, or on a page of its
    own). A flat list, so the template never recurses."""

    kind: str
    person: TreePerson | None = None
    depth: int = 0


def _statuses(session: Session) -> tuple[Any, dict[str, tuple[str, str]]]:
    live = live_inspection(session)
    if live is None:
        return None, {}
    table = CascadeNode.__table__  # type: ignore[attr-defined]
    # Plain rows carry the attributes node_status reads, without 10,000 ORM objects.
    nodes = (
        session.connection()
        .execute(
            sa.select(
                table.c.contact_id,
                table.c.acknowledged_at,
                table.c.escalated_at,
                table.c.broken_reason,
                table.c.notified_at,
            ).where(table.c.inspection_id == live.id)
        )
        .all()
    )
    return live, {
        node.contact_id: STATUS_TAGS.get(node_status(node), NOT_MESSAGED)  # type: ignore[arg-type]
        for node in nodes
    }


def _build_tree(
    session: Session, live: Any, statuses: dict[str, tuple[str, str]], steering_group: str
) -> tuple[list[TreePerson], dict[str, TreePerson]]:
    """Every active contact, linked to their manager; the roots are the steering group (its
    members shown at the top even when they report to someone, as the cascade messages them)."""
    levels = contacts.tree_levels(session, steering_group)
    table = Contact.__table__  # type: ignore[attr-defined]
    # Plain rows through the connection: the tree of 10,000 needs no ORM objects.
    rows = (
        session.connection()
        .execute(
            sa.select(table.c.id, table.c.name, table.c.role, table.c.reports_to)
            .where(table.c.active.is_(True))
            .order_by(table.c.name, table.c.id)
        )
        .all()
    )
    people: dict[str, TreePerson] = {}
    for ident, name, role, _ in rows:
        status = None
        if live is not None:
            status = statuses.get(ident, NOT_IN_SNAPSHOT)
        people[ident] = TreePerson(ident, name, role, levels.get(ident, 1), status)
    roots: list[TreePerson] = []
    for ident, _, _, above in rows:
        person = people[ident]
        manager = people.get(above) if above else None
        if manager is None or person.level == 1:
            roots.append(person)
        else:
            manager.children.append(person)
            person.manager = manager
    # Sizes from the deepest level up (a stored cycle, which the rules forbid, is never reached).
    for person in sorted(people.values(), key=lambda p: -p.level):
        person.below = sum(1 + child.below for child in person.children)
    return roots, people


def _walk(top: TreePerson, levels: int = TREE_LEVELS_PER_PAGE) -> list[TreeStep]:
    """Everyone under `top` down to `levels` below, depth first, with an explicit stack."""
    steps: list[TreeStep] = []
    stack: list[tuple[TreePerson, int] | None] = [(c, 1) for c in reversed(top.children)]
    while stack:
        item = stack.pop()
        if item is None:
            steps.append(TreeStep("close"))
            continue
        person, depth = item
        if person.children and depth < levels:
            steps.append(TreeStep("open", person, depth))
            stack.append(None)
            stack.extend((child, depth + 1) for child in reversed(person.children))
        else:
            steps.append(TreeStep("person", person, depth))
    return steps


def _path_to(person: TreePerson) -> list[TreePerson | None]:
    """The managers above someone, top first (for the breadcrumbs); a long path keeps the top
    one and the nearest ones, with None for the gap."""
    path: list[TreePerson] = []
    above = person.manager
    while above is not None:
        path.append(above)
        above = above.manager
    path.reverse()
    if len(path) <= PATH_SHOWN:
        return list(path)
    return [path[0], None, *path[-(PATH_SHOWN - 1) :]]


@router.get("/contacts/tree")
def tree_page(
    request: Request,
    _: CurrentUser,
    session: ReadSessionDep,
    rules: RulesDep,
    under: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The whole steering group with their own groups; everyone under one person on a page of
    its own (`under`), so a tree of 10,000 stays quick to load and to read."""
    live, statuses = _statuses(session)
    roots, people = _build_tree(session, live, statuses, rules.steering_group)
    counts: dict[str, int] = {}
    if live is not None:
        for person in people.values():
            if person.status is not None:
                counts[person.status[0]] = counts.get(person.status[0], 0) + 1
    context: dict[str, Any] = {
        "live": live,
        "status_counts": counts,
        "people_total": len(people),
    }
    if not under:
        return render(request, "contacts_tree.html", {**context, "roots": roots})
    top = people.get(under)
    if top is None:
        return not_found(request, f"There is no one in the tree with the id {under[:64]}.")
    return render(
        request,
        "contacts_subtree.html",
        {**context, "top": top, "steps": _walk(top), "path": _path_to(top)},
    )


# The import ----------------------------------------------------------------------------------


def _import_page(
    request: Request,
    form: PageForm,
    *,
    status_code: int = 200,
    problems: list[RowError] | None = None,
    more_problems: int = 0,
) -> Response:
    return render(
        request,
        "contacts_import.html",
        {
            "form": form,
            "problems": problems or [],
            "more_problems": more_problems,
            "file_field": FILE_FIELD,
        },
        status_code=status_code,
    )


def _file_problem(request: Request, message: str, *, status_code: int = 422) -> Response:
    form = PageForm(ids={"file": FILE_FIELD})
    form.add("file", message)
    return _import_page(request, form, status_code=status_code)


@router.get("/contacts/import")
def import_page(request: Request, _: ContactsManager) -> Response:
    return _import_page(request, PageForm(ids={"file": FILE_FIELD}))


def problem_text(problem: RowError) -> str:
    where = "The file" if problem.line == 0 else f"Line {problem.line}"
    if problem.column and problem.column != importer.FILE:
        where += f", column {problem.column}"
    elif problem.line:
        where += " (the whole row)"
    return f"{where}: {problem.message}"


def _rejected(request: Request, rejected: ImportRejected, replace: bool) -> Response:
    """The problems in the error summary, by line and column, each linking to the file field
    (choosing a corrected file is how each is fixed); past the importer's cap, "and N more"."""
    form = PageForm(values={"replace": "yes" if replace else ""})
    for index, problem in enumerate(rejected.errors):
        form.add(f"problem-{index}", problem_text(problem))
        form.ids[f"problem-{index}"] = FILE_FIELD
    if rejected.more:
        form.add("problem-more", more_problems_text(rejected.more))
        form.ids["problem-more"] = FILE_FIELD
    return _import_page(
        request, form, status_code=422, problems=rejected.errors, more_problems=rejected.more
    )


def more_problems_text(more: int) -> str:
    return f"And {more} more {'problem' if more == 1 else 'problems'}, not listed"


def _preview_page(
    request: Request,
    session: Session,
    user: User,
    upload: contacts_upload.Upload,
    *,
    note: str | None = None,
) -> Response:
    """A dry run, read only: `session` is the reader's."""
    token = contacts_upload.seal(request, upload)
    if not contacts_upload.fits(token):
        return _file_problem(request, contacts_upload.TOO_LARGE)
    try:
        preview = contacts_upload.preview(session, upload)
    except ImportRejected as exc:
        return _rejected(request, exc, upload.replace)
    return render(
        request,
        "contacts_import_preview.html",
        {"upload": upload, "preview": preview, "token": token, "note": note},
    )


@router.post("/contacts/import")
async def preview_import(
    request: Request, user: ContactsManager, session: ReadSessionDep
) -> Response:
    """The dry run: what the file would change, or every problem in it; nothing is written."""
    form = await request.form()
    replace = form.get("replace") == "yes"
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _file_problem(request, "Select a contacts file (CSV or .xlsx)")
    data = await upload.read()
    chosen = contacts_upload.Upload(filename=upload.filename, data=data, replace=replace)
    return await run_in_threadpool(_preview_page, request, session, user, chosen)


@router.post("/contacts/import/confirm")
async def confirm_import(
    request: Request, user: ContactsManager, session: SessionDep, reading: ReadSessionDep
) -> Response:
    """Import exactly the file previewed (sealed in the preview's form); a changed choice of
    mode is previewed again first, since it changes what happens."""
    form = await request.form()
    upload = contacts_upload.unseal(request, str(form.get("upload", "")))
    if upload is None:
        return _file_problem(
            request, "The preview has expired or was altered. Choose the file and preview it again"
        )
    replace = form.get("replace") == "yes"
    if replace != upload.replace:
        changed = contacts_upload.Upload(upload.filename, upload.data, replace)
        note = (
            "You changed whether people missing from the file are deactivated. "
            "Check what will change now, then import."
        )
        return await run_in_threadpool(_preview_page, request, reading, user, changed, note=note)
    return await run_in_threadpool(_import, request, session, user, upload)


def _import(
    request: Request, session: Session, user: User, upload: contacts_upload.Upload
) -> Response:
    try:
        counts = importer.import_contacts(
            session,
            upload.data,
            filename=upload.filename,
            actor=actor_for(user),
            now=utcnow(),
            replace=upload.replace,
        )
        session.commit()
    except ImportRejected as exc:
        session.rollback()
        return _rejected(request, exc, upload.replace)
    except IntegrityError:
        session.rollback()
        return _file_problem(
            request,
            "The contacts changed at the same moment. Preview the file again",
            status_code=409,
        )
    message = (
        f"Contacts imported: {counts.created} added, {counts.updated} changed, "
        f"{counts.unchanged} unchanged, {counts.deactivated} deactivated"
    )
    response = see_other("/contacts")
    flash(request, response, message, secure=cookies_secure(request.app.state.settings))
    return response
