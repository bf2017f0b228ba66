"""Action plans: made, filled with recommendations and actions, moved on by RAG changes and
progress updates. The task under each action carries its title, owner, due time and done-ness,
so reminders and escalation are the plan's own."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from service import timeline
from service.actions.models import (
    BUILTIN_AGENCIES,
    ActionPlan,
    ActionUpdate,
    Agency,
    PlanAction,
    Rag,
    Recommendation,
)
from service.contacts.models import Contact
from service.errors import Conflict, InvalidInput, NotFound
from service.frameworks import Framework
from service.inspections.service import get, require_open
from service.plan import tasks
from service.plan.definitions import Category
from service.plan.models import Task, TaskStatus
from service.plan.schemas import TaskCreate, TaskUpdate
from service.rules import Rules

DUE_TIME = time(17, 0)
"""An action due on a day is due at 17:00 that day (Europe/London), as the plan's tasks are."""
REMINDER = "5 working days before"
"""Owners are reminded a working week ahead; the plan's digest lists it meanwhile."""
MAX_PLANS = 50
MAX_RECOMMENDATIONS = 100
"""Per plan; a report makes a few dozen at most."""
MAX_ACTIONS = 50
"""Per recommendation."""
MAX_UPDATES = 500
"""Per action: weekly updates for ten years."""
MAX_AGENCIES = 100


def _open(session: Session, inspection_id: uuid.UUID) -> None:
    require_open(session, inspection_id, what="its action plans")


def agency_names(session: Session) -> dict[str, str]:
    """Every agency, key to name: the five every council has, then the council's own."""
    added = session.exec(select(Agency.key, Agency.name).order_by(col(Agency.id))).all()
    return BUILTIN_AGENCIES | dict(added)


def add_agency(session: Session, *, key: str, name: str, now: datetime) -> Agency:
    if session.exec(select(func.count()).select_from(Agency)).one() >= MAX_AGENCIES:
        raise Conflict(f"the council has added {MAX_AGENCIES} agencies; that is the most kept")
    if key in agency_names(session):
        raise Conflict(f"agency {key!r} exists already")
    agency = Agency(key=key, name=name, created_at=now)
    session.add(agency)
    session.flush()
    return agency


def _known_agency(session: Session, field: str, key: str) -> None:
    names = agency_names(session)
    if key not in names:
        raise InvalidInput(
            field, f"unknown agency {key[:64]!r}; the agencies are: {', '.join(names)}"
        )


def _known_judgement(framework: Framework, field: str, key: str) -> None:
    known = [item.key for item in framework.judgements.judgements] if framework.judgements else []
    if key not in known:
        listed = ", ".join(known) or "none (the framework lists no judgements)"
        raise InvalidInput(field, f"unknown judgement {key[:64]!r}; the judgements are: {listed}")


def _count(session: Session, column: Any, value: Any) -> int:
    return session.exec(select(func.count()).where(column == value)).one()


def create_plan(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    title: str,
    judgement: str | None,
    partner: str | None,
    actor: str,
    now: datetime,
) -> ActionPlan:
    _open(session, inspection_id)
    framework = rules.framework(get(session, inspection_id).framework)
    if judgement is not None:
        _known_judgement(framework, "judgement", judgement)
    if partner is not None:
        _known_agency(session, "partner", partner)
    if _count(session, ActionPlan.inspection_id, inspection_id) >= MAX_PLANS:
        raise Conflict(f"this inspection has {MAX_PLANS} action plans already")
    plan = ActionPlan(
        inspection_id=inspection_id,
        title=title,
        judgement_key=judgement,
        partner=partner,
        created_at=now,
        created_by=actor,
    )
    session.add(plan)
    session.flush()
    timeline.log(
        session,
        inspection_id=inspection_id,
        actor=actor,
        kind="action_plan_created",
        summary=f"Action plan {title!r} started",
        data={"plan_id": plan.id, "judgement": judgement, "partner": partner},
        now=now,
    )
    return plan


def plan_of(session: Session, inspection_id: uuid.UUID, plan_id: int) -> ActionPlan:
    plan = session.get(ActionPlan, plan_id)
    if plan is None or plan.inspection_id != inspection_id:
        raise NotFound(f"no action plan {plan_id} in inspection {inspection_id}")
    return plan


def recommendation_of(
    session: Session, inspection_id: uuid.UUID, recommendation_id: int
) -> tuple[Recommendation, ActionPlan]:
    found = session.get(Recommendation, recommendation_id)
    plan = session.get(ActionPlan, found.plan_id) if found is not None else None
    if found is None or plan is None or plan.inspection_id != inspection_id:
        raise NotFound(f"no recommendation {recommendation_id} in inspection {inspection_id}")
    return found, plan


def action_of(
    session: Session, inspection_id: uuid.UUID, action_id: int
) -> tuple[PlanAction, Task]:
    action = session.get(PlanAction, action_id)
    task = session.get(Task, action.task_id) if action is not None else None
    if action is None or task is None or task.inspection_id != inspection_id:
        raise NotFound(f"no action {action_id} in inspection {inspection_id}")
    return action, task


