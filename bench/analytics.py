"""WorkSync analytics benchmark: each /analytics endpoint's latency on a workspace with
100,000 time entries and 20,000 tasks.

Run with `.venv/bin/python bench/analytics.py` (or `BENCH_ONLY=analytics make bench`). Prints
one JSON line per endpoint on stdout (`name`, `throughput`, `p50_ms`, `p99_ms`, `errors`,
then details); progress on stderr.

1. drops and re-creates the database `worksync_bench_analytics`, runs `worksync migrate`,
   starts one `worksync projector` and `worksync serve --workers 2 --no-projector`;
2. setup, not measured: BENCH_AN_USERS (10) users registered through the API, one workspace
   of the first (the others members, team members with 40 h a week, two allocations each),
   BENCH_AN_PROJECTS (4) projects, a board of 3 columns with 60 cards in the first project
   (20 moved to done), 200 milestones (half completed, some late) through the API; then
   BENCH_AN_TASKS (20,000) tasks (mixed statuses, estimates and due dates) and
   BENCH_AN_ENTRIES (100,000) stopped time entries (spread over the last 365 days, the users
   and projects; 30 min to 4 h; 80 % billable, a third with their own rate) appended
   straight to the log from their aggregates in batches (a hundred thousand POSTs would take
   many minutes), read by the projector like any other events. Once the read tables have
   caught up with the log, the projector is stopped so that the measured runs are the read
   path alone (its policies may still be working through the entries: their lag is not what
   is measured here);
3. measured, per endpoint for BENCH_SECONDS (10) s with BENCH_AN_CONCURRENCY (2) clients
   (one per API worker), as the workspace's owner (a manager: every entry counts):
   `analytics_dashboard` (the workspace), `analytics_project` (the first project: 5,000
   tasks and the cards; the last 12 weeks or the last year, alternately),
   `analytics_time_tracking` (the last 365 days: all 100,000 entries, grouped by user,
   project, day or week in turn), `analytics_time_tracking_30d` (the same over the default
   range, the last 30 days: about 8,000 entries), `analytics_resource_utilization` (the last 12 weeks),
   `analytics_milestones` (the last 365 days, by week or month). Target p99 <= 100 ms.
   `analytics_baseline_read` is `GET /workspaces/{id}` under the same conditions: the floor
   a request pays on this machine (authentication, one indexed read), to judge the others by
   on a busy machine.

Environment (all optional): BENCH_SECONDS, BENCH_AN_USERS, BENCH_AN_PROJECTS, BENCH_AN_TASKS,
BENCH_AN_ENTRIES, BENCH_AN_CONCURRENCY, BENCH_ADMIN_URL, BENCH_AN_KEEP (keep the database
afterwards, e.g. to EXPLAIN the queries).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
from lib import Service, drop_database, free_port, log, recreate_database, wait_for_health

from domain.tasks import Task
from domain.time_tracking import TimeEntry
from interfaces.bootstrap import open_event_store

WORKSYNC = str(Path(sys.executable).parent / "worksync")
BATCH = 1000  # aggregates per append
TASK_STATUSES = ("todo", "in_progress", "review", "done", "cancelled")
TASK_WEIGHTS = (35, 15, 10, 35, 5)
READ_TABLES = ("time_tracking", "tasks", "kanban", "milestones", "projects", "workspaces")


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


class Setup:
    """The workspace made through the API (users, projects, a board, milestones)."""

    def __init__(self, base: str, users: int, projects: int, rng: random.Random) -> None:
        self.http = httpx.Client(base_url=base + "/api/v1", timeout=60)
        self.rng = rng
        stamp = uuid.uuid4().hex[:8]
        self.users = [self.register(f"bench-{stamp}-{i}") for i in range(users)]
        self.owner = self.users[0]
        self.workspace = self.call("POST", "/workspaces", {"name": "Analytics"})["id"]
        for user in self.users[1:]:
            body = {"user_id": user["user"]["id"], "role": "member"}
            self.call("POST", f"/workspaces/{self.workspace}/members", body)
        body = {"workspace_id": self.workspace, "name": "P{}"}
        self.projects = [
            self.call("POST", "/projects", {**body, "name": f"P{i}"})["id"] for i in range(projects)
        ]

    def register(self, handle: str) -> dict:
        body = {"email": f"{handle}@bench.example", "password": "password123", "name": handle}
        response = self.http.post("/auth/register", json=body)
        response.raise_for_status()
        return response.json()

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.owner['access_token']}"}
        response = self.http.request(method, path, json=body, headers=headers)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{method} {path} answered {response.status_code}: {response.text}")
        return response.json()

    def board(self, today: date) -> None:
        columns = [{"name": "To do"}, {"name": "Doing"}, {"name": "Done", "is_done_column": True}]
        board = self.call(
            "POST", f"/projects/{self.projects[0]}/boards", {"name": "B", "columns": columns}
        )
        todo, doing, done = (c["id"] for c in board["columns"])
        for i in range(60):
            body = {
                "title": f"Card {i}",
                "estimated_hours": self.rng.randint(1, 16),
                "due_date": f"{today + timedelta(days=self.rng.randint(-30, 30))}T12:00:00Z",
            }
            card = self.call("POST", f"/columns/{(todo, doing)[i % 2]}/cards", body)
            if i % 3 == 0:
                self.call("PUT", f"/cards/{card['id']}/move", {"column_id": done, "position": 0})

    def milestones(self, today: date, count: int) -> None:
        for i in range(count):
            project = self.projects[i % len(self.projects)]
            due = today + timedelta(days=self.rng.randint(-180, 60))
            body = {"title": f"M{i}", "due_date": str(due)}
            milestone = self.call("POST", f"/projects/{project}/milestones", body)
            if i % 2 == 0:
                self.call("PUT", f"/milestones/{milestone['id']}", {"status": "completed"})

    def resources(self, today: date) -> None:
        monday = today - timedelta(days=today.weekday())
        for user in self.users[1:]:
            body = {"user_id": user["user"]["id"], "capacity": 40}
            self.call("POST", f"/workspaces/{self.workspace}/team-members", body)
            for weeks in (4, 8):
                body = {
                    "project_id": self.rng.choice(self.projects),
                    "user_id": user["user"]["id"],
                    "hours_per_week": self.rng.choice((10, 20, 30)),
                    "start_date": str(monday - timedelta(weeks=weeks)),
                    "end_date": str(monday + timedelta(weeks=2, days=4)),
                }
                self.call("POST", f"/workspaces/{self.workspace}/allocations", body)


def append_tasks(store, setup: Setup, count: int, today: date) -> None:
    rng, actor = setup.rng, uuid.UUID(setup.owner["user"]["id"])
    batch = []
    for i in range(count):
        due = datetime.combine(today + timedelta(days=rng.randint(-60, 60)), datetime.min.time())
        task = Task(
            workspace_id=uuid.UUID(setup.workspace),
            project_id=uuid.UUID(setup.projects[i % len(setup.projects)]),
            title=f"Task {i}",
            description=None,
            status=rng.choices(TASK_STATUSES, TASK_WEIGHTS)[0],
            priority="medium",
            estimated_hours=Decimal(rng.randint(1, 40)),
            assignee_id=None,  # (an assignee would notify: policy work this bench does not need)
            due_date=due.replace(tzinfo=UTC),
            tags=[],
            milestone_id=None,
            parent_task_id=None,
            dependencies=[],
            actor_id=actor,
        )
        batch.append(task)
        if len(batch) == BATCH:
            store.save(*batch)
            batch = []
    if batch:
        store.save(*batch)


def append_entries(store, setup: Setup, count: int, now: datetime) -> None:
    rng = setup.rng
    people = [uuid.UUID(u["user"]["id"]) for u in setup.users]
    projects = [uuid.UUID(p) for p in setup.projects]
    batch = []
    for i in range(count):
        user = people[i % len(people)]
        start = now - timedelta(days=365) + timedelta(seconds=rng.randrange(365 * 86400 - 5 * 3600))
        start = start.replace(microsecond=0)
        entry = TimeEntry.record(
            start=start,
            end=start + timedelta(minutes=rng.randint(30, 240)),
            workspace_id=uuid.UUID(setup.workspace),
            project_id=rng.choice(projects),
            user_id=user,
            actor_id=user,
            task_id=None,
            task_type=None,
            description="work",
            is_billable=rng.random() < 0.8,
            hourly_rate=Decimal(rng.choice((60, 90, 120))) if rng.random() < 0.33 else None,
            tags=[],
        )
        batch.append(entry)
        if len(batch) == BATCH:
            store.save(*batch)
            batch = []
    if batch:
        store.save(*batch)


def wait_for_read_tables(url: str, timeout: float = 1800) -> float:
    """Seconds until the read projections reached the log's head as it is now (the policies
    keep appending events of their own: those are not waited for)."""
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        head = conn.execute("SELECT coalesce(max(notification_id), 0) FROM worksync_events")
        head = head.fetchone()[0]
        while True:
            rows = conn.execute(
                "SELECT name, position FROM projection_tracking WHERE name = ANY(%s)",
                (list(READ_TABLES),),
            ).fetchall()
            behind = [n for n, p in rows if p < head] + [
                n for n in READ_TABLES if n not in dict(rows)
            ]
            if not behind:
                return round(time.monotonic() - started, 1)
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"projections still behind after {timeout}s: {behind}")
            time.sleep(1)


def measure(
    base: str, token: str, name: str, requests: list[str], seconds: int, clients: int
) -> dict:
    """Send the requests round-robin from ``clients`` threads for ``seconds``."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    first_errors: dict[str, str] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(offset: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, timeout=30, headers=headers) as client:
            i = offset
            while time.monotonic() < deadline:
                path = requests[i % len(requests)]
                i += 1
                started = time.perf_counter()
                try:
                    response = client.get(path)
                    status = str(response.status_code)
                except httpx.HTTPError as e:
                    status, response = type(e).__name__, None
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    statuses[status] += 1
                    if status == "200":
                        latencies.append(elapsed)
                    elif status not in first_errors:
                        first_errors[status] = response.text[:300] if response else status

    threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    errors = sum(n for s, n in statuses.items() if s != "200")
    return {
        "name": name,
        "throughput": round(len(latencies) / wall, 1),
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "errors": errors,
        "max_ms": round(max(latencies), 2) if latencies else None,
        "requests": sum(statuses.values()),
        "statuses": dict(statuses),
        "first_errors": first_errors,
        "connections": clients,
        "target_p99_ms": 100,
    }


