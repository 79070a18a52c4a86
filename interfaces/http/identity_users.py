"""/users: administrators manage every account; a user manages their own."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import Query, Request, Response, status

from application.errors import Forbidden, NotFound
from interfaces.http.deps import Conn, ContainerDep, CurrentUser, run_command
from interfaces.http.identity import client_of
from interfaces.http.identity_schemas import UserUpdate
from interfaces.http.pagination import Page, PageQuery, decode_time_id_cursor, paginate
from interfaces.http.routers import ContextRouter
from interfaces.http.schemas import ACCEPTED, Line, UserOut, accepted
from projections import identity_queries

router = ContextRouter(prefix="/users", tags=["users"])


@router.get("", response_model=Page[UserOut])
async def users(
    caller: CurrentUser,
    conn: Conn,
    page: PageQuery,
    q: Annotated[Line | None, Query(max_length=100, description="search name or e-mail")] = None,
) -> Page[UserOut]:
    if caller.role != "admin":
        raise Forbidden("only administrators may list users")
    rows = await identity_queries.list_users(
        conn, limit=page.limit + 1, after=decode_time_id_cursor(page.cursor), search=q
    )
    data, cursor = paginate(rows, page.limit, lambda r: (r["created_at"], r["id"]))
    return Page[UserOut](data=[UserOut(**r) for r in data], next_cursor=cursor)


@router.get("/{user_id}", response_model=UserOut)
async def user(user_id: UUID, caller: CurrentUser, conn: Conn) -> UserOut:
    row = await identity_queries.get_user(conn, user_id)
    if row is None or (caller.id != user_id and caller.role != "admin"):
        raise NotFound("user not found")
    return UserOut(**row)


@router.put("/{user_id}", response_model=UserOut, responses=ACCEPTED)
async def update_user(
    user_id: UUID, body: UserUpdate, caller: CurrentUser, container: ContainerDep, conn: Conn
) -> Any:
    fields = {
        k: v
        for k, v in body.model_dump(exclude_unset=True).items()
        if not (k in ("name", "role", "is_active") and v is None)
    }
    saved, caught_up = await run_command(
        container,
        lambda: container.identity.update_user(actor_id=caller.id, user_id=user_id, **fields),
    )
    if not caught_up:
        return accepted("users", user_id, saved.position)
    row = await identity_queries.get_user(conn, user_id)
    if row is None:
        raise NotFound("user not found")
    return UserOut(**row)


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(
    user_id: UUID, request: Request, caller: CurrentUser, container: ContainerDep
) -> Response:
    """Erase the account: personal data in the log becomes unreadable, read tables anonymized."""
    client = client_of(request)
    await run_command(
        container,
        lambda: container.identity.delete_user(actor_id=caller.id, user_id=user_id, client=client),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
