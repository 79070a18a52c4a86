"""Resuming a workspace joined after connecting: `workspace:join {workspace_id, since}`, a
`since` in `auth` for every workspace joined, `workspace_id` in `auth` (real server, real
client)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from tests.support.databases import drop_database, recreate_database
from tests.support.realtime import Http, Listener, Server

pytestmark = pytest.mark.slow
MOVED = "kanban:card:moved"


@pytest.fixture(scope="module")
def server(template_db: str) -> Iterator[Server]:
    name = f"worksync_rt_{uuid.uuid4().hex[:10]}"
    process = Server(recreate_database(name, template_db))
    yield process
    process.stop()
    drop_database(name)


def run(scenario) -> None:
    asyncio.run(asyncio.wait_for(scenario, 120))


async def resume(base: str, token: str, form: str, workspace: str, since: int) -> Listener:
    """Connect and follow ``workspace`` from ``since``, the way ``form`` says."""
    listener = Listener(base, token, since=since)
    if form == "auth workspace_id":
        listener.auth["workspace_id"] = workspace
    await listener.connect()
    if form == "join since":
        ack = await listener.call("workspace:join", {"workspace_id": workspace, "since": since})
        assert ack["ok"] is True, ack
    elif form == "auth since":
        ack = await listener.call("workspace:join", {"workspace_id": workspace})
        assert ack["ok"] is True, ack
    return listener


FORMS = ["join since", "auth since", "auth workspace_id"]


@pytest.mark.parametrize("form", FORMS)
def test_a_workspace_joined_with_since_gets_what_was_missed_in_order_then_live(server, form):
    async def scenario() -> None:
        http = Http(server.base)
        a, b = await http.register("A"), await http.register("B")
        workspace = await http.workspace(a, b)
        columns, card = await http.board(a, workspace)
        first = Listener(server.base, b["access_token"], workspaces=[workspace])
        await first.connect()
        await http.move(a, card, columns[1])
        await first.wait_for(lambda: first.named(MOVED))
        last_seen = first.positions[-1]
        await first.close()
        for i in range(20):
            await http.move(a, card, columns[i % 2])

        again = await resume(server.base, b["access_token"], form, workspace, last_seen)
        await again.wait_for(lambda: len(again.events) >= 20)
        await asyncio.sleep(0.3)  # nothing more, nothing twice
        assert [e for e, _ in again.events] == [MOVED] * 20
        assert again.positions == sorted(set(again.positions))
        assert again.positions[0] > last_seen
        assert [d["data"]["column_id"] for d in again.named(MOVED)] == [
            columns[i % 2] for i in range(20)
        ]
        await http.move(a, card, columns[0])  # and then live
        await again.wait_for(lambda: len(again.events) == 21)
        assert len(again.events) == 21
        assert again.positions == sorted(set(again.positions))
        await again.close()
        await http.close()

    run(scenario())


def test_joining_with_since_while_events_keep_coming_loses_and_repeats_nothing(server):
    async def scenario() -> None:
        http = Http(server.base)
        a, b = await http.register("A"), await http.register("B")
        workspace = await http.workspace(a, b)
        columns, card = await http.board(a, workspace)
        witness = Listener(server.base, b["access_token"], workspaces=[workspace])
        await witness.connect()
        stop = asyncio.Event()

        async def keep_moving() -> int:
            moves = 0
            while not stop.is_set():
                await http.move(a, card, columns[(moves + 1) % 2])
                moves += 1
            return moves

        mover = asyncio.create_task(keep_moving())
        resumed = []
        for round_ in range(6):
            await asyncio.sleep(0.4)
            assert await witness.wait_for(lambda: witness.positions)  # a loaded machine is slow
            since = witness.positions[-min(len(witness.positions), 15)]
            form = FORMS[round_ % len(FORMS)]
            resumed.append(
                (since, await resume(server.base, b["access_token"], form, workspace, since))
            )
            await asyncio.sleep(0.2)
        stop.set()
        moves = await mover
        assert await witness.wait_for(lambda: len(witness.named(MOVED)) >= moves)
        final = witness.positions[-1]
        assert witness.positions == sorted(set(witness.positions))
        for since, listener in resumed:
            await listener.wait_for(lambda lis=listener: lis.positions[-1:] == [final])
            assert listener.positions == [p for p in witness.positions if p > since]
            await listener.close()
        await witness.close()
        await http.close()

    run(scenario())


def test_rejoining_with_since_repeats_nothing_already_sent_on_the_socket(server):
    async def scenario() -> None:
        http = Http(server.base)
        a, b = await http.register("A"), await http.register("B")
        workspace = await http.workspace(a, b)
        columns, card = await http.board(a, workspace)
        bee = Listener(server.base, b["access_token"], workspaces=[workspace], since=0)
        ready = await bee.connect()
        start = ready["position"]
        for i in range(3):
            await http.move(a, card, columns[(i + 1) % 2])
        await bee.wait_for(lambda: len(bee.named(MOVED)) == 3)
        join = {"workspace_id": workspace, "since": 0}
        assert (await bee.call("workspace:join", join))["ok"]  # already following: nothing new
        assert (await bee.call("workspace:leave", {"workspace_id": workspace}))["ok"]
        for i in range(4):  # missed while away
            await http.move(a, card, columns[i % 2])
        assert (await bee.call("workspace:join", join))["ok"]
        await bee.wait_for(lambda: len(bee.named(MOVED)) >= 7)
        await asyncio.sleep(0.3)
        assert len(bee.named(MOVED)) == 7
        later = [p for p in bee.positions if p > start]
        assert len(later) == len(set(later)) == 7  # the 4 missed arrive once, after the 3
        assert bee.positions[-7:] == sorted(later)
        await bee.close()
        await http.close()

    run(scenario())


def test_a_non_member_joining_with_since_is_refused_and_sent_nothing(server):
    async def scenario() -> None:
        http = Http(server.base)
        a, c = await http.register("A"), await http.register("C")
        workspace = await http.workspace(a)
        columns, card = await http.board(a, workspace)
        await http.move(a, card, columns[1])
        sea = Listener(server.base, c["access_token"], since=0)
        await sea.connect()
        answer = await sea.call("workspace:join", {"workspace_id": workspace, "since": 0})
        assert answer == {"ok": False, "error": "workspace not found"}
        bad = await sea.call("workspace:join", {"workspace_id": workspace, "since": -1})
        assert bad["ok"] is False
        other = Listener(server.base, c["access_token"], since=0)
        other.auth["workspace_id"] = workspace
        assert (await other.connect())["denied"] == [workspace]
        await http.move(a, card, columns[0])
        await asyncio.sleep(0.5)
        assert sea.events == []
        assert other.events == []
        for listener in (sea, other):
            await listener.close()
        await http.close()

    run(scenario())
