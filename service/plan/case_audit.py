"""The 18-case audit of week 2: the lead inspector names cases in week 1, the coordinator enters
their references, a first-tier auditor audits each, a senior manager re-audits it, and the
findings go to the inspection team.

Case references, never names. The audit list travels to the inspection team and into exports,
so a reference must be a case number: after trimming, 1-32 characters of letters A-Z, digits and
`/ - _ .`, starting and ending with a letter or digit, with at least one digit, no spaces and no
more than 4 letters in a row ("CIN-004512", "LAC/2013/0042", "CP12345"). Anything shaped like a
name is refused with "looks like a person's name: enter the case number only": a run of more than
4 letters in any alphabet ("Smith1", "amelia.jones", "Wójcik7"), letters with no digit ("Amy"),
or letters on both sides of a space or apostrophe ("J Smith", "O'Neil7"). References are stored
in capitals, so "cin-004512" and "CIN-004512" are the same case.

Status moves one step at a time, not_started -> audited -> re_audited -> findings_reported, each
step stamping its time. One step back is allowed to correct a mistake (it clears the stamp of
the step left); skipping is refused. Two tiers: an audited case has a first-tier auditor; a
re-audited one a re-auditor (a different, senior person) and both grades on the framework's scale,
the first tier's (`first_tier_grade`, which may be entered at the audit or with the re-audit) and
the senior's (`grade`, the moderated one); a reported one at least one finding (strengths, areas
for improvement, good practice, or the summary `findings`).
Only a case not yet started can be deleted (a mistyped reference). Every change is one timeline
entry that says how long the findings are, never what they say."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from service import timeline
from service.contacts.models import Contact
from service.errors import Conflict, DomainError, InvalidInput, NotFound
from service.frameworks import Framework
from service.inspections import service as inspections
from service.inspections.models import Inspection
from service.plan.models import AuditCase, AuditStatus

if TYPE_CHECKING:
    from service.plan.schemas import CaseUpdate
    from service.rules import Rules
MAX_REFERENCE = 32
MAX_LETTER_RUN = 4
MAX_FINDINGS = 2000
MAX_CASES = 200
"""The most any framework file may ask for (`audit_cases`), so the most one request may add."""
STAGES: list[AuditStatus] = list(AuditStatus)
"""In order; a case's progress is its position here."""
STAMPS = {
    AuditStatus.audited: "audited_at",
    AuditStatus.re_audited: "re_audited_at",
    AuditStatus.findings_reported: "reported_at",
}
NAME_LIKE = "looks like a person's name: enter the case number only"
REFERENCE_RULE = (
    "a case reference is up to 32 letters A-Z, digits and / - _ . with at least one digit and "
    "no more than 4 letters in a row, e.g. CIN-004512 or LAC/2013/0042"
)

_ALLOWED = re.compile(r"^[A-Za-z0-9/._-]+$")
_LETTER_RUN = re.compile(r"[^\W\d_]+")
"""Letters of any alphabet, so an accented name is one run."""
_NAME_GAP = re.compile(r"[^\W\d_][\s'\u2019]+[^\W\d_]")
"""A letter, a space or apostrophe, a letter: "J Smith", "O'Neil"."""
_ASCII_DIGIT = re.compile(r"[0-9]")
_ASCII_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


class BadReference(ValueError):
    """A reference that is not a case number; the message says why and gives the rule."""


def check_reference(text: str) -> str:
    """The reference as stored (trimmed, in capitals), or BadReference."""
    cleaned = text.strip()
    if not cleaned:
        raise BadReference(f"enter the case number ({REFERENCE_RULE})")
    runs = _LETTER_RUN.findall(cleaned)
    has_digit = _ASCII_DIGIT.search(cleaned) is not None
    if (
        any(len(run) > MAX_LETTER_RUN for run in runs)
        or (runs and not has_digit)
        or _NAME_GAP.search(cleaned)
    ):
        raise BadReference(f"{NAME_LIKE} ({REFERENCE_RULE})")
    if len(cleaned) > MAX_REFERENCE:
        raise BadReference(
            f"must be at most {MAX_REFERENCE} characters, not {len(cleaned)} ({REFERENCE_RULE})"
        )
    if any(character.isspace() for character in cleaned):
        raise BadReference(f"must not contain spaces ({REFERENCE_RULE})")
    if not _ALLOWED.match(cleaned):
        raise BadReference(f"may contain only letters A-Z, digits and / - _ . ({REFERENCE_RULE})")
    if not has_digit:
        raise BadReference(f"must contain at least one digit ({REFERENCE_RULE})")
    if cleaned[0] not in _ASCII_ALNUM or cleaned[-1] not in _ASCII_ALNUM:
        raise BadReference(f"must start and end with a letter or a digit ({REFERENCE_RULE})")
    return cleaned.upper()


