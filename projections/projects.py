"""Projects read model."""

from __future__ import annotations

from projections.base import Projection


class ProjectsProjection(Projection):
    name = "projects"
    tables = ("projects", "project_members")
