"""resource:* events over Socket.IO, against a real `worksync serve` with the real client:
allocations, the conflict the policy detects and its resolution by itself, and utilization
reach the workspace's members (and the allocated member's own room), never an outsider."""

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
    name = f"worksync_rt_res_{uuid.uuid4().hex[:10]}"
    process = Server(recreate_database(name, template_db))
    yield process
    process.stop()
    drop_database(name)


def test_allocation_conflict_and_utilization_events_are_delivered(server):
    async def scenario() -> None:
        http = Http(server.base)
        ann, bob, eve = [await http.register(n) for n in ("Ann", "Bob", "Eve")]
        workspace = await http.workspace(ann, bob)
        project = await http.request(
            "POST", "/projects", ann, json={"workspace_id": workspace, "name": "P"}
        )
        await http.request(
            "POST", f"/workspaces/{workspace}/team-members", ann, json={"user_id": bob["id"]}
        )
        team = Listener(server.base, ann["access_token"], workspaces=[workspace])
        own = Listener(server.base, bob["access_token"])  # no workspace: his own room only
        stranger = Listener(server.base, eve["access_token"], workspaces=[workspace])
        for listener in (team, own, stranger):
            await listener.connect()

        def allocation(hours: int) -> dict:
            return {
                "project_id": project["id"],
                "user_id": bob["id"],
                "hours_per_week": hours,
                "start_date": "2027-01-04",
                "end_date": "2027-01-10",
            }

        path = f"/workspaces/{workspace}/allocations"
        first = await http.request("POST", path, ann, json=allocation(30))
        second = await http.request("POST", path, ann, json=allocation(20))
        await http.request("PUT", f"/allocations/{second['id']}", ann, json={"hours_per_week": 5})

        wanted = [
            "resource:allocation:created",
            "resource:utilization:updated",
            "resource:allocation:created",
            "resource:conflict:detected",
            "resource:utilization:updated",
            "resource:allocation:updated",
            "resource:conflict:resolved",
            "resource:utilization:updated",
        ]
        for listener in (team, own):

            def arrived(listener: Listener = listener) -> bool:
                names = [
                    e
                    for e, _ in listener.events
                    if e.startswith(("resource:allocation", "resource:conflict"))
                ]
                return names == [w for w in wanted if "utilization" not in w]

            assert await listener.wait_for(arrived), listener.events

        detected = team.named("resource:conflict:detected")[0]
        assert detected["workspace_id"] == workspace
        assert detected["resource"]["type"] == "conflict"
        assert sorted(detected["data"]["allocation_ids"]) == sorted([first["id"], second["id"]])
        assert detected["data"]["percentage"] == "25.00"
        resolved = own.named("resource:conflict:resolved")[0]
        assert resolved["resource"] == detected["resource"]
        assert resolved["data"]["reason"] == "allocation changed"
        assert resolved["position"] > detected["position"]
        utilization = await team.wait_for(lambda: team.named("resource:utilization:updated"))
        assert utilization[0]["data"]["weeks"][0]["period_start"] == "2027-01-04"
        await asyncio.sleep(0.3)
        assert stranger.events == []
        assert own.named("resource:utilization:updated") == []  # workspace room only
        for listener in (team, own, stranger):
            await listener.close()
        await http.close()

    asyncio.run(asyncio.wait_for(scenario(), 120))