FINDING_FIELDS = ("findings", "strengths", "areas_for_improvement", "good_practice")
"""The summary, then the three kinds the findings report groups."""
FINDING_LABELS = {
    "findings": "findings",
    "strengths": "strengths",
    "areas_for_improvement": "areas for improvement",
    "good_practice": "good practice",
}


def check_findings(text: str | None, field: str = "findings") -> str | None:
    """Trimmed findings, None for blank; at most 2000 characters (short: the detail lives in the
    case file, the findings report summarises)."""
    if text is None:
        return None
    cleaned = text.strip()
    if not cleaned:
        return None
    if not _is_text(cleaned):
        raise InvalidInput(field, "contains characters that are not text")
    if len(cleaned) > MAX_FINDINGS:
        raise InvalidInput(field, f"must be at most {MAX_FINDINGS} characters, not {len(cleaned)}")
    return cleaned


def check_grade(framework: Framework, grade: str | None, field: str = "grade") -> str | None:
    if grade is None or not grade.strip():
        return None
    if grade.strip() not in framework.grades:
        raise InvalidInput(
            field,
            f"is not on the {framework.name} scale; use one of: {', '.join(framework.grades)}",
        )
    return grade.strip()


def _is_text(value: str) -> bool:
    """False for unpaired surrogates (JSON can carry them; neither database can store them)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _blank_to_none(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


@dataclass(frozen=True)
class NewCase:
    reference: str
    auditor_contact_id: str | None = None
    reauditor_contact_id: str | None = None


@dataclass(frozen=True)
class Added:
    cases: list[AuditCase]
    remaining: int
    """How many more the framework's count leaves room for."""


@dataclass(frozen=True)
class CaseError:
    index: int | None
    """Position in the request's `cases`; None for the list as a whole."""
    field: str | None
    message: str


class CasesRejected(DomainError):
    """Nothing was added: every problem with every case, by position."""

    def __init__(self, errors: list[CaseError]):
        super().__init__("; ".join(error.message for error in errors))
        self.errors = errors


def _contacts(session: Session, ids: Iterable[str | None]) -> dict[str, Contact]:
    """The people named (ids trimmed, as they are checked), in one query."""
    wanted = {value.strip() for value in ids if value and value.strip() and _is_text(value)}
    if not wanted:
        return {}
    rows = session.exec(select(Contact).where(col(Contact.id).in_(wanted))).all()
    return {contact.id: contact for contact in rows}


def _contact_problem(contacts: Mapping[str, Contact], contact_id: str) -> str | None:
    contact = contacts.get(contact_id)
    if contact is None:
        return f"no contact {contact_id!r}"
    if not contact.active:
        return f"{contact_id!r} is not active; choose someone in the communication tree"
    return None


def _inspection(session: Session, inspection_id: uuid.UUID, *, lock: bool = False) -> Inspection:
    query = select(Inspection).where(Inspection.id == inspection_id)
    inspection = session.exec(query.with_for_update() if lock else query).first()
    if inspection is None:
        raise NotFound(f"no inspection {inspection_id}")
    return inspection


def _open_inspection(
    session: Session, inspection_id: uuid.UUID, *, lock: bool = False
) -> Inspection:
    inspection = _inspection(session, inspection_id, lock=lock)
    if inspections.is_closed(session, inspection_id):
        raise Conflict(f"inspection {inspection_id} is closed; its audit can no longer change")
    return inspection


