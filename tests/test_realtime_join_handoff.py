"""Catching up a workspace joined with ``since`` on a live socket (no I/O: a scripted log):
its missed events in order and once, before its live ones, whatever else the socket is doing."""

from __future__ import annotations

import asyncio

from interfaces.realtime.log import Delivery
from tests.support.scripted_log import ROOM, ScriptedLog, positions, subscriber

V = "w2"


def event(position: int, *rooms: str, **extra) -> Delivery:
    return Delivery(
        position, "kanban:card:moved", frozenset(rooms), {"position": position}, **extra
    )


def scripted(*events: Delivery) -> ScriptedLog:
    log = ScriptedLog(0)
    for e in events:
        log.commit(e)
    return log


def in_v(d: Delivery) -> bool:
    return f"workspace:{V}" in d.rooms


async def settle(s) -> list[int]:
    if s._replay is not None:
        await s._replay
    return await positions(s)


def test_a_joined_workspace_gets_its_missed_events_once_in_order_then_live():
    async def scenario() -> None:
        room_v = f"workspace:{V}"
        log = scripted(*(event(p, ROOM if p % 2 else room_v) for p in range(1, 11)))
        s = subscriber(log)  # follows W from the start
        await s.replay()
        assert await positions(s) == [1, 3, 5, 7, 9]
        s.follow(V, since=4)
        live = [log.commit(event(p, room_v)) for p in (11, 12)]
        for d in live:
            s.offer(d)  # published while the catch-up runs: wait in pending
        assert await settle(s) == [1, 3, 5, 7, 9, 6, 8, 10, 11, 12]
        s.offer(event(13, ROOM))
        assert await positions(s) == [1, 3, 5, 7, 9, 6, 8, 10, 11, 12, 13]

    asyncio.run(scenario())


def test_a_join_during_the_connect_replay_loses_and_repeats_nothing():
    async def scenario() -> None:
        room_v = f"workspace:{V}"
        n = 1200  # three reads
        log = scripted(*(event(p, ROOM if p % 3 else room_v) for p in range(1, n + 1)))
        s = subscriber(log)
        log.during_read.append(lambda: s.follow(V, since=0))
        log.during_read.append(lambda: s.offer(log.commit(event(n + 1, room_v))))
        await s.replay()
        sent = await settle(s)
        assert sorted(sent) == list(range(1, n + 2))  # everything once
        v = [p for p in sent if p % 3 == 0 or p == n + 1]
        assert v == sorted(v)  # the joined workspace in order
        assert [p for p in sent if p % 3 and p <= n] == [p for p in range(1, n + 1) if p % 3]

    asyncio.run(scenario())


def test_what_the_socket_already_received_another_way_is_not_repeated():
    async def scenario() -> None:
        room_v = f"workspace:{V}"
        log = scripted(event(1, room_v), event(2, room_v, "user:me"), event(3, room_v))
        s = subscriber(log, cursor=1, workspaces=())  # connected after 1; 2 came as theirs
        await s.replay()
        assert await positions(s) == [2]
        s.follow(V, since=0)
        assert await settle(s) == [2, 1, 3]
        s.follow(V, since=0)  # joined again: nothing new
        s.unfollow(V)
        s.offer(log.commit(event(4, room_v)))
        s.follow(V, since=0)  # back: only what came while away
        assert await settle(s) == [2, 1, 3, 4]

    asyncio.run(scenario())


def test_a_removal_in_the_caught_up_range_ends_the_workspace():
    async def scenario() -> None:
        room_v = f"workspace:{V}"
        log = scripted(
            event(1, room_v),
            event(2, room_v, revoke=(V, "me")),  # after the join's membership check
            event(3, room_v),
            event(4, room_v, grant=(V, "me")),
            event(5, room_v),
            event(6, room_v, revoke=(V, "me")),
            event(7, room_v),
        )
        s = subscriber(log, cursor=7, workspaces=())
        s.replaying = False
        s.follow(V, since=0)
        assert await settle(s) == [1, 2, 4, 5, 6]
        assert room_v not in s.rooms
        s.offer(log.commit(event(8, room_v)))
        assert await positions(s) == [1, 2, 4, 5, 6]

    asyncio.run(scenario())


def test_leaving_before_the_catch_up_runs_sends_nothing_and_since_ahead_skips_the_seen():
    async def scenario() -> None:
        room_v = f"workspace:{V}"
        log = scripted(*(event(p, room_v) for p in range(1, 4)))
        s = subscriber(log, cursor=3, workspaces=())
        s.replaying = False
        s.follow(V, since=0)
        s.unfollow(V)
        assert await settle(s) == []
        assert room_v not in s.rooms
        assert not s.joins
        s.follow(V, since=5)  # the client saw up to 5 elsewhere
        for p in range(4, 8):
            s.offer(log.commit(event(p, room_v)))
        assert await positions(s) == [6, 7]

    asyncio.run(scenario())
