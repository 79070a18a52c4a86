"""WorkSync notification fan-out benchmark: one event concerning many people (a comment that
@mentions every member of a workspace) becomes one notification per person, delivered live
to each person's own Socket.IO room.

Run: `.venv/bin/python bench/notifications.py` (PostgreSQL on 127.0.0.1:5432). It creates a
fresh database, starts `worksync serve --no-projector` plus one `worksync projector` (which
runs the notifications policy), registers BENCH_FANOUT_PEOPLE members of one workspace and a
card (not measured), connects one real python-socketio client per member (websocket, no
workspace followed: their `user:<id>` room only), then posts BENCH_FANOUT_EVENTS comments at
BENCH_FANOUT_RATE per second, each mentioning every member by handle.

Reported (last stdout line, one JSON object; progress on stderr):
  delivered     notification:created received per (member, comment), of expected; missing,
                duplicates; the rows in the notifications table (one per member and comment)
  lag_ms        per delivery, from the comment accepted (its created_at) to the member's
                client receiving its notification: p50/p90/p99/max
  policy_ms     per comment, from the comment accepted to the notifications recorded (the
                Inbox events' time): the policy's share of the lag
  http_ms       the comment POSTs

Environment (all optional): BENCH_FANOUT_PEOPLE (100), BENCH_FANOUT_EVENTS (20),
BENCH_FANOUT_RATE (1 comment/s), BENCH_ADMIN_URL, BENCH_DB (worksync_bench_notifications).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import psycopg
import socketio

sys.path.insert(0, str(Path(__file__).parent))
from realtime import env_int, log, percentiles, recreate

WORKSYNC = str(Path(sys.executable).parent / "worksync")


def setup(base: str, people: int) -> tuple[str, list[tuple[str, str]], str]:
    """(the owner's token, [(member token, handle)], the card's comments URL)."""
    http = httpx.Client(base_url=base + "/api/v1", timeout=60)

    def register(handle: str) -> dict:
        body = {"email": f"{handle}@bench.example", "password": "password123", "name": handle}
        response = http.post("/auth/register", json=body)
        response.raise_for_status()
        return response.json()

    owner = register("owner")
    headers = {"Authorization": f"Bearer {owner['access_token']}"}
    workspace = http.post("/workspaces", json={"name": "Fan-out"}, headers=headers).json()["id"]
    members = []
    for i in range(people):
        user = register(f"nf{i}")
        body = {"user_id": user["user"]["id"], "role": "member"}
        http.post(f"/workspaces/{workspace}/members", json=body, headers=headers).raise_for_status()
        members.append((user["access_token"], f"nf{i}"))
    body = {"workspace_id": workspace, "name": "P"}
    project = http.post("/projects", json=body, headers=headers).json()["id"]
    body = {"name": "B", "columns": [{"name": "A"}]}
    board = http.post(f"/projects/{project}/boards", json=body, headers=headers).json()
    column = board["columns"][0]["id"]
    card = http.post(f"/columns/{column}/cards", json={"title": "c"}, headers=headers).json()
    return owner["access_token"], members, f"/cards/{card['id']}/comments"


async def run(base: str, owner: str, members: list, comments_url: str, events: int, rate: float):
    records: list[tuple[int, str, float]] = []  # (member, comment id, received)
    clients = []
    all_in, target = asyncio.Event(), [len(members) * events]

    async def connect(i: int, token: str) -> None:
        client = socketio.AsyncClient(reconnection=False)

        def created(data: dict) -> None:
            comment = data["data"]["data"].get("comment_id")
            records.append((i, comment, time.time()))
            if len(records) >= target[0]:
                all_in.set()

        client.on("notification:created", created)
        await client.connect(
            base, auth={"token": token, "workspaces": []}, transports=["websocket"]
        )
        clients.append(client)

    await asyncio.gather(*(connect(i, t) for i, (t, _) in enumerate(members)))
    # Each member was notified of being added to the workspace already (before connecting).
    log(f"{len(clients)} clients connected")
    mention = " ".join(f"@{handle}" for _, handle in members)
    posted: list[tuple[str, float, float, float]] = []  # (comment id, accepted, sent, answered)
    headers = {"Authorization": f"Bearer {owner}"}
    async with httpx.AsyncClient(base_url=base + "/api/v1", timeout=60, headers=headers) as http:

        async def post(k: int) -> None:
            t0 = time.time()
            response = await http.post(comments_url, json={"content": f"<p>{k} {mention}</p>"})
            response.raise_for_status()
            body = response.json()
            accepted = datetime.fromisoformat(body["created_at"]).timestamp()
            posted.append((body["id"], accepted, t0, time.time()))

        start, tasks = time.monotonic(), []
        for k in range(events):
            await asyncio.sleep(max(0.0, start + k / rate - time.monotonic()))
            tasks.append(asyncio.create_task(post(k)))
        await asyncio.gather(*tasks)
    target[0] = len(posted) * len(members)
    if len(records) >= target[0]:
        all_in.set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_in.wait(), 60)
    await asyncio.sleep(1.0)  # late duplicates would show up here
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)
    return posted, records


def main() -> None:
    people, events = env_int("BENCH_FANOUT_PEOPLE", 100), env_int("BENCH_FANOUT_EVENTS", 20)
    rate = float(os.environ.get("BENCH_FANOUT_RATE") or 1)
    admin = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    db_name = os.environ.get("BENCH_DB", "worksync_bench_notifications")
    url = recreate(admin, db_name)
    env = {**os.environ, "DATABASE_URL": url, "BCRYPT_ROUNDS": "4", "LOG_LEVEL": "warning"}
    env["RATE_LIMIT_ENABLED"] = "false"
    env.pop("REDIS_URL", None)
    subprocess.run([WORKSYNC, "migrate"], env=env, check=True, capture_output=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    api = subprocess.Popen([WORKSYNC, "serve", "--port", str(port), "--no-projector"], env=env)
    projector = subprocess.Popen([WORKSYNC, "projector"], env=env, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        log(f"setup: {people} members of one workspace, one card")
        owner, members, comments_url = setup(base, people)
        log(f"{events} comments at {rate:g}/s, each mentioning all {people}")
        posted, records = asyncio.run(run(base, owner, members, comments_url, events, rate))
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT count(*) FROM notifications WHERE type = 'mention'"
            ).fetchone()[0]
            recorded = dict(
                conn.execute(
                    "SELECT data->>'comment_id', min(created_at) FROM notifications"
                    " WHERE type = 'mention' GROUP BY 1"
                ).fetchall()
            )
    finally:
        for process in (api, projector):
            process.terminate()
            process.wait(20)
        recreate(admin, db_name, drop_only=True)
    accepted = {c: a for c, a, _, _ in posted}
    seen, dupes, lags = set(), 0, []
    for member, comment, received in records:
        if (member, comment) in seen:
            dupes += 1
            continue
        seen.add((member, comment))
        if comment in accepted:
            lags.append(received - accepted[comment])
    policy = [recorded[c].timestamp() - a for c, a in accepted.items() if c in recorded]
    expected = len(posted) * people
    report = {
        "name": "notification_fanout",
        "people": people,
        "events": len(posted),
        "rate": rate,
        "delivered": len(seen),
        "expected": expected,
        "missing": expected - len(seen),
        "duplicates": dupes,
        "rows": rows,
        "lag_ms": percentiles(lags),
        "policy_ms": percentiles(policy),
        "http_ms": percentiles([done - sent for _, _, sent, done in posted]),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
