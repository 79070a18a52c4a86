"""Pydantic models and types shared by several routers, and what every text and free-form
JSON field accepts (one mechanism for every model, stated in the OpenAPI document too)."""

from __future__ import annotations

import json
import math
import re
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import Response
from fastapi.responses import JSONResponse
from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema
from typing_extensions import TypeAliasType

# Text -----------------------------------------------------------------------------------------
# No string the API accepts holds a control character (Unicode Cc: U+0000-U+001F and
# U+007F-U+009F): PostgreSQL cannot store NUL (a NUL in the log stopped every projection that
# reads the field), the others are invisible. Free text (descriptions, comments, JSON string
# values) keeps tab, line feed and carriage return. Unpaired surrogates (JSON "\ud800"), which
# PostgreSQL cannot store either, are refused too: pydantic's str refuses them, the JSON checks
# below as well (JSON Schema patterns cannot name them, so the descriptions do).
_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_BREAKS = r"\x09\x0a\x0d"
_SURROGATES = "\ud800-\udfff"
# What stripping removes from the ends of a name (Unicode White_Space less the controls).
_SPACES = r" \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_FORBIDDEN_IN_LINE = re.compile(f"[{_CONTROLS}{_BREAKS}{_SURROGATES}]")
_FORBIDDEN_IN_BLOCK = re.compile(f"[{_CONTROLS}{_SURROGATES}]")


def _refuse(what: str, char: str, index: int) -> PydanticCustomError:
    return PydanticCustomError(
        "control_character",
        "{what} must not contain control characters or unpaired surrogates"
        " (U+{code} at index {index})",
        {"what": what, "code": f"{ord(char):04X}", "index": index},
    )


@dataclass(frozen=True)
class Printable:
    """A string without control characters; ``multiline``: tab, line feed and carriage return
    allowed. ``min_stripped``: for a field that is stripped (StringConstraints'
    strip_whitespace) and must keep that many characters, the pattern says so too, so that
    every string the OpenAPI document admits is accepted."""

    multiline: bool = False
    min_stripped: int = 0

    @property
    def pattern(self) -> str:
        any_ = f"[^{_CONTROLS}]" if self.multiline else f"[^{_CONTROLS}{_BREAKS}]"
        shown = f"[^{_CONTROLS}{_BREAKS}{_SPACES}]"  # survives stripping
        if self.min_stripped == 0:
            return f"^{any_}*$"
        if self.min_stripped == 1:
            return f"^{any_}*{shown}{any_}*$"
        middle = f"{any_}{{{self.min_stripped - 2},}}"
        return f"^[{_SPACES}]*{shown}{middle}{shown}[{_SPACES}]*$"

    def check(self, value: str, what: str = "the text") -> str:
        forbidden = _FORBIDDEN_IN_BLOCK if self.multiline else _FORBIDDEN_IN_LINE
        found = forbidden.search(value)
        if found:
            raise _refuse(what, found.group(), found.start())
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.pattern
        return json_schema


TEXT_LINE = Printable()  # one line: no control characters at all
TEXT_BLOCK = Printable(multiline=True)  # free text: tab, line feed, carriage return allowed

Line = Annotated[str, TEXT_LINE]  # e.g. a query parameter that reaches SQL or the log


def stripped_line(min_length: int, max_length: int) -> Any:
    """One line of text, stripped, ``min_length`` to ``max_length`` characters once stripped."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        Printable(min_stripped=min_length),
    ]


Name = stripped_line(1, 255)
Token = Annotated[
    str,
    StringConstraints(min_length=10, max_length=512, pattern=r"^[\x21-\x7e]+$"),
    Field(description="as issued (visible ASCII)"),
]


def _bcrypt_limit(value: str) -> str:
    if len(value.encode()) > 72:
        raise ValueError("password must be at most 72 bytes in UTF-8")
    return value


Password = Annotated[
    str,
    Field(min_length=8, max_length=72, description="8 to 72 bytes (bcrypt's limit)"),
    AfterValidator(_bcrypt_limit),
    TEXT_LINE,  # bcrypt would end the password at a NUL
]
# A password being checked (log-in, change): free text, so that any password set before
# these rules still works; NUL and the other control characters cannot match one.
GivenPassword = Annotated[str, Field(min_length=1, max_length=72), TEXT_BLOCK]


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return value


@dataclass(frozen=True)
class HttpUrl(Printable):
    """One line of text that starts with http:// or https:// (the pattern says so too)."""

    @property
    def pattern(self) -> str:
        return f"^https?://[^{_CONTROLS}{_BREAKS}]*$"


AvatarUrl = Annotated[str, StringConstraints(max_length=2048), AfterValidator(_http_url), HttpUrl()]


