"""Webhook test helpers: a real HTTP receiver on loopback that records what it is sent and
answers as a test tells it, and a workspace with an endpoint pointing at it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """What arrived, and ``answer(received) -> status`` (200 unless told otherwise)."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    answer: Callable[[Received], int] = lambda r: 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, done: Callable[[list[Received]], bool], timeout: float = 20.0) -> list:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                seen = list(self.received)
            if done(seen):
                return seen
            assert time.monotonic() < deadline, [r.json for r in seen]
            time.sleep(0.02)

    def events(self) -> list[str]:
        with self.lock:
            return [r.json["event"] for r in self.received]


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            got = Received(time.monotonic(), self.path, dict(self.headers), self.rfile.read(length))
            with receiver.lock:
                receiver.received.append(got)
            status = receiver.answer(got)
            answer = b'{"ok": true}' if status < 400 else b"receiver says no" * 200
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def register(client: Any, owner: dict, workspace_id: str, url: str, **body: Any) -> dict:
    response = client.post(
        f"/api/v1/workspaces/{workspace_id}/webhooks",
        json={"url": url, "events": ["*"], **body},
        headers=owner["headers"],
    )
    assert response.status_code == 201, response.text
    return response.json()


def deliveries(client: Any, owner: dict, workspace_id: str, webhook_id: str, **params: Any):
    response = client.get(
        f"/api/v1/workspaces/{workspace_id}/webhooks/{webhook_id}/deliveries",
        params={"limit": 100, **params},
        headers=owner["headers"],
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


def wait_for_deliveries(
    client: Any,
    owner: dict,
    workspace_id: str,
    webhook_id: str,
    done: Callable[[list[dict]], bool],
    timeout: float = 20.0,
) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        found = deliveries(client, owner, workspace_id, webhook_id)
        if done(found):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.05)
