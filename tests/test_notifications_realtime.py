"""notification:* events over Socket.IO, against a real `worksync serve` with the real client:
a notification reaches every open session of its recipient (their user:<id> room) and nobody
else; reading it is pushed to the recipient's other sessions; mark-all-read is one batch."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from tests.support.databases import drop_database, recreate_database
from tests.support.realtime import Http, Listener, Server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(template_db: str) -> Iterator[Server]:
    name = f"worksync_rt_notes_{uuid.uuid4().hex[:10]}"
    process = Server(recreate_database(name, template_db))
    yield process
    process.stop()
    drop_database(name)


def test_notifications_reach_the_recipient_only(server):
    async def scenario() -> None:
        http = Http(server.base)
        ann, bob, cid, eve = [await http.register(n) for n in ("Ann", "Bob", "Cid", "Eve")]
        workspace = await http.workspace(ann, bob, cid)
        columns, _ = await http.board(ann, workspace)
        # Two sessions of Bob's, none following a workspace: his own room only.
        bob_phone = Listener(server.base, bob["access_token"])
        bob_laptop = Listener(server.base, bob["access_token"])
        others = [
            Listener(server.base, cid["access_token"], workspaces=[workspace]),
            Listener(server.base, eve["access_token"]),
            Listener(server.base, ann["access_token"], workspaces=[workspace]),
        ]
        for listener in (bob_phone, bob_laptop, *others):
            await listener.connect()

        async def assign(title: str) -> dict:
            body = {"title": title, "assignee_id": bob["id"]}
            return await http.request("POST", f"/columns/{columns[0]}/cards", ann, json=body)

        card = await assign("Ship")
        for session in (bob_phone, bob_laptop):
            assert await session.wait_for(lambda s=session: s.named("notification:created"))
        created = bob_phone.named("notification:created")[0]
        assert created["resource"]["type"] == "notification"
        assert created["workspace_id"] is None
        note = created["data"]
        assert note["type"] == "assigned"
        assert note["user_id"] == bob["id"]
        assert note["data"]["card_id"] == card["id"]
        assert note["is_read"] is False
        assert created["resource"]["id"] == note["id"]

        # Read on one session: the other hears of it.
        await http.request("PUT", f"/notifications/{note['id']}/read", bob)
        assert await bob_laptop.wait_for(lambda: bob_laptop.named("notification:read"))
        read = bob_laptop.named("notification:read")[0]
        assert read["data"]["id"] == note["id"]
        assert read["data"]["read_at"]

        await assign("Test")
        await assign("Release")
        assert await bob_phone.wait_for(lambda: len(bob_phone.named("notification:created")) == 3)
        marked = await http.request("PUT", "/notifications/mark-all-read", bob)
        assert marked == {"marked": 3, "unread_count": 0}  # and "added to the workspace"
        assert await bob_laptop.wait_for(lambda: bob_laptop.named("notification:batch"))
        batch = bob_laptop.named("notification:batch")[0]["data"]
        assert batch["action"] == "read"
        later = [d["data"]["id"] for d in bob_phone.named("notification:created")[1:]]
        assert len(batch["ids"]) == 3
        assert set(later) < set(batch["ids"])

        await asyncio.sleep(0.5)
        for listener in others:
            assert [e for e, _ in listener.events if e.startswith("notification:")] == []
        for listener in (bob_phone, bob_laptop, *others):
            await listener.close()

        # Resuming with `since`: the missed notifications arrive first, in order.
        since = created["position"] - 1
        resumed = Listener(server.base, bob["access_token"], since=since)
        await resumed.connect()
        names = [e for e, _ in resumed.events if e.startswith("notification:")]
        assert names[:2] == ["notification:created", "notification:read"]
        assert names.count("notification:created") == 3
        assert names[-1] == "notification:batch"
        await resumed.close()
        await http.close()

    asyncio.run(asyncio.wait_for(scenario(), 120))
