"""The contacts pages through the TestClient: the list (search, pages, addresses masked for
those who do not manage contacts), the tree with statuses from the live inspection, and the
import: preview with every problem, nothing written until "Import these contacts", exactly the
previewed file imported."""

from __future__ import annotations

import html as html_module
import re
from datetime import UTC, datetime

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from service.api.pages.contacts_pages import TREE_LEVELS_PER_PAGE
from service.audit_log import AuditEvent
from service.cascade.models import CascadeNode
from service.contacts.models import Contact
from service.rules import Rules
from tests.api.pages.helpers import csrf_from, error_summary, post_form, signed_in_as
from tests.builders import london, make_contact, make_inspection
from tests.trees import insert_tree, tree_rows

pytestmark = pytest.mark.sqlite_only

HEADER = "id,name,role,email,mobile,reports_to,deputy,groups,channels,ack_window_minutes\n"
GOOD = (
    HEADER
    + "hoy,Harriet Oyelaran,Director of Children's Services,harriet@example.org,07700 900123,,,,,\n"
    + "twoj,Tomasz Wójcik,Head of Service,tomasz@example.org,07700 900124,hoy,,,,\n"
)
BAD = (
    HEADER
    + "hoy,Harriet Oyelaran,Director,harriet@example.org,07700 900123,,,,,\n"
    + "twoj,,Head of Service,tomasz@example.org,12345,nobody,,,,\n"
)


def _contacts(engine: Engine) -> dict[str, Contact]:
    with Session(engine) as session:
        return {c.id: c for c in session.exec(select(Contact)).all()}


def _audit_count(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(AuditEvent)).all())


def _upload(
    client: TestClient, content: str | bytes, *, name: str = "contacts.csv", replace: bool = False
) -> httpx.Response:
    token = csrf_from(client.get("/contacts/import").text)
    data = {"csrf_token": token}
    if replace:
        data["replace"] = "yes"
    raw = content.encode() if isinstance(content, str) else content
    return client.post(
        "/contacts/import",
        data=data,
        files={"file": (name, raw, "text/csv")},
        follow_redirects=False,
    )


def _sealed(html: str) -> str:
    found = re.search(r'name="upload" value="([^"]+)"', html)
    assert found is not None, "no sealed upload on the preview"
    return found.group(1)


def _text(html: str) -> str:
    return html_module.unescape(re.sub(r"<[^>]+>", " ", html))


# The list ------------------------------------------------------------------------------------


def test_a_coordinator_sees_addresses_in_full_and_a_viewer_masked(
    client: TestClient, engine: Engine
) -> None:
    with Session(engine) as session:
        make_contact(
            session, "hoy", "Harriet Oyelaran", email="harriet@example.org", mobile="+447700900123"
        )
        session.commit()
    signed_in_as(client, engine, "coordinator")
    page = client.get("/contacts").text
    assert "harriet@example.org" in page and "+447700900123" in page
    client.cookies.clear()
    signed_in_as(client, engine, "viewer")
    page = client.get("/contacts").text
    assert "Harriet Oyelaran" in page
    assert "harriet@example.org" not in page and "+447700900123" not in page
    assert "h***@example.org" in page and "+44***123" in page
    assert 'href="/contacts/import"' not in page  # a viewer cannot import


def test_search_and_pages(client: TestClient, engine: Engine) -> None:
    insert_tree(engine, tree_rows(120, now=datetime(2026, 1, 5, tzinfo=UTC)))
    with Session(engine) as session:
        make_contact(session, "zed", "Zoë Ní Bhriain", role="Designated officer")
        session.commit()
    signed_in_as(client, engine, "viewer")
    first = client.get("/contacts").text
    assert "121 contacts" in first and "(showing 1 to 50)" in first
    assert 'href="/contacts?page=2"' in first and 'href="/contacts?page=3"' in first
    third = client.get("/contacts?page=3").text
    assert "(showing 101 to 121)" in third
    found = client.get("/contacts", params={"q": "designated"}).text
    assert "1 contact match the search" in found and "Zoë Ní Bhriain" in found
    assert client.get("/contacts", params={"q": "P00007"}).text.count('id="contact-') == 1
    group = client.get("/contacts", params={"group": "steering-group"}).text
    assert "12 contacts match the search" in group


