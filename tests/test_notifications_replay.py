"""Deduplication by (event, recipient): running the notifications policy over the whole log
again (a replay, or a retry after a crash) delivers nothing twice and mails nothing twice;
rebuilding the notifications projection gives the rows the live one gave."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from interfaces.bootstrap import open_event_store
from interfaces.http.app import create_app
from projections.rebuild import rebuild
from projections.registry import by_name
from tests.support.api import Api
from tests.support.databases import make_settings
from tests.support.notifications import make_team, settle, types_of, uid, wait_for_inbox


@pytest.fixture
def fresh(fresh_database_url) -> Iterator[tuple[str, TestClient]]:
    settings = make_settings(fresh_database_url)
    with TestClient(create_app(settings, with_projector=True)) as client:
        yield fresh_database_url, client


def delivered(url: str) -> tuple[int, int, int, list[tuple]]:
    """(Notified events, notifications delivered in them, outbox rows, the table's rows)."""
    with psycopg.connect(url) as conn:
        events, items = conn.execute(
            "SELECT count(*), coalesce(sum(json_array_length((convert_from(state, 'UTF8')"
            "::json)->'items')), 0) FROM worksync_events"
            " WHERE topic = 'domain.notifications:Inbox.Notified'"
        ).fetchone()
        outbox = conn.execute(
            "SELECT count(*) FROM outbox WHERE policy = 'notifications_policy'"
        ).fetchone()[0]
        rows = conn.execute(
            "SELECT id, user_id, type, title, is_read, created_at FROM notifications ORDER BY id"
        ).fetchall()
    return events, int(items), outbox, rows


def test_replaying_the_log_through_the_policy_notifies_nobody_twice(fresh):
    url, client = fresh
    team = make_team(Api(client), client)
    client.put(
        "/api/v1/notifications/preferences",
        json={"digest": "immediate"},
        headers=team.cid["headers"],
    )
    card = client.post(
        f"/api/v1/columns/{team.todo}/cards",
        json={"title": "Twice?", "assignee_id": uid(team.bob)},
        headers=team.ann["headers"],
    ).json()
    cid_handle = team.cid["user"]["email"].split("@")[0]
    client.post(
        f"/api/v1/cards/{card['id']}/comments",
        json={"content": f"@{cid_handle} look"},
        headers=team.ann["headers"],
    )
    wait_for_inbox(client, team.cid, lambda p: "mention" in types_of(p))
    wait_for_inbox(client, team.bob, lambda p: "comment" in types_of(p))
    settle(url)
    before = delivered(url)
    assert before[1] == 5  # added to the workspace x2, assigned, comment (Bob), mention (Cid)
    assert before[2] >= 1  # Cid's immediate mail

    with psycopg.connect(url, autocommit=True) as conn:  # the policy starts over
        conn.execute(
            "UPDATE projection_tracking SET position = 0 WHERE name = 'notifications_policy'"
        )
    settle(url)
    assert delivered(url) == before

    store = open_event_store(url, pool_size=1)
    try:
        rebuild(url, by_name("notifications"), store.mapper, batch_size=3)
    finally:
        store.close()
    assert delivered(url)[3] == before[3]
