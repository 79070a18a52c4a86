"""The policy mechanism (projections/policy.py): a policy reacts to each event once with new
events and outbox rows committed with its position; it is paused, resumed and parked like
a projection, shown in the status, and starts at the log's head."""

from __future__ import annotations

import threading
import uuid
from typing import Any, ClassVar

import psycopg
import pytest
from structlog.testing import capture_logs

from domain.workspaces import Workspace
from interfaces.bootstrap import open_event_store
from projections import control
from projections.base import handles
from projections.engine import (
    DecodedEvents,
    ProjectionWorker,
    Projector,
    ensure_tracking,
    step_together,
)
from projections.outbox import OutboxDispatcher, OutboxItem
from projections.policy import Policy, PolicyContext
from projections.workspaces import WorkspacesProjection
from tests.support.projections import wait_until


class Stamper(Policy):
    """Stamps every new workspace's description (a command) and records a note (an outbox
    row); cannot react to a workspace called 'poison'. For names in ``interfere``, another
    writer changes the workspace between the policy's load and its save (once)."""

    name = "stamper"
    interfere: ClassVar[set[str]] = set()

    @handles(Workspace.Created)
    def stamp(self, ctx: PolicyContext, e: Any) -> None:
        if e.name == "poison":
            raise ValueError("cannot react to this event")
        workspace = ctx.load(Workspace, e.originator_id)
        if e.name in self.interfere:
            self.interfere.discard(e.name)
            other = self.loader.load(Workspace, e.originator_id)
            other.update(actor_id=e.owner_id, settings={"changed": "meanwhile"})
            self.loader.save(other)  # committed: the policy's append clashes with it
        workspace.update(actor_id=e.owner_id, description=f"stamped after {ctx.position}")
        ctx.save(workspace)
        ctx.outbox("note", {"workspace_id": str(e.originator_id), "name": e.name})


def new_workspace(store: Any, name: str) -> Workspace:
    workspace = Workspace(name=name, description=None, settings={}, owner_id=uuid.uuid4())
    store.save(workspace)
    return workspace


def stamps(url: str) -> dict[str, list[str]]:
    """Workspace name -> the descriptions the policy's Updated events set."""
    store = open_event_store(url, pool_size=1)
    try:
        with psycopg.connect(url) as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT DISTINCT originator_id FROM worksync_events"
                    " WHERE topic = 'domain.workspaces:Workspace.Created'"
                )
            ]
        found = {}
        for workspace_id in ids:
            events = list(store.events.get(workspace_id))
            found[events[0].name] = [
                e.changes["description"]
                for e in events
                if type(e).__name__ == "Updated" and "description" in e.changes
            ]
        return found
    finally:
        store.close()


def id_of(url: str, name: str) -> uuid.UUID:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT id FROM workspaces WHERE name = %s", (name,)).fetchone()[0]


def policy_status(url: str) -> control.ProjectionStatus:
    return control.status(url, ["stamper"], ["stamper"])[0]


@pytest.fixture
def running(fresh_database_url):
    """A projector with the workspaces projection and the Stamper policy, an outbox
    dispatcher collecting the notes; two workspaces exist before the policy ever ran."""
    url = fresh_database_url
    store = open_event_store(url, pool_size=4)
    history = [new_workspace(store, f"history-{i}") for i in range(2)]
    notes: list[OutboxItem] = []
    lock = threading.Lock()

    def collect(item: OutboxItem) -> bool:
        with lock:
            notes.append(item)
        return True

    dispatcher = OutboxDispatcher(url, {"note": collect}, idle_wait=0.2)
    projector = Projector(
        [WorkspacesProjection()],
        url,
        store.mapper,
        batch_size=7,
        idle_wait=0.2,
        policies=[Stamper(store)],
        services=[dispatcher],
    )
    projector.start()
    try:
        yield url, store, notes, history
    finally:
        projector.stop()
        store.close()


def caught_up(url: str) -> bool:
    status = policy_status(url)
    return status.lag == 0 and status.state == "running"


