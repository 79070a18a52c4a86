"""Webhooks endpoints, under a workspace (owners and admins only): endpoints (CRUD, pause and
resume with ``active``, a new secret), a ``ping``, the delivery log of each endpoint and a
redelivery by hand. A URL the server may not call (not https, a loopback, private or
link-local address, a host that does not resolve) is 422 naming ``url``."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from anyio import to_thread
from fastapi import Query, Response, status
from fastapi.responses import JSONResponse

from application.errors import NotFound
from interfaces.http.deps import Conn, ContainerDep, CurrentUser, IfMatch, run_command
from interfaces.http.idempotency import CommandRoute
from interfaces.http.pagination import Page, PageQuery, decode_time_id_cursor, paginate
from interfaces.http.routers import ContextRouter
from interfaces.http.schemas import ACCEPTED, accepted, set_etag
from interfaces.http.webhooks_schemas import (
    DeliveryStatus,
    SecretRotate,
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryDetail,
    WebhookDeliveryOut,
    WebhookOut,
    WebhookQueued,
    WebhookSecret,
    WebhookUpdate,
)
from projections import webhooks_queries

router = ContextRouter(tags=["webhooks"], route_class=CommandRoute)
WEBHOOKS = "/workspaces/{workspace_id}/webhooks"
WEBHOOK = WEBHOOKS + "/{webhook_id}"


def _collection(workspace_id: UUID) -> str:
    return f"workspaces/{workspace_id}/webhooks"


async def _endpoint_row(conn: Conn, workspace_id: UUID, webhook_id: UUID) -> dict | None:
    row = await webhooks_queries.get_endpoint(conn, webhook_id)
    return row if row is not None and row["workspace_id"] == workspace_id else None


async def _answer(
    conn: Conn,
    workspace_id: UUID,
    webhook_id: UUID,
    caught_up: bool,
    position: int | None,
    response: Response,
    secret: str | None = None,
) -> Any:
    row = await _endpoint_row(conn, workspace_id, webhook_id) if caught_up else None
    if row is None:
        return accepted(_collection(workspace_id), webhook_id, position)
    set_etag(response, row["version"])
    return WebhookCreated(**row, secret=secret) if secret is not None else WebhookOut(**row)


async def _readable(
    container: ContainerDep, workspace_id: UUID, webhook_id: UUID, user_id: UUID
) -> None:
    await to_thread.run_sync(
        lambda: container.webhooks.readable_endpoint(
            endpoint_id=webhook_id, workspace_id=workspace_id, actor_id=user_id
        )
    )


@router.get(WEBHOOKS, response_model=Page[WebhookOut])
async def list_webhooks(
    workspace_id: UUID, caller: CurrentUser, container: ContainerDep, conn: Conn, page: PageQuery
) -> Page[WebhookOut]:
    """The workspace's endpoints, oldest first."""
    await to_thread.run_sync(
        lambda: container.webhooks.readable_workspace(workspace_id=workspace_id, actor_id=caller.id)
    )
    rows = await webhooks_queries.list_endpoints(
        conn, workspace_id, limit=page.limit + 1, after=decode_time_id_cursor(page.cursor)
    )
    data, next_cursor = paginate(rows, page.limit, lambda r: (r["created_at"], r["id"]))
    return Page[WebhookOut](data=[WebhookOut(**r) for r in data], next_cursor=next_cursor)


@router.post(
    WEBHOOKS,
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    responses=ACCEPTED,
)
async def create_webhook(
    workspace_id: UUID,
    body: WebhookCreate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    response: Response,
) -> Any:
    """Register an endpoint. The answer (only this one) shows its signing secret."""
    saved, caught_up = await run_command(
        container,
        lambda: container.webhooks.register(
            workspace_id=workspace_id, actor_id=caller.id, **body.model_dump()
        ),
    )
    webhook_id, secret = saved.value
    response.headers["Location"] = f"/api/v1/{_collection(workspace_id)}/{webhook_id}"
    return await _answer(
        conn, workspace_id, webhook_id, caught_up, saved.position, response, secret
    )


@router.get(WEBHOOK, response_model=WebhookOut)
async def get_webhook(
    workspace_id: UUID,
    webhook_id: UUID,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    response: Response,
) -> WebhookOut:
    await _readable(container, workspace_id, webhook_id, caller.id)
    row = await _endpoint_row(conn, workspace_id, webhook_id)
    if row is None:
        raise NotFound("webhook not found")
    set_etag(response, row["version"])
    return WebhookOut(**row)