def test_a_search_with_control_characters_is_an_error_on_the_field(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "viewer")
    reply = client.get("/contacts", params={"q": "a\x01b"})
    assert reply.status_code == 422
    assert error_summary(reply.text) == [("#q", "The search must not contain control characters")]


# The tree ------------------------------------------------------------------------------------


def _small_tree(engine: Engine) -> None:
    with Session(engine) as session:
        make_contact(session, "hoy", "Harriet Oyelaran")
        make_contact(session, "twoj", "Tomasz Wójcik", reports_to="hoy")
        make_contact(session, "pnat", "Priya Natarajan", reports_to="twoj")
        make_contact(session, "opri", "Owen Pritchard", reports_to="pnat")
        session.commit()


def test_the_tree_without_a_live_inspection(client: TestClient, engine: Engine) -> None:
    _small_tree(engine)
    signed_in_as(client, engine, "viewer")
    page = client.get("/contacts/tree").text
    assert "No inspection is live" in page
    assert 'id="person-hoy"' in page and 'id="person-twoj"' in page
    assert 'id="person-pnat"' not in page  # level 3 is on the page of the group above it
    assert 'href="/contacts/tree?under=twoj"' in page and "2 people below Tomasz" in page
    sub = client.get("/contacts/tree", params={"under": "twoj"}).text
    assert 'id="person-pnat"' in sub and 'id="person-opri"' in sub
    assert "<details" in sub
    assert client.get("/contacts/tree", params={"under": "nobody"}).status_code == 404


def test_the_tree_shows_each_person_s_status_in_the_live_inspection(
    client: TestClient, engine: Engine, rules: Rules
) -> None:
    _small_tree(engine)
    with Session(engine) as session:
        inspection = make_inspection(session, rules, notified_at=london(2026, 11, 17, 10, 30))
        nodes = {
            n.contact_id: n
            for n in session.exec(
                select(CascadeNode).where(CascadeNode.inspection_id == inspection.id)
            ).all()
        }
        nodes["hoy"].acknowledged_at = london(2026, 11, 17, 10, 32)
        nodes["twoj"].notified_at = london(2026, 11, 17, 10, 33)
        nodes["twoj"].acknowledged_at = None
        nodes["pnat"].broken_reason = "no mobile or e-mail reached them"
        nodes["opri"].notified_at = None
        for node in nodes.values():
            session.add(node)
        make_contact(session, "late", "Aled Rhys", reports_to="hoy")  # joined after the announce
        session.commit()
    signed_in_as(client, engine, "viewer")
    page = client.get("/contacts/tree").text

    def status(html: str, ident: str) -> str:
        start = html.index(f'id="person-{ident}"')
        tag = re.search(r'<strong class="govuk-tag[^"]*">\s*([^<]+?)\s*</strong>', html[start:])
        assert tag is not None
        return tag.group(1)

    assert status(page, "hoy") == "Acknowledged"
    assert status(page, "twoj") == "Waiting"
    assert status(page, "late") == "Not in this inspection"
    sub = client.get("/contacts/tree", params={"under": "twoj"}).text
    assert status(sub, "pnat") == "Broken"
    assert status(sub, "opri") == "Not yet messaged"


