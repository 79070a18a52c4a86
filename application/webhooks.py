"""Webhooks use cases: a workspace's admins register, change, pause, resume and delete
endpoints, ping them and redeliver a delivery by hand; the delivery job disables an endpoint
that has failed for a day (``disable``).

Against SSRF, an endpoint's URL is checked here at registration (and on every change) and
again by the delivery job after DNS resolution, against the same rule (``check_url``):
https only unless ``WEBHOOKS_ALLOW_HTTP``; no credentials in the URL; and no address that
is loopback, private, link-local, multicast, reserved or unspecified (an IPv4-mapped IPv6
address is judged as its IPv4 address) unless ``WEBHOOKS_ALLOW_PRIVATE`` (tests,
development). The job connects to the very address it checked.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from application.access import require
from application.adapters.store import EventStore, Saved, check_version
from application.authorization import Action
from application.errors import Invalid, NotFound
from domain.webhooks import WebhookEndpoint

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[[str, int], list[str]]


class RefusedTarget(ValueError):
    """A URL the webhooks may not call (the reason is safe to show)."""


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (A and AAAA), as the operating system says."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refused_reason(address: Address) -> str | None:
    """Why an address may not be called, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for attribute in (
        "is_loopback",
        "is_link_local",
        "is_multicast",
        "is_unspecified",
        "is_reserved",
        "is_private",  # last: it also covers some of the above (the more precise word first)
    ):
        if getattr(address, attribute):
            return f"{address} is a {attribute.removeprefix('is_').replace('_', '-')} address"
    return None


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (``address``) and what to say (``host``, ``url``)."""

    url: str
    scheme: str
    host: str
    port: int
    address: str


def check_url(url: str, *, allow_http: bool, allow_private: bool, resolve: Resolve) -> Target:
    """The URL's target after DNS resolution, or RefusedTarget saying why not. Every address
    the name resolves to must be allowed (a name with one private address among public
    ones is refused: the resolver could hand out either)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise RefusedTarget(f"not a valid URL: {e}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise RefusedTarget("the URL must start with https://")
    if scheme == "http" and not allow_http:
        raise RefusedTarget("only https URLs are allowed")
    if parts.username is not None or parts.password is not None:
        raise RefusedTarget("credentials in the URL are not allowed (sign with the secret)")
    host = parts.hostname
    if not host:
        raise RefusedTarget("the URL has no host")
    port = port or (443 if scheme == "https" else 80)
    try:
        literal: Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError):
            raise RefusedTarget(f"the host {host} does not resolve") from None
        if not addresses:
            raise RefusedTarget(f"the host {host} does not resolve")
    if not allow_private:
        for address in addresses:
            reason = refused_reason(ipaddress.ip_address(address.split("%")[0]))
            if reason is not None:
                raise RefusedTarget(f"{host} is refused: {reason}")
    return Target(url=url, scheme=scheme, host=host, port=port, address=addresses[0])