def add_recommendation(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    plan_id: int,
    text: str,
    judgement: str | None,
    actor: str,
    now: datetime,
) -> Recommendation:
    _open(session, inspection_id)
    plan = plan_of(session, inspection_id, plan_id)
    if judgement is not None:
        _known_judgement(
            rules.framework(get(session, inspection_id).framework), "judgement", judgement
        )
    if _count(session, Recommendation.plan_id, plan_id) >= MAX_RECOMMENDATIONS:
        raise Conflict(f"plan {plan_id} has {MAX_RECOMMENDATIONS} recommendations already")
    found = Recommendation(
        plan_id=plan_id,
        text=text,
        judgement_key=judgement or plan.judgement_key,
        created_at=now,
        created_by=actor,
    )
    session.add(found)
    session.flush()
    timeline.log(
        session,
        inspection_id=inspection_id,
        actor=actor,
        kind="recommendation_added",
        summary=f"Recommendation added to {plan.title!r}: {text[:120]}",
        data={"plan_id": plan_id, "recommendation_id": found.id},
        now=now,
    )
    return found


def due_moment(day: date, rules: Rules) -> datetime:
    return datetime.combine(day, DUE_TIME, tzinfo=rules.zone)


def _check_rag(rag: Rag, reason: str | None) -> None:
    if rag is not Rag.green and not reason:
        raise InvalidInput("rag_reason", f"say why the action is {rag.value}")


def add_action(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    recommendation_id: int,
    title: str,
    agency: str,
    owner_contact_id: str,
    due_on: date,
    rag: Rag,
    rag_reason: str | None,
    actor: str,
    now: datetime,
) -> PlanAction:
    _open(session, inspection_id)
    recommendation, plan = recommendation_of(session, inspection_id, recommendation_id)
    _known_agency(session, "agency", agency)
    _check_rag(rag, rag_reason)
    if _count(session, PlanAction.recommendation_id, recommendation_id) >= MAX_ACTIONS:
        raise Conflict(f"recommendation {recommendation_id} has {MAX_ACTIONS} actions already")
    task = tasks.create(
        session,
        rules=rules,
        inspection_id=inspection_id,
        request=TaskCreate(
            title=title,
            description=f"{plan.title}: {recommendation.text}"[:5000],
            category=Category.action_plan,
            owner_contact_id=owner_contact_id,
            due_at=due_moment(due_on, rules),
            reminder_rule=REMINDER,
        ),
        actor=actor,
        now=now,
    )
    action = PlanAction(
        recommendation_id=recommendation_id,
        task_id=task.id,
        agency=agency,
        rag=rag.value,
        rag_reason=rag_reason,
        rag_changed_at=now,
        created_at=now,
        created_by=actor,
    )
    session.add(action)
    session.flush()
    return action


@dataclass(frozen=True)
class ActionChange:
    """The fields sent; None in `sent` means "not sent" is told apart by `sent`."""

    sent: frozenset[str]
    title: str | None = None
    owner_contact_id: str | None = None
    due_on: date | None = None
    rag: Rag | None = None
    rag_reason: str | None = None
    done: bool | None = None


def change_action(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    action_id: int,
    change: ActionChange,
    actor: str,
    now: datetime,
) -> PlanAction:
    _open(session, inspection_id)
    action, task = action_of(session, inspection_id, action_id)
    task_fields: dict[str, Any] = {}
    if "title" in change.sent and change.title is not None:
        task_fields["title"] = change.title
    if "owner_contact_id" in change.sent and change.owner_contact_id is not None:
        task_fields["owner_contact_id"] = change.owner_contact_id
    if "due_on" in change.sent and change.due_on is not None:
        task_fields["due_at"] = due_moment(change.due_on, rules)
    if "done" in change.sent and change.done is not None:
        task_fields["status"] = TaskStatus.done if change.done else TaskStatus.to_do
    if "rag" in change.sent and change.rag is not None:
        reason = change.rag_reason if "rag_reason" in change.sent else None
        _check_rag(change.rag, reason)
        if (change.rag.value, reason) != (action.rag, action.rag_reason):
            timeline.log(
                session,
                inspection_id=inspection_id,
                actor=actor,
                kind="action_rag_changed",
                summary=f"{task.title}: {action.rag} → {change.rag.value}"
                + (f" ({reason[:200]})" if reason else ""),
                data={"action_id": action.id, "from": action.rag, "to": change.rag.value},
                now=now,
            )
            action.rag, action.rag_reason, action.rag_changed_at = change.rag.value, reason, now
            session.add(action)
    elif "rag_reason" in change.sent:
        raise InvalidInput("rag", "send the status with its reason")
    if task_fields:
        tasks.update(
            session,
            rules=rules,
            inspection_id=inspection_id,
            task_id=task.id,
            changes=TaskUpdate(**task_fields),
            actor=actor,
            now=now,
        )
    session.flush()
    return action


