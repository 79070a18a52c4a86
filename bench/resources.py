"""WorkSync resource allocation benchmarks: conflict detection keeping up with allocation
changes, and the optimizer on a large team.

Run with `.venv/bin/python bench/resources.py` (or `BENCH_ONLY=resources make bench`).
Prints one JSON line per benchmark on stdout; progress on stderr.

resources_conflicts
  1. drops and re-creates the database `worksync_bench_resources`, runs `worksync migrate`,
     starts one `worksync projector` (all projections and policies, as in production);
  2. setup, not measured: one workspace, BENCH_RES_USERS (50) team members, 4 projects;
  3. measured: allocation changes through the application service (the commands the API
     runs: access check, project and team member checks, append), paced at BENCH_RES_RATE
     (200)/s for BENCH_SECONDS (10) s by 4 threads, open loop: each user keeps about 4
     allocations of 1 to 8 weeks over a 26-week horizon, 8 to 24 h a week; a change creates
     one, changes the hours or dates of one, or deletes one, so conflicts keep being
     detected, changed and resolved. A sampler reads the `resources_workload` policy's and
     the `resources` projection's positions every 2 ms.
  `p50_ms`/`p99_ms`: detection lag, from a change's append (committed) until the policy
  committed its decision for it (conflicts detected/updated/resolved and utilization, in the
  log); `visible_p50_ms`/`visible_p99_ms`: until the read model also holds those decisions
  (the conflicts list and the real-time push follow from there). `throughput`: changes/s
  achieved; `errors`: failed commands.

resources_optimize
  In-process, no database: 200 people (capacity 40, 1 to 3 of 8 skills, some with Fridays
  off or leave), 100 projects of 3 to 5 allocations each (8 to 30 h a week, 2 to 12 weeks
  in a 12-week window, half needing a skill), so that about a third of the people are over
  capacity; `optimize(...)` with a 4 s time limit, BENCH_RES_OPT_RUNS (3) seeds.
  `p50_ms`/`p99_ms`: wall time of one optimization (model building, two solver phases,
  the plan); details: over-allocation before and after, moves, whether proven optimal.

Environment (all optional): BENCH_SECONDS, BENCH_RES_RATE, BENCH_RES_USERS,
BENCH_RES_OPT_RUNS, BENCH_RES_ONLY (conflicts|optimize), BENCH_ADMIN_URL.
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
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import psutil
import psycopg
from lib import Service, drop_database, log, recreate_database

from application.errors import NotFound
from application.resources import ResourcesService
from application.resources_optimizer import Demand, Person, optimize
from domain.projects import Project
from domain.resources_capacity import Capacity
from domain.workspaces import Workspace
from interfaces.bootstrap import open_event_store

WORKSYNC = str(Path(sys.executable).parent / "worksync")
START = date(2027, 1, 4)  # a Monday
HORIZON_WEEKS = 26
SKILLS = ("python", "go", "sql", "design", "react", "ops", "data", "qa")


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


# Conflict detection --------------------------------------------------------------------------


def setup_world(store, users: int) -> tuple[uuid.UUID, uuid.UUID, list[uuid.UUID], list[uuid.UUID]]:
    owner = uuid.uuid4()
    workspace = Workspace(name="bench", description=None, settings={}, owner_id=owner)
    people = [uuid.uuid4() for _ in range(users)]
    for person in people:
        workspace.add_member(owner, person, "member")
    projects = [
        Project(
            workspace_id=workspace.id,
            name=f"P{i}",
            description=None,
            status="active",
            priority="medium",
            start_date=None,
            end_date=None,
            budget=None,
            owner_id=owner,
            settings={},
            actor_id=owner,
        )
        for i in range(4)
    ]
    store.save(workspace, *projects)
    service = ResourcesService(store)
    for person in people:
        service.add_team_member(
            workspace_id=workspace.id, actor_id=owner, user_id=person, capacity=40
        )
    return workspace.id, owner, people, [p.id for p in projects]


class Sampler(threading.Thread):
    """(monotonic time, policy position, projection position, log head) every 2 ms."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.samples: list[tuple[float, int, int, int]] = []
        self.done = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.done.is_set():
                rows = dict(
                    conn.execute(
                        "SELECT name, position FROM projection_tracking"
                        " WHERE name IN ('resources_workload', 'resources')"
                    ).fetchall()
                )
                head = conn.execute(
                    "SELECT coalesce(max(notification_id), 0) FROM worksync_events"
                ).fetchone()[0]
                self.samples.append(
                    (
                        time.monotonic(),
                        rows.get("resources_workload", 0),
                        rows.get("resources", 0),
                        head,
                    )
                )
                time.sleep(0.002)


def projector_cpu(service: Service) -> tuple[float, float]:
    try:
        times = psutil.Process(service.proc.pid).cpu_times()
    except psutil.Error:
        return (0.0, 0.0)
    return (times.user, times.system)


