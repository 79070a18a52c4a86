"""WorkSync HTTP benchmark: workspace and kanban commands and reads, measured with wrk.

Run with `make bench` or `.venv/bin/python bench/run.py`. It creates a fresh PostgreSQL
database, migrates it, starts the production topology (`worksync serve --workers 2
--no-projector` plus one `worksync projector`), does the setup (not measured): registers
users with one workspace each, and one board of 4 columns x 50 cards shared by a few of them,
then runs wrk once per benchmark:

  workspace_create  100% POST /api/v1/workspaces
  workspace_read    100% GET /api/v1/workspaces/{id}
  card_move         100% PUT /api/v1/cards/{id}/move, all on the one board
  card_move_spread  100% card moves over 16 boards x 50 cards, each moved by its owner
  board_read        100% GET /api/v1/boards/{id} (200 cards)
  milestone_list    100% GET /api/v1/projects/{id}/milestones (1,000 milestones; filters)
  critical_path     100% GET /api/v1/projects/{id}/critical-path (10,000 tasks, 30,000
                    dependencies), BENCH_CP_CONNECTIONS (2) connections

Progress and wrk's own report go to stderr; the last line of stdout is one JSON object.

Environment (all optional):
  BENCH_SECONDS       seconds per wrk run (10)
  BENCH_ONLY          comma-separated benchmarks or groups to run: workspace, kanban,
                      spread, milestones, workspace_create, workspace_read, card_move,
                      card_move_spread, board_read,
                      milestone_list, critical_path (all)
  BENCH_USERS         users registered for the workspace benchmarks (50)
  BENCH_KANBAN_USERS  users acting on the board: its workspace's owner + members (8)
  BENCH_CONNECTIONS   wrk connections (32)
  BENCH_THREADS       wrk threads (2)
  BENCH_WORKERS       API worker processes (2)
  BENCH_PROFILE       a directory: record each run with py-spy (5 s, one API worker, and the
                      projector for commands), keep the raw files there and add a summary
                      of the top frames to the results. Needs py-spy (not a dependency).
  BENCH_ADMIN_URL     PostgreSQL maintenance database
                      (postgresql://postgres@127.0.0.1:5432/postgres)
  BENCH_DB            database created and dropped by the run (worksync_bench)
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from lib import (
    CpuMeter,
    Profiler,
    Service,
    WaitSampler,
    create_kanban_board,
    create_users,
    drop_database,
    event_log_counters,
    free_port,
    log,
    postgres_processes,
    py_spy,
    recreate_database,
    server_version,
    wait_for_health,
    wait_for_projections,
    write_kanban_lua_data,
    write_lag_lua_data,
    write_lua_data,
)
from milestones import (
    check_critical_path,
    create_milestone_project,
    write_milestones_lua_data,
)

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
WORKSYNC = str(Path(sys.executable).parent / "worksync")
BCRYPT_ROUNDS = 4  # setup only registers users; production refuses anything below 12
NOISE_CORES = 0.25  # CPU used by unrelated processes above which a run is flagged "noisy"
KANBAN_COLUMNS = 4  # no WIP limits
KANBAN_CARDS_PER_COLUMN = 50
PROFILE_SECONDS = 5  # py-spy, in the middle of each run (BENCH_PROFILE)


@dataclass(frozen=True)
class Benchmark:
    name: str
    group: str
    script: str  # in bench/
    mode: str  # the script's first argument
    command: bool  # appends events and waits for projections
    connections: int | None = None  # wrk connections for this one (BENCH_CONNECTIONS)
    data: str | None = None  # the data file's key in setup (default: the script's name)


LAG_RATE = int(os.environ.get("BENCH_LAG_RATE") or 500)  # commands/s for projection_lag
LAG_BOARDS = 16  # one per user, in the user's own workspace
LAG_CARDS_PER_COLUMN = 8
# card_move_spread: 16 boards of 50 cards (5 columns x 10), one per user, moved by its owner.
SPREAD_BOARDS = 16
SPREAD_COLUMNS = 5
SPREAD_CARDS_PER_COLUMN = 10
# The milestones benchmarks share one project (bench/milestones.py).
MILESTONE_USERS = 4  # the project's workspace: its owner and 3 members
CP_TASKS = int(os.environ.get("BENCH_CP_TASKS") or 10_000)
CP_DEPENDENCIES = int(os.environ.get("BENCH_CP_DEPENDENCIES") or 30_000)
CP_MILESTONES = int(os.environ.get("BENCH_MILESTONES") or 1_000)
# The critical path is one heavy read: one request per API worker at a time, so its latency
# is the request's own, not a queue's.
CP_CONNECTIONS = int(os.environ.get("BENCH_CP_CONNECTIONS") or 2)

BENCHMARKS = (
    Benchmark("workspace_create", "workspace", "workspaces.lua", "create", command=True),
    Benchmark("workspace_read", "workspace", "workspaces.lua", "read", command=False),
    Benchmark("card_move", "kanban", "kanban.lua", "move", command=True),
    Benchmark("card_move_spread", "spread", "kanban.lua", "spread", command=True, data="spread"),
    Benchmark("board_read", "kanban", "kanban.lua", "read", command=False),
    Benchmark("projection_lag", "lag", "lag.lua", str(LAG_RATE), command=True),
    Benchmark("milestone_list", "milestones", "milestones.lua", "list", command=False),
    Benchmark(
        "critical_path",
        "milestones",
        "milestones.lua",
        "critical",
        command=False,
        connections=CP_CONNECTIONS,
    ),
)
REBUILD = "rebuild"  # bench/rebuild.py, run after the HTTP benchmarks in its own database
RESOURCES = "resources"  # bench/resources.py: conflict detection lag and the optimizer
REALTIME = "realtime"  # bench/realtime.py: Socket.IO delivery, its own database and servers
REALTIME_RATE = os.environ.get("BENCH_REALTIME_RATE") or "10"  # card moves/s to 500 clients
FILES = "files"  # bench/files.py: uploads and downloads on the local store, its own database
NOTIFICATIONS = "notifications"  # bench/notifications.py: one comment mentioning 100 people
TEMPLATES = "templates"  # bench/templates.py: search over 10,000 templates, a 200-task use
ANALYTICS = "analytics"  # bench/analytics.py: 100,000 time entries, 20,000 tasks
BACKUP = "backup"  # bench/backup.py: worksync backup and restore of a generated log
WEBHOOKS = "webhooks"  # bench/webhooks.py: 200 events to 5 endpoints on a loopback receiver
SEPARATE = {
    REALTIME,
    REBUILD,
    FILES,
    RESOURCES,
    NOTIFICATIONS,
    TEMPLATES,
    ANALYTICS,
    BACKUP,
    WEBHOOKS,
}
# Answers of a contended command worth their own count: 409 (too many version clashes, or a
# domain conflict), 412 (stale If-Match), 202 (projection did not catch up in time).
CONTENTION_STATUSES = ("409", "412", "202")


def selected_benchmarks(only: str) -> tuple[list[Benchmark], set[str]]:
    """The wrk benchmarks selected, and which of the separate ones (rebuild, realtime)."""
    if not only.strip():
        return list(BENCHMARKS), set(SEPARATE)
    wanted = {w.strip() for w in only.split(",") if w.strip()}
    known = {b.name for b in BENCHMARKS} | {b.group for b in BENCHMARKS} | SEPARATE
    if unknown := wanted - known:
        raise RuntimeError(
            f"BENCH_ONLY: unknown {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})"
        )
    separate = wanted & SEPARATE
    return [b for b in BENCHMARKS if b.name in wanted or b.group in wanted], separate


def api_worker_pid(server: Service) -> int | None:
    """One uvicorn worker: the server's child process that uses the most CPU (so not
    multiprocessing's resource tracker)."""
    busiest, most = None, -1.0
    for p in server.processes()[1:]:
        try:
            used = sum(p.cpu_times()[:2])
        except psutil.Error:
            continue
        if used > most:
            busiest, most = p.pid, used
    return busiest


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent neither idle nor waiting for I/O (every process)."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def run_wrk(
    base_url: str,
    bench: Benchmark,
    data_file: Path,
    seconds: int,
    threads: int,
    connections: int,
) -> tuple[dict, str]:
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",  # a command may wait up to PROJECTION_WAIT_TIMEOUT (5s) for its projection
        "--latency",
        "-s",
        str(BENCH_DIR / bench.script),
        base_url,
        "--",
        bench.mode,
        str(data_file),
        str(threads),
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk exited with {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    result = None
    report = []
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            result = json.loads(line)
        else:
            report.append(line)
    if result is None:
        raise RuntimeError(f"wrk printed no JSON line:\n{proc.stdout}\n{proc.stderr}")
    return result, "\n".join(report)


def main() -> int:
    if shutil.which("wrk") is None:
        log("wrk is not installed: apt-get install -y wrk   (`make bench` installs it)")
        return 2

    seconds = env_int("BENCH_SECONDS", 10)
    benches, separate = selected_benchmarks(os.environ.get("BENCH_ONLY", ""))
    groups = {b.group for b in benches}
    n_users = env_int("BENCH_USERS", 50)
    kanban_users = env_int("BENCH_KANBAN_USERS", 8)
    connections = env_int("BENCH_CONNECTIONS", 32)
    threads = env_int("BENCH_THREADS", 2)
    workers = env_int("BENCH_WORKERS", 2)
    admin_url = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    db_name = os.environ.get("BENCH_DB", "worksync_bench")
    database_url = admin_url.rsplit("/", 1)[0] + "/" + db_name
    profile_dir = os.environ.get("BENCH_PROFILE")
    profiler = None
    if profile_dir:
        exe = py_spy()
        if exe is None:
            log("BENCH_PROFILE needs py-spy: .venv/bin/pip install py-spy")
            return 2
        if seconds < PROFILE_SECONDS + 2:
            log(f"BENCH_PROFILE needs BENCH_SECONDS >= {PROFILE_SECONDS + 2}")
            return 2
        profiler = Profiler(exe, Path(profile_dir).resolve())

    if not benches:  # BENCH_ONLY=rebuild, realtime and/or files: they start what they need
        results = run_separate_benchmarks(separate, seconds)
        describe_run(results, machine_description(admin_url), seconds, {})
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="worksync-bench-"))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BCRYPT_ROUNDS": str(BCRYPT_ROUNDS),
        "LOG_LEVEL": "warning",
        "APP_ENV": "development",
        # A few users send thousands of requests each: per-user limits would answer 429.
        "RATE_LIMIT_ENABLED": "false",
    }
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    projector = Service("projector", [WORKSYNC, "projector"], env, tmp / "projector.log")
    server = Service(
        "server",
        [
            WORKSYNC,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-projector",
        ],
        env,
        tmp / "server.log",
    )
    services = [projector, server]
    results = []
    db_created = False
    try:
        log(f"database {db_name}: drop if exists, create, migrate")
        recreate_database(admin_url, db_name)
        db_created = True
        migrated = subprocess.run(
            [WORKSYNC, "migrate"], env=env, capture_output=True, text=True, timeout=120
        )
        if migrated.returncode != 0:
            raise RuntimeError(f"worksync migrate failed:\n{migrated.stdout}{migrated.stderr}")

        log(f"starting projector and server ({workers} workers) on {base_url}")
        for service in services:
            service.start()
        wait_for_health(base_url, services)

        # Setup, not measured.
        count = max(
            n_users if "workspace" in groups else 0,
            kanban_users if "kanban" in groups else 0,
            LAG_BOARDS if "lag" in groups else 0,
            SPREAD_BOARDS if "spread" in groups else 0,
            MILESTONE_USERS if "milestones" in groups else 0,
        )
        log(
            f"setup (not measured): {count} users, one workspace each; "
            f"BCRYPT_ROUNDS={BCRYPT_ROUNDS} for the bench setup only"
        )
        started = time.monotonic()
        users = create_users(base_url, count)
        data_files = {}
        if "workspace" in groups:
            data_files["workspaces.lua"] = tmp / "users.lua"
            write_lua_data(users, data_files["workspaces.lua"])
        if "kanban" in groups:
            log(
                f"setup: {kanban_users - 1} members join user 0's workspace; one project, one "
                f"board, {KANBAN_COLUMNS} columns x {KANBAN_CARDS_PER_COLUMN} cards"
            )
            board = create_kanban_board(
                base_url,
                users[0],
                users[1:kanban_users],
                columns=KANBAN_COLUMNS,
                cards_per_column=KANBAN_CARDS_PER_COLUMN,
            )
            data_files["kanban.lua"] = tmp / "kanban.lua"
            write_kanban_lua_data(board, data_files["kanban.lua"])
        for group, count, columns, cards, path in (
            ("lag", LAG_BOARDS, KANBAN_COLUMNS, LAG_CARDS_PER_COLUMN, "lag.lua"),
            ("spread", SPREAD_BOARDS, SPREAD_COLUMNS, SPREAD_CARDS_PER_COLUMN, "spread"),
        ):
            if group not in groups:
                continue
            log(
                f"setup ({group}): {count} boards (one per user, in the user's workspace), "
                f"{columns} columns x {cards} cards"
            )
            owned = [
                create_kanban_board(base_url, user, [], columns=columns, cards_per_column=cards)
                for user in users[:count]
            ]
            data_files[path] = tmp / f"{group}-data.lua"
            write_lag_lua_data(owned, data_files[path])
        if "milestones" in groups:
            log(
                f"setup: a project of {CP_MILESTONES} milestones, {CP_TASKS} tasks and "
                f"{CP_DEPENDENCIES} dependencies in a new workspace of user 0's, "
                f"{MILESTONE_USERS - 1} members"
            )
            planned = create_milestone_project(
                base_url,
                database_url,
                users[0],
                users[1:MILESTONE_USERS],
                milestones=CP_MILESTONES,
                tasks=CP_TASKS,
                dependencies=CP_DEPENDENCIES,
            )
            lag, drained = wait_for_projections(base_url, timeout=600)
            log(f"setup: projections drained in {drained}s (lag {lag})")
            check_critical_path(base_url, planned)
            data_files["milestones.lua"] = tmp / "milestones.lua"
            write_milestones_lua_data(planned, data_files["milestones.lua"])
        log(f"setup took {time.monotonic() - started:.1f}s")

        meter = CpuMeter(
            {
                "api": server.processes,
                "projector": projector.processes,
                "postgres": postgres_processes,
            }
        )
        waits = WaitSampler(admin_url, db_name)
        for bench in benches:
            conns = bench.connections or connections
            wrk_threads = min(threads, conns)
            log(f"wrk: {bench.name}, -t{wrk_threads} -c{conns} -d{seconds}s")
            if profiler:
                pids = {"api": api_worker_pid(server)}
                if bench.command:
                    pids["projector"] = projector.proc.pid
                delay = (seconds - PROFILE_SECONDS) / 2
                profiler.start(
                    bench.name, {k: v for k, v in pids.items() if v}, delay, PROFILE_SECONDS
                )
            log_before = event_log_counters(database_url)
            waits.start()
            meter.start()
            wrk_before = children_cpu_seconds()
            machine_before = machine_busy_seconds()
            result, report = run_wrk(
                base_url, bench, data_files[bench.data or bench.script], seconds, wrk_threads, conns
            )
            result["connections"] = conns
            cpu = meter.stop()
            cpu["wrk"] = children_cpu_seconds() - wrk_before
            cpu["machine"] = machine_busy_seconds() - machine_before  # includes all of the above
            result["db_waits"] = waits.stop()
            if not result["first_error_bodies"]:
                del result["first_error_bodies"]
            # Busy time none of the above explains: other load on the machine, i.e. noise.
            cpu["other"] = max(
                0.0, cpu["machine"] - sum(v for k, v in cpu.items() if k != "machine")
            )
            duration = result["duration_s"]
            result["cpu_seconds"] = {k: round(v, 2) for k, v in cpu.items()}
            # Share of one core each group kept busy (2.0 = two whole cores).
            result["cpu_cores_busy"] = {k: round(v / duration, 2) for k, v in cpu.items()}
            # CPU milliseconds each request cost, per group: the figure to drive down.
            done = max(1, result["requests"])
            result["cpu_ms_per_op"] = {k: round(v * 1000 / done, 2) for k, v in cpu.items()}
            if bench.command:
                result["contention"] = {
                    s: result["statuses"].get(s, 0) for s in CONTENTION_STATUSES
                }
                lag, drained = wait_for_projections(base_url)
                result["projection_max_lag_after"] = lag
                result["projection_drained_s"] = drained
                seq_after, rows_after = event_log_counters(database_url)
                appended = rows_after - log_before[1]
                result["events_appended"] = appended
                # Appends that lost a version clash and were retried (or gave up: 409).
                result["append_clashes"] = (seq_after - log_before[0]) - appended
            if profiler:
                result["profiled"] = True  # py-spy pauses the processes it samples
                result["profile"] = profiler.wait()
            if result["cpu_cores_busy"]["other"] > NOISE_CORES:
                result["noisy"] = True
                log(
                    f"WARNING: other processes kept {result['cpu_cores_busy']['other']} cores "
                    "busy during this run; its figures are not comparable"
                )
            print(report, file=sys.stderr, flush=True)
            print(json.dumps(result), flush=True)  # stdout: one JSON line per benchmark
            if result["errors"]:
                log(f"{result['errors']} errors in {bench.name}; server log tail:")
                print(server.log_tail(), file=sys.stderr)
                print(projector.log_tail(), file=sys.stderr)
            for service in services:
                if not service.alive():
                    raise RuntimeError(f"{service.name} died:\n{service.log_tail()}")
            results.append(result)

        machine = machine_description(admin_url)
    finally:
        for service in reversed(services):
            service.stop()
        if db_created:
            try:
                drop_database(admin_url, db_name)
            except Exception as e:
                log(f"could not drop {db_name}: {e}")
        shutil.rmtree(tmp, ignore_errors=True)

    config = {
        "topology": f"{workers} API workers + 1 projector, wrk on loopback",
        "wrk": f"-t{threads} -c{connections} --timeout 10s",
        "bcrypt_rounds": BCRYPT_ROUNDS,
        "bcrypt_note": "BCRYPT_ROUNDS=4 for the bench setup only (registration is not measured)",
        "rate_limit_enabled": False,
    }
    if "workspace" in groups:
        config["users"] = n_users
    if "milestones" in groups:
        config["milestones"] = {
            "users": MILESTONE_USERS,
            "milestones": CP_MILESTONES,
            "tasks": CP_TASKS,
            "dependencies": CP_DEPENDENCIES,
            "critical_path_connections": CP_CONNECTIONS,
        }
    if "kanban" in groups:
        config["kanban"] = {
            "users": kanban_users,
            "columns": KANBAN_COLUMNS,
            "cards": KANBAN_COLUMNS * KANBAN_CARDS_PER_COLUMN,
            "move_positions": "0..50 at random, any card to any column of the one board",
        }
    results += run_separate_benchmarks(separate, seconds)
    describe_run(results, machine, seconds, config)
    return 0


