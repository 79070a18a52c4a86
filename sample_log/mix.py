"""The rest of the generated log (see sample_log/world.py): time tracking, administration,
the weighted activity mix, the deletions at the end, and ``generate``."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.files import File, storage_key
from domain.shared import DomainError
from domain.time_tracking import TimeEntry
from sample_log.world import Sink, World


class Mix(World):
    # Time tracking (as application/time_tracking.py: entry and tracker saved together) -----

    def record_time(self, project: dict[str, Any]) -> None:
        user = self.member(project)
        if user in self.timers:  # an open timer runs on: a later span would overlap it
            return
        start = self.tick(user, self.rng.randrange(600, 3600))
        end = self.tick(user, self.rng.randrange(900, 7200))
        entry = TimeEntry.record(start=start, end=end, **self.entry_fields(project, user))
        tracker = self.tracker(user)
        tracker.book(user, entry.id, entry.project_id, entry.segments, timer=False)
        self.save(entry, tracker)
        self.entries.append(entry)

    def time_target(self, project: dict[str, Any]) -> tuple[uuid.UUID | None, str | None]:
        roll = self.rng.random()
        if roll < 0.6:
            return self.pick(project["cards"]).id, "card"
        if roll < 0.9:
            return self.pick(project["tasks"]).id, "task"
        return None, None

    def entry_fields(self, project: dict[str, Any], user: uuid.UUID) -> dict[str, Any]:
        task_id, task_type = self.time_target(project)
        return {
            "workspace_id": project["p"].workspace_id,
            "project_id": project["p"].id,
            "user_id": user,
            "actor_id": user,
            "task_id": task_id,
            "task_type": task_type,
            "description": self.words(4),
            "is_billable": self.rng.random() < 0.7,
            "hourly_rate": Decimal("85.00") if self.rng.random() < 0.5 else None,
            "tags": ["dev"],
        }

    def timer_step(self, project: dict[str, Any]) -> None:
        user = self.member(project)
        entry = self.timers.get(user)
        at = self.tick(user, self.rng.randrange(300, 2400))
        if entry is None:
            entry = TimeEntry.start(at=at, auto_stop_after=3600, **self.entry_fields(project, user))
            self.timers[user] = entry
        elif entry.is_running and self.rng.random() < 0.6:
            entry.pause(user, at)
        elif entry.is_paused and self.rng.random() < 0.5:
            entry.resume(user, at)
        else:
            entry.stop(user, at)
            del self.timers[user]
            self.entries.append(entry)
        tracker = self.tracker(user)
        tracker.book(user, entry.id, entry.project_id, entry.segments, timer=entry.is_open)
        self.save(entry, tracker)

    def entry_change(self, roll: float) -> None:
        if not self.entries:
            return
        entry = self.recent(self.entries)
        if entry.deleted or entry.is_open:
            return
        tracker = self.trackers[entry.user_id]
        if roll < 0.4:
            entry.edit(entry.user_id, description=self.words(5))
        elif roll < 0.7:  # end a minute earlier: the segments change, the tracker re-books
            end = entry.end_time - timedelta(seconds=60)
            if end > entry.start_time and entry.edit(entry.user_id, end_time=end):
                tracker.book(entry.user_id, entry.id, entry.project_id, entry.segments, False)
        elif roll < 0.85:
            entry.edit(entry.user_id, is_billable=not entry.is_billable)
        else:
            entry.delete(entry.user_id)
            tracker.release(entry.user_id, entry.id)
        self.save(entry, tracker)

    def settings(self, project: dict[str, Any]) -> None:
        user = self.member(project)
        tracker = self.tracker(user)
        tracker.change_settings(user, default_billable=self.rng.random() < 0.5, timezone="UTC")
        self.save(tracker)

    # Administration ------------------------------------------------------------------------

    def workspace_change(self, roll: float) -> None:
        ws = self.pick(self.workspaces)
        workspace, owner = ws["ws"], ws["ws"].owner_id
        if workspace.deleted:
            return
        user = self.pick(self.users).id
        if roll < 0.35 and user not in workspace.members:
            workspace.add_member(owner, user, "member")
            ws["members"].append(user)
        elif roll < 0.55 and len(ws["members"]) > 1:
            other = self.pick(ws["members"][1:])
            workspace.change_role(owner, other, self.pick(["admin", "member", "viewer"]))
        elif roll < 0.75:
            workspace.update(owner, description=self.words(6))
        elif user not in workspace.members:  # an invitation, accepted at once
            token, mail = uuid.uuid4().hex, uuid.uuid4().hex
            expires = datetime.now(UTC) + timedelta(days=7)
            workspace.invite(owner, uuid.uuid4(), token, mail, "member", expires)
            self.save(workspace)
            workspace.accept_invite(token, user, mail, datetime.now(UTC))
            ws["members"].append(user)
        self.save(workspace)

    def project_change(self, project: dict[str, Any], roll: float) -> None:
        p, board, actor = project["p"], project["board"], self.member(project)
        if roll < 0.3:
            p.update(actor, description=self.words(8), priority=self.pick(["low", "high"]))
            self.save(p)
        elif roll < 0.45:
            p.change_status(actor, self.pick(["planning", "active", "on_hold"]))
            self.save(p)
        elif roll < 0.55:
            p.add_member(actor, self.member(project), "reviewer")
            self.save(p)
        elif roll < 0.7:
            board.update(actor, description=self.words(5))
            self.save(board)
        elif roll < 0.85:
            column = project["columns"][2]  # "Review" turns into a done column and back
            done = board.column(column)["is_done_column"]
            board.update_column(actor, column, is_done_column=not done, color="#aa3366")
            self.save(board)
        else:
            board.move_column(actor, self.pick(project["columns"][:3]), self.rng.randrange(3))
            self.save(board)

    def user_change(self) -> None:
        user = self.pick(self.users)
        if self.rng.random() < 0.8:
            user.update_profile(user.id, name=f"{self.words(2)}", avatar_url=None)
        else:
            user.change_password(user.id, f"$2b$04$new{self.rng.randrange(10**6):06d}")
        self.save(user)

    # The end -------------------------------------------------------------------------------

    # Files (as application/files.py: the bytes are in storage, only metadata is logged) -----

    def file_activity(self, project: dict[str, Any], roll: float) -> None:
        actor = self.member(project)
        if roll < 0.4 or not self.files:
            file_id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
            workspace_id = project["p"].workspace_id
            file = File(
                file_id=file_id,
                workspace_id=workspace_id,
                name=f"{self.words(2)}.pdf",
                original_name=f"{self.words(2)}.pdf",
                storage_key=storage_key(workspace_id, file_id),
                file_size=self.rng.randrange(1, 50_000_000),
                mime_type="application/pdf",
                checksum=f"{self.rng.getrandbits(256):064x}",
                is_public=self.rng.random() < 0.1,
                actor_id=actor,
            )
            self.save(file)
            self.files.append((file, project))
            return
        file, home = self.recent(self.files, 500)
        if file.deleted or home["p"].deleted:
            return
        if roll < 0.85:
            kind = self.pick(["card", "card", "task", "comment", "project"])
            if kind == "card":
                target = self.pick(home["cards"]).id
            elif kind == "task":
                target = self.pick(home["tasks"]).id
            elif kind == "comment":
                on = [c for c in self.comments[-200:] if c.project_id == home["p"].id]
                if not on or on[-1].deleted:
                    return
                target = on[-1].id
            else:
                target = home["p"].id
            attachment = uuid.UUID(int=self.rng.getrandbits(128), version=4)
            file.attach(actor, attachment, kind, target, home["p"].id)
        elif roll < 0.95 and file.attachments:
            file.detach(actor, uuid.UUID(self.pick(sorted(file.attachments))))
        else:
            file.delete(actor, moderator=True)
        self.save(file)

    def finale(self, erase_key: Callable[[uuid.UUID], None]) -> None:
        owners = {w["ws"].owner_id for w in self.workspaces}
        leaver = next(u for u in reversed(self.users) if u.id not in owners)
        changed = []
        for ws in self.workspaces:
            if leaver.id in ws["ws"].members and not ws["ws"].deleted:
                ws["ws"].remove_member(leaver.id, leaver.id)
                ws["members"].remove(leaver.id)
                changed.append(ws["ws"])
        index = self.indexes[leaver.id]
        index.release()
        leaver.delete(leaver.id)
        self.save(leaver, index, *changed)
        erase_key(leaver.id)
        first, second = self.projects[0], self.projects[-1]
        first["board"].delete(first["ws"]["ws"].owner_id)
        self.save(first["board"])
        second["p"].delete(second["ws"]["ws"].owner_id)
        self.save(second["p"])
        last = self.workspaces[-1]["ws"]
        last.delete(last.owner_id)
        self.save(last)

    def expected(self) -> dict[str, int]:
        """Row counts a read model of this log holds."""
        live = [p for p in self.projects if not p["p"].deleted]
        return {
            "users": len(self.users),
            "workspaces": sum(1 for w in self.workspaces if not w["ws"].deleted),
            "projects": len(live),
            "kanban_boards": sum(1 for p in self.projects if not p["board"].deleted),
            "kanban_cards": sum(len(p["cards"]) for p in self.projects if not p["board"].deleted),
            "tasks": sum(len(p["tasks"]) for p in live),
            "files": sum(1 for f, p in self.files if not f.deleted and not p["ws"]["ws"].deleted),
        }


def generate(
    mapper: Any,
    target: int,
    sink: Sink,
    erase_key: Callable[[uuid.UUID], None],
    progress: Callable[[str], None] = lambda _: None,
    part: int = 0,
) -> tuple[dict[str, int], dict[str, int]]:
    """Write about ``target`` events to ``sink``; return (expected row counts, topics).
    Generators with different ``part`` numbers make disjoint worlds (they may run at once)."""
    world = Mix(mapper, target, sink, part)
    started = time.monotonic()
    for i in range(max(20, target // 500)):
        world.register(i)
    for i in range(max(3, target // 2500)):
        world.create_workspace(i, members=6)
    mix: list[tuple[float, Callable[[dict[str, Any], float], None]]] = [
        (52, lambda p, r: world.move_card(p)),
        (9, lambda p, r: world.edit_card(p)),
        (4, lambda p, r: world.assign_card(p)),
        (2.5, lambda p, r: world.create_card(p)),
        (0.4, lambda p, r: world.delete_card(p)),
        (6, lambda p, r: world.comment(p)),
        (4, lambda p, r: world.comment_activity(r)),
        (4, lambda p, r: world.task_status(p)),
        (3, lambda p, r: world.task_update(p)),
        (1, lambda p, r: world.create_task(p)),
        (0.4, lambda p, r: world.task_link(p)),
        (0.2, lambda p, r: world.delete_task(p)),
        (3, lambda p, r: world.record_time(p)),
        (3, lambda p, r: world.timer_step(p)),
        (0.6, lambda p, r: world.entry_change(r)),
        (0.1, lambda p, r: world.settings(p)),
        (0.4, lambda p, r: world.workspace_change(r)),
        (0.6, lambda p, r: world.project_change(p, r)),
        (0.2, lambda p, r: world.user_change()),
        (1.5, lambda p, r: world.file_activity(p, r)),
    ]
    weights = [w for w, _ in mix]
    ops = [op for _, op in mix]
    reported = 0
    while world.events < target:
        for op in world.rng.choices(ops, weights, k=256):
            with contextlib.suppress(DomainError):  # refused by a rule: nothing recorded
                op(world.live_project(), world.rng.random())
        if world.events - reported >= 100_000:
            reported = world.events
            rate = world.events / (time.monotonic() - started)
            progress(f"generated {world.events:,} events ({rate:,.0f}/s)")
    world.finale(erase_key)
    world.flush()
    return world.expected(), dict(world.topics)
