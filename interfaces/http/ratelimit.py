"""Rate limiting: per IP and per signed-in user on every request (pure ASGI middleware), plus
the login and forgot-password checks the routes call.

Counters live in Redis (``REDIS_URL``) so that every worker and replica shares them, or in
process memory when there is no Redis. Moving windows: a limit of N per window means at most N
hits in any window-long span, and a 429's ``Retry-After`` is when the oldest hit leaves it.

Rate limiting must never take the API down: when the store fails (Redis unreachable, slow),
requests go through (fail open), a warning is logged, and the store is left alone for a few
seconds before it is tried again.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import jwt
import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute
from limits import RateLimitItemPerSecond as PerSecond
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.config import Settings
from application.errors import TooManyRequests
from application.identity import ACCESS, Tokens
from application.security_log import security_event
from domain.identity import normalize_email
from interfaces import metrics
from interfaces.http.problems import problem

log = structlog.get_logger("ratelimit")
T = TypeVar("T")

# Not rate limited: probes and the API docs.
EXEMPT_PATHS = frozenset(
    {"/health", "/ready", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/metrics"}
)
LOGIN_FAILURE_WINDOW_MINUTES = 15
STORE_TIMEOUT = 1.0  # seconds for one round of store calls before failing open
SUSPEND_AFTER_FAILURE = 5.0  # seconds to leave a failing store alone (requests pass)

HEADER_LIMIT = "X-RateLimit-Limit"
HEADER_REMAINING = "X-RateLimit-Remaining"
HEADER_RESET = "X-RateLimit-Reset"


@dataclass(frozen=True)
class Usage:
    """The state of one limit after a hit (or a look)."""

    allowed: bool
    limit: int
    remaining: int
    reset: float  # epoch seconds when the window frees a slot

    @property
    def retry_after(self) -> int:
        """Whole seconds until a request may succeed again (at least 1)."""
        return max(1, math.ceil(self.reset - time.time()))

    def headers(self) -> dict[str, str]:
        headers = {
            HEADER_LIMIT: str(self.limit),
            HEADER_REMAINING: str(max(0, self.remaining)),
            HEADER_RESET: str(math.ceil(self.reset)),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class RateLimited(TooManyRequests):
    """A 429 whose response carries Retry-After and the X-RateLimit-* headers."""

    def __init__(self, detail: str, usage: Usage, limit: str = "route") -> None:
        super().__init__(detail, retry_after=usage.retry_after)
        self.usage = usage
        self.headers = usage.headers()
        self.limit = limit  # which limit: login_ip, login_account, forgot_password...


def count_block(limit: str, path: str, ip: str | None, user_id: str | None = None) -> None:
    """A request refused with 429: counted, and logged as a security event."""
    metrics.RATE_LIMITED.labels(limit).inc()
    security_event("rate_limit_blocked", user_id=user_id, limit=limit, path=path, ip=ip)


def storage_uri(redis_url: str | None) -> str:
    """REDIS_URL as a `limits` async storage URI; in-process memory without one."""
    if not redis_url:
        return "async+memory://"
    if redis_url.startswith("async+"):
        return redis_url
    if redis_url.startswith("unix://"):
        return "async+redis+unix://" + redis_url.removeprefix("unix://")
    return "async+" + redis_url


def _account_key(email: str) -> str:
    """E-mail addresses are not stored in the counters' keys, only a digest."""
    return hashlib.sha256(normalize_email(email).encode()).hexdigest()[:32]


