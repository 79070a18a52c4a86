"""milestone:* events over Socket.IO, against a real `worksync serve` with the real client: the
spec's five events (the progress both set by hand and derived by the milestones policy from a
task moving to done) reach the workspace's members, and nobody else."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.support.databases import drop_database, recreate_database
from tests.support.realtime import Http, Listener, Server

pytestmark = pytest.mark.slow

WANTED = [
    "milestone:created",
    "milestone:updated",
    "milestone:progress:updated",  # set by hand
    "milestone:deliverable:added",
    "milestone:progress:updated",  # a task linked: the policy counts it (0 %)
    "milestone:progress:updated",  # the task done (100 %)
    "milestone:completed",
]


@pytest.fixture(scope="module")
def server(template_db: str) -> Iterator[Server]:
    name = f"worksync_rt_milestones_{uuid.uuid4().hex[:10]}"
    process = Server(recreate_database(name, template_db))
    yield process
    process.stop()
    drop_database(name)


def test_milestone_events_are_delivered_to_members_only(server):
    async def scenario() -> None:
        http = Http(server.base)
        ann, bob, eve = [await http.register(n) for n in ("Ann", "Bob", "Eve")]
        workspace = await http.workspace(ann, bob)
        project = await http.request(
            "POST", "/projects", ann, json={"workspace_id": workspace, "name": "P"}
        )
        team = Listener(server.base, bob["access_token"], workspaces=[workspace])
        stranger = Listener(server.base, eve["access_token"], workspaces=[workspace])
        for listener in (team, stranger):
            await listener.connect()

        milestone = await http.request(
            "POST",
            f"/projects/{project['id']}/milestones",
            ann,
            json={"title": "Beta", "due_date": "2030-01-31"},
        )
        path = f"/milestones/{milestone['id']}"
        await http.request("PUT", path, ann, json={"title": "Beta 2"})
        await http.request("PUT", path, ann, json={"progress": 30})
        deliverable = await http.request(
            "POST", f"{path}/deliverables", ann, json={"title": "Notes"}
        )
        task = await http.request(
            "POST",
            f"/projects/{project['id']}/tasks",
            ann,
            json={"title": "Do it", "milestone_id": milestone["id"]},
        )
        await http.request("PUT", f"/tasks/{task['id']}", ann, json={"status": "done"})
        deadline = time.monotonic() + 15
        while (await http.request("GET", path, ann))["progress"] != 100:
            assert time.monotonic() < deadline, "the policy did not derive the progress"
            await asyncio.sleep(0.05)
        await http.request("PUT", path, ann, json={"status": "completed"})

        def arrived() -> bool:
            names = [e for e, _ in team.events if e.startswith("milestone:")]
            return names == WANTED

        assert await team.wait_for(arrived), team.events
        created = team.named("milestone:created")[0]
        assert created["resource"] == {"type": "milestone", "id": milestone["id"]}
        assert created["actor_id"] == ann["id"]
        assert created["workspace_id"] == workspace
        assert created["project_id"] == project["id"]
        assert created["data"]["title"] == "Beta"
        added = team.named("milestone:deliverable:added")[0]
        assert added["resource"] == {"type": "deliverable", "id": deliverable["id"]}
        manual, linked, done = team.named("milestone:progress:updated")
        assert (manual["data"]["progress"], manual["data"]["source"]) == (30, "manual")
        assert (linked["data"]["progress"], linked["data"]["source"]) == (0, "tasks")
        assert linked["data"]["task_id"] == task["id"]
        assert done["data"]["progress"] == 100
        completed = team.named("milestone:completed")[0]
        assert completed["data"]["forced"] is False
        await asyncio.sleep(0.3)
        assert stranger.events == []
        for listener in (team, stranger):
            await listener.close()
        await http.close()

    asyncio.run(asyncio.wait_for(scenario(), 120))