def get_case(
    session: Session, inspection_id: uuid.UUID, case_id: uuid.UUID, *, lock: bool = False
) -> AuditCase:
    query = select(AuditCase).where(
        AuditCase.id == case_id, AuditCase.inspection_id == inspection_id
    )
    case = session.exec(query.with_for_update() if lock else query).first()
    if case is None:
        raise NotFound(f"no audit case {case_id} in inspection {inspection_id}")
    return case


def list_cases(session: Session, inspection_id: uuid.UUID) -> list[AuditCase]:
    """In the order entered (cases entered together by reference)."""
    query = (
        select(AuditCase)
        .where(AuditCase.inspection_id == inspection_id)
        .order_by(col(AuditCase.created_at), col(AuditCase.reference))
    )
    return list(session.exec(query).all())


def add_cases(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    cases: Sequence[NewCase],
    actor: str,
    now: datetime,
) -> Added:
    """All the cases or none: every problem is collected, by position, before anything is
    written. The inspection row is locked so two coordinators cannot pass the count together."""
    inspection = _open_inspection(session, inspection_id, lock=True)
    framework = rules.framework(inspection.framework)
    stored = set(
        session.exec(
            select(AuditCase.reference).where(AuditCase.inspection_id == inspection_id)
        ).all()
    )
    errors: list[CaseError] = []
    room = framework.audit_cases - len(stored)
    if not cases:
        errors.append(CaseError(None, None, "give at least one case"))
    elif framework.audit_cases == 0:
        errors.append(CaseError(None, None, f"{framework.name} has no case audit"))
    elif len(cases) > room:
        errors.append(
            CaseError(
                None,
                None,
                f"{framework.name} audits {framework.audit_cases} cases and {len(stored)} "
                f"{'is' if len(stored) == 1 else 'are'} already entered, so "
                f"{max(room, 0)} more can be added, not {len(cases)}",
            )
        )
    contacts = _contacts(
        session,
        [value for case in cases for value in (case.auditor_contact_id, case.reauditor_contact_id)],
    )
    first_at: dict[str, int] = {}
    rows: list[AuditCase] = []
    for index, case in enumerate(cases):
        reference: str | None = None
        try:
            reference = check_reference(case.reference)
        except BadReference as exc:
            errors.append(CaseError(index, "reference", str(exc)))
        if reference is not None and reference in stored:
            errors.append(
                CaseError(index, "reference", f"{reference} is already in this inspection's audit")
            )
        elif reference is not None and reference in first_at:
            errors.append(
                CaseError(
                    index,
                    "reference",
                    f"{reference} is also cases.{first_at[reference]}: enter each case once",
                )
            )
        elif reference is not None:
            first_at[reference] = index
        auditor = _blank_to_none(case.auditor_contact_id)
        reauditor = _blank_to_none(case.reauditor_contact_id)
        for field, value in (("auditor_contact_id", auditor), ("reauditor_contact_id", reauditor)):
            problem = _contact_problem(contacts, value) if value else None
            if problem:
                errors.append(CaseError(index, field, problem))
        if auditor and auditor == reauditor:
            errors.append(
                CaseError(index, "reauditor_contact_id", "must be someone other than the auditor")
            )
        if reference is not None:
            rows.append(
                AuditCase(
                    inspection_id=inspection_id,
                    reference=reference,
                    auditor_contact_id=auditor,
                    reauditor_contact_id=reauditor,
                    created_at=now,
                    created_by=actor,
                    updated_at=now,
                )
            )
    if errors:
        raise CasesRejected(errors)
    session.add_all(rows)
    references = _some([row.reference for row in rows])
    timeline.log(
        session,
        inspection_id=inspection_id,
        actor=actor,
        kind="audit_cases_added",
        summary=f"{len(rows)} case{'s' * (len(rows) != 1)} added to the audit: {references}",
        data={"cases": [{"id": str(row.id), "reference": row.reference} for row in rows]},
        now=now,
    )
    session.flush()
    return Added(cases=rows, remaining=max(room - len(rows), 0))


