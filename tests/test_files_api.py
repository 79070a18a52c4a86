"""Files on the local store: uploads and downloads byte for byte, hostile input refused with
nothing stored, who may read and delete, attachments, and the stored bytes removed after
deletion (of the file, its workspace, its uploader)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from application.adapters.files_storage import LocalStorage
from application.errors import Conflict
from interfaces.http.app import create_app
from interfaces.jobs.files import OutboxFiles
from projections.outbox import OutboxDispatcher
from tests.support.authz import add_member
from tests.support.authz_comments import make_card
from tests.support.authz_tasks import make_project
from tests.support.databases import make_settings
from tests.support.files import ELF, EXE, PDF, PNG, TEXT, eventually, upload, uploaded


def stored_files(client: TestClient) -> list[Path]:
    """Every file in the local store, the uploads in progress included."""
    root = Path(client.app.state.container.settings.files_folder)
    return sorted(p for p in root.rglob("*") if p.is_file())


def stored(client: TestClient, file_id: str) -> Path | None:
    return next((p for p in stored_files(client) if p.name == file_id), None)


@pytest.fixture
def owner(api):
    return api.register(name="Owner")


@pytest.fixture
def workspace(api, owner):
    return api.create_workspace(owner)


def member(api, client, workspace, owner, role: str = "member") -> dict:
    user = api.register(name=role.title())
    add_member(client, workspace["id"], owner, user["user"]["id"], role)
    return user


# Uploads and downloads -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "declared", "mime"),
    [
        (PNG, "picture.png", "image/png", "image/png"),
        (PDF, "report.pdf", "application/pdf", "application/pdf"),
        (TEXT, "notes.txt", "text/plain", "text/plain"),
        (TEXT, "data.csv", "text/csv", "text/csv"),
        (PNG, "no-type", None, "image/png"),  # octet-stream: the bytes decide
    ],
)
def test_upload_and_download_byte_for_byte(client, owner, workspace, content, name, declared, mime):
    file = uploaded(
        client, owner, workspace["id"], content=content, name=name, content_type=declared
    )
    checksum = hashlib.sha256(content).hexdigest()
    assert file["checksum"] == checksum
    assert file["file_size"] == len(content)
    assert file["mime_type"] == mime
    assert file["name"] == file["original_name"] == name
    assert file["uploaded_by"] == owner["user"]["id"]
    assert "file_path" not in file  # the storage key is ours, never shown

    meta = client.get(f"/api/v1/files/{file['id']}", headers=owner["headers"])
    assert meta.status_code == 200
    assert meta.json()["checksum"] == checksum
    got = client.get(file["download_url"], headers=owner["headers"])
    assert got.status_code == 200
    assert got.content == content
    assert got.headers["etag"] == f'"{checksum}"'
    assert got.headers["content-type"].startswith(mime)
    assert got.headers["content-length"] == str(len(content))
    assert got.headers["accept-ranges"] == "bytes"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert "content-encoding" not in got.headers  # stored bytes, never re-encoded
    assert stored(client, file["id"]).read_bytes() == content


def test_ranges_and_conditional_requests(client, owner, workspace):
    file = uploaded(client, owner, workspace["id"], content=PDF, name="r.pdf", content_type=None)
    url, headers = file["download_url"], owner["headers"]
    part = client.get(url, headers={**headers, "Range": "bytes=0-7"})
    assert part.status_code == 206
    assert part.content == PDF[:8]
    assert part.headers["content-range"] == f"bytes 0-7/{len(PDF)}"
    tail = client.get(url, headers={**headers, "Range": "bytes=-6"})
    assert (tail.status_code, tail.content) == (206, PDF[-6:])
    rest = client.get(url, headers={**headers, "Range": "bytes=100-"})
    assert (rest.status_code, rest.content) == (206, PDF[100:])
    beyond = client.get(url, headers={**headers, "Range": f"bytes={len(PDF)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-type"] == "application/problem+json"
    for ignored in ("bytes=0-1,4-5", "items=0-1", "bytes=9-2", "nonsense"):
        whole = client.get(url, headers={**headers, "Range": ignored})
        assert (whole.status_code, whole.content) == (200, PDF), ignored
    etag = f'"{file["checksum"]}"'
    assert client.get(url, headers={**headers, "If-None-Match": etag}).status_code == 304
    stale = client.get(url, headers={**headers, "Range": "bytes=0-1", "If-Range": '"other"'})
    assert (stale.status_code, stale.content) == (200, PDF)
    fresh = client.get(url, headers={**headers, "Range": "bytes=0-1", "If-Range": etag})
    assert (fresh.status_code, fresh.content) == (206, PDF[:2])


@pytest.mark.parametrize(
    "name",
    ['résumé "final"; draft.pdf', "отчёт 2026.pdf", "emoji 📎.pdf", "100% done.pdf", "plain.pdf"],
)
def test_content_disposition_names_the_file_exactly(client, owner, workspace, name):
    file = uploaded(client, owner, workspace["id"], content=PDF, name=name, content_type=None)
    got = client.get(file["download_url"], headers=owner["headers"])
    disposition = got.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition
    fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback.isascii()
    assert '"' not in fallback


# Hostile input: refused, nothing stored ----------------------------------------------------------


def refused(response, status: int, client: TestClient, before: list[Path]) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert stored_files(client) == before  # nothing stored, no upload left behind
    return response.json()


@pytest.mark.parametrize(
    ("content", "name", "declared", "status"),
    [
        (TEXT, "fake.png", "image/png", 415),  # the declared type contradicts the bytes
        (PNG, "fake.pdf", "application/pdf", 415),
        (EXE, "setup.exe", None, 415),  # executable content, whatever is declared
        (EXE, "invoice.pdf", "application/pdf", 415),
        (ELF, "tool", "application/octet-stream", 415),
        (b"#!/bin/sh\nrm -rf /\n", "run.txt", "text/plain", 415),
        (b"<svg onload=alert(1)>", "x.svg", "image/svg+xml", 415),  # not on the allowlist
        (bytes(range(256)) * 8, "blob.bin", None, 415),  # unknown binary: not allowed
        (b"", "empty.txt", "text/plain", 422),
        (PNG, "../../etc/passwd", "image/png", 422),
        (PNG, "..\\..\\boot.ini", "image/png", 422),
        (PNG, "..", "image/png", 422),
        (PNG, "CON.png", "image/png", 422),
        (PNG, "nul", "image/png", 422),
        (PNG, "exe\u202egnp.png", "image/png", 422),  # right-to-left override
        (PNG, "x" * 256 + ".png", "image/png", 422),
    ],
)
def test_hostile_uploads_are_refused_and_nothing_is_stored(
    client, owner, workspace, content, name, declared, status
):
    before = stored_files(client)
    answer = upload(
        client, owner, workspace["id"], content=content, name=name, content_type=declared
    )
    refused(answer, status, client, before)


@pytest.mark.parametrize("raw_name", [b"tab\there.png", b"nul\x00.png", b"line\r\n.png"])
def test_control_characters_in_a_raw_name_are_refused(client, owner, workspace, raw_name):
    """Names as a client may really send them (not escaped as browsers and httpx do)."""
    body = (
        b'--xx\r\nContent-Disposition: form-data; name="file"; filename="'
        + raw_name
        + b'"\r\nContent-Type: image/png\r\n\r\n'
        + PNG
        + b"\r\n--xx--\r\n"
    )
    before = stored_files(client)
    answer = client.post(
        f"/api/v1/files/upload?workspace_id={workspace['id']}",
        content=body,
        headers={**owner["headers"], "Content-Type": "multipart/form-data; boundary=xx"},
    )
    assert answer.status_code in (400, 422), answer.text
    refused(answer, answer.status_code, client, before)


def test_a_file_over_the_limit_is_413_and_nothing_is_stored(client, owner, workspace):
    files = client.app.state.container.files
    limit, files.max_bytes = files.max_bytes, 20_000
    try:
        before = stored_files(client)
        big = PNG + b"\0" * 30_000
        problem = refused(upload(client, owner, workspace["id"], content=big), 413, client, before)
        assert problem["limit"] == 20_000
        assert upload(client, owner, workspace["id"], content=PNG).status_code == 201
    finally:
        files.max_bytes = limit


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(database_url, api):
    settings = make_settings(database_url, max_upload_bytes=10_000)
    with TestClient(create_app(settings, with_projector=False)) as small:
        user = api.register()
        workspace = api.create_workspace(user)
        before = stored_files(small)
        body = PNG + b"\0" * 200_000
        answer = upload(small, user, workspace["id"], content=body)
        refused(answer, 413, small, before)


def test_malformed_and_wrong_bodies(client, owner, workspace):
    url = f"/api/v1/files/upload?workspace_id={workspace['id']}"
    headers = owner["headers"]
    before = stored_files(client)
    as_json = client.post(url, json={"file": "x"}, headers=headers)
    refused(as_json, 415, client, before)
    no_file = client.post(url, data={"note": "x"}, files={"other": ("a.png", PNG)}, headers=headers)
    refused(no_file, 422, client, before)
    two = client.post(
        url,
        files=[("file", ("a.png", PNG, "image/png")), ("file", ("b.png", PNG))],
        headers=headers,
    )
    refused(two, 422, client, before)
    cut = client.post(
        url,
        content=b'--xx\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        + PNG,
        headers={**headers, "Content-Type": "multipart/form-data; boundary=xx"},
    )
    refused(cut, 400, client, before)


def test_only_writers_of_the_workspace_upload(client, api, owner, workspace):
    outsider = api.register(name="Outsider")
    viewer = member(api, client, workspace, owner, "viewer")
    before = stored_files(client)
    refused(upload(client, outsider, workspace["id"]), 404, client, before)  # a foreign workspace
    refused(upload(client, viewer, workspace["id"]), 403, client, before)
    refused(upload(client, {}, workspace["id"]), 401, client, before)
    missing = "00000000-0000-4000-8000-000000000000"
    refused(upload(client, owner, missing), 404, client, before)


# Reading ---------------------------------------------------------------------------------------


def test_members_read_outsiders_do_not_public_files_anyone(client, api, owner, workspace):
    private = uploaded(client, owner, workspace["id"])
    public = uploaded(client, owner, workspace["id"], public=True)
    viewer = member(api, client, workspace, owner, "viewer")
    outsider = api.register(name="Outsider")
    for path in (f"/api/v1/files/{private['id']}", private["download_url"]):
        assert client.get(path, headers=viewer["headers"]).status_code == 200
        assert client.get(path, headers=outsider["headers"]).status_code == 404
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get(public["download_url"]).content == PNG
    assert client.get(public["download_url"], headers=outsider["headers"]).status_code == 200
    assert client.get(f"/api/v1/files/{public['id']}").json()["is_public"] is True
    # An id that does not exist is 404 to a signed-in caller, 401 (no hint) to anyone else.
    missing = "/api/v1/files/00000000-0000-4000-8000-000000000000"
    assert client.get(missing, headers=owner["headers"]).status_code == 404
    assert client.get(missing).status_code == 401


# Deleting --------------------------------------------------------------------------------------


def test_deleting_a_file_removes_its_bytes_and_attachments(client, api, owner, workspace):
    writer = member(api, client, workspace, owner)
    file = uploaded(client, writer, workspace["id"])
    project = make_project(client, owner, workspace["id"])
    card = make_card(client, owner, workspace["id"], project)
    attached = client.post(
        "/api/v1/attachments",
        json={"file_id": file["id"], "attachable_type": "card", "attachable_id": card},
        headers=writer["headers"],
    )
    assert attached.status_code == 201, attached.text
    assert stored(client, file["id"]) is not None
    other = member(api, client, workspace, owner)
    assert client.delete(f"/api/v1/files/{file['id']}", headers=other["headers"]).status_code == 403
    assert (
        client.delete(f"/api/v1/files/{file['id']}", headers=writer["headers"]).status_code == 204
    )
    assert client.get(f"/api/v1/files/{file['id']}", headers=owner["headers"]).status_code == 404
    assert client.delete(f"/api/v1/files/{file['id']}", headers=owner["headers"]).status_code == 404
    card_row = client.get(f"/api/v1/cards/{card}", headers=owner["headers"]).json()
    assert (card_row["attachments"], card_row["attachments_count"]) == ([], 0)
    gone = f"/api/v1/attachments/{attached.json()['id']}"
    assert client.delete(gone, headers=owner["headers"]).status_code == 404
    assert eventually(lambda: stored(client, file["id"]) is None)


def test_a_deleted_workspace_takes_its_files_from_storage(client, owner, workspace):
    files = [uploaded(client, owner, workspace["id"]) for _ in range(3)]
    assert all(stored(client, f["id"]) for f in files)
    assert (
        client.delete(f"/api/v1/workspaces/{workspace['id']}", headers=owner["headers"]).status_code
        == 204
    )
    assert eventually(lambda: not any(stored(client, f["id"]) for f in files))
    assert (
        client.get(f"/api/v1/files/{files[0]['id']}", headers=owner["headers"]).status_code == 404
    )


def test_an_erased_user_s_uploads_are_deleted(client, api, owner, workspace):
    leaver = member(api, client, workspace, owner)
    theirs = uploaded(client, leaver, workspace["id"])
    mine = uploaded(client, owner, workspace["id"])
    erased = client.delete(f"/api/v1/users/{leaver['user']['id']}", headers=leaver["headers"])
    assert erased.status_code == 204, erased.text
    assert eventually(lambda: stored(client, theirs["id"]) is None)
    assert eventually(
        lambda: (
            client.get(f"/api/v1/files/{theirs['id']}", headers=owner["headers"]).status_code == 404
        )
    )
    assert stored(client, mine["id"]) is not None


# Attachments -----------------------------------------------------------------------------------


def attach(client, user, file_id, kind, target):
    return client.post(
        "/api/v1/attachments",
        json={"file_id": file_id, "attachable_type": kind, "attachable_id": target},
        headers=user["headers"],
    )


def test_attachments_on_every_kind_of_target(client, api, owner, workspace):
    file = uploaded(client, owner, workspace["id"], content=PDF, name="spec.pdf", content_type=None)
    project = make_project(client, owner, workspace["id"])
    card = make_card(client, owner, workspace["id"], project)
    task = client.post(
        f"/api/v1/projects/{project}/tasks", json={"title": "T"}, headers=owner["headers"]
    ).json()["id"]
    comment = client.post(
        f"/api/v1/tasks/{task}/comments", json={"content": "see file"}, headers=owner["headers"]
    ).json()["id"]
    made = {}
    for kind, target in (
        ("card", card),
        ("task", task),
        ("comment", comment),
        ("project", project),
    ):
        answer = attach(client, owner, file["id"], kind, target)
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert (body["attachable_type"], body["attachable_id"], body["file_id"]) == (
            kind,
            target,
            file["id"],
        )
        assert (body["name"], body["mime_type"], body["project_id"]) == (
            "spec.pdf",
            "application/pdf",
            project,
        )
        made[kind] = body["id"]
    assert attach(client, owner, file["id"], "card", card).status_code == 409  # already there
    reads = {
        "task": client.get(f"/api/v1/tasks/{task}", headers=owner["headers"]).json(),
        "project": client.get(f"/api/v1/projects/{project}", headers=owner["headers"]).json(),
        "comment": client.get(f"/api/v1/tasks/{task}/comments", headers=owner["headers"]).json()[
            "data"
        ][0],
    }
    for kind, read in reads.items():  # attachments show on their targets' reads
        assert [(a["id"], a["file_id"], a["name"]) for a in read["attachments"]] == [
            (made[kind], file["id"], "spec.pdf")
        ], kind
    card_row = client.get(f"/api/v1/cards/{card}", headers=owner["headers"]).json()
    assert card_row["attachments_count"] == 1
    assert card_row["attachments"][0]["id"] == made["card"]
    assert card_row["attachments"][0]["file_id"] == file["id"]
    board = client.get(f"/api/v1/boards/{card_row['board_id']}", headers=owner["headers"]).json()
    assert board["columns"][0]["cards"][0]["attachments_count"] == 1
    assert (
        client.delete(f"/api/v1/attachments/{made['card']}", headers=owner["headers"]).status_code
        == 204
    )
    card_row = client.get(f"/api/v1/cards/{card}", headers=owner["headers"]).json()
    assert (card_row["attachments"], card_row["attachments_count"]) == ([], 0)
    assert client.get(file["download_url"], headers=owner["headers"]).content == PDF  # file stays
    assert attach(client, owner, file["id"], "card", card).status_code == 201  # again, after


def test_attaching_needs_the_right_to_edit_the_target_in_the_file_s_workspace(
    client, api, owner, workspace
):
    file = uploaded(client, owner, workspace["id"])
    project = make_project(client, owner, workspace["id"])
    task = client.post(
        f"/api/v1/projects/{project}/tasks", json={"title": "T"}, headers=owner["headers"]
    ).json()["id"]
    comment = client.post(
        f"/api/v1/tasks/{task}/comments", json={"content": "mine"}, headers=owner["headers"]
    ).json()["id"]
    viewer = member(api, client, workspace, owner, "viewer")
    writer = member(api, client, workspace, owner)
    assert attach(client, viewer, file["id"], "task", task).status_code == 403
    assert attach(client, writer, file["id"], "comment", comment).status_code == 403  # not theirs
    missing = "00000000-0000-4000-8000-000000000000"
    assert attach(client, owner, file["id"], "task", missing).status_code == 404
    assert attach(client, owner, missing, "task", task).status_code == 404
    # A file of another workspace: 404 to an outsider of it, 422 to a member of both.
    elsewhere = api.create_workspace(owner, name="Elsewhere")
    foreign = uploaded(client, owner, elsewhere["id"])
    add_member(client, elsewhere["id"], owner, writer["user"]["id"], "member")
    assert attach(client, writer, foreign["id"], "task", task).status_code == 422
    stranger_ws = api.create_workspace(writer, name="Theirs")
    theirs = uploaded(client, writer, stranger_ws["id"])
    assert attach(client, owner, theirs["id"], "task", task).status_code == 404
    # Detaching: whoever may edit the target.
    attachment = attach(client, owner, file["id"], "task", task).json()["id"]
    assert (
        client.delete(f"/api/v1/attachments/{attachment}", headers=viewer["headers"]).status_code
        == 403
    )
    outsider = api.register(name="Outsider")
    assert (
        client.delete(f"/api/v1/attachments/{attachment}", headers=outsider["headers"]).status_code
        == 404
    )
    assert (
        client.delete(f"/api/v1/attachments/{attachment}", headers=writer["headers"]).status_code
        == 204
    )
    assert (
        client.delete(f"/api/v1/attachments/{attachment}", headers=writer["headers"]).status_code
        == 404
    )


def test_deleting_the_target_removes_its_attachments(client, owner, workspace):
    file = uploaded(client, owner, workspace["id"])
    project = make_project(client, owner, workspace["id"])
    task = client.post(
        f"/api/v1/projects/{project}/tasks", json={"title": "T"}, headers=owner["headers"]
    ).json()["id"]
    attachment = attach(client, owner, file["id"], "task", task).json()["id"]
    assert client.delete(f"/api/v1/tasks/{task}", headers=owner["headers"]).status_code == 204
    assert (
        client.delete(f"/api/v1/attachments/{attachment}", headers=owner["headers"]).status_code
        == 404
    )
    on_project = attach(client, owner, file["id"], "project", project).json()["id"]
    assert client.delete(f"/api/v1/projects/{project}", headers=owner["headers"]).status_code == 204
    assert (
        client.delete(f"/api/v1/attachments/{on_project}", headers=owner["headers"]).status_code
        == 404
    )
    assert client.get(file["download_url"], headers=owner["headers"]).content == PNG


def test_nothing_is_left_in_the_upload_folder(client):
    incoming = Path(client.app.state.container.settings.files_folder) / ".incoming"
    assert not incoming.exists() or os.listdir(incoming) == []


def test_bytes_missing_from_storage_are_a_404_not_a_cut_answer(client, owner, workspace):
    file = uploaded(client, owner, workspace["id"])
    stored(client, file["id"]).unlink()
    answer = client.get(file["download_url"], headers=owner["headers"])
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


def test_storage_down_the_deletion_is_retried_until_storage_confirms(fresh_database_url, tmp_path):
    """The outbox row of a deleted file stays due while storage fails, with backoff, and is
    delivered once storage answers (a delete of what is already gone succeeds too)."""
    storage = LocalStorage(tmp_path)
    key = (
        "workspaces/0b6f8f62-3c55-4d36-8d38-8f2f0c5d9e41/files/1f0e7c57-2b6d-4b44-9d5c-0c3f1d2a9b10"
    )
    upload_ = storage.begin(key)
    upload_.write(PNG)
    upload_.commit()
    failures = [OSError("storage unreachable")] * 2

    class Flaky:
        def delete(self, key: str) -> None:
            if failures:
                raise failures.pop()
            storage.delete(key)

    dispatcher = OutboxDispatcher(
        fresh_database_url, {"files": OutboxFiles(Flaky())}, max_backoff=0.0
    )
    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO outbox (key, kind, policy, position, payload)"
            " VALUES ('files_storage:7:0', 'files', 'files_storage', 7, %s)",
            (Jsonb({"delete": key}),),
        )
        for _ in range(3):
            dispatcher.dispatch(conn)
        row = conn.execute("SELECT attempts, delivered_at, last_error FROM outbox").fetchone()
    assert row[0] == 3
    assert row[1] is not None
    assert row[2] is None
    assert not storage.exists(key)


def test_an_upload_the_log_refuses_leaves_nothing_in_storage(client, owner, workspace, monkeypatch):
    """The bytes are stored first; if recording the file then fails (a rule, a clash), the
    object is removed."""
    files = client.app.state.container.files

    def refused_by_the_log(**kwargs):
        assert any(p.name == str(kwargs["plan"].file_id) for p in stored_files(client))
        raise Conflict("refused")

    monkeypatch.setattr(files, "record_upload", refused_by_the_log)
    before = stored_files(client)
    refused(upload(client, owner, workspace["id"]), 409, client, before)
