"""/health (liveness) and /ready (database reachable, projection lag)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from interfaces.http.deps import ContainerDep
from projections.control import readiness

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(container: ContainerDep) -> JSONResponse:
    try:
        async with container.pool.connection(timeout=3) as conn:
            head, rows = await readiness(conn)
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
