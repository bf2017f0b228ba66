"""GOV.UK Notify's callbacks: delivery receipts and text messages people send back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request, status

from service.api.deps import RulesDep, SessionDep, SettingsDep, nudge
from service.cascade import flows
from service.db import utcnow
from service.notify.govuk_notify import DeliveryReceipt, InboundSms, callback_token_matches
from service.notify.receipts import apply_receipt


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
    prefix="/api/v1/notify", tags=["GOV.UK Notify callbacks"], dependencies=[Depends(check_token)]
)


@router.post("/receipts", summary="Delivery receipt (Notify's delivery-status callback)")
def receive_receipt(
    request: Request,
    receipt: DeliveryReceipt,
    session: SessionDep,
    rules: RulesDep,
) -> dict[str, Any]:
    outcome = apply_receipt(session, receipt, rules=rules, now=utcnow())
    session.commit()
    nudge(request)
    return {"result": outcome}


@router.post("/inbound-sms", summary="A text message someone sent back (acknowledges them)")
def receive_sms(
    request: Request,
    sms: InboundSms,
    session: SessionDep,
    rules: RulesDep,
) -> dict[str, Any]:
    acknowledged = flows.acknowledge_sms_reply(
        session, mobile=sms.source_e164, rules=rules, now=utcnow()
    )
    session.commit()
    nudge(request)
    return {"acknowledged": acknowledged}