def _some(references: list[str], budget: int = 800) -> str:
    """The references for a timeline summary (which holds 1000 characters), cut short with a
    count when a framework audits many cases; the entry's data lists them all."""
    shown: list[str] = []
    for reference in references:
        if sum(len(r) + 2 for r in shown) + len(reference) > budget:
            return f"{', '.join(shown)} and {len(references) - len(shown)} more"
        shown.append(reference)
    return ", ".join(shown)


def _step_error(current: AuditStatus) -> str:
    position = STAGES.index(current)
    options = []
    if position + 1 < len(STAGES):
        options.append(f"on to {STAGES[position + 1].value}")
    if position > 0:
        options.append(f"back to {STAGES[position - 1].value} to correct a mistake")
    return f"moves one step at a time; from {current.value} it can go {' or '.join(options)}"


def _status(value: Any, current: AuditStatus) -> AuditStatus:
    if value is None:
        raise InvalidInput("status", "cannot be cleared; " + _step_error(current))
    try:
        target = AuditStatus(value)
    except ValueError:
        raise InvalidInput(
            "status", f"must be one of: {', '.join(stage.value for stage in STAGES)}"
        ) from None
    if abs(STAGES.index(target) - STAGES.index(current)) > 1:
        raise InvalidInput("status", _step_error(current))
    return target


def _reached(status: AuditStatus, stage: AuditStatus) -> bool:
    return STAGES.index(status) >= STAGES.index(stage)


def _check_complete(
    state: Mapping[str, Any], framework: Framework, changes: Mapping[str, Any]
) -> None:
    """What each stage needs, checked on the case as it would be after the change."""
    status = state["status"]
    auditor, reauditor = state["auditor_contact_id"], state["reauditor_contact_id"]
    if auditor and auditor == reauditor:
        field = (
            "reauditor_contact_id" if "reauditor_contact_id" in changes else "auditor_contact_id"
        )
        raise InvalidInput(field, "the auditor and the re-auditor must be different people")
    if _reached(status, AuditStatus.audited) and not auditor:
        raise InvalidInput(
            "auditor_contact_id", f"a case that is {status.value} needs its first-tier auditor"
        )
    if _reached(status, AuditStatus.re_audited) and not reauditor:
        raise InvalidInput(
            "reauditor_contact_id", f"a case that is {status.value} needs its senior re-auditor"
        )
    if _reached(status, AuditStatus.re_audited) and not state["grade"]:
        raise InvalidInput(
            "grade",
            f"a case that is {status.value} needs a grade; use one of: "
            f"{', '.join(framework.grades)}",
        )
    if _reached(status, AuditStatus.re_audited) and not state["first_tier_grade"]:
        raise InvalidInput(
            "first_tier_grade",
            f"a case that is {status.value} needs the first-tier auditor's grade too, for the "
            f"moderation; use one of: {', '.join(framework.grades)}",
        )
    if status is AuditStatus.findings_reported and not any(
        state[field] for field in FINDING_FIELDS
    ):
        raise InvalidInput(
            "findings",
            "a case whose findings are reported needs at least one: strengths, areas for "
            "improvement, good practice or a summary",
        )


FIELDS = (
    "auditor_contact_id",
    "reauditor_contact_id",
    "status",
    "first_tier_grade",
    "grade",
    *FINDING_FIELDS,
)


