"""The Socket.IO server: authentication on connect, rooms, and each socket's life.

Connect with the access token (``auth={"token": ...}`` or ``?token=``), optionally ``since``
(the last position the client saw) and ``workspaces`` (ids to follow; ``workspace_id`` counts
as one more). A bad or expired token, or an ended session, is refused. The socket joins
``user:<id>`` and each requested workspace the user is a member of (checked on the write
model, so it is current); it first receives every event after ``since`` that it may see, in
order, then ``realtime:ready`` (its position, the workspaces followed and those refused), then
live events. ``workspace:join`` (``{workspace_id, since}``) follows a workspace later: with a
``since`` (given to the join, else the connection's), the workspace's events after it that the
socket was not sent come first, in order, then its live events; without, from that moment on.
``workspace:leave`` stops following one.

A socket lives as long as its login: every ``REALTIME_AUTH_CHECK_SECONDS`` (15) the server
sends ``realtime:unauthorized`` (``{"reason": ...}``) to each socket whose access token has
expired or whose login ended (logout, password change, revoked session, deleted or
deactivated account) and disconnects it; the client reconnects with a fresh token and
``since`` = the last position it saw, and misses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs
from uuid import UUID

import socketio
import structlog

from application.access import role_in
from application.authorization import Action, allowed
from application.config import Settings
from application.errors import Unauthorized
from interfaces import metrics
from interfaces.realtime.emitter import LogEmitter
from interfaces.realtime.fanout import LOG_EVENT, Fanout, RedisFanoutManager, make_manager
from interfaces.realtime.log import Delivery, LogReader, log_channel, log_head
from interfaces.realtime.subscriber import Subscriber
from projections import identity_queries

if TYPE_CHECKING:
    from interfaces.bootstrap import Container

log = structlog.get_logger("realtime")
NS = "/"
UNAUTHORIZED = "realtime:unauthorized"


@dataclass
class ConnectRequest:
    token: str | None
    since: int | None
    workspaces: list[str]


def position(value: Any) -> int | None:
    """A ``since``: absent, or a log position (an integer >= 0); ValueError otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or int(value) < 0:
        raise ValueError("since must be a position (an integer >= 0)")
    return int(value)


def connect_request(environ: dict[str, Any], auth: Any) -> ConnectRequest:
    """Token, since and workspaces from the auth payload, else from the query string."""
    query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    auth = auth if isinstance(auth, dict) else {}

    def pick(key: str) -> Any:
        return auth[key] if auth.get(key) is not None else query.get(key)

    token = pick("token")
    if isinstance(token, str) and token.lower().startswith("bearer "):
        token = token[7:]
    workspaces = pick("workspaces") or []
    if isinstance(workspaces, str):
        workspaces = [w for w in workspaces.split(",") if w]
    try:
        if pick("workspace_id"):  # one workspace, the shape of workspace:join's payload
            workspaces = [*workspaces, pick("workspace_id")]
        ids = [str(UUID(str(w))) for w in workspaces]
        since = position(pick("since"))
    except (TypeError, ValueError):
        raise socketio.exceptions.ConnectionRefusedError(
            "bad request: since is a position (>= 0), workspaces are ids"
        ) from None
    return ConnectRequest(token if isinstance(token, str) else None, since, ids)


