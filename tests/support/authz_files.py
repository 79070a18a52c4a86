"""Authorization matrix rows for the files and attachments endpoints (see
tests/support/authz.py)."""

from __future__ import annotations

from tests.support.authz import Case, World, expect
from tests.support.authz_tasks import task_of
from tests.support.files import PNG

UPLOAD = "/api/v1/files/upload"
FILE = "/api/v1/files/{file_id}"
ATTACHMENTS = "/api/v1/attachments"
ATTACHMENT = "/api/v1/attachments/{attachment_id}"


def file_of(world: World) -> str:
    """A file uploaded by the owner to the world's workspace."""

    def make(w: World) -> str:
        response = w.client.post(
            f"{UPLOAD}?workspace_id={w.workspace['id']}",
            files={"file": ("plan.png", PNG, "image/png")},
            headers=w.headers("owner"),
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    return world.ensure("file", make)


def attachment_of(world: World) -> str:
    """The owner's file attached by the owner to the world's task."""
    return world.ensure(
        "attachment",
        lambda w: w.post(
            ATTACHMENTS,
            {"file_id": file_of(w), "attachable_type": "task", "attachable_id": task_of(w)},
        )["id"],
    )


CASES: list[Case] = [
    # Writers upload; viewers may not; outsiders do not see the workspace.
    Case(
        "POST",
        UPLOAD,
        expect(201, 201, 201, 403, 404),
        path=lambda w: f"{UPLOAD}?workspace_id={w.workspace['id']}",
        files=lambda w, r: {"file": ("diagram.png", PNG, "image/png")},
    ),
    Case(
        "GET",
        FILE,
        expect(200, 200, 200, 200, 404),
        path=lambda w: f"/api/v1/files/{file_of(w)}",
    ),
    # The owner uploaded it: owners and admins delete anyone's file, members only their own.
    Case(
        "DELETE",
        FILE,
        expect(204, 204, 403, 403, 404),
        path=lambda w: f"/api/v1/files/{file_of(w)}",
    ),
    # Attaching needs the right to edit the target (here a task: writers).
    Case(
        "POST",
        ATTACHMENTS,
        expect(201, 201, 201, 403, 404),
        path=lambda w: ATTACHMENTS,
        body=lambda w, r: {
            "file_id": file_of(w),
            "attachable_type": "task",
            "attachable_id": task_of(w),
        },
    ),
    Case(
        "DELETE",
        ATTACHMENT,
        expect(204, 204, 204, 403, 404),
        path=lambda w: f"/api/v1/attachments/{attachment_of(w)}",
    ),
]
