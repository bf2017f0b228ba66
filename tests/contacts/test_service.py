"""The tree rules on real databases: links must exist and be active, no cycles, a channel needs
its address, nobody leaves the tree while others hang from them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service.audit_log import AuditEvent
from service.contacts import service
from service.contacts.models import Contact
from service.contacts.schemas import ContactUpdate
from service.errors import Conflict, InvalidInput, NotFound

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
ACTOR = "api-key:tests"


def add(session: Session, ident: str, name: str, **fields: Any) -> Contact:
    fields.setdefault("email", f"{ident.lower()}@example.org")
    contact = service.create(session, {"id": ident, "name": name, **fields}, actor=ACTOR, now=NOW)
    session.commit()
    return contact


def small_tree(session: Session) -> None:
    """S001 ← S010 ← S020, with S011 deputising for S010."""
    add(session, "S001", "Harriet Oyelaran", role="Director", groups=["Steering group"])
    add(session, "S011", "Eilidh Baptiste", reports_to="S001", groups=["People"])
    add(
        session,
        "S010",
        "Priya Raman",
        reports_to="S001",
        deputy="S011",
        groups=["People"],
        mobile="07700 900010",
    )
    add(session, "S020", "Olumide Fairbairn", reports_to="S010", groups=["All staff"])


def events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_create_stores_the_normalised_contact_with_timestamps_from_now(session: Session) -> None:
    contact = add(
        session,
        "S002",
        "Tomasz Wójcik",
        email="Tomasz.Wojcik@EXAMPLE.org",
        mobile="07700 900002",
        groups=["Steering group", "Steering group"],
    )
    stored = service.get(session, "S002")
    assert stored.mobile == "+447700900002"
    assert stored.email == "Tomasz.Wojcik@example.org"
    assert stored.groups == ["Steering group"]
    assert stored.channels == ["email", "sms"]
    assert stored.active is True
    assert contact.created_at == contact.updated_at == NOW
    [event] = events(session, "contact_created")
    assert (event.actor, event.target) == (ACTOR, "contact:S002")


def test_a_taken_id_is_a_conflict_even_when_deactivated(session: Session) -> None:
    add(session, "S001", "Harriet Oyelaran")
    with pytest.raises(Conflict, match="already exists"):
        add(session, "S001", "Someone Else")
    service.deactivate(session, "S001", actor=ACTOR, now=NOW)
    with pytest.raises(Conflict, match="active=true"):
        add(session, "S001", "Someone Else")


@pytest.mark.sqlite_only
def test_unknown_id_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        service.get(session, "S999")


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"reports_to": "S999"}, "reports_to", "no contact with id 'S999'"),
        ({"deputy": "S999"}, "deputy", "no contact with id 'S999'"),
        ({"deputy": "S030"}, "deputy", "own deputy"),
        ({"reports_to": "S030"}, "reports_to", "themselves"),
        ({"channels": ["sms"]}, "channels", "needs a mobile"),
        ({"email": None}, "email", "email or a mobile"),
        ({"mobile": "020 7946 0000"}, "mobile", "not a UK mobile"),
        ({"ack_window_minutes": 1441}, "ack_window_minutes", "0 to 1440"),
    ],
)
def test_create_refuses_a_broken_rule_naming_the_field(
    session: Session, fields: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(InvalidInput, match=reason) as caught:
        add(session, "S030", "Gareth Nwosu", **fields)
    assert caught.value.field == field
    session.rollback()
    assert session.get(Contact, "S030") is None


def test_links_to_a_deactivated_contact_are_refused(session: Session) -> None:
    add(session, "S001", "Harriet Oyelaran")
    service.deactivate(session, "S001", actor=ACTOR, now=NOW)
    with pytest.raises(InvalidInput, match="deactivated") as caught:
        add(session, "S002", "Tomasz Wójcik", deputy="S001")
    assert caught.value.field == "deputy"


def test_update_refuses_a_cycle_and_names_the_chain(session: Session) -> None:
    small_tree(session)
    with pytest.raises(InvalidInput, match="S001 → S020 → S010 → S001") as caught:
        service.update(session, "S001", ContactUpdate(reports_to="S020"), actor=ACTOR, now=NOW)
    assert caught.value.field == "reports_to"
    session.rollback()
    assert service.get(session, "S001").reports_to is None


def test_update_changes_only_the_fields_given_and_null_clears(session: Session) -> None:
    small_tree(session)
    later = NOW + timedelta(hours=1)
    contact = service.update(
        session, "S010", ContactUpdate(role="Head of service", deputy=None), actor=ACTOR, now=later
    )
    session.commit()
    assert (contact.role, contact.deputy, contact.reports_to) == ("Head of service", None, "S001")
    assert contact.updated_at == later and contact.created_at == NOW
    [event] = events(session, "contact_updated")
    assert event.data == {"fields": ["deputy", "role"]}


def test_an_update_that_changes_nothing_records_nothing(session: Session) -> None:
    small_tree(session)
    later = NOW + timedelta(hours=1)
    contact = service.update(
        session, "S010", ContactUpdate(name="Priya Raman"), actor=ACTOR, now=later
    )
    assert contact.updated_at == NOW
    assert events(session, "contact_updated") == []


def test_default_channels_follow_new_addresses_but_chosen_ones_are_kept(session: Session) -> None:
    add(session, "S001", "Harriet Oyelaran")
    add(session, "S002", "Tomasz Wójcik", channels=["email"], mobile="07700 900002")
    assert service.get(session, "S001").channels == ["email"]
    service.update(session, "S001", ContactUpdate(mobile="07700 900001"), actor=ACTOR, now=NOW)
    assert service.get(session, "S001").channels == ["email", "sms"]
    service.update(session, "S002", ContactUpdate(mobile="07700 900333"), actor=ACTOR, now=NOW)
    assert service.get(session, "S002").channels == ["email"]


def test_removing_the_address_a_chosen_channel_needs_is_refused(session: Session) -> None:
    add(session, "S002", "Tomasz Wójcik", channels=["sms", "email"], mobile="07700 900002")
    with pytest.raises(InvalidInput, match="'sms' needs a mobile") as caught:
        service.update(session, "S002", ContactUpdate(mobile=None), actor=ACTOR, now=NOW)
    assert caught.value.field == "channels"


def test_deactivating_someone_still_in_the_tree_is_refused_naming_who(session: Session) -> None:
    small_tree(session)
    with pytest.raises(Conflict) as caught:
        service.deactivate(session, "S011", actor=ACTOR, now=NOW)
    assert caught.value.context == {"reports_to_them": [], "deputy_for": ["S010"]}
    assert "S010 (Priya Raman)" in caught.value.message
    with pytest.raises(Conflict) as caught:
        service.deactivate(session, "S001", actor=ACTOR, now=NOW)
    assert caught.value.context["reports_to_them"] == ["S010", "S011"]
    session.rollback()
    assert service.get(session, "S001").active is True


def test_deactivating_a_leaf_takes_them_out_and_twice_is_harmless(session: Session) -> None:
    small_tree(session)
    service.deactivate(session, "S020", actor=ACTOR, now=NOW)
    service.deactivate(session, "S020", actor=ACTOR, now=NOW)
    session.commit()
    assert service.get(session, "S020").active is False
    assert "S020" not in service.tree_levels(session)
    assert len(events(session, "contact_deactivated")) == 1
    # With the leaf gone, their manager can go too.
    service.deactivate(session, "S010", actor=ACTOR, now=NOW)


def test_reactivation_checks_the_links_again(session: Session) -> None:
    small_tree(session)
    service.deactivate(session, "S020", actor=ACTOR, now=NOW)
    service.deactivate(session, "S010", actor=ACTOR, now=NOW)
    with pytest.raises(InvalidInput, match="S010") as caught:
        service.update(session, "S020", ContactUpdate(active=True), actor=ACTOR, now=NOW)
    assert caught.value.field == "reports_to"
    contact = service.update(
        session, "S020", ContactUpdate(active=True, reports_to="S011"), actor=ACTOR, now=NOW
    )
    assert (contact.active, contact.reports_to) == (True, "S011")
    assert len(events(session, "contact_reactivated")) == 1


def test_tree_levels_count_from_the_steering_group(session: Session) -> None:
    small_tree(session)
    add(session, "S002", "Tomasz Wójcik")
    assert service.tree_levels(session) == {"S001": 1, "S002": 1, "S010": 2, "S011": 2, "S020": 3}


def test_tree_levels_still_reach_someone_whose_manager_left(session: Session) -> None:
    """Rows older than the rules can hang from an inactive manager: the cascade must reach them,
    from the nearest active manager, as the cascade's snapshot places them (one rule)."""
    small_tree(session)
    manager = session.get(Contact, "S010")
    assert manager is not None
    manager.active = False
    session.add(manager)
    session.commit()
    levels = service.tree_levels(session)
    assert levels["S020"] == 2 and "S010" not in levels  # hangs from S010's manager, S001


