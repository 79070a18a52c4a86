"""Property (issue 12, defect 1): any string or JSON value the API accepts on the write
endpoints' text and JSON fields is applied by every projection, and reads back as sent.

Hypothesis draws text (control characters, line breaks, spaces of every kind, unpaired
surrogates, markup) and JSON (NaN, infinities, reserved keys, nesting) for each write
endpoint's text and JSON fields. The API must accept exactly what the rules say (a model of
them below) and refuse the rest with 422; after an accepted write every projection is
running at the log head, and the answer (read from the projections) holds the value.
"""

from __future__ import annotations

import itertools
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from application.comments import sanitize
from application.errors import ApplicationError
from tests.support.kanban import create_board, create_project
from tests.support.projections import caught_up, wait_until

# What pydantic's strip_whitespace removes (Rust's White_Space).
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
WHITE_SPACE += "\u2028\u2029\u202f\u205f\u3000"
TRICKY = "\x00\x01\t\n\r\x0b\x1b\x1f\x7f\x85\x9f \xa0\u2028\u3000\ufeff\ud800\udfffa<>&#;1é😀"

clean_text = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=12)
any_text = (
    clean_text
    | st.text(st.characters(exclude_categories=()), max_size=12)
    | st.text(st.sampled_from(TRICKY), max_size=12)
)


def json_values(text: st.SearchStrategy[str], dirty: bool) -> st.SearchStrategy[dict]:
    keys = text | st.sampled_from(["_type_", "_data_"]) if dirty else text
    leaf = st.none() | st.booleans() | st.integers() | text
    leaf |= st.floats() if dirty else st.floats(allow_nan=False, allow_infinity=False)
    value = st.recursive(
        leaf,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
        max_leaves=12,
    )
    return st.dictionaries(keys, value, max_size=4)


class Draw:
    """Draws an example's fields: all from strategies that are mostly accepted, except one
    (or none) drawn from anything at all, so that both answers are common."""

    def __init__(self, data: st.DataObject, fields: list[str]) -> None:
        self.data = data
        self.dirty = data.draw(st.sampled_from([None, *fields]))

    def text(self, field: str) -> str:
        return self.data.draw(any_text if field == self.dirty else clean_text, label=field)

    def texts(self, field: str) -> list[str]:
        strategy = any_text if field == self.dirty else clean_text
        return self.data.draw(st.lists(strategy, max_size=3), label=field)

    def settings(self) -> dict:
        dirty = self.dirty == "settings"
        value = json_values(any_text if dirty else clean_text, dirty)
        return self.data.draw(value, label="settings")


# The rules, modelled ------------------------------------------------------------------------


def _control(char: str, free_text: bool) -> bool:
    code = ord(char)
    if free_text and char in "\t\n\r":
        return False
    return code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF


def clean(value: str, free_text: bool = False) -> bool:
    return not any(_control(c, free_text) for c in value)


def line(
    value: str, *, strip: bool = False, min_len: int = 0, max_len: int, free_text: bool = False
) -> tuple[bool, str]:
    """(accepted, value as stored) of a text field."""
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        return False, value  # pydantic's str refuses them before stripping
    stored = value.strip(WHITE_SPACE) if strip else value
    return min_len <= len(stored) <= max_len and clean(stored, free_text), stored


def json_ok(value: Any, depth: int = 1) -> bool:
    if isinstance(value, dict):
        return depth <= 20 and all(
            k != "_type_" and clean(k) and json_ok(v, depth + 1) for k, v in value.items()
        )
    if isinstance(value, list):
        return depth <= 20 and all(json_ok(v, depth + 1) for v in value)
    if isinstance(value, str):
        return clean(value, free_text=True)
    if isinstance(value, float):
        return math.isfinite(value)
    return True


def settings_ok(value: dict) -> bool:
    size = len(
        json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")
    )
    return json_ok(value) and size <= 65_536