def test_each_event_gets_one_reaction_even_when_another_writer_clashes(running):
    url, store, notes, history = running
    names = [f"w-{i}" for i in range(30)]
    Stamper.interfere = set(names[::3])
    with capture_logs() as logs:
        for name in names:
            new_workspace(store, name)
        wait_until(lambda: caught_up(url) and len(notes) == len(names), timeout=60)
    clashes = [e for e in logs if e["event"] == "policy version clash; reacting again"]
    assert len(clashes) == len(names[::3])

    found = stamps(url)
    for name in names:
        assert len(found[name]) == 1, found[name]  # stamped once, after a clash too
    for name in names[::3]:
        workspace = store.load(Workspace, id_of(url, name))
        assert workspace.settings == {"changed": "meanwhile"}  # the other write is kept
    for workspace in history:
        assert found[workspace.name] == []  # a new policy starts at the log's head
    assert sorted(n.payload["name"] for n in notes) == sorted(names)
    assert len({n.key for n in notes}) == len(names)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT count(*), count(delivered_at), count(DISTINCT position) FROM outbox"
        ).fetchone()
    assert rows == (len(names), len(names), len(names))
    status = policy_status(url)
    assert (status.kind, status.runner, status.state) == ("policy", True, "running")


def test_pause_resume_and_skip_apply_to_a_policy(running):
    url, store, notes, _ = running
    control.set_state(url, "stamper", "paused")
    new_workspace(store, "while-paused")
    wait_until(lambda: policy_status(url).lag > 0)
    assert stamps(url)["while-paused"] == []
    assert notes == []

    control.set_state(url, "stamper", "running")
    wait_until(lambda: caught_up(url) and len(notes) == 1)
    assert len(stamps(url)["while-paused"]) == 1

    poison = new_workspace(store, "poison")
    new_workspace(store, "after-poison")
    wait_until(lambda: policy_status(url).state == "failed")
    failed = policy_status(url)
    with psycopg.connect(url) as conn:
        [position] = conn.execute(
            "SELECT notification_id FROM worksync_events WHERE originator_id = %s",
            (poison.id,),
        ).fetchone()
    assert failed.error_position == position
    assert "cannot react" in failed.error
    # The projections go on: the workspaces table has both.
    with psycopg.connect(url) as conn:
        wait_until(
            lambda: (
                conn.execute(
                    "SELECT count(*) FROM workspaces WHERE name LIKE '%poison'"
                ).fetchone()[0]
                == 2
            )
        )

    parked, resumed = control.park(url, "stamper", position, "cannot react", "test")
    assert resumed
    assert (parked.position, parked.topic) == (position, "domain.workspaces:Workspace.Created")
    wait_until(lambda: caught_up(url) and len(notes) == 2)
    found = stamps(url)
    assert found["poison"] == []  # parked: no reaction
    assert len(found["after-poison"]) == 1
    assert [p.position for p in policy_status(url).parked] == [position]


def start_tracking(url: str, policy: str) -> None:
    """The workspaces projection follows the log from its start, the policy from its head."""
    with psycopg.connect(url, autocommit=True) as conn:
        ensure_tracking(conn, ["workspaces"])
        ensure_tracking(conn, [policy], at_head=True)