def conflicts_benchmark(admin_url: str, seconds: int) -> dict:
    rate = int(os.environ.get("BENCH_RES_RATE") or 200)
    users = int(os.environ.get("BENCH_RES_USERS") or 50)
    name = "worksync_bench_resources"
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    tmp = Path(tempfile.mkdtemp(prefix="worksync-bench-res-"))
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "warning"}
    projector = Service("projector", [WORKSYNC, "projector"], env, tmp / "projector.log")
    recreate_database(admin_url, name)
    try:
        migrated = subprocess.run(
            [WORKSYNC, "migrate"], env=env, capture_output=True, text=True, timeout=120
        )
        if migrated.returncode != 0:
            raise RuntimeError(f"worksync migrate failed:\n{migrated.stderr}")
        projector.start()
        store = open_event_store(url, pool_size=8)
        log(f"resources_conflicts setup: {users} team members, 4 projects")
        workspace, owner, people, projects = setup_world(store, users)
        service = ResourcesService(store)
        rng = random.Random(20261203)
        booked: dict[uuid.UUID, list[uuid.UUID]] = {p: [] for p in people}
        lock = threading.Lock()
        appended: list[tuple[int, float]] = []
        errors, raced = [0], [0]

        def change(i: int) -> None:
            with lock:
                person = rng.choice(people)
                mine = list(booked[person])
                roll = rng.random()
                start = START + timedelta(days=7 * rng.randrange(HORIZON_WEEKS))
                end = start + timedelta(days=7 * rng.randint(1, 8) - rng.choice((1, 3)))
                hours = Decimal(rng.choice((8, 12, 16, 20, 24)))
            try:
                if len(mine) < 3 or (roll < 0.4 and len(mine) < 6):
                    saved = service.create_allocation(
                        workspace_id=workspace,
                        actor_id=owner,
                        project_id=rng.choice(projects),
                        user_id=person,
                        hours_per_week=hours,
                        start_date=start,
                        end_date=end,
                    )
                    with lock:
                        booked[person].append(saved.value)
                elif roll < 0.85:
                    target = rng.choice(mine)
                    fields = (
                        {"hours_per_week": hours}
                        if roll < 0.6
                        else {"start_date": start, "end_date": end}
                    )
                    saved = service.update_allocation(
                        allocation_id=target, actor_id=owner, **fields
                    )
                else:
                    target = rng.choice(mine)
                    with lock:
                        booked[person].remove(target)
                    saved = service.delete_allocation(allocation_id=target, actor_id=owner)
                if saved.position is not None:
                    with lock:
                        appended.append((saved.position, time.monotonic()))
            except NotFound:  # another thread deleted it first: the driver's race
                raced[0] += 1
            except Exception as e:  # a failed command is counted, not fatal
                errors[0] += 1
                if errors[0] <= 3:
                    log(f"command failed: {e!r}")

        # Let the projector catch up with the setup first.
        deadline = time.monotonic() + 60
        with psycopg.connect(url, autocommit=True) as conn:
            while time.monotonic() < deadline:
                head = conn.execute("SELECT max(notification_id) FROM worksync_events").fetchone()[
                    0
                ]
                low = conn.execute(
                    "SELECT min(position) FROM projection_tracking"
                    " WHERE name IN ('resources_workload', 'resources')"
                ).fetchone()[0]
                if low is not None and low >= head:
                    break
                time.sleep(0.1)
        sampler = Sampler(url)
        sampler.start()
        total = rate * seconds
        log(f"resources_conflicts: {total} allocation changes at {rate}/s")
        threads = 4
        began = time.monotonic()

        def worker(k: int) -> None:
            for i in range(k, total, threads):
                due = began + i / rate
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                change(i)

        spy = None
        if os.environ.get("BENCH_RES_SPY"):
            spy = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "-p",
                    str(projector.proc.pid),
                    "-d",
                    str(max(2, seconds - 2)),
                    "-f",
                    "raw",
                    "-o",
                    os.environ["BENCH_RES_SPY"],
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        cpu_before = sum(projector_cpu(projector))
        pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        sent_for = time.monotonic() - began
        projector_cores = (sum(projector_cpu(projector)) - cpu_before) / sent_for
        if spy is not None:
            spy.wait(timeout=60)
        last = max((p for p, _ in appended), default=0)
        drain_deadline = time.monotonic() + 60
        while time.monotonic() < drain_deadline:
            if sampler.samples:
                _, policy_at, projection_at, head = sampler.samples[-1]
                if policy_at >= last and projection_at >= head:
                    break
            time.sleep(0.05)
        time.sleep(0.05)
        sampler.done.set()
        sampler.join()
        store.close()
        samples = sampler.samples
        decided, visible = [], []
        for position, at in appended:
            t_policy = next((t for t, pol, _, _ in samples if pol >= position and t >= at), None)
            if t_policy is None:
                continue
            decided.append(max(0.0, (t_policy - at) * 1000))
            head_then = next(h for t, _, _, h in samples if t >= t_policy)
            t_seen = next(
                (t for t, _, proj, _ in samples if t >= t_policy and proj >= head_then), None
            )
            if t_seen is not None:
                visible.append(max(0.0, (t_seen - at) * 1000))
        with psycopg.connect(url) as conn:
            counts = dict(
                conn.execute(
                    "SELECT status::text, count(*) FROM resource_conflicts GROUP BY 1"
                ).fetchall()
            )
        return {
            "name": "resources_conflicts",
            "throughput": round(len(appended) / sent_for, 1),
            "p50_ms": percentile(decided, 0.50),
            "p99_ms": percentile(decided, 0.99),
            "errors": errors[0] + (len(appended) - len(decided)),
            "target_rate": rate,
            "changes": len(appended),
            "raced": raced[0],  # changes to an allocation another thread had just deleted
            "max_ms": percentile(decided, 1.0),
            "first_second_p50_ms": percentile(decided[:rate], 0.50),
            "last_second_p50_ms": percentile(decided[-rate:], 0.50),
            "visible_p50_ms": percentile(visible, 0.50),
            "visible_p99_ms": percentile(visible, 0.99),
            "conflicts": counts,
            "projector_cores_busy": round(projector_cores, 2),
            "team_members": users,
            "sample_interval_ms": 2,
        }
    finally:
        projector.stop()
        drop_database(admin_url, name)


