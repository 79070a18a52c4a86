"""File events over Socket.IO, against a real `worksync serve` with the real client: an
attachment on a card reaches the workspace's members as kanban:file:attached and
kanban:file:detached, nobody else."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from tests.support.databases import drop_database, files_folder, recreate_database
from tests.support.files import PNG
from tests.support.realtime import Http, Listener, Server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(template_db: str) -> Iterator[Server]:
    name = f"worksync_rt_files_{uuid.uuid4().hex[:10]}"
    process = Server(recreate_database(name, template_db), extra_env={"FILES_DIR": files_folder()})
    yield process
    process.stop()
    drop_database(name)


def test_an_attachment_on_a_card_is_pushed_to_the_workspace(server):
    async def scenario() -> None:
        http = Http(server.base)
        ann, bob, eve = [await http.register(n) for n in ("Ann", "Bob", "Eve")]
        workspace = await http.workspace(ann, bob)
        _, card = await http.board(ann, workspace)
        team = Listener(server.base, bob["access_token"], workspaces=[workspace])
        stranger = Listener(server.base, eve["access_token"], workspaces=[workspace])
        for listener in (team, stranger):
            await listener.connect()

        answer = await http.client.post(
            f"/api/v1/files/upload?workspace_id={workspace}",
            files={"file": ("plan.png", PNG, "image/png")},
            headers={"Authorization": f"Bearer {ann['access_token']}"},
        )
        assert answer.status_code == 201, answer.text
        file = answer.json()
        body = {"file_id": file["id"], "attachable_type": "card", "attachable_id": card}
        attachment = await http.request("POST", "/attachments", ann, json=body)
        await http.request("DELETE", f"/attachments/{attachment['id']}", ann)

        wanted = ["file:uploaded", "kanban:file:attached", "kanban:file:detached"]

        def arrived() -> bool:
            names = [e for e, _ in team.events if e in wanted]
            return names == wanted

        assert await team.wait_for(arrived), team.events
        created = team.named("kanban:file:attached")[0]
        assert created["resource"] == {"type": "attachment", "id": attachment["id"]}
        assert created["actor_id"] == ann["id"]
        assert created["workspace_id"] == workspace
        assert created["data"]["attachable_type"] == "card"
        assert created["data"]["attachable_id"] == card
        assert created["data"]["name"] == "plan.png"
        uploaded = team.named("file:uploaded")[0]
        assert uploaded["resource"] == {"type": "file", "id": file["id"]}
        await asyncio.sleep(0.3)
        assert stranger.events == []
        for listener in (team, stranger):
            await listener.close()
        await http.close()

    asyncio.run(asyncio.wait_for(scenario(), 120))