def invalid(field: str, message: str) -> Invalid:
    return Invalid(
        f"{field}: {message}",
        errors=[{"field": field, "location": "body", "message": message, "type": "value_error"}],
    )


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhooksService:
    def __init__(
        self,
        store: EventStore,
        *,
        allow_http: bool,
        allow_private: bool,
        resolve: Resolve = resolve_host,
        delivery_exists: Callable[[UUID, UUID], bool] | None = None,
    ) -> None:
        self.store = store
        self.allow_http = allow_http
        self.allow_private = allow_private
        self.resolve = resolve
        self.delivery_exists = delivery_exists

    def _check(self, url: str) -> None:
        try:
            check_url(
                url,
                allow_http=self.allow_http,
                allow_private=self.allow_private,
                resolve=self.resolve,
            )
        except RefusedTarget as e:
            raise invalid("url", str(e)) from None

    def _load(
        self, endpoint_id: UUID, workspace_id: UUID, actor_id: UUID, action: Action
    ) -> WebhookEndpoint:
        """An endpoint of this workspace the caller may act on, or NotFound/Forbidden."""
        require(self.store, workspace_id, actor_id, action, "workspace")
        endpoint = self.store.load(WebhookEndpoint, endpoint_id, "webhook")
        if endpoint.deleted or endpoint.workspace_id != workspace_id:
            raise NotFound("webhook not found")
        return endpoint

    def _endpoint(self, endpoint_id: UUID, workspace_id: UUID, actor_id: UUID) -> WebhookEndpoint:
        return self._load(endpoint_id, workspace_id, actor_id, Action.WEBHOOK_MANAGE)

    # Reads (authorization from the write model; rows come from the read model) ------------

    def readable_workspace(self, *, workspace_id: UUID, actor_id: UUID) -> None:
        require(self.store, workspace_id, actor_id, Action.WEBHOOK_READ, "workspace")

    def readable_endpoint(
        self, *, endpoint_id: UUID, workspace_id: UUID, actor_id: UUID
    ) -> WebhookEndpoint:
        return self._load(endpoint_id, workspace_id, actor_id, Action.WEBHOOK_READ)

    # Commands ------------------------------------------------------------------------------

    def register(
        self,
        *,
        workspace_id: UUID,
        actor_id: UUID,
        url: str,
        events: list[str],
        secret: str | None = None,
        description: str | None = None,
    ) -> Saved:
        """Register an endpoint; the answer carries the secret (generated when not given)."""
        require(self.store, workspace_id, actor_id, Action.WEBHOOK_MANAGE, "workspace")
        self._check(url)
        chosen = secret or new_secret()

        def command() -> tuple[tuple[UUID, str], list[Any]]:
            require(self.store, workspace_id, actor_id, Action.WEBHOOK_MANAGE, "workspace")
            endpoint = WebhookEndpoint(
                workspace_id=workspace_id,
                url=url,
                events=list(events),
                secret=chosen,
                description=description,
                actor_id=actor_id,
            )
            return (endpoint.id, chosen), [endpoint]

        return self.store.run(command)

    def update(
        self,
        *,
        endpoint_id: UUID,
        workspace_id: UUID,
        actor_id: UUID,
        expected_version: int | None = None,
        **fields: Any,
    ) -> Saved:
        """Change ``url``, ``events``, ``description`` or ``active`` (resume re-enables an
        endpoint the job disabled)."""
        if "url" in fields:
            self._endpoint(endpoint_id, workspace_id, actor_id)  # who asks, before the URL
            self._check(fields["url"])

        def command() -> tuple[UUID, list[Any]]:
            endpoint = self._endpoint(endpoint_id, workspace_id, actor_id)
            check_version(endpoint, expected_version)
            endpoint.update(actor_id, **fields)
            return endpoint.id, [endpoint]

        return self.store.run(command)

    def rotate_secret(
        self, *, endpoint_id: UUID, workspace_id: UUID, actor_id: UUID, secret: str | None = None
    ) -> Saved:
        chosen = secret or new_secret()

        def command() -> tuple[tuple[UUID, str], list[Any]]:
            endpoint = self._endpoint(endpoint_id, workspace_id, actor_id)
            endpoint.rotate_secret(actor_id, chosen)
            return (endpoint.id, chosen), [endpoint]

        return self.store.run(command)

    def delete(
        self,
        *,
        endpoint_id: UUID,
        workspace_id: UUID,
        actor_id: UUID,
        expected_version: int | None = None,
    ) -> Saved:
        def command() -> tuple[UUID, list[Any]]:
            endpoint = self._endpoint(endpoint_id, workspace_id, actor_id)
            check_version(endpoint, expected_version)
            endpoint.delete(actor_id)
            return endpoint.id, [endpoint]

        return self.store.run(command)

    def ping(self, *, endpoint_id: UUID, workspace_id: UUID, actor_id: UUID) -> Saved:
        """Record a ping: the policy delivers a ``ping`` event to this endpoint alone."""

        def command() -> tuple[UUID, list[Any]]:
            endpoint = self._endpoint(endpoint_id, workspace_id, actor_id)
            endpoint.ping(actor_id)
            return endpoint.id, [endpoint]

        return self.store.run(command)

    def redeliver(
        self, *, endpoint_id: UUID, workspace_id: UUID, delivery_id: UUID, actor_id: UUID
    ) -> Saved:
        """Record a redelivery by hand of one of the endpoint's deliveries (a new delivery
        with the same body, sent after what is already queued)."""

        def command() -> tuple[UUID, list[Any]]:
            endpoint = self._endpoint(endpoint_id, workspace_id, actor_id)
            if self.delivery_exists is not None and not self.delivery_exists(
                endpoint_id, delivery_id
            ):
                raise NotFound("delivery not found")
            endpoint.redeliver(actor_id, delivery_id)
            return endpoint.id, [endpoint]

        return self.store.run(command)

    def disable(self, *, endpoint_id: UUID, reason: str, failing_since: str) -> Saved:
        """The delivery job gives up on an endpoint (no caller: the job decides)."""

        def command() -> tuple[UUID, list[Any]]:
            endpoint = self.store.load(WebhookEndpoint, endpoint_id, "webhook")
            if endpoint.deleted:
                return endpoint.id, []
            endpoint.disable(reason, failing_since)
            return endpoint.id, [endpoint]

        return self.store.run(command)
