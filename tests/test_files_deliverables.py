"""Files attached to a milestone's deliverables: who may attach, and the spec's
``deliverable_files`` rows following the attachment, the file, the deliverable and the
milestone."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.authz import add_member
from tests.support.files import PDF, uploaded
from tests.support.milestones import Planner


@pytest.fixture
def plan(api) -> Planner:
    return Planner(api)


def deliverable(plan: Planner, milestone: dict, title: str = "Spec") -> dict:
    return plan.ok(plan.post(f"/milestones/{milestone['id']}/deliverables", {"title": title}), 201)


def attach(plan: Planner, headers: dict, file_id: str, deliverable_id: str):
    return plan.client.post(
        "/api/v1/attachments",
        json={
            "file_id": file_id,
            "attachable_type": "deliverable",
            "attachable_id": deliverable_id,
        },
        headers=headers,
    )


def deliverable_files(database_url: str, deliverable_id: str) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT id::text, name, file_size, mime_type, uploaded_by::text, workspace_id::text"
            " FROM deliverable_files WHERE deliverable_id = %s ORDER BY uploaded_at",
            (deliverable_id,),
        ).fetchall()


def test_a_file_attached_to_a_deliverable_is_listed_in_deliverable_files(plan, database_url):
    milestone = plan.milestone()
    spec = deliverable(plan, milestone)
    file = uploaded(
        plan.client,
        plan.owner,
        plan.workspace["id"],
        content=PDF,
        name="spec.pdf",
        content_type=None,
    )
    attached = attach(plan, plan.headers, file["id"], spec["id"])
    assert attached.status_code == 201, attached.text
    owner_id = plan.owner["user"]["id"]
    assert deliverable_files(database_url, spec["id"]) == [
        (
            attached.json()["id"],
            "spec.pdf",
            len(PDF),
            "application/pdf",
            owner_id,
            plan.workspace["id"],
        )
    ]
    again = attach(plan, plan.headers, file["id"], spec["id"])
    assert again.status_code == 409
    detached = plan.client.delete(
        f"/api/v1/attachments/{attached.json()['id']}", headers=plan.headers
    )
    assert detached.status_code == 204
    assert deliverable_files(database_url, spec["id"]) == []


def test_removing_the_deliverable_its_milestone_or_the_file_removes_the_rows(plan, database_url):
    milestone = plan.milestone()
    first, second = deliverable(plan, milestone, "A"), deliverable(plan, milestone, "B")
    file = uploaded(plan.client, plan.owner, plan.workspace["id"])
    other = uploaded(plan.client, plan.owner, plan.workspace["id"])
    for target in (first, second):
        assert attach(plan, plan.headers, file["id"], target["id"]).status_code == 201
    assert attach(plan, plan.headers, other["id"], second["id"]).status_code == 201

    assert plan.delete(f"/deliverables/{first['id']}").status_code == 204
    assert deliverable_files(database_url, first["id"]) == []
    assert len(deliverable_files(database_url, second["id"])) == 2

    assert (
        plan.client.delete(f"/api/v1/files/{other['id']}", headers=plan.headers).status_code == 204
    )
    assert [row[1] for row in deliverable_files(database_url, second["id"])] == [file["name"]]

    assert plan.delete(f"/milestones/{milestone['id']}").status_code == 204
    assert deliverable_files(database_url, second["id"]) == []
    assert attach(plan, plan.headers, file["id"], second["id"]).status_code == 404


def test_only_writers_of_the_milestone_s_workspace_attach_to_its_deliverables(plan, api):
    spec = deliverable(plan, plan.milestone())
    viewer = api.register(name="Viewer")
    add_member(plan.client, plan.workspace["id"], plan.owner, viewer["user"]["id"], "viewer")
    outsider = api.register(name="Outsider")
    elsewhere = api.create_workspace(outsider)
    own_file = uploaded(plan.client, plan.owner, plan.workspace["id"])
    foreign_file = uploaded(plan.client, outsider, elsewhere["id"])

    assert attach(plan, viewer["headers"], own_file["id"], spec["id"]).status_code == 403
    assert attach(plan, outsider["headers"], foreign_file["id"], spec["id"]).status_code == 404
    unknown = "00000000-0000-4000-8000-000000000000"
    assert attach(plan, plan.headers, own_file["id"], unknown).status_code == 404
