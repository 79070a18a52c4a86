"""Webhook rules without PostgreSQL: the endpoint aggregate, the URL check against SSRF, the
signature, the backoff, and the sender's order, retries, give-up and disabling (with a fake
delivery log, transport and clock)."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from application.webhooks import RefusedTarget, check_url
from application.webhooks_delivery import (
    Answer,
    DeliveryRules,
    Pending,
    WebhookSender,
    backoff,
    sign,
    verify,
)
from domain.shared import Gone, RuleBroken
from domain.webhooks import WebhookEndpoint, delivery_id


def endpoint() -> WebhookEndpoint:
    return WebhookEndpoint(
        workspace_id=uuid.uuid4(),
        url="https://hooks.example/x",
        events=["*"],
        secret="s" * 20,
        description=None,
        actor_id=uuid.uuid4(),
    )


def test_endpoint_rules():
    with pytest.raises(RuleBroken):
        WebhookEndpoint(
            workspace_id=uuid.uuid4(),
            url="https://x",
            events=[],
            secret="s",
            description=None,
            actor_id=uuid.uuid4(),
        )
    e = endpoint()
    actor = uuid.uuid4()
    with pytest.raises(RuleBroken):
        e.update(actor, secret="nope")
    with pytest.raises(RuleBroken):
        e.update(actor, events=["a", "a"])
    e.update(actor, url="https://hooks.example/x")  # unchanged: nothing recorded
    assert len(e.collect_events()) == 1
    e.disable("failing", "2026-01-01T00:00:00+00:00")
    assert (e.active, e.disabled_reason) == (False, "failing")
    e.disable("again", "2026-01-01T00:00:00+00:00")  # already inactive: nothing recorded
    e.update(actor, active=True)
    assert (e.active, e.disabled_reason) == (True, None)
    e.delete(actor)
    with pytest.raises(Gone):
        e.ping(actor)
    names = [type(x).__name__ for x in e.collect_events()]
    assert names == ["Disabled", "Updated", "Deleted"]


def test_delivery_ids_are_stable_per_endpoint_position_and_redelivery():
    a, b = uuid.uuid4(), uuid.uuid4()
    assert delivery_id(a, 7) == delivery_id(a, 7)
    assert len({delivery_id(a, 7), delivery_id(b, 7), delivery_id(a, 8)}) == 3
    assert delivery_id(a, 9, delivery_id(a, 7)) != delivery_id(a, 9)


def resolver(table):
    return lambda host, port: table[host]


@pytest.mark.parametrize(
    ("addresses", "refused"),
    [
        (["93.184.215.14"], None),
        (["2606:2800:21f:cb07:6820:80da:af6b:8b2c"], None),
        (["127.0.0.2"], "loopback"),
        (["93.184.215.14", "10.0.0.7"], "private"),  # one bad answer among good ones
        (["172.16.5.4"], "private"),
        (["fe80::1"], "link-local"),
        (["fd00::1"], "private"),
        (["::ffff:169.254.169.254"], "link-local"),
        (["239.1.2.3"], "multicast"),
        (["::"], "unspecified"),
        ([], "does not resolve"),
    ],
)
def test_names_are_judged_by_every_address_they_resolve_to(addresses, refused):
    resolve = resolver({"hooks.example": addresses})
    if refused is None:
        target = check_url(
            "https://hooks.example:8443/in?x=1",
            allow_http=False,
            allow_private=False,
            resolve=resolve,
        )
        assert (target.host, target.port, target.address) == ("hooks.example", 8443, addresses[0])
        return
    with pytest.raises(RefusedTarget, match=refused):
        check_url("https://hooks.example/", allow_http=False, allow_private=False, resolve=resolve)


def test_allow_settings_open_http_and_private_addresses():
    resolve = resolver({"box.local": ["192.168.1.5"]})
    with pytest.raises(RefusedTarget, match="only https"):
        check_url("http://box.local/", allow_http=False, allow_private=True, resolve=resolve)
    target = check_url("http://box.local/", allow_http=True, allow_private=True, resolve=resolve)
    assert (target.scheme, target.port, target.address) == ("http", 80, "192.168.1.5")
    for bad in ("gopher://x/", "https:///nohost", "https://x:99999/"):
        with pytest.raises(RefusedTarget):
            check_url(bad, allow_http=True, allow_private=True, resolve=resolve)


def test_the_signature_is_stripes_scheme():
    body = b'{"event":"ping"}'
    header = sign("whsec_abc", 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=")
    assert verify("whsec_abc", header, body, tolerance=300, now=1_700_000_100)
    assert not verify("whsec_abc", header, body, tolerance=300, now=1_700_000_301)  # too old
    assert not verify("whsec_abd", header, body, tolerance=300, now=1_700_000_000)
    assert not verify("whsec_abc", header, body + b"x", tolerance=300, now=1_700_000_000)
    assert not verify("whsec_abc", "v1=deadbeef", body, tolerance=300, now=1_700_000_000)


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    assert backoff(1, 30, 3600, lambda: 0.0) == 15
    assert backoff(1, 30, 3600, lambda: 1.0) == 30
    assert backoff(4, 30, 3600, lambda: 1.0) == 240
    assert backoff(40, 30, 3600, lambda: 1.0) == 3600
    assert 1800 <= backoff(40, 30, 3600, lambda: 0.5) <= 3600


# The sender, with fakes ---------------------------------------------------------------------

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class FakeLog:
    """An endpoint's pending deliveries in order, and what attempts recorded."""

    def __init__(
        self, clock: Clock, events: list[str], url: str = "https://hooks.example/"
    ) -> None:
        self.clock = clock
        self.pending = [
            Pending(uuid.uuid4(), name, {"event": name}, 0, T0, None, url, "sec" * 6, None)
            for name in events
        ]
        self.done: list[tuple[str, str]] = []
        self.failing_since: datetime | None = None
        self.wake: datetime | None = None

    @contextmanager
    def turn(self, endpoint_id):
        yield self

    def due(self, endpoint_id) -> bool:
        return False

    def woke(self, endpoint_id, at) -> None:
        if self.wake == at:
            self.wake = None

    def head(self):
        if not self.pending:
            return None
        return replace(self.pending[0], failing_since=self.failing_since)

    def succeeded(self, d, answer, at):
        self.pending.pop(0)
        self.done.append((d.event, "succeeded"))
        self.failing_since = None

    def retry(self, d, answer, at, next_at):
        self.pending[0] = replace(
            d,
            attempts=d.attempts + 1,
            next_attempt_at=next_at,
            first_attempt_at=d.first_attempt_at or at,
        )
        self.failing_since = self.failing_since or at

    def failed(self, d, answer, at):
        self.pending.pop(0)
        self.done.append((d.event, "failed"))
        self.failing_since = self.failing_since or at
        return self.failing_since

    def schedule(self, at):
        if self.wake is not None and self.wake <= at:
            return False
        self.wake = at
        return True


