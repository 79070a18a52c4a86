"""In-process request costs: a profiling aid, not a benchmark.

Drives the whole ASGI app (every middleware, routing, dependencies, the route, the command
thread, the in-process projector) with raw ASGI calls, one request at a time, no sockets and
no wrk, and prints the CPU milliseconds of this process per request. PostgreSQL's share is
not counted. Sequential calls keep the figures free of the scheduling noise of a loaded
2-core box, so two versions compare well when run back to back, several times, and a
py-spy profile of this process shows the shares of one request's path exactly:

    .venv/bin/python bench/inprocess.py [requests]
    KINDS=board_read .venv/bin/py-spy record --gil -r 500 -f raw -o /tmp/read.txt -- \\
        .venv/bin/python bench/inprocess.py 8000

It creates (and drops) the database ``bench_inprocess`` next to the one in ``BENCH_ADMIN_URL``
(``postgresql://postgres@127.0.0.1:5432/postgres``): a user, a workspace, a board of 4 columns
and 40 cards; then times ``board_read`` (``GET /boards/{id}``) and ``card_move``
(``PUT /cards/{id}/move``, a quarter as many), each three times after a warm-up. ``KINDS``
picks some of them.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from fastapi.testclient import TestClient

from application.config import Settings
from interfaces.bootstrap import migrate
from interfaces.http.app import create_app
from interfaces.logs import configure_logging

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB = "bench_inprocess"


def scope(method: str, path: str, token: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"bench"),
            (b"authorization", token),
            (b"content-type", b"application/json"),
            (b"accept-encoding", b"identity"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
        "state": {},
    }


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    kinds = os.environ.get("KINDS", "board_read,card_move").split(",")
    configure_logging("warning")
    url = psycopg.conninfo.make_conninfo(ADMIN_URL, dbname=DB)
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB}")
    try:
        migrate(url)
        with tempfile.TemporaryDirectory(prefix="worksync-inprocess-") as files:
            settings = Settings(
                database_url=url,
                files_dir=files,
                bcrypt_rounds=4,
                log_level="warning",
                rate_limit_enabled=False,
                maintenance_enabled=False,
            )
            run(create_app(settings), requests, kinds)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def run(app: Any, requests: int, kinds: list[str]) -> None:
    with TestClient(app) as client:

        def post(path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
            answer = client.post(f"/api/v1{path}", json=body, headers=headers)
            assert answer.status_code == 201, answer.text
            return answer.json()

        user = post(
            "/auth/register",
            {"email": "bench@example.com", "password": "password123", "name": "Bench"},
        )
        signed = {"Authorization": f"Bearer {user['access_token']}"}
        workspace = post("/workspaces", {"name": "Bench"}, signed)
        project = post("/projects", {"workspace_id": workspace["id"], "name": "P"}, signed)
        columns_in = [{"name": f"c{i}"} for i in range(4)]
        board = post(
            f"/projects/{project['id']}/boards", {"name": "B", "columns": columns_in}, signed
        )
        columns = [c["id"] for c in board["columns"]]
        cards = [
            post(f"/columns/{columns[i % 4]}/cards", {"title": f"card {i}"}, signed)["id"]
            for i in range(40)
        ]
        token = signed["Authorization"].encode()

        async def call(method: str, path: str, body: bytes = b"") -> int:
            sent: list[dict] = []

            async def receive() -> dict:
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: dict) -> None:
                sent.append(message)

            await app(scope(method, path, token), receive, send)
            return sent[0]["status"]

        async def timed(kind: str, n: int) -> tuple[float, dict[int, int]]:
            statuses: dict[int, int] = {}
            started = time.process_time()
            for _ in range(n):
                if kind == "board_read":
                    status = await call("GET", f"/api/v1/boards/{board['id']}")
                else:
                    move = {"column_id": random.choice(columns), "position": random.randint(0, 5)}
                    path = f"/api/v1/cards/{random.choice(cards)}/move"
                    status = await call("PUT", path, json.dumps(move).encode())
                statuses[status] = statuses.get(status, 0) + 1
            return (time.process_time() - started) / n * 1000, statuses

        for kind, n in (("board_read", requests), ("card_move", max(1, requests // 4))):
            if kind not in kinds:
                continue
            client.portal.call(timed, kind, 50)  # warm-up
            runs = [client.portal.call(timed, kind, n) for _ in range(3)]
            line = {
                "name": kind,
                "cpu_ms_per_request": round(min(r[0] for r in runs), 3),
                "runs": [round(r[0], 3) for r in runs],
                "statuses": runs[0][1],
            }
            print(json.dumps(line))


if __name__ == "__main__":
    main()