class RealtimeHub:
    def __init__(self, settings: Settings, *, emitter: bool = True) -> None:
        self.settings = settings
        self.run_emitter = emitter or not settings.redis_url  # alone, a process emits itself
        self.fanout = Fanout()
        self.manager = make_manager(settings.redis_url, channel="worksync:realtime")
        self.manager.fanout = self.fanout
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            client_manager=self.manager,
            cors_allowed_origins=settings.cors_origins or None,
        )
        self.container: Container | None = None
        self.reader: LogReader | None = None
        self.emitter: LogEmitter | None = None
        self._tasks: dict[str, asyncio.Task] = {}
        self._logins: dict[str, tuple[UUID, UUID | None, int]] = {}  # sid -> user, session, exp
        self._background: list[asyncio.Task] = []
        self.sio.on("connect", self.on_connect)
        self.sio.on("disconnect", self.on_disconnect)
        self.sio.on("workspace:join", self.on_join)
        self.sio.on("workspace:leave", self.on_leave)

    async def start(self, container: Container) -> None:
        self.container = container
        self.reader = self.fanout.reader = LogReader(container.store.mapper)
        async with container.pool.connection() as conn:
            self.manager.channel = await log_channel(conn)
        if not self.sio.manager_initialized:  # subscribe now, not at the first connection
            self.sio.manager_initialized = True
            self.manager.initialize()
        if self.run_emitter:
            self.emitter = LogEmitter(
                container.database_url,
                self.reader,
                self.publish,
                elect=isinstance(self.manager, RedisFanoutManager),
            )
            self._background.append(asyncio.create_task(self.emitter.run(), name="rt-emitter"))
        self._background.append(asyncio.create_task(self._check_logins(), name="rt-logins"))

    async def stop(self) -> None:
        for sid in list(self.fanout.subscribers):
            await self._forget(sid)
        tasks = [*self._background, *self._tasks.values()]
        thread = getattr(self.manager, "thread", None)
        if isinstance(thread, asyncio.Future):
            tasks.append(thread)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def publish(self, message: dict[str, Any], rooms: list[str]) -> None:
        await self.sio.emit(LOG_EVENT, message, room=rooms or None)

    # Handlers -----------------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        try:
            await self._connect(sid, environ, auth)
        except socketio.exceptions.ConnectionRefusedError:
            metrics.SOCKET_CONNECTS.labels("refused").inc()
            raise
        metrics.SOCKET_CONNECTS.labels("accepted").inc()
        metrics.SOCKETS.inc()

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        container = self._container()
        request = connect_request(environ, auth)
        if not request.token:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized: missing token")
        try:
            claims = container.identity.tokens.verify(request.token)
        except Unauthorized as e:
            raise socketio.exceptions.ConnectionRefusedError(f"unauthorized: {e}") from None
        async with container.pool.connection() as conn:
            user = await identity_queries.get_user(conn, claims.user_id, claims.session_id)
            head = await log_head(conn)  # before the checks: a later removal is replayed
        if user is None or not user["is_active"]:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized: session ended")
        user_id = str(claims.user_id)
        granted, denied = [], []
        for workspace_id in dict.fromkeys(request.workspaces):
            member = await self._may_follow(workspace_id, user_id)
            (granted if member else denied).append(workspace_id)
        cursor = head if request.since is None else min(request.since, head)
        subscriber = Subscriber(
            sid,
            user_id,
            set(granted),
            set(granted),
            cursor,
            send=lambda d: self._send(sid, d),
            rooms_changed=self._rooms_changed,
            connection=container.pool.connection,
            reader=self._reader(),
        )
        subscriber.since = None if request.since is None else cursor
        self.fanout.subscribers[sid] = subscriber
        self._logins[sid] = (claims.user_id, claims.session_id, claims.expires_at)
        for room in subscriber.rooms:
            self._rooms_changed(sid, room, True)

        def ready() -> None:
            subscriber.send_control(
                "realtime:ready",
                {"position": subscriber.queued, "workspaces": granted, "denied": denied},
            )

        subscriber.start_replay(ready)
        self._tasks[sid] = asyncio.create_task(self._serve(subscriber), name=f"rt-{sid}")

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        if sid in self._logins:  # an accepted socket
            metrics.SOCKETS.dec()
        await self._forget(sid)

    async def on_join(self, sid: str, data: Any) -> dict[str, Any]:
        subscriber = self.fanout.subscribers.get(sid)
        workspace_id = data.get("workspace_id") if isinstance(data, dict) else data
        try:
            workspace_id = str(UUID(str(workspace_id)))
        except ValueError:
            return {"ok": False, "error": "workspace_id must be an id"}
        try:
            since = position(data.get("since")) if isinstance(data, dict) else None
        except ValueError as e:
            return {"ok": False, "error": str(e)}
        if subscriber is None:
            return {"ok": False, "error": "not connected"}
        since = subscriber.since if since is None else since
        seq = self.fanout.revocation_seq
        member = await self._may_follow(workspace_id, subscriber.user_id)
        if not member or self.fanout.revoked_since(seq, workspace_id, subscriber.user_id):
            return {"ok": False, "error": "workspace not found"}
        if since is not None and since > subscriber.queued:  # not beyond the log
            async with self._container().pool.connection() as conn:
                since = min(since, await log_head(conn))
        subscriber.follow(workspace_id, since)
        return {
            "ok": True,
            "workspace_id": workspace_id,
            "since": since,
            "position": subscriber.queued,
        }

    async def on_leave(self, sid: str, data: Any) -> dict[str, Any]:
        subscriber = self.fanout.subscribers.get(sid)
        workspace_id = data.get("workspace_id") if isinstance(data, dict) else data
        if subscriber is not None and workspace_id:
            subscriber.unfollow(str(workspace_id))
        return {"ok": subscriber is not None}

    # Internals ----------------------------------------------------------------------------

    def _container(self) -> Container:
        if self.container is None:
            raise socketio.exceptions.ConnectionRefusedError("starting up; retry")
        return self.container

    def _reader(self) -> LogReader:
        assert self.reader is not None
        return self.reader

    async def _may_follow(self, workspace_id: str, user_id: str) -> bool:
        store = self._container().store
        role = await asyncio.to_thread(role_in, store, UUID(workspace_id), UUID(user_id))
        return allowed(role, Action.WORKSPACE_READ)

    def _rooms_changed(self, sid: str, room: str, entered: bool) -> None:
        with contextlib.suppress(KeyError, ValueError):
            if entered:
                self.manager.basic_enter_room(sid, NS, room)
            else:
                self.manager.basic_leave_room(sid, NS, room)

    async def _send(self, sid: str, delivery: Delivery) -> None:
        eio_sid = self.manager.eio_sid_from_sid(sid, NS)
        if eio_sid is None:
            return
        for packet in delivery.packets():
            await self.sio.eio.send_packet(eio_sid, packet)
            metrics.EMITS.inc()

    async def _serve(self, subscriber: Subscriber) -> None:
        """Wait for the handshake to finish, then send until the socket closes."""
        sid = subscriber.sid
        try:
            for _ in range(1000):
                if self.manager.is_connected(sid, NS) or subscriber.closed:
                    break
                await asyncio.sleep(0.01)
            await subscriber.run_sender()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.info("socket send failed", sid=sid, error=str(e))
        if sid in self.fanout.subscribers:  # closed by us (too far behind, replay failed)
            await self.sio.disconnect(sid)

    async def _check_logins(self) -> None:
        """Cut off sockets whose token expired or whose login ended, periodically."""
        while True:
            await asyncio.sleep(self.settings.realtime_auth_check_seconds)
            try:
                await self.cut_ended_logins()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the database may be away: try again next time
                log.warning("real-time login check failed", error=str(e))

    async def cut_ended_logins(self) -> None:
        now = time.time()
        logins = dict(self._logins)
        expired = {sid for sid, (_, _, exp) in logins.items() if exp and exp <= now}
        rest = [(sid, user, session) for sid, (user, session, _) in logins.items()]
        rest = [login for login in rest if login[0] not in expired]
        async with self._container().pool.connection() as conn:
            ended = await identity_queries.ended_logins(conn, rest)
        for sid in expired:
            await self._cut(sid, "access token expired")
        for sid in ended:
            await self._cut(sid, "session ended")

    async def _cut(self, sid: str, reason: str) -> None:
        if self._logins.pop(sid, None) is None:
            return  # gone meanwhile
        with contextlib.suppress(Exception):
            await self.sio.emit(UNAUTHORIZED, {"reason": reason}, to=sid)
        await self.sio.disconnect(sid)

    async def _forget(self, sid: str) -> None:
        self._logins.pop(sid, None)
        subscriber = self.fanout.subscribers.pop(sid, None)
        if subscriber is not None:
            await subscriber.close()
        task = self._tasks.pop(sid, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