def test_search_matches_name_id_role_and_email_ignoring_case(session: Session) -> None:
    small_tree(session)

    def found(**query: Any) -> list[str]:
        items, total = service.list_contacts(session, **query)
        assert total == len(items)
        return [c.id for c in items]

    assert found(q="PRIYA") == ["S010"]
    assert found(q="s02") == ["S020"]
    assert found(q="director") == ["S001"]
    assert found(q="s011@example") == ["S011"]
    assert found(q="100%") == []  # LIKE wildcards are literal
    assert found() == ["S011", "S001", "S020", "S010"]  # by name


def test_group_filter_matches_whole_group_names(session: Session) -> None:
    small_tree(session)
    add(session, "S040", "Zainab Kowalczyk", groups=["Peoples' forum", "Partner agencies"])
    items, total = service.list_contacts(session, group="People")
    assert sorted(c.id for c in items) == ["S010", "S011"] and total == 2
    items, _ = service.list_contacts(session, group="Partner agencies")
    assert [c.id for c in items] == ["S040"]


def test_active_filter_and_pagination_report_the_full_total(session: Session) -> None:
    small_tree(session)
    service.deactivate(session, "S020", actor=ACTOR, now=NOW)
    page, total = service.list_contacts(session, active=True, limit=2, offset=1)
    assert total == 3
    assert [c.id for c in page] == ["S001", "S010"]
    inactive, total = service.list_contacts(session, active=False)
    assert ([c.id for c in inactive], total) == (["S020"], 1)


