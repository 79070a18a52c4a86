"""``worksync templates seed``: the built-in public templates, loaded once however often it
runs, found by everyone and usable as they are."""

from __future__ import annotations

import psycopg

from application.templates import builtin_id
from application.templates_builtin import BUILTIN_TEMPLATES
from domain.templates import normalized
from interfaces.bootstrap import open_identity
from tests.support.cli import invoke
from tests.support.milestones import eventually
from tests.support.templates import Templates


def test_the_built_in_templates_are_valid():
    slugs = [spec["slug"] for spec in BUILTIN_TEMPLATES]
    assert len(slugs) == len(set(slugs)) >= 5
    for spec in BUILTIN_TEMPLATES:
        phases = normalized(spec["phases"])  # known dependencies, no cycle
        assert phases, spec["slug"]
        assert all(p["estimated_duration"] > 0 for p in phases)


def test_seed_is_idempotent_and_the_templates_are_public(monkeypatch, settings, api):
    def created() -> int:
        with psycopg.connect(settings.database_url) as conn:
            return conn.execute(
                "SELECT count(*) FROM worksync_events"
                " WHERE topic = 'domain.templates:ProjectTemplate.Created'"
                " AND originator_id = ANY(%s)",
                ([builtin_id(s["slug"]) for s in BUILTIN_TEMPLATES],),
            ).fetchone()[0]

    first = invoke(monkeypatch, settings.database_url, "templates", "seed")
    assert first.exit_code == 0, first.output
    again = invoke(monkeypatch, settings.database_url, "templates", "seed")
    assert again.exit_code == 0, again.output
    assert f"0 created, {len(BUILTIN_TEMPLATES)} already there" in again.output
    assert created() == len(BUILTIN_TEMPLATES)

    t = Templates(api)  # a brand-new user sees them
    release_id = str(builtin_id("software-release"))

    def found() -> list[dict]:
        return t.get("/templates/search", params={"q": "software release"}).json()["data"]

    hits = eventually(found)
    assert hits[0]["id"] == release_id
    assert hits[0]["is_public"] is True
    assert hits[0]["workspace_id"] is None
    assert hits[0]["created_by"] is None
    onboarding = t.get("/templates/search", params={"q": "onboard"}).json()["data"]
    assert str(builtin_id("client-onboarding")) in [h["id"] for h in onboarding]
    categories = {r["category"] for r in t.get("/templates/categories").json()["data"]}
    assert {"Engineering", "Marketing", "Customer success"} <= categories

    used = t.use(release_id, start_date="2030-01-07")
    assert used.status_code == 201, used.text
    milestones = t.get(f"/projects/{used.json()['project_id']}/milestones").json()["data"]
    # 5, 15, 5, 2 and 3 working days from Monday 2030-01-07.
    assert [m["due_date"] for m in milestones] == [
        "2030-01-11",
        "2030-02-01",
        "2030-02-08",
        "2030-02-12",
        "2030-02-15",
    ]
    # Nobody but an instance administrator changes a built-in template, and it stays public.
    assert t.put(f"/templates/{release_id}", {"name": "Mine"}).status_code == 403
    identity = open_identity(settings, settings.database_url)
    try:
        identity.grant_admin(email=t.owner["user"]["email"])
    finally:
        identity.store.close()
    private = t.put(f"/templates/{release_id}", {"is_public": False})
    assert private.status_code == 409
    assert private.headers["content-type"] == "application/problem+json"
    assert t.put(f"/templates/{release_id}", {"description": "Ours"}).status_code == 200