class RateLimits:
    """The limits of one deployment, built from settings; owns the store and the limiter."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limit_enabled
        self.prefix = settings.rate_limit_prefix
        self.uri = storage_uri(settings.redis_url)
        self.jwt_secret = settings.jwt_secret
        namespace = f"{self.prefix}:rl"
        window_seconds = max(1, math.ceil(settings.rate_limit_window_ms / 1000))
        self.ip_limit: RateLimitItem = PerSecond(
            settings.rate_limit_max_requests, window_seconds, namespace=namespace
        )
        self.user_limit: RateLimitItem = RateLimitItemPerHour(
            settings.rate_limit_user_per_hour, namespace=namespace
        )
        self.login_ip_limit: RateLimitItem = RateLimitItemPerMinute(
            settings.login_rate_ip_per_minute, namespace=namespace
        )
        self.login_failure_limit: RateLimitItem = RateLimitItemPerMinute(
            settings.login_failures_per_account,
            LOGIN_FAILURE_WINDOW_MINUTES,
            namespace=namespace,
        )
        self.forgot_password_limit: RateLimitItem = RateLimitItemPerHour(
            settings.forgot_password_per_hour, namespace=namespace
        )
        self._suspended_until = 0.0
        self._open()

    def _open(self) -> None:
        options: dict[str, Any] = {}
        if not self.uri.startswith("async+memory"):
            options = {
                "key_prefix": self.prefix,
                "connect_timeout": STORE_TIMEOUT / 2,
                "stream_timeout": STORE_TIMEOUT / 2,
            }
        self.storage = storage_from_string(self.uri, wrap_exceptions=True, **options)
        self.limiter = MovingWindowRateLimiter(self.storage)

    async def aclose(self) -> None:
        """Close the Redis connections (at shutdown); a later use opens new ones."""
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        pool = getattr(client, "connection_pool", None)
        if pool is None:
            return
        try:
            pool.disconnect()
        except Exception as exc:
            log.warning("closing the rate limit store failed", error=repr(exc))
        self._open()

    # -- primitives ---------------------------------------------------------------------

    async def _guard(self, operation: Callable[[], Awaitable[T]]) -> T | None:
        """Run store calls; None (fail open) when disabled or the store is failing."""
        if not self.enabled or time.monotonic() < self._suspended_until:
            return None
        try:
            async with asyncio.timeout(STORE_TIMEOUT):
                return await operation()
        except Exception as exc:
            self._suspended_until = time.monotonic() + SUSPEND_AFTER_FAILURE
            log.warning(
                "rate limit store unavailable; letting requests through",
                store=self.uri.split("@")[-1],
                error=repr(exc),
                retry_in_s=SUSPEND_AFTER_FAILURE,
            )
            return None

    async def _hit(self, item: RateLimitItem, keys: tuple[str, ...]) -> Usage:
        allowed = await self.limiter.hit(item, *keys)
        stats = await self.limiter.get_window_stats(item, *keys)
        return Usage(allowed, item.amount, max(0, stats.remaining), stats.reset_time)

    async def _look(self, item: RateLimitItem, keys: tuple[str, ...]) -> Usage:
        stats = await self.limiter.get_window_stats(item, *keys)
        return Usage(stats.remaining > 0, item.amount, max(0, stats.remaining), stats.reset_time)

    async def hit(self, item: RateLimitItem, *keys: str) -> Usage | None:
        """Count one request against ``item`` for ``keys``; None when not limiting
        (disabled, or the store failed and the request is let through)."""
        return await self._guard(lambda: self._hit(item, keys))

    async def hit_all(self, checks: list[tuple[RateLimitItem, tuple[str, ...]]]) -> list[Usage]:
        """Several hits at once (concurrently); [] when not limiting."""
        if not checks:
            return []

        async def run() -> list[Usage]:
            return list(await asyncio.gather(*(self._hit(item, keys) for item, keys in checks)))

        return await self._guard(run) or []

    async def peek(self, item: RateLimitItem, *keys: str) -> Usage | None:
        """The state of a limit without counting a hit; None when not limiting."""
        return await self._guard(lambda: self._look(item, keys))

    async def clear(self, item: RateLimitItem, *keys: str) -> None:
        await self._guard(lambda: self.limiter.clear(item, *keys))

    # -- route helpers ------------------------------------------------------------------

    async def check_login(self, ip: str, email: str) -> None:
        """Before checking a password: every attempt counts against the IP's per-minute
        limit, and an account with too many recent failures is refused (even with the right
        password) until its window passes. Raises RateLimited."""
        usage = await self.hit(self.login_ip_limit, "login-ip", ip)
        if usage is not None and not usage.allowed:
            raise RateLimited(
                "too many sign-in attempts from this address; try again later", usage, "login_ip"
            )
        account = await self.peek(self.login_failure_limit, "login-fail", _account_key(email))
        if account is not None and not account.allowed:
            raise RateLimited(
                "too many failed sign-in attempts for this account; try again later",
                account,
                "login_account",
            )

    async def login_blocked(self, email: str) -> bool:
        """Has the account reached its failed-login limit in the current window?"""
        account = await self.peek(self.login_failure_limit, "login-fail", _account_key(email))
        return account is not None and not account.allowed

    async def record_login_failure(self, email: str) -> None:
        """Count one failed sign-in (wrong password or unknown e-mail) for the account."""
        await self.hit(self.login_failure_limit, "login-fail", _account_key(email))

    async def clear_login_failures(self, email: str) -> None:
        """Forget the account's failures (call after a successful sign-in)."""
        await self.clear(self.login_failure_limit, "login-fail", _account_key(email))

    async def check_forgot_password(self, ip: str, email: str) -> None:
        """Password-reset requests: per hour per IP and per e-mail. Raises RateLimited."""
        usages = await self.hit_all(
            [
                (self.forgot_password_limit, ("forgot-ip", ip)),
                (self.forgot_password_limit, ("forgot-email", _account_key(email))),
            ]
        )
        blocked = [u for u in usages if not u.allowed]
        if blocked:
            raise RateLimited(
                "too many password-reset requests; try again later",
                max(blocked, key=lambda u: u.reset),
                "forgot_password",
            )

    # -- the caller ---------------------------------------------------------------------

    def user_of(self, authorization: str) -> str | None:
        """The user id in a valid access token (``Bearer <jwt>``); None otherwise (the
        route's authentication rejects invalid tokens, not this)."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            claims = jwt.decode(token.strip(), self.jwt_secret, algorithms=[Tokens.algorithm])
        except jwt.PyJWTError:
            return None
        sub = claims.get("sub")
        if claims.get("type") != ACCESS or not isinstance(sub, str):
            return None
        return sub


def client_ip(scope: Scope) -> str:
    """The client address: the socket peer, or, behind a proxy listed in FORWARDED_ALLOW_IPS,
    the address it forwarded (uvicorn rewrites the scope's client from X-Forwarded-For)."""
    client = scope.get("client")
    return client[0] if client else "unknown"


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return ""


class RateLimitMiddleware:
    """Per-IP limit on every HTTP request (except probes and docs), plus the per-user hourly
    limit when a valid access token is presented. Answers 429 without calling the app."""

    def __init__(self, app: ASGIApp, rate_limits: RateLimits) -> None:
        self.app = app
        self.limits = rate_limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limits.enabled or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        checks = [(self.limits.ip_limit, ("ip", client_ip(scope)))]
        authorization = _header(scope, b"authorization")
        user = self.limits.user_of(authorization) if authorization else None
        if user:
            checks.append((self.limits.user_limit, ("user", user)))
        usages = await self.limits.hit_all(checks)
        if not usages:  # disabled or failing open
            await self.app(scope, receive, send)
            return
        over = [(u, check) for u, check in zip(usages, checks, strict=False) if not u.allowed]
        if over:
            usage, (_, (limit, _key)) = max(over, key=lambda pair: pair[0].reset)
            count_block(limit, scope["path"], client_ip(scope), user)
            response = problem(
                429,
                "too many requests; slow down and retry after the Retry-After delay",
                code=TooManyRequests.code,
                title=TooManyRequests.title,
                instance=scope["path"],
                headers=usage.headers(),
                retry_after=usage.retry_after,
            )
            await response(scope, receive, send)
            return
        tightest = min(usages, key=lambda u: (u.remaining, u.reset))
        extra = [(k.lower().encode(), v.encode()) for k, v in tightest.headers().items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                # A route's own limit headers (e.g. a login 429) win over the global ones.
                headers.extend((k, v) for k, v in extra if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _rate_limited(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    count_block(exc.limit, request.url.path, client_ip(request.scope))
    return problem(
        exc.status,
        exc.detail,
        code=exc.code,
        title=exc.title,
        instance=request.url.path,
        headers=exc.headers,
        **exc.extra,
    )


def install(app: FastAPI, rate_limits: RateLimits) -> RateLimits:
    """Add the middleware and the RateLimited handler, and close the store at shutdown
    (wraps the app's lifespan). Routes get ``rate_limits`` through the ``RateLimitsDep``
    dependency (``app.state.rate_limits``)."""
    app.state.rate_limits = rate_limits
    app.add_exception_handler(RateLimited, _rate_limited)
    app.add_middleware(RateLimitMiddleware, rate_limits=rate_limits)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        async with inner(app) as state:
            try:
                yield state
            finally:
                await rate_limits.aclose()

    app.router.lifespan_context = lifespan
    return rate_limits


def get_rate_limits(request: Request) -> RateLimits:
    rate_limits = getattr(request.app.state, "rate_limits", None)
    if rate_limits is None:
        raise RuntimeError("rate limits are not installed: call ratelimit.install(app, ...)")
    return rate_limits


async def request_ip(request: Request) -> str:
    return client_ip(request.scope)


async def _rate_limits_dependency(request: Request) -> RateLimits:
    return get_rate_limits(request)  # async: no worker-thread hop


RateLimitsDep = Annotated[RateLimits, Depends(_rate_limits_dependency)]
ClientIp = Annotated[str, Depends(request_ip)]
