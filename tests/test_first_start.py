"""The embedded default's first start: an admin API key and an `admin` user, each made once."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from service import api_keys
from service.audit_log import AuditEvent
from service.db import utcnow
from service.first_start import create_admin_key_once, create_admin_user_once
from service.users import passwords
from service.users.models import User


def test_the_first_start_makes_an_admin_user_with_a_one_time_password(engine: Engine) -> None:
    one_time = create_admin_user_once(engine, now=utcnow())
    assert one_time is not None
    assert create_admin_user_once(engine, now=utcnow()) is None  # the next start
    with Session(engine) as session:
        [admin] = session.exec(select(User)).all()
        assert (admin.username, admin.role, admin.active) == ("admin", "admin", True)
        assert admin.must_change_password
        assert passwords.verify(one_time, admin.password_hash)[0]
        [event] = session.exec(select(AuditEvent)).all()
        assert (event.actor, event.action, event.target) == ("first-start", "user_created", "admin")


def test_the_admin_key_is_still_made_once_beside_it(engine: Engine) -> None:
    raw = create_admin_key_once(engine, now=utcnow())
    assert raw is not None and create_admin_key_once(engine, now=utcnow()) is None
    create_admin_user_once(engine, now=utcnow())
    with Session(engine) as session:
        key = api_keys.verify(session, raw)
        assert key is not None and key.scopes == ["admin"]
