"""Helpers for the notification tests: a team in a workspace, and reading one's inbox
(notifications arrive through the policy, a little after the command that caused them)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from tests.support.authz import add_member
from tests.support.kanban import create_board, create_project


@dataclass
class Team:
    """Ann owns the workspace; Bob and Cid are members; Eve is an outsider."""

    ann: dict
    bob: dict
    cid: dict
    eve: dict
    workspace_id: str
    project_id: str
    board: dict

    @property
    def todo(self) -> str:
        return self.board["columns"][0]["id"]


def uid(user: dict) -> str:
    return user["user"]["id"]


def make_team(api: Any, client: Any, handles: tuple[str, str] | None = None) -> Team:
    """``handles``: the e-mail local parts of Bob and Cid (their @handles)."""
    import uuid

    suffix = uuid.uuid4().hex[:8]
    bob_handle, cid_handle = handles or (f"bob{suffix}", f"cid{suffix}")
    ann = api.register(name="Ann")
    bob = api.register(email=f"{bob_handle}@example.com", name="Bob")
    cid = api.register(email=f"{cid_handle}@example.com", name="Cid")
    eve = api.register(name="Eve")
    workspace = api.create_workspace(ann, name="Notified")
    for member in (bob, cid):
        add_member(client, workspace["id"], ann, uid(member), "member")
    project_id = create_project(client, ann, workspace["id"])
    board = create_board(client, ann, project_id)
    for member in (bob, cid):  # being added to the workspace: cleared, inboxes start empty
        page = wait_for_inbox(client, member, lambda p: p["data"] != [])
        assert [n["type"] for n in page["data"]] == ["workspace_added"]
        for note in page["data"]:
            response = client.delete(
                f"/api/v1/notifications/{note['id']}", headers=member["headers"]
            )
            assert response.status_code == 204, response.text
    return Team(ann, bob, cid, eve, workspace["id"], project_id, board)


def inbox(client: Any, user: dict, **params: Any) -> dict:
    response = client.get("/api/v1/notifications", params=params, headers=user["headers"])
    assert response.status_code == 200, response.text
    return response.json()


def wait_for_inbox(
    client: Any, user: dict, done: Callable[[dict], bool], timeout: float = 20.0, **params: Any
) -> dict:
    """The user's first page once ``done(page)`` holds (fails after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        page = inbox(client, user, **params)
        if done(page) or time.monotonic() > deadline:
            assert done(page), page
            return page
        time.sleep(0.05)


def types_of(page: dict) -> list[str]:
    return [n["type"] for n in page["data"]]


def settle(database_url: str, timeout: float = 20.0) -> None:
    """Wait until the notifications policy and projection have reached the log's head (to
    check that something did NOT arrive)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            head = conn.execute(
                "SELECT coalesce(max(notification_id), 0) FROM worksync_events"
            ).fetchone()[0]
            behind = conn.execute(
                "SELECT count(*) FROM projection_tracking WHERE name IN"
                " ('notifications', 'notifications_policy') AND position < %s",
                (head,),
            ).fetchone()[0]
            if behind == 0:
                return
            assert time.monotonic() < deadline, "the notifications policy did not catch up"
            time.sleep(0.05)
