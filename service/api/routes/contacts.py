"""Contacts and the communication tree: list, read, create, change, deactivate, import, export."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.datastructures import UploadFile

from service import spreadsheet
from service.api.deps import ContactsReader, ContactsWriter, SessionDep
from service.api.errors import commit_or_conflict, error_responses
from service.api.pagination import CursorPageDep, page_of
from service.contacts import importer, service
from service.contacts.importer import FILE, ImportRejected, RowError
from service.contacts.schemas import ContactCreate, ContactPublic, ContactsPublic, ContactUpdate
from service.db import utcnow

router = APIRouter(prefix="/api/v1/contacts", tags=["contacts"])

CHANGED_AT_ONCE = "the contacts changed at the same moment; try again"
IMPORT_REJECTED = {
    "description": "Nothing was imported: the first 100 problems by line, with the spreadsheet "
    "line (header = 1; 0 = the file as a whole) and column, and `more_errors`, how many more "
    "there are",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["errors", "more_errors"],
                "properties": {
                    "more_errors": {"type": "integer", "minimum": 0},
                    "errors": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["line", "column", "message"],
                            "properties": {
                                "line": {"type": "integer"},
                                "column": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        },
                    },
                },
            },
            "example": {
                "errors": [{"line": 4, "column": "mobile", "message": "is not a UK mobile number"}],
                "more_errors": 0,
            },
        }
    },
}
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get(
    "",
    response_model=ContactsPublic,
    summary="List contacts by name, with search and filters",
    responses=error_responses(401, 403, 422),
)
def list_contacts(
    session: SessionDep,
    _: ContactsReader,
    page: CursorPageDep,
    q: Annotated[
        str | None, Query(max_length=200, description="Part of a name, id, role or email")
    ] = None,
    group: Annotated[str | None, Query(max_length=100)] = None,
    active: bool | None = None,
) -> ContactsPublic:
    found, _total = service.list_contacts(
        session,
        q=q,
        group=group,
        active=active,
        limit=page.limit + 1,
        after=page.key(str, str),
    )
    items, next_cursor = page_of(found, limit=page.limit, key=lambda row: (row.name, row.id))
    return ContactsPublic(
        items=[ContactPublic.of(contact) for contact in items], next_cursor=next_cursor
    )


@router.get(
    "/export",
    summary="Every active contact as CSV or .xlsx, in the import's columns",
    response_class=Response,
    responses={
        200: {"content": {MEDIA_TYPES["csv"]: {}, MEDIA_TYPES["xlsx"]: {}}},
        **error_responses(401, 403, 422),
    },
)
def export_contacts(
    session: SessionDep, _: ContactsReader, format: Literal["csv", "xlsx"] = "csv"
) -> Response:
    rows = service.export_rows(session)
    if format == "csv":
        content = spreadsheet.write_csv(service.COLUMNS, rows, bom=True)
    else:
        content = spreadsheet.write_xlsx("contacts", service.COLUMNS, rows)
    return Response(
        content=content,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="contacts.{format}"'},
    )


def _rejected(errors: list[RowError], more: int = 0) -> JSONResponse:
    return JSONResponse(
        status_code=422,
        content={"errors": [e.as_dict() for e in errors], "more_errors": more},
    )


class ImportCounts(BaseModel):
    """How many contacts the import created, changed, left alone and deactivated (with
    `dry_run`, would have)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"created": 212, "updated": 14, "unchanged": 1630, "deactivated": 3}]
        }
    )

    created: int
    updated: int
    unchanged: int
    deactivated: int


@router.post(
    "/import",
    summary="Import the tree from CSV or .xlsx: all rows or none",
    response_model=ImportCounts,
    responses={
        200: {"description": "Imported (or, with dry_run, what would be)"},
        **error_responses(
            401, 403, described={409: "The contacts changed during the import; nothing was written"}
        ),
        422: IMPORT_REJECTED,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
)
async def import_contacts(
    request: Request,
    session: SessionDep,
    principal: ContactsWriter,
    dry_run: bool = False,
    replace: bool = False,
) -> Any:
    """Columns `id,name,role,email,mobile,reports_to,deputy,groups,channels,ack_window_minutes`.
    `dry_run=true` checks and counts without writing; `replace=true` makes the file the whole
    tree (stored contacts missing from it are deactivated)."""
    try:
        form = await request.form(max_files=1, max_fields=10)
    except HTTPException as exc:
        message = exc.detail[0]["msg"] if isinstance(exc.detail, list) else str(exc.detail)
        return _rejected([RowError(0, FILE, f"the upload cannot be read: {message}")])
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return _rejected(
            [RowError(0, FILE, "send the spreadsheet as the multipart form field `file`")]
        )
    data = await upload.read()
    await form.close()

    def run() -> dict[str, int] | ImportRejected:
        try:
            counts = importer.import_contacts(
                session,
                data,
                filename=upload.filename,
                actor=principal.actor,
                now=utcnow(),
                dry_run=dry_run,
                replace=replace,
            )
        except ImportRejected as exc:
            session.rollback()
            return exc
        commit_or_conflict(session, CHANGED_AT_ONCE)
        return counts.as_dict()

    result = await run_in_threadpool(run)
    if isinstance(result, ImportRejected):
        return _rejected(result.errors, result.more)
    return result


@router.get(
    "/{contact_id}",
    response_model=ContactPublic,
    responses=error_responses(401, 403, 422, described={404: "No such contact"}),
)
def read_contact(contact_id: str, session: SessionDep, _: ContactsReader) -> ContactPublic:
    return ContactPublic.of(service.get(session, contact_id))


@router.post(
    "",
    status_code=201,
    response_model=ContactPublic,
    summary="Add a contact to the tree",
    responses=error_responses(401, 403, 422, described={409: "The id is taken"}),
)
def create_contact(
    body: ContactCreate, session: SessionDep, principal: ContactsWriter, response: Response
) -> ContactPublic:
    contact = service.create(session, body.model_dump(), actor=principal.actor, now=utcnow())
    public = ContactPublic.of(contact)
    commit_or_conflict(session, CHANGED_AT_ONCE)
    response.headers["Location"] = f"{router.prefix}/{contact.id}"
    return public


@router.patch(
    "/{contact_id}",
    response_model=ContactPublic,
    summary="Change a contact: only the fields sent; null clears",
    responses=error_responses(
        401,
        403,
        422,
        described={404: "No such contact", 409: "Deactivating someone still in the tree"},
    ),
)
def update_contact(
    contact_id: str, body: ContactUpdate, session: SessionDep, principal: ContactsWriter
) -> ContactPublic:
    contact = service.update(session, contact_id, body, actor=principal.actor, now=utcnow())
    public = ContactPublic.of(contact)
    commit_or_conflict(session, CHANGED_AT_ONCE)
    return public


@router.post(
    "/{contact_id}/deactivate",
    response_model=ContactPublic,
    summary="Take a contact out of the tree (refused while others report to or deputise for them)",
    responses=error_responses(
        401,
        403,
        422,
        described={
            404: "No such contact",
            409: "Active contacts report to them or have them as deputy: "
            "`reports_to_them` and `deputy_for` list their ids",
        },
    ),
)
def deactivate_contact(
    contact_id: str, session: SessionDep, principal: ContactsWriter
) -> ContactPublic:
    contact = service.deactivate(session, contact_id, actor=principal.actor, now=utcnow())
    public = ContactPublic.of(contact)
    commit_or_conflict(session, CHANGED_AT_ONCE)
    return public