def same(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value (PostgreSQL's jsonb writes 1e+23 as an integer)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and float(a) == float(b)
    return a == b


# The world the writes happen in ---------------------------------------------------------------


@pytest.fixture(scope="module")
def world(client) -> dict[str, Any]:
    email = f"props-{datetime.now(UTC).timestamp()}@example.com"
    user = client.post(
        "/api/v1/auth/register", json={"email": email, "password": "password123", "name": "P"}
    ).json()
    user["headers"] = {"Authorization": f"Bearer {user['access_token']}"}
    workspace = client.post("/api/v1/workspaces", json={"name": "W"}, headers=user["headers"])
    workspace_id = workspace.json()["id"]
    project_id = create_project(client, user, workspace_id)
    board = create_board(client, user, project_id, columns=[{"name": "C"}])
    card = client.post(
        f"/api/v1/columns/{board['columns'][0]['id']}/cards",
        json={"title": "c"},
        headers=user["headers"],
    ).json()
    return {
        "user": user,
        "workspace": workspace_id,
        "project": project_id,
        "board": board["id"],
        "column": board["columns"][0]["id"],
        "card": card["id"],
        "minutes": itertools.count(),
    }


def send(client, method: str, url: str, body: dict, user: dict):
    # ensure_ascii: unpaired surrogates travel as \\ud800 escapes, as a client would send them
    return client.request(
        method,
        url,
        content=json.dumps(body).encode(),
        headers={**user["headers"], "content-type": "application/json"},
    )


def case_card(data, w) -> tuple[str, str, dict, dict]:
    draw = Draw(data, ["title", "description", "labels"])
    title, description, labels = draw.text("title"), draw.text("description"), draw.texts("labels")
    checks = {
        "title": line(title, strip=True, min_len=1, max_len=255),
        "description": line(description, max_len=20_000, free_text=True),
        "labels": (all(line(x, max_len=50)[0] for x in labels), labels),
    }
    body = {"title": title, "description": description, "labels": labels}
    return "POST", f"/api/v1/columns/{w['column']}/cards", body, checks


def _named_with_settings(data) -> tuple[dict, dict]:
    draw = Draw(data, ["name", "description", "settings"])
    name, description, value = draw.text("name"), draw.text("description"), draw.settings()
    checks = {
        "name": line(name, strip=True, min_len=1, max_len=255),
        "description": line(description, max_len=10_000, free_text=True),
        "settings": (settings_ok(value), value),
    }
    return {"name": name, "description": description, "settings": value}, checks


def case_workspace(data, w):
    body, checks = _named_with_settings(data)
    return "PUT", f"/api/v1/workspaces/{w['workspace']}", body, checks


def case_project(data, w):
    body, checks = _named_with_settings(data)
    return "PUT", f"/api/v1/projects/{w['project']}", body, checks


def case_board(data, w):
    body, checks = _named_with_settings(data)
    checks["description"] = line(body["description"], max_len=20_000, free_text=True)
    return "PUT", f"/api/v1/boards/{w['board']}", body, checks


def case_task(data, w):
    draw = Draw(data, ["title", "description", "tags"])
    title, description, tags = draw.text("title"), draw.text("description"), draw.texts("tags")
    stripped = [line(t, strip=True, min_len=1, max_len=50) for t in tags]
    checks = {
        "title": line(title, strip=True, min_len=1, max_len=255),
        "description": line(description, max_len=20_000, free_text=True),
        "tags": (all(ok for ok, _ in stripped), [s for _, s in stripped]),
    }
    body = {"title": title, "description": description, "tags": tags}
    return "POST", f"/api/v1/projects/{w['project']}/tasks", body, checks


def case_comment(data, w):
    content = Draw(data, ["content"]).text("content")
    ok, _ = line(content, min_len=1, max_len=20_000, free_text=True)
    stored = content
    if ok:
        try:
            stored = sanitize(content)
        except ApplicationError:
            ok = False  # empty once sanitized
    body = {"content": content}
    return "POST", f"/api/v1/cards/{w['card']}/comments", body, {"content": (ok, stored)}


def case_profile(data, w):
    name = Draw(data, ["name"]).text("name")
    checks = {"name": line(name, strip=True, min_len=1, max_len=255)}
    return "PUT", "/api/v1/auth/me", {"name": name}, checks


def case_time_entry(data, w):
    draw = Draw(data, ["description", "tags"])
    description, tags = draw.text("description"), draw.texts("tags")
    stripped = [line(t, strip=True, min_len=1, max_len=50) for t in tags]
    start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=2 * next(w["minutes"]))
    checks = {
        # require_description is on by default: an empty description is refused.
        "description": line(description, strip=True, min_len=1, max_len=5000, free_text=True),
        "tags": (all(ok for ok, _ in stripped), list(dict.fromkeys(s for _, s in stripped))),
    }
    body = {
        "project_id": w["project"],
        "description": description,
        "tags": tags,
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(minutes=1)).isoformat(),
    }
    return "POST", "/api/v1/time-entries", body, checks


CASES = [
    case_card,
    case_workspace,
    case_project,
    case_board,
    case_task,
    case_comment,
    case_profile,
    case_time_entry,
]


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=st.sampled_from(CASES), data=st.data())
def test_what_the_api_accepts_every_projection_applies(client, world, settings, case, data):
    method, url, body, checks = case(data, world)
    response = send(client, method, url, body, world["user"])
    accepted = all(ok for ok, _ in checks.values())
    event(f"{case.__name__}: {'accepted' if accepted else 'refused'}")
    if not accepted:
        assert response.status_code == 422, (body, response.text)
        return
    assert response.status_code in (200, 201), (body, response.status_code, response.text)
    answer = response.json()
    for field, (_, stored) in checks.items():
        assert same(answer[field], stored), (field, answer[field], stored)
    wait_until(lambda: caught_up(settings.database_url), timeout=10)
