"""Regenerate service/api/examples.json: the examples the published API schema shows, taken from
the service's own replies to a scripted week (invented people, example.org, 07700 900xxx) on a
throwaway SQLite database, so every example is a reply the service really gives.

    .venv/bin/python scripts/api_examples.py && \
        .venv/bin/inspection-week openapi --write docs/openapi.json
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service import api_keys, migrate  # noqa: E402
from service.api.openapi import EXAMPLES  # noqa: E402
from service.config import Settings  # noqa: E402
from service.db import make_engine, utcnow  # noqa: E402
from service.main import create_app  # noqa: E402

SHOWN_ITEMS = 2
"""A list's example shows this many items: enough to see the shape."""

PEOPLE = [
    {
        "id": "S001",
        "name": "Harriet Oyelaran",
        "role": "Director of Children's Services",
        "email": "harriet.oyelaran@example.org",
        "mobile": "07700 900123",
        "groups": ["steering-group"],
        "channels": ["email", "sms"],
        "ack_window_minutes": 15,
    },
    {
        "id": "S002",
        "name": "Tomasz Wójcik",
        "role": "Head of Safeguarding",
        "email": "tomasz.wojcik@example.org",
        "mobile": "07700 900456",
        "reports_to": "S001",
        "deputy": "S003",
        "groups": ["steering-group"],
        "channels": ["email", "sms"],
    },
    {
        "id": "S003",
        "name": "Priya Natarajan",
        "role": "Inspection readiness lead",
        "email": "priya.natarajan@example.org",
        "mobile": "07700 900789",
        "reports_to": "S001",
        "groups": ["steering-group", "People"],
        "channels": ["email"],
    },
]


class Recorder:
    """Calls the API and keeps the first request body and reply seen for each schema name."""

    def __init__(self, client: TestClient, schema: dict[str, Any], headers: dict[str, str]):
        self.client = client
        self.schema = schema
        self.headers = headers
        self.examples: dict[str, Any] = {}

    def _names(self, method: str, template: str) -> tuple[str | None, str | None]:
        operation = self.schema["paths"][template][method]
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        reply = next(
            (
                r["content"]["application/json"].get("schema", {})
                for code, r in sorted(operation["responses"].items())
                if code.startswith("2") and "application/json" in r.get("content", {})
            ),
            {},
        )
        return _name(body.get("schema", {})), _name(
            {"$ref": reply["$ref"]} if "$ref" in reply else {}
        )

    def call(self, method: str, template: str, body: Any = None, **path: Any) -> Any:
        url = template.format(**path)
        params = None
        if "?" in url:
            url, query = url.split("?", 1)
            params = dict(part.split("=", 1) for part in query.split("&"))
        response = self.client.request(
            method.upper(), url, json=body, params=params, headers=self.headers
        )
        assert response.status_code < 300, (method, url, response.status_code, response.text)
        request_name, reply_name = self._names(method, template.split("?", 1)[0])
        if request_name and body is not None:
            self.examples.setdefault(request_name, body)
        if response.status_code == 204 or not response.content:
            return None
        reply = response.json()
        reply_name = reply_name or f"{method.upper()} {template.split('?', 1)[0]}"
        if reply_name not in self.examples and _worth_keeping(reply):
            self.examples[reply_name] = _shortened(reply)
        return reply


def _name(schema: dict[str, Any]) -> str | None:
    if "$ref" in schema:
        return str(schema["$ref"].rsplit("/", 1)[-1])
    title = schema.get("title")
    return str(title) if title else None


def _worth_keeping(reply: Any) -> bool:
    return not (isinstance(reply, dict) and reply.get("items") == [])


def _shortened(reply: Any) -> Any:
    if isinstance(reply, dict) and isinstance(reply.get("items"), list):
        return {**reply, "items": reply["items"][:SHOWN_ITEMS]}
    return reply


