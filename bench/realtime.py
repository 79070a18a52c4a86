"""WorkSync real-time benchmark: N Socket.IO clients in one workspace, card moves at a steady
rate, delivery latency from the command to every client.

Run: `.venv/bin/python bench/realtime.py` (PostgreSQL on 127.0.0.1:5432; Redis only with
BENCH_WORKERS > 1). It creates a fresh database, starts `worksync serve --no-projector`
(BENCH_WORKERS processes; with more than one, REDIS_URL is set and AsyncRedisManager fans
out) plus one `worksync projector`, registers BENCH_USERS members of one workspace with a
two-column board of 50 cards (not measured), connects BENCH_CLIENTS real python-socketio
clients (websocket transport) spread over BENCH_LOADERS load processes, then moves cards at
BENCH_RATE commands/s for BENCH_SECONDS (open loop: a slow answer does not slow the rate).

Reported (last stdout line, one JSON object; progress on stderr):
  commands      sent, ok, the rate held, HTTP latency p50/p99
  delivery      latency per (client, event): from the event's timestamp (the server accepted
                the command) and from the request being sent, to the client's receipt,
                p50/p90/p99/max in ms; deliveries/s; missing and duplicate deliveries
  cpu_cores     cores used (CPU seconds / wall seconds) by the API, the projector,
                PostgreSQL, Redis and the load processes during the measured window; the
                whole machine's busy cores, and "others": what unrelated processes used

Environment (all optional): BENCH_CLIENTS (500), BENCH_RATE (commands/s, a comma-separated
list run one after the other on the same clients: 5,10,20), BENCH_SECONDS (20 per rate),
BENCH_USERS (50), BENCH_WORKERS (1), BENCH_LOADERS (2), BENCH_REDIS_URL
(redis://127.0.0.1:6379/0), BENCH_ADMIN_URL (postgresql://postgres@127.0.0.1:5432/postgres),
BENCH_DB (worksync_bench_realtime).

Figures on the 2-core machine (clients on the same box; runs with "others" < 0.1 core),
500 clients, 15 s per rate, latency from the command accepted to the client's receipt:

  API processes  cmd/s  deliveries/s  p50     p99     HTTP p50/p99   API cores  load cores
  1              5      2,514         62 ms   178 ms  95/396 ms      0.40       0.39
  1              10     4,970         74 ms   372 ms  124/373 ms     0.70       0.73
  2 (Redis)      5      2,520         61 ms   103 ms  81/107 ms      0.37       0.36
  2 (Redis)      10     5,002         66 ms   683 ms  81/361 ms      0.69       0.71
  1              15     5,276 (falls behind: p50 4 s; all delivered, none twice)

About 120-150 us of API CPU per delivery (engine.io's writer and uvicorn's websocket send
dominate a profile); the clients cost as much again, so this box tops out near 5,000
deliveries/s, about 10 events/s to 500 clients. Shared machines are noisy: check "others".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import psutil
import psycopg
import socketio
from psycopg import sql

WORKSYNC = str(Path(sys.executable).parent / "worksync")
CARDS = 50


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def recreate(admin_url: str, name: str, drop_only: bool = False) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
    info = psycopg.conninfo.conninfo_to_dict(admin_url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": at(1.0), "n": len(values)}


# --- setup (not measured) ------------------------------------------------------------------


def setup(base: str, users: int) -> tuple[list[str], str, list[str], list[str], str]:
    """(member tokens, workspace id, column ids, card ids, the owner's token)."""
    http = httpx.Client(base_url=base + "/api/v1", timeout=60)
    tokens, ids = [], []
    for i in range(users):
        body = {"email": f"rt{i}@bench.example", "password": "password123", "name": f"U{i}"}
        user = http.post("/auth/register", json=body).json()
        tokens.append(user["access_token"])
        ids.append(user["user"]["id"])
    owner = {"Authorization": f"Bearer {tokens[0]}"}
    workspace = http.post("/workspaces", json={"name": "RT"}, headers=owner).json()["id"]
    for user_id in ids[1:]:
        body = {"user_id": user_id, "role": "member"}
        http.post(f"/workspaces/{workspace}/members", json=body, headers=owner).raise_for_status()
    body = {"workspace_id": workspace, "name": "P"}
    project = http.post("/projects", json=body, headers=owner).json()["id"]
    body = {"name": "B", "columns": [{"name": "A"}, {"name": "B"}]}
    board = http.post(f"/projects/{project}/boards", json=body, headers=owner).json()
    columns = [c["id"] for c in board["columns"]]
    url = f"/columns/{columns[0]}/cards"
    cards = [http.post(url, json={"title": "c"}, headers=owner).json()["id"] for _ in range(CARDS)]
    return tokens, workspace, columns, cards, tokens[0]


# --- load processes --------------------------------------------------------------------------


def loader(base: str, tokens: list[str], workspace: str, n: int, first: int, pipe) -> None:
    asyncio.run(_loader(base, tokens, workspace, n, first, pipe))


async def _loader(base: str, tokens: list[str], workspace: str, n: int, first: int, pipe) -> None:
    """Connect ``n`` clients, record every kanban:card:moved, answer the main process:
    "count" -> how many recorded, "take" -> the records (and forget them), "stop"."""
    records: list[tuple] = []
    clients: list[socketio.AsyncClient] = []
    gate = asyncio.Semaphore(20)

    async def connect(i: int) -> None:
        client = socketio.AsyncClient(reconnection=False)

        def moved(data: dict) -> None:
            d = data["data"]
            records.append(
                (i, data["position"], d["card_id"], d["column_id"], data["at"], time.time())
            )

        client.on("kanban:card:moved", moved)
        auth = {"token": tokens[i % len(tokens)], "workspaces": [workspace]}
        async with gate:
            await client.connect(base, auth=auth, transports=["websocket"], wait_timeout=60)
        clients.append(client)

    await asyncio.gather(*(connect(first + i) for i in range(n)))
    pipe.send(len(clients))
    while True:
        order = await asyncio.to_thread(pipe.recv)
        if order == "count":
            pipe.send(len(records))
        elif order == "take":
            pipe.send(records)
            records = []
        else:
            break
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)


