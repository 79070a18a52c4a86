"""The OpenAPI document describes every error each operation gives (problem+json), and its
schemas say what the server accepts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from interfaces.http.app import create_app
from interfaces.http.problems import PROBLEM
from interfaces.http.schemas import cents


@pytest.fixture(scope="module")
def document() -> dict:
    return create_app().openapi()


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_error_is_problem_json_with_the_problem_schema(document):
    assert {"type", "title", "status", "detail"} <= set(
        document["components"]["schemas"]["Problem"]["required"]
    )
    for path, method, operation in operations(document):
        errors = {s: r for s, r in operation["responses"].items() if int(s) >= 400}
        assert "500" in errors, (method, path)
        for status, response in errors.items():
            if path == "/ready" and status == "503":
                continue  # /ready's own JSON body, as for 200
            assert list(response["content"]) == [PROBLEM], (method, path, status)
            assert response["content"][PROBLEM]["schema"] == {
                "$ref": "#/components/schemas/Problem"
            }
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_errors_are_derived_from_what_the_operation_is(document):
    card = document["paths"]["/api/v1/cards/{card_id}"]
    assert {"400", "401", "403", "404", "409", "412", "413", "422", "429", "500", "503"} <= set(
        card["put"]["responses"]
    )
    assert "412" not in card["get"]["responses"]
    assert "413" not in card["get"]["responses"]
    login = document["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert {"401", "413", "422", "429"} <= set(login)
    assert "403" not in login
    assert {"200", "500"} == set(document["paths"]["/health"]["get"]["responses"])
    register = document["paths"]["/api/v1/auth/register"]["post"]["responses"]
    assert {"201", "202", "409"} <= set(register)


def test_parameters_are_never_null(document):
    for path, method, operation in operations(document):
        for param in operation.get("parameters", []):
            options = param["schema"].get("anyOf", [])
            assert {"type": "null"} not in options, (method, path, param["name"])


def test_every_schema_has_a_plain_class_name(document):
    schemas = document["components"]["schemas"]
    assert not [name for name in schemas if "__" in name]
    assert {"ProjectMemberOut", "WorkspaceMemberOut", "ProjectMemberAdd"} <= set(schemas)


def test_a_405_names_every_method_of_the_path(client):
    response = client.request("PATCH", "/api/v1/workspaces")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.headers["content-type"] == PROBLEM


def test_if_match_must_be_a_version(client, api):
    user = api.register()
    workspace = api.create_workspace(user)
    url = f"/api/v1/workspaces/{workspace['id']}"
    for bad in ("null", "-1", "1_0"):
        answer = client.put(url, json={}, headers={**user["headers"], "If-Match": bad})
        assert answer.status_code == 422, bad
    fine = client.put(url, json={}, headers={**user["headers"], "If-Match": '"1"'})
    assert fine.status_code == 200


class Amount(BaseModel):
    value: cents(3)


def test_cents_accept_what_the_schema_documents():
    assert Amount(value=1.1500000000000001).value == Decimal("1.15")  # 115 * 0.01
    assert Amount(value="999.99").value == Decimal("999.99")
    assert Amount(value=7).value == 7
    assert Amount(value=999.99).value == Decimal("999.99")
    big = cents(10)

    class Budget(BaseModel):
        value: big

    assert Budget(value=4560061503.81).value == Decimal("4560061503.81")
    with pytest.raises(ValidationError):
        Budget(value=4560061503.814871)
    for bad in (871.881, "1e2", "1000", -1, 1000.0):
        with pytest.raises(ValidationError):
            Amount(value=bad)
