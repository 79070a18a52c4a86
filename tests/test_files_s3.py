"""Files on S3: moto's server on a loopback port (a real S3 HTTP API, not a mocked client).
Small files are one PUT, large ones a multipart upload sent part by part; a refused upload
leaves no object and no unfinished multipart upload; downloads are presigned redirects (or
streamed through the API with Range); deletion removes the object."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator

import boto3
import httpx
import pytest
from fastapi.testclient import TestClient
from moto.server import ThreadedMotoServer

from interfaces.http.app import create_app
from tests.support.api import Api
from tests.support.databases import drop_database, make_settings, recreate_database
from tests.support.files import EXE, PNG, eventually, upload, uploaded
from tests.support.live_server import free_port

BUCKET = "worksync-files"
PART = 5 * 1024 * 1024  # S3's smallest part


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    yield endpoint
    server.stop()


@pytest.fixture(scope="module")
def bucket(s3_endpoint):
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket=BUCKET)
    return s3


def s3_client(database_url: str, endpoint: str, **overrides) -> TestClient:
    settings = make_settings(
        database_url,
        s3_bucket_name=BUCKET,
        s3_endpoint_url=endpoint,
        s3_region="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        s3_part_size=PART,
        **overrides,
    )
    return TestClient(create_app(settings, with_projector=True))


@pytest.fixture(scope="module")
def s3_database_url(template_db: str) -> Iterator[str]:
    """A database of this module's own: the session's shared app (local storage) must not
    run the files_storage policy and its outbox for these files."""
    name = f"worksync_s3_{uuid.uuid4().hex[:12]}"
    yield recreate_database(name, template_db)
    drop_database(name)


@pytest.fixture(scope="module")
def client(s3_database_url, s3_endpoint, bucket) -> Iterator[TestClient]:
    with s3_client(s3_database_url, s3_endpoint) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def streamed(s3_database_url, s3_endpoint, bucket) -> Iterator[TestClient]:
    """The same storage, downloads streamed through the API instead of redirected."""
    with s3_client(s3_database_url, s3_endpoint, files_presigned_redirect=False) as test_client:
        yield test_client


@pytest.fixture
def owner(client):
    return Api(client).register()


@pytest.fixture
def workspace(client, owner):
    return Api(client).create_workspace(owner)


def objects(bucket) -> dict[str, int]:
    listing = bucket.list_objects_v2(Bucket=BUCKET)
    return {o["Key"]: o["Size"] for o in listing.get("Contents", [])}


def unfinished(bucket) -> list:
    return bucket.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])


def object_bytes(bucket, file_id: str) -> bytes:
    key = next(k for k in objects(bucket) if k.endswith(file_id))
    return bucket.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_a_small_file_is_one_put_and_downloads_by_presigned_redirect(
    client, bucket, owner, workspace
):
    file = uploaded(client, owner, workspace["id"])
    assert object_bytes(bucket, file["id"]) == PNG
    assert file["checksum"] == hashlib.sha256(PNG).hexdigest()
    answer = client.get(file["download_url"], headers=owner["headers"], follow_redirects=False)
    assert answer.status_code == 307
    location = answer.headers["location"]
    assert "X-Amz-Signature=" in location
    assert "X-Amz-Expires=60" in location
    assert answer.headers["cache-control"] == "no-store"
    fetched = httpx.get(location)  # storage serves it: the name and type ride along
    assert fetched.status_code == 200
    assert fetched.content == PNG
    assert fetched.headers["content-disposition"].startswith('attachment; filename="picture.png"')
    assert fetched.headers["content-type"] == "image/png"
    anonymous = client.get(file["download_url"], follow_redirects=False)
    assert anonymous.status_code == 401  # no redirect for who may not read it


def test_a_large_file_is_a_multipart_upload_byte_for_byte(client, bucket, owner, workspace):
    content = PNG + os.urandom(2 * PART + 123_457)  # three parts, the last one short
    file = uploaded(client, owner, workspace["id"], content=content, name="big.png")
    assert file["file_size"] == len(content)
    assert file["checksum"] == hashlib.sha256(content).hexdigest()
    key = next(k for k in objects(bucket) if k.endswith(file["id"]))
    head = bucket.head_object(Bucket=BUCKET, Key=key)
    assert head["ETag"].strip('"').endswith("-3")  # S3's multipart ETag: three parts
    assert object_bytes(bucket, file["id"]) == content
    assert unfinished(bucket) == []


def test_downloads_streamed_from_s3_with_ranges(streamed, bucket):
    api = Api(streamed)
    owner = api.register()
    workspace = api.create_workspace(owner)
    content = PNG + os.urandom(300_000)
    file = uploaded(streamed, owner, workspace["id"], content=content, name="s.png")
    whole = streamed.get(file["download_url"], headers=owner["headers"])
    assert (whole.status_code, whole.content) == (200, content)
    assert whole.headers["etag"] == f'"{hashlib.sha256(content).hexdigest()}"'
    part = streamed.get(file["download_url"], headers={**owner["headers"], "Range": "bytes=10-20"})
    assert (part.status_code, part.content) == (206, content[10:21])
    tail = streamed.get(file["download_url"], headers={**owner["headers"], "Range": "bytes=-5"})
    assert tail.content == content[-5:]


def test_refused_uploads_leave_no_object_and_no_unfinished_upload(client, bucket, owner, workspace):
    files = client.app.state.container.files
    before = objects(bucket)
    limit, files.max_bytes = files.max_bytes, PART + 1000
    try:
        # over the limit after a first part went out: the multipart upload is aborted
        answer = upload(client, owner, workspace["id"], content=PNG + os.urandom(PART + 5000))
        assert answer.status_code == 413, answer.text
    finally:
        files.max_bytes = limit
    assert upload(client, owner, workspace["id"], content=EXE, name="a.exe").status_code == 415
    assert upload(client, owner, workspace["id"], content=b"", name="e.txt").status_code == 422
    assert objects(bucket) == before
    assert unfinished(bucket) == []


def test_deleting_removes_the_object(client, bucket, owner, workspace):
    file = uploaded(client, owner, workspace["id"])
    assert any(k.endswith(file["id"]) for k in objects(bucket))
    assert client.delete(f"/api/v1/files/{file['id']}", headers=owner["headers"]).status_code == 204
    assert eventually(lambda: not any(k.endswith(file["id"]) for k in objects(bucket)))


def test_a_deleted_workspace_empties_its_prefix(client, bucket, owner, workspace):
    made = [uploaded(client, owner, workspace["id"])["id"] for _ in range(3)]
    other = Api(client).create_workspace(owner, name="Kept")
    kept = uploaded(client, owner, other["id"])["id"]
    deleted = client.delete(f"/api/v1/workspaces/{workspace['id']}", headers=owner["headers"])
    assert deleted.status_code == 204
    assert eventually(lambda: not any(k.endswith(tuple(made)) for k in objects(bucket)))
    assert any(k.endswith(kept) for k in objects(bucket))
