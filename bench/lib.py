"""Helpers for bench/run.py: the bench database, the server processes, CPU accounting, setup."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import psutil
import psycopg
from psycopg import sql


def log(message: str) -> None:
    """Progress goes to stderr; stdout ends with the one JSON result line."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- database ---------------------------------------------------------------------------


def recreate_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def server_version(admin_url: str) -> str:
    with psycopg.connect(admin_url) as conn:
        return str(conn.execute("SHOW server_version").fetchone()[0])


# --- processes --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Service:
    """A subprocess in its own process group (so uvicorn's workers go down with it)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def processes(self) -> list[psutil.Process]:
        """The service's process and all its descendants (uvicorn workers)."""
        if not self.alive():
            return []
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: the group id is our child's pid
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.name} ignored SIGTERM for {timeout:.0f}s; killing it")
        # The group may outlive its leader (e.g. a worker still shutting down).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        if self._log:
            self._log.close()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def wait_for_health(base_url: str, services: Iterable[Service], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for service in services:
            if not service.alive():
                raise RuntimeError(
                    f"{service.name} exited with {service.proc.returncode}:\n{service.log_tail()}"
                )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{base_url}/health did not answer 200 within {timeout:.0f}s")


# --- CPU accounting ---------------------------------------------------------------------


def _cpu_seconds(processes: Iterable[psutil.Process]) -> dict[int, float]:
    out = {}
    for p in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            t = p.cpu_times()
            out[p.pid] = t.user + t.system
    return out


def postgres_processes() -> list[psutil.Process]:
    """Every PostgreSQL server process on this machine (the bench shares the server)."""
    found = []
    for p in psutil.process_iter(["name"]):
        if p.info["name"] in ("postgres", "postmaster"):
            found.append(p)
    return found


class CpuMeter:
    """CPU seconds used by each group of processes between start() and stop().

    Processes are looked up at both ends; one that appears in between (a new PostgreSQL
    backend) is counted from zero, one that exits in between is lost (rare here: the pools
    keep their connections).
    """

    def __init__(self, groups: dict[str, Callable[[], Iterable[psutil.Process]]]) -> None:
        self.groups = groups
        self._before: dict[str, dict[int, float]] = {}

    def start(self) -> None:
        self._before = {name: _cpu_seconds(find()) for name, find in self.groups.items()}

    def stop(self) -> dict[str, float]:
        used = {}
        for name, find in self.groups.items():
            after = _cpu_seconds(find())
            before = self._before.get(name, {})
            used[name] = sum(max(0.0, t - before.get(pid, 0.0)) for pid, t in after.items())
        return used


# --- setup (not measured) ---------------------------------------------------------------


@dataclass
class BenchUser:
    token: str
    workspace_ids: list[str]


def create_users(base_url: str, count: int, workspaces_each: int = 1) -> list[BenchUser]:
    users = []
    stamp = int(time.time())
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for i in range(count):
            r = client.post(
                "/api/v1/auth/register",
                json={
                    "email": f"bench-{stamp}-{i}@example.com",
                    "password": "bench-password-123",
                    "name": f"Bench User {i}",
                },
            )
            if r.status_code != 201:
                raise RuntimeError(f"register answered {r.status_code}: {r.text}")
            token = r.json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            ids = []
            for j in range(workspaces_each):
                r = client.post(
                    "/api/v1/workspaces", json={"name": f"Setup {i}-{j}"}, headers=headers
                )
                if r.status_code != 201:
                    raise RuntimeError(f"create workspace answered {r.status_code}: {r.text}")
                ids.append(r.json()["id"])
            # Fail in setup, not in the measured run, if reads would not find them.
            r = client.get(f"/api/v1/workspaces/{ids[0]}", headers=headers)
            if r.status_code != 200:
                raise RuntimeError(f"read-back of workspace answered {r.status_code}: {r.text}")
            users.append(BenchUser(token=token, workspace_ids=ids))
    return users


def write_lua_data(users: list[BenchUser], path: Path) -> None:
    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["return {"]
    for u in users:
        ids = ", ".join(q(i) for i in u.workspace_ids)
        lines.append(f"  {{token = {q(u.token)}, ws = {{{ids}}}}},")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")


def projection_status(base_url: str) -> dict:
    """/ready: log head and projection lag (after a create run, should drain to 0)."""
    try:
        return httpx.get(f"{base_url}/ready", timeout=5).json()
    except (httpx.HTTPError, ValueError) as e:
        return {"error": str(e)}
