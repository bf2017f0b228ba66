"""Who announcing now would reach, counted as the cascade will count: active people only, by the
channels they chose, the top of the tree as the steering group."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.cascade.reach import Reach, reach
from tests.builders import make_contact


def test_reach_counts_active_people_by_their_chosen_channels(
    engine: Engine, session: Session
) -> None:
    with Session(engine) as writing:
        make_contact(writing, "hoy", "Harriet Oyelaran")
        make_contact(writing, "twoj", "Tomasz Wójcik", reports_to="hoy", channels=("sms",))
        make_contact(writing, "abro", "Amelia Brooks", reports_to="twoj", email=None, mobile=None)
        make_contact(writing, "gone", "Priya Nair", reports_to="hoy", active=False)
        make_contact(writing, "kade", "Kofi Adeyemi", reports_to="gone", channels=("email",))
        writing.commit()
    assert reach(session) == Reach(people=4, by_email=2, by_sms=2, unreachable=1, steering_group=1)


def test_an_empty_tree_reaches_nobody(session: Session) -> None:
    assert reach(session) == Reach(people=0, by_email=0, by_sms=0, unreachable=0, steering_group=0)


def test_the_steering_group_counts_its_group_below_a_director(
    engine: Engine, session: Session
) -> None:
    with Session(engine) as writing:
        make_contact(writing, "dir", "Harriet Oyelaran")
        make_contact(writing, "lead", "Tomasz Wójcik", reports_to="dir", groups=("steering",))
        make_contact(writing, "isg", "Amelia Brooks", reports_to="lead", groups=("isg",))
        make_contact(writing, "staff", "Kofi Adeyemi", reports_to="isg")
        writing.commit()
    assert reach(session).steering_group == 2
    assert reach(session, "isg").steering_group == 2
