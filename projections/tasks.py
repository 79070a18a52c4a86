"""Tasks read model."""

from __future__ import annotations

from projections.base import Projection


class TasksProjection(Projection):
    name = "tasks"
    tables = ("tasks",)
