"""time:* events over Socket.IO, against a real `worksync serve` with the real client: the
timer's events reach the workspace's members and the user's own room, nobody else."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from tests.support.databases import drop_database, recreate_database
from tests.support.realtime import Http, Listener, Server

pytestmark = pytest.mark.slow

TIMER_EVENTS = [
    "time:timer:started",
    "time:timer:paused",
    "time:timer:resumed",
    "time:timer:stopped",
]


@pytest.fixture(scope="module")
def server(template_db: str) -> Iterator[Server]:
    name = f"worksync_rt_time_{uuid.uuid4().hex[:10]}"
    process = Server(recreate_database(name, template_db))
    yield process
    process.stop()
    drop_database(name)


def test_timer_and_entry_events_are_delivered(server):
    async def scenario() -> None:
        http = Http(server.base)
        ann, bob, eve = [await http.register(n) for n in ("Ann", "Bob", "Eve")]
        workspace = await http.workspace(ann, bob)
        project = await http.request(
            "POST", "/projects", ann, json={"workspace_id": workspace, "name": "P"}
        )
        mine = Listener(server.base, ann["access_token"])  # no workspace: her own room only
        team = Listener(server.base, bob["access_token"], workspaces=[workspace])
        stranger = Listener(server.base, eve["access_token"], workspaces=[workspace])
        for listener in (mine, team, stranger):
            await listener.connect()

        body = {"project_id": project["id"], "description": "realtime"}
        entry = await http.request("POST", "/time-tracking/start", ann, json=body)
        for action in ("pause", "resume", "stop"):
            await http.request("PUT", f"/time-tracking/{action}", ann)
        manual = {
            **body,
            "start_time": "2024-01-02T09:00:00Z",
            "end_time": "2024-01-02T10:00:00Z",
        }
        recorded = await http.request("POST", "/time-entries", ann, json=manual)
        await http.request(
            "PUT", f"/time-entries/{recorded['id']}", ann, json={"description": "edited"}
        )

        wanted = [*TIMER_EVENTS, "time:entry:created", "time:entry:updated"]
        for listener in (mine, team):

            def arrived(listener: Listener = listener) -> bool:
                names = [e for e, _ in listener.events if e.startswith("time:")]
                return names == wanted

            assert await listener.wait_for(arrived), listener.events
        started = mine.named("time:timer:started")[0]
        assert started["resource"] == {"type": "time_entry", "id": entry["id"]}
        assert started["actor_id"] == ann["id"]
        assert started["workspace_id"] == workspace
        assert started["project_id"] == project["id"]
        assert started["data"]["user_id"] == ann["id"]
        stopped = team.named("time:timer:stopped")[0]
        assert stopped["data"]["reason"] == "stopped"
        assert stopped["position"] > started["position"]
        assert mine.named("time:entry:updated")[0]["data"]["changes"] == {"description": "edited"}
        await asyncio.sleep(0.3)
        assert stranger.events == []
        for listener in (mine, team, stranger):
            await listener.close()
        await http.close()

    asyncio.run(asyncio.wait_for(scenario(), 120))
