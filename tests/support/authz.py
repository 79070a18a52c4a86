"""The authorization matrix harness: every endpoint x owner/admin/member/viewer/outsider/anon.

A case names an endpoint, how to build its request for a fresh workspace, and the expected
status per role. After a request that changed its world (a success of a case that changes
state: delete, remove member...) the next role gets a fresh one, so destructive cases do not
disturb each other; a read (a GET without ``prepare``, unless marked ``changes_state``) or a
refusal changes nothing, and the next role asks in the same world. A case with ``prepare``
gets a world per role. Later features add their cases here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ROLES = ("owner", "admin", "member", "viewer", "outsider", "anon")


@dataclass
class World:
    """One workspace with a user in each role, plus an outsider and a spare user."""

    users: dict[str, dict]
    workspace: dict
    target: dict  # a plain member that cases may act on
    spare: dict  # a registered user who belongs to no workspace

    cache: dict[str, Any] = field(default_factory=dict)
    client: Any = None

    def headers(self, role: str) -> dict[str, str]:
        return {} if role == "anon" else self.users[role]["headers"]

    @property
    def owner(self) -> dict:
        return self.users["owner"]

    def ensure(self, name: str, make: Callable[[World], Any]) -> Any:
        """An object of this world (a project, a board...), made once by ``make``."""
        if name not in self.cache:
            self.cache[name] = make(self)
        return self.cache[name]

    def post(self, path: str, body: dict, as_role: str = "owner") -> dict:
        """Create something as a role (the owner by default) and return the JSON body."""
        response = self.client.post(path, json=body, headers=self.headers(as_role))
        assert response.status_code in (200, 201), response.text
        return response.json()


@dataclass
class Case:
    method: str
    route: str  # the route template as FastAPI lists it
    expected: dict[str, int]
    path: Callable[[World], str] | None = None
    body: Callable[[World, str], Any] | None = None
    files: Callable[[World, str], Any] | None = None  # a multipart body (httpx ``files=``)
    prepare: Callable[[Any, World, str], None] | None = None
    name: str = field(default="")
    # None: every method but GET changes state, and so does a case with ``prepare``.
    changes_state: bool | None = None

    def __post_init__(self) -> None:
        assert set(self.expected) == set(ROLES), self.route
        self.name = self.name or f"{self.method} {self.route}"
        if self.changes_state is None:
            self.changes_state = self.method != "GET" or self.prepare is not None


def expect(
    owner: int, admin: int, member: int, viewer: int, outsider: int, anon: int = 401
) -> dict[str, int]:
    return dict(zip(ROLES, (owner, admin, member, viewer, outsider, anon), strict=True))


def build_world(api: Any, client: Any, users: dict[str, dict]) -> World:
    owner = users["owner"]
    workspace = api.create_workspace(owner, name=f"Matrix {uuid.uuid4().hex[:6]}")
    target = api.register(name="Target")
    for role in ("admin", "member", "viewer"):
        add_member(client, workspace["id"], owner, users[role]["user"]["id"], role)
    add_member(client, workspace["id"], owner, target["user"]["id"], "member")
    spare = api.register(name="Spare")
    return World(users=users, workspace=workspace, target=target, spare=spare, client=client)


def add_member(client: Any, workspace_id: str, by: dict, user_id: str, role: str) -> None:
    response = client.post(
        f"/api/v1/workspaces/{workspace_id}/members",
        json={"user_id": user_id, "role": role},
        headers=by["headers"],
    )
    assert response.status_code == 201, response.text
