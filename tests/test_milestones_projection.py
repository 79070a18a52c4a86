"""The milestones projection rebuilds to exactly the rows the live projector wrote: every
milestone, deliverable and template event, a milestone's deletion (its tasks unlinked) and a
project's (its milestones gone), in one batch and across batches."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import psycopg
import pytest

from domain.milestones import Milestone
from domain.milestones_templates import MilestoneTemplate
from domain.projects import Project
from domain.tasks import Task
from interfaces.bootstrap import open_event_store
from projections.engine import Projector
from projections.rebuild import rebuild_many
from projections.registry import all_projections, by_name
from tests.support.projections import caught_up, wait_until


def read_model(url: str) -> dict[str, list[tuple]]:
    tables = [t for p in all_projections() for t in p.tables]
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}


def project_live(url: str, store) -> dict[str, list[tuple]]:
    projector = Projector(all_projections(), url, store.mapper, batch_size=100)
    projector.start()
    try:
        wait_until(lambda: caught_up(url), timeout=120)
    finally:
        projector.stop()
    return read_model(url)


def milestone(ws, project, actor, title: str, **extra) -> Milestone:
    fields = {
        "workspace_id": ws,
        "project_id": project,
        "title": title,
        "description": None,
        "due_date": date(2030, 1, 31),
        "status": "pending",
        "priority": "medium",
        "progress": 0,
        "assignee_ids": [actor],
        "dependencies": [],
        "actor_id": actor,
    }
    return Milestone(**{**fields, **extra})


def task(ws, project, actor, milestone_id) -> Task:
    return Task(
        ws,
        project,
        "T",
        None,
        "todo",
        "low",
        Decimal("4"),
        None,
        None,
        [],
        milestone_id,
        None,
        [],
        actor,
    )


@pytest.mark.parametrize("batch_size", [1000, 3])
def test_milestones_rebuild_as_live(fresh_database_url, batch_size):
    url = fresh_database_url
    store = open_event_store(url, pool_size=2)
    try:
        actor, other, ws = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        project = Project(ws, "P", None, "active", "low", None, None, None, actor, {}, actor)
        doomed_project = Project(ws, "Q", None, "active", "low", None, None, None, actor, {}, actor)
        a = milestone(ws, project.id, actor, "A")
        b = milestone(ws, project.id, actor, "B", dependencies=[a.id], priority="high")
        c = milestone(ws, doomed_project.id, actor, "C")
        store.save(project, doomed_project, a, b, c)
        linked = task(ws, project.id, actor, b.id)
        store.save(linked)
        a.update(actor, title="A2", due_date=date(2030, 2, 1))
        a.assign(actor, [other])
        a.assign(actor, [other, actor])
        a.set_progress(actor, 40)
        deliverables = [uuid.uuid4() for _ in range(3)]
        for i, d in enumerate(deliverables):
            a.add_deliverable(actor, d, f"D{i}", None, "code", "pending", date(2030, 1, i + 1))
        a.update_deliverable(actor, deliverables[0], status="completed", due_date=None)
        a.update_deliverable(actor, deliverables[0], title="D0 again")
        a.remove_deliverable(actor, deliverables[1])
        a.change_status(actor, "in_progress")
        a.change_status(actor, "completed")
        a.change_status(actor, "in_progress")
        a.change_status(actor, "completed", ["x"], force=True)
        b.change_dependencies(actor, [])
        b.count_task(actor, linked.id, {"done": True, "cancelled": False, "hours": "4"})
        c.add_deliverable(actor, uuid.uuid4(), "Gone", None, "other", "pending", None)
        template = MilestoneTemplate(ws, "T", None, "cat", False, [{"title": "x"}], [], actor)
        kept = MilestoneTemplate(ws, "K", "keep", None, True, [{"title": "y"}], [], actor)
        store.save(a, b, c, template, kept)
        template.update(actor, name="T2", milestones=[{"title": "z", "due_offset_days": 3}])
        template.use(actor)
        kept.use(None)
        store.save(template, kept)
        b.delete(actor)
        doomed_project.delete(actor)
        template.delete(actor)
        store.save(b, doomed_project, template)

        live = project_live(url, store)
        assert [r[0] for r in live["milestones"]] == [a.id]  # b deleted, c with its project
        assert len(live["milestone_assignees"]) == 2
        assert len(live["deliverables"]) == 2
        assert [r[0] for r in live["milestone_templates"]] == [kept.id]
        assert next(r for r in live["tasks"] if r[0] == linked.id)[3] is None  # unlinked
        rebuild_many(
            url, [by_name("milestones"), by_name("tasks")], store.mapper, batch_size=batch_size
        )
        assert read_model(url) == live
    finally:
        store.close()