# Optimization ------------------------------------------------------------------------------


def generated_team(seed: int) -> tuple[list[Person], list[Demand]]:
    rng = random.Random(seed)
    people = []
    for i in range(200):
        availability: dict = {}
        roll = rng.random()
        if roll < 0.15:
            availability = {"weekdays": {"fri": "0"}}
        elif roll < 0.25:
            leave = START + timedelta(days=rng.randrange(70))
            availability = {
                "leave": [
                    {"start": leave.isoformat(), "end": (leave + timedelta(days=6)).isoformat()}
                ]
            }
        skills = frozenset(rng.sample(SKILLS, rng.randint(1, 3)))
        people.append(Person(f"user-{i:03d}", Capacity.of(40, availability, True), skills, True))
    demands = []
    for project in range(100):
        for _ in range(rng.randint(3, 5)):
            start = START + timedelta(days=7 * rng.randrange(10))
            end = start + timedelta(days=7 * rng.randint(2, 12) - 1)
            skill = rng.choice(SKILLS) if rng.random() < 0.5 else None
            pool = [p for p in people if skill in p.skills] if skill else people
            demands.append(
                Demand(
                    str(uuid.UUID(int=rng.getrandbits(128))),
                    rng.choice(pool).user_id,
                    f"project-{project:03d}",
                    Decimal(rng.choice((8, 12, 16, 20, 24, 30))),
                    start,
                    end,
                    None,
                    (skill,) if skill else (),
                    1,
                )
            )
    return people, demands


def optimize_benchmark() -> dict:
    runs = int(os.environ.get("BENCH_RES_OPT_RUNS") or 3)
    walls, details = [], []
    for seed in range(runs):
        people, demands = generated_team(seed)
        log(f"resources_optimize: seed {seed}, {len(people)} people, {len(demands)} allocations")
        started = time.perf_counter()
        plan = optimize(people, demands, START, START + timedelta(days=83), time_limit=4.0)
        wall = time.perf_counter() - started
        walls.append(wall * 1000)
        over_people = len({u.user_id for u in plan.unfixed})
        details.append(
            {
                "seed": seed,
                "wall_s": round(wall, 2),
                "model_s": round(plan.build_seconds, 2),
                "status": plan.status,
                "optimal": plan.optimal,
                "over_hours_before": float(plan.over_before),
                "over_hours_after": float(plan.over_after),
                "moves": len(plan.moves),
                "people_still_over": over_people,
                "variables": plan.variables,
            }
        )
    return {
        "name": "resources_optimize",
        "throughput": round(len(walls) / (sum(walls) / 1000), 3),
        "p50_ms": percentile(walls, 0.50),
        "p99_ms": percentile(walls, 0.99),
        "errors": sum(1 for d in details if d["status"] == "timeout" or d["wall_s"] > 5),
        "people": 200,
        "projects": 100,
        "time_limit_s": 4.0,
        "runs": details,
    }


def main() -> int:
    seconds = int(os.environ.get("BENCH_SECONDS") or 10)
    admin_url = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    only = os.environ.get("BENCH_RES_ONLY", "")
    if only in ("", "conflicts"):
        print(json.dumps(conflicts_benchmark(admin_url, seconds)), flush=True)
    if only in ("", "optimize"):
        print(json.dumps(optimize_benchmark()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
