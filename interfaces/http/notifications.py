"""/notifications: the caller's own notifications (nobody else's: another user's is a 404),
marking them read, deleting them, the caller's preferences, and the e-mailed unsubscribe link
(GET: a confirmation page; POST: unsubscribes, also as RFC 8058 one-click).

Marking read and deleting are commands on the caller's inbox, recorded in the log; the
notifications themselves are delivered by the notifications policy (application/
notifications.py) as things happen.
"""

from __future__ import annotations

import base64
import html
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import Path, Query, Response, status
from fastapi.responses import HTMLResponse

from application.errors import Invalid, NotFound
from interfaces.http.deps import Conn, ContainerDep, CurrentUser, run_command
from interfaces.http.idempotency import CommandRoute
from interfaces.http.notifications_schemas import (
    MarkedRead,
    NotificationOut,
    NotificationPage,
    NotificationType,
    Order,
    PreferencesOut,
    PreferencesUpdate,
    Unsubscribed,
    UnsubscribeToken,
    to_out,
)
from interfaces.http.pagination import PageQuery, encode_cursor
from interfaces.http.routers import ContextRouter
from projections import notifications_queries

router = ContextRouter(tags=["notifications"], route_class=CommandRoute)


def _cursor_key(order: str, row: dict[str, Any]) -> tuple[Any, ...]:
    if order == "unread":
        return (int(not row["is_read"]), row["created_at"], row["id"])
    return (row["created_at"], row["id"])


def _decode_cursor(order: str, cursor: str | None) -> tuple[Any, ...] | None:
    """The last row's sort key of the previous page; a malformed cursor is refused. A
    cursor of the other order is read as far as it fits (a time-ordered one continues among
    the unread, an unread-first one by its time)."""
    if not cursor:
        return None
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) not in (2, 3):
            raise ValueError("not a cursor")
        unread = int(values[0]) if len(values) == 3 else 1
        if unread not in (0, 1):
            raise ValueError("not a cursor")
        at, ident = datetime.fromisoformat(values[-2]), UUID(values[-1])
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise Invalid("malformed cursor") from None
    return (unread, at, ident) if order == "unread" else (at, ident)


@router.get("/notifications", response_model=NotificationPage)
async def list_notifications(
    caller: CurrentUser,
    conn: Conn,
    page: PageQuery,
    order: Annotated[
        Order, Query(description="unread first (then newest), or newest first")
    ] = "unread",
    is_read: Annotated[bool | None, Query()] = None,
    notification_type: Annotated[NotificationType | None, Query(alias="type")] = None,
) -> NotificationPage:
    """The caller's notifications with their unread count."""
    rows = await notifications_queries.list_for(
        conn,
        caller.id,
        order=order,
        is_read=is_read,
        kind=notification_type,
        limit=page.limit + 1,
        after=_decode_cursor(order, page.cursor),
    )
    data = rows[: page.limit]
    next_cursor = encode_cursor(*_cursor_key(order, data[-1])) if len(rows) > page.limit else None
    unread = await notifications_queries.unread_count(conn, caller.id)
    return NotificationPage(
        data=[to_out(r) for r in data], next_cursor=next_cursor, unread_count=unread
    )


@router.put("/notifications/mark-all-read", response_model=MarkedRead)
async def mark_all_read(caller: CurrentUser, container: ContainerDep, conn: Conn) -> MarkedRead:
    saved, _ = await run_command(
        container, lambda: container.notifications.mark_all_read(user_id=caller.id)
    )
    unread = await notifications_queries.unread_count(conn, caller.id)
    return MarkedRead(marked=saved.value or 0, unread_count=unread)


@router.get("/notifications/preferences", response_model=PreferencesOut)
async def get_preferences(caller: CurrentUser, conn: Conn) -> PreferencesOut:
    return PreferencesOut(**await notifications_queries.preferences(conn, caller.id))


@router.put("/notifications/preferences", response_model=PreferencesOut)
async def set_preferences(
    body: PreferencesUpdate, caller: CurrentUser, container: ContainerDep, conn: Conn
) -> PreferencesOut:
    await run_command(
        container,
        lambda: container.notifications.set_preferences(
            user_id=caller.id,
            in_app=body.in_app.changes() if body.in_app else None,
            email=body.email.changes() if body.email else None,
            digest=body.digest,
        ),
    )
    return PreferencesOut(**await notifications_queries.preferences(conn, caller.id))


UNSUBSCRIBE_CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'"
UNSUBSCRIBE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Unsubscribe from WorkSync e-mail</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>Stop notification e-mail?</h1>
<p>You will get no more notification e-mail from WorkSync (your notifications stay in the
app). You can turn e-mail back on in your notification preferences.</p>
<form method="post" action="{action}"><button type="submit">Unsubscribe</button></form>
</body></html>
"""


@router.get(
    "/notifications/unsubscribe/{token}",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
async def unsubscribe_page(
    token: Annotated[UnsubscribeToken, Path(description="from the e-mailed link")],
    user_id: Annotated[UUID, Query()],
    container: ContainerDep,
) -> HTMLResponse:
    """The link in every notification e-mail: a page asking to confirm (its form POSTs to the
    same address). Following the link changes nothing, so a mail scanner that opens links
    does not unsubscribe anyone. Needs no sign-in; the token is the link's."""
    container.notifications.check_unsubscribe(user_id=user_id, token=token)
    action = html.escape(f"/api/v1/notifications/unsubscribe/{token}?user_id={user_id}")
    return HTMLResponse(
        UNSUBSCRIBE_PAGE.format(action=action),
        headers={"Content-Security-Policy": UNSUBSCRIBE_CSP, "Cache-Control": "no-store"},
    )


@router.post("/notifications/unsubscribe/{token}", response_model=Unsubscribed)
async def unsubscribe(
    token: Annotated[UnsubscribeToken, Path(description="from the e-mailed link")],
    user_id: Annotated[UUID, Query()],
    container: ContainerDep,
) -> Unsubscribed:
    """No more notification e-mail (digest off): the confirmation page's form, and RFC 8058
    one-click unsubscription (mail clients POST ``List-Unsubscribe=One-Click`` here, the
    address in each mail's ``List-Unsubscribe`` header). Any body is ignored. Needs no
    sign-in; the token is the link's."""
    await run_command(
        container, lambda: container.notifications.unsubscribe(user_id=user_id, token=token)
    )
    return Unsubscribed()


@router.put("/notifications/{notification_id:uuid}/read", response_model=NotificationOut)
async def mark_read(
    notification_id: UUID, caller: CurrentUser, container: ContainerDep, conn: Conn
) -> NotificationOut:
    await run_command(
        container,
        lambda: container.notifications.mark_read(
            user_id=caller.id, notification_id=notification_id
        ),
    )
    row = await notifications_queries.get_own(conn, notification_id, caller.id)
    if row is None:
        raise NotFound("notification not found")
    return to_out(row)


@router.delete("/notifications/{notification_id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_notification(
    notification_id: UUID, caller: CurrentUser, container: ContainerDep
) -> Response:
    await run_command(
        container,
        lambda: container.notifications.delete(user_id=caller.id, notification_id=notification_id),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
