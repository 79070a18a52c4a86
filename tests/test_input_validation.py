"""Issue 12, defect 1(a): nothing a client sends can poison the log.

Before: ``POST /columns/{id}/cards {"title": "a\\u0000b"}`` answered 202 after the 5 s wait and
left the kanban, activities and card_activities projections failed (every later card command
waited 5 s and answered 202); a workspace name with NUL did the same to workspaces; settings
300 levels deep answered 500 after committing and made ``GET /workspaces`` 500 for good; 900
levels failed the activities projection; NaN in settings failed workspaces; the key "_type_"
made the event unreadable; a lone surrogate in settings answered 500; NUL in a query parameter
(``object_type``, ``tags``) answered 500. Now: 422 problem+json naming the field, nothing
appended, every projection running at the log head.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from projections import control
from projections.registry import all_projections
from tests.support.kanban import create_board, create_project

PROBLEM = "application/problem+json"
JSON = {"content-type": "application/json"}


def log_head(settings) -> int:
    return control.status(settings.database_url, ["kanban"])[0].head


def assert_all_projections_at_head(settings) -> None:
    states = control.status(settings.database_url, [p.name for p in all_projections()])
    assert [(s.name, s.state, s.error) for s in states if s.state != "running"] == []


def assert_refused(response, field: str, head_before: int | None = None, settings=None) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    fields = [e["field"] for e in response.json()["errors"]]
    assert field in fields, response.json()
    if settings is not None:
        assert log_head(settings) == head_before  # nothing appended


@pytest.fixture
def board(api, client) -> dict[str, Any]:
    user = api.register()
    workspace = api.create_workspace(user)
    project = create_project(client, user, workspace["id"])
    return {"user": user, "workspace": workspace, **create_board(client, user, project)}


def raw_post(client, url: str, body: bytes, user: dict):
    return client.post(url, content=body, headers={**user["headers"], **JSON})


def test_a_card_title_with_nul_is_refused_and_the_board_keeps_working(client, board, settings):
    user, column = board["user"], board["columns"][0]["id"]
    head = log_head(settings)
    refused = client.post(
        f"/api/v1/columns/{column}/cards", json={"title": "a\u0000b"}, headers=user["headers"]
    )
    assert_refused(refused, "title", head, settings)
    assert "U+0000" in refused.json()["errors"][0]["message"]
    created = client.post(
        f"/api/v1/columns/{column}/cards", json={"title": "after"}, headers=user["headers"]
    )
    assert created.status_code == 201, created.text
    assert_all_projections_at_head(settings)


def test_a_workspace_name_with_nul_is_refused(client, api, settings):
    user = api.register()
    head = log_head(settings)
    refused = client.post("/api/v1/workspaces", json={"name": "x\u0000y"}, headers=user["headers"])
    assert_refused(refused, "name", head, settings)


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x1b", "\x7f", "\x85", "\x9f"])
def test_control_characters_are_refused_in_names_and_free_text(client, board, char):
    user, column = board["user"], board["columns"][0]["id"]
    url = f"/api/v1/columns/{column}/cards"
    title = client.post(url, json={"title": f"a{char}b"}, headers=user["headers"])
    assert_refused(title, "title")
    description = client.post(
        url, json={"title": "t", "description": f"a{char}b"}, headers=user["headers"]
    )
    assert_refused(description, "description")
    label = client.post(url, json={"title": "t", "labels": [f"a{char}"]}, headers=user["headers"])
    assert_refused(label, "labels.0")


def test_free_text_keeps_tabs_and_line_breaks_but_a_name_does_not(client, board):
    user, column = board["user"], board["columns"][0]["id"]
    url = f"/api/v1/columns/{column}/cards"
    text = "line 1\r\n\tline 2\n"
    card = client.post(url, json={"title": "t", "description": text}, headers=user["headers"])
    assert card.status_code == 201, card.text
    assert card.json()["description"] == text
    assert_refused(client.post(url, json={"title": "a\nb"}, headers=user["headers"]), "title")
    # Spaces (and line breaks) around a name are stripped, as before.
    padded = client.post(url, json={"title": " \u3000 t \n"}, headers=user["headers"])
    assert padded.status_code == 201, padded.text
    assert padded.json()["title"] == "t"


def test_unpaired_surrogates_are_refused_in_text_keys_and_values(client, board):
    user, column = board["user"], board["columns"][0]["id"]
    title = raw_post(client, f"/api/v1/columns/{column}/cards", b'{"title": "a\\ud800"}', user)
    assert_refused(title, "title")
    for settings_json in (b'{"a": "\\udfff"}', b'{"\\ud800": 1}'):
        refused = raw_post(
            client, "/api/v1/workspaces", b'{"name": "w", "settings": ' + settings_json + b"}", user
        )
        assert_refused(refused, "settings")


def nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels - 1):
        value = {"k": value}
    return value


def test_settings_deeper_than_the_limit_are_refused_and_reads_keep_working(client, api, settings):
    user = api.register()
    head = log_head(settings)
    for levels in (21, 300, 900):
        refused = client.post(
            "/api/v1/workspaces",
            json={"name": "deep", "settings": nested(levels)},
            headers=user["headers"],
        )
        assert_refused(refused, "settings", head, settings)
        assert "deeper than 20 levels" in refused.json()["errors"][0]["message"]
    deepest = client.post(
        "/api/v1/workspaces",
        json={"name": "deep", "settings": nested(20)},
        headers=user["headers"],
    )
    assert deepest.status_code == 201, deepest.text
    assert deepest.json()["settings"] == nested(20)
    assert client.get("/api/v1/workspaces", headers=user["headers"]).status_code == 200
    assert_all_projections_at_head(settings)


def test_settings_larger_than_the_limit_are_refused(client, board):
    user = board["user"]
    big = {"notes": "x" * 70_000}
    project = client.post(
        "/api/v1/projects",
        json={"workspace_id": board["workspace"]["id"], "name": "P", "settings": big},
        headers=user["headers"],
    )
    assert_refused(project, "settings")
    assert "65536" in project.json()["errors"][0]["message"]
    update = client.put(
        f"/api/v1/boards/{board['id']}", json={"settings": big}, headers=user["headers"]
    )
    assert_refused(update, "settings")


@pytest.mark.parametrize(
    "settings_json",
    [
        b'{"a": NaN}',
        b'{"a": [Infinity]}',
        b'{"a": -Infinity}',
        b'{"a": 1e400}',
        b'{"_type_": "uuid_hex", "_data_": "00000000000000000000000000000000"}',
        b'{"a": {"_type_": "x", "_data_": 1}}',
        b'{"a\\u0000": 1}',
        b'{"a\\tb": 1}',
        b'{"a": ["\\u0001"]}',
    ],
)
def test_json_the_log_cannot_hold_is_refused(client, api, settings, settings_json):
    user = api.register()
    head = log_head(settings)
    refused = raw_post(
        client, "/api/v1/workspaces", b'{"name": "w", "settings": ' + settings_json + b"}", user
    )
    assert_refused(refused, "settings", head, settings)


def test_any_other_json_reads_back_as_sent(client, api):
    user = api.register()
    value = {"a": [1, 2.5, -0.0, True, None, "tab\tline\nbreak", {"ü": {"": []}}], "_data_": 1}
    created = client.post(
        "/api/v1/workspaces", json={"name": "w", "settings": value}, headers=user["headers"]
    )
    assert created.status_code == 201, created.text
    assert created.json()["settings"] == value


def test_query_strings_with_control_characters_are_refused_not_500(client, board):
    user, workspace = board["user"], board["workspace"]["id"]
    activities = client.get(
        f"/api/v1/workspaces/{workspace}/activities",
        params={"object_type": "card\u0000"},
        headers=user["headers"],
    )
    assert_refused(activities, "object_type")
    entries = client.get(
        "/api/v1/time-entries", params={"tags": "a\u0000"}, headers=user["headers"]
    )
    assert_refused(entries, "tags.0")
    reason = client.delete(
        f"/api/v1/columns/{board['columns'][0]['id']}",
        params={"wip_override_reason": "why\u0000"},
        headers=user["headers"],
    )
    assert_refused(reason, "wip_override_reason")


def test_passwords_and_tokens_with_control_characters_are_refused(client):
    register = client.post(
        "/api/v1/auth/register",
        json={"email": "nul@example.com", "password": "pass\u0000word123", "name": "N"},
    )
    assert_refused(register, "password")  # bcrypt would have ended the password at the NUL
    refresh = client.post("/api/v1/auth/refresh", json={"refresh_token": "abcdefghijkl\u0000"})
    assert_refused(refresh, "refresh_token")


def test_an_avatar_url_is_one_line_of_http_and_the_schema_says_so(client, api):
    user = api.register()
    for url in ("https://example.com/a\u0000.png", "https://example.com/\n", "ftp://example.com/"):
        refused = client.put("/api/v1/auth/me", json={"avatar_url": url}, headers=user["headers"])
        assert_refused(refused, "avatar_url")
    document = client.get("/openapi.json").json()
    avatar = document["components"]["schemas"]["ProfileBody"]["properties"]["avatar_url"]
    assert avatar["anyOf"][0]["pattern"].startswith("^https?://")


def test_comment_character_references_do_not_become_control_characters(client, board):
    user, column = board["user"], board["columns"][0]["id"]
    card = client.post(
        f"/api/v1/columns/{column}/cards", json={"title": "t"}, headers=user["headers"]
    ).json()
    comment = client.post(
        f"/api/v1/cards/{card['id']}/comments",
        json={"content": "a&#1;b&#0;c\td"},
        headers=user["headers"],
    )
    assert comment.status_code == 201, comment.text
    assert comment.json()["content"] == "ab\ufffdc\td"


# What the OpenAPI document says ------------------------------------------------------------------

# Strings that are parsed rather than kept: a malformed one is a 4xx, never stored.
PARSED = {"query:cursor", "header:if-match", "header:accept"}


def _strings(schema: dict, path: str, components: dict, seen: frozenset = frozenset()):
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from _strings(components[name], path, components, seen | {name})
        return
    branches = schema.get("anyOf", [])
    decimal = any(b.get("type") == "number" for b in branches)  # Decimal: a number or a string
    for branch in branches:
        if not (decimal and branch.get("type") == "string"):
            yield from _strings(branch, path, components, seen)
    if schema.get("type") == "string":
        yield path, schema
    for name, sub in schema.get("properties", {}).items():
        yield from _strings(sub, f"{path}.{name}", components, seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _strings(schema["additionalProperties"], f"{path}.*", components, seen)
    if "propertyNames" in schema:
        yield f"{path}{{key}}", {"type": "string", **schema["propertyNames"]}
    if "items" in schema:
        yield from _strings(schema["items"], f"{path}[]", components, seen)


def test_every_string_the_api_accepts_says_what_it_may_contain(client):
    """A safety net for new fields: every string in a request body or parameter has a pattern
    (no control characters), an enum, or a parsed format; free-form JSON is bounded."""
    document = client.get("/openapi.json").json()
    components = document["components"]["schemas"]
    loose = []
    for route, operations in document["paths"].items():
        for method, operation in operations.items():
            inputs = [
                (f"{p['in']}:{p['name'].lower()}", p["schema"])
                for p in operation.get("parameters", [])
            ]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                inputs.append(("body", body["schema"]))
            for label, schema in inputs:
                if label in PARSED:
                    continue
                for path, string in _strings(schema, label, components):
                    formats = {"uuid", "date", "date-time", "email"}
                    if not ({"pattern", "enum", "const"} & set(string)) and (
                        string.get("format") not in formats
                    ):
                        loose.append(f"{method.upper()} {route} {path}")
    assert loose == []
    settings = components["WorkspaceCreate"]["properties"]["settings"]
    assert "MAX_JSON_DEPTH" in settings["description"]
    assert settings["propertyNames"]["not"] == {"const": "_type_"}
    assert json.dumps(components["JsonValue"])  # strings and keys inside say it too


@pytest.mark.parametrize("amount", [-1.6620653421347926e308, 1.7e308, 1e20])
def test_an_amount_beyond_any_bound_is_refused_not_an_error(api, client, amount):
    """A float whose hundredths overflow once made the cents parser raise (500)."""
    user = api.register()
    workspace = api.create_workspace(user)
    answer = client.post(
        "/api/v1/projects",
        json={"workspace_id": workspace["id"], "name": "P", "budget": amount},
        headers=user["headers"],
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "budget"
