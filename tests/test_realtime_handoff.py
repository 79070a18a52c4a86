"""The hand-over from replay to live for one socket, with live events arriving at the worst
moments: nothing lost, nothing repeated, order kept (no I/O: a scripted log)."""

from __future__ import annotations

import asyncio

from interfaces.realtime.fanout import Fanout
from interfaces.realtime.subscriber import PENDING_LIMIT, REPLAY_BATCH
from tests.support.scripted_log import ROOM, ScriptedLog, W, delivery, positions, subscriber


def test_events_committed_during_the_replay_arrive_once_and_in_order():
    async def scenario() -> None:
        n = REPLAY_BATCH + 100  # two reads
        log = ScriptedLog(n)
        s = subscriber(log)
        # While the first read is in flight, two events commit and are published live (the
        # second read has them too); while the last read is, one more does (after that
        # read's snapshot: only the live stream has it).
        log.during_read.append(lambda: [s.offer(log.commit(delivery(p))) for p in (n + 1, n + 2)])
        log.during_read.append(lambda: s.offer(log.commit(delivery(n + 3))))
        await s.replay()
        assert not s.replaying
        assert log.reads == 2
        s.offer(delivery(5))  # a lagging emitter's late copy: already sent
        s.offer(delivery(n + 4))
        assert await positions(s) == list(range(1, n + 5))

    asyncio.run(scenario())


def test_a_pending_overflow_makes_the_replay_read_the_log_again():
    async def scenario() -> None:
        log = ScriptedLog(3)
        s = subscriber(log)

        def flood() -> None:
            for p in range(4, PENDING_LIMIT + 10):
                s.offer(log.commit(delivery(p)))

        log.during_read.append(flood)
        await s.replay()
        assert await positions(s) == list(range(1, PENDING_LIMIT + 10))

    asyncio.run(scenario())


def test_a_resync_recovers_a_live_event_the_stream_lost():
    async def scenario() -> None:
        log = ScriptedLog(2)
        s = subscriber(log)
        await s.replay()
        log.commit(delivery(3))  # published, but lost on the way
        lost = log.commit(delivery(4))
        s.resync(intact=2)  # the fan-out saw 4 did not follow 2, the last it received
        s.offer(lost)
        await s._replay
        assert await positions(s) == [1, 2, 3, 4]

    asyncio.run(scenario())


def test_a_revocation_stops_the_workspace_and_a_grant_of_a_requested_one_restarts_it():
    async def scenario() -> None:
        log = ScriptedLog(0)
        for p, extra in [
            (1, {}),
            (2, {"revoke": (W, "me")}),
            (3, {}),
            (4, {"grant": (W, "me")}),
            (5, {}),
        ]:
            log.commit(delivery(p, **extra))
        s = subscriber(log)
        await s.replay()
        assert await positions(s) == [1, 2, 4, 5]  # 2 tells them they were removed; 3 is not theirs
        assert ROOM in s.rooms

    asyncio.run(scenario())


def test_the_fanout_resyncs_its_sockets_only_when_the_live_stream_breaks():
    async def scenario() -> None:
        fanout = Fanout()
        s = subscriber(ScriptedLog(0))
        s.replaying = False
        fanout.subscribers["sid"] = s
        resyncs: list[int | None] = []
        s.resync = lambda intact=None: resyncs.append(intact)  # type: ignore[method-assign]

        def message(position: int, prev: int | None, epoch: str = "e1", **extra) -> dict:
            m = delivery(position, **extra).message()
            return {**m, "epoch": epoch, "prev": prev}

        fanout.receive({"epoch": "e1", "heartbeat": True, "last": None}, [])
        fanout.receive(message(3, None), ["sid"])
        fanout.receive(message(7, 3), ["sid"])
        fanout.receive({"epoch": "e1", "heartbeat": True, "last": 7}, [])
        assert resyncs == [None]  # only the first contact (the process just subscribed)
        fanout.receive(message(12, 9), ["sid"])  # 9 was lost
        fanout.receive({"epoch": "e1", "heartbeat": True, "last": 15}, [])  # 15 too
        fanout.receive(message(20, None, epoch="e2"), ["sid"])  # a new emitter
        assert resyncs == [None, 7, 12, 15]
        assert await positions(s) == [3, 7, 12, 20]

        seq = fanout.revocation_seq
        fanout.receive(message(21, 20, epoch="e2", revoke=(W, "me")), ["sid"])
        assert fanout.revoked_since(seq, W, "me")
        assert not fanout.revoked_since(seq, W, "you")

    asyncio.run(scenario())