def log_positions(url: str) -> list[int]:
    """Every event's position in the log, in order."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT notification_id FROM worksync_events ORDER BY notification_id")
        return [row[0] for row in rows]


def workers(store: Any, policy: Policy, batch_size: int) -> tuple[ProjectionWorker, Any]:
    """The workspaces projection's worker (batches of ``batch_size``) and the policy's,
    sharing their decoded events, as a projector makes them."""
    decoded = DecodedEvents(store.mapper)
    projection = ProjectionWorker(WorkspacesProjection(), decoded, batch_size=batch_size)
    return projection, policy.make_worker(decoded, batch_size=100)


def test_events_a_policy_does_not_handle_are_passed_over_with_the_projections(
    fresh_database_url,
):
    """The projections' batch advances a policy over the events it does not handle, up to
    the first one it does; the policy's own step reacts to that one, once."""
    url = fresh_database_url
    store = open_event_store(url, pool_size=2)
    try:
        first = new_workspace(store, "before")
        start_tracking(url, "stamper")  # after "before" was created
        for i in range(3):  # not handled by the policy
            first.update(actor_id=first.owner_id, description=f"edit {i}")
            store.save(first)
        second = new_workspace(store, "handled")  # handled
        second.update(actor_id=second.owner_id, settings={"after": True})
        store.save(second)
        positions = log_positions(url)
        projection, policy = workers(store, Stamper(store), batch_size=100)

        with psycopg.connect(url, autocommit=True) as conn:
            assert step_together(conn, [projection], [policy]) == len(positions)
            tracking = dict(conn.execute("SELECT name, position FROM projection_tracking"))
            # the projection took the whole batch; the policy stopped before "handled"
            assert tracking["workspaces"] == positions[-1]
            assert tracking["stamper"] == positions[-3]
            assert stamps(url)["handled"] == []

            assert policy.step(conn) == 1  # the policy's own step: the event it handles
            assert len(stamps(url)["handled"]) == 1
            while policy.step(conn):  # what follows, its own Updated among it
                pass
            head = conn.execute("SELECT max(notification_id) FROM worksync_events").fetchone()[0]
            step_together(conn, [projection], [policy])
            tracking = dict(conn.execute("SELECT name, position FROM projection_tracking"))
            assert (tracking["workspaces"], tracking["stamper"]) == (head, head)
        found = stamps(url)
        assert len(found["handled"]) == 1  # reacted to once
        assert found["before"] == ["edit 0", "edit 1", "edit 2"]  # no reaction: not handled
    finally:
        store.close()


class Choosy(Stamper):
    """Stamps only workspaces not named 'quiet-*': it passes over the others, which the
    projections' batch may then move it past."""

    name = "choosy"

    @handles(Workspace.Created)
    def stamp(self, ctx: PolicyContext, e: Any) -> None:
        if not e.name.startswith("quiet-"):  # what passes_over says: nothing for the others
            super().stamp(ctx, e)

    def passes_over(self, cur: Any, event: Any, seen: dict[str, Any]) -> bool:
        seen["asked"] = seen.get("asked", 0) + 1
        return event.name.startswith("quiet-")


def test_events_a_policy_passes_over_move_it_with_the_projections(fresh_database_url):
    url = fresh_database_url
    store = open_event_store(url, pool_size=2)
    try:
        start_tracking(url, "choosy")
        for name in ("quiet-1", "quiet-2", "loud", "quiet-3"):
            new_workspace(store, name)
        positions = log_positions(url)
        projection, policy = workers(store, Choosy(store), batch_size=100)
        with psycopg.connect(url, autocommit=True) as conn:
            step_together(conn, [projection], [policy])
            tracking = dict(conn.execute("SELECT name, position FROM projection_tracking"))
            assert tracking["choosy"] == positions[1]  # past both quiet ones, before "loud"
            assert policy.settled is False  # "loud" is left for its own step
            while policy.step(conn):
                pass
        found = stamps(url)
        assert len(found["loud"]) == 1
        assert [found[f"quiet-{i}"] for i in (1, 2, 3)] == [[], [], []]
    finally:
        store.close()


def test_a_policy_is_stepped_while_the_projections_catch_up(fresh_database_url):
    """A full batch of the projections is not the log's head: a policy it moved to the
    batch's end still steps on its own (a projection replaying the log must not hold the
    policies back)."""
    url = fresh_database_url
    store = open_event_store(url, pool_size=2)
    try:
        start_tracking(url, "stamper")
        for i in range(3):
            new_workspace(store, f"w-{i}")
        projection, policy = workers(store, Stamper(store), batch_size=2)
        with psycopg.connect(url, autocommit=True) as conn:
            assert step_together(conn, [projection], [policy]) == 2  # a full batch
            assert policy.settled is False
            while policy.step(conn):
                pass
            while step_together(conn, [projection], [policy]) == 2:  # the rest, to the head
                assert policy.settled is False
            assert policy.settled is True  # its own Updated events: passed over
        assert all(len(stamps(url)[f"w-{i}"]) == 1 for i in range(3))
    finally:
        store.close()