@router.put(WEBHOOK, response_model=WebhookOut, responses=ACCEPTED)
async def update_webhook(
    workspace_id: UUID,
    webhook_id: UUID,
    body: WebhookUpdate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    expected: IfMatch,
    response: Response,
) -> Any:
    """Change the URL, events or description; ``active: false`` pauses, ``true`` resumes
    (also an endpoint disabled after failing for a day)."""
    saved, caught_up = await run_command(
        container,
        lambda: container.webhooks.update(
            endpoint_id=webhook_id,
            workspace_id=workspace_id,
            actor_id=caller.id,
            expected_version=expected,
            **body.model_dump(exclude_unset=True),
        ),
    )
    return await _answer(conn, workspace_id, webhook_id, caught_up, saved.position, response)


@router.delete(WEBHOOK, status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(
    workspace_id: UUID,
    webhook_id: UUID,
    caller: CurrentUser,
    container: ContainerDep,
    expected: IfMatch,
) -> Response:
    """Delete an endpoint: its pending deliveries are cancelled."""
    await run_command(
        container,
        lambda: container.webhooks.delete(
            endpoint_id=webhook_id,
            workspace_id=workspace_id,
            actor_id=caller.id,
            expected_version=expected,
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(WEBHOOK + "/secret", response_model=WebhookSecret)
async def rotate_webhook_secret(
    workspace_id: UUID,
    webhook_id: UUID,
    body: SecretRotate,
    caller: CurrentUser,
    container: ContainerDep,
) -> WebhookSecret:
    """A new signing secret (given, or generated): deliveries from now on are signed with it."""
    saved, _ = await run_command(
        container,
        lambda: container.webhooks.rotate_secret(
            endpoint_id=webhook_id,
            workspace_id=workspace_id,
            actor_id=caller.id,
            secret=body.secret,
        ),
    )
    webhook_id, secret = saved.value
    return WebhookSecret(id=webhook_id, secret=secret)


def _queued(webhook_id: UUID, position: int | None) -> JSONResponse:
    body = WebhookQueued(webhook_id=webhook_id, position=position).model_dump(mode="json")
    return JSONResponse(body, status_code=status.HTTP_202_ACCEPTED)


@router.post(WEBHOOK + "/ping", status_code=status.HTTP_202_ACCEPTED, response_model=WebhookQueued)
async def ping_webhook(
    workspace_id: UUID, webhook_id: UUID, caller: CurrentUser, container: ContainerDep
) -> Any:
    """Send a ``ping`` event to this endpoint (also when it is paused or disabled)."""
    saved, _ = await run_command(
        container,
        lambda: container.webhooks.ping(
            endpoint_id=webhook_id, workspace_id=workspace_id, actor_id=caller.id
        ),
    )
    return _queued(webhook_id, saved.position)


@router.get(WEBHOOK + "/deliveries", response_model=Page[WebhookDeliveryOut])
async def list_webhook_deliveries(
    workspace_id: UUID,
    webhook_id: UUID,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    page: PageQuery,
    delivery_status: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
) -> Page[WebhookDeliveryOut]:
    """The endpoint's delivery log, newest first: status, attempts, response code, latency
    and the answer's first bytes."""
    await _readable(container, workspace_id, webhook_id, caller.id)
    rows = await webhooks_queries.list_deliveries(
        conn,
        webhook_id,
        status=delivery_status,
        limit=page.limit + 1,
        before=decode_time_id_cursor(page.cursor),
    )
    data, next_cursor = paginate(rows, page.limit, lambda r: (r["created_at"], r["id"]))
    return Page[WebhookDeliveryOut](
        data=[WebhookDeliveryOut(**r) for r in data], next_cursor=next_cursor
    )


@router.get(WEBHOOK + "/deliveries/{delivery_id}", response_model=WebhookDeliveryDetail)
async def get_webhook_delivery(
    workspace_id: UUID,
    webhook_id: UUID,
    delivery_id: UUID,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
) -> WebhookDeliveryDetail:
    """One delivery, with the body it sends."""
    await _readable(container, workspace_id, webhook_id, caller.id)
    row = await webhooks_queries.get_delivery(conn, webhook_id, delivery_id)
    if row is None:
        raise NotFound("delivery not found")
    return WebhookDeliveryDetail(**row)


@router.post(
    WEBHOOK + "/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookQueued,
)
async def redeliver_webhook(
    workspace_id: UUID,
    webhook_id: UUID,
    delivery_id: UUID,
    caller: CurrentUser,
    container: ContainerDep,
) -> Any:
    """Send a delivery again (a new delivery with the same body, after what is queued)."""
    saved, _ = await run_command(
        container,
        lambda: container.webhooks.redeliver(
            endpoint_id=webhook_id,
            workspace_id=workspace_id,
            delivery_id=delivery_id,
            actor_id=caller.id,
        ),
    )
    return _queued(webhook_id, saved.position)
