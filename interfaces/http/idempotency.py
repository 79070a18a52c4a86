"""``Idempotency-Key`` on POST creates (IETF httpapi draft "The Idempotency-Key HTTP Header
Field"): a client that did not get the answer retries with the same key and is answered as the
first time (status, body, ``Location``), and nothing is created twice.

Keys are per user and per endpoint (method and path), kept in PostgreSQL
(``idempotency_keys``, migrations/0008) for ``KEY_TTL``. While the first request runs its key
is reserved: a retry then is 409. The same key with another body is 422. A 2xx answer is kept
(202 included: the command committed); any other answer frees the key, since nothing was
written. A reservation whose request never answered (the process died) is taken over after
``IN_FLIGHT_LEASE``.

``CommandRoute`` (the routers' ``route_class``) gives every POST that answers 201 the
dependency, so the header is declared in the OpenAPI document of each of them.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

import orjson
import structlog
from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from psycopg.types.json import Jsonb

from application.errors import Conflict, Invalid
from interfaces.http.deps import ContainerDep, CurrentUser
from interfaces.http.guard import READ_PATHS, request_state
from interfaces.http.schemas import HEADER_VALUE

log = structlog.get_logger("http.idempotency")
KEY_TTL = timedelta(hours=24)
IN_FLIGHT_LEASE = timedelta(seconds=60)
KEPT_HEADERS = (b"content-type", b"location", b"etag")

RESERVE = """
INSERT INTO idempotency_keys (user_id, endpoint, key, fingerprint, expires_at)
VALUES (%(user)s, %(endpoint)s, %(key)s, %(fingerprint)s, now() + %(ttl)s)
ON CONFLICT (user_id, endpoint, key) DO UPDATE
SET fingerprint = EXCLUDED.fingerprint, status = NULL, headers = NULL, body = NULL,
    created_at = now(), expires_at = EXCLUDED.expires_at
WHERE idempotency_keys.expires_at < now()
   OR (idempotency_keys.status IS NULL AND idempotency_keys.created_at < now() - %(lease)s)
RETURNING 1
"""
FIRST = (
    "SELECT fingerprint, status, headers, body FROM idempotency_keys"
    " WHERE user_id = %(user)s AND endpoint = %(endpoint)s AND key = %(key)s"
)
KEEP = (
    "UPDATE idempotency_keys SET status = %(status)s, headers = %(headers)s, body = %(body)s"
    " WHERE user_id = %(user)s AND endpoint = %(endpoint)s AND key = %(key)s"
    " AND fingerprint = %(fingerprint)s AND status IS NULL"
)
FREE = (
    "DELETE FROM idempotency_keys WHERE user_id = %(user)s AND endpoint = %(endpoint)s"
    " AND key = %(key)s AND fingerprint = %(fingerprint)s AND status IS NULL"
)
EXPIRED = "DELETE FROM idempotency_keys WHERE user_id = %(user)s AND expires_at < now()"


class KeyReused(Invalid):
    code, title = "idempotency-key-reused", "Idempotency-Key used with another request"


class KeyInFlight(Conflict):
    code, title = "idempotency-key-in-flight", "A request with this Idempotency-Key is running"


class Replay(Exception):
    """The first answer to this key, to send again."""

    def __init__(self, status: int, headers: list[list[str]], body: bytes) -> None:
        super().__init__(status)
        self.status, self.headers, self.body = status, headers, body


def fingerprint(body: bytes) -> str:
    """The request body's digest; JSON is compared by value (key order, spacing ignored)."""
    with contextlib.suppress(orjson.JSONDecodeError):
        body = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(body).hexdigest()


def _parse(value: str) -> str:
    """The draft's value is a Structured Field string (``"abc"``); a bare token is taken too."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not value or not value.isprintable():
        raise Invalid("Idempotency-Key must be a non-empty string of printable characters")
    return value


async def idempotency_key(
    request: Request,
    caller: CurrentUser,
    container: ContainerDep,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=255,
            pattern=HEADER_VALUE,
            description="Retry safely: the same key and body within 24 h get the first answer"
            " (nothing is created twice); the same key with another body is 422, while the"
            " first request runs 409 (IETF draft-ietf-httpapi-idempotency-key-header)",
        ),
    ] = None,
) -> None:
    if key is None:
        return
    params: dict[str, Any] = {
        "user": caller.id,
        "endpoint": f"{request.method} {request.url.path}",
        "key": _parse(key),
        "fingerprint": fingerprint(await request.body()),
        "ttl": KEY_TTL,
        "lease": IN_FLIGHT_LEASE,
    }
    # Keys are written: on the primary's pool, even when queries go to a read replica.
    async with container.pool.connection() as conn:
        for _ in range(3):  # the first answer may free the key between the two statements
            await conn.execute(EXPIRED, params)
            if await (await conn.execute(RESERVE, params)).fetchone():
                state = request_state()
                if state is not None:
                    state.on_response.append(_keeper(container.pool, params))
                return
            first = await (await conn.execute(FIRST, params)).fetchone()
            if first is None:
                continue
            stored_fingerprint, status, headers, body = first
            if stored_fingerprint != params["fingerprint"]:
                raise KeyReused("this Idempotency-Key was used with another request body")
            if status is None:
                break
            raise Replay(status, headers, body)
    raise KeyInFlight("a request with this Idempotency-Key is still being processed; retry later")


def _keeper(pool: Any, params: dict[str, Any]) -> Callable[..., Any]:
    async def keep(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        async with pool.connection() as conn:
            if 200 <= status < 300:
                kept = [[k.decode(), v.decode()] for k, v in headers if k.lower() in KEPT_HEADERS]
                await conn.execute(
                    KEEP, {**params, "status": status, "headers": Jsonb(kept), "body": body}
                )
            else:
                await conn.execute(FREE, params)

    return keep


async def _replay(request: Request, exc: Replay) -> Response:
    response = Response(exc.body, status_code=exc.status)
    for name, value in exc.headers:
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


class CommandRoute(APIRoute):
    """The routers' route class: a POST answering 201 takes an ``Idempotency-Key``; a
    ``GET /<collection>/{id}`` is noted as where its response model is read
    (``guard.READ_PATHS``, for the ``Location`` of a 202)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {m.upper() for m in kwargs.get("methods") or ()}
        if methods == {"POST"} and kwargs.get("status_code") == 201:
            kwargs["dependencies"] = [
                *(kwargs.get("dependencies") or []),
                Depends(idempotency_key),
            ]
        super().__init__(path, endpoint, **kwargs)
        if "GET" in self.methods and re.fullmatch(r"/[^/{}]+/\{[^/{}]+\}", path):
            READ_PATHS.setdefault(self.response_model, path.rsplit("/", 1)[0])


def install(app: FastAPI) -> None:
    app.add_exception_handler(Replay, _replay)
