"""WorkSync project templates benchmark: full-text search over 10,000 templates, and using a
200-task template, through a real `worksync serve` (2 workers, no projector) and a
`worksync projector`, load from this process (httpx, asyncio) on loopback.

Run with `.venv/bin/python bench/templates.py` (or `BENCH_ONLY=templates` in bench/run.py):

1. drop and re-create the database `worksync_bench_templates`, `worksync serve --migrate`;
2. setup, not measured: one user with a workspace (and 3 more users each with their own);
   `BENCH_TPL_COUNT` (10,000) templates appended to the log straight from their aggregates
   (names, descriptions, tags and 4 to 12 task titles drawn from a vocabulary of `BENCH_TPL_WORDS` (3,000) made-up words of 4 to 10 letters;
   a quarter private to one of the 4 workspaces, the rest public), then the projector builds
   their rows and search vectors; one 200-task template (20 phases of 10 tasks, each task
   depending on one or two before it) made through the API;
3. measured, one after the other:
   - `template_search`: `GET /api/v1/templates/search?q=...&limit=20`, `BENCH_TPL_CONCURRENCY`
     (8) at a time for `BENCH_SECONDS` (10): one or two words, the last one a 3-to-6-letter
     prefix (as typed), a category filter one time in four, as one of the 4 users;
     `template_search_single`: the same, one request at a time (latency without queueing).
     Target p99 <= 50 ms;
   - `template_use`: `POST /api/v1/templates/{id}/use` of the 200-task template with a board,
     2 at a time, `BENCH_TPL_USES` (40) requests: one atomic write of ~450 events (project,
     20 milestones and the plan, 200 tasks and their graph, a board of 4 columns, the use),
     then the wait for the projections → 201.
4. stops the processes and drops the database.

Each line: `throughput` (requests/s), `p50_ms`, `p99_ms` (whole request), `errors`
(non-2xx), and details.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from lib import Service, drop_database, free_port, log, recreate_database, wait_for_health

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domain.templates import ProjectTemplate  # noqa: E402
from interfaces.bootstrap import open_event_store  # noqa: E402

WORKSYNC = str(Path(sys.executable).parent / "worksync")
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB = os.environ.get("BENCH_TPL_DB", "worksync_bench_templates")
SECONDS = float(os.environ.get("BENCH_SECONDS") or 10)
COUNT = int(os.environ.get("BENCH_TPL_COUNT") or 10_000)
CONCURRENCY = int(os.environ.get("BENCH_TPL_CONCURRENCY") or 8)
USES = int(os.environ.get("BENCH_TPL_USES") or 40)
BATCH = 500
VOCABULARY = int(os.environ.get("BENCH_TPL_WORDS") or 3000)
CATEGORIES = ("Engineering", "Marketing", "Sales", "Operations", "Design", "Finance", "HR")
LETTERS = "aaabcdeeeefghiiijklmnooopqrstuuvwxyz"  # vowels more often: pronounceable-ish


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)


def vocabulary(rng: random.Random, size: int = VOCABULARY) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(LETTERS) for _ in range(rng.randint(4, 10))))
    return sorted(words)


def append_templates(database_url: str, workspaces: list[str], users: list[str]) -> list[str]:
    rng = random.Random(20261203)
    words = vocabulary(rng)

    def text(n: int) -> str:
        return " ".join(rng.choice(words) for _ in range(n))

    store = open_event_store(database_url, pool_size=2)
    try:
        batch = []
        for i in range(COUNT):
            private = rng.random() < 0.25
            owner = rng.randrange(len(workspaces))
            tasks = [{"title": text(rng.randint(2, 5))} for _ in range(rng.randint(4, 12))]
            batch.append(
                ProjectTemplate.create(
                    workspace_id=uuid.UUID(workspaces[owner]),
                    name=text(rng.randint(2, 4)).title(),
                    description=text(rng.randint(10, 40)),
                    category=rng.choice(CATEGORIES),
                    tags=rng.sample(words, 3),
                    is_public=not private,
                    phases=[
                        {"name": "First", "estimated_duration": 5, "tasks": tasks[:3]},
                        {"name": "Then", "estimated_duration": 5, "tasks": tasks[3:]},
                    ],
                    actor_id=uuid.UUID(users[owner]),
                )
            )
            if len(batch) == BATCH or i == COUNT - 1:
                store.save(*batch)
                batch = []
    finally:
        store.close()
    return words


def big_template(workspace_id: str) -> dict:
    rng = random.Random(7)
    phases = []
    for p in range(20):
        tasks = []
        for k in range(10):
            n = p * 10 + k
            earlier = [f"t{j}" for j in range(max(0, n - 15), n)]
            deps = rng.sample(earlier, min(len(earlier), rng.randint(1, 2))) if earlier else []
            tasks.append(
                {
                    "key": f"t{n}",
                    "title": f"Task {n}",
                    "estimated_hours": rng.randint(1, 16),
                    "required_skills": [rng.choice(("python", "sql", "design", "qa"))],
                    "dependencies": deps,
                }
            )
        phases.append({"name": f"Phase {p}", "estimated_duration": 3, "tasks": tasks})
    return {"workspace_id": workspace_id, "name": "Big", "phases": phases}


async def run(name: str, make, *, concurrency: int, seconds=None, count=None) -> dict:
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors = [0]
    issued = [0]
    deadline = time.monotonic() + seconds if seconds else None

    async def worker() -> None:
        while True:
            if deadline is not None and time.monotonic() >= deadline:
                return
            if count is not None:
                if issued[0] >= count:
                    return
                issued[0] += 1
            started = time.perf_counter()
            try:
                status = await make()
            except httpx.HTTPError:
                status = 0
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if not 200 <= status < 300:
                errors[0] += 1

    began = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.monotonic() - began
    return {
        "name": name,
        "throughput": round(len(latencies) / wall, 2),
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "errors": errors[0],
        "requests": len(latencies),
        "statuses": statuses,
        "concurrency": concurrency,
    }


async def measure(base: str, tokens: list[str], workspace_id: str, words: list[str]) -> None:
    rng = random.Random(99)
    headers = {"Authorization": f"Bearer {tokens[0]}"}
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=120, limits=limits) as client:
        auth = [{"Authorization": f"Bearer {t}"} for t in tokens]

        async def search() -> int:
            typed = rng.choice(words)[: rng.randint(3, 6)]
            q = f"{rng.choice(words)} {typed}" if rng.random() < 0.5 else typed
            params = {"q": q, "limit": 20}
            if rng.random() < 0.25:
                params["category"] = rng.choice(CATEGORIES)
            r = await client.get("/templates/search", params=params, headers=rng.choice(auth))
            return r.status_code

        for _ in range(50):  # warm the pools and caches
            await search()
        result = await run("template_search", search, concurrency=CONCURRENCY, seconds=SECONDS)
        result["templates"] = COUNT
        print(json.dumps(result), flush=True)
        result = await run("template_search_single", search, concurrency=1, seconds=SECONDS)
        result["templates"] = COUNT
        print(json.dumps(result), flush=True)

        made = await client.post("/templates", json=big_template(workspace_id), headers=headers)
        if made.status_code != 201:
            raise RuntimeError(f"the 200-task template: {made.status_code} {made.text[:300]}")
        template_id = made.json()["id"]
        day = [0]

        async def use() -> int:
            day[0] += 1
            body = {
                "workspace_id": workspace_id,
                "project_name": f"From big {day[0]}",
                "start_date": "2030-01-07",
                "create_board": True,
            }
            r = await client.post(f"/templates/{template_id}/use", json=body, headers=headers)
            return r.status_code

        await use()  # warm
        result = await run("template_use", use, concurrency=2, count=USES)
        result["tasks_per_use"] = 200
        print(json.dumps(result), flush=True)


def main() -> int:
    recreate_database(ADMIN_URL, DB)
    logs = Path(tempfile.mkdtemp(prefix="worksync-bench-templates-"))
    database_url = ADMIN_URL.rsplit("/", 1)[0] + f"/{DB}"
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BCRYPT_ROUNDS": "4",
        "RATE_LIMIT_ENABLED": "false",
        "LOG_LEVEL": "warning",
        "PORT": str(port),
        "PROJECTION_WAIT_TIMEOUT": "30",
    }
    argv = [WORKSYNC, "serve", "--workers", "2", "--no-projector", "--migrate"]
    services = [
        Service("server", [*argv, "--port", str(port)], env, logs / "server.log"),
        Service("projector", [WORKSYNC, "projector"], env, logs / "projector.log"),
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        services[0].start()
        wait_for_health(base, services[:1])
        services[1].start()
        tokens, users, workspaces = [], [], []
        for i in range(4):
            user = httpx.post(
                f"{base}/api/v1/auth/register",
                json={
                    "email": f"tpl{i}@example.com",
                    "password": "bench-password-123",
                    "name": "T",
                },
                timeout=30,
            ).json()
            tokens.append(user["access_token"])
            users.append(user["user"]["id"])
            workspace = httpx.post(
                f"{base}/api/v1/workspaces",
                json={"name": f"Templates {i}"},
                headers={"Authorization": f"Bearer {user['access_token']}"},
                timeout=30,
            ).json()
            workspaces.append(workspace["id"])
        started = time.monotonic()
        words = append_templates(database_url, workspaces, users)
        log(f"setup: {COUNT} templates appended in {time.monotonic() - started:.1f}s")
        while True:  # the projector builds the rows and vectors
            ready = httpx.get(f"{base}/ready", timeout=10).json()
            if ready.get("max_lag") == 0:
                break
            time.sleep(0.5)
        log(f"setup: projected in {time.monotonic() - started:.1f}s")
        asyncio.run(measure(base, tokens, workspaces[0], words))
    finally:
        for service in services:
            service.stop()
        drop_database(ADMIN_URL, DB)
    return 0


if __name__ == "__main__":
    sys.exit(main())