def main() -> int:
    admin_url = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    seconds = env_int("BENCH_SECONDS", 10)
    users = env_int("BENCH_AN_USERS", 10)
    projects = env_int("BENCH_AN_PROJECTS", 4)
    tasks = env_int("BENCH_AN_TASKS", 20_000)
    entries = env_int("BENCH_AN_ENTRIES", 100_000)
    clients = env_int("BENCH_AN_CONCURRENCY", 2)
    name = "worksync_bench_analytics"
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    tmp = Path(tempfile.mkdtemp(prefix="worksync-bench-analytics-"))
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "LOG_LEVEL": "warning",
        "BCRYPT_ROUNDS": "4",
        "RATE_LIMIT_ENABLED": "false",
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    projector = Service("projector", [WORKSYNC, "projector"], env, tmp / "projector.log")
    argv = [WORKSYNC, "serve", "--port", str(port), "--workers", "2", "--no-projector"]
    server = Service("server", argv, env, tmp / "server.log")
    recreate_database(admin_url, name)
    try:
        migrated = subprocess.run(
            [WORKSYNC, "migrate"], env=env, capture_output=True, text=True, timeout=120
        )
        if migrated.returncode != 0:
            raise RuntimeError(f"worksync migrate failed:\n{migrated.stderr}")
        projector.start()
        server.start()
        wait_for_health(base, [projector, server])
        rng = random.Random(20261203)
        now = datetime.now(UTC)
        today = now.date()
        started = time.monotonic()
        setup = Setup(base, users, projects, rng)
        setup.board(today)
        setup.milestones(today, 200)
        setup.resources(today)
        log(f"setup: users, projects, board, milestones in {time.monotonic() - started:.1f}s")
        store = open_event_store(url, pool_size=2)
        try:
            started = time.monotonic()
            append_tasks(store, setup, tasks, today)
            append_entries(store, setup, entries, now)
            log(
                f"setup: {tasks} tasks, {entries} entries appended in {time.monotonic() - started:.1f}s"
            )
        finally:
            store.close()
        caught_up = wait_for_read_tables(url)
        log(f"setup: read tables caught up in {caught_up}s; stopping the projector")
        projector.stop()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE")
            counted = conn.execute(
                "SELECT (SELECT count(*) FROM time_entries), (SELECT count(*) FROM tasks)"
            ).fetchone()
        log(f"read tables: {counted[0]} time entries, {counted[1]} tasks")
        ws, project = setup.workspace, setup.projects[0]
        year = f"from={today - timedelta(days=364)}&to={today}"
        quarter = f"from={today - timedelta(days=83)}&to={today}"
        a = "/api/v1/analytics"
        runs = {
            # the floor under the same load: authenticate, one indexed membership-checked read
            "analytics_baseline_read": [f"/api/v1/workspaces/{ws}"],
            "analytics_dashboard": [f"{a}/dashboard?workspace_id={ws}"],
            "analytics_project": [
                f"{a}/projects/{project}?{quarter}",
                f"{a}/projects/{project}?{year}",
            ],
            "analytics_time_tracking": [
                f"{a}/time-tracking?workspace_id={ws}&group_by={g}&{year}"
                for g in ("user", "project", "day", "week")
            ],
            "analytics_time_tracking_30d": [
                f"{a}/time-tracking?workspace_id={ws}&group_by={g}"
                for g in ("user", "project", "day", "week")
            ],
            "analytics_resource_utilization": [
                f"{a}/resource-utilization?workspace_id={ws}&{quarter}"
            ],
            "analytics_milestones": [
                f"{a}/milestones?workspace_id={ws}&period={p}&{year}" for p in ("week", "month")
            ],
        }
        token = setup.owner["access_token"]
        for path in (p for paths in runs.values() for p in paths):  # warm up, and fail early
            response = httpx.get(
                base + path, headers={"Authorization": f"Bearer {token}"}, timeout=60
            )
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:300]}")
        for bench, paths in runs.items():
            log(f"{bench}: {seconds}s, {clients} clients")
            result = measure(base, token, bench, paths, seconds, clients)
            result |= {"time_entries": counted[0], "tasks": counted[1]}
            print(json.dumps(result), flush=True)
    finally:
        server.stop()
        projector.stop()
        if os.environ.get("BENCH_AN_KEEP"):
            log(f"kept the database {url}")
        else:
            drop_database(admin_url, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
