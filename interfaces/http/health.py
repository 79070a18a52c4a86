"""/health (liveness) and /ready (database reachable, projection lag).

/ready is 503 when no read connection can be had: ``"database": "unreachable"`` when
PostgreSQL does not answer, ``"database": "ok"`` with ``"pool": {"state": "exhausted"}``
when it does but every pooled connection stays busy (this process cannot serve reads now)."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from interfaces.http.deps import ContainerDep
from projections.control import readiness

router = APIRouter(tags=["operations"])
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


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(container: ContainerDep) -> JSONResponse:
    try:
        async with container.pool.connection(timeout=POOL_WAIT) as conn:
            head, rows = await readiness(conn)
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
    projections = {
        name: {"position": pos, "lag": max(0, head - pos), "state": state, "error": error}
        for name, pos, state, error in rows
    }
    degraded = any(p["state"] != "running" for p in projections.values())
    return JSONResponse(
        {
            "status": "degraded" if degraded else "ready",
            "database": "ok",
            "log_head": head,
            "max_lag": max((p["lag"] for p in projections.values()), default=0),
            "projections": projections,
        }
    )