def run_separate_benchmarks(which: set[str], seconds: int) -> list[dict]:
    """The benchmarks that run their own servers and databases, one after the other, each
    printed as one JSON line."""
    results = []
    if REALTIME in which:
        log(f"realtime benchmark: bench/realtime.py, 500 clients, {REALTIME_RATE} moves/s")
        env = {**os.environ, "BENCH_RATE": REALTIME_RATE, "BENCH_SECONDS": str(seconds)}
        env.setdefault("BENCH_WORKERS", "2")
        results.append(realtime_line(run_script("realtime.py", env)))
    if NOTIFICATIONS in which:
        log("notification fan-out: bench/notifications.py, 20 comments mentioning 100 people")
        results.append(notifications_line(run_script("notifications.py", dict(os.environ))))
    if WEBHOOKS in which:
        log("webhook delivery: bench/webhooks.py, 200 events at 20/s to 5 endpoints")
        results.append(webhooks_line(run_script("webhooks.py", dict(os.environ))))
    if REBUILD in which:
        log("rebuild benchmark: bench/rebuild.py (BENCH_REBUILD_EVENTS, default 1,000,000)")
        results.append(run_script("rebuild.py", dict(os.environ)))
    if BACKUP in which:
        log("backup benchmark: bench/backup.py (BENCH_BACKUP_EVENTS, default 200,000)")
        results.append(run_script("backup.py", dict(os.environ)))
    if FILES in which:
        log("files benchmark: bench/files.py, 1 MiB, 50 MB and 10 KiB files, local store")
        env = {**os.environ, "BENCH_SECONDS": str(seconds)}
        results.extend(run_script("files.py", env, every_line=True))
    if RESOURCES in which:
        log("resources benchmarks: bench/resources.py (conflict detection lag, optimizer)")
        env = {**os.environ, "BENCH_SECONDS": str(seconds)}
        results.extend(run_script("resources.py", env, every_line=True))
    if TEMPLATES in which:
        log("templates benchmarks: bench/templates.py (search over 10,000 templates, use)")
        env = {**os.environ, "BENCH_SECONDS": str(seconds)}
        results.extend(run_script("templates.py", env, every_line=True))
    if ANALYTICS in which:
        log("analytics benchmarks: bench/analytics.py (100,000 entries, 20,000 tasks)")
        env = {**os.environ, "BENCH_SECONDS": str(seconds)}
        results.extend(run_script("analytics.py", env, every_line=True))
    for result in results:
        print(json.dumps(result), flush=True)
    return results


