"""The contacts file between its preview and its import.

The previewed file travels back with the preview's form, compressed and signed with the pages'
key (itsdangerous, with a timestamp): nothing is kept on one server, so any replica can finish
the import, and the signature means the import runs on exactly the bytes that were previewed
(a different file needs a preview of its own). A sealed file expires after an hour."""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from itsdangerous import BadData, TimestampSigner
from sqlmodel import Session

from service.api.pages.signing import page_secret
from service.contacts import importer
from service.contacts.importer import ImportCounts
from service.contacts.models import Contact
from service.contacts.service import COLUMNS

SALT = "inspection-week-contacts-import"
MAX_AGE_SECONDS = 3600
MAX_SEALED_CHARACTERS = 1_000_000
"""Within the form parser's 1 MB a field; a compressed list of 10,000 people fits easily."""
TOO_LARGE = (
    "The file is too large to import from this page: import it with "
    "'inspection-week contacts import' or the API"
)
SAMPLE_ROWS = 5
"""How many rows of each kind of change the preview lists."""


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes
    replace: bool


@dataclass
class Preview:
    counts: ImportCounts
    added: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    deactivated: list[dict[str, Any]] = field(default_factory=list)


def _signer(request: Request) -> TimestampSigner:
    return TimestampSigner(page_secret(request), salt=SALT)


def seal(request: Request, upload: Upload) -> str:
    header = json.dumps({"filename": upload.filename[:200], "replace": upload.replace})
    payload = header.encode() + b"\n" + upload.data
    packed = base64.urlsafe_b64encode(zlib.compress(payload, 6)).rstrip(b"=")
    return _signer(request).sign(packed).decode("ascii")


def fits(token: str) -> bool:
    return len(token) <= MAX_SEALED_CHARACTERS


def unseal(request: Request, token: str) -> Upload | None:
    """The sealed file, or None when the seal is missing, altered or expired."""
    if not token or len(token) > MAX_SEALED_CHARACTERS + 200:
        return None
    try:
        packed = _signer(request).unsign(token, max_age=MAX_AGE_SECONDS)
        payload = zlib.decompress(base64.urlsafe_b64decode(packed + b"=" * (-len(packed) % 4)))
        header, _, data = payload.partition(b"\n")
        meta = json.loads(header)
    except (BadData, ValueError, zlib.error):
        return None
    return Upload(filename=str(meta["filename"]), data=data, replace=bool(meta["replace"]))


def _changed_fields(before: Contact, values: dict[str, Any]) -> list[str]:
    fields = [name for name in COLUMNS if getattr(before, name) != values.get(name)]
    if not before.active:
        fields.insert(0, "active again")
    return fields


def preview(session: Session, upload: Upload) -> Preview:
    """The importer's own plan, read and checked once (so the counts and the problems are
    exactly the import's), and the first rows of each kind of change. ImportRejected lists the
    problems. Nothing is written."""
    plan = importer.plan_import(
        session, upload.data, filename=upload.filename, replace=upload.replace
    )
    result = Preview(counts=plan.counts)
    result.added = plan.create[:SAMPLE_ROWS]
    for values in plan.update[:SAMPLE_ROWS]:
        before = session.get(Contact, values["id"])
        fields = _changed_fields(before, values) if before is not None else []
        result.changed.append({**values, "fields": fields})
    for ident in plan.deactivate[:SAMPLE_ROWS]:
        before = session.get(Contact, ident)
        result.deactivated.append({"id": ident, "name": before.name if before else ""})
    return result
