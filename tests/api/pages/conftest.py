"""Page tests sign in a lot: real argon2 at its cheapest parameters. The plan's pages share an
announced inspection with three people, one of them inactive."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.rules import Rules
from tests.builders import london, make_contact, make_inspection


@pytest.fixture(autouse=True)
def _cheap_hashing(fast_hashing: None) -> None:
    return None


@pytest.fixture
def inspection_id(engine: Engine, rules: Rules) -> uuid.UUID:
    with Session(engine) as session:
        make_contact(session, "hoyelaran", "Harriet Oyelaran")
        make_contact(session, "twojcik", "Tomasz Wójcik", reports_to="hoyelaran")
        make_contact(session, "gone", "Amelia Brooks", active=False)
        session.commit()
        inspection = make_inspection(session, rules, notified_at=london(2026, 11, 17, 10, 30))
        return inspection.id