# Free-form JSON (settings) ----------------------------------------------------------------------
# Any JSON object, within limits that keep every event storable and every read answerable:
# at most ``depth`` nested objects/arrays (the field itself is level 1) and ``bytes`` as
# compact UTF-8 JSON; keys one line, string values free text (no control characters but tab,
# line feed, carriage return); numbers finite; the key "_type_" is reserved (the event
# store's JSON transcoder reads {"_type_", "_data_"} as one of its own values).
RESERVED_KEY = "_type_"


@dataclass(frozen=True)
class JsonLimits:
    depth: int = 20  # MAX_JSON_DEPTH
    bytes: int = 65_536  # MAX_JSON_FIELD_BYTES


# The app's limits, set for each request by body_limit.BodyLimit (the defaults otherwise).
DEFAULT_JSON_LIMITS = JsonLimits()
json_limits: ContextVar[JsonLimits] = ContextVar("json_limits", default=DEFAULT_JSON_LIMITS)


def _json_error(message: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError("json_limits", message, context)


def _check_leaf(value: Any, path: str) -> None:
    if isinstance(value, str):
        TEXT_BLOCK.check(value, f"the string at {path}")
    elif isinstance(value, float) and not math.isfinite(value):
        raise _json_error("the number at {path} is not finite", path=path)
    elif value is not None and not isinstance(value, (bool, int, float)):
        raise _json_error("the value at {path} is not JSON", path=path)


def check_json_object(value: Any) -> Any:
    """The free-form JSON checks (iterative: a value nested 100,000 deep costs nothing)."""
    if not isinstance(value, dict):
        return value  # pydantic says it is not an object
    limits = json_limits.get()
    stack: list[tuple[Any, str, int]] = [(value, "$", 1)]
    while stack:
        node, path, depth = stack.pop()
        if depth > limits.depth:
            raise _json_error(
                "nested deeper than {limit} levels (at {path})", limit=limits.depth, path=path
            )
        if isinstance(node, dict):
            children = []
            for key, child in node.items():
                if key == RESERVED_KEY:
                    raise _json_error("the key {key} at {path} is reserved", key=key, path=path)
                TEXT_LINE.check(key, f"the key at {path}")
                children.append((f"{path}.{key}", child))
        else:
            children = [(f"{path}[{i}]", child) for i, child in enumerate(node)]
        for child_path, child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, child_path, depth + 1))
            else:
                _check_leaf(child, child_path)
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > limits.bytes:
        raise _json_error(
            "{size} bytes as JSON; at most {limit} are allowed", size=size, limit=limits.bytes
        )
    return value


@dataclass(frozen=True)
class WithDescription:
    """A description in the OpenAPI document that also holds inside ``X | None``."""

    text: str

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), "description": self.text}


class _JsonKeys:
    """States the keys' rules as ``propertyNames`` (pydantic would write ``patternProperties``,
    which lets any other key through) and the reserved key; the check is above."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        names: dict[str, Any] = {"pattern": TEXT_LINE.pattern, "not": {"const": RESERVED_KEY}}
        for values in json_schema.pop("patternProperties", {}).values():
            json_schema["additionalProperties"] = values
        json_schema["propertyNames"] = names
        return json_schema


JsonString = Annotated[str, TEXT_BLOCK]
JsonNumber = Annotated[float, AllowInfNan(False)]
_JsonMap = Annotated[dict[Annotated[str, TEXT_LINE], "JsonValue"], _JsonKeys]
# What the OpenAPI document says a free-form JSON value is (validation is check_json_object).
JsonValue = TypeAliasType(
    "JsonValue",
    JsonString | int | JsonNumber | bool | list["JsonValue"] | _JsonMap | None,
)
JsonMap = Annotated[dict[Annotated[str, TEXT_LINE], JsonValue], _JsonKeys]
JsonObject = Annotated[
    dict[str, Any],
    BeforeValidator(check_json_object, json_schema_input_type=JsonMap),
    WithDescription(
        "Free-form JSON: an object at most MAX_JSON_DEPTH levels deep (default 20) and "
        "MAX_JSON_FIELD_BYTES as compact UTF-8 JSON (default 65,536); keys one line, without "
        'control characters, and not "_type_"; strings without control characters but tab, '
        "line feed and carriage return, nor unpaired surrogates; numbers finite."
    ),
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
        if isinstance(value, float) and math.isfinite(value * 100):  # huge: the bounds refuse it
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


# A header value: visible ASCII, spaces only inside (RFC 9110 field values, no controls).
HEADER_VALUE = r"^[!-~](?:[ -~]*[!-~])?$"


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
NOT_MODIFIED = {
    304: {"description": "Not Modified: the If-None-Match entity tag is current (no body)"}
}


def accepted(collection: str, ident: UUID, position: int | None) -> JSONResponse:
    """202: the command is in the log but the read model has not caught up within the wait
    bound; the client can poll ``Location`` (or resume real-time from ``position``)."""
    body = Accepted(id=ident, position=position).model_dump(mode="json")
    return JSONResponse(
        body, status_code=202, headers={"Location": f"/api/v1/{collection}/{ident}"}
    )


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'
