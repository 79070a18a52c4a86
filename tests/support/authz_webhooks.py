"""Authorization matrix rows for the webhooks endpoints (see tests/support/authz.py).

Webhooks are the workspace admins' (owner, admin) alone, to read as well as to change: an
endpoint's URL and delivery log are configuration. Members and viewers 403, outsiders 404.
"""

from __future__ import annotations

from tests.support.authz import Case, World, expect

ADMINS_READ = expect(200, 200, 403, 403, 404)
ADMINS_CREATE = expect(201, 201, 403, 403, 404)
ADMINS_QUEUE = expect(202, 202, 403, 403, 404)
WEBHOOKS = "/api/v1/workspaces/{workspace_id}/webhooks"
WEBHOOK = WEBHOOKS + "/{webhook_id}"
DELIVERY = WEBHOOK + "/deliveries/{delivery_id}"
PUBLIC_URL = "https://93.184.215.14/hooks/worksync"  # an address literal: no DNS in tests


def webhooks_of(w: World) -> str:
    return f"/api/v1/workspaces/{w.workspace['id']}/webhooks"


def webhook_of(w: World) -> str:
    webhook_id = w.ensure(
        "webhook",
        lambda w: w.post(webhooks_of(w), {"url": PUBLIC_URL, "events": ["*"]})["id"],
    )
    return f"{webhooks_of(w)}/{webhook_id}"


def delivery_of(w: World) -> str:
    """A delivery of the endpoint's (its ping: recorded by the policy a little later)."""
    import time

    path = webhook_of(w)

    def make(w: World) -> str:
        response = w.client.post(f"{path}/ping", headers=w.headers("owner"))
        assert response.status_code == 202, response.text
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            page = w.client.get(f"{path}/deliveries", headers=w.headers("owner")).json()
            if page["data"]:
                return page["data"][0]["id"]
            time.sleep(0.05)
        raise AssertionError("the ping was never queued")

    return f"{path}/deliveries/{w.ensure('webhook_delivery', make)}"


CASES: list[Case] = [
    Case("GET", WEBHOOKS, ADMINS_READ, path=webhooks_of),
    Case(
        "POST",
        WEBHOOKS,
        ADMINS_CREATE,
        path=webhooks_of,
        body=lambda w, r: {"url": PUBLIC_URL, "events": ["kanban:card:moved"]},
    ),
    Case("GET", WEBHOOK, ADMINS_READ, path=webhook_of),
    Case(
        "PUT",
        WEBHOOK,
        ADMINS_READ,
        path=webhook_of,
        body=lambda w, r: {"description": "renamed"},
    ),
    Case("DELETE", WEBHOOK, expect(204, 204, 403, 403, 404), path=webhook_of),
    Case(
        "POST",
        WEBHOOK + "/secret",
        ADMINS_READ,
        path=lambda w: f"{webhook_of(w)}/secret",
        body=lambda w, r: {},
    ),
    Case("POST", WEBHOOK + "/ping", ADMINS_QUEUE, path=lambda w: f"{webhook_of(w)}/ping"),
    Case("GET", WEBHOOK + "/deliveries", ADMINS_READ, path=lambda w: f"{webhook_of(w)}/deliveries"),
    Case("GET", DELIVERY, ADMINS_READ, path=delivery_of),
    Case(
        "POST",
        DELIVERY + "/redeliver",
        ADMINS_QUEUE,
        path=lambda w: f"{delivery_of(w)}/redeliver",
    ),
]
