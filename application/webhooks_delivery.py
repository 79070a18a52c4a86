"""Sending webhook deliveries: one endpoint at a time, in log order, with retries.

The delivery job (interfaces/jobs/webhooks.py) calls ``WebhookSender.run(endpoint_id)`` when
the policy queued something for the endpoint, and again when a retry falls due. ``run`` takes
the endpoint's turn (one sender per endpoint across every worker: ``DeliveryLog.turn``), then
sends its oldest pending delivery, and the next, until none is due: a later delivery waits
for the earlier one, so an endpoint hears its workspace's events in log order even across
retries. A failed attempt (no 2xx answer within the timeout, a refused address) is retried
with exponential backoff and jitter until ``retry_seconds`` (24 h) after its first attempt,
then marked ``failed`` and the next one goes. An endpoint whose attempts have all failed for
``disable_after_seconds`` (24 h) is disabled (a command: its admins are notified).

Each request: ``POST`` of the JSON body with ``Content-Type: application/json``,
``WorkSync-Event``, ``WorkSync-Delivery`` (the delivery's id; the same on every retry, a
redelivery by hand has its own) and ``WorkSync-Signature: t=<unix time>,v1=<hex>``, the
HMAC-SHA256 with the endpoint's secret of ``"<t>.<body>"`` (Stripe's scheme). The URL is
checked again after DNS resolution (application/webhooks.py ``check_url``) and the request
goes to the address checked. Redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

import orjson

from application.webhooks import RefusedTarget, Resolve, Target, check_url

SIGNATURE_HEADER = "WorkSync-Signature"
DELIVERY_HEADER = "WorkSync-Delivery"
EVENT_HEADER = "WorkSync-Event"
USER_AGENT = "WorkSync-Webhooks/1"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``WorkSync-Signature`` value: ``t=<timestamp>,v1=<hex HMAC-SHA256>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int, now: int) -> bool:
    """What a receiver does: the signature matches and its time is within ``tolerance``."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return abs(now - timestamp) <= tolerance and hmac.compare_digest(expected, parts.get("v1", ""))


def backoff(attempts: int, base: float, cap: float, rng: Callable[[], float]) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: exponential, capped,
    with jitter (between half and all of it, so retries of many endpoints spread out)."""
    delay = min(cap, base * 2 ** min(attempts - 1, 30))
    return delay / 2 + delay / 2 * rng()


@dataclass(frozen=True)
class Pending:
    """An endpoint's oldest pending delivery, with what sending it needs."""

    id: UUID
    event: str
    body: dict[str, Any]
    attempts: int
    next_attempt_at: datetime
    first_attempt_at: datetime | None
    url: str
    secret: str
    failing_since: datetime | None


@dataclass(frozen=True)
class Answer:
    """What an attempt got: an HTTP status (None: no answer), latency and first bytes."""

    status: int | None
    latency_ms: int
    excerpt: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Turn(Protocol):
    """One endpoint's turn: its pending deliveries, and what attempts record."""

    def head(self) -> Pending | None: ...

    def succeeded(self, delivery: Pending, answer: Answer, at: datetime) -> None: ...

    def retry(self, delivery: Pending, answer: Answer, at: datetime, next_at: datetime) -> None: ...

    def failed(self, delivery: Pending, answer: Answer, at: datetime) -> datetime: ...

    def schedule(self, at: datetime) -> bool: ...


class DeliveryLog(Protocol):
    def turn(self, endpoint_id: UUID) -> AbstractContextManager[Turn | None]: ...

    def due(self, endpoint_id: UUID) -> bool: ...

    def woke(self, endpoint_id: UUID, at: datetime) -> None: ...


class Transport(Protocol):
    def post(self, target: Target, headers: dict[str, str], body: bytes) -> Answer: ...


@dataclass(frozen=True)
class DeliveryRules:
    allow_http: bool = False
    allow_private: bool = False
    retry_seconds: float = 86_400
    disable_after_seconds: float = 86_400
    backoff_seconds: float = 30
    backoff_cap_seconds: float = 3_600


class WebhookSender:
    def __init__(
        self,
        log: DeliveryLog,
        transport: Transport,
        rules: DeliveryRules,
        disable: Callable[[UUID, str, datetime], None],
        *,
        resolve: Resolve,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: Callable[[], float] = random.random,
        close: Callable[[], None] | None = None,
    ) -> None:
        self.log = log
        self._close = close
        self.transport = transport
        self.rules = rules
        self.disable = disable
        self.resolve = resolve
        self.clock = clock
        self.rng = rng

    def close(self) -> None:
        if self._close is not None:
            self._close()

    def attempt(self, delivery: Pending) -> Answer:
        try:
            target = check_url(
                delivery.url,
                allow_http=self.rules.allow_http,
                allow_private=self.rules.allow_private,
                resolve=self.resolve,
            )
        except RefusedTarget as e:
            return Answer(status=None, latency_ms=0, error=f"refused: {e}")
        body = orjson.dumps(delivery.body)
        timestamp = int(self.clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_HEADER: delivery.event,
            DELIVERY_HEADER: str(delivery.id),
            SIGNATURE_HEADER: sign(delivery.secret, timestamp, body),
        }
        return self.transport.post(target, headers, body)

    def run(self, endpoint_id: UUID, woke_for: datetime | None = None) -> datetime | None:
        """Send the endpoint's due deliveries in order. Returns when its next one falls due
        (the caller queues a wake-up for then, passing it back as ``woke_for``); None when
        none is pending, or when an earlier or equal wake-up is already queued."""
        if woke_for is not None:
            self.log.woke(endpoint_id, woke_for)
        while True:
            with self.log.turn(endpoint_id) as turn:
                if turn is None:
                    return None  # its sender re-checks after letting go (below)
                due = self._drain(endpoint_id, turn)
            if due is not None or not self.log.due(endpoint_id):
                return due
            # Queued while this sender was letting go: whoever was told found it busy.

    def _drain(self, endpoint_id: UUID, turn: Turn) -> datetime | None:
        for delivery in _heads(turn):
            if delivery.next_attempt_at > self.clock():
                due = delivery.next_attempt_at
                return due if turn.schedule(due) else None
            answer = self.attempt(delivery)
            at = self.clock()
            if answer.ok:
                turn.succeeded(delivery, answer, at)
                continue
            first = delivery.first_attempt_at or at
            if at - first >= timedelta(seconds=self.rules.retry_seconds):
                failing_since = turn.failed(delivery, answer, at)
            else:
                delay = backoff(
                    delivery.attempts + 1,
                    self.rules.backoff_seconds,
                    self.rules.backoff_cap_seconds,
                    self.rng,
                )
                turn.retry(delivery, answer, at, at + timedelta(seconds=delay))
                failing_since = delivery.failing_since or at
            if at - failing_since >= timedelta(seconds=self.rules.disable_after_seconds):
                hours = self.rules.disable_after_seconds / 3600
                reason = f"every delivery failed for {hours:g} h (last: {_summary(answer)})"
                self.disable(endpoint_id, reason, failing_since)
                return None
        return None


def _heads(turn: Turn) -> Iterator[Pending]:
    while (delivery := turn.head()) is not None:
        yield delivery


def _summary(answer: Answer) -> str:
    if answer.status is not None:
        return f"HTTP {answer.status}"
    return answer.error or "no answer"
