"""The error shape the schema documents is the one the API answers with: 401, 403, 404, 405,
409, 422 (query, path, body, unreadable body) over real requests, each an `Error`."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session

from service.api.errors import Error
from tests.api.payloads import announce_body
from tests.builders import make_contact

URL = "/api/v1/inspections"


def test_every_error_status_answers_the_one_shape(
    client: TestClient, session: Session, auth: Callable[..., dict[str, str]]
) -> None:
    make_contact(session, "S001", "Harriet Oyelaran")
    make_contact(session, "S002", "Tomasz Wójcik", deputy="S001")
    session.commit()
    writer, reader, contacts = auth(), auth("inspections:read"), auth("contacts:write")
    assert client.post(URL, json=announce_body(), headers=writer).status_code == 201
    answers = {
        401: client.get(URL),
        403: client.post(URL, json=announce_body(), headers=reader),
        404: client.get(f"{URL}/0b6f2c1e-8d5a-4f7e-9c3b-2a1d4e5f6a7b", headers=reader),
        405: client.put(URL, headers=reader),
        409: client.post(URL, json=announce_body(), headers=writer),
        4220: client.get(URL, params={"limit": 0}, headers=reader),
        4221: client.get(f"{URL}/not-an-id", headers=reader),
        4222: client.post(URL, json={"framework": "sif-2013"}, headers=writer),
        4223: client.post(
            URL, content=b"\xff\xfe", headers={**writer, "Content-Type": "application/json"}
        ),
        4224: client.get(URL, params={"offset": 5}, headers=reader),
        4091: client.post("/api/v1/contacts/S001/deactivate", headers=contacts),
    }
    for code, response in answers.items():
        status = code if code < 1000 else code // 10
        assert response.status_code == status, (code, response.text)
        body = Error.model_validate(response.json())
        if status == 422:
            assert isinstance(body.detail, list) and body.detail, code
            assert all(problem.loc and problem.msg for problem in body.detail)
        else:
            assert isinstance(body.detail, str) and body.detail, code
    assert answers[4091].json()["deputy_for"] == ["S002"]
