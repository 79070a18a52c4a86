"""Every projection the service runs, by name."""

from __future__ import annotations

from collections.abc import Iterable

from projections.activities import ActivitiesProjection
from projections.base import Projection
from projections.card_activities import CardActivitiesProjection
from projections.comments import CommentsProjection
from projections.files import FilesProjection
from projections.identity import UsersProjection
from projections.kanban import KanbanProjection
from projections.milestones import MilestonesProjection
from projections.notifications import NotificationsProjection
from projections.projects import ProjectsProjection
from projections.resources import ResourcesProjection
from projections.tasks import TasksProjection
from projections.templates import TemplatesProjection
from projections.time_tracking import TimeTrackingProjection
from projections.webhooks import WebhooksProjection
from projections.workspaces import WorkspacesProjection


def all_projections() -> list[Projection]:
    return [
        UsersProjection(),
        WorkspacesProjection(),
        ActivitiesProjection(),
        ProjectsProjection(),
        KanbanProjection(),
        CardActivitiesProjection(),
        TasksProjection(),
        CommentsProjection(),
        TimeTrackingProjection(),
        FilesProjection(),
        ResourcesProjection(),
        MilestonesProjection(),
        NotificationsProjection(),
        TemplatesProjection(),
        WebhooksProjection(),
    ]


def by_name(name: str) -> Projection:
    for projection in all_projections():
        if projection.name == name:
            return projection
    raise KeyError(name)


def affected_by(topics: Iterable[str], projections: Iterable[Projection]) -> list[str]:
    """Names of the projections that handle any of the given event topics."""
    topics = list(topics)
    return [p.name for p in projections if any(p.handles_topic(t) for t in topics)]
