"""WorkSync webhook delivery benchmark: workspace events delivered to a real HTTP receiver on
loopback, from the log, in order, signed.

Run: `.venv/bin/python bench/webhooks.py` (PostgreSQL on 127.0.0.1:5432, Redis on
127.0.0.1:6379). It creates a fresh database, starts `worksync serve --no-projector`, one
`worksync projector` (the webhooks policy and the outbox dispatcher) and one
`worksync worker` (the delivery job), with private and http targets allowed, registers
BENCH_WEBHOOK_ENDPOINTS endpoints of one workspace wanting `project:created` (not measured),
then creates BENCH_WEBHOOK_EVENTS projects at BENCH_WEBHOOK_RATE per second.

Reported (last stdout line, one JSON object; progress on stderr):
  delivered     requests received per (endpoint, event), of expected; missing, duplicates,
                out_of_order (an endpoint receiving a position lower than one it already had),
                bad_signatures
  lag_ms        per delivery, from the project accepted (its created_at) to the receiver
                having the request: p50/p90/p99/max
  http_ms       the project POSTs

Environment (all optional): BENCH_WEBHOOK_ENDPOINTS (5), BENCH_WEBHOOK_EVENTS (200),
BENCH_WEBHOOK_RATE (20 events/s), BENCH_ADMIN_URL, BENCH_REDIS_URL, BENCH_DB
(worksync_bench_webhooks).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from realtime import env_int, log, percentiles, recreate

WORKSYNC = str(Path(sys.executable).parent / "worksync")
SECRET = "bench-secret-0123456789abcdef"


def receiver() -> tuple[ThreadingHTTPServer, list]:
    """A loopback receiver: (endpoint path, position, received, signature ok) per request."""
    records: list[tuple[str, int, float, bool]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received = time.time()
            t, v1 = (p.split("=", 1)[1] for p in self.headers["WorkSync-Signature"].split(","))
            mac = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256)
            ok = hmac.compare_digest(mac.hexdigest(), v1)
            with lock:
                records.append((self.path, json.loads(body)["position"], received, ok))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, records


def main() -> None:
    endpoints = env_int("BENCH_WEBHOOK_ENDPOINTS", 5)
    events = env_int("BENCH_WEBHOOK_EVENTS", 200)
    rate = float(os.environ.get("BENCH_WEBHOOK_RATE") or 20)
    admin = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    db_name = os.environ.get("BENCH_DB", "worksync_bench_webhooks")
    url = recreate(admin, db_name)
    env = {**os.environ, "DATABASE_URL": url, "BCRYPT_ROUNDS": "4", "LOG_LEVEL": "warning"}
    env.update(
        RATE_LIMIT_ENABLED="false",
        REDIS_URL=redis_url,
        JOBS_NAMESPACE=f"worksync-bench-{uuid.uuid4().hex[:8]}",
        WEBHOOKS_ALLOW_HTTP="true",
        WEBHOOKS_ALLOW_PRIVATE="true",
    )
    subprocess.run([WORKSYNC, "migrate"], env=env, check=True, capture_output=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server, records = receiver()
    hook_base = f"http://127.0.0.1:{server.server_address[1]}"
    quiet = {"stderr": subprocess.DEVNULL}
    processes = [
        subprocess.Popen([WORKSYNC, "serve", "--port", str(port), "--no-projector"], env=env),
        subprocess.Popen([WORKSYNC, "projector"], env=env, **quiet),
        subprocess.Popen([WORKSYNC, "worker", "--processes", "1"], env=env, **quiet),
    ]
    posted: list[tuple[int, float, float]] = []  # (accepted, sent, answered)
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        http = httpx.Client(base_url=base + "/api/v1", timeout=60)
        body = {"email": "owner@bench.example", "password": "password123", "name": "Owner"}
        token = http.post("/auth/register", json=body).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        workspace = http.post("/workspaces", json={"name": "Hooks"}).json()["id"]
        for i in range(endpoints):
            body = {"url": f"{hook_base}/e{i}", "events": ["project:created"], "secret": SECRET}
            http.post(f"/workspaces/{workspace}/webhooks", json=body).raise_for_status()
        log(f"{events} projects at {rate:g}/s, each delivered to {endpoints} endpoints")

        def post(k: int) -> None:
            t0 = time.time()
            response = http.post("/projects", json={"workspace_id": workspace, "name": f"p{k}"})
            response.raise_for_status()
            accepted = datetime.fromisoformat(response.json()["created_at"]).timestamp()
            posted.append((accepted, t0, time.time()))

        start = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            for k in range(events):
                time.sleep(max(0.0, start + k / rate - time.monotonic()))
                pool.submit(post, k)
        expected = len(posted) * endpoints
        deadline = time.monotonic() + 120
        while len(records) < expected and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # late duplicates would show up here
        first_accepted = min(a for a, _, _ in posted)
    finally:
        for process in processes:
            process.terminate()
            process.wait(20)
        server.shutdown()
        recreate(admin, db_name, drop_only=True)
    seen: set[tuple[str, int]] = set()
    last: dict[str, int] = {}
    dupes = out_of_order = 0
    for path, position, _, _ in records:
        if (path, position) in seen:
            dupes += 1
            continue
        seen.add((path, position))
        if position < last.get(path, 0):
            out_of_order += 1
        last[path] = max(position, last.get(path, 0))
    # Lag: each project's accepted time, matched by order (positions rise with time).
    accepted = sorted(a for a, _, _ in posted)
    positions = sorted({p for _, p, _, _ in records})
    by_position = dict(zip(positions, accepted, strict=False))
    lags = [r - by_position[p] for _, p, r, _ in records if p in by_position]
    span = max((r for _, _, r, _ in records), default=first_accepted) - first_accepted
    report = {
        "name": "webhook_delivery",
        "endpoints": endpoints,
        "events": len(posted),
        "rate": rate,
        "delivered": len(seen),
        "expected": expected,
        "missing": expected - len(seen),
        "duplicates": dupes,
        "out_of_order": out_of_order,
        "bad_signatures": sum(1 for *_, ok in records if not ok),
        "throughput": round(len(seen) / span, 1) if span > 0 else 0,
        "lag_ms": percentiles(lags),
        "http_ms": percentiles([done - sent for _, sent, done in posted]),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
