"""/health (liveness) and /ready (database reachable, every projection running and keeping
up).

/ready answers 503 when no read connection can be had: ``"database": "unreachable"`` when
PostgreSQL does not answer, ``"database": "ok"`` with ``"pool": {"state": "exhausted"}``
when it does but every pooled connection stays busy (this process cannot serve reads now).
It also answers 503 when a projection has no runner (no process holds its advisory lock: no
projector anywhere) or has stayed more than ``READY_MAX_LAG`` events behind the log head
for longer than ``READY_LAG_SECONDS`` (it keeps falling behind, or is stuck); a paused or
failed projection makes it ``degraded``."""

from __future__ import annotations

import time
from typing import Any

import psycopg
from fastapi import Request
from fastapi.responses import JSONResponse
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from interfaces.http.deps import ContainerDep
from interfaces.http.health_schemas import Readiness
from interfaces.http.routers import ContextRouter
from projections.control import readiness
from projections.liveness import running

router = ContextRouter(tags=["operations"])
POOL_WAIT = 3.0  # seconds /ready waits for a pooled connection


def pool_stats(pool: AsyncConnectionPool) -> dict[str, Any]:
    stats = pool.get_stats()
    return {
        "size": stats.get("pool_size", 0),
        "max_size": pool.max_size,
        "idle": stats.get("pool_available", 0),
        "waiting": stats.get("requests_waiting", 0),
    }


async def database_answers(database_url: str) -> bool:
    """On a connection of its own (the pool's are all busy)."""
    try:
        conn = await psycopg.AsyncConnection.connect(database_url, connect_timeout=3)
        async with conn:
            await conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


READY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Readiness, "description": "Ready (or degraded: a projection paused/failed)"},
    503: {"model": Readiness, "description": "Not ready: database, runner or lag"},
}


class LagWatch:
    """Since when each projection has been more than ``max_lag`` events behind."""

    def __init__(self) -> None:
        self.behind_since: dict[str, float] = {}

    def seconds_behind(self, name: str, lag: int, max_lag: int, now: float) -> float:
        if lag <= max_lag:
            self.behind_since.pop(name, None)
            return 0.0
        return now - self.behind_since.setdefault(name, now)


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", response_model=None, responses=READY_RESPONSES)
async def ready(request: Request, container: ContainerDep) -> JSONResponse:
    try:
        async with container.pool.connection(timeout=POOL_WAIT) as conn:
            head, rows = await readiness(conn)
            names = sorted({p.name for p in container.projections} | {r[0] for r in rows})
            runners = await running(conn, names)
    except PoolTimeout as e:
        pool = {"state": "exhausted", **pool_stats(container.pool)}
        if await database_answers(container.database_url):
            return JSONResponse(
                {"status": "unavailable", "database": "ok", "pool": pool, "detail": str(e)},
                status_code=503,
            )
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "pool": pool, "detail": str(e)},
            status_code=503,
        )
    except Exception as e:
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "detail": str(e)}, status_code=503
        )
    settings = container.settings
    watch = getattr(request.app.state, "lag_watch", None)
    if watch is None:
        watch = request.app.state.lag_watch = LagWatch()
    now = time.monotonic()
    tracked = {row[0]: row for row in rows}
    projections = {}
    for name in names:  # one never run yet has no tracking row: position 0
        _, pos, state, error = tracked.get(name, (name, 0, "running", None))
        lag = max(0, head - pos)
        behind = watch.seconds_behind(name, lag, settings.ready_max_lag, now)
        projections[name] = {
            "position": pos,
            "lag": lag,
            "state": state,
            "error": error,
            "runner": name in runners,
            "behind_seconds": round(behind, 1),
        }
    not_ready = sorted(
        name
        for name, p in projections.items()
        if not p["runner"] or p["behind_seconds"] > settings.ready_lag_seconds
    )
    degraded = any(p["state"] != "running" for p in projections.values())
    status = "not_ready" if not_ready else "degraded" if degraded else "ready"
    return JSONResponse(
        {
            "status": status,
            "database": "ok",
            "log_head": head,
            "max_lag": max((p["lag"] for p in projections.values()), default=0),
            "not_ready": not_ready,
            "projections": projections,
        },
        status_code=503 if not_ready else 200,
    )
