"""Issue 12, defect 1(b): a request body above the limit gets 413 problem+json while it streams
in, never after it has been read into memory.

Before: no limit at all; a 100 MB JSON body was read whole into memory, then parsed.
"""

from __future__ import annotations

import json
import socket
import time

import anyio
import pytest
from fastapi.testclient import TestClient

from interfaces.http.app import create_app
from tests.support.databases import make_settings
from tests.support.live_server import live_server

PROBLEM = "application/problem+json"
CHUNK = 64 * 1024


def test_a_json_body_over_the_limit_is_a_413_problem_with_the_usual_headers(client, api):
    user = api.register()
    too_big = json.dumps({"name": "w", "description": "x" * 1_100_000}).encode()
    response = client.post(
        "/api/v1/workspaces",
        content=too_big,
        headers={**user["headers"], "content-type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == PROBLEM
    assert "1048576 bytes" in response.json()["detail"]
    assert response.headers["x-request-id"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/api/v1/workspaces", headers=user["headers"]).json()["data"] == []


def test_other_media_types_have_the_smaller_limit(client):
    response = client.post(
        "/api/v1/auth/login", content=b"x" * 70_000, headers={"content-type": "text/plain"}
    )
    assert response.status_code == 413
    assert "65536 bytes" in response.json()["detail"]


def drive(app, headers: list[tuple[bytes, bytes]], chunks: int) -> tuple[list[dict], int]:
    """Call the ASGI app with a body of ``chunks`` chunks streamed through ``receive``; return
    what it sent and how many chunks it pulled."""
    pulled = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal pulled
        if pulled == chunks:
            return {"type": "http.disconnect"}
        pulled += 1
        return {"type": "http.request", "body": b" " * CHUNK, "more_body": pulled < chunks}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/workspaces",
        "raw_path": b"/api/v1/workspaces",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    anyio.run(app, scope, receive, send)
    return sent, pulled


@pytest.fixture(scope="module")
def small_limits_app(database_url):
    return create_app(make_settings(database_url, max_json_body_bytes=256 * 1024))


def test_a_chunked_body_is_refused_at_the_first_chunk_past_the_limit(small_limits_app):
    # 100 MB offered in 64 KiB chunks, no Content-Length: the app pulls 5 (320 KiB > 256 KiB).
    sent, pulled = drive(small_limits_app, [(b"content-type", b"application/json")], 1600)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 413
    assert (b"content-type", PROBLEM.encode()) in start["headers"]
    assert pulled == 5


def test_a_content_length_over_the_limit_is_refused_before_reading(small_limits_app):
    headers = [(b"content-type", b"application/json"), (b"content-length", b"104857600")]
    sent, pulled = drive(small_limits_app, headers, 1600)
    assert sent[0]["status"] == 413
    assert pulled == 0


def test_a_body_within_the_limit_reaches_the_endpoint(small_limits_app):
    # 4 chunks (256 KiB) of spaces is not JSON the endpoint wants: 422, not 413.
    sent, pulled = drive(small_limits_app, [(b"content-type", b"application/json")], 4)
    assert sent[0]["status"] in (401, 422)
    assert pulled == 4


def read_status(sock: socket.socket, timeout: float = 10) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        got = sock.recv(65536)
        if not got:
            break
        data += got
    return data.split(b"\r\n", 1)[0]


def request_head(port: int, extra: str) -> bytes:
    return (
        f"POST /api/v1/workspaces HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\n{extra}\r\n"
    ).encode()


@pytest.mark.slow
def test_a_real_server_answers_413_while_the_client_is_still_sending(fresh_database_url):
    with live_server(fresh_database_url) as base:
        port = int(base.rsplit(":", 1)[1])
        # 100 MB announced, nothing sent: the answer comes without the body.
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(request_head(port, "Content-Length: 104857600\r\n"))
            started = time.monotonic()
            assert b" 413 " in read_status(sock)
            assert time.monotonic() - started < 5
        # Chunked, no length: keep sending until the server answers (or stops reading).
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(request_head(port, "Transfer-Encoding: chunked\r\n"))
            sock.settimeout(0.05)
            chunk = b"%x\r\n%s\r\n" % (CHUNK, b" " * CHUNK)
            sent = 0
            answer = b""
            while sent < 100 * 1024 * 1024:
                try:
                    sock.sendall(chunk)
                    sent += CHUNK
                except (TimeoutError, BrokenPipeError, ConnectionResetError):
                    break
                try:
                    answer = sock.recv(65536)
                    break
                except TimeoutError:
                    continue
            answer = answer or read_status(sock)
            assert b" 413 " in answer.split(b"\r\n", 1)[0]
            assert sent < 16 * 1024 * 1024  # refused at ~1 MB, not after 100 MB


def test_the_free_form_json_limits_follow_the_apps_settings(database_url, api, client):
    """MAX_JSON_DEPTH / MAX_JSON_FIELD_BYTES apply to the app configured with them only."""
    strict = create_app(
        make_settings(database_url, max_json_depth=2, max_json_field_bytes=300),
        with_projector=False,
    )
    user = api.register()
    three_levels = {"name": "w", "settings": {"a": {"b": {}}}}
    with TestClient(strict) as strict_client:
        deep = strict_client.post("/api/v1/workspaces", json=three_levels, headers=user["headers"])
        assert deep.status_code == 422
        assert "deeper than 2 levels" in deep.json()["errors"][0]["message"]
        big = {"name": "w", "settings": {"a": "x" * 400}}
        large = strict_client.post("/api/v1/workspaces", json=big, headers=user["headers"])
        assert large.status_code == 422
    # The default app (20 levels, 64 KiB) is not affected.
    ok = client.post("/api/v1/workspaces", json=three_levels, headers=user["headers"])
    assert ok.status_code == 201, ok.text
