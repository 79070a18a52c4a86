"""The templates projection live and rebuilt give the same rows: templates created, changed
(phases replaced), used (the usage policy's count), deleted, and a use whose project was
deleted since."""

from __future__ import annotations

import uuid

import psycopg

from domain.projects import Project
from domain.templates import ProjectTemplate, TemplateUse
from interfaces.bootstrap import open_event_store
from projections.engine import Projector
from projections.rebuild import rebuild
from projections.registry import by_name
from tests.support.projections import caught_up, wait_until
from tests.support.templates import release_phases

TABLES = ("project_templates", "template_phases", "template_tasks", "template_usage")


def rows(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in TABLES}


def test_live_and_rebuilt_rows_are_the_same(fresh_database_url):
    url = fresh_database_url
    store = open_event_store(url, pool_size=2)
    projection = by_name("templates")
    try:
        actor, workspace = uuid.uuid4(), uuid.uuid4()

        def template(name: str) -> ProjectTemplate:
            return ProjectTemplate.create(
                workspace_id=workspace,
                name=name,
                description=f"About {name}",
                category="Ops",
                tags=["a", "b"],
                is_public=False,
                phases=release_phases(),
                actor_id=actor,
            )

        kept, changed, gone = template("Kept"), template("Changed"), template("Gone")
        store.save(kept, changed, gone)
        changed.update(actor, name="Changed 2", tags=["c"], phases=release_phases()[:1])
        project = Project(
            workspace_id=workspace,
            name="P",
            description=None,
            status="planning",
            priority="medium",
            start_date=None,
            end_date=None,
            budget=None,
            owner_id=actor,
            settings={},
            actor_id=actor,
        )
        uses = [
            TemplateUse(
                template_id=t.id,
                workspace_id=workspace,
                project_id=project.id,
                actor_id=actor,
                task_hours={str(uuid.uuid4()): 2.5},
            )
            for t in (kept, changed, gone)
        ]
        for use, counted in zip(uses, (kept, changed, gone), strict=True):
            counted.count_use(use.id)
        store.save(project, *uses, kept, changed, gone)
        gone.delete(actor)
        project.delete(actor)
        store.save(gone, project)

        projector = Projector([projection], url, store.mapper, batch_size=100)
        projector.start()
        try:
            wait_until(lambda: caught_up(url, ["templates"]), timeout=60)
        finally:
            projector.stop()
        live = rows(url)
        names = sorted(r[1] for r in live["project_templates"])
        assert names == ["Changed 2", "Kept"]
        counts = {r[1]: r[7] for r in live["project_templates"]}
        assert counts == {"Kept": 1, "Changed 2": 1}
        assert len(live["template_phases"]) == 3 + 1
        assert len(live["template_tasks"]) == 5 + 2
        assert len(live["template_usage"]) == 2  # the deleted template's went with it
        assert {r[3] for r in live["template_usage"]} == {None}  # the project was deleted

        rebuild(url, projection, store.mapper, batch_size=3)
        assert rows(url) == live
    finally:
        store.close()