def a_chain(engine: Engine, depth: int) -> list[str]:
    """One person at each level: c0000 at the top, each next one reporting to the one before."""
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    ids = [f"c{n:04d}" for n in range(depth)]
    rows = [
        {
            "id": ident,
            "name": f"Harriet Oyelaran {n}",
            "role": None,
            "email": f"{ident}@example.org",
            "mobile": None,
            "reports_to": ids[n - 1] if n else None,
            "deputy": None,
            "groups": [],
            "channels": ["email"],
            "ack_window_minutes": None,
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        for n, ident in enumerate(ids)
    ]
    insert_tree(engine, rows)
    return ids


def test_a_chain_two_thousand_deep_renders_a_page_of_levels_at_a_time(
    client: TestClient, engine: Engine
) -> None:
    ids = a_chain(engine, 2000)
    signed_in_as(client, engine, "viewer")
    top = client.get("/contacts/tree")
    assert top.status_code == 200
    assert "1998 people below Harriet Oyelaran 1" in top.text
    sub = client.get("/contacts/tree", params={"under": "c0001"})
    assert sub.status_code == 200
    shown = re.findall(r'id="person-(c\d{4})"', sub.text)
    assert shown == ids[1 : 2 + TREE_LEVELS_PER_PAGE]
    # The last level shown links on to the page of the group below it.
    last = ids[1 + TREE_LEVELS_PER_PAGE]
    assert f'href="/contacts/tree?under={last}"' in sub.text
    deep = client.get("/contacts/tree", params={"under": ids[1995]})
    assert deep.status_code == 200
    assert re.findall(r'id="person-(c\d{4})"', deep.text) == ids[1995:]
    crumbs = re.findall(r'href="/contacts/tree\?under=(c\d{4})"', deep.text)
    assert crumbs[0] == "c0000" and crumbs[-1] == ids[1994]
    assert len(crumbs) < 10  # the path above is shortened, not 1,995 links


# The import ----------------------------------------------------------------------------------


def test_a_viewer_cannot_reach_the_import(client: TestClient, engine: Engine) -> None:
    signed_in_as(client, engine, "viewer")
    assert client.get("/contacts/import").status_code == 403


def test_every_problem_is_listed_by_line_and_column_and_nothing_is_written(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "coordinator")
    before = _audit_count(engine)
    reply = _upload(client, BAD)
    assert reply.status_code == 422
    summary = error_summary(reply.text)
    assert {href for href, _ in summary} == {"#contacts-file"}
    texts = [text for _, text in summary]
    assert any(t.startswith("Line 3, column name:") for t in texts), texts
    assert any(t.startswith("Line 3, column mobile:") for t in texts), texts
    assert any(t.startswith("Line 3, column reports_to:") and "nobody" in t for t in texts)
    assert 'id="contacts-file-error"' in reply.text
    assert "nothing has been imported" in _text(reply.text)
    assert _contacts(engine) == {} and _audit_count(engine) == before


def test_a_file_with_thousands_of_problems_lists_a_hundred_and_counts_the_rest(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "coordinator")
    rows = [f"r{n},Person {n},,p{n}@example.org,12345,r{(n + 1) % 4000},,,,\n" for n in range(4000)]
    reply = _upload(client, HEADER + "".join(rows))
    assert reply.status_code == 422
    summary = error_summary(reply.text)
    assert len(summary) == 101
    assert summary[-1] == ("#contacts-file", "And 3901 more problems, not listed")
    assert sum("cycle" in text for _, text in summary) == 1
    text = _text(reply.text)
    assert "The file has 4001 problems" in text
    assert "and 3901 more problems" in text
    assert len(reply.content) < 200_000
    assert _contacts(engine) == {}


def test_no_file_or_an_unreadable_one_is_an_error_on_the_field(
    client: TestClient, engine: Engine
) -> None:
    signed_in_as(client, engine, "coordinator")
    token = csrf_from(client.get("/contacts/import").text)
    reply = client.post("/contacts/import", data={"csrf_token": token}, files={})
    assert reply.status_code == 422
    assert error_summary(reply.text) == [
        ("#contacts-file", "Select a contacts file (CSV or .xlsx)")
    ]
    old_excel = _upload(client, b"\xd0\xcf\x11\xe0rest", name="contacts.xls")
    assert old_excel.status_code == 422
    assert error_summary(old_excel.text)[0][1].startswith("The file: this is an Excel 97-2003")


def test_the_preview_writes_nothing_and_the_import_writes_exactly_that_file(
    client: TestClient, engine: Engine
) -> None:
    with Session(engine) as session:
        make_contact(session, "hoy", "Harriet Oyelaran", role="Director")
        session.commit()
    signed_in_as(client, engine, "coordinator")
    before = _audit_count(engine)
    preview = _upload(client, GOOD)
    assert preview.status_code == 200, preview.text
    text = _text(preview.text)
    assert re.search(r"Added\s+1\s+Changed\s+1\s+Unchanged\s+0\s+Deactivated\s+0", text), text
    assert "Tomasz Wójcik" in text and "Import these contacts" in text
    assert "role" in text  # what changes for Harriet
    assert set(_contacts(engine)) == {"hoy"} and _audit_count(engine) == before

    reply = post_form(
        client, "/contacts/import/confirm", {"upload": _sealed(preview.text)}, page="/contacts"
    )
    assert reply.status_code == 303 and reply.headers["location"] == "/contacts"
    stored = _contacts(engine)
    assert set(stored) == {"hoy", "twoj"}
    assert stored["twoj"].reports_to == "hoy" and stored["twoj"].mobile == "+447700900124"
    assert stored["hoy"].role == "Director of Children's Services"
    landing = client.get("/contacts").text
    assert "Contacts imported: 1 added, 1 changed, 0 unchanged, 0 deactivated" in landing
    with Session(engine) as session:
        event = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "contacts_imported")
        ).one()
        assert event.actor == "user:coordinator-user"