def update_case(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    case_id: uuid.UUID,
    changes: CaseUpdate,
    actor: str,
    now: datetime,
) -> AuditCase:
    """Apply the fields sent (`changes.model_fields_set`; None clears one), or change nothing
    and raise InvalidInput."""
    sent = {field: getattr(changes, field) for field in changes.model_fields_set}
    inspection = _open_inspection(session, inspection_id)
    case = get_case(session, inspection_id, case_id, lock=True)
    framework = rules.framework(inspection.framework)
    current = AuditStatus(case.status)
    before: dict[str, Any] = {field: getattr(case, field) for field in FIELDS}
    before["status"] = current
    after = dict(before)
    contacts = _contacts(
        session, [sent.get("auditor_contact_id"), sent.get("reauditor_contact_id")]
    )
    for field in ("auditor_contact_id", "reauditor_contact_id"):
        if field in sent:
            value = _blank_to_none(sent[field])
            if value is not None and value != before[field]:
                problem = _contact_problem(contacts, value)
                if problem:
                    raise InvalidInput(field, problem)
            after[field] = value
    for field in ("first_tier_grade", "grade"):
        if field in sent:
            after[field] = check_grade(framework, sent[field], field)
    for field in FINDING_FIELDS:
        if field in sent:
            after[field] = check_findings(sent[field], field)
    if "status" in sent:
        after["status"] = _status(sent["status"], current)
    _check_complete(after, framework, sent)

    changed = {field for field in FIELDS if after[field] != before[field]}
    if not changed:
        return case
    target: AuditStatus = after["status"]
    if STAGES.index(target) > STAGES.index(current):
        setattr(case, STAMPS[target], now)
    elif STAGES.index(target) < STAGES.index(current):
        setattr(case, STAMPS[current], None)
    for field in changed:
        setattr(case, field, after[field].value if field == "status" else after[field])
    case.updated_at = now
    session.add(case)
    _log_update(session, case, before, after, changed, actor=actor, now=now)
    session.flush()
    return case


def _log_update(
    session: Session,
    case: AuditCase,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    changed: set[str],
    *,
    actor: str,
    now: datetime,
) -> None:
    """What changed, for the timeline: statuses, grades and people in full, findings by their
    length only (the findings are about a child; the timeline is read widely)."""
    names = {
        contact.id: contact.name
        for contact in _contacts(
            session, [after["auditor_contact_id"], after["reauditor_contact_id"]]
        ).values()
    }
    parts: list[str] = []
    data: dict[str, Any] = {}
    if "status" in changed:
        old, new = before["status"], after["status"]
        back = STAGES.index(new) < STAGES.index(old)
        parts.append(f"{old.value} → {new.value}" + (" (correction)" if back else ""))
        data["status"] = {"from": old.value, "to": new.value}
    for field, label in (("auditor_contact_id", "auditor"), ("reauditor_contact_id", "re-auditor")):
        if field in changed:
            value = after[field]
            parts.append(f"{label} {names.get(value, value)}" if value else f"{label} removed")
            data[field] = {"from": before[field], "to": value}
    for field, label in (("first_tier_grade", "first-tier grade"), ("grade", "grade")):
        if field in changed:
            parts.append(f"{label} {after[field]}" if after[field] else f"{label} removed")
            data[field] = {"from": before[field], "to": after[field]}
    for field in FINDING_FIELDS:
        if field not in changed:
            continue
        label = FINDING_LABELS[field]
        old_text, new_text = before[field], after[field]
        if new_text is None:
            parts.append(f"{label} removed")
        else:
            verb = "added" if old_text is None else "changed"
            parts.append(f"{label} {verb} ({len(new_text)} characters)")
        data[f"{field}_characters"] = {
            "from": len(old_text) if old_text else None,
            "to": len(new_text) if new_text else None,
        }
    timeline.log(
        session,
        inspection_id=case.inspection_id,
        actor=actor,
        kind="audit_case_updated",
        summary=f"Case {case.reference}: {'; '.join(parts)}",
        data={"case_id": str(case.id), "reference": case.reference, "changes": data},
        now=now,
    )


def delete_case(
    session: Session, *, inspection_id: uuid.UUID, case_id: uuid.UUID, actor: str, now: datetime
) -> None:
    """Only before the audit of the case has started: a mistyped reference, not lost work."""
    _open_inspection(session, inspection_id)
    case = get_case(session, inspection_id, case_id, lock=True)
    if case.status != AuditStatus.not_started.value:
        raise Conflict(
            f"case {case.reference} is {case.status}; only a case not started can be deleted "
            "(move it back one step at a time to correct it)",
            status=case.status,
        )
    session.delete(case)
    timeline.log(
        session,
        inspection_id=inspection_id,
        actor=actor,
        kind="audit_case_deleted",
        summary=f"Case {case.reference} removed from the audit",
        data={"case_id": str(case.id), "reference": case.reference},
        now=now,
    )
    session.flush()
