"""Authorization matrix rows for the notification endpoints (see tests/support/authz.py).

A notification is its recipient's alone: in each world the owner has one (the admin assigned
them a task); everyone else gets 404 for it, whatever their role. The list, mark-all-read and
preferences are each caller's own. The unsubscribe link needs no sign-in, only its token."""

from __future__ import annotations

import time
import uuid

from application.mail import LinkTokens
from tests.support.authz import Case, World, expect
from tests.support.authz_tasks import project_of

NOTIFICATION = "/api/v1/notifications/{notification_id}"


def owner_notification(world: World) -> str:
    """The id of a notification of the owner's (the admin assigned them a task)."""

    def make(w: World) -> str:
        body = {"title": "For the owner", "assignee_id": w.owner["user"]["id"]}
        w.post(f"/api/v1/projects/{project_of(w)}/tasks", body, as_role="admin")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            page = w.client.get(
                "/api/v1/notifications", params={"type": "assigned"}, headers=w.headers("owner")
            ).json()
            if page["data"]:
                return page["data"][0]["id"]
            time.sleep(0.05)
        raise AssertionError("the owner was not notified")

    return world.ensure("notification", make)


def unsubscribe_link(world: World) -> str:
    secret = world.client.app.state.container.settings.jwt_refresh_secret
    owner = uuid.UUID(world.owner["user"]["id"])
    token = LinkTokens(secret).token("unsubscribe", owner)
    return f"/api/v1/notifications/unsubscribe/{token}?user_id={owner}"


CASES: list[Case] = [
    Case(
        "GET",
        "/api/v1/notifications",
        expect(200, 200, 200, 200, 200),
        path=lambda w: "/api/v1/notifications",
    ),
    Case(
        "PUT",
        "/api/v1/notifications/mark-all-read",
        expect(200, 200, 200, 200, 200),
        path=lambda w: "/api/v1/notifications/mark-all-read",
    ),
    Case(
        "GET",
        "/api/v1/notifications/preferences",
        expect(200, 200, 200, 200, 200),
        path=lambda w: "/api/v1/notifications/preferences",
    ),
    Case(
        "PUT",
        "/api/v1/notifications/preferences",
        expect(200, 200, 200, 200, 200),
        path=lambda w: "/api/v1/notifications/preferences",
        body=lambda w, r: {"digest": "hourly", "email": {"comment": False}},
    ),
    # The e-mailed link works for whoever follows it (it carries its token).
    Case(
        "GET",
        "/api/v1/notifications/unsubscribe/{token}",
        expect(200, 200, 200, 200, 200, anon=200),
        path=unsubscribe_link,
        changes_state=True,  # a GET that unsubscribes: a world per role
    ),
    Case(
        "POST",
        "/api/v1/notifications/unsubscribe/{token}",
        expect(200, 200, 200, 200, 200, anon=200),
        path=unsubscribe_link,
        changes_state=True,  # a GET that unsubscribes: a world per role
    ),
    Case(
        "PUT",
        f"{NOTIFICATION}/read",
        expect(200, 404, 404, 404, 404),
        path=lambda w: f"/api/v1/notifications/{owner_notification(w)}/read",
    ),
    Case(
        "DELETE",
        NOTIFICATION,
        expect(204, 404, 404, 404, 404),
        path=lambda w: f"/api/v1/notifications/{owner_notification(w)}",
    ),
]
