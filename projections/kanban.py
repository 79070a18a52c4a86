"""Kanban read model."""

from __future__ import annotations

from projections.base import Projection


class KanbanProjection(Projection):
    name = "kanban"
    tables = ("kanban_boards", "kanban_columns", "kanban_cards")


class CardActivitiesProjection(Projection):
    name = "card_activities"
    tables = ("card_activities",)
