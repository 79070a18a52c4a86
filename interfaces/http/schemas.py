"""Pydantic models shared by several routers."""

from __future__ import annotations

import math
import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import Response
from fastapi.responses import JSONResponse
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

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


AvatarUrl = Annotated[
    str,
    StringConstraints(max_length=2048),
    AfterValidator(_http_url),
    WithJsonSchema({"type": "string", "maxLength": 2048, "pattern": "^https?://"}),
]


def cents(digits: int, description: str | None = None) -> Any:
    """A non-negative amount with at most two decimal places and at most ``digits`` before the
    point, given as a JSON number or a string, documented exactly as it is checked: a number
    that is a multiple of 0.01 (binary floats within rounding noise of one count as one), or a
    string of digits."""
    text = re.compile(rf"^[0-9]{{1,{digits}}}(\.[0-9]{{1,2}})?$")
    top = Decimal(10**digits) - Decimal("0.01")

    def parse(value: Any) -> Any:
        if isinstance(value, str) and not text.match(value):
            raise ValueError(f"must be digits with at most 2 decimals, at most {top}")
        if isinstance(value, float):
            hundredths = round(value * 100)  # within a few ulps: a cent amount, as parsed
            if abs(value * 100 - hundredths) <= 8 * math.ulp(value * 100):
                return Decimal(hundredths).scaleb(-2)
        return value

    schema = {
        "anyOf": [
            {"type": "number", "minimum": 0, "maximum": float(top), "multipleOf": 0.01},
            {"type": "string", "pattern": text.pattern},
        ],
        **({"description": description} if description else {}),
    }
    return Annotated[
        Decimal,
        BeforeValidator(parse),
        Field(ge=0, le=top, decimal_places=2),
        WithJsonSchema(schema),
    ]


def not_null(*names: str) -> Any:
    """``json_schema_extra`` for a partial update whose ``names`` may be left out but not sent
    as null: the documented schema drops their null branch, as the model's validator does."""

    def extra(schema: dict[str, Any]) -> None:
        for name in names:
            prop = schema.get("properties", {}).get(name, {})
            options = [o for o in prop.get("anyOf", []) if o.get("type") != "null"]
            if len(options) == 1:
                del prop["anyOf"]
                prop.update(options[0])
            elif options:
                prop["anyOf"] = options

    return extra


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
