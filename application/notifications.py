"""Notifications: the use cases of a user's inbox (deliver, read, delete, preferences,
unsubscribe, digests, reminders). Who hears of what is application/notifications_triggers.py;
the policy that delivers notices from the log is application/notifications_policy.py.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from application.adapters.store import EventStore, Saved
from application.errors import NotFound
from application.mail import LinkTokens
from application.notifications_triggers import (
    CLOSED_TASK,
    DUE_SOON,
    Notice,
    ids_of,
    item,
)
from domain.kanban import Board, Card
from domain.notifications import Inbox
from domain.tasks import Task

# Use cases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    status: str  # "sent", "not-due" (come back at ``due``), "moot" (nothing to remind of)
    due: datetime | None = None


class NotificationsService:
    def __init__(self, store: EventStore, links: LinkTokens | None = None) -> None:
        self.store = store
        self.links = links

    def _inbox(self, user_id: UUID, *, create: bool = False) -> Inbox:
        try:
            return self.store.load(Inbox, Inbox.id_for(user_id), "notification")
        except NotFound:
            if not create:
                raise
            return Inbox(user_id=user_id)

    def _change(self, user_id: UUID, change: Callable[[Inbox], Any], create: bool = False) -> Saved:
        def command() -> tuple[Any, list[Inbox]]:
            inbox = self._inbox(user_id, create=create)
            return change(inbox), [inbox]

        return self.store.run(command)

    def deliver(self, *, notice: Notice, source: str) -> Saved:
        """Deliver one notice (its id derived from ``source`` and the recipient: at most once);
        ``position`` is None when it was delivered before."""
        return self._change(
            notice.recipient, lambda inbox: inbox.deliver([item(notice, source)]), create=True
        )

    def mark_read(self, *, user_id: UUID, notification_id: UUID) -> Saved:
        return self._change(user_id, lambda inbox: inbox.mark_read(notification_id))

    def mark_all_read(self, *, user_id: UUID) -> Saved:
        """Marks every unread notification read; ``value`` is how many."""
        try:
            return self._change(user_id, lambda inbox: inbox.mark_all_read())
        except NotFound:
            return Saved(position=None, value=0)

    def delete(self, *, user_id: UUID, notification_id: UUID) -> Saved:
        return self._change(user_id, lambda inbox: inbox.delete(notification_id))

    def set_preferences(
        self,
        *,
        user_id: UUID,
        in_app: dict[str, bool] | None = None,
        email: dict[str, bool] | None = None,
        digest: str | None = None,
    ) -> Saved:
        return self._change(
            user_id,
            lambda inbox: inbox.set_preferences(in_app=in_app, email=email, digest=digest),
            create=True,
        )

    def check_unsubscribe(self, *, user_id: UUID, token: str) -> None:
        """The e-mailed link's token, checked (a wrong one is a 404); nothing changes."""
        if self.links is None or not hmac.compare_digest(
            token, self.links.token("unsubscribe", user_id)
        ):
            raise NotFound("unsubscribe link not found")

    def unsubscribe(self, *, user_id: UUID, token: str) -> Saved:
        """The e-mailed link, confirmed (POST): no more e-mail (digest off)."""
        self.check_unsubscribe(user_id=user_id, token=token)
        return self._change(user_id, lambda inbox: inbox.set_preferences(digest="off"), create=True)

    def send_digest(self, *, user_id: UUID, until: datetime, items: list[dict[str, Any]]) -> Saved:
        """Record the digest of ``items`` (the notifications wanted by e-mail since the last
        one, as the read table has them); the policy mails it. ``value``: how many."""
        return self._change(user_id, lambda inbox: len(inbox.digest(until, items)))

    def export_ready(
        self, *, user_id: UUID, export_id: UUID, workspace_id: UUID, fmt: str
    ) -> Saved:
        """Tell who asked for a workspace export that it is ready (once per export)."""
        data = ids_of(export_id=export_id, workspace_id=workspace_id, format=fmt)
        notice = Notice(
            user_id, "export_ready", f"Your {fmt.upper()} workspace export is ready", None, data
        )
        return self._change(
            user_id,
            lambda inbox: inbox.deliver([item(notice, f"export:{export_id}")]),
            create=True,
        )

    def remind_due(
        self, *, kind: str, item_id: UUID, due: datetime, now: datetime | None = None
    ) -> Reminder:
        """Notify the assignee of a card or task due within 24 h, once per item and due date:
        nothing if the item is gone, done, unassigned or has another due date by now."""
        now = now or datetime.now(UTC)
        if now < due - DUE_SOON:
            return Reminder("not-due", due - DUE_SOON)
        try:
            target: Card | Task = self.store.load(Card if kind == "card" else Task, item_id)
        except NotFound:
            return Reminder("moot")
        if target.deleted or target.due_date != due or target.assignee_id is None:
            return Reminder("moot")
        if isinstance(target, Task) and target.status in CLOSED_TASK:
            return Reminder("moot")
        if isinstance(target, Card):
            board = self.store.load(Board, target.board_id)
            column_id, _ = board.position_of(item_id) if str(item_id) in board.cards else ("", 0)
            if board.columns.get(column_id, {}).get("is_done_column"):
                return Reminder("moot")
        if now > due:
            return Reminder("moot")  # it is overdue already: too late for "due soon"
        data = ids_of(
            **{f"{kind}_id": item_id},
            project_id=target.project_id,
            workspace_id=target.workspace_id,
            due_date=due.isoformat(),
        )
        notice = Notice(
            target.assignee_id, "due_soon", f"“{target.title}” is due within 24 hours", None, data
        )
        saved = self.deliver(notice=notice, source=f"due:{kind}:{item_id}:{due.isoformat()}")
        return Reminder("sent" if saved.position else "moot")
