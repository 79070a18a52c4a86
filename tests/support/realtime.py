"""Helpers for the real-time tests: real `worksync serve` processes on loopback ports, the
real python-socketio client, and a few API calls over httpx."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import socketio

READY = "realtime:ready"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `worksync serve` process (single worker) on a free loopback port."""

    def __init__(
        self,
        database_url: str,
        *,
        redis_url: str | None = None,
        projector: bool = True,
        emitter: bool = True,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "BCRYPT_ROUNDS": "4",
            "RATE_LIMIT_ENABLED": "false",
            "LOG_LEVEL": "warning",
        }
        env.pop("REDIS_URL", None)
        env.update(extra_env or {})
        if redis_url:
            env["REDIS_URL"] = redis_url
        args = ["serve", "--port", str(self.port)]
        args.append("--with-projector" if projector else "--no-projector")
        args.append("--realtime-emitter" if emitter else "--no-realtime-emitter")
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from interfaces.cli import main; main()", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.process.kill()
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)


class Listener:
    """A real Socket.IO client that records every event it receives, in order."""

    def __init__(
        self,
        base: str,
        token: str,
        *,
        workspaces: list[str] = (),  # type: ignore[assignment]
        since: int | None = None,
    ) -> None:
        self.base = base
        self.auth: dict[str, Any] = {"token": token, "workspaces": list(workspaces)}
        if since is not None:
            self.auth["since"] = since
        self.received: list[tuple[str, Any]] = []
        self.client = socketio.AsyncClient(reconnection=False)
        self.client.on("*", self._record)

    async def _record(self, event: str, data: Any) -> None:
        self.received.append((event, data))

    async def connect(self, timeout: float = 15) -> dict[str, Any]:
        await self.client.connect(
            self.base, auth=self.auth, transports=["websocket"], wait_timeout=timeout
        )
        await self.wait_for(lambda: self.ready is not None, timeout)
        assert self.ready is not None, "no realtime:ready"
        return self.ready

    @property
    def ready(self) -> dict[str, Any] | None:
        return next((d for e, d in self.received if e == READY), None)

    @property
    def events(self) -> list[tuple[str, dict[str, Any]]]:
        """Log events received (not our control messages)."""
        return [(e, d) for e, d in self.received if e != READY]

    def named(self, name: str) -> list[dict[str, Any]]:
        return [d for e, d in self.events if e == name]

    @property
    def positions(self) -> list[int]:
        return [d["position"] for _, d in self.events]

    async def wait_for(self, condition: Callable[[], Any], timeout: float = 15) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            await asyncio.sleep(0.02)
        return condition()

    async def call(self, event: str, data: Any) -> Any:
        return await self.client.call(event, data, timeout=10)

    async def close(self) -> None:
        await self.client.disconnect()


class Http:
    """The few API calls the real-time tests make."""

    def __init__(self, base: str) -> None:
        self.client = httpx.AsyncClient(base_url=base, timeout=30)

    async def request(self, method: str, path: str, user: dict | None, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {user['access_token']}"} if user else {}
        response = await self.client.request(method, f"/api/v1{path}", headers=headers, **kw)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    async def register(self, name: str = "U") -> dict[str, Any]:
        email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
        body = {"email": email, "password": "password123", "name": name}
        user = await self.request("POST", "/auth/register", None, json=body)
        user["id"] = user["user"]["id"]
        return user

    async def workspace(self, owner: dict, *members: dict) -> str:
        workspace = await self.request("POST", "/workspaces", owner, json={"name": "W"})
        for member in members:
            await self.add_member(owner, workspace["id"], member)
        return workspace["id"]

    async def add_member(self, owner: dict, workspace_id: str, member: dict) -> None:
        body = {"user_id": member["id"], "role": "member"}
        await self.request("POST", f"/workspaces/{workspace_id}/members", owner, json=body)

    async def remove_member(self, owner: dict, workspace_id: str, member: dict) -> None:
        await self.request("DELETE", f"/workspaces/{workspace_id}/members/{member['id']}", owner)

    async def board(self, user: dict, workspace_id: str) -> tuple[list[str], str]:
        """A project with a two-column board and one card; (column ids, card id)."""
        body = {"workspace_id": workspace_id, "name": "P"}
        project = await self.request("POST", "/projects", user, json=body)
        body = {"name": "B", "columns": [{"name": "Todo"}, {"name": "Done"}]}
        board = await self.request("POST", f"/projects/{project['id']}/boards", user, json=body)
        columns = [c["id"] for c in board["columns"]]
        card = await self.request("POST", f"/columns/{columns[0]}/cards", user, json={"title": "c"})
        return columns, card["id"]

    async def move(self, user: dict, card_id: str, column_id: str, position: int = 0) -> None:
        body = {"column_id": column_id, "position": position}
        await self.request("PUT", f"/cards/{card_id}/move", user, json=body)

    async def close(self) -> None:
        await self.client.aclose()
