"""Kanban endpoints: boards, columns, cards, moves and card activities."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import Query, Response, status

from application.errors import NotFound
from interfaces.http.deps import (
    Conn,
    ContainerDep,
    CurrentUser,
    IfMatch,
    IfNoneMatch,
    not_modified,
    run_command,
)
from interfaces.http.idempotency import CommandRoute
from interfaces.http.kanban_schemas import (
    BoardCreate,
    BoardDetail,
    BoardOut,
    BoardUpdate,
    CardActivityOut,
    CardCreate,
    CardMove,
    CardOut,
    CardUpdate,
    ColumnCreate,
    ColumnOut,
    ColumnPosition,
    ColumnUpdate,
)
from interfaces.http.pagination import (
    Page,
    PageQuery,
    decode_int_cursor,
    decode_time_id_cursor,
    paginate,
)
from interfaces.http.routers import ContextRouter
from interfaces.http.schemas import ACCEPTED, NOT_MODIFIED, Line, accepted, set_etag
from projections import kanban_queries

router = ContextRouter(tags=["kanban"], route_class=CommandRoute)


async def _column_board(conn: Conn, column_id: UUID, user_id: UUID) -> UUID:
    row = await kanban_queries.column(conn, column_id, user_id)
    if row is None:
        raise NotFound("column not found")
    return row["board_id"]


async def _card_or_accepted(
    conn: Conn,
    card_id: UUID,
    user_id: UUID,
    caught_up: bool,
    position: int | None,
    response: Response,
) -> Any:
    row = await kanban_queries.card(conn, card_id, user_id) if caught_up else None
    if row is None:
        return accepted("cards", card_id, position)
    set_etag(response, row["version"])
    return CardOut(**row)


# Boards -------------------------------------------------------------------------------------


@router.get("/projects/{project_id}/boards", response_model=Page[BoardOut])
async def list_boards(
    project_id: UUID, caller: CurrentUser, conn: Conn, page: PageQuery
) -> Page[BoardOut]:
    if not await kanban_queries.project_visible(conn, project_id, caller.id):
        raise NotFound("project not found")
    rows = await kanban_queries.boards_of_project(
        conn, project_id, caller.id, limit=page.limit + 1, after=decode_time_id_cursor(page.cursor)
    )
    data, cursor = paginate(rows, page.limit, lambda r: (r["created_at"], r["id"]))
    return Page[BoardOut](data=[BoardOut(**r) for r in data], next_cursor=cursor)


@router.post(
    "/projects/{project_id}/boards",
    status_code=status.HTTP_201_CREATED,
    response_model=BoardDetail,
    responses=ACCEPTED,
)
async def create_board(
    project_id: UUID,
    body: BoardCreate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    response: Response,
) -> Any:
    columns = [c.model_dump() for c in body.columns]
    saved, caught_up = await run_command(
        container,
        lambda: container.kanban.create_board(
            actor_id=caller.id,
            project_id=project_id,
            name=body.name,
            description=body.description,
            settings=body.settings,
            columns=columns,
        ),
    )
    document = await container.boards.get(conn, saved.value, caller.id) if caught_up else None
    if document is None:
        return accepted("boards", saved.value, saved.position)
    return Response(
        document.body,
        status_code=201,
        media_type="application/json",
        headers={"Location": f"/api/v1/boards/{saved.value}", "ETag": document.etag},
    )


@router.get("/boards/{board_id}", response_model=BoardDetail, responses=NOT_MODIFIED)
async def get_board(
    board_id: UUID, caller: CurrentUser, container: ContainerDep, conn: Conn, held: IfNoneMatch
) -> Any:
    """The board with its columns and their cards, in order. Its ``ETag`` changes whenever
    any of that does (or the caller's role): send it back as ``If-None-Match`` to get 304
    without a body while nothing changed. Its version part may be sent as ``If-Match``."""
    document = await container.boards.get(conn, board_id, caller.id)
    if document is None:
        raise NotFound("board not found")
    if not_modified(document.etag, held):
        return Response(status_code=304, headers={"ETag": document.etag})
    return Response(document.body, media_type="application/json", headers={"ETag": document.etag})


@router.put("/boards/{board_id}", response_model=BoardOut, responses=ACCEPTED)
async def update_board(
    board_id: UUID,
    body: BoardUpdate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    expected: IfMatch,
    response: Response,
) -> Any:
    fields = {
        k: v
        for k, v in body.model_dump(exclude_unset=True).items()
        if not (k in ("name", "settings") and v is None)
    }
    saved, caught_up = await run_command(
        container,
        lambda: container.kanban.update_board(
            board_id=board_id, actor_id=caller.id, expected=expected, **fields
        ),
    )
    row = await kanban_queries.board(conn, board_id, caller.id) if caught_up else None
    if row is None:
        return accepted("boards", board_id, saved.position)
    set_etag(response, row["version"])
    return BoardOut(**row)


@router.delete("/boards/{board_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_board(
    board_id: UUID, caller: CurrentUser, container: ContainerDep, expected: IfMatch
) -> Response:
    await run_command(
        container,
        lambda: container.kanban.delete_board(
            board_id=board_id, actor_id=caller.id, expected=expected
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# Columns ------------------------------------------------------------------------------------


@router.get("/boards/{board_id}/columns", response_model=list[ColumnOut])
async def list_columns(board_id: UUID, caller: CurrentUser, conn: Conn) -> list[ColumnOut]:
    if await kanban_queries.board(conn, board_id, caller.id) is None:
        raise NotFound("board not found")
    return [ColumnOut(**r) for r in await kanban_queries.columns_of_board(conn, board_id)]


async def _column_out(
    conn: Conn, column_id: UUID, user_id: UUID, caught_up: bool, position: int | None
) -> Any:
    row = await kanban_queries.column(conn, column_id, user_id) if caught_up else None
    return ColumnOut(**row) if row else accepted("columns", column_id, position)


@router.post(
    "/boards/{board_id}/columns",
    status_code=status.HTTP_201_CREATED,
    response_model=ColumnOut,
    responses=ACCEPTED,
)
async def create_column(
    board_id: UUID, body: ColumnCreate, caller: CurrentUser, container: ContainerDep, conn: Conn
) -> Any:
    saved, caught_up = await run_command(
        container,
        lambda: container.kanban.add_column(
            board_id=board_id,
            actor_id=caller.id,
            name=body.name,
            color=body.color,
            wip_limit=body.wip_limit,
            is_done_column=body.is_done_column,
            position=body.position,
        ),
    )
    return await _column_out(conn, saved.value, caller.id, caught_up, saved.position)


@router.put("/columns/{column_id}", response_model=ColumnOut, responses=ACCEPTED)
async def update_column(
    column_id: UUID, body: ColumnUpdate, caller: CurrentUser, container: ContainerDep, conn: Conn
) -> Any:
    board_id = await _column_board(conn, column_id, caller.id)
    fields = {
        k: v
        for k, v in body.model_dump(exclude_unset=True).items()
        if not (k in ("name", "is_done_column") and v is None)
    }
    saved, caught_up = await run_command(
        container,
        lambda: container.kanban.update_column(
            board_id=board_id, column_id=column_id, actor_id=caller.id, **fields
        ),
    )
    return await _column_out(conn, column_id, caller.id, caught_up, saved.position)


@router.delete("/columns/{column_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_column(
    column_id: UUID,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    target_column_id: Annotated[
        UUID | None, Query(description="where the column's cards go")
    ] = None,
    wip_override_reason: Annotated[Line | None, Query(min_length=3, max_length=500)] = None,
) -> Response:
    """Delete a column; one holding cards needs ``target_column_id`` (409 without it)."""
    board_id = await _column_board(conn, column_id, caller.id)
    await run_command(
        container,
        lambda: container.kanban.delete_column(
            board_id=board_id,
            column_id=column_id,
            actor_id=caller.id,
            target_column_id=target_column_id,
            override_reason=wip_override_reason,
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/columns/{column_id}/position", response_model=ColumnOut, responses=ACCEPTED)
async def move_column(
    column_id: UUID, body: ColumnPosition, caller: CurrentUser, container: ContainerDep, conn: Conn
) -> Any:
    board_id = await _column_board(conn, column_id, caller.id)
    saved, caught_up = await run_command(
        container,
        lambda: container.kanban.move_column(
            board_id=board_id, column_id=column_id, actor_id=caller.id, position=body.position
        ),
    )
    return await _column_out(conn, column_id, caller.id, caught_up, saved.position)


# Cards --------------------------------------------------------------------------------------


@router.get("/columns/{column_id}/cards", response_model=Page[CardOut])
async def list_cards(
    column_id: UUID, caller: CurrentUser, conn: Conn, page: PageQuery
) -> Page[CardOut]:
    await _column_board(conn, column_id, caller.id)
    rows = await kanban_queries.cards_of_column(
        conn, column_id, limit=page.limit + 1, after=decode_int_cursor(page.cursor)
    )
    data, cursor = paginate(rows, page.limit, lambda r: (r["position"],))
    return Page[CardOut](data=[CardOut(**r) for r in data], next_cursor=cursor)


@router.post(
    "/columns/{column_id}/cards",
    status_code=status.HTTP_201_CREATED,
    response_model=CardOut,
    responses=ACCEPTED,
)
async def create_card(
    column_id: UUID,
    body: CardCreate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    response: Response,
) -> Any:
    board_id = await _column_board(conn, column_id, caller.id)
    fields = body.model_dump(exclude={"position", "wip_override_reason"})
    saved, caught_up = await run_command(
        container,
        lambda: container.kanban.create_card(
            board_id=board_id,
            column_id=column_id,
            actor_id=caller.id,
            fields=fields,
            position=body.position,
            override_reason=body.wip_override_reason,
        ),
    )
    response.headers["Location"] = f"/api/v1/cards/{saved.value}"
    return await _card_or_accepted(
        conn, saved.value, caller.id, caught_up, saved.position, response
    )


@router.get("/cards/{card_id}", response_model=CardOut)
async def get_card(card_id: UUID, caller: CurrentUser, conn: Conn, response: Response) -> CardOut:
    row = await kanban_queries.card(conn, card_id, caller.id)
    if row is None:
        raise NotFound("card not found")
    set_etag(response, row["version"])
    return CardOut(**row)


@router.put("/cards/{card_id}", response_model=CardOut, responses=ACCEPTED)
async def update_card(
    card_id: UUID,
    body: CardUpdate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    expected: IfMatch,
    response: Response,
) -> Any:
    fields = {
        k: v
        for k, v in body.model_dump(exclude_unset=True).items()
        if not (k in ("title", "priority", "labels", "is_archived") and v is None)
    }
    saved, caught_up = await run_command(
        container,
        lambda: container.kanban.update_card(
            card_id=card_id, actor_id=caller.id, expected=expected, **fields
        ),
    )
    return await _card_or_accepted(conn, card_id, caller.id, caught_up, saved.position, response)


@router.delete("/cards/{card_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_card(
    card_id: UUID, caller: CurrentUser, container: ContainerDep, expected: IfMatch
) -> Response:
    await run_command(
        container,
        lambda: container.kanban.delete_card(
            card_id=card_id, actor_id=caller.id, expected=expected
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/cards/{card_id}/move", response_model=CardOut, responses=ACCEPTED)
async def move_card(
    card_id: UUID,
    body: CardMove,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    response: Response,
) -> Any:
    """Move a card to a column, at a position or beside a neighbour. Moving into a column at
    its WIP limit is 409 unless ``wip_override_reason`` is given (it is recorded)."""
    saved, caught_up = await run_command(
        container,
        lambda: container.kanban.move_card(
            card_id=card_id,
            actor_id=caller.id,
            column_id=body.column_id,
            position=body.position,
            before_card_id=body.before_card_id,
            after_card_id=body.after_card_id,
            override_reason=body.wip_override_reason,
        ),
    )
    return await _card_or_accepted(conn, card_id, caller.id, caught_up, saved.position, response)


@router.get("/cards/{card_id}/activities", response_model=Page[CardActivityOut])
async def card_activities(
    card_id: UUID, caller: CurrentUser, conn: Conn, page: PageQuery
) -> Page[CardActivityOut]:
    if await kanban_queries.card(conn, card_id, caller.id) is None:
        raise NotFound("card not found")
    rows = await kanban_queries.card_activities(
        conn, card_id, limit=page.limit + 1, before=decode_int_cursor(page.cursor)
    )
    data, cursor = paginate(rows, page.limit, lambda r: (r["position"],))
    return Page[CardActivityOut](data=[CardActivityOut(**r) for r in data], next_cursor=cursor)