def add_update(
    session: Session,
    *,
    rules: Rules,
    inspection_id: uuid.UUID,
    action_id: int,
    on: date,
    text: str,
    evidence_url: str | None,
    actor: str,
    now: datetime,
) -> ActionUpdate:
    _open(session, inspection_id)
    action, task = action_of(session, inspection_id, action_id)
    today = rules.local_date(now)
    if on > today:
        raise InvalidInput("on", f"is in the future (today is {today.isoformat()})")
    if _count(session, ActionUpdate.action_id, action_id) >= MAX_UPDATES:
        raise Conflict(f"action {action_id} has {MAX_UPDATES} progress updates already")
    update = ActionUpdate(
        action_id=action_id,
        on_date=on,
        text=text,
        evidence_url=evidence_url,
        created_at=now,
        created_by=actor,
    )
    session.add(update)
    session.flush()
    timeline.log(
        session,
        inspection_id=inspection_id,
        actor=actor,
        kind="action_progress",
        summary=f"Progress on {task.title!r}: {text[:160]}",
        data={"action_id": action_id, "update_id": update.id, "on": on.isoformat()},
        now=now,
    )
    return update


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionRow:
    action: PlanAction
    task: Task
    plan_id: int
    owner_name: str | None
    agency_name: str
    updates: int
    last_update: ActionUpdate | None


def _rows(
    session: Session, found: Iterable[tuple[PlanAction, Task, Recommendation]]
) -> list[ActionRow]:
    found = list(found)
    if not found:
        return []
    ids = [action.id for action, _, _ in found]
    counts = dict(
        session.exec(
            select(ActionUpdate.action_id, func.count())
            .where(col(ActionUpdate.action_id).in_(ids))
            .group_by(col(ActionUpdate.action_id))
        ).all()
    )
    latest: dict[int, ActionUpdate] = {}
    for update in session.exec(
        select(ActionUpdate)
        .where(col(ActionUpdate.action_id).in_(ids))
        .order_by(col(ActionUpdate.on_date), col(ActionUpdate.id))
    ).all():
        latest[update.action_id] = update
    owners = {t.owner_contact_id for _, t, _ in found if t.owner_contact_id}
    names = dict(
        session.exec(select(Contact.id, Contact.name).where(col(Contact.id).in_(owners))).all()
    )
    agencies_by_key = agency_names(session)
    return [
        ActionRow(
            action=action,
            task=task,
            plan_id=recommendation.plan_id,
            owner_name=names.get(task.owner_contact_id or ""),
            agency_name=agencies_by_key.get(action.agency, action.agency),
            updates=counts.get(action.id, 0),
            last_update=latest.get(action.id or 0),
        )
        for action, task, recommendation in found
    ]


def _actions_query() -> Any:
    return (
        select(PlanAction, Task, Recommendation)
        .join(Task, col(Task.id) == col(PlanAction.task_id))
        .join(Recommendation, col(Recommendation.id) == col(PlanAction.recommendation_id))
    )


def actions_of_plan(session: Session, plan_id: int) -> list[ActionRow]:
    query = _actions_query().where(Recommendation.plan_id == plan_id).order_by(col(PlanAction.id))
    return _rows(session, session.exec(query).all())


def actions_page(
    session: Session,
    *,
    inspection_id: uuid.UUID,
    after: int | None,
    limit: int,
    rag: Rag | None = None,
    agency: str | None = None,
    owner: str | None = None,
    overdue_at: datetime | None = None,
) -> tuple[list[ActionRow], bool]:
    get(session, inspection_id)
    query = _actions_query().where(Task.inspection_id == inspection_id)
    if after is not None:
        query = query.where(col(PlanAction.id) > after)
    if rag is not None:
        query = query.where(PlanAction.rag == rag.value)
    if agency is not None:
        query = query.where(PlanAction.agency == agency)
    if owner is not None:
        query = query.where(Task.owner_contact_id == owner)
    if overdue_at is not None:
        query = query.where(Task.status != TaskStatus.done.value, col(Task.due_at) < overdue_at)
    found = session.exec(query.order_by(col(PlanAction.id)).limit(limit + 1)).all()
    return _rows(session, found[:limit]), len(found) > limit


def action_row(session: Session, inspection_id: uuid.UUID, action_id: int) -> ActionRow:
    action_of(session, inspection_id, action_id)
    query = _actions_query().where(PlanAction.id == action_id)
    return _rows(session, session.exec(query).all())[0]


def plans_page(
    session: Session, *, inspection_id: uuid.UUID, after: int | None, limit: int
) -> tuple[list[ActionPlan], bool]:
    get(session, inspection_id)
    query = select(ActionPlan).where(ActionPlan.inspection_id == inspection_id)
    if after is not None:
        query = query.where(col(ActionPlan.id) > after)
    found = list(session.exec(query.order_by(col(ActionPlan.id)).limit(limit + 1)).all())
    return found[:limit], len(found) > limit


def recommendations_of(session: Session, plan_id: int) -> list[Recommendation]:
    query = select(Recommendation).where(Recommendation.plan_id == plan_id)
    return list(session.exec(query.order_by(col(Recommendation.id))).all())


def updates_of(session: Session, action_id: int) -> list[ActionUpdate]:
    query = select(ActionUpdate).where(ActionUpdate.action_id == action_id)
    return list(session.exec(query.order_by(col(ActionUpdate.on_date), col(ActionUpdate.id))).all())