def run_script(name: str, env: dict[str, str], *, every_line: bool = False) -> Any:
    """Run bench/NAME; its last stdout line that is a JSON object is its result (with
    ``every_line``, the list of all such lines: a script measuring several benchmarks)."""
    proc = subprocess.run(
        [sys.executable, str(BENCH_DIR / name)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        timeout=3600,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"bench/{name} exited with {proc.returncode}:\n{proc.stdout}")
    if every_line:
        return [json.loads(line) for line in lines]
    return json.loads(lines[-1])


def realtime_line(report: dict) -> dict:
    """bench/realtime.py's report (one run) as a benchmark line: throughput = deliveries/s,
    latency = command accepted -> client received."""
    run = report["runs"][-1]
    delivery, commands = run["delivery"], run["commands"]
    latency = delivery["from_accepted_ms"]
    failed = commands["sent"] - commands["ok"]
    return {
        "name": "realtime_delivery",
        "throughput": delivery["deliveries_per_s"],
        "p50_ms": latency.get("p50"),
        "p99_ms": latency.get("p99"),
        "errors": delivery["missing"] + delivery["duplicates"] + failed,
        "clients": report["clients"],
        "api_workers": report["api_workers"],
        "commands": commands,
        "delivery": delivery,
        "cpu_cores_busy": run["cpu_cores"],
    }


def notifications_line(report: dict) -> dict:
    """bench/notifications.py's report as a benchmark line: throughput = deliveries/s of the
    run, latency = comment accepted -> each mentioned person's client received it."""
    lag = report["lag_ms"]
    seconds = max(report["events"] / report["rate"], 1e-9)
    return {
        **report,
        "throughput": round(report["delivered"] / seconds, 1),
        "p50_ms": lag.get("p50"),
        "p99_ms": lag.get("p99"),
        "errors": report["missing"] + report["duplicates"],
    }


def webhooks_line(report: dict) -> dict:
    """bench/webhooks.py's report as a benchmark line: throughput = deliveries/s, latency =
    event accepted -> the receiver had the request; errors = missing, duplicate, out of order
    or badly signed deliveries."""
    lag = report["lag_ms"]
    errors = report["missing"] + report["duplicates"] + report["out_of_order"]
    return {
        **report,
        "p50_ms": lag.get("p50"),
        "p99_ms": lag.get("p99"),
        "errors": errors + report["bad_signatures"],
    }


def machine_description(admin_url: str) -> dict:
    return {
        "cores": psutil.cpu_count(logical=True),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "postgres": server_version(admin_url),
    }


def describe_run(results: list[dict], machine: dict, seconds: int, config: dict) -> None:
    """The run's context, on stderr (stdout holds only the benchmarks' lines)."""
    run = {
        "benchmarks": [r["name"] for r in results],
        "machine": machine,
        "seconds": seconds,
        "config": config,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    log("run: " + json.dumps(run))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        log(f"FAILED: {e}")
        sys.exit(1)
