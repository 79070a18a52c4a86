"""Every log line is one JSON object and no line carries a token: structlog's events,
uvicorn's server log, the standard library's logging and warnings, against a real server."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
import threading
import warnings

import httpx
import structlog
import websockets

from interfaces.logs import configure_logging, redact_text
from tests.support.live_server import live_server
from tests.support.logs import console_logging

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def test_a_real_server_logs_json_lines_without_tokens(fresh_database_url, tmp_path):
    log_file = tmp_path / "stderr.log"
    with (
        log_file.open("w") as stderr,
        live_server(fresh_database_url, stderr=stderr, LOG_LEVEL="info") as base,
    ):
        user = httpx.post(
            f"{base}/api/v1/auth/register",
            json={"email": "logs@example.com", "password": "password123", "name": "Logs"},
        ).json()
        token, refresh = user["access_token"], user["refresh_token"]
        port = int(base.rsplit(":", 1)[1])

        async def connect() -> None:
            url = f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket&token={token}"
            async with websockets.connect(url) as ws:
                await ws.recv()  # engine.io open
                await ws.send("40")  # socket.io connect
                await ws.recv()

        asyncio.run(connect())
        httpx.get(f"{base}/socket.io/?EIO=4&transport=polling&token={token}")
        httpx.get(
            f"{base}/api/v1/auth/me?access_token={token}&refresh_token={refresh}",
            headers={"Authorization": f"Bearer {token}"},
        )
        httpx.get(f"{base}/api/v1/nowhere?token={token}")
        with socket.create_connection(("127.0.0.1", port)) as raw:  # uvicorn logs a warning
            raw.sendall(f"GET /?token={token} HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n".encode())
            raw.recv(1024)
    lines = log_file.read_text().splitlines()
    assert len(lines) > 10
    for line in lines:
        entry = json.loads(line)  # every line is one JSON object
        assert isinstance(entry, dict)
        assert "event" in entry
    text = log_file.read_text()
    assert token not in text
    assert refresh not in text
    assert token.split(".")[1] not in text  # not even part of it
    assert any("WebSocket /socket.io/" in json.loads(line)["event"] for line in lines)
    assert "token=[REDACTED]" in text


def test_library_logging_and_warnings_are_json_and_redacted(capsys):
    with warnings.catch_warnings():  # pytest records warnings; show this one as a library would
        warnings.simplefilter("always")
        configure_logging("info", cache=False)
        logging.getLogger("some.library").warning("calling %s, Bearer %s", "/x?token=abc", JWT)
        warnings.warn(f"deprecated, token={JWT}", DeprecationWarning, stacklevel=1)
        try:
            raise ValueError(f"bad refresh_token={JWT}")
        except ValueError:
            logging.getLogger("another").exception("failed")
    console_logging()  # later tests in this process capture logs at any level
    lines = capsys.readouterr().err.splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["logger"] for e in entries] == ["some.library", "py.warnings", "another"]
    assert JWT not in "\n".join(lines)
    assert "ValueError" in entries[2]["exception"]


def test_threads_logging_at_once_never_share_a_line(capsys):
    """structlog's lines and the standard library's, written from several threads at once
    (a server's projector threads log while uvicorn does), each stay one JSON line."""
    configure_logging("info", cache=False)

    def structlog_lines(n: int) -> None:
        for i in range(n):
            structlog.get_logger("projector").info("projection running", i=i)

    def library_lines(n: int) -> None:
        for i in range(n):
            logging.getLogger("uvicorn.error").info("Application startup complete %d", i)

    threads = [threading.Thread(target=f, args=(300,)) for f in (structlog_lines, library_lines)]
    threads += [threading.Thread(target=structlog_lines, args=(300,))]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    console_logging()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 900
    assert all(isinstance(json.loads(line), dict) for line in lines)


def test_redaction_covers_tokens_headers_jwts_and_url_passwords():
    assert redact_text(f"/a?x=1&token={JWT}&y=2") == "/a?x=1&token=[REDACTED]&y=2"
    assert redact_text('{"refresh_token": "abcdefghijkl"}') == '{"refresh_token": "[REDACTED]"}'
    assert redact_text("Authorization: Bearer abcdefghijk") == "Authorization: [REDACTED]"
    assert redact_text(f"seen {JWT} here") == "seen [REDACTED] here"
    assert redact_text("postgresql://u:pw@db/x") == "postgresql://u:[REDACTED]@db/x"
    assert redact_text("password must be 8 characters") == "password must be 8 characters"