# --- commands ---------------------------------------------------------------------------------


async def commands(base, token, columns, where, rate, seconds) -> tuple[list[tuple], float]:
    """Move cards at ``rate``/s, each to its other column (``where``: card -> column index).
    Returns (card, column, sent, status, answered) per command and the sending's duration."""
    sent: list[tuple] = []
    cards = list(where)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base + "/api/v1", timeout=30, headers=headers) as http:

        async def move(card: str, column: str) -> None:
            t0 = time.time()
            response = await http.put(
                f"/cards/{card}/move", json={"column_id": column, "position": 0}
            )
            sent.append((card, column, t0, response.status_code, time.time()))

        tasks, start = [], time.monotonic()
        for k in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + k / rate - time.monotonic()))
            card = cards[k % len(cards)]
            where[card] = 1 - where[card]
            tasks.append(asyncio.create_task(move(card, columns[where[card]])))
        elapsed = time.monotonic() - start
        await asyncio.gather(*tasks)
    return sent, elapsed


# --- measurement -------------------------------------------------------------------------------


def cpu_seconds(procs: list[psutil.Process]) -> dict[int, float]:
    out = {}
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            out[p.pid] = p.cpu_times().user + p.cpu_times().system
    return out


def processes(root: int | None = None, name: str = "") -> list[psutil.Process]:
    """A process and its children, or every process whose name contains ``name``."""
    if root is None:
        return [p for p in psutil.process_iter(["name"]) if name in (p.info["name"] or "")]
    with contextlib.suppress(psutil.NoSuchProcess):
        proc = psutil.Process(root)
        return [proc, *proc.children(recursive=True)]
    return []


def drain(pipes, expected: int, settle: float = 3.0, limit: float = 60.0) -> None:
    """Wait until every expected delivery arrived, or none arrived for ``settle`` seconds."""
    last, since, deadline = -1, time.monotonic(), time.monotonic() + limit
    while time.monotonic() < deadline:
        for p in pipes:
            p.send("count")
        got = sum(p.recv() for p in pipes)
        if got >= expected:
            return
        if got != last:
            last, since = got, time.monotonic()
        elif time.monotonic() - since > settle:
            return
        time.sleep(0.2)


