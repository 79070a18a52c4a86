"""Response models of /ready."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ProjectionReadiness(BaseModel):
    position: int
    lag: int
    state: str
    error: str | None
    runner: bool = Field(description="a process holds this projection's advisory lock")
    behind_seconds: float = Field(description="how long it has been over READY_MAX_LAG")


class Readiness(BaseModel):
    status: Literal["ready", "degraded", "not_ready", "unavailable"]
    database: Literal["ok", "unreachable"]
    detail: str | None = None
    pool: dict[str, Any] | None = Field(
        default=None, description="with 503: the read pool's size, idle and waiting requests"
    )
    log_head: int | None = None
    max_lag: int | None = None
    not_ready: list[str] = Field(default_factory=list)
    projections: dict[str, ProjectionReadiness] = Field(default_factory=dict)
