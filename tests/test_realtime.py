"""Socket.IO against a real `worksync serve` on a loopback port, with the real client: who
receives what, refused tokens, resume after a disconnect, and membership changes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import jwt
import pytest
import socketio

from application.config import DEFAULT_JWT_SECRET
from tests.support.databases import drop_database, recreate_database
from tests.support.realtime import Http, Listener, Server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(template_db: str) -> Iterator[Server]:
    name = f"worksync_rt_{uuid.uuid4().hex[:10]}"
    process = Server(recreate_database(name, template_db))
    yield process
    process.stop()
    drop_database(name)


def run(scenario) -> None:
    asyncio.run(asyncio.wait_for(scenario, 120))


def test_a_card_move_reaches_members_of_the_workspace_and_no_one_else(server):
    async def scenario() -> None:
        http = Http(server.base)
        a, b, c = [await http.register(n) for n in "ABC"]
        workspace = await http.workspace(a, b)
        await http.workspace(c)  # C has a workspace of their own
        columns, card = await http.board(a, workspace)
        bee = Listener(server.base, b["access_token"], workspaces=[workspace])
        sea = Listener(server.base, c["access_token"], workspaces=[workspace])
        assert (await bee.connect())["workspaces"] == [workspace]
        ready = await sea.connect()
        assert ready["workspaces"] == []
        assert ready["denied"] == [workspace]
        assert (await sea.call("workspace:join", {"workspace_id": workspace}))["ok"] is False

        await http.move(a, card, columns[1])
        moved = await bee.wait_for(lambda: bee.named("kanban:card:moved"))
        assert moved, bee.received
        event = moved[0]
        assert event["event"] == "kanban:card:moved"
        assert event["resource"] == {"type": "card", "id": card}
        assert event["actor_id"] == a["id"]
        assert event["workspace_id"] == workspace
        assert event["data"]["column_id"] == columns[1]
        assert event["data"]["from_column_id"] == columns[0]
        assert event["position"] > ready["position"]
        await asyncio.sleep(0.5)
        assert sea.events == []  # nothing of the workspace reached the outsider
        for listener in (bee, sea):
            await listener.close()
        await http.close()

    run(scenario())


def test_a_bad_or_expired_token_is_refused(server):
    async def scenario() -> None:
        http = Http(server.base)
        user = await http.register()
        now = int(time.time())
        expired = jwt.encode(
            {"sub": user["id"], "type": "access", "iat": now - 1000, "exp": now - 10},
            DEFAULT_JWT_SECRET,
            algorithm="HS256",
        )
        for token in ("not-a-token", expired, user["refresh_token"]):
            refused = Listener(server.base, token)
            with pytest.raises(socketio.exceptions.ConnectionError):
                await refused.connect(timeout=5)
        await http.request(
            "POST", "/auth/logout", user, json={"refresh_token": user["refresh_token"]}
        )
        ended = Listener(server.base, user["access_token"])
        with pytest.raises(socketio.exceptions.ConnectionError):
            await ended.connect(timeout=5)
        await http.close()

    run(scenario())


def test_resume_delivers_exactly_the_events_missed_while_disconnected_in_order(server):
    async def scenario() -> None:
        http = Http(server.base)
        a, b = await http.register("A"), await http.register("B")
        workspace = await http.workspace(a, b)
        columns, card = await http.board(a, workspace)
        first = Listener(server.base, b["access_token"], workspaces=[workspace])
        await first.connect()
        await http.move(a, card, columns[1])
        await first.wait_for(lambda: first.named("kanban:card:moved"))
        last_seen = first.positions[-1]
        await first.close()

        for i in range(50):
            await http.move(a, card, columns[i % 2])

        again = Listener(server.base, b["access_token"], workspaces=[workspace], since=last_seen)
        ready = await again.connect()
        names = [e for e, _ in again.events]
        assert names == ["kanban:card:moved"] * 50
        positions = again.positions
        assert positions == sorted(set(positions))
        assert positions[0] > last_seen
        assert ready["position"] >= positions[-1]
        assert [d["data"]["column_id"] for d in again.named("kanban:card:moved")] == [
            columns[i % 2] for i in range(50)
        ]
        await http.move(a, card, columns[0])  # and then live
        await again.wait_for(lambda: len(again.events) == 51)
        assert again.positions[-1] > positions[-1]
        assert len(again.events) == 51
        await again.close()
        await http.close()

    run(scenario())


def test_resuming_while_events_keep_coming_loses_and_repeats_nothing(server):
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
        for _ in range(6):
            await asyncio.sleep(0.4)
            since = witness.positions[-min(len(witness.positions), 15)]
            listener = Listener(server.base, b["access_token"], workspaces=[workspace], since=since)
            await listener.connect()
            resumed.append((since, listener))
            await asyncio.sleep(0.2)
        stop.set()
        moves = await mover
        assert await witness.wait_for(lambda: len(witness.named("kanban:card:moved")) >= moves)
        final = witness.positions[-1]
        assert witness.positions == sorted(set(witness.positions))
        for since, listener in resumed:
            await listener.wait_for(lambda lis=listener: lis.positions[-1:] == [final])
            expected = [p for p in witness.positions if p > since]
            assert listener.positions == expected
            await listener.close()
        await witness.close()
        await http.close()

    run(scenario())


def test_a_removed_member_stops_receiving_and_cannot_rejoin(server):
    async def scenario() -> None:
        http = Http(server.base)
        a, b = await http.register("A"), await http.register("B")
        workspace = await http.workspace(a, b)
        columns, card = await http.board(a, workspace)
        bee = Listener(server.base, b["access_token"], workspaces=[workspace])
        await bee.connect()
        await http.remove_member(a, workspace, b)
        removed = await bee.wait_for(lambda: bee.named("workspace:member:removed"))
        assert removed[0]["data"]["user_id"] == b["id"]
        await http.move(a, card, columns[1])
        await asyncio.sleep(0.5)
        assert bee.named("kanban:card:moved") == []
        answer = await bee.call("workspace:join", {"workspace_id": workspace})
        assert answer == {"ok": False, "error": "workspace not found"}
        await http.move(a, card, columns[0])
        await asyncio.sleep(0.5)
        assert bee.named("kanban:card:moved") == []
        await bee.close()
        # Resuming from the start: the workspace is refused; only what was addressed to B
        # personally (user:<id>) comes back: the membership, and B's notification of it.
        again = Listener(server.base, b["access_token"], workspaces=[workspace], since=0)
        assert (await again.connect())["denied"] == [workspace]
        names = [e for e, _ in again.events]
        assert [e for e in names if not e.startswith("notification:")] == [
            "workspace:member:added",
            "workspace:member:removed",
        ]
        assert [e for e in names if e.startswith("notification:")] == ["notification:created"]
        await again.close()
        await http.close()

    run(scenario())


def test_an_added_member_is_told_and_may_then_join(server):
    async def scenario() -> None:
        http = Http(server.base)
        a, b = await http.register("A"), await http.register("B")
        workspace = await http.workspace(a)
        columns, card = await http.board(a, workspace)
        bee = Listener(server.base, b["access_token"])
        await bee.connect()
        await http.add_member(a, workspace, b)
        added = await bee.wait_for(lambda: bee.named("workspace:member:added"))
        assert added[0]["workspace_id"] == workspace  # reached B through user:<id>
        answer = await bee.call("workspace:join", {"workspace_id": workspace})
        assert answer["ok"] is True
        await http.move(a, card, columns[1])
        assert await bee.wait_for(lambda: bee.named("kanban:card:moved"))
        assert (await bee.call("workspace:leave", {"workspace_id": workspace}))["ok"]
        await http.move(a, card, columns[0])
        await asyncio.sleep(0.5)
        assert len(bee.named("kanban:card:moved")) == 1
        await bee.close()
        await http.close()

    run(scenario())


@pytest.fixture(scope="module")
def short_login_server(template_db: str) -> Iterator[Server]:
    """Access tokens live 4 s; logins are checked every 0.3 s."""
    name = f"worksync_rt_{uuid.uuid4().hex[:10]}"
    env = {"JWT_EXPIRES_IN": "4", "REALTIME_AUTH_CHECK_SECONDS": "0.3"}
    process = Server(recreate_database(name, template_db), extra_env=env)
    yield process
    process.stop()
    drop_database(name)


def test_a_socket_is_cut_off_when_its_login_ends_or_its_token_expires(short_login_server):
    base = short_login_server.base

    async def scenario() -> None:
        http = Http(base)
        leaving, staying = await http.register(), await http.register()
        left = Listener(base, leaving["access_token"])
        stays = Listener(base, staying["access_token"])
        await left.connect(timeout=5)
        await stays.connect(timeout=5)
        await http.request(
            "POST", "/auth/logout", leaving, json={"refresh_token": leaving["refresh_token"]}
        )
        assert await left.wait_for(lambda: left.named("realtime:unauthorized"), timeout=3)
        assert left.named("realtime:unauthorized") == [{"reason": "session ended"}]
        assert await left.wait_for(lambda: not left.client.connected, timeout=3)
        assert stays.client.connected
        assert not stays.named("realtime:unauthorized")

        # The other login's token expires 4 s after it was issued: the socket goes with it.
        assert await stays.wait_for(lambda: stays.named("realtime:unauthorized"), timeout=8)
        assert stays.named("realtime:unauthorized") == [{"reason": "access token expired"}]
        assert await stays.wait_for(lambda: not stays.client.connected, timeout=3)
        await http.close()

    run(scenario())