def measure(base, owner, columns, where, pipes, groups, connected, rate, seconds) -> dict:
    """One steady-rate run: commands, then every delivery, then the figures."""
    before = {k: cpu_seconds(f()) for k, f in groups.items()}
    machine = psutil.cpu_times()
    wall = time.monotonic()
    sent, send_seconds = asyncio.run(commands(base, owner, columns, where, rate, seconds))
    ok = [s for s in sent if s[3] == 200]
    drain(pipes, len(ok) * connected)
    wall = time.monotonic() - wall
    cpu = {}
    for k, f in groups.items():
        used = sum(max(0.0, t - before[k].get(pid, 0.0)) for pid, t in cpu_seconds(f()).items())
        cpu[k] = round(used / wall, 3)
    spent = {k: v - getattr(machine, k) for k, v in psutil.cpu_times()._asdict().items()}
    idle = spent.get("idle", 0) + spent.get("iowait", 0)
    cpu["machine_busy"] = round((sum(spent.values()) - idle - spent.get("steal", 0)) / wall, 3)
    cpu["machine_steal"] = round(spent.get("steal", 0) / wall, 3)
    ours = sum(v for k, v in cpu.items() if not k.startswith("machine"))
    cpu["others"] = round(max(0.0, cpu["machine_busy"] - ours), 3)  # noise: not this bench
    for p in pipes:
        p.send("take")
    records = [r for p in pipes for r in p.recv()]

    sends: dict[tuple[str, str], list[float]] = {}
    for card, column, t0, _, _ in ok:
        sends.setdefault((card, column), []).append(t0)
    from_accept, from_send, seen, dupes = [], [], set(), 0
    for client, position, card, column, at, received in records:
        if (client, position) in seen:
            dupes += 1
            continue
        seen.add((client, position))
        from_accept.append(received - datetime.fromisoformat(at).timestamp())
        earlier = [t for t in sends.get((card, column), []) if t <= received]
        if earlier:
            from_send.append(received - max(earlier))
    first = min((s[2] for s in sent), default=0.0)
    last = max((r[5] for r in records), default=first + 1)
    held = round(len(sent) / send_seconds, 2)
    commands_ = {"rate_target": rate, "rate_held": held, "sent": len(sent), "ok": len(ok)}
    delivery = {"from_accepted_ms": percentiles(from_accept)}
    delivery["from_request_ms"] = percentiles(from_send)
    delivery["deliveries_per_s"] = round(len(seen) / max(last - first, 1e-9), 1)
    expected = len(ok) * connected
    delivery |= {"expected": expected, "missing": expected - len(seen), "duplicates": dupes}
    commands_["http_ms"] = percentiles([s[4] - s[2] for s in sent])
    return {"commands": commands_, "delivery": delivery, "cpu_cores": cpu}


def main() -> None:
    clients, seconds = env_int("BENCH_CLIENTS", 500), env_int("BENCH_SECONDS", 20)
    rates = [float(r) for r in os.environ.get("BENCH_RATE", "5,10,20").split(",")]
    users, workers = env_int("BENCH_USERS", 50), env_int("BENCH_WORKERS", 1)
    loaders = env_int("BENCH_LOADERS", 2)
    admin = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    db_name = os.environ.get("BENCH_DB", "worksync_bench_realtime")
    url = recreate(admin, db_name)
    env = {**os.environ, "DATABASE_URL": url, "BCRYPT_ROUNDS": "4", "LOG_LEVEL": "warning"}
    env["RATE_LIMIT_ENABLED"] = "false"
    env.pop("REDIS_URL", None)
    if workers > 1:
        env["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    subprocess.run([WORKSYNC, "migrate"], env=env, check=True, capture_output=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    serve = ["serve", "--port", str(port), "--no-projector", "--workers", str(workers)]
    api = subprocess.Popen([WORKSYNC, *serve], env=env)
    projector = subprocess.Popen([WORKSYNC, "projector"], env=env, stderr=subprocess.DEVNULL)
    pipes, procs, runs = [], [], []
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        log(f"setup: {users} users, one workspace, a board of {CARDS} cards")
        tokens, workspace, columns, cards, owner = setup(base, users)
        log(f"connecting {clients} clients over {loaders} load processes")
        t_connect = time.monotonic()
        ctx = mp.get_context("spawn")
        share = [clients // loaders + (1 if i < clients % loaders else 0) for i in range(loaders)]
        for i, n in enumerate(share):
            ours, theirs = ctx.Pipe()
            args = (base, tokens, workspace, n, sum(share[:i]), theirs)
            procs.append(ctx.Process(target=loader, args=args))
            procs[-1].start()
            pipes.append(ours)
        connected = sum(p.recv() for p in pipes)
        connect_seconds = time.monotonic() - t_connect
        log(f"{connected} connected in {connect_seconds:.1f}s")
        where = dict.fromkeys(cards, 0)
        groups = {
            "api": lambda: processes(api.pid),
            "projector": lambda: processes(projector.pid),
            "postgres": lambda: processes(name="postgres"),
            "redis": lambda: processes(name="redis-server"),
            "load": lambda: [q for p in procs for q in processes(p.pid)],
        }
        for rate in rates:
            log(f"moving cards at {rate:g}/s for {seconds}s")
            args = (base, owner, columns, where, pipes, groups, connected, rate, seconds)
            runs.append(measure(*args))
            log(json.dumps(runs[-1]["delivery"]))
        for p in pipes:
            p.send("stop")
    finally:
        for proc in procs:
            proc.join(30)
        for process in (api, projector):
            process.terminate()
            process.wait(20)
        recreate(admin, db_name, drop_only=True)
    summary = {"clients": connected, "connect_seconds": round(connect_seconds, 2)}
    summary |= {"api_workers": workers, "load_processes": loaders, "cpus": os.cpu_count()}
    print(json.dumps({**summary, "runs": runs}))


if __name__ == "__main__":
    main()
