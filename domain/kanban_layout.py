"""Where things sit on a kanban board: the queries on a Board's columns and card places, and
the fractional keys (``rank``) that order them. A mixin of ``domain.kanban.Board``."""

from __future__ import annotations

import copy
from typing import Any
from uuid import UUID

from fractional_indexing import generate_key_between

from domain.shared import Missing, RuleBroken


class WipLimitReached(RuleBroken):
    code = "wip-limit"


def key_between(before: str | None, after: str | None) -> str:
    return generate_key_between(before, after)


class BoardLayout:
    """A board's columns (column id -> name, rank, wip_limit...) and cards (card id -> column
    id, rank), set by the Board's events."""

    columns: dict[str, dict[str, Any]]
    cards: dict[str, dict[str, str]]
    settings: dict[str, Any]
    _pending_events: list[Any]

    def __deepcopy__(self, memo: dict[int, Any]) -> BoardLayout:
        """A command's working copy of a cached board, made cheaply: a card's place is
        replaced, never changed in place, so the card map is copied shallowly (a generic deep
        copy of a 200-card board was a sixth of a move's CPU)."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.cards = dict(self.cards)
        clone.columns = {key: dict(column) for key, column in self.columns.items()}
        clone.settings = copy.deepcopy(self.settings, memo)
        clone._pending_events = list(self._pending_events)
        return clone

    def column(self, column_id: UUID | str) -> dict[str, Any]:
        column = self.columns.get(str(column_id))
        if column is None:
            raise Missing("column not found")
        return column

    def column_order(self) -> list[str]:
        return sorted(self.columns, key=lambda c: self.columns[c]["rank"])

    def cards_in(self, column_id: UUID | str, *, excluding: str | None = None) -> list[str]:
        """Card ids of a column, in order."""
        column_id = str(column_id)
        ids = [c for c, p in self.cards.items() if p["column_id"] == column_id and c != excluding]
        return sorted(ids, key=lambda c: self.cards[c]["rank"])

    def position_of(self, card_id: UUID | str) -> tuple[str, int]:
        """A card's column and its position there."""
        key = str(card_id)
        place = self.cards.get(key)
        if place is None:
            raise Missing("card not found")
        return place["column_id"], self.position_at(place["column_id"], place["rank"], key)

    def position_at(self, column_id: str, rank: str, excluding: str | None = None) -> int:
        """The position (0, 1, 2...) a card of this rank has in the column: the number of its
        cards ranked before it. The one definition of a card's position on the write side;
        the read model's is ``RENUMBER_CARDS`` (projections/kanban_rows.py), the same order."""
        return sum(
            1
            for c, p in self.cards.items()
            if p["column_id"] == column_id and p["rank"] < rank and c != excluding
        )

    def _rank_among(self, ranks: list[str], position: int | None) -> str:
        """A key that puts an item at ``position`` among ``ranks`` (None or past the end: last)."""
        if position is None or position >= len(ranks):
            return key_between(ranks[-1] if ranks else None, None)
        position = max(0, position)
        return key_between(ranks[position - 1] if position > 0 else None, ranks[position])

    def _card_rank(
        self,
        column_id: str,
        position: int | None,
        card_id: str | None,
        before: str | None = None,
        after: str | None = None,
    ) -> str:
        ids = self.cards_in(column_id, excluding=card_id)
        if before is not None or after is not None:
            neighbour = before if before is not None else after
            if neighbour not in ids:
                raise RuleBroken("the neighbour card is not in the target column")
            index = ids.index(neighbour)
            position = index if before is not None else index + 1
        return self._rank_among([self.cards[c]["rank"] for c in ids], position)

    def _check_wip(self, column_id: str, card_id: str | None, override_reason: str | None) -> None:
        column = self.columns[column_id]
        limit = column["wip_limit"]
        count = len(self.cards_in(column_id, excluding=card_id))
        if limit is not None and count + 1 > limit and not override_reason:
            raise WipLimitReached(
                f"column '{column['name']}' is at its WIP limit of {limit}; pass an override"
                " with a reason to exceed it",
                column_id=column_id,
                wip_limit=limit,
                card_count=count,
            )

    def _appended(
        self, cards: list[str], column_id: UUID | str, override_reason: str | None
    ) -> list[list[str]]:
        """[card id, rank] of the cards appended to a column, in order (its WIP limit applies
        unless overridden)."""
        target = self.column(column_id)
        existing = len(self.cards_in(column_id))
        limit = target["wip_limit"]
        if limit is not None and existing + len(cards) > limit and not override_reason:
            raise WipLimitReached(
                f"moving {len(cards)} cards would exceed the WIP limit of {limit} of"
                f" column '{target['name']}'",
                column_id=str(column_id),
                wip_limit=limit,
                card_count=existing,
            )
        ids = self.cards_in(column_id)
        last = self.cards[ids[-1]]["rank"] if ids else None
        moved: list[list[str]] = []
        for card_id in cards:
            last = key_between(last, None)
            moved.append([card_id, last])
        return moved