def week(r: Recorder) -> None:
    for person in sorted(PEOPLE, key=lambda person: "deputy" in person):
        r.call("post", "/api/v1/contacts", person)
    r.call(
        "patch",
        "/api/v1/contacts/{contact_id}",
        {"role": "Head of Safeguarding and QA"},
        contact_id="S002",
    )
    r.call("get", "/api/v1/contacts")
    r.call("get", "/api/v1/contacts/{contact_id}", contact_id="S001")
    r.call("put", "/api/v1/roles/{role}", {"contact_id": "S003"}, role="logistics_lead")
    r.call("get", "/api/v1/roles")
    r.call("post", "/api/v1/closure-days", {"date": "2026-12-29", "reason": "Council closure"})
    r.call("get", "/api/v1/closure-days")
    r.call("get", "/api/v1/working-days/add?from=2026-11-17&days=30")
    r.call("get", "/api/v1/working-days/between?from=2026-11-17&to=2026-12-31")
    r.call("get", "/api/v1/working-days/check?date=2026-12-25")
    r.call("get", "/api/v1/frameworks")
    r.call("get", "/api/v1/frameworks/{key}", key="sif-2013")
    r.call("get", "/api/v1/templates")
    r.call("get", "/api/v1/templates/{purpose}/{medium}", purpose="announcement", medium="sms")
    r.call(
        "post",
        "/api/v1/templates/{purpose}/{medium}/preview",
        {"contact_id": "S002", "drill": True},
        purpose="announcement",
        medium="sms",
    )
    r.call(
        "put",
        "/api/v1/templates/{purpose}/{medium}",
        {
            "body": "((contact.name)): Ofsted arrive ((inspection.on_site_start)). "
            "Acknowledge: ((ack_url))"
        },
        purpose="announcement",
        medium="sms",
    )
    inspection = r.call(
        "post",
        "/api/v1/inspections",
        {
            "framework": "sif-2013",
            "notified_at": "2026-11-17T10:30:00+00:00",
            "lead_inspector": "Morag Baird",
            "notes": "Call taken by the DCS's office",
            "drill": True,
        },
    )
    iid = inspection["id"]
    r.call("get", "/api/v1/inspections")
    r.call("get", "/api/v1/inspections/{inspection_id}", inspection_id=iid)
    r.call(
        "post",
        "/api/v1/inspections/{inspection_id}/timetable/overrides",
        {"date": "2026-11-20", "on_site": False},
        inspection_id=iid,
    )
    r.call("get", "/api/v1/inspections/{inspection_id}/timeline", inspection_id=iid)
    r.call("get", "/api/v1/inspections/{inspection_id}/cascade", inspection_id=iid)
    r.call("get", "/api/v1/inspections/{inspection_id}/cascade/report", inspection_id=iid)
    tasks = r.call("get", "/api/v1/inspections/{inspection_id}/tasks", inspection_id=iid)
    tid = tasks["items"][0]["id"]
    r.call(
        "get", "/api/v1/inspections/{inspection_id}/tasks/{task_id}", inspection_id=iid, task_id=tid
    )
    r.call(
        "patch",
        "/api/v1/inspections/{inspection_id}/tasks/{task_id}",
        {"status": "in_progress", "owner_contact_id": "S003"},
        inspection_id=iid,
        task_id=tid,
    )
    r.call(
        "post",
        "/api/v1/inspections/{inspection_id}/tasks/{task_id}/comments",
        {"text": "Base room 2.14 booked at the civic centre"},
        inspection_id=iid,
        task_id=tid,
    )
    r.call(
        "post",
        "/api/v1/inspections/{inspection_id}/tasks",
        {
            "title": "Print visitor passes for the inspection team",
            "category": "logistics",
            "owner_contact_id": "S003",
            "due_at": "2026-11-18T08:00:00+00:00",
        },
        inspection_id=iid,
    )
    added = r.call(
        "post",
        "/api/v1/inspections/{inspection_id}/audit/cases",
        {"cases": [{"reference": "CIN-004512", "auditor_contact_id": "S002"}]},
        inspection_id=iid,
    )
    r.call(
        "patch",
        "/api/v1/inspections/{inspection_id}/audit/cases/{case_id}",
        {"reauditor_contact_id": "S001", "findings": "Plan reviewed within timescales"},
        inspection_id=iid,
        case_id=added["cases"][0]["id"],
    )
    r.call("get", "/api/v1/inspections/{inspection_id}/audit", inspection_id=iid)
    r.call("get", "/api/v1/inspections/{inspection_id}/audit/cases", inspection_id=iid)
    plan = r.call(
        "post",
        "/api/v1/inspections/{inspection_id}/action-plans",
        {"title": "Help and protection", "judgement": "help_and_protection"},
        inspection_id=iid,
    )
    recommendation = r.call(
        "post",
        "/api/v1/inspections/{inspection_id}/action-plans/{plan_id}/recommendations",
        {
            "text": "Ensure that all children in need have a plan reviewed within timescales.",
            "judgement": "help_and_protection",
        },
        inspection_id=iid,
        plan_id=plan["id"],
    )
    action = r.call(
        "post",
        "/api/v1/inspections/{inspection_id}/recommendations/{recommendation_id}/actions",
        {
            "title": "Audit 20 child-in-need plans a month",
            "agency": "childrens-services",
            "owner_contact_id": "S003",
            "due_on": "2027-04-30",
            "rag": "amber",
            "rag_reason": "Two team managers' posts are vacant until March",
        },
        inspection_id=iid,
        recommendation_id=recommendation["id"],
    )
    r.call(
        "post",
        "/api/v1/inspections/{inspection_id}/actions/{action_id}/updates",
        {
            "on": "2026-12-01",
            "text": "18 plans audited in November; findings to the QA board",
            "evidence_url": "https://intranet.example.org/qa/cin-audit-november",
        },
        inspection_id=iid,
        action_id=action["id"],
    )
    r.call("get", "/api/v1/outbox?limit=2")
    r.call("post", "/api/v1/calendar-feeds", {"inspection_id": iid, "contact_id": "S003"})
    r.call("get", "/api/v1/calendar-feeds")
    r.call(
        "post", "/api/v1/api-keys", {"name": "intranet-dashboard", "scopes": ["inspections:read"]}
    )
    r.call("get", "/api/v1/api-keys")
    committee = r.call(
        "post", "/api/v1/committees", {"name": "Children's Services Scrutiny", "kind": "scrutiny"}
    )
    r.call("get", "/api/v1/committees")
    meeting = r.call(
        "post",
        "/api/v1/inspections/{inspection_id}/committee-meetings",
        {"committee_id": committee["id"], "meets_on": "2027-03-16"},
        inspection_id=iid,
    )
    r.call("get", "/api/v1/inspections/{inspection_id}/committee-meetings", inspection_id=iid)
    r.call(
        "get",
        "/api/v1/inspections/{inspection_id}/committee-meetings/{meeting_id}/report",
        inspection_id=iid,
        meeting_id=meeting["id"],
    )
    r.call("post", "/api/v1/contacts/{contact_id}/deactivate", contact_id="S002")
    r.examples.update(NOTIFY_CALLBACKS)


