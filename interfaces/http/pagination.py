"""Cursor pagination: ``?limit=&cursor=`` -> ``{"data": [...], "next_cursor": ...}``.

A cursor is an opaque, URL-safe encoding of the last row's sort key.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

import orjson
from fastapi import Depends, Query
from pydantic import BaseModel

from application.errors import Invalid

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = None


def encode_cursor(*key: Any) -> str:
    raw = orjson.dumps([k.isoformat() if isinstance(k, datetime) else str(k) for k in key])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_time_id_cursor(cursor: str | None) -> tuple[datetime, UUID] | None:
    """Decode a (created_at, id) cursor; a malformed one is a 400-class error."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, ident = orjson.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(at), UUID(ident)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise Invalid("malformed cursor") from None


class PageParams:
    def __init__(self, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> None:
        self.limit = limit
        self.cursor = cursor


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=512,
            pattern=r"^[A-Za-z0-9_-]*$",
            description="`next_cursor` of the previous page (opaque)",
        ),
    ] = None,
) -> PageParams:
    """``?limit=&cursor=`` (async: FastAPI runs a plain function or class dependency in a
    worker thread, a hop every request would pay for)."""
    return PageParams(limit, cursor)


PageQuery = Annotated[PageParams, Depends(page_params)]


def paginate(
    rows: Sequence[dict[str, Any]], limit: int, key: Callable[[dict], tuple]
) -> tuple[list[dict], str | None]:
    """Rows were fetched with limit+1: trim and compute the next cursor."""
    if len(rows) > limit:
        page = list(rows[:limit])
        return page, encode_cursor(*key(page[-1]))
    return list(rows), None


def decode_int_cursor(cursor: str | None) -> int | None:
    """Decode a cursor holding one integer (a position); malformed ones are rejected."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        (value,) = orjson.loads(base64.urlsafe_b64decode(padded))
        return int(value)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise Invalid("malformed cursor") from None


def decode_offset_cursor(cursor: str | None) -> int:
    """Decode an offset cursor (``encode_cursor(offset)``, for ranked results such as a
    search, whose order has no stable key); a malformed one is a 400-class error."""
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        (offset,) = orjson.loads(base64.urlsafe_b64decode(padded))
        value = int(offset)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise Invalid("malformed cursor") from None
    if not 0 <= value <= 1_000_000:
        raise Invalid("malformed cursor")
    return value