def test_export_rows_list_active_contacts_steering_group_first(session: Session) -> None:
    small_tree(session)
    add(
        session,
        "S002",
        "Tomasz Wójcik",
        channels=["sms", "email"],
        mobile="07700 900002",
        ack_window_minutes=0,
    )
    service.deactivate(session, "S020", actor=ACTOR, now=NOW)
    rows = service.export_rows(session)
    assert [r["id"] for r in rows] == ["S001", "S002", "S011", "S010"]
    tomasz = rows[1]
    assert tomasz == {
        "id": "S002",
        "name": "Tomasz Wójcik",
        "role": "",
        "email": "s002@example.org",
        "mobile": "07700 900002",
        "reports_to": "",
        "deputy": "",
        "groups": "",
        "channels": "sms;email",
        "ack_window_minutes": "0",
    }


def test_every_change_is_in_the_audit_log_with_its_actor(session: Session) -> None:
    small_tree(session)
    service.update(
        session, "S020", ContactUpdate(role="Social worker"), actor="api-key:intranet", now=NOW
    )
    service.deactivate(session, "S020", actor="api-key:intranet", now=NOW)
    session.commit()
    actions = session.exec(
        select(AuditEvent.action).where(col(AuditEvent.actor) == "api-key:intranet")
    ).all()
    assert sorted(actions) == ["contact_deactivated", "contact_updated"]


def test_a_deactivation_racing_a_new_link_waits_then_refuses(engine: Engine) -> None:
    """Two coordinators at once: one links Gareth to Harriet while the other deactivates
    Harriet. The deactivation waits for the link's transaction and then sees Gareth."""
    with Session(engine) as setup:
        add(setup, "S001", "Harriet Oyelaran")
    linking = Session(engine)
    service.create(
        linking,
        {"id": "S030", "name": "Gareth Nwosu", "email": "gareth@example.org", "reports_to": "S001"},
        actor=ACTOR,
        now=NOW,
    )
    outcome: list[str] = []

    def deactivate_harriet() -> None:
        with Session(engine) as other:
            try:
                service.deactivate(other, "S001", actor=ACTOR, now=NOW)
                other.commit()
                outcome.append("deactivated")
            except Conflict as exc:
                outcome.append(f"refused: {exc.context['reports_to_them']}")

    racer = threading.Thread(target=deactivate_harriet)
    racer.start()
    racer.join(timeout=1.0)
    assert racer.is_alive(), "the deactivation should wait for the linking transaction"
    linking.commit()
    linking.close()
    racer.join(timeout=30)
    assert outcome == ["refused: ['S030']"]