NOTIFY_CALLBACKS = {
    "DeliveryReceipt": {
        "id": "3d1c3f0e-5b0a-4c8e-9a61-0f2b7d4e9a10",
        "reference": "7c0e2a54-1f3b-4d6e-8a9b-2c4d6e8f0a1b",
        "to": "07700 900456",
        "status": "delivered",
        "created_at": "2026-11-17T10:31:02.000000Z",
        "completed_at": "2026-11-17T10:31:09.000000Z",
        "sent_at": "2026-11-17T10:31:03.000000Z",
        "notification_type": "sms",
        "template_id": "f33517ff-2a88-4f6e-b855-c550268ce08a",
        "template_version": 1,
    },
    "InboundSms": {
        "id": "b5b7c8d2-4e1f-4a3b-9c6d-7e8f9a0b1c2d",
        "source_number": "447700900456",
        "destination_number": "07700900000",
        "message": "OK",
        "date_received": "2026-11-17T10:33:40.000000Z",
    },
    "ReceiptResult": {"result": "delivered"},
    "MilestoneRequest": {"key": "report_published", "date": "2027-01-20"},
    "InboundSmsResult": {"result": "read", "acknowledged": 1, "kept": 0},
}
"""Written by hand: GOV.UK Notify's callbacks as its documentation shows them (Notify sends
these, not us), and a milestone, which a week-old inspection cannot reach yet."""


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=f"sqlite:///{folder}/examples.db",
            scheduler_enabled=False,
            dispatcher_enabled=False,
        )
        engine = make_engine(settings.database_url)
        migrate.upgrade(engine)
        with Session(engine) as session:
            _, raw = api_keys.create(
                session, name="intranet", scopes=["admin"], now=utcnow(), actor="examples"
            )
            session.commit()
        app = create_app(settings, engine)
        with TestClient(app) as client:
            recorder = Recorder(client, app.openapi(), {"Authorization": f"Bearer {raw}"})
            week(recorder)
        engine.dispose()
    EXAMPLES.write_text(
        json.dumps(recorder.examples, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    print(f"wrote {len(recorder.examples)} examples to {EXAMPLES.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
