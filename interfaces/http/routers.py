"""``ContextRouter``: the router every context declares its routes on (FastAPI's ``APIRouter``,
answering at once for the paths none of its routes can match).

FastAPI matches a request against every route of every included router in turn, and the
chosen router's routes again to handle it: a board read went through the ~40 routes of the
routers included before kanban's, a quarter of its CPU in-process. Every route here starts
with a literal segment (``/boards/{board_id}``), and whatever prefix the router is included
with, a path a route matches contains that segment. So a router whose routes' first segments
are all absent from the path cannot match it, and says so without trying each route; any
other path is matched exactly as FastAPI does. A route starting with a parameter (or ``/``)
turns the shortcut off for its router."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.routing import Match
from starlette.types import Scope


def first_segment(path: str) -> str | None:
    """A route path's first segment when it is literal (``/boards/{id}`` -> ``boards``)."""
    segment = path.lstrip("/").split("/", 1)[0]
    return segment if segment and "{" not in segment else None


class ContextRouter(APIRouter):
    _firsts: frozenset[str] | None = None
    _firsts_of: int = -1  # how many routes ``_firsts`` was computed from

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        firsts = self._first_segments()
        if firsts is not None and firsts.isdisjoint(scope["path"].split("/")):
            return Match.NONE, {}
        return super().matches(scope)

    def _first_segments(self) -> frozenset[str] | None:
        routes: list[Any] = self.routes
        if self._firsts_of != len(routes):
            firsts = [first_segment(getattr(r, "path", "") or "") for r in routes]
            self._firsts = None if None in firsts else frozenset(f for f in firsts if f)
            self._firsts_of = len(routes)
        return self._firsts
