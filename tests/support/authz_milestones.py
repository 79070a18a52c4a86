"""Authorization matrix rows for the milestones endpoints (see tests/support/authz.py).

Everyone in the workspace reads milestones, deliverables, templates, the critical path and the
milestone report; members create and update them (viewers 403); deleting a milestone or a
template takes the roles that delete a project (owner, admin); outsiders see nothing (404).
"""

from __future__ import annotations

from tests.support.authz import Case, World, expect
from tests.support.authz_tasks import project_of

READ = expect(200, 200, 200, 200, 404)
CREATE = expect(201, 201, 201, 403, 404)
UPDATE = expect(200, 200, 200, 403, 404)
DELETE_AS_PROJECT = expect(204, 204, 403, 403, 404)
MILESTONE = "/api/v1/milestones/{milestone_id}"
DELIVERABLE = "/api/v1/deliverables/{deliverable_id}"
TEMPLATE = "/api/v1/milestone-templates/{template_id}"


def milestone_of(w: World) -> str:
    return w.ensure(
        "milestone",
        lambda w: w.post(
            f"/api/v1/projects/{project_of(w)}/milestones",
            {"title": "Matrix milestone", "due_date": "2030-01-31"},
        )["id"],
    )


def deliverable_of(w: World) -> str:
    return w.ensure(
        "deliverable",
        lambda w: w.post(f"/api/v1/milestones/{milestone_of(w)}/deliverables", {"title": "D"})[
            "id"
        ],
    )


def template_of(w: World) -> str:
    return w.ensure(
        "milestone_template",
        lambda w: w.post(
            "/api/v1/milestone-templates",
            {
                "workspace_id": w.workspace["id"],
                "name": "Matrix template",
                "milestones_data": [{"title": "One", "due_offset_days": 5}],
            },
        )["id"],
    )


CASES: list[Case] = [
    Case(
        "GET",
        "/api/v1/projects/{project_id}/milestones",
        READ,
        path=lambda w: f"/api/v1/projects/{project_of(w)}/milestones",
    ),
    Case(
        "POST",
        "/api/v1/projects/{project_id}/milestones",
        CREATE,
        path=lambda w: f"/api/v1/projects/{project_of(w)}/milestones",
        body=lambda w, r: {"title": "New", "due_date": "2030-02-01"},
    ),
    Case("GET", MILESTONE, READ, path=lambda w: f"/api/v1/milestones/{milestone_of(w)}"),
    Case(
        "PUT",
        MILESTONE,
        UPDATE,
        path=lambda w: f"/api/v1/milestones/{milestone_of(w)}",
        body=lambda w, r: {"title": "Renamed", "status": "in_progress"},
    ),
    Case(
        "DELETE",
        MILESTONE,
        DELETE_AS_PROJECT,
        path=lambda w: f"/api/v1/milestones/{milestone_of(w)}",
    ),
    Case(
        "GET",
        f"{MILESTONE}/deliverables",
        READ,
        path=lambda w: f"/api/v1/milestones/{milestone_of(w)}/deliverables",
    ),
    Case(
        "POST",
        f"{MILESTONE}/deliverables",
        CREATE,
        path=lambda w: f"/api/v1/milestones/{milestone_of(w)}/deliverables",
        body=lambda w, r: {"title": "Spec", "type": "document"},
    ),
    Case(
        "PUT",
        DELIVERABLE,
        UPDATE,
        path=lambda w: f"/api/v1/deliverables/{deliverable_of(w)}",
        body=lambda w, r: {"status": "completed"},
    ),
    Case(
        "DELETE",
        DELIVERABLE,
        expect(204, 204, 204, 403, 404),
        path=lambda w: f"/api/v1/deliverables/{deliverable_of(w)}",
    ),
    Case(
        "GET",
        "/api/v1/projects/{project_id}/critical-path",
        READ,
        path=lambda w: f"/api/v1/projects/{project_of(w)}/critical-path",
    ),
    Case(
        "GET",
        "/api/v1/projects/{project_id}/milestone-report",
        READ,
        path=lambda w: f"/api/v1/projects/{project_of(w)}/milestone-report",
    ),
    Case(
        "POST",
        "/api/v1/milestones/from-template",
        CREATE,
        path=lambda w: "/api/v1/milestones/from-template",
        body=lambda w, r: {
            "template_id": template_of(w),
            "project_id": project_of(w),
            "start_date": "2030-01-01",
        },
    ),
    Case(
        "GET",
        "/api/v1/milestone-templates",
        READ,
        path=lambda w: f"/api/v1/milestone-templates?workspace_id={w.workspace['id']}",
    ),
    Case(
        "POST",
        "/api/v1/milestone-templates",
        CREATE,
        path=lambda w: "/api/v1/milestone-templates",
        body=lambda w, r: {
            "workspace_id": w.workspace["id"],
            "name": "Another",
            "milestones_data": [{"title": "Only"}],
        },
    ),
    Case("GET", TEMPLATE, READ, path=lambda w: f"/api/v1/milestone-templates/{template_of(w)}"),
    Case(
        "PUT",
        TEMPLATE,
        UPDATE,
        path=lambda w: f"/api/v1/milestone-templates/{template_of(w)}",
        body=lambda w, r: {"category": "matrix"},
    ),
    Case(
        "DELETE",
        TEMPLATE,
        DELETE_AS_PROJECT,
        path=lambda w: f"/api/v1/milestone-templates/{template_of(w)}",
    ),
]