def test_an_altered_or_missing_seal_imports_nothing(client: TestClient, engine: Engine) -> None:
    signed_in_as(client, engine, "coordinator")
    sealed = _sealed(_upload(client, GOOD).text)
    altered = sealed[:-3] + ("AAA" if not sealed.endswith("AAA") else "BBB")
    for value in (altered, "", "not-a-seal"):
        reply = post_form(client, "/contacts/import/confirm", {"upload": value}, page="/contacts")
        assert reply.status_code == 422
        assert error_summary(reply.text)[0][0] == "#contacts-file"
    assert _contacts(engine) == {}


def test_changing_the_mode_after_the_preview_previews_again(
    client: TestClient, engine: Engine
) -> None:
    with Session(engine) as session:
        make_contact(session, "gone", "Morag Baird")
        session.commit()
    signed_in_as(client, engine, "coordinator")
    merge = _upload(client, GOOD)
    assert re.search(r"Deactivated\s+0", _text(merge.text))
    again = post_form(
        client,
        "/contacts/import/confirm",
        {"upload": _sealed(merge.text), "replace": "yes"},
        page="/contacts",
    )
    assert again.status_code == 200
    assert "You changed whether people missing" in again.text
    assert re.search(r"Deactivated\s+1", _text(again.text)) and "Morag Baird" in again.text
    assert _contacts(engine)["gone"].active and "hoy" not in _contacts(engine)
    done = post_form(
        client,
        "/contacts/import/confirm",
        {"upload": _sealed(again.text), "replace": "yes"},
        page="/contacts",
    )
    assert done.status_code == 303
    stored = _contacts(engine)
    assert not stored["gone"].active and stored["hoy"].active


def test_a_file_that_became_wrong_after_its_preview_is_refused_whole(
    client: TestClient, engine: Engine
) -> None:
    with Session(engine) as session:
        make_contact(session, "hoy", "Harriet Oyelaran")
        session.commit()
    signed_in_as(client, engine, "coordinator")
    only_tomasz = HEADER + "twoj,Tomasz Wójcik,,tomasz@example.org,,hoy,,,,\n"
    sealed = _sealed(_upload(client, only_tomasz).text)
    with Session(engine) as session:
        hoy = session.get(Contact, "hoy")
        assert hoy is not None
        hoy.active = False
        session.add(hoy)
        session.commit()
    reply = post_form(client, "/contacts/import/confirm", {"upload": sealed}, page="/contacts")
    assert reply.status_code == 422
    assert any("column reports_to" in text for _, text in error_summary(reply.text))
    assert "twoj" not in _contacts(engine)
