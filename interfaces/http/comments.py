"""Comments on cards and tasks (/cards/{id}/comments, /tasks/{id}/comments), edits and
deletes (/comments/{id}) and reactions (/comments/{id}/reactions).

Content is sanitized HTML (b, i, em, strong, code, pre, a[href], ul, ol, li, p, br,
blockquote); content that is empty once sanitized is a 422. Only the author edits; the author
or a workspace owner/admin deletes. Reactions come from a fixed list; reacting twice with the
same reaction is a 409.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from anyio import to_thread
from fastapi import Response, status

from application.authorization import Action
from interfaces.http.comments_schemas import (
    CommentCreate,
    CommentOut,
    CommentUpdate,
    Reaction,
    ReactionCreate,
)
from interfaces.http.deps import Conn, ContainerDep, CurrentUser, IfMatch, run_command
from interfaces.http.idempotency import CommandRoute
from interfaces.http.pagination import Page, PageParams, PageQuery, decode_time_id_cursor, paginate
from interfaces.http.routers import ContextRouter
from interfaces.http.schemas import ACCEPTED, accepted, set_etag
from projections import comments_queries

router = ContextRouter(tags=["comments"], route_class=CommandRoute)


async def _comment_or_accepted(
    conn: Conn, comment_id: UUID, caller: CurrentUser, caught_up: bool, position: int | None
) -> Any:
    row = await comments_queries.get_comment(conn, comment_id, caller.id) if caught_up else None
    return CommentOut(**row) if row else accepted("comments", comment_id, position)


async def _list(
    kind: str,
    object_id: UUID,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    page: PageParams,
) -> Page[CommentOut]:
    await to_thread.run_sync(
        lambda: container.comments.target(
            type_=kind, object_id=object_id, actor_id=caller.id, action=Action.COMMENT_READ
        )
    )
    rows = await comments_queries.list_comments(
        conn,
        kind,
        object_id,
        caller.id,
        limit=page.limit + 1,
        after=decode_time_id_cursor(page.cursor),
    )
    data, next_cursor = paginate(rows, page.limit, lambda r: (r["created_at"], r["id"]))
    return Page[CommentOut](data=[CommentOut(**r) for r in data], next_cursor=next_cursor)


async def _create(
    kind: str,
    object_id: UUID,
    body: CommentCreate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
) -> Any:
    saved, caught_up = await run_command(
        container,
        lambda: container.comments.create(
            commentable_type=kind,
            commentable_id=object_id,
            actor_id=caller.id,
            content=body.content,
            parent_comment_id=body.parent_comment_id,
        ),
    )
    return await _comment_or_accepted(conn, saved.value, caller, caught_up, saved.position)


@router.get("/cards/{card_id}/comments", response_model=Page[CommentOut])
async def list_card_comments(
    card_id: UUID,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    page: PageQuery,
) -> Page[CommentOut]:
    """A card's comments, oldest first, with their reactions summarized."""
    return await _list("card", card_id, caller, container, conn, page)


@router.post(
    "/cards/{card_id}/comments",
    status_code=status.HTTP_201_CREATED,
    response_model=CommentOut,
    responses=ACCEPTED,
)
async def create_card_comment(
    card_id: UUID, body: CommentCreate, caller: CurrentUser, container: ContainerDep, conn: Conn
) -> Any:
    return await _create("card", card_id, body, caller, container, conn)


@router.get("/tasks/{task_id}/comments", response_model=Page[CommentOut])
async def list_task_comments(
    task_id: UUID,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    page: PageQuery,
) -> Page[CommentOut]:
    """A task's comments, oldest first, with their reactions summarized."""
    return await _list("task", task_id, caller, container, conn, page)


@router.post(
    "/tasks/{task_id}/comments",
    status_code=status.HTTP_201_CREATED,
    response_model=CommentOut,
    responses=ACCEPTED,
)
async def create_task_comment(
    task_id: UUID, body: CommentCreate, caller: CurrentUser, container: ContainerDep, conn: Conn
) -> Any:
    return await _create("task", task_id, body, caller, container, conn)


@router.put("/comments/{comment_id}", response_model=CommentOut, responses=ACCEPTED)
async def edit_comment(
    comment_id: UUID,
    body: CommentUpdate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    expected: IfMatch,
    response: Response,
) -> Any:
    """Edit your own comment (marks it edited)."""
    saved, caught_up = await run_command(
        container,
        lambda: container.comments.edit(
            comment_id=comment_id,
            actor_id=caller.id,
            expected_version=expected,
            content=body.content,
        ),
    )
    result = await _comment_or_accepted(conn, comment_id, caller, caught_up, saved.position)
    if isinstance(result, CommentOut):
        set_etag(response, result.version)
    return result


@router.delete("/comments/{comment_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_comment(
    comment_id: UUID, caller: CurrentUser, container: ContainerDep, expected: IfMatch
) -> Response:
    """Delete your own comment, or anyone's as a workspace owner or admin; replies go too."""
    await run_command(
        container,
        lambda: container.comments.delete(
            comment_id=comment_id, actor_id=caller.id, expected_version=expected
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/comments/{comment_id}/reactions",
    status_code=status.HTTP_201_CREATED,
    response_model=CommentOut,
    responses=ACCEPTED,
)
async def add_reaction(
    comment_id: UUID, body: ReactionCreate, caller: CurrentUser, container: ContainerDep, conn: Conn
) -> Any:
    """React to a comment; the same reaction twice by the same user is a 409."""
    saved, caught_up = await run_command(
        container,
        lambda: container.comments.react(
            comment_id=comment_id, actor_id=caller.id, reaction=body.reaction
        ),
    )
    return await _comment_or_accepted(conn, comment_id, caller, caught_up, saved.position)


@router.delete(
    "/comments/{comment_id}/reactions/{reaction}", status_code=status.HTTP_204_NO_CONTENT
)
async def remove_reaction(
    comment_id: UUID, reaction: Reaction, caller: CurrentUser, container: ContainerDep
) -> Response:
    """Take back your own reaction."""
    await run_command(
        container,
        lambda: container.comments.unreact(
            comment_id=comment_id, actor_id=caller.id, reaction=reaction
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
