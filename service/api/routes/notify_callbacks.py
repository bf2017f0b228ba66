"""GOV.UK Notify's callbacks: delivery receipts and text messages people send back."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from pydantic import BaseModel, Field, ValidationError

from service.api.deps import DeliveryFailedDep, RulesDep, SessionDep, SettingsDep, nudge
from service.api.errors import commit_or_conflict, error_responses
from service.cascade import flows
from service.db import utcnow
from service.notify.channels.notify_callbacks import (
    DeliveryReceipt,
    InboundSms,
    callback_token_matches,
)
from service.notify.receipts import apply_receipt, keep_unread

Callback = TypeVar("Callback", DeliveryReceipt, InboundSms)


def check_token(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    """A dependency, so a caller without the token is refused before its body is even read."""
    expected = settings.notify_callback_token
    if expected is None or not callback_token_matches(authorization, expected.get_secret_value()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "callbacks need `Authorization: Bearer <NOTIFY_CALLBACK_TOKEN>`",
            headers={"WWW-Authenticate": "Bearer"},
        )


router = APIRouter(
    prefix="/api/v1/notify",
    tags=["GOV.UK Notify callbacks"],
    dependencies=[Depends(check_token)],
    responses=error_responses(422, described={401: "No or wrong NOTIFY_CALLBACK_TOKEN"}),
)


async def raw_body(request: Request) -> bytes:
    """The body as it came: read here, so that a body we cannot parse can still be kept."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


def _read(model: type[Callback], raw: bytes) -> Callback | str:
    """The callback, or what is wrong with it (in words fit for the log)."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        ]
        return "; ".join(problems[:5])


class ReceiptResult(BaseModel):
    result: str = Field(
        description="The new status, `unchanged`, `unknown` (not our message) or `unread`"
    )


class InboundSmsResult(BaseModel):
    result: Literal["read", "unread"]
    acknowledged: int = Field(description="People acknowledged by this reply")
    kept: int = Field(description="Replies kept for a person to read")


@router.post(
    "/receipts",
    summary="Delivery receipt (Notify's delivery-status callback)",
    response_model=ReceiptResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": DeliveryReceipt.model_json_schema()}},
        }
    },
)
def receive_receipt(
    request: Request, raw: RawBody, session: SessionDep, on_failure: DeliveryFailedDep
) -> dict[str, Any]:
    """A receipt we cannot read is kept (`notify_unread_callback`) and answered 200 with
    `{"result": "unread"}`: a 4xx would make Notify drop it for good."""
    receipt = _read(DeliveryReceipt, raw)
    now = utcnow()
    if isinstance(receipt, str):
        keep_unread(session, kind="receipt", body=raw, problem=receipt, now=now)
        outcome = "unread"
    else:
        outcome = apply_receipt(session, receipt, on_failure=on_failure, now=now)
    commit_or_conflict(session)
    nudge(request)
    return {"result": outcome}


@router.post(
    "/inbound-sms",
    summary="A text message someone sent back (acknowledges them when it says so)",
    response_model=InboundSmsResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": InboundSms.model_json_schema()}},
        }
    },
)
def receive_sms(
    request: Request, raw: RawBody, session: SessionDep, rules: RulesDep
) -> dict[str, Any]:
    sms = _read(InboundSms, raw)
    now = utcnow()
    if isinstance(sms, str):
        keep_unread(session, kind="inbound_sms", body=raw, problem=sms, now=now)
        commit_or_conflict(session)
        return {"result": "unread", "acknowledged": 0, "kept": 0}
    outcome = flows.receive_sms_reply(
        session, notify_id=sms.id, mobile=sms.source_e164, text=sms.message, rules=rules, now=now
    )
    commit_or_conflict(session)
    nudge(request)
    return {"result": "read", "acknowledged": outcome.acknowledged, "kept": outcome.kept}
