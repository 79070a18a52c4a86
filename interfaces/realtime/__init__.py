"""Real-time: every domain event pushed over Socket.IO, authorized, across processes, resumable.

- ``names``: the event-name table and routing (rooms, payload) of each domain event.
- ``log``: reading the log and encoding deliveries once per process.
- ``emitter``: the one log follower per deployment (advisory lock) that publishes events.
- ``fanout``: live events into this process's sockets; gap detection; the client managers.
- ``subscriber``: one socket's rooms, position, replay-to-live hand-over and outbox.
- ``hub``: the Socket.IO server, authentication and the join/leave handlers.
"""

from __future__ import annotations

import psycopg
import socketio
from fastapi import FastAPI

from application.config import Settings
from interfaces.realtime.emitter import LogEmitter
from interfaces.realtime.fanout import LOG_EVENT
from interfaces.realtime.hub import RealtimeHub
from interfaces.realtime.log import LogReader, log_channel

SOCKETIO_PATH = "socket.io"


def mount(app: FastAPI, settings: Settings, *, emitter: bool = True) -> socketio.ASGIApp:
    """Serve Socket.IO at /socket.io beside ``app`` (which starts the hub in its lifespan)."""
    hub = RealtimeHub(settings, emitter=emitter)
    app.state.realtime = hub
    return socketio.ASGIApp(hub.sio, other_asgi_app=app, socketio_path=SOCKETIO_PATH)


async def run_emitter(redis_url: str, database_url: str, mapper: object) -> None:
    """A dedicated emitter process (``worksync realtime``): follows the log, publishes to
    Redis, standing by while another emitter holds the lock."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        channel = await log_channel(conn)
    manager = socketio.AsyncRedisManager(
        redis_url, channel=channel, write_only=True, redis_options={"socket_connect_timeout": 2}
    )

    async def publish(message: dict, rooms: list[str]) -> None:
        await manager.emit(LOG_EVENT, message, room=rooms or None)

    await LogEmitter(database_url, LogReader(mapper), publish, elect=True).run()  # type: ignore[arg-type]


__all__ = ["RealtimeHub", "mount", "run_emitter"]
