"""A project started from a template is live like any other, against a real `worksync serve`
with the real Socket.IO client: `project:created`, its milestones, tasks and board reach the
workspace's members (and `template:used`), in the order of the log, and nobody else."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from tests.support.databases import drop_database, recreate_database
from tests.support.realtime import Http, Listener, Server
from tests.support.templates import release_phases

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(template_db: str) -> Iterator[Server]:
    name = f"worksync_rt_templates_{uuid.uuid4().hex[:10]}"
    process = Server(recreate_database(name, template_db))
    yield process
    process.stop()
    drop_database(name)


def test_a_project_from_a_template_reaches_the_workspace_live(server):
    async def scenario() -> None:
        http = Http(server.base)
        ann, bob, eve = [await http.register(n) for n in ("Ann", "Bob", "Eve")]
        workspace = await http.workspace(ann, bob)
        template = await http.request(
            "POST",
            "/templates",
            ann,
            json={"workspace_id": workspace, "name": "Release", "phases": release_phases()},
        )
        team = Listener(server.base, bob["access_token"], workspaces=[workspace])
        stranger = Listener(server.base, eve["access_token"], workspaces=[workspace])
        for listener in (team, stranger):
            await listener.connect()
        made = await http.request(
            "POST",
            f"/templates/{template['id']}/use",
            ann,
            json={
                "workspace_id": workspace,
                "project_name": "Live",
                "start_date": "2030-01-04",
                "create_board": True,
            },
        )

        def arrived() -> bool:
            names = [e for e, _ in team.events]
            return "template:used" in names and "template:usage:updated" in names

        assert await team.wait_for(arrived), team.events
        names = [e for e, _ in team.events]
        assert names[0] == "project:created"
        assert names.count("milestone:created") == 3
        assert names.count("task:created") == 5
        assert "kanban:board:created" in names
        created = team.named("project:created")[0]
        assert created["resource"] == {"type": "project", "id": made["project_id"]}
        assert created["workspace_id"] == workspace
        assert created["actor_id"] == ann["id"]
        assert created["data"]["name"] == "Live"
        used = team.named("template:used")[0]
        assert used["resource"] == {"type": "template", "id": template["id"]}
        assert used["project_id"] == made["project_id"]
        assert team.named("template:usage:updated")[0]["data"]["usage_count"] == 1
        positions = team.positions
        assert positions == sorted(positions)
        await asyncio.sleep(0.3)
        assert stranger.events == []
        for listener in (team, stranger):
            await listener.close()
        await http.close()

    asyncio.run(asyncio.wait_for(scenario(), 120))
