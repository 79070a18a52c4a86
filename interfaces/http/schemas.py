"""Pydantic models shared by several routers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


def _bcrypt_limit(value: str) -> str:
    if len(value.encode()) > 72:
        raise ValueError("password must be at most 72 bytes in UTF-8")
    return value


Password = Annotated[
    str,
    Field(min_length=8, max_length=72, description="8 to 72 bytes (bcrypt's limit)"),
    AfterValidator(_bcrypt_limit),
]


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return value


AvatarUrl = Annotated[str, StringConstraints(max_length=2048), AfterValidator(_http_url)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserOut(BaseModel):
    id: UUID
    email: str
    name: str
    avatar_url: str | None = None
    role: str
    is_active: bool
    email_verified: bool
    created_at: datetime
    updated_at: datetime
    version: int


class Accepted(BaseModel):
    id: UUID
    position: int | None
    status: str = "accepted"


ACCEPTED = {202: {"model": Accepted, "description": "Accepted; the read model is catching up"}}


def accepted(collection: str, ident: UUID, position: int | None) -> JSONResponse:
    """202: the command is in the log but the read model has not caught up within the wait
    bound; the client can poll ``Location`` (or resume real-time from ``position``)."""
    body = Accepted(id=ident, position=position).model_dump(mode="json")
    return JSONResponse(
        body, status_code=202, headers={"Location": f"/api/v1/{collection}/{ident}"}
    )


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'
