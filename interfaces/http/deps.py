"""Typed dependencies shared by the routers: the container, the caller, a read connection,
If-Match, and running a command off the event loop with read-your-writes.

A request's read connection is taken from the pool when first used and given back before a
command runs and waits (``run_command``): no pooled connection is held while waiting."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

import structlog
from anyio import to_thread
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from application.adapters.store import Saved
from application.errors import ApplicationError, Conflict, Invalid, Unauthorized
from interfaces import metrics
from interfaces.bootstrap import Container
from interfaces.http.db import ReadConnection
from interfaces.http.guard import request_state
from interfaces.http.middleware import record_timing


async def get_container(request: Request) -> Container:
    return request.app.state.container


ContainerDep = Annotated[Container, Depends(get_container)]


def request_read(container: Container) -> ReadConnection:
    """The request's read connection, made on first use. ``Guard`` gives it back when the
    request ends."""
    state = request_state()
    if state is None:  # pragma: no cover - every request passes the Guard
        raise RuntimeError("a read connection outside a request")
    if state.read is None:
        state.read = ReadConnection(container.read_pool)
    return state.read


# The two dependencies below run on nearly every request and take the request itself, not
# ``ContainerDep``: FastAPI solves each sub-dependency anew for every dependency that names
# it (computing its cache key before finding it solved), and that recursion was ~14 % of an
# API worker's CPU on workspace creation.


async def read_connection(request: Request) -> ReadConnection:
    """The request's read connection (a plain coroutine: FastAPI's machinery for a
    dependency that yields costs more than the read)."""
    return request_read(request.app.state.container)


Conn = Annotated[ReadConnection, Depends(read_connection)]

bearer = HTTPBearer(auto_error=False, description="Access token from /auth/login")


class Caller:
    """The signed-in user making the request."""

    def __init__(self, row: dict[str, Any], session_id: UUID | None = None) -> None:
        self.id: UUID = row["id"]
        self.session_id = session_id
        self.email: str = row["email"]
        self.role: str = row["role"]
        self.row = row


async def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing bearer token")
    container: Container = request.app.state.container
    claims = container.identity.tokens.verify(credentials.credentials)
    conn = request_read(container)
    row = await container.sign_ins.get(conn, claims.user_id, claims.session_id)
    if row is None or not row["is_active"]:
        raise Unauthorized("the session has ended, or the account no longer exists")
    structlog.contextvars.bind_contextvars(user_id=str(claims.user_id))
    return Caller(row, claims.session_id)


CurrentUser = Annotated[Caller, Depends(current_user)]


async def if_match(
    if_match: Annotated[
        str | None,
        Header(
            description="Expected current version (the ETag; a board's is"
            ' "<version>.<digest>", of which the version counts); a stale one gets 412',
            max_length=64,
            pattern=r'^(\*|(W/)?"?[0-9]{1,18}(\.[0-9a-f]{1,40})?"?)$',
        ),
    ] = None,
) -> int | None:
    if if_match is None:
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if value == "*":
        return None
    try:
        return int(value.partition(".")[0])
    except ValueError:
        raise Invalid("If-Match must be a resource version (an integer)") from None


IfMatch = Annotated[int | None, Depends(if_match)]


async def if_none_match(
    if_none_match: Annotated[
        str | None,
        Header(
            description="Entity tags (ETag) of representations the client holds: 304 Not"
            " Modified, without a body, when the current one is among them",
            max_length=1024,
            pattern=r'^(\*|(W/)?"?[!#-~]+"?( *, *(W/)?"?[!#-~]+"?)*)$',
        ),
    ] = None,
) -> frozenset[str]:
    """The opaque tags listed (weak comparison: ``W/`` dropped), or ``*``."""
    if if_none_match is None:
        return frozenset()
    tags = (t.strip().removeprefix("W/").strip('"') for t in if_none_match.split(","))
    return frozenset(t for t in tags if t)


IfNoneMatch = Annotated[frozenset[str], Depends(if_none_match)]


def not_modified(etag: str, held: frozenset[str]) -> bool:
    """Whether a client holding ``held`` (``IfNoneMatch``) has the representation ``etag``."""
    return bool(held) and ("*" in held or etag.removeprefix("W/").strip('"') in held)


async def run_command(container: Container, command: Callable[[], Saved]) -> tuple[Saved, bool]:
    """Run a command in a worker thread, then wait (bounded) for the projections it affects.

    The command is a zero-argument callable that calls one application service method with
    keyword arguments only (the service methods take them keyword-only), so the type checker
    and a reader can follow the call from the route to the use case::

        saved, caught_up = await run_command(
            container,
            lambda: container.kanban.move_card(
                card_id=card_id, actor_id=caller.id, column_id=body.column_id, ...
            ),
        )

    Returns the result and whether the read model has caught up (False -> answer 202).
    The request's read connection goes back to the pool first (reads after the wait take
    one again), and the request is marked committed: from here on it answers 2xx, 202 when
    reading the result back fails (``guard.committed_answer``).
    """
    state = request_state()
    if state is not None and state.read is not None:
        await state.read.release()
    started = time.perf_counter()
    try:
        saved: Saved = await to_thread.run_sync(command)
    except Conflict:
        metrics.COMMANDS.labels("conflict").inc()
        raise
    except ApplicationError:
        metrics.COMMANDS.labels("rejected").inc()
        raise
    except Exception:
        metrics.COMMANDS.labels("error").inc()
        raise
    metrics.COMMANDS.labels("retried" if saved.attempts > 1 else "ok").inc()
    if state is not None:
        state.committed = saved
    appended = time.perf_counter()
    affected = container.affected(saved.topics)
    timeout = container.settings.projection_wait_timeout
    caught_up = await container.waiter.wait(affected, saved.position, timeout)
    if caught_up and container.replica is not None:  # reads go to the replica: wait for it too
        remaining = max(0.0, timeout - (time.perf_counter() - appended))
        caught_up = await container.replica.wait(affected, saved.position, remaining)
    record_timing("command", (appended - started) * 1000)
    if saved.position is not None and caught_up:
        record_timing("projection", (time.perf_counter() - appended) * 1000)
    return saved, caught_up
