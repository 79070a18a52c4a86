"""The Inbox's rules without PostgreSQL: a notification is delivered once, preferences decide
where it goes, read/all read/delete, the digest's reach; and where its events are pushed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.notifications import Inbox, notification_id
from domain.shared import Missing, RuleBroken
from interfaces.realtime.names import route

USER = uuid.uuid4()


def item(source: str, kind: str = "assigned") -> dict:
    return {
        "id": str(notification_id(source, USER)),
        "type": kind,
        "title": f"About {source}",
        "message": None,
        "data": {"workspace_id": str(uuid.uuid4())},
    }


def test_the_same_cause_is_delivered_once():
    inbox = Inbox(user_id=USER)
    assert inbox.id == Inbox.id_for(USER)
    assert len(inbox.deliver([item("a"), item("a"), item("b")])) == 2
    assert inbox.deliver([item("a")]) == []
    inbox.delete(uuid.UUID(item("a")["id"]))
    assert inbox.deliver([item("a")]) == []  # deleted: not delivered again either
    assert notification_id("a", USER) != notification_id("a", uuid.uuid4())


def test_preferences_decide_in_app_email_and_immediate():
    inbox = Inbox(user_id=USER)
    inbox.set_preferences(in_app={"mention": False}, email={"assigned": False}, digest=None)
    [mention] = inbox.deliver([item("m", "mention")])
    assert (mention["in_app"], mention["email"], mention["immediate"]) == (False, True, False)
    [assigned] = inbox.deliver([item("x")])
    assert (assigned["in_app"], assigned["email"]) == (True, False)
    inbox.set_preferences(in_app={"mention": False}, email={"mention": False})
    assert inbox.deliver([item("n", "mention")]) == []  # wanted nowhere: not recorded
    inbox.set_preferences(digest="immediate")
    assert inbox.deliver([item("c", "comment")])[0]["immediate"] is True
    inbox.set_preferences(digest="off")
    assert inbox.deliver([item("d", "comment")])[0]["email"] is False
    with pytest.raises(RuleBroken):
        inbox.set_preferences(in_app={"nonsense": True})
    with pytest.raises(RuleBroken):
        inbox.set_preferences(digest="weekly")
    with pytest.raises(RuleBroken):
        inbox.deliver([item("e", "nonsense")])


def test_read_all_read_delete_and_the_digest():
    inbox = Inbox(user_id=USER)
    a, b, c = (item(s) for s in "abc")
    inbox.deliver([a, b, c])
    assert inbox.mark_read(uuid.UUID(a["id"])) is True
    assert inbox.mark_read(uuid.UUID(a["id"])) is False
    until = datetime.now(UTC)
    assert [i["id"] for i in inbox.digest(until, [a, b])] == [b["id"]]  # a was read
    assert inbox.digest(until, [c]) == []  # that period is done
    assert inbox.mark_all_read() == 2
    assert inbox.mark_all_read() == 0
    assert inbox.digest(until + timedelta(hours=1), [c]) == []  # nothing unread
    inbox.delete(uuid.UUID(b["id"]))
    with pytest.raises(Missing):
        inbox.delete(uuid.UUID(b["id"]))
    with pytest.raises(Missing):
        inbox.mark_read(uuid.uuid4())


def test_inbox_events_go_to_the_users_room_only():
    inbox = Inbox(user_id=USER)
    inbox.deliver([item("a")])
    inbox.deliver([item("b"), item("c")])
    inbox.mark_read(uuid.UUID(item("a")["id"]))
    inbox.mark_all_read()
    inbox.set_preferences(in_app={"assigned": False})
    inbox.deliver([item("hidden")])  # e-mail only: nothing to push
    routes = [route(e, n) for n, e in enumerate(inbox.collect_events(), 1)]
    assert routes[0] is None  # the inbox's creation
    assert routes[-1] is None
    names = [r.name for r in routes[1:-1]]
    assert names == [
        "notification:created",
        "notification:batch",
        "notification:read",
        "notification:batch",
        "notification:preferences:updated",
    ]
    for r in routes[1:-1]:
        assert r.rooms == {f"user:{USER}"}
        assert r.payload["workspace_id"] is None
    assert routes[1].payload["data"]["id"] == item("a")["id"]
    assert routes[2].payload["data"]["action"] == "created"
    assert routes[4].payload["data"]["action"] == "read"
