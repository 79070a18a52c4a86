"""Socket.IO across processes sharing Redis: fan-out, one emitter with failover, a dedicated
`worksync realtime` process, and Redis going away and coming back."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import psycopg
import pytest
import redis

from interfaces.realtime.emitter import LOCK_KEY
from tests.support.realtime import Http, Listener, Server, free_port

pytestmark = pytest.mark.slow
REDIS_URL = os.environ.get("WORKSYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def run(scenario) -> None:
    asyncio.run(asyncio.wait_for(scenario, 180))


@pytest.fixture
def shared_redis() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        pytest.skip("no Redis at " + REDIS_URL)
    return REDIS_URL


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def emitter_lock_held(database_url: str) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (LOCK_KEY & 0xFFFFFFFF,),
        ).fetchone()
    return bool(row and row[0])


def wait_until(condition, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


async def moves_reach(listener: Listener, count: int, timeout: float = 30) -> list[dict]:
    moved = await listener.wait_for(
        lambda: len(listener.named("kanban:card:moved")) >= count or None, timeout
    )
    assert moved, f"{len(listener.named('kanban:card:moved'))} of {count} moves arrived"
    assert listener.positions == sorted(set(listener.positions)), "out of order or repeated"
    return listener.named("kanban:card:moved")


async def setup(http: Http) -> tuple[dict, dict, str, list[str], str]:
    a, b = await http.register("A"), await http.register("B")
    workspace = await http.workspace(a, b)
    columns, card = await http.board(a, workspace)
    return a, b, workspace, columns, card


def test_a_command_on_one_process_reaches_a_client_on_another(
    fresh_database_url, shared_redis, servers
):
    servers.append(Server(fresh_database_url, redis_url=shared_redis))
    servers.append(Server(fresh_database_url, redis_url=shared_redis, projector=False))
    one, two = servers

    async def scenario() -> None:
        http = Http(one.base)
        a, b, workspace, columns, card = await setup(http)
        listeners = [
            Listener(s.base, b["access_token"], workspaces=[workspace]) for s in (one, two)
        ]
        for listener in listeners:
            await listener.connect()
        for i in range(5):
            await http.move(a, card, columns[(i + 1) % 2])
        for listener in listeners:
            assert len(await moves_reach(listener, 5)) == 5
        assert listeners[0].positions[-5:] == listeners[1].positions[-5:]
        for listener in listeners:
            await listener.close()
        await http.close()

    run(scenario())


def test_when_the_emitting_process_dies_another_takes_over_and_nothing_is_lost(
    fresh_database_url, shared_redis, servers
):
    servers.append(Server(fresh_database_url, redis_url=shared_redis))
    assert wait_until(lambda: emitter_lock_held(fresh_database_url))
    servers.append(Server(fresh_database_url, redis_url=shared_redis))
    first, second = servers

    async def scenario() -> None:
        http = Http(second.base)
        a, b, workspace, columns, card = await setup(http)
        listener = Listener(second.base, b["access_token"], workspaces=[workspace])
        await listener.connect()
        await http.move(a, card, columns[1])
        await moves_reach(listener, 1)
        first.kill()  # the emitter: its lock goes with its connection
        for i in range(10):  # some before the standby is elected, some after
            await http.move(a, card, columns[i % 2])
            await asyncio.sleep(0.1)
        moved = await moves_reach(listener, 11)
        assert len(moved) == 11
        await listener.close()
        await http.close()

    run(scenario())


def test_a_dedicated_realtime_process_emits_for_the_api_processes(
    fresh_database_url, shared_redis, servers
):
    servers.append(Server(fresh_database_url, redis_url=shared_redis, emitter=False))
    env = {**os.environ, "DATABASE_URL": fresh_database_url, "REDIS_URL": shared_redis}
    emitter = subprocess.Popen(
        [sys.executable, "-c", "from interfaces.cli import main; main()", "realtime"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(lambda: emitter_lock_held(fresh_database_url))

        async def scenario() -> None:
            http = Http(servers[0].base)
            a, b, workspace, columns, card = await setup(http)
            listener = Listener(servers[0].base, b["access_token"], workspaces=[workspace])
            await listener.connect()
            await http.move(a, card, columns[1])
            await moves_reach(listener, 1)
            await listener.close()
            await http.close()

        run(scenario())
    finally:
        emitter.terminate()
        emitter.wait(10)


def test_with_redis_unreachable_commands_succeed_and_local_clients_still_hear(
    fresh_database_url, servers
):
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    servers.append(Server(fresh_database_url, redis_url=dead))

    async def scenario() -> None:
        http = Http(servers[0].base)
        a, b, workspace, columns, card = await setup(http)
        listener = Listener(servers[0].base, b["access_token"], workspaces=[workspace])
        await listener.connect()
        for i in range(5):
            await http.move(a, card, columns[(i + 1) % 2])  # asserts 2xx
        assert len(await moves_reach(listener, 5)) == 5
        await listener.close()
        await http.close()

    run(scenario())


class OwnRedis:
    """A redis-server of this test's own, which it can stop and start on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            ["redis-server", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        assert wait_until(lambda: _pings(client), 10), "redis-server did not start"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def kill(self) -> None:
        """As if the host went away: no goodbye to the clients."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _pings(client: redis.Redis) -> bool:
    with contextlib.suppress(redis.RedisError):
        return bool(client.ping())
    return False


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_after_redis_restarts_live_delivery_resumes_and_fills_the_gap(fresh_database_url, servers):
    own = OwnRedis()
    own.start()
    try:
        servers.append(Server(fresh_database_url, redis_url=own.url))
        assert wait_until(lambda: emitter_lock_held(fresh_database_url))
        servers.append(Server(fresh_database_url, redis_url=own.url, emitter=False))
        emitting, other = servers

        async def scenario() -> None:
            http = Http(emitting.base)
            a, b, workspace, columns, card = await setup(http)
            listener = Listener(other.base, b["access_token"], workspaces=[workspace])
            await listener.connect()
            await http.move(a, card, columns[1])
            await moves_reach(listener, 1)
            own.stop()
            for i in range(5):  # commands succeed while Redis is down
                await http.move(a, card, columns[i % 2])
            await asyncio.sleep(1)
            assert len(listener.named("kanban:card:moved")) == 1  # nothing could get across
            own.start()
            moved = await moves_reach(listener, 6, timeout=60)  # the same socket, healed
            assert len(moved) == 6
            await http.move(a, card, columns[1])
            assert len(await moves_reach(listener, 7)) == 7
            await listener.close()
            await http.close()

        run(scenario())
    finally:
        for server in servers:
            server.stop()
        servers.clear()
        own.stop()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_a_quiet_process_hears_again_within_seconds_of_redis_returning(fresh_database_url, servers):
    """The process without the emitter publishes nothing, so only its pub/sub listener can
    notice Redis is back: it must reconnect within about a second, however long the outage
    was, and again after a second outage (no growing backoff)."""
    own = OwnRedis()
    own.start()
    try:
        servers.append(Server(fresh_database_url, redis_url=own.url))
        assert wait_until(lambda: emitter_lock_held(fresh_database_url))
        servers.append(Server(fresh_database_url, redis_url=own.url, emitter=False))
        emitting, quiet = servers

        async def scenario() -> list[float]:
            http = Http(emitting.base)
            a, b, workspace, columns, card = await setup(http)
            listener = Listener(quiet.base, b["access_token"], workspaces=[workspace])
            await listener.connect()
            await http.move(a, card, columns[1])
            await moves_reach(listener, 1)
            delays = []
            for outage, moved in ((8, 2), (8, 3)):
                own.kill()
                await asyncio.sleep(outage)  # nothing happens meanwhile: backoff grows
                own.start()
                back = time.monotonic()
                await http.move(a, card, columns[moved % 2])
                await moves_reach(listener, moved, timeout=90)
                delays.append(time.monotonic() - back)
            await listener.close()
            await http.close()
            return delays

        delays = asyncio.run(asyncio.wait_for(scenario(), 240))
        print(f"heard again {delays[0]:.1f} s and {delays[1]:.1f} s after Redis returned")
        assert max(delays) < 3, delays
    finally:
        for server in servers:
            server.stop()
        servers.clear()
        own.stop()