class FakeTransport:
    def __init__(self, clock: Clock, answers) -> None:
        self.clock = clock
        self.answers = answers
        self.sent: list[tuple[str, str]] = []

    def post(self, target, headers, body):
        self.sent.append((headers["WorkSync-Event"], target.address))
        self.clock.now += timedelta(seconds=1)
        return self.answers(headers["WorkSync-Event"])


def sender(log, transport, clock, disabled, addresses=("93.184.215.14",), **rules):
    return WebhookSender(
        log,
        transport,
        DeliveryRules(backoff_seconds=10, **rules),
        lambda endpoint_id, reason, since: disabled.append((reason, since)),
        resolve=lambda host, port: list(addresses),
        clock=clock,
        rng=lambda: 1.0,
    )


def test_a_later_delivery_waits_for_the_earlier_one():
    clock = Clock()
    log = FakeLog(clock, ["a", "b"])
    answers = iter([Answer(500, 5), Answer(200, 5), Answer(200, 5)])
    transport = FakeTransport(clock, lambda name: next(answers))
    disabled: list = []
    s = sender(log, transport, clock, disabled)
    due = s.run(uuid.uuid4())
    assert due == T0 + timedelta(seconds=1 + 10)  # "a" retries in 10 s; "b" waits for it
    assert transport.sent == [("a", "93.184.215.14")]
    assert s.run(uuid.uuid4()) is None  # a wake-up for then is already queued
    clock.now = due
    assert s.run(uuid.uuid4(), due) is None
    assert [name for name, _ in transport.sent] == ["a", "a", "b"]
    assert log.done == [("a", "succeeded"), ("b", "succeeded")]
    assert disabled == []


def test_give_up_after_the_window_then_disable_after_a_day_of_failures():
    clock = Clock()
    log = FakeLog(clock, ["a", "b", "c"])
    transport = FakeTransport(clock, lambda name: Answer(503, 5))
    disabled: list = []
    s = sender(log, transport, clock, disabled, retry_seconds=100, disable_after_seconds=150)
    endpoint_id = uuid.uuid4()
    for _ in range(100):
        due = s.run(endpoint_id, log.wake)
        if due is None:
            break
        clock.now = due
    assert log.done[0] == ("a", "failed")
    assert len(disabled) == 1
    reason, since = disabled[0]
    assert since == T0 + timedelta(seconds=1)
    assert "HTTP 503" in reason
    assert ("c", "succeeded") not in log.done


def test_an_address_refused_after_resolution_is_not_called():
    clock = Clock()
    log = FakeLog(clock, ["a"])
    transport = FakeTransport(clock, lambda name: Answer(200, 5))
    disabled: list = []
    s = sender(log, transport, clock, disabled, addresses=("10.0.0.8",))
    assert s.run(uuid.uuid4()) is not None  # retried later, never sent
    assert transport.sent == []
    assert log.pending[0].attempts == 1
