"""The embedded default's first start: an admin API key and an `admin` user with a one-time
password, each printed once, so the service is usable out of the box without a separate set-up
step."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from service import api_keys
from service.users import service as users
from service.users.models import User
from service.users.permissions import Role

ADMIN_KEY_NAME = "admin"
ADMIN_USERNAME = "admin"
FIRST_START_ACTOR = "first-start"


def create_admin_key_once(engine: Engine, *, now: datetime) -> str | None:
    """The raw key when this start created it; None when any API key already exists."""
    with Session(engine, expire_on_commit=False) as session:
        if session.exec(select(api_keys.ApiKey.id)).first() is not None:
            return None
        _, raw = api_keys.create(
            session, name=ADMIN_KEY_NAME, scopes=["admin"], actor=FIRST_START_ACTOR, now=now
        )
        try:
            session.commit()
        except IntegrityError:  # another process made it first
            return None
    return raw


def create_admin_user_once(engine: Engine, *, now: datetime) -> str | None:
    """The one-time password of the `admin` user when this start created it (the first sign-in
    asks for a new one); None when any user already exists. An installation that predates
    users gets its admin on the next start."""
    with Session(engine, expire_on_commit=False) as session:
        if session.exec(select(User.id)).first() is not None:
            return None
        _, one_time = users.create(
            session,
            username=ADMIN_USERNAME,
            display_name="Administrator",
            role=Role.admin,
            actor=FIRST_START_ACTOR,
            now=now,
        )
        try:
            session.commit()
        except IntegrityError:  # another process made it first
            return None
    return one_time
